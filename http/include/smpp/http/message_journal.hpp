// The messages of smpp-http on disk, in SQLite (WAL mode): every accepted request, each part
// answered by the SMSC with its receipt key, and each message's state. One writer thread
// writes whatever changed since its last transaction in one transaction (group commit), so an
// HTTP request waits for one commit shared with every request that came meanwhile, not for a
// commit of its own. At start the records are read back into the message store. Callbacks not
// yet delivered are kept the same way.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "smpp/http/callbacks.hpp"
#include "smpp/http/message_store.hpp"

struct sqlite3;

namespace smpp::http {

struct journal_config {
  std::string path = "smpp-http.db";
  // SQLite's synchronous: "full" (each commit is on disk when acknowledged, also across a power
  // loss) or "normal" (it survives a crash of smpp-http; a power loss may lose the last commits).
  std::string synchronous = "full";
  // Changes waiting for the writer; beyond it the sessions take no more parts until written.
  std::size_t max_backlog = 500000;
};

struct journal_counters {
  std::uint64_t commits = 0;
  std::uint64_t rows_written = 0;  // messages inserted, updated, parts written
  std::uint64_t commit_failures = 0;
  std::size_t backlog = 0;  // rows not yet committed, the batch being written included
};

class message_journal final : public store_journal, public callback_journal {
 public:
  // Opens (or creates) the database; null and `error` set when it cannot. Contents are stored
  // with their client's name (`client_names`, by index), so the configuration may reorder them.
  static std::unique_ptr<message_journal> open(const journal_config& config,
                                               std::vector<std::string> client_names,
                                               std::string& error);
  ~message_journal() override;
  message_journal(const message_journal&) = delete;
  message_journal& operator=(const message_journal&) = delete;

  // Reads every record back, ids ascending. A content's client is found by the name it was
  // stored with; a name no longer configured gets client ~0 (sent, readable by none).
  [[nodiscard]] std::vector<restored_message> load();
  // The callbacks neither delivered nor failed, ids ascending.
  [[nodiscard]] std::vector<stored_callback> load_callbacks();
  // The first id never given out: ids stay unique over restarts and eviction.
  [[nodiscard]] std::uint64_t next_id() const { return next_id_; }

  // The writer thread; stop() writes what is left first.
  void start();
  void stop();
  [[nodiscard]] journal_counters counters() const;

  // store_journal
  std::uint64_t accepted(std::uint64_t first_id,
                         const std::shared_ptr<const message_content>& content,
                         const std::vector<sme_address>& to, std::int64_t now_ms) override;
  bool wait_stored(std::uint64_t ticket) override;
  void progressed(const message_progress& p) override;
  void part_answered(std::uint64_t id, std::uint8_t part, const std::string& receipt_key,
                     bool delivered) override;
  void evicted_below(std::uint64_t id) override;
  [[nodiscard]] bool backlogged() const override;

  // callback_journal
  void callback_added(const stored_callback& c) override;
  void callback_done(std::uint64_t id) override;

 private:
  message_journal(const journal_config& config, std::vector<std::string> client_names, sqlite3* db);

  struct accepted_request {
    std::uint64_t ticket = 0;
    std::uint64_t first_id = 0;
    std::shared_ptr<const message_content> content;
    std::vector<std::string> to;
    std::int64_t created_ms = 0;
  };
  struct part_row {
    std::string receipt_key;
    bool delivered = false;
  };
  // What changed since the last transaction; the writer takes it whole.
  struct batch {
    std::vector<accepted_request> accepted;
    std::unordered_map<std::uint64_t, message_progress> progress;  // the last one per message
    std::map<std::pair<std::uint64_t, std::uint8_t>, part_row> parts;
    std::uint64_t evicted_below = 0;
    std::vector<stored_callback> callbacks_added;
    std::vector<std::uint64_t> callbacks_done;  // deleted after the additions
    std::size_t rows = 0;
    [[nodiscard]] bool empty() const {
      return accepted.empty() && progress.empty() && parts.empty() && evicted_below == 0 &&
             callbacks_added.empty() && callbacks_done.empty();
    }
  };

  void run();
  [[nodiscard]] bool write(const batch& b);

  struct statements;  // prepared on the writer's first transaction

  journal_config config_;
  sqlite3* db_;
  std::uint64_t next_id_ = 0;
  std::vector<std::string> client_names_;
  mutable std::mutex mutex_;
  std::condition_variable pending_cv_;  // the writer waits for changes
  std::condition_variable stored_cv_;   // requests wait for their commit
  batch pending_;
  std::size_t writing_rows_ = 0;  // of the batch the writer has taken
  std::uint64_t next_ticket_ = 1;
  std::uint64_t stored_ticket_ = 0;  // every ticket up to this one is decided
  std::unordered_set<std::uint64_t> failed_tickets_;
  bool stopping_ = false;
  journal_counters counters_;
  std::unique_ptr<statements> stmts_;  // the writer thread's only
  std::thread writer_;
};

}  // namespace smpp::http
