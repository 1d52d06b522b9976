// smpp-router with its admin API on a loopback port, in front of smsc-sim, for the tests of
// smppctl and of /metrics scraped by Prometheus (child processes, see child_process.hpp).
#pragma once

#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "request_counts.hpp"

namespace smpp::testing {

inline constexpr const char* admin_test_token = "test-token-0123456789";

class admin_router {
 public:
  ~admin_router() { stop(); }

  // smsc-sim, then smpp-router (tenant "load" / system_id "loadtest" / password "secret", one
  // upstream "sim" with two binds, a route for everything) with [admin] on a free port and
  // `admin_keys` (e.g. the token). False with `why` set when something did not come up.
  // `upstream_keys`: more keys of the [[upstreams]] table (e.g. its rate_per_s).
  bool start(const std::string& dir, const std::string& admin_keys, std::string& why,
             const std::string& upstream_keys = "") {
    const uint16_t sim_port = start_smsc_sim(sim_, 0);
    if (sim_port == 0) {
      why = "smsc-sim did not come up: " + sim_.err();
      return false;
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = unused_port();
      admin_port_ = unused_port();
      if (port_ == 0 || admin_port_ == 0 || port_ == admin_port_) continue;
      const std::string path = dir + "router" + std::to_string(attempt) + ".toml";
      std::ofstream(path) << "[router]\n"
                             "listen = [\"127.0.0.1:"
                          << port_
                          << "\"]\n"
                             "workers = [0, 1]\n\n"
                             "[admin]\n"
                             "listen = \"127.0.0.1:"
                          << admin_port_ << "\"\n"
                          << admin_keys
                          << "\n"
                             "[[tenants]]\n"
                             "name = \"load\"\n"
                             "system_id = \"loadtest\"\n"
                             "password = \"secret\"\n\n"
                             "[[upstreams]]\n"
                             "name = \"sim\"\n"
                             "address = \"127.0.0.1:"
                          << sim_port << "\"\n"
                          << upstream_keys
                          << "\n"
                             "[[upstreams.binds]]\n"
                             "system_id = \"router\"\n"
                             "password = \"router\"\n"
                             "count = 2\n\n"
                             "[[routes]]\n"
                             "tenant = \"*\"\n"
                             "destination_prefix = \"\"\n"
                             "upstreams = [\"sim\"]\n";
      config_path_ = path;
      if (!router_.start("smpp-router", {"--config", path})) {
        why = "cannot start smpp-router";
        return false;
      }
      const std::string listening = "listening on 127.0.0.1:" + std::to_string(port_);
      const std::string admin = "/metrics on http://127.0.0.1:" + std::to_string(admin_port_);
      const bool up = router_.wait_for_output(
          [&](const std::string&, const std::string& err) {
            return err.find(listening) != std::string::npos && err.find(admin) != std::string::npos;
          },
          std::chrono::seconds(20));
      if (up) return true;
      // A port taken in between: the router says so; try others.
      router_.signal(SIGTERM);
      const exit_result r = router_.wait(std::chrono::seconds(10));
      why = "smpp-router did not come up:\n" + r.err;
    }
    return false;
  }

  // esme-load sends `count` messages through the router; its exit code. Each must be accepted
  // and answered once (its report is checked: a failed expectation otherwise).
  int load(const std::string& dir, uint32_t count) {
    const exit_result r =
        run_tool("esme-load",
                 {"--connect", "127.0.0.1:" + std::to_string(port_), "--system-id", "loadtest",
                  "--password", "secret", "--count", std::to_string(count), "--sessions", "2",
                  "--json", dir + "load.json", "--no-progress"},
                 std::chrono::seconds(60));
    last_load_err_ = r.err;
    const auto report = flat_json::parse(read_file(dir + "load.json"));
    EXPECT_TRUE(report.has_value()) << read_file(dir + "load.json") << r.err;
    if (report) {
      EXPECT_EQ(esme_counts(*report), (request_counts{count, count, {}})) << r.err;
      EXPECT_EQ(report->count("responses_stray"), 0u);
    }
    loaded_ += count;
    return r.code;
  }

  // SIGTERM to both; the router's exit. smsc-sim must have received and accepted each message
  // load() sent, once.
  exit_result stop() {
    exit_result r;
    if (router_.pid() > 0) {
      router_.signal(SIGTERM);
      r = router_.wait(std::chrono::seconds(10));
    }
    if (sim_.pid() > 0) {
      sim_.signal(SIGTERM);
      const exit_result s = sim_.wait(std::chrono::seconds(10));
      const auto counters = flat_json::parse(last_line(s.out));
      EXPECT_TRUE(counters.has_value()) << "smsc-sim printed: " << s.out;
      if (counters) {
        EXPECT_EQ(sim_counts(*counters), (request_counts{loaded_, loaded_, {}}));
      }
    }
    return r;
  }

  [[nodiscard]] std::string url() const {
    return "http://127.0.0.1:" + std::to_string(admin_port_);
  }
  [[nodiscard]] uint16_t admin_port() const { return admin_port_; }
  [[nodiscard]] const std::string& config_path() const { return config_path_; }
  [[nodiscard]] const std::string& load_err() const { return last_load_err_; }
  child_process& router() { return router_; }

 private:
  child_process sim_;
  child_process router_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  std::string config_path_;
  std::string last_load_err_;
  uint64_t loaded_ = 0;  // messages load() sent
};

}  // namespace smpp::testing
