#include "smpp/dataplane/router_worker.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <random>

namespace smpp::dataplane {

using codec::command_id;
using codec::command_status;
using codec::pdu;
using S = command_status;

namespace {

constexpr uint64_t kTickMs = 5;
constexpr uint32_t kMaxSequence = 0x7FFFFFFF;  // SMPP 3.4 §5.1.4: 0x00000001..0x7FFFFFFF

enum class esme_state : uint8_t { open, bound, unbinding };
enum class link_state : uint8_t { down, connecting, binding, bound, unbinding };

uint32_t slot_index(conn_id c) {
  return static_cast<uint32_t>(c & 0xFFFFFFFFu);
}

bool can_submit(command_id bind) {
  return bind != command_id::bind_receiver;
}

}  // namespace

struct router_worker::esme_session {
  conn_id conn = invalid_conn;
  peer_address peer;
  codec::stream_framer framer;
  esme_state state = esme_state::open;
  command_id bind = command_id::bind_transceiver;
  uint32_t tenant = 0;
  uint32_t outstanding = 0;
  uint32_t window = 0;
  uint32_t next_seq = 1;
  uint64_t opened_ms = 0;
  uint64_t last_rx_ms = 0;
  uint64_t partial_since_ms = 0;
  bool enquire_pending = false;
  bool counted_bind = false;
  upstream_link* last_link = nullptr;  // the bind this session's previous request went to
  explicit esme_session(uint32_t max_len) : framer(max_len) {}
};

struct router_worker::upstream_link {
  struct inflight {
    uint32_t up_seq = 0;  // 0: free
    uint32_t esme_seq = 0;
    conn_id esme = invalid_conn;
    uint64_t deadline_ms = 0;
    command_id id = command_id::submit_sm;
    uint32_t origin = 0;  // worker of the ESME session
  };
  uint32_t upstream = 0;
  const upstream_bind_def* def = nullptr;
  conn_id conn = invalid_conn;
  link_state state = link_state::down;
  codec::stream_framer framer;
  uint32_t next_seq = 1;
  uint32_t outstanding = 0;
  std::vector<inflight> table;  // capacity: power of two >= 2 * window; slot = seq & mask
  uint32_t mask = 0;
  uint64_t reconnect_at_ms = 0;
  uint32_t backoff_ms = 0;
  uint64_t last_rx_ms = 0;
  uint64_t last_tx_ms = 0;
  // No in-flight entry expires before this (a lower bound, exact after each sweep), so the
  // timer does not scan the table on every tick.
  uint64_t next_expiry_ms = UINT64_MAX;
  bool enquire_pending = false;
  bool counted_bound = false;
  explicit upstream_link(uint32_t max_len) : framer(max_len) {}

  uint32_t take_seq() {
    for (;;) {
      const uint32_t s = next_seq;
      next_seq = next_seq >= kMaxSequence ? 1 : next_seq + 1;
      if (table.empty() || table[s & mask].up_seq == 0) return s;
    }
  }
};

// One entry per transport slot: the session on that connection, ESME or upstream.
struct router_worker::session_slot {
  conn_id conn = invalid_conn;
  std::unique_ptr<esme_session> esme;
  upstream_link* link = nullptr;
};

router_worker::router_worker(uint32_t index, uint32_t workers, transport& t,
                             std::shared_ptr<const router_snapshot> snapshot, shared_state* shared,
                             ring_mesh* mesh)
    : index_(index),
      workers_(workers == 0 ? 1 : workers),
      t_(t),
      snap_(std::move(snapshot)),
      shared_(shared),
      mesh_(mesh) {
  cells_.resize(handoff_cells(snap_->max_command_length));
  inbox_.resize(cells_.size() * sizeof(handoff_cell));
  t_.set_handler(this);
  links_by_upstream_.resize(snap_->upstreams.size());
  for (const upstream_def& u : snap_->upstreams) {
    for (size_t b = 0; b < u.binds.size(); ++b) {
      // Bind b of every upstream belongs to worker b % workers.
      if (b % workers_ != index_) continue;
      auto link = std::make_unique<upstream_link>(snap_->max_command_length);
      link->upstream = u.index;
      link->def = &u.binds[b];
      uint32_t cap = 2;
      while (cap < 2 * std::max<uint32_t>(link->def->window, 1)) cap <<= 1;
      link->table.resize(cap);
      link->mask = cap - 1;
      links_by_upstream_[u.index].push_back(link.get());
      links_.push_back(std::move(link));
    }
  }
}

router_worker::~router_worker() = default;

int router_worker::start(uint64_t now_ms) {
  now_ms_ = now_ms;
  for (const endpoint& ep : snap_->listeners) {
    const int r = t_.listen(ep);
    if (r < 0) return r;
  }
  for (auto& l : links_) connect_upstream(*l);
  return 0;
}

router_worker::session_slot* router_worker::slot_of(conn_id c) noexcept {
  const uint32_t i = slot_index(c);
  if (i >= slots_.size() || !slots_[i] || slots_[i]->conn != c) return nullptr;
  return slots_[i].get();
}

uint32_t router_worker::esme_sessions() const noexcept {
  uint32_t n = 0;
  for (const auto& s : slots_) n += (s && s->esme) ? 1 : 0;
  return n;
}

uint32_t router_worker::upstream_binds_bound() const noexcept {
  uint32_t n = 0;
  for (const auto& l : links_) n += l->state == link_state::bound ? 1 : 0;
  return n;
}

bool router_worker::done() const noexcept {
  if (!shutting_down_) return false;
  if (now_ms_ >= shutdown_deadline_ms_) return true;
  return t_.connections() == 0;
}

int router_worker::run_once(uint64_t now_ms, int timeout_us) {
  now_ms_ = now_ms;
  int work = 0;
  if (mesh_ != nullptr) {
    work += drain_rings();
    // Work is waiting in a ring or behind a full one: do not sleep in the transport.
    if (!deferred_.empty() || work > 0) timeout_us = 0;
  }
  work += t_.poll(timeout_us);
  if (now_ms >= next_tick_ms_) tick(now_ms);
  return work;
}

// ---------------------------------------------------------------------------------------------
// Output helpers

bool router_worker::send_header_only(conn_id c, command_id id, command_status status,
                                     uint32_t seq) {
  const std::span<std::byte> out = t_.reserve(c, codec::header_size);
  if (out.size() < codec::header_size) return false;
  codec::write_header_only(out.first<codec::header_size>(), id, status, seq);
  t_.commit(c, codec::header_size);
  return true;
}

bool router_worker::send_pdu(conn_id c, const pdu& p) {
  std::array<std::byte, 512> buf;
  const codec::encode_result r = codec::encode(p, buf);
  if (!r.ok(buf.size())) return false;
  return t_.send(c, bytes_view(buf.data(), r.needed));
}

bool router_worker::relay(conn_id c, bytes_view frame, uint32_t seq) {
  const std::span<std::byte> out = t_.reserve(c, frame.size());
  if (out.size() < frame.size()) return false;
  std::memcpy(out.data(), frame.data(), frame.size());
  codec::store_be32(out.data() + 12, seq);  // the sequence number of the receiving side
  t_.commit(c, frame.size());
  return true;
}

// ---------------------------------------------------------------------------------------------
// Transport events

void router_worker::on_accept(conn_id c, uint32_t, const peer_address& peer) {
  if (shutting_down_) {
    t_.close(c, true);
    return;
  }
  const uint32_t i = slot_index(c);
  if (i >= slots_.size()) slots_.resize(std::max<size_t>(i + 1, slots_.size() * 2));
  auto slot = std::make_unique<session_slot>();
  slot->conn = c;
  slot->esme = std::make_unique<esme_session>(snap_->max_command_length);
  esme_session& s = *slot->esme;
  s.conn = c;
  s.peer = peer;
  s.opened_ms = s.last_rx_ms = now_ms_;
  slots_[i] = std::move(slot);
  ++stats_.esme_accepted;
}

void router_worker::on_connect(conn_id c, int err) {
  session_slot* slot = slot_of(c);
  if (slot == nullptr || slot->link == nullptr) return;
  upstream_link& u = *slot->link;
  if (err != 0) {
    ++stats_.upstream_connect_failures;
    slots_[slot_index(c)].reset();
    u.conn = invalid_conn;
    upstream_down(u);
    return;
  }
  // SMPP 3.4 §4.1: bind as configured.
  pdu b;
  b.id = u.def->bind_command;
  b.sequence_number = u.take_seq();
  b.system_id = u.def->system_id;
  b.password = u.def->password;
  b.system_type = u.def->system_type;
  b.interface_version = 0x34;
  u.state = link_state::binding;
  u.last_rx_ms = u.last_tx_ms = now_ms_;
  if (!send_pdu(c, b)) t_.close(c, true);
}

void router_worker::on_data(conn_id c, bytes_view data) {
  session_slot* slot = slot_of(c);
  if (slot == nullptr) return;
  if (slot->esme) {
    esme_session& s = *slot->esme;
    s.last_rx_ms = now_ms_;
    while (!data.empty()) {
      const auto r = s.framer.next(data);
      data = data.subspan(r.consumed);
      if (r.st == codec::stream_framer::state::frame) {
        esme_pdu(s, r.frame);
        if (slot_of(c) == nullptr || s.conn == invalid_conn) return;  // closed meanwhile
      } else if (r.st == codec::stream_framer::state::error) {
        // SMPP 3.4 §2.9: a length we cannot frame: generic_nack, then close.
        ++stats_.generic_nacks;
        (void)send_header_only(c, command_id::generic_nack, r.nack_status, r.sequence_number);
        close_esme(s, false);
        return;
      }
    }
    s.partial_since_ms =
        s.framer.buffered() == 0 ? 0 : (s.partial_since_ms ? s.partial_since_ms : now_ms_);
    return;
  }
  upstream_link& u = *slot->link;
  u.last_rx_ms = now_ms_;
  while (!data.empty()) {
    const auto r = u.framer.next(data);
    data = data.subspan(r.consumed);
    if (r.st == codec::stream_framer::state::frame) {
      upstream_pdu(u, r.frame);
      if (u.conn != c) return;
    } else if (r.st == codec::stream_framer::state::error) {
      (void)send_header_only(c, command_id::generic_nack, r.nack_status, r.sequence_number);
      t_.close(c, false);
      return;
    }
  }
}

void router_worker::on_writable(conn_id) {}

void router_worker::on_close(conn_id c, int) {
  session_slot* slot = slot_of(c);
  if (slot == nullptr) return;
  if (slot->esme) {
    esme_session& s = *slot->esme;
    if (s.counted_bind && shared_)
      shared_->binds_per_tenant[s.tenant].fetch_sub(1, std::memory_order_relaxed);
    s.conn = invalid_conn;
    slots_[slot_index(c)].reset();
    return;
  }
  upstream_link& u = *slot->link;
  slots_[slot_index(c)].reset();
  u.conn = invalid_conn;
  upstream_down(u);
}

void router_worker::close_esme(esme_session& s, bool abort) {
  if (s.conn == invalid_conn) return;
  t_.close(s.conn, abort);
}

// ---------------------------------------------------------------------------------------------
// ESME side (SMPP 3.4 §2.2, §2.3, §4)

void router_worker::esme_pdu(esme_session& s, bytes_view frame) {
  pdu p;
  const codec::decode_error e = codec::decode(frame, p);
  if (e) {
    ++stats_.decode_errors;
    if (e.status == S::ESME_RINVCMDID || e.status == S::ESME_RINVCMDLEN) {
      // SMPP 3.4 §3.3: generic_nack when the command cannot be identified or framed.
      ++stats_.generic_nacks;
      (void)send_header_only(s.conn, command_id::generic_nack, e.status, p.sequence_number);
    } else if (!codec::is_response(p.id) && codec::has_response(p.id)) {
      (void)send_header_only(s.conn, codec::response_of(p.id), e.status, p.sequence_number);
    }
    return;
  }
  const bool bound = s.state == esme_state::bound;
  switch (p.id) {
    case command_id::bind_transmitter:
    case command_id::bind_receiver:
    case command_id::bind_transceiver:
      if (s.state != esme_state::open) {
        (void)send_header_only(s.conn, codec::response_of(p.id), S::ESME_RALYBND,
                               p.sequence_number);
        return;
      }
      esme_bind(s, p);
      return;
    case command_id::enquire_link:
      if (!bound) break;
      (void)send_header_only(s.conn, command_id::enquire_link_resp, S::ESME_ROK, p.sequence_number);
      return;
    case command_id::enquire_link_resp:
      s.enquire_pending = false;
      return;
    case command_id::unbind:
      if (!bound) break;
      // SMPP 3.4 §4.2: answer, then the ESME closes; we close once the answer is written.
      (void)send_header_only(s.conn, command_id::unbind_resp, S::ESME_ROK, p.sequence_number);
      s.state = esme_state::unbinding;
      close_esme(s, false);
      return;
    case command_id::unbind_resp:
      if (s.state == esme_state::unbinding) close_esme(s, false);
      return;
    case command_id::submit_sm:
    case command_id::data_sm:
    case command_id::submit_multi:
      if (!bound || !can_submit(s.bind)) break;
      esme_submit(s, frame, p);
      return;
    case command_id::query_sm:
    case command_id::cancel_sm:
    case command_id::replace_sm:
    case command_id::broadcast_sm:
    case command_id::query_broadcast_sm:
    case command_id::cancel_broadcast_sm: {
      if (!bound) break;
      // Message operations reach the upstream that accepted the message in a later stage;
      // until then each gets its own failure status (SMPP 3.4 §5.1.3, 5.0 §4.7.6).
      S st = S::ESME_RQUERYFAIL;
      if (p.id == command_id::cancel_sm) st = S::ESME_RCANCELFAIL;
      if (p.id == command_id::replace_sm) st = S::ESME_RREPLACEFAIL;
      if (p.id == command_id::broadcast_sm) st = S::ESME_RBCASTFAIL;
      if (p.id == command_id::query_broadcast_sm) st = S::ESME_RBCASTQUERYFAIL;
      if (p.id == command_id::cancel_broadcast_sm) st = S::ESME_RBCASTCANCELFAIL;
      (void)send_header_only(s.conn, codec::response_of(p.id), st, p.sequence_number);
      return;
    }
    case command_id::generic_nack:
    case command_id::deliver_sm_resp:
    case command_id::data_sm_resp:
      return;  // answers to PDUs the router sent; nothing to relay yet
    case command_id::outbind:
    case command_id::alert_notification:
      // Only an SMSC sends these (SMPP 3.4 §4.1.7, §4.12); from an ESME they are invalid.
      ++stats_.generic_nacks;
      (void)send_header_only(s.conn, command_id::generic_nack, S::ESME_RINVCMDID,
                             p.sequence_number);
      return;
    default:
      if (codec::is_response(p.id)) return;  // unsolicited responses are dropped
      break;
  }
  // SMPP 3.4 §2.3: a PDU not allowed in the session's state.
  if (codec::has_response(p.id)) {
    (void)send_header_only(s.conn, codec::response_of(p.id), S::ESME_RINVBNDSTS, p.sequence_number);
  }
}

void router_worker::esme_bind(esme_session& s, const pdu& p) {
  // SMPP 3.4 §4.1: every authentication failure gets the same ESME_RBINDFAIL, so the answer
  // does not tell which part was wrong.
  const router_snapshot& snap = *snap_;
  const auto it = snap.tenant_by_system_id.find(std::string(p.system_id));
  bool ok = it != snap.tenant_by_system_id.end();
  const tenant_def* tenant = ok ? &snap.tenants[it->second] : nullptr;
  if (ok) ok = snap.verify_password && snap.verify_password(tenant->password_hash, p.password);
  if (ok && !tenant->allowed_networks.empty()) {
    ok = std::any_of(tenant->allowed_networks.begin(), tenant->allowed_networks.end(),
                     [&](const cidr& n) { return n.contains(s.peer); });
  }
  if (ok && shared_) {
    auto& count = shared_->binds_per_tenant[tenant->index];
    if (count.fetch_add(1, std::memory_order_relaxed) >= tenant->max_binds) {
      count.fetch_sub(1, std::memory_order_relaxed);
      ok = false;
    } else {
      s.counted_bind = true;
    }
  }
  pdu r;
  r.id = codec::response_of(p.id);
  r.sequence_number = p.sequence_number;
  r.system_id = snap.system_id;
  std::array<std::byte, 8> tlv_buf;
  if (!ok) {
    ++stats_.bind_failed;
    r.status = S::ESME_RBINDFAIL;
    r.body_absent = true;
    (void)send_pdu(s.conn, r);
    return;
  }
  if (p.interface_version >= 0x34) {
    // SMPP 3.4 §4.1.2: sc_interface_version tells the ESME which version we speak.
    codec::tlv_writer w(tlv_buf);
    (void)w.add_uint(codec::tag::sc_interface_version, 0x34, 1);
    r.tlvs = w.area();
  }
  s.state = esme_state::bound;
  s.bind = p.id;
  s.tenant = tenant->index;
  s.window = tenant->window;
  ++stats_.esme_bound;
  (void)send_pdu(s.conn, r);
}

router_worker::upstream_link* router_worker::pick_local(uint32_t up, conn_id esme,
                                                        bool& any_busy) noexcept {
  // Each ESME session starts at its own bind and moves on only when that one is full or down:
  // its requests stay in order on one bind, and each poll writes to few upstream connections
  // in large batches instead of spreading every batch thinly over all of them.
  auto& links = links_by_upstream_[up];
  const size_t n = links.size();
  const size_t start = n == 0 ? 0 : (esme * 0x9E3779B97F4A7C15ULL >> 32) % n;
  for (size_t k = 0; k < n; ++k) {
    upstream_link* l = links[(start + k) % n];
    if (l->state != link_state::bound) continue;
    if (l->outstanding >= l->def->window) {
      any_busy = true;
      continue;
    }
    return l;
  }
  return nullptr;
}

void router_worker::set_bound(upstream_link& u, bool bound) noexcept {
  if (u.counted_bound == bound) return;
  u.counted_bound = bound;
  if (shared_ == nullptr || shared_->bound_links.empty()) return;
  auto& n = shared_->bound_links[u.upstream * workers_ + index_];
  if (bound) {
    n.fetch_add(1, std::memory_order_relaxed);
  } else {
    n.fetch_sub(1, std::memory_order_relaxed);
  }
}

void router_worker::esme_submit(esme_session& s, bytes_view frame, const pdu& p) {
  ++stats_.submit_received;
  const command_id resp = codec::response_of(p.id);
  if (s.outstanding >= s.window || shutting_down_) {
    ++stats_.throttled;
    (void)send_header_only(s.conn, resp, S::ESME_RTHROTTLED, p.sequence_number);
    return;
  }
  std::string_view dest = p.destination_addr;
  if (p.id == command_id::submit_multi) {
    // Routed by the first destination (SMPP 3.4 §4.5.1); a distribution list name routes as is.
    dest = (*p.dest_addresses.begin()).destination_addr;
  }
  const route_def* r = snap_->routes.lookup(s.tenant, dest, p.source_addr, p.service_type);
  if (r == nullptr) {
    ++stats_.no_route;
    (void)send_header_only(s.conn, resp, S::ESME_RINVDSTADR, p.sequence_number);
    return;
  }
  bool any_busy = false;
  upstream_link* u = nullptr;
  for (uint32_t up : r->upstreams) {
    // Failover order; within an upstream our own binds first, then another worker's. The bind
    // the session used last is tried first: no search, and its state is already in cache.
    if (upstream_link* l = s.last_link; l != nullptr && l->upstream == up &&
                                        l->state == link_state::bound &&
                                        l->outstanding < l->def->window) {
      u = l;
      break;
    }
    u = pick_local(up, s.conn, any_busy);
    if (u != nullptr) {
      s.last_link = u;
      break;
    }
    if (hand_off(up, s, frame, p, any_busy)) {
      ++s.outstanding;
      ++stats_.handed_off;
      return;
    }
  }
  if (u == nullptr) {
    // Every bind of the route is busy (back-pressure) or down (temporary failure).
    if (any_busy) {
      ++stats_.throttled;
      (void)send_header_only(s.conn, resp, S::ESME_RTHROTTLED, p.sequence_number);
    } else {
      ++stats_.upstream_unavailable;
      (void)send_header_only(s.conn, resp, upstream_failure_status, p.sequence_number);
    }
    return;
  }
  const uint32_t seq = u->take_seq();
  if (!relay(u->conn, frame, seq)) {
    ++stats_.throttled;
    (void)send_header_only(s.conn, resp, S::ESME_RTHROTTLED, p.sequence_number);
    return;
  }
  auto& e = u->table[seq & u->mask];
  e.up_seq = seq;
  e.esme_seq = p.sequence_number;
  e.esme = s.conn;
  e.deadline_ms = now_ms_ + snap_->timers.response_ms;
  u->next_expiry_ms = std::min(u->next_expiry_ms, e.deadline_ms);
  e.id = p.id;
  e.origin = index_;
  ++u->outstanding;
  u->last_tx_ms = now_ms_;
  ++s.outstanding;
  ++stats_.submit_forwarded;
}

// ---------------------------------------------------------------------------------------------
// Upstream side

void router_worker::connect_upstream(upstream_link& u) {
  if (shutting_down_) return;
  int err = 0;
  const conn_id c = t_.connect(snap_->upstreams[u.upstream].address, err);
  if (c == invalid_conn) {
    ++stats_.upstream_connect_failures;
    upstream_down(u);
    return;
  }
  const uint32_t i = slot_index(c);
  if (i >= slots_.size()) slots_.resize(std::max<size_t>(i + 1, slots_.size() * 2));
  auto slot = std::make_unique<session_slot>();
  slot->conn = c;
  slot->link = &u;
  slots_[i] = std::move(slot);
  u.conn = c;
  u.state = link_state::connecting;
  u.framer = codec::stream_framer(snap_->max_command_length);
}

void router_worker::upstream_bound(upstream_link& u) {
  u.state = link_state::bound;
  set_bound(u, true);
  u.backoff_ms = 0;
  ++stats_.upstream_binds_up;
}

void router_worker::upstream_down(upstream_link& u) {
  fail_inflight(u, upstream_failure_status, false);
  set_bound(u, false);
  u.state = link_state::down;
  u.enquire_pending = false;
  if (u.conn != invalid_conn) {
    // Forget the connection first, so its on_close finds no session and changes nothing.
    const conn_id c = u.conn;
    slots_[slot_index(c)].reset();
    u.conn = invalid_conn;
    t_.close(c, true);
  }
  // Exponential back-off with jitter between reconnect_min_ms and reconnect_max_ms.
  const session_timers& tm = snap_->timers;
  u.backoff_ms =
      u.backoff_ms == 0 ? tm.reconnect_min_ms : std::min(u.backoff_ms * 2, tm.reconnect_max_ms);
  static thread_local std::minstd_rand jitter(12345u + index_);
  u.reconnect_at_ms = now_ms_ + u.backoff_ms / 2 + jitter() % (u.backoff_ms / 2 + 1);
}

void router_worker::fail_inflight(upstream_link& u, command_status status, bool only_expired) {
  if (u.outstanding == 0) {
    u.next_expiry_ms = UINT64_MAX;
    return;
  }
  if (only_expired && now_ms_ < u.next_expiry_ms) return;
  uint64_t next = UINT64_MAX;
  for (auto& e : u.table) {
    if (e.up_seq == 0) continue;
    if (only_expired && e.deadline_ms > now_ms_) {
      next = std::min(next, e.deadline_ms);
      continue;
    }
    if (e.origin != index_) {
      answer_origin(e.origin, e.esme, e.esme_seq, e.id, status, {});
    } else if (session_slot* slot = slot_of(e.esme); slot && slot->esme) {
      esme_session& s = *slot->esme;
      if (s.outstanding > 0) --s.outstanding;
      (void)send_header_only(e.esme, codec::response_of(e.id), status, e.esme_seq);
    }
    if (only_expired) {
      ++stats_.upstream_timeouts;
    } else {
      ++stats_.upstream_failed_inflight;
    }
    e.up_seq = 0;
    --u.outstanding;
  }
  u.next_expiry_ms = next;
}

void router_worker::upstream_pdu(upstream_link& u, bytes_view frame) {
  const codec::pdu_header h = codec::peek_header(frame.data());
  const auto id = static_cast<command_id>(h.command_id);
  switch (id) {
    case command_id::submit_sm_resp:
    case command_id::data_sm_resp:
    case command_id::submit_multi_resp:
    case command_id::generic_nack: {
      auto& e = u.table[h.sequence_number & u.mask];
      if (e.up_seq != h.sequence_number || h.sequence_number == 0) {
        ++stats_.resp_orphaned;  // answered after its timeout, or never ours
        return;
      }
      e.up_seq = 0;
      --u.outstanding;
      if (e.origin != index_) {
        const auto st = id == command_id::generic_nack
                            ? static_cast<command_status>(h.command_status)
                            : S::ESME_ROK;
        answer_origin(e.origin, e.esme, e.esme_seq, e.id, st,
                      id == command_id::generic_nack ? bytes_view{} : frame);
        ++stats_.resp_relayed;
        return;
      }
      session_slot* slot = slot_of(e.esme);
      if (slot == nullptr || !slot->esme) {
        ++stats_.resp_orphaned;
        return;
      }
      esme_session& s = *slot->esme;
      if (s.outstanding > 0) --s.outstanding;
      bool ok;
      if (id == command_id::generic_nack) {
        // The SMSC refused the PDU itself: the ESME gets its own response with that status.
        ok = send_header_only(s.conn, codec::response_of(e.id),
                              static_cast<command_status>(h.command_status), e.esme_seq);
      } else {
        ok = relay(s.conn, frame, e.esme_seq);
      }
      if (ok) {
        ++stats_.resp_relayed;
      } else {
        // The ESME stopped reading: its unsent answers exceed the bound. Close it.
        ++stats_.sessions_closed_slow;
        close_esme(s, true);
      }
      return;
    }
    case command_id::bind_transmitter_resp:
    case command_id::bind_receiver_resp:
    case command_id::bind_transceiver_resp:
      if (u.state != link_state::binding) return;
      if (h.command_status == 0) {
        upstream_bound(u);
      } else {
        upstream_down(u);
      }
      return;
    case command_id::enquire_link:
      (void)send_header_only(u.conn, command_id::enquire_link_resp, S::ESME_ROK, h.sequence_number);
      return;
    case command_id::enquire_link_resp:
      u.enquire_pending = false;
      return;
    case command_id::unbind:
      (void)send_header_only(u.conn, command_id::unbind_resp, S::ESME_ROK, h.sequence_number);
      u.state = link_state::unbinding;
      t_.close(u.conn, false);
      return;
    case command_id::unbind_resp:
      t_.close(u.conn, false);
      return;
    case command_id::deliver_sm:
    case command_id::data_sm:
      // Receipts and MO messages are relayed in a later stage. Until then the router must not
      // acknowledge what it cannot deliver: a temporary error makes the SMSC retry later.
      (void)send_header_only(u.conn, codec::response_of(id), S::ESME_RX_T_APPN, h.sequence_number);
      return;
    default:
      if (!codec::is_response(id) && codec::has_response(id)) {
        (void)send_header_only(u.conn, codec::response_of(id), S::ESME_RINVCMDID,
                               h.sequence_number);
      } else if (!codec::is_known_command(h.command_id)) {
        (void)send_header_only(u.conn, command_id::generic_nack, S::ESME_RINVCMDID,
                               h.sequence_number);
      }
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Timers

void router_worker::tick(uint64_t now_ms) {
  now_ms_ = now_ms;
  next_tick_ms_ = now_ms + kTickMs;
  const session_timers& tm = snap_->timers;
  for (auto& slot : slots_) {
    if (!slot || !slot->esme) continue;
    esme_session& s = *slot->esme;
    if (s.conn == invalid_conn) continue;
    if (s.state == esme_state::open && now_ms - s.opened_ms >= tm.bind_ms) {
      close_esme(s, true);  // no bind within the configured time after connect
      continue;
    }
    if (s.partial_since_ms != 0 && now_ms - s.partial_since_ms >= tm.partial_pdu_ms) {
      close_esme(s, true);  // a PDU started but not finished in time
      continue;
    }
    if (now_ms - s.last_rx_ms >= tm.dead_peer_ms) {
      close_esme(s, true);
      continue;
    }
    if (s.state == esme_state::bound && !s.enquire_pending &&
        now_ms - s.last_rx_ms >= tm.enquire_link_interval_ms) {
      s.enquire_pending = true;
      const uint32_t seq = s.next_seq;
      s.next_seq = s.next_seq >= kMaxSequence ? 1 : s.next_seq + 1;
      (void)send_header_only(s.conn, command_id::enquire_link, S::ESME_ROK, seq);
    }
  }
  for (auto& lp : links_) {
    upstream_link& u = *lp;
    switch (u.state) {
      case link_state::down:
        if (!shutting_down_ && now_ms >= u.reconnect_at_ms) connect_upstream(u);
        break;
      case link_state::connecting:
      case link_state::binding:
        if (now_ms - u.last_tx_ms >= tm.response_ms && u.state == link_state::binding) {
          upstream_down(u);
        }
        break;
      case link_state::bound:
        fail_inflight(u, upstream_failure_status, true);
        if (now_ms - u.last_rx_ms >= tm.dead_peer_ms) {
          upstream_down(u);
          break;
        }
        if (!u.enquire_pending && now_ms - u.last_rx_ms >= tm.enquire_link_interval_ms) {
          u.enquire_pending = true;
          (void)send_header_only(u.conn, command_id::enquire_link, S::ESME_ROK, u.take_seq());
        }
        break;
      case link_state::unbinding:
        break;
    }
  }
  if (shutting_down_) {
    // ESMEs close on their unbind_resp (or at the deadline, see done()); upstream binds unbind
    // once every answer still owed to an ESME has been relayed.
    bool all_answered = true;
    for (auto& slot : slots_)
      all_answered = all_answered && !(slot && slot->esme && slot->esme->outstanding > 0);
    if (all_answered) {
      for (auto& lp : links_) {
        if (lp->conn != invalid_conn && lp->state == link_state::bound && lp->outstanding == 0) {
          lp->state = link_state::unbinding;
          (void)send_header_only(lp->conn, command_id::unbind, S::ESME_ROK, lp->take_seq());
        }
      }
    }
  }
}

void router_worker::begin_shutdown(uint64_t now_ms) {
  now_ms_ = now_ms;
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_deadline_ms_ = now_ms + snap_->timers.shutdown_ms;
  // SMPP 3.4 §4.2: unbind every bound ESME; answers still outstanding are relayed meanwhile.
  for (auto& slot : slots_) {
    if (!slot || !slot->esme) continue;
    esme_session& s = *slot->esme;
    if (s.state == esme_state::bound) {
      s.state = esme_state::unbinding;
      const uint32_t seq = s.next_seq;
      s.next_seq = s.next_seq >= kMaxSequence ? 1 : s.next_seq + 1;
      (void)send_header_only(s.conn, command_id::unbind, S::ESME_ROK, seq);
    } else if (s.state == esme_state::open) {
      close_esme(s, true);
    }
  }
  tick(now_ms);
}

}  // namespace smpp::dataplane

namespace smpp::dataplane {

// ---------------------------------------------------------------------------------------------
// Hand-off between workers

bool router_worker::push_message(uint32_t to, const handoff_header& h, bytes_view pdu_bytes) {
  const size_t n = handoff_cells(pdu_bytes.size());
  if (n > cells_.size()) return false;
  auto& ring = mesh_->ring(index_, to);
  // Producer side: size() can only overestimate, so the room we see is really there and the
  // burst below takes every cell at once.
  if (ring.capacity() - ring.size() < n) return false;
  auto* raw = reinterpret_cast<std::byte*>(cells_.data());
  std::memcpy(raw, &h, sizeof h);
  if (!pdu_bytes.empty()) std::memcpy(raw + sizeof h, pdu_bytes.data(), pdu_bytes.size());
  const size_t pushed = ring.push_burst(std::span<const handoff_cell>(cells_.data(), n));
  return pushed == n;
}

bool router_worker::hand_off(uint32_t upstream, const esme_session& s, bytes_view frame,
                             const pdu& p, bool& any_busy) {
  if (mesh_ == nullptr || shared_ == nullptr || shared_->bound_links.empty()) return false;
  for (uint32_t k = 0; k < workers_; ++k) {
    const uint32_t w = (rr_worker_ + k) % workers_;
    if (w == index_) continue;
    if (shared_->bound_links[upstream * workers_ + w].load(std::memory_order_relaxed) == 0)
      continue;
    handoff_header h;
    h.kind = handoff_header::request;
    h.pdu_len = static_cast<uint32_t>(frame.size());
    h.origin = index_;
    h.upstream = upstream;
    h.esme = s.conn;
    h.esme_seq = p.sequence_number;
    h.command_id = static_cast<uint32_t>(p.id);
    if (push_message(w, h, frame)) {
      rr_worker_ = w + 1;
      return true;
    }
    any_busy = true;  // a full ring is back-pressure
  }
  return false;
}

void router_worker::answer_origin(uint32_t origin, conn_id esme, uint32_t esme_seq, command_id_t id,
                                  command_status status, bytes_view frame) {
  handoff_header h;
  h.kind = handoff_header::answer;
  h.pdu_len = static_cast<uint32_t>(frame.size());
  h.origin = origin;
  h.esme = esme;
  h.esme_seq = esme_seq;
  h.command_id = static_cast<uint32_t>(id);
  h.status = static_cast<uint32_t>(status);
  if (deferred_.empty() && push_message(origin, h, frame)) return;
  // The ring back is full: keep the answer (bounded by the requests in flight, themselves
  // bounded by the upstream windows) and retry on the next turn. An answer is never dropped.
  ++stats_.answers_deferred;
  const size_t n = handoff_cells(frame.size());
  deferred d{origin, std::vector<handoff_cell>(n)};
  auto* raw = reinterpret_cast<std::byte*>(d.cells.data());
  std::memcpy(raw, &h, sizeof h);
  if (!frame.empty()) std::memcpy(raw + sizeof h, frame.data(), frame.size());
  deferred_.push_back(std::move(d));
}

int router_worker::drain_rings() {
  int handled = 0;
  // Answers that waited for room go first, in order.
  size_t sent = 0;
  for (; sent < deferred_.size(); ++sent) {
    auto& d = deferred_[sent];
    auto& ring = mesh_->ring(index_, d.to);
    if (ring.capacity() - ring.size() < d.cells.size()) break;
    if (ring.push_burst(d.cells) != d.cells.size()) break;
  }
  deferred_.erase(deferred_.begin(), deferred_.begin() + static_cast<ptrdiff_t>(sent));

  for (uint32_t from = 0; from < workers_; ++from) {
    if (from == index_) continue;
    auto& ring = mesh_->ring(from, index_);
    // A bounded number of messages per ring and turn keeps the transport served too.
    for (int budget = 0; budget < 64; ++budget) {
      handoff_cell first;
      if (!ring.try_pop(first)) break;
      handoff_header h;
      std::memcpy(&h, first.bytes.data(), sizeof h);
      const size_t n = handoff_cells(h.pdu_len);
      std::memcpy(inbox_.data(), first.bytes.data(), sizeof first.bytes);
      for (size_t got = 1; got < n;) {
        // The producer published every cell of the message in one burst.
        got += ring.pop_burst(
            std::span<handoff_cell>(reinterpret_cast<handoff_cell*>(inbox_.data()) + got, n - got));
      }
      const bytes_view frame(inbox_.data() + sizeof h, h.pdu_len);
      ++handled;
      if (h.kind == handoff_header::request) {
        handoff_request(h, frame);
      } else {
        handoff_answer(h, frame);
      }
    }
  }
  return handled;
}

void router_worker::handoff_request(const handoff_header& h, bytes_view frame) {
  ++stats_.handoff_received;
  const auto id = static_cast<command_id>(h.command_id);
  bool any_busy = false;
  upstream_link* u =
      h.upstream < links_by_upstream_.size() ? pick_local(h.upstream, h.esme, any_busy) : nullptr;
  if (u == nullptr || shutting_down_) {
    ++(any_busy ? stats_.throttled : stats_.upstream_unavailable);
    answer_origin(h.origin, h.esme, h.esme_seq, id,
                  any_busy ? S::ESME_RTHROTTLED : upstream_failure_status, {});
    return;
  }
  const uint32_t seq = u->take_seq();
  if (!relay(u->conn, frame, seq)) {
    ++stats_.throttled;
    answer_origin(h.origin, h.esme, h.esme_seq, id, S::ESME_RTHROTTLED, {});
    return;
  }
  auto& e = u->table[seq & u->mask];
  e.up_seq = seq;
  e.esme_seq = h.esme_seq;
  e.esme = h.esme;
  e.deadline_ms = now_ms_ + snap_->timers.response_ms;
  u->next_expiry_ms = std::min(u->next_expiry_ms, e.deadline_ms);
  e.id = id;
  e.origin = h.origin;
  ++u->outstanding;
  u->last_tx_ms = now_ms_;
  ++stats_.submit_forwarded;
}

void router_worker::handoff_answer(const handoff_header& h, bytes_view frame) {
  session_slot* slot = slot_of(h.esme);
  if (slot == nullptr || !slot->esme) {
    ++stats_.resp_orphaned;
    return;
  }
  esme_session& s = *slot->esme;
  if (s.outstanding > 0) --s.outstanding;
  const bool ok =
      frame.empty()
          ? send_header_only(s.conn, codec::response_of(static_cast<command_id>(h.command_id)),
                             static_cast<command_status>(h.status), h.esme_seq)
          : relay(s.conn, frame, h.esme_seq);
  if (!ok) {
    ++stats_.sessions_closed_slow;
    close_esme(s, true);
  }
}

}  // namespace smpp::dataplane
