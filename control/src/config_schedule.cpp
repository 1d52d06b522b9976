// The TDMA schedule of an upstream: rate_per_s, frame_ms, mode and [[upstreams.shares]]
// (config/README.md). What only the planner can tell (a cap below one slot of the frame) is
// reported by build_snapshot.
#include <algorithm>

#include "config_sections.hpp"

namespace smpp::control::detail {
namespace {

constexpr int_range frame_ms_range{10, 10'000};
constexpr int_range cap_range{1, 1'000'000};
constexpr int_range queue_max_range{1, 1'000'000};
constexpr std::string_view mode_accepted = "\"work-conserving\" or \"strict\"";

}  // namespace

void load_schedule(config_reader& r, const toml::table& t, const std::string& path,
                   const std::vector<tenant_config>& tenants, upstream_config& c) {
  const std::size_t errors_before = r.error_count();
  const toml::node* rate = r.read_int(t, "rate_per_s", path, rate_range, c.rate_per_s);
  r.read_int(t, "frame_ms", path, frame_ms_range, c.frame_ms);
  const auto* mode = r.read_string(t, "mode", path, mode_accepted);
  if (mode != nullptr) {
    if (mode->get() == "strict") {
      c.strict = true;
    } else if (mode->get() != "work-conserving") {
      r.wrong(*mode, join(path, "mode"), mode_accepted);
    }
  }
  std::map<std::string, uint32_t> seen;  // tenant -> line
  const toml::node* first_share = nullptr;
  std::vector<std::pair<const toml::table*, std::string>> share_tables =
      r.tables_of(t, "shares", path);
  for (const auto& [s, spath] : share_tables) {
    r.check_keys(*s, spath, {"tenant", "weight", "cap_per_s", "guarantee_per_s", "queue_max"});
    if (first_share == nullptr) first_share = s;
    upstream_share_config share;
    if (const auto* n = r.require_string(*s, "tenant", spath, "a tenant name")) {
      const auto it = std::find_if(tenants.begin(), tenants.end(),
                                   [&](const tenant_config& x) { return x.name == n->get(); });
      if (it == tenants.end()) {
        std::string defined;
        for (const auto& x : tenants) defined += (defined.empty() ? "" : ", ") + x.name;
        r.error(*n, join(spath, "tenant"),
                "unknown tenant " + quoted(n->get()) +
                    " (defined: " + (defined.empty() ? "none" : defined) + ")");
      } else if (auto [at, fresh] = seen.emplace(n->get(), n->source().begin.line); !fresh) {
        r.error(*n, join(spath, "tenant"),
                "tenant " + quoted(n->get()) + " already has a share of this upstream (line " +
                    std::to_string(at->second) + ")");
      } else {
        share.tenant = n->get();
        share.weight = it->weight;
      }
    }
    r.read_int(*s, "weight", spath, weight_range, share.weight);
    const toml::node* cap = r.read_int(*s, "cap_per_s", spath, cap_range, share.cap_per_s);
    const toml::node* guarantee =
        r.read_int(*s, "guarantee_per_s", spath, rate_range, share.guarantee_per_s);
    r.read_int(*s, "queue_max", spath, queue_max_range, share.queue_max);
    if (cap != nullptr && guarantee != nullptr && share.guarantee_per_s > share.cap_per_s) {
      r.error(*guarantee, join(spath, "guarantee_per_s"),
              "must be at most cap_per_s (" + std::to_string(share.cap_per_s) + ")");
    }
    c.shares.push_back(std::move(share));
  }
  if (r.error_count() != errors_before) return;  // cross-checks only between valid values

  // The contract: the upstream's rate_per_s, or its sending binds' own rates added up.
  uint64_t own_rates = 0;
  uint64_t unrated = 0;
  for (const auto& b : c.binds) {
    if (b.type == bind_type::receiver) continue;
    own_rates += uint64_t{b.rate_per_s} * b.count;
    if (b.rate_per_s == 0) unrated += b.count;
  }
  const uint64_t contract = c.rate_per_s > 0 ? c.rate_per_s : own_rates;
  if (c.rate_per_s > 0 && own_rates > c.rate_per_s) {
    r.error(*rate, join(path, "rate_per_s"),
            "is below its binds' own rate_per_s, which add up to " + std::to_string(own_rates) +
                " (count included): the binds would send faster than the contract");
    return;
  }
  if (c.rate_per_s > 0 && unrated > c.rate_per_s - own_rates) {
    r.error(*rate, join(path, "rate_per_s"),
            "leaves " + std::to_string(c.rate_per_s - own_rates) + " msg/s for " +
                std::to_string(unrated) +
                " sending binds without their own rate_per_s: each needs at least 1");
    return;
  }
  if (contract == 0) {
    if (first_share != nullptr) {
      r.error(*first_share, join(path, "shares"),
              "has no effect: the upstream has no rate_per_s (set it on the upstream or on its "
              "binds)");
    }
    if (c.strict) {
      r.error(*mode, join(path, "mode"),
              "\"strict\" needs a rate_per_s on the upstream or its binds");
    }
    return;
  }
  uint64_t guaranteed = 0;
  for (std::size_t i = 0; i < c.shares.size(); ++i) {
    const upstream_share_config& s = c.shares[i];
    const toml::table& st = *share_tables[i].first;
    const std::string& spath = share_tables[i].second;
    if ((s.cap_per_s > 0 || s.guarantee_per_s > 0) && c.rate_per_s == 0 && unrated > 0) {
      r.error(st, spath,
              "cap_per_s and guarantee_per_s need a rate on every sending bind: set the "
              "upstream's rate_per_s or each bind's");
      return;
    }
    guaranteed += s.guarantee_per_s;
    if (guaranteed > contract) {
      r.error(*st.get("guarantee_per_s"), join(spath, "guarantee_per_s"),
              "the guarantees add up to " + std::to_string(guaranteed) +
                  " msg/s, more than the "
                  "upstream's rate of " +
                  std::to_string(contract) + " msg/s");
      return;
    }
  }
  if (c.strict && c.rate_per_s == 0 && unrated > 0) {
    r.error(*mode, join(path, "mode"),
            "\"strict\" needs a rate on every sending bind: set the upstream's rate_per_s or each "
            "bind's");
  }
}

}  // namespace smpp::control::detail
