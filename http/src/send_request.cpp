// Checks every field of a POST /v1/messages body; the first fault found is the answer.
#include "smpp/http/send_request.hpp"

#include "smpp/http/callbacks.hpp"
#include "smpp/http/wap_push.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <ctime>

namespace smpp::http {
namespace {

using json = nlohmann::json;

constexpr std::size_t max_client_ref = 64;
constexpr std::uint32_t max_validity_s = 99u * 86400u;  // DD of the relative time is 2 digits
constexpr std::size_t max_text_octets = 64 * 1024;

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

// The object's string fields named in `keys` into `out` (in order); the first fault.
std::optional<request_error> read_strings(
    const json& obj, const std::string& name,
    std::initializer_list<std::pair<const char*, std::string*>> keys,
    std::initializer_list<const char*> other_keys) {
  for (const auto& [key, value] : obj.items()) {
    bool known = false;
    for (const auto& [k, out] : keys) {
      if (key != k) continue;
      known = true;
      if (!value.is_string()) return fault(name + "." + key, "must be a string");
      *out = value.get<std::string>();
    }
    for (const char* k : other_keys) known |= key == k;
    if (!known) {
      std::string list;
      for (const auto& [k, out] : keys) list += (list.empty() ? "" : ", ") + std::string(k);
      for (const char* k : other_keys) list += ", " + std::string(k);
      return fault(name + "." + key, "unknown field (accepted: " + list + ")");
    }
  }
  return std::nullopt;
}

// "field: reason" from an encoder, as a fault of `name`.field.
request_error push_fault(const std::string& name, const std::string& what) {
  const std::size_t colon = what.find(": ");
  if (colon == std::string::npos) return fault(name, what);
  return fault(name + "." + what.substr(0, colon), what.substr(colon + 2));
}

std::optional<request_error> use_push(const push_result& pdu, const std::string& name,
                                      const request_limits& limits, std::uint8_t ref,
                                      send_request& out) {
  if (const auto* e = std::get_if<std::string>(&pdu)) return push_fault(name, *e);
  build_result built =
      build_binary(std::get<std::vector<std::byte>>(pdu), wap_push_ports, ref, limits.max_parts);
  if (built.error != build_error::none) return fault(name, std::string(to_string(built.error)));
  out.parts = std::move(built.parts);
  return std::nullopt;
}

// A Service Indication when it has a text, else a Service Loading (href and action only).
std::optional<request_error> read_wap_push(const json& w, const request_limits& limits,
                                           std::uint8_t ref, send_request& out) {
  if (!w.is_object()) return fault("wap_push", "must be an object with href");
  if (!w.contains("text")) {
    service_loading sl;
    if (auto e = read_strings(w, "wap_push", {{"href", &sl.href}, {"action", &sl.action}}, {})) {
      return e;
    }
    return use_push(encode_service_loading(sl, ref), "wap_push", limits, ref, out);
  }
  service_indication si;
  if (auto e = read_strings(w, "wap_push",
                            {{"href", &si.href},
                             {"text", &si.text},
                             {"action", &si.action},
                             {"si_id", &si.si_id},
                             {"created", &si.created},
                             {"expires", &si.expires}},
                            {})) {
    return e;
  }
  return use_push(encode_service_indication(si, ref), "wap_push", limits, ref, out);
}

std::optional<request_error> read_mms(const json& m, const request_limits& limits, std::uint8_t ref,
                                      send_request& out) {
  if (!m.is_object()) return fault("mms_notification", "must be an object with location and size");
  mms_notification n;
  std::string message_class;
  if (auto e = read_strings(m, "mms_notification",
                            {{"location", &n.location},
                             {"from", &n.from},
                             {"subject", &n.subject},
                             {"class", &message_class},
                             {"transaction_id", &n.transaction_id}},
                            {"size", "expiry_s"})) {
    return e;
  }
  for (const char* key : {"size", "expiry_s"}) {
    if (!m.contains(key)) continue;
    const json& v = m[key];
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 0xFFFFFFFFu) {
      return fault(std::string("mms_notification.") + key, "must be an integer 0..4294967295");
    }
    (std::string_view(key) == "size" ? n.size : n.expiry_s) = v.get<std::uint32_t>();
  }
  if (message_class.empty() || message_class == "personal") {
    n.message_class = mms_class::personal;
  } else if (message_class == "advertisement") {
    n.message_class = mms_class::advertisement;
  } else if (message_class == "informational") {
    n.message_class = mms_class::informational;
  } else if (message_class == "auto") {
    n.message_class = mms_class::automatic;
  } else {
    return fault("mms_notification.class",
                 "must be personal, advertisement, informational or auto");
  }
  if (n.transaction_id.empty()) n.transaction_id = "smpp-http-" + std::to_string(ref);
  return use_push(encode_mms_notification(n, ref), "mms_notification", limits, ref, out);
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

std::optional<std::int64_t> parse_utc_time(std::string_view text) {
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z') {
    return std::nullopt;
  }
  auto number = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  std::tm tm{};
  tm.tm_year = number(0, 4) - 1900;
  tm.tm_mon = number(5, 2) - 1;
  tm.tm_mday = number(8, 2);
  tm.tm_hour = number(11, 2);
  tm.tm_min = number(14, 2);
  tm.tm_sec = number(17, 2);
  if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_hour < 0 ||
      tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 59) {
    return std::nullopt;
  }
  const std::tm asked = tm;
  const std::time_t t = timegm(&tm);
  if (tm.tm_mday != asked.tm_mday || tm.tm_mon != asked.tm_mon) return std::nullopt;  // Feb 30
  return static_cast<std::int64_t>(t) * 1000;
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
  const json* binary = nullptr;  // or wap_push or mms_notification: octets for a port
  std::string binary_kind;
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
    } else if (key == "binary" || key == "wap_push" || key == "mms_notification") {
      if (binary != nullptr) {
        return fault(key, "only one of text, binary, wap_push and mms_notification is allowed");
      }
      binary = &value;
      binary_kind = key;
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
    } else if (key == "schedule_at") {
      const auto ms =
          value.is_string() ? parse_utc_time(value.get_ref<const std::string&>()) : std::nullopt;
      if (!ms) return fault("schedule_at", "must be a UTC time \"YYYY-MM-DDThh:mm:ssZ\"");
      req.schedule_ms = *ms;
    } else if (key == "dlr_url") {
      if (!value.is_string() || !parse_callback_url(value.get_ref<const std::string&>())) {
        return fault("dlr_url", "must be an http:// or https:// URL of at most 2048 octets");
      }
      req.dlr_url = value.get<std::string>();
    } else {
      return fault(key,
                   "unknown field (accepted: to, from, text, binary, wap_push, mms_notification, "
                   "flash, dlr, dlr_url, client_ref, validity_s, schedule_at)");
    }
  }
  if (req.to.empty()) return fault("to", "is required");
  if ((text == nullptr) == (binary == nullptr)) {
    return fault("text", "exactly one of text, binary, wap_push and mms_notification is required");
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
    std::optional<request_error> e;
    if (binary_kind == "binary") {
      e = read_binary(*binary, limits, ref, req);
    } else if (binary_kind == "wap_push") {
      e = read_wap_push(*binary, limits, ref, req);
    } else {
      e = read_mms(*binary, limits, ref, req);
    }
    if (e) return *e;
  }
  return req;
}

}  // namespace smpp::http
