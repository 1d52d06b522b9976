// The boundary between the userspace stack and a port queue pair (DPDK ethdev queue, TAP fd,
// or a test's in-memory wire). One link per worker per port; single-threaded.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace smpp::net {

using mac_addr = std::array<std::byte, 6>;

class link {
 public:
  virtual ~link() = default;
  // A transmit buffer for one Ethernet frame of up to `length` octets (header included, no
  // FCS). Empty when the port has no free buffer: the caller drops and counts.
  [[nodiscard]] virtual std::span<std::byte> alloc_frame(size_t length) = 0;
  // Queues the frame written into the last alloc_frame(), `length` octets of it. The port sends
  // queued frames in bursts (flush), at the latest when the worker's turn ends.
  virtual void send_frame(size_t length) = 0;
  [[nodiscard]] virtual mac_addr mac() const noexcept = 0;
  // IP MTU of the port (1500 on Ethernet).
  [[nodiscard]] virtual size_t mtu() const noexcept = 0;
};

}  // namespace smpp::net
