// The engines a store shard can run on (backend.hpp), chosen by measurement (store/README.md):
//   log      our own append-only segment log, with its index in memory (log_backend.cpp)
//   rocksdb  RocksDB from Debian: a write batch per group, time-bucketed column families
//   lmdb     LMDB from Debian: one write transaction per group, a B+tree per kind
// Under sync_policy::off every engine is the memory-only backend: nothing is written, recover
// replays nothing, lookups answer nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "smpp/store/backend.hpp"

namespace smpp::store {

enum class engine : std::uint8_t { log, rocksdb, lmdb };
[[nodiscard]] std::string_view to_string(engine e) noexcept;
[[nodiscard]] std::optional<engine> parse_engine(std::string_view text) noexcept;

// The engine the router runs on unless configured otherwise (store/README.md: why).
inline constexpr engine default_engine = engine::lmdb;

// Opens (creating it and its directories when missing) the shard at config.path. Throws
// store_error naming the path and the system's or the engine's reason.
[[nodiscard]] std::unique_ptr<backend> open_backend(engine e, const store_config& config);

}  // namespace smpp::store
