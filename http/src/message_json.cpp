// Messages rendered as JSON by hand: one allocation-light pass, fields in a fixed order.
#include "smpp/http/message_json.hpp"

#include <cstdio>
#include <ctime>

#include "smpp/codec/receipt.hpp"
#include "smpp/codec/status.hpp"

namespace smpp::http {

std::string iso_time(std::int64_t ms) {
  const std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string message_json(const message_view& v) {
  std::string body = "{\"id\":\"" + std::to_string(v.id) + "\",\"to\":\"" + v.to + "\",\"from\":";
  append_json_string(body, v.from);
  body += ",\"state\":\"" + std::string(to_string(v.state)) + "\"";
  if (v.state == message_state::rejected) {
    const auto status = static_cast<codec::command_status>(v.smpp_status);
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", v.smpp_status);
    body += ",\"smpp_status\":\"" + std::string(hex) + "\",\"smpp_status_name\":\"" +
            std::string(codec::status_name(status)) + "\"";
  }
  if (v.receipt_stat != 0) {
    body +=
        ",\"receipt_stat\":\"" +
        std::string(codec::stat_abbreviation(static_cast<codec::message_state>(v.receipt_stat))) +
        "\"";
  }
  if (!v.client_ref.empty()) {
    body += ",\"client_ref\":";
    append_json_string(body, v.client_ref);
  }
  body += ",\"parts\":" + std::to_string(v.parts) +
          ",\"parts_submitted\":" + std::to_string(v.parts_submitted) +
          ",\"parts_accepted\":" + std::to_string(v.parts_accepted) +
          ",\"parts_delivered\":" + std::to_string(v.parts_delivered);
  body += ",\"created_at\":\"" + iso_time(v.created_ms) + "\"";
  if (v.scheduled_ms != 0) body += ",\"scheduled_at\":\"" + iso_time(v.scheduled_ms) + "\"";
  const std::pair<const char*, std::int64_t> times[] = {
      {"submitted_at", v.submitted_ms}, {"accepted_at", v.accepted_ms}, {"done_at", v.done_ms}};
  for (const auto& [name, ms] : times) {
    if (ms != 0) body += ",\"" + std::string(name) + "\":\"" + iso_time(ms) + "\"";
  }
  body += "}\n";
  return body;
}

}  // namespace smpp::http
