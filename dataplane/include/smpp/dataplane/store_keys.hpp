// The key under which the store keeps a correlation entry. The store keeps one entry per
// (id, upstream), as the correlation table does (two upstreams may issue the same id): the
// upstream goes into bits 32..47 of the key's high word, above a number's (0) and below a text
// id's marker bit, so the store key of one upstream's entry is never another's.
#pragma once

#include <cstdint>

#include "smpp/dataplane/correlation.hpp"
#include "smpp/store/record.hpp"

namespace smpp::dataplane {

[[nodiscard]] constexpr std::uint64_t store_upstream_mark(std::uint32_t upstream) noexcept {
  return (static_cast<std::uint64_t>(upstream) + 1) << 32;
}

[[nodiscard]] constexpr store::message_key store_key(const correlation_key& k,
                                                     std::uint32_t upstream) noexcept {
  return {k.lo, k.hi ^ store_upstream_mark(upstream)};
}

[[nodiscard]] constexpr correlation_key table_key(const store::message_key& k,
                                                  std::uint32_t upstream) noexcept {
  return {k.lo, k.hi ^ store_upstream_mark(upstream)};
}

}  // namespace smpp::dataplane
