// smppctl against a running smpp-router (smsc-sim behind it, esme-load in front): its tables,
// --json, the token rules and the router's refusals as exit codes, an unreachable router, and
// the command line itself (--help, usage errors).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "../support/admin_router.hpp"
#include "../support/child_process.hpp"

namespace {

using namespace std::chrono_literals;
using smpp::testing::admin_router;
using smpp::testing::admin_test_token;
using smpp::testing::exit_result;
using smpp::testing::flat_json;
using smpp::testing::make_temp_dir;
using smpp::testing::run_tool;
using smpp::testing::unused_port;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The line of `text` that starts with `start`, or "".
std::string line_starting(const std::string& text, const std::string& start) {
  for (const auto& l : lines_of(text)) {
    if (l.starts_with(start)) return l;
  }
  return {};
}

// In a table, a number column is right-aligned under its heading: the value in `row` ends
// where `heading` ends in `header`.
std::string cell_under(const std::string& header, const std::string& row,
                       const std::string& heading) {
  const size_t at = header.find(heading);
  if (at == std::string::npos) return "<no heading " + heading + ">";
  const size_t end = at + heading.size();
  if (row.size() < end) return "<row too short>";
  size_t start = end;
  while (start > 0 && row[start - 1] != ' ') --start;
  return row.substr(start, end - start);
}

class SmppctlTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir(::testing::TempDir(), "smppctl_"); }
  void TearDown() override {
    const exit_result r = router_.stop();
    // A sanitizer build reports through stderr; any report fails the test.
    EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("runtime error:"), std::string::npos) << r.err;
  }

  void start(const std::string& admin_keys, const std::string& upstream_keys = "") {
    std::string why;
    ASSERT_TRUE(router_.start(dir_, admin_keys, why, upstream_keys)) << why;
  }
  exit_result ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--url", router_.url()});
    return run_tool("smppctl", args, 30s);
  }

  std::string dir_;
  admin_router router_;
};

TEST_F(SmppctlTest, ReadCommandsPrintAlignedTablesOfTheRunningRouter) {
  start("token = \"" + std::string(admin_test_token) + "\"\n");
  ASSERT_EQ(router_.load(dir_, 3000), 0) << router_.load_err();

  const exit_result status = ctl({"status"});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_NE(status.out.find("smpp-router 0.1.0, up "), std::string::npos) << status.out;
  const std::string wheader = line_starting(status.out, "WORKER");
  ASSERT_FALSE(wheader.empty()) << status.out;
  for (const char* h : {"CPU", "CORE", "NUMA", "BUSY", "RECEIVED"}) {
    EXPECT_NE(wheader.find(h), std::string::npos) << h;
  }
  // Two workers, each on its own line, with its CPU.
  EXPECT_EQ(cell_under(wheader, line_starting(status.out, "     0"), "CPU"), "0") << status.out;
  EXPECT_EQ(cell_under(wheader, line_starting(status.out, "     1"), "CPU"), "1") << status.out;
  const std::string theader = line_starting(status.out, "TENANTS");
  ASSERT_FALSE(theader.empty()) << status.out;
  const auto all = lines_of(status.out);
  const auto it = std::find(all.begin(), all.end(), theader);
  ASSERT_NE(it + 1, all.end());
  EXPECT_EQ(cell_under(theader, *(it + 1), "SUBMITTED"), "3000") << status.out;
  EXPECT_EQ(cell_under(theader, *(it + 1), "BINDS UP"), "2/2") << status.out;

  const exit_result tenants = ctl({"tenants"});
  ASSERT_EQ(tenants.code, 0) << tenants.err;
  const std::string header = line_starting(tenants.out, "TENANT");
  const std::string row = line_starting(tenants.out, "load");
  EXPECT_EQ(cell_under(header, row, "SUBMITTED"), "3000") << tenants.out;
  EXPECT_EQ(cell_under(header, row, "ACCEPTED"), "3000") << tenants.out;
  EXPECT_EQ(cell_under(header, row, "REJECTED"), "0") << tenants.out;
  EXPECT_EQ(cell_under(header, row, "RECEIPTS"), "0") << tenants.out;
  // The return path: a row per kind, every outcome counted (nothing came back in this run).
  const std::string rheader = line_starting(tenants.out, "TENANT  KIND");
  ASSERT_FALSE(rheader.empty()) << tenants.out;
  for (const char* kind : {"load    receipt ", "load    mo "}) {
    const std::string r = line_starting(tenants.out, kind);
    for (const char* h : {"RECEIVED", "DELIVERED", "REFUSED", "FAILED", "EXPIRED", "HELD"}) {
      EXPECT_EQ(cell_under(rheader, r, h), "0") << kind << h << "\n" << tenants.out;
    }
  }

  const exit_result upstreams = ctl({"upstreams"});
  ASSERT_EQ(upstreams.code, 0) << upstreams.err;
  const std::string uheader = line_starting(upstreams.out, "UPSTREAM  ADDRESS");
  EXPECT_EQ(cell_under(uheader, line_starting(upstreams.out, "sim "), "BINDS UP"), "2/2")
      << upstreams.out;
  // The quality window: every one of the 3,000 answers, no receipt asked for (no ratio).
  const std::string qheader = line_starting(upstreams.out, "UPSTREAM  WINDOW S");
  ASSERT_FALSE(qheader.empty()) << upstreams.out;
  const auto ulines = lines_of(upstreams.out);
  const auto q = std::find(ulines.begin(), ulines.end(), qheader);
  ASSERT_NE(q + 1, ulines.end());
  EXPECT_EQ(cell_under(qheader, *(q + 1), "WINDOW S"), "300") << upstreams.out;
  EXPECT_EQ(cell_under(qheader, *(q + 1), "ANSWERS"), "3000") << upstreams.out;
  EXPECT_EQ(cell_under(qheader, *(q + 1), "FINAL RECEIPTS"), "0") << upstreams.out;
  EXPECT_EQ(cell_under(qheader, *(q + 1), "DELIVERY RATIO"), "-") << upstreams.out;
  const std::string urheader = line_starting(upstreams.out, "UPSTREAM  KIND");
  ASSERT_FALSE(urheader.empty()) << upstreams.out;
  const std::string receipts = line_starting(upstreams.out, "sim       receipt ");
  EXPECT_EQ(cell_under(urheader, receipts, "RECEIVED"), "0") << upstreams.out;
  EXPECT_EQ(cell_under(urheader, receipts, "UNMATCHED"), "0") << upstreams.out;
  EXPECT_EQ(cell_under(urheader, receipts, "INVALID"), "0") << upstreams.out;
  // MO messages have no message id to match: no such outcome.
  const std::string mo = line_starting(upstreams.out, "sim       mo ");
  EXPECT_EQ(cell_under(urheader, mo, "UNMATCHED"), "-") << upstreams.out;

  const exit_result sessions = ctl({"sessions"});
  ASSERT_EQ(sessions.code, 0) << sessions.err;
  EXPECT_NE(line_starting(sessions.out, "load").find("loadtest"), std::string::npos)
      << sessions.out;

  const exit_result routes = ctl({"routes"});
  ASSERT_EQ(routes.code, 0) << routes.err;
  EXPECT_FALSE(line_starting(routes.out, "*").empty()) << routes.out;
  EXPECT_NE(line_starting(routes.out, "*").find("sim"), std::string::npos) << routes.out;

  const exit_result slots = ctl({"slots", "sim"});
  ASSERT_EQ(slots.code, 0) << slots.err;
  EXPECT_NE(slots.out.find("upstream sim"), std::string::npos) << slots.out;
  EXPECT_FALSE(line_starting(slots.out, "BIND").empty()) << slots.out;

  // --json: the API's own document.
  const exit_result raw = ctl({"--json", "status"});
  ASSERT_EQ(raw.code, 0) << raw.err;
  const auto j = flat_json::parse(raw.out);
  ASSERT_TRUE(j.has_value()) << raw.out;
  EXPECT_EQ(j->count("totals.submitted"), 3000u);
  EXPECT_EQ(j->count("workers.1.cpu"), 1u);
}

TEST_F(SmppctlTest, RefusalsAreExitOneWithTheRoutersMessage) {
  start("token = \"" + std::string(admin_test_token) + "\"\n");
  const exit_result missing = ctl({"slots", "nope"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("404: no upstream named 'nope'"), std::string::npos) << missing.err;

  const exit_result no_token = ctl({"reload"});
  EXPECT_EQ(no_token.code, 1);
  EXPECT_NE(no_token.err.find("401: this change needs 'Authorization: Bearer TOKEN'"),
            std::string::npos)
      << no_token.err;
  const exit_result wrong = ctl({"--token", "wrong-token-0123456789", "reload"});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.err.find("401: the token is wrong"), std::string::npos) << wrong.err;

  // The right token: validated and published to the workers.
  std::ofstream(dir_ + "token") << admin_test_token << "\n";
  const exit_result reload = ctl({"--token-file", dir_ + "token", "reload"});
  EXPECT_EQ(reload.code, 0) << reload.err;

  // A change the running workers cannot take (the listener moves): 409, restart needed.
  {
    std::ifstream in(router_.config_path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at = text.find("listen = [\"127.0.0.1:");
    ASSERT_NE(at, std::string::npos) << text;
    text.insert(at + std::string("listen = [").size(), "\"127.0.0.1:1\", ");
    std::ofstream(router_.config_path()) << text;
  }
  const exit_result moved = ctl({"--token", admin_test_token, "reload"});
  EXPECT_EQ(moved.code, 1);
  EXPECT_NE(moved.err.find("409: the listeners changed: restart the router to apply it"),
            std::string::npos)
      << moved.err;
  const exit_result unknown = ctl({"--token", admin_test_token, "weights", "ghost", "sim", "3"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("404: no tenant named 'ghost'"), std::string::npos) << unknown.err;

  // A broken file: reload names the file, line and key.
  std::ofstream(router_.config_path(), std::ios::app) << "\n[security]\nbind_lockout_s = 0\n";
  const exit_result invalid = ctl({"--token", admin_test_token, "reload"});
  EXPECT_EQ(invalid.code, 1);
  EXPECT_NE(invalid.err.find("400: the configuration is not valid"), std::string::npos)
      << invalid.err;
  EXPECT_NE(invalid.err.find(router_.config_path() + ":"), std::string::npos) << invalid.err;
  EXPECT_NE(invalid.err.find("security.bind_lockout_s"), std::string::npos) << invalid.err;
}

// Tenants may be added, reordered and removed while the router runs: the builder keeps every
// index, so the workers take the change (200), and a removed tenant stays listed as retired.
TEST_F(SmppctlTest, TenantsAreAddedAndRemovedWithoutARestart) {
  start("token = \"" + std::string(admin_test_token) + "\"\n");
  std::string original;
  {
    std::ifstream in(router_.config_path());
    original.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const size_t at = original.find("[[tenants]]");
  ASSERT_NE(at, std::string::npos) << original;
  // A new tenant listed before the existing one.
  std::string with_new = original;
  with_new.insert(at,
                  "[[tenants]]\nname = \"newco\"\nsystem_id = \"newco\"\npassword = \"pw\"\n\n");
  std::ofstream(router_.config_path()) << with_new;
  const exit_result added = ctl({"--token", admin_test_token, "reload"});
  EXPECT_EQ(added.code, 0) << added.err;
  // ... and removed again.
  std::ofstream(router_.config_path()) << original;
  const exit_result removed = ctl({"--token", admin_test_token, "reload"});
  EXPECT_EQ(removed.code, 0) << removed.err;
  const exit_result list = run_tool("/usr/bin/curl", {"-s", router_.url() + "/api/tenants"}, 30s);
  ASSERT_EQ(list.code, 0) << list.err;
  const size_t newco = list.out.find("\"newco\"");
  ASSERT_NE(newco, std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\"retired\": true"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\"retired\": false"), std::string::npos) << list.out;
}

TEST_F(SmppctlTest, WeightsChangeTheTenantsShareOfTheRunningRouter) {
  start("token = \"" + std::string(admin_test_token) + "\"\n", "rate_per_s = 100000\n");
  const exit_result r = ctl({"--token", admin_test_token, "weights", "load", "sim", "3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("weight of tenant load on upstream sim is now 3"), std::string::npos)
      << r.out;
  const exit_result raw = ctl({"--json", "upstreams"});
  ASSERT_EQ(raw.code, 0) << raw.err;
  const auto j = flat_json::parse(raw.out);
  ASSERT_TRUE(j.has_value()) << raw.out;
  EXPECT_EQ(j->count(".0.shares.0.weight"), 3u) << raw.out;  // flat_json: a top array is ".N"
  // The plan the workers run now: every slot of the frame belongs to the only tenant.
  const exit_result slots = ctl({"slots", "sim"});
  ASSERT_EQ(slots.code, 0) << slots.err;
  EXPECT_NE(slots.out.find("load:"), std::string::npos) << slots.out;
  const exit_result zero = ctl({"--token", admin_test_token, "weights", "load", "sim", "0"});
  EXPECT_EQ(zero.code, 1);
  EXPECT_NE(zero.err.find("upstreams[0].shares[0].weight"), std::string::npos) << zero.err;
}

TEST_F(SmppctlTest, WithoutATokenConfiguredChangesAreForbidden) {
  start("");
  const exit_result r = ctl({"--token", admin_test_token, "reload"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("403: changes are disabled"), std::string::npos) << r.err;
}

TEST(Smppctl, AnUnreachableRouterIsExitThree) {
  const uint16_t port = unused_port();
  const exit_result r =
      run_tool("smppctl", {"--url", "http://127.0.0.1:" + std::to_string(port), "status"}, 30s);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
}

TEST(Smppctl, HelpAndUsageErrors) {
  const exit_result help = run_tool("smppctl", {"--help"}, 10s);
  EXPECT_EQ(help.code, 0);
  for (const char* s :
       {"status", "tenants", "upstreams", "sessions", "routes", "slots UPSTREAM",
        "weights TENANT UPSTREAM WEIGHT", "reload", "--token-file", "exit status"}) {
    EXPECT_NE(help.out.find(s), std::string::npos) << s;
  }
  EXPECT_EQ(run_tool("smppctl", {}, 10s).code, 2);
  const exit_result bogus = run_tool("smppctl", {"frobnicate"}, 10s);
  EXPECT_EQ(bogus.code, 2);
  EXPECT_NE(bogus.err.find("unknown command 'frobnicate'"), std::string::npos);
  const exit_result arity = run_tool("smppctl", {"slots"}, 10s);
  EXPECT_EQ(arity.code, 2);
  EXPECT_NE(arity.err.find("usage: smppctl slots UPSTREAM"), std::string::npos);
  const exit_result weight = run_tool("smppctl", {"weights", "a", "b", "-3"}, 10s);
  EXPECT_EQ(weight.code, 2);
  EXPECT_NE(weight.err.find("WEIGHT must be a whole number"), std::string::npos);
  const exit_result url = run_tool("smppctl", {"--url", "ftp://x", "status"}, 10s);
  EXPECT_EQ(url.code, 2) << url.err;
}

}  // namespace
