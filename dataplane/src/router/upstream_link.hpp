// One bind to an upstream SMSC owned by this worker (SMPP 3.4 §2.2): its connection state, the
// requests in flight on it, and its slot gate when its TDMA plan has a rate.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "seq_window.hpp"
#include "smpp/codec/framer.hpp"
#include "smpp/codec/pdu.hpp"
#include "smpp/dataplane/slot_gate.hpp"
#include "smpp/dataplane/snapshot.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::dataplane::router {

// idle: an on-demand bind that is not wanted; down: failed, reconnecting after a back-off (an
// upstream that calls back: waiting for its outbind); outbind_wait: the SMSC connected to the
// upstream's outbind listener, its outbind (SMPP 3.4 §4.1.7) has not come yet.
enum class link_state : uint8_t { idle, down, connecting, binding, bound, unbinding, outbind_wait };

struct upstream_link {
  explicit upstream_link(uint32_t max_len) : framer(max_len) {}

  struct inflight {
    uint32_t seq = 0;  // the upstream's sequence number; 0: free
    uint64_t deadline_ms = 0;
    uint32_t esme_seq = 0;
    conn_id esme = invalid_conn;
    codec::command_id id = codec::command_id::submit_sm;
    uint32_t origin = 0;  // worker of the ESME session
    uint32_t tenant = 0;
    uint64_t start_us = 0;           // when it was sent upstream
    bool note = true;                // note its message id (correlation)
    uint32_t retry_to = UINT32_MAX;  // handoff_header::retry_to
  };
  uint32_t upstream = 0;
  const upstream_bind_def* def = nullptr;
  conn_id conn = invalid_conn;
  link_state state = link_state::down;
  codec::stream_framer framer;
  seq_window<inflight> inflight_table;  // sized for twice the bind's window
  // A gated bind (TDMA plan with a rate): its slot gate, and the gate's item of each request
  // in flight (same index as inflight_table), kept until answered.
  std::unique_ptr<slot_gate> gate;
  std::vector<slot_gate::item> gate_items;
  // The bytes of each request in flight that may be retried elsewhere (inflight::retry_to set;
  // same index as inflight_table), sized on first use; their capacity is reused.
  std::vector<std::vector<std::byte>> retry_frames;
  uint64_t reconnect_at_ms = 0;
  uint32_t backoff_ms = 0;
  uint64_t last_rx_ms = 0;
  uint64_t last_tx_ms = 0;
  bool enquire_pending = false;
  bool counted_bound = false;
  bool counted_failed = false;  // in shared failed_links
  bool idle_closing = false;    // unbinding because it was idle: goes idle, not down
  uint32_t held_back = 0;       // tenants whose full hold queue stops reading it (see deliveries)
  bool reads_held = false;      // one of those holds is shared_state::reads_held's
  uint64_t idle_since_ms = 0;

  [[nodiscard]] uint32_t outstanding() const noexcept { return inflight_table.count(); }
  // Bound, not removed, and with room in its window.
  [[nodiscard]] bool takes_requests() const noexcept {
    return state == link_state::bound && !def->retired && outstanding() < def->window;
  }
};

}  // namespace smpp::dataplane::router
