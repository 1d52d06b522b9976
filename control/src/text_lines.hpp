// The lines of a text file read in the control plane (price lists): each line without its '\n',
// numbered from 1; a last line without '\n' counts, an empty text has none.
#pragma once

#include <cstdint>
#include <string_view>

namespace smpp::control::detail {

// Calls f(line, number) for each line while it returns true; the lines seen.
template <typename F>
uint32_t for_each_line(std::string_view text, F&& f) {
  uint32_t n = 0;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    if (!f(text.substr(at, end - at), ++n)) break;
    at = end + 1;
  }
  return n;
}

}  // namespace smpp::control::detail
