#include "smpp/control/price_builder.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "text_lines.hpp"

namespace smpp::control {
namespace {

using dataplane::huge_array;
using dataplane::no_price;
using dataplane::price_micros;
using dataplane::price_table;

// A parsed line: the prefix's key, its digit count (the empty prefix has key 0 and length 0),
// its price and where it was.
struct parsed_line {
  uint64_t key = 0;
  price_micros price = 0;
  uint32_t line = 0;
};

struct line_result {
  std::optional<parsed_line> value;  // nullopt: skipped, or error set
  std::string error;
};

line_result parse_line(std::string_view line, uint32_t line_no) {
  line_result r;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty() || line.front() == '#') return r;
  const size_t comma = line.find(',');
  if (comma == std::string_view::npos) {
    r.error = "expected PREFIX,PRICE";
    return r;
  }
  std::string_view prefix = line.substr(0, comma);
  if (!prefix.empty() && prefix.front() == '+') prefix.remove_prefix(1);
  const uint64_t key = price_table::key_of(prefix);
  if (prefix.size() > price_table::max_digits || (key == 0 && !prefix.empty())) {
    r.error = "the prefix must be 0..16 digits (an optional '+' first), got \"" +
              std::string(line.substr(0, comma)) + "\"";
    return r;
  }
  const price_micros price = parse_price(line.substr(comma + 1));
  if (price == no_price) {
    r.error =
        "the price must be a decimal 0..4294.967294 with at most 6 digits after the "
        "point, got \"" +
        std::string(line.substr(comma + 1)) + "\"";
    return r;
  }
  r.value = parsed_line{key, price, line_no};
  return r;
}

// The lines of `text` (lines numbered from first_line), in order; the first error stops it.
struct parsed_piece {
  std::vector<parsed_line> entries;
  uint32_t lines = 0;
  uint32_t error_line = 0;
  std::string error;
};

parsed_piece parse_piece(std::string_view text) {
  parsed_piece out;
  out.entries.reserve(text.size() / 10);
  out.lines = detail::for_each_line(text, [&](std::string_view line, uint32_t n) {
    line_result r = parse_line(line, n);
    if (!r.error.empty()) {
      out.error_line = n;
      out.error = std::move(r.error);
      return false;
    }
    if (r.value) out.entries.push_back(*r.value);
    return true;
  });
  return out;
}

std::string where(const std::string& name, uint64_t line) {
  return name + ":" + std::to_string(line) + ": ";
}

std::string duplicate(const std::string& name, const parsed_line& first,
                      const parsed_line& second) {
  const parsed_line& later = first.line < second.line ? second : first;
  const parsed_line& earlier = first.line < second.line ? first : second;
  return where(name, later.line) + "the prefix is listed a second time (first at line " +
         std::to_string(earlier.line) + "); each prefix is listed once";
}

// Parents (price_table.hpp) of sorted, distinct entries: one pass with the chain of the
// entries that are prefixes of the current one.
void set_parents(huge_array<price_table::entry>& e) {
  std::vector<uint32_t> chain;
  for (size_t i = 0; i < e.size(); ++i) {
    while (!chain.empty() && !price_table::starts(e[chain.back()].key, e[i].key)) chain.pop_back();
    e[i].parent = chain.empty() ? price_table::no_parent : chain.back();
    chain.push_back(static_cast<uint32_t>(i));
  }
}

price_build_result finish(huge_array<price_table::entry> entries) {
  price_build_result out;
  out.table = std::make_shared<const price_table>(std::move(entries));
  return out;
}

std::string too_many(uint64_t max_entries) {
  return "more than " + std::to_string(max_entries) + " prefixes in the price list";
}

}  // namespace

price_micros parse_price(std::string_view text) noexcept {
  constexpr unsigned fraction_digits = 6;
  if (text.empty()) return no_price;
  uint64_t units = 0;
  size_t at = 0;
  for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
    units = units * 10 + static_cast<uint64_t>(text[at] - '0');
    if (units > UINT32_MAX) return no_price;
  }
  if (at == 0) return no_price;
  uint64_t micros = units * 1'000'000;
  if (at < text.size()) {
    if (text[at] != '.' || at + 1 == text.size()) return no_price;
    uint64_t scale = 100'000;
    for (++at; at < text.size(); ++at) {
      if (text[at] < '0' || text[at] > '9' || scale == 0) return no_price;
      micros += static_cast<uint64_t>(text[at] - '0') * scale;
      scale /= 10;
    }
  }
  static_assert(fraction_digits == 6);
  return micros >= no_price ? no_price : static_cast<price_micros>(micros);
}

price_build_result build_price_table(const std::string& name, std::string_view text,
                                     const price_build_options& options) {
  price_build_result out;
  // Pieces that start at a line's beginning and end after a '\n' (or at the text's end).
  std::vector<std::string_view> pieces;
  for (size_t at = 0; at < text.size();) {
    size_t end = std::min(text.size(), at + std::max<size_t>(options.chunk_bytes, 1));
    if (end < text.size()) {
      const size_t nl = text.find('\n', end - 1);
      end = nl == std::string_view::npos ? text.size() : nl + 1;
    }
    pieces.push_back(text.substr(at, end - at));
    at = end;
  }
  std::vector<parsed_piece> parsed(pieces.size());
  tbb::parallel_for(size_t{0}, pieces.size(),
                    [&](size_t i) { parsed[i] = parse_piece(pieces[i]); });
  std::vector<size_t> offset(pieces.size() + 1, 0);
  uint32_t lines_before = 0;
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (!parsed[i].error.empty()) {
      out.error = where(name, lines_before + parsed[i].error_line) + parsed[i].error;
      return out;
    }
    for (parsed_line& l : parsed[i].entries) l.line += lines_before;
    lines_before += parsed[i].lines;
    offset[i + 1] = offset[i] + parsed[i].entries.size();
  }
  const size_t n = offset.back();
  if (n > options.max_entries || n > price_table::max_entries) {
    out.error = name + ": " + too_many(options.max_entries);
    return out;
  }
  std::vector<parsed_line> all(n);
  tbb::parallel_for(size_t{0}, parsed.size(), [&](size_t i) {
    std::copy(parsed[i].entries.begin(), parsed[i].entries.end(), all.begin() + offset[i]);
    std::vector<parsed_line>().swap(parsed[i].entries);
  });
  tbb::parallel_sort(all.begin(), all.end(),
                     [](const parsed_line& a, const parsed_line& b) { return a.key < b.key; });
  const size_t dup = tbb::parallel_reduce(
      tbb::blocked_range<size_t>(1, std::max<size_t>(n, 1)), n,
      [&](const tbb::blocked_range<size_t>& r, size_t found) {
        for (size_t i = r.begin(); i != r.end() && i < found; ++i) {
          if (all[i].key == all[i - 1].key) return i;
        }
        return found;
      },
      [](size_t a, size_t b) { return std::min(a, b); });
  if (dup < n) {
    out.error = duplicate(name, all[dup - 1], all[dup]);
    return out;
  }
  huge_array<price_table::entry> entries(n);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, n), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t i = r.begin(); i != r.end(); ++i) {
      entries[i] = price_table::entry{all[i].key, all[i].price, price_table::no_parent};
    }
  });
  set_parents(entries);
  return finish(std::move(entries));
}

price_build_result build_price_table_sequential(const std::string& name, std::string_view text,
                                                const price_build_options& options) {
  price_build_result out;
  std::map<std::string, parsed_line> by_prefix;  // the digits, '+' dropped
  (void)detail::for_each_line(text, [&](std::string_view line, uint32_t n) {
    line_result r = parse_line(line, n);
    if (!r.error.empty()) {
      out.error = where(name, n) + r.error;
      return false;
    }
    if (!r.value) return true;
    std::string digits(line.substr(0, line.find(',')));
    if (!digits.empty() && digits.front() == '+') digits.erase(0, 1);
    const auto [it, fresh] = by_prefix.emplace(digits, *r.value);
    if (!fresh) out.error = duplicate(name, it->second, *r.value);
    return fresh;
  });
  if (!out.error.empty()) return out;
  if (by_prefix.size() > options.max_entries) {
    out.error = name + ": " + too_many(options.max_entries);
    return out;
  }
  // std::map orders digit strings as the keys order prefixes; each entry's parent is its
  // longest proper prefix in the map.
  huge_array<price_table::entry> entries(by_prefix.size());
  std::map<std::string, uint32_t> index;
  uint32_t i = 0;
  for (const auto& [digits, l] : by_prefix) index.emplace(digits, i++);
  i = 0;
  for (const auto& [digits, l] : by_prefix) {
    uint32_t parent = price_table::no_parent;
    for (size_t len = digits.size(); len-- > 0;) {
      if (auto p = index.find(digits.substr(0, len)); p != index.end()) {
        parent = p->second;
        break;
      }
    }
    entries[i++] = price_table::entry{l.key, l.price, parent};
  }
  return finish(std::move(entries));
}

}  // namespace smpp::control
