// A DPDK port on a TAP device inside a network namespace this test creates: frames we send
// reach the kernel, and the kernel's answers reach us.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dpdk_child.hpp"
#include "smpp/dataplane/dpdk/port.hpp"
#include "smpp/dataplane/dpdk/port_link.hpp"

namespace dp = smpp::dataplane::dpdk;
using dp::testing::run_child;
using dp::testing::test_eal_config;

namespace {

// The namespace lives as long as the test, removed even when the test fails.
class netns {
 public:
  netns() : name_("smpp_dpdk_tap_" + std::to_string(getpid())) {
    ok_ = std::system(("ip netns add " + name_ + " 2>/dev/null").c_str()) == 0;
  }
  ~netns() {
    if (ok_) (void)std::system(("ip netns del " + name_).c_str());
  }
  netns(const netns&) = delete;
  netns& operator=(const netns&) = delete;
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  bool ok_ = false;
};

// 192.0.2.0/24 (RFC 5737 TEST-NET-1), only inside the test's own namespace.
constexpr uint8_t kernel_ip[4] = {192, 0, 2, 1};
constexpr uint8_t our_ip[4] = {192, 0, 2, 2};

void write_arp_request(std::span<std::byte> f, const smpp::dataplane::net::mac_addr& mac) {
  const uint8_t hdr[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  std::memcpy(f.data(), hdr, 6);
  std::memcpy(f.data() + 6, mac.data(), 6);
  // RFC 826: Ethernet (1), IPv4 (0x0800), 6 and 4 octet addresses, opcode 1 (request).
  const uint8_t arp[] = {0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01};
  std::memcpy(f.data() + 12, arp, sizeof arp);
  std::memcpy(f.data() + 22, mac.data(), 6);
  std::memcpy(f.data() + 28, our_ip, 4);
  std::memset(f.data() + 32, 0, 6);
  std::memcpy(f.data() + 38, kernel_ip, 4);
  std::memset(f.data() + 42, 0, 18);  // pad to the 60-octet minimum
}

bool is_arp_reply_from_kernel(std::span<const std::byte> f,
                              const smpp::dataplane::net::mac_addr& mac) {
  if (f.size() < 42) return false;
  const auto* b = reinterpret_cast<const uint8_t*>(f.data());
  return b[12] == 0x08 && b[13] == 0x06 && b[20] == 0x00 && b[21] == 0x02 &&
         std::memcmp(b + 28, kernel_ip, 4) == 0 && std::memcmp(b + 32, mac.data(), 6) == 0 &&
         std::memcmp(b + 38, our_ip, 4) == 0 && std::memcmp(b, mac.data(), 6) == 0;
}

}  // namespace

TEST(Tap, KernelAnswersOurArpRequestInsideANamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED LOUDLY: needs root for a network namespace";
  if (access("/dev/net/tun", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "SKIPPED LOUDLY: no /dev/net/tun";
  }
  netns ns;
  if (!ns.ok())
    GTEST_SKIP() << "SKIPPED LOUDLY: 'ip netns add' refused (no iproute2 or no "
                    "permission for network namespaces)";
  const std::string iface = "smppdt" + std::to_string(getpid() % 100000);
  EXPECT_CHILD_OK(run_child(
      [&]() -> int {
        const int fd = open(("/var/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
        CHILD_CHECK(fd >= 0);
        CHILD_CHECK(setns(fd, CLONE_NEWNET) == 0);
        close(fd);
        std::string error;
        auto e = dp::eal::init(test_eal_config({"net_tap0,iface=" + iface}), error);
        if (!e) std::fprintf(stderr, "[child] %s\n", error.c_str());
        CHILD_CHECK(e.has_value());
        dp::port_config pc;
        pc.device = "net_tap0";
        pc.link_wait_ms = 2000;
        auto p = dp::port::open(pc, error);
        if (!p) std::fprintf(stderr, "[child] %s\n", error.c_str());
        CHILD_CHECK(p.has_value());
        // The kernel's side of the TAP: an address and the link up (we are in the namespace).
        CHILD_CHECK(std::system(("ip addr add 192.0.2.1/24 dev " + iface + " && ip link set " +
                                 iface + " up")
                                    .c_str()) == 0);
        dp::port_link l(*p, 0);
        const auto mac = l.mac();
        int replies = 0;
        int requests = 0;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (replies < 3 && std::chrono::steady_clock::now() < until) {
          if (requests < 3) {
            auto f = l.alloc_frame(60);
            CHILD_CHECK(!f.empty());
            write_arp_request(f, mac);
            l.send_frame(60);
            CHILD_CHECK(l.flush() == 1);
            ++requests;
          }
          for (int i = 0; i < 100; ++i) {
            (void)l.rx([&](std::span<const std::byte> f) {
              replies += is_arp_reply_from_kernel(f, mac) ? 1 : 0;
            });
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
          }
        }
        std::fprintf(stderr, "[child] %d ARP requests, %d replies from the kernel\n", requests,
                     replies);
        CHILD_CHECK(replies == requests);
        // The kernel learned our address from the requests (RFC 826 merge step).
        CHILD_CHECK(
            std::system(("ip neigh show 192.0.2.2 dev " + iface + " | grep -q lladdr").c_str()) ==
            0);
        return 0;
      },
      std::chrono::seconds(30)));
}
