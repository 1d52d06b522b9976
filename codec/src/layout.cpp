// Mandatory-field layouts of every PDU, in wire order (SMPP 3.4 §4, SMPP 5.0 §4).
#include <array>

#include "layout_tables.hpp"
#include "smpp/codec/pdu.hpp"

namespace smpp::codec {
using namespace layouts;

std::span<const field_desc> pdu_layout(command_id id) noexcept {
  using C = command_id;
  switch (id) {
    case C::bind_receiver:
    case C::bind_transmitter:
    case C::bind_transceiver:
      return kBind;
    case C::bind_receiver_resp:
    case C::bind_transmitter_resp:
    case C::bind_transceiver_resp:
      return kBindResp;
    case C::outbind:
      return kOutbind;
    case C::submit_sm:
    case C::deliver_sm:
      return kSubmitSm;
    case C::submit_sm_resp:
    case C::deliver_sm_resp:
    case C::data_sm_resp:
    case C::broadcast_sm_resp:
    case C::query_broadcast_sm_resp:
      return kMessageIdOnly;
    case C::submit_multi:
      return kSubmitMulti;
    case C::submit_multi_resp:
      return kSubmitMultiResp;
    case C::data_sm:
      return kDataSm;
    case C::query_sm:
      return kQuerySm;
    case C::query_sm_resp:
      return kQuerySmResp;
    case C::cancel_sm:
      return kCancelSm;
    case C::replace_sm:
      return kReplaceSm;
    case C::alert_notification:
      return kAlert;
    case C::broadcast_sm:
      return kBroadcastSm;
    case C::query_broadcast_sm:
      return kQueryBroadcastSm;
    case C::cancel_broadcast_sm:
      return kCancelBroadcastSm;
    case C::generic_nack:
    case C::unbind:
    case C::unbind_resp:
    case C::replace_sm_resp:
    case C::cancel_sm_resp:
    case C::enquire_link:
    case C::enquire_link_resp:
    case C::cancel_broadcast_sm_resp:
      return {};
  }
  return {};
}

}  // namespace smpp::codec
