// The slot gate's cost per message: the decision of who gets a slot and the queue work around
// it, with three tenants 6:3:1 all backlogged (the common case) and with one idle tenant whose
// slots are lent (work-conserving). Baseline in the same binary: a plain FIFO (std::deque of
// the same items) that decides nothing. Target: at most 20 ns per message for the gate.
#include <benchmark/benchmark.h>

#include <cstring>
#include <deque>
#include <vector>

#include "smpp/dataplane/slot_gate.hpp"

namespace {

using smpp::dataplane::handoff_header;
using smpp::dataplane::slot_gate;
using smpp::dataplane::slot_plan;

constexpr uint64_t slot_ns = 500'000;  // 2000 msg/s

slot_plan make_plan() {
  slot_plan p;
  p.rate_per_s = 2000;
  p.slot_ns = slot_ns;
  // 200 slots per 100 ms frame, 6:3:1, spread.
  const uint32_t pattern[10] = {0, 1, 0, 0, 1, 0, 2, 0, 1, 0};
  for (int i = 0; i < 200; ++i) p.owner.push_back(pattern[i % 10]);
  p.cap = {0, 0, 0};
  p.queue_max = {4096, 4096, 4096};
  return p;
}

const std::vector<std::byte> pdu(120, std::byte{0x2A});

// One message through the gate per iteration: enqueue for the tenant whose turn it is to be
// refilled, one slot's decision, release of what was sent.
void run_gate(benchmark::State& state, bool idle_tenant) {
  const slot_plan plan = make_plan();
  slot_gate g(plan, 3);
  const uint32_t tenants = idle_tenant ? 2 : 3;
  for (uint32_t t = 0; t < tenants; ++t) {
    for (int i = 0; i < 1000; ++i) {
      handoff_header h;
      h.tenant = t;
      (void)g.enqueue(h, pdu, 0);
    }
  }
  uint64_t now = slot_ns;
  slot_gate::item sent;
  for (auto _ : state) {
    g.run(now, [&](const slot_gate::item& it) {
      sent = it;
      return true;
    });
    now += slot_ns;
    g.release(sent);
    handoff_header h;
    h.tenant = sent.h.tenant;  // keep every queue full
    (void)g.enqueue(h, pdu, 0);
    benchmark::DoNotOptimize(sent);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["lent"] = static_cast<double>(g.stats().lent);
}

// The decision alone: every slot picks a tenant and offers its head request to a bind whose
// window is full, so nothing moves and nothing is copied.
void BM_Gate_DecisionOnly(benchmark::State& state) {
  const slot_plan plan = make_plan();
  slot_gate g(plan, 3);
  for (uint32_t t = 0; t < 3; ++t) {
    handoff_header h;
    h.tenant = t;
    (void)g.enqueue(h, pdu, 0);
  }
  uint64_t now = slot_ns;
  uint32_t offered = 0;
  for (auto _ : state) {
    g.run(now, [&](const slot_gate::item& it) {
      offered += it.h.tenant;
      return false;
    });
    now += slot_ns;
  }
  benchmark::DoNotOptimize(offered);
  state.SetItemsProcessed(state.iterations());
}

void BM_Gate_AllBacklogged(benchmark::State& state) {
  run_gate(state, false);
}
void BM_Gate_OneTenantIdle(benchmark::State& state) {
  run_gate(state, true);
}

// Baseline: the same item copy in and out of a FIFO, no decision, no cells.
void BM_Baseline_Fifo(benchmark::State& state) {
  std::deque<slot_gate::item> q;
  std::vector<std::byte> store(pdu.size());
  for (int i = 0; i < 3000; ++i) q.push_back(slot_gate::item{});
  for (auto _ : state) {
    slot_gate::item it = q.front();
    q.pop_front();
    std::memcpy(store.data(), pdu.data(), pdu.size());
    q.push_back(it);
    benchmark::DoNotOptimize(store.data());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Gate_DecisionOnly);
BENCHMARK(BM_Gate_AllBacklogged);
BENCHMARK(BM_Gate_OneTenantIdle);
BENCHMARK(BM_Baseline_Fifo);

}  // namespace

BENCHMARK_MAIN();
