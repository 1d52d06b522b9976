#include "crc32c.hpp"

#include <nmmintrin.h>

#include <cstring>

namespace smpp::store::detail {

// x86-64-v2 (the project's baseline, CMakePresets.json) has SSE 4.2; the attribute keeps this
// file building under a preset that does not say so.
__attribute__((target("sse4.2"))) std::uint32_t crc32c(std::uint32_t crc,
                                                       std::span<const std::byte> data) noexcept {
  std::uint64_t c = ~crc;
  const std::byte* p = data.data();
  std::size_t n = data.size();
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, static_cast<std::uint8_t>(*p));
  return ~c32;
}

}  // namespace smpp::store::detail
