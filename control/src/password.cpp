// Tenant credentials: argon2id hashes through libsodium's crypto_pwhash_str.
#include <sodium.h>

#include <stdexcept>

#include "smpp/control/config.hpp"

namespace smpp::control {
namespace {

static_assert(password_hash_opslimit >= crypto_pwhash_OPSLIMIT_MIN);
static_assert(password_hash_memlimit_bytes >= crypto_pwhash_MEMLIMIT_MIN);

void ensure_sodium() {
  // sodium_init() is itself safe to call from several threads; the static makes it run once.
  static const int rc = sodium_init();
  if (rc < 0) throw std::runtime_error("libsodium: sodium_init() failed");
}

}  // namespace

std::string hash_password(const std::string& password) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), password_hash_opslimit,
                        password_hash_memlimit_bytes) != 0) {
    throw std::runtime_error("libsodium: crypto_pwhash_str failed (out of memory)");
  }
  return out;
}

bool verify_password(const std::string& hash, const std::string& password) {
  ensure_sodium();
  // crypto_pwhash_str_verify reads a NUL-terminated string of fewer than STRBYTES characters.
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES ||
      hash.find('\0') != std::string::npos) {
    return false;
  }
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace smpp::control
