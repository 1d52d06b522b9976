// A DPDK port on a TAP device inside a network namespace this test creates: frames we send
// reach the kernel, and the kernel's answers reach us.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dpdk_child.hpp"
#include "dpdk_tap_child.hpp"
#include "netns.hpp"
#include "smpp/dataplane/dpdk/port.hpp"
#include "smpp/dataplane/dpdk/port_link.hpp"

namespace dp = smpp::dataplane::dpdk;
using dp::testing::run_child;
using dp::testing::test_eal_config;

namespace {

using smpp::testing::netns;

// 192.0.2.0/24 (RFC 5737 TEST-NET-1), only inside the test's own namespace.
constexpr uint8_t kernel_ip[4] = {192, 0, 2, 1};
constexpr uint8_t our_ip[4] = {192, 0, 2, 2};

void write_arp_request(std::span<std::byte> f, const smpp::net::mac_addr& mac) {
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

bool is_arp_reply_from_kernel(std::span<const std::byte> f, const smpp::net::mac_addr& mac) {
  if (f.size() < 42) return false;
  const auto* b = reinterpret_cast<const uint8_t*>(f.data());
  return b[12] == 0x08 && b[13] == 0x06 && b[20] == 0x00 && b[21] == 0x02 &&
         std::memcmp(b + 28, kernel_ip, 4) == 0 && std::memcmp(b + 32, mac.data(), 6) == 0 &&
         std::memcmp(b + 38, our_ip, 4) == 0 && std::memcmp(b, mac.data(), 6) == 0;
}

// RFC 1071 checksum over big-endian words, written out here so the test does not lean on the
// code it checks.
uint16_t internet_checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  if (n % 2 != 0) sum += uint32_t(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Ethernet + IPv4 + TCP SYN from us (192.0.2.2:40000) to the kernel (192.0.2.1:9, closed),
// 54 octets. With `offload`, the checksum fields are as the device wants them (IPv4 zero, TCP
// the pseudo-header sum); without, both are filled in correctly unless `corrupt_tcp`.
void write_syn(std::span<std::byte> out, const smpp::net::mac_addr& ours, const uint8_t* kernel_mac,
               bool offload, bool corrupt_tcp = false) {
  auto* f = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(f, kernel_mac, 6);
  std::memcpy(f + 6, ours.data(), 6);
  f[12] = 0x08;
  f[13] = 0x00;
  uint8_t* ip = f + 14;
  // RFC 791 §3.1: version 4, IHL 5, total length 40, DF, TTL 64, protocol 6.
  const uint8_t iph[20] = {0x45,
                           0,
                           0,
                           40,
                           0x12,
                           0x34,
                           0x40,
                           0,
                           64,
                           6,
                           0,
                           0,
                           our_ip[0],
                           our_ip[1],
                           our_ip[2],
                           our_ip[3],
                           kernel_ip[0],
                           kernel_ip[1],
                           kernel_ip[2],
                           kernel_ip[3]};
  std::memcpy(ip, iph, 20);
  uint8_t* tcp = ip + 20;
  // RFC 9293 §3.1: ports 40000 -> 9, sequence 1000, data offset 5, SYN, window 1024.
  const uint8_t tcph[20] = {0x9c, 0x40, 0x00, 0x09, 0,    0,    0x03, 0xe8, 0, 0,
                            0,    0,    0x50, 0x02, 0x04, 0x00, 0,    0,    0, 0};
  std::memcpy(tcp, tcph, 20);
  // RFC 9293 §3.1 pseudo-header: source, destination, zero, protocol, TCP length.
  uint32_t pseudo = uint32_t(our_ip[0] << 8 | our_ip[1]) + uint32_t(our_ip[2] << 8 | our_ip[3]) +
                    uint32_t(kernel_ip[0] << 8 | kernel_ip[1]) +
                    uint32_t(kernel_ip[2] << 8 | kernel_ip[3]) + 6 + 20;
  if (offload) {
    while (pseudo >> 16) pseudo = (pseudo & 0xffff) + (pseudo >> 16);
    tcp[16] = uint8_t(pseudo >> 8);
    tcp[17] = uint8_t(pseudo);
    return;
  }
  const uint16_t ipc = internet_checksum(ip, 20);
  ip[10] = uint8_t(ipc >> 8);
  ip[11] = uint8_t(ipc);
  uint16_t tc = internet_checksum(tcp, 20, pseudo);
  if (corrupt_tcp) tc = uint16_t(tc ^ 0x5555);
  tcp[16] = uint8_t(tc >> 8);
  tcp[17] = uint8_t(tc);
}

// An RST|ACK from the kernel to 192.0.2.2:40000, port 9 being closed (RFC 9293 §3.10.7.1).
bool is_rst_for_our_syn(std::span<const std::byte> f) {
  if (f.size() < 54) return false;
  const auto* b = reinterpret_cast<const uint8_t*>(f.data());
  return b[12] == 0x08 && b[13] == 0x00 && b[14 + 9] == 6 &&
         std::memcmp(b + 14 + 16, our_ip, 4) == 0 && b[34] == 0x00 && b[35] == 0x09 &&
         b[36] == 0x9c && b[37] == 0x40 && (b[47] & 0x04) != 0;
}

// On the TAP port in the namespace: the kernel side addressed and up, and the kernel's MAC learnt
// from an ARP exchange (which also puts ours in the kernel's neighbour table). Then
// body(port, link, kernel_mac).
template <class Body>
int on_tap_port(dp::port& p, const std::string& iface, Body body) {
  // The kernel's side of the TAP: an address and the link up (we are in the namespace).
  CHILD_CHECK(
      std::system(
          ("ip addr add 192.0.2.1/24 dev " + iface + " && ip link set " + iface + " up").c_str()) ==
      0);
  dp::port_link l(p, 0);
  const auto mac = l.mac();
  int replies = 0;
  int requests = 0;
  uint8_t kernel_mac[6] = {};
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
        if (!is_arp_reply_from_kernel(f, mac)) return;
        ++replies;
        std::memcpy(kernel_mac, f.data() + 22, 6);
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  std::fprintf(stderr, "[child] %d ARP requests, %d replies from the kernel\n", requests, replies);
  CHILD_CHECK(replies == requests);
  return body(p, l, kernel_mac);
}

// What each TAP test shares: a child in the namespace, an EAL with the TAP, the port open, then
// on_tap_port.
template <class Body>
int in_tap_namespace(const std::string& ns, const std::string& iface, Body body) {
  return dp::testing::with_tap_port(ns, iface,
                                    [&](dp::port& p) { return on_tap_port(p, iface, body); });
}

// Receives for `ms` milliseconds, or until `enough` frames matched, and counts frames matching
// `match`. A check that a frame arrives waits for it (enough = 1); only a check that none does
// needs the whole window.
template <class Match>
int count_for(dp::port_link& l, int ms, Match match, int enough = INT_MAX) {
  int n = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (n < enough && std::chrono::steady_clock::now() < until) {
    (void)l.rx([&](std::span<const std::byte> f) { n += match(f) ? 1 : 0; });
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return n;
}

#define SKIP_WITHOUT_NAMESPACES(ns)                                                         \
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED LOUDLY: needs root for a network namespace"; \
  if (access("/dev/net/tun", R_OK | W_OK) != 0) {                                           \
    GTEST_SKIP() << "SKIPPED LOUDLY: no /dev/net/tun";                                      \
  }                                                                                         \
  netns ns("smpp_dpdk_tap_");                                                               \
  if (!ns.ok()) {                                                                           \
    GTEST_SKIP() << "SKIPPED LOUDLY: 'ip netns add' refused (no iproute2 or no permission " \
                    "for network namespaces)";                                              \
  }

}  // namespace

TEST(Tap, KernelAnswersOurArpRequestInsideANamespace) {
  SKIP_WITHOUT_NAMESPACES(ns);
  const std::string iface = "smppdt" + std::to_string(getpid() % 100000);
  EXPECT_CHILD_OK(run_child(
      [&]() -> int {
        return in_tap_namespace(ns.name(), iface, [&](dp::port&, dp::port_link&, const uint8_t*) {
          // The kernel learned our address from the requests (RFC 826 merge step).
          CHILD_CHECK(
              std::system(("ip neigh show 192.0.2.2 dev " + iface + " | grep -q lladdr").c_str()) ==
              0);
          return 0;
        });
      },
      std::chrono::seconds(30)));
}

TEST(Tap, DeviceComputedChecksumsAreWhatTheKernelAccepts) {
  SKIP_WITHOUT_NAMESPACES(ns);
  const std::string iface = "smppdc" + std::to_string(getpid() % 100000);
  EXPECT_CHILD_OK(run_child(
      [&]() -> int {
        return in_tap_namespace(
            ns.name(), iface, [&](dp::port& p, dp::port_link& l, const uint8_t* kernel_mac) {
              if (!p.tx_checksum_offload()) {
                std::fprintf(stderr, "[child] SKIPPED LOUDLY: TAP without TX checksum offload\n");
                return dp::testing::child_skip;
              }
              // Control: a SYN with a wrong TCP checksum is dropped by the kernel, no answer.
              auto f = l.alloc_frame(54);
              CHILD_CHECK(!f.empty());
              write_syn(f, l.mac(), kernel_mac, false, true);
              l.send_frame(54);
              CHILD_CHECK(l.flush() == 1);
              CHILD_CHECK(count_for(l, 300, is_rst_for_our_syn) == 0);
              // A correct one (computed here) is answered with a reset: port 9 is closed.
              f = l.alloc_frame(54);
              write_syn(f, l.mac(), kernel_mac, false);
              l.send_frame(54);
              CHILD_CHECK(l.flush() == 1);
              CHILD_CHECK(count_for(l, 5000, is_rst_for_our_syn, 1) == 1);
              // Offloaded: zero IPv4 checksum, pseudo-header sum in TCP's; the device fills
              // both and the kernel answers.
              f = l.alloc_frame(54);
              write_syn(f, l.mac(), kernel_mac, true);
              l.send_frame_checksum_offload(54, 14, 20);
              CHILD_CHECK(l.flush() == 1);
              CHILD_CHECK(count_for(l, 5000, is_rst_for_our_syn, 1) == 1);
              return 0;
            });
      },
      std::chrono::seconds(30)));
}

TEST(Tap, FramesTheDeviceFlagsWithBadChecksumsNeverReachTheStack) {
  SKIP_WITHOUT_NAMESPACES(ns);
  const std::string iface = "smppdr" + std::to_string(getpid() % 100000);
  EXPECT_CHILD_OK(run_child(
      [&]() -> int {
        return in_tap_namespace(
            ns.name(), iface, [&](dp::port& p, dp::port_link& l, const uint8_t* kernel_mac) {
              if (!p.rx_checksum_offload()) {
                std::fprintf(stderr, "[child] SKIPPED LOUDLY: TAP without RX checksum offload\n");
                return dp::testing::child_skip;
              }
              // The kernel side writes raw frames towards us through a packet socket.
              const int s = socket(AF_PACKET, SOCK_RAW, 0);
              CHILD_CHECK(s >= 0);
              sockaddr_ll to{};
              to.sll_family = AF_PACKET;
              to.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
              to.sll_halen = 6;
              const auto ours = l.mac();
              std::memcpy(to.sll_addr, ours.data(), 6);
              CHILD_CHECK(to.sll_ifindex > 0);
              auto send_raw = [&](bool bad_ip, bool bad_tcp) {
                std::array<std::byte, 54> frame{};
                write_syn(frame, ours, kernel_mac, false, bad_tcp);
                auto* b = reinterpret_cast<uint8_t*>(frame.data());
                // Turn it around: from the kernel's address to ours, to our MAC.
                std::memcpy(b, ours.data(), 6);
                std::memcpy(b + 6, kernel_mac, 6);
                if (bad_ip) b[14 + 10] ^= 0xff;
                return sendto(s, frame.data(), frame.size(), 0,
                              reinterpret_cast<const sockaddr*>(&to), sizeof to) == 54;
              };
              const auto before = l.counters().rx_bad_checksum;
              CHILD_CHECK(send_raw(true, false));
              CHILD_CHECK(send_raw(false, true));
              CHILD_CHECK(send_raw(false, false));
              // Only the good one reaches the stack (ours: IPv4 with TCP to port 9); it was sent
              // last, so by the time it arrived the device had seen the other two.
              auto is_ours = [](std::span<const std::byte> f) {
                const auto* b = reinterpret_cast<const uint8_t*>(f.data());
                return f.size() >= 54 && b[12] == 0x08 && b[13] == 0x00 && b[14 + 9] == 6 &&
                       b[36] == 0x00 && b[37] == 0x09;
              };
              const int got = count_for(l, 5000, is_ours, 1);
              close(s);
              std::fprintf(stderr, "[child] good frames %d, flagged bad %lu\n", got,
                           (unsigned long)(l.counters().rx_bad_checksum - before));
              CHILD_CHECK(got == 1);
              CHILD_CHECK(l.counters().rx_bad_checksum - before == 2);
              return 0;
            });
      },
      std::chrono::seconds(30)));
}
