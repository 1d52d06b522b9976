// Event detail records: one JSON object per line (JSON Lines) for each final state of a
// message, for billing and disputes, written to rotating files. Schema (version 1), every key
// always present, in this order:
//
//   v            1
//   event        "submit_accepted" | "submit_rejected" | "receipt_delivered" | "expired"
//   time_ms      when the event happened, ms since the Unix epoch
//   message_id   the upstream's message id as it issued it ("" for a rejected submit)
//   tenant       the tenant's name
//   upstream     the upstream's name ("" when no upstream took the request)
//   source       source_addr of the submit_sm
//   destination  destination_addr of the submit_sm
//   submit_ms    when the submit_sm was accepted (or rejected), ms since the Unix epoch
//   status       the SMPP command_status the ESME was answered (0 when accepted)
//   state        the receipt's state as SMPP 3.4 Appendix B writes it ("DELIVRD", "UNDELIV",
//                "EXPIRED", "REJECTD", "DELETED", "UNKNOWN", "ACCEPTD", "ENROUTE") or ""
//
// Strings are escaped as RFC 8259 §7 asks; octets that are not UTF-8 are written as \u00XX of
// each octet, so every line parses.
//
// Files: `<directory>/edr-<first event's UTC time, YYYYmmddTHHMMSSZ>-<sequence>.jsonl`, the
// current one open for appending. Bounds: a file is closed and the next one started when the
// next line would take it over max_file_bytes, or when it is older than max_file_age_ms; at
// most max_files files are kept (the oldest is deleted first, counted in files_deleted). Lines
// are written whole or not at all: a write that fails (disk full) cuts the file back to its
// last whole line, counts the lines in lines_failed, and the next line starts a new file.
//
// Single-threaded: its owner (a journal thread) calls it off the workers' path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "smpp/store/record.hpp"

namespace smpp::store {

enum class edr_event_kind : std::uint8_t {
  submit_accepted,
  submit_rejected,
  receipt_delivered,
  expired
};

struct edr_event {
  edr_event_kind kind = edr_event_kind::submit_accepted;
  std::uint64_t time_ms = 0;
  std::string_view message_id;
  std::string_view tenant;
  std::string_view upstream;
  std::string_view source;
  std::string_view destination;
  std::uint64_t submit_ms = 0;
  std::uint32_t status = 0;
  receipt_state state = receipt_state::none;
};

struct edr_config {
  std::filesystem::path directory;
  std::uint64_t max_file_bytes = 64ull << 20;
  std::uint64_t max_file_age_ms = 3600ull * 1000;
  std::uint32_t max_files = 168;  // a week of hourly files
};

struct edr_stats {
  std::uint64_t lines = 0;
  std::uint64_t lines_failed = 0;
  std::uint64_t files_opened = 0;
  std::uint64_t files_deleted = 0;
};

[[nodiscard]] std::string_view to_string(edr_event_kind kind) noexcept;
// The Appendix B word for a state ("DELIVRD"...), "" for none.
[[nodiscard]] std::string_view receipt_state_word(receipt_state state) noexcept;

// One event as its line, without the newline (exposed for tests and tools).
void format_edr_line(const edr_event& event, std::string& out);

class edr_writer {
 public:
  // Creates the directory when missing. Throws store_error when it cannot (path and reason),
  // or when max_files is 0 or max_file_bytes is under 4096.
  explicit edr_writer(edr_config config);
  ~edr_writer();
  edr_writer(const edr_writer&) = delete;
  edr_writer& operator=(const edr_writer&) = delete;

  // now_ms: the wall clock, for the file's age and name.
  void write(const edr_event& event, std::uint64_t now_ms);
  // Writes the gathered lines to the operating system.
  void flush();
  [[nodiscard]] const edr_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] const std::filesystem::path& current_file() const noexcept { return path_; }

 private:
  bool open_next(std::uint64_t now_ms);
  void close_current();
  void enforce_retention();

  edr_config config_;
  // Lines are gathered and written in one write() when the buffer reaches pending_limit or at
  // flush(); the owner flushes at least every millisecond or so.
  static constexpr std::size_t pending_limit = 256 * 1024;

  int fd_ = -1;
  std::filesystem::path path_;
  std::string pending_;
  std::uint64_t pending_lines_ = 0;
  std::uint64_t file_bytes_ = 0;
  std::uint64_t file_opened_ms_ = 0;
  std::uint64_t sequence_ = 0;
  std::string line_;
  edr_stats stats_;
};

}  // namespace smpp::store
