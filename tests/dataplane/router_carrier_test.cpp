// Carrier routing in the router worker, against a fake transport: route mode "cheapest" (each
// upstream's price list for the destination, deterministic ties, unpriced upstreams last,
// failover when the cheapest is down), route mode "quality" (the price weighed with the
// delivery ratio the worker saw in receipts) and retry on refusal (router_snapshot::retry_on: a
// refused message request goes once to the next upstream of its route, the ESME answered once).
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fake_transport.hpp"
#include "router_test_pdus.hpp"
#include "smpp/dataplane/router_worker.hpp"

namespace smpp::dataplane {
namespace {

using codec::command_id;
using codec::pdu;
using S = codec::command_status;
using testing::bind_pdu;
using testing::decoded;
using testing::encode;
using testing::fake_transport;
using testing::header;
using testing::make_snapshot;
using testing::receipt_pdu;
using testing::submit_pdu;

struct Rig {
  explicit Rig(std::shared_ptr<router_snapshot> s)
      : snap(std::move(s)), shared(snap->tenants.size()), w(0, 1, t, snap, &shared) {
    EXPECT_EQ(w.start(now), 0);
  }
  std::vector<fake_transport::conn_id> bring_up_upstreams() {
    std::vector<fake_transport::conn_id> ups = t.pending_connects;
    t.pending_connects.clear();
    for (auto c : ups) {
      t.complete_connect(c);
      auto out = t.take(c);
      EXPECT_EQ(out.size(), 1U);
      t.deliver(c, header(command_id::bind_transceiver_resp, S::ESME_ROK,
                          decoded(out.at(0)).sequence_number));
    }
    return ups;
  }
  fake_transport::conn_id bound_esme() {
    auto c = t.accept();
    t.deliver(c, bind_pdu(command_id::bind_transceiver, "acme", "secret", 1));
    EXPECT_EQ(t.take(c).size(), 1U);
    return c;
  }
  uint64_t now = 1000;
  fake_transport t;
  std::shared_ptr<router_snapshot> snap;
  shared_state shared;
  router_worker w;
};

// A price table from prefix -> micros (parents found by brute force).
std::shared_ptr<const price_table> prices(const std::map<std::string, price_micros>& list) {
  huge_array<price_table::entry> e(list.size());
  std::map<std::string, uint32_t> index;
  uint32_t i = 0;
  for (const auto& [p, price] : list) index[p] = i++;
  i = 0;
  for (const auto& [p, price] : list) {
    uint32_t parent = price_table::no_parent;
    for (size_t len = p.size(); len-- > 0;) {
      if (auto it = index.find(p.substr(0, len)); it != index.end()) {
        parent = it->second;
        break;
      }
    }
    e[i++] = price_table::entry{price_table::key_of(p), price, parent};
  }
  return std::make_shared<const price_table>(std::move(e));
}

// Upstreams primary (0) and backup (1); route "44" cheapest over both.
std::shared_ptr<router_snapshot> cheapest_snapshot() {
  auto s = make_snapshot(1, 8);
  s->prices = {prices({{"44", 20'000}, {"4477", 10'000}, {"4455", 30'000}, {"4488", 0}}),
               prices({{"4", 15'000}, {"4455", 30'000}, {"4466", 1}})};
  route_def r44;
  r44.destination_prefix = "44";
  r44.upstreams = {0, 1};
  r44.mode = route_mode::cheapest;
  s->routes = route_table({r44});
  return s;
}

std::vector<std::string> destinations(const std::vector<std::vector<std::byte>>& pdus) {
  std::vector<std::string> out;
  for (const auto& b : pdus) out.emplace_back(decoded(b).destination_addr);
  return out;
}

TEST(CheapestRoute, EachDestinationGoesToTheUpstreamWithTheLowestPriceForIt) {
  Rig r(cheapest_snapshot());
  auto ups = r.bring_up_upstreams();
  ASSERT_EQ(ups.size(), 2U);
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("447712345", 1));  // 0.01 vs 0.015 (4): primary
  r.t.deliver(c, submit_pdu("441234567", 2));  // 0.02 vs 0.015: backup
  r.t.deliver(c, submit_pdu("445512345", 3));  // a tie: configuration order, primary
  r.t.deliver(c, submit_pdu("446612345", 4));  // 0.02 vs 0.000001: backup
  r.t.deliver(c, submit_pdu("448812345", 5));  // free at primary
  EXPECT_EQ(destinations(r.t.take(ups[0])),
            (std::vector<std::string>{"447712345", "445512345", "448812345"}));
  EXPECT_EQ(destinations(r.t.take(ups[1])), (std::vector<std::string>{"441234567", "446612345"}));
}

TEST(CheapestRoute, AnUpstreamWithoutAPriceForTheDestinationComesAfterThePricedOnes) {
  auto snap = cheapest_snapshot();
  snap->prices[0] = prices({{"4477", 50'000}});
  snap->prices[1] = prices({{"33", 1}});  // nothing for 44
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("447712345", 1));  // priced at primary only
  r.t.deliver(c, submit_pdu("441234567", 2));  // priced nowhere: configuration order
  EXPECT_EQ(destinations(r.t.take(ups[0])), (std::vector<std::string>{"447712345", "441234567"}));
  EXPECT_TRUE(r.t.take(ups[1]).empty());
}

TEST(CheapestRoute, WhenTheCheapestIsDownTheNextCheapestTakesIt) {
  Rig r(cheapest_snapshot());
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.t.peer_close(ups[0]);
  r.t.deliver(c, submit_pdu("447712345", 1));  // primary is cheapest but down
  EXPECT_EQ(destinations(r.t.take(ups[1])), (std::vector<std::string>{"447712345"}));
}

// The upstream's answer to the request `req` it received, with `status`.
std::vector<std::byte> answer(const std::vector<std::byte>& req, S status,
                              std::string_view id = "") {
  pdu resp;
  resp.id = command_id::submit_sm_resp;
  resp.sequence_number = decoded(req).sequence_number;
  resp.status = status;
  resp.message_id = id;
  resp.body_absent = status != S::ESME_ROK;
  return encode(resp);
}

TEST(QualityRoute, AnUpstreamThatDeliversHalfItsMessagesLosesToADearerOneThatDeliversAll) {
  auto snap = make_snapshot(1, 8);
  snap->prices = {prices({{"44", 10'000}}), prices({{"44", 15'000}})};
  route_def r44;
  r44.destination_prefix = "44";
  r44.upstreams = {0, 1};
  r44.mode = route_mode::quality;
  snap->routes = route_table({r44});
  snap->quality.latency_cost = 0;
  snap->quality.min_samples = 4;
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  // Nothing known yet: the price decides (primary). Four messages, two delivered.
  for (uint32_t i = 0; i < 4; ++i) r.t.deliver(c, submit_pdu("4412345" + std::to_string(i), i + 2));
  const auto sent = r.t.take(ups[0]);
  ASSERT_EQ(sent.size(), 4U);
  EXPECT_TRUE(r.t.take(ups[1]).empty());
  for (uint32_t i = 0; i < 4; ++i) {
    r.t.deliver(ups[0], answer(sent[i], S::ESME_ROK, "m" + std::to_string(i)));
  }
  EXPECT_EQ(r.t.take(c).size(), 4U);
  for (uint32_t i = 0; i < 4; ++i) {
    const std::string text = "id:m" + std::to_string(i) + " sub:001 dlvrd:00" +
                             (i < 2 ? "1" : "0") + " submit date:2401011200 done date:2401011201 " +
                             "stat:" + (i < 2 ? "DELIVRD" : "UNDELIV") + " err:000 text:";
    r.t.deliver(ups[0], receipt_pdu(text, 100 + i));
  }
  // 0.01 / (2/4) = 0.02 > 0.015: backup now.
  r.t.deliver(c, submit_pdu("449999", 20));
  EXPECT_EQ(destinations(r.t.take(ups[1])), (std::vector<std::string>{"449999"}));
  for (const auto& b : r.t.take(ups[0])) EXPECT_NE(decoded(b).id, command_id::submit_sm);
}

// What the operator is shown of an upstream's window (upstream_counters::window_*, summed by the
// admin API and /metrics) is what the upstream did: its answers with their latency on the
// worker's clock, its final receipts delivered or not; and it leaves with the window.
TEST(QualityRoute, TheWindowShownIsWhatTheUpstreamAnsweredAndReceiptedUntilItLeavesTheWindow) {
  auto snap = make_snapshot(1, 8);
  snap->quality.window_ms = 8000;  // steps of 1 s
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.w.run_once(r.now, 0, 1'000'000);
  for (uint32_t i = 0; i < 5; ++i) r.t.deliver(c, submit_pdu("4412345" + std::to_string(i), i + 2));
  const auto sent = r.t.take(ups[0]);
  ASSERT_EQ(sent.size(), 5U);
  // Four answered 30 ms later, the fifth 70 ms later: 190 ms in all.
  r.w.run_once(r.now, 0, 1'030'000);
  for (uint32_t i = 0; i < 5; ++i) {
    if (i == 4) r.w.run_once(r.now, 0, 1'070'000);
    r.t.deliver(ups[0], answer(sent[i], S::ESME_ROK, "q" + std::to_string(i)));
  }
  EXPECT_EQ(r.t.take(c).size(), 5U);
  // Receipts: three delivered, one undeliverable, one expired, and one intermediate (ENROUTE is
  // not final, SMPP 3.4 §5.2.28): five final, three delivered.
  const std::array<const char*, 6> stat{"DELIVRD", "DELIVRD", "UNDELIV",
                                        "DELIVRD", "EXPIRED", "ENROUTE"};
  for (uint32_t i = 0; i < stat.size(); ++i) {
    const std::string text = "id:q" + std::to_string(i % 5) +
                             " sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 " +
                             "stat:" + stat[i] + " err:000 text:";
    r.t.deliver(ups[0], receipt_pdu(text, 100 + i));
  }
  auto shown = [&](uint32_t u) {
    const upstream_counters& x = r.w.upstream_stats()[u];
    return std::array<uint64_t, 4>{x.window_finals.load(), x.window_delivered.load(),
                                   x.window_answers.load(), x.window_latency_us.load()};
  };
  EXPECT_EQ(shown(0), (std::array<uint64_t, 4>{5, 3, 5, 190'000}));
  EXPECT_EQ(shown(1), (std::array<uint64_t, 4>{0, 0, 0, 0}));
  // Still in the window 7.5 s on (ticks move it without traffic), gone at 8 s.
  r.w.run_once(r.now + 7500, 0, 8'500'000);
  EXPECT_EQ(shown(0), (std::array<uint64_t, 4>{5, 3, 5, 190'000}));
  r.w.run_once(r.now + 8000, 0, 9'000'000);
  EXPECT_EQ(shown(0), (std::array<uint64_t, 4>{0, 0, 0, 0}));
}

std::shared_ptr<router_snapshot> retry_snapshot() {
  auto s = make_snapshot();  // route 44: primary, then backup
  s->retry_on = {static_cast<uint32_t>(S::ESME_RSYSERR), static_cast<uint32_t>(S::ESME_RMSGQFUL)};
  return s;
}

TEST(RetryOnRefusal, ARefusalOfRetryOnGoesToTheNextUpstreamAndTheEsmeGetsItsAnswerOnly) {
  Rig r(retry_snapshot());
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("441234", 7, "first"));
  auto at_primary = r.t.take(ups[0]);
  ASSERT_EQ(at_primary.size(), 1U);
  r.t.deliver(ups[0], answer(at_primary[0], S::ESME_RSYSERR));
  EXPECT_TRUE(r.t.take(c).empty()) << "the refusal is not the ESME's answer";
  auto at_backup = r.t.take(ups[1]);
  ASSERT_EQ(at_backup.size(), 1U);
  EXPECT_EQ(decoded(at_backup[0]).destination_addr, "441234");
  EXPECT_EQ(decoded(at_backup[0]).short_message.size(), 5U);
  r.t.deliver(ups[1], answer(at_backup[0], S::ESME_ROK, "b-1"));
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_ROK);
  EXPECT_EQ(decoded(out[0]).sequence_number, 7U);
  EXPECT_EQ(decoded(out[0]).message_id, "b-1");
  const auto& up = r.w.upstream_stats();
  EXPECT_EQ(up[0].retried.load(), 1U);
  EXPECT_EQ(up[0].rejected.load(), 1U);
  EXPECT_EQ(up[1].accepted.load(), 1U);
  EXPECT_EQ(r.w.tenant_stats()[0].accepted.load(), 1U);
  EXPECT_EQ(r.w.tenant_stats()[0].rejected.load(), 0U);
}

TEST(RetryOnRefusal, OnlyOnceAndOnlyForTheStatusesOfRetryOn) {
  Rig r(retry_snapshot());
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  // Refused twice: the second refusal is the answer.
  r.t.deliver(c, submit_pdu("441234", 1));
  r.t.deliver(ups[0], answer(r.t.take(ups[0]).at(0), S::ESME_RMSGQFUL));
  r.t.deliver(ups[1], answer(r.t.take(ups[1]).at(0), S::ESME_RSYSERR));
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_RSYSERR);
  EXPECT_EQ(decoded(out[0]).sequence_number, 1U);
  EXPECT_TRUE(r.t.take(ups[0]).empty());
  // A status outside retry_on goes back as it is.
  r.t.deliver(c, submit_pdu("441234", 2));
  r.t.deliver(ups[0], answer(r.t.take(ups[0]).at(0), S::ESME_RSUBMITFAIL));
  out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_RSUBMITFAIL);
  EXPECT_TRUE(r.t.take(ups[1]).empty());
  // The last upstream of the route has no next: its refusal is the answer.
  r.t.deliver(c, submit_pdu("331234", 3));  // route 33: backup only
  r.t.deliver(ups[1], answer(r.t.take(ups[1]).at(0), S::ESME_RSYSERR));
  out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_RSYSERR);
  EXPECT_EQ(r.w.upstream_stats()[0].retried.load(), 1U);
  EXPECT_EQ(r.w.upstream_stats()[1].retried.load(), 0U);
  EXPECT_EQ(r.w.tenant_stats()[0].rejected.load(), 3U);
}

// At a gated bind ESME_RTHROTTLED is first the gate's back-off (the request waits for a later
// slot at the same bind, the ESME sees nothing); refused again after that back-off, a status of
// retry_on sends it on to the route's next upstream, and the ESME gets that answer only.
TEST(RetryOnRefusal, AThrottlingAfterTheGatesBackOffGoesToTheNextUpstream) {
  auto s = make_snapshot(1, 64);  // route 44: primary (gated below), then backup
  s->tenants[0].backpressure = false;
  s->retry_on = {static_cast<uint32_t>(S::ESME_RTHROTTLED)};
  slot_plan& plan = s->upstreams[0].binds[0].plan;
  plan.rate_per_s = 1000;
  plan.slot_ns = 1'000'000;
  plan.owner = {0};
  plan.cap = {0, 0};
  plan.queue_max = {8, 8};
  Rig r(s);
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("441234", 5, "gated"));
  const uint64_t us = 5'000'000;
  r.w.run_once(r.now, 0, us);
  auto first = r.t.take(ups[0]);
  ASSERT_EQ(first.size(), 1U);
  r.t.deliver(ups[0], answer(first[0], S::ESME_RTHROTTLED));
  EXPECT_TRUE(r.t.take(c).empty());
  EXPECT_TRUE(r.t.take(ups[1]).empty()) << "the first throttling is the gate's back-off";
  r.w.run_once(r.now, 0, us + 3000);  // the slowed gate's next slot
  auto again = r.t.take(ups[0]);
  ASSERT_EQ(again.size(), 1U);
  r.t.deliver(ups[0], answer(again[0], S::ESME_RTHROTTLED));
  EXPECT_TRUE(r.t.take(c).empty());
  auto at_backup = r.t.take(ups[1]);
  ASSERT_EQ(at_backup.size(), 1U);
  EXPECT_EQ(decoded(at_backup[0]).short_message.size(), 5U);
  r.t.deliver(ups[1], answer(at_backup[0], S::ESME_ROK, "b-9"));
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_ROK);
  EXPECT_EQ(decoded(out[0]).sequence_number, 5U);
  EXPECT_EQ(decoded(out[0]).message_id, "b-9");
  EXPECT_TRUE(r.t.take(ups[0]).empty());
  EXPECT_EQ(r.w.stats().gate_requeued, 1U);
  EXPECT_EQ(r.w.upstream_stats()[0].retried.load(), 1U);
  EXPECT_EQ(r.w.upstream_stats()[1].accepted.load(), 1U);
  EXPECT_EQ(r.w.tenant_stats()[0].accepted.load(), 1U);
  EXPECT_EQ(r.w.tenant_stats()[0].queued.load(), 0U);
}

// A data_sm (SMPP 3.4 §4.7) to `dest`, its text in message_payload.
std::vector<std::byte> data_sm_pdu(std::string_view dest, uint32_t seq) {
  pdu p;
  p.id = command_id::data_sm;
  p.sequence_number = seq;
  p.source_addr = "1234";
  p.destination_addr = dest;
  std::array<std::byte, 32> tlv_buf;
  codec::tlv_writer w(tlv_buf);
  EXPECT_TRUE(w.add(codec::tag::message_payload, codec::as_bytes(std::string_view("hello"))));
  p.tlvs = w.area();
  return encode(p);
}

TEST(RetryOnRefusal, ADataSmIsRoutedLikeASubmitSmAndRetriedLikeOne) {
  Rig r(retry_snapshot());
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.t.deliver(c, data_sm_pdu("441234", 9));  // route 44: primary first
  auto at_primary = r.t.take(ups[0]);
  ASSERT_EQ(at_primary.size(), 1U);
  EXPECT_EQ(decoded(at_primary[0]).id, command_id::data_sm);
  pdu refusal;
  refusal.id = command_id::data_sm_resp;
  refusal.sequence_number = decoded(at_primary[0]).sequence_number;
  refusal.status = S::ESME_RSYSERR;
  refusal.body_absent = true;
  r.t.deliver(ups[0], encode(refusal));
  auto at_backup = r.t.take(ups[1]);
  ASSERT_EQ(at_backup.size(), 1U);
  EXPECT_EQ(decoded(at_backup[0]).id, command_id::data_sm);
  EXPECT_EQ(decoded(at_backup[0]).destination_addr, "441234");
  pdu ok;
  ok.id = command_id::data_sm_resp;
  ok.sequence_number = decoded(at_backup[0]).sequence_number;
  ok.message_id = "d-1";
  r.t.deliver(ups[1], encode(ok));
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).id, command_id::data_sm_resp);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_ROK);
  EXPECT_EQ(decoded(out[0]).sequence_number, 9U);
  EXPECT_EQ(decoded(out[0]).message_id, "d-1");
  EXPECT_EQ(r.w.upstream_stats()[0].retried.load(), 1U);
}

TEST(RetryOnRefusal, WhenTheNextUpstreamIsDownTheRefusalIsTheAnswer) {
  Rig r(retry_snapshot());
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("441234", 4));
  r.t.peer_close(ups[1]);
  r.t.deliver(ups[0], answer(r.t.take(ups[0]).at(0), S::ESME_RSYSERR));
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_RSYSERR);
  EXPECT_EQ(decoded(out[0]).sequence_number, 4U);
  EXPECT_EQ(r.w.stats().retries_not_sent.load(), 1U);
  EXPECT_EQ(r.w.upstream_stats()[0].retried.load(), 0U);
}

}  // namespace
}  // namespace smpp::dataplane
