// esme-load: an SMPP load generator. N ESME sessions on one thread, over the project's kernel
// transport or (--dpdk-ip) a DPDK port with the userspace TCP/IP stack; results as JSON plus a
// one-line summary.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
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

#include "../common/dpdk_cli.hpp"
#include "load_generator.hpp"
#include "smpp/dataplane/kernel_transport.hpp"

namespace smpp::esme_load {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_incomplete = 1;
constexpr int exit_usage = 2;

constexpr std::string_view usage_text =
    "usage: esme-load --connect HOST:PORT --system-id ID --password PW\n"
    "                 (--count N | --duration S) --json FILE [options]\n"
    "\n"
    "Binds SMPP sessions and sends submit_sm as fast as allowed, then reports.\n"
    "\n"
    "  --connect HOST:PORT   the SMSC or router ([V6]:PORT for IPv6)\n"
    "  --system-id ID        bind system_id (1..15 characters)\n"
    "  --password PW         bind password (at most 8 characters)\n"
    "  --sessions N          sessions to bind (default 1)\n"
    "  --window N            outstanding submit_sm per session (default 64, at most 65536)\n"
    "  --rate N              submit_sm per second over all sessions; 0 = as fast as possible\n"
    "                        (default 0)\n"
    "  --count N             send N submit_sm, then stop (each part of a concatenated\n"
    "                        message is one submit_sm)\n"
    "  --duration S          send for S seconds, then stop\n"
    "  --dlr                 ask for delivery receipts (registered_delivery 1) and wait for\n"
    "                        one per accepted message, up to --dlr-wait after the last\n"
    "                        response or receipt; each receipt is matched to an accepted\n"
    "                        message by its id (the first --dlr-track ids are tracked)\n"
    "  --dlr-wait S          with --dlr: how long to wait for receipts (default 5)\n"
    "  --dlr-track N         with --dlr: message ids tracked for matching, 1..50000000\n"
    "                        (default 4000000); the table takes 32 octets per id, all of\n"
    "                        them at start; the accepted beyond it are counted\n"
    "                        receipt_ids_untracked\n"
    "  --mix SPEC            message mix as KIND:WEIGHT,... with kinds gsm (GSM 7-bit), ucs2\n"
    "                        (UCS-2) and concat (3-part GSM with UDH); default gsm:100\n"
    "  --bind-type trx|tx    bind_transceiver (default) or bind_transmitter; with tx and\n"
    "                        --dlr one extra bind_receiver session takes the receipts\n"
    "  --json FILE           write the results as JSON to FILE (- for stdout)\n"
    "  --source-addr ADDR    source_addr of every submit_sm, alphanumeric (TON 5): 1..11\n"
    "                        letters and digits (default esme-load), e.g. to tell runs apart\n"
    "                        at the SMSC\n"
    "  --per-second N        also count the accepted per wall-clock second, for the first N\n"
    "                        seconds that have one (1..86400): JSON accepted_by_second\n"
    "                        {UNIX_SECOND:n} and accepted_by_second_dropped (accepted after\n"
    "                        the first N seconds); seconds are the realtime clock at start plus\n"
    "                        the monotonic clock since, so separate runs line up\n"
    "  --progress            live status line on stderr (default: when stderr is a terminal)\n"
    "  --no-progress         no status line\n"
    "  --busy-poll           never sleep in the poll loop while sending: highest rate on a\n"
    "                        dedicated core, at the cost of a full core\n"
    "  -h, --help            print this help\n"
    "\n"
    "JSON: {\"sent\",\"accepted\",\"errors\":{STATUS_NAME:n},\"responses_stray\",\"receipts\",\n"
    "\"receipts_matched\",\"receipts_duplicate\",\"receipts_unknown\",\"receipt_ids_untracked\",\n"
    "\"mo\",\"duration_s\",\"submit_per_s\",\"latency_us\":{\"p50\",\"p99\",\"p999\",\"max\"},\n"
    "with --dlr \"receipt_duration_s\",\"receipts_per_s\",\"receipt_latency_us\":{\"p50\",\n"
    "\"p99\",\"p999\",\"max\"}, then \"unanswered\",\"sessions\",\"sessions_bound\",\n"
    "\"bind_failures\"}.\n"
    "responses_stray counts responses to no outstanding submit_sm (a second answer to one, or\n"
    "an answer to a sequence number never sent), in neither accepted nor errors; receipts\n"
    "counts every receipt, receipts_matched the accepted messages that got one,\n"
    "receipts_duplicate the further ones for the same message, receipts_unknown those for no\n"
    "message seen accepted; duration_s runs from the first submit_sm to the last response,\n"
    "latency is submit_sm to submit_sm_resp; receipt_latency is submit_sm to its receipt\n"
    "(matched receipts), receipt_duration_s runs from the first match to the last (a match:\n"
    "the later of a message's response and receipt), receipts_per_s is receipts_matched over\n"
    "it. SIGINT stops sending (twice: unbind at once).\n"
    "Exit status: 0 every submit_sm got a response, 1 some did not (timeout, connection lost,\n"
    "bind failed), 2 usage error.\n";

volatile std::sig_atomic_t g_interrupts = 0;
extern "C" void on_interrupt(int) {
  if (g_interrupts < 3) g_interrupts = g_interrupts + 1;
}

struct options {
  load_config load;
  bool has_connect = false;
  bool has_system_id = false;
  bool has_password = false;
  std::string json_path;
  int progress = -1;  // -1: when stderr is a terminal
  tools::dpdk_cli dpdk;
};

int usage_error(std::string_view why) {
  std::cerr << "esme-load: " << why << "\n" << usage_text << "\n" << tools::dpdk_cli_help;
  return exit_usage;
}

std::optional<uint64_t> parse_uint(std::string_view s, uint64_t lo, uint64_t hi) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi) return {};
  return v;
}

std::optional<double> parse_seconds(std::string_view s) {
  const std::string copy(s);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || errno != 0 || !std::isfinite(v) ||
      v <= 0 || v > 1e7) {
    return {};
  }
  return v;
}

std::optional<int> parse_options(int argc, char** argv, options& opt) {
  bool has_count = false;
  bool has_duration = false;
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
    if (a == "--dlr") {
      opt.load.dlr = true;
      continue;
    }
    if (a == "--busy-poll") {
      opt.load.busy_poll = true;
      continue;
    }
    if (a == "--progress" || a == "--no-progress") {
      opt.progress = a == "--progress" ? 1 : 0;
      continue;
    }
    std::string_view value;
    const size_t eq = a.find('=');
    const bool inline_value = a.starts_with("--") && eq != std::string_view::npos;
    if (inline_value) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    const std::string name(a);
    if (a == "--connect" || a == "--system-id" || a == "--password" || a == "--sessions" ||
        a == "--window" || a == "--rate" || a == "--count" || a == "--duration" || a == "--mix" ||
        a == "--bind-type" || a == "--json" || a == "--dlr-wait" || a == "--dlr-track" ||
        a == "--per-second" || a == "--source-addr" || tools::dpdk_cli::takes_value(a)) {
      if (!inline_value) {
        if (i + 1 >= argc) return usage_error(name + " needs a value");
        value = argv[++i];
      }
    } else {
      return usage_error("unknown option " + std::string(argv[i]));
    }
    const std::string bad = name + ": invalid value '" + std::string(value) + "'";
    if (tools::dpdk_cli::takes_value(a)) {
      if (std::string why = opt.dpdk.parse(a, value); !why.empty()) return usage_error(why);
    } else if (a == "--connect") {
      if (!dataplane::endpoint::parse(value, opt.load.connect)) {
        return usage_error(bad + " (HOST:PORT)");
      }
      opt.has_connect = true;
    } else if (a == "--system-id") {
      // SMPP 3.4 §4.1.1: system_id up to 15 characters, password up to 8.
      if (value.empty() || value.size() > 15) return usage_error(bad + " (1..15 characters)");
      opt.load.system_id = value;
      opt.has_system_id = true;
    } else if (a == "--password") {
      if (value.size() > 8) return usage_error(bad + " (at most 8 characters)");
      opt.load.password = value;
      opt.has_password = true;
    } else if (a == "--sessions") {
      const auto v = parse_uint(value, 1, 10000);
      if (!v) return usage_error(bad + " (1..10000)");
      opt.load.sessions = static_cast<uint32_t>(*v);
    } else if (a == "--window") {
      const auto v = parse_uint(value, 1, 65536);
      if (!v) return usage_error(bad + " (1..65536)");
      opt.load.window = static_cast<uint32_t>(*v);
    } else if (a == "--rate") {
      const auto v = parse_uint(value, 0, 1'000'000'000);
      if (!v) return usage_error(bad + " (0..1000000000)");
      opt.load.rate_per_s = *v;
    } else if (a == "--source-addr") {
      // GSM 03.40 §9.1.2.5: an alphanumeric address holds at most 11 characters.
      const bool alnum = std::all_of(value.begin(), value.end(), [](char ch) {
        return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
      });
      if (value.empty() || value.size() > 11 || !alnum) {
        return usage_error(bad + " (1..11 letters and digits)");
      }
      opt.load.source_addr = value;
    } else if (a == "--per-second") {
      const auto v = parse_uint(value, 1, 86'400);
      if (!v) return usage_error(bad + " (1..86400)");
      opt.load.per_second_max = static_cast<uint32_t>(*v);
    } else if (a == "--count") {
      const auto v = parse_uint(value, 1, UINT64_MAX / 2);
      if (!v) return usage_error(bad + " (a positive number)");
      opt.load.count = *v;
      has_count = true;
    } else if (a == "--duration") {
      const auto v = parse_seconds(value);
      if (!v) return usage_error(bad + " (seconds > 0)");
      opt.load.duration_s = *v;
      has_duration = true;
    } else if (a == "--dlr-wait") {
      const auto v = parse_seconds(value);
      if (!v) return usage_error(bad + " (seconds > 0)");
      opt.load.dlr_wait_us = static_cast<uint64_t>(*v * 1e6);
    } else if (a == "--dlr-track") {
      const auto v = parse_uint(value, 1, 50'000'000);
      if (!v) return usage_error(bad + " (1..50000000)");
      opt.load.dlr_track_max = static_cast<size_t>(*v);
    } else if (a == "--mix") {
      const std::string why = parse_mix(value, opt.load.mix);
      if (!why.empty()) return usage_error("--mix: " + why);
    } else if (a == "--bind-type") {
      if (value != "trx" && value != "tx") return usage_error(bad + " (trx or tx)");
      opt.load.transceiver = value == "trx";
    } else if (a == "--json") {
      if (value.empty()) return usage_error(bad);
      opt.json_path = value;
    }
  }
  if (!opt.has_connect) return usage_error("--connect HOST:PORT is required");
  if (!opt.has_system_id) return usage_error("--system-id is required");
  if (!opt.has_password) return usage_error("--password is required");
  if (has_count == has_duration) return usage_error("give exactly one of --count and --duration");
  if (opt.json_path.empty()) return usage_error("--json FILE is required");
  if (std::string why = opt.dpdk.check(); !why.empty()) return usage_error(why);
  if (opt.dpdk.enabled && opt.load.connect.host.find(':') != std::string::npos) {
    return usage_error("--connect: the DPDK stack speaks IPv4 only");
  }
  return std::nullopt;
}

// One line on stderr: what the DPDK port and the TCP stack did (retransmits under loss, faults).
void print_dpdk_counters(const dataplane::dpdk::dpdk_transport& t) {
  std::fprintf(stderr,
               "esme-load: dpdk: %llu frames in, %llu out, %llu retransmits, %llu out of order; "
               "faults rx %llu lost %llu duplicated %llu reordered, tx %llu lost %llu duplicated "
               "%llu reordered\n",
               static_cast<unsigned long long>(t.link_counters().rx_frames),
               static_cast<unsigned long long>(t.link_counters().tx_frames),
               static_cast<unsigned long long>(t.tcp_counters().retransmits),
               static_cast<unsigned long long>(t.tcp_counters().out_of_order),
               static_cast<unsigned long long>(t.rx_faults().lost),
               static_cast<unsigned long long>(t.rx_faults().duplicated),
               static_cast<unsigned long long>(t.rx_faults().reordered),
               static_cast<unsigned long long>(t.tx_faults().lost),
               static_cast<unsigned long long>(t.tx_faults().duplicated),
               static_cast<unsigned long long>(t.tx_faults().reordered));
}

bool write_json(const std::string& path, const std::string& json) {
  if (path == "-") {
    std::fwrite(json.data(), 1, json.size(), stdout);
    return std::fflush(stdout) == 0;
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    std::cerr << "esme-load: cannot write " << path << ": " << std::strerror(errno) << "\n";
    return false;
  }
  const bool ok = std::fwrite(json.data(), 1, json.size(), f) == json.size();
  if (std::fclose(f) != 0 || !ok) {
    std::cerr << "esme-load: cannot write " << path << ": " << std::strerror(errno) << "\n";
    return false;
  }
  return true;
}

int run(options& opt) {
  // Fail on an unwritable report before the test, not after it.
  if (opt.json_path != "-") {
    std::FILE* probe = std::fopen(opt.json_path.c_str(), "ab");
    if (probe == nullptr) {
      std::cerr << "esme-load: cannot write " << opt.json_path << ": " << std::strerror(errno)
                << "\n";
      return exit_usage;
    }
    std::fclose(probe);
  }
  opt.load.progress = opt.progress < 0 ? isatty(STDERR_FILENO) == 1 : opt.progress == 1;

  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, nullptr);

  dataplane::transport_limits limits;
  limits.max_connections = opt.load.sessions + 8;  // the sessions and a receiver for --dlr
  tools::dpdk_runtime dpdk;
  std::optional<dataplane::kernel_transport> kernel;
  std::optional<tools::yielding_transport> yielding;
  dataplane::transport* transport = nullptr;
  if (opt.dpdk.enabled) {
    std::string error;
    if (!dpdk.start(opt.dpdk, "esme-load", limits.max_connections, limits, error)) {
      std::cerr << "esme-load: " << error << "\n";
      return exit_incomplete;
    }
    transport = dpdk.transport.get();
    // Without --busy-poll an idle look gives the core away (yields, or the transport sleeps
    // with --dpdk-idle-sleep-us): esme-load may share it.
    if (opt.dpdk.yields(opt.load.busy_poll)) transport = &yielding.emplace(*dpdk.transport);
  } else {
    transport = &kernel.emplace(limits);
  }
  load_generator generator(*transport, opt.load);
  transport->set_handler(&generator);
  generator.run(g_interrupts);
  transport->set_handler(nullptr);
  if (dpdk.transport) print_dpdk_counters(*dpdk.transport);

  const load_results& r = generator.results();
  const bool written = write_json(opt.json_path, to_json(r));
  std::fputs(summary_line(r).c_str(), opt.json_path == "-" ? stderr : stdout);
  std::fflush(stdout);
  return dpdk.finish(r.complete() && written ? exit_ok : exit_incomplete);
}

}  // namespace
}  // namespace smpp::esme_load

int main(int argc, char** argv) {
  smpp::esme_load::options opt;
  if (const auto status = smpp::esme_load::parse_options(argc, argv, opt)) return *status;
  return smpp::esme_load::run(opt);
}
