// ARP (RFC 826) with the RFC 5227 rules for probes and address conflicts.
#include "smpp/net/arp.hpp"

#include <algorithm>
#include <cstring>

namespace smpp::net {

namespace {

constexpr uint16_t arp_hrd_ethernet = 1;  // RFC 826 ar$hrd: Ethernet (10Mb)

mac_addr read_mac(const std::byte* p) noexcept {
  mac_addr m;
  std::memcpy(m.data(), p, 6);
  return m;
}

}  // namespace

arp_table::arp_table(link& port, std::span<const ipv4_addr> local, const arp_config& config,
                     size_t max_frame)
    : port_(port),
      config_(config),
      local_(local.begin(), local.end()),
      entries_(std::max<size_t>(config.cache_size, 1)),
      max_frame_(std::max(max_frame, eth_min_frame)) {
  config_.pending_per_destination =
      std::min(config_.pending_per_destination, arp_pending_per_destination_max);
  // Slot indices are 16-bit.
  config_.pending_pool = std::min<size_t>(config_.pending_pool, 0xffff);
  config_.max_requests = std::clamp(config_.max_requests, 1u, 255u);
  pool_.resize(config_.pending_pool * max_frame_);
  slots_.resize(config_.pending_pool);
  free_slots_.reserve(config_.pending_pool);
  for (size_t i = config_.pending_pool; i-- > 0;) free_slots_.push_back(static_cast<uint16_t>(i));
}

bool arp_table::is_local(ipv4_addr ip) const noexcept {
  return std::find(local_.begin(), local_.end(), ip) != local_.end();
}

arp_table::entry* arp_table::find_entry(ipv4_addr ip) noexcept {
  // A linear scan over a small preallocated table; the last hit (usually the gateway) first.
  if (entries_[last_hit_].state != arp_state::free && entries_[last_hit_].ip == ip) {
    return &entries_[last_hit_];
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].state != arp_state::free && entries_[i].ip == ip) {
      last_hit_ = i;
      return &entries_[i];
    }
  }
  return nullptr;
}

std::optional<arp_entry_view> arp_table::find(ipv4_addr ip) const noexcept {
  for (const entry& e : entries_) {
    if (e.state != arp_state::free && e.ip == ip) {
      return arp_entry_view{e.ip, e.mac, e.state, e.pending_count};
    }
  }
  return std::nullopt;
}

size_t arp_table::size() const noexcept {
  return static_cast<size_t>(std::count_if(
      entries_.begin(), entries_.end(), [](const entry& e) { return e.state != arp_state::free; }));
}

arp_table::entry* arp_table::take_entry(uint64_t now_us) {
  (void)now_us;
  entry* stalest = nullptr;
  for (entry& e : entries_) {
    if (e.state == arp_state::free) return &e;
    if (e.state == arp_state::permanent) continue;
    if (stalest == nullptr || e.confirmed_us < stalest->confirmed_us) stalest = &e;
  }
  if (stalest == nullptr) {
    ++counters_.cache_full;
    return nullptr;
  }
  // The bound of the cache: the dynamic entry confirmed longest ago makes room.
  ++counters_.entries_evicted;
  release(*stalest);
  return stalest;
}

void arp_table::release(entry& e) {
  for (size_t i = 0; i < e.pending_count; ++i) {
    free_slots_.push_back(e.pending[i]);
    ++counters_.pending_dropped;
  }
  e = entry{};
}

void arp_table::confirm(entry& e, const mac_addr& mac, uint64_t now_us) {
  if (e.state != arp_state::incomplete && e.mac != mac) ++counters_.entries_updated;
  e.mac = mac;
  e.state = arp_state::reachable;
  e.confirmed_us = now_us;
  e.used = false;
  e.requests_sent = 0;
  flush_pending(e);
}

void arp_table::flush_pending(entry& e) {
  for (size_t i = 0; i < e.pending_count; ++i) {
    const uint16_t s = e.pending[i];
    const size_t length = slots_[s].length;
    const std::byte* src = pool_.data() + s * max_frame_;
    std::span<std::byte> out = port_.alloc_frame(length);
    if (out.size() < length) {
      ++counters_.tx_no_buffer;
      ++counters_.pending_dropped;
    } else {
      std::memcpy(out.data(), src, length);
      std::memcpy(out.data(), e.mac.data(), 6);  // the destination is known now
      port_.send_frame(length);
      ++counters_.pending_sent;
    }
    free_slots_.push_back(s);
  }
  e.pending_count = 0;
}

void arp_table::send_arp(uint16_t op, const mac_addr& eth_dst, ipv4_addr sender_ip,
                         const mac_addr& target_mac, ipv4_addr target_ip) {
  const size_t length = eth_padded_length(eth_header_len + arp_packet_len);
  std::span<std::byte> out = port_.alloc_frame(length);
  if (out.size() < length) {
    ++counters_.tx_no_buffer;
    return;
  }
  const mac_addr ours = port_.mac();
  write_ethernet(out, eth_dst, ours, ethertype_arp);
  std::byte* p = out.data() + eth_header_len;
  // RFC 826 "Packet format": hrd, pro, hln, pln, op, sha, spa, tha, tpa.
  store_be16(p, arp_hrd_ethernet);
  store_be16(p + 2, ethertype_ipv4);
  p[4] = std::byte{6};
  p[5] = std::byte{4};
  store_be16(p + 6, op);
  std::memcpy(p + 8, ours.data(), 6);
  store_be32(p + 14, sender_ip);
  std::memcpy(p + 18, target_mac.data(), 6);
  store_be32(p + 24, target_ip);
  std::memset(p + arp_packet_len, 0, length - eth_header_len - arp_packet_len);
  port_.send_frame(length);
  if (op == arp_op_request) {
    ++counters_.tx_requests;
  } else {
    ++counters_.tx_replies;
  }
}

void arp_table::send_request(entry& e, uint64_t now_us) {
  const ipv4_addr sender = local_.empty() ? 0 : local_.front();
  // A refresh asks the known address directly; a resolution asks everyone. RFC 826 leaves
  // ar$tha of a request unspecified: zero.
  const mac_addr& dst = e.state == arp_state::probe ? e.mac : mac_broadcast;
  send_arp(arp_op_request, dst, sender, mac_zero, e.ip);
  ++e.requests_sent;
  e.next_request_us = now_us + config_.retry_interval_us;
}

void arp_table::input(const eth_header& eth, std::span<const std::byte> packet, uint64_t now_us) {
  ++counters_.rx_packets;
  if (packet.size() < arp_packet_len) {
    ++counters_.rx_malformed;
    return;
  }
  const std::byte* p = packet.data();
  const uint16_t op = load_be16(p + 6);
  // RFC 826 "Packet Reception": only the hardware and protocol types (and their lengths) we
  // speak; anything else is dropped.
  if (load_be16(p) != arp_hrd_ethernet || load_be16(p + 2) != ethertype_ipv4 ||
      p[4] != std::byte{6} || p[5] != std::byte{4} ||
      (op != arp_op_request && op != arp_op_reply)) {
    ++counters_.rx_malformed;
    return;
  }
  const mac_addr sha = read_mac(p + 8);
  const ipv4_addr spa = load_be32(p + 14);
  const ipv4_addr tpa = load_be32(p + 24);
  const mac_addr ours = port_.mac();
  if (sha == ours || is_group(sha) || sha == mac_zero) {
    // Our own packet looped back, or a sender address no host may have: learn nothing from it.
    ++counters_.rx_bogus_sender;
    return;
  }
  (void)eth;
  if (op == arp_op_reply) ++counters_.rx_replies;

  if (is_local(spa)) {
    // RFC 5227 §2.4: another host uses one of our addresses. Never cache it; defend with an
    // announcement at most once per DEFEND_INTERVAL (option (b)), keeping our address.
    ++counters_.conflicts;
    if (!defended_ || now_us - last_defend_us_ >= config_.defend_interval_us) {
      defended_ = true;
      last_defend_us_ = now_us;
      // RFC 5227 §2.3: an announcement is a request with sender and target address ours.
      send_arp(arp_op_request, mac_broadcast, spa, mac_zero, spa);
      ++counters_.tx_announcements;
    }
    return;
  }

  bool merged = false;
  if (spa == 0) {
    // RFC 5227 §2.1.1: a probe's sender protocol address is 0.0.0.0 and says nothing about the
    // sender's binding: nothing is learnt or updated. It is still answered below when it asks
    // for one of our addresses (the prober then sees the address is taken).
    ++counters_.rx_probes;
  } else if (entry* e = find_entry(spa)) {
    // RFC 826 "Packet Reception": if the pair <protocol type, sender protocol address> is
    // already in the table, update its hardware address (merge_flag). This is also how a
    // gratuitous ARP (sender = target address) updates an existing entry.
    if (e->state == arp_state::permanent) {
      if (e->mac != sha) ++counters_.static_protected;
    } else {
      confirm(*e, sha, now_us);
    }
    merged = true;
  }

  if (!is_local(tpa)) {
    // RFC 826: "Am I the target protocol address?" No: done (a gratuitous ARP for an address we
    // do not hold in the table adds nothing).
    if (!merged) ++counters_.rx_not_for_us;
    return;
  }
  if (!merged && spa != 0) {
    // RFC 826: add the sender's triplet when we are the target and it was not merged.
    if (entry* e = take_entry(now_us)) {
      e->ip = spa;
      e->state = arp_state::incomplete;  // confirm() counts no update from incomplete
      e->confirmed_us = now_us;
      confirm(*e, sha, now_us);
      ++counters_.entries_added;
    }
  }
  if (op == arp_op_request) {
    ++counters_.rx_requests_for_us;
    // RFC 826: swap the hardware and protocol fields, put ours in the sender fields, set the
    // opcode to reply and send it to the requester (for a probe, to target address 0.0.0.0).
    send_arp(arp_op_reply, sha, tpa, sha, spa);
  }
}

std::optional<mac_addr> arp_table::lookup(ipv4_addr ip, uint64_t now_us) noexcept {
  (void)now_us;
  entry* e = find_entry(ip);
  if (e == nullptr || e->state == arp_state::incomplete) return std::nullopt;
  e->used = true;
  return e->mac;
}

bool arp_table::enqueue(ipv4_addr next_hop, std::span<const std::byte> frame, uint64_t now_us) {
  if (frame.size() > max_frame_) {
    ++counters_.pending_dropped;
    return false;
  }
  entry* e = find_entry(next_hop);
  if (e == nullptr) {
    e = take_entry(now_us);
    if (e == nullptr) {
      ++counters_.pending_dropped;
      return false;
    }
    e->ip = next_hop;
    e->state = arp_state::incomplete;
    e->confirmed_us = now_us;
    send_request(*e, now_us);
  } else if (e->state != arp_state::incomplete) {
    // Resolved meanwhile (the caller looked up before): no need to hold it.
    std::span<std::byte> out = port_.alloc_frame(frame.size());
    if (out.size() < frame.size()) {
      ++counters_.tx_no_buffer;
      return false;
    }
    std::memcpy(out.data(), frame.data(), frame.size());
    std::memcpy(out.data(), e->mac.data(), 6);
    port_.send_frame(frame.size());
    e->used = true;
    return true;
  }
  // The two bounds of what waits for resolution: per destination and over the whole pool.
  if (e->pending_count >= config_.pending_per_destination || free_slots_.empty()) {
    ++counters_.pending_dropped;
    return false;
  }
  const uint16_t s = free_slots_.back();
  free_slots_.pop_back();
  std::memcpy(pool_.data() + s * max_frame_, frame.data(), frame.size());
  slots_[s].length = frame.size();
  e->pending[e->pending_count++] = s;
  ++counters_.pending_queued;
  return true;
}

void arp_table::timers(uint64_t now_us) {
  for (entry& e : entries_) {
    switch (e.state) {
      case arp_state::free:
      case arp_state::permanent:
        break;
      case arp_state::incomplete:
      case arp_state::probe:
        if (now_us < e.next_request_us) break;
        if (e.requests_sent >= config_.max_requests) {
          // Unanswered: the resolution failed (queued frames dropped) or the refreshed
          // neighbour is gone.
          if (e.state == arp_state::incomplete) {
            ++counters_.resolve_failed;
          } else {
            ++counters_.entries_expired;
          }
          release(e);
        } else {
          send_request(e, now_us);
        }
        break;
      case arp_state::reachable:
        if (now_us - e.confirmed_us < config_.reachable_us) break;
        if (e.used) {
          // Still in use: refresh with unicast requests, keeping the address meanwhile.
          e.state = arp_state::probe;
          e.requests_sent = 0;
          send_request(e, now_us);
        } else {
          ++counters_.entries_expired;
          release(e);
        }
        break;
    }
  }
}

bool arp_table::add_static(ipv4_addr ip, const mac_addr& mac, uint64_t now_us) {
  entry* e = find_entry(ip);
  if (e == nullptr) {
    e = take_entry(now_us);
    if (e == nullptr) return false;
    e->ip = ip;
    ++counters_.entries_added;
  }
  e->mac = mac;
  e->state = arp_state::permanent;
  e->confirmed_us = now_us;
  e->requests_sent = 0;
  flush_pending(*e);  // frames waiting for this address go now
  return true;
}

}  // namespace smpp::net
