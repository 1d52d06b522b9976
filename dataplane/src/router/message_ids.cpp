#include "message_ids.hpp"

#include "smpp/dataplane/store_keys.hpp"

#include <algorithm>

namespace smpp::dataplane::router {

message_ids::message_ids(worker_context& ctx, handoff_port& port)
    : ctx_(ctx),
      port_(port),
      secret_(ctx.shared != nullptr ? ctx.shared->secret : correlation_secret{}),
      table_(correlation_shard_capacity(ctx.cfg().correlation.capacity, ctx.workers),
             ctx.cfg().correlation.ttl_ms, 0x9E3779B97F4A7C15ULL ^ ctx.index,
             correlation_shard_capacity(ctx.cfg().correlation.final_capacity, ctx.workers),
             ctx.cfg().correlation.keep_final_ms) {
  pending_.reserve(256);
  forgotten_.reserve(256);
  set_radices();
  if (ctx.shared != nullptr && ctx.index < ctx.shared->journals.size()) {
    journal_ = ctx.shared->journals[ctx.index];
  }
  if (journal_ != nullptr) {
    sent_.assign(ctx.workers, 0);
    journaled_.assign(ctx.workers, 0);
    checkpoint_marks_.assign(checkpoint_max, 0);
    checkpoint_counts_.assign(checkpoint_max * ctx.workers, 0);
  }
}

void message_ids::set_radices() {
  op_radices_.assign(1, codec::id_radix::auto_detect);
  for (const upstream_def& u : ctx_.cfg().upstreams) {
    if (std::find(op_radices_.begin(), op_radices_.end(), u.submit_id_radix) == op_radices_.end())
      op_radices_.push_back(u.submit_id_radix);
  }
}

void message_ids::adopt() {
  set_radices();
}

uint32_t message_ids::owner(const correlation_key& key) const noexcept {
  if (ctx_.workers == 1 || !ctx_.meshed()) return ctx_.index;
  return static_cast<uint32_t>(correlation_owner(key, ctx_.workers));
}

std::optional<note_wait> message_ids::note(uint32_t upstream, uint32_t tenant,
                                           std::string_view message_id) {
  if (message_id.empty() || upstream >= ctx_.cfg().upstreams.size()) return std::nullopt;
  const correlation_key_result k =
      make_correlation_key(message_id, ctx_.cfg().upstreams[upstream].submit_id_radix, secret_);
  if (!k.ok()) return std::nullopt;
  if (const uint32_t to = owner(k.key); to != ctx_.index) {
    handoff_header h;
    h.kind = handoff_header::correlate;
    h.origin = ctx_.index;
    h.upstream = upstream;
    h.tenant = tenant;
    port_.push(
        to, h,
        bytes_view(reinterpret_cast<const std::byte*>(message_id.data()), message_id.size()));
    if (journal_ == nullptr) return std::nullopt;
    return note_wait{to, ++sent_[to]};
  }
  take_note(ctx_.index, upstream, tenant, message_id);
  if (journal_ == nullptr) return std::nullopt;
  return note_wait{ctx_.index, ++sent_[ctx_.index]};
}

void message_ids::note_from(uint32_t source, uint32_t upstream, uint32_t tenant,
                            std::string_view message_id) {
  if (source >= ctx_.workers) source = ctx_.index;
  take_note(source, upstream, tenant, message_id);
}

void message_ids::take_note(uint32_t source, uint32_t upstream, uint32_t tenant,
                            std::string_view message_id) {
  correlation_key_result k{codec::receipt_error::invalid_id, {}};
  if (!message_id.empty() && upstream < ctx_.cfg().upstreams.size()) {
    k = make_correlation_key(message_id, ctx_.cfg().upstreams[upstream].submit_id_radix, secret_);
  }
  if (!k.ok()) {
    // The source counted it as sent (it could not tell): it counts as stored, with nothing in it.
    if (journal_ != nullptr) {
      ++journaled_[source];
      checkpoint_due_ = true;
    }
    return;
  }
  const correlation_value v{static_cast<uint16_t>(upstream), static_cast<uint16_t>(tenant),
                            static_cast<uint32_t>(ctx_.now_ms / 1000)};
  table_.prefetch(k.key);
  pending_.push_back({k.key, v, source});
  if (pending_.size() == pending_.capacity()) flush_notes();
}

void message_ids::flush() {
  flush_notes();  // an id noted and forgotten within one turn goes after its note
  flush_forgotten();
}

void message_ids::journal_note(const store::note_record& rec, uint32_t source) {
  if (backlog_.empty() && journal_->append(rec) != 0) {
    ++ctx_.stats.store_records;
    ++journaled_[source];
    return;
  }
  if (journal_->failing()) {
    // The store fails (disk full, I/O errors): submits keep flowing with their ids in memory
    // only, counted, rather than every answer waiting for a disk that may not come back.
    ++ctx_.stats.store_unjournaled;
    ++journaled_[source];
    return;
  }
  // The journal is behind: the note waits its turn (in order) and so does its answer, which
  // holds the ESME's window: back-pressure, not a note the store never had.
  backlog_.push_back({rec, source});
}

void message_ids::retry_backlog() {
  size_t done = 0;
  for (; done < backlog_.size(); ++done) {
    const auto& [rec, source] = backlog_[done];
    if (journal_->append(rec) != 0) {
      ++ctx_.stats.store_records;
    } else if (journal_->failing()) {
      ++ctx_.stats.store_unjournaled;
    } else {
      break;
    }
    ++journaled_[source];
  }
  if (done == 0) return;
  backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<std::ptrdiff_t>(done));
  checkpoint_due_ = true;
}

void message_ids::flush_notes() {
  if (journal_ != nullptr && !backlog_.empty()) retry_backlog();
  if (pending_.empty()) {
    if (checkpoint_due_) checkpoint();
    return;
  }
  table_.prefetch_evictions(pending_.size());
  for (const auto& [key, value, source] : pending_) {
    std::optional<correlation_value> evicted;
    uint32_t refs = 1;
    const correlation_insert r = table_.insert(key, value, ctx_.now_ms, &evicted, &refs);
    if (journal_ != nullptr) {
      // Into the store in the same order as into the table, with the entry's references (an id
      // two messages share is noted twice; the store keeps the latest note of an entry) in the
      // note's tag.
      journal_note({store_key(key, value.upstream),
                    ctx_.wall_ms,
                    value.tenant,
                    value.upstream,
                    refs,
                    {},
                    {}},
                   source);
    }
    if (r != correlation_insert::probe_limit) ++ctx_.stats.correlation_inserts;
    if (evicted) {
      // The oldest made room: should its receipt still come, it is counted as unmatched.
      ++ctx_.stats.correlation_evicted;
      ++ctx_.counters.tenant(evicted->tenant).ids_evicted;
      ++ctx_.counters.upstream(evicted->upstream).ids_evicted;
    }
  }
  pending_.clear();
  if (journal_ != nullptr) checkpoint();
}

void message_ids::checkpoint() {
  checkpoint_due_ = false;
  const size_t n = ctx_.workers;
  size_t at = 0;
  if (checkpoint_count_ == checkpoint_max) {
    at = (checkpoint_head_ + checkpoint_count_ - 1) % checkpoint_max;  // merged into the newest
  } else {
    at = (checkpoint_head_ + checkpoint_count_) % checkpoint_max;
    ++checkpoint_count_;
  }
  checkpoint_marks_[at] = journal_->written();
  std::copy(journaled_.begin(), journaled_.end(), checkpoint_counts_.begin() + at * n);
}

void message_ids::publish_stored() {
  if (checkpoint_count_ == 0) return;
  const uint64_t durable = journal_->durable();
  const size_t n = ctx_.workers;
  const uint64_t* last = nullptr;
  while (checkpoint_count_ != 0 && checkpoint_marks_[checkpoint_head_] <= durable) {
    last = &checkpoint_counts_[checkpoint_head_ * n];
    checkpoint_head_ = (checkpoint_head_ + 1) % checkpoint_max;
    --checkpoint_count_;
  }
  if (last == nullptr) return;
  for (size_t source = 0; source < n; ++source) {
    // release: the answer a source lets go after this was stored before it.
    ctx_.shared->notes_stored[ctx_.index * n + source].store(last[source],
                                                             std::memory_order_release);
  }
}

void message_ids::receipt_arrived(const correlation_key& key, uint32_t upstream,
                                  uint8_t message_state) {
  if (journal_ == nullptr) return;
  const store::receipt_record rec{store_key(key, upstream), ctx_.wall_ms,
                                  static_cast<uint16_t>(upstream),
                                  static_cast<store::receipt_state>(message_state), false};
  ++(journal_->append(rec) != 0 ? ctx_.stats.store_records : ctx_.stats.store_unjournaled);
}

void message_ids::restore(const store::note_record& note) {
  const correlation_key key = table_key(note.key, note.upstream);
  const correlation_value v{note.upstream, note.tenant, static_cast<uint32_t>(ctx_.now_ms / 1000)};
  // As many references as the entry had when it was last noted (its tag).
  for (uint32_t i = 0; i < std::max<uint32_t>(note.tag, 1); ++i) {
    std::optional<correlation_value> evicted;
    if (table_.insert(key, v, ctx_.now_ms, &evicted) == correlation_insert::probe_limit) return;
    if (evicted) ++ctx_.stats.correlation_evicted;
  }
  ++ctx_.stats.store_recovered_notes;
}

void message_ids::forget(const correlation_key& key, uint32_t upstream) {
  if (const uint32_t to = owner(key); to != ctx_.index) {
    handoff_header h;
    h.kind = handoff_header::forget;
    h.upstream = upstream;
    h.key_lo = key.lo;
    h.key_hi = key.hi;
    port_.push(to, h, {});
    return;
  }
  // The answer to a receipt comes a round trip after the receipt's lookup: its index slot has
  // left the caches by then.
  table_.prefetch(key);
  forgotten_.push_back({key, static_cast<uint16_t>(upstream)});
  if (forgotten_.size() == forgotten_.capacity()) flush();
}

void message_ids::flush_forgotten() {
  table_.prefetch_final_evictions(forgotten_.size());
  for (const auto& [key, up] : forgotten_) {
    // An id two messages share (an SMSC whose ids two radices read alike) stays for the other.
    // Its last release makes it final (kept keep_final_s for query_sm) or frees it.
    bool ended = false;
    const std::optional<correlation_value> v = table_.release(key, up, ctx_.now_ms, ended);
    if (v && ended) {
      ++ctx_.stats.correlation_final;
      if (journal_ != nullptr) {
        const store::final_record rec{store_key(key, up), ctx_.wall_ms, up};
        ++(journal_->append(rec) != 0 ? ctx_.stats.store_records : ctx_.stats.store_unjournaled);
      }
    }
  }
  forgotten_.clear();
}

correlation_key_result message_ids::receipt_key(uint32_t upstream,
                                                std::string_view message_id) const {
  if (upstream >= ctx_.cfg().upstreams.size())
    return correlation_key_result{codec::receipt_error::invalid_id, {}};
  return make_correlation_key(message_id, ctx_.cfg().upstreams[upstream].receipt_id_radix, secret_);
}

correlation_key_result message_ids::op_key(std::string_view message_id, uint32_t attempt) const {
  return make_correlation_key(message_id, op_radices_[attempt], secret_);
}

std::optional<correlation_value> message_ids::find(const correlation_key& key, uint32_t upstream) {
  // A receipt may follow its answer within the same read, as most do when the SMSC sends it at
  // once: a short batch of notes is looked through instead of being inserted now, when the
  // prefetch of its slots has only just been issued. A long batch has had time; it goes in.
  if (pending_.size() <= pending_scan_max) {
    for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
      if (it->key == key && it->value.upstream == upstream) return it->value;
    }
  } else {
    flush_notes();
  }
  return table_.find(key, static_cast<uint16_t>(upstream), ctx_.now_ms);
}

std::optional<correlation_value> message_ids::find_for_tenant(const correlation_key& key,
                                                              uint32_t tenant) {
  flush();
  return table_.find_for_tenant(key, static_cast<uint16_t>(tenant), ctx_.now_ms);
}

void message_ids::expire() {
  (void)table_.expire(ctx_.now_ms, 128);
}

}  // namespace smpp::dataplane::router
