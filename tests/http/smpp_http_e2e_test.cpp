// smpp-http in front of smsc-sim (child processes on loopback): messages POSTed are submitted
// exactly once, their states follow the answers and the receipts, the bounds answer 503, and
// nothing that got a 202 is lost while the SMSC is away. Each case bounded (under 60 s).
#include <gtest/gtest.h>

#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/rate_bounds.hpp"
#include "smpp/http/callbacks.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::flat_json;
using smpp::testing::make_temp_dir;
using smpp::testing::start_smsc_sim;
using smpp::testing::unused_port;
using smpp::testing::wait_for_smsc_sim;

constexpr const char* key_header = "Bearer demo-key";

struct limits {
  std::size_t max_queued_parts = 200000;
  std::size_t max_body_bytes = 1 << 20;
  std::uint32_t callback_retry_for_s = 3600;
  std::string mo_url = {};
  std::size_t inbox_max = 10000;
};

constexpr const char* webhook_secret = "s3cret";

// smpp-http with its own config in `dir`, bound to smsc_port; its HTTP port once it is up.
int start_smpp_http(child_process& p, const std::string& dir, std::uint16_t smsc_port,
                    const limits& l = {}) {
  std::ofstream(dir + "http.toml")
      << "[http]\nlisten = \"127.0.0.1:0\"\nthreads = 4\nmax_body_bytes = " << l.max_body_bytes
      << "\n[store]\npath = \"" << dir << "state.db\""
      << "\n[smsc]\nhost = \"127.0.0.1\"\nport = " << smsc_port
      << "\nsessions = 2\nwindow = 64\nreconnect_ms = 100\n"
         "[limits]\nmax_queued_parts = "
      << l.max_queued_parts << "\ninbox_max = " << l.inbox_max
      << "\n[callbacks]\nretry_for_s = " << l.callback_retry_for_s
      << "\ntimeout_ms = 1000\n[[clients]]\nname = \"demo\"\nwebhook_secret = \"" << webhook_secret
      << "\"\n"
         "key_hash = "
         "\"blake2b256:e229ec1be2faa7a5dec6aad7aff1591e1e9b1683ed3f08cce11be9bd06dd2c67\"\n"
         "from = \"DEMO\"\nallowed_from = [\"12345\"]\nmo_url = \""
      << l.mo_url << "\"\n";
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
    client_.set_read_timeout(30, 0);
    client_.set_keep_alive(true);
    client_.set_tcp_nodelay(true);
  }
  httplib::Result post(const std::string& body, const char* auth = key_header) {
    return client_.Post("/v1/messages", httplib::Headers{{"Authorization", auth}}, body,
                        "application/json");
  }
  json get(const std::string& path) {
    auto r = client_.Get(path.c_str(), httplib::Headers{{"Authorization", key_header}});
    if (!r || r->status != 200) return json();
    return json::parse(r->body, nullptr, false);
  }
  // Polls /v1/status until `done` holds or `limit` passes; the last status read.
  template <typename Done>
  json wait_status(Done done, std::chrono::milliseconds limit) {
    json last;
    for (const auto until = clock_type::now() + limit; clock_type::now() < until;) {
      last = get("/v1/status");
      if (last.is_object() && done(last)) return last;
      std::this_thread::sleep_for(20ms);
    }
    return last;
  }

 private:
  httplib::Client client_;
};

std::string recipients_json(std::size_t n, std::size_t first) {
  std::string to = "[";
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) to += ',';
    to += "\"+4479" + std::to_string(10000000 + first + i) + "\"";
  }
  return to + "]";
}

// The ids of a 202 answer, checked against the recipients and parts expected.
std::vector<std::string> ids_of(const httplib::Result& r, std::size_t count, std::size_t parts) {
  std::vector<std::string> ids;
  if (!r || r->status != 202) {
    ADD_FAILURE() << "expected 202, got "
                  << (r ? std::to_string(r->status) + " " + r->body : "none");
    return ids;
  }
  const json j = json::parse(r->body);
  EXPECT_EQ(j["count"], count);
  EXPECT_EQ(j["parts"], count * parts);
  for (const json& m : j["messages"]) {
    EXPECT_EQ(m["parts"], parts);
    ids.push_back(m["id"]);
  }
  EXPECT_EQ(ids.size(), count);
  return ids;
}

std::map<std::string, std::size_t> states_of(api& a, const std::vector<std::string>& ids) {
  std::map<std::string, std::size_t> by_state;
  for (const std::string& id : ids) {
    const json m = a.get("/v1/messages/" + id);
    ++by_state[m.is_object() ? m.value("state", "?") : "(missing)"];
  }
  return by_state;
}

struct fixture {
  std::string dir = make_temp_dir(::testing::TempDir(), "smpp_http_");
  child_process sim;
  child_process http;

  // smsc-sim with `sim_args`, then smpp-http bound to it: smpp-http's port, or -1.
  int start(std::vector<std::string> sim_args = {}, const limits& l = {}) {
    const std::uint16_t sim_port = start_smsc_sim(sim, 0, std::move(sim_args));
    if (sim_port == 0) {
      ADD_FAILURE() << "smsc-sim did not start: " << sim.err();
      return -1;
    }
    const int port = start_smpp_http(http, dir, sim_port, l);
    if (port <= 0) ADD_FAILURE() << "smpp-http did not start: " << http.err();
    return port;
  }
};

TEST(SmppHttpE2e, BatchesLongTextsFlashAndWapPushAreSubmittedOnceAndDeliveredFromReceipts) {
  fixture f;
  const int port = f.start();
  ASSERT_GT(port, 0);
  api a(port);

  std::vector<std::string> ids;
  std::size_t parts = 0;
  auto send = [&](const std::string& body, std::size_t count, std::size_t n_parts) {
    const auto got = ids_of(a.post(body), count, n_parts);
    ids.insert(ids.end(), got.begin(), got.end());
    parts += count * n_parts;
  };
  for (std::size_t b = 0; b < 5; ++b) {
    send(R"({"to":)" + recipients_json(1000, b * 1000) + R"(,"text":"Sale today"})", 1000, 1);
  }
  // 310 GSM characters: 153 + 153 + 4 in three parts; 80 Cyrillic letters: 67 + 13 in two.
  send(R"({"to":)" + recipients_json(100, 0) + R"(,"text":")" + std::string(310, 'x') + "\"}", 100,
       3);
  std::string cyrillic;
  for (int i = 0; i < 80; ++i) cyrillic += "\xD0\x96";
  send(R"({"to":)" + recipients_json(50, 0) + R"(,"text":")" + cyrillic + "\"}", 50, 2);
  send(R"({"to":"+447900000001","text":"Flash!","flash":true,"client_ref":"f1"})", 1, 1);
  send(R"({"to":)" + recipients_json(10, 0) +
           R"(,"wap_push":{"href":"https://example.com/o","text":"Offer"}})",
       10, 1);
  send(R"({"to":)" + recipients_json(10, 0) +
           R"(,"mms_notification":{"location":"http://mmsc.example/m/)" + std::string(150, 'q') +
           R"(","size":5000,"subject":"Photo"}})",
       10, 2);
  ASSERT_EQ(parts, 5000u + 300u + 100u + 1u + 10u + 20u);

  const json status =
      a.wait_status([&](const json& s) { return s["receipts_matched"] == parts; }, 30s);
  EXPECT_EQ(status["parts_submitted"], parts) << status.dump();
  EXPECT_EQ(status["responses_ok"], parts);
  EXPECT_EQ(status["receipts_matched"], parts);
  EXPECT_EQ(status["receipts_unmatched"], 0);
  EXPECT_EQ(status["queued_parts"], 0);
  const auto sim = wait_for_smsc_sim(
      f.sim, [&](const flat_json& c) { return c.count("receipts_acked") == parts; }, 10s);
  ASSERT_TRUE(sim.has_value());
  EXPECT_EQ(sim->count("submit_sm"), parts) << "each part exactly once at the SMSC";
  EXPECT_EQ(sim->count("accepted"), parts);
  EXPECT_EQ(sim->count("receipts_acked"), parts);

  const auto by_state = states_of(a, ids);
  EXPECT_EQ(by_state, (std::map<std::string, std::size_t>{{"delivered", ids.size()}}));
  const json flash = a.get("/v1/messages/" + ids[5000 + 100 + 50]);
  EXPECT_EQ(flash["client_ref"], "f1");
  EXPECT_EQ(flash["receipt_stat"], "DELIVRD");
  EXPECT_EQ(flash["parts_delivered"], 1);
  EXPECT_TRUE(flash.contains("done_at"));

  // SIGTERM: it unbinds, exits 0 and reports the same counts.
  f.http.signal(SIGTERM);
  const auto exit = f.http.wait(10s);
  EXPECT_EQ(exit.code, 0) << exit.err;
  const auto report = flat_json::parse(smpp::testing::last_line(exit.out));
  ASSERT_TRUE(report.has_value()) << exit.out;
  EXPECT_EQ(report->count("messages_accepted"), ids.size());
  EXPECT_EQ(report->count("parts_submitted"), parts);
  EXPECT_EQ(report->count("receipts_matched"), parts);
  const auto sim_after = wait_for_smsc_sim(
      f.sim, [](const flat_json& c) { return c.count("unbinds") == 2; }, 10s);
  ASSERT_TRUE(sim_after.has_value());
  EXPECT_EQ(sim_after->count("unbinds"), 2u);
}

TEST(SmppHttpE2e, RefusedSubmitsAreRejectedWithTheirStatusAndTheRestDelivered) {
  fixture f;
  const int port = f.start({"--error-rate", "0.2", "--seed", "7"});
  ASSERT_GT(port, 0);
  api a(port);
  const auto ids =
      ids_of(a.post(R"({"to":)" + recipients_json(1000, 0) + R"(,"text":"x"})"), 1000, 1);
  const json status = a.wait_status(
      [](const json& s) {
        return s["responses_ok"].get<std::uint64_t>() + s["responses_error"].get<std::uint64_t>() ==
                   1000 &&
               s["receipts_matched"] == s["responses_ok"];
      },
      30s);
  const auto sim = smpp::testing::smsc_sim_counters(f.sim);
  ASSERT_TRUE(sim.has_value());
  const std::uint64_t refused =
      sim->count("errors.ESME_RSYSERR") + sim->count("errors.ESME_RSUBMITFAIL");
  EXPECT_GT(refused, 100u);
  EXPECT_EQ(sim->count("submit_sm"), 1000u);
  EXPECT_EQ(status["responses_error"], refused) << status.dump();
  auto by_state = states_of(a, ids);
  EXPECT_EQ(by_state["rejected"], refused);
  EXPECT_EQ(by_state["delivered"], 1000u - refused);
  for (const std::string& id : ids) {
    const json m = a.get("/v1/messages/" + id);
    if (m["state"] != "rejected") continue;
    EXPECT_TRUE(m["smpp_status"] == "0x00000008" || m["smpp_status"] == "0x00000045") << m.dump();
    EXPECT_TRUE(m.contains("done_at"));
  }
}

TEST(SmppHttpE2e, AFullQueueAnswers503AndEveryAcceptedMessageIsSentOnceTheSmscComes) {
  fixture f;
  const std::uint16_t sim_port = unused_port();
  ASSERT_NE(sim_port, 0);
  const int port = start_smpp_http(f.http, f.dir, sim_port, limits{1500, 1 << 20});
  ASSERT_GT(port, 0) << f.http.err();
  api a(port);
  auto first = ids_of(a.post(R"({"to":)" + recipients_json(1000, 0) + R"(,"text":"a"})"), 1000, 1);
  const auto refused = a.post(R"({"to":)" + recipients_json(1000, 1000) + R"(,"text":"b"})");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(refused->body)["error"]["reason"],
            "the queue of messages waiting for the SMSC is full");
  const auto second =
      ids_of(a.post(R"({"to":)" + recipients_json(500, 2000) + R"(,"text":"c"})"), 500, 1);
  first.insert(first.end(), second.begin(), second.end());
  EXPECT_EQ(states_of(a, first), (std::map<std::string, std::size_t>{{"queued", 1500}}));

  // The SMSC comes up where smpp-http has been trying to connect.
  ASSERT_EQ(start_smsc_sim(f.sim, sim_port), sim_port) << f.sim.err();
  const json status =
      a.wait_status([](const json& s) { return s["receipts_matched"] == 1500; }, 30s);
  EXPECT_EQ(status["parts_submitted"], 1500) << status.dump();
  EXPECT_EQ(status["requests_refused_full"], 1);
  const auto sim = wait_for_smsc_sim(
      f.sim, [](const flat_json& c) { return c.count("receipts_acked") == 1500; }, 10s);
  ASSERT_TRUE(sim.has_value());
  EXPECT_EQ(sim->count("submit_sm"), 1500u) << "none of the refused request, all the accepted";
  EXPECT_EQ(states_of(a, first), (std::map<std::string, std::size_t>{{"delivered", 1500}}));
}

std::string utc_in(std::chrono::seconds ahead) {
  const std::time_t t =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + ahead);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

TEST(SmppHttpE2e, AScheduledMessageIsHeldUntilItsTime) {
  fixture f;
  const int port = f.start();
  ASSERT_GT(port, 0);
  api a(port);
  const std::string at = utc_in(3s);  // whole seconds: 2..3 s ahead
  const auto ids =
      ids_of(a.post(R"({"to":["1","2"],"text":"later","schedule_at":")" + at + "\"}"), 2, 1);
  ASSERT_EQ(ids.size(), 2u);
  const json held = a.get("/v1/messages/" + ids[0]);
  EXPECT_EQ(held["state"], "queued");
  EXPECT_EQ(held["scheduled_at"], at.substr(0, 19) + ".000Z");
  EXPECT_EQ(a.get("/v1/status")["scheduled_parts"], 2);
  const json status = a.wait_status([](const json& s) { return s["receipts_matched"] == 2; }, 10s);
  EXPECT_EQ(status["receipts_matched"], 2) << status.dump();
  const json sent = a.get("/v1/messages/" + ids[0]);
  EXPECT_EQ(sent["state"], "delivered");
  EXPECT_GE(sent["submitted_at"].get<std::string>(), sent["scheduled_at"].get<std::string>());
  auto far = a.post(R"({"to":"1","text":"x","schedule_at":")" +
                    utc_in(std::chrono::hours(24 * 31)) + "\"}");
  ASSERT_TRUE(far);
  EXPECT_EQ(far->status, 400);
}

// A receiver of dlr_url and mo_url callbacks in the test process: every body and its signature.
class webhook_receiver {
 public:
  // On `port`, or on any free one.
  explicit webhook_receiver(int port = 0) {
    server_.Post(R"(/(dlr|mo))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::lock_guard lock(mutex_);
      received_.emplace_back(req.body, req.get_header_value("X-Smpp-Http-Signature"));
      res.status = 204;
    });
    port_ = port == 0                                 ? server_.bind_to_any_port("127.0.0.1")
            : server_.bind_to_port("127.0.0.1", port) ? port
                                                      : -1;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~webhook_receiver() {
    server_.stop();
    thread_.join();
  }
  [[nodiscard]] int port() const { return port_; }
  std::vector<std::pair<std::string, std::string>> received() {
    const std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> received_;
};

TEST(SmppHttpE2e, EachFinalStateIsPostedOnceToTheDlrUrlAndSigned) {
  webhook_receiver hook;
  ASSERT_GT(hook.port(), 0);
  fixture f;
  const int port = f.start({"--error-rate", "0.2", "--seed", "3"});
  ASSERT_GT(port, 0);
  api a(port);
  const std::string url = "http://127.0.0.1:" + std::to_string(hook.port()) + "/dlr";
  const auto ids = ids_of(a.post(R"({"to":)" + recipients_json(200, 0) +
                                 R"(,"text":"x","client_ref":"batch-9","dlr_url":")" + url + "\"}"),
                          200, 1);
  const json status =
      a.wait_status([](const json& s) { return s["callbacks_delivered"] == 200; }, 20s);
  EXPECT_EQ(status["callbacks_delivered"], 200) << status.dump();
  EXPECT_EQ(status["callbacks_queued"], 200);
  EXPECT_EQ(status["callbacks_failed"], 0);
  std::map<std::string, std::size_t> by_state;
  std::set<std::string> seen;
  for (const auto& [body, signature] : hook.received()) {
    EXPECT_EQ(signature, smpp::http::sign_body(webhook_secret, body));
    const json j = json::parse(body);
    EXPECT_TRUE(seen.insert(j["id"].get<std::string>()).second) << "twice: " << body;
    EXPECT_EQ(j["client_ref"], "batch-9");
    ++by_state[j["state"].get<std::string>()];
  }
  EXPECT_EQ(seen, std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_EQ(by_state, states_of(a, ids)) << "the callbacks say what GET says";
  EXPECT_GT(by_state["rejected"], 0u);
  EXPECT_GT(by_state["delivered"], 0u);
}

TEST(SmppHttpE2e, ADlrUrlThatNeverAnswersIsRetriedForItsTimeThenCountedFailed) {
  fixture f;
  const int port = f.start({}, limits{200000, 1 << 20, 2});
  ASSERT_GT(port, 0);
  api a(port);
  const std::string url = "http://127.0.0.1:" + std::to_string(unused_port()) + "/dlr";
  (void)ids_of(
      a.post(R"({"to":)" + recipients_json(5, 0) + R"(,"text":"x","dlr_url":")" + url + "\"}"), 5,
      1);
  // Attempts at 0 s, 1 s, then 3 s is past the 2 s: two attempts each, then failed.
  const json status = a.wait_status([](const json& s) { return s["callbacks_failed"] == 5; }, 15s);
  EXPECT_EQ(status["callbacks_failed"], 5) << status.dump();
  EXPECT_EQ(status["callback_attempts"], 10);
  EXPECT_EQ(status["callbacks_delivered"], 0);
  EXPECT_EQ(status["callbacks_pending"], 0);
}

TEST(SmppHttpE2e, MoMessagesArePostedSignedOnceEachAndKeptInABoundedInbox) {
  webhook_receiver hook;
  ASSERT_GT(hook.port(), 0);
  constexpr std::size_t mo_count = 300;
  limits l;
  l.mo_url = "http://127.0.0.1:" + std::to_string(hook.port()) + "/mo";
  l.inbox_max = 200;
  fixture f;
  // smsc-sim sends its MO from 4479NNNNNNNN to 12345: the client's allowed_from.
  const int port = f.start({"--mo-rate", "2000", "--mo-count", std::to_string(mo_count)}, l);
  ASSERT_GT(port, 0);
  api a(port);
  const json status =
      a.wait_status([](const json& s) { return s["callbacks_delivered"] == mo_count; }, 20s);
  EXPECT_EQ(status["callbacks_delivered"], mo_count) << status.dump();
  EXPECT_EQ(status["mo_received"], mo_count);
  EXPECT_EQ(status["mo_routed"], mo_count);
  EXPECT_EQ(status["mo_unrouted"], 0);
  EXPECT_EQ(status["mo_inbox_dropped"], mo_count - 200);
  const auto sim = wait_for_smsc_sim(
      f.sim, [](const flat_json& c) { return c.count("mo_acked") == mo_count; }, 10s);
  ASSERT_TRUE(sim.has_value());
  EXPECT_EQ(sim->count("mo_acked"), mo_count);
  EXPECT_EQ(sim->count("mo_nacked"), 0u);
  // Each MO once at the mo_url, signed, with what smsc-sim sent.
  std::set<std::string> texts;
  std::set<std::string> ids;
  for (const auto& [body, signature] : hook.received()) {
    EXPECT_EQ(signature, smpp::http::sign_body(webhook_secret, body));
    const json j = json::parse(body);
    EXPECT_EQ(j["to"], "12345");
    EXPECT_EQ(j["data_coding"], 0);
    const std::string text = j["text"];
    const std::string n = text.substr(text.rfind(' ') + 1);
    EXPECT_EQ(j["from"], "4479" + std::string(8 - n.size(), '0') + n) << body;
    EXPECT_TRUE(texts.insert(text).second) << "twice: " << body;
    EXPECT_TRUE(ids.insert(j["id"].get<std::string>()).second);
  }
  EXPECT_EQ(texts.size(), mo_count);
  EXPECT_EQ(texts.count("MO message 1"), 1u);
  EXPECT_EQ(texts.count("MO message 300"), 1u);
  // The inbox keeps the newest 200, read in pages of 100 from after=0.
  std::vector<json> inbox;
  std::string after = "0";
  for (int page = 0; page < 3; ++page) {
    const json p = a.get("/v1/inbox?limit=100&after=" + after);
    ASSERT_TRUE(p.is_object());
    for (const json& m : p["messages"]) inbox.push_back(m);
    after = p["next_after"];
    if (p["count"] == 0) break;
  }
  ASSERT_EQ(inbox.size(), 200u);
  for (std::size_t i = 1; i < inbox.size(); ++i) {
    EXPECT_LT(std::stoull(inbox[i - 1]["id"].get<std::string>()),
              std::stoull(inbox[i]["id"].get<std::string>()));
  }
  EXPECT_EQ(inbox.back()["id"], after);
  EXPECT_TRUE(ids.count(inbox.front()["id"]) == 1);
  httplib::Client raw("127.0.0.1", port);
  const httplib::Headers auth{{"Authorization", key_header}};
  const auto zero = raw.Get("/v1/inbox?limit=0", auth);
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->status, 400);
  EXPECT_EQ(json::parse(zero->body)["error"]["field"], "limit");
  const auto bad_after = raw.Get("/v1/inbox?after=x", auth);
  ASSERT_TRUE(bad_after);
  EXPECT_EQ(bad_after->status, 400);
  EXPECT_EQ(raw.Get("/v1/inbox", httplib::Headers{{"Authorization", "Bearer nope"}})->status, 401);
}

TEST(SmppHttpE2e, CallbacksNotYetDeliveredAreTriedAgainAfterAKill) {
  const std::uint16_t hook_port = unused_port();
  ASSERT_NE(hook_port, 0);
  fixture f;
  const int port = f.start();
  ASSERT_GT(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(hook_port) + "/dlr";
  std::vector<std::string> ids;
  {
    api a(port);
    ids = ids_of(
        a.post(R"({"to":)" + recipients_json(5, 0) + R"(,"text":"x","dlr_url":")" + url + "\"}"), 5,
        1);
    // Every callback tried once and refused (nothing listens yet), and on disk.
    const json s = a.wait_status(
        [](const json& st) {
          return st["callback_attempts"].get<std::uint64_t>() >= 5 && st["store_backlog"] == 0;
        },
        20s);
    ASSERT_EQ(s["callbacks_queued"], 5) << s.dump();
    EXPECT_EQ(s["callbacks_delivered"], 0);
  }
  f.http.signal(SIGKILL);
  (void)f.http.wait(10s);
  webhook_receiver hook(hook_port);
  ASSERT_EQ(hook.port(), hook_port);
  child_process again;
  const int port2 = start_smpp_http(again, f.dir, 1);  // no SMSC needed: the states are final
  ASSERT_GT(port2, 0) << again.err();
  api b(port2);
  const json s = b.wait_status([](const json& st) { return st["callbacks_delivered"] == 5; }, 20s);
  EXPECT_EQ(s["callbacks_delivered"], 5) << s.dump();
  EXPECT_EQ(s["callbacks_pending"], 0);
  std::set<std::string> seen;
  for (const auto& [body, signature] : hook.received()) {
    EXPECT_EQ(signature, smpp::http::sign_body(webhook_secret, body));
    const json j = json::parse(body);
    EXPECT_EQ(j["state"], "delivered");
    EXPECT_TRUE(seen.insert(j["id"].get<std::string>()).second) << "twice: " << body;
  }
  EXPECT_EQ(seen, std::set<std::string>(ids.begin(), ids.end()));
  // Delivered ones are gone from the file: a third start sends none.
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait(10s).code, 0);
  child_process third;
  const int port3 = start_smpp_http(third, f.dir, 1);
  ASSERT_GT(port3, 0) << third.err();
  EXPECT_EQ(third.err().find("callbacks read back"), std::string::npos) << third.err();
  EXPECT_EQ(api(port3).get("/v1/status")["callbacks_queued"], 0);
}

TEST(SmppHttpE2e, BadRequestsAreAnsweredWithTheirStatusAndField) {
  fixture f;
  const int port = f.start({}, limits{200000, 4096});
  ASSERT_GT(port, 0);
  api a(port);
  auto wrong_key = a.post(R"({"to":"1","text":"a"})", "Bearer nope");
  ASSERT_TRUE(wrong_key);
  EXPECT_EQ(wrong_key->status, 401);
  EXPECT_EQ(wrong_key->get_header_value("WWW-Authenticate"), "Bearer");
  auto unknown = a.post(R"({"to":"1","text":"a","colour":"red"})");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
  EXPECT_EQ(json::parse(unknown->body)["error"]["field"], "colour");
  auto bad_number = a.post(R"({"to":["1","+44x"],"text":"a"})");
  ASSERT_TRUE(bad_number);
  EXPECT_EQ(bad_number->status, 400);
  EXPECT_EQ(json::parse(bad_number->body)["error"]["field"], "to[1]");
  auto empty = a.post(R"({"to":"1","text":""})");
  ASSERT_TRUE(empty);
  EXPECT_EQ(json::parse(empty->body)["error"]["reason"], "must not be empty");
  auto too_big = a.post(R"({"to":"1","text":")" + std::string(5000, 'a') + "\"}");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413) << too_big->body;
  auto sender = a.post(R"({"to":"1","text":"a","from":"OTHER"})");
  ASSERT_TRUE(sender);
  EXPECT_EQ(sender->status, 400);
  EXPECT_EQ(json::parse(sender->body)["error"]["field"], "from");
  EXPECT_TRUE(a.get("/v1/messages/12345").is_null()) << "unknown id: 404";
  const json status = a.get("/v1/status");
  EXPECT_EQ(status["messages_accepted"], 0) << "nothing was accepted";
  const auto sim = smpp::testing::smsc_sim_counters(f.sim);
  ASSERT_TRUE(sim.has_value());
  EXPECT_EQ(sim->count("submits"), 0u);
}

TEST(SmppHttpE2e, HelpHashKeyAndConfigErrorsFromTheCommandLine) {
  const auto help = smpp::testing::run_tool("smpp-http", {"--help"}, 10s);
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("usage: smpp-http"), std::string::npos);
  const auto hash = smpp::testing::run_tool("smpp-http", {"--hash-key", "demo-key"}, 10s);
  EXPECT_EQ(hash.code, 0);
  EXPECT_EQ(hash.out,
            "key_hash = "
            "\"blake2b256:e229ec1be2faa7a5dec6aad7aff1591e1e9b1683ed3f08cce11be9bd06dd2c67\"\n");
  const std::string dir = make_temp_dir(::testing::TempDir(), "smpp_http_cli_");
  std::ofstream(dir + "bad.toml") << "[smsc]\nsessions = 0\n";
  const auto bad = smpp::testing::run_tool("smpp-http", {"--config", dir + "bad.toml"}, 10s);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("bad.toml:2:12: smsc.sessions: must be an integer 1..64"),
            std::string::npos)
      << bad.err;
  EXPECT_EQ(smpp::testing::run_tool("smpp-http", {"--nope"}, 10s).code, 2);
}

// Batch POSTs of 1,000 recipients from 4 keep-alive connections: the rate of 202s, and of
// submit_sm answered by the SMSC with their receipts matched. Exact counts always; the figures
// are printed, and a floor is checked where rate bounds are.
TEST(SmppHttpE2ePerf, BatchPostsOfAThousandRecipients) {
  constexpr std::size_t batches = 200;
  constexpr std::size_t per_batch = 1000;
  constexpr std::size_t total = batches * per_batch;
  fixture f;
  // Room for every message: the rate of 202s is not cut by 503s when accepting outruns the SMSC.
  const int port = f.start({}, limits{total, 1 << 20});
  ASSERT_GT(port, 0);
  std::vector<std::string> bodies;
  for (std::size_t b = 0; b < batches; ++b) {
    bodies.push_back(R"({"to":)" + recipients_json(per_batch, b * per_batch) +
                     R"(,"text":"Sale today only"})");
  }
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> accepted{0};
  const auto start = clock_type::now();
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&] {
      api a(port);
      for (std::size_t b; (b = next.fetch_add(1)) < batches;) {
        const auto r = a.post(bodies[b]);
        if (r && r->status == 202) accepted += per_batch;
      }
    });
  }
  for (auto& t : senders) t.join();
  const double accept_s = std::chrono::duration<double>(clock_type::now() - start).count();
  api a(port);
  const json status = a.wait_status([](const json& s) { return s["responses_ok"] == total; }, 50s);
  const double submit_s = std::chrono::duration<double>(clock_type::now() - start).count();
  const json receipts =
      a.wait_status([](const json& s) { return s["receipts_matched"] == total; }, 20s);
  const double receipt_s = std::chrono::duration<double>(clock_type::now() - start).count();
  EXPECT_EQ(accepted.load(), total);
  EXPECT_EQ(status["responses_ok"], total) << status.dump();
  EXPECT_EQ(receipts["receipts_matched"], total) << receipts.dump();
  const auto sim = smpp::testing::smsc_sim_counters(f.sim);
  ASSERT_TRUE(sim.has_value());
  EXPECT_EQ(sim->count("submit_sm"), total);
  std::printf(
      "smpp-http batch POSTs: %zu messages; accepted (202) %.0f msg/s, submitted and "
      "answered %.0f msg/s, receipts matched %.0f msg/s\n",
      total, total / accept_s, total / submit_s, total / receipt_s);
  if (smpp::testing::rate_bounds_checked()) {
    EXPECT_GT(total / submit_s, 5000.0) << "far below what this machine did when measured";
  }
}

}  // namespace
