// The message table: states from queued to delivered, rejected and failed, receipts before
// answers, retries, and the two bounds with their answers.
#include "smpp/http/message_store.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace smpp::http {
namespace {

using codec::command_status;

std::shared_ptr<message_content> content(std::size_t parts, bool dlr = true) {
  auto c = std::make_shared<message_content>();
  c->client = 3;
  c->from = {5, 0, "ACME"};
  c->parts.resize(parts);
  c->dlr = dlr;
  return c;
}

std::vector<sme_address> recipients(std::size_t n) {
  std::vector<sme_address> to;
  for (std::size_t i = 0; i < n; ++i) to.push_back({1, 1, "4470000" + std::to_string(i)});
  return to;
}

message_state state_of(const message_store& s, std::uint64_t id) {
  return s.find(id, 3).value().state;
}

TEST(MessageStore, AMessageGoesFromQueuedToDelivered) {
  message_store s({}, 100);
  const auto a = s.accept(content(2), recipients(1), 1000);
  ASSERT_EQ(a.status, message_store::accept_status::ok);
  EXPECT_EQ(a.first_id, 100u);
  EXPECT_EQ(state_of(s, 100), message_state::queued);
  std::vector<submit_job> jobs;
  ASSERT_EQ(s.take(10, jobs, 1001), 2u);
  EXPECT_EQ(state_of(s, 100), message_state::submitted);
  s.on_response(jobs[0], command_status::ESME_ROK, "A1", 1002);
  EXPECT_EQ(state_of(s, 100), message_state::submitted);
  s.on_response(jobs[1], command_status::ESME_ROK, "A2", 1003);
  EXPECT_EQ(state_of(s, 100), message_state::accepted);
  EXPECT_TRUE(s.on_receipt("a1", codec::message_state::delivered, 1004));  // case ignored
  EXPECT_EQ(state_of(s, 100), message_state::accepted);
  EXPECT_TRUE(s.on_receipt("A2", codec::message_state::delivered, 1005));
  const message_view v = s.find(100, 3).value();
  EXPECT_EQ(v.state, message_state::delivered);
  EXPECT_EQ(v.parts_delivered, 2u);
  EXPECT_EQ(v.created_ms, 1000);
  EXPECT_EQ(v.submitted_ms, 1001);
  EXPECT_EQ(v.accepted_ms, 1003);
  EXPECT_EQ(v.done_ms, 1005);
  EXPECT_FALSE(s.find(100, 4).has_value()) << "another client's message";
  EXPECT_FALSE(s.on_receipt("A2", codec::message_state::delivered, 1006)) << "a duplicate";
}

TEST(MessageStore, AReceiptBeforeItsAnswerIsMatchedWhenTheAnswerComes) {
  message_store s({}, 1);
  (void)s.accept(content(1), recipients(1), 0);
  std::vector<submit_job> jobs;
  (void)s.take(1, jobs, 0);
  EXPECT_FALSE(s.on_receipt("0042", codec::message_state::delivered, 1));
  s.on_response(jobs[0], command_status::ESME_ROK, "42", 2);
  EXPECT_EQ(state_of(s, 1), message_state::delivered);
}

TEST(MessageStore, AnErrorAnswerRejectsWithTheStatusAndUndeliverableFails) {
  message_store s({}, 1);
  (void)s.accept(content(1), recipients(2), 0);
  std::vector<submit_job> jobs;
  (void)s.take(2, jobs, 0);
  s.on_response(jobs[0], command_status::ESME_RINVDSTADR, "", 1);
  const auto v = s.find(1, 3).value();
  EXPECT_EQ(v.state, message_state::rejected);
  EXPECT_EQ(v.smpp_status, 0x0Bu);
  s.on_response(jobs[1], command_status::ESME_ROK, "7", 1);
  EXPECT_TRUE(s.on_receipt("7", codec::message_state::enroute, 2));  // intermediate
  EXPECT_EQ(state_of(s, 2), message_state::accepted);
  EXPECT_TRUE(s.on_receipt("7", codec::message_state::undeliverable, 3));
  EXPECT_EQ(state_of(s, 2), message_state::failed);
}

TEST(MessageStore, ThrottledPartsAreSubmittedAgainUntilMaxAttempts) {
  store_config limits;
  limits.max_attempts = 2;
  message_store s(limits, 1);
  (void)s.accept(content(1), recipients(1), 0);
  std::vector<submit_job> jobs;
  ASSERT_EQ(s.take(1, jobs, 0), 1u);
  s.on_response(jobs[0], command_status::ESME_RTHROTTLED, "", 1);
  EXPECT_EQ(state_of(s, 1), message_state::submitted);
  jobs.clear();
  ASSERT_EQ(s.take(1, jobs, 2), 1u) << "queued again";
  s.on_response(jobs[0], command_status::ESME_RTHROTTLED, "", 3);
  EXPECT_EQ(state_of(s, 1), message_state::rejected);
  EXPECT_EQ(s.counters().parts_retried, 1u);
}

TEST(MessageStore, PartsInFlightOnALostSessionAreQueuedAgainFirst) {
  message_store s({}, 1);
  (void)s.accept(content(1), recipients(3), 0);
  std::vector<submit_job> jobs;
  (void)s.take(2, jobs, 0);
  s.requeue(jobs);
  std::vector<submit_job> again;
  ASSERT_EQ(s.take(3, again, 1), 3u);
  EXPECT_EQ(again[0].id, 1u);
  EXPECT_EQ(again[1].id, 2u);
  EXPECT_EQ(again[2].id, 3u);
  EXPECT_EQ(s.find(1, 3)->parts_submitted, 1u);
}

TEST(MessageStore, AFullQueueRefusesTheWholeRequestAndKeepsEveryAcceptedOne) {
  store_config limits;
  limits.max_queued_parts = 5;
  message_store s(limits, 1);
  EXPECT_EQ(s.accept(content(2), recipients(2), 0).status, message_store::accept_status::ok);
  EXPECT_EQ(s.accept(content(2), recipients(1), 0).status,
            message_store::accept_status::queue_full);
  EXPECT_EQ(s.accept(content(1), recipients(1), 0).status, message_store::accept_status::ok);
  const auto c = s.counters();
  EXPECT_EQ(c.queued_parts, 5u);
  EXPECT_EQ(c.messages_accepted, 3u);
  EXPECT_EQ(c.requests_refused_full, 1u);
  std::vector<submit_job> jobs;
  EXPECT_EQ(s.take(100, jobs, 0), 5u);
}

TEST(MessageStore, AFullTableEvictsFinalMessagesOnlyAndOldAcceptedOnesAfterTheWait) {
  store_config limits;
  limits.max_messages = 2;
  limits.receipt_wait_s = 10;
  message_store s(limits, 1);
  (void)s.accept(content(1, false), recipients(1), 0);
  (void)s.accept(content(1), recipients(1), 0);
  EXPECT_EQ(s.accept(content(1), recipients(1), 0).status,
            message_store::accept_status::store_full);
  std::vector<submit_job> jobs;
  (void)s.take(2, jobs, 0);
  s.on_response(jobs[0], command_status::ESME_ROK, "1", 0);  // no receipt asked: final
  s.on_response(jobs[1], command_status::ESME_ROK, "2", 0);  // waits for its receipt
  EXPECT_EQ(s.accept(content(1), recipients(1), 1).first_id, 3u);
  EXPECT_FALSE(s.find(1, 3).has_value()) << "evicted";
  EXPECT_EQ(s.accept(content(1), recipients(1), 9'999).status,
            message_store::accept_status::store_full);
  EXPECT_EQ(s.accept(content(1), recipients(1), 10'000).status, message_store::accept_status::ok);
  EXPECT_FALSE(s.on_receipt("2", codec::message_state::delivered, 10'001)) << "forgotten";
  EXPECT_EQ(s.counters().messages_evicted, 2u);
}

TEST(MessageStore, ScheduledPartsWaitForTheirTimeAndCountAgainstTheQueue) {
  store_config limits;
  limits.max_queued_parts = 3;
  message_store s(limits, 1);
  auto later = content(2);
  later->schedule_ms = 5000;
  ASSERT_EQ(s.accept(later, recipients(1), 1000).status, message_store::accept_status::ok);
  ASSERT_EQ(s.accept(content(1), recipients(1), 1000).status, message_store::accept_status::ok);
  EXPECT_EQ(s.accept(content(1), recipients(1), 1000).status,
            message_store::accept_status::queue_full);
  EXPECT_EQ(s.counters().scheduled_parts, 2u);
  std::vector<submit_job> jobs;
  ASSERT_EQ(s.take(10, jobs, 4999), 1u);
  EXPECT_EQ(jobs[0].id, 2u) << "the unscheduled one only";
  EXPECT_EQ(state_of(s, 1), message_state::queued);
  ASSERT_EQ(s.take(10, jobs, 5000), 2u);
  EXPECT_EQ(jobs[1].id, 1u);
  EXPECT_EQ(s.find(1, 3)->scheduled_ms, 5000);
  EXPECT_EQ(s.counters().scheduled_parts, 0u);
}

}  // namespace
}  // namespace smpp::http
