// An ESME's session with the router, as the router sees it (SMPP 3.4 §2.2-2.3): its bind, its
// window of requests, back-pressure state and, for receivers, the deliveries awaiting answers.
#pragma once

#include <cstdint>
#include <vector>

#include "return_to.hpp"
#include "seq_window.hpp"
#include "smpp/codec/framer.hpp"
#include "smpp/codec/pdu.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::dataplane::router {

struct upstream_link;

enum class esme_state : uint8_t { open, bound, unbinding };

[[nodiscard]] inline bool can_submit(codec::command_id bind) noexcept {
  return bind != codec::command_id::bind_receiver;
}
[[nodiscard]] inline bool can_receive(codec::command_id bind) noexcept {
  return bind != codec::command_id::bind_transmitter;
}

struct esme_session {
  explicit esme_session(uint32_t max_len) : framer(max_len) {}

  conn_id conn = invalid_conn;
  peer_address peer;
  codec::stream_framer framer;
  esme_state state = esme_state::open;
  codec::command_id bind = codec::command_id::bind_transceiver;
  uint32_t tenant = 0;
  uint32_t outstanding = 0;  // requests relayed and not answered yet
  uint32_t window = 0;
  uint64_t opened_ms = 0;
  uint64_t last_rx_ms = 0;
  uint64_t partial_since_ms = 0;
  uint64_t last_traffic_ms = 0;  // last PDU in either direction other than enquire_link
  struct {
    bool active = false;  // the bind is decided; its answer waits until answer_at_ms
    bool ok = false;
    codec::command_id request = codec::command_id::bind_transceiver;
    uint32_t seq = 0;
    uint32_t tenant = 0;
    uint8_t version = 0;
    uint64_t answer_at_ms = 0;
  } pending_bind;
  uint64_t unbind_sent_ms = 0;
  bool unbind_answer_pending = false;  // the ESME unbound: unbind_resp once all is answered
  uint32_t unbind_seq = 0;
  bool enquire_pending = false;
  bool counted_bind = false;
  bool receiver = false;               // listed with the receivers of its tenant
  upstream_link* last_link = nullptr;  // the bind this session's previous request went to
  // Back-pressure: the session is not read; `stall` holds its octets from the request that
  // found no room onwards, offered again each ms.
  bool stalled = false;
  bool listed = false;         // in the stalled list
  bool stall_now = false;      // set by routing: stop framing, keep this frame and the rest
  uint32_t counted_ahead = 0;  // requests at the front of `stall` already counted as submitted
  uint64_t bounced_ms = 0;     // when a request last came back from a full queue elsewhere
  std::vector<std::byte> stall;
  // deliver_sm / data_sm the router sent this session and awaits the answer to (receivers):
  // sized for twice the tenant's deliver_window when it binds as a receiver; numbers every
  // request the router sends it (enquire_link, unbind too).
  struct outbound {
    uint32_t seq = 0;  // 0: free
    uint64_t deadline_ms = 0;
    return_to ret;
    uint64_t hold_until_ms = 0;    // a held message: kept until then
    std::vector<std::byte> frame;  // a held message: its bytes, offered again if it fails
  };
  seq_window<outbound> out;
};

}  // namespace smpp::dataplane::router
