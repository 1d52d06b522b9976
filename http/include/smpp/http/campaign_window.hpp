// A campaign's send window: the time of day (start inclusive, stop exclusive, minutes past
// midnight at a fixed offset from UTC) during which its recipients are handed over. A window
// whose stop is before its start spans midnight (22:00-06:00).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smpp::http {

struct send_window {
  int start_min = 0;       // 0..1439
  int stop_min = 0;        // 0..1439, != start_min
  int utc_offset_min = 0;  // -840..840: local time = UTC + offset
};

// "HH:MM" (00:00..23:59) as minutes past midnight.
[[nodiscard]] std::optional<int> parse_time_of_day(std::string_view text);
[[nodiscard]] std::string time_of_day(int minutes);

[[nodiscard]] bool in_window(const send_window& w, std::int64_t wall_ms);
// The wall-clock time at which the window next opens (wall_ms itself when it is open).
[[nodiscard]] std::int64_t next_opening(const send_window& w, std::int64_t wall_ms);

}  // namespace smpp::http
