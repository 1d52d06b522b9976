// Writes the seed corpus of the tcp_segment fuzz target (tests/net/tcp_fuzz.hpp) from real
// segments: the fixture of tcp_fuzz_one() (same configuration and seed, so the same ISNs and
// timestamps) runs scenarios in which the client stack really talks to the server; every segment
// the client sends is taken off the wire and recorded as an op 1 record (then injected by hand,
// as the fuzz target will), together with the clock steps (op 3), server sends (op 4) and pause
// toggles (op 5) in between. Replayed, each script drives the server through the same states.
// Deterministic; run it when the fuzz entry's fixture changes. No seed completes a handshake on
// the fixture's second listener: nobody closes the connection that leaves (keepalive is off), so
// any mutation that drops its close trips the entry's final "every connection ends" check.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_wire.hpp"

namespace fs = std::filesystem;
namespace net = smpp::net;
using smpp::test::segment_spec;
using smpp::test::tcp_pair;
using smpp::test::wire_segment;

namespace {

// One scenario: the fuzz target's fixture plus the script being written.
class scenario {
 public:
  scenario() : p_(config(), config(), 5) {
    auto [c, s] = p_.establish();
    client_ = c;
    server_ = s;
    (void)p_.b->listen(0, 2776, 2);
    // Client segments are taken off the wire: recorded, then injected like the fuzz target does.
    p_.wire.drop = [this](const wire_segment& w) {
      if (w.from != 0) return false;
      const auto& buf = p_.wire.output(0).buf;
      captured_.emplace_back(buf.begin(), buf.end());
      return true;
    };
  }
  [[nodiscard]] bool ok() const { return server_ != net::invalid_tcp_conn; }
  net::tcp_stack& client() { return *p_.a; }
  net::tcp_conn client_conn() const { return client_; }

  // Injects (and records) what the client sent since the last call, reordered by `order` if
  // given (indexes into the captured list; missing ones are dropped, i.e. lost).
  void deliver(const std::vector<size_t>& order = {}) {
    std::vector<std::vector<std::byte>> segs;
    segs.swap(captured_);
    if (order.empty()) {
      for (auto& s : segs) inject(1, s);
    } else {
      for (size_t i : order) {
        if (i < segs.size()) inject(1, segs[i]);
      }
    }
  }
  void client_send(size_t n) {
    std::vector<std::byte> d(n);
    for (size_t i = 0; i < n; ++i) d[i] = std::byte(i * 7);
    (void)p_.a->send(client_, d);
    p_.a->flush();
  }
  void advance_ms(uint16_t ms) {
    record(3, std::vector<std::byte>(ms));  // the fuzz target reads only the length
    p_.wire.run(uint64_t{ms} * 1000);
  }
  // Advances in steps, delivering the client's segments after each.
  void converse(int steps, uint16_t ms) {
    for (int i = 0; i < steps; ++i) {
      advance_ms(ms);
      deliver();
    }
  }
  void server_send(uint16_t n) {
    record(4, std::vector<std::byte>(n));
    std::vector<std::byte> out(4096, std::byte{0x5a});
    (void)p_.b->send(server_, std::span<const std::byte>(out.data(), std::min<size_t>(n, 4096)));
    p_.b->flush();
  }
  void toggle_pause() {
    record(5, {});
    paused_ = !paused_;
    p_.b->pause_receive(server_, paused_);
  }
  // An op 2 record: a segment at the connection's own numbers, flags = body[0].
  void at_connection(uint8_t flags, int8_t seq_offset_256, size_t payload) {
    // Sized first, then filled (GCC 12 at -O3 warns about a resize from two elements).
    std::vector<std::byte> body(2 + payload, std::byte{0x33});
    body[0] = std::byte(flags);
    body[1] = std::byte(static_cast<uint8_t>(seq_offset_256 + 128));
    record(2, body);
  }
  // A raw segment as op 0 (checksum left as it is) or op 1 (fixed up).
  void raw(uint8_t op, const std::vector<std::byte>& seg) {
    record(op, seg);
    if (op == 1 || op == 0) p_.wire.inject(1, tcp_pair::a_addr, tcp_pair::b_addr, seg);
  }
  [[nodiscard]] const std::vector<std::byte>& script() const { return script_; }

  static net::tcp_config config() {
    // tcp_fuzz_one()'s configuration.
    net::tcp_config cfg;
    cfg.max_connections = 8;
    cfg.send_buffer_bytes = 8192;
    cfg.receive_buffer_bytes = 8192;
    cfg.reassembly_segments = 4;
    cfg.random_seed = 5;
    cfg.max_retransmits = 4;
    cfg.msl_us = 1'000'000;
    cfg.fin_wait_2_timeout_us = 5'000'000;
    return cfg;
  }

 private:
  void inject(int to, const std::vector<std::byte>& seg) {
    record(1, seg);
    p_.wire.inject(to, tcp_pair::a_addr, tcp_pair::b_addr, seg);
  }
  void record(uint8_t op, const std::vector<std::byte>& body) {
    script_.push_back(std::byte(op));
    script_.push_back(std::byte(body.size() >> 8));
    script_.push_back(std::byte(body.size()));
    script_.insert(script_.end(), body.begin(), body.end());
  }

  tcp_pair p_;
  net::tcp_conn client_ = net::invalid_tcp_conn;
  net::tcp_conn server_ = net::invalid_tcp_conn;
  std::vector<std::vector<std::byte>> captured_;
  std::vector<std::byte> script_;
  bool paused_ = false;
};

std::vector<std::byte> segment(uint8_t flags, std::vector<std::byte> options,
                               std::vector<std::byte> payload = {}) {
  segment_spec sp;
  sp.src = tcp_pair::a_addr;
  sp.dst = tcp_pair::b_addr;
  sp.sport = 40001;
  sp.dport = 2776;
  sp.seq = 1000;
  sp.flags = flags;
  sp.options = std::move(options);
  sp.payload = std::move(payload);
  return smpp::test::build_segment(sp);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::string_view(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: %s OUT_DIR   (writes the tcp_segment seed corpus)\n", argv[0]);
    return argc == 2 ? 0 : 2;
  }
  const fs::path out = argv[1];
  fs::create_directories(out);
  int written = 0;
  auto save = [&](const char* name, const scenario& s) {
    std::ofstream(out / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(s.script().data()),
               static_cast<std::streamsize>(s.script().size()));
    ++written;
  };
  auto make = [&](const char* name, auto&& play) {
    scenario s;
    if (!s.ok()) {
      std::fprintf(stderr, "the fixture did not establish\n");
      std::exit(1);
    }
    play(s);
    save(name, s);
  };
  using b = std::byte;

  make("client-data", [](scenario& s) {
    s.client_send(100);
    s.deliver();
    s.converse(3, 20);
    s.client_send(3000);
    s.deliver();
    s.converse(3, 20);
  });
  make("server-data-acked", [](scenario& s) {
    s.server_send(3000);
    s.converse(5, 10);
    s.server_send(4096);
    s.converse(5, 10);
  });
  make("both-ways-paused", [](scenario& s) {
    s.toggle_pause();
    s.client_send(6000);
    s.deliver();
    s.converse(2, 50);
    s.server_send(1000);
    s.converse(2, 10);
    s.toggle_pause();
    s.converse(3, 10);
  });
  make("client-closes", [](scenario& s) {
    s.client_send(50);
    s.client().close(s.client_conn());
    s.client().flush();
    s.deliver();
    s.converse(6, 50);
  });
  make("client-aborts", [](scenario& s) {
    s.server_send(500);
    s.converse(1, 5);
    s.client().abort(s.client_conn());
    s.deliver();
    s.converse(2, 100);
  });
  make("out-of-order-and-loss", [](scenario& s) {
    s.client_send(5000);  // four segments
    s.deliver({2, 0, 3});
    s.converse(2, 10);
    s.converse(4, 300);  // the client's retransmission of the lost one
  });
  make("server-retransmits", [](scenario& s) {
    s.server_send(2000);
    s.advance_ms(200);
    s.advance_ms(1000);
    s.advance_ms(2000);
    s.deliver();
    s.converse(3, 10);
  });
  make("flags-at-the-connection", [](scenario& s) {
    // Each control combination at RCV.NXT, with and without text, then near and far off.
    for (const int f : {0x10, 0x18, 0x11, 0x14, 0x04, 0x12, 0x02, 0x30, 0x19, 0x00, 0x3f}) {
      s.at_connection(static_cast<uint8_t>(f), 0, f & 0x08 ? 10 : 0);
    }
    s.at_connection(0x18, 3, 20);
    s.at_connection(0x14, -3, 0);
    s.at_connection(0x10, 127, 5);
    s.advance_ms(300);
  });
  make("options-malformed", [](scenario& s) {
    s.raw(1, segment(0x02, {b{2}, b{4}, b{5}, b{0xb4}, b{1}, b{3}, b{3}, b{7}, b{4}, b{2}}));
    s.raw(1, segment(0x02, {b{2}, b{3}, b{5}}));              // MSS of length 3
    s.raw(1, segment(0x02, {b{3}, b{2}, b{1}, b{1}}));        // window scale of length 2
    s.raw(1, segment(0x02, {b{8}, b{9}, b{0}, b{0}, b{0}}));  // timestamps cut short
    s.raw(1, segment(0x02, {b{1}, b{1}, b{1}, b{0xfe}}));     // runs past the header
    s.raw(1, segment(0x02, {b{2}, b{4}, b{0}, b{0}}));        // MSS 0
    s.raw(0, segment(0x02, {}, {b{1}, b{2}}));                // SYN with data, checksum kept
    auto bad = segment(0x10, {});
    bad[12] = b{0xf0};  // data offset 60 > length
    s.raw(1, bad);
  });
  std::printf("wrote %d tcp_segment seeds to %s\n", written, out.c_str());
  return 0;
}
