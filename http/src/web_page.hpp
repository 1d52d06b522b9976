// The page smpp-http serves at "/": one HTML document with its styles and script inline
// (nothing loaded from elsewhere) for a client to send a message, upload a campaign CSV and
// follow its progress with a chart of delivered and failed over time. Its source is
// http/page/index.html, built into the binary (cmake/embed_text.cmake).
#pragma once

#include <string_view>

namespace smpp::http::detail {

[[nodiscard]] std::string_view web_page_html() noexcept;

}  // namespace smpp::http::detail
