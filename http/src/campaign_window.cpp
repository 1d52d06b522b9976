// Send windows by the minute of the day.
#include "smpp/http/campaign_window.hpp"

#include <cstdio>

namespace smpp::http {
namespace {

constexpr std::int64_t minute_ms = 60'000;
constexpr std::int64_t day_min = 1440;

// The local minute of the day of `wall_ms`.
std::int64_t minute_of_day(const send_window& w, std::int64_t wall_ms) {
  const std::int64_t m = (wall_ms / minute_ms + w.utc_offset_min) % day_min;
  return m < 0 ? m + day_min : m;
}

}  // namespace

std::optional<int> parse_time_of_day(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (const std::size_t i : {0u, 1u, 3u, 4u}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

std::string time_of_day(int minutes) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", (minutes / 60) % 24, minutes % 60);
  return buf;
}

bool in_window(const send_window& w, std::int64_t wall_ms) {
  const std::int64_t m = minute_of_day(w, wall_ms);
  if (w.start_min < w.stop_min) return m >= w.start_min && m < w.stop_min;
  return m >= w.start_min || m < w.stop_min;  // spans midnight
}

std::int64_t next_opening(const send_window& w, std::int64_t wall_ms) {
  if (in_window(w, wall_ms)) return wall_ms;
  const std::int64_t m = minute_of_day(w, wall_ms);
  const std::int64_t ahead = (w.start_min - m + day_min) % day_min;
  // From the start of the current minute.
  return (wall_ms / minute_ms + ahead) * minute_ms;
}

}  // namespace smpp::http
