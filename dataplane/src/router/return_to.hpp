// Where the answer to a deliver_sm / data_sm from an upstream goes.
#pragma once

#include <cstdint>

#include "smpp/codec/pdu.hpp"
#include "smpp/dataplane/conn_id.hpp"

namespace smpp::dataplane::router {

// The worker and connection of the upstream bind and the PDU's sequence number and command.
// conn == invalid_conn: already answered (a held message).
struct return_to {
  uint32_t worker = 0;
  conn_id conn = invalid_conn;
  uint32_t seq = 0;
  codec::command_id id = codec::command_id::deliver_sm;
};

}  // namespace smpp::dataplane::router
