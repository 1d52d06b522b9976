#include "capture.hpp"

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stream.hpp"

namespace smpp::dump {
namespace {

uint16_t be16(const unsigned char* p) noexcept {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t be32(const unsigned char* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

struct span_u8 {
  const unsigned char* p = nullptr;
  size_t n = 0;
};

// The network-layer packet inside a link-layer frame, or an empty span for anything else.
span_u8 network_layer(int link_type, span_u8 f) noexcept {
  size_t off = 0;
  switch (link_type) {
    case DLT_EN10MB: {
      // IEEE 802.3: 14-octet header; skip 802.1Q / 802.1ad tags.
      if (f.n < 14) return {};
      off = 12;
      uint16_t type = be16(f.p + off);
      while ((type == 0x8100 || type == 0x88A8) && f.n >= off + 6) {
        off += 4;
        type = be16(f.p + off);
      }
      if (type != 0x0800 && type != 0x86DD) return {};
      off += 2;
      break;
    }
    case DLT_LINUX_SLL:  // 16-octet cooked header, protocol at 14
      if (f.n < 16 || (be16(f.p + 14) != 0x0800 && be16(f.p + 14) != 0x86DD)) return {};
      off = 16;
      break;
    case DLT_LINUX_SLL2:  // 20-octet cooked header, protocol at 0
      if (f.n < 20 || (be16(f.p) != 0x0800 && be16(f.p) != 0x86DD)) return {};
      off = 20;
      break;
    case DLT_NULL:
    case DLT_LOOP:  // 4-octet address family; the IP version nibble tells the rest
      off = 4;
      break;
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
      off = 0;
      break;
    default:
      return {};
  }
  if (off > f.n) return {};
  return {f.p + off, f.n - off};
}

bool supported_link_type(int link_type) noexcept {
  switch (link_type) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_NULL:
    case DLT_LOOP:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
      return true;
    default:
      return false;
  }
}

struct tcp_segment {
  std::string src;  // "ip:port"
  std::string dst;
  std::string key;  // addresses and ports as octets, one per direction
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  bool syn = false;
  span_u8 payload;           // captured octets
  uint32_t wire_length = 0;  // octets the segment carried
};

std::string endpoint(int family, const unsigned char* addr, uint16_t port) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family, addr, buf, sizeof buf);
  std::string s;
  if (family == AF_INET6) {
    s.append(1, '[').append(buf).append(1, ']');  // RFC 3986 §3.2.2
  } else {
    s.append(buf);
  }
  s.append(1, ':').append(std::to_string(port));
  return s;
}

// Parses IPv4 (RFC 791) or IPv6 (RFC 8200) carrying TCP (RFC 9293 §3.1). Fragments and other
// protocols are skipped.
bool parse_tcp(span_u8 ip, tcp_segment& seg) {
  if (ip.n < 1) return false;
  const unsigned version = ip.p[0] >> 4;
  int family = 0;
  const unsigned char* src_addr = nullptr;
  const unsigned char* dst_addr = nullptr;
  size_t addr_len = 0;
  size_t l4 = 0;      // offset of the TCP header
  size_t ip_end = 0;  // end of the IP packet on the wire (Ethernet may pad behind it)
  if (version == 4) {
    if (ip.n < 20) return false;
    const size_t ihl = size_t{ip.p[0] & 0x0Fu} * 4;
    const size_t total = be16(ip.p + 2);
    const uint16_t frag = be16(ip.p + 6);
    if (ihl < 20 || total < ihl || ip.p[9] != 6) return false;
    if ((frag & 0x3FFF) != 0) return false;  // MF set or a non-zero fragment offset
    family = AF_INET;
    src_addr = ip.p + 12;
    dst_addr = ip.p + 16;
    addr_len = 4;
    l4 = ihl;
    ip_end = total;
  } else if (version == 6) {
    if (ip.n < 40) return false;
    family = AF_INET6;
    src_addr = ip.p + 8;
    dst_addr = ip.p + 24;
    addr_len = 16;
    ip_end = 40 + size_t{be16(ip.p + 4)};
    unsigned next = ip.p[6];
    l4 = 40;
    // RFC 8200 §4: walk hop-by-hop, routing and destination options headers.
    while (next == 0 || next == 43 || next == 60) {
      if (ip.n < l4 + 2) return false;
      next = ip.p[l4];
      l4 += (size_t{ip.p[l4 + 1]} + 1) * 8;
    }
    if (next != 6) return false;  // not TCP, or a fragment (44)
  } else {
    return false;
  }
  const size_t captured_end = std::min(ip.n, ip_end);
  if (captured_end < l4 + 20) return false;
  const unsigned char* tcp = ip.p + l4;
  const size_t tcp_header = size_t{static_cast<unsigned>(tcp[12] >> 4)} * 4;
  if (tcp_header < 20 || captured_end < l4 + tcp_header || ip_end < l4 + tcp_header) return false;
  seg.src_port = be16(tcp);
  seg.dst_port = be16(tcp + 2);
  seg.seq = be32(tcp + 4);
  seg.syn = (tcp[13] & 0x02) != 0;
  seg.payload = {tcp + tcp_header, captured_end - l4 - tcp_header};
  seg.wire_length = static_cast<uint32_t>(ip_end - l4 - tcp_header);
  seg.src = endpoint(family, src_addr, seg.src_port);
  seg.dst = endpoint(family, dst_addr, seg.dst_port);
  seg.key.assign(reinterpret_cast<const char*>(src_addr), addr_len);
  seg.key.append(reinterpret_cast<const char*>(dst_addr), addr_len);
  seg.key.append(reinterpret_cast<const char*>(tcp), 4);  // both ports
  return true;
}

struct flow {
  flow(emitter& out, std::string s, std::string d)
      : src(std::move(s)), dst(std::move(d)), direction(out) {}
  std::string src;
  std::string dst;
  tcp_direction direction;
  int64_t last_sec = 0;
  uint32_t last_usec = 0;

  [[nodiscard]] origin at(int64_t sec, uint32_t usec) const { return {true, src, dst, sec, usec}; }
};

struct pcap_closer {
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};

}  // namespace

bool looks_like_capture(const unsigned char* head, size_t n) noexcept {
  if (n < 4) return false;
  const uint32_t magic = be32(head);
  for (const uint32_t m : {0xA1B2C3D4u, 0xA1B23C4Du, 0x0A0D0D0Au}) {  // pcap us/ns, pcapng SHB
    if (magic == m || magic == __builtin_bswap32(m)) return true;
  }
  return false;
}

bool dump_capture(const std::string& path, uint16_t port, emitter& out, std::string& error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // pcap_open_offline reads both pcap and pcapng.
  std::unique_ptr<pcap_t, pcap_closer> pc(pcap_open_offline(path.c_str(), errbuf));
  if (!pc) {
    error = errbuf;
    return false;
  }
  const int link_type = pcap_datalink(pc.get());
  if (!supported_link_type(link_type)) {
    const char* name = pcap_datalink_val_to_name(link_type);
    error = "unsupported link-layer type " + std::string(name != nullptr ? name : "") + " (" +
            std::to_string(link_type) + ")";
    return false;
  }

  std::vector<std::unique_ptr<flow>> flows;  // in order of first appearance
  std::unordered_map<std::string, size_t> flow_index;
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(pc.get(), &hdr, &data)) == 1) {
    tcp_segment seg;
    if (!parse_tcp(network_layer(link_type, {data, hdr->caplen}), seg)) continue;
    if (seg.src_port != port && seg.dst_port != port) continue;
    auto [it, inserted] = flow_index.try_emplace(seg.key, flows.size());
    if (inserted) flows.push_back(std::make_unique<flow>(out, seg.src, seg.dst));
    flow& f = *flows[it->second];
    f.last_sec = hdr->ts.tv_sec;
    f.last_usec = static_cast<uint32_t>(hdr->ts.tv_usec);
    f.direction.segment(
        seg.seq, seg.syn,
        codec::bytes_view(reinterpret_cast<const std::byte*>(seg.payload.p), seg.payload.n),
        seg.wire_length, f.at(f.last_sec, f.last_usec));
  }
  if (rc == PCAP_ERROR) {
    // Typically a capture cut short while it was written: keep what was read.
    out.problem(
        {"capture read error: " + std::string(pcap_geterr(pc.get())), std::nullopt, std::nullopt},
        {});
  }
  for (const auto& f : flows) f->direction.finish(f->at(f->last_sec, f->last_usec));
  return true;
}

}  // namespace smpp::dump
