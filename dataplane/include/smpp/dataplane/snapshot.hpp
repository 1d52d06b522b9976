// The immutable routing snapshot that workers read: tenants, upstreams, the compiled route
// table and the session timers. The control plane builds it from the configuration and
// publishes it; workers never modify it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "smpp/codec/receipt.hpp"
#include "smpp/codec/status.hpp"
#include "smpp/dataplane/bind_guard.hpp"
#include "smpp/dataplane/correlation.hpp"
#include "smpp/dataplane/digit_trie.hpp"
#include "smpp/dataplane/network_map.hpp"
#include "smpp/dataplane/price_table.hpp"
#include "smpp/dataplane/transport.hpp"
#include "smpp/dataplane/upstream_quality.hpp"

namespace smpp::dataplane {

// An address block ("10.0.0.0/8", "::1/128").
struct cidr {
  int family = 0;  // AF_INET or AF_INET6
  std::array<std::byte, 16> addr{};
  uint8_t prefix_len = 0;
  // Parses "ADDR/LEN" or a bare address (a host block); false when malformed.
  [[nodiscard]] static bool parse(std::string_view text, cidr& out);
  [[nodiscard]] bool contains(const peer_address& peer) const noexcept;
};

struct tenant_def {
  uint32_t index = 0;
  std::string name;
  std::string system_id;
  std::string password_hash;
  std::vector<cidr> allowed_networks;  // empty: any source
  uint32_t max_binds = 8;
  uint32_t window = 256;
  // Receipts and MO messages for this tenant while none of its receivers is bound: at most
  // hold_max of them are kept (spread over the workers), each for at most hold_ttl_ms.
  uint32_t hold_max = 10000;
  uint32_t hold_ttl_ms = 3600 * 1000;
  // deliver_sm / data_sm the router may have outstanding on one receiver session.
  uint32_t deliver_window = 256;
  // A full queue of this tenant at a gated bind: false answers ESME_RTHROTTLED; true keeps the
  // request and stops reading the session until the queue has room (TCP back-pressure).
  bool backpressure = true;
  // Removed at run time: binds are refused (unknown system_id), its sessions are answered what
  // they are owed, then unbound by the router. Indices never move, so the entry stays.
  bool retired = false;
};

inline constexpr uint32_t any_tenant = UINT32_MAX;

// The TDMA plan of one upstream bind ("Tenants and time slots" in docs/architecture.md): time is
// cut into slots of slot_ns, one transmission opportunity each, grouped in frames of owner.size()
// slots; slot k of every frame belongs to tenant owner[k]. Built by the control plane's slot
// planner; rate_per_s == 0 means no gate (the bind sends as fast as its window allows).
struct slot_plan {
  uint32_t rate_per_s = 0;
  uint64_t slot_ns = 0;         // 1e9 / rate_per_s
  std::vector<uint32_t> owner;  // per slot of the frame: a tenant index, or any_tenant (unowned)
  // Work-conserving (false): a slot whose owner has nothing queued goes to the next backlogged
  // tenant. Strict (true): it stays unused.
  bool strict = false;
  std::vector<uint32_t> cap;  // per tenant: most slots per frame, borrowed ones included (0: none)
  std::vector<uint32_t>
      queue_max;  // per tenant: messages waiting at this bind, then ESME_RTHROTTLED
};

struct upstream_bind_def {
  std::string system_id;
  std::string password;
  std::string system_type;
  codec::command_id bind_command = codec::command_id::bind_transceiver;
  uint32_t window = 256;
  uint32_t rate_per_s = 0;
  uint32_t weight = 1;
  slot_plan plan;
  // Removed by a change at run time (the upstream, or this bind of it, is gone from the
  // configuration): the bind takes nothing new, sends what it still holds, waits for the
  // answers, then unbinds and stays closed. Indices never move, so the entry stays.
  bool retired = false;
};

struct upstream_def {
  uint32_t index = 0;
  std::string name;
  endpoint address;
  std::vector<upstream_bind_def> binds;  // one entry per bind (configured counts expanded)
  // How this SMSC writes message ids in submit_sm_resp and in its receipts (see
  // codec::normalize_message_id): auto_detect unless the SMSC is known to use all-digit hex.
  codec::id_radix submit_id_radix = codec::id_radix::auto_detect;
  codec::id_radix receipt_id_radix = codec::id_radix::auto_detect;
  // On demand: the binds open when a request for this upstream arrives (requests wait for the
  // bind up to timers.response_ms) and unbind after idle_unbind_ms without one. Otherwise they
  // stay bound.
  bool on_demand = false;
  uint32_t idle_unbind_ms = 300 * 1000;
  // Takes broadcast_sm (SMPP 5.0 §4.4.1): only such upstreams of a route get one.
  bool broadcast = false;
  // SMPP 3.4 §4.1.7: the SMSC calls the router back on outbind_listen (port 0: it does not) with
  // an outbind carrying these credentials, and the router binds on that connection; it never
  // connects to such an upstream itself. Listened on at start.
  endpoint outbind_listen;
  std::string outbind_system_id;
  std::string outbind_password;
  [[nodiscard]] bool calls_back() const noexcept { return outbind_listen.port != 0; }
  bool retired = false;  // removed at run time: no route leads here; every bind is retired
};

// How a route orders its upstreams for a destination: failover (configuration order), cheapest
// (by each upstream's price for the destination, router_snapshot::prices), or quality (by the
// expected cost of a delivered message: the price weighed with the upstream's live delivery
// ratio and latency, upstream_quality.hpp). Ties keep configuration order; upstreams without a
// price come after the priced ones, in configuration order.
enum class route_mode : uint8_t { failover, cheapest, quality };

struct route_def {
  uint32_t tenant = any_tenant;
  std::string destination_prefix;  // digits, optional leading '+' ignored
  // A network route (no destination_prefix): destinations that belong to this network
  // (network_map::network_of); no_network: a prefix route.
  uint16_t network = no_network;
  std::string source_prefix;
  std::string service_type;
  std::vector<uint32_t> upstreams;  // failover order
  route_mode mode = route_mode::failover;
};

// Upstreams a route may name (the order of a cheapest route is sorted on the worker's stack).
inline constexpr size_t max_route_upstreams = 32;

// Longest-prefix match on destination_addr digits, per tenant, with optional source_addr
// prefix and service_type filters. Built once per snapshot; lookups allocate nothing.
class route_table {
 public:
  route_table() = default;
  explicit route_table(std::vector<route_def> routes);
  // The best route: the longest destination prefix; among equals a tenant-specific route before
  // a "*" route, a route with filters before one without, then configuration order.
  [[nodiscard]] const route_def* lookup(uint32_t tenant, std::string_view destination,
                                        std::string_view source,
                                        std::string_view service_type) const noexcept;
  // The best network route for a destination of `network`: among them a tenant-specific route
  // before a "*" route, a route with filters before one without, then configuration order.
  // Network routes are tried before prefix routes (request_router).
  [[nodiscard]] const route_def* lookup_network(uint32_t tenant, uint16_t network,
                                                std::string_view source,
                                                std::string_view service_type) const noexcept;
  [[nodiscard]] bool has_network_routes() const noexcept { return !by_network_.empty(); }
  [[nodiscard]] size_t size() const noexcept { return routes_.size(); }

 private:
  [[nodiscard]] const route_def* first_match(const std::vector<uint32_t>& candidates,
                                             uint32_t tenant, std::string_view source,
                                             std::string_view service_type) const noexcept;
  std::vector<route_def> routes_;
  digit_trie prefixes_;
  std::vector<std::vector<uint32_t>> at_node_;     // per node of prefixes_: routes, best first
  std::vector<std::vector<uint32_t>> by_network_;  // network id -> its routes, best first
};

struct session_timers {
  uint32_t bind_ms = 10000;
  uint32_t enquire_link_interval_ms = 30000;
  uint32_t dead_peer_ms = 90000;
  uint32_t response_ms = 30000;
  uint32_t partial_pdu_ms = 10000;
  uint32_t reconnect_min_ms = 500;
  uint32_t reconnect_max_ms = 30000;
  uint32_t shutdown_ms = 3000;  // how long SIGTERM waits for unbind_resp and outstanding answers
  // A bound ESME that sends and receives nothing but enquire_link this long is unbound (0: never).
  uint32_t esme_idle_ms = 0;
};

// Message-id correlation for receipts and message operations (see correlation.hpp).
struct correlation_def {
  uint64_t capacity = 10'000'000;         // live entries, all workers together
  uint64_t ttl_ms = 72ull * 3600 * 1000;  // receipts can take days
  // Which accepted messages are noted: all (query_sm, cancel_sm and replace_sm then work for
  // every message), or only those that asked for a receipt (registered_delivery), which saves
  // the table insert (a cache miss) on every other message.
  bool note_all = true;
  // A message's id after its final receipt: kept keep_final_ms for query_sm, cancel_sm and
  // replace_sm, in a table of final_capacity ids (oldest evicted first); 0 / 0: freed at once.
  uint64_t keep_final_ms = 600'000;
  uint64_t final_capacity = 1'000'000;
};

using password_verifier = bool (*)(const std::string& hash, std::string_view password);

struct router_snapshot {
  std::vector<endpoint> listeners;
  std::vector<tenant_def> tenants;
  std::unordered_map<std::string, uint32_t> tenant_by_system_id;
  std::vector<upstream_def> upstreams;
  route_table routes;
  // MO routes, compiled into a route_table of their own: route_def::tenant holds the upstream
  // the MO came from (any_tenant: any upstream) and upstreams[0] the tenant it goes to.
  route_table mo_routes;
  // Networks by name, their home prefixes and the number portability index ([[networks]],
  // [[number_portability]]): what network routes match on.
  network_map networks;
  // What the control plane built networks.ported() from (network names, file stamps), so the
  // next snapshot can reuse it and apply only new deltas. Not read by the workers.
  std::vector<std::string> mnp_sources;
  // Per upstream: its price list ([[upstreams]] price_list), nullptr when it has none.
  std::vector<std::shared_ptr<const price_table>> prices;
  // What each was built from (file and stamp, "" for none), so the next snapshot reuses it.
  std::vector<std::string> price_sources;
  correlation_def correlation;
  // Retry on refusal ([router] retry_on): a submit_sm, data_sm or submit_multi an upstream
  // answers with one of these statuses goes once to the next upstream of its route; the ESME
  // gets that upstream's answer only.
  std::vector<uint32_t> retry_on;
  quality_def quality;  // how routes of mode quality weigh price, delivery ratio and latency
  [[nodiscard]] bool retries(uint32_t status) const noexcept {
    for (uint32_t s : retry_on) {
      if (s == status) return true;
    }
    return false;
  }
  bind_guard_config bind_guard;  // bind failure delays and lock-out (shared_state::guard)
  session_timers timers;
  uint32_t max_command_length = 64 * 1024;
  password_verifier verify_password = nullptr;
  // Verified (and failed) for binds with an unknown system_id, to take as long as a known one.
  std::string dummy_password_hash;
  std::string system_id = "smpp-router";  // what bind_*_resp carries
};

}  // namespace smpp::dataplane
