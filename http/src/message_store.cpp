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

message_store::accept_result message_store::accept(std::shared_ptr<const message_content> content,
                                                   const std::vector<sme_address>& to,
                                                   std::int64_t now_ms) {
  const std::size_t parts = content->parts.size();
  accept_result result;
  std::function<void()> wakeup;
  {
    const std::lock_guard lock(mutex_);
    if (queue_.size() + scheduled_.size() + to.size() * parts > limits_.max_queued_parts) {
      ++counters_.requests_refused_full;
      result.status = accept_status::queue_full;
      return result;
    }
    while (records_.size() + to.size() > limits_.max_messages && !records_.empty() &&
           evictable(records_.front(), now_ms)) {
      forget_awaiting(records_.front());
      records_.pop_front();
      ++base_id_;
      ++counters_.messages_evicted;
    }
    if (records_.size() + to.size() > limits_.max_messages) {
      ++counters_.requests_refused_full;
      result.status = accept_status::store_full;
      return result;
    }
    result.first_id = base_id_ + records_.size();
    for (std::size_t i = 0; i < to.size(); ++i) {
      record& r = records_.emplace_back();
      r.content = content;
      r.to = to[i].digits;
      r.created_ms = now_ms;
      for (std::size_t p = 0; p < parts; ++p) {
        const queued_part q{result.first_id + i, static_cast<std::uint8_t>(p)};
        if (content->schedule_ms > now_ms) {
          scheduled_.emplace_hint(scheduled_.end(), content->schedule_ms, q);
        } else {
          queue_.push_back(q);
        }
      }
    }
    counters_.messages_accepted += to.size();
    counters_.parts_accepted += to.size() * parts;
    wakeup = wakeup_;
  }
  if (wakeup) wakeup();
  return result;
}

message_store::record* message_store::lookup(std::uint64_t id) {
  if (id < base_id_ || id - base_id_ >= records_.size()) return nullptr;
  return &records_[id - base_id_];
}

std::size_t message_store::take(std::size_t max, std::vector<submit_job>& out,
                                std::int64_t now_ms) {
  const std::lock_guard lock(mutex_);
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
      if (r->content->dlr && r->state != message_state::rejected) {
        std::string key = receipt_key(smsc_message_id, limits_.message_id_radix);
        const auto early = early_.find(key);
        if (early != early_.end()) {
          const codec::message_state state = early->second;
          early_.erase(early);
          ++counters_.receipts_matched;
          apply_receipt(*r, job.id, key, state, now_ms);
        } else {
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
  if (record* r = lookup(t.id)) apply_receipt(*r, t.id, key, state, now_ms);
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
