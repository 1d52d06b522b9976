// POST /v1/messages bodies: what is accepted, and the field and reason of what is not.
#include "smpp/http/send_request.hpp"

#include <gtest/gtest.h>

#include <string>

namespace smpp::http {
namespace {

request_error error_of(std::string_view body, request_limits limits = {}) {
  auto r = parse_send_request(body, limits, 0);
  const auto* e = std::get_if<request_error>(&r);
  return e != nullptr ? *e : request_error{"(accepted)", ""};
}

TEST(SendRequest, AcceptsAListAndEveryOptionalField) {
  auto r =
      parse_send_request(R"({"to":["+441234567","15550001"],"from":"ACME","text":"hi","dlr":false,)"
                         R"("client_ref":"c-1","validity_s":3661})",
                         {}, 0);
  ASSERT_TRUE(std::holds_alternative<send_request>(r));
  const send_request& s = std::get<send_request>(r);
  ASSERT_EQ(s.to.size(), 2u);
  EXPECT_EQ(s.to[0].digits, "441234567");
  EXPECT_EQ(s.to[0].ton, 1);
  EXPECT_EQ(s.to[0].npi, 1);
  ASSERT_TRUE(s.from.has_value());
  EXPECT_EQ(s.from->ton, 5);  // alphanumeric
  EXPECT_EQ(s.from->digits, "ACME");
  EXPECT_FALSE(s.dlr);
  EXPECT_EQ(s.client_ref, "c-1");
  EXPECT_EQ(s.validity_s, 3661u);
  EXPECT_EQ(s.parts.size(), 1u);
}

TEST(SendRequest, BinaryWithPorts) {
  auto r = parse_send_request(
      R"({"to":"1","binary":{"hex":"0106","source_port":9200,"destination_port":2948}})", {}, 0);
  ASSERT_TRUE(std::holds_alternative<send_request>(r));
  EXPECT_EQ(std::get<send_request>(r).parts.at(0).short_message.size(), 9u);
}

TEST(SendRequest, NamesTheFieldAtFault) {
  EXPECT_EQ(error_of("{").field, "body");
  EXPECT_EQ(error_of("[]").field, "body");
  EXPECT_EQ(error_of(R"({"text":"a"})").field, "to");
  EXPECT_EQ(error_of(R"({"to":[],"text":"a"})").field, "to");
  EXPECT_EQ(error_of(R"({"to":["1","2x"],"text":"a"})").field, "to[1]");
  EXPECT_EQ(error_of(R"({"to":"1234567890123456","text":"a"})").field, "to");
  EXPECT_EQ(error_of(R"({"to":"1","text":""})").field, "text");
  EXPECT_EQ(error_of(R"({"to":"1","text":"a","colour":"red"})").field, "colour");
  EXPECT_EQ(error_of(R"({"to":"1"})").field, "text");
  EXPECT_EQ(error_of(R"({"to":"1","text":"a","binary":{"hex":"00"}})").field, "text");
  EXPECT_EQ(error_of(R"({"to":"1","binary":{"hex":"0"}})").field, "binary.hex");
  EXPECT_EQ(error_of(R"({"to":"1","binary":{"hex":"00","source_port":70000}})").field,
            "binary.source_port");
  EXPECT_EQ(error_of(R"({"to":"1","binary":{"hex":"00"},"flash":true})").field, "flash");
  EXPECT_EQ(error_of(R"({"to":"1","text":"a","from":"far too long name"})").field, "from");
  EXPECT_EQ(error_of(R"({"to":"1","text":"a","validity_s":0})").field, "validity_s");
  EXPECT_EQ(error_of(R"({"to":"1","text":"a","dlr":"yes"})").field, "dlr");
  EXPECT_EQ(error_of(R"({"to":"1","text":"a","dlr_url":"ftp://x/"})").field, "dlr_url");
  EXPECT_EQ(error_of(R"({"to":"1","text":"a","wap_push":{"href":"http://a"}})").field, "text");
  EXPECT_EQ(error_of(R"({"to":"1","wap_push":{"href":""}})").field, "wap_push.href");
  EXPECT_EQ(error_of(R"({"to":"1","wap_push":{"href":"http://a","text":"t","action":"x"}})").field,
            "wap_push.action");
  EXPECT_EQ(error_of(R"({"to":"1","wap_push":{"href":"http://a","colour":"x"}})").field,
            "wap_push.colour");
  EXPECT_EQ(error_of(R"({"to":"1","mms_notification":{"location":"http://a","size":-1}})").field,
            "mms_notification.size");
  EXPECT_EQ(error_of(R"({"to":"1","mms_notification":{"location":"http://a","size":1,)"
                     R"("class":"loud"}})")
                .field,
            "mms_notification.class");
}

TEST(SendRequest, WapPushWithTextIsAnSiWithoutAnSlAndMmsGoesToPort2948) {
  auto si = parse_send_request(
      R"({"to":"1","wap_push":{"href":"http://a.example/","text":"hi","action":"signal-low"}})", {},
      0);
  ASSERT_TRUE(std::holds_alternative<send_request>(si)) << std::get<request_error>(si).field;
  const auto& si_sm = std::get<send_request>(si).parts.at(0).short_message;
  // UDH port 2948 from 9200, then the Push PDU: TID, 0x06, headers, content type SIC (0xAE).
  ASSERT_GE(si_sm.size(), 11u);
  EXPECT_EQ(si_sm[3], std::byte{0x0B});
  EXPECT_EQ(si_sm[4], std::byte{0x84});
  EXPECT_EQ(si_sm[8], std::byte{0x06});
  EXPECT_EQ(si_sm[10], std::byte{0xAE});
  auto sl = parse_send_request(R"({"to":"1","wap_push":{"href":"http://a.example/"}})", {}, 0);
  ASSERT_TRUE(std::holds_alternative<send_request>(sl));
  EXPECT_EQ(std::get<send_request>(sl).parts.at(0).short_message.at(10), std::byte{0xB0});
  auto mms = parse_send_request(
      R"({"to":"1","mms_notification":{"location":"http://m.example/1","size":1000,)"
      R"("subject":"Hi","from":"+4471","expiry_s":3600,"class":"informational"}})",
      {}, 0);
  ASSERT_TRUE(std::holds_alternative<send_request>(mms)) << std::get<request_error>(mms).field;
  EXPECT_EQ(std::get<send_request>(mms).parts.at(0).short_message.at(10), std::byte{0xBE});
}

TEST(SendRequest, OverLongTextAndTooManyRecipientsAreRefused) {
  const std::string long_text(153 * 3 + 1, 'a');
  const request_error e =
      error_of(R"({"to":"1","text":")" + long_text + "\"}", request_limits{10, 3});
  EXPECT_EQ(e.field, "text");
  EXPECT_EQ(e.reason, "needs more parts than allowed (3)");
  EXPECT_EQ(error_of(R"({"to":["1","2","3"],"text":"a"})", request_limits{2, 10}).reason,
            "lists at most 2 recipients (got 3)");
}

TEST(SendRequest, RelativeValidityIsSmppRelativeTime) {
  // SMPP 3.4 §7.1.2: YYMMDDhhmmsstnnp with p = 'R'.
  EXPECT_EQ(relative_time(3661), "000000010101000R");
  EXPECT_EQ(relative_time(86400 * 2 + 59), "000002000059000R");
}

TEST(SendRequest, ScheduleAtIsAUtcTime) {
  EXPECT_EQ(parse_utc_time("1970-01-02T00:00:01Z"), 86401000);
  EXPECT_EQ(parse_utc_time("2026-12-07T12:00:00Z"), 1796644800000);  // date -u -d ... +%s
  EXPECT_FALSE(parse_utc_time("2026-02-30T00:00:00Z").has_value());
  EXPECT_FALSE(parse_utc_time("2026-12-07 12:00:00Z").has_value());
  EXPECT_FALSE(parse_utc_time("2026-12-07T12:00:00+01:00").has_value());
  EXPECT_EQ(error_of(R"({"to":"1","text":"a","schedule_at":"tomorrow"})").field, "schedule_at");
}

TEST(SendRequest, SendersAreNumbersOrShortAlphanumerics) {
  EXPECT_EQ(parse_sender("+4412")->ton, 1);
  EXPECT_EQ(parse_sender("Shop-1")->ton, 5);
  EXPECT_FALSE(parse_sender("").has_value());
  EXPECT_FALSE(parse_sender("twelve chars").has_value());
  EXPECT_FALSE(parse_sender("a{b}").has_value());
}

}  // namespace
}  // namespace smpp::http
