// The router's configuration: the data model and the TOML loader with precise errors.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/codec/receipt.hpp"

namespace smpp::control {

struct listener_config {
  std::string host = "127.0.0.1";
  uint16_t port = 2775;
  bool tls = false;  // from [router.tls] listen: ESMEs bind over TLS here
};

enum class tls_version : uint8_t { v1_2, v1_3 };

// [router.tls]: the certificate the TLS listeners present. Paths are resolved against the
// configuration file's directory when relative.
struct tls_server_config {
  std::string cert_file;  // PEM, the leaf first, then any intermediates
  std::string key_file;   // PEM private key of cert_file
  tls_version min_version = tls_version::v1_2;
};

// [upstreams.tls]: connect to the SMSC over TLS and verify its certificate.
struct upstream_tls_config {
  bool enabled = false;
  std::string ca_file;      // PEM CA bundle; empty: the system's trust store
  std::string server_name;  // SNI and the name or IP checked; empty: the address's host
  std::string pin_sha256;   // lowercase hex SHA-256 of the server certificate (DER); empty: none
};

// Where workers run: "auto" (one per physical core, one left for control when there are more
// than two) or an explicit CPU list.
struct workers_config {
  bool automatic = true;
  std::vector<uint32_t> cpus;  // explicit list when !automatic
};

struct tenant_config {
  std::string name;
  std::string system_id;
  std::string password_hash;                  // see hash_password(); never the clear password
  std::vector<std::string> allowed_networks;  // CIDR ("10.0.0.0/8", "::1/128"); empty: any
  uint32_t max_binds = 8;
  uint32_t window = 256;  // outstanding requests per session before ESME_RTHROTTLED
  // Receipts and MO messages kept while no receiver of the tenant is bound.
  uint32_t hold_max = 10000;
  uint32_t hold_ttl_s = 3600;
  uint32_t deliver_window = 256;  // deliver_sm outstanding per receiver session
  // queue_full = "backpressure": a full tenant queue at a gated bind stops reading the ESME's
  // session until there is room again, instead of answering ESME_RTHROTTLED ("throttle").
  bool backpressure = true;
  // Share of every upstream that has no [[upstreams.shares]] entry for this tenant (TDMA slots).
  uint32_t weight = 1;
};

enum class bind_type : uint8_t { transmitter, receiver, transceiver };

struct upstream_bind_config {
  std::string system_id;
  std::string password;  // sent to the SMSC, so stored as given
  std::string system_type;
  bind_type type = bind_type::transceiver;
  uint32_t window = 256;
  uint32_t rate_per_s = 0;  // contracted messages per second of this bind; 0: unlimited
  uint32_t weight = 1;      // share of the upstream's traffic
  uint32_t count = 1;       // how many identical binds
};

// [[upstreams.shares]]: one tenant's share of an upstream's time slots (see slot_planner.hpp).
struct upstream_share_config {
  std::string tenant;            // a tenant name
  uint32_t weight = 1;           // default: the tenant's weight
  uint32_t cap_per_s = 0;        // 0: none
  uint32_t guarantee_per_s = 0;  // 0: none
  uint32_t queue_max = 10000;    // messages waiting at one bind, then ESME_RTHROTTLED
};

struct upstream_config {
  std::string name;
  std::string host;
  uint16_t port = 0;
  std::vector<upstream_bind_config> binds;
  upstream_tls_config tls;
  // How the SMSC writes message ids: in submit_sm_resp, and in its receipts.
  codec::id_radix message_id_radix = codec::id_radix::auto_detect;
  codec::id_radix receipt_id_radix = codec::id_radix::auto_detect;
  bool on_demand = false;        // bind when traffic arrives, unbind after idle_unbind_s
  uint32_t idle_unbind_s = 300;  // meaningful with on_demand
  bool broadcast = false;        // takes broadcast_sm and its operations (SMPP 5.0 §4.4)
  // [upstreams.outbind]: the SMSC calls the router back (SMPP 3.4 §4.1.7) on `listen` with an
  // outbind carrying system_id and password; the router then binds on that connection. The
  // binds are not opened by the router.
  struct outbind_config {
    bool enabled = false;
    std::string host;
    uint16_t port = 0;
    std::string system_id;
    std::string password;
  } outbind;
  // The TDMA schedule: the contract over all binds (0: each bind's own rate_per_s), the frame
  // length, strict (an unused slot stays unused) or work-conserving, and the tenants' shares.
  uint32_t rate_per_s = 0;
  uint32_t frame_ms = 100;
  bool strict = false;
  std::vector<upstream_share_config> shares;
  std::string price_list;  // PREFIX,PRICE file (resolved path); "" for none
};

// Mobile-originated messages: destination prefix (short code) -> tenant.
struct mo_route_config {
  std::string destination_prefix;  // longest prefix wins; "" matches everything
  std::string tenant;
  std::string upstream;  // optional: only MO from this upstream; "" any
};

// Failed binds: a growing delay before later answers, and a lock-out.
struct security_config {
  uint32_t bind_fail_delay_ms = 250;
  uint32_t bind_fail_delay_max_ms = 8000;
  uint32_t bind_lockout_failures = 10;  // 0: never lock out
  uint32_t bind_lockout_s = 300;
};

struct correlation_config {
  uint64_t capacity = 10'000'000;  // live message ids, all workers together
  uint32_t ttl_s = 72 * 3600;      // receipts can take days
  bool note_all = true;            // note = \"all\" (default) or \"receipts\"
  // After its final receipt a message's id is kept this long for query_sm (0: freed at once),
  // as one of final_capacity final entries of the correlation table (oldest evicted first).
  uint32_t keep_final_s = 600;
  uint32_t final_capacity = 1'000'000;
};

// [store]: where and how the router keeps its message state on disk (docs/architecture.md,
// "Durable message state"; config/README.md).
struct store_config {
  // Empty: $STATE_DIRECTORY/store when the service manager sets STATE_DIRECTORY (systemd's
  // StateDirectory=), else NAME.state beside the configuration file NAME.toml. A relative path
  // is resolved against the configuration file's directory.
  std::string path;
  // "batch", "fsync" or "off" (memory only, the default until a receipt can no longer overtake
  // the submit_sm_resp that waits for its note: config/README.md, [store]).
  std::string sync = "off";
  std::string engine;            // empty: the default engine (store/engines.hpp)
  uint32_t capacity_mb = 16384;  // disk for all shards together
};

// [[networks]]: a mobile network and the prefixes of its numbers (its home network).
struct network_config {
  std::string name;
  std::vector<std::string> prefixes;  // digits, optional leading '+'; each in one network only
};

// [[number_portability]]: a file of `MSISDN,NETWORK` lines (control/mnp_builder.hpp) and the
// delta files applied after it, in order. Paths are resolved against the configuration file's
// directory when relative.
struct number_portability_config {
  std::string file;
  std::vector<std::string> deltas;
};

struct route_config {
  std::string tenant;                  // tenant name, or "*" for every tenant
  std::string destination_prefix;      // longest prefix wins; "" matches everything
  std::string network;                 // a [[networks]] name instead of a destination prefix
  std::string source_prefix;           // optional: "" matches everything
  std::string service_type;            // optional: "" matches everything
  std::vector<std::string> upstreams;  // failover order
  // mode = "cheapest": by the upstreams' price lists; "quality": by price weighed with each
  // upstream's delivery ratio and latency; else "failover" (configuration order).
  bool cheapest = false;
  bool quality = false;
};

struct timeouts_config {
  uint32_t bind_ms = 10000;  // connect -> bind must arrive within
  uint32_t enquire_link_interval_ms = 30000;
  uint32_t dead_peer_ms = 90000;    // nothing received for this long: close
  uint32_t response_ms = 30000;     // a request unanswered for this long gets an error
  uint32_t partial_pdu_ms = 10000;  // a PDU started but not finished within: close
  uint32_t reconnect_min_ms = 500;
  uint32_t reconnect_max_ms = 30000;
  uint32_t esme_idle_ms = 0;  // a bound ESME with no traffic this long is unbound; 0: never
};

struct limits_config {
  uint32_t max_command_length = 64 * 1024;
  uint32_t max_connections = 65536;
  uint32_t max_send_queue_bytes = 1u << 20;
};

// [admin]: the HTTP admin API and /metrics. Reads need no token; changes need
// "Authorization: Bearer <token>", and are refused (403) while no token is configured.
struct admin_config {
  bool enabled = true;
  std::string host = "127.0.0.1";  // loopback unless [admin] listen names another address
  uint16_t port = 8775;
  std::string token;       // from `token`, or read from `token_file` when the config is loaded
  std::string token_file;  // resolved path, empty when the token is given inline or not at all
};

// [router] transport: how the workers reach the network. "kernel": Linux sockets (epoll), the
// default; "dpdk": a DPDK port with the project's userspace TCP/IP stack, configured in [dpdk].
enum class transport_kind : uint8_t { kernel, dpdk };

// [dpdk] arp: a neighbour whose hardware address is fixed (never asked for, never changed).
struct dpdk_arp_config {
  uint32_t ipv4 = 0;  // host byte order
  std::array<uint8_t, 6> mac{};
  friend bool operator==(const dpdk_arp_config&, const dpdk_arp_config&) = default;
};

// One DPDK port and the router's address on it: [dpdk] itself (port, ipv4, gateway, arp) is the
// first, each [[dpdk.extra_ports]] one more (e.g. one port towards the ESMEs, one towards the
// SMSCs). Outbound connections leave by the port whose subnet holds the destination, else by the
// first port with a gateway.
struct dpdk_port_config {
  std::string device;                // a PCI address or a virtual device's name
  uint32_t ipv4 = 0;                 // the router's address on it, host byte order
  uint8_t prefix_length = 24;        // of the subnet the port is on
  uint32_t gateway = 0;              // 0: off-link destinations are unreachable through this port
  std::vector<dpdk_arp_config> arp;  // static neighbours
};

// [dpdk]: the EAL, the ports, and the router's addresses on them (config/README.md). Meaningful
// with transport = "dpdk"; the workers' CPUs ([router] workers) become the EAL's lcores, and
// every port gets one queue pair per worker.
struct dpdk_config {
  bool no_huge = false;                     // plain memory instead of hugepages (development)
  uint32_t memory_mb = 0;                   // -m: memory reserved at start; 0 = the EAL's default
  std::vector<std::string> vdevs;           // --vdev strings ("net_tap0,iface=smpp0")
  std::vector<std::string> pci;             // PCI allow-list (-a); empty: no PCI scan
  std::string file_prefix = "smpp-router";  // --file-prefix: distinct per process on a host
  std::string log_level = "error";          // the EAL's log level
  std::vector<dpdk_port_config> ports;      // [dpdk] first, then [[dpdk.extra_ports]]
  uint16_t mtu = 1500;                      // IP MTU of every port
  // TCP connections preallocated per worker and port (64 KiB send + 64 KiB receive buffer
  // each), TIME-WAIT included: the transport hands at most 3/4 of them (and at most
  // [router] max_connections) to the sessions, the rest is TIME-WAIT's headroom.
  uint32_t tcp_connections = 1024;
  // Fault injection in the port path, both directions ("loss=0.01,reorder=0.01,seed=7": see
  // dpdk/fault.hpp); empty = off. For tests; never on in production.
  std::string fault;
  // Idle back-off of the workers' poll loops (dpdk_transport_config::idle_sleep_us): 0 = pure
  // poll mode (every worker spins on its CPU); N = an idle worker sleeps in steps of at most N
  // microseconds, which adds at most N us to the first frame after an idle spell.
  uint32_t idle_sleep_us = 0;
};

struct router_config {
  std::string source_file;
  std::vector<listener_config> listeners;  // plain first, then the [router.tls] ones
  tls_server_config tls;                   // meaningful when a listener has tls set
  workers_config workers;
  std::vector<tenant_config> tenants;
  std::vector<upstream_config> upstreams;
  std::vector<network_config> networks;
  std::vector<number_portability_config> number_portability;
  std::vector<route_config> routes;
  std::vector<mo_route_config> mo_routes;
  correlation_config correlation;
  store_config store;
  security_config security;
  admin_config admin;
  timeouts_config timeouts;
  limits_config limits;
  transport_kind transport = transport_kind::kernel;  // [router] transport
  // [router] retry_on: command_status values (SMPP 3.4 §5.1.3) after which a refused message
  // request goes once to the next upstream of its route.
  std::vector<uint32_t> retry_on;
  // [router] quality_*: how routes of mode "quality" weigh price, delivery ratio and latency.
  uint32_t quality_window_s = 300;
  uint32_t quality_latency_cost = 10;  // price millionths per ms of mean answer latency
  uint32_t quality_min_samples = 50;
  dpdk_config dpdk;  // [dpdk]
};

// A configuration error: file, line, column, the dotted key and what is accepted.
struct config_error {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string key;                              // e.g. "tenants[1].window"
  std::string message;                          // e.g. "must be an integer 1..65535"
  [[nodiscard]] std::string to_string() const;  // "file:line:column: key: message"
};

struct config_result {
  std::optional<router_config> config;
  std::vector<config_error> errors;  // every error found, in file order
  [[nodiscard]] bool ok() const noexcept { return config.has_value() && errors.empty(); }
};

[[nodiscard]] config_result load_config_file(const std::string& path);
[[nodiscard]] config_result load_config_string(const std::string& toml, const std::string& name);

// Password hashing for tenant credentials: libsodium crypto_pwhash_str (argon2id). The limits are
// far below libsodium's "interactive" ones on purpose: after an outage every ESME re-binds at
// once, and a verify must cost well under a millisecond, not ~100 ms (see config/README.md).
// verify_password() accepts any argon2id/argon2i string; the cost is the one encoded in it.
inline constexpr unsigned long long password_hash_opslimit = 1;          // argon2 t=1
inline constexpr std::size_t password_hash_memlimit_bytes = 256 * 1024;  // argon2 m=256 KiB
[[nodiscard]] std::string hash_password(const std::string& password);
[[nodiscard]] bool verify_password(const std::string& hash, const std::string& password);

// An IP network in CIDR notation, as accepted in tenant_config::allowed_networks.
struct ip_network {
  bool ipv6 = false;
  std::array<uint8_t, 16> address{};  // network byte order; IPv4 uses the first 4 bytes
  uint8_t prefix_length = 0;
  friend bool operator==(const ip_network&, const ip_network&) = default;
};

struct cidr_result {
  std::optional<ip_network> network;
  std::string error;  // why the text was rejected, when !network
};

// "10.0.0.0/8", "192.0.2.7/32", "::/0", "2001:db8::/32". The prefix length is required, and the
// bits after it must be zero (a set host bit is almost always a typo of the prefix length).
[[nodiscard]] cidr_result parse_cidr(std::string_view text);

}  // namespace smpp::control
