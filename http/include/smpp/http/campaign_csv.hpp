// A campaign's recipients from CSV (RFC 4180: a header line naming the columns, the first being
// the number; quoted fields with "" for a quote) and the `{column}` template filled per row.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace smpp::http {

struct campaign_row {
  std::size_t line = 0;  // in the file, 1-based
  std::string number;
  std::map<std::string, std::string> columns;  // by header name, the number's column included
};

struct campaign_fault {
  std::size_t line = 0;
  std::string reason;
};

struct campaign_rows {
  std::vector<campaign_row> rows;
  std::vector<campaign_fault> faults;  // rows left out, with why
};

// Reads `csv`; at most `max_rows` rows are kept (the others are faults).
[[nodiscard]] campaign_rows read_campaign_csv(std::string_view csv, std::size_t max_rows);

// `text` with each {column} replaced by the row's value; false (and `missing` set) when a
// column is not in the row. "{{" and "}}" stand for a brace.
[[nodiscard]] bool fill_template(std::string_view text, const campaign_row& row, std::string& out,
                                 std::string& missing);

}  // namespace smpp::http
