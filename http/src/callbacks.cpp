// dlr_url callbacks over cpp-httplib's client, signed with libsodium's HMAC-SHA256.
#include "smpp/http/callbacks.hpp"

#include <httplib.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <unordered_map>

#include "clock.hpp"

namespace smpp::http {
namespace {

constexpr std::int64_t first_backoff_ms = 1000;
constexpr std::int64_t max_backoff_ms = 60000;

}  // namespace

std::string sign_body(std::string_view secret, std::string_view body) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[2 * sizeof mac + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return std::string("sha256=") + hex;
}

std::optional<split_url> parse_callback_url(std::string_view url) {
  std::size_t scheme = 0;
  if (url.substr(0, 7) == "http://") {
    scheme = 7;
  } else if (url.substr(0, 8) == "https://") {
    scheme = 8;
  } else {
    return std::nullopt;
  }
  if (url.size() > 2048) return std::nullopt;
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return std::nullopt;
  }
  const std::size_t slash = url.find('/', scheme);
  const std::string_view origin = url.substr(0, slash);
  if (origin.size() == scheme) return std::nullopt;  // no host
  return split_url{std::string(origin),
                   slash == std::string_view::npos ? "/" : std::string(url.substr(slash))};
}

callback_sender::callback_sender(const callback_config& config) : config_(config) {}

callback_sender::~callback_sender() {
  stop();
}

void callback_sender::set_journal(callback_journal* journal, std::vector<stored_callback> pending) {
  const std::lock_guard lock(mutex_);
  journal_ = journal;
  const std::int64_t now = steady_ms();
  const std::int64_t wall_now = wall_ms();
  for (stored_callback& c : pending) {
    next_id_ = std::max(next_id_, c.id + 1);
    auto url = parse_callback_url(c.url);
    if (!url) continue;
    delivery d{c.id,
               std::move(*url),
               std::move(c.body),
               std::move(c.signature),
               now + (c.deadline_ms - wall_now),
               0};
    due_.emplace(now, std::move(d));
  }
}

void callback_sender::start() {
  for (unsigned i = 0; i < config_.threads; ++i) threads_.emplace_back([this] { run(); });
}

void callback_sender::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

bool callback_sender::post(const std::string& url, std::string body, const std::string& secret) {
  auto parsed = parse_callback_url(url);
  const std::lock_guard lock(mutex_);
  if (!parsed || due_.size() >= config_.max_pending) {
    ++counters_.dropped;
    return false;
  }
  delivery d{next_id_++, std::move(*parsed), std::move(body), {}, 0, 0};
  if (!secret.empty()) d.signature = sign_body(secret, d.body);
  const std::int64_t now = steady_ms();
  d.deadline_ms = now + std::int64_t{config_.retry_for_s} * 1000;
  if (journal_ != nullptr) {
    journal_->callback_added(
        {d.id, url, d.body, d.signature, wall_ms() + std::int64_t{config_.retry_for_s} * 1000});
  }
  due_.emplace(now, std::move(d));
  ++counters_.queued;
  changed_.notify_one();
  return true;
}

callback_counters callback_sender::counters() const {
  const std::lock_guard lock(mutex_);
  callback_counters c = counters_;
  c.pending = due_.size() + in_attempt_;
  return c;
}

// A sender thread's keep-alive connections, one per origin, at most max_kept_origins: a
// receiver taking thousands of callbacks a second is not made to accept a connection for each.
struct callback_sender::connections {
  static constexpr std::size_t max_kept_origins = 64;
  std::unordered_map<std::string, std::unique_ptr<httplib::Client>> by_origin;
};

bool callback_sender::attempt(const delivery& d, connections& pool) const {
  auto it = pool.by_origin.find(d.url.origin);
  if (it == pool.by_origin.end()) {
    if (pool.by_origin.size() >= connections::max_kept_origins) pool.by_origin.clear();
    auto client = std::make_unique<httplib::Client>(d.url.origin);
    const auto timeout = std::chrono::milliseconds(config_.timeout_ms);
    client->set_connection_timeout(timeout);
    client->set_read_timeout(timeout);
    client->set_write_timeout(timeout);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);  // headers and body are two writes: no wait for an ACK
    it = pool.by_origin.emplace(d.url.origin, std::move(client)).first;
  }
  httplib::Headers headers;
  if (!d.signature.empty()) headers.emplace(signature_header, d.signature);
  const auto res = it->second->Post(d.url.path, headers, d.body, "application/json");
  if (!res) pool.by_origin.erase(it);  // a connection that failed is not kept
  return res && res->status >= 200 && res->status < 300;
}

void callback_sender::run() {
  connections pool;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (due_.empty()) {
      changed_.wait(lock);
      continue;
    }
    const std::int64_t now = steady_ms();
    const std::int64_t next = due_.begin()->first;
    if (next > now) {
      changed_.wait_for(lock, std::chrono::milliseconds(next - now));
      continue;
    }
    delivery d = std::move(due_.begin()->second);
    due_.erase(due_.begin());
    ++counters_.attempts;
    ++in_attempt_;
    lock.unlock();
    const bool ok = attempt(d, pool);
    lock.lock();
    --in_attempt_;
    ++d.attempts;
    if (ok) {
      ++counters_.delivered;
      if (journal_ != nullptr) journal_->callback_done(d.id);
      continue;
    }
    const std::int64_t backoff =
        std::min(max_backoff_ms, first_backoff_ms << std::min(d.attempts - 1, 6u));
    const std::int64_t at = steady_ms() + backoff;
    if (at > d.deadline_ms) {
      ++counters_.failed;
      if (journal_ != nullptr) journal_->callback_done(d.id);
    } else {
      due_.emplace(at, std::move(d));
    }
  }
}

}  // namespace smpp::http
