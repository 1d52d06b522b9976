#include "smpp/control/config.hpp"

namespace smpp::control {

std::string config_error::to_string() const {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on chained operator+ here.
  std::string s;
  s.reserve(file.size() + key.size() + message.size() + 32);
  s.append(file);
  if (line != 0) {
    s.append(":").append(std::to_string(line)).append(":").append(std::to_string(column));
  }
  s.append(": ");
  if (!key.empty()) s.append(key).append(": ");
  s.append(message);
  return s;
}

}  // namespace smpp::control
