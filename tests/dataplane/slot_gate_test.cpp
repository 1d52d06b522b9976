// The slot gate of a bind: shares by slot ownership, timing (never early, at most one slot
// late), work-conserving and strict modes, caps, queue bounds, the window, concatenated parts,
// throttling by the SMSC, and no allocation in steady state.
#include "smpp/dataplane/slot_gate.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "alloc_counter.hpp"

namespace smpp::dataplane {
namespace {

constexpr uint64_t ms = 1'000'000;  // ns

// 1000 msg/s: one slot per ms; a frame of 10 slots owned 6:3:1 by tenants 0, 1, 2, spread.
slot_plan plan_631(bool strict = false) {
  slot_plan p;
  p.rate_per_s = 1000;
  p.slot_ns = ms;
  p.owner = {0, 1, 0, 0, 1, 0, 2, 0, 1, 0};
  p.strict = strict;
  p.cap = {0, 0, 0};
  p.queue_max = {100000, 100000, 100000};
  return p;
}

handoff_header request_of(uint32_t tenant, uint32_t seq) {
  handoff_header h;
  h.tenant = tenant;
  h.esme_seq = seq;
  return h;
}

const std::vector<std::byte> pdu_bytes(64, std::byte{0x2A});

// Runs the gate one ms at a time for `slots` slots; returns what each tenant sent, in order.
std::vector<uint32_t> run_slots(slot_gate& g, uint64_t& now, uint32_t slots) {
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < slots; ++i) {
    g.run(now, [&](const slot_gate::item& it) {
      order.push_back(it.h.tenant);
      return true;
    });
    now += ms;
  }
  return order;
}

std::map<uint32_t, uint32_t> tally(const std::vector<uint32_t>& order) {
  std::map<uint32_t, uint32_t> m;
  for (uint32_t t : order) ++m[t];
  return m;
}

void fill(slot_gate& g, uint32_t tenant, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) ASSERT_TRUE(g.enqueue(request_of(tenant, i), pdu_bytes, 0));
}

TEST(SlotGate, BackloggedTenantsGetExactlyTheirSlotsInPlanOrder) {
  const slot_plan p = plan_631();
  slot_gate g(p, 3);
  for (uint32_t t = 0; t < 3; ++t) fill(g, t, 1000);
  uint64_t now = 5 * ms;
  const auto order = run_slots(g, now, 1000);
  const auto m = tally(order);
  EXPECT_EQ(m.at(0), 600U);
  EXPECT_EQ(m.at(1), 300U);
  EXPECT_EQ(m.at(2), 100U);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(order[i], p.owner[i]) << i;
  EXPECT_EQ(g.stats().lent, 0U);
}

TEST(SlotGate, NeverBeforeItsTimeAndAtMostOneSlotLate) {
  const slot_plan p = plan_631();
  slot_gate g(p, 3);
  fill(g, 0, 100);
  uint32_t sent = 0;
  auto count = [&](const slot_gate::item&) { return ++sent, true; };
  g.run(10 * ms, count);  // the first slot starts now
  EXPECT_EQ(sent, 1U);
  g.run(10 * ms + ms - 1, count);  // the next slot is not due yet
  EXPECT_EQ(sent, 1U);
  g.run(11 * ms, count);
  EXPECT_EQ(sent, 2U);
  // The worker was away for 50 slots with work waiting: one is used late, the others missed.
  g.run(61 * ms + ms / 2, count);
  EXPECT_EQ(sent, 3U);
  EXPECT_EQ(g.stats().missed, 49U);
  g.run(61 * ms + ms / 2 + 10, count);
  EXPECT_EQ(sent, 3U);
  g.run(62 * ms, count);
  EXPECT_EQ(sent, 4U);
  // Lateness: three left on their edge (under 1 us), one 500 us late (bucket 2^9..2^10).
  EXPECT_EQ(g.stats().lateness[0], 3U);
  EXPECT_EQ(g.stats().lateness[9], 1U);
  EXPECT_EQ(g.stats().lateness_quantile_us(0.5), 1U);
  EXPECT_EQ(g.stats().lateness_quantile_us(0.99), 512U);
}

TEST(SlotGate, WorkConservingLendsAnIdleTenantsSlotsInProportion) {
  const slot_plan p = plan_631();
  slot_gate g(p, 3);
  fill(g, 0, 2000);
  fill(g, 1, 2000);
  uint64_t now = ms;
  const auto m = tally(run_slots(g, now, 1000));
  EXPECT_EQ(m.at(0) + m.at(1), 1000U);  // every slot used
  EXPECT_EQ(m.count(2), 0U);
  // 6:3 of the whole: tenant 2's 100 slots go two to one.
  EXPECT_NEAR(static_cast<double>(m.at(0)) / m.at(1), 2.0, 0.05);
  EXPECT_EQ(g.stats().lent, 100U);
}

TEST(SlotGate, StrictLeavesAnIdleTenantsSlotsUnused) {
  const slot_plan p = plan_631(true);
  slot_gate g(p, 3);
  fill(g, 0, 2000);
  fill(g, 1, 2000);
  uint64_t now = ms;
  const auto m = tally(run_slots(g, now, 1000));
  EXPECT_EQ(m.at(0), 600U);
  EXPECT_EQ(m.at(1), 300U);
  EXPECT_EQ(g.stats().unused, 100U);
}

TEST(SlotGate, StrictModeDrainsAQueueWhoseTenantLostEverySlotInIdleSlotsOnly) {
  // Tenant 2 is removed at run time (no slot in the new plan) with requests still queued.
  slot_plan first = plan_631(true);
  slot_gate g(first, 3);
  fill(g, 2, 5);
  slot_plan next = plan_631(true);
  next.owner = {0, 1, 0, 0, 1, 0, 0, 0, 1, 0};
  g.replan(next, 3);
  fill(g, 0, 1000);
  uint64_t now = 5 * ms;
  // Tenant 0 uses all of its slots; tenant 1, idle, leaves its three per frame to the orphan.
  const auto m = tally(run_slots(g, now, 20));
  EXPECT_EQ(m.at(0), 14U) << "the owners' slots stay theirs";
  EXPECT_EQ(m.at(2), 5U) << "every queued request of the removed tenant is sent";
  EXPECT_EQ(g.queued(2), 0U);
  EXPECT_EQ(g.stats().lent, 5U) << "only the orphan's requests went in slots not their own";
}

TEST(SlotGate, CapLimitsSlotsPerFrameBorrowedOnesIncluded) {
  slot_plan p = plan_631();
  p.cap = {4, 0, 0};
  slot_gate g(p, 3);
  fill(g, 0, 2000);
  fill(g, 1, 2000);
  uint64_t now = ms;
  const auto m = tally(run_slots(g, now, 1000));
  EXPECT_EQ(m.at(0), 400U);  // 4 of each frame
  EXPECT_EQ(m.at(1), 600U);  // the rest, lent
}

TEST(SlotGate, FullQueueRefusesAndCounts) {
  slot_plan p = plan_631();
  p.queue_max = {2, 2, 2};
  slot_gate g(p, 3);
  EXPECT_TRUE(g.enqueue(request_of(1, 1), pdu_bytes, 0));
  EXPECT_TRUE(g.enqueue(request_of(1, 2), pdu_bytes, 0));
  EXPECT_FALSE(g.enqueue(request_of(1, 3), pdu_bytes, 0));
  EXPECT_TRUE(g.enqueue(request_of(0, 1), pdu_bytes, 0));  // another tenant's queue has room
  EXPECT_EQ(g.stats().refused, 1U);
  EXPECT_EQ(g.queued(1), 2U);
  EXPECT_FALSE(g.enqueue(request_of(7, 1), pdu_bytes, 0));  // no such tenant
}

TEST(SlotGate, FullWindowLosesTheSlotAndKeepsTheRequest) {
  const slot_plan p = plan_631();
  slot_gate g(p, 3);
  fill(g, 0, 3);
  bool window_open = false;
  std::vector<uint32_t> seqs;
  auto send = [&](const slot_gate::item& it) {
    if (!window_open) return false;
    seqs.push_back(it.h.esme_seq);
    return true;
  };
  g.run(ms, send);
  EXPECT_EQ(g.stats().window_blocked, 1U);
  EXPECT_EQ(g.backlog(), 3U);
  window_open = true;
  for (uint64_t t = 2; t < 12; ++t) g.run(t * ms, send);
  EXPECT_EQ(seqs, (std::vector<uint32_t>{0, 1, 2}));  // in order, nothing lost
}

TEST(SlotGate, ConcatenatedPartsGoInConsecutiveSlots) {
  const slot_plan p = plan_631();
  slot_gate g(p, 3);
  fill(g, 0, 50);
  // Tenant 2 owns slot 6 only; its three parts follow one another from there.
  ASSERT_TRUE(g.enqueue(request_of(2, 100), pdu_bytes, 2));
  ASSERT_TRUE(g.enqueue(request_of(2, 101), pdu_bytes, 1));
  ASSERT_TRUE(g.enqueue(request_of(2, 102), pdu_bytes, 0));
  uint64_t now = ms;
  const auto order = run_slots(g, now, 12);
  const std::vector<uint32_t> want = {0, 0, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0};
  EXPECT_EQ(order, want);
}

TEST(SlotGate, ThrottledRequestGoesFirstAndTheGateSlowsDownThenRecovers) {
  const slot_plan p = plan_631();
  slot_gate g(p, 3, /*recover_after=*/2);
  fill(g, 0, 10);
  std::vector<slot_gate::item> sent;
  auto send = [&](const slot_gate::item& it) {
    sent.push_back(it);
    return true;
  };
  g.run(ms, send);
  ASSERT_EQ(sent.size(), 1U);
  g.requeue_front(sent[0]);  // the SMSC said ESME_RTHROTTLED
  EXPECT_EQ(g.stretch(), 2U);
  EXPECT_EQ(g.stats().throttled, 1U);
  // Slots now come every 2 ms.
  g.run(2 * ms, send);
  EXPECT_EQ(sent.size(), 1U);
  g.run(3 * ms, send);
  ASSERT_EQ(sent.size(), 2U);
  EXPECT_EQ(sent[1].h.esme_seq, sent[0].h.esme_seq) << "the throttled request is sent again first";
  g.answered_ok();
  g.answered_ok();
  EXPECT_EQ(g.stretch(), 1U);
  for (const auto& it : sent) g.release(it);
}

TEST(SlotGate, RequestsRefusedTogetherSlowTheGateDownOnceAndItRecoversWithinFrames) {
  const slot_plan p = plan_631();  // frames of 10 slots: recovery after 8 accepted answers
  slot_gate g(p, 3);
  fill(g, 0, 200);
  std::vector<slot_gate::item> sent;
  auto send = [&](const slot_gate::item& it) {
    sent.push_back(it);
    return true;
  };
  uint64_t now = ms;
  for (int i = 0; i < 5; ++i, now += ms) g.run(now, send);
  ASSERT_EQ(sent.size(), 5U);
  // The SMSC refuses all five in flight: one congestion event, one slow-down.
  for (const auto& it : sent) g.requeue_front(it);
  EXPECT_EQ(g.stretch(), 2U);
  EXPECT_EQ(g.stats().throttled, 5U);
  // Accepted answers bring it back: 8 per halving.
  sent.clear();
  for (int i = 0; i < 40 && g.stretch() > 1; ++i, now += ms) {
    g.run(now, send);
    for (const auto& it : sent) {
      g.answered_ok();
      g.release(it);
    }
    sent.clear();
  }
  EXPECT_EQ(g.stretch(), 1U);
}

TEST(SlotGate, LongPdusAndDrainKeepEveryRequest) {
  const slot_plan p = plan_631();
  slot_gate g(p, 3);
  std::vector<std::byte> big(3000, std::byte{0x41});
  ASSERT_TRUE(g.enqueue(request_of(1, 9), big, 0));
  fill(g, 0, 2);
  std::vector<uint32_t> drained;
  g.drain([&](const slot_gate::item& it) {
    drained.push_back(it.h.esme_seq);
    if (it.h.esme_seq == 9) {
      EXPECT_EQ(g.bytes(it).size(), 3000U);
    }
  });
  EXPECT_EQ(drained.size(), 3U);
  EXPECT_EQ(g.backlog(), 0U);
}

TEST(SlotGate, SteadyStateAllocatesNothing) {
  const slot_plan p = plan_631();
  slot_gate g(p, 3);
  std::vector<slot_gate::item> inflight;
  inflight.reserve(64);
  uint64_t now = ms;
  auto cycle = [&] {
    for (uint32_t t = 0; t < 3; ++t) (void)g.enqueue(request_of(t, 1), pdu_bytes, 0);
    for (int i = 0; i < 3; ++i) {
      g.run(now, [&](const slot_gate::item& it) {
        inflight.push_back(it);
        return true;
      });
      now += ms;
    }
    for (const auto& it : inflight) g.release(it);
    inflight.clear();
  };
  for (int i = 0; i < 100; ++i) cycle();  // warm up: queues and cells grow once
  const long before = smpp::testing::allocations();
  for (int i = 0; i < 10'000; ++i) cycle();
  EXPECT_EQ(smpp::testing::allocations() - before, 0);
}

TEST(SlotGate, SlotsThatPassWhileNothingWaitsAreUnusedNotMissed) {
  const slot_plan p = plan_631();
  slot_gate g(p, 3);
  fill(g, 0, 1);
  uint32_t sent = 0;
  auto count = [&](const slot_gate::item& it) {
    g.release(it);
    return ++sent, true;
  };
  g.run(ms, count);
  EXPECT_EQ(sent, 1U);
  // Nothing queued for 100 slots, then one request: it goes in the current slot.
  fill(g, 0, 1);
  g.run(101 * ms + 10, count);
  EXPECT_EQ(sent, 2U);
  EXPECT_EQ(g.stats().missed, 0U);
  EXPECT_EQ(g.stats().unused, 99U);
}

TEST(SlotGate, ReplanningKeepsTheNextSlotsTimeSoNoSlotIsAdded) {
  const slot_plan p = plan_631();
  slot_gate g(p, 3);
  fill(g, 0, 10);
  uint32_t sent = 0;
  auto count = [&](const slot_gate::item& it) {
    g.release(it);
    return ++sent, true;
  };
  g.run(10 * ms, count);
  EXPECT_EQ(sent, 1U);
  slot_plan q = plan_631();
  q.owner = {1, 0};  // another plan, same rate
  g.replan(q, 3);
  g.run(10 * ms + ms / 2, count);  // half a slot later: still nothing
  EXPECT_EQ(sent, 1U);
  g.run(11 * ms, count);
  EXPECT_EQ(sent, 2U);
}

// What became of each slot, by its owner (slot_use.hpp): a frame of 4 slots owned by tenants
// 0, 0, 1 and nobody; one frame with work (tenant 0 has 1 request, tenant 1 has 3), one frame
// with none, then the worker comes two slots late with one request of tenant 1.
TEST(SlotGate, SlotUseCountsUsedLentAndMissedSlotsByOwnerAndMarksTheLastFrame) {
  slot_plan p = plan_631();
  p.owner = {0, 0, 1, any_tenant};
  slot_gate g(p, 2);
  const auto use = g.use();
  ASSERT_EQ(use->slots(), 4U);
  ASSERT_EQ(use->tenants(), 2U);
  fill(g, 0, 1);
  fill(g, 1, 3);
  uint64_t now = ms;
  EXPECT_EQ(run_slots(g, now, 4), (std::vector<uint32_t>{0, 1, 1, 1}));
  EXPECT_EQ(use->frames(), 1U);
  EXPECT_EQ(run_slots(g, now, 4), (std::vector<uint32_t>{}));
  EXPECT_EQ(use->frames(), 2U);
  fill(g, 1, 1);
  now += 2 * ms + 10;  // slots 8 and 9 are past: dropped
  EXPECT_EQ(run_slots(g, now, 1), (std::vector<uint32_t>{1}));
  EXPECT_EQ(use->frames(), 2U);
  using M = slot_use::mark;
  const auto counts = [](const slot_use::owner_counts& c) {
    return std::vector<uint64_t>{c.used.load(), c.lent.load(), c.missed.load()};
  };
  // Tenant 0: used slot 0, lent slot 1 to tenant 1, missed both in frame 2 and slots 8 and 9.
  EXPECT_EQ(counts(use->of(0)), (std::vector<uint64_t>{1, 1, 4}));
  // Tenant 1: used slot 2 of frames 1 and 3, missed it in frame 2.
  EXPECT_EQ(counts(use->of(1)), (std::vector<uint64_t>{2, 0, 1}));
  // The unowned slot: lent in frame 1, missed in frame 2.
  EXPECT_EQ(counts(use->unowned()), (std::vector<uint64_t>{0, 1, 1}));
  EXPECT_EQ(use->of(7).used.load(), use->unowned().used.load());  // beyond the tenants: unowned
  // 11 slots came, each counted once.
  EXPECT_EQ(g.stats().slots, 11U);
  // The marks: slots 0..2 from frame 3, slot 3 from frame 2.
  EXPECT_EQ(use->last(0), M::missed);
  EXPECT_EQ(use->last(1), M::missed);
  EXPECT_EQ(use->last(2), M::used);
  EXPECT_EQ(use->last(3), M::missed);
  EXPECT_EQ(use->last(4), M::none);  // beyond the frame
  // A full window loses the slot: missed too (slot 11, unowned, then slot 12, tenant 0's).
  fill(g, 0, 1);
  g.run(now, [](const slot_gate::item&) { return false; });
  EXPECT_EQ(use->unowned().missed.load(), 2U);
  EXPECT_EQ(use->of(0).missed.load(), 4U);
  EXPECT_EQ(use->frames(), 3U);
  g.run(now + ms, [](const slot_gate::item&) { return false; });
  EXPECT_EQ(use->of(0).missed.load(), 5U);
  EXPECT_EQ(use->last(0), M::missed);
  // A replan with the same frame length and tenants keeps the counts; another length starts
  // new ones.
  slot_plan same = p;
  same.owner = {1, 1, 0, 0};
  g.replan(same, 2);
  EXPECT_EQ(g.use(), use);
  slot_plan longer = p;
  longer.owner = {0, 1, 0, 1, 0};
  g.replan(longer, 2);
  EXPECT_NE(g.use(), use);
  EXPECT_EQ(g.use()->slots(), 5U);
  EXPECT_EQ(g.use()->frames(), 0U);
}

}  // namespace
}  // namespace smpp::dataplane
