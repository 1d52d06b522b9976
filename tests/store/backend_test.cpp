// Every engine behind smpp::store::backend (engines.hpp) through the same tests: what recovery
// replays, what lookups answer, TTL, capacity, reopening, and a journal torn at a crash.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "smpp/store/engines.hpp"
#include "store_test_support.hpp"

namespace smpp::store {
namespace {

using testing::add_note;
using testing::collecting_visitor;
using testing::engine_name;
using testing::group;
using testing::key_of;
using testing::owned_note;
using testing::pdu_of;
using testing::scratch_dir;
using testing::wall_ms;

class Backend : public ::testing::TestWithParam<engine> {
 protected:
  store_config config(sync_policy sync = sync_policy::batch) const {
    store_config c;
    c.path = dir_.path() / "shard";
    c.sync = sync;
    c.capacity_bytes = 64ull << 20;
    return c;
  }
  std::unique_ptr<backend> open(const store_config& c) const {
    auto b = open_backend(GetParam(), c);
    return b;
  }
  // Opens and recovers, answering what recovery replayed.
  std::unique_ptr<backend> reopen(const store_config& c, collecting_visitor& seen) const {
    auto b = open(c);
    b->recover(seen);
    return b;
  }
  scratch_dir dir_;
};

TEST_P(Backend, NotesWithoutTheirFinalAreRecoveredWithEveryField) {
  const auto c = config();
  const std::uint64_t now = wall_ms();
  {
    collecting_visitor none;
    auto b = reopen(c, none);
    EXPECT_EQ(none.note_calls, 0u);
    group g;
    for (std::uint64_t n = 0; n < 300; ++n) {
      add_note(g, n, now + n, static_cast<std::uint16_t>(n % 3));
      if (g.bytes().size() > 8000) {
        b->append(g.bytes());
        g.clear();
      }
    }
    b->append(g.bytes());
    EXPECT_EQ(b->stats().records_appended, 300u);
  }
  collecting_visitor seen;
  auto b = reopen(c, seen);
  ASSERT_EQ(seen.notes.size(), 300u);
  EXPECT_EQ(seen.note_calls, 300u);
  for (std::uint64_t n = 0; n < 300; ++n) {
    const owned_note expected(n, now + n, static_cast<std::uint16_t>(n % 3));
    const auto& got = seen.notes.at(n);
    EXPECT_EQ(got.submit_ms, expected.note.submit_ms);
    EXPECT_EQ(got.tenant, expected.note.tenant);
    EXPECT_EQ(got.upstream, expected.note.upstream);
    EXPECT_EQ(got.tag, expected.note.tag);
    EXPECT_EQ(got.source, expected.source);
    EXPECT_EQ(got.destination, expected.destination);
  }
}

TEST_P(Backend, NotesWithTheirFinalAreNotRecoveredAndReceiptsAloneDoNotEndThem) {
  const auto c = config();
  const std::uint64_t now = wall_ms();
  {
    collecting_visitor none;
    auto b = reopen(c, none);
    group g;
    for (std::uint64_t n = 0; n < 100; ++n) add_note(g, n, now);
    b->append(g.bytes());
    g.clear();
    for (std::uint64_t n = 0; n < 100; n += 2) {
      g.add(receipt_record{key_of(n), now + 1, 1, receipt_state::delivered, true});
      if (n % 4 == 0) g.add(final_record{key_of(n), now + 2, 1});
    }
    b->append(g.bytes());
  }
  collecting_visitor seen;
  auto b = reopen(c, seen);
  EXPECT_EQ(seen.notes.size(), 75u);
  for (std::uint64_t n = 0; n < 100; ++n) EXPECT_EQ(seen.notes.count(n), n % 4 == 0 ? 0u : 1u);
}

TEST_P(Backend, AnIdNotedAgainAfterItsFinalIsANewMessageRecoveredAndAnswered) {
  // SMSCs reuse ids (and two radices can read two ids alike): a note after the id's final
  // starts a new message, in the same group, in the next one, or after a reopen.
  const auto c = config();
  const std::uint64_t now = wall_ms();
  {
    collecting_visitor none;
    auto b = reopen(c, none);
    group g;
    add_note(g, 1, now);
    g.add(receipt_record{key_of(1), now + 1, 1, receipt_state::delivered, true});
    g.add(final_record{key_of(1), now + 2, 1});
    add_note(g, 1, now + 3);  // the same group
    b->append(g.bytes());
    g.clear();
    add_note(g, 2, now);
    g.add(final_record{key_of(2), now + 1, 1});
    b->append(g.bytes());
    g.clear();
    add_note(g, 2, now + 2);  // the next group
    b->append(g.bytes());
  }
  {
    collecting_visitor seen;
    auto b = reopen(c, seen);
    EXPECT_EQ(seen.notes.size(), 2u);
    EXPECT_EQ(seen.notes.count(1), 1u);
    EXPECT_EQ(seen.notes.count(2), 1u);
    const auto s1 = b->lookup(key_of(1));
    ASSERT_TRUE(s1.has_value());
    EXPECT_FALSE(s1->final_);
    EXPECT_FALSE(s1->delivered);
    EXPECT_EQ(s1->state, receipt_state::none);
    EXPECT_EQ(s1->submit_ms, now + 3);
    group g;
    add_note(g, 3, now);
    g.add(final_record{key_of(3), now + 1, 1});
    b->append(g.bytes());
  }
  {
    collecting_visitor seen;
    auto b = reopen(c, seen);  // a new run: id 3 is noted again after the reopen
    EXPECT_EQ(seen.notes.count(3), 0u);
    group g;
    add_note(g, 3, now + 5);
    b->append(g.bytes());
  }
  collecting_visitor seen;
  auto b = reopen(c, seen);
  EXPECT_EQ(seen.notes.count(3), 1u);
}

TEST_P(Backend, HeldMessagesAreRecoveredInOrderUntilTheirHeldDone) {
  const auto c = config();
  const std::uint64_t now = wall_ms();
  std::vector<std::vector<std::byte>> pdus;
  for (std::uint64_t id = 1; id <= 40; ++id) pdus.push_back(pdu_of(id, 100 + id * 20));
  {
    collecting_visitor none;
    auto b = reopen(c, none);
    group g;
    for (std::uint64_t id = 1; id <= 40; ++id) {
      g.add(held_record{id, now + id, static_cast<std::uint16_t>(id % 5),
                        static_cast<held_kind>(id % 3), pdus[id - 1]});
    }
    b->append(g.bytes());
    g.clear();
    for (std::uint64_t id = 1; id <= 40; id += 3) g.add(held_done_record{id});
    b->append(g.bytes());
  }
  collecting_visitor seen;
  auto b = reopen(c, seen);
  std::vector<std::uint64_t> expected;
  for (std::uint64_t id = 1; id <= 40; ++id) {
    if ((id - 1) % 3 != 0) expected.push_back(id);
  }
  EXPECT_EQ(seen.held_order, expected);
  for (const std::uint64_t id : expected) {
    const auto& h = seen.held.at(id);
    EXPECT_EQ(h.received_ms, now + id);
    EXPECT_EQ(h.tenant, id % 5);
    EXPECT_EQ(h.kind, static_cast<held_kind>(id % 3));
    EXPECT_EQ(h.pdu, pdus[id - 1]);
  }
  // Custody ends with the held_done, after another reopen too.
  group g;
  for (const std::uint64_t id : expected) g.add(held_done_record{id});
  b->append(g.bytes());
  b.reset();
  collecting_visitor after;
  b = reopen(c, after);
  EXPECT_TRUE(after.held.empty());
}

TEST_P(Backend, LookupAnswersTheLatestStateWhetherDeliveredAndWhetherFinal) {
  const auto c = config();
  const std::uint64_t now = wall_ms();
  collecting_visitor none;
  auto b = reopen(c, none);
  EXPECT_FALSE(b->lookup(key_of(7)));
  group g;
  add_note(g, 7, now, 9);
  b->append(g.bytes());
  auto s = b->lookup(key_of(7));
  ASSERT_TRUE(s);
  const owned_note expected(7, now, 9);
  EXPECT_EQ(s->key, key_of(7));
  EXPECT_EQ(s->submit_ms, now);
  EXPECT_EQ(s->tenant, 9);
  EXPECT_EQ(s->upstream, expected.note.upstream);
  EXPECT_EQ(s->source, expected.source);
  EXPECT_EQ(s->destination, expected.destination);
  EXPECT_EQ(s->state, receipt_state::none);
  EXPECT_EQ(s->state_ms, 0u);
  EXPECT_FALSE(s->delivered);
  EXPECT_FALSE(s->final_);

  g.clear();
  g.add(receipt_record{key_of(7), now + 10, 1, receipt_state::enroute, false});
  b->append(g.bytes());
  s = b->lookup(key_of(7));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, receipt_state::enroute);
  EXPECT_EQ(s->state_ms, now + 10);
  EXPECT_FALSE(s->delivered);

  g.clear();
  g.add(receipt_record{key_of(7), now + 20, 1, receipt_state::enroute, true});
  g.add(receipt_record{key_of(7), now + 30, 1, receipt_state::delivered, false});
  b->append(g.bytes());
  s = b->lookup(key_of(7));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, receipt_state::delivered);
  EXPECT_EQ(s->state_ms, now + 30);
  EXPECT_TRUE(s->delivered);
  EXPECT_FALSE(s->final_);

  g.clear();
  g.add(receipt_record{key_of(7), now + 40, 1, receipt_state::delivered, true});
  g.add(final_record{key_of(7), now + 40, 1});
  b->append(g.bytes());
  s = b->lookup(key_of(7));
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->final_);
  EXPECT_TRUE(s->delivered);
  EXPECT_EQ(s->state, receipt_state::delivered);

  // The same answers after a reopen.
  b.reset();
  collecting_visitor seen;
  b = reopen(c, seen);
  EXPECT_TRUE(seen.notes.empty());
  s = b->lookup(key_of(7));
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->final_);
  EXPECT_TRUE(s->delivered);
  EXPECT_EQ(s->state, receipt_state::delivered);
  EXPECT_EQ(s->state_ms, now + 40);
  EXPECT_FALSE(b->lookup(key_of(8)));
}

TEST_P(Backend, AFinishedNoteIsAnsweredOnlyForKeepFinalMs) {
  auto c = config();
  c.keep_final_ms = 1000;
  const std::uint64_t now = wall_ms();
  collecting_visitor none;
  auto b = reopen(c, none);
  group g;
  add_note(g, 1, now);
  add_note(g, 2, now);
  g.add(final_record{key_of(1), now - 2000, 1});
  g.add(final_record{key_of(2), now, 1});
  b->append(g.bytes());
  EXPECT_FALSE(b->lookup(key_of(1)));
  EXPECT_TRUE(b->lookup(key_of(2)));
}

TEST_P(Backend, ListAnswersATenantsMessagesSinceATimeOldestFirstUpToTheLimit) {
  const auto c = config();
  const std::uint64_t now = wall_ms();
  collecting_visitor none;
  auto b = reopen(c, none);
  for (std::uint64_t round = 0; round < 4; ++round) {  // several groups
    group g;
    for (std::uint64_t n = round * 50; n < round * 50 + 50; ++n) {
      add_note(g, n, now - 1000 + n, static_cast<std::uint16_t>(n % 2 + 1));
    }
    b->append(g.bytes());
  }
  const auto all = b->list(2, 0, 1000);
  ASSERT_EQ(all.size(), 100u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].key, key_of(2 * i + 1));
    EXPECT_EQ(all[i].tenant, 2);
  }
  const auto since = b->list(1, now - 1000 + 100, 10);
  ASSERT_EQ(since.size(), 10u);
  for (std::size_t i = 0; i < since.size(); ++i) EXPECT_EQ(since[i].key, key_of(100 + 2 * i));
  EXPECT_TRUE(b->list(3, 0, 10).empty());
  EXPECT_TRUE(b->list(1, 0, 0).empty());
}

TEST_P(Backend, NotesPastTheirTtlAreNeitherRecoveredNorAnswered) {
  auto c = config();
  c.ttl_ms = 60'000;
  const std::uint64_t now = wall_ms();
  {
    collecting_visitor none;
    auto b = reopen(c, none);
    group g;
    for (std::uint64_t n = 0; n < 20; ++n) add_note(g, n, n < 10 ? now - 61'000 : now);
    b->append(g.bytes());
    EXPECT_FALSE(b->lookup(key_of(3)));
    EXPECT_TRUE(b->lookup(key_of(13)));
  }
  collecting_visitor seen;
  auto b = reopen(c, seen);
  EXPECT_EQ(seen.notes.size(), 10u);
  EXPECT_EQ(seen.notes.begin()->first, 10u);
}

// The space of what is past its ttl goes back, and the notes that had no final are counted.
TEST_P(Backend, TtlDropsWhatIsOlderAndCountsTheNotesWithoutAFinalAsExpired) {
  auto c = config();
  c.ttl_ms = 300;
  collecting_visitor none;
  auto b = reopen(c, none);
  const std::uint64_t start = wall_ms();
  group g;
  for (std::uint64_t n = 0; n < 50; ++n) add_note(g, n, start);
  for (std::uint64_t n = 0; n < 10; ++n) g.add(final_record{key_of(n), start, 1});
  b->append(g.bytes());
  EXPECT_EQ(b->stats().expired, 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  // Later traffic: maintenance runs on the journal's appends.
  for (std::uint64_t i = 0; i < 130; ++i) {
    g.clear();
    add_note(g, 1000 + i, wall_ms());
    g.add(final_record{key_of(1000 + i), wall_ms(), 1});
    b->append(g.bytes());
  }
  EXPECT_EQ(b->stats().expired, 40u);
  EXPECT_EQ(b->stats().evicted, 0u);
  EXPECT_FALSE(b->lookup(key_of(20)));
}

// Over capacity the oldest notes go first, each one counted: the notes no longer answered are
// exactly the evicted count, and the newest are all there.
TEST_P(Backend, OverCapacityTheOldestNotesAreEvictedAndCounted) {
  auto c = config();
  c.capacity_bytes = 4ull << 20;
  collecting_visitor none;
  auto b = reopen(c, none);
  const std::uint64_t now = wall_ms();
  constexpr std::uint64_t total = 120'000;
  group g;
  for (std::uint64_t n = 0; n < total; ++n) {
    add_note(g, n, now + n / 1000);
    if (n % 256 == 255) {
      b->append(g.bytes());
      g.clear();
    }
  }
  b->append(g.bytes());
  const auto s = b->stats();
  EXPECT_GT(s.evicted, 0u);
  EXPECT_EQ(s.expired, 0u);
  EXPECT_LE(s.bytes_on_disk, c.capacity_bytes);
  std::uint64_t missing = 0;
  std::uint64_t first_present = total;
  for (std::uint64_t n = 0; n < total; ++n) {
    if (b->lookup(key_of(n))) {
      first_present = std::min(first_present, n);
    } else {
      ++missing;
      EXPECT_LT(n, first_present) << "a newer note went before an older one";
    }
  }
  EXPECT_EQ(missing, s.evicted);
  EXPECT_GE(first_present, total / 4);  // the 4 MiB hold fewer than 90,000 notes
  for (std::uint64_t n = total - 1000; n < total; ++n) ASSERT_TRUE(b->lookup(key_of(n))) << n;
}

TEST_P(Backend, ReopeningAfterCloseKeepsEverythingAndAppendsAfterIt) {
  const auto c = config();
  const std::uint64_t now = wall_ms();
  for (std::uint64_t run = 0; run < 3; ++run) {
    collecting_visitor seen;
    auto b = reopen(c, seen);
    EXPECT_EQ(seen.notes.size(), run * 10);
    EXPECT_EQ(seen.held.size(), run);
    group g;
    for (std::uint64_t n = run * 10; n < run * 10 + 10; ++n) add_note(g, n, now);
    const auto pdu = pdu_of(run);
    g.add(held_record{run + 1, now, 1, held_kind::mo, pdu});
    b->append(g.bytes());
    EXPECT_EQ(b->stats().groups_appended, 1u);
  }
}

TEST_P(Backend, AGroupWithAnInvalidRecordIsRefusedWholeAndTheBackendGoesOn) {
  const auto c = config();
  const std::uint64_t now = wall_ms();
  collecting_visitor none;
  auto b = reopen(c, none);
  group g;
  add_note(g, 1, now);
  std::vector<std::byte> bad(g.bytes().begin(), g.bytes().end());
  bad.push_back(std::byte{0x55});  // a record cut after one octet
  EXPECT_THROW(b->append(bad), store_error);
  EXPECT_FALSE(b->lookup(key_of(1)));
  b->append(g.bytes());
  EXPECT_TRUE(b->lookup(key_of(1)));
  b.reset();
  collecting_visitor seen;
  b = reopen(c, seen);
  EXPECT_EQ(seen.note_calls, 1u);
}

TEST_P(Backend, UnderPolicyOffNothingIsKept) {
  const auto c = config(sync_policy::off);
  const std::uint64_t now = wall_ms();
  {
    collecting_visitor none;
    auto b = reopen(c, none);
    group g;
    add_note(g, 1, now);
    b->append(g.bytes());
    EXPECT_FALSE(b->lookup(key_of(1)));
    EXPECT_EQ(b->stats().records_appended, 1u);
    EXPECT_EQ(b->stats().bytes_on_disk, 0u);
  }
  collecting_visitor seen;
  auto b = reopen(c, seen);
  EXPECT_EQ(seen.note_calls, 0u);
  EXPECT_FALSE(std::filesystem::exists(c.path));
}

TEST_P(Backend, UnderPolicyFsyncGroupsAreKeptAsUnderBatch) {
  const auto c = config(sync_policy::fsync);
  const std::uint64_t now = wall_ms();
  {
    collecting_visitor none;
    auto b = reopen(c, none);
    for (std::uint64_t n = 0; n < 5; ++n) {
      group g;
      add_note(g, n, now);
      b->append(g.bytes());
    }
  }
  collecting_visitor seen;
  auto b = reopen(c, seen);
  EXPECT_EQ(seen.notes.size(), 5u);
}

TEST_P(Backend, AStoreWhosePathCannotBeADirectoryFailsToOpenNamingIt) {
  auto c = config();
  const auto file = dir_.path() / "a-file";
  std::ofstream(file) << "x";
  c.path = file / "shard";
  try {
    auto b = open(c);
    FAIL() << "opened";
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find(c.path.string()), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, Backend,
                         ::testing::Values(engine::log, engine::rocksdb, engine::lmdb),
                         engine_name);

// The engines that write a journal (our segments, RocksDB's WAL): a crash during a write leaves a
// torn group at its end, and garbage may follow it. LMDB writes no journal: it writes new pages
// and then its meta page, so there is no tail to tear (store_crash_test covers it).
class TornJournal : public Backend {
 protected:
  // The file the engine appends to: the newest segment or the newest WAL.
  std::filesystem::path journal_file(const store_config& c) const {
    std::filesystem::path newest;
    for (const auto& e : std::filesystem::directory_iterator(c.path)) {
      const auto name = e.path().filename().string();
      const bool ours =
          GetParam() == engine::log ? name.rfind("seg-", 0) == 0 : e.path().extension() == ".log";
      if (ours && (newest.empty() || name > newest.filename().string())) newest = e.path();
    }
    return newest;
  }
};

TEST_P(TornJournal, ATornLastGroupIsLostAloneAndTheStoreGoesOnAfterIt) {
  std::mt19937_64 rng(0xC0FFEE);
  const std::uint64_t now = wall_ms();
  for (int round = 0; round < 6; ++round) {
    auto c = config();
    c.path = dir_.path() / ("shard" + std::to_string(round));
    std::uintmax_t before_last = 0;
    std::uintmax_t after_last = 0;
    {
      collecting_visitor none;
      auto b = reopen(c, none);
      for (std::uint64_t gi = 0; gi < 10; ++gi) {
        if (gi == 9) before_last = std::filesystem::file_size(journal_file(c));
        group g;
        for (std::uint64_t n = gi * 20; n < gi * 20 + 20; ++n) add_note(g, n, now);
        b->append(g.bytes());
      }
      after_last = std::filesystem::file_size(journal_file(c));
    }
    ASSERT_GT(after_last, before_last);
    const auto cut = before_last + rng() % (after_last - before_last);
    std::filesystem::resize_file(journal_file(c), cut);
    collecting_visitor seen;
    auto b = reopen(c, seen);
    EXPECT_EQ(seen.notes.size(), 180u)
        << "cut at " << cut << " of " << before_last << ".." << after_last;
    EXPECT_EQ(seen.notes.count(179), 1u);
    EXPECT_EQ(seen.notes.count(180), 0u);
    group g;
    add_note(g, 500, now);
    b->append(g.bytes());
    b.reset();
    collecting_visitor again;
    b = reopen(c, again);
    EXPECT_EQ(again.notes.size(), 181u);
  }
}

TEST_P(TornJournal, GarbageAfterTheLastGroupIsIgnored) {
  std::mt19937_64 rng(0xBADF00D);
  const auto c = config();
  const std::uint64_t now = wall_ms();
  {
    collecting_visitor none;
    auto b = reopen(c, none);
    group g;
    for (std::uint64_t n = 0; n < 30; ++n) add_note(g, n, now);
    b->append(g.bytes());
  }
  {
    std::ofstream out(journal_file(c), std::ios::binary | std::ios::app);
    for (int i = 0; i < 777; ++i) out.put(static_cast<char>(rng()));
  }
  collecting_visitor seen;
  auto b = reopen(c, seen);
  EXPECT_EQ(seen.notes.size(), 30u);
}

INSTANTIATE_TEST_SUITE_P(Engines, TornJournal, ::testing::Values(engine::log, engine::rocksdb),
                         engine_name);

}  // namespace
}  // namespace smpp::store
