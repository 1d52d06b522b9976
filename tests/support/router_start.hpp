// smpp-router started as a child process on a port from the kernel, for the tests that run the
// built binaries.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "child_process.hpp"

namespace smpp::testing {

// Up to `attempts` tries, each on a fresh port from unused_port() (another process may take it
// before the router listens): write_config(port, attempt) writes a config listening on
// 127.0.0.1:port and returns its path; the router is up once it says it listens there. Returns
// that port, or 0: no try succeeded, or the router failed for another reason than a taken port
// (reported with ADD_FAILURE and its stderr).
template <class WriteConfig>
uint16_t start_router_on_free_port(child_process& router, WriteConfig write_config,
                                   int attempts = 5) {
  using namespace std::chrono_literals;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    const uint16_t port = unused_port();
    if (port == 0) continue;
    const std::string path = write_config(port, attempt);
    if (!router.start("smpp-router", {"--config", path})) return 0;
    const std::string marker = "smpp-router: listening on 127.0.0.1:" + std::to_string(port);
    if (router.wait_for_output(
            [&](const std::string&, const std::string& err) {
              return err.find(marker) != std::string::npos;
            },
            20s)) {
      return port;
    }
    const exit_result r = router.wait(5s);
    if (r.err.find("cannot listen") == std::string::npos) {
      ADD_FAILURE() << "smpp-router did not come up (exit " << r.code << "):\n" << r.err;
      return 0;
    }
  }
  return 0;
}

}  // namespace smpp::testing
