// The RocksDB engine: one WriteBatch per group (WAL on; WriteOptions.sync under "fsync"), the
// records in time buckets, one column family each, dropped whole.
//
// Why buckets, not a compaction filter or DeleteRange: dropping a column family frees its files
// at once and costs no compaction, and a time bucket is exactly what TTL and oldest-first
// eviction remove. Every record goes to the bucket being written (the newest), like the log
// engine's segments: a receipt does not carry its note's submit time, so it cannot be routed to
// the note's bucket without a read. A bucket is closed at capacity_bytes / 8 or ttl_ms / 8, and
// each run of the store starts a new one; it goes when its last write is older than ttl_ms or
// when the buckets are over capacity_bytes (its notes without a final, anywhere, are counted).
//
// Keys in a bucket: 'k', the message key (16 octets, big-endian) and the record's kind ('n'
// note, 'r' a receipt's state, 'd' a receipt delivered to the ESME, 'f' final) -> the record;
// 't', tenant (u16 BE), submit_ms (u64 BE), message key -> "" (list by tenant). Held messages,
// which leave only with their held_done, live in their own column family "held": id (u64 BE)
// -> the record, deleted by the held_done.
//
// capacity_bytes here counts the keys and values written to the buckets (RocksDB compresses and
// compacts underneath, so its files are about that size; the WAL is bounded by RocksDB's
// max_total_wal_size).
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <shared_mutex>
#include <vector>

#include "engine_support.hpp"

namespace smpp::store::detail {
namespace {

constexpr std::size_t note_key_bytes = 1 + key_bytes + 1;
constexpr std::size_t tenant_key_bytes = 1 + 2 + 8 + key_bytes;
constexpr std::uint64_t min_bucket_bytes = 4096;

struct bucket {
  std::uint64_t number = 0;
  std::uint64_t created_ms = 0;
  std::uint64_t last_ms = 0;
  std::uint64_t bytes = 0;  // keys and values written to it
  rocksdb::ColumnFamilyHandle* cf = nullptr;
};

std::string bucket_name(std::uint64_t number, std::uint64_t created_ms) {
  std::array<char, 48> name{};
  std::snprintf(name.data(), name.size(), "b%016llx-%llu", static_cast<unsigned long long>(number),
                static_cast<unsigned long long>(created_ms));
  return name.data();
}

std::array<std::byte, note_key_bytes> note_key(const message_key& k, char kind) noexcept {
  std::array<std::byte, note_key_bytes> out{};
  out[0] = std::byte{'k'};
  const auto o = key_to_octets(k);
  std::memcpy(out.data() + 1, o.data(), o.size());
  out[note_key_bytes - 1] = static_cast<std::byte>(kind);
  return out;
}

template <std::size_t N>
rocksdb::Slice slice(const std::array<std::byte, N>& a) noexcept {
  return {reinterpret_cast<const char*>(a.data()), N};
}
rocksdb::Slice slice(std::span<const std::byte> s) noexcept {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}
std::span<const std::byte> bytes_of(const rocksdb::Slice& s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

class rocksdb_backend final : public backend {
 public:
  explicit rocksdb_backend(const store_config& config);
  ~rocksdb_backend() override;
  rocksdb_backend(const rocksdb_backend&) = delete;
  rocksdb_backend& operator=(const rocksdb_backend&) = delete;

  void recover(recovery_visitor& visitor) override;
  void append(std::span<const std::byte> records) override;
  std::optional<message_status> lookup(const message_key& key) override;
  std::vector<message_status> list(std::uint16_t tenant, std::uint64_t since_ms,
                                   std::size_t limit) override;
  backend_stats stats() const override { return stats_.snapshot(); }

 private:
  void check(const rocksdb::Status& s, std::string_view what) const {
    if (!s.ok()) throw_store(config_.path, std::string(what) + ": rocksdb: " + s.ToString());
  }
  void open_new_bucket(std::uint64_t now);
  void maintain(std::uint64_t now);
  void drop_oldest(std::uint64_t now);
  [[nodiscard]] bool has_final(const message_key& key, std::size_t from) const;
  [[nodiscard]] std::optional<message_status> status_locked(const message_key& key,
                                                            std::uint64_t now) const;

  const store_config config_;
  std::uint64_t bucket_bytes_ = 0;
  std::uint64_t bucket_ms_ = 0;
  rocksdb::ColumnFamilyOptions cf_options_;
  rocksdb::WriteOptions write_options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* held_cf_ = nullptr;
  bool current_open_ = false;
  bool failed_ = false;           // the last write failed: resume before the next
  std::uint64_t held_bytes_ = 0;  // of the held messages in custody (counted at recovery on)

  mutable std::shared_mutex mu_;  // lookups share it; creating and dropping buckets takes it
  std::vector<bucket> buckets_;   // oldest first; the back is written

  stats_counters stats_;
};

rocksdb_backend::rocksdb_backend(const store_config& config) : config_(config) {
  prepare_directory(config_.path);
  bucket_bytes_ = std::max<std::uint64_t>(min_bucket_bytes, config_.capacity_bytes / 8);
  bucket_ms_ = std::max<std::uint64_t>(1, config_.ttl_ms / 8);
  rocksdb::BlockBasedTableOptions table;
  // Lookups ask every bucket for a key that is in one or two of them.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf_options_.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  write_options_.sync = config_.sync == sync_policy::fsync;
  write_options_.disableWAL = false;

  std::vector<std::string> names;
  const auto listed = rocksdb::DB::ListColumnFamilies(options, config_.path.string(), &names);
  if (!listed.ok()) names = {rocksdb::kDefaultColumnFamilyName};
  if (std::find(names.begin(), names.end(), "held") == names.end()) names.push_back("held");
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, cf_options_);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  check(rocksdb::DB::Open(options, config_.path.string(), descriptors, &handles, &db), "open");
  db_.reset(db);
  for (std::size_t i = 0; i < names.size(); ++i) {
    unsigned long long number = 0;
    unsigned long long created = 0;
    if (names[i] == rocksdb::kDefaultColumnFamilyName) {
      default_cf_ = handles[i];
    } else if (names[i] == "held") {
      held_cf_ = handles[i];
    } else if (std::sscanf(names[i].c_str(), "b%16llx-%llu", &number, &created) == 2) {
      buckets_.push_back(bucket{number, created, created, 0, handles[i]});
    } else {
      db_->DestroyColumnFamilyHandle(handles[i]);  // not ours: left alone
    }
  }
  std::sort(buckets_.begin(), buckets_.end(),
            [](const bucket& a, const bucket& b) { return a.number < b.number; });
  // A bucket's last write was at the latest when the next one was created.
  for (std::size_t i = 0; i + 1 < buckets_.size(); ++i) {
    buckets_[i].last_ms = buckets_[i + 1].created_ms;
  }
  if (!buckets_.empty()) buckets_.back().last_ms = now_ms();
}

rocksdb_backend::~rocksdb_backend() {
  if (!db_) return;
  for (auto& b : buckets_) db_->DestroyColumnFamilyHandle(b.cf);
  if (held_cf_ != nullptr) db_->DestroyColumnFamilyHandle(held_cf_);
  if (default_cf_ != nullptr) db_->DestroyColumnFamilyHandle(default_cf_);
  db_->Close().PermitUncheckedError();
}

// The buckets share the keys' order: one pass over all of them merged gathers each message's
// note, receipts and final wherever they are.
void rocksdb_backend::recover(recovery_visitor& visitor) {
  const std::uint64_t now = now_ms();
  const rocksdb::ReadOptions read;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, held_cf_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const auto v = decode(bytes_of(it->value()));
      if (!v || v->kind != record_kind::held)
        throw_store(config_.path, "recover: a bad held record");
      held_bytes_ += v->size;
      visitor.on_held(v->held);
    }
    check(it->status(), "recover");
  }
  std::vector<std::unique_ptr<rocksdb::Iterator>> its;
  for (auto& b : buckets_) {
    its.emplace_back(db_->NewIterator(read, b.cf));
    its.back()->Seek("k");
  }
  auto in_notes = [](const rocksdb::Iterator& it) {
    return it.Valid() && it.key().size() == note_key_bytes && it.key()[0] == 'k';
  };
  std::uint64_t total = 0;
  std::vector<std::byte> note;  // the newest note of the current key
  for (;;) {
    const rocksdb::Iterator* least = nullptr;
    for (const auto& it : its) {
      if (in_notes(*it) &&
          (least == nullptr ||
           std::memcmp(it->key().data() + 1, least->key().data() + 1, key_bytes) < 0)) {
        least = it.get();
      }
    }
    if (least == nullptr) break;
    std::array<char, key_bytes> key{};
    std::memcpy(key.data(), least->key().data() + 1, key_bytes);
    note.clear();
    bool final_ = false;
    for (std::size_t i = 0; i < its.size(); ++i) {  // oldest bucket first: the newest note wins
      auto& it = *its[i];
      // Within a bucket a final follows the note it ends (a note deletes its bucket's final),
      // though 'f' sorts first; a note in a newer bucket is a new message of the same id.
      bool bucket_note = false;
      bool bucket_final = false;
      while (in_notes(it) && std::memcmp(it.key().data() + 1, key.data(), key_bytes) == 0) {
        const char kind = it.key()[note_key_bytes - 1];
        buckets_[i].bytes += it.key().size() + it.value().size();
        if (kind == 'n') {
          const auto v = bytes_of(it.value());
          note.assign(v.begin(), v.end());
          buckets_[i].bytes += tenant_key_bytes;
          bucket_note = true;
        } else if (kind == 'f') {
          bucket_final = true;
        }
        it.Next();
      }
      if (bucket_note) {
        final_ = bucket_final;
      } else if (bucket_final) {
        final_ = true;
      }
    }
    if (note.empty() || final_) continue;
    const auto v = decode(note);
    if (!v || v->kind != record_kind::note) throw_store(config_.path, "recover: a bad note");
    if (!expired(config_, v->note.submit_ms, now)) visitor.on_note(v->note);
  }
  for (const auto& it : its) check(it->status(), "recover");
  for (const auto& b : buckets_) total += b.bytes;
  stats_.bytes.store(total + held_bytes_, std::memory_order_relaxed);
}

void rocksdb_backend::open_new_bucket(std::uint64_t now) {
  const std::uint64_t number = buckets_.empty() ? 1 : buckets_.back().number + 1;
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  check(db_->CreateColumnFamily(cf_options_, bucket_name(number, now), &cf), "create bucket");
  const std::unique_lock lock(mu_);
  buckets_.push_back(bucket{number, now, now, 0, cf});
  current_open_ = true;
}

void rocksdb_backend::append(std::span<const std::byte> records) {
  if (records.empty()) return;
  const std::uint64_t now = now_ms();
  if (!current_open_ || buckets_.back().bytes >= bucket_bytes_ ||
      now - buckets_.back().created_ms >= bucket_ms_) {
    open_new_bucket(now);
  }
  bucket& b = buckets_.back();
  rocksdb::WriteBatch batch;
  std::uint64_t count = 0;
  std::uint64_t bucket_bytes = 0;
  std::int64_t held_delta = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> done;  // held ids ending, their sizes
  check_group(config_.path, records);
  // Each record's own octets are its value.
  std::span<const std::byte> in = records;
  std::array<std::byte, 8> id{};
  std::array<std::byte, tenant_key_bytes> tkey{};
  while (!in.empty()) {
    const record_view v = *decode(in);  // checked above
    const std::span<const std::byte> value = in.first(v.size);
    ++count;
    switch (v.kind) {
      case record_kind::note: {
        // A message noted again under an id that ended (or another message of the same id):
        // what the bucket holds of the earlier one's receipts and final is not its.
        for (const char gone : {'r', 'd', 'f'}) {
          const auto old = note_key(v.note.key, gone);
          check(batch.Delete(b.cf, slice(old)), "append");
        }
        const auto k = note_key(v.note.key, 'n');
        check(batch.Put(b.cf, slice(k), slice(value)), "append");
        tkey[0] = std::byte{'t'};
        put_be16(tkey.data() + 1, v.note.tenant);
        put_be64(tkey.data() + 3, v.note.submit_ms);
        const auto o = key_to_octets(v.note.key);
        std::memcpy(tkey.data() + 11, o.data(), o.size());
        check(batch.Put(b.cf, slice(tkey), rocksdb::Slice()), "append");
        bucket_bytes += k.size() + value.size() + tkey.size();
        break;
      }
      case record_kind::receipt: {
        const auto k = note_key(v.receipt.key, v.receipt.delivered ? 'd' : 'r');
        check(batch.Put(b.cf, slice(k), slice(value)), "append");
        bucket_bytes += k.size() + value.size();
        break;
      }
      case record_kind::final_: {
        const auto k = note_key(v.final_.key, 'f');
        check(batch.Put(b.cf, slice(k), slice(value)), "append");
        bucket_bytes += k.size() + value.size();
        break;
      }
      case record_kind::held:
        put_be64(id.data(), v.held.id);
        check(batch.Put(held_cf_, slice(id), slice(value)), "append");
        held_delta += static_cast<std::int64_t>(v.size);
        break;
      case record_kind::held_done:
        put_be64(id.data(), v.held_done.id);
        check(batch.Delete(held_cf_, slice(id)), "append");
        done.emplace_back(v.held_done.id, 0);
        break;
    }
    in = in.subspan(v.size);
  }
  if (held_delta > 0 &&
      held_bytes_ + static_cast<std::uint64_t>(held_delta) > config_.capacity_bytes / 2) {
    throw_store(config_.path, "append: held messages in custody over half the capacity");
  }
  // The sizes of the held messages ending, for the custody bound.
  for (auto& [held_id, size] : done) {
    put_be64(id.data(), held_id);
    std::string value;
    if (db_->Get(rocksdb::ReadOptions(), held_cf_, slice(id), &value).ok()) size = value.size();
  }
  if (failed_) {
    // A failed write leaves RocksDB read-only until resumed (its background error); lookups
    // answered meanwhile.
    check(db_->Resume(), "append: resume after a failed write");
    failed_ = false;
  }
  if (const auto st = db_->Write(write_options_, &batch); !st.ok()) {
    failed_ = true;
    check(st, "append");
  }
  held_bytes_ += static_cast<std::uint64_t>(held_delta);
  std::uint64_t ended = 0;
  for (const auto& d : done) ended += d.second;
  held_bytes_ -= std::min(held_bytes_, ended);
  b.bytes += bucket_bytes;
  b.last_ms = now;
  std::uint64_t total = held_bytes_;
  for (const auto& x : buckets_) total += x.bytes;
  stats_.bytes.store(total, std::memory_order_relaxed);
  stats_.records.fetch_add(count, std::memory_order_relaxed);
  stats_.groups.fetch_add(1, std::memory_order_relaxed);
  try {
    maintain(now);
  } catch (const store_error&) {
    // The group is kept; space is reclaimed at a later append.
  }
}

void rocksdb_backend::maintain(std::uint64_t now) {
  while (buckets_.size() > 1) {
    const bucket& oldest = buckets_.front();
    const bool too_old = oldest.last_ms + config_.ttl_ms < now;
    const bool too_big = stats_.bytes.load(std::memory_order_relaxed) > config_.capacity_bytes;
    if (!too_old && !too_big) return;
    drop_oldest(now);
  }
}

bool rocksdb_backend::has_final(const message_key& key, std::size_t from) const {
  const auto k = note_key(key, 'f');
  std::string value;
  for (std::size_t i = from; i < buckets_.size(); ++i) {
    if (db_->Get(rocksdb::ReadOptions(), buckets_[i].cf, slice(k), &value).ok()) return true;
  }
  return false;
}

// Counts the notes of the bucket that have no final in it or any newer bucket, then drops it.
void rocksdb_backend::drop_oldest(std::uint64_t now) {
  const bucket old = buckets_.front();
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), old.cf));
    for (it->Seek("k"); it->Valid() && it->key()[0] == 'k'; it->Next()) {
      if (it->key().size() != note_key_bytes || it->key()[note_key_bytes - 1] != 'n') continue;
      const auto v = decode(bytes_of(it->value()));
      if (!v || v->kind != record_kind::note || has_final(v->note.key, 0)) continue;
      stats_.count_gone(expired(config_, v->note.submit_ms, now));
    }
  }
  {
    const std::unique_lock lock(mu_);
    buckets_.erase(buckets_.begin());
  }
  check(db_->DropColumnFamily(old.cf), "drop bucket");
  check(db_->DestroyColumnFamilyHandle(old.cf), "drop bucket");
  stats_.bytes.fetch_sub(std::min(old.bytes, stats_.bytes.load(std::memory_order_relaxed)),
                         std::memory_order_relaxed);
}

std::optional<message_status> rocksdb_backend::status_locked(const message_key& key,
                                                             std::uint64_t now) const {
  std::optional<message_status> status;
  bool final_ = false;
  std::uint64_t final_ms = 0;
  bool delivered = false;
  receipt_state state = receipt_state::none;
  std::uint64_t state_ms = 0;
  const std::array<char, 4> kinds{'n', 'r', 'd', 'f'};
  std::array<std::array<std::byte, note_key_bytes>, 4> keys{};
  std::array<rocksdb::Slice, 4> slices;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    keys[i] = note_key(key, kinds[i]);
    slices[i] = slice(keys[i]);
  }
  std::array<rocksdb::PinnableSlice, 4> values;
  std::array<rocksdb::Status, 4> results;
  for (const bucket& b : buckets_) {  // oldest first: what is newer overrides
    db_->MultiGet(rocksdb::ReadOptions(), b.cf, slices.size(), slices.data(), values.data(),
                  results.data());
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      if (!results[i].ok()) continue;
      const auto v = decode(bytes_of(values[i]));
      if (v && v->kind == record_kind::note) {
        // A newer note starts a new message of the id: what came before was another's.
        status = status_of(v->note);
        final_ = false;
        final_ms = 0;
        delivered = false;
        state = receipt_state::none;
        state_ms = 0;
      } else if (v && v->kind == record_kind::receipt) {
        delivered = delivered || v->receipt.delivered;
        if (v->receipt.state != receipt_state::none && v->receipt.time_ms >= state_ms) {
          state = v->receipt.state;
          state_ms = v->receipt.time_ms;
        }
      } else if (v && v->kind == record_kind::final_) {
        final_ = true;
        final_ms = v->final_.time_ms;
      }
      values[i].Reset();
    }
  }
  if (!status || !answerable(config_, status->submit_ms, final_, final_ms, now)) {
    return std::nullopt;
  }
  status->state = state;
  status->state_ms = state_ms;
  status->delivered = delivered;
  status->final_ = final_;
  return status;
}

std::optional<message_status> rocksdb_backend::lookup(const message_key& key) {
  const std::uint64_t now = now_ms();
  const std::shared_lock lock(mu_);
  return status_locked(key, now);
}

// Oldest first: the buckets in order, in each the tenant's notes by submit time.
std::vector<message_status> rocksdb_backend::list(std::uint16_t tenant, std::uint64_t since_ms,
                                                  std::size_t limit) {
  const std::uint64_t now = now_ms();
  std::vector<message_status> out;
  const std::shared_lock lock(mu_);
  std::array<std::byte, 11> from{};
  from[0] = std::byte{'t'};
  put_be16(from.data() + 1, tenant);
  put_be64(from.data() + 3, since_ms);
  for (const bucket& b : buckets_) {  // cf only: the journal's thread writes the rest
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), b.cf));
    for (it->Seek(slice(from)); it->Valid() && out.size() < limit; it->Next()) {
      const auto k = bytes_of(it->key());
      if (k.size() != tenant_key_bytes || std::memcmp(k.data(), from.data(), 3) != 0) break;
      const message_key key = key_from_octets(k.data() + 11);
      auto status = status_locked(key, now);
      if (status && status->tenant == tenant) out.push_back(std::move(*status));
    }
    if (out.size() >= limit) break;
  }
  return out;
}

}  // namespace

std::unique_ptr<backend> make_rocksdb_backend(const store_config& config) {
  return std::make_unique<rocksdb_backend>(config);
}

}  // namespace smpp::store::detail
