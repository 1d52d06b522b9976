// What upstreams deliver (SMPP 3.4 §4.6 deliver_sm, §4.7 data_sm): a delivery receipt goes to the
// tenant that submitted the message it is about (found by its message id in the correlation
// shard that owns the id, on whichever worker), an MO message to the tenant its MO route names.
// Both go on to that tenant's receivers (deliveries); what cannot be given to anyone is
// acknowledged and counted, or refused so the SMSC keeps it.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "answers.hpp"
#include "context.hpp"
#include "deliveries.hpp"
#include "handoff_port.hpp"
#include "message_ids.hpp"

namespace smpp::dataplane::router {

// The id a receipt quotes, and whether it is the message's final receipt (an SMSC delivery
// receipt in a final state: SMPP 3.4 §5.2.12, §5.2.28); intermediate notifications and SME
// acknowledgements never end a message.
struct quoted_id {
  std::string_view id;
  bool final = false;
  bool delivered = false;  // final and DELIVRD
  uint8_t state = 0;       // SMPP 3.4 §5.2.28 message_state, 0 when the receipt has none
};

class return_path {
 public:
  return_path(worker_context& ctx, handoff_port& port, message_ids& ids, deliveries& out,
              answers& back);

  // A deliver_sm / data_sm that arrived on this worker's bind `conn` of `upstream`.
  void from_upstream(uint32_t upstream, conn_id conn, bytes_view frame);
  // An alert_notification (SMPP 3.4 §4.12) from `upstream`: to the tenant whose MO route owns
  // its esme_addr (the address of the ESME that asked for the alert, as MO messages to that
  // ESME are addressed), dropped and counted when none does. It has no response.
  void alert_from_upstream(uint32_t upstream, bytes_view frame);
  // A receipt handed over by the worker it arrived on, for this worker's correlation shard.
  void receipt_from_worker(const handoff_header& h, bytes_view frame);
  // Binds held back while receipts they carried wait for room in a ring are read again once
  // everything waiting went out (the port has nothing deferred).
  void resume_reads();
  [[nodiscard]] bool reads_paused() const noexcept { return !paused_.empty(); }

 private:
  // A receipt read from an upstream: counted (final: for the upstream's quality, delivered or
  // not), then routed by the id it quotes.
  void on_receipt(const quoted_id& q, return_to ret, bytes_view frame);
  // ret.upstream: the upstream it came from. final: its entry is freed once answered ESME_ROK.
  void route_receipt(std::string_view message_id, bool final, uint8_t state, return_to ret,
                     bytes_view frame);

  worker_context& ctx_;
  handoff_port& port_;
  message_ids& ids_;
  deliveries& deliveries_;
  answers& back_;
  // Binds whose receipts wait behind a full ring: not read until it has room, so a worker
  // reading faster than the shard owners correlate keeps no more than one read in memory.
  std::vector<return_to> paused_;
};

}  // namespace smpp::dataplane::router
