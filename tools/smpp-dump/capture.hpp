// pcap and pcapng captures (through libpcap) to SMPP PDUs: TCP segments to or from one port
// are reassembled per direction and framed.
#pragma once

#include <cstdint>
#include <string>

#include "render.hpp"

namespace smpp::dump {

// False with `error` set when the file cannot be opened or read as a capture at all. Problems
// inside a readable capture (a truncated last packet, stream gaps) are printed as error lines.
[[nodiscard]] bool dump_capture(const std::string& path, uint16_t port, emitter& out,
                                std::string& error);

// True when the first octets are a pcap or pcapng magic number.
[[nodiscard]] bool looks_like_capture(const unsigned char* head, size_t n) noexcept;

}  // namespace smpp::dump
