// Retry on refusal ([router] retry_on): a message request an upstream refused with one of the
// configured statuses goes once more, to the next upstream of its route, and the ESME gets the
// answer of that second attempt only (exactly one answer per request, SMPP 3.4 §2.6). The
// upstream side sees the refusal; routing knows how to reach an upstream from this worker.
#pragma once

#include <cstdint>

#include "smpp/dataplane/handoff.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::dataplane::router {

inline constexpr uint32_t no_retry = UINT32_MAX;

class refusal_retry {
 public:
  // Sends the request `frame` (the ESME's bytes) to upstream h.retry_to, on a bind of this
  // worker or another's; h carries the ESME it answers to and retry_to == no_retry afterwards
  // is the caller's to set. False when no bind of that upstream took it.
  [[nodiscard]] virtual bool retry(const handoff_header& h, bytes_view frame) = 0;

 protected:
  ~refusal_retry() = default;
};

}  // namespace smpp::dataplane::router
