#include "smpp/codec/text.hpp"

namespace smpp::codec {
namespace {

constexpr char32_t replacement_char = 0xFFFD;
constexpr std::uint8_t gsm7_escape = 0x1B;

// TS 23.038 §6.2.1 GSM 7 bit default alphabet. 0x1B is the escape to the extension table and is
// handled by the decoder, never looked up here.
constexpr std::array<char32_t, 128> gsm7_default_table = {
    U'@',      U'\u00A3', U'$',      U'\u00A5', U'\u00E8', U'\u00E9', U'\u00F9', U'\u00EC',
    U'\u00F2', U'\u00C7', U'\n',     U'\u00D8', U'\u00F8', U'\r',     U'\u00C5', U'\u00E5',
    U'\u0394', U'_',      U'\u03A6', U'\u0393', U'\u039B', U'\u03A9', U'\u03A0', U'\u03A8',
    U'\u03A3', U'\u0398', U'\u039E', U' ',      U'\u00C6', U'\u00E6', U'\u00DF', U'\u00C9',
    U' ',      U'!',      U'"',      U'#',      U'\u00A4', U'%',      U'&',      U'\'',
    U'(',      U')',      U'*',      U'+',      U',',      U'-',      U'.',      U'/',
    U'0',      U'1',      U'2',      U'3',      U'4',      U'5',      U'6',      U'7',
    U'8',      U'9',      U':',      U';',      U'<',      U'=',      U'>',      U'?',
    U'\u00A1', U'A',      U'B',      U'C',      U'D',      U'E',      U'F',      U'G',
    U'H',      U'I',      U'J',      U'K',      U'L',      U'M',      U'N',      U'O',
    U'P',      U'Q',      U'R',      U'S',      U'T',      U'U',      U'V',      U'W',
    U'X',      U'Y',      U'Z',      U'\u00C4', U'\u00D6', U'\u00D1', U'\u00DC', U'\u00A7',
    U'\u00BF', U'a',      U'b',      U'c',      U'd',      U'e',      U'f',      U'g',
    U'h',      U'i',      U'j',      U'k',      U'l',      U'm',      U'n',      U'o',
    U'p',      U'q',      U'r',      U's',      U't',      U'u',      U'v',      U'w',
    U'x',      U'y',      U'z',      U'\u00E4', U'\u00F6', U'\u00F1', U'\u00FC', U'\u00E0',
};

// TS 23.038 §6.2.1.1 extension table (after 0x1B): code -> character, 0 when undefined.
constexpr char32_t gsm7_extension(std::uint8_t code) noexcept {
  switch (code) {
    case 0x0A:
      return U'\f';
    case 0x14:
      return U'^';
    case 0x28:
      return U'{';
    case 0x29:
      return U'}';
    case 0x2F:
      return U'\\';
    case 0x3C:
      return U'[';
    case 0x3D:
      return U'~';
    case 0x3E:
      return U']';
    case 0x40:
      return U'|';
    case 0x65:
      return U'\u20AC';
    default:
      return 0;
  }
}

// Reverse of the default table for U+0000..U+00FF: septet, or 0xFF when not in the alphabet.
constexpr std::array<std::uint8_t, 256> gsm7_latin_reverse = [] {
  std::array<std::uint8_t, 256> reverse{};
  reverse.fill(0xFF);
  for (std::size_t septet = 0; septet < gsm7_default_table.size(); ++septet) {
    const char32_t cp = gsm7_default_table[septet];
    if (septet != gsm7_escape && cp < 256) reverse[cp] = static_cast<std::uint8_t>(septet);
  }
  return reverse;
}();

constexpr bool is_continuation(unsigned char b) noexcept {
  return (b & 0xC0) == 0x80;
}
constexpr bool is_surrogate(char32_t cp) noexcept {
  return cp >= 0xD800 && cp <= 0xDFFF;
}
constexpr bool is_high_surrogate(char32_t cp) noexcept {
  return cp >= 0xD800 && cp <= 0xDBFF;
}
constexpr bool is_low_surrogate(char32_t cp) noexcept {
  return cp >= 0xDC00 && cp <= 0xDFFF;
}

// Output that accepts whole units (one character's bytes) only: a unit that does not fit switches
// to measuring, so `written` is always a prefix of whole characters and nothing is written past
// the span.
template <class T>
class unit_sink {
 public:
  explicit unit_sink(std::span<T> out) noexcept : out_(out) {}

  void put(const std::uint8_t* unit, std::size_t size) noexcept {
    if (!overflow_ && written_ + size <= out_.size()) {
      for (std::size_t i = 0; i < size; ++i) out_[written_ + i] = static_cast<T>(unit[i]);
      written_ += size;
    } else {
      overflow_ = true;
    }
    needed_ += size;
  }

  [[nodiscard]] text_result finish() const noexcept {
    return {overflow_ ? text_status::buffer_too_small : text_status::ok, written_, needed_};
  }
  [[nodiscard]] text_result fail(text_status status) const noexcept {
    return {status, written_, 0};
  }

 private:
  std::span<T> out_;
  std::size_t written_ = 0;
  std::size_t needed_ = 0;
  bool overflow_ = false;
};

// TS 23.038 §6.1.2.1.1: septets are packed LSB first; `fill_bits` zero bits come first.
class packed_sink {
 public:
  packed_sink(std::span<std::byte> out, unsigned fill_bits) noexcept
      : out_(out), fill_bits_(fill_bits), acc_bits_(fill_bits) {}

  void put(const std::uint8_t* septets, std::size_t count) noexcept {
    if (!overflow_ && packed_size(septets_ + count, fill_bits_) <= out_.size()) {
      for (std::size_t i = 0; i < count; ++i) {
        acc_ |= static_cast<std::uint32_t>(septets[i] & 0x7F) << acc_bits_;
        acc_bits_ += 7;
        while (acc_bits_ >= 8) emit();
      }
      septets_ += count;
    } else if (!overflow_) {
      flush();
      overflow_ = true;
    }
    needed_septets_ += count;
  }

  [[nodiscard]] text_result finish() noexcept {
    if (!overflow_) flush();
    return {overflow_ ? text_status::buffer_too_small : text_status::ok, written_,
            packed_size(needed_septets_, fill_bits_)};
  }
  [[nodiscard]] text_result fail(text_status status) noexcept {
    if (!overflow_) flush();
    return {status, written_, 0};
  }

 private:
  void emit() noexcept {
    out_[written_++] = static_cast<std::byte>(acc_ & 0xFF);
    acc_ >>= 8;
    acc_bits_ -= 8;
  }
  // The last, partly filled octet; with no septet there is no octet, fill bits or not.
  void flush() noexcept {
    if (septets_ == 0 || acc_bits_ == 0) return;
    out_[written_++] = static_cast<std::byte>(acc_ & 0xFF);
    acc_ = 0;
    acc_bits_ = 0;
  }

  std::span<std::byte> out_;
  unsigned fill_bits_;
  std::uint32_t acc_ = 0;
  unsigned acc_bits_;
  std::size_t septets_ = 0;
  std::size_t needed_septets_ = 0;
  std::size_t written_ = 0;
  bool overflow_ = false;
};

// Encodes one code point as UTF-8 into `buf`; returns the length.
std::size_t utf8_encode(char32_t cp, std::uint8_t* buf) noexcept {
  if (cp < 0x80) {
    buf[0] = static_cast<std::uint8_t>(cp);
    return 1;
  }
  if (cp < 0x800) {
    buf[0] = static_cast<std::uint8_t>(0xC0 | (cp >> 6));
    buf[1] = static_cast<std::uint8_t>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    buf[0] = static_cast<std::uint8_t>(0xE0 | (cp >> 12));
    buf[1] = static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3F));
    buf[2] = static_cast<std::uint8_t>(0x80 | (cp & 0x3F));
    return 3;
  }
  buf[0] = static_cast<std::uint8_t>(0xF0 | (cp >> 18));
  buf[1] = static_cast<std::uint8_t>(0x80 | ((cp >> 12) & 0x3F));
  buf[2] = static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3F));
  buf[3] = static_cast<std::uint8_t>(0x80 | (cp & 0x3F));
  return 4;
}

void put_code_point(unit_sink<char>& sink, char32_t cp) noexcept {
  std::uint8_t buf[4];
  sink.put(buf, utf8_encode(cp, buf));
}

// Encodes UTF-8 with `encode_char(cp, unit) -> length (0 = unmappable)` and the replacement unit
// used for both unmappable characters and ill-formed input.
template <class Sink, class EncodeChar>
text_result encode_with(std::string_view utf8, Sink& sink, unmappable_policy policy,
                        EncodeChar encode_char, char32_t replacement) noexcept {
  std::uint8_t unit[4];
  std::uint8_t replacement_unit[4];
  const std::size_t replacement_size = encode_char(replacement, replacement_unit);
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    const utf8_char c = next_utf8_char(utf8, pos);
    pos += c.length;
    if (!c.valid) {
      if (policy == unmappable_policy::fail) return sink.fail(text_status::invalid_utf8);
      sink.put(replacement_unit, replacement_size);
      continue;
    }
    const std::size_t size = encode_char(c.code_point, unit);
    if (size == 0) {
      if (policy == unmappable_policy::fail) return sink.fail(text_status::unmappable);
      sink.put(replacement_unit, replacement_size);
      continue;
    }
    sink.put(unit, size);
  }
  return sink.finish();
}

std::size_t encode_gsm7_char(char32_t cp, std::uint8_t* unit) noexcept {
  const gsm7_char g = gsm7_from_code_point(cp);
  unit[0] = g.septets[0];
  unit[1] = g.septets[1];
  return g.length;
}

std::size_t encode_ucs2_char(char32_t cp, std::uint8_t* unit) noexcept {
  if (cp < 0x10000) {
    unit[0] = static_cast<std::uint8_t>(cp >> 8);
    unit[1] = static_cast<std::uint8_t>(cp & 0xFF);
    return 2;
  }
  // UTF-16 surrogate pair (RFC 2781 §2.1).
  const char32_t v = cp - 0x10000;
  const char32_t high = 0xD800 + (v >> 10);
  const char32_t low = 0xDC00 + (v & 0x3FF);
  unit[0] = static_cast<std::uint8_t>(high >> 8);
  unit[1] = static_cast<std::uint8_t>(high & 0xFF);
  unit[2] = static_cast<std::uint8_t>(low >> 8);
  unit[3] = static_cast<std::uint8_t>(low & 0xFF);
  return 4;
}

template <char32_t Limit>
std::size_t encode_octet_char(char32_t cp, std::uint8_t* unit) noexcept {
  if (cp >= Limit) return 0;
  unit[0] = static_cast<std::uint8_t>(cp);
  return 1;
}

// Decodes a septet stream (`septet(i)` for i < count) to UTF-8. TS 23.038 §6.2.1.1: 0x1B escapes
// to the extension table; a code the extension table does not define shows the default-table
// character; 0x1B 0x1B (reserved for a further table) and a trailing 0x1B show a space.
template <class Septet>
text_result decode_septets(std::size_t count, Septet septet, std::span<char> out,
                           unmappable_policy policy) noexcept {
  unit_sink<char> sink(out);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t s = septet(i);
    if (s > 0x7F) {
      if (policy == unmappable_policy::fail) return sink.fail(text_status::invalid_input);
      put_code_point(sink, replacement_char);
      continue;
    }
    if (s != gsm7_escape) {
      put_code_point(sink, gsm7_default_table[s]);
      continue;
    }
    if (i + 1 == count) {
      put_code_point(sink, U' ');
      continue;
    }
    const std::uint8_t next = septet(++i);
    if (next > 0x7F) {
      if (policy == unmappable_policy::fail) return sink.fail(text_status::invalid_input);
      put_code_point(sink, replacement_char);
      continue;
    }
    const char32_t extended = gsm7_extension(next);
    if (extended != 0) {
      put_code_point(sink, extended);
    } else if (next == gsm7_escape) {
      put_code_point(sink, U' ');
    } else {
      put_code_point(sink, gsm7_default_table[next]);
    }
  }
  return sink.finish();
}

text_result decode_ucs2(std::span<const std::byte> coded, std::span<char> out,
                        unmappable_policy policy) noexcept {
  unit_sink<char> sink(out);
  const auto unit_at = [&](std::size_t i) {
    return static_cast<char32_t>((std::to_integer<unsigned>(coded[i]) << 8) |
                                 std::to_integer<unsigned>(coded[i + 1]));
  };
  std::size_t i = 0;
  while (i < coded.size()) {
    if (i + 1 == coded.size()) {  // odd octet count: half a code unit
      if (policy == unmappable_policy::fail) return sink.fail(text_status::invalid_input);
      put_code_point(sink, replacement_char);
      break;
    }
    const char32_t unit = unit_at(i);
    i += 2;
    if (!is_surrogate(unit)) {
      put_code_point(sink, unit);
      continue;
    }
    if (is_high_surrogate(unit) && i + 1 < coded.size() && is_low_surrogate(unit_at(i))) {
      const char32_t low = unit_at(i);
      i += 2;
      put_code_point(sink, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
      continue;
    }
    // Lone surrogate: not a character (Unicode §3.9 D91).
    if (policy == unmappable_policy::fail) return sink.fail(text_status::invalid_input);
    put_code_point(sink, replacement_char);
  }
  return sink.finish();
}

text_result decode_octets(std::span<const std::byte> coded, std::span<char> out,
                          unmappable_policy policy, unsigned limit) noexcept {
  unit_sink<char> sink(out);
  for (const std::byte b : coded) {
    const unsigned v = std::to_integer<unsigned>(b);
    if (v >= limit) {
      if (policy == unmappable_policy::fail) return sink.fail(text_status::invalid_input);
      put_code_point(sink, replacement_char);
      continue;
    }
    put_code_point(sink, static_cast<char32_t>(v));
  }
  return sink.finish();
}

std::uint8_t septet_at(std::span<const std::byte> packed, std::size_t index,
                       unsigned fill_bits) noexcept {
  const std::size_t bit = fill_bits + index * 7;
  const std::size_t octet = bit / 8;
  const unsigned shift = static_cast<unsigned>(bit % 8);
  unsigned v = std::to_integer<unsigned>(packed[octet]) >> shift;
  if (shift > 1) v |= std::to_integer<unsigned>(packed[octet + 1]) << (8 - shift);
  return static_cast<std::uint8_t>(v & 0x7F);
}

}  // namespace

utf8_char next_utf8_char(std::string_view utf8, std::size_t pos) noexcept {
  if (pos >= utf8.size()) return {};
  const auto byte_at = [&](std::size_t i) { return static_cast<unsigned char>(utf8[i]); };
  const unsigned char lead = byte_at(pos);
  if (lead < 0x80) return {lead, 1, true};
  // Unicode §3.9 table 3-7: the lead byte fixes the length and the range of the second byte,
  // which excludes overlongs (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and values
  // above U+10FFFF (F4 90..BF, F5..FF).
  std::size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  char32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    cp = lead & 0x0F;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    cp = lead & 0x07;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {
    return {0, 1, false};
  }
  for (std::size_t i = 1; i < length; ++i) {
    const bool in_range = pos + i < utf8.size() &&
                          (i == 1 ? byte_at(pos + i) >= second_min && byte_at(pos + i) <= second_max
                                  : is_continuation(byte_at(pos + i)));
    if (!in_range) return {0, static_cast<std::uint8_t>(i), false};
    cp = (cp << 6) | (byte_at(pos + i) & 0x3F);
  }
  return {cp, static_cast<std::uint8_t>(length), true};
}

gsm7_char gsm7_from_code_point(char32_t cp) noexcept {
  if (cp < gsm7_latin_reverse.size() && gsm7_latin_reverse[cp] != 0xFF) {
    return {1, {gsm7_latin_reverse[cp], 0}};
  }
  const auto escaped = [](std::uint8_t code) { return gsm7_char{2, {gsm7_escape, code}}; };
  switch (cp) {
    // Greek capitals of the default table, TS 23.038 §6.2.1.
    case U'\u0394':
      return {1, {0x10, 0}};
    case U'\u03A6':
      return {1, {0x12, 0}};
    case U'\u0393':
      return {1, {0x13, 0}};
    case U'\u039B':
      return {1, {0x14, 0}};
    case U'\u03A9':
      return {1, {0x15, 0}};
    case U'\u03A0':
      return {1, {0x16, 0}};
    case U'\u03A8':
      return {1, {0x17, 0}};
    case U'\u03A3':
      return {1, {0x18, 0}};
    case U'\u0398':
      return {1, {0x19, 0}};
    case U'\u039E':
      return {1, {0x1A, 0}};
    // Extension table, TS 23.038 §6.2.1.1.
    case U'\f':
      return escaped(0x0A);
    case U'^':
      return escaped(0x14);
    case U'{':
      return escaped(0x28);
    case U'}':
      return escaped(0x29);
    case U'\\':
      return escaped(0x2F);
    case U'[':
      return escaped(0x3C);
    case U'~':
      return escaped(0x3D);
    case U']':
      return escaped(0x3E);
    case U'|':
      return escaped(0x40);
    case U'\u20AC':
      return escaped(0x65);
    default:
      return {};
  }
}

text_result encode(text_coding coding, std::string_view utf8, std::span<std::byte> out,
                   unmappable_policy policy) noexcept {
  unit_sink<std::byte> sink(out);
  switch (coding) {
    case text_coding::gsm7:
      return encode_with(utf8, sink, policy, encode_gsm7_char, U'?');
    case text_coding::ia5:
      return encode_with(utf8, sink, policy, encode_octet_char<0x80>, U'?');
    case text_coding::latin1:
      return encode_with(utf8, sink, policy, encode_octet_char<0x100>, U'?');
    case text_coding::ucs2:
      return encode_with(utf8, sink, policy, encode_ucs2_char, replacement_char);
    case text_coding::binary:
    case text_coding::unsupported:
      break;
  }
  return {text_status::unsupported_coding, 0, 0};
}

text_result decode(text_coding coding, std::span<const std::byte> coded, std::span<char> out,
                   unmappable_policy policy) noexcept {
  switch (coding) {
    case text_coding::gsm7:
      return decode_septets(
          coded.size(), [&](std::size_t i) { return std::to_integer<std::uint8_t>(coded[i]); }, out,
          policy);
    case text_coding::ia5:
      return decode_octets(coded, out, policy, 0x80);
    case text_coding::latin1:
      return decode_octets(coded, out, policy, 0x100);
    case text_coding::ucs2:
      return decode_ucs2(coded, out, policy);
    case text_coding::binary:
    case text_coding::unsupported:
      break;
  }
  return {text_status::unsupported_coding, 0, 0};
}

text_result encode_gsm7_packed(std::string_view utf8, std::span<std::byte> out,
                               unmappable_policy policy, unsigned fill_bits) noexcept {
  if (fill_bits > 6) return {text_status::invalid_argument, 0, 0};
  packed_sink sink(out, fill_bits);
  return encode_with(utf8, sink, policy, encode_gsm7_char, U'?');
}

text_result decode_gsm7_packed(std::span<const std::byte> packed, std::size_t septet_count,
                               std::span<char> out, unmappable_policy policy,
                               unsigned fill_bits) noexcept {
  if (fill_bits > 6) return {text_status::invalid_argument, 0, 0};
  if (packed_size(septet_count, fill_bits) > packed.size()) {
    return {text_status::invalid_input, 0, 0};
  }
  return decode_septets(
      septet_count, [&](std::size_t i) { return septet_at(packed, i, fill_bits); }, out, policy);
}

text_result pack_septets(std::span<const std::byte> septets, std::span<std::byte> out,
                         unsigned fill_bits) noexcept {
  if (fill_bits > 6) return {text_status::invalid_argument, 0, 0};
  packed_sink sink(out, fill_bits);
  for (const std::byte b : septets) {
    const auto s = std::to_integer<std::uint8_t>(b);
    if (s > 0x7F) return sink.fail(text_status::invalid_input);
    sink.put(&s, 1);
  }
  return sink.finish();
}

text_result unpack_septets(std::span<const std::byte> packed, std::size_t septet_count,
                           std::span<std::byte> out, unsigned fill_bits) noexcept {
  if (fill_bits > 6) return {text_status::invalid_argument, 0, 0};
  if (packed_size(septet_count, fill_bits) > packed.size()) {
    return {text_status::invalid_input, 0, 0};
  }
  if (septet_count > out.size()) return {text_status::buffer_too_small, 0, septet_count};
  for (std::size_t i = 0; i < septet_count; ++i) {
    out[i] = static_cast<std::byte>(septet_at(packed, i, fill_bits));
  }
  return {text_status::ok, septet_count, septet_count};
}

coding_choice choose_coding(std::string_view utf8) noexcept {
  std::size_t septets = 0;
  std::size_t ucs2_octets = 0;
  bool gsm7_holds_all = true;
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    const utf8_char c = next_utf8_char(utf8, pos);
    if (!c.valid) return {text_status::invalid_utf8, text_coding::ucs2, 0x08, 0};
    pos += c.length;
    ucs2_octets += c.code_point < 0x10000 ? 2 : 4;
    if (gsm7_holds_all) {
      const gsm7_char g = gsm7_from_code_point(c.code_point);
      gsm7_holds_all = g.length != 0;
      septets += g.length;
    }
  }
  if (gsm7_holds_all) return {text_status::ok, text_coding::gsm7, 0x00, septets};
  return {text_status::ok, text_coding::ucs2, 0x08, ucs2_octets};
}

data_coding_info parse_data_coding(std::uint8_t dc) noexcept {
  // SMPP 3.4 §5.2.19: the low sixteen values are SMPP's own, not TS 23.038 group 0000.
  if (dc <= 0x0F) {
    switch (dc) {
      case 0x00:
        return {text_coding::gsm7, message_class::none, false};
      case 0x01:
        return {text_coding::ia5, message_class::none, false};
      case 0x02:
      case 0x04:
        return {text_coding::binary, message_class::none, false};
      case 0x03:
        return {text_coding::latin1, message_class::none, false};
      case 0x08:
        return {text_coding::ucs2, message_class::none, false};
      default:
        return {text_coding::unsupported, message_class::none, false};
    }
  }
  const auto class_bits = static_cast<message_class>((dc & 0x03) + 1);
  // TS 23.038 §4: bits 3..2 of the general data coding groups select the alphabet.
  constexpr std::array<text_coding, 4> general_alphabet = {
      text_coding::gsm7, text_coding::binary, text_coding::ucs2, text_coding::unsupported};
  switch (dc & 0xC0) {
    case 0x00:  // 00xx general data coding
    case 0x40:  // 01xx message marked for automatic deletion, same layout
      return {general_alphabet[(dc >> 2) & 0x03],
              (dc & 0x10) != 0 ? class_bits : message_class::none, (dc & 0x20) != 0};
    case 0x80:  // 1000..1011 reserved coding groups
      return {text_coding::unsupported, message_class::none, false};
    default:
      break;
  }
  switch (dc & 0xF0) {
    case 0xC0:  // message waiting indication, discard message: GSM 7-bit
    case 0xD0:  // message waiting indication, store message: GSM 7-bit
      return {text_coding::gsm7, message_class::none, false};
    case 0xE0:  // message waiting indication, store message: UCS-2
      return {text_coding::ucs2, message_class::none, false};
    default:  // 1111 data coding / message class: bit 2 selects GSM 7-bit or 8-bit data
      return {(dc & 0x04) != 0 ? text_coding::binary : text_coding::gsm7, class_bits, false};
  }
}

string_result to_utf8_string(text_coding coding, std::span<const std::byte> coded,
                             unmappable_policy policy) {
  string_result result;
  text_result r = decode(coding, coded, {}, policy);
  if (r.status == text_status::buffer_too_small) {
    result.text.resize(r.needed);
    r = decode(coding, coded, result.text, policy);
  }
  result.status = r.status;
  result.text.resize(r.written);
  return result;
}

bytes_result to_coded_bytes(text_coding coding, std::string_view utf8, unmappable_policy policy) {
  bytes_result result;
  text_result r = encode(coding, utf8, {}, policy);
  if (r.status == text_status::buffer_too_small) {
    result.bytes.resize(r.needed);
    r = encode(coding, utf8, result.bytes, policy);
  }
  result.status = r.status;
  result.bytes.resize(r.written);
  return result;
}

}  // namespace smpp::codec
