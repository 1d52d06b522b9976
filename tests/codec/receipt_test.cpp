#include "smpp/codec/receipt.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace smpp::codec {
namespace {

using namespace std::string_view_literals;

constexpr receipt_date date(int yy, int mo, int dd, int hh, int mi, int ss = 0) {
  return receipt_date{static_cast<std::uint16_t>(2000 + yy), static_cast<std::uint8_t>(mo),
                      static_cast<std::uint8_t>(dd),         static_cast<std::uint8_t>(hh),
                      static_cast<std::uint8_t>(mi),         static_cast<std::uint8_t>(ss)};
}

// True when view lies inside input: the parser must hand back views, never copies.
bool inside(std::string_view view, std::string_view input) {
  return view.empty() ||
         (view.data() >= input.data() && view.data() + view.size() <= input.data() + input.size());
}

// ---------------------------------------------------------------------------------------------
// Real-world-style variants, one row each.

struct variant {
  const char* name;
  std::string_view input;
  std::string_view id;
  std::optional<std::uint32_t> sub;
  std::optional<std::uint32_t> dlvrd;
  std::optional<receipt_date> submit_date;
  std::optional<receipt_date> done_date;
  std::optional<message_state> stat;
  std::optional<std::uint32_t> err;
  std::optional<std::string_view> text;  // nullopt: no "text:" key at all
};

std::ostream& operator<<(std::ostream& os, const variant& v) {
  return os << v.name;
}

const variant kVariants[] = {
    {"KannelStandard",
     "id:1234567890 sub:001 dlvrd:001 submit date:2301021345 done date:2301021346 stat:DELIVRD "
     "err:000 text:Hello world",
     "1234567890", 1, 1, date(23, 1, 2, 13, 45), date(23, 1, 2, 13, 46), message_state::delivered,
     0, "Hello world"sv},
    // The four below are the short_message of receipts captured from real SMSCs, as carried in
    // the Cloudhopper decoder tests (tests data: real-world-pdus.hex).
    {"LogicaCapitalTextPaddedTo20",
     "id:126e85a6edeac1a02020099312479564 sub:001 dlvrd:001 submit date:1002191630 done "
     "date:1002191630 stat:DELIVRD err:000 Text:Hello               ",
     "126e85a6edeac1a02020099312479564", 1, 1, date(10, 2, 19, 16, 30), date(10, 2, 19, 16, 30),
     message_state::delivered, 0, "Hello               "sv},
    {"AcceptedWithErrAndSpaceBeforeText",
     "id:94251430923 sub:001 dlvrd:001 submit date:0911040124 done date:0911040124 "
     "stat:ACCEPTD err:107 text: 26F102",
     "94251430923", 1, 1, date(9, 11, 4, 1, 24), date(9, 11, 4, 1, 24), message_state::accepted,
     107, " 26F102"sv},
    {"LeadingZeroIdAndColonsInText",
     "id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done date:1002101731 stat:DELIVRD "
     "err:000 text:@$#!%&/:",
     "0059113978", 1, 1, date(10, 2, 10, 17, 30), date(10, 2, 10, 17, 31), message_state::delivered,
     0, "@$#!%&/:"sv},
    {"TruncatedTextKey",
     "id:0000003005 sub:001 dlvrd:001 submit date:1001181431 done date:1001181431 stat:DELIVRD "
     "err:000 te",
     "0000003005", 1, 1, date(10, 1, 18, 14, 31), date(10, 1, 18, 14, 31), message_state::delivered,
     0, std::nullopt},
    {"HexId",
     "id:4F2A0B1C sub:001 dlvrd:001 submit date:2305061200 done date:2305061201 stat:DELIVRD "
     "err:000 text:",
     "4F2A0B1C", 1, 1, date(23, 5, 6, 12, 0), date(23, 5, 6, 12, 1), message_state::delivered, 0,
     ""sv},
    {"Decimal20DigitId",
     "id:12345678901234567890 sub:001 dlvrd:001 submit date:2312312359 done date:2401010000 "
     "stat:DELIVRD err:000 text:Happy new year",
     "12345678901234567890", 1, 1, date(23, 12, 31, 23, 59), date(24, 1, 1, 0, 0),
     message_state::delivered, 0, "Happy new year"sv},
    {"UppercaseKeys",
     "ID:77 SUB:001 DLVRD:001 SUBMIT DATE:2302031000 DONE DATE:2302031001 STAT:DELIVRD ERR:000 "
     "TEXT:HI",
     "77", 1, 1, date(23, 2, 3, 10, 0), date(23, 2, 3, 10, 1), message_state::delivered, 0, "HI"sv},
    {"MixedCaseKeys",
     "Id:77 Sub:001 Dlvrd:001 Submit Date:2302031000 Done Date:2302031001 Stat:UNDELIV Err:034 "
     "Text:hi",
     "77", 1, 1, date(23, 2, 3, 10, 0), date(23, 2, 3, 10, 1), message_state::undeliverable, 34,
     "hi"sv},
    {"MissingSubAndDlvrd",
     "id:abc submit date:2302031000 done date:2302031001 stat:UNDELIV err:001 text:x", "abc",
     std::nullopt, std::nullopt, date(23, 2, 3, 10, 0), date(23, 2, 3, 10, 1),
     message_state::undeliverable, 1, "x"sv},
    {"MissingText",
     "id:abc sub:001 dlvrd:000 submit date:2302031000 done date:2302031001 stat:EXPIRED err:000",
     "abc", 1, 0, date(23, 2, 3, 10, 0), date(23, 2, 3, 10, 1), message_state::expired, 0,
     std::nullopt},
    {"TwelveDigitDates",
     "id:5 sub:001 dlvrd:001 submit date:230203100059 done date:230203100107 stat:DELIVRD "
     "err:000 text:s",
     "5", 1, 1, date(23, 2, 3, 10, 0, 59), date(23, 2, 3, 10, 1, 7), message_state::delivered, 0,
     "s"sv},
    {"MixedTenAndTwelveDigitDates",
     "id:5 submit date:2302031000 done date:230203100107 stat:DELIVRD", "5", std::nullopt,
     std::nullopt, date(23, 2, 3, 10, 0), date(23, 2, 3, 10, 1, 7), message_state::delivered,
     std::nullopt, std::nullopt},
    {"LowercaseStat",
     "id:5 sub:001 dlvrd:001 submit date:2302031000 done date:2302031001 stat:delivrd err:0", "5",
     1, 1, date(23, 2, 3, 10, 0), date(23, 2, 3, 10, 1), message_state::delivered, 0, std::nullopt},
    {"OneDigitErr", "id:5 stat:REJECTD err:0", "5", std::nullopt, std::nullopt, std::nullopt,
     std::nullopt, message_state::rejected, 0, std::nullopt},
    {"FourDigitErr", "id:5 stat:UNDELIV err:1234 text:t", "5", std::nullopt, std::nullopt,
     std::nullopt, std::nullopt, message_state::undeliverable, 1234, "t"sv},
    {"ExtraWhitespace",
     "  id:9   sub:001\tdlvrd:001  submit  date:2302031000   done \t date:2302031001  "
     "stat:DELIVRD    err:000  text:two  spaces",
     "9", 1, 1, date(23, 2, 3, 10, 0), date(23, 2, 3, 10, 1), message_state::delivered, 0,
     "two  spaces"sv},
    {"BlankAfterColon", "id: 9 sub: 001 stat: DELIVRD err: 000", "9", 1, std::nullopt, std::nullopt,
     std::nullopt, message_state::delivered, 0, std::nullopt},
    {"FieldsReordered",
     "stat:EXPIRED err:000 done date:2302031001 id:31 dlvrd:000 submit date:2302031000 sub:001 "
     "text:late",
     "31", 1, 0, date(23, 2, 3, 10, 0), date(23, 2, 3, 10, 1), message_state::expired, 0, "late"sv},
    {"TrailingNul", "id:8 stat:DELIVRD err:000 text:abc\0"sv, "8", std::nullopt, std::nullopt,
     std::nullopt, std::nullopt, message_state::delivered, 0, "abc"sv},
    {"GarbageAfterNul", "id:8 stat:DELIVRD text:abc\0id:9 stat:EXPIRED\x01\x02"sv, "8",
     std::nullopt, std::nullopt, std::nullopt, std::nullopt, message_state::delivered, std::nullopt,
     "abc"sv},
    {"TrailingCrLf", "id:8 sub:001 stat:DELIVRD err:000 text:abc\r\n", "8", 1, std::nullopt,
     std::nullopt, std::nullopt, message_state::delivered, 0, "abc"sv},
    {"TrailingCrLfWithoutText", "id:8 stat:DELIVRD err:000\r\n", "8", std::nullopt, std::nullopt,
     std::nullopt, std::nullopt, message_state::delivered, 0, std::nullopt},
    {"UnderscoreDateKeys",
     "id:8 sub:001 dlvrd:001 submit_date:2302031000 done_date:2302031001 stat:DELIVRD err:000", "8",
     1, 1, date(23, 2, 3, 10, 0), date(23, 2, 3, 10, 1), message_state::delivered, 0, std::nullopt},
    {"ClickatellStyleLetterId",
     "id:b2d6c8a2c0a5f12e3dd9c4b1 sub:001 dlvrd:001 submit date:2302031000 done "
     "date:2302031001 stat:DELIVRD err:000 text:",
     "b2d6c8a2c0a5f12e3dd9c4b1", 1, 1, date(23, 2, 3, 10, 0), date(23, 2, 3, 10, 1),
     message_state::delivered, 0, ""sv},
    {"SybaseStyleStatusAndErrorAliases",
     "id:MSG-00A1 Sub:001 Dlvrd:001 Submit_Date:2302031000 Done_Date:2302031001 "
     "Status:UNDELIV Error:206 Text:Your code is 1234",
     "MSG-00A1", 1, 1, date(23, 2, 3, 10, 0), date(23, 2, 3, 10, 1), message_state::undeliverable,
     206, "Your code is 1234"sv},
    {"UnknownKeysIgnored", "smsc:alpha id:8 foo:bar stat:DELIVRD baz: err:000 text:t", "8",
     std::nullopt, std::nullopt, std::nullopt, std::nullopt, message_state::delivered, 0, "t"sv},
    {"TextHoldsKeysVerbatim", "id:8 stat:DELIVRD text:id:999 stat:EXPIRED err:5", "8", std::nullopt,
     std::nullopt, std::nullopt, std::nullopt, message_state::delivered, std::nullopt,
     "id:999 stat:EXPIRED err:5"sv},
    {"RepeatedKeyFirstWins", "id:1 stat:ENROUTE id:2 stat:DELIVRD", "1", std::nullopt, std::nullopt,
     std::nullopt, std::nullopt, message_state::enroute, std::nullopt, std::nullopt},
    {"IntermediateEnroute", "id:1 sub:001 dlvrd:000 stat:ENROUTE err:000", "1", 1, 0, std::nullopt,
     std::nullopt, message_state::enroute, 0, std::nullopt},
    {"Smpp50Skipped", "id:1 stat:SKIPPED", "1", std::nullopt, std::nullopt, std::nullopt,
     std::nullopt, message_state::skipped, std::nullopt, std::nullopt},
    {"NumericStat", "id:1 stat:5", "1", std::nullopt, std::nullopt, std::nullopt, std::nullopt,
     message_state::undeliverable, std::nullopt, std::nullopt},
    {"IdOnly", "id:1", "1", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
     std::nullopt, std::nullopt},
    {"IdWithColon", "id:12:34 stat:DELIVRD", "12:34", std::nullopt, std::nullopt, std::nullopt,
     std::nullopt, message_state::delivered, std::nullopt, std::nullopt},
    {"PrefixBeforeId", "DLR: id:42 stat:DELIVRD", "42", std::nullopt, std::nullopt, std::nullopt,
     std::nullopt, message_state::delivered, std::nullopt, std::nullopt},
};

class receipt_variant : public ::testing::TestWithParam<variant> {};

TEST_P(receipt_variant, ParsesEveryField) {
  const variant& v = GetParam();
  const receipt_parse_result result = parse_receipt_text(v.input);
  ASSERT_TRUE(result.ok()) << to_string(result.error);
  const receipt_text& r = result.receipt;
  EXPECT_EQ(r.id, v.id);
  EXPECT_EQ(r.sub.value, v.sub);
  EXPECT_EQ(r.dlvrd.value, v.dlvrd);
  EXPECT_EQ(r.submit_date.value, v.submit_date);
  EXPECT_EQ(r.done_date.value, v.done_date);
  EXPECT_EQ(r.stat.value, v.stat);
  EXPECT_EQ(r.err.value, v.err);
  EXPECT_EQ(r.has_text, v.text.has_value());
  if (v.text) {
    EXPECT_EQ(r.text, *v.text);
  }
  EXPECT_FALSE(r.input_truncated);
  for (const std::string_view view : {r.id, r.sub.raw, r.dlvrd.raw, r.submit_date.raw,
                                      r.done_date.raw, r.stat.raw, r.err.raw, r.text}) {
    EXPECT_TRUE(inside(view, v.input)) << view;
  }
}

TEST_P(receipt_variant, ParsesTheSameFromBytes) {
  const variant& v = GetParam();
  const auto bytes = std::as_bytes(std::span(v.input.data(), v.input.size()));
  const receipt_parse_result from_bytes = parse_receipt_text(bytes);
  const receipt_parse_result from_chars = parse_receipt_text(v.input);
  ASSERT_TRUE(from_bytes.ok());
  EXPECT_EQ(from_bytes.receipt.id, from_chars.receipt.id);
  EXPECT_EQ(from_bytes.receipt.text, from_chars.receipt.text);
}

INSTANTIATE_TEST_SUITE_P(RealWorld, receipt_variant, ::testing::ValuesIn(kVariants),
                         [](const auto& p) { return std::string(p.param.name); });

// ---------------------------------------------------------------------------------------------
// Field-level detail the table does not show.

TEST(ReceiptParse, KeepsRawValuesAsSent) {
  const auto r = parse_receipt_text("id:0042 sub:01 dlvrd:N/A stat:Delivrd err:0x1A").receipt;
  EXPECT_EQ(r.sub.raw, "01");
  EXPECT_EQ(r.sub.value, 1u);
  EXPECT_TRUE(r.dlvrd.present);
  EXPECT_EQ(r.dlvrd.raw, "N/A");
  EXPECT_EQ(r.dlvrd.value, std::nullopt);
  EXPECT_EQ(r.stat.raw, "Delivrd");
  EXPECT_EQ(r.stat.value, message_state::delivered);
  EXPECT_EQ(r.err.raw, "0x1A");
  EXPECT_EQ(r.err.value, std::nullopt);
  EXPECT_FALSE(r.submit_date.present);
}

TEST(ReceiptParse, BadDateMarksOnlyThatDateInvalid) {
  const auto result =
      parse_receipt_text("id:1 submit date:2313011200 done date:23020310 stat:DELIVRD");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.receipt.submit_date.present);
  EXPECT_EQ(result.receipt.submit_date.raw, "2313011200");  // month 13
  EXPECT_EQ(result.receipt.submit_date.value, std::nullopt);
  EXPECT_EQ(result.receipt.done_date.raw, "23020310");  // 8 digits
  EXPECT_EQ(result.receipt.done_date.value, std::nullopt);
  EXPECT_EQ(result.receipt.stat.value, message_state::delivered);
}

TEST(ReceiptParse, UnknownStatIsPresentWithoutValue) {
  const auto r = parse_receipt_text("id:1 stat:WEIRD").receipt;
  EXPECT_TRUE(r.stat.present);
  EXPECT_EQ(r.stat.raw, "WEIRD");
  EXPECT_EQ(r.stat.value, std::nullopt);
}

TEST(ReceiptParse, BlankAfterColonBeforeAnotherKeyLeavesValueEmpty) {
  const auto r =
      parse_receipt_text("id:1 sub: dlvrd:001 submit date: done date:2302031001").receipt;
  EXPECT_TRUE(r.sub.present);
  EXPECT_EQ(r.sub.raw, "");
  EXPECT_EQ(r.dlvrd.value, 1u);
  EXPECT_TRUE(r.submit_date.present);
  EXPECT_EQ(r.submit_date.raw, "");
  EXPECT_EQ(r.done_date.value, date(23, 2, 3, 10, 1));
}

struct negative {
  const char* name;
  std::string_view input;
  receipt_error error;
};

std::ostream& operator<<(std::ostream& os, const negative& n) {
  return os << n.name;
}

const negative kNegatives[] = {
    {"Empty", "", receipt_error::empty_input},
    {"OnlyNuls", "\0\0\0"sv, receipt_error::empty_input},
    {"OnlyBlanks", "  \t\r\n", receipt_error::empty_input},
    {"NulFirst", "\0id:1 stat:DELIVRD"sv, receipt_error::empty_input},
    {"Garbage", "hello world", receipt_error::missing_id},
    {"Colons", ":::: : :", receipt_error::missing_id},
    {"Binary", "\x01\x02\xff\xfe:\x80id"sv, receipt_error::missing_id},
    {"NoId",
     "sub:001 dlvrd:001 submit date:2302031000 done date:2302031001 stat:DELIVRD err:000 text:x",
     receipt_error::missing_id},
    {"IdOnlyInsideText", "stat:DELIVRD text:id:123", receipt_error::missing_id},
    {"IdWithoutColon", "id 123 stat:DELIVRD", receipt_error::missing_id},
    {"TruncatedId", "id:", receipt_error::empty_id},
    {"TruncatedIdWithBlanks", "id:   \r\n", receipt_error::empty_id},
    {"IdFollowedByKey", "id: sub:001 stat:DELIVRD", receipt_error::empty_id},
    {"IdEmptyThenNul", "id:\0 123"sv, receipt_error::empty_id},
};

class receipt_negative : public ::testing::TestWithParam<negative> {};

TEST_P(receipt_negative, FailsWithError) {
  const receipt_parse_result result = parse_receipt_text(GetParam().input);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.error, GetParam().error) << to_string(result.error);
}

INSTANTIATE_TEST_SUITE_P(Malformed, receipt_negative, ::testing::ValuesIn(kNegatives),
                         [](const auto& p) { return std::string(p.param.name); });

// ---------------------------------------------------------------------------------------------
// Bounds.

TEST(ReceiptParse, AcceptsMessagePayloadSizedInput) {
  std::string input = "id:1 stat:DELIVRD text:";
  input.append(max_receipt_input_size - input.size(), 'x');
  const auto result = parse_receipt_text(input);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result.receipt.input_truncated);
  EXPECT_EQ(result.receipt.text.size(), max_receipt_input_size - 23);
}

TEST(ReceiptParse, InputBeyondTheBoundIsReadUpToTheBound) {
  std::string input = "id:1 stat:DELIVRD text:";
  input.append(max_receipt_input_size, 'x');
  input += " never read";
  const auto result = parse_receipt_text(input);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.receipt.input_truncated);
  EXPECT_EQ(result.receipt.text.size(), max_receipt_input_size - 23);
  EXPECT_EQ(result.receipt.text.find("never"), std::string_view::npos);
}

TEST(ReceiptParse, KeyBeyondTheBoundIsNotSeen) {
  std::string input(max_receipt_input_size, ' ');
  input += "id:1";
  const auto result = parse_receipt_text(input);
  EXPECT_EQ(result.error, receipt_error::empty_input);
  EXPECT_TRUE(result.receipt.input_truncated);
}

// Inputs that would make a backtracking parser quadratic: many near-keys, many colons.
TEST(ReceiptParse, AdversarialInputsOfMaximumSizeParse) {
  const std::string_view units[] = {"submit ", "done  ", "a:", ":", "submit date ", "id: ", "x"};
  for (const std::string_view unit : units) {
    std::string input;
    while (input.size() + unit.size() <= max_receipt_input_size) input += unit;
    const auto result = parse_receipt_text(input);
    EXPECT_FALSE(result.receipt.input_truncated) << unit;
    EXPECT_TRUE(result.error == receipt_error::missing_id ||
                result.error == receipt_error::empty_id)
        << unit << ' ' << to_string(result.error);
  }
}

// Random token soup: never crashes, never reads outside the input, views stay inside it.
TEST(ReceiptParse, RandomTokenSoupIsSafe) {
  const std::string_view tokens[] = {
      "id:",   "id",     ":",    " ",          "\t",           "sub:", "001",   "dlvrd",
      "date:", "submit", "done", "stat:",      "DELIVRD",      "err:", "text:", "\0"sv,
      "\r\n",  "x",      "4F2A", "2302031000", "Submit Date:", "\xff"};
  std::mt19937 rng(12345);
  std::uniform_int_distribution<std::size_t> pick(0, std::size(tokens) - 1);
  std::uniform_int_distribution<int> length(0, 40);
  for (int i = 0; i < 20000; ++i) {
    std::string input;
    for (int n = length(rng); n > 0; --n) input += tokens[pick(rng)];
    // A copy of exactly input.size() bytes, so ASan sees any read past the end.
    const std::vector<char> exact(input.begin(), input.end());
    const std::string_view view(exact.data(), exact.size());
    const auto result = parse_receipt_text(view);
    const receipt_text& r = result.receipt;
    for (const std::string_view v : {r.id, r.sub.raw, r.dlvrd.raw, r.submit_date.raw,
                                     r.done_date.raw, r.stat.raw, r.err.raw, r.text}) {
      ASSERT_TRUE(inside(v, view)) << input;
    }
    if (result.ok()) {
      ASSERT_FALSE(r.id.empty()) << input;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Building.

receipt_fields standard_fields() {
  receipt_fields f;
  f.id = "1234567890";
  f.sub = 1;
  f.dlvrd = 1;
  f.submit_date = date(23, 1, 2, 13, 45, 7);
  f.done_date = date(23, 1, 2, 13, 46, 59);
  f.stat = message_state::delivered;
  f.err = 0;
  f.text = "Hello world";
  return f;
}

std::string build(const receipt_fields& f, const receipt_build_options& options = {}) {
  std::array<char, 256> buffer{};
  const receipt_build_result result = build_receipt_text(f, buffer, options);
  EXPECT_TRUE(result.ok()) << to_string(result.error);
  return std::string(buffer.data(), result.size);
}

TEST(ReceiptBuild, WritesTheAppendixBForm) {
  EXPECT_EQ(build(standard_fields()),
            "id:1234567890 sub:001 dlvrd:001 submit date:2301021345 done date:2301021346 "
            "stat:DELIVRD err:000 text:Hello world");
}

TEST(ReceiptBuild, WritesSecondsWhenAsked) {
  EXPECT_EQ(build(standard_fields(), {.dates_with_seconds = true}),
            "id:1234567890 sub:001 dlvrd:001 submit date:230102134507 done date:230102134659 "
            "stat:DELIVRD err:000 text:Hello world");
}

TEST(ReceiptBuild, PadsToThreeDigitsWithoutTruncatingLargerNumbers) {
  receipt_fields f = standard_fields();
  f.sub = 0;
  f.dlvrd = 1000;
  f.err = 4294967295u;
  f.stat = message_state::undeliverable;
  f.text = "";
  EXPECT_EQ(build(f),
            "id:1234567890 sub:000 dlvrd:1000 submit date:2301021345 done date:2301021346 "
            "stat:UNDELIV err:4294967295 text:");
}

TEST(ReceiptBuild, CutsTextAtTwentyOctetsOrNul) {
  receipt_fields f = standard_fields();
  f.text = "0123456789abcdefghijKLMNOP";
  EXPECT_TRUE(build(f).ends_with(" text:0123456789abcdefghij"));
  f.text = "ab\0cd"sv;
  EXPECT_TRUE(build(f).ends_with(" text:ab"));
}

TEST(ReceiptBuild, WritesEveryStatAbbreviation) {
  for (int v = 1; v <= 9; ++v) {
    receipt_fields f = standard_fields();
    f.stat = static_cast<message_state>(v);
    const std::string text = build(f);
    EXPECT_NE(text.find(" stat:" + std::string(stat_abbreviation(f.stat)) + " "),
              std::string::npos);
  }
}

TEST(ReceiptBuild, TooSmallBufferReportsSizeNeededAndWritesNothing) {
  const receipt_fields f = standard_fields();
  std::array<char, 256> probe{};
  const receipt_build_result fits = build_receipt_text(f, probe);
  ASSERT_TRUE(fits.ok());
  const std::size_t needed = fits.size;
  ASSERT_EQ(needed, 113u);

  for (std::size_t size = 0; size < needed; ++size) {
    std::vector<char> buffer(needed + 8, '#');
    const receipt_build_result result = build_receipt_text(f, std::span(buffer.data(), size));
    EXPECT_EQ(result.error, receipt_error::buffer_too_small);
    EXPECT_EQ(result.size, needed);
    EXPECT_EQ(std::string(buffer.begin(), buffer.end()), std::string(needed + 8, '#')) << size;
  }
  std::vector<char> exact(needed + 8, '#');
  const receipt_build_result result = build_receipt_text(f, std::span(exact.data(), needed));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.size, needed);
  EXPECT_EQ(std::string(exact.begin() + needed, exact.end()), "########");
}

TEST(ReceiptBuild, RejectsFieldsThatCannotRoundTrip) {
  std::array<char, 256> buffer{};
  receipt_fields f = standard_fields();
  for (const std::string_view id : {""sv, "a b"sv, "a\tb"sv, "a\0b"sv}) {
    f.id = id;
    EXPECT_EQ(build_receipt_text(f, buffer).error, receipt_error::invalid_id);
  }
  const std::string longest(max_message_id_size, '7');
  f.id = longest;
  EXPECT_TRUE(build_receipt_text(f, buffer).ok());
  const std::string too_long(max_message_id_size + 1, '7');
  f.id = too_long;
  EXPECT_EQ(build_receipt_text(f, buffer).error, receipt_error::invalid_id);

  f = standard_fields();
  f.submit_date.month = 13;
  EXPECT_EQ(build_receipt_text(f, buffer).error, receipt_error::invalid_date);
  f = standard_fields();
  f.done_date.year = 1999;
  EXPECT_EQ(build_receipt_text(f, buffer).error, receipt_error::invalid_date);
  f = standard_fields();
  f.done_date.year = 2100;
  EXPECT_EQ(build_receipt_text(f, buffer).error, receipt_error::invalid_date);
  f = standard_fields();
  f.stat = static_cast<message_state>(0);
  EXPECT_EQ(build_receipt_text(f, buffer).error, receipt_error::invalid_state);
  f.stat = static_cast<message_state>(10);
  EXPECT_EQ(build_receipt_text(f, buffer).error, receipt_error::invalid_state);
}

TEST(ReceiptRoundTrip, BuildThenParseGivesTheFieldsBack) {
  const std::string_view texts[] = {"", "Hello world", "with: colons id:5 stat:X", "  lead"};
  const std::string_view ids[] = {"1", "4F2A0B1C", "12345678901234567890", "msg-00A1:x"};
  for (const bool seconds : {false, true}) {
    for (int state = 1; state <= 9; ++state) {
      for (std::size_t i = 0; i < std::size(ids); ++i) {
        receipt_fields f = standard_fields();
        f.id = ids[i];
        f.stat = static_cast<message_state>(state);
        f.text = texts[i];
        f.sub = static_cast<std::uint32_t>(i * 7);
        f.dlvrd = static_cast<std::uint32_t>(i * 1000);
        f.err = static_cast<std::uint32_t>(state * 11);
        const std::string text = build(f, {.dates_with_seconds = seconds});

        const receipt_parse_result parsed = parse_receipt_text(text);
        ASSERT_TRUE(parsed.ok()) << text;
        const receipt_text& r = parsed.receipt;
        EXPECT_EQ(r.id, f.id);
        EXPECT_EQ(r.sub.value, f.sub);
        EXPECT_EQ(r.dlvrd.value, f.dlvrd);
        receipt_date submit = f.submit_date;
        receipt_date done = f.done_date;
        if (!seconds) submit.second = done.second = 0;
        EXPECT_EQ(r.submit_date.value, submit);
        EXPECT_EQ(r.done_date.value, done);
        EXPECT_EQ(r.stat.value, f.stat);
        EXPECT_EQ(r.err.value, f.err);
        EXPECT_TRUE(r.has_text);
        EXPECT_EQ(r.text, f.text.substr(0, max_receipt_text_size));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Text + TLVs.

// The Cloudhopper capture: the text says 0059113978, receipted_message_id says 38601fa (hex of
// the same number), message_state 0x0427 says 2.
TEST(ReceiptCombine, TlvsWinOverTextAndSameNumberIsNoDisagreement) {
  const auto text = parse_receipt_text(
      "id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done date:1002101731 "
      "stat:UNDELIV err:000 text:@$#!%&/:");
  ASSERT_TRUE(text.ok());
  receipt_tlvs tlvs;
  tlvs.receipted_message_id = "38601fa\0"sv;
  tlvs.message_state = 2;
  tlvs.network_error_code = network_error_code{3, 0x000B};

  const effective_receipt_result result = combine_receipt(text.receipt, tlvs);
  ASSERT_TRUE(result.ok());
  const effective_receipt& e = result.receipt;
  EXPECT_EQ(e.message_id, "38601fa");
  EXPECT_EQ(e.message_id_source, receipt_source::tlv);
  EXPECT_FALSE(e.ids_disagree);
  EXPECT_EQ(e.state, message_state::delivered);
  EXPECT_EQ(e.state_source, receipt_source::tlv);
  EXPECT_EQ(e.error_code, 11u);
  EXPECT_EQ(e.error_code_source, receipt_source::tlv);
  EXPECT_EQ(e.network_type, 3);
  EXPECT_EQ(e.sub, 1u);
  EXPECT_EQ(e.dlvrd, 1u);
  EXPECT_EQ(e.submit_date, date(10, 2, 10, 17, 30));
  EXPECT_EQ(e.done_date, date(10, 2, 10, 17, 31));
  EXPECT_EQ(e.text, "@$#!%&/:");
}

TEST(ReceiptCombine, TextFillsWhatTheTlvsLack) {
  const auto text = parse_receipt_text("id:77 stat:EXPIRED err:034");
  const effective_receipt_result result = combine_receipt(text.receipt, receipt_tlvs{});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.receipt.message_id, "77");
  EXPECT_EQ(result.receipt.message_id_source, receipt_source::text);
  EXPECT_EQ(result.receipt.state, message_state::expired);
  EXPECT_EQ(result.receipt.state_source, receipt_source::text);
  EXPECT_EQ(result.receipt.error_code, 34u);
  EXPECT_EQ(result.receipt.error_code_source, receipt_source::text);
  EXPECT_EQ(result.receipt.network_type, std::nullopt);
  EXPECT_FALSE(result.receipt.ids_disagree);
}

TEST(ReceiptCombine, UnusableTlvsFallBackToText) {
  const auto text = parse_receipt_text("id:77 stat:EXPIRED");
  for (const std::uint8_t bad_state : {std::uint8_t{0}, std::uint8_t{10}, std::uint8_t{255}}) {
    receipt_tlvs tlvs;
    tlvs.receipted_message_id = "\0junk"sv;  // empty C-octet string
    tlvs.message_state = bad_state;
    const auto result = combine_receipt(text.receipt, tlvs);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.receipt.message_id, "77");
    EXPECT_EQ(result.receipt.message_id_source, receipt_source::text);
    EXPECT_EQ(result.receipt.state, message_state::expired);
    EXPECT_EQ(result.receipt.state_source, receipt_source::text);
  }
}

TEST(ReceiptCombine, TlvsAloneAreEnough) {
  receipt_tlvs tlvs;
  tlvs.receipted_message_id = "abc";
  tlvs.message_state = 9;
  const auto result = combine_receipt(std::nullopt, tlvs);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.receipt.message_id, "abc");
  EXPECT_EQ(result.receipt.state, message_state::skipped);
  EXPECT_EQ(result.receipt.error_code, std::nullopt);
  EXPECT_EQ(result.receipt.error_code_source, receipt_source::none);
  EXPECT_EQ(result.receipt.submit_date, std::nullopt);
}

TEST(ReceiptCombine, NoIdAnywhereIsAnError) {
  receipt_tlvs tlvs;
  tlvs.message_state = 2;
  EXPECT_EQ(combine_receipt(std::nullopt, tlvs).error, receipt_error::missing_id);
  tlvs.receipted_message_id = ""sv;
  EXPECT_EQ(combine_receipt(std::nullopt, tlvs).error, receipt_error::missing_id);
}

TEST(ReceiptCombine, FlagsIdsThatDisagree) {
  const auto text = parse_receipt_text("id:100 stat:DELIVRD");
  receipt_tlvs tlvs;
  tlvs.receipted_message_id = "101";
  const auto result = combine_receipt(text.receipt, tlvs);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.receipt.message_id, "101");
  EXPECT_TRUE(result.receipt.ids_disagree);
}

TEST(ReceiptCombine, UnknownTextStatLeavesStateEmpty) {
  const auto text = parse_receipt_text("id:1 stat:WEIRD");
  const auto result = combine_receipt(text.receipt, receipt_tlvs{});
  EXPECT_EQ(result.receipt.state, std::nullopt);
  EXPECT_EQ(result.receipt.state_source, receipt_source::none);
}

TEST(NetworkErrorCode, DecodesThreeOctetsBigEndian) {
  const std::array<std::byte, 3> value{std::byte{0x03}, std::byte{0x01}, std::byte{0x02}};
  EXPECT_EQ(decode_network_error_code(value), (network_error_code{3, 0x0102}));
  EXPECT_EQ(decode_network_error_code(std::span(value).first(2)), std::nullopt);
  const std::array<std::byte, 4> four{};
  EXPECT_EQ(decode_network_error_code(four), std::nullopt);
  EXPECT_EQ(decode_network_error_code({}), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Message state and esm_class.

TEST(MessageState, ValuesAreThoseOfTheSpecification) {
  // SMPP 3.4 §5.2.28; SMPP 5.0 §4.7.15 for SKIPPED.
  static_assert(static_cast<int>(message_state::enroute) == 1);
  static_assert(static_cast<int>(message_state::delivered) == 2);
  static_assert(static_cast<int>(message_state::expired) == 3);
  static_assert(static_cast<int>(message_state::deleted) == 4);
  static_assert(static_cast<int>(message_state::undeliverable) == 5);
  static_assert(static_cast<int>(message_state::accepted) == 6);
  static_assert(static_cast<int>(message_state::unknown) == 7);
  static_assert(static_cast<int>(message_state::rejected) == 8);
  static_assert(static_cast<int>(message_state::skipped) == 9);
}

TEST(MessageState, AbbreviationsRoundTripInAnyCase) {
  const std::string_view expected[] = {"ENROUTE", "DELIVRD", "EXPIRED", "DELETED", "UNDELIV",
                                       "ACCEPTD", "UNKNOWN", "REJECTD", "SKIPPED"};
  for (int v = 1; v <= 9; ++v) {
    const auto state = static_cast<message_state>(v);
    const std::string_view abbreviation = stat_abbreviation(state);
    EXPECT_EQ(abbreviation, expected[v - 1]);
    EXPECT_EQ(parse_message_state(abbreviation), state);
    std::string lower(abbreviation);
    for (char& c : lower) c = static_cast<char>(c - 'A' + 'a');
    EXPECT_EQ(parse_message_state(lower), state);
    EXPECT_EQ(parse_message_state(std::string(1, static_cast<char>('0' + v))), state);
  }
  EXPECT_EQ(stat_abbreviation(static_cast<message_state>(0)), "");
}

TEST(MessageState, AcceptsSpelledOutWords) {
  EXPECT_EQ(parse_message_state("Delivered"), message_state::delivered);
  EXPECT_EQ(parse_message_state("UNDELIVERABLE"), message_state::undeliverable);
  EXPECT_EQ(parse_message_state("accepted"), message_state::accepted);
  EXPECT_EQ(parse_message_state("REJECTED"), message_state::rejected);
}

TEST(MessageState, RejectsEverythingElse) {
  for (const std::string_view s : {""sv, "0"sv, "10"sv, "DELIV"sv, "DELIVRDX"sv, " DELIVRD"sv}) {
    EXPECT_EQ(parse_message_state(s), std::nullopt) << s;
  }
}

TEST(ReceiptKind, ReadsEsmClassBitsFiveToTwo) {
  // SMPP 3.4 §5.2.12.
  EXPECT_EQ(receipt_kind_from_esm_class(0x04), receipt_kind::smsc_delivery_receipt);
  EXPECT_EQ(receipt_kind_from_esm_class(0x44), receipt_kind::smsc_delivery_receipt);  // + UDHI
  EXPECT_EQ(receipt_kind_from_esm_class(0x07), receipt_kind::smsc_delivery_receipt);  // + mode
  EXPECT_EQ(receipt_kind_from_esm_class(0x08), receipt_kind::sme_delivery_ack);
  EXPECT_EQ(receipt_kind_from_esm_class(0x10), receipt_kind::sme_manual_ack);
  EXPECT_EQ(receipt_kind_from_esm_class(0x20), receipt_kind::intermediate_notification);
  EXPECT_EQ(receipt_kind_from_esm_class(0x00), receipt_kind::not_a_receipt);
  EXPECT_EQ(receipt_kind_from_esm_class(0x0C), receipt_kind::not_a_receipt);  // reserved
  EXPECT_EQ(receipt_kind_from_esm_class(0x18), receipt_kind::not_a_receipt);  // conv. abort
  EXPECT_EQ(receipt_kind_from_esm_class(0x03), receipt_kind::not_a_receipt);
}

// ---------------------------------------------------------------------------------------------
// Dates.

TEST(ReceiptDate, ParsesTenAndTwelveDigits) {
  EXPECT_EQ(parse_receipt_date("2301021345"), date(23, 1, 2, 13, 45));
  EXPECT_EQ(parse_receipt_date("230102134559"), date(23, 1, 2, 13, 45, 59));
  EXPECT_EQ(parse_receipt_date("0001010000"), date(0, 1, 1, 0, 0));
  EXPECT_EQ(parse_receipt_date("9912312359"), date(99, 12, 31, 23, 59));
}

TEST(ReceiptDate, ValidatesEveryRange) {
  for (const std::string_view bad :
       {"2300011200"sv, "2313011200"sv, "2301001200"sv, "2301321200"sv, "2304311200"sv,
        "2302291200"sv, "2301012400"sv, "2301011260"sv, "230101120060"sv, ""sv, "230101120"sv,
        "23010112000"sv, "2301011200000"sv, "23O1011200"sv, "2301-11200"sv, " 2301011200"sv}) {
    EXPECT_EQ(parse_receipt_date(bad), std::nullopt) << bad;
  }
}

TEST(ReceiptDate, KnowsLeapYears) {
  EXPECT_TRUE(parse_receipt_date("2402291200"));
  EXPECT_TRUE(parse_receipt_date("0002291200"));  // 2000 is a leap year
  EXPECT_FALSE(parse_receipt_date("2502291200"));
  EXPECT_FALSE(is_valid(receipt_date{2100, 2, 29, 0, 0, 0}));
}

// ---------------------------------------------------------------------------------------------
// Message id normalisation.

struct normalisation {
  std::string_view id;
  id_radix radix;
  std::string_view key;
};

std::ostream& operator<<(std::ostream& os, const normalisation& n) {
  return os << '"' << n.id << "\" radix " << static_cast<int>(n.radix);
}

const normalisation kNormalisations[] = {
    // Rule 2, auto_detect: decimal first, then hex.
    {"59113978", id_radix::auto_detect, "59113978"},
    {"0059113978", id_radix::auto_detect, "59113978"},
    {"38601fa", id_radix::auto_detect, "59113978"},
    {"38601FA", id_radix::auto_detect, "59113978"},
    {"0x38601fa", id_radix::auto_detect, "59113978"},
    {"0X038601FA", id_radix::auto_detect, "59113978"},
    {" 0059113978\0\0"sv, id_radix::auto_detect, "59113978"},
    {"4F2A0B1C", id_radix::auto_detect, "1328155420"},
    {"10", id_radix::auto_detect, "10"},
    {"0", id_radix::auto_detect, "0"},
    {"0000", id_radix::auto_detect, "0"},
    {"0x0", id_radix::auto_detect, "0"},
    {"18446744073709551615", id_radix::auto_detect, "18446744073709551615"},
    {"ffffffffffffffff", id_radix::auto_detect, "18446744073709551615"},
    // Rule 2 with an explicit radix.
    {"10", id_radix::hex, "16"},
    {"0010", id_radix::hex, "16"},
    {"0x10", id_radix::hex, "16"},
    {"0010", id_radix::decimal, "10"},
    {"16", id_radix::decimal, "16"},
    // Rule 3: not a number in the radix.
    {"ff", id_radix::decimal, "ff"},
    {"0x10", id_radix::decimal, "x10"},
    {"00FF", id_radix::text, "ff"},
    {"0059113978", id_radix::text, "59113978"},
    {"MSG-00A1", id_radix::auto_detect, "msg-00a1"},
    {"00abc-1", id_radix::hex, "abc-1"},
    {"000", id_radix::text, "0"},
    {"12:34", id_radix::auto_detect, "12:34"},
    // Rule 3: more than 64 bits.
    {"18446744073709551616", id_radix::auto_detect, "18446744073709551616"},
    {"00018446744073709551616", id_radix::decimal, "18446744073709551616"},
    {"1ffffffffffffffff", id_radix::auto_detect, "1ffffffffffffffff"},
    {"0x001FFFFFFFFFFFFFFFF", id_radix::auto_detect, "1ffffffffffffffff"},
    {"126e85a6edeac1a02020099312479564", id_radix::auto_detect, "126e85a6edeac1a02020099312479564"},
};

class message_id_normalisation : public ::testing::TestWithParam<normalisation> {};

TEST_P(message_id_normalisation, GivesTheDocumentedKey) {
  const message_id_key_result result = normalize_message_id(GetParam().id, GetParam().radix);
  ASSERT_TRUE(result.ok()) << to_string(result.error);
  EXPECT_EQ(result.key.view(), GetParam().key);
}

INSTANTIATE_TEST_SUITE_P(Rules, message_id_normalisation, ::testing::ValuesIn(kNormalisations));

message_id_key key(std::string_view id, id_radix radix = id_radix::auto_detect) {
  const message_id_key_result result = normalize_message_id(id, radix);
  EXPECT_TRUE(result.ok()) << id;
  return result.key;
}

TEST(MessageIdKey, HexDecimalAndPaddedFormsOfOneNumberMatch) {
  const message_id_key k = key("1328155420");
  for (const std::string_view id : {"4F2A0B1C"sv, "4f2a0b1c"sv, "0x4F2A0B1C"sv, "004F2A0B1C"sv,
                                    "001328155420"sv, "1328155420\0"sv, "1328155420 "sv}) {
    EXPECT_EQ(key(id), k) << id;
  }
  // An SMSC known to use hex ids: read its all-digit ids as hex.
  EXPECT_EQ(key("10", id_radix::hex), key("16", id_radix::decimal));
  EXPECT_EQ(key("0059113978", id_radix::decimal), key("38601fa", id_radix::hex));
}

TEST(MessageIdKey, DifferentIdsDoNotMatch) {
  EXPECT_FALSE(key("10") == key("16"));  // auto_detect reads "10" as decimal
  EXPECT_FALSE(key("ff", id_radix::decimal) == key("255"));
  EXPECT_FALSE(key("abc-1") == key("abc-2"));
  EXPECT_FALSE(key("1") == key("10"));
}

TEST(MessageIdKey, RejectsEmptyAndOverlongIds) {
  EXPECT_EQ(normalize_message_id("").error, receipt_error::empty_id);
  EXPECT_EQ(normalize_message_id("\0abc"sv).error, receipt_error::empty_id);
  EXPECT_EQ(normalize_message_id("   ").error, receipt_error::empty_id);
  const std::string longest(max_message_id_size, 'z');
  EXPECT_EQ(normalize_message_id(longest).key.view(), longest);
  const std::string too_long(max_message_id_size + 1, 'z');
  EXPECT_EQ(normalize_message_id(too_long).error, receipt_error::id_too_long);
}

TEST(MessageIdNumber, ReadsInTheRequestedRadix) {
  EXPECT_EQ(parse_message_id_number("0059113978"), 59113978u);
  EXPECT_EQ(parse_message_id_number("38601fa"), 0x38601fau);
  EXPECT_EQ(parse_message_id_number("10", id_radix::hex), 16u);
  EXPECT_EQ(parse_message_id_number("0x10", id_radix::hex), 16u);
  EXPECT_EQ(parse_message_id_number("10", id_radix::decimal), 10u);
  EXPECT_EQ(parse_message_id_number("ffffffffffffffff"), UINT64_MAX);
  EXPECT_EQ(parse_message_id_number("1ffffffffffffffff"), std::nullopt);
  EXPECT_EQ(parse_message_id_number("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_message_id_number("ff", id_radix::decimal), std::nullopt);
  EXPECT_EQ(parse_message_id_number("10", id_radix::text), std::nullopt);
  EXPECT_EQ(parse_message_id_number("0x"), std::nullopt);
  EXPECT_EQ(parse_message_id_number(""), std::nullopt);
  EXPECT_EQ(parse_message_id_number("-1"), std::nullopt);
  EXPECT_EQ(parse_message_id_number("abc-1"), std::nullopt);
}

// The reading parse_message_id_number must agree with, written the plain way: the blanks and
// what follows a NUL go, a 0x prefix marks hex (in the hex radix, and in auto when the rest is
// not all decimal digits), auto reads all-decimal ids as decimal, else as hex; a value past 64
// bits is no number.
std::optional<std::uint64_t> plain_id_number(std::string_view id, id_radix radix) {
  id = id.substr(0, id.find('\0'));
  while (!id.empty() && (id.front() == ' ' || id.front() == '\t')) id.remove_prefix(1);
  while (!id.empty() && (id.back() == ' ' || id.back() == '\t')) id.remove_suffix(1);
  const auto value = [](std::string_view digits, unsigned base) -> std::optional<std::uint64_t> {
    if (digits.empty()) return std::nullopt;
    std::uint64_t v = 0;
    for (const char c : digits) {
      const std::string_view all = "0123456789abcdef";
      const std::size_t d = all.find(static_cast<char>(c | 0x20));
      if (d == std::string_view::npos || d >= base) return std::nullopt;
      if (v > (UINT64_MAX - d) / base) return std::nullopt;  // past 64 bits
      v = v * base + d;
    }
    return v;
  };
  const auto all_decimal = [](std::string_view d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  const auto unprefixed = [](std::string_view d) {
    return d.size() > 2 && d[0] == '0' && (d[1] == 'x' || d[1] == 'X') ? d.substr(2) : d;
  };
  switch (radix) {
    case id_radix::decimal:
      return all_decimal(id) ? value(id, 10) : std::nullopt;
    case id_radix::hex:
      return value(unprefixed(id), 16);
    case id_radix::auto_detect:
      return all_decimal(id) ? value(id, 10) : value(unprefixed(id), 16);
    case id_radix::text:
      return std::nullopt;
  }
  return std::nullopt;
}

TEST(MessageIdNumber, AgreesWithThePlainReadingOnRandomIds) {
  std::mt19937_64 rng(20261207);
  const std::string_view alphabet = "0123456789abcdefABCDEFxXg- \t";
  std::uniform_int_distribution<std::size_t> length(0, 24);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::size_t numbers = 0;
  for (int i = 0; i < 200'000; ++i) {
    std::string id(length(rng), ' ');
    for (char& c : id) c = alphabet[pick(rng)];
    if (i % 7 == 0 && id.size() > 2) id.replace(0, 2, i % 2 ? "0x" : "0X");
    if (i % 11 == 0 && !id.empty()) id[rng() % id.size()] = '\0';
    for (const id_radix r :
         {id_radix::auto_detect, id_radix::hex, id_radix::decimal, id_radix::text}) {
      const std::optional<std::uint64_t> want = plain_id_number(id, r);
      ASSERT_EQ(parse_message_id_number(id, r), want)
          << '"' << id << "\" radix " << static_cast<int>(r);
      numbers += want.has_value();
    }
  }
  EXPECT_GT(numbers, 10'000u);  // the random ids include many numbers, not only refusals
}

// Hex ids (the other common shape) take a short reading of their own up to 16 digits; the
// lengths around it (17 digits overflow 64 bits unless led by zeros), both letter cases, ids
// that are all decimal digits and a stray character anywhere agree too.
TEST(MessageIdNumber, AgreesWithThePlainReadingOnHexIds) {
  std::mt19937_64 rng(20261209);
  std::uniform_int_distribution<std::size_t> length(1, 18);
  const std::string_view hex_digits = "0123456789abcdefABCDEF";
  const std::string_view strays(" \t\0xg-", 6);
  std::size_t hex_numbers = 0;
  for (int i = 0; i < 200'000; ++i) {
    std::string id(length(rng), '0');
    for (char& c : id) c = hex_digits[rng() % (i % 3 == 0 ? 10 : hex_digits.size())];
    if (i % 5 == 0) id[rng() % id.size()] = strays[rng() % strays.size()];
    if (i % 17 == 0) id.insert(0, rng() % 2 ? "0" : "00");
    for (const id_radix r : {id_radix::auto_detect, id_radix::hex, id_radix::decimal}) {
      const std::optional<std::uint64_t> want = plain_id_number(id, r);
      ASSERT_EQ(parse_message_id_number(id, r), want)
          << '"' << id << "\" radix " << static_cast<int>(r);
      hex_numbers += want.has_value() && r == id_radix::hex;
    }
  }
  EXPECT_GT(hex_numbers, 100'000u);
}

// All-digit ids (what SMSCs mostly send) take a short reading of their own up to 19 digits; the
// lengths around it (20 digits may overflow 64 bits) and a stray character anywhere agree too.
TEST(MessageIdNumber, AgreesWithThePlainReadingOnDecimalIds) {
  std::mt19937_64 rng(20261208);
  std::uniform_int_distribution<std::size_t> length(1, 22);
  std::uniform_int_distribution<int> digit(0, 9);
  const std::string_view strays(" \t\0xa-", 6);  // blank, tab, NUL, a prefix letter, hex, dash
  for (int i = 0; i < 200'000; ++i) {
    std::string id(length(rng), '0');
    for (char& c : id) c = static_cast<char>('0' + digit(rng));
    if (i % 5 == 0) id[rng() % id.size()] = strays[rng() % strays.size()];
    if (i % 13 == 0) id.assign(rng() % 2 ? "18446744073709551615" : "18446744073709551616");
    for (const id_radix r : {id_radix::auto_detect, id_radix::hex, id_radix::decimal}) {
      ASSERT_EQ(parse_message_id_number(id, r), plain_id_number(id, r))
          << '"' << id << "\" radix " << static_cast<int>(r);
    }
  }
}

// The ids the router correlates by: a response's message_id, a receipt's quoted id.
TEST(MessageIds, ResponseIdIsTheCStringOpeningTheBody) {
  std::vector<std::byte> frame(header_size);
  EXPECT_EQ(resp_message_id(frame), ""sv) << "no body";
  for (char c : std::string_view("38601fa\0", 8)) frame.push_back(std::byte(c));
  EXPECT_EQ(resp_message_id(frame), "38601fa"sv);
  frame.pop_back();
  EXPECT_EQ(resp_message_id(frame), ""sv) << "not terminated";
}

TEST(MessageIds, ReceiptTlvIdComesBeforeTheTextId) {
  const std::string text =
      "id:111 sub:001 dlvrd:001 submit date:2301011200 done date:2301011201 "
      "stat:DELIVRD err:000 text:x";
  pdu p;
  p.short_message = as_bytes(std::span(text.data(), text.size()));
  EXPECT_EQ(receipt_message_id(p), "111"sv);
  std::array<std::byte, 16> area{};
  tlv_writer w(area);
  ASSERT_TRUE(w.add_cstring(tag::receipted_message_id, "222"));
  p.tlvs = w.area();
  EXPECT_EQ(receipt_message_id(p), "222"sv);
  p.short_message = {};
  EXPECT_EQ(receipt_message_id(p), "222"sv);
  p.tlvs = {};
  EXPECT_EQ(receipt_message_id(p), ""sv) << "neither";
}

// What the router acts on: the id and the state, each from its TLV when there is one.
TEST(MessageIds, SummaryTakesIdAndStateFromTlvsBeforeTheText) {
  const std::string text =
      "id:111 sub:001 dlvrd:001 submit date:2301011200 done date:2301011201 "
      "stat:UNDELIV err:000 text:x";
  pdu p;
  p.short_message = as_bytes(std::span(text.data(), text.size()));
  receipt_summary r = summarize_receipt(p);
  EXPECT_EQ(r.message_id, "111"sv);
  EXPECT_EQ(r.state, message_state::undeliverable);

  std::array<std::byte, 32> area{};
  tlv_writer w(area);
  ASSERT_TRUE(w.add_cstring(tag::receipted_message_id, "222"));
  p.tlvs = w.area();
  r = summarize_receipt(p);
  EXPECT_EQ(r.message_id, "222"sv) << "the TLV id, the text's state";
  EXPECT_EQ(r.state, message_state::undeliverable);

  ASSERT_TRUE(w.add_uint(tag::message_state, 2, 1));
  p.tlvs = w.area();
  r = summarize_receipt(p);
  EXPECT_EQ(r.message_id, "222"sv);
  EXPECT_EQ(r.state, message_state::delivered) << "both TLVs: the text is not read";
  p.short_message = {};
  EXPECT_EQ(summarize_receipt(p).state, message_state::delivered) << "no text at all";

  // A message_state TLV out of 1..9 counts as absent: the text's stat.
  std::array<std::byte, 32> area2{};
  tlv_writer w2(area2);
  ASSERT_TRUE(w2.add_cstring(tag::receipted_message_id, "333"));
  ASSERT_TRUE(w2.add_uint(tag::message_state, 0, 1));
  p.tlvs = w2.area();
  p.short_message = as_bytes(std::span(text.data(), text.size()));
  r = summarize_receipt(p);
  EXPECT_EQ(r.message_id, "333"sv);
  EXPECT_EQ(r.state, message_state::undeliverable);
  p.short_message = {};
  r = summarize_receipt(p);
  EXPECT_EQ(r.message_id, "333"sv);
  EXPECT_FALSE(r.state.has_value());
}

TEST(MessageIds, FinalStatesAreTheOnesNoReceiptFollows) {
  EXPECT_TRUE(is_final(message_state::delivered));
  EXPECT_TRUE(is_final(message_state::expired));
  EXPECT_TRUE(is_final(message_state::deleted));
  EXPECT_TRUE(is_final(message_state::undeliverable));
  EXPECT_TRUE(is_final(message_state::rejected));
  EXPECT_TRUE(is_final(message_state::skipped));
  EXPECT_FALSE(is_final(message_state::enroute));
  EXPECT_FALSE(is_final(message_state::accepted));
  EXPECT_FALSE(is_final(message_state::unknown));
}

}  // namespace
}  // namespace smpp::codec
