// What the store's tests share: a scratch directory, groups of records built in a buffer, and a
// recovery visitor that keeps copies of what it was shown.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "smpp/store/backend.hpp"
#include "smpp/store/engines.hpp"
#include "smpp/store/record.hpp"

namespace smpp::store::testing {

inline std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Test names per engine: .../log, .../rocksdb, .../lmdb.
inline std::string engine_name(const ::testing::TestParamInfo<engine>& e) {
  return std::string(to_string(e.param));
}

// A fresh directory under $TMPDIR, removed with everything in it.
class scratch_dir {
 public:
  scratch_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/smpp-store-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// Records appended one after the other, as a journal hands them to a backend.
class group {
 public:
  template <typename R>
  group& add(const R& r) {
    const std::size_t at = bytes_.size();
    bytes_.resize(at + encoded_size(r));
    if (encode(r, std::span<std::byte>(bytes_).subspan(at)) == 0) std::abort();
    return *this;
  }
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return bytes_; }
  [[nodiscard]] bool empty() const noexcept { return bytes_.empty(); }
  void clear() noexcept { bytes_.clear(); }

 private:
  std::vector<std::byte> bytes_;
};

inline message_key key_of(std::uint64_t n) noexcept {
  return {n * 0x9E3779B97F4A7C15ull + 1, n};
}

// Addresses of 11 and 12 digits, as the router's traffic has them.
inline std::string source_of(std::uint64_t n) {
  return std::to_string(447700000000ull + n % 100000000ull);
}
inline std::string destination_of(std::uint64_t n) {
  return std::to_string(33600000000ull + n % 100000000ull);
}

// A note whose address strings stay alive as long as it does.
struct owned_note {
  std::string source;
  std::string destination;
  note_record note;
  owned_note(std::uint64_t n, std::uint64_t submit_ms, std::uint16_t tenant = 1)
      : source(source_of(n)), destination(destination_of(n)) {
    note.key = key_of(n);
    note.submit_ms = submit_ms;
    note.tenant = tenant;
    note.upstream = static_cast<std::uint16_t>(n % 7);
    note.tag = static_cast<std::uint32_t>(n);
    note.source = source;
    note.destination = destination;
  }
  owned_note(const owned_note&) = delete;
  owned_note& operator=(const owned_note&) = delete;
};

inline void add_note(group& g, std::uint64_t n, std::uint64_t submit_ms, std::uint16_t tenant = 1) {
  const owned_note o(n, submit_ms, tenant);
  g.add(o.note);
}

inline std::vector<std::byte> pdu_of(std::uint64_t id, std::size_t size = 150) {
  std::vector<std::byte> v(size);
  for (std::size_t i = 0; i < size; ++i) v[i] = static_cast<std::byte>(id * 31 + i);
  return v;
}

struct recovered_note {
  std::uint64_t submit_ms = 0;
  std::uint16_t tenant = 0;
  std::uint16_t upstream = 0;
  std::uint32_t tag = 0;
  std::string source;
  std::string destination;
};

struct recovered_held {
  std::uint64_t received_ms = 0;
  std::uint16_t tenant = 0;
  held_kind kind = held_kind::receipt;
  std::vector<std::byte> pdu;
};

class collecting_visitor final : public recovery_visitor {
 public:
  void on_note(const note_record& n) override {
    ++note_calls;
    notes[n.key.hi] = recovered_note{n.submit_ms,
                                     n.tenant,
                                     n.upstream,
                                     n.tag,
                                     std::string(n.source),
                                     std::string(n.destination)};
  }
  void on_held(const held_record& h) override {
    held_order.push_back(h.id);
    held[h.id] = recovered_held{h.received_ms, h.tenant, h.kind, {h.pdu.begin(), h.pdu.end()}};
  }
  std::size_t note_calls = 0;
  std::map<std::uint64_t, recovered_note> notes;  // by key.hi, which key_of makes the number
  std::map<std::uint64_t, recovered_held> held;
  std::vector<std::uint64_t> held_order;
};

}  // namespace smpp::store::testing
