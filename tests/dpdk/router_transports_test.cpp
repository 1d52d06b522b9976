// The router's session and routing behaviour on both real transports (docs/architecture.md: "Both
// transports pass the same session and router test suite"). One typed suite, two backends:
// - kernel: the router_worker on a kernel_transport listening on 127.0.0.1, the test's ESMEs and
//   SMSCs on a second kernel_transport in the same thread;
// - dpdk: the router_worker on a dpdk_transport on one port of a ring pair (userspace TCP/IP,
//   EAL in this process, no hugepages), the peers on a dpdk_transport on the other port.
// The peers are written once against the transport interface; the test bodies do not know which
// backend they run on. The router's clock is the test's: timers fire when a test advances it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dpdk_child.hpp"
#include "dpdk_transport_pair.hpp"
#include "pdu_gen.hpp"
#include "router_test_pdus.hpp"
#include "smpp/codec/codec.hpp"
#include "smpp/dataplane/dpdk/dpdk_transport.hpp"
#include "smpp/dataplane/dpdk/eal.hpp"
#include "smpp/dataplane/kernel_transport.hpp"
#include "smpp/dataplane/router_worker.hpp"

namespace smpp::dataplane {
namespace {

using codec::command_id;
using codec::pdu;
using S = codec::command_status;
using testing::bind_pdu;
using testing::decoded;
using testing::encode;
using testing::header;
using testing::receipt_pdu;
using testing::submit_pdu;
using namespace std::chrono_literals;
using frames = std::vector<std::vector<std::byte>>;

// ---------------------------------------------------------------------------------------------
// The test's side of the network: every ESME and SMSC connection on the peer transport. Collects
// each connection's octets and cuts them into whole PDUs (SMPP 3.4 §3.2: command_length first).

class peer_handler final : public transport_handler {
 public:
  struct conn_state {
    std::vector<std::byte> in;  // octets not yet a whole PDU
    frames pdus;                // whole PDUs, not yet taken by the test
    uint32_t listener = UINT32_MAX;
    int connect_err = -1;  // -1: still connecting; 0 connected
    bool closed = false;
    int close_err = 0;
    bool bad_length = false;  // a command_length below 16 arrived (the router never sends one)
  };

  void on_accept(conn_id c, uint32_t listener, const peer_address&) override {
    conns[c].listener = listener;
    conns[c].connect_err = 0;
    accepted.push_back(c);
  }
  void on_connect(conn_id c, int err) override { conns[c].connect_err = err; }
  void on_data(conn_id c, bytes_view data) override {
    conn_state& k = conns[c];
    k.in.insert(k.in.end(), data.begin(), data.end());
    size_t at = 0;
    while (k.in.size() - at >= 16) {
      const uint32_t len = codec::load_be32(k.in.data() + at);
      if (len < 16) {
        k.bad_length = true;
        break;
      }
      if (k.in.size() - at < len) break;
      k.pdus.emplace_back(k.in.begin() + static_cast<ptrdiff_t>(at),
                          k.in.begin() + static_cast<ptrdiff_t>(at + len));
      at += len;
    }
    k.in.erase(k.in.begin(), k.in.begin() + static_cast<ptrdiff_t>(at));
  }
  void on_writable(conn_id) override {}
  void on_close(conn_id c, int err) override {
    conns[c].closed = true;
    conns[c].close_err = err;
  }

  frames take(conn_id c) { return std::exchange(conns[c].pdus, {}); }
  size_t pending(conn_id c) { return conns[c].pdus.size(); }
  // The connections accepted on `listener` so far, oldest first.
  std::vector<conn_id> accepted_on(uint32_t listener) {
    std::vector<conn_id> out;
    for (conn_id c : accepted) {
      if (conns[c].listener == listener) out.push_back(c);
    }
    return out;
  }

  std::map<conn_id, conn_state> conns;
  std::vector<conn_id> accepted;
};

// ---------------------------------------------------------------------------------------------
// Backends. Each gives the router's transport, the peer transport, where the router listens and
// where the peers listen, and polls its own transports' extras (none here: the router polls its
// transport in run_once, the fixture polls the peer's).

class kernel_backend {
 public:
  static constexpr const char* name = "kernel";
  // Empty when ready, else why this backend cannot run here.
  std::string open() {
    if (router_.error() != 0 || peer_.error() != 0) return "epoll_create1 failed";
    return {};
  }
  transport& router() { return router_; }
  transport& peer() { return peer_; }
  // Where the router is told to listen (its snapshot), and where ESMEs reach it once it does.
  endpoint router_listen() const { return {"127.0.0.1", 0}; }
  endpoint router_reachable() const { return {"127.0.0.1", router_.local_port(0)}; }
  // Listens on the peer transport (the port a wish: ephemeral here); the address to connect to.
  endpoint peer_listen(uint16_t, int& listener) {
    listener = peer_.listen({"127.0.0.1", 0});
    return {"127.0.0.1", listener < 0 ? uint16_t{0} : peer_.local_port(listener)};
  }
  std::string peer_network() const { return "127.0.0.1/32"; }

 private:
  kernel_transport router_;
  kernel_transport peer_;
};

// The EAL and the ring pair live as long as the process (the EAL can be initialised once); each
// test builds two fresh transports on them with addresses of its own (10.0.N.1 and 10.0.N.2), so
// frames of an earlier test still in a ring are not for anyone now.
struct dpdk_world {
  std::string error;
  std::optional<dpdk::eal> eal = dpdk::eal::init(dpdk::testing::test_eal_config({}), error);
  std::optional<dpdk::testing::ring_pair> wire;
  uint32_t next_subnet = 1;
  dpdk_world() {
    if (!eal) return;
    wire.emplace();
    if (!wire->open(error)) wire.reset();
  }
  ~dpdk_world() {
    wire.reset();  // the ports before the EAL
    eal.reset();
  }
  static dpdk_world& get() {
    static dpdk_world w;
    return w;
  }
};

class dpdk_backend {
 public:
  static constexpr const char* name = "dpdk";
  std::string open() {
    dpdk_world& w = dpdk_world::get();
    if (!w.wire) return "no EAL or ring ports: " + w.error;
    if (w.next_subnet > 250) return "more tests than subnets 10.0.1-250.0/24";
    subnet_ = w.next_subnet++;
    router_addr_ = 0x0a000001 | (subnet_ << 8);
    peer_addr_ = 0x0a000002 | (subnet_ << 8);
    std::string error;
    router_ = dpdk::dpdk_transport::create(*w.wire->a, 0, config(router_addr_, *w.wire->b), error);
    if (!router_) return "router transport: " + error;
    peer_ = dpdk::dpdk_transport::create(*w.wire->b, 0, config(peer_addr_, *w.wire->a), error);
    if (!peer_) return "peer transport: " + error;
    return {};
  }
  transport& router() { return *router_; }
  transport& peer() { return *peer_; }
  endpoint router_listen() const { return {host(router_addr_), 2775}; }
  endpoint router_reachable() const { return router_listen(); }
  endpoint peer_listen(uint16_t port, int& listener) {
    listener = peer_->listen({host(peer_addr_), port});
    return {host(peer_addr_), port};
  }
  std::string peer_network() const { return host(peer_addr_) + "/32"; }

 private:
  static std::string host(net::ipv4_addr a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
           std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
  }
  // Test-sized tables; a short TIME_WAIT and a LAN-like retransmission timer. The other end's
  // MAC is fixed, so no ARP exchange precedes the first SYN.
  dpdk::dpdk_transport_config config(net::ipv4_addr self, const dpdk::port& other) const {
    dpdk::dpdk_transport_config c;
    c.address = self;
    c.prefix_len = 24;
    c.static_arp.emplace_back(self == router_addr_ ? peer_addr_ : router_addr_, other.mac());
    c.limits.max_connections = 32;
    c.tcp.max_connections = 64;
    c.tcp.max_listeners = 4;
    c.tcp.msl_us = 100'000;
    c.tcp.initial_rto_us = 100'000;
    c.tcp.min_rto_us = 20'000;
    c.tcp.random_seed = self;
    c.close_linger_ms = 3000;
    return c;
  }
  uint32_t subnet_ = 0;
  net::ipv4_addr router_addr_ = 0;
  net::ipv4_addr peer_addr_ = 0;
  std::unique_ptr<dpdk::dpdk_transport> router_;
  std::unique_ptr<dpdk::dpdk_transport> peer_;
};

// ---------------------------------------------------------------------------------------------
// The fixture: a router_worker on the backend's router transport, two SMSC listeners on the peer
// transport (the snapshot's upstreams "primary" and "backup"), and the test's clock.

template <class Backend>
class RouterOnTransport : public ::testing::Test {
 protected:
  static constexpr uint32_t primary = 0;
  static constexpr uint32_t backup = 1;

  void SetUp() override {
    if (const std::string why = backend_.open(); !why.empty()) {
      std::fprintf(stderr, "*** %s backend cannot run: %s ***\n", Backend::name, why.c_str());
      GTEST_SKIP() << Backend::name << " backend cannot run: " << why;
    }
    backend_.peer().set_handler(&peers_);
  }
  void TearDown() override {
    worker_.reset();  // before the transports it uses
  }

  // Builds the worker on `snap` with the router's listener and upstream addresses set to the
  // backend's, and starts it.
  void start(std::shared_ptr<router_snapshot> snap) {
    snap->listeners = {backend_.router_listen()};
    for (uint32_t u = 0; u < snap->upstreams.size(); ++u) {
      int listener = -1;
      snap->upstreams[u].address = backend_.peer_listen(static_cast<uint16_t>(2776 + u), listener);
      ASSERT_EQ(listener, static_cast<int>(u)) << "peer listen failed";
    }
    snap_ = std::move(snap);
    shared_.emplace(snap_->tenants.size(), snap_->upstreams.size());
    worker_ = std::make_unique<router_worker>(0, 1, backend_.router(), snap_, &*shared_);
    ASSERT_EQ(worker_->start(now_ms_), 0);
  }
  void start(uint32_t upstream_binds = 1, uint32_t window = 4) {
    start(testing::make_snapshot(upstream_binds, window));
  }

  // One turn of the router (its transport included) and of the peer transport.
  void turn() {
    (void)worker_->run_once(now_ms_, 0, now_ms_ * 1000);
    (void)backend_.peer().poll(0);
  }
  // Turns until done() holds; false when `limit` of real time passed first.
  template <class Done>
  bool pump(Done done, std::chrono::milliseconds limit = 5s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (uint64_t i = 0;; ++i) {
      if (done()) return true;
      turn();
      if (i % 16 == 0 && std::chrono::steady_clock::now() > until) return done();
    }
  }
  // Turns for `real` time: what arrives in it arrives (for checks that nothing does).
  void settle(std::chrono::milliseconds real = 100ms) {
    (void)pump([] { return false; }, real);
  }
  // Moves the router's clock (timers fire at the next turn).
  void advance(uint64_t ms) {
    now_ms_ += ms;
    turn();
  }

  // Waits for n PDUs on c and takes them (fewer when they did not come in time).
  frames expect(conn_id c, size_t n, std::chrono::milliseconds limit = 5s) {
    const bool ok = pump([&] { return peers_.pending(c) >= n; }, limit);
    EXPECT_TRUE(ok) << "waited for " << n << " PDUs on " << std::hex << c << ", got " << std::dec
                    << peers_.pending(c);
    return peers_.take(c);
  }
  // The PDU views its frame, which the fixture keeps until the test ends.
  pdu expect_one(conn_id c) {
    frames f = expect(c, 1);
    EXPECT_EQ(f.size(), 1U);
    if (f.empty()) return pdu{};
    kept_.push_back(std::move(f[0]));
    return decoded(kept_.back());
  }
  void send(conn_id c, const std::vector<std::byte>& b) {
    ASSERT_TRUE(backend_.peer().send(c, bytes_view(b.data(), b.size())));
  }
  bool wait_closed(conn_id c, std::chrono::milliseconds limit = 5s) {
    return pump([&] { return peers_.conns[c].closed; }, limit);
  }

  // An ESME connected to the router (not bound).
  conn_id esme() {
    int err = 0;
    const conn_id c = backend_.peer().connect(backend_.router_reachable(), err);
    EXPECT_NE(c, invalid_conn) << "connect: " << err;
    EXPECT_TRUE(pump([&] { return peers_.conns[c].connect_err >= 0; }));
    EXPECT_EQ(peers_.conns[c].connect_err, 0);
    return c;
  }
  conn_id bound_esme(std::string_view sys = "acme",
                     command_id bind = command_id::bind_transceiver) {
    const conn_id c = esme();
    send(c, bind_pdu(bind, sys, "secret", 1));
    EXPECT_EQ(expect_one(c).status, S::ESME_ROK);
    return c;
  }
  // Answers the bind of the router's first connection to each upstream; their conn_ids by
  // upstream index.
  std::vector<conn_id> bring_up_upstreams() {
    std::vector<conn_id> ups;
    for (uint32_t u = 0; u < snap_->upstreams.size(); ++u) {
      EXPECT_TRUE(pump([&] { return !peers_.accepted_on(u).empty(); })) << "no connect to " << u;
      if (peers_.accepted_on(u).empty()) return ups;
      const conn_id c = peers_.accepted_on(u).front();
      const pdu b = expect_one(c);
      EXPECT_EQ(b.id, command_id::bind_transceiver);
      EXPECT_EQ(b.system_id, "router");
      send(c, header(command_id::bind_transceiver_resp, S::ESME_ROK, b.sequence_number));
      ups.push_back(c);
    }
    EXPECT_TRUE(pump([&] { return worker_->upstream_binds_bound() == ups.size(); }));
    return ups;
  }
  // The SMSC's answer to a forwarded submit_sm.
  void answer_submit(conn_id up, uint32_t seq, std::string_view message_id) {
    pdu resp;
    resp.id = command_id::submit_sm_resp;
    resp.sequence_number = seq;
    resp.message_id = message_id;
    send(up, encode(resp));
  }

  peer_handler peers_;  // outlives the transports that call it
  Backend backend_;
  uint64_t now_ms_ = 1000;
  std::shared_ptr<router_snapshot> snap_;
  std::optional<shared_state> shared_;
  std::unique_ptr<router_worker> worker_;
  std::deque<std::vector<std::byte>> kept_;  // frames of the PDUs expect_one returned
};

using Backends = ::testing::Types<kernel_backend, dpdk_backend>;
struct backend_names {
  template <class T>
  static std::string GetName(int) {
    return T::name;
  }
};
TYPED_TEST_SUITE(RouterOnTransport, Backends, backend_names);

// ---------------------------------------------------------------------------------------------
// ESME sessions (SMPP 3.4 §2.2, §4.1, §4.11, §4.3)

TYPED_TEST(RouterOnTransport, BindWithGoodCredentialsAnswersOkWithInterfaceVersion) {
  this->start();
  const conn_id c = this->esme();
  this->send(c, bind_pdu(command_id::bind_transceiver, "acme", "secret", 7));
  const pdu p = this->expect_one(c);
  EXPECT_EQ(p.id, command_id::bind_transceiver_resp);
  EXPECT_EQ(p.status, S::ESME_ROK);
  EXPECT_EQ(p.sequence_number, 7U);
  EXPECT_EQ(p.system_id, "smpp-router");
  EXPECT_TRUE(p.tlvs.find(codec::tag::sc_interface_version));
  EXPECT_EQ(this->shared_->binds_per_tenant[0].load(), 1U);
}

TYPED_TEST(RouterOnTransport, EveryAuthenticationFailureIsBindFail) {
  auto snap = testing::make_snapshot();
  // "lan" admits only a network no peer is on (the dpdk peers are in 10.0.0.0/8, its usual
  // one); "here" only the peer's own address.
  cidr elsewhere, here;
  ASSERT_TRUE(cidr::parse("192.0.2.0/24", elsewhere));
  ASSERT_TRUE(cidr::parse(this->backend_.peer_network(), here));
  snap->tenants[1].allowed_networks = {elsewhere};
  tenant_def local = snap->tenants[1];
  local.index = 2;
  local.name = local.system_id = "here";
  local.allowed_networks = {here};
  snap->tenants.push_back(local);
  snap->tenant_by_system_id["here"] = 2;
  this->start(snap);
  struct bad {
    const char* sys;
    const char* pw;
  };
  for (const bad& k : {bad{"acme", "wrong"}, bad{"nobody", "secret"}, bad{"lan", "secret"}}) {
    const conn_id c = this->esme();
    this->send(c, bind_pdu(command_id::bind_transmitter, k.sys, k.pw, 3));
    const pdu p = this->expect_one(c);
    EXPECT_EQ(p.id, command_id::bind_transmitter_resp) << k.sys;
    EXPECT_EQ(p.status, S::ESME_RBINDFAIL) << k.sys << " " << k.pw;
    EXPECT_EQ(p.sequence_number, 3U);
  }
  // The source network check sees the peer's real address on this transport.
  const conn_id ok = this->esme();
  this->send(ok, bind_pdu(command_id::bind_transmitter, "here", "secret", 4));
  EXPECT_EQ(this->expect_one(ok).status, S::ESME_ROK);
  EXPECT_EQ(this->worker_->stats().bind_failed, 3U);
}

TYPED_TEST(RouterOnTransport, BindBeyondTheTenantMaximumFails) {
  this->start();  // acme: max_binds 2
  this->bound_esme();
  this->bound_esme();
  const conn_id c = this->esme();
  this->send(c, bind_pdu(command_id::bind_transceiver, "acme", "secret", 1));
  EXPECT_EQ(this->expect_one(c).status, S::ESME_RBINDFAIL);
  EXPECT_EQ(this->shared_->binds_per_tenant[0].load(), 2U);
}

TYPED_TEST(RouterOnTransport, PduBeforeBindIsInvalidBindStatus) {
  this->start();
  const conn_id c = this->esme();
  this->send(c, submit_pdu("4477", 5));
  this->send(c, header(command_id::enquire_link, S::ESME_ROK, 6));
  const frames out = this->expect(c, 2);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(decoded(out[0]).id, command_id::submit_sm_resp);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_RINVBNDSTS);
  EXPECT_EQ(decoded(out[0]).sequence_number, 5U);
  EXPECT_EQ(decoded(out[1]).id, command_id::enquire_link_resp);
  EXPECT_EQ(decoded(out[1]).status, S::ESME_RINVBNDSTS);
}

TYPED_TEST(RouterOnTransport, UnknownCommandGetsGenericNackAndSessionStaysUp) {
  this->start();
  const conn_id c = this->bound_esme();
  this->send(c, header(static_cast<command_id>(0x00000110), S::ESME_ROK, 77));
  const pdu nack = this->expect_one(c);
  EXPECT_EQ(nack.id, command_id::generic_nack);
  EXPECT_EQ(nack.status, S::ESME_RINVCMDID);
  EXPECT_EQ(nack.sequence_number, 77U);
  this->send(c, header(command_id::enquire_link, S::ESME_ROK, 78));
  const pdu el = this->expect_one(c);
  EXPECT_EQ(el.id, command_id::enquire_link_resp);
  EXPECT_EQ(el.sequence_number, 78U);
  EXPECT_FALSE(this->peers_.conns[c].closed);
}

TYPED_TEST(RouterOnTransport, BadCommandLengthIsGenericNackThenClose) {
  this->start();
  const conn_id c = this->bound_esme();
  this->send(c, testing::from_hex("0000000800000015"));
  const pdu nack = this->expect_one(c);
  EXPECT_EQ(nack.id, command_id::generic_nack);
  EXPECT_EQ(nack.status, S::ESME_RINVCMDLEN);
  EXPECT_TRUE(this->wait_closed(c)) << "the router keeps a session whose framing is lost";
  EXPECT_TRUE(this->pump([&] { return this->shared_->binds_per_tenant[0].load() == 0; }));
}

TYPED_TEST(RouterOnTransport, EnquireLinkAndUnbind) {
  this->start();
  const conn_id c = this->bound_esme();
  this->send(c, header(command_id::enquire_link, S::ESME_ROK, 10));
  this->send(c, header(command_id::unbind, S::ESME_ROK, 11));
  const frames out = this->expect(c, 2);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(decoded(out[0]).id, command_id::enquire_link_resp);
  EXPECT_EQ(decoded(out[0]).sequence_number, 10U);
  EXPECT_EQ(decoded(out[1]).id, command_id::unbind_resp);
  EXPECT_EQ(decoded(out[1]).sequence_number, 11U);
  // SMPP 3.4 §2.3: the router closes after unbind_resp; gracefully, so the answer is not lost.
  ASSERT_TRUE(this->wait_closed(c));
  EXPECT_EQ(this->peers_.conns[c].close_err, 0);
}

// ---------------------------------------------------------------------------------------------
// Routing (SMPP 3.4 §4.4 submit_sm through the upstream binds)

TYPED_TEST(RouterOnTransport, SubmitIsForwardedWithNewSequenceAndAnswerRestoresIt) {
  this->start();
  const auto ups = this->bring_up_upstreams();
  ASSERT_EQ(ups.size(), 2U);
  const conn_id c = this->bound_esme();
  this->send(c, submit_pdu("447700900123", 4242));
  const frames fwd = this->expect(ups[this->primary], 1);
  ASSERT_EQ(fwd.size(), 1U);
  const pdu f = decoded(fwd[0]);
  EXPECT_EQ(f.destination_addr, "447700900123");
  EXPECT_NE(f.sequence_number, 4242U);
  EXPECT_EQ(submit_pdu("447700900123", f.sequence_number), fwd[0])
      << "bytes identical but for the sequence number";
  this->answer_submit(ups[this->primary], f.sequence_number, "msg-1");
  const pdu b = this->expect_one(c);
  EXPECT_EQ(b.id, command_id::submit_sm_resp);
  EXPECT_EQ(b.status, S::ESME_ROK);
  EXPECT_EQ(b.sequence_number, 4242U);
  EXPECT_EQ(b.message_id, "msg-1");
  EXPECT_EQ(this->worker_->stats().resp_relayed, 1U);
}

TYPED_TEST(RouterOnTransport, LongestPrefixChoosesTheUpstream) {
  this->start();
  const auto ups = this->bring_up_upstreams();
  ASSERT_EQ(ups.size(), 2U);
  const conn_id c = this->bound_esme();
  this->send(c, submit_pdu("3361234", 1));  // 33 -> backup only
  this->send(c, submit_pdu("4461234", 2));  // 44 -> primary first
  const pdu to_backup = this->expect_one(ups[this->backup]);
  EXPECT_EQ(to_backup.destination_addr, "3361234");
  const pdu to_primary = this->expect_one(ups[this->primary]);
  EXPECT_EQ(to_primary.destination_addr, "4461234");
  this->settle();
  EXPECT_EQ(this->peers_.pending(ups[this->primary]), 0U);
  EXPECT_EQ(this->peers_.pending(ups[this->backup]), 0U);
}

TYPED_TEST(RouterOnTransport, NoRouteIsInvalidDestination) {
  this->start();
  const auto ups = this->bring_up_upstreams();
  const conn_id c = this->bound_esme();
  this->send(c, submit_pdu("4912345", 1));
  const pdu p = this->expect_one(c);
  EXPECT_EQ(p.status, S::ESME_RINVDSTADR);
  EXPECT_EQ(p.sequence_number, 1U);
  for (conn_id up : ups) EXPECT_EQ(this->peers_.pending(up), 0U);
}

TYPED_TEST(RouterOnTransport, WindowExceededIsThrottled) {
  this->start();  // tenant window 4
  const auto ups = this->bring_up_upstreams();
  ASSERT_EQ(ups.size(), 2U);
  const conn_id c = this->bound_esme();
  for (uint32_t i = 1; i <= 5; ++i) this->send(c, submit_pdu("4477", i));
  const pdu t = this->expect_one(c);
  EXPECT_EQ(t.status, S::ESME_RTHROTTLED);
  EXPECT_EQ(t.sequence_number, 5U);
  EXPECT_EQ(this->expect(ups[this->primary], 4).size(), 4U);
  this->settle();
  EXPECT_EQ(this->peers_.pending(c), 0U);
  EXPECT_EQ(this->peers_.pending(ups[this->backup]), 0U);
}

TYPED_TEST(RouterOnTransport, UpstreamDropAnswersEveryInflightRequestOnce) {
  this->start();
  const auto ups = this->bring_up_upstreams();
  ASSERT_EQ(ups.size(), 2U);
  const conn_id c = this->bound_esme();
  for (uint32_t i = 1; i <= 3; ++i) this->send(c, submit_pdu("4477", i));
  ASSERT_EQ(this->expect(ups[this->primary], 3).size(), 3U);
  this->backend_.peer().close(ups[this->primary], true);  // the SMSC resets the connection
  const frames out = this->expect(c, 3);
  ASSERT_EQ(out.size(), 3U);
  std::vector<uint32_t> seqs;
  for (const auto& b : out) {
    EXPECT_EQ(decoded(b).status, upstream_failure_status);
    seqs.push_back(decoded(b).sequence_number);
  }
  std::sort(seqs.begin(), seqs.end());
  EXPECT_EQ(seqs, (std::vector<uint32_t>{1, 2, 3}));
  // Nothing more arrives, even after every timeout passed (the bind reconnects meanwhile).
  this->advance(5000);
  this->settle();
  EXPECT_EQ(this->peers_.pending(c), 0U);
  EXPECT_EQ(this->worker_->stats().upstream_failed_inflight, 3U);
}

TYPED_TEST(RouterOnTransport, UpstreamTimeoutAnswersOnceAndTheLateAnswerIsDropped) {
  this->start();  // response_ms 2000
  const auto ups = this->bring_up_upstreams();
  ASSERT_EQ(ups.size(), 2U);
  const conn_id c = this->bound_esme();
  this->send(c, submit_pdu("4477", 9));
  const pdu f = this->expect_one(ups[this->primary]);
  this->advance(1990);
  this->settle();
  EXPECT_EQ(this->peers_.pending(c), 0U) << "answered before response_ms";
  this->advance(20);
  const pdu p = this->expect_one(c);
  EXPECT_EQ(p.status, upstream_failure_status);
  EXPECT_EQ(p.sequence_number, 9U);
  this->answer_submit(ups[this->primary], f.sequence_number, "late");
  EXPECT_TRUE(this->pump([&] { return this->worker_->stats().resp_orphaned == 1U; }));
  this->settle();
  EXPECT_EQ(this->peers_.pending(c), 0U);
  EXPECT_EQ(this->worker_->stats().upstream_timeouts, 1U);
}

// SMPP 3.4 §4.6.1: a receipt from the SMSC goes to the tenant whose message it reports, and the
// ESME's deliver_sm_resp goes back to the SMSC with the SMSC's sequence number.
TYPED_TEST(RouterOnTransport, ReceiptFromTheSmscReachesTheSubmittingEsme) {
  this->start();
  const auto ups = this->bring_up_upstreams();
  ASSERT_EQ(ups.size(), 2U);
  const conn_id up = ups[this->primary];
  const conn_id c = this->bound_esme();
  this->send(c, submit_pdu("441234", 5));
  this->answer_submit(up, this->expect_one(up).sequence_number, "38601fa");
  EXPECT_EQ(this->expect_one(c).message_id, "38601fa");
  // The SMSC quotes the id in zero-padded decimal (0x38601fa).
  this->send(up, receipt_pdu("id:0059113978 sub:001 dlvrd:001 submit date:2611260101 "
                             "done date:2611260102 stat:DELIVRD err:000 text:hello",
                             77));
  const pdu d = this->expect_one(c);
  EXPECT_EQ(d.id, command_id::deliver_sm);
  EXPECT_EQ(d.esm_class, codec::esm_class_delivery_receipt);
  EXPECT_EQ(this->peers_.pending(up), 0U) << "acknowledged before the ESME answered";
  this->send(c, header(command_id::deliver_sm_resp, S::ESME_ROK, d.sequence_number));
  const pdu a = this->expect_one(up);
  EXPECT_EQ(a.id, command_id::deliver_sm_resp);
  EXPECT_EQ(a.sequence_number, 77U);
  EXPECT_EQ(a.status, S::ESME_ROK);
  EXPECT_EQ(this->worker_->stats().receipts_received, 1U);
  EXPECT_EQ(this->worker_->stats().deliver_acked, 1U);
}

// A PDU written an octet per turn (TCP_NODELAY on the kernel peer, and a userspace TCP that sends
// each poll) is framed whole (SMPP 3.4 §3.2: command_length first) on either stack.
TYPED_TEST(RouterOnTransport, SubmitArrivingOneOctetAtATimeIsForwardedWhole) {
  this->start();
  const auto ups = this->bring_up_upstreams();
  ASSERT_EQ(ups.size(), 2U);
  const conn_id c = this->bound_esme();
  const std::vector<std::byte> b = submit_pdu("447700900124", 31);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i + 1 == b.size()) {
      this->settle(20ms);
      EXPECT_EQ(this->peers_.pending(ups[this->primary]), 0U) << "forwarded before it was whole";
    }
    this->send(c, {b[i]});
    for (int k = 0; k < 4; ++k) this->turn();
  }
  const pdu f = this->expect_one(ups[this->primary]);
  EXPECT_EQ(f.destination_addr, "447700900124");
  this->answer_submit(ups[this->primary], f.sequence_number, "split");
  const pdu r = this->expect_one(c);
  EXPECT_EQ(r.sequence_number, 31U);
  EXPECT_EQ(r.message_id, "split");
  EXPECT_EQ(this->worker_->stats().decode_errors, 0U);
}

// An ESME that resets its connection with requests in flight: the SMSC's answers have nobody
// to go to and are dropped (counted); the upstream bind carries on for the next session.
TYPED_TEST(RouterOnTransport, AnswersForAnEsmeThatLeftAreDroppedAndTheBindCarriesOn) {
  this->start();
  const auto ups = this->bring_up_upstreams();
  ASSERT_EQ(ups.size(), 2U);
  const conn_id up = ups[this->primary];
  const conn_id gone = this->bound_esme();
  this->send(gone, submit_pdu("4477", 1));
  this->send(gone, submit_pdu("4477", 2));
  const frames fwd = this->expect(up, 2);
  ASSERT_EQ(fwd.size(), 2U);
  this->backend_.peer().close(gone, true);
  ASSERT_TRUE(this->pump([&] { return this->worker_->esme_sessions() == 0; }));
  for (const auto& f : fwd) this->answer_submit(up, decoded(f).sequence_number, "nobody");
  EXPECT_TRUE(this->pump([&] { return this->worker_->stats().resp_orphaned == 2U; }));
  const conn_id next = this->bound_esme();
  this->send(next, submit_pdu("4477", 3));
  this->answer_submit(up, this->expect_one(up).sequence_number, "m3");
  const pdu r = this->expect_one(next);
  EXPECT_EQ(r.sequence_number, 3U);
  EXPECT_EQ(r.message_id, "m3");
  EXPECT_FALSE(this->peers_.conns[up].closed);
}

// ---------------------------------------------------------------------------------------------
// Shutdown (SMPP 3.4 §4.2: unbind both ways)

TYPED_TEST(RouterOnTransport, ShutdownUnbindsEsmesAndUpstreamsThenFinishes) {
  this->start();
  const auto ups = this->bring_up_upstreams();
  ASSERT_EQ(ups.size(), 2U);
  const conn_id c = this->bound_esme();
  this->worker_->begin_shutdown(this->now_ms_);
  const pdu u = this->expect_one(c);
  EXPECT_EQ(u.id, command_id::unbind);
  this->send(c, header(command_id::unbind_resp, S::ESME_ROK, u.sequence_number));
  EXPECT_TRUE(this->wait_closed(c));
  for (conn_id up : ups) {
    const pdu uu = this->expect_one(up);
    EXPECT_EQ(uu.id, command_id::unbind);
    EXPECT_FALSE(this->worker_->done());
    this->send(up, header(command_id::unbind_resp, S::ESME_ROK, uu.sequence_number));
  }
  EXPECT_TRUE(this->pump([&] {
    return this->worker_->done() && this->backend_.router().connections() == 0 &&
           this->backend_.peer().connections() == 0;
  })) << "router connections "
      << this->backend_.router().connections() << ", peer " << this->backend_.peer().connections();
  for (conn_id up : ups) EXPECT_TRUE(this->peers_.conns[up].closed);
}

// ---------------------------------------------------------------------------------------------
// Bulk: two sessions keep their windows full; every request is answered exactly once, with its
// own sequence number and the message id the SMSC gave it.

TYPED_TEST(RouterOnTransport, TwentyThousandSubmitsFromTwoSessionsAreEachAnsweredOnce) {
  constexpr uint32_t window = 64;
  constexpr uint32_t per_session = 10'000;
  auto snap = testing::make_snapshot(1, window);
  snap->upstreams[0].binds[0].window = 2 * window;  // both sessions' windows fit upstream
  this->start(snap);
  const auto ups = this->bring_up_upstreams();
  ASSERT_EQ(ups.size(), 2U);
  const conn_id up = ups[this->primary];
  struct session {
    conn_id c = invalid_conn;
    uint32_t next_seq = 1;
    uint32_t in_flight = 0;
    std::vector<uint8_t> answers;  // per sequence number
    uint32_t wrong = 0;            // answers with a wrong status, message id or sequence number
  };
  session ss[2];
  for (uint32_t i = 0; i < 2; ++i) {
    ss[i].c = this->bound_esme();
    ss[i].answers.assign(per_session + 1, 0);
  }
  // Each message's destination names its session and sequence number; the SMSC's message id
  // repeats it, so an answer relayed to the wrong request shows.
  const auto dest = [](uint32_t i, uint32_t seq) {
    return "44" + std::to_string((i + 1) * 1'000'000 + seq);
  };
  uint64_t smsc_answered = 0;
  uint32_t answered = 0;
  const bool done = this->pump(
      [&] {
        for (auto& f : this->peers_.take(up)) {
          const pdu p = decoded(f);
          if (p.id != command_id::submit_sm) continue;
          this->answer_submit(up, p.sequence_number, "id" + std::string(p.destination_addr));
          ++smsc_answered;
        }
        for (uint32_t i = 0; i < 2; ++i) {
          session& s = ss[i];
          for (auto& f : this->peers_.take(s.c)) {
            const pdu p = decoded(f);
            if (p.id != command_id::submit_sm_resp || p.sequence_number == 0 ||
                p.sequence_number > per_session || p.status != S::ESME_ROK ||
                p.message_id != "id" + dest(i, p.sequence_number)) {
              ++s.wrong;
              continue;
            }
            ++s.answers[p.sequence_number];
            --s.in_flight;
            ++answered;
          }
          while (s.in_flight < window && s.next_seq <= per_session) {
            this->send(s.c, submit_pdu(dest(i, s.next_seq), s.next_seq));
            ++s.next_seq;
            ++s.in_flight;
          }
        }
        return answered == 2 * per_session;
      },
      45s);
  EXPECT_TRUE(done) << answered << " of " << 2 * per_session << " answered";
  this->settle();
  for (const session& s : ss) {
    EXPECT_EQ(s.wrong, 0U);
    EXPECT_EQ(this->peers_.pending(s.c), 0U) << "answers beyond one per request";
    uint32_t once = 0;
    for (uint32_t seq = 1; seq <= per_session; ++seq) once += s.answers[seq] == 1 ? 1 : 0;
    EXPECT_EQ(once, per_session);
  }
  EXPECT_EQ(smsc_answered, 2U * per_session);
  EXPECT_EQ(this->worker_->stats().throttled, 0U);
  EXPECT_EQ(this->worker_->stats().resp_relayed, 2U * per_session);
}

}  // namespace
}  // namespace smpp::dataplane
