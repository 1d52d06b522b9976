// Bind failure throttling: a growing delay before the answer to binds from a source address or
// for a system_id that recently failed, and a lock-out after too many failures.
//
// Shared by every worker behind a mutex: binds are rare next to messages, and a failed bind is
// already the slow path (a password hash was verified). The tables are bounded; an entry is
// forgotten forget_ms after its last failure, and when a table is full the stalest entry makes
// room, so a flood of distinct addresses cannot grow memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "smpp/dataplane/transport.hpp"

namespace smpp::dataplane {

struct bind_guard_config {
  uint32_t delay_ms = 250;         // delay after the first failure; doubles with each further one
  uint32_t max_delay_ms = 8000;    // the delay never exceeds this
  uint32_t lockout_failures = 10;  // this many failures in a row lock the address / system_id
  uint32_t lockout_ms = 300'000;   // for this long (every bind refused with ESME_RBINDFAIL)
  uint32_t forget_ms = 900'000;    // failures older than this are forgotten
  size_t max_entries = 65536;      // per table (source addresses, system_ids)
};

struct bind_guard_stats {
  uint64_t failures = 0;
  uint64_t lockouts = 0;        // times an address or system_id became locked
  uint64_t refused_locked = 0;  // binds refused because of a lock-out
  uint64_t evictions = 0;       // entries dropped to make room
};

class bind_guard {
 public:
  explicit bind_guard(bind_guard_config config = {}) : config_(config) {}

  struct verdict {
    bool locked = false;    // refuse, whatever the credentials
    uint32_t delay_ms = 0;  // answer the bind this much later
  };

  // Before a bind is answered: the lock-out and the delay that apply to this source address and
  // system_id (the larger of the two).
  [[nodiscard]] verdict check(const peer_address& peer, std::string_view system_id,
                              uint64_t now_ms);
  void failed(const peer_address& peer, std::string_view system_id, uint64_t now_ms);
  // A successful bind clears both records.
  void succeeded(const peer_address& peer, std::string_view system_id);

  [[nodiscard]] bind_guard_stats stats() const;
  [[nodiscard]] size_t entries() const;
  [[nodiscard]] const bind_guard_config& config() const noexcept { return config_; }

 private:
  struct record {
    uint32_t failures = 0;
    uint64_t last_ms = 0;
    uint64_t locked_until_ms = 0;
  };
  using table = std::unordered_map<std::string, record>;

  static std::string address_key(const peer_address& peer);
  verdict judge(table& t, const std::string& key, uint64_t now_ms);
  void count_failure(table& t, const std::string& key, uint64_t now_ms);
  void make_room(table& t, uint64_t now_ms);

  bind_guard_config config_;
  mutable std::mutex mu_;
  table by_address_;
  table by_system_id_;
  bind_guard_stats stats_;
};

}  // namespace smpp::dataplane
