#include "smpp/dataplane/dpdk/port_link.hpp"

#include <stdexcept>
#include <string>

#include "smpp/dataplane/dpdk/mbuf_sync.hpp"

namespace smpp::dataplane::dpdk {

port_link::port_link(const port& p, uint16_t queue, const fault_config& rx_faults,
                     const fault_config& tx_faults)
    : port_id_(p.id()),
      queue_(queue),
      pool_(queue < p.queues()
                ? p.mempool_of(queue)
                : throw std::out_of_range("port_link: queue " + std::to_string(queue) + " of " +
                                          std::to_string(p.queues()))),
      mac_(p.mac()),
      mtu_(p.mtu()),
      timer_hz_(rte_get_timer_hz()),
      rx_fault_(rx_faults),
      tx_fault_(tx_faults) {}

port_link::~port_link() {
  // Whatever is still queued goes out; what the device refuses and what is held is freed.
  (void)flush();
  tx_ops ops{this};
  tx_fault_.drop_held(ops);
  (void)send_burst();
  rx_ops<void (*)(std::span<const std::byte>)> rops{this, nullptr};
  rx_fault_.drop_held(rops);
  if (pending_ != nullptr) mbuf_free(pending_);
}

std::span<std::byte> port_link::alloc_frame(size_t length) {
  if (pending_ == nullptr) {
    pending_ = mbuf_alloc(pool_);
    if (pending_ == nullptr) {
      ++n_.tx_no_buffer;
      return {};
    }
  }
  // A buffer from an earlier alloc_frame() that was never sent is reused as it is.
  if (length > rte_pktmbuf_tailroom(pending_) + pending_->data_len) {
    ++n_.tx_too_long;
    return {};
  }
  return {rte_pktmbuf_mtod(pending_, std::byte*), length};
}

void port_link::send_frame(size_t length) {
  send_pending(length, 0, 0, 0);
}

void port_link::send_frame_checksum_offload(size_t length, uint8_t l2_len, uint8_t l3_len) {
  send_pending(length, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM,
               l2_len, l3_len);
}

void port_link::send_pending(size_t length, uint64_t ol_flags, uint8_t l2_len, uint8_t l3_len) {
  rte_mbuf* m = pending_;
  if (m == nullptr) return;  // alloc_frame() failed: the caller already counted the drop
  if (length > rte_pktmbuf_tailroom(m) + m->data_len) {
    ++n_.tx_too_long;
    return;  // keeps the buffer pending for the next alloc_frame()
  }
  pending_ = nullptr;
  m->data_len = static_cast<uint16_t>(length);
  m->pkt_len = static_cast<uint32_t>(length);
  m->ol_flags = ol_flags;
  m->tx_offload = rte_mbuf_tx_offload(l2_len, l3_len, 0, 0, 0, 0, 0);
  if (!tx_fault_.enabled()) {
    queue_tx(m);
    return;
  }
  tx_ops ops{this};
  tx_fault_.push(m, now_us(), ops);
}

void port_link::queue_tx(rte_mbuf* m) {
  if (tx_count_ == burst) (void)send_burst();
  tx_[tx_count_++] = m;
}

uint16_t port_link::send_burst() {
  if (tx_count_ == 0) return 0;
  for (uint16_t i = 0; i < tx_count_; ++i) mbuf_handed(tx_[i]);
  const uint16_t sent = rte_eth_tx_burst(port_id_, queue_, tx_.data(), tx_count_);
  for (uint16_t i = sent; i < tx_count_; ++i) mbuf_free(tx_[i]);
  n_.tx_frames += sent;
  n_.tx_dropped += tx_count_ - sent;
  tx_count_ = 0;
  return sent;
}

uint16_t port_link::flush() {
  if (tx_fault_.enabled()) {
    tx_ops ops{this};
    tx_fault_.poll(now_us(), ops);
  }
  return send_burst();
}

std::optional<rte_mbuf*> port_link::copy(rte_mbuf* m) {
  rte_mbuf* c = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
  if (c == nullptr) return std::nullopt;
  return c;
}

bool port_link::rx_acceptable(const rte_mbuf* m) noexcept {
  if (m->nb_segs != 1) {
    ++n_.rx_multi_segment;
    return false;
  }
  if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
      (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
    ++n_.rx_bad_checksum;
    return false;
  }
  return true;
}

}  // namespace smpp::dataplane::dpdk
