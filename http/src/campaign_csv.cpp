// CSV of a campaign, read field by field (RFC 4180), and its template.
#include "smpp/http/campaign_csv.hpp"

#include "smpp/http/send_request.hpp"

namespace smpp::http {
namespace {

// One record from `at`; false at a quote left open. Lines end with \n or \r\n.
bool next_record(std::string_view csv, std::size_t& at, std::size_t& line,
                 std::vector<std::string>& fields) {
  fields.assign(1, std::string());
  bool quoted = false;
  while (at < csv.size()) {
    const char c = csv[at++];
    if (quoted) {
      if (c == '"' && at < csv.size() && csv[at] == '"') {
        fields.back() += '"';
        ++at;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        fields.back() += c;
      }
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      ++line;
      return true;
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return !quoted;
}

}  // namespace

campaign_rows read_campaign_csv(std::string_view csv, std::size_t max_rows) {
  campaign_rows out;
  std::size_t at = 0;
  std::size_t line = 1;
  std::vector<std::string> header;
  if (!next_record(csv, at, line, header) || header.empty() || header[0].empty()) {
    out.faults.push_back({1, "the first line must name the columns, the number first"});
    return out;
  }
  std::vector<std::string> fields;
  while (at < csv.size()) {
    const std::size_t first_line = line;
    if (!next_record(csv, at, line, fields)) {
      out.faults.push_back({first_line, "a quoted field is not closed"});
      break;
    }
    if (fields.size() == 1 && fields[0].empty()) continue;  // an empty line
    if (fields.size() != header.size()) {
      out.faults.push_back({first_line, std::to_string(fields.size()) + " fields, the header has " +
                                            std::to_string(header.size())});
      continue;
    }
    const auto number = parse_msisdn(fields[0]);
    if (!number) {
      out.faults.push_back({first_line, "'" + fields[0] + "' is not a number (1..15 digits)"});
      continue;
    }
    if (out.rows.size() >= max_rows) {
      out.faults.push_back({first_line, "beyond " + std::to_string(max_rows) + " rows"});
      continue;
    }
    campaign_row& r = out.rows.emplace_back();
    r.line = first_line;
    r.number = number->digits;
    for (std::size_t i = 0; i < header.size(); ++i) r.columns[header[i]] = fields[i];
  }
  return out;
}

bool fill_template(std::string_view text, const campaign_row& row, std::string& out,
                   std::string& missing) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    const std::size_t close = c == '{' ? text.find('}', i) : std::string_view::npos;
    if (close == std::string_view::npos) {
      out += c;
      continue;
    }
    const std::string name(text.substr(i + 1, close - i - 1));
    const auto it = row.columns.find(name);
    if (it == row.columns.end()) {
      missing = name;
      return false;
    }
    out += it->second;
    i = close;
  }
  return true;
}

}  // namespace smpp::http
