// What a router worker has seen of each upstream lately, for routes of mode "quality": the
// delivery ratio of its final receipts (DELIVRD among DELIVRD, UNDELIV, EXPIRED, REJECTD, ...;
// SMPP 3.4 §5.2.28, Appendix B) and the mean latency of its answers to message requests, over a
// sliding window of quality_def::window_ms cut into `buckets` steps. Each worker keeps its own
// (its binds' answers, the receipts that arrive on its binds): no sharing, no atomics; bounded
// (a fixed array per upstream). The expected cost of a delivered message on an upstream is
//     price / delivery_ratio + latency_cost * mean_latency_ms
// where a ratio or a latency with fewer than min_samples events in the window is taken as 1 or
// 0 (nothing known yet: price alone), and a ratio of 0 (nothing delivered) costs infinitely.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "smpp/dataplane/price_table.hpp"

namespace smpp::dataplane {

struct quality_def {
  uint64_t window_ms = 300'000;
  uint32_t latency_cost = 10;  // price millionths per millisecond of mean answer latency
  uint32_t min_samples = 50;   // events in the window before the ratio or latency counts
};

class upstream_quality {
 public:
  static constexpr size_t buckets = 8;

  explicit upstream_quality(size_t upstream_capacity = 0) : ups_(upstream_capacity) {}

  // A final receipt from `upstream`, delivered or not.
  void receipt(uint32_t upstream, bool delivered, uint64_t now_ms, uint64_t window_ms) noexcept {
    if (upstream >= ups_.size()) return;
    window& w = advanced(upstream, now_ms, window_ms);
    ++w.at[w.head].finals;
    ++w.sum.finals;
    if (delivered) {
      ++w.at[w.head].delivered;
      ++w.sum.delivered;
    }
  }
  // An answer from `upstream` to a message request, latency_us after it was sent.
  void answered(uint32_t upstream, uint64_t latency_us, uint64_t now_ms,
                uint64_t window_ms) noexcept {
    if (upstream >= ups_.size()) return;
    window& w = advanced(upstream, now_ms, window_ms);
    ++w.at[w.head].answers;
    ++w.sum.answers;
    w.at[w.head].latency_us += latency_us;
    w.sum.latency_us += latency_us;
  }

  // The expected cost of a delivered message (above); +infinity for no_price.
  [[nodiscard]] double cost(uint32_t upstream, price_micros price, const quality_def& q,
                            uint64_t now_ms) const noexcept {
    constexpr double infinite = std::numeric_limits<double>::infinity();
    if (price == no_price) return infinite;
    if (upstream >= ups_.size()) return price;
    const window& w = ups_[upstream];
    if (now_ms >= w.step_end_ms + q.window_ms) return price;  // nothing seen in the window
    const totals& t = w.sum;
    double c = price;
    if (t.finals >= q.min_samples && t.finals > 0) {
      if (t.delivered == 0) return infinite;
      c = c * static_cast<double>(t.finals) / static_cast<double>(t.delivered);
    }
    if (t.answers >= q.min_samples && t.answers > 0) {
      c += static_cast<double>(q.latency_cost) * static_cast<double>(t.latency_us) /
           (1000.0 * static_cast<double>(t.answers));
    }
    return c;
  }

  // The sums over the window (for tests and the admin API).
  struct totals {
    uint64_t finals = 0;
    uint64_t delivered = 0;
    uint64_t answers = 0;
    uint64_t latency_us = 0;
  };
  [[nodiscard]] totals seen(uint32_t upstream) const noexcept {
    return upstream < ups_.size() ? ups_[upstream].sum : totals{};
  }
  void resize(size_t upstream_capacity) { ups_.resize(upstream_capacity); }
  // Drops the steps of `upstream` that left the window by now_ms, without an event.
  void expire(uint32_t upstream, uint64_t now_ms, uint64_t window_ms) noexcept {
    if (upstream < ups_.size()) (void)advanced(upstream, now_ms, window_ms);
  }

 private:
  struct window {
    std::array<totals, buckets> at{};
    totals sum;
    size_t head = 0;
    uint64_t step_end_ms = 0;  // when the head bucket's step ends
  };

  // The window of `upstream` with the steps before now_ms dropped.
  window& advanced(uint32_t upstream, uint64_t now_ms, uint64_t window_ms) noexcept {
    window& w = ups_[upstream];
    const uint64_t step = window_ms / buckets > 0 ? window_ms / buckets : 1;
    if (now_ms < w.step_end_ms) return w;
    // Steps passed since the head's: each drops the oldest bucket (all of them at most).
    const uint64_t passed = (now_ms - w.step_end_ms) / step + 1;
    for (uint64_t k = 0; k < passed && k < buckets; ++k) {
      w.head = (w.head + 1) % buckets;
      const totals& old = w.at[w.head];
      w.sum.finals -= old.finals;
      w.sum.delivered -= old.delivered;
      w.sum.answers -= old.answers;
      w.sum.latency_us -= old.latency_us;
      w.at[w.head] = totals{};
    }
    w.step_end_ms = now_ms - (now_ms - w.step_end_ms) % step + step;
    if (w.step_end_ms <= now_ms) w.step_end_ms = now_ms + step;
    return w;
  }

  std::vector<window> ups_;
};

}  // namespace smpp::dataplane
