// Random valid PDUs of every type, with random standard and vendor TLVs, for round-trip,
// differential and benchmark corpora. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "smpp/codec/codec.hpp"

namespace smpp::testing {

class pdu_generator {
 public:
  struct options {
    bool tlvs = true;         // add random standard TLVs allowed for the command
    bool vendor_tlvs = true;  // add random unknown TLVs (tags 0x1400..0x3FFF)
    bool smpp50 = true;       // include SMPP 5.0-only commands and TLVs
  };
  explicit pdu_generator(uint64_t seed) : rng_(seed) {}
  pdu_generator(uint64_t seed, options o) : rng_(seed), opt_(o) {}

  // Every command the codec knows.
  static std::span<const codec::command_id> all_commands();

  // One random valid PDU of this command, encoded.
  std::vector<std::byte> make(codec::command_id id);
  // One random valid PDU of a random command.
  std::vector<std::byte> make();

  std::mt19937_64& rng() { return rng_; }

 private:
  std::string rand_string(size_t max_len_with_nul);
  std::string rand_time();
  uint8_t u8() { return static_cast<uint8_t>(rng_()); }
  std::vector<std::byte> rand_tlvs(codec::command_id id, bool has_sm);

  std::mt19937_64 rng_;
  options opt_{};
};

// The hex form of bytes (lowercase, no separators) and back.
std::string to_hex(std::span<const std::byte> b);
std::vector<std::byte> from_hex(std::string_view hex);

}  // namespace smpp::testing
