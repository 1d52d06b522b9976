// smppctl: the operators' client of smpp-router's admin API: status, tenants, upstreams,
// sessions, routes, slot plans as tables; weights and reload as changes (they need the token).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace {

using json = nlohmann::json;

// Exit codes (also in --help).
constexpr int exit_ok = 0;
constexpr int exit_refused = 1;      // the router answered with an error
constexpr int exit_usage = 2;        // the command line is wrong
constexpr int exit_unreachable = 3;  // no answer, or one that is not the API's

void usage(std::FILE* f) {
  std::fprintf(
      f,
      "usage: smppctl [--url URL] [--token TOKEN | --token-file FILE] [--json] [--timeout S]\n"
      "               COMMAND [ARGS]\n"
      "\n"
      "Reads and changes a running smpp-router through its admin API.\n"
      "\n"
      "commands:\n"
      "  status                          version, uptime, workers (cpu, core, NUMA node, busy\n"
      "                                  ratio) and totals\n"
      "  tenants                         tenants with sessions, traffic and achieved rate;\n"
      "                                  receipts and MO by outcome (RECEIPTS, MO: those its\n"
      "                                  receivers acknowledged)\n"
      "  upstreams                       upstreams with binds up per worker and slot plans;\n"
      "                                  delivery ratio and mean answer latency over the\n"
      "                                  quality window; receipts and MO by outcome\n"
      "                                  (RECEIPTS: all received)\n"
      "  sessions                        bound ESME sessions and receivers per tenant\n"
      "  routes                          routes and MO routes\n"
      "  slots UPSTREAM                  the slot plan of each bind of UPSTREAM\n"
      "  weights TENANT UPSTREAM WEIGHT  set TENANT's weight on UPSTREAM (needs the token)\n"
      "  reload                          re-read the router's configuration file (needs the\n"
      "                                  token)\n"
      "\n"
      "options:\n"
      "  --url URL          the admin API (default $SMPPCTL_URL, else http://127.0.0.1:8775)\n"
      "  --token TOKEN      the [admin] token, for changes (default $SMPPCTL_TOKEN)\n"
      "  --token-file FILE  read the token from FILE (its first line)\n"
      "  --json             print the router's JSON answer as it came\n"
      "  --timeout S        seconds to wait for the router (default 10)\n"
      "  --help             this text\n"
      "\n"
      "Changes are validated by the router first; it answers every error with the key and line\n"
      "of the configuration that is wrong, and changes nothing.\n"
      "\n"
      "exit status: 0 done; 1 the router refused the request (its message is printed: 400\n"
      "invalid, 401 wrong or missing token, 403 changes disabled, 404 unknown name, 501 not\n"
      "available); 2 usage error; 3 the router cannot be reached or did not answer as the\n"
      "admin API does.\n");
}

// ---- tables
// --------------------------------------------------------------------------------------

class table {
 public:
  explicit table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print() const {
    std::vector<size_t> width;
    for (const auto& r : rows_) {
      for (size_t c = 0; c < r.size(); ++c) {
        if (width.size() <= c) width.push_back(0);
        width[c] = std::max(width[c], r[c].size());
      }
    }
    for (size_t i = 0; i < rows_.size(); ++i) {
      std::string line;
      for (size_t c = 0; c < rows_[i].size(); ++c) {
        const std::string& cell = rows_[i][c];
        const bool last = c + 1 == rows_[i].size();
        // Numbers right-aligned below their heading, text left-aligned.
        const bool numeric =
            i > 0 && !cell.empty() && cell.find_first_not_of("0123456789.%-/") == std::string::npos;
        const std::string pad(width[c] - cell.size(), ' ');
        line += numeric ? pad + cell : cell + (last ? "" : pad);
        if (!last) line += "  ";
      }
      std::printf("%s\n", line.c_str());
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string text(const json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", j.get<double>());
    return buf;
  }
  return j.dump();
}

std::string get(const json& j, const char* key) {
  return j.contains(key) ? text(j[key]) : "-";
}

std::string percent(const json& j) {
  if (!j.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", j.get<double>() * 100.0);
  return buf;
}

std::string duration(double s) {
  auto total = static_cast<unsigned long long>(s);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llud %02lluh %02llum %02llus", total / 86400, total / 3600 % 24,
                total / 60 % 60, total % 60);
  return buf;
}

std::string joined(const json& a, const char* sep = ",") {
  std::string s;
  if (!a.is_array()) return text(a);
  for (const auto& e : a) s += (s.empty() ? "" : sep) + text(e);
  return s.empty() ? "-" : s;
}

std::string owners(const json& plan) {
  std::string s;
  if (plan.contains("owners")) {
    for (const auto& [name, count] : plan["owners"].items()) {
      s += (s.empty() ? "" : " ") + name + ":" + text(count);
    }
  }
  if (plan.value("unowned_slots", 0) > 0) {
    s += (s.empty() ? "" : " ") + std::string("unowned:") + text(plan["unowned_slots"]);
  }
  return s.empty() ? "-" : s;
}

// ---- commands
// ------------------------------------------------------------------------------------

void print_status(const json& j) {
  std::printf("smpp-router %s, up %s\n", get(j, "version").c_str(),
              duration(j.value("uptime_s", 0.0)).c_str());
  std::printf("config:    %s\n", get(j, "config_file").c_str());
  if (j.contains("placement")) {
    std::printf("placement: %s\n", get(j["placement"], "reason").c_str());
    for (const auto& w : j["placement"].value("warnings", json::array())) {
      std::printf("warning:   [%s] %s\n", get(w, "kind").c_str(), get(w, "text").c_str());
    }
  }
  std::printf("\n");
  table t({"WORKER", "CPU", "CORE", "NUMA", "RUNNING", "BUSY", "RECEIVED", "FORWARDED", "RELAYED",
           "THROTTLED"});
  for (const auto& w : j.value("workers", json::array())) {
    t.add({get(w, "worker"), get(w, "cpu"), get(w, "core"), get(w, "numa"),
           w.value("running", false) ? "yes" : "no", percent(w.value("busy_ratio", json())),
           get(w, "submit_received"), get(w, "submit_forwarded"), get(w, "resp_relayed"),
           get(w, "throttled")});
  }
  t.print();
  const json& x = j.value("totals", json::object());
  std::printf("\n");
  table totals({"TENANTS", "UPSTREAMS", "ROUTES", "SESSIONS", "BINDS UP", "SUBMITTED", "ACCEPTED",
                "REJECTED", "RECEIPTS", "MO"});
  totals.add({get(x, "tenants"), get(x, "upstreams"), get(x, "routes"), get(x, "sessions"),
              get(x, "upstream_binds_up") + "/" + get(x, "upstream_binds_configured"),
              get(x, "submitted"), get(x, "accepted"), get(x, "rejected"), get(x, "receipts"),
              get(x, "mo")});
  totals.print();
}

// The return path of each tenant or upstream (`who`: "TENANT", "UPSTREAM"): per kind (receipt,
// MO), what the SMSC delivered and what became of it; then the refusals by status. An
// upstream's receipts also end unmatched or invalid.
void print_return_path(const json& j, const char* who, bool upstream) {
  std::vector<std::string> header = {who,       "KIND",   "RECEIVED", "DELIVERED",
                                     "REFUSED", "FAILED", "EXPIRED",  "HELD"};
  if (upstream) header.insert(header.end(), {"UNMATCHED", "INVALID"});
  table t(header);
  std::vector<std::string> refusals;
  for (const auto& x : j) {
    const json& path = x.value("return_path", json::object());
    for (const auto& [key, kind] :
         {std::pair<const char*, const char*>{"receipts", "receipt"}, {"mo", "mo"}}) {
      const json& r = path.value(key, json::object());
      std::vector<std::string> row = {get(x, "name"),     kind,
                                      get(r, "received"), get(r, "delivered"),
                                      get(r, "refused"),  get(r, "failed"),
                                      get(r, "expired"),  get(r, "held")};
      if (upstream) {
        const bool receipts = std::string_view(key) == "receipts";
        row.push_back(receipts ? get(r, "unmatched") : "-");
        row.push_back(receipts ? get(r, "invalid") : "-");
      }
      t.add(std::move(row));
      const json statuses = r.value("refused_by_status", json::object());
      for (const auto& [status, count] : statuses.items()) {
        refusals.push_back(get(x, "name") + " " + kind + ": " + status + " " + text(count));
      }
    }
  }
  std::printf("\nreceipts and MO from the SMSCs, by outcome:\n");
  t.print();
  if (!refusals.empty()) std::printf("\nrefused to the SMSC by status:\n");
  for (const auto& r : refusals) std::printf("  %s\n", r.c_str());
}

void print_tenants(const json& j) {
  table t({"TENANT", "SYSTEM_ID", "SESSIONS", "SUBMITTED", "ACCEPTED", "REJECTED", "RECEIPTS", "MO",
           "HELD", "ACCEPTED/S"});
  std::vector<std::string> rejects;
  for (const auto& x : j) {
    t.add({get(x, "name"), get(x, "system_id"), get(x, "sessions"), get(x, "submitted"),
           get(x, "accepted"), get(x, "rejected"), get(x, "receipts"), get(x, "mo"), get(x, "held"),
           get(x, "accepted_per_s")});
    const json statuses = x.value("rejected_by_status", json::object());
    for (const auto& [status, count] : statuses.items()) {
      rejects.push_back(get(x, "name") + ": " + status + " " + text(count));
    }
  }
  t.print();
  if (!rejects.empty()) std::printf("\nrejected by status:\n");
  for (const auto& r : rejects) std::printf("  %s\n", r.c_str());
  print_return_path(j, "TENANT", false);
}

void print_upstreams(const json& j) {
  table t({"UPSTREAM", "ADDRESS", "TLS", "BINDS UP", "PER WORKER", "SUBMITTED", "ACCEPTED",
           "REJECTED", "RECEIPTS", "SUBMITTED/S"});
  table plans({"UPSTREAM", "BIND", "SYSTEM_ID", "TYPE", "RATE/S", "SLOTS", "OWNERS"});
  // What routes of mode quality weigh, over the last window (config/README.md, mode).
  table quality({"UPSTREAM", "WINDOW S", "FINAL RECEIPTS", "DELIVERED", "DELIVERY RATIO", "ANSWERS",
                 "MEAN LATENCY MS"});
  for (const auto& x : j) {
    const json& q = x.value("quality", json::object());
    quality.add({get(x, "name"), get(q, "window_s"), get(q, "final_receipts"), get(q, "delivered"),
                 percent(q.value("delivery_ratio", json())), get(q, "answers"),
                 get(q, "mean_latency_ms")});
    t.add({get(x, "name"), get(x, "address"), x.value("tls", false) ? "yes" : "no",
           get(x, "binds_up") + "/" + get(x, "binds_configured"),
           joined(x.value("binds_up_per_worker", json::array())), get(x, "submitted"),
           get(x, "accepted"), get(x, "rejected"), get(x, "receipts"), get(x, "submitted_per_s")});
    for (const auto& b : x.value("binds", json::array())) {
      const json& p = b.value("plan", json::object());
      plans.add({get(x, "name"), get(b, "bind"), get(b, "system_id"), get(b, "type"),
                 p.value("rate_per_s", 0) == 0 ? "unlimited" : get(p, "rate_per_s"),
                 get(p, "slots_per_frame"), owners(p)});
    }
  }
  t.print();
  std::printf("\n");
  plans.print();
  std::printf("\n");
  quality.print();
  print_return_path(j, "UPSTREAM", true);
}

void print_sessions(const json& j) {
  table t({"TENANT", "SYSTEM_ID", "BOUND", "MAX", "RECEIVERS", "RECEIVERS PER WORKER"});
  for (const auto& x : j) {
    t.add({get(x, "tenant"), get(x, "system_id"), get(x, "bound"), get(x, "max_binds"),
           get(x, "receivers"), joined(x.value("receivers_per_worker", json::array()))});
  }
  t.print();
}

void print_routes(const json& j) {
  table t({"TENANT", "DESTINATION", "SOURCE", "SERVICE", "UPSTREAMS"});
  auto or_any = [](const std::string& s) { return s.empty() ? std::string("*") : s; };
  for (const auto& r : j.value("routes", json::array())) {
    t.add({get(r, "tenant"), or_any(get(r, "destination_prefix")), or_any(get(r, "source_prefix")),
           or_any(get(r, "service_type")), joined(r.value("upstreams", json::array()), " -> ")});
  }
  t.print();
  const json& mo = j.value("mo_routes", json::array());
  if (mo.empty()) return;
  std::printf("\nMO routes:\n");
  table m({"DESTINATION", "FROM UPSTREAM", "TENANT"});
  for (const auto& r : mo) {
    m.add({or_any(get(r, "destination_prefix")), or_any(get(r, "upstream")), get(r, "tenant")});
  }
  m.print();
}

void print_slots(const json& j) {
  std::printf("upstream %s\n\n", get(j, "upstream").c_str());
  table t({"BIND", "SYSTEM_ID", "RATE/S", "SLOT_NS", "SLOTS", "STRICT", "OWNERS"});
  for (const auto& b : j.value("binds", json::array())) {
    t.add({get(b, "bind"), get(b, "system_id"),
           b.value("rate_per_s", 0) == 0 ? "unlimited" : get(b, "rate_per_s"), get(b, "slot_ns"),
           get(b, "slots_per_frame"), b.value("strict", false) ? "yes" : "no", owners(b)});
  }
  t.print();
  for (const auto& b : j.value("binds", json::array())) {
    const json& frame = b.value("frame", json::array());
    if (frame.empty()) continue;
    std::string line;
    constexpr size_t shown = 64;
    for (size_t k = 0; k < frame.size() && k < shown; ++k) {
      line += (k == 0 ? "" : " ") + (frame[k].is_null() ? std::string("-") : text(frame[k]));
    }
    if (frame.size() > shown) line += " ... (" + std::to_string(frame.size()) + " slots)";
    std::printf("\nbind %s frame: %s\n", get(b, "bind").c_str(), line.c_str());
  }
}

// ---- the request
// ---------------------------------------------------------------------------------

std::string reach_error(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "cannot connect (is smpp-router running with [admin] enabled at that address?)";
    case httplib::Error::Read:
      return "the connection broke while reading the answer";
    case httplib::Error::Write:
      return "the connection broke while sending the request";
    case httplib::Error::ConnectionTimeout:
      return "timed out connecting";
    default:
      return httplib::to_string(e);
  }
}

// Prints an error answer: the router's message and, for validation errors, each one.
void print_refusal(int status, const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  const std::string message =
      !j.is_discarded() && j.is_object() && j.contains("error") ? text(j["error"]) : body;
  std::fprintf(stderr, "smppctl: the router answered %d: %s\n", status, message.c_str());
  if (!j.is_discarded() && j.is_object() && j.contains("errors")) {
    for (const auto& e : j["errors"]) {
      std::fprintf(stderr, "  %s\n", get(e, "text").c_str());
      if (e.contains("source_line")) {
        std::fprintf(stderr, "    | %s\n", get(e, "source_line").c_str());
      }
    }
  }
}

std::string read_token_file(const std::string& path, bool& ok) {
  std::ifstream in(path);
  std::string line;
  ok = static_cast<bool>(in) && static_cast<bool>(std::getline(in, line));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// A name as one path segment: everything but unreserved characters (RFC 3986 §2.3) escaped.
std::string path_part(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  if (const char* env = std::getenv("SMPPCTL_URL"); env != nullptr && *env != '\0') url = env;
  if (url.empty()) url = "http://127.0.0.1:8775";
  std::string token;
  if (const char* env = std::getenv("SMPPCTL_TOKEN"); env != nullptr) token = env;
  bool raw = false;
  int timeout_s = 10;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return exit_ok;
    } else if (a == "--url" && has_value) {
      url = argv[++i];
    } else if (a == "--token" && has_value) {
      token = argv[++i];
    } else if (a == "--token-file" && has_value) {
      bool ok = false;
      token = read_token_file(argv[++i], ok);
      if (!ok || token.empty()) {
        std::fprintf(stderr, "smppctl: cannot read a token from %s\n", argv[i]);
        return exit_usage;
      }
    } else if (a == "--json") {
      raw = true;
    } else if (a == "--timeout" && has_value) {
      timeout_s = std::atoi(argv[++i]);
      if (timeout_s <= 0 || timeout_s > 3600) {
        std::fprintf(stderr, "smppctl: --timeout must be 1..3600 seconds\n");
        return exit_usage;
      }
    } else if (a.starts_with("--")) {
      std::fprintf(stderr, "smppctl: unknown option '%s' (or it lacks its value)\n", a.c_str());
      usage(stderr);
      return exit_usage;
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) {
    usage(stderr);
    return exit_usage;
  }
  const std::string& cmd = args[0];
  struct request {
    std::string method = "GET";
    std::string path;
    std::string body;
    void (*print)(const json&) = nullptr;
  } req;
  auto arity = [&](size_t n, const char* shape) {
    if (args.size() == n + 1) return true;
    std::fprintf(stderr, "smppctl: usage: smppctl %s\n", shape);
    return false;
  };
  if (cmd == "status") {
    if (!arity(0, "status")) return exit_usage;
    req.path = "/api/status";
    req.print = print_status;
  } else if (cmd == "tenants") {
    if (!arity(0, "tenants")) return exit_usage;
    req.path = "/api/tenants";
    req.print = print_tenants;
  } else if (cmd == "upstreams") {
    if (!arity(0, "upstreams")) return exit_usage;
    req.path = "/api/upstreams";
    req.print = print_upstreams;
  } else if (cmd == "sessions") {
    if (!arity(0, "sessions")) return exit_usage;
    req.path = "/api/sessions";
    req.print = print_sessions;
  } else if (cmd == "routes") {
    if (!arity(0, "routes")) return exit_usage;
    req.path = "/api/routes";
    req.print = print_routes;
  } else if (cmd == "slots") {
    if (!arity(1, "slots UPSTREAM")) return exit_usage;
    req.path = "/api/slots/" + path_part(args[1]);
    req.print = print_slots;
  } else if (cmd == "weights") {
    if (!arity(3, "weights TENANT UPSTREAM WEIGHT")) return exit_usage;
    char* end = nullptr;
    const unsigned long w = std::strtoul(args[3].c_str(), &end, 10);
    if (args[3].empty() || *end != '\0' || args[3][0] == '-' || w > 0xFFFFFFFFul) {
      std::fprintf(stderr, "smppctl: WEIGHT must be a whole number, not '%s'\n", args[3].c_str());
      return exit_usage;
    }
    req.method = "PUT";
    req.path = "/api/weights/" + path_part(args[1]) + "/" + path_part(args[2]);
    req.body = json{{"weight", w}}.dump();
  } else if (cmd == "reload") {
    if (!arity(0, "reload")) return exit_usage;
    req.method = "POST";
    req.path = "/api/reload";
  } else {
    std::fprintf(stderr, "smppctl: unknown command '%s'\n", cmd.c_str());
    usage(stderr);
    return exit_usage;
  }

  // The admin API speaks plain HTTP (on loopback unless configured otherwise).
  std::unique_ptr<httplib::Client> made;
  if (url.starts_with("http://")) {
    try {
      made = std::make_unique<httplib::Client>(url);
    } catch (const std::exception&) {
      made.reset();
    }
  }
  if (!made || !made->is_valid()) {
    std::fprintf(stderr, "smppctl: '%s' is not a URL smppctl can use (http://HOST:PORT)\n",
                 url.c_str());
    return exit_usage;
  }
  httplib::Client& client = *made;
  client.set_connection_timeout(timeout_s, 0);
  client.set_read_timeout(timeout_s, 0);
  client.set_write_timeout(timeout_s, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  httplib::Result res = req.method == "GET" ? client.Get(req.path, headers)
                        : req.method == "PUT"
                            ? client.Put(req.path, headers, req.body, "application/json")
                            : client.Post(req.path, headers, req.body, "application/json");
  if (!res) {
    std::fprintf(stderr, "smppctl: %s: %s\n", url.c_str(), reach_error(res.error()).c_str());
    return exit_unreachable;
  }
  if (res->status != 200) {
    print_refusal(res->status, res->body);
    return res->status >= 400 && res->status < 600 ? exit_refused : exit_unreachable;
  }
  if (raw) {
    std::fputs(res->body.c_str(), stdout);
    return exit_ok;
  }
  const json j = json::parse(res->body, nullptr, false);
  if (j.is_discarded()) {
    std::fprintf(stderr, "smppctl: %s answered something that is not JSON\n", url.c_str());
    return exit_unreachable;
  }
  if (req.print != nullptr) {
    req.print(j);
  } else if (cmd == "weights") {
    std::printf("weight of tenant %s on upstream %s is now %s\n", args[1].c_str(), args[2].c_str(),
                args[3].c_str());
  } else {
    std::printf("configuration reloaded from the file and applied\n");
  }
  return exit_ok;
}
