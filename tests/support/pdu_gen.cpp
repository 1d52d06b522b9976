#include "pdu_gen.hpp"

#include <array>
#include <cstdio>

namespace smpp::testing {

using codec::command_id;
using namespace codec;

std::span<const command_id> pdu_generator::all_commands() {
  static constexpr std::array kAll = {
      command_id::generic_nack,
      command_id::bind_receiver,
      command_id::bind_receiver_resp,
      command_id::bind_transmitter,
      command_id::bind_transmitter_resp,
      command_id::query_sm,
      command_id::query_sm_resp,
      command_id::submit_sm,
      command_id::submit_sm_resp,
      command_id::deliver_sm,
      command_id::deliver_sm_resp,
      command_id::unbind,
      command_id::unbind_resp,
      command_id::replace_sm,
      command_id::replace_sm_resp,
      command_id::cancel_sm,
      command_id::cancel_sm_resp,
      command_id::bind_transceiver,
      command_id::bind_transceiver_resp,
      command_id::outbind,
      command_id::enquire_link,
      command_id::enquire_link_resp,
      command_id::submit_multi,
      command_id::submit_multi_resp,
      command_id::alert_notification,
      command_id::data_sm,
      command_id::data_sm_resp,
      command_id::broadcast_sm,
      command_id::broadcast_sm_resp,
      command_id::query_broadcast_sm,
      command_id::query_broadcast_sm_resp,
      command_id::cancel_broadcast_sm,
      command_id::cancel_broadcast_sm_resp,
  };
  return kAll;
}

std::string pdu_generator::rand_string(size_t max_len_with_nul) {
  static constexpr std::string_view kChars =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+-_.";
  const size_t n = rng_() % max_len_with_nul;  // 0 .. max-1 characters
  std::string s(n, ' ');
  for (auto& c : s) c = kChars[rng_() % kChars.size()];
  return s;
}

std::string pdu_generator::rand_time() {
  if (rng_() % 3 == 0) return {};
  char buf[17];
  const bool relative = rng_() % 4 == 0;
  std::snprintf(buf, sizeof buf, "%02u%02u%02u%02u%02u%02u%u%02u%c",
                static_cast<unsigned>(rng_() % 100), static_cast<unsigned>(1 + rng_() % 12),
                static_cast<unsigned>(1 + rng_() % 28), static_cast<unsigned>(rng_() % 24),
                static_cast<unsigned>(rng_() % 60), static_cast<unsigned>(rng_() % 60),
                static_cast<unsigned>(rng_() % 10), static_cast<unsigned>(rng_() % 49),
                relative ? 'R' : (rng_() % 2 ? '+' : '-'));
  if (relative) {
    // SMPP 3.4 §7.1.2: relative times carry "000R" as the last four characters.
    buf[12] = '0';
    buf[13] = '0';
    buf[14] = '0';
  }
  return std::string(buf, 16);
}

std::vector<std::byte> pdu_generator::rand_tlvs(command_id id, bool has_sm) {
  std::vector<std::byte> out(8192);
  tlv_writer w(out);
  auto tlv_ok = [&](const tlv_info& i) {
    if (!opt_.smpp50 && (i.tag == tag::congestion_state || (i.tag >= 0x0600 && i.tag <= 0x0613) ||
                         i.tag == tag::alert_on_message_delivery || i.tag == tag::ms_validity)) {
      return false;
    }
    if (i.tag == tag::message_payload && has_sm) return false;
    return true;
  };
  const auto all = standard_tlvs();
  const unsigned n = opt_.tlvs ? static_cast<unsigned>(rng_() % 5) : 0;
  for (unsigned k = 0; k < n; ++k) {
    const tlv_info& i = all[rng_() % all.size()];
    if (!tlv_ok(i)) continue;
    switch (i.type) {
      case tlv_type::int1:
        (void)w.add_uint(i.tag, u8(), 1);
        break;
      case tlv_type::int2:
        (void)w.add_uint(i.tag, static_cast<uint32_t>(rng_() & 0xFFFF), 2);
        break;
      case tlv_type::int4:
        (void)w.add_uint(i.tag, static_cast<uint32_t>(rng_()), 4);
        break;
      case tlv_type::cstring:
        (void)w.add_cstring(
            i.tag, i.tag == tag::broadcast_end_time ? rand_time() : rand_string(i.max_len));
        break;
      case tlv_type::octets:
      case tlv_type::empty: {
        const size_t max = std::min<size_t>(i.max_len, 300);
        size_t len = i.min_len + (max > i.min_len ? rng_() % (max - i.min_len + 1) : 0);
        if (i.tag == tag::ms_validity) len = rng_() % 2 ? 1 : 4;
        std::vector<std::byte> v(len);
        for (auto& b : v) b = static_cast<std::byte>(rng_());
        (void)w.add(i.tag, v);
        break;
      }
    }
  }
  if (opt_.vendor_tlvs && rng_() % 4 == 0) {
    std::vector<std::byte> v(rng_() % 12);
    for (auto& b : v) b = static_cast<std::byte>(rng_());
    (void)w.add(static_cast<uint16_t>(0x1400 + rng_() % 0x2C00), v);
  }
  if (id == command_id::broadcast_sm) {
    const std::byte area[] = {std::byte{0}, std::byte{0x12}, std::byte{0x34}};
    (void)w.add(tag::broadcast_area_identifier, area);
    const std::byte ct[] = {std::byte{1}, std::byte{0}, std::byte{0}};
    (void)w.add(tag::broadcast_content_type, ct);
    (void)w.add_uint(tag::broadcast_rep_num, static_cast<uint32_t>(1 + rng_() % 100), 2);
    const std::byte fi[] = {std::byte{8}, std::byte{0}, std::byte{5}};
    (void)w.add(tag::broadcast_frequency_interval, fi);
  }
  if (id == command_id::query_broadcast_sm_resp) {
    (void)w.add_uint(tag::message_state, static_cast<uint32_t>(1 + rng_() % 9), 1);
    const std::byte area[] = {std::byte{0}, std::byte{0x42}};
    (void)w.add(tag::broadcast_area_identifier, area);
    (void)w.add_uint(tag::broadcast_area_success, static_cast<uint32_t>(rng_() % 101), 1);
  }
  out.resize(w.needed());
  return out;
}

std::vector<std::byte> pdu_generator::make() {
  const auto all = all_commands();
  for (;;) {
    const command_id id = all[rng_() % all.size()];
    if (!opt_.smpp50 && (id >= command_id::broadcast_sm && id <= command_id::cancel_broadcast_sm)) {
      continue;
    }
    if (!opt_.smpp50 && static_cast<uint32_t>(id) >= 0x80000111U) continue;
    return make(id);
  }
}

std::vector<std::byte> pdu_generator::make(command_id id) {
  pdu p;
  p.id = id;
  p.sequence_number = static_cast<uint32_t>(1 + rng_() % 0x7FFFFFFF);
  if (is_response(id)) {
    p.status = rng_() % 8 == 0 ? command_status::ESME_RTHROTTLED : command_status::ESME_ROK;
  }
  // Backing storage for the string views of this PDU.
  std::vector<std::string> strs;
  strs.reserve(64);
  std::vector<std::byte> sm, lists, tlvs;
  bool has_sm = false;
  for (const field_desc& f : pdu_layout(id)) {
    switch (f.kind) {
      case field_kind::u8:
        p.*f.u8 = u8();
        break;
      case field_kind::cstring:
        p.*f.str = strs.emplace_back(rand_string(f.max_len));
        break;
      case field_kind::time:
        p.*f.str = strs.emplace_back(rand_time());
        break;
      case field_kind::sm: {
        const size_t len = rng_() % 4 == 0 ? 0 : rng_() % 161;
        sm.resize(len);
        for (auto& b : sm) b = static_cast<std::byte>(rng_());
        p.short_message = sm;
        has_sm = len > 0;
        break;
      }
      case field_kind::dest_list: {
        const unsigned n = 1 + static_cast<unsigned>(rng_() % 5);
        lists.resize(n * 32);
        size_t at = 0;
        for (unsigned i = 0; i < n; ++i) {
          dest_address d;
          d.dest_flag = rng_() % 4 == 0 ? dest_flag_distribution_list : dest_flag_sme_address;
          d.dest_addr_ton = d.dest_flag == dest_flag_sme_address ? u8() : 0;
          d.dest_addr_npi = d.dest_flag == dest_flag_sme_address ? u8() : 0;
          d.destination_addr = strs.emplace_back(rand_string(21));
          at += write_dest_address(d, std::span(lists).subspan(at));
        }
        lists.resize(at);
        p.dest_addresses = dest_address_list(static_cast<uint8_t>(n), lists);
        break;
      }
      case field_kind::unsuccess: {
        const unsigned n = static_cast<unsigned>(rng_() % 4);
        lists.resize(n * 32);
        size_t at = 0;
        for (unsigned i = 0; i < n; ++i) {
          unsuccess_sme u{u8(), u8(), strs.emplace_back(rand_string(21)),
                          static_cast<uint32_t>(rng_() % 0x113)};
          at += write_unsuccess_sme(u, std::span(lists).subspan(at));
        }
        lists.resize(at);
        p.unsuccess_smes = unsuccess_sme_list(static_cast<uint8_t>(n), lists);
        break;
      }
    }
  }
  tlvs = rand_tlvs(id, has_sm);
  p.tlvs = tlv_area(tlvs);
  std::vector<std::byte> out(64 * 1024);
  const encode_result r = encode(p, out);
  out.resize(r.ok(out.size()) ? r.needed : 0);
  return out;
}

std::string to_hex(std::span<const std::byte> b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (std::byte x : b) {
    s.push_back(kHex[std::to_integer<unsigned>(x) >> 4]);
    s.push_back(kHex[std::to_integer<unsigned>(x) & 15]);
  }
  return s;
}

std::vector<std::byte> from_hex(std::string_view hex) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::byte> out;
  out.reserve(hex.size() / 2);
  int hi = -1;
  for (char c : hex) {
    const int v = nib(c);
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

}  // namespace smpp::testing
