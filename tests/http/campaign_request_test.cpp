// POST /v1/campaigns bodies (CSV with query options, JSON with a list or CSV text): faults by
// line with the other rows kept, the row bound, option errors by field; send windows by the
// minute, across midnight and at an offset from UTC.
#include "smpp/http/campaign_request.hpp"

#include <gtest/gtest.h>

namespace smpp::http {
namespace {

constexpr std::int64_t minute = 60'000;
constexpr std::int64_t day = 1440 * minute;
// 2026-12-07T00:00:00Z
constexpr std::int64_t midnight = 1796601600000;

campaign_spec ok(const std::variant<campaign_spec, request_error>& r) {
  if (const auto* e = std::get_if<request_error>(&r)) {
    ADD_FAILURE() << e->field << ": " << e->reason;
    return {};
  }
  return std::get<campaign_spec>(r);
}

request_error error(const std::variant<campaign_spec, request_error>& r) {
  if (const auto* e = std::get_if<request_error>(&r)) return *e;
  ADD_FAILURE() << "accepted";
  return {};
}

TEST(CampaignRequest, CsvBodyWithQueryOptionsKeepsGoodRowsAndReportsBrokenOnesByLine) {
  const std::string csv =
      "number,name\n"
      "+447700900001,Ann\n"
      "not-a-number,Bob\n"
      "447700900002,Cy,extra\n"
      "447700900003," +
      std::string(1600, 'z') +
      "\n"  // 1600 + 3 characters: over 10 parts
      "447700900004,\"Dee, Jr\"\n";
  const auto spec = ok(parse_campaign_request(csv, true,
                                              {{"template", "Hi {name}"},
                                               {"rate_per_s", "25"},
                                               {"window_start", "08:00"},
                                               {"window_stop", "20:30"},
                                               {"dlr", "false"}},
                                              {100, 10}));
  ASSERT_EQ(spec.recipients.size(), 2u);
  EXPECT_EQ(spec.recipients[0].to, "447700900001");
  EXPECT_EQ(spec.recipients[0].text, "Hi Ann");
  EXPECT_EQ(spec.recipients[0].line, 2u);
  EXPECT_EQ(spec.recipients[1].text, "Hi Dee, Jr");
  EXPECT_EQ(spec.recipients[1].line, 6u);
  ASSERT_EQ(spec.faults.size(), 3u);
  EXPECT_EQ(spec.faults[0].line, 3u);
  EXPECT_EQ(spec.faults[1].line, 4u);
  EXPECT_EQ(spec.faults[2].line, 5u);
  EXPECT_EQ(spec.faults[2].reason, "the text: needs more parts than allowed (10)");
  EXPECT_EQ(spec.rate_per_s, 25u);
  EXPECT_FALSE(spec.dlr);
  ASSERT_TRUE(spec.window.has_value());
  EXPECT_EQ(spec.window->start_min, 8 * 60);
  EXPECT_EQ(spec.window->stop_min, 20 * 60 + 30);
}

TEST(CampaignRequest, JsonRecipientsOrCsvTextAndTheRowBound) {
  const auto spec = ok(parse_campaign_request(
      R"({"template":"Code {code} for {number}","name":"spring","from":"SHOP",
          "recipients":[{"number":"+4411","code":7},"4412",{"code":"x"},{"number":"4413","code":"y"},
                        {"number":"4414","code":"z"}],
          "window":{"start":"22:00","stop":"06:00","utc_offset_min":60},"validity_s":600})",
      false, {}, {3, 10}));
  ASSERT_EQ(spec.recipients.size(), 2u);
  EXPECT_EQ(spec.recipients[0].text, "Code 7 for +4411");
  EXPECT_EQ(spec.recipients[1].text, "Code y for 4413");
  EXPECT_EQ(spec.recipients[1].line, 4u);
  ASSERT_EQ(spec.faults.size(), 3u);
  EXPECT_EQ(spec.faults[0].line, 2u);  // no {code} column ({number} is the number as written)
  EXPECT_EQ(spec.faults[1].line, 3u);  // no number
  EXPECT_EQ(spec.faults[2].line, 5u);  // beyond the bound of 3 rows
  EXPECT_EQ(spec.faults[2].reason, "beyond 3 rows");
  EXPECT_EQ(spec.name, "spring");
  EXPECT_EQ(spec.from_text, "SHOP");
  EXPECT_EQ(spec.validity_s, 600u);
  EXPECT_EQ(spec.window->utc_offset_min, 60);

  const auto from_csv = ok(parse_campaign_request(
      R"({"template":"Hi {n}","csv":"number,n\n4421,A\n4422,B\n"})", false, {}, {100, 10}));
  EXPECT_EQ(from_csv.recipients.size(), 2u);
  EXPECT_TRUE(from_csv.faults.empty());
}

TEST(CampaignRequest, OptionErrorsNameTheirField) {
  const campaign_limits limits{100, 10};
  const auto field = [&](const std::string& body) {
    return error(parse_campaign_request(body, false, {}, limits)).field;
  };
  EXPECT_EQ(field(R"({"recipients":["4411"]})"), "template");
  EXPECT_EQ(field(R"({"template":"x"})"), "recipients");
  EXPECT_EQ(field(R"({"template":"x","recipients":["4411"],"csv":"number\n4412\n"})"),
            "recipients");
  EXPECT_EQ(field(R"({"template":"x","recipients":["4411"],"rate_per_s":-1})"), "rate_per_s");
  EXPECT_EQ(field(R"({"template":"x","recipients":["4411"],"rate_per_s":100001})"), "rate_per_s");
  EXPECT_EQ(
      field(R"({"template":"x","recipients":["4411"],"window":{"start":"24:00","stop":"01:00"}})"),
      "window.start");
  EXPECT_EQ(
      field(R"({"template":"x","recipients":["4411"],"window":{"start":"01:00","stop":"01:00"}})"),
      "window");
  EXPECT_EQ(field(R"({"template":"x","recipients":["4411"],"window":{"start":"01:00"}})"),
            "window");
  EXPECT_EQ(field(R"({"template":"x","recipients":["4411"],"dlr_url":"ftp://x"})"), "dlr_url");
  EXPECT_EQ(field(R"({"template":"x","recipients":["4411"],"colour":1})"), "colour");
  EXPECT_EQ(field(R"({"template":"x","recipients":["bad"]})"), "recipients");
  EXPECT_EQ(field("not json"), "body");
  EXPECT_EQ(error(parse_campaign_request("number\n4411\n", true, {{"template", "x"}, {"dlr", "1"}},
                                         limits))
                .field,
            "dlr");
  const request_error none =
      error(parse_campaign_request("number,name\nabc,x\n", true, {{"template", "x"}}, limits));
  EXPECT_EQ(none.field, "csv");
  EXPECT_NE(none.reason.find("line 2"), std::string::npos) << none.reason;
}

TEST(CampaignWindow, ByTheMinuteAcrossMidnightAndAtAnOffset) {
  const send_window day_window{8 * 60, 20 * 60, 0};
  EXPECT_FALSE(in_window(day_window, midnight + 8 * 60 * minute - 1));
  EXPECT_TRUE(in_window(day_window, midnight + 8 * 60 * minute));
  EXPECT_TRUE(in_window(day_window, midnight + 20 * 60 * minute - 1));
  EXPECT_FALSE(in_window(day_window, midnight + 20 * 60 * minute));
  EXPECT_EQ(next_opening(day_window, midnight + 3 * minute + 500), midnight + 8 * 60 * minute);
  EXPECT_EQ(next_opening(day_window, midnight + 21 * 60 * minute),
            midnight + day + 8 * 60 * minute);
  EXPECT_EQ(next_opening(day_window, midnight + 9 * 60 * minute + 7),
            midnight + 9 * 60 * minute + 7);

  const send_window night{22 * 60, 6 * 60, 0};
  EXPECT_TRUE(in_window(night, midnight + 23 * 60 * minute));
  EXPECT_TRUE(in_window(night, midnight + 5 * 60 * minute));
  EXPECT_FALSE(in_window(night, midnight + 6 * 60 * minute));
  EXPECT_EQ(next_opening(night, midnight + 12 * 60 * minute), midnight + 22 * 60 * minute);

  // 08:00-20:00 at UTC+2 is 06:00-18:00 UTC.
  const send_window east{8 * 60, 20 * 60, 120};
  EXPECT_TRUE(in_window(east, midnight + 6 * 60 * minute));
  EXPECT_FALSE(in_window(east, midnight + 18 * 60 * minute));
  EXPECT_EQ(next_opening(east, midnight + 19 * 60 * minute), midnight + day + 6 * 60 * minute);
  EXPECT_EQ(parse_time_of_day("07:05"), 425);
  EXPECT_FALSE(parse_time_of_day("7:05").has_value());
  EXPECT_FALSE(parse_time_of_day("12:60").has_value());
  EXPECT_EQ(time_of_day(425), "07:05");
}

}  // namespace
}  // namespace smpp::http
