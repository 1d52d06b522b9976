// Text codings carried in SMPP short_message / message_payload: the GSM 7-bit default alphabet
// (3GPP TS 23.038 §6.2.1) unpacked and packed, IA5/ASCII, Latin-1 and UCS-2/UTF-16BE, converted
// to and from UTF-8. Pure functions over caller-provided buffers: no allocation, no exceptions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace smpp::codec {

// What the octets of a short message are. SMPP 3.4 §5.2.19 data_coding, 3GPP TS 23.038 §4.
enum class text_coding : std::uint8_t {
  gsm7,         // GSM 7-bit default alphabet + extension table; SMPP carries one septet per octet
  ia5,          // IA5 (CCITT T.50) / ASCII (ANSI X3.4): 7-bit, one octet per character
  latin1,       // ISO-8859-1
  ucs2,         // big-endian; surrogate pairs accepted, i.e. UTF-16BE in practice
  binary,       // 8-bit data, not text
  unsupported,  // a coding this codec does not convert (JIS, Cyrillic, compressed, reserved ...)
};

// What to do with a character the target coding cannot hold, or with invalid input.
enum class unmappable_policy : std::uint8_t {
  fail,     // stop and return an error status
  replace,  // encode: '?' for GSM/IA5/Latin-1, U+FFFD for UCS-2; decode: U+FFFD
};

enum class text_status : std::uint8_t {
  ok,
  buffer_too_small,    // nothing past out.size() was written; `needed` is exact
  invalid_utf8,        // UTF-8 input is ill-formed (policy fail)
  unmappable,          // a valid character the coding cannot hold (policy fail)
  invalid_input,       // coded input is ill-formed: odd UCS-2 length, lone surrogate, octet > 0x7F
                       // in a 7-bit coding, septet count beyond the packed octets (policy fail)
  invalid_argument,    // fill_bits > 6
  unsupported_coding,  // text_coding::binary or ::unsupported given to a text function
};

// Result of every conversion. `written` octets of `out` hold output; on ok or buffer_too_small
// `needed` is the exact size the whole conversion takes (so an empty span measures). On the
// other errors `written` is what was produced before the offending input and `needed` is 0.
struct [[nodiscard]] text_result {
  text_status status = text_status::ok;
  std::size_t written = 0;
  std::size_t needed = 0;

  [[nodiscard]] constexpr bool ok() const noexcept { return status == text_status::ok; }
};

// ---- UTF-8 -> coding ------------------------------------------------------------------------

// Encodes UTF-8 into `coding`: gsm7 yields unpacked septets (one per octet, as short_message
// carries them with data_coding 0), ia5 and latin1 one octet per character, ucs2 big-endian
// UTF-16 code units. GSM extension characters take two septets (0x1B, code), TS 23.038 §6.2.1.1.
[[nodiscard]] text_result encode(text_coding coding, std::string_view utf8,
                                 std::span<std::byte> out, unmappable_policy policy) noexcept;

// Decodes `coded` in `coding` to UTF-8. gsm7 input is unpacked septets.
[[nodiscard]] text_result decode(text_coding coding, std::span<const std::byte> coded,
                                 std::span<char> out, unmappable_policy policy) noexcept;

// ---- GSM 7-bit packed (TS 23.038 §6.1.2.1.1) ------------------------------------------------

// `fill_bits` (0..6) zero bits precede the first septet, to align the text on a septet boundary
// after a User Data Header (TS 23.040 §9.2.3.24); see udh_fill_bits().
[[nodiscard]] text_result encode_gsm7_packed(std::string_view utf8, std::span<std::byte> out,
                                             unmappable_policy policy,
                                             unsigned fill_bits = 0) noexcept;

// `septet_count` comes from the TP-UDL / sm_length context: the octets alone cannot tell
// whether 7 spare bits at the end are padding or an '@' (TS 23.038 §6.1.2.1.1).
[[nodiscard]] text_result decode_gsm7_packed(std::span<const std::byte> packed,
                                             std::size_t septet_count, std::span<char> out,
                                             unmappable_policy policy,
                                             unsigned fill_bits = 0) noexcept;

// Packs unpacked septets (values 0..0x7F) into octets, LSB first. invalid_input on a value > 0x7F.
[[nodiscard]] text_result pack_septets(std::span<const std::byte> septets, std::span<std::byte> out,
                                       unsigned fill_bits = 0) noexcept;
// Unpacks `septet_count` septets. invalid_input when `packed` is too short for them.
[[nodiscard]] text_result unpack_septets(std::span<const std::byte> packed,
                                         std::size_t septet_count, std::span<std::byte> out,
                                         unsigned fill_bits = 0) noexcept;

// Octets needed for `septet_count` packed septets after `fill_bits` fill bits (0 for none).
[[nodiscard]] constexpr std::size_t packed_size(std::size_t septet_count,
                                                unsigned fill_bits = 0) noexcept {
  return septet_count == 0 ? 0 : (septet_count * 7 + fill_bits + 7) / 8;
}

// Fill bits between a UDH of `udh_octets` octets (UDHL included) and the first septet:
// TS 23.040 §9.2.3.24 aligns 7-bit user data on a septet boundary.
[[nodiscard]] constexpr unsigned udh_fill_bits(std::size_t udh_octets) noexcept {
  return static_cast<unsigned>((7 - (udh_octets * 8) % 7) % 7);
}

// ---- one character at a time (for splitters and counters) -----------------------------------

// One step of strict UTF-8 decoding (RFC 3629, Unicode §3.9 table 3-7): overlongs, surrogates
// and values above U+10FFFF are ill-formed. When ill-formed, `length` is the maximal ill-formed
// subpart (>= 1), the unit that replacement substitutes with one character.
struct utf8_char {
  char32_t code_point = 0;
  std::uint8_t length = 0;  // 0 only at end of input
  bool valid = false;
};
[[nodiscard]] utf8_char next_utf8_char(std::string_view utf8, std::size_t pos) noexcept;

// GSM 7-bit septets for one code point: length 0 (not in the alphabet), 1 (default alphabet,
// TS 23.038 §6.2.1) or 2 (0x1B escape + extension table, §6.2.1.1).
struct gsm7_char {
  std::uint8_t length = 0;
  std::array<std::uint8_t, 2> septets{};
};
[[nodiscard]] gsm7_char gsm7_from_code_point(char32_t code_point) noexcept;

// ---- choosing a coding ----------------------------------------------------------------------

// SMPP practice: GSM 7-bit (data_coding 0x00) when every character is in the default alphabet or
// the extension table, else UCS-2 (data_coding 0x08). `length` is septets for gsm7 (extension
// characters count 2) and octets for ucs2 (4 per character outside the BMP).
struct [[nodiscard]] coding_choice {
  text_status status = text_status::ok;  // ok or invalid_utf8
  text_coding coding = text_coding::gsm7;
  std::uint8_t data_coding = 0x00;
  std::size_t length = 0;
};
[[nodiscard]] coding_choice choose_coding(std::string_view utf8) noexcept;

// ---- data_coding ----------------------------------------------------------------------------

// TS 23.038 §4 message class (bits 1..0 when a class is indicated).
enum class message_class : std::uint8_t {
  none,    // no class indicated
  class0,  // flash: displayed immediately, not stored
  class1,  // ME-specific
  class2,  // (U)SIM-specific
  class3,  // TE-specific
};

struct data_coding_info {
  text_coding coding = text_coding::unsupported;
  message_class msg_class = message_class::none;
  bool compressed = false;  // TS 23.042 compression; not decoded here, coding is the alphabet

  [[nodiscard]] constexpr bool is_flash() const noexcept {
    return msg_class == message_class::class0;
  }
};

// 0x00..0x0F per SMPP 3.4 §5.2.19 (0x00 SMSC default = GSM 7-bit, 0x01 IA5, 0x02/0x04 binary,
// 0x03 Latin-1, 0x08 UCS-2, the rest unsupported); 0x10..0xFF per TS 23.038 §4 coding groups.
[[nodiscard]] data_coding_info parse_data_coding(std::uint8_t data_coding) noexcept;

[[nodiscard]] inline bool is_flash(std::uint8_t data_coding) noexcept {
  return parse_data_coding(data_coding).is_flash();
}

// ---- convenience wrappers for tools and tests (allocate) ------------------------------------

struct string_result {
  text_status status = text_status::ok;
  std::string text;
};
[[nodiscard]] string_result to_utf8_string(text_coding coding, std::span<const std::byte> coded,
                                           unmappable_policy policy = unmappable_policy::replace);

struct bytes_result {
  text_status status = text_status::ok;
  std::vector<std::byte> bytes;
};
[[nodiscard]] bytes_result to_coded_bytes(text_coding coding, std::string_view utf8,
                                          unmappable_policy policy = unmappable_policy::replace);

}  // namespace smpp::codec
