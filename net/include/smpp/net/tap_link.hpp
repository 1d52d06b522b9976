// A net::link over a Linux TAP device (/dev/net/tun, IFF_TAP | IFF_NO_PI, non-blocking): our
// stack on one side of the wire, the Linux kernel on the other. For tests and as a development
// transport; the device lives in the network namespace of the thread that opened it.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/net/link.hpp"

namespace smpp::net {

class tap_link final : public link {
 public:
  // Opens (creating if needed) the TAP device `name`. `mac` is our stack's address (not the
  // kernel interface's own). On failure valid() is false and error() says why.
  tap_link(std::string_view name, const mac_addr& mac, size_t mtu = 1500);
  ~tap_link() override;
  tap_link(const tap_link&) = delete;
  tap_link& operator=(const tap_link&) = delete;

  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  // Reads up to frames.size() frames, packed one after another into `buffer` (each needs room
  // for a whole frame, max_frame() octets, or the burst stops); frames[i] views the i-th.
  // Returns how many were read: 0 when none is waiting.
  size_t rx_burst(std::span<std::byte> buffer, std::span<std::span<const std::byte>> frames);
  [[nodiscard]] size_t max_frame() const noexcept { return max_frame_; }

  [[nodiscard]] std::span<std::byte> alloc_frame(size_t length) override;
  // Writes the frame to the device at once (a TAP write is one frame).
  void send_frame(size_t length) override;
  [[nodiscard]] mac_addr mac() const noexcept override { return mac_; }
  [[nodiscard]] size_t mtu() const noexcept override { return mtu_; }

  [[nodiscard]] uint64_t tx_errors() const noexcept { return tx_errors_; }
  [[nodiscard]] uint64_t rx_errors() const noexcept { return rx_errors_; }

 private:
  int fd_ = -1;
  std::string name_;
  std::string error_;
  mac_addr mac_;
  size_t mtu_;
  size_t max_frame_;
  std::vector<std::byte> tx_;
  uint64_t tx_errors_ = 0;
  uint64_t rx_errors_ = 0;
};

}  // namespace smpp::net
