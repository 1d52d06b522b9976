// Campaign rows over SQLite's C API, one transaction per change.
#include "smpp/http/campaign_journal.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <unordered_map>

#include "sqlite_statement.hpp"

namespace smpp::http {
namespace {

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS campaigns(
  id INTEGER PRIMARY KEY, client TEXT NOT NULL, name TEXT NOT NULL, template TEXT NOT NULL,
  flash INTEGER NOT NULL, has_from INTEGER NOT NULL, from_ton INTEGER NOT NULL,
  from_npi INTEGER NOT NULL, from_addr TEXT NOT NULL, from_text TEXT NOT NULL,
  dlr INTEGER NOT NULL, dlr_url TEXT NOT NULL, validity_s INTEGER NOT NULL,
  rate_per_s INTEGER NOT NULL,
  window_start INTEGER NOT NULL, window_stop INTEGER NOT NULL, utc_offset_min INTEGER NOT NULL,
  state INTEGER NOT NULL, created_ms INTEGER NOT NULL, rows_refused INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS campaign_recipients(
  campaign INTEGER NOT NULL, row INTEGER NOT NULL, line INTEGER NOT NULL,
  to_addr TEXT NOT NULL, text TEXT NOT NULL, message_id INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(campaign, row)) WITHOUT ROWID;
)sql";

}  // namespace

std::string_view to_string(campaign_state s) noexcept {
  switch (s) {
    case campaign_state::running:
      return "running";
    case campaign_state::paused:
      return "paused";
    case campaign_state::cancelled:
      return "cancelled";
    case campaign_state::done:
      return "done";
  }
  return "unknown";
}

std::unique_ptr<campaign_journal> campaign_journal::open(const std::string& path,
                                                         const std::string& synchronous,
                                                         std::vector<std::string> client_names,
                                                         std::string& error) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  const std::string pragmas =
      "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; "
      "PRAGMA synchronous = " +
      synchronous + ";";
  if (rc != SQLITE_OK || !exec(db, pragmas.c_str()) || !exec(db, schema)) {
    error = path + ": cannot create the campaign tables: " +
            (db != nullptr ? sqlite3_errmsg(db) : "no memory");
    sqlite3_close(db);
    return nullptr;
  }
  return std::unique_ptr<campaign_journal>(new campaign_journal(db, std::move(client_names)));
}

campaign_journal::campaign_journal(sqlite3* db, std::vector<std::string> client_names)
    : db_(db), client_names_(std::move(client_names)) {}

campaign_journal::~campaign_journal() {
  sqlite3_close(db_);
}

std::vector<stored_campaign> campaign_journal::load() {
  const std::lock_guard lock(mutex_);
  std::vector<stored_campaign> out;
  std::unordered_map<std::uint64_t, std::size_t> at;
  {
    statement s(db_,
                "SELECT id, client, name, template, flash, has_from, from_ton, from_npi, "
                "from_addr, from_text, dlr, dlr_url, validity_s, rate_per_s, window_start, "
                "window_stop, utc_offset_min, state, created_ms, rows_refused FROM campaigns "
                "ORDER BY id");
    while (s.ok() && s.row()) {
      stored_campaign& c = out.emplace_back();
      c.id = static_cast<std::uint64_t>(s.integer(0));
      const std::string client = s.text(1);
      const auto it = std::find(client_names_.begin(), client_names_.end(), client);
      c.client = it == client_names_.end() ? ~std::uint32_t{0}
                                           : static_cast<std::uint32_t>(it - client_names_.begin());
      c.spec.name = s.text(2);
      c.spec.text_template = s.text(3);
      c.spec.flash = s.integer(4) != 0;
      if (s.integer(5) != 0) {
        c.spec.from = sme_address{static_cast<std::uint8_t>(s.integer(6)),
                                  static_cast<std::uint8_t>(s.integer(7)), s.text(8)};
        c.spec.from_text = s.text(9);
      }
      c.spec.dlr = s.integer(10) != 0;
      c.spec.dlr_url = s.text(11);
      c.spec.validity_s = static_cast<std::uint32_t>(s.integer(12));
      c.spec.rate_per_s = static_cast<std::uint32_t>(s.integer(13));
      if (s.integer(14) >= 0) {
        c.spec.window =
            send_window{static_cast<int>(s.integer(14)), static_cast<int>(s.integer(15)),
                        static_cast<int>(s.integer(16))};
      }
      const auto state = s.integer(17);
      c.state = state >= 0 && state <= static_cast<int>(campaign_state::done)
                    ? static_cast<campaign_state>(state)
                    : campaign_state::paused;
      c.created_ms = s.integer(18);
      c.rows_refused = static_cast<std::size_t>(s.integer(19));
      at[c.id] = out.size() - 1;
    }
  }
  statement s(db_,
              "SELECT campaign, line, to_addr, text, message_id FROM campaign_recipients "
              "ORDER BY campaign, row");
  while (s.ok() && s.row()) {
    const auto it = at.find(static_cast<std::uint64_t>(s.integer(0)));
    if (it == at.end()) continue;
    stored_campaign& c = out[it->second];
    c.spec.recipients.push_back({static_cast<std::size_t>(s.integer(1)), s.text(2), s.text(3)});
    c.message_ids.push_back(static_cast<std::uint64_t>(s.integer(4)));
  }
  return out;
}

bool campaign_journal::insert(const stored_campaign& c) {
  const std::lock_guard lock(mutex_);
  if (!exec(db_, "BEGIN IMMEDIATE")) return false;
  statement campaign(db_,
                     "INSERT INTO campaigns VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                     "?, ?, ?, ?, ?)");
  statement recipient(db_, "INSERT INTO campaign_recipients VALUES(?, ?, ?, ?, ?, 0)");
  const campaign_spec& sp = c.spec;
  const auto id = static_cast<std::int64_t>(c.id);
  const sme_address from = sp.from.value_or(sme_address{});
  bool ok = campaign.ok() && recipient.ok() &&
            campaign.bind(1, id)
                .bind(2, c.client < client_names_.size() ? std::string_view(client_names_[c.client])
                                                         : std::string_view())
                .bind(3, sp.name)
                .bind(4, sp.text_template)
                .bind(5, std::int64_t{sp.flash ? 1 : 0})
                .bind(6, std::int64_t{sp.from ? 1 : 0})
                .bind(7, std::int64_t{from.ton})
                .bind(8, std::int64_t{from.npi})
                .bind(9, from.digits)
                .bind(10, sp.from_text)
                .bind(11, std::int64_t{sp.dlr ? 1 : 0})
                .bind(12, sp.dlr_url)
                .bind(13, std::int64_t{sp.validity_s})
                .bind(14, std::int64_t{sp.rate_per_s})
                .bind(15, std::int64_t{sp.window ? sp.window->start_min : -1})
                .bind(16, std::int64_t{sp.window ? sp.window->stop_min : -1})
                .bind(17, std::int64_t{sp.window ? sp.window->utc_offset_min : 0})
                .bind(18, std::int64_t{static_cast<std::uint8_t>(c.state)})
                .bind(19, c.created_ms)
                .bind(20, static_cast<std::int64_t>(c.rows_refused))
                .run();
  for (std::size_t i = 0; ok && i < sp.recipients.size(); ++i) {
    const campaign_recipient& r = sp.recipients[i];
    ok = recipient.bind(1, id)
             .bind(2, static_cast<std::int64_t>(i))
             .bind(3, static_cast<std::int64_t>(r.line))
             .bind(4, r.to)
             .bind(5, r.text)
             .run();
  }
  if (ok && exec(db_, "COMMIT")) return true;
  exec(db_, "ROLLBACK");
  return false;
}

bool campaign_journal::set_state(std::uint64_t id, campaign_state state) {
  const std::lock_guard lock(mutex_);
  statement s(db_, "UPDATE campaigns SET state = ? WHERE id = ?");
  return s.ok() && s.bind(1, std::int64_t{static_cast<std::uint8_t>(state)})
                       .bind(2, static_cast<std::int64_t>(id))
                       .run();
}

bool campaign_journal::remove(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  if (!exec(db_, "BEGIN IMMEDIATE")) return false;
  statement a(db_, "DELETE FROM campaign_recipients WHERE campaign = ?");
  statement b(db_, "DELETE FROM campaigns WHERE id = ?");
  const auto key = static_cast<std::int64_t>(id);
  if (a.ok() && b.ok() && a.bind(1, key).run() && b.bind(1, key).run() && exec(db_, "COMMIT")) {
    return true;
  }
  exec(db_, "ROLLBACK");
  return false;
}

}  // namespace smpp::http
