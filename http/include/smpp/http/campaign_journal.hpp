// Campaigns on disk, in the SQLite database of the message journal (its own connection; WAL
// lets the two write in turn): table `campaigns` (the options, the state, the faults counted)
// and `campaign_recipients` (one row per recipient: line, number, text, and the id of the
// message it became, 0 until handed over). The message journal sets that id in the transaction
// that stores the message (message_content::campaign), so after a crash each recipient is
// either already a message (sent from the message table) or still to be handed over: never both.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "smpp/http/campaign_request.hpp"

struct sqlite3;

namespace smpp::http {

enum class campaign_state : std::uint8_t { running, paused, cancelled, done };

[[nodiscard]] std::string_view to_string(campaign_state s) noexcept;

struct stored_campaign {
  std::uint64_t id = 0;
  std::uint32_t client = 0;  // index in the configuration; ~0 for a name no longer configured
  campaign_state state = campaign_state::running;
  std::int64_t created_ms = 0;
  std::size_t rows_refused = 0;
  campaign_spec spec;                      // faults not kept: rows_refused counts them
  std::vector<std::uint64_t> message_ids;  // per recipient; 0: not yet handed over
};

class campaign_journal {
 public:
  // Opens the database (creating the tables); null with `error` set when it cannot.
  static std::unique_ptr<campaign_journal> open(const std::string& path,
                                                const std::string& synchronous,
                                                std::vector<std::string> client_names,
                                                std::string& error);
  ~campaign_journal();
  campaign_journal(const campaign_journal&) = delete;
  campaign_journal& operator=(const campaign_journal&) = delete;

  // Every campaign, ids ascending.
  [[nodiscard]] std::vector<stored_campaign> load();
  // Each is one transaction; false when it could not be written. Thread-safe.
  [[nodiscard]] bool insert(const stored_campaign& c);
  [[nodiscard]] bool set_state(std::uint64_t id, campaign_state state);
  [[nodiscard]] bool remove(std::uint64_t id);

 private:
  campaign_journal(sqlite3* db, std::vector<std::string> client_names);
  std::mutex mutex_;
  sqlite3* db_;
  std::vector<std::string> client_names_;
};

}  // namespace smpp::http
