// Whether this run checks rate and latency bounds (a throughput floor, a wake-up within so many
// milliseconds). They hold for an optimised build with the machine to itself; under a sanitizer
// the same code runs several times slower, so tools/test.sh sets SMPP_NO_RATE_BOUNDS=1 for the
// sanitizer passes. A case that also proves something else keeps those checks and leaves out
// only the bound, with a plain `if`: it must still pass or fail, never count as skipped.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace smpp::testing {

inline bool rate_bounds_checked() {
  static const bool checked = [] {
    const char* v = std::getenv("SMPP_NO_RATE_BOUNDS");
    const bool off = v != nullptr && *v != '\0' && std::string_view(v) != "0";
    if (off) std::printf("note: SMPP_NO_RATE_BOUNDS is set: rate and latency bounds not checked\n");
    return !off;
  }();
  return checked;
}

}  // namespace smpp::testing
