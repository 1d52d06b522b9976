// Two router workers on two threads while the control plane works beside them (runs under
// TSan): worker 0 owns the only upstream bind, worker 1 the ESME. Every submit_sm crosses the
// rings, its message id is noted in one of the two correlation shards, and its receipt crosses
// back to the ESME, whose answer crosses again to the upstream. Meanwhile a reader thread reads
// the workers' counters as the admin API does, and a publisher thread publishes new snapshots
// (RCU) that the workers adopt while the traffic flows.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "fake_transport.hpp"
#include "router_fixture.hpp"
#include "router_threads.hpp"
#include "smpp/dataplane/router_worker.hpp"

namespace smpp::dataplane {
namespace {

using codec::command_id;
using codec::pdu;
using S = codec::command_status;
using testing::one_upstream_snapshot;
constexpr auto enc = testing::encode_pdu;

uint64_t ms_since(std::chrono::steady_clock::time_point t0) {
  return 1 + static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - t0)
                                       .count());
}

TEST(ReturnPathThreads, ReceiptsCrossTheRingsWhileCountersAreReadAndSnapshotsPublished) {
  constexpr uint32_t kMessages = 20000;
  constexpr uint32_t kWindow = 128;
  auto snap = one_upstream_snapshot(kWindow);
  snap->tenants[0].name = "acme";
  snap->upstreams[0].name = "sim";
  snap->timers.response_ms = 60000;
  snap->correlation.capacity = 65536;
  snap->correlation.final_capacity = 65536;  // a 1 M default takes seconds to build under TSan
  shared_state shared(1, 1, 2);
  shared.secret = correlation_secret::random();
  ring_mesh mesh(2, 1024);
  std::atomic<bool> upstream_up{false};
  // Set by the owner once the last answer to a receipt reached its upstream: the end of the run.
  std::atomic<bool> finished{false};
  std::atomic<bool> reader_done{false};  // workers outlive their readers (as in main.cpp)
  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + std::chrono::seconds(90);

  std::thread owner([&] {
    testing::fake_transport tr;
    router_worker w(0, 2, tr, snap, &shared, &mesh);
    ASSERT_EQ(w.start(0), 0);
    const auto up = testing::answer_upstream_bind(tr);
    upstream_up.store(true);
    uint32_t receipt_seq = 1'000'000;
    uint32_t receipts_acked = 0;
    // Until every receipt's answer is in and a published snapshot was taken over (the publisher
    // may not have had a core yet when the traffic is done: waited for, not assumed).
    while ((receipts_acked < kMessages || w.stats().snapshots_adopted == 0) &&
           std::chrono::steady_clock::now() < deadline) {
      w.run_once(ms_since(t0), 0);
      for (const auto& f : tr.take(up)) {
        const auto id = static_cast<command_id>(codec::load_be32(f.data() + 4));
        const uint32_t seq = codec::load_be32(f.data() + 12);
        if (id == command_id::deliver_sm_resp) {
          receipts_acked += codec::load_be32(f.data() + 8) == 0 ? 1 : 0;
          continue;
        }
        if (id != command_id::submit_sm) continue;
        pdu a;
        a.id = command_id::submit_sm_resp;
        a.sequence_number = seq;
        const std::string mid = "m" + std::to_string(seq);
        a.message_id = mid;
        tr.deliver(up, enc(a));
        pdu r;
        r.id = command_id::deliver_sm;
        r.sequence_number = ++receipt_seq;
        r.esm_class = codec::esm_class_delivery_receipt;
        const std::string text = "id:" + mid + " stat:DELIVRD";
        r.short_message = codec::as_bytes(text);
        tr.deliver(up, enc(r));
      }
    }
    finished.store(true);
    EXPECT_EQ(receipts_acked, kMessages);
    EXPECT_GE(w.stats().snapshots_adopted, 1U);
    while (!reader_done.load()) std::this_thread::yield();
  });

  std::thread origin([&] {
    testing::fake_transport tr;
    router_worker w(1, 2, tr, snap, &shared, &mesh);
    ASSERT_EQ(w.start(0), 0);
    while (!upstream_up.load()) std::this_thread::yield();
    conn_id esme = invalid_conn;
    ASSERT_NO_FATAL_FAILURE(testing::bind_esme(tr, esme));
    pdu s = testing::small_submit();
    uint32_t sent = 0, answers = 0, receipts = 0;
    while ((answers < kMessages || receipts < kMessages) &&
           std::chrono::steady_clock::now() < deadline) {
      for (int k = 0; k < 32 && sent < kMessages && sent - answers < kWindow; ++k) {
        s.sequence_number = ++sent + 1;
        tr.deliver(esme, enc(s));
      }
      w.run_once(ms_since(t0), 0);
      for (const auto& a : tr.take(esme)) {
        const auto id = static_cast<command_id>(codec::load_be32(a.data() + 4));
        if (id == command_id::submit_sm_resp) {
          ++answers;
        } else if (id == command_id::deliver_sm) {
          ++receipts;
          tr.deliver(esme, testing::header(command_id::deliver_sm_resp, S::ESME_ROK,
                                           codec::load_be32(a.data() + 12)));
        }
      }
    }
    // The last answers to the receipts still have to cross to the owner: run until it has them.
    while (!finished.load() && std::chrono::steady_clock::now() < deadline) {
      w.run_once(ms_since(t0), 0);
    }
    EXPECT_EQ(answers, kMessages);
    EXPECT_EQ(receipts, kMessages);
    while (!reader_done.load()) std::this_thread::yield();
  });

  // The admin API's reads: every counter of every worker, while they run.
  std::thread reader([&] {
    uint64_t seen = 0;
    while (!finished.load() && std::chrono::steady_clock::now() < deadline) {
      for (auto& slot : shared.workers) {
        const router_worker* w = slot.load(std::memory_order_acquire);
        if (w == nullptr) continue;
        seen += w->stats().submit_received + w->stats().receipts_received;
        for (const auto& t : w->tenant_stats()) seen += t.accepted + t.latency.sum_us;
        for (const auto& u : w->upstream_stats()) seen += u.forwarded + u.binds_up;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    EXPECT_GT(seen, 0U);
    reader_done.store(true);
  });

  // The control plane: a new snapshot every few milliseconds (timers change, a tenant is added).
  std::thread publisher([&] {
    // From when the owner runs: snapshots published before would all be behind the added tenant
    // by its first turn, and none of those is taken over.
    while (!upstream_up.load() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    uint32_t n = 0;
    while (!finished.load() && n < 200) {
      auto next = std::make_shared<router_snapshot>(*snap);
      next->timers.response_ms = 60000 + n;
      if (n >= 100) {
        tenant_def t;
        t.index = 1;
        t.name = "late";
        t.system_id = "late";
        next->tenants.push_back(t);
      }
      shared.publish(next);
      ++n;
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  });
  origin.join();
  owner.join();
  reader.join();
  publisher.join();
}

}  // namespace
}  // namespace smpp::dataplane
