// Campaign CSV (RFC 4180 fields, line numbers of broken rows, the row bound) and the template.
#include "smpp/http/campaign_csv.hpp"

#include <gtest/gtest.h>

namespace smpp::http {
namespace {

TEST(CampaignCsv, QuotedFieldsCrLfAndBrokenRowsWithTheirLines) {
  const auto r = read_campaign_csv(
      "number,name,note\r\n"
      "+447700900001,\"Smith, Ann\",\"say \"\"hi\"\"\"\r\n"
      "\n"
      "447700900002,\"two\nlines\",x\n"
      "12a,Bob,x\n"
      "447700900003,Eve\n"
      "447700900004,Zed,y\n",
      10);
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0].line, 2u);
  EXPECT_EQ(r.rows[0].number, "447700900001");
  EXPECT_EQ(r.rows[0].columns.at("name"), "Smith, Ann");
  EXPECT_EQ(r.rows[0].columns.at("note"), "say \"hi\"");
  EXPECT_EQ(r.rows[1].line, 4u);
  EXPECT_EQ(r.rows[1].columns.at("name"), "two\nlines");
  EXPECT_EQ(r.rows[2].line, 8u);
  ASSERT_EQ(r.faults.size(), 2u);
  EXPECT_EQ(r.faults[0].line, 6u);
  EXPECT_EQ(r.faults[0].reason, "'12a' is not a number (1..15 digits)");
  EXPECT_EQ(r.faults[1].line, 7u);
  EXPECT_EQ(r.faults[1].reason, "2 fields, the header has 3");
}

TEST(CampaignCsv, RowsBeyondTheBoundAndAnOpenQuoteAreFaults) {
  const auto r = read_campaign_csv("n\n1\n2\n3\n\"4\n", 2);
  EXPECT_EQ(r.rows.size(), 2u);
  ASSERT_EQ(r.faults.size(), 2u);
  EXPECT_EQ(r.faults[0].line, 4u);
  EXPECT_EQ(r.faults[0].reason, "beyond 2 rows");
  EXPECT_EQ(r.faults[1].line, 5u);
  EXPECT_EQ(r.faults[1].reason, "a quoted field is not closed");
  EXPECT_EQ(read_campaign_csv("", 10).faults.at(0).line, 1u);
}

TEST(CampaignCsv, TheTemplateTakesColumnsAndEscapedBraces) {
  campaign_row row;
  row.columns = {{"name", "Ann"}, {"n", "3"}};
  std::string out;
  std::string missing;
  ASSERT_TRUE(fill_template("Hi {name}, {n} {{left}} }", row, out, missing));
  EXPECT_EQ(out, "Hi Ann, 3 {left} }");
  EXPECT_FALSE(fill_template("Hi {surname}", row, out, missing));
  EXPECT_EQ(missing, "surname");
}

}  // namespace
}  // namespace smpp::http
