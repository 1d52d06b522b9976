// A session's open reservation in its transport's send queue: PDUs are written into it one after
// another and committed together, one reserve/commit per chunk instead of one per PDU. Shared by
// esme-load and smsc-sim.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>

#include "smpp/dataplane/transport.hpp"

namespace smpp::tools {

class out_chunk {
 public:
  // Octets asked for per chunk (less when only less is free).
  static constexpr size_t chunk_octets = 16 * 1024;

  // At least n writable octets after what was written so far; a new chunk (the open one
  // committed first) when the open one has less. Empty when the send queue refused.
  [[nodiscard]] std::span<std::byte> take(dataplane::transport& t, dataplane::conn_id c, size_t n) {
    if (open_ && out_.size() - used_ >= n) return out_.subspan(used_);
    (void)finish(t, c);
    std::span<std::byte> space = t.reserve(c, std::max(n, chunk_octets));
    if (space.empty() && n < chunk_octets) space = t.reserve(c, n);
    if (space.empty()) return {};
    out_ = space;
    used_ = 0;
    open_ = true;
    return space;
  }
  // The first `used` octets of what take() gave were written.
  void advance(size_t used) noexcept { used_ += used; }
  // Commits what was written; returns how many octets that was.
  size_t finish(dataplane::transport& t, dataplane::conn_id c) {
    if (!open_) return 0;
    t.commit(c, used_);
    const size_t n = used_;
    drop();
    return n;
  }
  // The connection is gone: the reservation went with it.
  void drop() noexcept {
    open_ = false;
    out_ = {};
    used_ = 0;
  }

 private:
  std::span<std::byte> out_;
  size_t used_ = 0;
  bool open_ = false;
};

}  // namespace smpp::tools
