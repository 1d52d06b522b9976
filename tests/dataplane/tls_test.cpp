// TLS: the session on its own (two sessions pumped in memory) and the kernel transport with TLS
// listeners and connects over loopback. Certificates are made at test time (tls_certs.hpp).
#include "smpp/dataplane/tls.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "smpp/dataplane/kernel_transport.hpp"
#include "tls_certs.hpp"

namespace smpp::dataplane {
namespace {

using namespace std::chrono_literals;
using codec::as_bytes;

// One set of certificates for the whole binary: openssl takes a few hundred ms to make them.
const test::tls_certs& certs() {
  static test::tls_certs* c = [] {
    auto* made = new test::tls_certs();
    std::string error;
    if (!made->make(error)) ADD_FAILURE() << error;
    return made;
  }();
  return *c;
}

std::shared_ptr<const tls_context> server_ctx(const std::string& cert, const std::string& key,
                                              tls_min_version min = tls_min_version::v1_2) {
  std::string error;
  auto ctx = tls_context::make_server({cert, key, min}, error);
  EXPECT_NE(ctx, nullptr) << error;
  return ctx;
}

std::shared_ptr<const tls_context> good_server() {
  return server_ctx(certs().server_cert, certs().server_key);
}

std::shared_ptr<const tls_context> client_ctx(const std::string& server_name = "smsc.test",
                                              const std::string& pin = "",
                                              const std::string& ca = certs().ca_cert) {
  std::string error;
  auto ctx = tls_context::make_client({ca, server_name, pin, tls_min_version::v1_2}, error);
  EXPECT_NE(ctx, nullptr) << error;
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// The session alone: two sessions, bytes moved between them by hand.

// Moves every pending output octet of `from` into `to`; returns how many.
size_t move_output(tls_session& from, tls_session& to) {
  size_t moved = 0;
  for (;;) {
    const bytes_view out = from.output();
    if (out.empty()) return moved;
    const size_t took = to.feed(out);
    from.consume_output(took);
    moved += took;
    if (took < out.size()) return moved;
  }
}

struct handshake_result {
  tls_session::status client;
  tls_session::status server;
};

handshake_result run_handshake(tls_session& client, tls_session& server) {
  handshake_result r{client.handshake(), tls_session::status::want_input};
  for (int i = 0; i < 20; ++i) {
    move_output(client, server);
    r.server = server.handshake();
    move_output(server, client);
    r.client = client.handshake();
    const auto over = [](tls_session::status s) {
      return s == tls_session::status::failed || s == tls_session::status::rejected;
    };
    if (over(r.client) || over(r.server)) break;
    if (client.established() && server.established()) break;
  }
  move_output(client, server);  // an alert after a refusal
  return r;
}

TEST(TlsSession, HandshakeAndRoundTripOfAMegabyte) {
  tls_session server(good_server());
  tls_session client(client_ctx());
  ASSERT_TRUE(server.valid());
  ASSERT_TRUE(client.valid());
  const handshake_result r = run_handshake(client, server);
  ASSERT_EQ(r.client, tls_session::status::ok) << client.failure_reason();
  ASSERT_EQ(r.server, tls_session::status::ok) << server.failure_reason();
  EXPECT_EQ(client.protocol_version(), TLS1_3_VERSION);  // both sides allow 1.3: it wins

  std::string sent(1 << 20, '\0');
  for (size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>((i * 131) ^ (i >> 9));
  std::string got;
  std::vector<std::byte> buf(tls_session::max_write_bytes);
  size_t off = 0;
  while (got.size() < sent.size()) {
    if (off < sent.size()) {
      size_t taken = 0;
      const auto st = client.write(as_bytes(std::string_view(sent).substr(off)), taken);
      ASSERT_TRUE(st == tls_session::status::ok || st == tls_session::status::want_output);
      EXPECT_LE(taken, tls_session::max_write_bytes);
      off += taken;
    }
    move_output(client, server);
    for (;;) {
      size_t n = 0;
      const auto st = server.read(buf, n);
      got.append(reinterpret_cast<const char*>(buf.data()), n);
      if (n == 0) {
        ASSERT_EQ(st, tls_session::status::want_input);
        break;
      }
    }
  }
  EXPECT_TRUE(got == sent);
}

TEST(TlsSession, WriteTakesOneRecordAndOnlyIntoAnEmptyOutput) {
  tls_session server(good_server());
  tls_session client(client_ctx());
  ASSERT_EQ(run_handshake(client, server).client, tls_session::status::ok);
  const std::string big(100'000, 'x');
  size_t taken = 0;
  ASSERT_EQ(client.write(as_bytes(big), taken), tls_session::status::ok);
  EXPECT_EQ(taken, tls_session::max_write_bytes);
  EXPECT_GT(client.output_pending(), tls_session::max_write_bytes);
  EXPECT_LE(client.output_pending(), tls_session::network_buffer_bytes);
  EXPECT_EQ(client.write(as_bytes(big), taken), tls_session::status::want_output);
  EXPECT_EQ(taken, 0u);
}

TEST(TlsSession, FeedTakesNoMoreThanItsBuffer) {
  tls_session server(good_server());
  const std::string flood(3 * tls_session::network_buffer_bytes, '\x16');
  const size_t took = server.feed(as_bytes(flood));
  EXPECT_EQ(took, tls_session::network_buffer_bytes);
  EXPECT_EQ(server.feed(as_bytes(flood)), 0u);
}

TEST(TlsSession, PlaintextSmppIntoTheServerFails) {
  tls_session server(good_server());
  // An SMPP bind_transceiver header: not a TLS record.
  const unsigned char bind[] = {0, 0, 0, 0x20, 0, 0, 0,   9,   0,   0,
                                0, 0, 0, 0,    0, 1, 's', 'y', 's', 0};
  ASSERT_EQ(server.feed(bytes_view(reinterpret_cast<const std::byte*>(bind), sizeof bind)),
            sizeof bind);
  EXPECT_EQ(server.handshake(), tls_session::status::failed);
  EXPECT_STRNE(server.failure_reason(), "");
  // Nothing but possibly a TLS alert record (content type 21) goes back: never plaintext.
  const bytes_view out = server.output();
  if (!out.empty()) {
    EXPECT_EQ(out[0], std::byte{21});
  }
}

struct refusal {
  const char* name;
  std::function<std::string()> cert;
  std::string server_name;
  bool wrong_pin;
  long verify_result;
};

class TlsRefusal : public ::testing::TestWithParam<refusal> {};

TEST_P(TlsRefusal, ClientRefusesTheServerCertificateAndTheServerSeesAnAlert) {
  const refusal& p = GetParam();
  tls_session server(server_ctx(p.cert(), certs().server_key));
  const std::string pin =
      p.wrong_pin ? std::string(64, 'a') : std::string(certs().server_pin_sha256);
  tls_session client(client_ctx(p.server_name, pin));
  const handshake_result r = run_handshake(client, server);
  EXPECT_EQ(r.client, tls_session::status::rejected) << client.failure_reason();
  EXPECT_EQ(client.verify_result(), p.verify_result) << client.failure_reason();
  EXPECT_FALSE(client.established());
  if (!p.wrong_pin) {
    // The refusal happened inside the handshake: the server got the client's alert.
    EXPECT_NE(server.handshake(), tls_session::status::ok);
    EXPECT_FALSE(server.established());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TlsRefusal,
    ::testing::Values(refusal{"expired", [] { return certs().expired_cert; }, "smsc.test", false,
                              X509_V_ERR_CERT_HAS_EXPIRED},
                      refusal{"wrong_ca", [] { return certs().wrong_ca_cert; }, "smsc.test", false,
                              X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
                      refusal{"wrong_name", [] { return certs().server_cert; }, "other.test", false,
                              X509_V_ERR_HOSTNAME_MISMATCH},
                      refusal{"wrong_ip", [] { return certs().server_cert; }, "127.0.0.2", false,
                              X509_V_ERR_IP_ADDRESS_MISMATCH},
                      refusal{"wrong_pin", [] { return certs().server_cert; }, "smsc.test", true,
                              X509_V_ERR_APPLICATION_VERIFICATION}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(TlsSession, RightPinAndIpNameAreAccepted) {
  tls_session server(good_server());
  tls_session client(client_ctx("127.0.0.1", certs().server_pin_sha256));
  const handshake_result r = run_handshake(client, server);
  EXPECT_EQ(r.client, tls_session::status::ok) << client.failure_reason();
  EXPECT_EQ(r.server, tls_session::status::ok) << server.failure_reason();
}

TEST(TlsSession, ServerWithMinimumThirteenRefusesAClientThatOnlySpeaksTwelve) {
  tls_session server(server_ctx(certs().server_cert, certs().server_key, tls_min_version::v1_3));
  // A client capped at 1.2 (a raw SSL_CTX: tls_context has no maximum on purpose).
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_NE(ctx, nullptr);
  SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  SSL* ssl = SSL_new(ctx);
  BIO* internal = nullptr;
  BIO* network = nullptr;
  ASSERT_EQ(BIO_new_bio_pair(&internal, 1 << 16, &network, 1 << 16), 1);
  SSL_set_bio(ssl, internal, internal);
  SSL_set_connect_state(ssl);
  EXPECT_NE(SSL_do_handshake(ssl), 1);
  char hello[1 << 16];
  const int n = BIO_read(network, hello, sizeof hello);
  ASSERT_GT(n, 0);
  ASSERT_EQ(
      server.feed(bytes_view(reinterpret_cast<const std::byte*>(hello), static_cast<size_t>(n))),
      static_cast<size_t>(n));
  EXPECT_EQ(server.handshake(), tls_session::status::failed);
  SSL_free(ssl);
  BIO_free(network);
  SSL_CTX_free(ctx);
}

TEST(TlsSession, CloseNotifyIsReadAsClosed) {
  tls_session server(good_server());
  tls_session client(client_ctx());
  ASSERT_EQ(run_handshake(client, server).client, tls_session::status::ok);
  client.shutdown();
  EXPECT_TRUE(client.shutdown_sent());
  move_output(client, server);
  std::byte buf[64];
  size_t n = 0;
  EXPECT_EQ(server.read(buf, n), tls_session::status::closed);
  EXPECT_EQ(n, 0u);
}

TEST(TlsContext, BadFilesAreRefusedWithTheFileNamedAndNoKeyMaterial) {
  std::string error;
  EXPECT_EQ(tls_context::make_server({"/nonexistent.pem", certs().server_key, {}}, error), nullptr);
  EXPECT_NE(error.find("/nonexistent.pem"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(tls_context::make_server({certs().server_cert, certs().other_key, {}}, error), nullptr);
  EXPECT_NE(error.find(certs().other_key), std::string::npos) << error;
  EXPECT_EQ(error.find("BEGIN"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(tls_context::make_client({certs().ca_cert, "x", "12:34", {}}, error), nullptr);
  EXPECT_NE(error.find("pin_sha256"), std::string::npos) << error;
}

// ---------------------------------------------------------------------------------------------
// The kernel transport with TLS over loopback.

class recorder final : public transport_handler {
 public:
  std::vector<conn_id> accepts;
  std::vector<std::pair<conn_id, int>> connects;
  std::vector<std::pair<conn_id, int>> closes;
  std::vector<conn_id> writables;
  std::map<conn_id, std::string> received;
  std::function<void(conn_id, bytes_view)> data_hook;
  std::function<void(conn_id)> accept_hook;

  void on_accept(conn_id c, uint32_t, const peer_address&) override {
    accepts.push_back(c);
    if (accept_hook) accept_hook(c);
  }
  void on_connect(conn_id c, int err) override { connects.emplace_back(c, err); }
  void on_data(conn_id c, bytes_view data) override {
    if (data_hook) {
      data_hook(c, data);
    } else {
      received[c].append(data.as_chars());
    }
  }
  void on_writable(conn_id c) override { writables.push_back(c); }
  void on_close(conn_id c, int err) override { closes.emplace_back(c, err); }
};

struct node {
  explicit node(transport_limits limits = {}, kernel_transport_tuning tuning = {})
      : t(limits, tuning) {
    t.set_handler(&rec);
  }
  recorder rec;
  kernel_transport t;
};

template <class Done>
bool pump(std::initializer_list<kernel_transport*> ts, Done done,
          std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (long i = 0; i < 5'000'000; ++i) {
    if (done()) return true;
    int handled = 0;
    for (kernel_transport* t : ts) handled += t->poll(0);
    if (handled == 0) (*ts.begin())->poll(200);
    if (i % 64 == 0 && std::chrono::steady_clock::now() > until) break;
  }
  return done();
}

struct tls_pair {
  conn_id server = invalid_conn;
  conn_id client = invalid_conn;
};

// A TLS listener on server, a TLS connect from client; waits for on_accept and on_connect.
tls_pair connect_tls(node& server, node& client, std::shared_ptr<const tls_context> cctx) {
  endpoint l{"127.0.0.1", 0};
  l.tls = good_server();
  const int listener = server.t.listen(l);
  EXPECT_GE(listener, 0);
  endpoint ep{"127.0.0.1", server.t.local_port(listener)};
  ep.tls = std::move(cctx);
  int err = -1;
  const conn_id c = client.t.connect(ep, err);
  EXPECT_NE(c, invalid_conn) << err;
  pump({&server.t, &client.t}, [&] { return !client.rec.connects.empty(); });
  pump(
      {&server.t, &client.t}, [&] { return !server.rec.accepts.empty(); }, 500ms);
  return {server.rec.accepts.empty() ? invalid_conn : server.rec.accepts.back(), c};
}

TEST(KernelTransportTls, EchoOfTwoMegabytesInPdusSizedWrites) {
  node server;
  node client;
  server.rec.data_hook = [&](conn_id c, bytes_view d) { ASSERT_TRUE(server.t.send(c, d)); };
  const tls_pair p = connect_tls(server, client, client_ctx("127.0.0.1"));
  ASSERT_EQ(client.rec.connects.size(), 1u);
  ASSERT_EQ(client.rec.connects[0].second, 0);
  ASSERT_NE(p.server, invalid_conn);
  std::string sent;
  size_t next = 0;
  constexpr size_t total = 2 << 20;
  while (sent.size() < total) sent.push_back(static_cast<char>((sent.size() * 7) ^ 0x5a));
  ASSERT_TRUE(pump(
      {&server.t, &client.t},
      [&] {
        // Writes of 100..300 octets through reserve/commit, as the router's relay does.
        while (next < total && client.t.queued(p.client) < 256 * 1024) {
          const size_t n = std::min<size_t>(100 + next % 201, total - next);
          const std::span<std::byte> room = client.t.reserve(p.client, n);
          if (room.empty()) break;
          std::memcpy(room.data(), sent.data() + next, n);
          client.t.commit(p.client, n);
          next += n;
        }
        return client.rec.received[p.client].size() >= total;
      },
      30s));
  EXPECT_TRUE(client.rec.received[p.client] == sent);
  EXPECT_EQ(server.t.stats().tls_handshakes, 1u);
  EXPECT_EQ(client.t.stats().tls_handshakes, 1u);
  // Ciphertext is larger than plaintext, and far fewer records than writes went out.
  EXPECT_GT(client.t.stats().bytes_out, total);
  EXPECT_LT(client.t.stats().bytes_out, total + total / 20);
}

TEST(KernelTransportTls, GracefulCloseSendsCloseNotifyAndThePeerSeesAnOrderlyEnd) {
  node server;
  node client;
  const tls_pair p = connect_tls(server, client, client_ctx());
  ASSERT_NE(p.server, invalid_conn);
  ASSERT_TRUE(server.t.send(p.server, as_bytes(std::string_view("last words"))));
  server.t.close(p.server);
  ASSERT_TRUE(pump({&server.t, &client.t}, [&] { return !client.rec.closes.empty(); }));
  EXPECT_EQ(client.rec.received[p.client], "last words");
  EXPECT_EQ(client.rec.closes[0], std::make_pair(p.client, 0));
  ASSERT_TRUE(pump({&server.t, &client.t}, [&] { return !server.rec.closes.empty(); }));
  EXPECT_EQ(server.rec.closes[0], std::make_pair(p.server, 0));
}

TEST(KernelTransportTls, SendQueueBoundHoldsAndOnWritableFollowsTheDrain) {
  transport_limits limits;
  limits.max_send_queue_bytes = 64 * 1024;
  node server(limits);
  node client;
  const tls_pair p = connect_tls(server, client, client_ctx());
  ASSERT_NE(p.server, invalid_conn);
  // The client does not poll: the socket fills, then the queue, then send() refuses.
  const std::string chunk(4096, 'q');
  size_t accepted = 0;
  for (int i = 0; i < 10'000; ++i) {
    if (!server.t.send(p.server, as_bytes(chunk))) break;
    accepted += chunk.size();
    if (i % 8 == 0) server.t.poll(0);
  }
  EXPECT_GT(server.t.stats().send_refused, 0u);
  EXPECT_LE(server.t.queued(p.server),
            limits.max_send_queue_bytes + tls_session::network_buffer_bytes);
  ASSERT_TRUE(pump({&server.t, &client.t}, [&] {
    return !server.rec.writables.empty() && client.rec.received[p.client].size() == accepted;
  }));
  EXPECT_EQ(server.rec.writables[0], p.server);
}

TEST(KernelTransportTls, PlaintextClientOnTheTlsPortIsClosedWithoutAnAccept) {
  node server;
  endpoint l{"127.0.0.1", 0};
  l.tls = good_server();
  const int listener = server.t.listen(l);
  ASSERT_GE(listener, 0);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(server.t.local_port(listener));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  const unsigned char bind[] = {0,   0,   0,   0x20, 0,   0,   0,   9,    0,   0, 0,
                                0,   0,   0,   0,    1,   'e', 's', 'm',  'e', 0, 's',
                                'e', 'c', 'r', 'e',  't', 0,   0,   0x34, 0,   0};
  ASSERT_EQ(::send(fd, bind, sizeof bind, 0), static_cast<ssize_t>(sizeof bind));
  std::string back;
  bool eof = false;
  ASSERT_TRUE(pump({&server.t}, [&] {
    pollfd pfd{fd, POLLIN, 0};
    while (::poll(&pfd, 1, 0) > 0) {
      char buf[512];
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) {
        eof = true;
        break;
      }
      back.append(buf, static_cast<size_t>(n));
    }
    return eof;
  }));
  ::close(fd);
  EXPECT_TRUE(server.rec.accepts.empty());
  EXPECT_TRUE(server.rec.closes.empty());
  EXPECT_EQ(server.t.stats().tls_handshake_failures, 1u);
  EXPECT_EQ(server.t.connections(), 0u);
  // What came back is a TLS alert (or nothing), never an SMPP answer.
  if (!back.empty()) {
    EXPECT_EQ(back[0], '\x15');
  }
}

TEST(KernelTransportTls, SilentClientIsCutOffAtTheHandshakeDeadline) {
  kernel_transport_tuning tuning;
  tuning.tls_handshake_ms = 150;
  node server({}, tuning);
  endpoint l{"127.0.0.1", 0};
  l.tls = good_server();
  const int listener = server.t.listen(l);
  ASSERT_GE(listener, 0);
  node client;
  int err = 0;
  const conn_id c = client.t.connect({"127.0.0.1", server.t.local_port(listener)}, err);
  ASSERT_NE(c, invalid_conn);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(pump(
      {&server.t, &client.t}, [&] { return !client.rec.closes.empty(); }, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
  EXPECT_EQ(server.t.stats().tls_handshake_timeouts, 1u);
  EXPECT_TRUE(server.rec.accepts.empty());
  EXPECT_EQ(server.t.connections(), 0u);
}

struct refused_connect {
  const char* name;
  std::function<std::string()> cert;
  int expected_err;
};

class KernelTransportTlsRefusal : public ::testing::TestWithParam<refused_connect> {};

TEST_P(KernelTransportTlsRefusal, ConnectReportsTheRefusalAndNeitherSideAnnouncesTheConnection) {
  const refused_connect& p = GetParam();
  node server;
  node client;
  endpoint l{"127.0.0.1", 0};
  l.tls = server_ctx(p.cert(), certs().server_key);
  const int listener = server.t.listen(l);
  ASSERT_GE(listener, 0);
  endpoint ep{"127.0.0.1", server.t.local_port(listener)};
  ep.tls = client_ctx("smsc.test");
  int err = 0;
  const conn_id c = client.t.connect(ep, err);
  ASSERT_NE(c, invalid_conn);
  ASSERT_TRUE(pump({&server.t, &client.t}, [&] {
    return !client.rec.connects.empty() && server.t.stats().tls_handshake_failures > 0;
  }));
  EXPECT_EQ(client.rec.connects[0], std::make_pair(c, p.expected_err));
  EXPECT_EQ(client.t.stats().tls_verify_failures, 1u);
  EXPECT_EQ(client.t.stats().connect_failures, 1u);
  EXPECT_TRUE(server.rec.accepts.empty());
  EXPECT_EQ(server.t.connections(), 0u);
  EXPECT_EQ(client.t.connections(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, KernelTransportTlsRefusal,
    ::testing::Values(
        refused_connect{"expired", [] { return certs().expired_cert; }, tls_verify_error},
        refused_connect{"wrong_ca", [] { return certs().wrong_ca_cert; }, tls_verify_error}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(KernelTransportTls, TlsConnectToAPlainServerFailsWithTheHandshakeError) {
  node server;
  const int listener = server.t.listen({"127.0.0.1", 0});
  ASSERT_GE(listener, 0);
  // The plain server answers the ClientHello with SMPP-looking bytes.
  server.rec.data_hook = [&](conn_id c, bytes_view) {
    const unsigned char nack[] = {0, 0, 0, 16, 0x80, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0};
    (void)server.t.send(c, bytes_view(reinterpret_cast<const std::byte*>(nack), sizeof nack));
  };
  node client;
  endpoint ep{"127.0.0.1", server.t.local_port(listener)};
  ep.tls = client_ctx();
  int err = 0;
  const conn_id c = client.t.connect(ep, err);
  ASSERT_NE(c, invalid_conn);
  ASSERT_TRUE(pump({&server.t, &client.t}, [&] { return !client.rec.connects.empty(); }));
  EXPECT_EQ(client.rec.connects[0], std::make_pair(c, tls_handshake_error));
  EXPECT_EQ(client.t.stats().tls_handshake_failures, 1u);
  EXPECT_EQ(client.t.stats().tls_verify_failures, 0u);
}

TEST(KernelTransportTls, CloseDuringTheHandshakeReportsCanceled) {
  node server;
  node client;
  endpoint l{"127.0.0.1", 0};
  l.tls = good_server();
  const int listener = server.t.listen(l);
  endpoint ep{"127.0.0.1", server.t.local_port(listener)};
  ep.tls = client_ctx();
  int err = 0;
  const conn_id c = client.t.connect(ep, err);
  ASSERT_NE(c, invalid_conn);
  // One poll: TCP up, ClientHello out, no answer read yet.
  client.t.poll(50'000);
  client.t.close(c);
  ASSERT_TRUE(pump({&server.t, &client.t}, [&] { return !client.rec.connects.empty(); }));
  EXPECT_EQ(client.rec.connects[0], std::make_pair(c, ECANCELED));
  EXPECT_TRUE(client.rec.closes.empty());
  EXPECT_EQ(client.t.connections(), 0u);
}

}  // namespace
}  // namespace smpp::dataplane
