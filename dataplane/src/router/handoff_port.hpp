// This worker's end of the ring mesh (handoff.hpp): messages to other workers go out here, in
// one burst each, and messages from them come in here, a bounded number per ring and turn.
// A message that must not be lost (an answer, a receipt) waits in an unbounded-by-count but
// window-bounded queue when its ring is full, and goes first on the next turn.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "context.hpp"
#include "return_to.hpp"
#include "smpp/codec/pdu.hpp"
#include "smpp/dataplane/handoff.hpp"

namespace smpp::dataplane::router {

// A header about an ESME's request (request, answer, message_op, bounce).
[[nodiscard]] inline handoff_header request_header(handoff_header::kind_t kind, uint32_t origin,
                                                   conn_id esme, uint32_t esme_seq,
                                                   codec::command_id id,
                                                   uint32_t tenant = 0) noexcept {
  handoff_header h;
  h.kind = kind;
  h.origin = origin;
  h.esme = esme;
  h.esme_seq = esme_seq;
  h.command_id = static_cast<uint32_t>(id);
  h.tenant = tenant;
  return h;
}
// A header about a deliver_sm / data_sm from an upstream bind (receipt, deliver,
// deliver_answer): origin, esme and esme_seq name that bind and the PDU's sequence number.
// The return_to travels in the header: upstream and tenant in theirs, mo in `note`, the
// correlation key in key_lo/key_hi.
[[nodiscard]] inline handoff_header return_header(handoff_header::kind_t kind,
                                                  const return_to& ret) noexcept {
  handoff_header h = request_header(kind, ret.worker, ret.conn, ret.seq, ret.id, ret.tenant);
  h.upstream = ret.upstream;
  h.note = ret.mo ? 1 : 0;
  h.forget_id = ret.forget_id ? 1 : 0;
  h.key_lo = ret.key.lo;
  h.key_hi = ret.key.hi;
  h.store_shard = ret.store_shard;
  h.store_id = ret.store_id;
  return h;
}
[[nodiscard]] inline return_to return_of(const handoff_header& h) noexcept {
  return {h.origin,
          h.esme,
          h.esme_seq,
          static_cast<codec::command_id>(h.command_id),
          static_cast<uint16_t>(h.upstream),
          static_cast<uint16_t>(h.tenant),
          h.note != 0,
          h.forget_id != 0,
          {h.key_lo, h.key_hi},
          h.store_shard,
          h.store_id};
}

class handoff_port {
 public:
  class handler {
   public:
    virtual ~handler() = default;
    virtual void on_message(const handoff_header& h, bytes_view payload) = 0;
  };

  explicit handoff_port(worker_context& ctx);

  // Sends h and payload to worker `to` now; false (nothing sent) when its ring has no room.
  [[nodiscard]] bool try_push(uint32_t to, handoff_header h, bytes_view payload);
  // A message that must not be lost: sent now (true), or kept and sent before anything else
  // once the ring has room (false). Bounded by the requests in flight, themselves bounded by
  // the windows; receipts, which no window bounds, hold their bind back while kept (return_path).
  bool push(uint32_t to, handoff_header h, bytes_view payload);
  [[nodiscard]] bool has_deferred() const noexcept { return !deferred_.empty(); }
  // Nothing waits in the rings from the other workers, nor here for a ring to them.
  [[nodiscard]] bool idle() const noexcept;
  // Sends what waited, then hands each message from the other workers to h (at most 64 per
  // ring, so the transport is served too). Returns how many it handed.
  int drain(handler& h);

 private:
  worker_context& ctx_;
  std::vector<handoff_cell> cells_;  // scratch for one message, sized once
  std::vector<std::byte> inbox_;     // scratch for one received message, sized once
  struct deferred {
    uint32_t to;
    std::vector<handoff_cell> cells;
  };
  std::vector<deferred> deferred_;
};

}  // namespace smpp::dataplane::router
