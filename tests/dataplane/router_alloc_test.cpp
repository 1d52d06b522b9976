// The hot path allocates nothing: steady-state routing of submit_sm and their answers, counted
// with a global operator new in this test binary.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "fake_transport.hpp"
#include "router_fixture.hpp"
#include "smpp/dataplane/router_worker.hpp"

#include "alloc_counter.hpp"

using smpp::testing::g_allocations;

namespace smpp::dataplane {
namespace {

using codec::command_id;
using codec::pdu;
using S = codec::command_status;
using testing::one_upstream_snapshot;
constexpr auto enc = testing::encode_pdu;

TEST(HotPath, SteadyStateRoutingAllocatesNothing) {
  auto snap = one_upstream_snapshot(64);
  shared_state shared(1, 1, 1);
  testing::fake_transport tr;
  router_worker w(0, 1, tr, snap, &shared);
  ASSERT_EQ(w.start(0), 0);
  const auto up = tr.pending_connects.at(0);
  tr.complete_connect(up);
  tr.take(up);
  pdu bresp;
  bresp.id = command_id::bind_transceiver_resp;
  bresp.sequence_number = 1;
  bresp.system_id = "smsc";
  tr.deliver(up, enc(bresp));
  const auto esme = tr.accept();
  pdu bind;
  bind.id = command_id::bind_transceiver;
  bind.sequence_number = 1;
  bind.system_id = "acme";
  bind.password = "pw";
  tr.deliver(esme, enc(bind));
  tr.take(esme);

  // Pre-built traffic: submit_sm from the ESME and the SMSC's answers, 32 at a time.
  std::vector<std::vector<std::byte>> submits, resps;
  for (uint32_t i = 0; i < 32; ++i) {
    pdu s;
    s.id = command_id::submit_sm;
    s.sequence_number = 1000 + i;
    s.source_addr = "12345";
    s.destination_addr = "447700900123";
    s.short_message = codec::as_bytes("steady state");
    submits.push_back(enc(s));
  }
  tr.conns[up].out.reserve(1 << 20);
  tr.conns[esme].out.reserve(1 << 20);
  long during = 0;
  uint64_t relayed = 0;
  for (int round = 0; round < 200; ++round) {
    const long before = g_allocations.load();
    for (const auto& s : submits) tr.deliver(esme, s);
    during += g_allocations.load() - before;
    // The SMSC answers each forwarded submit_sm with its own sequence number.
    auto fwd = tr.take(up);
    ASSERT_EQ(fwd.size(), 32U);
    resps.clear();
    for (const auto& f : fwd) {
      pdu a;
      a.id = command_id::submit_sm_resp;
      a.sequence_number = codec::load_be32(f.data() + 12);
      a.message_id = "abcdef0123";
      resps.push_back(enc(a));
    }
    const long before2 = g_allocations.load();
    for (const auto& a : resps) tr.deliver(up, a);
    w.tick(static_cast<uint64_t>(round));
    during += g_allocations.load() - before2;
    relayed += tr.take(esme).size();
    tr.conns[up].out.reserve(1 << 20);
    tr.conns[esme].out.reserve(1 << 20);
  }
  EXPECT_EQ(relayed, 200U * 32U);
  EXPECT_EQ(w.stats().resp_relayed, 200U * 32U);
  EXPECT_EQ(during, 0);
}

}  // namespace
}  // namespace smpp::dataplane
