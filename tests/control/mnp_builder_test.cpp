// The number portability index: the parallel build equals the sequential reference on random
// data, lookups, the file errors with file and line, the size bound, and deltas.
#include "smpp/control/mnp_builder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace smpp::control {
namespace {

using dataplane::mnp_index;
using dataplane::no_network;

network_ids three_networks() {
  network_ids ids;
  ids.emplace("red", uint16_t{0});
  ids.emplace("green", uint16_t{1});
  ids.emplace("blue", uint16_t{2});
  return ids;
}

const char* const kNames[] = {"red", "green", "blue"};

// `count` distinct random numbers in a few number plans (11 to 15 digits), with a network each.
std::map<uint64_t, uint16_t> random_table(std::mt19937_64& rng, size_t count) {
  std::map<uint64_t, uint16_t> out;
  const uint64_t plans[][2] = {{447000000000, 447999999999},
                               {33600000000, 33799999999},
                               {491500000000000, 491799999999999},
                               {12025550000, 12025559999}};
  while (out.size() < count) {
    const auto& p = plans[rng() % 4];
    out[p[0] + rng() % (p[1] - p[0] + 1)] = static_cast<uint16_t>(rng() % 3);
  }
  return out;
}

std::string text_of(const std::map<uint64_t, uint16_t>& table, std::mt19937_64& rng) {
  std::vector<std::pair<uint64_t, uint16_t>> lines(table.begin(), table.end());
  std::shuffle(lines.begin(), lines.end(), rng);
  std::string text = "# MSISDN,NETWORK\n";
  for (const auto& [k, n] : lines) {
    text +=
        (rng() % 2 ? "+" : "") + std::to_string(k) + "," + kNames[n] + (rng() % 5 ? "\n" : "\r\n");
  }
  return text;
}

void expect_same_index(const mnp_index& a, const mnp_index& b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.bucket_shift(), b.bucket_shift());
  EXPECT_TRUE(std::equal(a.entries().begin(), a.entries().end(), b.entries().begin()));
  ASSERT_EQ(a.buckets().size(), b.buckets().size());
  for (size_t i = 0; i < a.buckets().size(); ++i) {
    const auto& x = a.buckets()[i];
    const auto& y = b.buckets()[i];
    ASSERT_TRUE(x.base == y.base && x.first == y.first && x.slot == y.slot &&
                x.slot_count == y.slot_count && x.shift == y.shift)
        << "bucket " << i;
  }
  ASSERT_EQ(a.slots().size(), b.slots().size());
  EXPECT_TRUE(std::equal(a.slots().begin(), a.slots().end(), b.slots().begin()));
}

TEST(MnpBuilder, ParallelBuildEqualsTheSequentialReferenceOnRandomData) {
  std::mt19937_64 rng(18);
  const network_ids ids = three_networks();
  for (int round = 0; round < 20; ++round) {
    const size_t count = 1 + rng() % 5000;
    const auto table = random_table(rng, count);
    // Split over two files at a random line.
    const std::string all = text_of(table, rng);
    const size_t cut = all.find('\n', rng() % all.size()) + 1;
    const std::string first = all.substr(0, cut);
    const std::string second = all.substr(std::min(cut, all.size()));
    const mnp_text files[] = {{"a.csv", first}, {"b.csv", second}};
    mnp_build_options small_chunks;
    small_chunks.chunk_bytes = 1 + rng() % 4096;  // many chunks, cut mid-line
    const mnp_build_result par = build_mnp_index(files, ids, small_chunks);
    const mnp_build_result seq = build_mnp_index_sequential(files, ids);
    ASSERT_TRUE(par.ok()) << par.error;
    ASSERT_TRUE(seq.ok()) << seq.error;
    ASSERT_EQ(par.index->size(), count);
    expect_same_index(*par.index, *seq.index);
    EXPECT_LE(par.index->bytes(), 16 * count + 32);  // at most 16 bytes per number (+1 bucket)
    for (const auto& [k, n] : table) {
      ASSERT_EQ(par.index->lookup(k), n) << k;
      ASSERT_EQ(par.index->lookup("+" + std::to_string(k)), n) << k;
      for (const uint64_t near : {k - 1, k + 1}) {
        if (table.count(near) == 0) {
          ASSERT_EQ(par.index->lookup(near), no_network) << near;
        }
      }
    }
  }
}

TEST(MnpBuilder, LookupRefusesWhatIsNoMsisdnAndKeysOutsideTheRange) {
  const network_ids ids = three_networks();
  const std::string text = "447700900123,red\n447700900125,blue\n";
  const mnp_text files[] = {{"t.csv", text}};
  const mnp_build_result r = build_mnp_index(files, ids);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.index->lookup("447700900123"), 0);
  EXPECT_EQ(r.index->lookup("447700900125"), 2);
  EXPECT_EQ(r.index->lookup("447700900124"), no_network);
  EXPECT_EQ(r.index->lookup("0447700900123"), no_network);     // leading zero
  EXPECT_EQ(r.index->lookup("44770090012x"), no_network);      // not digits
  EXPECT_EQ(r.index->lookup("4477009001230000"), no_network);  // 16 digits
  EXPECT_EQ(r.index->lookup(""), no_network);
  EXPECT_EQ(r.index->lookup(uint64_t{1}), no_network);                // below the range
  EXPECT_EQ(r.index->lookup(uint64_t{999999999999999}), no_network);  // above it
  const mnp_index empty;
  EXPECT_EQ(empty.lookup("447700900123"), no_network);
  const mnp_build_result none = build_mnp_index({}, ids);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.index->size(), 0u);
  EXPECT_EQ(none.index->lookup("447700900123"), no_network);
}

struct bad_file {
  const char* what;
  std::string text;
  std::string error;
};

TEST(MnpBuilder, AFileErrorNamesTheFileAndLineInBothBuilds) {
  const network_ids ids = three_networks();
  std::string many;
  for (int i = 0; i < 3000; ++i) many += std::to_string(447700000000 + i) + ",red\n";
  const bad_file cases[] = {
      {"no comma", "447700900123,red\n447700900124 red\n", "t.csv:2: expected MSISDN,NETWORK"},
      {"leading zero", "\n07700900123,red\n",
       "t.csv:2: the MSISDN must be 1..15 digits without a leading zero (an optional '+' first), "
       "got \"07700900123\""},
      {"16 digits", "4477009001231234,red\n",
       "t.csv:1: the MSISDN must be 1..15 digits without a leading zero (an optional '+' first), "
       "got \"4477009001231234\""},
      {"unknown network", "447700900123,purple\n",
       "t.csv:1: unknown network \"purple\": not the name of a [[networks]] entry"},
      {"removal in a full file", "447700900123,-\n",
       "t.csv:1: unknown network \"-\": not the name of a [[networks]] entry"},
      {"listed twice", "447700900123,red\n447700900124,red\n+447700900123,blue\n",
       "t.csv:3: the MSISDN 447700900123 is listed a second time (a full file lists each number "
       "once)"},
      {"error far into the file", many + "447799999999,red\nx,red\n", "t.csv:3002: the MSISDN"},
  };
  for (const bad_file& c : cases) {
    const mnp_text files[] = {{"t.csv", c.text}};
    mnp_build_options small_chunks;
    small_chunks.chunk_bytes = 100;
    const mnp_build_result par = build_mnp_index(files, ids, small_chunks);
    const mnp_build_result seq = build_mnp_index_sequential(files, ids);
    EXPECT_FALSE(par.ok()) << c.what;
    EXPECT_EQ(par.error.substr(0, c.error.size()), c.error) << c.what;
    EXPECT_EQ(seq.error.substr(0, c.error.size()), c.error) << c.what;
  }
}

TEST(MnpBuilder, ANumberInTwoFilesIsAnErrorAtTheSecond) {
  const network_ids ids = three_networks();
  const mnp_text files[] = {{"a.csv", "447700900123,red\n"},
                            {"b.csv", "447700900124,red\n447700900123,red\n"}};
  const mnp_build_result r = build_mnp_index(files, ids);
  EXPECT_EQ(r.error.substr(0, 40), "b.csv:2: the MSISDN 447700900123 is list");
}

TEST(MnpBuilder, MoreNumbersThanTheBoundFailTheBuild) {
  const network_ids ids = three_networks();
  const std::string text = "447700900121,red\n447700900122,red\n447700900123,red\n";
  const mnp_text files[] = {{"t.csv", text}};
  mnp_build_options bound;
  bound.max_entries = 3;
  EXPECT_TRUE(build_mnp_index(files, ids, bound).ok());
  EXPECT_TRUE(build_mnp_index_sequential(files, ids, bound).ok());
  bound.max_entries = 2;
  const std::string expected = "more than 2 numbers in the number portability table";
  EXPECT_EQ(build_mnp_index(files, ids, bound).error, expected);
  EXPECT_EQ(build_mnp_index_sequential(files, ids, bound).error, expected);
  // A delta that would grow the table past the bound fails too; one that does not, passes.
  bound.max_entries = 3;
  const auto base = build_mnp_index(files, ids, bound).index;
  const mnp_text grow[] = {{"d.csv", "447700900124,red\n"}};
  EXPECT_EQ(apply_mnp_deltas(*base, grow, ids, bound).error,
            "more than 3 numbers in the number portability table");
  const mnp_text swap[] = {{"d.csv", "447700900124,red\n447700900121,-\n"}};
  const mnp_build_result swapped = apply_mnp_deltas(*base, swap, ids, bound);
  ASSERT_TRUE(swapped.ok()) << swapped.error;
  EXPECT_EQ(swapped.index->size(), 3u);
}

TEST(MnpBuilder, DeltasSetAndRemoveNumbersTheLastLineWinningAndLeaveTheBaseAsItWas) {
  std::mt19937_64 rng(1818);
  const network_ids ids = three_networks();
  for (int round = 0; round < 10; ++round) {
    auto table = random_table(rng, 1 + rng() % 4000);
    const std::string base_text = text_of(table, rng);
    const mnp_text base_files[] = {{"base.csv", base_text}};
    const auto base = build_mnp_index(base_files, ids).index;
    ASSERT_NE(base, nullptr);
    const std::vector<uint64_t> base_entries(base->entries().begin(), base->entries().end());

    // Two delta files: new numbers, changed networks, removals of present and absent numbers,
    // and numbers changed twice.
    std::vector<uint64_t> keys;
    for (const auto& [k, n] : table) keys.push_back(k);
    const auto fresh = random_table(rng, 1 + rng() % 2000);
    std::string deltas[2];
    std::map<uint64_t, uint16_t> expected = table;
    const size_t changes = 1 + rng() % 3000;
    for (size_t i = 0; i < changes; ++i) {
      const uint64_t k =
          rng() % 3 == 0 ? std::next(fresh.begin(), static_cast<long>(rng() % fresh.size()))->first
                         : keys[rng() % keys.size()];
      const bool remove = rng() % 4 == 0;
      deltas[i < changes / 2 ? 0 : 1] +=
          std::to_string(k) + "," + (remove ? "-" : kNames[rng() % 3]) + "\n";
    }
    // Replay in file order to get what must come out: the last change of each number counts.
    uint64_t absent_removals = 0;
    std::map<uint64_t, int> final_change;
    for (const std::string& d : deltas) {
      size_t at = 0;
      while (at < d.size()) {
        const size_t end = d.find('\n', at);
        const std::string line = d.substr(at, end - at);
        const size_t comma = line.find(',');
        const uint64_t k = std::stoull(line.substr(0, comma));
        const std::string name = line.substr(comma + 1);
        final_change[k] = name == "-" ? -1 : ids.find(name)->second;
        at = end + 1;
      }
    }
    for (const auto& [k, n] : final_change) {
      if (n < 0) {
        if (expected.erase(k) == 0) ++absent_removals;
      } else {
        expected[k] = static_cast<uint16_t>(n);
      }
    }
    const mnp_text delta_files[] = {{"d1.csv", deltas[0]}, {"d2.csv", deltas[1]}};
    mnp_build_options small_chunks;
    small_chunks.chunk_bytes = 1 + rng() % 2048;
    const mnp_build_result r = apply_mnp_deltas(*base, delta_files, ids, small_chunks);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.changes, final_change.size());
    EXPECT_EQ(r.removals_absent, absent_removals);
    // The same index as a full build of the expected table.
    const std::string expected_text = text_of(expected, rng);
    const mnp_text expected_files[] = {{"e.csv", expected_text}};
    const auto reference = build_mnp_index_sequential(expected_files, ids).index;
    expect_same_index(*r.index, *reference);
    EXPECT_TRUE(std::equal(base_entries.begin(), base_entries.end(), base->entries().begin()));
  }
}

TEST(MnpBuilder, ADeltaErrorNamesItsFileAndLine) {
  const network_ids ids = three_networks();
  const mnp_text base_files[] = {{"base.csv", "447700900123,red\n"}};
  const auto base = build_mnp_index(base_files, ids).index;
  const mnp_text deltas[] = {{"d1.csv", "447700900124,blue\n"},
                             {"d2.csv", "447700900125,-\n447700900126,mauve\n"}};
  EXPECT_EQ(apply_mnp_deltas(*base, deltas, ids).error,
            "d2.csv:2: unknown network \"mauve\": not the name of a [[networks]] entry (\"-\" "
            "removes the number)");
}

}  // namespace
}  // namespace smpp::control
