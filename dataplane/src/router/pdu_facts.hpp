// What the router reads from a PDU beyond its header to decide where it goes: whether a receipt
// is asked for, how many parts of a concatenated message follow, which requests are messages,
// and which delivery failures are worth offering again. (Message ids: codec/receipt.hpp.)
#pragma once

#include <cstdint>

#include "smpp/codec/bytes.hpp"
#include "smpp/codec/pdu.hpp"
#include "smpp/codec/status.hpp"

namespace smpp::dataplane::router {

// SMPP 3.4 §5.2.17: registered_delivery asks for an SMSC receipt (bits 1-0), an SME
// acknowledgement (bits 3-2) or intermediate notifications (bit 4).
[[nodiscard]] inline bool asks_for_receipt(const codec::pdu& p) noexcept {
  return (p.registered_delivery & 0x1F) != 0;
}

// Parts of the same concatenated message still to come after this one (UDH or SAR TLVs).
[[nodiscard]] uint8_t parts_after(const codec::pdu& p);

// Statuses after which a held message is worth offering again; any other answer is the ESME's
// final word on it.
[[nodiscard]] inline bool temporary(codec::command_status st) noexcept {
  using S = codec::command_status;
  return st == S::ESME_RX_T_APPN || st == S::ESME_RTHROTTLED || st == S::ESME_RMSGQFUL;
}

// submit_sm, data_sm and submit_multi: the requests counted as messages.
[[nodiscard]] inline bool is_submit(codec::command_id id) noexcept {
  using C = codec::command_id;
  return id == C::submit_sm || id == C::data_sm || id == C::submit_multi;
}

}  // namespace smpp::dataplane::router
