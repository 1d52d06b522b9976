// In a forked child (dpdk_child.hpp): enter a test's network namespace, start the EAL with a TAP
// device and open it as a port, then run the test's body on that port.
#pragma once

#include <cstdio>
#include <string>

#include "dpdk_child.hpp"
#include "netns.hpp"
#include "smpp/dataplane/dpdk/eal.hpp"
#include "smpp/dataplane/dpdk/port.hpp"

namespace smpp::dataplane::dpdk::testing {

// Returns body(port)'s result, or the failing check's 1 (printed) when a step before it fails.
// The EAL and the port live until body returns.
template <class Body>
int with_tap_port(const std::string& ns, const std::string& iface, Body body) {
  CHILD_CHECK(smpp::testing::enter_netns(ns));
  std::string error;
  auto e = eal::init(test_eal_config({"net_tap0,iface=" + iface}), error);
  if (!e) std::fprintf(stderr, "[child] %s\n", error.c_str());
  CHILD_CHECK(e.has_value());
  port_config pc;
  pc.device = "net_tap0";
  pc.link_wait_ms = 2000;
  auto p = port::open(pc, error);
  if (!p) std::fprintf(stderr, "[child] %s\n", error.c_str());
  CHILD_CHECK(p.has_value());
  return body(*p);
}

}  // namespace smpp::dataplane::dpdk::testing
