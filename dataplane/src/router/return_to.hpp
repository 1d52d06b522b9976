// Where the answer to a deliver_sm / data_sm from an upstream goes.
#pragma once

#include <cstdint>

#include "smpp/codec/pdu.hpp"
#include "smpp/dataplane/conn_id.hpp"
#include "smpp/dataplane/correlation.hpp"

namespace smpp::dataplane::router {

inline constexpr uint16_t no_index = 0xFFFF;

// The worker and connection of the upstream bind and the PDU's sequence number and command.
// conn == invalid_conn: already answered (a held message). upstream, tenant and mo say what it
// is, for the counters (return_counters): the upstream it came from, the tenant it goes to
// (no_index until known), and whether it is a mobile-originated message or a receipt.
struct return_to {
  uint32_t worker = 0;
  conn_id conn = invalid_conn;
  uint32_t seq = 0;
  codec::command_id id = codec::command_id::deliver_sm;
  uint16_t upstream = no_index;
  uint16_t tenant = no_index;
  bool mo = false;
  // A final receipt (codec::is_final): its correlation entry, `key` of `upstream`, is freed once
  // the SMSC is answered ESME_ROK for it (held or delivered), so the table keeps only messages
  // still waiting for a receipt. A refused one keeps its entry for the SMSC's retry.
  bool forget_id = false;
  correlation_key key;
  // A held message: its held record is store_id in the store shard of worker store_shard
  // (store_id 0: not in a store).
  uint32_t store_shard = 0;
  uint64_t store_id = 0;

  // The same message once acknowledged to the SMSC: nothing more to answer there.
  [[nodiscard]] return_to acknowledged() const noexcept {
    return_to r = *this;
    r.conn = invalid_conn;
    return r;
  }
};

}  // namespace smpp::dataplane::router
