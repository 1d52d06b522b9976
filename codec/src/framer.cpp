#include "smpp/codec/framer.hpp"

#include <algorithm>
#include <cstring>

namespace smpp::codec {

stream_framer::stream_framer(uint32_t max_command_length)
    : max_len_(std::max(max_command_length, min_command_length)) {}

stream_framer::result stream_framer::next(bytes_view in) noexcept {
  if (failed_) return {state::error, 0, {}, fail_status_, fail_seq_};

  auto fail = [this](size_t consumed, uint32_t seq) -> result {
    // SMPP 3.4 §2.9 / §5.1.3: an invalid command_length is ESME_RINVCMDLEN; the stream can no
    // longer be framed, so the session answers generic_nack and closes.
    failed_ = true;
    fail_status_ = command_status::ESME_RINVCMDLEN;
    fail_seq_ = seq;
    return {state::error, consumed, {}, fail_status_, fail_seq_};
  };
  auto bad_length = [this](uint32_t len) { return len < min_command_length || len > max_len_; };

  if (have_ == 0 && in.size() >= 4) {
    // Fast path: the whole PDU is inside this chunk; hand it out in place.
    const uint32_t len = load_be32(in.data());
    if (bad_length(len)) return fail(0, in.size() >= 16 ? load_be32(in.data() + 12) : 0);
    if (in.size() >= len) return {state::frame, len, bytes_view(in.data(), len), {}, 0};
  }

  if (!buf_) buf_ = std::make_unique_for_overwrite<std::byte[]>(max_len_);
  size_t used = 0;
  while (used < in.size()) {
    const size_t target = want_ == 0 ? 4 : want_;
    const size_t n = std::min(target - have_, in.size() - used);
    std::memcpy(buf_.get() + have_, in.data() + used, n);
    have_ += n;
    used += n;
    if (have_ < target) break;
    if (want_ == 0) {
      const uint32_t len = load_be32(buf_.get());
      if (bad_length(len)) {
        const size_t rest = in.size() - used;
        return fail(used, rest >= 12 ? load_be32(in.data() + used + 8) : 0);
      }
      want_ = len;
      continue;
    }
    const auto frame = bytes_view(buf_.get(), want_);
    have_ = 0;
    want_ = 0;
    return {state::frame, used, frame, {}, 0};
  }
  return {state::need_more, used, {}, {}, 0};
}

}  // namespace smpp::codec
