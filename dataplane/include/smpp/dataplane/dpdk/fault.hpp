// Fault injection in the port path, for tests: per direction (rx, tx) loss, duplication,
// reordering and delay, each with a probability drawn from a seeded PRNG, so a run with the same
// seed and the same frames makes the same decisions. Off unless configured.
//
// A fault_stage works on handles (rte_mbuf* in the port, plain integers in unit tests) through
// an ops object: emit(h) passes a frame on, drop(h) frees it, duplicate(h) returns a second
// handle for the same octets or nullopt when none can be had (counted as dup_failed).
// Held frames (reordered or delayed) live in a fixed array of `hold_capacity` entries; when it is
// full a frame that would be held passes through unheld and counts as hold_overflow.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smpp::dataplane::dpdk {

// The largest hold: parse() refuses more, a fault_stage holds no more whatever its config says.
inline constexpr size_t fault_hold_max = 4096;

struct fault_config {
  double loss = 0;             // probability a frame is dropped
  double dup = 0;              // probability a frame is sent twice (the copy right after it)
  double reorder = 0;          // probability a frame is held back ...
  uint32_t reorder_after = 3;  // ... until this many later frames have passed
  // A reordered frame is released after this long even when no later frame comes, so a lull in
  // traffic does not strand it (it then counts as reordered all the same).
  uint64_t reorder_max_us = 1000;
  double delay = 0;  // probability a frame is held for delay_us
  uint64_t delay_us = 0;
  uint64_t seed = 1;
  size_t hold_capacity = 64;  // 1..fault_hold_max

  [[nodiscard]] bool enabled() const noexcept {
    return loss > 0 || dup > 0 || reorder > 0 || delay > 0;
  }
  // "loss=0.01,dup=0.005,reorder=0.01,reorder_after=3,delay_us=200,delay=0.01,seed=7,hold=64";
  // keys in any order, each at most once; probabilities in [0, 1]. An empty text is "off".
  // On error returns false with `error` naming the key and the accepted values.
  [[nodiscard]] static bool parse(std::string_view text, fault_config& out, std::string& error);
  // `text` (as parse() takes it) with its seed set to `seed`, so that each worker, port and
  // direction draws a sequence of its own from the one seed configured.
  [[nodiscard]] static std::string with_seed(std::string_view text, uint64_t seed);
};

struct fault_counters {
  uint64_t seen = 0;  // frames offered to the stage
  uint64_t lost = 0;
  uint64_t duplicated = 0;     // extra copies emitted
  uint64_t dup_failed = 0;     // a duplicate was drawn but no buffer was free
  uint64_t reordered = 0;      // frames held for reordering
  uint64_t delayed = 0;        // frames held for delay
  uint64_t hold_overflow = 0;  // frames that should have been held but the hold was full
  uint64_t emitted = 0;        // frames passed on (copies included)
};

// splitmix64: small, fast, and fine for drawing probabilities in tests.
class fault_prng {
 public:
  explicit fault_prng(uint64_t seed) noexcept : s_(seed) {}
  uint64_t next() noexcept {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t s_;
};

template <class Handle>
class fault_stage {
 public:
  explicit fault_stage(const fault_config& c) : c_(c), prng_(c.seed) {
    // Once, here: no allocation per frame. At least one slot, at most fault_hold_max.
    held_.resize(c.hold_capacity == 0 ? 1 : std::min(c.hold_capacity, fault_hold_max));
  }

  [[nodiscard]] bool enabled() const noexcept { return c_.enabled(); }
  [[nodiscard]] const fault_counters& counters() const noexcept { return n_; }
  [[nodiscard]] size_t held() const noexcept { return held_count_; }

  // One frame through the stage: dropped, passed on (maybe with a copy), or held. Held frames
  // whose time or turn has come are released before it.
  template <class Ops>
  void push(Handle h, uint64_t now_us, Ops& ops) {
    ++n_.seen;
    ++passed_;
    release(now_us, ops);
    if (c_.loss > 0 && prng_.uniform() < c_.loss) {
      ++n_.lost;
      ops.drop(h);
      return;
    }
    const bool dup = c_.dup > 0 && prng_.uniform() < c_.dup;
    const bool reorder = c_.reorder > 0 && prng_.uniform() < c_.reorder;
    const bool delay = !reorder && c_.delay > 0 && prng_.uniform() < c_.delay;
    if (dup) {
      if (std::optional<Handle> copy = ops.duplicate(h)) {
        ++n_.duplicated;
        out(*copy, ops);
      } else {
        ++n_.dup_failed;
      }
    }
    if (reorder || delay) {
      if (held_count_ == held_.size()) {
        ++n_.hold_overflow;
      } else {
        slot& s = held_[free_slot()];
        s.h = h;
        s.used = true;
        if (reorder) {
          ++n_.reordered;
          s.release_after = passed_ + c_.reorder_after;
          s.release_at_us = now_us + c_.reorder_max_us;
        } else {
          ++n_.delayed;
          s.release_after = UINT64_MAX;
          s.release_at_us = now_us + c_.delay_us;
        }
        s.order = next_order_++;
        ++held_count_;
        return;
      }
    }
    out(h, ops);
  }

  // Releases the held frames whose time has come (call once per turn, with or without traffic).
  template <class Ops>
  void poll(uint64_t now_us, Ops& ops) {
    release(now_us, ops);
  }

  // Drops every held frame (port shutdown).
  template <class Ops>
  void drop_held(Ops& ops) {
    for (slot& s : held_) {
      if (s.used) {
        s.used = false;
        ops.drop(s.h);
      }
    }
    held_count_ = 0;
  }

 private:
  struct slot {
    Handle h{};
    uint64_t release_after = 0;  // released once `passed_` exceeds it
    uint64_t release_at_us = 0;  // ... or once the clock reaches it
    uint64_t order = 0;          // held frames due together leave in the order they came
    bool used = false;
  };

  template <class Ops>
  void out(Handle h, Ops& ops) {
    ++n_.emitted;
    ops.emit(h);
  }

  size_t free_slot() const noexcept {
    for (size_t i = 0; i < held_.size(); ++i) {
      if (!held_[i].used) return i;
    }
    return held_.size();  // unreachable: callers check held_count_ first
  }

  template <class Ops>
  void release(uint64_t now_us, Ops& ops) {
    // Bounded by hold_capacity per frame; the hold is small (tens of entries).
    while (held_count_ != 0) {
      slot* due = nullptr;
      for (slot& s : held_) {
        if (s.used && (passed_ > s.release_after || now_us >= s.release_at_us) &&
            (due == nullptr || s.order < due->order)) {
          due = &s;
        }
      }
      if (due == nullptr) return;
      due->used = false;
      --held_count_;
      out(due->h, ops);
    }
  }

  fault_config c_;
  fault_prng prng_;
  fault_counters n_;
  std::vector<slot> held_;
  size_t held_count_ = 0;
  uint64_t passed_ = 0;
  uint64_t next_order_ = 0;
};

}  // namespace smpp::dataplane::dpdk
