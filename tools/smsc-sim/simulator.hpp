// smsc-sim's engine: the SMSC side of SMPP sessions over any dataplane transport. It binds
// ESMEs, answers submit_sm / data_sm / submit_multi (after a fixed latency, with its own
// throughput limit and injected errors), sends delivery receipts and mobile-originated
// deliver_sm, and counts everything. With a journal it keeps the receipts it owes across a
// restart, as a real SMSC's store does. Single-threaded: every call comes from the poll loop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "smpp/codec/codec.hpp"
#include "smpp/codec/framer.hpp"
#include "smpp/codec/receipt.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::smsc_sim {

using dataplane::conn_id;

struct sim_config {
  uint64_t tps = 0;              // accepted messages per second over all sessions; 0 = no limit
  uint64_t latency_us = 0;       // submit -> response; 0 = answered in the same poll
  uint64_t dlr_delay_us = 0;     // response -> delivery receipt
  double error_rate = 0;         // share of messages answered ESME_RSYSERR or ESME_RSUBMITFAIL
  uint64_t mo_rate_per_s = 0;    // mobile-originated deliver_sm per second over all receivers
  uint64_t mo_count = 0;         // mobile-originated deliver_sm in all; 0 = no limit
  bool check_system_id = false;  // else any system_id binds
  bool check_password = false;   // else any password binds
  std::string system_id;
  std::string password;
  uint64_t seed = 0x5eed5eed5eedULL;
  // --journal: every receipt owed is appended before its submit_sm_resp is written, every
  // acknowledged one as done; empty = no journal (receipts live in memory only).
  std::string journal_path;
  // Owed receipts kept at most; a submit_sm asking for a receipt beyond it is answered
  // ESME_RMSGQFUL (counted journal_full) and the ESME retries it later.
  uint64_t journal_max_pending = 100'000;
  // --arrivals: when each message request of a bound transmitter arrived (CLOCK_MONOTONIC us)
  // and its source_addr, kept for the first arrivals_max of them; later ones are counted
  // arrivals_dropped. 0 = not kept.
  uint64_t arrivals_max = 0;
};

// Every counter smsc-sim reports; printed as one JSON object.
struct sim_counters {
  uint64_t connections = 0;  // accepted
  uint64_t disconnects = 0;
  uint64_t binds = 0;  // successful bind_*
  uint64_t bind_failures = 0;
  uint64_t unbinds = 0;
  uint64_t enquire_links = 0;
  uint64_t submit_sm = 0;  // requests received, each kind
  uint64_t data_sm = 0;
  uint64_t submit_multi = 0;
  uint64_t accepted = 0;
  uint64_t throttled = 0;      // answered ESME_RTHROTTLED (--tps)
  uint64_t errors_syserr = 0;  // injected (--error-rate)
  uint64_t errors_submitfail = 0;
  uint64_t rejected = 0;  // malformed, unbound, unsupported: answered with an error status
  uint64_t generic_nacks = 0;
  uint64_t receipts_sent = 0;
  uint64_t receipts_acked = 0;     // deliver_sm_resp ESME_ROK
  uint64_t receipts_nacked = 0;    // deliver_sm_resp with an error
  uint64_t receipts_dropped = 0;   // no bound receiver for the message's system_id
  uint64_t receipts_replayed = 0;  // journal: sent for a message an earlier run accepted
  uint64_t journal_pending = 0;    // journal: receipts owed now (a level, not a count)
  uint64_t journal_full = 0;       // journal: submits refused ESME_RMSGQFUL at the bound
  uint64_t journal_errors = 0;     // journal: failed appends (reported on stderr)
  uint64_t mo_sent = 0;
  uint64_t mo_acked = 0;
  uint64_t mo_nacked = 0;
  uint64_t responses_deferred = 0;  // send queue full: the response waited in the session
  uint64_t arrivals_dropped = 0;    // --arrivals: requests beyond arrivals_max, not kept
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

// Renders the counters as one JSON object on one line (RFC 8259), newline-terminated.
[[nodiscard]] std::string to_json(const sim_counters& c, double uptime_s);

class simulator final : public dataplane::transport_handler {
 public:
  simulator(dataplane::transport& t, const sim_config& config);
  ~simulator() override;
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  void on_accept(conn_id c, uint32_t listener, const dataplane::peer_address& peer) override;
  void on_connect(conn_id c, int err) override;
  void on_data(conn_id c, codec::bytes_view data) override;
  void on_writable(conn_id c) override;
  void on_close(conn_id c, int err) override;

  // Runs what is due at now_us (delayed responses, receipts, MO messages). Returns true when it
  // queued octets, so the caller flushes.
  bool run_timers(uint64_t now_us);
  // Microseconds until the next timer is due (0: now), or max_wait_us when nothing waits.
  [[nodiscard]] uint64_t next_timer_in_us(uint64_t now_us, uint64_t max_wait_us) const;

  [[nodiscard]] const sim_counters& counters() const noexcept { return counters_; }
  // --arrivals: the arrival times kept (CLOCK_MONOTONIC us), in arrival order, and for each the
  // index of its source_addr in arrival_sources() (the first max_arrival_sources distinct ones;
  // later ones share the last index, "*").
  static constexpr size_t max_arrival_sources = 256;
  [[nodiscard]] const std::vector<uint64_t>& arrivals() const noexcept { return arrivals_; }
  [[nodiscard]] const std::vector<uint8_t>& arrival_source() const noexcept {
    return arrival_source_;
  }
  [[nodiscard]] const std::vector<std::string>& arrival_sources() const noexcept {
    return arrival_sources_;
  }

  // Opens config.journal_path: reads the receipts an earlier run still owes (a torn last line
  // is ignored), rewrites the file with only those, and appends from then on. The owed
  // receipts go to the first receiver or transceiver of their system_id that binds, after the
  // receipt delay. False with a message in `error` when the file cannot be read or written.
  [[nodiscard]] bool open_journal(std::string& error);

 private:
  struct session;
  struct receipt_job;
  struct out_cursor;
  struct owed_receipt;

  session* find(conn_id c) noexcept;
  void handle_frame(session& s, codec::bytes_view frame, uint64_t now_us);
  void handle_bind(session& s, const codec::pdu& p);
  // A submit_sm / data_sm / submit_multi: admitted, answered, and its receipt scheduled. `p` is
  // the full decode, needed only when the message asks for a receipt (nullptr otherwise).
  void handle_message(session& s, codec::command_id id, uint32_t seq, std::string_view source_addr,
                      uint8_t registered_delivery, const codec::pdu* p, uint64_t now_us);
  void handle_deliver_sm_resp(session& s, const codec::pdu_header& h, uint64_t now_us);
  void answer_header_only(session& s, codec::command_id id, codec::command_status status,
                          uint32_t seq);
  bool write_message_resp(session& s, codec::command_id id, codec::command_status status,
                          uint32_t seq, uint64_t message_id);
  void respond(session& s, codec::command_id id, codec::command_status status, uint32_t seq,
               uint64_t message_id, uint64_t now_us);
  bool drain_responses(session& s, uint64_t now_us);
  bool send_receipt(const receipt_job& job);
  // Writes job's deliver_sm to s; false when its send queue is full. seq: the one it carries.
  bool write_receipt(session& s, const receipt_job& job, uint32_t& seq);
  // The Appendix B text of job's receipt for `id` in out; its size, 0 when it cannot be built.
  static constexpr size_t max_receipt_text_octets = 200;
  size_t receipt_text(const receipt_job& job, std::string_view id,
                      std::span<char, max_receipt_text_octets> out);
  bool send_owed_receipts(uint64_t now_us);
  void owe_again(uint64_t message_id, uint64_t due_us);
  void wake_waiting_receipts(uint32_t system, uint64_t now_us);
  uint64_t take_message_id();
  void journal_accepted(const receipt_job& job);
  void journal_done(uint64_t message_id);
  void flush_journal();
  bool send_mo();
  [[nodiscard]] bool mo_due() const noexcept;  // --mo-rate, and --mo-count not reached
  session* receiver_for(uint32_t system, conn_id preferred) noexcept;
  [[nodiscard]] codec::command_status admit(uint64_t now_us) noexcept;
  // The writable tail of s's current reservation, at least n octets (a new reservation when
  // the open one is too small); empty when the send queue is full.
  std::span<std::byte> take(session& s, size_t n);
  static void advance(session& s, size_t used) noexcept;
  void finish(session& s);  // commits the open reservation
  uint32_t intern_system(std::string_view system_id);
  [[nodiscard]] codec::receipt_date wall_date(uint64_t unix_s) noexcept;

  dataplane::transport& transport_;
  sim_config config_;
  sim_counters counters_;
  codec::pdu decoded_;                              // the PDU being handled (views into the frame)
  std::vector<std::unique_ptr<session>> sessions_;  // by the handle's slot index
  std::vector<conn_id> live_;                       // every open session, for the timers
  std::vector<std::string> systems_;                // interned system_ids of bound sessions
  std::deque<receipt_job> receipts_;                // due in order: the delay is constant
  uint64_t next_message_id_ = 1;
  // The journal (--journal): the file, records not yet written (written before any response
  // is committed), the receipts owed by message id and when each is due.
  int journal_fd_ = -1;
  std::string journal_out_;
  uint64_t id_ceiling_ = 0;  // ids below it are taken (an "I" record): unique across restarts
  std::unordered_map<uint64_t, owed_receipt> owed_;
  using due_entry = std::pair<uint64_t, uint64_t>;  // due_us, message id
  std::priority_queue<due_entry, std::vector<due_entry>, std::greater<>> owed_due_;
  std::vector<uint64_t> owed_waiting_;   // for want of a bound receiver of their system_id
  std::vector<uint64_t> arrivals_;       // --arrivals, at most config_.arrivals_max
  std::vector<uint8_t> arrival_source_;  // index into arrival_sources_, per arrival
  std::vector<std::string> arrival_sources_;
  // Token bucket (--tps) in millionths of a token, so integer microseconds refill it exactly.
  uint64_t bucket_micro_tokens_ = 0;
  uint64_t bucket_capacity_ = 0;
  uint64_t bucket_refilled_us_ = 0;
  uint64_t error_threshold_ = 0;  // error when rng < threshold; 0 = never
  uint64_t rng_state_;
  uint64_t mo_micro_credit_ = 0;  // MO messages owed, in millionths, capped at 1/100 s worth
  uint64_t mo_refilled_us_ = 0;
  size_t mo_next_receiver_ = 0;
  std::array<std::pair<uint64_t, codec::receipt_date>, 2> cached_dates_{};  // unix second -> date
  // The receipt text after its id, as last built: receipts with the same dates and message
  // text reuse it (building each text from its fields cost a third of smsc-sim's time in bulk
  // runs with receipts).
  struct text_tail {
    bool valid = false;
    uint64_t submit_unix_s = 0;
    uint64_t done_unix_s = 0;
    uint8_t text_len = 0;
    char text[codec::max_receipt_text_size] = {};
    size_t tail_len = 0;
    char tail[max_receipt_text_octets] = {};
  };
  text_tail text_tail_;
  size_t next_cached_date_ = 0;
};

}  // namespace smpp::smsc_sim
