// Turns decoded PDUs and input problems into JSON lines (one object per PDU) on an output file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "smpp/codec/bytes.hpp"

namespace smpp::dump {

// Where a PDU was seen. Only capture input has one; hex and raw input leave it empty.
struct origin {
  bool from_capture = false;
  std::string_view src;  // "ip:port"
  std::string_view dst;
  int64_t ts_sec = 0;
  uint32_t ts_usec = 0;
};

// A problem with the input that is not a decode error of one whole frame: bad hex, a framing
// error, octets skipped to find the next PDU, a gap in a captured TCP stream.
struct input_problem {
  std::string text;
  std::optional<uint32_t> command_status;  // when the problem maps onto one (framing errors)
  std::optional<uint32_t> sequence_number;
};

class emitter {
 public:
  explicit emitter(std::FILE* out) noexcept : out_(out) {}

  // Decodes one whole frame (exactly one PDU's octets) and prints it or its decode error.
  void frame(codec::bytes_view frame, const origin& where);
  void problem(const input_problem& p, const origin& where);

  // Every error line printed so far makes the exit status 1.
  [[nodiscard]] bool any_malformed() const noexcept { return malformed_ != 0; }

 private:
  void write(const std::string& line);
  std::FILE* out_;
  uint64_t malformed_ = 0;
};

}  // namespace smpp::dump
