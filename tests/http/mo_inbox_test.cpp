// MO messages: decoded per data_coding (TS 23.038) with the UDH apart, routed by the number they
// were sent to, kept in a bounded inbox per client and read in pages.
#include "smpp/http/mo_inbox.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace smpp::http {
namespace {

codec::pdu deliver(std::string_view to, std::uint8_t data_coding,
                   const std::vector<std::byte>& octets, std::uint8_t esm_class = 0) {
  codec::pdu p;
  p.id = codec::command_id::deliver_sm;
  p.source_addr = "447700900001";
  p.destination_addr = to;
  p.data_coding = data_coding;
  p.esm_class = esm_class;
  p.short_message = codec::bytes_view(octets.data(), octets.size());
  return p;
}

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (const int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

TEST(MoInbox, TextIsDecodedPerDataCodingAndTheUdhKeptApart) {
  const auto gsm = bytes({'H', 'i', 0x00});  // GSM 03.38: 0x00 is '@'
  const mo_message a = mo_from_pdu(deliver("12345", 0, gsm), 1000);
  EXPECT_EQ(a.text, "Hi@");
  EXPECT_EQ(a.from, "447700900001");
  EXPECT_EQ(a.received_ms, 1000);
  const auto ucs2 = bytes({0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x04, 0x16});  // UDH, then "Ж"
  const mo_message b = mo_from_pdu(deliver("12345", 8, ucs2, codec::esm_class_udhi), 0);
  EXPECT_EQ(b.udh, "0500032a0201");
  EXPECT_EQ(b.text, "\xD0\x96");
  const mo_message c = mo_from_pdu(deliver("12345", 4, bytes({0xDE, 0xAD})), 0);
  EXPECT_EQ(c.hex, "dead");
  EXPECT_TRUE(c.text.empty());
  EXPECT_EQ(mo_json(c), R"({"id":"0","from":"447700900001","to":"12345","data_coding":4,)"
                        R"("hex":"dead","received_at":"1970-01-01T00:00:00.000Z"})");
}

TEST(MoInbox, RoutedByNumberBoundedAndReadInPages) {
  mo_inbox inbox(3, {{"ACME", "+12345"}, {"999"}});
  mo_message m = mo_from_pdu(deliver("999", 0, bytes({'a'})), 0);
  EXPECT_EQ(inbox.add(m), 1u);
  EXPECT_EQ(m.id, 1u);
  mo_message unrouted = mo_from_pdu(deliver("ACME", 0, bytes({'a'})), 0);
  EXPECT_FALSE(inbox.add(unrouted).has_value()) << "a name is not a number";
  for (int i = 0; i < 4; ++i) {
    mo_message n = mo_from_pdu(deliver("+12345", 0, bytes({'0' + i})), 0);
    EXPECT_EQ(inbox.add(n), 0u);
  }
  const auto c = inbox.counters();
  EXPECT_EQ(c.received, 6u);
  EXPECT_EQ(c.unrouted, 1u);
  EXPECT_EQ(c.dropped, 1u) << "the oldest of client 0 made room";
  const auto all = inbox.read(0, 0, 100);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].text, "1");
  EXPECT_EQ(all[2].text, "3");
  const auto page = inbox.read(0, all[0].id, 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, all[1].id);
  EXPECT_TRUE(inbox.read(0, all[2].id, 100).empty());
  EXPECT_TRUE(inbox.read(7, 0, 100).empty()) << "no such client";
  EXPECT_EQ(inbox.read(1, 0, 100).size(), 1u);
}

}  // namespace
}  // namespace smpp::http
