// The feeder thread of the campaigns and their progress, read from the message store.
#include "smpp/http/campaign_runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "clock.hpp"
#include "smpp/codec/receipt.hpp"
#include "smpp/http/message_builder.hpp"
#include "smpp/http/message_json.hpp"

namespace smpp::http {
namespace {

constexpr std::uint8_t unknown_state = 0xFF;
// Rows of a campaign without a rate handed over at once (sharing the journal's commits).
constexpr std::size_t max_batch = 1000;

// One campaign as the runner follows it.
struct campaign {
  stored_campaign s;
  // The first recipient not handed over; rows after it may be (a batch cut off by a crash or
  // partly refused by the store): a row is handed over when its message id is not 0.
  std::size_t next_row = 0;
  std::size_t handed = 0;  // rows handed over
  double next_due_ms = 0;  // wall clock of the next hand-over the rate allows
  bool outside_window = false;
  std::int64_t window_opens_ms = 0;
  // Final states seen, so an evicted message still counts: message_state or unknown_state.
  std::vector<std::uint8_t> final_state;

  [[nodiscard]] bool finished() const {
    return s.state == campaign_state::done || s.state == campaign_state::cancelled;
  }
};

const char* const count_names[] = {"queued", "submitted", "accepted", "delivered",
                                   "failed", "expired",   "rejected"};

}  // namespace

struct campaign_runner::impl {
  campaign_runner_config config;
  message_store& store;
  campaign_journal* journal;
  std::function<sme_address(std::uint32_t)> client_from;
  mutable std::mutex mutex;
  std::condition_variable wake;
  std::condition_variable handed_cv;  // the feeder finished a hand-over
  std::uint64_t handing_over = 0;     // the campaign whose hand-over is in the store; 0: none
  std::map<std::uint64_t, campaign> campaigns;
  std::uint64_t next_id = 1;
  std::uint64_t last_fed = 0;  // round robin among the running campaigns
  bool stopping = false;
  counters stats;
  std::thread feeder;

  impl(const campaign_runner_config& c, message_store& s, campaign_journal* j,
       std::function<sme_address(std::uint32_t)> from)
      : config(c), store(s), journal(j), client_from(std::move(from)) {}

  // Whether `c` may hand a recipient over now; otherwise `wake_ms` is lowered to when it may.
  bool ready(campaign& c, std::int64_t now, std::int64_t& wake_ms) {
    if (c.s.state != campaign_state::running || c.next_row >= c.s.spec.recipients.size() ||
        c.s.client == ~std::uint32_t{0}) {
      return false;
    }
    if (c.s.spec.window && !in_window(*c.s.spec.window, now)) {
      c.outside_window = true;
      c.window_opens_ms = next_opening(*c.s.spec.window, now);
      wake_ms = std::min(wake_ms, c.window_opens_ms);
      return false;
    }
    c.outside_window = false;
    if (c.next_due_ms > static_cast<double>(now)) {
      wake_ms = std::min(wake_ms, static_cast<std::int64_t>(std::ceil(c.next_due_ms)));
      return false;
    }
    return true;
  }

  std::shared_ptr<message_content> content_of(const campaign& c, std::size_t row) const {
    const campaign_spec& sp = c.s.spec;
    auto content = std::make_shared<message_content>();
    content->client = c.s.client;
    content->from = sp.from ? *sp.from : client_from(c.s.client);
    const auto ref = static_cast<std::uint8_t>(c.s.id * 31 + row);
    content->parts = build_text(sp.recipients[row].text, sp.flash, ref, config.max_parts).parts;
    content->dlr = sp.dlr;
    if (sp.validity_s != 0) content->validity_period = relative_time(sp.validity_s);
    content->client_ref =
        "campaign " + std::to_string(c.s.id) + " line " + std::to_string(sp.recipients[row].line);
    content->dlr_url = sp.dlr_url;
    content->campaign = journal != nullptr ? c.s.id : 0;
    content->campaign_row = static_cast<std::uint32_t>(row);
    return content;
  }

  void run() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      const std::int64_t now = wall_ms();
      std::int64_t wake_ms = now + 1000;
      campaign* pick = nullptr;
      for (auto it = campaigns.upper_bound(last_fed); pick == nullptr && it != campaigns.end();
           ++it) {
        if (ready(it->second, now, wake_ms)) pick = &it->second;
      }
      for (auto it = campaigns.begin();
           pick == nullptr && it != campaigns.end() && it->first <= last_fed; ++it) {
        if (ready(it->second, now, wake_ms)) pick = &it->second;
      }
      if (pick == nullptr) {
        wake.wait_for(lock, std::chrono::milliseconds(std::max<std::int64_t>(1, wake_ms - now)));
        continue;
      }
      const std::uint64_t id = pick->s.id;
      // Without a rate, up to max_batch rows at once, all begun before any is finished so that
      // they share the journal's commits; with a rate, one at a time.
      std::vector<std::size_t> rows;
      const std::size_t batch = pick->s.spec.rate_per_s == 0 ? max_batch : 1;
      for (std::size_t r = pick->next_row; r < pick->s.message_ids.size() && rows.size() < batch;
           ++r) {
        if (pick->s.message_ids[r] == 0) rows.push_back(r);
      }
      std::vector<std::shared_ptr<message_content>> contents;
      std::vector<std::vector<sme_address>> to;
      for (const std::size_t r : rows) {
        contents.push_back(content_of(*pick, r));
        to.push_back({{1, 1, pick->s.spec.recipients[r].to}});
      }
      handing_over = id;
      lock.unlock();
      // Every row begun before any is finished: they share the journal's commits.
      std::vector<message_store::pending_accept> begun;
      begun.reserve(rows.size());
      for (std::size_t i = 0; i < rows.size(); ++i) {
        begun.push_back(store.begin_accept(std::move(contents[i]), to[i], now));
      }
      std::vector<message_store::accept_result> results;
      results.reserve(rows.size());
      for (const auto& b : begun) results.push_back(store.finish_accept(b, now));
      lock.lock();
      handing_over = 0;
      handed_cv.notify_all();
      const auto it = campaigns.find(id);
      if (it == campaigns.end()) continue;
      campaign& c = it->second;
      last_fed = id;
      bool refused = false;
      for (std::size_t i = 0; i < rows.size(); ++i) {
        if (results[i].status != message_store::accept_status::ok) {
          ++stats.store_refusals;
          refused = true;
          continue;
        }
        ++stats.handed_over;
        ++c.handed;
        c.s.message_ids[rows[i]] = results[i].first_id;
      }
      while (c.next_row < c.s.message_ids.size() && c.s.message_ids[c.next_row] != 0) ++c.next_row;
      // Successive hand-overs of a campaign at least 1/rate apart.
      c.next_due_ms = refused ? static_cast<double>(now + config.retry_ms)
                      : c.s.spec.rate_per_s == 0
                          ? 0
                          : static_cast<double>(now) + 1000.0 / c.s.spec.rate_per_s;
      if (c.next_row == c.s.spec.recipients.size() && c.s.state == campaign_state::running) {
        c.s.state = campaign_state::done;
        // Not written: read back, a running campaign with every row handed over is done.
        if (journal != nullptr) (void)journal->set_state(id, campaign_state::done);
      }
    }
  }

  // Forgets the oldest finished campaign to make room; false when none is finished.
  bool make_room() {
    for (auto it = campaigns.begin(); it != campaigns.end(); ++it) {
      if (!it->second.finished()) continue;
      if (journal != nullptr && !journal->remove(it->first)) return false;
      campaigns.erase(it);
      return true;
    }
    return false;
  }

  const campaign* find(std::uint64_t id, std::uint32_t client) const {
    const auto it = campaigns.find(id);
    if (it == campaigns.end() || it->second.s.client != client) return nullptr;
    return &it->second;
  }

  // The state of row `row` of `c`: a message_state, or unknown_state for an evicted message.
  std::uint8_t state_of(const campaign& c, std::size_t row, std::optional<message_view>* view) {
    std::uint8_t& cached = const_cast<campaign&>(c).final_state[row];
    auto v = store.find(c.s.message_ids[row], c.s.client);
    if (v && is_final(v->state, c.s.spec.dlr)) cached = static_cast<std::uint8_t>(v->state);
    const std::uint8_t now = v ? static_cast<std::uint8_t>(v->state) : cached;
    if (view != nullptr) *view = std::move(v);
    return now;
  }
};

campaign_runner::campaign_runner(const campaign_runner_config& config, message_store& store,
                                 campaign_journal* journal,
                                 std::function<sme_address(std::uint32_t)> client_from)
    : impl_(std::make_unique<impl>(config, store, journal, std::move(client_from))) {}

campaign_runner::~campaign_runner() {
  stop();
}

void campaign_runner::restore(std::vector<stored_campaign> campaigns) {
  const std::lock_guard lock(impl_->mutex);
  for (stored_campaign& s : campaigns) {
    campaign c;
    c.s = std::move(s);
    c.s.message_ids.resize(c.s.spec.recipients.size(), 0);
    c.final_state.assign(c.s.spec.recipients.size(), unknown_state);
    // Handed over in row order: the first row without a message is where it goes on.
    c.next_row = static_cast<std::size_t>(
        std::find(c.s.message_ids.begin(), c.s.message_ids.end(), 0) - c.s.message_ids.begin());
    c.handed = c.s.message_ids.size() - static_cast<std::size_t>(std::count(
                                            c.s.message_ids.begin(), c.s.message_ids.end(), 0));
    if (c.next_row == c.s.message_ids.size() && c.s.state == campaign_state::running) {
      c.s.state = campaign_state::done;
    }
    impl_->next_id = std::max(impl_->next_id, c.s.id + 1);
    const std::uint64_t id = c.s.id;
    impl_->campaigns.emplace(id, std::move(c));
  }
}

void campaign_runner::start() {
  impl_->feeder = std::thread([this] { impl_->run(); });
}

void campaign_runner::stop() {
  {
    const std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->feeder.joinable()) impl_->feeder.join();
}

campaign_runner::create_result campaign_runner::create(std::uint32_t client, campaign_spec spec,
                                                       std::int64_t now_ms) {
  campaign c;
  c.s.client = client;
  c.s.created_ms = now_ms;
  c.s.rows_refused = spec.faults.size();
  spec.faults.clear();
  c.s.spec = std::move(spec);
  c.s.message_ids.assign(c.s.spec.recipients.size(), 0);
  c.final_state.assign(c.s.spec.recipients.size(), unknown_state);
  {
    const std::lock_guard lock(impl_->mutex);
    if (impl_->campaigns.size() >= impl_->config.max_campaigns && !impl_->make_room()) {
      return {create_status::full, 0};
    }
    c.s.id = impl_->next_id++;
  }
  // Written before the feeder sees it: the message journal marks its rows as they go.
  if (impl_->journal != nullptr && !impl_->journal->insert(c.s)) {
    return {create_status::not_stored, 0};
  }
  const std::uint64_t id = c.s.id;
  {
    const std::lock_guard lock(impl_->mutex);
    impl_->campaigns.emplace(id, std::move(c));
  }
  impl_->wake.notify_all();
  return {create_status::ok, id};
}

campaign_runner::change_status campaign_runner::change(std::uint64_t id, std::uint32_t client,
                                                       campaign_state to) {
  std::unique_lock lock(impl_->mutex);
  // A hand-over under way counts before the change: its answer shows the campaign as it stays.
  impl_->handed_cv.wait(lock, [&] { return impl_->handing_over != id; });
  const auto it = impl_->campaigns.find(id);
  if (it == impl_->campaigns.end() || it->second.s.client != client) {
    return change_status::not_found;
  }
  campaign& c = it->second;
  if (c.finished()) return c.s.state == to ? change_status::ok : change_status::conflict;
  if (c.s.state == to) return change_status::ok;
  if (impl_->journal != nullptr && !impl_->journal->set_state(id, to)) {
    return change_status::not_stored;
  }
  c.s.state = to;
  impl_->wake.notify_all();
  return change_status::ok;
}

std::optional<std::string> campaign_runner::progress_json(std::uint64_t id, std::uint32_t client,
                                                          std::int64_t now_ms) const {
  const std::lock_guard lock(impl_->mutex);
  const campaign* c = impl_->find(id, client);
  if (c == nullptr) return std::nullopt;
  const campaign_spec& sp = c->s.spec;
  std::size_t counts[7] = {};
  std::size_t evicted = 0;
  std::size_t final_count = 0;
  for (std::size_t row = 0; row < c->s.message_ids.size(); ++row) {
    if (c->s.message_ids[row] == 0) continue;
    const std::uint8_t st = impl_->state_of(*c, row, nullptr);
    if (st == unknown_state) {
      ++evicted;
      ++final_count;
      continue;
    }
    ++counts[st];
    if (is_final(static_cast<message_state>(st), sp.dlr)) ++final_count;
  }
  const std::size_t left = sp.recipients.size() - c->handed;
  const bool cancelled = c->s.state == campaign_state::cancelled;
  if (!cancelled) counts[0] += left;
  std::string body = "{\"id\":\"" + std::to_string(id) + "\",\"name\":";
  append_json_string(body, sp.name);
  body += ",\"state\":\"" + std::string(to_string(c->s.state)) + "\"";
  const bool sending = c->s.state == campaign_state::running && left != 0;
  const bool outside = sending && sp.window && !in_window(*sp.window, now_ms);
  body += ",\"sending\":" + std::string(sending && !outside ? "true" : "false");
  body += ",\"recipients\":" + std::to_string(sp.recipients.size()) +
          ",\"rows_refused\":" + std::to_string(c->s.rows_refused) +
          ",\"handed_over\":" + std::to_string(c->handed) +
          ",\"rate_per_s\":" + std::to_string(sp.rate_per_s) + ",\"window\":";
  if (sp.window) {
    body += "{\"start\":\"" + time_of_day(sp.window->start_min) + "\",\"stop\":\"" +
            time_of_day(sp.window->stop_min) +
            "\",\"utc_offset_min\":" + std::to_string(sp.window->utc_offset_min) + "}";
    if (outside)
      body += ",\"window_opens_at\":\"" + iso_time(next_opening(*sp.window, now_ms)) + "\"";
  } else {
    body += "null";
  }
  body += ",\"counts\":{";
  for (std::size_t i = 0; i < 7; ++i) {
    body += "\"" + std::string(count_names[i]) + "\":" + std::to_string(counts[i]) + ",";
  }
  body += "\"cancelled\":" + std::to_string(cancelled ? left : 0) +
          ",\"evicted\":" + std::to_string(evicted) + "}";
  body += ",\"final\":" + std::to_string(final_count + (cancelled ? left : 0)) +
          ",\"created_at\":\"" + iso_time(c->s.created_ms) + "\"}\n";
  return body;
}

std::optional<std::string> campaign_runner::report_csv(std::uint64_t id,
                                                       std::uint32_t client) const {
  const std::lock_guard lock(impl_->mutex);
  const campaign* c = impl_->find(id, client);
  if (c == nullptr) return std::nullopt;
  std::string out =
      "line,number,message_id,state,smpp_status,receipt_stat,created_at,submitted_at,"
      "accepted_at,done_at\n";
  const auto time = [](std::int64_t ms) { return ms == 0 ? std::string() : iso_time(ms); };
  for (std::size_t row = 0; row < c->s.spec.recipients.size(); ++row) {
    const campaign_recipient& r = c->s.spec.recipients[row];
    out += std::to_string(r.line) + "," + r.to + ",";
    if (c->s.message_ids[row] == 0) {
      out += c->s.state == campaign_state::cancelled ? ",cancelled,,,,,,\n" : ",queued,,,,,,\n";
      continue;
    }
    std::optional<message_view> v;
    const std::uint8_t st = impl_->state_of(*c, row, &v);
    out += std::to_string(c->s.message_ids[row]) + ",";
    out += st == unknown_state ? std::string("evicted")
                               : std::string(to_string(static_cast<message_state>(st)));
    out += ",";
    if (v) {
      if (v->smpp_status != 0) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%08X", v->smpp_status);
        out += hex;
      }
      out += ",";
      if (v->receipt_stat != 0) {
        out += codec::stat_abbreviation(static_cast<codec::message_state>(v->receipt_stat));
      }
      out += "," + time(v->created_ms) + "," + time(v->submitted_ms) + "," + time(v->accepted_ms) +
             "," + time(v->done_ms);
    } else {
      out += ",,,,,";
    }
    out += "\n";
  }
  return out;
}

campaign_runner::counters campaign_runner::stats() const {
  const std::lock_guard lock(impl_->mutex);
  counters c = impl_->stats;
  c.campaigns = impl_->campaigns.size();
  return c;
}

}  // namespace smpp::http
