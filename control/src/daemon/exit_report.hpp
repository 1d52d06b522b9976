// What the router prints at exit: per worker its traffic, return path (receipts and MO, and
// what became of them), back-pressure, DPDK and TLS counters and each TDMA gate's slots and
// timing, then the totals.
#pragma once

#include <vector>

#include "smpp/dataplane/snapshot.hpp"
#include "workers.hpp"

namespace smpp::router_daemon {

void print_exit_report(const std::vector<worker_result>& results,
                       const dataplane::router_snapshot& snap);

}  // namespace smpp::router_daemon
