// The engine under the router's durable message state: one backend per store shard (one shard
// per router worker), written by that shard's journal thread only (journal.hpp), read by
// recovery at start and by status lookups from the admin threads.
//
// What it keeps: the notes still waiting for their final receipt (with the latest receipt
// state), for ttl_ms after the note; a note whose final receipt was delivered for keep_final_ms
// more (for status lookups only, and never past ttl_ms); held messages until their held_done.
// Bound: capacity_bytes of disk; beyond it the oldest notes go first (counted in evicted), never
// the newest refused. Held messages are never evicted (custody ends only with a held_done): a
// held message that would take those in custody over capacity_bytes / 2 is refused (append
// throws store_error, and the router answers the SMSC with back-pressure instead of ESME_ROK).
// A held message's id must be unique in the store, across runs too (the journal goes on from
// the largest id recovery showed it).
//
// Durability of append() by sync_policy: off: nothing is written (memory only, the router as it
// was before the store); batch: the group is in the operating system when append returns (it
// survives a crash of the process); fsync: it is on the disk (it survives a power loss).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/store/record.hpp"

namespace smpp::store {

enum class sync_policy : std::uint8_t { off, batch, fsync };
[[nodiscard]] std::string_view to_string(sync_policy p) noexcept;
[[nodiscard]] std::optional<sync_policy> parse_sync_policy(std::string_view text) noexcept;

// A store that cannot be opened, read or written: the path and the system's reason.
class store_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct store_config {
  std::filesystem::path path;                    // the shard's own directory
  std::uint64_t capacity_bytes = 16ull << 30;    // of disk, for this shard
  std::uint64_t ttl_ms = 72ull * 3600 * 1000;    // a note's life without its final receipt
  std::uint64_t keep_final_ms = 3600ull * 1000;  // a finished note's life, for lookups
  sync_policy sync = sync_policy::batch;
};

// What a status lookup answers (owning copies: it outlives the store's buffers).
struct message_status {
  message_key key;
  std::uint64_t submit_ms = 0;
  std::uint16_t tenant = 0;
  std::uint16_t upstream = 0;
  std::string source;
  std::string destination;
  receipt_state state = receipt_state::none;  // the latest receipt's
  std::uint64_t state_ms = 0;                 // when it arrived (0: none yet)
  bool delivered = false;                     // the ESME acknowledged a receipt for it
  bool final_ = false;                        // its final receipt was delivered
};

// Recovery calls these for the live state only. Held messages: in the order of their ids
// (lmdb, rocksdb) or of their last writing (log: one copied forward out of an old segment counts
// as written then). Notes: in the order of their submit_ms (lmdb), of their appending (log) or
// of their keys (rocksdb).
class recovery_visitor {
 public:
  virtual ~recovery_visitor() = default;
  // A note still waiting for its final receipt and younger than ttl_ms.
  virtual void on_note(const note_record& note) = 0;
  // A held message without its held_done.
  virtual void on_held(const held_record& held) = 0;
};

struct backend_stats {
  std::uint64_t bytes_on_disk = 0;
  std::uint64_t records_appended = 0;
  std::uint64_t groups_appended = 0;
  std::uint64_t evicted = 0;  // live notes or held messages dropped to stay within capacity
  std::uint64_t expired = 0;  // notes dropped after ttl_ms
};

class backend {
 public:
  virtual ~backend() = default;
  // Once, right after the open and before the first append: replays the live state. Throws
  // store_error.
  virtual void recover(recovery_visitor& visitor) = 0;
  // A group of whole encoded records (record.hpp), as durable as the policy says when it
  // returns. Throws store_error (disk full, I/O error): the caller keeps the group.
  virtual void append(std::span<const std::byte> records) = 0;
  // Safe to call from any thread while append runs on the journal's.
  [[nodiscard]] virtual std::optional<message_status> lookup(const message_key& key) = 0;
  // A tenant's messages submitted at or after since_ms, oldest first, at most limit.
  [[nodiscard]] virtual std::vector<message_status> list(std::uint16_t tenant,
                                                         std::uint64_t since_ms,
                                                         std::size_t limit) = 0;
  [[nodiscard]] virtual backend_stats stats() const = 0;
};

}  // namespace smpp::store
