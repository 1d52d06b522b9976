// submit_multi requests split over several routes (SMPP 3.4 §4.5), waiting for the answers of
// their parts: one entry per ESME request on the ESME's worker, bounded; the ESME is answered
// once, when its last part is, with one submit_multi_resp (request_router, submit_multi.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smpp/dataplane/conn_id.hpp"

namespace smpp::dataplane::router {

// SMPP 3.4 §5.1.1: an ESME's sequence numbers are 0x00000001..0x7FFFFFFF. A part of a split
// submit_multi carries, as its esme_seq, this bit, its entry and its part: never an ESME's own.
inline constexpr uint32_t multi_part_bit = 0x8000'0000U;
[[nodiscard]] constexpr bool is_multi_part(uint32_t esme_seq) noexcept {
  return (esme_seq & multi_part_bit) != 0;
}
[[nodiscard]] constexpr uint32_t multi_part_seq(uint32_t entry, uint32_t part) noexcept {
  return multi_part_bit | entry << 8 | part;
}
[[nodiscard]] constexpr uint32_t multi_entry_of(uint32_t esme_seq) noexcept {
  return (esme_seq & ~multi_part_bit) >> 8;
}
[[nodiscard]] constexpr uint32_t multi_part_of(uint32_t esme_seq) noexcept {
  return esme_seq & 0xFF;
}

class multi_table {
 public:
  // Requests split at once per worker; beyond, a split submit_multi is answered ESME_RTHROTTLED.
  static constexpr uint32_t capacity = 4096;
  // SMPP 3.4 §4.5.1: number_of_dests is at most 254 (one part per destination at most).
  static constexpr uint32_t max_destinations = 254;
  static constexpr uint16_t no_part = 0xFFFF;

  struct destination {
    uint8_t ton = 0;
    uint8_t npi = 0;
    std::string addr;
    uint16_t part = no_part;  // no_part: refused before any part was sent
    uint32_t status = 0;      // its error_status_code once refused (SMPP 3.4 §4.5.2)
  };
  struct entry {
    bool used = false;
    uint32_t origin = 0;  // this worker
    conn_id esme = invalid_conn;
    uint32_t esme_seq = 0;
    uint32_t tenant = 0;
    uint32_t parts_left = 0;
    uint16_t id_part = no_part;  // the part whose message_id the ESME gets: the lowest accepted
    std::string message_id;
    std::vector<destination> dests;  // in the request's order
  };

  // A free entry's index, or nothing when `capacity` are in use.
  [[nodiscard]] std::optional<uint32_t> open() {
    if (free_.empty()) {
      if (entries_.size() >= capacity) return std::nullopt;
      free_.push_back(static_cast<uint32_t>(entries_.size()));
      entries_.emplace_back();
    }
    const uint32_t i = free_.back();
    free_.pop_back();
    entries_[i].used = true;
    ++used_;
    return i;
  }
  // The entry at i, or nullptr when it is not in use.
  [[nodiscard]] entry* find(uint32_t i) noexcept {
    return i < entries_.size() && entries_[i].used ? &entries_[i] : nullptr;
  }
  void close(uint32_t i) {
    entry& e = entries_[i];
    e.used = false;
    e.parts_left = 0;
    e.id_part = no_part;
    e.message_id.clear();
    e.dests.clear();  // keeps its capacity for the next request
    free_.push_back(i);
    --used_;
  }
  [[nodiscard]] uint32_t used() const noexcept { return used_; }

 private:
  std::vector<entry> entries_;
  std::vector<uint32_t> free_;
  uint32_t used_ = 0;
};

}  // namespace smpp::dataplane::router
