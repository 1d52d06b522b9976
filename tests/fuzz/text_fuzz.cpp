// libFuzzer target: text codings and concatenation (codec/text.hpp, codec/concat.hpp), where a
// short_message's octets or an API's UTF-8 enter the router. The first octet picks what is
// exercised, the second its parameters (coding, policy, fill bits, method, reference), the rest
// is the input. Checked:
//  - a conversion measured with an empty buffer needs exactly what it then writes, and one
//    octet less is buffer_too_small with nothing written past the buffer;
//  - decoded text is well-formed UTF-8; what decodes under policy fail encodes back (IA5,
//    Latin-1, UCS-2: to the same octets; GSM 7-bit: to octets that decode to the same text);
//  - packing and unpacking septets are inverses; packed decoding is unpacking, then decoding;
//  - choose_coding's length is what the chosen coding encodes to;
//  - split parts stay within their capacity, never cut an escape or a surrogate pair, carry a
//    UDH that parses back to their reference and numbers, and join to the whole;
//  - parse_udh's views stay inside the message; the reassembler stays within its bounds and
//    joins what it completes in part order.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "smpp/codec/concat.hpp"
#include "smpp/codec/text.hpp"

namespace {

using namespace smpp::codec;
using bytes = std::span<const std::byte>;
using byte_vector = std::vector<std::byte>;

constexpr std::array<text_coding, 6> kCodings = {text_coding::gsm7,   text_coding::ia5,
                                                 text_coding::latin1, text_coding::ucs2,
                                                 text_coding::binary, text_coding::unsupported};
constexpr std::array<concat_method, 4> kMethods = {concat_method::udh_ref8,
                                                   concat_method::udh_ref16, concat_method::sar,
                                                   concat_method::message_payload};

void require(bool ok) {
  if (!ok) std::abort();
}

bool well_formed_utf8(std::string_view s) {
  for (size_t at = 0; at < s.size();) {
    const utf8_char c = next_utf8_char(s, at);
    if (!c.valid || c.length == 0) return false;
    at += c.length;
  }
  return true;
}

bool inside(bytes part, bytes whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// Runs `convert(out)` measured, exactly sized and one short. Returns the output of the exact
// run, or nothing with the error the measuring run reported in `status`.
template <class T, class Convert>
std::vector<T> measured(Convert convert, text_status& status) {
  constexpr size_t canary = 8;
  const T fill = static_cast<T>(0x5A);
  const text_result m = convert(std::span<T>{});
  status = m.status;
  if (m.status != text_status::ok && m.status != text_status::buffer_too_small) {
    require(m.needed == 0);
    return {};
  }
  require(m.written == 0);
  require((m.status == text_status::ok) == (m.needed == 0));
  std::vector<T> out(m.needed + canary, fill);
  const text_result r = convert(std::span<T>(out.data(), m.needed));
  require(r.ok() && r.written == m.needed && r.needed == m.needed);
  for (size_t i = m.needed; i < out.size(); ++i) require(out[i] == fill);
  if (m.needed > 0) {
    std::vector<T> short_out(m.needed - 1 + canary, fill);
    const text_result s = convert(std::span<T>(short_out.data(), m.needed - 1));
    require(s.status == text_status::buffer_too_small && s.needed == m.needed);
    require(s.written <= m.needed - 1);
    for (size_t i = m.needed - 1; i < short_out.size(); ++i) require(short_out[i] == fill);
  }
  out.resize(m.needed);
  status = text_status::ok;
  return out;
}

std::string decoded(text_coding coding, bytes in, unmappable_policy policy, text_status& st) {
  const auto out =
      measured<char>([&](std::span<char> o) { return decode(coding, in, o, policy); }, st);
  return {out.begin(), out.end()};
}

byte_vector encoded(text_coding coding, std::string_view utf8, unmappable_policy policy,
                    text_status& st) {
  return measured<std::byte>(
      [&](std::span<std::byte> o) { return encode(coding, utf8, o, policy); }, st);
}

void decode_checks(text_coding coding, bytes in, unmappable_policy policy) {
  text_status st{};
  const std::string text = decoded(coding, in, policy, st);
  if (coding == text_coding::binary || coding == text_coding::unsupported) {
    require(st == text_status::unsupported_coding);
    return;
  }
  if (st != text_status::ok) {
    require(policy == unmappable_policy::fail && st == text_status::invalid_input);
    return;
  }
  require(well_formed_utf8(text));
  if (policy == unmappable_policy::replace) return;
  text_status back_st{};
  const byte_vector back = encoded(coding, text, unmappable_policy::fail, back_st);
  require(back_st == text_status::ok);
  if (coding != text_coding::gsm7) {
    require(std::equal(back.begin(), back.end(), in.begin(), in.end()));
    return;
  }
  // GSM 7-bit: an escape before a code without an extension character decodes as the default
  // character (TS 23.038 §6.2.1.1), so only the text is stable.
  text_status again_st{};
  require(decoded(coding, back, unmappable_policy::fail, again_st) == text);
  require(again_st == text_status::ok);
}

void encode_checks(text_coding coding, std::string_view utf8, unmappable_policy policy) {
  text_status st{};
  const byte_vector out = encoded(coding, utf8, policy, st);
  if (coding == text_coding::binary || coding == text_coding::unsupported) {
    require(st == text_status::unsupported_coding);
    return;
  }
  if (st != text_status::ok) {
    require(policy == unmappable_policy::fail);
    require(st == text_status::invalid_utf8 || st == text_status::unmappable);
    return;
  }
  text_status back_st{};
  const std::string back = decoded(coding, out, unmappable_policy::fail, back_st);
  require(back_st == text_status::ok);
  if (policy == unmappable_policy::fail) require(back == utf8);
}

void packed_checks(bytes in, unsigned fill) {
  // The input as septets (7 bits each): packed and unpacked again, unchanged.
  byte_vector septets(in.begin(), in.end());
  for (std::byte& b : septets) b &= std::byte{0x7F};
  text_status st{};
  const byte_vector packed = measured<std::byte>(
      [&](std::span<std::byte> o) { return pack_septets(septets, o, fill); }, st);
  if (fill > 6) {
    require(st == text_status::invalid_argument);
    return;
  }
  require(st == text_status::ok && packed.size() == packed_size(septets.size(), fill));
  const byte_vector unpacked = measured<std::byte>(
      [&](std::span<std::byte> o) { return unpack_septets(packed, septets.size(), o, fill); }, st);
  require(st == text_status::ok && unpacked == septets);
  // The input as packed octets, as many septets as they hold: decoding them packed is
  // unpacking, then decoding.
  const size_t count = in.empty() ? 0 : (in.size() * 8 - fill) / 7;
  const byte_vector raw = measured<std::byte>(
      [&](std::span<std::byte> o) { return unpack_septets(in, count, o, fill); }, st);
  require(st == text_status::ok && raw.size() == count);
  text_status via_st{};
  const std::string via = decoded(text_coding::gsm7, raw, unmappable_policy::replace, via_st);
  text_status direct_st{};
  const auto direct = measured<char>(
      [&](std::span<char> o) {
        return decode_gsm7_packed(in, count, o, unmappable_policy::replace, fill);
      },
      direct_st);
  require(via_st == text_status::ok && direct_st == text_status::ok);
  require(std::string_view(direct.data(), direct.size()) == via);
  // One septet more than the octets hold is invalid input.
  std::array<char, 8> small{};
  require(decode_gsm7_packed(in, count + 1, small, unmappable_policy::replace, fill).status ==
          text_status::invalid_input);
}

void choose_checks(std::string_view utf8) {
  const coding_choice c = choose_coding(utf8);
  if (c.status != text_status::ok) {
    require(c.status == text_status::invalid_utf8 && !well_formed_utf8(utf8));
    return;
  }
  require(c.coding == text_coding::gsm7 || c.coding == text_coding::ucs2);
  text_status st{};
  const byte_vector out = encoded(c.coding, utf8, unmappable_policy::fail, st);
  require(st == text_status::ok && out.size() == c.length);
}

// Where each character of coded text starts (and its end): a GSM escape (0x1B) and the septet
// after it are one character (TS 23.038 §6.2.1.1), so is a UCS-2 surrogate pair; anything
// else is one septet, one code unit or one octet.
std::vector<size_t> character_starts(text_coding coding, const byte_vector& coded) {
  std::vector<size_t> starts;
  size_t at = 0;
  auto unit = [&](size_t k) { return std::to_integer<unsigned>(coded[k]); };
  while (at < coded.size()) {
    starts.push_back(at);
    size_t size = 1;
    if (coding == text_coding::gsm7) {
      if (unit(at) == 0x1B && at + 1 < coded.size()) size = 2;
    } else if (coding == text_coding::ucs2) {
      size = (unit(at) & 0xFC) == 0xD8 && at + 3 < coded.size() && (unit(at + 2) & 0xFC) == 0xDC
                 ? 4
                 : 2;
    }
    at += size;
  }
  starts.push_back(coded.size());
  return starts;
}

// The parts of a split: within capacity, numbered 1..total with one reference, their UDH
// parsing back to the same, joined equal to `whole`, cut only between characters.
void parts_checks(const owned_split& s, const split_options& o, const byte_vector& whole) {
  require(!s.parts.empty() && s.parts.size() <= max_concat_parts);
  const size_t capacity = s.parts.size() == 1 && o.method != concat_method::message_payload
                              ? single_part_capacity(o.coding)
                              : part_capacity(o.coding, o.method);
  byte_vector joined;
  std::vector<size_t> cuts;
  for (size_t i = 0; i < s.parts.size(); ++i) {
    const owned_message_part& p = s.parts[i];
    require(p.total == s.parts.size() && p.seq == i + 1 && p.ref == o.ref);
    require(p.payload.size() <= capacity);
    const bool udh = o.method == concat_method::udh_ref8 || o.method == concat_method::udh_ref16;
    require(p.udh.empty() == (!udh || s.parts.size() == 1));
    if (!p.udh.empty()) {
      const byte_vector sm = p.short_message();
      const udh_parse_result u = parse_udh(sm);
      require(u.status == udh_status::ok && u.udh.concat.has_value());
      require(u.udh.concat->ref == o.ref && u.udh.concat->total == p.total);
      require(u.udh.concat->seq == p.seq);
      require(std::equal(u.udh.payload.begin(), u.udh.payload.end(), p.payload.begin(),
                         p.payload.end()));
    }
    joined.insert(joined.end(), p.payload.begin(), p.payload.end());
    cuts.push_back(joined.size());
  }
  require(joined == whole);
  // Every cut between parts falls between two characters.
  const std::vector<size_t> starts = character_starts(o.coding, joined);
  for (const size_t cut : cuts) require(std::binary_search(starts.begin(), starts.end(), cut));
}

void split_text_checks(std::string_view utf8, const split_options& o) {
  const owned_split s = split_text_to_vector(utf8, o);
  if (s.status != concat_status::ok) return;
  text_status st{};
  const byte_vector whole = encoded(o.coding, utf8, o.policy, st);
  require(st == text_status::ok);
  parts_checks(s, o, whole);
}

void split_encoded_checks(bytes coded, const split_options& o) {
  const owned_split s = split_encoded_to_vector(coded, o);
  if (s.status != concat_status::ok) {
    require(s.status != concat_status::buffer_too_small);
    return;
  }
  split_options opaque = o;
  if (o.coding != text_coding::gsm7 && o.coding != text_coding::ucs2)
    opaque.coding = text_coding::binary;  // split with the 8-bit capacities
  parts_checks(s, opaque, byte_vector(coded.begin(), coded.end()));
}

void udh_checks(bytes sm) {
  const udh_parse_result r = parse_udh(sm);
  if (r.status != udh_status::ok) return;
  require(inside(r.udh.header, sm) && inside(r.udh.payload, sm));
  require(r.udh.header.size() + r.udh.payload.size() == sm.size());
  for (const udh_ie ie : r.udh.ies()) require(inside(ie.data, r.udh.header));
  if (r.udh.concat) {
    require(r.udh.concat->total >= 1 && r.udh.concat->seq >= 1);
    require(r.udh.concat->seq <= r.udh.concat->total);
  }
}

// Records of [originator][ref][total][seq][clock step][length][octets] into a small
// reassembler: bounds hold, and a completed message is its parts in order.
void reassembly_checks(bytes script, uint8_t params) {
  reassembler_config cfg;
  cfg.max_messages = 1 + params % 4;
  cfg.max_parts_per_message = 1 + (params >> 2) % 6;
  cfg.max_total_bytes = 64 + 32 * (params >> 5);
  cfg.timeout_ms = 100;
  reassembler r(cfg);
  static constexpr std::array<std::string_view, 3> originators = {"447700900001", "", "a"};
  std::map<std::tuple<size_t, uint16_t, uint8_t>, std::map<uint8_t, byte_vector>> parts;
  uint64_t now_ms = 0;
  size_t at = 0;
  auto u8 = [&]() -> uint8_t {
    return at < script.size() ? std::to_integer<uint8_t>(script[at++]) : uint8_t{0};
  };
  while (at < script.size()) {
    const size_t who = u8() % originators.size();
    const uint16_t ref = u8();
    const auto total = static_cast<uint8_t>(u8() % 5);
    const auto seq = static_cast<uint8_t>(u8() % 6);
    now_ms += u8() % 64;
    const size_t n = std::min<size_t>(u8(), script.size() - at);
    const bytes part = script.subspan(at, n);
    at += n;
    const auto key = std::make_tuple(who, ref, total);
    const reassembly_result res = r.add_part({originators[who], ref, total}, seq, part, now_ms);
    require(r.messages_in_progress() <= cfg.max_messages);
    require(r.bytes_in_use() <= cfg.max_total_bytes);
    if (res.status == reassembly_status::stored) {
      parts[key][seq].assign(part.begin(), part.end());
    } else if (res.status == reassembly_status::complete) {
      auto& held = parts[key];
      held[seq].assign(part.begin(), part.end());
      byte_vector whole;
      for (uint8_t s = 1; s <= total; ++s) {
        require(held.contains(s));
        whole.insert(whole.end(), held[s].begin(), held[s].end());
      }
      require(std::equal(res.message.begin(), res.message.end(), whole.begin(), whole.end()));
      parts.erase(key);
    }
  }
  (void)r.expire(now_ms + cfg.timeout_ms + 1);
  require(r.messages_in_progress() == 0 && r.bytes_in_use() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t what = data[0];
  const uint8_t params = data[1];
  const bytes in(reinterpret_cast<const std::byte*>(data + 2), size - 2);
  const std::string_view utf8(reinterpret_cast<const char*>(data + 2), size - 2);
  const text_coding coding = kCodings[params % kCodings.size()];
  const auto policy = (params & 0x08) != 0 ? unmappable_policy::replace : unmappable_policy::fail;
  switch (what % 7) {
    case 0:
      decode_checks(coding, in, policy);
      return 0;
    case 1:
      encode_checks(coding, utf8, policy);
      return 0;
    case 2:
      packed_checks(in, (params >> 4) % 8);
      return 0;
    case 3:
      choose_checks(utf8);
      return 0;
    case 4: {
      const coding_choice c = choose_coding(utf8);
      split_options o;
      o.coding =
          (params & 0x04) != 0 || c.status != text_status::ok ? kCodings[params % 4] : c.coding;
      o.method = kMethods[(params >> 4) % 4];
      o.ref = (params & 0x80) != 0 ? static_cast<uint16_t>(0x100 | what) : what;
      o.policy = policy;
      split_text_checks(utf8, o);
      return 0;
    }
    case 5: {
      split_options o;
      o.coding = coding;
      o.method = kMethods[(params >> 4) % 4];
      o.ref = what;
      split_encoded_checks(in, o);
      udh_checks(in);
      return 0;
    }
    default:
      reassembly_checks(in, params);
      return 0;
  }
}
