// Mobile-originated messages for the API clients: each deliver_sm that is not a delivery receipt
// goes to the client whose sender number it was sent to (its `from` or one of its
// `allowed_from`), into that client's bounded inbox (GET /v1/inbox) and, when the client has a
// mo_url, to that URL as a signed callback. Held in memory: the oldest of a full inbox go first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/codec/pdu.hpp"

namespace smpp::http {

struct mo_message {
  std::uint64_t id = 0;  // given by the inbox, ascending
  std::string from;      // source_addr
  std::string to;        // destination_addr
  std::uint8_t data_coding = 0;
  std::string text;  // UTF-8, for the text codings (GSM 03.38, IA5, Latin-1, UCS-2)
  std::string hex;   // the octets in hex for any other coding
  std::string udh;   // the User Data Header in hex, when esm_class has UDHI
  std::int64_t received_ms = 0;
};

// The message a deliver_sm carries (SMPP 3.4 §4.6.1; message_payload when short_message is
// empty), its text decoded per data_coding (TS 23.038).
[[nodiscard]] mo_message mo_from_pdu(const codec::pdu& p, std::int64_t now_ms);

// {"id":"..","from":"..","to":"..","data_coding":N,"text":".." or "hex":"..",["udh":"..",]
//  "received_at":".."}
[[nodiscard]] std::string mo_json(const mo_message& m);

struct inbox_counters {
  std::uint64_t received = 0;
  std::uint64_t unrouted = 0;  // sent to a number no client has: acknowledged, not kept
  std::uint64_t dropped = 0;   // the oldest of a full inbox, to make room
};

class mo_inbox {
 public:
  // `numbers[c]`: the numbers of client c (digits; a "+" is ignored, names are not numbers).
  mo_inbox(std::size_t max_per_client, const std::vector<std::vector<std::string>>& numbers);

  // Gives `m` its id and keeps it for its client: that client, or nullopt when unrouted.
  std::optional<std::uint32_t> add(mo_message& m);
  // Up to `limit` messages of `client` with ids above `after`, oldest first.
  [[nodiscard]] std::vector<mo_message> read(std::uint32_t client, std::uint64_t after,
                                             std::size_t limit) const;
  [[nodiscard]] inbox_counters counters() const;

 private:
  std::size_t max_per_client_;
  std::vector<std::pair<std::string, std::uint32_t>> numbers_;  // number -> client
  mutable std::mutex mutex_;
  std::vector<std::deque<mo_message>> inboxes_;
  std::uint64_t next_id_ = 1;
  inbox_counters counters_;
};

}  // namespace smpp::http
