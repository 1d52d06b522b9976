// One router worker: the ESME sessions it accepted, its share of the upstream binds, and the
// hot path between them (SMPP 3.4 §2.2-2.3 sessions, §4 PDUs). What control/ and the tests call.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "smpp/codec/status.hpp"
#include "smpp/dataplane/counters.hpp"
#include "smpp/dataplane/handoff.hpp"
#include "smpp/dataplane/shared_state.hpp"
#include "smpp/dataplane/slot_gate.hpp"
#include "smpp/dataplane/snapshot.hpp"
#include "smpp/dataplane/transport.hpp"
#include "smpp/dataplane/worker_stats.hpp"
#include "smpp/store/backend.hpp"

namespace smpp::dataplane {

// The temporary error an ESME gets when the router cannot deliver its request upstream: the
// upstream bind dropped with the request in flight, the upstream did not answer within
// timers.response_ms, or no bind of any upstream of the route is up. ESMEs treat it as
// "retry later" (SMPP 3.4 §5.1.3).
inline constexpr codec::command_status upstream_failure_status =
    codec::command_status::ESME_RMSGQFUL;

namespace router {
class worker_core;
}

// A worker's sessions and hot path (the parts are in dataplane/src/router/, see
// docs/architecture.md). Single-threaded: everything here is touched only by the worker's own
// thread, driven by its transport's poll(), except the counters, which any thread may read.
class router_worker final {
 public:
  // Bind i of each upstream belongs to worker i % workers.
  // mesh: the rings between workers (nullptr with one worker).
  // shared: nullptr for a worker on its own (tests).
  // The worker becomes the transport's handler.
  router_worker(uint32_t index, uint32_t workers, transport& t,
                std::shared_ptr<const router_snapshot> snapshot, shared_state* shared,
                ring_mesh* mesh = nullptr);
  ~router_worker();
  router_worker(const router_worker&) = delete;
  router_worker& operator=(const router_worker&) = delete;

  // Before start(): takes back the message ids and held messages of this worker's store shard
  // (its journal's backend, shared_state::journals). Throws store::store_error.
  void recover(store::backend& shard, uint64_t now_ms);
  // Listens on every configured listener and starts connecting this worker's upstream binds.
  // Returns 0 or the negative errno of the first listener that failed.
  [[nodiscard]] int start(uint64_t now_ms);
  // One turn of the loop: take what other workers sent, poll the transport, then run timers
  // that are due. Returns how many events and ring messages it handled (0: idle turn).
  // now_us: the steady clock in microseconds (0: read it), for slot gates and latencies.
  int run_once(uint64_t now_ms, int timeout_us, uint64_t now_us = 0);
  // Timers: bind deadlines, enquire_link, dead peers, response timeouts, reconnects.
  void tick(uint64_t now_ms);
  // SIGTERM: unbind every session; done() once all are closed or timers.shutdown_ms passed.
  void begin_shutdown(uint64_t now_ms);
  [[nodiscard]] bool done() const noexcept;

  // Counters: written by this worker only, readable from any thread while the worker exists.
  [[nodiscard]] const worker_stats& stats() const noexcept;
  [[nodiscard]] std::span<const tenant_counters> tenant_stats() const noexcept;
  [[nodiscard]] std::span<const upstream_counters> upstream_stats() const noexcept;
  [[nodiscard]] uint32_t index() const noexcept { return index_; }
  // The slot gates of this worker's gated binds (read on the worker's thread, or after it
  // stopped: the gate counters are not atomic).
  struct gate_report {
    uint32_t upstream = 0;
    slot_gate_stats stats;
    uint32_t stretch = 1;
  };
  [[nodiscard]] std::vector<gate_report> gate_reports() const;
  [[nodiscard]] uint32_t esme_sessions() const noexcept;
  [[nodiscard]] uint32_t upstream_binds_bound() const noexcept;

 private:
  uint32_t index_;
  shared_state* shared_;
  std::unique_ptr<router::worker_core> core_;
};

}  // namespace smpp::dataplane
