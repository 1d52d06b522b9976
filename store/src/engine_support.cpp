#include "engine_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

namespace smpp::store::detail {

std::uint64_t now_ms() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

void throw_system(const std::filesystem::path& path, std::string_view what, int err) {
  throw store_error("store " + path.string() + ": " + std::string(what) + ": " +
                    std::strerror(err));
}

void throw_store(const std::filesystem::path& path, std::string_view what) {
  throw store_error("store " + path.string() + ": " + std::string(what));
}

void prepare_directory(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw_system(path, "cannot create the directory", ec.value());
  // access(2) would answer for root as if every mode bit were set, and a full disk still lets a
  // file be created: write some octets instead, as many as one large group.
  const auto probe = path / ".writable";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw_system(path, "the directory is not writable", errno);
  static constexpr std::array<char, 64 * 1024> zeros{};
  const ssize_t n = ::write(fd, zeros.data(), zeros.size());
  const int err = n < 0 ? errno : ENOSPC;
  ::close(fd);
  if (n != static_cast<ssize_t>(zeros.size())) {
    ::unlink(probe.c_str());
    throw_system(path, "the directory cannot take 64 KiB (full?)", err);
  }
  ::unlink(probe.c_str());
}

void put_be64(std::byte* out, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<std::byte>(v);
    v >>= 8;
  }
}

std::uint64_t get_be64(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint64_t>(p[i]);
  return v;
}

void put_be16(std::byte* out, std::uint16_t v) noexcept {
  out[0] = static_cast<std::byte>(v >> 8);
  out[1] = static_cast<std::byte>(v);
}

key_octets key_to_octets(const message_key& k) noexcept {
  key_octets o{};
  put_be64(o.data(), k.hi);
  put_be64(o.data() + 8, k.lo);
  return o;
}

message_key key_from_octets(const std::byte* p) noexcept {
  return {get_be64(p + 8), get_be64(p)};
}

void check_group(const std::filesystem::path& path, std::span<const std::byte> group) {
  for_each_record(path, group, [](const record_view&) {});
}

message_status status_of(const note_record& note) {
  message_status s;
  s.key = note.key;
  s.submit_ms = note.submit_ms;
  s.tenant = note.tenant;
  s.upstream = note.upstream;
  s.source = std::string(note.source);
  s.destination = std::string(note.destination);
  return s;
}

void apply(message_status& s, const receipt_record& r) noexcept {
  if (r.state != receipt_state::none) {
    s.state = r.state;
    s.state_ms = r.time_ms;
  }
  s.delivered = s.delivered || r.delivered;
}

bool expired(const store_config& c, std::uint64_t submit_ms, std::uint64_t now) noexcept {
  return submit_ms + c.ttl_ms < now;
}

bool answerable(const store_config& c, std::uint64_t submit_ms, bool final_, std::uint64_t final_ms,
                std::uint64_t now) noexcept {
  if (expired(c, submit_ms, now)) return false;
  return !final_ || final_ms + c.keep_final_ms >= now;
}

}  // namespace smpp::store::detail
