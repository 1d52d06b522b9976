// smpp-router with a TLS listener beside the plain one and a TLS upstream (smsc-sim --tls-cert),
// driven by real TLS clients: `openssl s_client` for the handshakes (TLS 1.2 and 1.3) and for an
// SMPP bind + submit_sm + unbind carried over TLS. Failure paths: a plain-text client on the TLS
// port, an expired and a wrong-CA upstream certificate. The router's log must never show a
// password or key material. Certificates are made at test time (tls_certs.hpp).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/tls_certs.hpp"

namespace smpp::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view tenant_password = "Tls4pass";    // 8 characters: SMPP 3.4 maximum
constexpr std::string_view upstream_password = "up5tream";  // the router's bind to the SMSC

std::string source_dir() {
  if (const char* env = std::getenv("SMPP_SOURCE_DIR"); env != nullptr && *env != '\0') return env;
  return SMPP_SOURCE_DIR_DEFAULT;
}

std::string openssl_bin() {
  for (const char* p : {"/usr/bin/openssl", "/usr/local/bin/openssl"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "/usr/bin/openssl";
}

// ---- SMPP 3.4 PDUs by hand: this test speaks to the router through openssl, not our codec ----

void put32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}
std::string pdu(uint32_t id, uint32_t seq, const std::string& body) {
  std::string s;
  put32(s, static_cast<uint32_t>(16 + body.size()));
  put32(s, id);
  put32(s, 0);
  put32(s, seq);
  return s + body;
}
std::string cstr(std::string_view v) {
  return std::string(v) + '\0';
}
// SMPP 3.4 §4.1.5 bind_transceiver.
std::string bind_transceiver(std::string_view system_id, std::string_view password) {
  return pdu(
      0x00000009, 1,
      cstr(system_id) + cstr(password) + cstr("") + std::string("\x34\x00\x00", 3) + cstr(""));
}
// SMPP 3.4 §4.4.1 submit_sm.
std::string submit_sm(uint32_t seq) {
  std::string b = cstr("") + std::string("\x00\x00", 2) + cstr("12345") +
                  std::string("\x01\x01", 2) + cstr("447900000001") + std::string(3, '\0') +
                  cstr("") + cstr("") + std::string(4, '\0') + std::string(1, '\x05') + "hello";
  return pdu(0x00000004, seq, b);
}
std::string unbind(uint32_t seq) {
  return pdu(0x00000006, seq, "");
}

struct header {
  uint32_t length, id, status, seq;
};
std::vector<header> headers_in(const std::string& bytes) {
  std::vector<header> out;
  const auto get = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  for (size_t at = 0; at + 16 <= bytes.size();) {
    const header h{get(at), get(at + 4), get(at + 8), get(at + 12)};
    if (h.length < 16) break;
    out.push_back(h);
    at += h.length;
  }
  return out;
}

// A TCP relay on loopback in front of the simulator that counts the connections it relays: the
// router's attempts to reach its upstream, which the refusal cases wait for (the router reports
// its refused handshakes only when it stops).
class counting_relay {
 public:
  explicit counting_relay(uint16_t to_port) : to_port_(to_port) {}
  ~counting_relay() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    for (const auto& [a, b] : pairs_) {
      close(a);
      close(b);
    }
    if (listen_fd_ >= 0) close(listen_fd_);
  }
  counting_relay(const counting_relay&) = delete;
  counting_relay& operator=(const counting_relay&) = delete;

  // Listens on 127.0.0.1 (a port from the kernel) and relays from a thread of its own.
  bool start() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return false;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
    return true;
  }
  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] int connections() const { return connections_.load(); }
  // Waits until `n` connections came; false when `limit` passed first.
  [[nodiscard]] bool wait_for_connections(int n, std::chrono::milliseconds limit) const {
    const auto until = clock_type::now() + limit;
    while (connections() < n) {
      if (clock_type::now() >= until) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

 private:
  static sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }
  // Copies what `from` has to `to`; false at its end or on an error.
  static bool forward(int from, int to) {
    char buf[16384];
    const ssize_t n = recv(from, buf, sizeof buf, 0);
    if (n <= 0) return false;
    for (ssize_t sent = 0; sent < n;) {
      const ssize_t k = send(to, buf + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
      if (k <= 0) return false;
      sent += k;
    }
    return true;
  }
  void run() {
    while (!stop_.load()) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (const auto& [a, b] : pairs_) {
        fds.push_back({a, POLLIN, 0});
        fds.push_back({b, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      for (size_t i = pairs_.size(); i-- > 0;) {
        auto [a, b] = pairs_[i];
        const short ra = fds[1 + 2 * i].revents, rb = fds[2 + 2 * i].revents;
        const bool open = (ra == 0 || forward(a, b)) && (rb == 0 || forward(b, a));
        if (open) continue;
        close(a);
        close(b);
        pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(i));
      }
      if ((fds[0].revents & POLLIN) == 0) continue;
      const int in = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (in < 0) continue;
      connections_.fetch_add(1);
      const int out = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in to = loopback(to_port_);
      if (out < 0 || connect(out, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        close(in);
        if (out >= 0) close(out);
        continue;
      }
      pairs_.emplace_back(in, out);
    }
  }

  uint16_t to_port_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::vector<std::pair<int, int>> pairs_;  // (from the router, to the simulator)
  std::thread thread_;
};

class RouterTlsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(certs_.make(error)) << error;
    dir_ = certs_.dir + "/";
  }
  void TearDown() override {
    if (router_.pid() > 0) (void)stop_router();
    if (sim_.pid() > 0) {
      sim_.signal(SIGTERM);
      (void)sim_.wait(10s);
    }
  }

  // smsc-sim over TLS with `cert` (signed by the test CA unless the test says otherwise); the
  // router's upstream unless relayed_through() says otherwise.
  bool start_sim(const std::string& cert) {
    sim_port_ = start_smsc_sim(sim_, 0, {"--tls-cert", cert, "--tls-key", certs_.server_key});
    upstream_port_ = sim_port_;
    return sim_port_ != 0;
  }
  void relayed_through(const counting_relay& relay) { upstream_port_ = relay.port(); }

  std::string config() const {
    return "[router]\nlisten = [\"127.0.0.1:" + std::to_string(plain_port_) +
           "\"]\nworkers = [0]\n\n"
           "[router.tls]\nlisten = [\"127.0.0.1:" +
           std::to_string(tls_port_) + "\"]\ncert_file = \"" + certs_.server_cert +
           "\"\nkey_file = \"" + certs_.server_key +
           "\"\n\n"
           "[timeouts]\nreconnect_min_ms = 100\nreconnect_max_ms = 400\n\n"
           "[[tenants]]\nname = \"load\"\nsystem_id = \"loadtest\"\npassword = \"" +
           std::string(tenant_password) +
           "\"\nallowed_networks = [\"127.0.0.0/8\"]\n\n"
           "[[upstreams]]\nname = \"sim\"\naddress = \"127.0.0.1:" +
           std::to_string(upstream_port_) +
           "\"\n\n"
           "[upstreams.tls]\nca_file = \"" +
           certs_.ca_cert + "\"\nserver_name = \"smsc.test\"\npin_sha256 = \"" + pin_ +
           "\"\n\n"
           "[[upstreams.binds]]\nsystem_id = \"router\"\npassword = \"" +
           std::string(upstream_password) +
           "\"\ncount = 1\n\n"
           "[[routes]]\ntenant = \"*\"\nupstreams = [\"sim\"]\n";
  }

  bool start_router() {
    if (pin_.empty()) pin_ = certs_.server_pin_sha256;
    for (int attempt = 0; attempt < 5; ++attempt) {
      plain_port_ = unused_port();
      tls_port_ = unused_port();
      if (plain_port_ == 0 || tls_port_ == 0 || plain_port_ == tls_port_) continue;
      const std::string path = dir_ + "router.toml";
      std::ofstream(path) << config();
      if (!router_.start("smpp-router", {"--config", path})) return false;
      const std::string marker =
          "smpp-router: listening on 127.0.0.1:" + std::to_string(tls_port_) + " (TLS)";
      if (router_.wait_for_output(
              [&](const std::string&, const std::string& err) {
                return err.find(marker) != std::string::npos;
              },
              20s)) {
        return true;
      }
      const exit_result r = router_.wait(5s);
      if (r.err.find("cannot listen") == std::string::npos) {
        ADD_FAILURE() << "smpp-router did not come up (exit " << r.code << "):\n" << r.err;
        return false;
      }
    }
    return false;
  }

  exit_result stop_router() {
    router_.signal(SIGTERM);
    exit_result r = router_.wait(15s);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("runtime error:"), std::string::npos) << r.err;
    return r;
  }

  // The simulator's bind count (SIGUSR1 -> one JSON line).
  double sim_binds() {
    const auto lines = [](const std::string& out) {
      return std::count(out.begin(), out.end(), '\n');
    };
    const auto before = lines(sim_.out());
    sim_.signal(SIGUSR1);
    if (!sim_.wait_for_output(
            [&](const std::string& out, const std::string&) { return lines(out) > before; }, 10s)) {
      return -1;
    }
    const auto j = flat_json::parse(last_line(sim_.out()));
    return j ? j->num("binds") : -1;
  }
  bool wait_for_sim_binds(double n, std::chrono::milliseconds limit = 15s) {
    const auto until = clock_type::now() + limit;
    while (clock_type::now() < until) {
      if (sim_binds() >= n) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // openssl s_client against the TLS listener with `extra` arguments; its stdin is what the
  // shell commands `input_script` print (EOF ends the session).
  exit_result s_client(const std::string& extra, const std::string& input_script = "true") {
    const std::string& input = input_script;
    const std::string cmd = "(" + input + ") | " + openssl_bin() +
                            " s_client -connect 127.0.0.1:" + std::to_string(tls_port_) + " " +
                            extra;
    child_process p;
    EXPECT_TRUE(p.start("/bin/sh", {"-c", cmd}));
    return p.wait(30s);
  }

  // tests/peers/esme.js (node-smpp) against the TLS listener, trusting `ca`.
  exit_result run_node_esme(const std::string& ca) const {
    const std::string esme = source_dir() + "/tests/peers/esme.js";
    EXPECT_TRUE(std::ifstream(source_dir() + "/tests/peers/node_modules/smpp/package.json").good())
        << "node-smpp missing: run tools/install-deps.sh";
    child_process p;
    EXPECT_TRUE(p.start(
        "/bin/sh", {"-c", "exec node '" + esme + "' --port " + std::to_string(tls_port_) +
                              " --system-id loadtest --password " + std::string(tenant_password) +
                              " --count 20 --no-receipts --timeout-ms 20000"
                              " --tls-servername smsc.test --tls-ca '" +
                              ca + "'"}));
    return p.wait(40s);
  }

  // The router's log must not carry a password or any part of a private key.
  void expect_no_secrets(const std::string& log) const {
    EXPECT_EQ(log.find(tenant_password), std::string::npos) << log;
    EXPECT_EQ(log.find(upstream_password), std::string::npos) << log;
    EXPECT_EQ(log.find("PRIVATE KEY"), std::string::npos) << log;
    std::ifstream key(certs_.server_key);
    std::string line;
    while (std::getline(key, line)) {
      if (line.starts_with("-----") || line.size() < 16) continue;
      EXPECT_EQ(log.find(line), std::string::npos) << "key material in the log";
    }
  }

  test::tls_certs certs_;
  std::string dir_;
  std::string pin_;
  child_process sim_;
  child_process router_;
  uint16_t sim_port_ = 0;
  uint16_t upstream_port_ = 0;  // where the router's upstream bind connects
  uint16_t plain_port_ = 0;
  uint16_t tls_port_ = 0;
};

TEST_F(RouterTlsE2eTest, HandshakesWithTls12And13AndSmppOverTlsBothWays) {
  ASSERT_TRUE(start_sim(certs_.server_cert)) << sim_.err();
  ASSERT_TRUE(start_router());
  // The upstream bind came up over TLS: CA, server name and pin all held.
  ASSERT_TRUE(wait_for_sim_binds(1)) << router_.err();

  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    const exit_result r = s_client(std::string(version) + " -CAfile " + certs_.ca_cert +
                                   " -verify_ip 127.0.0.1 -verify_return_error -brief");
    EXPECT_EQ(r.code, 0) << version << "\n" << r.err;
    EXPECT_NE(r.err.find("Verification: OK"), std::string::npos) << r.err;
    const std::string expected =
        std::string("Protocol version: TLSv1.") + (version[6] == '2' ? "2" : "3");
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
  }

  // An ESME over TLS: bind_transceiver, submit_sm, unbind; every answer comes back ESME_ROK.
  const std::string requests = dir_ + "requests.bin";
  const std::string last = dir_ + "unbind.bin";
  std::ofstream(requests, std::ios::binary)
      << bind_transceiver("loadtest", tenant_password) + submit_sm(2);
  std::ofstream(last, std::ios::binary) << unbind(3);
  const exit_result r = s_client("-quiet -CAfile " + certs_.ca_cert + " -verify_return_error",
                                 "cat '" + requests + "'; sleep 2; cat '" + last + "'; sleep 1");
  const std::vector<header> answers = headers_in(r.out);
  std::string seen;
  for (const header& h : answers) {
    seen +=
        std::to_string(h.id) + "/" + std::to_string(h.status) + "/" + std::to_string(h.seq) + " ";
  }
  ASSERT_EQ(answers.size(), 3u) << seen << "\n" << r.err;
  EXPECT_EQ(answers[0].id, 0x80000009u);  // bind_transceiver_resp
  EXPECT_EQ(answers[0].status, 0u);
  EXPECT_EQ(answers[1].id, 0x80000004u);  // submit_sm_resp, after the SMSC's answer
  EXPECT_EQ(answers[1].status, 0u);
  EXPECT_EQ(answers[1].seq, 2u);
  EXPECT_EQ(answers[2].id, 0x80000006u);  // unbind_resp
  EXPECT_EQ(answers[2].seq, 3u);

  // node-smpp's ESME in its TLS mode (tests/peers/esme.js --tls-ca): bind, enquire_link,
  // 20 submit_sm each answered ESME_ROK with a message_id, unbind.
  const exit_result node = run_node_esme(certs_.ca_cert);
  EXPECT_EQ(node.code, 0) << node.out << node.err;
  const auto summary = flat_json::parse(last_line(node.out));
  ASSERT_TRUE(summary.has_value()) << node.out << node.err;
  EXPECT_EQ(summary->num("sent"), 20) << node.out;
  EXPECT_EQ(summary->num("resp_ok"), 20) << node.out;
  EXPECT_TRUE(summary->keys_under("resp_errors").empty()) << node.out;
  EXPECT_NE(node.out.find("\"ok\":true"), std::string::npos) << node.out;
  // The same client trusting another CA stops at the handshake and says so.
  const exit_result refused = run_node_esme(dir_ + "other-ca.pem");
  EXPECT_EQ(refused.code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.out.find("connection error"), std::string::npos) << refused.out;

  // A plain-text ESME on the TLS port: no SMPP answer, the connection closes.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(tls_port_);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string bind = bind_transceiver("loadtest", tenant_password);
  ASSERT_EQ(::send(fd, bind.data(), bind.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bind.size()));
  std::string back;
  char buf[512];
  ssize_t n = 0;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) back.append(buf, static_cast<size_t>(n));
  const int recv_errno = errno;
  ::close(fd);
  EXPECT_TRUE(n == 0 || recv_errno == ECONNRESET) << "no close within 5 s: " << recv_errno;
  if (!back.empty()) {
    EXPECT_EQ(back[0], '\x15') << "not a TLS alert";  // never an SMPP PDU
  }

  // A client that trusts another CA refuses the router's certificate; the router carries on.
  const exit_result wrong =
      s_client("-CAfile " + dir_ + "other-ca.pem -verify_return_error -brief");
  EXPECT_NE(wrong.code, 0) << wrong.err;
  EXPECT_TRUE(sim_binds() >= 1);

  const exit_result stopped = stop_router();
  // 2 s_client handshakes, the s_client SMPP session and node-smpp's; the wrong-CA node client,
  // the plain client and the wrong-CA s_client failed.
  EXPECT_NE(stopped.err.find("tls: 5 handshakes, 3 failed (0 certificates refused"),
            std::string::npos)
      << stopped.err;
  EXPECT_NE(stopped.err.find("21 requests forwarded, 21 answers relayed"), std::string::npos)
      << stopped.err;
  expect_no_secrets(stopped.err);
  // The SMSC's side of the same 21: each received over TLS once and accepted.
  sim_.signal(SIGTERM);
  const exit_result sim = sim_.wait(10s);
  EXPECT_EQ(sim.code, 0) << sim.err;
  const auto counters = flat_json::parse(last_line(sim.out));
  ASSERT_TRUE(counters.has_value()) << sim.out;
  EXPECT_EQ(counters->count("submits"), 21u);
  EXPECT_EQ(counters->count("accepted"), 21u);
}

struct bad_upstream {
  const char* name;
  std::string test::tls_certs::*cert;
  bool wrong_pin;
};

class RouterTlsUpstreamRefusal : public RouterTlsE2eTest,
                                 public ::testing::WithParamInterface<bad_upstream> {};

TEST_P(RouterTlsUpstreamRefusal, TheBindNeverComesUpAndIsRetriedWithBackOff) {
  const bad_upstream& p = GetParam();
  ASSERT_TRUE(start_sim(certs_.*p.cert)) << sim_.err();
  counting_relay relay(sim_port_);
  ASSERT_TRUE(relay.start());
  relayed_through(relay);
  if (p.wrong_pin) pin_ = std::string(64, '0');
  ASSERT_TRUE(start_router());
  // Three attempts, the first two refused: it reconnects after 50..400 ms each time.
  ASSERT_TRUE(relay.wait_for_connections(3, 30s)) << relay.connections() << " connections\n"
                                                  << router_.err();
  EXPECT_EQ(sim_binds(), 0);
  const exit_result stopped = stop_router();
  // Counted as refused certificates, several times over: back-off, not a busy loop (a few
  // attempts in the time three took), no crash.
  const size_t at = stopped.err.find("tls: 0 handshakes, ");
  ASSERT_NE(at, std::string::npos) << stopped.err;
  unsigned long long failed = 0, refused = 0;
  ASSERT_EQ(std::sscanf(stopped.err.c_str() + at, "tls: 0 handshakes, %llu failed (%llu", &failed,
                        &refused),
            2);
  EXPECT_GE(refused, 2u) << stopped.err;
  EXPECT_LE(refused, 20u) << stopped.err;
  EXPECT_EQ(failed, refused) << stopped.err;
  expect_no_secrets(stopped.err);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RouterTlsUpstreamRefusal,
    ::testing::Values(bad_upstream{"expired", &test::tls_certs::expired_cert, false},
                      bad_upstream{"wrong_ca", &test::tls_certs::wrong_ca_cert, false},
                      bad_upstream{"wrong_pin", &test::tls_certs::server_cert, true}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace smpp::testing
