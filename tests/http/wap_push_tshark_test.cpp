// WAP push SI and SL and MMS notifications as smpp-http builds them, in submit_sm PDUs on a
// capture, decoded by tshark's SMPP, GSM SMS UDH, WSP, WBXML and MMSE dissectors: each field
// the builders set is read back as tshark decodes it, parts reassembled.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../interop/pcap_writer.hpp"
#include "../support/child_process.hpp"
#include "smpp/codec/codec.hpp"
#include "smpp/http/message_builder.hpp"
#include "smpp/http/wap_push.hpp"

#ifndef SMPP_TSHARK
#define SMPP_TSHARK "tshark"
#endif

namespace smpp::http {
namespace {

// The parts as submit_sm PDUs in one capture; tshark's output of `args` on it.
std::string tshark(const std::vector<message_part>& parts, const std::string& args) {
  interop::pcap_writer pcap;
  std::uint32_t seq = 1;
  for (const message_part& part : parts) {
    codec::pdu p;
    p.id = codec::command_id::submit_sm;
    p.sequence_number = seq++;
    p.source_addr_ton = 5;
    p.source_addr = "DEMO";
    p.dest_addr_ton = 1;
    p.dest_addr_npi = 1;
    p.destination_addr = "447900000001";
    p.esm_class = part.esm_class;
    p.data_coding = part.data_coding;
    p.short_message = codec::bytes_view(part.short_message.data(), part.short_message.size());
    std::vector<std::byte> frame(512);
    const auto r = codec::encode(p, frame);
    EXPECT_TRUE(r.ok(frame.size()));
    frame.resize(r.needed);
    pcap.add_segment(frame);
  }
  const std::string dir = testing::make_temp_dir(::testing::TempDir(), "wap_push_tshark_");
  std::ofstream(dir + "push.pcap", std::ios::binary)
      .write(reinterpret_cast<const char*>(pcap.bytes().data()),
             static_cast<std::streamsize>(pcap.bytes().size()));
  std::filesystem::create_directory(dir + "profile");
  // A private configuration directory keeps the user's preferences out.
  const std::string cmd = "WIRESHARK_CONFIG_DIR='" + dir + "profile' '" SMPP_TSHARK "' -n -r '" +
                          dir + "push.pcap' -d tcp.port==" + std::to_string(interop::smpp_port) +
                          ",smpp " + args + " > '" + dir + "out.txt' 2> '" + dir + "err.txt'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << testing::read_file(dir + "err.txt");
  std::string out = testing::read_file(dir + "out.txt");
  std::filesystem::remove_all(dir);
  return out;
}

std::vector<message_part> push_parts(const push_result& pdu, std::size_t max_parts = 10) {
  const auto* octets = std::get_if<std::vector<std::byte>>(&pdu);
  if (octets == nullptr) {
    ADD_FAILURE() << std::get<std::string>(pdu);
    return {};
  }
  build_result built = build_binary(*octets, wap_push_ports, 0x5A, max_parts);
  EXPECT_EQ(built.error, build_error::none);
  return built.parts;
}

// The values of `fields` for each frame that has any, "|"-separated as tshark prints them.
std::vector<std::string> field_rows(const std::vector<message_part>& parts,
                                    const std::vector<std::string>& fields) {
  std::string args = "-T fields -E 'separator=|' -E occurrence=a -E aggregator=,";
  for (const std::string& f : fields) args += " -e " + f;
  std::vector<std::string> rows;
  const std::string out = tshark(parts, args);
  std::size_t at = 0;
  while (at < out.size()) {
    const std::size_t nl = out.find('\n', at);
    const std::string line = out.substr(at, nl == std::string::npos ? nl : nl - at);
    at = nl == std::string::npos ? out.size() : nl + 1;
    if (line.find_first_not_of('|') != std::string::npos) rows.push_back(line);
  }
  return rows;
}

// Transport: every part is 8-bit data (0x04) with UDHI, to port 2948 from 9200.
void expect_wap_transport(const std::vector<message_part>& parts) {
  const auto rows = field_rows(parts, {"smpp.data_coding", "smpp.esm.submit.features",
                                       "gsm_sms.destination_port", "gsm_sms.originator_port"});
  ASSERT_EQ(rows.size(), parts.size());
  for (const std::string& row : rows) EXPECT_EQ(row, "0x04|0x01|2948|9200");
}

bool has_line(const std::string& text, const std::string& piece) {
  return text.find(piece) != std::string::npos;
}

TEST(WapPushTshark, ServiceIndicationFieldByField) {
  const service_indication si{"https://www.example.com/offer?id=7",
                              "Your offer is ready",
                              "signal-high",
                              "offer-7",
                              "2026-12-07T10:00:00Z",
                              "2026-12-31T23:59:00Z"};
  const auto parts = push_parts(encode_service_indication(si, 1));
  ASSERT_EQ(parts.size(), 1u);
  expect_wap_transport(parts);
  EXPECT_EQ(field_rows(parts, {"wsp.pdu_type", "wsp.header.content_type",
                               "wsp.header.x_wap_application_id"}),
            std::vector<std::string>{"0x06|application/vnd.wap.sic|x-wap-application:wml.ua"});
  const std::string v = tshark(parts, "-V");
  EXPECT_TRUE(has_line(v, "-//WAPFORUM//DTD SI 1.0//EN")) << v;
  // tshark renders the WBXML tokens: the href prefix token, then the inline rest.
  for (const char* piece :
       {"<si>", "<indication", "href='https://www.'", "'example.com/offer?id=7'",
        "si-id=", "'offer-7'", "created=", "%DateTime: 2026-12-07T10:00:00Z",
        "si-expires=", "%DateTime: 2026-12-31T23:59:00Z", "action='signal-high'",
        "'Your offer is ready'", "</indication>", "</si>"}) {
    EXPECT_TRUE(has_line(v, piece)) << piece << "\n" << v;
  }
  EXPECT_FALSE(has_line(v, "Malformed")) << v;
}

TEST(WapPushTshark, ServiceLoadingFieldByField) {
  const auto parts = push_parts(encode_service_loading({"http://example.org/app.jad", "cache"}, 2));
  ASSERT_EQ(parts.size(), 1u);
  expect_wap_transport(parts);
  EXPECT_EQ(field_rows(parts, {"wsp.header.content_type"}),
            std::vector<std::string>{"application/vnd.wap.slc"});
  const std::string v = tshark(parts, "-V");
  for (const char* piece : {"-//WAPFORUM//DTD SL 1.0//EN", "<sl", "href='http://'",
                            "'example.org/app.jad'", "action='cache'", "/>"}) {
    EXPECT_TRUE(has_line(v, piece)) << piece << "\n" << v;
  }
  EXPECT_FALSE(has_line(v, "Malformed")) << v;
}

TEST(WapPushTshark, MmsNotificationInTwoPartsIsReassembledFieldByField) {
  // A location long enough to need two parts: tshark reassembles them by the UDH reference.
  const std::string location = "http://mmsc.example.net/mms/get?id=" + std::string(150, 'q');
  const mms_notification m{location, "+447900000009", "Photos \xE2\x82\xAC",
                           123456,   86400,           mms_class::advertisement,
                           "tx-1"};
  const auto parts = push_parts(encode_mms_notification(m, 3));
  ASSERT_EQ(parts.size(), 2u);
  expect_wap_transport(parts);
  EXPECT_EQ(field_rows(parts, {"gsm_sms.udh.mm.msg_id", "gsm_sms.udh.mm.msg_parts",
                               "gsm_sms.udh.mm.msg_part"}),
            (std::vector<std::string>{"90|2|1", "90|2|2"}));
  EXPECT_EQ(field_rows(parts, {"wsp.header.content_type", "wsp.header.x_wap_application_id"}),
            std::vector<std::string>{"application/vnd.wap.mms-message|x-wap-application:mms.ua"});
  const auto mms =
      field_rows(parts, {"mmse.message_type", "mmse.transaction_id", "mmse.mms_version",
                         "mmse.from", "mmse.subject", "mmse.message_class.id", "mmse.message_size",
                         "mmse.expiry.rel", "mmse.content_location"});
  ASSERT_EQ(mms.size(), 1u);
  // The subject goes with its charset (UTF-8, 0xEA); tshark 4.0 reads the text of an
  // Encoded-string-value as ASCII whatever the charset, so each octet of the euro sign shows as
  // U+FFFD. The fields after it, read right, show the value's framing is right.
  const std::string replaced = "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD";
  EXPECT_EQ(mms[0], "0x82|tx-1|1.2|+447900000009|Photos " + replaced +
                        "|0x81|123456|86400.000000000|" + location);
}

TEST(WapPushTshark, BadPushContentIsRefusedByField) {
  EXPECT_EQ(std::get<std::string>(encode_service_indication({"", "t", "", "", "", ""}, 0)),
            "href: must not be empty");
  EXPECT_EQ(
      std::get<std::string>(encode_service_indication({"http://a", "t", "loud", "", "", ""}, 0))
          .substr(0, 7),
      "action:");
  EXPECT_EQ(
      std::get<std::string>(encode_service_indication({"http://a", "t", "", "", "2026-13", ""}, 0)),
      "created: must be YYYY-MM-DDThh:mm:ssZ");
  EXPECT_EQ(std::get<std::string>(encode_service_loading({"http://a", "run"}, 0)).substr(0, 7),
            "action:");
  mms_notification m;
  m.size = 1;
  EXPECT_EQ(std::get<std::string>(encode_mms_notification(m, 0)), "location: must not be empty");
}

}  // namespace
}  // namespace smpp::http
