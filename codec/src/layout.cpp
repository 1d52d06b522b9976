// Mandatory-field layouts of every PDU, in wire order (SMPP 3.4 §4, SMPP 5.0 §4).
#include <array>

#include "smpp/codec/pdu.hpp"

namespace smpp::codec {
namespace {

using enum field_kind;
using S = command_status;

constexpr field_desc u8f(std::string_view name, uint8_t pdu::*m) {
  return {name, u8, 1, S::ESME_RINVCMDLEN, m, nullptr};
}
constexpr field_desc str(std::string_view name, std::string_view pdu::*m, uint8_t max_len, S st) {
  return {name, cstring, max_len, st, nullptr, m};
}
constexpr field_desc tim(std::string_view name, std::string_view pdu::*m, S st) {
  return {name, time, 17, st, nullptr, m};
}

// Shared field descriptors.
constexpr auto kSystemId = str("system_id", &pdu::system_id, 16, S::ESME_RINVSYSID);
constexpr auto kPassword = str("password", &pdu::password, 9, S::ESME_RINVPASWD);
constexpr auto kServiceType = str("service_type", &pdu::service_type, 6, S::ESME_RINVSERTYP);
constexpr auto kSrcTon = u8f("source_addr_ton", &pdu::source_addr_ton);
constexpr auto kSrcNpi = u8f("source_addr_npi", &pdu::source_addr_npi);
constexpr auto kSrcAddr21 = str("source_addr", &pdu::source_addr, 21, S::ESME_RINVSRCADR);
constexpr auto kSrcAddr65 = str("source_addr", &pdu::source_addr, 65, S::ESME_RINVSRCADR);
constexpr auto kDstTon = u8f("dest_addr_ton", &pdu::dest_addr_ton);
constexpr auto kDstNpi = u8f("dest_addr_npi", &pdu::dest_addr_npi);
constexpr auto kDstAddr21 = str("destination_addr", &pdu::destination_addr, 21, S::ESME_RINVDSTADR);
constexpr auto kDstAddr65 = str("destination_addr", &pdu::destination_addr, 65, S::ESME_RINVDSTADR);
constexpr auto kEsmClass = u8f("esm_class", &pdu::esm_class);
constexpr auto kProtocolId = u8f("protocol_id", &pdu::protocol_id);
constexpr auto kPriority = u8f("priority_flag", &pdu::priority_flag);
constexpr auto kSched = tim("schedule_delivery_time", &pdu::schedule_delivery_time, S::ESME_RINVSCHED);
constexpr auto kValidity = tim("validity_period", &pdu::validity_period, S::ESME_RINVEXPIRY);
constexpr auto kRegDlv = u8f("registered_delivery", &pdu::registered_delivery);
constexpr auto kReplace = u8f("replace_if_present_flag", &pdu::replace_if_present_flag);
constexpr auto kDataCoding = u8f("data_coding", &pdu::data_coding);
constexpr auto kDefMsgId = u8f("sm_default_msg_id", &pdu::sm_default_msg_id);
constexpr auto kSm = field_desc{"short_message", sm, 255, S::ESME_RINVMSGLEN};
constexpr auto kMessageId = str("message_id", &pdu::message_id, 65, S::ESME_RINVMSGID);

// SMPP 3.4 §4.1.1 / §4.1.3 / §4.1.5
constexpr std::array kBind = {
    kSystemId,
    kPassword,
    str("system_type", &pdu::system_type, 13, S::ESME_RINVSYSTYP),
    u8f("interface_version", &pdu::interface_version),
    u8f("addr_ton", &pdu::addr_ton),
    u8f("addr_npi", &pdu::addr_npi),
    str("address_range", &pdu::address_range, 41, S::ESME_RINVSRCADR),
};
constexpr std::array kBindResp = {kSystemId};  // §4.1.2
constexpr std::array kOutbind = {kSystemId, kPassword};  // §4.1.7
// SMPP 3.4 §4.4.1 submit_sm, §4.6.1 deliver_sm
constexpr std::array kSubmitSm = {kServiceType, kSrcTon,     kSrcNpi,   kSrcAddr21, kDstTon,
                                  kDstNpi,      kDstAddr21,  kEsmClass, kProtocolId, kPriority,
                                  kSched,       kValidity,   kRegDlv,   kReplace,    kDataCoding,
                                  kDefMsgId,    kSm};
constexpr std::array kMessageIdOnly = {kMessageId};  // submit_sm_resp, deliver_sm_resp, ...
// SMPP 3.4 §4.5.1 submit_multi
constexpr std::array kSubmitMulti = {
    kServiceType, kSrcTon,   kSrcNpi,   kSrcAddr21,
    field_desc{"dest_address", dest_list, 21, S::ESME_RINVNUMDESTS},
    kEsmClass,    kProtocolId, kPriority, kSched, kValidity, kRegDlv, kReplace, kDataCoding,
    kDefMsgId,    kSm};
// SMPP 3.4 §4.5.2 submit_multi_resp
constexpr std::array kSubmitMultiResp = {
    kMessageId, field_desc{"unsuccess_sme", unsuccess, 21, S::ESME_RINVDSTADR}};
// SMPP 3.4 §4.7.1 data_sm
constexpr std::array kDataSm = {kServiceType, kSrcTon,    kSrcNpi,   kSrcAddr65, kDstTon,
                                kDstNpi,      kDstAddr65, kEsmClass, kRegDlv,    kDataCoding};
// SMPP 3.4 §4.8.1 query_sm
constexpr std::array kQuerySm = {kMessageId, kSrcTon, kSrcNpi, kSrcAddr21};
// SMPP 3.4 §4.8.2 query_sm_resp
constexpr std::array kQuerySmResp = {
    kMessageId, tim("final_date", &pdu::final_date, S::ESME_RINVCMDLEN),
    u8f("message_state", &pdu::message_state), u8f("error_code", &pdu::error_code)};
// SMPP 3.4 §4.9.1 cancel_sm
constexpr std::array kCancelSm = {kServiceType, kMessageId, kSrcTon,   kSrcNpi,
                                  kSrcAddr21,   kDstTon,    kDstNpi,   kDstAddr21};
// SMPP 3.4 §4.10.1 replace_sm
constexpr std::array kReplaceSm = {kMessageId, kSrcTon,  kSrcNpi,   kSrcAddr21, kSched,
                                   kValidity,  kRegDlv,  kDefMsgId, kSm};
// SMPP 3.4 §4.12.1 alert_notification
constexpr std::array kAlert = {
    kSrcTon, kSrcNpi, kSrcAddr65, u8f("esme_addr_ton", &pdu::esme_addr_ton),
    u8f("esme_addr_npi", &pdu::esme_addr_npi),
    str("esme_addr", &pdu::esme_addr, 65, S::ESME_RINVDSTADR)};
// SMPP 5.0 §4.4.1.1 broadcast_sm
constexpr std::array kBroadcastSm = {kServiceType, kSrcTon,   kSrcNpi,  kSrcAddr21,
                                     kMessageId,   kPriority, kSched,   kValidity,
                                     kReplace,     kDataCoding, kDefMsgId};
// SMPP 5.0 §4.6.1.1 query_broadcast_sm
constexpr std::array kQueryBroadcastSm = {kMessageId, kSrcTon, kSrcNpi, kSrcAddr21};
// SMPP 5.0 §4.6.2.1 cancel_broadcast_sm
constexpr std::array kCancelBroadcastSm = {kServiceType, kMessageId, kSrcTon, kSrcNpi,
                                           kSrcAddr21};

}  // namespace

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
