// The operator's console (GET / of the admin API) in headless Chromium, as a person uses it,
// against a running smpp-router between two esme-load tenants and smsc-sim (child processes on
// loopback, bounded in time): the page shows the tenants with live non-zero rates, loads nothing
// from elsewhere and throws no script error; the frame's slots carry their used/lent/missed marks;
// a weight changed through its form is in /api/slots/sim at once and in the drawn frame within one
// frame of the answer; a refused change shows the loader's file, line and key;
// a screenshot is kept under the build directory (test-artifacts/console.png).
// The form is used once its choices are listed, as a person would: the page fills them on its
// first poll, and a form filled before that sent PUT /api/weights// (404), which on a loaded
// machine made about one run in five wait for ': applied' until the deadline. A failure message
// carries the page's answer text, the browser's event trace and the router's log.
#include <gtest/gtest.h>

#include <httplib.h>
#include <signal.h>

#include <sodium.h>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/headless_chromium.hpp"
#include "../support/headless_firefox.hpp"
#include "../support/router_start.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::exit_result;
using smpp::testing::headless_chromium;
using smpp::testing::headless_firefox;
using smpp::testing::make_temp_dir;
using smpp::testing::router_ports;

constexpr auto test_limit = 40s;
constexpr const char* token = "console-test-token-0123456789";
constexpr const char* chromium_path = "/usr/bin/chromium";
constexpr const char* firefox_path = "/usr/bin/firefox-esr";

// Two tenants sharing upstream "sim" 3:1 in a frame of 100 slots (1000/s, frame_ms).
constexpr int frame_ms = 100;
std::string router_toml(const router_ports& ports, uint16_t sim_port) {
  std::string t =
      "[router]\nlisten = [\"127.0.0.1:" + std::to_string(ports.smpp) +
      "\"]\nworkers = [0, 1]\n\n[admin]\nlisten = \"127.0.0.1:" + std::to_string(ports.admin) +
      "\"\ntoken = \"" + token + "\"\n\n";
  for (const char* name : {"acme", "beta"}) {
    t += "[[tenants]]\nname = \"" + std::string(name) + "\"\nsystem_id = \"" + name +
         "\"\npassword = \"secret\"\nwindow = 256\n\n";
  }
  t += "[[upstreams]]\nname = \"sim\"\naddress = \"127.0.0.1:" + std::to_string(sim_port) +
       "\"\nrate_per_s = 1000\nframe_ms = " + std::to_string(frame_ms) +
       "\n\n"
       "[[upstreams.shares]]\ntenant = \"acme\"\nweight = 3\n\n"
       "[[upstreams.shares]]\ntenant = \"beta\"\nweight = 1\n\n"
       "[[upstreams.binds]]\nsystem_id = \"router\"\npassword = \"router\"\nwindow = 256\n\n"
       "[[routes]]\ntenant = \"*\"\nupstreams = [\"sim\"]\n";
  return t;
}

// Upstream "sim"'s first bind as /api/slots answers it (null when it does not).
json api_bind(httplib::Client& api) {
  auto res = api.Get("/api/slots/sim");
  if (!res || res->status != 200) return nullptr;
  const json j = json::parse(res->body, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j["binds"][0];
}

// The owners of that bind's slots, by tenant.
json api_owners(httplib::Client& api) {
  const json b = api_bind(api);
  return b.is_null() ? b : b["owners"];
}

// JavaScript: the drawn frame's slots per tenant, as {"acme": n, ...}.
constexpr const char* drawn_owners_js = R"(
(() => { const out = {};
  for (const r of document.querySelectorAll('svg.frame[data-upstream="sim"][data-bind="0"] rect'))
    if (r.dataset.tenant) out[r.dataset.tenant] = (out[r.dataset.tenant] || 0) + 1;
  return out; })())";

// The drawn frame must show acme and beta with these slot counts before `until` (the page
// redraws once a second); a failure prints the counts drawn.
void frame_drawn(headless_chromium& browser, int acme, int beta,
                 headless_chromium::clock::time_point until) {
  const std::string want =
      R"({"acme":)" + std::to_string(acme) + R"(,"beta":)" + std::to_string(beta) + "}";
  const bool ok =
      browser.wait_until(std::string("JSON.stringify(") + drawn_owners_js + ") === '" + want + "'",
                         until) == json(true);
  if (!ok) {
    ADD_FAILURE() << "drawn: " << browser.evaluate(drawn_owners_js, until) << ", want " << want;
  }
}

// What the browser reported besides the page's requests' details: its page and runtime events,
// and each request with when it was sent and finished, for a failure's message.
std::string browser_trace(const headless_chromium& browser) {
  std::string out = "events:";
  for (const json& e : browser.events()) {
    const std::string m = e["method"];
    if (m == "Network.requestWillBeSent") {
      out += "\n  " + e["params"]["request"]["method"].get<std::string>() + " " +
             e["params"]["request"]["url"].get<std::string>() + " at " +
             e["params"]["timestamp"].dump();
    } else if (m == "Network.loadingFinished" || m == "Network.loadingFailed") {
      out += "\n  " + m + " at " + e["params"]["timestamp"].dump();
    } else if (!m.starts_with("Network.")) {
      out += "\n  " + m;
    }
  }
  return out + "\n";
}

// smsc-sim, smpp-router (router_toml) and esme-load for acme at 300/s and beta at 100/s until
// stopped (child processes on loopback).
struct loaded_router {
  std::string dir = make_temp_dir(::testing::TempDir(), "console_");
  child_process sim;
  child_process router;
  router_ports ports;
  std::string base;
  child_process load[2];

  void start() {
    const uint16_t sim_port = smpp::testing::start_smsc_sim(sim, 0);
    ASSERT_NE(sim_port, 0) << sim.err();
    ports = start_router_on_free_ports(router, true, [&](const router_ports& p, int attempt) {
      const std::string path = dir + "router" + std::to_string(attempt) + ".toml";
      std::ofstream(path) << router_toml(p, sim_port);
      return path;
    });
    ASSERT_NE(ports.admin, 0);
    base = "http://127.0.0.1:" + std::to_string(ports.admin);
    const char* tenant[2] = {"acme", "beta"};
    const char* rate[2] = {"300", "100"};
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(load[i].start(
          "esme-load", {"--connect", "127.0.0.1:" + std::to_string(ports.smpp), "--system-id",
                        tenant[i], "--password", "secret", "--rate", rate[i], "--duration", "60",
                        "--json", dir + tenant[i] + ".json", "--no-progress"}));
    }
  }

  // Loads stopped (SIGINT), then the router (SIGTERM): each exits 0.
  void stop() {
    for (auto& l : load) {
      l.signal(SIGINT);
      const exit_result r = l.wait(15s);
      EXPECT_EQ(r.code, 0) << r.err;
    }
    router.signal(SIGTERM);
    const exit_result r = router.wait(10s);
    EXPECT_EQ(r.code, 0) << r.err;
    sim.signal(SIGTERM);
    (void)sim.wait(10s);
  }
};

TEST(ConsoleBrowser, ShowsLiveTenantsAppliesAndRefusesWeightChangesAndLoadsNothingElse) {
  if (access(chromium_path, X_OK) != 0) {
    GTEST_SKIP() << "chromium is missing: install the Debian package chromium "
                    "(tools/install-deps.sh); the console was NOT tested in a browser";
  }
  const auto deadline = clock_type::now() + test_limit;
  loaded_router lr;
  ASSERT_NO_FATAL_FAILURE(lr.start());
  const std::string& dir = lr.dir;
  const std::string& base = lr.base;
  const router_ports& ports = lr.ports;
  child_process& router = lr.router;

  headless_chromium browser;
  std::string why;
  ASSERT_TRUE(browser.start(chromium_path, dir + "profile", 1400, 1500, 20s, why)) << why;
  ASSERT_FALSE(browser.call("Page.navigate", {{"url", base + "/"}}, deadline).contains("error"));

  // The tenants by name, each with a non-zero accepted/s, and the page's session counts equal
  // to what the API counts.
  const json live = browser.wait_until(R"(
    (() => { const rows = [...document.querySelectorAll('#tenants tbody tr')];
      const rate = (r) => Number(r.querySelector('.acc').textContent.replace(/,/g, ''));
      return rows.length === 2 && rows.every((r) => rate(r) > 0) &&
        rows.map((r) => r.dataset.tenant).join() === 'acme,beta'; })())",
                                       deadline);
  EXPECT_EQ(live, json(true)) << browser.evaluate("document.getElementById('tenants').outerHTML",
                                                  deadline);
  httplib::Client api("127.0.0.1", ports.admin);
  api.set_read_timeout(5, 0);
  auto tenants = api.Get("/api/tenants");
  ASSERT_TRUE(tenants && tenants->status == 200);
  const json page_sessions = browser.evaluate(
      "[...document.querySelectorAll('#tenants tbody tr')].map((r) => "
      "Number(r.children[1].textContent))",
      deadline);
  const json api_tenants = json::parse(tenants->body);
  EXPECT_EQ(page_sessions, json({api_tenants[0]["sessions"], api_tenants[1]["sessions"]}));
  EXPECT_EQ(page_sessions, json({1, 1}));

  // The frame as drawn equals the API's plan: acme 75 slots, beta 25.
  EXPECT_EQ(api_owners(api), json({{"acme", 75}, {"beta", 25}}));
  frame_drawn(browser, 75, 25, deadline);
  // Under the strip, each slot's mark from the last frame (used, lent or missed), some used; the
  // API counts used slots for both tenants (300/s and 100/s of their 750/s and 250/s).
  EXPECT_EQ(browser.wait_until(R"(
    (() => { const m = [...document.querySelectorAll(
        'svg.frame[data-upstream="sim"][data-bind="0"] rect.mark')].map((r) => r.dataset.mark);
      return m.length === 100 && m.every((x) => 'ulm'.includes(x)) && m.includes('u'); })())",
                               deadline),
            json(true))
      << browser.evaluate("document.getElementById('frames').outerHTML", deadline);
  const json use = api_bind(api)["use"];
  ASSERT_TRUE(use.is_object()) << use;
  EXPECT_GT(use["frames"].get<uint64_t>(), 0U) << use;
  EXPECT_GT(use["by_owner"]["acme"]["used"].get<uint64_t>(), 0U) << use;
  EXPECT_GT(use["by_owner"]["beta"]["used"].get<uint64_t>(), 0U) << use;
  EXPECT_EQ(use["last_frame"].get<std::string>().size(), 100U) << use;

  // beta's weight to 3 through the page's form, once it lists the tenants and upstreams: applied,
  // then 50:50 in the API as soon as the change is answered and in the drawn frame within one
  // frame of the answer (the page redraws the frames when a change is applied).
  EXPECT_EQ(browser.wait_until(
                "((f) => !document.getElementById('w-apply').disabled && f('w-tenant', 'beta') "
                "&& f('w-upstream', 'sim'))((id, v) => "
                "[...document.getElementById(id).options].some((o) => o.value === v))",
                deadline),
            json(true))
      << browser.evaluate("document.getElementById('weight-form').outerHTML", deadline);
  const auto submit_weight = [&](int weight) {
    return browser.evaluate("document.getElementById('token').value = '" + std::string(token) +
                                "'; document.getElementById('w-tenant').value = 'beta';"
                                "document.getElementById('w-upstream').value = 'sim';"
                                "document.getElementById('w-weight').value = '" +
                                std::to_string(weight) +
                                "'; document.getElementById('action-result').textContent = '';"
                                "document.getElementById('w-apply').click(); true",
                            deadline);
  };
  ASSERT_EQ(submit_weight(3), json(true));
  const std::string result_js = "document.getElementById('action-result').textContent";
  EXPECT_EQ(browser.wait_until(result_js + ".endsWith(': applied')", deadline), json(true))
      << browser.evaluate(result_js, clock_type::now() + 5s) << " " << browser.last_error() << "\n"
      << browser_trace(browser) << "router:\n"
      << (router.pump(0ms), router.err());
  EXPECT_EQ(api_owners(api), json({{"acme", 50}, {"beta", 50}}));
  frame_drawn(browser, 50, 50, deadline);
  const json drawn_after_ms = browser.evaluate(
      "document.querySelector('svg.frame[data-upstream=\"sim\"][data-bind=\"0\"]')"
      ".dataset.changedAt - document.getElementById('action-result').dataset.answeredAt",
      deadline);
  ASSERT_TRUE(drawn_after_ms.is_number()) << drawn_after_ms << " " << browser.last_error();
  EXPECT_LE(drawn_after_ms.get<double>(), frame_ms) << "ms from the answer to the drawn frame";
  std::printf("frame drawn %.1f ms after the change's answer (frame: %d ms)\n",
              drawn_after_ms.get<double>(), frame_ms);

  // Weight 0 is outside 1..65535: refused with the loader's file, line and key, nothing changed.
  ASSERT_EQ(submit_weight(0), json(true));
  EXPECT_EQ(browser.wait_until(result_js + ".includes('refused (HTTP 400)')", deadline),
            json(true));
  const std::string shown = browser.evaluate(result_js, deadline).get<std::string>();
  EXPECT_NE(shown.find("as changed through the admin API):"), std::string::npos) << shown;
  EXPECT_NE(shown.find("upstreams[0].shares[1].weight"), std::string::npos) << shown;
  EXPECT_NE(shown.find("weight = 0"), std::string::npos) << shown;  // the offending line
  EXPECT_EQ(api_owners(api), json({{"acme", 50}, {"beta", 50}}));
  // The refusal is also the page's "last change".
  EXPECT_EQ(browser.wait_until("document.getElementById('last-change').textContent.includes("
                               "'PUT /api/weights/beta/sim → 400 refused')",
                               deadline),
            json(true));

  // Reload through the page: the file again, beta back to weight 1, in the API and the drawing.
  ASSERT_EQ(browser.evaluate("document.getElementById('reload').click(); true", deadline),
            json(true));
  EXPECT_EQ(browser.wait_until(result_js + " === 'POST /api/reload: applied'", deadline),
            json(true))
      << browser.evaluate(result_js, deadline);
  EXPECT_EQ(api_owners(api), json({{"acme", 75}, {"beta", 25}}));
  frame_drawn(browser, 75, 25, deadline);

  // Workers on the topology drawing, and the history charts drawn.
  EXPECT_EQ(browser.evaluate("document.querySelectorAll('#topology svg g[id^=cpu-]').length > 0 && "
                             "document.querySelectorAll('#chart-accepted polyline').length === 2",
                             deadline),
            json(true));

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
  std::ofstream(artifacts / "console.png", std::ios::binary) << png;
  std::printf("screenshot: %s (%zu octets)\n", (artifacts / "console.png").c_str(), png.size());

  // Every request the page made went to the router's admin server.
  size_t requests = 0;
  for (const json& e : browser.events()) {
    if (e["method"] == "Network.requestWillBeSent") {
      ++requests;
      const std::string url = e["params"]["request"]["url"];
      EXPECT_TRUE(url.starts_with(base + "/")) << url;
    }
    EXPECT_NE(e["method"], "Runtime.exceptionThrown") << e.dump();
  }
  EXPECT_GT(requests, 5u);
  browser.stop();
  lr.stop();
  EXPECT_LT(clock_type::now(), deadline + 20s);
}

// The same page in headless Firefox (Debian firefox-esr, through Marionette): the tenants with
// live non-zero rates, the frame drawn with its marks, a weight change through the form applied
// and drawn, and no script error caught by the page.
TEST(ConsoleBrowser, WorksInFirefoxToo) {
  if (access(firefox_path, X_OK) != 0) {
    GTEST_SKIP() << "firefox-esr is missing: install the Debian package firefox-esr "
                    "(tools/install-deps.sh); the console was NOT tested in Firefox";
  }
  const auto deadline = clock_type::now() + test_limit;
  loaded_router lr;
  ASSERT_NO_FATAL_FAILURE(lr.start());
  headless_firefox browser;
  std::string why;
  const std::string profile = lr.dir + "firefox";
  std::filesystem::create_directories(profile);
  ASSERT_TRUE(browser.start(firefox_path, profile, 1400, 1500, deadline, why)) << why;
  ASSERT_FALSE(
      browser.call("WebDriver:Navigate", {{"url", lr.base + "/"}}, deadline).contains("error"));
  // Errors the page throws from now on are kept where the checks below read them.
  ASSERT_EQ(browser.execute("window.seenErrors = []; window.addEventListener('error', "
                            "(e) => window.seenErrors.push(String(e.message))); return true;",
                            deadline),
            json(true))
      << browser.last_error();
  EXPECT_EQ(browser.wait_until(R"(
      const rows = [...document.querySelectorAll('#tenants tbody tr')];
      const rate = (r) => Number(r.querySelector('.acc').textContent.replace(/,/g, ''));
      return rows.length === 2 && rows.every((r) => rate(r) > 0) &&
        rows.map((r) => r.dataset.tenant).join() === 'acme,beta';)",
                               deadline),
            json(true))
      << browser.execute("return document.getElementById('tenants').outerHTML;", deadline);
  const std::string strip =
      "document.querySelector('svg.frame[data-upstream=\"sim\"][data-bind=\"0\"]')";
  EXPECT_EQ(browser.wait_until("const s = " + strip +
                                   "; return s !== null && s.querySelectorAll('rect.mark').length "
                                   "=== 100 && s.querySelectorAll('rect[data-tenant=\"beta\"]')"
                                   ".length === 25;",
                               deadline),
            json(true))
      << browser.execute("return document.getElementById('frames').outerHTML;", deadline);
  EXPECT_EQ(browser.wait_until("return !document.getElementById('w-apply').disabled;", deadline),
            json(true));
  EXPECT_EQ(browser.execute("document.getElementById('token').value = '" + std::string(token) +
                                "'; document.getElementById('w-tenant').value = 'beta';"
                                "document.getElementById('w-upstream').value = 'sim';"
                                "document.getElementById('w-weight').value = '3';"
                                "document.getElementById('w-apply').click(); return true;",
                            deadline),
            json(true));
  EXPECT_EQ(browser.wait_until("return document.getElementById('action-result').textContent === "
                               "'PUT /api/weights/beta/sim: applied';",
                               deadline),
            json(true))
      << browser.execute("return document.getElementById('action-result').textContent;", deadline);
  EXPECT_EQ(browser.wait_until("return " + strip +
                                   ".querySelectorAll('rect[data-tenant=\"beta\"]').length === 50;",
                               deadline),
            json(true));
  EXPECT_EQ(browser.execute("return window.seenErrors;", deadline), json::array()) << browser.log();
  browser.stop();
  lr.stop();
  EXPECT_LT(clock_type::now(), deadline + 20s);
}

}  // namespace
