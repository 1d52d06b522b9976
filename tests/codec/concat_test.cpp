#include "smpp/codec/concat.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
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

bytes ascii_bytes(std::string_view text) {
  bytes out;
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

bytes to_bytes(std::span<const std::byte> s) {
  return {s.begin(), s.end()};
}

bytes repeat(std::string_view unit_hex, std::size_t count) {
  const bytes unit = hex(unit_hex);
  bytes out;
  for (std::size_t i = 0; i < count; ++i) out.insert(out.end(), unit.begin(), unit.end());
  return out;
}

std::string repeat_text(std::string_view unit, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) out += unit;
  return out;
}

owned_split split(std::string_view text, text_coding coding, concat_method method,
                  std::uint16_t ref = 0x42) {
  return split_text_to_vector(text, {coding, method, ref, unmappable_policy::fail});
}

std::vector<std::size_t> payload_sizes(const owned_split& s) {
  std::vector<std::size_t> sizes;
  for (const owned_message_part& p : s.parts) sizes.push_back(p.payload.size());
  return sizes;
}

using sizes = std::vector<std::size_t>;

// ---- capacities ----

TEST(Split, CapacitiesMatchTs23040) {
  EXPECT_EQ(single_part_capacity(text_coding::gsm7), 160U);
  EXPECT_EQ(single_part_capacity(text_coding::ucs2), 140U);
  EXPECT_EQ(single_part_capacity(text_coding::binary), 140U);
  EXPECT_EQ(part_capacity(text_coding::gsm7, concat_method::udh_ref8), 153U);
  EXPECT_EQ(part_capacity(text_coding::gsm7, concat_method::udh_ref16), 152U);
  EXPECT_EQ(part_capacity(text_coding::ucs2, concat_method::udh_ref8), 134U);   // 67 chars
  EXPECT_EQ(part_capacity(text_coding::ucs2, concat_method::udh_ref16), 132U);  // 66 chars
  EXPECT_EQ(part_capacity(text_coding::binary, concat_method::udh_ref8), 134U);
  EXPECT_EQ(part_capacity(text_coding::binary, concat_method::udh_ref16), 133U);
  EXPECT_EQ(part_capacity(text_coding::gsm7, concat_method::sar), 160U);
  EXPECT_EQ(part_capacity(text_coding::ucs2, concat_method::sar), 140U);
  EXPECT_EQ(part_capacity(text_coding::binary, concat_method::sar), 140U);
}

// ---- GSM 7-bit ----

TEST(SplitGsm7, ExactlyOneSixtyCharactersIsOnePartWithoutUdh) {
  for (const concat_method method :
       {concat_method::udh_ref8, concat_method::udh_ref16, concat_method::sar}) {
    const owned_split s = split(std::string(160, 'a'), text_coding::gsm7, method);
    ASSERT_EQ(s.status, concat_status::ok);
    ASSERT_EQ(s.parts.size(), 1U);
    EXPECT_TRUE(s.parts[0].udh.empty());
    EXPECT_EQ(s.parts[0].payload, bytes(160, std::byte{'a'}));
    EXPECT_EQ(s.parts[0].total, 1);
    EXPECT_EQ(s.parts[0].seq, 1);
  }
}

TEST(SplitGsm7, OneSixtyOneCharactersIsTwoPartsWith8BitReferenceUdh) {
  const owned_split s =
      split(std::string(161, 'a'), text_coding::gsm7, concat_method::udh_ref8, 0xA7);
  ASSERT_EQ(s.status, concat_status::ok);
  EXPECT_EQ(payload_sizes(s), (sizes{153, 8}));
  EXPECT_EQ(s.parts[0].udh, hex("050003A70201"));
  EXPECT_EQ(s.parts[1].udh, hex("050003A70202"));
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(s.parts[i].ref, 0xA7);
    EXPECT_EQ(s.parts[i].total, 2);
    EXPECT_EQ(s.parts[i].seq, i + 1);
  }
  bytes expected_sm = hex("050003A70201");
  expected_sm.insert(expected_sm.end(), 153, std::byte{'a'});
  EXPECT_EQ(s.parts[0].short_message(), expected_sm);
}

TEST(SplitGsm7, SixteenBitReferenceLeaves152SeptetsPerPart) {
  const owned_split s =
      split(std::string(161, 'a'), text_coding::gsm7, concat_method::udh_ref16, 0x1234);
  ASSERT_EQ(s.status, concat_status::ok);
  EXPECT_EQ(payload_sizes(s), (sizes{152, 9}));
  EXPECT_EQ(s.parts[0].udh, hex("06080412340201"));
  EXPECT_EQ(s.parts[1].udh, hex("06080412340202"));
}

TEST(SplitGsm7, PartCountFollows153Boundaries) {
  EXPECT_EQ(payload_sizes(split(std::string(306, 'a'), text_coding::gsm7, concat_method::udh_ref8)),
            (sizes{153, 153}));
  EXPECT_EQ(payload_sizes(split(std::string(307, 'a'), text_coding::gsm7, concat_method::udh_ref8)),
            (sizes{153, 153, 1}));
}

TEST(SplitGsm7, SarPartsCarryTheFull160AndNoUdh) {
  const owned_split s = split(std::string(321, 'b'), text_coding::gsm7, concat_method::sar, 0xBEEF);
  ASSERT_EQ(s.status, concat_status::ok);
  EXPECT_EQ(payload_sizes(s), (sizes{160, 160, 1}));
  for (std::size_t i = 0; i < s.parts.size(); ++i) {
    EXPECT_TRUE(s.parts[i].udh.empty());
    EXPECT_EQ(s.parts[i].ref, 0xBEEF);  // sar_msg_ref_num
    EXPECT_EQ(s.parts[i].total, 3);     // sar_total_segments
    EXPECT_EQ(s.parts[i].seq, i + 1);   // sar_segment_seqnum
  }
}

TEST(SplitGsm7, MessagePayloadIsNeverSplit) {
  const owned_split s =
      split(std::string(1000, 'c'), text_coding::gsm7, concat_method::message_payload);
  ASSERT_EQ(s.status, concat_status::ok);
  EXPECT_EQ(payload_sizes(s), (sizes{1000}));
  EXPECT_TRUE(s.parts[0].udh.empty());
  EXPECT_EQ(
      split(std::string(65535, 'c'), text_coding::gsm7, concat_method::message_payload).status,
      concat_status::ok);
  EXPECT_EQ(
      split(std::string(65536, 'c'), text_coding::gsm7, concat_method::message_payload).status,
      concat_status::too_long);
}

TEST(SplitGsm7, ExtensionCharacterAtBoundaryMovesToNextPart) {
  // 152 + 2 + 7 = 161 septets: the escape pair would occupy septets 153 and 154.
  const std::string text = std::string(152, 'a') + "€" + std::string(7, 'a');
  const owned_split s = split(text, text_coding::gsm7, concat_method::udh_ref8);
  ASSERT_EQ(s.status, concat_status::ok);
  EXPECT_EQ(payload_sizes(s), (sizes{152, 9}));
  EXPECT_EQ(s.parts[0].payload.back(), std::byte{'a'});
  EXPECT_EQ(s.parts[1].payload[0], std::byte{0x1B});
  EXPECT_EQ(s.parts[1].payload[1], std::byte{0x65});

  // One septet earlier it fits exactly.
  const std::string fits = std::string(151, 'a') + "€" + std::string(8, 'a');
  EXPECT_EQ(payload_sizes(split(fits, text_coding::gsm7, concat_method::udh_ref8)),
            (sizes{153, 8}));
}

TEST(SplitGsm7, ExtensionCharactersCountTwoTowardsTheSingleLimit) {
  EXPECT_EQ(payload_sizes(split(repeat_text("€", 80), text_coding::gsm7, concat_method::udh_ref8)),
            (sizes{160}));
  // 81 euros = 162 septets: 76 per part (152 septets), the 153rd septet cannot start a pair.
  EXPECT_EQ(payload_sizes(split(repeat_text("€", 81), text_coding::gsm7, concat_method::udh_ref8)),
            (sizes{152, 10}));
}

TEST(SplitGsm7, TwoHundredFiftyFivePartsIsTheLimit) {
  const owned_split max =
      split(std::string(153 * 255, 'a'), text_coding::gsm7, concat_method::udh_ref8);
  ASSERT_EQ(max.status, concat_status::ok);
  EXPECT_EQ(max.parts.size(), 255U);
  EXPECT_EQ(max.parts.back().udh, hex("05000342FFFF"));
  EXPECT_EQ(
      split(std::string(153 * 255 + 1, 'a'), text_coding::gsm7, concat_method::udh_ref8).status,
      concat_status::too_many_parts);
}

TEST(SplitGsm7, ReplacementPolicyAndErrors) {
  EXPECT_EQ(
      split("a日b" + std::string(200, 'x'), text_coding::gsm7, concat_method::udh_ref8).status,
      concat_status::unmappable);
  EXPECT_EQ(split("a\xC0\xAF", text_coding::gsm7, concat_method::udh_ref8).status,
            concat_status::invalid_utf8);
  const owned_split replaced = split_text_to_vector(
      "a日\xC0"
      "b",
      {text_coding::gsm7, concat_method::udh_ref8, 1, unmappable_policy::replace});
  ASSERT_EQ(replaced.status, concat_status::ok);
  EXPECT_EQ(replaced.parts[0].payload, ascii_bytes("a??b"));
}

// ---- UCS-2 ----

TEST(SplitUcs2, SeventyCharactersIsOnePartSeventyOneIsTwo) {
  EXPECT_EQ(payload_sizes(split(std::string(70, 'a'), text_coding::ucs2, concat_method::udh_ref8)),
            (sizes{140}));
  const owned_split s = split(std::string(71, 'a'), text_coding::ucs2, concat_method::udh_ref8);
  EXPECT_EQ(payload_sizes(s), (sizes{134, 8}));  // 67 + 4 characters
  EXPECT_EQ(s.parts[0].payload, repeat("0061", 67));
  EXPECT_EQ(payload_sizes(split(std::string(71, 'a'), text_coding::ucs2, concat_method::udh_ref16)),
            (sizes{132, 10}));  // 66 + 5 characters
  EXPECT_EQ(payload_sizes(split(std::string(141, 'a'), text_coding::ucs2, concat_method::sar)),
            (sizes{140, 140, 2}));
}

TEST(SplitUcs2, SurrogatePairAtBoundaryMovesToNextPart) {
  // 66 characters + U+1F600 (two code units) + 5: the pair would straddle code units 67 and 68.
  const std::string text = std::string(66, 'a') + "😀" + std::string(5, 'a');
  const owned_split s = split(text, text_coding::ucs2, concat_method::udh_ref8);
  ASSERT_EQ(s.status, concat_status::ok);
  EXPECT_EQ(payload_sizes(s), (sizes{132, 14}));
  bytes second = hex("D83DDE00");
  const bytes five = repeat("0061", 5);
  second.insert(second.end(), five.begin(), five.end());
  EXPECT_EQ(s.parts[1].payload, second);

  const std::string fits = std::string(65, 'a') + "😀" + std::string(6, 'a');
  EXPECT_EQ(payload_sizes(split(fits, text_coding::ucs2, concat_method::udh_ref8)),
            (sizes{134, 12}));
}

// ---- 8-bit and pre-encoded ----

split_options binary_options(concat_method method, std::uint16_t ref = 7) {
  return {text_coding::binary, method, ref, unmappable_policy::fail};
}

TEST(SplitEncoded, BinaryCapacities) {
  const bytes data140(140, std::byte{0xEE});
  const bytes data141(141, std::byte{0xEE});
  EXPECT_EQ(
      payload_sizes(split_encoded_to_vector(data140, binary_options(concat_method::udh_ref8))),
      (sizes{140}));
  EXPECT_EQ(
      payload_sizes(split_encoded_to_vector(data141, binary_options(concat_method::udh_ref8))),
      (sizes{134, 7}));
  EXPECT_EQ(
      payload_sizes(split_encoded_to_vector(data141, binary_options(concat_method::udh_ref16))),
      (sizes{133, 8}));
  EXPECT_EQ(payload_sizes(split_encoded_to_vector(data141, binary_options(concat_method::sar))),
            (sizes{140, 1}));
  const bytes data268(268, std::byte{0xEE});
  EXPECT_EQ(
      payload_sizes(split_encoded_to_vector(data268, binary_options(concat_method::udh_ref8))),
      (sizes{134, 134}));
}

TEST(SplitEncoded, Gsm7EscapeAndUcs2PairsStayTogether) {
  bytes septets(152, std::byte{'a'});
  septets.push_back(std::byte{0x1B});
  septets.push_back(std::byte{0x3C});  // '['
  septets.insert(septets.end(), 7, std::byte{'a'});
  const owned_split gsm = split_encoded_to_vector(
      septets, {text_coding::gsm7, concat_method::udh_ref8, 1, unmappable_policy::fail});
  EXPECT_EQ(payload_sizes(gsm), (sizes{152, 9}));

  bytes ucs2 = repeat("0061", 66);
  const bytes pair = hex("D83DDE00");
  ucs2.insert(ucs2.end(), pair.begin(), pair.end());
  const bytes tail = repeat("0061", 5);
  ucs2.insert(ucs2.end(), tail.begin(), tail.end());
  const owned_split u = split_encoded_to_vector(
      ucs2, {text_coding::ucs2, concat_method::udh_ref8, 1, unmappable_policy::fail});
  EXPECT_EQ(payload_sizes(u), (sizes{132, 14}));

  EXPECT_EQ(split_encoded_to_vector(
                hex("004100"), {text_coding::ucs2, concat_method::sar, 1, unmappable_policy::fail})
                .status,
            concat_status::invalid_input);
}

TEST(SplitText, Latin1UsesEightBitCapacitiesAndBinaryIsRejected) {
  EXPECT_EQ(
      payload_sizes(split(std::string(141, 'e'), text_coding::latin1, concat_method::udh_ref8)),
      (sizes{134, 7}));
  EXPECT_EQ(split("x", text_coding::binary, concat_method::udh_ref8).status,
            concat_status::unsupported_coding);
}

TEST(SplitText, EightBitReferenceMustFitOneOctet) {
  EXPECT_EQ(split(std::string(200, 'a'), text_coding::gsm7, concat_method::udh_ref8, 0x100).status,
            concat_status::reference_out_of_range);
  const owned_split s =
      split(std::string(200, 'a'), text_coding::gsm7, concat_method::udh_ref16, 0xABCD);
  ASSERT_EQ(s.status, concat_status::ok);
  EXPECT_EQ(s.parts[0].udh, hex("060804ABCD0201"));
}

TEST(SplitText, EmptyTextIsOneEmptyPart) {
  const owned_split s = split("", text_coding::gsm7, concat_method::udh_ref8);
  ASSERT_EQ(s.status, concat_status::ok);
  EXPECT_EQ(payload_sizes(s), (sizes{0}));
}

// ---- caller buffers ----

TEST(SplitBuffers, TooSmallReportsExactNeedsAndWritesNothing) {
  const std::string text(161, 'a');
  const split_options options{text_coding::gsm7, concat_method::udh_ref8, 9,
                              unmappable_policy::fail};
  std::array<message_part, 4> parts{};
  std::array<std::byte, 200> arena{};
  arena.fill(std::byte{0xAA});

  split_result r = split_text(text, options, std::span(parts).first(1), arena);
  EXPECT_EQ(r.status, concat_status::buffer_too_small);
  EXPECT_EQ(r.parts, 2U);
  EXPECT_EQ(r.arena_needed, 161U + 2 * 6);

  r = split_text(text, options, parts, std::span(arena).first(172));
  EXPECT_EQ(r.status, concat_status::buffer_too_small);
  EXPECT_EQ(r.arena_needed, 173U);
  for (const std::byte b : arena) ASSERT_EQ(b, std::byte{0xAA});

  r = split_text(text, options, parts, std::span(arena).first(173));
  ASSERT_EQ(r.status, concat_status::ok);
  EXPECT_EQ(r.parts, 2U);
  EXPECT_EQ(arena[173], std::byte{0xAA});
  // Parts live in the arena, UDH immediately before payload.
  EXPECT_EQ(parts[0].udh.data(), arena.data());
  EXPECT_EQ(parts[0].payload.data(), arena.data() + 6);
  EXPECT_EQ(parts[1].udh.data(), arena.data() + 6 + 153);
  EXPECT_EQ(parts[1].short_message().size(), 6U + 8);
  EXPECT_EQ(to_bytes(parts[1].short_message()).front(), std::byte{5});
}

// ---- UDH parsing ----

TEST(ParseUdh, Concatenation8And16BitReferences) {
  const bytes m8 = hex("050003A703026869");
  const udh_parse_result r8 = parse_udh(m8);
  ASSERT_EQ(r8.status, udh_status::ok);
  ASSERT_TRUE(r8.udh.concat.has_value());
  EXPECT_EQ(r8.udh.concat->ref, 0xA7);
  EXPECT_EQ(r8.udh.concat->total, 3);
  EXPECT_EQ(r8.udh.concat->seq, 2);
  EXPECT_FALSE(r8.udh.concat->ref16);
  EXPECT_EQ(to_bytes(r8.udh.payload), ascii_bytes("hi"));
  EXPECT_EQ(r8.udh.header.size(), 6U);
  EXPECT_FALSE(r8.udh.ports.has_value());

  const bytes m16 = hex("060804123403016869");
  const udh_parse_result r16 = parse_udh(m16);
  ASSERT_EQ(r16.status, udh_status::ok);
  ASSERT_TRUE(r16.udh.concat.has_value());
  EXPECT_EQ(r16.udh.concat->ref, 0x1234);
  EXPECT_EQ(r16.udh.concat->total, 3);
  EXPECT_EQ(r16.udh.concat->seq, 1);
  EXPECT_TRUE(r16.udh.concat->ref16);
}

TEST(ParseUdh, PortAddressingAndWapPush) {
  // 16-bit ports: destination 2948 (WAP push), originator 9200, then an 8-bit concatenation IE.
  const bytes message = hex("0B05040B8423F00003110B01CAFE");
  const udh_parse_result r = parse_udh(message);
  ASSERT_EQ(r.status, udh_status::ok);
  ASSERT_TRUE(r.udh.ports.has_value());
  EXPECT_EQ(r.udh.ports->destination, 2948);
  EXPECT_EQ(r.udh.ports->originator, 9200);
  EXPECT_TRUE(r.udh.ports->ports16);
  EXPECT_TRUE(r.udh.ports->is_wap_push());
  ASSERT_TRUE(r.udh.concat.has_value());
  EXPECT_EQ(r.udh.concat->ref, 0x11);
  EXPECT_EQ(r.udh.concat->total, 0x0B);
  EXPECT_EQ(r.udh.concat->seq, 1);
  EXPECT_EQ(to_bytes(r.udh.payload), hex("CAFE"));

  const bytes port8 = hex("040402E2E1");
  const udh_parse_result p8 = parse_udh(port8);
  ASSERT_EQ(p8.status, udh_status::ok);
  ASSERT_TRUE(p8.udh.ports.has_value());
  EXPECT_EQ(p8.udh.ports->destination, 0xE2);
  EXPECT_EQ(p8.udh.ports->originator, 0xE1);
  EXPECT_FALSE(p8.udh.ports->ports16);
  EXPECT_FALSE(p8.udh.ports->is_wap_push());
  EXPECT_TRUE(p8.udh.payload.empty());
}

TEST(ParseUdh, EveryIeIsKeptRawInOrder) {
  // 0x24 national language single shift, 8-bit concatenation, 0x0C with no data, 0x70.
  const bytes m =
      hex("0D2401010003050201"
          "0C00"
          "7001AB"
          "41");
  const udh_parse_result r = parse_udh(m);
  ASSERT_EQ(r.status, udh_status::ok);
  std::vector<std::pair<std::uint8_t, bytes>> seen;
  for (const udh_ie ie : r.udh.ies()) seen.emplace_back(ie.iei, to_bytes(ie.data));
  const std::vector<std::pair<std::uint8_t, bytes>> expected = {
      {0x24, hex("01")}, {0x00, hex("050201")}, {0x0C, {}}, {0x70, hex("AB")}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(to_bytes(r.udh.payload), ascii_bytes("A"));
  ASSERT_TRUE(r.udh.concat.has_value());
  EXPECT_EQ(r.udh.concat->ref, 5);
}

TEST(ParseUdh, EmptyUdhIsValid) {
  const bytes m = hex("0041");
  const udh_parse_result r = parse_udh(m);
  ASSERT_EQ(r.status, udh_status::ok);
  EXPECT_TRUE(r.udh.ies().begin() == r.udh.ies().end());
  EXPECT_EQ(to_bytes(r.udh.payload), ascii_bytes("A"));
}

TEST(ParseUdh, MalformedHeadersAreErrorValues) {
  struct malformed {
    std::string_view message;
    udh_status status;
  };
  for (const malformed& c : {
           malformed{"", udh_status::empty_message},
           malformed{"05000301", udh_status::udh_beyond_message},
           malformed{"FF00", udh_status::udh_beyond_message},
           malformed{"0100", udh_status::ie_header_beyond_udh},
           malformed{"0400030102", udh_status::ie_beyond_udh},
           // The IE claims 3 octets; the message has them but the UDH (UDHL 3) does not.
           malformed{"03000301020304", udh_status::ie_beyond_udh},
           malformed{"0400020102", udh_status::bad_ie_length},
           malformed{"050803010203", udh_status::bad_ie_length},
           malformed{"050403010203", udh_status::bad_ie_length},
           malformed{"0405020B84", udh_status::bad_ie_length},
       }) {
    SCOPED_TRACE(c.message);
    const bytes m = hex(c.message);
    EXPECT_EQ(parse_udh(m).status, c.status);
  }
}

TEST(ParseUdh, InvalidConcatenationValuesAreIgnored) {
  // TS 23.040 §9.2.3.24.1: total 0, seq 0 or seq > total: the IE is ignored, but still listed.
  for (std::string_view message : {"050003070001", "050003070200", "050003070203"}) {
    SCOPED_TRACE(message);
    const bytes m = hex(message);
    const udh_parse_result r = parse_udh(m);
    ASSERT_EQ(r.status, udh_status::ok);
    EXPECT_FALSE(r.udh.concat.has_value());
    EXPECT_FALSE(r.udh.ies().begin() == r.udh.ies().end());
  }
}

TEST(ParseUdh, LastConcatenationIeWins) {
  const bytes message =
      hex("0B"
          "0003070201"
          "0804BEEF0302");
  const udh_parse_result r = parse_udh(message);
  ASSERT_EQ(r.status, udh_status::ok);
  ASSERT_TRUE(r.udh.concat.has_value());
  EXPECT_TRUE(r.udh.concat->ref16);
  EXPECT_EQ(r.udh.concat->ref, 0xBEEF);
  EXPECT_EQ(r.udh.concat->seq, 2);
}

TEST(ParseUdh, ParsesWhatSplitProduces) {
  const owned_split s =
      split(std::string(400, 'z'), text_coding::gsm7, concat_method::udh_ref16, 0x0102);
  ASSERT_EQ(s.parts.size(), 3U);
  for (const owned_message_part& p : s.parts) {
    const bytes sm = p.short_message();
    const udh_parse_result r = parse_udh(sm);
    ASSERT_EQ(r.status, udh_status::ok);
    ASSERT_TRUE(r.udh.concat.has_value());
    EXPECT_EQ(r.udh.concat->ref, 0x0102);
    EXPECT_EQ(r.udh.concat->total, 3);
    EXPECT_EQ(r.udh.concat->seq, p.seq);
    EXPECT_EQ(to_bytes(r.udh.payload), p.payload);
  }
}

// ---- reassembly ----

reassembler_config small_config() {
  reassembler_config c;
  c.max_messages = 4;
  c.max_parts_per_message = 8;
  c.max_total_bytes = 8 * 1024;
  c.timeout_ms = 1000;
  return c;
}

TEST(Reassembler, RandomOrderWithDuplicatesYieldsTheOriginal) {
  std::string text;
  for (int i = 0; i < 700; ++i) text += static_cast<char>('a' + i % 26);
  const owned_split s = split(text, text_coding::gsm7, concat_method::udh_ref8, 0x33);
  ASSERT_EQ(s.parts.size(), 5U);
  bytes original;
  for (const auto& p : s.parts) original.insert(original.end(), p.payload.begin(), p.payload.end());
  EXPECT_EQ(original, ascii_bytes(text));

  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    SCOPED_TRACE(round);
    reassembler r(small_config());
    std::vector<std::size_t> order = {0, 1, 2, 3, 4};
    std::shuffle(order.begin(), order.end(), rng);
    // Duplicate up to two parts somewhere before the last arrival.
    const std::size_t dup_count = round % 3;
    for (std::size_t d = 0; d < dup_count; ++d) {
      const std::size_t at = std::uniform_int_distribution<std::size_t>(1, 4)(rng);
      order.insert(order.begin() + static_cast<std::ptrdiff_t>(at), order[at - 1]);
    }
    int completed = 0;
    std::size_t duplicates = 0;
    std::set<std::size_t> seen;
    for (std::size_t i = 0; i < order.size(); ++i) {
      const owned_message_part& p = s.parts[order[i]];
      const reassembly_result res = r.add_part({"+4912345", 0x33, 5}, p.seq, p.payload, 10);
      if (!seen.insert(order[i]).second) {
        EXPECT_EQ(res.status, reassembly_status::duplicate);
        ++duplicates;
      } else if (seen.size() < 5) {
        EXPECT_EQ(res.status, reassembly_status::stored);
      } else {
        ASSERT_EQ(res.status, reassembly_status::complete);
        EXPECT_EQ(to_bytes(res.message), original);
        ++completed;
      }
    }
    EXPECT_EQ(completed, 1);
    EXPECT_EQ(r.stats().duplicates, duplicates);
    EXPECT_EQ(r.stats().messages_completed, 1U);
    EXPECT_EQ(r.messages_in_progress(), 0U);
    EXPECT_EQ(r.bytes_in_use(), 0U);
  }
}

TEST(Reassembler, InterleavedMessagesAreKeptApartByOriginatorAndReference) {
  reassembler r(small_config());
  const bytes a1 = ascii_bytes("A1"), a2 = ascii_bytes("A2"), b1 = ascii_bytes("B1"),
              b2 = ascii_bytes("B2"), c1 = ascii_bytes("C1"), c2 = ascii_bytes("C2");
  EXPECT_EQ(r.add_part({"alice", 1, 2}, 2, a2, 0).status, reassembly_status::stored);
  EXPECT_EQ(r.add_part({"bob", 1, 2}, 1, b1, 0).status, reassembly_status::stored);
  EXPECT_EQ(r.add_part({"alice", 2, 2}, 1, c1, 0).status, reassembly_status::stored);
  EXPECT_EQ(r.messages_in_progress(), 3U);
  reassembly_result done = r.add_part({"bob", 1, 2}, 2, b2, 0);
  ASSERT_EQ(done.status, reassembly_status::complete);
  EXPECT_EQ(to_bytes(done.message), ascii_bytes("B1B2"));
  done = r.add_part({"alice", 1, 2}, 1, a1, 0);
  ASSERT_EQ(done.status, reassembly_status::complete);
  EXPECT_EQ(to_bytes(done.message), ascii_bytes("A1A2"));
  done = r.add_part({"alice", 2, 2}, 2, c2, 0);
  ASSERT_EQ(done.status, reassembly_status::complete);
  EXPECT_EQ(to_bytes(done.message), ascii_bytes("C1C2"));
  EXPECT_EQ(r.messages_in_progress(), 0U);
  // A late duplicate of a completed message cannot be told from a new message.
  EXPECT_EQ(r.add_part({"bob", 1, 2}, 2, b2, 0).status, reassembly_status::stored);
}

TEST(Reassembler, IncompleteMessageExpiresAfterTimeout) {
  reassembler r(small_config());
  const bytes part = ascii_bytes("part");
  EXPECT_EQ(r.add_part({"alice", 9, 3}, 1, part, 100).status, reassembly_status::stored);
  EXPECT_EQ(r.add_part({"alice", 9, 3}, 3, part, 600).status, reassembly_status::stored);
  EXPECT_EQ(r.expire(1099), 0U);  // timeout runs from the first part
  EXPECT_EQ(r.messages_in_progress(), 1U);
  EXPECT_GT(r.bytes_in_use(), 0U);
  EXPECT_EQ(r.expire(1100), 1U);
  EXPECT_EQ(r.stats().expired, 1U);
  EXPECT_EQ(r.messages_in_progress(), 0U);
  EXPECT_EQ(r.bytes_in_use(), 0U);
  // The missing part now starts a new message.
  EXPECT_EQ(r.add_part({"alice", 9, 3}, 2, part, 1200).status, reassembly_status::stored);
}

TEST(Reassembler, AddPartExpiresOldMessagesFirst) {
  reassembler_config c = small_config();
  c.max_messages = 1;
  reassembler r(c);
  const bytes part = ascii_bytes("x");
  EXPECT_EQ(r.add_part({"a", 1, 2}, 1, part, 0).status, reassembly_status::stored);
  EXPECT_EQ(r.add_part({"b", 1, 2}, 1, part, 999).status, reassembly_status::table_full);
  EXPECT_EQ(r.add_part({"b", 1, 2}, 1, part, 1000).status, reassembly_status::stored);
  EXPECT_EQ(r.stats().expired, 1U);
  EXPECT_EQ(r.stats().rejected_table_full, 1U);
}

TEST(Reassembler, FullTableRejectsNewMessagesButServesMessagesInProgress) {
  reassembler_config c = small_config();
  c.max_messages = 2;
  reassembler r(c);
  const bytes part = ascii_bytes("p");
  EXPECT_EQ(r.add_part({"a", 1, 2}, 1, part, 0).status, reassembly_status::stored);
  EXPECT_EQ(r.add_part({"b", 1, 2}, 1, part, 0).status, reassembly_status::stored);
  EXPECT_EQ(r.add_part({"c", 1, 2}, 1, part, 0).status, reassembly_status::table_full);
  EXPECT_EQ(r.add_part({"c", 1, 2}, 2, part, 0).status, reassembly_status::table_full);
  EXPECT_EQ(r.stats().rejected_table_full, 2U);
  // A single-part message needs no slot.
  EXPECT_EQ(r.add_part({"c", 5, 1}, 1, part, 0).status, reassembly_status::complete);
  EXPECT_EQ(r.add_part({"a", 1, 2}, 2, part, 0).status, reassembly_status::complete);
  EXPECT_EQ(r.add_part({"c", 1, 2}, 1, part, 0).status, reassembly_status::stored);
}

TEST(Reassembler, ByteBudgetRejectsPartsThatDoNotFit) {
  reassembler_config c = small_config();
  c.max_total_bytes = 3 * reassembler::chunk_size;
  reassembler r(c);
  const bytes two_chunks(reassembler::chunk_size + 1, std::byte{1});
  const bytes one_chunk(reassembler::chunk_size, std::byte{2});
  EXPECT_EQ(r.add_part({"a", 1, 3}, 1, two_chunks, 0).status, reassembly_status::stored);
  EXPECT_EQ(r.bytes_in_use(), 2 * reassembler::chunk_size);
  EXPECT_EQ(r.add_part({"a", 1, 3}, 2, two_chunks, 0).status, reassembly_status::memory_full);
  EXPECT_EQ(r.add_part({"b", 1, 2}, 1, two_chunks, 0).status, reassembly_status::memory_full);
  EXPECT_EQ(r.messages_in_progress(), 1U);  // no slot was taken by the rejected new message
  EXPECT_EQ(r.add_part({"a", 1, 3}, 2, one_chunk, 0).status, reassembly_status::stored);
  EXPECT_EQ(r.stats().rejected_memory_full, 2U);
  // Retry of the rejected part once memory is free: the message still completes.
  const reassembly_result done = r.add_part({"a", 1, 3}, 3, bytes{}, 0);
  ASSERT_EQ(done.status, reassembly_status::complete);
  EXPECT_EQ(done.message.size(), two_chunks.size() + one_chunk.size());
  EXPECT_EQ(r.bytes_in_use(), 0U);
}

TEST(Reassembler, InvalidPartsAreRejectedAndCounted) {
  reassembler r(small_config());
  const bytes part = ascii_bytes("p");
  EXPECT_EQ(r.add_part({"a", 1, 0}, 1, part, 0).status, reassembly_status::invalid_total);
  EXPECT_EQ(r.add_part({"a", 1, 3}, 0, part, 0).status, reassembly_status::invalid_seq);
  EXPECT_EQ(r.add_part({"a", 1, 3}, 4, part, 0).status, reassembly_status::invalid_seq);
  EXPECT_EQ(r.add_part({"a", 1, 9}, 1, part, 0).status, reassembly_status::too_many_parts);
  EXPECT_EQ(r.add_part({"a", 1, 3}, 1, bytes(255, std::byte{0}), 0).status,
            reassembly_status::part_too_large);
  EXPECT_EQ(r.add_part({std::string(65, 'o'), 1, 3}, 1, part, 0).status,
            reassembly_status::originator_too_long);
  EXPECT_EQ(r.stats().rejected_invalid, 6U);
  EXPECT_EQ(r.messages_in_progress(), 0U);
  EXPECT_EQ(r.add_part({std::string(64, 'o'), 1, 3}, 1, bytes(254, std::byte{0}), 0).status,
            reassembly_status::stored);
}

TEST(Reassembler, InconsistentTotalIsRejected) {
  reassembler r(small_config());
  const bytes part = ascii_bytes("p");
  EXPECT_EQ(r.add_part({"a", 7, 3}, 1, part, 0).status, reassembly_status::stored);
  EXPECT_EQ(r.add_part({"a", 7, 2}, 2, part, 0).status, reassembly_status::inconsistent_total);
  EXPECT_EQ(r.stats().rejected_inconsistent, 1U);
  EXPECT_EQ(r.add_part({"a", 7, 3}, 2, part, 0).status, reassembly_status::stored);
  EXPECT_EQ(r.add_part({"a", 7, 3}, 3, part, 0).status, reassembly_status::complete);
}

TEST(Reassembler, SinglePartMessageCompletesImmediately) {
  reassembler r(small_config());
  const bytes part = ascii_bytes("whole");
  const reassembly_result res = r.add_part({"a", 1, 1}, 1, part, 0);
  ASSERT_EQ(res.status, reassembly_status::complete);
  EXPECT_EQ(to_bytes(res.message), part);
  EXPECT_EQ(r.messages_in_progress(), 0U);
}

TEST(Reassembler, ZeroCapacityRejectsEverythingWithoutCrashing) {
  reassembler_config c;
  c.max_messages = 0;
  c.max_total_bytes = 0;
  reassembler r(c);
  const bytes part = ascii_bytes("p");
  EXPECT_EQ(r.add_part({"a", 1, 2}, 1, part, 0).status, reassembly_status::table_full);
  EXPECT_EQ(r.add_part({"a", 1, 1}, 1, part, 0).status, reassembly_status::memory_full);
  EXPECT_EQ(r.add_part({"a", 1, 1}, 1, bytes{}, 0).status, reassembly_status::complete);
}

// Random operations against a simple model: checks the index (probing, deletion), the expiry
// list and the chunk pool stay consistent under churn.
TEST(Reassembler, MatchesAModelUnderRandomChurn) {
  reassembler_config c;
  c.max_messages = 8;
  c.max_parts_per_message = 4;
  c.max_total_bytes = 1 << 16;
  c.timeout_ms = 500;
  reassembler r(c);

  struct model_message {
    std::set<std::uint8_t> seqs;
    std::uint64_t first_ms;
    bytes parts[4];
  };
  std::map<std::pair<std::string, std::uint16_t>, model_message> model;
  std::mt19937 rng(777);
  std::uint64_t now = 0;
  for (int op = 0; op < 20000; ++op) {
    now += std::uniform_int_distribution<int>(0, 3)(rng);
    for (auto it = model.begin(); it != model.end();) {
      it = now - it->second.first_ms >= c.timeout_ms ? model.erase(it) : std::next(it);
    }
    const std::string originator =
        "o" + std::to_string(std::uniform_int_distribution<int>(0, 11)(rng));
    const auto ref = static_cast<std::uint16_t>(std::uniform_int_distribution<int>(0, 2)(rng));
    const auto seq = static_cast<std::uint8_t>(std::uniform_int_distribution<int>(1, 3)(rng));
    const bytes part(std::uniform_int_distribution<std::size_t>(0, 100)(rng),
                     static_cast<std::byte>(op & 0xFF));
    const reassembly_result res = r.add_part({originator, ref, 3}, seq, part, now);

    const auto key = std::make_pair(originator, ref);
    auto it = model.find(key);
    if (it == model.end()) {
      if (model.size() == c.max_messages) {
        ASSERT_EQ(res.status, reassembly_status::table_full) << op;
        continue;
      }
      it = model.emplace(key, model_message{{}, now, {}}).first;
    }
    if (!it->second.seqs.insert(seq).second) {
      ASSERT_EQ(res.status, reassembly_status::duplicate) << op;
      continue;
    }
    it->second.parts[seq] = part;
    if (it->second.seqs.size() == 3) {
      ASSERT_EQ(res.status, reassembly_status::complete) << op;
      bytes expected;
      for (std::uint8_t s = 1; s <= 3; ++s) {
        expected.insert(expected.end(), it->second.parts[s].begin(), it->second.parts[s].end());
      }
      ASSERT_EQ(to_bytes(res.message), expected) << op;
      model.erase(it);
    } else {
      ASSERT_EQ(res.status, reassembly_status::stored) << op;
    }
    ASSERT_EQ(r.messages_in_progress(), model.size()) << op;
  }
  EXPECT_GT(r.stats().messages_completed, 100U);
  EXPECT_GT(r.stats().expired, 10U);
  EXPECT_GT(r.stats().rejected_table_full, 10U);
  r.expire(now + c.timeout_ms);
  EXPECT_EQ(r.messages_in_progress(), 0U);
  EXPECT_EQ(r.bytes_in_use(), 0U);
}

}  // namespace
}  // namespace smpp::codec
