// [router] transport = "dpdk": the EAL and the ports, brought up once by main() before the
// workers start, and each worker's transport on them (one port: its dpdk_transport; several: a
// port_fanout over them).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "smpp/control/config.hpp"
#include "smpp/dataplane/dpdk/eal.hpp"
#include "smpp/dataplane/dpdk/port.hpp"
#include "smpp/dataplane/dpdk/steering.hpp"
#include "smpp/dataplane/placement.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::router_daemon {

// [router] transport = "dpdk": the EAL and the ports, set up once by main() before the workers
// start and closed after they stopped (declaration order: the ports go before the EAL).
struct dpdk_setup {
  std::optional<dataplane::dpdk::eal> eal;
  std::vector<dataplane::dpdk::port> ports;
  // Per port: software steering between the workers when the device has several queues but no
  // RSS (TAP, memif; dataplane/src/dpdk/README.md), else nullptr. Declared after the ports: it
  // goes before them, after the workers' transports.
  std::vector<std::unique_ptr<dataplane::dpdk::steering>> steerings;
};

// The EAL on the worker plan's CPUs, then every port with one queue pair per worker (logged);
// false with `error` when one cannot be brought up.
[[nodiscard]] bool start_dpdk(const control::router_config& cfg, const dataplane::placement& placed,
                              dpdk_setup& out, std::string& error);

// Worker `index`'s DPDK transport, built on the calling thread (its lcore and NUMA node);
// nullptr with `error` when one cannot be built.
[[nodiscard]] std::unique_ptr<dataplane::transport> make_dpdk_transport(
    const control::router_config& cfg, const dpdk_setup& dpdk, uint32_t index, std::string& error);

}  // namespace smpp::router_daemon
