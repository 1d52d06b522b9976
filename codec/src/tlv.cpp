#include "smpp/codec/tlv.hpp"

#include <algorithm>
#include <array>

namespace smpp::codec {
namespace {

using enum tlv_type;
// Standard TLVs with their value types and length bounds (SMPP 3.4 §5.3.2, SMPP 5.0 §4.8.4),
// sorted by tag for binary search.
constexpr std::array kTlvs = {
    tlv_info{tag::dest_addr_subunit, "dest_addr_subunit", int1, 1, 1},
    tlv_info{tag::dest_network_type, "dest_network_type", int1, 1, 1},
    tlv_info{tag::dest_bearer_type, "dest_bearer_type", int1, 1, 1},
    tlv_info{tag::dest_telematics_id, "dest_telematics_id", int2, 2, 2},
    tlv_info{tag::source_addr_subunit, "source_addr_subunit", int1, 1, 1},
    tlv_info{tag::source_network_type, "source_network_type", int1, 1, 1},
    tlv_info{tag::source_bearer_type, "source_bearer_type", int1, 1, 1},
    tlv_info{tag::source_telematics_id, "source_telematics_id", int1, 1, 1},
    tlv_info{tag::qos_time_to_live, "qos_time_to_live", int4, 4, 4},
    tlv_info{tag::payload_type, "payload_type", int1, 1, 1},
    tlv_info{tag::additional_status_info_text, "additional_status_info_text", cstring, 1, 256},
    tlv_info{tag::receipted_message_id, "receipted_message_id", cstring, 1, 65},
    tlv_info{tag::ms_msg_wait_facilities, "ms_msg_wait_facilities", int1, 1, 1},
    tlv_info{tag::privacy_indicator, "privacy_indicator", int1, 1, 1},
    tlv_info{tag::source_subaddress, "source_subaddress", octets, 2, 23},
    tlv_info{tag::dest_subaddress, "dest_subaddress", octets, 2, 23},
    tlv_info{tag::user_message_reference, "user_message_reference", int2, 2, 2},
    tlv_info{tag::user_response_code, "user_response_code", int1, 1, 1},
    tlv_info{tag::source_port, "source_port", int2, 2, 2},
    tlv_info{tag::destination_port, "destination_port", int2, 2, 2},
    tlv_info{tag::sar_msg_ref_num, "sar_msg_ref_num", int2, 2, 2},
    tlv_info{tag::language_indicator, "language_indicator", int1, 1, 1},
    tlv_info{tag::sar_total_segments, "sar_total_segments", int1, 1, 1},
    tlv_info{tag::sar_segment_seqnum, "sar_segment_seqnum", int1, 1, 1},
    tlv_info{tag::sc_interface_version, "sc_interface_version", int1, 1, 1},
    tlv_info{tag::callback_num_pres_ind, "callback_num_pres_ind", int1, 1, 1},
    tlv_info{tag::callback_num_atag, "callback_num_atag", octets, 0, 65},
    tlv_info{tag::number_of_messages, "number_of_messages", int1, 1, 1},
    tlv_info{tag::callback_num, "callback_num", octets, 4, 19},
    tlv_info{tag::dpf_result, "dpf_result", int1, 1, 1},
    tlv_info{tag::set_dpf, "set_dpf", int1, 1, 1},
    tlv_info{tag::ms_availability_status, "ms_availability_status", int1, 1, 1},
    tlv_info{tag::network_error_code, "network_error_code", octets, 3, 3},
    tlv_info{tag::message_payload, "message_payload", octets, 0, 65535},
    tlv_info{tag::delivery_failure_reason, "delivery_failure_reason", int1, 1, 1},
    tlv_info{tag::more_messages_to_send, "more_messages_to_send", int1, 1, 1},
    tlv_info{tag::message_state, "message_state", int1, 1, 1},
    tlv_info{tag::congestion_state, "congestion_state", int1, 1, 1},
    tlv_info{tag::ussd_service_op, "ussd_service_op", int1, 1, 1},
    tlv_info{tag::broadcast_channel_indicator, "broadcast_channel_indicator", int1, 1, 1},
    tlv_info{tag::broadcast_content_type, "broadcast_content_type", octets, 3, 3},
    tlv_info{tag::broadcast_content_type_info, "broadcast_content_type_info", octets, 0, 255},
    tlv_info{tag::broadcast_message_class, "broadcast_message_class", int1, 1, 1},
    tlv_info{tag::broadcast_rep_num, "broadcast_rep_num", int2, 2, 2},
    tlv_info{tag::broadcast_frequency_interval, "broadcast_frequency_interval", octets, 3, 3},
    tlv_info{tag::broadcast_area_identifier, "broadcast_area_identifier", octets, 1, 100},
    tlv_info{tag::broadcast_error_status, "broadcast_error_status", int4, 4, 4},
    tlv_info{tag::broadcast_area_success, "broadcast_area_success", int1, 1, 1},
    tlv_info{tag::broadcast_end_time, "broadcast_end_time", cstring, 1, 17},
    tlv_info{tag::broadcast_service_group, "broadcast_service_group", octets, 0, 255},
    tlv_info{tag::billing_identification, "billing_identification", octets, 0, 1024},
    tlv_info{tag::source_network_id, "source_network_id", cstring, 1, 65},
    tlv_info{tag::dest_network_id, "dest_network_id", cstring, 1, 65},
    tlv_info{tag::source_node_id, "source_node_id", octets, 6, 6},
    tlv_info{tag::dest_node_id, "dest_node_id", octets, 6, 6},
    tlv_info{tag::dest_addr_np_resolution, "dest_addr_np_resolution", int1, 1, 1},
    tlv_info{tag::dest_addr_np_information, "dest_addr_np_information", octets, 10, 10},
    tlv_info{tag::dest_addr_np_country, "dest_addr_np_country", octets, 1, 5},
    tlv_info{tag::display_time, "display_time", int1, 1, 1},
    tlv_info{tag::sms_signal, "sms_signal", int2, 2, 2},
    tlv_info{tag::ms_validity, "ms_validity", octets, 1, 4},
    tlv_info{tag::alert_on_message_delivery, "alert_on_message_delivery", octets, 0, 1},
    tlv_info{tag::its_reply_type, "its_reply_type", int1, 1, 1},
    tlv_info{tag::its_session_info, "its_session_info", octets, 2, 2},
};

constexpr bool sorted_by_tag() {
  for (size_t i = 1; i < kTlvs.size(); ++i) {
    if (kTlvs[i - 1].tag >= kTlvs[i].tag) return false;
  }
  return true;
}
static_assert(sorted_by_tag(), "kTlvs must stay sorted by tag");

}  // namespace

namespace {

// O(1) lookup: the standard tags use 8 high octets; kBlock maps a high octet to a block of 256
// slots indexed by the low octet, each holding an index into kTlvs (kNoTlv for none).
constexpr uint8_t kNoTlv = 0xFF;
struct tlv_index {
  std::array<uint8_t, 256> block{};
  std::array<std::array<uint8_t, 256>, 8> slot{};
};
constexpr tlv_index make_tlv_index() {
  tlv_index x{};
  for (auto& b : x.block) b = kNoTlv;
  for (auto& blk : x.slot) {
    for (auto& v : blk) v = kNoTlv;
  }
  uint8_t blocks = 0;
  for (size_t i = 0; i < kTlvs.size(); ++i) {
    const uint8_t hi = static_cast<uint8_t>(kTlvs[i].tag >> 8);
    if (x.block[hi] == kNoTlv) x.block[hi] = blocks++;  // more than 8 fails constant evaluation
    x.slot.at(x.block[hi])[kTlvs[i].tag & 0xFF] = static_cast<uint8_t>(i);
  }
  return x;
}
constexpr tlv_index kTlvIndex = make_tlv_index();

}  // namespace

const tlv_info* find_tlv_info(uint16_t t) noexcept {
  const uint8_t b = kTlvIndex.block[t >> 8];
  if (b == kNoTlv) return nullptr;
  const uint8_t i = kTlvIndex.slot[b][t & 0xFF];
  return i == kNoTlv ? nullptr : &kTlvs[i];
}

std::span<const tlv_info> standard_tlvs() noexcept {
  return kTlvs;
}

uint32_t tlv::as_uint() const noexcept {
  uint32_t v = 0;
  for (size_t i = 0; i < value.size() && i < 4; ++i)
    v = (v << 8) | std::to_integer<uint32_t>(value[i]);
  return v;
}

std::string_view tlv::as_cstring() const noexcept {
  auto s = value.as_chars();
  if (!s.empty() && s.back() == '\0') s.remove_suffix(1);
  return s;
}

tlv tlv_area::iterator::operator*() const noexcept {
  const uint16_t len = load_be16(p_ + 2);
  return {load_be16(p_), bytes_view(p_ + 4, len)};
}

tlv_area::iterator& tlv_area::iterator::operator++() noexcept {
  p_ += 4 + load_be16(p_ + 2);
  return *this;
}

std::optional<tlv> tlv_area::find(uint16_t t) const noexcept {
  for (const tlv x : *this) {
    if (x.tag == t) return x;
  }
  return std::nullopt;
}

bool tlv_writer::reserve(size_t n) noexcept {
  const bool fits = needed_ + n <= out_.size() && needed_ <= out_.size();
  needed_ += n;
  return fits;
}

bool tlv_writer::add(uint16_t t, bytes_view value) noexcept {
  if (value.size() > 0xFFFF) {
    needed_ = SIZE_MAX / 2;  // unrepresentable: can never fit
    return false;
  }
  const size_t at = needed_;
  if (!reserve(4 + value.size())) return false;
  std::byte* p = out_.data() + at;
  store_be16(p, t);
  store_be16(p + 2, static_cast<uint16_t>(value.size()));
  if (!value.empty()) std::memcpy(p + 4, value.data(), value.size());
  return true;
}

bool tlv_writer::add_uint(uint16_t t, uint32_t value, size_t width) noexcept {
  std::array<std::byte, 4> b{};
  if (width == 0 || width > 4) return false;
  for (size_t i = 0; i < width; ++i) b[i] = static_cast<std::byte>(value >> (8 * (width - 1 - i)));
  return add(t, bytes_view(b.data(), width));
}

bool tlv_writer::add_cstring(uint16_t t, std::string_view s) noexcept {
  if (s.size() >= 0xFFFF) {
    needed_ = SIZE_MAX / 2;  // unrepresentable: can never fit
    return false;
  }
  const size_t at = needed_;
  if (!reserve(4 + s.size() + 1)) return false;
  std::byte* p = out_.data() + at;
  store_be16(p, t);
  store_be16(p + 2, static_cast<uint16_t>(s.size() + 1));
  if (!s.empty()) std::memcpy(p + 4, s.data(), s.size());
  p[4 + s.size()] = std::byte{0};
  return true;
}

}  // namespace smpp::codec
