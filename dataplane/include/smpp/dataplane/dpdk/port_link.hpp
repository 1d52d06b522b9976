// net::link over one worker's RX/TX queue pair of a DPDK port. Single-threaded: one per worker.
//
// TX: alloc_frame() hands out the data area of a fresh mbuf, send_frame() puts it in a burst of
// up to 32, flush() gives the burst to the device and frees (and counts) what the device did not
// take. RX: rx() takes a burst of up to 32 from the device and hands each frame to a callback as
// a byte span valid during the call, then frees it. Optional fault injection per direction
// (fault.hpp) sits between the device and the stack.
//
// Used only by the thread of the worker that owns the queue, which should be an EAL lcore
// (rte_eal_remote_launch) or a thread registered with rte_thread_register(): the mempool's
// per-lcore cache is only used then. A port_link must not outlive its port.
#pragma once

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include "smpp/dataplane/dpdk/fault.hpp"
#include "smpp/dataplane/dpdk/mbuf_sync.hpp"
#include "smpp/dataplane/dpdk/port.hpp"
#include "smpp/net/link.hpp"

namespace smpp::dataplane::dpdk {

struct port_link_counters {
  uint64_t tx_frames = 0;         // frames the device took
  uint64_t tx_dropped = 0;        // frames the device did not take (queue full), freed
  uint64_t tx_no_buffer = 0;      // alloc_frame() found the mempool empty
  uint64_t tx_too_long = 0;       // alloc_frame() for more than a buffer holds
  uint64_t rx_frames = 0;         // frames handed to the stack (duplicates included)
  uint64_t rx_bad_checksum = 0;   // the device flagged a bad IPv4 or TCP checksum: dropped
  uint64_t rx_multi_segment = 0;  // chained mbufs (larger than a buffer): dropped
};

class port_link final : public net::link {
 public:
  static constexpr uint16_t burst = 32;

  // Throws std::out_of_range for a queue the port does not have (set-up time, not per frame).
  port_link(const port& p, uint16_t queue, const fault_config& rx_faults = {},
            const fault_config& tx_faults = {});
  ~port_link() override;
  port_link(const port_link&) = delete;
  port_link& operator=(const port_link&) = delete;

  [[nodiscard]] std::span<std::byte> alloc_frame(size_t length) override;
  void send_frame(size_t length) override;
  [[nodiscard]] net::mac_addr mac() const noexcept override { return mac_; }
  [[nodiscard]] size_t mtu() const noexcept override { return mtu_; }

  // send_frame() for an IPv4/TCP frame whose checksums the device computes (only when
  // port::tx_checksum_offload()): the IPv4 header checksum field must be 0 and the TCP checksum
  // field hold the folded, not inverted, pseudo-header sum (RFC 9293 §3.1), the device adds the
  // rest. l2_len: Ethernet header octets (14, or 18 with a VLAN tag); l3_len: IPv4 header octets.
  void send_frame_checksum_offload(size_t length, uint8_t l2_len, uint8_t l3_len);

  // Sends the queued burst (and releases delayed TX frames whose time has come). Returns how
  // many frames the device took.
  uint16_t flush();

  // One RX burst: each frame goes to each_frame(std::span<const std::byte>), then is freed.
  // Returns how many frames were handed over. A callback taking rte_mbuf* instead receives the
  // mbuf itself and owns it from then on (frees it or hands it on: software steering).
  template <class F>
  uint16_t rx(F&& each_frame);

  [[nodiscard]] const port_link_counters& counters() const noexcept { return n_; }
  [[nodiscard]] const fault_counters& rx_faults() const noexcept { return rx_fault_.counters(); }
  [[nodiscard]] const fault_counters& tx_faults() const noexcept { return tx_fault_.counters(); }
  [[nodiscard]] uint16_t queue() const noexcept { return queue_; }

 private:
  // Fault-stage ops for TX: emitted frames join the burst.
  struct tx_ops {
    port_link* l;
    void emit(rte_mbuf* m) { l->queue_tx(m); }
    void drop(rte_mbuf* m) { mbuf_free(m); }
    std::optional<rte_mbuf*> duplicate(rte_mbuf* m) { return l->copy(m); }
  };
  template <class F>
  struct rx_ops {
    port_link* l;
    F* each;
    uint16_t handed = 0;
    void emit(rte_mbuf* m) {
      ++handed;
      l->deliver(m, *each);
    }
    void drop(rte_mbuf* m) { mbuf_free(m); }
    std::optional<rte_mbuf*> duplicate(rte_mbuf* m) { return l->copy(m); }
  };

  void queue_tx(rte_mbuf* m);
  void send_pending(size_t length, uint64_t ol_flags, uint8_t l2_len, uint8_t l3_len);
  uint16_t send_burst();
  std::optional<rte_mbuf*> copy(rte_mbuf* m);
  [[nodiscard]] uint64_t now_us() const noexcept {
    // Split so cycles * 10^6 cannot overflow (it would after ~100 minutes of a 3 GHz TSC).
    const uint64_t c = rte_get_timer_cycles();
    return c / timer_hz_ * 1'000'000 + c % timer_hz_ * 1'000'000 / timer_hz_;
  }
  template <class F>
  void deliver(rte_mbuf* m, F& each_frame) {
    ++n_.rx_frames;
    if constexpr (std::is_invocable_v<F&, rte_mbuf*>) {
      each_frame(m);  // the callback owns the mbuf (software steering hands it on)
    } else {
      each_frame(std::span<const std::byte>(rte_pktmbuf_mtod(m, const std::byte*), m->data_len));
      mbuf_free(m);
    }
  }
  // False (and counted) for a frame the stack must not see.
  bool rx_acceptable(const rte_mbuf* m) noexcept;

  uint16_t port_id_;
  uint16_t queue_;
  rte_mempool* pool_;
  net::mac_addr mac_;
  size_t mtu_;
  uint64_t timer_hz_;
  rte_mbuf* pending_ = nullptr;  // the buffer of the last alloc_frame(), not yet sent
  std::array<rte_mbuf*, burst> tx_{};
  uint16_t tx_count_ = 0;
  fault_stage<rte_mbuf*> rx_fault_;
  fault_stage<rte_mbuf*> tx_fault_;
  port_link_counters n_;
};

template <class F>
uint16_t port_link::rx(F&& each_frame) {
  std::array<rte_mbuf*, burst> in;
  const uint16_t got = rte_eth_rx_burst(port_id_, queue_, in.data(), burst);
  for (uint16_t i = 0; i < got; ++i) mbuf_taken(in[i]);
  if (!rx_fault_.enabled()) {
    uint16_t handed = 0;
    for (uint16_t i = 0; i < got; ++i) {
      if (rx_acceptable(in[i])) {
        deliver(in[i], each_frame);
        ++handed;
      } else {
        mbuf_free(in[i]);
      }
    }
    return handed;
  }
  rx_ops<std::remove_reference_t<F>> ops{this, &each_frame};
  const uint64_t now = now_us();
  rx_fault_.poll(now, ops);
  for (uint16_t i = 0; i < got; ++i) {
    if (rx_acceptable(in[i])) {
      rx_fault_.push(in[i], now, ops);
    } else {
      mbuf_free(in[i]);
    }
  }
  return ops.handed;
}

}  // namespace smpp::dataplane::dpdk
