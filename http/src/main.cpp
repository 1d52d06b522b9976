// smpp-http: the HTTP API for businesses in front of an SMSC or the router.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "clock.hpp"
#include "smpp/http/api_server.hpp"
#include "smpp/http/callbacks.hpp"
#include "smpp/http/campaign_api.hpp"
#include "smpp/http/campaign_journal.hpp"
#include "smpp/http/campaign_runner.hpp"
#include "smpp/http/http_config.hpp"
#include "smpp/http/message_journal.hpp"
#include "smpp/http/message_json.hpp"
#include "smpp/http/message_store.hpp"
#include "smpp/http/mo_inbox.hpp"
#include "smpp/http/smsc_sessions.hpp"

namespace {

constexpr const char* usage =
    "usage: smpp-http [--config FILE] [--listen HOST:PORT] [--smsc HOST:PORT] [--store FILE]\n"
    "       smpp-http --hash-key KEY\n"
    "\n"
    "An HTTP API that sends SMS through an SMSC or smpp-router over SMPP transceiver binds.\n"
    "\n"
    "  --config FILE      the configuration (default config/http.toml; see http/README.md)\n"
    "  --listen HOST:PORT the HTTP listener instead of [http] listen (port 0: any free port)\n"
    "  --smsc HOST:PORT   the SMSC instead of [smsc] host and port\n"
    "  --store FILE       the SQLite database instead of [store] path\n"
    "  --hash-key KEY     print the key_hash line of a [[clients]] entry for KEY and exit\n"
    "  -h, --help         print this help\n"
    "\n"
    "Every accepted message is in the database before its 202; at start the messages there\n"
    "are read back and those not yet answered by the SMSC are submitted (again).\n"
    "Prints \"smpp-http: listening on HOST:PORT\" on stderr once the API is up, and its\n"
    "counters as one JSON line on stdout when it stops (SIGINT, SIGTERM).\n"
    "Exit status: 0 normal stop, 1 cannot listen or open the database, 2 usage or\n"
    "configuration error.\n";

bool split_host_port(const std::string& text, std::string& host, std::uint16_t& port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  char* end = nullptr;
  const unsigned long p = std::strtoul(text.c_str() + colon + 1, &end, 10);
  if (end == text.c_str() + colon + 1 || *end != '\0' || p > 65535) return false;
  host = text.substr(0, colon);
  port = static_cast<std::uint16_t>(p);
  return true;
}

std::uint64_t first_message_id() {
  // Ids stay unique across restarts while fewer than a million messages a second are accepted
  // on average since the start.
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  return static_cast<std::uint64_t>(s) * 1'000'000;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "config/http.toml";
  std::string listen_override;
  std::string smsc_override;
  std::string store_override;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (a == "--hash-key" && has_value) {
      std::printf("key_hash = \"%s\"\n", smpp::http::hash_api_key(argv[++i]).c_str());
      return 0;
    }
    if (a == "--config" && has_value) {
      config_path = argv[++i];
    } else if (a == "--listen" && has_value) {
      listen_override = argv[++i];
    } else if (a == "--smsc" && has_value) {
      smsc_override = argv[++i];
    } else if (a == "--store" && has_value) {
      store_override = argv[++i];
    } else {
      std::fprintf(stderr, "smpp-http: %s: unknown option or missing value\n%s", a.c_str(), usage);
      return 2;
    }
  }
  auto loaded = smpp::http::load_http_config(config_path);
  if (auto* errors = std::get_if<std::vector<std::string>>(&loaded)) {
    for (const std::string& e : *errors) std::fprintf(stderr, "smpp-http: %s\n", e.c_str());
    return 2;
  }
  auto& config = std::get<smpp::http::http_config>(loaded);
  if (!listen_override.empty() &&
      !split_host_port(listen_override, config.listen_host, config.listen_port)) {
    std::fprintf(stderr, "smpp-http: --listen %s: must be HOST:PORT\n", listen_override.c_str());
    return 2;
  }
  if (!smsc_override.empty() &&
      (!split_host_port(smsc_override, config.smsc.host, config.smsc.port) ||
       config.smsc.port == 0)) {
    std::fprintf(stderr, "smpp-http: --smsc %s: must be HOST:PORT\n", smsc_override.c_str());
    return 2;
  }

  if (!store_override.empty()) config.store.path = store_override;

  // Signals are taken by one thread with sigwait; every other thread has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::vector<std::string> client_names;
  for (const auto& c : config.clients) client_names.push_back(c.name);
  std::string error;
  auto journal = smpp::http::message_journal::open(config.store, client_names, error);
  if (!journal) {
    std::fprintf(stderr, "smpp-http: %s\n", error.c_str());
    return 1;
  }
  // The campaign tables exist before the message journal marks rows handed over in them.
  auto campaign_store = smpp::http::campaign_journal::open(
      config.store.path, config.store.synchronous, client_names, error);
  if (!campaign_store) {
    std::fprintf(stderr, "smpp-http: %s\n", error.c_str());
    return 1;
  }
  auto restored = journal->load();
  const std::size_t restored_messages = restored.size();
  smpp::http::message_store store(config.limits, std::max(first_message_id(), journal->next_id()));
  const std::size_t requeued = store.restore(std::move(restored), smpp::http::wall_ms());
  std::fprintf(stderr, "smpp-http: %s: %zu messages read back, %zu parts to submit\n",
               config.store.path.c_str(), restored_messages, requeued);
  store.set_journal(journal.get());
  journal->start();
  smpp::http::smsc_sessions sessions(config.smsc, store);
  if (!sessions.error().empty()) {
    std::fprintf(stderr, "smpp-http: %s\n", sessions.error().c_str());
    return 2;
  }
  smpp::http::callback_sender callbacks(config.callbacks);
  auto pending_callbacks = journal->load_callbacks();
  if (!pending_callbacks.empty()) {
    std::fprintf(stderr, "smpp-http: %zu callbacks read back, to be tried again\n",
                 pending_callbacks.size());
  }
  callbacks.set_journal(journal.get(), std::move(pending_callbacks));
  store.set_final_hook(
      [&](const smpp::http::message_view& v, const smpp::http::message_content& c) {
        if (c.client < config.clients.size()) {
          (void)callbacks.post(c.dlr_url, smpp::http::message_json(v),
                               config.clients[c.client].webhook_secret,
                               config.clients[c.client].callback_batch);
        }
      });
  std::vector<std::vector<std::string>> client_numbers;
  for (const auto& c : config.clients) {
    client_numbers.push_back(c.allowed_from);
    client_numbers.back().push_back(c.from);
  }
  smpp::http::mo_inbox inbox(config.inbox_max, client_numbers);
  sessions.set_mo_hook([&](const smpp::codec::pdu& p) {
    auto m = smpp::http::mo_from_pdu(p, smpp::http::wall_ms());
    const auto client = inbox.add(m);
    if (client && !config.clients[*client].mo_url.empty()) {
      (void)callbacks.post(config.clients[*client].mo_url, smpp::http::mo_json(m),
                           config.clients[*client].webhook_secret,
                           config.clients[*client].callback_batch);
    }
  });
  smpp::http::campaign_runner campaigns(
      {config.max_campaigns, config.max_parts, 100}, store, campaign_store.get(),
      [&](std::uint32_t client) { return *smpp::http::parse_sender(config.clients[client].from); });
  auto restored_campaigns = campaign_store->load();
  if (!restored_campaigns.empty()) {
    std::fprintf(stderr, "smpp-http: %zu campaigns read back\n", restored_campaigns.size());
  }
  campaigns.restore(std::move(restored_campaigns));
  smpp::http::api_server server(config, store, sessions, callbacks, journal.get(), inbox);
  smpp::http::add_campaign_routes(server, campaigns, config);
  const int port = server.bind();
  if (port < 0) {
    std::fprintf(stderr, "smpp-http: cannot listen on %s:%u\n", config.listen_host.c_str(),
                 config.listen_port);
    return 1;
  }
  callbacks.start();
  sessions.start();
  campaigns.start();
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    server.stop();
  });
  std::fprintf(stderr, "smpp-http: listening on %s:%d\n", config.listen_host.c_str(), port);
  const bool served = server.serve();
  if (!served) {
    // listen_after_bind returned without stop(): end the waiter the same way a signal would.
    pthread_kill(waiter.native_handle(), SIGTERM);
  }
  waiter.join();
  campaigns.stop();
  sessions.stop();
  store.set_final_hook({});
  callbacks.stop();
  journal->stop();
  const auto c = store.counters();
  std::printf(
      "{\"messages_accepted\":%llu,\"parts_accepted\":%llu,\"parts_submitted\":%llu,"
      "\"responses_ok\":%llu,\"responses_error\":%llu,\"receipts_matched\":%llu,"
      "\"queued_parts\":%zu}\n",
      static_cast<unsigned long long>(c.messages_accepted),
      static_cast<unsigned long long>(c.parts_accepted),
      static_cast<unsigned long long>(c.parts_submitted),
      static_cast<unsigned long long>(c.responses_ok),
      static_cast<unsigned long long>(c.responses_error),
      static_cast<unsigned long long>(c.receipts_matched), c.queued_parts);
  return 0;
}
