// Cross-worker hand-off: one bounded SPSC ring per ordered pair of workers, carrying requests
// to the worker that owns an upstream bind and answers back to the worker of the ESME.
//
// A message is a header and the PDU's bytes, laid out over consecutive fixed-size cells and
// published in one burst, so the consumer sees all of a message or none of it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "smpp/dataplane/spsc_ring.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::dataplane {

struct alignas(64) handoff_cell {
  std::array<std::byte, 256> bytes;
};

struct handoff_header {
  enum kind_t : uint32_t {
    // ESME -> upstream: a request for a worker that owns a bind of `upstream`.
    request = 1,
    // upstream -> ESME: the answer to a request, for the worker of the ESME session (origin).
    answer = 2,
    // A submit_sm_resp's message_id (the PDU bytes) to note in the correlation shard of the
    // receiving worker: upstream, tenant.
    correlate = 3,
    // A receipt (deliver_sm / data_sm) for the worker owning its correlation shard. origin,
    // esme and esme_seq name the upstream bind it came on (worker, connection, sequence
    // number) so the deliver_sm_resp finds its way back.
    receipt = 4,
    // A receipt or MO message for `tenant`, to a worker with one of its receivers bound;
    // origin/esme/esme_seq as for receipt (esme == invalid_conn: nothing to answer upstream).
    deliver = 5,
    // The ESME's answer to a deliver: status for the upstream bind (origin's esme, esme_seq).
    deliver_answer = 6,
    // query_sm / cancel_sm / replace_sm for the worker owning its message_id's shard: origin,
    // esme, esme_seq and tenant are the ESME's; `attempt` counts radices already tried.
    message_op = 7,
    // A request the upstream's worker could not queue (the tenant's queue at its gated bind is
    // full) for a tenant with back-pressure: back to the ESME's worker (origin, esme), which
    // stops reading that session and offers the request again when there is room.
    bounce = 8,
    // A final receipt the SMSC was answered ESME_ROK for, for the worker owning its correlation
    // shard: its entry (key_lo/key_hi, upstream) is freed.
    forget = 9,
    // An alert_notification (SMPP 3.4 §4.12) for `tenant`, to a worker with one of its
    // receivers bound; nothing answers it.
    alert = 10,
    // A held receipt or MO whose custody ended (delivered, refused for good, or expired), for
    // the worker whose store shard holds it: store_id, its held record, is done.
    held_done = 11,
  };
  uint32_t kind = request;
  uint32_t pdu_len = 0;   // octets of PDU after the header (0: an answer without a PDU)
  uint32_t origin = 0;    // worker of the ESME session
  uint32_t upstream = 0;  // request: the upstream to send to
  conn_id esme = invalid_conn;
  uint32_t esme_seq = 0;    // the ESME's sequence number, restored on the answer
  uint32_t command_id = 0;  // the request's command_id
  uint32_t status = 0;      // answer without PDU: the command_status to answer with
  uint32_t tenant = 0;
  uint32_t attempt = 0;
  uint32_t hold_ms = 0;  // deliver: how much longer a held message may be kept
  uint32_t note = 1;     // request: note its message id for receipts and message operations
  // request: the upstream to send it to once more when the one it goes to refuses it with a
  // status of router_snapshot::retry_on (no_retry: answered as refused).
  uint32_t retry_to = UINT32_MAX;
  // receipt, deliver, deliver_answer: a final receipt's correlation key (forget_id != 0), freed
  // once the SMSC has its ESME_ROK; forget: the key to free.
  uint32_t forget_id = 0;
  uint64_t key_lo = 0;
  uint64_t key_hi = 0;
  // receipt, deliver, deliver_answer, held_done: a held message's record in the store shard of
  // worker store_shard (store_id 0: none).
  uint32_t store_shard = 0;
  uint64_t store_id = 0;
};
static_assert(sizeof(handoff_header) <= sizeof(handoff_cell), "header must fit one cell");

[[nodiscard]] constexpr size_t handoff_cells(size_t pdu_len) noexcept {
  return (sizeof(handoff_header) + pdu_len + sizeof(handoff_cell) - 1) / sizeof(handoff_cell);
}

// rings[from * workers + to]; the diagonal is unused.
class ring_mesh {
 public:
  ring_mesh(uint32_t workers, size_t cells_per_ring) : workers_(workers) {
    rings_.resize(static_cast<size_t>(workers) * workers);
    for (uint32_t f = 0; f < workers; ++f) {
      for (uint32_t t = 0; t < workers; ++t) {
        if (f != t) {
          rings_[f * workers + t] = std::make_unique<spsc_ring<handoff_cell>>(cells_per_ring);
          cells_ = rings_[f * workers + t]->capacity();
        }
      }
    }
  }
  [[nodiscard]] spsc_ring<handoff_cell>& ring(uint32_t from, uint32_t to) noexcept {
    return *rings_[static_cast<size_t>(from) * workers_ + to];
  }
  [[nodiscard]] uint32_t workers() const noexcept { return workers_; }
  // Cells in each ring: no more messages than this can be in flight from one worker to another.
  [[nodiscard]] size_t cells_per_ring() const noexcept { return cells_; }

 private:
  uint32_t workers_;
  size_t cells_ = 0;
  std::vector<std::unique_ptr<spsc_ring<handoff_cell>>> rings_;
};

}  // namespace smpp::dataplane
