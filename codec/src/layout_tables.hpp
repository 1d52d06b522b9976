// The mandatory-field layouts as constants, so the codec can specialise per command.
#pragma once
#include <array>

#include "smpp/codec/pdu.hpp"

namespace smpp::codec::layouts {

using enum field_kind;
using S = command_status;

inline constexpr field_desc u8f(std::string_view name, uint8_t pdu::*m) {
  return {name, u8, 1, S::ESME_RINVCMDLEN, m, nullptr};
}
inline constexpr field_desc str(std::string_view name, std::string_view pdu::*m, uint8_t max_len,
                                S st) {
  return {name, cstring, max_len, st, nullptr, m};
}
inline constexpr field_desc tim(std::string_view name, std::string_view pdu::*m, S st) {
  return {name, time, 17, st, nullptr, m};
}

// Shared field descriptors.
inline constexpr auto kSystemId = str("system_id", &pdu::system_id, 16, S::ESME_RINVSYSID);
inline constexpr auto kPassword = str("password", &pdu::password, 9, S::ESME_RINVPASWD);
inline constexpr auto kServiceType = str("service_type", &pdu::service_type, 6, S::ESME_RINVSERTYP);
inline constexpr auto kSrcTon = u8f("source_addr_ton", &pdu::source_addr_ton);
inline constexpr auto kSrcNpi = u8f("source_addr_npi", &pdu::source_addr_npi);
inline constexpr auto kSrcAddr21 = str("source_addr", &pdu::source_addr, 21, S::ESME_RINVSRCADR);
inline constexpr auto kSrcAddr65 = str("source_addr", &pdu::source_addr, 65, S::ESME_RINVSRCADR);
inline constexpr auto kDstTon = u8f("dest_addr_ton", &pdu::dest_addr_ton);
inline constexpr auto kDstNpi = u8f("dest_addr_npi", &pdu::dest_addr_npi);
inline constexpr auto kDstAddr21 =
    str("destination_addr", &pdu::destination_addr, 21, S::ESME_RINVDSTADR);
inline constexpr auto kDstAddr65 =
    str("destination_addr", &pdu::destination_addr, 65, S::ESME_RINVDSTADR);
inline constexpr auto kEsmClass = u8f("esm_class", &pdu::esm_class);
inline constexpr auto kProtocolId = u8f("protocol_id", &pdu::protocol_id);
inline constexpr auto kPriority = u8f("priority_flag", &pdu::priority_flag);
inline constexpr auto kSched =
    tim("schedule_delivery_time", &pdu::schedule_delivery_time, S::ESME_RINVSCHED);
inline constexpr auto kValidity = tim("validity_period", &pdu::validity_period, S::ESME_RINVEXPIRY);
inline constexpr auto kRegDlv = u8f("registered_delivery", &pdu::registered_delivery);
inline constexpr auto kReplace = u8f("replace_if_present_flag", &pdu::replace_if_present_flag);
inline constexpr auto kDataCoding = u8f("data_coding", &pdu::data_coding);
inline constexpr auto kDefMsgId = u8f("sm_default_msg_id", &pdu::sm_default_msg_id);
inline constexpr auto kSm = field_desc{"short_message", sm, 255, S::ESME_RINVMSGLEN};
inline constexpr auto kMessageId = str("message_id", &pdu::message_id, 65, S::ESME_RINVMSGID);

// SMPP 3.4 §4.1.1 / §4.1.3 / §4.1.5
inline constexpr std::array kBind = {
    kSystemId,
    kPassword,
    str("system_type", &pdu::system_type, 13, S::ESME_RINVSYSTYP),
    u8f("interface_version", &pdu::interface_version),
    u8f("addr_ton", &pdu::addr_ton),
    u8f("addr_npi", &pdu::addr_npi),
    str("address_range", &pdu::address_range, 41, S::ESME_RINVSRCADR),
};
inline constexpr std::array kBindResp = {kSystemId};            // §4.1.2
inline constexpr std::array kOutbind = {kSystemId, kPassword};  // §4.1.7
// SMPP 3.4 §4.4.1 submit_sm, §4.6.1 deliver_sm
inline constexpr std::array kSubmitSm = {
    kServiceType, kSrcTon,   kSrcNpi,     kSrcAddr21, kDstTon, kDstNpi,
    kDstAddr21,   kEsmClass, kProtocolId, kPriority,  kSched,  kValidity,
    kRegDlv,      kReplace,  kDataCoding, kDefMsgId,  kSm};
inline constexpr std::array kMessageIdOnly = {kMessageId};  // submit_sm_resp, deliver_sm_resp, ...
// SMPP 3.4 §4.5.1 submit_multi
inline constexpr std::array kSubmitMulti = {
    kServiceType,
    kSrcTon,
    kSrcNpi,
    kSrcAddr21,
    field_desc{"dest_address", dest_list, 21, S::ESME_RINVNUMDESTS},
    kEsmClass,
    kProtocolId,
    kPriority,
    kSched,
    kValidity,
    kRegDlv,
    kReplace,
    kDataCoding,
    kDefMsgId,
    kSm};
// SMPP 3.4 §4.5.2 submit_multi_resp
inline constexpr std::array kSubmitMultiResp = {
    kMessageId, field_desc{"unsuccess_sme", unsuccess, 21, S::ESME_RINVDSTADR}};
// SMPP 3.4 §4.7.1 data_sm
inline constexpr std::array kDataSm = {kServiceType, kSrcTon,    kSrcNpi,    kSrcAddr65,
                                       kDstTon,      kDstNpi,    kDstAddr65, kEsmClass,
                                       kRegDlv,      kDataCoding};
// SMPP 3.4 §4.8.1 query_sm
inline constexpr std::array kQuerySm = {kMessageId, kSrcTon, kSrcNpi, kSrcAddr21};
// SMPP 3.4 §4.8.2 query_sm_resp
inline constexpr std::array kQuerySmResp = {
    kMessageId, tim("final_date", &pdu::final_date, S::ESME_RINVCMDLEN),
    u8f("message_state", &pdu::message_state), u8f("error_code", &pdu::error_code)};
// SMPP 3.4 §4.9.1 cancel_sm
inline constexpr std::array kCancelSm = {kServiceType, kMessageId, kSrcTon, kSrcNpi,
                                         kSrcAddr21,   kDstTon,    kDstNpi, kDstAddr21};
// SMPP 3.4 §4.10.1 replace_sm
inline constexpr std::array kReplaceSm = {kMessageId, kSrcTon, kSrcNpi,   kSrcAddr21, kSched,
                                          kValidity,  kRegDlv, kDefMsgId, kSm};
// SMPP 3.4 §4.12.1 alert_notification
inline constexpr std::array kAlert = {kSrcTon,
                                      kSrcNpi,
                                      kSrcAddr65,
                                      u8f("esme_addr_ton", &pdu::esme_addr_ton),
                                      u8f("esme_addr_npi", &pdu::esme_addr_npi),
                                      str("esme_addr", &pdu::esme_addr, 65, S::ESME_RINVDSTADR)};
// SMPP 5.0 §4.4.1.1 broadcast_sm
inline constexpr std::array kBroadcastSm = {kServiceType, kSrcTon,     kSrcNpi,  kSrcAddr21,
                                            kMessageId,   kPriority,   kSched,   kValidity,
                                            kReplace,     kDataCoding, kDefMsgId};
// SMPP 5.0 §4.6.1.1 query_broadcast_sm
inline constexpr std::array kQueryBroadcastSm = {kMessageId, kSrcTon, kSrcNpi, kSrcAddr21};
// SMPP 5.0 §4.6.2.1 cancel_broadcast_sm
inline constexpr std::array kCancelBroadcastSm = {kServiceType, kMessageId, kSrcTon, kSrcNpi,
                                                  kSrcAddr21};

inline constexpr std::array<field_desc, 0> kNone{};
}  // namespace smpp::codec::layouts
