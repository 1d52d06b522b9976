// The TCP segment input path as a fuzz entry: tcp_fuzz_one() takes arbitrary bytes and plays
// them as a script against a server stack that holds one established connection and a
// listener. libFuzzer drives it through tcp_fuzz.cpp (LLVMFuzzerTestOneInput); the tests
// replay seeded inputs through the same function.
//
// Script: records of [op][len_hi][len_lo][len octets]:
//   op % 6 == 0: the octets as a raw TCP segment from the client's address
//   op % 6 == 1: the same with the checksum fixed up (gets past validation)
//   op % 6 == 2: the octets as the payload of a segment with the connection's own sequence
//                numbers and flags = first octet (reaches the state machine)
//   op % 6 == 3: advance the clock by len milliseconds (timers run)
//   op % 6 == 4: the server sends len octets
//   op % 6 == 5: toggle pause_receive
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "test_wire.hpp"

namespace smpp::test {

inline void tcp_fuzz_one(const uint8_t* data, size_t size) {
  namespace net = smpp::net;
  net::tcp_config cfg;
  cfg.max_connections = 8;
  cfg.send_buffer_bytes = 8192;
  cfg.receive_buffer_bytes = 8192;
  cfg.reassembly_segments = 4;
  cfg.random_seed = 5;
  cfg.max_retransmits = 4;
  cfg.msl_us = 1'000'000;
  cfg.fin_wait_2_timeout_us = 5'000'000;
  tcp_pair p(cfg, cfg, 5);
  auto [c, s] = p.establish();
  if (s == net::invalid_tcp_conn) __builtin_trap();  // the fixture itself must work
  (void)p.b->listen(0, 2776, 2);
  net::tcp_conn_info ci;
  (void)p.a->info(c, ci);
  p.wire.drop = [](const wire_segment& w) { return w.from == 1; };  // the client stays quiet
  bool paused = false;
  std::vector<std::byte> out(4096, std::byte{0x5a});
  size_t i = 0;
  while (i + 3 <= size) {
    const uint8_t op = data[i];
    const size_t len = std::min<size_t>((size_t{data[i + 1]} << 8) | data[i + 2], size - i - 3);
    const std::span<const uint8_t> body(data + i + 3, len);
    i += 3 + len;
    std::vector<std::byte> seg(reinterpret_cast<const std::byte*>(body.data()),
                               reinterpret_cast<const std::byte*>(body.data()) + body.size());
    switch (op % 6) {
      case 0:
        p.wire.inject(1, tcp_pair::a_addr, tcp_pair::b_addr, seg);
        break;
      case 1:
        if (seg.size() >= 20) {
          seg[16] = seg[17] = std::byte{0};
          const uint32_t sum =
              net::pseudo_header_sum(tcp_pair::a_addr, tcp_pair::b_addr, net::ip_proto_tcp,
                                     static_cast<uint16_t>(seg.size()));
          const uint16_t ck = net::checksum_finish(net::checksum_add(seg, sum));
          seg[16] = std::byte(ck >> 8);
          seg[17] = std::byte(ck);
        }
        p.wire.inject(1, tcp_pair::a_addr, tcp_pair::b_addr, seg);
        break;
      case 2: {
        net::tcp_conn_info si;
        segment_spec sp;
        sp.src = tcp_pair::a_addr;
        sp.dst = tcp_pair::b_addr;
        sp.sport = ci.local_port;
        sp.dport = ci.remote_port;
        if (p.b->info(s, si)) {
          sp.seq = si.rcv_nxt;
          sp.ack = si.snd_nxt;
          sp.ts = si.timestamps;
          sp.tsval = si.ts_recent + 1;
        }
        sp.flags = body.empty() ? uint8_t{0x10} : body[0];
        if (body.size() > 1) sp.seq += static_cast<uint32_t>(body[1]) * 256u - 32768u;
        sp.payload.assign(seg.begin() + std::min<size_t>(seg.size(), 2), seg.end());
        p.wire.inject(1, sp.src, sp.dst, build_segment(sp));
        break;
      }
      case 3:
        p.wire.run(len * 1000);
        break;
      case 4:
        (void)p.b->send(s, std::span<const std::byte>(out.data(), std::min(len, out.size())));
        p.b->flush();
        break;
      default:
        paused = !paused;
        p.b->pause_receive(s, paused);
        break;
    }
  }
  // Whatever happened, the stack stayed within its bounds and winds down: every connection
  // left (embryonic, closing, TIME-WAIT) goes within its timeouts once the user lets go.
  if (p.b->connections() > cfg.max_connections) __builtin_trap();
  // The user lets go of every connection it was handed: the fixture's, and any the script
  // completed a handshake for on the second listener (aborting a closed one is refused).
  for (const net::tcp_conn a : p.b_events.accepted) p.b->abort(a);
  p.wire.drop = [](const wire_segment&) { return true; };
  p.wire.run(
      600'000'000, [&] { return p.b->connections() == 0; }, {}, 100'000);
  if (p.b->connections() != 0) __builtin_trap();
}

}  // namespace smpp::test
