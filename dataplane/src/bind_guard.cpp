#include "smpp/dataplane/bind_guard.hpp"

#include <sys/socket.h>

#include <algorithm>

namespace smpp::dataplane {

std::string bind_guard::address_key(const peer_address& peer) {
  const size_t n = peer.family == AF_INET ? 4 : sizeof peer.addr;
  return {reinterpret_cast<const char*>(peer.addr), n};
}

bind_guard::verdict bind_guard::judge(table& t, const std::string& key, uint64_t now_ms) {
  verdict v;
  const auto it = t.find(key);
  if (it == t.end()) return v;
  record& r = it->second;
  if (now_ms - r.last_ms >= config_.forget_ms && now_ms >= r.locked_until_ms) {
    t.erase(it);
    return v;
  }
  v.locked = now_ms < r.locked_until_ms;
  if (r.failures > 0) {
    const uint32_t shift = std::min<uint32_t>(r.failures - 1, 31);
    const uint64_t d = static_cast<uint64_t>(config_.delay_ms) << shift;
    v.delay_ms = static_cast<uint32_t>(std::min<uint64_t>(d, config_.max_delay_ms));
  }
  return v;
}

bind_guard::verdict bind_guard::check(const peer_address& peer, std::string_view system_id,
                                      uint64_t now_ms) {
  std::lock_guard lock(mu_);
  const verdict a = judge(by_address_, address_key(peer), now_ms);
  const verdict s = judge(by_system_id_, std::string(system_id), now_ms);
  verdict v{a.locked || s.locked, std::max(a.delay_ms, s.delay_ms)};
  if (v.locked) ++stats_.refused_locked;
  return v;
}

void bind_guard::make_room(table& t, uint64_t now_ms) {
  if (t.size() < config_.max_entries) return;
  // The stalest entry goes; a bounded scan keeps this cheap, and forgotten ones go first.
  auto victim = t.begin();
  size_t scanned = 0;
  for (auto it = t.begin(); it != t.end() && scanned < 64; ++it, ++scanned) {
    if (it->second.last_ms < victim->second.last_ms) victim = it;
    if (now_ms - it->second.last_ms >= config_.forget_ms) {
      victim = it;
      break;
    }
  }
  t.erase(victim);
  ++stats_.evictions;
}

void bind_guard::count_failure(table& t, const std::string& key, uint64_t now_ms) {
  auto it = t.find(key);
  if (it == t.end()) {
    make_room(t, now_ms);
    it = t.emplace(key, record{}).first;
  }
  record& r = it->second;
  if (r.failures > 0 && now_ms - r.last_ms >= config_.forget_ms) r.failures = 0;
  ++r.failures;
  r.last_ms = now_ms;
  if (config_.lockout_failures != 0 && r.failures >= config_.lockout_failures &&
      now_ms >= r.locked_until_ms) {
    r.locked_until_ms = now_ms + config_.lockout_ms;
    r.failures = 0;  // after the lock-out, the count starts again
    ++stats_.lockouts;
  }
}

void bind_guard::failed(const peer_address& peer, std::string_view system_id, uint64_t now_ms) {
  std::lock_guard lock(mu_);
  ++stats_.failures;
  count_failure(by_address_, address_key(peer), now_ms);
  if (!system_id.empty()) count_failure(by_system_id_, std::string(system_id), now_ms);
}

void bind_guard::succeeded(const peer_address& peer, std::string_view system_id) {
  std::lock_guard lock(mu_);
  by_address_.erase(address_key(peer));
  by_system_id_.erase(std::string(system_id));
}

bind_guard_stats bind_guard::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

size_t bind_guard::entries() const {
  std::lock_guard lock(mu_);
  return by_address_.size() + by_system_id_.size();
}

}  // namespace smpp::dataplane
