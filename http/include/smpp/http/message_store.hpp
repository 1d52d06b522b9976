// Every message accepted by the API, from its 202 to its final state: a bounded table of
// records (one per recipient, ids consecutive within a request), the bounded queue of parts
// waiting for a session, and the SMSC message ids awaiting a delivery receipt. Thread-safe: the
// HTTP threads accept and read, the SMPP sessions take, answer and receipt. With a journal
// (message_journal.hpp) every change is also written to disk, and a request's parts are queued
// only once the journal has stored them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "smpp/codec/receipt.hpp"
#include "smpp/codec/status.hpp"
#include "smpp/http/send_request.hpp"

namespace smpp::http {

enum class message_state : std::uint8_t {
  queued,     // no part sent yet
  submitted,  // parts sent, not every submit_sm_resp back
  accepted,   // every part answered ESME_ROK; final when no receipt was asked for
  delivered,  // a DELIVRD receipt for every part
  failed,     // a receipt with UNDELIV, REJECTD, DELETED or SKIPPED for some part
  expired,    // a receipt with EXPIRED for some part
  rejected,   // some part answered with an error command_status (smpp_status)
};

[[nodiscard]] std::string_view to_string(message_state s) noexcept;
[[nodiscard]] bool is_final(message_state s, bool dlr) noexcept;

// What every recipient of one request shares.
struct message_content {
  std::uint32_t client = 0;
  sme_address from;
  std::vector<message_part> parts;
  bool dlr = true;
  std::string validity_period;  // SMPP relative time, empty for the SMSC default
  std::string client_ref;
  std::int64_t schedule_ms = 0;  // held until this wall-clock time; 0: at once
  std::string dlr_url;           // the final state is POSTed here; empty: not
  // A campaign's recipient (campaign_runner.hpp): the journal marks row `campaign_row` of
  // campaign `campaign` handed over in the transaction that stores the message. 0: none.
  std::uint64_t campaign = 0;
  std::uint32_t campaign_row = 0;
};

// One part handed to a session to submit.
struct submit_job {
  std::uint64_t id = 0;
  std::uint8_t part = 0;
  std::shared_ptr<const message_content> content;
  std::string to;  // digits; TON 1, NPI 1
};

// A copy of one record for GET /v1/messages/{id}.
struct message_view {
  std::uint64_t id = 0;
  std::string to;
  std::string from;
  std::string client_ref;
  message_state state = message_state::queued;
  std::uint32_t smpp_status = 0;  // of a rejected message
  std::uint8_t receipt_stat = 0;  // SMPP 3.4 §5.2.28 message_state of the last final receipt
  std::size_t parts = 0;
  std::size_t parts_submitted = 0;
  std::size_t parts_accepted = 0;
  std::size_t parts_delivered = 0;
  std::int64_t created_ms = 0;
  std::int64_t scheduled_ms = 0;  // 0: not scheduled
  std::int64_t submitted_ms = 0;  // 0: not yet
  std::int64_t accepted_ms = 0;
  std::int64_t done_ms = 0;
};

struct store_config {
  std::size_t max_messages = 1'000'000;    // records kept, final ones evicted oldest first
  std::size_t max_queued_parts = 200'000;  // parts accepted and not yet handed to a session
  std::uint32_t receipt_wait_s = 3600;     // an accepted message older than this is evictable
  std::uint32_t max_attempts = 10;         // submits of one part refused as throttled / full
  // How the SMSC writes message ids in submit_sm_resp and in receipts
  // (codec::normalize_message_id). text: the same string (case and leading zeros aside) in both,
  // which no id of another message can equal; auto would read "a" and "10" of an SMSC issuing hex
  // ids as one number.
  codec::id_radix message_id_radix = codec::id_radix::text;
  codec::id_radix receipt_id_radix = codec::id_radix::text;
};

struct store_counters {
  std::uint64_t messages_accepted = 0;
  std::uint64_t parts_accepted = 0;
  std::uint64_t parts_submitted = 0;
  std::uint64_t responses_ok = 0;
  std::uint64_t responses_error = 0;
  std::uint64_t parts_retried = 0;  // throttled, queue full, connection lost: submitted again
  std::uint64_t receipts_matched = 0;
  std::uint64_t receipts_unmatched = 0;
  std::uint64_t messages_evicted = 0;
  std::uint64_t requests_refused_full = 0;
  std::uint64_t requests_not_stored = 0;  // the journal could not write them: 503
  std::uint64_t parts_restored = 0;       // queued again at start from the journal
  std::uint64_t takes_paused = 0;         // take() found the journal backlogged
  std::size_t queued_parts = 0;           // due, waiting for a session
  std::size_t scheduled_parts = 0;        // held until their schedule_at
  std::size_t records = 0;
};

// The part of a record that changes after its acceptance, as the journal writes it.
struct message_progress {
  std::uint64_t id = 0;
  message_state state = message_state::queued;
  std::uint32_t smpp_status = 0;
  std::uint8_t receipt_stat = 0;
  std::uint8_t parts_submitted = 0;
  std::uint8_t parts_accepted = 0;
  std::uint8_t parts_delivered = 0;
  std::int64_t submitted_ms = 0;
  std::int64_t accepted_ms = 0;
  std::int64_t done_ms = 0;
};

// Where the store's changes go to survive a restart. Called under the store's lock, in the order
// the changes happen, so each call only records and returns; the writing happens elsewhere.
class store_journal {
 public:
  virtual ~store_journal() = default;
  // A request's recipients got ids first_id, first_id + 1, ...: the ticket wait_stored() takes.
  virtual std::uint64_t accepted(std::uint64_t first_id,
                                 const std::shared_ptr<const message_content>& content,
                                 const std::vector<sme_address>& to, std::int64_t now_ms) = 0;
  // Blocks until the accepted() of `ticket` is on disk (true) or could not be written (false).
  virtual bool wait_stored(std::uint64_t ticket) = 0;
  virtual void progressed(const message_progress& p) = 0;
  // A part answered ESME_ROK with the receipt key of its SMSC message id; `delivered` once its
  // DELIVRD receipt came.
  virtual void part_answered(std::uint64_t id, std::uint8_t part, const std::string& receipt_key,
                             bool delivered) = 0;
  // Every record below `id` was evicted.
  virtual void evicted_below(std::uint64_t id) = 0;
  // More changes wait to be written than the journal holds: take() hands out nothing until
  // they are, so the SMSC side cannot outrun the disk.
  [[nodiscard]] virtual bool backlogged() const = 0;
};

// A record as the journal read it back at start.
struct restored_message {
  std::shared_ptr<const message_content> content;
  std::string to;
  message_progress progress;
  std::int64_t created_ms = 0;
  struct part {
    std::uint8_t index = 0;
    std::string receipt_key;
    bool delivered = false;
  };
  std::vector<part> answered;  // parts answered ESME_ROK
};

class message_store {
 public:
  enum class accept_status : std::uint8_t { ok, queue_full, store_full, not_stored };
  struct accept_result {
    accept_status status = accept_status::ok;
    std::uint64_t first_id = 0;  // recipients get first_id, first_id + 1, ... in order
  };

  // Ids start at `first_id` (smpp-http uses the start time, so ids stay unique over restarts).
  message_store(const store_config& limits, std::uint64_t first_id);

  // Before any accept: every change goes to `journal` too (which outlives the store).
  void set_journal(store_journal* journal);
  // Before any accept: the records read back from the journal, ids ascending. Parts not
  // answered ESME_ROK before the restart are queued again (submitted anew, at least once);
  // answered ones of an unfinished message wait for their receipt. Returns the parts queued.
  std::size_t restore(std::vector<restored_message> messages, std::int64_t now_ms);

  // Called after parts were queued, outside the lock: the sessions wake up.
  void set_wakeup(std::function<void()> wakeup);
  // Called, under the store's lock, when a message with a dlr_url reaches its final state.
  using final_hook = std::function<void(const message_view&, const message_content&)>;
  void set_final_hook(final_hook hook);

  // All recipients or none: a request that does not fit is refused whole. Parts of a content
  // with schedule_ms after now_ms are held until then. With a journal, returns once the request
  // is on disk (not_stored when it could not be written: nothing of it is sent).
  [[nodiscard]] accept_result accept(std::shared_ptr<const message_content> content,
                                     const std::vector<sme_address>& to, std::int64_t now_ms);

  // accept() in two halves, so that one thread may have many requests share a commit:
  // begin_accept() takes the request in (a refusal is final at once), finish_accept() waits for
  // its commit and queues it. Every begun request must be finished, in any order.
  struct pending_accept {
    accept_result result;
    std::uint64_t ticket = 0;  // 0: not written by a journal (or refused)
    std::size_t recipients = 0;
    std::size_t parts = 0;
  };
  [[nodiscard]] pending_accept begin_accept(std::shared_ptr<const message_content> content,
                                            const std::vector<sme_address>& to,
                                            std::int64_t now_ms);
  [[nodiscard]] accept_result finish_accept(const pending_accept& p, std::int64_t now_ms);

  // Moves up to `max` queued parts into `out` (appended), marking them submitted; scheduled
  // parts become due at their time.
  std::size_t take(std::size_t max, std::vector<submit_job>& out, std::int64_t now_ms);

  // The submit_sm_resp of a job. A temporary refusal (ESME_RTHROTTLED, ESME_RMSGQFUL) queues
  // the part again until max_attempts; any other error rejects the message.
  void on_response(const submit_job& job, codec::command_status status,
                   std::string_view smsc_message_id, std::int64_t now_ms);
  // The session closed before the answer came: the parts are submitted again.
  void requeue(const std::vector<submit_job>& jobs);
  // A delivery receipt; false when no part awaits a receipt with this id.
  bool on_receipt(std::string_view smsc_message_id, codec::message_state state,
                  std::int64_t now_ms);

  // Nullopt for an unknown id or a message of another client.
  [[nodiscard]] std::optional<message_view> find(std::uint64_t id, std::uint32_t client) const;
  [[nodiscard]] store_counters counters() const;

 private:
  // What the journal writes of it is its message_progress.
  struct record : message_progress {
    std::shared_ptr<const message_content> content;
    std::string to;
    std::uint8_t attempts = 0;
    std::int64_t created_ms = 0;
    std::vector<std::string> awaiting;  // receipt keys of parts answered and not yet receipted
  };
  struct queued_part {
    std::uint64_t id;
    std::uint8_t part;
  };
  struct target {
    std::uint64_t id;
    std::uint8_t part;
  };

  record* lookup(std::uint64_t id);
  [[nodiscard]] bool evictable(const record& r, std::int64_t now_ms) const;
  void forget_awaiting(record& r);
  void apply_receipt(record& r, std::uint64_t id, const std::string& key,
                     codec::message_state state, std::int64_t now_ms);
  [[nodiscard]] static message_view view_of(const record& r, std::uint64_t id);
  void finished(const record& r, std::uint64_t id);
  void queue_parts(const record& r, std::uint64_t id, std::int64_t now_ms);
  void journal_progress(const record& r);

  store_config limits_;
  store_journal* journal_ = nullptr;
  std::function<void()> wakeup_;
  final_hook final_hook_;
  mutable std::mutex mutex_;
  std::deque<record> records_;
  std::uint64_t base_id_;  // id of records_.front()
  std::deque<queued_part> queue_;
  std::size_t held_parts_ = 0;  // of accepted requests the journal is writing
  std::multimap<std::int64_t, queued_part> scheduled_;  // by due time; counts against the queue
  std::unordered_map<std::string, target> awaiting_;
  // Receipts that came before their submit_sm_resp (another session of the same bind may pass
  // them on first): matched when the answer arrives, oldest dropped beyond early_capacity.
  static constexpr std::size_t early_capacity = 4096;
  std::unordered_map<std::string, codec::message_state> early_;
  std::deque<std::string> early_order_;
  store_counters counters_;
};

}  // namespace smpp::http
