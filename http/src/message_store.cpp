// The bounded table of API messages and their parts' way through the SMSC.
#include "smpp/http/message_store.hpp"

#include <utility>

namespace smpp::http {
namespace {

std::string receipt_key(std::string_view smsc_message_id, codec::id_radix radix) {
  const auto k = codec::normalize_message_id(smsc_message_id, radix);
  return k.ok() ? std::string(k.key.view()) : std::string(smsc_message_id);
}

bool temporary(codec::command_status s) {
  return s == codec::command_status::ESME_RTHROTTLED || s == codec::command_status::ESME_RMSGQFUL;
}

}  // namespace

std::string_view to_string(message_state s) noexcept {
  switch (s) {
    case message_state::queued:
      return "queued";
    case message_state::submitted:
      return "submitted";
    case message_state::accepted:
      return "accepted";
    case message_state::delivered:
      return "delivered";
    case message_state::failed:
      return "failed";
    case message_state::expired:
      return "expired";
    case message_state::rejected:
      return "rejected";
  }
  return "unknown";
}

bool is_final(message_state s, bool dlr) noexcept {
  switch (s) {
    case message_state::queued:
    case message_state::submitted:
      return false;
    case message_state::accepted:
      return !dlr;
    default:
      return true;
  }
}

message_store::message_store(const store_config& limits, std::uint64_t first_id)
    : limits_(limits), base_id_(first_id) {}

void message_store::set_wakeup(std::function<void()> wakeup) {
  const std::lock_guard lock(mutex_);
  wakeup_ = std::move(wakeup);
}

bool message_store::evictable(const record& r, std::int64_t now_ms) const {
  if (is_final(r.state, r.content->dlr)) return true;
  return r.state == message_state::accepted &&
         now_ms - r.accepted_ms >= std::int64_t{limits_.receipt_wait_s} * 1000;
}

void message_store::forget_awaiting(record& r) {
  for (const std::string& key : r.awaiting) awaiting_.erase(key);
  r.awaiting.clear();
}

void message_store::set_journal(store_journal* journal) {
  const std::lock_guard lock(mutex_);
  journal_ = journal;
}

void message_store::queue_parts(const record& r, std::uint64_t id, std::int64_t now_ms) {
  for (std::size_t p = 0; p < r.content->parts.size(); ++p) {
    const queued_part q{id, static_cast<std::uint8_t>(p)};
    if (r.content->schedule_ms > now_ms) {
      scheduled_.emplace_hint(scheduled_.end(), r.content->schedule_ms, q);
    } else {
      queue_.push_back(q);
    }
  }
}

void message_store::journal_progress(const record& r) {
  if (journal_ != nullptr) journal_->progressed(r);
}

message_store::accept_result message_store::accept(std::shared_ptr<const message_content> content,
                                                   const std::vector<sme_address>& to,
                                                   std::int64_t now_ms) {
  return finish_accept(begin_accept(std::move(content), to, now_ms), now_ms);
}

message_store::pending_accept message_store::begin_accept(
    std::shared_ptr<const message_content> content, const std::vector<sme_address>& to,
    std::int64_t now_ms) {
  pending_accept p;
  p.parts = content->parts.size();
  accept_result& result = p.result;
  std::function<void()> wakeup;
  {
    const std::lock_guard lock(mutex_);
    if (queue_.size() + scheduled_.size() + held_parts_ + to.size() * p.parts >
        limits_.max_queued_parts) {
      ++counters_.requests_refused_full;
      result.status = accept_status::queue_full;
      return p;
    }
    const std::uint64_t base_before = base_id_;
    while (records_.size() + to.size() > limits_.max_messages && !records_.empty() &&
           evictable(records_.front(), now_ms)) {
      forget_awaiting(records_.front());
      records_.pop_front();
      ++base_id_;
      ++counters_.messages_evicted;
    }
    if (journal_ != nullptr && base_id_ != base_before) journal_->evicted_below(base_id_);
    if (records_.size() + to.size() > limits_.max_messages) {
      ++counters_.requests_refused_full;
      result.status = accept_status::store_full;
      return p;
    }
    result.first_id = base_id_ + records_.size();
    p.recipients = to.size();
    for (std::size_t i = 0; i < to.size(); ++i) {
      record& r = records_.emplace_back();
      r.id = result.first_id + i;
      r.content = content;
      r.to = to[i].digits;
      r.created_ms = now_ms;
      if (journal_ == nullptr) queue_parts(r, result.first_id + i, now_ms);
    }
    if (journal_ == nullptr) {
      counters_.messages_accepted += to.size();
      counters_.parts_accepted += to.size() * p.parts;
      wakeup = wakeup_;
    } else {
      // Counted against the queue while the journal writes them.
      held_parts_ += to.size() * p.parts;
      p.ticket = journal_->accepted(result.first_id, content, to, now_ms);
    }
  }
  if (wakeup) wakeup();
  return p;
}

message_store::accept_result message_store::finish_accept(const pending_accept& p,
                                                          std::int64_t now_ms) {
  accept_result result = p.result;
  if (p.ticket == 0) return result;  // refused, or queued already without a journal
  const bool stored = journal_->wait_stored(p.ticket);
  std::function<void()> wakeup;
  {
    const std::lock_guard lock(mutex_);
    held_parts_ -= p.recipients * p.parts;
    // Queued records are never evicted: they are all still there.
    for (std::size_t i = 0; i < p.recipients; ++i) {
      const std::uint64_t id = result.first_id + i;
      record& r = *lookup(id);
      if (stored) {
        queue_parts(r, id, now_ms);
      } else {
        r.state = message_state::rejected;
        r.done_ms = now_ms;
      }
    }
    if (!stored) {
      ++counters_.requests_not_stored;
      result.status = accept_status::not_stored;
      return result;
    }
    counters_.messages_accepted += p.recipients;
    counters_.parts_accepted += p.recipients * p.parts;
    wakeup = wakeup_;
  }
  if (wakeup) wakeup();
  return result;
}

std::size_t message_store::restore(std::vector<restored_message> messages, std::int64_t now_ms) {
  const std::lock_guard lock(mutex_);
  if (messages.empty()) return 0;
  // Ids of requests that were never stored leave gaps: records no client can read.
  auto gap = std::make_shared<message_content>();
  gap->client = ~std::uint32_t{0};
  gap->dlr = false;
  records_.clear();
  base_id_ = messages.front().progress.id;
  std::size_t queued = 0;
  for (restored_message& m : messages) {
    while (base_id_ + records_.size() < m.progress.id) {
      record& g = records_.emplace_back();
      g.id = base_id_ + records_.size() - 1;
      g.content = gap;
      g.state = message_state::rejected;
    }
    const message_progress& p = m.progress;
    record& r = records_.emplace_back();
    static_cast<message_progress&>(r) = p;
    r.content = std::move(m.content);
    r.to = std::move(m.to);
    r.created_ms = m.created_ms;
    const std::size_t parts = r.content->parts.size();
    if (is_final(r.state, r.content->dlr)) continue;
    r.parts_submitted = 0;
    r.parts_accepted = 0;
    r.parts_delivered = 0;
    // Unfinished: the parts answered are known from their rows, the others go again.
    std::vector<bool> answered(parts, false);
    for (const restored_message::part& a : m.answered) {
      if (a.index >= parts || answered[a.index]) continue;
      answered[a.index] = true;
      ++r.parts_accepted;
      if (a.delivered) ++r.parts_delivered;
    }
    r.parts_submitted = r.parts_accepted;
    if (r.parts_submitted == 0) r.state = message_state::queued;
    for (restored_message::part& a : m.answered) {
      if (a.index >= parts || a.delivered || !r.content->dlr) continue;
      awaiting_[a.receipt_key] = {p.id, a.index};
      r.awaiting.push_back(std::move(a.receipt_key));
    }
    for (std::size_t i = 0; i < parts; ++i) {
      if (answered[i]) continue;
      const queued_part q{p.id, static_cast<std::uint8_t>(i)};
      if (r.content->schedule_ms > now_ms) {
        scheduled_.emplace(r.content->schedule_ms, q);
      } else {
        queue_.push_back(q);
      }
      ++queued;
    }
  }
  counters_.parts_restored += queued;
  return queued;
}

message_store::record* message_store::lookup(std::uint64_t id) {
  if (id < base_id_ || id - base_id_ >= records_.size()) return nullptr;
  return &records_[id - base_id_];
}

std::size_t message_store::take(std::size_t max, std::vector<submit_job>& out,
                                std::int64_t now_ms) {
  const std::lock_guard lock(mutex_);
  if (journal_ != nullptr && journal_->backlogged()) {
    ++counters_.takes_paused;
    return 0;
  }
  while (!scheduled_.empty() && scheduled_.begin()->first <= now_ms) {
    queue_.push_back(scheduled_.begin()->second);
    scheduled_.erase(scheduled_.begin());
  }
  std::size_t n = 0;
  while (n < max && !queue_.empty()) {
    const queued_part q = queue_.front();
    queue_.pop_front();
    record* r = lookup(q.id);
    if (r == nullptr || r->state == message_state::rejected) continue;
    if (r->state == message_state::queued) {
      r->state = message_state::submitted;
      r->submitted_ms = now_ms;
    }
    ++r->parts_submitted;
    out.push_back({q.id, q.part, r->content, r->to});
    ++n;
  }
  counters_.parts_submitted += n;
  return n;
}

void message_store::requeue(const std::vector<submit_job>& jobs) {
  std::function<void()> wakeup;
  {
    const std::lock_guard lock(mutex_);
    // Back to the front, in their order: they were the oldest in flight.
    for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
      record* r = lookup(it->id);
      if (r == nullptr) continue;
      if (r->parts_submitted > 0) --r->parts_submitted;
      queue_.push_front({it->id, it->part});
      ++counters_.parts_retried;
    }
    wakeup = wakeup_;
  }
  if (wakeup && !jobs.empty()) wakeup();
}

void message_store::on_response(const submit_job& job, codec::command_status status,
                                std::string_view smsc_message_id, std::int64_t now_ms) {
  std::function<void()> wakeup;
  {
    const std::lock_guard lock(mutex_);
    record* r = lookup(job.id);
    if (r == nullptr) return;
    if (status != codec::command_status::ESME_ROK) {
      ++counters_.responses_error;
      if (temporary(status) && ++r->attempts < limits_.max_attempts) {
        --r->parts_submitted;
        queue_.push_back({job.id, job.part});
        ++counters_.parts_retried;
        wakeup = wakeup_;
      } else if (!is_final(r->state, r->content->dlr)) {
        r->state = message_state::rejected;
        r->smpp_status = static_cast<std::uint32_t>(status);
        r->done_ms = now_ms;
        forget_awaiting(*r);
        finished(*r, job.id);
        journal_progress(*r);
      }
    } else {
      ++counters_.responses_ok;
      ++r->parts_accepted;
      if (r->state == message_state::submitted && r->parts_accepted == r->content->parts.size()) {
        r->state = message_state::accepted;
        r->accepted_ms = now_ms;
        if (!r->content->dlr) {
          r->done_ms = now_ms;
          finished(*r, job.id);
        }
      }
      if (!r->content->dlr && !is_final(r->state, false) && journal_ != nullptr) {
        // A part of an unfinished message: after a restart it is not sent again.
        journal_->part_answered(job.id, job.part, {}, false);
      }
      if (r->content->dlr && r->state != message_state::rejected) {
        std::string key = receipt_key(smsc_message_id, limits_.message_id_radix);
        const auto early = early_.find(key);
        if (early != early_.end()) {
          const codec::message_state state = early->second;
          early_.erase(early);
          ++counters_.receipts_matched;
          if (journal_ != nullptr) {
            journal_->part_answered(job.id, job.part, key,
                                    state == codec::message_state::delivered);
          }
          apply_receipt(*r, job.id, key, state, now_ms);
        } else {
          if (journal_ != nullptr) journal_->part_answered(job.id, job.part, key, false);
          awaiting_[key] = {job.id, job.part};
          r->awaiting.push_back(std::move(key));
        }
      }
      // Receipts of the other parts may have come before this answer.
      if (r->state == message_state::accepted && r->content->dlr &&
          r->parts_delivered == r->content->parts.size()) {
        r->state = message_state::delivered;
        r->done_ms = now_ms;
        finished(*r, job.id);
      }
      journal_progress(*r);
    }
  }
  if (wakeup) wakeup();
}

void message_store::apply_receipt(record& r, std::uint64_t id, const std::string& key,
                                  codec::message_state state, std::int64_t now_ms) {
  std::erase(r.awaiting, key);
  if (is_final(r.state, r.content->dlr) && r.state != message_state::accepted) return;
  r.receipt_stat = static_cast<std::uint8_t>(state);
  if (state == codec::message_state::delivered) {
    ++r.parts_delivered;
    if (r.parts_delivered == r.content->parts.size() && r.state == message_state::accepted) {
      r.state = message_state::delivered;
      r.done_ms = now_ms;
      finished(r, id);
    }
    return;
  }
  r.state = state == codec::message_state::expired ? message_state::expired : message_state::failed;
  r.done_ms = now_ms;
  forget_awaiting(r);
  finished(r, id);
}

bool message_store::on_receipt(std::string_view smsc_message_id, codec::message_state state,
                               std::int64_t now_ms) {
  // ENROUTE, ACCEPTD and UNKNOWN are intermediate (SMPP 3.4 Appendix B): wait for the final one.
  if (!codec::is_final(state)) return true;
  std::string key = receipt_key(smsc_message_id, limits_.receipt_id_radix);
  const std::lock_guard lock(mutex_);
  const auto it = awaiting_.find(key);
  if (it == awaiting_.end()) {
    ++counters_.receipts_unmatched;
    if (early_.emplace(key, state).second) {
      early_order_.push_back(std::move(key));
      if (early_order_.size() > early_capacity) {
        early_.erase(early_order_.front());
        early_order_.pop_front();
      }
    }
    return false;
  }
  const target t = it->second;
  awaiting_.erase(it);
  ++counters_.receipts_matched;
  if (record* r = lookup(t.id)) {
    if (journal_ != nullptr && state == codec::message_state::delivered) {
      journal_->part_answered(t.id, t.part, key, true);
    }
    apply_receipt(*r, t.id, key, state, now_ms);
    journal_progress(*r);
  }
  return true;
}

message_view message_store::view_of(const record& r, std::uint64_t id) {
  message_view v;
  v.id = id;
  v.to = r.to;
  v.from = r.content->from.digits;
  v.client_ref = r.content->client_ref;
  v.state = r.state;
  v.smpp_status = r.smpp_status;
  v.receipt_stat = r.receipt_stat;
  v.parts = r.content->parts.size();
  v.parts_submitted = r.parts_submitted;
  v.parts_accepted = r.parts_accepted;
  v.parts_delivered = r.parts_delivered;
  v.created_ms = r.created_ms;
  v.scheduled_ms = r.content->schedule_ms;
  v.submitted_ms = r.submitted_ms;
  v.accepted_ms = r.accepted_ms;
  v.done_ms = r.done_ms;
  return v;
}

std::optional<message_view> message_store::find(std::uint64_t id, std::uint32_t client) const {
  const std::lock_guard lock(mutex_);
  if (id < base_id_ || id - base_id_ >= records_.size()) return std::nullopt;
  const record& r = records_[id - base_id_];
  if (r.content->client != client) return std::nullopt;
  return view_of(r, id);
}

void message_store::finished(const record& r, std::uint64_t id) {
  if (final_hook_ && !r.content->dlr_url.empty()) final_hook_(view_of(r, id), *r.content);
}

void message_store::set_final_hook(final_hook hook) {
  const std::lock_guard lock(mutex_);
  final_hook_ = std::move(hook);
}

store_counters message_store::counters() const {
  const std::lock_guard lock(mutex_);
  store_counters c = counters_;
  c.queued_parts = queue_.size();
  c.scheduled_parts = scheduled_.size();
  c.records = records_.size();
  return c;
}

}  // namespace smpp::http
