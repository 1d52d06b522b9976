// The admin server: cpp-httplib listens on threads of its own, the token rule guards changes,
// and the endpoints hand reads to the views (admin_views.hpp) and changes to the change
// pipeline (admin_changes.hpp); "/" serves the console page (console_page.hpp).
#include "smpp/control/admin.hpp"

#include <sodium.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <httplib.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "admin_changes.hpp"
#include "admin_views.hpp"
#include "console_page.hpp"
#include "smpp/control/admin_history.hpp"
#include "smpp/control/plan_svg.hpp"

#ifndef SMPP_VERSION
#define SMPP_VERSION "unknown"
#endif

namespace smpp::control {
namespace {

using json = nlohmann::json;

uint64_t unix_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t steady_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// httplib's ThreadPool queues every accepted connection without a bound; this one serves
// `threads` at once and holds at most `capacity` more, after which the accepting thread waits
// (further connections wait in the kernel's listen backlog).
class bounded_pool final : public httplib::TaskQueue {
 public:
  bounded_pool(size_t threads, size_t capacity) : capacity_(capacity) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~bounded_pool() override = default;
  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return jobs_.size() < capacity_ || shutdown_; });
    jobs_.push_back(std::move(fn));
    lock.unlock();
    ready_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      shutdown_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
        if (jobs_.empty()) return;  // shut down and drained
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      room_.notify_one();
      fn();
    }
  }
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::condition_variable room_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool shutdown_ = false;
};

// The nesting depth of a JSON text, counted before parsing so that a deep document never
// reaches the parser (brackets inside strings do not count).
size_t json_depth(std::string_view text) {
  size_t depth = 0;
  size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

struct admin_server::impl {
  admin_view view;
  uint64_t started_ms = steady_ms();

  detail::current_state state;
  detail::change_pipeline changes;

  std::mutex rates_mu;
  rate_window rates;
  history_ring history;  // the console's charts
  std::condition_variable sampler_cv;
  bool stopping = false;
  std::thread sampler;

  // The last change that reached the change pipeline, as /api/status shows it (null: none yet).
  std::mutex last_change_mu;
  json last_change;

  httplib::Server server;
  std::thread listener;
  int bound_port = 0;
  bool running = false;

  impl(admin_view v, snapshot_publisher publish)
      : view(std::move(v)), changes(state, std::move(publish)) {}

  // ---- reading ----

  router_totals totals(const detail::admin_state& s) const {
    return collect_totals(*s.snapshot, view);
  }

  rate_window::rates current_rates() {
    std::lock_guard lock(rates_mu);
    return rates.current();
  }

  void sample_loop() {
    std::unique_lock lock(rates_mu);
    while (!stopping) {
      const auto s = state.get();
      const router_totals t = totals(*s);
      const uint64_t now = steady_ms();
      rates.add(now, t);
      history.add(unix_ms(), now, t);
      sampler_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; });
    }
  }

  double uptime_s() const { return static_cast<double>(steady_ms() - started_ms) / 1000.0; }

  // A view of the current state with the workers' counters and rates of now.
  template <typename View>
  json with_totals(View&& render) {
    const auto s = state.get();
    const router_totals t = totals(*s);
    const auto r = current_rates();
    return render(detail::view_input{s->config, *s->snapshot, t, r, view.placement, SMPP_VERSION,
                                     uptime_s()});
  }

  std::string metrics_text() {
    const auto s = state.get();
    const router_totals t = totals(*s);
    const auto r = current_rates();
    metrics_input in;
    in.snapshot = s->snapshot.get();
    in.totals = &t;
    in.rates = &r;
    in.placement = &view.placement;
    in.version = SMPP_VERSION;
    in.uptime_s = uptime_s();
    return render_metrics(in);
  }

  // ---- answering ----

  static void reply(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(2, ' ', false, json::error_handler_t::replace) + "\n",
                    "application/json");
  }
  static void reply_error(httplib::Response& res, int status, const std::string& message) {
    reply(res, status, detail::error_body(message));
  }
  static void log(const httplib::Request& req, int status, const std::string& what) {
    std::fprintf(stderr, "smpp-router: admin: %s %s from %s: %d %s\n", req.method.c_str(),
                 req.path.c_str(), req.remote_addr.c_str(), status, what.c_str());
  }
  void answer(const httplib::Request& req, httplib::Response& res, const detail::change_answer& a) {
    reply(res, a.status, a.body);
    log(req, a.status, a.log);
    std::lock_guard lock(last_change_mu);
    last_change = {{"at_unix_ms", unix_ms()},
                   {"request", req.method + " " + req.path},
                   {"status", a.status},
                   {"applied", a.status == 200},
                   {"answer", a.body}};
  }

  std::string history_json(const httplib::Request& req) {
    const std::string since = req.get_param_value("since");
    const uint64_t since_ms = std::strtoull(since.c_str(), nullptr, 10);
    const auto s = state.get();
    std::lock_guard lock(rates_mu);
    return history.to_json(*s->snapshot, since_ms);
  }

  // Changes need "Authorization: Bearer <token>"; compared through a hash so that neither the
  // length nor the contents of the token leak through timing.
  bool authorized(const httplib::Request& req, httplib::Response& res) {
    const auto s = state.get();
    const std::string& token = s->config.admin.token;
    if (token.empty()) {
      reply_error(res, 403,
                  "changes are disabled: no [admin] token or token_file is configured on the "
                  "router");
      return false;
    }
    const std::string header = req.get_header_value("Authorization");
    constexpr std::string_view scheme = "Bearer ";
    const std::string given = header.starts_with(scheme) ? header.substr(scheme.size()) : "";
    unsigned char want[crypto_generichash_BYTES];
    unsigned char got[crypto_generichash_BYTES];
    crypto_generichash(want, sizeof want, reinterpret_cast<const unsigned char*>(token.data()),
                       token.size(), nullptr, 0);
    crypto_generichash(got, sizeof got, reinterpret_cast<const unsigned char*>(given.data()),
                       given.size(), nullptr, 0);
    if (given.empty() || sodium_memcmp(want, got, sizeof want) != 0) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"smpp-router\"");
      reply_error(res, 401,
                  header.empty() ? "this change needs 'Authorization: Bearer TOKEN'"
                                 : "the token is wrong");
      return false;
    }
    return true;
  }

  // The body as JSON, or an answer saying why not.
  static std::optional<json> body_json(const httplib::Request& req, httplib::Response& res) {
    if (json_depth(req.body) > max_json_depth) {
      reply_error(res, 400,
                  "the body nests deeper than " + std::to_string(max_json_depth) + " levels");
      return std::nullopt;
    }
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded()) {
      reply_error(res, 400, "the body is not valid JSON");
      return std::nullopt;
    }
    return j;
  }

  // A change of the current document: authorised, its body parsed, then the pipeline.
  void change(const httplib::Request& req, httplib::Response& res, bool needs_body,
              const detail::editor& edit) {
    if (!authorized(req, res)) {
      log(req, res.status, "refused: not authorised");
      return;
    }
    json body;
    if (needs_body) {
      auto parsed = body_json(req, res);
      if (!parsed) return;
      body = std::move(*parsed);
    }
    answer(req, res, changes.edit(edit, body));
  }

  void reload(const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) {
      log(req, res.status, "refused: not authorised");
      return;
    }
    answer(req, res, changes.reload());
  }

  // The HTTP endpoints: reads, changes, and the answers to errors.
  void register_endpoints() {
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      // The page's own inline script and style only; it talks to this server alone.
      res.set_header("Content-Security-Policy",
                     "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                     "connect-src 'self'; img-src 'self' data:; form-action 'none'; "
                     "frame-ancestors 'none'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Cache-Control", "no-cache");
      const std::string_view page = detail::console_html();
      res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
    });
    server.Get("/api/status", [this](const httplib::Request&, httplib::Response& res) {
      json j = with_totals(detail::status_json);
      std::lock_guard lock(last_change_mu);
      j["last_change"] = last_change;
      reply(res, 200, j);
    });
    server.Get("/api/history", [this](const httplib::Request& req, httplib::Response& res) {
      res.set_content(history_json(req), "application/json");
    });
    server.Get("/api/placement.svg", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(plan_svg(view.placement, "smpp-router: workers on this machine"),
                      "image/svg+xml; charset=utf-8");
    });
    server.Get("/api/tenants", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, with_totals(detail::tenants_json));
    });
    server.Get("/api/upstreams", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, with_totals(detail::upstreams_json));
    });
    server.Get("/api/sessions", [this](const httplib::Request&, httplib::Response& res) {
      const auto s = state.get();
      reply(res, 200, detail::sessions_json(*s->snapshot, totals(*s)));
    });
    server.Get("/api/routes", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, detail::routes_json(state.get()->config));
    });
    server.Get(R"(/api/slots/([^/]+))",
               [this](const httplib::Request& req, httplib::Response& res) {
                 const std::string name = req.matches[1];
                 if (auto j = detail::slots_json(*state.get()->snapshot, view.shared, name,
                                                 max_frame_slots_listed)) {
                   reply(res, 200, *j);
                 } else {
                   reply_error(res, 404, "no upstream named '" + name + "'");
                 }
               });
    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
    });

    server.Post("/api/reload",
                [this](const httplib::Request& req, httplib::Response& res) { reload(req, res); });
    for (const auto& [list, what] :
         {std::pair<std::string, std::string>{"tenants", "tenant"}, {"upstreams", "upstream"}}) {
      const std::string pattern = "/api/" + list + "/([^/]+)";
      auto put = [this, list = list](const httplib::Request& req, httplib::Response& res) {
        const std::string name = req.matches[1];
        change(req, res, true, [&](toml::table& doc, const json& body) {
          return detail::merge_entry(doc, list, name, body);
        });
      };
      server.Put(pattern, put);
      server.Post(pattern, put);
      server.Delete(pattern, [this, list = list, what = what](const httplib::Request& req,
                                                              httplib::Response& res) {
        const std::string name = req.matches[1];
        change(req, res, false, [&](toml::table& doc, const json&) {
          return detail::delete_entry(doc, list, name, what);
        });
      });
    }
    auto routes_put = [this](const httplib::Request& req, httplib::Response& res) {
      change(req, res, true,
             [](toml::table& doc, const json& body) { return detail::replace_routes(doc, body); });
    };
    server.Put("/api/routes", routes_put);
    server.Post("/api/routes", routes_put);
    auto weights_put = [this](const httplib::Request& req, httplib::Response& res) {
      const std::string tenant = req.matches[1];
      const std::string upstream = req.matches[2];
      change(req, res, true, [&](toml::table& doc, const json& body) {
        return detail::set_share(doc, tenant, upstream, body);
      });
    };
    server.Put(R"(/api/weights/([^/]+)/([^/]+))", weights_put);
    server.Post(R"(/api/weights/([^/]+)/([^/]+))", weights_put);

    server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      std::string message = "HTTP " + std::to_string(res.status);
      if (res.status == 404) message = "no such endpoint: " + req.method + " " + req.path;
      if (res.status == 400) {
        message = "malformed HTTP request (a POST or PUT needs a Content-Length header)";
      }
      if (res.status == 413) {
        // httplib takes at most 8192 octets of a form-encoded body (curl -d sends one).
        message = "the body is too large: at most " + std::to_string(max_body_bytes) +
                  " octets of Content-Type application/json";
      }
      reply_error(res, res.status, message);
    });
    server.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown error";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          reply_error(res, 500, "internal error: " + what);
        });
  }
};

admin_server::admin_server(router_config config,
                           std::shared_ptr<const dataplane::router_snapshot> snapshot,
                           admin_view view, snapshot_publisher publish)
    : impl_(std::make_unique<impl>(std::move(view), std::move(publish))) {
  auto s = std::make_shared<detail::admin_state>();
  s->config = std::move(config);
  s->snapshot = std::move(snapshot);
  impl_->state.set(std::move(s));
}

admin_server::~admin_server() {
  stop();
}

bool admin_server::start(std::string& error) {
  impl& m = *impl_;
  if (m.running) return true;
  if (sodium_init() < 0) {
    error = "libsodium cannot start";
    return false;
  }
  // The document that changes edit: the configuration file as the router loaded it.
  auto s = std::make_shared<detail::admin_state>(*m.state.get());
  {
    std::ifstream in(s->config.source_file, std::ios::binary);
    if (!in) {
      error = "cannot read " + s->config.source_file;
      return false;
    }
    try {
      s->document = toml::parse(in, std::string_view{s->config.source_file});
    } catch (const toml::parse_error& e) {
      error = s->config.source_file + ": " + std::string(e.description());
      return false;
    }
    m.state.set(std::move(s));
  }
  const admin_config a = m.state.get()->config.admin;
  m.server.new_task_queue = [] { return new bounded_pool(threads, queued_connections); };
  // httplib's default adds SO_REUSEPORT, which would let a second router share the port and
  // take half of the requests: only SO_REUSEADDR (a restart may bind over TIME_WAIT).
  m.server.set_socket_options([](int sock) {
    int yes = 1;
    (void)setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // Answers are written as header then body: without TCP_NODELAY the body waits for the
  // client's delayed ACK of the header (40 ms).
  m.server.set_tcp_nodelay(true);
  m.server.set_payload_max_length(max_body_bytes);
  m.server.set_read_timeout(io_timeout_s, 0);
  m.server.set_write_timeout(io_timeout_s, 0);
  // The wait for a new connection's first request (a connection is held by a thread from
  // accept on); with one request per connection there is no wait between requests.
  m.server.set_keep_alive_timeout(io_timeout_s);
  m.server.set_keep_alive_max_count(requests_per_connection);
  m.register_endpoints();
  if (a.port == 0) {
    m.bound_port = m.server.bind_to_any_port(a.host);
  } else {
    m.bound_port = m.server.bind_to_port(a.host, a.port) ? a.port : -1;
  }
  if (m.bound_port <= 0) {
    error = "cannot listen on " + dataplane::endpoint{a.host, a.port}.to_string() + ": " +
            std::strerror(errno);
    return false;
  }
  m.running = true;
  m.stopping = false;
  m.sampler = std::thread([&m] { m.sample_loop(); });
  m.listener = std::thread([&m] { m.server.listen_after_bind(); });
  // stop() only ends a server that is already running: wait until it is (bounded).
  for (int i = 0; i < 5000 && !m.server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void admin_server::stop() {
  impl& m = *impl_;
  if (!m.running) return;
  m.server.stop();
  if (m.listener.joinable()) m.listener.join();
  {
    std::lock_guard lock(m.rates_mu);
    m.stopping = true;
  }
  m.sampler_cv.notify_all();
  if (m.sampler.joinable()) m.sampler.join();
  m.running = false;
}

uint16_t admin_server::port() const noexcept {
  return impl_->bound_port > 0 ? static_cast<uint16_t>(impl_->bound_port) : 0;
}

}  // namespace smpp::control
