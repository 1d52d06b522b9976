// Two DPDK ring ports wired back to back in one EAL process (A's TX ring is B's RX ring and the
// other way round), for tests that run two dpdk_transport instances against each other.
#pragma once

#include <dlfcn.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "smpp/dataplane/dpdk/port.hpp"

namespace smpp::dataplane::dpdk::testing {

using from_rings_fn = int (*)(const char*, rte_ring* const[], unsigned, rte_ring* const[], unsigned,
                              unsigned);

// Two ring ports back to back. rte_eth_from_rings lives in the ring driver, which the EAL loaded
// as a plugin: it is looked up there rather than linked.
struct ring_pair {
  rte_ring* ab = nullptr;
  rte_ring* ba = nullptr;
  std::optional<port> a, b;

  bool open(std::string& error) {
    void* lib = dlopen("librte_net_ring.so.23", RTLD_NOW | RTLD_NOLOAD);
    if (lib == nullptr) lib = dlopen("librte_net_ring.so", RTLD_NOW);
    auto from_rings = lib == nullptr
                          ? nullptr
                          : reinterpret_cast<from_rings_fn>(dlsym(lib, "rte_eth_from_rings"));
    if (from_rings == nullptr) {
      error = "no rte_eth_from_rings in the ring driver";
      return false;
    }
    ab = rte_ring_create("dtr_ab", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    ba = rte_ring_create("dtr_ba", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ab == nullptr || ba == nullptr) {
      error = "rte_ring_create failed";
      return false;
    }
    rte_ring* a_rx[] = {ba};
    rte_ring* a_tx[] = {ab};
    const int id_a = from_rings("net_ring_dtra", a_rx, 1, a_tx, 1, 0);
    const int id_b = from_rings("net_ring_dtrb", a_tx, 1, a_rx, 1, 0);
    char name_a[RTE_ETH_NAME_MAX_LEN] = {};
    char name_b[RTE_ETH_NAME_MAX_LEN] = {};
    if (id_a < 0 || id_b < 0 ||
        rte_eth_dev_get_name_by_port(static_cast<uint16_t>(id_a), name_a) != 0 ||
        rte_eth_dev_get_name_by_port(static_cast<uint16_t>(id_b), name_b) != 0) {
      error = "rte_eth_from_rings failed";
      return false;
    }
    rte_ether_addr mac_a{{0x02, 0, 0, 0, 0, 0x0a}};
    rte_ether_addr mac_b{{0x02, 0, 0, 0, 0, 0x0b}};
    // Ring ports start with an all-zero MAC (which ARP rightly refuses) and have no way to set
    // the default one; adding an address fills the first empty slot, which is the default.
    if (rte_eth_dev_mac_addr_add(static_cast<uint16_t>(id_a), &mac_a, 0) != 0 ||
        rte_eth_dev_mac_addr_add(static_cast<uint16_t>(id_b), &mac_b, 0) != 0) {
      error = "rte_eth_dev_mac_addr_add failed";
      return false;
    }
    port_config pc;
    pc.device = name_a;
    pc.link_wait_ms = 1000;
    if (auto p = port::open(pc, error)) a.emplace(std::move(*p));
    if (!a) return false;
    pc.device = name_b;
    if (auto p = port::open(pc, error)) b.emplace(std::move(*p));
    return b.has_value();
  }
  ~ring_pair() {
    a.reset();
    b.reset();
    rte_ring_free(ab);
    rte_ring_free(ba);
  }
};

}  // namespace smpp::dataplane::dpdk::testing
