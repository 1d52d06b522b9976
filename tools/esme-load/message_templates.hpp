// Pre-encoded submit_sm PDUs for esme-load. Built once at start; sending a message copies its
// parts into the transport's send queue and patches the few octets that change per message
// (sequence_number, the destination's last digits, the concatenation reference).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/codec/bytes.hpp"

namespace smpp::esme_load {

enum class message_kind : uint8_t { gsm, ucs2, concat };
inline constexpr size_t message_kind_count = 3;
[[nodiscard]] std::string_view kind_name(message_kind k) noexcept;

// Share of each kind in the traffic, as relative weights.
using message_mix = std::array<uint32_t, message_kind_count>;

// Parses "gsm:70,ucs2:20,concat:10" (any order, any subset, weights 0..10000, not all 0).
// Returns an error message, empty on success.
[[nodiscard]] std::string parse_mix(std::string_view text, message_mix& out);

// Number of varying decimal digits at the end of every destination_addr.
inline constexpr size_t destination_digits = 8;

struct pdu_template {
  std::vector<std::byte> octets;     // one whole submit_sm, sequence_number 0
  size_t destination_digits_at = 0;  // offset of the varying destination digits
  size_t ref_at = 0;                 // offset of the UDH reference octet; 0 = none
};

struct message_template {
  message_kind kind = message_kind::gsm;
  std::vector<pdu_template> parts;  // 1 part, or the parts of a concatenated message
  size_t octets = 0;                // all parts together
};

struct template_options {
  bool registered_delivery = false;       // SMPP 3.4 §5.2.17: ask for a receipt (value 1)
  std::string source_addr = "esme-load";  // alphanumeric (TON 5), 1..11 letters and digits
};

// The three message templates, indexed by message_kind.
[[nodiscard]] std::array<message_template, message_kind_count> build_templates(
    const template_options& options);

// A fixed, evenly interleaved sequence of kinds with the mix's proportions (smooth weighted
// round-robin), so every window of traffic has about the right mix without a random draw.
[[nodiscard]] std::vector<message_kind> build_schedule(const message_mix& mix);

// A template's octets (tens to a few hundred): 16-octet loads and stores, the last one
// overlapping, instead of a libc call per message.
inline void copy_octets(std::byte* d, const std::byte* s, size_t n) noexcept {
  if (n < 16) {
    std::memcpy(d, s, n);
    return;
  }
  for (size_t i = 0; i + 16 < n; i += 16) {
    uint64_t w[2];
    std::memcpy(w, s + i, 16);
    std::memcpy(d + i, w, 16);
  }
  uint64_t w[2];
  std::memcpy(w, s + n - 16, 16);
  std::memcpy(d + n - 16, w, 16);
}

// The varying destination digits, counted in decimal in place: no division per message.
struct destination_counter {
  std::array<char, destination_digits> digits{};
  explicit destination_counter(uint64_t start = 0) noexcept {
    for (size_t i = destination_digits; i-- > 0;) {
      digits[i] = static_cast<char>('0' + start % 10);
      start /= 10;
    }
  }
  // The next destination; after all nines it wraps to all zeros.
  void next() noexcept {
    for (size_t i = destination_digits; i-- > 0;) {
      if (digits[i] != '9') {
        ++digits[i];
        return;
      }
      digits[i] = '0';
    }
  }
};

// Writes the message's parts into out (which must hold tmpl.octets): sequence numbers from
// seq_of(part index), the destination digits and the concatenation reference patched in.
template <typename SeqOf>
size_t write_message(const message_template& tmpl, std::span<std::byte> out,
                     const destination_counter& destination, uint8_t ref, SeqOf&& seq_of) noexcept {
  std::byte* p = out.data();
  for (size_t i = 0; i < tmpl.parts.size(); ++i) {
    const pdu_template& part = tmpl.parts[i];
    copy_octets(p, part.octets.data(), part.octets.size());
    codec::store_be32(p + 12, seq_of(i));
    std::memcpy(p + part.destination_digits_at, destination.digits.data(), destination_digits);
    if (part.ref_at != 0) p[part.ref_at] = static_cast<std::byte>(ref);
    p += part.octets.size();
  }
  return static_cast<size_t>(p - out.data());
}

}  // namespace smpp::esme_load
