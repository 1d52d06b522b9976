#include "smpp/store/backend.hpp"

namespace smpp::store {

std::string_view to_string(sync_policy p) noexcept {
  switch (p) {
    case sync_policy::off:
      return "off";
    case sync_policy::batch:
      return "batch";
    case sync_policy::fsync:
      return "fsync";
  }
  return "unknown";
}

std::optional<sync_policy> parse_sync_policy(std::string_view text) noexcept {
  for (auto p : {sync_policy::off, sync_policy::batch, sync_policy::fsync}) {
    if (to_string(p) == text) return p;
  }
  return std::nullopt;
}

}  // namespace smpp::store
