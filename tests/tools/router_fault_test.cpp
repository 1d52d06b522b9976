// Fault tests with the built binaries (SMPP_BIN_DIR) over loopback: the upstream SMSC
// (smsc-sim --journal) is killed with SIGKILL ten times in the middle of a load through
// smpp-router and restarted on the same port with the same journal. Every submit_sm gets
// exactly one response (the router's /metrics count the same), every message the ESME saw
// accepted gets its receipt (some only after the router reconnected to a restarted upstream),
// and the router's memory returns to its steady level.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/metrics_text.hpp"
#include "../support/rate_bounds.hpp"
#include "../support/request_counts.hpp"
#include "../support/router_start.hpp"

namespace {

using namespace std::chrono_literals;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::esme_counts;
using smpp::testing::exit_result;
using smpp::testing::flat_json;
using smpp::testing::make_temp_dir;
using smpp::testing::read_file;
using smpp::testing::request_counts;
using smpp::testing::router_counts;
using smpp::testing::router_ports;
using smpp::testing::start_router_on_free_ports;
using smpp::testing::start_smsc_sim;
using smpp::testing::unused_port;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized_build = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool sanitized_build = true;
#else
constexpr bool sanitized_build = false;
#endif
#else
constexpr bool sanitized_build = false;
#endif

constexpr int kills = 10;
// The load: moderate, a few sessions, every message asking for a receipt.
constexpr const char* load_rate = "2000";
constexpr const char* load_sessions = "4";
constexpr const char* load_window = "32";
constexpr const char* warmup_duration_s = "3";
constexpr const char* fault_duration_s = "12";
// One kill every kill_period, the first after first_kill; each instance must have accepted
// min_accepted_before_kill messages first, so every kill lands in the middle of traffic that
// flows through a restarted upstream.
constexpr auto first_kill = 600ms;
constexpr auto kill_period = 1000ms;
constexpr uint64_t min_accepted_before_kill = 100;

void expect_no_sanitizer_report(std::string_view who, const std::string& err) {
  EXPECT_EQ(err.find("Sanitizer"), std::string::npos) << who << ":\n" << err;
  EXPECT_EQ(err.find("runtime error:"), std::string::npos) << who << ":\n" << err;
}

// VmRSS of a process in KiB (0 when it cannot be read).
uint64_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// VmRSS once it has stopped moving (the router is done with what a load left behind): the same
// in two reads a quarter of a second apart, or the last read after 10 s.
uint64_t settled_rss_kib(pid_t pid) {
  uint64_t last = rss_kib(pid);
  for (const auto until = clock_type::now() + 10s; clock_type::now() < until;) {
    std::this_thread::sleep_for(250ms);
    const uint64_t now = rss_kib(pid);
    if (now == last) return now;
    last = now;
  }
  return last;
}

class RouterFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir(::testing::TempDir(), "router_fault_");
    journal_ = dir_ + "smsc.journal";
  }

  [[nodiscard]] std::vector<std::string> sim_args() const {
    return {"--journal", journal_, "--dlr-delay-ms", "50"};
  }

  // The simulator's counters, asked for with SIGUSR1.
  std::optional<flat_json> sim_counters() { return smpp::testing::smsc_sim_counters(sim_); }

  // Polls the simulator until `pred(counters)` holds or `limit` passes; the last counters read.
  template <typename Pred>
  std::optional<flat_json> wait_for_sim(Pred pred, std::chrono::milliseconds limit) {
    return smpp::testing::wait_for_smsc_sim(sim_, pred, limit);
  }

  bool start_router(const std::string& workers, uint32_t binds) {
    const router_ports ports =
        start_router_on_free_ports(router_, true, [&](const router_ports& p, int attempt) {
          const std::string path = dir_ + "router" + std::to_string(attempt) + ".toml";
          std::ofstream(path) << "[router]\n"
                              << "listen = [\"127.0.0.1:" << p.smpp << "\"]\n"
                              << "workers = " << workers << "\n\n"
                              << "[admin]\n"
                              << "listen = \"127.0.0.1:" << p.admin << "\"\n\n"
                              << "[timeouts]\n"
                              << "reconnect_min_ms = 100\n"
                              << "reconnect_max_ms = 1000\n\n"
                              << "[[tenants]]\n"
                              << "name = \"load\"\n"
                              << "system_id = \"loadtest\"\n"
                              << "password = \"secret\"\n"
                              << "window = 256\n\n"
                              << "[[upstreams]]\n"
                              << "name = \"smsc\"\n"
                              << "address = \"127.0.0.1:" << sim_port_ << "\"\n\n"
                              << "[[upstreams.binds]]\n"
                              << "system_id = \"router\"\n"
                              << "password = \"router\"\n"
                              << "count = " << binds << "\n\n"
                              << "[[routes]]\n"
                              << "tenant = \"*\"\n"
                              << "destination_prefix = \"\"\n"
                              << "upstreams = [\"smsc\"]\n";
          return path;
        });
    port_ = ports.smpp;
    admin_port_ = ports.admin;
    return port_ != 0;
  }

  std::string start_load(child_process& p, const char* duration_s) {
    const std::string json = dir_ + "load" + std::to_string(++runs_) + ".json";
    EXPECT_TRUE(p.start("esme-load", {"--connect",     "127.0.0.1:" + std::to_string(port_),
                                      "--system-id",   "loadtest",
                                      "--password",    "secret",
                                      "--json",        json,
                                      "--no-progress", "--duration",
                                      duration_s,      "--rate",
                                      load_rate,       "--sessions",
                                      load_sessions,   "--window",
                                      load_window,     "--dlr",
                                      "--dlr-wait",    "10"}));
    return json;
  }
  static flat_json finish_load(child_process& p, const std::string& json) {
    const exit_result r = p.wait(60s);
    EXPECT_EQ(r.code, 0) << "0: every submit_sm got a response\n" << r.err;
    expect_no_sanitizer_report("esme-load", r.err);
    const std::string text = read_file(json);
    const auto j = flat_json::parse(text);
    EXPECT_TRUE(j.has_value()) << "esme-load wrote: " << text << "\nstderr: " << r.err;
    std::printf("[   load   ] %s", text.c_str());
    return j.value_or(flat_json{});
  }

  // Exactly one response per submit_sm: accepted, or the router's temporary ESME_RMSGQFUL (the
  // answer to requests in flight on a bind that dropped, and to new ones while every bind is
  // down); every accepted message got its receipt, matched by message id.
  static void expect_every_answer_and_receipt(const flat_json& r) {
    uint64_t errors = 0;
    for (const std::string& status : r.keys_under("errors")) {
      EXPECT_EQ(status, "ESME_RMSGQFUL");
      errors += r.count("errors." + status);
    }
    EXPECT_EQ(r.count("unanswered"), 0u);
    EXPECT_EQ(r.count("sent"), r.count("accepted") + errors);
    EXPECT_GT(r.count("accepted"), 0u);
    EXPECT_EQ(r.count("receipt_ids_untracked"), 0u);
    EXPECT_EQ(r.count("receipts_matched"), r.count("accepted"));
    // Only messages the ESME saw accepted have receipts: the router cannot correlate a message
    // whose submit_sm_resp was lost with the upstream (it answered ESME_RMSGQFUL), so that
    // message's replayed receipt ends at the router (receipts_unmatched), not here.
    EXPECT_EQ(r.count("receipts_unknown"), 0u);
    // Duplicates are allowed (at least once: a receipt whose deliver_sm_resp was lost in a kill
    // is sent again by the restarted upstream), and every receipt is one of the three kinds.
    EXPECT_EQ(r.count("receipts"), r.count("receipts_matched") + r.count("receipts_duplicate"));
    EXPECT_EQ(r.count("responses_stray"), 0u);  // no request answered twice
  }

  // The router's own count (/metrics) of the requests of every run so far: the ESME's, each
  // answered once. Upstream, each request it wrote was accepted (and that answer relayed) or
  // lost with a killed upstream (ESME_RMSGQFUL).
  void expect_router_counted(const request_counts& esme) const {
    const smpp::testing::metric_samples m = smpp::testing::scrape_metrics(admin_port_);
    EXPECT_EQ(router_counts(m, "tenant", "load"), esme);
    const request_counts up = router_counts(m, "upstream", "smsc");
    EXPECT_EQ(up.accepted, esme.accepted);
    const auto failed = up.errors.find("ESME_RMSGQFUL");
    const uint64_t lost_inflight = failed == up.errors.end() ? 0 : failed->second;
    EXPECT_EQ(up, (request_counts{up.accepted + lost_inflight, up.accepted, up.errors}));
    EXPECT_LE(up.errors.size(), 1u) << up;
  }

  void run_kills_during_load(const std::string& workers, uint32_t binds);

  child_process sim_;
  uint16_t sim_port_ = 0;
  child_process router_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  std::string dir_;
  std::string journal_;
  int runs_ = 0;
};

void RouterFaultTest::run_kills_during_load(const std::string& workers, uint32_t binds) {
  const auto test_started = clock_type::now();
  sim_port_ = start_smsc_sim(sim_, 0, sim_args());
  ASSERT_NE(sim_port_, 0) << sim_.err();
  ASSERT_TRUE(start_router(workers, binds));
  ASSERT_TRUE(wait_for_sim([&](const flat_json& c) { return c.count("binds") >= binds; }, 15s))
      << router_.err();

  const uint64_t started_kib = rss_kib(router_.pid());
  // Warm-up: the same load without faults; afterwards the router's memory is at its steady
  // level (tables, pools and send queues touched at this rate).
  request_counts esme;
  {
    child_process load;
    const std::string json = start_load(load, warmup_duration_s);
    const flat_json warmup = finish_load(load, json);
    expect_every_answer_and_receipt(warmup);
    esme += esme_counts(warmup);
  }
  const uint64_t steady_kib = settled_rss_kib(router_.pid());
  ASSERT_GT(steady_kib, 0u);

  // The load, and ten kills in its middle.
  child_process load;
  const std::string json = start_load(load, fault_duration_s);
  const auto load_started = clock_type::now();
  uint64_t replayed_seen = 0;  // receipts the restarted instances replayed, as far as read
  for (int k = 0; k < kills; ++k) {
    // The kill schedule (the scenario's clock, not a wait for an event).
    std::this_thread::sleep_until(load_started + first_kill + k * kill_period);
    // Traffic flows through this instance (after the router reconnected to it).
    const auto c = wait_for_sim(
        [](const flat_json& j) { return j.count("accepted") >= min_accepted_before_kill; }, 15s);
    ASSERT_TRUE(c && c->count("accepted") >= min_accepted_before_kill)
        << "kill " << k << ": no traffic through the restarted smsc-sim\n"
        << router_.err();
    replayed_seen += c->count("receipts_replayed");
    sim_.signal(SIGKILL);
    (void)sim_.wait(10s);
    // An outage of 200, 300 or 400 ms: the scenario, not a wait for an event.
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + 100 * (k % 3)));
    ASSERT_EQ(start_smsc_sim(sim_, sim_port_, sim_args()), sim_port_) << "restart " << k << ":\n"
                                                                      << sim_.err();
  }
  const flat_json report = finish_load(load, json);
  expect_every_answer_and_receipt(report);
  EXPECT_GT(report.count("errors.ESME_RMSGQFUL"), 0u) << "the kills cost nothing: not a test";
  esme += esme_counts(report);
  expect_router_counted(esme);

  // Every receipt the journal owed was delivered and acknowledged, by the ESME or (for the
  // messages it saw refused) by the router, so the last instance owes nothing; the receipts
  // that crossed a restart were replayed from the journal.
  const auto last =
      wait_for_sim([](const flat_json& c) { return c.count("journal_pending") == 0; }, 10s);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->count("journal_pending"), 0u);
  EXPECT_EQ(last->count("journal_full"), 0u);
  EXPECT_EQ(last->count("journal_errors"), 0u);
  EXPECT_LE(last->count("accepted"), report.count("accepted"));
  replayed_seen += last->count("receipts_replayed");
  EXPECT_GT(replayed_seen, 0u) << "no receipt crossed a restart";

  // Memory: back to the steady level once the faults are over. The router allocates its
  // tables up front (the correlation table alone is most of its half a GiB of RSS), so RSS
  // should not move. The margin is a fixed 8 MiB, not a share of that level: 10 % of it would
  // hide a leak of 2 KiB per message. 8 MiB covers what legitimately varies: the allocator's
  // free lists after bind churn (session buffers per reconnect, freed but not necessarily
  // returned to the kernel, per worker thread) and the high-water mark of the hold queues, a
  // few MiB at most at this load. It catches a leak of some 350 octets per message (about
  // 24 000 here) or 800 KiB per kill.
  const uint64_t after_kib = settled_rss_kib(router_.pid());
  constexpr uint64_t margin_kib = 8 * 1024;
  std::printf(
      "[   rss    ] router VmRSS at start %llu KiB, steady %llu KiB, after %d kills %llu "
      "KiB (margin %llu KiB); receipts replayed after restarts: %llu\n",
      static_cast<unsigned long long>(started_kib), static_cast<unsigned long long>(steady_kib),
      kills, static_cast<unsigned long long>(after_kib),
      static_cast<unsigned long long>(margin_kib), static_cast<unsigned long long>(replayed_seen));
  if (sanitized_build) {
    // AddressSanitizer keeps freed memory in quarantine (up to 256 MiB): RSS says nothing.
    std::printf("[   rss    ] sanitizer build: the memory bound is not checked\n");
  } else {
    EXPECT_LE(after_kib, steady_kib + margin_kib);
  }

  router_.signal(SIGTERM);
  const exit_result r = router_.wait(10s);
  EXPECT_EQ(r.code, 0) << r.err;
  expect_no_sanitizer_report("smpp-router", r.err);
  sim_.signal(SIGTERM);
  const exit_result s = sim_.wait(10s);
  EXPECT_EQ(s.code, 0) << s.err;
  expect_no_sanitizer_report("smsc-sim", s.err);
  const auto took = std::chrono::duration<double>(clock_type::now() - test_started).count();
  std::printf("[   time   ] %.1f s\n", took);
  if (smpp::testing::rate_bounds_checked()) {
    EXPECT_LT(took, 60.0);
  }
}

TEST_F(RouterFaultTest, UpstreamKilledTenTimesMidLoadThroughOneWorker) {
  run_kills_during_load("[0]", 2);
}

TEST_F(RouterFaultTest, UpstreamKilledTenTimesMidLoadThroughTwoWorkers) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs CPUs 0 and 1";
  run_kills_during_load("[0, 1]", 2);  // one bind per worker: receipts arrive on either
}

}  // namespace
