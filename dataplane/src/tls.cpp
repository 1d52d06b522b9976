#include "smpp/dataplane/tls.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>

namespace smpp::dataplane {
namespace {

// TLS 1.2 suites: forward secrecy and AEAD only (RFC 7525 §4.2); TLS 1.3 keeps OpenSSL's list.
constexpr const char* tls12_ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20";

// OpenSSL's reason for the oldest queued error, then the queue is emptied: the queue is per
// thread and must not leak into the next connection's call.
const char* take_openssl_reason() noexcept {
  const unsigned long e = ERR_peek_error();
  const char* r = e != 0 ? ERR_reason_error_string(e) : nullptr;
  ERR_clear_error();
  return r != nullptr ? r : "";
}

std::string openssl_error(const std::string& what, const std::string& file) {
  std::string reason = take_openssl_reason();
  if (reason.empty()) reason = "unknown error";
  return what + " " + file + ": " + reason;
}

int version_of(tls_min_version v) noexcept {
  return v == tls_min_version::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// Settings both sides share: protocol floor, suites, modes.
bool common_setup(SSL_CTX* ctx, tls_min_version min) {
  if (SSL_CTX_set_min_proto_version(ctx, version_of(min)) != 1) return false;
  if (SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1) return false;
  // No compression (CRIME), no renegotiation (a TLS 1.2 CPU-exhaustion vector).
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return true;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

tls_context::~tls_context() {
  SSL_CTX_free(ctx_);
}

std::shared_ptr<const tls_context> tls_context::make_server(const tls_server_options& o,
                                                            std::string& error) {
  ERR_clear_error();
  std::shared_ptr<tls_context> c(new tls_context());
  c->server_ = true;
  c->ctx_ = SSL_CTX_new(TLS_server_method());
  if (c->ctx_ == nullptr || !common_setup(c->ctx_, o.min_version)) {
    error = openssl_error("cannot set up TLS for", o.cert_file);
    return nullptr;
  }
  if (SSL_CTX_use_certificate_chain_file(c->ctx_, o.cert_file.c_str()) != 1) {
    error = openssl_error("cannot load the certificate", o.cert_file);
    return nullptr;
  }
  // The key's content never goes into a message, only its file name and OpenSSL's reason.
  if (SSL_CTX_use_PrivateKey_file(c->ctx_, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = openssl_error("cannot load the private key", o.key_file);
    return nullptr;
  }
  if (SSL_CTX_check_private_key(c->ctx_) != 1) {
    error = openssl_error("the private key does not match the certificate", o.cert_file);
    return nullptr;
  }
  SSL_CTX_set_options(c->ctx_, SSL_OP_CIPHER_SERVER_PREFERENCE);
  // No resumption: workers share the context, and a session cache would be a lock between them.
  SSL_CTX_set_session_cache_mode(c->ctx_, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(c->ctx_, 0);
  return c;
}

std::shared_ptr<const tls_context> tls_context::make_client(const tls_client_options& o,
                                                            std::string& error) {
  ERR_clear_error();
  std::shared_ptr<tls_context> c(new tls_context());
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  if (c->ctx_ == nullptr || !common_setup(c->ctx_, o.min_version)) {
    error = openssl_error("cannot set up TLS for", o.server_name);
    return nullptr;
  }
  SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_PEER, nullptr);
  const int loaded = o.ca_file.empty()
                         ? SSL_CTX_set_default_verify_paths(c->ctx_)
                         : SSL_CTX_load_verify_locations(c->ctx_, o.ca_file.c_str(), nullptr);
  if (loaded != 1) {
    error = openssl_error("cannot load the CA file", o.ca_file.empty() ? "(system)" : o.ca_file);
    return nullptr;
  }
  SSL_CTX_set_session_cache_mode(c->ctx_, SSL_SESS_CACHE_OFF);
  c->server_name_ = o.server_name;
  unsigned char ip[16];
  c->server_name_is_ip_ = inet_pton(AF_INET, o.server_name.c_str(), ip) == 1 ||
                          inet_pton(AF_INET6, o.server_name.c_str(), ip) == 1;
  if (!o.pin_sha256.empty()) {
    size_t n = 0;
    int high = -1;
    for (const char ch : o.pin_sha256) {
      if (ch == ':') continue;
      const int v = hex_value(ch);
      if (v < 0 || n == c->pin_.size()) {
        error = "pin_sha256 must be 64 hex digits (colons allowed)";
        return nullptr;
      }
      if (high < 0) {
        high = v;
      } else {
        c->pin_[n++] = static_cast<unsigned char>(high << 4 | v);
        high = -1;
      }
    }
    if (n != c->pin_.size() || high >= 0) {
      error = "pin_sha256 must be 64 hex digits (colons allowed)";
      return nullptr;
    }
    c->has_pin_ = true;
  }
  return c;
}

tls_session::tls_session(std::shared_ptr<const tls_context> ctx) : ctx_(std::move(ctx)) {
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx_->ctx_);
  BIO* internal = nullptr;
  BIO* network = nullptr;
  if (ssl == nullptr ||
      BIO_new_bio_pair(&internal, network_buffer_bytes, &network, network_buffer_bytes) != 1) {
    SSL_free(ssl);
    ERR_clear_error();
    return;
  }
  SSL_set_bio(ssl, internal, internal);
  if (ctx_->server_) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
    bool ok = true;
    const std::string& name = ctx_->server_name_;
    if (!name.empty()) {
      if (ctx_->server_name_is_ip_) {
        // RFC 6066 §3: SNI carries host names only; an IP is checked against the IP SANs.
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
      } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set_tlsext_host_name(ssl, name.c_str()) == 1 &&
             SSL_set1_host(ssl, name.c_str()) == 1;
      }
    }
    if (!ok) {
      SSL_free(ssl);
      BIO_free(network);
      ERR_clear_error();
      return;
    }
  }
  ssl_ = ssl;
  network_ = network;
}

tls_session::~tls_session() {
  SSL_free(ssl_);  // frees the internal half of the pair
  BIO_free(network_);
}

bool tls_session::is_server() const noexcept {
  return ctx_->server_;
}

int tls_session::protocol_version() const noexcept {
  return established_ ? SSL_version(ssl_) : 0;
}

size_t tls_session::feed(bytes_view ciphertext) noexcept {
  if (ciphertext.empty()) return 0;
  const size_t room = BIO_ctrl_get_write_guarantee(network_);
  const size_t n = std::min(room, ciphertext.size());
  if (n == 0) return 0;
  const int w = BIO_write(network_, ciphertext.data(), static_cast<int>(n));
  return w > 0 ? static_cast<size_t>(w) : 0;
}

tls_session::status tls_session::fail(int ssl_error) noexcept {
  switch (ssl_error) {
    case SSL_ERROR_WANT_READ:
      ERR_clear_error();
      return status::want_input;
    case SSL_ERROR_WANT_WRITE:
      ERR_clear_error();
      return status::want_output;
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      return status::closed;
    default:
      break;
  }
  verify_result_ = ctx_->server_ ? X509_V_OK : SSL_get_verify_result(ssl_);
  if (verify_result_ != X509_V_OK) {
    reason_ = X509_verify_cert_error_string(verify_result_);
    ERR_clear_error();
    return status::rejected;
  }
  reason_ = take_openssl_reason();
  if (*reason_ == '\0') reason_ = "connection failed";
  return status::failed;
}

tls_session::status tls_session::check_pin() noexcept {
  if (!ctx_->has_pin_) return status::ok;
  X509* cert = SSL_get0_peer_certificate(ssl_);
  unsigned char* der = nullptr;
  const int len = cert != nullptr ? i2d_X509(cert, &der) : -1;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  const bool hashed = len > 0 && EVP_Digest(der, static_cast<size_t>(len), digest, &digest_len,
                                            EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  ERR_clear_error();
  if (!hashed || digest_len != ctx_->pin_.size() ||
      CRYPTO_memcmp(digest, ctx_->pin_.data(), ctx_->pin_.size()) != 0) {
    reason_ = "certificate does not match pin_sha256";
    verify_result_ = X509_V_ERR_APPLICATION_VERIFICATION;
    return status::rejected;
  }
  return status::ok;
}

tls_session::status tls_session::handshake() noexcept {
  if (established_) return status::ok;
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r != 1) return fail(SSL_get_error(ssl_, r));
  if (!ctx_->server_) {
    const status pinned = check_pin();
    if (pinned != status::ok) return pinned;
  }
  established_ = true;
  return status::ok;
}

tls_session::status tls_session::read(std::span<std::byte> out, size_t& n) noexcept {
  n = 0;
  ERR_clear_error();
  const int r = SSL_read_ex(ssl_, out.data(), out.size(), &n);
  if (r == 1) return status::ok;
  n = 0;
  return fail(SSL_get_error(ssl_, r));
}

tls_session::status tls_session::write(bytes_view plaintext, size_t& taken) noexcept {
  taken = 0;
  if (plaintext.empty()) return status::ok;
  // Only into an empty output: a full record then always fits, and the room left is for what
  // the session writes on its own.
  if (BIO_ctrl_pending(network_) > 0) return status::want_output;
  const size_t n = std::min(plaintext.size(), max_write_bytes);
  ERR_clear_error();
  const int r = SSL_write_ex(ssl_, plaintext.data(), n, &taken);
  if (r == 1) return status::ok;
  taken = 0;
  return fail(SSL_get_error(ssl_, r));
}

void tls_session::shutdown() noexcept {
  if (shutdown_sent_ || !established_) return;
  shutdown_sent_ = true;
  ERR_clear_error();
  (void)SSL_shutdown(ssl_);  // writes close_notify; the peer's is not awaited
  ERR_clear_error();
}

bytes_view tls_session::output() noexcept {
  char* p = nullptr;
  const int n = BIO_nread0(network_, &p);
  if (n <= 0) return {};
  return {reinterpret_cast<const std::byte*>(p), static_cast<size_t>(n)};
}

void tls_session::consume_output(size_t n) noexcept {
  char* p = nullptr;
  while (n > 0) {
    const int step = BIO_nread(network_, &p, static_cast<int>(std::min<size_t>(n, INT_MAX)));
    if (step <= 0) return;
    n -= static_cast<size_t>(step);
  }
}

size_t tls_session::output_pending() const noexcept {
  return BIO_ctrl_pending(network_);
}

}  // namespace smpp::dataplane
