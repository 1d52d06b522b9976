// Test certificates made at test time with the openssl command line into a fresh temporary
// directory (removed again by the destructor): no private key is ever checked in.
//
// - ca_cert / ca_key: the test CA
// - server_cert / server_key: signed by the CA, SAN IP:127.0.0.1, DNS:localhost, DNS:smsc.test
// - expired_cert: same key and names, signed by the CA, expired (notAfter before notBefore)
// - wrong_ca_cert: same key and names, signed by another CA the client does not trust
// - other_key: a key that belongs to none of the certificates
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace smpp::test {

struct tls_certs {
  std::string dir;
  std::string ca_cert, ca_key;
  std::string server_cert, server_key;
  std::string expired_cert, wrong_ca_cert;
  std::string other_key;
  std::string server_pin_sha256;  // "AB:CD:..." as openssl prints it

  tls_certs() = default;
  tls_certs(const tls_certs&) = delete;
  tls_certs& operator=(const tls_certs&) = delete;
  ~tls_certs() {
    if (!dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }

  [[nodiscard]] bool make(std::string& error) {
    char tmpl[] = "/tmp/smpp-tls-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      error = "mkdtemp failed";
      return false;
    }
    dir = tmpl;
    const auto f = [&](const char* name) { return dir + "/" + name; };
    ca_cert = f("ca.pem");
    ca_key = f("ca.key");
    server_cert = f("server.pem");
    server_key = f("server.key");
    expired_cert = f("expired.pem");
    wrong_ca_cert = f("wrong-ca.pem");
    other_key = f("other.key");
    const std::string q = " >/dev/null 2>&1";
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
    const std::string sign =
        "openssl x509 -req -in " + f("server.csr") + " -extfile " + f("san.ext") + " -set_serial ";
    const std::string steps[] = {
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:smsc.test\\n' > " + f("san.ext"),
        "openssl req -x509 " + ec + "-keyout " + ca_key + " -out " + ca_cert +
            " -days 30 -subj '/CN=smpp-router test CA'" + q,
        "openssl req -x509 " + ec + "-keyout " + f("other-ca.key") + " -out " + f("other-ca.pem") +
            " -days 30 -subj '/CN=smpp-router other CA'" + q,
        "openssl req " + ec + "-keyout " + server_key + " -out " + f("server.csr") +
            " -subj '/CN=smsc.test'" + q,
        sign + "1 -CA " + ca_cert + " -CAkey " + ca_key + " -days 30 -out " + server_cert + q,
        // notAfter one day before notBefore: expired from the start (openssl 3.0 has no
        // -not_after; no clock faking needed).
        sign + "2 -CA " + ca_cert + " -CAkey " + ca_key + " -days -1 -out " + expired_cert + q,
        sign + "3 -CA " + f("other-ca.pem") + " -CAkey " + f("other-ca.key") + " -days 30 -out " +
            wrong_ca_cert + q,
        "openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out " + other_key + q,
        "openssl x509 -in " + server_cert + " -noout -fingerprint -sha256 > " + f("pin.txt"),
    };
    for (const std::string& s : steps) {
      if (std::system(s.c_str()) != 0) {
        error = "failed: " + s;
        return false;
      }
    }
    std::FILE* in = std::fopen(f("pin.txt").c_str(), "r");
    char line[256] = {};
    const bool read = in != nullptr && std::fgets(line, sizeof line, in) != nullptr;
    if (in != nullptr) std::fclose(in);
    const std::string text = read ? line : "";
    const auto eq = text.find('=');
    if (eq == std::string::npos) {
      error = "no fingerprint in pin.txt";
      return false;
    }
    server_pin_sha256 = text.substr(eq + 1, 95);  // 32 octets: 64 hex digits, 31 colons
    return true;
  }
};

}  // namespace smpp::test
