// A writer for one JSON object per output line (RFC 8259). Strings are escaped so the line is
// valid JSON whatever the input octets: control characters as \uXXXX, and octets that are not
// part of well-formed UTF-8 as \u00XX (i.e. read as Latin-1), so nothing is lost or invalid.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smpp/codec/bytes.hpp"
#include "smpp/codec/text.hpp"

namespace smpp::dump {

class json_line {
 public:
  json_line() {
    first_.push_back(true);
    out_ += '{';
  }

  json_line& key(std::string_view k) {
    separate();
    put_string(k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  void string(std::string_view s) {
    separate();
    put_string(s);
  }
  void number(uint64_t v) {
    separate();
    out_ += std::to_string(v);
  }
  void null() {
    separate();
    out_ += "null";
  }
  void boolean(bool b) {
    separate();
    out_ += b ? "true" : "false";
  }
  // A JSON number written exactly as given (the caller guarantees its syntax).
  void raw_number(std::string_view digits) {
    separate();
    out_ += digits;
  }
  // Octets as a string of lowercase hex digits.
  void hex(codec::bytes_view b) {
    static constexpr char digits[] = "0123456789abcdef";
    separate();
    out_ += '"';
    for (std::byte x : b) {
      out_ += digits[std::to_integer<unsigned>(x) >> 4];
      out_ += digits[std::to_integer<unsigned>(x) & 0xF];
    }
    out_ += '"';
  }
  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  // Closes the top-level object and returns the line, newline included.
  [[nodiscard]] std::string finish() {
    out_ += "}\n";
    return std::move(out_);
  }

 private:
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
  void open(char c) {
    separate();
    out_ += c;
    first_.push_back(true);
  }
  void close(char c) {
    first_.pop_back();
    out_ += c;
  }
  void put_escaped_octet(unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", c);
    out_ += buf;
  }
  void put_string(std::string_view s) {
    out_ += '"';
    size_t i = 0;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x80) {
        switch (c) {
          case '"':
            out_ += "\\\"";
            break;
          case '\\':
            out_ += "\\\\";
            break;
          case '\n':
            out_ += "\\n";
            break;
          case '\r':
            out_ += "\\r";
            break;
          case '\t':
            out_ += "\\t";
            break;
          default:
            if (c < 0x20 || c == 0x7F) {
              put_escaped_octet(c);
            } else {
              out_ += static_cast<char>(c);
            }
        }
        ++i;
        continue;
      }
      // RFC 8259 §8.1: JSON text is UTF-8; copy well-formed sequences, escape the rest.
      const codec::utf8_char u = codec::next_utf8_char(s, i);
      const size_t n = u.length == 0 ? 1 : u.length;
      if (u.valid) {
        out_.append(s.substr(i, n));
      } else {
        for (size_t k = 0; k < n; ++k) put_escaped_octet(static_cast<unsigned char>(s[i + k]));
      }
      i += n;
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;  // per open object/array: no member written yet
  bool after_key_ = false;
};

}  // namespace smpp::dump
