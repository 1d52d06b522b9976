#include "smpp/dataplane/router_worker.hpp"

#include "worker_core.hpp"

namespace smpp::dataplane {

router_worker::router_worker(uint32_t index, uint32_t workers, transport& t,
                             std::shared_ptr<const router_snapshot> snapshot, shared_state* shared,
                             ring_mesh* mesh)
    : index_(index),
      shared_(shared),
      core_(std::make_unique<router::worker_core>(index, workers, t, std::move(snapshot), shared,
                                                  mesh)) {
  if (shared_ != nullptr && index_ < shared_->workers.size())
    shared_->workers[index_].store(this, std::memory_order_release);
}

router_worker::~router_worker() {
  if (shared_ != nullptr && index_ < shared_->workers.size())
    shared_->workers[index_].store(nullptr, std::memory_order_release);
}

void router_worker::recover(store::backend& shard, uint64_t now_ms) {
  core_->recover(shard, now_ms);
}

int router_worker::start(uint64_t now_ms) {
  return core_->start(now_ms);
}

int router_worker::run_once(uint64_t now_ms, int timeout_us, uint64_t now_us) {
  return core_->run_once(now_ms, timeout_us, now_us);
}

void router_worker::tick(uint64_t now_ms) {
  core_->tick(now_ms);
}

void router_worker::begin_shutdown(uint64_t now_ms) {
  core_->begin_shutdown(now_ms);
}

bool router_worker::done() const noexcept {
  return core_->done();
}

const worker_stats& router_worker::stats() const noexcept {
  return core_->stats();
}

std::span<const tenant_counters> router_worker::tenant_stats() const noexcept {
  return core_->counters().tenants();
}

std::span<const upstream_counters> router_worker::upstream_stats() const noexcept {
  return core_->counters().upstreams();
}

std::vector<router_worker::gate_report> router_worker::gate_reports() const {
  return core_->gate_reports();
}

uint32_t router_worker::esme_sessions() const noexcept {
  return core_->esme_sessions();
}

uint32_t router_worker::upstream_binds_bound() const noexcept {
  return core_->upstream_binds_bound();
}

}  // namespace smpp::dataplane
