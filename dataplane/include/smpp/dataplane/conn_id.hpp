// The transports' connection handle and its layout, in one place for every transport and for
// the layer above that keys per-connection state by slot.
#pragma once

#include <cstdint>

namespace smpp::dataplane {

// A connection handle: slot index in the low 32 bits, a generation in the high 32 bits, so a
// stale handle of a closed connection never reaches a new one in the same slot. A connection's
// generation is never 0, so no live handle equals invalid_conn.
using conn_id = uint64_t;
inline constexpr conn_id invalid_conn = 0;

[[nodiscard]] constexpr conn_id make_conn_id(uint32_t slot, uint32_t generation) noexcept {
  return (conn_id{generation} << 32) | slot;
}
[[nodiscard]] constexpr uint32_t conn_slot(conn_id c) noexcept {
  return static_cast<uint32_t>(c);
}
[[nodiscard]] constexpr uint32_t conn_generation(conn_id c) noexcept {
  return static_cast<uint32_t>(c >> 32);
}
// The generation a slot gives its next connection: wraps past 0, which would make the handle
// look invalid.
[[nodiscard]] constexpr uint32_t next_conn_generation(uint32_t generation) noexcept {
  return generation == UINT32_MAX ? 1 : generation + 1;
}

}  // namespace smpp::dataplane
