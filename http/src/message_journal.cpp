// The message journal over SQLite's C API (Debian libsqlite3-dev): prepared statements, one
// transaction per batch.
#include "smpp/http/message_journal.hpp"

#include <sqlite3.h>

#include "sqlite_statement.hpp"

#include <algorithm>
#include <utility>

namespace smpp::http {
namespace {

constexpr int schema_version = 1;

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS contents(
  id INTEGER PRIMARY KEY,          -- the first message id of the request
  last_id INTEGER NOT NULL,        -- its last: the content goes when that one is evicted
  client TEXT NOT NULL,            -- the client's name
  from_ton INTEGER NOT NULL, from_npi INTEGER NOT NULL, from_addr TEXT NOT NULL,
  dlr INTEGER NOT NULL, validity TEXT NOT NULL, client_ref TEXT NOT NULL,
  schedule_ms INTEGER NOT NULL, dlr_url TEXT NOT NULL,
  parts BLOB NOT NULL);            -- per part: esm_class, data_coding, length (2 octets), octets
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY, content INTEGER NOT NULL, to_addr TEXT NOT NULL,
  state INTEGER NOT NULL DEFAULT 0, smpp_status INTEGER NOT NULL DEFAULT 0,
  receipt_stat INTEGER NOT NULL DEFAULT 0, parts_submitted INTEGER NOT NULL DEFAULT 0,
  parts_accepted INTEGER NOT NULL DEFAULT 0, parts_delivered INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  submitted_ms INTEGER NOT NULL DEFAULT 0, accepted_ms INTEGER NOT NULL DEFAULT 0,
  done_ms INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS parts(  -- parts answered ESME_ROK of messages asking for a receipt
  message INTEGER NOT NULL, part INTEGER NOT NULL, receipt_key TEXT NOT NULL,
  delivered INTEGER NOT NULL, PRIMARY KEY(message, part)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS callbacks(        -- dlr_url and mo_url POSTs not yet done
  id INTEGER PRIMARY KEY, url TEXT NOT NULL, body TEXT NOT NULL, signature TEXT NOT NULL,
  deadline_ms INTEGER NOT NULL);
)sql";

std::vector<std::byte> encode_parts(const std::vector<message_part>& parts) {
  std::vector<std::byte> out;
  for (const message_part& p : parts) {
    const std::size_t n = p.short_message.size();
    out.push_back(std::byte{p.esm_class});
    out.push_back(std::byte{p.data_coding});
    out.push_back(static_cast<std::byte>(n >> 8));
    out.push_back(static_cast<std::byte>(n & 0xFF));
    out.insert(out.end(), p.short_message.begin(), p.short_message.end());
  }
  return out;
}

// False for a blob this version did not write.
bool decode_parts(const std::vector<std::byte>& in, std::vector<message_part>& parts) {
  std::size_t at = 0;
  while (at < in.size()) {
    if (in.size() - at < 4) return false;
    message_part p;
    p.esm_class = static_cast<std::uint8_t>(in[at]);
    p.data_coding = static_cast<std::uint8_t>(in[at + 1]);
    const std::size_t n =
        (static_cast<std::size_t>(in[at + 2]) << 8) | static_cast<std::size_t>(in[at + 3]);
    at += 4;
    if (in.size() - at < n) return false;
    p.short_message.assign(in.begin() + static_cast<std::ptrdiff_t>(at),
                           in.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
    parts.push_back(std::move(p));
  }
  return !parts.empty();
}

}  // namespace

std::unique_ptr<message_journal> message_journal::open(const journal_config& config,
                                                       std::vector<std::string> client_names,
                                                       std::string& error) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(config.path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto fail = [&](const std::string& what) {
    error = config.path + ": " + what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "no memory");
    sqlite3_close(db);
    return nullptr;
  };
  if (rc != SQLITE_OK) return fail("cannot open");
  const std::string pragmas =
      "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; "
      "PRAGMA synchronous = " +
      config.synchronous + ";";
  if (!exec(db, pragmas.c_str())) return fail("cannot set WAL mode");
  {
    // journal_mode answers the mode it got: a file system without shared memory refuses WAL.
    statement mode(db, "PRAGMA journal_mode");
    if (!mode.ok() || !mode.row() || mode.text(0) != "wal") return fail("WAL mode refused");
  }
  if (!exec(db, schema)) return fail("cannot create the tables");
  std::uint64_t next_id = 0;
  {
    statement version(db, "SELECT value FROM meta WHERE key = 'schema'");
    if (!version.ok()) return fail("cannot read the schema version");
    if (version.row() && version.integer(0) != schema_version) {
      error = config.path + ": schema version " + std::to_string(version.integer(0)) +
              ", this smpp-http reads " + std::to_string(schema_version);
      sqlite3_close(db);
      return nullptr;
    }
    statement next(db, "SELECT value FROM meta WHERE key = 'next_id'");
    if (next.ok() && next.row()) next_id = static_cast<std::uint64_t>(next.integer(0));
  }
  statement set_version(db, "INSERT OR REPLACE INTO meta VALUES('schema', ?)");
  if (!set_version.ok() || !set_version.bind(1, std::int64_t{schema_version}).run()) {
    return fail("cannot write the schema version");
  }
  std::unique_ptr<message_journal> j(new message_journal(config, std::move(client_names), db));
  j->next_id_ = next_id;
  return j;
}

message_journal::message_journal(const journal_config& config,
                                 std::vector<std::string> client_names, sqlite3* db)
    : config_(config), db_(db), client_names_(std::move(client_names)) {}

message_journal::~message_journal() {
  stop();
  stmts_.reset();
  sqlite3_close(db_);
}

std::vector<restored_message> message_journal::load() {
  std::unordered_map<std::uint64_t, std::shared_ptr<message_content>> contents;
  {
    statement s(db_,
                "SELECT id, client, from_ton, from_npi, from_addr, dlr, validity, client_ref, "
                "schedule_ms, dlr_url, parts FROM contents");
    while (s.ok() && s.row()) {
      auto c = std::make_shared<message_content>();
      const std::string client = s.text(1);
      const auto it = std::find(client_names_.begin(), client_names_.end(), client);
      c->client = it == client_names_.end()
                      ? ~std::uint32_t{0}
                      : static_cast<std::uint32_t>(it - client_names_.begin());
      c->from = {static_cast<std::uint8_t>(s.integer(2)), static_cast<std::uint8_t>(s.integer(3)),
                 s.text(4)};
      c->dlr = s.integer(5) != 0;
      c->validity_period = s.text(6);
      c->client_ref = s.text(7);
      c->schedule_ms = s.integer(8);
      c->dlr_url = s.text(9);
      if (decode_parts(s.blob(10), c->parts)) contents.emplace(s.integer(0), std::move(c));
    }
  }
  std::vector<restored_message> out;
  {
    statement s(db_,
                "SELECT id, content, to_addr, state, smpp_status, receipt_stat, created_ms, "
                "submitted_ms, accepted_ms, done_ms, parts_submitted, parts_accepted, "
                "parts_delivered FROM messages ORDER BY id");
    while (s.ok() && s.row()) {
      const auto c = contents.find(static_cast<std::uint64_t>(s.integer(1)));
      const auto state = s.integer(3);
      if (c == contents.end() || state < 0 || state > static_cast<int>(message_state::rejected))
        continue;
      restored_message& m = out.emplace_back();
      m.content = c->second;
      m.to = s.text(2);
      m.progress.id = static_cast<std::uint64_t>(s.integer(0));
      m.progress.state = static_cast<message_state>(state);
      m.progress.smpp_status = static_cast<std::uint32_t>(s.integer(4));
      m.progress.receipt_stat = static_cast<std::uint8_t>(s.integer(5));
      m.created_ms = s.integer(6);
      m.progress.submitted_ms = s.integer(7);
      m.progress.accepted_ms = s.integer(8);
      m.progress.done_ms = s.integer(9);
      m.progress.parts_submitted = static_cast<std::uint8_t>(s.integer(10));
      m.progress.parts_accepted = static_cast<std::uint8_t>(s.integer(11));
      m.progress.parts_delivered = static_cast<std::uint8_t>(s.integer(12));
    }
  }
  {
    statement s(db_, "SELECT message, part, receipt_key, delivered FROM parts ORDER BY message");
    std::size_t at = 0;
    while (s.ok() && s.row()) {
      const auto id = static_cast<std::uint64_t>(s.integer(0));
      while (at < out.size() && out[at].progress.id < id) ++at;
      if (at == out.size()) break;
      if (out[at].progress.id != id) continue;
      out[at].answered.push_back(
          {static_cast<std::uint8_t>(s.integer(1)), s.text(2), s.integer(3) != 0});
    }
  }
  if (!out.empty()) next_id_ = std::max(next_id_, out.back().progress.id + 1);
  return out;
}

std::vector<stored_callback> message_journal::load_callbacks() {
  std::vector<stored_callback> out;
  statement s(db_, "SELECT id, url, body, signature, deadline_ms FROM callbacks ORDER BY id");
  while (s.ok() && s.row()) {
    out.push_back(
        {static_cast<std::uint64_t>(s.integer(0)), s.text(1), s.text(2), s.text(3), s.integer(4)});
  }
  return out;
}

void message_journal::callback_added(const stored_callback& c) {
  const std::lock_guard lock(mutex_);
  pending_.callbacks_added.push_back(c);
  ++pending_.rows;
  pending_cv_.notify_one();
}

void message_journal::callback_done(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  pending_.callbacks_done.push_back(id);
  ++pending_.rows;
  pending_cv_.notify_one();
}

void message_journal::start() {
  writer_ = std::thread([this] { run(); });
}

void message_journal::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  pending_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

journal_counters message_journal::counters() const {
  const std::lock_guard lock(mutex_);
  journal_counters c = counters_;
  c.backlog = pending_.rows + writing_rows_;
  return c;
}

std::uint64_t message_journal::accepted(std::uint64_t first_id,
                                        const std::shared_ptr<const message_content>& content,
                                        const std::vector<sme_address>& to, std::int64_t now_ms) {
  accepted_request a;
  a.first_id = first_id;
  a.content = content;
  a.created_ms = now_ms;
  a.to.reserve(to.size());
  for (const sme_address& t : to) a.to.push_back(t.digits);
  const std::lock_guard lock(mutex_);
  a.ticket = next_ticket_++;
  pending_.rows += to.size();
  pending_.accepted.push_back(std::move(a));
  pending_cv_.notify_one();
  return next_ticket_ - 1;
}

bool message_journal::wait_stored(std::uint64_t ticket) {
  std::unique_lock lock(mutex_);
  stored_cv_.wait(lock, [&] { return stored_ticket_ >= ticket; });
  return failed_tickets_.erase(ticket) == 0;
}

void message_journal::progressed(const message_progress& p) {
  const std::lock_guard lock(mutex_);
  const auto [it, inserted] = pending_.progress.insert_or_assign(p.id, p);
  if (inserted) ++pending_.rows;
  pending_cv_.notify_one();
}

void message_journal::part_answered(std::uint64_t id, std::uint8_t part,
                                    const std::string& receipt_key, bool delivered) {
  const std::lock_guard lock(mutex_);
  const auto [it, inserted] =
      pending_.parts.insert_or_assign({id, part}, part_row{receipt_key, delivered});
  if (inserted) ++pending_.rows;
  pending_cv_.notify_one();
}

void message_journal::evicted_below(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  pending_.evicted_below = std::max(pending_.evicted_below, id);
  pending_cv_.notify_one();
}

bool message_journal::backlogged() const {
  const std::lock_guard lock(mutex_);
  return pending_.rows > config_.max_backlog;
}

void message_journal::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    pending_cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) break;  // stopping, and everything is written
    batch b = std::move(pending_);
    pending_ = batch{};
    const std::uint64_t last_ticket = next_ticket_ - 1;
    writing_rows_ = b.rows;
    lock.unlock();
    const bool ok = write(b);
    lock.lock();
    writing_rows_ = 0;
    if (ok) {
      ++counters_.commits;
      counters_.rows_written += b.rows;
    } else {
      ++counters_.commit_failures;
      for (const accepted_request& a : b.accepted) failed_tickets_.insert(a.ticket);
    }
    stored_ticket_ = last_ticket;
    stored_cv_.notify_all();
  }
}

// The statements of the writer, prepared once: parsing them again for every transaction cost
// more than the rows of a small one.
struct message_journal::statements {
  explicit statements(sqlite3* db)
      : content(db, "INSERT INTO contents VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        message(db, "INSERT INTO messages(id, content, to_addr, created_ms) VALUES(?, ?, ?, ?)"),
        messages(db, multi_row_insert().c_str()),
        progress(db,
                 "UPDATE messages SET state = ?, smpp_status = ?, receipt_stat = ?, "
                 "submitted_ms = ?, accepted_ms = ?, done_ms = ?, parts_submitted = ?, "
                 "parts_accepted = ?, parts_delivered = ? WHERE id = ?"),
        part(db, "INSERT OR REPLACE INTO parts VALUES(?, ?, ?, ?)"),
        callback_add(db, "INSERT OR REPLACE INTO callbacks VALUES(?, ?, ?, ?, ?)"),
        callback_done(db, "DELETE FROM callbacks WHERE id = ?"),
        next_id(db, "INSERT OR REPLACE INTO meta VALUES('next_id', ?)"),
        begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT") {}

  // Recipients go in rows_per_insert at a time: one statement step for many rows.
  static constexpr std::size_t rows_per_insert = 100;
  static std::string multi_row_insert() {
    std::string sql = "INSERT INTO messages(id, content, to_addr, created_ms) VALUES";
    for (std::size_t i = 0; i < rows_per_insert; ++i) sql += i == 0 ? "(?,?,?,?)" : ",(?,?,?,?)";
    return sql;
  }
  [[nodiscard]] bool ok() const {
    return content.ok() && message.ok() && messages.ok() && progress.ok() && part.ok() &&
           callback_add.ok() && callback_done.ok() && next_id.ok() && begin.ok() && commit.ok();
  }

  statement content, message, messages, progress, part, callback_add, callback_done, next_id, begin,
      commit;
  // Prepared on the first campaign message: its table is the campaign journal's.
  std::unique_ptr<statement> campaign_fed;
};

namespace {

bool final_state(message_state s) {
  return s == message_state::delivered || s == message_state::failed ||
         s == message_state::expired || s == message_state::rejected;
}

}  // namespace

bool message_journal::write(const batch& b) {
  if (!stmts_) {
    stmts_ = std::make_unique<statements>(db_);
    if (!stmts_->ok()) {
      stmts_.reset();
      return false;
    }
  }
  statements& st = *stmts_;
  if (!st.begin.run()) return false;
  bool ok = true;
  std::uint64_t next_id = next_id_;
  // The recipients of every request, rows_per_insert rows per statement step while that many
  // are left, then one row per step.
  std::size_t recipients = 0;
  for (const accepted_request& a : b.accepted) recipients += a.to.size();
  const std::size_t in_full_steps = recipients - recipients % statements::rows_per_insert;
  std::size_t n = 0;  // recipients bound so far
  for (const accepted_request& a : b.accepted) {
    if (!ok) break;
    const message_content& c = *a.content;
    const auto first = static_cast<std::int64_t>(a.first_id);
    ok = st.content.bind(1, first)
             .bind(2, first + static_cast<std::int64_t>(a.to.size()) - 1)
             .bind(3, c.client < client_names_.size() ? std::string_view(client_names_[c.client])
                                                      : std::string_view())
             .bind(4, std::int64_t{c.from.ton})
             .bind(5, std::int64_t{c.from.npi})
             .bind(6, c.from.digits)
             .bind(7, std::int64_t{c.dlr ? 1 : 0})
             .bind(8, c.validity_period)
             .bind(9, c.client_ref)
             .bind(10, c.schedule_ms)
             .bind(11, c.dlr_url)
             .bind_blob(12, encode_parts(c.parts))
             .run();
    for (std::size_t i = 0; ok && i < a.to.size(); ++i, ++n) {
      const auto id = first + static_cast<std::int64_t>(i);
      if (n >= in_full_steps) {
        ok = st.message.bind(1, id)
                 .bind(2, first)
                 .bind_static(3, a.to[i])
                 .bind(4, a.created_ms)
                 .run();
        continue;
      }
      const int at = static_cast<int>(n % statements::rows_per_insert) * 4;
      st.messages.bind(at + 1, id)
          .bind(at + 2, first)
          .bind_static(at + 3, a.to[i])
          .bind(at + 4, a.created_ms);
      if (n % statements::rows_per_insert == statements::rows_per_insert - 1) {
        ok = st.messages.run();
      }
    }
    if (ok && c.campaign != 0) {
      // The campaign's row is handed over in the transaction that stores its message: after a
      // crash it is either sent from here or fed again, never both (campaign_journal.hpp).
      if (!st.campaign_fed || !st.campaign_fed->ok()) {
        st.campaign_fed = std::make_unique<statement>(
            db_, "UPDATE campaign_recipients SET message_id = ? WHERE campaign = ? AND row = ?");
      }
      statement& fed = *st.campaign_fed;
      ok = fed.ok() &&
           fed.bind(1, first)
               .bind(2, static_cast<std::int64_t>(c.campaign))
               .bind(3, std::int64_t{c.campaign_row})
               .run() &&
           sqlite3_changes(db_) == 1;
    }
    next_id = std::max(next_id, a.first_id + a.to.size());
  }
  st.messages.clear();
  st.message.clear();
  for (const auto& [id, p] : b.progress) {
    if (!ok) break;
    ok = st.progress.bind(1, std::int64_t{static_cast<std::uint8_t>(p.state)})
             .bind(2, std::int64_t{p.smpp_status})
             .bind(3, std::int64_t{p.receipt_stat})
             .bind(4, p.submitted_ms)
             .bind(5, p.accepted_ms)
             .bind(6, p.done_ms)
             .bind(7, std::int64_t{p.parts_submitted})
             .bind(8, std::int64_t{p.parts_accepted})
             .bind(9, std::int64_t{p.parts_delivered})
             .bind(10, static_cast<std::int64_t>(id))
             .run();
  }
  for (const auto& [key, row] : b.parts) {
    if (!ok) break;
    // A message final in this transaction needs no part rows: a restart reads its parts only
    // while it is unfinished (message_store::restore).
    const auto p = b.progress.find(key.first);
    if (p != b.progress.end() && final_state(p->second.state)) continue;
    ok = st.part.bind(1, static_cast<std::int64_t>(key.first))
             .bind(2, std::int64_t{key.second})
             .bind(3, row.receipt_key)
             .bind(4, std::int64_t{row.delivered ? 1 : 0})
             .run();
  }
  for (const stored_callback& c : b.callbacks_added) {
    if (!ok) break;
    ok = st.callback_add.bind(1, static_cast<std::int64_t>(c.id))
             .bind(2, c.url)
             .bind(3, c.body)
             .bind(4, c.signature)
             .bind(5, c.deadline_ms)
             .run();
  }
  for (const std::uint64_t id : b.callbacks_done) {
    if (!ok) break;
    ok = st.callback_done.bind(1, static_cast<std::int64_t>(id)).run();
  }
  if (ok && b.evicted_below != 0) {
    const auto below = static_cast<std::int64_t>(b.evicted_below);
    statement messages(db_, "DELETE FROM messages WHERE id < ?");
    statement parts(db_, "DELETE FROM parts WHERE message < ?");
    statement contents(db_, "DELETE FROM contents WHERE last_id < ?");
    ok = messages.ok() && parts.ok() && contents.ok() && messages.bind(1, below).run() &&
         parts.bind(1, below).run() && contents.bind(1, below).run();
  }
  if (ok && next_id != next_id_) {
    ok = st.next_id.bind(1, static_cast<std::int64_t>(next_id)).run();
  }
  if (ok && st.commit.run()) {
    next_id_ = next_id;
    return true;
  }
  exec(db_, "ROLLBACK");
  return false;
}

}  // namespace smpp::http
