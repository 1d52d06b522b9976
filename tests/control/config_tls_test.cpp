// The TLS keys of the configuration: [router.tls] and [upstreams.tls], and the snapshot they
// build (contexts made from real files; bad files fail with the file named).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>

#include "config_text.hpp"
#include "smpp/control/config.hpp"
#include "smpp/control/snapshot_builder.hpp"
#include "smpp/dataplane/tls.hpp"
#include "tls_certs.hpp"

namespace smpp::control {
namespace {

namespace fs = std::filesystem;

using smpp::testing::all_errors;
using smpp::testing::lines;
using smpp::testing::source_dir;

const std::string base = smpp::testing::base_config("pw", "127.0.0.1:2776");

TEST(ConfigTls, ExampleHasATlsListenerBesideThePlainOneAndAVerifiedUpstream) {
  const fs::path file = source_dir() / "config" / "tls.toml";
  const config_result r = load_config_file(file.string());
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const router_config& c = *r.config;
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_FALSE(c.listeners[0].tls);
  EXPECT_EQ(c.listeners[0].port, 2775);
  EXPECT_TRUE(c.listeners[1].tls);
  EXPECT_EQ(c.listeners[1].port, 3775);
  // Relative to the file's directory.
  EXPECT_EQ(c.tls.cert_file, (file.parent_path() / "tls/server.pem").string());
  EXPECT_EQ(c.tls.key_file, (file.parent_path() / "tls/server.key").string());
  EXPECT_EQ(c.tls.min_version, tls_version::v1_2);
  ASSERT_EQ(c.upstreams.size(), 1u);
  const upstream_tls_config& u = c.upstreams[0].tls;
  EXPECT_TRUE(u.enabled);
  EXPECT_EQ(u.ca_file, (file.parent_path() / "tls/ca.pem").string());
  EXPECT_EQ(u.server_name, "smsc.example.net");
  // Colons and case from `openssl x509 -fingerprint` are normalised to lowercase hex.
  EXPECT_EQ(u.pin_sha256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST(ConfigTls, NoTlsTablesMeanPlainEverywhere) {
  const config_result r = load_config_string(base, "plain.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  for (const auto& l : r.config->listeners) EXPECT_FALSE(l.tls);
  EXPECT_FALSE(r.config->upstreams[0].tls.enabled);
}

TEST(ConfigTls, AbsolutePathsAreKeptAndMinVersionThirteenIsRead) {
  const config_result r = load_config_string(
      lines({"[router.tls]", "listen = [\"127.0.0.1:3775\"]", "cert_file = \"/etc/s/c.pem\"",
             "key_file = \"/etc/s/k.pem\"", "min_version = \"1.3\""}) +
          base,
      "/srv/conf/r.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->tls.cert_file, "/etc/s/c.pem");
  EXPECT_EQ(r.config->tls.min_version, tls_version::v1_3);
}

TEST(ConfigTls, UpstreamTlsTableWithoutEnabledMeansTls) {
  const config_result r =
      load_config_string(base + lines({"[upstreams.tls]", "server_name = \"10.1.2.3\""}), "u.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(r.config->upstreams[0].tls.enabled);
  EXPECT_EQ(r.config->upstreams[0].tls.server_name, "10.1.2.3");
}

struct tls_bad_case {
  std::string text;
  uint32_t line;
  std::string key;
  std::string message_part;
};

class ConfigTlsErrors : public ::testing::TestWithParam<tls_bad_case> {};

TEST_P(ConfigTlsErrors, ReportTheKeyLineAndWhatIsAccepted) {
  const tls_bad_case& c = GetParam();
  const config_result r = load_config_string(c.text, "bad.toml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].line, c.line) << all_errors(r);
  EXPECT_EQ(r.errors[0].key, c.key) << all_errors(r);
  EXPECT_NE(r.errors[0].message.find(c.message_part), std::string::npos) << all_errors(r);
}

const std::string tls_head = lines({"[router.tls]", "listen = [\"127.0.0.1:3775\"]",
                                    "cert_file = \"c.pem\"", "key_file = \"k.pem\""});

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigTlsErrors,
    ::testing::Values(
        tls_bad_case{
            lines({"[router.tls]", "cert_file = \"c.pem\"", "key_file = \"k.pem\""}) + base, 1,
            "router.tls.listen", "is required"},
        tls_bad_case{
            lines({"[router.tls]", "listen = [\"127.0.0.1:3775\"]", "key_file = \"k.pem\""}) + base,
            1, "router.tls.cert_file", "is required"},
        tls_bad_case{tls_head + "min_version = \"1.1\"\n" + base, 5, "router.tls.min_version",
                     "\"1.2\" or \"1.3\""},
        tls_bad_case{tls_head + "ciphers = \"x\"\n" + base, 5, "router.tls.ciphers", "unknown key"},
        tls_bad_case{lines({"[router]", "listen = [\"127.0.0.1:2775\"]", "[router.tls]",
                            "listen = [\"127.0.0.1:2775\"]", "cert_file = \"c.pem\"",
                            "key_file = \"k.pem\""}) +
                         base,
                     4, "router.tls.listen[0]", "duplicate listener"},
        tls_bad_case{lines({"[router.tls]", "listen = [\"tls.example.net:3775\"]",
                            "cert_file = \"c.pem\"", "key_file = \"k.pem\""}) +
                         base,
                     2, "router.tls.listen[0]", "is not an IP address"},
        tls_bad_case{lines({"[router.tls]", "listen = [\"127.0.0.1:3775\"]",
                            "cert_file = \"c.pem\"", "key_file = \"\""}) +
                         base,
                     4, "router.tls.key_file", "a file path"},
        tls_bad_case{base + lines({"[upstreams.tls]", "pin_sha256 = \"abcd\""}), 13,
                     "upstreams[0].tls.pin_sha256", "64 hex digits"},
        tls_bad_case{base + lines({"[upstreams.tls]", "enabled = \"yes\""}), 13,
                     "upstreams[0].tls.enabled", "a boolean"},
        tls_bad_case{base + lines({"[upstreams.tls]", "server_name = \"bad name!\""}), 13,
                     "upstreams[0].tls.server_name", "invalid server name"},
        tls_bad_case{base + lines({"[upstreams.tls]", "ca_file = \"\""}), 13,
                     "upstreams[0].tls.ca_file", "a file path"},
        tls_bad_case{base + lines({"[upstreams.tls]", "verify = false"}), 13,
                     "upstreams[0].tls.verify", "unknown key"}));

// Snapshots: the contexts are made from the files, and a bad file stops the build with the
// file named (never the key's content).
class TlsSnapshot : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.make(error_)) << error_; }
  test::tls_certs certs_;
  std::string error_;
};

TEST_F(TlsSnapshot, ListenerAndUpstreamEndpointsCarryTheirContexts) {
  const std::string text = lines({"[router.tls]", "listen = [\"127.0.0.1:3775\"]",
                                  "cert_file = \"" + certs_.server_cert + "\"",
                                  "key_file = \"" + certs_.server_key + "\""}) +
                           base +
                           lines({"[upstreams.tls]", "ca_file = \"" + certs_.ca_cert + "\""});
  const config_result r = load_config_string(text, "t.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  std::string error;
  const auto snap = build_snapshot(*r.config, error);
  ASSERT_NE(snap, nullptr) << error;
  ASSERT_EQ(snap->listeners.size(), 2u);
  EXPECT_EQ(snap->listeners[0].tls, nullptr);
  ASSERT_NE(snap->listeners[1].tls, nullptr);
  EXPECT_TRUE(snap->listeners[1].tls->is_server());
  ASSERT_NE(snap->upstreams[0].address.tls, nullptr);
  EXPECT_FALSE(snap->upstreams[0].address.tls->is_server());
}

TEST_F(TlsSnapshot, AKeyThatIsNotTheCertificatesIsRefusedWithTheFileNamed) {
  const std::string text = lines({"[router.tls]", "listen = [\"127.0.0.1:3775\"]",
                                  "cert_file = \"" + certs_.server_cert + "\"",
                                  "key_file = \"" + certs_.other_key + "\""}) +
                           base;
  const config_result r = load_config_string(text, "t.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  std::string error;
  EXPECT_EQ(build_snapshot(*r.config, error), nullptr);
  EXPECT_NE(error.find("router.tls"), std::string::npos) << error;
  EXPECT_NE(error.find(certs_.other_key), std::string::npos) << error;
  EXPECT_EQ(error.find("PRIVATE KEY"), std::string::npos) << error;
}

TEST_F(TlsSnapshot, AMissingCaFileIsRefusedWithTheUpstreamNamed) {
  const config_result r = load_config_string(
      base + lines({"[upstreams.tls]", "ca_file = \"/nonexistent/ca.pem\""}), "t.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  std::string error;
  EXPECT_EQ(build_snapshot(*r.config, error), nullptr);
  EXPECT_NE(error.find("upstream sim"), std::string::npos) << error;
  EXPECT_NE(error.find("/nonexistent/ca.pem"), std::string::npos) << error;
}

}  // namespace
}  // namespace smpp::control
