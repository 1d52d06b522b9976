// esme-load's engine: N ESME sessions over any dataplane transport that bind, keep a window of
// submit_sm outstanding at a paced or unlimited rate, answer deliver_sm, unbind, and measure.
// Single-threaded: run() owns the poll loop.
#pragma once

#include <algorithm>
#include <array>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "latency_histogram.hpp"
#include "message_templates.hpp"
#include "receipt_tracker.hpp"
#include "smpp/codec/framer.hpp"
#include "smpp/codec/pdu.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::esme_load {

using dataplane::conn_id;

struct load_config {
  dataplane::endpoint connect;
  std::string system_id;
  std::string password;
  uint32_t sessions = 1;
  uint32_t window = 64;     // outstanding submit_sm per session
  uint64_t rate_per_s = 0;  // submit_sm per second over all sessions; 0 = unpaced
  uint64_t count = 0;       // submit_sm to send; 0 = run for duration_s
  double duration_s = 0;
  bool dlr = false;         // ask for receipts and wait for them
  bool transceiver = true;  // bind_transceiver, else bind_transmitter (+1 receiver for --dlr)
  message_mix mix = {100, 0, 0};
  bool progress = false;   // a live status line on stderr
  bool busy_poll = false;  // poll without waiting while submit_sm are in flight
  // --per-second N: accepted responses counted per wall-clock second, for the first N seconds
  // that had one (0: not counted).
  uint32_t per_second_max = 0;
  std::string source_addr = "esme-load";  // of every submit_sm (--source-addr)
  uint64_t bind_timeout_us = 10'000'000;
  uint64_t response_timeout_us = 10'000'000;  // after the last submit, for the responses
  uint64_t dlr_wait_us = 5'000'000;           // after the last response or receipt
  size_t dlr_track_max = 4'000'000;           // --dlr-track: accepted message ids matched at most
  uint64_t unbind_timeout_us = 2'000'000;
};

struct load_results {
  uint64_t sent = 0;      // submit_sm PDUs (each part of a concatenated message counts)
  uint64_t accepted = 0;  // submit_sm_resp ESME_ROK
  uint64_t rejected = 0;  // responses with any other status (generic_nack included)
  // Responses to no outstanding submit_sm: a second answer to one request, or an answer to a
  // sequence number never sent. Not counted in accepted or rejected.
  uint64_t responses_stray = 0;
  std::vector<std::pair<uint32_t, uint64_t>> errors;  // command_status -> count
  uint64_t receipts = 0;
  // --dlr, receipts matched to accepted messages by message id:
  uint64_t receipts_matched = 0;       // accepted messages that got a receipt
  uint64_t receipts_duplicate = 0;     // further receipts for one of them
  uint64_t receipts_unknown = 0;       // receipts for no message seen accepted (or no id)
  uint64_t receipt_ids_untracked = 0;  // accepted beyond the tracking bound: not matched
  // When the first and the last match happened (the later of a message's response and
  // receipt): the span over which matched receipts arrived.
  uint64_t first_match_ns = 0;
  uint64_t last_match_ns = 0;
  uint64_t mo = 0;
  uint32_t sessions = 0;
  uint32_t sessions_bound = 0;
  uint32_t bind_failures = 0;  // refused binds and failed connects
  uint64_t first_submit_ns = 0;
  uint64_t last_response_ns = 0;
  latency_histogram latency_ns;
  bool dlr = false;
  latency_histogram receipt_latency_ns;  // --dlr: submit_sm sent -> its receipt, matched ones
  // --per-second: (unix second, accepted in it), in time order. Seconds are CLOCK_REALTIME as
  // it stood when the run started plus CLOCK_MONOTONIC since, so separate esme-load processes
  // line up and a clock step during the run moves nothing. At most per_second_max entries; the
  // accepted in later seconds are counted in accepted_by_second_dropped.
  bool by_second = false;
  std::vector<std::pair<uint64_t, uint64_t>> accepted_by_second;
  uint64_t accepted_by_second_dropped = 0;
  [[nodiscard]] double duration_s() const noexcept;
  [[nodiscard]] double submit_per_s() const noexcept;
  [[nodiscard]] double receipt_duration_s() const noexcept;
  [[nodiscard]] double receipts_per_s() const noexcept;  // matched over receipt_duration_s
  // Sent and never answered: timed out, or the connection was lost.
  [[nodiscard]] uint64_t unanswered() const noexcept {
    return sent - std::min(sent, accepted + rejected);
  }
  [[nodiscard]] bool complete() const noexcept {  // every sent message was answered
    return sessions_bound > 0 && sent == accepted + rejected;
  }
};

// The report: one JSON object on one line (RFC 8259), newline-terminated.
[[nodiscard]] std::string to_json(const load_results& r);
// One human-readable summary line, newline-terminated.
[[nodiscard]] std::string summary_line(const load_results& r);

class load_generator final : public dataplane::transport_handler {
 public:
  load_generator(dataplane::transport& t, const load_config& config);
  ~load_generator() override;
  load_generator(const load_generator&) = delete;
  load_generator& operator=(const load_generator&) = delete;

  // Runs the whole test. interrupts counts SIGINTs: 1 stops sending (and drains), 2 skips to
  // unbinding, 3 stops at once.
  void run(const volatile std::sig_atomic_t& interrupts);
  [[nodiscard]] const load_results& results() const noexcept { return *results_; }

  void on_accept(conn_id c, uint32_t listener, const dataplane::peer_address& peer) override;
  void on_connect(conn_id c, int err) override;
  void on_data(conn_id c, codec::bytes_view data) override;
  void on_writable(conn_id c) override;
  void on_close(conn_id c, int err) override;

 private:
  enum class phase : uint8_t { binding, sending, draining, receipts, unbinding, done };
  struct session;

  session* find(conn_id c) noexcept;
  void handle_frame(session& s, codec::bytes_view frame, uint64_t now_ns);
  void complete(session& s, uint32_t seq, uint32_t status, std::string_view message_id,
                uint64_t now_ns);
  void note_accepted(std::string_view message_id, uint64_t sent_ns, uint64_t now_ns);
  void note_receipt(const codec::pdu& p, uint64_t now_ns);
  void count_match(uint64_t latency_ns, uint64_t now_ns);
  void count_accepted_second(uint64_t now_ns);
  [[nodiscard]] bool receipts_complete() const noexcept;
  void close_session(session& s);
  void send_bind(session& s);
  void send_unbind(session& s);
  void answer(session& s, codec::command_id id, codec::command_status status, uint32_t seq,
              bool empty_message_id);
  void refill(uint64_t now_ns);
  void advance_phase(uint64_t now_ns, int interrupts);
  void enter(phase p, uint64_t now_ns);
  void print_progress(uint64_t now_ns, bool final_line);
  [[nodiscard]] int poll_timeout_us() const;
  [[nodiscard]] uint64_t outstanding() const noexcept;
  [[nodiscard]] bool sending_done(uint64_t now_ns) const noexcept;
  std::span<std::byte> take(session& s, size_t n);
  void finish(session& s);

  dataplane::transport& transport_;
  load_config config_;
  std::unique_ptr<load_results> results_;  // large (the histogram): kept off the stack
  std::array<message_template, message_kind_count> templates_;
  std::vector<message_kind> schedule_;
  size_t max_part_octets_ = 0;
  size_t max_parts_ = 1;
  std::vector<std::unique_ptr<session>> sessions_;
  std::vector<uint32_t> session_of_slot_;  // the handle's slot index -> session index + 1
  size_t next_session_ = 0;                // round-robin start of refill()
  phase phase_ = phase::binding;
  uint64_t phase_started_ns_ = 0;
  uint64_t start_ns_ = 0;
  uint64_t realtime_at_start_ns_ = 0;  // CLOCK_REALTIME at start_ns_, for --per-second
  uint64_t send_started_ns_ = 0;
  uint64_t last_activity_ns_ = 0;
  // Pacing (--rate): a token bucket in millionths of a message, 1/100 s deep.
  uint64_t credit_micro_ = 0;
  uint64_t credit_capacity_micro_ = 0;
  uint64_t credit_refilled_ns_ = 0;
  bool credit_limited_ = false;  // refill() stopped for want of --rate credit
  uint64_t progress_at_ns_ = 0;
  uint64_t progress_sent_ = 0;
  bool progress_printed_ = false;
  std::unique_ptr<receipt_tracker> receipt_ids_;  // --dlr only
};

}  // namespace smpp::esme_load
