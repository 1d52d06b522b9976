#include "smpp/control/admin_history.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

namespace smpp::control {
namespace {

using json = nlohmann::json;

// Counters only grow, but a tenant's slot may be reused after a reload: never negative.
uint64_t delta(uint64_t newer, uint64_t older) {
  return newer >= older ? newer - older : 0;
}

// Per-second rates of `newer` over `older` for each entry of `newer`.
std::vector<float> per_s(const std::vector<uint64_t>& newer, const std::vector<uint64_t>& older,
                         double span_s) {
  std::vector<float> out(newer.size(), 0.0F);
  for (size_t i = 0; i < newer.size(); ++i) {
    const uint64_t before = i < older.size() ? older[i] : 0;
    out[i] = static_cast<float>(static_cast<double>(delta(newer[i], before)) / span_s);
  }
  return out;
}

}  // namespace

int64_t latency_quantile_us(const histogram_totals& newer, const histogram_totals& older,
                            double share) {
  uint64_t total = 0;
  for (size_t i = 0; i < newer.counts.size(); ++i) total += delta(newer.counts[i], older.counts[i]);
  if (total == 0) return -1;
  uint64_t seen = 0;
  for (size_t i = 0; i < newer.counts.size(); ++i) {
    seen += delta(newer.counts[i], older.counts[i]);
    if (static_cast<double>(seen) >= share * static_cast<double>(total)) {
      return static_cast<int64_t>(dataplane::latency_histogram::upper_us(i));
    }
  }
  return static_cast<int64_t>(dataplane::latency_histogram::upper_us(newer.counts.size() - 1));
}

void history_ring::add(uint64_t unix_ms, uint64_t steady_ms, const router_totals& totals) {
  counts c;
  c.steady_ms = steady_ms;
  for (const auto& t : totals.tenants) {
    c.accepted.push_back(t.accepted);
    c.rejected.push_back(t.rejected);
    c.receipts_delivered.push_back(t.receipts.delivered);
    c.receipts_refused.push_back(t.receipts.refused);
    c.latency.push_back(t.latency);
  }
  if (!recent_.empty() && steady_ms > recent_.back().steady_ms) {
    const counts& prev = recent_.back();
    const double span_s = static_cast<double>(steady_ms - prev.steady_ms) / 1000.0;
    point p;
    p.unix_ms = unix_ms;
    p.accepted = per_s(c.accepted, prev.accepted, span_s);
    p.rejected = per_s(c.rejected, prev.rejected, span_s);
    p.receipts_delivered = per_s(c.receipts_delivered, prev.receipts_delivered, span_s);
    p.receipts_refused = per_s(c.receipts_refused, prev.receipts_refused, span_s);
    points_.push_back(std::move(p));
    while (points_.size() > capacity_) points_.pop_front();
  }
  recent_.push_back(std::move(c));
  while (recent_.size() > latency_span + 1) recent_.pop_front();
}

std::string history_ring::to_json(const dataplane::router_snapshot& snapshot,
                                  uint64_t since_unix_ms) const {
  json names = json::array();
  for (const auto& t : snapshot.tenants) names.push_back(t.name);
  json points = json::array();
  for (const point& p : points_) {
    if (p.unix_ms <= since_unix_ms) continue;
    points.push_back({{"t", p.unix_ms},
                      {"accepted", p.accepted},
                      {"rejected", p.rejected},
                      {"receipts_delivered", p.receipts_delivered},
                      {"receipts_refused", p.receipts_refused}});
  }
  json p99 = json::array();
  for (size_t i = 0; i < snapshot.tenants.size(); ++i) {
    int64_t us = -1;
    if (recent_.size() >= 2 && i < recent_.back().latency.size()) {
      const histogram_totals none;
      const auto& older = recent_.front();
      us = latency_quantile_us(recent_.back().latency[i],
                               i < older.latency.size() ? older.latency[i] : none, 0.99);
    }
    p99.push_back(us < 0 ? json(nullptr) : json(static_cast<double>(us) / 1000.0));
  }
  const json j = {{"capacity", capacity_},
                  {"interval_s", 1},
                  {"tenants", names},
                  {"points", points},
                  {"p99_ms", p99}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace smpp::control
