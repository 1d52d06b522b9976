// byte-relay: the end-to-end benchmark's baseline. One thread, the same kernel transport as the
// router, forwards bytes both ways between each accepted connection and its own connection to
// the upstream, without parsing them. What the router does beyond this costs its ratio.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

#include "smpp/dataplane/kernel_transport.hpp"
#include "smpp/dataplane/placement.hpp"

namespace {

using namespace smpp::dataplane;

std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop.store(true);
}

class relay final : public transport_handler {
 public:
  relay(kernel_transport& t, endpoint upstream) : t_(t), upstream_(std::move(upstream)) {}
  void on_accept(conn_id c, uint32_t, const peer_address&) override {
    int err = 0;
    const conn_id u = t_.connect(upstream_, err);
    if (u == invalid_conn) {
      t_.close(c, true);
      return;
    }
    peer_[c] = u;
    peer_[u] = c;
  }
  void on_connect(conn_id c, int err) override {
    if (err != 0) drop(c);
  }
  void on_data(conn_id c, bytes_view data) override {
    const auto it = peer_.find(c);
    if (it == peer_.end()) return;
    if (!t_.send(it->second, data)) drop(c);  // the windows bound what is in flight
  }
  void on_writable(conn_id) override {}
  void on_close(conn_id c, int) override { drop(c); }

 private:
  void drop(conn_id c) {
    const auto it = peer_.find(c);
    if (it == peer_.end()) return;
    const conn_id other = it->second;
    peer_.erase(it);
    peer_.erase(other);
    t_.close(other, false);
    t_.close(c, false);
  }
  kernel_transport& t_;
  endpoint upstream_;
  std::unordered_map<conn_id, conn_id> peer_;
};

}  // namespace

int main(int argc, char** argv) {
  endpoint listen_ep, upstream;
  int cpu = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help") {
      std::printf(
          "usage: byte-relay --listen HOST:PORT --upstream HOST:PORT [--cpu N]\n"
          "Forwards bytes both ways, one upstream connection per accepted connection,\n"
          "on one thread; the baseline of the end-to-end benchmark. SIGTERM stops it.\n");
      return 0;
    }
    if (a == "--listen" && i + 1 < argc && endpoint::parse(argv[i + 1], listen_ep)) {
      ++i;
    } else if (a == "--upstream" && i + 1 < argc && endpoint::parse(argv[i + 1], upstream)) {
      ++i;
    } else if (a == "--cpu" && i + 1 < argc) {
      cpu = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "byte-relay: bad argument '%s' (see --help)\n", a.c_str());
      return 2;
    }
  }
  if (listen_ep.port == 0 || upstream.port == 0) {
    std::fprintf(stderr, "byte-relay: --listen and --upstream are required\n");
    return 2;
  }
  std::string err;
  if (cpu >= 0 && !pin_current_thread(static_cast<uint32_t>(cpu), err)) {
    std::fprintf(stderr, "byte-relay: cannot pin: %s\n", err.c_str());
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  transport_limits limits;
  limits.max_send_queue_bytes = 64u << 20;
  kernel_transport t(limits);
  relay r(t, upstream);
  t.set_handler(&r);
  if (const int rc = t.listen(listen_ep); rc < 0) {
    std::fprintf(stderr, "byte-relay: cannot listen on %s: %s\n", listen_ep.to_string().c_str(),
                 std::strerror(-rc));
    return 1;
  }
  while (!g_stop.load(std::memory_order_relaxed)) t.poll(1000);
  return 0;
}
