#include "output.hpp"

namespace smpp::dataplane::router {

bool output::header_only(conn_id c, codec::command_id id, codec::command_status status,
                         uint32_t seq) {
  const std::span<std::byte> out = tx(c).reserve(c, codec::header_size);
  if (out.size() < codec::header_size) return false;
  codec::write_header_only(out.first<codec::header_size>(), id, status, seq);
  t_.commit(c, codec::header_size);
  return true;
}

bool output::pdu(conn_id c, const codec::pdu& p) {
  std::array<std::byte, 512> buf;
  const codec::encode_result r = codec::encode(p, buf);
  if (!r.ok(buf.size())) return false;
  return tx(c).send(c, bytes_view(buf.data(), r.needed));
}

output::out_run* output::open(conn_id c, out_run* r, size_t n) {
  if (r != nullptr) {
    t_.commit(c, static_cast<size_t>(r->at - r->begin));  // full: this one goes on in a new run
  } else if (open_runs_ < kOpenRuns) {
    r = &runs_[open_runs_++];
  } else {
    r = &runs_[next_evict_];
    next_evict_ = (next_evict_ + 1) % kOpenRuns;
    t_.commit(r->c, static_cast<size_t>(r->at - r->begin));
  }
  const std::span<std::byte> out = t_.reserve_run(c, n, kRunBytes);
  if (out.size() < n) {
    *r = runs_[--open_runs_];  // the queue refused: no run for c
    runs_[open_runs_] = {};
    return nullptr;
  }
  *r = {c, out.data(), out.data(), out.data() + out.size()};
  return r;
}

void output::settle(conn_id c) noexcept {
  for (uint32_t i = 0; i < open_runs_; ++i) {
    if (runs_[i].c != c) continue;
    t_.commit(c, static_cast<size_t>(runs_[i].at - runs_[i].begin));
    runs_[i] = runs_[--open_runs_];
    runs_[open_runs_] = {};
    return;
  }
}

void output::settle_all() noexcept {
  for (uint32_t i = 0; i < open_runs_; ++i) {
    t_.commit(runs_[i].c, static_cast<size_t>(runs_[i].at - runs_[i].begin));
    runs_[i] = {};
  }
  open_runs_ = 0;
}

}  // namespace smpp::dataplane::router
