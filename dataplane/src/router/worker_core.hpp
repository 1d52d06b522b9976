// One router worker put together: its parts, the order of a turn (rings, gates, transport,
// timers), the transport's events dispatched to the side they belong to, ring messages to the
// part they are for, the answers routed to the worker that holds their session, and new
// snapshots adopted between turns (RCU).
//
// Which part calls which (nothing calls upward except through `answers`):
//   worker_core -> esme_side -> request_router -> upstream_side -> return_path -> deliveries
//   request_router -> message_ids, handoff_port;  upstream_side -> message_ids
//   return_path -> message_ids, deliveries;  deliveries -> handoff_port
//   answers -> esme_side::answer, upstream_side::answer_deliver, handoff_port
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "answers.hpp"
#include "context.hpp"
#include "deliveries.hpp"
#include "esme_side.hpp"
#include "handoff_port.hpp"
#include "message_ids.hpp"
#include "request_router.hpp"
#include "return_path.hpp"
#include "smpp/dataplane/router_worker.hpp"
#include "smpp/store/backend.hpp"
#include "store_waits.hpp"
#include "upstream_side.hpp"

namespace smpp::dataplane::router {

class alignas(64) worker_core final : public transport_handler, private handoff_port::handler {
 public:
  worker_core(uint32_t index, uint32_t workers, transport& t,
              std::shared_ptr<const router_snapshot> snapshot, shared_state* shared,
              ring_mesh* mesh);
  worker_core(const worker_core&) = delete;
  worker_core& operator=(const worker_core&) = delete;

  // Before start(): takes back the message ids and held messages of this worker's store shard.
  void recover(store::backend& shard, uint64_t now_ms);
  [[nodiscard]] int start(uint64_t now_ms);
  int run_once(uint64_t now_ms, int timeout_us, uint64_t now_us);
  void tick(uint64_t now_ms);
  void begin_shutdown(uint64_t now_ms);
  [[nodiscard]] bool done() const noexcept;

  [[nodiscard]] const worker_stats& stats() const noexcept { return ctx_.stats; }
  [[nodiscard]] const worker_counters& counters() const noexcept { return ctx_.counters; }
  [[nodiscard]] std::vector<router_worker::gate_report> gate_reports() const {
    return upstreams_.gate_reports();
  }
  [[nodiscard]] uint32_t esme_sessions() const noexcept { return esmes_.sessions(); }
  [[nodiscard]] uint32_t upstream_binds_bound() const noexcept { return upstreams_.bound(); }

  // transport_handler
  void on_accept(conn_id c, uint32_t listener, const peer_address& peer) override;
  void on_connect(conn_id c, int err) override;
  void on_data(conn_id c, bytes_view data) override;
  void on_writable(conn_id c) override;
  void on_close(conn_id c, int err) override;

 private:
  void on_message(const handoff_header& h, bytes_view payload) override;
  void adopt_published();
  // At shutdown: this worker's ESMEs are quiet (esme_side::all_answered), and so are every other
  // worker's (shared_state::quiet).
  bool all_quiet();
  // Every entry point closes the output runs it opened before it returns.
  struct settle_on_return {
    output& out;
    ~settle_on_return() { out.settle_all(); }
  };

  worker_context ctx_;
  handoff_port port_;
  answers back_;
  store_waits waits_;
  message_ids ids_;
  deliveries deliveries_;
  return_path returns_;
  upstream_side upstreams_;
  request_router routing_;
  esme_side esmes_;
  uint64_t next_tick_ms_ = 0;
  uint64_t shutdown_deadline_ms_ = 0;
  uint64_t seen_generation_ = 0;  // of shared_state::published
  // By listener index: the upstream that calls back on it (SMPP 3.4 §4.1.7), else no_outbind.
  static constexpr uint32_t no_outbind = UINT32_MAX;
  std::vector<uint32_t> outbind_upstream_;
  bool last_turn_busy_ = false;
};

}  // namespace smpp::dataplane::router
