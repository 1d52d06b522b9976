// EDR files: every line parses as JSON with the documented keys, rotation by size and age,
// retention by count, a restart never appends to an old file, a full disk leaves whole lines.
#include "smpp/store/edr_writer.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "smpp/store/backend.hpp"

namespace smpp::store {
namespace {

namespace fs = std::filesystem;

struct temp_dir {
  fs::path path;
  temp_dir() {
    char tmpl[] = "/tmp/edr-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// The reader: every EDR file in name order, every line parsed.
struct read_result {
  std::vector<fs::path> files;
  std::vector<nlohmann::json> lines;
  bool all_lines_end_in_newline = true;
};

read_result read_all(const fs::path& dir) {
  read_result r;
  for (const auto& e : fs::directory_iterator(dir)) r.files.push_back(e.path());
  std::sort(r.files.begin(), r.files.end());
  for (const auto& f : r.files) {
    std::ifstream in(f, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!content.empty() && content.back() != '\n') r.all_lines_end_in_newline = false;
    std::size_t at = 0;
    while (at < content.size()) {
      auto nl = content.find('\n', at);
      if (nl == std::string::npos) nl = content.size();
      r.lines.push_back(nlohmann::json::parse(content.substr(at, nl - at)));
      at = nl + 1;
    }
  }
  return r;
}

edr_event event_number(std::uint64_t i) {
  edr_event e;
  e.kind = edr_event_kind::receipt_delivered;
  e.time_ms = 1'765'000'000'000 + i;
  e.message_id = "abc123";
  e.tenant = "acme";
  e.upstream = "smsc-a";
  e.source = "447700900001";
  e.destination = "447700900002";
  e.submit_ms = 1'765'000'000'000;
  e.status = static_cast<std::uint32_t>(i);
  e.state = receipt_state::delivered;
  return e;
}

TEST(EdrWriter, EveryLineParsesWithTheSchemaKeysInOrder) {
  temp_dir dir;
  {
    edr_writer w({.directory = dir.path});
    w.write(event_number(7), 1'765'000'000'000);
    EXPECT_EQ(w.stats().lines, 0u) << "lines are gathered until flush";
    w.flush();
    EXPECT_EQ(w.stats().lines, 1u);
    edr_event rejected;
    rejected.kind = edr_event_kind::submit_rejected;
    rejected.tenant = "acme";
    rejected.status = 0x58;
    w.write(rejected, 1'765'000'000'000);
  }
  const auto r = read_all(dir.path);
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(r.files[0].filename().string(), "edr-20251206T054640Z-000001.jsonl");
  ASSERT_EQ(r.lines.size(), 2u);
  const auto& a = r.lines[0];
  std::vector<std::string> keys;
  for (auto it = a.begin(); it != a.end(); ++it) keys.push_back(it.key());
  // nlohmann::json sorts keys; the order on disk is checked on the text below.
  EXPECT_EQ(keys.size(), 11u);
  EXPECT_EQ(a["v"], 1);
  EXPECT_EQ(a["event"], "receipt_delivered");
  EXPECT_EQ(a["time_ms"], 1'765'000'000'007ull);
  EXPECT_EQ(a["message_id"], "abc123");
  EXPECT_EQ(a["tenant"], "acme");
  EXPECT_EQ(a["upstream"], "smsc-a");
  EXPECT_EQ(a["source"], "447700900001");
  EXPECT_EQ(a["destination"], "447700900002");
  EXPECT_EQ(a["submit_ms"], 1'765'000'000'000ull);
  EXPECT_EQ(a["status"], 7);
  EXPECT_EQ(a["state"], "DELIVRD");
  EXPECT_EQ(r.lines[1]["event"], "submit_rejected");
  EXPECT_EQ(r.lines[1]["status"], 0x58);
  EXPECT_EQ(r.lines[1]["state"], "");
  std::string line;
  format_edr_line(event_number(7), line);
  EXPECT_EQ(line.find("{\"v\":1,\"event\":"), 0u);
  EXPECT_LT(line.find("\"source\""), line.find("\"destination\""));
  EXPECT_LT(line.find("\"status\""), line.find("\"state\""));
}

TEST(EdrWriter, QuotesControlsAndOctetsThatAreNotUtf8StillParse) {
  edr_event e = event_number(1);
  const std::string source = "a\"b\\c\n\x01\xff\xc3";  // ends in a cut-off UTF-8 sequence
  const std::string destination = "caf\xc3\xa9";       // valid UTF-8: kept as it is
  e.source = source;
  e.destination = destination;
  std::string line;
  format_edr_line(e, line);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["source"], "a\"b\\c\n\x01\xc3\xbf\xc3\x83");  // \u00ff and \u00c3 as UTF-8
  EXPECT_EQ(j["destination"], "caf\xc3\xa9");
}

TEST(EdrWriter, AFileClosesBeforeALineWouldTakeItOverMaxFileBytes) {
  temp_dir dir;
  std::uint64_t n = 0;
  {
    edr_writer w({.directory = dir.path, .max_file_bytes = 4096});
    for (; n < 200; ++n) w.write(event_number(n), 1'765'000'000'000);
    w.flush();
    EXPECT_EQ(w.stats().lines, 200u);
  }
  const auto r = read_all(dir.path);
  EXPECT_GT(r.files.size(), 5u);
  for (const auto& f : r.files) EXPECT_LE(fs::file_size(f), 4096u) << f;
  ASSERT_EQ(r.lines.size(), n);
  for (std::uint64_t i = 0; i < n; ++i) EXPECT_EQ(r.lines[i]["status"], i);
}

TEST(EdrWriter, AFileOlderThanMaxFileAgeIsFollowedByANewOne) {
  temp_dir dir;
  {
    edr_writer w({.directory = dir.path, .max_file_age_ms = 1000});
    w.write(event_number(0), 1'765'000'000'000);
    w.write(event_number(1), 1'765'000'000'999);
    w.write(event_number(2), 1'765'000'001'000);
    EXPECT_EQ(w.stats().files_opened, 2u);
  }
  const auto r = read_all(dir.path);
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.files[1].filename().string(), "edr-20251206T054641Z-000002.jsonl");
  EXPECT_EQ(r.lines.size(), 3u);
}

TEST(EdrWriter, AtMostMaxFilesAreKeptTheOldestDeletedFirst) {
  temp_dir dir;
  std::uint64_t deleted = 0;
  {
    edr_writer w({.directory = dir.path, .max_file_age_ms = 1000, .max_files = 3});
    for (std::uint64_t i = 0; i < 10; ++i) w.write(event_number(i), 1'765'000'000'000 + i * 1000);
    deleted = w.stats().files_deleted;
  }
  EXPECT_EQ(deleted, 7u);
  const auto r = read_all(dir.path);
  ASSERT_EQ(r.files.size(), 3u);
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[0]["status"], 7);
  EXPECT_EQ(r.lines[2]["status"], 9);
}

TEST(EdrWriter, ARestartStartsAFileOfItsOwnAfterTheLastSequence) {
  temp_dir dir;
  {
    edr_writer w({.directory = dir.path});
    w.write(event_number(0), 1'765'000'000'000);
  }
  {
    edr_writer w({.directory = dir.path});
    w.write(event_number(1), 1'765'000'000'000);  // the same second
  }
  const auto r = read_all(dir.path);
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.files[1].filename().string(), "edr-20251206T054640Z-000002.jsonl");
  EXPECT_EQ(r.lines.size(), 2u);
}

TEST(EdrWriter, AFullDiskLeavesWholeLinesAndCountsTheLinesItCouldNotWrite) {
  temp_dir dir;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child's files may not grow beyond 10,000 octets: writes past it fail (EFBIG).
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{10'000, 10'000};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    edr_stats stats;
    {
      edr_writer w({.directory = dir.path, .max_file_bytes = 1 << 20});
      for (std::uint64_t i = 0; i < 200; ++i) {
        w.write(event_number(i), 1'765'000'000'000);
        if (i % 10 == 9) w.flush();
      }
      w.flush();
      stats = w.stats();
    }
    const std::uint64_t counts[2] = {stats.lines, stats.lines_failed};
    if (::write(pipe_fds[1], counts, sizeof counts) != sizeof counts) ::_exit(2);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::uint64_t counts[2] = {0, 0};
  ASSERT_EQ(::read(pipe_fds[0], counts, sizeof counts), static_cast<ssize_t>(sizeof counts));
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_GT(counts[0], 0u);
  EXPECT_GT(counts[1], 0u);
  EXPECT_EQ(counts[0] + counts[1], 200u);
  const auto r = read_all(dir.path);
  EXPECT_TRUE(r.all_lines_end_in_newline);
  EXPECT_EQ(r.lines.size(), counts[0]);
}

TEST(EdrWriter, ABadConfigurationOrDirectoryIsAClearError) {
  temp_dir dir;
  EXPECT_THROW(edr_writer({.directory = dir.path, .max_files = 0}), store_error);
  EXPECT_THROW(edr_writer({.directory = dir.path, .max_file_bytes = 100}), store_error);
  std::ofstream(dir.path / "file") << "x";
  try {
    edr_writer w({.directory = dir.path / "file" / "edr"});
    FAIL() << "a directory under a file was accepted";
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find("file/edr"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace smpp::store
