// Routing by network: [[networks]] give prefixes their home network, [[number_portability]]
// moves numbers to another network, [[routes]] match `network = "NAME"` before any destination
// prefix; deltas added to the configuration reuse the running index; configuration errors.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "config_text.hpp"
#include "smpp/control/config.hpp"
#include "smpp/control/snapshot_builder.hpp"

namespace smpp::control {
namespace {

namespace fs = std::filesystem;
using dataplane::no_network;

class CarrierRouting : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("smpp-carrier-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  [[nodiscard]] std::string path() const { return (dir_ / "router.toml").string(); }

  // Networks red (4470, 4471) and blue (4479), ported.csv, and the routes `routes`.
  std::string config(const std::string& deltas, const std::string& routes) {
    return "[[tenants]]\nname = \"t\"\nsystem_id = \"t\"\npassword = \"pw\"\n"
           "[[upstreams]]\nname = \"red-smsc\"\naddress = \"127.0.0.1:1\"\nbinds = [{system_id = "
           "\"r\"}]\n"
           "[[upstreams]]\nname = \"blue-smsc\"\naddress = \"127.0.0.1:2\"\nbinds = [{system_id "
           "= \"b\"}]\n"
           "[[upstreams]]\nname = \"other\"\naddress = \"127.0.0.1:3\"\nbinds = [{system_id = "
           "\"o\"}]\n"
           "[[networks]]\nname = \"red\"\nprefixes = [\"4470\", \"+4471\"]\n"
           "[[networks]]\nname = \"blue\"\nprefixes = [\"4479\"]\n"
           "[[number_portability]]\nfile = \"ported.csv\"\ndeltas = [" +
           deltas + "]\n" + routes;
  }

  std::shared_ptr<const dataplane::router_snapshot> build(
      const std::string& text, const dataplane::router_snapshot* previous = nullptr) {
    write("router.toml", text);
    const config_result loaded = load_config_file(path());
    EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
    if (!loaded.ok()) return nullptr;
    std::string err;
    auto s = build_snapshot(*loaded.config, err, previous);
    EXPECT_NE(s, nullptr) << err;
    return s;
  }

  std::string first_error(const std::string& text) {
    write("router.toml", text);
    const config_result loaded = load_config_file(path());
    return loaded.errors.empty() ? "" : loaded.errors[0].to_string();
  }

  fs::path dir_;
};

const std::string kNetworkRoutes =
    "[[routes]]\ntenant = \"*\"\nnetwork = \"red\"\nupstreams = [\"red-smsc\"]\n"
    "[[routes]]\ntenant = \"*\"\nnetwork = \"blue\"\nupstreams = [\"blue-smsc\"]\n"
    "[[routes]]\ntenant = \"*\"\ndestination_prefix = \"447\"\nupstreams = [\"other\"]\n";

// The upstream a submit_sm to `dest` goes to, as request_router picks the route.
std::string routed_to(const dataplane::router_snapshot& s, const std::string& dest) {
  const dataplane::route_def* r = nullptr;
  if (s.routes.has_network_routes()) {
    r = s.routes.lookup_network(0, s.networks.network_of(dest), "", "");
  }
  if (r == nullptr) r = s.routes.lookup(0, dest, "", "");
  return r == nullptr ? "none" : s.upstreams[r->upstreams[0]].name;
}

TEST_F(CarrierRouting, APortedNumberGoesToItsNewNetworkOthersToTheirPrefixsHomeNetwork) {
  write("ported.csv", "# ported numbers\n447000000001,blue\n+447900000002,red\n");
  auto s = build(config("", kNetworkRoutes));
  ASSERT_NE(s, nullptr);
  ASSERT_NE(s->networks.ported(), nullptr);
  EXPECT_EQ(s->networks.ported()->size(), 2u);
  EXPECT_EQ(s->networks.id_of("red"), 0);
  EXPECT_EQ(s->networks.id_of("blue"), 1);
  EXPECT_EQ(s->networks.id_of("green"), no_network);
  EXPECT_EQ(s->networks.network_of("447000000001"), 1);  // ported red -> blue
  EXPECT_EQ(s->networks.network_of("447000000009"), 0);  // red by its prefix
  EXPECT_EQ(s->networks.network_of("+447900000002"), 0);
  EXPECT_EQ(s->networks.network_of("447100000000"), 0);
  EXPECT_EQ(s->networks.network_of("447200000000"), no_network);
  EXPECT_EQ(routed_to(*s, "447000000001"), "blue-smsc");
  EXPECT_EQ(routed_to(*s, "447000000009"), "red-smsc");
  EXPECT_EQ(routed_to(*s, "447900000002"), "red-smsc");
  EXPECT_EQ(routed_to(*s, "447900000003"), "blue-smsc");
  EXPECT_EQ(routed_to(*s, "447200000000"), "other");  // no network: the prefix route
  EXPECT_EQ(routed_to(*s, "337200000000"), "none");
}

TEST_F(CarrierRouting, NetworkRoutesKeepTenantAndFilterOrder) {
  write("ported.csv", "");
  auto s =
      build(config("",
                   "[[routes]]\ntenant = \"*\"\nnetwork = \"red\"\nupstreams = [\"other\"]\n"
                   "[[routes]]\ntenant = \"t\"\nnetwork = \"red\"\nupstreams = [\"red-smsc\"]\n"
                   "[[routes]]\ntenant = \"t\"\nnetwork = \"red\"\nsource_prefix = \"1\"\n"
                   "upstreams = [\"blue-smsc\"]\n"));
  ASSERT_NE(s, nullptr);
  const auto pick = [&](uint32_t tenant, const char* source) {
    const dataplane::route_def* r = s->routes.lookup_network(tenant, 0, source, "");
    return r == nullptr ? std::string("none") : s->upstreams[r->upstreams[0]].name;
  };
  EXPECT_EQ(pick(0, "1234"), "blue-smsc");  // tenant-specific with a filter first
  EXPECT_EQ(pick(0, "999"), "red-smsc");
  EXPECT_EQ(pick(5, "1234"), "other");  // another tenant: the "*" route
  EXPECT_EQ(s->routes.lookup_network(0, 1, "", ""), nullptr);
  EXPECT_EQ(s->routes.lookup_network(0, no_network, "", ""), nullptr);
}

TEST_F(CarrierRouting, ADeltaAddedToTheConfigurationIsAppliedToTheRunningIndexOnly) {
  write("ported.csv", "447000000001,blue\n447000000002,blue\n");
  auto first = build(config("", kNetworkRoutes));
  ASSERT_NE(first, nullptr);
  // The same files: the index is the running one, not rebuilt.
  auto same = build(config("", kNetworkRoutes), first.get());
  ASSERT_NE(same, nullptr);
  EXPECT_EQ(same->networks.ported(), first->networks.ported());

  write("d1.csv", "447000000001,-\n447000000003,blue\n447900000004,red\n");
  auto next = build(config("\"d1.csv\"", kNetworkRoutes), same.get());
  ASSERT_NE(next, nullptr);
  EXPECT_NE(next->networks.ported(), first->networks.ported());
  EXPECT_EQ(next->networks.ported()->size(), 3u);
  EXPECT_EQ(routed_to(*next, "447000000001"), "red-smsc");  // removed: back home
  EXPECT_EQ(routed_to(*next, "447000000002"), "blue-smsc");
  EXPECT_EQ(routed_to(*next, "447000000003"), "blue-smsc");
  EXPECT_EQ(routed_to(*next, "447900000004"), "red-smsc");
  // The running snapshot's table is untouched.
  EXPECT_EQ(routed_to(*first, "447000000001"), "blue-smsc");
  EXPECT_EQ(first->networks.ported()->size(), 2u);

  // A second delta on top; the base file rewritten means a full rebuild (here: one number).
  write("d2.csv", "447000000002,red\n");
  auto third = build(config("\"d1.csv\", \"d2.csv\"", kNetworkRoutes), next.get());
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(routed_to(*third, "447000000002"), "red-smsc");
  EXPECT_EQ(third->networks.ported()->size(), 3u);
  write("ported.csv", "447100000005,blue\n");
  write("d1.csv", "");
  write("d2.csv", "");
  auto rebuilt = build(config("\"d1.csv\", \"d2.csv\"", kNetworkRoutes), third.get());
  ASSERT_NE(rebuilt, nullptr);
  EXPECT_EQ(rebuilt->networks.ported()->size(), 1u);
  EXPECT_EQ(routed_to(*rebuilt, "447100000005"), "blue-smsc");
  EXPECT_EQ(routed_to(*rebuilt, "447000000002"), "red-smsc");
}

TEST_F(CarrierRouting, AnErrorInAPortabilityFileRefusesTheSnapshotWithFileAndLine) {
  write("ported.csv", "447000000001,blue\n447000000002,green\n");
  write("router.toml", config("", kNetworkRoutes));
  const config_result loaded = load_config_file(path());
  ASSERT_TRUE(loaded.ok());
  std::string err;
  EXPECT_EQ(build_snapshot(*loaded.config, err), nullptr);
  EXPECT_EQ(err, "number_portability: " + (dir_ / "ported.csv").string() +
                     ":2: unknown network \"green\": not the name of a [[networks]] entry");
}

TEST_F(CarrierRouting, ConfigurationErrorsNameLineKeyAndWhatIsAccepted) {
  write("ported.csv", "");
  const std::string file = path();
  EXPECT_EQ(first_error(config("",
                               "[[routes]]\ntenant = \"*\"\nnetwork = \"green\"\nupstreams = "
                               "[\"other\"]\n")),
            file + ":28:11: routes[0].network: unknown network 'green' (defined: red, blue)");
  EXPECT_EQ(first_error(config("",
                               "[[routes]]\ntenant = \"*\"\nnetwork = \"red\"\n"
                               "destination_prefix = \"44\"\nupstreams = [\"other\"]\n")),
            file +
                ":28:11: routes[0].network: a route matches either a network or a "
                "destination_prefix, not both");
  EXPECT_EQ(first_error(config("\"missing.csv\"", "")),
            file + ":25:11: number_portability[0].deltas[0]: cannot read '" +
                (dir_ / "missing.csv").string() + "': No such file or directory");
  EXPECT_EQ(first_error("[[networks]]\nname = \"a\"\nprefixes = [\"44\"]\n[[networks]]\nname = "
                        "\"b\"\nprefixes = [\"+44\"]\n"),
            file +
                ":6:13: networks[1].prefixes[0]: prefix '+44' is already network 'a''s: a "
                "prefix has one home network");
  EXPECT_EQ(first_error("[[networks]]\nname = \"a\"\nprefixes = []\n"),
            file +
                ":3:12: networks[0].prefixes: must be a non-empty array of home prefixes of "
                "1..20 digits, each optionally starting with '+'");
  EXPECT_EQ(first_error("[[number_portability]]\nfile = \"ported.csv\"\n"),
            file +
                ":1:1: number_portability[0]: needs [[networks]]: the files name the network "
                "of each number");
}

TEST_F(CarrierRouting, AtMost16383NetworksTheNextIsAnError) {
  std::string text;
  for (int i = 0; i < 16383; ++i) {
    text += "[[networks]]\nname = \"n" + std::to_string(i) + "\"\nprefixes = [\"" +
            std::to_string(100000 + i) + "\"]\n";
  }
  write("router.toml", text);
  EXPECT_TRUE(load_config_file(path()).ok());
  text += "[[networks]]\nname = \"one-more\"\nprefixes = [\"9\"]\n";
  EXPECT_EQ(first_error(text),
            path() +
                ":49150:1: networks[16383]: too many networks: at most 16383 (a 14-bit "
                "network id)");
}

TEST(CarrierExample, TheExampleConfigurationRoutesPortedNumbersToTheirNetwork) {
  const config_result loaded =
      load_config_file((smpp::testing::source_dir() / "config" / "carrier.toml").string());
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  std::string err;
  const auto s = build_snapshot(*loaded.config, err);
  ASSERT_NE(s, nullptr) << err;
  ASSERT_NE(s->networks.ported(), nullptr);
  EXPECT_EQ(s->networks.ported()->size(), 5u);  // 5 listed, one added and one removed by the delta
  EXPECT_EQ(routed_to(*s, "447700900001"), "blue-smsc");  // ported
  EXPECT_EQ(routed_to(*s, "447700900002"), "red-smsc");   // sent back home by the delta
  EXPECT_EQ(routed_to(*s, "447700900006"), "blue-smsc");  // ported by the delta
  EXPECT_EQ(routed_to(*s, "447700900007"), "red-smsc");
  EXPECT_EQ(routed_to(*s, "447900900004"), "red-smsc");
  EXPECT_EQ(routed_to(*s, "447900900009"), "blue-smsc");
  EXPECT_EQ(routed_to(*s, "3361234567"), "red-smsc");  // no network: the prefix route
  // The cheapest route's price lists, as published to the workers (index: the upstream's).
  ASSERT_EQ(s->prices.size(), 2u);
  ASSERT_NE(s->prices[0], nullptr);
  ASSERT_NE(s->prices[1], nullptr);
  EXPECT_EQ(s->prices[0]->lookup("0033612345678"), 25'000u);
  EXPECT_EQ(s->prices[1]->lookup("0033612345678"), 35'000u);
  EXPECT_EQ(s->prices[0]->lookup("00491701234567"), 40'000u);
  EXPECT_EQ(s->prices[1]->lookup("00491701234567"), 20'000u);
  EXPECT_EQ(s->prices[0]->lookup("0081312345678"), 50'000u);
  EXPECT_EQ(s->prices[1]->lookup("0081312345678"), 45'000u);
  EXPECT_EQ(s->prices[0]->lookup("447700900001"), dataplane::no_price);
  const dataplane::route_def* r = s->routes.lookup(0, "0033612345678", "", "");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->mode, dataplane::route_mode::cheapest);
  EXPECT_EQ(r->upstreams, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(s->retry_on, (std::vector<uint32_t>{0x08, 0x14, 0x58}));
}

TEST_F(CarrierRouting, PriceListsAreReusedByAReloadUnlessTheirFileChanged) {
  write("ported.csv", "");
  write("a.csv", "44,0.02\n");
  write("b.csv", "44,0.01\n");
  const std::string text =
      config("",
             "[[routes]]\ntenant = \"*\"\ndestination_prefix = \"44\"\nmode = \"cheapest\"\n"
             "upstreams = [\"red-smsc\", \"blue-smsc\"]\n");
  const std::string priced =
      std::regex_replace(text, std::regex("binds = \\[\\{system_id = \"r\"\\}\\]"),
                         "binds = [{system_id = \"r\"}]\nprice_list = \"a.csv\"");
  const std::string both =
      std::regex_replace(priced, std::regex("binds = \\[\\{system_id = \"b\"\\}\\]"),
                         "binds = [{system_id = \"b\"}]\nprice_list = \"b.csv\"");
  auto first = build(both);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->prices[0]->lookup("447"), 20'000u);
  EXPECT_EQ(first->prices[1]->lookup("447"), 10'000u);
  EXPECT_EQ(first->prices[2], nullptr);
  write("b.csv", "44,0.03\n4477,0.005\n");  // a different size: rebuilt
  auto next = build(both, first.get());
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->prices[0], first->prices[0]);  // unchanged: the running table
  EXPECT_NE(next->prices[1], first->prices[1]);
  EXPECT_EQ(next->prices[1]->lookup("447712"), 5'000u);
  EXPECT_EQ(next->prices[1]->lookup("4412"), 30'000u);
  EXPECT_EQ(first->prices[1]->lookup("447712"), 10'000u);  // the running snapshot's is untouched
}

TEST_F(CarrierRouting, PriceListAndRetryErrorsNameTheirKeyAndWhatIsAccepted) {
  write("ported.csv", "");
  const std::string file = path();
  const std::string cheapest =
      "[[routes]]\ntenant = \"*\"\ndestination_prefix = \"44\"\nmode = \"cheapest\"\n"
      "upstreams = [\"red-smsc\"]\n";
  EXPECT_EQ(first_error(config("", cheapest)),
            file +
                ":29:8: routes[0].mode: a cheapest route's upstreams need a price_list: "
                "'red-smsc' has none");
  EXPECT_EQ(
      first_error(config("",
                         "[[routes]]\ntenant = \"*\"\nmode = \"random\"\n"
                         "upstreams = [\"red-smsc\"]\n")),
      file +
          ":28:8: routes[0].mode: must be \"failover\", \"cheapest\" or \"quality\" (got string "
          "\"random\")");
  EXPECT_EQ(first_error("[router]\nretry_on = [\"ESME_RNOPE\"]\n"),
            file +
                ":2:13: router.retry_on[0]: must be an error status name of SMPP 3.4 §5.1.3 "
                "(e.g. \"ESME_RSYSERR\") (got string \"ESME_RNOPE\")");
  // A broken price list refuses the snapshot, with its file and line.
  write("a.csv", "44,0.02\n45,cheap\n");
  write("router.toml",
        std::regex_replace(config("", ""), std::regex("binds = \\[\\{system_id = \"r\"\\}\\]"),
                           "binds = [{system_id = \"r\"}]\nprice_list = \"a.csv\""));
  const config_result loaded = load_config_file(path());
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  std::string err;
  EXPECT_EQ(build_snapshot(*loaded.config, err), nullptr);
  EXPECT_EQ(err, "upstreams[0].price_list: " + (dir_ / "a.csv").string() +
                     ":2: the price must be a decimal 0..4294.967294 with at most 6 digits after "
                     "the point, got \"cheap\"");
}

}  // namespace
}  // namespace smpp::control
