#include "simulator.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <span>
#include <string_view>
#include <tuple>

#include "../common/out_chunk.hpp"
#include "smpp/codec/tlv.hpp"

namespace smpp::smsc_sim {

using codec::command_id;
using codec::command_status;

namespace {

constexpr uint32_t no_system = std::numeric_limits<uint32_t>::max();
constexpr uint64_t micro = 1'000'000;
// Octets reserved at a time in a connection's send queue: many responses share one reservation.
// Enough for any PDU this simulator writes (deliver_sm: short_message <= 254 plus small fields).
constexpr size_t max_written_pdu_octets = 512;
// Bound on the responses one session may hold back (latency or a full send queue); a client
// that keeps sending beyond it without reading is disconnected.
constexpr size_t max_pending_responses = 1u << 20;
// MO messages sent per timer run at most, so a stalled loop catches up in small bursts.
constexpr uint64_t max_mo_per_run = 4096;
constexpr std::string_view smsc_system_id = "smsc-sim";
// SMPP 3.4 §5.3.2.25: sc_interface_version 0x34.
constexpr uint8_t interface_version_34 = 0x34;
// Journal: receipts a session may have sent and not yet seen answered (a ring indexed by the
// deliver_sm sequence number; an entry overwritten before its answer is sent again later).
constexpr size_t receipts_out_slots = 4096;
// Journal: a receipt the ESME refused, or whose answer cannot be matched, is sent again after
// this long.
constexpr uint64_t receipt_retry_us = 1'000'000;
// Journal: message ids are reserved in blocks of this many ("I" records), so a restart never
// hands out an id again, whatever the clock does, at one small append per block.
constexpr uint64_t message_id_block = uint64_t{1} << 20;
// Journal: longer lines are not ours (an "A" record is at most about 230 octets).
constexpr size_t max_journal_line = 512;

// Our deliver_sm sequence numbers carry their kind in the low bit, so a deliver_sm_resp is
// counted as a receipt or MO acknowledgement without a table of outstanding requests.
enum class deliver_kind : uint32_t { receipt = 0, mo = 1 };

// Writes v as lowercase hex without leading zeros; returns the digits written (1..16).
size_t put_hex(char* out, uint64_t v) noexcept {
  static constexpr char digits[] = "0123456789abcdef";
  const size_t n = v == 0 ? 1 : static_cast<size_t>((64 - __builtin_clzll(v) + 3) / 4);
  for (size_t i = n; i-- > 0;) {
    out[i] = digits[v & 0xF];
    v >>= 4;
  }
  return n;
}

size_t copy_field(char* dst, size_t cap, std::string_view s) noexcept {
  const size_t n = std::min(cap, s.size());
  std::memcpy(dst, s.data(), n);
  return n;
}

enum class bind_state : uint8_t { open, transmitter, receiver, transceiver };

bool is_transmitter(bind_state s) noexcept {
  return s == bind_state::transmitter || s == bind_state::transceiver;
}
bool is_receiver(bind_state s) noexcept {
  return s == bind_state::receiver || s == bind_state::transceiver;
}

uint64_t monotonic_us() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * micro + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// Journal fields: text as hex pairs ("-" when empty), so no field ever holds a space or newline.
void put_hex_text(std::string& out, std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  if (s.empty()) {
    out += '-';
    return;
  }
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    out += digits[c >> 4];
    out += digits[c & 0xF];
  }
}

void put_number(std::string& out, uint64_t v, int base) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, base);
  out.append(buf, r.ptr);
}

bool parse_number(std::string_view s, uint64_t& v, int base, uint64_t max) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size() && v <= max;
}

// Decodes a put_hex_text field into dst (at most cap octets).
bool parse_hex_text(std::string_view s, char* dst, size_t cap, uint8_t& len) {
  if (s == "-") {
    len = 0;
    return true;
  }
  if (s.empty() || s.size() % 2 != 0 || s.size() / 2 > cap) return false;
  for (size_t i = 0; i < s.size(); i += 2) {
    uint64_t v = 0;
    if (!parse_number(s.substr(i, 2), v, 16, 0xFF)) return false;
    dst[i / 2] = static_cast<char>(v);
  }
  len = static_cast<uint8_t>(s.size() / 2);
  return true;
}

// Writes all of data to fd (a regular file: short writes only on errors or a full disk).
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

struct pending_response {
  uint64_t due_us = 0;
  uint64_t message_id = 0;
  uint32_t seq = 0;
  command_id id = command_id::generic_nack;
  command_status status = command_status::ESME_ROK;
};

}  // namespace

struct simulator::session {
  explicit session(conn_id c) : conn(c) {}
  conn_id conn;
  codec::stream_framer framer;
  bind_state state = bind_state::open;
  bool closing = false;
  uint32_t system = no_system;
  uint32_t next_seq = 1;
  std::deque<pending_response> responses;  // FIFO: the latency is the same for all
  tools::out_chunk out;                    // open reservation in the transport's send queue
  // Journal: (deliver_sm sequence number, message id) of receipts awaiting their answer; empty
  // until the first one.
  std::vector<std::pair<uint32_t, uint64_t>> receipts_out;
};

struct simulator::receipt_job {
  uint64_t due_us = 0;
  conn_id origin = dataplane::invalid_conn;
  uint64_t message_id = 0;
  uint64_t submit_unix_s = 0;
  uint32_t system = no_system;
  uint8_t source_ton = 0, source_npi = 0, dest_ton = 0, dest_npi = 0;
  uint8_t source_len = 0, dest_len = 0, text_len = 0;
  char source[21] = {};
  char dest[21] = {};
  char text[codec::max_receipt_text_size] = {};
};

// A receipt the journal says is owed, and where it is now: due (in owed_due_), sent (in a
// session's receipts_out) or waiting (in owed_waiting_, for a receiver of its system_id).
struct simulator::owed_receipt {
  enum class where : uint8_t { due, sent, waiting };
  receipt_job job;
  where at = where::due;
  bool replayed = false;  // loaded from the journal at start
};

simulator::simulator(dataplane::transport& t, const sim_config& config)
    : transport_(t), config_(config), rng_state_(config.seed | 1) {
  if (config_.tps > 0) {
    // A small burst: 1/100 s worth of messages, at least one.
    bucket_capacity_ = std::max<uint64_t>(1, config_.tps / 100) * micro;
    bucket_micro_tokens_ = bucket_capacity_;
  }
  if (config_.error_rate > 0) {
    const long double share = std::min<long double>(config_.error_rate, 1.0L);
    error_threshold_ = share >= 1.0L ? std::numeric_limits<uint64_t>::max()
                                     : static_cast<uint64_t>(share * 18446744073709551616.0L);
  }
}

simulator::~simulator() {
  flush_journal();
  if (journal_fd_ >= 0) ::close(journal_fd_);
}

simulator::session* simulator::find(conn_id c) noexcept {
  const size_t slot = c & 0xFFFFFFFFu;
  if (slot >= sessions_.size()) return nullptr;
  session* s = sessions_[slot].get();
  return s != nullptr && s->conn == c ? s : nullptr;
}

void simulator::on_accept(conn_id c, uint32_t, const dataplane::peer_address&) {
  const size_t slot = c & 0xFFFFFFFFu;
  if (slot >= sessions_.size()) sessions_.resize(slot + 1);
  sessions_[slot] = std::make_unique<session>(c);
  live_.push_back(c);
  ++counters_.connections;
}

void simulator::on_connect(conn_id, int) {}

void simulator::on_close(conn_id c, int) {
  const size_t slot = c & 0xFFFFFFFFu;
  session* s = find(c);
  if (s == nullptr) return;
  // Receipts it never answered are owed still: they go to another receiver, or wait for one.
  const uint64_t due = monotonic_us() + config_.dlr_delay_us;
  for (const auto& [seq, message_id] : s->receipts_out) {
    if (message_id != 0) owe_again(message_id, due);
  }
  sessions_[slot].reset();
  live_.erase(std::find(live_.begin(), live_.end(), c));
  ++counters_.disconnects;
}

void simulator::on_writable(conn_id c) {
  session* s = find(c);
  if (s == nullptr || s->closing) return;
  const uint64_t now_us = monotonic_us();
  drain_responses(*s, now_us);
  finish(*s);
}

void simulator::on_data(conn_id c, codec::bytes_view data) {
  counters_.bytes_in += data.size();
  session* s = find(c);
  if (s == nullptr || s->closing) return;
  const uint64_t now_us = monotonic_us();
  while (!data.empty() && !s->closing) {
    const auto r = s->framer.next(data);
    data = data.subspan(r.consumed);
    if (r.st == codec::stream_framer::state::need_more) break;
    if (r.st == codec::stream_framer::state::error) {
      // SMPP 3.4 §2.9: the stream cannot be framed any more; generic_nack, then close.
      answer_header_only(*s, command_id::generic_nack, r.nack_status, r.sequence_number);
      ++counters_.generic_nacks;
      s->closing = true;
      break;
    }
    handle_frame(*s, r.frame, now_us);
  }
  finish(*s);
  if (s->closing) transport_.close(c);
}

void simulator::handle_frame(session& s, codec::bytes_view frame, uint64_t now_us) {
  const codec::pdu_header h = codec::peek_header(frame.data());
  const auto id = static_cast<command_id>(h.command_id);
  if (id == command_id::deliver_sm_resp) {
    handle_deliver_sm_resp(s, h, now_us);  // only the header matters
    return;
  }
  if (id == command_id::submit_sm) {
    // The common shape, and no receipt asked: the sequence number and source_addr are all it
    // needs, read without a full decode (peek_submit_sm checks the fields as decode() does).
    codec::submit_sm_peek peek;
    if (codec::peek_submit_sm(frame, peek) && (peek.registered_delivery & 0x03) != 0x01) {
      ++counters_.submit_sm;
      handle_message(s, id, peek.sequence_number, peek.source_addr, peek.registered_delivery,
                     nullptr, now_us);
      return;
    }
  }
  codec::pdu& p = decoded_;  // decode() resets it: no second initialisation per PDU
  if (const codec::decode_error e = codec::decode(frame, p)) {
    if (!codec::is_known_command(h.command_id)) {
      answer_header_only(s, command_id::generic_nack, command_status::ESME_RINVCMDID,
                         h.sequence_number);
      ++counters_.generic_nacks;
    } else if (codec::has_response(id)) {
      answer_header_only(s, codec::response_of(id), e.status, h.sequence_number);
      ++counters_.rejected;
    }
    return;
  }
  switch (id) {
    case command_id::submit_sm:
      ++counters_.submit_sm;
      handle_message(s, id, p.sequence_number, p.source_addr, p.registered_delivery, &p, now_us);
      return;
    case command_id::data_sm:
      ++counters_.data_sm;
      handle_message(s, id, p.sequence_number, p.source_addr, p.registered_delivery, &p, now_us);
      return;
    case command_id::submit_multi:
      ++counters_.submit_multi;
      handle_message(s, id, p.sequence_number, p.source_addr, p.registered_delivery, &p, now_us);
      return;
    case command_id::bind_transmitter:
    case command_id::bind_receiver:
    case command_id::bind_transceiver:
      handle_bind(s, p);
      if (is_receiver(s.state)) wake_waiting_receipts(s.system, now_us);
      return;
    case command_id::enquire_link:
      ++counters_.enquire_links;
      answer_header_only(s, command_id::enquire_link_resp, command_status::ESME_ROK,
                         p.sequence_number);
      return;
    case command_id::unbind:
      // SMPP 3.4 §4.2: answer, then the connection goes away.
      ++counters_.unbinds;
      answer_header_only(s, command_id::unbind_resp, command_status::ESME_ROK, p.sequence_number);
      s.closing = true;
      return;
    case command_id::unbind_resp:
      s.closing = true;
      return;
    case command_id::generic_nack:
    case command_id::enquire_link_resp:
      return;
    case command_id::query_sm:
      answer_header_only(s, codec::response_of(id), command_status::ESME_RQUERYFAIL,
                         p.sequence_number);
      ++counters_.rejected;
      return;
    case command_id::cancel_sm:
      answer_header_only(s, codec::response_of(id), command_status::ESME_RCANCELFAIL,
                         p.sequence_number);
      ++counters_.rejected;
      return;
    case command_id::replace_sm:
      answer_header_only(s, codec::response_of(id), command_status::ESME_RREPLACEFAIL,
                         p.sequence_number);
      ++counters_.rejected;
      return;
    default:
      if (codec::has_response(id)) {
        answer_header_only(s, codec::response_of(id), command_status::ESME_RINVCMDID,
                           p.sequence_number);
        ++counters_.rejected;
      }
      return;
  }
}

void simulator::handle_bind(session& s, const codec::pdu& p) {
  const command_id resp = codec::response_of(p.id);
  command_status status = command_status::ESME_ROK;
  if (s.state != bind_state::open) {
    status = command_status::ESME_RALYBND;
  } else if (config_.check_system_id && p.system_id != config_.system_id) {
    status = command_status::ESME_RINVSYSID;
  } else if (config_.check_password && p.password != config_.password) {
    status = command_status::ESME_RINVPASWD;
  }
  if (status != command_status::ESME_ROK) {
    ++counters_.bind_failures;
    answer_header_only(s, resp, status, p.sequence_number);
    return;
  }
  s.state = p.id == command_id::bind_transmitter ? bind_state::transmitter
            : p.id == command_id::bind_receiver  ? bind_state::receiver
                                                 : bind_state::transceiver;
  s.system = intern_system(p.system_id);
  ++counters_.binds;

  std::byte tlv_buf[8];
  codec::tlv_writer tlvs(tlv_buf);
  tlvs.add_uint(codec::tag::sc_interface_version, interface_version_34, 1);
  codec::pdu r;
  r.id = resp;
  r.sequence_number = p.sequence_number;
  r.system_id = smsc_system_id;
  r.tlvs = tlvs.area();
  const std::span<std::byte> out = take(s, max_written_pdu_octets);
  if (out.empty()) return;  // send queue full on a fresh connection: the peer will time out
  const codec::encode_result e = codec::encode(r, out);
  advance(s, e.ok(out.size()) ? e.needed : 0);
}

uint32_t simulator::intern_system(std::string_view system_id) {
  for (size_t i = 0; i < systems_.size(); ++i) {
    if (systems_[i] == system_id) return static_cast<uint32_t>(i);
  }
  systems_.emplace_back(system_id);
  return static_cast<uint32_t>(systems_.size() - 1);
}

command_status simulator::admit(uint64_t now_us) noexcept {
  if (config_.tps == 0) return command_status::ESME_ROK;
  if (now_us > bucket_refilled_us_) {
    // Cap the interval so the product cannot overflow; the bucket is full long before.
    const uint64_t elapsed = std::min<uint64_t>(now_us - bucket_refilled_us_, 10 * micro);
    bucket_micro_tokens_ = std::min(bucket_capacity_, bucket_micro_tokens_ + elapsed * config_.tps);
    bucket_refilled_us_ = now_us;
  }
  if (bucket_micro_tokens_ < micro) return command_status::ESME_RTHROTTLED;
  bucket_micro_tokens_ -= micro;
  return command_status::ESME_ROK;
}

void simulator::handle_message(session& s, command_id id, uint32_t seq,
                               std::string_view source_addr, uint8_t registered_delivery,
                               const codec::pdu* full, uint64_t now_us) {
  const command_id resp = codec::response_of(id);
  if (!is_transmitter(s.state)) {
    // SMPP 3.4 §2.3: only a transmitter or transceiver session may submit.
    ++counters_.rejected;
    respond(s, resp, command_status::ESME_RINVBNDSTS, seq, 0, now_us);
    return;
  }
  if (config_.arrivals_max != 0) {
    if (arrivals_.size() < config_.arrivals_max) {
      arrivals_.push_back(now_us);
      size_t k = 0;
      while (k < arrival_sources_.size() && arrival_sources_[k] != source_addr) ++k;
      if (k == arrival_sources_.size()) {
        if (k + 1 < max_arrival_sources) {
          arrival_sources_.emplace_back(source_addr);
        } else {
          k = max_arrival_sources - 1;  // the rest share one name
          if (arrival_sources_.size() < max_arrival_sources) arrival_sources_.emplace_back("*");
        }
      }
      arrival_source_.push_back(static_cast<uint8_t>(k));
    } else {
      ++counters_.arrivals_dropped;
    }
  }
  command_status status = admit(now_us);
  if (status == command_status::ESME_RTHROTTLED) {
    ++counters_.throttled;
  } else if (error_threshold_ != 0) {
    // xorshift64*: cheap, and reproducible from --seed.
    rng_state_ ^= rng_state_ >> 12;
    rng_state_ ^= rng_state_ << 25;
    rng_state_ ^= rng_state_ >> 27;
    const uint64_t r = rng_state_ * 0x2545F4914F6CDD1DULL;
    if (r < error_threshold_ || error_threshold_ == std::numeric_limits<uint64_t>::max()) {
      if ((r & 1) == 0) {
        status = command_status::ESME_RSYSERR;
        ++counters_.errors_syserr;
      } else {
        status = command_status::ESME_RSUBMITFAIL;
        ++counters_.errors_submitfail;
      }
    }
  }
  // SMPP 3.4 §5.2.17: registered_delivery bits 1-0 == 01 asks for a receipt on the final
  // outcome; every message here is delivered, so "failure only" (10) gets none.
  const bool wants_receipt = (registered_delivery & 0x03) == 0x01 && full != nullptr;
  if (status == command_status::ESME_ROK && wants_receipt && journal_fd_ >= 0 &&
      owed_.size() >= config_.journal_max_pending) {
    // The store of owed receipts is full: a temporary refusal, the ESME submits again later.
    status = command_status::ESME_RMSGQFUL;
    ++counters_.journal_full;
  }
  uint64_t message_id = 0;
  if (status == command_status::ESME_ROK) {
    ++counters_.accepted;
    message_id = take_message_id();
    if (wants_receipt) {
      const codec::pdu& p = *full;
      receipt_job j;
      j.due_us = now_us + config_.latency_us + config_.dlr_delay_us;
      j.origin = s.conn;
      j.system = s.system;
      j.message_id = message_id;
      j.submit_unix_s = static_cast<uint64_t>(std::time(nullptr));
      j.source_ton = p.source_addr_ton;
      j.source_npi = p.source_addr_npi;
      j.source_len = static_cast<uint8_t>(copy_field(j.source, sizeof j.source, p.source_addr));
      std::string_view dest = p.destination_addr;
      j.dest_ton = p.dest_addr_ton;
      j.dest_npi = p.dest_addr_npi;
      if (id == command_id::submit_multi) {
        for (const codec::dest_address& d : p.dest_addresses) {
          if (d.dest_flag != codec::dest_flag_sme_address) continue;
          dest = d.destination_addr;
          j.dest_ton = d.dest_addr_ton;
          j.dest_npi = d.dest_addr_npi;
          break;
        }
      }
      j.dest_len = static_cast<uint8_t>(copy_field(j.dest, sizeof j.dest, dest));
      // Appendix B "text": the first characters of a plain-text message (none for UDH or
      // codings a receipt line cannot carry as they are).
      const uint8_t dc = p.data_coding;
      if ((p.esm_class & codec::esm_class_udhi) == 0 && (dc == 0 || dc == 1 || dc == 3)) {
        j.text_len =
            static_cast<uint8_t>(copy_field(j.text, sizeof j.text, p.short_message.as_chars()));
      }
      if (journal_fd_ >= 0) {
        // Appended now, written before the response is committed (finish()).
        journal_accepted(j);
        owed_.emplace(message_id, owed_receipt{j});
        owed_due_.emplace(j.due_us, message_id);
        counters_.journal_pending = owed_.size();
      } else {
        receipts_.push_back(j);
      }
    }
  }
  respond(s, resp, status, seq, message_id, now_us);
}

void simulator::respond(session& s, command_id id, command_status status, uint32_t seq,
                        uint64_t message_id, uint64_t now_us) {
  if (config_.latency_us == 0 && s.responses.empty() &&
      write_message_resp(s, id, status, seq, message_id)) {
    return;
  }
  if (s.responses.size() >= max_pending_responses) {
    s.closing = true;  // the peer keeps sending without reading: a bound, then disconnect
    return;
  }
  if (config_.latency_us == 0) ++counters_.responses_deferred;
  s.responses.push_back({now_us + config_.latency_us, message_id, seq, id, status});
}

bool simulator::write_message_resp(session& s, command_id id, command_status status, uint32_t seq,
                                   uint64_t message_id) {
  // header + message_id (at most 16 hex digits and the NUL) + no_unsuccess for submit_multi
  constexpr size_t max_octets = codec::header_size + 17 + 1;
  const std::span<std::byte> out = take(s, max_octets);
  if (out.empty()) return false;
  std::byte* p = out.data();
  size_t n = codec::header_size;
  // SMPP 3.4 §4.4.2: message_id is empty when the submission failed.
  if (status == command_status::ESME_ROK) {
    n += put_hex(reinterpret_cast<char*>(p + n), message_id);
  }
  p[n++] = std::byte{0};
  if (id == command_id::submit_multi_resp) p[n++] = std::byte{0};  // no_unsuccess, §4.5.2
  codec::store_be32(p, static_cast<uint32_t>(n));
  codec::store_be32(p + 4, static_cast<uint32_t>(id));
  codec::store_be32(p + 8, static_cast<uint32_t>(status));
  codec::store_be32(p + 12, seq);
  advance(s, n);
  return true;
}

void simulator::answer_header_only(session& s, command_id id, command_status status, uint32_t seq) {
  const std::span<std::byte> out = take(s, codec::header_size);
  if (out.empty()) return;  // queue full: a control answer is lost, the peer's timers recover
  codec::write_header_only(out.first<codec::header_size>(), id, status, seq);
  advance(s, codec::header_size);
}

void simulator::handle_deliver_sm_resp(session& s, const codec::pdu_header& h, uint64_t now_us) {
  const bool ok = h.command_status == 0;
  if ((h.sequence_number & 1) == static_cast<uint32_t>(deliver_kind::mo)) {
    ++(ok ? counters_.mo_acked : counters_.mo_nacked);
    return;
  }
  ++(ok ? counters_.receipts_acked : counters_.receipts_nacked);
  if (s.receipts_out.empty()) return;
  auto& out = s.receipts_out[(h.sequence_number >> 1) & (receipts_out_slots - 1)];
  if (out.first != h.sequence_number || out.second == 0) return;  // not one we wait for
  const uint64_t message_id = out.second;
  out = {0, 0};
  if (ok) {
    journal_done(message_id);
  } else {
    owe_again(message_id, now_us + receipt_retry_us);  // the receiver could not take it now
  }
}

std::span<std::byte> simulator::take(session& s, size_t n) {
  return s.out.take(transport_, s.conn, n);
}

void simulator::advance(session& s, size_t used) noexcept {
  s.out.advance(used);
}

void simulator::finish(session& s) {
  // What the journal promises is on file before any response that relies on it can leave.
  flush_journal();
  counters_.bytes_out += s.out.finish(transport_, s.conn);
}

bool simulator::drain_responses(session& s, uint64_t now_us) {
  bool wrote = false;
  while (!s.responses.empty() && s.responses.front().due_us <= now_us) {
    const pending_response& r = s.responses.front();
    if (!write_message_resp(s, r.id, r.status, r.seq, r.message_id)) break;
    s.responses.pop_front();
    wrote = true;
  }
  return wrote;
}

simulator::session* simulator::receiver_for(uint32_t system, conn_id preferred) noexcept {
  if (session* s = find(preferred); s != nullptr && !s->closing && is_receiver(s->state)) {
    return s;
  }
  for (const conn_id c : live_) {
    session* s = find(c);
    if (s != nullptr && !s->closing && is_receiver(s->state) && s->system == system) return s;
  }
  return nullptr;
}

codec::receipt_date simulator::wall_date(uint64_t unix_s) noexcept {
  // Two entries: a receipt asks for its submit second and the current one.
  for (const auto& [second, date] : cached_dates_) {
    if (second == unix_s) return date;
  }
  const auto t = static_cast<time_t>(unix_s);
  tm parts{};
  gmtime_r(&t, &parts);
  codec::receipt_date d;
  d.year = static_cast<uint16_t>(std::clamp(parts.tm_year + 1900, 2000, 2099));
  d.month = static_cast<uint8_t>(parts.tm_mon + 1);
  d.day = static_cast<uint8_t>(parts.tm_mday);
  d.hour = static_cast<uint8_t>(parts.tm_hour);
  d.minute = static_cast<uint8_t>(parts.tm_min);
  d.second = static_cast<uint8_t>(std::min(parts.tm_sec, 59));  // no leap second in receipts
  cached_dates_[next_cached_date_] = {unix_s, d};
  next_cached_date_ ^= 1;
  return d;
}

// Sends one delivery receipt; false when the receiver's send queue is full (retry later).
bool simulator::send_receipt(const receipt_job& j) {
  session* s = receiver_for(j.system, j.origin);
  if (s == nullptr) {
    ++counters_.receipts_dropped;
    return true;
  }
  uint32_t seq = 0;
  return write_receipt(*s, j, seq);
}

bool simulator::write_receipt(session& session_to, const receipt_job& j, uint32_t& seq) {
  session* s = &session_to;
  seq = 0;
  const std::span<std::byte> out = take(*s, max_written_pdu_octets);
  if (out.empty()) return false;

  char id[17];
  const size_t id_len = put_hex(id, j.message_id);
  char text[max_receipt_text_octets];
  const size_t text_size = receipt_text(j, std::string_view(id, id_len), text);

  // SMPP 3.4 §5.3.2.12 receipted_message_id and §5.3.2.35 message_state carry the outcome
  // normatively; the text is Appendix B's informative form.
  std::byte tlv_buf[32];
  codec::tlv_writer tlvs(tlv_buf);
  tlvs.add_cstring(codec::tag::receipted_message_id, std::string_view(id, id_len));
  tlvs.add_uint(codec::tag::message_state, static_cast<uint8_t>(codec::message_state::delivered),
                1);

  codec::pdu p;
  p.id = command_id::deliver_sm;
  p.sequence_number =
      ((s->next_seq++ & 0x3FFFFFFFu) << 1) | static_cast<uint32_t>(deliver_kind::receipt);
  if (p.sequence_number == 0) p.sequence_number = ((s->next_seq++ & 0x3FFFFFFFu) << 1);
  // The receipt travels from the recipient back to the original sender.
  p.source_addr_ton = j.dest_ton;
  p.source_addr_npi = j.dest_npi;
  p.source_addr = std::string_view(j.dest, j.dest_len);
  p.dest_addr_ton = j.source_ton;
  p.dest_addr_npi = j.source_npi;
  p.destination_addr = std::string_view(j.source, j.source_len);
  p.esm_class = codec::esm_class_delivery_receipt;
  p.short_message = codec::bytes_view(reinterpret_cast<const std::byte*>(text), text_size);
  p.tlvs = tlvs.area();
  const codec::encode_result e = codec::encode(p, out);
  if (!e.ok(out.size())) {
    ++counters_.receipts_dropped;
    return true;
  }
  advance(*s, e.needed);
  ++counters_.receipts_sent;
  seq = p.sequence_number;
  return true;
}

size_t simulator::receipt_text(const receipt_job& j, std::string_view id,
                               std::span<char, max_receipt_text_octets> out) {
  const auto done_unix_s = static_cast<uint64_t>(std::time(nullptr));
  const std::string_view text(j.text, j.text_len);
  text_tail& t = text_tail_;
  // SMPP 3.4 Appendix B: the text starts "id:" and the id; what follows depends only on the
  // dates and the message's first octets, which bulk receipts share.
  constexpr std::string_view id_key = "id:";
  if (!(t.valid && t.submit_unix_s == j.submit_unix_s && t.done_unix_s == done_unix_s &&
        std::string_view(t.text, t.text_len) == text)) {
    codec::receipt_fields f;
    f.id = id;
    f.submit_date = wall_date(j.submit_unix_s);
    f.done_date = wall_date(done_unix_s);
    f.stat = codec::message_state::delivered;
    f.text = text;
    const codec::receipt_build_result built = codec::build_receipt_text(f, out);
    t.valid = built.ok();
    if (!t.valid) return 0;
    t.submit_unix_s = j.submit_unix_s;
    t.done_unix_s = done_unix_s;
    t.text_len = j.text_len;
    std::memcpy(t.text, j.text, j.text_len);
    t.tail_len = built.size - id_key.size() - id.size();
    std::memcpy(t.tail, out.data() + id_key.size() + id.size(), t.tail_len);
    return built.size;
  }
  const size_t size = id_key.size() + id.size() + t.tail_len;
  if (size > out.size()) return 0;
  char* at = out.data();
  at = std::copy(id_key.begin(), id_key.end(), at);
  at = std::copy(id.begin(), id.end(), at);
  std::memcpy(at, t.tail, t.tail_len);
  return size;
}

bool simulator::send_owed_receipts(uint64_t now_us) {
  bool wrote = false;
  while (!owed_due_.empty() && owed_due_.top().first <= now_us) {
    const uint64_t message_id = owed_due_.top().second;
    const auto it = owed_.find(message_id);
    if (it == owed_.end() || it->second.at != owed_receipt::where::due) {
      owed_due_.pop();  // answered meanwhile
      continue;
    }
    owed_receipt& o = it->second;
    session* s = receiver_for(o.job.system, o.job.origin);
    if (s == nullptr) {
      // Kept, not dropped: the first receiver of its system_id to bind gets it.
      o.at = owed_receipt::where::waiting;
      owed_waiting_.push_back(message_id);
      owed_due_.pop();
      continue;
    }
    uint32_t seq = 0;
    if (!write_receipt(*s, o.job, seq)) break;  // its send queue is full: at the next run
    owed_due_.pop();
    wrote = true;
    if (seq == 0) {  // cannot be encoded (counted dropped): nothing more will come of it
      journal_done(message_id);
      continue;
    }
    if (o.replayed) ++counters_.receipts_replayed;
    o.at = owed_receipt::where::sent;
    if (s->receipts_out.empty()) s->receipts_out.assign(receipts_out_slots, {0, 0});
    auto& slot = s->receipts_out[(seq >> 1) & (receipts_out_slots - 1)];
    // A receipt still unanswered after receipts_out_slots more: its answer can no longer be
    // matched, so it is sent again later.
    if (slot.second != 0) owe_again(slot.second, now_us + receipt_retry_us);
    slot = {seq, message_id};
  }
  return wrote;
}

void simulator::owe_again(uint64_t message_id, uint64_t due_us) {
  const auto it = owed_.find(message_id);
  if (it == owed_.end() || it->second.at != owed_receipt::where::sent) return;
  it->second.at = owed_receipt::where::due;
  it->second.job.origin = dataplane::invalid_conn;
  owed_due_.emplace(due_us, message_id);
}

void simulator::wake_waiting_receipts(uint32_t system, uint64_t now_us) {
  auto keep = owed_waiting_.begin();
  for (const uint64_t message_id : owed_waiting_) {
    const auto it = owed_.find(message_id);
    if (it == owed_.end() || it->second.at != owed_receipt::where::waiting) continue;
    if (it->second.job.system != system) {
      *keep++ = message_id;
      continue;
    }
    it->second.at = owed_receipt::where::due;
    owed_due_.emplace(now_us + config_.dlr_delay_us, message_id);
  }
  owed_waiting_.erase(keep, owed_waiting_.end());
}

uint64_t simulator::take_message_id() {
  const uint64_t message_id = next_message_id_++;
  if (journal_fd_ >= 0 && next_message_id_ >= id_ceiling_) {
    id_ceiling_ = next_message_id_ + message_id_block;
    journal_out_ += "I ";
    put_number(journal_out_, id_ceiling_, 16);
    journal_out_ += '\n';
  }
  return message_id;
}

// "A id submit_unix_s system_id source_ton source_npi source dest_ton dest_npi dest text":
// a receipt owed (numbers: id in hex, the rest decimal; strings as put_hex_text).
void simulator::journal_accepted(const receipt_job& j) {
  std::string& o = journal_out_;
  o += "A ";
  put_number(o, j.message_id, 16);
  o += ' ';
  put_number(o, j.submit_unix_s, 10);
  o += ' ';
  put_hex_text(o, j.system < systems_.size() ? std::string_view(systems_[j.system]) : "");
  for (const auto& [ton, npi, text, len] :
       {std::tuple{j.source_ton, j.source_npi, j.source, j.source_len},
        std::tuple{j.dest_ton, j.dest_npi, j.dest, j.dest_len}}) {
    o += ' ';
    put_number(o, ton, 10);
    o += ' ';
    put_number(o, npi, 10);
    o += ' ';
    put_hex_text(o, std::string_view(text, len));
  }
  o += ' ';
  put_hex_text(o, std::string_view(j.text, j.text_len));
  o += '\n';
}

// "D id": the receipt was acknowledged; it is owed no more.
void simulator::journal_done(uint64_t message_id) {
  if (owed_.erase(message_id) == 0) return;
  counters_.journal_pending = owed_.size();
  journal_out_ += "D ";
  put_number(journal_out_, message_id, 16);
  journal_out_ += '\n';
}

void simulator::flush_journal() {
  if (journal_out_.empty() || journal_fd_ < 0) return;
  // One write(2) of whole records: a kill leaves at most the last line torn.
  if (!write_all(journal_fd_, journal_out_)) {
    if (counters_.journal_errors++ == 0) {
      std::fprintf(stderr, "smsc-sim: cannot append to %s: %s\n", config_.journal_path.c_str(),
                   std::strerror(errno));
    }
  }
  journal_out_.clear();
}

bool simulator::open_journal(std::string& message) {
  const std::string& path = config_.journal_path;
  uint64_t ceiling = 0;
  uint64_t max_id = 0;
  uint64_t ignored = 0;
  bool torn = false;
  auto load_line = [&](std::string_view line) {
    std::string_view f[11];
    size_t n = 0;
    while (!line.empty() && n < std::size(f)) {
      const size_t sp = line.find(' ');
      f[n++] = line.substr(0, sp);
      line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    }
    if (!line.empty()) return false;
    uint64_t id = 0;
    if (n == 2 && f[0] == "I") {
      if (!parse_number(f[1], id, 16, UINT64_MAX)) return false;
      ceiling = std::max(ceiling, id);
      return true;
    }
    if (n == 2 && f[0] == "D") {
      if (!parse_number(f[1], id, 16, UINT64_MAX)) return false;
      owed_.erase(id);
      return true;
    }
    if (n != 11 || f[0] != "A" || !parse_number(f[1], id, 16, UINT64_MAX - 1) || id == 0) {
      return false;
    }
    owed_receipt o;
    receipt_job& j = o.job;
    j.message_id = id;
    uint64_t v[4] = {};
    char system[16];
    uint8_t system_len = 0;
    if (!parse_number(f[2], j.submit_unix_s, 10, UINT64_MAX) ||
        !parse_hex_text(f[3], system, 15, system_len) || !parse_number(f[4], v[0], 10, 255) ||
        !parse_number(f[5], v[1], 10, 255) ||
        !parse_hex_text(f[6], j.source, sizeof j.source, j.source_len) ||
        !parse_number(f[7], v[2], 10, 255) || !parse_number(f[8], v[3], 10, 255) ||
        !parse_hex_text(f[9], j.dest, sizeof j.dest, j.dest_len) ||
        !parse_hex_text(f[10], j.text, sizeof j.text, j.text_len)) {
      return false;
    }
    j.source_ton = static_cast<uint8_t>(v[0]);
    j.source_npi = static_cast<uint8_t>(v[1]);
    j.dest_ton = static_cast<uint8_t>(v[2]);
    j.dest_npi = static_cast<uint8_t>(v[3]);
    j.system = intern_system(std::string_view(system, system_len));
    o.at = owed_receipt::where::waiting;
    o.replayed = true;
    owed_.insert_or_assign(id, o);
    max_id = std::max(max_id, id);
    return true;
  };

  const int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0 && errno != ENOENT) {
    message = "cannot read journal " + path + ": " + std::strerror(errno);
    return false;
  }
  if (in >= 0) {
    std::string line;
    bool overlong = false;
    char buf[64 * 1024];
    while (true) {
      const ssize_t got = ::read(in, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        message = "cannot read journal " + path + ": " + std::strerror(errno);
        ::close(in);
        return false;
      }
      if (got == 0) break;
      std::string_view chunk(buf, static_cast<size_t>(got));
      while (!chunk.empty()) {
        const size_t nl = chunk.find('\n');
        const std::string_view part = chunk.substr(0, nl);
        if (!overlong && line.size() + part.size() <= max_journal_line) {
          line += part;
        } else {
          overlong = true;
          line.clear();
        }
        if (nl == std::string_view::npos) break;
        chunk.remove_prefix(nl + 1);
        if (overlong || !load_line(line)) ++ignored;
        overlong = false;
        line.clear();
      }
    }
    ::close(in);
    torn = overlong || !line.empty();  // a last line without its newline: cut off by a kill
  }

  // Compaction: the owed receipts alone, rewritten and renamed over the journal, so it grows
  // only with one run's traffic.
  next_message_id_ = std::max({next_message_id_, ceiling, max_id + 1});
  id_ceiling_ = next_message_id_ + message_id_block;
  std::vector<uint64_t> ids;
  ids.reserve(owed_.size());
  for (const auto& [id, o] : owed_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  journal_out_ = "I ";
  put_number(journal_out_, id_ceiling_, 16);
  journal_out_ += '\n';
  for (const uint64_t id : ids) journal_accepted(owed_.at(id).job);
  const std::string tmp = path + ".tmp";
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = out >= 0 && write_all(out, journal_out_) && ::fsync(out) == 0;
  if (out >= 0) ok = ::close(out) == 0 && ok;
  ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0;
  journal_out_.clear();
  if (ok) journal_fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (!ok || journal_fd_ < 0) {
    message = "cannot write journal " + path + ": " + std::strerror(errno);
    return false;
  }
  owed_waiting_ = std::move(ids);  // until a receiver of their system_id binds
  counters_.journal_pending = owed_.size();
  message = "journal " + path + ": " + std::to_string(owed_.size()) + " receipts owed";
  if (ignored > 0) message += ", " + std::to_string(ignored) + " invalid lines ignored";
  if (torn) message += ", a torn last line ignored";
  return true;
}

// Sends one MO deliver_sm to the next bound receiver; false when there is none or it is full.
bool simulator::send_mo() {
  session* s = nullptr;
  for (size_t tried = 0; tried < live_.size() && s == nullptr; ++tried) {
    mo_next_receiver_ = (mo_next_receiver_ + 1) % live_.size();
    session* candidate = find(live_[mo_next_receiver_]);
    if (candidate != nullptr && !candidate->closing && is_receiver(candidate->state)) {
      s = candidate;
    }
  }
  if (s == nullptr) return false;
  const std::span<std::byte> out = take(*s, max_written_pdu_octets);
  if (out.empty()) return false;

  const uint64_t n = counters_.mo_sent + 1;
  char source[16];
  std::snprintf(source, sizeof source, "4479%08llu",
                static_cast<unsigned long long>(n % 100000000ULL));
  char text[40];
  const int text_len =
      std::snprintf(text, sizeof text, "MO message %llu", static_cast<unsigned long long>(n));
  codec::pdu p;
  p.id = command_id::deliver_sm;
  p.sequence_number =
      ((s->next_seq++ & 0x3FFFFFFFu) << 1) | static_cast<uint32_t>(deliver_kind::mo);
  p.source_addr_ton = 1;  // international, SMPP 3.4 §5.2.5
  p.source_addr_npi = 1;  // E.164, §5.2.6
  p.source_addr = source;
  p.destination_addr = "12345";
  p.short_message = codec::bytes_view(reinterpret_cast<const std::byte*>(text),
                                      static_cast<size_t>(std::max(text_len, 0)));
  const codec::encode_result e = codec::encode(p, out);
  if (!e.ok(out.size())) return false;
  advance(*s, e.needed);
  ++counters_.mo_sent;
  return true;
}

bool simulator::mo_due() const noexcept {
  return config_.mo_rate_per_s > 0 &&
         (config_.mo_count == 0 || counters_.mo_sent < config_.mo_count);
}

bool simulator::run_timers(uint64_t now_us) {
  bool wrote = false;
  for (const conn_id c : live_) {
    session* s = find(c);
    if (s != nullptr && !s->closing && !s->responses.empty()) wrote |= drain_responses(*s, now_us);
  }
  while (!receipts_.empty() && receipts_.front().due_us <= now_us) {
    if (!send_receipt(receipts_.front())) break;
    receipts_.pop_front();
    wrote = true;
  }
  wrote |= send_owed_receipts(now_us);
  if (mo_due()) {
    if (mo_refilled_us_ == 0) mo_refilled_us_ = now_us;
    const uint64_t cap = std::max<uint64_t>(1, config_.mo_rate_per_s / 100) * micro;
    const uint64_t elapsed = std::min<uint64_t>(now_us - mo_refilled_us_, 10 * micro);
    mo_micro_credit_ = std::min(cap, mo_micro_credit_ + elapsed * config_.mo_rate_per_s);
    mo_refilled_us_ = now_us;
    for (uint64_t i = 0; i < max_mo_per_run && mo_micro_credit_ >= micro && mo_due(); ++i) {
      if (!send_mo()) break;
      mo_micro_credit_ -= micro;
      wrote = true;
    }
  }
  for (const conn_id c : live_) {
    if (session* s = find(c)) finish(*s);
  }
  return wrote;
}

uint64_t simulator::next_timer_in_us(uint64_t now_us, uint64_t max_wait_us) const {
  uint64_t due = now_us + max_wait_us;
  for (const conn_id c : live_) {
    const size_t slot = c & 0xFFFFFFFFu;
    const session* s = sessions_[slot].get();
    if (s != nullptr && !s->responses.empty()) due = std::min(due, s->responses.front().due_us);
  }
  if (!receipts_.empty()) due = std::min(due, receipts_.front().due_us);
  if (!owed_due_.empty()) due = std::min(due, owed_due_.top().first);
  if (mo_due()) {
    due = std::min(due, now_us + std::max<uint64_t>(1, micro / config_.mo_rate_per_s));
  }
  return due > now_us ? due - now_us : 0;
}

std::string to_json(const sim_counters& c, double uptime_s) {
  std::string out = "{";
  auto add = [&out](std::string_view key, uint64_t v) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += key;
    out += "\":";
    out += std::to_string(v);
  };
  add("connections", c.connections);
  add("disconnects", c.disconnects);
  add("binds", c.binds);
  add("bind_failures", c.bind_failures);
  add("unbinds", c.unbinds);
  add("enquire_links", c.enquire_links);
  add("submits", c.submit_sm + c.data_sm + c.submit_multi);
  add("submit_sm", c.submit_sm);
  add("data_sm", c.data_sm);
  add("submit_multi", c.submit_multi);
  add("accepted", c.accepted);
  add("throttled", c.throttled);
  out += ",\"errors\":{\"ESME_RSYSERR\":" + std::to_string(c.errors_syserr) +
         ",\"ESME_RSUBMITFAIL\":" + std::to_string(c.errors_submitfail) + "}";
  add("rejected", c.rejected);
  add("generic_nacks", c.generic_nacks);
  add("receipts_sent", c.receipts_sent);
  add("receipts_acked", c.receipts_acked);
  add("receipts_nacked", c.receipts_nacked);
  add("receipts_dropped", c.receipts_dropped);
  add("receipts_replayed", c.receipts_replayed);
  add("journal_pending", c.journal_pending);
  add("journal_full", c.journal_full);
  add("journal_errors", c.journal_errors);
  add("mo_sent", c.mo_sent);
  add("mo_acked", c.mo_acked);
  add("mo_nacked", c.mo_nacked);
  add("responses_deferred", c.responses_deferred);
  add("arrivals_dropped", c.arrivals_dropped);
  add("bytes_in", c.bytes_in);
  add("bytes_out", c.bytes_out);
  char uptime[32];
  std::snprintf(uptime, sizeof uptime, "%.3f", uptime_s);
  out += ",\"uptime_s\":";
  out += uptime;
  out += "}\n";
  return out;
}

}  // namespace smpp::smsc_sim
