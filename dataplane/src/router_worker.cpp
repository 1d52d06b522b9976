#include "smpp/dataplane/router_worker.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iterator>
#include <random>
#include <tuple>

#include "smpp/codec/concat.hpp"
#include "smpp/codec/receipt.hpp"
#include "smpp/dataplane/slot_gate.hpp"

namespace smpp::dataplane {

using codec::command_id;
using codec::command_status;
using codec::pdu;
using S = command_status;

namespace {

constexpr uint64_t kTickMs = 5;
constexpr uint32_t kMaxSequence = 0x7FFFFFFF;  // SMPP 3.4 §5.1.4: 0x00000001..0x7FFFFFFF
// Octets a session held back by back-pressure may still deliver after its pause (a TLS read
// decrypting several records); beyond it the session is closed (backpressure_overflow).
constexpr size_t kStallLimitBytes = 1 << 20;

enum class esme_state : uint8_t { open, bound, unbinding };
// idle: an on-demand bind that is not wanted; down: failed, reconnecting after a back-off.
enum class link_state : uint8_t { idle, down, connecting, binding, bound, unbinding };

uint32_t slot_index(conn_id c) {
  return static_cast<uint32_t>(c & 0xFFFFFFFFu);
}

bool can_submit(command_id bind) {
  return bind != command_id::bind_receiver;
}

bool can_receive(command_id bind) {
  return bind != command_id::bind_transmitter;
}

uint32_t pow2_at_least(uint32_t n) {
  uint32_t cap = 2;
  while (cap < n) cap <<= 1;
  return cap;
}

// The message_id a submit_sm_resp, data_sm_resp or submit_multi_resp carries: the C-octet
// string that opens its body (SMPP 3.4 §4.4.2, §4.7.2, §4.5.2). Empty when there is none.
std::string_view resp_message_id(bytes_view frame) {
  if (frame.size() <= codec::header_size) return {};
  const auto* body = reinterpret_cast<const char*>(frame.data() + codec::header_size);
  const size_t n = std::min<size_t>(frame.size() - codec::header_size, 65);
  const void* nul = std::memchr(body, 0, n);
  if (nul == nullptr) return {};
  return {body, static_cast<size_t>(static_cast<const char*>(nul) - body)};
}

// The message id a receipt quotes (receipted_message_id TLV before the text, as
// codec::combine_receipt orders them); empty when it has none.
std::string_view receipt_message_id(const pdu& p) {
  codec::receipt_tlvs t;
  if (auto v = p.tlvs.find(codec::tag::receipted_message_id)) {
    const std::string_view id = v->as_cstring();
    if (!id.empty()) t.receipted_message_id = id;
  }
  std::optional<codec::receipt_text> text;
  bytes_view body = p.short_message;
  if (body.empty()) {
    if (auto v = p.tlvs.find(codec::tag::message_payload)) body = v->value;
  }
  if (!body.empty()) {
    if (auto r = codec::parse_receipt_text(body); r.ok()) text = r.receipt;
  }
  const codec::effective_receipt_result r = codec::combine_receipt(text, t);
  return r.ok() ? r.receipt.message_id : std::string_view{};
}

// SMPP 3.4 §5.2.17: registered_delivery asks for an SMSC receipt (bits 1-0), an SME
// acknowledgement (bits 3-2) or intermediate notifications (bit 4).
bool asks_for_receipt(const pdu& p) {
  return (p.registered_delivery & 0x1F) != 0;
}

// Parts of the same concatenated message still to come after this one (UDH or SAR TLVs).
uint8_t parts_after(const pdu& p) {
  if ((p.esm_class & codec::esm_class_udhi) != 0) {
    const codec::udh_parse_result r = codec::parse_udh(p.short_message);
    if (r.status == codec::udh_status::ok && r.udh.concat &&
        r.udh.concat->seq < r.udh.concat->total)
      return static_cast<uint8_t>(r.udh.concat->total - r.udh.concat->seq);
  }
  const auto total = p.tlvs.find(codec::tag::sar_total_segments);
  const auto seq = p.tlvs.find(codec::tag::sar_segment_seqnum);
  if (total && seq && seq->as_uint() < total->as_uint() && total->as_uint() <= 255)
    return static_cast<uint8_t>(total->as_uint() - seq->as_uint());
  return 0;
}

// Statuses after which a held message is worth offering again; any other answer is the ESME's
// final word on it.
bool temporary(command_status st) {
  return st == S::ESME_RX_T_APPN || st == S::ESME_RTHROTTLED || st == S::ESME_RMSGQFUL;
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
  uint64_t last_traffic_ms = 0;  // last PDU in either direction other than enquire_link
  struct {
    bool active = false;  // the bind is decided; its answer waits until answer_at_ms
    bool ok = false;
    command_id request = command_id::bind_transceiver;
    uint32_t seq = 0;
    uint32_t tenant = 0;
    uint8_t version = 0;
    uint64_t answer_at_ms = 0;
  } pending_bind;
  uint64_t unbind_sent_ms = 0;
  bool unbind_answer_pending = false;  // the ESME unbound: unbind_resp once all is answered
  uint32_t unbind_seq = 0;
  bool enquire_pending = false;
  bool counted_bind = false;
  bool receiver = false;               // counted in receivers_ / shared receivers
  upstream_link* last_link = nullptr;  // the bind this session's previous request went to
  // Back-pressure: the session is not read; `stall` holds its octets from the request that
  // found no room onwards, offered again each ms (retry_stalled).
  bool stalled = false;
  bool listed = false;         // in stalled_
  bool stall_now = false;      // set by esme_submit: stop framing, keep this frame and the rest
  uint32_t counted_ahead = 0;  // requests at the front of `stall` already counted as submitted
  uint64_t bounced_ms = 0;     // when a request last came back from a full queue elsewhere
  std::vector<std::byte> stall;
  // deliver_sm / data_sm the router sent this session and awaits the answer to (receivers).
  struct outbound {
    uint32_t seq = 0;  // 0: free
    uint64_t deadline_ms = 0;
    return_to ret;
    uint64_t hold_until_ms = 0;    // a held message: kept until then
    std::vector<std::byte> frame;  // a held message: its bytes, offered again if it fails
  };
  std::vector<outbound> out;  // capacity: power of two >= 2 * deliver_window; slot = seq & mask
  uint32_t out_mask = 0;
  uint32_t out_count = 0;
  uint64_t out_next_expiry_ms = UINT64_MAX;
  explicit esme_session(uint32_t max_len) : framer(max_len) {}

  uint32_t take_seq() {
    for (;;) {
      const uint32_t s = next_seq;
      next_seq = next_seq >= kMaxSequence ? 1 : next_seq + 1;
      if (out.empty() || out[s & out_mask].seq == 0) return s;
    }
  }
};

struct router_worker::upstream_link {
  struct inflight {
    uint32_t up_seq = 0;  // 0: free
    uint32_t esme_seq = 0;
    conn_id esme = invalid_conn;
    uint64_t deadline_ms = 0;
    command_id id = command_id::submit_sm;
    uint32_t origin = 0;  // worker of the ESME session
    uint32_t tenant = 0;
    uint64_t start_us = 0;  // when it was sent upstream
    bool note = true;       // note its message id (correlation)
  };
  uint32_t upstream = 0;
  const upstream_bind_def* def = nullptr;
  conn_id conn = invalid_conn;
  link_state state = link_state::down;
  codec::stream_framer framer;
  uint32_t next_seq = 1;
  uint32_t outstanding = 0;
  std::vector<inflight> table;  // capacity: power of two >= 2 * window; slot = seq & mask
  // A gated bind (TDMA plan with a rate): its slot gate, and the gate's item of each request
  // in flight (same index as table), kept until answered.
  std::unique_ptr<slot_gate> gate;
  std::vector<slot_gate::item> gate_items;
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
  bool counted_failed = false;  // in shared failed_links
  bool idle_closing = false;    // unbinding because it was idle: goes idle, not down
  uint64_t idle_since_ms = 0;
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
      mesh_(mesh),
      secret_(shared != nullptr ? shared->secret : correlation_secret{}),
      correlation_(correlation_shard_capacity(snap_->correlation.capacity, workers_),
                   snap_->correlation.ttl_ms, 0x9E3779B97F4A7C15ULL ^ index_) {
  cells_.resize(handoff_cells(snap_->max_command_length));
  // Room for the tenants and upstreams a published snapshot may add while running.
  tenant_capacity_ = snap_->tenants.size() + shared_state::tenant_headroom;
  upstream_capacity_ = snap_->upstreams.size() + shared_state::upstream_headroom;
  if (shared_ != nullptr) {
    tenant_capacity_ = std::min(tenant_capacity_, shared_->binds_per_tenant.size());
    upstream_capacity_ = std::min(upstream_capacity_, shared_->failed_links.size());
  }
  tenant_stats_ = std::make_unique<tenant_counters[]>(tenant_capacity_);
  upstream_stats_ = std::make_unique<upstream_counters[]>(upstream_capacity_);
  tenant_count_.store(snap_->tenants.size(), std::memory_order_relaxed);
  upstream_count_.store(snap_->upstreams.size(), std::memory_order_relaxed);
  receivers_.resize(snap_->tenants.size());
  next_receiver_.resize(snap_->tenants.size());
  pending_notes_.reserve(256);
  holds_.resize(snap_->tenants.size());
  // A message operation quotes the id as the submit_sm_resp gave it; it is looked up in every
  // radix an upstream issues ids in, auto-detection first.
  op_radices_.push_back(codec::id_radix::auto_detect);
  for (const upstream_def& u : snap_->upstreams) {
    if (std::find(op_radices_.begin(), op_radices_.end(), u.submit_id_radix) == op_radices_.end())
      op_radices_.push_back(u.submit_id_radix);
  }
  if (shared_ != nullptr && index_ < shared_->workers.size())
    shared_->workers[index_].store(this, std::memory_order_release);
  inbox_.resize(cells_.size() * sizeof(handoff_cell));
  t_.set_handler(this);
  links_by_upstream_.resize(snap_->upstreams.size());
  for (const upstream_def& u : snap_->upstreams) add_links(u);
  if (shared_ != nullptr) seen_generation_ = shared_->generation.load(std::memory_order_acquire);
}

void router_worker::add_links(const upstream_def& u, size_t from_bind) {
  for (size_t b = from_bind; b < u.binds.size(); ++b) {
    // Bind b of every upstream belongs to worker b % workers.
    if (b % workers_ != index_) continue;
    auto link = std::make_unique<upstream_link>(snap_->max_command_length);
    link->upstream = u.index;
    link->def = &u.binds[b];
    uint32_t cap = 2;
    while (cap < 2 * std::max<uint32_t>(link->def->window, 1)) cap <<= 1;
    link->table.resize(cap);
    link->mask = cap - 1;
    if (u.on_demand) link->state = link_state::idle;
    if (link->def->plan.rate_per_s != 0) make_gate(*link);
    links_by_upstream_[u.index].push_back(link.get());
    links_.push_back(std::move(link));
  }
}

void router_worker::make_gate(upstream_link& l) {
  l.gate = std::make_unique<slot_gate>(l.def->plan, snap_->tenants.size());
  l.gate_items.resize(l.table.size());
  gated_links_.push_back(&l);
}

router_worker::~router_worker() {
  if (shared_ != nullptr && index_ < shared_->workers.size())
    shared_->workers[index_].store(nullptr, std::memory_order_release);
}

int router_worker::start(uint64_t now_ms) {
  now_ms_ = now_ms;
  for (const endpoint& ep : snap_->listeners) {
    const int r = t_.listen(ep);
    if (r < 0) return r;
  }
  for (auto& l : links_) {
    if (l->state == link_state::down) connect_upstream(*l);
  }
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

int router_worker::run_once(uint64_t now_ms, int timeout_us, uint64_t now_us) {
  const settle_on_return settled{*this};
  now_ms_ = now_ms;
  if (now_us == 0) {
    now_us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now().time_since_epoch())
                                       .count());
  }
  // The previous turn lasted until now: busy if it handled anything, else idle (polling or
  // asleep). busy_us / (busy_us + idle_us) over an interval is the worker's load.
  if (now_us_ != 0 && now_us > now_us_)
    (last_turn_busy_ ? stats_.busy_us : stats_.idle_us) += now_us - now_us_;
  now_us_ = now_us;
  int work = 0;
  if (mesh_ != nullptr) {
    work += drain_rings();
    // Work is waiting in a ring or behind a full one: do not sleep in the transport.
    if (!deferred_.empty() || work > 0) timeout_us = 0;
  }
  if (!gated_links_.empty()) {
    if (const int sent = run_gates(); sent > 0) {
      work += sent;
      // Out now, at the slot's edge, not at the end of the turn after whatever else it does.
      settle_all();
      t_.flush();
    }
    // Sleep no longer than until the next slot with something to send.
    const uint64_t now_ns = now_us * 1000;
    for (const upstream_link* l : gated_links_) {
      if (l->gate->backlog() == 0) continue;
      const uint64_t due = l->gate->next_slot_ns();
      const auto wait_us = static_cast<int>(due > now_ns ? (due - now_ns) / 1000 : 0);
      timeout_us = std::min(timeout_us, wait_us);
    }
  }
  settle_all();
  work += t_.poll(timeout_us);
  if (!pending_notes_.empty()) flush_notes();
  if (!stalled_.empty() && now_ms != stall_retry_ms_) retry_stalled();
  if (now_ms >= next_tick_ms_) tick(now_ms);
  last_turn_busy_ = work > 0;
  return work;
}

// ---------------------------------------------------------------------------------------------
// Output helpers

bool router_worker::send_header_only(conn_id c, command_id id, command_status status,
                                     uint32_t seq) {
  const std::span<std::byte> out = tx(c).reserve(c, codec::header_size);
  if (out.size() < codec::header_size) return false;
  codec::write_header_only(out.first<codec::header_size>(), id, status, seq);
  t_.commit(c, codec::header_size);
  return true;
}

bool router_worker::send_pdu(conn_id c, const pdu& p) {
  std::array<std::byte, 512> buf;
  const codec::encode_result r = codec::encode(p, buf);
  if (!r.ok(buf.size())) return false;
  return tx(c).send(c, bytes_view(buf.data(), r.needed));
}

bool router_worker::relay(conn_id c, bytes_view frame, uint32_t seq) {
  const size_t n = frame.size();
  out_run* r = nullptr;
  for (uint32_t i = 0; i < open_runs_; ++i) {
    if (runs_[i].c == c) {
      r = &runs_[i];
      break;
    }
  }
  if (r == nullptr || static_cast<size_t>(r->end - r->at) < n) {
    if (r != nullptr) {
      t_.commit(c, static_cast<size_t>(r->at - r->begin));  // full: this one goes on in a new run
    } else if (open_runs_ < kOpenRuns) {
      r = &runs_[open_runs_++];
    } else {
      r = &runs_[next_evict_];
      next_evict_ = (next_evict_ + 1) % kOpenRuns;
      t_.commit(r->c, static_cast<size_t>(r->at - r->begin));
    }
    const std::span<std::byte> out = t_.reserve_run(c, n, kRunBytes);
    if (out.size() < n) {
      *r = runs_[--open_runs_];  // the queue refused: no run for c
      runs_[open_runs_] = {};
      return false;
    }
    *r = {c, out.data(), out.data(), out.data() + out.size()};
  }
  std::memcpy(r->at, frame.data(), n);
  codec::store_be32(r->at + 12, seq);  // the sequence number of the receiving side
  r->at += n;
  return true;
}

void router_worker::settle(conn_id c) noexcept {
  for (uint32_t i = 0; i < open_runs_; ++i) {
    if (runs_[i].c != c) continue;
    t_.commit(c, static_cast<size_t>(runs_[i].at - runs_[i].begin));
    runs_[i] = runs_[--open_runs_];
    runs_[open_runs_] = {};
    return;
  }
}

void router_worker::settle_all() noexcept {
  for (uint32_t i = 0; i < open_runs_; ++i) {
    t_.commit(runs_[i].c, static_cast<size_t>(runs_[i].at - runs_[i].begin));
    runs_[i] = {};
  }
  open_runs_ = 0;
}

// ---------------------------------------------------------------------------------------------
// Transport events

void router_worker::on_accept(conn_id c, uint32_t, const peer_address& peer) {
  if (shutting_down_) {
    tx(c).close(c, true);
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
  s.opened_ms = s.last_rx_ms = s.last_traffic_ms = now_ms_;
  slots_[i] = std::move(slot);
  ++stats_.esme_accepted;
}

void router_worker::on_connect(conn_id c, int err) {
  const settle_on_return settled{*this};
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
  if (!send_pdu(c, b)) tx(c).close(c, true);
}

void router_worker::on_data(conn_id c, bytes_view data) {
  const settle_on_return settled{*this};
  session_slot* slot = slot_of(c);
  if (slot == nullptr) return;
  if (slot->esme) {
    esme_session& s = *slot->esme;
    s.last_rx_ms = now_ms_;
    if (s.stalled) {
      // Read before the pause took effect (a TLS read decrypts several records at once).
      if (s.stall.size() + data.size() > kStallLimitBytes) {
        ++stats_.backpressure_overflow;
        close_esme(s, true);
        return;
      }
      s.stall.insert(s.stall.end(), data.begin(), data.end());
      return;
    }
    (void)esme_input(s, data);
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
      tx(c).close(c, false);
      return;
    }
  }
}

bool router_worker::esme_input(esme_session& s, bytes_view data) {
  const conn_id c = s.conn;
  while (!data.empty()) {
    const auto r = s.framer.next(data);
    data = data.subspan(r.consumed);
    if (r.st == codec::stream_framer::state::frame) {
      esme_pdu(s, r.frame);
      if (slot_of(c) == nullptr || s.conn == invalid_conn) return false;  // closed meanwhile
      if (s.stall_now) {
        s.stall_now = false;
        stall(s, r.frame, data);
        return true;
      }
    } else if (r.st == codec::stream_framer::state::error) {
      // SMPP 3.4 §2.9: a length we cannot frame: generic_nack, then close.
      ++stats_.generic_nacks;
      (void)send_header_only(c, command_id::generic_nack, r.nack_status, r.sequence_number);
      close_esme(s, false);
      return false;
    }
  }
  s.partial_since_ms =
      s.framer.buffered() == 0 ? 0 : (s.partial_since_ms ? s.partial_since_ms : now_ms_);
  return true;
}

void router_worker::stall(esme_session& s, bytes_view frame, bytes_view rest) {
  // The frame was framed (its octets left the framer); the rest was not framed yet: kept as
  // one stream, framed again when offered again.
  if (!s.stalled) {
    s.stalled = true;
    tx(s.conn).pause_read(s.conn, true);
  }
  if (!s.listed) {
    s.listed = true;
    ++stats_.backpressure_stalls;
    ++stats_.stalled_sessions;
    stalled_.push_back(s.conn);
  }
  const std::byte* const offered = stall_scratch_.data();
  if (s.stall.empty() && !stall_scratch_.empty() && frame.data() == offered &&
      frame.size() + rest.size() == stall_scratch_.size() &&
      (rest.empty() || rest.data() == frame.data() + frame.size())) {
    // A retry that stalled at its first request (the common case while a queue stays full):
    // what it offered is held again as it was, without copying it.
    s.stall.swap(stall_scratch_);
    return;
  }
  s.stall.insert(s.stall.begin(), rest.begin(), rest.end());
  s.stall.insert(s.stall.begin(), frame.begin(), frame.end());
}

void router_worker::retry_stalled() {
  stall_retry_ms_ = now_ms_;
  size_t keep = 0;
  for (size_t i = 0; i < stalled_.size(); ++i) {
    const conn_id c = stalled_[i];
    session_slot* slot = slot_of(c);
    if (slot == nullptr || !slot->esme || !slot->esme->listed) {
      --stats_.stalled_sessions;  // closed meanwhile: nothing is owed to a session gone
      continue;
    }
    esme_session& s = *slot->esme;
    s.last_rx_ms = now_ms_;  // held back by us, not idle
    if (!s.stalled) {
      // Everything it held was handed over again; requests may still come back from a queue
      // elsewhere that is still full: read again only after a quiet millisecond.
      if (now_ms_ <= s.bounced_ms + 1) {
        stalled_[keep++] = c;
        continue;
      }
      --stats_.stalled_sessions;
      s.listed = false;
      tx(c).pause_read(c, false);
      after_answer(s);
      continue;
    }
    stall_scratch_.swap(s.stall);
    s.stall.clear();
    s.stalled = false;
    // esme_input may stall the session again, at the same request or a later one (it stays
    // listed, so stall() does not list it twice).
    const bool alive = esme_input(s, stall_scratch_);
    stall_scratch_.clear();
    if (alive && (s.stalled || now_ms_ <= s.bounced_ms + 1)) {
      stalled_[keep++] = c;
      continue;
    }
    --stats_.stalled_sessions;
    if (!alive) continue;
    s.listed = false;
    tx(c).pause_read(c, false);
    after_answer(s);  // an unbind that waited for the held requests
  }
  stalled_.resize(keep);
}

void router_worker::handoff_bounce(const handoff_header& h, bytes_view frame) {
  session_slot* slot = slot_of(h.esme);
  if (slot == nullptr || !slot->esme) {
    ++stats_.resp_orphaned;  // the ESME left: nothing is owed to it
    return;
  }
  esme_session& s = *slot->esme;
  if (s.outstanding > 0) --s.outstanding;
  ++s.counted_ahead;  // offered again from the front: not counted as submitted twice
  s.bounced_ms = now_ms_;
  stall(s, frame, {});
}

void router_worker::on_writable(conn_id) {}

void router_worker::on_close(conn_id c, int) {
  const settle_on_return settled{*this};
  session_slot* slot = slot_of(c);
  if (slot == nullptr) return;
  if (slot->esme) {
    esme_session& s = *slot->esme;
    if (s.counted_bind && shared_)
      shared_->binds_per_tenant[s.tenant].fetch_sub(1, std::memory_order_relaxed);
    receiver_bound(s, false);
    fail_deliveries(s, false);
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
  receiver_bound(s, false);  // nothing more is delivered to it; on_close settles the rest
  tx(s.conn).close(s.conn, abort);
}

// ---------------------------------------------------------------------------------------------
// ESME side (SMPP 3.4 §2.2, §2.3, §4)

void router_worker::esme_pdu(esme_session& s, bytes_view frame) {
  if (s.state == esme_state::bound && can_submit(s.bind)) {
    // The common submit_sm (no scheduled time, no TLV): its fields are read in place, checked
    // as decode() checks them; anything else takes the full decode below.
    codec::submit_sm_peek k;
    if (codec::peek_submit_sm(frame, k)) {
      pdu& p = peeked_;  // only these fields are ever set: the others keep their defaults
      p.id = command_id::submit_sm;
      p.sequence_number = k.sequence_number;
      p.service_type = k.service_type;
      p.source_addr = k.source_addr;
      p.destination_addr = k.destination_addr;
      p.esm_class = k.esm_class;
      p.registered_delivery = k.registered_delivery;
      p.data_coding = k.data_coding;
      p.short_message = k.short_message;
      s.last_traffic_ms = now_ms_;
      esme_submit(s, frame, p);
      return;
    }
  }
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
  if (p.id != command_id::enquire_link && p.id != command_id::enquire_link_resp)
    s.last_traffic_ms = now_ms_;
  switch (p.id) {
    case command_id::bind_transmitter:
    case command_id::bind_receiver:
    case command_id::bind_transceiver:
      if (s.state != esme_state::open || s.pending_bind.active) {
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
      // SMPP 3.4 §4.2: no new requests from here on; the answers still owed to the ESME are
      // relayed first, then unbind_resp, then the session closes once that is written.
      s.state = esme_state::unbinding;
      receiver_bound(s, false);
      s.unbind_answer_pending = true;
      s.unbind_seq = p.sequence_number;
      after_answer(s);
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
      if (!bound || !can_submit(s.bind)) break;
      esme_message_op(s, frame, p);
      return;
    case command_id::broadcast_sm:
    case command_id::query_broadcast_sm:
    case command_id::cancel_broadcast_sm: {
      if (!bound) break;
      // Cell broadcast (SMPP 5.0 §4.6) is not routed: each gets its own failure status.
      S st = S::ESME_RBCASTFAIL;
      if (p.id == command_id::query_broadcast_sm) st = S::ESME_RBCASTQUERYFAIL;
      if (p.id == command_id::cancel_broadcast_sm) st = S::ESME_RBCASTCANCELFAIL;
      (void)send_header_only(s.conn, codec::response_of(p.id), st, p.sequence_number);
      return;
    }
    case command_id::generic_nack:
    case command_id::deliver_sm_resp:
    case command_id::data_sm_resp:
      esme_deliver_resp(s, codec::peek_header(frame.data()));
      return;
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
  // does not tell which part was wrong. After failures from the same source address or for the
  // same system_id every answer comes later (a growing delay), and after too many the address
  // or system_id is locked out for a while (bind_guard).
  const router_snapshot& snap = *snap_;
  bind_guard* guard = shared_ != nullptr ? shared_->guard.get() : nullptr;
  const bind_guard::verdict v =
      guard != nullptr ? guard->check(s.peer, p.system_id, now_ms_) : bind_guard::verdict{};
  const auto it = snap.tenant_by_system_id.find(std::string(p.system_id));
  bool ok = !v.locked && it != snap.tenant_by_system_id.end();
  const tenant_def* tenant = ok ? &snap.tenants[it->second] : nullptr;
  if (ok) {
    ok = snap.verify_password && snap.verify_password(tenant->password_hash, p.password);
  } else if (!v.locked && snap.verify_password && !snap.dummy_password_hash.empty()) {
    // An unknown system_id costs the same hash verification as a known one, so the time of
    // the answer does not tell which system_ids exist.
    (void)snap.verify_password(snap.dummy_password_hash, p.password);
  }
  if (ok && !tenant->allowed_networks.empty()) {
    ok = std::any_of(tenant->allowed_networks.begin(), tenant->allowed_networks.end(),
                     [&](const cidr& n) { return n.contains(s.peer); });
  }
  if (guard != nullptr && !v.locked) {
    if (ok) {
      guard->succeeded(s.peer, p.system_id);
    } else {
      guard->failed(s.peer, p.system_id, now_ms_);
    }
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
  s.pending_bind.active = true;
  s.pending_bind.ok = ok;
  s.pending_bind.request = p.id;
  s.pending_bind.seq = p.sequence_number;
  s.pending_bind.tenant = ok ? tenant->index : 0;
  s.pending_bind.version = p.interface_version;
  s.pending_bind.answer_at_ms = now_ms_ + v.delay_ms;
  if (v.delay_ms == 0) answer_bind(s);
}

void router_worker::answer_bind(esme_session& s) {
  const auto& b = s.pending_bind;
  s.pending_bind.active = false;
  pdu r;
  r.id = codec::response_of(b.request);
  r.sequence_number = b.seq;
  r.system_id = snap_->system_id;
  std::array<std::byte, 8> tlv_buf;
  if (!b.ok) {
    ++stats_.bind_failed;
    r.status = S::ESME_RBINDFAIL;
    r.body_absent = true;
    (void)send_pdu(s.conn, r);
    return;
  }
  if (b.version >= 0x34) {
    // SMPP 3.4 §4.1.2: sc_interface_version tells the ESME which version we speak.
    codec::tlv_writer w(tlv_buf);
    (void)w.add_uint(codec::tag::sc_interface_version, 0x34, 1);
    r.tlvs = w.area();
  }
  const tenant_def& tenant = snap_->tenants[b.tenant];
  s.state = esme_state::bound;
  s.bind = b.request;
  s.tenant = tenant.index;
  s.window = tenant.window;
  s.last_traffic_ms = now_ms_;
  ++stats_.esme_bound;
  (void)send_pdu(s.conn, r);
  if (can_receive(s.bind)) receiver_bound(s, true);
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
    if (l->state != link_state::bound || l->def->retired) continue;
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
  if (bound) {
    ++upstream_stats_[u.upstream].binds_up;
  } else {
    --upstream_stats_[u.upstream].binds_up;
  }
  if (shared_ == nullptr || shared_->bound_links.empty()) return;
  auto& n = shared_->bound_links[u.upstream * workers_ + index_];
  if (bound) {
    n.fetch_add(1, std::memory_order_relaxed);
  } else {
    n.fetch_sub(1, std::memory_order_relaxed);
  }
}

bool router_worker::tenant_queue_full(uint32_t upstream, uint32_t tenant) const noexcept {
  if (shared_ == nullptr || !snap_->tenants[tenant].backpressure) return false;
  const auto* f = shared_->queue_full_flag(upstream, tenant);
  return f != nullptr && f->load(std::memory_order_relaxed) != 0;
}

bool router_worker::backpressure(esme_session& s) {
  if (shutting_down_ || !snap_->tenants[s.tenant].backpressure) return false;
  ++s.counted_ahead;  // counted as submitted now, not when offered again
  s.stall_now = true;
  return true;
}

void router_worker::esme_submit(esme_session& s, bytes_view frame, const pdu& p) {
  if (snap_->tenants[s.tenant].retired) {
    // The tenant was removed at run time: its session is unbound as soon as it is owed
    // nothing; new requests are outside any valid bind (SMPP 3.4 §5.1.3).
    count_reject(s.tenant, S::ESME_RINVBNDSTS);
    (void)send_header_only(s.conn, codec::response_of(p.id), S::ESME_RINVBNDSTS, p.sequence_number);
    return;
  }
  if (s.counted_ahead > 0) {
    --s.counted_ahead;  // held back by back-pressure and offered again: counted already
  } else {
    ++stats_.submit_received;
    ++tenant_stats_[s.tenant].submitted;
  }
  const command_id resp = codec::response_of(p.id);
  if (s.outstanding >= s.window || shutting_down_) {
    ++stats_.throttled;
    count_reject(s.tenant, S::ESME_RTHROTTLED);
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
    count_reject(s.tenant, S::ESME_RINVDSTADR);
    (void)send_header_only(s.conn, resp, S::ESME_RINVDSTADR, p.sequence_number);
    return;
  }
  bool any_busy = false;
  upstream_link* u = nullptr;
  for (uint32_t up : r->upstreams) {
    // Failover order; within an upstream our own binds first, then another worker's. The bind
    // the session used last is tried first: no search, and its state is already in cache.
    if (upstream_link* l = s.last_link; l != nullptr && l->upstream == up &&
                                        l->state == link_state::bound && !l->def->retired &&
                                        l->outstanding < l->def->window) {
      u = l;
      break;
    }
    u = pick_local(up, s.conn, any_busy);
    if (u != nullptr) {
      s.last_link = u;
      break;
    }
    if (tenant_queue_full(up, s.tenant)) {
      any_busy = true;  // its queue at the bind's worker is full: held here (back-pressure)
      break;
    }
    if (hand_off(up, s, frame, p, any_busy)) {
      ++s.outstanding;
      ++stats_.handed_off;
      return;
    }
    if (snap_->upstreams[up].on_demand && upstream_reachable(up)) {
      // Its binds are asleep (or on their way up): the request waits for them.
      if (park(up, s, frame, p)) {
        ++s.outstanding;
        return;
      }
      any_busy = true;
      break;
    }
  }
  if (u == nullptr) {
    if (any_busy && backpressure(s)) return;
    // Every bind of the route is busy (back-pressure) or down (temporary failure).
    const S st = any_busy ? S::ESME_RTHROTTLED : upstream_failure_status;
    ++(any_busy ? stats_.throttled : stats_.upstream_unavailable);
    count_reject(s.tenant, st);
    (void)send_header_only(s.conn, resp, st, p.sequence_number);
    return;
  }
  handoff_header h;
  h.origin = index_;
  h.esme = s.conn;
  h.esme_seq = p.sequence_number;
  h.command_id = static_cast<uint32_t>(p.id);
  h.tenant = s.tenant;
  h.note = snap_->correlation.note_all || asks_for_receipt(p) ? 1 : 0;
  if (u->gate) {
    if (!u->gate->enqueue(h, frame, parts_after(p))) {
      if (backpressure(s)) return;
      // The tenant's queue at this bind is full (SMPP 3.4 §5.1.3: retry later).
      ++stats_.throttled;
      count_reject(s.tenant, S::ESME_RTHROTTLED);
      (void)send_header_only(s.conn, resp, S::ESME_RTHROTTLED, p.sequence_number);
      return;
    }
    ++tenant_stats_[s.tenant].queued;
    ++s.outstanding;
    return;
  }
  if (send_request(*u, frame, h) == 0) {
    ++stats_.throttled;
    count_reject(s.tenant, S::ESME_RTHROTTLED);
    (void)send_header_only(s.conn, resp, S::ESME_RTHROTTLED, p.sequence_number);
    return;
  }
  ++s.outstanding;
}

uint32_t router_worker::send_request(upstream_link& u, bytes_view frame, const handoff_header& h) {
  const uint32_t seq = u.take_seq();
  if (!relay(u.conn, frame, seq)) return 0;
  auto& e = u.table[seq & u.mask];
  e.up_seq = seq;
  e.esme_seq = h.esme_seq;
  e.esme = h.esme;
  e.deadline_ms = now_ms_ + snap_->timers.response_ms;
  u.next_expiry_ms = std::min(u.next_expiry_ms, e.deadline_ms);
  e.id = static_cast<command_id>(h.command_id);
  e.origin = h.origin;
  e.tenant = h.tenant;
  e.start_us = now_us_;
  e.note = h.note != 0;
  ++upstream_stats_[u.upstream].forwarded;
  ++u.outstanding;
  u.last_tx_ms = now_ms_;
  ++stats_.submit_forwarded;
  return seq;
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
  set_failed(u, false);
  u.backoff_ms = 0;
  ++stats_.upstream_binds_up;
  if (!parked_.empty()) flush_parked();
}

void router_worker::upstream_down(upstream_link& u) {
  fail_inflight(u, upstream_failure_status, false);
  fail_gate(u, upstream_failure_status);
  set_bound(u, false);
  u.state = link_state::down;
  u.enquire_pending = false;
  if (u.conn != invalid_conn) {
    // Forget the connection first, so its on_close finds no session and changes nothing.
    const conn_id c = u.conn;
    slots_[slot_index(c)].reset();
    u.conn = invalid_conn;
    tx(c).close(c, true);
  }
  if (u.idle_closing) {
    // Unbound for idleness: it sleeps until a request wants it again.
    u.idle_closing = false;
    u.state = link_state::idle;
    u.idle_since_ms = now_ms_;
    return;
  }
  set_failed(u, true);
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
      after_answer(s);
    }
    if (only_expired) {
      ++stats_.upstream_timeouts;
    } else {
      ++stats_.upstream_failed_inflight;
    }
    if (e.id == command_id::submit_sm || e.id == command_id::data_sm ||
        e.id == command_id::submit_multi) {
      count_answer(e.tenant, u.upstream, static_cast<uint32_t>(status), e.start_us);
    }
    e.up_seq = 0;
    --u.outstanding;
    if (u.gate) {
      slot_gate::item& it = u.gate_items[static_cast<size_t>(&e - u.table.data())];
      u.gate->release(it);
      it.cell = slot_gate::no_cell;
    }
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
    case command_id::query_sm_resp:
    case command_id::cancel_sm_resp:
    case command_id::replace_sm_resp:
    case command_id::generic_nack: {
      auto& e = u.table[h.sequence_number & u.mask];
      if (e.up_seq != h.sequence_number || h.sequence_number == 0) {
        ++stats_.resp_orphaned;  // answered after its timeout, or never ours
        return;
      }
      e.up_seq = 0;
      --u.outstanding;
      if (u.gate) {
        slot_gate::item& it = u.gate_items[h.sequence_number & u.mask];
        const auto st = static_cast<command_status>(h.command_status);
        if (st == S::ESME_RTHROTTLED || st == S::ESME_RMSGQFUL) {
          // The SMSC is slower than its contract: the gate slows down and sends it again;
          // the ESME sees nothing of it.
          ++tenant_stats_[it.h.tenant].queued;
          ++stats_.gate_requeued;
          u.gate->requeue_front(it);
          it.cell = slot_gate::no_cell;
          return;
        }
        if (st == S::ESME_ROK) u.gate->answered_ok();
        u.gate->release(it);
        it.cell = slot_gate::no_cell;
      }
      if (e.id == command_id::submit_sm || e.id == command_id::data_sm ||
          e.id == command_id::submit_multi) {
        count_answer(e.tenant, u.upstream, h.command_status != 0 ? h.command_status : 0,
                     e.start_us);
      }
      if (h.command_status == 0 && e.note &&
          (id == command_id::submit_sm_resp || id == command_id::data_sm_resp ||
           id == command_id::submit_multi_resp)) {
        // The id its receipts and the ESME's message operations will quote.
        note_message_id(u.upstream, e.tenant, frame);
      }
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
        after_answer(s);
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
      tx(u.conn).close(u.conn, false);
      return;
    case command_id::unbind_resp:
      tx(u.conn).close(u.conn, false);
      return;
    case command_id::deliver_sm:
    case command_id::data_sm:
      upstream_deliver(u, frame);
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
  const settle_on_return settled{*this};
  now_ms_ = now_ms;
  next_tick_ms_ = now_ms + kTickMs;
  // A snapshot published by the control plane is taken over first, before anything below holds
  // a reference into the current one (the old one may be freed by the adoption).
  if (shared_ != nullptr &&
      shared_->generation.load(std::memory_order_acquire) != seen_generation_) {
    adopt_published();
  }
  const session_timers& tm = snap_->timers;
  for (auto& slot : slots_) {
    if (!slot || !slot->esme) continue;
    esme_session& s = *slot->esme;
    if (s.conn == invalid_conn) continue;
    if (s.pending_bind.active) {
      if (now_ms >= s.pending_bind.answer_at_ms) answer_bind(s);
      continue;
    }
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
      (void)send_header_only(s.conn, command_id::enquire_link, S::ESME_ROK, s.take_seq());
    }
    const bool retired = snap_->tenants[s.tenant].retired;
    if (s.state == esme_state::bound &&
        ((retired && s.outstanding == 0 && !s.listed && s.out_count == 0) ||
         (tm.esme_idle_ms != 0 && now_ms - s.last_traffic_ms >= tm.esme_idle_ms))) {
      // SMPP 3.4 §4.2: an idle session, or one of a tenant removed at run time once it has
      // every answer it is owed, is unbound; it closes on the unbind_resp.
      ++(retired ? stats_.retired_unbinds : stats_.esme_idle_unbinds);
      s.state = esme_state::unbinding;
      s.unbind_sent_ms = now_ms;
      receiver_bound(s, false);
      (void)send_header_only(s.conn, command_id::unbind, S::ESME_ROK, s.take_seq());
    } else if (s.state == esme_state::unbinding && s.unbind_sent_ms != 0 && !shutting_down_ &&
               now_ms - s.unbind_sent_ms >= tm.response_ms) {
      close_esme(s, true);  // no unbind_resp
      continue;
    }
    fail_deliveries(s, true);
  }
  if (!parked_.empty()) flush_parked();
  drain_holds();
  (void)correlation_.expire(now_ms, 64);
  log_losses();
  for (auto& lp : links_) {
    upstream_link& u = *lp;
    switch (u.state) {
      case link_state::idle: {
        const uint64_t wanted = shared_ != nullptr && u.upstream < shared_->wanted_ms.size()
                                    ? shared_->wanted_ms[u.upstream].load(std::memory_order_relaxed)
                                    : 0;
        if (!shutting_down_ && !u.def->retired && wanted > u.idle_since_ms) connect_upstream(u);
        break;
      }
      case link_state::down:
        if (u.def->retired) {
          // Removed while down: what waits in its gate cannot go out on it (temporary error:
          // the ESME retries on the routes of the new configuration).
          fail_gate(u, upstream_failure_status);
          break;
        }
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
        if (u.def->retired && u.outstanding == 0 && (!u.gate || u.gate->backlog() == 0)) {
          // Removed at run time, and everything it held is sent and answered: it unbinds and
          // stays closed (SMPP 3.4 §4.2).
          ++stats_.retired_unbinds;
          unbind_to_idle(u);
          break;
        }
        if (const upstream_def& def = snap_->upstreams[u.upstream];
            def.on_demand && !shutting_down_ && u.outstanding == 0 &&
            now_ms - u.last_tx_ms >= def.idle_unbind_ms) {
          // SMPP 3.4 §4.2: an on-demand bind nobody used for idle_unbind_ms unbinds.
          bool waiting = false;
          for (const auto& pr : parked_) waiting = waiting || pr.h.upstream == u.upstream;
          if (!waiting) {
            ++stats_.idle_unbinds;
            unbind_to_idle(u);
          }
        }
        break;
      case link_state::unbinding:
        if (u.conn != invalid_conn && now_ms - u.last_tx_ms >= tm.response_ms) upstream_down(u);
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

void router_worker::unbind_to_idle(upstream_link& u) {
  // SMPP 3.4 §4.2: unbind; on the unbind_resp the link goes idle (not down: no reconnect).
  u.idle_closing = true;
  u.state = link_state::unbinding;
  set_bound(u, false);
  u.last_tx_ms = now_ms_;
  (void)send_header_only(u.conn, command_id::unbind, S::ESME_ROK, u.take_seq());
}

void router_worker::begin_shutdown(uint64_t now_ms) {
  const settle_on_return settled{*this};
  now_ms_ = now_ms;
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_deadline_ms_ = now_ms + snap_->timers.shutdown_ms;
  // Requests still waiting for a slot would outlast the shutdown: the ESMEs retry them later.
  for (upstream_link* l : gated_links_) fail_gate(*l, S::ESME_RTHROTTLED);
  // SMPP 3.4 §4.2: unbind every bound ESME; answers still outstanding are relayed meanwhile.
  for (auto& slot : slots_) {
    if (!slot || !slot->esme) continue;
    esme_session& s = *slot->esme;
    if (s.state == esme_state::bound) {
      s.state = esme_state::unbinding;
      (void)send_header_only(s.conn, command_id::unbind, S::ESME_ROK, s.take_seq());
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
  handoff_header h;
  h.kind = handoff_header::request;
  h.origin = index_;
  h.esme = s.conn;
  h.esme_seq = p.sequence_number;
  h.command_id = static_cast<uint32_t>(p.id);
  h.tenant = s.tenant;
  h.note = snap_->correlation.note_all || asks_for_receipt(p) ? 1 : 0;
  return hand_off_request(upstream, h, frame, any_busy);
}

bool router_worker::hand_off_request(uint32_t upstream, const handoff_header& from,
                                     bytes_view frame, bool& any_busy) {
  if (mesh_ == nullptr || shared_ == nullptr || shared_->bound_links.empty()) return false;
  handoff_header h = from;
  h.kind = handoff_header::request;
  h.pdu_len = static_cast<uint32_t>(frame.size());
  h.upstream = upstream;
  for (uint32_t k = 0; k < workers_; ++k) {
    const uint32_t w = (rr_worker_ + k) % workers_;
    if (w == index_) continue;
    if (shared_->bound_links[upstream * workers_ + w].load(std::memory_order_relaxed) == 0)
      continue;
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
  if (origin == index_) {
    handoff_answer(h, frame);  // a message operation answered on the ESME's own worker
    return;
  }
  push_or_defer(origin, h, frame);
}

void router_worker::push_or_defer(uint32_t to, const handoff_header& from, bytes_view payload) {
  handoff_header h = from;
  h.pdu_len = static_cast<uint32_t>(payload.size());
  if (deferred_.empty() && push_message(to, h, payload)) return;
  // The ring is full: keep the message (bounded by the requests in flight, themselves bounded
  // by the windows) and retry on the next turn. It is never dropped.
  ++stats_.answers_deferred;
  const size_t n = handoff_cells(payload.size());
  deferred d{to, std::vector<handoff_cell>(n)};
  auto* raw = reinterpret_cast<std::byte*>(d.cells.data());
  std::memcpy(raw, &h, sizeof h);
  if (!payload.empty()) std::memcpy(raw + sizeof h, payload.data(), payload.size());
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
      switch (h.kind) {
        case handoff_header::request:
          handoff_request(h, frame);
          break;
        case handoff_header::answer:
          handoff_answer(h, frame);
          break;
        case handoff_header::correlate:
          correlate(h.upstream, h.tenant,
                    std::string_view(reinterpret_cast<const char*>(frame.data()), frame.size()));
          break;
        case handoff_header::receipt: {
          pdu p;
          if (!codec::decode(frame, p)) {
            route_receipt(h.upstream, receipt_message_id(p),
                          {h.origin, h.esme, h.esme_seq, static_cast<command_id>(h.command_id)},
                          frame);
          }
          break;
        }
        case handoff_header::deliver: {
          bool busy = false;
          const return_to ret{h.origin, h.esme, h.esme_seq, static_cast<command_id>(h.command_id)};
          const uint64_t until = now_ms_ + h.hold_ms;
          if (!deliver_local(h.tenant, frame, ret, until, busy)) {
            // Its receivers went away or are full meanwhile.
            hold(h.tenant, frame, ret, until, busy ? S::ESME_RTHROTTLED : S::ESME_RX_T_APPN);
          }
          break;
        }
        case handoff_header::bounce:
          handoff_bounce(h, frame);
          break;
        case handoff_header::deliver_answer:
          answer_upstream({index_, h.esme, h.esme_seq, static_cast<command_id>(h.command_id)},
                          static_cast<command_status>(h.status));
          break;
        case handoff_header::message_op: {
          pdu p;
          if (!codec::decode(frame, p)) message_op(h, p.message_id, frame);
          break;
        }
        default:
          break;
      }
    }
  }
  return handled;
}

void router_worker::handoff_request(const handoff_header& h, bytes_view frame) {
  ++stats_.handoff_received;
  bool any_busy = false;
  if (!shutting_down_ && forward_local(h.upstream, h, frame, any_busy)) return;
  if (any_busy && !shutting_down_ && h.tenant < snap_->tenants.size() &&
      snap_->tenants[h.tenant].backpressure) {
    // No room here for a tenant with back-pressure: the ESME's worker keeps it and stops
    // reading that session (SMPP stays silent; TCP holds the ESME back).
    ++stats_.backpressure_bounced;
    if (shared_ != nullptr) {
      if (auto* f = shared_->queue_full_flag(h.upstream, h.tenant)) {
        f->store(1, std::memory_order_relaxed);
      }
    }
    handoff_header b = h;
    b.kind = handoff_header::bounce;
    push_or_defer(h.origin, b, frame);
    return;
  }
  ++(any_busy ? stats_.throttled : stats_.upstream_unavailable);
  count_reject(h.tenant, any_busy ? S::ESME_RTHROTTLED : upstream_failure_status);
  answer_origin(h.origin, h.esme, h.esme_seq, static_cast<command_id>(h.command_id),
                any_busy ? S::ESME_RTHROTTLED : upstream_failure_status, {});
}

bool router_worker::forward_local(uint32_t upstream, const handoff_header& h, bytes_view frame,
                                  bool& any_busy) {
  upstream_link* u =
      upstream < links_by_upstream_.size() ? pick_local(upstream, h.esme, any_busy) : nullptr;
  if (u == nullptr) return false;
  if (u->gate) {
    pdu p;
    const uint8_t parts = codec::decode(frame, p) ? 0 : parts_after(p);
    if (!u->gate->enqueue(h, frame, parts)) {
      any_busy = true;
      return false;
    }
    ++tenant_stats_[h.tenant].queued;
    return true;
  }
  if (send_request(*u, frame, h) == 0) {
    any_busy = true;
    return false;
  }
  return true;
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
    return;
  }
  after_answer(s);
}

void router_worker::after_answer(esme_session& s) {
  if (!s.unbind_answer_pending || s.outstanding > 0) return;
  s.unbind_answer_pending = false;
  (void)send_header_only(s.conn, command_id::unbind_resp, S::ESME_ROK, s.unbind_seq);
  close_esme(s, false);
}

}  // namespace smpp::dataplane

namespace smpp::dataplane {

// ---------------------------------------------------------------------------------------------
// Return path: correlation, receipts, MO messages, the hold queue, message operations

void router_worker::note_message_id(uint32_t upstream, uint32_t tenant, bytes_view resp_frame) {
  const std::string_view id = resp_message_id(resp_frame);
  if (!id.empty()) correlate(upstream, tenant, id);
}

void router_worker::correlate(uint32_t upstream, uint32_t tenant, std::string_view message_id) {
  if (upstream >= snap_->upstreams.size()) return;
  const correlation_key_result k =
      make_correlation_key(message_id, snap_->upstreams[upstream].submit_id_radix, secret_);
  if (!k.ok()) return;
  const auto owner = static_cast<uint32_t>(workers_ == 1 ? 0 : correlation_owner(k.key, workers_));
  if (owner != index_ && mesh_ != nullptr) {
    handoff_header h;
    h.kind = handoff_header::correlate;
    h.upstream = upstream;
    h.tenant = tenant;
    push_or_defer(
        owner, h,
        bytes_view(reinterpret_cast<const std::byte*>(message_id.data()), message_id.size()));
    return;
  }
  const correlation_value v{static_cast<uint16_t>(upstream), static_cast<uint16_t>(tenant),
                            static_cast<uint32_t>(now_ms_ / 1000)};
  // Inserted at the end of the turn, in a batch whose index slots were prefetched one by one
  // as the answers came in: a 10 M entry table is far beyond the caches.
  correlation_.prefetch(k.key);
  pending_notes_.push_back({k.key, v});
  if (pending_notes_.size() == pending_notes_.capacity()) flush_notes();
}

void router_worker::flush_notes() {
  for (const auto& [key, value] : pending_notes_) {
    const correlation_insert r = correlation_.insert(key, value, now_ms_);
    if (r == correlation_insert::inserted || r == correlation_insert::replaced) {
      ++stats_.correlation_inserts;
    } else {
      ++stats_.correlation_refused;  // full: its receipts will be counted as unmatched
    }
  }
  pending_notes_.clear();
}

void router_worker::upstream_deliver(upstream_link& u, bytes_view frame) {
  pdu p;
  const return_to ret{index_, u.conn, codec::peek_header(frame.data()).sequence_number,
                      static_cast<command_id>(codec::peek_header(frame.data()).command_id)};
  if (const codec::decode_error e = codec::decode(frame, p)) {
    ++stats_.decode_errors;
    (void)send_header_only(u.conn, codec::response_of(ret.id), e.status, ret.seq);
    return;
  }
  if ((p.esm_class & codec::esm_class_type_mask) != 0) {
    // SMPP 3.4 §5.2.12: a delivery receipt, an SME acknowledgement or an intermediate
    // notification, all about a message an ESME submitted: it goes to that ESME's tenant.
    ++stats_.receipts_received;
    ++upstream_stats_[u.upstream].receipts;
    const std::string_view id = receipt_message_id(p);
    if (id.empty()) {
      // Nobody to give it to; refusing it would only make the SMSC send it again.
      ++stats_.receipts_invalid;
      answer_upstream(ret, S::ESME_ROK);
      return;
    }
    route_receipt(u.upstream, id, ret, frame);
    return;
  }
  // A mobile-originated message: its MO route names the tenant.
  ++stats_.mo_received;
  const route_def* r = snap_->mo_routes.lookup(u.upstream, p.destination_addr, {}, {});
  if (r == nullptr || r->upstreams.empty()) {
    ++stats_.mo_unrouted;
    answer_upstream(ret, S::ESME_RINVDSTADR);
    return;
  }
  const uint32_t tenant = r->upstreams[0];
  ++tenant_stats_[tenant].mo;
  ++upstream_stats_[u.upstream].mo;
  deliver_to_tenant(tenant, frame, ret, now_ms_ + snap_->tenants[tenant].hold_ttl_ms);
}

void router_worker::route_receipt(uint32_t upstream, std::string_view message_id,
                                  const return_to& ret, bytes_view frame) {
  const correlation_key_result k =
      upstream < snap_->upstreams.size()
          ? make_correlation_key(message_id, snap_->upstreams[upstream].receipt_id_radix, secret_)
          : correlation_key_result{codec::receipt_error::invalid_id, {}};
  if (!k.ok()) {
    ++stats_.receipts_invalid;
    answer_upstream(ret, S::ESME_ROK);
    return;
  }
  const auto owner = static_cast<uint32_t>(workers_ == 1 ? 0 : correlation_owner(k.key, workers_));
  if (owner != index_ && mesh_ != nullptr) {
    handoff_header h;
    h.kind = handoff_header::receipt;
    h.upstream = upstream;
    h.origin = ret.worker;
    h.esme = ret.conn;
    h.esme_seq = ret.seq;
    h.command_id = static_cast<uint32_t>(ret.id);
    push_or_defer(owner, h, frame);
    return;
  }
  flush_notes();  // a receipt may follow its answer within the same turn
  const std::optional<correlation_value> v =
      correlation_.find(k.key, static_cast<uint16_t>(upstream), now_ms_);
  if (!v || v->tenant >= snap_->tenants.size()) {
    // Submitted before the router started, expired, or never noted (table full): counted,
    // acknowledged, not relayed.
    ++stats_.receipts_unmatched;
    answer_upstream(ret, S::ESME_ROK);
    return;
  }
  ++tenant_stats_[v->tenant].receipts;
  deliver_to_tenant(v->tenant, frame, ret, now_ms_ + snap_->tenants[v->tenant].hold_ttl_ms);
}

void router_worker::deliver_to_tenant(uint32_t tenant, bytes_view frame, const return_to& ret,
                                      uint64_t hold_until_ms) {
  if (ret.conn != invalid_conn && !holds_[tenant].empty()) {
    // Behind the ones already waiting, for busy receivers or for the first receiver to bind.
    const bool receivers = !receivers_[tenant].empty();
    if (receivers) ++stats_.deliver_busy;
    hold(tenant, frame, ret, hold_until_ms, receivers ? S::ESME_RTHROTTLED : S::ESME_RX_T_APPN);
    return;
  }
  bool busy = false;
  if (deliver_local(tenant, frame, ret, hold_until_ms, busy)) return;
  if (mesh_ != nullptr && shared_ != nullptr) {
    for (uint32_t k = 1; k < workers_; ++k) {
      const uint32_t w = (index_ + k) % workers_;
      if (shared_->receivers[tenant * workers_ + w].load(std::memory_order_relaxed) == 0) continue;
      handoff_header h;
      h.kind = handoff_header::deliver;
      h.origin = ret.worker;
      h.esme = ret.conn;
      h.esme_seq = ret.seq;
      h.command_id = static_cast<uint32_t>(ret.id);
      h.tenant = tenant;
      h.hold_ms = static_cast<uint32_t>(
          std::min<uint64_t>(hold_until_ms > now_ms_ ? hold_until_ms - now_ms_ : 0, UINT32_MAX));
      h.pdu_len = static_cast<uint32_t>(frame.size());
      if (push_message(w, h, frame)) return;
      busy = true;
    }
  }
  if (busy) {
    // Receivers are bound but their windows are full: the message waits in the hold queue,
    // which they drain as they answer; when that is full too the SMSC slows down.
    ++stats_.deliver_busy;
    hold(tenant, frame, ret, hold_until_ms, S::ESME_RTHROTTLED);
    return;
  }
  hold(tenant, frame, ret, hold_until_ms, S::ESME_RX_T_APPN);
}

bool router_worker::deliver_local(uint32_t tenant, bytes_view frame, const return_to& ret,
                                  uint64_t hold_until_ms, bool& busy) {
  if (tenant >= receivers_.size()) return false;
  auto& list = receivers_[tenant];
  const size_t n = list.size();
  for (size_t k = 0; k < n; ++k) {
    // Spread over the tenant's receivers in turn.
    const size_t i = (next_receiver_[tenant] + k) % n;
    session_slot* slot = slot_of(list[i]);
    if (slot == nullptr || !slot->esme) continue;
    esme_session& s = *slot->esme;
    if (s.out_count >= snap_->tenants[tenant].deliver_window) {
      busy = true;  // its deliver window is full
      continue;
    }
    const uint32_t seq = s.take_seq();
    if (!relay(s.conn, frame, seq)) {
      busy = true;  // it stopped reading
      continue;
    }
    auto& o = s.out[seq & s.out_mask];
    o.seq = seq;
    o.deadline_ms = now_ms_ + snap_->timers.response_ms;
    o.ret = ret;
    o.hold_until_ms = hold_until_ms;
    if (ret.conn == invalid_conn) {
      o.frame.assign(frame.begin(), frame.end());  // acknowledged upstream already: keep it
    } else {
      o.frame.clear();
    }
    ++s.out_count;
    s.out_next_expiry_ms = std::min(s.out_next_expiry_ms, o.deadline_ms);
    s.last_traffic_ms = now_ms_;
    next_receiver_[tenant] = static_cast<uint32_t>((i + 1) % n);
    ++stats_.delivered;
    return true;
  }
  return false;
}

void router_worker::hold(uint32_t tenant, bytes_view frame, const return_to& ret,
                         uint64_t hold_until_ms, command_status full_status) {
  auto& q = holds_[tenant];
  const tenant_def& t = snap_->tenants[tenant];
  const size_t cap = (t.hold_max + workers_ - 1) / workers_;
  if (ret.conn != invalid_conn) {
    // A new message: taken into custody only within the bound.
    if (q.size() >= cap || hold_until_ms <= now_ms_) {
      ++stats_.hold_full;
      answer_upstream(ret, full_status);  // the SMSC keeps it and retries later
      return;
    }
    answer_upstream(ret, S::ESME_ROK);
  }
  // A message that came back (its delivery failed) was acknowledged upstream long ago and is
  // kept even above the bound: the bound already counted it when it was first held.
  q.push_back(held_message{hold_until_ms, std::vector<std::byte>(frame.begin(), frame.end())});
  ++held_total_;
  ++tenant_stats_[tenant].held;
  ++stats_.held;
}

void router_worker::answer_upstream(const return_to& ret, command_status status) {
  if (ret.conn == invalid_conn) return;
  if (ret.worker != index_) {
    handoff_header h;
    h.kind = handoff_header::deliver_answer;
    h.esme = ret.conn;
    h.esme_seq = ret.seq;
    h.command_id = static_cast<uint32_t>(ret.id);
    h.status = static_cast<uint32_t>(status);
    push_or_defer(ret.worker, h, {});
    return;
  }
  session_slot* slot = slot_of(ret.conn);
  if (slot == nullptr || slot->link == nullptr || slot->link->conn != ret.conn) return;  // gone
  // SMPP 3.4 §4.6.2 / §4.7.2: deliver_sm_resp and data_sm_resp carry an unused, empty
  // message_id; without a body when the status is an error (§3.2).
  pdu r;
  r.id = codec::response_of(ret.id);
  r.status = status;
  r.sequence_number = ret.seq;
  r.body_absent = status != S::ESME_ROK;
  (void)send_pdu(ret.conn, r);
}

void router_worker::esme_deliver_resp(esme_session& s, const codec::pdu_header& h) {
  if (s.out.empty() || h.sequence_number == 0) return;
  auto& o = s.out[h.sequence_number & s.out_mask];
  if (o.seq != h.sequence_number) return;  // not ours, or answered after its timeout
  o.seq = 0;
  --s.out_count;
  const auto status = static_cast<command_status>(h.command_status);
  if (status == S::ESME_ROK) {
    ++stats_.deliver_acked;
  } else {
    ++stats_.deliver_failed;
  }
  if (o.ret.conn != invalid_conn) {
    answer_upstream(o.ret, status);  // the ESME's answer goes to the SMSC as it is
  } else if (status != S::ESME_ROK && temporary(status)) {
    hold(s.tenant, o.frame, {}, o.hold_until_ms, S::ESME_RX_T_APPN);
  }
  o.frame.clear();
  // Its window has room again: messages waiting for the tenant go now, oldest first.
  auto& q = holds_[s.tenant];
  for (int budget = 4; budget > 0 && !q.empty(); --budget) {
    bool busy = false;
    if (q.front().until_ms <= now_ms_) {
      ++stats_.hold_expired;
    } else if (!deliver_local(s.tenant, q.front().frame, {}, q.front().until_ms, busy)) {
      break;
    }
    q.pop_front();
    --held_total_;
    --tenant_stats_[s.tenant].held;
  }
}

void router_worker::fail_deliveries(esme_session& s, bool only_expired) {
  if (s.out_count == 0) {
    s.out_next_expiry_ms = UINT64_MAX;
    return;
  }
  if (only_expired && now_ms_ < s.out_next_expiry_ms) return;
  uint64_t next = UINT64_MAX;
  for (auto& o : s.out) {
    if (o.seq == 0) continue;
    if (only_expired && o.deadline_ms > now_ms_) {
      next = std::min(next, o.deadline_ms);
      continue;
    }
    // No answer in time, or the session is gone: the SMSC is told to try again; a held message
    // goes back to the hold queue.
    ++stats_.deliver_failed;
    o.seq = 0;
    --s.out_count;
    if (o.ret.conn != invalid_conn) {
      answer_upstream(o.ret, S::ESME_RX_T_APPN);
    } else {
      hold(s.tenant, o.frame, {}, o.hold_until_ms, S::ESME_RX_T_APPN);
    }
    o.frame.clear();
  }
  s.out_next_expiry_ms = next;
}

void router_worker::drain_holds() {
  if (held_total_ == 0) return;
  for (uint32_t t = 0; t < holds_.size(); ++t) {
    auto& q = holds_[t];
    while (!q.empty() && q.front().until_ms <= now_ms_) {
      q.pop_front();
      --held_total_;
      --tenant_stats_[t].held;
      ++stats_.hold_expired;
    }
    if (q.empty()) continue;
    bool anywhere = !receivers_[t].empty();
    for (uint32_t w = 0; !anywhere && shared_ != nullptr && mesh_ != nullptr && w < workers_; ++w)
      anywhere = shared_->receivers[t * workers_ + w].load(std::memory_order_relaxed) > 0;
    // A bounded batch per tick, oldest first; what cannot go now waits for the next tick.
    for (int budget = 256; anywhere && budget > 0 && !q.empty(); --budget) {
      held_message m = std::move(q.front());
      q.pop_front();
      --held_total_;
      --tenant_stats_[t].held;
      const size_t before = held_total_;
      deliver_to_tenant(t, m.frame, {}, m.until_ms);
      if (held_total_ > before) break;  // it came straight back: nobody can take it now
    }
  }
}

void router_worker::receiver_bound(esme_session& s, bool bound) {
  if (s.receiver == bound || s.tenant >= receivers_.size()) return;
  s.receiver = bound;
  auto& list = receivers_[s.tenant];
  if (bound) {
    list.push_back(s.conn);
    if (s.out.empty()) {
      const uint32_t cap =
          pow2_at_least(2 * std::max<uint32_t>(snap_->tenants[s.tenant].deliver_window, 1));
      s.out.resize(cap);
      s.out_mask = cap - 1;
    }
  } else {
    list.erase(std::remove(list.begin(), list.end(), s.conn), list.end());
  }
  if (shared_ != nullptr && !shared_->receivers.empty()) {
    auto& n = shared_->receivers[s.tenant * workers_ + index_];
    if (bound) {
      n.fetch_add(1, std::memory_order_relaxed);
    } else {
      n.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

void router_worker::esme_message_op(esme_session& s, bytes_view frame, const pdu& p) {
  if (s.outstanding >= s.window || shutting_down_) {
    ++stats_.throttled;
    (void)send_header_only(s.conn, codec::response_of(p.id), S::ESME_RTHROTTLED, p.sequence_number);
    return;
  }
  ++s.outstanding;  // answered through handoff_answer, like a relayed submit
  handoff_header h;
  h.kind = handoff_header::message_op;
  h.origin = index_;
  h.esme = s.conn;
  h.esme_seq = p.sequence_number;
  h.command_id = static_cast<uint32_t>(p.id);
  h.tenant = s.tenant;
  message_op(h, p.message_id, frame);
}

void router_worker::message_op(const handoff_header& from, std::string_view message_id,
                               bytes_view frame) {
  handoff_header h = from;
  const auto id = static_cast<command_id>(h.command_id);
  for (; h.attempt < op_radices_.size(); ++h.attempt) {
    const correlation_key_result k =
        make_correlation_key(message_id, op_radices_[h.attempt], secret_);
    if (!k.ok()) break;
    const auto owner =
        static_cast<uint32_t>(workers_ == 1 ? 0 : correlation_owner(k.key, workers_));
    if (owner != index_ && mesh_ != nullptr) {
      push_or_defer(owner, h, frame);
      return;
    }
    flush_notes();
    const std::optional<correlation_value> v =
        correlation_.find_for_tenant(k.key, static_cast<uint16_t>(h.tenant), now_ms_);
    if (!v) continue;
    // SMPP 3.4 §4.8-4.10: the operation goes to the SMSC that accepted the message.
    bool any_busy = false;
    if (!shutting_down_ && (forward_local(v->upstream, h, frame, any_busy) ||
                            hand_off_request(v->upstream, h, frame, any_busy))) {
      ++stats_.message_ops;
      return;
    }
    ++(any_busy ? stats_.throttled : stats_.upstream_unavailable);
    answer_origin(h.origin, h.esme, h.esme_seq, id,
                  any_busy ? S::ESME_RTHROTTLED : upstream_failure_status, {});
    return;
  }
  // No upstream accepted a message with this id for this tenant (or its entry expired).
  ++stats_.message_ops_unknown;
  answer_origin(h.origin, h.esme, h.esme_seq, id, S::ESME_RINVMSGID, {});
}

// ---------------------------------------------------------------------------------------------
// Idle behaviour: on-demand upstream binds

void router_worker::set_failed(upstream_link& u, bool failed) noexcept {
  if (u.counted_failed == failed) return;
  u.counted_failed = failed;
  if (shared_ == nullptr || u.upstream >= shared_->failed_links.size()) return;
  if (failed) {
    shared_->failed_links[u.upstream].fetch_add(1, std::memory_order_relaxed);
  } else {
    shared_->failed_links[u.upstream].fetch_sub(1, std::memory_order_relaxed);
  }
}

bool router_worker::upstream_reachable(uint32_t upstream) const noexcept {
  // An on-demand upstream whose binds are asleep or binding counts as reachable; one whose
  // binds failed does not, so its routes fail over to the next upstream.
  if (shared_ != nullptr && upstream < shared_->failed_links.size()) {
    for (uint32_t w = 0; w < workers_ && !shared_->bound_links.empty(); ++w) {
      if (shared_->bound_links[upstream * workers_ + w].load(std::memory_order_relaxed) > 0)
        return true;
    }
    return shared_->failed_links[upstream].load(std::memory_order_relaxed) == 0;
  }
  for (const upstream_link* l : links_by_upstream_[upstream]) {
    if (l->counted_failed) return false;
  }
  return true;
}

bool router_worker::park(uint32_t upstream, const esme_session& s, bytes_view frame, const pdu& p) {
  // Bounded: no more than the ESME windows could have outstanding anyway, and a hard cap.
  constexpr size_t max_parked = 65536;
  if (parked_.size() >= max_parked || shutting_down_) return false;
  parked_request pr;
  pr.h.kind = handoff_header::request;
  pr.h.origin = index_;
  pr.h.upstream = upstream;
  pr.h.esme = s.conn;
  pr.h.esme_seq = p.sequence_number;
  pr.h.command_id = static_cast<uint32_t>(p.id);
  pr.h.tenant = s.tenant;
  pr.h.note = snap_->correlation.note_all || asks_for_receipt(p) ? 1 : 0;
  pr.deadline_ms = now_ms_ + snap_->timers.response_ms;
  pr.frame.assign(frame.begin(), frame.end());
  parked_.push_back(std::move(pr));
  ++stats_.parked;
  // Wake the binds: ours now, the other workers' on their next tick.
  if (shared_ != nullptr && upstream < shared_->wanted_ms.size()) {
    auto& w = shared_->wanted_ms[upstream];
    if (w.load(std::memory_order_relaxed) <= now_ms_)
      w.store(now_ms_ + 1, std::memory_order_relaxed);
  }
  for (upstream_link* l : links_by_upstream_[upstream]) {
    if (l->state == link_state::idle) connect_upstream(*l);
  }
  return true;
}

void router_worker::flush_parked() {
  for (auto it = parked_.begin(); it != parked_.end();) {
    bool any_busy = false;
    const uint32_t up = it->h.upstream;
    if (!shutting_down_ && (forward_local(up, it->h, it->frame, any_busy) ||
                            hand_off_request(up, it->h, it->frame, any_busy))) {
      it = parked_.erase(it);
      continue;
    }
    if (shutting_down_ || now_ms_ >= it->deadline_ms || !upstream_reachable(up)) {
      // The upstream did not come up in time (or failed): the ESME may retry elsewhere.
      ++stats_.parked_expired;
      count_reject(it->h.tenant, upstream_failure_status);
      answer_origin(it->h.origin, it->h.esme, it->h.esme_seq,
                    static_cast<command_id>(it->h.command_id), upstream_failure_status, {});
      it = parked_.erase(it);
      continue;
    }
    ++it;
  }
}

// ---------------------------------------------------------------------------------------------
// Counted losses are also logged: at most one line per worker every 10 s, with what changed.

void router_worker::log_losses() {
  constexpr uint64_t interval_ms = 10'000;
  const uint64_t now[] = {stats_.receipts_unmatched,  stats_.receipts_invalid,
                          stats_.correlation_refused, stats_.hold_full,
                          stats_.hold_expired,        stats_.mo_unrouted};
  static constexpr const char* what[] = {
      "receipts matched no message id (unknown, expired or not noted)",
      "receipts without a usable message id",
      "message ids not noted: correlation table full",
      "receipts/MO refused: hold queue full",
      "held receipts/MO expired undelivered",
      "MO messages without an MO route"};
  static_assert(std::size(what) == std::tuple_size_v<decltype(logged_losses_)>);
  if (now_ms_ < next_loss_log_ms_) return;
  bool changed = false;
  for (size_t i = 0; i < std::size(now); ++i) changed = changed || now[i] != logged_losses_[i];
  if (!changed) return;
  for (size_t i = 0; i < std::size(now); ++i) {
    if (now[i] == logged_losses_[i]) continue;
    std::fprintf(stderr, "smpp-router: worker %u: %llu %s (%llu in all)\n", index_,
                 static_cast<unsigned long long>(now[i] - logged_losses_[i]), what[i],
                 static_cast<unsigned long long>(now[i]));
    logged_losses_[i] = now[i];
  }
  next_loss_log_ms_ = now_ms_ + interval_ms;
}

// ---------------------------------------------------------------------------------------------
// Per-tenant and per-upstream counters

void router_worker::count_answer(uint32_t tenant, uint32_t upstream, uint32_t status,
                                 uint64_t start_us) {
  const uint64_t us = now_us_ > start_us ? now_us_ - start_us : 0;
  if (tenant < snap_->tenants.size()) {
    tenant_counters& t = tenant_stats_[tenant];
    if (status == 0) {
      ++t.accepted;
    } else {
      ++t.rejected;
      t.rejected_by_status.add(status);
    }
    t.latency.record(us);
  }
  if (upstream < snap_->upstreams.size()) {
    upstream_counters& u = upstream_stats_[upstream];
    if (status == 0) {
      ++u.accepted;
    } else {
      ++u.rejected;
      u.rejected_by_status.add(status);
    }
    u.latency.record(us);
  }
}

void router_worker::count_reject(uint32_t tenant, codec::command_status status) {
  if (tenant >= snap_->tenants.size()) return;
  tenant_counters& t = tenant_stats_[tenant];
  ++t.rejected;
  t.rejected_by_status.add(static_cast<uint32_t>(status));
}

// ---------------------------------------------------------------------------------------------
// Slot gates (TDMA)

int router_worker::run_gates() {
  const uint64_t now_ns = now_us_ * 1000;
  int sent = 0;
  for (upstream_link* l : gated_links_) {
    upstream_link& u = *l;
    slot_gate& g = *u.gate;
    if (g.backlog() == 0) continue;
    if (!g.gated() && u.state == link_state::bound) {
      // Its plan was removed: what waits goes now, as far as the window allows.
      sent +=
          static_cast<int>(g.flush([&](const slot_gate::item& it) { return send_gated(u, it); }));
      continue;
    }
    if (u.state != link_state::bound) {
      // Nothing can go out on this bind; the queued requests wait for it (bounded by the
      // tenants' queues) and fail over with the route when it is down for good (tick).
      continue;
    }
    sent += static_cast<int>(
        g.run(now_ns, [&](const slot_gate::item& it) { return send_gated(u, it); }));
  }
  return sent;
}

bool router_worker::send_gated(upstream_link& u, const slot_gate::item& it) {
  if (u.outstanding >= u.def->window) return false;
  const uint32_t seq = send_request(u, u.gate->bytes(it), it.h);
  if (seq == 0) return false;
  u.gate_items[seq & u.mask] = it;
  if (shared_ != nullptr && snap_->tenants[it.h.tenant].backpressure) {
    // Room again in this tenant's queue: other workers may hand its requests over again.
    if (auto* f = shared_->queue_full_flag(u.upstream, it.h.tenant);
        f != nullptr && f->load(std::memory_order_relaxed) != 0) {
      f->store(0, std::memory_order_relaxed);
    }
  }
  --tenant_stats_[it.h.tenant].queued;
  return true;
}

void router_worker::fail_gate(upstream_link& u, command_status status) {
  if (!u.gate || u.gate->backlog() == 0) return;
  u.gate->drain([&](const slot_gate::item& it) {
    --tenant_stats_[it.h.tenant].queued;
    count_reject(it.h.tenant, status);
    answer_origin(it.h.origin, it.h.esme, it.h.esme_seq, static_cast<command_id>(it.h.command_id),
                  status, {});
  });
}

std::vector<router_worker::gate_report> router_worker::gate_reports() const {
  std::vector<gate_report> out;
  for (const upstream_link* l : gated_links_) {
    out.push_back({l->upstream, l->gate->stats(), l->gate->stretch()});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A new snapshot published by the control plane (RCU): adopted between two turns, so no message
// is in the middle of anything. Tenants and upstreams keep their indices (the control plane
// appends, never reorders); plans, weights, caps, routes, MO routes and timers change freely.

void router_worker::adopt_published() {
  seen_generation_ = shared_->generation.load(std::memory_order_acquire);
  std::shared_ptr<const router_snapshot> next = shared_->current();
  if (!next || next == snap_) return;
  const router_snapshot& old = *snap_;
  bool compatible = next->tenants.size() >= old.tenants.size() &&
                    next->tenants.size() <= tenant_capacity_ &&
                    next->upstreams.size() >= old.upstreams.size() &&
                    next->upstreams.size() <= upstream_capacity_;
  for (size_t u = 0; compatible && u < old.upstreams.size(); ++u) {
    compatible = next->upstreams[u].binds.size() >= old.upstreams[u].binds.size() &&
                 next->upstreams[u].name == old.upstreams[u].name;
  }
  for (size_t t = 0; compatible && t < old.tenants.size(); ++t)
    compatible = next->tenants[t].name == old.tenants[t].name;
  if (!compatible) {
    ++stats_.snapshots_refused;  // the control plane checks this before publishing
    return;
  }
  std::shared_ptr<const router_snapshot> keep = snap_;  // the old plans live until replanned
  snap_ = std::move(next);
  const size_t tenants = snap_->tenants.size();
  receivers_.resize(tenants);
  next_receiver_.resize(tenants);
  holds_.resize(tenants);
  tenant_count_.store(tenants, std::memory_order_release);
  upstream_count_.store(snap_->upstreams.size(), std::memory_order_release);
  for (auto& l : links_) {
    l->def = &snap_->upstreams[l->upstream]
                  .binds[static_cast<size_t>(l->def - keep->upstreams[l->upstream].binds.data())];
    if (l->gate) {
      l->gate->replan(l->def->plan, tenants);
    } else if (l->def->plan.rate_per_s != 0) {
      make_gate(*l);
    }
    // A retired bind takes no new requests: other workers stop handing them here. One that
    // came back (added again under its name) counts again.
    if (l->state == link_state::bound) set_bound(*l, !l->def->retired);
  }
  links_by_upstream_.resize(snap_->upstreams.size());
  for (size_t u = 0; u < snap_->upstreams.size(); ++u) {
    // New upstreams, and binds added to the ones there were.
    const size_t had = u < old.upstreams.size() ? old.upstreams[u].binds.size() : 0;
    const size_t links_before = links_by_upstream_[u].size();
    add_links(snap_->upstreams[u], had);
    for (size_t k = links_before; k < links_by_upstream_[u].size(); ++k) {
      upstream_link* l = links_by_upstream_[u][k];
      if (l->state == link_state::down) connect_upstream(*l);
    }
  }
  op_radices_.assign(1, codec::id_radix::auto_detect);
  for (const upstream_def& u : snap_->upstreams) {
    if (std::find(op_radices_.begin(), op_radices_.end(), u.submit_id_radix) == op_radices_.end())
      op_radices_.push_back(u.submit_id_radix);
  }
  ++stats_.snapshots_adopted;
}

}  // namespace smpp::dataplane
