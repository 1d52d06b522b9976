// The --dpdk-* options of esme-load and smsc-sim: run the tool's one worker on a DPDK port with
// the project's userspace TCP/IP stack instead of kernel sockets (the default). The process gets
// its own EAL (its own --file-prefix), one port, one queue pair, one dpdk_transport; the main
// thread is the EAL's main lcore, pinned to --dpdk-lcore.
#pragma once

#include <sched.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/dataplane/address.hpp"
#include "smpp/dataplane/dpdk/dpdk_transport.hpp"
#include "smpp/dataplane/dpdk/eal.hpp"
#include "smpp/dataplane/dpdk/fault.hpp"
#include "smpp/dataplane/dpdk/port.hpp"

namespace smpp::tools {

inline constexpr std::string_view dpdk_cli_help =
    "DPDK (default: kernel sockets; --dpdk-ip turns DPDK on):\n"
    "  --dpdk-ip A.B.C.D/N   this process's IPv4 address on the port and its prefix length\n"
    "  --dpdk-vdev STRING    a virtual device for the EAL (repeatable), e.g.\n"
    "                        net_memif0,role=client,socket=/tmp/m.sock,socket-abstract=no or\n"
    "                        net_tap0,iface=esme0\n"
    "  --dpdk-pci ADDR       a PCI device to use (repeatable); without it the PCI bus is not\n"
    "                        scanned\n"
    "  --dpdk-port NAME      the port: a PCI address or a device name (default: the first\n"
    "                        --dpdk-vdev's name, else the first --dpdk-pci)\n"
    "  --dpdk-gateway A.B.C.D  the next hop for destinations off the subnet\n"
    "  --dpdk-arp IP=MAC     a static neighbour (repeatable), e.g. 10.0.0.1=02:00:00:00:00:01\n"
    "  --dpdk-no-huge        plain memory instead of hugepages (development, containers)\n"
    "  --dpdk-memory-mb N    memory reserved at start (default 256 with --dpdk-no-huge)\n"
    "  --dpdk-lcore CPU      the CPU the worker runs on (default 0)\n"
    "  --dpdk-file-prefix NAME  the EAL's runtime name, distinct per DPDK process on the host\n"
    "                        (default: the tool's name and process id)\n"
    "  --dpdk-fault SPEC     fault injection on the port, both directions, e.g.\n"
    "                        loss=0.01,reorder=0.01,seed=7 (tests only)\n"
    "  --dpdk-tcp-connections N  TCP connections preallocated (default: enough for the tool)\n"
    "  --dpdk-idle-sleep-us N  0..10000: once idle for 200 us, sleep in steps of at most N us\n"
    "                        between looks at the port (default 0: no sleeping); a frame\n"
    "                        arriving meanwhile waits at most N us more\n"
    "The port is polled (no interrupts): with --busy-poll the loop spins, without it an idle\n"
    "look gives the CPU away (sched_yield), so the tool can share a core; with\n"
    "--dpdk-idle-sleep-us an idle wait sleeps instead, so the CPU is free for others.\n";

struct dpdk_cli {
  bool enabled = false;  // --dpdk-ip given
  std::vector<std::string> vdevs;
  std::vector<std::string> pci;
  std::string port;
  uint32_t ipv4 = 0;  // host byte order
  uint8_t prefix_length = 24;
  uint32_t gateway = 0;
  std::vector<std::pair<uint32_t, net::mac_addr>> arp;
  bool no_huge = false;
  unsigned memory_mb = 0;
  unsigned lcore_cpu = 0;
  std::string file_prefix;
  std::string fault;
  uint32_t tcp_connections = 0;  // 0: the tool's own need
  uint32_t idle_sleep_us = 0;    // dpdk_transport_config::idle_sleep_us; 0: pure poll mode
  bool any_option = false;       // some --dpdk-* option was given

  // Options without a value.
  [[nodiscard]] static bool is_flag(std::string_view name) { return name == "--dpdk-no-huge"; }
  // Options that take a value.
  [[nodiscard]] static bool takes_value(std::string_view name) {
    return name == "--dpdk-ip" || name == "--dpdk-vdev" || name == "--dpdk-pci" ||
           name == "--dpdk-port" || name == "--dpdk-gateway" || name == "--dpdk-arp" ||
           name == "--dpdk-memory-mb" || name == "--dpdk-lcore" || name == "--dpdk-file-prefix" ||
           name == "--dpdk-fault" || name == "--dpdk-tcp-connections" ||
           name == "--dpdk-idle-sleep-us";
  }

  // Whether the tool wraps its DPDK transport in yielding_transport: not with --busy-poll (it
  // spins) nor with --dpdk-idle-sleep-us (the transport sleeps by itself when idle).
  [[nodiscard]] bool yields(bool busy_poll) const {
    return enabled && !busy_poll && idle_sleep_us == 0;
  }

  // One option; "" when accepted, else why not (with what is accepted).
  [[nodiscard]] std::string parse(std::string_view name, std::string_view value) {
    any_option = true;
    const std::string bad = std::string(name) + ": invalid value '" + std::string(value) + "'";
    if (name == "--dpdk-no-huge") {
      no_huge = true;
    } else if (name == "--dpdk-ip") {
      const size_t slash = value.find('/');
      const auto a = dataplane::parse_ipv4(value.substr(0, slash));
      const auto p = slash == std::string_view::npos ? std::nullopt
                                                     : parse_uint(value.substr(slash + 1), 1, 32);
      if (!a || !p || *a == 0) return bad + " (A.B.C.D/N, N 1..32)";
      ipv4 = *a;
      prefix_length = static_cast<uint8_t>(*p);
      enabled = true;
    } else if (name == "--dpdk-vdev") {
      if (value.empty()) return bad + " (a driver name and options)";
      vdevs.emplace_back(value);
    } else if (name == "--dpdk-pci") {
      if (value.empty()) return bad + " (a PCI address such as 0000:03:00.0)";
      pci.emplace_back(value);
    } else if (name == "--dpdk-port") {
      if (value.empty()) return bad + " (a PCI address or a device name)";
      port = value;
    } else if (name == "--dpdk-gateway") {
      const auto a = dataplane::parse_ipv4(value);
      if (!a || *a == 0) return bad + " (A.B.C.D)";
      gateway = *a;
    } else if (name == "--dpdk-arp") {
      const size_t eq = value.find('=');
      const auto a = dataplane::parse_ipv4(value.substr(0, eq));
      net::mac_addr mac{};
      if (!a || eq == std::string_view::npos || !parse_mac(value.substr(eq + 1), mac)) {
        return bad + " (IP=MAC, e.g. 10.0.0.1=02:00:00:00:00:01)";
      }
      arp.emplace_back(*a, mac);
    } else if (name == "--dpdk-memory-mb") {
      const auto v = parse_uint(value, 16, 1 << 20);
      if (!v) return bad + " (16..1048576)";
      memory_mb = static_cast<unsigned>(*v);
    } else if (name == "--dpdk-lcore") {
      const auto v = parse_uint(value, 0, 4095);
      if (!v) return bad + " (a CPU number 0..4095)";
      lcore_cpu = static_cast<unsigned>(*v);
    } else if (name == "--dpdk-file-prefix") {
      if (value.empty() || value.find_first_of("/ ,") != std::string_view::npos) {
        return bad + " (a name without '/', ' ' or ',')";
      }
      file_prefix = value;
    } else if (name == "--dpdk-fault") {
      dataplane::dpdk::fault_config f;
      std::string why;
      if (!dataplane::dpdk::fault_config::parse(value, f, why))
        return std::string(name) + ": " + why;
      fault = value;
    } else if (name == "--dpdk-tcp-connections") {
      const auto v = parse_uint(value, 16, 1 << 20);
      if (!v) return bad + " (16..1048576)";
      tcp_connections = static_cast<uint32_t>(*v);
    } else if (name == "--dpdk-idle-sleep-us") {
      const auto v = parse_uint(value, 0, 10'000);
      if (!v) return bad + " (0..10000)";
      idle_sleep_us = static_cast<uint32_t>(*v);
    }
    return {};
  }

  // After every option: the combination. "" when acceptable.
  [[nodiscard]] std::string check() {
    if (!any_option) return {};
    if (!enabled) return "the --dpdk-* options need --dpdk-ip A.B.C.D/N";
    if (port.empty()) {
      if (!vdevs.empty()) {
        port = vdevs.front().substr(0, vdevs.front().find(','));
      } else if (!pci.empty()) {
        port = pci.front();
      } else {
        return "--dpdk-ip needs a port: --dpdk-vdev, --dpdk-pci or --dpdk-port";
      }
    }
    if (no_huge && memory_mb == 0) memory_mb = 256;
    return {};
  }

  static std::optional<uint64_t> parse_uint(std::string_view s, uint64_t lo, uint64_t hi) {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi) return {};
    return v;
  }
  static bool parse_mac(std::string_view s, net::mac_addr& out) {
    if (s.size() != 17) return false;
    for (size_t i = 0; i < 6; ++i) {
      if (i < 5 && s[i * 3 + 2] != ':') return false;
      uint8_t v = 0;
      const auto [end, ec] = std::from_chars(s.data() + i * 3, s.data() + i * 3 + 2, v, 16);
      if (ec != std::errc{} || end != s.data() + i * 3 + 2) return false;
      out[i] = std::byte{v};
    }
    return true;
  }
};

// A poll-mode transport for a process that shares its core (the default without --busy-poll):
// an idle poll gives the CPU away (sched_yield) between looks instead of spinning through the
// timeout, so two such processes on one core both make progress. Everything else is forwarded.
// Not used with --dpdk-idle-sleep-us: the transport then sleeps by itself
// (dpdk_cli::yields()).
class yielding_transport final : public dataplane::transport {
 public:
  explicit yielding_transport(dataplane::transport& inner) : inner_(inner) {}
  void set_handler(dataplane::transport_handler* h) noexcept override { inner_.set_handler(h); }
  [[nodiscard]] int listen(const dataplane::endpoint& ep) override { return inner_.listen(ep); }
  [[nodiscard]] dataplane::conn_id connect(const dataplane::endpoint& ep, int& err) override {
    return inner_.connect(ep, err);
  }
  [[nodiscard]] bool send(dataplane::conn_id c, dataplane::bytes_view data) override {
    return inner_.send(c, data);
  }
  [[nodiscard]] std::span<std::byte> reserve(dataplane::conn_id c, size_t n) override {
    return inner_.reserve(c, n);
  }
  void commit(dataplane::conn_id c, size_t used) override { inner_.commit(c, used); }
  [[nodiscard]] size_t queued(dataplane::conn_id c) const override { return inner_.queued(c); }
  void pause_read(dataplane::conn_id c, bool paused) override { inner_.pause_read(c, paused); }
  void close(dataplane::conn_id c, bool abort) override { inner_.close(c, abort); }
  int poll(int timeout_us) override {
    int events = inner_.poll(0);
    if (events > 0 || timeout_us <= 0) return events;
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(timeout_us);
    while (events == 0 && std::chrono::steady_clock::now() < until) {
      sched_yield();
      events = inner_.poll(0);
    }
    return events;
  }
  void flush() override { inner_.flush(); }
  [[nodiscard]] uint32_t connections() const noexcept override { return inner_.connections(); }

 private:
  dataplane::transport& inner_;
};

// The process's EAL, port and transport, destroyed in that reverse order.
struct dpdk_runtime {
  std::optional<dataplane::dpdk::eal> eal;
  std::optional<dataplane::dpdk::port> port;
  std::unique_ptr<dataplane::dpdk::dpdk_transport> transport;

  dpdk_runtime() = default;
  dpdk_runtime(const dpdk_runtime&) = delete;
  dpdk_runtime& operator=(const dpdk_runtime&) = delete;
  ~dpdk_runtime() {
    transport.reset();
    port.reset();
    eal.reset();
  }

  // The tool's exit status, returned; on DPDK the process ends here instead, without tearing
  // the port down (eal::exit_without_teardown: the memif driver's close can fault on a peer
  // that left).
  int finish(int code) noexcept {
    if (eal) eal->exit_without_teardown(code);
    return code;
  }

  // EAL, port (one queue), transport. false with `error` naming the step that failed.
  bool start(const dpdk_cli& c, std::string_view tool, uint32_t connections,
             const dataplane::transport_limits& limits, std::string& error) {
    dataplane::dpdk::eal_config ec;
    ec.cpus = {c.lcore_cpu};
    ec.no_huge = c.no_huge;
    ec.memory_mb = c.memory_mb;
    ec.vdevs = c.vdevs;
    ec.pci_allow = c.pci;
    ec.no_pci = c.pci.empty();
    ec.file_prefix =
        c.file_prefix.empty() ? std::string(tool) + "-" + std::to_string(getpid()) : c.file_prefix;
    auto e = dataplane::dpdk::eal::init(ec, error);
    if (!e) {
      error = "DPDK EAL: " + error;
      return false;
    }
    eal.emplace(std::move(*e));
    dataplane::dpdk::port_config pc;
    pc.device = c.port;
    pc.worker_lcores = eal->lcores();
    auto p = dataplane::dpdk::port::open(pc, error);
    if (!p) {
      error = "DPDK port " + c.port + ": " + error;
      return false;
    }
    port.emplace(std::move(*p));
    dataplane::dpdk::dpdk_transport_config tc;
    tc.address = c.ipv4;
    tc.prefix_len = c.prefix_length;
    tc.gateway = c.gateway;
    tc.static_arp = c.arp;
    tc.limits = limits;
    // Headroom over the sessions for TIME-WAIT (the table holds those too).
    tc.tcp.max_connections = c.tcp_connections != 0 ? c.tcp_connections : connections * 2 + 16;
    tc.idle_sleep_us = c.idle_sleep_us;
    if (!c.fault.empty()) {
      tc.rx_faults = with_seed_offset(c.fault, 0);
      tc.tx_faults = with_seed_offset(c.fault, 1);
    }
    transport = dataplane::dpdk::dpdk_transport::create(*port, 0, std::move(tc), error);
    if (!transport) {
      error = "DPDK transport: " + error;
      return false;
    }
    return true;
  }

 private:
  // The fault text with its seed replaced by seed + offset, so each direction draws its own
  // sequence from the configured seed (default 1).
  static std::string with_seed_offset(const std::string& fault, uint64_t offset) {
    dataplane::dpdk::fault_config f;
    std::string ignored;
    (void)dataplane::dpdk::fault_config::parse(fault, f, ignored);  // checked by parse()
    return dataplane::dpdk::fault_config::with_seed(fault, f.seed + offset);
  }
};

}  // namespace smpp::tools
