// What every part of one router worker reads: who the worker is, the snapshot it runs on, the
// clock of the current turn, and the three things every part writes through: the counters, the
// output and the table of sessions by connection. Single-threaded, owned by the worker core.
#pragma once

#include <cstdint>
#include <memory>

#include "conn_table.hpp"
#include "output.hpp"
#include "smpp/dataplane/handoff.hpp"
#include "smpp/dataplane/shared_state.hpp"
#include "smpp/dataplane/snapshot.hpp"
#include "smpp/dataplane/upstream_quality.hpp"
#include "worker_counters.hpp"

namespace smpp::dataplane::router {

struct worker_context {
  worker_context(uint32_t worker_index, uint32_t worker_count, transport& transport,
                 std::shared_ptr<const router_snapshot> snapshot, shared_state* shared_state,
                 ring_mesh* ring_mesh, size_t tenant_capacity, size_t upstream_capacity)
      : index(worker_index),
        workers(worker_count),
        t(transport),
        snap(std::move(snapshot)),
        shared(shared_state),
        mesh(ring_mesh),
        counters(tenant_capacity, upstream_capacity),
        stats(counters.stats),
        out(transport),
        quality(upstream_capacity) {}

  const uint32_t index;
  const uint32_t workers;
  transport& t;
  std::shared_ptr<const router_snapshot> snap;  // replaced only between turns (RCU)
  shared_state* const shared;                   // nullptr: a worker on its own (tests)
  ring_mesh* const mesh;                        // nullptr: one worker
  uint64_t now_ms = 0;
  uint64_t now_us = 0;   // steady clock, read once per turn
  uint64_t wall_ms = 0;  // the wall clock (ms since the Unix epoch), per turn, with a store
  bool shutting_down = false;
  // A bind's window got room this turn (an answer came): sessions held back by back-pressure
  // are offered again at once, not a millisecond later.
  bool room_freed = false;
  worker_counters counters;
  worker_stats& stats;
  output out;
  conn_table conns;
  // Each upstream's delivery ratio and answer latency as this worker saw them (quality routes).
  upstream_quality quality;

  [[nodiscard]] const router_snapshot& cfg() const noexcept { return *snap; }
  // A final receipt, an answer to a message request: into the upstream's quality window, whose
  // sums are then published for the admin API and /metrics.
  void quality_receipt(uint32_t upstream, bool delivered) noexcept {
    quality.receipt(upstream, delivered, now_ms, cfg().quality.window_ms);
    publish_quality(upstream);
  }
  void quality_answer(uint32_t upstream, uint64_t latency_us) noexcept {
    quality.answered(upstream, latency_us, now_ms, cfg().quality.window_ms);
    publish_quality(upstream);
  }
  // Each upstream's window moved on to now_ms (what left it no longer shows), then published.
  void expire_quality() noexcept {
    for (uint32_t u = 0; u < cfg().upstreams.size() && u < counters.upstream_capacity(); ++u) {
      quality.expire(u, now_ms, cfg().quality.window_ms);
      publish_quality(u);
    }
  }
  void publish_quality(uint32_t upstream) noexcept {
    if (upstream >= counters.upstream_capacity()) return;
    const upstream_quality::totals seen = quality.seen(upstream);
    upstream_counters& c = counters.upstream(upstream);
    c.window_finals.set(seen.finals);
    c.window_delivered.set(seen.delivered);
    c.window_answers.set(seen.answers);
    c.window_latency_us.set(seen.latency_us);
  }
  // Other workers to hand work to.
  [[nodiscard]] bool meshed() const noexcept { return mesh != nullptr; }
};

}  // namespace smpp::dataplane::router
