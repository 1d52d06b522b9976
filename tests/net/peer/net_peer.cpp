// net-peer: our userspace stack (smpp::net) on a Linux TAP device, serving small TCP apps on
// fixed ports, for the packetdrill-style conformance cases in tests/net/conformance/. The remote
// host is whatever writes frames into the TAP device's kernel side (there: scapy).
//
// Apps: echo, discard, paused (accepts and never reads: the window closes), sender (sends N
// octets on accept, octet i being i % 251), closer (closes right after accept). Events and
// counters go to stdout as one JSON object per line; SIGUSR1 prints the counters, SIGTERM or
// SIGINT prints them and exits 0, SIGUSR2 opens another connection to the --connect target.
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smpp/net/stack.hpp"
#include "smpp/net/tap_link.hpp"
#include "smpp/net/tcp.hpp"

namespace net = smpp::net;

namespace {

constexpr const char* usage_text = R"(usage: net-peer --tap NAME --addr A.B.C.D/PREFIX [options]

Runs the userspace TCP/IP stack on the TAP device NAME (opened, or created when missing) in the
caller's network namespace, with address A.B.C.D/PREFIX, and serves:
  --echo-port P        echo what arrives (default 7)
  --discard-port P     read and drop (default 9)
  --paused-port P      accept, never read: the receive window closes (default 10)
  --sender-port P      send --sender-bytes octets on accept, octet i = i % 251 (default 11)
  --closer-port P      close right after accept (default 12)
  --sender-bytes N     (default 65536)
Stack:
  --mac MAC            our MAC (default 02:00:5e:10:00:01)
  --mtu N              IP MTU of the link (default 1500)
  --backlog N          SYN-RECEIVED backlog of every listener (default 64)
  --max-connections N  --max-listeners N  --sndbuf N  --rcvbuf N  --mss N  --reassembly N
  --no-window-scaling  --no-timestamps    --seed N (ISN key; default 1)
  --initial-rto-ms N   --min-rto-ms N     --max-rto-ms N
  --max-retransmits N  --syn-retries N    --synack-retries N
  --msl-ms N (TIME-WAIT lasts 2 MSL)      --fin-wait-2-ms N   --delayed-ack-ms N
  --keepalive-idle-ms N --keepalive-interval-ms N --keepalive-probes N (any of them: keepalive on)
  --challenge-acks-per-s N
Active open:
  --connect A.B.C.D:PORT  connect at start (the connection echoes); SIGUSR2 connects again
Output (stdout, one JSON object per line): {"event":"ready",...} once the device is open,
accept/connect/close events, and {"event":"counters",...} on SIGUSR1 and at exit (SIGTERM/SIGINT).
Exit status: 0 after a signal, 2 on bad arguments, 1 when the device cannot be opened.
)";

uint64_t now_us() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::string addr_text(net::ipv4_addr a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

std::optional<net::ipv4_addr> parse_addr(std::string_view s) {
  in_addr a{};
  if (::inet_pton(AF_INET, std::string(s).c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

template <typename T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<net::mac_addr> parse_mac(std::string_view s) {
  net::mac_addr m{};
  if (s.size() != 17) return std::nullopt;
  for (size_t i = 0; i < 6; ++i) {
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(s.data() + i * 3, s.data() + i * 3 + 2, v, 16);
    if (ec != std::errc() || p != s.data() + i * 3 + 2) return std::nullopt;
    if (i < 5 && s[i * 3 + 2] != ':') return std::nullopt;
    m[i] = std::byte(v);
  }
  return m;
}

struct options {
  std::string tap;
  net::ipv4_addr addr = 0;
  net::ipv4_addr netmask = 0;
  net::mac_addr mac{std::byte{0x02}, std::byte{0x00}, std::byte{0x5e},
                    std::byte{0x10}, std::byte{0x00}, std::byte{0x01}};
  size_t mtu = 1500;
  uint16_t echo_port = 7, discard_port = 9, paused_port = 10, sender_port = 11, closer_port = 12;
  uint64_t sender_bytes = 65536;
  uint32_t backlog = 64;
  net::tcp_config tcp;
  net::ipv4_addr connect_addr = 0;
  uint16_t connect_port = 0;
};

// Parses argv into o; false with a message on stderr when an argument is wrong.
bool parse_options(int argc, char** argv, options& o, bool& help) {
  o.tcp.random_seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      help = true;
      return true;
    }
    if (a == "--no-window-scaling") {
      o.tcp.window_scaling = false;
      continue;
    }
    if (a == "--no-timestamps") {
      o.tcp.timestamps = false;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "net-peer: %s needs a value (see --help)\n", argv[i]);
      return false;
    }
    const std::string_view v = argv[++i];
    bool ok = true;
    auto u64 = [&](uint64_t& out, uint64_t scale = 1) {
      const auto n = parse_number<uint64_t>(v);
      ok = n.has_value();
      if (ok) out = *n * scale;
    };
    auto u32 = [&](uint32_t& out, uint64_t scale = 1) {
      const auto n = parse_number<uint64_t>(v);
      ok = n.has_value() && *n * scale <= 0xffffffffu;
      if (ok) out = static_cast<uint32_t>(*n * scale);
    };
    auto u16 = [&](uint16_t& out) {
      const auto n = parse_number<uint16_t>(v);
      ok = n.has_value();
      if (ok) out = *n;
    };
    if (a == "--tap") {
      o.tap = v;
    } else if (a == "--addr") {
      const size_t slash = v.find('/');
      const auto ip = parse_addr(v.substr(0, slash));
      const auto prefix = slash == std::string_view::npos
                              ? std::nullopt
                              : parse_number<unsigned>(v.substr(slash + 1));
      ok = ip && prefix && *prefix >= 1 && *prefix <= 30;
      if (ok) {
        o.addr = *ip;
        o.netmask = ~uint32_t{0} << (32 - *prefix);
      }
    } else if (a == "--mac") {
      const auto m = parse_mac(v);
      ok = m.has_value();
      if (ok) o.mac = *m;
    } else if (a == "--mtu") {
      uint64_t m = 0;
      u64(m);
      ok = ok && m >= 576 && m <= 9000;
      o.mtu = m;
    } else if (a == "--echo-port") {
      u16(o.echo_port);
    } else if (a == "--discard-port") {
      u16(o.discard_port);
    } else if (a == "--paused-port") {
      u16(o.paused_port);
    } else if (a == "--sender-port") {
      u16(o.sender_port);
    } else if (a == "--closer-port") {
      u16(o.closer_port);
    } else if (a == "--sender-bytes") {
      u64(o.sender_bytes);
    } else if (a == "--backlog") {
      u32(o.backlog);
    } else if (a == "--max-connections") {
      u32(o.tcp.max_connections);
    } else if (a == "--max-listeners") {
      u32(o.tcp.max_listeners);
    } else if (a == "--sndbuf") {
      u32(o.tcp.send_buffer_bytes);
    } else if (a == "--rcvbuf") {
      u32(o.tcp.receive_buffer_bytes);
    } else if (a == "--reassembly") {
      u32(o.tcp.reassembly_segments);
    } else if (a == "--mss") {
      u16(o.tcp.mss);
    } else if (a == "--seed") {
      u64(o.tcp.random_seed);
    } else if (a == "--initial-rto-ms") {
      u32(o.tcp.initial_rto_us, 1000);
    } else if (a == "--min-rto-ms") {
      u32(o.tcp.min_rto_us, 1000);
    } else if (a == "--max-rto-ms") {
      u32(o.tcp.max_rto_us, 1000);
    } else if (a == "--max-retransmits") {
      u32(o.tcp.max_retransmits);
    } else if (a == "--syn-retries") {
      u32(o.tcp.syn_retries);
    } else if (a == "--synack-retries") {
      u32(o.tcp.synack_retries);
    } else if (a == "--msl-ms") {
      u64(o.tcp.msl_us, 1000);
    } else if (a == "--fin-wait-2-ms") {
      u64(o.tcp.fin_wait_2_timeout_us, 1000);
    } else if (a == "--delayed-ack-ms") {
      u64(o.tcp.delayed_ack_us, 1000);
    } else if (a == "--keepalive-idle-ms") {
      u64(o.tcp.keepalive_idle_us, 1000);
      o.tcp.keepalive = true;
    } else if (a == "--keepalive-interval-ms") {
      u64(o.tcp.keepalive_interval_us, 1000);
      o.tcp.keepalive = true;
    } else if (a == "--keepalive-probes") {
      u32(o.tcp.keepalive_probes);
      o.tcp.keepalive = true;
    } else if (a == "--challenge-acks-per-s") {
      u32(o.tcp.challenge_acks_per_s);
    } else if (a == "--connect") {
      const size_t colon = v.rfind(':');
      const auto ip = parse_addr(v.substr(0, colon));
      const auto port = colon == std::string_view::npos
                            ? std::nullopt
                            : parse_number<uint16_t>(v.substr(colon + 1));
      ok = ip && port && *port != 0;
      if (ok) {
        o.connect_addr = *ip;
        o.connect_port = *port;
      }
    } else {
      std::fprintf(stderr, "net-peer: unknown option %s (see --help)\n", argv[i - 1]);
      return false;
    }
    if (!ok) {
      std::fprintf(stderr, "net-peer: bad value for %s: '%s' (see --help)\n", argv[i - 1], argv[i]);
      return false;
    }
  }
  if (o.tap.empty() || o.addr == 0) {
    std::fprintf(stderr, "net-peer: --tap and --addr are required (see --help)\n");
    return false;
  }
  return true;
}

// One JSON object built field by field (numbers and plain strings only).
class json_line {
 public:
  json_line& field(const char* k, uint64_t v) {
    sep();
    s_ += '"';
    s_ += k;
    s_ += "\":";
    s_ += std::to_string(v);
    return *this;
  }
  json_line& field(const char* k, const std::string& v) {
    sep();
    s_ += '"';
    s_ += k;
    s_ += "\":\"";
    s_ += v;
    s_ += '"';
    return *this;
  }
  json_line& open(const char* k) {
    sep();
    s_ += '"';
    s_ += k;
    s_ += "\":{";
    first_ = true;
    return *this;
  }
  json_line& close() {
    s_ += '}';
    first_ = false;
    return *this;
  }
  json_line& group(const char* k, std::initializer_list<std::pair<const char*, uint64_t>> fields) {
    open(k);
    for (const auto& [name, value] : fields) field(name, value);
    return close();
  }
  void print() {
    s_ += "}\n";
    std::fputs(s_.c_str(), stdout);
    std::fflush(stdout);
  }

 private:
  void sep() {
    if (!first_) s_ += ',';
    first_ = false;
  }
  std::string s_ = "{";
  bool first_ = true;
};

void print_counters(const net::stack& s, const net::tcp_stack& tcp, const net::tap_link& tap,
                    uint64_t echo_overflow, bool final) {
  const net::stack_counters c = s.counters();
  const net::tcp_counters& t = tcp.counters();
  json_line j;
  j.field("event", std::string("counters"))
      .field("final", final ? 1 : 0)
      .field("connections", tcp.connections())
      .field("echo_overflow", echo_overflow);
  j.group("tap", {{"tx_errors", tap.tx_errors()}, {"rx_errors", tap.rx_errors()}});
  j.group("eth", {{"rx_frames", c.eth.rx_frames},
                  {"rx_truncated", c.eth.rx_truncated},
                  {"rx_not_for_us", c.eth.rx_not_for_us},
                  {"rx_vlan", c.eth.rx_vlan},
                  {"rx_unknown_ethertype", c.eth.rx_unknown_ethertype}});
  j.group("arp", {{"rx_packets", c.arp.rx_packets},
                  {"rx_malformed", c.arp.rx_malformed},
                  {"rx_requests_for_us", c.arp.rx_requests_for_us},
                  {"rx_replies", c.arp.rx_replies},
                  {"tx_requests", c.arp.tx_requests},
                  {"tx_replies", c.arp.tx_replies},
                  {"resolve_failed", c.arp.resolve_failed},
                  {"pending_queued", c.arp.pending_queued},
                  {"pending_sent", c.arp.pending_sent},
                  {"pending_dropped", c.arp.pending_dropped}});
  j.group("ip", {{"rx_packets", c.ip.rx_packets},
                 {"rx_delivered", c.ip.rx_delivered},
                 {"rx_truncated", c.ip.rx_truncated},
                 {"rx_bad_checksum", c.ip.rx_bad_checksum},
                 {"rx_bad_total_length", c.ip.rx_bad_total_length},
                 {"rx_not_for_us", c.ip.rx_not_for_us},
                 {"rx_fragments", c.ip.rx_fragments},
                 {"rx_unknown_protocol", c.ip.rx_unknown_protocol},
                 {"tx_packets", c.ip.tx_packets},
                 {"tx_no_route", c.ip.tx_no_route},
                 {"tx_no_buffer", c.ip.tx_no_buffer},
                 {"tx_arp_dropped", c.ip.tx_arp_dropped}});
  j.group("icmp", {{"rx_messages", c.icmp.rx_messages},
                   {"rx_echo_requests", c.icmp.rx_echo_requests},
                   {"tx_echo_replies", c.icmp.tx_echo_replies},
                   {"tx_dest_unreachable", c.icmp.tx_dest_unreachable}});
  j.group("tcp", {{"segments_in", t.segments_in},
                  {"segments_out", t.segments_out},
                  {"bytes_in", t.bytes_in},
                  {"bytes_out", t.bytes_out},
                  {"retransmits", t.retransmits},
                  {"fast_retransmits", t.fast_retransmits},
                  {"rto_expirations", t.rto_expirations},
                  {"syn_retransmits", t.syn_retransmits},
                  {"window_probes", t.window_probes},
                  {"keepalive_probes", t.keepalive_probes},
                  {"delayed_acks", t.delayed_acks},
                  {"out_of_order", t.out_of_order},
                  {"challenge_acks", t.challenge_acks},
                  {"challenge_acks_suppressed", t.challenge_acks_suppressed},
                  {"rst_in", t.rst_in},
                  {"rst_out", t.rst_out},
                  {"active_opens", t.active_opens},
                  {"passive_opens", t.passive_opens},
                  {"established", t.established},
                  {"timeouts", t.timeouts},
                  {"drop_short", t.drop_short},
                  {"drop_checksum", t.drop_checksum},
                  {"drop_options", t.drop_options},
                  {"drop_bad_ports", t.drop_bad_ports},
                  {"drop_no_socket", t.drop_no_socket},
                  {"drop_out_of_window", t.drop_out_of_window},
                  {"drop_paws", t.drop_paws},
                  {"drop_bad_ack", t.drop_bad_ack},
                  {"drop_syn_backlog", t.drop_syn_backlog},
                  {"drop_table_full", t.drop_table_full},
                  {"drop_reassembly", t.drop_reassembly},
                  {"drop_no_buffer", t.drop_no_buffer},
                  {"drop_other", t.drop_other}});
  j.print();
}

enum class app : uint8_t { none, echo, discard, paused, sender, closer };

const char* app_name(app a) {
  switch (a) {
    case app::echo:
      return "echo";
    case app::discard:
      return "discard";
    case app::paused:
      return "paused";
    case app::sender:
      return "sender";
    case app::closer:
      return "closer";
    case app::none:
      break;
  }
  return "none";
}

// The apps, one entry per connection slot (the handle's low 32 bits).
class apps final : public net::tcp_handler {
 public:
  explicit apps(const options& o) : o_(o), slots_(o.tcp.max_connections) {
    // 64 KiB of the pattern plus one period, so any offset's octets are one contiguous span.
    pattern_.resize(65536 + 251);
    for (size_t i = 0; i < pattern_.size(); ++i) pattern_[i] = std::byte(i % 251);
  }
  void attach(net::tcp_stack& tcp) { tcp_ = &tcp; }
  [[nodiscard]] uint64_t echo_overflow() const { return echo_overflow_; }

  void on_accept(net::tcp_conn c, uint16_t local_port, net::ipv4_addr remote_addr,
                 uint16_t remote_port) override {
    conn_slot& s = slot(c);
    s = conn_slot{};
    s.kind = local_port == o_.echo_port      ? app::echo
             : local_port == o_.discard_port ? app::discard
             : local_port == o_.paused_port  ? app::paused
             : local_port == o_.sender_port  ? app::sender
             : local_port == o_.closer_port  ? app::closer
                                             : app::discard;
    json_line()
        .field("event", std::string("accept"))
        .field("app", std::string(app_name(s.kind)))
        .field("local_port", local_port)
        .field("remote", addr_text(remote_addr))
        .field("remote_port", remote_port)
        .print();
    switch (s.kind) {
      case app::paused:
        tcp_->pause_receive(c, true);
        break;
      case app::sender:
        s.remaining = o_.sender_bytes;
        pump(c, s);
        break;
      case app::closer:
        tcp_->close(c);
        break;
      default:
        break;
    }
  }
  void on_connect(net::tcp_conn c, int err) override {
    json_line()
        .field("event", std::string("connect"))
        .field("err", static_cast<uint64_t>(err))
        .print();
    if (err == 0) {
      slot(c) = conn_slot{};
      slot(c).kind = app::echo;
    }
  }
  void on_data(net::tcp_conn c, std::span<const std::byte> data) override {
    conn_slot& s = slot(c);
    if (s.kind != app::echo) return;
    const size_t n = tcp_->send(c, data);
    echo_overflow_ += data.size() - n;
  }
  void on_writable(net::tcp_conn c) override {
    conn_slot& s = slot(c);
    if (s.kind == app::sender) pump(c, s);
  }
  void on_close(net::tcp_conn c, int err) override {
    json_line()
        .field("event", std::string("close"))
        .field("app", std::string(app_name(slot(c).kind)))
        .field("err", static_cast<uint64_t>(err))
        .print();
    slot(c) = conn_slot{};
  }

 private:
  struct conn_slot {
    app kind = app::none;
    uint64_t sent = 0;
    uint64_t remaining = 0;
  };
  conn_slot& slot(net::tcp_conn c) { return slots_[static_cast<uint32_t>(c) % slots_.size()]; }
  void pump(net::tcp_conn c, conn_slot& s) {
    while (s.remaining > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(s.remaining, 65536));
      const size_t n =
          tcp_->send(c, std::span<const std::byte>(pattern_).subspan(s.sent % 251, want));
      if (n == 0) return;  // on_writable resumes
      s.sent += n;
      s.remaining -= n;
    }
  }

  const options& o_;
  net::tcp_stack* tcp_ = nullptr;
  std::vector<conn_slot> slots_;
  std::vector<std::byte> pattern_;
  uint64_t echo_overflow_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  options o;
  bool help = false;
  if (!parse_options(argc, argv, o, help)) return 2;
  if (help) {
    std::fputs(usage_text, stdout);
    return 0;
  }
  // Signals arrive through a signalfd polled with the device: no handler, no shared flag.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGUSR2);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return 1;
  const int sfd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) {
    std::fprintf(stderr, "net-peer: signalfd: %s\n", std::strerror(errno));
    return 1;
  }
  net::tap_link tap(o.tap, o.mac, o.mtu);
  if (!tap.valid()) {
    std::fprintf(stderr, "net-peer: %s\n", tap.error().c_str());
    return 1;
  }
  net::stack_config sc;
  sc.ip.addresses = {o.addr};
  sc.ip.netmask = o.netmask;
  net::stack st(tap, sc);
  o.tcp.start_us = now_us();
  apps handler(o);
  net::tcp_stack tcp(st.ip(), handler, o.tcp);
  handler.attach(tcp);
  st.register_protocol(net::ip_proto_tcp, tcp);
  for (const uint16_t port :
       {o.echo_port, o.discard_port, o.paused_port, o.sender_port, o.closer_port}) {
    const int r = tcp.listen(0, port, o.backlog);
    if (r < 0) {
      std::fprintf(stderr, "net-peer: listen on port %u: %s\n", port, std::strerror(-r));
      return 2;
    }
  }
  json_line()
      .field("event", std::string("ready"))
      .field("tap", tap.name())
      .field("addr", addr_text(o.addr))
      .field("pid", static_cast<uint64_t>(::getpid()))
      .print();

  auto connect_out = [&] {
    if (o.connect_port == 0) return;
    int err = 0;
    const net::tcp_conn c = tcp.connect(o.addr, o.connect_addr, o.connect_port, err);
    if (c == net::invalid_tcp_conn) {
      json_line()
          .field("event", std::string("connect"))
          .field("err", static_cast<uint64_t>(err))
          .print();
    }
    tcp.flush();
  };
  connect_out();

  std::vector<std::byte> buffer(32 * tap.max_frame());
  std::array<std::span<const std::byte>, 32> frames;
  uint64_t next_arp_timers = 0;
  for (;;) {
    std::array<pollfd, 2> pfd{pollfd{tap.fd(), POLLIN, 0}, pollfd{sfd, POLLIN, 0}};
    (void)::poll(pfd.data(), pfd.size(), 1);
    if (pfd[1].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGUSR1) {
          print_counters(st, tcp, tap, handler.echo_overflow(), false);
        } else if (si.ssi_signo == SIGUSR2) {
          connect_out();
        } else {
          print_counters(st, tcp, tap, handler.echo_overflow(), true);
          return 0;
        }
      }
    }
    // Bounded per turn: at most 8 bursts before the timers run again.
    for (int burst = 0; burst < 8; ++burst) {
      const size_t n = tap.rx_burst(buffer, frames);
      for (size_t i = 0; i < n; ++i) st.input(frames[i], now_us());
      tcp.flush();
      if (n < frames.size()) break;
    }
    const uint64_t now = now_us();
    tcp.timers(now);
    if (now >= next_arp_timers) {
      st.timers(now);
      next_arp_timers = now + 100'000;
    }
  }
}
