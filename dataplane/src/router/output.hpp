// Everything the worker writes goes through here: relayed PDUs with their sequence number
// rewritten, header-only answers, and small PDUs the router encodes itself.
//
// Consecutive relays to one connection share one open reservation of its send queue (an output
// run), so a burst of PDUs costs one reserve/commit, not one per PDU. A run is closed (settled)
// before any other transport call on its connection (tx()), and settle_all() runs before
// poll()/flush() and at the end of every entry point of the worker, so no run stays open outside
// a call into the worker and the order on the wire is the order the router produced.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "smpp/codec/bytes.hpp"
#include "smpp/codec/codec.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::dataplane::router {

class output {
 public:
  explicit output(transport& t) noexcept : t_(t) {}
  output(const output&) = delete;
  output& operator=(const output&) = delete;

  // Writes frame to c with its sequence number replaced; false when c's send queue refused it.
  [[nodiscard]] bool relay(conn_id c, bytes_view frame, uint32_t seq) {
    out_run* r = find(c);
    const size_t n = frame.size();
    if (r == nullptr || static_cast<size_t>(r->end - r->at) < n) {
      r = open(c, r, n);
      if (r == nullptr) return false;
    }
    std::memcpy(r->at, frame.data(), n);
    codec::store_be32(r->at + 12, seq);  // the sequence number of the receiving side
    r->at += n;
    return true;
  }
  // A PDU of header only: a response with its status (SMPP 3.4 §3.2), enquire_link, unbind.
  bool header_only(conn_id c, codec::command_id id, codec::command_status status, uint32_t seq);
  // The answer to a request (its response command) with only a status.
  bool answer(conn_id c, codec::command_id request, codec::command_status status, uint32_t seq) {
    return header_only(c, codec::response_of(request), status, seq);
  }
  // Encodes and sends a small PDU (binds, their answers, deliver_sm_resp).
  bool pdu(conn_id c, const codec::pdu& p);

  // The transport, for any call on connection c other than relay(): c's run is closed first.
  transport& tx(conn_id c) noexcept {
    settle(c);
    return t_;
  }
  // The transport for calls on no connection in particular (listen, connect, poll, flush);
  // every run is closed first.
  transport& settled() noexcept {
    settle_all();
    return t_;
  }
  void settle(conn_id c) noexcept;
  void settle_all() noexcept;

 private:
  struct out_run {
    conn_id c = invalid_conn;
    std::byte* begin = nullptr;
    std::byte* at = nullptr;
    std::byte* end = nullptr;
  };
  // A few runs stay open at once: answers from one upstream bind interleave over sessions.
  static constexpr size_t kOpenRuns = 8;
  static constexpr size_t kRunBytes = 16 * 1024;  // asked for per run, taken when free

  out_run* find(conn_id c) noexcept {
    for (uint32_t i = 0; i < open_runs_; ++i) {
      if (runs_[i].c == c) return &runs_[i];
    }
    return nullptr;
  }
  // A new run for c of at least n octets (r: c's full run, closed first); nullptr when the
  // queue refused it.
  out_run* open(conn_id c, out_run* r, size_t n);

  transport& t_;
  std::array<out_run, kOpenRuns> runs_{};
  uint32_t open_runs_ = 0;   // runs_[0, open_runs_) are open
  uint32_t next_evict_ = 0;  // with every run open, the one closed for a new connection
};

}  // namespace smpp::dataplane::router
