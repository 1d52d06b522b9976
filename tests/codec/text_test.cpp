#include "smpp/codec/text.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace smpp::codec {
namespace {

using bytes = std::vector<std::byte>;

bytes hex(std::string_view text) {
  bytes out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

bytes octets(std::initializer_list<int> values) {
  bytes out;
  for (const int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

bytes ascii_bytes(std::string_view text) {
  bytes out;
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

bytes encoded(text_coding coding, std::string_view utf8,
              unmappable_policy policy = unmappable_policy::fail) {
  const bytes_result r = to_coded_bytes(coding, utf8, policy);
  EXPECT_EQ(r.status, text_status::ok) << utf8;
  return r.bytes;
}

std::string decoded(text_coding coding, const bytes& coded,
                    unmappable_policy policy = unmappable_policy::fail) {
  const string_result r = to_utf8_string(coding, coded, policy);
  EXPECT_EQ(r.status, text_status::ok);
  return r.text;
}

// TS 23.038 §6.2.1, typed independently of the codec's table. Index 0x1B is the escape.
constexpr std::array<std::string_view, 128> gsm7_default_alphabet = {
    "@", "£", "$",  "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø", "\r", "Å", "å",
    "Δ", "_", "Φ",  "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ",  "",  "Æ", "æ",  "ß", "É",
    " ", "!", "\"", "#", "¤", "%", "&", "'", "(", ")", "*",  "+", ",", "-",  ".", "/",
    "0", "1", "2",  "3", "4", "5", "6", "7", "8", "9", ":",  ";", "<", "=",  ">", "?",
    "¡", "A", "B",  "C", "D", "E", "F", "G", "H", "I", "J",  "K", "L", "M",  "N", "O",
    "P", "Q", "R",  "S", "T", "U", "V", "W", "X", "Y", "Z",  "Ä", "Ö", "Ñ",  "Ü", "§",
    "¿", "a", "b",  "c", "d", "e", "f", "g", "h", "i", "j",  "k", "l", "m",  "n", "o",
    "p", "q", "r",  "s", "t", "u", "v", "w", "x", "y", "z",  "ä", "ö", "ñ",  "ü", "à",
};

struct extension_char {
  std::uint8_t code;
  std::string_view utf8;
};
// TS 23.038 §6.2.1.1.
constexpr std::array<extension_char, 10> gsm7_extension_table = {{
    {0x0A, "\f"},
    {0x14, "^"},
    {0x28, "{"},
    {0x29, "}"},
    {0x2F, "\\"},
    {0x3C, "["},
    {0x3D, "~"},
    {0x3E, "]"},
    {0x40, "|"},
    {0x65, "€"},
}};

TEST(Gsm7, EveryDefaultAlphabetCharacterRoundTrips) {
  for (int septet = 0; septet < 128; ++septet) {
    if (septet == 0x1B) continue;
    const std::string_view utf8 = gsm7_default_alphabet[septet];
    SCOPED_TRACE(septet);
    EXPECT_EQ(encoded(text_coding::gsm7, utf8), octets({septet}));
    EXPECT_EQ(decoded(text_coding::gsm7, octets({septet})), utf8);
  }
}

TEST(Gsm7, EveryExtensionCharacterEncodesAsEscapePlusCode) {
  for (const auto& [code, utf8] : gsm7_extension_table) {
    SCOPED_TRACE(utf8);
    EXPECT_EQ(encoded(text_coding::gsm7, utf8), octets({0x1B, code}));
    EXPECT_EQ(decoded(text_coding::gsm7, octets({0x1B, code})), utf8);
  }
}

TEST(Gsm7, WholeAlphabetRoundTripsInOneString) {
  std::string all;
  bytes septets;
  for (int septet = 0; septet < 128; ++septet) {
    if (septet == 0x1B) continue;
    all += gsm7_default_alphabet[septet];
    septets.push_back(static_cast<std::byte>(septet));
  }
  for (const auto& [code, utf8] : gsm7_extension_table) {
    all += utf8;
    septets.push_back(std::byte{0x1B});
    septets.push_back(static_cast<std::byte>(code));
  }
  EXPECT_EQ(encoded(text_coding::gsm7, all), septets);
  EXPECT_EQ(decoded(text_coding::gsm7, septets), all);
}

TEST(Gsm7, LookalikesOutsideTheAlphabetAreUnmappable) {
  // ç (small c cedilla) is not 0x09 (capital Ç); Greek capital Alpha is not Latin 'A'; the
  // backtick and the Latin-1 é-with-grave variants are not in the table either.
  for (std::string_view text : {"ç", "Α", "`", "ê", "\t"}) {
    SCOPED_TRACE(text);
    std::array<std::byte, 8> out{};
    const text_result r = encode(text_coding::gsm7, text, out, unmappable_policy::fail);
    EXPECT_EQ(r.status, text_status::unmappable);
    EXPECT_EQ(r.written, 0U);
  }
}

TEST(Gsm7, EscapeFollowedByUndefinedCodeShowsTheDefaultCharacter) {
  // TS 23.038 §6.2.1.1: an undefined extension code displays as the default-table character.
  EXPECT_EQ(decoded(text_coding::gsm7, octets({0x1B, 'A'})), "A");
  // 0x1B 0x1B is reserved for a further extension table: displayed as a space.
  EXPECT_EQ(decoded(text_coding::gsm7, octets({0x1B, 0x1B, 'b'})), " b");
  // A trailing escape has nothing to escape: displayed as a space (TS 23.038 §6.2.1 note).
  EXPECT_EQ(decoded(text_coding::gsm7, octets({'a', 0x1B})), "a ");
}

TEST(Gsm7, OctetAbove7FIsInvalidInputOrReplaced) {
  std::array<char, 16> out{};
  const bytes input = octets({'a', 0x80, 'b'});
  const text_result failed = decode(text_coding::gsm7, input, out, unmappable_policy::fail);
  EXPECT_EQ(failed.status, text_status::invalid_input);
  EXPECT_EQ(failed.written, 1U);
  EXPECT_EQ(decoded(text_coding::gsm7, input, unmappable_policy::replace), "a\uFFFDb");
  EXPECT_EQ(decoded(text_coding::gsm7, octets({0x1B, 0xE5}), unmappable_policy::replace), "\uFFFD");
}

TEST(Gsm7, ReplacePolicySubstitutesQuestionMark) {
  EXPECT_EQ(encoded(text_coding::gsm7, "a日本b", unmappable_policy::replace), ascii_bytes("a??b"));
  std::array<std::byte, 8> out{};
  const text_result r = encode(text_coding::gsm7, "a日本b", out, unmappable_policy::fail);
  EXPECT_EQ(r.status, text_status::unmappable);
  EXPECT_EQ(r.written, 1U);
  EXPECT_EQ(r.needed, 0U);
}

// ---- packing ----

TEST(Gsm7Packed, HellohelloPacksToTheTs23038Example) {
  std::array<std::byte, 16> out{};
  const text_result r = encode_gsm7_packed("hellohello", out, unmappable_policy::fail);
  ASSERT_EQ(r.status, text_status::ok);
  EXPECT_EQ(bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(r.written)),
            hex("E8329BFD4697D9EC37"));

  std::array<char, 16> text{};
  const bytes packed = hex("E8329BFD4697D9EC37");
  const text_result d = decode_gsm7_packed(packed, 10, text, unmappable_policy::fail);
  ASSERT_EQ(d.status, text_status::ok);
  EXPECT_EQ(std::string_view(text.data(), d.written), "hellohello");
}

TEST(Gsm7Packed, FillBitsOneToSixShiftTheSeptets) {
  // Vectors computed with an independent big-integer packer (septet i at bit fill + 7i).
  const std::array<std::string_view, 7> expected = {
      "E8329BFD4697D9EC37",   "D06536FB8D2EB3D96F",   "A0CB6CF61B5D66B3DF",
      "4097D9EC37BACC66BF01", "802EB3D96F7499CD7E03", "005D66B3DFE8329BFD06",
      "00BACC66BFD16536FB0D",
  };
  for (unsigned fill = 0; fill <= 6; ++fill) {
    SCOPED_TRACE(fill);
    std::array<std::byte, 16> out{};
    const text_result r = encode_gsm7_packed("hellohello", out, unmappable_policy::fail, fill);
    ASSERT_EQ(r.status, text_status::ok);
    EXPECT_EQ(r.written, packed_size(10, fill));
    EXPECT_EQ(bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(r.written)),
              hex(expected[fill]));

    std::array<char, 16> text{};
    const bytes packed = hex(expected[fill]);
    const text_result d = decode_gsm7_packed(packed, 10, text, unmappable_policy::fail, fill);
    ASSERT_EQ(d.status, text_status::ok);
    EXPECT_EQ(std::string_view(text.data(), d.written), "hellohello");
  }
}

TEST(Gsm7Packed, UdhFillBitsAlignOnSeptetBoundary) {
  EXPECT_EQ(udh_fill_bits(6), 1U);  // 8-bit concatenation UDH: 153 septets per part
  EXPECT_EQ(udh_fill_bits(7), 0U);  // 16-bit concatenation UDH: 152 septets per part
  EXPECT_EQ(udh_fill_bits(0), 0U);
  EXPECT_EQ(udh_fill_bits(1), 6U);
  EXPECT_EQ((140 * 8 - 6 * 8 - udh_fill_bits(6)) / 7, 153U);
  EXPECT_EQ((140 * 8 - 7 * 8 - udh_fill_bits(7)) / 7, 152U);
}

TEST(Gsm7Packed, SevenSpareBitsAreNotReadAsAtSign) {
  std::array<std::byte, 8> out{};
  const text_result r = encode_gsm7_packed("1234567", out, unmappable_policy::fail);
  ASSERT_EQ(r.status, text_status::ok);
  EXPECT_EQ(bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(r.written)),
            hex("31D98C56B3DD00"));
  std::array<char, 16> text{};
  const text_result d =
      decode_gsm7_packed({out.data(), r.written}, 7, text, unmappable_policy::fail);
  EXPECT_EQ(std::string_view(text.data(), d.written), "1234567");

  const text_result eight = encode_gsm7_packed("12345678", out, unmappable_policy::fail);
  EXPECT_EQ(bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(eight.written)),
            hex("31D98C56B3DD70"));
}

TEST(Gsm7Packed, ExtensionCharactersPackAsTwoSeptets) {
  std::array<std::byte, 16> out{};
  const text_result r = encode_gsm7_packed("a€b", out, unmappable_policy::fail, 3);
  ASSERT_EQ(r.status, text_status::ok);
  EXPECT_EQ(r.written, packed_size(4, 3));
  std::array<std::byte, 8> septets{};
  const text_result u = unpack_septets({out.data(), r.written}, 4, septets, 3);
  ASSERT_EQ(u.status, text_status::ok);
  EXPECT_EQ(bytes(septets.begin(), septets.begin() + 4), octets({'a', 0x1B, 0x65, 'b'}));
  std::array<char, 16> text{};
  const text_result d =
      decode_gsm7_packed({out.data(), r.written}, 4, text, unmappable_policy::fail, 3);
  EXPECT_EQ(std::string_view(text.data(), d.written), "a€b");
}

TEST(Gsm7Packed, PackAndUnpackAreInversesForEveryLengthAndFill) {
  bytes septets;
  for (int i = 0; i < 40; ++i) septets.push_back(static_cast<std::byte>((i * 37 + 5) & 0x7F));
  for (unsigned fill = 0; fill <= 6; ++fill) {
    for (std::size_t n = 0; n <= septets.size(); ++n) {
      std::array<std::byte, 64> packed{};
      const text_result p = pack_septets({septets.data(), n}, packed, fill);
      ASSERT_EQ(p.status, text_status::ok);
      ASSERT_EQ(p.written, packed_size(n, fill));
      // Fill bits are zero.
      if (n > 0) {
        EXPECT_EQ(std::to_integer<unsigned>(packed[0]) & ((1U << fill) - 1), 0U);
      }
      std::array<std::byte, 64> back{};
      const text_result u = unpack_septets({packed.data(), p.written}, n, back, fill);
      ASSERT_EQ(u.status, text_status::ok);
      EXPECT_TRUE(
          std::equal(back.begin(), back.begin() + static_cast<std::ptrdiff_t>(n), septets.begin()));
    }
  }
}

TEST(Gsm7Packed, RejectsBadArguments) {
  std::array<std::byte, 16> out{};
  EXPECT_EQ(encode_gsm7_packed("a", out, unmappable_policy::fail, 7).status,
            text_status::invalid_argument);
  const bytes three = hex("E8329B");
  std::array<char, 16> text{};
  // 4 septets need 4 octets.
  EXPECT_EQ(decode_gsm7_packed(three, 4, text, unmappable_policy::fail).status,
            text_status::invalid_input);
  EXPECT_EQ(pack_septets(octets({0x80}), out).status, text_status::invalid_input);
  EXPECT_EQ(unpack_septets(three, 3, std::span<std::byte>(out).first(2)).status,
            text_status::buffer_too_small);
}

TEST(Gsm7Packed, BufferTooSmallReportsExactSizeAndWritesNothingPastIt) {
  std::array<std::byte, 16> canary_buffer{};
  for (std::size_t size = 0; size < 9; ++size) {
    canary_buffer.fill(std::byte{0xAA});
    const text_result r = encode_gsm7_packed(
        "hellohello", std::span<std::byte>(canary_buffer).first(size), unmappable_policy::fail);
    EXPECT_EQ(r.status, text_status::buffer_too_small);
    EXPECT_EQ(r.needed, 9U);
    EXPECT_LE(r.written, size);
    for (std::size_t i = size; i < canary_buffer.size(); ++i) {
      EXPECT_EQ(canary_buffer[i], std::byte{0xAA}) << "size " << size << " index " << i;
    }
  }
}

// ---- UCS-2 ----

TEST(Ucs2, BmpCharactersAreBigEndianCodeUnits) {
  EXPECT_EQ(encoded(text_coding::ucs2, "A€é"), hex("004120AC00E9"));
  EXPECT_EQ(decoded(text_coding::ucs2, hex("004120AC00E9")), "A€é");
}

TEST(Ucs2, CharacterOutsideBmpIsASurrogatePair) {
  EXPECT_EQ(encoded(text_coding::ucs2, "😀"), hex("D83DDE00"));  // U+1F600
  EXPECT_EQ(decoded(text_coding::ucs2, hex("D83DDE00")), "😀");
  EXPECT_EQ(encoded(text_coding::ucs2, "\U0010FFFF"), hex("DBFFDFFF"));
  EXPECT_EQ(decoded(text_coding::ucs2, hex("0041D83DDE000042")), "A😀B");
}

TEST(Ucs2, LoneOrReversedSurrogatesAreInvalidInput) {
  for (std::string_view input : {"D83D", "D83D0041", "DE00", "DE00D83D", "0041DC00"}) {
    SCOPED_TRACE(input);
    std::array<char, 32> out{};
    EXPECT_EQ(decode(text_coding::ucs2, hex(input), out, unmappable_policy::fail).status,
              text_status::invalid_input);
  }
  EXPECT_EQ(decoded(text_coding::ucs2, hex("D83D0041"), unmappable_policy::replace), "\uFFFDA");
  EXPECT_EQ(decoded(text_coding::ucs2, hex("DE00D83D"), unmappable_policy::replace),
            "\uFFFD\uFFFD");
}

TEST(Ucs2, OddOctetCountIsInvalidInput) {
  std::array<char, 32> out{};
  const text_result r = decode(text_coding::ucs2, hex("004100"), out, unmappable_policy::fail);
  EXPECT_EQ(r.status, text_status::invalid_input);
  EXPECT_EQ(r.written, 1U);
  EXPECT_EQ(decoded(text_coding::ucs2, hex("004100"), unmappable_policy::replace), "A\uFFFD");
}

TEST(Ucs2, InvalidUtf8IsReplacedWithReplacementCharacter) {
  EXPECT_EQ(encoded(text_coding::ucs2,
                    "a\xFF"
                    "b",
                    unmappable_policy::replace),
            hex("0061FFFD0062"));
}

// ---- Latin-1 and IA5 ----

TEST(Latin1, EveryOctetDecodesToTheSameCodePointAndBack) {
  for (int v = 0; v < 256; ++v) {
    SCOPED_TRACE(v);
    const std::string utf8 = decoded(text_coding::latin1, octets({v}));
    const utf8_char c = next_utf8_char(utf8, 0);
    EXPECT_TRUE(c.valid);
    EXPECT_EQ(c.code_point, static_cast<char32_t>(v));
    EXPECT_EQ(c.length, utf8.size());
    EXPECT_EQ(encoded(text_coding::latin1, utf8), octets({v}));
  }
}

TEST(Latin1, CharactersAboveFFAreUnmappable) {
  std::array<std::byte, 8> out{};
  EXPECT_EQ(encode(text_coding::latin1, "€", out, unmappable_policy::fail).status,
            text_status::unmappable);
  EXPECT_EQ(encoded(text_coding::latin1, "é€", unmappable_policy::replace), hex("E93F"));
}

TEST(Ia5, OnlySevenBitCharacters) {
  EXPECT_EQ(encoded(text_coding::ia5, "Hi~"), ascii_bytes("Hi~"));
  std::array<std::byte, 8> out{};
  EXPECT_EQ(encode(text_coding::ia5, "é", out, unmappable_policy::fail).status,
            text_status::unmappable);
  std::array<char, 8> text{};
  EXPECT_EQ(decode(text_coding::ia5, octets({0xE9}), text, unmappable_policy::fail).status,
            text_status::invalid_input);
  EXPECT_EQ(decoded(text_coding::ia5, octets({'a', 0xE9}), unmappable_policy::replace), "a\uFFFD");
}

TEST(Text, BinaryIsNotText) {
  std::array<std::byte, 8> out{};
  EXPECT_EQ(encode(text_coding::binary, "a", out, unmappable_policy::fail).status,
            text_status::unsupported_coding);
  std::array<char, 8> text{};
  EXPECT_EQ(decode(text_coding::unsupported, octets({1}), text, unmappable_policy::fail).status,
            text_status::unsupported_coding);
}

// ---- invalid UTF-8 ----

struct invalid_utf8_case {
  std::string_view name;
  std::string_view input;
  std::string_view gsm7_replaced;  // each maximal ill-formed subpart -> one '?'
};

class InvalidUtf8 : public ::testing::TestWithParam<invalid_utf8_case> {};

TEST_P(InvalidUtf8, IsAnErrorUnderFailAndReplacedUnderReplace) {
  const invalid_utf8_case& c = GetParam();
  for (const text_coding coding :
       {text_coding::gsm7, text_coding::ia5, text_coding::latin1, text_coding::ucs2}) {
    std::array<std::byte, 32> out{};
    const text_result r = encode(coding, c.input, out, unmappable_policy::fail);
    EXPECT_EQ(r.status, text_status::invalid_utf8);
    EXPECT_EQ(r.needed, 0U);
  }
  EXPECT_EQ(encoded(text_coding::gsm7, c.input, unmappable_policy::replace),
            ascii_bytes(c.gsm7_replaced));
  EXPECT_EQ(choose_coding(c.input).status, text_status::invalid_utf8);
  std::array<std::byte, 32> out{};
  EXPECT_EQ(encode_gsm7_packed(c.input, out, unmappable_policy::fail).status,
            text_status::invalid_utf8);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InvalidUtf8,
    ::testing::Values(invalid_utf8_case{"overlong_slash_2",
                                        "a\xC0\xAF"
                                        "b",
                                        "a??b"},
                      invalid_utf8_case{"overlong_nul_2", "\xC1\x80", "??"},
                      invalid_utf8_case{"overlong_3", "\xE0\x80\xAF", "???"},
                      invalid_utf8_case{"overlong_4", "\xF0\x80\x80\xAF", "????"},
                      invalid_utf8_case{"lone_high_surrogate", "\xED\xA0\x80", "???"},
                      invalid_utf8_case{"lone_low_surrogate", "x\xED\xBF\xBF", "x???"},
                      invalid_utf8_case{"cesu_pair", "\xED\xA0\xBD\xED\xB8\x80", "??????"},
                      invalid_utf8_case{"above_10FFFF", "\xF4\x90\x80\x80", "????"},
                      invalid_utf8_case{"f5_lead", "\xF5\x80\x80\x80", "????"},
                      invalid_utf8_case{"truncated_3_at_end", "a\xE2\x82", "a?"},
                      invalid_utf8_case{"truncated_3_then_ascii",
                                        "\xE2\x82"
                                        "A",
                                        "?A"},
                      invalid_utf8_case{"truncated_4", "\xF0\x9F\x98", "?"},
                      invalid_utf8_case{"stray_continuation",
                                        "\x80"
                                        "a",
                                        "?a"},
                      invalid_utf8_case{"fe_ff", "\xFE\xFF", "??"}),
    [](const ::testing::TestParamInfo<invalid_utf8_case>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(Utf8, NextCharDecodesBoundaryCodePoints) {
  struct boundary {
    std::string_view utf8;
    char32_t code_point;
  };
  for (const boundary& b :
       {boundary{"\x7F", 0x7F}, boundary{"\xC2\x80", 0x80}, boundary{"\xDF\xBF", 0x7FF},
        boundary{"\xE0\xA0\x80", 0x800}, boundary{"\xED\x9F\xBF", 0xD7FF},
        boundary{"\xEE\x80\x80", 0xE000}, boundary{"\xEF\xBF\xBF", 0xFFFF},
        boundary{"\xF0\x90\x80\x80", 0x10000}, boundary{"\xF4\x8F\xBF\xBF", 0x10FFFF}}) {
    const utf8_char c = next_utf8_char(b.utf8, 0);
    EXPECT_TRUE(c.valid);
    EXPECT_EQ(c.code_point, b.code_point);
    EXPECT_EQ(c.length, b.utf8.size());
  }
  EXPECT_EQ(next_utf8_char("", 0).length, 0U);
}

// ---- choose_coding ----

TEST(ChooseCoding, PrefersGsm7AndCountsSeptets) {
  struct expectation {
    std::string_view text;
    text_coding coding;
    std::uint8_t data_coding;
    std::size_t length;
  };
  const std::string a160(160, 'a');
  for (const expectation& e : {
           expectation{"", text_coding::gsm7, 0x00, 0},
           expectation{"hello", text_coding::gsm7, 0x00, 5},
           expectation{"€", text_coding::gsm7, 0x00, 2},
           expectation{"[x]", text_coding::gsm7, 0x00, 5},
           expectation{"Ünïcode", text_coding::ucs2, 0x08, 14},  // ï is not GSM
           expectation{"Δé\n", text_coding::gsm7, 0x00, 3},
           expectation{"ç", text_coding::ucs2, 0x08, 2},
           expectation{"hi 😀", text_coding::ucs2, 0x08, 10},
           expectation{"€😀", text_coding::ucs2, 0x08, 6},
           expectation{a160, text_coding::gsm7, 0x00, 160},
       }) {
    SCOPED_TRACE(e.text);
    const coding_choice c = choose_coding(e.text);
    EXPECT_EQ(c.status, text_status::ok);
    EXPECT_EQ(c.coding, e.coding);
    EXPECT_EQ(c.data_coding, e.data_coding);
    EXPECT_EQ(c.length, e.length);
  }
}

// ---- data_coding ----

TEST(DataCoding, SmppValuesAndTs23038Groups) {
  struct expectation {
    std::uint8_t dc;
    text_coding coding;
    message_class msg_class;
    bool compressed;
  };
  using tc = text_coding;
  using mc = message_class;
  for (const expectation& e : {
           expectation{0x00, tc::gsm7, mc::none, false},
           expectation{0x01, tc::ia5, mc::none, false},
           expectation{0x02, tc::binary, mc::none, false},
           expectation{0x03, tc::latin1, mc::none, false},
           expectation{0x04, tc::binary, mc::none, false},
           expectation{0x05, tc::unsupported, mc::none, false},  // JIS
           expectation{0x06, tc::unsupported, mc::none, false},  // Cyrillic
           expectation{0x08, tc::ucs2, mc::none, false},
           expectation{0x0E, tc::unsupported, mc::none, false},  // KS C 5601
           expectation{0x10, tc::gsm7, mc::class0, false},
           expectation{0x11, tc::gsm7, mc::class1, false},
           expectation{0x12, tc::gsm7, mc::class2, false},
           expectation{0x13, tc::gsm7, mc::class3, false},
           expectation{0x14, tc::binary, mc::class0, false},
           expectation{0x16, tc::binary, mc::class2, false},
           expectation{0x18, tc::ucs2, mc::class0, false},
           expectation{0x19, tc::ucs2, mc::class1, false},
           expectation{0x1C, tc::unsupported, mc::class0, false},  // reserved alphabet
           expectation{0x20, tc::gsm7, mc::none, true},
           expectation{0x38, tc::ucs2, mc::class0, true},
           expectation{0x40, tc::gsm7, mc::none, false},  // automatic deletion group
           expectation{0x50, tc::gsm7, mc::class0, false},
           expectation{0x80, tc::unsupported, mc::none, false},
           expectation{0xBF, tc::unsupported, mc::none, false},
           expectation{0xC0, tc::gsm7, mc::none, false},
           expectation{0xD8, tc::gsm7, mc::none, false},
           expectation{0xE0, tc::ucs2, mc::none, false},
           expectation{0xF0, tc::gsm7, mc::class0, false},
           expectation{0xF1, tc::gsm7, mc::class1, false},
           expectation{0xF2, tc::gsm7, mc::class2, false},
           expectation{0xF3, tc::gsm7, mc::class3, false},
           expectation{0xF4, tc::binary, mc::class0, false},
           expectation{0xF5, tc::binary, mc::class1, false},
           expectation{0xF6, tc::binary, mc::class2, false},
       }) {
    SCOPED_TRACE(static_cast<int>(e.dc));
    const data_coding_info info = parse_data_coding(e.dc);
    EXPECT_EQ(info.coding, e.coding);
    EXPECT_EQ(info.msg_class, e.msg_class);
    EXPECT_EQ(info.compressed, e.compressed);
  }
}

TEST(DataCoding, FlashIsMessageClassZero) {
  for (const std::uint8_t dc :
       std::initializer_list<std::uint8_t>{0x10, 0x14, 0x18, 0x50, 0xF0, 0xF4}) {
    EXPECT_TRUE(is_flash(dc)) << static_cast<int>(dc);
  }
  for (const std::uint8_t dc : std::initializer_list<std::uint8_t>{0x00, 0x08, 0x03, 0x11, 0x00,
                                                                   0x19, 0xF1, 0xF5, 0xC0, 0x40}) {
    EXPECT_FALSE(is_flash(dc)) << static_cast<int>(dc);
  }
}

// ---- buffers ----

TEST(Buffers, EncodeTooSmallReportsExactSizeAndWholeCharacters) {
  // "a€😀" in UCS-2 is 2 + 2 + 4 octets; in GSM 1 + 2 septets then unmappable.
  const std::string_view text = "a€😀";
  std::array<std::byte, 16> buffer{};
  for (std::size_t size = 0; size < 8; ++size) {
    buffer.fill(std::byte{0xAA});
    const text_result r = encode(text_coding::ucs2, text, std::span<std::byte>(buffer).first(size),
                                 unmappable_policy::fail);
    EXPECT_EQ(r.status, text_status::buffer_too_small);
    EXPECT_EQ(r.needed, 8U);
    // Only whole characters: 0, 2 or 4 octets.
    EXPECT_EQ(r.written, size < 2 ? 0U : size < 4 ? 2U : 4U);
    for (std::size_t i = size; i < buffer.size(); ++i) EXPECT_EQ(buffer[i], std::byte{0xAA});
  }
  const text_result exact = encode(text_coding::ucs2, text, std::span<std::byte>(buffer).first(8),
                                   unmappable_policy::fail);
  EXPECT_EQ(exact.status, text_status::ok);
  EXPECT_EQ(exact.written, 8U);
  EXPECT_EQ(exact.needed, 8U);

  // An escape sequence is never cut: with room for 2 septets "a€" writes only "a".
  const text_result gsm = encode(text_coding::gsm7, "a€", std::span<std::byte>(buffer).first(2),
                                 unmappable_policy::fail);
  EXPECT_EQ(gsm.status, text_status::buffer_too_small);
  EXPECT_EQ(gsm.written, 1U);
  EXPECT_EQ(gsm.needed, 3U);
}

TEST(Buffers, DecodeTooSmallReportsExactSize) {
  const bytes ucs2 = hex("0041D83DDE0020AC");  // "A😀€" = 1 + 4 + 3 UTF-8 octets
  std::array<char, 16> buffer{};
  for (std::size_t size = 0; size < 8; ++size) {
    buffer.fill('#');
    const text_result r = decode(text_coding::ucs2, ucs2, std::span<char>(buffer).first(size),
                                 unmappable_policy::fail);
    EXPECT_EQ(r.status, text_status::buffer_too_small);
    EXPECT_EQ(r.needed, 8U);
    EXPECT_EQ(r.written, size < 1 ? 0U : size < 5 ? 1U : 5U);
    for (std::size_t i = size; i < buffer.size(); ++i) EXPECT_EQ(buffer[i], '#');
  }
  const text_result measured = decode(text_coding::ucs2, ucs2, {}, unmappable_policy::fail);
  EXPECT_EQ(measured.needed, 8U);
}

TEST(Buffers, EmptyInputIsOkWithZeroSize) {
  const text_result e = encode(text_coding::gsm7, "", {}, unmappable_policy::fail);
  EXPECT_EQ(e.status, text_status::ok);
  EXPECT_EQ(e.needed, 0U);
  const text_result p = encode_gsm7_packed("", {}, unmappable_policy::fail, 3);
  EXPECT_EQ(p.status, text_status::ok);
  EXPECT_EQ(p.needed, 0U);
}

}  // namespace
}  // namespace smpp::codec
