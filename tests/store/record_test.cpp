// The store's record encoding (store/include/smpp/store/record.hpp): every kind round-trips,
// every bound holds and its overflow is refused, and no octet string decodes out of range.
#include "smpp/store/record.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "alloc_counter.hpp"

namespace smpp::store {
namespace {

using buffer = std::array<std::byte, max_record_bytes>;

std::vector<std::byte> pdu_of(std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>(i * 7 + 1);
  return v;
}

note_record a_note() {
  note_record n;
  n.key = {0x0123456789ABCDEFull, 0xFEDCBA9876543210ull};
  n.submit_ms = 1'765'000'000'123ull;
  n.tenant = 513;
  n.upstream = 7;
  n.tag = 0xA5A5'0001u;
  n.source = "447700900123";
  n.destination = "33612345678";
  return n;
}

TEST(StoreRecord, ANoteRoundTripsWithItsAddresses) {
  buffer out{};
  const note_record n = a_note();
  const std::size_t size = encode(n, out);
  ASSERT_EQ(size, encoded_size(n));
  const auto v = decode(std::span<const std::byte>(out.data(), size));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, record_kind::note);
  EXPECT_EQ(v->size, size);
  EXPECT_EQ(v->note.key, n.key);
  EXPECT_EQ(v->note.submit_ms, n.submit_ms);
  EXPECT_EQ(v->note.tenant, n.tenant);
  EXPECT_EQ(v->note.upstream, n.upstream);
  EXPECT_EQ(v->note.tag, n.tag);
  EXPECT_EQ(v->note.source, n.source);
  EXPECT_EQ(v->note.destination, n.destination);
}

TEST(StoreRecord, ANoteWithEmptyAndLongestAddressesRoundTrips) {
  buffer out{};
  note_record n = a_note();
  const std::string longest(max_address_bytes, '9');
  n.source = "";
  n.destination = longest;
  const std::size_t size = encode(n, out);
  ASSERT_NE(size, 0u);
  const auto v = decode(std::span<const std::byte>(out.data(), size));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->note.source, "");
  EXPECT_EQ(v->note.destination, longest);
}

TEST(StoreRecord, AnAddressOverItsBoundIsNotEncoded) {
  buffer out{};
  note_record n = a_note();
  const std::string over(max_address_bytes + 1, '1');
  n.source = over;
  EXPECT_EQ(encode(n, out), 0u);
  n.source = "1";
  n.destination = over;
  EXPECT_EQ(encode(n, out), 0u);
}

TEST(StoreRecord, AReceiptRoundTripsInEveryState) {
  for (std::uint8_t s = 0; s <= static_cast<std::uint8_t>(receipt_state::rejected); ++s) {
    for (bool delivered : {false, true}) {
      buffer out{};
      receipt_record r{{s, 99}, 1234567, 12, static_cast<receipt_state>(s), delivered};
      const std::size_t size = encode(r, out);
      ASSERT_EQ(size, encoded_size(r));
      const auto v = decode(std::span<const std::byte>(out.data(), size));
      ASSERT_TRUE(v);
      EXPECT_EQ(v->kind, record_kind::receipt);
      EXPECT_EQ(v->receipt.key, r.key);
      EXPECT_EQ(v->receipt.time_ms, r.time_ms);
      EXPECT_EQ(v->receipt.upstream, r.upstream);
      EXPECT_EQ(v->receipt.state, r.state);
      EXPECT_EQ(v->receipt.delivered, delivered);
    }
  }
}

TEST(StoreRecord, AReceiptStateOutOfRangeIsNotEncoded) {
  buffer out{};
  receipt_record r{{1, 2}, 3, 4, static_cast<receipt_state>(9), false};
  EXPECT_EQ(encode(r, out), 0u);
}

TEST(StoreRecord, AFinalRoundTripsWithTheLargestFields) {
  buffer out{};
  const final_record f{{~0ull, ~0ull}, ~0ull, 65535};
  const std::size_t size = encode(f, out);
  ASSERT_EQ(size, encoded_size(f));
  const auto v = decode(std::span<const std::byte>(out.data(), size));
  ASSERT_TRUE(v && v->kind == record_kind::final_);
  EXPECT_TRUE(v->final_.key == f.key && v->final_.time_ms == f.time_ms &&
              v->final_.upstream == f.upstream);
}

TEST(StoreRecord, AHeldMessageRoundTripsFromAnEmptyToTheLongestPdu) {
  for (std::size_t n : {std::size_t{0}, std::size_t{150}, max_held_pdu}) {
    const auto pdu = pdu_of(n);
    buffer out{};
    held_record h{~0ull, 42, 9, held_kind::mo, pdu};
    const std::size_t size = encode(h, out);
    ASSERT_EQ(size, encoded_size(h));
    ASSERT_LE(size, max_record_bytes);
    const auto v = decode(std::span<const std::byte>(out.data(), size));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->kind, record_kind::held);
    EXPECT_EQ(v->held.id, ~0ull);
    EXPECT_EQ(v->held.received_ms, 42u);
    EXPECT_EQ(v->held.tenant, 9);
    EXPECT_EQ(v->held.kind, held_kind::mo);
    ASSERT_EQ(v->held.pdu.size(), n);
    EXPECT_TRUE(std::equal(pdu.begin(), pdu.end(), v->held.pdu.begin()));
    // The view points into the decoded octets, not a copy.
    if (n != 0) {
      EXPECT_EQ(v->held.pdu.data(), out.data() + size - n);
    }
  }
}

TEST(StoreRecord, APduOverItsBoundOrAnUnknownHeldKindIsNotEncoded) {
  std::vector<std::byte> big(max_held_pdu + 1);
  std::vector<std::byte> out(2 * max_record_bytes);
  EXPECT_EQ(encode(held_record{1, 2, 3, held_kind::receipt, big}, out), 0u);
  EXPECT_EQ(encode(held_record{1, 2, 3, static_cast<held_kind>(3), {}}, out), 0u);
}

TEST(StoreRecord, AHeldDoneRoundTrips) {
  buffer out{};
  const std::size_t size = encode(held_done_record{0x1122334455667788ull}, out);
  ASSERT_EQ(size, encoded_size(held_done_record{}));
  const auto v = decode(std::span<const std::byte>(out.data(), size));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, record_kind::held_done);
  EXPECT_EQ(v->held_done.id, 0x1122334455667788ull);
}

TEST(StoreRecord, EncodingIsLittleEndianWithTheDocumentedHeader) {
  buffer out{};
  const std::size_t size = encode(held_done_record{0x0102030405060708ull}, out);
  ASSERT_EQ(size, 12u);
  const std::array<std::uint8_t, 12> expected{12, 0, 5, 0, 8, 7, 6, 5, 4, 3, 2, 1};
  for (std::size_t i = 0; i < size; ++i) EXPECT_EQ(static_cast<std::uint8_t>(out[i]), expected[i]);
}

TEST(StoreRecord, EveryKindRefusesABufferOneOctetShort) {
  const auto pdu = pdu_of(150);
  const note_record n = a_note();
  const receipt_record r{{1, 1}, 1, 1, receipt_state::delivered, true};
  const final_record f{{1, 1}, 1, 1};
  const held_record h{1, 1, 1, held_kind::receipt, pdu};
  const held_done_record d{1};
  std::vector<std::byte> out(max_record_bytes);
  auto check = [&](const auto& rec) {
    const std::size_t size = encoded_size(rec);
    EXPECT_EQ(encode(rec, std::span<std::byte>(out.data(), size - 1)), 0u);
    EXPECT_EQ(encode(rec, std::span<std::byte>(out.data(), size)), size);
  };
  check(n);
  check(r);
  check(f);
  check(h);
  check(d);
}

TEST(StoreRecord, EncodingAndDecodingDoNotAllocate) {
  const auto pdu = pdu_of(150);
  buffer out{};
  const note_record n = a_note();
  const held_record h{1, 1, 1, held_kind::receipt, pdu};
  const long before = smpp::testing::allocations();
  std::size_t total = 0;
  const std::size_t a = encode(n, out);
  total += decode(std::span<const std::byte>(out.data(), a))->size;
  const std::size_t b = encode(h, out);
  total += decode(std::span<const std::byte>(out.data(), b))->size;
  EXPECT_EQ(smpp::testing::allocations(), before);
  EXPECT_EQ(total, a + b);
}

// Every prefix of a valid record is refused (a torn write), and so is the record with its
// size one octet off either way.
TEST(StoreRecord, ATruncatedRecordOrAWrongSizeIsRefused) {
  const auto pdu = pdu_of(10);
  std::vector<std::vector<std::byte>> records;
  auto add = [&](const auto& rec) {
    std::vector<std::byte> b(encoded_size(rec) + 1);
    ASSERT_EQ(encode(rec, b), encoded_size(rec));
    records.push_back(b);
  };
  add(a_note());
  add(receipt_record{{1, 1}, 1, 1, receipt_state::enroute, false});
  add(final_record{{1, 1}, 1, 1});
  add(held_record{1, 1, 1, held_kind::alert, pdu});
  add(held_done_record{1});
  for (auto& b : records) {
    const std::size_t size = b.size() - 1;
    for (std::size_t cut = 0; cut < size; ++cut) {
      EXPECT_FALSE(decode(std::span<const std::byte>(b.data(), cut))) << cut;
    }
    ASSERT_TRUE(decode(b));
    const auto kind = static_cast<record_kind>(b[2]);
    // A size one octet off either way: the other kinds refuse it; a held message's size is
    // its PDU's, so it reads a PDU one octet longer or shorter.
    for (const std::size_t wrong : {size + 1, size - 1}) {
      b[0] = static_cast<std::byte>(wrong);
      const auto v = decode(b);
      if (kind == record_kind::held) {
        ASSERT_TRUE(v);
        EXPECT_EQ(v->held.pdu.size(), wrong - 23);
      } else {
        EXPECT_FALSE(v) << static_cast<int>(kind);
      }
    }
    b[0] = static_cast<std::byte>(size);
  }
}

TEST(StoreRecord, AnUnknownKindANonZeroReservedOctetOrAnOversizeIsRefused) {
  buffer out{};
  const std::size_t size = encode(final_record{{1, 2}, 3, 4}, out);
  auto in = std::span<const std::byte>(out.data(), size);
  for (int k : {0, 6, 255}) {
    out[2] = static_cast<std::byte>(k);
    EXPECT_FALSE(decode(in)) << k;
  }
  out[2] = static_cast<std::byte>(record_kind::final_);
  out[3] = std::byte{1};
  EXPECT_FALSE(decode(in));
  out[3] = std::byte{0};
  ASSERT_TRUE(decode(in));
  // A header claiming more than max_record_bytes, with as many octets behind it.
  std::vector<std::byte> big(0x10000);
  big[0] = std::byte{0xFF};
  big[1] = std::byte{0xFF};
  big[2] = static_cast<std::byte>(record_kind::held);
  EXPECT_FALSE(decode(big));
}

TEST(StoreRecord, ANoteWhoseAddressLengthRunsPastItsRecordIsRefused) {
  buffer out{};
  const note_record n = a_note();
  const std::size_t size = encode(n, out);
  const std::size_t source_length_at = 38 - 2;  // after the fixed fields
  ASSERT_EQ(static_cast<std::size_t>(out[source_length_at]), n.source.size());
  out[source_length_at] = static_cast<std::byte>(n.source.size() + 1);
  EXPECT_FALSE(decode(std::span<const std::byte>(out.data(), size)));
  out[source_length_at] = static_cast<std::byte>(max_address_bytes + 1);
  EXPECT_FALSE(decode(std::span<const std::byte>(out.data(), size)));
}

TEST(StoreRecord, OutOfRangeEnumsOnTheWireAreRefused) {
  buffer out{};
  std::size_t size = encode(receipt_record{{1, 1}, 1, 1, receipt_state::rejected, true}, out);
  out[size - 2] = std::byte{9};  // state
  EXPECT_FALSE(decode(std::span<const std::byte>(out.data(), size)));
  out[size - 2] = std::byte{2};
  out[size - 1] = std::byte{2};  // delivered is 0 or 1
  EXPECT_FALSE(decode(std::span<const std::byte>(out.data(), size)));
  size = encode(held_record{1, 1, 1, held_kind::alert, {}}, out);
  out[size - 1] = std::byte{3};  // kind
  EXPECT_FALSE(decode(std::span<const std::byte>(out.data(), size)));
}

// Keys whose halves are related (lo = hi * C + 1, as a naive lo ^ hi * C hash would cancel) or
// that differ in one bit of either half all hash apart.
TEST(StoreRecord, KeysWithRelatedHalvesOrOneBitApartHashApart) {
  std::unordered_set<std::size_t> seen;
  const message_key_hash hash;
  for (std::uint64_t n = 0; n < 50'000; ++n) {
    seen.insert(hash({n * 0x9E3779B97F4A7C15ull + 1, n}));
    seen.insert(hash({n, 0}));
    seen.insert(hash({0, n + 1}));
  }
  EXPECT_EQ(seen.size(), 150'000u - 1u);  // {1, 0} is in the first and second series both
}

// Random octets (and random mutations of valid groups) never crash the decoder, never yield a
// record larger than its input, and every record it accepts has its fields in range and
// re-encodes to the same octets.
TEST(StoreRecord, RandomOctetsNeverDecodeOutOfRange) {
  std::mt19937_64 rng(0x5EED);
  const auto pdu = pdu_of(150);
  std::vector<std::byte> valid(8192);
  std::size_t valid_size = 0;
  valid_size += encode(a_note(), std::span(valid).subspan(valid_size));
  valid_size += encode(receipt_record{{3, 4}, 5, 6, receipt_state::expired, true},
                       std::span(valid).subspan(valid_size));
  valid_size += encode(final_record{{3, 4}, 5, 6}, std::span(valid).subspan(valid_size));
  valid_size +=
      encode(held_record{7, 8, 9, held_kind::mo, pdu}, std::span(valid).subspan(valid_size));
  valid_size += encode(held_done_record{7}, std::span(valid).subspan(valid_size));
  valid.resize(valid_size);
  std::size_t accepted = 0;
  for (int round = 0; round < 200'000; ++round) {
    std::vector<std::byte> in;
    if (round % 2 == 0) {
      in.resize(rng() % 64);
      for (auto& b : in) b = static_cast<std::byte>(rng());
      if (in.size() >= 4) {  // a plausible header often enough to reach the bodies
        in[0] = static_cast<std::byte>(in.size() - rng() % 3);
        in[1] = std::byte{0};
        in[2] = static_cast<std::byte>(rng() % 7);
        in[3] = std::byte{0};
      }
    } else {
      in = valid;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) in[rng() % in.size()] = static_cast<std::byte>(rng());
      in.resize(rng() % (in.size() + 1));
    }
    std::span<const std::byte> rest(in);
    while (const auto v = decode(rest)) {
      ++accepted;
      ASSERT_GE(v->size, record_header_bytes);
      ASSERT_LE(v->size, rest.size());
      ASSERT_LE(v->size, max_record_bytes);
      buffer again{};
      std::size_t re = 0;
      switch (v->kind) {
        case record_kind::note:
          ASSERT_LE(v->note.source.size(), max_address_bytes);
          ASSERT_LE(v->note.destination.size(), max_address_bytes);
          re = encode(v->note, again);
          break;
        case record_kind::receipt:
          ASSERT_LE(static_cast<int>(v->receipt.state), 8);
          re = encode(v->receipt, again);
          break;
        case record_kind::final_:
          re = encode(v->final_, again);
          break;
        case record_kind::held:
          ASSERT_LE(v->held.pdu.size(), max_held_pdu);
          ASSERT_LE(static_cast<int>(v->held.kind), 2);
          re = encode(v->held, again);
          break;
        case record_kind::held_done:
          re = encode(v->held_done, again);
          break;
      }
      ASSERT_EQ(re, v->size);
      ASSERT_TRUE(
          std::equal(again.begin(), again.begin() + static_cast<std::ptrdiff_t>(re), rest.begin()));
      rest = rest.subspan(v->size);
    }
  }
  EXPECT_GT(accepted, 1000u);  // the mutations reached the decoder's accepting paths
}

}  // namespace
}  // namespace smpp::store
