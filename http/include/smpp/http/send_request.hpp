// POST /v1/messages: the JSON body read into a checked request, or the field at fault and why.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "smpp/http/message_builder.hpp"

namespace smpp::http {

// SMPP 3.4 §5.2.8/§5.2.9: a TON and NPI with the address as the SMSC receives it.
struct sme_address {
  std::uint8_t ton = 0;
  std::uint8_t npi = 0;
  std::string digits;
};

struct send_request {
  std::vector<sme_address> to;
  std::optional<sme_address> from;  // absent: the client's sender
  std::string from_text;            // as the client wrote it, for the sender check
  std::vector<message_part> parts;  // the same for every recipient
  bool dlr = true;
  std::string client_ref;
  std::uint32_t validity_s = 0;  // 0: the SMSC's default
  std::int64_t schedule_ms = 0;  // schedule_at as Unix milliseconds; 0: at once
  std::string dlr_url;           // empty: no callback
};

struct request_error {
  std::string field;
  std::string reason;
};

struct request_limits {
  std::size_t max_recipients = 10000;
  std::size_t max_parts = 10;
};

// `ref` is the concatenation reference for a split message (TS 23.040 §9.2.3.24.1).
[[nodiscard]] std::variant<send_request, request_error> parse_send_request(
    std::string_view body, const request_limits& limits, std::uint8_t ref);

// A recipient: an international number, "+" optional, 1..15 digits (ITU-T E.164): TON 1, NPI 1.
[[nodiscard]] std::optional<sme_address> parse_msisdn(std::string_view text);
// A sender: a number as above, or 1..11 characters of GSM text (TS 23.040 §9.1.2.5
// alphanumeric: TON 5, NPI 0).
[[nodiscard]] std::optional<sme_address> parse_sender(std::string_view text);

// "YYYY-MM-DDThh:mm:ssZ" (RFC 3339, UTC, whole seconds) as Unix milliseconds.
[[nodiscard]] std::optional<std::int64_t> parse_utc_time(std::string_view text);

// SMPP 3.4 §7.1.2 relative time "YYMMDDhhmmss000R" for a validity of `seconds`.
[[nodiscard]] std::string relative_time(std::uint32_t seconds);

}  // namespace smpp::http
