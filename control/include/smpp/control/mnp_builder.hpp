// Builds the number portability index (dataplane/mnp_index.hpp) in the control plane: from
// `MSISDN,NETWORK` files in parallel with oneTBB (parse split at line boundaries, parallel_sort,
// the directory filled in parallel), a sequential reference build that must produce the same
// index, and the live deltas applied to a built index as a new index.
//
// File format (config/README.md, [[number_portability]]): one `MSISDN,NETWORK` per line, the
// MSISDN 1..15 digits without a leading zero (an optional '+' is ignored), NETWORK the name of a
// [[networks]] entry; blank lines and lines starting with '#' are skipped, a trailing '\r' is
// ignored. A full file lists each number once. A delta file has the same lines, each setting the
// number's network, and `MSISDN,-` removes the number from the table (it goes back to its
// prefix's home network); within the deltas the last line for a number wins.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "smpp/dataplane/mnp_index.hpp"

namespace smpp::control {

// One file's contents and the name its errors carry.
struct mnp_text {
  std::string name;
  std::string_view text;
};

struct network_name_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
// Network name -> id (its index in router_snapshot::networks).
using network_ids = std::unordered_map<std::string, uint16_t, network_name_hash, std::equal_to<>>;

struct mnp_build_options {
  // Numbers in the index, then the build fails ("more than N numbers").
  uint64_t max_entries = dataplane::mnp_index::max_entries;
  size_t chunk_bytes = size_t{4} << 20;  // the parallel parse's unit of work
};

struct mnp_build_result {
  std::shared_ptr<const dataplane::mnp_index> index;  // nullptr when error is set
  std::string error;                                  // "FILE:LINE: what" (or "FILE: what")
  uint64_t changes = 0;                               // deltas: numbers set or removed
  uint64_t removals_absent = 0;  // deltas: removals of numbers that were not in the table
  [[nodiscard]] bool ok() const noexcept { return index != nullptr; }
};

// The full build, in parallel on oneTBB's threads (tbb::global_control limits them).
[[nodiscard]] mnp_build_result build_mnp_index(std::span<const mnp_text> files,
                                               const network_ids& networks,
                                               const mnp_build_options& options = {});
// The same index, built on one thread by the plainest means: the reference of the property test.
[[nodiscard]] mnp_build_result build_mnp_index_sequential(std::span<const mnp_text> files,
                                                          const network_ids& networks,
                                                          const mnp_build_options& options = {});
// `base` with the delta files applied in order, as a new index (base is left as it is).
[[nodiscard]] mnp_build_result apply_mnp_deltas(const dataplane::mnp_index& base,
                                                std::span<const mnp_text> deltas,
                                                const network_ids& networks,
                                                const mnp_build_options& options = {});

}  // namespace smpp::control
