#include "smpp/control/config.hpp"

namespace smpp::control {

std::string config_error::to_string() const {
  std::string s = file;
  if (line != 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  s += ": ";
  if (!key.empty()) s += key + ": ";
  return s + message;
}

}  // namespace smpp::control
