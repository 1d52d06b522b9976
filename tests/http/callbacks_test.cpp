// Callback signatures against RFC 4231, which URLs a dlr_url may be, and batched callbacks
// delivered to a receiver on loopback: each once, signed, retried after a refusal.
#include "smpp/http/callbacks.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace smpp::http {
namespace {

TEST(Callbacks, SignatureIsHmacSha256OfTheBody) {
  // RFC 4231 §4.3, test case 2.
  EXPECT_EQ(sign_body("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Callbacks, UrlsAreHttpOrHttpsWithAHost) {
  const auto a = parse_callback_url("http://127.0.0.1:8080/dlr?x=1");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->origin, "http://127.0.0.1:8080");
  EXPECT_EQ(a->path, "/dlr?x=1");
  EXPECT_EQ(parse_callback_url("https://example.com")->path, "/");
  EXPECT_FALSE(parse_callback_url("ftp://example.com/").has_value());
  EXPECT_FALSE(parse_callback_url("http:///x").has_value());
  EXPECT_FALSE(parse_callback_url("http://a b/").has_value());
  EXPECT_FALSE(parse_callback_url("http://a/" + std::string(2048, 'x')).has_value());
}

TEST(Callbacks, AFullQueueDropsAndCounts) {
  callback_config c;
  c.max_pending = 2;
  callback_sender s(c);  // not started: nothing leaves the queue
  EXPECT_TRUE(s.post("http://127.0.0.1:1/", "{}", ""));
  EXPECT_TRUE(s.post("http://127.0.0.1:1/", "{}", ""));
  EXPECT_FALSE(s.post("http://127.0.0.1:1/", "{}", ""));
  const auto n = s.counters();
  EXPECT_EQ(n.queued, 2u);
  EXPECT_EQ(n.dropped, 1u);
  EXPECT_EQ(n.pending, 2u);
}

// HMAC-SHA256 by OpenSSL, as a receiver would check it (independent of libsodium's).
std::string openssl_signature(const std::string& secret, const std::string& body) {
  unsigned char mac[32];
  std::size_t len = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                      reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac,
                      sizeof mac, &len),
            nullptr);
  static const char digits[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (std::size_t i = 0; i < len; ++i) {
    out += digits[mac[i] >> 4];
    out += digits[mac[i] & 15];
  }
  return out;
}

// Answers the first `refuse` POSTs 503 and the others 204, keeping each request.
class receiver {
 public:
  explicit receiver(int refuse) : refuse_(refuse) {
    server_.Post("/dlr", [this](const httplib::Request& req, httplib::Response& res) {
      const std::lock_guard lock(mutex_);
      const bool refused = refuse_-- > 0;
      res.status = refused ? 503 : 204;
      requests_.push_back({req.body, req.get_header_value(signature_header), refused});
      changed_.notify_all();
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~receiver() {
    server_.stop();
    thread_.join();
  }
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;

  struct request {
    std::string body;
    std::string signature;
    bool refused = false;
  };
  [[nodiscard]] std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/dlr";
  }
  // The requests once `done(requests)` holds, or when 10 s have passed.
  template <typename Done>
  std::vector<request> wait(Done done) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return done(requests_); });
    return requests_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int refuse_;
  std::vector<request> requests_;
};

// Records what a journal would write.
struct recording_journal final : callback_journal {
  std::vector<stored_callback> added;
  std::vector<std::uint64_t> done;
  void callback_added(const stored_callback& c) override { added.push_back(c); }
  void callback_done(std::uint64_t id) override { done.push_back(id); }
};

// The ids delivered by the 2xx-answered requests, each id's count.
std::map<int, int> delivered_ids(const std::vector<receiver::request>& requests) {
  std::map<int, int> ids;
  for (const auto& r : requests) {
    if (r.refused) continue;
    for (const auto& one : nlohmann::json::parse(r.body)) ++ids[one.at("id").get<int>()];
  }
  return ids;
}

TEST(Callbacks, BatchesAreSignedDeliveredOnceAndRetried) {
  constexpr int total = 250;
  constexpr unsigned batch = 100;
  receiver rx(1);  // the first POST is refused: its callbacks come again after 1 s
  callback_config c;
  c.threads = 2;
  callback_sender s(c);
  recording_journal journal;
  s.set_journal(&journal, {});
  for (int i = 0; i < total; ++i) {
    ASSERT_TRUE(s.post(rx.url(), "{\"id\":" + std::to_string(i) + "}", "s3cret", batch));
  }
  s.start();
  const auto requests =
      rx.wait([](const auto& rs) { return delivered_ids(rs).size() == std::size_t{total}; });
  s.stop();
  const auto ids = delivered_ids(requests);
  ASSERT_EQ(ids.size(), std::size_t{total});
  for (const auto& [id, n] : ids) EXPECT_EQ(n, 1) << "id " << id;
  std::size_t refused = 0;
  std::size_t refused_size = 0;
  for (const auto& r : requests) {
    const auto body = nlohmann::json::parse(r.body);
    ASSERT_TRUE(body.is_array());
    EXPECT_GE(body.size(), 1u);
    EXPECT_LE(body.size(), batch);
    EXPECT_EQ(r.signature, openssl_signature("s3cret", r.body));
    if (r.refused) {
      ++refused;
      refused_size = body.size();
    }
  }
  EXPECT_EQ(refused, 1u);
  EXPECT_EQ(refused_size, batch);  // the first POST is a full batch
  // All queued before the start: 100 + 100 + 50, and the refused 100 again in one POST.
  EXPECT_EQ(requests.size(), 4u);
  const auto n = s.counters();
  EXPECT_EQ(n.queued, std::uint64_t{total});
  EXPECT_EQ(n.delivered, std::uint64_t{total});
  EXPECT_EQ(n.failed, 0u);
  EXPECT_EQ(n.pending, 0u);
  EXPECT_EQ(n.attempts, requests.size());
  // Each is on the journal as an array of one, signed as such, until delivered.
  ASSERT_EQ(journal.added.size(), std::size_t{total});
  for (const auto& a : journal.added) {
    EXPECT_EQ(a.body.front(), '[');
    EXPECT_EQ(a.signature, openssl_signature("s3cret", a.body));
  }
  EXPECT_EQ(journal.done.size(), std::size_t{total});
}

TEST(Callbacks, UnbatchedClientsGetOneObjectPerPost) {
  receiver rx(0);
  callback_config c;
  callback_sender s(c);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(s.post(rx.url(), "{\"id\":" + std::to_string(i) + "}", "k"));
  }
  s.start();
  const auto requests = rx.wait([](const auto& rs) { return rs.size() >= 20; });
  s.stop();
  ASSERT_EQ(requests.size(), 20u);
  for (const auto& r : requests) {
    EXPECT_TRUE(nlohmann::json::parse(r.body).is_object());
    EXPECT_EQ(r.signature, openssl_signature("k", r.body));
  }
  EXPECT_EQ(s.counters().delivered, 20u);
}

TEST(Callbacks, ABatchRefusedPastItsRetryTimeFailsEachCallback) {
  receiver rx(1000);
  callback_config c;
  c.retry_for_s = 0;  // no retry: the first refusal is the end
  callback_sender s(c);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(s.post(rx.url(), "{\"id\":1}", "", 10));
  s.start();
  const auto requests = rx.wait([](const auto& rs) {
    std::size_t n = 0;
    for (const auto& r : rs) n += nlohmann::json::parse(r.body).size();
    return n >= 30;
  });
  s.stop();  // joins the senders: the answers seen are counted
  EXPECT_LE(requests.size(), 30u);
  EXPECT_GE(requests.size(), 3u);  // at most 10 per POST
  const auto n = s.counters();
  EXPECT_EQ(n.failed, 30u);
  EXPECT_EQ(n.delivered, 0u);
  EXPECT_EQ(n.attempts, requests.size());
}

}  // namespace
}  // namespace smpp::http
