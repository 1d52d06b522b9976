// [dpdk]: the EAL (memory, devices, file prefix, log level), the ports with the router's
// addresses, static ARP entries, TCP and fault injection; and what router.transport = "dpdk"
// refuses in the other sections (listeners not on a port, host names, IPv6, TLS).
#include <algorithm>
#include <array>

#include "config_sections.hpp"
#include "smpp/dataplane/dpdk/fault.hpp"

namespace smpp::control::detail {
namespace {

using dataplane::ipv4_netmask;
using dataplane::ipv4_text;
using dataplane::parse_ipv4;

constexpr std::string_view vdev_accepted =
    "an EAL --vdev string: a driver name and ',key=value' options, 1..256 printable characters "
    "without spaces (e.g. \"net_tap0,iface=smpp0\")";
constexpr std::string_view pci_accepted =
    "a PCI address \"DDDD:BB:DD.F\" or \"BB:DD.F\" in hexadecimal (e.g. \"0000:03:00.0\")";
constexpr std::string_view file_prefix_accepted =
    "a name of 1..64 characters A-Z a-z 0-9 '_' '-' '.', distinct per DPDK process on the host";
constexpr std::string_view log_level_accepted =
    "one of \"emergency\", \"alert\", \"critical\", \"error\", \"warning\", \"notice\", \"info\", "
    "\"debug\"";
constexpr std::string_view port_accepted =
    "a PCI address (\"0000:03:00.0\") or a virtual device's name (\"net_tap0\"), 1..256 "
    "printable characters without spaces";
constexpr std::string_view dpdk_ipv4_accepted =
    "\"A.B.C.D/N\": the router's unicast IPv4 address on the port and its prefix length 1..32 "
    "(e.g. \"192.0.2.10/24\")";
constexpr std::string_view gateway_accepted =
    "an IPv4 address on the subnet of dpdk.ipv4, not the router's own (e.g. \"192.0.2.1\")";
constexpr std::string_view arp_accepted =
    "an array of inline tables {ip = \"A.B.C.D\", mac = \"xx:xx:xx:xx:xx:xx\"} with a unicast "
    "IPv4 address and a unicast Ethernet address";
constexpr int_range memory_mb_range{0, 1 << 20};
constexpr int_range tcp_connections_range{16, 1 << 20};
constexpr std::size_t max_dpdk_ports = 8;  // [dpdk] and its extra_ports together
constexpr int_range mtu_range{576, 9000};  // RFC 791: every host takes 576-octet datagrams
constexpr int_range idle_sleep_us_range{0, 10'000};  // 10 ms: the latency an idle worker may add

bool printable_no_space(std::string_view v, std::size_t max_chars) {
  return !v.empty() && v.size() <= max_chars &&
         std::all_of(v.begin(), v.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; });
}

bool valid_vdev(std::string_view v) {
  return printable_no_space(v, 256);
}

bool all_hex(std::string_view s, std::size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char ch) {
           return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
         });
}

// DDDD:BB:DD.F or BB:DD.F (device 00..1f, function 0..7).
bool valid_pci(std::string_view v) {
  const std::size_t dot = v.rfind('.');
  if (dot == std::string_view::npos || dot + 2 != v.size() || v[dot + 1] < '0' ||
      v[dot + 1] > '7') {
    return false;
  }
  std::string_view rest = v.substr(0, dot);
  if (std::count(rest.begin(), rest.end(), ':') == 2) {
    if (!all_hex(rest.substr(0, 4), 4) || rest.size() < 5 || rest[4] != ':') return false;
    rest = rest.substr(5);
  }
  return rest.size() == 5 && rest[2] == ':' && all_hex(rest.substr(0, 2), 2) &&
         all_hex(rest.substr(3, 2), 2) &&
         std::stoul(std::string(rest.substr(3, 2)), nullptr, 16) < 32;
}

// RFC 1122 §3.2.1.3: 0/8, 127/8, class D and E are never a host's unicast address.
bool unicast_ipv4(uint32_t a) {
  const uint32_t first = a >> 24;
  return first != 0 && first != 127 && first < 224;
}

std::optional<std::array<uint8_t, 6>> parse_mac(std::string_view text) {
  std::array<uint8_t, 6> mac{};
  if (text.size() != 17) return {};
  for (std::size_t i = 0; i < 6; ++i) {
    const std::string_view octet = text.substr(i * 3, 2);
    if (!all_hex(octet, 2) || (i < 5 && text[i * 3 + 2] != ':')) return {};
    mac[i] = static_cast<uint8_t>(std::stoul(std::string(octet), nullptr, 16));
  }
  return mac;
}

// ipv4 = "A.B.C.D/N" of one port: a unicast host address of its subnet.
void load_port_address(config_reader& r, const toml::table& t, const std::string& path,
                       bool required, dpdk_port_config& p) {
  const auto* ip = required ? r.require_string(t, "ipv4", path, dpdk_ipv4_accepted)
                            : r.read_string(t, "ipv4", path, dpdk_ipv4_accepted);
  if (ip == nullptr) return;
  const std::string& v = ip->get();
  const std::size_t slash = v.find('/');
  const auto addr = parse_ipv4(std::string_view(v).substr(0, slash));
  const auto prefix = slash == std::string::npos ? std::nullopt
                                                 : dataplane::parse_prefix_length(
                                                       std::string_view(v).substr(slash + 1), 32);
  if (!addr || !prefix || *prefix == 0) {
    r.wrong(*ip, join(path, "ipv4"), dpdk_ipv4_accepted);
  } else if (!unicast_ipv4(*addr)) {
    r.error(*ip, join(path, "ipv4"),
            quoted(ipv4_text(*addr)) + " is not a unicast host address: must be " +
                std::string(dpdk_ipv4_accepted));
  } else if (const uint32_t mask = ipv4_netmask(static_cast<uint8_t>(*prefix));
             *prefix < 31 && ((*addr & ~mask) == 0 || (*addr & ~mask) == ~mask)) {
    // RFC 1122 §3.2.1.3: all-zeros and all-ones host parts are not host addresses (RFC 3021
    // lifts this for /31 links).
    r.error(*ip, join(path, "ipv4"),
            quoted(v) + " is the subnet's network or broadcast address: must be " +
                std::string(dpdk_ipv4_accepted));
  } else {
    p.ipv4 = *addr;
    p.prefix_length = static_cast<uint8_t>(*prefix);
  }
}

// arp = [{ip, mac}, ...] of one port: unicast addresses, one entry per IP.
void load_static_arp(config_reader& r, const toml::table& t, const std::string& path,
                     dpdk_port_config& p) {
  const toml::node* n = t.get("arp");
  if (n == nullptr) return;
  const std::string key = join(path, "arp");
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    r.wrong(*n, key, arp_accepted);
    return;
  }
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    const toml::table* et = e.as_table();
    const std::string ekey = indexed(key, i);
    if (et == nullptr) {
      r.wrong(e, ekey, arp_accepted);
      continue;
    }
    r.check_keys(*et, ekey, {"ip", "mac"});
    const auto* eip = r.require_string(*et, "ip", ekey, "an IPv4 address \"A.B.C.D\"");
    const auto* mac = r.require_string(*et, "mac", ekey, "\"xx:xx:xx:xx:xx:xx\"");
    if (eip == nullptr || mac == nullptr) continue;
    const auto a4 = parse_ipv4(eip->get());
    const auto m = parse_mac(mac->get());
    if (!a4 || !unicast_ipv4(*a4)) {
      r.wrong(*eip, join(ekey, "ip"), arp_accepted);
    } else if (!m || ((*m)[0] & 1) != 0 || *m == std::array<uint8_t, 6>{}) {
      // IEEE 802-2014 §8.2.2: the low bit of the first octet marks a group address.
      r.wrong(*mac, join(ekey, "mac"), arp_accepted);
    } else if (std::any_of(p.arp.begin(), p.arp.end(),
                           [&](const dpdk_arp_config& x) { return x.ipv4 == *a4; })) {
      r.error(*eip, join(ekey, "ip"), quoted(eip->get()) + " has two static ARP entries");
    } else {
      p.arp.push_back(dpdk_arp_config{*a4, *m});
    }
  }
}

// port, ipv4, gateway, arp of one port ([dpdk] itself or one [[dpdk.extra_ports]]).
void load_port(config_reader& r, const toml::table& t, const std::string& path, bool required,
               dpdk_port_config& p) {
  const auto* dev = required ? r.require_string(t, "port", path, port_accepted)
                             : r.read_string(t, "port", path, port_accepted);
  if (dev != nullptr) {
    if (printable_no_space(dev->get(), 256)) {
      p.device = dev->get();
    } else {
      r.wrong(*dev, join(path, "port"), port_accepted);
    }
  }
  load_port_address(r, t, path, required, p);
  if (const auto* s = r.read_string(t, "gateway", path, gateway_accepted)) {
    const auto gw = parse_ipv4(s->get());
    const uint32_t mask = ipv4_netmask(p.prefix_length);
    if (!gw || !unicast_ipv4(*gw)) {
      r.wrong(*s, join(path, "gateway"), gateway_accepted);
    } else if (p.ipv4 != 0 && ((*gw & mask) != (p.ipv4 & mask) || *gw == p.ipv4)) {
      r.error(
          *s, join(path, "gateway"),
          quoted(s->get()) +
              (*gw == p.ipv4 ? " is the router's own address" : " is not on the port's subnet") +
              ": must be " + std::string(gateway_accepted));
    } else {
      p.gateway = *gw;
    }
  }
  load_static_arp(r, t, path, p);
}

// [[dpdk.extra_ports]]: at most max_dpdk_ports in all, each its own device and subnet.
void load_extra_ports(config_reader& r, const toml::table& t, const std::string& path,
                      dpdk_config& d) {
  for (const auto& [x, xpath] : r.tables_of(t, "extra_ports", path)) {
    r.check_keys(*x, xpath, {"port", "ipv4", "gateway", "arp"});
    if (d.ports.size() == max_dpdk_ports) {
      r.error(*x, xpath,
              "at most " + std::to_string(max_dpdk_ports - 1) + " extra ports (" +
                  std::to_string(max_dpdk_ports) + " in all)");
      break;
    }
    dpdk_port_config p;
    load_port(r, *x, xpath, true, p);
    // Each port its own device and a subnet of its own: a destination has one way out.
    for (const dpdk_port_config& q : d.ports) {
      const uint8_t shorter = std::min(p.prefix_length, q.prefix_length);
      const uint32_t mask = ipv4_netmask(shorter);
      if (!p.device.empty() && p.device == q.device) {
        r.error(*x->get("port"), join(xpath, "port"), quoted(p.device) + " is used twice");
      } else if (p.ipv4 != 0 && q.ipv4 != 0 && (p.ipv4 & mask) == (q.ipv4 & mask)) {
        r.error(*x->get("ipv4"), join(xpath, "ipv4"),
                "overlaps the subnet of another port (" + ipv4_text(q.ipv4) + "/" +
                    std::to_string(q.prefix_length) + "): each port needs a subnet of its own");
      }
    }
    d.ports.push_back(std::move(p));
  }
}

// The EAL's options and the poll loop's tuning.
void load_eal(config_reader& r, const toml::table& t, const std::string& path, dpdk_config& d) {
  r.read_bool(t, "no_huge", path, d.no_huge);
  r.read_int(t, "memory_mb", path, memory_mb_range, d.memory_mb);
  if (d.no_huge && d.memory_mb == 0) d.memory_mb = 256;  // --no-huge reserves it all at start
  r.read_string_list(t, "vdevs", path, vdev_accepted, valid_vdev, d.vdevs);
  r.read_string_list(t, "pci", path, pci_accepted, valid_pci, d.pci);
  if (const auto* s = r.read_string(t, "file_prefix", path, file_prefix_accepted)) {
    if (valid_name(s->get())) {
      d.file_prefix = s->get();
    } else {
      r.wrong(*s, join(path, "file_prefix"), file_prefix_accepted);
    }
  }
  if (const auto* s = r.read_string(t, "log_level", path, log_level_accepted)) {
    constexpr std::array<std::string_view, 8> levels = {"emergency", "alert",  "critical", "error",
                                                        "warning",   "notice", "info",     "debug"};
    if (std::find(levels.begin(), levels.end(), s->get()) != levels.end()) {
      d.log_level = s->get();
    } else {
      r.wrong(*s, join(path, "log_level"), log_level_accepted);
    }
  }
  uint32_t mtu = d.mtu;
  if (r.read_int(t, "mtu", path, mtu_range, mtu) != nullptr) d.mtu = static_cast<uint16_t>(mtu);
  r.read_int(t, "tcp_connections", path, tcp_connections_range, d.tcp_connections);
  r.read_int(t, "idle_sleep_us", path, idle_sleep_us_range, d.idle_sleep_us);
  if (const auto* s = r.read_string(t, "fault", path, "a fault string (see dpdk/fault.hpp)")) {
    dataplane::dpdk::fault_config f;
    std::string why;
    if (dataplane::dpdk::fault_config::parse(s->get(), f, why)) {
      d.fault = s->get();
    } else {
      r.error(*s, join(path, "fault"),
              why + " (e.g. \"loss=0.01,dup=0.005,reorder=0.01,seed=7\"; empty = off)");
    }
  }
}

// With router.transport = "dpdk": the userspace stack speaks IPv4 only, resolves no names and
// runs no TLS; a listener must be on one of the ports' addresses.
void check_dpdk_transport(config_reader& r, const toml::table& root, const dpdk_config& d) {
  const toml::table* router = root.get("router")->as_table();  // transport was read from it
  if (const toml::node* n = router->get("listen"); n != nullptr && n->is_array()) {
    const toml::array& a = *n->as_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      const auto* s = a.get(i)->as_string();
      dataplane::host_port hp;
      if (s == nullptr || !dataplane::parse_host_port(s->get(), false, hp).empty()) {
        continue;  // reported
      }
      const auto addr = parse_ipv4(hp.host);
      const bool ours =
          addr &&
          (*addr == 0 || std::any_of(d.ports.begin(), d.ports.end(),
                                     [&](const dpdk_port_config& p) { return p.ipv4 == *addr; }));
      if (!ours) {
        r.error(*s, indexed("router.listen", i),
                "with router.transport = \"dpdk\" a listener must be on \"0.0.0.0\" (every port) "
                "or on a port's address (dpdk.ipv4, dpdk.extra_ports[].ipv4)");
      }
    }
  }
  if (const toml::node* n = router->get("tls")) {
    r.error(*n, "router.tls", "TLS listeners need router.transport = \"kernel\"");
  }
  for (const auto& [u, upath] : r.tables_of(root, "upstreams", "")) {
    const toml::node* a = u->get("address");
    const auto* s = a != nullptr ? a->as_string() : nullptr;
    dataplane::host_port hp;
    if (s != nullptr && dataplane::parse_host_port(s->get(), true, hp).empty() &&
        !parse_ipv4(hp.host)) {
      r.error(*s, join(upath, "address"),
              "with router.transport = \"dpdk\" the SMSC's address must be an IPv4 address "
              "\"A.B.C.D:port\" (the userspace stack resolves no names and speaks IPv4 only)");
    }
    if (const toml::node* tls = u->get("tls")) {
      r.error(*tls, join(upath, "tls"), "TLS to an SMSC needs router.transport = \"kernel\"");
    }
  }
}

}  // namespace

void load_dpdk(config_reader& r, const toml::table& root, router_config& c) {
  const std::string path = "dpdk";
  const toml::table* t = r.table_of(root, "dpdk", "");
  dpdk_config& d = c.dpdk;
  if (t != nullptr) {
    r.check_keys(
        *t, path,
        {"no_huge", "memory_mb", "vdevs", "pci", "file_prefix", "log_level", "port", "ipv4",
         "gateway", "arp", "mtu", "fault", "extra_ports", "tcp_connections", "idle_sleep_us"});
    load_eal(r, *t, path, d);
    dpdk_port_config first;
    load_port(r, *t, path, c.transport == transport_kind::dpdk, first);
    d.ports.push_back(std::move(first));
    load_extra_ports(r, *t, path, d);
  }

  if (c.transport != transport_kind::dpdk) return;
  if (t == nullptr) {
    const toml::node* transport = root.get("router")->as_table()->get("transport");
    r.error(*transport, "router.transport",
            "\"dpdk\" needs a [dpdk] table with at least port and ipv4 (config/README.md)");
    return;
  }
  check_dpdk_transport(r, root, d);
}

}  // namespace smpp::control::detail
