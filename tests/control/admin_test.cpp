// The admin API and /metrics in process: the [admin] config section, the Prometheus rendering
// (histogram conversion, status labels), the rate window, and a server on a loopback port from
// the kernel reading a real router_worker (fake transport) through shared_state: JSON shapes,
// the token rules, validation errors with file, line and key, the publisher, the body bounds,
// and promtool on the real output.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fake_transport.hpp"
#include "metrics_text.hpp"
#include "router_test_pdus.hpp"
#include "smpp/codec/codec.hpp"
#include "smpp/control/admin.hpp"
#include "smpp/control/admin_history.hpp"
#include "smpp/control/config.hpp"
#include "smpp/control/snapshot_builder.hpp"
#include "smpp/dataplane/router_worker.hpp"

namespace {

using json = nlohmann::json;
using namespace smpp;
using codec::command_id;
using codec::pdu;
using S = codec::command_status;

constexpr const char* kToken = "0123456789abcdef-token";

std::string temp_dir() {
  std::string tmpl = ::testing::TempDir() + "admin_test_XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return ::testing::TempDir();
  return tmpl + "/";
}

std::string config_text(const std::string& admin_keys, uint32_t window = 16,
                        const std::string& upstream_keys = "") {
  return "[router]\n"
         "listen = [\"127.0.0.1:2775\"]\n"
         "workers = [0]\n"
         "\n"
         "[admin]\n" +
         admin_keys +
         "\n"
         "[[tenants]]\n"
         "name = \"acme\"\n"
         "system_id = \"acme\"\n"
         "password = \"secret\"\n"
         "window = " +
         std::to_string(window) +
         "\n"
         "\n"
         "[[upstreams]]\n"
         "name = \"sim\"\n"
         "address = \"127.0.0.1:1\"\n" +
         upstream_keys +
         "\n"
         "[[upstreams.binds]]\n"
         "system_id = \"router\"\n"
         "password = \"router\"\n"
         "\n"
         "[[routes]]\n"
         "tenant = \"*\"\n"
         "destination_prefix = \"44\"\n"
         "upstreams = [\"sim\"]\n";
}

std::vector<std::byte> encode(const pdu& p) {
  std::vector<std::byte> b(4096);
  auto r = codec::encode(p, b);
  EXPECT_TRUE(r.ok(b.size()));
  b.resize(r.needed);
  return b;
}

pdu decoded(const std::vector<std::byte>& b) {
  pdu p;
  EXPECT_TRUE(codec::decode(b, p).ok());
  return p;
}

std::vector<std::byte> header(command_id id, S status, uint32_t seq) {
  std::vector<std::byte> b(16);
  codec::write_header_only(std::span<std::byte, 16>(b.data(), 16), id, status, seq);
  return b;
}

// ---- config
// --------------------------------------------------------------------------------------

TEST(AdminConfig, DefaultsToLoopbackWithChangesDisabled) {
  const auto r = control::load_config_string(config_text(""), "router.toml");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  EXPECT_TRUE(r.config->admin.enabled);
  EXPECT_EQ(r.config->admin.host, "127.0.0.1");
  EXPECT_EQ(r.config->admin.port, 8775);
  EXPECT_TRUE(r.config->admin.token.empty());
}

TEST(AdminConfig, ListenTokenAndTokenFile) {
  auto r = control::load_config_string(
      config_text("listen = \"[::1]:9000\"\ntoken = \"" + std::string(kToken) + "\"\n"),
      "router.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->admin.host, "::1");
  EXPECT_EQ(r.config->admin.port, 9000);
  EXPECT_EQ(r.config->admin.token, kToken);

  const std::string dir = temp_dir();
  std::ofstream(dir + "admin.token") << kToken << "\n";
  r = control::load_config_string(config_text("token_file = \"admin.token\"\n"),
                                  dir + "router.toml");
  ASSERT_TRUE(r.ok()) << r.errors.at(0).to_string();
  EXPECT_EQ(r.config->admin.token, kToken);  // the newline is not part of it
  EXPECT_EQ(r.config->admin.token_file, dir + "admin.token");
}

TEST(AdminConfig, BadValuesNameTheirKeyAndLine) {
  struct bad {
    std::string keys;
    std::string key;
    std::string says;
  };
  for (const bad& b : std::vector<bad>{
           {"token = \"short\"\n", "admin.token", "16..4096"},
           {"listen = \"localhost:80\"\n", "admin.listen", "not an IP address"},
           {"listen = \"127.0.0.1:0\"\n", "admin.listen", "invalid port"},
           {"enabled = \"yes\"\n", "admin.enabled", "boolean"},
           {"token_file = \"/nonexistent/admin.token\"\n", "admin.token_file", "cannot read"},
           {"token = \"" + std::string(kToken) + "\"\ntoken_file = \"x\"\n", "admin.token_file",
            "not both"},
           {"tokn = \"x\"\n", "admin.tokn", "did you mean 'token'"},
       }) {
    const auto r = control::load_config_string(config_text(b.keys), "router.toml");
    ASSERT_FALSE(r.ok()) << b.keys;
    ASSERT_FALSE(r.errors.empty());
    EXPECT_EQ(r.errors[0].key, b.key) << b.keys;
    EXPECT_NE(r.errors[0].message.find(b.says), std::string::npos) << r.errors[0].to_string();
    EXPECT_GE(r.errors[0].line, 6u) << b.keys;  // inside [admin]
  }
}

// ---- rendering and rates
// -------------------------------------------------------------------------

TEST(Metrics, PowerOfTwoMicrosecondBucketsBecomeACumulativeHistogramInSeconds) {
  dataplane::router_snapshot snap;
  snap.tenants.resize(1);
  snap.tenants[0].name = "acme";
  control::router_totals t;
  t.tenants.resize(1);
  auto& h = t.tenants[0].latency;
  h.counts[0] = 1;      // 0 us
  h.counts[1] = 2;      // 1 us
  h.counts[10] = 3;     // 512..1023 us
  h.counts.back() = 4;  // beyond 2^25 us
  h.sum_us = 2'000'000;
  t.tenants[0].submitted = 10;
  t.tenants[0].rejected_by_status.by_status[0x58] = 5;
  t.tenants[0].rejected_by_status.by_status[0x401] = 1;
  t.tenants[0].rejected_by_status.other = 2;
  t.tenants[0].mo.refused_by_status.by_status[0x64] = 7;
  t.tenants[0].mo.refused_by_status.other = 1;
  control::rate_window::rates rates;
  control::metrics_input in;
  in.snapshot = &snap;
  in.totals = &t;
  in.rates = &rates;
  in.version = "9.9.9";
  const std::string text = control::render_metrics(in);
  auto has = [&](const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has("# TYPE smpp_tenant_latency_seconds histogram")) << text;
  EXPECT_TRUE(has("smpp_tenant_latency_seconds_bucket{tenant=\"acme\",le=\"0\"} 1")) << text;
  EXPECT_TRUE(has("smpp_tenant_latency_seconds_bucket{tenant=\"acme\",le=\"1e-06\"} 3")) << text;
  EXPECT_TRUE(has("smpp_tenant_latency_seconds_bucket{tenant=\"acme\",le=\"0.000511\"} 3"));
  EXPECT_TRUE(has("smpp_tenant_latency_seconds_bucket{tenant=\"acme\",le=\"0.001023\"} 6"));
  EXPECT_TRUE(has("smpp_tenant_latency_seconds_bucket{tenant=\"acme\",le=\"33.554431\"} 6"));
  EXPECT_TRUE(has("smpp_tenant_latency_seconds_bucket{tenant=\"acme\",le=\"+Inf\"} 10"));
  EXPECT_TRUE(has("smpp_tenant_latency_seconds_sum{tenant=\"acme\"} 2"));
  EXPECT_TRUE(has("smpp_tenant_latency_seconds_count{tenant=\"acme\"} 10"));
  EXPECT_TRUE(has("smpp_tenant_submitted_total{tenant=\"acme\"} 10"));
  EXPECT_TRUE(has("smpp_tenant_rejected_total{tenant=\"acme\",status=\"ESME_RTHROTTLED\"} 5"));
  EXPECT_TRUE(has("smpp_tenant_rejected_total{tenant=\"acme\",status=\"0x00000401\"} 1"));
  EXPECT_TRUE(has("smpp_tenant_rejected_total{tenant=\"acme\",status=\"other\"} 2"));
  EXPECT_TRUE(
      has("smpp_tenant_return_refused_total{tenant=\"acme\",kind=\"mo\",status=\"ESME_"
          "RX_T_APPN\"} 7"))
      << text;
  EXPECT_TRUE(
      has("smpp_tenant_return_refused_total{tenant=\"acme\",kind=\"mo\",status=\"other\"} 1"));
  EXPECT_TRUE(has("smpp_build_info{version=\"9.9.9\"} 1"));
  // No rate before two samples: the gauge's family is there, its samples are not.
  EXPECT_TRUE(has("# TYPE smpp_tenant_accepted_per_second gauge"));
  EXPECT_EQ(text.find("smpp_tenant_accepted_per_second{"), std::string::npos);
}

TEST(Metrics, RateWindowUsesTheLastTenSecondsOfDeltas) {
  control::rate_window w;
  control::router_totals t;
  t.tenants.resize(1);
  t.upstreams.resize(1);
  t.workers.resize(1);
  EXPECT_EQ(w.current().span_s, 0.0);
  for (uint64_t s = 0; s <= 30; ++s) {
    // 100/s accepted for the first 20 s, then 400/s; the worker busy 1/4 of the time, then 3/4.
    const uint64_t at = s * 1000;
    t.tenants[0].accepted = s <= 20 ? s * 100 : 2000 + (s - 20) * 400;
    t.upstreams[0].submitted = t.tenants[0].accepted * 2;
    t.workers[0].busy_us = s <= 20 ? s * 250'000 : 5'000'000 + (s - 20) * 750'000;
    t.workers[0].idle_us = s * 1'000'000 - t.workers[0].busy_us;
    w.add(at, t);
    EXPECT_LE(w.samples(), 11u);
    if (s == 10) {
      EXPECT_DOUBLE_EQ(w.current().tenant_accepted.at(0), 100.0);
    }
  }
  const auto r = w.current();
  EXPECT_DOUBLE_EQ(r.span_s, 10.0);
  EXPECT_DOUBLE_EQ(r.tenant_accepted.at(0), 400.0);
  EXPECT_DOUBLE_EQ(r.upstream_submitted.at(0), 800.0);
  EXPECT_DOUBLE_EQ(r.worker_busy.at(0), 0.75);
}

TEST(Metrics, RateWindowKeepsAtMostItsBoundOfSamples) {
  control::rate_window w;
  control::router_totals t;
  for (uint64_t ms = 0; ms < 10'000; ms += 10) w.add(ms, t);
  EXPECT_EQ(w.samples(), control::rate_window::max_samples);
}

TEST(Metrics, StatusLabelsAreTheSpecificationsNames) {
  EXPECT_EQ(control::status_label(0x58), "ESME_RTHROTTLED");
  EXPECT_EQ(control::status_label(0x0B), "ESME_RINVDSTADR");
  EXPECT_EQ(control::status_label(0x12345), "0x00012345");
}

// ---- the server
// ------------------------------------------------------------------------------------

// A router with one worker on a fake transport, its shared_state, and the admin server reading
// them; the test thread drives the worker and asks the server.
class AdminServerTest : public ::testing::Test {
 protected:
  void start(const std::string& admin_keys, int publish_status = 501,
             const std::string& upstream_keys = "") {
    dir_ = temp_dir();
    path_ = dir_ + "router.toml";
    std::ofstream(path_) << config_text(admin_keys, 16, upstream_keys);
    const auto loaded = control::load_config_file(path_);
    ASSERT_TRUE(loaded.ok()) << loaded.errors.at(0).to_string();
    config_ = *loaded.config;
    config_.admin.port = 0;  // one from the kernel
    std::string err;
    snap_ = control::build_snapshot(config_, err);
    ASSERT_NE(snap_, nullptr) << err;
    shared_ = std::make_unique<dataplane::shared_state>(snap_->tenants.size(),
                                                        snap_->upstreams.size(), 1);
    worker_ = std::make_unique<dataplane::router_worker>(0, 1, transport_, snap_, shared_.get());
    ASSERT_EQ(worker_->start(now_), 0);
    dataplane::placement placed;
    dataplane::worker_placement wp;
    wp.where.cpu = 3;
    wp.where.core = 2;
    wp.where.numa_node = 1;
    wp.reason = "test";
    placed.workers.push_back(wp);
    placed.reason = "one worker for the test";
    control::admin_view view{shared_.get(), nullptr, placed};
    publish_status_ = publish_status;
    server_ = std::make_unique<control::admin_server>(
        config_, snap_, std::move(view),
        [this](const control::router_config& c,
               const std::shared_ptr<const dataplane::router_snapshot>& s) {
          std::lock_guard lock(mu_);
          published_.push_back(c);
          published_snapshots_.push_back(s);
          EXPECT_NE(s, nullptr);
          return control::publish_result{publish_status_, publish_status_ == 200 ? "" : "not yet"};
        });
    ASSERT_TRUE(server_->start(err)) << err;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(10, 0);
  }
  void TearDown() override {
    if (server_) server_->stop();  // before the worker goes
  }

  // The upstream bind up, an ESME bound, `routed` messages accepted upstream and `unrouted`
  // answered ESME_RINVDSTADR by the router; with answer_after_us, the worker's clock moves on by
  // that much between the requests and their answers.
  void traffic(uint32_t routed, uint32_t unrouted, uint64_t answer_after_us = 0) {
    auto ups = transport_.pending_connects;
    transport_.pending_connects.clear();
    ASSERT_EQ(ups.size(), 1u);
    transport_.complete_connect(ups[0]);
    const pdu bind = decoded(transport_.take(ups[0]).at(0));
    transport_.deliver(
        ups[0], header(command_id::bind_transceiver_resp, S::ESME_ROK, bind.sequence_number));
    const auto c = transport_.accept();
    pdu b;
    b.id = command_id::bind_transceiver;
    b.sequence_number = 1;
    b.system_id = "acme";
    b.password = "secret";
    b.interface_version = 0x34;
    transport_.deliver(c, encode(b));
    ASSERT_EQ(decoded(transport_.take(c).at(0)).status, S::ESME_ROK);
    const uint64_t sent_us = 5'000'000;
    if (answer_after_us > 0) worker_->run_once(now_, 0, sent_us);
    for (uint32_t i = 0; i < routed + unrouted; ++i) {
      pdu s;
      s.id = command_id::submit_sm;
      s.sequence_number = 10 + i;
      s.source_addr = "1234";
      s.destination_addr = i < routed ? "447700900123" : "337700900123";
      s.short_message = codec::as_bytes("hello");
      transport_.deliver(c, encode(s));
    }
    if (answer_after_us > 0) worker_->run_once(now_, 0, sent_us + answer_after_us);
    for (const auto& fwd : transport_.take(ups[0])) {
      pdu resp;
      resp.id = command_id::submit_sm_resp;
      resp.sequence_number = decoded(fwd).sequence_number;
      message_ids_.push_back(std::to_string(1000 + resp.sequence_number));
      resp.message_id = message_ids_.back();  // a view: the string outlives the encode below
      transport_.deliver(ups[0], encode(resp));
    }
    EXPECT_EQ(transport_.take(c).size(), routed + unrouted);
    upstream_ = ups[0];
    esme_ = c;
  }

  // After traffic(): the SMSC sends a receipt for each of the first `answers.size()` messages,
  // which the ESME answers with answers[i] (the router passes the answer on to the SMSC), then
  // one receipt for an id nobody submitted and one without any id (both acknowledged there).
  void receipts(const std::vector<S>& answers) {
    ASSERT_LE(answers.size(), message_ids_.size());
    uint32_t seq = 500;
    for (size_t i = 0; i < answers.size(); ++i) {
      const std::string& id = message_ids_[i];
      transport_.deliver(upstream_,
                         smpp::testing::receipt_pdu("id:" + id + " stat:DELIVRD", ++seq, id));
      const auto relayed = transport_.take(esme_);
      ASSERT_EQ(relayed.size(), 1u) << id;
      transport_.deliver(esme_, header(command_id::deliver_sm_resp, answers[i],
                                       decoded(relayed[0]).sequence_number));
      const auto answered = transport_.take(upstream_);
      ASSERT_EQ(answered.size(), 1u) << id;
      EXPECT_EQ(decoded(answered[0]).status, answers[i]) << id;
    }
    for (const std::string& text : {std::string("id:99999999 stat:DELIVRD"), std::string()}) {
      transport_.deliver(upstream_, smpp::testing::receipt_pdu(text, ++seq));
      EXPECT_TRUE(transport_.take(esme_).empty()) << text;
      const auto answered = transport_.take(upstream_);
      ASSERT_EQ(answered.size(), 1u) << text;
      EXPECT_EQ(decoded(answered[0]).status, S::ESME_ROK) << text;
    }
    worker_->run_once(now_, 0);  // the turn ends: ids noted and freed in it reach the table
  }

  // The answer's JSON. The tests read it with at(): a missing key throws, and the test fails
  // (operator[] on a const json is undefined for a missing key, and on a mutable one inserts null).
  json get_json(const std::string& path) {
    auto res = client_->Get(path);
    EXPECT_TRUE(res) << path;
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << path << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    return json::parse(res->body, nullptr, false);
  }

  httplib::Result send(const std::string& method, const std::string& path, const std::string& body,
                       const char* token = kToken) {
    httplib::Headers h;
    if (token != nullptr) h.emplace("Authorization", std::string("Bearer ") + token);
    if (method == "PUT") return client_->Put(path, h, body, "application/json");
    if (method == "DELETE") return client_->Delete(path, h);
    return client_->Post(path, h, body, "application/json");
  }

  size_t published() {
    std::lock_guard lock(mu_);
    return published_.size();
  }

  uint64_t now_ = 1000;
  std::string dir_;
  std::string path_;
  control::router_config config_;
  std::shared_ptr<const dataplane::router_snapshot> snap_;
  std::unique_ptr<dataplane::shared_state> shared_;
  smpp::testing::fake_transport transport_;
  std::unique_ptr<dataplane::router_worker> worker_;
  dataplane::conn_id upstream_ = dataplane::invalid_conn;
  dataplane::conn_id esme_ = dataplane::invalid_conn;
  std::vector<std::string> message_ids_;  // the SMSC's, of the messages it accepted, in order
  std::unique_ptr<control::admin_server> server_;
  std::unique_ptr<httplib::Client> client_;
  std::mutex mu_;
  std::vector<control::router_config> published_;
  std::vector<std::shared_ptr<const dataplane::router_snapshot>> published_snapshots_;
  int publish_status_ = 501;
};

TEST_F(AdminServerTest, ReadEndpointsAnswerJsonFromTheWorkersCounters) {
  start("token = \"" + std::string(kToken) + "\"\n");
  traffic(7, 3);

  const json status = get_json("/api/status");
  EXPECT_EQ(status.at("version"), "0.1.0");
  EXPECT_EQ(status.at("config_file"), path_);
  ASSERT_EQ(status.at("workers").size(), 1u);
  EXPECT_EQ(status.at("workers").at(0).at("cpu"), 3);
  EXPECT_EQ(status.at("workers").at(0).at("core"), 2);
  EXPECT_EQ(status.at("workers").at(0).at("numa"), 1);
  EXPECT_EQ(status.at("workers").at(0).at("running"), true);
  EXPECT_EQ(status.at("workers").at(0).at("submit_received"), 10);
  EXPECT_EQ(status.at("placement").at("reason"), "one worker for the test");
  EXPECT_EQ(status.at("totals").at("submitted"), 10);
  EXPECT_EQ(status.at("totals").at("accepted"), 7);
  EXPECT_EQ(status.at("totals").at("rejected"), 3);
  EXPECT_EQ(status.at("totals").at("sessions"), 1);
  EXPECT_EQ(status.at("totals").at("upstream_binds_up"), 1);

  const json tenants = get_json("/api/tenants");
  ASSERT_EQ(tenants.size(), 1u);
  EXPECT_EQ(tenants.at(0).at("name"), "acme");
  EXPECT_EQ(tenants.at(0).at("window"), 16);
  EXPECT_EQ(tenants.at(0).at("sessions"), 1);
  EXPECT_EQ(tenants.at(0).at("submitted"), 10);
  EXPECT_EQ(tenants.at(0).at("accepted"), 7);
  EXPECT_EQ(tenants.at(0).at("rejected_by_status").at("ESME_RINVDSTADR"), 3);

  const json upstreams = get_json("/api/upstreams");
  ASSERT_EQ(upstreams.size(), 1u);
  EXPECT_EQ(upstreams.at(0).at("name"), "sim");
  EXPECT_EQ(upstreams.at(0).at("address"), "127.0.0.1:1");
  EXPECT_EQ(upstreams.at(0).at("binds_up_per_worker"), json::array({1}));
  EXPECT_EQ(upstreams.at(0).at("submitted"), 7);
  EXPECT_EQ(upstreams.at(0).at("accepted"), 7);
  ASSERT_EQ(upstreams.at(0).at("binds").size(), 1u);
  EXPECT_TRUE(upstreams.at(0).at("binds").at(0).at("plan").contains("slots_per_frame"));
  EXPECT_TRUE(upstreams.at(0).at("binds").at(0).at("plan").contains("owners"));

  const json sessions = get_json("/api/sessions");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions.at(0).at("tenant"), "acme");
  EXPECT_EQ(sessions.at(0).at("bound"), 1);
  EXPECT_EQ(sessions.at(0).at("receivers"), 1);  // a transceiver receives too

  const json routes = get_json("/api/routes");
  ASSERT_EQ(routes.at("routes").size(), 1u);
  EXPECT_EQ(routes.at("routes").at(0).at("destination_prefix"), "44");
  EXPECT_EQ(routes.at("routes").at(0).at("upstreams"), json::array({"sim"}));

  const json slots = get_json("/api/slots/sim");
  EXPECT_EQ(slots.at("upstream"), "sim");
  ASSERT_EQ(slots.at("binds").size(), 1u);
  EXPECT_TRUE(slots.at("binds").at(0).at("frame").is_array());
  auto missing = client_->Get("/api/slots/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("no upstream named 'nope'"), std::string::npos);
  auto unknown = client_->Get("/api/nothing");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

TEST_F(AdminServerTest, MetricsAreTheWorkersCountersInTextFormat) {
  start("");
  traffic(5, 2);
  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  // Every sample line: name{labels} value; every family announced by HELP and TYPE first. A
  // series read below that is missing fails the test (metric_samples::value).
  const smpp::testing::metric_samples m = smpp::testing::metric_samples::parse(res->body);
  EXPECT_EQ(m.problems(), std::vector<std::string>{});
  EXPECT_EQ(m.value(R"(smpp_tenant_submitted_total{tenant="acme"})"), 7);
  EXPECT_EQ(m.value(R"(smpp_tenant_accepted_total{tenant="acme"})"), 5);
  EXPECT_EQ(m.value(R"(smpp_tenant_rejected_total{tenant="acme",status="ESME_RINVDSTADR"})"), 2);
  EXPECT_EQ(m.starting_with(R"(smpp_tenant_rejected_total{tenant="acme")").size(), 1u);
  EXPECT_EQ(m.value(R"(smpp_tenant_latency_seconds_count{tenant="acme"})"), 5);
  EXPECT_EQ(m.value(R"(smpp_tenant_latency_seconds_bucket{tenant="acme",le="+Inf"})"), 5);
  EXPECT_EQ(m.value(R"(smpp_upstream_submitted_total{upstream="sim"})"), 5);
  EXPECT_EQ(m.value(R"(smpp_upstream_accepted_total{upstream="sim"})"), 5);
  EXPECT_EQ(m.value(R"(smpp_upstream_binds_up{upstream="sim",worker="0"})"), 1);
  EXPECT_EQ(m.value(R"(smpp_tenant_sessions{tenant="acme"})"), 1);
  EXPECT_EQ(m.value(R"(smpp_tenant_queue_depth{tenant="acme",queue="held"})"), 0);
  EXPECT_EQ(m.value(R"(smpp_tenant_queue_depth{tenant="acme",queue="slot"})"), 0);
  EXPECT_EQ(m.value(R"(smpp_worker_info{worker="0",cpu="3",core="2",numa="1"})"), 1);
  EXPECT_FALSE(m.has("smpp_bind_lockouts_total"));  // no bind guard in this rig
}

// Three receipts reach the tenant's ESME: two acknowledged, one refused (its answer goes to the
// SMSC); one matches no message id and one has none. /api/tenants, /api/upstreams and /metrics
// count each by what became of it, and the old keys keep their meaning.
TEST_F(AdminServerTest, ReceiptsAreCountedByWhatBecameOfThem) {
  start("");
  traffic(5, 0);
  receipts({S::ESME_ROK, S::ESME_RX_T_APPN, S::ESME_ROK});

  const json tenant = get_json("/api/tenants").at(0);
  EXPECT_EQ(tenant.at("receipts"), 2);  // acknowledged ESME_ROK by its receivers
  EXPECT_EQ(tenant.at("mo"), 0);
  EXPECT_EQ(tenant.at("held"), 0);
  EXPECT_EQ(tenant.at("ids_evicted"), 0);
  const json& tr = tenant.at("return_path").at("receipts");
  EXPECT_EQ(tr.at("received"), 3);
  EXPECT_EQ(tr.at("delivered"), 2);
  EXPECT_EQ(tr.at("refused"), 1);
  EXPECT_EQ(tr.at("refused_by_status"), json({{"ESME_RX_T_APPN", 1}}));
  EXPECT_EQ(tr.at("failed"), 0);
  EXPECT_EQ(tr.at("expired"), 0);
  EXPECT_EQ(tr.at("held"), 0);
  EXPECT_EQ(tenant.at("return_path").at("mo").at("received"), 0);

  const json upstream = get_json("/api/upstreams").at(0);
  EXPECT_EQ(upstream.at("receipts"), 5);  // every receipt received from it
  const json& ur = upstream.at("return_path").at("receipts");
  EXPECT_EQ(ur.at("received"), 5);
  EXPECT_EQ(ur.at("delivered"), 2);
  EXPECT_EQ(ur.at("refused"), 1);
  EXPECT_EQ(ur.at("refused_by_status"), json({{"ESME_RX_T_APPN", 1}}));
  EXPECT_EQ(ur.at("unmatched"), 1);
  EXPECT_EQ(ur.at("invalid"), 1);
  EXPECT_FALSE(upstream.at("return_path").at("mo").contains("unmatched"));

  const json status = get_json("/api/status");
  EXPECT_EQ(status.at("totals").at("receipts"), 2);
  EXPECT_EQ(status.at("totals").at("correlation").at("noted"), 5);
  EXPECT_EQ(status.at("totals").at("correlation").at("final"), 2);  // the refused one stays
  EXPECT_EQ(status.at("workers").at(0).at("receipts_received"), 5);
  EXPECT_EQ(status.at("workers").at(0).at("deliver_refused"), 1);

  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  const auto m = smpp::testing::metric_samples::parse(res->body);
  EXPECT_EQ(m.problems(), std::vector<std::string>{});
  EXPECT_EQ(m.value(R"(smpp_tenant_receipts_total{tenant="acme"})"), 2);
  EXPECT_EQ(m.value(R"(smpp_tenant_return_received_total{tenant="acme",kind="receipt"})"), 3);
  const std::string t = R"(smpp_tenant_return_total{tenant="acme",kind="receipt",outcome=)";
  EXPECT_EQ(m.value(t + R"("delivered"})"), 2);
  EXPECT_EQ(m.value(t + R"("refused"})"), 1);
  EXPECT_EQ(m.value(t + R"("failed"})"), 0);
  EXPECT_EQ(m.value(t + R"("expired"})"), 0);
  EXPECT_FALSE(m.has(t + R"("unmatched"})"));
  EXPECT_EQ(
      m.starting_with(R"(smpp_tenant_return_refused_total{tenant="acme")"),
      (std::map<std::string, double>{
          {R"(smpp_tenant_return_refused_total{tenant="acme",kind="receipt",status="ESME_RX_T_APPN"})",
           1}}));
  EXPECT_EQ(m.value(R"(smpp_tenant_return_held{tenant="acme",kind="receipt"})"), 0);
  EXPECT_EQ(m.value(R"(smpp_tenant_return_held{tenant="acme",kind="mo"})"), 0);
  EXPECT_EQ(m.value(R"(smpp_tenant_ids_evicted_total{tenant="acme"})"), 0);
  EXPECT_EQ(m.value(R"(smpp_upstream_receipts_total{upstream="sim"})"), 5);
  const std::string u = R"(smpp_upstream_return_total{upstream="sim",kind="receipt",outcome=)";
  EXPECT_EQ(m.value(u + R"("delivered"})"), 2);
  EXPECT_EQ(m.value(u + R"("refused"})"), 1);
  EXPECT_EQ(m.value(u + R"("unmatched"})"), 1);
  EXPECT_EQ(m.value(u + R"("invalid"})"), 1);
  EXPECT_FALSE(
      m.has(R"(smpp_upstream_return_total{upstream="sim",kind="mo",outcome="unmatched"})"));
  EXPECT_EQ(
      m.value(
          R"(smpp_upstream_return_refused_total{upstream="sim",kind="receipt",status="ESME_RX_T_APPN"})"),
      1);
  EXPECT_EQ(m.value(R"(smpp_upstream_ids_evicted_total{upstream="sim"})"), 0);
  EXPECT_EQ(m.value("smpp_correlation_noted_total"), 5);
  EXPECT_EQ(m.value("smpp_correlation_final_total"), 2);
  EXPECT_EQ(m.value("smpp_correlation_evicted_total"), 0);
  EXPECT_EQ(m.value(R"(smpp_message_ops_total{outcome="forwarded"})"), 0);
}

// What routes of mode quality weigh is shown as it happened: four messages answered 25 ms after
// they were sent; final receipts: three DELIVRD for them, one DELIVRD for an id nobody submitted
// (receipts(): the upstream still says it delivered it) and one UNDELIV; an intermediate one
// (ENROUTE) is not counted, nor the receipt without any id or state.
TEST_F(AdminServerTest, UpstreamsShowTheDeliveryRatioAndLatencyOfTheQualityWindow) {
  start("");
  const json before = get_json("/api/upstreams").at(0).at("quality");
  EXPECT_EQ(before.at("final_receipts"), 0);
  EXPECT_TRUE(before.at("delivery_ratio").is_null());
  EXPECT_TRUE(before.at("mean_latency_ms").is_null());
  traffic(4, 0, 25'000);
  receipts({S::ESME_ROK, S::ESME_ROK, S::ESME_ROK});
  uint32_t seq = 700;
  for (const char* stat : {"ENROUTE", "UNDELIV"}) {
    const std::string& id = message_ids_[3];
    transport_.deliver(upstream_, smpp::testing::receipt_pdu(
                                      "id:" + id + " stat:" + std::string(stat), ++seq, id));
    const auto relayed = transport_.take(esme_);
    ASSERT_EQ(relayed.size(), 1u) << stat;
    transport_.deliver(esme_, header(command_id::deliver_sm_resp, S::ESME_ROK,
                                     decoded(relayed[0]).sequence_number));
    ASSERT_EQ(transport_.take(upstream_).size(), 1u) << stat;
  }
  worker_->run_once(now_, 0);

  const json q = get_json("/api/upstreams").at(0).at("quality");
  EXPECT_EQ(q.at("window_s"), 300);  // quality_window_s's default
  EXPECT_EQ(q.at("final_receipts"), 5);
  EXPECT_EQ(q.at("delivered"), 4);
  EXPECT_DOUBLE_EQ(q.at("delivery_ratio").get<double>(), 0.8);
  EXPECT_EQ(q.at("answers"), 4);
  EXPECT_DOUBLE_EQ(q.at("mean_latency_ms").get<double>(), 25.0);

  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  const auto m = smpp::testing::metric_samples::parse(res->body);
  EXPECT_EQ(m.problems(), std::vector<std::string>{});
  EXPECT_EQ(m.value(R"(smpp_upstream_window_final_receipts{upstream="sim"})"), 5);
  EXPECT_EQ(m.value(R"(smpp_upstream_window_delivered_receipts{upstream="sim"})"), 4);
  EXPECT_EQ(m.value(R"(smpp_upstream_window_answers{upstream="sim"})"), 4);
  EXPECT_DOUBLE_EQ(m.value(R"(smpp_upstream_window_answer_latency_seconds{upstream="sim"})"), 0.1);
}

TEST(MetricSamples, AReadOfAMissingSeriesFailsTheTest) {
  const auto m = smpp::testing::metric_samples::parse(
      "# TYPE smpp_x_total counter\nsmpp_x_total{tenant=\"a\"} 3\nsmpp_y 1\n");
  EXPECT_EQ(m.problems(), std::vector<std::string>{"no TYPE before smpp_y 1"});
  EXPECT_EQ(m.value(R"(smpp_x_total{tenant="a"})"), 3);
  double missing = 0;
  EXPECT_NONFATAL_FAILURE(missing = m.value(R"(smpp_x_total{tenant="b"})"),
                          R"(/metrics has no series smpp_x_total{tenant="b"})");
  EXPECT_TRUE(std::isnan(missing));  // equal to nothing, so the comparison that reads it fails
  uint64_t count = 0;
  EXPECT_NONFATAL_FAILURE(count = m.count("smpp_z_total"), "no series smpp_z_total");
  EXPECT_EQ(count, ~uint64_t{0});
}

TEST_F(AdminServerTest, PromtoolAcceptsTheMetrics) {
  start("");
  traffic(3, 1);
  receipts({S::ESME_ROK, S::ESME_RX_T_APPN});  // every family has samples, with status labels
  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  if (std::system("command -v promtool > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool is missing: install the Debian package prometheus "
                    "(tools/install-deps.sh); the metrics were NOT checked";
  }
  const std::string file = dir_ + "metrics.txt";
  const std::string out = dir_ + "promtool.out";
  std::ofstream(file) << res->body;
  const int rc = std::system(("promtool check metrics < " + file + " > " + out + " 2>&1").c_str());
  std::ifstream o(out);
  const std::string said((std::istreambuf_iterator<char>(o)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << said << "\n--- metrics:\n" << res->body;
}

TEST_F(AdminServerTest, ChangesNeedTheToken) {
  start("token = \"" + std::string(kToken) + "\"\n");
  auto none = send("PUT", "/api/tenants/acme", R"({"window": 32})", nullptr);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer realm=\"smpp-router\"");
  EXPECT_NE(none->body.find("Authorization: Bearer TOKEN"), std::string::npos);
  auto wrong = send("PUT", "/api/tenants/acme", R"({"window": 32})", "0123456789abcdef-tokeN");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_NE(wrong->body.find("the token is wrong"), std::string::npos);
  auto reload = send("POST", "/api/reload", "", "x");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 401);
  EXPECT_EQ(published(), 0u);
  // Reads need none.
  auto read = client_->Get("/api/tenants");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 200);
}

TEST_F(AdminServerTest, WithoutATokenConfiguredChangesAreForbidden) {
  start("");
  auto r = send("PUT", "/api/tenants/acme", R"({"window": 32})", kToken);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->body.find("no [admin] token or token_file is configured"), std::string::npos);
  auto reload = send("POST", "/api/reload", "", kToken);
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 403);
  EXPECT_EQ(published(), 0u);
}

TEST_F(AdminServerTest, InvalidChangesAnswerTheLoadersErrorsAndChangeNothing) {
  start("token = \"" + std::string(kToken) + "\"\n");
  auto r = send("PUT", "/api/tenants/acme", R"({"window": 0})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  const json j = json::parse(r->body);
  ASSERT_EQ(j.at("errors").size(), 1u);
  EXPECT_EQ(j.at("errors").at(0).at("key"), "tenants[0].window");
  EXPECT_GT(j.at("errors").at(0).at("line").get<int>(), 0);
  EXPECT_EQ(j.at("errors").at(0).at("source_line"), "window = 0");
  EXPECT_NE(j.at("errors").at(0).at("message").get<std::string>().find("1..65535"),
            std::string::npos);

  // An upstream the routes still use cannot go.
  auto del = send("DELETE", "/api/upstreams/sim", "");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 400);
  EXPECT_NE(del->body.find("routes[0].upstreams[0]"), std::string::npos) << del->body;
  auto gone = send("DELETE", "/api/tenants/nobody", "");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);

  auto routes = send("PUT", "/api/routes", R"([{"tenant": "ghost", "upstreams": ["sim"]}])");
  ASSERT_TRUE(routes);
  EXPECT_EQ(routes->status, 400);
  EXPECT_NE(routes->body.find("unknown tenant 'ghost'"), std::string::npos) << routes->body;

  // Bodies that are not JSON, too deep or too large never reach the loader.
  auto not_json = send("PUT", "/api/routes", "{bad");
  ASSERT_TRUE(not_json);
  EXPECT_EQ(not_json->status, 400);
  auto deep = send("PUT", "/api/routes", std::string(10000, '['));
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->status, 400);
  EXPECT_NE(deep->body.find("deeper than 32"), std::string::npos);
  auto large =
      send("PUT", "/api/routes", std::string(control::admin_server::max_body_bytes + 1, ' '));
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 413);
  EXPECT_EQ(published(), 0u);
  EXPECT_EQ(get_json("/api/tenants").at(0).at("window"), 16);
}

TEST_F(AdminServerTest, TheConsoleIsOnePageThatLoadsNothingFromElsewhere) {
  start("");
  auto page = client_->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  const std::string csp = page->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(page->body.find("<title>smpp-router console</title>"), std::string::npos);
  EXPECT_TRUE(page->body.ends_with("</html>\n"));
  // No external script, style or image: the only absolute URL is the SVG namespace.
  for (const char* outside : {"<script src", "<link", "@import", "https://", "//cdn"}) {
    EXPECT_EQ(page->body.find(outside), std::string::npos) << outside;
  }
  std::string rest = page->body;
  for (size_t at; (at = rest.find("http://")) != std::string::npos;) {
    EXPECT_TRUE(rest.compare(at, 26, "http://www.w3.org/2000/svg") == 0) << rest.substr(at, 40);
    rest.erase(0, at + 7);
  }
  EXPECT_LT(page->body.size(), 32u * 1024) << "the console page grew: keep it small";

  auto svg = client_->Get("/api/placement.svg");
  ASSERT_TRUE(svg);
  EXPECT_EQ(svg->status, 200);
  EXPECT_EQ(svg->get_header_value("Content-Type"), "image/svg+xml; charset=utf-8");
  EXPECT_TRUE(svg->body.starts_with("<?xml")) << svg->body.substr(0, 80);
  EXPECT_NE(svg->body.find("</svg>"), std::string::npos);
}

TEST_F(AdminServerTest, HistoryHasAPointPerSecondAndStatusTheLastChange) {
  start("token = \"" + std::string(kToken) + "\"\n");
  EXPECT_TRUE(get_json("/api/status").at("last_change").is_null());
  // The sampler adds a point a second: wait (bounded) for the first.
  json h;
  for (int i = 0; i < 50; ++i) {
    h = get_json("/api/history");
    if (!h.at("points").empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(h.at("tenants"), json({"acme"}));
  EXPECT_EQ(h.at("capacity"), control::history_ring::default_capacity);
  ASSERT_FALSE(h.at("points").empty());
  const json& p = h.at("points").back();
  EXPECT_EQ(p.at("accepted").size(), 1u);
  EXPECT_EQ(h.at("p99_ms"), json({nullptr}));
  const uint64_t newest = p.at("t");
  EXPECT_TRUE(get_json("/api/history?since=" + std::to_string(newest)).at("points").empty());

  auto r = send("PUT", "/api/tenants/acme", R"({"window": 0})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  const json last = get_json("/api/status").at("last_change");
  EXPECT_EQ(last.at("request"), "PUT /api/tenants/acme");
  EXPECT_EQ(last.at("status"), 400);
  EXPECT_EQ(last.at("applied"), false);
  EXPECT_EQ(last.at("answer").at("errors").at(0).at("key"), "tenants[0].window");
  EXPECT_GT(last.at("at_unix_ms").get<uint64_t>(), newest - 60'000);
}

TEST_F(AdminServerTest, ValidChangesReachThePublisherWhichMayRefuseThem) {
  start("token = \"" + std::string(kToken) + "\"\n", 501);
  auto r = send("PUT", "/api/tenants/acme", R"({"window": 32})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 501);
  const json j = json::parse(r->body);
  EXPECT_EQ(j.at("error"), "not yet");
  EXPECT_EQ(j.at("validated"), true);
  EXPECT_EQ(j.at("applied"), false);
  ASSERT_EQ(published(), 1u);
  EXPECT_EQ(published_[0].tenants.at(0).window, 32u);
  EXPECT_EQ(get_json("/api/tenants").at(0).at("window"), 16);  // not applied: still the old one

  auto reload = send("POST", "/api/reload", "");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 501);
  EXPECT_EQ(published(), 2u);
}

TEST_F(AdminServerTest, AppliedChangesBecomeTheCurrentConfiguration) {
  start("token = \"" + std::string(kToken) + "\"\n", 200);
  auto r = send("PUT", "/api/tenants/acme", R"({"window": 32, "max_binds": 2})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(get_json("/api/tenants").at(0).at("window"), 32);
  EXPECT_EQ(get_json("/api/tenants").at(0).at("max_binds"), 2);
  // A new tenant, then a route for it: each change starts from the last applied one.
  r = send("POST", "/api/tenants/beta",
           R"({"system_id": "beta", "password": "pw", "allowed_networks": ["10.0.0.0/8"]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = send("PUT", "/api/routes",
           R"([{"tenant": "*", "destination_prefix": "44", "upstreams": ["sim"]},
               {"tenant": "beta", "destination_prefix": "33", "upstreams": ["sim"]}])");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  const json routes = get_json("/api/routes");
  ASSERT_EQ(routes.at("routes").size(), 2u);
  EXPECT_EQ(routes.at("routes").at(1).at("tenant"), "beta");
  EXPECT_EQ(get_json("/api/tenants").at(1).at("allowed_networks"), json::array({"10.0.0.0/8"}));
  EXPECT_EQ(published(), 3u);
}

TEST_F(AdminServerTest, ReloadReportsTheFilesErrorsWithItsPathAndLine) {
  start("token = \"" + std::string(kToken) + "\"\n", 501);
  std::string text = config_text("token = \"" + std::string(kToken) + "\"\n", 0);
  std::ofstream(path_) << text;
  auto r = send("POST", "/api/reload", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  const json j = json::parse(r->body);
  ASSERT_EQ(j.at("errors").size(), 1u);
  EXPECT_EQ(j.at("errors").at(0).at("file"), path_);
  EXPECT_EQ(j.at("errors").at(0).at("line"), 12);
  EXPECT_EQ(j.at("errors").at(0).at("key"), "tenants[0].window");
  EXPECT_EQ(published(), 0u);
  std::filesystem::remove(path_);
  r = send("POST", "/api/reload", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("cannot read"), std::string::npos);
}

TEST_F(AdminServerTest, AReloadWithANewDeltaPublishesThePortabilityTableWithItApplied) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("smpp-admin-mnp-" + std::to_string(::getpid())))
          .string() +
      "/";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "ported.csv") << "447700900001,blue\n";
  std::ofstream(dir + "d1.csv") << "447700900001,-\n447700900002,blue\n";
  const auto keys = [&](const std::string& deltas) {
    return "token = \"" + std::string(kToken) +
           "\"\n"
           "[[networks]]\nname = \"red\"\nprefixes = [\"4477\"]\n"
           "[[networks]]\nname = \"blue\"\nprefixes = [\"4479\"]\n"
           "[[number_portability]]\nfile = \"" +
           dir + "ported.csv\"\ndeltas = [" + deltas + "]\n";
  };
  start(keys(""), 200);
  ASSERT_NE(snap_->networks.ported(), nullptr);
  EXPECT_EQ(snap_->networks.network_of("447700900001"), 1);
  // The operator adds the delta to the file and reloads: the workers get a new table.
  std::ofstream(path_) << config_text(keys("\"" + dir + "d1.csv\""));
  auto r = send("POST", "/api/reload", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(published_snapshots_.size(), 1u);
    const auto& next = published_snapshots_[0];
    ASSERT_NE(next->networks.ported(), nullptr);
    EXPECT_EQ(next->networks.ported()->size(), 1u);
    EXPECT_EQ(next->networks.network_of("447700900001"), 0);  // removed: home again
    EXPECT_EQ(next->networks.network_of("447700900002"), 1);
  }
  // The running snapshot's table is the one it had.
  EXPECT_EQ(snap_->networks.network_of("447700900001"), 1);
  EXPECT_EQ(snap_->networks.network_of("447700900002"), 0);
  std::filesystem::remove_all(dir);
}

TEST_F(AdminServerTest, WeightsSetTheTenantsShareOfTheUpstream) {
  start("token = \"" + std::string(kToken) + "\"\n", 200);
  auto unknown = send("PUT", "/api/weights/nobody/sim", R"({"weight": 3})");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto no_upstream = send("PUT", "/api/weights/acme/nowhere", R"({"weight": 3})");
  ASSERT_TRUE(no_upstream);
  EXPECT_EQ(no_upstream->status, 404);
  auto typo = send("PUT", "/api/weights/acme/sim", R"({"weigth": 3})");
  ASSERT_TRUE(typo);
  EXPECT_EQ(typo->status, 400);
  EXPECT_NE(typo->body.find("unknown key 'weigth'"), std::string::npos) << typo->body;
  auto zero = send("PUT", "/api/weights/acme/sim", R"({"weight": 0})");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->status, 400);
  EXPECT_NE(zero->body.find("upstreams[0].shares[0].weight"), std::string::npos) << zero->body;
  EXPECT_EQ(published(), 0u);

  // Shares need a contracted rate: the loader refuses one on an ungated upstream.
  auto r = send("PUT", "/api/weights/acme/sim", R"({"weight": 3})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("has no effect: the upstream has no rate_per_s"), std::string::npos)
      << r->body;
  r = send("PUT", "/api/upstreams/sim", R"({"rate_per_s": 1000})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = send("PUT", "/api/weights/acme/sim", R"({"weight": 3})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(published(), 2u);
  ASSERT_EQ(published_[1].upstreams.at(0).shares.size(), 1u);
  EXPECT_EQ(published_[1].upstreams[0].shares[0].tenant, "acme");
  EXPECT_EQ(published_[1].upstreams[0].shares[0].weight, 3u);
  EXPECT_EQ(published_[1].upstreams[0].rate_per_s, 1000u);
  // The same entry again, not a second one.
  r = send("PUT", "/api/weights/acme/sim", R"({"weight": 5, "queue_max": 100})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  const json shares = get_json("/api/upstreams").at(0).at("shares");
  ASSERT_EQ(shares.size(), 1u) << shares;
  EXPECT_EQ(shares.at(0).at("weight"), 5);
  EXPECT_EQ(shares.at(0).at("queue_max"), 100);
}

// cpp-httplib serves a kept-alive connection on one thread until it idles: as many clients as
// the server has threads, polling over kept-alive connections (console tabs, a browser's parallel
// fetches), held every thread, and another request waited until one of them had made 100
// requests (with these pollers, 50 s). Each answer closes its connection instead.
TEST_F(AdminServerTest, ClientsPollingOverKeptAliveConnectionsDoNotHoldTheThreads) {
  start("");
  constexpr size_t pollers = control::admin_server::threads;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::vector<size_t> polls(pollers, 0);
  std::vector<std::string> wrong;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < pollers; ++i) {
    threads.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", server_->port());
      c.set_keep_alive(true);
      c.set_read_timeout(60, 0);
      std::unique_lock lock(mu);
      while (!stop) {
        lock.unlock();
        auto res = c.Get("/api/status");
        lock.lock();
        if (!res || res->status != 200 || res->get_header_value("Connection") != "close") {
          wrong.push_back(res ? std::to_string(res->status) +
                                    " Connection: " + res->get_header_value("Connection")
                              : httplib::to_string(res.error()));
        }
        ++polls[i];
        cv.notify_all();
        cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return stop; });  // the pace
      }
    });
  }
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] {
      return std::all_of(polls.begin(), polls.end(), [](size_t n) { return n >= 2; });
    }));
  }
  // With every poller past its second request, another client's requests are answered at once,
  // each well within a deadline far below the 50 s the threads used to be held.
  httplib::Client other("127.0.0.1", server_->port());
  other.set_connection_timeout(5, 0);
  other.set_read_timeout(5, 0);
  for (int i = 0; i < 5; ++i) {
    auto res = other.Get("/api/tenants");
    if (!res) {  // no ASSERT: the pollers are stopped below
      ADD_FAILURE() << "request " << i << ": " << httplib::to_string(res.error());
      break;
    }
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Connection"), "close");
  }
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  cv.notify_all();
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong, std::vector<std::string>{});
}

// A gated bind's slot use read from the worker's gate: a frame of 10 slots (1000/s, 10 ms), all
// acme's; 3 requests in the first 3 slots, the other 7 pass with nothing queued, then one more
// request in the first slot of the next frame.
TEST_F(AdminServerTest, SlotsShowEachBindsUsedLentAndMissedSlotsAndTheLastFrame) {
  start("", 501, "rate_per_s = 1000\nframe_ms = 10\n");
  traffic(0, 0);
  const auto submit = [&](uint32_t seq) {
    pdu s;
    s.id = command_id::submit_sm;
    s.sequence_number = seq;
    s.source_addr = "1234";
    s.destination_addr = "447700900123";
    s.short_message = codec::as_bytes("hello");
    transport_.deliver(esme_, encode(s));
  };
  for (uint32_t seq = 1; seq <= 3; ++seq) submit(seq);
  uint64_t us = 5'000'000;
  for (int slot = 0; slot < 3; ++slot, us += 1000) worker_->run_once(now_, 0, us);
  EXPECT_EQ(transport_.take(upstream_).size(), 3U);
  submit(4);
  worker_->run_once(now_, 0, us + 7000);  // slot 10: slots 3..9 passed unused
  EXPECT_EQ(transport_.take(upstream_).size(), 1U);

  const json bind = get_json("/api/slots/sim").at("binds").at(0);
  EXPECT_EQ(bind.at("slots_per_frame"), 10);
  EXPECT_EQ(bind.at("use"), json::parse(R"({"frames": 1, "last_frame": "uuummmmmmm",
      "by_owner": {"acme": {"used": 4, "lent": 0, "missed": 7},
                   "*": {"used": 0, "lent": 0, "missed": 0}}})"));
}

TEST(AdminServer, ListeningOnAPortInUseIsAnError) {
  const std::string dir = temp_dir();
  std::ofstream(dir + "router.toml") << config_text("");
  auto loaded = control::load_config_file(dir + "router.toml");
  ASSERT_TRUE(loaded.ok());
  std::string err;
  auto snap = control::build_snapshot(*loaded.config, err);
  ASSERT_NE(snap, nullptr);
  control::router_config c = *loaded.config;
  c.admin.port = 0;
  control::admin_server first(c, snap, {}, nullptr);
  ASSERT_TRUE(first.start(err)) << err;
  c.admin.port = first.port();
  control::admin_server second(c, snap, {}, nullptr);
  EXPECT_FALSE(second.start(err));
  EXPECT_NE(err.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())),
            std::string::npos)
      << err;
  first.stop();
  first.stop();  // twice is fine
}

}  // namespace
