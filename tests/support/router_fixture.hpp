// Small building blocks for router tests: a one-tenant, one-upstream snapshot and PDU helpers.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/codec/codec.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace smpp::testing {

// Passwords in test snapshots are stored as given.
inline bool verify_plain(const std::string& hash, std::string_view password) {
  return hash == password;
}

// Tenant "acme" (password "pw"), one upstream with one bind, one route for every destination;
// the tenant's and the bind's windows are both `window`.
inline std::shared_ptr<dataplane::router_snapshot> one_upstream_snapshot(uint32_t window) {
  auto snap = std::make_shared<dataplane::router_snapshot>();
  dataplane::tenant_def t;
  t.system_id = "acme";
  t.password_hash = "pw";
  t.window = window;
  snap->tenants.push_back(t);
  snap->tenant_by_system_id["acme"] = 0;
  dataplane::upstream_def u;
  u.address = {"127.0.0.1", 1};
  dataplane::upstream_bind_def bd;
  bd.window = window;
  u.binds.push_back(bd);
  snap->upstreams.push_back(u);
  dataplane::route_def r;
  r.upstreams = {0};
  snap->routes = dataplane::route_table({r});
  snap->verify_password = verify_plain;
  return snap;
}

inline std::vector<std::byte> encode_pdu(const codec::pdu& p) {
  std::vector<std::byte> b(1024);
  const auto r = codec::encode(p, b);
  b.resize(r.ok(b.size()) ? r.needed : 0);
  return b;
}

}  // namespace smpp::testing
