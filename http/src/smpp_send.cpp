// smpp-send: smpp-http's message builders from the shell, speaking SMPP straight to a router or
// an SMSC: one message, or a CSV campaign at a rate, followed to its receipts.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "clock.hpp"
#include "smpp/codec/receipt.hpp"
#include "smpp/codec/status.hpp"
#include "smpp/http/campaign_csv.hpp"
#include "smpp/http/message_store.hpp"
#include "smpp/http/send_request.hpp"
#include "smpp/http/smsc_sessions.hpp"

namespace {

using json = nlohmann::json;
using namespace smpp::http;

constexpr const char* usage =
    "usage: smpp-send [SMSC options] --to NUMBER[,NUMBER...] MESSAGE [options]\n"
    "       smpp-send [SMSC options] --csv FILE --text TEMPLATE [options]\n"
    "\n"
    "Sends SMS over SMPP transceiver binds with smpp-http's message builders and follows each\n"
    "message to its delivery receipt.\n"
    "\n"
    "MESSAGE, one of:\n"
    "  --text TEXT         text: GSM 03.38 when it fits, else UCS-2; split with UDH when long\n"
    "  --flash             with --text: message class 0\n"
    "  --wap-push URL      a WAP Service Indication (with --text) or Service Loading (without)\n"
    "  --mms URL           an MMS notification (m-notification-ind) for the message at URL\n"
    "  --mms-size N        its size in octets (default 1024); --subject S its subject\n"
    "\n"
    "Campaign:\n"
    "  --csv FILE          recipients: a header line naming the columns (the number first), one\n"
    "                      row each; --text fills {column} from the row. Broken rows are\n"
    "                      reported on stderr with their line number; the rest are sent\n"
    "  --max-rows N        at most N rows (default 1000000)\n"
    "\n"
    "Options:\n"
    "  --smsc HOST:PORT    the router or SMSC (default 127.0.0.1:2775)\n"
    "  --system-id ID      (default demo)  --password PW (default demo)\n"
    "  --sessions N        transceiver binds (default 2)  --window N  unanswered per bind (64)\n"
    "  --from SENDER       a number or 1..11 characters (default SMPPSEND)\n"
    "  --rate N            messages per second (default 0: as fast as the binds take them)\n"
    "  --no-dlr            ask for no receipts: done once the SMSC accepted each message\n"
    "  --wait-s N          wait at most N s for every message to be final (default 60)\n"
    "  -h, --help          print this help\n"
    "\n"
    "While it runs, a progress bar with the ETA is drawn on stderr when it is a terminal. At the\n"
    "end one JSON line on stdout: messages, parts, rows refused, and counts by final state, by\n"
    "SMPP status of the rejected and by receipt stat of the failed.\n"
    "Exit status: 0 every message delivered (accepted with --no-dlr), 3 some were not, 1 no bind\n"
    "came up, 2 usage error.\n";

struct options {
  smsc_config smsc;
  std::vector<std::string> to;
  std::string text;
  bool has_text = false;
  bool flash = false;
  std::string wap_push;
  std::string mms;
  std::uint32_t mms_size = 1024;
  std::string subject;
  std::string csv;
  std::size_t max_rows = 1'000'000;
  std::string from = "SMPPSEND";
  std::uint32_t rate = 0;
  bool dlr = true;
  std::uint32_t wait_s = 60;
};

bool number_arg(const char* text, std::uint64_t max, std::uint64_t& out) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || v > max || text[0] == '-') return false;
  out = v;
  return true;
}

// The options, or an exit status (0 for --help, 2 for a usage error).
std::variant<options, int> parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (a == "--flash") {
      o.flash = true;
      continue;
    }
    if (a == "--no-dlr") {
      o.dlr = false;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "smpp-send: %s: unknown option or missing value\n%s", a.c_str(), usage);
      return 2;
    }
    const char* v = argv[++i];
    std::uint64_t n = 0;
    bool ok = true;
    if (a == "--smsc") {
      const std::string s = v;
      const std::size_t colon = s.rfind(':');
      ok = colon != std::string::npos && colon != 0 &&
           number_arg(s.c_str() + colon + 1, 65535, n) && n != 0;
      if (ok) {
        o.smsc.host = s.substr(0, colon);
        o.smsc.port = static_cast<std::uint16_t>(n);
      }
    } else if (a == "--system-id") {
      o.smsc.system_id = v;
      ok = o.smsc.system_id.size() <= 15;  // SMPP 3.4 §4.1.1
    } else if (a == "--password") {
      o.smsc.password = v;
      ok = o.smsc.password.size() <= 8;
    } else if (a == "--sessions") {
      ok = number_arg(v, 64, n) && n != 0;
      o.smsc.sessions = static_cast<unsigned>(n);
    } else if (a == "--window") {
      ok = number_arg(v, 65535, n) && n != 0;
      o.smsc.window = static_cast<unsigned>(n);
    } else if (a == "--to") {
      std::stringstream list(v);
      for (std::string t; std::getline(list, t, ',');) o.to.push_back(t);
    } else if (a == "--text") {
      o.text = v;
      o.has_text = true;
    } else if (a == "--wap-push") {
      o.wap_push = v;
    } else if (a == "--mms") {
      o.mms = v;
    } else if (a == "--mms-size") {
      ok = number_arg(v, 0xFFFFFFFF, n);
      o.mms_size = static_cast<std::uint32_t>(n);
    } else if (a == "--subject") {
      o.subject = v;
    } else if (a == "--csv") {
      o.csv = v;
    } else if (a == "--max-rows") {
      ok = number_arg(v, 100'000'000, n) && n != 0;
      o.max_rows = n;
    } else if (a == "--from") {
      o.from = v;
    } else if (a == "--rate") {
      ok = number_arg(v, 10'000'000, n);
      o.rate = static_cast<std::uint32_t>(n);
    } else if (a == "--wait-s") {
      ok = number_arg(v, 86400, n);
      o.wait_s = static_cast<std::uint32_t>(n);
    } else {
      std::fprintf(stderr, "smpp-send: %s: unknown option\n%s", a.c_str(), usage);
      return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "smpp-send: %s %s: invalid value (see --help)\n", a.c_str(), v);
      return 2;
    }
  }
  const int kinds = (o.wap_push.empty() ? 0 : 1) + (o.mms.empty() ? 0 : 1) +
                    (o.has_text && o.wap_push.empty() ? 1 : 0);
  if (kinds != 1 || (o.csv.empty() == o.to.empty()) || (!o.csv.empty() && !o.has_text)) {
    std::fprintf(stderr,
                 "smpp-send: give --to or --csv, and one of --text, --wap-push, --mms (a "
                 "campaign takes --text)\n%s",
                 usage);
    return 2;
  }
  return o;
}

// The request body smpp-http would take for these recipients and this text.
std::string body_for(const options& o, const json& to, const std::string& text) {
  json b;
  b["to"] = to;
  b["from"] = o.from;
  b["dlr"] = o.dlr;
  if (!o.wap_push.empty()) {
    b["wap_push"] = {{"href", o.wap_push}};
    if (o.has_text) b["wap_push"]["text"] = text;
  } else if (!o.mms.empty()) {
    b["mms_notification"] = {{"location", o.mms}, {"size", o.mms_size}};
    if (!o.subject.empty()) b["mms_notification"]["subject"] = o.subject;
  } else {
    b["text"] = text;
    if (o.flash) b["flash"] = true;
  }
  return b.dump();
}

struct tally {
  std::map<std::string, std::size_t> by_state;
  std::map<std::string, std::size_t> by_status;   // rejected, by SMPP status
  std::map<std::string, std::size_t> by_receipt;  // failed and expired, by receipt stat
  std::size_t final_count = 0;
};

tally count(const message_store& store, std::uint64_t first_id, std::size_t n, bool dlr) {
  tally t;
  for (std::uint64_t id = first_id; id < first_id + n; ++id) {
    const auto v = store.find(id, 0);
    if (!v) continue;
    ++t.by_state[std::string(to_string(v->state))];
    if (is_final(v->state, dlr)) ++t.final_count;
    if (v->state == message_state::rejected) {
      ++t.by_status[std::string(
          smpp::codec::status_name(static_cast<smpp::codec::command_status>(v->smpp_status)))];
    } else if (v->state == message_state::failed || v->state == message_state::expired) {
      ++t.by_receipt[std::string(smpp::codec::stat_abbreviation(
          static_cast<smpp::codec::message_state>(v->receipt_stat)))];
    }
  }
  return t;
}

void draw_progress(std::size_t done, std::size_t total, double elapsed_s) {
  constexpr int width = 30;
  const double share = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const int filled = static_cast<int>(share * width);
  const double eta =
      done == 0 ? 0 : elapsed_s * static_cast<double>(total - done) / static_cast<double>(done);
  std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu final  %5.1f%%  ETA %.0f s ", filled,
               "##############################", width - filled, "", done, total, share * 100, eta);
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse(argc, argv);
  if (const int* status = std::get_if<int>(&parsed)) return *status;
  const options& o = std::get<options>(parsed);

  // The requests: one for --to, one per row for --csv.
  std::vector<std::string> bodies;
  std::size_t rows_refused = 0;
  if (o.csv.empty()) {
    bodies.push_back(body_for(o, o.to, o.text));
  } else {
    std::ifstream in(o.csv, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "smpp-send: %s: cannot read\n", o.csv.c_str());
      return 2;
    }
    std::stringstream content;
    content << in.rdbuf();
    const campaign_rows rows = read_campaign_csv(content.str(), o.max_rows);
    for (const campaign_fault& f : rows.faults) {
      std::fprintf(stderr, "smpp-send: %s:%zu: %s\n", o.csv.c_str(), f.line, f.reason.c_str());
    }
    rows_refused = rows.faults.size();
    for (const campaign_row& r : rows.rows) {
      std::string text;
      std::string missing;
      if (!fill_template(o.text, r, text, missing)) {
        std::fprintf(stderr, "smpp-send: %s:%zu: the template names {%s}, not a column\n",
                     o.csv.c_str(), r.line, missing.c_str());
        ++rows_refused;
        continue;
      }
      bodies.push_back(body_for(o, r.number, text));
    }
  }

  // Everything fits: the store's bounds are the campaign's size.
  store_config limits;
  limits.max_messages = o.csv.empty() ? o.to.size() : o.max_rows;
  limits.max_queued_parts = limits.max_messages * 255;
  message_store store(limits, 1);
  smsc_sessions sessions(o.smsc, store);
  if (!sessions.error().empty()) {
    std::fprintf(stderr, "smpp-send: %s\n", sessions.error().c_str());
    return 2;
  }
  sessions.start();

  const request_limits request{10000, 255};
  const auto sender = parse_sender(o.from);
  std::size_t messages = 0;
  std::size_t parts = 0;
  std::size_t refused = rows_refused;
  const auto start = std::chrono::steady_clock::now();
  std::uint8_t ref = static_cast<std::uint8_t>(getpid());
  for (const std::string& body : bodies) {
    auto r = parse_send_request(body, request, ref++);
    if (auto* e = std::get_if<request_error>(&r)) {
      std::fprintf(stderr, "smpp-send: %s: %s\n", e->field.c_str(), e->reason.c_str());
      ++refused;
      continue;
    }
    send_request& req = std::get<send_request>(r);
    if (o.rate != 0) {
      // Paced: message k leaves no sooner than k / rate seconds after the start.
      std::this_thread::sleep_until(start +
                                    std::chrono::microseconds(messages * 1'000'000ULL / o.rate));
    }
    auto content = std::make_shared<message_content>();
    content->from = req.from ? *req.from : *sender;
    content->parts = std::move(req.parts);
    content->dlr = req.dlr;
    parts += req.to.size() * content->parts.size();
    (void)store.accept(std::move(content), req.to, wall_ms());
    messages += req.to.size();
  }

  // Until every message is final, or --wait-s.
  const bool tty = isatty(STDERR_FILENO) == 1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.wait_s);
  tally t;
  while (true) {
    t = count(store, 1, messages, o.dlr);
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (tty) draw_progress(t.final_count, messages, elapsed);
    if (t.final_count == messages || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (tty) std::fputc('\n', stderr);
  const bool ever_bound = sessions.counters().binds > 0;
  sessions.stop();
  t = count(store, 1, messages, o.dlr);

  json report;
  report["messages"] = messages;
  report["parts"] = parts;
  report["refused"] = refused;
  report["final"] = t.final_count;
  report["seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const char* s :
       {"queued", "submitted", "accepted", "delivered", "failed", "expired", "rejected"}) {
    report[s] = t.by_state.count(s) != 0 ? t.by_state.at(s) : 0;
  }
  report["rejected_by_status"] = t.by_status;
  report["failed_by_receipt"] = t.by_receipt;
  std::printf("%s\n", report.dump().c_str());
  if (!ever_bound && messages > 0) {
    std::fprintf(stderr, "smpp-send: no bind to %s:%u came up\n", o.smsc.host.c_str(), o.smsc.port);
    return 1;
  }
  const std::size_t good =
      o.dlr ? report["delivered"].get<std::size_t>() : report["accepted"].get<std::size_t>();
  return good == messages && refused == 0 ? 0 : 3;
}
