// This thread's CPU time and runnable time, for tests that tell a sleeping poll from a spinning
// one.
#pragma once

#include <time.h>

#include <cstdint>
#include <fstream>
#include <optional>

namespace smpp::testing {

// CPU time this thread has used, in microseconds.
inline uint64_t thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// Time this thread spent on a CPU or runnable and waiting for one (proc(5),
// /proc/thread-self/schedstat), in microseconds; nullopt where the kernel does not say. A
// spinning thread is runnable all the time, however busy the machine; a sleeping one is not.
inline std::optional<uint64_t> thread_runnable_us() {
  std::ifstream in("/proc/thread-self/schedstat");
  uint64_t on_cpu_ns = 0, waiting_ns = 0;
  if (!(in >> on_cpu_ns >> waiting_ns)) return std::nullopt;
  return (on_cpu_ns + waiting_ns) / 1000;
}

}  // namespace smpp::testing
