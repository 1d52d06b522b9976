// smpp-http's configuration file (TOML; config/http.toml is the default): the HTTP listener,
// the SMSC binds, the store's bounds and its database, and the API clients with their hashed
// keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "smpp/http/callbacks.hpp"
#include "smpp/http/message_journal.hpp"
#include "smpp/http/message_store.hpp"
#include "smpp/http/send_request.hpp"
#include "smpp/http/smsc_sessions.hpp"

namespace smpp::http {

struct client_config {
  std::string name;
  std::string key_hash;                   // hash_api_key() of the client's key
  std::string from;                       // the sender used when a request names none
  std::vector<std::string> allowed_from;  // senders a request may name; empty: only `from`
  std::size_t max_recipients = 10000;
  std::uint32_t rate_per_s = 0;  // messages accepted per second; 0: no limit
  std::string webhook_secret;    // signs dlr_url and mo_url callbacks; empty: unsigned
  std::string mo_url;            // MO messages to this client's numbers are POSTed here
  unsigned callback_batch = 1;   // > 1: callbacks POSTed as JSON arrays of up to this many
};

struct http_config {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8780;
  unsigned threads = 64;  // a request holds one until its commit (group commit, fsync)
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t max_parts = 10;
  smsc_config smsc;
  store_config limits;
  callback_config callbacks;
  journal_config store;
  std::size_t inbox_max = 10000;                 // MO messages kept per client for GET /v1/inbox
  std::size_t campaign_max_recipients = 100000;  // rows of one campaign; more are refused
  std::size_t max_campaigns = 1000;  // kept; beyond, the oldest finished one is forgotten
  std::vector<client_config> clients;
};

// The config, or every error found as "file:line:column: key: message".
[[nodiscard]] std::variant<http_config, std::vector<std::string>> load_http_config(
    const std::string& path);

// API keys are random tokens, not passwords people choose: one BLAKE2b-256 (libsodium
// crypto_generichash) keeps the file from revealing them at no per-request cost, where a
// password hash (argon2) would cap the request rate at a few per second.
[[nodiscard]] std::string hash_api_key(std::string_view key);

}  // namespace smpp::http
