// The built smpp-router on DPDK (net_tap) inside a network namespace the test creates, with the
// Linux kernel's TCP as the peer on both sides: esme-load and smsc-sim run on kernel sockets in
// the namespace, the router's userspace stack owns the TAP's other end. Exact counts with a
// clean port, then with the router's own fault injection (1% and 5% loss, reordering,
// duplication): every message reaches the SMSC exactly once and every response is matched.
// Also the router on two TAP ports (ESMEs on one subnet, the SMSC on another), and the clear
// errors when the EAL or the port cannot be had. Needs root (CI runs as root); skipped loudly
// when the kernel refuses a namespace.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/request_counts.hpp"

namespace {

using namespace std::chrono_literals;
using smpp::testing::bin_dir;
using smpp::testing::child_process;
using smpp::testing::esme_counts;
using smpp::testing::exit_result;
using smpp::testing::flat_json;
using smpp::testing::last_line;
using smpp::testing::make_temp_dir;
using smpp::testing::request_counts;
using smpp::testing::run_tool;
using smpp::testing::sim_counts;

constexpr const char* ip_tool = "/usr/sbin/ip";
// The router's addresses and the kernel's, one subnet per TAP (RFC 5737 documentation ranges).
constexpr const char* router_ip_a = "192.0.2.10";
constexpr const char* kernel_ip_a = "192.0.2.1";
constexpr const char* router_ip_b = "198.51.100.10";
constexpr const char* kernel_ip_b = "198.51.100.1";
constexpr uint16_t router_port = 2775;
constexpr uint16_t sim_port = 2776;

std::atomic<int> g_instance{0};

// A network namespace of the test's own: created in the constructor, deleted in the
// destructor (after every process in it was stopped), whatever the test's outcome.
class netns {
 public:
  netns() : name_("smpp_rdpdk_" + std::to_string(getpid()) + "_" + std::to_string(g_instance++)) {
    ok_ = std::system(("ip netns add " + name_ + " 2>/dev/null").c_str()) == 0;
  }
  ~netns() {
    if (!ok_) return;
    // Anything still running in it (a child that outlived its test) goes first.
    (void)std::system(("ip netns pids " + name_ + " 2>/dev/null | xargs -r kill -9").c_str());
    (void)std::system(("ip netns del " + name_).c_str());
  }
  netns(const netns&) = delete;
  netns& operator=(const netns&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  // Runs a shell command inside; true when it exited 0.
  [[nodiscard]] bool sh(const std::string& command) const {
    return std::system(("ip netns exec " + name_ + " sh -c '" + command + "'").c_str()) == 0;
  }
  // argv for `program` (from the build's bin directory) run inside.
  [[nodiscard]] std::vector<std::string> exec(const std::string& program,
                                              std::vector<std::string> args) const {
    args.insert(args.begin(), {"netns", "exec", name_, bin_dir() + "/" + program});
    return args;
  }

 private:
  std::string name_;
  bool ok_ = false;
};

// The router's configuration: one worker on DPDK, TAP `iface_a` (and `iface_b` for a second
// port towards the SMSC), the given fault string.
std::string router_toml(const std::string& iface_a, const std::string& iface_b,
                        const std::string& prefix, const std::string& fault, unsigned cpu) {
  const bool two = !iface_b.empty();
  std::string t =
      "[router]\n"
      "listen = [\"0.0.0.0:" +
      std::to_string(router_port) +
      "\"]\n"
      "workers = [" +
      std::to_string(cpu) +
      "]\n"
      "transport = \"dpdk\"\n"
      "\n"
      "[timeouts]\n"
      "reconnect_min_ms = 100\n"
      "reconnect_max_ms = 1000\n"
      "\n"
      "[admin]\n"
      "enabled = false\n"
      "\n"
      "[dpdk]\n"
      "no_huge = true\n"
      "memory_mb = 256\n"
      // Sleep when idle: the test's DPDK processes share the machine's CPUs with each other.
      "idle_sleep_us = 100\n"
      "file_prefix = \"" +
      prefix +
      "\"\n"
      "vdevs = [\"net_tap0,iface=" +
      iface_a + "\"" + (two ? ", \"net_tap1,iface=" + iface_b + "\"" : std::string()) +
      "]\n"
      "port = \"net_tap0\"\n"
      "ipv4 = \"" +
      router_ip_a + "/24\"\n" + (fault.empty() ? "" : "fault = \"" + fault + "\"\n") +
      (two ? "[[dpdk.extra_ports]]\n"
             "port = \"net_tap1\"\n"
             "ipv4 = \"" +
                 std::string(router_ip_b) + "/24\"\n"
           : std::string()) +
      "\n"
      "[[tenants]]\n"
      "name = \"load\"\n"
      "system_id = \"loadtest\"\n"
      "password = \"secret\"\n"
      "window = 1024\n"
      "max_binds = 64\n"
      "\n"
      "[[upstreams]]\n"
      "name = \"sim\"\n"
      "address = \"" +
      (two ? kernel_ip_b : kernel_ip_a) + ":" + std::to_string(sim_port) +
      "\"\n"
      "\n"
      "[[upstreams.binds]]\n"
      "system_id = \"router\"\n"
      "password = \"router\"\n"
      "count = 2\n"
      "\n"
      "[[routes]]\n"
      "tenant = \"*\"\n"
      "destination_prefix = \"\"\n"
      "upstreams = [\"sim\"]\n";
  return t;
}

// The router's exit report of its port's fault injection, both directions.
struct fault_report {
  uint64_t lost = 0, duplicated = 0, reordered = 0, retransmits = 0;
};
std::optional<fault_report> faults_in(const std::string& err) {
  std::smatch m;
  static const std::regex line(
      R"((\d+) retransmits .*faults rx (\d+) lost (\d+) duplicated (\d+) reordered, tx (\d+) lost )"
      R"((\d+) duplicated (\d+) reordered)");
  if (!std::regex_search(err, m, line)) return std::nullopt;
  auto n = [&](int i) { return std::stoull(m[i].str()); };
  return fault_report{n(2) + n(5), n(3) + n(6), n(4) + n(7), n(1)};
}

enum class fault_kind { none, loss, reorder, dup };

// A sanitizer build reports through stderr; any report fails the test that ran the child.
void expect_no_sanitizer_report(std::string_view who, const std::string& err) {
  EXPECT_EQ(err.find("Sanitizer"), std::string::npos) << who << ":\n" << err;
  EXPECT_EQ(err.find("runtime error:"), std::string::npos) << who << ":\n" << err;
}

// Every one of `count` messages went out once, reached the SMSC once and was accepted, and each
// answer came back once: esme-load's report, smsc-sim's counters and the router's exit report
// ("stopped; N requests forwarded, N answers relayed", over all its workers) agree.
void expect_exactly_once(const std::optional<flat_json>& load, const std::optional<flat_json>& sim,
                         const exit_result& router, uint64_t count) {
  ASSERT_TRUE(load.has_value());
  ASSERT_TRUE(sim.has_value());
  EXPECT_EQ(esme_counts(*load), (request_counts{count, count, {}}));
  EXPECT_EQ(load->count("unanswered"), 0u);
  EXPECT_EQ(load->count("responses_stray"), 0u);
  EXPECT_EQ(sim_counts(*sim), (request_counts{count, count, {}}));
  const std::string n = std::to_string(count);
  EXPECT_NE(router.err.find("stopped; " + n + " requests forwarded, " + n + " answers relayed"),
            std::string::npos)
      << router.err;
}

class RouterDpdkE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "SKIPPED LOUDLY: not root: the router on net_tap needs a network "
                      "namespace and a TAP device (CI runs as root)";
    }
    if (access(ip_tool, X_OK) != 0) {
      GTEST_SKIP() << "SKIPPED LOUDLY: no " << ip_tool << " (iproute2) to make a namespace";
    }
    ns_.emplace();
    if (!ns_->ok()) {
      GTEST_SKIP() << "SKIPPED LOUDLY: the kernel refused 'ip netns add' (no network "
                      "namespaces here)";
    }
    dir_ = make_temp_dir(::testing::TempDir(), "router_dpdk_e2e_");
    const std::string tag = std::to_string(getpid() % 100000) + std::to_string(g_instance.load());
    iface_a_ = "rda" + tag;
    iface_b_ = "rdb" + tag;
    prefix_ = "smpp-rdpdk-" + tag;
    // The router's worker on the last CPU, the kernel's side of the test on the others.
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_ = cpus > 1 ? static_cast<unsigned>(cpus - 1) : 0;
  }

  void TearDown() override {
    // Children first (their destructors kill them), then the namespace.
    for (child_process* c : {&load_, &sim_, &router_}) {
      if (c->pid() <= 0) continue;
      c->signal(SIGKILL);
      (void)c->wait(5s);
    }
    ns_.reset();
  }

  // Starts the router and brings up the kernel's side of its TAP device(s): an address, a
  // hardware address of its own (the TAP is created with the router's), link up.
  void start_router(const std::string& fault, bool two_ports, const std::string& workers = "") {
    const std::string path = dir_ + "router.toml";
    std::string toml = router_toml(iface_a_, two_ports ? iface_b_ : "", prefix_, fault, cpu_);
    if (!workers.empty()) {
      const std::string one = "workers = [" + std::to_string(cpu_) + "]";
      ASSERT_NE(toml.find(one), std::string::npos);
      toml.replace(toml.find(one), one.size(), workers);
    }
    std::ofstream(path) << toml;
    ASSERT_TRUE(router_.start(ip_tool, ns_->exec("smpp-router", {"--config", path})));
    ASSERT_TRUE(router_.wait_for_output(
        [](const std::string&, const std::string& err) {
          return err.find("listening on") != std::string::npos;
        },
        30s))
        << "the router did not come up:\n"
        << router_.err();
    ASSERT_TRUE(ns_->sh("ip link set lo up && ip link set " + iface_a_ +
                        " address 02:00:00:00:00:01 && ip addr add " + kernel_ip_a + "/24 dev " +
                        iface_a_ + " && ip link set " + iface_a_ + " up"));
    if (two_ports) {
      ASSERT_TRUE(ns_->sh("ip link set " + iface_b_ + " address 02:00:00:00:00:02 && ip addr add " +
                          kernel_ip_b + "/24 dev " + iface_b_ + " && ip link set " + iface_b_ +
                          " up"));
    }
  }

  // smsc-sim on the kernel's side; returns once the router's two binds are up.
  void start_sim(const std::string& ip) {
    ASSERT_TRUE(sim_.start(
        ip_tool, ns_->exec("smsc-sim", {"--listen", ip + ":" + std::to_string(sim_port)})));
    // SIGUSR1 before smsc-sim installed its handler would end it: wait for it to listen.
    ASSERT_TRUE(sim_.wait_for_output(
        [](const std::string&, const std::string& err) {
          return err.find("listening on") != std::string::npos;
        },
        20s))
        << "smsc-sim did not come up:\n"
        << sim_.err();
    const auto until = smpp::testing::clock_type::now() + 30s;
    uint64_t binds = 0;
    while (binds < 2 && smpp::testing::clock_type::now() < until) {
      const auto c = sim_counters();
      binds = c ? c->count("binds") : 0;
      if (binds < 2) std::this_thread::sleep_for(100ms);
    }
    ASSERT_EQ(binds, 2u) << "the router's upstream binds did not come up\nrouter:\n"
                         << router_.err() << "\nsmsc-sim:\n"
                         << sim_.err();
  }

  // The simulator's counters, asked for with SIGUSR1 (one JSON line on stdout per signal).
  std::optional<flat_json> sim_counters() { return smpp::testing::smsc_sim_counters(sim_); }

  // esme-load through the router on kernel sockets in the namespace.
  std::optional<flat_json> run_load(uint64_t count, uint32_t sessions, uint32_t window) {
    EXPECT_TRUE(load_.start(
        ip_tool,
        ns_->exec("esme-load",
                  {"--connect", std::string(router_ip_a) + ":" + std::to_string(router_port),
                   "--system-id", "loadtest", "--password", "secret", "--count",
                   std::to_string(count), "--sessions", std::to_string(sessions), "--window",
                   std::to_string(window), "--json", "-", "--no-progress"})));
    const exit_result r = load_.wait(90s);
    EXPECT_EQ(r.code, 0) << "esme-load:\n" << r.out << r.err << "\nrouter:\n" << router_.err();
    expect_no_sanitizer_report("esme-load", r.err);
    return flat_json::parse(last_line(r.out));
  }

  // SIGTERM: the router unbinds, exits; so does smsc-sim. Neither may report a sanitizer error.
  exit_result stop_router() {
    router_.signal(SIGTERM);
    exit_result r = router_.wait(10s);
    expect_no_sanitizer_report("smpp-router", r.err);
    if (sim_.pid() > 0) {
      sim_.signal(SIGTERM);
      const exit_result s = sim_.wait(10s);
      EXPECT_EQ(s.code, 0) << s.err;
      expect_no_sanitizer_report("smsc-sim", s.err);
    }
    return r;
  }

  // The whole path with `fault` on the router's port: exact counts end to end, and the fault
  // of `kind` really happened.
  void exactly_once(const std::string& fault, uint64_t count, fault_kind kind) {
    start_router(fault, false);
    if (HasFatalFailure()) return;
    start_sim(kernel_ip_a);
    if (HasFatalFailure()) return;
    const auto load = run_load(count, 4, 32);
    const auto sim = sim_counters();
    const exit_result r = stop_router();
    EXPECT_EQ(r.code, 0) << r.err;
    expect_exactly_once(load, sim, r, count);
    const std::string n = std::to_string(count);
    EXPECT_NE(r.err.find("worker 0: " + n + " received, " + n + " forwarded, " + n + " relayed"),
              std::string::npos)
        << r.err;
    const auto f = faults_in(r.err);
    ASSERT_TRUE(f.has_value()) << r.err;
    switch (kind) {
      case fault_kind::none:
        EXPECT_EQ(f->lost + f->duplicated + f->reordered, 0u) << r.err;
        break;
      case fault_kind::loss:
        // Frames were lost both ways, and the router's TCP sent again what it lost going out.
        EXPECT_GT(f->lost, 0u) << r.err;
        EXPECT_GT(f->retransmits, 0u) << r.err;
        break;
      case fault_kind::reorder:
        EXPECT_GT(f->reordered, 0u) << r.err;
        break;
      case fault_kind::dup:
        EXPECT_GT(f->duplicated, 0u) << r.err;
        break;
    }
  }

  std::optional<netns> ns_;
  std::string dir_;
  std::string iface_a_;
  std::string iface_b_;
  std::string prefix_;
  unsigned cpu_ = 0;
  child_process router_;
  child_process sim_;
  child_process load_;
};

TEST_F(RouterDpdkE2eTest, TwentyThousandMessagesExactlyOnceOnACleanPort) {
  exactly_once("", 20000, fault_kind::none);
}

TEST_F(RouterDpdkE2eTest, OnePercentLossEveryMessageExactlyOnce) {
  exactly_once("loss=0.01,seed=11", 5000, fault_kind::loss);
}

TEST_F(RouterDpdkE2eTest, FivePercentLossEveryMessageExactlyOnce) {
  exactly_once("loss=0.05,seed=12", 3000, fault_kind::loss);
}

TEST_F(RouterDpdkE2eTest, ReorderingEveryMessageExactlyOnce) {
  exactly_once("reorder=0.05,seed=13", 5000, fault_kind::reorder);
}

TEST_F(RouterDpdkE2eTest, DuplicationEveryMessageExactlyOnce) {
  exactly_once("dup=0.05,seed=14", 5000, fault_kind::dup);
}

// ESMEs on one TAP, the SMSC on another: the router listens on both and leaves for the SMSC by
// the port whose subnet holds its address.
TEST_F(RouterDpdkE2eTest, TwoPortsEsmesOnOneSmscOnTheOther) {
  start_router("", true);
  if (HasFatalFailure()) return;
  start_sim(kernel_ip_b);
  if (HasFatalFailure()) return;
  const auto load = run_load(5000, 4, 32);
  const auto sim = sim_counters();
  // The binds came through the second port: its TAP carried them, the first did not.
  EXPECT_TRUE(ns_->sh("ss -tn state established | grep -q '" + std::string(kernel_ip_b) + ":" +
                      std::to_string(sim_port) + " *" + router_ip_b + ":'"))
      << "no bind from " << router_ip_b;
  const exit_result r = stop_router();
  EXPECT_EQ(r.code, 0) << r.err;
  expect_exactly_once(load, sim, r, 5000);
}

// No kernel on the path: the router with one memif port per peer, esme-load and smsc-sim each on
// DPDK too (their own EAL, file prefix and memif client role), exact counts end to end.
TEST_F(RouterDpdkE2eTest, MemifBetweenDpdkToolsNoKernelOnThePath) {
  const std::string path = dir_ + "router.toml";
  std::string toml = router_toml(iface_a_, "", prefix_, "", cpu_);
  const std::string tap = "vdevs = [\"net_tap0,iface=" + iface_a_ + "\"]\nport = \"net_tap0\"";
  ASSERT_NE(toml.find(tap), std::string::npos);
  toml.replace(toml.find(tap), tap.size(),
               "vdevs = [\"net_memif0,role=server,socket=" + dir_ +
                   "esme.sock,socket-abstract=no\", \"net_memif1,role=server,socket=" + dir_ +
                   "sim.sock,socket-abstract=no\"]\nport = \"net_memif0\"\ntcp_connections = 64");
  const std::string upstream = std::string("address = \"") + kernel_ip_a + ":";
  ASSERT_NE(toml.find(upstream), std::string::npos);
  toml.replace(toml.find(upstream), upstream.size(), "address = \"198.51.100.1:");
  toml += "[[dpdk.extra_ports]]\nport = \"net_memif1\"\nipv4 = \"198.51.100.10/24\"\n";
  std::ofstream(path) << toml;
  ASSERT_TRUE(router_.start("smpp-router", {"--config", path}));
  ASSERT_TRUE(router_.wait_for_output(
      [](const std::string&, const std::string& err) {
        return err.find("listening on") != std::string::npos;
      },
      30s))
      << router_.err();
  const std::string lcore = std::to_string(cpu_ == 0 ? 0 : cpu_ - 1);
  auto dpdk_args = [&](const std::string& sock, const std::string& ip, const std::string& who) {
    return std::vector<std::string>{
        "--dpdk-vdev",
        "net_memif0,role=client,socket=" + dir_ + sock + ",socket-abstract=no",
        "--dpdk-ip",
        ip,
        "--dpdk-no-huge",
        "--dpdk-lcore",
        lcore,
        "--dpdk-file-prefix",
        prefix_ + "-" + who,
        "--dpdk-idle-sleep-us",
        "100"};
  };
  std::vector<std::string> sim_args{"--listen", "198.51.100.1:2776"};
  for (auto& a : dpdk_args("sim.sock", "198.51.100.1/24", "sim")) sim_args.push_back(a);
  ASSERT_TRUE(sim_.start("smsc-sim", sim_args));
  ASSERT_TRUE(sim_.wait_for_output(
      [](const std::string&, const std::string& err) {
        return err.find("listening on") != std::string::npos;
      },
      30s))
      << sim_.err();
  uint64_t binds = 0;
  for (int i = 0; i < 300 && binds < 2; ++i) {
    const auto c = sim_counters();
    binds = c ? c->count("binds") : 0;
    if (binds < 2) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(binds, 2u) << router_.err() << sim_.err();
  std::vector<std::string> load_args{"--connect",    std::string(router_ip_a) + ":2775",
                                     "--system-id",  "loadtest",
                                     "--password",   "secret",
                                     "--count",      "20000",
                                     "--sessions",   "4",
                                     "--window",     "64",
                                     "--json",       "-",
                                     "--no-progress"};
  for (auto& a : dpdk_args("esme.sock", "192.0.2.1/24", "load")) load_args.push_back(a);
  const exit_result load = run_tool("esme-load", load_args, 90s);
  EXPECT_EQ(load.code, 0) << load.err << router_.err();
  expect_no_sanitizer_report("esme-load", load.err);
  const auto r = flat_json::parse(last_line(load.out));
  EXPECT_TRUE(r.has_value()) << load.out;
  const auto sim = sim_counters();
  const exit_result stopped = stop_router();
  EXPECT_EQ(stopped.code, 0) << "timed out " << stopped.timed_out << ", signal " << stopped.signal
                             << "\n"
                             << stopped.err;
  EXPECT_NE(stopped.err.find("20000 received, 20000 forwarded, 20000 relayed"), std::string::npos)
      << stopped.err;
  expect_exactly_once(r, sim, stopped, 20000);
}

// [dpdk] idle_sleep_us = 100 reaches the workers: the router with its upstream binds up and
// nothing to do uses a small part of a CPU (pure poll mode would use all of its worker's).
TEST_F(RouterDpdkE2eTest, AnIdleRouterWithIdleSleepLeavesItsCpuToOthers) {
  start_router("", false);
  if (HasFatalFailure()) return;
  start_sim(kernel_ip_a);
  if (HasFatalFailure()) return;
  // utime + stime of the whole process, in clock ticks (proc(5) fields 14 and 15).
  auto cpu_ticks = [&]() -> std::optional<uint64_t> {
    std::ifstream in("/proc/" + std::to_string(router_.pid()) + "/stat");
    std::string stat;
    std::getline(in, stat);
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) return std::nullopt;
    std::istringstream fields(stat.substr(paren + 2));
    std::string f;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
      if (i == 14) utime = std::stoull(f);
      if (i == 15) stime = std::stoull(f);
    }
    return utime + stime;
  };
  // Idle once the binds' last exchanges are over: the CPU it used over windows of 2 s, until one
  // shows it below 30% of the wall time (a worker in pure poll mode never gets there).
  double cpu_s = 0, wall_s = 0;
  bool idle = false;
  for (const auto until = smpp::testing::clock_type::now() + 20s;
       !idle && smpp::testing::clock_type::now() < until;) {
    const auto before = cpu_ticks();
    const auto start = smpp::testing::clock_type::now();
    std::this_thread::sleep_for(2s);  // the window measured
    const auto after = cpu_ticks();
    wall_s = std::chrono::duration<double>(smpp::testing::clock_type::now() - start).count();
    ASSERT_TRUE(before.has_value() && after.has_value());
    cpu_s = static_cast<double>(*after - *before) / static_cast<double>(sysconf(_SC_CLK_TCK));
    std::printf("idle router (idle_sleep_us 100): %.3f s CPU in %.3f s\n", cpu_s, wall_s);
    idle = cpu_s < 0.3 * wall_s;
  }
  EXPECT_TRUE(idle) << "an idle worker with idle_sleep_us still spins: " << cpu_s << " s CPU in "
                    << wall_s << " s";
  const exit_result r = stop_router();
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(RouterDpdkE2eTest, AnEalThatCannotStartIsAClearErrorNotACrash) {
  const std::string path = dir_ + "bad.toml";
  std::string toml = router_toml(iface_a_, "", prefix_, "", cpu_);
  toml.replace(toml.find("net_tap0,iface="), std::string("net_tap0").size(), "net_bogus0");
  std::ofstream(path) << toml;
  const exit_result r = run_tool(ip_tool, ns_->exec("smpp-router", {"--config", path}), 30s);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("smpp-router: DPDK EAL: rte_eal_init"), std::string::npos) << r.err;
}

// A TAP device has no RSS and the transports do not steer frames between workers: more than one
// worker on it is refused at start, not left to lose connections.
// Two workers on a TAP device, which has no RSS: worker 0 receives every frame and hands each
// TCP flow's to the worker its software hash names (software steering); both serve ESME
// sessions, and every message still reaches the SMSC exactly once.
TEST_F(RouterDpdkE2eTest, TwoWorkersOnAPortWithoutRssShareTheSessionsBySoftwareSteering) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "one CPU: no two workers to plan";
  start_router("", false, "workers = [0, 1]");
  if (HasFatalFailure()) return;
  start_sim(kernel_ip_a);
  if (HasFatalFailure()) return;
  constexpr uint64_t count = 20000;
  // 16 sessions: all on one worker by chance has probability 2^-15.
  const auto load = run_load(count, 16, 16);
  const auto sim = sim_counters();
  const exit_result r = stop_router();
  EXPECT_EQ(r.code, 0) << r.err;
  expect_exactly_once(load, sim, r, count);
  EXPECT_NE(r.err.find("software steering"), std::string::npos) << r.err;
  // Each worker took ESME requests of its own ("worker N: R received, ...").
  uint64_t received[2] = {0, 0};
  for (int w = 0; w < 2; ++w) {
    const std::string key = "worker " + std::to_string(w) + ": ";
    for (size_t at = r.err.find(key); at != std::string::npos; at = r.err.find(key, at + 1)) {
      const char* p = r.err.c_str() + at + key.size();
      char* end = nullptr;
      const uint64_t n = std::strtoull(p, &end, 10);
      if (end != p && std::string_view(end).starts_with(" received")) received[w] = n;
    }
  }
  EXPECT_GT(received[0], 0u) << r.err;
  EXPECT_GT(received[1], 0u) << r.err;
  EXPECT_EQ(received[0] + received[1], count) << r.err;
}

TEST_F(RouterDpdkE2eTest, APortTheEalDoesNotHaveIsAClearError) {
  const std::string path = dir_ + "bad.toml";
  std::string toml = router_toml(iface_a_, "", prefix_, "", cpu_);
  toml.replace(toml.find("port = \"net_tap0\""), std::string("port = \"net_tap0\"").size(),
               "port = \"net_tap7\"");
  std::ofstream(path) << toml;
  const exit_result r = run_tool(ip_tool, ns_->exec("smpp-router", {"--config", path}), 30s);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("smpp-router: DPDK port net_tap7"), std::string::npos) << r.err;
}

// --dpdk-idle-sleep-us of both tools: listed by --help, refused beyond 0..10000 before any EAL
// starts (no root needed).
TEST(DpdkToolOptions, IdleSleepIsDocumentedAndRefusedBeyondItsBound) {
  for (const std::string tool : {"esme-load", "smsc-sim"}) {
    const exit_result help = run_tool(bin_dir() + "/" + tool, {"--help"}, 10s);
    EXPECT_EQ(help.code, 0) << tool << help.err;
    EXPECT_NE(help.out.find("--dpdk-idle-sleep-us N"), std::string::npos) << tool << help.out;
    const exit_result bad = run_tool(
        bin_dir() + "/" + tool,
        {"--dpdk-ip", "192.0.2.1/24", "--dpdk-vdev", "net_null0", "--dpdk-idle-sleep-us", "10001"},
        10s);
    EXPECT_EQ(bad.code, 2) << tool << bad.err;
    EXPECT_NE(bad.err.find("--dpdk-idle-sleep-us: invalid value '10001' (0..10000)"),
              std::string::npos)
        << tool << bad.err;
  }
}

}  // namespace
