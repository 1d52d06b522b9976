// The message journal: what a store wrote is what a new store reads back after a restart
// (parts answered are not sent again, the others are, receipts still match), eviction deletes,
// ids continue, the backlog bound pauses take(), and a failed write refuses the request.
#include "smpp/http/message_journal.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <thread>

#include "../support/child_process.hpp"

namespace smpp::http {
namespace {

using namespace std::chrono_literals;
using codec::command_status;

std::shared_ptr<message_content> content(std::size_t parts, bool dlr = true) {
  auto c = std::make_shared<message_content>();
  c->client = 1;
  c->from = {5, 0, "ACME"};
  c->client_ref = "ref-1";
  c->dlr_url = "http://127.0.0.1:1/dlr";
  c->validity_period = "000001000000000R";
  for (std::size_t i = 0; i < parts; ++i) {
    message_part p;
    p.esm_class = 0x40;
    p.data_coding = 8;
    p.short_message = {std::byte{5}, std::byte{0}, std::byte{3}, std::byte(i)};
    c->parts.push_back(p);
  }
  c->dlr = dlr;
  return c;
}

std::vector<sme_address> recipients(std::size_t n) {
  std::vector<sme_address> to;
  for (std::size_t i = 0; i < n; ++i) to.push_back({1, 1, "4470000" + std::to_string(i)});
  return to;
}

const std::vector<std::string> clients{"other", "acme"};

struct opened {
  std::unique_ptr<message_journal> journal;
  std::unique_ptr<message_store> store;
  std::size_t restored_parts = 0;
  std::size_t restored_messages = 0;
};

// A journal on `path` read back into a new store that writes to it.
opened open_store(const std::string& path, const store_config& limits = {},
                  std::size_t max_backlog = 500000, bool start = true) {
  opened o;
  std::string error;
  o.journal = message_journal::open({path, "normal", max_backlog}, clients, error);
  EXPECT_TRUE(o.journal) << error;
  if (!o.journal) return o;
  auto restored = o.journal->load();
  o.restored_messages = restored.size();
  o.store =
      std::make_unique<message_store>(limits, std::max<std::uint64_t>(100, o.journal->next_id()));
  o.restored_parts = o.store->restore(std::move(restored), 0);
  o.store->set_journal(o.journal.get());
  if (start) o.journal->start();
  return o;
}

std::string temp_db(const char* name) {
  return smpp::testing::make_temp_dir(::testing::TempDir(), name) + "state.db";
}

TEST(MessageJournal, ARestartSendsAgainOnlyWhatTheSmscDidNotAnswer) {
  const std::string path = temp_db("journal_restart_");
  {
    opened o = open_store(path);
    ASSERT_TRUE(o.store);
    EXPECT_EQ(o.restored_messages, 0u);
    auto& s = *o.store;
    // 100, 101: two parts each, dlr; 102: two parts, no dlr.
    ASSERT_EQ(s.accept(content(2), recipients(2), 10).first_id, 100u);
    ASSERT_EQ(s.accept(content(2, false), recipients(1), 11).first_id, 102u);
    std::vector<submit_job> jobs;
    ASSERT_EQ(s.take(6, jobs, 12), 6u);
    // 100: part 0 answered; 101: both answered, part 0 delivered; 102: part 1 answered.
    s.on_response(jobs[0], command_status::ESME_ROK, "A0", 13);
    s.on_response(jobs[2], command_status::ESME_ROK, "B0", 13);
    s.on_response(jobs[3], command_status::ESME_ROK, "B1", 13);
    EXPECT_TRUE(s.on_receipt("B0", codec::message_state::delivered, 14));
    s.on_response(jobs[5], command_status::ESME_ROK, "C1", 15);
    o.journal->stop();  // writes the rest
    EXPECT_EQ(o.journal->counters().backlog, 0u);
    EXPECT_GE(o.journal->counters().commits, 1u);
  }
  opened o = open_store(path);
  ASSERT_TRUE(o.store);
  auto& s = *o.store;
  EXPECT_EQ(o.restored_messages, 3u);
  EXPECT_EQ(o.restored_parts, 2u) << "100 part 1 and 102 part 0";
  std::vector<submit_job> jobs;
  ASSERT_EQ(s.take(10, jobs, 20), 2u);
  EXPECT_EQ(jobs[0].id, 100u);
  EXPECT_EQ(jobs[0].part, 1u);
  EXPECT_EQ(jobs[1].id, 102u);
  EXPECT_EQ(jobs[1].part, 0u);
  // The content came back whole.
  const message_content& c = *jobs[0].content;
  EXPECT_EQ(c.client, 1u) << "found by name";
  EXPECT_EQ(c.from.digits, "ACME");
  EXPECT_EQ(c.from.ton, 5u);
  EXPECT_EQ(c.client_ref, "ref-1");
  EXPECT_EQ(c.dlr_url, "http://127.0.0.1:1/dlr");
  EXPECT_EQ(c.validity_period, "000001000000000R");
  ASSERT_EQ(c.parts.size(), 2u);
  EXPECT_EQ(c.parts[1].esm_class, 0x40u);
  EXPECT_EQ(c.parts[1].data_coding, 8u);
  EXPECT_EQ(c.parts[1].short_message,
            (std::vector<std::byte>{std::byte{5}, std::byte{0}, std::byte{3}, std::byte{1}}));
  // 101 waits for the receipt of part 1 only; its part 0 was delivered before the restart.
  const message_view v101 = s.find(101, 1).value();
  EXPECT_EQ(v101.state, message_state::accepted);
  EXPECT_EQ(v101.parts_delivered, 1u);
  EXPECT_FALSE(s.on_receipt("B0", codec::message_state::delivered, 21)) << "already applied";
  EXPECT_TRUE(s.on_receipt("B1", codec::message_state::delivered, 21));
  EXPECT_EQ(s.find(101, 1)->state, message_state::delivered);
  // 100 completes with its resent part; the receipt of the part answered before still matches.
  s.on_response(jobs[0], command_status::ESME_ROK, "A1", 22);
  EXPECT_TRUE(s.on_receipt("A0", codec::message_state::delivered, 23));
  EXPECT_TRUE(s.on_receipt("A1", codec::message_state::delivered, 23));
  EXPECT_EQ(s.find(100, 1)->state, message_state::delivered);
  EXPECT_EQ(s.find(100, 1)->created_ms, 10);
  s.on_response(jobs[1], command_status::ESME_ROK, "C0", 24);
  EXPECT_EQ(s.find(102, 1)->state, message_state::accepted);
  EXPECT_FALSE(s.find(100, 0).has_value()) << "another client's";
  // A third start: everything final, nothing to send, the states as they were.
  o.journal->stop();
  opened third = open_store(path);
  ASSERT_TRUE(third.store);
  EXPECT_EQ(third.restored_parts, 0u);
  EXPECT_EQ(third.store->find(100, 1)->state, message_state::delivered);
  EXPECT_EQ(third.store->find(100, 1)->parts_delivered, 2u);
  EXPECT_EQ(third.store->find(102, 1)->parts_accepted, 2u);
  EXPECT_EQ(third.store->accept(content(1), recipients(1), 30).first_id, 103u) << "ids continue";
}

TEST(MessageJournal, EvictedMessagesAreDeletedAndIdsStillContinue) {
  const std::string path = temp_db("journal_evict_");
  store_config limits;
  limits.max_messages = 2;
  {
    opened o = open_store(path, limits);
    ASSERT_TRUE(o.store);
    auto& s = *o.store;
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(s.accept(content(1, false), recipients(2), 0).status,
                message_store::accept_status::ok);
      std::vector<submit_job> jobs;
      ASSERT_EQ(s.take(2, jobs, 0), 2u);
      for (const auto& j : jobs) s.on_response(j, command_status::ESME_ROK, "x", 0);
    }
    EXPECT_EQ(s.counters().messages_evicted, 4u);
  }
  opened o = open_store(path, limits);
  ASSERT_TRUE(o.store);
  EXPECT_EQ(o.restored_messages, 2u) << "the four evicted ones are gone from the file";
  EXPECT_FALSE(o.store->find(103, 1).has_value());
  EXPECT_EQ(o.store->find(104, 1)->state, message_state::accepted);
  EXPECT_EQ(o.store->accept(content(1), recipients(1), 0).first_id, 106u);
}

TEST(MessageJournal, ABacklogBeyondItsBoundPausesTakeUntilWritten) {
  const std::string path = temp_db("journal_backlog_");
  opened o = open_store(path, {}, 3, false);
  ASSERT_TRUE(o.store);
  for (std::uint64_t id = 1; id <= 4; ++id) o.journal->progressed({id});
  EXPECT_TRUE(o.journal->backlogged()) << "4 rows waiting, bound 3";
  EXPECT_EQ(o.journal->counters().backlog, 4u);
  std::vector<submit_job> jobs;
  EXPECT_EQ(o.store->take(10, jobs, 0), 0u);
  EXPECT_EQ(o.store->counters().takes_paused, 1u);
  o.journal->start();
  for (const auto until = std::chrono::steady_clock::now() + 10s;
       o.journal->counters().backlog != 0 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(o.journal->counters().backlog, 0u);
  EXPECT_FALSE(o.journal->backlogged());
  ASSERT_EQ(o.store->accept(content(1), recipients(1), 0).status, message_store::accept_status::ok);
  EXPECT_EQ(o.store->take(10, jobs, 0), 1u);
}

TEST(MessageJournal, ARequestThatCannotBeWrittenIsRefusedAndNeverSent) {
  const std::string path = temp_db("journal_fail_");
  opened o = open_store(path);
  ASSERT_TRUE(o.store);
  // Another connection takes the table away: the next insert fails.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "DROP TABLE messages", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  const auto r = o.store->accept(content(1), recipients(3), 0);
  EXPECT_EQ(r.status, message_store::accept_status::not_stored);
  std::vector<submit_job> jobs;
  EXPECT_EQ(o.store->take(10, jobs, 0), 0u);
  const auto c = o.store->counters();
  EXPECT_EQ(c.requests_not_stored, 1u);
  EXPECT_EQ(c.messages_accepted, 0u);
  EXPECT_EQ(c.queued_parts, 0u);
  EXPECT_EQ(o.journal->counters().commit_failures, 1u);
}

TEST(MessageJournal, RequestsBegunTogetherShareOneCommitAndQueueOnlyWhenFinished) {
  const std::string path = temp_db("journal_begun_");
  opened o = open_store(path, {}, 500000, false);  // the writer starts after every begin
  ASSERT_TRUE(o.store);
  auto& s = *o.store;
  constexpr std::size_t n = 50;
  std::vector<message_store::pending_accept> begun;
  for (std::size_t i = 0; i < n; ++i) begun.push_back(s.begin_accept(content(1), recipients(1), 0));
  std::vector<submit_job> jobs;
  EXPECT_EQ(s.take(n, jobs, 0), 0u);  // nothing is sent before its commit
  o.journal->start();
  for (std::size_t i = 0; i < n; ++i) {
    const auto r = s.finish_accept(begun[i], 0);
    EXPECT_EQ(r.status, message_store::accept_status::ok);
    EXPECT_EQ(r.first_id, 100 + i);
  }
  EXPECT_EQ(o.journal->counters().commits, 1u);
  EXPECT_EQ(s.take(2 * n, jobs, 0), n);
  EXPECT_EQ(s.counters().messages_accepted, n);
  o.journal->stop();
  opened again = open_store(path);
  EXPECT_EQ(again.restored_messages, n);
}

TEST(MessageJournal, AnUnusablePathIsAnErrorNamingIt) {
  std::string error;
  EXPECT_FALSE(message_journal::open({"/nonexistent-dir/x.db"}, clients, error));
  EXPECT_NE(error.find("/nonexistent-dir/x.db: cannot open"), std::string::npos) << error;
}

}  // namespace
}  // namespace smpp::http
