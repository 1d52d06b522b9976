// Byte-span helpers shared by the codec: a comparable view and big-endian loads/stores.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace smpp::codec {

// A read-only view of octets that compares by content (std::span does not).
class bytes_view : public std::span<const std::byte> {
 public:
  using std::span<const std::byte>::span;
  bytes_view() = default;
  bytes_view(std::span<const std::byte> s) noexcept : std::span<const std::byte>(s) {}
  friend bool operator==(const bytes_view& a, const bytes_view& b) noexcept {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
  }
  [[nodiscard]] std::string_view as_chars() const noexcept {
    return {reinterpret_cast<const char*>(data()), size()};
  }
};

[[nodiscard]] inline bytes_view as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

[[nodiscard]] inline uint16_t load_be16(const std::byte* p) noexcept {
  return static_cast<uint16_t>((std::to_integer<uint16_t>(p[0]) << 8) |
                               std::to_integer<uint16_t>(p[1]));
}
[[nodiscard]] inline uint32_t load_be32(const std::byte* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline void store_be16(std::byte* p, uint16_t v) noexcept {
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v);
}
inline void store_be32(std::byte* p, uint32_t v) noexcept {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}

}  // namespace smpp::codec
