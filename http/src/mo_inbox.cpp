// MO messages decoded with the codec's text conversions and kept per client.
#include "smpp/http/mo_inbox.hpp"

#include <algorithm>

#include "smpp/codec/text.hpp"
#include "smpp/codec/tlv.hpp"
#include "smpp/http/message_json.hpp"

namespace smpp::http {
namespace {

std::string hex_of(std::span<const std::byte> octets) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(octets.size() * 2);
  for (const std::byte b : octets) {
    out += digits[static_cast<unsigned>(b) >> 4];
    out += digits[static_cast<unsigned>(b) & 0xF];
  }
  return out;
}

std::string_view digits_of(std::string_view number) {
  if (!number.empty() && number.front() == '+') number.remove_prefix(1);
  return number;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

mo_message mo_from_pdu(const codec::pdu& p, std::int64_t now_ms) {
  mo_message m;
  m.from = std::string(p.source_addr);
  m.to = std::string(p.destination_addr);
  m.data_coding = p.data_coding;
  m.received_ms = now_ms;
  std::span<const std::byte> body = p.short_message;
  if (body.empty()) {
    if (auto v = p.tlvs.find(codec::tag::message_payload)) body = v->value;
  }
  // TS 23.040 §9.2.3.24: the first octet is the header's length.
  if ((p.esm_class & codec::esm_class_udhi) != 0 && !body.empty()) {
    const std::size_t udh =
        std::min(body.size(), std::size_t{1} + static_cast<std::size_t>(body[0]));
    m.udh = hex_of(body.first(udh));
    body = body.subspan(udh);
  }
  const codec::text_coding coding = codec::parse_data_coding(p.data_coding).coding;
  if (coding == codec::text_coding::binary || coding == codec::text_coding::unsupported) {
    m.hex = hex_of(body);
  } else {
    m.text = codec::to_utf8_string(coding, body).text;
  }
  return m;
}

std::string mo_json(const mo_message& m) {
  std::string body = "{\"id\":\"" + std::to_string(m.id) + "\",\"from\":";
  append_json_string(body, m.from);
  body += ",\"to\":";
  append_json_string(body, m.to);
  body += ",\"data_coding\":" + std::to_string(m.data_coding);
  if (m.hex.empty()) {
    body += ",\"text\":";
    append_json_string(body, m.text);
  } else {
    body += ",\"hex\":\"" + m.hex + "\"";
  }
  if (!m.udh.empty()) body += ",\"udh\":\"" + m.udh + "\"";
  body += ",\"received_at\":\"" + iso_time(m.received_ms) + "\"}";
  return body;
}

mo_inbox::mo_inbox(std::size_t max_per_client, const std::vector<std::vector<std::string>>& numbers)
    : max_per_client_(max_per_client), inboxes_(numbers.size()) {
  for (std::uint32_t c = 0; c < numbers.size(); ++c) {
    for (const std::string& n : numbers[c]) {
      const std::string_view d = digits_of(n);
      if (all_digits(d)) numbers_.emplace_back(std::string(d), c);
    }
  }
}

std::optional<std::uint32_t> mo_inbox::add(mo_message& m) {
  const std::string_view to = digits_of(m.to);
  const auto it =
      std::find_if(numbers_.begin(), numbers_.end(), [&](const auto& n) { return n.first == to; });
  const std::lock_guard lock(mutex_);
  ++counters_.received;
  if (it == numbers_.end()) {
    ++counters_.unrouted;
    return std::nullopt;
  }
  m.id = next_id_++;
  std::deque<mo_message>& inbox = inboxes_[it->second];
  if (inbox.size() >= max_per_client_) {
    inbox.pop_front();
    ++counters_.dropped;
  }
  inbox.push_back(m);
  return it->second;
}

std::vector<mo_message> mo_inbox::read(std::uint32_t client, std::uint64_t after,
                                       std::size_t limit) const {
  std::vector<mo_message> out;
  const std::lock_guard lock(mutex_);
  if (client >= inboxes_.size()) return out;
  const std::deque<mo_message>& inbox = inboxes_[client];
  // Ids ascend within an inbox: the first above `after` by binary search.
  auto it = std::upper_bound(inbox.begin(), inbox.end(), after,
                             [](std::uint64_t a, const mo_message& m) { return a < m.id; });
  for (; it != inbox.end() && out.size() < limit; ++it) out.push_back(*it);
  return out;
}

inbox_counters mo_inbox::counters() const {
  const std::lock_guard lock(mutex_);
  return counters_;
}

}  // namespace smpp::http
