// dlr_url and mo_url callbacks: each final message state (or MO message) POSTed as JSON to its
// URL, signed with the client's secret (HMAC-SHA256 over the body), retried with doubling
// back-off (1 s up to 60 s) for retry_for_s, then counted failed. A bounded queue; with a
// journal each callback is on disk until delivered or failed, and read back at start.
// A client with a batch of N > 1 gets a JSON array of 1..N callbacks per POST instead (those
// due for the same URL when a sender thread is free), signed over the whole array; a 2xx
// delivers every one of them, anything else retries each on its own schedule.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace smpp::http {

struct callback_config {
  unsigned threads = 2;
  std::size_t max_pending = 100000;
  std::uint32_t retry_for_s = 3600;
  std::uint32_t timeout_ms = 5000;
};

struct callback_counters {
  std::uint64_t queued = 0;
  std::uint64_t delivered = 0;  // answered 2xx
  std::uint64_t failed = 0;     // no 2xx within retry_for_s
  std::uint64_t dropped = 0;    // the queue was full
  std::uint64_t attempts = 0;   // HTTP requests (a batch is one)
  std::size_t pending = 0;      // waiting for an attempt or in one
};

// The header a callback carries when its client has a webhook_secret:
//   X-Smpp-Http-Signature: sha256=<64 hex digits of HMAC-SHA256(secret, body)>
inline constexpr const char* signature_header = "X-Smpp-Http-Signature";
[[nodiscard]] std::string sign_body(std::string_view secret, std::string_view body);

// "http://host[:port]/path" or https: the scheme-host-port part and the path ("/" when none).
struct split_url {
  std::string origin;
  std::string path;
};
[[nodiscard]] std::optional<split_url> parse_callback_url(std::string_view url);

// A callback as the journal keeps it.
struct stored_callback {
  std::uint64_t id = 0;
  std::string url;
  std::string body;
  std::string signature;         // empty: none
  std::int64_t deadline_ms = 0;  // wall clock: retried until then
};

// Where callbacks go to survive a restart; called with the sender's lock held, so each call
// only records.
class callback_journal {
 public:
  virtual ~callback_journal() = default;
  virtual void callback_added(const stored_callback& c) = 0;
  // Delivered, or failed for good.
  virtual void callback_done(std::uint64_t id) = 0;
};

class callback_sender {
 public:
  explicit callback_sender(const callback_config& config);
  ~callback_sender();
  callback_sender(const callback_sender&) = delete;
  callback_sender& operator=(const callback_sender&) = delete;

  // Before start(): every callback goes to `journal` too; `pending` are those read back from it,
  // tried at once (they are not counted queued again).
  void set_journal(callback_journal* journal, std::vector<stored_callback> pending);

  void start();
  void stop();
  // False (counted dropped) when max_pending callbacks wait already. `batch` > 1: POSTed in
  // JSON arrays of up to `batch` bodies (the journal keeps each as an array of one).
  bool post(const std::string& url, std::string body, const std::string& secret,
            unsigned batch = 1);
  [[nodiscard]] callback_counters counters() const;

 private:
  struct delivery {
    std::uint64_t id = 0;
    split_url url;
    std::string body;
    std::string signature;  // empty: none; of the body as it is sent alone
    std::int64_t deadline_ms = 0;
    unsigned attempts = 0;
    unsigned batch = 1;  // > 1: sent in arrays, signed with `secret`
    std::string secret;
  };
  void run();
  // Moves the due deliveries that may share one POST with `first` out of due_ (lock held).
  std::vector<delivery> take_batch(delivery first, std::int64_t now);
  struct connections;  // one sender thread's keep-alive connections
  [[nodiscard]] bool attempt(const std::vector<delivery>& ds, connections& pool) const;

  callback_config config_;
  callback_journal* journal_ = nullptr;
  std::uint64_t next_id_ = 1;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::multimap<std::int64_t, delivery> due_;  // by the time of the next attempt
  std::size_t in_attempt_ = 0;
  bool stopping_ = false;
  callback_counters counters_;
  std::vector<std::thread> threads_;
};

}  // namespace smpp::http
