// The transports' connection handle: slot and generation round-trip, and a slot's generation
// never comes back to 0 (which would make a live handle look invalid).
#include <gtest/gtest.h>

#include <cstdint>

#include "smpp/dataplane/conn_id.hpp"

namespace smpp::dataplane {
namespace {

TEST(ConnId, SlotAndGenerationRoundTrip) {
  const conn_id c = make_conn_id(12345, 7);
  EXPECT_EQ(conn_slot(c), 12345u);
  EXPECT_EQ(conn_generation(c), 7u);
  const conn_id top = make_conn_id(UINT32_MAX, UINT32_MAX);
  EXPECT_EQ(conn_slot(top), UINT32_MAX);
  EXPECT_EQ(conn_generation(top), UINT32_MAX);
}

TEST(ConnId, NoLiveHandleIsInvalidConn) {
  EXPECT_NE(make_conn_id(0, 1), invalid_conn);
  EXPECT_EQ(make_conn_id(0, 0), invalid_conn) << "generation 0 is what keeps the two apart";
}

TEST(ConnId, NextGenerationSkipsZeroWhenItWraps) {
  EXPECT_EQ(next_conn_generation(1), 2u);
  EXPECT_EQ(next_conn_generation(UINT32_MAX), 1u);
}

static_assert(conn_slot(make_conn_id(3, 9)) == 3 && conn_generation(make_conn_id(3, 9)) == 9);

}  // namespace
}  // namespace smpp::dataplane
