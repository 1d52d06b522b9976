// Decode and encode of every SMPP 3.4 / 5.0 PDU through the layout tables.
#include "smpp/codec/codec.hpp"

#include <cstring>

namespace smpp::codec {
namespace {

using S = command_status;

// Length of the C-Octet String at p (without its NUL), or -1 when no NUL is found within
// max_len octets or before end (SMPP 3.4 §3.1: the terminator is part of max_len).
inline ptrdiff_t cstring_len(const std::byte* p, const std::byte* end, size_t max_len) noexcept {
  const size_t avail = static_cast<size_t>(end - p);
  const size_t limit = avail < max_len ? avail : max_len;
  const void* nul = std::memchr(p, 0, limit);
  return nul == nullptr ? -1 : static_cast<const std::byte*>(nul) - p;
}

// SMPP 3.4 §7.1.1: "YYMMDDhhmmsstnnp", p one of '+', '-' (absolute) or 'R' (relative).
bool valid_time(std::string_view s) noexcept {
  if (s.empty()) return true;
  if (s.size() != 16) return false;
  for (size_t i = 0; i < 15; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return s[15] == '+' || s[15] == '-' || s[15] == 'R';
}

// Walks count list entries starting at p; returns the end or nullptr with err set.
const std::byte* scan_dest_list(const std::byte* p, const std::byte* end, unsigned count,
                                decode_error& err) noexcept {
  for (unsigned i = 0; i < count; ++i) {
    if (p >= end) {
      err = {S::ESME_RINVCMDLEN, "dest_address", 0};
      return nullptr;
    }
    const auto flag = std::to_integer<uint8_t>(*p++);
    if (flag == dest_flag_sme_address) {
      if (end - p < 2) {
        err = {S::ESME_RINVCMDLEN, "dest_address", 0};
        return nullptr;
      }
      p += 2;  // dest_addr_ton, dest_addr_npi
      const ptrdiff_t n = cstring_len(p, end, 21);
      if (n < 0) {
        err = {S::ESME_RINVDSTADR, "destination_addr", 0};
        return nullptr;
      }
      p += n + 1;
    } else if (flag == dest_flag_distribution_list) {
      const ptrdiff_t n = cstring_len(p, end, 21);
      if (n < 0) {
        err = {S::ESME_RINVDLNAME, "dl_name", 0};
        return nullptr;
      }
      p += n + 1;
    } else {
      err = {S::ESME_RINVDESTFLAG, "dest_flag", 0};
      return nullptr;
    }
  }
  return p;
}

const std::byte* scan_unsuccess_list(const std::byte* p, const std::byte* end, unsigned count,
                                     decode_error& err) noexcept {
  for (unsigned i = 0; i < count; ++i) {
    if (end - p < 2) {
      err = {S::ESME_RINVCMDLEN, "unsuccess_sme", 0};
      return nullptr;
    }
    p += 2;
    const ptrdiff_t n = cstring_len(p, end, 21);
    if (n < 0) {
      err = {S::ESME_RINVDSTADR, "destination_addr", 0};
      return nullptr;
    }
    p += n + 1;
    if (end - p < 4) {
      err = {S::ESME_RINVCMDLEN, "error_status_code", 0};
      return nullptr;
    }
    p += 4;
  }
  return p;
}

// Validates the TLV stream (SMPP 3.4 §3.2.4, §5.3): framing, standard lengths, C-Octet values.
decode_error check_tlvs(const std::byte* p, const std::byte* end, bool& has_payload) noexcept {
  while (p < end) {
    if (end - p < 4) return {S::ESME_RINVTLVSTREAM, "tlv", 0};
    const uint16_t t = load_be16(p);
    const uint16_t len = load_be16(p + 2);
    if (len > end - p - 4) return {S::ESME_RINVTLVSTREAM, "tlv", 0};
    if (const tlv_info* info = find_tlv_info(t)) {
      if (len < info->min_len || len > info->max_len) return {S::ESME_RINVTLVLEN, info->name, 0};
      if (info->type == tlv_type::cstring) {
        // The value is one C-Octet String: its only NUL is the last octet.
        if (std::memchr(p + 4, 0, len) != p + 4 + len - 1) return {S::ESME_RINVTLVVAL, info->name, 0};
      }
      // SMPP 5.0 §4.8.4.39: ms_validity is 1 or 4 octets; §4.8.4.10: broadcast_end_time is a
      // time in the §7.1 format.
      if (t == tag::ms_validity && len != 1 && len != 4) return {S::ESME_RINVTLVLEN, info->name, 0};
      if (t == tag::broadcast_end_time &&
          !valid_time(std::string_view(reinterpret_cast<const char*>(p + 4), len - 1u))) {
        return {S::ESME_RINVTLVVAL, info->name, 0};
      }
      if (t == tag::message_payload) has_payload = true;
    }
    p += 4 + len;
  }
  return {};
}

// SMPP 5.0 §4.4.1.1 / §4.6.1.2: TLVs these PDUs must carry.
decode_error check_mandatory_tlvs(const pdu& out) noexcept {
  auto need = [&](std::initializer_list<uint16_t> tags) -> decode_error {
    for (uint16_t t : tags) {
      if (!out.tlvs.find(t)) return {S::ESME_RMISSINGTLV, find_tlv_info(t)->name, 0};
    }
    return {};
  };
  if (out.id == command_id::broadcast_sm) {
    return need({tag::broadcast_area_identifier, tag::broadcast_content_type,
                 tag::broadcast_rep_num, tag::broadcast_frequency_interval});
  }
  if (out.id == command_id::query_broadcast_sm_resp && out.status == S::ESME_ROK &&
      !out.body_absent) {
    return need({tag::message_state, tag::broadcast_area_identifier, tag::broadcast_area_success});
  }
  return {};
}

}  // namespace

template <>
dest_address dest_address_list::iterator::operator*() const noexcept {
  dest_address d;
  d.dest_flag = std::to_integer<uint8_t>(p_[0]);
  const char* s;
  if (d.dest_flag == dest_flag_sme_address) {
    d.dest_addr_ton = std::to_integer<uint8_t>(p_[1]);
    d.dest_addr_npi = std::to_integer<uint8_t>(p_[2]);
    s = reinterpret_cast<const char*>(p_ + 3);
  } else {
    s = reinterpret_cast<const char*>(p_ + 1);
  }
  d.destination_addr = std::string_view(s);  // validated: NUL-terminated within the frame
  return d;
}

template <>
dest_address_list::iterator& dest_address_list::iterator::operator++() noexcept {
  const dest_address d = **this;
  p_ += (d.dest_flag == dest_flag_sme_address ? 3 : 1) + d.destination_addr.size() + 1;
  --left_;
  return *this;
}

template <>
unsuccess_sme unsuccess_sme_list::iterator::operator*() const noexcept {
  unsuccess_sme u;
  u.dest_addr_ton = std::to_integer<uint8_t>(p_[0]);
  u.dest_addr_npi = std::to_integer<uint8_t>(p_[1]);
  u.destination_addr = std::string_view(reinterpret_cast<const char*>(p_ + 2));
  u.error_status_code = load_be32(p_ + 2 + u.destination_addr.size() + 1);
  return u;
}

template <>
unsuccess_sme_list::iterator& unsuccess_sme_list::iterator::operator++() noexcept {
  p_ += 2 + std::strlen(reinterpret_cast<const char*>(p_ + 2)) + 1 + 4;
  --left_;
  return *this;
}

decode_error decode(bytes_view frame, pdu& out) noexcept {
  out = pdu{};
  if (frame.size() < header_size) return {S::ESME_RINVCMDLEN, "command_length", 0};
  const std::byte* const base = frame.data();
  const pdu_header h = peek_header(base);
  out.id = static_cast<command_id>(h.command_id);
  out.status = static_cast<command_status>(h.command_status);
  out.sequence_number = h.sequence_number;
  // SMPP 3.4 §3.2: command_length counts the whole PDU including itself.
  if (h.command_length != frame.size()) return {S::ESME_RINVCMDLEN, "command_length", 0};
  if (!is_known_command(h.command_id)) return {S::ESME_RINVCMDID, "command_id", 4};

  const std::span<const field_desc> layout = pdu_layout(out.id);
  const std::byte* p = base + header_size;
  const std::byte* const end = base + frame.size();
  if (p == end && !layout.empty() && is_response(out.id)) {
    out.body_absent = true;  // SMPP 3.4 §3.3: error responses may omit the body
    return {};
  }

  auto at = [&](const std::byte* q) { return static_cast<uint32_t>(q - base); };
  for (const field_desc& f : layout) {
    if (p >= end) return {S::ESME_RINVCMDLEN, f.name, at(p)};
    switch (f.kind) {
      case field_kind::u8:
        out.*f.u8 = std::to_integer<uint8_t>(*p++);
        break;
      case field_kind::cstring:
      case field_kind::time: {
        const ptrdiff_t n = cstring_len(p, end, f.max_len);
        if (n < 0) return {f.status, f.name, at(p)};
        const std::string_view s(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
        if (f.kind == field_kind::time && !valid_time(s)) return {f.status, f.name, at(p)};
        out.*f.str = s;
        p += n + 1;
        break;
      }
      case field_kind::sm: {
        // SMPP 3.4 §5.2.21: sm_length 0..254, and it must fit in the PDU.
        const auto len = std::to_integer<uint8_t>(*p++);
        if (len > 254 || len > end - p) return {S::ESME_RINVMSGLEN, "sm_length", at(p - 1)};
        out.short_message = bytes_view(p, len);
        p += len;
        break;
      }
      case field_kind::dest_list: {
        const auto count = std::to_integer<uint8_t>(*p++);
        if (count == 0) return {S::ESME_RINVNUMDESTS, "number_of_dests", at(p - 1)};
        decode_error err;
        const std::byte* q = scan_dest_list(p, end, count, err);
        if (q == nullptr) return {err.status, err.field, at(p)};
        out.dest_addresses = dest_address_list(count, bytes_view(p, q));
        p = q;
        break;
      }
      case field_kind::unsuccess: {
        const auto count = std::to_integer<uint8_t>(*p++);
        decode_error err;
        const std::byte* q = scan_unsuccess_list(p, end, count, err);
        if (q == nullptr) return {err.status, err.field, at(p)};
        out.unsuccess_smes = unsuccess_sme_list(count, bytes_view(p, q));
        p = q;
        break;
      }
    }
  }

  if (p < end) {
    bool has_payload = false;
    decode_error err = check_tlvs(p, end, has_payload);
    if (err) return {err.status, err.field, at(p)};
    // SMPP 3.4 §5.3.2.32: message_payload is used instead of short_message, never with it.
    if (has_payload && !out.short_message.empty()) {
      return {S::ESME_RTLVNOTALLWD, "message_payload", at(p)};
    }
    out.tlvs = tlv_area(bytes_view(p, end));
  }
  return check_mandatory_tlvs(out);
}

namespace {

// Size of the body encoding, or an error for a field that cannot be represented.
encode_result body_size(const pdu& x, std::span<const field_desc> layout) noexcept {
  encode_result r;
  size_t n = 0;
  for (const field_desc& f : layout) {
    switch (f.kind) {
      case field_kind::u8:
        n += 1;
        break;
      case field_kind::cstring:
      case field_kind::time: {
        const std::string_view s = x.*f.str;
        const bool bad = s.size() >= f.max_len || s.find('\0') != std::string_view::npos ||
                         (f.kind == field_kind::time && !valid_time(s));
        if (bad) return {f.status, f.name, 0};
        n += s.size() + 1;
        break;
      }
      case field_kind::sm:
        if (x.short_message.size() > 254) return {S::ESME_RINVMSGLEN, f.name, 0};
        n += 1 + x.short_message.size();
        break;
      case field_kind::dest_list:
        if (x.dest_addresses.size() == 0) return {S::ESME_RINVNUMDESTS, f.name, 0};
        n += 1 + x.dest_addresses.raw().size();
        break;
      case field_kind::unsuccess:
        n += 1 + x.unsuccess_smes.raw().size();
        break;
    }
  }
  r.needed = n + x.tlvs.raw().size();
  return r;
}

}  // namespace

encode_result encode(const pdu& x, std::span<std::byte> out) noexcept {
  const std::span<const field_desc> layout = x.body_absent ? std::span<const field_desc>{}
                                                           : pdu_layout(x.id);
  encode_result r{};
  if (!x.body_absent) {
    r = body_size(x, layout);
    if (r.status != S::ESME_ROK) return r;
  }
  r.needed += header_size;
  if (r.needed > 0xFFFFFFFFULL) return {S::ESME_RINVCMDLEN, "command_length", r.needed};
  if (r.needed > out.size()) return r;

  std::byte* p = out.data();
  store_be32(p, static_cast<uint32_t>(r.needed));
  store_be32(p + 4, static_cast<uint32_t>(x.id));
  store_be32(p + 8, static_cast<uint32_t>(x.status));
  store_be32(p + 12, x.sequence_number);
  p += header_size;
  auto put = [&p](bytes_view b) {
    if (!b.empty()) std::memcpy(p, b.data(), b.size());
    p += b.size();
  };
  for (const field_desc& f : layout) {
    switch (f.kind) {
      case field_kind::u8:
        *p++ = static_cast<std::byte>(x.*f.u8);
        break;
      case field_kind::cstring:
      case field_kind::time:
        put(as_bytes(x.*f.str));
        *p++ = std::byte{0};
        break;
      case field_kind::sm:
        *p++ = static_cast<std::byte>(x.short_message.size());
        put(x.short_message);
        break;
      case field_kind::dest_list:
        *p++ = static_cast<std::byte>(x.dest_addresses.size());
        put(x.dest_addresses.raw());
        break;
      case field_kind::unsuccess:
        *p++ = static_cast<std::byte>(x.unsuccess_smes.size());
        put(x.unsuccess_smes.raw());
        break;
    }
  }
  put(x.tlvs.raw());
  return r;
}

size_t write_dest_address(const dest_address& d, std::span<std::byte> out) noexcept {
  const bool sme = d.dest_flag == dest_flag_sme_address;
  const size_t need = (sme ? 3 : 1) + d.destination_addr.size() + 1;
  if (need > out.size()) return need;
  std::byte* p = out.data();
  *p++ = static_cast<std::byte>(d.dest_flag);
  if (sme) {
    *p++ = static_cast<std::byte>(d.dest_addr_ton);
    *p++ = static_cast<std::byte>(d.dest_addr_npi);
  }
  if (!d.destination_addr.empty()) std::memcpy(p, d.destination_addr.data(), d.destination_addr.size());
  p[d.destination_addr.size()] = std::byte{0};
  return need;
}

size_t write_unsuccess_sme(const unsuccess_sme& u, std::span<std::byte> out) noexcept {
  const size_t need = 2 + u.destination_addr.size() + 1 + 4;
  if (need > out.size()) return need;
  std::byte* p = out.data();
  *p++ = static_cast<std::byte>(u.dest_addr_ton);
  *p++ = static_cast<std::byte>(u.dest_addr_npi);
  if (!u.destination_addr.empty()) std::memcpy(p, u.destination_addr.data(), u.destination_addr.size());
  p += u.destination_addr.size();
  *p++ = std::byte{0};
  store_be32(p, u.error_status_code);
  return need;
}

void write_header_only(std::span<std::byte, header_size> out, command_id id, command_status status,
                       uint32_t sequence_number) noexcept {
  store_be32(out.data(), header_size);
  store_be32(out.data() + 4, static_cast<uint32_t>(id));
  store_be32(out.data() + 8, static_cast<uint32_t>(status));
  store_be32(out.data() + 12, sequence_number);
}

}  // namespace smpp::codec
