// Two router workers on two threads: worker 1 holds the ESME, worker 0 owns the only upstream
// bind, and every request and answer crosses the rings between them. Runs under TSan.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "fake_transport.hpp"
#include "router_fixture.hpp"
#include "router_threads.hpp"
#include "smpp/dataplane/router_worker.hpp"

namespace smpp::dataplane {
namespace {

using codec::command_id;
using codec::pdu;
using testing::one_upstream_snapshot;
constexpr auto enc = testing::encode_pdu;

TEST(HandoffThreads, EveryRequestIsAnsweredOnceAcrossTheRings) {
  constexpr uint32_t kMessages = 200000;
  constexpr uint32_t kWindow = 256;
  auto snap = one_upstream_snapshot(kWindow);  // one bind: worker 0 owns it
  snap->timers.response_ms = 60000;
  shared_state shared(1, 1, 2);
  ring_mesh mesh(2, 1024);
  std::atomic<bool> upstream_up{false};
  std::atomic<bool> finished{false};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);

  std::thread owner([&] {
    testing::fake_transport tr;
    router_worker w(0, 2, tr, snap, &shared, &mesh);
    ASSERT_EQ(w.start(0), 0);
    const auto up = testing::answer_upstream_bind(tr);
    upstream_up.store(true);
    std::vector<std::byte> resp_bytes;
    while (!finished.load() && std::chrono::steady_clock::now() < deadline) {
      w.run_once(1, 0);
      for (const auto& f : tr.take(up)) {
        pdu a;
        a.id = command_id::submit_sm_resp;
        a.sequence_number = codec::load_be32(f.data() + 12);
        a.message_id = "m";
        tr.deliver(up, enc(a));
      }
    }
    EXPECT_EQ(w.stats().handoff_received, kMessages);
  });

  std::thread origin([&] {
    testing::fake_transport tr;
    router_worker w(1, 2, tr, snap, &shared, &mesh);
    ASSERT_EQ(w.start(0), 0);
    while (!upstream_up.load()) std::this_thread::yield();
    conn_id esme = invalid_conn;
    ASSERT_NO_FATAL_FAILURE(testing::bind_esme(tr, esme));
    pdu s = testing::small_submit();
    std::vector<bool> answered(kMessages + 1, false);
    uint32_t sent = 0, answers = 0, duplicates = 0, errors = 0;
    while (answers < kMessages && std::chrono::steady_clock::now() < deadline) {
      for (int k = 0; k < 32 && sent < kMessages && sent - answers < kWindow; ++k) {
        s.sequence_number = ++sent;
        tr.deliver(esme, enc(s));
      }
      w.run_once(1, 0);
      for (const auto& a : tr.take(esme)) {
        const uint32_t seq = codec::load_be32(a.data() + 12);
        if (codec::load_be32(a.data() + 8) != 0) ++errors;
        if (seq == 0 || seq > kMessages || answered[seq]) {
          ++duplicates;
        } else {
          answered[seq] = true;
          ++answers;
        }
      }
    }
    finished.store(true);
    EXPECT_EQ(sent, kMessages);
    EXPECT_EQ(answers, kMessages);
    EXPECT_EQ(duplicates, 0U);
    EXPECT_EQ(errors, 0U);
    EXPECT_EQ(w.stats().handed_off, kMessages);
  });
  origin.join();
  owner.join();
}

}  // namespace
}  // namespace smpp::dataplane
