// The console's history ring (GET /api/history): per-second rates from counter deltas, its bound
// (the oldest point dropped when full), the "since" filter, tenants added at run time, and the
// p99 latency over the last samples' histograms.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "smpp/control/admin_history.hpp"

namespace {

using json = nlohmann::json;
using smpp::control::history_ring;
using smpp::control::router_totals;

smpp::dataplane::router_snapshot snapshot_of(const std::vector<std::string>& names) {
  smpp::dataplane::router_snapshot s;
  for (const auto& n : names) {
    smpp::dataplane::tenant_def t;
    t.index = static_cast<uint32_t>(s.tenants.size());
    t.name = n;
    s.tenants.push_back(t);
  }
  return s;
}

// Totals with tenant i's accepted = accepted[i]; rejected, receipts delivered and refused at
// half, a quarter and a tenth of it.
router_totals totals_of(const std::vector<uint64_t>& accepted) {
  router_totals t;
  for (uint64_t a : accepted) {
    smpp::control::tenant_totals x;
    x.accepted = a;
    x.rejected = a / 2;
    x.receipts.delivered = a / 4;
    x.receipts.refused = a / 10;
    t.tenants.push_back(x);
  }
  return t;
}

TEST(HistoryRing, EachAddAfterTheFirstIsOnePointOfPerSecondRates) {
  history_ring h;
  const auto snap = snapshot_of({"acme", "beta"});
  h.add(1'000'000, 5'000, totals_of({0, 0}));
  EXPECT_EQ(h.size(), 0u);  // no rate from a single sample
  h.add(1'001'000, 6'000, totals_of({400, 40}));
  h.add(1'003'000, 8'000, totals_of({1200, 40}));  // two seconds later: rates halve the deltas
  const json j = json::parse(h.to_json(snap, 0));
  EXPECT_EQ(j["tenants"], json({"acme", "beta"}));
  EXPECT_EQ(j["capacity"], history_ring::default_capacity);
  ASSERT_EQ(j["points"].size(), 2u);
  EXPECT_EQ(j["points"][0]["t"], 1'001'000);
  EXPECT_EQ(j["points"][0]["accepted"], json({400.0, 40.0}));
  EXPECT_EQ(j["points"][0]["rejected"], json({200.0, 20.0}));
  EXPECT_EQ(j["points"][0]["receipts_delivered"], json({100.0, 10.0}));
  EXPECT_EQ(j["points"][0]["receipts_refused"], json({40.0, 4.0}));
  EXPECT_EQ(j["points"][1]["accepted"], json({400.0, 0.0}));
  EXPECT_EQ(j["points"][1]["rejected"], json({200.0, 0.0}));
}

TEST(HistoryRing, AFullRingDropsItsOldestPointAndSinceReturnsOnlyNewerOnes) {
  history_ring h(5);
  const auto snap = snapshot_of({"acme"});
  for (uint64_t i = 0; i <= 8; ++i) h.add(1000 * i, 1000 * i, totals_of({i * i}));
  EXPECT_EQ(h.size(), 5u);
  const json all = json::parse(h.to_json(snap, 0));
  ASSERT_EQ(all["points"].size(), 5u);
  // Points 4..8 are kept: i*i - (i-1)*(i-1) = 2i - 1 per second.
  for (size_t k = 0; k < 5; ++k) {
    const uint64_t i = 4 + k;
    EXPECT_EQ(all["points"][k]["t"], 1000 * i);
    EXPECT_EQ(all["points"][k]["accepted"][0], static_cast<double>(2 * i - 1));
  }
  const json newer = json::parse(h.to_json(snap, 6000));
  ASSERT_EQ(newer["points"].size(), 2u);
  EXPECT_EQ(newer["points"][0]["t"], 7000);
  EXPECT_EQ(json::parse(h.to_json(snap, 8000))["points"].size(), 0u);
}

TEST(HistoryRing, ATenantAddedLaterHasEntriesOnlyInNewerPointsAndCountersNeverGoBack) {
  history_ring h;
  h.add(1000, 1000, totals_of({10}));
  h.add(2000, 2000, totals_of({20}));
  h.add(3000, 3000, totals_of({30, 7}));  // beta appears: its first delta counts from 0
  h.add(4000, 4000, totals_of({5, 9}));   // acme's slot reused: no negative rate
  const json j = json::parse(h.to_json(snapshot_of({"acme", "beta"}), 0));
  ASSERT_EQ(j["points"].size(), 3u);
  EXPECT_EQ(j["points"][0]["accepted"], json({10.0}));
  EXPECT_EQ(j["points"][1]["accepted"], json({10.0, 7.0}));
  EXPECT_EQ(j["points"][2]["accepted"], json({0.0, 2.0}));
}

TEST(HistoryRing, P99IsTheBucketBoundOverTheLastSamplesOrNullWithoutAnswers) {
  history_ring h;
  const auto snap = snapshot_of({"acme", "beta"});
  router_totals t = totals_of({0, 0});
  h.add(0, 0, t);
  EXPECT_EQ(json::parse(h.to_json(snap, 0))["p99_ms"], json({nullptr, nullptr}));
  // acme: 98 answers under 1 ms (bucket 10: up to 1023 us), 2 at about 5 ms (bucket 13).
  t.tenants[0].latency.counts[10] = 98;
  t.tenants[0].latency.counts[13] = 2;
  h.add(1000, 1000, t);
  json p99 = json::parse(h.to_json(snap, 0))["p99_ms"];
  EXPECT_EQ(p99[0], 8.191);  // (2^13 - 1) us
  EXPECT_TRUE(p99[1].is_null());
  // Ten more seconds of answers all under 1 ms: the slow ones leave the window.
  for (uint64_t s = 2; s <= 12; ++s) {
    t.tenants[0].latency.counts[10] += 100;
    h.add(1000 * s, 1000 * s, t);
  }
  p99 = json::parse(h.to_json(snap, 0))["p99_ms"];
  EXPECT_EQ(p99[0], 1.023);
}

TEST(HistoryRing, LatencyQuantileCountsOnlyTheDelta) {
  smpp::control::histogram_totals older;
  smpp::control::histogram_totals newer;
  older.counts[20] = 1000;  // old slow answers: not in the delta
  newer.counts[20] = 1000;
  newer.counts[3] = 50;
  newer.counts[5] = 50;
  EXPECT_EQ(smpp::control::latency_quantile_us(newer, older, 0.5), 7);
  EXPECT_EQ(smpp::control::latency_quantile_us(newer, older, 0.99), 31);
  EXPECT_EQ(smpp::control::latency_quantile_us(older, older, 0.99), -1);
}

}  // namespace
