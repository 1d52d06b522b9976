// smsc-sim: an upstream SMSC simulator for load tests. One thread, one poll loop over the
// project's kernel transport or (--dpdk-ip) a DPDK port with the userspace TCP/IP stack;
// counters as JSON on exit and on SIGUSR1.
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../common/dpdk_cli.hpp"
#include "simulator.hpp"
#include "smpp/dataplane/kernel_transport.hpp"
#include "smpp/dataplane/tls.hpp"

namespace smpp::smsc_sim {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;
constexpr uint64_t micro = 1'000'000;
// Longest poll wait: bounds how late SIGUSR1 / SIGTERM and --duration are noticed.
constexpr uint64_t max_poll_wait_us = 50'000;

constexpr std::string_view usage_text =
    "usage: smsc-sim --listen HOST:PORT [options]\n"
    "\n"
    "Simulates an upstream SMSC: accepts SMPP binds and answers submit_sm, data_sm and\n"
    "submit_multi, sends delivery receipts and mobile-originated messages.\n"
    "\n"
    "  --listen HOST:PORT    address to listen on ([V6]:PORT for IPv6); port 0 picks a free\n"
    "                        port, printed on stderr as \"smsc-sim: listening on HOST:PORT\"\n"
    "  --tps N               accept at most N messages per second over all sessions (token\n"
    "                        bucket, burst 1/100 s); beyond it ESME_RTHROTTLED; 0 = no limit\n"
    "  --latency-ms N        answer messages after N ms (default 0: at once)\n"
    "  --dlr-delay-ms N      send delivery receipts N ms after the response (default 0)\n"
    "  --error-rate P        answer a share P (0..1) of messages with ESME_RSYSERR or\n"
    "                        ESME_RSUBMITFAIL (default 0)\n"
    "  --mo-rate N           originate N MO deliver_sm per second to bound receivers\n"
    "  --mo-count N          with --mo-rate: originate N MO deliver_sm in all, then no more\n"
    "                        (default 0: no limit)\n"
    "  --system-id ID        accept only this system_id (default: any)\n"
    "  --password PW         accept only this password (default: any)\n"
    "  --json FILE           write the counters to FILE instead of stdout\n"
    "  --duration S          exit after S seconds (default: run until SIGINT/SIGTERM)\n"
    "  --seed N              seed of the error injection (default fixed)\n"
    "  --tls-cert FILE       with --tls-key: the listener speaks TLS (1.2 or 1.3) with this\n"
    "                        PEM certificate chain\n"
    "  --tls-key FILE        the PEM private key of --tls-cert\n"
    "  --journal FILE        keep the receipts owed in FILE across restarts (see below)\n"
    "  --journal-max N       owe at most N receipts (default 100000); beyond it a submit\n"
    "                        asking for a receipt is answered ESME_RMSGQFUL (journal_full)\n"
    "  --arrivals FILE       on exit, write to FILE when each message request (submit_sm,\n"
    "                        data_sm, submit_multi of a bound session) arrived: one line per\n"
    "                        request, \"MICROSECONDS SOURCE_ADDR\" (CLOCK_MONOTONIC; \"-\" for\n"
    "                        an empty source_addr, \"*\" for any after the first 255 distinct\n"
    "                        ones), in arrival order\n"
    "  --arrivals-max N      keep at most N arrival times (default 1000000, at most\n"
    "                        10000000; 9 octets each); later requests are only counted\n"
    "                        (arrivals_dropped)\n"
    "  --busy-poll           never sleep in the poll loop: lowest latency and highest rate on\n"
    "                        a dedicated core, a full core used even when idle\n"
    "  -h, --help            print this help\n"
    "\n"
    "Delivery receipts (registered_delivery 1) go to the submitting session when it is a\n"
    "transceiver, else to a receiver bound with the same system_id. The counters are printed\n"
    "as one JSON line on exit (SIGINT, SIGTERM, --duration) and on SIGUSR1.\n"
    "\n"
    "With --journal, each accepted message that asks for a receipt is appended to FILE before\n"
    "its submit_sm_resp is sent, and each receipt the receiver acknowledged (deliver_sm_resp\n"
    "ESME_ROK) is appended as done; appends are whole lines written with write(2), so a kill\n"
    "(even SIGKILL) loses nothing that was answered and leaves at most a torn last line, which\n"
    "the next start ignores. On start the receipts still owed are read, FILE is rewritten with\n"
    "only them, and they go to the first receiver or transceiver of their system_id that binds,\n"
    "--dlr-delay-ms after its bind (counted receipts_replayed). Receipts refused by the\n"
    "receiver are sent again 1 s later; those unanswered when their session closes go to another\n"
    "receiver of the system_id or wait for one. Message ids are reserved in FILE in blocks, so\n"
    "they stay unique across restarts. FILE grows by one line per receipt until the next start.\n"
    "Exit status: 0 normal exit, 1 cannot listen, use the journal or write the counters or\n"
    "the arrival times, 2 usage error.\n";

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_dump = 0;

extern "C" void on_stop_signal(int) {
  g_stop = 1;
}
extern "C" void on_dump_signal(int) {
  g_dump = 1;
}

uint64_t now_us() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * micro + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

struct options {
  dataplane::endpoint listen;
  bool has_listen = false;
  sim_config sim;
  std::string json_path;
  double duration_s = 0;
  bool busy_poll = false;
  std::string tls_cert;
  std::string tls_key;
  std::string arrivals_path;
  uint64_t arrivals_max = 1'000'000;
  bool has_arrivals_max = false;
  tools::dpdk_cli dpdk;
};

int usage_error(std::string_view why) {
  std::cerr << "smsc-sim: " << why << "\n" << usage_text << "\n" << tools::dpdk_cli_help;
  return exit_usage;
}

std::optional<uint64_t> parse_uint(std::string_view s, uint64_t max) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v > max) return {};
  return v;
}

std::optional<double> parse_double(std::string_view s, double lo, double hi) {
  const std::string copy(s);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || errno != 0 || !std::isfinite(v) ||
      v < lo || v > hi) {
    return {};
  }
  return v;
}

// endpoint::parse refuses port 0, which here asks the kernel for a free port.
bool parse_listen(std::string_view text, dataplane::endpoint& out) {
  if (text.ends_with(":0")) {
    const std::string with_port = std::string(text.substr(0, text.size() - 1)) + "1";
    if (!dataplane::endpoint::parse(with_port, out)) return false;
    out.port = 0;
    return true;
  }
  return dataplane::endpoint::parse(text, out);
}

std::optional<int> parse_options(int argc, char** argv, options& opt) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << usage_text << "\n" << tools::dpdk_cli_help;
      return exit_ok;
    }
    if (tools::dpdk_cli::is_flag(a)) {
      if (std::string why = opt.dpdk.parse(a, {}); !why.empty()) return usage_error(why);
      continue;
    }
    if (a == "--busy-poll") {
      opt.busy_poll = true;
      continue;
    }
    std::string_view value;
    const size_t eq = a.find('=');
    const bool inline_value = a.starts_with("--") && eq != std::string_view::npos;
    if (inline_value) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto need_value = [&]() -> bool {
      if (inline_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    const std::string name(a);
    if (a == "--listen" || a == "--tps" || a == "--latency-ms" || a == "--dlr-delay-ms" ||
        a == "--error-rate" || a == "--mo-rate" || a == "--mo-count" || a == "--system-id" ||
        a == "--password" || a == "--json" || a == "--duration" || a == "--seed" ||
        a == "--tls-cert" || a == "--tls-key" || a == "--journal" || a == "--journal-max" ||
        a == "--arrivals" || a == "--arrivals-max" || tools::dpdk_cli::takes_value(a)) {
      if (!need_value()) return usage_error(name + " needs a value");
    } else {
      return usage_error("unknown option " + std::string(argv[i]));
    }
    const std::string bad = name + ": invalid value '" + std::string(value) + "'";
    if (tools::dpdk_cli::takes_value(a)) {
      if (std::string why = opt.dpdk.parse(a, value); !why.empty()) return usage_error(why);
    } else if (a == "--listen") {
      if (!parse_listen(value, opt.listen)) return usage_error(bad + " (HOST:PORT)");
      opt.has_listen = true;
    } else if (a == "--tps") {
      const auto v = parse_uint(value, 1'000'000'000);
      if (!v) return usage_error(bad + " (0..1000000000)");
      opt.sim.tps = *v;
    } else if (a == "--latency-ms" || a == "--dlr-delay-ms") {
      const auto v = parse_uint(value, 3'600'000);
      if (!v) return usage_error(bad + " (0..3600000)");
      (a == "--latency-ms" ? opt.sim.latency_us : opt.sim.dlr_delay_us) = *v * 1000;
    } else if (a == "--error-rate") {
      const auto v = parse_double(value, 0, 1);
      if (!v) return usage_error(bad + " (0..1)");
      opt.sim.error_rate = *v;
    } else if (a == "--mo-rate") {
      const auto v = parse_uint(value, 10'000'000);
      if (!v) return usage_error(bad + " (0..10000000)");
      opt.sim.mo_rate_per_s = *v;
    } else if (a == "--mo-count") {
      const auto v = parse_uint(value, UINT64_MAX);
      if (!v) return usage_error(bad + " (a count; 0: no limit)");
      opt.sim.mo_count = *v;
    } else if (a == "--system-id") {
      // SMPP 3.4 §4.1.1: system_id is at most 15 characters.
      if (value.empty() || value.size() > 15) return usage_error(bad + " (1..15 characters)");
      opt.sim.system_id = value;
      opt.sim.check_system_id = true;
    } else if (a == "--password") {
      if (value.size() > 8) return usage_error(bad + " (at most 8 characters)");  // §4.1.1
      opt.sim.password = value;
      opt.sim.check_password = true;
    } else if (a == "--json") {
      if (value.empty()) return usage_error(bad);
      opt.json_path = value;
    } else if (a == "--duration") {
      const auto v = parse_double(value, 0, 1e7);
      if (!v || *v <= 0) return usage_error(bad + " (seconds > 0)");
      opt.duration_s = *v;
    } else if (a == "--tls-cert" || a == "--tls-key") {
      if (value.empty()) return usage_error(bad + " (a file)");
      (a == "--tls-cert" ? opt.tls_cert : opt.tls_key) = value;
    } else if (a == "--journal") {
      if (value.empty()) return usage_error(bad + " (a file)");
      opt.sim.journal_path = value;
    } else if (a == "--journal-max") {
      const auto v = parse_uint(value, 100'000'000);
      if (!v || *v == 0) return usage_error(bad + " (1..100000000)");
      opt.sim.journal_max_pending = *v;
    } else if (a == "--arrivals") {
      if (value.empty()) return usage_error(bad + " (a file)");
      opt.arrivals_path = value;
    } else if (a == "--arrivals-max") {
      const auto v = parse_uint(value, 10'000'000);
      if (!v || *v == 0) return usage_error(bad + " (1..10000000)");
      opt.arrivals_max = *v;
      opt.has_arrivals_max = true;
    } else if (a == "--seed") {
      const auto v = parse_uint(value, UINT64_MAX);
      if (!v) return usage_error(bad);
      opt.sim.seed = *v;
    }
  }
  if (!opt.has_listen) return usage_error("--listen HOST:PORT is required");
  if (opt.tls_cert.empty() != opt.tls_key.empty()) {
    return usage_error("--tls-cert and --tls-key go together");
  }
  if (opt.has_arrivals_max && opt.arrivals_path.empty()) {
    return usage_error("--arrivals-max needs --arrivals FILE");
  }
  if (!opt.arrivals_path.empty()) opt.sim.arrivals_max = opt.arrivals_max;
  if (std::string why = opt.dpdk.check(); !why.empty()) return usage_error(why);
  if (opt.dpdk.enabled) {
    if (opt.listen.port == 0 || opt.listen.host.find(':') != std::string::npos) {
      return usage_error(
          "--listen with --dpdk-ip: an IPv4 address (or 0.0.0.0) and a port 1..65535");
    }
    if (!opt.tls_cert.empty()) return usage_error("--tls-cert: TLS runs on kernel sockets only");
  }
  return std::nullopt;
}

// One JSON line to stdout, or FILE replaced atomically (a reader never sees half a report).
bool write_report(const options& opt, const std::string& json) {
  if (opt.json_path.empty()) {
    std::fwrite(json.data(), 1, json.size(), stdout);
    return std::fflush(stdout) == 0;
  }
  const std::string tmp = opt.json_path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    std::cerr << "smsc-sim: cannot write " << tmp << ": " << std::strerror(errno) << "\n";
    return false;
  }
  const bool ok = std::fwrite(json.data(), 1, json.size(), f) == json.size();
  if (std::fclose(f) != 0 || !ok || std::rename(tmp.c_str(), opt.json_path.c_str()) != 0) {
    std::cerr << "smsc-sim: cannot write " << opt.json_path << ": " << std::strerror(errno) << "\n";
    return false;
  }
  return true;
}

// --arrivals: one line per kept arrival time.
bool write_arrivals(const std::string& path, const simulator& sim) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    std::cerr << "smsc-sim: cannot write " << path << ": " << std::strerror(errno) << "\n";
    return false;
  }
  bool ok = true;
  const std::vector<uint64_t>& at = sim.arrivals();
  for (size_t i = 0; i < at.size(); ++i) {
    const std::string& source = sim.arrival_sources()[sim.arrival_source()[i]];
    ok &= std::fprintf(f, "%llu %s\n", static_cast<unsigned long long>(at[i]),
                       source.empty() ? "-" : source.c_str()) > 0;
  }
  if (std::fclose(f) != 0 || !ok) {
    std::cerr << "smsc-sim: cannot write " << path << ": " << std::strerror(errno) << "\n";
    return false;
  }
  return true;
}

void install_signals() {
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_stop_signal;  // no SA_RESTART: the poll wakes up at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_dump_signal;
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, nullptr);
}

int run(const options& opt) {
  install_signals();
  tools::dpdk_runtime dpdk;
  std::optional<dataplane::kernel_transport> kernel;
  if (opt.dpdk.enabled) {
    std::string error;
    dataplane::transport_limits limits;
    limits.max_connections = opt.dpdk.tcp_connections != 0 ? opt.dpdk.tcp_connections / 2 : 1024;
    if (!dpdk.start(opt.dpdk, "smsc-sim", limits.max_connections, limits, error)) {
      std::cerr << "smsc-sim: " << error << "\n";
      return exit_failure;
    }
  } else {
    kernel.emplace();
  }
  // Without --busy-poll an idle look gives the core away (yields, or the transport sleeps with
  // --dpdk-idle-sleep-us): smsc-sim may share it.
  std::optional<tools::yielding_transport> yielding;
  if (opt.dpdk.yields(opt.busy_poll)) yielding.emplace(*dpdk.transport);
  dataplane::transport& transport = yielding ? static_cast<dataplane::transport&>(*yielding)
                                    : opt.dpdk.enabled
                                        ? static_cast<dataplane::transport&>(*dpdk.transport)
                                        : *kernel;
  simulator sim(transport, opt.sim);
  transport.set_handler(&sim);
  if (!opt.sim.journal_path.empty()) {
    std::string message;
    const bool opened = sim.open_journal(message);
    std::cerr << "smsc-sim: " << message << "\n";
    if (!opened) return exit_failure;
  }
  dataplane::endpoint ep = opt.listen;
  if (!opt.tls_cert.empty()) {
    std::string error;
    ep.tls = dataplane::tls_context::make_server({opt.tls_cert, opt.tls_key, {}}, error);
    if (!ep.tls) {
      std::cerr << "smsc-sim: " << error << "\n";
      return exit_failure;
    }
  }
  const int listener = transport.listen(ep);
  if (listener < 0) {
    std::cerr << "smsc-sim: cannot listen on " << opt.listen.to_string() << ": "
              << std::strerror(-listener) << "\n";
    return exit_failure;
  }
  dataplane::endpoint bound = opt.listen;
  if (kernel) bound.port = kernel->local_port(static_cast<uint32_t>(listener));
  std::cerr << "smsc-sim: listening on " << bound.to_string() << std::endl;

  const uint64_t start = now_us();
  const uint64_t deadline =
      opt.duration_s > 0 ? start + static_cast<uint64_t>(opt.duration_s * 1e6) : UINT64_MAX;
  bool ok = true;
  while (g_stop == 0) {
    uint64_t now = now_us();
    if (now >= deadline) break;
    const uint64_t wait =
        opt.busy_poll ? 0 : std::min(sim.next_timer_in_us(now, max_poll_wait_us), deadline - now);
    transport.poll(static_cast<int>(wait));
    now = now_us();
    if (sim.run_timers(now)) transport.flush();
    if (g_dump != 0) {
      g_dump = 0;
      ok &= write_report(opt, to_json(sim.counters(), static_cast<double>(now - start) / 1e6));
    }
  }
  transport.flush();
  if (dpdk.transport) {
    const auto& t = *dpdk.transport;
    std::fprintf(stderr,
                 "smsc-sim: dpdk: %llu frames in, %llu out, %llu retransmits, %llu out of order\n",
                 static_cast<unsigned long long>(t.link_counters().rx_frames),
                 static_cast<unsigned long long>(t.link_counters().tx_frames),
                 static_cast<unsigned long long>(t.tcp_counters().retransmits),
                 static_cast<unsigned long long>(t.tcp_counters().out_of_order));
  }
  if (!opt.arrivals_path.empty()) ok &= write_arrivals(opt.arrivals_path, sim);
  ok &= write_report(opt, to_json(sim.counters(), static_cast<double>(now_us() - start) / 1e6));
  return dpdk.finish(ok ? exit_ok : exit_failure);
}

}  // namespace
}  // namespace smpp::smsc_sim

int main(int argc, char** argv) {
  smpp::smsc_sim::options opt;
  if (const auto status = smpp::smsc_sim::parse_options(argc, argv, opt)) return *status;
  return smpp::smsc_sim::run(opt);
}
