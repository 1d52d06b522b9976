// One DPDK Ethernet port, configured for the worker plan: one RX and one TX queue per worker,
// a packet mempool per NUMA socket in use, RSS on IPv4/TCP with our own Toeplitz key and
// redirection table when the device can (so rss_steering() computes the NIC's choice), IPv4/TCP
// checksum offload when the device has it, the MTU, promiscuous mode off, and a bounded wait for
// the link.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smpp/dataplane/dpdk/rss.hpp"
#include "smpp/net/link.hpp"

struct rte_mempool;

namespace smpp::dataplane::dpdk {

struct port_config {
  // A PCI address ("0000:03:00.0") or a virtual device's name ("net_tap0", "net_memif0").
  std::string device;
  // Queue i is served by the worker on EAL lcore worker_lcores[i]: its mempool comes from that
  // lcore's NUMA socket. Empty = one queue on the main lcore.
  std::vector<unsigned> worker_lcores;
  uint16_t rx_descriptors = 1024;  // per queue; adjusted to the device's limits
  uint16_t tx_descriptors = 1024;
  // Buffers per mempool (one pool per socket); 0 = enough for every descriptor of the queues on
  // that socket, every per-lcore cache, and 4 bursts per queue in flight in the stack.
  uint32_t mbufs_per_pool = 0;
  uint32_t mbuf_cache = 256;  // per-lcore mempool cache (at most 512)
  uint16_t mtu = 1500;        // IP MTU
  bool rss = true;            // use the device's RSS when it has IPv4/TCP hashing
  bool checksum_offload = true;
  uint32_t link_wait_ms = 5000;
  bool require_link_up = true;  // open() fails when the link is still down after link_wait_ms
};

class port {
 public:
  // Configures and starts the device. nullopt with `error` naming the device, the step and the
  // DPDK error on failure; the device is then left stopped (and can be opened again) and the
  // mempools are freed.
  [[nodiscard]] static std::optional<port> open(const port_config& c, std::string& error);

  port(port&& o) noexcept;
  port& operator=(port&&) = delete;
  port(const port&) = delete;
  port& operator=(const port&) = delete;
  ~port();  // stops and closes the device, then frees its mempools

  [[nodiscard]] uint16_t id() const noexcept { return id_; }
  [[nodiscard]] uint16_t queues() const noexcept { return queues_; }
  [[nodiscard]] net::mac_addr mac() const noexcept { return mac_; }
  [[nodiscard]] uint16_t mtu() const noexcept { return mtu_; }
  [[nodiscard]] rte_mempool* mempool_of(uint16_t queue) const noexcept {
    return pools_[pool_of_queue_[queue]];
  }
  // True when the device spreads flows over the queues itself; false when everything arrives
  // on queue 0 and workers steer in software (rss_steering().owner_queue_of_frame).
  [[nodiscard]] bool hardware_rss() const noexcept { return hardware_rss_; }
  // The key and redirection table in force (the device's when hardware_rss, else the same
  // symmetric key over a round-robin table for software steering).
  [[nodiscard]] const rss_steering& steering() const noexcept { return steering_; }
  [[nodiscard]] bool tx_checksum_offload() const noexcept { return tx_cksum_; }
  [[nodiscard]] bool rx_checksum_offload() const noexcept { return rx_cksum_; }
  // Polls the link state every 10 ms for at most timeout_ms.
  [[nodiscard]] bool wait_link_up(uint32_t timeout_ms) const noexcept;

 private:
  port(uint16_t id, rss_steering steering) : id_(id), steering_(std::move(steering)) {}

  uint16_t id_ = 0;
  uint16_t queues_ = 0;
  uint16_t mtu_ = 1500;
  net::mac_addr mac_{};
  std::vector<rte_mempool*> pools_;
  std::vector<uint16_t> pool_of_queue_;
  rss_steering steering_;
  bool hardware_rss_ = false;
  bool tx_cksum_ = false;
  bool rx_cksum_ = false;
  bool started_ = false;
  bool opened_ = false;  // open() completed: the destructor closes the device
  bool owner_ = true;
};

}  // namespace smpp::dataplane::dpdk
