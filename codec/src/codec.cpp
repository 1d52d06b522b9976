// Decode and encode of every SMPP 3.4 / 5.0 PDU through the layout tables.
#include "smpp/codec/codec.hpp"

#include <cstring>
#include <type_traits>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "layout_tables.hpp"

namespace smpp::codec {
namespace {

using S = command_status;

// Length of the C-Octet String at p (without its NUL), or -1 when no NUL is found within
// max_len octets or before end (SMPP 3.4 §3.1: the terminator is part of max_len).
// p is always past the 16-octet header, so a 16-octet load that ends at `end` stays inside the
// frame; no load reads outside it.
inline ptrdiff_t cstring_len(const std::byte* p, const std::byte* end, size_t max_len) noexcept {
  const size_t avail = static_cast<size_t>(end - p);
  const size_t limit = avail < max_len ? avail : max_len;
#if defined(__SSE2__)
  const __m128i zero = _mm_setzero_si128();
  auto nul_mask = [&](const std::byte* q) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)));
  };
  auto found = [&](size_t n) { return n < limit ? static_cast<ptrdiff_t>(n) : -1; };
  if (avail < 16) {
    // The frame's last octets: the 16 that end at `end`, shifted to start at p.
    const unsigned m = nul_mask(end - 16) >> (16 - avail);
    return m != 0 ? found(static_cast<size_t>(__builtin_ctz(m))) : -1;
  }
  // Most strings (addresses, ids, times) end within the first 16 octets.
  unsigned m = nul_mask(p);
  if (m != 0) return found(static_cast<size_t>(__builtin_ctz(m)));
  for (size_t i = 16; i < limit; i += 16) {
    m = avail - i >= 16 ? nul_mask(p + i) : nul_mask(end - 16) >> (16 - (avail - i));
    if (m != 0) return found(i + static_cast<size_t>(__builtin_ctz(m)));
  }
  return -1;
#else
  const void* nul = std::memchr(p, 0, limit);
  return nul == nullptr ? -1 : static_cast<const std::byte*>(nul) - p;
#endif
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
// on_tlv(tag, value, length) sees each TLV once it has passed its checks.
template <class OnTlv>
decode_error check_tlvs(const std::byte* p, const std::byte* end, bool& has_payload,
                        OnTlv&& on_tlv) noexcept {
  while (p < end) {
    if (end - p < 4) return {S::ESME_RINVTLVSTREAM, "tlv", 0};
    const uint16_t t = load_be16(p);
    const uint16_t len = load_be16(p + 2);
    if (len > end - p - 4) return {S::ESME_RINVTLVSTREAM, "tlv", 0};
    if (const tlv_info* info = find_tlv_info(t)) {
      if (len < info->min_len || len > info->max_len) return {S::ESME_RINVTLVLEN, info->name, 0};
      if (info->type == tlv_type::cstring) {
        // The value is one C-Octet String: its only NUL is the last octet.
        if (cstring_len(p + 4, p + 4 + len, len) != len - 1)
          return {S::ESME_RINVTLVVAL, info->name, 0};
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
    on_tlv(t, p + 4, len);
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

namespace {

// The TLVs after the mandatory fields.
decode_error decode_tlvs(const std::byte* base, const std::byte* p, const std::byte* end,
                         pdu& out) noexcept {
  if (p < end) {
    bool has_payload = false;
    decode_error err = check_tlvs(p, end, has_payload, [](uint16_t, const std::byte*, uint16_t) {});
    if (err) return {err.status, err.field, static_cast<uint32_t>(p - base)};
    // SMPP 3.4 §5.3.2.32: message_payload is used instead of short_message, never with it.
    if (has_payload && !out.short_message.empty()) {
      return {S::ESME_RTLVNOTALLWD, "message_payload", static_cast<uint32_t>(p - base)};
    }
    out.tlvs = tlv_area(bytes_view(p, end));
  }
  return {};
}

// One mandatory field; false with err set when it is bad. F is a compile-time field_desc, so
// each command gets straight-line code with direct member stores.
// Layout and index rather than a reference to the element: clang before 18 does not accept a
// reference to an array element as a template argument.
template <const auto& Layout, size_t Index>
inline bool decode_field(const std::byte* base, const std::byte*& p, const std::byte* end, pdu& out,
                         decode_error& err) noexcept {
  constexpr const field_desc& F = Layout[Index];
  auto at = [&](const std::byte* q) { return static_cast<uint32_t>(q - base); };
  if (p >= end) {
    err = {S::ESME_RINVCMDLEN, F.name, at(p)};
    return false;
  }
  if constexpr (F.kind == field_kind::u8) {
    out.*(F.u8) = std::to_integer<uint8_t>(*p++);
  } else if constexpr (F.kind == field_kind::cstring || F.kind == field_kind::time) {
    const ptrdiff_t n = cstring_len(p, end, F.max_len);
    if (n < 0) {
      err = {F.status, F.name, at(p)};
      return false;
    }
    const std::string_view s(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    if constexpr (F.kind == field_kind::time) {
      if (!valid_time(s)) {
        err = {F.status, F.name, at(p)};
        return false;
      }
    }
    out.*(F.str) = s;
    p += n + 1;
  } else if constexpr (F.kind == field_kind::sm) {
    // SMPP 3.4 §5.2.21: sm_length 0..254, and it must fit in the PDU.
    const auto len = std::to_integer<uint8_t>(*p++);
    if (len > 254 || len > end - p) {
      err = {S::ESME_RINVMSGLEN, "sm_length", at(p - 1)};
      return false;
    }
    out.short_message = bytes_view(p, len);
    p += len;
  } else if constexpr (F.kind == field_kind::dest_list) {
    const auto count = std::to_integer<uint8_t>(*p++);
    if (count == 0) {
      err = {S::ESME_RINVNUMDESTS, "number_of_dests", at(p - 1)};
      return false;
    }
    decode_error e;
    const std::byte* q = scan_dest_list(p, end, count, e);
    if (q == nullptr) {
      err = {e.status, e.field, at(p)};
      return false;
    }
    out.dest_addresses = dest_address_list(count, bytes_view(p, q));
    p = q;
  } else {
    const auto count = std::to_integer<uint8_t>(*p++);
    decode_error e;
    const std::byte* q = scan_unsuccess_list(p, end, count, e);
    if (q == nullptr) {
      err = {e.status, e.field, at(p)};
      return false;
    }
    out.unsuccess_smes = unsuccess_sme_list(count, bytes_view(p, q));
    p = q;
  }
  return true;
}

template <const auto& Layout>
decode_error decode_body(const std::byte* base, const std::byte* end, pdu& out) noexcept {
  const std::byte* p = base + header_size;
  if constexpr (Layout.size() > 0) {
    if (p == end && is_response(out.id)) {
      out.body_absent = true;  // SMPP 3.4 §3.3: error responses may omit the body
      return {};
    }
  }
  decode_error err;
  const bool ok = [&]<size_t... I>(std::index_sequence<I...>) {
    return (decode_field<Layout, I>(base, p, end, out, err) && ...);
  }
  (std::make_index_sequence<Layout.size()>{});
  if (!ok) return err;
  if (p == end) return {};
  return decode_tlvs(base, p, end, out);
}

}  // namespace

// Resets out to a value-initialised pdu with straight 16-octet copies of a constant one. GCC 12
// compiles `out = pdu{}` member by member through a temporary (~100 instructions) and a
// memcpy of the 352 octets into `rep movsq`, slow to start for so short a copy.
static_assert(std::is_trivially_copyable_v<pdu>);
constexpr pdu kEmptyPdu{};
inline void reset(pdu& out) noexcept {
#if defined(__SSE2__)
  static_assert(sizeof(pdu) % 16 == 0);
  auto* d = reinterpret_cast<unsigned char*>(&out);
  const auto* s = reinterpret_cast<const unsigned char*>(&kEmptyPdu);
#pragma GCC unroll 32
  for (size_t i = 0; i < sizeof(pdu); i += 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
  }
#else
  out = pdu{};
#endif
}

namespace {

// The mandatory fields of a submit_sm or deliver_sm (SMPP 3.4 §4.4.1, §4.6.1: the same layout)
// with empty schedule_delivery_time and validity_period, checked as decode() checks them: the
// position after short_message, or nullptr when decode() would refuse them or they have
// another shape.
const std::byte* peek_sm_fields(const std::byte* p, const std::byte* end,
                                submit_sm_peek& out) noexcept {
  // Each C-Octet String within its maximum, NUL included (the limits of layout_tables.hpp).
  auto cstring = [&](size_t max_len, std::string_view* s) {
    const ptrdiff_t n = cstring_len(p, end, max_len);
    if (n < 0) return false;
    if (s != nullptr)
      *s = std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    p += n + 1;
    return true;
  };
  auto skip = [&](ptrdiff_t n) {
    if (end - p < n) return false;
    p += n;
    return true;
  };
  if (!cstring(6, &out.service_type) || !skip(2) || !cstring(21, &out.source_addr) || !skip(2) ||
      !cstring(21, &out.destination_addr) || !skip(3)) {
    return nullptr;
  }
  out.esm_class = std::to_integer<uint8_t>(p[-3]);
  // schedule_delivery_time and validity_period empty: one NUL each.
  if (end - p < 2 || p[0] != std::byte{0} || p[1] != std::byte{0}) return nullptr;
  p += 2;
  if (end - p < 5) return nullptr;
  out.registered_delivery = std::to_integer<uint8_t>(p[0]);
  out.data_coding = std::to_integer<uint8_t>(p[2]);
  // replace_if_present_flag, data_coding, sm_default_msg_id, then sm_length (§5.2.21: 0..254)
  // and that many octets.
  const auto sm_length = std::to_integer<uint8_t>(p[4]);
  p += 5;
  if (sm_length > 254 || end - p < sm_length) return nullptr;
  out.short_message = bytes_view(p, sm_length);
  return p + sm_length;
}

// A frame of exactly command_length octets with this command_id.
bool is_frame_of(bytes_view frame, command_id id) noexcept {
  if (frame.size() < header_size) return false;
  const pdu_header h = peek_header(frame.data());
  return h.command_id == static_cast<uint32_t>(id) && h.command_length == frame.size();
}

}  // namespace

bool peek_submit_sm(bytes_view frame, submit_sm_peek& out) noexcept {
  if (!is_frame_of(frame, command_id::submit_sm)) return false;
  const std::byte* const end = frame.data() + frame.size();
  // No TLV: short_message ends the PDU.
  if (peek_sm_fields(frame.data() + header_size, end, out) != end) return false;
  out.sequence_number = peek_header(frame.data()).sequence_number;
  return true;
}

bool peek_receipt(bytes_view frame, receipt_peek& out) noexcept {
  if (!is_frame_of(frame, command_id::deliver_sm)) return false;
  const std::byte* const end = frame.data() + frame.size();
  submit_sm_peek f;
  const std::byte* const tlvs = peek_sm_fields(frame.data() + header_size, end, f);
  if (tlvs == nullptr || (f.esm_class & esm_class_type_mask) == 0) return false;
  // The first receipted_message_id and message_state, as tlv_area::find() gives them.
  bool has_payload = false, seen_id = false, seen_state = false;
  std::string_view id;
  int state = -1;
  const auto on_tlv = [&](uint16_t t, const std::byte* v, uint16_t len) {
    if (t == tag::receipted_message_id && !seen_id) {
      seen_id = true;
      id = std::string_view(reinterpret_cast<const char*>(v), len);
      if (!id.empty() && id.back() == '\0') id.remove_suffix(1);  // tlv::as_cstring
      id = id.substr(0, id.find('\0'));                           // up_to_nul
    } else if (t == tag::message_state && !seen_state) {
      seen_state = true;
      if (len == 1) state = std::to_integer<int>(v[0]);
    }
  };
  if (check_tlvs(tlvs, end, has_payload, on_tlv)) return false;
  // SMPP 3.4 §5.3.2.32: decode() refuses message_payload beside a short_message.
  if (has_payload && !f.short_message.empty()) return false;
  // What summarize_receipt() takes from the TLVs alone (§5.3.2.35: message_state 1..9).
  if (id.empty() || state < 1 || state > 9) return false;
  out.sequence_number = peek_header(frame.data()).sequence_number;
  out.esm_class = f.esm_class;
  out.message_id = id;
  out.message_state = static_cast<uint8_t>(state);
  return true;
}

decode_error decode(bytes_view frame, pdu& out) noexcept {
  reset(out);
  if (frame.size() < header_size) return {S::ESME_RINVCMDLEN, "command_length", 0};
  const std::byte* const base = frame.data();
  const pdu_header h = peek_header(base);
  out.id = static_cast<command_id>(h.command_id);
  out.status = static_cast<command_status>(h.command_status);
  out.sequence_number = h.sequence_number;
  // SMPP 3.4 §3.2: command_length counts the whole PDU including itself.
  if (h.command_length != frame.size()) return {S::ESME_RINVCMDLEN, "command_length", 0};
  const std::byte* const end = base + frame.size();
  using C = command_id;
  namespace L = layouts;
  switch (out.id) {
    case C::submit_sm:
    case C::deliver_sm:
      return decode_body<L::kSubmitSm>(base, end, out);
    case C::submit_sm_resp:
    case C::deliver_sm_resp:
    case C::data_sm_resp:
    case C::broadcast_sm_resp:
      return decode_body<L::kMessageIdOnly>(base, end, out);
    case C::query_broadcast_sm_resp: {
      const decode_error err = decode_body<L::kMessageIdOnly>(base, end, out);
      return err ? err : check_mandatory_tlvs(out);
    }
    case C::generic_nack:
    case C::unbind:
    case C::unbind_resp:
    case C::replace_sm_resp:
    case C::cancel_sm_resp:
    case C::enquire_link:
    case C::enquire_link_resp:
    case C::cancel_broadcast_sm_resp:
      return decode_body<L::kNone>(base, end, out);
    case C::bind_receiver:
    case C::bind_transmitter:
    case C::bind_transceiver:
      return decode_body<L::kBind>(base, end, out);
    case C::bind_receiver_resp:
    case C::bind_transmitter_resp:
    case C::bind_transceiver_resp:
      return decode_body<L::kBindResp>(base, end, out);
    case C::outbind:
      return decode_body<L::kOutbind>(base, end, out);
    case C::submit_multi:
      return decode_body<L::kSubmitMulti>(base, end, out);
    case C::submit_multi_resp:
      return decode_body<L::kSubmitMultiResp>(base, end, out);
    case C::data_sm:
      return decode_body<L::kDataSm>(base, end, out);
    case C::query_sm:
      return decode_body<L::kQuerySm>(base, end, out);
    case C::query_sm_resp:
      return decode_body<L::kQuerySmResp>(base, end, out);
    case C::cancel_sm:
      return decode_body<L::kCancelSm>(base, end, out);
    case C::replace_sm:
      return decode_body<L::kReplaceSm>(base, end, out);
    case C::alert_notification:
      return decode_body<L::kAlert>(base, end, out);
    case C::broadcast_sm: {
      const decode_error err = decode_body<L::kBroadcastSm>(base, end, out);
      return err ? err : check_mandatory_tlvs(out);
    }
    case C::query_broadcast_sm:
      return decode_body<L::kQueryBroadcastSm>(base, end, out);
    case C::cancel_broadcast_sm:
      return decode_body<L::kCancelBroadcastSm>(base, end, out);
  }
  return {S::ESME_RINVCMDID, "command_id", 4};
}

namespace {

// True when s holds a NUL. Loads stay inside s: 8-octet words (the last one overlapping), two
// overlapping 4-octet words, or single octets.
inline bool has_nul(std::string_view s) noexcept {
  const char* p = s.data();
  const size_t n = s.size();
  auto zero_byte = [](uint64_t v) {
    return ((v - 0x0101010101010101ULL) & ~v & 0x8080808080808080ULL) != 0;
  };
  auto load64 = [](const char* q) {
    uint64_t v;
    std::memcpy(&v, q, 8);
    return v;
  };
  auto load32 = [](const char* q) {
    uint32_t v;
    std::memcpy(&v, q, 4);
    return uint64_t{v};
  };
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (zero_byte(load64(p + i))) return true;
    }
    return zero_byte(load64(p + n - 8));
  }
  if (n >= 4) return zero_byte(load32(p) | load32(p + n - 4) << 32);
  return n != 0 && (p[0] == '\0' || p[n / 2] == '\0' || p[n - 1] == '\0');
}

// Copies n octets with inline loads and stores that stay inside both ranges (the fields are
// short: a libc memcpy call costs more than the copy).
inline std::byte* put(std::byte* d, const void* src, size_t n) noexcept {
  const auto* s = static_cast<const unsigned char*>(src);
  if (n >= 16) {
#if defined(__SSE2__)
    for (size_t i = 0; i + 16 < n; i += 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i),
                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + n - 16),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + n - 16)));
#else
    std::memcpy(d, s, n);
#endif
  } else if (n >= 8) {
    uint64_t a, b;
    std::memcpy(&a, s, 8);
    std::memcpy(&b, s + n - 8, 8);
    std::memcpy(d, &a, 8);
    std::memcpy(d + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, s, 4);
    std::memcpy(&b, s + n - 4, 4);
    std::memcpy(d, &a, 4);
    std::memcpy(d + n - 4, &b, 4);
  } else if (n != 0) {
    d[0] = static_cast<std::byte>(s[0]);
    d[n / 2] = static_cast<std::byte>(s[n / 2]);
    d[n - 1] = static_cast<std::byte>(s[n - 1]);
  }
  return d + n;
}

// Octets one field takes, or false with r set for a value that cannot be encoded.
// Layout and index rather than a reference to the element: clang before 18 does not accept a
// reference to an array element as a template argument.
template <const auto& Layout, size_t Index>
inline bool size_field(const pdu& x, size_t& n, encode_result& r) noexcept {
  constexpr const field_desc& F = Layout[Index];
  if constexpr (F.kind == field_kind::u8) {
    n += 1;
  } else if constexpr (F.kind == field_kind::cstring || F.kind == field_kind::time) {
    const std::string_view s = x.*(F.str);
    bool bad = s.size() >= F.max_len || has_nul(s);
    if constexpr (F.kind == field_kind::time) bad = bad || !valid_time(s);
    if (bad) {
      r = {F.status, F.name, 0};
      return false;
    }
    n += s.size() + 1;
  } else if constexpr (F.kind == field_kind::sm) {
    if (x.short_message.size() > 254) {
      r = {S::ESME_RINVMSGLEN, F.name, 0};
      return false;
    }
    n += 1 + x.short_message.size();
  } else if constexpr (F.kind == field_kind::dest_list) {
    if (x.dest_addresses.size() == 0) {
      r = {S::ESME_RINVNUMDESTS, F.name, 0};
      return false;
    }
    n += 1 + x.dest_addresses.raw().size();
  } else {
    n += 1 + x.unsuccess_smes.raw().size();
  }
  return true;
}

// Layout and index rather than a reference to the element: clang before 18 does not accept a
// reference to an array element as a template argument.
template <const auto& Layout, size_t Index>
inline std::byte* put_field(const pdu& x, std::byte* p) noexcept {
  constexpr const field_desc& F = Layout[Index];
  if constexpr (F.kind == field_kind::u8) {
    *p++ = static_cast<std::byte>(x.*(F.u8));
  } else if constexpr (F.kind == field_kind::cstring || F.kind == field_kind::time) {
    const std::string_view s = x.*(F.str);
    p = put(p, s.data(), s.size());
    *p++ = std::byte{0};
  } else if constexpr (F.kind == field_kind::sm) {
    *p++ = static_cast<std::byte>(x.short_message.size());
    p = put(p, x.short_message.data(), x.short_message.size());
  } else if constexpr (F.kind == field_kind::dest_list) {
    *p++ = static_cast<std::byte>(x.dest_addresses.size());
    p = put(p, x.dest_addresses.raw().data(), x.dest_addresses.raw().size());
  } else {
    *p++ = static_cast<std::byte>(x.unsuccess_smes.size());
    p = put(p, x.unsuccess_smes.raw().data(), x.unsuccess_smes.raw().size());
  }
  return p;
}

template <const auto& Layout>
encode_result encode_body(const pdu& x, std::span<std::byte> out) noexcept {
  encode_result r{};
  size_t n = 0;
  if (!x.body_absent) {
    const bool ok = [&]<size_t... I>(std::index_sequence<I...>) {
      return (size_field<Layout, I>(x, n, r) && ...);
    }
    (std::make_index_sequence<Layout.size()>{});
    if (!ok) return r;
    n += x.tlvs.raw().size();
  }
  r.needed = n + header_size;
  if (r.needed > 0xFFFFFFFFULL) return {S::ESME_RINVCMDLEN, "command_length", r.needed};
  if (r.needed > out.size()) return r;

  std::byte* p = out.data();
  store_be32(p, static_cast<uint32_t>(r.needed));
  store_be32(p + 4, static_cast<uint32_t>(x.id));
  store_be32(p + 8, static_cast<uint32_t>(x.status));
  store_be32(p + 12, x.sequence_number);
  if (x.body_absent) return r;
  p += header_size;
  [&]<size_t... I>(std::index_sequence<I...>) {
    ((p = put_field<Layout, I>(x, p)), ...);
  }
  (std::make_index_sequence<Layout.size()>{});
  put(p, x.tlvs.raw().data(), x.tlvs.raw().size());
  return r;
}

}  // namespace

encode_result encode(const pdu& x, std::span<std::byte> out) noexcept {
  using C = command_id;
  namespace L = layouts;
  switch (x.id) {
    case C::submit_sm:
    case C::deliver_sm:
      return encode_body<L::kSubmitSm>(x, out);
    case C::submit_sm_resp:
    case C::deliver_sm_resp:
    case C::data_sm_resp:
    case C::broadcast_sm_resp:
    case C::query_broadcast_sm_resp:
      return encode_body<L::kMessageIdOnly>(x, out);
    case C::bind_receiver:
    case C::bind_transmitter:
    case C::bind_transceiver:
      return encode_body<L::kBind>(x, out);
    case C::bind_receiver_resp:
    case C::bind_transmitter_resp:
    case C::bind_transceiver_resp:
      return encode_body<L::kBindResp>(x, out);
    case C::outbind:
      return encode_body<L::kOutbind>(x, out);
    case C::submit_multi:
      return encode_body<L::kSubmitMulti>(x, out);
    case C::submit_multi_resp:
      return encode_body<L::kSubmitMultiResp>(x, out);
    case C::data_sm:
      return encode_body<L::kDataSm>(x, out);
    case C::query_sm:
      return encode_body<L::kQuerySm>(x, out);
    case C::query_sm_resp:
      return encode_body<L::kQuerySmResp>(x, out);
    case C::cancel_sm:
      return encode_body<L::kCancelSm>(x, out);
    case C::replace_sm:
      return encode_body<L::kReplaceSm>(x, out);
    case C::alert_notification:
      return encode_body<L::kAlert>(x, out);
    case C::broadcast_sm:
      return encode_body<L::kBroadcastSm>(x, out);
    case C::query_broadcast_sm:
      return encode_body<L::kQueryBroadcastSm>(x, out);
    case C::cancel_broadcast_sm:
      return encode_body<L::kCancelBroadcastSm>(x, out);
    default:
      // Header-only commands, and ids the codec does not know: header and TLVs (as before).
      return encode_body<L::kNone>(x, out);
  }
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
  if (!d.destination_addr.empty())
    std::memcpy(p, d.destination_addr.data(), d.destination_addr.size());
  p[d.destination_addr.size()] = std::byte{0};
  return need;
}

size_t write_unsuccess_sme(const unsuccess_sme& u, std::span<std::byte> out) noexcept {
  const size_t need = 2 + u.destination_addr.size() + 1 + 4;
  if (need > out.size()) return need;
  std::byte* p = out.data();
  *p++ = static_cast<std::byte>(u.dest_addr_ton);
  *p++ = static_cast<std::byte>(u.dest_addr_npi);
  if (!u.destination_addr.empty())
    std::memcpy(p, u.destination_addr.data(), u.destination_addr.size());
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
