// The page of smpp-http ("/") in headless Chromium, as a client uses it, against smsc-sim
// answering a share of the submits with errors (child processes on loopback, bounded in time):
// the key typed in, a CSV file chosen in the file input and uploaded with a template and a
// rate, the broken rows shown by line, the progress followed to the end; the counts the page
// shows equal those counted at smsc-sim, the chart is drawn, nothing was loaded from elsewhere
// and no script error was thrown. A screenshot is kept under the build directory
// (test-artifacts/smpp-http-page.png).
#include <gtest/gtest.h>

#include <httplib.h>
#include <signal.h>
#include <sodium.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../support/child_process.hpp"
#include "../support/headless_chromium.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::flat_json;
using smpp::testing::headless_chromium;
using smpp::testing::make_temp_dir;
using smpp::testing::start_smsc_sim;
using smpp::testing::wait_for_smsc_sim;

constexpr const char* chromium_path = SMPP_CHROMIUM_PATH;
constexpr std::size_t rows = 40;

int start_smpp_http(child_process& p, const std::string& dir, std::uint16_t smsc_port) {
  std::ofstream(dir + "http.toml")
      << "[http]\nlisten = \"127.0.0.1:0\"\nthreads = 4\n[store]\npath = \"" << dir
      << "state.db\"\nsynchronous = \"normal\"\n[smsc]\nport = " << smsc_port
      << "\nsessions = 1\nwindow = 16\n[[clients]]\nname = \"demo\"\nkey_hash = "
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

std::string text_of(headless_chromium& b, const std::string& id, clock_type::time_point deadline) {
  const json v = b.evaluate("document.getElementById('" + id + "').textContent", deadline);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

TEST(SmppHttpPage, UploadsACsvFollowsItToTheEndAndShowsTheCountsOfTheSmsc) {
  const auto deadline = clock_type::now() + 20s;
  const std::string dir = make_temp_dir(::testing::TempDir(), "smpp_http_page_");
  child_process sim;
  const std::uint16_t sim_port = start_smsc_sim(sim, 0, {"--error-rate", "0.2", "--seed", "7"});
  ASSERT_NE(sim_port, 0) << sim.err();
  child_process http;
  const int port = start_smpp_http(http, dir, sim_port);
  ASSERT_GT(port, 0) << http.err();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);

  // 40 recipients and two broken rows (lines 5 and 12).
  std::string csv = "number,name\n";
  for (std::size_t i = 0; i < rows; ++i) {
    csv += std::to_string(447200000000 + i) + ",Name " + std::to_string(i) + "\n";
    if (i == 2) csv += "0x12,Broken\n";
    if (i == 8) csv += "447200009999\n";
  }
  std::ofstream(dir + "customers.csv") << csv;

  headless_chromium browser;
  std::string why;
  ASSERT_TRUE(browser.start(chromium_path, dir + "profile", 1200, 1400, 15s, why)) << why;
  ASSERT_FALSE(browser.call("Page.navigate", {{"url", base + "/"}}, deadline).contains("error"));
  ASSERT_EQ(
      browser.wait_until(
          "document.readyState === 'complete' && !!document.getElementById('upload')", deadline),
      json(true));
  ASSERT_EQ(browser.evaluate(R"((() => {
      const key = document.getElementById('key');
      key.value = 'demo-key'; key.dispatchEvent(new Event('change'));
      document.getElementById('template').value = 'Hi {name}, 20% off today';
      document.getElementById('rate').value = '40';
      return true; })())",
                             deadline),
            json(true));
  // The file chosen as a person would, through the file input.
  const json doc = browser.call("DOM.getDocument", json::object(), deadline);
  ASSERT_TRUE(doc.contains("root")) << doc.dump();
  const json input = browser.call(
      "DOM.querySelector", {{"nodeId", doc["root"]["nodeId"]}, {"selector", "#csv"}}, deadline);
  ASSERT_TRUE(input.contains("nodeId")) << input.dump();
  ASSERT_FALSE(browser
                   .call("DOM.setFileInputFiles",
                         {{"files", {dir + "customers.csv"}}, {"nodeId", input["nodeId"]}},
                         deadline)
                   .contains("error"));
  ASSERT_EQ(browser.evaluate("document.getElementById('upload').click(); true", deadline),
            json(true));

  const json done = browser.wait_until("!!document.body.dataset.campaignDone", deadline);
  ASSERT_EQ(done, json(true)) << text_of(browser, "upload-answer", deadline) << "\n"
                              << browser.last_error();
  const std::string answer = text_of(browser, "upload-answer", deadline);
  EXPECT_NE(answer.find("40 recipients, 2 rows refused"), std::string::npos) << answer;
  EXPECT_NE(answer.find("line 5: "), std::string::npos) << answer;
  EXPECT_NE(answer.find("line 12: "), std::string::npos) << answer;

  // The counts on the page against smsc-sim's: submits answered ESME_ROK were delivered (each
  // with its receipt acknowledged), those answered with an error rejected.
  const auto at_sim = wait_for_smsc_sim(
      sim,
      [](const flat_json& c) {
        return c.count("submit_sm") == rows && c.count("receipts_acked") == c.count("accepted");
      },
      10s);
  ASSERT_TRUE(at_sim.has_value());
  EXPECT_EQ(at_sim->count("submit_sm"), rows);
  const std::uint64_t sim_errors =
      at_sim->count("errors.ESME_RSYSERR") + at_sim->count("errors.ESME_RSUBMITFAIL");
  EXPECT_EQ(at_sim->count("accepted") + sim_errors, rows);
  EXPECT_GT(sim_errors, 0u) << "the error share makes some rejected";
  EXPECT_EQ(text_of(browser, "count-delivered", deadline),
            std::to_string(at_sim->count("receipts_acked")));
  EXPECT_EQ(text_of(browser, "count-rejected", deadline), std::to_string(sim_errors));
  EXPECT_EQ(text_of(browser, "count-queued", deadline), "0");
  EXPECT_EQ(text_of(browser, "final", deadline), std::to_string(rows));
  EXPECT_EQ(text_of(browser, "recipients", deadline), std::to_string(rows));
  EXPECT_EQ(text_of(browser, "rows-refused", deadline), "2");
  EXPECT_EQ(text_of(browser, "campaign-state", deadline), "done");
  // The chart: a line per series with a point per sample.
  const json points = browser.evaluate(
      "[document.getElementById('line-delivered').points.numberOfItems,"
      " document.getElementById('line-failed').points.numberOfItems]",
      deadline);
  ASSERT_TRUE(points.is_array()) << points.dump();
  EXPECT_GE(points[0].get<int>(), 2);
  EXPECT_EQ(points[0], points[1]);

  // Send a message from the page too: its 202 shown.
  ASSERT_EQ(browser.evaluate(R"((() => {
      document.getElementById('to').value = '+447200000999';
      document.getElementById('text').value = 'One more';
      document.getElementById('send').click(); return true; })())",
                             deadline),
            json(true));
  EXPECT_EQ(browser.wait_until(
                "document.getElementById('send-answer').textContent.startsWith('202 ')", deadline),
            json(true))
      << text_of(browser, "send-answer", deadline);

  const json shot = browser.call("Page.captureScreenshot", {{"format", "png"}}, deadline);
  ASSERT_TRUE(shot.contains("data")) << shot.dump().substr(0, 300);
  const std::string b64 = shot["data"].get<std::string>();
  std::string png(b64.size(), '\0');
  size_t png_len = 0;
  ASSERT_EQ(
      sodium_base642bin(reinterpret_cast<unsigned char*>(png.data()), png.size(), b64.data(),
                        b64.size(), nullptr, &png_len, nullptr, sodium_base64_VARIANT_ORIGINAL),
      0);
  png.resize(png_len);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  const std::filesystem::path artifacts =
      std::filesystem::path(smpp::testing::bin_dir()).parent_path() / "test-artifacts";
  std::filesystem::create_directories(artifacts);
  std::ofstream(artifacts / "smpp-http-page.png", std::ios::binary) << png;
  std::printf("screenshot: %s (%zu octets)\n", (artifacts / "smpp-http-page.png").c_str(),
              png.size());

  // Every request the page made went to smpp-http; no script error.
  std::size_t requests = 0;
  for (const json& e : browser.events()) {
    if (e["method"] == "Network.requestWillBeSent") {
      ++requests;
      const std::string url = e["params"]["request"]["url"];
      EXPECT_TRUE(url.starts_with(base + "/") || url.starts_with("blob:")) << url;
    }
    EXPECT_NE(e["method"], "Runtime.exceptionThrown") << e.dump();
  }
  EXPECT_GT(requests, 3u);
  browser.stop();
  http.signal(SIGTERM);
  EXPECT_EQ(http.wait(10s).code, 0);
}

}  // namespace
