// The SMPP PDU as one flat, zero-copy view (SMPP 3.4 §4, SMPP 5.0 §4).
//
// Every mandatory field of every PDU has a member named as in the specification; which members a
// given command uses, and in which order they stand on the wire, is the layout table returned by
// pdu_layout(). Strings and octet strings reference the decoded bytes, so a pdu is valid only as
// long as the buffer it was decoded from.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "smpp/codec/bytes.hpp"
#include "smpp/codec/status.hpp"
#include "smpp/codec/tlv.hpp"

namespace smpp::codec {

inline constexpr size_t header_size = 16;
// SMPP 3.4 §5.2.22: dest_flag of a submit_multi destination.
inline constexpr uint8_t dest_flag_sme_address = 1;
inline constexpr uint8_t dest_flag_distribution_list = 2;
// SMPP 3.4 §5.2.12: esm_class bits.
inline constexpr uint8_t esm_class_udhi = 0x40;
inline constexpr uint8_t esm_class_type_mask = 0x3C;
inline constexpr uint8_t esm_class_delivery_receipt = 0x04;

// One destination of submit_multi (SMPP 3.4 §4.5.1.1): an SME address or a distribution list.
struct dest_address {
  uint8_t dest_flag = 0;
  uint8_t dest_addr_ton = 0;          // SME address only
  uint8_t dest_addr_npi = 0;          // SME address only
  std::string_view destination_addr;  // SME address, or dl_name for a distribution list
  friend bool operator==(const dest_address&, const dest_address&) = default;
};

// One failed destination of submit_multi_resp (SMPP 3.4 §4.5.2).
struct unsuccess_sme {
  uint8_t dest_addr_ton = 0;
  uint8_t dest_addr_npi = 0;
  std::string_view destination_addr;
  uint32_t error_status_code = 0;
  friend bool operator==(const unsuccess_sme&, const unsuccess_sme&) = default;
};

// A validated, counted list of wire entries (dest_address or unsuccess_sme) kept as bytes.
template <typename Entry>
class entry_list {
 public:
  entry_list() = default;
  entry_list(uint8_t count, bytes_view raw) noexcept : count_(count), raw_(raw) {}

  class iterator {
   public:
    using value_type = Entry;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const std::byte* p, uint8_t left) noexcept : p_(p), left_(left) {}
    [[nodiscard]] Entry operator*() const noexcept;
    iterator& operator++() noexcept;
    iterator operator++(int) noexcept {
      auto t = *this;
      ++*this;
      return t;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.left_ == b.left_;
    }

   private:
    const std::byte* p_ = nullptr;
    uint8_t left_ = 0;
  };
  [[nodiscard]] iterator begin() const noexcept { return {raw_.data(), count_}; }
  [[nodiscard]] iterator end() const noexcept { return {nullptr, 0}; }
  [[nodiscard]] uint8_t size() const noexcept { return count_; }
  [[nodiscard]] bytes_view raw() const noexcept { return raw_; }
  friend bool operator==(const entry_list& a, const entry_list& b) noexcept {
    return a.count_ == b.count_ && a.raw_ == b.raw_;
  }

 private:
  uint8_t count_ = 0;
  bytes_view raw_;
};

using dest_address_list = entry_list<dest_address>;
using unsuccess_sme_list = entry_list<unsuccess_sme>;

struct pdu {
  command_id id = command_id::generic_nack;
  command_status status = command_status::ESME_ROK;
  uint32_t sequence_number = 0;

  // bind_* (SMPP 3.4 §4.1), bind_*_resp, outbind
  std::string_view system_id;
  std::string_view password;
  std::string_view system_type;
  uint8_t interface_version = 0;
  uint8_t addr_ton = 0;
  uint8_t addr_npi = 0;
  std::string_view address_range;

  // message PDUs (SMPP 3.4 §4.4-4.10, SMPP 5.0 §4.4-4.6)
  std::string_view service_type;
  uint8_t source_addr_ton = 0;
  uint8_t source_addr_npi = 0;
  std::string_view source_addr;
  uint8_t dest_addr_ton = 0;
  uint8_t dest_addr_npi = 0;
  std::string_view destination_addr;
  uint8_t esme_addr_ton = 0;  // alert_notification
  uint8_t esme_addr_npi = 0;
  std::string_view esme_addr;
  uint8_t esm_class = 0;
  uint8_t protocol_id = 0;
  uint8_t priority_flag = 0;
  std::string_view schedule_delivery_time;
  std::string_view validity_period;
  uint8_t registered_delivery = 0;
  uint8_t replace_if_present_flag = 0;
  uint8_t data_coding = 0;
  uint8_t sm_default_msg_id = 0;
  bytes_view short_message;  // sm_length is short_message.size()
  std::string_view message_id;
  std::string_view final_date;        // query_sm_resp
  uint8_t message_state = 0;          // query_sm_resp
  uint8_t error_code = 0;             // query_sm_resp
  dest_address_list dest_addresses;   // submit_multi: number_of_dests + dest_address entries
  unsuccess_sme_list unsuccess_smes;  // submit_multi_resp: no_unsuccess + unsuccess_sme entries

  tlv_area tlvs;
  // A response sent as a bare header (command_length 16) although its layout has fields: common
  // for error responses (SMPP 3.4 §3.3) and tolerated for every response.
  bool body_absent = false;

  friend bool operator==(const pdu&, const pdu&) = default;
};

// Kinds of mandatory field on the wire (SMPP 3.4 §3.1).
enum class field_kind : uint8_t {
  u8,         // Integer, 1 octet
  cstring,    // C-Octet String, variable length up to max_len octets including the NUL
  time,       // C-Octet String, fixed: empty or 16 characters (SMPP 3.4 §7.1)
  sm,         // sm_length (1 octet) + short_message (0..254 octets)
  dest_list,  // number_of_dests (1 octet) + dest_address entries (SMPP 3.4 §4.5.1.1)
  unsuccess,  // no_unsuccess (1 octet) + unsuccess_sme entries (SMPP 3.4 §4.5.2)
};

struct field_desc {
  std::string_view name;
  field_kind kind;
  uint8_t max_len;        // cstring: maximum octets including the terminator
  command_status status;  // what a bad value of this field is answered with
  uint8_t pdu::*u8 = nullptr;
  std::string_view pdu::*str = nullptr;
};

// The mandatory fields of a command in wire order; empty for an unknown command.
[[nodiscard]] std::span<const field_desc> pdu_layout(command_id id) noexcept;

}  // namespace smpp::codec
