// The configuration's section loaders, one file per concern (config_router.cpp,
// config_tenants.cpp, ...), and what several sections check alike. Each loader reads its part of
// the TOML document into router_config through config_reader, which records every error.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "config_reader.hpp"
#include "smpp/control/config.hpp"
#include "smpp/dataplane/address.hpp"

namespace smpp::control::detail {

// SMPP 3.4 §5.2: C-Octet String maxima include the terminating NUL, so the text is one shorter.
constexpr std::size_t max_system_id_chars = 15;  // system_id: 16 octets
constexpr std::size_t max_password_chars = 8;    // password: 9 octets

constexpr int_range window_range{1, 65535};
constexpr int_range rate_range{0, 1'000'000};
constexpr int_range weight_range{1, 65535};
constexpr int_range idle_unbind_range{1, 86'400};

// The keys of [router]: checked there, and suggested for one written at the top level.
inline constexpr std::array<std::string_view, 11> router_keys = {"listen",
                                                                 "tls",
                                                                 "workers",
                                                                 "max_command_length",
                                                                 "max_connections",
                                                                 "max_send_queue_bytes",
                                                                 "transport",
                                                                 "retry_on",
                                                                 "quality_window_s",
                                                                 "quality_latency_cost",
                                                                 "quality_min_samples"};

// A name of 1..64 characters A-Z a-z 0-9 '_' '-' '.': tenants, upstreams (metric labels) and
// the DPDK file prefix.
[[nodiscard]] bool valid_name(std::string_view s);
// The required `name` of a tenant or an upstream (`what`): valid, and not one of `names` (name
// -> line of the ones before, to which it is added). Empty when refused (reported).
[[nodiscard]] std::string read_name(config_reader& r, const toml::table& t, const std::string& path,
                                    std::string_view what, std::map<std::string, uint32_t>& names);

// A listener's "ip:port" (router.listen, router.tls.listen, admin.listen): nullopt when
// refused (reported).
[[nodiscard]] std::optional<dataplane::host_port> read_listen_address(config_reader& r,
                                                                      const toml::node& n,
                                                                      const std::string& key);

void load_router(config_reader& r, const toml::table& root, router_config& c);  // and [router.tls]
void load_timeouts(config_reader& r, const toml::table& root, timeouts_config& c);
void load_correlation(config_reader& r, const toml::table& root, correlation_config& c);
void load_store(config_reader& r, const toml::table& root, store_config& c);
void load_security(config_reader& r, const toml::table& root, security_config& c);
void load_admin(config_reader& r, const toml::table& root, admin_config& c);
void load_tenants(config_reader& r, const toml::table& root, std::vector<tenant_config>& out);
// [[upstreams]] with their binds, TLS and TDMA schedule (whose shares name `tenants`).
void load_upstreams(config_reader& r, const toml::table& root,
                    const std::vector<tenant_config>& tenants, std::vector<upstream_config>& out);
// The TDMA schedule of one upstream: rate_per_s, frame_ms, mode and [[upstreams.shares]].
void load_schedule(config_reader& r, const toml::table& upstream, const std::string& path,
                   const std::vector<tenant_config>& tenants, upstream_config& c);
// [[networks]] (names and home prefixes) and [[number_portability]] (files of ported numbers).
void load_mobile_networks(config_reader& r, const toml::table& root,
                          std::vector<network_config>& out);
void load_number_portability(config_reader& r, const toml::table& root, const router_config& c,
                             std::vector<number_portability_config>& out);
// A destination prefix: at most 20 digits, optionally starting with '+'.
[[nodiscard]] bool valid_prefix(std::string_view s);
inline constexpr std::string_view prefix_accepted =
    "a string of at most 20 digits, optionally starting with '+'";
// [[routes]] and [[mo_routes]], between the tenants and upstreams of `c`.
void load_routes(config_reader& r, const toml::table& root, const router_config& c,
                 std::vector<route_config>& out);
void load_mo_routes(config_reader& r, const toml::table& root, const router_config& c,
                    std::vector<mo_route_config>& out);
// [dpdk], and what router.transport = "dpdk" refuses elsewhere (names, IPv6, TLS).
void load_dpdk(config_reader& r, const toml::table& root, router_config& c);

}  // namespace smpp::control::detail
