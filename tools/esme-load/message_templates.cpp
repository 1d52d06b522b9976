#include "message_templates.hpp"

#include <charconv>
#include <numeric>
#include <stdexcept>

#include "smpp/codec/codec.hpp"
#include "smpp/codec/concat.hpp"
#include "smpp/codec/text.hpp"

namespace smpp::esme_load {
namespace {

using codec::bytes_view;

constexpr std::string_view destination_prefix = "4479";
constexpr std::string_view gsm_text =
    "esme-load GSM 7-bit message: the quick brown fox jumps over the lazy dog {}[]~ @ 0123";
constexpr std::string_view ucs2_text = "esme-load UCS-2: Съешь же ещё этих мягких булок ✓";
constexpr std::string_view concat_text =
    "esme-load concatenated message. Lorem ipsum dolor sit amet, consectetur adipiscing elit, "
    "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim "
    "veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. "
    "Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat "
    "nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa.";

// SMPP 3.4 §5.2.19 data_coding: 0x00 SMSC default alphabet (GSM 7-bit), 0x08 UCS-2.
constexpr uint8_t data_coding_gsm7 = 0x00;
constexpr uint8_t data_coding_ucs2 = 0x08;

pdu_template encode_part(bytes_view short_message, uint8_t data_coding, uint8_t esm_class,
                         const template_options& options) {
  const std::string destination =
      std::string(destination_prefix) + std::string(destination_digits, '0');
  codec::pdu p;
  p.id = codec::command_id::submit_sm;
  p.source_addr_ton = 5;  // alphanumeric, SMPP 3.4 §5.2.5
  p.source_addr_npi = 0;
  p.source_addr = options.source_addr;
  p.dest_addr_ton = 1;  // international
  p.dest_addr_npi = 1;  // E.164, §5.2.6
  p.destination_addr = destination;
  p.esm_class = esm_class;
  p.registered_delivery = options.registered_delivery ? 1 : 0;
  p.data_coding = data_coding;
  p.short_message = short_message;
  pdu_template t;
  t.octets.resize(codec::encode(p, {}).needed);
  const codec::encode_result r = codec::encode(p, t.octets);
  if (!r.ok(t.octets.size())) throw std::logic_error("esme-load: message template does not encode");
  // The destination is the only field with this many zeros in a row.
  const std::string_view wire(reinterpret_cast<const char*>(t.octets.data()), t.octets.size());
  t.destination_digits_at = wire.find(destination) + destination_prefix.size();
  return t;
}

message_template single(message_kind kind, codec::text_coding coding, std::string_view text,
                        uint8_t data_coding, const template_options& options) {
  const codec::bytes_result coded =
      codec::to_coded_bytes(coding, text, codec::unmappable_policy::fail);
  if (coded.status != codec::text_status::ok ||
      coded.bytes.size() > codec::single_part_capacity(coding)) {
    throw std::logic_error("esme-load: message template text does not fit one message");
  }
  message_template m;
  m.kind = kind;
  m.parts.push_back(
      encode_part(bytes_view(coded.bytes.data(), coded.bytes.size()), data_coding, 0, options));
  m.octets = m.parts.front().octets.size();
  return m;
}

message_template concatenated(const template_options& options) {
  codec::split_options split;
  split.coding = codec::text_coding::gsm7;
  split.method = codec::concat_method::udh_ref8;
  split.ref = 0xA5;  // patched per message
  const codec::owned_split parts = codec::split_text_to_vector(concat_text, split);
  if (parts.status != codec::concat_status::ok || parts.parts.size() < 2) {
    throw std::logic_error("esme-load: concatenated template does not split");
  }
  message_template m;
  m.kind = message_kind::concat;
  for (const codec::owned_message_part& part : parts.parts) {
    const std::vector<std::byte> sm = part.short_message();
    pdu_template t = encode_part(bytes_view(sm.data(), sm.size()), data_coding_gsm7,
                                 codec::esm_class_udhi, options);
    // TS 23.040 §9.2.3.24.1: UDHL 05, IEI 00, IEDL 03, reference, total, sequence.
    const size_t sm_at = t.octets.size() - sm.size();
    t.ref_at = sm_at + 3;
    m.octets += t.octets.size();
    m.parts.push_back(std::move(t));
  }
  return m;
}

}  // namespace

std::string_view kind_name(message_kind k) noexcept {
  switch (k) {
    case message_kind::gsm:
      return "gsm";
    case message_kind::ucs2:
      return "ucs2";
    case message_kind::concat:
      return "concat";
  }
  return "?";
}

std::string parse_mix(std::string_view text, message_mix& out) {
  message_mix mix{};
  std::array<bool, message_kind_count> seen{};
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const size_t colon = item.find(':');
    if (colon == std::string_view::npos) return "'" + std::string(item) + "' is not KIND:WEIGHT";
    const std::string_view name = item.substr(0, colon);
    const std::string_view weight = item.substr(colon + 1);
    size_t k = message_kind_count;
    for (size_t i = 0; i < message_kind_count; ++i) {
      if (name == kind_name(static_cast<message_kind>(i))) k = i;
    }
    if (k == message_kind_count) {
      return "unknown kind '" + std::string(name) + "' (gsm, ucs2, concat)";
    }
    if (seen[k]) return "kind '" + std::string(name) + "' given twice";
    seen[k] = true;
    uint32_t v = 0;
    const auto [end, ec] = std::from_chars(weight.data(), weight.data() + weight.size(), v);
    if (weight.empty() || ec != std::errc{} || end != weight.data() + weight.size() || v > 10000) {
      return "weight '" + std::string(weight) + "' of " + std::string(name) + " is not 0..10000";
    }
    mix[k] = v;
  }
  if (mix[0] + mix[1] + mix[2] == 0) return "every weight is 0";
  out = mix;
  return {};
}

std::array<message_template, message_kind_count> build_templates(const template_options& options) {
  return {
      single(message_kind::gsm, codec::text_coding::gsm7, gsm_text, data_coding_gsm7, options),
      single(message_kind::ucs2, codec::text_coding::ucs2, ucs2_text, data_coding_ucs2, options),
      concatenated(options)};
}

std::vector<message_kind> build_schedule(const message_mix& mix) {
  // Weights 70/20/10 and 7/2/1 give the same sequence: reduce by the common divisor.
  uint32_t divisor = 0;
  for (const uint32_t w : mix) divisor = std::gcd(divisor, w);
  message_mix reduced{};
  uint32_t total = 0;
  for (size_t k = 0; k < message_kind_count; ++k) {
    reduced[k] = mix[k] / divisor;
    total += reduced[k];
  }
  std::vector<message_kind> schedule;
  schedule.reserve(total);
  std::array<int64_t, message_kind_count> current{};
  for (uint32_t n = 0; n < total; ++n) {
    size_t best = 0;
    for (size_t k = 0; k < message_kind_count; ++k) {
      current[k] += reduced[k];
      if (current[k] > current[best]) best = k;
    }
    current[best] -= total;
    schedule.push_back(static_cast<message_kind>(best));
  }
  return schedule;
}

}  // namespace smpp::esme_load
