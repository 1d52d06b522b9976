#include "handoff_port.hpp"

#include <cstring>

namespace smpp::dataplane::router {

namespace {

// Lays h and payload out over cells (pdu_len set from the payload).
void pack(handoff_header h, bytes_view payload, handoff_cell* cells) noexcept {
  h.pdu_len = static_cast<uint32_t>(payload.size());
  auto* raw = reinterpret_cast<std::byte*>(cells);
  std::memcpy(raw, &h, sizeof h);
  if (!payload.empty()) std::memcpy(raw + sizeof h, payload.data(), payload.size());
}

}  // namespace

handoff_port::handoff_port(worker_context& ctx) : ctx_(ctx) {
  cells_.resize(handoff_cells(ctx.cfg().max_command_length));
  inbox_.resize(cells_.size() * sizeof(handoff_cell));
}

bool handoff_port::try_push(uint32_t to, handoff_header h, bytes_view payload) {
  const size_t n = handoff_cells(payload.size());
  if (n > cells_.size()) return false;
  auto& ring = ctx_.mesh->ring(ctx_.index, to);
  // Producer side: size() can only overestimate, so the room we see is really there and the
  // burst below takes every cell at once.
  if (ring.capacity() - ring.size() < n) return false;
  pack(h, payload, cells_.data());
  return ring.push_burst(std::span<const handoff_cell>(cells_.data(), n)) == n;
}

bool handoff_port::push(uint32_t to, handoff_header h, bytes_view payload) {
  if (deferred_.empty() && try_push(to, h, payload)) return true;
  ++ctx_.stats.answers_deferred;
  deferred d{to, std::vector<handoff_cell>(handoff_cells(payload.size()))};
  pack(h, payload, d.cells.data());
  deferred_.push_back(std::move(d));
  return false;
}

int handoff_port::drain(handler& to) {
  // What waited for room goes first, in order.
  size_t sent = 0;
  for (; sent < deferred_.size(); ++sent) {
    auto& d = deferred_[sent];
    auto& ring = ctx_.mesh->ring(ctx_.index, d.to);
    if (ring.capacity() - ring.size() < d.cells.size()) break;
    if (ring.push_burst(d.cells) != d.cells.size()) break;
  }
  deferred_.erase(deferred_.begin(), deferred_.begin() + static_cast<ptrdiff_t>(sent));

  int handled = 0;
  for (uint32_t from = 0; from < ctx_.workers; ++from) {
    if (from == ctx_.index) continue;
    auto& ring = ctx_.mesh->ring(from, ctx_.index);
    for (int budget = 0; budget < 64; ++budget) {
      handoff_cell first;
      if (!ring.try_pop(first)) break;
      handoff_header h;
      std::memcpy(&h, first.bytes.data(), sizeof h);
      const size_t n = handoff_cells(h.pdu_len);
      std::memcpy(inbox_.data(), first.bytes.data(), sizeof first.bytes);
      for (size_t got = 1; got < n;) {
        // The producer published every cell of the message in one burst.
        got += ring.pop_burst(
            std::span<handoff_cell>(reinterpret_cast<handoff_cell*>(inbox_.data()) + got, n - got));
      }
      ++handled;
      to.on_message(h, bytes_view(inbox_.data() + sizeof h, h.pdu_len));
    }
  }
  return handled;
}

bool handoff_port::idle() const noexcept {
  if (!deferred_.empty()) return false;
  if (!ctx_.meshed()) return true;
  for (uint32_t from = 0; from < ctx_.workers; ++from) {
    if (from != ctx_.index && !ctx_.mesh->ring(from, ctx_.index).empty()) return false;
  }
  return true;
}

}  // namespace smpp::dataplane::router
