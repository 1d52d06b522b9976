#include "smpp/dataplane/dpdk/fault.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace smpp::dataplane::dpdk {

namespace {

constexpr std::string_view accepted =
    "accepted keys: loss, dup, reorder, delay (probabilities 0..1), reorder_after (frames), "
    "reorder_max_us, delay_us (microseconds), seed, hold (held frames, 1..4096)";

bool parse_u64(std::string_view v, uint64_t& out) {
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc{} && p == v.data() + v.size() && !v.empty();
}

bool parse_probability(std::string_view v, double& out) {
  // strtod needs a terminated string; the values are short.
  if (v.empty() || v.size() > 32) return false;
  char buf[33];
  v.copy(buf, v.size());
  buf[v.size()] = '\0';
  char* end = nullptr;
  const double d = std::strtod(buf, &end);
  if (end != buf + v.size() || !std::isfinite(d) || d < 0 || d > 1) return false;
  out = d;
  return true;
}

}  // namespace

bool fault_config::parse(std::string_view text, fault_config& out, std::string& error) {
  fault_config c;
  unsigned seen_keys = 0;
  static constexpr std::string_view keys[] = {"loss",           "dup",           "reorder",
                                              "delay",          "reorder_after", "delay_us",
                                              "reorder_max_us", "seed",          "hold"};
  bool more = !text.empty();
  while (more) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    more = comma != std::string_view::npos;  // "a=1," has an empty last item: rejected below
    text = more ? text.substr(comma + 1) : std::string_view{};
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      error = "fault: '" + std::string(item) + "' is not key=value; " + std::string(accepted);
      return false;
    }
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    size_t k = 0;
    while (k < std::size(keys) && keys[k] != key) ++k;
    if (k == std::size(keys)) {
      error = "fault: unknown key '" + std::string(key) + "'; " + std::string(accepted);
      return false;
    }
    if ((seen_keys & (1u << k)) != 0) {
      error = "fault: key '" + std::string(key) + "' given twice";
      return false;
    }
    seen_keys |= 1u << k;
    bool ok = false;
    uint64_t u = 0;
    switch (k) {
      case 0:
        ok = parse_probability(value, c.loss);
        break;
      case 1:
        ok = parse_probability(value, c.dup);
        break;
      case 2:
        ok = parse_probability(value, c.reorder);
        break;
      case 3:
        ok = parse_probability(value, c.delay);
        break;
      case 4:
        ok = parse_u64(value, u) && u <= 1'000'000;
        c.reorder_after = static_cast<uint32_t>(u);
        break;
      case 5:
        ok = parse_u64(value, c.delay_us) && c.delay_us <= 60'000'000;
        break;
      case 6:
        ok = parse_u64(value, c.reorder_max_us) && c.reorder_max_us <= 60'000'000;
        break;
      case 7:
        ok = parse_u64(value, c.seed);
        break;
      case 8:
        ok = parse_u64(value, u) && u >= 1 && u <= fault_hold_max;
        c.hold_capacity = static_cast<size_t>(u);
        break;
      default:
        break;
    }
    if (!ok) {
      error = "fault: bad value '" + std::string(value) + "' for '" + std::string(key) + "'; " +
              std::string(accepted);
      return false;
    }
  }
  out = c;
  return true;
}

std::string fault_config::with_seed(std::string_view text, uint64_t seed) {
  std::string out;
  size_t from = 0;
  while (from <= text.size()) {
    size_t comma = text.find(',', from);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = text.substr(from, comma - from);
    if (!item.empty() && !item.starts_with("seed=")) out.append(item).append(",");
    from = comma + 1;
  }
  return out + "seed=" + std::to_string(seed);
}

}  // namespace smpp::dataplane::dpdk
