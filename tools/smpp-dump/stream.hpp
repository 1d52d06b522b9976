// Byte streams to PDUs: stream_decoder frames one direction of an SMPP connection (or a raw
// file) and recovers from framing errors and holes; tcp_direction puts one direction of a
// captured TCP connection back in sequence order before handing it on.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "render.hpp"
#include "smpp/codec/framer.hpp"

namespace smpp::dump {

class stream_decoder {
 public:
  explicit stream_decoder(emitter& out) noexcept : out_(&out) {}

  // Octets in stream order.
  void feed(codec::bytes_view data, const origin& where);
  // The stream may not start at a PDU boundary (a capture that begins mid-connection): look for
  // the first plausible header instead of trusting the first four octets.
  void resynchronise() noexcept { resync_ = true; }
  // missing_octets of the stream were lost; drop any partial PDU and resynchronise.
  void gap(uint64_t missing_octets, const origin& where);
  // End of the stream: reports a PDU left incomplete.
  void finish(const origin& where);
  // A new connection on the same addresses starts a new stream.
  void reset();

 private:
  void report_skipped(const origin& where);

  emitter* out_;
  codec::stream_framer framer_;
  bool resync_ = false;
  std::vector<std::byte> hold_;  // resynchronising: octets not yet known to start a PDU
  uint64_t skipped_ = 0;         // octets discarded while resynchronising, not yet reported
};

// One direction of one TCP connection (RFC 9293 §3.4 sequence numbers): segments are put in
// sequence order, retransmitted and overlapping octets are dropped (first copy wins), and what
// a segment that never arrives leaves out becomes a reported gap.
class tcp_direction {
 public:
  explicit tcp_direction(emitter& out) : decoder_(out) {}

  // payload is what the capture holds; wire_length what the segment carried (more when the
  // capture snapped the packet short).
  void segment(uint32_t seq, bool syn, codec::bytes_view payload, uint32_t wire_length,
               const origin& where);
  // End of capture: whatever is still out of order is delivered across its gaps.
  void finish(const origin& where);

 private:
  // Out-of-order octets held back, bounded: past it the hole is taken as capture loss.
  static constexpr size_t max_pending_octets = 4u << 20;

  void deliver(uint64_t offset, codec::bytes_view data, const origin& where);
  void drain(const origin& where);
  void skip_to_first_pending(const origin& where);

  stream_decoder decoder_;
  bool started_ = false;
  uint32_t base_seq_ = 0;                               // sequence number of stream offset 0
  uint64_t next_ = 0;                                   // stream offset of the next octet expected
  std::map<uint64_t, std::vector<std::byte>> pending_;  // by stream offset
  size_t pending_octets_ = 0;
};

}  // namespace smpp::dump
