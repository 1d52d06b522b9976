#include "smpp/store/edr_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "smpp/store/backend.hpp"

namespace smpp::store {
namespace {

constexpr std::string_view file_prefix = "edr-";
constexpr std::string_view file_suffix = ".jsonl";

void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_escaped_octet(std::string& out, unsigned char c) {
  static constexpr char hex[] = "0123456789abcdef";
  out += "\\u00";
  out += hex[c >> 4];
  out += hex[c & 0xf];
}

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629 §4), 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto t = static_cast<unsigned char>(s[i + k]);
    if (t < (k == 1 ? lo : 0x80) || t > (k == 1 ? hi : 0xbf)) return 0;
  }
  return n;
}

// A JSON string (RFC 8259 §7): quote, backslash and controls escaped; bytes that are not
// UTF-8 each as \u00XX.
void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      append_escaped_octet(out, c);
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (const std::size_t n = utf8_sequence(s, i); n != 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      append_escaped_octet(out, c);
      ++i;
    }
  }
  out += '"';
}

void append_key(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}

// The sequence number in a file name of ours, or nullopt.
std::optional<std::uint64_t> sequence_of(const std::string& name) {
  if (name.size() <= file_prefix.size() + file_suffix.size() || !name.starts_with(file_prefix) ||
      !name.ends_with(file_suffix)) {
    return std::nullopt;
  }
  const auto stem = std::string_view(name).substr(0, name.size() - file_suffix.size());
  const auto dash = stem.rfind('-');
  if (dash == std::string_view::npos || dash < file_prefix.size()) return std::nullopt;
  std::uint64_t seq = 0;
  const auto digits = stem.substr(dash + 1);
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (r.ec != std::errc{} || r.ptr != digits.data() + digits.size()) return std::nullopt;
  return seq;
}

std::vector<std::filesystem::path> edr_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec) && sequence_of(entry.path().filename().string())) {
      files.push_back(entry.path());
    }
  }
  // The names start with the UTC time and a zero-padded sequence: name order is age order.
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

std::string_view to_string(edr_event_kind kind) noexcept {
  switch (kind) {
    case edr_event_kind::submit_accepted:
      return "submit_accepted";
    case edr_event_kind::submit_rejected:
      return "submit_rejected";
    case edr_event_kind::receipt_delivered:
      return "receipt_delivered";
    case edr_event_kind::expired:
      return "expired";
  }
  return "unknown";
}

std::string_view receipt_state_word(receipt_state state) noexcept {
  // SMPP 3.4 Appendix B, Table B-2 (stat).
  switch (state) {
    case receipt_state::none:
      return "";
    case receipt_state::enroute:
      return "ENROUTE";
    case receipt_state::delivered:
      return "DELIVRD";
    case receipt_state::expired:
      return "EXPIRED";
    case receipt_state::deleted:
      return "DELETED";
    case receipt_state::undeliverable:
      return "UNDELIV";
    case receipt_state::accepted:
      return "ACCEPTD";
    case receipt_state::unknown:
      return "UNKNOWN";
    case receipt_state::rejected:
      return "REJECTD";
  }
  return "";
}

void format_edr_line(const edr_event& e, std::string& out) {
  out.clear();
  out += "{\"v\":1,";
  append_key(out, "event");
  append_string(out, to_string(e.kind));
  out += ',';
  append_key(out, "time_ms");
  append_number(out, e.time_ms);
  out += ',';
  append_key(out, "message_id");
  append_string(out, e.message_id);
  out += ',';
  append_key(out, "tenant");
  append_string(out, e.tenant);
  out += ',';
  append_key(out, "upstream");
  append_string(out, e.upstream);
  out += ',';
  append_key(out, "source");
  append_string(out, e.source);
  out += ',';
  append_key(out, "destination");
  append_string(out, e.destination);
  out += ',';
  append_key(out, "submit_ms");
  append_number(out, e.submit_ms);
  out += ',';
  append_key(out, "status");
  append_number(out, e.status);
  out += ',';
  append_key(out, "state");
  append_string(out, receipt_state_word(e.state));
  out += '}';
}

edr_writer::edr_writer(edr_config config) : config_(std::move(config)) {
  if (config_.max_files == 0) throw store_error("[edr] max_files must be at least 1");
  if (config_.max_file_bytes < 4096) throw store_error("[edr] max_file_bytes must be >= 4096");
  std::error_code ec;
  std::filesystem::create_directories(config_.directory, ec);
  if (ec) {
    throw store_error("cannot create the EDR directory " + config_.directory.string() + ": " +
                      ec.message());
  }
  for (const auto& f : edr_files(config_.directory)) {
    sequence_ = std::max(sequence_, *sequence_of(f.filename().string()));
  }
}

edr_writer::~edr_writer() {
  close_current();
}

void edr_writer::close_current() {
  flush();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool edr_writer::open_next(std::uint64_t now_ms) {
  close_current();
  const std::time_t secs = static_cast<std::time_t>(now_ms / 1000);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  char seq[24];
  std::snprintf(seq, sizeof seq, "%06llu", static_cast<unsigned long long>(++sequence_));
  path_ =
      config_.directory / (std::string(file_prefix) + stamp + "-" + seq + std::string(file_suffix));
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) return false;
  ++stats_.files_opened;
  file_bytes_ = 0;
  file_opened_ms_ = now_ms;
  enforce_retention();
  return true;
}

void edr_writer::enforce_retention() {
  auto files = edr_files(config_.directory);
  std::error_code ec;
  for (std::size_t i = 0; i + config_.max_files < files.size(); ++i) {
    if (files[i] == path_) continue;
    if (std::filesystem::remove(files[i], ec)) ++stats_.files_deleted;
  }
}

void edr_writer::write(const edr_event& event, std::uint64_t now_ms) {
  format_edr_line(event, line_);
  line_ += '\n';
  const bool too_big = file_bytes_ + pending_.size() + line_.size() > config_.max_file_bytes;
  const bool too_old = now_ms >= file_opened_ms_ + config_.max_file_age_ms;
  if ((fd_ < 0 || too_big || too_old) && !open_next(now_ms)) {
    ++stats_.lines_failed;
    return;
  }
  pending_ += line_;
  ++pending_lines_;
  if (pending_.size() >= pending_limit) flush();
}

void edr_writer::flush() {
  if (pending_.empty()) return;
  std::size_t done = 0;
  while (fd_ >= 0 && done < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (done == pending_.size()) {
    file_bytes_ += done;
    stats_.lines += pending_lines_;
  } else {
    // Disk full or an I/O error: cut the file back to its last whole line, count the lines,
    // and start a new file with the next line.
    stats_.lines_failed += pending_lines_;
    if (fd_ >= 0) {
      if (::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0) {
        // The file keeps a partial line; a reader skips a last line without its newline.
      }
      ::close(fd_);
      fd_ = -1;
    }
  }
  pending_.clear();
  pending_lines_ = 0;
}

}  // namespace smpp::store
