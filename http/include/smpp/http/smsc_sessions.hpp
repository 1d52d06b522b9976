// The SMPP side of smpp-http: `sessions` transceiver binds to one SMSC (or the router), each a
// thread that takes parts from the message store while it has fewer than `window` submit_sm
// unanswered, feeds the answers and delivery receipts back, and binds again after a loss.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "smpp/codec/pdu.hpp"
#include "smpp/http/message_store.hpp"

namespace smpp::http {

class smsc_tls_context;

struct smsc_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 2775;
  std::string system_id = "demo";
  std::string password = "demo";
  std::string system_type;
  unsigned sessions = 2;
  unsigned window = 64;
  std::uint32_t enquire_link_s = 30;
  std::uint32_t reconnect_ms = 1000;
  std::uint32_t response_timeout_ms = 30000;
  // TLS (1.2 or 1.3) to the SMSC, its certificate checked against tls_ca_file (PEM; empty: the
  // system's trust store) and tls_server_name (empty: host).
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_server_name;
};

struct session_counters {
  std::uint64_t binds = 0;
  std::uint64_t bind_failures = 0;
  std::uint64_t disconnects = 0;
  std::uint64_t receipts = 0;
  std::uint64_t mo_messages = 0;  // deliver_sm that are not receipts, passed to the MO hook
  std::uint64_t bound_now = 0;
};

class smsc_sessions {
 public:
  smsc_sessions(const smsc_config& config, message_store& store);
  ~smsc_sessions();
  smsc_sessions(const smsc_sessions&) = delete;
  smsc_sessions& operator=(const smsc_sessions&) = delete;

  // Before start(): each MO deliver_sm (not a receipt) is given to `hook` on the session's
  // thread before it is acknowledged.
  using mo_hook = std::function<void(const codec::pdu&)>;
  void set_mo_hook(mo_hook hook);

  // Why the sessions cannot start (the TLS settings cannot be used), or empty.
  [[nodiscard]] const std::string& error() const { return error_; }
  void start();
  // Stops taking parts, waits up to 2 s for the answers in flight, unbinds, joins the threads.
  void stop();
  [[nodiscard]] session_counters counters() const;

 private:
  struct session;
  void run(session& s);
  void wake_all();

  smsc_config config_;
  std::shared_ptr<const smsc_tls_context> tls_;  // with config_.tls
  std::string error_;
  message_store& store_;
  mo_hook mo_hook_;
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<session>> sessions_;
  std::vector<std::thread> threads_;
  std::atomic<std::uint64_t> binds_{0};
  std::atomic<std::uint64_t> bind_failures_{0};
  std::atomic<std::uint64_t> disconnects_{0};
  std::atomic<std::uint64_t> receipts_{0};
  std::atomic<std::uint64_t> mo_messages_{0};
  std::atomic<std::uint64_t> bound_now_{0};
};

}  // namespace smpp::http
