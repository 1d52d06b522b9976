// Differential test against tshark's SMPP dissector: random valid PDUs of every SMPP 3.4 and 5.0
// command, with random standard and vendor TLVs, are encoded by us, written as one TCP stream to
// port 2775 in a single pcap file, dissected by one tshark run (PDML output), and compared field
// by field with our decode.
//
// What tshark presents differently, or not at all, is listed in README.md ("tshark") as T1..T6
// and handled in exactly one place here each; the counts are printed after the run.
#include <gtest/gtest.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "field_diff.hpp"
#include "pcap_writer.hpp"
#include "pdml.hpp"
#include "pdu_gen.hpp"
#include "smpp/codec/codec.hpp"

#ifndef SMPP_TSHARK
#define SMPP_TSHARK "tshark"
#endif

namespace smpp::interop {
namespace {

using namespace codec;
using testing::pdu_generator;
using testing::to_hex;

constexpr size_t kDefaultPdus = 12000;
constexpr size_t kRequiredPdus = 10000;
constexpr uint64_t kDefaultSeed = 0x75a4c;
// The first data segment is frame 4, after the three-way handshake.
constexpr uint32_t kFirstPduFrame = 4;

size_t env_size(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtoull(v, nullptr, 0) : fallback;
}

// ---------------------------------------------------------------------------------------------
// How tshark 4.0 names and renders the fields we compare. Canonical names are ours (pdu_layout()
// and tlv_info names); several tshark fields can map to one canonical field.

enum class rendering : uint8_t {
  integer,  // show is the number (decimal or 0x-hex); a bit field's unmaskedvalue is the octet
  tlv_tag,  // an integer, written 0xTTTT in reports
  string,   // show is the text; a value of just "00" is an empty string with a placeholder show
  time,     // the octets of the C-Octet String, compared as text (T5)
  octets,   // value is the octets in hex
  span,     // FT_NONE: tshark gives only pos and size, the octets are taken from the frame
};

struct tshark_field {
  std::string_view tshark;
  std::string_view canonical;
  rendering kind;
};

using R = rendering;
constexpr std::array kTsharkFields = {
    // Header (SMPP 3.4 §3.2).
    tshark_field{"smpp.command_length", "command_length", R::integer},
    tshark_field{"smpp.command_id", "command_id", R::integer},
    tshark_field{"smpp.command_status", "command_status", R::integer},
    tshark_field{"smpp.sequence_number", "sequence_number", R::integer},
    // Mandatory fields (SMPP 3.4 §4, SMPP 5.0 §4).
    tshark_field{"smpp.system_id", "system_id", R::string},
    tshark_field{"smpp.password", "password", R::string},
    tshark_field{"smpp.system_type", "system_type", R::string},
    tshark_field{"smpp.interface_version", "interface_version", R::integer},
    tshark_field{"smpp.addr_ton", "addr_ton", R::integer},
    tshark_field{"smpp.addr_npi", "addr_npi", R::integer},
    tshark_field{"smpp.address_range", "address_range", R::string},
    tshark_field{"smpp.service_type", "service_type", R::string},
    tshark_field{"smpp.source_addr_ton", "source_addr_ton", R::integer},
    tshark_field{"smpp.source_addr_npi", "source_addr_npi", R::integer},
    tshark_field{"smpp.source_addr", "source_addr", R::string},
    tshark_field{"smpp.dest_addr_ton", "dest_addr_ton", R::integer},
    tshark_field{"smpp.dest_addr_npi", "dest_addr_npi", R::integer},
    tshark_field{"smpp.destination_addr", "destination_addr", R::string},
    tshark_field{"smpp.dl_name", "dl_name", R::string},
    tshark_field{"smpp.esme_addr_ton", "esme_addr_ton", R::integer},
    tshark_field{"smpp.esme_addr_npi", "esme_addr_npi", R::integer},
    tshark_field{"smpp.esme_addr", "esme_addr", R::string},
    tshark_field{"smpp.esm.submit.msg_mode", "esm_class", R::integer},  // bit fields of one octet
    tshark_field{"smpp.esm.submit.msg_type", "esm_class", R::integer},
    tshark_field{"smpp.esm.submit.features", "esm_class", R::integer},
    tshark_field{"smpp.protocol_id", "protocol_id", R::integer},
    tshark_field{"smpp.priority_flag", "priority_flag", R::integer},
    tshark_field{"smpp.schedule_delivery_time", "schedule_delivery_time", R::time},
    tshark_field{"smpp.schedule_delivery_time_r", "schedule_delivery_time", R::time},
    tshark_field{"smpp.validity_period", "validity_period", R::time},
    tshark_field{"smpp.validity_period_r", "validity_period", R::time},
    tshark_field{"smpp.regdel.receipt", "registered_delivery", R::integer},
    tshark_field{"smpp.regdel.acks", "registered_delivery", R::integer},
    tshark_field{"smpp.regdel.notif", "registered_delivery", R::integer},
    tshark_field{"smpp.replace_if_present_flag", "replace_if_present_flag", R::integer},
    tshark_field{"smpp.data_coding", "data_coding", R::integer},
    tshark_field{"smpp.sm_default_msg_id", "sm_default_msg_id", R::integer},
    tshark_field{"smpp.sm_length", "sm_length", R::integer},
    tshark_field{"smpp.message", "short_message", R::octets},
    tshark_field{"smpp.message_id", "message_id", R::string},
    tshark_field{"smpp.final_date", "final_date", R::time},
    tshark_field{"smpp.final_date_r", "final_date", R::time},
    tshark_field{"smpp.message_state", "message_state", R::integer},
    tshark_field{"smpp.error_code", "error_code", R::integer},
    tshark_field{"smpp.error_status_code", "error_status_code", R::integer},
    // TLVs (SMPP 3.4 §5.3, SMPP 5.0 §4.8).
    tshark_field{"smpp.opt_param_tag", "tlv.tag", R::tlv_tag},
    tshark_field{"smpp.opt_param_len", "tlv.length", R::integer},
    tshark_field{"smpp.dest_addr_subunit", "dest_addr_subunit", R::integer},
    tshark_field{"smpp.dest_network_type", "dest_network_type", R::integer},
    tshark_field{"smpp.dest_bearer_type", "dest_bearer_type", R::integer},
    tshark_field{"smpp.dest_telematics_id", "dest_telematics_id", R::integer},
    tshark_field{"smpp.source_addr_subunit", "source_addr_subunit", R::integer},
    tshark_field{"smpp.source_network_type", "source_network_type", R::integer},
    tshark_field{"smpp.source_bearer_type", "source_bearer_type", R::integer},
    tshark_field{"smpp.source_telematics_id", "source_telematics_id", R::integer},
    tshark_field{"smpp.qos_time_to_live", "qos_time_to_live", R::integer},
    tshark_field{"smpp.payload_type", "payload_type", R::integer},
    tshark_field{"smpp.additional_status_info_text", "additional_status_info_text", R::string},
    tshark_field{"smpp.receipted_message_id", "receipted_message_id", R::string},
    tshark_field{"smpp.msg_wait.ind", "ms_msg_wait_facilities", R::integer},
    tshark_field{"smpp.msg_wait.type", "ms_msg_wait_facilities", R::integer},
    tshark_field{"smpp.privacy_indicator", "privacy_indicator", R::integer},
    tshark_field{"smpp.source_subaddress", "source_subaddress", R::octets},
    tshark_field{"smpp.dest_subaddress", "dest_subaddress", R::octets},
    tshark_field{"smpp.user_message_reference", "user_message_reference", R::integer},
    tshark_field{"smpp.user_response_code", "user_response_code", R::integer},
    tshark_field{"smpp.source_port", "source_port", R::integer},
    tshark_field{"smpp.destination_port", "destination_port", R::integer},
    tshark_field{"smpp.sar_msg_ref_num", "sar_msg_ref_num", R::integer},
    tshark_field{"smpp.language_indicator", "language_indicator", R::integer},
    tshark_field{"smpp.sar_total_segments", "sar_total_segments", R::integer},
    tshark_field{"smpp.sar_segment_seqnum", "sar_segment_seqnum", R::integer},
    tshark_field{"smpp.SC_interface_version", "sc_interface_version", R::integer},
    tshark_field{"smpp.callback_num.pres", "callback_num_pres_ind", R::integer},
    tshark_field{"smpp.callback_num.scrn", "callback_num_pres_ind", R::integer},
    tshark_field{"smpp.callback_num_atag", "callback_num_atag", R::span},
    tshark_field{"smpp.number_of_messages", "number_of_messages", R::integer},
    tshark_field{"smpp.callback_num", "callback_num", R::span},
    tshark_field{"smpp.dpf_result", "dpf_result", R::integer},
    tshark_field{"smpp.set_dpf", "set_dpf", R::integer},
    tshark_field{"smpp.ms_availability_status", "ms_availability_status", R::integer},
    tshark_field{"smpp.network_error.type", "network_error_code.type", R::integer},
    tshark_field{"smpp.network_error.code", "network_error_code.code", R::integer},
    tshark_field{"smpp.message_payload", "message_payload", R::octets},
    tshark_field{"smpp.delivery_failure_reason", "delivery_failure_reason", R::integer},
    tshark_field{"smpp.more_messages_to_send", "more_messages_to_send", R::integer},
    tshark_field{"smpp.message_state", "message_state", R::integer},
    tshark_field{"smpp.congestion_state", "congestion_state", R::integer},
    tshark_field{"smpp.ussd_service_op", "ussd_service_op", R::integer},
    tshark_field{"smpp.broadcast_channel_indicator", "broadcast_channel_indicator", R::integer},
    tshark_field{"smpp.broadcast_content_type.nw", "broadcast_content_type.nw", R::integer},
    tshark_field{"smpp.broadcast_content_type.type", "broadcast_content_type.type", R::integer},
    tshark_field{"smpp.broadcast_content_type.info", "broadcast_content_type_info", R::octets},
    tshark_field{"smpp.broadcast_message_class", "broadcast_message_class", R::integer},
    tshark_field{"smpp.broadcast_rep_num", "broadcast_rep_num", R::integer},
    tshark_field{"smpp.broadcast_frequency_interval.unit", "broadcast_frequency_interval.unit",
                 R::integer},
    tshark_field{"smpp.broadcast_frequency_interval.value", "broadcast_frequency_interval.value",
                 R::integer},
    tshark_field{"smpp.broadcast_area_identifier.format", "broadcast_area_identifier.format",
                 R::integer},
    tshark_field{"smpp.broadcast_area_identifier", "broadcast_area_identifier", R::octets},
    tshark_field{"smpp.broadcast_error_status", "broadcast_error_status", R::integer},
    tshark_field{"smpp.broadcast_area_success", "broadcast_area_success", R::integer},
    tshark_field{"smpp.broadcast_end_time", "broadcast_end_time", R::time},
    tshark_field{"smpp.broadcast_end_time_r", "broadcast_end_time", R::time},
    tshark_field{"smpp.broadcast_service_group", "broadcast_service_group", R::octets},
    tshark_field{"smpp.billing_id", "billing_identification", R::octets},
    tshark_field{"smpp.source_network_id", "source_network_id", R::string},
    tshark_field{"smpp.dest_network_id", "dest_network_id", R::string},
    tshark_field{"smpp.source_node_id", "source_node_id", R::octets},
    tshark_field{"smpp.dest_node_id", "dest_node_id", R::octets},
    tshark_field{"smpp.dest_addr_np_resolution", "dest_addr_np_resolution", R::integer},
    tshark_field{"smpp.dest_addr_np_info", "dest_addr_np_information", R::octets},
    tshark_field{"smpp.dest_addr_np_country", "dest_addr_np_country", R::octets},
    tshark_field{"smpp.display_time", "display_time", R::integer},
    tshark_field{"smpp.sms_signal", "sms_signal", R::integer},
    tshark_field{"smpp.ms_validity", "ms_validity", R::integer},
    tshark_field{"smpp.alert_on_message_delivery_null", "alert_on_message_delivery", R::span},
    tshark_field{"smpp.alert_on_message_delivery_type", "alert_on_message_delivery", R::integer},
    tshark_field{"smpp.its_reply_type", "its_reply_type", R::integer},
    tshark_field{"smpp.its_session.number", "its_session_info.number", R::integer},
    tshark_field{"smpp.its_session.sequence", "its_session_info.sequence", R::integer},
    tshark_field{"smpp.its_session.ind", "its_session_info.sequence", R::integer},
    tshark_field{"smpp.vendor_op", "vendor", R::octets},
    tshark_field{"smpp.reserved_op", "reserved", R::octets},
    // Not compared (T6): smpp.opt_params, smpp.opt_param, smpp.dlist, smpp.dlist_resp (containers
    // of the fields above), smpp.message_text (short_message or message_payload decoded with a
    // character set guessed from data_coding), smpp.dcs.* (data_coding's bits, data_coding itself
    // is compared), smpp.message_payload.duplicate (an expert note).
};

const std::unordered_map<std::string_view, const tshark_field*>& tshark_field_map() {
  static const auto m = [] {
    std::unordered_map<std::string_view, const tshark_field*> out;
    for (const tshark_field& f : kTsharkFields) out[f.tshark] = &f;
    return out;
  }();
  return m;
}

std::string tag_text(uint16_t t) {
  char b[8];
  std::snprintf(b, sizeof b, "0x%04x", t);
  return b;
}

uint64_t hex_number(std::string_view hex) {
  uint64_t v = 0;
  std::from_chars(hex.data(), hex.data() + hex.size(), v, 16);
  return v;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

std::string text_of_hex(std::string_view hex) {
  std::string s;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    s.push_back(static_cast<char>(hex_number(hex.substr(i, 2))));
  }
  if (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

// tshark's fields of one PDU, in tree order, rendered like expected_fields() renders ours.
// pdu_at is the frame offset of the SMPP PDU, pdu its octets (for FT_NONE fields).
field_list tshark_fields(const pdml_packet& pk, size_t pdu_at, std::span<const std::byte> pdu) {
  field_list out;
  uint32_t last_pos = UINT32_MAX;
  for (const pdml_field& f : pk.fields) {
    const auto it = tshark_field_map().find(f.name);
    if (it == tshark_field_map().end()) continue;  // T6
    const tshark_field& t = *it->second;
    std::string v;
    switch (t.kind) {
      case R::integer:
        if (!f.unmasked.empty()) {
          v = std::to_string(hex_number(f.unmasked));
        } else {
          v = std::to_string(std::strtoull(f.show.c_str(), nullptr, 0));
        }
        break;
      case R::tlv_tag:
        v = tag_text(static_cast<uint16_t>(std::strtoul(f.show.c_str(), nullptr, 0)));
        break;
      case R::string:
        v = f.value == "00" ? "" : f.show;  // T4: "(Default)" or "NULL" shown for ""
        break;
      case R::time:
        v = text_of_hex(f.value);
        break;
      case R::octets:
        v = lower(f.value);
        break;
      case R::span:
        if (f.pos >= pdu_at && f.pos - pdu_at + f.size <= pdu.size()) {
          v = to_hex(pdu.subspan(f.pos - pdu_at, f.size));
        } else {
          v = "<outside the PDU>";
        }
        break;
    }
    // T4: an empty string or octet string may be absent, shown, or shown with a placeholder.
    if (t.kind != R::integer && t.kind != R::tlv_tag && v.empty()) continue;
    // Bit fields of one octet (esm_class, registered_delivery, ...) are one field of ours.
    if (!out.empty() && out.back().name == t.canonical && f.pos == last_pos) continue;
    out.push_back({std::string(t.canonical), std::move(v)});
    last_pos = f.pos;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Our decode, rendered the way tshark's dissector presents it.

// T1: tshark dissects TLVs only after the body of these PDUs.
bool tshark_reads_tlvs(command_id id) {
  switch (id) {
    case command_id::submit_sm:
    case command_id::deliver_sm:
    case command_id::replace_sm:
    case command_id::submit_multi:
    case command_id::alert_notification:
    case command_id::data_sm:
    case command_id::broadcast_sm:
    case command_id::query_broadcast_sm:
    case command_id::cancel_broadcast_sm:
    case command_id::bind_receiver_resp:
    case command_id::bind_transmitter_resp:
    case command_id::bind_transceiver_resp:
    case command_id::submit_sm_resp:
    case command_id::deliver_sm_resp:
    case command_id::submit_multi_resp:
    case command_id::data_sm_resp:
    case command_id::broadcast_sm_resp:
    case command_id::query_broadcast_sm_resp:
      return true;
    default:
      return false;
  }
}

// T3: TLVs after which tshark loses the TLV framing: it reads a fixed one octet of these.
// SMPP 5.0 §4.8.4 gives broadcast_rep_num two octets and ms_validity up to four.
bool tshark_misframes(const tlv& t) {
  return t.tag == tag::broadcast_rep_num || (t.tag == tag::ms_validity && t.value.size() > 1);
}

struct expectation {
  field_list fields;
  size_t tlvs_compared = 0;
  size_t tlvs_not_read = 0;   // T1, or T2's error responses
  size_t tlvs_after_cut = 0;  // T3
  bool body_skipped = false;  // T2
  bool cut = false;           // T3: tshark's fields after the cut are not compared
};

class expected_builder {
 public:
  explicit expected_builder(expectation& e) : e_(e) {}
  void integer(std::string_view name, uint64_t v) { put(name, std::to_string(v)); }
  void tag(uint16_t t) { put("tlv.tag", tag_text(t)); }
  void text(std::string_view name, std::string_view s) {
    if (!s.empty()) put(name, std::string(s));  // T4
  }
  void octets(std::string_view name, bytes_view b) {
    if (!b.empty()) put(name, to_hex(b));  // T4
  }

 private:
  void put(std::string_view name, std::string v) {
    e_.fields.push_back({std::string(name), std::move(v)});
  }
  expectation& e_;
};

// The value fields tshark shows for one TLV; false when tshark loses the framing after it (T3).
bool expect_tlv_value(expected_builder& out, const tlv& t) {
  const bytes_view v = t.value;
  auto octet = [&v](size_t i) { return std::to_integer<uint32_t>(v[i]); };
  auto be16 = [&v](size_t i) { return load_be16(v.data() + i); };
  if (t.tag >= 0x1400 && t.tag <= 0x3FFF) {  // SMPP 3.4 §5.3.2: reserved for SMSC vendors
    out.octets("vendor", v);
    return true;
  }
  const tlv_info* info = find_tlv_info(t.tag);
  if (info == nullptr) {
    out.octets("reserved", v);
    return true;
  }
  switch (t.tag) {
    case tag::network_error_code:  // SMPP 3.4 §5.3.2: network type, then error code
      out.integer("network_error_code.type", octet(0));
      out.integer("network_error_code.code", be16(1));
      return true;
    case tag::broadcast_content_type:  // SMPP 5.0 §4.8.4: network type, then content type
      out.integer("broadcast_content_type.nw", octet(0));
      out.integer("broadcast_content_type.type", be16(1));
      return true;
    case tag::broadcast_frequency_interval:  // SMPP 5.0: time unit, then number of units
      out.integer("broadcast_frequency_interval.unit", octet(0));
      out.integer("broadcast_frequency_interval.value", be16(1));
      return true;
    case tag::broadcast_area_identifier:  // SMPP 5.0: format octet, then the area
      out.integer("broadcast_area_identifier.format", octet(0));
      out.octets("broadcast_area_identifier", v);
      return true;
    case tag::its_session_info:  // SMPP 3.4 §5.3.2: session number, then sequence bits
      out.integer("its_session_info.number", octet(0));
      out.integer("its_session_info.sequence", octet(1));
      return true;
    case tag::alert_on_message_delivery:  // SMPP 5.0: empty, or one octet of alert type
      if (!v.empty()) out.integer("alert_on_message_delivery", octet(0));
      return true;
    case tag::ms_validity:
    case tag::broadcast_rep_num:
      out.integer(info->name, octet(0));  // T3: one octet read
      return !tshark_misframes(t);
    default:
      break;
  }
  switch (info->type) {
    case tlv_type::int1:
    case tlv_type::int2:
    case tlv_type::int4:
      out.integer(info->name, t.as_uint());
      break;
    case tlv_type::cstring:
      out.text(info->name, t.as_cstring());
      break;
    case tlv_type::octets:
    case tlv_type::empty:
      out.octets(info->name, v);
      break;
  }
  return true;
}

expectation expected_fields(const pdu& p, size_t command_length) {
  expectation e;
  expected_builder out(e);
  out.integer("command_length", command_length);
  out.integer("command_id", static_cast<uint32_t>(p.id));
  if (is_response(p.id)) out.integer("command_status", static_cast<uint32_t>(p.status));
  out.integer("sequence_number", p.sequence_number);
  const size_t tlv_count = static_cast<size_t>(std::distance(p.tlvs.begin(), p.tlvs.end()));
  // T2: a response's body is dissected only when command_status is 0.
  if ((is_response(p.id) && p.status != command_status::ESME_ROK) || p.body_absent) {
    e.body_skipped = !p.body_absent;
    e.tlvs_not_read = tlv_count;
    return e;
  }
  for (const field_desc& f : pdu_layout(p.id)) {
    switch (f.kind) {
      case field_kind::u8:
        out.integer(f.name, p.*f.u8);
        break;
      case field_kind::cstring:
      case field_kind::time:
        out.text(f.name, p.*f.str);
        break;
      case field_kind::sm:
        out.integer("sm_length", p.short_message.size());
        out.octets("short_message", p.short_message);
        break;
      case field_kind::dest_list:  // tshark shows neither number_of_dests nor dest_flag
        for (const dest_address d : p.dest_addresses) {
          if (d.dest_flag == dest_flag_sme_address) {
            out.integer("dest_addr_ton", d.dest_addr_ton);
            out.integer("dest_addr_npi", d.dest_addr_npi);
            out.text("destination_addr", d.destination_addr);
          } else {
            out.text("dl_name", d.destination_addr);
          }
        }
        break;
      case field_kind::unsuccess:  // nor no_unsuccess
        for (const unsuccess_sme u : p.unsuccess_smes) {
          out.integer("dest_addr_ton", u.dest_addr_ton);
          out.integer("dest_addr_npi", u.dest_addr_npi);
          out.text("destination_addr", u.destination_addr);
          out.integer("error_status_code", u.error_status_code);
        }
        break;
    }
  }
  if (!tshark_reads_tlvs(p.id)) {  // T1
    e.tlvs_not_read = tlv_count;
    return e;
  }
  for (const tlv t : p.tlvs) {
    if (e.cut) {
      ++e.tlvs_after_cut;
      continue;
    }
    out.tag(t.tag);
    out.integer("tlv.length", t.value.size());
    e.cut = !expect_tlv_value(out, t);
    ++e.tlvs_compared;
  }
  return e;
}

// T3: moves the TLVs tshark misframes to the end of the TLV stream (the order of TLVs carries
// no meaning in SMPP), so that every TLV before them is still compared. Returns how many moved.
size_t move_misframed_tlvs_last(std::vector<std::byte>& bytes) {
  pdu p;
  EXPECT_TRUE(decode(bytes, p).ok()) << to_hex(bytes);
  std::vector<std::byte> tlvs;
  std::vector<std::byte> tail;
  size_t moved = 0;
  for (const tlv t : p.tlvs) {
    const bool m = tshark_misframes(t);
    auto& to = m ? tail : tlvs;
    const std::byte* start = t.value.data() - 4;  // the TLV's tag and length
    to.insert(to.end(), start, start + 4 + t.value.size());
    moved += m ? 1 : 0;
  }
  if (tail.empty()) return 0;
  tlvs.insert(tlvs.end(), tail.begin(), tail.end());
  p.tlvs = tlv_area(tlvs);
  std::vector<std::byte> out(bytes.size());
  const encode_result r = encode(p, out);
  EXPECT_TRUE(r.ok(out.size()));
  bytes = std::move(out);
  return moved;
}

// ---------------------------------------------------------------------------------------------

struct pdu_result {
  std::vector<std::byte> bytes;
  expectation expected;
  field_list actual;
  bool dissected = false;
  bool malformed = false;
  bool udhi = false;  // esm_class announces a user data header (SMPP 3.4 §5.2.12)
};

// One tshark run over the whole corpus, shared by the tests below.
class TsharkDiff : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const size_t n = env_size("SMPP_INTEROP_PDUS", kDefaultPdus);
    seed_ = env_size("SMPP_INTEROP_SEED", kDefaultSeed);
    pdu_generator gen(seed_, {.tlvs = true, .vendor_tlvs = true, .smpp50 = true});
    pcap_writer pcap;
    results_ = new std::vector<pdu_result>(n);
    for (pdu_result& r : *results_) {
      r.bytes = gen.make();
      moved_tlvs_ += move_misframed_tlvs_last(r.bytes);
      const uint32_t frame = pcap.add_segment(r.bytes);
      EXPECT_EQ(frame, kFirstPduFrame + static_cast<uint32_t>(&r - results_->data()));
    }

    std::string dir_template = (std::filesystem::temp_directory_path() / "smpp-tshark-XXXXXX");
    ASSERT_EQ(dir_template.find('\''), std::string::npos) << "quoted into a shell command below";
    ASSERT_NE(mkdtemp(dir_template.data()), nullptr) << dir_template;
    dir_ = dir_template;
    const std::filesystem::path pcap_path = dir_ / "corpus.pcap";
    std::ofstream(pcap_path, std::ios::binary)
        .write(reinterpret_cast<const char*>(pcap.bytes().data()),
               static_cast<std::streamsize>(pcap.bytes().size()));
    std::filesystem::create_directory(dir_ / "profile");

    // One run for the whole corpus. A private, empty configuration directory keeps the
    // user's preferences out; -n: no name resolution; -J smpp: only the SMPP tree (plus the
    // frame number) in the PDML.
    const std::string cmd = "WIRESHARK_CONFIG_DIR='" + (dir_ / "profile").string() + "' '" +
                            SMPP_TSHARK + "' -n -r '" + pcap_path.string() +
                            "' -d tcp.port==" + std::to_string(smpp_port) +
                            ",smpp -T pdml -J smpp > '" + (dir_ / "corpus.pdml").string() +
                            "' 2> '" + (dir_ / "tshark.stderr").string() + "'";
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = std::system(cmd.c_str());
    tshark_ms_ =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(rc, 0) << cmd << "\n" << slurp(dir_ / "tshark.stderr");

    std::ifstream pdml(dir_ / "corpus.pdml");
    const std::vector<pdml_packet> packets = read_pdml(pdml, "smpp.");
    constexpr size_t pdu_at = 14 + 20 + 20;  // Ethernet, IPv4, TCP headers
    for (const pdml_packet& pk : packets) {
      if (pk.frame < kFirstPduFrame || pk.frame - kFirstPduFrame >= results_->size()) continue;
      pdu_result& r = (*results_)[pk.frame - kFirstPduFrame];
      r.dissected = !pk.fields.empty();
      r.malformed = pk.malformed;
      r.actual = tshark_fields(pk, pdu_at, r.bytes);
    }
    for (pdu_result& r : *results_) {
      pdu p;
      EXPECT_TRUE(decode(r.bytes, p).ok()) << to_hex(r.bytes);
      r.udhi = (p.esm_class & esm_class_udhi) != 0;
      r.expected = expected_fields(p, r.bytes.size());
      if (r.expected.cut && r.actual.size() > r.expected.fields.size()) {
        r.actual.resize(r.expected.fields.size());  // T3
      }
    }
  }

  static void TearDownTestSuite() {
    delete results_;
    results_ = nullptr;
    if (std::getenv("SMPP_INTEROP_KEEP") != nullptr) {
      std::printf("tshark corpus kept in %s\n", dir_.c_str());
    } else if (!dir_.empty()) {
      std::filesystem::remove_all(dir_);
    }
  }

  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  static inline std::vector<pdu_result>* results_ = nullptr;
  static inline std::filesystem::path dir_;
  static inline uint64_t seed_ = 0;
  static inline size_t moved_tlvs_ = 0;
  static inline double tshark_ms_ = 0;
};

TEST_F(TsharkDiff, RandomPdusOfEveryCommandAgreeFieldByField) {
  ASSERT_NE(results_, nullptr);
  size_t compared = 0, fields = 0, tlvs = 0, tlvs_not_read = 0, tlvs_after_cut = 0;
  size_t bodies_skipped = 0, cut = 0;
  size_t malformed = 0, failures = 0;
  std::map<uint32_t, size_t> per_command;
  for (const pdu_result& r : *results_) {
    if (!r.dissected) {
      if (++failures <= 10) ADD_FAILURE() << "tshark did not dissect " << to_hex(r.bytes);
      continue;
    }
    const std::vector<std::string> d = diff_fields(r.expected.fields, r.actual);
    if (!d.empty()) {
      if (++failures <= 10) {
        ADD_FAILURE() << "PDU " << to_hex(r.bytes) << "\n" << ::testing::PrintToString(d);
      }
      continue;
    }
    // A malformed mark must have a known cause: T3, or the GSM 03.40 user data header tshark
    // parses out of a random short_message when esm_class has UDHI set (it does so after every
    // SMPP field, so the comparison above is complete either way).
    if (r.malformed && !r.expected.cut && !r.udhi && ++failures <= 10) {
      ADD_FAILURE() << "tshark marks this PDU malformed: " << to_hex(r.bytes);
    }
    ++compared;
    fields += r.expected.fields.size();
    tlvs += r.expected.tlvs_compared;
    tlvs_not_read += r.expected.tlvs_not_read;
    tlvs_after_cut += r.expected.tlvs_after_cut;
    bodies_skipped += r.expected.body_skipped ? 1 : 0;
    cut += r.expected.cut ? 1 : 0;
    malformed += r.malformed ? 1 : 0;
    ++per_command[peek_header(r.bytes.data()).command_id];
  }
  EXPECT_EQ(failures, 0U);
  EXPECT_GE(compared, std::min(results_->size(), kRequiredPdus));
  EXPECT_EQ(per_command.size(), pdu_generator::all_commands().size());
  std::printf(
      "tshark: %zu PDUs (seed %#llx) agreed field by field: %zu fields, %zu TLVs, %zu commands; "
      "tshark ran %.0f ms\n"
      "  not compared: %zu TLVs on PDUs tshark reads no TLVs of (T1, T2), %zu error-response "
      "bodies (T2), %zu TLVs after a misframed one (T3)\n"
      "  T3: %zu TLVs moved last, %zu PDUs cut after one; %zu PDUs marked malformed by tshark\n",
      compared, static_cast<unsigned long long>(seed_), fields, tlvs, per_command.size(),
      tshark_ms_, tlvs_not_read, bodies_skipped, tlvs_after_cut, moved_tlvs_, cut, malformed);
}

// The comparison can fail: changing any single field of our side is reported.
TEST_F(TsharkDiff, CorruptingAnyFieldOfOursIsDetected) {
  ASSERT_NE(results_, nullptr);
  size_t mutations = 0;
  for (size_t i = 0; i < std::min<size_t>(results_->size(), 500); ++i) {
    const pdu_result& r = (*results_)[i];
    if (!diff_fields(r.expected.fields, r.actual).empty()) continue;  // reported above
    for (size_t f = 0; f < r.expected.fields.size(); ++f) {
      field_list corrupted = r.expected.fields;
      corrupted[f].value += "0";
      EXPECT_FALSE(diff_fields(corrupted, r.actual).empty()) << r.expected.fields[f].name;
      ++mutations;
    }
  }
  EXPECT_GT(mutations, 5000U);
}

// And at the PDU level: our decode of a PDU differing in one field disagrees with what tshark
// dissected from the original.
TEST_F(TsharkDiff, CorruptedDecodeOfOursIsDetected) {
  ASSERT_NE(results_, nullptr);
  size_t checked = 0;
  for (const pdu_result& r : *results_) {
    pdu p;
    ASSERT_TRUE(decode(r.bytes, p).ok());
    if (p.id != command_id::submit_sm || p.source_addr.empty()) continue;
    std::string changed(p.source_addr);
    changed[0] = changed[0] == '1' ? '2' : '1';
    p.source_addr = changed;
    const std::vector<std::string> d =
        diff_fields(expected_fields(p, r.bytes.size()).fields, r.actual);
    ASSERT_EQ(d.size(), 1U) << ::testing::PrintToString(d);
    EXPECT_NE(d[0].find("source_addr"), std::string::npos) << d[0];
    if (++checked == 20) break;
  }
  EXPECT_EQ(checked, 20U);
}

TEST(Pdml, ReadsFieldsOfOnePacket) {
  std::istringstream in(
      "<packet>\n"
      "  <proto name=\"geninfo\" pos=\"0\" showname=\"General information\" size=\"85\">\n"
      "    <field name=\"num\" pos=\"0\" show=\"5\" showname=\"Number\" value=\"5\" size=\"85\"/>\n"
      "  <proto name=\"smpp\" showname=\"x\" size=\"31\" pos=\"54\">\n"
      "    <field name=\"smpp.system_id\" showname=\"System ID: a&amp;b\" size=\"4\" pos=\"70\" "
      "show=\"a&amp;b&#x27;\" value=\"61266200\"/>\n"
      "    <field name=\"smpp.replace_if_present_flag\" showname=\".... ...1 = Replace\" "
      "size=\"1\" pos=\"71\" show=\"0x01\" value=\"1\" unmaskedvalue=\"4b\"/>\n"
      "    <field name=\"tcp.port\" show=\"1\"/>\n"
      "  <proto name=\"_ws.malformed\" showname=\"[Malformed Packet: SMPP]\" size=\"0\" "
      "pos=\"54\">\n"
      "</packet>\n");
  const std::vector<pdml_packet> p = read_pdml(in, "smpp.");
  ASSERT_EQ(p.size(), 1U);
  EXPECT_EQ(p[0].frame, 5U);
  EXPECT_TRUE(p[0].malformed);
  ASSERT_EQ(p[0].fields.size(), 2U);
  EXPECT_EQ(p[0].fields[0].show, "a&b'");
  EXPECT_EQ(p[0].fields[0].value, "61266200");
  EXPECT_EQ(p[0].fields[0].pos, 70U);
  EXPECT_EQ(p[0].fields[1].unmasked, "4b");
}

}  // namespace
}  // namespace smpp::interop
