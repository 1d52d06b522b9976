// HTTP routes of smpp-http over cpp-httplib; JSON in with nlohmann-json, JSON out written here.
#include "smpp/http/api_server.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>

#include "clock.hpp"
#include "smpp/http/message_json.hpp"
#include "web_page.hpp"

namespace smpp::http {
namespace {

// Scheduled parts count against the queue's bound; a horizon keeps them from filling it for long.
constexpr std::uint32_t max_schedule_ahead_s = 30 * 86400;

// Messages per second per client: a bucket of rate_per_s tokens that refills over one second.
struct token_bucket {
  std::mutex mutex;
  double tokens = 0;
  std::int64_t last_ms = 0;

  bool take(std::size_t n, std::uint32_t rate_per_s, std::int64_t now_ms) {
    const std::lock_guard lock(mutex);
    tokens = std::min<double>(rate_per_s,
                              tokens + static_cast<double>(now_ms - last_ms) * rate_per_s / 1000.0);
    last_ms = now_ms;
    if (static_cast<double>(n) > tokens) return false;
    tokens -= static_cast<double>(n);
    return true;
  }
};

}  // namespace

void json_error(httplib::Response& res, int status, std::string_view field,
                std::string_view reason) {
  std::string body = "{\"error\":{\"field\":";
  append_json_string(body, field);
  body += ",\"reason\":";
  append_json_string(body, reason);
  body += "}}\n";
  res.status = status;
  res.set_content(body, "application/json");
}

bool sender_allowed(const client_config& client, std::string_view from_text) {
  return from_text == client.from ||
         std::find(client.allowed_from.begin(), client.allowed_from.end(), from_text) !=
             client.allowed_from.end();
}

struct api_server::impl {
  const http_config& config;
  message_store& store;
  const smsc_sessions& sessions;
  const callback_sender& callbacks;
  const message_journal* journal;
  const mo_inbox& inbox;
  httplib::Server server;
  std::unordered_map<std::string, std::uint32_t> clients;  // key hash -> index
  std::vector<std::unique_ptr<token_bucket>> buckets;
  std::atomic<std::uint32_t> next_ref{0};

  impl(const http_config& c, message_store& s, const smsc_sessions& ss, const callback_sender& cb,
       const message_journal* j, const mo_inbox& in)
      : config(c), store(s), sessions(ss), callbacks(cb), journal(j), inbox(in) {
    for (std::uint32_t i = 0; i < c.clients.size(); ++i) {
      clients.emplace(c.clients[i].key_hash, i);
      buckets.push_back(std::make_unique<token_bucket>());
      buckets.back()->tokens = c.clients[i].rate_per_s;
      buckets.back()->last_ms = wall_ms();
    }
  }

  // The client index of the request's bearer key, or an answered 401.
  std::optional<std::uint32_t> authenticate(const httplib::Request& req,
                                            httplib::Response& res) const {
    const std::string header = req.get_header_value("Authorization");
    constexpr std::string_view scheme = "Bearer ";
    if (header.size() > scheme.size() && header.compare(0, scheme.size(), scheme) == 0) {
      const auto it = clients.find(hash_api_key(std::string_view(header).substr(scheme.size())));
      if (it != clients.end()) return it->second;
    }
    res.set_header("WWW-Authenticate", "Bearer");
    json_error(res, 401, "Authorization", "a valid \"Bearer KEY\" is required");
    return std::nullopt;
  }

  void post_messages(const httplib::Request& req, const std::string& body_in,
                     httplib::Response& res) {
    const auto client = authenticate(req, res);
    if (!client) return;
    const client_config& cc = config.clients[*client];
    const request_limits limits{cc.max_recipients, config.max_parts};
    const auto ref = static_cast<std::uint8_t>(next_ref.fetch_add(1, std::memory_order_relaxed));
    auto parsed = parse_send_request(body_in, limits, ref);
    if (auto* e = std::get_if<request_error>(&parsed)) {
      json_error(res, 400, e->field, e->reason);
      return;
    }
    send_request& r = std::get<send_request>(parsed);
    auto content = std::make_shared<message_content>();
    content->client = *client;
    if (r.from) {
      if (!sender_allowed(cc, r.from_text)) {
        json_error(res, 400, "from", "is not a sender this client may use");
        return;
      }
      content->from = *r.from;
    } else {
      content->from = *parse_sender(cc.from);
    }
    content->parts = std::move(r.parts);
    content->dlr = r.dlr;
    content->client_ref = std::move(r.client_ref);
    content->dlr_url = std::move(r.dlr_url);
    if (r.validity_s != 0) content->validity_period = relative_time(r.validity_s);
    const std::int64_t now = wall_ms();
    if (r.schedule_ms != 0) {
      if (r.schedule_ms > now + std::int64_t{max_schedule_ahead_s} * 1000) {
        json_error(res, 400, "schedule_at", "is more than 30 days ahead");
        return;
      }
      content->schedule_ms = r.schedule_ms;  // a time already past means at once
    }
    if (cc.rate_per_s != 0 && !buckets[*client]->take(r.to.size(), cc.rate_per_s, now)) {
      res.set_header("Retry-After", "1");
      json_error(
          res, 429, "to",
          "over this client's rate of " + std::to_string(cc.rate_per_s) + " messages per second");
      return;
    }
    const std::size_t parts = content->parts.size();
    const auto accepted = store.accept(std::move(content), r.to, now);
    if (accepted.status != message_store::accept_status::ok) {
      res.set_header("Retry-After", "1");
      json_error(res, 503, "to",
                 accepted.status == message_store::accept_status::queue_full
                     ? "the queue of messages waiting for the SMSC is full"
                 : accepted.status == message_store::accept_status::store_full
                     ? "the table of messages awaiting their outcome is full"
                     : "the messages could not be written to the database");
      return;
    }
    std::string body;
    body.reserve(64 + r.to.size() * 48);
    body += "{\"messages\":[";
    for (std::size_t i = 0; i < r.to.size(); ++i) {
      if (i != 0) body += ',';
      body += "{\"id\":\"" + std::to_string(accepted.first_id + i) + "\",\"to\":\"" +
              r.to[i].digits + "\",\"parts\":" + std::to_string(parts) + "}";
    }
    body += "],\"count\":" + std::to_string(r.to.size()) +
            ",\"parts\":" + std::to_string(r.to.size() * parts) + "}\n";
    res.status = 202;
    res.set_content(body, "application/json");
  }

  void get_message(const httplib::Request& req, httplib::Response& res) const {
    const auto client = authenticate(req, res);
    if (!client) return;
    std::uint64_t id = 0;
    const std::string& text = req.matches[1].str();
    if (text.size() > 19) {
      json_error(res, 404, "id", "no such message");
      return;
    }
    for (const char c : text) id = id * 10 + static_cast<std::uint64_t>(c - '0');
    const auto v = store.find(id, *client);
    if (!v) {
      json_error(res, 404, "id", "no such message");
      return;
    }
    res.set_content(message_json(*v), "application/json");
  }

  // GET /v1/inbox?after=ID&limit=N: the client's MO messages with ids above `after`, oldest
  // first, at most `limit` (1..1000, default 100); `next_after` continues from the last one.
  void get_inbox(const httplib::Request& req, httplib::Response& res) const {
    const auto client = authenticate(req, res);
    if (!client) return;
    std::uint64_t after = 0;
    std::size_t limit = 100;
    for (const auto& [name, field_max] :
         {std::pair<const char*, std::uint64_t>{"after", ~std::uint64_t{0}}, {"limit", 1000}}) {
      if (!req.has_param(name)) continue;
      const std::string v = req.get_param_value(name);
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || v.size() > 19 || *end != '\0' || v[0] == '-' || n > field_max ||
          (std::string_view(name) == "limit" && n == 0)) {
        json_error(res, 400, name,
                   std::string_view(name) == "limit" ? "must be an integer 1..1000"
                                                     : "must be a message id");
        return;
      }
      (std::string_view(name) == "limit" ? limit : after) = n;
    }
    const auto messages = inbox.read(*client, after, limit);
    std::string body = "{\"messages\":[";
    for (std::size_t i = 0; i < messages.size(); ++i) {
      if (i != 0) body += ',';
      body += mo_json(messages[i]);
    }
    body += "],\"count\":" + std::to_string(messages.size()) + ",\"next_after\":\"" +
            std::to_string(messages.empty() ? after : messages.back().id) + "\"}\n";
    res.set_content(body, "application/json");
  }

  void get_status(const httplib::Request& req, httplib::Response& res) const {
    if (!authenticate(req, res)) return;
    const store_counters c = store.counters();
    const session_counters s = sessions.counters();
    const callback_counters cb = callbacks.counters();
    const journal_counters j = journal != nullptr ? journal->counters() : journal_counters{};
    const inbox_counters in = inbox.counters();
    const std::pair<const char*, std::uint64_t> fields[] = {
        {"messages_accepted", c.messages_accepted},
        {"parts_accepted", c.parts_accepted},
        {"parts_submitted", c.parts_submitted},
        {"responses_ok", c.responses_ok},
        {"responses_error", c.responses_error},
        {"parts_retried", c.parts_retried},
        {"receipts_matched", c.receipts_matched},
        {"receipts_unmatched", c.receipts_unmatched},
        {"messages_evicted", c.messages_evicted},
        {"requests_refused_full", c.requests_refused_full},
        {"queued_parts", c.queued_parts},
        {"scheduled_parts", c.scheduled_parts},
        {"records", c.records},
        {"binds", s.binds},
        {"bind_failures", s.bind_failures},
        {"disconnects", s.disconnects},
        {"receipts_received", s.receipts},
        {"mo_received", s.mo_messages},
        {"sessions_bound", s.bound_now},
        {"callbacks_queued", cb.queued},
        {"callbacks_delivered", cb.delivered},
        {"callbacks_failed", cb.failed},
        {"callbacks_dropped", cb.dropped},
        {"callback_attempts", cb.attempts},
        {"callbacks_pending", cb.pending},
        {"requests_not_stored", c.requests_not_stored},
        {"parts_restored", c.parts_restored},
        {"takes_paused", c.takes_paused},
        {"store_commits", j.commits},
        {"store_rows_written", j.rows_written},
        {"store_commit_failures", j.commit_failures},
        {"store_backlog", j.backlog},
        {"mo_routed", in.received - in.unrouted},
        {"mo_unrouted", in.unrouted},
        {"mo_inbox_dropped", in.dropped},
    };
    std::string body = "{";
    for (const auto& [name, value] : fields) {
      if (body.size() > 1) body += ',';
      body += "\"" + std::string(name) + "\":" + std::to_string(value);
    }
    body += "}\n";
    res.set_content(body, "application/json");
  }
};

api_server::api_server(const http_config& config, message_store& store,
                       const smsc_sessions& sessions, const callback_sender& callbacks,
                       const message_journal* journal, const mo_inbox& inbox)
    : impl_(std::make_unique<impl>(config, store, sessions, callbacks, journal, inbox)) {
  httplib::Server& s = impl_->server;
  const unsigned threads = config.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // A body over the limit is answered 413 by cpp-httplib before a handler runs.
  s.set_payload_max_length(config.max_body_bytes);
  s.set_keep_alive_max_count(100000);
  // Answers go out at once: with Nagle's algorithm a keep-alive client waiting for the answer
  // and delaying its ACK costs 40 ms per request.
  s.set_tcp_nodelay(true);
  // Read through a ContentReader: cpp-httplib would otherwise parse a body sent as
  // application/x-www-form-urlencoded (curl -d's default) as a form and refuse it beyond 8 KiB.
  s.Post("/v1/messages", [this](const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& read) {
    if (const auto body = read_body(req, res, read)) impl_->post_messages(req, *body, res);
  });
  s.Get(R"(/v1/messages/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    impl_->get_message(req, res);
  });
  s.Get("/v1/inbox", [this](const httplib::Request& req, httplib::Response& res) {
    impl_->get_inbox(req, res);
  });
  // The client's page: public (it holds no data; every call it makes carries the key).
  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    const std::string_view page = detail::web_page_html();
    res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                   "connect-src 'self'; img-src 'self' blob:; form-action 'none'");
    res.set_header("Cache-Control", "no-store");
  });
  s.Get("/v1/status", [this](const httplib::Request& req, httplib::Response& res) {
    impl_->get_status(req, res);
  });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      json_error(
          res, res.status, "path",
          res.status == 413 ? "the body is larger than http.max_body_bytes" : "no such resource");
    }
  });
}

api_server::~api_server() = default;

httplib::Server& api_server::server() {
  return impl_->server;
}

std::optional<std::uint32_t> api_server::authenticate(const httplib::Request& req,
                                                      httplib::Response& res) const {
  return impl_->authenticate(req, res);
}

std::optional<std::string> api_server::read_body(const httplib::Request& req,
                                                 httplib::Response& res,
                                                 const httplib::ContentReader& read) const {
  const std::size_t limit = impl_->config.max_body_bytes;
  std::string body;
  // cpp-httplib skips a body whose Content-Length is over its limit (the same limit) without
  // calling the reader: the length says it.
  bool over = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) > limit;
  if (!over) {
    read([&](const char* data, std::size_t n) {
      over = body.size() + n > limit;
      if (!over) body.append(data, n);
      return !over;
    });
  }
  if (!over) return body;
  // The rest of the body is not read: the connection cannot carry another request.
  res.set_header("Connection", "close");
  json_error(res, 413, "body",
             "is larger than http.max_body_bytes (" + std::to_string(limit) + ")");
  return std::nullopt;
}

int api_server::bind() {
  const http_config& c = impl_->config;
  if (c.listen_port == 0) return impl_->server.bind_to_any_port(c.listen_host);
  return impl_->server.bind_to_port(c.listen_host, c.listen_port) ? c.listen_port : -1;
}

bool api_server::serve() {
  return impl_->server.listen_after_bind();
}

void api_server::stop() {
  impl_->server.stop();
}

}  // namespace smpp::http
