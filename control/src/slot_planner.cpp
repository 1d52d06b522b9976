#include "smpp/control/slot_planner.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <queue>

namespace smpp::control {
namespace {

constexpr uint32_t max_rate_per_s = 1'000'000;

// Slots times summed weights times the tenant count can pass 2^63 in the water-filling sums.
__extension__ using wide = __int128;

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::string where(std::string_view upstream, const tenant_share& s) {
  return "upstream " + quoted(upstream) + ": tenant " + quoted(s.name);
}

// Each owner's slots as a cyclic doubly linked list over the frame, to measure and change gaps in
// O(1): prev[k] and next[k] are the positions of the previous and next slot of own[k]'s owner.
class frame_links {
 public:
  explicit frame_links(std::vector<uint32_t>& own, size_t owners)
      : own_(own), n_(static_cast<uint32_t>(own.size())), prev_(n_), next_(n_) {
    std::vector<uint32_t> first(owners, UINT32_MAX);
    std::vector<uint32_t> last(owners, UINT32_MAX);
    for (uint32_t k = 0; k < n_; ++k) {
      const uint32_t t = own_[k];
      if (first[t] == UINT32_MAX) {
        first[t] = k;
      } else {
        next_[last[t]] = k;
        prev_[k] = last[t];
      }
      last[t] = k;
    }
    for (size_t t = 0; t < owners; ++t) {
      if (first[t] == UINT32_MAX) continue;
      prev_[first[t]] = last[t];
      next_[last[t]] = first[t];
    }
  }

  // Slots from the previous slot of the same owner to k (the frame length for a single slot).
  [[nodiscard]] uint32_t gap_before(uint32_t k) const { return distance(prev_[k], k); }
  [[nodiscard]] uint32_t gap_after(uint32_t k) const { return distance(k, next_[k]); }
  [[nodiscard]] uint32_t prev(uint32_t k) const { return prev_[k]; }
  [[nodiscard]] uint32_t step_back(uint32_t k) const { return k == 0 ? n_ - 1 : k - 1; }
  [[nodiscard]] uint32_t step_on(uint32_t k) const { return k + 1 == n_ ? 0 : k + 1; }

  // Exchanges the owners of p and q = step_on(p), which differ.
  void swap_with_next(uint32_t p) {
    const uint32_t q = step_on(p);
    const uint32_t px = prev_[p], nx = next_[p], py = prev_[q], ny = next_[q];
    std::swap(own_[p], own_[q]);
    relink(q, p, px, nx);  // the owner of p moved to q
    relink(p, q, py, ny);  // the owner of q moved to p
  }

 private:
  [[nodiscard]] uint32_t distance(uint32_t from, uint32_t to) const {
    if (from == to) return n_;
    return to > from ? to - from : to + n_ - from;
  }
  void relink(uint32_t to, uint32_t from, uint32_t p, uint32_t n) {
    if (p == from) {  // its only slot
      prev_[to] = to;
      next_[to] = to;
      return;
    }
    prev_[to] = p;
    next_[to] = n;
    next_[p] = to;
    prev_[n] = to;
  }

  std::vector<uint32_t>& own_;
  uint32_t n_;
  std::vector<uint32_t> prev_;
  std::vector<uint32_t> next_;
};

uint32_t ceil_div(uint64_t a, uint64_t b) {
  return static_cast<uint32_t>((a + b - 1) / b);
}

// The gap the spread aims at: ceil(N / c) + 1.
uint32_t target_gap(uint32_t n, uint32_t c) {
  return ceil_div(n, c) + 1;
}

// Shortens gaps longer than target_gap by swapping neighbouring slots, never lengthening a gap
// beyond target_gap: no owner's longest gap grows, and each swap lowers the total excess, so the
// passes end. The first pass looks at every slot; later ones only at the slots a swap moved and
// the gaps still too long.
void repair(std::vector<uint32_t>& own, const std::vector<uint32_t>& c) {
  const auto n = static_cast<uint32_t>(own.size());
  frame_links links(own, c.size());
  std::vector<uint32_t> bound_of(c.size());
  for (size_t t = 0; t < c.size(); ++t) bound_of[t] = c[t] > 0 ? target_gap(n, c[t]) : n + 1;
  const auto bound = [&](uint32_t k) { return bound_of[own[k]]; };
  std::vector<uint32_t> todo(n);
  std::iota(todo.begin(), todo.end(), 0u);
  std::vector<uint32_t> next;
  std::vector<bool> queued(n, false);
  const auto again = [&](uint32_t k) {
    if (!queued[k]) {
      queued[k] = true;
      next.push_back(k);
    }
  };
  constexpr int max_passes = 64;
  for (int pass = 0; pass < max_passes && !todo.empty(); ++pass) {
    bool changed = false;
    for (uint32_t q : todo) {
      if (c[own[q]] < 2) continue;
      while (links.gap_before(q) > bound(q)) {
        // Move this slot one earlier, or the owner's previous slot one later.
        const uint32_t p = links.step_back(q);
        const uint32_t s = links.prev(q);
        const uint32_t after_s = links.step_on(s);
        if (own[p] != own[q] && links.gap_after(q) + 1 <= bound(q) &&
            links.gap_before(p) + 1 <= bound(p)) {
          links.swap_with_next(p);
          again(q);
          q = p;
        } else if (own[after_s] != own[q] && links.gap_before(s) + 1 <= bound(s) &&
                   links.gap_after(after_s) + 1 <= bound(after_s)) {
          links.swap_with_next(s);
          again(s);
          again(after_s);
        } else {
          again(q);  // stuck for now: a later swap nearby may free it
          break;
        }
        changed = true;
      }
    }
    if (!changed) break;
    todo.swap(next);
    next.clear();
    for (uint32_t k : todo) queued[k] = false;
  }
}

// Owners ordered by the ideal position (j + 1/2) * N / c of their j-th slot; ties: more slots
// first, then the lower index.
std::vector<uint32_t> order_by_ideal_position(const std::vector<uint32_t>& c, uint32_t n) {
  struct next_slot {
    uint64_t num;  // 2j + 1
    uint64_t den;  // 2c
    uint32_t owner;
  };
  const auto later = [&](const next_slot& a, const next_slot& b) {
    const uint64_t l = a.num * b.den, r = b.num * a.den;
    if (l != r) return l > r;
    if (a.den != b.den) return a.den < b.den;
    return a.owner > b.owner;
  };
  std::priority_queue<next_slot, std::vector<next_slot>, decltype(later)> heap(later);
  for (uint32_t t = 0; t < c.size(); ++t) {
    if (c[t] > 0) heap.push({1, 2ull * c[t], t});
  }
  std::vector<uint32_t> own;
  own.reserve(n);
  std::vector<uint32_t> taken(c.size());
  while (!heap.empty()) {
    const next_slot top = heap.top();
    heap.pop();
    own.push_back(top.owner);
    if (++taken[top.owner] < c[top.owner]) heap.push({top.num + 2, top.den, top.owner});
  }
  return own;
}

// EDF over Pfair windows (Baruah et al., "Proportionate progress", 1996): the j-th slot of an
// owner with c of N slots is released at floor(j N / c) and due before ceil((j + 1) N / c). On
// one resource with the counts adding up to N, EDF meets every deadline, so every prefix of k
// slots holds floor or ceil of k c / N of the owner's slots, and no gap exceeds ceil(2N / c).
std::vector<uint32_t> order_by_pfair_windows(const std::vector<uint32_t>& c, uint32_t n) {
  struct job {
    uint64_t key;  // release, then deadline
    uint32_t slots;
    uint32_t owner;
  };
  const auto later = [](const job& a, const job& b) {
    if (a.key != b.key) return a.key > b.key;
    if (a.slots != b.slots) return a.slots < b.slots;
    return a.owner > b.owner;
  };
  std::priority_queue<job, std::vector<job>, decltype(later)> released(later);
  std::priority_queue<job, std::vector<job>, decltype(later)> ready(later);
  std::vector<uint32_t> taken(c.size());
  const auto deadline = [&](uint32_t t) { return ceil_div(uint64_t{taken[t] + 1} * n, c[t]); };
  for (uint32_t t = 0; t < c.size(); ++t) {
    if (c[t] > 0) released.push({0, c[t], t});
  }
  std::vector<uint32_t> own;
  own.reserve(n);
  for (uint64_t k = 0; k < n; ++k) {
    while (!released.empty() && released.top().key <= k) {
      const job j = released.top();
      released.pop();
      ready.push({deadline(j.owner), j.slots, j.owner});
    }
    if (ready.empty()) break;  // cannot happen: ceil((k + 1) c / N) summed over owners is > k
    const uint32_t t = ready.top().owner;
    ready.pop();
    own.push_back(t);
    if (++taken[t] < c[t]) released.push({uint64_t{taken[t]} * n / c[t], c[t], t});
  }
  return own;
}

bool within_pfair_gap(const std::vector<uint32_t>& own, const std::vector<uint32_t>& c) {
  const auto n = static_cast<uint32_t>(own.size());
  std::vector<uint32_t> last(c.size(), UINT32_MAX), first(c.size(), UINT32_MAX);
  const auto ok = [&](uint32_t t, uint32_t gap) { return gap <= ceil_div(2ull * n, c[t]); };
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t t = own[k];
    if (last[t] != UINT32_MAX && !ok(t, k - last[t])) return false;
    if (first[t] == UINT32_MAX) first[t] = k;
    last[t] = k;
  }
  for (uint32_t t = 0; t < c.size(); ++t) {
    if (first[t] != UINT32_MAX && !ok(t, first[t] + n - last[t])) return false;
  }
  return true;
}

std::string rate_text(uint64_t r) {
  return std::to_string(r) + " msg/s";
}

}  // namespace

frame_choice choose_frame(uint32_t rate_per_s, uint32_t frame_ms) {
  rate_per_s = std::clamp<uint32_t>(rate_per_s, 1, max_rate_per_s);
  const uint32_t asked = std::clamp(frame_ms, min_frame_ms, max_frame_ms);
  const uint32_t step = 1000 / std::gcd(rate_per_s, 1000u);
  const uint32_t lo = asked / step * step;
  const uint32_t hi = lo == asked ? lo : lo + step;
  uint32_t f = 0;
  if (lo < min_frame_ms) {
    f = hi;  // hi <= 9 + 1000
  } else if (hi > max_frame_ms) {
    f = lo;
  } else {
    f = asked - lo <= hi - asked ? lo : hi;
  }
  const uint64_t longest = uint64_t{max_slots_per_frame} * 1000 / rate_per_s;
  if (f > longest) {
    f = static_cast<uint32_t>(longest / step * step);
    if (f < min_frame_ms) {
      // No whole number of slots fits: the longest frame that does, slots rounded down.
      f = static_cast<uint32_t>(std::max<uint64_t>(longest, min_frame_ms));
      const uint64_t slots =
          std::min<uint64_t>(uint64_t{rate_per_s} * f / 1000, max_slots_per_frame);
      return {f, static_cast<uint32_t>(std::max<uint64_t>(slots, 1))};
    }
  }
  return {f, static_cast<uint32_t>(std::max<uint64_t>(uint64_t{rate_per_s} * f / 1000, 1))};
}

slot_counts count_slots(std::string_view upstream, uint32_t slots, uint64_t contract_per_s,
                        std::span<const tenant_share> shares) {
  slot_counts out;
  const size_t t_count = shares.size();
  out.owned.assign(t_count, 0);
  out.cap.assign(t_count, 0);
  if (contract_per_s == 0) contract_per_s = 1;
  std::vector<uint32_t> lower(t_count), upper(t_count, slots);
  uint64_t guaranteed = 0;
  for (size_t i = 0; i < t_count; ++i) {
    const tenant_share& s = shares[i];
    lower[i] = ceil_div(uint64_t{s.guarantee_per_s} * slots, contract_per_s);
    if (s.cap_per_s > 0) {
      const uint64_t cap = uint64_t{s.cap_per_s} * slots / contract_per_s;
      if (cap == 0) {
        out.error = where(upstream, s) + ": cap_per_s " + std::to_string(s.cap_per_s) +
                    " is less than one slot of a " + std::to_string(slots) +
                    "-slot frame that carries " + rate_text(contract_per_s) +
                    ": raise cap_per_s to at least " +
                    std::to_string(ceil_div(contract_per_s, slots)) + " or frame_ms";
        return out;
      }
      upper[i] = static_cast<uint32_t>(std::min<uint64_t>(cap, slots));
      out.cap[i] = upper[i];
    }
    if (lower[i] > upper[i]) {
      out.error = where(upstream, s) + ": guarantee_per_s " + std::to_string(s.guarantee_per_s) +
                  " needs " + std::to_string(lower[i]) + " slots of a " + std::to_string(slots) +
                  "-slot frame, above its cap_per_s " + std::to_string(s.cap_per_s) + " (" +
                  std::to_string(upper[i]) + " slots)";
      return out;
    }
    guaranteed += lower[i];
  }
  if (guaranteed > slots) {
    out.error = "upstream " + quoted(upstream) + ": the guarantees need " +
                std::to_string(guaranteed) + " slots of a " + std::to_string(slots) +
                "-slot frame (" + rate_text(contract_per_s) + ")";
    return out;
  }

  // Water-filling: every free share gets weight * P / Q slots; shares whose lower or upper bound
  // binds are fixed at it. Of the two sides, the one with more total violation is fixed first:
  // fixing it moves the level away from the other side (the classic capped-simplex argument).
  std::vector<bool> fixed(t_count, false);
  std::vector<uint32_t> value(t_count, 0);
  int64_t p = 0;
  int64_t q = 0;
  while (true) {
    int64_t fixed_sum = 0;
    q = 0;
    for (size_t i = 0; i < t_count; ++i) {
      if (fixed[i]) {
        fixed_sum += value[i];
      } else {
        q += std::max<uint32_t>(shares[i].weight, 1);
      }
    }
    p = int64_t{slots} - fixed_sum;
    if (q == 0) break;
    wide low_total = 0, up_total = 0;
    std::vector<size_t> lows, ups;
    for (size_t i = 0; i < t_count; ++i) {
      if (fixed[i]) continue;
      const wide level = static_cast<wide>(p) * std::max<uint32_t>(shares[i].weight, 1);
      const wide lo = static_cast<wide>(lower[i]) * q;
      const wide hi = static_cast<wide>(upper[i]) * q;
      if (level < lo) {
        lows.push_back(i);
        low_total += lo - level;
      } else if (level > hi) {
        ups.push_back(i);
        up_total += level - hi;
      }
    }
    if (lows.empty() && ups.empty()) break;
    if (low_total >= up_total) {
      for (size_t i : lows) fixed[i] = true, value[i] = lower[i];
    }
    if (up_total >= low_total) {
      for (size_t i : ups) fixed[i] = true, value[i] = upper[i];
    }
  }
  uint64_t total = 0;
  std::vector<size_t> rounding;
  std::vector<uint64_t> remainder(t_count, 0);
  for (size_t i = 0; i < t_count; ++i) {
    if (fixed[i]) {
      out.owned[i] = value[i];
    } else {
      const uint64_t level = static_cast<uint64_t>(p) * std::max<uint32_t>(shares[i].weight, 1);
      out.owned[i] = static_cast<uint32_t>(level / static_cast<uint64_t>(q));
      remainder[i] = level % static_cast<uint64_t>(q);
      if (remainder[i] > 0) rounding.push_back(i);
    }
    total += out.owned[i];
  }
  if (q > 0) {
    // Largest remainder: the free shares' fractions add up to a whole number of slots.
    std::stable_sort(rounding.begin(), rounding.end(), [&](size_t a, size_t b) {
      if (remainder[a] != remainder[b]) return remainder[a] > remainder[b];
      return shares[a].weight > shares[b].weight;
    });
    for (size_t k = 0; k < rounding.size() && total < slots; ++k, ++total) {
      ++out.owned[rounding[k]];
    }
  }
  if (total > slots) {  // the algorithm above cannot get here; refuse rather than overbook
    out.error = "upstream " + quoted(upstream) + ": internal error: " + std::to_string(total) +
                " slots assigned in a " + std::to_string(slots) + "-slot frame";
    return out;
  }
  out.unowned = static_cast<uint32_t>(slots - total);
  return out;
}

std::vector<uint32_t> spread_slots(std::span<const uint32_t> counts, uint32_t unowned) {
  std::vector<uint32_t> c(counts.begin(), counts.end());
  c.push_back(unowned);
  const uint64_t n64 = std::accumulate(c.begin(), c.end(), uint64_t{0});
  if (n64 == 0) return {};
  const auto n = static_cast<uint32_t>(n64);
  std::vector<uint32_t> own = order_by_ideal_position(c, n);
  repair(own, c);
  if (!within_pfair_gap(own, c)) {
    own = order_by_pfair_windows(c, n);
    repair(own, c);
  }
  return own;
}

bind_plan_result plan_bind(const bind_plan_request& request) {
  bind_plan_result r;
  const std::string_view up = request.upstream;
  if (request.rate_per_s == 0) return r;  // no gate: the shares are not used
  if (request.rate_per_s > max_rate_per_s) {
    r.error = "upstream " + quoted(up) + ": rate_per_s " + std::to_string(request.rate_per_s) +
              " is above " + std::to_string(max_rate_per_s);
    return r;
  }
  const uint64_t contract =
      request.contract_per_s > 0 ? request.contract_per_s : request.rate_per_s;
  std::vector<bool> seen(request.tenant_count, false);
  uint64_t guarantees = 0;
  for (const tenant_share& s : request.shares) {
    if (s.tenant >= request.tenant_count) {
      r.error = where(up, s) + ": tenant index " + std::to_string(s.tenant) + " out of range (" +
                std::to_string(request.tenant_count) + " tenants)";
      return r;
    }
    if (seen[s.tenant]) {
      r.error = where(up, s) + ": more than one share";
      return r;
    }
    seen[s.tenant] = true;
    if (s.weight == 0) {
      r.error = where(up, s) + ": weight must be 1..65535";
      return r;
    }
    if (s.queue_max == 0) {
      r.error = where(up, s) + ": queue_max must be at least 1";
      return r;
    }
    if (s.cap_per_s > 0 && s.guarantee_per_s > s.cap_per_s) {
      r.error = where(up, s) + ": guarantee_per_s " + std::to_string(s.guarantee_per_s) +
                " is above cap_per_s " + std::to_string(s.cap_per_s);
      return r;
    }
    guarantees += s.guarantee_per_s;
  }
  if (guarantees > contract) {
    r.error = "upstream " + quoted(up) + ": the guarantees add up to " + rate_text(guarantees) +
              ", more than its rate of " + rate_text(contract);
    return r;
  }

  const frame_choice frame = choose_frame(request.rate_per_s, request.frame_ms);
  // Caps and guarantees are per second of the upstream; this bind carries rate / contract of it,
  // so they become slots * value / contract slots of its frame.
  slot_counts counts = count_slots(up, frame.slots, contract, request.shares);
  if (!counts.error.empty()) {
    r.error = std::move(counts.error);
    return r;
  }
  if (request.strict) {
    for (size_t i = 0; i < request.shares.size(); ++i) {
      if (counts.owned[i] > 0) continue;
      r.error = where(up, request.shares[i]) + ": owns no slot of the " +
                std::to_string(frame.slots) + "-slot frame (weight " +
                std::to_string(request.shares[i].weight) +
                ") and would never send on a strict upstream: raise its weight or frame_ms, or "
                "use mode = \"work-conserving\"";
      return r;
    }
  }

  dataplane::slot_plan& plan = r.plan;
  plan.rate_per_s = request.rate_per_s;
  plan.slot_ns = (1'000'000'000ull + request.rate_per_s - 1) / request.rate_per_s;
  plan.strict = request.strict;
  plan.cap.assign(request.tenant_count, 0);
  plan.queue_max.assign(request.tenant_count, default_queue_max);
  for (size_t i = 0; i < request.shares.size(); ++i) {
    plan.cap[request.shares[i].tenant] = counts.cap[i];
    plan.queue_max[request.shares[i].tenant] = request.shares[i].queue_max;
  }
  plan.owner = spread_slots(counts.owned, counts.unowned);
  for (uint32_t& o : plan.owner) {
    o = o < request.shares.size() ? request.shares[o].tenant : dataplane::any_tenant;
  }
  r.frame_ms = frame.frame_ms;
  return r;
}

rate_split split_upstream_rate(std::string_view upstream, uint32_t upstream_rate_per_s,
                               std::span<const bind_rate> binds) {
  rate_split out;
  out.rate_per_s.assign(binds.size(), 0);
  uint64_t own_sum = 0;
  uint64_t weight_sum = 0;
  std::vector<size_t> shared;
  for (size_t b = 0; b < binds.size(); ++b) {
    if (!binds[b].sends) continue;
    if (binds[b].rate_per_s > 0) {
      out.rate_per_s[b] = binds[b].rate_per_s;
      own_sum += binds[b].rate_per_s;
    } else if (upstream_rate_per_s > 0) {
      if (binds[b].weight == 0) {
        out.error = "upstream " + quoted(upstream) + ": bind " + std::to_string(b) +
                    ": weight must be 1..65535";
        return out;
      }
      shared.push_back(b);
      weight_sum += binds[b].weight;
    }
  }
  if (upstream_rate_per_s == 0) {
    out.contract_per_s = own_sum;
    return out;
  }
  if (own_sum > upstream_rate_per_s) {
    out.error = "upstream " + quoted(upstream) + ": the binds' own rate_per_s add up to " +
                rate_text(own_sum) + ", more than the upstream's rate_per_s " +
                std::to_string(upstream_rate_per_s);
    return out;
  }
  const uint64_t left = upstream_rate_per_s - own_sum;
  if (shared.empty()) {
    out.contract_per_s = own_sum;
    return out;
  }
  uint64_t given = 0;
  std::vector<uint64_t> remainder(binds.size(), 0);
  for (size_t b : shared) {
    out.rate_per_s[b] = static_cast<uint32_t>(left * binds[b].weight / weight_sum);
    remainder[b] = left * binds[b].weight % weight_sum;
    given += out.rate_per_s[b];
  }
  std::vector<size_t> order = shared;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
  for (size_t k = 0; given < left; ++k, ++given) ++out.rate_per_s[order[k]];
  for (size_t b : shared) {
    if (out.rate_per_s[b] > 0) continue;
    out.error = "upstream " + quoted(upstream) + ": rate_per_s " +
                std::to_string(upstream_rate_per_s) + " leaves " + rate_text(left) + " for " +
                std::to_string(shared.size()) +
                " sending binds without their own rate_per_s: each needs at least 1 msg/s";
    out.rate_per_s.assign(binds.size(), 0);
    return out;
  }
  out.contract_per_s = upstream_rate_per_s;
  return out;
}

upstream_plan_result plan_upstream(const upstream_plan_request& request) {
  upstream_plan_result out;
  out.plans.resize(request.binds.size());
  rate_split split = split_upstream_rate(request.upstream, request.rate_per_s, request.binds);
  if (!split.error.empty()) {
    out.error = std::move(split.error);
    return out;
  }
  const bool bounded = std::any_of(request.shares.begin(), request.shares.end(), [](const auto& s) {
    return s.cap_per_s > 0 || s.guarantee_per_s > 0;
  });
  if (request.strict || bounded) {
    for (size_t b = 0; b < request.binds.size(); ++b) {
      if (!request.binds[b].sends || split.rate_per_s[b] > 0) continue;
      out.error = "upstream " + quoted(request.upstream) + ": bind " + std::to_string(b) +
                  " has no rate_per_s: with mode = \"strict\", cap_per_s or guarantee_per_s "
                  "every sending bind needs a rate (or set the upstream's rate_per_s)";
      return out;
    }
  }
  std::map<uint32_t, size_t> planned;  // rate -> first bind planned at it
  for (size_t b = 0; b < request.binds.size(); ++b) {
    const uint32_t rate = split.rate_per_s[b];
    if (rate == 0) continue;
    if (auto it = planned.find(rate); it != planned.end()) {
      out.plans[b] = out.plans[it->second];
      continue;
    }
    bind_plan_request br;
    br.upstream = request.upstream;
    br.rate_per_s = rate;
    br.contract_per_s = split.contract_per_s;
    br.frame_ms = request.frame_ms;
    br.strict = request.strict;
    br.tenant_count = request.tenant_count;
    br.shares = request.shares;
    bind_plan_result r = plan_bind(br);
    if (!r.ok()) {
      out.error = std::move(r.error);
      out.plans.assign(request.binds.size(), {});
      return out;
    }
    out.plans[b] = std::move(r.plan);
    planned.emplace(rate, b);
  }
  return out;
}

}  // namespace smpp::control
