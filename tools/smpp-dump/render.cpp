#include "render.hpp"

#include <cinttypes>

#include "json.hpp"
#include "smpp/codec/codec.hpp"
#include "smpp/codec/text.hpp"

namespace smpp::dump {
namespace {

using codec::bytes_view;

void put_origin(json_line& j, const origin& where) {
  if (!where.from_capture) return;
  char ts[48];
  std::snprintf(ts, sizeof ts, "%" PRId64 ".%06" PRIu32, where.ts_sec, where.ts_usec);
  j.key("ts").raw_number(ts);
  j.key("src").string(where.src);
  j.key("dst").string(where.dst);
}

// The spec's name of a command, or its value in hex for an id no specification defines.
void put_command_id(json_line& j, uint32_t id) {
  const std::string_view name = codec::command_name(static_cast<codec::command_id>(id));
  if (!name.empty()) {
    j.key("command_id").string(name);
    return;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08" PRIx32, id);
  j.key("command_id").string(buf);
}

std::string status_text(uint32_t status) {
  const std::string_view name = codec::status_name(static_cast<codec::command_status>(status));
  if (!name.empty()) return std::string(name);
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08" PRIx32, status);
  return buf;
}

// Text of a short_message or message_payload in the coding data_coding names (SMPP 3.4
// §5.2.19). With UDHI set (§5.2.12) the octets start with a User Data Header (TS 23.040
// §9.2.3.24), which is shown apart and not decoded as text.
void put_text(json_line& j, std::string_view text_key, uint8_t data_coding, uint8_t esm_class,
              bytes_view octets) {
  if ((esm_class & codec::esm_class_udhi) != 0 && !octets.empty()) {
    const size_t udh_size = 1 + std::to_integer<size_t>(octets[0]);  // UDHL + the header
    if (udh_size > octets.size()) return;
    j.key("udh").hex(octets.first(udh_size));
    octets = octets.subspan(udh_size);
  }
  const codec::data_coding_info info = codec::parse_data_coding(data_coding);
  if (info.compressed) return;
  switch (info.coding) {
    case codec::text_coding::gsm7:
    case codec::text_coding::ia5:
    case codec::text_coding::latin1:
    case codec::text_coding::ucs2: {
      const codec::string_result r = codec::to_utf8_string(info.coding, octets);
      if (r.status == codec::text_status::ok) j.key(text_key).string(r.text);
      return;
    }
    case codec::text_coding::binary:
    case codec::text_coding::unsupported:
      return;
  }
}

void put_field(json_line& j, const codec::pdu& p, const codec::field_desc& f) {
  switch (f.kind) {
    case codec::field_kind::u8:
      j.key(f.name).number(p.*f.u8);
      return;
    case codec::field_kind::cstring:
    case codec::field_kind::time:
      j.key(f.name).string(p.*f.str);
      return;
    case codec::field_kind::sm:
      // SMPP 3.4 §5.2.21: sm_length is the octet count of short_message.
      j.key("sm_length").number(p.short_message.size());
      j.key("short_message").hex(p.short_message);
      put_text(j, "short_message_text", p.data_coding, p.esm_class, p.short_message);
      return;
    case codec::field_kind::dest_list:
      // SMPP 3.4 §4.5.1.1: an SME address (dest_flag 1) or a distribution list name (2).
      j.key("number_of_dests").number(p.dest_addresses.size());
      j.key("dest_addresses").begin_array();
      for (const codec::dest_address d : p.dest_addresses) {
        j.begin_object();
        j.key("dest_flag").number(d.dest_flag);
        if (d.dest_flag == codec::dest_flag_sme_address) {
          j.key("dest_addr_ton").number(d.dest_addr_ton);
          j.key("dest_addr_npi").number(d.dest_addr_npi);
          j.key("destination_addr").string(d.destination_addr);
        } else {
          j.key("dl_name").string(d.destination_addr);
        }
        j.end_object();
      }
      j.end_array();
      return;
    case codec::field_kind::unsuccess:
      // SMPP 3.4 §4.5.2
      j.key("no_unsuccess").number(p.unsuccess_smes.size());
      j.key("unsuccess_smes").begin_array();
      for (const codec::unsuccess_sme u : p.unsuccess_smes) {
        j.begin_object();
        j.key("dest_addr_ton").number(u.dest_addr_ton);
        j.key("dest_addr_npi").number(u.dest_addr_npi);
        j.key("destination_addr").string(u.destination_addr);
        j.key("error_status_code").number(u.error_status_code);
        j.end_object();
      }
      j.end_array();
      return;
  }
}

void put_tlv(json_line& j, const codec::pdu& p, const codec::tlv& t) {
  j.begin_object();
  j.key("tag").number(t.tag);
  const codec::tlv_info* info = codec::find_tlv_info(t.tag);
  j.key("name");
  if (info != nullptr) {
    j.string(info->name);
  } else {
    j.null();
  }
  j.key("length").number(t.value.size());
  const codec::tlv_type type = info != nullptr ? info->type : codec::tlv_type::octets;
  switch (type) {
    case codec::tlv_type::int1:
    case codec::tlv_type::int2:
    case codec::tlv_type::int4:
      if (!t.value.empty() && t.value.size() <= 4) {
        j.key("value").number(t.as_uint());
      } else {
        j.key("value").hex(t.value);
      }
      break;
    case codec::tlv_type::cstring:
      j.key("value").string(t.as_cstring());
      break;
    case codec::tlv_type::octets:
      j.key("value").hex(t.value);
      break;
    case codec::tlv_type::empty:
      break;
  }
  // SMPP 3.4 §5.3.2.32: message_payload carries the text instead of short_message.
  if (t.tag == codec::tag::message_payload) {
    put_text(j, "text", p.data_coding, p.esm_class, t.value);
  }
  j.end_object();
}

void put_pdu(json_line& j, bytes_view frame, const codec::pdu& p) {
  const codec::pdu_header h = codec::peek_header(frame.data());
  j.key("command_length").number(h.command_length);
  put_command_id(j, h.command_id);
  j.key("command_status").number(h.command_status);
  j.key("sequence_number").number(h.sequence_number);
  if (!p.body_absent) {
    for (const codec::field_desc& f : codec::pdu_layout(p.id)) put_field(j, p, f);
  }
  j.key("tlvs").begin_array();
  for (const codec::tlv t : p.tlvs) put_tlv(j, p, t);
  j.end_array();
}

void put_decode_error(json_line& j, bytes_view frame, const codec::decode_error& err) {
  std::string text = status_text(static_cast<uint32_t>(err.status));
  if (!err.field.empty()) text.append(" (").append(err.field).append(")");
  j.key("error").string(text);
  j.key("command_status").number(static_cast<uint32_t>(err.status));
  if (frame.size() >= codec::header_size) {
    const codec::pdu_header h = codec::peek_header(frame.data());
    j.key("command_length").number(h.command_length);
    put_command_id(j, h.command_id);
    j.key("sequence_number").number(h.sequence_number);
  }
  j.key("offset").number(err.offset);
  j.key("hex").hex(frame);
}

}  // namespace

void emitter::frame(bytes_view frame, const origin& where) {
  codec::pdu p;
  const codec::decode_error err = codec::decode(frame, p);
  json_line j;
  put_origin(j, where);
  if (err) {
    ++malformed_;
    put_decode_error(j, frame, err);
  } else {
    put_pdu(j, frame, p);
  }
  write(j.finish());
}

void emitter::problem(const input_problem& prob, const origin& where) {
  ++malformed_;
  json_line j;
  put_origin(j, where);
  j.key("error").string(prob.text);
  if (prob.command_status) j.key("command_status").number(*prob.command_status);
  if (prob.sequence_number) j.key("sequence_number").number(*prob.sequence_number);
  write(j.finish());
}

void emitter::write(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), out_);
}

}  // namespace smpp::dump
