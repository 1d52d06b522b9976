// The byte stream to the SMSC: a connected non-blocking socket, read and written as it is or
// through TLS (OpenSSL from Debian's libssl-dev) when [smsc] tls is set. The sessions frame
// SMPP over it the same way either way.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

namespace smpp::http {

struct smsc_tls_options {
  std::string ca_file;      // PEM CA bundle; empty: the system's trust store
  std::string server_name;  // the name (or IP address) the certificate must carry; SNI for names
};

// The TLS client settings shared by every session; null and `error` set when they cannot be
// used (an unreadable CA file, OpenSSL out of memory).
class smsc_tls_context;
[[nodiscard]] std::shared_ptr<const smsc_tls_context> make_smsc_tls_context(
    const smsc_tls_options& options, std::string& error);

class smsc_link {
 public:
  virtual ~smsc_link() = default;
  // As send(2) / recv(2) on a non-blocking socket: octets moved, 0 from receive when the peer
  // closed, -1 with errno EAGAIN when it would block (or another errno on a failure).
  [[nodiscard]] virtual ssize_t send(const std::byte* data, std::size_t n) = 0;
  [[nodiscard]] virtual ssize_t receive(std::byte* data, std::size_t n) = 0;
  [[nodiscard]] virtual int fd() const = 0;
};

// Takes the socket (closed with the link).
[[nodiscard]] std::unique_ptr<smsc_link> plain_link(int fd);
// TLS over the socket: null and `error` set when the handshake or the certificate check fails
// within timeout_ms (the socket is closed then).
[[nodiscard]] std::unique_ptr<smsc_link> tls_link(int fd, const smsc_tls_context& context,
                                                  int timeout_ms, std::string& error);

}  // namespace smpp::http
