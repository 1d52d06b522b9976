// config/http.toml loads; each bad key is reported with file, line, key and what is accepted.
#include "smpp/http/http_config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace smpp::http {
namespace {

std::string source_dir() {
  const char* env = std::getenv("SMPP_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? env : SMPP_SOURCE_DIR_DEFAULT;
}

std::vector<std::string> errors_of(const std::string& text) {
  const std::string path = ::testing::TempDir() + "http_config_test.toml";
  std::ofstream(path) << text;
  auto r = load_http_config(path);
  const auto* e = std::get_if<std::vector<std::string>>(&r);
  return e != nullptr ? *e : std::vector<std::string>{};
}

constexpr const char* client =
    "[[clients]]\nname = \"a\"\nkey_hash = "
    "\"blake2b256:e229ec1be2faa7a5dec6aad7aff1591e1e9b1683ed3f08cce11be9bd06dd2c67\"\n"
    "from = \"A\"\n";

TEST(HttpConfig, TheDefaultFileLoadsWithTheDocumentedValues) {
  auto r = load_http_config(source_dir() + "/config/http.toml");
  ASSERT_TRUE(std::holds_alternative<http_config>(r))
      << std::get<std::vector<std::string>>(r).front();
  const http_config& c = std::get<http_config>(r);
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8780);
  EXPECT_EQ(c.threads, 64u);
  EXPECT_EQ(c.smsc.port, 2775);
  EXPECT_EQ(c.smsc.system_id, "demo");
  EXPECT_EQ(c.smsc.password, "demo");
  ASSERT_EQ(c.clients.size(), 1u);
  EXPECT_EQ(c.clients[0].key_hash, hash_api_key("demo-key"));
  EXPECT_EQ(c.store.path, "smpp-http.db");
  EXPECT_EQ(c.store.synchronous, "full");
  EXPECT_EQ(c.store.max_backlog, 500000u);
  EXPECT_EQ(c.campaign_max_recipients, 100000u);
  EXPECT_EQ(c.max_campaigns, 1000u);
}

TEST(HttpConfig, TheCampaignBoundsAreChecked) {
  const auto e = errors_of(
      std::string("[campaigns]\nmax_recipients = 0\nmax_campaigns = 2000000\nmax = 1\n") + client);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_NE(e[0].find(":2:18: campaigns.max_recipients: must be an integer 1..10000000"),
            std::string::npos)
      << e[0];
  EXPECT_NE(e[1].find(":3:17: campaigns.max_campaigns: must be an integer 1..1000000"),
            std::string::npos)
      << e[1];
  EXPECT_NE(e[2].find("campaigns.max: unknown key"), std::string::npos) << e[2];
}

TEST(HttpConfig, TheStoreKeysAreChecked) {
  const auto e = errors_of(
      std::string("[store]\npath = \"\"\nsynchronous = \"off\"\nmax_backlog = 10\n") + client);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_NE(e[0].find(":2:8: store.path: must be a non-empty string"), std::string::npos) << e[0];
  EXPECT_NE(e[1].find(":3:15: store.synchronous: must be \"full\" or \"normal\""),
            std::string::npos)
      << e[1];
  EXPECT_NE(e[2].find(":4:15: store.max_backlog: must be an integer 1000..100000000"),
            std::string::npos)
      << e[2];
}

TEST(HttpConfig, AnMoUrlMustBeHttpAndTheInboxBounded) {
  EXPECT_NE(errors_of(std::string(client) + "mo_url = \"ftp://x/\"\n")
                .at(0)
                .find("clients[0].mo_url: must be an http:// or https:// URL"),
            std::string::npos);
  EXPECT_NE(errors_of("[limits]\ninbox_max = 0\n" + std::string(client))
                .at(0)
                .find("limits.inbox_max: must be an integer 1..10000000"),
            std::string::npos);
}

TEST(HttpConfig, CallbackBatchIsOneByDefaultAndBounded) {
  const std::string path = ::testing::TempDir() + "http_config_batch.toml";
  std::ofstream(path) << client << "callback_batch = 1000\n";
  auto r = load_http_config(path);
  ASSERT_TRUE(std::holds_alternative<http_config>(r));
  EXPECT_EQ(std::get<http_config>(r).clients.at(0).callback_batch, 1000u);
  std::ofstream(path) << client;
  r = load_http_config(path);
  ASSERT_TRUE(std::holds_alternative<http_config>(r));
  EXPECT_EQ(std::get<http_config>(r).clients.at(0).callback_batch, 1u);
  for (const char* bad : {"0", "1001"}) {
    const auto e = errors_of(std::string(client) + "callback_batch = " + bad + "\n");
    ASSERT_EQ(e.size(), 1u) << bad;
    EXPECT_NE(e[0].find("clients[0].callback_batch: must be an integer 1..1000"), std::string::npos)
        << e[0];
  }
}

TEST(HttpConfig, KeysAreHashedWithBlake2b256) {
  // b2sum -l 256 of the 8 octets "demo-key".
  EXPECT_EQ(hash_api_key("demo-key"),
            "blake2b256:e229ec1be2faa7a5dec6aad7aff1591e1e9b1683ed3f08cce11be9bd06dd2c67");
}

TEST(HttpConfig, EveryErrorNamesLineKeyAndTheAcceptedValues) {
  const auto e =
      errors_of(std::string("[smsc]\nwindow = 0\nwindw = 3\n") + client + "key_hash2 = 1\n");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_NE(e[0].find(":2:10: smsc.window: must be an integer 1..65535"), std::string::npos)
      << e[0];
  EXPECT_NE(e[1].find(":3:9: smsc.windw: unknown key"), std::string::npos) << e[1];
  EXPECT_NE(e[2].find("clients[0].key_hash2: unknown key"), std::string::npos) << e[2];
  EXPECT_NE(
      errors_of("[http]\nlisten = \"nohost\"\n" + std::string(client)).at(0).find("http.listen"),
      std::string::npos);
  EXPECT_NE(errors_of("").at(0).find("at least one [[clients]]"), std::string::npos);
  EXPECT_NE(errors_of("[[clients]]\nname = \"a\"\nkey_hash = \"plain\"\nfrom = \"A\"\n")
                .at(0)
                .find("smpp-http --hash-key"),
            std::string::npos);
}

}  // namespace
}  // namespace smpp::http
