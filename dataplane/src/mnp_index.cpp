#include "smpp/dataplane/mnp_index.hpp"

#include <algorithm>

namespace smpp::dataplane {

uint64_t mnp_index::key_of(std::string_view msisdn) noexcept {
  if (!msisdn.empty() && msisdn.front() == '+') msisdn.remove_prefix(1);
  if (msisdn.empty() || msisdn.size() > max_digits || msisdn.front() == '0') return 0;
  uint64_t k = 0;
  for (char c : msisdn) {
    if (c < '0' || c > '9') return 0;
    k = k * 10 + static_cast<uint64_t>(c - '0');
  }
  return k;
}

unsigned mnp_index::shift_for(uint64_t n, uint64_t min_key, uint64_t max_key) noexcept {
  const uint64_t target = n == 0 ? 1 : n;
  const uint64_t span = max_key - min_key;
  unsigned s = 0;
  while ((span >> s) + 1 > target) ++s;
  return s;
}

unsigned mnp_index::bucket_shift_for(uint64_t n, uint64_t min_key, uint64_t max_key) noexcept {
  return shift_for(std::min(max_buckets, std::max<uint64_t>(1, n / 16)), min_key, max_key);
}

mnp_index::mnp_index(huge_array<uint64_t> entries, huge_array<bucket> buckets,
                     huge_array<uint32_t> slots, unsigned bucket_shift)
    : entries_(std::move(entries)),
      buckets_(std::move(buckets)),
      slots_(std::move(slots)),
      bucket_shift_(bucket_shift) {
  if (entries_.size() > 0) min_key_ = entries_[0] >> network_bits;
}

size_t mnp_index::lower_bound(uint64_t key) const noexcept {
  if (entries_.size() == 0 || key < min_key_) return 0;
  const uint64_t b = (key - min_key_) >> bucket_shift_;
  if (b >= buckets_.size()) return entries_.size();
  const bucket& bk = buckets_[b];
  if (bk.slot_count == 0 || key < bk.base) return bk.first;
  const uint64_t slot = (key - bk.base) >> bk.shift;
  if (slot >= bk.slot_count) return slots_[bk.slot + bk.slot_count];
  uint32_t lo = slots_[bk.slot + slot];
  uint32_t hi = slots_[bk.slot + slot + 1];
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if ((entries_[mid] >> network_bits) < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

}  // namespace smpp::dataplane
