// The JSON of one message, as GET /v1/messages/{id} answers and dlr_url callbacks carry it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "smpp/http/message_store.hpp"

namespace smpp::http {

[[nodiscard]] std::string message_json(const message_view& v);

// RFC 3339 UTC with milliseconds.
[[nodiscard]] std::string iso_time(std::int64_t unix_ms);

// Appends `s` (UTF-8) as a JSON string literal.
void append_json_string(std::string& out, std::string_view s);

}  // namespace smpp::http
