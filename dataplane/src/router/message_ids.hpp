// This worker's shard of the message-id correlation table (correlation.hpp): the ids upstreams
// gave accepted messages, noted so that their receipts and the ESMEs' query_sm / cancel_sm /
// replace_sm find the tenant and the upstream again. An id belongs to the shard that
// correlation_owner() names; an id for another worker's shard is handed to it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "context.hpp"
#include "handoff_port.hpp"
#include "smpp/codec/receipt.hpp"
#include "smpp/dataplane/correlation.hpp"
#include "smpp/store/record.hpp"
#include "store_waits.hpp"

namespace smpp::dataplane::router {

class message_ids {
 public:
  message_ids(worker_context& ctx, handoff_port& port);

  // An id `upstream` gave a message of `tenant` (empty: none, ignored): into this worker's
  // shard at the end of the turn, or to the owning worker's. With a store, what the answer
  // that carried the id must wait for (nothing when the id is not noted).
  std::optional<note_wait> note(uint32_t upstream, uint32_t tenant, std::string_view message_id);
  // The same, handed over by worker `source` (a correlate message).
  void note_from(uint32_t source, uint32_t upstream, uint32_t tenant, std::string_view message_id);
  // A receipt for an id of this shard arrived (its state goes to the store).
  void receipt_arrived(const correlation_key& key, uint32_t upstream, uint8_t message_state);
  // Recovery at start: an id the store kept.
  void restore(const store::note_record& note);
  // The store caught up: answers waiting for notes may go (each turn).
  void publish_stored();
  [[nodiscard]] bool storing() const noexcept { return journal_ != nullptr; }
  // The ids noted and forgotten this turn, into the shard (together: their index slots were
  // prefetched one by one as the answers came in, and a 10 M entry table is far beyond caches).
  void flush();
  [[nodiscard]] bool pending() const noexcept {
    return !pending_.empty() || !forgotten_.empty() || checkpoint_due_ || !backlog_.empty();
  }

  // The worker whose shard holds key (this one when there is no other worker to ask).
  [[nodiscard]] uint32_t owner(const correlation_key& key) const noexcept;
  [[nodiscard]] correlation_key_result receipt_key(uint32_t upstream,
                                                   std::string_view message_id) const;
  // A message operation quotes the id as the submit_sm_resp gave it; it is tried in every radix
  // an upstream issues ids in, auto-detection first: attempt 0, 1, ... while attempt < radices().
  [[nodiscard]] size_t radices() const noexcept { return op_radices_.size(); }
  [[nodiscard]] correlation_key_result op_key(std::string_view message_id, uint32_t attempt) const;
  // Lookups in this worker's shard (what was noted this turn included).
  [[nodiscard]] std::optional<correlation_value> find(const correlation_key& key,
                                                      uint32_t upstream);
  [[nodiscard]] std::optional<correlation_value> find_for_tenant(const correlation_key& key,
                                                                 uint32_t tenant);

  // A final receipt of `upstream` was answered: its entry goes (from this shard at the end of
  // the turn, or the owning worker's). Until then a receipt quoting it still finds it.
  void forget(const correlation_key& key, uint32_t upstream);

  void expire();  // a bounded step, each tick
  void adopt();   // a new snapshot: upstreams and their radices may have changed

 private:
  void set_radices();
  void flush_notes();
  void flush_forgotten();
  void take_note(uint32_t source, uint32_t upstream, uint32_t tenant, std::string_view message_id);
  // Into the journal, or behind the notes that wait for room in it.
  void journal_note(const store::note_record& rec, uint32_t source);
  void retry_backlog();
  void checkpoint();

  worker_context& ctx_;
  handoff_port& port_;
  correlation_secret secret_;  // the same for every worker (shared_state)
  // Ids still waiting for receipts, and (as final entries) those whose final receipt was
  // answered, for message operations only ([correlation] keep_final_s, final_capacity).
  correlation_table table_;
  // Notes a receipt looks through rather than inserting them first (find()).
  static constexpr size_t pending_scan_max = 32;
  struct pending_note {
    correlation_key key;
    correlation_value value;
    uint32_t source = 0;  // the worker whose answer waits for it
  };
  std::vector<pending_note> pending_;                            // capacity fixed at 256
  std::vector<std::pair<correlation_key, uint16_t>> forgotten_;  // capacity fixed at 256
  std::vector<codec::id_radix> op_radices_;

  // The store (nullptr: [store] sync = "off").
  store::journal* journal_ = nullptr;
  std::vector<uint64_t> sent_;       // per owner: notes this worker handed over, its own included
  std::vector<uint64_t> journaled_;  // per source: its notes this worker took into its journal
  // Marks of this worker's journal and the journaled_ counts they cover, oldest first: once the
  // journal is past a mark, its counts are published (shared_state::notes_stored). A ring of
  // checkpoint_max; when full, the newest is merged into the last.
  static constexpr size_t checkpoint_max = 256;
  std::vector<uint64_t> checkpoint_marks_;
  std::vector<uint64_t> checkpoint_counts_;  // checkpoint_max x workers
  size_t checkpoint_head_ = 0;
  size_t checkpoint_count_ = 0;
  bool checkpoint_due_ = false;  // a source's count moved without a note to journal
  // Notes the journal had no room for yet, in order, with their sources; bounded by the
  // ESMEs' windows, since every one holds an answer back.
  std::vector<std::pair<store::note_record, uint32_t>> backlog_;
};

}  // namespace smpp::dataplane::router
