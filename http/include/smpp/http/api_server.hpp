// The HTTP API of smpp-http (cpp-httplib): POST /v1/messages, GET /v1/messages/{id},
// GET /v1/inbox, GET /v1/status, each authenticated by its bearer key, and the page at "/".
// Other routes (campaign_api.hpp) are added through server() with the same authentication.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "smpp/http/callbacks.hpp"
#include "smpp/http/http_config.hpp"
#include "smpp/http/message_journal.hpp"
#include "smpp/http/message_store.hpp"
#include "smpp/http/mo_inbox.hpp"
#include "smpp/http/smsc_sessions.hpp"

namespace httplib {
class ContentReader;
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace smpp::http {

// {"error":{"field":...,"reason":...}} with `status`.
void json_error(httplib::Response& res, int status, std::string_view field,
                std::string_view reason);
// Whether `from_text` (as a request wrote it) is the client's sender or one it may name.
[[nodiscard]] bool sender_allowed(const client_config& client, std::string_view from_text);

class api_server {
 public:
  // `journal` (may be null) adds its counters to /v1/status; `inbox` serves GET /v1/inbox.
  api_server(const http_config& config, message_store& store, const smsc_sessions& sessions,
             const callback_sender& callbacks, const message_journal* journal,
             const mo_inbox& inbox);
  ~api_server();
  api_server(const api_server&) = delete;
  api_server& operator=(const api_server&) = delete;

  // For routes served beside these (campaigns, the page), added before bind().
  [[nodiscard]] httplib::Server& server();
  // The client of the request's bearer key, or nullopt with 401 answered.
  [[nodiscard]] std::optional<std::uint32_t> authenticate(const httplib::Request& req,
                                                          httplib::Response& res) const;
  // The body of a POST read through cpp-httplib's content reader (so that a form-encoded body
  // is not parsed as a form), at most max_body_bytes; nullopt with 413 answered beyond.
  [[nodiscard]] std::optional<std::string> read_body(const httplib::Request& req,
                                                     httplib::Response& res,
                                                     const httplib::ContentReader& read) const;

  // Binds the listener; the port it got (config port 0 picks one), or -1.
  [[nodiscard]] int bind();
  // Serves until stop(); false when serving failed.
  bool serve();
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace smpp::http
