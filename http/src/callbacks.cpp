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
               0,
               1,  // sent as stored: a batched one was stored as an array of one
               {}};
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

bool callback_sender::post(const std::string& url, std::string body, const std::string& secret,
                           unsigned batch) {
  auto parsed = parse_callback_url(url);
  const std::lock_guard lock(mutex_);
  if (!parsed || due_.size() >= config_.max_pending) {
    ++counters_.dropped;
    return false;
  }
  delivery d{next_id_++, std::move(*parsed), std::move(body), {}, 0, 0, std::max(batch, 1u), {}};
  // Alone (a retry read back after a restart) a batched callback is an array of one.
  std::string alone = d.batch > 1 ? "[" + d.body + "]" : std::string();
  const std::string& sent_alone = d.batch > 1 ? alone : d.body;
  if (!secret.empty()) d.signature = sign_body(secret, sent_alone);
  if (d.batch > 1) d.secret = secret;
  const std::int64_t now = steady_ms();
  d.deadline_ms = now + std::int64_t{config_.retry_for_s} * 1000;
  if (journal_ != nullptr) {
    journal_->callback_added(
        {d.id, url, sent_alone, d.signature, wall_ms() + std::int64_t{config_.retry_for_s} * 1000});
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

std::vector<callback_sender::delivery> callback_sender::take_batch(delivery first,
                                                                   std::int64_t now) {
  std::vector<delivery> out;
  out.reserve(first.batch);  // `f` stays valid: no reallocation
  out.push_back(std::move(first));
  const delivery& f = out.front();
  // Looks at a bounded number of due entries: other receivers' callbacks are passed over.
  std::size_t looked = 0;
  for (auto it = due_.begin(); it != due_.end() && it->first <= now && out.size() < f.batch &&
                               looked < 4 * std::size_t{f.batch};
       ++looked) {
    const delivery& d = it->second;
    if (d.batch == f.batch && d.secret == f.secret && d.url.origin == f.url.origin &&
        d.url.path == f.url.path) {
      out.push_back(std::move(it->second));
      it = due_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

bool callback_sender::attempt(const std::vector<delivery>& ds, connections& pool) const {
  const delivery& first = ds.front();
  auto it = pool.by_origin.find(first.url.origin);
  if (it == pool.by_origin.end()) {
    if (pool.by_origin.size() >= connections::max_kept_origins) pool.by_origin.clear();
    auto client = std::make_unique<httplib::Client>(first.url.origin);
    const auto timeout = std::chrono::milliseconds(config_.timeout_ms);
    client->set_connection_timeout(timeout);
    client->set_read_timeout(timeout);
    client->set_write_timeout(timeout);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);  // headers and body are two writes: no wait for an ACK
    it = pool.by_origin.emplace(first.url.origin, std::move(client)).first;
  }
  std::string joined;
  if (first.batch > 1) {
    std::size_t size = 2;
    for (const delivery& d : ds) size += d.body.size() + 1;
    joined.reserve(size);
    joined += '[';
    for (const delivery& d : ds) {
      if (joined.size() > 1) joined += ',';
      joined += d.body;
    }
    joined += ']';
  }
  const std::string& body = first.batch > 1 ? joined : first.body;
  httplib::Headers headers;
  if (first.batch > 1 && !first.secret.empty()) {
    headers.emplace(signature_header, sign_body(first.secret, body));
  } else if (!first.signature.empty()) {
    headers.emplace(signature_header, first.signature);
  }
  const auto res = it->second->Post(first.url.path, headers, body, "application/json");
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
    std::vector<delivery> ds;
    if (d.batch > 1) {
      ds = take_batch(std::move(d), now);
    } else {
      ds.push_back(std::move(d));
    }
    ++counters_.attempts;
    in_attempt_ += ds.size();
    lock.unlock();
    const bool ok = attempt(ds, pool);
    lock.lock();
    in_attempt_ -= ds.size();
    const std::int64_t after = steady_ms();
    for (delivery& one : ds) {
      ++one.attempts;
      if (ok) {
        ++counters_.delivered;
        if (journal_ != nullptr) journal_->callback_done(one.id);
        continue;
      }
      const std::int64_t backoff =
          std::min(max_backoff_ms, first_backoff_ms << std::min(one.attempts - 1, 6u));
      const std::int64_t at = after + backoff;
      if (at > one.deadline_ms) {
        ++counters_.failed;
        if (journal_ != nullptr) journal_->callback_done(one.id);
      } else {
        due_.emplace(at, std::move(one));
      }
    }
  }
}

}  // namespace smpp::http
