// The router worker with a store ([store], docs/architecture.md "Durable message state"): a
// submit_sm_resp reaches the ESME only once its note is stored, a receipt is taken into custody
// (ESME_ROK to the SMSC) only once it is stored, a failing store lets submits through and
// refuses custody, and a new worker on the same shard takes the ids and held messages back.
// The journal's thread runs beside the worker's: also under TSan.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "fake_transport.hpp"
#include "router_test_pdus.hpp"
#include "smpp/dataplane/router_worker.hpp"
#include "smpp/store/journal.hpp"
#include "smpp/store/record.hpp"

namespace smpp::dataplane {
namespace {

using codec::command_id;
using codec::pdu;
using S = codec::command_status;
using testing::decoded;
using testing::encode;
using testing::fake_transport;
using testing::header;
using testing::make_snapshot;
using testing::receipt_pdu;
using testing::submit_pdu;

// A backend whose appends wait while it is closed (a slow disk) or throw while it fails, and
// that keeps every record it took, to replay them.
class gated_backend final : public store::backend {
 public:
  std::atomic<bool> open{true};
  std::atomic<bool> fail{false};

  void recover(store::recovery_visitor& v) override {
    std::lock_guard lock(mutex_);
    std::vector<const std::vector<std::byte>*> held;
    for (const auto& g : groups_) {
      std::span<const std::byte> in(g);
      while (!in.empty()) {
        const auto r = store::decode(in);
        if (!r) break;
        if (r->kind == store::record_kind::note) v.on_note(r->note);
        if (r->kind == store::record_kind::held) v.on_held(r->held);
        in = in.subspan(r->size);
      }
    }
  }
  void append(std::span<const std::byte> records) override {
    while (!open.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    if (fail.load()) throw store::store_error("disk full (test)");
    std::lock_guard lock(mutex_);
    groups_.emplace_back(records.begin(), records.end());
  }
  std::optional<store::message_status> lookup(const store::message_key&) override { return {}; }
  std::vector<store::message_status> list(std::uint16_t, std::uint64_t, std::size_t) override {
    return {};
  }
  store::backend_stats stats() const override { return {}; }

  // The records of each kind it took.
  size_t count(store::record_kind kind) {
    std::lock_guard lock(mutex_);
    size_t n = 0;
    for (const auto& g : groups_) {
      std::span<const std::byte> in(g);
      while (!in.empty()) {
        const auto r = store::decode(in);
        if (!r) break;
        n += r->kind == kind ? 1 : 0;
        in = in.subspan(r->size);
      }
    }
    return n;
  }

 private:
  std::mutex mutex_;
  std::vector<std::vector<std::byte>> groups_;
};

// A worker on a fake transport whose journal writes to `backend`.
struct StoreRig {
  explicit StoreRig(gated_backend*& backend_out, std::unique_ptr<gated_backend> backend = nullptr)
      : snap(make_snapshot()), shared(snap->tenants.size(), snap->upstreams.size(), 1) {
    auto b = backend ? std::move(backend) : std::make_unique<gated_backend>();
    backend_out = b.get();
    journal = std::make_unique<store::journal>(std::move(b),
                                               store::journal_config{.ring_bytes = 1 << 20});
    shared.journals[0] = journal.get();
    w = std::make_unique<router_worker>(0, 1, t, snap, &shared);
    w->recover(journal->store(), now);
    journal->start();
    EXPECT_EQ(w->start(now), 0);
  }
  ~StoreRig() {
    w.reset();
    journal->stop();
  }
  std::vector<fake_transport::conn_id> bring_up_upstreams() {
    std::vector<fake_transport::conn_id> ups = t.pending_connects;
    t.pending_connects.clear();
    for (auto c : ups) {
      t.complete_connect(c);
      auto out = t.take(c);
      t.deliver(c, header(command_id::bind_transceiver_resp, S::ESME_ROK,
                          decoded(out.at(0)).sequence_number));
    }
    return ups;
  }
  fake_transport::conn_id bound(command_id how) {
    auto c = t.accept();
    t.deliver(c, testing::bind_pdu(how, "acme", "secret", 1));
    EXPECT_EQ(decoded(t.take(c).at(0)).status, S::ESME_ROK);
    return c;
  }
  // Turns of the worker until `c` has something written, or 2 s.
  std::vector<std::vector<std::byte>> turns_until_output(fake_transport::conn_id c) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < end) {
      w->run_once(now, 0);
      auto out = t.take(c);
      if (!out.empty()) return out;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return {};
  }
  uint64_t now = 1000;
  fake_transport t;
  std::shared_ptr<router_snapshot> snap;
  shared_state shared;
  std::unique_ptr<store::journal> journal;
  std::unique_ptr<router_worker> w;
};

// Sends a submit_sm and the upstream's answer with `message_id`; returns what the ESME got
// within a few turns while the store is closed (nothing, when the answer waits).
void submit_answered_upstream(StoreRig& r, fake_transport::conn_id esme, fake_transport::conn_id up,
                              std::string_view message_id, uint32_t seq) {
  r.t.deliver(esme, submit_pdu("441234", seq));
  auto fwd = r.t.take(up);
  ASSERT_EQ(fwd.size(), 1U);
  pdu resp;
  resp.id = command_id::submit_sm_resp;
  resp.sequence_number = decoded(fwd.at(0)).sequence_number;
  resp.message_id = message_id;
  r.t.deliver(up, encode(resp));
}

TEST(RouterStore, ASubmitAnswerReachesTheEsmeOnlyOnceItsNoteIsStored) {
  gated_backend* b = nullptr;
  StoreRig r(b);
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound(command_id::bind_transceiver);
  b->open = false;  // the disk is slow
  submit_answered_upstream(r, esme, ups[0], "38601fa", 2);
  for (int i = 0; i < 20; ++i) {
    r.w->run_once(r.now, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(r.t.take(esme).empty()) << "answered before its note was stored";
  EXPECT_EQ(b->count(store::record_kind::note), 0U);
  b->open = true;
  const auto out = r.turns_until_output(esme);
  ASSERT_EQ(out.size(), 1U);
  const pdu a = decoded(out[0]);
  EXPECT_EQ(a.id, command_id::submit_sm_resp);
  EXPECT_EQ(a.sequence_number, 2U);
  EXPECT_EQ(a.message_id, "38601fa");
  EXPECT_EQ(b->count(store::record_kind::note), 1U);
  EXPECT_EQ(r.w->stats().answers_waiting_for_store, 1U);
}

TEST(RouterStore, AReceiptIsTakenIntoCustodyOnlyOnceItIsStored) {
  gated_backend* b = nullptr;
  StoreRig r(b);
  auto ups = r.bring_up_upstreams();
  auto tx = r.bound(command_id::bind_transmitter);  // no receiver: receipts are held
  submit_answered_upstream(r, tx, ups[0], "77", 2);
  ASSERT_EQ(r.turns_until_output(tx).size(), 1U);
  b->open = false;
  r.t.deliver(ups[0], receipt_pdu("id:77 stat:DELIVRD", 40));
  for (int i = 0; i < 20; ++i) {
    r.w->run_once(r.now, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(r.t.take(ups[0]).empty()) << "ESME_ROK to the SMSC before the receipt was stored";
  b->open = true;
  const auto ack = r.turns_until_output(ups[0]);
  ASSERT_EQ(ack.size(), 1U);
  EXPECT_EQ(decoded(ack[0]).status, S::ESME_ROK);
  EXPECT_EQ(decoded(ack[0]).sequence_number, 40U);
  EXPECT_EQ(b->count(store::record_kind::held), 1U);
  EXPECT_EQ(r.w->stats().held, 1U);
}

TEST(RouterStore, AFailingStoreLetsSubmitsThroughAndRefusesCustody) {
  gated_backend* b = nullptr;
  StoreRig r(b);
  auto ups = r.bring_up_upstreams();
  auto tx = r.bound(command_id::bind_transmitter);
  b->fail = true;
  submit_answered_upstream(r, tx, ups[0], "91", 2);
  // The journal finds out at its first append; the answer then goes without its note.
  const auto out = r.turns_until_output(tx);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).message_id, "91");
  EXPECT_TRUE(r.journal->failing());
  EXPECT_GE(r.w->stats().store_unjournaled, 1U);
  r.t.deliver(ups[0], receipt_pdu("id:91 stat:DELIVRD", 41));
  const auto ack = r.turns_until_output(ups[0]);
  ASSERT_EQ(ack.size(), 1U);
  EXPECT_EQ(decoded(ack[0]).status, S::ESME_RX_T_APPN) << "custody taken of what cannot be kept";
  EXPECT_EQ(r.w->stats().held, 0U);
  b->fail = false;
}

TEST(RouterStore, ANewWorkerOnTheShardTakesItsIdsAndHeldMessagesBack) {
  gated_backend* b = nullptr;
  auto keep = std::make_unique<gated_backend>();
  gated_backend* kept = keep.get();
  std::unique_ptr<store::journal> first_journal;
  {
    StoreRig r(b, std::move(keep));
    auto ups = r.bring_up_upstreams();
    auto tx = r.bound(command_id::bind_transmitter);
    submit_answered_upstream(r, tx, ups[0], "5001", 2);
    ASSERT_EQ(r.turns_until_output(tx).size(), 1U);
    submit_answered_upstream(r, tx, ups[0], "5002", 3);
    ASSERT_EQ(r.turns_until_output(tx).size(), 1U);
    r.t.deliver(ups[0], receipt_pdu("id:5001 stat:DELIVRD", 42));  // held: no receiver
    ASSERT_EQ(r.turns_until_output(ups[0]).size(), 1U);
    // The rig's journal owns the backend: take it over before the rig goes.
    first_journal = std::move(r.journal);
    r.w.reset();
    first_journal->stop();
    r.journal = std::make_unique<store::journal>(std::make_unique<gated_backend>(),
                                                 store::journal_config{});
  }
  EXPECT_EQ(kept->count(store::record_kind::note), 2U);
  EXPECT_EQ(kept->count(store::record_kind::held), 1U);
  // A new worker on the same records (the store as a restart finds it).
  fake_transport t;
  auto snap = make_snapshot();
  shared_state shared(snap->tenants.size(), snap->upstreams.size(), 1);
  shared.journals[0] = first_journal.get();
  router_worker w(0, 1, t, snap, &shared);
  w.recover(first_journal->store(), 1000);
  EXPECT_EQ(w.stats().store_recovered_notes, 2U);
  EXPECT_EQ(w.stats().store_recovered_held, 1U);
  first_journal->start();
  ASSERT_EQ(w.start(1000), 0);
  std::vector<fake_transport::conn_id> ups = t.pending_connects;
  t.pending_connects.clear();
  for (auto c : ups) {
    t.complete_connect(c);
    auto out = t.take(c);
    t.deliver(c, header(command_id::bind_transceiver_resp, S::ESME_ROK,
                        decoded(out.at(0)).sequence_number));
  }
  // The held receipt goes to the receiver that binds; the other id's receipt still matches.
  auto rx = t.accept();
  t.deliver(rx, testing::bind_pdu(command_id::bind_receiver, "acme", "secret", 1));
  (void)t.take(rx);
  w.tick(1010);
  w.run_once(1010, 0);
  auto got = t.take(rx);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(decoded(got[0]).id, command_id::deliver_sm);
  t.deliver(ups[0], receipt_pdu("id:5002 stat:DELIVRD", 43));
  w.run_once(1011, 0);
  EXPECT_EQ(w.stats().receipts_unmatched, 0U);
  got = t.take(rx);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_NE(std::string(reinterpret_cast<const char*>(decoded(got[0]).short_message.data()),
                        decoded(got[0]).short_message.size())
                .find("id:5002"),
            std::string::npos);
  first_journal->stop();
}

}  // namespace
}  // namespace smpp::dataplane
