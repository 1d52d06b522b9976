// Worker placement with hwloc: which CPUs the workers run on, and pinning a thread there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smpp::dataplane {

struct worker_plan {
  std::vector<uint32_t> cpus;  // OS CPU index per worker
  std::string reason;          // one line an operator can read
};

// automatic: one worker per physical core (first hardware thread of each core, SMT siblings
// skipped), leaving the first core to the control thread when there are more than two cores.
// Otherwise the explicit list, validated against the machine (unknown CPUs are an error).
[[nodiscard]] bool plan_workers(bool automatic, const std::vector<uint32_t>& cpus, worker_plan& out,
                                std::string& error);

// Pins the calling thread to one CPU; false with errno-style text on failure.
[[nodiscard]] bool pin_current_thread(uint32_t cpu, std::string& error);

}  // namespace smpp::dataplane
