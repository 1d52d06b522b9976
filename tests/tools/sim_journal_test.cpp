// smsc-sim --journal with the built binaries (SMPP_BIN_DIR) over loopback: receipts owed survive
// SIGKILL and go to the first receiver of their system_id, message ids stay unique across
// restarts, receipts wait for a receiver, a torn last line and foreign lines are ignored, the
// file is compacted on start, --journal-max refuses beyond it, and the command line.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../support/child_process.hpp"

namespace {

using namespace std::chrono_literals;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::exit_result;
using smpp::testing::flat_json;
using smpp::testing::last_line;
using smpp::testing::make_temp_dir;
using smpp::testing::read_file;
using smpp::testing::run_tool;
using smpp::testing::start_smsc_sim;

class SimJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir(::testing::TempDir(), "sim_journal_");
    journal_ = dir_ + "receipts.journal";
  }

  // smsc-sim with --journal (on the port of the previous run when there was one).
  bool start_sim(std::vector<std::string> args) {
    args.insert(args.begin(), {"--journal", journal_});
    port_ = start_smsc_sim(sim_, port_, std::move(args));
    return port_ != 0;
  }

  // The simulator's counters, asked for with SIGUSR1.
  std::optional<flat_json> counters() { return smpp::testing::sim_counters(sim_); }

  // Polls the counters until `key` reaches `value` (or 10 s pass); returns the last ones read.
  flat_json wait_for(const std::string& key, uint64_t value) {
    flat_json last;
    for (const auto until = clock_type::now() + 10s; clock_type::now() < until;) {
      if (const auto c = counters()) {
        last = *c;
        if (c->count(key) == value) break;
      }
      std::this_thread::sleep_for(50ms);
    }
    return last;
  }

  void kill_sim() {
    sim_.signal(SIGKILL);
    (void)sim_.wait(10s);
  }

  flat_json stop_sim() {
    sim_.signal(SIGTERM);
    const exit_result r = sim_.wait(10s);
    EXPECT_EQ(r.code, 0) << r.err;
    const auto j = flat_json::parse(last_line(r.out));
    EXPECT_TRUE(j.has_value()) << "smsc-sim printed: " << r.out;
    return j.value_or(flat_json{});
  }

  struct load_run {
    exit_result process;
    flat_json report;
  };
  load_run run_load(const std::string& system_id, const std::vector<std::string>& args) {
    const std::string json = dir_ + "load" + std::to_string(++runs_) + ".json";
    std::vector<std::string> all = {"--connect",    "127.0.0.1:" + std::to_string(port_),
                                    "--system-id",  system_id,
                                    "--password",   "secret",
                                    "--json",       json,
                                    "--no-progress"};
    all.insert(all.end(), args.begin(), args.end());
    load_run r;
    r.process = run_tool("esme-load", all, 60s);
    const std::string text = read_file(json);
    const auto j = flat_json::parse(text);
    EXPECT_TRUE(j.has_value()) << "esme-load wrote: " << text << "\n" << r.process.err;
    r.report = j.value_or(flat_json{});
    return r;
  }

  child_process sim_;
  uint16_t port_ = 0;
  std::string dir_;
  std::string journal_;
  int runs_ = 0;
};

TEST_F(SimJournalTest, ReceiptsOwedSurviveSigkillAndGoToTheFirstReceiverOfTheirSystemId) {
  // Run 1: receipts due only after a minute, so every one is still owed at the kill.
  ASSERT_TRUE(start_sim({"--dlr-delay-ms", "60000"})) << sim_.err();
  const load_run owed = run_load("alpha", {"--count", "500", "--dlr", "--dlr-wait", "0.2"});
  EXPECT_EQ(owed.report.count("accepted"), 500u);
  EXPECT_EQ(owed.report.count("receipts"), 0u);
  kill_sim();

  ASSERT_TRUE(start_sim({"--dlr-delay-ms", "10"})) << sim_.err();
  EXPECT_NE(sim_.err().find(": 500 receipts owed"), std::string::npos) << sim_.err();
  // Another system_id binds first: alpha's receipts are not its business.
  const load_run beta = run_load("beta", {"--count", "20", "--dlr", "--dlr-wait", "2"});
  EXPECT_EQ(beta.report.count("receipts"), 20u);
  EXPECT_EQ(beta.report.count("receipts_matched"), 20u);
  EXPECT_EQ(beta.report.count("receipts_unknown"), 0u);
  EXPECT_EQ(counters().value_or(flat_json{}).count("receipts_replayed"), 0u);

  // alpha binds again: the 500 arrive besides the receipts of its new messages, whose ids are
  // new (an id handed out again would show as a duplicate or a match of an old receipt).
  const load_run alpha = run_load("alpha", {"--duration", "1", "--rate", "100", "--dlr"});
  const uint64_t accepted = alpha.report.count("accepted");
  EXPECT_GT(accepted, 50u);
  EXPECT_EQ(alpha.report.count("receipts_matched"), accepted);
  EXPECT_EQ(alpha.report.count("receipts_unknown"), 500u);
  EXPECT_EQ(alpha.report.count("receipts_duplicate"), 0u);
  EXPECT_EQ(alpha.report.count("receipts"), accepted + 500);
  const flat_json c = wait_for("journal_pending", 0);
  EXPECT_EQ(c.count("receipts_replayed"), 500u);
  EXPECT_EQ(c.count("journal_pending"), 0u);
  stop_sim();

  // Nothing is owed any more: the next start says so and the compacted file holds no receipt.
  ASSERT_TRUE(start_sim({})) << sim_.err();
  EXPECT_NE(sim_.err().find(": 0 receipts owed"), std::string::npos) << sim_.err();
  EXPECT_EQ(read_file(journal_).find("\nA "), std::string::npos) << read_file(journal_);
  stop_sim();
}

TEST_F(SimJournalTest, ReceiptWithoutABoundReceiverWaitsForOneInsteadOfBeingDropped) {
  ASSERT_TRUE(start_sim({"--dlr-delay-ms", "300"})) << sim_.err();
  // esme-load leaves 50 ms after the last response, before the receipts are due.
  const load_run first = run_load("alpha", {"--count", "200", "--dlr", "--dlr-wait", "0.05"});
  EXPECT_EQ(first.report.count("accepted"), 200u);
  EXPECT_EQ(first.report.count("receipts"), 0u);
  std::this_thread::sleep_for(500ms);
  const auto waiting = counters();
  ASSERT_TRUE(waiting.has_value());
  EXPECT_EQ(waiting->count("receipts_dropped"), 0u);
  EXPECT_EQ(waiting->count("journal_pending"), 200u);

  const load_run second = run_load("alpha", {"--duration", "1", "--rate", "50", "--dlr"});
  EXPECT_EQ(second.report.count("receipts_unknown"), 200u);  // the first run's, from its view
  EXPECT_EQ(second.report.count("receipts_matched"), second.report.count("accepted"));
  const flat_json c = wait_for("journal_pending", 0);
  EXPECT_EQ(c.count("journal_pending"), 0u);
  EXPECT_EQ(c.count("receipts_replayed"), 0u);  // owed by this run, not by an earlier one
  stop_sim();
}

TEST_F(SimJournalTest, TornLastLineAndForeignLinesAreIgnoredAndTheFileIsCompacted) {
  const std::string owed_line =
      "A 6 1700000000 616c706861 1 1 3434373930303030303030 1 1 3132333435 -\n";
  std::ofstream(journal_) << "I 10\n"
                          << "A 5 1700000000 616c706861 1 1 3434 1 1 3132 -\n"
                          << owed_line << "D 5\n"
                          << "not a journal line\n"
                          << "A 7 1700000000 616c7068";  // cut off by a kill
  ASSERT_TRUE(start_sim({"--dlr-delay-ms", "10"})) << sim_.err();
  EXPECT_NE(sim_.err().find(": 1 receipts owed, 1 invalid lines ignored, a torn last line "
                            "ignored"),
            std::string::npos)
      << sim_.err();
  // Compacted: the id reservation (ids below 0x10 were taken, plus a block) and id 6 alone.
  EXPECT_EQ(read_file(journal_), "I 100010\n" + owed_line);

  // The next message takes id 0x10, the first not reserved before, and is appended.
  const load_run r = run_load("alpha", {"--count", "1", "--dlr", "--dlr-wait", "2"});
  EXPECT_EQ(r.report.count("receipts_matched"), 1u);
  EXPECT_EQ(r.report.count("receipts_unknown"), 1u);  // id 6, replayed
  const std::string text = read_file(journal_);
  EXPECT_NE(text.find("\nA 10 "), std::string::npos) << text;
  EXPECT_NE(text.find("\nD 6\n"), std::string::npos) << text;
  const flat_json c = wait_for("journal_pending", 0);
  EXPECT_EQ(c.count("receipts_replayed"), 1u);
  stop_sim();
}

TEST_F(SimJournalTest, JournalMaxAnswersQueueFullBeyondItAndOnlyForReceiptRequests) {
  ASSERT_TRUE(start_sim({"--dlr-delay-ms", "60000", "--journal-max", "100"})) << sim_.err();
  const load_run r = run_load("alpha", {"--count", "300", "--dlr", "--dlr-wait", "0.2"});
  EXPECT_EQ(r.report.count("accepted"), 100u);
  EXPECT_EQ(r.report.count("errors.ESME_RMSGQFUL"), 200u);
  EXPECT_EQ(r.report.count("unanswered"), 0u);
  // Messages that ask for no receipt owe nothing and are accepted still.
  const load_run plain = run_load("alpha", {"--count", "50"});
  EXPECT_EQ(plain.report.count("accepted"), 50u);
  const flat_json c = stop_sim();
  EXPECT_EQ(c.count("journal_full"), 200u);
  EXPECT_EQ(c.count("journal_pending"), 100u);
  EXPECT_EQ(c.count("accepted"), 150u);
}

TEST(SimJournalCli, HelpDocumentsTheJournalAndBadValuesFail) {
  const exit_result help = run_tool("smsc-sim", {"--help"}, 10s);
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--journal FILE"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("ESME_RMSGQFUL"), std::string::npos) << help.out;
  EXPECT_EQ(run_tool("smsc-sim", {"--listen", "127.0.0.1:0", "--journal-max", "0"}, 10s).code, 2);
  const exit_result nowhere =
      run_tool("smsc-sim", {"--listen", "127.0.0.1:0", "--journal", "/nonexistent/dir/j"}, 10s);
  EXPECT_EQ(nowhere.code, 1);
  EXPECT_NE(nowhere.err.find("cannot write journal /nonexistent/dir/j"), std::string::npos)
      << nowhere.err;
  const exit_result load_help = run_tool("esme-load", {"--help"}, 10s);
  EXPECT_NE(load_help.out.find("--dlr-wait S"), std::string::npos) << load_help.out;
}

}  // namespace
