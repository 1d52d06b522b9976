#include "load_generator.hpp"

#include <time.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

#include "../common/out_chunk.hpp"
#include "smpp/codec/codec.hpp"
#include "smpp/codec/receipt.hpp"
#include "smpp/codec/status.hpp"

namespace smpp::esme_load {

using codec::command_id;
using codec::command_status;

namespace {

constexpr uint64_t micro = 1'000'000;
constexpr uint64_t nano_per_us = 1'000;
constexpr size_t max_reserve_octets = 64 * 1024;  // submit_sm written per reservation
constexpr size_t max_control_pdu_octets = 256;    // bind (strings <= 16 + 9 + 13 + 41) and friends
constexpr uint32_t max_distinct_errors = 64;      // more distinct statuses are folded into one
constexpr uint32_t other_status = 0xFFFFFFFF;
// Sequence numbers below 2^slot_bits (generation 0) are for the session's own control PDUs.
constexpr uint32_t bind_seq = 1;
constexpr uint32_t unbind_seq = 2;
constexpr unsigned min_slot_bits = 4;
constexpr uint64_t progress_interval_ns = 250'000'000;
constexpr int max_wait_us = 10'000;
// SMPP 3.4 §5.2.4 interface_version of the binds.
constexpr uint8_t interface_version_34 = 0x34;

uint64_t clock_ns(clockid_t clock) noexcept {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t now_ns() noexcept {
  return clock_ns(CLOCK_MONOTONIC);
}

}  // namespace

enum class session_state : uint8_t { connecting, binding, bound, unbinding, closed };

struct load_generator::session {
  conn_id conn = dataplane::invalid_conn;
  codec::stream_framer framer;
  session_state state = session_state::connecting;
  bool closing = false;  // close() called: nothing more is read or written
  bool sends = true;     // false: the receiver-only session of a tx run with --dlr
  unsigned slot_bits = min_slot_bits;
  uint32_t window = 0;
  // In-flight submit_sm: the sequence number carries the slot index in its low slot_bits and a
  // nonzero generation above, so a response finds its slot without a search.
  std::vector<uint32_t> slot_seq;      // 0 = free
  std::vector<uint64_t> slot_sent_ns;  // when the submit_sm was queued
  std::vector<uint32_t> free_slots;    // stack
  uint32_t outstanding = 0;
  uint32_t generation = 0;
  size_t schedule_at = 0;
  destination_counter destination;
  uint8_t ref = 0;
  tools::out_chunk out;  // open reservation in the transport's send queue

  uint32_t take_seq() noexcept {
    const uint32_t slot = free_slots.back();
    free_slots.pop_back();
    const uint32_t generations = (uint32_t{1} << (31 - slot_bits)) - 1;
    if (++generation > generations) generation = 1;  // never 0: that is the control range
    const uint32_t seq = (generation << slot_bits) | slot;
    slot_seq[slot] = seq;
    ++outstanding;
    return seq;
  }
};

double load_results::duration_s() const noexcept {
  return last_response_ns > first_submit_ns
             ? static_cast<double>(last_response_ns - first_submit_ns) / 1e9
             : 0.0;
}

double load_results::submit_per_s() const noexcept {
  const double d = duration_s();
  return d > 0 ? static_cast<double>(sent) / d : 0.0;
}

double load_results::receipt_duration_s() const noexcept {
  return last_match_ns > first_match_ns ? static_cast<double>(last_match_ns - first_match_ns) / 1e9
                                        : 0.0;
}

double load_results::receipts_per_s() const noexcept {
  const double d = receipt_duration_s();
  return d > 0 ? static_cast<double>(receipts_matched) / d : 0.0;
}

load_generator::load_generator(dataplane::transport& t, const load_config& config)
    : transport_(t),
      config_(config),
      results_(std::make_unique<load_results>()),
      templates_(build_templates({config.dlr, config.source_addr})),
      schedule_(build_schedule(config.mix)) {
  for (const message_template& m : templates_) {
    max_parts_ = std::max(max_parts_, m.parts.size());
    for (const pdu_template& p : m.parts)
      max_part_octets_ = std::max(max_part_octets_, p.octets.size());
  }
  results_->errors.reserve(max_distinct_errors + 1);
  results_->by_second = config_.per_second_max > 0;
  results_->dlr = config_.dlr;
  if (config_.dlr) receipt_ids_ = std::make_unique<receipt_tracker>(config_.dlr_track_max);
  if (config_.rate_per_s > 0) {
    // 1/100 s of credit, and at least two whole concatenated messages, so a message that needs
    // several parts of credit does not wait for a full bucket and lose what overflows it.
    credit_capacity_micro_ = std::max<uint64_t>(2 * max_parts_, config_.rate_per_s / 100) * micro;
  }
}

load_generator::~load_generator() = default;

load_generator::session* load_generator::find(conn_id c) noexcept {
  const size_t slot = dataplane::conn_slot(c);
  if (slot >= session_of_slot_.size() || session_of_slot_[slot] == 0) return nullptr;
  session* s = sessions_[session_of_slot_[slot] - 1].get();
  return s->conn == c ? s : nullptr;
}

void load_generator::on_accept(conn_id c, uint32_t, const dataplane::peer_address&) {
  transport_.close(c, true);  // esme-load never listens
}

void load_generator::on_connect(conn_id c, int err) {
  session* s = find(c);
  if (s == nullptr) return;
  if (err != 0) {
    std::fprintf(stderr, "\nesme-load: connect to %s failed: %s\n",
                 config_.connect.to_string().c_str(), std::strerror(err));
    s->state = session_state::closed;
    ++results_->bind_failures;
    return;
  }
  send_bind(*s);
  finish(*s);
}

void load_generator::send_bind(session& s) {
  codec::pdu p;
  // SMPP 3.4 §4.1: a transceiver both submits and receives; a transmitter only submits.
  p.id = !s.sends              ? command_id::bind_receiver
         : config_.transceiver ? command_id::bind_transceiver
                               : command_id::bind_transmitter;
  p.sequence_number = bind_seq;
  p.system_id = config_.system_id;
  p.password = config_.password;
  p.system_type = "";
  p.interface_version = interface_version_34;
  const std::span<std::byte> out = take(s, max_control_pdu_octets);
  if (out.empty()) return;
  const codec::encode_result e = codec::encode(p, out);
  if (!e.ok(out.size())) return;
  s.out.advance(e.needed);
  s.state = session_state::binding;
}

void load_generator::send_unbind(session& s) {
  const std::span<std::byte> out = take(s, codec::header_size);
  if (out.empty()) return;
  codec::write_header_only(out.first<codec::header_size>(), command_id::unbind,
                           command_status::ESME_ROK, unbind_seq);
  s.out.advance(codec::header_size);
  s.state = session_state::unbinding;
}

void load_generator::answer(session& s, command_id id, command_status status, uint32_t seq,
                            bool empty_message_id) {
  const size_t n = codec::header_size + (empty_message_id ? 1 : 0);
  const std::span<std::byte> out = take(s, n);
  if (out.empty()) return;  // send queue full: the SMSC's own timers will notice
  codec::store_be32(out.data(), static_cast<uint32_t>(n));
  codec::store_be32(out.data() + 4, static_cast<uint32_t>(id));
  codec::store_be32(out.data() + 8, static_cast<uint32_t>(status));
  codec::store_be32(out.data() + 12, seq);
  if (empty_message_id) out[codec::header_size] = std::byte{0};  // SMPP 3.4 §4.6.2: unused, NULL
  s.out.advance(n);
}

std::span<std::byte> load_generator::take(session& s, size_t n) {
  return s.out.take(transport_, s.conn, n);
}

void load_generator::finish(session& s) {
  (void)s.out.finish(transport_, s.conn);
}

void load_generator::on_writable(conn_id) {}

void load_generator::close_session(session& s) {
  finish(s);
  s.closing = true;
  transport_.close(s.conn);
}

void load_generator::on_close(conn_id c, int) {
  session* s = find(c);
  if (s == nullptr) return;
  if (s->state == session_state::connecting || s->state == session_state::binding) {
    ++results_->bind_failures;
  }
  // Whatever was still in flight on this connection will never be answered (and counts as
  // unanswered: sent but neither accepted nor rejected).
  s->outstanding = 0;
  std::fill(s->slot_seq.begin(), s->slot_seq.end(), 0);
  s->state = session_state::closed;
  s->out.drop();
  session_of_slot_[c & 0xFFFFFFFFu] = 0;
}

void load_generator::on_data(conn_id c, codec::bytes_view data) {
  session* s = find(c);
  if (s == nullptr || s->closing) return;
  const uint64_t now = now_ns();
  while (!data.empty()) {
    const auto r = s->framer.next(data);
    data = data.subspan(r.consumed);
    if (r.st == codec::stream_framer::state::need_more) break;
    if (r.st == codec::stream_framer::state::error) {
      // SMPP 3.4 §2.9: the stream can no longer be framed.
      answer(*s, command_id::generic_nack, r.nack_status, r.sequence_number, false);
      close_session(*s);
      return;
    }
    handle_frame(*s, r.frame, now);
    if (s->closing) return;
  }
  finish(*s);
}

void load_generator::complete(session& s, uint32_t seq, uint32_t status,
                              std::string_view message_id, uint64_t now) {
  const uint32_t slot = seq & ((uint32_t{1} << s.slot_bits) - 1);
  if (slot >= s.window || s.slot_seq[slot] != seq || seq == 0) {
    ++results_->responses_stray;  // answered already, or never asked
    return;
  }
  s.slot_seq[slot] = 0;
  s.free_slots.push_back(slot);
  --s.outstanding;
  load_results& r = *results_;
  const uint64_t sent = s.slot_sent_ns[slot];
  r.latency_ns.record(now > sent ? now - sent : 0);
  r.last_response_ns = now;
  last_activity_ns_ = now;
  if (status == 0) {
    ++r.accepted;
    if (r.by_second) count_accepted_second(now);
    if (config_.dlr) note_accepted(message_id, sent, now);
    return;
  }
  ++r.rejected;
  for (auto& [st, n] : r.errors) {
    if (st == status) {
      ++n;
      return;
    }
  }
  if (r.errors.size() >= max_distinct_errors) status = other_status;
  for (auto& [st, n] : r.errors) {
    if (st == status) {
      ++n;
      return;
    }
  }
  r.errors.emplace_back(status, 1);  // within the reserved capacity: no allocation
}

void load_generator::count_accepted_second(uint64_t now) {
  load_results& r = *results_;
  const uint64_t second = (realtime_at_start_ns_ + (now - start_ns_)) / 1'000'000'000ULL;
  if (!r.accepted_by_second.empty() && r.accepted_by_second.back().first == second) {
    ++r.accepted_by_second.back().second;
  } else if (r.accepted_by_second.size() < config_.per_second_max) {
    r.accepted_by_second.emplace_back(second, 1);
  } else {
    ++r.accepted_by_second_dropped;
  }
}

void load_generator::handle_frame(session& s, codec::bytes_view frame, uint64_t now) {
  const codec::pdu_header h = codec::peek_header(frame.data());
  const auto id = static_cast<command_id>(h.command_id);
  switch (id) {
    case command_id::submit_sm_resp:
      // The message id matters only for matching receipts (--dlr).
      complete(s, h.sequence_number, h.command_status,
               config_.dlr ? codec::resp_message_id(frame) : std::string_view{}, now);
      return;
    case command_id::generic_nack:
      if (h.sequence_number == bind_seq && s.state == session_state::binding) {
        close_session(s);
        return;
      }
      complete(s, h.sequence_number, h.command_status, {}, now);
      return;
    case command_id::bind_transceiver_resp:
    case command_id::bind_transmitter_resp:
    case command_id::bind_receiver_resp:
      if (s.state != session_state::binding) return;
      if (h.command_status == 0) {
        s.state = session_state::bound;
        ++results_->sessions_bound;
      } else {
        std::fprintf(
            stderr, "\nesme-load: bind refused: %s\n",
            std::string(codec::status_name(static_cast<command_status>(h.command_status))).c_str());
        close_session(s);  // still binding: on_close counts the failure
      }
      return;
    case command_id::deliver_sm:
    case command_id::data_sm: {
      codec::pdu p;
      if (const codec::decode_error e = codec::decode(frame, p)) {
        answer(s, codec::response_of(id), e.status, h.sequence_number, true);
        return;
      }
      last_activity_ns_ = now;
      if (codec::receipt_kind_from_esm_class(p.esm_class) != codec::receipt_kind::not_a_receipt) {
        ++results_->receipts;
        note_receipt(p, now);
      } else {
        ++results_->mo;
      }
      answer(s, codec::response_of(id), command_status::ESME_ROK, h.sequence_number, true);
      return;
    }
    case command_id::enquire_link:
      answer(s, command_id::enquire_link_resp, command_status::ESME_ROK, h.sequence_number, false);
      return;
    case command_id::unbind:
      // SMPP 3.4 §4.2: the SMSC ends the session; answer and let the connection go.
      answer(s, command_id::unbind_resp, command_status::ESME_ROK, h.sequence_number, false);
      s.state = session_state::unbinding;
      close_session(s);
      return;
    case command_id::unbind_resp:
      close_session(s);
      return;
    case command_id::enquire_link_resp:
      return;
    default:
      if (codec::has_response(id)) {
        answer(s, command_id::generic_nack, command_status::ESME_RINVCMDID, h.sequence_number,
               false);
      }
      return;
  }
}

void load_generator::note_accepted(std::string_view message_id, uint64_t sent_ns, uint64_t now_ns) {
  uint64_t latency = 0;
  switch (receipt_ids_->accepted(message_id, sent_ns, latency)) {
    case receipt_tracker::outcome::matched:
      count_match(latency, now_ns);
      return;
    case receipt_tracker::outcome::untracked:
      ++results_->receipt_ids_untracked;
      return;
    case receipt_tracker::outcome::waiting:
    case receipt_tracker::outcome::duplicate:
      return;
  }
}

void load_generator::note_receipt(const codec::pdu& p, uint64_t now_ns) {
  // SMPP 3.4 §5.3.2.12: receipted_message_id carries the id normatively; the text (Appendix B,
  // informative) is read only without it, since parsing it would cost more than the rest of a
  // receipt's handling together and cap the rate this load generator can offer.
  std::string_view id;
  if (const auto v = p.tlvs.find(codec::tag::receipted_message_id)) id = v->as_cstring();
  if (id.empty()) id = codec::receipt_message_id(p);
  load_results& r = *results_;
  if (id.empty()) {
    ++r.receipts_unknown;
    return;
  }
  uint64_t latency = 0;
  switch (receipt_ids_->receipt(id, now_ns, latency)) {
    case receipt_tracker::outcome::matched:
      count_match(latency, now_ns);
      return;
    case receipt_tracker::outcome::duplicate:
      ++r.receipts_duplicate;
      return;
    case receipt_tracker::outcome::untracked:
      ++r.receipts_unknown;
      return;
    case receipt_tracker::outcome::waiting:
      return;
  }
}

void load_generator::count_match(uint64_t latency_ns, uint64_t now_ns) {
  load_results& r = *results_;
  ++r.receipts_matched;
  r.receipt_latency_ns.record(latency_ns);
  if (r.first_match_ns == 0) r.first_match_ns = now_ns;
  r.last_match_ns = now_ns;
}

bool load_generator::receipts_complete() const noexcept {
  const load_results& r = *results_;
  if (r.receipt_ids_untracked > 0) return r.receipts >= r.accepted;  // beyond the bound
  return r.receipts_matched >= r.accepted;
}

bool load_generator::sending_done(uint64_t now) const noexcept {
  if (config_.count > 0) return results_->sent >= config_.count;
  return now >= send_started_ns_ + static_cast<uint64_t>(config_.duration_s * 1e9);
}

void load_generator::refill(uint64_t now) {
  load_results& r = *results_;
  uint64_t credit = std::numeric_limits<uint64_t>::max();
  if (config_.rate_per_s > 0) {
    const uint64_t elapsed_us =
        std::min<uint64_t>((now - credit_refilled_ns_) / nano_per_us, 10 * micro);
    credit_micro_ =
        std::min(credit_capacity_micro_, credit_micro_ + elapsed_us * config_.rate_per_s);
    // Advance by whole microseconds only, so no fraction of the elapsed time is lost.
    credit_refilled_ns_ += elapsed_us * nano_per_us;
    credit = credit_micro_ / micro;
  }
  uint64_t budget = config_.count > 0 ? config_.count - std::min(config_.count, r.sent)
                                      : std::numeric_limits<uint64_t>::max();
  const uint64_t credit_before = credit;
  const size_t n_sessions = sessions_.size();
  for (size_t k = 0; k < n_sessions && credit > 0 && budget > 0; ++k) {
    session& s = *sessions_[(next_session_ + k) % n_sessions];
    if (s.state != session_state::bound || !s.sends || s.closing) continue;
    uint64_t room = s.window - s.outstanding;
    bool progress = true;
    while (progress && room > 0 && credit > 0 && budget > 0) {
      // One reservation of at most max_reserve_octets at a time, within the send queue bound.
      const uint64_t pdus = std::min({room, credit, budget, max_reserve_octets / max_part_octets_});
      const std::span<std::byte> out = take(s, std::max(pdus, max_parts_) * max_part_octets_);
      if (out.empty()) break;  // send queue full: the SMSC is not reading fast enough
      size_t used = 0;
      progress = false;
      while (room > 0 && credit > 0 && budget > 0) {
        const message_template* m = &templates_[static_cast<size_t>(schedule_[s.schedule_at])];
        // A count run ends on whole messages: a single part fills what a multi-part cannot.
        if (m->parts.size() > budget) m = &templates_[static_cast<size_t>(message_kind::gsm)];
        const size_t parts = m->parts.size();
        if (parts > room || parts > credit || used + m->octets > out.size()) break;
        used += write_message(*m, out.subspan(used), s.destination, s.ref, [&](size_t) {
          const uint32_t seq = s.take_seq();
          s.slot_sent_ns[seq & ((uint32_t{1} << s.slot_bits) - 1)] = now;
          return seq;
        });
        s.destination.next();
        if (parts > 1) ++s.ref;
        if (++s.schedule_at == schedule_.size()) s.schedule_at = 0;
        room -= parts;
        credit -= parts;
        budget -= parts;
        r.sent += parts;
        progress = true;
      }
      s.out.advance(used);
      finish(s);
    }
  }
  // Only a lack of credit is worth waking up for; a full window or send queue ends with a
  // response or on_writable, both of which wake the poll.
  credit_limited_ = config_.rate_per_s > 0 && credit < max_parts_ && budget > 0;
  next_session_ = (next_session_ + 1) % std::max<size_t>(1, n_sessions);
  if (config_.rate_per_s > 0) credit_micro_ -= (credit_before - credit) * micro;
  if (r.first_submit_ns == 0 && r.sent > 0) r.first_submit_ns = now;
}

uint64_t load_generator::outstanding() const noexcept {
  uint64_t n = 0;
  for (const auto& s : sessions_) n += s->outstanding;
  return n;
}

void load_generator::enter(phase p, uint64_t now) {
  phase_ = p;
  phase_started_ns_ = now;
  if (p == phase::sending) {
    send_started_ns_ = now;
    credit_refilled_ns_ = now;
    credit_micro_ = credit_capacity_micro_;
  } else if (p == phase::unbinding) {
    for (auto& s : sessions_) {
      if (s->state == session_state::bound) {
        send_unbind(*s);
        finish(*s);
      } else if (s->state == session_state::connecting || s->state == session_state::binding) {
        transport_.close(s->conn, true);
        s->closing = true;
      }
    }
    transport_.flush();
  } else if (p == phase::done) {
    for (auto& s : sessions_) {
      if (s->state != session_state::closed && !s->closing) transport_.close(s->conn, true);
      s->closing = true;
    }
  }
}

void load_generator::advance_phase(uint64_t now, int interrupts) {
  auto any = [this](session_state st) {
    return std::any_of(sessions_.begin(), sessions_.end(),
                       [st](const auto& s) { return s->state == st; });
  };
  if (interrupts >= 3 && phase_ != phase::done) {
    enter(phase::done, now);
    return;
  }
  if (interrupts >= 2 && phase_ < phase::unbinding) {
    enter(phase::unbinding, now);
    return;
  }
  switch (phase_) {
    case phase::binding:
      if (interrupts >= 1) {
        enter(phase::unbinding, now);
      } else if (!any(session_state::connecting) && !any(session_state::binding)) {
        enter(results_->sessions_bound > 0 ? phase::sending : phase::done, now);
      } else if (now - phase_started_ns_ > config_.bind_timeout_us * nano_per_us) {
        std::fprintf(stderr, "\nesme-load: bind timed out\n");
        for (auto& s : sessions_) {
          if (s->state == session_state::connecting || s->state == session_state::binding) {
            transport_.close(s->conn, true);
            s->closing = true;
            s->state = session_state::closed;
            ++results_->bind_failures;
          }
        }
        enter(results_->sessions_bound > 0 ? phase::sending : phase::done, now);
      }
      return;
    case phase::sending: {
      const bool can_send = std::any_of(sessions_.begin(), sessions_.end(), [](const auto& s) {
        return s->sends && s->state == session_state::bound && !s->closing;
      });
      if (interrupts >= 1 || sending_done(now) || !can_send) {
        enter(phase::draining, now);
      }
      return;
    }
    case phase::draining:
      if (outstanding() == 0) {
        last_activity_ns_ = std::max(last_activity_ns_, now);
        enter(config_.dlr && any(session_state::bound) ? phase::receipts : phase::unbinding, now);
      } else if (now - phase_started_ns_ > config_.response_timeout_us * nano_per_us) {
        std::fprintf(stderr, "\nesme-load: %llu submit_sm unanswered after %.1f s\n",
                     static_cast<unsigned long long>(outstanding()),
                     static_cast<double>(config_.response_timeout_us) / 1e6);
        enter(phase::unbinding, now);
      }
      return;
    case phase::receipts:
      if (receipts_complete() || now - last_activity_ns_ > config_.dlr_wait_us * nano_per_us) {
        enter(phase::unbinding, now);
      }
      return;
    case phase::unbinding:
      if (!any(session_state::unbinding) && !any(session_state::bound)) {
        enter(phase::done, now);
      } else if (now - phase_started_ns_ > config_.unbind_timeout_us * nano_per_us) {
        enter(phase::done, now);
      }
      return;
    case phase::done:
      return;
  }
}

int load_generator::poll_timeout_us() const {
  if (config_.busy_poll && (phase_ == phase::sending || phase_ == phase::draining)) return 0;
  if (phase_ != phase::sending) return max_wait_us;
  if (!credit_limited_) return max_wait_us;  // responses and on_writable wake the poll
  // Paced: until the next whole message of credit.
  const uint64_t missing = credit_micro_ >= micro ? 0 : micro - credit_micro_;
  const uint64_t wait_us = (missing + config_.rate_per_s - 1) / config_.rate_per_s;
  return static_cast<int>(std::min<uint64_t>(wait_us, max_wait_us));
}

void load_generator::print_progress(uint64_t now, bool final_line) {
  if (!config_.progress) return;
  if (!final_line && now - progress_at_ns_ < progress_interval_ns) return;
  const load_results& r = *results_;
  const double dt = static_cast<double>(now - progress_at_ns_) / 1e9;
  const double rate =
      dt > 0 && progress_at_ns_ != 0 ? static_cast<double>(r.sent - progress_sent_) / dt : 0.0;
  const double elapsed = static_cast<double>(now - start_ns_) / 1e9;
  std::fprintf(stderr,
               "\resme-load: sent %llu accepted %llu errors %llu rate %.0f/s elapsed %.1fs   ",
               static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.accepted),
               static_cast<unsigned long long>(r.rejected), rate, elapsed);
  if (final_line) std::fputc('\n', stderr);
  std::fflush(stderr);
  progress_at_ns_ = now;
  progress_sent_ = r.sent;
  progress_printed_ = true;
}

void load_generator::run(const volatile std::sig_atomic_t& interrupts) {
  start_ns_ = now_ns();
  realtime_at_start_ns_ = clock_ns(CLOCK_REALTIME);
  progress_at_ns_ = start_ns_;
  const unsigned slot_bits =
      std::max(min_slot_bits, static_cast<unsigned>(std::bit_width(config_.window - 1)));
  const uint32_t total = config_.sessions + (config_.dlr && !config_.transceiver ? 1 : 0);
  results_->sessions = total;
  for (uint32_t i = 0; i < total; ++i) {
    auto s = std::make_unique<session>();
    s->sends = i < config_.sessions;
    s->slot_bits = slot_bits;
    s->window = config_.window;
    s->slot_seq.assign(config_.window, 0);
    s->slot_sent_ns.assign(config_.window, 0);
    s->free_slots.reserve(config_.window);
    for (uint32_t k = config_.window; k-- > 0;) s->free_slots.push_back(k);
    s->destination = destination_counter((uint64_t{i} * 1'000'003) % 100'000'000);
    s->schedule_at = i % schedule_.size();  // sessions start at different points of the mix
    int err = 0;
    s->conn = transport_.connect(config_.connect, err);
    if (s->conn == dataplane::invalid_conn) {
      std::fprintf(stderr, "esme-load: connect to %s failed: %s\n",
                   config_.connect.to_string().c_str(), std::strerror(err));
      s->state = session_state::closed;
      ++results_->bind_failures;
    } else {
      const size_t slot = s->conn & 0xFFFFFFFFu;
      if (slot >= session_of_slot_.size()) session_of_slot_.resize(slot + 1, 0);
      session_of_slot_[slot] = static_cast<uint32_t>(sessions_.size() + 1);
    }
    sessions_.push_back(std::move(s));
  }
  phase_started_ns_ = start_ns_;

  while (phase_ != phase::done) {
    const uint64_t now = now_ns();
    advance_phase(now, static_cast<int>(interrupts));
    if (phase_ == phase::done) break;
    if (phase_ == phase::sending) {
      refill(now);
      transport_.flush();
    }
    print_progress(now, false);
    transport_.poll(poll_timeout_us());
  }
  transport_.poll(0);  // let the aborted connections go
  if (receipt_ids_) results_->receipts_unknown += receipt_ids_->receipted_only();
  if (progress_printed_) print_progress(now_ns(), true);
}

std::string to_json(const load_results& r) {
  char buf[256];
  std::string out = "{";
  auto num = [&out](std::string_view key, uint64_t v) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += key;
    out += "\":";
    out += std::to_string(v);
  };
  auto real = [&out, &buf](std::string_view key, double v) {
    if (out.size() > 1 && out.back() != '{') out += ',';
    std::snprintf(buf, sizeof buf, "%.3f", v);
    out += '"';
    out += key;
    out += "\":";
    out += buf;
  };
  // Nanoseconds recorded, microseconds reported.
  auto percentiles = [&out, &real](std::string_view key, const latency_histogram& h) {
    out += ",\"";
    out += key;
    out += "\":{";
    real("p50", static_cast<double>(h.percentile(0.50)) / 1e3);
    real("p99", static_cast<double>(h.percentile(0.99)) / 1e3);
    real("p999", static_cast<double>(h.percentile(0.999)) / 1e3);
    real("max", static_cast<double>(h.max()) / 1e3);
    out += '}';
  };
  num("sent", r.sent);
  num("accepted", r.accepted);
  out += ",\"errors\":{";
  for (size_t i = 0; i < r.errors.size(); ++i) {
    const auto [status, n] = r.errors[i];
    std::string name(codec::status_name(static_cast<command_status>(status)));
    if (status == other_status) {
      name = "other";
    } else if (name.empty()) {
      std::snprintf(buf, sizeof buf, "0x%08X", status);
      name = buf;
    }
    if (i > 0) out += ',';
    out += '"' + name + "\":" + std::to_string(n);
  }
  out += '}';
  num("responses_stray", r.responses_stray);
  num("receipts", r.receipts);
  num("receipts_matched", r.receipts_matched);
  num("receipts_duplicate", r.receipts_duplicate);
  num("receipts_unknown", r.receipts_unknown);
  num("receipt_ids_untracked", r.receipt_ids_untracked);
  num("mo", r.mo);
  real("duration_s", r.duration_s());
  real("submit_per_s", r.submit_per_s());
  percentiles("latency_us", r.latency_ns);
  if (r.dlr) {
    real("receipt_duration_s", r.receipt_duration_s());
    real("receipts_per_s", r.receipts_per_s());
    percentiles("receipt_latency_us", r.receipt_latency_ns);
  }
  num("unanswered", r.unanswered());
  num("sessions", r.sessions);
  num("sessions_bound", r.sessions_bound);
  num("bind_failures", r.bind_failures);
  if (r.by_second) {
    out += ",\"accepted_by_second\":{";
    for (size_t i = 0; i < r.accepted_by_second.size(); ++i) {
      if (i > 0) out += ',';
      out += '"' + std::to_string(r.accepted_by_second[i].first) +
             "\":" + std::to_string(r.accepted_by_second[i].second);
    }
    out += '}';
    num("accepted_by_second_dropped", r.accepted_by_second_dropped);
  }
  out += "}\n";
  return out;
}

std::string summary_line(const load_results& r) {
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      "esme-load: sent %llu accepted %llu errors %llu unanswered %llu receipts %llu "
      "mo %llu in %.2f s: %.0f submit_sm/s, latency p50 %.0f us p99 %.0f us max %.0f us",
      static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.accepted),
      static_cast<unsigned long long>(r.rejected), static_cast<unsigned long long>(r.unanswered()),
      static_cast<unsigned long long>(r.receipts), static_cast<unsigned long long>(r.mo),
      r.duration_s(), r.submit_per_s(), static_cast<double>(r.latency_ns.percentile(0.50)) / 1e3,
      static_cast<double>(r.latency_ns.percentile(0.99)) / 1e3,
      static_cast<double>(r.latency_ns.max()) / 1e3);
  std::string line = buf;
  if (r.dlr) {
    std::snprintf(buf, sizeof buf,
                  "; receipts matched %llu (%.0f/s), receipt latency p50 %.0f us p99 %.0f us",
                  static_cast<unsigned long long>(r.receipts_matched), r.receipts_per_s(),
                  static_cast<double>(r.receipt_latency_ns.percentile(0.50)) / 1e3,
                  static_cast<double>(r.receipt_latency_ns.percentile(0.99)) / 1e3);
    line += buf;
  }
  return line + "\n";
}

}  // namespace smpp::esme_load
