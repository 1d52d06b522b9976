#include "smpp/dataplane/correlation.hpp"

#include <sodium.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace smpp::dataplane {
namespace {

constexpr std::uint64_t text_key_marker = std::uint64_t{1} << 63;

// MurmurHash3's 64-bit finaliser: a bijection, so distinct numeric ids never share a hash.
constexpr std::uint64_t fmix64(std::uint64_t k) noexcept {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

constexpr std::uint64_t key_hash(const correlation_key& key, std::uint64_t seed) noexcept {
  return fmix64(key.lo ^ std::rotl(key.hi, 32) ^ seed);
}

// Lemire's multiply-shift range reduction: maps a 64-bit hash onto [0, n) by its high bits.
__extension__ using uint128 = unsigned __int128;  // GCC and Clang on 64-bit targets
constexpr std::size_t reduce(std::uint64_t hash, std::size_t n) noexcept {
  return static_cast<std::size_t>((static_cast<uint128>(hash) * n) >> 64);
}

// The normalised key as a number when it is one: all decimal digits, at most 64 bits.
std::optional<std::uint64_t> decimal_value(std::string_view digits) noexcept {
  if (digits.empty() || digits.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

constexpr std::size_t small_page = 4096;
constexpr std::size_t huge_page = std::size_t{2} << 20;

constexpr std::size_t round_up(std::size_t n, std::size_t to) noexcept {
  return (n + to - 1) / to * to;
}

// Bytes mapped for an array of n bytes: arrays of 2 MiB or more in whole 2 MiB pages.
constexpr std::size_t mapped_bytes(std::size_t n) noexcept {
  return n >= huge_page ? round_up(n, huge_page) : round_up(n, small_page);
}

// Anonymous memory for an array of n bytes, 2 MiB-aligned and advised for transparent huge
// pages when it is that large: a 10 M-entry shard spans about 560 MB, far beyond what 4 KiB TLB
// entries cover (about 6 MB), so each lookup would otherwise add page walks to its cache misses.
// The kernel may still hand out 4 KiB pages; that is only slower.
void* map_array(std::size_t n) {
  const std::size_t bytes = mapped_bytes(n);
  const std::size_t slack = bytes >= huge_page ? huge_page : 0;
  void* const p =
      mmap(nullptr, bytes + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  if (slack == 0) return p;
  // Keep the 2 MiB-aligned part, give back the rest.
  const auto raw = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t aligned = round_up(raw, huge_page);
  if (aligned > raw) munmap(p, aligned - raw);
  if (const std::size_t tail = raw + bytes + slack - (aligned + bytes); tail > 0) {
    munmap(reinterpret_cast<void*>(aligned + bytes), tail);
  }
  (void)madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);  // advice only
  return reinterpret_cast<void*>(aligned);
}

constexpr std::uint32_t distance_of(std::uint32_t meta) noexcept {
  return (meta & 0xFFu) - 1;  // only for occupied slots
}
constexpr bool occupied(std::uint32_t meta) noexcept {
  return (meta & 0xFFu) != 0;
}
constexpr std::uint32_t make_meta(std::uint32_t fingerprint, std::uint32_t distance) noexcept {
  return (fingerprint << 8) | (distance + 1);
}

}  // namespace

correlation_secret correlation_secret::random() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium: sodium_init() failed");
  correlation_secret secret;
  randombytes_buf(secret.bytes.data(), secret.bytes.size());
  return secret;
}

correlation_key_result make_correlation_key(std::string_view message_id, codec::id_radix radix,
                                            const correlation_secret& secret) noexcept {
  correlation_key_result result;
  // An id that reads as a number is keyed by the number (rule 2 of normalize_message_id),
  // without the round trip through its decimal text. Longer input goes the full way (it may be
  // too long once its blanks are gone).
  if (message_id.size() <= codec::max_message_id_size) {
    if (const std::optional<std::uint64_t> n = codec::parse_message_id_number(message_id, radix)) {
      result.key = {*n, 0};
      return result;
    }
  }
  const codec::message_id_key_result normalised = codec::normalize_message_id(message_id, radix);
  if (!normalised.ok()) {
    result.error = normalised.error;
    return result;
  }
  const std::string_view text = normalised.key.view();
  if (const std::optional<std::uint64_t> n = decimal_value(text)) {
    result.key = {*n, 0};
    return result;
  }
  static_assert(crypto_shorthash_siphashx24_BYTES == 16);
  static_assert(crypto_shorthash_siphashx24_KEYBYTES == sizeof(secret.bytes));
  std::array<unsigned char, 16> digest{};
  crypto_shorthash_siphashx24(digest.data(), reinterpret_cast<const unsigned char*>(text.data()),
                              text.size(), secret.bytes.data());
  std::memcpy(&result.key.lo, digest.data(), 8);
  std::memcpy(&result.key.hi, digest.data() + 8, 8);
  result.key.hi |= text_key_marker;
  return result;
}

std::size_t correlation_owner(const correlation_key& key, std::size_t workers) noexcept {
  // A constant unrelated to any table's seed, so that a shard's keys still spread over its
  // whole index.
  return reduce(key_hash(key, 0x9e3779b97f4a7c15ull), workers == 0 ? 1 : workers);
}

std::string_view to_string(correlation_insert result) noexcept {
  switch (result) {
    case correlation_insert::inserted:
      return "inserted";
    case correlation_insert::replaced:
      return "replaced";
    case correlation_insert::probe_limit:
      return "correlation table probe distance limit reached";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------

std::size_t correlation_table::memory_bytes_for(std::size_t capacity,
                                                std::size_t final_capacity) noexcept {
  const std::size_t entries = capacity + final_capacity;
  return mapped_bytes(entries * sizeof(entry)) +
         mapped_bytes((entries * index_slots_per_entry + max_probe_distance + 1) * sizeof(slot));
}

void correlation_table::unmapper::operator()(void* p) const noexcept {
  // entry and slot are trivially destructible: unmapping is all there is to do.
  munmap(p, mapped_bytes(bytes));
}

correlation_table::correlation_table(std::size_t capacity, std::uint64_t ttl_ms,
                                     std::uint64_t hash_seed, std::size_t final_capacity,
                                     std::uint64_t keep_final_ms)
    : capacity_(capacity),
      final_capacity_(keep_final_ms > 0 ? final_capacity : 0),
      ttl_ms_(ttl_ms),
      keep_final_ms_(final_capacity > 0 ? keep_final_ms : 0),
      hash_seed_(hash_seed) {
  const std::size_t entries = capacity + final_capacity_;
  if (capacity == 0 || capacity > max_capacity || final_capacity_ > max_capacity - capacity) {
    throw std::invalid_argument("correlation table capacity must be 1.." +
                                std::to_string(max_capacity) + " with its finals, got " +
                                std::to_string(capacity) + " + " + std::to_string(final_capacity_));
  }
  // now_ms + ttl_ms must not overflow for any realistic clock.
  if (ttl_ms == 0 || ttl_ms > (std::uint64_t{1} << 62) ||
      keep_final_ms_ > (std::uint64_t{1} << 62)) {
    throw std::invalid_argument(
        "correlation table ttl_ms must be 1..2^62 (keep_final_ms at most "
        "2^62), got " +
        std::to_string(ttl_ms) + " (" + std::to_string(keep_final_ms_) + ")");
  }
  homes_ = entries * index_slots_per_entry;
  // Constructing every element writes every page now, so none is first touched on the hot path.
  // Entries are threaded on the free list in order.
  static_assert(std::is_trivially_destructible_v<entry> && std::is_trivially_destructible_v<slot>);
  const std::size_t entry_bytes = entries * sizeof(entry);
  entries_ = {static_cast<entry*>(map_array(entry_bytes)), unmapper{entry_bytes}};
  std::uninitialized_value_construct_n(entries_.get(), entries);
  const std::size_t slots = homes_ + max_probe_distance + 1;
  const std::size_t index_bytes = slots * sizeof(slot);
  index_ = {static_cast<slot*>(map_array(index_bytes)), unmapper{index_bytes}};
  std::uninitialized_value_construct_n(index_.get(), slots);
  for (std::size_t i = 0; i < entries; ++i) {
    entries_[i].next = i + 1 < entries ? static_cast<std::uint32_t>(i + 1) : no_entry;
  }
  free_ = 0;
}

std::uint64_t correlation_table::expiry_for(std::uint64_t now_ms) const noexcept {
  // Saturates: an entry inserted within ttl_ms of the clock's end never expires.
  return now_ms >= never - ttl_ms_ ? never : now_ms + ttl_ms_;
}

correlation_table::placement correlation_table::place(const correlation_key& key) const noexcept {
  const std::uint64_t h = key_hash(key, hash_seed_);
  if (!key.is_number() || homes_ < ids_per_line) {
    return {reduce(h, homes_), static_cast<std::uint32_t>(h & 0xFF'FFFFu)};
  }
  // Numbers: ids that differ only in their last two bits have neighbouring homes, four 8-byte
  // slots within one 64-byte line of the index, and such groups are placed by the hash of the
  // rest. SMSCs mostly count their ids up, so the answers of a burst and then its receipts touch
  // one line per four ids instead of four lines; groups still land at random, so crafted ids
  // pile up no more than before. (Groups of eight fill whole lines and, in a full table of
  // counted ids, made probe runs long enough to reach max_probe_distance; groups of four kept
  // the longest run at 40 slots in 10 M, random ids at 12.)
  const std::uint64_t line = key_hash({key.lo / ids_per_line, 0}, hash_seed_);
  return {reduce(line, homes_ / ids_per_line) * ids_per_line + key.lo % ids_per_line,
          static_cast<std::uint32_t>(h & 0xFF'FFFFu)};
}

void correlation_table::append_to_list(list_ends& list, std::uint32_t index) noexcept {
  entry& e = entries_[index];
  e.prev = list.newest;
  e.next = no_entry;
  if (list.newest != no_entry) {
    entries_[list.newest].next = index;
  } else {
    list.oldest = index;
  }
  list.newest = index;
}

void correlation_table::unlink(list_ends& list, std::uint32_t index) noexcept {
  entry& e = entries_[index];
  if (e.prev != no_entry) {
    entries_[e.prev].next = e.next;
  } else {
    list.oldest = e.next;
  }
  if (e.next != no_entry) {
    entries_[e.next].prev = e.prev;
  } else {
    list.newest = e.prev;
  }
}

std::size_t correlation_table::find_slot(const correlation_key& key,
                                         std::uint16_t upstream) const noexcept {
  const placement p = place(key);
  // Robin Hood order: the run of this home ends at an empty slot or at a slot whose entry sits
  // closer to its own home than we are to ours.
  for (std::uint32_t d = 0;; ++d) {
    const slot s = index_[p.home + d];
    if (!occupied(s.meta) || distance_of(s.meta) < d) return npos;
    if ((s.meta >> 8) == p.fingerprint) {
      const entry& e = entries_[s.entry];
      if (e.key == key && e.value.upstream == upstream) return p.home + d;
    }
  }
}

void correlation_table::remove_at(std::size_t pos) noexcept {
  const std::uint32_t index = index_[pos].entry;
  if (entries_[index].refs == 0) {
    unlink(finals_, index);
    --stats_.finals;
  } else {
    unlink(live_, index);
    --stats_.live;
  }
  entries_[index].next = free_;
  free_ = index;
  // Backward-shift deletion: pull each following entry one step towards its home until an
  // empty slot or an entry already at its home. No tombstones, so probe runs never lengthen.
  for (;;) {
    const slot next = index_[pos + 1];
    if (!occupied(next.meta) || distance_of(next.meta) == 0) break;
    index_[pos] = {next.entry, next.meta - 1};
    ++pos;
  }
  index_[pos] = {};
}

std::size_t correlation_table::slot_of(std::uint32_t index) const noexcept {
  const placement p = place(entries_[index].key);
  for (std::uint32_t d = 0; d <= max_probe_distance; ++d) {
    const slot s = index_[p.home + d];
    if (s.entry == index && occupied(s.meta)) return p.home + d;
  }
  return npos;  // unreachable while check_invariants() holds
}

void correlation_table::prefetch_heads(const list_ends& list, std::size_t n) const noexcept {
  for (std::uint32_t i = list.oldest; i != no_entry && n > 0; i = entries_[i].next, --n) {
    __builtin_prefetch(&index_[place(entries_[i].key).home], 1, 1);
    // GCC counts a prefetch as no side effect: a loop of them, out of line, is deduced pure and
    // its calls deleted (prefetch_evictions compiled to a bare return). An empty volatile asm is
    // a side effect and costs nothing.
    asm volatile("");
  }
}

void correlation_table::prefetch_evictions(std::size_t n) const noexcept {
  if (stats_.live == capacity_) prefetch_heads(live_, n);
}

void correlation_table::prefetch_final_evictions(std::size_t n) const noexcept {
  if (final_capacity_ != 0 && stats_.finals == final_capacity_) prefetch_heads(finals_, n);
}

bool correlation_table::expire_oldest_of(const list_ends& list, std::uint64_t now_ms,
                                         std::uint64_t& counter) noexcept {
  if (list.oldest == no_entry || !expired(entries_[list.oldest], now_ms)) return false;
  const std::size_t pos = slot_of(list.oldest);
  if (pos == npos) return false;
  remove_at(pos);
  ++counter;
  return true;
}

bool correlation_table::expire_head(std::uint64_t now_ms) noexcept {
  return expire_oldest_of(live_, now_ms, stats_.expired);
}

bool correlation_table::expire_final_head(std::uint64_t now_ms) noexcept {
  return expire_oldest_of(finals_, now_ms, stats_.finals_expired);
}

void correlation_table::end_live(std::size_t pos, std::uint64_t now_ms) noexcept {
  ++stats_.erased;
  if (final_capacity_ == 0) {
    remove_at(pos);
    return;
  }
  // Its index slot stays; only the lists change. Room among the finals is made first (which
  // may shift index slots, so pos is not used after this).
  const std::uint32_t index = index_[pos].entry;
  unlink(live_, index);
  --stats_.live;
  if (expire_final_head(now_ms)) (void)expire_final_head(now_ms);
  if (stats_.finals == final_capacity_) {
    if (const std::size_t oldest = slot_of(finals_.oldest); oldest != npos) {
      remove_at(oldest);
      ++stats_.finals_evicted;
    }
  }
  entry& e = entries_[index];
  e.refs = 0;
  e.expires_ms = (now_ms >= never - keep_final_ms_ ? never : now_ms + keep_final_ms_) & never;
  append_to_list(finals_, index);
  ++stats_.finals;
}

correlation_value correlation_table::evict_head(std::uint64_t now_ms) noexcept {
  const entry& e = entries_[live_.oldest];
  const correlation_value value = e.value;
  // Inserted at expires_ms - ttl_ms (or later, when the expiry saturated).
  const std::uint64_t inserted_ms = e.expires_ms == never ? now_ms : e.expires_ms - ttl_ms_;
  const std::uint64_t age_ms = now_ms > inserted_ms ? now_ms - inserted_ms : 0;
  const std::size_t pos = slot_of(live_.oldest);
  if (pos == npos) return value;
  remove_at(pos);
  ++stats_.evicted;
  stats_.evicted_age_ms_sum += age_ms;
  stats_.last_evicted_age_ms = age_ms;
  return value;
}

correlation_insert correlation_table::insert(const correlation_key& key,
                                             const correlation_value& value, std::uint64_t now_ms,
                                             std::optional<correlation_value>* evicted,
                                             std::uint32_t* refs) noexcept {
  if (refs != nullptr) *refs = 1;
  // Amortised cleaning: each insert retires up to two expired entries, more than it adds.
  if (expire_head(now_ms)) (void)expire_head(now_ms);

  const std::size_t existing = find_slot(key, value.upstream);
  if (existing != npos) {
    const std::uint32_t index = index_[existing].entry;
    entry& e = entries_[index];
    if (e.refs == 0) {
      // A final entry noted again: live again, in its index slot, as a new entry.
      unlink(finals_, index);
      --stats_.finals;
      if (stats_.live == capacity_) {
        const correlation_value gone = evict_head(now_ms);  // shifts slots, not entries
        if (evicted != nullptr) *evicted = gone;
      }
      e.value = value;
      e.expires_ms = expiry_for(now_ms) & never;
      e.refs = 1;
      append_to_list(live_, index);
      ++stats_.live;
      ++stats_.inserts;
      return correlation_insert::inserted;
    }
    e.value = value;
    e.expires_ms = expiry_for(now_ms) & never;  // within 48 bits: expiry_for saturates there
    if (e.refs < 0xFFFF) ++e.refs;
    if (refs != nullptr) *refs = static_cast<std::uint32_t>(e.refs);
    unlink(live_, index);
    append_to_list(live_, index);  // it now expires last
    ++stats_.replaced;
    return correlation_insert::replaced;
  }

  // Full: the oldest entry makes room, so the table always holds the newest ids (the ones whose
  // receipts are still to come); its receipt, should it come, is counted as unmatched.
  if (stats_.live == capacity_) {
    const correlation_value gone = evict_head(now_ms);
    if (evicted != nullptr) *evicted = gone;
  }

  // Insertion point: where the lookup of this key would stop.
  const placement p = place(key);
  std::uint32_t d = 0;
  for (;; ++d) {
    const slot s = index_[p.home + d];
    if (!occupied(s.meta) || distance_of(s.meta) < d) break;
  }
  // The entries from there to the next empty slot move one step on. Homes within a run are in
  // order, so none of them ends up farther from its home than that empty slot is from ours.
  std::uint32_t empty = d;
  while (occupied(index_[p.home + empty].meta)) {
    if (++empty > max_probe_distance) break;
  }
  if (empty > max_probe_distance) {
    ++stats_.probe_drops;
    return correlation_insert::probe_limit;
  }
  for (std::uint32_t i = empty; i > d; --i) {
    const slot moved = index_[p.home + i - 1];
    index_[p.home + i] = {moved.entry, moved.meta + 1};
  }

  const std::uint32_t index = free_;
  entry& e = entries_[index];
  free_ = e.next;
  e.key = key;
  e.value = value;
  e.expires_ms = expiry_for(now_ms) & never;
  e.refs = 1;
  append_to_list(live_, index);
  index_[p.home + d] = {index, make_meta(p.fingerprint, d)};
  ++stats_.live;
  ++stats_.inserts;
  return correlation_insert::inserted;
}

std::size_t correlation_table::find_live(const correlation_key& key, std::uint16_t upstream,
                                         std::uint64_t now_ms) noexcept {
  const std::size_t pos = find_slot(key, upstream);
  if (pos == npos || entries_[index_[pos].entry].refs == 0) {  // a final entry takes no receipt
    ++stats_.misses;
    return npos;
  }
  if (expired(entries_[index_[pos].entry], now_ms)) {
    remove_at(pos);
    ++stats_.expired;
    ++stats_.expired_misses;
    return npos;
  }
  ++stats_.hits;
  return pos;
}

std::optional<correlation_value> correlation_table::find(const correlation_key& key,
                                                         std::uint16_t upstream,
                                                         std::uint64_t now_ms) noexcept {
  const std::size_t pos = find_live(key, upstream, now_ms);
  if (pos == npos) return std::nullopt;
  return entries_[index_[pos].entry].value;
}

std::optional<correlation_value> correlation_table::take(const correlation_key& key,
                                                         std::uint16_t upstream,
                                                         std::uint64_t now_ms) noexcept {
  const std::size_t pos = find_live(key, upstream, now_ms);
  if (pos == npos) return std::nullopt;
  const correlation_value value = entries_[index_[pos].entry].value;
  remove_at(pos);
  ++stats_.erased;
  return value;
}

std::optional<correlation_value> correlation_table::release(const correlation_key& key,
                                                            std::uint16_t upstream,
                                                            std::uint64_t now_ms,
                                                            bool& removed) noexcept {
  removed = false;
  const std::size_t pos = find_live(key, upstream, now_ms);
  if (pos == npos) return std::nullopt;
  entry& e = entries_[index_[pos].entry];
  const correlation_value value = e.value;
  if (e.refs > 1) {
    --e.refs;
    return value;
  }
  end_live(pos, now_ms);
  removed = true;
  return value;
}

std::optional<correlation_value> correlation_table::find_for_tenant(const correlation_key& key,
                                                                    std::uint16_t tenant,
                                                                    std::uint64_t now_ms) noexcept {
  const placement p = place(key);
  bool saw_expired = false;
  std::optional<correlation_value> final_match;  // the first final one, should no live one match
  std::size_t pos = p.home;
  for (std::uint32_t d = 0;;) {
    const slot s = index_[pos];
    if (!occupied(s.meta) || distance_of(s.meta) < d) break;
    if ((s.meta >> 8) == p.fingerprint) {
      const entry& e = entries_[s.entry];
      if (e.key == key && e.value.tenant == tenant) {
        if (!expired(e, now_ms)) {
          if (e.refs != 0) {
            ++stats_.hits;
            return e.value;
          }
          if (!final_match) final_match = e.value;
        } else {
          // The next entry of the run shifts into pos (with its distance one less), so the same
          // position and distance are examined again.
          ++(e.refs == 0 ? stats_.finals_expired : stats_.expired);
          remove_at(pos);
          saw_expired = true;
          continue;
        }
      }
    }
    ++pos;
    ++d;
  }
  if (final_match) {
    ++stats_.hits;
    return final_match;
  }
  if (saw_expired) {
    ++stats_.expired_misses;
  } else {
    ++stats_.misses;
  }
  return std::nullopt;
}

bool correlation_table::erase(const correlation_key& key, std::uint16_t upstream) noexcept {
  const std::size_t pos = find_slot(key, upstream);
  if (pos == npos) return false;
  remove_at(pos);
  ++stats_.erased;
  return true;
}

std::size_t correlation_table::expire(std::uint64_t now_ms, std::size_t max_work) noexcept {
  std::size_t removed = 0;
  while (removed < max_work && expire_head(now_ms)) ++removed;
  while (removed < max_work && expire_final_head(now_ms)) ++removed;
  return removed;
}

std::uint32_t correlation_table::longest_probe_distance() const noexcept {
  std::uint32_t longest = 0;
  for (std::size_t i = 0; i < homes_ + max_probe_distance + 1; ++i) {
    if (occupied(index_[i].meta)) longest = std::max(longest, distance_of(index_[i].meta));
  }
  return longest;
}

bool correlation_table::check_list(const list_ends& list, bool finals, std::size_t& count,
                                   std::uint64_t& sum, std::uint64_t& square_sum) const noexcept {
  // Oldest to newest, prev links mirror next links, expiry never decreases, marks right.
  const std::size_t entries = capacity_ + final_capacity_;
  std::uint32_t prev = no_entry;
  for (std::uint32_t i = list.oldest; i != no_entry; i = entries_[i].next) {
    if (i >= entries || entries_[i].prev != prev || ++count > entries) return false;
    if ((entries_[i].refs == 0) != finals) return false;
    if (prev != no_entry && entries_[prev].expires_ms > entries_[i].expires_ms) return false;
    sum += i;
    square_sum += std::uint64_t{i} * i;
    prev = i;
  }
  return prev == list.newest;
}

bool correlation_table::check_invariants() const noexcept {
  const std::size_t entries = capacity_ + final_capacity_;
  std::size_t listed = 0;
  std::size_t finals = 0;
  std::uint64_t list_sum = 0;
  std::uint64_t list_square_sum = 0;
  if (!check_list(live_, false, listed, list_sum, list_square_sum) || listed != stats_.live ||
      listed > capacity_) {
    return false;
  }
  if (!check_list(finals_, true, finals, list_sum, list_square_sum) || finals != stats_.finals ||
      finals > final_capacity_) {
    return false;
  }
  std::size_t free_count = 0;
  for (std::uint32_t i = free_; i != no_entry; i = entries_[i].next) {
    if (i >= entries || ++free_count > entries) return false;
  }
  if (listed + finals + free_count != entries) return false;

  // The index: each occupied slot at its recorded distance from its entry's home, homes in
  // order along a run, the fingerprint right, each listed entry exactly once.
  const std::size_t slots = homes_ + max_probe_distance + 1;
  std::size_t indexed = 0;
  std::uint64_t index_sum = 0;
  std::uint64_t index_square_sum = 0;
  std::size_t previous_home = 0;
  bool previous_occupied = false;
  for (std::size_t pos = 0; pos < slots; ++pos) {
    const slot s = index_[pos];
    if (!occupied(s.meta)) {
      previous_occupied = false;
      continue;
    }
    if (s.entry >= entries) return false;
    const placement p = place(entries_[s.entry].key);
    if (p.home + distance_of(s.meta) != pos || (s.meta >> 8) != p.fingerprint) return false;
    if (distance_of(s.meta) > max_probe_distance) return false;
    if (previous_occupied ? p.home < previous_home : distance_of(s.meta) != 0) return false;
    previous_home = p.home;
    previous_occupied = true;
    ++indexed;
    index_sum += s.entry;
    index_square_sum += std::uint64_t{s.entry} * s.entry;
  }
  if (index_[slots - 1].meta != 0) return false;
  // Each listed entry indexed exactly once: same count, same sum and sum of squares of entry
  // numbers (no allocation, so the check can run inside allocation-counting tests).
  return indexed == listed + finals && index_sum == list_sum && index_square_sum == list_square_sum;
}

}  // namespace smpp::dataplane
