#include "smpp/control/config.hpp"
#include "smpp/control/snapshot_builder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace smpp::control {
namespace {

namespace fs = std::filesystem;

fs::path source_dir() {
  if (const char* dir = std::getenv("SMPP_SOURCE_DIR")) return dir;
  return fs::path(__FILE__).parent_path().parent_path().parent_path();  // run outside ctest
}

// One string per line, so that a test reads its expected line numbers off the list.
std::string lines(std::initializer_list<std::string_view> ls) {
  std::string s;
  for (std::string_view l : ls) s.append(l).append("\n");
  return s;
}

std::string all_errors(const config_result& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.to_string() + "\n";
  return s;
}

config_result load(const std::string& text) {
  return load_config_string(text, "bad.toml");
}

// A valid tenant, upstream and route, lines 1..11, for tests that add one mistake after them.
const std::string valid_base = lines({
    "[[tenants]]",                    // 1
    "name = \"t\"",                   // 2
    "system_id = \"t\"",              // 3
    "password = \"pw\"",              // 4
    "[[upstreams]]",                  // 5
    "name = \"sim\"",                 // 6
    "address = \"127.0.0.1:2776\"",   // 7
    "binds = [{system_id = \"r\"}]",  // 8
    "[[routes]]",                     // 9
    "tenant = \"*\"",                 // 10
    "upstreams = [\"sim\"]",          // 11
});

TEST(ConfigExamples, EveryExampleConfigLoads) {
  const fs::path dir = source_dir() / "config";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    // http.toml is smpp-http's (http_config_test loads it).
    if (entry.path().extension() == ".toml" && entry.path().filename() != "http.toml")
      files.push_back(entry.path());
  }
  ASSERT_GE(files.size(), 2u) << dir;
  for (const auto& f : files) {
    const config_result r = load_config_file(f.string());
    EXPECT_TRUE(r.ok()) << f << "\n" << all_errors(r);
  }
}

TEST(ConfigExamples, DefaultConfigHasTheDocumentedValues) {
  const config_result r = load_config_file((source_dir() / "config" / "router.toml").string());
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const router_config& c = *r.config;

  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].host, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].port, 2775);
  EXPECT_TRUE(c.workers.automatic);
  EXPECT_TRUE(c.workers.cpus.empty());

  ASSERT_EQ(c.tenants.size(), 1u);
  EXPECT_EQ(c.tenants[0].name, "demo");
  EXPECT_EQ(c.tenants[0].system_id, "demo");
  EXPECT_TRUE(c.tenants[0].password_hash.starts_with("$argon2id$"));
  EXPECT_TRUE(verify_password(c.tenants[0].password_hash, "demo"));
  EXPECT_FALSE(verify_password(c.tenants[0].password_hash, "demo1"));
  EXPECT_TRUE(c.tenants[0].allowed_networks.empty());

  ASSERT_EQ(c.upstreams.size(), 1u);
  const upstream_config& u = c.upstreams[0];
  EXPECT_EQ(u.name, "sim");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 2776);
  uint32_t binds = 0;
  for (const auto& b : u.binds) {
    EXPECT_EQ(b.type, bind_type::transceiver);
    EXPECT_EQ(b.system_id, "router");
    EXPECT_EQ(b.password, "router");
    binds += b.count;
  }
  EXPECT_EQ(binds, 2u);

  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].tenant, "*");
  EXPECT_EQ(c.routes[0].destination_prefix, "");
  EXPECT_EQ(c.routes[0].source_prefix, "");
  EXPECT_EQ(c.routes[0].service_type, "");
  EXPECT_EQ(c.routes[0].upstreams, std::vector<std::string>{"sim"});

  // Everything else keeps the data model's defaults.
  const timeouts_config t;
  EXPECT_EQ(c.timeouts.bind_ms, t.bind_ms);
  EXPECT_EQ(c.timeouts.reconnect_max_ms, t.reconnect_max_ms);
  const limits_config l;
  EXPECT_EQ(c.limits.max_command_length, l.max_command_length);
  EXPECT_EQ(c.limits.max_connections, l.max_connections);
  EXPECT_EQ(c.limits.max_send_queue_bytes, l.max_send_queue_bytes);
}

TEST(ConfigWorkers, AnExplicitCpuListIsKeptInOrder) {
  const config_result r = load_config_string("[router]\nworkers = [3, 1, 2]\n", "w.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_FALSE(r.config->workers.automatic);
  EXPECT_EQ(r.config->workers.cpus, (std::vector<uint32_t>{3, 1, 2}));
}

TEST(ConfigExamples, MultiTenantConfigKeepsFailoverOrderAndNetworks) {
  const config_result r =
      load_config_file((source_dir() / "config" / "multi-tenant.toml").string());
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const router_config& c = *r.config;
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[1].host, "::");
  EXPECT_TRUE(c.workers.automatic);
  EXPECT_EQ(c.timeouts.reconnect_min_ms, 250u);
  ASSERT_EQ(c.tenants.size(), 3u);
  EXPECT_TRUE(verify_password(c.tenants[0].password_hash, "acme2024"));
  EXPECT_EQ(c.tenants[0].allowed_networks,
            (std::vector<std::string>{"203.0.113.0/24", "2001:db8:ace::/48"}));
  ASSERT_EQ(c.upstreams.size(), 3u);
  EXPECT_EQ(c.upstreams[0].host, "smsc-a.example.net");
  EXPECT_EQ(c.upstreams[2].host, "2001:db8::25");
  EXPECT_EQ(c.upstreams[0].binds[1].type, bind_type::receiver);
  ASSERT_GE(c.routes.size(), 3u);
  EXPECT_EQ(c.routes[0].upstreams, (std::vector<std::string>{"mno-a", "backup"}));
  EXPECT_EQ(c.routes[2].source_prefix, "80080");
}

TEST(ConfigExamples, CarrierConfigRoutesByNetworkWithItsPortabilityFiles) {
  const config_result r = load_config_file((source_dir() / "config" / "carrier.toml").string());
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const router_config& c = *r.config;
  ASSERT_EQ(c.networks.size(), 2u);
  EXPECT_EQ(c.networks[0].prefixes, (std::vector<std::string>{"447700", "447701"}));
  ASSERT_EQ(c.number_portability.size(), 1u);
  EXPECT_EQ(c.number_portability[0].file,
            (source_dir() / "config" / "carrier-ported.csv").string());
  ASSERT_EQ(c.number_portability[0].deltas.size(), 1u);
  ASSERT_EQ(c.routes.size(), 5u);
  EXPECT_TRUE(c.routes[3].quality);
  EXPECT_EQ(c.quality_window_s, 600u);
  EXPECT_EQ(c.routes[1].network, "blue");
  EXPECT_FALSE(c.routes[1].cheapest);
  EXPECT_TRUE(c.routes[2].cheapest);
  EXPECT_EQ(c.upstreams[1].price_list,
            (source_dir() / "config" / "carrier-prices-blue.csv").string());
  EXPECT_TRUE(c.upstreams[0].broadcast);
  EXPECT_FALSE(c.upstreams[1].broadcast);
  ASSERT_EQ(c.mo_routes.size(), 1u);
  EXPECT_EQ(c.retry_on, (std::vector<uint32_t>{0x08, 0x14, 0x58}));
}

TEST(ConfigLoad, ClearPasswordIsHashedAtLoad) {
  const config_result r = load(valid_base);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_NE(r.config->tenants[0].password_hash, "pw");
  EXPECT_TRUE(verify_password(r.config->tenants[0].password_hash, "pw"));
  EXPECT_EQ(r.config->source_file, "bad.toml");
}

TEST(ConfigLoad, EmptyFileGivesTheDefaultListener) {
  const config_result r = load("");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.config->listeners.size(), 1u);
  EXPECT_EQ(r.config->listeners[0].port, 2775);
}

TEST(ConfigLoad, MissingFileNamesTheFile) {
  const config_result r = load_config_file("/nonexistent/router.toml");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, "/nonexistent/router.toml");
  EXPECT_NE(r.errors[0].message.find("cannot open"), std::string::npos);
}

TEST(ConfigErrors, UnknownKeyNamesFileLineColumnKeyAndSuggestion) {
  const config_result r = load(lines({
      "[[tenants]]",
      "name = \"t\"",
      "system_id = \"t\"",
      "password = \"pw\"",
      "  widnow = 10",
  }));
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.errors[0].to_string(),
            "bad.toml:5:3: tenants[0].widnow: unknown key 'widnow' (did you mean 'window'?)");
}

TEST(ConfigErrors, UnknownKeyWithoutNearMatchListsTheAcceptedKeys) {
  const config_result r = load(lines({"[timeouts]", "frobnicate = 1"}));
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].key, "timeouts.frobnicate");
  EXPECT_NE(r.errors[0].message.find("(accepted: bind_ms, enquire_link_interval_ms"),
            std::string::npos)
      << r.errors[0].message;
}

TEST(ConfigErrors, ValueErrorPointsAtTheValue) {
  const config_result r = load(lines({"[router]", "max_connections =   0"}));
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(),
            "bad.toml:2:21: router.max_connections: must be an integer 1..1048576 (got integer "
            "0)");
}

TEST(ConfigErrors, EveryErrorIsCollectedInFileOrder) {
  // Routes come first in the file but are checked last: the report is still in file order.
  const config_result r = load(lines({
      "[[routes]]",                    // 1
      "tenant = \"nobody\"",           // 2: unknown tenant
      "upstreams = [\"x\"]",           // 3: unknown upstream
      "[[tenants]]",                   // 4
      "name = \"t\"",                  // 5
      "system_id = \"t\"",             // 6
      "password = \"pw\"",             // 7
      "window = 0",                    // 8: out of range
      "max_bind = 3",                  // 9: typo
      "[router]",                      // 10
      "listen = [\"1.2.3.4:99999\"]",  // 11: bad port
      "workers = [1, 1]",              // 12: duplicate CPU
  }));
  EXPECT_FALSE(r.ok());
  std::vector<std::pair<uint32_t, std::string>> got;
  for (const auto& e : r.errors) got.emplace_back(e.line, e.key);
  const std::vector<std::pair<uint32_t, std::string>> want = {
      {2, "routes[0].tenant"},    {3, "routes[0].upstreams[0]"}, {8, "tenants[0].window"},
      {9, "tenants[0].max_bind"}, {11, "router.listen[0]"},      {12, "router.workers[1]"},
  };
  EXPECT_EQ(got, want) << all_errors(r);
}

TEST(ConfigErrors, TomlSyntaxErrorHasLineAndColumn) {
  const config_result r = load(lines({"[router]", "listen = [\"127.0.0.1:2775\"", "[timeouts]"}));
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].file, "bad.toml");
  EXPECT_EQ(r.errors[0].line, 3u);
  EXPECT_GT(r.errors[0].column, 0u);
  EXPECT_NE(r.errors[0].message.find("TOML syntax error"), std::string::npos);
}

struct bad_config {
  const char* what;
  std::string toml;
  uint32_t line;
  std::string key;
  std::string fragment;
};

class BadConfig : public ::testing::TestWithParam<bad_config> {};

TEST_P(BadConfig, ReportsExactlyOneErrorWithFileLineKeyAndAcceptedValues) {
  const bad_config& c = GetParam();
  const config_result r = load(c.toml);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << c.what << "\n" << all_errors(r);
  const config_error& e = r.errors[0];
  EXPECT_EQ(e.file, "bad.toml");
  EXPECT_EQ(e.line, c.line) << e.to_string();
  EXPECT_EQ(e.key, c.key) << e.to_string();
  EXPECT_NE(e.message.find(c.fragment), std::string::npos) << e.to_string();
  EXPECT_TRUE(e.to_string().starts_with("bad.toml:" + std::to_string(c.line) + ":"))
      << e.to_string();
}

const std::string tenant_lines = lines({
    "[[tenants]]",        // 1
    "name = \"t\"",       // 2
    "system_id = \"t\"",  // 3
    "password = \"pw\"",  // 4
});
const std::string upstream_lines = lines({
    "[[upstreams]]",                 // 1
    "name = \"sim\"",                // 2
    "address = \"127.0.0.1:2776\"",  // 3
    "[[upstreams.binds]]",           // 4
    "system_id = \"r\"",             // 5
});

// An upstream with one more line (8, after tenant_lines) before its bind (lines 9-10).
std::string sched_lines(std::string_view key) {
  return lines({"[[upstreams]]", "name = \"sim\"", "address = \"127.0.0.1:2776\"", key,
                "[[upstreams.binds]]", "system_id = \"r\""});
}
// After tenant_lines: an upstream at 1000 msg/s (lines 5-10) and a share table at line 11.
const std::string shared_lines = sched_lines("rate_per_s = 1000") + "[[upstreams.shares]]\n";

// clang-format off
const bad_config bad_configs[] = {
    // [router]
    {"no listener", lines({"[router]", "listen = []"}), 2, "router.listen",
     "must name at least one listener"},
    {"listener on a host name", lines({"[router]", "listen = [\"localhost:2775\"]"}), 2,
     "router.listen[0]", "'localhost' is not an IP address"},
    {"IPv6 listener without brackets", lines({"[router]", "listen = [\"::1:2775\"]"}), 2,
     "router.listen[0]", "an IPv6 address must be written in brackets"},
    {"listener port 0", lines({"[router]", "listen = [\"0.0.0.0:0\"]"}), 2, "router.listen[0]",
     "invalid port '0': must be \"ip:port\""},
    {"duplicate listener", lines({"[router]", "listen = [\"[::1]:2775\",", "\"[::1]:2775\"]"}), 3,
     "router.listen[1]", "duplicate listener '[::1]:2775' (first at line 2)"},
    {"workers not auto", lines({"[router]", "workers = \"all\""}), 2, "router.workers",
     "must be \"auto\" or a non-empty array of distinct CPU numbers 0..4095 (got string \"all\")"},
    {"workers CPU twice", lines({"[router]", "workers = [0, 2, 2]"}), 2, "router.workers[2]",
     "CPU 2 is listed twice"},
    {"workers negative CPU", lines({"[router]", "workers = [-1]"}), 2, "router.workers[0]",
     "must be a CPU number 0..4095 (got integer -1)"},
    {"workers empty", lines({"[router]", "workers = []"}), 2, "router.workers",
     "must be \"auto\" or a non-empty array"},
    {"max_command_length too small", lines({"[router]", "max_command_length = 100"}), 2,
     "router.max_command_length", "must be an integer 1024..16777216 (got integer 100)"},
    {"router is not a table", lines({"router = \"fast\""}), 1, "router",
     "must be a table ([router])"},
    // top level
    {"top-level typo", lines({"[[tenant]]", "name = \"t\""}), 1, "tenant",
     "unknown key 'tenant' (did you mean 'tenants'?)"},
    {"router key at the top level", lines({"listen = [\"127.0.0.1:2775\"]"}), 1, "listen",
     "did you mean 'router.listen'?"},
    {"tenants as a single table", lines({"[tenants]", "name = \"t\""}), 1, "tenants",
     "must be an array of tables ([[tenants]])"},
    // [timeouts]
    {"timeout zero", lines({"[timeouts]", "bind_ms = 0"}), 2, "timeouts.bind_ms",
     "must be an integer 1..86400000"},
    {"timeout as a float", lines({"[timeouts]", "response_ms = 1.5"}), 2, "timeouts.response_ms",
     "must be an integer 1..86400000 (got float 1.5)"},
    {"reconnect range inverted", lines({"[timeouts]", "reconnect_min_ms = 5000",
                                        "reconnect_max_ms = 1000"}),
     3, "timeouts.reconnect_max_ms", "must be at least reconnect_min_ms (5000)"},
    {"dead peer before enquire_link", lines({"[timeouts]", "dead_peer_ms = 30000"}), 2,
     "timeouts.dead_peer_ms", "must be greater than enquire_link_interval_ms (30000)"},
    // [[tenants]]
    {"tenant window 0", tenant_lines + "window = 0\n", 5, "tenants[0].window",
     "must be an integer 1..65535 (got integer 0)"},
    {"tenant window 65536", tenant_lines + "window = 65536\n", 5, "tenants[0].window",
     "must be an integer 1..65535"},
    {"tenant window is a string", tenant_lines + "window = \"big\"\n", 5, "tenants[0].window",
     "(got string \"big\")"},
    {"tenant max_binds 0", tenant_lines + "max_binds = 0\n", 5, "tenants[0].max_binds",
     "must be an integer 1..65535"},
    {"tenant missing system_id", lines({"[[tenants]]", "name = \"t\"", "password = \"pw\""}), 1,
     "tenants[0].system_id", "is required: a string of 1..15 printable ASCII characters"},
    {"tenant system_id of 16 characters",
     lines({"[[tenants]]", "name = \"t\"", "system_id = \"0123456789abcdef\"",
            "password = \"pw\""}),
     3, "tenants[0].system_id", "is 16 characters long: must be a string of 1..15"},
    {"tenant system_id with a control character",
     lines({"[[tenants]]", "name = \"t\"", "system_id = \"a\\u0001b\"", "password = \"pw\""}),
     3, "tenants[0].system_id", "has a character that is not printable ASCII"},
    {"tenant clear password of 9 characters",
     lines({"[[tenants]]", "name = \"t\"", "system_id = \"t\"", "password = \"123456789\""}), 4,
     "tenants[0].password", "is 9 characters long: must be a string of 1..8"},
    {"tenant without a password", lines({"[[tenants]]", "name = \"t\"", "system_id = \"t\""}), 1,
     "tenants[0].password_hash", "is required: set 'password_hash'"},
    {"tenant with both passwords", tenant_lines + "password_hash = \"$argon2id$x\"\n", 5,
     "tenants[0].password_hash", "set either 'password_hash' or 'password', not both"},
    {"tenant with a clear text password_hash",
     lines({"[[tenants]]", "name = \"t\"", "system_id = \"t\"", "password_hash = \"secret\""}), 4,
     "tenants[0].password_hash", "not a valid password hash: must be an argon2id string"},
    {"tenant name with a space", lines({"[[tenants]]", "name = \"a b\"", "system_id = \"t\"",
                                        "password = \"pw\""}),
     2, "tenants[0].name", "must be a name of 1..64 characters A-Z a-z 0-9"},
    {"duplicate tenant name",
     tenant_lines + lines({"[[tenants]]", "name = \"t\"", "system_id = \"u\"", "password = \"pw\""}),
     6, "tenants[1].name", "duplicate tenant name 't' (first defined at line 2)"},
    {"duplicate tenant system_id",
     tenant_lines + lines({"[[tenants]]", "name = \"u\"", "system_id = \"t\"", "password = \"pw\""}),
     7, "tenants[1].system_id", "duplicate system_id 't' (already used by tenant 't' at line 3)"},
    {"network with host bits", tenant_lines + "allowed_networks = [\"10.0.0.1/8\"]\n", 5,
     "tenants[0].allowed_networks[0]", "has host bits set (did you mean 10.0.0.0/8?)"},
    {"network prefix too long", tenant_lines + "allowed_networks = [\"10.0.0.0/33\"]\n", 5,
     "tenants[0].allowed_networks[0]", "invalid prefix length '33' (0..32): must be a CIDR"},
    {"network without prefix", tenant_lines + "allowed_networks = [\"::1\"]\n", 5,
     "tenants[0].allowed_networks[0]", "has no prefix length (write ::1/128 for one address)"},
    {"networks not an array", tenant_lines + "allowed_networks = \"10.0.0.0/8\"\n", 5,
     "tenants[0].allowed_networks", "must be an array of a CIDR network"},
    // [[upstreams]]
    {"upstream address port 0",
     lines({"[[upstreams]]", "name = \"sim\"", "address = \"127.0.0.1:0\"",
            "binds = [{system_id = \"r\"}]"}),
     3, "upstreams[0].address", "invalid port '0': must be \"host:port\""},
    {"upstream address port 65536",
     lines({"[[upstreams]]", "name = \"sim\"", "address = \"smsc:65536\"",
            "binds = [{system_id = \"r\"}]"}),
     3, "upstreams[0].address", "invalid port '65536'"},
    {"upstream address without port",
     lines({"[[upstreams]]", "name = \"sim\"", "address = \"smsc.example.net\"",
            "binds = [{system_id = \"r\"}]"}),
     3, "upstreams[0].address", "missing ':port'"},
    {"upstream address bad IPv4",
     lines({"[[upstreams]]", "name = \"sim\"", "address = \"10.0.0.256:2775\"",
            "binds = [{system_id = \"r\"}]"}),
     3, "upstreams[0].address", "invalid IPv4 address '10.0.0.256'"},
    {"upstream without binds",
     lines({"[[upstreams]]", "name = \"sim\"", "address = \"127.0.0.1:2776\""}), 1,
     "upstreams[0].binds", "is required: at least one [[upstreams.binds]] table"},
    {"duplicate upstream name",
     upstream_lines + lines({"[[upstreams]]", "name = \"sim\"", "address = \"127.0.0.1:2777\"",
                             "binds = [{system_id = \"r\"}]"}),
     7, "upstreams[1].name", "duplicate upstream name 'sim' (first defined at line 2)"},
    {"bind password of 9 characters", upstream_lines + "password = \"123456789\"\n", 6,
     "upstreams[0].binds[0].password", "is 9 characters long: must be a string of 0..8"},
    {"bind system_id of 16 characters",
     lines({"[[upstreams]]", "name = \"sim\"", "address = \"127.0.0.1:2776\"", "[[upstreams.binds]]",
            "system_id = \"0123456789abcdef\""}),
     5, "upstreams[0].binds[0].system_id", "is 16 characters long: must be a string of 1..15"},
    {"bind without system_id",
     lines({"[[upstreams]]", "name = \"sim\"", "address = \"127.0.0.1:2776\"", "[[upstreams.binds]]",
            "password = \"x\""}),
     4, "upstreams[0].binds[0].system_id", "is required: a string of 1..15"},
    {"bind type unknown", upstream_lines + "type = \"both\"\n", 6, "upstreams[0].binds[0].type",
     "must be one of \"transmitter\", \"receiver\", \"transceiver\" (got string \"both\")"},
    {"bind system_type of 13 characters", upstream_lines + "system_type = \"ABCDEFGHIJKLM\"\n",
     6, "upstreams[0].binds[0].system_type", "is 13 characters long: must be a string of 0..12"},
    {"bind negative rate", upstream_lines + "rate_per_s = -1\n", 6,
     "upstreams[0].binds[0].rate_per_s", "must be an integer 0..1000000"},
    {"bind count 0", upstream_lines + "count = 0\n", 6, "upstreams[0].binds[0].count",
     "must be an integer 1..1024"},
    {"bind key typo", upstream_lines + "wieght = 2\n", 6, "upstreams[0].binds[0].wieght",
     "unknown key 'wieght' (did you mean 'weight'?)"},
    // [[routes]]
    {"route to an unknown upstream",
     upstream_lines + lines({"[[upstreams]]", "name = \"backup\"", "address = \"10.0.0.1:2775\"",
                             "binds = [{system_id = \"b\"}]", "[[routes]]", "tenant = \"*\"",
                             "upstreams = [\"sim\", \"x\"]"}),
     12, "routes[0].upstreams[1]", "unknown upstream 'x' (defined: sim, backup)"},
    {"route to an unknown tenant",
     tenant_lines + upstream_lines + lines({"[[routes]]", "tenant = \"acme\"",
                                            "upstreams = [\"sim\"]"}),
     11, "routes[0].tenant", "unknown tenant 'acme' (defined: t; \"*\" means every tenant)"},
    {"route prefix with a letter",
     upstream_lines + lines({"[[routes]]", "tenant = \"*\"", "destination_prefix = \"44a\"",
                             "upstreams = [\"sim\"]"}),
     8, "routes[0].destination_prefix",
     "invalid prefix '44a': must be a string of at most 20 digits, optionally starting with '+'"},
    {"route prefix with an inner plus",
     upstream_lines + lines({"[[routes]]", "tenant = \"*\"", "source_prefix = \"4+4\"",
                             "upstreams = [\"sim\"]"}),
     8, "routes[0].source_prefix", "invalid prefix '4+4'"},
    {"route service_type of 6 characters",
     upstream_lines + lines({"[[routes]]", "tenant = \"*\"", "service_type = \"ABCDEF\"",
                             "upstreams = [\"sim\"]"}),
     8, "routes[0].service_type", "is 6 characters long: must be a string of 0..5"},
    {"route without upstreams",
     upstream_lines + lines({"[[routes]]", "tenant = \"*\"", "upstreams = []"}), 8,
     "routes[0].upstreams", "must be a non-empty array of upstream names, in failover order"},
    {"route lists an upstream twice",
     upstream_lines + lines({"[[routes]]", "tenant = \"*\"", "upstreams = [\"sim\", \"sim\"]"}), 8,
     "routes[0].upstreams[1]", "upstream 'sim' is listed twice"},
    {"route to a receiver-only upstream",
     upstream_lines + lines({"type = \"receiver\"", "[[routes]]", "tenant = \"*\"",
                             "upstreams = [\"sim\"]"}),
     9, "routes[0].upstreams[0]", "has only receiver binds"},
    {"duplicate route",
     upstream_lines + lines({"[[routes]]", "tenant = \"*\"", "upstreams = [\"sim\"]", "[[routes]]",
                             "tenant = \"*\"", "destination_prefix = \"\"",
                             "upstreams = [\"sim\"]"}),
     9, "routes[1]", "duplicate route: same tenant, destination_prefix, network, source_prefix "
                     "and service_type as routes[0] (line 6)"},
    {"route key cut short",
     valid_base + "destination = \"44\"\n", 12, "routes[0].destination",
     "unknown key 'destination' (did you mean 'destination_prefix'?)"},
    {"route key unrelated",
     valid_base + "priority = 1\n", 12, "routes[0].priority",
     "unknown key 'priority' (accepted: tenant, destination_prefix, network, source_prefix, "
     "service_type, upstreams, mode)"},
    // return path and idle behaviour
    {"message id radix unknown", valid_base + lines({"[[upstreams]]", "name = \"u2\"",
     "address = \"127.0.0.1:1\"", "binds = [{system_id = \"r\"}]", "message_id_radix = \"octal\""}),
     16, "upstreams[1].message_id_radix", "one of \"auto\", \"hex\", \"decimal\", \"text\""},
    {"on_demand not a boolean", valid_base + lines({"[[upstreams]]", "name = \"u2\"",
     "address = \"127.0.0.1:1\"", "binds = [{system_id = \"r\"}]", "on_demand = \"yes\""}),
     16, "upstreams[1].on_demand", "a boolean (true or false)"},
    {"broadcast not a boolean", valid_base + lines({"[[upstreams]]", "name = \"u2\"",
     "address = \"127.0.0.1:1\"", "binds = [{system_id = \"r\"}]", "broadcast = 1"}),
     16, "upstreams[1].broadcast", "a boolean (true or false)"},
    {"outbind without listen", valid_base + lines({"[[upstreams]]", "name = \"u2\"",
     "address = \"127.0.0.1:1\"", "binds = [{system_id = \"r\"}]", "[upstreams.outbind]",
     "system_id = \"smsc\""}), 16, "upstreams[1].outbind.listen",
     "is required: the \"ip:port\" the SMSC calls back on"},
    {"outbind system_id too long", valid_base + lines({"[[upstreams]]", "name = \"u2\"",
     "address = \"127.0.0.1:1\"", "binds = [{system_id = \"r\"}]", "[upstreams.outbind]",
     "listen = \"127.0.0.1:2790\"", "system_id = \"a-system-id-of-20ch\""}), 18,
     "upstreams[1].outbind.system_id", "must be a string of 1..15"},
    {"idle_unbind_s zero", valid_base + lines({"[[upstreams]]", "name = \"u2\"",
     "address = \"127.0.0.1:1\"", "binds = [{system_id = \"r\"}]", "idle_unbind_s = 0"}),
     16, "upstreams[1].idle_unbind_s", "an integer 1..86400"},
    {"MO route to an unknown tenant", valid_base + lines({"[[mo_routes]]",
     "destination_prefix = \"555\"", "tenant = \"nobody\""}), 14, "mo_routes[0].tenant",
     "unknown tenant 'nobody'"},
    {"MO route without tenant", valid_base + lines({"[[mo_routes]]",
     "destination_prefix = \"555\""}), 12, "mo_routes[0].tenant", "is required"},
    {"MO route from an unknown upstream", valid_base + lines({"[[mo_routes]]",
     "tenant = \"t\"", "upstream = \"nope\""}), 14, "mo_routes[0].upstream",
     "unknown upstream 'nope'"},
    {"duplicate MO route", valid_base + lines({"[[mo_routes]]", "tenant = \"t\"",
     "[[mo_routes]]", "tenant = \"t\""}), 14, "mo_routes[1]", "duplicate MO route"},
    {"MO route prefix not digits", valid_base + lines({"[[mo_routes]]", "tenant = \"t\"",
     "destination_prefix = \"STOP\""}), 14, "mo_routes[0].destination_prefix", "invalid prefix"},
    {"correlation capacity zero", lines({"[correlation]", "capacity = 0"}), 2,
     "correlation.capacity", "an integer 1..1000000000"},
    {"correlation ttl too long", lines({"[correlation]", "ttl_s = 99999999"}), 2,
     "correlation.ttl_s", "an integer 1..2592000"},
    {"correlation note unknown", lines({"[correlation]", "note = \"some\""}), 2,
     "correlation.note", "\"all\" or \"receipts\""},
    {"store sync unknown", lines({"[store]", "sync = \"always\""}), 2, "store.sync",
     "\"batch\", \"fsync\" or \"off\""},
    {"store engine unknown", lines({"[store]", "engine = \"redis\""}), 2, "store.engine",
     "\"log\", \"rocksdb\" or \"lmdb\""},
    {"store path empty", lines({"[store]", "path = \"\""}), 2, "store.path", "a directory"},
    {"store capacity too small", lines({"[store]", "capacity_mb = 1"}), 2, "store.capacity_mb",
     "an integer 64..1000000000"},
    {"store key unknown", lines({"[store]", "fsync = true"}), 2, "store.fsync", "unknown key"},
    {"hold_ttl_s zero", tenant_lines + "hold_ttl_s = 0\n", 5, "tenants[0].hold_ttl_s",
     "an integer 1..2592000"},
    {"deliver_window zero", tenant_lines + "deliver_window = 0\n", 5, "tenants[0].deliver_window",
     "an integer 1..65535"},
    {"queue_full unknown", tenant_lines + "queue_full = \"drop\"\n", 5, "tenants[0].queue_full",
     "must be \"throttle\" or \"backpressure\" (got string \"drop\")"},
    {"queue_full not a string", tenant_lines + "queue_full = true\n", 5, "tenants[0].queue_full",
     "\"throttle\" or \"backpressure\""},
    {"security delay not an integer", lines({"[security]", "bind_fail_delay_ms = \"1s\""}), 2,
     "security.bind_fail_delay_ms", "an integer 0..86400000"},
    {"security lockout zero seconds", lines({"[security]", "bind_lockout_s = 0"}), 2,
     "security.bind_lockout_s", "an integer 1..86400"},
    {"esme_idle_ms negative", lines({"[timeouts]", "esme_idle_ms = -1"}), 2,
     "timeouts.esme_idle_ms", "an integer 0..86400000"},
    // TDMA schedule: [[upstreams]] rate_per_s, frame_ms, mode; [[upstreams.shares]]; tenant weight
    {"tenant weight 0", tenant_lines + "weight = 0\n", 5, "tenants[0].weight",
     "an integer 1..65535 (got integer 0)"},
    {"upstream rate above a million", tenant_lines + sched_lines("rate_per_s = 1000001"), 8,
     "upstreams[0].rate_per_s", "an integer 0..1000000"},
    {"frame_ms below 10", tenant_lines + sched_lines("frame_ms = 5"), 8, "upstreams[0].frame_ms",
     "an integer 10..10000 (got integer 5)"},
    {"mode unknown", tenant_lines + sched_lines("mode = \"fair\""), 8, "upstreams[0].mode",
     "must be \"work-conserving\" or \"strict\" (got string \"fair\")"},
    {"share of an unknown tenant", tenant_lines + shared_lines + "tenant = \"x\"\n", 12,
     "upstreams[0].shares[0].tenant", "unknown tenant 'x' (defined: t)"},
    {"share without a tenant", tenant_lines + shared_lines + "weight = 2\n", 11,
     "upstreams[0].shares[0].tenant", "is required: a tenant name"},
    {"two shares of one tenant",
     tenant_lines + shared_lines + lines({"tenant = \"t\"", "[[upstreams.shares]]", "tenant = \"t\""}),
     14, "upstreams[0].shares[1].tenant", "tenant 't' already has a share of this upstream (line 12)"},
    {"share weight too large", tenant_lines + shared_lines + lines({"tenant = \"t\"", "weight = 70000"}),
     13, "upstreams[0].shares[0].weight", "an integer 1..65535"},
    {"share cap 0", tenant_lines + shared_lines + lines({"tenant = \"t\"", "cap_per_s = 0"}), 13,
     "upstreams[0].shares[0].cap_per_s", "an integer 1..1000000"},
    {"share queue_max 0", tenant_lines + shared_lines + lines({"tenant = \"t\"", "queue_max = 0"}),
     13, "upstreams[0].shares[0].queue_max", "an integer 1..1000000"},
    {"share queue_max above a million",
     tenant_lines + shared_lines + lines({"tenant = \"t\"", "queue_max = 1000001"}), 13,
     "upstreams[0].shares[0].queue_max", "an integer 1..1000000"},
    {"share guarantee above its cap",
     tenant_lines + shared_lines + lines({"tenant = \"t\"", "cap_per_s = 100", "guarantee_per_s = 200"}),
     14, "upstreams[0].shares[0].guarantee_per_s", "must be at most cap_per_s (100)"},
    {"guarantees above the upstream rate",
     tenant_lines + shared_lines + lines({"tenant = \"t\"", "guarantee_per_s = 1001"}), 13,
     "upstreams[0].shares[0].guarantee_per_s",
     "the guarantees add up to 1001 msg/s, more than the upstream's rate of 1000 msg/s"},
    {"share key typo", tenant_lines + shared_lines + lines({"tenant = \"t\"", "wieght = 2"}), 13,
     "upstreams[0].shares[0].wieght", "did you mean 'weight'?"},
    {"shares without a rate",
     tenant_lines + upstream_lines + lines({"[[upstreams.shares]]", "tenant = \"t\""}), 10,
     "upstreams[0].shares", "has no effect: the upstream has no rate_per_s"},
    {"strict without a rate", tenant_lines + sched_lines("mode = \"strict\""), 8,
     "upstreams[0].mode", "\"strict\" needs a rate_per_s"},
    {"upstream rate below its binds' own",
     tenant_lines + sched_lines("rate_per_s = 100") + "rate_per_s = 200\n", 8,
     "upstreams[0].rate_per_s", "is below its binds' own rate_per_s, which add up to 200"},
    {"upstream rate too small for its binds",
     tenant_lines + sched_lines("rate_per_s = 1") + "count = 2\n", 8, "upstreams[0].rate_per_s",
     "leaves 1 msg/s for 2 sending binds without their own rate_per_s"},
    {"cap with an unrated bind and no upstream rate",
     tenant_lines + upstream_lines +
         lines({"rate_per_s = 100", "[[upstreams.binds]]", "system_id = \"r2\"",
                "[[upstreams.shares]]", "tenant = \"t\"", "cap_per_s = 50"}),
     13, "upstreams[0].shares[0]", "need a rate on every sending bind"},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Table, BadConfig, ::testing::ValuesIn(bad_configs));

TEST(ConfigLoad, StoreSettingsReachTheConfigAndItsDefaultIsOff) {
  const config_result none = load("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.config->store.sync, "off");
  EXPECT_TRUE(none.config->store.path.empty());
  const config_result c = load(lines({"[store]", "path = \"/var/lib/x\"", "sync = \"fsync\"",
                                      "engine = \"rocksdb\"", "capacity_mb = 1024"}));
  ASSERT_TRUE(c.ok()) << (c.errors.empty() ? "" : c.errors[0].to_string());
  EXPECT_EQ(c.config->store.path, "/var/lib/x");
  EXPECT_EQ(c.config->store.sync, "fsync");
  EXPECT_EQ(c.config->store.engine, "rocksdb");
  EXPECT_EQ(c.config->store.capacity_mb, 1024U);
}

TEST(ConfigLoad, ReturnPathAndIdleSettingsReachTheConfig) {
  const config_result c = load(lines({
      "[correlation]",
      "capacity = 2000000",
      "ttl_s = 600",
      "note = \"receipts\"",
      "[timeouts]",
      "esme_idle_ms = 60000",
      "[security]",
      "bind_fail_delay_ms = 50",
      "bind_lockout_failures = 0",
      "[[tenants]]",
      "name = \"t\"",
      "system_id = \"t\"",
      "password = \"pw\"",
      "hold_max = 5",
      "hold_ttl_s = 60",
      "deliver_window = 16",
      "queue_full = \"backpressure\"",
      "[[upstreams]]",
      "name = \"sim\"",
      "address = \"127.0.0.1:2776\"",
      "binds = [{system_id = \"r\"}]",
      "message_id_radix = \"hex\"",
      "receipt_id_radix = \"decimal\"",
      "on_demand = true",
      "idle_unbind_s = 30",
      "broadcast = true",
      "[upstreams.outbind]",
      "listen = \"127.0.0.1:2790\"",
      "system_id = \"smsc-ob\"",
      "password = \"obpw\"",
      "[[routes]]",
      "tenant = \"*\"",
      "upstreams = [\"sim\"]",
      "[[mo_routes]]",
      "destination_prefix = \"555\"",
      "tenant = \"t\"",
      "upstream = \"sim\"",
  }));
  ASSERT_TRUE(c.ok()) << all_errors(c);
  const router_config& k = *c.config;
  EXPECT_EQ(k.correlation.capacity, 2000000u);
  EXPECT_EQ(k.correlation.ttl_s, 600u);
  EXPECT_FALSE(k.correlation.note_all);
  EXPECT_EQ(k.timeouts.esme_idle_ms, 60000u);
  EXPECT_EQ(k.security.bind_fail_delay_ms, 50u);
  EXPECT_EQ(k.security.bind_lockout_failures, 0u);
  EXPECT_EQ(k.security.bind_fail_delay_max_ms, 8000u);
  EXPECT_EQ(k.tenants[0].hold_max, 5u);
  EXPECT_EQ(k.tenants[0].hold_ttl_s, 60u);
  EXPECT_EQ(k.tenants[0].deliver_window, 16u);
  EXPECT_TRUE(k.tenants[0].backpressure);
  EXPECT_EQ(k.upstreams[0].message_id_radix, codec::id_radix::hex);
  EXPECT_EQ(k.upstreams[0].receipt_id_radix, codec::id_radix::decimal);
  EXPECT_TRUE(k.upstreams[0].on_demand);
  EXPECT_EQ(k.upstreams[0].idle_unbind_s, 30u);
  EXPECT_TRUE(k.upstreams[0].broadcast);
  EXPECT_TRUE(k.upstreams[0].outbind.enabled);
  EXPECT_EQ(k.upstreams[0].outbind.host, "127.0.0.1");
  EXPECT_EQ(k.upstreams[0].outbind.port, 2790);
  EXPECT_EQ(k.upstreams[0].outbind.system_id, "smsc-ob");
  EXPECT_EQ(k.upstreams[0].outbind.password, "obpw");
  ASSERT_EQ(k.mo_routes.size(), 1u);
  EXPECT_EQ(k.mo_routes[0].destination_prefix, "555");
  EXPECT_EQ(k.mo_routes[0].tenant, "t");
  EXPECT_EQ(k.mo_routes[0].upstream, "sim");
}

TEST(Password, HashVerifiesItsPasswordOnly) {
  const std::string h = hash_password("s3cr3t");
  EXPECT_TRUE(h.starts_with("$argon2id$v=19$m=256,t=1,p=1$")) << h;
  EXPECT_TRUE(verify_password(h, "s3cr3t"));
  EXPECT_FALSE(verify_password(h, "s3cr3T"));
  EXPECT_FALSE(verify_password(h, ""));
  EXPECT_FALSE(verify_password(h, std::string("s3cr3t\0x", 8)));
  EXPECT_NE(hash_password("s3cr3t"), h);  // a fresh salt every time
}

TEST(Password, EmptyPasswordRoundTrips) {
  const std::string h = hash_password("");
  EXPECT_TRUE(verify_password(h, ""));
  EXPECT_FALSE(verify_password(h, "x"));
}

TEST(Password, GarbageHashIsRejectedNotCrashed) {
  EXPECT_FALSE(verify_password("", "demo"));
  EXPECT_FALSE(verify_password("demo", "demo"));
  EXPECT_FALSE(verify_password("$argon2id$v=19$m=256,t=1,p=1$", "demo"));
  EXPECT_FALSE(verify_password(std::string(200, 'a'), "demo"));
}

TEST(Password, VerifyUsesTheCostEncodedInTheHash) {
  // Made with t=2, m=64 KiB, not this build's limits.
  const std::string h =
      "$argon2id$v=19$m=64,t=2,p=1$0Ep4gyqn88VVsAUycmlRIg$blbxv7v8qgQhAigPGT+"
      "fm1PI99wARiLw3x0eYk6335s";
  EXPECT_TRUE(verify_password(h, "demo"));
  EXPECT_FALSE(verify_password(h, "demO"));
}

TEST(Password, VerifyIsFastEnoughForBindStorms) {
  const std::string h = hash_password("demo");
  constexpr int n = 50;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) ASSERT_TRUE(verify_password(h, "demo"));
  const auto us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      n;
  std::printf("verify_password: %.0f us per call (%.0f binds/s per core)\n", us, 1e6 / us);
  EXPECT_LT(us, 20'000.0);  // libsodium's interactive limits would take ~100 ms
}

TEST(Cidr, AcceptsIpv4AndIpv6Networks) {
  const cidr_result a = parse_cidr("10.0.0.0/8");
  ASSERT_TRUE(a.network) << a.error;
  EXPECT_FALSE(a.network->ipv6);
  EXPECT_EQ(a.network->prefix_length, 8);
  EXPECT_EQ(a.network->address[0], 10);

  const cidr_result b = parse_cidr("2001:db8::/32");
  ASSERT_TRUE(b.network) << b.error;
  EXPECT_TRUE(b.network->ipv6);
  EXPECT_EQ(b.network->prefix_length, 32);
  EXPECT_EQ(b.network->address[0], 0x20);
  EXPECT_EQ(b.network->address[3], 0xb8);

  for (const char* ok : {"0.0.0.0/0", "::/0", "192.0.2.7/32", "::1/128", "255.255.255.255/32",
                         "10.128.0.0/9", "::ffff:192.0.2.0/120", "fe80::/10", "2001:DB8::/32"}) {
    EXPECT_TRUE(parse_cidr(ok).network) << ok << ": " << parse_cidr(ok).error;
  }
}

TEST(Cidr, RejectsMalformedNetworksWithAReason) {
  const struct {
    std::string_view text;
    const char* reason;
  } bad[] = {
      {"", "invalid IPv4 address"},
      {"10.0.0.0", "has no prefix length (write 10.0.0.0/32"},
      {"10.0.0.0/", "invalid prefix length ''"},
      {"10.0.0.0/33", "invalid prefix length '33' (0..32)"},
      {"::/129", "invalid prefix length '129' (0..128)"},
      {"10.0.0.0/-1", "invalid prefix length '-1'"},
      {"10.0.0.0/+8", "invalid prefix length '+8'"},
      {"10.0.0.0/08", "invalid prefix length '08'"},
      {"10.0.0.0/8 ", "invalid prefix length '8 '"},
      {" 10.0.0.0/8", "invalid IPv4 address ' 10.0.0.0'"},
      {"10.0.0.0/8/8", "invalid prefix length '8/8'"},
      {"256.0.0.0/8", "invalid IPv4 address '256.0.0.0'"},
      {"10.0.0/8", "invalid IPv4 address '10.0.0'"},
      {"10.0.0.1/8", "has host bits set (did you mean 10.0.0.0/8?)"},
      {"10.0.0.129/25", "has host bits set (did you mean 10.0.0.128/25?)"},
      {"0.0.0.1/0", "did you mean 0.0.0.0/0?"},
      {"2001:db8::1/32", "did you mean 2001:db8::/32?"},
      {"[::1]/128", "invalid IPv6 address '[::1]'"},
      {"fe80::1%eth0/64", "invalid IPv6 address"},
      {"2001:db8:::/48", "invalid IPv6 address"},
      {"example.com/24", "invalid IPv4 address"},
      {std::string_view("10.0.0.0\0x/8", 13), "contains a NUL character"},
  };
  for (const auto& c : bad) {
    const cidr_result r = parse_cidr(c.text);
    EXPECT_FALSE(r.network) << c.text;
    EXPECT_NE(r.error.find(c.reason), std::string::npos) << c.text << ": " << r.error;
  }
}

// --- TDMA schedule -------------------------------------------------------------------------------

std::vector<uint32_t> owned_slots(const dataplane::slot_plan& p, size_t tenants) {
  std::vector<uint32_t> c(tenants + 1, 0);  // the last: unowned
  for (uint32_t o : p.owner) ++c[o == dataplane::any_tenant ? tenants : o];
  return c;
}

TEST(ConfigSchedule, EveryScheduleKeyReachesTheConfig) {
  const config_result r = load(lines({
      "[[tenants]]",          "name = \"a\"",
      "system_id = \"a\"",    "password = \"pw\"",
      "weight = 7",           "[[tenants]]",
      "name = \"b\"",         "system_id = \"b\"",
      "password = \"pw\"",    "[[upstreams]]",
      "name = \"sim\"",       "address = \"127.0.0.1:2776\"",
      "rate_per_s = 3000",    "frame_ms = 250",
      "mode = \"strict\"",    "binds = [{system_id = \"r\"}]",
      "[[upstreams.shares]]", "tenant = \"a\"",
      "cap_per_s = 2000",     "guarantee_per_s = 100",
      "queue_max = 50",       "[[upstreams.shares]]",
      "tenant = \"b\"",       "weight = 2",
  }));
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const router_config& c = *r.config;
  EXPECT_EQ(c.tenants[0].weight, 7u);
  EXPECT_EQ(c.tenants[1].weight, 1u);
  const upstream_config& u = c.upstreams[0];
  EXPECT_EQ(u.rate_per_s, 3000u);
  EXPECT_EQ(u.frame_ms, 250u);
  EXPECT_TRUE(u.strict);
  ASSERT_EQ(u.shares.size(), 2u);
  EXPECT_EQ(u.shares[0].tenant, "a");
  EXPECT_EQ(u.shares[0].weight, 7u);  // the tenant's weight
  EXPECT_EQ(u.shares[0].cap_per_s, 2000u);
  EXPECT_EQ(u.shares[0].guarantee_per_s, 100u);
  EXPECT_EQ(u.shares[0].queue_max, 50u);
  EXPECT_EQ(u.shares[1].weight, 2u);
  EXPECT_EQ(u.shares[1].cap_per_s, 0u);
  EXPECT_EQ(u.shares[1].queue_max, 10000u);
  // Defaults.
  const config_result d = load(valid_base);
  ASSERT_TRUE(d.ok()) << all_errors(d);
  EXPECT_EQ(d.config->upstreams[0].rate_per_s, 0u);
  EXPECT_EQ(d.config->upstreams[0].frame_ms, 100u);
  EXPECT_FALSE(d.config->upstreams[0].strict);
  EXPECT_TRUE(d.config->upstreams[0].shares.empty());
  EXPECT_EQ(d.config->tenants[0].weight, 1u);
  std::string error;
  const auto snap = build_snapshot(*d.config, error);
  ASSERT_NE(snap, nullptr) << error;
  EXPECT_EQ(snap->upstreams[0].binds[0].plan.rate_per_s, 0u);  // no rate: no gate
  EXPECT_TRUE(snap->upstreams[0].binds[0].plan.owner.empty());
}

TEST(ConfigSchedule, TdmaExampleGivesEveryBindAPlanOfItsShareOfTheContract) {
  const config_result r = load_config_file((source_dir() / "config" / "tdma.toml").string());
  ASSERT_TRUE(r.ok()) << all_errors(r);
  std::string error;
  const auto snap = build_snapshot(*r.config, error);
  ASSERT_NE(snap, nullptr) << error;
  const auto& binds = snap->upstreams[0].binds;
  ASSERT_EQ(binds.size(), 2u);
  for (const auto& b : binds) {
    const dataplane::slot_plan& p = b.plan;
    EXPECT_EQ(p.rate_per_s, 1000u);  // 2000 msg/s over two binds
    EXPECT_EQ(p.slot_ns, 1'000'000u);
    EXPECT_FALSE(p.strict);
    ASSERT_EQ(p.owner.size(), 100u);
    // Per bind: bronze's 300 msg/s guarantee is 15 of 100 slots (its weight alone gives 10); the
    // other 85 go 6:3 to gold and silver (56.7 and 28.3, the larger remainder rounds up); gold's
    // 1500 msg/s cap is 75 slots.
    EXPECT_EQ(owned_slots(p, 3), (std::vector<uint32_t>{57, 28, 15, 0}));
    EXPECT_EQ(p.cap, (std::vector<uint32_t>{75, 0, 0}));
    EXPECT_EQ(p.queue_max, (std::vector<uint32_t>{10000, 10000, 2000}));
  }
}

TEST(ConfigSchedule, ATenantNoRouteSendsToAnUpstreamOwnsNoSlotThere) {
  const config_result r = load(lines({
      "[[tenants]]",
      "name = \"a\"",
      "system_id = \"a\"",
      "password = \"pw\"",
      "[[tenants]]",
      "name = \"b\"",
      "system_id = \"b\"",
      "password = \"pw\"",
      "weight = 3",
      "[[upstreams]]",
      "name = \"one\"",
      "address = \"127.0.0.1:2776\"",
      "rate_per_s = 100",
      "binds = [{system_id = \"r\"}]",
      "[[upstreams]]",
      "name = \"two\"",
      "address = \"127.0.0.1:2777\"",
      "binds = [{system_id = \"r\", rate_per_s = 40}, {system_id = \"r\", rate_per_s = 60}]",
      "[[routes]]",
      "tenant = \"a\"",
      "upstreams = [\"one\", \"two\"]",
      "[[routes]]",
      "tenant = \"b\"",
      "upstreams = [\"two\"]",
  }));
  ASSERT_TRUE(r.ok()) << all_errors(r);
  std::string error;
  const auto snap = build_snapshot(*r.config, error);
  ASSERT_NE(snap, nullptr) << error;
  // Upstream "one" (100 msg/s, 10 slots): only a is routed there.
  EXPECT_EQ(owned_slots(snap->upstreams[0].binds[0].plan, 2), (std::vector<uint32_t>{10, 0, 0}));
  // Upstream "two": each bind keeps its own rate; a and b share it 1:3.
  const auto& two = snap->upstreams[1].binds;
  EXPECT_EQ(two[0].plan.rate_per_s, 40u);
  EXPECT_EQ(owned_slots(two[0].plan, 2), (std::vector<uint32_t>{1, 3, 0}));
  EXPECT_EQ(two[1].plan.rate_per_s, 60u);
  // 6 slots: 1.5 and 4.5, equal remainders: the larger weight rounds up.
  EXPECT_EQ(owned_slots(two[1].plan, 2), (std::vector<uint32_t>{1, 5, 0}));
}

TEST(ConfigSchedule, WhatOnlyThePlannerSeesIsReportedByTheSnapshotBuilder) {
  // A cap of 5 msg/s is half a slot of a 100 ms frame at 1000 msg/s.
  const config_result r =
      load(valid_base + lines({"[[upstreams]]", "name = \"capped\"", "address = \"127.0.0.1:2777\"",
                               "rate_per_s = 1000", "binds = [{system_id = \"r\"}]",
                               "[[upstreams.shares]]", "tenant = \"t\"", "cap_per_s = 5"}));
  ASSERT_TRUE(r.ok()) << all_errors(r);
  std::string error;
  EXPECT_EQ(build_snapshot(*r.config, error), nullptr);
  EXPECT_NE(error.find("upstream 'capped': tenant 't': cap_per_s 5 is less than one slot"),
            std::string::npos)
      << error;
}

}  // namespace
}  // namespace smpp::control
