// [router] transport and [dpdk]: what is read, the defaults, and every mistake reported with its
// file, line, dotted key and what is accepted.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "config_text.hpp"
#include "smpp/control/config.hpp"

namespace smpp::control {
namespace {

namespace fs = std::filesystem;

using smpp::testing::all_errors;
using smpp::testing::lines;
using smpp::testing::source_dir;

// A tenant, an upstream on an IPv4 address and a route: lines 1..11.
const std::string base = smpp::testing::base_config("t", "192.0.2.1:2776");

// [router] with transport = "dpdk" (lines 12..14) and a minimal [dpdk] (15..17).
const std::string dpdk_head = lines({
    "[router]",                     // 12
    "listen = [\"0.0.0.0:2775\"]",  // 13
    "transport = \"dpdk\"",         // 14
    "[dpdk]",                       // 15
    "port = \"net_tap0\"",          // 16
    "ipv4 = \"192.0.2.10/24\"",     // 17
});

uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

TEST(ConfigDpdk, KernelIsTheDefaultTransport) {
  const config_result r = load_config_string(base, "ok.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->transport, transport_kind::kernel);
  EXPECT_TRUE(r.config->dpdk.ports.empty());
}

TEST(ConfigDpdk, EveryKeyIsRead) {
  const config_result r = load_config_string(
      base + dpdk_head +
          lines({"no_huge = true", "vdevs = [\"net_tap0,iface=smpp0\"]",
                 "pci = [\"0000:03:00.0\", \"04:00.1\"]", "file_prefix = \"r1\"",
                 "log_level = \"debug\"", "gateway = \"192.0.2.1\"",
                 "arp = [{ip = \"192.0.2.1\", mac = \"02:00:00:00:00:01\"}]", "mtu = 9000",
                 "tcp_connections = 4096", "fault = \"loss=0.01,seed=3\"", "idle_sleep_us = 100",
                 "[[dpdk.extra_ports]]", "port = \"net_tap1\"", "ipv4 = \"198.51.100.10/25\"",
                 "gateway = \"198.51.100.1\""}),
      "ok.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const router_config& c = *r.config;
  EXPECT_EQ(c.transport, transport_kind::dpdk);
  const dpdk_config& d = c.dpdk;
  EXPECT_TRUE(d.no_huge);
  EXPECT_EQ(d.memory_mb, 256u);  // no_huge needs memory at start: the default then
  EXPECT_EQ(d.vdevs, std::vector<std::string>{"net_tap0,iface=smpp0"});
  EXPECT_EQ(d.pci, (std::vector<std::string>{"0000:03:00.0", "04:00.1"}));
  EXPECT_EQ(d.file_prefix, "r1");
  EXPECT_EQ(d.log_level, "debug");
  EXPECT_EQ(d.mtu, 9000);
  EXPECT_EQ(d.tcp_connections, 4096u);
  EXPECT_EQ(d.fault, "loss=0.01,seed=3");
  EXPECT_EQ(d.idle_sleep_us, 100u);
  ASSERT_EQ(d.ports.size(), 2u);
  EXPECT_EQ(d.ports[0].device, "net_tap0");
  EXPECT_EQ(d.ports[0].ipv4, ip(192, 0, 2, 10));
  EXPECT_EQ(d.ports[0].prefix_length, 24);
  EXPECT_EQ(d.ports[0].gateway, ip(192, 0, 2, 1));
  ASSERT_EQ(d.ports[0].arp.size(), 1u);
  EXPECT_EQ(d.ports[0].arp[0].ipv4, ip(192, 0, 2, 1));
  EXPECT_EQ(d.ports[0].arp[0].mac, (std::array<uint8_t, 6>{2, 0, 0, 0, 0, 1}));
  EXPECT_EQ(d.ports[1].device, "net_tap1");
  EXPECT_EQ(d.ports[1].ipv4, ip(198, 51, 100, 10));
  EXPECT_EQ(d.ports[1].prefix_length, 25);
  EXPECT_EQ(d.ports[1].gateway, ip(198, 51, 100, 1));
}

TEST(ConfigDpdk, DefaultsOfAMinimalTable) {
  const config_result r = load_config_string(base + dpdk_head, "ok.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const dpdk_config& d = r.config->dpdk;
  EXPECT_FALSE(d.no_huge);
  EXPECT_EQ(d.memory_mb, 0u);
  EXPECT_EQ(d.file_prefix, "smpp-router");
  EXPECT_EQ(d.log_level, "error");
  EXPECT_EQ(d.mtu, 1500);
  EXPECT_EQ(d.tcp_connections, 1024u);
  EXPECT_TRUE(d.fault.empty());
  EXPECT_EQ(d.idle_sleep_us, 0u);  // pure poll mode
  ASSERT_EQ(d.ports.size(), 1u);
  EXPECT_EQ(d.ports[0].gateway, 0u);
}

TEST(ConfigDpdk, IdleSleepUsTakesBothEndsOfItsRange) {
  for (const uint32_t us : {0u, 10'000u}) {
    const config_result r = load_config_string(
        base + dpdk_head + lines({"idle_sleep_us = " + std::to_string(us)}), "ok.toml");
    ASSERT_TRUE(r.ok()) << all_errors(r);
    EXPECT_EQ(r.config->dpdk.idle_sleep_us, us);
  }
}

TEST(ConfigDpdk, TheShippedTapExampleLoadsOnDpdk) {
  const config_result r = load_config_file((source_dir() / "config" / "dpdk-tap.toml").string());
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->transport, transport_kind::dpdk);
  ASSERT_EQ(r.config->dpdk.ports.size(), 1u);
  EXPECT_EQ(r.config->dpdk.ports[0].device, "net_tap0");
}

TEST(ConfigDpdk, ADpdkTableWithTheKernelTransportIsKeptButNotRequired) {
  const config_result r = load_config_string(base + lines({"[dpdk]", "no_huge = true"}), "ok.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->transport, transport_kind::kernel);
}

struct bad_case {
  std::string text;
  uint32_t line;
  std::string key;
  std::string message_part;
};

class ConfigDpdkErrors : public ::testing::TestWithParam<bad_case> {};

TEST_P(ConfigDpdkErrors, NameTheLineTheKeyAndWhatIsAccepted) {
  const bad_case& c = GetParam();
  const config_result r = load_config_string(c.text, "bad.toml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].file, "bad.toml");
  EXPECT_EQ(r.errors[0].line, c.line) << all_errors(r);
  EXPECT_EQ(r.errors[0].key, c.key) << all_errors(r);
  EXPECT_NE(r.errors[0].message.find(c.message_part), std::string::npos) << all_errors(r);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigDpdkErrors,
    ::testing::Values(
        bad_case{base + lines({"[router]", "transport = \"rdma\""}), 13, "router.transport",
                 "\"kernel\" or \"dpdk\""},
        bad_case{base + lines({"[router]", "transport = \"dpdk\""}), 13, "router.transport",
                 "needs a [dpdk] table"},
        bad_case{base + lines({"[router]", "transport = \"dpdk\"", "[dpdk]",
                               "ipv4 = \"192.0.2.10/24\""}),
                 14, "dpdk.port", "is required"},
        bad_case{base + lines({"[router]", "transport = \"dpdk\"", "[dpdk]", "port = \"p\""}), 14,
                 "dpdk.ipv4", "is required"},
        bad_case{base + dpdk_head + lines({"widget = 1"}), 18, "dpdk.widget", "unknown key"},
        bad_case{base + dpdk_head + lines({"no_huge = 1"}), 18, "dpdk.no_huge", "a boolean"},
        bad_case{base + dpdk_head + lines({"memory_mb = -1"}), 18, "dpdk.memory_mb", "0..1048576"},
        bad_case{base + dpdk_head + lines({"vdevs = [\"net tap\"]"}), 18, "dpdk.vdevs[0]",
                 "without spaces"},
        bad_case{base + dpdk_head + lines({"vdevs = \"net_tap0\""}), 18, "dpdk.vdevs",
                 "an array of"},
        bad_case{base + dpdk_head + lines({"vdevs = [\"a\", \"a\"]"}), 18, "dpdk.vdevs[1]",
                 "listed twice"},
        bad_case{base + dpdk_head + lines({"pci = [\"0000:03:00\"]"}), 18, "dpdk.pci[0]",
                 "DDDD:BB:DD.F"},
        bad_case{base + dpdk_head + lines({"pci = [\"03:20.0\"]"}), 18, "dpdk.pci[0]",
                 "DDDD:BB:DD.F"},
        bad_case{base + dpdk_head + lines({"file_prefix = \"a/b\""}), 18, "dpdk.file_prefix",
                 "A-Z a-z 0-9"},
        bad_case{base + dpdk_head + lines({"log_level = \"loud\""}), 18, "dpdk.log_level",
                 "\"warning\""},
        bad_case{base + dpdk_head + lines({"mtu = 100"}), 18, "dpdk.mtu", "576..9000"},
        bad_case{base + dpdk_head + lines({"tcp_connections = 2"}), 18, "dpdk.tcp_connections",
                 "16..1048576"},
        bad_case{base + dpdk_head + lines({"idle_sleep_us = 10001"}), 18, "dpdk.idle_sleep_us",
                 "0..10000"},
        bad_case{base + dpdk_head + lines({"idle_sleep_us = -1"}), 18, "dpdk.idle_sleep_us",
                 "0..10000"},
        bad_case{base + dpdk_head + lines({"fault = \"loss=2\""}), 18, "dpdk.fault", "loss"},
        bad_case{base + dpdk_head + lines({"fault = \"jitter=0.1\""}), 18, "dpdk.fault", "jitter"},
        bad_case{base + dpdk_head + lines({"gateway = \"198.51.100.1\""}), 18, "dpdk.gateway",
                 "not on the port's subnet"},
        bad_case{base + dpdk_head + lines({"gateway = \"192.0.2.10\""}), 18, "dpdk.gateway",
                 "the router's own address"},
        bad_case{base + dpdk_head + lines({"gateway = \"gw\""}), 18, "dpdk.gateway",
                 "an IPv4 address"},
        bad_case{
            base + dpdk_head + lines({"arp = [{ip = \"192.0.2.1\", mac = \"01:00:5e:00:00:01\"}]"}),
            18, "dpdk.arp[0].mac", "unicast Ethernet address"},
        bad_case{
            base + dpdk_head + lines({"arp = [{ip = \"192.0.2.1\", mac = \"02:00:00:00:00\"}]"}),
            18, "dpdk.arp[0].mac", "xx:xx:xx:xx:xx:xx"},
        bad_case{
            base + dpdk_head + lines({"arp = [{ip = \"224.0.0.1\", mac = \"02:00:00:00:00:01\"}]"}),
            18, "dpdk.arp[0].ip", "unicast IPv4 address"},
        bad_case{base + dpdk_head + lines({"arp = [{ip = \"192.0.2.1\"}]"}), 18, "dpdk.arp[0].mac",
                 "is required"},
        bad_case{base + dpdk_head +
                     lines({"arp = [{ip = \"192.0.2.1\", mac = \"02:00:00:00:00:01\"},",
                            "       {ip = \"192.0.2.1\", mac = \"02:00:00:00:00:02\"}]"}),
                 19, "dpdk.arp[1].ip", "two static ARP entries"},
        bad_case{
            base + dpdk_head +
                lines({"[[dpdk.extra_ports]]", "port = \"net_tap1\"", "ipv4 = \"192.0.2.20/24\""}),
            20, "dpdk.extra_ports[0].ipv4", "overlaps the subnet"},
        bad_case{base + dpdk_head +
                     lines({"[[dpdk.extra_ports]]", "port = \"net_tap0\"",
                            "ipv4 = \"198.51.100.1/24\""}),
                 19, "dpdk.extra_ports[0].port", "is used twice"},
        bad_case{base + dpdk_head + lines({"[[dpdk.extra_ports]]", "ipv4 = \"198.51.100.1/24\""}),
                 18, "dpdk.extra_ports[0].port", "is required"},
        bad_case{base + lines({"[router]", "transport = \"dpdk\"", "[dpdk]", "port = \"p\"",
                               "ipv4 = \"192.0.2.10\""}),
                 16, "dpdk.ipv4", "A.B.C.D/N"},
        bad_case{base + lines({"[router]", "transport = \"dpdk\"", "[dpdk]", "port = \"p\"",
                               "ipv4 = \"127.0.0.1/8\""}),
                 16, "dpdk.ipv4", "not a unicast host address"},
        bad_case{base + lines({"[router]", "transport = \"dpdk\"", "[dpdk]", "port = \"p\"",
                               "ipv4 = \"192.0.2.255/24\""}),
                 16, "dpdk.ipv4", "broadcast address"},
        bad_case{base + lines({"[router]", "listen = [\"127.0.0.1:2775\"]", "transport = \"dpdk\"",
                               "[dpdk]", "port = \"p\"", "ipv4 = \"192.0.2.10/24\""}),
                 13, "router.listen[0]", "\"0.0.0.0\""},
        bad_case{lines({"[[tenants]]", "name = \"t\"", "system_id = \"t\"", "password = \"t\"",
                        "[[upstreams]]", "name = \"sim\"", "address = \"smsc.example.net:2776\"",
                        "binds = [{system_id = \"r\"}]", "[[routes]]", "tenant = \"*\"",
                        "upstreams = [\"sim\"]"}) +
                     dpdk_head,
                 7, "upstreams[0].address", "must be an IPv4 address"},
        bad_case{base + lines({"[upstreams.tls]", "enabled = true"}) + dpdk_head, 12,
                 "upstreams[0].tls", "needs router.transport = \"kernel\""}));

TEST(ConfigDpdk, AtMostEightPortsInAll) {
  std::string text = base + dpdk_head;
  for (int i = 1; i <= 8; ++i) {
    text += lines({"[[dpdk.extra_ports]]", "port = \"net_tap" + std::to_string(i) + "\"",
                   "ipv4 = \"10." + std::to_string(i) + ".0.1/24\""});
  }
  const config_result r = load_config_string(text, "bad.toml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].key, "dpdk.extra_ports[7]");
  EXPECT_NE(r.errors[0].message.find("8 in all"), std::string::npos) << all_errors(r);
}

}  // namespace
}  // namespace smpp::control
