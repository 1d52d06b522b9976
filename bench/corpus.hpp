// A deterministic, realistic mix of SMPP traffic for the codec benchmarks.
//
// The corpus models a router in steady state: ESMEs submit OTPs, alerts, notifications and
// marketing (GSM 7-bit, UCS-2, concatenated by UDH or by SAR TLVs), the router answers with
// submit_sm_resp, and delivery receipts (SMPP 3.4 Appendix B text plus receipted_message_id /
// message_state TLVs) flow back as deliver_sm with their deliver_sm_resp; a little MO traffic,
// data_sm, enquire_link and binds complete it. Every PDU is valid SMPP 3.4, so libsmpp34 can
// decode the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "smpp/codec/bytes.hpp"

namespace smpp::bench {

struct corpus_options {
  uint64_t seed = 0x5eed'5a1e'2024'1114ULL;
  size_t messages = 1200;  // end-user messages; each yields 2..16 PDUs
};

// Move-only: pdus point into bytes.
struct corpus {
  corpus() = default;
  corpus(corpus&&) = default;
  corpus& operator=(corpus&&) = default;
  corpus(const corpus&) = delete;
  corpus& operator=(const corpus&) = delete;

  std::vector<std::byte> bytes;          // every PDU back to back, in stream order
  std::vector<codec::bytes_view> pdus;   // one whole PDU each, pointing into bytes
  size_t distinct = 0;                   // PDUs that differ from every other one
  std::vector<std::string> composition;  // "submit_sm GSM 7-bit   717  11.4%", largest first
};

// Same options, same bytes: mt19937_64 is fully specified and only its raw output is used.
[[nodiscard]] corpus make_corpus(const corpus_options& options = {});

}  // namespace smpp::bench
