// Text and binary messages against hand-computed vectors (TS 23.038, TS 23.040 §9.2.3.24).
#include "smpp/http/message_builder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace smpp::http {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (const int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

std::vector<std::byte> ascii(std::string_view s) {
  std::vector<std::byte> out;
  for (const char c : s) out.push_back(static_cast<std::byte>(c));
  return out;
}

TEST(BuildText, ShortAsciiIsOneGsmPartOfUnpackedSeptets) {
  const auto r = build_text("hello", false, 7, 10);
  ASSERT_EQ(r.error, build_error::none);
  ASSERT_EQ(r.parts.size(), 1u);
  EXPECT_EQ(r.parts[0].data_coding, 0x00);
  EXPECT_EQ(r.parts[0].esm_class, 0x00);
  EXPECT_EQ(r.parts[0].short_message, ascii("hello"));
}

TEST(BuildText, EuroSignIsTheGsmExtensionEscape) {
  // TS 23.038 §6.2.1.1: '€' is 0x1B 0x65; '@' is septet 0x00.
  const auto r = build_text("@\xE2\x82\xAC", false, 0, 10);
  ASSERT_EQ(r.error, build_error::none);
  ASSERT_EQ(r.parts.size(), 1u);
  EXPECT_EQ(r.parts[0].data_coding, 0x00);
  EXPECT_EQ(r.parts[0].short_message, bytes({0x00, 0x1B, 0x65}));
}

TEST(BuildText, CyrillicIsUcs2BigEndian) {
  const auto r = build_text("\xD0\x9F\xD1\x80", false, 0, 10);  // "Пр"
  ASSERT_EQ(r.error, build_error::none);
  ASSERT_EQ(r.parts.size(), 1u);
  EXPECT_EQ(r.parts[0].data_coding, 0x08);
  EXPECT_EQ(r.parts[0].short_message, bytes({0x04, 0x1F, 0x04, 0x40}));
}

TEST(BuildText, FlashSetsMessageClassZero) {
  // TS 23.038 §4: 0001 0000 GSM 7-bit class 0; 0001 1000 UCS-2 class 0.
  EXPECT_EQ(build_text("hi", true, 0, 10).parts.at(0).data_coding, 0x10);
  EXPECT_EQ(build_text("\xD0\x9F", true, 0, 10).parts.at(0).data_coding, 0x18);
}

TEST(BuildText, OneHundredSixtyGsmCharactersFitOneMessageAndOneMoreMakesTwo) {
  EXPECT_EQ(build_text(std::string(160, 'a'), false, 0, 10).parts.size(), 1u);
  const auto r = build_text(std::string(161, 'a'), false, 0x2A, 10);
  ASSERT_EQ(r.error, build_error::none);
  ASSERT_EQ(r.parts.size(), 2u);
  // UDHL 5, IEI 00 (8-bit reference), length 3, reference, total, sequence; 153 + 8 septets.
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& sm = r.parts[i].short_message;
    EXPECT_EQ(r.parts[i].esm_class, 0x40);
    ASSERT_GE(sm.size(), 6u);
    EXPECT_EQ(std::vector<std::byte>(sm.begin(), sm.begin() + 6),
              bytes({0x05, 0x00, 0x03, 0x2A, 0x02, static_cast<int>(i + 1)}));
  }
  EXPECT_EQ(r.parts[0].short_message.size(), 6u + 153u);
  EXPECT_EQ(r.parts[1].short_message.size(), 6u + 8u);
}

TEST(BuildText, SeventyUcs2CharactersFitOneMessageAndOneMoreMakesTwo) {
  std::string seventy;
  for (int i = 0; i < 70; ++i) seventy += "\xD0\x9F";
  EXPECT_EQ(build_text(seventy, false, 0, 10).parts.size(), 1u);
  const auto r = build_text(seventy + "\xD0\x9F", false, 1, 10);
  ASSERT_EQ(r.parts.size(), 2u);
  EXPECT_EQ(r.parts[0].short_message.size(), 6u + 67u * 2u);
  EXPECT_EQ(r.parts[1].short_message.size(), 6u + 4u * 2u);
  EXPECT_EQ(r.parts[1].data_coding, 0x08);
}

TEST(BuildText, RefusesEmptyTooLongAndInvalidUtf8) {
  EXPECT_EQ(build_text("", false, 0, 10).error, build_error::empty);
  EXPECT_EQ(build_text(std::string(153 * 2, 'a'), false, 0, 2).error, build_error::none);
  EXPECT_EQ(build_text(std::string(153 * 2 + 1, 'a'), false, 0, 2).error, build_error::too_long);
  EXPECT_EQ(build_text("\xC3\x28", false, 0, 10).error, build_error::invalid_utf8);
}

TEST(BuildBinary, WapPushPortsMakeTheWellKnownHeader) {
  // TS 23.040 §9.2.3.24.4: UDHL 6, IEI 05, length 4, destination 2948 (0x0B84), source 9200
  // (0x23F0): the header every WAP push SMS starts with.
  const auto r = build_binary(bytes({0x01, 0x06}), port_pair{9200, 2948}, 0, 10);
  ASSERT_EQ(r.error, build_error::none);
  ASSERT_EQ(r.parts.size(), 1u);
  EXPECT_EQ(r.parts[0].data_coding, 0x04);
  EXPECT_EQ(r.parts[0].esm_class, 0x40);
  EXPECT_EQ(r.parts[0].short_message,
            bytes({0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x01, 0x06}));
}

TEST(BuildBinary, WithoutPortsShortDataHasNoHeader) {
  const auto r = build_binary(bytes({0xDE, 0xAD}), std::nullopt, 0, 10);
  ASSERT_EQ(r.parts.size(), 1u);
  EXPECT_EQ(r.parts[0].esm_class, 0x00);
  EXPECT_EQ(r.parts[0].short_message, bytes({0xDE, 0xAD}));
}

TEST(BuildBinary, LongDataWithPortsCarriesPortAndConcatenationHeaders) {
  // 133 octets fit beside the 7-octet port header; 134 need two parts of at most 128.
  EXPECT_EQ(build_binary(std::vector<std::byte>(133), port_pair{1, 2}, 0, 10).parts.size(), 1u);
  const auto r =
      build_binary(std::vector<std::byte>(200, std::byte{0xAB}), port_pair{9200, 2948}, 0x11, 10);
  ASSERT_EQ(r.parts.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& sm = r.parts[i].short_message;
    EXPECT_EQ(std::vector<std::byte>(sm.begin(), sm.begin() + 12),
              bytes({0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x11, 0x02,
                     static_cast<int>(i + 1)}));
    EXPECT_LE(sm.size(), 140u);
  }
  EXPECT_EQ(r.parts[0].short_message.size(), 140u);
  EXPECT_EQ(r.parts[1].short_message.size(), 12u + 72u);
}

TEST(BuildBinary, RefusesEmptyAndTooLong) {
  EXPECT_EQ(build_binary({}, std::nullopt, 0, 10).error, build_error::empty);
  EXPECT_EQ(build_binary(std::vector<std::byte>(134 * 2 + 1), std::nullopt, 0, 2).error,
            build_error::too_long);
  EXPECT_EQ(build_binary(std::vector<std::byte>(134 * 2), std::nullopt, 0, 2).error,
            build_error::none);
}

}  // namespace
}  // namespace smpp::http
