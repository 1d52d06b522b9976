// smpp-router started as a child process on ports from the kernel, for the tests that run the
// built binaries.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "child_process.hpp"

namespace smpp::testing {

// The router's SMPP listener and, when asked for, its admin API (0: none).
struct router_ports {
  uint16_t smpp = 0;
  uint16_t admin = 0;
};

// Up to `attempts` tries, each on fresh ports from unused_port() (another process may take one
// before the router listens): write_config(ports, attempt) writes a config listening on
// 127.0.0.1:ports.smpp (and, with `admin`, serving the admin API on 127.0.0.1:ports.admin) and
// returns its path; the router is up once it says it listens there (and serves the API there:
// a router that found its admin port taken runs without it, and is tried again). Returns those
// ports, or {}: no try succeeded, or the router failed for another reason than a taken port
// (reported with ADD_FAILURE and its stderr).
template <class WriteConfig>
router_ports start_router_on_free_ports(child_process& router, bool admin, WriteConfig write_config,
                                        int attempts = 5) {
  using namespace std::chrono_literals;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    const router_ports ports{unused_port(), admin ? unused_port() : uint16_t{0}};
    if (ports.smpp == 0 || (admin && (ports.admin == 0 || ports.admin == ports.smpp))) continue;
    const std::string path = write_config(ports, attempt);
    if (!router.start("smpp-router", {"--config", path})) return {};
    const std::string marker = "smpp-router: listening on 127.0.0.1:" + std::to_string(ports.smpp);
    if (router.wait_for_output(
            [&](const std::string&, const std::string& err) {
              return err.find(marker) != std::string::npos;
            },
            20s)) {
      // The admin API starts before the listeners: its line is there by now, or its warning.
      const std::string api = "/metrics on http://127.0.0.1:" + std::to_string(ports.admin);
      if (!admin || router.err().find(api) != std::string::npos) return ports;
      router.signal(SIGTERM);
      (void)router.wait(10s);
      continue;
    }
    const exit_result r = router.wait(5s);
    if (r.err.find("cannot listen") == std::string::npos) {
      ADD_FAILURE() << "smpp-router did not come up (exit " << r.code << "):\n" << r.err;
      return {};
    }
  }
  return {};
}

// The same without the admin API: write_config(port, attempt); returns the port, or 0.
template <class WriteConfig>
uint16_t start_router_on_free_port(child_process& router, WriteConfig write_config,
                                   int attempts = 5) {
  return start_router_on_free_ports(
             router, false,
             [&](const router_ports& ports, int attempt) {
               return write_config(ports.smpp, attempt);
             },
             attempts)
      .smpp;
}

}  // namespace smpp::testing
