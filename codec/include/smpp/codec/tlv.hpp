// Tagged Length Value parameters (SMPP 3.4 §3.2.4 and §5.3, SMPP 5.0 §4.8).
// TLVs stay in the PDU's bytes; a tlv_area is a validated view that iterates them in order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "smpp/codec/bytes.hpp"

namespace smpp::codec {

namespace tag {
// SMPP 3.4 §5.3.2
inline constexpr uint16_t dest_addr_subunit = 0x0005;
inline constexpr uint16_t dest_network_type = 0x0006;
inline constexpr uint16_t dest_bearer_type = 0x0007;
inline constexpr uint16_t dest_telematics_id = 0x0008;
inline constexpr uint16_t source_addr_subunit = 0x000D;
inline constexpr uint16_t source_network_type = 0x000E;
inline constexpr uint16_t source_bearer_type = 0x000F;
inline constexpr uint16_t source_telematics_id = 0x0010;
inline constexpr uint16_t qos_time_to_live = 0x0017;
inline constexpr uint16_t payload_type = 0x0019;
inline constexpr uint16_t additional_status_info_text = 0x001D;
inline constexpr uint16_t receipted_message_id = 0x001E;
inline constexpr uint16_t ms_msg_wait_facilities = 0x0030;
inline constexpr uint16_t privacy_indicator = 0x0201;
inline constexpr uint16_t source_subaddress = 0x0202;
inline constexpr uint16_t dest_subaddress = 0x0203;
inline constexpr uint16_t user_message_reference = 0x0204;
inline constexpr uint16_t user_response_code = 0x0205;
inline constexpr uint16_t source_port = 0x020A;
inline constexpr uint16_t destination_port = 0x020B;
inline constexpr uint16_t sar_msg_ref_num = 0x020C;
inline constexpr uint16_t language_indicator = 0x020D;
inline constexpr uint16_t sar_total_segments = 0x020E;
inline constexpr uint16_t sar_segment_seqnum = 0x020F;
inline constexpr uint16_t sc_interface_version = 0x0210;
inline constexpr uint16_t callback_num_pres_ind = 0x0302;
inline constexpr uint16_t callback_num_atag = 0x0303;
inline constexpr uint16_t number_of_messages = 0x0304;
inline constexpr uint16_t callback_num = 0x0381;
inline constexpr uint16_t dpf_result = 0x0420;
inline constexpr uint16_t set_dpf = 0x0421;
inline constexpr uint16_t ms_availability_status = 0x0422;
inline constexpr uint16_t network_error_code = 0x0423;
inline constexpr uint16_t message_payload = 0x0424;
inline constexpr uint16_t delivery_failure_reason = 0x0425;
inline constexpr uint16_t more_messages_to_send = 0x0426;
inline constexpr uint16_t message_state = 0x0427;
inline constexpr uint16_t congestion_state = 0x0428;  // SMPP 5.0
inline constexpr uint16_t ussd_service_op = 0x0501;
// SMPP 5.0 §4.8.4 broadcast and network TLVs
inline constexpr uint16_t broadcast_channel_indicator = 0x0600;
inline constexpr uint16_t broadcast_content_type = 0x0601;
inline constexpr uint16_t broadcast_content_type_info = 0x0602;
inline constexpr uint16_t broadcast_message_class = 0x0603;
inline constexpr uint16_t broadcast_rep_num = 0x0604;
inline constexpr uint16_t broadcast_frequency_interval = 0x0605;
inline constexpr uint16_t broadcast_area_identifier = 0x0606;
inline constexpr uint16_t broadcast_error_status = 0x0607;
inline constexpr uint16_t broadcast_area_success = 0x0608;
inline constexpr uint16_t broadcast_end_time = 0x0609;
inline constexpr uint16_t broadcast_service_group = 0x060A;
inline constexpr uint16_t billing_identification = 0x060B;
inline constexpr uint16_t source_network_id = 0x060D;
inline constexpr uint16_t dest_network_id = 0x060E;
inline constexpr uint16_t source_node_id = 0x060F;
inline constexpr uint16_t dest_node_id = 0x0610;
inline constexpr uint16_t dest_addr_np_resolution = 0x0611;
inline constexpr uint16_t dest_addr_np_information = 0x0612;
inline constexpr uint16_t dest_addr_np_country = 0x0613;
inline constexpr uint16_t display_time = 0x1201;
inline constexpr uint16_t sms_signal = 0x1203;
inline constexpr uint16_t ms_validity = 0x1204;
inline constexpr uint16_t alert_on_message_delivery = 0x130C;
inline constexpr uint16_t its_reply_type = 0x1380;
inline constexpr uint16_t its_session_info = 0x1383;
}  // namespace tag

// How a TLV's value is typed (SMPP 3.4 §3.1 field types).
enum class tlv_type : uint8_t { int1, int2, int4, cstring, octets, empty };

struct tlv_info {
  uint16_t tag;
  std::string_view name;
  tlv_type type;
  uint16_t min_len;  // inclusive
  uint16_t max_len;  // inclusive
};

// The definition of a standard TLV, or nullptr for a vendor or unknown tag.
[[nodiscard]] const tlv_info* find_tlv_info(uint16_t tag) noexcept;
// Every standard TLV, in tag order.
[[nodiscard]] std::span<const tlv_info> standard_tlvs() noexcept;

struct tlv {
  uint16_t tag = 0;
  bytes_view value;

  // Big-endian integer value of an int1/int2/int4 TLV (or any value of 1..4 octets).
  [[nodiscard]] uint32_t as_uint() const noexcept;
  // A C-Octet String value without its terminator.
  [[nodiscard]] std::string_view as_cstring() const noexcept;
  friend bool operator==(const tlv&, const tlv&) = default;
};

// Validated TLV bytes of one PDU; iteration yields the TLVs in wire order, unknown ones included.
class tlv_area {
 public:
  tlv_area() = default;
  explicit tlv_area(bytes_view raw) noexcept : raw_(raw) {}

  class iterator {
   public:
    using value_type = tlv;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(const std::byte* p) noexcept : p_(p) {}
    [[nodiscard]] tlv operator*() const noexcept;
    iterator& operator++() noexcept;
    iterator operator++(int) noexcept {
      auto t = *this;
      ++*this;
      return t;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.p_ == b.p_; }

   private:
    const std::byte* p_ = nullptr;
  };

  // The area was validated by decode (or built by tlv_writer): every header and value fits.
  [[nodiscard]] iterator begin() const noexcept { return iterator(raw_.data()); }
  [[nodiscard]] iterator end() const noexcept { return iterator(raw_.data() + raw_.size()); }
  [[nodiscard]] bool empty() const noexcept { return raw_.empty(); }
  [[nodiscard]] bytes_view raw() const noexcept { return raw_; }
  // First TLV with this tag.
  [[nodiscard]] std::optional<tlv> find(uint16_t t) const noexcept;
  friend bool operator==(const tlv_area& a, const tlv_area& b) noexcept { return a.raw_ == b.raw_; }

 private:
  bytes_view raw_;
};

// Appends TLVs into a caller-provided buffer (for building PDUs); never writes past it.
class tlv_writer {
 public:
  explicit tlv_writer(std::span<std::byte> out) noexcept : out_(out) {}
  bool add(uint16_t t, bytes_view value) noexcept;
  bool add_uint(uint16_t t, uint32_t value, size_t width) noexcept;
  bool add_cstring(uint16_t t, std::string_view s) noexcept;  // writes the terminator
  // False once any add did not fit; needed() is what the whole sequence required.
  [[nodiscard]] bool ok() const noexcept { return needed_ <= out_.size(); }
  [[nodiscard]] size_t needed() const noexcept { return needed_; }
  [[nodiscard]] tlv_area area() const noexcept {
    return tlv_area(bytes_view(out_.data(), ok() ? needed_ : 0));
  }

 private:
  bool reserve(size_t n) noexcept;
  std::span<std::byte> out_;
  size_t needed_ = 0;
};

}  // namespace smpp::codec
