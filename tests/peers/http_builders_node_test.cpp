// Every kind of message smpp-http builds, received by node-smpp (npm `smpp`, tests/peers/smsc.js)
// acting as the SMSC and decoded by it: each submit_sm's fields as node-smpp gives them (its
// short_message decoder splits the UDH into information elements and decodes the text codings)
// checked field by field against values written here from the specifications, not from our
// builders: GSM 03.38 and UCS-2 texts, concatenation (TS 23.040 §9.2.3.24.1), flash (class 0,
// TS 23.038 §4), 8-bit data with ports (§9.2.3.24.4), WAP push SI / SL and MMS notifications (WSP
// push to port 2948 from 9200, WAP-230 §8.2.4; content types of the WINA registry).
#include <gtest/gtest.h>
#include <unistd.h>

#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::make_temp_dir;

std::string peers_dir() {
  if (const char* env = std::getenv("SMPP_PEERS_DIR"); env != nullptr && *env != '\0') return env;
  return SMPP_PEERS_DIR_DEFAULT;
}

std::string hex(std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : s) {
    out += digits[static_cast<unsigned char>(c) >> 4];
    out += digits[static_cast<unsigned char>(c) & 0x0F];
  }
  return out;
}

class HttpBuildersNode : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string node = SMPP_NODE_EXECUTABLE;
    ASSERT_FALSE(node.empty() || access(node.c_str(), X_OK) != 0)
        << "node not found: run tools/install-deps.sh";
    ASSERT_TRUE(std::filesystem::exists(peers_dir() + "/node_modules/smpp/package.json"))
        << "node_modules/smpp missing: run tools/install-deps.sh (npm ci in tests/peers)";
    dir_ = make_temp_dir(::testing::TempDir(), "http_builders_node_");
    dump_ = dir_ + "submits.jsonl";
    ASSERT_TRUE(smsc_.start(node, {peers_dir() + "/smsc.js", "--port", "0", "--dlr-delay-ms", "0",
                                   "--duration-ms", "50000", "--dump", dump_}));
    constexpr std::string_view marker = "node-smsc: listening on 127.0.0.1:";
    ASSERT_TRUE(smsc_.wait_for_output(
        [&](const std::string&, const std::string& err) {
          const size_t at = err.find(marker);
          return at != std::string::npos && err.find('\n', at) != std::string::npos;
        },
        15s))
        << smsc_.err();
    const auto smsc_port =
        std::atoi(smsc_.err().c_str() + smsc_.err().find(marker) + marker.size());
    // One session: the submits reach the SMSC in the order they are POSTed.
    std::ofstream(dir_ + "http.toml")
        << "[http]\nlisten = \"127.0.0.1:0\"\nthreads = 2\n[store]\npath = \"" << dir_
        << "state.db\"\n[smsc]\nport = " << smsc_port
        << "\nsessions = 1\nreconnect_ms = 100\n[[clients]]\nname = \"demo\"\nkey_hash = "
           "\"blake2b256:e229ec1be2faa7a5dec6aad7aff1591e1e9b1683ed3f08cce11be9bd06dd2c67\"\n"
           "from = \"DEMO\"\nallowed_from = [\"12345\"]\n";
    ASSERT_TRUE(http_.start("smpp-http", {"--config", dir_ + "http.toml"}));
    constexpr std::string_view listening = "listening on 127.0.0.1:";
    ASSERT_TRUE(http_.wait_for_output(
        [&](const std::string&, const std::string& err) {
          const size_t at = err.find(listening);
          return at != std::string::npos && err.find('\n', at) != std::string::npos;
        },
        10s))
        << http_.err();
    port_ = std::atoi(http_.err().c_str() + http_.err().find(listening) + listening.size());
  }

  json status() {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get("/v1/status", httplib::Headers{{"Authorization", "Bearer demo-key"}});
    return r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
  }

  // POSTs one message to 447700900001 and returns the submit_sm node-smpp decoded for each of
  // its `parts` (waiting for their answers at smpp-http and their lines in the dump).
  std::vector<json> send(const std::string& fields, std::size_t parts) {
    httplib::Client c("127.0.0.1", port_);
    const auto r = c.Post("/v1/messages", httplib::Headers{{"Authorization", "Bearer demo-key"}},
                          R"({"to":"+447700900001",)" + fields + "}", "application/json");
    EXPECT_TRUE(r && r->status == 202) << (r ? r->body : std::string("no answer"));
    if (!r || r->status != 202) return {};
    EXPECT_EQ(json::parse(r->body)["parts"], parts);
    sent_ += parts;
    std::vector<std::string> lines;
    for (const auto until = clock_type::now() + 10s; clock_type::now() < until;) {
      lines.clear();
      std::ifstream in(dump_);
      for (std::string line; std::getline(in, line);) lines.push_back(line);
      if (lines.size() >= sent_ && status()["responses_ok"] == sent_) break;
      std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(lines.size(), sent_) << "submit_sm lines in " << dump_;
    std::vector<json> out;
    for (std::size_t i = sent_ - parts; i < lines.size() && i < sent_; ++i) {
      out.push_back(json::parse(lines[i]));
      // Every submit: DEMO (alphanumeric, TON 5 / NPI 0) to the number (TON 1 / NPI 1), a
      // receipt asked for (SMPP 3.4 §5.2.17).
      EXPECT_EQ(out.back()["source_addr"], "DEMO");
      EXPECT_EQ(out.back()["source_addr_ton"], 5);
      EXPECT_EQ(out.back()["source_addr_npi"], 0);
      EXPECT_EQ(out.back()["destination_addr"], "447700900001");
      EXPECT_EQ(out.back()["dest_addr_ton"], 1);
      EXPECT_EQ(out.back()["dest_addr_npi"], 1);
      EXPECT_EQ(out.back()["registered_delivery"], 1);
    }
    return out;
  }

  child_process smsc_;
  child_process http_;
  std::string dir_;
  std::string dump_;
  int port_ = 0;
  std::size_t sent_ = 0;
};

// A WSP push (WAP-230 §8.2.4.1: TID, PDU type 0x06, headers length, content type) to port 2948
// from 9200 in one 8-bit message: its content type and the WBXML or MMS body after the headers.
struct wsp_push {
  unsigned content_type = 0;
  std::string body_hex;
};

wsp_push push_of(const json& m) {
  EXPECT_EQ(m["esm_class"], 0x40);                     // UDHI
  EXPECT_EQ(m["data_coding"], 0x04);                   // 8-bit data
  EXPECT_EQ(m["udh"], json::array({"05040b8423f0"}));  // IEI 5: to 2948, from 9200
  const std::string h = m.value("hex", "");
  wsp_push p;
  if (h.size() < 8) {
    ADD_FAILURE() << "no WSP push in " << m.dump();
    return p;
  }
  EXPECT_EQ(h.substr(2, 2), "06") << "PDU type Push";
  const std::size_t headers = std::stoul(h.substr(4, 2), nullptr, 16);  // < 128: one octet
  p.content_type = static_cast<unsigned>(std::stoul(h.substr(6, 2), nullptr, 16));
  if (h.size() >= 6 + 2 * headers) p.body_hex = h.substr(6 + 2 * headers);
  return p;
}

TEST_F(HttpBuildersNode, TextsInGsmAndUcs2AndFlash) {
  auto m = send(R"("text":"Hello @ world €")", 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["data_coding"], 0);  // GSM 03.38 default alphabet, € through the extension
  EXPECT_EQ(m[0]["esm_class"], 0);
  EXPECT_EQ(m[0]["udh"], json::array());
  EXPECT_EQ(m[0]["text"], "Hello @ world €");

  m = send(R"("text":"Привет, мир")", 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["data_coding"], 8);  // UCS-2
  EXPECT_EQ(m[0]["text"], "Привет, мир");

  m = send(R"("text":"Alert","flash":true)", 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["data_coding"], 0x10);  // class 0, default alphabet
  EXPECT_EQ(m[0]["text"], "Alert");

  m = send(R"("text":"Сигнал","flash":true)", 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["data_coding"], 0x18);  // class 0, UCS-2
  EXPECT_EQ(m[0]["text"], "Сигнал");
}

TEST_F(HttpBuildersNode, LongTextsConcatenatedWithOneReference) {
  std::string gsm;
  for (int i = 0; i < 200; ++i) gsm += static_cast<char>('A' + i % 26);
  auto m = send(R"("text":")" + gsm + "\"", 2);
  ASSERT_EQ(m.size(), 2u);
  std::string joined;
  for (std::size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(m[i]["esm_class"], 0x40);
    EXPECT_EQ(m[i]["data_coding"], 0);
    ASSERT_EQ(m[i]["udh"].size(), 1u);
    const std::string ie = m[i]["udh"][0];
    // IEI 0, length 3, the reference (the same in both), 2 parts, this one's number.
    EXPECT_EQ(ie.substr(0, 4), "0003");
    EXPECT_EQ(ie.substr(4, 2), std::string(m[0]["udh"][0]).substr(4, 2));
    EXPECT_EQ(ie.substr(6), i == 0 ? "0201" : "0202");
    joined += m[i]["text"].get<std::string>();
  }
  EXPECT_EQ(std::string(m[0]["text"]).size(), 153u);  // 160 septets less the 7 of the UDH
  EXPECT_EQ(joined, gsm);

  std::string ucs2;
  for (int i = 0; i < 100; ++i) ucs2 += "Ж";
  m = send(R"("text":")" + ucs2 + "\"", 2);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0]["data_coding"], 8);
  EXPECT_EQ(m[0]["udh"][0].get<std::string>().substr(6), "0201");
  EXPECT_EQ(m[1]["udh"][0].get<std::string>().substr(6), "0202");
  EXPECT_EQ(m[0]["text"].get<std::string>() + m[1]["text"].get<std::string>(), ucs2);
  EXPECT_EQ(m[1]["text"].get<std::string>().size(), 33u * 2);  // 100 - 67 characters, 2 octets
}

TEST_F(HttpBuildersNode, BinaryWithPorts) {
  auto m = send(R"("binary":{"hex":"0102030405","source_port":5000,"destination_port":6000})", 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["esm_class"], 0x40);
  EXPECT_EQ(m[0]["data_coding"], 4);
  EXPECT_EQ(m[0]["udh"], json::array({"050417701388"}));  // IEI 5: to 6000, from 5000
  EXPECT_EQ(m[0]["hex"], "0102030405");
}

TEST_F(HttpBuildersNode, WapPushServiceIndicationAndLoading) {
  auto m = send(R"("wap_push":{"href":"https://example.com/offer","text":"Your offer"})", 1);
  ASSERT_EQ(m.size(), 1u);
  wsp_push p = push_of(m[0]);
  EXPECT_EQ(p.content_type, 0xAEu);  // application/vnd.wap.sic (0x2E)
  // WBXML 1.2, public id 5 (SI 1.0), UTF-8 (MIBenum 106), no string table (WBXML §5.4); <si>
  // (0x05 with content), <indication> (0x06 with attributes and content), href="https://"
  // (0x0E, WAP-167 §8.3.2) then the rest inline (STR_I 0x03), action signal-medium (0x07, the
  // default), END, the text inline, END, END.
  EXPECT_EQ(p.body_hex,
            "02056a00"
            "45"
            "c6"
            "0e"
            "03" +
                hex("example.com/offer") +
                "00"
                "07"
                "01"
                "03" +
                hex("Your offer") +
                "00"
                "01"
                "01");

  m = send(R"("wap_push":{"href":"https://example.com/app"})", 1);
  ASSERT_EQ(m.size(), 1u);
  p = push_of(m[0]);
  EXPECT_EQ(p.content_type, 0xB0u);  // application/vnd.wap.slc (0x30)
  // Public id 6 (SL 1.0); <sl> (0x05 with attributes, no content), href="https://" (0x0B,
  // WAP-168 §9.3.2) then the rest inline, END of the attributes.
  EXPECT_EQ(p.body_hex.substr(0, 8), "02066a00");
  EXPECT_EQ(p.body_hex.substr(8, 4), "850b") << p.body_hex;
  EXPECT_NE(p.body_hex.find("03" + hex("example.com/app") + "00"), std::string::npos) << p.body_hex;
  EXPECT_EQ(p.body_hex.substr(p.body_hex.size() - 2), "01") << p.body_hex;
}

TEST_F(HttpBuildersNode, MmsNotification) {
  const std::string location = "http://mmsc.example/m/1";
  auto m = send(R"("mms_notification":{"location":")" + location +
                    R"(","size":5000,"subject":"Photo","expiry_s":3600})",
                1);
  ASSERT_EQ(m.size(), 1u);
  const wsp_push p = push_of(m[0]);
  EXPECT_EQ(p.content_type, 0xBEu);  // application/vnd.wap.mms-message (0x3E)
  // OMA-MMS-ENC §7.2.20: X-Mms-Message-Type (0x8C) m-notification-ind (0x82) first.
  EXPECT_EQ(p.body_hex.substr(0, 4), "8c82") << p.body_hex;
  // X-Mms-Content-Location (0x83), a text string.
  EXPECT_NE(p.body_hex.find("83" + hex(location) + "00"), std::string::npos) << p.body_hex;
  // Subject (0x96) "Photo"; X-Mms-Message-Size (0x8E) 5000 as a long integer (2 octets).
  EXPECT_NE(p.body_hex.find("96" + hex("Photo") + "00"), std::string::npos) << p.body_hex;
  EXPECT_NE(p.body_hex.find("8e021388"), std::string::npos) << p.body_hex;
}

}  // namespace
