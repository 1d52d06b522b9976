// SMPP command_status values (SMPP 3.4 §5.1.3, SMPP 5.0 §4.7.6) and command_id values
// (SMPP 3.4 §5.1.2.1, SMPP 5.0 §4.7.5).
#pragma once

#include <cstdint>
#include <string_view>

namespace smpp::codec {

enum class command_status : uint32_t {
  ESME_ROK = 0x00,
  ESME_RINVMSGLEN = 0x01,
  ESME_RINVCMDLEN = 0x02,
  ESME_RINVCMDID = 0x03,
  ESME_RINVBNDSTS = 0x04,
  ESME_RALYBND = 0x05,
  ESME_RINVPRTFLG = 0x06,
  ESME_RINVREGDLVFLG = 0x07,
  ESME_RSYSERR = 0x08,
  ESME_RINVSRCADR = 0x0A,
  ESME_RINVDSTADR = 0x0B,
  ESME_RINVMSGID = 0x0C,
  ESME_RBINDFAIL = 0x0D,
  ESME_RINVPASWD = 0x0E,
  ESME_RINVSYSID = 0x0F,
  ESME_RCANCELFAIL = 0x11,
  ESME_RREPLACEFAIL = 0x13,
  ESME_RMSGQFUL = 0x14,
  ESME_RINVSERTYP = 0x15,
  ESME_RINVNUMDESTS = 0x33,
  ESME_RINVDLNAME = 0x34,
  ESME_RINVDESTFLAG = 0x40,
  ESME_RINVSUBREP = 0x42,
  ESME_RINVESMCLASS = 0x43,
  ESME_RCNTSUBDL = 0x44,
  ESME_RSUBMITFAIL = 0x45,
  ESME_RINVSRCTON = 0x48,
  ESME_RINVSRCNPI = 0x49,
  ESME_RINVDSTTON = 0x50,
  ESME_RINVDSTNPI = 0x51,
  ESME_RINVSYSTYP = 0x53,
  ESME_RINVREPFLAG = 0x54,
  ESME_RINVNUMMSGS = 0x55,
  ESME_RTHROTTLED = 0x58,
  ESME_RINVSCHED = 0x61,
  ESME_RINVEXPIRY = 0x62,
  ESME_RINVDFTMSGID = 0x63,
  ESME_RX_T_APPN = 0x64,
  ESME_RX_P_APPN = 0x65,
  ESME_RX_R_APPN = 0x66,
  ESME_RQUERYFAIL = 0x67,
  ESME_RINVTLVSTREAM = 0xC0,  // 3.4: ESME_RINVOPTPARSTREAM
  ESME_RTLVNOTALLWD = 0xC1,   // 3.4: ESME_ROPTPARNOTALLWD
  ESME_RINVTLVLEN = 0xC2,     // 3.4: ESME_RINVPARLEN
  ESME_RMISSINGTLV = 0xC3,    // 3.4: ESME_RMISSINGOPTPARAM
  ESME_RINVTLVVAL = 0xC4,     // 3.4: ESME_RINVOPTPARAMVAL
  ESME_RDELIVERYFAILURE = 0xFE,
  ESME_RUNKNOWNERR = 0xFF,
  ESME_RSERTYPUNAUTH = 0x100,
  ESME_RPROHIBITED = 0x101,
  ESME_RSERTYPUNAVAIL = 0x102,
  ESME_RSERTYPDENIED = 0x103,
  ESME_RINVDCS = 0x104,
  ESME_RINVSRCADDRSUBUNIT = 0x105,
  ESME_RINVDSTADDRSUBUNIT = 0x106,
  ESME_RINVBCASTFREQINT = 0x107,
  ESME_RINVBCASTALIAS_NAME = 0x108,
  ESME_RINVBCASTAREAFMT = 0x109,
  ESME_RINVNUMBCAST_AREAS = 0x10A,
  ESME_RINVBCASTCNTTYPE = 0x10B,
  ESME_RINVBCASTMSGCLASS = 0x10C,
  ESME_RBCASTFAIL = 0x10D,
  ESME_RBCASTQUERYFAIL = 0x10E,
  ESME_RBCASTCANCELFAIL = 0x10F,
  ESME_RINVBCAST_REP = 0x110,
  ESME_RINVBCASTSRVGRP = 0x111,
  ESME_RINVBCASTCHANIND = 0x112,
};

[[nodiscard]] std::string_view status_name(command_status s) noexcept;

enum class command_id : uint32_t {
  generic_nack = 0x80000000,
  bind_receiver = 0x00000001,
  bind_receiver_resp = 0x80000001,
  bind_transmitter = 0x00000002,
  bind_transmitter_resp = 0x80000002,
  query_sm = 0x00000003,
  query_sm_resp = 0x80000003,
  submit_sm = 0x00000004,
  submit_sm_resp = 0x80000004,
  deliver_sm = 0x00000005,
  deliver_sm_resp = 0x80000005,
  unbind = 0x00000006,
  unbind_resp = 0x80000006,
  replace_sm = 0x00000007,
  replace_sm_resp = 0x80000007,
  cancel_sm = 0x00000008,
  cancel_sm_resp = 0x80000008,
  bind_transceiver = 0x00000009,
  bind_transceiver_resp = 0x80000009,
  outbind = 0x0000000B,
  enquire_link = 0x00000015,
  enquire_link_resp = 0x80000015,
  submit_multi = 0x00000021,
  submit_multi_resp = 0x80000021,
  alert_notification = 0x00000102,
  data_sm = 0x00000103,
  data_sm_resp = 0x80000103,
  broadcast_sm = 0x00000111,
  broadcast_sm_resp = 0x80000111,
  query_broadcast_sm = 0x00000112,
  query_broadcast_sm_resp = 0x80000112,
  cancel_broadcast_sm = 0x00000113,
  cancel_broadcast_sm_resp = 0x80000113,
};

inline constexpr uint32_t response_bit = 0x80000000U;

[[nodiscard]] constexpr bool is_response(command_id id) noexcept {
  return (static_cast<uint32_t>(id) & response_bit) != 0;
}
[[nodiscard]] constexpr command_id response_of(command_id id) noexcept {
  return static_cast<command_id>(static_cast<uint32_t>(id) | response_bit);
}
// The spec's name of a command ("submit_sm", ...); empty for an unknown id.
[[nodiscard]] std::string_view command_name(command_id id) noexcept;
// True when the id is one of the PDUs this codec knows (SMPP 3.4 and 5.0).
[[nodiscard]] bool is_known_command(uint32_t id) noexcept;
// True when the request has a response PDU (outbind and alert_notification have none).
[[nodiscard]] constexpr bool has_response(command_id id) noexcept {
  return !is_response(id) && id != command_id::outbind && id != command_id::alert_notification;
}

}  // namespace smpp::codec
