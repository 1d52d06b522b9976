// The LMDB engine: one write transaction per group, one B+tree per kind of entry.
//
//   notes   message key (16 octets BE) -> state (state u8, delivered u8, final u8, state_ms u64,
//           final_ms u64, little-endian) and the note record
//   time    submit_ms (u64 BE), message key -> ""   (oldest first: TTL and eviction)
//   tenant  tenant (u16 BE), submit_ms, message key -> ""   (list by tenant)
//   held    id (u64 BE) -> the held record, deleted by its held_done
// A receipt or a final reads its note and writes it back in the same transaction.
//
// Durability: "fsync" commits with LMDB's default (the data pages and then the meta page are
// fsynced: survives a power loss). "batch" opens the environment with MDB_NOSYNC: a commit writes
// the pages with pwrite(2) into the operating system's cache and returns without fsync, so a
// committed group survives a crash of the process (the kernel still has it), not a power loss,
// and the database stays consistent either way (the meta page is written after the data). We
// do not use MDB_WRITEMAP: with it a stray write through the map could corrupt the file.
//
// Space: the map is capacity_bytes. Past 70 % of it in use (pages of the four trees), the oldest
// notes go in batches until under 60 % (counted evicted, or expired when past their ttl);
// notes past their ttl go in batches of at most 10,000 every 64 appends. Held messages are never
// evicted: past half the capacity in custody a new one is refused (append throws). A group that
// still does not fit (MDB_MAP_FULL) makes room by eviction and is tried once more.
#include <lmdb.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <vector>

#include "engine_support.hpp"

namespace smpp::store::detail {
namespace {

constexpr std::size_t state_bytes = 3 + 8 + 8;
constexpr std::size_t time_key_bytes = 8 + key_bytes;
constexpr std::size_t tenant_key_bytes = 2 + 8 + key_bytes;
constexpr std::size_t sweep_batch = 10'000;
constexpr std::size_t evict_batch = 4096;
constexpr std::uint64_t sweep_every_groups = 64;  // TTL; capacity is checked every group

void put_le64(std::byte* p, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}
std::uint64_t get_le64(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

MDB_val val(const void* p, std::size_t n) noexcept {
  return MDB_val{n, const_cast<void*>(p)};
}
std::span<const std::byte> bytes_of(const MDB_val& v) noexcept {
  return {static_cast<const std::byte*>(v.mv_data), v.mv_size};
}

// The state part of a notes value.
struct note_state {
  receipt_state state = receipt_state::none;
  bool delivered = false;
  bool final_ = false;
  std::uint64_t state_ms = 0;
  std::uint64_t final_ms = 0;
};
note_state state_of(std::span<const std::byte> v) noexcept {
  note_state s;
  s.state = static_cast<receipt_state>(v[0]);
  s.delivered = v[1] != std::byte{0};
  s.final_ = v[2] != std::byte{0};
  s.state_ms = get_le64(v.data() + 3);
  s.final_ms = get_le64(v.data() + 11);
  return s;
}
void put_state(std::byte* p, const note_state& s) noexcept {
  p[0] = static_cast<std::byte>(s.state);
  p[1] = static_cast<std::byte>(s.delivered ? 1 : 0);
  p[2] = static_cast<std::byte>(s.final_ ? 1 : 0);
  put_le64(p + 3, s.state_ms);
  put_le64(p + 11, s.final_ms);
}

// A read or write transaction, aborted unless committed.
class txn {
 public:
  txn(MDB_env* env, unsigned flags, const std::filesystem::path& path) {
    if (const int rc = mdb_txn_begin(env, nullptr, flags, &t_); rc != 0) {
      throw_store(path, std::string("lmdb: begin: ") + mdb_strerror(rc));
    }
  }
  ~txn() {
    if (t_ != nullptr) mdb_txn_abort(t_);
  }
  txn(const txn&) = delete;
  txn& operator=(const txn&) = delete;
  [[nodiscard]] int commit() noexcept {
    const int rc = mdb_txn_commit(t_);
    t_ = nullptr;
    return rc;
  }
  [[nodiscard]] MDB_txn* get() const noexcept { return t_; }

 private:
  MDB_txn* t_ = nullptr;
};

// Thrown inside a write transaction when the map is full: the group is retried after eviction.
struct map_full {};

class lmdb_backend final : public backend {
 public:
  explicit lmdb_backend(const store_config& config);
  ~lmdb_backend() override {
    if (env_ != nullptr) mdb_env_close(env_);
  }
  lmdb_backend(const lmdb_backend&) = delete;
  lmdb_backend& operator=(const lmdb_backend&) = delete;

  void recover(recovery_visitor& visitor) override;
  void append(std::span<const std::byte> records) override;
  std::optional<message_status> lookup(const message_key& key) override;
  std::vector<message_status> list(std::uint16_t tenant, std::uint64_t since_ms,
                                   std::size_t limit) override;
  backend_stats stats() const override { return stats_.snapshot(); }

 private:
  void check(int rc, std::string_view what) const {
    if (rc == MDB_MAP_FULL) throw map_full{};
    if (rc != 0) throw_store(config_.path, std::string(what) + ": lmdb: " + mdb_strerror(rc));
  }
  void put(MDB_txn* t, MDB_dbi db, MDB_val k, MDB_val v) const {
    check(mdb_put(t, db, &k, &v, 0), "append");
  }
  void write_group(std::span<const std::byte> records, std::uint64_t& held_delta_in,
                   std::uint64_t& held_delta_out);
  // Removes up to `most` of the oldest notes (only those past their ttl when `only_expired`);
  // returns how many entries of the time tree it removed.
  std::size_t remove_oldest(std::size_t most, bool only_expired, std::uint64_t now);
  [[nodiscard]] std::uint64_t used_bytes() const;
  void maintain(std::uint64_t now, bool sweep);
  [[nodiscard]] std::optional<message_status> status_in(MDB_txn* t, const message_key& key,
                                                        std::uint64_t now) const;

  const store_config config_;
  MDB_env* env_ = nullptr;
  MDB_dbi notes_ = 0;
  MDB_dbi time_ = 0;
  MDB_dbi tenant_ = 0;
  MDB_dbi held_ = 0;
  std::uint64_t map_bytes_ = 0;
  std::uint64_t held_bytes_ = 0;
  std::vector<std::byte> value_;  // a notes value being built

  stats_counters stats_;
};

lmdb_backend::lmdb_backend(const store_config& config) : config_(config) {
  prepare_directory(config_.path);
  constexpr std::uint64_t page = 4096;
  map_bytes_ = std::max<std::uint64_t>(1u << 20, (config_.capacity_bytes + page - 1) / page * page);
  auto fail = [&](int rc, std::string_view what) {
    if (env_ != nullptr) mdb_env_close(env_);
    env_ = nullptr;
    throw_store(config_.path, std::string(what) + ": lmdb: " + mdb_strerror(rc));
  };
  if (const int rc = mdb_env_create(&env_); rc != 0) fail(rc, "create");
  if (const int rc = mdb_env_set_maxdbs(env_, 4); rc != 0) fail(rc, "maxdbs");
  if (const int rc = mdb_env_set_mapsize(env_, map_bytes_); rc != 0) fail(rc, "mapsize");
  // MDB_NOTLS: lookups open read transactions on the admin threads, not one per thread for life.
  unsigned flags = MDB_NOTLS;
  if (config_.sync == sync_policy::batch) flags |= MDB_NOSYNC;
  if (const int rc = mdb_env_open(env_, config_.path.c_str(), flags, 0644); rc != 0) {
    fail(rc, "open");
  }
  // Reader slots of a process killed in a read transaction would pin old pages for ever.
  int stale = 0;
  if (const int rc = mdb_reader_check(env_, &stale); rc != 0) fail(rc, "reader check");
  try {
    txn t(env_, 0, config_.path);
    check(mdb_dbi_open(t.get(), "notes", MDB_CREATE, &notes_), "open");
    check(mdb_dbi_open(t.get(), "time", MDB_CREATE, &time_), "open");
    check(mdb_dbi_open(t.get(), "tenant", MDB_CREATE, &tenant_), "open");
    check(mdb_dbi_open(t.get(), "held", MDB_CREATE, &held_), "open");
    check(t.commit(), "open");
  } catch (const map_full&) {
    fail(MDB_MAP_FULL, "open");
  } catch (...) {
    mdb_env_close(env_);
    env_ = nullptr;
    throw;
  }
  stats_.bytes.store(used_bytes(), std::memory_order_relaxed);
}

std::uint64_t lmdb_backend::used_bytes() const {
  txn t(env_, MDB_RDONLY, config_.path);
  std::uint64_t pages = 4;  // the two meta pages and the roots of the main and free trees
  for (const MDB_dbi db : {notes_, time_, tenant_, held_}) {
    MDB_stat st{};
    if (mdb_stat(t.get(), db, &st) == 0) {
      pages += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    }
  }
  return pages * 4096;
}

void lmdb_backend::recover(recovery_visitor& visitor) {
  const std::uint64_t now = now_ms();
  txn t(env_, MDB_RDONLY, config_.path);
  MDB_cursor* c = nullptr;
  check(mdb_cursor_open(t.get(), held_, &c), "recover");
  MDB_val k{};
  MDB_val v{};
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    const auto r = decode(bytes_of(v));
    if (!r || r->kind != record_kind::held) throw_store(config_.path, "recover: a bad held record");
    held_bytes_ += r->size;
    visitor.on_held(r->held);
  }
  mdb_cursor_close(c);
  // Notes in submit order, from the time tree.
  check(mdb_cursor_open(t.get(), time_, &c), "recover");
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != time_key_bytes) continue;
    const std::byte* tk = static_cast<const std::byte*>(k.mv_data);
    MDB_val nk = val(tk + 8, key_bytes);
    MDB_val nv{};
    if (mdb_get(t.get(), notes_, &nk, &nv) != 0 || nv.mv_size < state_bytes) continue;
    const auto value = bytes_of(nv);
    const note_state s = state_of(value);
    const auto r = decode(value.subspan(state_bytes));
    if (!r || r->kind != record_kind::note || r->note.submit_ms != get_be64(tk)) continue;
    if (!s.final_ && !expired(config_, r->note.submit_ms, now)) visitor.on_note(r->note);
  }
  mdb_cursor_close(c);
}

void lmdb_backend::write_group(std::span<const std::byte> records, std::uint64_t& held_in,
                               std::uint64_t& held_out) {
  txn t(env_, 0, config_.path);
  std::array<std::byte, 8> id{};
  std::array<std::byte, time_key_bytes> tk{};
  std::array<std::byte, tenant_key_bytes> nk{};
  auto update = [&](const message_key& key, auto&& change) {
    const auto ko = key_to_octets(key);
    MDB_val k = val(ko.data(), ko.size());
    MDB_val v{};
    if (mdb_get(t.get(), notes_, &k, &v) != 0 || v.mv_size < state_bytes) return;
    value_.assign(bytes_of(v).begin(), bytes_of(v).end());
    note_state s = state_of(value_);
    change(s);
    put_state(value_.data(), s);
    put(t.get(), notes_, k, val(value_.data(), value_.size()));
  };
  for (auto in = records; !in.empty();) {
    const record_view r = *decode(in);  // checked by append
    const std::span<const std::byte> rec = in.first(r.size);
    switch (r.kind) {
      case record_kind::note: {
        const auto ko = key_to_octets(r.note.key);
        value_.assign(state_bytes, std::byte{0});
        value_.insert(value_.end(), rec.begin(), rec.end());
        put(t.get(), notes_, val(ko.data(), ko.size()), val(value_.data(), value_.size()));
        put_be64(tk.data(), r.note.submit_ms);
        std::memcpy(tk.data() + 8, ko.data(), ko.size());
        put(t.get(), time_, val(tk.data(), tk.size()), val(nullptr, 0));
        put_be16(nk.data(), r.note.tenant);
        std::memcpy(nk.data() + 2, tk.data(), tk.size());
        put(t.get(), tenant_, val(nk.data(), nk.size()), val(nullptr, 0));
        break;
      }
      case record_kind::receipt:
        update(r.receipt.key, [&](note_state& s) {
          if (r.receipt.state != receipt_state::none) {
            s.state = r.receipt.state;
            s.state_ms = r.receipt.time_ms;
          }
          s.delivered = s.delivered || r.receipt.delivered;
        });
        break;
      case record_kind::final_:
        update(r.final_.key, [&](note_state& s) {
          s.final_ = true;
          s.final_ms = r.final_.time_ms;
        });
        break;
      case record_kind::held:
        put_be64(id.data(), r.held.id);
        put(t.get(), held_, val(id.data(), id.size()), val(rec.data(), rec.size()));
        held_in += r.size;
        break;
      case record_kind::held_done: {
        put_be64(id.data(), r.held_done.id);
        MDB_val k = val(id.data(), id.size());
        MDB_val v{};
        if (mdb_get(t.get(), held_, &k, &v) == 0) {
          held_out += v.mv_size;
          check(mdb_del(t.get(), held_, &k, nullptr), "append");
        }
        break;
      }
    }
    in = in.subspan(r.size);
  }
  check(t.commit(), "append");
}

void lmdb_backend::append(std::span<const std::byte> records) {
  if (records.empty()) return;
  std::uint64_t count = 0;
  std::uint64_t new_held = 0;
  for_each_record(config_.path, records, [&](const record_view& v) {
    ++count;
    if (v.kind == record_kind::held) new_held += v.size;
  });
  if (new_held != 0 && held_bytes_ + new_held > config_.capacity_bytes / 2) {
    throw_store(config_.path, "append: held messages in custody over half the capacity");
  }
  const std::uint64_t now = now_ms();
  std::uint64_t held_in = 0;
  std::uint64_t held_out = 0;
  try {
    write_group(records, held_in, held_out);
  } catch (const map_full&) {
    // Make room (the oldest notes) and try once more.
    held_in = held_out = 0;
    try {
      remove_oldest(evict_batch * 4, false, now);
      write_group(records, held_in, held_out);
    } catch (const map_full&) {
      throw_store(config_.path, "append: lmdb: the map is full (capacity_bytes)");
    }
  }
  held_bytes_ = held_bytes_ + held_in - std::min(held_bytes_ + held_in, held_out);
  stats_.records.fetch_add(count, std::memory_order_relaxed);
  const std::uint64_t groups = stats_.groups.fetch_add(1, std::memory_order_relaxed) + 1;
  {
    try {
      maintain(now, groups % sweep_every_groups == 0);
    } catch (const store_error&) {
      // The group is kept; space is reclaimed at a later append.
    } catch (const map_full&) {
    }
  }
}

std::size_t lmdb_backend::remove_oldest(std::size_t most, bool only_expired, std::uint64_t now) {
  txn t(env_, 0, config_.path);
  MDB_cursor* c = nullptr;
  check(mdb_cursor_open(t.get(), time_, &c), "evict");
  std::size_t removed = 0;
  std::array<std::byte, tenant_key_bytes> nk{};
  MDB_val k{};
  MDB_val v{};
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && removed < most;
       rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) {
    const std::byte* tk = static_cast<const std::byte*>(k.mv_data);
    const std::uint64_t submit = get_be64(tk);
    const bool is_expired = expired(config_, submit, now);
    if (only_expired && !is_expired) break;
    std::array<std::byte, key_bytes> key{};
    std::memcpy(key.data(), tk + 8, key_bytes);
    MDB_val mk = val(key.data(), key.size());
    MDB_val mv{};
    if (mdb_get(t.get(), notes_, &mk, &mv) == 0 && mv.mv_size >= state_bytes) {
      const auto value = bytes_of(mv);
      const auto r = decode(value.subspan(state_bytes));
      if (r && r->kind == record_kind::note && r->note.submit_ms == submit) {
        put_be16(nk.data(), r->note.tenant);
        std::memcpy(nk.data() + 2, tk, time_key_bytes);
        if (!state_of(value).final_) {
          stats_.count_gone(is_expired);
        }
        MDB_val tnk = val(nk.data(), nk.size());
        if (const int del = mdb_del(t.get(), tenant_, &tnk, nullptr); del != MDB_NOTFOUND) {
          check(del, "evict");
        }
        check(mdb_del(t.get(), notes_, &mk, nullptr), "evict");
      }
    }
    check(mdb_cursor_del(c, 0), "evict");
    ++removed;
  }
  mdb_cursor_close(c);
  check(t.commit(), "evict");
  return removed;
}

void lmdb_backend::maintain(std::uint64_t now, bool sweep) {
  if (sweep) remove_oldest(sweep_batch, true, now);
  std::uint64_t used = used_bytes();
  if (used > map_bytes_ / 10 * 7) {
    while (used > map_bytes_ / 10 * 6 && remove_oldest(evict_batch, false, now) != 0) {
      used = used_bytes();
    }
  }
  stats_.bytes.store(used, std::memory_order_relaxed);
}

std::optional<message_status> lmdb_backend::status_in(MDB_txn* t, const message_key& key,
                                                      std::uint64_t now) const {
  const auto ko = key_to_octets(key);
  MDB_val k = val(ko.data(), ko.size());
  MDB_val v{};
  if (mdb_get(t, notes_, &k, &v) != 0 || v.mv_size < state_bytes) return std::nullopt;
  const auto value = bytes_of(v);
  const note_state s = state_of(value);
  const auto r = decode(value.subspan(state_bytes));
  if (!r || r->kind != record_kind::note) return std::nullopt;
  if (!answerable(config_, r->note.submit_ms, s.final_, s.final_ms, now)) return std::nullopt;
  message_status status = status_of(r->note);
  status.state = s.state;
  status.state_ms = s.state_ms;
  status.delivered = s.delivered;
  status.final_ = s.final_;
  return status;
}

std::optional<message_status> lmdb_backend::lookup(const message_key& key) {
  txn t(env_, MDB_RDONLY, config_.path);
  return status_in(t.get(), key, now_ms());
}

std::vector<message_status> lmdb_backend::list(std::uint16_t tenant, std::uint64_t since_ms,
                                               std::size_t limit) {
  const std::uint64_t now = now_ms();
  std::vector<message_status> out;
  txn t(env_, MDB_RDONLY, config_.path);
  MDB_cursor* c = nullptr;
  check(mdb_cursor_open(t.get(), tenant_, &c), "list");
  std::array<std::byte, 10> from{};
  put_be16(from.data(), tenant);
  put_be64(from.data() + 2, since_ms);
  MDB_val k = val(from.data(), from.size());
  MDB_val v{};
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && out.size() < limit;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    const std::byte* p = static_cast<const std::byte*>(k.mv_data);
    if (k.mv_size != tenant_key_bytes || std::memcmp(p, from.data(), 2) != 0) break;
    auto status = status_in(t.get(), key_from_octets(p + 10), now);
    if (status && status->tenant == tenant && status->submit_ms == get_be64(p + 2)) {
      out.push_back(std::move(*status));
    }
  }
  mdb_cursor_close(c);
  return out;
}

}  // namespace

std::unique_ptr<backend> make_lmdb_backend(const store_config& config) {
  return std::make_unique<lmdb_backend>(config);
}

}  // namespace smpp::store::detail
