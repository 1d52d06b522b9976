// The operator's console: one HTML document with its styles and scripts inline (nothing loaded
// from elsewhere), served by the admin server at "/". It reads the admin API's JSON endpoints
// once a second and draws them; its source is control/console/console.html, built into the
// binary (cmake/embed_text.cmake).
#pragma once

#include <string_view>

namespace smpp::control::detail {

[[nodiscard]] std::string_view console_html() noexcept;

}  // namespace smpp::control::detail
