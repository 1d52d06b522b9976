// The body of POST /v1/campaigns read and checked: a JSON object (the template, the recipients
// as a list or as CSV text, the rate, the window, the sender and receipt options), or CSV text
// with those options as query parameters. Each recipient's text is the template filled from its
// row and built as it will be sent; a row that cannot be sent is a fault with its line, and the
// others are kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "smpp/http/campaign_csv.hpp"
#include "smpp/http/campaign_window.hpp"
#include "smpp/http/send_request.hpp"

namespace smpp::http {

struct campaign_recipient {
  std::size_t line = 0;  // CSV line, or 1-based position in "recipients"
  std::string to;        // digits
  std::string text;      // the template filled
};

struct campaign_spec {
  std::string name;
  std::string text_template;
  bool flash = false;
  std::optional<sme_address> from;  // absent: the client's sender
  std::string from_text;
  bool dlr = true;
  std::string dlr_url;
  std::uint32_t validity_s = 0;
  std::uint32_t rate_per_s = 0;  // recipients handed over per second; 0: as fast as accepted
  std::optional<send_window> window;
  std::vector<campaign_recipient> recipients;
  std::vector<campaign_fault> faults;  // rows left out
};

struct campaign_limits {
  std::size_t max_recipients = 100000;
  std::size_t max_parts = 10;
};

// `csv_body`: the body is CSV and `params` (the query parameters) carry the options under the
// JSON names (window as window_start, window_stop, utc_offset_min); otherwise the body is JSON
// and `params` are ignored. A request error (no template, no row that can be sent, a bad
// option) names its field.
[[nodiscard]] std::variant<campaign_spec, request_error> parse_campaign_request(
    std::string_view body, bool csv_body, const std::map<std::string, std::string>& params,
    const campaign_limits& limits);

}  // namespace smpp::http
