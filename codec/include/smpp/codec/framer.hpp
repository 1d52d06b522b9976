// Stream framer: cuts a TCP byte stream into whole PDUs (SMPP 3.4 §3.2: command_length first).
//
// It accepts any chunking. A PDU that arrives whole inside one chunk is handed out in place
// (zero-copy); one split across chunks is assembled in an internal buffer that holds at most
// one PDU (see buf_).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "smpp/codec/bytes.hpp"
#include "smpp/codec/status.hpp"

namespace smpp::codec {

inline constexpr uint32_t default_max_command_length = 64 * 1024;
inline constexpr uint32_t min_command_length = 16;

class stream_framer {
 public:
  enum class state : uint8_t {
    need_more,  // all input consumed, no whole PDU yet
    frame,      // `frame` holds one whole PDU
    error,      // fatal: answer generic_nack with nack_status, then close (SMPP 3.4 §2.9)
  };
  struct result {
    state st = state::need_more;
    size_t consumed = 0;  // octets of the input taken; feed the rest on the next call
    bytes_view frame;     // valid until the next call
    command_status nack_status = command_status::ESME_ROK;
    uint32_t sequence_number = 0;  // of the offending header, for the generic_nack
  };

  explicit stream_framer(uint32_t max_command_length = default_max_command_length);

  // Takes octets from input until one PDU is whole, the input is used up, or an error occurs.
  [[nodiscard]] result next(bytes_view input) noexcept;

  // Octets buffered of a PDU not yet complete (0 between PDUs).
  [[nodiscard]] size_t buffered() const noexcept { return have_; }
  [[nodiscard]] uint32_t max_command_length() const noexcept { return max_len_; }
  // True once a fatal error was reported; every later call reports it again.
  [[nodiscard]] bool failed() const noexcept { return failed_; }

 private:
  uint32_t max_len_;
  // max_command_length octets, allocated by the first next() whose input does not start with a
  // whole PDU, and kept from then on: a stream read in whole PDUs never allocates it.
  std::unique_ptr<std::byte[]> buf_;
  size_t have_ = 0;
  uint32_t want_ = 0;  // command_length of the PDU being assembled (0 = header not yet known)
  bool failed_ = false;
  command_status fail_status_ = command_status::ESME_ROK;
  uint32_t fail_seq_ = 0;
};

}  // namespace smpp::codec
