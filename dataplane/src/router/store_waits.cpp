#include "store_waits.hpp"

#include <algorithm>
#include <cstring>

namespace smpp::dataplane::router {

store_waits::store_waits(worker_context& ctx, answers& back) : ctx_(ctx), back_(back) {}

template <typename T>
void store_waits::push(std::vector<T>& ring, size_t& head, size_t& count, T&& item) {
  if (count == ring.size()) {
    // Full: unroll into a vector twice the size, oldest first.
    std::vector<T> bigger(ring.empty() ? 1024 : ring.size() * 2);
    for (size_t i = 0; i < count; ++i) bigger[i] = std::move(ring[(head + i) % ring.size()]);
    ring.swap(bigger);
    head = 0;
  }
  ring[(head + count) % ring.size()] = std::move(item);
  ++count;
}

void store_waits::esme_answer(const note_wait& wait, const handoff_header& request,
                              codec::command_status status, bytes_view frame) {
  esme_entry e;
  e.wait = wait;
  e.request = request;
  e.status = status;
  e.frame_len = static_cast<uint32_t>(frame.size());
  if (frame.size() <= inline_frame_bytes) {
    // memcpy only when there is something: an empty answer's view may be null.
    if (!frame.empty()) std::memcpy(e.frame.data(), frame.data(), frame.size());
  } else {
    e.long_frame.resize(frame.size());
    std::memcpy(e.long_frame.data(), frame.data(), frame.size());
  }
  push(esme_, esme_head_, esme_count_, std::move(e));
  ++ctx_.stats.answers_waiting_for_store;
}

void store_waits::upstream_answer(uint64_t mark, const return_to& ret,
                                  codec::command_status status) {
  push(upstream_, upstream_head_, upstream_count_, upstream_entry{mark, ret, status});
  ++ctx_.stats.answers_waiting_for_store;
}

int store_waits::release() {
  int released = 0;
  const shared_state* sh = ctx_.shared;
  while (esme_count_ != 0) {
    esme_entry& e = esme_[esme_head_];
    const uint64_t stored =
        sh->notes_stored[e.wait.owner * ctx_.workers + ctx_.index].load(std::memory_order_acquire);
    // A store that fails (disk full, I/O errors) does not stop submits: their ids are kept in
    // memory only (counted) and the answers go.
    if (stored < e.wait.count) {
      if (!sh->journals[e.wait.owner]->failing()) break;
      ++ctx_.stats.store_unjournaled;
    }
    const bytes_view frame = e.frame_len <= inline_frame_bytes
                                 ? bytes_view(e.frame.data(), e.frame_len)
                                 : bytes_view(e.long_frame.data(), e.long_frame.size());
    if (back_.to_esme(e.request, e.status, frame)) ++ctx_.stats.resp_relayed;
    e.long_frame = {};
    esme_head_ = (esme_head_ + 1) % esme_.size();
    --esme_count_;
    ++released;
  }
  if (upstream_count_ != 0) {
    const uint64_t durable = sh->journals[ctx_.index]->durable();
    while (upstream_count_ != 0) {
      const upstream_entry& e = upstream_[upstream_head_];
      if (durable < e.mark) break;
      back_.to_upstream(e.ret, e.status);
      upstream_head_ = (upstream_head_ + 1) % upstream_.size();
      --upstream_count_;
      ++released;
    }
  }
  return released;
}

}  // namespace smpp::dataplane::router
