// Test helpers shared by the transport suites (kernel and DPDK): a transport_handler that records
// every callback, and a position-dependent byte pattern with its checker.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "smpp/dataplane/transport.hpp"

namespace smpp::testing {

// Records every callback; a test reacts inside a callback through the hooks.
class recorder final : public dataplane::transport_handler {
 public:
  using conn_id = dataplane::conn_id;
  using bytes_view = dataplane::bytes_view;
  struct accept_event {
    conn_id c;
    uint32_t listener;
    dataplane::peer_address peer;
  };
  std::vector<accept_event> accepts;
  std::vector<std::pair<conn_id, int>> connects;
  std::vector<std::pair<conn_id, int>> closes;
  std::vector<conn_id> writables;
  std::map<conn_id, std::string> received;
  std::function<void(conn_id, bytes_view)> data_hook;  // replaces `received` when set
  std::function<void(conn_id)> writable_hook;
  std::function<void(conn_id, int)> close_hook;
  std::function<void(conn_id)> accept_hook;

  void on_accept(conn_id c, uint32_t listener, const dataplane::peer_address& peer) override {
    accepts.push_back({c, listener, peer});
    if (accept_hook) accept_hook(c);
  }
  void on_connect(conn_id c, int err) override { connects.emplace_back(c, err); }
  void on_data(conn_id c, bytes_view data) override {
    if (data_hook) {
      data_hook(c, data);
    } else {
      received[c].append(data.as_chars());
    }
  }
  void on_writable(conn_id c) override {
    writables.push_back(c);
    if (writable_hook) writable_hook(c);
  }
  void on_close(conn_id c, int err) override {
    closes.emplace_back(c, err);
    if (close_hook) close_hook(c, err);
  }

  [[nodiscard]] int closes_of(conn_id c) const {
    return static_cast<int>(
        std::count_if(closes.begin(), closes.end(), [c](const auto& e) { return e.first == c; }));
  }
};

// Position-dependent content: a lost, duplicated or reordered octet shows as a mismatch.
inline std::byte pattern_at(uint64_t i) {
  return static_cast<std::byte>(((i * 0x9E3779B97F4A7C15ull) >> 13) ^ (i >> 21));
}
inline void fill_pattern(std::span<std::byte> out, uint64_t offset) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = pattern_at(offset + i);
}

// Checks a stream against the pattern as it arrives.
struct pattern_checker {
  uint64_t consumed = 0;
  uint64_t first_bad = UINT64_MAX;
  void take(dataplane::bytes_view data) {
    for (const std::byte b : data) {
      if (b != pattern_at(consumed) && first_bad == UINT64_MAX) first_bad = consumed;
      ++consumed;
    }
  }
};

}  // namespace smpp::testing
