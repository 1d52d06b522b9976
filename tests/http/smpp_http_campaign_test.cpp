// Campaigns of smpp-http in front of smsc-sim (child processes on loopback): a CSV with broken
// rows sends the others once each and reports them by line; the rate bounds the count at the
// SMSC at every moment; a closed window, a paused and a cancelled campaign send nothing while
// another campaign runs; the bound on campaigns kept. And kill -9 mid-campaign with a restart
// on the same database, counted at an SMSC in this process: every recipient exactly once, the
// paused campaign still paused (and resumable), the cancelled one sending nothing more.
#include <gtest/gtest.h>

#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/counting_smsc.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::counting_smsc;
using smpp::testing::flat_json;
using smpp::testing::make_temp_dir;
using smpp::testing::smsc_sim_counters;
using smpp::testing::start_smsc_sim;
using smpp::testing::wait_for_smsc_sim;

const httplib::Headers auth{{"Authorization", "Bearer demo-key"}};

struct options {
  std::size_t max_campaigns = 1000;
  std::size_t max_recipients = 100000;
};

// smpp-http with its config in `dir` (the database state.db there), bound to smsc_port.
int start_smpp_http(child_process& p, const std::string& dir, std::uint16_t smsc_port,
                    const options& o = {}) {
  std::ofstream(dir + "http.toml")
      << "[http]\nlisten = \"127.0.0.1:0\"\nthreads = 4\n[store]\npath = \"" << dir
      << "state.db\"\nsynchronous = \"normal\"\n[smsc]\nport = " << smsc_port
      << "\nsessions = 2\nwindow = 64\nreconnect_ms = 100\n[campaigns]\nmax_campaigns = "
      << o.max_campaigns << "\nmax_recipients = " << o.max_recipients
      << "\n[[clients]]\nname = \"demo\"\nkey_hash = "
         "\"blake2b256:e229ec1be2faa7a5dec6aad7aff1591e1e9b1683ed3f08cce11be9bd06dd2c67\"\n"
         "from = \"DEMO\"\n";
  if (!p.start("smpp-http", {"--config", dir + "http.toml"})) return -1;
  constexpr std::string_view marker = "listening on 127.0.0.1:";
  if (!p.wait_for_output(
          [&](const std::string&, const std::string& err) {
            const size_t at = err.find(marker);
            return at != std::string::npos && err.find('\n', at) != std::string::npos;
          },
          10s)) {
    return -1;
  }
  return std::atoi(p.err().c_str() + p.err().find(marker) + marker.size());
}

class api {
 public:
  explicit api(int port) : client_("127.0.0.1", port) {
    client_.set_read_timeout(10, 0);
    client_.set_keep_alive(true);
  }
  httplib::Result post_json(const json& body) {
    return client_.Post("/v1/campaigns", auth, body.dump(), "application/json");
  }
  // 202: the campaign's id.
  std::string create(const json& body) {
    const auto r = post_json(body);
    if (!r || r->status != 202) {
      ADD_FAILURE() << "POST /v1/campaigns: " << (r ? r->body : "no answer");
      return "0";
    }
    return json::parse(r->body)["id"];
  }
  json get(const std::string& path) {
    const auto r = client_.Get(path.c_str(), auth);
    if (!r || r->status != 200) return json();
    return json::parse(r->body, nullptr, false);
  }
  json campaign(const std::string& id) { return get("/v1/campaigns/" + id); }
  // POST /v1/campaigns/{id}/{action}: the status and the body.
  std::pair<int, json> act(const std::string& id, const std::string& action) {
    const auto r =
        client_.Post(("/v1/campaigns/" + id + "/" + action).c_str(), auth, "", "application/json");
    if (!r) return {0, json()};
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  // Polls GET /v1/campaigns/{id} until `done` holds or `limit` passes; the last answer.
  template <typename Done>
  json wait_campaign(const std::string& id, Done done, std::chrono::milliseconds limit) {
    json last;
    for (const auto until = clock_type::now() + limit; clock_type::now() < until;) {
      last = campaign(id);
      if (last.is_object() && done(last)) return last;
      std::this_thread::sleep_for(20ms);
    }
    return last;
  }
  httplib::Client& client() { return client_; }

 private:
  httplib::Client client_;
};

json numbers(std::size_t n, std::size_t first) {
  json list = json::array();
  for (std::size_t i = 0; i < n; ++i) list.push_back(std::to_string(447000000000 + first + i));
  return list;
}

std::string hh_mm(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[8];
  std::strftime(buf, sizeof buf, "%H:%M", &tm);
  return buf;
}

// A window from `from_min` to `to_min` minutes away from now (UTC).
json window(int from_min, int to_min) {
  const std::time_t now = std::time(nullptr);
  return {{"start", hh_mm(now + from_min * 60)}, {"stop", hh_mm(now + to_min * 60)}};
}

struct sim_fixture {
  std::string dir = make_temp_dir(::testing::TempDir(), "smpp_campaign_");
  child_process sim;
  child_process http;

  int start(const options& o = {}) {
    const std::uint16_t sim_port = start_smsc_sim(sim, 0);
    if (sim_port == 0) {
      ADD_FAILURE() << "smsc-sim did not start: " << sim.err();
      return -1;
    }
    const int port = start_smpp_http(http, dir, sim_port, o);
    if (port <= 0) ADD_FAILURE() << "smpp-http did not start: " << http.err();
    return port;
  }
  std::uint64_t submitted() {
    const auto c = smsc_sim_counters(sim);
    return c ? c->count("submit_sm") : ~std::uint64_t{0};
  }
};

TEST(SmppHttpCampaign, CsvWithBrokenRowsSendsTheOthersOnceAndReportsEachRecipient) {
  sim_fixture f;
  const int port = f.start({.max_campaigns = 2, .max_recipients = 60});
  ASSERT_GT(port, 0);
  api a(port);
  // 62 numbers and three broken rows: the reader keeps 60 rows (the over-long one among them),
  // so the last three numbers are beyond the bound.
  std::string csv = "number,name\n";
  std::set<std::string> sent;
  for (std::size_t i = 0; i < 62; ++i) {
    const std::string number = std::to_string(447100000000 + i);
    csv += "+" + number + ",Name" + std::to_string(i) + "\n";
    if (i == 10) csv += "12ab,Broken\n";                                  // line 13
    if (i == 20) csv += "447100009999,Two,fields\n";                      // line 24
    if (i == 30) csv += "447100009998," + std::string(1600, 'x') + "\n";  // line 35: > 10 parts
    if (i < 59) sent.insert(number);
  }
  const auto r =
      a.client().Post("/v1/campaigns?template=Hi%20%7Bname%7D&name=spring", auth, csv, "text/csv");
  ASSERT_TRUE(r && r->status == 202) << (r ? r->body : "no answer");
  const json created = json::parse(r->body);
  EXPECT_EQ(created["recipients"], 59);
  EXPECT_EQ(created["rows_refused"], 6);
  std::vector<std::size_t> lines;
  for (const json& fault : created["faults"]) lines.push_back(fault["line"]);
  EXPECT_EQ(lines, (std::vector<std::size_t>{13, 24, 35, 64, 65, 66})) << created.dump();
  const std::string id = created["id"];

  const json done = a.wait_campaign(
      id, [](const json& c) { return c["final"] == 59 && c["state"] == "done"; }, 15s);
  EXPECT_EQ(done["counts"]["delivered"], 59) << done.dump();
  EXPECT_EQ(done["handed_over"], 59);
  EXPECT_EQ(done["name"], "spring");
  const auto sim = wait_for_smsc_sim(
      f.sim, [](const flat_json& c) { return c.count("receipts_acked") == 59; }, 10s);
  ASSERT_TRUE(sim.has_value());
  EXPECT_EQ(sim->count("submit_sm"), 59u) << "each recipient once at the SMSC";

  // The report: one row per recipient, each a message readable by its id with its text.
  const auto report = a.client().Get(("/v1/campaigns/" + id + "/report.csv").c_str(), auth);
  ASSERT_TRUE(report && report->status == 200);
  std::istringstream in(report->body);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line,
            "line,number,message_id,state,smpp_status,receipt_stat,created_at,submitted_at,"
            "accepted_at,done_at");
  std::set<std::string> reported;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    ASSERT_GE(cells.size(), 10u) << line;
    EXPECT_EQ(cells[3], "delivered") << line;
    EXPECT_EQ(cells[5], "DELIVRD") << line;
    const json m = a.get("/v1/messages/" + cells[2]);
    EXPECT_EQ(m["to"], cells[1]) << line;
    EXPECT_EQ(m["state"], "delivered");
    reported.insert(cells[1]);
  }
  EXPECT_EQ(reported, sent);

  // Bad requests: a wrong key, an unknown field, no sendable row.
  EXPECT_EQ(a.client()
                .Post("/v1/campaigns", httplib::Headers{{"Authorization", "Bearer nope"}}, "{}",
                      "application/json")
                ->status,
            401);
  EXPECT_EQ(a.post_json({{"template", "x"}, {"recipients", numbers(1, 0)}, {"colour", 1}})->status,
            400);
  const auto none = a.post_json({{"template", "x"}, {"recipients", {"abc"}}});
  EXPECT_EQ(none->status, 400);
  EXPECT_NE(none->body.find("line 1"), std::string::npos) << none->body;
  EXPECT_EQ(a.campaign("999").is_null(), true);

  // At most 2 campaigns kept: a third forgets the oldest done one; with none done, 503.
  const std::string w1 =
      a.create({{"template", "x"}, {"recipients", numbers(3, 900)}, {"window", window(120, 180)}});
  const std::string w2 =
      a.create({{"template", "x"}, {"recipients", numbers(3, 900)}, {"window", window(120, 180)}});
  EXPECT_TRUE(a.campaign(id).is_null()) << "the done campaign is forgotten";
  const auto full = a.post_json({{"template", "x"}, {"recipients", numbers(3, 900)}});
  EXPECT_EQ(full->status, 503) << full->body;
  EXPECT_EQ(a.act(w1, "cancel").first, 200);
  const std::string w3 =
      a.create({{"template", "x"}, {"recipients", numbers(3, 900)}, {"window", window(120, 180)}});
  EXPECT_TRUE(a.campaign(w1).is_null());
  EXPECT_EQ(a.campaign(w2)["handed_over"], 0);
  EXPECT_EQ(f.submitted(), 59u) << "nothing of the closed windows was sent";
}

// The rate at every moment: n recipients at r/s put at most 1 + r * t at the SMSC t after the
// POST was sent, and all of them there takes at least (n - 1) / r.
TEST(SmppHttpCampaign, TheRateBoundsTheCountAtTheSmscAtEveryMoment) {
  sim_fixture f;
  const int port = f.start();
  ASSERT_GT(port, 0);
  api a(port);
  constexpr std::size_t n = 30;
  constexpr std::size_t rate = 20;
  const auto t0 = clock_type::now();
  const std::string id =
      a.create({{"template", "Now"}, {"recipients", numbers(n, 0)}, {"rate_per_s", rate}});
  std::uint64_t at_smsc = 0;
  std::size_t samples = 0;
  std::chrono::milliseconds elapsed{0};
  const auto until = t0 + 15s;
  while (at_smsc != n && clock_type::now() < until) {
    at_smsc = f.submitted();
    elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0);
    ++samples;
    ASSERT_LE(at_smsc, 1 + static_cast<std::uint64_t>(elapsed.count()) * rate / 1000)
        << "at " << elapsed.count() << " ms";
  }
  EXPECT_EQ(at_smsc, n);
  EXPECT_GE(elapsed.count(), static_cast<std::int64_t>((n - 1) * 1000 / rate));
  EXPECT_GT(samples, 5u);
  const json done = a.wait_campaign(
      id, [](const json& c) { return c["final"] == n; }, 10s);
  EXPECT_EQ(done["counts"]["delivered"], n) << done.dump();
  EXPECT_EQ(done["rate_per_s"], rate);
}

// A closed window sends nothing, a paused campaign nothing more, while a third campaign runs for
// a second; resumed it goes on where it stopped; cancelled, the rest is never sent.
TEST(SmppHttpCampaign, ClosedWindowPausedAndCancelledSendNothingWhileAnotherRuns) {
  sim_fixture f;
  const int port = f.start();
  ASSERT_GT(port, 0);
  api a(port);
  const std::string closed =
      a.create({{"template", "A"}, {"recipients", numbers(10, 0)}, {"window", window(120, 180)}});
  const json waiting = a.campaign(closed);
  EXPECT_EQ(waiting["sending"], false) << waiting.dump();
  EXPECT_TRUE(waiting.contains("window_opens_at")) << waiting.dump();

  const std::string paused =
      a.create({{"template", "B"}, {"recipients", numbers(40, 100)}, {"rate_per_s", 20}});
  a.wait_campaign(
      paused, [](const json& c) { return c["handed_over"] >= 5; }, 10s);
  const auto [pause_status, at_pause] = a.act(paused, "pause");
  ASSERT_EQ(pause_status, 200);
  EXPECT_EQ(at_pause["state"], "paused");
  const std::size_t h = at_pause["handed_over"];
  ASSERT_GE(h, 5u);
  ASSERT_LT(h, 40u);
  const auto sim = wait_for_smsc_sim(
      f.sim, [&](const flat_json& c) { return c.count("submit_sm") >= h; }, 10s);
  ASSERT_TRUE(sim.has_value());
  EXPECT_EQ(sim->count("submit_sm"), h);

  // Ten at 10/s inside an open window: at least 0.9 s in which the others would have sent.
  json open = window(-60, 60);
  const std::string third = a.create(
      {{"template", "C"}, {"recipients", numbers(10, 200)}, {"rate_per_s", 10}, {"window", open}});
  const json third_done = a.wait_campaign(
      third, [](const json& c) { return c["final"] == 10; }, 10s);
  EXPECT_EQ(third_done["counts"]["delivered"], 10) << third_done.dump();
  const auto after = wait_for_smsc_sim(
      f.sim, [&](const flat_json& c) { return c.count("submit_sm") >= h + 10; }, 10s);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->count("submit_sm"), h + 10);
  EXPECT_EQ(a.campaign(paused)["handed_over"], h);
  EXPECT_EQ(a.campaign(paused)["counts"]["queued"], 40 - h);
  EXPECT_EQ(a.campaign(closed)["handed_over"], 0);

  EXPECT_EQ(a.act(paused, "resume").first, 200);
  const json resumed = a.wait_campaign(
      paused, [](const json& c) { return c["final"] == 40 && c["state"] == "done"; }, 10s);
  EXPECT_EQ(resumed["counts"]["delivered"], 40) << resumed.dump();

  const auto [cancel_status, cancelled] = a.act(closed, "cancel");
  EXPECT_EQ(cancel_status, 200);
  EXPECT_EQ(cancelled["state"], "cancelled");
  EXPECT_EQ(cancelled["counts"]["cancelled"], 10);
  EXPECT_EQ(a.act(paused, "cancel").first, 409) << "done";
  EXPECT_EQ(a.act(closed, "resume").first, 409) << "cancelled";
  EXPECT_EQ(a.act("999", "pause").first, 404);
  const auto total = wait_for_smsc_sim(
      f.sim, [&](const flat_json& c) { return c.count("receipts_acked") == 50; }, 10s);
  ASSERT_TRUE(total.has_value());
  EXPECT_EQ(total->count("submit_sm"), 50u);
}

// kill -9 mid-campaign: an SMSC that answers 60 submits and then reads nothing (what was sent
// stays unanswered and unseen), smpp-http killed once those answers are on disk, the SMSC
// serving again and smpp-http started on the same database.
TEST(SmppHttpCampaign, KillNineMidCampaignAndRestartSendsEveryRecipientExactlyOnce) {
  const std::string dir = make_temp_dir(::testing::TempDir(), "smpp_campaign_kill_");
  counting_smsc smsc(60);
  child_process http;
  const int port = start_smpp_http(http, dir, smsc.port());
  ASSERT_GT(port, 0) << http.err();
  api a(port);
  const auto campaign = [](std::size_t first, std::size_t n, std::size_t rate) {
    return json{{"template", "Hello"},
                {"recipients", numbers(n, first)},
                {"rate_per_s", rate},
                {"dlr", false}};
  };
  const std::string paused = a.create(campaign(10000, 30, 20));
  a.wait_campaign(
      paused, [](const json& c) { return c["handed_over"] >= 3; }, 10s);
  const auto [ps, p] = a.act(paused, "pause");
  ASSERT_EQ(ps, 200);
  const std::size_t h_paused = p["handed_over"];
  const std::string cancelled = a.create(campaign(20000, 30, 20));
  a.wait_campaign(
      cancelled, [](const json& c) { return c["handed_over"] >= 3; }, 10s);
  const auto [cs, c] = a.act(cancelled, "cancel");
  ASSERT_EQ(cs, 200);
  const std::size_t h_cancelled = c["handed_over"];
  const std::string running = a.create(campaign(30000, 200, 100));
  const json mid = a.wait_campaign(
      running, [&](const json& r) { return r["handed_over"] >= 80 && smsc.answered() == 60; }, 15s);
  ASSERT_GE(mid["handed_over"], 80) << mid.dump();
  ASSERT_EQ(smsc.answered(), 60u);
  // Every answer the SMSC gave is on disk: none of what it counted is sent again.
  json status;
  for (const auto until = clock_type::now() + 10s; clock_type::now() < until;) {
    status = a.get("/v1/status");
    if (status.is_object() && status["responses_ok"] == 60 && status["store_backlog"] == 0) break;
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(status["responses_ok"], 60) << status.dump();
  ASSERT_EQ(status["store_backlog"], 0) << status.dump();
  http.signal(SIGKILL);
  EXPECT_EQ(http.wait(10s).signal, SIGKILL);

  smsc.resume();
  child_process again;
  const int port2 = start_smpp_http(again, dir, smsc.port());
  ASSERT_GT(port2, 0) << again.err();
  EXPECT_NE(again.err().find("3 campaigns read back"), std::string::npos) << again.err();
  api b(port2);
  const json done = b.wait_campaign(
      running, [](const json& r) { return r["final"] == 200 && r["state"] == "done"; }, 15s);
  EXPECT_EQ(done["counts"]["accepted"], 200) << done.dump();
  const auto count_at_smsc = [&](std::size_t first, std::size_t n, std::size_t expect_sent) {
    const auto at = smsc.destinations();
    for (std::size_t i = 0; i < n; ++i) {
      const auto it = at.find(std::to_string(447000000000 + first + i));
      const std::size_t times = it == at.end() ? 0 : it->second;
      EXPECT_EQ(times, i < expect_sent ? 1u : 0u) << "recipient " << first + i;
    }
  };
  const auto total = [&] {
    std::size_t t = 0;
    for (const auto& [to, n] : smsc.destinations()) t += n;
    return t;
  };
  EXPECT_EQ(total(), 200 + h_paused + h_cancelled);
  count_at_smsc(30000, 200, 200);
  count_at_smsc(10000, 30, h_paused);
  count_at_smsc(20000, 30, h_cancelled);
  const json still_paused = b.campaign(paused);
  EXPECT_EQ(still_paused["state"], "paused");
  EXPECT_EQ(still_paused["handed_over"], h_paused);
  EXPECT_EQ(b.campaign(cancelled)["state"], "cancelled");
  EXPECT_EQ(b.act(cancelled, "resume").first, 409);

  // Resumed after the restart, the paused one sends the rest, each once.
  EXPECT_EQ(b.act(paused, "resume").first, 200);
  const json rest = b.wait_campaign(
      paused, [](const json& r) { return r["final"] == 30 && r["state"] == "done"; }, 10s);
  EXPECT_EQ(rest["counts"]["accepted"], 30) << rest.dump();
  EXPECT_EQ(total(), 200 + 30 + h_cancelled);
  count_at_smsc(10000, 30, 30);
  count_at_smsc(20000, 30, h_cancelled);
  std::printf(
      "kill -9 mid-campaign: %zu of the paused, %zu of the cancelled, %s of 200 handed "
      "over before the kill\n",
      h_paused, h_cancelled, mid["handed_over"].dump().c_str());
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait(10s).code, 0);
}

// The same without a rate: the recipients go 1,000 at a time, so the kill may cut a batch whose
// rows were stored in different commits; each is still sent exactly once.
TEST(SmppHttpCampaign, KillNineDuringBatchedHandOverSendsEveryRecipientExactlyOnce) {
  const std::string dir = make_temp_dir(::testing::TempDir(), "smpp_campaign_batch_");
  counting_smsc smsc(60);
  child_process http;
  const int port = start_smpp_http(http, dir, smsc.port());
  ASSERT_GT(port, 0) << http.err();
  api a(port);
  constexpr std::size_t n = 1500;
  const std::string id =
      a.create({{"template", "Hello {number}"}, {"recipients", numbers(n, 40000)}, {"dlr", false}});
  json status;
  for (const auto until = clock_type::now() + 10s; clock_type::now() < until;) {
    status = a.get("/v1/status");
    if (status.is_object() && status["responses_ok"] == 60 && status["store_backlog"] == 0) break;
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_EQ(status["responses_ok"], 60) << status.dump();
  ASSERT_EQ(status["store_backlog"], 0) << status.dump();
  const json at_kill = a.campaign(id);
  http.signal(SIGKILL);
  EXPECT_EQ(http.wait(10s).signal, SIGKILL);
  smsc.resume();
  child_process again;
  const int port2 = start_smpp_http(again, dir, smsc.port());
  ASSERT_GT(port2, 0) << again.err();
  api b(port2);
  const json done = b.wait_campaign(
      id, [](const json& c) { return c["final"] == n && c["state"] == "done"; }, 15s);
  EXPECT_EQ(done["counts"]["accepted"], n) << done.dump();
  const auto at = smsc.destinations();
  std::size_t total = 0;
  for (const auto& [to, times] : at) total += times;
  EXPECT_EQ(total, n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto it = at.find(std::to_string(447000040000 + i));
    EXPECT_EQ(it == at.end() ? 0u : it->second, 1u) << "recipient " << i;
  }
  std::printf("kill -9 during batched hand-over: %s of %zu handed over at the kill\n",
              at_kill["handed_over"].dump().c_str(), n);
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait(10s).code, 0);
}

}  // namespace
