// A log-linear (HDR-style) latency histogram: fixed memory, O(1) record, no allocation.
//
// Values below 2^sub_bits are counted exactly; above, each power of two is split into
// 2^(sub_bits-1) equal buckets, so a reported value is within 1/2^(sub_bits-1) (0.8 %) of the
// recorded one.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace smpp::esme_load {

class latency_histogram {
 public:
  static constexpr unsigned sub_bits = 8;
  static constexpr uint64_t linear_limit = uint64_t{1} << sub_bits;  // 256
  static constexpr uint64_t half = linear_limit / 2;                 // buckets per octave
  static constexpr size_t bucket_count = linear_limit + (64 - sub_bits) * half;

  void record(uint64_t value) noexcept {
    ++counts_[index_of(value)];
    ++total_;
    if (value > max_) max_ = value;
  }

  [[nodiscard]] uint64_t count() const noexcept { return total_; }
  [[nodiscard]] uint64_t max() const noexcept { return max_; }

  // The smallest recorded value v (as its bucket's highest value, but never above max()) such
  // that at least q (0..1) of the samples are <= v; 0 when empty.
  [[nodiscard]] uint64_t percentile(double q) const noexcept {
    if (total_ == 0) return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total_) + 0.5);
    if (rank < 1) rank = 1;
    if (rank > total_) rank = total_;
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const uint64_t v = highest_of(i);
        return v < max_ ? v : max_;
      }
    }
    return max_;
  }

  [[nodiscard]] static constexpr size_t index_of(uint64_t v) noexcept {
    if (v < linear_limit) return static_cast<size_t>(v);
    const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - sub_bits;  // >= 1
    const uint64_t top = v >> shift;  // half .. linear_limit - 1
    return static_cast<size_t>(linear_limit + (shift - 1) * half + (top - half));
  }
  [[nodiscard]] static constexpr uint64_t highest_of(size_t index) noexcept {
    if (index < linear_limit) return index;
    const size_t k = index - linear_limit;
    const unsigned shift = static_cast<unsigned>(k / half) + 1;
    const uint64_t top = half + k % half;
    return ((top + 1) << shift) - 1;
  }

 private:
  std::array<uint64_t, bucket_count> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace smpp::esme_load
