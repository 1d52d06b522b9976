// The message-id correlation table: which tenant (and what the router noted at submit time)
// a message_id issued by an upstream SMSC belongs to, so that its delivery receipts, and the
// ESME's query_sm / cancel_sm / replace_sm quoting it, find their way back.
//
// Sharding: each router worker owns one correlation_table and is the only thread that touches
// it, so the hot path takes no lock and no atomic. correlation_owner() says which worker owns a
// key; it hashes the id only (not the upstream), so that a receipt arriving on any bind finds
// the shard its submit_sm_resp went to. The router forwards operations on other workers' shards
// over its rings.
//
// Keys: the message_id is first normalised by codec::normalize_message_id (hex / decimal /
// zero padding / case / 0x prefix / blanks and NUL around it; see dataplane/README.md). A key
// that is a decimal number of at most 64 bits is kept exactly; any other key is kept as a
// keyed 128-bit SipHash (libsodium's siphashx24) of its normalised text, whose top bit marks it
// as text: ids that are not numbers match by a 127-bit fingerprint. Two different ids share one
// with probability about live_entries / 2^127 per lookup, and the key (correlation_secret) is
// random per process, so an SMSC cannot craft ids that collide.
//
// Bound and overflow behaviour, in one place: capacity (live entries) and the time-to-live are
// fixed at construction, which is also the only allocation. An entry expires ttl_ms after its
// last insert. Inserting into a full table first reclaims the oldest entry when it has expired;
// otherwise it evicts the oldest entry (counted in evicted, with its age): the newest id is never
// refused, since its receipt is the one still to come. A lookup that finds its entry expired
// removes it and reports a miss (counted in expired_misses). No operation ever grows the table.
// An entry whose final receipt arrived is taken out (take()), so a table sized for the rate
// times the time receipts take holds every message still waiting for one.
//
// Finals: a table built with a final_capacity and keep_final_ms keeps an entry whose last
// reference was released (its final receipt delivered) as a final entry, for query_sm,
// cancel_sm and replace_sm only: receipts no longer find it (find(), take() and release() see a
// miss), find_for_tenant() still does (a live match first). Final entries live in the same
// arrays, on a list of their own in the order they became final; there are at most
// final_capacity of them (the oldest goes first, counted in finals_evicted) and each goes
// keep_final_ms after it became final (finals_expired). Becoming final moves no index slot: the
// entry is relinked and marked, where a table of its own would cost an insert and an eviction,
// each a probe in a second index. Noting a final entry's id again makes it live again.
//
// Layout: entries live in a fixed array, threaded on a doubly linked list in insertion order.
// Every entry has the same time-to-live, so that order is also expiry order: expiry only ever
// looks at the list head (O(1) per expired entry). The list is doubly linked so that an erased
// entry (a final receipt) is unlinked and its slot reused at once; a plain FIFO log would keep
// the slot of every erased entry until the log's tail passed it, i.e. it would have to hold
// every submit of a whole TTL window (days) rather than the live entries. The index is an
// open-addressing Robin Hood table of 8-byte slots (entry number, 24-bit fingerprint, probe
// distance) at load factor <= 1/2, with backward-shift deletion (no tombstones). A probe
// distance is at most max_probe_distance; an insert that would exceed it is refused
// (correlation_insert::probe_limit, counted in probe_drops), which random keys practically
// never reach (see the probe-length test).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "smpp/codec/receipt.hpp"

namespace smpp::dataplane {

// Issue: "at least 10 million live entries in at most 1 GB", summed over all shards.
inline constexpr std::size_t default_correlation_capacity = 10'000'000;
// Receipts can take days to arrive (an SMSC retries a phone that is switched off).
inline constexpr std::uint64_t default_correlation_ttl_ms = 72ull * 3600 * 1000;

// The compact form of a normalised message_id. hi == 0: the id is the number lo. Otherwise
// (lo, hi) is the 128-bit fingerprint of the normalised text with the top bit of hi set.
struct correlation_key {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;

  [[nodiscard]] bool is_number() const noexcept { return hi == 0; }
  friend bool operator==(const correlation_key&, const correlation_key&) = default;
};

// What the router keeps per message_id. tag is opaque to the table (e.g. the submit time or the
// ESME's session).
struct correlation_value {
  std::uint16_t upstream = 0;
  std::uint16_t tenant = 0;
  std::uint32_t tag = 0;

  friend bool operator==(const correlation_value&, const correlation_value&) = default;
};

// The SipHash key for text ids. One per process, shared read-only by all workers (a key is
// computed on whichever worker receives the id and must land on the same shard entry).
struct correlation_secret {
  std::array<unsigned char, 16> bytes{};

  // 16 random bytes from libsodium's randombytes_buf. Throws std::runtime_error when libsodium
  // cannot be initialised.
  [[nodiscard]] static correlation_secret random();
};

struct correlation_key_result {
  codec::receipt_error error = codec::receipt_error::none;  // empty_id or id_too_long
  correlation_key key;

  [[nodiscard]] bool ok() const noexcept { return error == codec::receipt_error::none; }
};

// The key of a message_id as received (raw bytes of submit_sm_resp message_id, a receipt's
// id, or a query_sm's message_id). radix: how this id's issuer writes its ids; auto_detect
// reads an all-digit id as decimal, so an upstream whose ids are hex must be given id_radix::hex
// on both sides. Fails as codec::normalize_message_id does (empty_id, id_too_long). No
// allocation.
[[nodiscard]] correlation_key_result make_correlation_key(
    std::string_view message_id, codec::id_radix radix, const correlation_secret& secret) noexcept;

// The worker (0 .. workers-1) whose shard holds key. Depends on the id only. workers >= 1.
[[nodiscard]] std::size_t correlation_owner(const correlation_key& key,
                                            std::size_t workers) noexcept;

// Capacity of each of `workers` shards so that together they hold total_capacity entries.
[[nodiscard]] constexpr std::size_t correlation_shard_capacity(std::size_t total_capacity,
                                                               std::size_t workers) noexcept {
  return workers == 0 ? total_capacity : (total_capacity + workers - 1) / workers;
}

enum class correlation_insert : std::uint8_t {
  inserted,     // a new entry
  replaced,     // (key, upstream) was present: value and expiry overwritten
  probe_limit,  // the index neighbourhood of this key is saturated: refused
};

[[nodiscard]] std::string_view to_string(correlation_insert result) noexcept;

// Monotonic counters (live is a level).
struct correlation_stats {
  std::uint64_t inserts = 0;              // insert() calls that stored a new entry
  std::uint64_t replaced = 0;             // insert() calls that overwrote (key, upstream)
  std::uint64_t hits = 0;                 // lookups that found a live entry
  std::uint64_t misses = 0;               // lookups that found nothing
  std::uint64_t expired_misses = 0;       // lookups that found only an expired entry (removed)
  std::uint64_t evicted = 0;              // live entries removed to make room (the oldest)
  std::uint64_t evicted_age_ms_sum = 0;   // their ages at eviction, summed
  std::uint64_t last_evicted_age_ms = 0;  // the age of the last one
  std::uint64_t probe_drops = 0;          // inserts refused: probe distance bound
  std::uint64_t expired = 0;              // entries removed because their TTL passed
  std::uint64_t erased = 0;               // live entries ended by erase(), take() or release()
  std::uint64_t live = 0;                 // entries held now (some may be expired, not yet removed)
  std::uint64_t finals = 0;               // final entries held now
  std::uint64_t finals_evicted = 0;       // final entries removed to make room (the oldest)
  std::uint64_t finals_expired = 0;       // final entries removed after keep_final_ms
};

// One shard. Single-threaded: only its owning worker calls it. Move-only. now_ms comes from a
// steady clock and never decreases; expiry order is insertion order only under that condition.
class correlation_table {
 public:
  // Longest probe distance an index slot may have (stored in 8 bits, 0 = empty).
  static constexpr std::uint32_t max_probe_distance = 254;
  // Largest capacity (entry numbers are 32 bits, one value is the list's end marker).
  static constexpr std::size_t max_capacity = std::size_t{1} << 31;
  // Index slots per entry of capacity: load factor 1/2 when full.
  static constexpr std::size_t index_slots_per_entry = 2;

  // capacity: live entries, 1..max_capacity; ttl_ms >= 1. hash_seed places keys in the index;
  // give a random one in production (it keeps crafted numeric ids from piling up in one probe
  // run). final_capacity final entries are kept keep_final_ms each (none when either is 0).
  // Throws std::invalid_argument for a capacity or TTL out of range, std::bad_alloc.
  correlation_table(std::size_t capacity, std::uint64_t ttl_ms, std::uint64_t hash_seed = 0,
                    std::size_t final_capacity = 0, std::uint64_t keep_final_ms = 0);

  correlation_table(correlation_table&&) noexcept = default;
  correlation_table& operator=(correlation_table&&) noexcept = default;
  correlation_table(const correlation_table&) = delete;
  correlation_table& operator=(const correlation_table&) = delete;
  ~correlation_table() = default;

  // Stores value under (key, value.upstream), expiring at now_ms + ttl_ms (never, past 2^48 ms).
  // A replacement adds a reference (release()); a final entry of (key, upstream) is live again
  // with one reference (counted as an insert). Also removes up to two expired entries from the
  // head, so the table keeps itself clean without expire(); in a full table the oldest entry is
  // evicted (its value written to *evicted when given, for the caller's counters). *refs, when
  // given, is the entry's reference count after the insert.
  [[nodiscard]] correlation_insert insert(const correlation_key& key,
                                          const correlation_value& value, std::uint64_t now_ms,
                                          std::optional<correlation_value>* evicted = nullptr,
                                          std::uint32_t* refs = nullptr) noexcept;

  // A receipt: the entry of (key, upstream). An expired entry is removed and reported as a
  // miss.
  [[nodiscard]] std::optional<correlation_value> find(const correlation_key& key,
                                                      std::uint16_t upstream,
                                                      std::uint64_t now_ms) noexcept;

  // query_sm / cancel_sm / replace_sm from an ESME of `tenant`: a live entry of key that belongs
  // to the tenant, whichever upstream issued it. When several upstreams issued the same id to
  // the same tenant, the one inserted first is returned. Expired matches are removed.
  [[nodiscard]] std::optional<correlation_value> find_for_tenant(const correlation_key& key,
                                                                 std::uint16_t tenant,
                                                                 std::uint64_t now_ms) noexcept;

  // find() that also removes the entry: a final receipt.
  [[nodiscard]] std::optional<correlation_value> take(const correlation_key& key,
                                                      std::uint16_t upstream,
                                                      std::uint64_t now_ms) noexcept;

  // A final receipt for one of the messages noted under (key, upstream): the entry loses one
  // reference (one insert or replacement) and goes with its last (or becomes final, when finals
  // are kept). Its value when it was live (removed is set when the live entry ended).
  [[nodiscard]] std::optional<correlation_value> release(const correlation_key& key,
                                                         std::uint16_t upstream,
                                                         std::uint64_t now_ms,
                                                         bool& removed) noexcept;

  // Starts loading the index slot of key into the cache: a caller that inserts many keys
  // prefetches each as it learns it and inserts them later (memory-level parallelism instead of
  // one cache miss after another). No effect on the table's contents.
  void prefetch(const correlation_key& key) const noexcept {
    __builtin_prefetch(&index_[place(key).home], 1, 1);
  }

  // When the table is full, starts loading the index slots of the n oldest entries (the next n
  // inserts evict them and must find their slots). No effect on the table's contents.
  void prefetch_evictions(std::size_t n) const noexcept;
  // The same for the n oldest final entries, when final_capacity of them are held (the next n
  // entries to become final evict them).
  void prefetch_final_evictions(std::size_t n) const noexcept;

  // Removes the entry of (key, upstream), expired, final or not. True when there was one.
  bool erase(const correlation_key& key, std::uint16_t upstream) noexcept;

  // Removes expired entries, oldest first, then final entries past keep_final_ms, at most
  // max_work in all. Returns how many.
  std::size_t expire(std::uint64_t now_ms, std::size_t max_work) noexcept;

  [[nodiscard]] const correlation_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::size_t size() const noexcept { return static_cast<std::size_t>(stats_.live); }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t final_capacity() const noexcept { return final_capacity_; }
  [[nodiscard]] std::uint64_t ttl_ms() const noexcept { return ttl_ms_; }

  // Bytes mapped for a table of this capacity and final capacity (entries + index, each rounded
  // up to whole pages) and by this table.
  [[nodiscard]] static std::size_t memory_bytes_for(std::size_t capacity,
                                                    std::size_t final_capacity = 0) noexcept;
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return memory_bytes_for(capacity_, final_capacity_);
  }

  // Diagnostics (O(index size), not for the hot path): the longest probe distance in the index,
  // and whether the index and the entry list agree (every live entry indexed once, at a slot
  // reachable from its home, Robin Hood order kept, list and free list consistent).
  [[nodiscard]] std::uint32_t longest_probe_distance() const noexcept;
  [[nodiscard]] bool check_invariants() const noexcept;

 private:
  static constexpr std::uint32_t no_entry = 0xFFFF'FFFF;
  // Numeric ids that differ only in their last two bits have neighbouring index homes.
  static constexpr std::uint64_t ids_per_line = 4;

  // An expiry past the 48 bits an entry keeps (8,900 years of a steady clock) never comes.
  static constexpr std::uint64_t never = (std::uint64_t{1} << 48) - 1;

  struct entry {
    correlation_key key;
    correlation_value value;
    // How many inserts of (key, upstream) are live: an SMSC whose ids two forms share (auto
    // radix: "a" and "10") notes one entry twice, and it stays until both are released. 0: a
    // final entry (on the finals list).
    std::uint64_t expires_ms : 48 = 0;
    std::uint64_t refs : 16 = 0;
    std::uint32_t prev = no_entry;  // towards the oldest
    std::uint32_t next = no_entry;  // towards the newest; the free list's link when free
  };
  static_assert(sizeof(entry) == 40);

  // meta: fingerprint in bits 31..8, probe distance + 1 in bits 7..0 (0: empty slot).
  struct slot {
    std::uint32_t entry = 0;
    std::uint32_t meta = 0;
  };
  static_assert(sizeof(slot) == 8);

  struct placement {
    std::size_t home = 0;
    std::uint32_t fingerprint = 0;  // 24 bits
  };

  [[nodiscard]] placement place(const correlation_key& key) const noexcept;
  [[nodiscard]] std::uint64_t expiry_for(std::uint64_t now_ms) const noexcept;
  [[nodiscard]] bool expired(const entry& e, std::uint64_t now_ms) const noexcept {
    return e.expires_ms != never && now_ms >= e.expires_ms;
  }
  // Position of the index slot of (key, upstream) when its entry is live (a hit), or npos (a
  // miss; an expired entry is removed on the way).
  [[nodiscard]] std::size_t find_live(const correlation_key& key, std::uint16_t upstream,
                                      std::uint64_t now_ms) noexcept;
  // Position of the index slot of (key, upstream), or npos.
  [[nodiscard]] std::size_t find_slot(const correlation_key& key,
                                      std::uint16_t upstream) const noexcept;
  // Removes the entry at index position pos (unlink, free, backward shift).
  void remove_at(std::size_t pos) noexcept;
  // Index position of entry number `index` (a live entry), or npos.
  [[nodiscard]] std::size_t slot_of(std::uint32_t index) const noexcept;
  // Removes the oldest entry if it has expired at now_ms; true when it did.
  bool expire_head(std::uint64_t now_ms) noexcept;
  // Removes the oldest entry, live or not (the table is full), counting it as evicted.
  [[nodiscard]] correlation_value evict_head(std::uint64_t now_ms) noexcept;
  // The live entry `index` lost its last reference: final, or removed when no finals are kept.
  void end_live(std::size_t pos, std::uint64_t now_ms) noexcept;
  // Removes the oldest final entry if it is past keep_final_ms at now_ms; true when it did.
  bool expire_final_head(std::uint64_t now_ms) noexcept;
  // A list of entries, oldest to newest: the live ones (expiry order) or the final ones.
  struct list_ends {
    std::uint32_t oldest = no_entry;
    std::uint32_t newest = no_entry;
  };
  // Removes the oldest entry of list if it has expired at now_ms, counting it; true when it did.
  bool expire_oldest_of(const list_ends& list, std::uint64_t now_ms,
                        std::uint64_t& counter) noexcept;
  // Starts loading the index slots of the n oldest entries of list.
  void prefetch_heads(const list_ends& list, std::size_t n) const noexcept;
  void append_to_list(list_ends& list, std::uint32_t index) noexcept;
  void unlink(list_ends& list, std::uint32_t index) noexcept;
  // Walks `list` and checks its links, its expiry order and the live/final mark of each entry;
  // adds its length, entry-number sum and square sum. False when something is wrong.
  [[nodiscard]] bool check_list(const list_ends& list, bool finals, std::size_t& count,
                                std::uint64_t& sum, std::uint64_t& square_sum) const noexcept;

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  std::size_t capacity_ = 0;
  std::size_t final_capacity_ = 0;
  std::uint64_t ttl_ms_ = 0;
  std::uint64_t keep_final_ms_ = 0;
  std::uint64_t hash_seed_ = 0;
  std::size_t homes_ = 0;  // home positions; the index has homes_ + max_probe_distance + 1 slots
  // The two arrays are mapped with mmap, on 2 MiB pages where the kernel gives them (see
  // map_array in correlation.cpp); the deleter unmaps.
  struct unmapper {
    std::size_t bytes;  // no initialiser: it keeps unmapper default-constructible in here
    void operator()(void* p) const noexcept;
  };
  std::unique_ptr<entry[], unmapper> entries_;
  std::unique_ptr<slot[], unmapper> index_;
  list_ends live_;
  list_ends finals_;
  std::uint32_t free_ = no_entry;
  correlation_stats stats_;
};

}  // namespace smpp::dataplane
