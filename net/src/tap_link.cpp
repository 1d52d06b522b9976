// TAP device link: one read() is one received frame, one write() one sent frame.
#include "smpp/net/tap_link.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "smpp/net/ethernet.hpp"

namespace smpp::net {

tap_link::tap_link(std::string_view name, const mac_addr& mac, size_t mtu)
    : name_(name),
      mac_(mac),
      mtu_(mtu),
      max_frame_(eth_header_len + 4 + mtu),  // room for one VLAN tag, which the stack drops
      tx_(eth_padded_length(eth_header_len + mtu)) {
  if (name_.size() >= IFNAMSIZ) {
    error_ = "TAP device name longer than " + std::to_string(IFNAMSIZ - 1);
    return;
  }
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error_ = std::string("open /dev/net/tun: ") + std::strerror(errno);
    return;
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name_.data(), name_.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    error_ = std::string("ioctl TUNSETIFF ") + name_ + ": " + std::strerror(errno);
    ::close(fd);
    return;
  }
  name_ = ifr.ifr_name;
  fd_ = fd;
}

tap_link::~tap_link() {
  if (fd_ >= 0) ::close(fd_);
}

size_t tap_link::rx_burst(std::span<std::byte> buffer,
                          std::span<std::span<const std::byte>> frames) {
  size_t n = 0;
  size_t used = 0;
  while (n < frames.size() && buffer.size() - used >= max_frame_) {
    const ssize_t r = ::read(fd_, buffer.data() + used, max_frame_);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) ++rx_errors_;
      break;
    }
    if (r == 0) break;
    frames[n++] = std::span<const std::byte>(buffer.data() + used, static_cast<size_t>(r));
    used += static_cast<size_t>(r);
  }
  return n;
}

std::span<std::byte> tap_link::alloc_frame(size_t length) {
  if (fd_ < 0 || length > tx_.size()) return {};
  return std::span<std::byte>(tx_).first(length);
}

void tap_link::send_frame(size_t length) {
  if (length > tx_.size()) {
    ++tx_errors_;
    return;
  }
  // A TAP write takes the whole frame or fails (full queue: the frame is lost, as on a wire).
  ssize_t w;
  do {
    w = ::write(fd_, tx_.data(), length);
  } while (w < 0 && errno == EINTR);
  if (w != static_cast<ssize_t>(length)) ++tx_errors_;
}

}  // namespace smpp::net
