// The TDMA slot planner ("Tenants and time slots" in docs/architecture.md): from an upstream's
// contracted rate and its tenants' shares, the slot_plan of each of its binds. Pure functions of
// their inputs; they run on the control thread when the configuration or a weight changes, never
// on the per-message path.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/dataplane/snapshot.hpp"

namespace smpp::control {

inline constexpr uint32_t default_frame_ms = 100;
inline constexpr uint32_t min_frame_ms = 10;
inline constexpr uint32_t max_frame_ms = 10000;
// Slots of one bind's frame (4 bytes each). A bind whose rate and frame_ms ask for more gets a
// shorter frame (see choose_frame).
inline constexpr uint32_t max_slots_per_frame = 100'000;
inline constexpr uint32_t default_queue_max = 10000;

// One tenant's share of an upstream. Caps and guarantees are per second of the whole upstream;
// the planner divides them over the binds in proportion to the binds' rates.
struct tenant_share {
  uint32_t tenant = 0;           // index into router_snapshot::tenants
  std::string name;              // for error messages
  uint32_t weight = 1;           // 1..65535
  uint32_t cap_per_s = 0;        // 0: no cap
  uint32_t guarantee_per_s = 0;  // 0: no guarantee
  uint32_t queue_max = default_queue_max;
};

// The frame of a bind of rate_per_s when frame_ms is asked for. The frame holds
// slots = rate_per_s * frame_ms / 1000 slots, a whole number: frame_ms becomes the multiple of
// 1000 / gcd(rate_per_s, 1000) ms nearest to the one asked for (the shorter on a tie), within
// min_frame_ms..max_frame_ms (1000 ms is always such a multiple), and no longer than
// max_slots_per_frame slots allow. Only when no such multiple fits under max_slots_per_frame
// (a rate near 1000000 with no factor in common with 1000) is the frame the longest that fits,
// with slots = floor(rate_per_s * frame_ms / 1000). The rate itself does not depend on the frame:
// the gate sends at most one message per slot_ns = ceil(1e9 / rate_per_s), never faster than the
// contract, and exactly at it when rate_per_s divides 1e9 (otherwise at most 0.1% slower).
// rate_per_s must be 1..1000000.
struct frame_choice {
  uint32_t frame_ms = 0;
  uint32_t slots = 0;
};
[[nodiscard]] frame_choice choose_frame(uint32_t rate_per_s, uint32_t frame_ms);

// How many slots of a frame each tenant owns.
struct slot_counts {
  std::vector<uint32_t> owned;  // per share, in the order of the shares
  uint32_t unowned = 0;         // left over because of caps
  std::vector<uint32_t> cap;    // per share: most slots per frame (0: none)
  std::string error;
};

// Slots per share for a frame of `slots` slots on a bind of bind_rate_per_s that carries
// bind_rate_per_s / contract_per_s of the upstream's traffic:
//   guarantee: ceil(guarantee_per_s * slots / contract_per_s) slots at least;
//   cap:       floor(cap_per_s * slots / contract_per_s) slots at most (an error when below 1);
//   the rest:  by weight, water-filled: each tenant gets weight * L slots, raised to its
//              guarantee and lowered to its cap, with one L for all that fills the frame; the
//              fractions are rounded by largest remainder (ties: the larger weight, then the
//              earlier share), so the counts add up exactly. When the caps leave slots over, they
//              stay unowned.
[[nodiscard]] slot_counts count_slots(std::string_view upstream, uint32_t slots,
                                      uint64_t contract_per_s,
                                      std::span<const tenant_share> shares);

// The order of the slots in a frame: owner k of the result is an index into counts (counts.size()
// stands for an unowned slot when unowned > 0). Each owner's slots are spread over the frame:
// first by earliest ideal position ((j + 1/2) * N / c for the j-th of c slots), then a repair pass
// that swaps neighbouring slots to shorten gaps longer than ceil(N / c) + 1 without making any
// other gap exceed that bound. When that leaves some owner with a gap longer than ceil(2N / c),
// the frame is built instead by EDF over Pfair windows (the j-th slot within
// [floor(j N / c), ceil((j + 1) N / c))), which bounds every gap by ceil(2N / c), then repaired
// the same way. So for every owner with c slots the longest cyclic gap between two of its slots
// is at most ceil(2N / c), and for most inputs at most ceil(N / c) + 1.
[[nodiscard]] std::vector<uint32_t> spread_slots(std::span<const uint32_t> counts,
                                                 uint32_t unowned);

struct bind_plan_request {
  std::string_view upstream;    // for error messages
  uint32_t rate_per_s = 0;      // this bind's contract; 0: no gate
  uint64_t contract_per_s = 0;  // the upstream's, the base of caps and guarantees (0: rate_per_s)
  uint32_t frame_ms = default_frame_ms;
  bool strict = false;
  uint32_t tenant_count = 0;  // size of plan.cap and plan.queue_max
  std::span<const tenant_share> shares;
};

struct bind_plan_result {
  dataplane::slot_plan plan;
  uint32_t frame_ms = 0;  // the frame length chosen (0: no gate)
  std::string error;      // names the upstream and the tenant; plan is empty when set
  [[nodiscard]] bool ok() const noexcept { return error.empty(); }
};

// The plan of one bind. A rate of 0 gives the empty plan (no gate). Errors: shares or strict
// without a rate, a tenant index out of range, a weight of 0, a guarantee above the cap, the
// guarantees above the contract, a cap below one slot per frame, and in strict mode a tenant that
// would own no slot (it would never send).
[[nodiscard]] bind_plan_result plan_bind(const bind_plan_request& request);

// A bind of an upstream, as far as its rate is concerned.
struct bind_rate {
  uint32_t rate_per_s = 0;  // its own contract; 0: a part of the upstream's
  uint32_t weight = 1;      // its part of the upstream's contract
  bool sends = true;        // false for receiver binds: no submit_sm, no rate
};

struct rate_split {
  std::vector<uint32_t> rate_per_s;  // per bind; 0: no gate
  uint64_t contract_per_s = 0;       // the sum, never above the upstream's rate when it is set
  std::string error;
};

// Each bind's rate. Without an upstream rate, each bind keeps its own (0: no gate). With one,
// binds with their own rate keep it (together at most the upstream's rate), and what is left is
// divided over the other sending binds in proportion to their weights: floor for each, then one
// more to the largest remainders (ties: the earlier bind); each must get at least 1 msg/s. The
// rates add up to at most the upstream's: exactly it when some sending bind has no rate of its own.
[[nodiscard]] rate_split split_upstream_rate(std::string_view upstream,
                                             uint32_t upstream_rate_per_s,
                                             std::span<const bind_rate> binds);

struct upstream_plan_request {
  std::string_view upstream;
  uint32_t rate_per_s = 0;  // the upstream's contract; 0: the binds' own rates
  uint32_t frame_ms = default_frame_ms;
  bool strict = false;
  uint32_t tenant_count = 0;
  std::span<const tenant_share> shares;
  std::span<const bind_rate> binds;
};

struct upstream_plan_result {
  std::vector<dataplane::slot_plan> plans;  // per bind
  std::string error;
  [[nodiscard]] bool ok() const noexcept { return error.empty(); }
};

// split_upstream_rate, then plan_bind for each sending bind (binds of equal rate share one
// computation).
[[nodiscard]] upstream_plan_result plan_upstream(const upstream_plan_request& request);

}  // namespace smpp::control
