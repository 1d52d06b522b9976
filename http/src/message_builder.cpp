// Text and binary messages split into SMPP short messages.
#include "smpp/http/message_builder.hpp"

#include <algorithm>

#include "smpp/codec/concat.hpp"
#include "smpp/codec/text.hpp"

namespace smpp::http {
namespace {

// TS 23.038 §4, coding group 00xx with bit 4 set: bits 1..0 are the message class (0 = flash),
// bits 3..2 the alphabet (00 GSM 7-bit, 10 UCS-2).
constexpr std::uint8_t dcs_class_indicated = 0x10;
constexpr std::uint8_t dcs_ucs2 = 0x08;
constexpr std::uint8_t dcs_8bit = 0x04;  // SMPP 3.4 §5.2.19: octet unspecified (8-bit binary)
// TS 23.040 §9.2.3.24: information element identifiers.
constexpr std::byte iei_concat_8bit{0x00};
constexpr std::byte iei_port_16bit{0x05};
constexpr std::size_t user_data_octets = 140;  // TS 23.040 §9.2.2.1 TP-UD

}  // namespace

std::string_view to_string(build_error e) noexcept {
  switch (e) {
    case build_error::none:
      return "ok";
    case build_error::empty:
      return "must not be empty";
    case build_error::too_long:
      return "needs more parts than allowed";
    case build_error::invalid_utf8:
      return "is not valid UTF-8";
  }
  return "invalid";
}

build_result build_text(std::string_view utf8, bool flash, std::uint8_t ref,
                        std::size_t max_parts) {
  build_result r;
  if (utf8.empty()) {
    r.error = build_error::empty;
    return r;
  }
  const codec::coding_choice choice = codec::choose_coding(utf8);
  if (choice.status != codec::text_status::ok) {
    r.error = build_error::invalid_utf8;
    return r;
  }
  std::uint8_t dcs = choice.coding == codec::text_coding::ucs2 ? dcs_ucs2 : std::uint8_t{0};
  if (flash) dcs |= dcs_class_indicated;  // class 0 in bits 1..0

  const std::size_t limit = std::min(max_parts, codec::max_concat_parts);
  std::vector<codec::message_part> parts(std::max<std::size_t>(limit, 1));
  std::vector<std::byte> arena(parts.size() * user_data_octets * 2);
  const codec::split_options options{choice.coding, codec::concat_method::udh_ref8, ref,
                                     codec::unmappable_policy::fail};
  const codec::split_result split = codec::split_text(utf8, options, parts, arena);
  if (split.status == codec::concat_status::buffer_too_small ||
      split.status == codec::concat_status::too_many_parts || split.parts > limit) {
    r.error = build_error::too_long;
    return r;
  }
  if (split.status != codec::concat_status::ok) {
    r.error = build_error::invalid_utf8;
    return r;
  }
  for (std::size_t i = 0; i < split.parts; ++i) {
    const auto sm = parts[i].short_message();
    r.parts.push_back({parts[i].udh.empty() ? std::uint8_t{0} : codec::esm_class_udhi, dcs,
                       std::vector<std::byte>(sm.begin(), sm.end())});
  }
  return r;
}

build_result build_binary(std::span<const std::byte> data, std::optional<port_pair> ports,
                          std::uint8_t ref, std::size_t max_parts) {
  build_result r;
  if (data.empty()) {
    r.error = build_error::empty;
    return r;
  }
  // UDHL, then IEI + length + value for each element (TS 23.040 §9.2.3.24).
  const std::size_t port_ie = ports ? 6 : 0;
  const std::size_t single_udh = port_ie == 0 ? 0 : 1 + port_ie;
  const std::size_t multi_udh = 1 + port_ie + 5;
  std::size_t total = 1;
  if (data.size() > user_data_octets - single_udh) {
    const std::size_t per_part = user_data_octets - multi_udh;
    total = (data.size() + per_part - 1) / per_part;
  }
  if (total > std::min(max_parts, codec::max_concat_parts)) {
    r.error = build_error::too_long;
    return r;
  }
  const std::size_t per_part = total == 1 ? data.size() : user_data_octets - multi_udh;
  for (std::size_t seq = 1, at = 0; seq <= total; ++seq) {
    message_part part{0, dcs_8bit, {}};
    std::vector<std::byte>& sm = part.short_message;
    if (ports || total > 1) {
      sm.push_back(std::byte{0});  // UDHL, set below
      if (ports) {
        sm.insert(sm.end(), {iei_port_16bit, std::byte{4},
                             static_cast<std::byte>(ports->destination_port >> 8),
                             static_cast<std::byte>(ports->destination_port),
                             static_cast<std::byte>(ports->source_port >> 8),
                             static_cast<std::byte>(ports->source_port)});
      }
      if (total > 1) {
        sm.insert(sm.end(), {iei_concat_8bit, std::byte{3}, static_cast<std::byte>(ref),
                             static_cast<std::byte>(total), static_cast<std::byte>(seq)});
      }
      sm[0] = static_cast<std::byte>(sm.size() - 1);
      part.esm_class = codec::esm_class_udhi;
    }
    const std::size_t n = std::min(per_part, data.size() - at);
    sm.insert(sm.end(), data.begin() + static_cast<std::ptrdiff_t>(at),
              data.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
    r.parts.push_back(std::move(part));
  }
  return r;
}

}  // namespace smpp::http
