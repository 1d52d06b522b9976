// The two clocks of smpp-http in milliseconds: steady for timeouts and back-off, wall (Unix
// time) for the times a message shows.
#pragma once

#include <chrono>
#include <cstdint>

namespace smpp::http {

[[nodiscard]] inline std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

[[nodiscard]] inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace smpp::http
