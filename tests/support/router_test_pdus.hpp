// The snapshot and PDU builders of the router tests, shared by the fake-transport suite
// (tests/dataplane/router_worker_test.cpp) and the suite that runs on both real transports
// (tests/dpdk/router_transports_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/codec/codec.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace smpp::testing {

// Passwords in these snapshots are stored as "plain:" + the password.
inline bool plain_verify(const std::string& hash, std::string_view pw) {
  return hash == "plain:" + std::string(pw);
}

// Tenants "acme" (any source, at most 2 binds) and "lan" (10.0.0.0/8 only), password "secret",
// both with `window`; upstreams "primary" (127.0.0.1:2776) and "backup" (:2777) with
// `upstream_binds` binds each; routes 44 -> primary then backup, 33 -> backup; short session
// timers; the router listens on 127.0.0.1:2775.
inline std::shared_ptr<dataplane::router_snapshot> make_snapshot(uint32_t upstream_binds = 1,
                                                                 uint32_t window = 4) {
  using namespace dataplane;
  auto s = std::make_shared<router_snapshot>();
  s->listeners.push_back({"127.0.0.1", 2775});
  tenant_def t;
  t.index = 0;
  t.name = "acme";
  t.system_id = "acme";
  t.password_hash = "plain:secret";
  t.max_binds = 2;
  t.window = window;
  s->tenants.push_back(t);
  tenant_def lan = t;
  lan.index = 1;
  lan.name = "lan";
  lan.system_id = "lan";
  cidr net;
  EXPECT_TRUE(cidr::parse("10.0.0.0/8", net));
  lan.allowed_networks.push_back(net);
  s->tenants.push_back(lan);
  s->tenant_by_system_id = {{"acme", 0}, {"lan", 1}};
  for (uint32_t u = 0; u < 2; ++u) {
    upstream_def up;
    up.index = u;
    up.name = u == 0 ? "primary" : "backup";
    up.address = {"127.0.0.1", static_cast<uint16_t>(2776 + u)};
    for (uint32_t b = 0; b < upstream_binds; ++b) {
      upstream_bind_def bd;
      bd.system_id = "router";
      bd.password = "pw";
      bd.window = std::max<uint32_t>(8, window);
      up.binds.push_back(bd);
    }
    s->upstreams.push_back(up);
  }
  route_def r44;
  r44.destination_prefix = "44";
  r44.upstreams = {0, 1};
  route_def r33;
  r33.destination_prefix = "33";
  r33.upstreams = {1};
  s->routes = route_table({r44, r33});
  s->timers.bind_ms = 1000;
  s->timers.partial_pdu_ms = 500;
  s->timers.response_ms = 2000;
  s->timers.enquire_link_interval_ms = 10000;
  s->timers.dead_peer_ms = 30000;
  s->timers.shutdown_ms = 1000;
  s->verify_password = plain_verify;
  s->correlation.capacity = 1024;
  return s;
}

inline std::vector<std::byte> encode(const codec::pdu& p) {
  std::vector<std::byte> b(4096);
  auto r = codec::encode(p, b);
  EXPECT_TRUE(r.ok(b.size()));
  b.resize(r.needed);
  return b;
}

inline std::vector<std::byte> bind_pdu(codec::command_id id, std::string_view sys,
                                       std::string_view pw, uint32_t seq) {
  codec::pdu p;
  p.id = id;
  p.sequence_number = seq;
  p.system_id = sys;
  p.password = pw;
  p.interface_version = 0x34;
  return encode(p);
}

inline std::vector<std::byte> submit_pdu(std::string_view dest, uint32_t seq,
                                         std::string_view text = "hello") {
  codec::pdu p;
  p.id = codec::command_id::submit_sm;
  p.sequence_number = seq;
  p.source_addr = "1234";
  p.destination_addr = dest;
  p.short_message = codec::as_bytes(text);
  return encode(p);
}

inline std::vector<std::byte> header(codec::command_id id, codec::command_status status,
                                     uint32_t seq) {
  std::vector<std::byte> b(16);
  codec::write_header_only(std::span<std::byte, 16>(b.data(), 16), id, status, seq);
  return b;
}

inline codec::pdu decoded(const std::vector<std::byte>& b) {
  codec::pdu p;
  EXPECT_TRUE(codec::decode(b, p).ok());
  return p;
}

// A delivery receipt (SMPP 3.4 §4.6.1, esm_class receipt bits) with `text` as short_message and
// optionally the receipted_message_id TLV.
inline std::vector<std::byte> receipt_pdu(std::string_view text, uint32_t seq,
                                          std::string_view tlv_id = {}) {
  codec::pdu p;
  p.id = codec::command_id::deliver_sm;
  p.sequence_number = seq;
  p.source_addr = "441234";
  p.destination_addr = "1234";
  p.esm_class = codec::esm_class_delivery_receipt;
  p.short_message = codec::as_bytes(text);
  std::array<std::byte, 80> tlv_buf;
  if (!tlv_id.empty()) {
    codec::tlv_writer w(tlv_buf);
    EXPECT_TRUE(w.add_cstring(codec::tag::receipted_message_id, tlv_id));
    p.tlvs = w.area();
  }
  return encode(p);
}

}  // namespace smpp::testing
