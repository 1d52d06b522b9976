// Price lists: the parallel build equals the sequential reference on random data and its
// lookups equal the longest-prefix match of a plain map, prices parsed exactly, file errors with
// name and line in both builds, duplicates, and the size bound.
#include "smpp/control/price_builder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace smpp::control {
namespace {

using dataplane::no_price;
using dataplane::price_micros;
using dataplane::price_table;

// `count` distinct random prefixes (0..16 digits, nested within a few country codes so that
// many are prefixes of others), each with a price.
std::map<std::string, price_micros> random_list(std::mt19937_64& rng, size_t count) {
  std::map<std::string, price_micros> out;
  const char* const roots[] = {"44", "447", "33", "49", "1", ""};
  while (out.size() < count) {
    std::string p = roots[rng() % 6];
    const size_t more = rng() % 9;
    for (size_t i = 0; i < more && p.size() < 16; ++i) p += static_cast<char>('0' + rng() % 10);
    out[p] = static_cast<price_micros>(rng() % 100'000'000);
  }
  return out;
}

std::string price_text(price_micros p) {
  std::string frac = std::to_string(p % 1'000'000);
  frac.insert(0, 6 - frac.size(), '0');
  return std::to_string(p / 1'000'000) + "." + frac;
}

std::string text_of(const std::map<std::string, price_micros>& list, std::mt19937_64& rng) {
  std::vector<std::pair<std::string, price_micros>> lines(list.begin(), list.end());
  std::shuffle(lines.begin(), lines.end(), rng);
  std::string text = "# PREFIX,PRICE\n";
  for (const auto& [p, price] : lines) {
    text += (rng() % 2 ? "+" : "") + p + "," + price_text(price) + (rng() % 5 ? "\n" : "\r\n");
    if (rng() % 50 == 0) text += "\n";
  }
  return text;
}

// The reference lookup: every prefix of the destination, longest first, in the map.
price_micros longest_match(const std::map<std::string, price_micros>& list, const std::string& d) {
  for (size_t len = std::min<size_t>(d.size(), 16) + 1; len-- > 0;) {
    if (auto it = list.find(d.substr(0, len)); it != list.end()) return it->second;
  }
  return no_price;
}

void expect_same(const price_table& a, const price_table& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a.entries()[i].key, b.entries()[i].key) << i;
    EXPECT_EQ(a.entries()[i].price, b.entries()[i].price) << i;
    EXPECT_EQ(a.entries()[i].parent, b.entries()[i].parent) << i;
  }
}

TEST(PriceBuilder, ParallelBuildEqualsTheSequentialReferenceAndLookupsTheLongestMatch) {
  for (const uint64_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    const auto list = random_list(rng, 20'000 + seed * 1000);
    const std::string text = text_of(list, rng);
    // Small pieces: many tasks, lines numbered across piece boundaries.
    const price_build_result par = build_price_table("p.csv", text, {.chunk_bytes = 4096});
    const price_build_result seq = build_price_table_sequential("p.csv", text);
    ASSERT_TRUE(par.ok()) << par.error;
    ASSERT_TRUE(seq.ok()) << seq.error;
    EXPECT_EQ(par.table->size(), list.size());
    expect_same(*par.table, *seq.table);
    std::vector<std::string> listed;
    for (const auto& [p, price] : list) listed.push_back(p);
    for (int i = 0; i < 20'000; ++i) {
      std::string d = (rng() % 3 == 0) ? "" : listed[rng() % listed.size()];
      const size_t more = rng() % 12;
      for (size_t k = 0; k < more; ++k) d += static_cast<char>('0' + rng() % 10);
      ASSERT_EQ(par.table->lookup(d), longest_match(list, d)) << d;
      ASSERT_EQ(par.table->lookup("+" + d), longest_match(list, d)) << d;
    }
  }
}

TEST(PriceBuilder, WithoutAnEmptyPrefixADestinationOutsideTheListHasNoPrice) {
  const price_build_result r = build_price_table("p.csv", "44,0.02\n4477,0.015\n33,0.1\n");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.table->lookup("447712345678"), 15'000u);
  EXPECT_EQ(r.table->lookup("447612345678"), 20'000u);
  EXPECT_EQ(r.table->lookup("4"), no_price);
  EXPECT_EQ(r.table->lookup("491234"), no_price);
  EXPECT_EQ(r.table->lookup("34"), no_price);
  EXPECT_EQ(r.table->lookup(""), no_price);
  EXPECT_EQ(price_table().lookup("44"), no_price);
  const price_build_result all = build_price_table("p.csv", ",0.5\n44,0.02\n");
  ASSERT_TRUE(all.ok()) << all.error;
  EXPECT_EQ(all.table->lookup("491234"), 500'000u);
  EXPECT_EQ(all.table->lookup("4412"), 20'000u);
}

TEST(PriceBuilder, PricesAreParsedExactlyAndAnythingElseIsRefused) {
  EXPECT_EQ(parse_price("0"), 0u);
  EXPECT_EQ(parse_price("0.0123"), 12'300u);
  EXPECT_EQ(parse_price("12.000001"), 12'000'001u);
  EXPECT_EQ(parse_price("4294.967294"), 4'294'967'294u);
  for (const char* bad : {"", "4294.967295", "99999999999", "1.", ".5", "1.0000001", "-1", "1e3",
                          "0,1", " 1", "1 "}) {
    EXPECT_EQ(parse_price(bad), no_price) << bad;
  }
}

TEST(PriceBuilder, AFileErrorNamesTheFileAndLineInBothBuilds) {
  const std::string text = "# list\n44,0.01\n\n4a4,0.02\n";
  const std::string want =
      "p.csv:4: the prefix must be 0..16 digits (an optional '+' first), got \"4a4\"";
  EXPECT_EQ(build_price_table("p.csv", text, {.chunk_bytes = 8}).error, want);
  EXPECT_EQ(build_price_table_sequential("p.csv", text).error, want);
  EXPECT_EQ(build_price_table("p.csv", "44\n").error, "p.csv:1: expected PREFIX,PRICE");
  EXPECT_EQ(build_price_table("p.csv", "44,0.01\n45,cheap\n").error,
            "p.csv:2: the price must be a decimal 0..4294.967294 with at most 6 digits after the "
            "point, got \"cheap\"");
  EXPECT_EQ(build_price_table("p.csv", "12345678901234567,1\n").error,
            "p.csv:1: the prefix must be 0..16 digits (an optional '+' first), got "
            "\"12345678901234567\"");
}

TEST(PriceBuilder, APrefixListedTwiceIsAnErrorAtItsSecondLineInBothBuilds) {
  const std::string text = "44,0.01\n33,0.02\n49,0.03\n+44,0.04\n";
  const std::string want =
      "p.csv:4: the prefix is listed a second time (first at line 1); each prefix is listed once";
  EXPECT_EQ(build_price_table("p.csv", text, {.chunk_bytes = 8}).error, want);
  EXPECT_EQ(build_price_table_sequential("p.csv", text).error, want);
}

TEST(PriceBuilder, MorePrefixesThanTheBoundFailTheBuild) {
  const std::string text = "1,1\n2,1\n3,1\n";
  EXPECT_TRUE(build_price_table("p.csv", text, {.max_entries = 3}).ok());
  EXPECT_EQ(build_price_table("p.csv", text, {.max_entries = 2}).error,
            "p.csv: more than 2 prefixes in the price list");
  EXPECT_EQ(build_price_table_sequential("p.csv", text, {.max_entries = 2}).error,
            "p.csv: more than 2 prefixes in the price list");
}

}  // namespace
}  // namespace smpp::control
