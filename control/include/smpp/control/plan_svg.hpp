// Draws a machine's topology with a core plan on it as a standalone SVG document (pin-advisor
// --svg, and the admin server's /api/placement.svg for the console).
#pragma once

#include <string>

#include "smpp/dataplane/placement.hpp"

namespace smpp::control {

// Packages contain NUMA nodes, NUMA nodes contain cores, cores their hardware threads; a
// worker's hardware thread carries "worker N", the control thread's core "control", an SMT
// sibling left idle "idle (SMT)"; each NIC sits under the NUMA node it is attached to with the
// queue each worker polls. `title` goes on top (escaped).
[[nodiscard]] std::string plan_svg(const dataplane::placement& plan, const std::string& title);

}  // namespace smpp::control
