// smpp-dump: decodes SMPP PDUs from hex, raw byte streams or packet captures and prints one
// JSON object per PDU per line.
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "capture.hpp"
#include "render.hpp"
#include "stream.hpp"

namespace smpp::dump {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_malformed = 1;
constexpr int exit_usage = 2;            // also: a file that cannot be read
constexpr uint16_t default_port = 2775;  // IANA "smpp"
constexpr size_t read_chunk_octets = 64 * 1024;

constexpr std::string_view usage_text =
    "usage: smpp-dump [--raw | --pcap] [--port N] FILE...\n"
    "       smpp-dump --hex [HEX...]\n"
    "\n"
    "Decodes SMPP 3.4/5.0 PDUs and prints one JSON object per PDU per line.\n"
    "\n"
    "  FILE        a pcap or pcapng capture or a raw SMPP byte stream, told apart by its\n"
    "              first octets; - reads a raw stream (or with --pcap a capture) from stdin\n"
    "  --hex       input is hex, one PDU per line: the HEX arguments, or stdin without any;\n"
    "              whitespace inside a line is ignored, empty and '#' lines are skipped\n"
    "  --raw       treat every FILE as a raw byte stream\n"
    "  --pcap      treat every FILE as a capture\n"
    "  --port N    TCP port of the SMPP sessions in captures (default 2775); segments to\n"
    "              and from it are reassembled per direction\n"
    "  -h, --help  print this help\n"
    "\n"
    "Capture input adds \"ts\", \"src\" and \"dst\". Malformed input prints an object with\n"
    "\"error\" and decoding goes on.\n"
    "Exit status: 0 all input decoded, 1 some input malformed, 2 usage error or unreadable file.\n";

enum class input_kind : uint8_t { detect, raw, pcap };

struct options {
  bool hex = false;
  input_kind kind = input_kind::detect;
  uint16_t port = default_port;
  std::vector<std::string> inputs;  // files, or hex PDUs with --hex
};

int usage_error(std::string_view why) {
  std::cerr << "smpp-dump: " << why << "\n" << usage_text;
  return exit_usage;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v == 0 || v > 65535) return {};
  return static_cast<uint16_t>(v);
}

// Returns an exit status when the program should stop now (help or a usage error).
std::optional<int> parse_options(int argc, char** argv, options& opt) {
  bool only_inputs = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (only_inputs || a == "-" || a.empty() || a[0] != '-') {
      opt.inputs.emplace_back(a);
    } else if (a == "--") {
      only_inputs = true;
    } else if (a == "-h" || a == "--help") {
      std::cout << usage_text;
      return exit_ok;
    } else if (a == "--hex") {
      opt.hex = true;
    } else if (a == "--raw") {
      opt.kind = input_kind::raw;
    } else if (a == "--pcap") {
      opt.kind = input_kind::pcap;
    } else if (a == "--port" || a.starts_with("--port=")) {
      std::string_view value;
      if (a == "--port") {
        if (i + 1 == argc) return usage_error("--port needs a value");
        value = argv[++i];
      } else {
        value = a.substr(7);
      }
      const auto port = parse_port(value);
      if (!port) return usage_error("--port: not a TCP port (1..65535): " + std::string(value));
      opt.port = *port;
    } else {
      return usage_error("unknown option " + std::string(a));
    }
  }
  if (opt.hex && opt.kind != input_kind::detect) {
    return usage_error("--hex cannot be combined with --raw or --pcap");
  }
  if (!opt.hex && opt.inputs.empty()) {
    return usage_error("no input: give FILEs (- for stdin) or --hex");
  }
  return std::nullopt;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One hex line to one PDU. Blank and comment lines yield nothing.
void dump_hex_line(std::string_view line, emitter& out) {
  std::string digits;
  for (const char c : line) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (digits.empty() && c == '#') return;
    digits += c;
  }
  if (digits.empty()) return;
  std::vector<std::byte> frame(digits.size() / 2);
  for (size_t i = 0; i < digits.size(); ++i) {
    const int v = hex_value(digits[i]);
    if (v < 0) {
      out.problem({"invalid hex: character '" + std::string(1, digits[i]) + "' at digit " +
                       std::to_string(i + 1),
                   std::nullopt, std::nullopt},
                  {});
      return;
    }
    if (i / 2 < frame.size()) {
      frame[i / 2] = frame[i / 2] | static_cast<std::byte>(i % 2 == 0 ? v << 4 : v);
    }
  }
  if (digits.size() % 2 != 0) {
    out.problem({"invalid hex: odd number of digits (" + std::to_string(digits.size()) + ")",
                 std::nullopt, std::nullopt},
                {});
    return;
  }
  out.frame(frame, {});
}

void dump_hex(const options& opt, emitter& out) {
  if (!opt.inputs.empty()) {
    for (const std::string& h : opt.inputs) dump_hex_line(h, out);
    return;
  }
  std::string line;
  while (std::getline(std::cin, line)) dump_hex_line(line, out);
}

struct file_closer {
  void operator()(std::FILE* f) const noexcept {
    if (f != stdin) std::fclose(f);
  }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

// Frames a raw byte stream with the same stream_framer a session uses.
bool dump_raw(std::FILE* f, emitter& out, std::string& error) {
  stream_decoder decoder(out);
  std::vector<std::byte> buf(read_chunk_octets);
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    decoder.feed(codec::bytes_view(buf.data(), n), {});
  }
  if (std::ferror(f) != 0) {
    error = std::strerror(errno);
    return false;
  }
  decoder.finish({});
  return true;
}

struct opened_input {
  std::string path;
  file_ptr file;
  bool capture = false;
};

// Opens every input before printing anything, so a typo fails fast with exit status 2.
bool open_inputs(const options& opt, std::vector<opened_input>& opened) {
  for (const std::string& path : opt.inputs) {
    opened_input in{path, nullptr, opt.kind == input_kind::pcap};
    if (path == "-") {
      in.file.reset(stdin);
    } else {
      errno = 0;
      in.file.reset(std::fopen(path.c_str(), "rb"));
      if (!in.file) {
        std::cerr << "smpp-dump: cannot open " << path << ": " << std::strerror(errno) << "\n";
        return false;
      }
    }
    if (opt.kind == input_kind::detect && path != "-") {
      unsigned char head[4];
      const size_t n = std::fread(head, 1, sizeof head, in.file.get());
      if (std::ferror(in.file.get()) != 0) {
        std::cerr << "smpp-dump: cannot read " << path << ": " << std::strerror(errno) << "\n";
        return false;
      }
      in.capture = looks_like_capture(head, n);
      std::rewind(in.file.get());
    }
    opened.push_back(std::move(in));
  }
  return true;
}

int run(int argc, char** argv) {
  options opt;
  if (const auto status = parse_options(argc, argv, opt)) return *status;

  emitter out(stdout);
  if (opt.hex) {
    dump_hex(opt, out);
  } else {
    std::vector<opened_input> inputs;
    if (!open_inputs(opt, inputs)) return exit_usage;
    for (opened_input& in : inputs) {
      std::string error;
      bool ok = false;
      if (in.capture) {
        in.file.reset();  // libpcap opens the path itself ("-" is stdin)
        ok = dump_capture(in.path, opt.port, out, error);
      } else {
        ok = dump_raw(in.file.get(), out, error);
      }
      if (!ok) {
        std::fflush(stdout);
        std::cerr << "smpp-dump: cannot read " << in.path << ": " << error << "\n";
        return exit_usage;
      }
    }
  }
  if (std::fflush(stdout) != 0) {
    std::cerr << "smpp-dump: write error: " << std::strerror(errno) << "\n";
    return exit_usage;
  }
  return out.any_malformed() ? exit_malformed : exit_ok;
}

}  // namespace
}  // namespace smpp::dump

int main(int argc, char** argv) {
  return smpp::dump::run(argc, argv);
}
