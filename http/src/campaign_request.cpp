// POST /v1/campaigns bodies: the options checked field by field, the rows from CSV or a JSON
// list, each filled and built as it will be sent.
#include "smpp/http/campaign_request.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "smpp/http/callbacks.hpp"
#include "smpp/http/message_builder.hpp"

namespace smpp::http {
namespace {

using json = nlohmann::json;

constexpr std::uint32_t max_rate_per_s = 100000;
constexpr std::uint32_t max_validity_s = 99u * 86400u;
constexpr std::size_t max_name = 128;
constexpr std::size_t max_template = 64 * 1024;

request_error fault(std::string field, std::string reason) {
  return {std::move(field), std::move(reason)};
}

std::optional<request_error> read_window(const json& w, campaign_spec& out) {
  if (!w.is_object()) return fault("window", "must be an object with start and stop");
  send_window win;
  bool start = false;
  bool stop = false;
  for (const auto& [key, value] : w.items()) {
    if (key == "start" || key == "stop") {
      const auto m =
          value.is_string() ? parse_time_of_day(value.get_ref<const std::string&>()) : std::nullopt;
      if (!m) return fault("window." + key, "must be a time of day \"HH:MM\"");
      (key == "start" ? win.start_min : win.stop_min) = *m;
      (key == "start" ? start : stop) = true;
    } else if (key == "utc_offset_min") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < -840 ||
          value.get<std::int64_t>() > 840) {
        return fault("window.utc_offset_min", "must be an integer -840..840");
      }
      win.utc_offset_min = value.get<int>();
    } else {
      return fault("window." + key, "unknown field (accepted: start, stop, utc_offset_min)");
    }
  }
  if (!start || !stop) return fault("window", "needs both start and stop");
  if (win.start_min == win.stop_min) return fault("window", "start and stop must differ");
  out.window = win;
  return std::nullopt;
}

std::optional<request_error> read_uint(const json& v, const std::string& key, std::uint32_t lo,
                                       std::uint32_t hi, std::uint32_t& out) {
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() < lo || v.get<std::uint64_t>() > hi) {
    return fault(key, "must be an integer " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  out = v.get<std::uint32_t>();
  return std::nullopt;
}

// The options of the envelope into `out`; the CSV text or the recipients list into the others.
std::optional<request_error> read_options(const json& body, campaign_spec& out,
                                          const json*& recipients, const json*& csv) {
  if (!body.is_object()) return fault("body", "must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (key == "template" || key == "text") {
      if (!value.is_string() || value.get_ref<const std::string&>().size() > max_template) {
        return fault(key, "must be a string of at most 65536 octets");
      }
      out.text_template = value.get<std::string>();
    } else if (key == "name") {
      if (!value.is_string() || value.get_ref<const std::string&>().size() > max_name) {
        return fault("name", "must be a string of at most 128 octets");
      }
      out.name = value.get<std::string>();
    } else if (key == "recipients") {
      if (!value.is_array()) return fault("recipients", "must be a list");
      recipients = &value;
    } else if (key == "csv") {
      if (!value.is_string()) return fault("csv", "must be CSV text");
      csv = &value;
    } else if (key == "from") {
      const auto from =
          value.is_string() ? parse_sender(value.get_ref<const std::string&>()) : std::nullopt;
      if (!from) return fault("from", "must be a number or 1..11 letters, digits, space or -._&");
      out.from = from;
      out.from_text = value.get<std::string>();
    } else if (key == "flash" || key == "dlr") {
      if (!value.is_boolean()) return fault(key, "must be true or false");
      (key == "flash" ? out.flash : out.dlr) = value.get<bool>();
    } else if (key == "dlr_url") {
      if (!value.is_string() || !parse_callback_url(value.get_ref<const std::string&>())) {
        return fault("dlr_url", "must be an http:// or https:// URL of at most 2048 octets");
      }
      out.dlr_url = value.get<std::string>();
    } else if (key == "validity_s") {
      if (auto e = read_uint(value, key, 1, max_validity_s, out.validity_s)) return e;
    } else if (key == "rate_per_s") {
      if (auto e = read_uint(value, key, 0, max_rate_per_s, out.rate_per_s)) return e;
    } else if (key == "window") {
      if (auto e = read_window(value, out)) return e;
    } else {
      return fault(key,
                   "unknown field (accepted: template, recipients, csv, name, from, flash, dlr, "
                   "dlr_url, validity_s, rate_per_s, window)");
    }
  }
  if (out.text_template.empty()) return fault("template", "is required");
  return std::nullopt;
}

// The query parameters of a CSV body as the JSON envelope they stand for.
std::variant<json, request_error> params_json(const std::map<std::string, std::string>& params) {
  json j = json::object();
  json window = json::object();
  for (const auto& [key, value] : params) {
    if (key == "rate_per_s" || key == "validity_s" || key == "utc_offset_min") {
      const json n = json::parse(value, nullptr, false);
      if (!n.is_number_integer()) return fault(key, "must be an integer");
      (key == "utc_offset_min" ? window[key] : j[key]) = n;
    } else if (key == "dlr" || key == "flash") {
      if (value != "true" && value != "false") return fault(key, "must be true or false");
      j[key] = value == "true";
    } else if (key == "window_start" || key == "window_stop") {
      window[key.substr(7)] = value;
    } else {
      j[key] = value;
    }
  }
  if (!window.empty()) j["window"] = window;
  return j;
}

// A JSON recipient: a number, or an object with "number" and the template's columns.
std::optional<campaign_row> json_row(const json& item, std::size_t line, std::string& why) {
  campaign_row row;
  row.line = line;
  const json* number = &item;
  if (item.is_object()) {
    for (const auto& [key, value] : item.items()) {
      if (!value.is_string() && !value.is_number()) {
        why = "the column '" + key + "' must be a string or a number";
        return std::nullopt;
      }
      row.columns[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
    const auto it = item.find("number");
    number = it == item.end() ? nullptr : &*it;
  } else if (item.is_string()) {
    row.columns["number"] = item.get<std::string>();  // {number}, as a CSV's first column
  }
  const auto to = number != nullptr && number->is_string()
                      ? parse_msisdn(number->get_ref<const std::string&>())
                      : std::nullopt;
  if (!to) {
    why = "needs a \"number\" of 1..15 digits";
    return std::nullopt;
  }
  row.number = to->digits;
  return row;
}

}  // namespace

std::variant<campaign_spec, request_error> parse_campaign_request(
    std::string_view body, bool csv_body, const std::map<std::string, std::string>& params,
    const campaign_limits& limits) {
  campaign_spec spec;
  json envelope;
  if (csv_body) {
    auto p = params_json(params);
    if (auto* e = std::get_if<request_error>(&p)) return *e;
    envelope = std::move(std::get<json>(p));
  } else {
    envelope = json::parse(body, nullptr, false);
    if (envelope.is_discarded()) return fault("body", "is not JSON");
  }
  const json* recipients = nullptr;
  const json* csv = nullptr;
  if (auto e = read_options(envelope, spec, recipients, csv)) return *e;
  campaign_rows rows;
  if (csv_body) {
    rows = read_campaign_csv(body, limits.max_recipients);
  } else if ((recipients == nullptr) == (csv == nullptr)) {
    return fault("recipients", "exactly one of recipients and csv is required");
  } else if (csv != nullptr) {
    rows = read_campaign_csv(csv->get_ref<const std::string&>(), limits.max_recipients);
  } else {
    for (std::size_t i = 0; i < recipients->size(); ++i) {
      std::string why;
      auto row = json_row((*recipients)[i], i + 1, why);
      if (!row) {
        rows.faults.push_back({i + 1, why});
      } else if (rows.rows.size() >= limits.max_recipients) {
        rows.faults.push_back({i + 1, "beyond " + std::to_string(limits.max_recipients) + " rows"});
      } else {
        rows.rows.push_back(std::move(*row));
      }
    }
  }
  spec.faults = std::move(rows.faults);
  for (const campaign_row& r : rows.rows) {
    campaign_recipient c;
    c.line = r.line;
    c.to = r.number;
    std::string missing;
    if (!fill_template(spec.text_template, r, c.text, missing)) {
      spec.faults.push_back({r.line, "the template names {" + missing + "}, not a column"});
      continue;
    }
    const build_result built = build_text(c.text, spec.flash, 0, limits.max_parts);
    if (built.error != build_error::none) {
      std::string reason = "the text: " + std::string(to_string(built.error));
      if (built.error == build_error::too_long) {
        reason += " (" + std::to_string(limits.max_parts) + ")";
      }
      spec.faults.push_back({r.line, std::move(reason)});
      continue;
    }
    spec.recipients.push_back(std::move(c));
  }
  std::sort(spec.faults.begin(), spec.faults.end(),
            [](const campaign_fault& a, const campaign_fault& b) { return a.line < b.line; });
  if (spec.recipients.empty()) {
    return fault(csv_body || csv != nullptr ? "csv" : "recipients",
                 spec.faults.empty() ? "has no recipient"
                                     : "has no row that can be sent (line " +
                                           std::to_string(spec.faults.front().line) + ": " +
                                           spec.faults.front().reason + ")");
  }
  return spec;
}

}  // namespace smpp::http
