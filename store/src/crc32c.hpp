// CRC-32C (Castagnoli), as iSCSI and ext4 use it, on the SSE 4.2 instruction: the checksum of
// the log engine's groups (log_backend.cpp).
#pragma once

#include <cstdint>
#include <span>

namespace smpp::store::detail {

[[nodiscard]] std::uint32_t crc32c(std::uint32_t crc, std::span<const std::byte> data) noexcept;

}  // namespace smpp::store::detail
