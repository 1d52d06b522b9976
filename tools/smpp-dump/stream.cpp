#include "stream.hpp"

#include <algorithm>
#include <string>

#include "smpp/codec/codec.hpp"

namespace smpp::dump {
namespace {

constexpr size_t npos = static_cast<size_t>(-1);

// Where a PDU header plausibly starts: a command_length the framer accepts and a command_id
// some specification defines (SMPP 3.4 §3.2). Used only to find a boundary again after loss.
size_t find_plausible_header(codec::bytes_view b, uint32_t max_command_length) {
  if (b.size() < codec::header_size) return npos;
  for (size_t i = 0; i + codec::header_size <= b.size(); ++i) {
    const codec::pdu_header h = codec::peek_header(b.data() + i);
    if (h.command_length >= codec::min_command_length && h.command_length <= max_command_length &&
        codec::is_known_command(h.command_id)) {
      return i;
    }
  }
  return npos;
}

}  // namespace

void stream_decoder::feed(codec::bytes_view data, const origin& where) {
  std::vector<std::byte> resumed;  // octets from hold_ the framer still has to see
  while (!data.empty()) {
    if (resync_) {
      hold_.insert(hold_.end(), data.begin(), data.end());
      const size_t at = find_plausible_header(hold_, framer_.max_command_length());
      if (at == npos) {
        // Keep a tail that may be the start of a header completed by the next octets.
        const size_t keep = std::min(hold_.size(), codec::header_size - 1);
        skipped_ += hold_.size() - keep;
        hold_.erase(hold_.begin(), hold_.end() - static_cast<std::ptrdiff_t>(keep));
        return;
      }
      skipped_ += at;
      report_skipped(where);
      resumed.assign(hold_.begin() + static_cast<std::ptrdiff_t>(at), hold_.end());
      hold_.clear();
      resync_ = false;
      data = resumed;
      continue;
    }
    const codec::stream_framer::result r = framer_.next(data);
    data = data.subspan(r.consumed);
    switch (r.st) {
      case codec::stream_framer::state::frame:
        out_->frame(r.frame, where);
        break;
      case codec::stream_framer::state::error:
        // SMPP 3.4 §2.9: a session would nack and close; a dump looks for the next PDU instead.
        // The rest of that header is not trusted, so no sequence_number is reported.
        out_->problem({std::string(codec::status_name(r.nack_status)) +
                           " (command_length): not a PDU length (" +
                           std::to_string(codec::min_command_length) + ".." +
                           std::to_string(framer_.max_command_length()) + ")",
                       static_cast<uint32_t>(r.nack_status), std::nullopt},
                      where);
        framer_ = codec::stream_framer();
        resync_ = true;
        break;
      case codec::stream_framer::state::need_more:
        return;  // the framer took everything
    }
  }
}

void stream_decoder::gap(uint64_t missing_octets, const origin& where) {
  // One line per gap: octets held back before it can no longer become a PDU.
  const uint64_t dropped = skipped_ + hold_.size() + framer_.buffered();
  std::string text =
      "TCP stream gap: " + std::to_string(missing_octets) + " octets missing from the capture";
  if (dropped > 0) {
    text += "; dropped the " + std::to_string(dropped) + " octets before it (no whole PDU)";
  }
  out_->problem({std::move(text), std::nullopt, std::nullopt}, where);
  reset();
  resync_ = true;
}

void stream_decoder::finish(const origin& where) {
  skipped_ += hold_.size();
  hold_.clear();
  report_skipped(where);
  if (framer_.buffered() > 0) {
    out_->problem({"ESME_RINVCMDLEN (command_length): stream ends " +
                       std::to_string(framer_.buffered()) + " octets into an incomplete PDU",
                   static_cast<uint32_t>(codec::command_status::ESME_RINVCMDLEN), std::nullopt},
                  where);
  }
  reset();
}

void stream_decoder::reset() {
  framer_ = codec::stream_framer();
  resync_ = false;
  hold_.clear();
  skipped_ = 0;
}

void stream_decoder::report_skipped(const origin& where) {
  if (skipped_ == 0) return;
  out_->problem({"skipped " + std::to_string(skipped_) + " octets that do not start a PDU",
                 std::nullopt, std::nullopt},
                where);
  skipped_ = 0;
}

void tcp_direction::segment(uint32_t seq, bool syn, codec::bytes_view payload, uint32_t wire_length,
                            const origin& where) {
  if (syn) {
    // RFC 9293 §3.4: the SYN occupies one sequence number; data starts after it.
    const uint32_t base = seq + 1;
    if (!started_ || base != base_seq_) {  // else a retransmitted SYN
      if (started_) finish(where);         // the 4-tuple is reused by a new connection
      started_ = true;
      base_seq_ = base;
      next_ = 0;
    }
    seq = base;
  } else if (!started_) {
    // The capture began after the handshake: take this segment as offset 0 but do not trust
    // it to start on a PDU boundary.
    started_ = true;
    base_seq_ = seq;
    next_ = 0;
    decoder_.resynchronise();
  }
  if (wire_length == 0) return;

  // Offset of the segment in the stream; RFC 9293 §3.4 sequence numbers compare modulo 2^32.
  const auto expected = static_cast<uint32_t>(base_seq_ + static_cast<uint32_t>(next_));
  const auto delta = static_cast<int32_t>(seq - expected);
  const int64_t offset = static_cast<int64_t>(next_) + delta;
  const int64_t end = offset + wire_length;
  if (end <= static_cast<int64_t>(next_)) return;  // retransmission of octets already seen
  uint64_t start = static_cast<uint64_t>(offset);
  if (offset < static_cast<int64_t>(next_)) {
    // Overlaps what was delivered: keep only the new octets (the first copy wins).
    const auto old = static_cast<size_t>(static_cast<int64_t>(next_) - offset);
    payload = payload.subspan(std::min(old, payload.size()));
    start = next_;
  }
  const uint64_t wire_end = static_cast<uint64_t>(end);

  if (start == next_) {
    deliver(start, payload, where);
    if (next_ < wire_end) {
      // The capture snapped this packet short: those octets are gone.
      decoder_.gap(wire_end - next_, where);
      next_ = wire_end;
    }
    drain(where);
    return;
  }
  // Out of order: hold it until the octets before it arrive.
  std::vector<std::byte>& slot = pending_[start];
  if (slot.size() < payload.size()) {
    pending_octets_ += payload.size() - slot.size();
    slot.assign(payload.begin(), payload.end());
  }
  if (pending_octets_ > max_pending_octets) skip_to_first_pending(where);
}

void tcp_direction::finish(const origin& where) {
  while (!pending_.empty()) skip_to_first_pending(where);
  decoder_.finish(where);
  started_ = false;
}

void tcp_direction::deliver(uint64_t offset, codec::bytes_view data, const origin& where) {
  if (offset != next_ || data.empty()) return;
  decoder_.feed(data, where);
  next_ += data.size();
}

void tcp_direction::drain(const origin& where) {
  while (!pending_.empty() && pending_.begin()->first <= next_) {
    auto node = pending_.extract(pending_.begin());
    pending_octets_ -= node.mapped().size();
    const uint64_t start = node.key();
    const std::vector<std::byte>& data = node.mapped();
    if (start + data.size() <= next_) continue;
    deliver(next_, codec::bytes_view(data).subspan(static_cast<size_t>(next_ - start)), where);
  }
}

void tcp_direction::skip_to_first_pending(const origin& where) {
  if (pending_.empty()) return;
  const uint64_t first = pending_.begin()->first;
  if (first > next_) {
    decoder_.gap(first - next_, where);
    next_ = first;
  }
  drain(where);
}

}  // namespace smpp::dump
