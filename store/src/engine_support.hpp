// What the engines share (internal to smpp::store): the wall clock, errors that name the path,
// keys as big-endian octets (so that an engine's byte order is the keys' order), and the
// status a lookup answers, built from a note and the receipts and final that follow it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "smpp/store/backend.hpp"
#include "smpp/store/record.hpp"

namespace smpp::store::detail {

// Wall clock, ms since the Unix epoch: the records' times are on it.
[[nodiscard]] std::uint64_t now_ms() noexcept;

// "store <path>: <what>: <strerror(err)>".
[[noreturn]] void throw_system(const std::filesystem::path& path, std::string_view what, int err);
[[noreturn]] void throw_store(const std::filesystem::path& path, std::string_view what);

// Creates the shard's directory and checks it takes a write of 64 KiB, so that an unwritable or
// full directory fails the open with a clear error (RocksDB aborts on some write errors during
// its own open, rather than returning them).
void prepare_directory(const std::filesystem::path& path);

inline constexpr std::size_t key_bytes = 16;
using key_octets = std::array<std::byte, key_bytes>;
[[nodiscard]] key_octets key_to_octets(const message_key& k) noexcept;  // hi then lo, big-endian
[[nodiscard]] message_key key_from_octets(const std::byte* p) noexcept;
void put_be64(std::byte* out, std::uint64_t v) noexcept;
[[nodiscard]] std::uint64_t get_be64(const std::byte* p) noexcept;
void put_be16(std::byte* out, std::uint16_t v) noexcept;

// A group's records, each checked before anything is written: throws store_error naming the
// path when an octet of it is not a whole valid record.
template <typename F>
void for_each_record(const std::filesystem::path& path, std::span<const std::byte> group, F&& f) {
  while (!group.empty()) {
    const auto v = decode(group);
    if (!v) throw_store(path, "append: the group holds an invalid record");
    f(*v);
    group = group.subspan(v->size);
  }
}
void check_group(const std::filesystem::path& path, std::span<const std::byte> group);

// The status of a noted message and the receipts after it.
[[nodiscard]] message_status status_of(const note_record& note);
// A receipt updates the state when it carries one; delivered stays once set.
void apply(message_status& s, const receipt_record& r) noexcept;

// Whether a lookup still answers for a note: younger than ttl_ms, and when finished, finished
// less than keep_final_ms ago.
[[nodiscard]] bool answerable(const store_config& c, std::uint64_t submit_ms, bool final_,
                              std::uint64_t final_ms, std::uint64_t now) noexcept;
[[nodiscard]] bool expired(const store_config& c, std::uint64_t submit_ms,
                           std::uint64_t now) noexcept;

// What every engine counts (backend_stats), written by the journal's thread, read by any.
struct stats_counters {
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> records{0};
  std::atomic<std::uint64_t> groups{0};
  std::atomic<std::uint64_t> evicted{0};
  std::atomic<std::uint64_t> expired{0};
  [[nodiscard]] backend_stats snapshot() const noexcept {
    backend_stats s;
    s.bytes_on_disk = bytes.load(std::memory_order_relaxed);
    s.records_appended = records.load(std::memory_order_relaxed);
    s.groups_appended = groups.load(std::memory_order_relaxed);
    s.evicted = evicted.load(std::memory_order_relaxed);
    s.expired = expired.load(std::memory_order_relaxed);
    return s;
  }
  void count_gone(bool was_expired) noexcept {
    (was_expired ? expired : evicted).fetch_add(1, std::memory_order_relaxed);
  }
};

// The engines (engines.cpp dispatches).
[[nodiscard]] std::unique_ptr<backend> make_memory_only_backend();
[[nodiscard]] std::unique_ptr<backend> make_log_backend(const store_config& config);
[[nodiscard]] std::unique_ptr<backend> make_rocksdb_backend(const store_config& config);
[[nodiscard]] std::unique_ptr<backend> make_lmdb_backend(const store_config& config);

}  // namespace smpp::store::detail
