// Checks every field of a POST /v1/messages body; the first fault found is the answer.
#include "smpp/http/send_request.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>

namespace smpp::http {
namespace {

using json = nlohmann::json;

constexpr std::size_t max_client_ref = 64;
constexpr std::uint32_t max_validity_s = 99u * 86400u;  // DD of the relative time is 2 digits
constexpr std::size_t max_text_octets = 64 * 1024;

// Fields of the contract not built yet are refused by name rather than ignored.
constexpr std::array<std::string_view, 4> not_yet_supported = {"wap_push", "mms_notification",
                                                               "dlr_url", "schedule_at"};

request_error fault(std::string field, std::string reason) {
  return {std::move(field), std::move(reason)};
}

std::optional<std::vector<std::byte>> parse_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<std::byte> out;
  out.reserve(hex.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<std::byte>(hi * 16 + lo));
  }
  return out;
}

std::optional<std::uint16_t> port_of(const json& j) {
  if (!j.is_number_unsigned()) return std::nullopt;
  const auto v = j.get<std::uint64_t>();
  if (v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::optional<request_error> read_binary(const json& b, const request_limits& limits,
                                         std::uint8_t ref, send_request& out) {
  if (!b.is_object()) return fault("binary", "must be an object with hex and optional ports");
  std::optional<port_pair> ports;
  const json* hex = nullptr;
  for (const auto& [key, value] : b.items()) {
    if (key == "hex") {
      hex = &value;
    } else if (key == "source_port" || key == "destination_port") {
      const auto port = port_of(value);
      if (!port) return fault("binary." + key, "must be an integer 0..65535");
      if (!ports) ports = port_pair{};
      (key == "source_port" ? ports->source_port : ports->destination_port) = *port;
    } else {
      return fault("binary." + key, "unknown field (accepted: hex, source_port, destination_port)");
    }
  }
  if (hex == nullptr || !hex->is_string()) return fault("binary.hex", "must be a hex string");
  const auto data = parse_hex(hex->get_ref<const std::string&>());
  if (!data) return fault("binary.hex", "must be an even number of hex digits");
  build_result built = build_binary(*data, ports, ref, limits.max_parts);
  if (built.error != build_error::none) {
    return fault("binary.hex", std::string(to_string(built.error)));
  }
  out.parts = std::move(built.parts);
  return std::nullopt;
}

}  // namespace

std::optional<sme_address> parse_msisdn(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.size() > 15) return std::nullopt;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return sme_address{1, 1, std::string(text)};
}

std::optional<sme_address> parse_sender(std::string_view text) {
  if (auto number = parse_msisdn(text)) return number;
  if (text.empty() || text.size() > 11) return std::nullopt;
  for (const char c : text) {
    // Printable ASCII that the GSM default alphabet holds one septet each (TS 23.038 §6.2.1).
    const bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    c == ' ' || c == '-' || c == '.' || c == '_' || c == '&';
    if (!ok) return std::nullopt;
  }
  return sme_address{5, 0, std::string(text)};
}

std::string relative_time(std::uint32_t seconds) {
  const std::uint32_t days = seconds / 86400;
  const std::uint32_t hours = seconds / 3600 % 24;
  const std::uint32_t minutes = seconds / 60 % 60;
  char buf[17];
  std::snprintf(buf, sizeof buf, "0000%02u%02u%02u%02u000R", days % 100, hours, minutes,
                seconds % 60);
  return buf;
}

std::variant<send_request, request_error> parse_send_request(std::string_view body,
                                                             const request_limits& limits,
                                                             std::uint8_t ref) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return fault("body", "is not valid JSON");
  if (!doc.is_object()) return fault("body", "must be a JSON object");

  send_request req;
  const json* text = nullptr;
  const json* binary = nullptr;
  bool flash = false;
  for (const auto& [key, value] : doc.items()) {
    if (key == "to") {
      if (value.is_string()) {
        const auto a = parse_msisdn(value.get_ref<const std::string&>());
        if (!a) return fault("to", "must be a number of 1..15 digits, optionally after '+'");
        req.to.push_back(*a);
      } else if (value.is_array()) {
        if (value.empty()) return fault("to", "must not be an empty list");
        if (value.size() > limits.max_recipients) {
          return fault("to", "lists at most " + std::to_string(limits.max_recipients) +
                                 " recipients (got " + std::to_string(value.size()) + ")");
        }
        req.to.reserve(value.size());
        for (std::size_t i = 0; i < value.size(); ++i) {
          const auto a = value[i].is_string() ? parse_msisdn(value[i].get_ref<const std::string&>())
                                              : std::nullopt;
          if (!a) {
            return fault("to[" + std::to_string(i) + "]",
                         "must be a number of 1..15 digits, optionally after '+'");
          }
          req.to.push_back(*a);
        }
      } else {
        return fault("to", "must be a number string or a list of them");
      }
    } else if (key == "from") {
      const auto a =
          value.is_string() ? parse_sender(value.get_ref<const std::string&>()) : std::nullopt;
      if (!a) return fault("from", "must be a number or 1..11 letters, digits, space or -._&");
      req.from = *a;
      req.from_text = value.get<std::string>();
    } else if (key == "text") {
      if (!value.is_string()) return fault("text", "must be a string");
      text = &value;
    } else if (key == "binary") {
      binary = &value;
    } else if (key == "flash") {
      if (!value.is_boolean()) return fault("flash", "must be true or false");
      flash = value.get<bool>();
    } else if (key == "dlr") {
      if (!value.is_boolean()) return fault("dlr", "must be true or false");
      req.dlr = value.get<bool>();
    } else if (key == "client_ref") {
      if (!value.is_string() || value.get_ref<const std::string&>().size() > max_client_ref) {
        return fault("client_ref", "must be a string of at most 64 octets");
      }
      req.client_ref = value.get<std::string>();
    } else if (key == "validity_s") {
      if (!value.is_number_unsigned() || value.get<std::uint64_t>() < 1 ||
          value.get<std::uint64_t>() > max_validity_s) {
        return fault("validity_s", "must be an integer 1..8553600 (99 days)");
      }
      req.validity_s = value.get<std::uint32_t>();
    } else if (std::find(not_yet_supported.begin(), not_yet_supported.end(), key) !=
               not_yet_supported.end()) {
      return fault(key, "is not supported by this version yet");
    } else {
      return fault(key,
                   "unknown field (accepted: to, from, text, binary, flash, dlr, client_ref, "
                   "validity_s)");
    }
  }
  if (req.to.empty()) return fault("to", "is required");
  if ((text == nullptr) == (binary == nullptr)) {
    return fault("text", "exactly one of text and binary is required");
  }
  if (text != nullptr) {
    const auto& s = text->get_ref<const std::string&>();
    if (s.size() > max_text_octets) return fault("text", "is longer than 65536 octets");
    build_result built = build_text(s, flash, ref, limits.max_parts);
    if (built.error != build_error::none) {
      std::string reason(to_string(built.error));
      if (built.error == build_error::too_long) {
        reason += " (" + std::to_string(limits.max_parts) + ")";
      }
      return fault("text", reason);
    }
    req.parts = std::move(built.parts);
  } else {
    if (flash) return fault("flash", "applies to text only");
    if (auto e = read_binary(*binary, limits, ref, req)) return *e;
  }
  return req;
}

}  // namespace smpp::http
