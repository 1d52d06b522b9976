// Differential test against libsmpp34 (an independent SMPP 3.4 codec in C): random valid PDUs
// encoded by us are unpacked by smpp34_unpack and decoded by us, and every mandatory field,
// list entry and TLV is compared; the other way, libsmpp34 packs what we decoded and we check its
// bytes are ours octet for octet and decode to the same fields.
//
// libsmpp34 understands a narrower language than SMPP 3.4 itself; every PDU is first brought into
// that language by the adaptations L1..L6 below (README.md, "libsmpp34"), each counted and each
// proven necessary by LibSmpp34Limits.EachDocumentedLimitationIsReal.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "field_diff.hpp"
#include "pdu_gen.hpp"
#include "smpp/codec/codec.hpp"

// libsmpp34 comes last: smpp34.h #defines ESME_ROK, ESME_RINVMSGLEN, ... as macros, which would
// rewrite our command_status enumerators. Nothing below spells those names. Its headers are not
// self-contained, hence the fixed order.
// clang-format off
extern "C" {
#include <smpp34.h>
#include <smpp34_structs.h>
#include <smpp34_params.h>
}
// clang-format on

namespace smpp::interop {
namespace {

using namespace codec;
using testing::pdu_generator;
using testing::to_hex;

constexpr size_t kDefaultPdus = 12000;
constexpr size_t kRequiredPdus = 10000;
constexpr uint64_t kDefaultSeed = 0x5eed34;

size_t env_size(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtoull(v, nullptr, 0) : fallback;
}

// ---------------------------------------------------------------------------------------------
// The language libsmpp34 1.14 speaks, and how a random SMPP 3.4 PDU is brought into it.

// L1: only these PDUs have a TLV section in libsmpp34's frame definitions (def_frame/*.frame);
// TLVs on any other PDU make smpp34_unpack fail its length check. SMPP 3.4 §4.7.2 gives
// data_sm_resp TLVs too, but libsmpp34 has no place for them.
bool has_tlv_section(command_id id) {
  switch (id) {
    case command_id::submit_sm:
    case command_id::deliver_sm:
    case command_id::data_sm:
    case command_id::submit_multi:
    case command_id::alert_notification:
    case command_id::bind_receiver_resp:
    case command_id::bind_transmitter_resp:
    case command_id::bind_transceiver_resp:
      return true;
    default:
      return false;
  }
}

// L2: smpp34_unpack rejects a TON or NPI outside SMPP 3.4 §5.2.5 / §5.2.6's named values.
constexpr std::array<uint8_t, 10> kNpis = {0, 1, 3, 4, 6, 8, 9, 10, 14, 18};
bool ton_known(uint8_t t) {
  return t <= 6;
}
bool npi_known(uint8_t n) {
  return std::find(kNpis.begin(), kNpis.end(), n) != kNpis.end();
}

enum adaptation : unsigned {
  kL1StripTlvs = 1U << 0,
  kL2TonNpi = 1U << 1,
  kL3InterfaceVersion = 1U << 2,
  kL4DeliverSmUnused = 1U << 3,
  kL5DataSmSourceAddr = 1U << 4,
  kL6ErrorResponseBody = 1U << 5,
};
constexpr std::array<const char*, 6> kAdaptationNames = {
    "L1 TLVs on a PDU without a TLV section (removed)",
    "L2 TON/NPI outside the SMPP 3.4 tables (mapped into them)",
    "L3 bind_transmitter/transceiver interface_version != 0x34 (set to 0x34)",
    "L4 deliver_sm times / deliver_sm_resp message_id not NULL (emptied)",
    "L5 data_sm source_addr longer than 20 (cut to 20)",
    "L6 submit_sm_resp with error status carrying a body (body dropped)",
};

struct adapted_pdu {
  std::vector<std::byte> bytes;
  unsigned adaptations = 0;
};

// Re-encodes a PDU of ours inside libsmpp34's language, applying those of L1..L6 that are
// allowed and needed.
adapted_pdu adapt(std::span<const std::byte> in, unsigned allowed = ~0U) {
  pdu p;
  const decode_error err = decode(in, p);
  EXPECT_TRUE(err.ok()) << "generator produced an undecodable PDU: " << to_hex(in);
  unsigned a = 0;
  auto fix_ton = [&](uint8_t& t) {
    if ((allowed & kL2TonNpi) != 0 && !ton_known(t)) {
      t = static_cast<uint8_t>(t % 7);
      a |= kL2TonNpi;
    }
  };
  auto fix_npi = [&](uint8_t& n) {
    if ((allowed & kL2TonNpi) != 0 && !npi_known(n)) {
      n = kNpis[n % kNpis.size()];
      a |= kL2TonNpi;
    }
  };
  for (const field_desc& f : pdu_layout(p.id)) {
    if (f.kind != field_kind::u8) continue;
    if (f.name.ends_with("_ton")) fix_ton(p.*f.u8);
    if (f.name.ends_with("_npi")) fix_npi(p.*f.u8);
  }
  std::vector<std::byte> lists(4096);
  size_t at = 0;
  if (p.dest_addresses.size() > 0) {
    for (dest_address d : p.dest_addresses) {
      if (d.dest_flag == dest_flag_sme_address) {
        fix_ton(d.dest_addr_ton);
        fix_npi(d.dest_addr_npi);
      }
      at += write_dest_address(d, std::span(lists).subspan(at));
    }
    p.dest_addresses = dest_address_list(p.dest_addresses.size(), bytes_view(lists.data(), at));
  }
  if (p.unsuccess_smes.size() > 0) {
    const size_t start = at;
    for (unsuccess_sme u : p.unsuccess_smes) {
      fix_ton(u.dest_addr_ton);
      fix_npi(u.dest_addr_npi);
      at += write_unsuccess_sme(u, std::span(lists).subspan(at));
    }
    p.unsuccess_smes =
        unsuccess_sme_list(p.unsuccess_smes.size(), bytes_view(lists.data() + start, at - start));
  }
  if ((allowed & kL3InterfaceVersion) != 0 &&
      (p.id == command_id::bind_transmitter || p.id == command_id::bind_transceiver) &&
      p.interface_version != SMPP_VERSION) {
    p.interface_version = SMPP_VERSION;
    a |= kL3InterfaceVersion;
  }
  // SMPP 3.4 §4.6.1: deliver_sm's schedule_delivery_time and validity_period are "set to NULL";
  // §4.6.2: deliver_sm_resp's message_id is "unused and set to NULL". libsmpp34 sizes them 1.
  if ((allowed & kL4DeliverSmUnused) != 0 && p.id == command_id::deliver_sm &&
      (!p.schedule_delivery_time.empty() || !p.validity_period.empty())) {
    p.schedule_delivery_time = {};
    p.validity_period = {};
    a |= kL4DeliverSmUnused;
  }
  if ((allowed & kL4DeliverSmUnused) != 0 && p.id == command_id::deliver_sm_resp &&
      !p.message_id.empty()) {
    p.message_id = {};
    a |= kL4DeliverSmUnused;
  }
  // SMPP 3.4 §4.7.1 allows 65 octets; libsmpp34's data_sm.frame uses ADDRESS_LENGTH (21).
  if ((allowed & kL5DataSmSourceAddr) != 0 && p.id == command_id::data_sm &&
      p.source_addr.size() > ADDRESS_LENGTH - 1) {
    p.source_addr = p.source_addr.substr(0, ADDRESS_LENGTH - 1);
    a |= kL5DataSmSourceAddr;
  }
  // libsmpp34 reads submit_sm_resp's message_id only when command_status is 0 (O_C_OCTET);
  // SMPP 3.4 §4.4.2 says the body is not returned with an error.
  if ((allowed & kL6ErrorResponseBody) != 0 && p.id == command_id::submit_sm_resp &&
      p.status != command_status{} && !p.body_absent) {
    p.body_absent = true;
    a |= kL6ErrorResponseBody;
  }
  if ((allowed & kL1StripTlvs) != 0 && !p.tlvs.empty() && !has_tlv_section(p.id)) {
    p.tlvs = {};
    a |= kL1StripTlvs;
  }
  adapted_pdu out{std::vector<std::byte>(70000), a};
  const encode_result r = encode(p, out.bytes);
  EXPECT_TRUE(r.ok(out.bytes.size())) << r.field;
  out.bytes.resize(r.needed);
  return out;
}

// How libsmpp34 stores a TLV value for this command (the do_tlv_* tables in def_frame/*.tlv):
// integer TLVs land in value.val08/16/32 in host order, everything else in value.octet.
enum class tlv_storage : uint8_t { u8, u16, u32, octets };

tlv_storage storage_of(uint32_t command, uint16_t tag) {
  using S = tlv_storage;
  auto in = [tag](std::initializer_list<uint16_t> tags) {
    return std::find(tags.begin(), tags.end(), tag) != tags.end();
  };
  switch (command) {
    case SUBMIT_SM:
    case SUBMIT_MULTI:
      if (in({TLVID_user_message_reference, TLVID_source_port, TLVID_destination_port,
              TLVID_sar_msg_ref_num, TLVID_sms_signal, TLVID_its_session_info})) {
        return S::u16;
      }
      if (in({TLVID_source_addr_subunit, TLVID_dest_addr_subunit, TLVID_sar_total_segments,
              TLVID_sar_segment_seqnum, TLVID_more_messages_to_send, TLVID_payload_type,
              TLVID_privacy_indicator, TLVID_callback_num_pres_ind, TLVID_user_response_code,
              TLVID_display_time, TLVID_ms_validity, TLVID_ms_msg_wait_facilities,
              TLVID_number_of_messages, TLVID_language_indicator, TLVID_its_reply_type})) {
        return S::u8;
      }
      return S::octets;
    case DELIVER_SM:
      if (in({TLVID_user_message_reference, TLVID_source_port, TLVID_destination_port,
              TLVID_sar_msg_ref_num, TLVID_its_session_info})) {
        return S::u16;
      }
      if (in({TLVID_sar_total_segments, TLVID_sar_segment_seqnum, TLVID_user_response_code,
              TLVID_privacy_indicator, TLVID_payload_type, TLVID_language_indicator,
              TLVID_message_state, TLVID_set_dpf, TLVID_source_network_type})) {
        return S::u8;
      }
      return S::octets;
    case DATA_SM:
      if (in({TLVID_source_port, TLVID_destination_port, TLVID_dest_telematics_id,
              TLVID_sar_msg_ref_num, TLVID_user_message_reference, TLVID_sms_signal,
              TLVID_its_session_info})) {
        return S::u16;
      }
      if (tag == TLVID_qos_time_to_live) return S::u32;
      if (in({TLVID_source_addr_subunit,    TLVID_source_network_type, TLVID_source_bearer_type,
              TLVID_source_telematics_id,   TLVID_dest_addr_subunit,   TLVID_dest_network_type,
              TLVID_dest_bearer_type,       TLVID_sar_total_segments,  TLVID_sar_segment_seqnum,
              TLVID_more_messages_to_send,  TLVID_payload_type,        TLVID_set_dpf,
              TLVID_message_state,          TLVID_privacy_indicator,   TLVID_callback_num_pres_ind,
              TLVID_user_response_code,     TLVID_display_time,        TLVID_ms_validity,
              TLVID_ms_msg_wait_facilities, TLVID_number_of_messages,  TLVID_language_indicator,
              TLVID_its_reply_type})) {
        return S::u8;
      }
      return S::octets;
    case ALERT_NOTIFICATION:
      return tag == TLVID_ms_availability_status ? S::u8 : S::octets;
    case BIND_RECEIVER_RESP:
    case BIND_TRANSMITTER_RESP:
    case BIND_TRANSCEIVER_RESP:
      return tag == TLVID_sc_interface_version ? S::u8 : S::octets;
    default:
      return S::octets;
  }
}

std::string tag_text(uint16_t tag) {
  char b[8];
  std::snprintf(b, sizeof b, "0x%04x", tag);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Our decode, flattened. Field names are the specification's, as in pdu_layout() and in
// libsmpp34's structs; integers are decimal, octet strings hex.

field_list flatten_ours(const pdu& p, size_t command_length) {
  field_list out;
  auto add = [&out](std::string name, std::string value) {
    out.push_back({std::move(name), std::move(value)});
  };
  add("command_length", std::to_string(command_length));
  add("command_id", std::to_string(static_cast<uint32_t>(p.id)));
  add("command_status", std::to_string(static_cast<uint32_t>(p.status)));
  add("sequence_number", std::to_string(p.sequence_number));
  if (!p.body_absent) {
    for (const field_desc& f : pdu_layout(p.id)) {
      const std::string name(f.name);
      switch (f.kind) {
        case field_kind::u8:
          add(name, std::to_string(p.*f.u8));
          break;
        case field_kind::cstring:
        case field_kind::time:
          add(name, std::string(p.*f.str));
          break;
        case field_kind::sm:
          add("sm_length", std::to_string(p.short_message.size()));
          add("short_message", to_hex(p.short_message));
          break;
        case field_kind::dest_list: {
          add("number_of_dests", std::to_string(p.dest_addresses.size()));
          size_t i = 0;
          for (const dest_address d : p.dest_addresses) {
            const std::string e = "dest_address[" + std::to_string(i++) + "].";
            add(e + "dest_flag", std::to_string(d.dest_flag));
            if (d.dest_flag == dest_flag_sme_address) {
              add(e + "dest_addr_ton", std::to_string(d.dest_addr_ton));
              add(e + "dest_addr_npi", std::to_string(d.dest_addr_npi));
              add(e + "destination_addr", std::string(d.destination_addr));
            } else {
              add(e + "dl_name", std::string(d.destination_addr));
            }
          }
          break;
        }
        case field_kind::unsuccess: {
          add("no_unsuccess", std::to_string(p.unsuccess_smes.size()));
          size_t i = 0;
          for (const unsuccess_sme u : p.unsuccess_smes) {
            const std::string e = "unsuccess_sme[" + std::to_string(i++) + "].";
            add(e + "dest_addr_ton", std::to_string(u.dest_addr_ton));
            add(e + "dest_addr_npi", std::to_string(u.dest_addr_npi));
            add(e + "destination_addr", std::string(u.destination_addr));
            add(e + "error_status_code", std::to_string(u.error_status_code));
          }
          break;
        }
      }
    }
  }
  size_t i = 0;
  for (const tlv t : p.tlvs) {
    const std::string e = "tlv[" + std::to_string(i++) + "].";
    add(e + "tag", tag_text(t.tag));
    add(e + "length", std::to_string(t.value.size()));
    const bool integer = storage_of(static_cast<uint32_t>(p.id), t.tag) != tlv_storage::octets;
    add(e + "value", integer ? std::to_string(t.as_uint()) : to_hex(t.value));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// libsmpp34's structs, walked field by field in wire order. One visit per PDU type; the same
// walk flattens an unpacked struct and fills a struct to pack.

#define SMPP34_STR(f) v.str(#f, t.f, sizeof t.f)
#define SMPP34_U8(f) v.u8(#f, t.f)

template <class V, class T>
void visit_bind(V& v, T& t) {  // SMPP 3.4 §4.1.1, §4.1.3, §4.1.5
  SMPP34_STR(system_id);
  SMPP34_STR(password);
  SMPP34_STR(system_type);
  SMPP34_U8(interface_version);
  SMPP34_U8(addr_ton);
  SMPP34_U8(addr_npi);
  SMPP34_STR(address_range);
}
template <class V, class T>
void visit_bind_resp(V& v, T& t) {  // §4.1.2
  SMPP34_STR(system_id);
  v.tlvs(t.tlv);
}
template <class V, class T>
void visit_submit(V& v, T& t) {  // §4.4.1 submit_sm, §4.6.1 deliver_sm
  SMPP34_STR(service_type);
  SMPP34_U8(source_addr_ton);
  SMPP34_U8(source_addr_npi);
  SMPP34_STR(source_addr);
  SMPP34_U8(dest_addr_ton);
  SMPP34_U8(dest_addr_npi);
  SMPP34_STR(destination_addr);
  SMPP34_U8(esm_class);
  SMPP34_U8(protocol_id);
  SMPP34_U8(priority_flag);
  SMPP34_STR(schedule_delivery_time);
  SMPP34_STR(validity_period);
  SMPP34_U8(registered_delivery);
  SMPP34_U8(replace_if_present_flag);
  SMPP34_U8(data_coding);
  SMPP34_U8(sm_default_msg_id);
  v.sm(t.sm_length, t.short_message);
  v.tlvs(t.tlv);
}

template <class V>
void visit_body(V&, generic_nack_t&) {}
template <class V>
void visit_body(V&, unbind_t&) {}
template <class V>
void visit_body(V&, unbind_resp_t&) {}
template <class V>
void visit_body(V&, enquire_link_t&) {}
template <class V>
void visit_body(V&, enquire_link_resp_t&) {}
template <class V>
void visit_body(V&, cancel_sm_resp_t&) {}
template <class V>
void visit_body(V&, replace_sm_resp_t&) {}
template <class V>
void visit_body(V& v, bind_receiver_t& t) {
  visit_bind(v, t);
}
template <class V>
void visit_body(V& v, bind_transmitter_t& t) {
  visit_bind(v, t);
}
template <class V>
void visit_body(V& v, bind_transceiver_t& t) {
  visit_bind(v, t);
}
template <class V>
void visit_body(V& v, bind_receiver_resp_t& t) {
  visit_bind_resp(v, t);
}
template <class V>
void visit_body(V& v, bind_transmitter_resp_t& t) {
  visit_bind_resp(v, t);
}
template <class V>
void visit_body(V& v, bind_transceiver_resp_t& t) {
  visit_bind_resp(v, t);
}
template <class V>
void visit_body(V& v, outbind_t& t) {  // §4.1.7
  SMPP34_STR(system_id);
  SMPP34_STR(password);
}
template <class V>
void visit_body(V& v, submit_sm_t& t) {
  visit_submit(v, t);
}
template <class V>
void visit_body(V& v, deliver_sm_t& t) {
  visit_submit(v, t);
}
template <class V>
void visit_body(V& v, submit_sm_resp_t& t) {  // §4.4.2; O_C_OCTET: only read when status is 0
  if (t.command_status == 0) SMPP34_STR(message_id);
}
template <class V>
void visit_body(V& v, deliver_sm_resp_t& t) {  // §4.6.2
  SMPP34_STR(message_id);
}
template <class V>
void visit_body(V& v, data_sm_resp_t& t) {  // §4.7.2
  SMPP34_STR(message_id);
}
template <class V>
void visit_body(V& v, submit_multi_t& t) {  // §4.5.1
  SMPP34_STR(service_type);
  SMPP34_U8(source_addr_ton);
  SMPP34_U8(source_addr_npi);
  SMPP34_STR(source_addr);
  v.dests(t.number_of_dests, t.dest_addr_def);
  SMPP34_U8(esm_class);
  SMPP34_U8(protocol_id);
  SMPP34_U8(priority_flag);
  SMPP34_STR(schedule_delivery_time);
  SMPP34_STR(validity_period);
  SMPP34_U8(registered_delivery);
  SMPP34_U8(replace_if_present_flag);
  SMPP34_U8(data_coding);
  SMPP34_U8(sm_default_msg_id);
  v.sm(t.sm_length, t.short_message);
  v.tlvs(t.tlv);
}
template <class V>
void visit_body(V& v, submit_multi_resp_t& t) {  // §4.5.2
  SMPP34_STR(message_id);
  v.unsuccess(t.no_unsuccess, t.unsuccess_smes);
}
template <class V>
void visit_body(V& v, data_sm_t& t) {  // §4.7.1
  SMPP34_STR(service_type);
  SMPP34_U8(source_addr_ton);
  SMPP34_U8(source_addr_npi);
  SMPP34_STR(source_addr);
  SMPP34_U8(dest_addr_ton);
  SMPP34_U8(dest_addr_npi);
  SMPP34_STR(destination_addr);
  SMPP34_U8(esm_class);
  SMPP34_U8(registered_delivery);
  SMPP34_U8(data_coding);
  v.tlvs(t.tlv);
}
template <class V>
void visit_body(V& v, query_sm_t& t) {  // §4.8.1
  SMPP34_STR(message_id);
  SMPP34_U8(source_addr_ton);
  SMPP34_U8(source_addr_npi);
  SMPP34_STR(source_addr);
}
template <class V>
void visit_body(V& v, query_sm_resp_t& t) {  // §4.8.2
  SMPP34_STR(message_id);
  SMPP34_STR(final_date);
  SMPP34_U8(message_state);
  SMPP34_U8(error_code);
}
template <class V>
void visit_body(V& v, cancel_sm_t& t) {  // §4.9.1
  SMPP34_STR(service_type);
  SMPP34_STR(message_id);
  SMPP34_U8(source_addr_ton);
  SMPP34_U8(source_addr_npi);
  SMPP34_STR(source_addr);
  SMPP34_U8(dest_addr_ton);
  SMPP34_U8(dest_addr_npi);
  SMPP34_STR(destination_addr);
}
template <class V>
void visit_body(V& v, replace_sm_t& t) {  // §4.10.1
  SMPP34_STR(message_id);
  SMPP34_U8(source_addr_ton);
  SMPP34_U8(source_addr_npi);
  SMPP34_STR(source_addr);
  SMPP34_STR(schedule_delivery_time);
  SMPP34_STR(validity_period);
  SMPP34_U8(registered_delivery);
  SMPP34_U8(sm_default_msg_id);
  v.sm(t.sm_length, t.short_message);
}
template <class V>
void visit_body(V& v, alert_notification_t& t) {  // §4.12.1
  SMPP34_U8(source_addr_ton);
  SMPP34_U8(source_addr_npi);
  SMPP34_STR(source_addr);
  SMPP34_U8(esme_addr_ton);
  SMPP34_U8(esme_addr_npi);
  SMPP34_STR(esme_addr);
  v.tlvs(t.tlv);
}

#undef SMPP34_STR
#undef SMPP34_U8

// Calls f with a zeroed libsmpp34 struct of the command's type; false for a command libsmpp34
// does not know (every SMPP 5.0 one).
template <class F>
bool with_struct(uint32_t command, F&& f) {
  auto run = [&f]<class T>(std::type_identity<T>) {
    T t{};
    f(t);
    return true;
  };
  switch (command) {
    case GENERIC_NACK:
      return run(std::type_identity<generic_nack_t>{});
    case BIND_RECEIVER:
      return run(std::type_identity<bind_receiver_t>{});
    case BIND_RECEIVER_RESP:
      return run(std::type_identity<bind_receiver_resp_t>{});
    case BIND_TRANSMITTER:
      return run(std::type_identity<bind_transmitter_t>{});
    case BIND_TRANSMITTER_RESP:
      return run(std::type_identity<bind_transmitter_resp_t>{});
    case QUERY_SM:
      return run(std::type_identity<query_sm_t>{});
    case QUERY_SM_RESP:
      return run(std::type_identity<query_sm_resp_t>{});
    case SUBMIT_SM:
      return run(std::type_identity<submit_sm_t>{});
    case SUBMIT_SM_RESP:
      return run(std::type_identity<submit_sm_resp_t>{});
    case DELIVER_SM:
      return run(std::type_identity<deliver_sm_t>{});
    case DELIVER_SM_RESP:
      return run(std::type_identity<deliver_sm_resp_t>{});
    case UNBIND:
      return run(std::type_identity<unbind_t>{});
    case UNBIND_RESP:
      return run(std::type_identity<unbind_resp_t>{});
    case REPLACE_SM:
      return run(std::type_identity<replace_sm_t>{});
    case REPLACE_SM_RESP:
      return run(std::type_identity<replace_sm_resp_t>{});
    case CANCEL_SM:
      return run(std::type_identity<cancel_sm_t>{});
    case CANCEL_SM_RESP:
      return run(std::type_identity<cancel_sm_resp_t>{});
    case BIND_TRANSCEIVER:
      return run(std::type_identity<bind_transceiver_t>{});
    case BIND_TRANSCEIVER_RESP:
      return run(std::type_identity<bind_transceiver_resp_t>{});
    case OUTBIND:
      return run(std::type_identity<outbind_t>{});
    case ENQUIRE_LINK:
      return run(std::type_identity<enquire_link_t>{});
    case ENQUIRE_LINK_RESP:
      return run(std::type_identity<enquire_link_resp_t>{});
    case SUBMIT_MULTI:
      return run(std::type_identity<submit_multi_t>{});
    case SUBMIT_MULTI_RESP:
      return run(std::type_identity<submit_multi_resp_t>{});
    case ALERT_NOTIFICATION:
      return run(std::type_identity<alert_notification_t>{});
    case DATA_SM:
      return run(std::type_identity<data_sm_t>{});
    case DATA_SM_RESP:
      return run(std::type_identity<data_sm_resp_t>{});
    default:
      return false;
  }
}

// smpp34_unpack mallocs every TLV, dest_address and unsuccess_sme node; these are its own
// destructors for them (smpp34_params.h).
template <class T>
void destroy_lists(T& t) {
  if constexpr (requires { t.tlv; }) destroy_tlv(t.tlv);
  if constexpr (requires { t.dest_addr_def; }) destroy_dad(t.dest_addr_def);
  if constexpr (requires { t.unsuccess_smes; }) destroy_udad(t.unsuccess_smes);
}

std::string c_string(const uint8_t* s, size_t cap) {
  const auto* c = reinterpret_cast<const char*>(s);
  return {c, strnlen(c, cap)};
}

// Flattens an unpacked struct like flatten_ours. smpp34_unpack prepends list nodes, so its lists
// are in reverse wire order; they are put back in wire order here.
class flattener {
 public:
  explicit flattener(uint32_t command) : command_(command) {}

  template <class T>
  void header(const T& t) {
    add("command_length", std::to_string(t.command_length));
    add("command_id", std::to_string(t.command_id));
    add("command_status", std::to_string(t.command_status));
    add("sequence_number", std::to_string(t.sequence_number));
  }
  void u8(const char* name, uint8_t v) { add(name, std::to_string(v)); }
  void str(const char* name, const uint8_t* s, size_t cap) { add(name, c_string(s, cap)); }
  void sm(uint8_t len, const uint8_t* data) {
    add("sm_length", std::to_string(len));
    add("short_message", to_hex(std::as_bytes(std::span(data, len))));
  }
  void dests(uint8_t n, const dad_t* head) {
    add("number_of_dests", std::to_string(n));
    std::vector<const dad_t*> nodes;
    for (const dad_t* d = head; d != nullptr; d = d->next) nodes.push_back(d);
    std::reverse(nodes.begin(), nodes.end());
    for (size_t i = 0; i < nodes.size(); ++i) {
      const dad_t& d = *nodes[i];
      const std::string e = "dest_address[" + std::to_string(i) + "].";
      add(e + "dest_flag", std::to_string(d.dest_flag));
      if (d.dest_flag == DFID_SME_Address) {
        add(e + "dest_addr_ton", std::to_string(d.value.sme.dest_addr_ton));
        add(e + "dest_addr_npi", std::to_string(d.value.sme.dest_addr_npi));
        add(e + "destination_addr",
            c_string(d.value.sme.destination_addr, sizeof d.value.sme.destination_addr));
      } else {
        add(e + "dl_name", c_string(d.value.dl_name, sizeof d.value.dl_name));
      }
    }
  }
  void unsuccess(uint8_t n, const udad_t* head) {
    add("no_unsuccess", std::to_string(n));
    std::vector<const udad_t*> nodes;
    for (const udad_t* u = head; u != nullptr; u = u->next) nodes.push_back(u);
    std::reverse(nodes.begin(), nodes.end());
    for (size_t i = 0; i < nodes.size(); ++i) {
      const udad_t& u = *nodes[i];
      const std::string e = "unsuccess_sme[" + std::to_string(i) + "].";
      add(e + "dest_addr_ton", std::to_string(u.dest_addr_ton));
      add(e + "dest_addr_npi", std::to_string(u.dest_addr_npi));
      add(e + "destination_addr", c_string(u.destination_addr, sizeof u.destination_addr));
      add(e + "error_status_code", std::to_string(u.error_status_code));
    }
  }
  void tlvs(const tlv_t* head) {
    std::vector<const tlv_t*> nodes;
    for (const tlv_t* t = head; t != nullptr; t = t->next) nodes.push_back(t);
    std::reverse(nodes.begin(), nodes.end());
    for (size_t i = 0; i < nodes.size(); ++i) {
      const tlv_t& t = *nodes[i];
      const std::string e = "tlv[" + std::to_string(i) + "].";
      add(e + "tag", tag_text(t.tag));
      add(e + "length", std::to_string(t.length));
      switch (storage_of(command_, t.tag)) {
        case tlv_storage::u8:
          add(e + "value", std::to_string(t.value.val08));
          break;
        case tlv_storage::u16:
          add(e + "value", std::to_string(t.value.val16));
          break;
        case tlv_storage::u32:
          add(e + "value", std::to_string(t.value.val32));
          break;
        case tlv_storage::octets:
          add(e + "value", to_hex(std::as_bytes(std::span(t.value.octet, t.length))));
          break;
      }
    }
  }

  field_list fields;

 private:
  void add(std::string name, std::string value) {
    fields.push_back({std::move(name), std::move(value)});
  }
  uint32_t command_;
};

// Fills a struct for smpp34_pack from our decode. Mandatory fields are found by name in our
// layout table, so a name the visit and pdu_layout() disagree on fails loudly.
class filler {
 public:
  explicit filler(const pdu& p) : p_(p) {}

  template <class T>
  void header(T& t) {
    t.command_length = 0;  // smpp34_pack writes it
    t.command_id = static_cast<uint32_t>(p_.id);
    t.command_status = static_cast<uint32_t>(p_.status);
    t.sequence_number = p_.sequence_number;
  }
  void u8(const char* name, uint8_t& v) {
    if (const field_desc* f = find(name); f != nullptr && f->u8 != nullptr) v = p_.*f->u8;
  }
  void str(const char* name, uint8_t* s, size_t cap) {
    const field_desc* f = find(name);
    if (f == nullptr || f->str == nullptr) return;
    const std::string_view v = p_.*f->str;
    if (v.size() >= cap) {
      ADD_FAILURE() << name << " does not fit libsmpp34's " << cap << " octets";
      return;
    }
    std::memcpy(s, v.data(), v.size());
    s[v.size()] = 0;
  }
  void sm(uint8_t& len, uint8_t* data) {
    len = static_cast<uint8_t>(p_.short_message.size());
    if (len > 0) std::memcpy(data, p_.short_message.data(), len);
  }
  void dests(uint8_t& n, dad_t*& head) {
    n = p_.dest_addresses.size();
    dad_t** link = &head;
    for (const dest_address d : p_.dest_addresses) {
      dad_t& node = dads_.emplace_back();
      node.dest_flag = d.dest_flag;
      uint8_t* addr = node.value.dl_name;
      if (d.dest_flag == DFID_SME_Address) {
        node.value.sme.dest_addr_ton = d.dest_addr_ton;
        node.value.sme.dest_addr_npi = d.dest_addr_npi;
        addr = node.value.sme.destination_addr;
      }
      std::memcpy(addr, d.destination_addr.data(), d.destination_addr.size());
      *link = &node;
      link = &node.next;
    }
  }
  void unsuccess(uint8_t& n, udad_t*& head) {
    n = p_.unsuccess_smes.size();
    udad_t** link = &head;
    for (const unsuccess_sme u : p_.unsuccess_smes) {
      udad_t& node = udads_.emplace_back();
      node.dest_addr_ton = u.dest_addr_ton;
      node.dest_addr_npi = u.dest_addr_npi;
      std::memcpy(node.destination_addr, u.destination_addr.data(), u.destination_addr.size());
      node.error_status_code = u.error_status_code;
      *link = &node;
      link = &node.next;
    }
  }
  void tlvs(tlv_t*& head) {
    tlv_t** link = &head;
    for (const tlv x : p_.tlvs) {
      tlv_t& node = tlvs_.emplace_back();
      node.tag = x.tag;
      node.length = static_cast<uint16_t>(x.value.size());
      switch (storage_of(static_cast<uint32_t>(p_.id), x.tag)) {
        case tlv_storage::u8:
          node.value.val08 = static_cast<uint8_t>(x.as_uint());
          break;
        case tlv_storage::u16:
          node.value.val16 = static_cast<uint16_t>(x.as_uint());
          break;
        case tlv_storage::u32:
          node.value.val32 = x.as_uint();
          break;
        case tlv_storage::octets:
          if (!x.value.empty()) std::memcpy(node.value.octet, x.value.data(), x.value.size());
          break;
      }
      *link = &node;
      link = &node.next;
    }
  }

 private:
  const field_desc* find(std::string_view name) {
    for (const field_desc& f : pdu_layout(p_.id)) {
      if (f.name == name) return &f;
    }
    ADD_FAILURE() << "libsmpp34 field " << name << " has no counterpart in our layout of "
                  << command_name(p_.id);
    return nullptr;
  }
  const pdu& p_;
  // Nodes the struct's lists point into; deques keep their addresses stable.
  std::deque<dad_t> dads_;
  std::deque<udad_t> udads_;
  std::deque<tlv_t> tlvs_;
};

struct unpack_result {
  bool known = false;  // libsmpp34 has a struct for this command
  int rc = -1;         // smpp34_unpack's return
  std::string log;     // smpp34_strerror after the call: its per-field trace, or the error
  field_list fields;
};

unpack_result libsmpp34_unpack(std::span<const std::byte> bytes) {
  unpack_result r;
  const uint32_t command = peek_header(bytes.data()).command_id;
  r.known = with_struct(command, [&](auto& t) {
    r.rc = smpp34_unpack(command, &t, reinterpret_cast<const uint8_t*>(bytes.data()),
                         static_cast<int>(bytes.size()));
    r.log = smpp34_strerror;
    if (r.rc == 0) {
      flattener f(command);
      f.header(t);
      visit_body(f, t);
      r.fields = std::move(f.fields);
    }
    destroy_lists(t);
  });
  return r;
}

struct pack_result {
  int rc = -1;
  std::string log;
  std::vector<std::byte> bytes;
};

pack_result libsmpp34_pack(const pdu& p) {
  pack_result r;
  const auto command = static_cast<uint32_t>(p.id);
  with_struct(command, [&](auto& t) {
    filler f(p);
    f.header(t);
    visit_body(f, t);
    std::vector<uint8_t> buf(70000);
    int len = 0;
    r.rc = smpp34_pack(command, buf.data(), static_cast<int>(buf.size()), &len, &t);
    r.log = smpp34_strerror;
    if (r.rc == 0) {
      r.bytes.resize(static_cast<size_t>(len));
      std::memcpy(r.bytes.data(), buf.data(), r.bytes.size());
    }
  });
  return r;
}

// smpp34_unpack leaks the list node it is filling when that node fails to parse (it is linked
// into the list only after a successful parse). Where a failure is the expected outcome, the
// leak is libsmpp34's, and LeakSanitizer is told to ignore it.
unpack_result unpack_expecting_failure(std::span<const std::byte> bytes) {
#if defined(__SANITIZE_ADDRESS__)
  __lsan::ScopedDisabler libsmpp34_leaks_on_error;
#endif
  return libsmpp34_unpack(bytes);
}

// The trace smpp34_(un)pack writes into the global smpp34_strerror[2048] grows with the PDU and
// is not bounded correctly (PUTLOG lets the remaining size go negative); stay well below it.
constexpr size_t kLogLimit = 1800;

// ---------------------------------------------------------------------------------------------

struct corpus_stats {
  size_t compared = 0;
  size_t packed = 0;
  size_t fields = 0;
  size_t tlvs = 0;
  size_t max_log = 0;
  std::map<uint32_t, size_t> per_command;
  std::array<size_t, kAdaptationNames.size()> adaptations{};
};

TEST(LibSmpp34Diff, RandomPdusAgreeFieldByFieldBothWays) {
  const size_t n = env_size("SMPP_INTEROP_PDUS", kDefaultPdus);
  const uint64_t seed = env_size("SMPP_INTEROP_SEED", kDefaultSeed);
  const auto t0 = std::chrono::steady_clock::now();
  // SMPP 3.4 only: libsmpp34 knows no SMPP 5.0 command or TLV.
  pdu_generator gen(seed, {.tlvs = true, .vendor_tlvs = true, .smpp50 = false});
  corpus_stats st;
  size_t failures = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::vector<std::byte> original = gen.make();
    ASSERT_FALSE(original.empty());
    const adapted_pdu a = adapt(original);
    for (size_t k = 0; k < kAdaptationNames.size(); ++k)
      st.adaptations[k] += (a.adaptations >> k) & 1;

    pdu ours;
    ASSERT_TRUE(decode(a.bytes, ours).ok()) << to_hex(a.bytes);
    const field_list expected = flatten_ours(ours, a.bytes.size());

    // Their decode of our bytes.
    const unpack_result u = libsmpp34_unpack(a.bytes);
    st.max_log = std::max(st.max_log, u.log.size());
    ASSERT_LT(u.log.size(), kLogLimit)
        << "libsmpp34 trace near its buffer size; PDU " << to_hex(a.bytes);
    const std::vector<std::string> d1 =
        u.rc == 0 ? diff_fields(expected, u.fields) : std::vector<std::string>{};
    if (!u.known || u.rc != 0 || !d1.empty()) {
      if (++failures <= 10) {
        ADD_FAILURE() << command_name(ours.id) << " PDU " << to_hex(a.bytes) << "\n"
                      << (u.known ? "" : "libsmpp34 has no struct for it\n")
                      << (u.rc != 0 ? "smpp34_unpack failed: " + u.log + "\n" : "")
                      << ::testing::PrintToString(d1);
      }
      continue;
    }

    // Their encode of our decode: the same octets, and the same fields once we decode them.
    const pack_result pk = libsmpp34_pack(ours);
    st.max_log = std::max(st.max_log, pk.log.size());
    ASSERT_LT(pk.log.size(), kLogLimit) << "libsmpp34 trace near its buffer size";
    pdu back;
    const bool same = pk.rc == 0 && pk.bytes == a.bytes && decode(pk.bytes, back).ok() &&
                      flatten_ours(back, pk.bytes.size()) == expected;
    if (!same) {
      if (++failures <= 10) {
        ADD_FAILURE() << command_name(ours.id)
                      << ": smpp34_pack disagrees\n ours:      " << to_hex(a.bytes)
                      << "\n libsmpp34: " << to_hex(pk.bytes) << "\n"
                      << (pk.rc != 0 ? "smpp34_pack failed: " + pk.log : "");
      }
      continue;
    }
    ++st.compared;
    ++st.packed;
    st.fields += expected.size();
    st.tlvs += static_cast<size_t>(std::distance(ours.tlvs.begin(), ours.tlvs.end()));
    ++st.per_command[static_cast<uint32_t>(ours.id)];
  }
  EXPECT_EQ(failures, 0U);
  EXPECT_GE(st.compared, std::min(n, kRequiredPdus));
  // Every SMPP 3.4 command was exercised.
  EXPECT_EQ(st.per_command.size(), 27U);

  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "libsmpp34: %zu PDUs (seed %#llx) agreed field by field both ways: %zu fields, %zu TLVs, "
      "%zu commands, %.0f ms; longest smpp34_strerror trace %zu\n",
      st.compared, static_cast<unsigned long long>(seed), st.fields, st.tlvs, st.per_command.size(),
      ms, st.max_log);
  for (size_t k = 0; k < kAdaptationNames.size(); ++k) {
    std::printf("  adapted %6zu x %s\n", st.adaptations[k], kAdaptationNames[k]);
  }
}

// Each adaptation guards against a real libsmpp34 limitation: the same PDU with every
// adaptation but that one is rejected by smpp34_unpack, with all of them it is accepted.
TEST(LibSmpp34Limits, EachDocumentedLimitationIsReal) {
  pdu_generator gen(7, {.tlvs = true, .vendor_tlvs = false, .smpp50 = false});
  std::array<size_t, kAdaptationNames.size()> proven{};
  for (int i = 0; i < 5000; ++i) {
    const std::vector<std::byte> original = gen.make();
    const adapted_pdu all = adapt(original);
    for (size_t k = 0; k < proven.size(); ++k) {
      const unsigned bit = 1U << k;
      if ((all.adaptations & bit) == 0 || proven[k] >= 5) continue;
      const adapted_pdu without = adapt(original, ~bit);
      const unpack_result rejected = unpack_expecting_failure(without.bytes);
      const unpack_result accepted = libsmpp34_unpack(all.bytes);
      EXPECT_NE(rejected.rc, 0) << kAdaptationNames[k] << ": libsmpp34 decodes "
                                << to_hex(without.bytes);
      EXPECT_EQ(accepted.rc, 0) << kAdaptationNames[k] << ": " << accepted.log;
      ++proven[k];
    }
  }
  for (size_t k = 0; k < proven.size(); ++k) {
    EXPECT_EQ(proven[k], 5U) << "too few samples for " << kAdaptationNames[k];
  }
}

// The comparison can fail: changing any single field of our side is reported.
TEST(LibSmpp34Diff, CorruptingAnyFieldOfOursIsDetected) {
  pdu_generator gen(99, {.tlvs = true, .vendor_tlvs = true, .smpp50 = false});
  size_t mutations = 0;
  for (int i = 0; i < 300; ++i) {
    const adapted_pdu a = adapt(gen.make());
    pdu ours;
    ASSERT_TRUE(decode(a.bytes, ours).ok());
    const field_list expected = flatten_ours(ours, a.bytes.size());
    const unpack_result u = libsmpp34_unpack(a.bytes);
    ASSERT_EQ(u.rc, 0) << u.log;
    ASSERT_TRUE(diff_fields(expected, u.fields).empty());
    for (size_t f = 0; f < expected.size(); ++f) {
      field_list corrupted = expected;
      corrupted[f].value += "x";
      EXPECT_FALSE(diff_fields(corrupted, u.fields).empty()) << expected[f].name;
      ++mutations;
    }
  }
  EXPECT_GT(mutations, 1000U);
}

// And at the PDU level: a decode of ours that differs in one octet of a field disagrees with
// what libsmpp34 unpacked from the original.
TEST(LibSmpp34Diff, CorruptedDecodeOfOursIsDetected) {
  pdu_generator gen(5, {.tlvs = false, .vendor_tlvs = false, .smpp50 = false});
  const adapted_pdu a = adapt(gen.make(command_id::submit_sm));
  pdu ours;
  ASSERT_TRUE(decode(a.bytes, ours).ok());
  std::string changed(ours.source_addr);
  changed += changed.empty() ? "1" : "";
  changed[0] = changed[0] == '1' ? '2' : '1';
  ours.source_addr = changed;
  const unpack_result u = libsmpp34_unpack(a.bytes);
  ASSERT_EQ(u.rc, 0) << u.log;
  const std::vector<std::string> d = diff_fields(flatten_ours(ours, a.bytes.size()), u.fields);
  ASSERT_EQ(d.size(), 1U) << ::testing::PrintToString(d);
  EXPECT_NE(d[0].find("source_addr"), std::string::npos) << d[0];
}

}  // namespace
}  // namespace smpp::interop
