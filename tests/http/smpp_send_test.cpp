// smpp-send against smsc-sim (child processes on loopback): one message to several numbers, WAP
// push and MMS notifications, a CSV campaign with broken rows at a rate, refusals by status, no
// SMSC; each report checked against smsc-sim's own counts. Each case bounded (under 30 s).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../support/child_process.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using smpp::testing::child_process;
using smpp::testing::flat_json;

struct sim {
  child_process process;
  std::string smsc;  // --smsc value

  explicit sim(std::vector<std::string> args = {}) {
    const std::uint16_t port = smpp::testing::start_smsc_sim(process, 0, std::move(args));
    EXPECT_NE(port, 0) << process.err();
    smsc = "127.0.0.1:" + std::to_string(port);
  }
  // smsc-sim's counters once `submits` submit_sm were counted and their receipts acknowledged.
  flat_json counters(std::uint64_t submits, std::uint64_t receipts) {
    const auto c = smpp::testing::wait_for_smsc_sim(
        process,
        [&](const flat_json& j) {
          return j.count("submit_sm") == submits && j.count("receipts_acked") == receipts;
        },
        10s);
    EXPECT_TRUE(c.has_value());
    return c.value_or(flat_json());
  }
};

struct sent {
  int code = -1;
  json report;
  std::string err;
};

sent send(const std::vector<std::string>& args) {
  const auto r = smpp::testing::run_tool("smpp-send", args, 30s);
  sent s{r.code, json::parse(smpp::testing::last_line(r.out), nullptr, false), r.err};
  EXPECT_TRUE(s.report.is_object()) << r.out << r.err;
  return s;
}

TEST(SmppSend, OneLongTextToThreeNumbersIsSentInPartsAndDelivered) {
  sim s;
  const auto r = send({"--smsc", s.smsc, "--to", "447700900001,447700900002,+447700900003",
                       "--text", std::string(200, 'a')});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.report["messages"], 3);
  EXPECT_EQ(r.report["parts"], 6) << "200 GSM characters: 153 + 47";
  EXPECT_EQ(r.report["delivered"], 3);
  EXPECT_EQ(r.report["final"], 3);
  const flat_json c = s.counters(6, 6);
  EXPECT_EQ(c.count("submit_sm"), 6u);
}

TEST(SmppSend, FlashWapPushAndMmsNotificationsAreDelivered) {
  sim s;
  for (const std::vector<std::string>& kind :
       {std::vector<std::string>{"--text", "now", "--flash"},
        std::vector<std::string>{"--wap-push", "https://example.com/o", "--text", "Offer"},
        std::vector<std::string>{"--wap-push", "https://example.com/app"},
        std::vector<std::string>{"--mms", "http://mmsc.example/m/1", "--mms-size", "5000",
                                 "--subject", "Photo"}}) {
    std::vector<std::string> args{"--smsc", s.smsc, "--to", "447700900001"};
    args.insert(args.end(), kind.begin(), kind.end());
    const auto r = send(args);
    EXPECT_EQ(r.code, 0) << kind[0] << r.err;
    EXPECT_EQ(r.report["delivered"], 1) << kind[0];
  }
  const flat_json c = s.counters(4, 4);
  EXPECT_EQ(c.count("submit_sm"), 4u);
}

TEST(SmppSend, ACsvCampaignSendsTheGoodRowsAtItsRateAndReportsTheBrokenOnes) {
  sim s;
  const std::string dir = smpp::testing::make_temp_dir(::testing::TempDir(), "smpp_send_");
  std::ofstream csv(dir + "campaign.csv");
  csv << "number,name\n";
  for (int i = 0; i < 20; ++i) csv << "4477009" << 10000 + i << ",\"Ann, " << i << "\"\n";
  csv << "44x,Bob\n"            // line 22: not a number
      << "447700900099\n"       // line 23: one field
      << "447700900098,Eve\n";  // line 24: good
  csv.close();
  const auto r = send({"--smsc", s.smsc, "--csv", dir + "campaign.csv", "--text",
                       "Hi {name}, 20% off", "--rate", "50"});
  EXPECT_EQ(r.code, 3) << "rows were refused";
  EXPECT_EQ(r.report["messages"], 21);
  EXPECT_EQ(r.report["refused"], 2);
  EXPECT_EQ(r.report["delivered"], 21);
  EXPECT_NE(r.err.find("campaign.csv:22: '44x' is not a number"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("campaign.csv:23: 1 fields, the header has 2"), std::string::npos);
  // 21 messages at 50/s: the last leaves 0.4 s after the first.
  EXPECT_GE(r.report["seconds"].get<double>(), 0.4);
  const flat_json c = s.counters(21, 21);
  EXPECT_EQ(c.count("submit_sm"), 21u);
  const auto missing =
      send({"--smsc", s.smsc, "--csv", dir + "campaign.csv", "--text", "Hi {surname}"});
  EXPECT_EQ(missing.code, 3);
  EXPECT_EQ(missing.report["messages"], 0);
  EXPECT_EQ(missing.report["refused"], 23);
  EXPECT_NE(missing.err.find("the template names {surname}, not a column"), std::string::npos);
}

TEST(SmppSend, RefusalsAreCountedByStatus) {
  sim s({"--error-rate", "0.3", "--seed", "5"});
  std::string to;
  for (int i = 0; i < 100; ++i) to += (i == 0 ? "" : ",") + std::to_string(447700900100 + i);
  const auto r = send({"--smsc", s.smsc, "--to", to, "--text", "x"});
  EXPECT_EQ(r.code, 3);
  const flat_json c = s.counters(100, r.report["delivered"].get<std::uint64_t>());
  const std::uint64_t refused = c.count("errors.ESME_RSYSERR") + c.count("errors.ESME_RSUBMITFAIL");
  EXPECT_GT(refused, 10u);
  EXPECT_EQ(r.report["rejected"], refused);
  EXPECT_EQ(r.report["rejected_by_status"].value("ESME_RSYSERR", 0) +
                r.report["rejected_by_status"].value("ESME_RSUBMITFAIL", 0),
            refused);
  EXPECT_EQ(r.report["delivered"], 100 - refused);
}

TEST(SmppSend, HelpUsageErrorsAndNoSmsc) {
  const auto help = smpp::testing::run_tool("smpp-send", {"--help"}, 10s);
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("usage: smpp-send"), std::string::npos);
  EXPECT_EQ(smpp::testing::run_tool("smpp-send", {"--to", "1"}, 10s).code, 2) << "no message";
  EXPECT_EQ(
      smpp::testing::run_tool("smpp-send", {"--to", "1", "--text", "a", "--rate", "x"}, 10s).code,
      2);
  const std::string port = std::to_string(smpp::testing::unused_port());
  const auto none =
      send({"--smsc", "127.0.0.1:" + port, "--to", "1", "--text", "a", "--wait-s", "1"});
  EXPECT_EQ(none.code, 1);
  EXPECT_EQ(none.report["queued"], 1);
}

}  // namespace
