// The log engine: an append-only log of segment files in the shard's directory, and an index of
// the live state in memory rebuilt from it at start.
//
// On disk: seg-<16 hex digits>.log, numbered in order. A segment starts with 16 octets
// ("SMPPLOG1" and 8 reserved) and holds groups; a group is a 16-octet header (magic "SMPG", the
// body's length u32, CRC-32C of the length and the body u32, reserved u32, little-endian) and
// the body, the group's records as record.hpp encodes them, written with one pwritev(2) at the
// segment's end. Opening scans every segment in order and keeps each group whose header, checksum
// and records are whole; at the first that is not (a write torn by a crash) the segment is cut
// there (ftruncate) and the scan goes on with the next segment. Appends go to a new segment each
// run, created when the store opens; a segment is closed at segment_bytes or after segment_ms.
//
// Space: the oldest segment goes whole when it is older than ttl_ms (its notes without a final
// are counted expired) or when the segments are over capacity_bytes (counted evicted, or expired
// when past their ttl). Held messages still in custody in it are copied forward (appended again)
// before it goes: custody ends only with a held_done, and held messages are 1 in 100 records, so
// copying them costs little; a held message over half the capacity in custody is refused instead
// (append throws: the router applies back-pressure, it does not acknowledge what it cannot keep).
//
// Lookups from other threads: the index (key -> where the note is and its latest state) and the
// list of open segments are guarded by one mutex, held by the journal's thread while it applies a
// group (a few microseconds for 256 records) and by a lookup while it reads one note (one pread
// of at most 80 octets); a rehash of the index as it doubles holds it longer (a second at 10 M).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "crc32c.hpp"
#include "engine_support.hpp"

namespace smpp::store::detail {
namespace {

constexpr std::array<char, 8> segment_magic{'S', 'M', 'P', 'P', 'L', 'O', 'G', '1'};
constexpr std::size_t segment_header_bytes = 16;
constexpr std::uint32_t group_magic = 0x47504D53;  // "SMPG" little-endian
constexpr std::size_t group_header_bytes = 16;
constexpr std::size_t max_group_bytes = 16u << 20;
constexpr std::uint64_t max_segment_bytes = 64u << 20;
constexpr std::uint64_t min_segment_bytes = 4096;
constexpr std::size_t list_chunk = 4096;  // keys examined per hold of the mutex by list()

struct note_entry {
  std::uint64_t submit_ms = 0;
  std::uint64_t state_ms = 0;
  std::uint64_t final_ms = 0;
  std::uint64_t segment = 0;
  std::uint32_t offset = 0;  // of the note record in its segment
  std::uint16_t tenant = 0;
  receipt_state state = receipt_state::none;
  bool delivered = false;
  bool final_ = false;
};

struct held_entry {
  std::uint64_t segment = 0;
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
};

struct segment {
  std::uint64_t number = 0;
  int fd = -1;
  std::uint64_t size = 0;
  std::uint64_t created_ms = 0;
  std::uint64_t last_ms = 0;        // of its last append (its mtime after a restart)
  std::vector<message_key> notes;   // noted in it: unindexed when it goes
  std::vector<std::uint64_t> held;  // held in it: copied forward when it goes
};

void put_le32(std::byte* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}
std::uint32_t get_le32(const std::byte* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return v;
}

std::uint32_t group_checksum(std::uint32_t length, std::span<const std::byte> body) noexcept {
  std::array<std::byte, 4> len{};
  put_le32(len.data(), length);
  return crc32c(crc32c(0, len), body);
}

class log_backend final : public backend {
 public:
  explicit log_backend(const store_config& config) : config_(config) {
    prepare_directory(config_.path);
    segment_bytes_ =
        std::clamp<std::uint64_t>(config_.capacity_bytes / 8, min_segment_bytes, max_segment_bytes);
    segment_ms_ = std::max<std::uint64_t>(1, config_.ttl_ms / 8);
    dir_fd_ = ::open(config_.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) throw_system(config_.path, "open", errno);
    try {
      scan();
      // This run's segment, created now: a directory that cannot take it (full, or over the
      // process's file size limit) fails the open, not the first append.
      open_new_segment(now_ms());
    } catch (...) {
      close_all();
      throw;
    }
  }
  ~log_backend() override { close_all(); }
  log_backend(const log_backend&) = delete;
  log_backend& operator=(const log_backend&) = delete;

  void recover(recovery_visitor& visitor) override;
  void append(std::span<const std::byte> records) override;
  std::optional<message_status> lookup(const message_key& key) override;
  std::vector<message_status> list(std::uint16_t tenant, std::uint64_t since_ms,
                                   std::size_t limit) override;
  backend_stats stats() const override { return stats_.snapshot(); }

 private:
  [[nodiscard]] std::filesystem::path file_of(std::uint64_t number) const {
    std::array<char, 32> name{};
    std::snprintf(name.data(), name.size(), "seg-%016llx.log",
                  static_cast<unsigned long long>(number));
    return config_.path / name.data();
  }
  void close_all() noexcept {
    for (auto& s : segments_) ::close(s.fd);
    segments_.clear();
    if (dir_fd_ >= 0) ::close(dir_fd_);
    dir_fd_ = -1;
  }
  void scan();
  [[nodiscard]] std::uint64_t scan_segment(segment& s, std::vector<std::byte>& buf);
  void read_whole(const segment& s, std::vector<std::byte>& buf) const;
  // Applies a checked group at offset `at` of segment s to the index (mu_ held or not yet shared).
  void index_group(segment& s, std::uint64_t at, std::span<const std::byte> body);
  void open_new_segment(std::uint64_t now);
  void write_group(segment& s, std::span<const std::byte> body);
  void maintain(std::uint64_t now);
  void drop_oldest(std::uint64_t now);
  [[nodiscard]] const segment* find_segment(std::uint64_t number) const noexcept;
  [[nodiscard]] std::optional<message_status> status_locked(const message_key& key,
                                                            const note_entry& e) const;

  const store_config config_;
  std::uint64_t segment_bytes_ = 0;
  std::uint64_t segment_ms_ = 0;
  int dir_fd_ = -1;
  std::uint64_t held_bytes_ = 0;

  mutable std::mutex mu_;  // guards what lookups read: segments_ and the two indexes
  std::deque<segment> segments_;
  std::unordered_map<message_key, note_entry, message_key_hash> notes_;
  std::unordered_map<std::uint64_t, held_entry> held_;

  stats_counters stats_;
};

void log_backend::read_whole(const segment& s, std::vector<std::byte>& buf) const {
  buf.resize(s.size);
  std::uint64_t done = 0;
  while (done < s.size) {
    const ssize_t n = ::pread(s.fd, buf.data() + done, s.size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system(file_of(s.number), "read", errno);
    if (n == 0) break;
    done += static_cast<std::uint64_t>(n);
  }
  buf.resize(done);
}

void log_backend::scan() {
  std::vector<std::uint64_t> numbers;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(config_.path, ec)) {
    const std::string name = entry.path().filename().string();
    unsigned long long n = 0;
    char tail = 0;
    if (name.size() == 24 && std::sscanf(name.c_str(), "seg-%16llx.lo%c", &n, &tail) == 2 &&
        tail == 'g') {
      numbers.push_back(n);
    }
  }
  if (ec) throw_system(config_.path, "list", ec.value());
  std::sort(numbers.begin(), numbers.end());
  std::vector<std::byte> buf;
  for (const std::uint64_t n : numbers) {
    segment s;
    s.number = n;
    const auto file = file_of(n);
    s.fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
    if (s.fd < 0) throw_system(file, "open", errno);
    struct stat st {};
    if (::fstat(s.fd, &st) != 0) throw_system(file, "stat", errno);
    s.size = static_cast<std::uint64_t>(st.st_size);
    s.created_ms = s.last_ms = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000 +
                               static_cast<std::uint64_t>(st.st_mtim.tv_nsec) / 1'000'000;
    const std::uint64_t good = scan_segment(s, buf);
    if (good < segment_header_bytes) {  // not even its header: created at a crash
      ::close(s.fd);
      ::unlink(file.c_str());
      continue;
    }
    if (good < s.size) {  // a torn or corrupt tail: cut it, so that nothing follows it
      if (::ftruncate(s.fd, static_cast<off_t>(good)) != 0) throw_system(file, "truncate", errno);
      s.size = good;
    }
    stats_.bytes.fetch_add(s.size, std::memory_order_relaxed);
    segments_.push_back(std::move(s));
  }
}

std::uint64_t log_backend::scan_segment(segment& s, std::vector<std::byte>& buf) {
  read_whole(s, buf);
  if (buf.size() < segment_header_bytes ||
      std::memcmp(buf.data(), segment_magic.data(), segment_magic.size()) != 0) {
    return 0;
  }
  std::uint64_t at = segment_header_bytes;
  while (buf.size() - at >= group_header_bytes) {
    const std::byte* h = buf.data() + at;
    const std::uint32_t length = get_le32(h + 4);
    if (get_le32(h) != group_magic || length > max_group_bytes ||
        buf.size() - at - group_header_bytes < length) {
      break;
    }
    const std::span<const std::byte> body(h + group_header_bytes, length);
    if (group_checksum(length, body) != get_le32(h + 8)) break;
    bool whole = true;
    for (auto in = body; !in.empty();) {
      const auto v = decode(in);
      if (!v) {
        whole = false;
        break;
      }
      in = in.subspan(v->size);
    }
    if (!whole) break;
    index_group(s, at + group_header_bytes, body);
    at += group_header_bytes + length;
  }
  return at;
}

void log_backend::index_group(segment& s, std::uint64_t at, std::span<const std::byte> body) {
  auto offset = static_cast<std::uint32_t>(at);
  while (!body.empty()) {
    const record_view v = *decode(body);  // checked by the caller
    switch (v.kind) {
      case record_kind::note: {
        note_entry& e = notes_[v.note.key];
        e = note_entry{};
        e.submit_ms = v.note.submit_ms;
        e.segment = s.number;
        e.offset = offset;
        e.tenant = v.note.tenant;
        s.notes.push_back(v.note.key);
        break;
      }
      case record_kind::receipt:
        if (auto it = notes_.find(v.receipt.key); it != notes_.end()) {
          if (v.receipt.state != receipt_state::none) {
            it->second.state = v.receipt.state;
            it->second.state_ms = v.receipt.time_ms;
          }
          it->second.delivered = it->second.delivered || v.receipt.delivered;
        }
        break;
      case record_kind::final_:
        if (auto it = notes_.find(v.final_.key); it != notes_.end()) {
          it->second.final_ = true;
          it->second.final_ms = v.final_.time_ms;
        }
        break;
      case record_kind::held: {
        auto [it, fresh] = held_.try_emplace(v.held.id);
        if (!fresh) held_bytes_ -= it->second.size;
        it->second = held_entry{s.number, offset, static_cast<std::uint32_t>(v.size)};
        held_bytes_ += v.size;
        s.held.push_back(v.held.id);
        break;
      }
      case record_kind::held_done:
        if (auto it = held_.find(v.held_done.id); it != held_.end()) {
          held_bytes_ -= it->second.size;
          held_.erase(it);
        }
        break;
    }
    offset += static_cast<std::uint32_t>(v.size);
    body = body.subspan(v.size);
  }
}

void log_backend::recover(recovery_visitor& visitor) {
  const std::uint64_t now = now_ms();
  std::vector<std::byte> buf;
  for (const segment& s : segments_) {
    read_whole(s, buf);
    std::uint64_t at = segment_header_bytes;
    while (at + group_header_bytes <= buf.size()) {
      const std::uint32_t length = get_le32(buf.data() + at + 4);
      std::span<const std::byte> body(buf.data() + at + group_header_bytes, length);
      auto offset = at + group_header_bytes;
      while (!body.empty()) {
        const record_view v = *decode(body);  // checked by scan()
        if (v.kind == record_kind::note) {
          const auto it = notes_.find(v.note.key);
          if (it != notes_.end() && it->second.segment == s.number && it->second.offset == offset &&
              !it->second.final_) {
            if (!expired(config_, v.note.submit_ms, now)) {
              visitor.on_note(v.note);
            }
          }
        } else if (v.kind == record_kind::held) {
          const auto it = held_.find(v.held.id);
          if (it != held_.end() && it->second.segment == s.number && it->second.offset == offset) {
            visitor.on_held(v.held);
          }
        }
        offset += v.size;
        body = body.subspan(v.size);
      }
      at += group_header_bytes + length;
    }
  }
}

void log_backend::open_new_segment(std::uint64_t now) {
  segment s;
  s.number = segments_.empty() ? 1 : segments_.back().number + 1;
  const auto file = file_of(s.number);
  s.fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (s.fd < 0) throw_system(file, "create", errno);
  std::array<std::byte, segment_header_bytes> header{};
  std::memcpy(header.data(), segment_magic.data(), segment_magic.size());
  const ssize_t n = ::pwrite(s.fd, header.data(), header.size(), 0);
  if (n != static_cast<ssize_t>(header.size())) {
    const int err = n < 0 ? errno : ENOSPC;
    ::close(s.fd);
    ::unlink(file.c_str());
    throw_system(file, "write", err);
  }
  if (config_.sync == sync_policy::fsync && (::fdatasync(s.fd) != 0 || ::fsync(dir_fd_) != 0)) {
    const int err = errno;
    ::close(s.fd);
    ::unlink(file.c_str());
    throw_system(file, "fsync", err);
  }
  s.size = segment_header_bytes;
  s.created_ms = s.last_ms = now;
  stats_.bytes.fetch_add(s.size, std::memory_order_relaxed);
  const std::lock_guard lock(mu_);
  segments_.push_back(std::move(s));
}

// One pwritev at the segment's end; on failure the segment is cut back to where it was, so that
// no partial group stays to be read as a torn tail in the middle of the log.
void log_backend::write_group(segment& s, std::span<const std::byte> body) {
  std::array<std::byte, group_header_bytes> header{};
  const auto length = static_cast<std::uint32_t>(body.size());
  put_le32(header.data(), group_magic);
  put_le32(header.data() + 4, length);
  put_le32(header.data() + 8, group_checksum(length, body));
  std::array<iovec, 2> iov{iovec{header.data(), header.size()},
                           iovec{const_cast<std::byte*>(body.data()), body.size()}};
  const std::size_t total = header.size() + body.size();
  std::size_t done = 0;
  while (done < total) {
    std::array<iovec, 2> rest = iov;
    std::size_t skip = done;
    int first = 0;
    while (skip >= rest[static_cast<std::size_t>(first)].iov_len) {
      skip -= rest[static_cast<std::size_t>(first)].iov_len;
      ++first;
    }
    auto& f = rest[static_cast<std::size_t>(first)];
    f.iov_base = static_cast<std::byte*>(f.iov_base) + skip;
    f.iov_len -= skip;
    const ssize_t n =
        ::pwritev(s.fd, rest.data() + first, 2 - first, static_cast<off_t>(s.size + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      if (::ftruncate(s.fd, static_cast<off_t>(s.size)) != 0) {
        // The partial group stays; the next open cuts it as a torn tail.
      }
      throw_system(file_of(s.number), "append", err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (config_.sync == sync_policy::fsync && ::fdatasync(s.fd) != 0) {
    const int err = errno;
    if (::ftruncate(s.fd, static_cast<off_t>(s.size)) != 0) {
      // As above.
    }
    throw_system(file_of(s.number), "fsync", err);
  }
}

void log_backend::append(std::span<const std::byte> records) {
  if (records.empty()) return;
  if (records.size() > max_group_bytes) throw_store(config_.path, "append: group over 16 MiB");
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
  if (segments_.back().size >= segment_bytes_ || now - segments_.back().created_ms >= segment_ms_) {
    open_new_segment(now);
  }
  segment& s = segments_.back();
  write_group(s, records);
  {
    const std::lock_guard lock(mu_);
    index_group(s, s.size + group_header_bytes, records);
    s.size += group_header_bytes + records.size();
    s.last_ms = now;
  }
  stats_.bytes.fetch_add(group_header_bytes + records.size(), std::memory_order_relaxed);
  stats_.records.fetch_add(count, std::memory_order_relaxed);
  stats_.groups.fetch_add(1, std::memory_order_relaxed);
  try {
    maintain(now);
  } catch (const store_error&) {
    // The group is kept: that is what append answers for. Space is reclaimed at a later append
    // (whose own write reports a disk that stays full).
  }
}

void log_backend::maintain(std::uint64_t now) {
  // Bounded: at most the segments there were (copying held messages forward adds to the last).
  for (std::size_t n = segments_.size(); n > 1; --n) {
    const segment& oldest = segments_.front();
    const bool too_old = oldest.last_ms + config_.ttl_ms < now;
    const bool too_big = stats_.bytes.load(std::memory_order_relaxed) > config_.capacity_bytes;
    if (!too_old && !too_big) return;
    drop_oldest(now);
  }
}

void log_backend::drop_oldest(std::uint64_t now) {
  segment& old = segments_.front();
  // Custody survives: the held messages still in it are appended again first.
  std::vector<std::byte> forward;
  std::array<std::byte, max_record_bytes> rec{};
  for (const std::uint64_t id : old.held) {
    const auto it = held_.find(id);
    if (it == held_.end() || it->second.segment != old.number) continue;
    const ssize_t n = ::pread(old.fd, rec.data(), it->second.size, it->second.offset);
    if (n != static_cast<ssize_t>(it->second.size)) {
      throw_system(file_of(old.number), "read", n < 0 ? errno : EIO);
    }
    forward.insert(forward.end(), rec.begin(), rec.begin() + n);
  }
  if (!forward.empty()) {
    segment& s = segments_.back();
    write_group(s, forward);
    const std::lock_guard lock(mu_);
    index_group(s, s.size + group_header_bytes, forward);
    s.size += group_header_bytes + forward.size();
    stats_.bytes.fetch_add(group_header_bytes + forward.size(), std::memory_order_relaxed);
  }
  const std::uint64_t number = old.number;
  const std::uint64_t size = old.size;
  {
    const std::lock_guard lock(mu_);
    for (const message_key& key : old.notes) {
      const auto it = notes_.find(key);
      if (it == notes_.end() || it->second.segment != number) continue;
      if (!it->second.final_) {
        stats_.count_gone(expired(config_, it->second.submit_ms, now));
      }
      notes_.erase(it);
    }
    ::close(old.fd);
    segments_.pop_front();
  }
  ::unlink(file_of(number).c_str());
  stats_.bytes.fetch_sub(size, std::memory_order_relaxed);
}

const segment* log_backend::find_segment(std::uint64_t number) const noexcept {
  const auto it = std::lower_bound(segments_.begin(), segments_.end(), number,
                                   [](const segment& s, std::uint64_t n) { return s.number < n; });
  return it != segments_.end() && it->number == number ? &*it : nullptr;
}

std::optional<message_status> log_backend::status_locked(const message_key& key,
                                                         const note_entry& e) const {
  const segment* s = find_segment(e.segment);
  if (s == nullptr) return std::nullopt;
  std::array<std::byte, max_record_bytes> rec{};
  const ssize_t n = ::pread(s->fd, rec.data(), rec.size(), e.offset);
  if (n <= 0) return std::nullopt;
  const auto v = decode(std::span<const std::byte>(rec.data(), static_cast<std::size_t>(n)));
  if (!v || v->kind != record_kind::note || !(v->note.key == key)) return std::nullopt;
  message_status status = status_of(v->note);
  status.state = e.state;
  status.state_ms = e.state_ms;
  status.delivered = e.delivered;
  status.final_ = e.final_;
  return status;
}

std::optional<message_status> log_backend::lookup(const message_key& key) {
  const std::uint64_t now = now_ms();
  const std::lock_guard lock(mu_);
  const auto it = notes_.find(key);
  if (it == notes_.end()) return std::nullopt;
  const note_entry& e = it->second;
  if (!answerable(config_, e.submit_ms, e.final_, e.final_ms, now)) return std::nullopt;
  return status_locked(key, e);
}

// Oldest first: segments in order, and in each the notes in the order they were appended.
std::vector<message_status> log_backend::list(std::uint16_t tenant, std::uint64_t since_ms,
                                              std::size_t limit) {
  const std::uint64_t now = now_ms();
  std::vector<message_status> out;
  std::uint64_t number = 0;  // the segment being read, and where in its notes
  std::size_t next = 0;
  while (out.size() < limit) {
    const std::lock_guard lock(mu_);  // per chunk: appends go on between chunks
    auto it = std::lower_bound(segments_.begin(), segments_.end(), number,
                               [](const segment& s, std::uint64_t n) { return s.number < n; });
    while (it != segments_.end() && it->last_ms < since_ms) ++it;  // all its notes before since
    if (it == segments_.end()) break;
    if (it->number != number) {
      number = it->number;
      next = 0;
    }
    const std::size_t end = std::min(it->notes.size(), next + list_chunk);
    for (; next < end && out.size() < limit; ++next) {
      const message_key& key = it->notes[next];
      const auto e = notes_.find(key);
      if (e == notes_.end() || e->second.segment != number || e->second.tenant != tenant ||
          e->second.submit_ms < since_ms ||
          !answerable(config_, e->second.submit_ms, e->second.final_, e->second.final_ms, now)) {
        continue;
      }
      if (auto status = status_locked(key, e->second)) out.push_back(std::move(*status));
    }
    if (next >= it->notes.size()) {
      number = it->number + 1;
      next = 0;
    }
  }
  return out;
}

}  // namespace

std::unique_ptr<backend> make_log_backend(const store_config& config) {
  return std::make_unique<log_backend>(config);
}

}  // namespace smpp::store::detail
