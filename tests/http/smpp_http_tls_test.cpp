// smpp-http with [smsc] tls = true against smsc-sim's TLS listener (child processes on loopback,
// certificates made by the openssl command line in the test): every message submitted once over
// TLS with its receipt; a certificate from another CA, a plain SMSC and an unreadable CA file
// are refused with nothing sent. Each case bounded (under 20 s).
#include <gtest/gtest.h>

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "../support/child_process.hpp"
#include "../support/tls_certs.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::make_temp_dir;
using smpp::testing::start_smsc_sim;

constexpr std::size_t messages = 500;

// smpp-http bound over TLS to smsc_port, checking the SMSC's certificate with ca_file; its HTTP
// port once it is up, 0 when it exited or did not come up.
int start_http(child_process& p, const std::string& dir, std::uint16_t smsc_port,
               const std::string& ca_file, bool tls = true) {
  std::ofstream(dir + "http.toml")
      << "[http]\nlisten = \"127.0.0.1:0\"\nthreads = 4\n[store]\npath = \"" << dir
      << "state.db\"\n[smsc]\nhost = \"127.0.0.1\"\nport = " << smsc_port
      << "\nsessions = 2\nwindow = 64\nreconnect_ms = 100\ntls = " << (tls ? "true" : "false")
      << "\ntls_ca_file = \"" << ca_file
      << "\"\n[[clients]]\nname = \"demo\"\nkey_hash = "
         "\"blake2b256:e229ec1be2faa7a5dec6aad7aff1591e1e9b1683ed3f08cce11be9bd06dd2c67\"\n"
         "from = \"DEMO\"\n";
  if (!p.start("smpp-http", {"--config", dir + "http.toml"})) return 0;
  constexpr std::string_view marker = "listening on 127.0.0.1:";
  if (!p.wait_for_output(
          [&](const std::string&, const std::string& err) {
            const size_t at = err.find(marker);
            return at != std::string::npos && err.find('\n', at) != std::string::npos;
          },
          10s)) {
    return 0;
  }
  return std::atoi(p.err().c_str() + p.err().find(marker) + marker.size());
}

json status(int port) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/v1/status", httplib::Headers{{"Authorization", "Bearer demo-key"}});
  if (!r || r->status != 200) return json();
  return json::parse(r->body, nullptr, false);
}

template <typename Done>
json wait_status(int port, Done done, std::chrono::milliseconds limit) {
  json last;
  for (const auto until = clock_type::now() + limit; clock_type::now() < until;) {
    last = status(port);
    if (last.is_object() && done(last)) return last;
    std::this_thread::sleep_for(20ms);
  }
  return last;
}

std::string batch(std::size_t n) {
  std::string to = "[";
  for (std::size_t i = 0; i < n; ++i) {
    to += (i == 0 ? "\"4479" : ",\"4479") + std::to_string(10000000 + i) + "\"";
  }
  return R"({"to":)" + to + R"(],"text":"over TLS"})";
}

class SmppHttpTls : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(certs_.make(error)) << error;
    dir_ = make_temp_dir(::testing::TempDir(), "smpp_http_tls_");
  }
  smpp::test::tls_certs certs_;
  std::string dir_;
};

TEST_F(SmppHttpTls, EveryMessageSubmittedOnceOverTlsWithItsReceipt) {
  child_process sim;
  const std::uint16_t sim_port =
      start_smsc_sim(sim, 0, {"--tls-cert", certs_.server_cert, "--tls-key", certs_.server_key});
  ASSERT_NE(sim_port, 0) << sim.err();
  child_process http;
  const int port = start_http(http, dir_, sim_port, certs_.ca_cert);
  ASSERT_GT(port, 0) << http.err();
  ASSERT_EQ(
      wait_status(
          port, [](const json& s) { return s["sessions_bound"] == 2; }, 10s)["sessions_bound"],
      2)
      << http.err();
  httplib::Client c("127.0.0.1", port);
  const auto r = c.Post("/v1/messages", httplib::Headers{{"Authorization", "Bearer demo-key"}},
                        batch(messages), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  const json s = wait_status(
      port,
      [](const json& j) {
        return j["responses_ok"] == messages && j["receipts_matched"] == messages;
      },
      15s);
  EXPECT_EQ(s["responses_ok"], messages) << s.dump();
  EXPECT_EQ(s["receipts_matched"], messages) << s.dump();
  EXPECT_EQ(s["responses_error"], 0);
  EXPECT_EQ(s["parts_retried"], 0);
  EXPECT_EQ(s["bind_failures"], 0);
  const auto counters = smpp::testing::smsc_sim_counters(sim);
  ASSERT_TRUE(counters.has_value());
  EXPECT_EQ(counters->count("submit_sm"), messages);
  EXPECT_EQ(counters->count("receipts_sent"), messages);
  EXPECT_EQ(counters->count("binds"), 2);
}

// The SMSC's certificate comes from a CA smpp-http does not trust: no bind, nothing sent, the
// reason on stderr; the messages accepted wait in the queue.
TEST_F(SmppHttpTls, CertificateOfAnotherCaRefused) {
  child_process sim;
  const std::uint16_t sim_port =
      start_smsc_sim(sim, 0, {"--tls-cert", certs_.wrong_ca_cert, "--tls-key", certs_.server_key});
  ASSERT_NE(sim_port, 0) << sim.err();
  child_process http;
  const int port = start_http(http, dir_, sim_port, certs_.ca_cert);
  ASSERT_GT(port, 0) << http.err();
  ASSERT_TRUE(http.wait_for_output(
      [](const std::string&, const std::string& err) {
        return err.find("certificate refused") != std::string::npos;
      },
      10s))
      << http.err();
  httplib::Client c("127.0.0.1", port);
  const auto r = c.Post("/v1/messages", httplib::Headers{{"Authorization", "Bearer demo-key"}},
                        batch(10), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  const json s = wait_status(
      port, [](const json& j) { return j["bind_failures"] >= 4; }, 10s);
  EXPECT_GE(s["bind_failures"], 4) << s.dump();
  EXPECT_EQ(s["sessions_bound"], 0);
  EXPECT_EQ(s["parts_submitted"], 0);
  EXPECT_EQ(s["queued_parts"], 10);
  const auto counters = smpp::testing::smsc_sim_counters(sim);
  ASSERT_TRUE(counters.has_value());
  EXPECT_EQ(counters->count("binds"), 0);
  EXPECT_EQ(counters->count("submit_sm"), 0);
}

// tls = true against an SMSC that speaks plain SMPP: the handshake fails, no bind; the same
// smpp-http without tls binds (the failure is the TLS, not the SMSC).
TEST_F(SmppHttpTls, PlainSmscRefusedOnlyWithTls) {
  child_process sim;
  const std::uint16_t sim_port = start_smsc_sim(sim, 0);
  ASSERT_NE(sim_port, 0) << sim.err();
  {
    child_process http;
    const int port = start_http(http, dir_, sim_port, certs_.ca_cert);
    ASSERT_GT(port, 0) << http.err();
    const json s = wait_status(
        port, [](const json& j) { return j["bind_failures"] >= 2; }, 15s);
    EXPECT_GE(s["bind_failures"], 2) << s.dump() << http.err();
    EXPECT_EQ(s["sessions_bound"], 0);
    EXPECT_TRUE(http.wait_for_output(
        [](const std::string&, const std::string& err) {
          return err.find("TLS: handshake failed") != std::string::npos;
        },
        5s))
        << http.err();
  }
  child_process plain;
  const int port = start_http(plain, dir_, sim_port, certs_.ca_cert, false);
  ASSERT_GT(port, 0) << plain.err();
  EXPECT_EQ(
      wait_status(
          port, [](const json& j) { return j["sessions_bound"] == 2; }, 10s)["sessions_bound"],
      2);
}

TEST_F(SmppHttpTls, UnreadableCaFileIsAStartError) {
  std::ofstream(dir_ + "http.toml")
      << "[store]\npath = \"" << dir_ << "state.db\"\n[smsc]\ntls = true\ntls_ca_file = \"" << dir_
      << "missing.pem\"\n[[clients]]\nname = \"demo\"\nkey_hash = "
         "\"blake2b256:e229ec1be2faa7a5dec6aad7aff1591e1e9b1683ed3f08cce11be9bd06dd2c67\"\n"
         "from = \"DEMO\"\n";
  const auto r = smpp::testing::run_tool("smpp-http", {"--config", dir_ + "http.toml"}, 10s);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cannot load the CA file " + dir_ + "missing.pem"), std::string::npos)
      << r.err;
  std::ofstream(dir_ + "bad.toml") << "[smsc]\ntls = \"yes\"\n";
  const auto bad = smpp::testing::run_tool("smpp-http", {"--config", dir_ + "bad.toml"}, 10s);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("bad.toml:2:7: smsc.tls: must be true or false"), std::string::npos)
      << bad.err;
}

}  // namespace
