// The TCP engine: connection table, open/close API, segment input (RFC 9293 §3.10.7), output
// and timers. One instance per worker; all memory is taken at construction.
#include <cerrno>
#include <random>

#include "tcp_internal.hpp"

namespace smpp::dataplane::net {

using namespace tcp_detail;

const char* to_string(tcp_state s) noexcept {
  switch (s) {
    case tcp_state::closed:
      return "CLOSED";
    case tcp_state::listen:
      return "LISTEN";
    case tcp_state::syn_sent:
      return "SYN-SENT";
    case tcp_state::syn_received:
      return "SYN-RECEIVED";
    case tcp_state::established:
      return "ESTABLISHED";
    case tcp_state::fin_wait_1:
      return "FIN-WAIT-1";
    case tcp_state::fin_wait_2:
      return "FIN-WAIT-2";
    case tcp_state::close_wait:
      return "CLOSE-WAIT";
    case tcp_state::closing:
      return "CLOSING";
    case tcp_state::last_ack:
      return "LAST-ACK";
    case tcp_state::time_wait:
      return "TIME-WAIT";
  }
  return "?";
}

namespace {

// A 64-bit finalizer (splitmix64): the table hash and the per-instance random stream.
[[nodiscard]] uint64_t mix64(uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

[[nodiscard]] uint64_t rotl(uint64_t x, int b) noexcept {
  return (x << b) | (x >> (64 - b));
}

// SipHash-2-4 of two 64-bit words under a 128-bit key: the RFC 6528 F() of the ISN.
[[nodiscard]] uint64_t siphash_2x64(uint64_t k0, uint64_t k1, uint64_t m0, uint64_t m1) noexcept {
  uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
  uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
  auto round = [&] {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  };
  for (uint64_t m : {m0, m1, uint64_t{16} << 56}) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

[[nodiscard]] uint32_t conn_index(tcp_conn c) noexcept {
  return static_cast<uint32_t>(c);
}
[[nodiscard]] uint32_t conn_gen(tcp_conn c) noexcept {
  return static_cast<uint32_t>(c >> 32);
}

}  // namespace

struct tcp_stack::impl {
  ip_output& out;
  tcp_handler& handler;
  tcp_config cfg;
  tcp_counters ctr;

  std::vector<tcb> conns;
  std::vector<uint32_t> free_slots;  // a stack of free indices
  std::unique_ptr<std::byte[]> send_mem, recv_mem;
  // Open-addressing table of four-tuples -> connection index (linear probing, backward-shift
  // deletion, at most half full).
  std::vector<uint32_t> table;
  uint32_t table_mask = 0;
  std::vector<listener_entry> listeners;
  std::vector<uint32_t> pending;  // connections with output or an ACK to write at flush()
  timer_wheel wheel;
  uint64_t now_us = 0;
  uint64_t key0 = 0, key1 = 0;  // RFC 6528 secret key
  uint64_t rng = 0;
  uint32_t port_cursor = 0;
  uint64_t challenge_second = 0;
  uint32_t challenge_count = 0;
  uint32_t in_use = 0;
  uint32_t rcv_wscale = 0;
  rto_config rto_cfg;

  static constexpr uint32_t empty = 0xffffffffu;

  impl(ip_output& o, tcp_handler& h, tcp_config c)
      : out(o),
        handler(h),
        cfg(std::move(c)),
        wheel(std::max<uint32_t>(cfg.max_connections, 1) * timer_kinds, 1000, 256, cfg.start_us),
        now_us(cfg.start_us) {
    cfg.max_connections = std::max<uint32_t>(cfg.max_connections, 1);
    cfg.send_buffer_bytes = std::max<uint32_t>(cfg.send_buffer_bytes, 1);
    // RFC 7323 §2.3: the window is at most 2^30; one byte of buffer at the least.
    cfg.receive_buffer_bytes = std::clamp<uint32_t>(cfg.receive_buffer_bytes, 1, 1u << 30);
    cfg.mss = std::max<uint16_t>(cfg.mss, min_peer_mss);
    rto_cfg.min_rto_us = cfg.min_rto_us;
    rto_cfg.max_rto_us = cfg.max_rto_us;
    rto_cfg.initial_rto_us = cfg.initial_rto_us;
    if (cfg.ephemeral_port_min == 0) cfg.ephemeral_port_min = 1;
    if (cfg.ephemeral_port_max < cfg.ephemeral_port_min) {
      cfg.ephemeral_port_max = cfg.ephemeral_port_min;
    }
    uint64_t seed = cfg.random_seed;
    if (seed == 0) {
      std::random_device rd;
      seed = (uint64_t{rd()} << 32) ^ rd();
    }
    rng = seed;
    key0 = next_random();
    key1 = next_random();
    port_cursor = static_cast<uint32_t>(next_random());
    // RFC 7323 §2.3: the smallest shift that lets the 16-bit field carry the whole buffer.
    if (cfg.window_scaling) {
      while (rcv_wscale < max_wscale && (cfg.receive_buffer_bytes >> rcv_wscale) > 0xffff) {
        ++rcv_wscale;
      }
    }
    const size_t n = cfg.max_connections;
    conns.resize(n);
    free_slots.reserve(n);
    for (size_t i = n; i-- > 0;) free_slots.push_back(static_cast<uint32_t>(i));
    // Not value-initialised: pages are touched only by connections that use them.
    send_mem.reset(new std::byte[n * cfg.send_buffer_bytes]);
    recv_mem.reset(new std::byte[n * cfg.receive_buffer_bytes]);
    for (size_t i = 0; i < n; ++i) {
      conns[i].sbuf = send_mem.get() + i * cfg.send_buffer_bytes;
      conns[i].rbuf = recv_mem.get() + i * cfg.receive_buffer_bytes;
      conns[i].reasm =
          std::make_unique<tcp_reassembly>(cfg.receive_buffer_bytes, cfg.reassembly_segments);
    }
    uint32_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    table.assign(cap, empty);
    table_mask = cap - 1;
    listeners.resize(std::max<uint32_t>(cfg.max_listeners, 1));
    pending.reserve(n);
  }

  uint64_t next_random() noexcept {
    rng += 0x9e3779b97f4a7c15ull;
    return mix64(rng);
  }

  // ---- connection table ----

  [[nodiscard]] uint32_t hash(ipv4_addr la, uint16_t lp, ipv4_addr ra, uint16_t rp) const noexcept {
    const uint64_t a = (uint64_t{la} << 32) | ra;
    const uint64_t b = (uint64_t{lp} << 16) | rp;
    return static_cast<uint32_t>(mix64(a ^ key0 ^ mix64(b ^ key1))) & table_mask;
  }

  [[nodiscard]] uint32_t find(ipv4_addr la, uint16_t lp, ipv4_addr ra, uint16_t rp) const noexcept {
    for (uint32_t i = hash(la, lp, ra, rp);; i = (i + 1) & table_mask) {
      const uint32_t idx = table[i];
      if (idx == empty) return empty;
      const tcb& t = conns[idx];
      if (t.laddr == la && t.lport == lp && t.raddr == ra && t.rport == rp) return idx;
    }
  }

  void table_insert(uint32_t idx) noexcept {
    const tcb& t = conns[idx];
    uint32_t i = hash(t.laddr, t.lport, t.raddr, t.rport);
    while (table[i] != empty) i = (i + 1) & table_mask;
    table[i] = idx;
  }

  void table_erase(uint32_t idx) noexcept {
    const tcb& t = conns[idx];
    uint32_t i = hash(t.laddr, t.lport, t.raddr, t.rport);
    while (table[i] != idx) {
      if (table[i] == empty) return;
      i = (i + 1) & table_mask;
    }
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & table_mask; table[j] != empty; j = (j + 1) & table_mask) {
      const tcb& u = conns[table[j]];
      const uint32_t home = hash(u.laddr, u.lport, u.raddr, u.rport);
      // Move j into the hole when its home is not in (hole, j] cyclically.
      if (((j - home) & table_mask) >= ((j - hole) & table_mask)) {
        table[hole] = table[j];
        hole = j;
      }
    }
    table[hole] = empty;
  }

  [[nodiscard]] tcp_conn handle(uint32_t idx) const noexcept {
    return (uint64_t{conns[idx].gen} << 32) | idx;
  }

  // The connection behind a handle the user holds, or nullptr when it is stale.
  [[nodiscard]] tcb* user_tcb(tcp_conn c) noexcept {
    const uint32_t idx = conn_index(c);
    if (idx >= conns.size()) return nullptr;
    tcb& t = conns[idx];
    if (!t.in_use || t.gen != conn_gen(c) || t.user_gone) return nullptr;
    return &t;
  }
  [[nodiscard]] bool alive(uint32_t idx, uint32_t gen) const noexcept {
    return conns[idx].in_use && conns[idx].gen == gen;
  }
  [[nodiscard]] uint32_t index_of(const tcb& t) const noexcept {
    return static_cast<uint32_t>(&t - conns.data());
  }

  [[nodiscard]] uint32_t alloc_tcb() noexcept {
    if (free_slots.empty()) return empty;
    const uint32_t idx = free_slots.back();
    free_slots.pop_back();
    tcb& t = conns[idx];
    const uint32_t gen = t.gen;
    std::byte* sb = t.sbuf;
    std::byte* rb = t.rbuf;
    auto reasm = std::move(t.reasm);
    t = tcb{};
    t.gen = gen;
    t.sbuf = sb;
    t.rbuf = rb;
    t.reasm = std::move(reasm);
    t.reasm->clear();
    t.in_use = true;
    t.rto = rto_estimator(rto_cfg);
    ++in_use;
    return idx;
  }

  void free_tcb(tcb& t) noexcept {
    const uint32_t idx = index_of(t);
    if (t.listener >= 0) {
      --listeners[static_cast<size_t>(t.listener)].syn_received;
      t.listener = -1;
    }
    table_erase(idx);
    for (uint32_t k = 0; k < timer_kinds; ++k) wheel.cancel(idx * timer_kinds + k);
    t.in_use = false;
    t.state = tcp_state::closed;
    // Generation 0 is never used, so no handle is ever invalid_tcp_conn.
    if (++t.gen == 0) t.gen = 1;
    free_slots.push_back(idx);
    --in_use;
  }

  // ---- ISN, options, windows ----

  // RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 us
  // clock.
  [[nodiscard]] uint32_t isn(const tcb& t) const noexcept {
    const uint64_t m0 = (uint64_t{t.laddr} << 32) | t.raddr;
    const uint64_t m1 = (uint64_t{t.lport} << 16) | t.rport;
    return static_cast<uint32_t>(now_us / 4) +
           static_cast<uint32_t>(siphash_2x64(key0, key1, m0, m1));
  }

  [[nodiscard]] uint32_t ts_now(const tcb& t) const noexcept {
    // RFC 7323 §5.4: a 1 ms clock, offset per connection (§7.1).
    return static_cast<uint32_t>(now_us / 1000) + t.ts_offset;
  }

  // The largest TCP payload toward the peer (IPv4 MTU minus the TCP header).
  [[nodiscard]] uint32_t path_payload(ipv4_addr dst) const noexcept {
    const size_t mp = out.max_payload(dst);
    return mp > header_bytes ? static_cast<uint32_t>(mp - header_bytes) : 0;
  }

  [[nodiscard]] uint16_t advertised_mss(ipv4_addr dst) const noexcept {
    return static_cast<uint16_t>(std::clamp<uint32_t>(path_payload(dst), min_peer_mss, cfg.mss));
  }

  // RFC 9293 §3.7.1: Eff.snd.MSS = min(SendMSS + 20, MMS_S) - TCPhdrsize (options included).
  void set_smss(tcb& t, uint16_t peer_mss) noexcept {
    const uint32_t peer = std::max<uint32_t>(peer_mss, min_peer_mss);
    uint32_t m = std::min<uint32_t>(peer, std::max<uint32_t>(path_payload(t.raddr), min_peer_mss));
    m = std::min<uint32_t>(m, cfg.mss);
    if (t.ts_ok) m -= static_cast<uint32_t>(ts_option_bytes);
    t.smss = static_cast<uint16_t>(m);
    t.rcv_mss = static_cast<uint16_t>(advertised_mss(t.raddr) - (t.ts_ok ? ts_option_bytes : 0));
  }

  // RFC 9293 §3.8.6.2.2 receiver SWS avoidance: the right edge moves only when the window can
  // grow by min(RCV.BUFF / 2, Eff.MSS); it never moves left (§3.8.6: do not shrink the window).
  // Returns the window to put in the header, scaled (RFC 7323 §2.3).
  uint16_t window_to_advertise(tcb& t, bool syn) noexcept {
    const uint32_t buf = cfg.receive_buffer_bytes;
    const uint32_t free_space = buf - t.r_len;
    uint32_t cur = seq_gt(t.rcv_adv, t.rcv_nxt) ? t.rcv_adv - t.rcv_nxt : 0;
    const uint32_t threshold = std::min<uint32_t>(buf / 2, t.rcv_mss);
    if (free_space > cur && (free_space - cur >= threshold || free_space == buf)) cur = free_space;
    const uint8_t shift = syn ? 0 : t.rcv_wscale;
    // RFC 7323 §2.2: the SYN's window is never scaled.
    uint32_t field = std::min<uint32_t>(cur >> shift, 0xffff);
    const uint32_t edge = t.rcv_nxt + (field << shift);
    if (seq_gt(edge, t.rcv_adv) || t.rcv_adv == 0) t.rcv_adv = edge;
    // Rounding down by the scale must not shrink the window already offered.
    if (seq_lt(edge, t.rcv_adv)) {
      field = std::min<uint32_t>(((t.rcv_adv - t.rcv_nxt) + (1u << shift) - 1) >> shift, 0xffff);
    }
    return static_cast<uint16_t>(field);
  }

  // ---- output ----

  // Builds one segment straight into the IP layer's buffer. data_off/data_len select octets of
  // the send ring (data_off counted from SND.UNA's octet).
  bool emit(tcb& t, uint32_t seq, uint8_t flags, uint32_t data_off, uint32_t data_len) noexcept {
    const bool syn = (flags & flag_syn) != 0;
    size_t opt = 0;
    if (syn) {
      opt = 4;                                                               // MSS
      if (cfg.window_scaling && (!(flags & flag_ack) || t.ws_ok)) opt += 4;  // NOP + WS
      if (cfg.timestamps && (!(flags & flag_ack) || t.ts_ok)) opt += ts_option_bytes;
    } else if (t.ts_ok) {
      opt = ts_option_bytes;
    }
    const size_t total = header_bytes + opt + data_len;
    const std::span<std::byte> buf = out.alloc(t.raddr, total);
    if (buf.size() < total) {
      ++ctr.drop_no_buffer;
      return false;
    }
    std::byte* p = buf.data();
    store16(p, t.lport);
    store16(p + 2, t.rport);
    store32(p + 4, seq);
    const bool ack = (flags & flag_ack) != 0;
    store32(p + 8, ack ? t.rcv_nxt : 0);
    p[12] = std::byte(((header_bytes + opt) / 4) << 4);
    p[13] = std::byte(flags);
    store16(p + 14, (flags & flag_rst) ? 0 : window_to_advertise(t, syn));
    store16(p + 16, 0);
    store16(p + 18, 0);
    std::byte* o = p + header_bytes;
    if (syn) {
      // RFC 9293 §3.2 MSS option.
      o[0] = std::byte{2};
      o[1] = std::byte{4};
      store16(o + 2, advertised_mss(t.raddr));
      o += 4;
      if (cfg.window_scaling && (!ack || t.ws_ok)) {
        // RFC 7323 §2.2 Window Scale option, after a NOP.
        o[0] = std::byte{1};
        o[1] = std::byte{3};
        o[2] = std::byte{3};
        o[3] = std::byte(t.rcv_wscale);
        o += 4;
      }
    }
    if ((syn && cfg.timestamps && (!ack || t.ts_ok)) || (!syn && t.ts_ok)) {
      // RFC 7323 §3.2: TSval our clock, TSecr the peer's latest (only with ACK set).
      o[0] = std::byte{1};
      o[1] = std::byte{1};
      o[2] = std::byte{8};
      o[3] = std::byte{10};
      store32(o + 4, ts_now(t));
      store32(o + 8, ack ? t.ts_recent : 0);
      o += ts_option_bytes;
    }
    if (data_len > 0) {
      const uint32_t cap = cfg.send_buffer_bytes;
      const uint32_t start = (t.s_head + data_off) % cap;
      const uint32_t first = std::min(data_len, cap - start);
      std::memcpy(o, t.sbuf + start, first);
      if (first < data_len) std::memcpy(o + first, t.sbuf, data_len - first);
    }
    const uint32_t sum =
        pseudo_header_sum(t.laddr, t.raddr, ip_proto_tcp, static_cast<uint16_t>(total));
    store16(p + 16, checksum_finish(checksum_add(buf.first(total), sum)));
    out.send(t.laddr, t.raddr, ip_proto_tcp, total);
    ++ctr.segments_out;
    ctr.bytes_out += data_len;
    if (flags & flag_rst) ++ctr.rst_out;
    if (ack) {
      // Every ACK carries the latest RCV.NXT: the pending and delayed ones are answered.
      t.last_ack_sent = t.rcv_nxt;
      t.ack_now = false;
      t.unacked_rcv_bytes = 0;
      wheel.cancel(index_of(t) * timer_kinds + tk_delack);
    }
    return true;
  }

  // A RST for a segment no connection takes (RFC 9293 §3.10.7.1).
  void emit_reset(const segment& s) noexcept {
    if (s.has(flag_rst)) return;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = flag_rst;
    if (s.has(flag_ack)) {
      seq = s.ack;  // <SEQ=SEG.ACK><CTL=RST>
    } else {
      ack = s.seq + s.len();  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
      flags |= flag_ack;
    }
    const std::span<std::byte> buf = out.alloc(s.src, header_bytes);
    if (buf.size() < header_bytes) {
      ++ctr.drop_no_buffer;
      return;
    }
    std::byte* p = buf.data();
    store16(p, s.dport);
    store16(p + 2, s.sport);
    store32(p + 4, seq);
    store32(p + 8, ack);
    p[12] = std::byte{5 << 4};
    p[13] = std::byte(flags);
    store16(p + 14, 0);
    store16(p + 16, 0);
    store16(p + 18, 0);
    const uint32_t sum = pseudo_header_sum(s.dst, s.src, ip_proto_tcp, header_bytes);
    store16(p + 16, checksum_finish(checksum_add(buf.first(header_bytes), sum)));
    out.send(s.dst, s.src, ip_proto_tcp, header_bytes);
    ++ctr.segments_out;
    ++ctr.rst_out;
  }

  void mark_pending(tcb& t) noexcept {
    if (t.on_pending) return;
    t.on_pending = true;
    pending.push_back(index_of(t));
  }

  void ack_soon(tcb& t) noexcept {
    t.ack_now = true;
    mark_pending(t);
  }

  // An ACK that must not wait for the end of the burst: RFC 5681 §4.2 duplicate ACKs for
  // out-of-order data (each one counts at the sender) and the ACK of every second full-sized
  // segment. Queued data goes with it.
  void ack_immediately(tcb& t) noexcept {
    t.ack_now = true;
    flush_one(t);
  }

  // RFC 5961 §7: challenge ACKs are limited per second across the instance.
  void challenge_ack(tcb& t) noexcept {
    const uint64_t second = now_us / 1'000'000;
    if (second != challenge_second) {
      challenge_second = second;
      challenge_count = 0;
    }
    if (challenge_count >= cfg.challenge_acks_per_s) {
      ++ctr.challenge_acks_suppressed;
      return;
    }
    ++challenge_count;
    ++ctr.challenge_acks;
    emit(t, t.snd_nxt, flag_ack, 0, 0);
  }

  [[nodiscard]] bool sends_data(tcp_state s) const noexcept {
    return s == tcp_state::established || s == tcp_state::close_wait ||
           s == tcp_state::fin_wait_1 || s == tcp_state::closing || s == tcp_state::last_ack;
  }

  void arm_main(tcb& t, main_timer kind, uint64_t after_us) noexcept {
    t.mt = kind;
    wheel.schedule(index_of(t) * timer_kinds + tk_main, now_us + after_us);
  }
  void stop_main(tcb& t) noexcept {
    t.mt = main_timer::none;
    wheel.cancel(index_of(t) * timer_kinds + tk_main);
  }

  // Writes new data (and the FIN) the windows allow. Nagle is off: a short segment goes out at
  // once (SMPP wants TCP_NODELAY semantics).
  void send_data(tcb& t) noexcept {
    if (!sends_data(t.state)) return;
    // RFC 5681 §4.1: after an idle period longer than the RTO, restart from the initial window.
    if (t.snd_nxt == t.snd_una && t.s_len > 0 && now_us - t.last_send_us > t.rto.rto_us()) {
      t.cc.on_idle_restart();
    }
    for (;;) {
      const uint32_t sent = t.snd_nxt - t.snd_una;
      if (sent > t.s_len) break;  // the FIN is out too
      const uint32_t unsent = t.s_len - sent;
      // RFC 5681 §3.1: the usable window is min(cwnd, rwnd) minus what is in flight.
      const uint32_t wnd = std::min<uint32_t>(t.snd_wnd, t.cc.cwnd());
      const uint32_t usable = wnd > sent ? wnd - sent : 0;
      const uint32_t len = std::min<uint32_t>({unsent, usable, t.smss});
      const bool fin = t.fin_queued && !t.fin_sent && len == unsent;
      if (len == 0 && !fin) break;
      // RFC 9293 §3.8.6.2.1 sender SWS avoidance: hold back a segment shorter than the MSS while
      // more data waits than the window takes and an ACK is still to come.
      if (len < t.smss && len < unsent && sent > 0) break;
      uint8_t flags = flag_ack;
      if (len == unsent && len > 0) flags |= flag_psh;
      if (fin) flags |= flag_fin;
      emit(t, t.snd_nxt, flags, sent, len);
      t.last_send_us = now_us;
      if (!t.rtt_timing && len > 0) {
        // RFC 6298 §3 (Karn): one segment timed at a time, never a retransmitted one.
        t.rtt_timing = seq_geq(t.snd_nxt, t.snd_max);
        t.rtt_seq = t.snd_nxt;
        t.rtt_start_us = now_us;
      }
      t.snd_nxt += len;
      if (fin) {
        t.fin_sent = true;
        t.fin_seq = t.snd_nxt;
        t.snd_nxt += 1;
      }
      t.snd_max = seq_max(t.snd_max, t.snd_nxt);
      if (fin) break;
    }
  }

  // Retransmits the first unacknowledged segment (fast retransmit, NewReno partial ACK, RTO).
  void retransmit_first(tcb& t) noexcept {
    if (t.state == tcp_state::syn_sent) {
      emit(t, t.iss, flag_syn, 0, 0);
      return;
    }
    if (t.state == tcp_state::syn_received) {
      emit(t, t.iss, flag_syn | flag_ack, 0, 0);
      return;
    }
    const uint32_t len = std::min<uint32_t>(t.s_len, t.smss);
    uint8_t flags = flag_ack;
    if (t.fin_sent && len == t.s_len && !t.fin_acked) flags |= flag_fin;
    if (len == 0 && !(flags & flag_fin)) return;
    emit(t, t.snd_una, flags, 0, len);
    // RFC 6298 §3 (Karn): the timed segment was sent again; its ACK cannot be a sample.
    if (t.rtt_timing && seq_leq(t.rtt_seq, t.snd_una + len)) t.rtt_timing = false;
  }

  // After output: the retransmission timer runs while anything is unacknowledged (RFC 6298 §5.1,
  // §5.2); with data waiting and a zero window, the persist timer (RFC 9293 §3.8.6.1).
  void update_send_timers(tcb& t) noexcept {
    if (!sends_data(t.state)) return;
    const bool outstanding = t.snd_nxt != t.snd_una;
    const bool waiting = t.s_len > (t.snd_nxt - t.snd_una) || (t.fin_queued && !t.fin_sent);
    if (outstanding) {
      if (t.mt != main_timer::rtx) {
        if (t.mt == main_timer::persist) t.rto.reset_backoff();
        t.retries = 0;
        arm_main(t, main_timer::rtx, t.rto.rto_us());
      }
    } else if (waiting && t.snd_wnd == 0) {
      if (t.mt != main_timer::persist) {
        t.retries = 0;
        arm_main(t, main_timer::persist, t.rto.rto_us());
      }
    } else if (t.mt == main_timer::rtx || t.mt == main_timer::persist) {
      // The window opened (or all is acknowledged): the probes' back-off ends with it.
      if (t.mt == main_timer::persist) t.rto.reset_backoff();
      stop_main(t);
    }
  }

  void flush_one(tcb& t) noexcept {
    send_data(t);
    if (t.ack_now) emit(t, t.snd_nxt, flag_ack, 0, 0);
    update_send_timers(t);
  }

  void flush() noexcept {
    // Index loop: a flush may not add entries, but stay safe if it does.
    for (size_t i = 0; i < pending.size(); ++i) {
      tcb& t = conns[pending[i]];
      t.on_pending = false;
      if (t.in_use) flush_one(t);
    }
    pending.clear();
  }

  // ---- user notifications ----

  // The connection is over for the user (once): on_close, and the handle goes stale.
  void notify_close(tcb& t, int err) {
    if (t.user_gone) return;
    t.user_gone = true;
    if (!t.user_known) return;
    handler.on_close(handle(index_of(t)), err);
  }

  // Drops the connection with an error: the user hears of it (on_connect for an open that
  // never completed, on_close otherwise), then the slot is freed.
  void fail(tcb& t, int err) {
    const uint32_t idx = index_of(t);
    const tcp_conn c = handle(idx);
    const bool connect_pending = !t.user_known && t.active_open && !t.user_gone;
    const bool known = t.user_known && !t.user_gone;
    t.user_gone = true;
    free_tcb(t);
    if (connect_pending) handler.on_connect(c, err);
    if (known) handler.on_close(c, err);
  }

  void enter_time_wait(tcb& t) {
    t.state = tcp_state::time_wait;
    wheel.cancel(index_of(t) * timer_kinds + tk_keepalive);
    // RFC 9293 §3.10.7.4: TIME-WAIT lasts 2 MSL.
    arm_main(t, main_timer::time_wait, 2 * cfg.msl_us);
    notify_close(t, 0);
  }

  // ---- open ----

  void init_connection(tcb& t, ipv4_addr la, uint16_t lp, ipv4_addr ra, uint16_t rp) noexcept {
    t.laddr = la;
    t.lport = lp;
    t.raddr = ra;
    t.rport = rp;
    t.iss = isn(t);
    t.snd_una = t.iss;
    t.snd_nxt = t.iss + 1;
    t.snd_max = t.snd_nxt;
    t.ts_offset = static_cast<uint32_t>(next_random());
    t.rcv_wscale = static_cast<uint8_t>(rcv_wscale);
    t.smss = default_peer_mss;
    t.rcv_mss = advertised_mss(ra);
    t.last_rx_us = now_us;
    table_insert(index_of(t));
  }

  // Applies the options of a SYN (or SYN-ACK) to the new connection.
  void negotiate(tcb& t, const segment& s, bool we_offered) noexcept {
    // RFC 7323 §2.2: both sides must send the option for scaling to be used.
    t.ws_ok = cfg.window_scaling && s.has_ws && we_offered;
    if (t.ws_ok) {
      t.snd_wscale = std::min<uint8_t>(s.ws, max_wscale);
    } else {
      t.snd_wscale = 0;
      t.rcv_wscale = 0;
    }
    // RFC 7323 §3.2: timestamps only when both SYNs carried them.
    t.ts_ok = cfg.timestamps && s.has_ts && we_offered;
    if (t.ts_ok) {
      t.ts_recent = s.tsval;
      t.ts_recent_us = now_us;
    }
    set_smss(t, s.has_mss ? s.mss : default_peer_mss);
    // RFC 5681 §3.1 / RFC 6928 §2: one segment of initial window when the SYN was resent.
    t.cc.reset(t.smss, t.iss, t.syn_retransmitted);
  }

  // ---- input ----
  void input(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> payload);
  bool parse(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> payload, segment& s);
  void input_listen(listener_entry& l, int32_t li, const segment& s);
  void input_syn_sent(tcb& t, const segment& s);
  void input_synchronized(tcb& t, segment& s);
  bool process_ack(tcb& t, const segment& s);
  void process_data(tcb& t, segment& s);
  void process_fin(tcb& t);
  void deliver(tcb& t, std::span<const std::byte> data);
  void deliver_in_order(tcb& t, std::span<const std::byte> data);
  void became_established(tcb& t);
  void maybe_writable(tcb& t);

  // ---- timers ----
  void fire(uint32_t id);
  void on_main_timer(tcb& t);
};

// ================================ input ================================

bool tcp_stack::impl::parse(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> payload,
                            segment& s) {
  if (payload.size() < header_bytes || payload.size() > 0xffff) {
    ++ctr.drop_short;
    return false;
  }
  const std::byte* p = payload.data();
  const size_t doff = (static_cast<size_t>(p[12]) >> 4) * 4;
  // RFC 9293 §3.1: Data Offset counts 32-bit words, at least 5, within the segment.
  if (doff < header_bytes || doff > payload.size()) {
    ++ctr.drop_short;
    return false;
  }
  // RFC 9293 §3.1: the checksum covers the pseudo-header, header and data.
  const uint32_t sum =
      pseudo_header_sum(src, dst, ip_proto_tcp, static_cast<uint16_t>(payload.size()));
  if (checksum_finish(checksum_add(payload, sum)) != 0) {
    ++ctr.drop_checksum;
    return false;
  }
  s.src = src;
  s.dst = dst;
  s.sport = load16(p);
  s.dport = load16(p + 2);
  s.seq = load32(p + 4);
  s.ack = load32(p + 8);
  s.flags = static_cast<uint8_t>(p[13]) & 0x3f;
  s.wnd = load16(p + 14);
  if (s.sport == 0 || s.dport == 0) {
    ++ctr.drop_bad_ports;
    return false;
  }
  // RFC 9293 §3.2: options; a length that is too short or runs past the header is an error
  // (§3.1 MUST handle an illegal option length without crashing: the segment is dropped).
  size_t i = header_bytes;
  while (i < doff) {
    const uint8_t kind = static_cast<uint8_t>(p[i]);
    if (kind == 0) break;  // End of Option List
    if (kind == 1) {       // NOP
      ++i;
      continue;
    }
    if (i + 1 >= doff) {
      ++ctr.drop_options;
      return false;
    }
    const size_t len = static_cast<uint8_t>(p[i + 1]);
    if (len < 2 || i + len > doff) {
      ++ctr.drop_options;
      return false;
    }
    switch (kind) {
      case 2:  // MSS, RFC 9293 §3.2: only in SYNs
        if (len != 4) {
          ++ctr.drop_options;
          return false;
        }
        if (s.has(flag_syn)) {
          s.has_mss = true;
          s.mss = load16(p + i + 2);
        }
        break;
      case 3:  // Window Scale, RFC 7323 §2.2: only in SYNs
        if (len != 3) {
          ++ctr.drop_options;
          return false;
        }
        if (s.has(flag_syn)) {
          s.has_ws = true;
          s.ws = static_cast<uint8_t>(p[i + 2]);
        }
        break;
      case 8:  // Timestamps, RFC 7323 §3.2
        if (len != 10) {
          ++ctr.drop_options;
          return false;
        }
        s.has_ts = true;
        s.tsval = load32(p + i + 2);
        s.tsecr = load32(p + i + 6);
        break;
      default:  // RFC 9293 §3.1: unknown options are skipped by their length
        break;
    }
    i += len;
  }
  s.data = payload.subspan(doff);
  return true;
}

void tcp_stack::impl::input(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> payload) {
  ++ctr.segments_in;
  segment s;
  if (!parse(src, dst, payload, s)) return;
  if (s.has(flag_rst)) ++ctr.rst_in;
  const uint32_t idx = find(dst, s.dport, src, s.sport);
  if (idx != empty) {
    tcb& t = conns[idx];
    t.last_rx_us = now_us;
    t.keepalive_sent = 0;
    if (t.state == tcp_state::syn_sent) {
      input_syn_sent(t, s);
    } else {
      input_synchronized(t, s);
    }
    return;
  }
  // A listener on the exact address first, then on any address.
  int32_t best = -1;
  for (size_t i = 0; i < listeners.size(); ++i) {
    const listener_entry& l = listeners[i];
    if (!l.used || l.port != s.dport) continue;
    if (l.addr == dst) {
      best = static_cast<int32_t>(i);
      break;
    }
    if (l.addr == 0 && best < 0) best = static_cast<int32_t>(i);
  }
  if (best >= 0) {
    input_listen(listeners[static_cast<size_t>(best)], best, s);
    return;
  }
  // RFC 9293 §3.10.7.1: CLOSED: anything but a RST is answered with a RST.
  ++ctr.drop_no_socket;
  emit_reset(s);
}

// RFC 9293 §3.10.7.2: LISTEN.
void tcp_stack::impl::input_listen(listener_entry& l, int32_t li, const segment& s) {
  if (s.has(flag_rst)) {
    ++ctr.drop_other;  // first: a RST is ignored
    return;
  }
  if (s.has(flag_ack)) {
    // Second: an ACK is answered <SEQ=SEG.ACK><CTL=RST>.
    ++ctr.drop_bad_ack;
    emit_reset(s);
    return;
  }
  if (!s.has(flag_syn) || s.has(flag_fin)) {
    ++ctr.drop_other;
    return;
  }
  // Bounded SYN backlog: beyond it a SYN is dropped (the peer retries; no state is kept).
  if (l.syn_received >= l.backlog) {
    ++ctr.drop_syn_backlog;
    return;
  }
  const uint32_t idx = alloc_tcb();
  if (idx == empty) {
    ++ctr.drop_table_full;
    emit_reset(s);
    return;
  }
  tcb& t = conns[idx];
  init_connection(t, s.dst, s.dport, s.src, s.sport);
  t.listener = li;
  ++l.syn_received;
  t.irs = s.seq;
  t.rcv_nxt = s.seq + 1;
  t.rcv_adv = t.rcv_nxt;
  negotiate(t, s, true);
  // RFC 7323 §2.2 / §3.2: options answered only when offered.
  t.snd_wnd = s.wnd;  // RFC 7323 §2.2: the SYN's window is not scaled
  t.max_snd_wnd = t.snd_wnd;
  t.snd_wl1 = s.seq;
  t.snd_wl2 = t.iss;
  t.state = tcp_state::syn_received;
  ++ctr.passive_opens;
  // Data on the SYN is not queued (RFC 9293 §3.10.7.2 allows dropping it; the peer resends it
  // once it sees our ACK does not cover it).
  emit(t, t.iss, flag_syn | flag_ack, 0, 0);
  arm_main(t, main_timer::rtx, t.rto.rto_us());
}

// RFC 9293 §3.10.7.3: SYN-SENT.
void tcp_stack::impl::input_syn_sent(tcb& t, const segment& s) {
  const bool has_ack = s.has(flag_ack);
  if (has_ack) {
    // First: SEG.ACK =< ISS or SEG.ACK > SND.NXT is unacceptable.
    if (seq_leq(s.ack, t.iss) || seq_gt(s.ack, t.snd_nxt)) {
      ++ctr.drop_bad_ack;
      if (!s.has(flag_rst)) emit_reset(s);
      return;
    }
  }
  if (s.has(flag_rst)) {
    // Second: a RST counts only with an acceptable ACK (RFC 5961 §3.2 for SYN-SENT).
    if (!has_ack) {
      ++ctr.drop_other;
      return;
    }
    fail(t, ECONNREFUSED);
    return;
  }
  if (!s.has(flag_syn)) {
    ++ctr.drop_other;
    return;
  }
  // Fourth: SYN.
  t.irs = s.seq;
  t.rcv_nxt = s.seq + 1;
  t.rcv_adv = t.rcv_nxt;
  negotiate(t, s, true);
  t.snd_wl1 = s.seq;
  t.snd_wl2 = s.ack;
  t.snd_wnd = s.wnd;
  t.max_snd_wnd = t.snd_wnd;
  if (has_ack) {
    t.snd_una = s.ack;
    t.retries = 0;
    if (t.rtt_timing) {
      t.rto.on_rtt_sample(
          static_cast<uint32_t>(std::min<uint64_t>(now_us - t.rtt_start_us, 0xffffffffu)));
      t.rtt_timing = false;
    }
    stop_main(t);
    t.state = tcp_state::established;
    ack_soon(t);
    became_established(t);
    return;
  }
  // Simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, send SYN,ACK with our ISS.
  t.state = tcp_state::syn_received;
  emit(t, t.iss, flag_syn | flag_ack, 0, 0);
  arm_main(t, main_timer::rtx, t.rto.rto_us());
}

void tcp_stack::impl::became_established(tcb& t) {
  ++ctr.established;
  // RFC 6298 §5.7: a lost SYN or SYN-ACK and no RTT sample: the data's RTO starts at 3 s.
  if (t.syn_retransmitted && !t.rto.has_sample()) t.rto.on_syn_retransmitted();
  t.rto.reset_backoff();
  if (t.listener >= 0) {
    --listeners[static_cast<size_t>(t.listener)].syn_received;
    t.listener = -1;
  }
  if (cfg.keepalive) {
    wheel.schedule(index_of(t) * timer_kinds + tk_keepalive, now_us + cfg.keepalive_idle_us);
  }
  t.user_known = true;
  const uint32_t idx = index_of(t);
  if (t.active_open) {
    handler.on_connect(handle(idx), 0);
  } else {
    handler.on_accept(handle(idx), t.lport, t.raddr, t.rport);
  }
}

// RFC 9293 §3.10.7.4: SYN-RECEIVED and the synchronized states.
void tcp_stack::impl::input_synchronized(tcb& t, segment& s) {
  const uint32_t idx = index_of(t);
  const uint32_t gen = t.gen;
  if (t.state == tcp_state::syn_received && s.has(flag_syn) && s.seq == t.irs && !s.has(flag_rst)) {
    // The peer's SYN again: our SYN,ACK was lost (resend it), or in a simultaneous open the
    // peer's SYN,ACK that also acknowledges ours (take its ACK and drop the old SYN).
    if (!s.has(flag_ack)) {
      emit(t, t.iss, flag_syn | flag_ack, 0, 0);
      return;
    }
    s.flags = static_cast<uint8_t>(s.flags & ~flag_syn);
    s.seq += 1;
  }
  // RFC 7323 §3.2: once negotiated, a non-RST segment without timestamps is dropped.
  if (t.ts_ok && !s.has_ts && !s.has(flag_rst)) {
    ++ctr.drop_paws;
    return;
  }
  // RFC 7323 §5.3 R1 (PAWS): TSval older than TS.Recent -> not acceptable, ACK and drop. R3: a
  // TS.Recent idle for more than 24 days is not used.
  if (t.ts_ok && s.has_ts && !s.has(flag_rst) && seq_lt(s.tsval, t.ts_recent) &&
      now_us - t.ts_recent_us < 24ull * 86400 * 1'000'000) {
    ++ctr.drop_paws;
    ack_soon(t);
    return;
  }
  // First: the acceptability test, with RCV.WND the window advertised.
  const uint32_t rcv_wnd = seq_gt(t.rcv_adv, t.rcv_nxt) ? t.rcv_adv - t.rcv_nxt : 0;
  const uint32_t seg_len = s.len();
  bool acceptable;
  if (seg_len == 0) {
    acceptable = rcv_wnd == 0 ? s.seq == t.rcv_nxt : seq_in(s.seq, t.rcv_nxt, t.rcv_nxt + rcv_wnd);
  } else if (rcv_wnd == 0) {
    acceptable = false;
  } else {
    acceptable = seq_in(s.seq, t.rcv_nxt, t.rcv_nxt + rcv_wnd) ||
                 seq_in(s.seq + seg_len - 1, t.rcv_nxt, t.rcv_nxt + rcv_wnd);
  }
  if (!acceptable) {
    // RFC 9293 §3.10.7.4: a zero window still takes ACKs (and RSTs) at RCV.NXT.
    const bool zero_window_ack = rcv_wnd == 0 && s.seq == t.rcv_nxt;
    if (!zero_window_ack) {
      if (!s.has(flag_rst)) ack_soon(t);
      ++ctr.drop_out_of_window;
      return;
    }
    // A zero-window probe: its octet is not taken, the ACK tells the peer the window is still
    // closed (RFC 9293 §3.8.6.1).
    if (!s.has(flag_rst)) ack_soon(t);
    // Keep the ACK, drop the text and FIN that do not fit.
    s.data = {};
    s.flags = static_cast<uint8_t>(s.flags & ~(flag_fin | flag_syn));
  }
  // Trim to the window: octets before RCV.NXT were received already, octets past the right
  // edge are not accepted (RFC 9293 §3.10.7.4 "If a segment's contents straddle...").
  if (seq_lt(s.seq, t.rcv_nxt)) {
    uint32_t skip = t.rcv_nxt - s.seq;
    if (s.has(flag_syn)) {
      s.flags = static_cast<uint8_t>(s.flags & ~flag_syn);
      --skip;
    }
    const size_t cut = std::min<size_t>(skip, s.data.size());
    s.data = s.data.subspan(cut);
    s.seq = t.rcv_nxt;
    if (skip > cut) s.flags = static_cast<uint8_t>(s.flags & ~flag_fin);  // old FIN
  }
  if (rcv_wnd > 0) {
    const uint32_t room = t.rcv_adv - s.seq;
    if (s.data.size() > room) {
      s.data = s.data.first(room);
      s.flags = static_cast<uint8_t>(s.flags & ~flag_fin);
    }
  } else if (!s.data.empty()) {
    s.data = {};
    s.flags = static_cast<uint8_t>(s.flags & ~flag_fin);
  }

  // Second: RST (RFC 5961 §3.2): exactly RCV.NXT resets, elsewhere in the window a challenge
  // ACK answers.
  if (s.has(flag_rst)) {
    if (s.seq != t.rcv_nxt) {
      challenge_ack(t);
      return;
    }
    if (t.state == tcp_state::syn_received && !t.active_open) {
      // Passive open: back to LISTEN, i.e. the embryonic connection is dropped quietly.
      free_tcb(t);
      return;
    }
    const int err = t.state == tcp_state::syn_received ? ECONNREFUSED : ECONNRESET;
    fail(t, err);
    return;
  }
  // Fourth: SYN in a synchronized state -> challenge ACK (RFC 5961 §4.2).
  if (s.has(flag_syn)) {
    challenge_ack(t);
    return;
  }
  // Fifth: ACK.
  if (!s.has(flag_ack)) {
    ++ctr.drop_other;
    return;
  }
  // RFC 7323 §4.3: TS.Recent follows the segment that covers Last.ACK.sent.
  if (t.ts_ok && s.has_ts && seq_geq(s.tsval, t.ts_recent) && seq_leq(s.seq, t.last_ack_sent)) {
    t.ts_recent = s.tsval;
    t.ts_recent_us = now_us;
  }
  if (t.state == tcp_state::syn_received) {
    // SND.UNA < SEG.ACK =< SND.NXT -> ESTABLISHED; otherwise <SEQ=SEG.ACK><CTL=RST>.
    if (!(seq_lt(t.snd_una, s.ack) && seq_leq(s.ack, t.snd_nxt))) {
      ++ctr.drop_bad_ack;
      emit_reset(s);
      return;
    }
    t.snd_una = s.ack;
    t.snd_wnd = static_cast<uint32_t>(s.wnd) << t.snd_wscale;
    t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
    t.snd_wl1 = s.seq;
    t.snd_wl2 = s.ack;
    t.retries = 0;
    stop_main(t);
    t.state = t.fin_queued ? tcp_state::fin_wait_1 : tcp_state::established;
    became_established(t);
    if (!alive(idx, gen)) return;
    mark_pending(t);
  } else if (!process_ack(t, s)) {
    return;
  }
  if (!alive(idx, gen)) return;
  // Sixth: URG is not supported (SMPP does not use it); the urgent pointer is ignored.
  // Seventh: segment text.
  process_data(t, s);
}

// RFC 9293 §3.10.7.4 fifth check for ESTABLISHED and later. false: stop processing.
bool tcp_stack::impl::process_ack(tcb& t, const segment& s) {
  // RFC 5961 §5.2: acceptable when SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT (SND.NXT being
  // the highest sent here); anything else gets a challenge ACK and is dropped.
  if (seq_gt(s.ack, t.snd_max) || seq_lt(s.ack, t.snd_una - t.max_snd_wnd)) {
    ++ctr.drop_bad_ack;
    challenge_ack(t);
    return false;
  }
  const uint32_t new_wnd = static_cast<uint32_t>(s.wnd) << t.snd_wscale;
  if (seq_gt(s.ack, t.snd_una)) {
    const uint32_t acked = s.ack - t.snd_una;
    const uint32_t data_acked = std::min(acked, t.s_len);
    t.s_head = (t.s_head + data_acked) % cfg.send_buffer_bytes;
    t.s_len -= data_acked;
    if (t.fin_sent && seq_gt(s.ack, t.fin_seq)) t.fin_acked = true;
    t.snd_una = s.ack;
    if (seq_lt(t.snd_nxt, t.snd_una)) t.snd_nxt = t.snd_una;
    // RFC 6298 §2 / Karn: a sample only from a segment sent once.
    if (t.rtt_timing && seq_gt(s.ack, t.rtt_seq)) {
      t.rto.on_rtt_sample(
          static_cast<uint32_t>(std::min<uint64_t>(now_us - t.rtt_start_us, 0xffffffffu)));
      t.rtt_timing = false;
    }
    t.retries = 0;
    // RFC 5681 / RFC 6582: the congestion window grows, or a partial ACK in fast recovery
    // retransmits the next hole.
    const ack_result r = t.cc.on_new_ack(acked, t.snd_una, t.snd_max - t.snd_una);
    if (retransmit_first_unacked(r)) {
      ++ctr.retransmits;
      ++ctr.fast_retransmits;
      retransmit_first(t);
    }
    // RFC 6298 §5.3: restart the timer for what is still outstanding.
    if (t.mt == main_timer::rtx) {
      if (t.snd_una != t.snd_max) {
        arm_main(t, main_timer::rtx, t.rto.rto_us());
      } else {
        stop_main(t);
      }
    }
    mark_pending(t);
  } else if (s.ack == t.snd_una && s.data.empty() && !s.has(flag_fin) && t.snd_max != t.snd_una &&
             new_wnd == t.snd_wnd) {
    // RFC 5681 §2: a duplicate ACK. The third starts fast retransmit (§3.2).
    const dup_ack_action a = t.cc.on_dup_ack(t.snd_una, t.snd_max, t.snd_max - t.snd_una);
    if (a == dup_ack_action::fast_retransmit) {
      ++ctr.retransmits;
      ++ctr.fast_retransmits;
      retransmit_first(t);
    }
    mark_pending(t);  // fast recovery may have inflated the window
  }
  // Window update: SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK).
  if (seq_lt(t.snd_wl1, s.seq) || (t.snd_wl1 == s.seq && seq_leq(t.snd_wl2, s.ack))) {
    if (new_wnd != t.snd_wnd) mark_pending(t);
    t.snd_wnd = new_wnd;
    t.max_snd_wnd = std::max(t.max_snd_wnd, new_wnd);
    t.snd_wl1 = s.seq;
    t.snd_wl2 = s.ack;
  }
  if (t.fin_acked) {
    switch (t.state) {
      case tcp_state::fin_wait_1:
        t.state = tcp_state::fin_wait_2;
        stop_main(t);
        arm_main(t, main_timer::fin_wait_2, cfg.fin_wait_2_timeout_us);
        break;
      case tcp_state::closing:
        enter_time_wait(t);
        return false;
      case tcp_state::last_ack:
        notify_close(t, 0);  // usually heard already, when the peer's FIN arrived
        free_tcb(t);
        return false;
      default:
        break;
    }
  }
  if (t.state == tcp_state::time_wait && s.has(flag_fin)) {
    // A retransmitted FIN: acknowledge it and restart the 2 MSL timeout.
    ack_soon(t);
    arm_main(t, main_timer::time_wait, 2 * cfg.msl_us);
    return false;
  }
  maybe_writable(t);
  return true;
}

void tcp_stack::impl::maybe_writable(tcb& t) {
  if (!t.want_writable || t.user_gone || t.state != tcp_state::established) return;
  // Low-water mark: a quarter of the ring free.
  if (cfg.send_buffer_bytes - t.s_len < cfg.send_buffer_bytes / 4) return;
  t.want_writable = false;
  handler.on_writable(handle(index_of(t)));
}

void tcp_stack::impl::deliver(tcb& t, std::span<const std::byte> data) {
  if (data.empty() || t.user_gone) return;
  ctr.bytes_in += data.size();
  if (t.paused || t.r_len > 0) {
    // The window never exceeds the free space of the buffer, so in-window data fits.
    const uint32_t cap = cfg.receive_buffer_bytes;
    const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(data.size()), cap - t.r_len);
    const uint32_t tail = (t.r_head + t.r_len) % cap;
    const uint32_t first = std::min(n, cap - tail);
    std::memcpy(t.rbuf + tail, data.data(), first);
    std::memcpy(t.rbuf, data.data() + first, n - first);
    t.r_len += n;
    return;
  }
  handler.on_data(handle(index_of(t)), data);
}

// In-order data at RCV.NXT, then whatever the reassembly queue holds contiguously after it.
void tcp_stack::impl::deliver_in_order(tcb& t, std::span<const std::byte> data) {
  const uint32_t idx = index_of(t);
  const uint32_t gen = t.gen;
  t.rcv_nxt += static_cast<uint32_t>(data.size());
  t.unacked_rcv_bytes += static_cast<uint32_t>(data.size());
  deliver(t, data);
  if (!alive(idx, gen)) return;
  // The spans stay valid until the next insert(), which only input() on this connection does.
  std::span<const std::byte> held[2];
  size_t spans = 0;
  const size_t filled = t.reasm->pop(t.rcv_nxt, [&](std::span<const std::byte> d) {
    if (spans < 2) held[spans++] = d;
  });
  t.unacked_rcv_bytes += static_cast<uint32_t>(filled);
  for (size_t i = 0; i < spans; ++i) {
    deliver(t, held[i]);
    if (!alive(idx, gen)) return;
  }
  // RFC 5681 §4.2: a segment that fills a hole is acknowledged at once.
  if (filled) ack_immediately(t);
}

void tcp_stack::impl::process_data(tcb& t, segment& s) {
  const uint32_t idx = index_of(t);
  const uint32_t gen = t.gen;
  const bool takes_text = t.state == tcp_state::established || t.state == tcp_state::fin_wait_1 ||
                          t.state == tcp_state::fin_wait_2;
  if (!s.data.empty() && takes_text) {
    if (s.seq == t.rcv_nxt) {
      deliver_in_order(t, s.data);
      if (!alive(idx, gen)) return;
      // RFC 5681 §4.2 / RFC 9293 §3.8.6.3: ACK at least every second full-sized segment,
      // otherwise within the delayed-ACK time.
      if (t.unacked_rcv_bytes >= 2u * t.rcv_mss || !t.reasm->empty()) {
        ack_immediately(t);
      } else if (!t.ack_now) {
        const uint32_t id = idx * timer_kinds + tk_delack;
        if (!wheel.scheduled(id)) wheel.schedule(id, now_us + cfg.delayed_ack_us);
      }
    } else {
      // Out of order inside the window: hold it (bounded) and send a duplicate ACK at once
      // (RFC 5681 §4.2), which drives the peer's fast retransmit.
      ++ctr.out_of_order;
      const reassembly_result r = t.reasm->insert(s.seq, s.data, t.rcv_nxt);
      if (r.dropped > 0 || r.evicted > 0) ++ctr.drop_reassembly;
      if (s.has(flag_fin)) {
        t.ooo_fin = true;
        t.ooo_fin_seq = s.seq + static_cast<uint32_t>(s.data.size());
      }
      ack_immediately(t);
      return;
    }
  }
  // Eighth: FIN, processed only when everything before it has arrived.
  if (s.has(flag_fin)) {
    const uint32_t fin_at = s.seq + static_cast<uint32_t>(s.data.size());
    if (fin_at == t.rcv_nxt) {
      process_fin(t);
    } else {
      t.ooo_fin = true;
      t.ooo_fin_seq = fin_at;
      ack_soon(t);
    }
  } else if (t.ooo_fin && t.ooo_fin_seq == t.rcv_nxt) {
    process_fin(t);
  }
}

void tcp_stack::impl::process_fin(tcb& t) {
  if (t.state == tcp_state::close_wait || t.state == tcp_state::closing ||
      t.state == tcp_state::last_ack || t.state == tcp_state::time_wait) {
    ack_soon(t);  // a FIN again: acknowledged, no change
    return;
  }
  t.ooo_fin = false;
  t.rcv_nxt += 1;
  ack_soon(t);
  switch (t.state) {
    case tcp_state::syn_received:
    case tcp_state::established:
      t.state = tcp_state::close_wait;
      break;
    case tcp_state::fin_wait_1:
      // Simultaneous close (RFC 9293 §3.6 figure 13): CLOSING until our FIN is acknowledged.
      if (t.fin_acked) {
        enter_time_wait(t);
      } else {
        t.state = tcp_state::closing;
      }
      return;
    case tcp_state::fin_wait_2:
      stop_main(t);
      enter_time_wait(t);
      return;
    default:
      return;
  }
  // CLOSE-WAIT: the user hears of the close once the data before the FIN is delivered, and our
  // side closes after the queued data (the layer above has no use for a half-open connection).
  if (t.r_len > 0) {
    t.peer_fin_pending = true;
    return;
  }
  t.fin_queued = true;
  t.state = tcp_state::last_ack;
  mark_pending(t);
  notify_close(t, 0);
}

// ================================ timers ================================

void tcp_stack::impl::fire(uint32_t id) {
  const uint32_t idx = id / timer_kinds;
  tcb& t = conns[idx];
  if (!t.in_use) return;
  switch (id % timer_kinds) {
    case tk_main:
      on_main_timer(t);
      break;
    case tk_delack:
      if (t.unacked_rcv_bytes > 0 || t.ack_now) {
        ++ctr.delayed_acks;
        ack_soon(t);
      }
      break;
    case tk_keepalive: {
      // RFC 9293 §3.8.4: after keepalive_idle of silence, probes <SEQ=SND.UNA-1> with no data
      // every keepalive_interval; unanswered keepalive_probes times, the connection is dead.
      if (t.state != tcp_state::established && t.state != tcp_state::close_wait) break;
      const uint64_t idle_until = t.last_rx_us + cfg.keepalive_idle_us;
      if (now_us < idle_until && t.keepalive_sent == 0) {
        wheel.schedule(id, idle_until);
        break;
      }
      if (t.keepalive_sent >= cfg.keepalive_probes) {
        ++ctr.timeouts;
        emit(t, t.snd_nxt, flag_rst | flag_ack, 0, 0);
        fail(t, ETIMEDOUT);
        break;
      }
      ++t.keepalive_sent;
      ++ctr.keepalive_probes;
      emit(t, t.snd_una - 1, flag_ack, 0, 0);
      wheel.schedule(id, now_us + cfg.keepalive_interval_us);
      break;
    }
    default:
      break;
  }
}

void tcp_stack::impl::on_main_timer(tcb& t) {
  const main_timer kind = t.mt;
  t.mt = main_timer::none;
  switch (kind) {
    case main_timer::none:
      return;
    case main_timer::time_wait:
      free_tcb(t);
      return;
    case main_timer::fin_wait_2:
      // The peer never closed its side: give up (the user hears on_close(0) now).
      ++ctr.timeouts;
      notify_close(t, 0);
      free_tcb(t);
      return;
    case main_timer::persist: {
      // RFC 9293 §3.8.6.1: probe the zero window with one octet, backing off like the RTO, for as
      // long as the peer keeps answering.
      if (t.snd_wnd == 0 && t.s_len > t.snd_nxt - t.snd_una && t.snd_nxt == t.snd_una) {
        ++ctr.window_probes;
        emit(t, t.snd_una, flag_ack, 0, 1);
        t.snd_max = seq_max(t.snd_max, t.snd_una + 1);
      }
      t.rto.backoff();
      arm_main(t, main_timer::persist, t.rto.rto_us());
      return;
    }
    case main_timer::rtx:
      break;
  }
  // RFC 6298 §5.4-5.6: retransmit the earliest unacknowledged segment, back the timer off,
  // restart it. A bounded number of times, then the connection is dropped.
  const bool handshake = t.state == tcp_state::syn_sent || t.state == tcp_state::syn_received;
  const uint32_t limit = t.state == tcp_state::syn_sent       ? cfg.syn_retries
                         : t.state == tcp_state::syn_received ? cfg.synack_retries
                                                              : cfg.max_retransmits;
  if (t.retries >= limit) {
    ++ctr.timeouts;
    if (t.state == tcp_state::syn_received && !t.active_open) {
      free_tcb(t);
      return;
    }
    if (!handshake) emit(t, t.snd_nxt, flag_rst | flag_ack, 0, 0);
    fail(t, ETIMEDOUT);
    return;
  }
  ++t.retries;
  t.rto.backoff();
  t.rtt_timing = false;  // Karn
  if (handshake) {
    ++ctr.syn_retransmits;
    t.syn_retransmitted = true;
    retransmit_first(t);
    arm_main(t, main_timer::rtx, t.rto.rto_us());
    return;
  }
  ++ctr.rto_expirations;
  // RFC 5681 §3.1 eq. 4 and cwnd = 1 SMSS; then go back to SND.UNA (RFC 6298 §5.4).
  t.cc.on_rto(t.snd_max - t.snd_una, t.snd_max);
  t.snd_nxt = t.snd_una;
  if (t.fin_sent && !t.fin_acked) t.fin_sent = false;
  ++ctr.retransmits;
  send_data(t);
  if (t.snd_nxt == t.snd_una && t.snd_max != t.snd_una) {
    // Nothing left to send by the windows (a probe byte past a closed window): resend it.
    retransmit_first(t);
  }
  arm_main(t, main_timer::rtx, t.rto.rto_us());
  mark_pending(t);
}

// ================================ public API ================================

tcp_stack::tcp_stack(ip_output& out, tcp_handler& handler, tcp_config cfg)
    : impl_(std::make_unique<impl>(out, handler, std::move(cfg))) {}

tcp_stack::~tcp_stack() = default;

void tcp_stack::input(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> payload,
                      uint64_t now_us) {
  impl_->now_us = std::max(impl_->now_us, now_us);
  impl_->input(src, dst, payload);
}

int tcp_stack::listen(ipv4_addr local_addr, uint16_t port, uint32_t backlog) {
  impl& m = *impl_;
  if (port == 0 || backlog == 0) return -EINVAL;
  int free_index = -1;
  for (size_t i = 0; i < m.listeners.size(); ++i) {
    const listener_entry& l = m.listeners[i];
    if (l.used && l.port == port && l.addr == local_addr) return -EADDRINUSE;
    if (!l.used && free_index < 0) free_index = static_cast<int>(i);
  }
  if (free_index < 0) return -ENOBUFS;
  listener_entry& l = m.listeners[static_cast<size_t>(free_index)];
  l = listener_entry{true, local_addr, port, backlog, 0};
  return free_index;
}

tcp_conn tcp_stack::connect(ipv4_addr local_addr, ipv4_addr remote_addr, uint16_t remote_port,
                            int& err) {
  impl& m = *impl_;
  err = 0;
  if (remote_port == 0 || remote_addr == 0) {
    err = EINVAL;
    return invalid_tcp_conn;
  }
  if (m.free_slots.empty()) {
    err = ENOBUFS;
    return invalid_tcp_conn;
  }
  const uint32_t range = uint32_t{m.cfg.ephemeral_port_max} - m.cfg.ephemeral_port_min + 1;
  uint16_t port = 0;
  for (uint32_t i = 0; i < range; ++i) {
    const auto p = static_cast<uint16_t>(m.cfg.ephemeral_port_min + (m.port_cursor + i) % range);
    if (m.cfg.local_port_ok && !m.cfg.local_port_ok(p)) continue;
    if (m.find(local_addr, p, remote_addr, remote_port) != impl::empty) continue;
    port = p;
    m.port_cursor += i + 1;
    break;
  }
  if (port == 0) {
    err = EADDRNOTAVAIL;
    return invalid_tcp_conn;
  }
  const uint32_t idx = m.alloc_tcb();
  tcb& t = m.conns[idx];
  m.init_connection(t, local_addr, port, remote_addr, remote_port);
  t.active_open = true;
  t.state = tcp_state::syn_sent;
  t.rcv_wscale = m.cfg.window_scaling ? static_cast<uint8_t>(m.rcv_wscale) : 0;
  ++m.ctr.active_opens;
  m.emit(t, t.iss, flag_syn, 0, 0);
  t.rtt_timing = true;
  t.rtt_seq = t.iss;
  t.rtt_start_us = m.now_us;
  m.arm_main(t, main_timer::rtx, t.rto.rto_us());
  return m.handle(idx);
}

size_t tcp_stack::send_space(tcp_conn c) const noexcept {
  impl& m = *impl_;
  const tcb* t = m.user_tcb(c);
  if (t == nullptr || t->state != tcp_state::established || t->fin_queued) return 0;
  return m.cfg.send_buffer_bytes - t->s_len;
}

size_t tcp_stack::send(tcp_conn c, std::span<const std::byte> data) {
  impl& m = *impl_;
  tcb* t = m.user_tcb(c);
  if (t == nullptr || t->state != tcp_state::established || t->fin_queued) return 0;
  const uint32_t cap = m.cfg.send_buffer_bytes;
  const uint32_t n = static_cast<uint32_t>(std::min<size_t>(data.size(), cap - t->s_len));
  if (n < data.size()) t->want_writable = true;
  if (n == 0) return 0;
  const uint32_t tail = (t->s_head + t->s_len) % cap;
  const uint32_t first = std::min(n, cap - tail);
  std::memcpy(t->sbuf + tail, data.data(), first);
  std::memcpy(t->sbuf, data.data() + first, n - first);
  t->s_len += n;
  m.mark_pending(*t);
  return n;
}

void tcp_stack::close(tcp_conn c) {
  impl& m = *impl_;
  tcb* t = m.user_tcb(c);
  if (t == nullptr || t->fin_queued) return;
  switch (t->state) {
    case tcp_state::syn_sent:
      // RFC 9293 §3.10.4: SYN-SENT: delete the TCB. The user closed it: no callback.
      t->user_gone = true;
      m.free_tcb(*t);
      return;
    case tcp_state::syn_received:
      // RFC 9293 §3.10.4: SYN-RECEIVED: the FIN waits for ESTABLISHED.
      t->fin_queued = true;
      return;
    case tcp_state::established:
      // RFC 9293 §3.10.4: FIN after the queued data; FIN-WAIT-1.
      t->fin_queued = true;
      t->state = tcp_state::fin_wait_1;
      m.mark_pending(*t);
      return;
    case tcp_state::close_wait:
      t->fin_queued = true;
      t->state = tcp_state::last_ack;
      m.mark_pending(*t);
      return;
    default:
      return;
  }
}

void tcp_stack::abort(tcp_conn c) {
  impl& m = *impl_;
  tcb* t = m.user_tcb(c);
  if (t == nullptr) return;
  // RFC 9293 §3.10.5: SYN-RECEIVED and the synchronized states send <SEQ=SND.NXT><CTL=RST>.
  if (t->state != tcp_state::syn_sent && t->state != tcp_state::time_wait) {
    m.emit(*t, t->snd_nxt, flag_rst | flag_ack, 0, 0);
  }
  t->user_gone = true;
  m.free_tcb(*t);
}

void tcp_stack::pause_receive(tcp_conn c, bool paused) {
  impl& m = *impl_;
  tcb* t = m.user_tcb(c);
  if (t == nullptr || t->paused == paused) return;
  t->paused = paused;
  if (paused) return;
  const uint32_t idx = conn_index(c);
  const uint32_t gen = t->gen;
  const uint32_t cap = m.cfg.receive_buffer_bytes;
  // Deliver what was held, in at most two spans per pass (the ring may wrap); the handler may
  // pause again or close from inside on_data.
  while (m.alive(idx, gen) && !t->paused && !t->user_gone && t->r_len > 0) {
    const uint32_t n = std::min(t->r_len, cap - t->r_head);
    const uint32_t at = t->r_head;
    t->r_head = (t->r_head + n) % cap;
    t->r_len -= n;
    m.handler.on_data(c, std::span<const std::byte>(t->rbuf + at, n));
  }
  if (!m.alive(idx, gen)) return;
  if (t->r_len == 0) {
    t->r_head = 0;
    if (t->peer_fin_pending && !t->user_gone) {
      t->peer_fin_pending = false;
      t->fin_queued = true;
      t->state = tcp_state::last_ack;
      m.mark_pending(*t);
      m.notify_close(*t, 0);
      return;
    }
  }
  // RFC 9293 §3.8.6.2.2: tell the peer once the window opened by enough to matter.
  const uint32_t cur = seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
  const uint32_t free_space = cap - t->r_len;
  if (free_space > cur && free_space - cur >= std::min<uint32_t>(cap / 2, t->rcv_mss)) {
    m.ack_soon(*t);
  }
}

void tcp_stack::flush() {
  impl_->flush();
}

void tcp_stack::timers(uint64_t now_us) {
  impl& m = *impl_;
  m.now_us = std::max(m.now_us, now_us);
  m.wheel.advance(m.now_us, [&m](uint32_t id) { m.fire(id); });
  m.flush();
}

const tcp_counters& tcp_stack::counters() const noexcept {
  return impl_->ctr;
}

uint32_t tcp_stack::connections() const noexcept {
  return impl_->in_use;
}

bool tcp_stack::info(tcp_conn c, tcp_conn_info& out) const noexcept {
  const uint32_t idx = conn_index(c);
  if (idx >= impl_->conns.size()) return false;
  const tcb& t = impl_->conns[idx];
  if (!t.in_use || t.gen != conn_gen(c)) return false;
  out.state = t.state;
  out.local_addr = t.laddr;
  out.remote_addr = t.raddr;
  out.local_port = t.lport;
  out.remote_port = t.rport;
  out.send_queued = t.s_len;
  out.receive_queued = t.r_len;
  out.snd_una = t.snd_una;
  out.snd_nxt = t.snd_nxt;
  out.rcv_nxt = t.rcv_nxt;
  out.rcv_wnd = seq_gt(t.rcv_adv, t.rcv_nxt) ? t.rcv_adv - t.rcv_nxt : 0;
  out.ts_recent = t.ts_recent;
  out.snd_wnd = t.snd_wnd;
  out.cwnd = t.cc.cwnd();
  out.ssthresh = t.cc.ssthresh();
  out.rto_us = t.rto.rto_us();
  out.snd_mss = t.smss;
  out.snd_wscale = t.snd_wscale;
  out.rcv_wscale = t.rcv_wscale;
  out.timestamps = t.ts_ok;
  return true;
}

}  // namespace smpp::dataplane::net
