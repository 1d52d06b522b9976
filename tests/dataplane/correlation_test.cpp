// The message-id correlation table: id variants, upstream / tenant separation, TTL, the full
// table, replacement, a differential test against a std::unordered_map model, probe lengths,
// and no allocation after construction.
#include "smpp/dataplane/correlation.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "alloc_counter.hpp"

namespace smpp::dataplane {
namespace {

using codec::id_radix;
using codec::receipt_error;
using namespace std::string_view_literals;

// A fixed secret keeps the tests reproducible; production uses correlation_secret::random().
correlation_secret test_secret() {
  correlation_secret s;
  for (std::size_t i = 0; i < s.bytes.size(); ++i) s.bytes[i] = static_cast<unsigned char>(i * 7);
  return s;
}

correlation_key key_of(std::string_view id, id_radix radix = id_radix::auto_detect) {
  const correlation_key_result r = make_correlation_key(id, radix, test_secret());
  EXPECT_TRUE(r.ok()) << "id '" << id << "': " << codec::to_string(r.error);
  return r.key;
}

constexpr correlation_key number_key(std::uint64_t n) {
  return {n, 0};
}

// --- Keys --------------------------------------------------------------------------------------

struct id_pair {
  std::string_view name;
  std::string_view stored;  // as the submit_sm_resp carried it
  id_radix stored_radix;
  std::string_view quoted;  // as the receipt / query_sm quotes it
  id_radix quoted_radix;
};

// Every variant the table promises to match (dataplane/README.md lists the same).
const id_pair matching_variants[] = {
    {"hex_resp_decimal_receipt", "38601fa", id_radix::auto_detect, "59113978",
     id_radix::auto_detect},
    {"decimal_resp_hex_receipt", "59113978", id_radix::auto_detect, "38601FA",
     id_radix::auto_detect},
    {"decimal_zero_padding", "59113978", id_radix::auto_detect, "0059113978",
     id_radix::auto_detect},
    {"hex_zero_padding", "38601fa", id_radix::auto_detect, "00038601fa", id_radix::auto_detect},
    {"hex_case", "38601FA", id_radix::auto_detect, "38601fa", id_radix::auto_detect},
    {"hex_0x_prefix", "0x38601FA", id_radix::auto_detect, "38601fa", id_radix::auto_detect},
    {"hex_0X_prefix_and_padding", "0X0038601fa", id_radix::auto_detect, "0059113978",
     id_radix::auto_detect},
    {"surrounding_blanks", " \t59113978 ", id_radix::auto_detect, "59113978",
     id_radix::auto_detect},
    {"trailing_nul_and_garbage", "59113978\0junk"sv, id_radix::auto_detect, "59113978",
     id_radix::auto_detect},
    {"zero", "0", id_radix::auto_detect, "0000", id_radix::auto_detect},
    {"largest_64_bit_number", "18446744073709551615", id_radix::auto_detect, "ffffffffffffffff",
     id_radix::auto_detect},
    {"all_digit_hex_with_radix_hex", "10", id_radix::hex, "16", id_radix::auto_detect},
    {"all_digit_hex_both_radix_hex", "0010", id_radix::hex, "0x10", id_radix::hex},
    {"decimal_radix_vs_auto", "0042", id_radix::decimal, "42", id_radix::auto_detect},
    {"text_case", "ABC-01", id_radix::auto_detect, "abc-01", id_radix::auto_detect},
    {"text_leading_zeros", "00abc-01", id_radix::auto_detect, "abc-01", id_radix::auto_detect},
    {"text_blanks_and_nul", " Msg-7F\0"sv, id_radix::auto_detect, "msg-7f", id_radix::auto_detect},
    {"uuid_case", "3F2504E0-4F89-11D3-9A0C-0305E82C3301", id_radix::auto_detect,
     "3f2504e0-4f89-11d3-9a0c-0305e82c3301", id_radix::auto_detect},
    {"decimal_beyond_64_bits_padding", "000123456789012345678901234", id_radix::auto_detect,
     "123456789012345678901234", id_radix::auto_detect},
    {"hex_beyond_64_bits_prefix_case_padding", "0x00A1B2C3D4E5F6A7B8C9", id_radix::auto_detect,
     "a1b2c3d4e5f6a7b8c9", id_radix::auto_detect},
    {"radix_text_zero_padding", "000777", id_radix::text, "777", id_radix::auto_detect},
};

// Variants that must stay apart.
const id_pair distinct_variants[] = {
    {"all_digit_hex_without_radix", "10", id_radix::auto_detect, "16", id_radix::auto_detect},
    {"neighbouring_numbers", "59113978", id_radix::auto_detect, "59113979", id_radix::auto_detect},
    {"inner_zero_kept", "abc-01", id_radix::auto_detect, "abc-1", id_radix::auto_detect},
    {"trailing_zero_kept", "59113978", id_radix::auto_detect, "591139780", id_radix::auto_detect},
    {"text_one_letter", "msg-a", id_radix::auto_detect, "msg-b", id_radix::auto_detect},
    {"decimal_beyond_64_bits_last_digit", "123456789012345678901234", id_radix::auto_detect,
     "123456789012345678901235", id_radix::auto_detect},
    {"hex_radix_vs_decimal_reading", "10", id_radix::hex, "10", id_radix::decimal},
    {"inner_blank_kept", "ab c", id_radix::auto_detect, "abc", id_radix::auto_detect},
};

TEST(correlation_key, every_documented_variant_matches_in_the_table) {
  for (const id_pair& v : matching_variants) {
    SCOPED_TRACE(v.name);
    const correlation_key stored = key_of(v.stored, v.stored_radix);
    const correlation_key quoted = key_of(v.quoted, v.quoted_radix);
    EXPECT_EQ(stored, quoted);
    correlation_table table(16, 1000);
    ASSERT_EQ(table.insert(stored, {3, 4, 5}, 0), correlation_insert::inserted);
    const auto hit = table.find(quoted, 3, 1);
    ASSERT_TRUE(hit.has_value());
    EXPECT_EQ(*hit, (correlation_value{3, 4, 5}));
  }
}

TEST(correlation_key, distinct_ids_do_not_match) {
  for (const id_pair& v : distinct_variants) {
    SCOPED_TRACE(v.name);
    const correlation_key stored = key_of(v.stored, v.stored_radix);
    const correlation_key quoted = key_of(v.quoted, v.quoted_radix);
    EXPECT_NE(stored, quoted);
    correlation_table table(16, 1000);
    ASSERT_EQ(table.insert(stored, {3, 4, 5}, 0), correlation_insert::inserted);
    EXPECT_FALSE(table.find(quoted, 3, 1).has_value());
  }
}

TEST(correlation_key, numbers_are_kept_exactly_and_text_is_marked) {
  EXPECT_EQ(key_of("59113978"), number_key(59113978));
  EXPECT_EQ(key_of("0x38601fa"), number_key(0x38601fa));
  EXPECT_EQ(key_of("18446744073709551615"), number_key(UINT64_MAX));
  const correlation_key text = key_of("abc-01");
  EXPECT_FALSE(text.is_number());
  EXPECT_NE(text.hi & (std::uint64_t{1} << 63), 0u);
  // Beyond 64 bits is text too.
  EXPECT_FALSE(key_of("18446744073709551616").is_number());
}

TEST(correlation_key, text_fingerprints_depend_on_the_secret_numbers_do_not) {
  correlation_secret other = test_secret();
  other.bytes[0] ^= 1;
  const auto a = make_correlation_key("abc-01", id_radix::auto_detect, test_secret());
  const auto b = make_correlation_key("abc-01", id_radix::auto_detect, other);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a.key, b.key);
  const auto c = make_correlation_key("12345", id_radix::auto_detect, other);
  EXPECT_EQ(c.key, key_of("12345"));
  const correlation_secret r1 = correlation_secret::random();
  const correlation_secret r2 = correlation_secret::random();
  EXPECT_NE(r1.bytes, r2.bytes);
}

TEST(correlation_key, empty_and_oversized_ids_are_errors) {
  const correlation_secret s = test_secret();
  EXPECT_EQ(make_correlation_key("", id_radix::auto_detect, s).error, receipt_error::empty_id);
  EXPECT_EQ(make_correlation_key(" \t ", id_radix::auto_detect, s).error, receipt_error::empty_id);
  EXPECT_EQ(make_correlation_key("\0abc"sv, id_radix::auto_detect, s).error,
            receipt_error::empty_id);
  const std::string longest(codec::max_message_id_size, 'a');
  EXPECT_TRUE(make_correlation_key(longest, id_radix::auto_detect, s).ok());
  EXPECT_EQ(make_correlation_key(longest + "b", id_radix::auto_detect, s).error,
            receipt_error::id_too_long);
}

TEST(correlation_owner, depends_on_the_id_only_and_spreads_over_workers) {
  EXPECT_EQ(correlation_owner(key_of("38601fa"), 7), correlation_owner(key_of("0059113978"), 7));
  EXPECT_EQ(correlation_owner(key_of("anything"), 1), 0u);
  constexpr std::size_t workers = 4;
  constexpr std::size_t keys = 100'000;
  std::array<std::size_t, workers> per_worker{};
  for (std::size_t i = 0; i < keys; ++i) {
    const std::size_t owner = correlation_owner(number_key(static_cast<std::uint64_t>(i)), workers);
    ASSERT_LT(owner, workers);
    ++per_worker[owner];
  }
  for (const std::size_t n : per_worker) {
    EXPECT_GT(n, keys / workers * 95 / 100);
    EXPECT_LT(n, keys / workers * 105 / 100);
  }
}

// --- Table -------------------------------------------------------------------------------------

TEST(correlation_table, bad_capacity_or_ttl_is_rejected_at_construction) {
  EXPECT_THROW(correlation_table(0, 1000), std::invalid_argument);
  EXPECT_THROW(correlation_table(correlation_table::max_capacity + 1, 1000), std::invalid_argument);
  EXPECT_THROW(correlation_table(16, 0), std::invalid_argument);
  EXPECT_NO_THROW(correlation_table(1, 1));
}

TEST(correlation_table, default_size_fits_one_gigabyte_over_any_worker_count) {
  // Bytes per live entry: 40 (entry) + 2 index slots of 8 bytes = 56, plus each of the two
  // arrays rounded up to whole pages (2 MiB ones when the array is that large).
  for (const std::size_t cap : {std::size_t{1}, std::size_t{1000}, std::size_t{1'000'000}}) {
    const std::size_t logical = cap * 56 + (correlation_table::max_probe_distance + 1) * 8;
    EXPECT_GE(correlation_table::memory_bytes_for(cap), logical);
    EXPECT_LE(correlation_table::memory_bytes_for(cap), logical + 2 * (std::size_t{2} << 20));
  }
  for (std::size_t workers = 1; workers <= 64; ++workers) {
    const std::size_t per_shard = correlation_shard_capacity(default_correlation_capacity, workers);
    EXPECT_GE(per_shard * workers, default_correlation_capacity);
    EXPECT_LE(correlation_table::memory_bytes_for(per_shard) * workers, 1'000'000'000u)
        << workers << " workers";
  }
  const correlation_table table(1000, 1000);
  EXPECT_EQ(table.memory_bytes(), correlation_table::memory_bytes_for(1000));
}

TEST(correlation_table, same_id_on_two_upstreams_is_kept_apart) {
  correlation_table table(16, 1000);
  const correlation_key id = key_of("38601fa");
  ASSERT_EQ(table.insert(id, {1, 10, 100}, 0), correlation_insert::inserted);
  ASSERT_EQ(table.insert(id, {2, 20, 200}, 0), correlation_insert::inserted);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.find(id, 1, 1), (correlation_value{1, 10, 100}));
  EXPECT_EQ(table.find(id, 2, 1), (correlation_value{2, 20, 200}));
  EXPECT_FALSE(table.find(id, 3, 1).has_value());
  EXPECT_TRUE(table.erase(id, 1));
  EXPECT_FALSE(table.erase(id, 1));
  EXPECT_FALSE(table.find(id, 1, 1).has_value());
  EXPECT_EQ(table.find(id, 2, 1), (correlation_value{2, 20, 200}));
  EXPECT_EQ(table.stats().hits, 3u);
  EXPECT_EQ(table.stats().misses, 2u);
  EXPECT_EQ(table.stats().erased, 1u);
  EXPECT_EQ(table.stats().live, 1u);
  EXPECT_TRUE(table.check_invariants());
}

TEST(correlation_table, find_for_tenant_matches_id_and_tenant_on_any_upstream) {
  correlation_table table(16, 1000);
  const correlation_key id = key_of("msg-1");
  ASSERT_EQ(table.insert(id, {1, 10, 100}, 0), correlation_insert::inserted);
  ASSERT_EQ(table.insert(id, {2, 20, 200}, 0), correlation_insert::inserted);
  ASSERT_EQ(table.insert(key_of("msg-2"), {3, 30, 300}, 0), correlation_insert::inserted);
  EXPECT_EQ(table.find_for_tenant(id, 20, 1), (correlation_value{2, 20, 200}));
  EXPECT_EQ(table.find_for_tenant(id, 10, 1), (correlation_value{1, 10, 100}));
  EXPECT_FALSE(table.find_for_tenant(id, 30, 1).has_value());  // tenant 30 has msg-2 only
  EXPECT_EQ(table.stats().hits, 2u);
  EXPECT_EQ(table.stats().misses, 1u);

  // Two upstreams issued the same id to one tenant: the earliest stored live one answers, and an
  // expired one is removed on the way.
  correlation_table shared(16, 1000);
  ASSERT_EQ(shared.insert(id, {1, 10, 1}, 0), correlation_insert::inserted);
  ASSERT_EQ(shared.insert(id, {2, 10, 2}, 500), correlation_insert::inserted);
  EXPECT_EQ(shared.find_for_tenant(id, 10, 600), (correlation_value{1, 10, 1}));
  EXPECT_EQ(shared.find_for_tenant(id, 10, 1200), (correlation_value{2, 10, 2}));
  EXPECT_EQ(shared.stats().expired, 1u);
  EXPECT_EQ(shared.size(), 1u);
  EXPECT_FALSE(shared.find_for_tenant(id, 10, 1500).has_value());
  EXPECT_EQ(shared.stats().expired_misses, 1u);
  EXPECT_EQ(shared.size(), 0u);
  EXPECT_TRUE(shared.check_invariants());
}

TEST(correlation_table, expired_entry_is_a_counted_miss_and_its_slot_is_reused) {
  correlation_table table(1, 1000);
  const correlation_key a = number_key(1);
  const correlation_key b = number_key(2);
  ASSERT_EQ(table.insert(a, {1, 1, 1}, 0), correlation_insert::inserted);
  EXPECT_TRUE(table.find(a, 1, 999).has_value());
  EXPECT_FALSE(table.find(a, 1, 1000).has_value());  // expires at exactly now + ttl
  EXPECT_EQ(table.stats().expired_misses, 1u);
  EXPECT_EQ(table.stats().expired, 1u);
  EXPECT_EQ(table.size(), 0u);
  // The only slot is free again.
  ASSERT_EQ(table.insert(b, {1, 2, 2}, 1000), correlation_insert::inserted);
  EXPECT_EQ(table.find(b, 1, 1001), (correlation_value{1, 2, 2}));
  EXPECT_FALSE(table.find(a, 1, 1001).has_value());
  EXPECT_EQ(table.stats().misses, 1u);
  EXPECT_TRUE(table.check_invariants());
}

TEST(correlation_table, an_expiry_past_48_bits_of_milliseconds_never_comes) {
  correlation_table table(2, 1000);
  const std::uint64_t late = (std::uint64_t{1} << 48) - 500;
  ASSERT_EQ(table.insert(number_key(1), {0, 0, 0}, late), correlation_insert::inserted);
  EXPECT_TRUE(table.find(number_key(1), 0, UINT64_MAX).has_value());
  ASSERT_EQ(table.insert(number_key(2), {0, 0, 0}, late - 1000), correlation_insert::inserted);
  EXPECT_FALSE(table.find(number_key(2), 0, late).has_value());
  EXPECT_EQ(table.stats().expired_misses, 1u);
}

TEST(correlation_table, an_id_noted_twice_goes_with_its_second_release) {
  correlation_table table(8, 1000);
  ASSERT_EQ(table.insert(number_key(10), {0, 1, 1}, 0), correlation_insert::inserted);
  ASSERT_EQ(table.insert(number_key(10), {0, 1, 2}, 1), correlation_insert::replaced);
  bool removed = true;
  EXPECT_EQ(table.release(number_key(10), 0, 2, removed), (correlation_value{0, 1, 2}));
  EXPECT_FALSE(removed);
  EXPECT_TRUE(table.find(number_key(10), 0, 2).has_value());
  EXPECT_EQ(table.release(number_key(10), 0, 3, removed), (correlation_value{0, 1, 2}));
  EXPECT_TRUE(removed);
  EXPECT_FALSE(table.find(number_key(10), 0, 3).has_value());
  EXPECT_FALSE(table.release(number_key(10), 0, 3, removed).has_value());
  EXPECT_FALSE(removed);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(table.check_invariants());
}

TEST(correlation_table, full_table_evicts_the_oldest_and_counts_its_age_then_reclaims_expired) {
  constexpr std::size_t cap = 4;
  correlation_table table(cap, 1000);
  for (std::uint64_t i = 0; i < cap; ++i) {
    ASSERT_EQ(table.insert(number_key(i), {0, 0, static_cast<std::uint32_t>(i)}, i * 10),
              correlation_insert::inserted);
  }
  // The newest id is kept; the oldest (0, inserted at 0) makes room, and its value is told.
  std::optional<correlation_value> gone;
  EXPECT_EQ(table.insert(number_key(99), {0, 0, 0}, 500, &gone), correlation_insert::inserted);
  EXPECT_EQ(gone, (correlation_value{0, 0, 0}));
  gone.reset();
  EXPECT_EQ(table.stats().evicted, 1u);
  EXPECT_EQ(table.stats().last_evicted_age_ms, 500u);
  EXPECT_FALSE(table.find(number_key(0), 0, 500).has_value());
  EXPECT_TRUE(table.find(number_key(99), 0, 500).has_value());
  // Then 1 (inserted at 10).
  EXPECT_EQ(table.insert(number_key(100), {0, 0, 0}, 990, &gone), correlation_insert::inserted);
  EXPECT_EQ(gone, (correlation_value{0, 0, 1}));
  EXPECT_EQ(table.stats().evicted, 2u);
  EXPECT_EQ(table.stats().last_evicted_age_ms, 980u);
  EXPECT_EQ(table.stats().evicted_age_ms_sum, 1480u);
  EXPECT_EQ(table.size(), cap);
  EXPECT_FALSE(table.find(number_key(1), 0, 990).has_value());
  // A replacement needs no room.
  EXPECT_EQ(table.insert(number_key(3), {0, 1, 1}, 999), correlation_insert::replaced);
  EXPECT_EQ(table.stats().evicted, 2u);
  // Entry 2 (inserted at 20) expires at 1020: reclaimed as expired, not evicted.
  EXPECT_EQ(table.insert(number_key(101), {0, 0, 0}, 1020), correlation_insert::inserted);
  EXPECT_EQ(table.stats().expired, 1u);
  EXPECT_EQ(table.stats().evicted, 2u);
  EXPECT_EQ(table.size(), cap);
  // A final receipt frees its slot: the next insert evicts nothing.
  EXPECT_TRUE(table.take(number_key(99), 0, 1021).has_value());
  EXPECT_EQ(table.insert(number_key(102), {0, 0, 0}, 1021), correlation_insert::inserted);
  EXPECT_EQ(table.stats().evicted, 2u);
  EXPECT_TRUE(table.check_invariants());
}

TEST(correlation_table, expire_does_at_most_max_work_oldest_first) {
  correlation_table table(10, 1000);
  for (std::uint64_t i = 0; i < 10; ++i) {
    ASSERT_EQ(table.insert(number_key(i), {0, 0, 0}, i * 10), correlation_insert::inserted);
  }
  EXPECT_EQ(table.expire(999, 100), 0u);
  EXPECT_EQ(table.expire(1050, 3), 3u);  // entries 0..5 have expired, three are removed
  EXPECT_EQ(table.size(), 7u);
  EXPECT_FALSE(table.find(number_key(2), 0, 0).has_value());  // removed: a plain miss
  EXPECT_TRUE(table.find(number_key(3), 0, 0).has_value());   // not yet removed, and now=0
  EXPECT_EQ(table.expire(1050, 100), 3u);
  EXPECT_EQ(table.expire(5000, 100), 4u);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.stats().expired, 10u);
  EXPECT_TRUE(table.check_invariants());
}

TEST(correlation_table, replace_overwrites_the_value_and_restarts_the_ttl) {
  correlation_table table(2, 1000);
  const correlation_key a = number_key(7);
  const correlation_key b = number_key(8);
  ASSERT_EQ(table.insert(a, {1, 1, 1}, 0), correlation_insert::inserted);
  ASSERT_EQ(table.insert(b, {1, 1, 1}, 100), correlation_insert::inserted);
  EXPECT_EQ(table.insert(a, {1, 2, 2}, 200), correlation_insert::replaced);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.stats().inserts, 2u);
  EXPECT_EQ(table.stats().replaced, 1u);
  // b (expires 1100) is now older than a (expires 1200).
  EXPECT_EQ(table.expire(1150, 10), 1u);
  EXPECT_FALSE(table.find(b, 1, 1150).has_value());
  EXPECT_EQ(table.find(a, 1, 1150), (correlation_value{1, 2, 2}));
  // Another upstream's entry of the same id is not a replacement.
  EXPECT_EQ(table.insert(a, {2, 3, 3}, 1150), correlation_insert::inserted);
  EXPECT_EQ(table.find(a, 1, 1151), (correlation_value{1, 2, 2}));
  EXPECT_TRUE(table.check_invariants());
}

TEST(correlation_table, take_returns_and_removes) {
  correlation_table table(4, 1000);
  const correlation_key a = key_of("abc");
  ASSERT_EQ(table.insert(a, {1, 2, 3}, 0), correlation_insert::inserted);
  EXPECT_EQ(table.take(a, 1, 10), (correlation_value{1, 2, 3}));
  EXPECT_FALSE(table.take(a, 1, 10).has_value());
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.stats().erased, 1u);
  ASSERT_EQ(table.insert(a, {1, 2, 3}, 0), correlation_insert::inserted);
  EXPECT_FALSE(table.take(a, 1, 1000).has_value());
  EXPECT_EQ(table.stats().expired_misses, 1u);
  EXPECT_TRUE(table.check_invariants());
}

TEST(correlation_table, probe_distance_bound_refuses_and_recovers) {
  // One id under many upstreams: every entry has the same home, so the run grows by one each.
  correlation_table table(1000, 1000);
  const correlation_key id = key_of("shared-id");
  const std::uint16_t limit = correlation_table::max_probe_distance + 1;
  for (std::uint16_t up = 0; up < limit; ++up) {
    ASSERT_EQ(table.insert(id, {up, 0, 0}, 0), correlation_insert::inserted) << up;
  }
  const correlation_insert refused = table.insert(id, {limit, 0, 0}, 0);
  EXPECT_EQ(refused, correlation_insert::probe_limit);
  EXPECT_FALSE(to_string(refused).empty());
  EXPECT_EQ(table.stats().probe_drops, 1u);
  EXPECT_EQ(table.longest_probe_distance(), correlation_table::max_probe_distance);
  const auto last = static_cast<std::uint16_t>(limit - 1);
  EXPECT_EQ(table.find(id, last, 1), (correlation_value{last, 0, 0}));
  EXPECT_TRUE(table.check_invariants());
  EXPECT_TRUE(table.erase(id, 17));
  EXPECT_EQ(table.insert(id, {limit, 0, 0}, 0), correlation_insert::inserted);
  EXPECT_TRUE(table.check_invariants());
}

TEST(correlation_table, probe_lengths_stay_short_in_a_full_table_with_churn) {
  constexpr std::size_t cap = 100'000;
  correlation_table table(cap, 1'000'000'000, 12345);
  std::mt19937_64 rng(7);
  std::vector<correlation_key> live;
  live.reserve(cap);
  while (live.size() < cap) {
    const correlation_key k = number_key(rng());
    if (table.insert(k, {0, 0, 0}, 0) == correlation_insert::inserted) live.push_back(k);
  }
  // Full: one more evicts the oldest, and the newest stays.
  const correlation_key newest = number_key(rng());
  EXPECT_EQ(table.insert(newest, {0, 0, 0}, 0), correlation_insert::inserted);
  EXPECT_EQ(table.stats().evicted, 1u);
  ASSERT_FALSE(table.find(live.front(), 0, 0).has_value());
  live.front() = newest;
  // Ten times the capacity of erase + insert at full load.
  for (std::size_t i = 0; i < 10 * cap; ++i) {
    const std::size_t victim = rng() % live.size();
    ASSERT_TRUE(table.erase(live[victim], 0));
    const correlation_key k =
        i % 2 ? number_key(rng()) : correlation_key{rng(), rng() | (std::uint64_t{1} << 63)};
    ASSERT_EQ(table.insert(k, {0, 0, 0}, 0), correlation_insert::inserted);
    live[victim] = k;
  }
  EXPECT_EQ(table.size(), cap);
  EXPECT_EQ(table.stats().probe_drops, 0u);
  // Robin Hood at load 1/2 keeps the longest run to a handful of slots; 32 is far above what
  // random keys produce and far below the hard bound.
  EXPECT_LE(table.longest_probe_distance(), 32u);
  EXPECT_TRUE(table.check_invariants());
  for (std::size_t i = 0; i < live.size(); i += 97)
    EXPECT_TRUE(table.find(live[i], 0, 0).has_value());
}

// --- Differential test against a model ----------------------------------------------------------

struct key_hash_for_model {
  std::size_t operator()(const std::pair<correlation_key, std::uint16_t>& k) const noexcept {
    return std::hash<std::uint64_t>{}(k.first.lo * 31 + k.first.hi * 17 + k.second);
  }
};

// The table's observable behaviour, written the obvious way: entries in a hash map, the expiry
// order in a std::map by insertion sequence, index order of one id's entries by first insertion,
// final entries (refs 0) in a second std::map by the sequence in which they became final.
class model {
 public:
  model(std::size_t capacity, std::uint64_t ttl_ms, std::size_t final_capacity = 0,
        std::uint64_t keep_final_ms = 0)
      : capacity_(capacity),
        final_capacity_(keep_final_ms > 0 ? final_capacity : 0),
        ttl_ms_(ttl_ms),
        keep_final_ms_(keep_final_ms) {}

  correlation_insert insert(const correlation_key& k, const correlation_value& v,
                            std::uint64_t now) {
    for (int i = 0; i < 2 && expire_oldest(now); ++i) {
    }
    const auto id = std::make_pair(k, v.upstream);
    if (auto it = entries_.find(id); it != entries_.end() && it->second.refs == 0) {
      finals_order_.erase(it->second.seq);  // final: live again, as a new entry
      --stats.finals;
      if (live_ == capacity_) evict_oldest(now);
      it->second.value = v;
      it->second.expires = now + ttl_ms_;
      it->second.seq = ++seq_;
      it->second.refs = 1;
      order_[it->second.seq] = id;
      ++live_;
      ++stats.inserts;
      return correlation_insert::inserted;
    }
    if (auto it = entries_.find(id); it != entries_.end()) {
      order_.erase(it->second.seq);
      it->second.value = v;
      it->second.expires = now + ttl_ms_;
      it->second.seq = ++seq_;
      order_[it->second.seq] = id;
      ++it->second.refs;
      ++stats.replaced;
      return correlation_insert::replaced;
    }
    if (live_ == capacity_) evict_oldest(now);
    ++seq_;
    entries_[id] = {v, now + ttl_ms_, seq_, seq_, 1};
    order_[seq_] = id;
    ++live_;
    ++stats.inserts;
    return correlation_insert::inserted;
  }

  std::optional<correlation_value> find(const correlation_key& k, std::uint16_t up,
                                        std::uint64_t now, bool take) {
    auto it = entries_.find({k, up});
    if (it == entries_.end() || it->second.refs == 0) {
      ++stats.misses;
      return std::nullopt;
    }
    if (now >= it->second.expires) {
      remove(it);
      ++stats.expired;
      ++stats.expired_misses;
      return std::nullopt;
    }
    ++stats.hits;
    const correlation_value v = it->second.value;
    if (take) {
      remove(it);
      ++stats.erased;
    }
    return v;
  }

  std::optional<correlation_value> find_for_tenant(const correlation_key& k, std::uint16_t tenant,
                                                   std::uint64_t now) {
    std::vector<std::pair<std::uint64_t, std::uint16_t>> matches;  // (first_seq, upstream)
    for (const auto& [id, e] : entries_) {
      if (id.first == k && e.value.tenant == tenant) matches.emplace_back(e.first_seq, id.second);
    }
    std::sort(matches.begin(), matches.end());
    bool saw_expired = false;
    std::optional<correlation_value> final_match;
    for (const auto& [first_seq, up] : matches) {
      auto it = entries_.find({k, up});
      if (now < it->second.expires) {
        if (it->second.refs == 0) {
          if (!final_match) final_match = it->second.value;
          continue;
        }
        ++stats.hits;
        return it->second.value;
      }
      ++(it->second.refs == 0 ? stats.finals_expired : stats.expired);
      remove(it);
      saw_expired = true;
    }
    if (final_match) {
      ++stats.hits;
      return final_match;
    }
    ++(saw_expired ? stats.expired_misses : stats.misses);
    return std::nullopt;
  }

  std::optional<correlation_value> release(const correlation_key& k, std::uint16_t up,
                                           std::uint64_t now, bool& removed) {
    removed = false;
    auto it = entries_.find({k, up});
    if (it != entries_.end() && now < it->second.expires && it->second.refs > 1) {
      ++stats.hits;
      --it->second.refs;
      return it->second.value;
    }
    if (final_capacity_ == 0 || it == entries_.end() || it->second.refs == 0 ||
        now >= it->second.expires) {
      const auto v = find(k, up, now, true);
      removed = v.has_value();
      return v;
    }
    // The last reference: final.
    ++stats.hits;
    ++stats.erased;
    removed = true;
    order_.erase(it->second.seq);
    --live_;
    for (int i = 0; i < 2 && expire_oldest_final(now); ++i) {
    }
    if (finals_order_.size() == final_capacity_) {
      remove(entries_.find(finals_order_.begin()->second));
      ++stats.finals_evicted;
    }
    it->second.refs = 0;
    it->second.expires = now + keep_final_ms_;
    it->second.seq = ++seq_;
    finals_order_[it->second.seq] = {k, up};
    ++stats.finals;
    return it->second.value;
  }

  bool erase(const correlation_key& k, std::uint16_t up) {
    auto it = entries_.find({k, up});
    if (it == entries_.end()) return false;
    remove(it);
    ++stats.erased;
    return true;
  }

  std::size_t expire(std::uint64_t now, std::size_t max_work) {
    std::size_t n = 0;
    while (n < max_work && expire_oldest(now)) ++n;
    while (n < max_work && expire_oldest_final(now)) ++n;
    return n;
  }

  std::size_t size() const { return live_; }
  std::size_t finals() const { return finals_order_.size(); }
  correlation_stats stats;

 private:
  struct entry {
    correlation_value value;
    std::uint64_t expires = 0;
    std::uint64_t seq = 0;        // last insert or replace: expiry order
    std::uint64_t first_seq = 0;  // first insert: order among one id's entries
    std::uint32_t refs = 0;       // inserts and replacements not yet released
  };
  using map =
      std::unordered_map<std::pair<correlation_key, std::uint16_t>, entry, key_hash_for_model>;

  bool expire_oldest(std::uint64_t now) {
    if (order_.empty()) return false;
    auto it = entries_.find(order_.begin()->second);
    if (now < it->second.expires) return false;
    remove(it);
    ++stats.expired;
    return true;
  }
  bool expire_oldest_final(std::uint64_t now) {
    if (finals_order_.empty()) return false;
    auto it = entries_.find(finals_order_.begin()->second);
    if (now < it->second.expires) return false;
    remove(it);
    ++stats.finals_expired;
    return true;
  }
  void evict_oldest(std::uint64_t now) {
    auto oldest = entries_.find(order_.begin()->second);
    const std::uint64_t age = now - (oldest->second.expires - ttl_ms_);
    ++stats.evicted;
    stats.evicted_age_ms_sum += age;
    stats.last_evicted_age_ms = age;
    remove(oldest);
  }
  void remove(map::iterator it) {
    if (it->second.refs == 0) {
      finals_order_.erase(it->second.seq);
      --stats.finals;
    } else {
      order_.erase(it->second.seq);
      --live_;
    }
    entries_.erase(it);
  }

  std::size_t capacity_;
  std::size_t final_capacity_;
  std::uint64_t ttl_ms_;
  std::uint64_t keep_final_ms_;
  std::size_t live_ = 0;
  std::map<std::uint64_t, std::pair<correlation_key, std::uint16_t>> finals_order_;
  std::uint64_t seq_ = 0;
  map entries_;
  std::map<std::uint64_t, std::pair<correlation_key, std::uint16_t>> order_;
};

void expect_same_stats(const correlation_stats& a, const correlation_stats& b) {
  EXPECT_EQ(a.inserts, b.inserts);
  EXPECT_EQ(a.replaced, b.replaced);
  EXPECT_EQ(a.hits, b.hits);
  EXPECT_EQ(a.misses, b.misses);
  EXPECT_EQ(a.expired_misses, b.expired_misses);
  EXPECT_EQ(a.evicted, b.evicted);
  EXPECT_EQ(a.evicted_age_ms_sum, b.evicted_age_ms_sum);
  EXPECT_EQ(a.last_evicted_age_ms, b.last_evicted_age_ms);
  EXPECT_EQ(a.expired, b.expired);
  EXPECT_EQ(a.erased, b.erased);
  EXPECT_EQ(a.finals, b.finals);
  EXPECT_EQ(a.finals_evicted, b.finals_evicted);
  EXPECT_EQ(a.finals_expired, b.finals_expired);
}

// 200,000 random operations on a table and on the model, compared after each; with finals kept
// (final_capacity > 0) or not. The counts that show every path was taken are checked by the
// callers.
correlation_stats run_against_model(std::size_t final_capacity, std::uint64_t keep_final_ms) {
  constexpr std::size_t cap = 512;
  constexpr std::uint64_t ttl = 5000;
  correlation_table table(cap, ttl, 99, final_capacity, keep_final_ms);
  model m(cap, ttl, final_capacity, keep_final_ms);
  std::mt19937_64 rng(2024);

  // 300 numeric ids and 300 text ids, 4 upstreams, 3 tenants: plenty of shared ids.
  std::vector<correlation_key> keys;
  for (std::uint64_t i = 0; i < 300; ++i) keys.push_back(number_key(i * 1000003));
  for (int i = 0; i < 300; ++i) keys.push_back(key_of("msg-" + std::to_string(i)));

  std::uint64_t now = 1'000'000;
  constexpr int operations = 200'000;
  for (int op = 0; op < operations; ++op) {
    const std::uint64_t step = rng() % 100;
    now += step < 40 ? 0 : step < 95 ? 1 + step % 4 : (step == 99 && rng() % 50 == 0 ? ttl : 7);
    const correlation_key& k = keys[rng() % keys.size()];
    const auto up = static_cast<std::uint16_t>(rng() % 4);
    const auto tenant = static_cast<std::uint16_t>(rng() % 3);
    const int what = static_cast<int>(rng() % 100);
    if (what < 45) {
      const correlation_value v{up, tenant, static_cast<std::uint32_t>(op)};
      EXPECT_EQ(table.insert(k, v, now), m.insert(k, v, now)) << "op " << op;
    } else if (what < 70) {
      EXPECT_EQ(table.find(k, up, now), m.find(k, up, now, false)) << "op " << op;
    } else if (what < 80) {
      EXPECT_EQ(table.find_for_tenant(k, tenant, now), m.find_for_tenant(k, tenant, now))
          << "op " << op;
    } else if (what < 84) {
      EXPECT_EQ(table.take(k, up, now), m.find(k, up, now, true)) << "op " << op;
    } else if (what < 88) {
      bool removed = false;
      bool model_removed = false;
      EXPECT_EQ(table.release(k, up, now, removed), m.release(k, up, now, model_removed))
          << "op " << op;
      EXPECT_EQ(removed, model_removed) << "op " << op;
    } else if (what < 96) {
      EXPECT_EQ(table.erase(k, up), m.erase(k, up)) << "op " << op;
    } else {
      const std::size_t work = rng() % 8;
      EXPECT_EQ(table.expire(now, work), m.expire(now, work)) << "op " << op;
    }
    EXPECT_EQ(table.size(), m.size()) << "op " << op;
    EXPECT_EQ(table.stats().finals, m.finals()) << "op " << op;
    if (op % 5000 == 0) {
      EXPECT_TRUE(table.check_invariants()) << "op " << op;
    }
    if (::testing::Test::HasFailure()) break;  // the first difference is the one to read
  }
  expect_same_stats(table.stats(), m.stats);
  EXPECT_TRUE(table.check_invariants());
  EXPECT_EQ(table.stats().probe_drops, 0u);
  return table.stats();
}

TEST(correlation_table, behaves_like_a_simple_model_over_200k_random_operations) {
  const correlation_stats s = run_against_model(0, 0);
  // The run went through every path.
  EXPECT_GT(s.evicted, 1000u);
  EXPECT_GT(s.expired, 1000u);
  EXPECT_GT(s.expired_misses, 100u);
  EXPECT_GT(s.replaced, 1000u);
  EXPECT_GT(s.hits, 1000u);
  EXPECT_EQ(s.finals + s.finals_evicted + s.finals_expired, 0u);
}

// A final entry: receipts miss it, query_sm (find_for_tenant) finds it, after any live entry of
// the id; noting the id again makes it live; the oldest goes when final_capacity are held, and
// each goes keep_final_ms after it became final.
TEST(correlation_table, a_final_entry_serves_queries_only_within_its_bounds) {
  correlation_table table(16, 100'000, 5, 2, 1000);
  const correlation_key a = number_key(1001), b = number_key(1002), c = number_key(1003);
  for (const correlation_key& k : {a, b, c}) {
    ASSERT_EQ(table.insert(k, {0, 7, 1}, 10), correlation_insert::inserted);
  }
  bool ended = false;
  ASSERT_EQ(table.release(a, 0, 20, ended), (correlation_value{0, 7, 1}));
  EXPECT_TRUE(ended);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.stats().finals, 1u);
  EXPECT_EQ(table.find(a, 0, 21), std::nullopt);  // a second final receipt is unmatched
  EXPECT_EQ(table.release(a, 0, 21, ended), std::nullopt);
  EXPECT_FALSE(ended);
  EXPECT_EQ(table.find_for_tenant(a, 7, 21), (correlation_value{0, 7, 1}));
  EXPECT_EQ(table.find_for_tenant(a, 8, 21), std::nullopt);  // another tenant's query
  // A live entry of the same id (another upstream) answers first; without it, the final one.
  ASSERT_EQ(table.insert(a, {1, 7, 2}, 22), correlation_insert::inserted);
  EXPECT_EQ(table.find_for_tenant(a, 7, 23), (correlation_value{1, 7, 2}));
  ASSERT_TRUE(table.erase(a, 1));
  EXPECT_EQ(table.find_for_tenant(a, 7, 23), (correlation_value{0, 7, 1}));
  // Noted again: live, one reference, found by receipts.
  ASSERT_EQ(table.insert(a, {0, 7, 3}, 30), correlation_insert::inserted);
  EXPECT_EQ(table.stats().finals, 0u);
  EXPECT_EQ(table.find(a, 0, 31), (correlation_value{0, 7, 3}));
  EXPECT_TRUE(table.check_invariants());
  // Three final at 40, 41, 42 with room for two: the first goes.
  for (const auto& [k, t] : {std::pair{a, 40}, std::pair{b, 41}, std::pair{c, 42}}) {
    ASSERT_TRUE(table.release(k, 0, static_cast<std::uint64_t>(t), ended).has_value());
  }
  EXPECT_EQ(table.stats().finals, 2u);
  EXPECT_EQ(table.stats().finals_evicted, 1u);
  EXPECT_EQ(table.find_for_tenant(a, 7, 43), std::nullopt);
  EXPECT_TRUE(table.find_for_tenant(b, 7, 43).has_value());
  // keep_final_ms after it became final, it is gone.
  EXPECT_EQ(table.expire(1040, 10), 0u);
  EXPECT_EQ(table.expire(1041, 10), 1u);
  EXPECT_EQ(table.find_for_tenant(b, 7, 1041), std::nullopt);
  EXPECT_EQ(table.find_for_tenant(c, 7, 1042), std::nullopt);  // expired on the way: removed
  EXPECT_EQ(table.stats().finals_expired, 2u);
  EXPECT_EQ(table.stats().finals, 0u);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(table.check_invariants());
}

// Finals kept: a released entry stays for find_for_tenant only, up to 8 of them for 3 s each.
TEST(correlation_table, keeps_final_entries_like_a_simple_model_over_200k_random_operations) {
  const correlation_stats s = run_against_model(8, 3000);
  EXPECT_GT(s.evicted, 1000u);
  EXPECT_GT(s.expired, 1000u);
  EXPECT_GT(s.replaced, 1000u);
  EXPECT_GT(s.hits, 1000u);
  EXPECT_GT(s.finals_evicted, 100u);
  EXPECT_GT(s.finals_expired, 100u);
}

// --- Random ids and allocation ------------------------------------------------------------------

TEST(correlation_key, random_ids_are_keyed_by_their_normalised_text) {
  std::mt19937_64 rng(11);
  const correlation_secret s = test_secret();
  correlation_table table(4096, 1000);
  const char alphabet[] = "0123456789abcdefABCDEFxX-_ \t\r\n\0\xff";
  std::unordered_map<std::string, correlation_key> key_of_text;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::string> text_of_key;
  std::string id;
  for (int i = 0; i < 50'000; ++i) {
    id.clear();
    const std::size_t len = rng() % 80;
    for (std::size_t j = 0; j < len; ++j) id.push_back(alphabet[rng() % (sizeof(alphabet) - 1)]);
    for (const id_radix radix :
         {id_radix::auto_detect, id_radix::decimal, id_radix::hex, id_radix::text}) {
      const correlation_key_result r = make_correlation_key(id, radix, s);
      const codec::message_id_key_result n = codec::normalize_message_id(id, radix);
      ASSERT_EQ(r.error, n.error);
      if (!r.ok()) continue;
      // The key is a function of the normalised text, and distinct texts get distinct keys.
      const auto [text, fresh] = key_of_text.try_emplace(std::string(n.key.view()), r.key);
      ASSERT_EQ(text->second, r.key) << n.key.view();
      const auto [back, fresh_key] = text_of_key.try_emplace({r.key.lo, r.key.hi}, text->first);
      ASSERT_EQ(back->second, text->first);
      ASSERT_EQ(fresh, fresh_key);
      const auto v = static_cast<std::uint16_t>(radix);
      const correlation_insert ins = table.insert(r.key, {v, 0, 0}, 0);
      ASSERT_NE(ins, correlation_insert::probe_limit);
      ASSERT_TRUE(table.find(r.key, v, 0).has_value());
    }
  }
  EXPECT_TRUE(table.check_invariants());
}

TEST(correlation_table, nothing_is_allocated_after_construction) {
  const correlation_secret s = test_secret();
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    ids.push_back(i % 2 ? std::to_string(i * 7919) : "Msg-" + std::to_string(i) + "-ABCDEF");
  }
  correlation_table table(64, 1000);
  std::mt19937_64 rng(5);
  const long before = smpp::testing::allocations();
  std::uint64_t now = 0;
  std::size_t found = 0;
  for (int op = 0; op < 100'000; ++op) {
    // Now and then a quiet second: the entries expire instead of being evicted.
    now += rng() % 3 + (op % 10'000 == 0 ? 2000 : 0);
    const correlation_key_result r =
        make_correlation_key(ids[rng() % ids.size()], id_radix::auto_detect, s);
    const auto up = static_cast<std::uint16_t>(rng() % 3);
    switch (rng() % 6) {
      case 0:
      case 1:
        (void)table.insert(r.key, {up, up, 0}, now);
        break;
      case 2:
        found += table.find(r.key, up, now).has_value();
        break;
      case 3:
        found += table.find_for_tenant(r.key, up, now).has_value();
        break;
      case 4:
        found += table.take(r.key, up, now).has_value();
        break;
      default:
        (void)table.expire(now, 4);
    }
  }
  EXPECT_TRUE(table.check_invariants());
  EXPECT_EQ(smpp::testing::allocations(), before);
  EXPECT_GT(found, 0u);
  EXPECT_GT(table.stats().evicted, 0u);
  EXPECT_GT(table.stats().expired, 0u);
}

}  // namespace
}  // namespace smpp::dataplane
