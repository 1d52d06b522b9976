// The one way back. Requests travel ESME side -> routing -> upstream side (possibly through
// another worker); their answers, and the answers to what upstreams deliver, come back through
// this interface, which knows on which worker each session lives. Nothing below the ESME side
// calls the ESME side or the upstream side for an answer any other way.
#pragma once

#include <cstdint>

#include "smpp/codec/bytes.hpp"
#include "smpp/codec/pdu.hpp"
#include "smpp/codec/status.hpp"
#include "smpp/dataplane/handoff.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::dataplane::router {

// Where the answer to a deliver_sm / data_sm from an upstream goes: the worker and connection
// of the upstream bind and its sequence number. conn == invalid_conn: already answered (held).
struct return_to {
  uint32_t worker = 0;
  conn_id conn = invalid_conn;
  uint32_t seq = 0;
  codec::command_id id = codec::command_id::deliver_sm;
};

class answers {
 public:
  virtual ~answers() = default;
  // The answer to the ESME request `request` names (origin worker, esme, esme_seq,
  // command_id): the upstream's response frame, or, with an empty frame, a response of header
  // only with `status`. false when the ESME's session on this worker is gone or could not take
  // it (counted there); true when it was answered or handed to the ESME's worker.
  virtual bool to_esme(const handoff_header& request, codec::command_status status,
                       bytes_view frame) = 0;
  // The answer to a deliver_sm / data_sm from an upstream (deliver_sm_resp / data_sm_resp).
  virtual void to_upstream(const return_to& ret, codec::command_status status) = 0;
};

}  // namespace smpp::dataplane::router
