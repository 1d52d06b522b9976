// Our stack on a TAP device against the Linux kernel, in a network namespace the test creates
// (and always removes): the kernel resolves and pings us (ARP and ICMP echo against a real
// peer), its neighbour table shows our address, and we resolve the kernel's address.
// Needs root, /dev/net/tun and `ip netns`; skips loudly when the kernel refuses any of them.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "smpp/net/stack.hpp"
#include "smpp/net/tap_link.hpp"

namespace net = smpp::net;

namespace {

// A test-only range (RFC 2544 benchmarking, 198.18.0.0/15) inside our own namespace.
constexpr net::ipv4_addr kernel_ip = 0xc6124d01;  // 198.18.77.1
constexpr net::ipv4_addr our_ip = 0xc6124d02;     // 198.18.77.2
constexpr const char* kernel_ip_text = "198.18.77.1";
constexpr const char* our_ip_text = "198.18.77.2";
const net::mac_addr our_mac{std::byte{0x02}, std::byte{0x00}, std::byte{0x5e},
                            std::byte{0x10}, std::byte{0x77}, std::byte{0x02}};
constexpr const char* our_mac_text = "02:00:5e:10:77:02";
constexpr const char* tap_name = "smpptap0";

uint64_t now_us() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// Runs a shell command; its exit status and standard output.
struct run_result {
  int status = -1;
  std::string out;
};
run_result run(const std::string& cmd) {
  run_result r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 512> buf;
  while (::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) r.out += buf.data();
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// The namespace, removed when the test ends however it ends.
class netns_guard {
 public:
  explicit netns_guard(std::string name) : name_(std::move(name)) {
    const run_result r = run("ip netns add " + name_);
    ok_ = r.status == 0;
    error_ = r.out;
  }
  ~netns_guard() {
    if (ok_) (void)run("ip netns del " + name_);
  }
  netns_guard(const netns_guard&) = delete;
  netns_guard& operator=(const netns_guard&) = delete;
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  std::string exec(const std::string& cmd) const { return "ip netns exec " + name_ + " " + cmd; }

 private:
  std::string name_;
  bool ok_ = false;
  std::string error_;
};

// Opens the TAP device inside the namespace: this thread enters it for the TUNSETIFF and
// returns to its own namespace afterwards (the device stays where it was created).
std::unique_ptr<net::tap_link> open_tap_in(const netns_guard& ns, std::string& error) {
  const int own = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const int target = ::open(("/var/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
  if (own < 0 || target < 0 || ::setns(target, CLONE_NEWNET) != 0) {
    error = std::string("cannot enter the namespace: ") + std::strerror(errno);
    if (own >= 0) ::close(own);
    if (target >= 0) ::close(target);
    return nullptr;
  }
  auto tap = std::make_unique<net::tap_link>(tap_name, our_mac);
  const bool back = ::setns(own, CLONE_NEWNET) == 0;
  ::close(own);
  ::close(target);
  if (!back) {
    error = "cannot return to the test's own namespace";
    return nullptr;
  }
  if (!tap->valid()) {
    error = tap->error();
    return nullptr;
  }
  return tap;
}

// Feeds received frames to the stack and runs its timers, until `done` or the deadline.
template <typename Done>
bool pump(net::stack& s, net::tap_link& tap, uint64_t budget_us, Done done) {
  std::array<std::byte, 16 * 1600> buffer;
  std::array<std::span<const std::byte>, 16> frames;
  const uint64_t deadline = now_us() + budget_us;
  uint64_t next_timer = 0;
  while (now_us() < deadline) {
    if (done()) return true;
    pollfd pfd{tap.fd(), POLLIN, 0};
    (void)::poll(&pfd, 1, 10);
    const size_t n = tap.rx_burst(buffer, frames);
    for (size_t i = 0; i < n; ++i) s.input(frames[i], now_us());
    if (now_us() >= next_timer) {
      s.timers(now_us());
      next_timer = now_us() + 100'000;
    }
  }
  return done();
}

}  // namespace

TEST(TapKernel, KernelPingsUsAndEachSideResolvesTheOther) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "*** SKIPPED: needs root for a network namespace and a TAP device ***";
  }
  if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "*** SKIPPED: /dev/net/tun is not available: " << std::strerror(errno)
                 << " ***";
  }
  netns_guard ns("smpp-net-tap-" + std::to_string(::getpid()));
  if (!ns.ok()) {
    GTEST_SKIP() << "*** SKIPPED: `ip netns add` was refused: " << ns.error() << " ***";
  }
  std::string error;
  auto tap = open_tap_in(ns, error);
  if (!tap) GTEST_SKIP() << "*** SKIPPED: TAP device refused in the namespace: " << error << " ***";

  const std::string dev = tap->name();
  ASSERT_EQ(run(ns.exec("ip addr add " + std::string(kernel_ip_text) + "/24 dev " + dev)).status,
            0);
  ASSERT_EQ(run(ns.exec("ip link set dev " + dev + " up")).status, 0);
  const run_result kmac = run(ns.exec("cat /sys/class/net/" + dev + "/address"));
  ASSERT_EQ(kmac.status, 0);
  const std::string kernel_mac_text = kmac.out.substr(0, 17);

  net::stack_config c;
  c.ip.addresses = {our_ip};
  c.ip.netmask = 0xffffff00;
  net::stack s(*tap, c);

  // 1. We resolve the kernel's address: a datagram of an unused protocol (253, RFC 3692) waits
  // for ARP, goes out once the kernel answers, and the kernel says protocol unreachable.
  {
    auto out = s.ip().alloc(kernel_ip, 16);
    ASSERT_EQ(out.size(), 16u);
    std::fill(out.begin(), out.end(), std::byte{0x42});
    s.ip().send(our_ip, kernel_ip, 253, 16);
  }
  EXPECT_EQ(s.counters().arp.pending_queued, 1u);
  ASSERT_TRUE(pump(s, *tap, 5'000'000, [&] { return s.counters().icmp.rx_dest_unreachable > 0; }))
      << "no ICMP protocol unreachable from the kernel; ARP requests sent: "
      << s.counters().arp.tx_requests;
  const auto kernel = s.arp().find(kernel_ip);
  ASSERT_TRUE(kernel);
  EXPECT_EQ(kernel->state, net::arp_state::reachable);
  char mac_text[18];
  std::snprintf(
      mac_text, sizeof mac_text, "%02x:%02x:%02x:%02x:%02x:%02x",
      std::to_integer<unsigned>(kernel->mac[0]), std::to_integer<unsigned>(kernel->mac[1]),
      std::to_integer<unsigned>(kernel->mac[2]), std::to_integer<unsigned>(kernel->mac[3]),
      std::to_integer<unsigned>(kernel->mac[4]), std::to_integer<unsigned>(kernel->mac[5]));
  EXPECT_EQ(std::string(mac_text), kernel_mac_text);
  EXPECT_EQ(s.counters().arp.pending_sent, 1u);

  // 2. The kernel pings us: five requests, five replies. The stack runs on its own thread
  // meanwhile (and only there until it is joined).
  std::atomic<bool> stop{false};
  std::thread pumper([&] { pump(s, *tap, 30'000'000, [&] { return stop.load(); }); });
  const run_result ping = run(ns.exec("ping -c 5 -W 1 " + std::string(our_ip_text)));
  const run_result neigh = run(ns.exec("ip neigh show " + std::string(our_ip_text)));
  stop = true;
  pumper.join();
  if (ping.out.find("not found") != std::string::npos ||
      ping.out.find("No such file") != std::string::npos) {
    GTEST_SKIP() << "*** SKIPPED: ping is not installed (iputils-ping): " << ping.out << " ***";
  }
  EXPECT_EQ(ping.status, 0) << ping.out;
  EXPECT_NE(ping.out.find("5 packets transmitted, 5 received"), std::string::npos) << ping.out;
  EXPECT_EQ(s.counters().icmp.tx_echo_replies, 5u);
  EXPECT_EQ(s.counters().icmp.rx_echo_requests, 5u);

  // 3. The kernel's neighbour table holds our address.
  EXPECT_EQ(neigh.status, 0);
  EXPECT_NE(neigh.out.find(our_mac_text), std::string::npos) << neigh.out;
  EXPECT_EQ(tap->tx_errors(), 0u);
  EXPECT_EQ(s.counters().ip.rx_bad_checksum, 0u);
}
