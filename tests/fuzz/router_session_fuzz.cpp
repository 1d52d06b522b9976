// libFuzzer target: one router worker on a fake in-memory transport, fed a script of network
// events (router_script.hpp): ESMEs and SMSCs that send arbitrary octets or well-formed PDUs,
// connect, close, answer, and a clock that moves. Checked after every step:
//  - the router answers a request at most once (counted by sequence number on each connection,
//    SMPP 3.4 §2.2), and answers nothing that was not asked;
//  - sessions and connections stay within their bounds: one session per open ESME connection,
//    at most one connection per upstream bind, hold queues and gate queues within their limits;
// and at the end, once every connect that was left hanging has failed and the clock has moved
// past every response timer: every request on a connection still open has had its one answer,
// on the ESME side and on the upstream side; then a shutdown answers nothing twice.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fake_transport.hpp"
#include "router_script.hpp"
#include "smpp/codec/codec.hpp"
#include "smpp/dataplane/router_worker.hpp"
#include "smpp/dataplane/shared_state.hpp"

namespace {

using namespace smpp;
using codec::command_id;
using dataplane::conn_id;
using fuzz::router_op;
using S = codec::command_status;

constexpr uint32_t kMaxCommandLength = 2048;
constexpr size_t kMaxSteps = 256;
constexpr size_t kMaxEsmes = 8;
constexpr uint32_t kResponseMs = 800;
constexpr uint32_t kBinds = 3;  // primary: 2 (the second one gated), backup: 1 (on demand)

[[noreturn]] void violated(const char* what, conn_id c, uint32_t seq) {
  std::fprintf(stderr, "router_session: %s (connection %llu, sequence_number %u)\n", what,
               static_cast<unsigned long long>(c), seq);
  std::abort();
}

bool plain_verify(const std::string& hash, std::string_view password) {
  return hash == password;
}

// Tenants acme (window 4, hold 4 messages), bp (queue_full = "backpressure") and lan (only
// from 10.0.0.0/8), password "secret"; upstream primary with a plain bind and a gated one,
// upstream backup bound on demand; routes 44 -> primary then backup, 33 -> backup, and
// everything of bp -> primary; MO 7 -> acme, 8 -> bp; short timers, a bind guard.
std::shared_ptr<dataplane::router_snapshot> fuzz_snapshot() {
  using namespace dataplane;
  auto s = std::make_shared<router_snapshot>();
  s->listeners.push_back({"127.0.0.1", 2775});
  for (const char* name : {"acme", "bp", "lan"}) {
    tenant_def t;
    t.index = static_cast<uint32_t>(s->tenants.size());
    t.name = t.system_id = name;
    t.password_hash = "secret";
    t.max_binds = 3;
    t.window = 4;
    t.hold_max = 4;
    t.hold_ttl_ms = 5000;
    t.deliver_window = 2;
    s->tenant_by_system_id[name] = t.index;
    s->tenants.push_back(t);
  }
  s->tenants[1].backpressure = true;
  s->tenants[1].window = 8;
  cidr lan;
  if (!cidr::parse("10.0.0.0/8", lan)) std::abort();
  s->tenants[2].allowed_networks.push_back(lan);
  for (const char* name : {"primary", "backup"}) {
    upstream_def u;
    u.index = static_cast<uint32_t>(s->upstreams.size());
    u.name = name;
    u.address = {"127.0.0.1", static_cast<uint16_t>(2776 + u.index)};
    upstream_bind_def b;
    b.system_id = "router";
    b.password = "pw";
    b.window = 4;
    u.binds.push_back(b);
    s->upstreams.push_back(u);
  }
  upstream_bind_def gated = s->upstreams[0].binds[0];
  gated.plan.rate_per_s = 200;
  gated.plan.slot_ns = 5'000'000;
  gated.plan.owner = {0, 1, any_tenant, 1};
  gated.plan.cap = {0, 0, 0};
  gated.plan.queue_max = {2, 2, 2};
  s->upstreams[0].binds.push_back(gated);
  s->upstreams[1].on_demand = true;
  s->upstreams[1].idle_unbind_ms = 1000;
  route_def r44;
  r44.destination_prefix = "44";
  r44.upstreams = {0, 1};
  route_def r33;
  r33.destination_prefix = "33";
  r33.upstreams = {1};
  route_def bp;
  bp.tenant = 1;
  bp.upstreams = {0};
  s->routes = route_table({r44, r33, bp});
  route_def mo7;
  mo7.destination_prefix = "7";
  mo7.upstreams = {0};
  route_def mo8;
  mo8.destination_prefix = "8";
  mo8.upstreams = {1};
  s->mo_routes = route_table({mo7, mo8});
  s->correlation.capacity = 64;
  s->correlation.ttl_ms = 10'000;
  s->bind_guard.delay_ms = 20;
  s->bind_guard.max_delay_ms = 100;
  s->bind_guard.lockout_failures = 4;
  s->bind_guard.lockout_ms = 500;
  s->timers.bind_ms = 1000;
  s->timers.partial_pdu_ms = 500;
  s->timers.response_ms = kResponseMs;
  s->timers.enquire_link_interval_ms = 3000;
  s->timers.dead_peer_ms = 6000;
  s->timers.reconnect_min_ms = 100;
  s->timers.reconnect_max_ms = 800;
  s->timers.shutdown_ms = 500;
  s->timers.esme_idle_ms = 5000;
  s->max_command_length = kMaxCommandLength;
  s->verify_password = plain_verify;
  return s;
}

std::vector<std::byte> encode(const codec::pdu& p) {
  std::vector<std::byte> b(kMaxCommandLength);
  const codec::encode_result r = codec::encode(p, b);
  if (!r.ok(b.size())) std::abort();
  b.resize(r.needed);
  return b;
}

// The far end of one connection, as the script plays it: what it sent and is owed an answer
// for, and what the router asked of it.
struct peer {
  peer(conn_id c, bool from_esme) : conn(c), esme(from_esme) {}
  conn_id conn;
  bool esme;
  std::vector<std::byte> unframed;        // octets sent that do not make a whole PDU yet
  bool broken = false;                    // sent a command_length the router cannot frame
  bool broken_nacked = false;             // ... and got the generic_nack for it (SMPP 3.4 §2.9)
  std::map<uint32_t, uint32_t> owed;      // seq -> requests the router must answer
  std::map<uint32_t, uint32_t> may_nack;  // seq -> other PDUs it may answer with generic_nack
  struct asked {
    command_id id;
    uint32_t seq;
  };
  std::vector<asked> asked_of_us;  // requests the router sent here, not yet answered
};

class session_run {
 public:
  using operands = std::array<uint8_t, 4>;

  explicit session_run(std::span<const uint8_t> script)
      : in_(script),
        snap_(fuzz_snapshot()),
        shared_(snap_->tenants.size(), snap_->upstreams.size()),
        w_(0, 1, t_, snap_, &shared_) {
    shared_.guard = std::make_unique<dataplane::bind_guard>(snap_->bind_guard);
    if (w_.start(now_ms_) != 0) std::abort();
  }

  void run() {
    for (size_t step = 0; step < kMaxSteps && at_ < in_.size(); ++step) {
      do_step();
      ++now_ms_;
      turn();
    }
    drain();
    for (const peer& p : peers_) {
      if (t_.conns[p.conn].closed) continue;
      for (const auto& [seq, n] : p.owed) {
        if (n != 0) violated("a request on an open connection was never answered", p.conn, seq);
      }
    }
    w_.begin_shutdown(now_ms_);
    for (int i = 0; i < 100 && !w_.done(); ++i) {
      fail_connects();
      now_ms_ += 20;
      turn();
    }
  }

 private:
  uint8_t u8() { return at_ < in_.size() ? in_[at_++] : 0; }

  // The open connection the operand picks, or nullptr.
  peer* pick(bool esme, uint8_t which) {
    std::vector<peer*> open;
    for (peer& p : peers_) {
      const auto& k = t_.conns[p.conn];
      if (p.esme == esme && !k.closed && !k.read_paused) open.push_back(&p);
    }
    return open.empty() ? nullptr : open[which % open.size()];
  }

  void do_step() {
    const auto o = static_cast<router_op>(u8() % static_cast<uint8_t>(router_op::count));
    operands a{};
    const size_t arity =
        std::min<size_t>(fuzz::router_op_operands[static_cast<size_t>(o)], a.size());
    for (size_t i = 0; i < arity; ++i) a[i] = u8();
    switch (o) {
      case router_op::accept:
        if (t_.connections() - outbound_open() >= kMaxEsmes) return;
        peers_.emplace_back(t_.accept((a[0] & 1) != 0 ? "10.1.2.3" : "127.0.0.1"), true);
        return;
      case router_op::esme_bytes:
      case router_op::upstream_bytes: {
        const size_t n = std::min<size_t>(size_t{a[1]} << 8 | a[2], in_.size() - at_);
        const auto* octets = reinterpret_cast<const std::byte*>(in_.data() + at_);
        at_ += n;
        if (peer* p = pick(o == router_op::esme_bytes, a[0])) send(*p, {octets, n});
        return;
      }
      case router_op::connect_done: {
        if (t_.pending_connects.empty()) return;
        const conn_id c = t_.pending_connects.front();
        t_.pending_connects.erase(t_.pending_connects.begin());
        if (t_.conns[c].closed) return;
        if ((a[0] & 1) != 0) {
          t_.complete_connect(c, 111);  // ECONNREFUSED
          return;
        }
        peers_.emplace_back(c, false);
        t_.complete_connect(c);
        return;
      }
      case router_op::advance:
        now_ms_ += (uint64_t{a[0]} + 1) * 4;
        return;
      case router_op::esme_close:
      case router_op::upstream_close:
        if (peer* p = pick(o == router_op::esme_close, a[0])) t_.peer_close(p->conn);
        return;
      case router_op::esme_bind:
        if (peer* p = pick(true, a[0])) esme_bind(*p, a);
        return;
      case router_op::esme_submit:
        if (peer* p = pick(true, a[0])) esme_submit(*p, a);
        return;
      case router_op::esme_query:
        if (peer* p = pick(true, a[0])) esme_query(*p, a);
        return;
      case router_op::esme_answer:
      case router_op::smsc_answer:
        if (peer* p = pick(o == router_op::esme_answer, a[0])) answer_all(*p, a[1]);
        return;
      case router_op::smsc_receipt:
        if (peer* p = pick(false, a[0])) smsc_receipt(*p, a);
        return;
      case router_op::smsc_mo:
        if (peer* p = pick(false, a[0])) smsc_mo(*p, a);
        return;
      case router_op::count:
        return;
    }
  }

  // --- well-formed PDUs the script can ask for

  void esme_bind(peer& p, const operands& a) {
    static constexpr command_id kinds[] = {command_id::bind_transmitter, command_id::bind_receiver,
                                           command_id::bind_transceiver};
    static constexpr const char* who[] = {"acme", "bp", "lan", "nobody"};
    const uint8_t k = a[1];
    codec::pdu b;
    b.id = kinds[k % 3];
    b.system_id = who[(k >> 2) % 4];
    b.password = (k & 0x10) != 0 ? "wrong" : "secret";
    b.interface_version = (k & 0x20) != 0 ? 0x33 : 0x34;
    b.sequence_number = a[2];
    send(p, encode(b));
  }

  void esme_submit(peer& p, const operands& a) {
    static constexpr const char* to[] = {"447700900001", "33612345678", "55512345", "440"};
    codec::pdu s;
    s.id = command_id::submit_sm;
    const uint8_t k = a[1];
    s.destination_addr = to[k % 4];
    s.source_addr = "1234";
    s.registered_delivery = a[2];
    s.short_message = codec::as_bytes("hello");
    if ((k & 0x10) != 0) s.id = command_id::data_sm;
    s.sequence_number = a[3];
    send(p, encode(s));
  }

  void esme_query(peer& p, const operands& a) {
    static constexpr command_id ops[] = {command_id::query_sm, command_id::cancel_sm,
                                         command_id::replace_sm};
    const std::string id = issued_id(a[1]);
    codec::pdu q;
    q.id = ops[a[2] % 3];
    q.message_id = id;
    q.source_addr = "1234";
    q.sequence_number = a[3];
    send(p, encode(q));
  }

  void smsc_receipt(peer& p, const operands& a) {
    const std::string id = issued_id(a[1]);
    const std::string text =
        "id:" + id +
        " sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD"
        " err:000 text:hello";
    codec::pdu d;
    d.id = command_id::deliver_sm;
    d.esm_class = codec::esm_class_delivery_receipt;
    d.source_addr = "447700900001";
    d.destination_addr = "1234";
    d.short_message = codec::as_bytes(text);
    d.sequence_number = a[2];
    send(p, encode(d));
  }

  void smsc_mo(peer& p, const operands& a) {
    static constexpr const char* to[] = {"7000", "8000", "9000"};
    codec::pdu d;
    d.id = command_id::deliver_sm;
    d.source_addr = "447700900001";
    d.destination_addr = to[a[1] % 3];
    d.short_message = codec::as_bytes("mo");
    d.sequence_number = a[2];
    send(p, encode(d));
  }

  // Every request the router sent to p gets its response, with a status the operand picks.
  void answer_all(peer& p, uint8_t how) {
    static constexpr S statuses[] = {S::ESME_ROK, S::ESME_RTHROTTLED, S::ESME_RMSGQFUL,
                                     S::ESME_RSYSERR};
    const S status = (how & 0x80) != 0 ? statuses[how % 4] : S::ESME_ROK;
    std::vector<std::byte> all;
    for (const peer::asked& a : std::exchange(p.asked_of_us, {})) {
      codec::pdu r;
      r.id = codec::response_of(a.id);
      r.sequence_number = a.seq;
      r.status = status;
      std::string id;
      if (status != S::ESME_ROK) {
        r.body_absent = true;
      } else if (a.id == command_id::submit_sm || a.id == command_id::data_sm) {
        id = std::to_string(4000 + issued_++);
        r.message_id = id;
        issued_ids_.push_back(id);
      } else if (a.id == command_id::bind_transceiver || a.id == command_id::bind_transmitter ||
                 a.id == command_id::bind_receiver) {
        r.system_id = "smsc";
      }
      const auto b = encode(r);
      all.insert(all.end(), b.begin(), b.end());
    }
    if (!all.empty()) send(p, all);
  }

  [[nodiscard]] std::string issued_id(uint8_t k) const {
    return issued_ids_.empty() ? std::to_string(4000 + k) : issued_ids_[k % issued_ids_.size()];
  }

  // --- the wire

  // Octets from the peer to the router; the requests among them are owed an answer.
  void send(peer& p, std::span<const std::byte> octets) {
    if (t_.conns[p.conn].closed || t_.conns[p.conn].read_paused || p.broken) return;
    p.unframed.insert(p.unframed.end(), octets.begin(), octets.end());
    size_t at = 0;
    while (p.unframed.size() - at >= 4) {
      const uint32_t len = codec::load_be32(p.unframed.data() + at);
      if (len < codec::header_size || len > kMaxCommandLength) {
        p.broken = true;  // SMPP 3.4 §2.9: generic_nack, then the router closes
        break;
      }
      if (p.unframed.size() - at < len) break;
      const codec::pdu_header h = codec::peek_header(p.unframed.data() + at);
      const auto id = static_cast<command_id>(h.command_id);
      ++(codec::has_response(id) ? p.owed : p.may_nack)[h.sequence_number];
      at += len;
    }
    p.unframed.erase(p.unframed.begin(), p.unframed.begin() + static_cast<ptrdiff_t>(at));
    t_.deliver(p.conn, octets);
  }

  // What the router wrote to p: each answer must match a request still owed one.
  void receive(peer& p) {
    for (const auto& f : t_.take(p.conn)) {
      const codec::pdu_header h = codec::peek_header(f.data());
      const auto id = static_cast<command_id>(h.command_id);
      const uint32_t seq = h.sequence_number;
      if (!codec::is_response(id)) {
        p.asked_of_us.push_back({id, seq});
        continue;
      }
      if (id == command_id::generic_nack && p.may_nack[seq] > 0) {
        --p.may_nack[seq];
      } else if (p.owed[seq] > 0) {
        --p.owed[seq];
      } else if (id == command_id::generic_nack && p.broken && !p.broken_nacked) {
        p.broken_nacked = true;  // its sequence_number is whatever the broken header held
      } else {
        violated(p.esme ? "an answer the ESME did not ask for, or a second one"
                        : "an answer the SMSC did not ask for, or a second one",
                 p.conn, seq);
      }
    }
    const auto& rest = t_.conns[p.conn].out;
    if (rest.size() >= 4 && codec::load_be32(rest.data()) < codec::header_size) {
      violated("the router wrote a command_length below 16", p.conn, 0);
    }
  }

  // One turn of the worker's loop, then what it wrote, then the bounds.
  void turn() {
    w_.run_once(now_ms_, 0, now_ms_ * 1000);
    while (t_.poll(0) > 0) {
    }
    for (peer& p : peers_) receive(p);
    check_bounds();
  }

  [[nodiscard]] uint32_t outbound_open() {
    uint32_t n = 0;
    for (const auto& [c, k] : t_.conns) n += k.outbound && !k.closed ? 1 : 0;
    return n;
  }

  void check_bounds() {
    const uint32_t esmes = t_.connections() - outbound_open();
    if (w_.esme_sessions() != esmes) violated("sessions and ESME connections differ", 0, esmes);
    if (outbound_open() > kBinds) violated("more upstream connections than binds", 0, kBinds);
    if (w_.upstream_binds_bound() > kBinds) violated("more binds bound than configured", 0, 0);
    if (w_.stats().stalled_sessions > esmes) violated("stalled sessions without sessions", 0, 0);
    for (size_t t = 0; t < snap_->tenants.size(); ++t) {
      const dataplane::tenant_def& d = snap_->tenants[t];
      const auto& c = w_.tenant_stats()[t];
      // Held messages that went out to a receiver and came back may exceed hold_max by what
      // the receivers' windows held.
      if (c.receipts.held + c.mo.held > d.hold_max + uint64_t{d.deliver_window} * d.max_binds)
        violated("a hold queue beyond its bound", 0, static_cast<uint32_t>(t));
      // Requests the SMSC throttled go back to the head of their queue even when it is full
      // (slot_gate::requeue_front): at most the bind's window more.
      const dataplane::upstream_bind_def& gated = snap_->upstreams[0].binds[1];
      if (c.queued > gated.plan.queue_max[t] + gated.window)
        violated("a gate queue beyond its bound", 0, static_cast<uint32_t>(t));
    }
  }

  // The kernel would time out a connect nobody answers: the ones left hanging fail.
  void fail_connects() {
    for (const conn_id c : std::exchange(t_.pending_connects, {})) {
      if (!t_.conns[c].closed) t_.complete_connect(c, 110);  // ETIMEDOUT
    }
  }

  // Nobody sends anything more; the clock moves past every response timer.
  void drain() {
    const uint64_t until = now_ms_ + 3 * kResponseMs + snap_->timers.reconnect_max_ms;
    while (now_ms_ < until) {
      fail_connects();
      now_ms_ += 20;
      turn();
    }
  }

  std::span<const uint8_t> in_;
  size_t at_ = 0;
  uint64_t now_ms_ = 1000;
  testing::fake_transport t_;
  std::shared_ptr<dataplane::router_snapshot> snap_;
  dataplane::shared_state shared_;
  dataplane::router_worker w_;
  std::vector<peer> peers_;
  std::vector<std::string> issued_ids_;
  uint32_t issued_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  session_run(std::span<const uint8_t>(data, size)).run();
  return 0;
}
