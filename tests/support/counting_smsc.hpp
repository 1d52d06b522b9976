// An SMSC in the test's process for smpp-http's restart tests: it answers every submit_sm
// ESME_ROK and counts each destination_addr, and can stall (read nothing more) after a number of
// answers, so that what was sent stays unanswered and unseen.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "smpp/codec/codec.hpp"
#include "smpp/codec/framer.hpp"

namespace smpp::testing {

// An SMSC that answers every submit_sm ESME_ROK and counts its destination_addr, until
// `answer_limit` are answered: then it reads nothing more (what was sent stays unanswered, as
// at an SMSC that stalls) until resume(), which drops those connections unread and serves new
// ones without a limit.
class counting_smsc {
 public:
  explicit counting_smsc(std::size_t answer_limit) : limit_(answer_limit) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
        listen(listen_fd_, 16) == 0 &&
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port_ = ntohs(a.sin_port);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~counting_smsc() {
    stop_ = true;
    thread_.join();
    for (auto& c : conns_) close(c.fd);
    close(listen_fd_);
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::size_t answered() const { return answered_.load(); }
  void resume() {
    const std::lock_guard lock(mutex_);
    resume_ = true;
  }
  std::map<std::string, std::size_t> destinations() const {
    const std::lock_guard lock(mutex_);
    return destinations_;
  }

 private:
  struct conn {
    int fd;
    smpp::codec::stream_framer framer;
  };

  void send_pdu(int fd, const smpp::codec::pdu& p) {
    std::byte buf[256];
    const auto r = smpp::codec::encode(p, buf);
    if (r.ok(sizeof buf)) (void)send(fd, buf, r.needed, MSG_NOSIGNAL);
  }

  // False when the connection is to be closed.
  bool serve(conn& c) {
    std::byte buf[65536];
    const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    smpp::codec::bytes_view in(buf, static_cast<std::size_t>(n));
    while (!in.empty()) {
      if (answered_ >= limit_ && !unlimited_) return true;  // the rest is left unanswered
      const auto r = c.framer.next(in);
      in = in.subspan(r.consumed);
      if (r.st == smpp::codec::stream_framer::state::error) return false;
      if (r.st != smpp::codec::stream_framer::state::frame) continue;
      smpp::codec::pdu p;
      if (smpp::codec::decode(r.frame, p)) return false;
      smpp::codec::pdu resp;
      resp.sequence_number = p.sequence_number;
      std::string id;
      switch (p.id) {
        case smpp::codec::command_id::bind_transceiver:
          resp.id = smpp::codec::command_id::bind_transceiver_resp;
          resp.system_id = "counting";
          break;
        case smpp::codec::command_id::submit_sm: {
          const std::lock_guard lock(mutex_);
          ++destinations_[std::string(p.destination_addr)];
          id = std::to_string(++answered_);
          resp.id = smpp::codec::command_id::submit_sm_resp;
          resp.message_id = id;
          break;
        }
        case smpp::codec::command_id::enquire_link:
          resp.id = smpp::codec::command_id::enquire_link_resp;
          break;
        case smpp::codec::command_id::unbind:
          resp.id = smpp::codec::command_id::unbind_resp;
          send_pdu(c.fd, resp);
          return false;
        default:
          continue;
      }
      send_pdu(c.fd, resp);
    }
    return true;
  }

  void run() {
    while (!stop_) {
      {
        const std::lock_guard lock(mutex_);
        if (resume_ && !unlimited_) {
          for (auto& c : conns_) close(c.fd);
          conns_.clear();
          unlimited_ = true;
        }
      }
      const bool reading = unlimited_ || answered_ < limit_;
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (auto& c : conns_) fds.push_back({c.fd, static_cast<short>(reading ? POLLIN : 0), 0});
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      for (std::size_t i = conns_.size(); i-- > 0;) {
        if ((fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) == 0 || !reading) continue;
        if (!serve(conns_[i])) {
          close(conns_[i].fd);
          conns_.erase(conns_.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
      if ((fds[0].revents & POLLIN) != 0) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) conns_.push_back(conn{fd, smpp::codec::stream_framer()});
      }
    }
  }

  const std::size_t limit_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> answered_{0};
  bool unlimited_ = false;  // the loop's own
  std::vector<conn> conns_;
  mutable std::mutex mutex_;
  bool resume_ = false;
  std::map<std::string, std::size_t> destinations_;
  std::thread thread_;
};

}  // namespace smpp::testing
