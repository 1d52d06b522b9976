// SMPP transceiver sessions on kernel sockets (poll + eventfd), one thread each.
#include "smpp/http/smsc_sessions.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <unordered_map>
#include <utility>

#include "clock.hpp"
#include "smpp/codec/codec.hpp"
#include "smpp/codec/framer.hpp"
#include "smpp/codec/receipt.hpp"
#include "smsc_link.hpp"

namespace smpp::http {
namespace {

using codec::command_id;
using codec::command_status;

constexpr std::size_t max_submit_octets = 512;  // header, fields, 254 octets of short_message
constexpr int poll_ms = 100;
constexpr std::int64_t bind_timeout_ms = 10000;
constexpr std::int64_t throttle_pause_ms = 100;
constexpr std::int64_t stop_drain_ms = 2000;

// A non-blocking TCP connection to host:port within `timeout_ms`, or -1.
int connect_to(const std::string& host, std::uint16_t port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = list; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      close(fd);
      fd = -1;
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
        err != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(list);
  return fd;
}

}  // namespace

struct smsc_sessions::session {
  int wake_fd = -1;
  unsigned index = 0;
};

smsc_sessions::smsc_sessions(const smsc_config& config, message_store& store)
    : config_(config), store_(store) {
  if (config_.tls) {
    tls_ = make_smsc_tls_context(
        {config_.tls_ca_file,
         config_.tls_server_name.empty() ? config_.host : config_.tls_server_name},
        error_);
  }
  for (unsigned i = 0; i < config_.sessions; ++i) {
    auto s = std::make_unique<session>();
    s->index = i;
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    sessions_.push_back(std::move(s));
  }
}

smsc_sessions::~smsc_sessions() {
  stop();
  for (auto& s : sessions_) {
    if (s->wake_fd >= 0) close(s->wake_fd);
  }
}

void smsc_sessions::wake_all() {
  for (auto& s : sessions_) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = write(s->wake_fd, &one, sizeof one);
  }
}

void smsc_sessions::set_mo_hook(mo_hook hook) {
  mo_hook_ = std::move(hook);
}

void smsc_sessions::start() {
  store_.set_wakeup([this] { wake_all(); });
  for (auto& s : sessions_) threads_.emplace_back([this, &s] { run(*s); });
}

void smsc_sessions::stop() {
  if (threads_.empty()) return;
  stopping_ = true;
  wake_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  store_.set_wakeup({});
}

session_counters smsc_sessions::counters() const {
  return {binds_.load(),    bind_failures_.load(), disconnects_.load(),
          receipts_.load(), mo_messages_.load(),   bound_now_.load()};
}

namespace {

// One bound connection: what is unanswered, what waits to be written.
class connection {
 public:
  connection(std::unique_ptr<smsc_link> link, const smsc_config& config, message_store& store,
             const smsc_sessions::mo_hook& on_mo)
      : link_(std::move(link)), fd_(link_->fd()), config_(config), store_(store), on_mo_(on_mo) {}
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  std::uint32_t next_seq() {
    seq_ = seq_ >= 0x7FFFFFFF ? 1 : seq_ + 1;
    return seq_;
  }

  bool bind() {
    codec::pdu p;
    p.id = command_id::bind_transceiver;
    p.sequence_number = next_seq();
    p.system_id = config_.system_id;
    p.password = config_.password;
    p.system_type = config_.system_type;
    p.interface_version = 0x34;
    append(p);
    const std::int64_t until = steady_ms() + bind_timeout_ms;
    while (steady_ms() < until) {
      if (!flush()) return false;
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, poll_ms) < 0 && errno != EINTR) return false;
      std::optional<bool> bound;
      if (!read_frames([&](codec::bytes_view frame) {
            const auto h = codec::peek_header(frame.data());
            if (bound) {
              // Read with the answer: an MO or a receipt the SMSC sent at once, for serve().
              after_bind_.emplace_back(frame.begin(), frame.end());
              return;
            }
            if (h.command_id == static_cast<std::uint32_t>(command_id::bind_transceiver_resp)) {
              bound = h.command_status == 0;
              if (!*bound) {
                std::fprintf(
                    stderr, "smpp-http: bind refused: %s\n",
                    std::string(codec::status_name(static_cast<command_status>(h.command_status)))
                        .c_str());
              }
            }
          })) {
        return false;
      }
      if (bound) return *bound;
    }
    return false;
  }

  // The main loop until the peer closes, a timeout, or `stopping` (then a drain and unbind).
  void serve(int wake_fd, const std::atomic<bool>& stopping, std::atomic<std::uint64_t>& receipts,
             std::atomic<std::uint64_t>& mo) {
    std::int64_t last_rx = steady_ms();
    std::int64_t stop_deadline = 0;
    std::vector<submit_job> jobs;
    bool unbound_early = false;
    for (const std::vector<std::byte>& frame : after_bind_) {
      unbound_early |= on_frame(codec::bytes_view(frame.data(), frame.size()), receipts, mo);
    }
    after_bind_.clear();
    if (unbound_early) flush();
    while (!unbound_early) {
      const std::int64_t now = steady_ms();
      if (stopping && stop_deadline == 0) stop_deadline = now + stop_drain_ms;
      if (stop_deadline != 0 && (inflight_.empty() || now >= stop_deadline)) {
        codec::pdu u;
        u.id = command_id::unbind;
        u.sequence_number = next_seq();
        append(u);
        flush();
        break;
      }
      if (stop_deadline == 0 && now >= pause_until_ && inflight_.size() < config_.window) {
        jobs.clear();
        store_.take(config_.window - inflight_.size(), jobs, wall_ms());
        for (submit_job& j : jobs) submit(std::move(j), now);
      }
      if (!flush()) break;
      if (now - last_rx >= std::int64_t{config_.enquire_link_s} * 1000 && !enquiring_) {
        codec::pdu e;
        e.id = command_id::enquire_link;
        e.sequence_number = next_seq();
        append(e);
        enquiring_ = true;
      }
      if (timed_out(now)) break;
      pollfd fds[2] = {{fd_, static_cast<short>(POLLIN | (out_.size() > out_at_ ? POLLOUT : 0)), 0},
                       {wake_fd, POLLIN, 0}};
      if (poll(fds, 2, poll_ms) < 0 && errno != EINTR) break;
      if ((fds[1].revents & POLLIN) != 0) {
        std::uint64_t v;
        [[maybe_unused]] const ssize_t n = read(wake_fd, &v, sizeof v);
      }
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      bool unbound = false;
      const bool open = read_frames([&](codec::bytes_view frame) {
        last_rx = steady_ms();
        enquiring_ = false;
        unbound |= on_frame(frame, receipts, mo);
      });
      if (!open || unbound) {
        flush();
        break;
      }
    }
    // Whatever was not answered is submitted again on another session or the next bind.
    std::vector<submit_job> lost;
    for (auto& [seq, f] : inflight_) lost.push_back(std::move(f.job));
    inflight_.clear();
    store_.requeue(lost);
  }

 private:
  struct in_flight {
    submit_job job;
    std::int64_t sent_ms;
  };

  void append(const codec::pdu& p) {
    const std::size_t at = out_.size();
    out_.resize(at + max_submit_octets);
    const auto r = codec::encode(p, std::span(out_.data() + at, max_submit_octets));
    out_.resize(r.ok(max_submit_octets) ? at + r.needed : at);
  }

  void submit(submit_job job, std::int64_t now) {
    const message_content& c = *job.content;
    const message_part& part = c.parts[job.part];
    codec::pdu p;
    p.id = command_id::submit_sm;
    p.sequence_number = next_seq();
    p.source_addr_ton = c.from.ton;
    p.source_addr_npi = c.from.npi;
    p.source_addr = c.from.digits;
    p.dest_addr_ton = 1;
    p.dest_addr_npi = 1;
    p.destination_addr = job.to;
    p.esm_class = part.esm_class;
    // SMPP 3.4 §5.2.17: 1 = a receipt on final delivery, success or failure.
    p.registered_delivery = c.dlr ? 1 : 0;
    p.validity_period = c.validity_period;
    p.data_coding = part.data_coding;
    p.short_message = codec::bytes_view(part.short_message.data(), part.short_message.size());
    const std::size_t at = out_.size();
    out_.resize(at + max_submit_octets);
    const auto r = codec::encode(p, std::span(out_.data() + at, max_submit_octets));
    if (!r.ok(max_submit_octets)) {
      out_.resize(at);
      store_.on_response(
          job, r.status == command_status::ESME_ROK ? command_status::ESME_RINVMSGLEN : r.status,
          {}, wall_ms());
      return;
    }
    out_.resize(at + r.needed);
    inflight_.emplace(p.sequence_number, in_flight{std::move(job), now});
  }

  bool flush() {
    while (out_at_ < out_.size()) {
      const ssize_t n = link_->send(out_.data() + out_at_, out_.size() - out_at_);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        return false;
      }
      out_at_ += static_cast<std::size_t>(n);
    }
    if (out_at_ == out_.size()) {
      out_.clear();
      out_at_ = 0;
    }
    return true;
  }

  template <typename OnFrame>
  bool read_frames(OnFrame on_frame) {
    std::byte buf[65536];
    while (true) {
      const ssize_t n = link_->receive(buf, sizeof buf);
      if (n == 0) return false;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      codec::bytes_view input(buf, static_cast<std::size_t>(n));
      while (!input.empty()) {
        const auto r = framer_.next(input);
        input = input.subspan(r.consumed);
        if (r.st == codec::stream_framer::state::error) return false;
        if (r.st == codec::stream_framer::state::frame) on_frame(r.frame);
      }
    }
  }

  void respond(command_id id, std::uint32_t seq, command_status status = command_status::ESME_ROK) {
    codec::pdu p;
    p.id = id;
    p.sequence_number = seq;
    p.status = status;
    append(p);
  }

  // True when the peer unbound.
  bool on_frame(codec::bytes_view frame, std::atomic<std::uint64_t>& receipts,
                std::atomic<std::uint64_t>& mo) {
    const auto h = codec::peek_header(frame.data());
    const auto id = static_cast<command_id>(h.command_id);
    const auto status = static_cast<command_status>(h.command_status);
    switch (id) {
      case command_id::submit_sm_resp:
      case command_id::generic_nack: {
        const auto it = inflight_.find(h.sequence_number);
        if (it == inflight_.end()) return false;
        if (id == command_id::generic_nack && status == command_status::ESME_ROK) {
          store_.on_response(it->second.job, command_status::ESME_RUNKNOWNERR, {}, wall_ms());
        } else {
          const std::string_view message_id =
              status == command_status::ESME_ROK ? codec::resp_message_id(frame) : "";
          if (status == command_status::ESME_RTHROTTLED ||
              status == command_status::ESME_RMSGQFUL) {
            pause_until_ = steady_ms() + throttle_pause_ms;
          }
          store_.on_response(it->second.job, status, message_id, wall_ms());
        }
        inflight_.erase(it);
        return false;
      }
      case command_id::deliver_sm: {
        codec::pdu p;
        if (codec::decode(frame, p)) {
          respond(command_id::deliver_sm_resp, h.sequence_number, command_status::ESME_RSYSERR);
          return false;
        }
        if (codec::receipt_kind_from_esm_class(p.esm_class) == codec::receipt_kind::not_a_receipt) {
          ++mo;
          if (on_mo_) on_mo_(p);
        } else {
          ++receipts;
          const auto summary = codec::summarize_receipt(p);
          if (!summary.message_id.empty() && summary.state) {
            store_.on_receipt(summary.message_id, *summary.state, wall_ms());
          }
        }
        respond(command_id::deliver_sm_resp, h.sequence_number);
        return false;
      }
      case command_id::enquire_link:
        respond(command_id::enquire_link_resp, h.sequence_number);
        return false;
      case command_id::unbind:
        respond(command_id::unbind_resp, h.sequence_number);
        return true;
      case command_id::enquire_link_resp:
      case command_id::unbind_resp:
        return false;
      default:
        if (!codec::is_response(id)) {
          respond(command_id::generic_nack, h.sequence_number, command_status::ESME_RINVCMDID);
        }
        return false;
    }
  }

  // An answer overdue: the session is taken as dead (its parts go again elsewhere).
  bool timed_out(std::int64_t now) {
    if (now < next_timeout_check_) return false;
    next_timeout_check_ = now + 1000;
    for (const auto& [seq, f] : inflight_) {
      if (now - f.sent_ms > std::int64_t{config_.response_timeout_ms}) {
        std::fprintf(stderr, "smpp-http: no submit_sm_resp within %u ms: reconnecting\n",
                     config_.response_timeout_ms);
        return true;
      }
    }
    return false;
  }

  std::unique_ptr<smsc_link> link_;
  int fd_;
  const smsc_config& config_;
  message_store& store_;
  const smsc_sessions::mo_hook& on_mo_;
  codec::stream_framer framer_;
  std::vector<std::byte> out_;
  std::size_t out_at_ = 0;
  std::vector<std::vector<std::byte>> after_bind_;  // frames read with the bind's answer
  std::uint32_t seq_ = 0;
  std::unordered_map<std::uint32_t, in_flight> inflight_;
  std::int64_t pause_until_ = 0;
  std::int64_t next_timeout_check_ = 0;
  bool enquiring_ = false;
};

}  // namespace

void smsc_sessions::run(session& s) {
  bool reported = false;
  while (!stopping_) {
    const int fd = connect_to(config_.host, config_.port, 5000);
    std::unique_ptr<smsc_link> link;
    if (fd >= 0 && tls_ != nullptr) {
      std::string why;
      link = tls_link(fd, *tls_, 5000, why);
      if (!link) {
        ++bind_failures_;
        if (!reported) {
          std::fprintf(stderr, "smpp-http: %s:%u: %s (retrying every %u ms)\n",
                       config_.host.c_str(), config_.port, why.c_str(), config_.reconnect_ms);
          reported = true;
        }
      }
    } else if (fd >= 0) {
      link = plain_link(fd);
    }
    if (link) {
      connection c(std::move(link), config_, store_, mo_hook_);
      if (c.bind()) {
        ++binds_;
        ++bound_now_;
        std::fprintf(stderr, "smpp-http: session %u bound to %s:%u as %s\n", s.index,
                     config_.host.c_str(), config_.port, config_.system_id.c_str());
        reported = false;
        c.serve(s.wake_fd, stopping_, receipts_, mo_messages_);
        --bound_now_;
        ++disconnects_;
        continue;
      }
      ++bind_failures_;
    } else if (fd < 0 && !reported) {
      std::fprintf(stderr, "smpp-http: cannot connect to %s:%u (retrying every %u ms)\n",
                   config_.host.c_str(), config_.port, config_.reconnect_ms);
      reported = true;
    }
    // Wait for the next attempt, or for stop.
    pollfd p{s.wake_fd, POLLIN, 0};
    const std::int64_t until = steady_ms() + config_.reconnect_ms;
    while (!stopping_ && steady_ms() < until) {
      if (poll(&p, 1, poll_ms) > 0) {
        std::uint64_t v;
        [[maybe_unused]] const ssize_t n = read(s.wake_fd, &v, sizeof v);
      }
    }
  }
}

}  // namespace smpp::http
