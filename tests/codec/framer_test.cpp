#include "smpp/codec/framer.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "pdu_gen.hpp"
#include "smpp/codec/codec.hpp"

namespace smpp::codec {
namespace {

using testing::from_hex;
using testing::pdu_generator;
using state = stream_framer::state;

// Feeds stream to the framer in the given chunk sizes; returns the frames it handed out.
std::vector<std::vector<std::byte>> frame_all(stream_framer& f,
                                              const std::vector<std::byte>& stream,
                                              const std::vector<size_t>& chunks,
                                              stream_framer::result* last_error = nullptr) {
  std::vector<std::vector<std::byte>> frames;
  size_t at = 0;
  for (size_t c : chunks) {
    bytes_view in(stream.data() + at, std::min(c, stream.size() - at));
    at += in.size();
    while (!in.empty()) {
      const auto r = f.next(in);
      EXPECT_LE(r.consumed, in.size());
      in = in.subspan(r.consumed);
      if (r.st == state::frame) {
        frames.emplace_back(r.frame.begin(), r.frame.end());
        EXPECT_LE(f.buffered(), f.max_command_length());
      } else if (r.st == state::error) {
        if (last_error) *last_error = r;
        return frames;
      } else {
        EXPECT_TRUE(in.empty());
      }
    }
  }
  return frames;
}

TEST(Framer, WholePduInOneChunkIsHandedOutInPlace) {
  const auto b = from_hex("00000010000000150000000000000001");
  stream_framer f;
  const auto r = f.next(b);
  ASSERT_EQ(r.st, state::frame);
  EXPECT_EQ(r.frame.data(), b.data());  // zero-copy
  EXPECT_EQ(r.consumed, 16U);
}

TEST(Framer, AnyChunkingYieldsTheSamePdus) {
  pdu_generator gen(1234);
  std::vector<std::vector<std::byte>> pdus;
  std::vector<std::byte> stream;
  for (int i = 0; i < 400; ++i) {
    pdus.push_back(gen.make());
    stream.insert(stream.end(), pdus.back().begin(), pdus.back().end());
  }
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<size_t> chunks;
    size_t total = 0;
    const size_t max_chunk = trial % 3 == 0 ? 3 : trial % 3 == 1 ? 64 : 4096;
    while (total < stream.size()) {
      chunks.push_back(1 + rng() % max_chunk);
      total += chunks.back();
    }
    stream_framer f;
    const auto frames = frame_all(f, stream, chunks);
    ASSERT_EQ(frames.size(), pdus.size()) << "trial " << trial;
    for (size_t i = 0; i < frames.size(); ++i) ASSERT_EQ(frames[i], pdus[i]) << trial << "/" << i;
    EXPECT_EQ(f.buffered(), 0U);
  }
}

TEST(Framer, LengthBelowSixteenIsFatalWithInvalidCommandLength) {
  const auto b = from_hex("0000000f00000015000000000000002a");
  stream_framer f;
  const auto r = f.next(b);
  EXPECT_EQ(r.st, state::error);
  EXPECT_EQ(r.nack_status, command_status::ESME_RINVCMDLEN);
  EXPECT_EQ(r.sequence_number, 0x2aU);
  EXPECT_TRUE(f.failed());
  EXPECT_EQ(f.next(b).st, state::error);  // stays failed
}

TEST(Framer, LengthAboveTheCapIsFatal) {
  stream_framer f(1024);
  const auto b = from_hex("000004010000000400000000000000070000");
  EXPECT_EQ(f.next(b).st, state::error);
  stream_framer ok(1025);
  const auto r = ok.next(b);
  EXPECT_EQ(r.st, state::need_more);
  EXPECT_EQ(ok.buffered(), b.size());
}

TEST(Framer, BadLengthSplitAcrossChunksIsDetectedAtTheFourthOctet) {
  const auto b = from_hex("ffffffff000000040000000000000009");
  stream_framer f;
  stream_framer::result err;
  const auto frames = frame_all(f, b, {1, 1, 1, 1, 12}, &err);
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(err.st, state::error);
  EXPECT_EQ(err.nack_status, command_status::ESME_RINVCMDLEN);
}

TEST(Framer, GoodPdusBeforeABadLengthAreStillDelivered) {
  auto stream = from_hex(
      "00000010000000150000000000000001"
      "00000010000000150000000000000002");
  const auto bad = from_hex("00000002000000150000000000000003");
  stream.insert(stream.end(), bad.begin(), bad.end());
  stream_framer f;
  stream_framer::result err;
  const auto frames = frame_all(f, stream, {7, 7, 7, 7, 7, 7, 7}, &err);
  EXPECT_EQ(frames.size(), 2U);
  EXPECT_EQ(err.st, state::error);
}

TEST(Framer, BuffersAtMostOnePdu) {
  pdu_generator gen(5);
  std::vector<std::byte> stream;
  for (int i = 0; i < 50; ++i) {
    auto p = gen.make(command_id::submit_sm);
    stream.insert(stream.end(), p.begin(), p.end());
  }
  stream_framer f(4096);
  size_t at = 0;
  while (at < stream.size()) {
    bytes_view in(stream.data() + at, std::min<size_t>(13, stream.size() - at));
    const auto r = f.next(in);
    at += r.consumed;
    ASSERT_NE(r.st, state::error);
    ASSERT_LE(f.buffered(), 4096U);
  }
}

}  // namespace
}  // namespace smpp::codec
