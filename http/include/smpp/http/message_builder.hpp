// The short messages one API message becomes: text in GSM 7-bit or UCS-2 (flash as message
// class 0), or binary octets for an application port, each split into parts with a User Data
// Header when it does not fit one message. Pure functions: no I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace smpp::http {

// One submit_sm's worth of message: the fields a part sets, the rest comes from the request.
struct message_part {
  std::uint8_t esm_class = 0;
  std::uint8_t data_coding = 0;
  std::vector<std::byte> short_message;  // UDH (when esm_class has UDHI) then the payload
};

enum class build_error : std::uint8_t {
  none,
  empty,         // no text, or no octets
  too_long,      // more parts than allowed
  invalid_utf8,  // the text is not UTF-8
};

[[nodiscard]] std::string_view to_string(build_error e) noexcept;

struct build_result {
  build_error error = build_error::none;
  std::vector<message_part> parts;
};

// TS 23.040 §9.2.3.24.4: 16-bit application port addressing.
struct port_pair {
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
};

// Text in the smallest coding that holds it: GSM 7-bit (data_coding 0x00, one septet per octet
// as SMPP carries it) when every character is in the default alphabet or its extension table,
// else UCS-2 (0x08). `flash` marks it message class 0 (TS 23.038 §4 coding group 00x1: 0x10 or
// 0x18). A text longer than one message is split with an 8-bit concatenation reference `ref`.
[[nodiscard]] build_result build_text(std::string_view utf8, bool flash, std::uint8_t ref,
                                      std::size_t max_parts);

// Octets with data_coding 0x04 (8-bit data). With `ports` every part carries the port UDH
// (IEI 0x05) and, when split, the concatenation UDH (IEI 0x00) after it.
[[nodiscard]] build_result build_binary(std::span<const std::byte> data,
                                        std::optional<port_pair> ports, std::uint8_t ref,
                                        std::size_t max_parts);

}  // namespace smpp::http
