// Plain and TLS byte streams to the SMSC over OpenSSL's socket BIO (SSL_set_fd).
#include "smsc_link.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "clock.hpp"

namespace smpp::http {

class smsc_tls_context {
 public:
  explicit smsc_tls_context(SSL_CTX* ctx, std::string server_name)
      : ctx_(ctx), server_name_(std::move(server_name)) {}
  ~smsc_tls_context() { SSL_CTX_free(ctx_); }
  smsc_tls_context(const smsc_tls_context&) = delete;
  smsc_tls_context& operator=(const smsc_tls_context&) = delete;

  SSL_CTX* ctx_;
  std::string server_name_;
};

namespace {

std::string openssl_reason() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no reason given";
  const char* r = ERR_reason_error_string(e);
  return r != nullptr ? r : "error " + std::to_string(e);
}

class plain final : public smsc_link {
 public:
  explicit plain(int fd) : fd_(fd) {}
  ~plain() override { close(fd_); }
  plain(const plain&) = delete;
  plain& operator=(const plain&) = delete;
  ssize_t send(const std::byte* data, std::size_t n) override {
    return ::send(fd_, data, n, MSG_NOSIGNAL);
  }
  ssize_t receive(std::byte* data, std::size_t n) override { return ::recv(fd_, data, n, 0); }
  int fd() const override { return fd_; }

 private:
  int fd_;
};

class tls final : public smsc_link {
 public:
  tls(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~tls() override {
    SSL_shutdown(ssl_);  // close_notify, not waited for (RFC 8446 §6.1)
    SSL_free(ssl_);
    close(fd_);
  }
  tls(const tls&) = delete;
  tls& operator=(const tls&) = delete;
  ssize_t send(const std::byte* data, std::size_t n) override {
    std::size_t done = 0;
    const int rc = SSL_write_ex(ssl_, data, n, &done);
    return result(rc, done);
  }
  ssize_t receive(std::byte* data, std::size_t n) override {
    std::size_t done = 0;
    const int rc = SSL_read_ex(ssl_, data, n, &done);
    return result(rc, done);
  }
  int fd() const override { return fd_; }

 private:
  // SSL_read_ex / SSL_write_ex's outcome as recv / send give it.
  ssize_t result(int rc, std::size_t done) {
    if (rc == 1) return static_cast<ssize_t>(done);
    const int e = SSL_get_error(ssl_, rc);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      errno = EAGAIN;
      return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN) return 0;  // close_notify
    errno = EPROTO;
    return -1;
  }

  int fd_;
  SSL* ssl_;
};

}  // namespace

std::shared_ptr<const smsc_tls_context> make_smsc_tls_context(const smsc_tls_options& options,
                                                              std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    error = "TLS: " + openssl_reason();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // The sessions write what their buffer holds from where the last write stopped: a record at a
  // time, from a buffer that may have moved and grown since a write that would have blocked.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  const int loaded = options.ca_file.empty()
                         ? SSL_CTX_set_default_verify_paths(ctx)
                         : SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
  if (loaded != 1) {
    error = "TLS: cannot load the CA file " + options.ca_file + ": " + openssl_reason();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return std::make_shared<const smsc_tls_context>(ctx, options.server_name);
}

std::unique_ptr<smsc_link> plain_link(int fd) {
  return std::make_unique<plain>(fd);
}

std::unique_ptr<smsc_link> tls_link(int fd, const smsc_tls_context& context, int timeout_ms,
                                    std::string& error) {
  SSL* ssl = SSL_new(context.ctx_);
  auto fail = [&](const std::string& why) -> std::unique_ptr<smsc_link> {
    error = "TLS: " + why;
    SSL_free(ssl);
    close(fd);
    return nullptr;
  };
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) return fail(openssl_reason());
  const std::string& name = context.server_name_;
  in6_addr ip{};
  const bool is_ip =
      inet_pton(AF_INET, name.c_str(), &ip) == 1 || inet_pton(AF_INET6, name.c_str(), &ip) == 1;
  if (is_ip) {
    // RFC 6125: an IP address is checked against the certificate's iPAddress names; no SNI
    // (RFC 6066 §3 allows host names only).
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) != 1) {
      return fail("bad server address " + name);
    }
  } else if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1 ||
             SSL_set1_host(ssl, name.c_str()) != 1) {
    return fail("bad server name " + name);
  }
  const std::int64_t until = steady_ms() + timeout_ms;
  while (true) {
    const int rc = SSL_connect(ssl);
    if (rc == 1) break;
    const int e = SSL_get_error(ssl, rc);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      const long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK) {
        return fail(std::string("certificate refused: ") + X509_verify_cert_error_string(verify));
      }
      return fail("handshake failed: " + openssl_reason());
    }
    const std::int64_t left = until - steady_ms();
    if (left <= 0) return fail("no handshake within the timeout");
    pollfd p{fd, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    if (poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) {
      return fail("poll failed");
    }
  }
  return std::make_unique<tls>(fd, ssl);
}

}  // namespace smpp::http
