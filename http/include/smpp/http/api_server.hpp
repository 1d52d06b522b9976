// The HTTP API of smpp-http (cpp-httplib): POST /v1/messages, GET /v1/messages/{id},
// GET /v1/inbox, GET /v1/status. Each request is authenticated by its bearer key.
#pragma once

#include <cstdint>
#include <memory>

#include "smpp/http/callbacks.hpp"
#include "smpp/http/http_config.hpp"
#include "smpp/http/message_journal.hpp"
#include "smpp/http/message_store.hpp"
#include "smpp/http/mo_inbox.hpp"
#include "smpp/http/smsc_sessions.hpp"

namespace smpp::http {

class api_server {
 public:
  // `journal` (may be null) adds its counters to /v1/status; `inbox` serves GET /v1/inbox.
  api_server(const http_config& config, message_store& store, const smsc_sessions& sessions,
             const callback_sender& callbacks, const message_journal* journal,
             const mo_inbox& inbox);
  ~api_server();
  api_server(const api_server&) = delete;
  api_server& operator=(const api_server&) = delete;

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
