// Reads config/http.toml: every key checked, unknown keys refused, every error reported.
#include "smpp/http/http_config.hpp"

#include <sodium.h>

#include <toml++/toml.h>
#include <algorithm>
#include <set>
#include <stdexcept>
#include <utility>

namespace smpp::http {
namespace {

class reader {
 public:
  explicit reader(std::string file) : file_(std::move(file)) {}

  void error(const toml::node* at, const std::string& key, const std::string& message) {
    std::string where = file_;
    std::pair<unsigned, unsigned> position{~0u, 0};  // errors without a place come last
    if (at != nullptr) {
      position = {at->source().begin.line, at->source().begin.column};
      where += ":" + std::to_string(position.first) + ":" + std::to_string(position.second);
    }
    errors_.push_back({position, where + ": " + key + ": " + message});
  }

  // Every error, in file order.
  [[nodiscard]] std::vector<std::string> errors() {
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (auto& e : errors_) out.push_back(std::move(e.second));
    return out;
  }

  // Refuses keys outside `known`.
  void only(const toml::table& t, const std::string& path, const std::set<std::string>& known) {
    for (const auto& [k, v] : t) {
      if (known.count(std::string(k.str())) == 0) {
        std::string list;
        for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
        error(&v, path + std::string(k.str()), "unknown key (accepted: " + list + ")");
      }
    }
  }

  template <typename Int>
  void integer(const toml::table& t, const std::string& path, const char* key, Int& out,
               std::int64_t min, std::int64_t max) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return;
    const auto v = n->value_exact<std::int64_t>();
    if (!v || *v < min || *v > max) {
      error(n, path + key,
            "must be an integer " + std::to_string(min) + ".." + std::to_string(max));
      return;
    }
    out = static_cast<Int>(*v);
  }

  void string(const toml::table& t, const std::string& path, const char* key, std::string& out,
              bool non_empty = false) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return;
    const auto v = n->value_exact<std::string>();
    if (!v || (non_empty && v->empty())) {
      error(n, path + key, non_empty ? "must be a non-empty string" : "must be a string");
      return;
    }
    out = *v;
  }

  void boolean(const toml::table& t, const std::string& path, const char* key, bool& out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return;
    const auto v = n->value_exact<bool>();
    if (!v) {
      error(n, path + key, "must be true or false");
      return;
    }
    out = *v;
  }

  const toml::table* table(const toml::table& t, const char* key) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) {
      error(n, key, "must be a table");
      return nullptr;
    }
    return n->as_table();
  }

  std::vector<std::pair<std::pair<unsigned, unsigned>, std::string>> errors_;

 private:
  std::string file_;
};

void read_listen(reader& r, const toml::table& t, http_config& c) {
  const toml::node* n = t.get("listen");
  if (n == nullptr) return;
  const auto v = n->value_exact<std::string>();
  const std::size_t colon = v ? v->rfind(':') : std::string::npos;
  int port = 0;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(v->substr(colon + 1));
    } catch (const std::exception&) {
      port = -1;
    }
  }
  if (!v || colon == std::string::npos || colon == 0 || port < 0 || port > 65535) {
    r.error(n, "http.listen", "must be \"host:port\" with a port 0..65535");
    return;
  }
  c.listen_host = v->substr(0, colon);
  c.listen_port = static_cast<std::uint16_t>(port);
}

void read_radix(reader& r, const toml::table& t, const char* key, codec::id_radix& out) {
  std::string v;
  r.string(t, "smsc.", key, v);
  if (v.empty() && t.get(key) == nullptr) return;
  if (v == "text") {
    out = codec::id_radix::text;
  } else if (v == "hex") {
    out = codec::id_radix::hex;
  } else if (v == "decimal") {
    out = codec::id_radix::decimal;
  } else if (v == "auto") {
    out = codec::id_radix::auto_detect;
  } else {
    r.error(t.get(key), std::string("smsc.") + key,
            "must be \"text\", \"hex\", \"decimal\" or \"auto\"");
  }
}

void read_client(reader& r, const toml::table& t, std::size_t i, http_config& c) {
  const std::string path = "clients[" + std::to_string(i) + "].";
  r.only(t, path,
         {"name", "key_hash", "from", "allowed_from", "max_recipients", "rate_per_s",
          "webhook_secret", "mo_url", "callback_batch"});
  client_config cl;
  r.string(t, path, "name", cl.name, true);
  r.string(t, path, "key_hash", cl.key_hash, true);
  r.string(t, path, "from", cl.from, true);
  r.string(t, path, "webhook_secret", cl.webhook_secret);
  r.string(t, path, "mo_url", cl.mo_url);
  if (!cl.mo_url.empty() && !parse_callback_url(cl.mo_url)) {
    r.error(t.get("mo_url"), path + "mo_url", "must be an http:// or https:// URL");
  }
  if (cl.name.empty()) r.error(&t, path + "name", "is required");
  if (cl.key_hash.rfind("blake2b256:", 0) != 0 || cl.key_hash.size() != 11 + 64) {
    r.error(t.get("key_hash") != nullptr ? t.get("key_hash") : &t, path + "key_hash",
            "must be \"blake2b256:\" and 64 hex digits (smpp-http --hash-key KEY prints it)");
  }
  if (!parse_sender(cl.from)) {
    r.error(t.get("from") != nullptr ? t.get("from") : &t, path + "from",
            "must be a number or 1..11 letters, digits, space or -._&");
  }
  if (const toml::node* n = t.get("allowed_from")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      r.error(n, path + "allowed_from", "must be an array of senders");
    } else {
      for (const toml::node& e : *a) {
        const auto s = e.value_exact<std::string>();
        if (!s || !parse_sender(*s)) {
          r.error(&e, path + "allowed_from", "each must be a number or 1..11 characters");
        } else {
          cl.allowed_from.push_back(*s);
        }
      }
    }
  }
  r.integer(t, path, "max_recipients", cl.max_recipients, 1, 10000);
  r.integer(t, path, "rate_per_s", cl.rate_per_s, 0, 10'000'000);
  r.integer(t, path, "callback_batch", cl.callback_batch, 1, 1000);
  for (const client_config& other : c.clients) {
    if (other.key_hash == cl.key_hash && !cl.key_hash.empty()) {
      r.error(&t, path + "key_hash", "is the same as client '" + other.name + "'");
    }
  }
  c.clients.push_back(std::move(cl));
}

}  // namespace

std::string hash_api_key(std::string_view key) {
  static const int init = sodium_init();
  if (init < 0) throw std::runtime_error("libsodium: sodium_init() failed");
  unsigned char digest[32];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(key.data()),
                     key.size(), nullptr, 0);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string("blake2b256:") + hex;
}

std::variant<http_config, std::vector<std::string>> load_http_config(const std::string& path) {
  reader r(path);
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return std::vector<std::string>{path + ":" + std::to_string(e.source().begin.line) + ":" +
                                    std::to_string(e.source().begin.column) + ": " +
                                    std::string(e.description())};
  }
  http_config c;
  r.only(root, "", {"http", "smsc", "limits", "store", "callbacks", "campaigns", "clients"});
  if (const toml::table* t = r.table(root, "http")) {
    r.only(*t, "http.", {"listen", "threads", "max_body_bytes", "max_parts"});
    read_listen(r, *t, c);
    r.integer(*t, "http.", "threads", c.threads, 1, 1024);
    r.integer(*t, "http.", "max_body_bytes", c.max_body_bytes, 1024, 64 * 1024 * 1024);
    r.integer(*t, "http.", "max_parts", c.max_parts, 1, 255);
  }
  if (const toml::table* t = r.table(root, "smsc")) {
    r.only(*t, "smsc.",
           {"host", "port", "system_id", "password", "system_type", "sessions", "window",
            "enquire_link_s", "reconnect_ms", "response_timeout_ms", "message_id_radix", "tls",
            "tls_ca_file", "tls_server_name", "receipt_id_radix"});
    read_radix(r, *t, "message_id_radix", c.limits.message_id_radix);
    read_radix(r, *t, "receipt_id_radix", c.limits.receipt_id_radix);
    r.string(*t, "smsc.", "host", c.smsc.host, true);
    r.integer(*t, "smsc.", "port", c.smsc.port, 1, 65535);
    r.string(*t, "smsc.", "system_id", c.smsc.system_id, true);
    r.string(*t, "smsc.", "password", c.smsc.password);
    r.string(*t, "smsc.", "system_type", c.smsc.system_type);
    r.integer(*t, "smsc.", "sessions", c.smsc.sessions, 1, 64);
    r.integer(*t, "smsc.", "window", c.smsc.window, 1, 65535);
    r.integer(*t, "smsc.", "enquire_link_s", c.smsc.enquire_link_s, 1, 3600);
    r.integer(*t, "smsc.", "reconnect_ms", c.smsc.reconnect_ms, 10, 600000);
    r.integer(*t, "smsc.", "response_timeout_ms", c.smsc.response_timeout_ms, 100, 600000);
    r.boolean(*t, "smsc.", "tls", c.smsc.tls);
    r.string(*t, "smsc.", "tls_ca_file", c.smsc.tls_ca_file);
    r.string(*t, "smsc.", "tls_server_name", c.smsc.tls_server_name);
    // SMPP 3.4 §4.1.1: system_id at most 15 characters, password at most 8.
    if (c.smsc.system_id.size() > 15) r.error(t->get("system_id"), "smsc.system_id", "at most 15");
    if (c.smsc.password.size() > 8) r.error(t->get("password"), "smsc.password", "at most 8");
  }
  if (const toml::table* t = r.table(root, "limits")) {
    r.only(*t, "limits.",
           {"max_messages", "max_queued_parts", "receipt_wait_s", "max_attempts", "inbox_max"});
    r.integer(*t, "limits.", "inbox_max", c.inbox_max, 1, 10'000'000);
    r.integer(*t, "limits.", "max_messages", c.limits.max_messages, 1, 100'000'000);
    r.integer(*t, "limits.", "max_queued_parts", c.limits.max_queued_parts, 1, 100'000'000);
    r.integer(*t, "limits.", "receipt_wait_s", c.limits.receipt_wait_s, 0, 30 * 86400);
    r.integer(*t, "limits.", "max_attempts", c.limits.max_attempts, 1, 1000);
  }
  if (const toml::table* t = r.table(root, "campaigns")) {
    r.only(*t, "campaigns.", {"max_recipients", "max_campaigns"});
    r.integer(*t, "campaigns.", "max_recipients", c.campaign_max_recipients, 1, 10'000'000);
    r.integer(*t, "campaigns.", "max_campaigns", c.max_campaigns, 1, 1'000'000);
  }
  if (const toml::table* t = r.table(root, "store")) {
    r.only(*t, "store.", {"path", "synchronous", "max_backlog"});
    r.string(*t, "store.", "path", c.store.path, true);
    r.string(*t, "store.", "synchronous", c.store.synchronous);
    if (c.store.synchronous != "full" && c.store.synchronous != "normal") {
      r.error(t->get("synchronous"), "store.synchronous", "must be \"full\" or \"normal\"");
    }
    r.integer(*t, "store.", "max_backlog", c.store.max_backlog, 1000, 100'000'000);
  }
  if (const toml::table* t = r.table(root, "callbacks")) {
    r.only(*t, "callbacks.", {"threads", "max_pending", "retry_for_s", "timeout_ms"});
    r.integer(*t, "callbacks.", "threads", c.callbacks.threads, 1, 64);
    r.integer(*t, "callbacks.", "max_pending", c.callbacks.max_pending, 1, 10'000'000);
    r.integer(*t, "callbacks.", "retry_for_s", c.callbacks.retry_for_s, 0, 7 * 86400);
    r.integer(*t, "callbacks.", "timeout_ms", c.callbacks.timeout_ms, 100, 600000);
  }
  if (const toml::node* n = root.get("clients")) {
    const toml::array* a = n->as_array();
    if (a == nullptr || !a->is_array_of_tables()) {
      r.error(n, "clients", "must be an array of tables ([[clients]])");
    } else {
      for (std::size_t i = 0; i < a->size(); ++i) read_client(r, *a->get(i)->as_table(), i, c);
    }
  }
  if (c.clients.empty()) r.error(nullptr, "clients", "at least one [[clients]] is required");
  if (!r.errors_.empty()) return r.errors();
  return c;
}

}  // namespace smpp::http
