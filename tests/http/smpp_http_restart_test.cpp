// kill -9 of smpp-http under load, then a restart on the same database: every recipient of a
// request answered 202 is submitted exactly once, none of a request answered with an error is,
// and a request whose answer the kill cut off is sent whole or not at all. Counted at an SMSC
// in this process that records every destination_addr it answers.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/counting_smsc.hpp"
#include "smpp/codec/codec.hpp"
#include "smpp/codec/framer.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::counting_smsc;
namespace codec = smpp::codec;

int start_smpp_http(child_process& p, const std::string& dir, std::uint16_t smsc_port) {
  std::ofstream(dir + "http.toml")
      << "[http]\nlisten = \"127.0.0.1:0\"\nthreads = 8\n[store]\npath = \"" << dir
      << "state.db\"\n[smsc]\nport = " << smsc_port
      << "\nsessions = 2\nwindow = 64\nreconnect_ms = 100\n[limits]\nmax_queued_parts = 6000\n"
         "[[clients]]\nname = \"demo\"\nkey_hash = "
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

json get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get(path.c_str(), httplib::Headers{{"Authorization", "Bearer demo-key"}});
  if (!r || r->status != 200) return json();
  return json::parse(r->body, nullptr, false);
}

// Polls GET path until `done` holds or `limit` passes; the last answer.
template <typename Done>
json wait_for(int port, const std::string& path, Done done, std::chrono::milliseconds limit) {
  json last;
  for (const auto until = clock_type::now() + limit; clock_type::now() < until;) {
    last = get(port, path);
    if (last.is_object() && done(last)) return last;
    std::this_thread::sleep_for(20ms);
  }
  return last;
}

enum class outcome : std::uint8_t { accepted, refused, cut_off };

struct batch {
  std::uint64_t first = 0;  // recipients first .. first + per_batch - 1
  outcome result = outcome::cut_off;
  std::vector<std::string> ids;
};

TEST(SmppHttpRestart, AKillUnderLoadLosesNoAcceptedMessageAndSendsNoneTwice) {
  constexpr std::size_t per_batch = 100;
  constexpr std::size_t answered_before_kill = 2000;
  constexpr std::size_t max_batches =
      20000;  // bounds the test (and its memory) when the kill is late
  counting_smsc smsc(answered_before_kill);
  ASSERT_NE(smsc.port(), 0);
  const std::string dir = smpp::testing::make_temp_dir(::testing::TempDir(), "smpp_http_restart_");
  child_process http;
  const int port = start_smpp_http(http, dir, smsc.port());
  ASSERT_GT(port, 0) << http.err();

  // Four clients post batches of distinct recipients until told to stop; each batch's outcome
  // is what its client saw: 202, an error status, or no answer (the kill).
  std::mutex mutex;
  std::vector<batch> batches;
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> next_number{0};
  std::vector<std::thread> clients;
  // Joined on every way out, a failed assertion included.
  struct joiner {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~joiner() {
      stop = true;
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } join_clients{stop, clients};
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      c.set_read_timeout(10, 0);
      while (!stop) {
        {
          const std::lock_guard lock(mutex);
          if (batches.size() >= max_batches) return;
        }
        batch b;
        b.first = 447000000000 + next_number.fetch_add(per_batch);
        std::string body = R"({"dlr":false,"text":"x","to":[)";
        for (std::size_t i = 0; i < per_batch; ++i) {
          body += (i == 0 ? "\"" : ",\"") + std::to_string(b.first + i) + "\"";
        }
        body += "]}";
        const auto r =
            c.Post("/v1/messages", httplib::Headers{{"Authorization", "Bearer demo-key"}}, body,
                   "application/json");
        if (r && r->status == 202) {
          b.result = outcome::accepted;
          const json answer = json::parse(r->body);
          for (const json& m : answer["messages"]) b.ids.push_back(m["id"]);
        } else if (r) {
          b.result = outcome::refused;
        }
        const bool cut_off = !r;
        {
          const std::lock_guard lock(mutex);
          batches.push_back(std::move(b));
        }
        if (cut_off) return;  // smpp-http is gone
      }
    });
  }
  // The kill comes once the SMSC answered its share, every answer is on disk, and the queue has
  // filled up (requests answered 503), while the clients still post.
  const json before = wait_for(
      port, "/v1/status",
      [&](const json& s) {
        return s["responses_ok"] == answered_before_kill && s["store_backlog"] == 0 &&
               s["requests_refused_full"].get<std::uint64_t>() > 0;
      },
      20s);
  ASSERT_TRUE(before.is_object()) << "no /v1/status";
  ASSERT_EQ(before["responses_ok"], answered_before_kill) << before.dump();
  ASSERT_EQ(before["store_backlog"], 0) << before.dump();
  http.signal(SIGKILL);
  const auto killed = http.wait(10s);
  EXPECT_EQ(killed.signal, SIGKILL);
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_FALSE(batches.empty());

  smsc.resume();
  child_process again;
  const int port2 = start_smpp_http(again, dir, smsc.port());
  ASSERT_GT(port2, 0) << again.err();
  const json after = wait_for(
      port2, "/v1/status",
      [](const json& s) {
        return s["queued_parts"] == 0 && s["responses_ok"] == s["parts_restored"] &&
               s["store_backlog"] == 0;
      },
      20s);
  ASSERT_TRUE(after.is_object()) << "no /v1/status after the restart";
  EXPECT_EQ(after["queued_parts"], 0) << after.dump();
  EXPECT_EQ(after["responses_ok"], after["parts_restored"]) << after.dump();

  // Both ends counted: each recipient of a 202 exactly once at the SMSC; none of a refused
  // request; a cut-off request whole or not at all.
  const auto at_smsc = smsc.destinations();
  std::size_t accepted = 0;
  std::size_t refused = 0;
  std::size_t cut_off_sent = 0;
  std::size_t cut_off_batches = 0;
  std::vector<std::string> accepted_ids;
  for (const batch& b : batches) {
    std::size_t sent = 0;
    for (std::uint64_t i = 0; i < per_batch; ++i) {
      const std::string to = std::to_string(b.first + i);
      const auto it = at_smsc.find(to);
      const std::size_t n = it == at_smsc.end() ? 0 : it->second;
      EXPECT_LE(n, 1u) << to << " submitted " << n << " times";
      sent += n;
    }
    switch (b.result) {
      case outcome::accepted:
        accepted += per_batch;
        EXPECT_EQ(sent, per_batch) << "a 202 batch not sent whole";
        accepted_ids.insert(accepted_ids.end(), b.ids.begin(), b.ids.end());
        break;
      case outcome::refused:
        ++refused;
        EXPECT_EQ(sent, 0u) << "a refused batch was sent";
        break;
      case outcome::cut_off:
        ++cut_off_batches;
        EXPECT_TRUE(sent == 0 || sent == per_batch) << sent << " of a cut-off batch";
        cut_off_sent += sent;
        break;
    }
  }
  std::size_t total = 0;
  for (const auto& [to, n] : at_smsc) total += n;
  EXPECT_GT(accepted, answered_before_kill) << "some were still queued at the kill";
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(total, accepted + cut_off_sent) << "nothing at the SMSC but what was accepted";
  EXPECT_EQ(after["parts_restored"].get<std::size_t>(),
            accepted + cut_off_sent - answered_before_kill)
      << "what was answered before the kill is not sent again";
  // Every accepted id reads back after the restart, final (no receipts were asked for).
  std::size_t readable = 0;
  httplib::Client reader("127.0.0.1", port2);
  reader.set_keep_alive(true);
  for (const std::string& id : accepted_ids) {
    const auto r =
        reader.Get("/v1/messages/" + id, httplib::Headers{{"Authorization", "Bearer demo-key"}});
    if (r && r->status == 200 && json::parse(r->body)["state"] == "accepted") {
      ++readable;
    } else if (&id == &accepted_ids.front()) {
      ADD_FAILURE() << id << ": " << (r ? r->body : "no answer");
    }
  }
  EXPECT_EQ(readable, accepted);
  std::printf(
      "restart: %zu accepted (202), %zu refused requests, %zu cut-off requests (%zu sent),"
      " %zu answered before the kill, %zu parts submitted after the restart\n",
      accepted, refused, cut_off_batches, cut_off_sent, answered_before_kill,
      after["parts_restored"].get<std::size_t>());
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait(10s).code, 0);
}

}  // namespace
