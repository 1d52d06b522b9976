#include "deliveries.hpp"

#include <algorithm>

#include "pdu_facts.hpp"

namespace smpp::dataplane::router {

using S = codec::command_status;

deliveries::deliveries(worker_context& ctx, handoff_port& port, answers& back, store_waits& waits)
    : ctx_(ctx), port_(port), back_(back), waits_(waits) {
  if (ctx.shared != nullptr && ctx.index < ctx.shared->journals.size()) {
    journal_ = ctx.shared->journals[ctx.index];
  }
  adopt();
}

uint64_t deliveries::store_held(uint32_t tenant, bytes_view frame, return_to& ret) {
  store::held_record rec;
  rec.id = next_store_id_;
  rec.received_ms = ctx_.wall_ms;
  rec.tenant = static_cast<uint16_t>(tenant);
  rec.kind = ret.mo ? store::held_kind::mo : store::held_kind::receipt;
  rec.pdu = frame;
  const uint64_t mark = journal_->append(rec);
  if (mark == 0) {
    ++ctx_.stats.store_unjournaled;
    return 0;
  }
  ++ctx_.stats.store_records;
  ret.store_shard = ctx_.index;
  ret.store_id = next_store_id_++;
  return mark;
}

void deliveries::end_custody(const return_to& ret) {
  if (ret.store_id == 0) return;
  if (ret.store_shard == ctx_.index || !ctx_.meshed()) {
    held_done(ret.store_id);
    return;
  }
  handoff_header h;
  h.kind = handoff_header::held_done;
  h.store_shard = ret.store_shard;
  h.store_id = ret.store_id;
  port_.push(ret.store_shard, h, {});  // deferred, never dropped, when the ring is full
}

void deliveries::held_done(uint64_t store_id) {
  if (journal_ == nullptr) return;
  ++(journal_->append(store::held_done_record{store_id}) != 0 ? ctx_.stats.store_records
                                                              : ctx_.stats.store_unjournaled);
}

void deliveries::restore(const store::held_record& held) {
  if (held.tenant >= holds_.size() || held.pdu.empty()) return;  // a tenant no longer there
  return_to ret;
  ret.worker = ctx_.index;
  ret.conn = invalid_conn;
  ret.id = static_cast<codec::command_id>(codec::peek_header(held.pdu.data()).command_id);
  ret.tenant = held.tenant;
  ret.mo = held.kind == store::held_kind::mo;
  ret.store_shard = ctx_.index;
  ret.store_id = held.id;
  next_store_id_ = std::max(next_store_id_, held.id + 1);
  holds_[held.tenant].push_back(held_message{
      ctx_.now_ms + ctx_.cfg().tenants[held.tenant].hold_ttl_ms, ret, frame_copy(held.pdu)});
  publish_held(held.tenant);
  ++held_total_;
  ctx_.counters.count_return(ret, &return_counters::held);
  ++ctx_.stats.store_recovered_held;
}

void deliveries::adopt() {
  const size_t tenants = ctx_.cfg().tenants.size();
  receivers_.resize(tenants);
  next_receiver_.resize(tenants);
  receiver_turn_us_.resize(tenants);
  holds_.resize(tenants);
  last_ack_ms_.resize(tenants);
}

void deliveries::to_tenant(uint32_t tenant, bytes_view frame, const return_to& ret,
                           uint64_t hold_until_ms) {
  if (ret.conn != invalid_conn && !holds_[tenant].empty()) {
    // Behind the ones already waiting, for busy receivers or for the first receiver to bind.
    const bool receivers = receivers_anywhere(tenant);
    if (receivers) ++ctx_.stats.deliver_busy;
    hold(tenant, frame, ret, hold_until_ms, receivers ? S::ESME_RTHROTTLED : S::ESME_RX_T_APPN);
    return;
  }
  bool busy = false;
  if (deliver_local(tenant, frame, ret, hold_until_ms, busy)) return;
  if (ctx_.meshed() && ctx_.shared != nullptr) {
    for (uint32_t k = 1; k < ctx_.workers; ++k) {
      const uint32_t w = (ctx_.index + k) % ctx_.workers;
      const size_t at = tenant * ctx_.workers + w;
      if (ctx_.shared->receivers[at].load(std::memory_order_relaxed) == 0) continue;
      if (ctx_.shared->held[at].load(std::memory_order_relaxed) > holds_[tenant].size()) {
        // Its receivers are busy with a longer queue than this worker's: the message waits
        // here, where this worker's bind is held back at once if it has to be, rather than in
        // flight to a queue that could only refuse it.
        busy = true;
        continue;
      }
      handoff_header h = return_header(handoff_header::deliver, ret);
      h.tenant = tenant;
      h.hold_ms = static_cast<uint32_t>(std::min<uint64_t>(
          hold_until_ms > ctx_.now_ms ? hold_until_ms - ctx_.now_ms : 0, UINT32_MAX));
      if (port_.try_push(w, h, frame)) return;
      busy = true;
    }
  }
  if (busy) {
    // Receivers are bound but their windows are full: the message waits in the hold queue,
    // which they drain as they answer; when that is full too the SMSC slows down.
    ++ctx_.stats.deliver_busy;
    hold(tenant, frame, ret, hold_until_ms, S::ESME_RTHROTTLED);
    return;
  }
  hold(tenant, frame, ret, hold_until_ms, S::ESME_RX_T_APPN);
}

void deliveries::from_worker(const handoff_header& h, bytes_view frame) {
  bool busy = false;
  const return_to ret = return_of(h);
  const uint64_t until = ctx_.now_ms + h.hold_ms;
  if (!deliver_local(h.tenant, frame, ret, until, busy)) {
    // Its receivers went away or are full meanwhile.
    hold(h.tenant, frame, ret, until, busy ? S::ESME_RTHROTTLED : S::ESME_RX_T_APPN);
  }
}

bool deliveries::deliver_local(uint32_t tenant, bytes_view frame, const return_to& ret,
                               uint64_t hold_until_ms, bool& busy) {
  if (tenant >= receivers_.size()) return false;
  auto& list = receivers_[tenant];
  const size_t n = list.size();
  if (n == 0) return false;
  // Spread over the tenant's receivers one turn each: what a turn delivers goes to one receiver
  // (the next one once its window is full) in one write, rather than each message to the next
  // receiver, which split every read of a bind into a thin write per receiver and so as many
  // reads at each ESME, for the same octets.
  if (receiver_turn_us_[tenant] != ctx_.now_us) {
    receiver_turn_us_[tenant] = ctx_.now_us;
    next_receiver_[tenant] = static_cast<uint32_t>((next_receiver_[tenant] + 1) % n);
  }
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (next_receiver_[tenant] + k) % n;
    esme_session* s = ctx_.conns.esme(list[i]);
    if (s == nullptr) continue;
    if (s->out.count() >= ctx_.cfg().tenants[tenant].deliver_window) {
      busy = true;  // its deliver window is full
      continue;
    }
    const uint32_t seq = s->out.take_seq();
    if (!ctx_.out.relay(s->conn, frame, seq)) {
      busy = true;  // it stopped reading
      continue;
    }
    auto& o = s->out.open(seq, ctx_.now_ms + ctx_.cfg().timers.response_ms);
    o.ret = ret;
    o.hold_until_ms = hold_until_ms;
    if (ret.conn == invalid_conn) {
      o.frame.assign(frame.begin(), frame.end());  // acknowledged upstream already: keep it
    } else {
      o.frame.clear();
    }
    s->last_traffic_ms = ctx_.now_ms;
    next_receiver_[tenant] = static_cast<uint32_t>(i);
    ++ctx_.stats.delivered;
    return true;
  }
  return false;
}

void deliveries::hold(uint32_t tenant, bytes_view frame, const return_to& ret,
                      uint64_t hold_until_ms, codec::command_status full_status) {
  auto& q = holds_[tenant];
  const size_t cap = hold_cap(tenant);
  if (ret.conn != invalid_conn) {
    // A new message: taken into custody only within the bound.
    const bool full = q.size() >= cap;
    if (hold_until_ms <= ctx_.now_ms ||
        (full && !(full_status == S::ESME_RTHROTTLED && hold_back(tenant, ret, cap)))) {
      ++ctx_.stats.hold_full;
      back_.to_upstream(ret, full_status);  // the SMSC keeps it and retries later
      return;
    }
    if (journal_ != nullptr) {
      // Custody is taken only once the message is in the store: the SMSC's ESME_ROK waits for
      // it, and a message the journal has no room for stays with the SMSC.
      return_to kept = ret;
      const uint64_t mark = journal_->failing() ? 0 : store_held(tenant, frame, kept);
      if (mark == 0) {
        ++ctx_.stats.hold_full;
        back_.to_upstream(ret, full_status);
        return;
      }
      waits_.upstream_answer(mark, ret, S::ESME_ROK);
      q.push_back(held_message{hold_until_ms, kept.acknowledged(), frame_copy(frame)});
      publish_held(tenant);
      ++held_total_;
      ctx_.counters.count_return(ret, &return_counters::held);
      ++ctx_.stats.held;
      return;
    }
    back_.to_upstream(ret, S::ESME_ROK);
  }
  // A message that came back (its delivery failed) was acknowledged upstream long ago and is
  // kept even above the bound: the bound already counted it when it was first held.
  q.push_back(held_message{hold_until_ms, ret.acknowledged(), frame_copy(frame)});
  publish_held(tenant);
  ++held_total_;
  ctx_.counters.count_return(ret, &return_counters::held);
  ++ctx_.stats.held;
}

bool deliveries::answering(uint32_t tenant) const noexcept {
  // Receivers that answered within the last second (on this worker or another) are draining
  // the queue; ones that did not must not stall a bind other tenants share.
  constexpr uint64_t answering_ms = 1000;
  uint64_t last = last_ack_ms_[tenant];
  if (ctx_.shared != nullptr && tenant < ctx_.shared->receiver_ack_ms.size())
    last = std::max(last, ctx_.shared->receiver_ack_ms[tenant].load(std::memory_order_relaxed));
  return last != 0 && ctx_.now_ms <= last + answering_ms;  // 0: never answered
}

bool deliveries::receivers_anywhere(uint32_t tenant) const noexcept {
  if (!receivers_[tenant].empty()) return true;
  const shared_state* sh = ctx_.shared;
  for (uint32_t w = 0; sh != nullptr && ctx_.meshed() && w < ctx_.workers; ++w) {
    if (sh->receivers[tenant * ctx_.workers + w].load(std::memory_order_relaxed) > 0) return true;
  }
  return false;
}

void deliveries::publish_held(uint32_t tenant) noexcept {
  if (ctx_.shared == nullptr) return;
  const size_t at = tenant * ctx_.workers + ctx_.index;
  if (at < ctx_.shared->held.size()) {
    ctx_.shared->held[at].store(static_cast<uint32_t>(holds_[tenant].size()),
                                std::memory_order_relaxed);
  }
}

size_t deliveries::hold_cap(uint32_t tenant) const noexcept {
  return (ctx_.cfg().tenants[tenant].hold_max + ctx_.workers - 1) / ctx_.workers;
}

bool deliveries::hold_back(uint32_t tenant, const return_to& ret, size_t cap) {
  // Receivers that answered within the last second are draining the queue; ones that did not
  // must not stall a bind other tenants share: the SMSC is refused instead.
  // One handed over by another worker was read before that worker saw this queue fill: what it
  // can have in flight is kept beyond. That is a ring's worth (a message takes a cell or more)
  // and the rest of the read it was in when it held its bind back (return_path, upstream_side:
  // kept in its port, a 64 KiB read holds fewer PDUs than the 8192 cells of a ring): twice the
  // cells of a ring.
  const size_t in_flight =
      ret.worker != ctx_.index && ctx_.mesh != nullptr ? 2 * ctx_.mesh->cells_per_ring() : 0;
  if (holds_[tenant].size() >= 2 * cap + in_flight || !answering(tenant)) return false;
  const bool listed = std::any_of(held_back_.begin(), held_back_.end(), [&](const auto& b) {
    return b.tenant == tenant && b.bind.worker == ret.worker && b.bind.conn == ret.conn;
  });
  if (!listed) {
    held_back_.push_back({tenant, ret});
    back_.hold_back_upstream(ret, true);
  }
  return true;
}

void deliveries::release_held_back() {
  for (size_t i = 0; i < held_back_.size();) {
    const held_back_bind& b = held_back_[i];
    if (holds_[b.tenant].size() > hold_cap(b.tenant) / 2 && answering(b.tenant)) {
      ++i;
      continue;
    }
    back_.hold_back_upstream(b.bind, false);
    held_back_[i] = held_back_.back();
    held_back_.pop_back();
  }
}

std::vector<std::byte> deliveries::frame_copy(bytes_view frame) {
  if (spare_frames_.empty()) return {frame.begin(), frame.end()};
  std::vector<std::byte> v = std::move(spare_frames_.back());
  spare_frames_.pop_back();
  v.assign(frame.begin(), frame.end());
  return v;
}

void deliveries::recycle(std::vector<std::byte>&& frame) {
  // Bounded: kSpareFrames buffers of at most kSpareFrameBytes each.
  if (frame.capacity() == 0 || frame.capacity() > kSpareFrameBytes ||
      spare_frames_.size() >= kSpareFrames) {
    return;
  }
  frame.clear();
  spare_frames_.push_back(std::move(frame));
}

void deliveries::pop_held(uint32_t tenant) {
  const return_to ret = holds_[tenant].front().ret;
  recycle(std::move(holds_[tenant].front().frame));
  holds_[tenant].pop_front();
  publish_held(tenant);
  --held_total_;
  count_unheld(ret);
}

void deliveries::count_unheld(const return_to& ret) noexcept {
  if (ret.tenant < ctx_.counters.tenants().size()) {
    auto& t = ctx_.counters.tenant(ret.tenant);
    --(ret.mo ? t.mo : t.receipts).held;
  }
  if (ret.upstream < ctx_.counters.upstreams().size()) {
    auto& u = ctx_.counters.upstream(ret.upstream);
    --(ret.mo ? u.mo : u.receipts).held;
  }
}

void deliveries::on_answer(esme_session& s, const codec::pdu_header& h) {
  esme_session::outbound* found = s.out.find(h.sequence_number);
  if (found == nullptr) return;  // not ours, or answered after its timeout
  esme_session::outbound& o = *found;
  s.out.close(o);
  const auto status = static_cast<S>(h.command_status);
  ++(status == S::ESME_ROK ? ctx_.stats.deliver_acked : ctx_.stats.deliver_failed);
  if (status == S::ESME_ROK) {
    ctx_.counters.count_return(o.ret, &return_counters::delivered);
    if (last_ack_ms_[s.tenant] != ctx_.now_ms) {
      last_ack_ms_[s.tenant] = ctx_.now_ms;
      if (ctx_.shared != nullptr && s.tenant < ctx_.shared->receiver_ack_ms.size())
        ctx_.shared->receiver_ack_ms[s.tenant].store(ctx_.now_ms, std::memory_order_relaxed);
    }
  }
  if (o.ret.conn != invalid_conn) {
    back_.to_upstream(o.ret, status);  // the ESME's answer goes to the SMSC as it is
  } else if (status != S::ESME_ROK && temporary(status)) {
    hold(s.tenant, o.frame, o.ret, o.hold_until_ms, S::ESME_RX_T_APPN);
  } else {
    if (status != S::ESME_ROK) {
      ctx_.counters.count_return(o.ret, &return_counters::failed);  // refused for good
    }
    end_custody(o.ret);
  }
  o.frame.clear();
  // Its window has room again: messages waiting for the tenant go now, oldest first.
  auto& q = holds_[s.tenant];
  for (int budget = 4; budget > 0 && !q.empty(); --budget) {
    bool busy = false;
    if (q.front().until_ms <= ctx_.now_ms) {
      ++ctx_.stats.hold_expired;
      ctx_.counters.count_return(q.front().ret, &return_counters::expired);
      end_custody(q.front().ret);
    } else if (!deliver_local(s.tenant, q.front().frame, q.front().ret, q.front().until_ms, busy)) {
      break;
    }
    pop_held(s.tenant);
  }
  if (!held_back_.empty() && q.size() <= hold_cap(s.tenant) / 2) release_held_back();
}

void deliveries::fail(esme_session& s, bool all_of_them) {
  s.out.sweep(ctx_.now_ms, all_of_them, [&](esme_session::outbound& o) {
    ++ctx_.stats.deliver_failed;
    if (o.ret.conn != invalid_conn) {
      back_.to_upstream(o.ret, S::ESME_RX_T_APPN);
    } else {
      hold(s.tenant, o.frame, o.ret, o.hold_until_ms, S::ESME_RX_T_APPN);
    }
    o.frame.clear();
  });
}

void deliveries::drain_holds() {
  if (!held_back_.empty()) release_held_back();
  if (held_total_ == 0) return;
  for (uint32_t t = 0; t < holds_.size(); ++t) {
    auto& q = holds_[t];
    while (!q.empty() && q.front().until_ms <= ctx_.now_ms) {
      ++ctx_.stats.hold_expired;
      ctx_.counters.count_return(q.front().ret, &return_counters::expired);
      end_custody(q.front().ret);
      pop_held(t);
    }
    if (q.empty()) continue;
    const bool anywhere = receivers_anywhere(t);
    // A bounded batch per tick, oldest first; what cannot go now waits for the next tick.
    for (int budget = 256; anywhere && budget > 0 && !q.empty(); --budget) {
      held_message m = std::move(q.front());
      pop_held(t);
      const size_t before = held_total_;
      to_tenant(t, m.frame, m.ret, m.until_ms);
      recycle(std::move(m.frame));
      if (held_total_ > before) break;  // it came straight back: nobody can take it now
    }
  }
}

void deliveries::receiver_bound(esme_session& s, bool bound) {
  if (s.receiver == bound || s.tenant >= receivers_.size()) return;
  s.receiver = bound;
  auto& list = receivers_[s.tenant];
  if (bound) {
    list.push_back(s.conn);
    if (!s.out.sized()) s.out.size_for(ctx_.cfg().tenants[s.tenant].deliver_window);
  } else {
    list.erase(std::remove(list.begin(), list.end(), s.conn), list.end());
  }
  if (ctx_.shared != nullptr && !ctx_.shared->receivers.empty()) {
    auto& n = ctx_.shared->receivers[s.tenant * ctx_.workers + ctx_.index];
    if (bound) {
      n.fetch_add(1, std::memory_order_relaxed);
    } else {
      n.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace smpp::dataplane::router
