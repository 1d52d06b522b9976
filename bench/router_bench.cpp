// The router's own cost per message, without the kernel: one router_worker on an in-memory
// transport, in the bulk shape of the end-to-end benchmark (4 ESME sessions, 4 upstream binds).
// Each iteration every session delivers one read of `batch` submit_sm; the "SMSC" turns every
// forwarded submit_sm into a submit_sm_resp with its sequence number and a new message id (counted
// up, as SMSCs mostly issue them) and delivers them per bind; the answers the ESMEs receive are
// counted and dropped. `note_all:0` notes ids for receipts only (none is asked for here);
// `note_all:1` is the default configuration, every id noted in a table of the default size.
//
// Baseline in the same binary: `SmscEchoOnly` does the SMSC's part (framing the forwarded
// submit_sm and writing the answers) on the same octets without a router, so the router's own
// cost per message is the difference of the two.
//
// `RouterBulkDlr` is the shape bulk traffic really has: every submit_sm asks for a receipt, the
// SMSC answers each and sends its receipt right behind the answer, in the same read; the ESMEs
// answer every deliver_sm. The correlation table has the default sizes (10 M ids, 1 M finals), so
// its cache misses are the real ones. `SmscEchoDlrOnly` is its SMSC and ESME part without a router.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "smpp/codec/codec.hpp"
#include "smpp/codec/receipt.hpp"
#include "smpp/codec/tlv.hpp"
#include "smpp/dataplane/router_worker.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace {

using namespace smpp;
using dataplane::conn_id;

constexpr uint32_t kSessions = 4;
constexpr uint32_t kBinds = 4;
constexpr size_t kBufBytes = 4 << 20;

// Connections are slots 1..n (generation 1); each has an output buffer preallocated once.
class memory_transport final : public dataplane::transport {
 public:
  struct conn {
    explicit conn(size_t bytes) : out(std::make_unique<std::byte[]>(bytes)), cap(bytes) {}
    std::unique_ptr<std::byte[]> out;
    size_t cap;
    size_t used = 0;
    size_t reserved_at = SIZE_MAX;
  };
  explicit memory_transport(size_t buffer_bytes = kBufBytes) : buffer_bytes_(buffer_bytes) {}

  static conn_id id(size_t slot) { return dataplane::make_conn_id(static_cast<uint32_t>(slot), 1); }
  static size_t slot(conn_id c) { return dataplane::conn_slot(c); }

  void set_handler(dataplane::transport_handler* h) noexcept override { h_ = h; }
  int listen(const dataplane::endpoint&) override { return 0; }
  conn_id connect(const dataplane::endpoint&, int& err) override {
    err = 0;
    conns_.emplace_back(buffer_bytes_);
    const conn_id c = id(conns_.size());
    connects.push_back(c);
    return c;
  }
  conn_id accept() {
    conns_.emplace_back(buffer_bytes_);
    const conn_id c = id(conns_.size());
    h_->on_accept(c, 0, dataplane::peer_address{});
    return c;
  }
  conn& at(conn_id c) { return conns_[slot(c) - 1]; }
  bool send(conn_id c, dataplane::bytes_view data) override {
    conn& k = at(c);
    if (k.reserved_at != SIZE_MAX || k.used + data.size() > k.cap) return false;
    std::memcpy(k.out.get() + k.used, data.data(), data.size());
    k.used += data.size();
    return true;
  }
  std::span<std::byte> reserve(conn_id c, size_t n) override { return reserve_run(c, n, n); }
  std::span<std::byte> reserve_run(conn_id c, size_t min_n, size_t max_n) override {
    conn& k = at(c);
    if (k.reserved_at != SIZE_MAX || k.used + min_n > k.cap) return {};
    const size_t n = std::min(std::max(min_n, max_n), k.cap - k.used);
    k.reserved_at = k.used;
    return {k.out.get() + k.used, n};
  }
  void commit(conn_id c, size_t used) override {
    conn& k = at(c);
    k.used = k.reserved_at + used;
    k.reserved_at = SIZE_MAX;
  }
  size_t queued(conn_id c) const override { return conns_[slot(c) - 1].used; }
  void pause_read(conn_id, bool) override {}
  void close(conn_id, bool) override {}
  int poll(int) override { return 0; }
  void flush() override {}
  uint32_t connections() const noexcept override { return static_cast<uint32_t>(conns_.size()); }

  void deliver(conn_id c, dataplane::bytes_view data) { h_->on_data(c, data); }
  void complete_connect(conn_id c) { h_->on_connect(c, 0); }

  std::vector<conn_id> connects;

 private:
  dataplane::transport_handler* h_ = nullptr;
  size_t buffer_bytes_;
  std::vector<conn> conns_;
};

std::vector<std::byte> encode(const codec::pdu& p) {
  std::vector<std::byte> b(1024);
  const auto r = codec::encode(p, b);
  b.resize(r.ok(b.size()) ? r.needed : 0);
  return b;
}

bool plain_verify(const std::string& hash, std::string_view pw) {
  return hash == pw;
}

std::shared_ptr<dataplane::router_snapshot> bulk_snapshot(uint32_t binds = kBinds,
                                                          uint32_t bind_window = 1024) {
  auto s = std::make_shared<dataplane::router_snapshot>();
  dataplane::tenant_def t;
  t.name = t.system_id = "bench";
  t.password_hash = "bench";
  t.window = 65535;
  t.max_binds = 4096;
  s->tenants.push_back(t);
  s->tenant_by_system_id["bench"] = 0;
  dataplane::upstream_def u;
  u.name = "sim";
  u.address = {"127.0.0.1", 1};
  for (uint32_t b = 0; b < binds; ++b) {
    dataplane::upstream_bind_def bd;
    bd.system_id = "router";
    bd.password = "router";
    bd.window = bind_window;  // 1024 as bench/e2e_bench.py: sessions x window
    u.binds.push_back(bd);
  }
  s->upstreams.push_back(u);
  dataplane::route_def r;
  r.upstreams = {0};
  s->routes = dataplane::route_table({r});
  s->verify_password = plain_verify;
  s->correlation.capacity = 1024;
  s->correlation.note_all = false;  // ids noted for receipts only: esme-load asks for none
  return s;
}

// One read's worth of submit_sm as esme-load sends them (GSM 7-bit text, 12-digit numbers).
// registered_delivery 1 (SMPP 3.4 §5.2.17) asks for a receipt of the final outcome.
std::vector<std::byte> submit_burst(size_t batch, uint8_t registered_delivery = 0) {
  std::vector<std::byte> out;
  for (size_t i = 0; i < batch; ++i) {
    codec::pdu p;
    p.id = codec::command_id::submit_sm;
    p.registered_delivery = registered_delivery;
    p.sequence_number = static_cast<uint32_t>(i + 1);
    p.source_addr = "12345";
    const std::string destination = "4477009" + std::to_string(10000 + i);
    p.destination_addr = destination;
    p.short_message = codec::as_bytes("load test message number 0000000");
    const auto b = encode(p);
    if (b.empty()) std::abort();
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

// Message ids are ten decimal digits, counted up as SMSCs mostly issue them.
constexpr std::string_view kIdTemplate = "0000000000";

// The ten decimal digits of v into out.
void put_id(std::byte* out, uint64_t v) {
  for (size_t i = kIdTemplate.size(); i-- > 0; v /= 10) {
    out[i] = static_cast<std::byte>('0' + v % 10);
  }
}

// The SMSC: one submit_sm_resp per forwarded frame in [in, in+n), message ids from next_id up.
[[gnu::noinline]] size_t answer_all(const std::byte* in, size_t n, std::byte* out,
                                    uint64_t& next_id) {
  constexpr size_t resp_len = codec::header_size + kIdTemplate.size() + 1;
  size_t at = 0;
  size_t w = 0;
  while (at + codec::header_size <= n) {
    const uint32_t len = codec::load_be32(in + at);
    codec::write_header_only(std::span<std::byte, 16>(out + w, 16),
                             codec::command_id::submit_sm_resp, codec::command_status::ESME_ROK,
                             codec::load_be32(in + at + 12));
    codec::store_be32(out + w, static_cast<uint32_t>(resp_len));
    put_id(out + w + codec::header_size, next_id++);
    out[w + resp_len - 1] = std::byte{0};
    w += resp_len;
    at += len;
  }
  return w;
}

// Binds every upstream link the worker started and `sessions` ESMEs; false when one failed.
bool bring_up(memory_transport& t, uint32_t sessions, std::vector<conn_id>& esmes) {
  for (conn_id c : t.connects) {
    t.complete_connect(c);
    auto& k = t.at(c);
    codec::pdu r;
    r.id = codec::command_id::bind_transceiver_resp;
    r.sequence_number = codec::load_be32(k.out.get() + 12);
    r.system_id = "sim";
    k.used = 0;
    t.deliver(c, encode(r));
  }
  codec::pdu b;
  b.id = codec::command_id::bind_transceiver;
  b.sequence_number = 1;
  b.system_id = "bench";
  b.password = "bench";
  const std::vector<std::byte> bind = encode(b);
  for (uint32_t i = 0; i < sessions; ++i) {
    const conn_id c = t.accept();
    t.deliver(c, bind);
    if (t.at(c).used < codec::header_size || codec::load_be32(t.at(c).out.get() + 8) != 0) {
      return false;
    }
    t.at(c).used = 0;
    esmes.push_back(c);
  }
  return true;
}

void RouterBulk(benchmark::State& state) {
  const auto batch = static_cast<size_t>(state.range(0));
  auto snap = bulk_snapshot();
  if (state.range(1) != 0) {
    // The default configuration: every accepted message's id noted (note = "all") in a table of
    // the default size, which fills and then evicts its oldest id per new one.
    snap->correlation = dataplane::correlation_def{};
  }
  dataplane::shared_state shared(1, 1, 1);
  memory_transport t;
  dataplane::router_worker w(0, 1, t, snap, &shared);
  std::vector<conn_id> esmes;
  if (w.start(1) != 0 || !bring_up(t, kSessions, esmes)) {
    state.SkipWithError("start or bind failed");
    return;
  }
  const std::vector<conn_id> ups = t.connects;
  const std::vector<std::byte> burst = submit_burst(batch);
  std::vector<std::byte> answers(kBufBytes);
  uint64_t relayed = 0;
  uint64_t next_id = 1'000'000;
  for (auto _ : state) {
    for (conn_id c : esmes) t.deliver(c, burst);
    for (conn_id c : ups) {
      auto& k = t.at(c);
      const size_t n = answer_all(k.out.get(), k.used, answers.data(), next_id);
      k.used = 0;
      t.deliver(c, dataplane::bytes_view(answers.data(), n));
    }
    for (conn_id c : esmes) {
      relayed += t.at(c).used;
      t.at(c).used = 0;
    }
  }
  const uint64_t msgs = state.iterations() * batch * kSessions;
  if (w.stats().resp_relayed != msgs) {
    const std::string why = "answered " + std::to_string(w.stats().resp_relayed) + " of " +
                            std::to_string(msgs) + ", throttled " +
                            std::to_string(w.stats().throttled) + ", binds up " +
                            std::to_string(w.upstream_binds_bound()) + ", sessions " +
                            std::to_string(w.esme_sessions());
    state.SkipWithError(why.c_str());
  }
  benchmark::DoNotOptimize(relayed);
  state.SetItemsProcessed(static_cast<int64_t>(msgs));
}
// Second argument 1: note = "all" (the default) instead of "receipts".
BENCHMARK(RouterBulk)->ArgNames({"batch", "note_all"})->ArgsProduct({{64, 256}, {0, 1}});

// Back-pressure: N sessions of a tenant with queue_full = "backpressure" each hold one read of
// 16 KiB whose first request finds the upstream's only bind busy (window 1, its one request
// never answered). Each iteration is one millisecond of the worker: every stalled session is
// offered its held octets again and stalls again. Reported per stalled session and retry.
void BackpressureRetry(benchmark::State& state) {
  const auto sessions = static_cast<uint32_t>(state.range(0));
  auto snap = bulk_snapshot(1, 1);
  snap->tenants[0].backpressure = true;
  snap->timers.response_ms = snap->timers.enquire_link_interval_ms = 1'000'000'000;
  snap->timers.dead_peer_ms = 1'000'000'000;
  dataplane::shared_state shared(1, 1, 1);
  memory_transport t(256 * 1024);
  dataplane::router_worker w(0, 1, t, snap, &shared);
  std::vector<conn_id> esmes;
  uint64_t now_ms = 1;
  if (w.start(now_ms) != 0 || !bring_up(t, sessions, esmes)) {
    state.SkipWithError("start or bind failed");
    return;
  }
  const std::vector<std::byte> burst = submit_burst(16 * 1024 / 60);
  for (conn_id c : esmes) t.deliver(c, burst);
  if (w.stats().stalled_sessions != sessions) {
    state.SkipWithError("not every session stalled");
    return;
  }
  for (auto _ : state) {
    ++now_ms;
    w.run_once(now_ms, 0, now_ms * 1000);
  }
  if (w.stats().stalled_sessions != sessions || w.stats().submit_forwarded != 1) {
    state.SkipWithError("a held request moved");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * sessions));
  state.counters["held_bytes_per_session"] = static_cast<double>(burst.size());
}
BENCHMARK(BackpressureRetry)->Arg(64)->Arg(1024);

void SmscEchoOnly(benchmark::State& state) {
  const auto batch = static_cast<size_t>(state.range(0));
  const std::vector<std::byte> burst = submit_burst(batch);
  std::vector<std::byte> answers(kBufBytes);
  uint64_t next_id = 1'000'000;
  for (auto _ : state) {
    for (uint32_t s = 0; s < kSessions; ++s) {
      benchmark::DoNotOptimize(answers.data());
      benchmark::DoNotOptimize(burst.data());
      benchmark::DoNotOptimize(answer_all(burst.data(), burst.size(), answers.data(), next_id));
      benchmark::ClobberMemory();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch * kSessions));
}
BENCHMARK(SmscEchoOnly)->Arg(64)->Arg(256);

// ---- bulk with a receipt per message --------------------------------------------------------

// A receipt as smsc-sim writes it (SMPP 3.4 §5.3.2.12 receipted_message_id, §5.3.2.35
// message_state, Appendix B's text), for message id kIdTemplate; `patch` writes another id of
// the same length into both places.

struct receipt_template {
  std::vector<std::byte> bytes;
  size_t text_id_at = 0;
  size_t tlv_id_at = 0;

  receipt_template() {
    const std::string text = "id:" + std::string(kIdTemplate) +
                             " sub:001 dlvrd:001 submit date:2612071530 done date:2612071530 "
                             "stat:DELIVRD err:000 text:load test message";
    std::byte tlv_buf[32];
    codec::tlv_writer tlvs(tlv_buf);
    tlvs.add_cstring(codec::tag::receipted_message_id, kIdTemplate);
    tlvs.add_uint(codec::tag::message_state, static_cast<uint8_t>(codec::message_state::delivered),
                  1);
    codec::pdu p;
    p.id = codec::command_id::deliver_sm;
    p.sequence_number = 1;
    p.source_addr = "447700910000";
    p.destination_addr = "12345";
    p.esm_class = codec::esm_class_delivery_receipt;
    p.short_message = codec::as_bytes(text);
    p.tlvs = tlvs.area();
    bytes = encode(p);
    const std::string_view all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    text_id_at = all.find("id:" + std::string(kIdTemplate)) + 3;
    tlv_id_at = all.rfind(kIdTemplate);
    if (bytes.empty() || text_id_at == tlv_id_at) std::abort();
  }
};

// The SMSC: for each forwarded frame in [in, in+n) a submit_sm_resp with message id `next_id`
// counted up, then that message's receipt on the same bind (sequence numbers from `seq`).
[[gnu::noinline]] size_t answer_with_receipts(const std::byte* in, size_t n, std::byte* out,
                                              const receipt_template& rt, uint64_t& next_id,
                                              uint32_t& seq) {
  constexpr size_t resp_len = codec::header_size + kIdTemplate.size() + 1;
  size_t at = 0;
  size_t w = 0;
  while (at + codec::header_size <= n) {
    const uint32_t len = codec::load_be32(in + at);
    const uint64_t id = next_id++;
    codec::write_header_only(std::span<std::byte, 16>(out + w, 16),
                             codec::command_id::submit_sm_resp, codec::command_status::ESME_ROK,
                             codec::load_be32(in + at + 12));
    codec::store_be32(out + w, static_cast<uint32_t>(resp_len));
    put_id(out + w + codec::header_size, id);
    out[w + resp_len - 1] = std::byte{0};
    w += resp_len;
    std::memcpy(out + w, rt.bytes.data(), rt.bytes.size());
    codec::store_be32(out + w + 12, ++seq);
    put_id(out + w + rt.text_id_at, id);
    put_id(out + w + rt.tlv_id_at, id);
    w += rt.bytes.size();
    at += len;
  }
  return w;
}

// The ESME: a deliver_sm_resp for every deliver_sm in [in, in+n); returns the octets written
// and adds the deliver_sm seen to `receipts`.
[[gnu::noinline]] size_t answer_deliveries(const std::byte* in, size_t n, std::byte* out,
                                           uint64_t& receipts) {
  constexpr size_t resp_len = codec::header_size + 1;  // message_id: an empty C-octet string
  size_t at = 0;
  size_t w = 0;
  while (at + codec::header_size <= n) {
    const uint32_t len = codec::load_be32(in + at);
    if (codec::load_be32(in + at + 4) == static_cast<uint32_t>(codec::command_id::deliver_sm)) {
      codec::write_header_only(std::span<std::byte, 16>(out + w, 16),
                               codec::command_id::deliver_sm_resp, codec::command_status::ESME_ROK,
                               codec::load_be32(in + at + 12));
      codec::store_be32(out + w, static_cast<uint32_t>(resp_len));
      out[w + codec::header_size] = std::byte{0};
      w += resp_len;
      ++receipts;
    }
    at += len;
  }
  return w;
}

void RouterBulkDlr(benchmark::State& state) {
  const auto batch = static_cast<size_t>(state.range(0));
  auto snap = bulk_snapshot();
  snap->correlation = dataplane::correlation_def{};  // the defaults: 10 M ids, 1 M finals
  dataplane::shared_state shared(1, 1, 1);
  memory_transport t;
  dataplane::router_worker w(0, 1, t, snap, &shared);
  std::vector<conn_id> esmes;
  uint64_t now_ms = 1;
  if (w.start(now_ms) != 0 || !bring_up(t, kSessions, esmes)) {
    state.SkipWithError("start or bind failed");
    return;
  }
  const std::vector<conn_id> ups = t.connects;
  const std::vector<std::byte> burst = submit_burst(batch, 1);
  const receipt_template rt;
  std::vector<std::byte> answers(kBufBytes);
  uint64_t next_id = 1'000'000;
  uint32_t smsc_seq = 0;
  uint64_t receipts = 0;
  uint64_t now_us = 1000;
  for (auto _ : state) {
    for (conn_id c : esmes) t.deliver(c, burst);
    for (conn_id c : ups) {
      auto& k = t.at(c);
      const size_t n =
          answer_with_receipts(k.out.get(), k.used, answers.data(), rt, next_id, smsc_seq);
      k.used = 0;
      t.deliver(c, dataplane::bytes_view(answers.data(), n));
    }
    for (conn_id c : esmes) {
      auto& k = t.at(c);
      const size_t n = answer_deliveries(k.out.get(), k.used, answers.data(), receipts);
      k.used = 0;
      t.deliver(c, dataplane::bytes_view(answers.data(), n));
    }
    // The worker's turn ends (ids noted and released in it are applied); one turn per 20 us.
    now_us += 20;
    w.run_once(now_us / 1000, 0, now_us);
    for (conn_id c : ups) t.at(c).used = 0;  // deliver_sm_resp relayed to the SMSC
  }
  const uint64_t msgs = state.iterations() * batch * kSessions;
  if (w.stats().resp_relayed != msgs || receipts != msgs) {
    const std::string why = "answered " + std::to_string(w.stats().resp_relayed) +
                            ", receipts delivered " + std::to_string(receipts) + " of " +
                            std::to_string(msgs) + ", throttled " +
                            std::to_string(w.stats().throttled);
    state.SkipWithError(why.c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(msgs));
}
BENCHMARK(RouterBulkDlr)->Arg(64)->Arg(256);

// The SMSC's and the ESMEs' part of RouterBulkDlr on the same octets, without a router.
void SmscEchoDlrOnly(benchmark::State& state) {
  const auto batch = static_cast<size_t>(state.range(0));
  const std::vector<std::byte> burst = submit_burst(batch, 1);
  const receipt_template rt;
  std::vector<std::byte> answers(kBufBytes);
  std::vector<std::byte> resps(kBufBytes);
  uint64_t next_id = 1'000'000;
  uint32_t seq = 0;
  uint64_t receipts = 0;
  for (auto _ : state) {
    for (uint32_t s = 0; s < kSessions; ++s) {
      const size_t n =
          answer_with_receipts(burst.data(), burst.size(), answers.data(), rt, next_id, seq);
      benchmark::DoNotOptimize(answer_deliveries(answers.data(), n, resps.data(), receipts));
      benchmark::ClobberMemory();
    }
  }
  if (receipts != state.iterations() * batch * kSessions) state.SkipWithError("receipts lost");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch * kSessions));
}
BENCHMARK(SmscEchoDlrOnly)->Arg(64)->Arg(256);

}  // namespace

BENCHMARK_MAIN();
