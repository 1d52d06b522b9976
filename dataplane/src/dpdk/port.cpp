#include "smpp/dataplane/dpdk/port.hpp"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <utility>

#include "smpp/dataplane/dpdk/eal.hpp"

namespace smpp::dataplane::dpdk {

namespace {

constexpr uint16_t burst = 32;
// Ethernet header plus one 802.1Q tag: the frame a given IP MTU needs.
constexpr uint32_t l2_overhead = 14 + 4;

std::string dpdk_error(const std::string& device, const char* step, int rc) {
  return "port " + device + ": " + step + ": " + rte_strerror(rc < 0 ? -rc : rc);
}

}  // namespace

std::optional<port> port::open(const port_config& c, std::string& error) {
  uint16_t id = 0;
  if (rte_eth_dev_get_port_by_name(c.device.c_str(), &id) != 0) {
    error = "port " + c.device + ": no such device (not probed: check the PCI allow-list/vdevs)";
    return std::nullopt;
  }
  const std::vector<unsigned> lcores =
      c.worker_lcores.empty() ? std::vector<unsigned>{rte_get_main_lcore()} : c.worker_lcores;
  if (lcores.size() > RTE_MAX_QUEUES_PER_PORT) {
    error = "port " + c.device + ": too many workers for one port";
    return std::nullopt;
  }
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(id, &info); rc != 0) {
    error = dpdk_error(c.device, "dev_info_get", rc);
    return std::nullopt;
  }
  const auto nq = static_cast<uint16_t>(lcores.size());
  if (nq > info.max_rx_queues || nq > info.max_tx_queues) {
    error = "port " + c.device + ": " + std::to_string(nq) + " workers but the device has " +
            std::to_string(info.max_rx_queues) + " RX / " + std::to_string(info.max_tx_queues) +
            " TX queues";
    return std::nullopt;
  }
  if (c.mtu < 576 || c.mtu > info.max_mtu) {  // RFC 791 §3.1: every host takes 576 octets
    error = "port " + c.device + ": mtu " + std::to_string(c.mtu) + " outside 576.." +
            std::to_string(info.max_mtu);
    return std::nullopt;
  }

  // Our key, repeated to the device's key length (the 0x6d5a pattern stays symmetric).
  const auto sym = symmetric_rss_key();
  std::vector<uint8_t> key(info.hash_key_size != 0 ? info.hash_key_size : rss_key_size);
  for (size_t i = 0; i < key.size(); ++i) key[i] = sym[i % sym.size()];

  // IPv4/TCP only: everything else (ARP, ICMP, fragments) hashes to nothing and lands on
  // queue 0 (RETA entry 0), as it does on a device without RSS, so one rule holds for both.
  const uint64_t rss_hf_wanted = RTE_ETH_RSS_NONFRAG_IPV4_TCP;
  const bool use_rss = c.rss && nq > 1 &&
                       (info.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP) != 0 &&
                       info.reta_size != 0 && (info.reta_size & (info.reta_size - 1)) == 0;
  rte_eth_conf conf{};
  conf.rxmode.mtu = c.mtu;
  if (use_rss) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key.data();
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key.size());
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf_wanted & info.flow_type_rss_offloads;
  }
  const uint64_t cksum_tx = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  const uint64_t cksum_rx = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
  const bool tx_cksum = c.checksum_offload && (info.tx_offload_capa & cksum_tx) == cksum_tx;
  const bool rx_cksum = c.checksum_offload && (info.rx_offload_capa & cksum_rx) == cksum_rx;
  if (tx_cksum) conf.txmode.offloads |= cksum_tx;
  if (rx_cksum) conf.rxmode.offloads |= cksum_rx;

  // From here on the port object owns the device: its destructor undoes what was done.
  port p(id, rss_steering(key, nq));
  p.queues_ = nq;
  p.mtu_ = c.mtu;
  p.tx_cksum_ = tx_cksum;
  p.rx_cksum_ = rx_cksum;
  if (int rc = rte_eth_dev_configure(id, nq, nq, &conf); rc != 0) {
    error = dpdk_error(c.device, "configure", rc);
    return std::nullopt;
  }
  uint16_t nb_rx = c.rx_descriptors;
  uint16_t nb_tx = c.tx_descriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &nb_rx, &nb_tx); rc != 0) {
    error = dpdk_error(c.device, "adjust descriptors", rc);
    return std::nullopt;
  }

  // One mempool per socket that serves a queue, sized for everything that can hold a buffer.
  std::vector<unsigned> sockets;
  for (unsigned l : lcores) {
    const unsigned s = eal::socket_of(l);
    auto it = std::find(sockets.begin(), sockets.end(), s);
    if (it == sockets.end()) {
      sockets.push_back(s);
      it = sockets.end() - 1;
    }
    p.pool_of_queue_.push_back(static_cast<uint16_t>(it - sockets.begin()));
  }
  const uint32_t data_room =
      RTE_PKTMBUF_HEADROOM + std::max<uint32_t>(RTE_MBUF_DEFAULT_DATAROOM, c.mtu + l2_overhead);
  for (size_t s = 0; s < sockets.size(); ++s) {
    const auto queues_here =
        static_cast<uint32_t>(std::count(p.pool_of_queue_.begin(), p.pool_of_queue_.end(), s));
    const uint32_t needed = queues_here * (nb_rx + nb_tx + 4u * burst + c.mbuf_cache) + burst;
    const uint32_t n = c.mbufs_per_pool != 0 ? c.mbufs_per_pool : needed;
    if (n < needed) {
      error = "port " + c.device + ": mbufs_per_pool " + std::to_string(n) + " < " +
              std::to_string(needed) + " (descriptors, caches and bursts of " +
              std::to_string(queues_here) + " queues)";
      return std::nullopt;
    }
    const std::string name = "smpp_p" + std::to_string(id) + "_s" + std::to_string(sockets[s]);
    rte_mempool* mp =
        rte_pktmbuf_pool_create(name.c_str(), n, c.mbuf_cache, 0, static_cast<uint16_t>(data_room),
                                static_cast<int>(sockets[s]));
    if (mp == nullptr) {
      error = dpdk_error(c.device, "mempool create", rte_errno);
      return std::nullopt;
    }
    p.pools_.push_back(mp);
  }

  for (uint16_t q = 0; q < nq; ++q) {
    const auto socket = static_cast<unsigned>(sockets[p.pool_of_queue_[q]]);
    rte_eth_rxconf rxc = info.default_rxconf;
    rxc.offloads = conf.rxmode.offloads;
    if (int rc = rte_eth_rx_queue_setup(id, q, nb_rx, socket, &rxc, p.mempool_of(q)); rc != 0) {
      error = dpdk_error(c.device, ("rx queue " + std::to_string(q)).c_str(), rc);
      return std::nullopt;
    }
    rte_eth_txconf txc = info.default_txconf;
    txc.offloads = conf.txmode.offloads;
    if (int rc = rte_eth_tx_queue_setup(id, q, nb_tx, socket, &txc); rc != 0) {
      error = dpdk_error(c.device, ("tx queue " + std::to_string(q)).c_str(), rc);
      return std::nullopt;
    }
  }
  if (int rc = rte_eth_dev_start(id); rc != 0) {
    error = dpdk_error(c.device, "start", rc);
    return std::nullopt;
  }
  p.started_ = true;

  if (use_rss) {
    // Our round-robin redirection table, so queue_of() is what the device does.
    std::vector<rte_eth_rss_reta_entry64> reta(info.reta_size / RTE_ETH_RETA_GROUP_SIZE + 1);
    for (size_t i = 0; i < info.reta_size; ++i) {
      auto& group = reta[i / RTE_ETH_RETA_GROUP_SIZE];
      group.mask |= uint64_t{1} << (i % RTE_ETH_RETA_GROUP_SIZE);
      group.reta[i % RTE_ETH_RETA_GROUP_SIZE] = static_cast<uint16_t>(i % nq);
    }
    if (int rc = rte_eth_dev_rss_reta_update(id, reta.data(), info.reta_size); rc != 0) {
      error = dpdk_error(c.device, "RSS redirection table update", rc);
      return std::nullopt;
    }
    // Some devices ignore the key given at configure time: set it again and read it back, so a
    // device that hashes with another key is an error, not silently wrong steering.
    rte_eth_rss_conf rss{};
    rss.rss_key = key.data();
    rss.rss_key_len = static_cast<uint8_t>(key.size());
    rss.rss_hf = conf.rx_adv_conf.rss_conf.rss_hf;
    if (int rc = rte_eth_dev_rss_hash_update(id, &rss); rc != 0 && rc != -ENOTSUP) {
      error = dpdk_error(c.device, "RSS key update", rc);
      return std::nullopt;
    }
    std::vector<uint8_t> back(std::max<size_t>(key.size(), 64));
    rss.rss_key = back.data();
    rss.rss_key_len = static_cast<uint8_t>(back.size());
    if (rte_eth_dev_rss_hash_conf_get(id, &rss) == 0 &&
        !std::equal(key.begin(), key.end(), back.begin())) {
      error = "port " + c.device + ": the device does not keep our RSS key";
      return std::nullopt;
    }
    p.steering_ = rss_steering(key, nq, info.reta_size);
    p.hardware_rss_ = true;
  }
  // Promiscuous mode off: frames for other MACs are not ours. Some virtual devices cannot
  // change it (ENOTSUP), which leaves them as they are.
  if (int rc = rte_eth_promiscuous_disable(id); rc != 0 && rc != -ENOTSUP) {
    error = dpdk_error(c.device, "promiscuous off", rc);
    return std::nullopt;
  }
  rte_ether_addr mac{};
  if (int rc = rte_eth_macaddr_get(id, &mac); rc != 0) {
    error = dpdk_error(c.device, "mac address", rc);
    return std::nullopt;
  }
  std::memcpy(p.mac_.data(), mac.addr_bytes, p.mac_.size());
  if (!p.wait_link_up(c.link_wait_ms) && c.require_link_up) {
    error =
        "port " + c.device + ": link still down after " + std::to_string(c.link_wait_ms) + " ms";
    return std::nullopt;
  }
  return p;
}

port::port(port&& o) noexcept
    : id_(o.id_),
      queues_(o.queues_),
      mtu_(o.mtu_),
      mac_(o.mac_),
      pools_(std::move(o.pools_)),
      pool_of_queue_(std::move(o.pool_of_queue_)),
      steering_(std::move(o.steering_)),
      hardware_rss_(o.hardware_rss_),
      tx_cksum_(o.tx_cksum_),
      rx_cksum_(o.rx_cksum_),
      started_(o.started_),
      opened_(o.opened_),
      owner_(std::exchange(o.owner_, false)) {}

port::~port() {
  if (!owner_) return;
  if (started_) (void)rte_eth_dev_stop(id_);
  // A failed open() leaves the device stopped but probed, so it can be opened again (closing
  // a virtual device removes it).
  if (opened_) (void)rte_eth_dev_close(id_);
  for (rte_mempool* mp : pools_) rte_mempool_free(mp);
}

bool port::wait_link_up(uint32_t timeout_ms) const noexcept {
  for (uint32_t waited = 0;; waited += 10) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(id_, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) {
      return true;
    }
    if (waited >= timeout_ms) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace smpp::dataplane::dpdk
