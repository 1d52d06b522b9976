// Decode and encode whole PDUs. Decoding is zero-copy and allocation-free: the pdu references
// the frame. Errors are values carrying the command_status the specification asks for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "smpp/codec/pdu.hpp"

namespace smpp::codec {

struct decode_error {
  command_status status = command_status::ESME_ROK;
  std::string_view field;  // the offending field or TLV name; empty when not field-specific
  uint32_t offset = 0;     // byte offset in the frame where the problem was found
  [[nodiscard]] bool ok() const noexcept { return status == command_status::ESME_ROK; }
  explicit operator bool() const noexcept { return !ok(); }
};

// Decodes one complete frame (exactly command_length octets, as the stream_framer hands out).
// On error, out.id and out.sequence_number are still set when the header could be read, so the
// caller can answer with the matching response or generic_nack (SMPP 3.4 §2.9).
[[nodiscard]] decode_error decode(bytes_view frame, pdu& out) noexcept;

// The fields of a submit_sm that a router or an acknowledging peer acts on, without a full
// decode (views into the frame).
struct submit_sm_peek {
  uint32_t sequence_number = 0;
  std::string_view service_type;
  std::string_view source_addr;
  std::string_view destination_addr;
  uint8_t esm_class = 0;
  uint8_t registered_delivery = 0;
  uint8_t data_coding = 0;
  bytes_view short_message;
};
// True when `frame` is a submit_sm that decode() accepts and that has no
// schedule_delivery_time, no validity_period and no TLV: the common shape, checked field by
// field as decode() checks it (SMPP 3.4 §4.4.1). False for anything else, valid or not:
// decode() then gives the full answer.
[[nodiscard]] bool peek_submit_sm(bytes_view frame, submit_sm_peek& out) noexcept;

// What the return path acts on in a delivery receipt, without a full decode (views into the
// frame).
struct receipt_peek {
  uint32_t sequence_number = 0;
  uint8_t esm_class = 0;
  std::string_view message_id;  // receipted_message_id, without its NUL
  uint8_t message_state = 0;    // 1..9
};
// True when `frame` is a deliver_sm that decode() accepts, whose esm_class marks it as a receipt
// or acknowledgement (SMPP 3.4 §5.2.12), with empty schedule_delivery_time and validity_period,
// and whose first receipted_message_id (not empty) and message_state (1..9) TLVs give what
// summarize_receipt() would (§5.3.2.12, §5.3.2.35). False for anything else, valid or not:
// decode() and summarize_receipt() then give the full answer, the receipt text included.
[[nodiscard]] bool peek_receipt(bytes_view frame, receipt_peek& out) noexcept;

// Reads only the header of a frame of at least 16 octets.
struct pdu_header {
  uint32_t command_length = 0;
  uint32_t command_id = 0;
  uint32_t command_status = 0;
  uint32_t sequence_number = 0;
};
[[nodiscard]] inline pdu_header peek_header(const std::byte* p) noexcept {
  return {load_be32(p), load_be32(p + 4), load_be32(p + 8), load_be32(p + 12)};
}

struct encode_result {
  command_status status = command_status::ESME_ROK;  // a field that cannot be encoded
  std::string_view field;
  size_t needed = 0;  // octets the PDU needs; when > out.size() nothing useful was written
  [[nodiscard]] bool ok(size_t out_size) const noexcept {
    return status == command_status::ESME_ROK && needed <= out_size;
  }
};

// Encodes p into out, never writing past out.size(). needed is always the full PDU size.
[[nodiscard]] encode_result encode(const pdu& p, std::span<std::byte> out) noexcept;

// Writers for the submit_multi lists, into caller buffers (returns octets needed).
[[nodiscard]] size_t write_dest_address(const dest_address& d, std::span<std::byte> out) noexcept;
[[nodiscard]] size_t write_unsuccess_sme(const unsuccess_sme& u, std::span<std::byte> out) noexcept;

// Builds a generic_nack or an empty-bodied response header into out (16 octets).
void write_header_only(std::span<std::byte, header_size> out, command_id id, command_status status,
                       uint32_t sequence_number) noexcept;

}  // namespace smpp::codec
