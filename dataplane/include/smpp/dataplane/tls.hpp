// TLS for the transports: one context per certificate (listeners) or per upstream (clients), one
// session per connection.
//
// A session never touches a socket. OpenSSL runs over a BIO pair: the transport feeds it the
// ciphertext it read, takes the plaintext out for the handler, hands it the plaintext queued for
// the peer and writes the ciphertext it produces. Both transports (kernel sockets, DPDK with the
// userspace TCP stack) drive the same session, and the sessions above them never see TLS.
//
// Bounds: each direction of the BIO pair holds network_buffer_bytes; write() takes at most one
// record (max_write_bytes) and only while the output is empty, so the output always has room
// for what the session writes on its own (alerts, close_notify, key-update answers). Nothing
// here logs; failure_reason() is OpenSSL's static text (no key material, no peer data).
#pragma once

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "smpp/codec/bytes.hpp"

struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace smpp::dataplane {

using codec::bytes_view;

// The errno a TLS connect reports through on_connect when the handshake does not complete.
inline constexpr int tls_handshake_error = EPROTO;     // no TLS peer, bad record, alert, EOF
inline constexpr int tls_verify_error = EKEYREJECTED;  // certificate chain, name or pin refused

enum class tls_min_version : uint8_t { v1_2, v1_3 };

struct tls_server_options {
  std::string cert_file;  // PEM: the leaf first, then intermediates
  std::string key_file;   // PEM private key of the leaf
  tls_min_version min_version = tls_min_version::v1_2;
};

struct tls_client_options {
  std::string ca_file;      // PEM CA bundle; empty: the system's default trust store
  std::string server_name;  // SNI (host names only) and the host name or IP verified; required
  std::string pin_sha256;   // 64 hex digits (colons allowed): SHA-256 of the leaf (DER); or empty
  tls_min_version min_version = tls_min_version::v1_2;
};

// An SSL_CTX set up once on the control thread and shared (read-only) by every worker.
class tls_context {
 public:
  // nullptr and `error` set (which file, OpenSSL's reason) when the options cannot be used.
  [[nodiscard]] static std::shared_ptr<const tls_context> make_server(const tls_server_options& o,
                                                                      std::string& error);
  [[nodiscard]] static std::shared_ptr<const tls_context> make_client(const tls_client_options& o,
                                                                      std::string& error);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  [[nodiscard]] bool is_server() const noexcept { return server_; }

 private:
  friend class tls_session;
  tls_context() = default;

  ssl_ctx_st* ctx_ = nullptr;
  bool server_ = false;
  bool server_name_is_ip_ = false;
  bool has_pin_ = false;
  std::string server_name_;
  std::array<unsigned char, 32> pin_{};
};

class tls_session {
 public:
  enum class status : uint8_t {
    ok,           // progress: established, or octets moved
    want_input,   // nothing more to do until the peer sends more
    want_output,  // the output is full: write it out, then call again
    closed,       // the peer sent close_notify
    failed,       // protocol error or alert: close the connection
    rejected,     // client: the server's certificate was refused (chain, name, expiry or pin)
  };

  // One direction of the BIO pair: a full record (16 KiB + overhead) with room to spare.
  static constexpr size_t network_buffer_bytes = 20 * 1024;
  // RFC 8446 §5.1: a record carries at most 2^14 plaintext octets.
  static constexpr size_t max_write_bytes = 16 * 1024;

  explicit tls_session(std::shared_ptr<const tls_context> ctx);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  // false when OpenSSL could not allocate the session: close the connection.
  [[nodiscard]] bool valid() const noexcept { return ssl_ != nullptr; }
  [[nodiscard]] bool established() const noexcept { return established_; }
  [[nodiscard]] bool is_server() const noexcept;

  // Ciphertext from the peer: returns how many octets were taken (fewer than offered when the
  // input buffer is full; run handshake() or read() and offer the rest).
  [[nodiscard]] size_t feed(bytes_view ciphertext) noexcept;
  // Advances the handshake: ok once established (a client has checked the pin too).
  [[nodiscard]] status handshake() noexcept;
  // Decrypts into out: n octets (0 with want_input when no full record is buffered).
  [[nodiscard]] status read(std::span<std::byte> out, size_t& n) noexcept;
  // Encrypts up to max_write_bytes of plaintext when the output is empty (else taken is 0 and
  // want_output): taken says how many octets went into the record.
  [[nodiscard]] status write(bytes_view plaintext, size_t& taken) noexcept;
  // Queues close_notify once (RFC 8446 §6.1); no effect before the handshake finished.
  void shutdown() noexcept;
  [[nodiscard]] bool shutdown_sent() const noexcept { return shutdown_sent_; }

  // Ciphertext for the peer: the contiguous octets ready now (empty when none); consume_output()
  // drops the first n of them once written.
  [[nodiscard]] bytes_view output() noexcept;
  void consume_output(size_t n) noexcept;
  [[nodiscard]] size_t output_pending() const noexcept;

  // After failed or rejected: OpenSSL's static reason text ("" when none).
  [[nodiscard]] const char* failure_reason() const noexcept { return reason_; }
  // X509_V_OK (0) or the X509_V_ERR_* code of a refused certificate.
  [[nodiscard]] long verify_result() const noexcept { return verify_result_; }
  // TLS1_2_VERSION, TLS1_3_VERSION once established; 0 before.
  [[nodiscard]] int protocol_version() const noexcept;

 private:
  status fail(int ssl_error) noexcept;
  status check_pin() noexcept;

  std::shared_ptr<const tls_context> ctx_;
  ssl_st* ssl_ = nullptr;
  bio_st* network_ = nullptr;  // our end of the BIO pair; the SSL owns the other
  const char* reason_ = "";
  long verify_result_ = 0;
  bool established_ = false;
  bool shutdown_sent_ = false;
};

}  // namespace smpp::dataplane
