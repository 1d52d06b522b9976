// Builds an upstream's price list (dataplane/price_table.hpp) in the control plane: from a
// `PREFIX,PRICE` file in parallel with oneTBB (the parse split at line boundaries,
// parallel_sort, duplicates found in parallel), and a sequential reference build by the plainest
// means that must produce the same table (the property test).
//
// File format (config/README.md, [[upstreams]] price_list): one `PREFIX,PRICE` per line, the
// prefix 0..16 digits (an optional '+' is ignored; an empty prefix prices every destination),
// the price a non-negative decimal with at most 6 digits after the point, below 4294.967295;
// blank lines and lines starting with '#' are skipped, a trailing '\r' is ignored. Each prefix is
// listed once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "smpp/dataplane/price_table.hpp"

namespace smpp::control {

struct price_build_options {
  uint64_t max_entries = 50'000'000;     // prefixes in one list, then the build fails
  size_t chunk_bytes = size_t{1} << 20;  // the parallel parse's unit of work
};

struct price_build_result {
  std::shared_ptr<const dataplane::price_table> table;  // nullptr when error is set
  std::string error;                                    // "NAME:LINE: what" (or "NAME: what")
  [[nodiscard]] bool ok() const noexcept { return table != nullptr; }
};

// "0.0123" -> 12300; nullopt-like no_price when it is not a price of the format above.
[[nodiscard]] dataplane::price_micros parse_price(std::string_view text) noexcept;

// The full build, in parallel on oneTBB's threads (tbb::global_control limits them). `name`
// starts the errors' text.
[[nodiscard]] price_build_result build_price_table(const std::string& name, std::string_view text,
                                                   const price_build_options& options = {});
// The same table, built on one thread through a std::map: the reference of the property test.
[[nodiscard]] price_build_result build_price_table_sequential(
    const std::string& name, std::string_view text, const price_build_options& options = {});

}  // namespace smpp::control
