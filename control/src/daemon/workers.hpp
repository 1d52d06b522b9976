// The worker threads: one per CPU of the plan, pinned, each with a transport of its own (kernel
// sockets, or its queues of the DPDK ports) under a router_worker, polling until stop().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dpdk_bringup.hpp"
#include "smpp/control/config.hpp"
#include "smpp/dataplane/kernel_transport.hpp"
#include "smpp/dataplane/placement.hpp"
#include "smpp/dataplane/router_worker.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::router_daemon {

// What one worker did: why it could not start, or what it counted (the exit report's input).
struct worker_result {
  int start_error = 0;
  std::string start_message;  // when the transport could not be built, or said why
  dataplane::worker_stats stats;
  dataplane::kernel_transport_stats transport;
  std::optional<dataplane::port_counters> dpdk;  // on DPDK ports: every port together
  std::vector<dataplane::router_worker::gate_report> gates;
};

// What the workers share; it must outlive the worker_threads.
struct worker_context {
  const control::router_config* config = nullptr;
  std::shared_ptr<const dataplane::router_snapshot> snapshot;
  dataplane::shared_state* shared = nullptr;
  dataplane::ring_mesh* mesh = nullptr;  // nullptr with one worker
  const dpdk_setup* dpdk = nullptr;      // nullptr: kernel sockets
};

class worker_threads {
 public:
  // Starts one thread per worker of `placed`; returns once every one has started or failed.
  worker_threads(const dataplane::placement& placed, worker_context context);
  ~worker_threads() { stop(); }
  worker_threads(const worker_threads&) = delete;
  worker_threads& operator=(const worker_threads&) = delete;

  // Prints why each worker that failed could not start; false when one did.
  [[nodiscard]] bool all_started() const;
  // Every worker unbinds its sessions and stops; the threads are joined.
  void stop();
  // Each worker's result; complete once stop() returned.
  [[nodiscard]] const std::vector<worker_result>& results() const noexcept { return results_; }

 private:
  worker_context context_;
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> started_{0};
  std::vector<worker_result> results_;
  std::vector<std::thread> threads_;
};

}  // namespace smpp::router_daemon
