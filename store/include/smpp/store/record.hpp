// The records the router keeps on disk, and their encoding: what a worker hands its journal
// (journal.hpp) and what a backend (backend.hpp) writes and replays.
//
// A record is a 4-octet header (size of the whole record, little-endian u16; kind, u8; zero,
// u8) and a body of its kind, fixed-width fields little-endian, strings as a length octet and
// their octets. A group of records is their concatenation. Encoding writes into a caller's
// buffer and never allocates; decoding reads in place (views into the group's octets) and
// rejects a record whose size does not fit its kind.
//
// Bounds: an address is at most 21 octets (SMPP 3.4 §5.2.8/§5.2.9: 20 plus the C-string's NUL,
// kept without it), a held PDU at most max_held_pdu octets, so a record is at most
// max_record_bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace smpp::store {

// The compact form of a normalised message_id, as the correlation table keys it
// (smpp::dataplane::correlation_key; the store keeps its own type so it depends on nothing).
struct message_key {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  friend bool operator==(const message_key&, const message_key&) = default;
};

// For unordered containers of keys: both halves mixed apart (MurmurHash3's finaliser), since
// ids often differ in few bits of either half, and lo ^ hi * C cancels out on related halves.
struct message_key_hash {
  [[nodiscard]] static constexpr std::uint64_t fmix64(std::uint64_t h) noexcept {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
  }
  [[nodiscard]] constexpr std::size_t operator()(const message_key& k) const noexcept {
    return static_cast<std::size_t>(fmix64(k.lo ^ fmix64(k.hi ^ 0x9E3779B97F4A7C15ull)));
  }
};

enum class record_kind : std::uint8_t {
  note = 1,       // a submit_sm_resp gave a message id: the entry receipts will look for
  receipt = 2,    // a receipt arrived for a noted id (its state), or was delivered to the ESME
  final_ = 3,     // the final receipt was delivered: receipts no longer look for the entry
  held = 4,       // a receipt or MO taken into custody (answered ESME_ROK to the SMSC)
  held_done = 5,  // a held message an ESME acknowledged (or that expired): custody ends
};

// Receipt states as SMPP 3.4 §5.2.28 message_state numbers them (0 = none yet).
enum class receipt_state : std::uint8_t {
  none = 0,
  enroute = 1,
  delivered = 2,
  expired = 3,
  deleted = 4,
  undeliverable = 5,
  accepted = 6,
  unknown = 7,
  rejected = 8,
};

inline constexpr std::size_t max_address_bytes = 21;
inline constexpr std::size_t max_held_pdu = 4096;
inline constexpr std::size_t record_header_bytes = 4;
inline constexpr std::size_t max_record_bytes = 256 + max_held_pdu;

struct note_record {
  message_key key;
  std::uint64_t submit_ms = 0;  // wall clock, ms since the Unix epoch
  std::uint16_t tenant = 0;
  std::uint16_t upstream = 0;
  std::uint32_t tag = 0;  // correlation_value::tag
  std::string_view source;
  std::string_view destination;
};

struct receipt_record {
  message_key key;
  std::uint64_t time_ms = 0;  // wall clock
  std::uint16_t upstream = 0;
  receipt_state state = receipt_state::none;
  bool delivered = false;  // true: the ESME acknowledged this receipt
};

struct final_record {
  message_key key;
  std::uint64_t time_ms = 0;
  std::uint16_t upstream = 0;
};

enum class held_kind : std::uint8_t { receipt = 0, mo = 1, alert = 2 };

struct held_record {
  std::uint64_t id = 0;  // unique per worker and run of the store (journal-assigned)
  std::uint64_t received_ms = 0;
  std::uint16_t tenant = 0;
  held_kind kind = held_kind::receipt;
  std::span<const std::byte> pdu;  // the deliver_sm / data_sm / alert as received
};

struct held_done_record {
  std::uint64_t id = 0;
};

// Octets the encoding of each takes (header included).
[[nodiscard]] std::size_t encoded_size(const note_record& r) noexcept;
[[nodiscard]] std::size_t encoded_size(const receipt_record& r) noexcept;
[[nodiscard]] std::size_t encoded_size(const final_record& r) noexcept;
[[nodiscard]] std::size_t encoded_size(const held_record& r) noexcept;
[[nodiscard]] std::size_t encoded_size(const held_done_record& r) noexcept;

// Writes the record at out.data() and returns the octets written, or 0 when out is too small or
// a field is over its bound (an address over max_address_bytes, a PDU over max_held_pdu).
[[nodiscard]] std::size_t encode(const note_record& r, std::span<std::byte> out) noexcept;
[[nodiscard]] std::size_t encode(const receipt_record& r, std::span<std::byte> out) noexcept;
[[nodiscard]] std::size_t encode(const final_record& r, std::span<std::byte> out) noexcept;
[[nodiscard]] std::size_t encode(const held_record& r, std::span<std::byte> out) noexcept;
[[nodiscard]] std::size_t encode(const held_done_record& r, std::span<std::byte> out) noexcept;

// One decoded record: kind says which member is valid; views point into the decoded octets.
struct record_view {
  record_kind kind = record_kind::note;
  std::size_t size = 0;  // octets of the encoding
  note_record note;
  receipt_record receipt;
  final_record final_;
  held_record held;
  held_done_record held_done;
};

// The record at the front of in, or nullopt when in does not start with a whole valid record.
[[nodiscard]] std::optional<record_view> decode(std::span<const std::byte> in) noexcept;

}  // namespace smpp::store
