// Callback signatures against RFC 4231, and which URLs a dlr_url may be.
#include "smpp/http/callbacks.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace smpp::http
