// This thread's CPU time and runnable time, and whether another thread sleeps, for tests that
// tell a sleeping poll from a spinning one.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

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

// Whether thread `tid` of this process is asleep: state S in /proc/self/task/<tid>/stat (proc(5)),
// as a thread is inside nanosleep() or a blocking wait, and never while it spins.
inline bool thread_sleeping(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const size_t paren = stat.rfind(')');  // the name in parentheses may hold spaces
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'S';
}

}  // namespace smpp::testing
