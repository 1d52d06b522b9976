// Concatenated short messages: splitting a text into parts (UDH with 8- or 16-bit reference,
// SAR TLV values, or one message_payload), parsing a User Data Header, and reassembling parts
// with bounded, preallocated memory. No I/O, no clock reads, no allocation per call except in
// the clearly named *_to_vector wrappers and the reassembler's constructor.
#pragma once

#include "smpp/codec/pdu.hpp"  // esm_class_udhi

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "smpp/codec/text.hpp"

namespace smpp::codec {

// ---- splitting ------------------------------------------------------------------------------

enum class concat_method : std::uint8_t {
  udh_ref8,         // UDH IEI 0x00, 8-bit reference, 6-octet UDH (TS 23.040 §9.2.3.24.1)
  udh_ref16,        // UDH IEI 0x08, 16-bit reference, 7-octet UDH (TS 23.040 §9.2.3.24.8)
  sar,              // no UDH; ref/total/seq go into sar_msg_ref_num, sar_total_segments and
                    // sar_segment_seqnum TLVs (SMPP 3.4 §5.3.2.22, §5.3.2.23, §5.3.2.24)
  message_payload,  // never split: one message_payload TLV (SMPP 3.4 §5.3.2.32)
};

// Concatenation reference and part numbers are one octet (TS 23.040 §9.2.3.24.1; SMPP 3.4
// §5.3.2.23 sar_total_segments).
inline constexpr std::size_t max_concat_parts = 255;
// message_payload length is a 16-bit TLV length (SMPP 3.4 §5.3.2.32).
inline constexpr std::size_t max_message_payload_octets = 65535;

enum class concat_status : std::uint8_t {
  ok,
  buffer_too_small,        // parts span or arena too small; split_result says how much is needed
  too_many_parts,          // more than 255 parts would be needed
  too_long,                // message_payload longer than 65535 octets
  reference_out_of_range,  // ref > 0xFF with udh_ref8
  invalid_utf8,            // policy fail
  unmappable,              // policy fail
  invalid_input,           // split_encoded: UCS-2 with an odd number of octets
  unsupported_coding,      // split_text: coding is binary or unsupported
};

struct split_options {
  text_coding coding = text_coding::gsm7;
  concat_method method = concat_method::udh_ref8;
  std::uint16_t ref = 0;  // the same for every part of one message; <= 0xFF for udh_ref8
  unmappable_policy policy = unmappable_policy::fail;  // split_text only
};

// Octets of SMPP short_message payload one message carries unsplit: GSM 7-bit as unpacked
// septets 160, UCS-2 140 (70 characters), everything else 140 octets.
[[nodiscard]] constexpr std::size_t single_part_capacity(text_coding coding) noexcept {
  return coding == text_coding::gsm7 ? 160 : 140;
}

// Payload octets of each part once split. TS 23.040 §9.2.3.24.1: 140 octets less the UDH, GSM 7-bit
// counted in septets after the fill bits (153 / 152), UCS-2 in whole characters (67 / 66).
// SAR carries no UDH, so its parts are as large as a single message. For message_payload there is
// no per-part limit (the TLV limit is max_message_payload_octets).
[[nodiscard]] constexpr std::size_t part_capacity(text_coding coding,
                                                  concat_method method) noexcept {
  switch (method) {
    case concat_method::udh_ref8:
      return coding == text_coding::gsm7 ? 153 : 134;
    case concat_method::udh_ref16:
      return coding == text_coding::gsm7 ? 152 : coding == text_coding::ucs2 ? 132 : 133;
    case concat_method::sar:
      return single_part_capacity(coding);
    case concat_method::message_payload:
      break;
  }
  return max_message_payload_octets;
}

// One part as SMPP sends it. `udh` and `payload` are adjacent in the caller's arena, so
// short_message() is the whole short_message (esm_class UDHI set when udh is not empty).
// total == 1 means the text fits one message: send it without UDH or SAR TLVs.
struct message_part {
  std::span<const std::byte> udh;      // empty for sar, message_payload and single parts
  std::span<const std::byte> payload;  // unpacked septets, UCS-2 octets, or raw octets
  std::uint16_t ref = 0;
  std::uint8_t total = 1;
  std::uint8_t seq = 1;

  [[nodiscard]] std::span<const std::byte> short_message() const noexcept {
    return udh.empty() ? payload
                       : std::span<const std::byte>(udh.data(), udh.size() + payload.size());
  }
};

// On ok: `parts` descriptors were filled. On buffer_too_small: `parts` is the number of part
// descriptors and `arena_needed` the arena octets the split needs; nothing was written.
struct [[nodiscard]] split_result {
  concat_status status = concat_status::ok;
  std::size_t parts = 0;
  std::size_t arena_needed = 0;
};

// Encodes `utf8` in options.coding and splits it. Accepted codings: gsm7 and ucs2 (what
// choose_coding() returns), latin1 and ia5 (one octet per character, split with the 8-bit
// capacities). An escape sequence (TS 23.038 §6.2.1.1) or a surrogate pair is never split
// (TS 23.040 §9.2.3.24.1). No allocation: descriptors go to `parts`, bytes to `arena`.
[[nodiscard]] split_result split_text(std::string_view utf8, const split_options& options,
                                      std::span<message_part> parts,
                                      std::span<std::byte> arena) noexcept;

// Splits already-encoded octets, e.g. a message_payload to forward as short_message parts.
// gsm7 is unpacked septets (0x1B and the following septet stay together), ucs2 keeps surrogate
// pairs together, any other coding is split as opaque octets with the 8-bit capacities.
[[nodiscard]] split_result split_encoded(std::span<const std::byte> coded,
                                         const split_options& options,
                                         std::span<message_part> parts,
                                         std::span<std::byte> arena) noexcept;

// Convenience for tools and tests (allocates).
struct owned_message_part {
  std::vector<std::byte> udh;
  std::vector<std::byte> payload;
  std::uint16_t ref = 0;
  std::uint8_t total = 1;
  std::uint8_t seq = 1;

  [[nodiscard]] std::vector<std::byte> short_message() const;
};
struct owned_split {
  concat_status status = concat_status::ok;
  std::vector<owned_message_part> parts;
};
[[nodiscard]] owned_split split_text_to_vector(std::string_view utf8, const split_options& options);
[[nodiscard]] owned_split split_encoded_to_vector(std::span<const std::byte> coded,
                                                  const split_options& options);

// ---- User Data Header (TS 23.040 §9.2.3.24) -------------------------------------------------

inline constexpr std::uint16_t wap_push_port = 2948;  // WAP push destination port (WDP)

namespace iei {
inline constexpr std::uint8_t concat_ref8 = 0x00;   // TS 23.040 §9.2.3.24.1
inline constexpr std::uint8_t port_8bit = 0x04;     // TS 23.040 §9.2.3.24.3
inline constexpr std::uint8_t port_16bit = 0x05;    // TS 23.040 §9.2.3.24.4
inline constexpr std::uint8_t concat_ref16 = 0x08;  // TS 23.040 §9.2.3.24.8
}  // namespace iei

enum class udh_status : std::uint8_t {
  ok,
  empty_message,         // UDHI set but no UDHL octet
  udh_beyond_message,    // UDHL counts more octets than the message has
  ie_header_beyond_udh,  // an IEI without its length octet at the end of the UDH
  ie_beyond_udh,         // an IE's length runs past the UDH
  bad_ie_length,         // a recognised IE (concatenation, port addressing) of wrong length
};

struct udh_ie {
  std::uint8_t iei = 0;
  std::span<const std::byte> data;
};

// Walks IEs that parse_udh() has already validated, so it cannot fail.
class udh_ie_iterator {
 public:
  using value_type = udh_ie;
  using difference_type = std::ptrdiff_t;

  udh_ie_iterator() = default;
  explicit udh_ie_iterator(std::span<const std::byte> ies) noexcept : rest_(ies) {}

  [[nodiscard]] udh_ie operator*() const noexcept {
    return {std::to_integer<std::uint8_t>(rest_[0]),
            rest_.subspan(2, std::to_integer<std::size_t>(rest_[1]))};
  }
  udh_ie_iterator& operator++() noexcept {
    rest_ = rest_.subspan(2 + std::to_integer<std::size_t>(rest_[1]));
    return *this;
  }
  udh_ie_iterator operator++(int) noexcept {
    udh_ie_iterator before = *this;
    ++*this;
    return before;
  }
  [[nodiscard]] bool operator==(std::default_sentinel_t) const noexcept { return rest_.empty(); }

 private:
  std::span<const std::byte> rest_;
};

struct udh_ie_range {
  std::span<const std::byte> ies;
  [[nodiscard]] udh_ie_iterator begin() const noexcept { return udh_ie_iterator(ies); }
  [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }
};

struct udh_concat {
  std::uint16_t ref = 0;
  std::uint8_t total = 0;
  std::uint8_t seq = 0;
  bool ref16 = false;
};

struct udh_ports {
  std::uint16_t destination = 0;
  std::uint16_t originator = 0;
  bool ports16 = false;

  [[nodiscard]] constexpr bool is_wap_push() const noexcept { return destination == wap_push_port; }
};

// A parsed UDH: views into the short_message given to parse_udh().
struct udh_view {
  std::span<const std::byte> header;   // UDHL and the IEs
  std::span<const std::byte> payload;  // the user data after the UDH
  // TS 23.040 §9.2.3.24.1: a concatenation IE with total 0, seq 0 or seq > total is ignored.
  // §9.2.3.24: for repeated or mutually exclusive IEs (8- and 16-bit variants) the last wins.
  std::optional<udh_concat> concat;
  std::optional<udh_ports> ports;

  // Every IE in order, the recognised ones included.
  [[nodiscard]] udh_ie_range ies() const noexcept {
    return {header.empty() ? header : header.subspan(1)};
  }
};

struct [[nodiscard]] udh_parse_result {
  udh_status status = udh_status::ok;
  udh_view udh;
};

// `short_message` is the whole short_message of a PDU whose esm_class has UDHI set.
[[nodiscard]] udh_parse_result parse_udh(std::span<const std::byte> short_message) noexcept;

// ---- reassembly -----------------------------------------------------------------------------

// All memory is allocated by the constructor; add_part() and expire() never allocate.
struct reassembler_config {
  std::size_t max_messages = 1024;         // incomplete messages held at once
  std::size_t max_parts_per_message = 16;  // a larger total is rejected; capped at 255
  std::size_t max_total_bytes = 1 << 20;   // part bytes held, in whole 32-octet chunks
  std::uint64_t timeout_ms = 60'000;       // from a message's first part to its expiry
};

// Identifies a message: parts join only if all three match. `originator` is whatever the caller
// uses to scope references (e.g. source_addr, or bind + source_addr).
struct concat_key {
  std::string_view originator;
  std::uint16_t ref = 0;
  std::uint8_t total = 0;
};

enum class reassembly_status : std::uint8_t {
  stored,               // part kept, message still incomplete
  complete,             // this part completed the message: see reassembly_result::message
  duplicate,            // this seq was already held: ignored
  invalid_total,        // total == 0
  invalid_seq,          // seq == 0 or seq > total
  too_many_parts,       // total > max_parts_per_message
  part_too_large,       // part longer than reassembler::max_part_bytes
  originator_too_long,  // originator longer than reassembler::max_originator_length
  inconsistent_total,   // a message with this originator and ref is in progress with another total
  table_full,           // max_messages incomplete messages held: the new message is rejected
  memory_full,          // max_total_bytes reached: the part is rejected, nothing is evicted
};

struct [[nodiscard]] reassembly_result {
  reassembly_status status = reassembly_status::stored;
  // The parts' bytes in seq order when status == complete; valid until the next add_part().
  std::span<const std::byte> message;
};

struct reassembler_stats {
  std::uint64_t parts_stored = 0;  // accepted parts, single-part messages included
  std::uint64_t messages_completed = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t expired = 0;                // incomplete messages dropped by the timeout
  std::uint64_t rejected_invalid = 0;       // invalid_total .. originator_too_long
  std::uint64_t rejected_inconsistent = 0;  // inconsistent_total
  std::uint64_t rejected_table_full = 0;
  std::uint64_t rejected_memory_full = 0;
};

// Reassembles concatenated messages whose parts arrive in any order.
//
// Bounds and what happens at each:
//  - max_messages incomplete messages: a part starting another message is rejected (table_full)
//    and counted; messages in progress are never evicted, they complete or expire.
//  - max_total_bytes of held part data (rounded down to 32-octet chunks): a part that does not
//    fit is rejected (memory_full) and counted; its message stays and can still complete if
//    the part is sent again.
//  - timeout_ms after its first part an incomplete message is dropped and counted as expired;
//    expiry runs at the start of every add_part() and in expire().
// `now_ms` must be monotonic (it is compared, never read from a clock here). A part arriving
// after its message completed or expired starts a new message.
class reassembler {
 public:
  static constexpr std::size_t max_part_bytes = 254;  // sm_length, SMPP 3.4 §5.2.21
  static constexpr std::size_t max_originator_length = 64;
  static constexpr std::size_t chunk_size = 32;

  explicit reassembler(const reassembler_config& config);

  // `part` is the part's user data without UDH. The bytes are copied.
  [[nodiscard]] reassembly_result add_part(const concat_key& key, std::uint8_t seq,
                                           std::span<const std::byte> part,
                                           std::uint64_t now_ms) noexcept;

  // Drops messages whose timeout has passed; returns how many.
  std::size_t expire(std::uint64_t now_ms) noexcept;

  [[nodiscard]] const reassembler_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::size_t messages_in_progress() const noexcept;
  [[nodiscard]] std::size_t bytes_in_use() const noexcept;  // in whole chunks

 private:
  static constexpr std::uint32_t none = 0xFFFFFFFF;

  struct message_slot {
    std::array<char, max_originator_length> originator{};
    std::uint8_t originator_length = 0;
    std::uint16_t ref = 0;
    std::uint8_t total = 0;
    std::uint8_t received = 0;
    std::uint32_t payload_bytes = 0;
    std::uint64_t first_ms = 0;
    std::uint32_t hash = 0;
    std::uint32_t older = none;  // expiry order: oldest first part first
    std::uint32_t newer = none;
  };
  struct part_entry {
    std::uint32_t first_chunk = none;
    std::uint16_t length = 0;
    bool present = false;
  };
  struct lookup {
    std::uint32_t slot = none;  // none when absent
    std::size_t index_pos = 0;  // where the key is, or where it would be inserted
  };

  [[nodiscard]] lookup find(std::string_view originator, std::uint16_t ref,
                            std::uint32_t hash) const noexcept;
  [[nodiscard]] std::uint32_t open_message(const concat_key& key, std::uint32_t hash,
                                           std::size_t index_pos, std::uint64_t now_ms) noexcept;
  void release(std::uint32_t slot) noexcept;
  void unindex(std::uint32_t slot) noexcept;
  [[nodiscard]] bool store(std::uint32_t slot, std::uint8_t seq,
                           std::span<const std::byte> part) noexcept;
  [[nodiscard]] std::span<const std::byte> assemble(std::uint32_t slot) noexcept;
  [[nodiscard]] static std::size_t chunks_for(std::size_t bytes) noexcept {
    return (bytes + chunk_size - 1) / chunk_size;
  }

  std::size_t max_parts_;
  std::uint64_t timeout_ms_;
  std::vector<message_slot> slots_;
  std::vector<std::uint32_t> free_slots_;  // stack of unused slot indices
  std::vector<part_entry> parts_;          // max_parts_ entries per slot
  std::vector<std::byte> chunks_;
  std::vector<std::uint32_t> chunk_next_;  // chain of a part's chunks, or the free list
  std::uint32_t free_chunk_ = none;
  std::size_t free_chunk_count_ = 0;
  std::vector<std::uint32_t> index_;  // open addressing, linear probing: slot + 1, 0 = empty
  std::size_t index_mask_ = 0;
  std::uint32_t oldest_ = none;
  std::uint32_t newest_ = none;
  std::vector<std::byte> output_;
  reassembler_stats stats_;
};

}  // namespace smpp::codec
