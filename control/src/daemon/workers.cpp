#include "workers.hpp"

#include <rte_errno.h>
#include <rte_lcore.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>

namespace smpp::router_daemon {
namespace {

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// What one worker thread is given.
struct worker_args {
  uint32_t index = 0;
  uint32_t workers = 0;
  uint32_t cpu = 0;
  const worker_context* context = nullptr;
  const std::atomic<bool>* stop = nullptr;
  std::atomic<uint32_t>* started = nullptr;
  worker_result* result = nullptr;
};

// Runs the worker's poll loop on `transport` until stop and the unbinding are done.
void serve(const worker_args& a, dataplane::transport& transport) {
  worker_result* result = a.result;
  dataplane::router_worker worker(a.index, a.workers, transport, a.context->snapshot,
                                  a.context->shared, a.context->mesh);
  // The store's state comes back before the listeners open.
  if (store::journal* j = a.context->shared->journals[a.index]; j != nullptr) {
    try {
      worker.recover(j->store(), now_ms());
      std::fprintf(stderr,
                   "smpp-router: worker %u: %llu message ids and %llu held messages back from "
                   "the store\n",
                   a.index,
                   static_cast<unsigned long long>(worker.stats().store_recovered_notes.load()),
                   static_cast<unsigned long long>(worker.stats().store_recovered_held.load()));
    } catch (const std::exception& e) {
      result->start_error = -EIO;
      result->start_message = std::string("[store] recovery: ") + e.what();
      a.started->fetch_add(1);
      return;
    }
  }
  result->start_error = worker.start(now_ms());
  if (result->start_error != 0) result->start_message = transport.last_error();
  a.started->fetch_add(1);
  if (result->start_error != 0) return;
  bool stopping = false;
  // Adaptive polling: after a turn with work, poll again without sleeping; only after
  // kIdleSpins empty turns in a row (tens of microseconds) sleep in the kernel. Under load the
  // worker never sleeps, so senders pay no wake-up and ring messages wait no poll timeout. (A
  // DPDK transport spins instead of sleeping: a poll-mode driver; with [dpdk] idle_sleep_us it
  // sleeps in steps of that many microseconds once idle.)
  constexpr uint32_t kIdleSpins = 64;
  uint32_t idle = 0;
  for (;;) {
    const uint64_t now = now_ms();
    if (!stopping && a.stop->load(std::memory_order_relaxed)) {
      stopping = true;
      worker.begin_shutdown(now);
    }
    if (stopping && worker.done()) break;
    const int work = worker.run_once(now, idle < kIdleSpins ? 0 : 1000);
    idle = work > 0 ? 0 : idle + 1;
  }
  transport.flush();
  result->stats = worker.stats();
  result->gates = worker.gate_reports();
}

// The worker thread. With DPDK it registers itself with the EAL (rte_thread_register) after
// pinning, so it has an lcore id of its own (the mempool's per-lcore cache serves its queues),
// and builds its transport here, on its own NUMA node.
void run_worker(worker_args a) {
  const control::router_config* cfg = a.context->config;
  worker_result* result = a.result;
  std::string err;
  if (!dataplane::pin_current_thread(a.cpu, err)) {
    std::fprintf(stderr, "smpp-router: worker %u: cannot pin to cpu %u: %s (running unpinned)\n",
                 a.index, a.cpu, err.c_str());
  }
  if (a.context->dpdk == nullptr) {
    dataplane::transport_limits tl;
    tl.max_connections = cfg->limits.max_connections;
    tl.max_send_queue_bytes = cfg->limits.max_send_queue_bytes;
    dataplane::kernel_transport transport(tl);
    serve(a, transport);
    result->transport = transport.stats();
    return;
  }
  if (rte_thread_register() != 0) {
    result->start_error = -EAGAIN;
    result->start_message = std::string("rte_thread_register: ") + rte_strerror(rte_errno) +
                            " (more threads than RTE_MAX_LCORE?)";
    a.started->fetch_add(1);
    return;
  }
  if (auto transport = make_dpdk_transport(*cfg, *a.context->dpdk, a.index, err)) {
    serve(a, *transport);
    dataplane::port_counters sum;
    transport->add_port_counters(sum);
    result->dpdk = sum;
  } else {
    result->start_error = -EINVAL;
    result->start_message = err;
    a.started->fetch_add(1);
  }
  // The transport is gone (its buffers back in the mempool through this lcore's cache).
  rte_thread_unregister();
}

}  // namespace

worker_threads::worker_threads(const dataplane::placement& placed, worker_context context)
    : context_(std::move(context)), results_(placed.workers.size()) {
  const auto n = static_cast<uint32_t>(placed.workers.size());
  for (uint32_t i = 0; i < n; ++i) {
    threads_.emplace_back(run_worker, worker_args{i, n, placed.workers[i].where.cpu, &context_,
                                                  &stop_, &started_, &results_[i]});
  }
  while (started_.load() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

bool worker_threads::all_started() const {
  bool all = true;
  for (size_t i = 0; i < results_.size(); ++i) {
    const worker_result& r = results_[i];
    if (!r.start_message.empty() && r.start_error != 0) {
      std::fprintf(stderr, "smpp-router: worker %zu cannot start: %s\n", i,
                   r.start_message.c_str());
      all = false;
    } else if (r.start_error != 0) {
      std::fprintf(stderr, "smpp-router: worker %zu cannot listen: %s\n", i,
                   std::strerror(-r.start_error));
      all = false;
    }
  }
  return all;
}

void worker_threads::stop() {
  stop_.store(true);
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

}  // namespace smpp::router_daemon
