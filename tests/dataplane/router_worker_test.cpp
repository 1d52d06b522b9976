// ESME and upstream session state machines and the routing hot path, against a fake transport
// and a fake clock (SMPP 3.4 §2.2-2.3, §4).
#include "smpp/dataplane/router_worker.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include <algorithm>
#include <map>
#include <string>

#include "fake_transport.hpp"
#include "pdu_gen.hpp"
#include "router_test_pdus.hpp"

namespace smpp::dataplane {
namespace {

using codec::command_id;
using codec::pdu;
using S = codec::command_status;
using testing::fake_transport;

using testing::bind_pdu;
using testing::decoded;
using testing::encode;
using testing::header;
using testing::make_snapshot;
using testing::receipt_pdu;
using testing::submit_pdu;

struct Rig {
  explicit Rig(std::shared_ptr<router_snapshot> s = make_snapshot())
      : snap(std::move(s)), shared(snap->tenants.size()), w(0, 1, t, snap, &shared) {
    EXPECT_EQ(w.start(now), 0);
  }
  // Completes the connect and bind of every upstream link the worker started.
  std::vector<fake_transport::conn_id> bring_up_upstreams() {
    std::vector<fake_transport::conn_id> ups = t.pending_connects;
    t.pending_connects.clear();
    for (auto c : ups) {
      t.complete_connect(c);
      auto out = t.take(c);
      EXPECT_EQ(out.size(), 1U);
      const pdu b = decoded(out.at(0));
      EXPECT_EQ(b.id, command_id::bind_transceiver);
      EXPECT_EQ(b.system_id, "router");
      t.deliver(c, header(command_id::bind_transceiver_resp, S::ESME_ROK, b.sequence_number));
    }
    return ups;
  }
  fake_transport::conn_id bound_esme(std::string_view sys = "acme") {
    auto c = t.accept();
    t.deliver(c, bind_pdu(command_id::bind_transceiver, sys, "secret", 1));
    auto out = t.take(c);
    EXPECT_EQ(out.size(), 1U);
    EXPECT_EQ(decoded(out.at(0)).status, S::ESME_ROK);
    return c;
  }
  void advance(uint64_t ms) {
    now += ms;
    w.tick(now);
    t.poll(0);
  }
  uint64_t now = 1000;
  fake_transport t;
  std::shared_ptr<router_snapshot> snap;
  shared_state shared;
  router_worker w;
};

TEST(EsmeSession, BindWithGoodCredentialsAnswersOkWithInterfaceVersion) {
  Rig r;
  auto c = r.t.accept();
  r.t.deliver(c, bind_pdu(command_id::bind_transceiver, "acme", "secret", 7));
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  const pdu p = decoded(out[0]);
  EXPECT_EQ(p.id, command_id::bind_transceiver_resp);
  EXPECT_EQ(p.status, S::ESME_ROK);
  EXPECT_EQ(p.sequence_number, 7U);
  EXPECT_EQ(p.system_id, "smpp-router");
  ASSERT_TRUE(p.tlvs.find(codec::tag::sc_interface_version));
}

TEST(EsmeSession, EveryAuthenticationFailureIsBindFail) {
  Rig r;
  struct Case {
    const char* sys;
    const char* pw;
    const char* ip;
  };
  for (const Case& k : {Case{"acme", "wrong", "127.0.0.1"}, Case{"nobody", "secret", "127.0.0.1"},
                        Case{"lan", "secret", "192.168.1.1"}}) {
    auto c = r.t.accept(k.ip);
    r.t.deliver(c, bind_pdu(command_id::bind_transmitter, k.sys, k.pw, 3));
    auto out = r.t.take(c);
    ASSERT_EQ(out.size(), 1U) << k.sys;
    EXPECT_EQ(decoded(out[0]).status, S::ESME_RBINDFAIL) << k.sys << " " << k.ip;
    EXPECT_EQ(decoded(out[0]).id, command_id::bind_transmitter_resp);
  }
  auto ok = r.t.accept("10.1.2.3");
  r.t.deliver(ok, bind_pdu(command_id::bind_transmitter, "lan", "secret", 3));
  EXPECT_EQ(decoded(r.t.take(ok).at(0)).status, S::ESME_ROK);
}

TEST(EsmeSession, FailedBindsDelayLaterAnswersAndLockOut) {
  Rig r;
  bind_guard_config gc;
  gc.delay_ms = 100;
  gc.max_delay_ms = 1000;
  gc.lockout_failures = 3;
  gc.lockout_ms = 10'000;
  r.shared.guard = std::make_unique<bind_guard>(gc);
  auto c = r.t.accept("10.9.9.9");
  // First failure: answered at once.
  r.t.deliver(c, bind_pdu(command_id::bind_transmitter, "acme", "wrong", 1));
  EXPECT_EQ(decoded(r.t.take(c).at(0)).status, S::ESME_RBINDFAIL);
  // Second: answered 100 ms later.
  r.t.deliver(c, bind_pdu(command_id::bind_transmitter, "acme", "wrong", 2));
  EXPECT_TRUE(r.t.take(c).empty());
  r.advance(50);
  EXPECT_TRUE(r.t.take(c).empty());
  r.advance(60);
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).sequence_number, 2U);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_RBINDFAIL);
  // Third failure locks the address and the system_id: the right password no longer helps.
  r.t.deliver(c, bind_pdu(command_id::bind_transmitter, "acme", "wrong", 3));
  r.advance(250);
  EXPECT_EQ(decoded(r.t.take(c).at(0)).status, S::ESME_RBINDFAIL);
  auto other = r.t.accept("10.1.1.1");
  r.t.deliver(other, bind_pdu(command_id::bind_transmitter, "acme", "secret", 1));
  r.advance(1000);
  EXPECT_EQ(decoded(r.t.take(other).at(0)).status, S::ESME_RBINDFAIL);
  EXPECT_EQ(r.shared.guard->stats().refused_locked, 1U);
  // After the lock-out the right password binds (its answer still waits the delay).
  r.advance(10'000);
  auto later = r.t.accept("10.1.1.2");
  r.t.deliver(later, bind_pdu(command_id::bind_transmitter, "acme", "secret", 1));
  r.advance(1000);
  EXPECT_EQ(decoded(r.t.take(later).at(0)).status, S::ESME_ROK);
}

TEST(EsmeSession, BindBeyondTheTenantMaximumFails) {
  Rig r;
  r.bound_esme();
  r.bound_esme();
  auto c = r.t.accept();
  r.t.deliver(c, bind_pdu(command_id::bind_transceiver, "acme", "secret", 1));
  EXPECT_EQ(decoded(r.t.take(c).at(0)).status, S::ESME_RBINDFAIL);
  EXPECT_EQ(r.shared.binds_per_tenant[0].load(), 2U);
}

TEST(EsmeSession, ClosingABoundSessionFreesItsBindCount) {
  Rig r;
  auto c = r.bound_esme();
  r.t.peer_close(c);
  EXPECT_EQ(r.shared.binds_per_tenant[0].load(), 0U);
}

TEST(EsmeSession, PduBeforeBindIsInvalidBindStatus) {
  Rig r;
  auto c = r.t.accept();
  r.t.deliver(c, submit_pdu("4477", 5));
  r.t.deliver(c, header(command_id::enquire_link, S::ESME_ROK, 6));
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(decoded(out[0]).id, command_id::submit_sm_resp);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_RINVBNDSTS);
  EXPECT_EQ(decoded(out[1]).id, command_id::enquire_link_resp);
  EXPECT_EQ(decoded(out[1]).status, S::ESME_RINVBNDSTS);
}

TEST(EsmeSession, SecondBindIsAlreadyBound) {
  Rig r;
  auto c = r.bound_esme();
  r.t.deliver(c, bind_pdu(command_id::bind_transceiver, "acme", "secret", 9));
  EXPECT_EQ(decoded(r.t.take(c).at(0)).status, S::ESME_RALYBND);
}

TEST(EsmeSession, ReceiverCannotSubmit) {
  Rig r;
  r.bring_up_upstreams();
  auto c = r.t.accept();
  r.t.deliver(c, bind_pdu(command_id::bind_receiver, "acme", "secret", 1));
  r.t.take(c);
  r.t.deliver(c, submit_pdu("4477", 2));
  EXPECT_EQ(decoded(r.t.take(c).at(0)).status, S::ESME_RINVBNDSTS);
}

TEST(EsmeSession, UnknownCommandGetsGenericNackAndSessionStaysUp) {
  Rig r;
  auto c = r.bound_esme();
  r.t.deliver(c, header(static_cast<command_id>(0x00000110), S::ESME_ROK, 77));
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).id, command_id::generic_nack);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_RINVCMDID);
  EXPECT_EQ(decoded(out[0]).sequence_number, 77U);
  r.t.deliver(c, header(command_id::enquire_link, S::ESME_ROK, 78));
  EXPECT_EQ(decoded(r.t.take(c).at(0)).id, command_id::enquire_link_resp);
  EXPECT_FALSE(r.t.conns[c].closed);
}

TEST(EsmeSession, BadCommandLengthIsGenericNackThenClose) {
  Rig r;
  auto c = r.bound_esme();
  r.t.deliver(c, testing::from_hex("0000000800000015"));
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).id, command_id::generic_nack);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_RINVCMDLEN);
  EXPECT_TRUE(r.t.conns[c].closed);
}

TEST(EsmeSession, MalformedFieldGetsItsStatusAndSessionStaysUp) {
  Rig r;
  auto c = r.bound_esme();
  auto b = submit_pdu("4477", 4);
  // Corrupt sm_length ("hello" is the last 5 octets) to run past the PDU.
  b[b.size() - 6] = std::byte{200};
  r.t.deliver(c, b);
  const pdu resp = decoded(r.t.take(c).at(0));
  EXPECT_EQ(resp.id, command_id::submit_sm_resp);
  EXPECT_EQ(resp.status, S::ESME_RINVMSGLEN);
  EXPECT_FALSE(r.t.conns[c].closed);
}

TEST(EsmeSession, EnquireLinkAndUnbind) {
  Rig r;
  auto c = r.bound_esme();
  r.t.deliver(c, header(command_id::enquire_link, S::ESME_ROK, 10));
  r.t.deliver(c, header(command_id::unbind, S::ESME_ROK, 11));
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(decoded(out[0]).id, command_id::enquire_link_resp);
  EXPECT_EQ(decoded(out[1]).id, command_id::unbind_resp);
  EXPECT_EQ(decoded(out[1]).sequence_number, 11U);
  EXPECT_TRUE(r.t.conns[c].closed);
  EXPECT_FALSE(r.t.conns[c].aborted);  // graceful: the unbind_resp is written first
}

TEST(EsmeSession, UnbindWaitsForTheAnswersStillOwedThenAnswers) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("441234", 20));
  r.t.deliver(c, header(command_id::unbind, S::ESME_ROK, 21));
  EXPECT_TRUE(r.t.take(c).empty()) << "the submit_sm is still owed its answer";
  r.t.deliver(c, submit_pdu("441234", 22));  // too late: the session is unbinding
  auto refused = r.t.take(c);
  ASSERT_EQ(refused.size(), 1U);
  EXPECT_EQ(decoded(refused[0]).status, S::ESME_RINVBNDSTS);
  auto fwd = r.t.take(ups[0]);
  ASSERT_EQ(fwd.size(), 1U);
  pdu resp;
  resp.id = command_id::submit_sm_resp;
  resp.sequence_number = decoded(fwd[0]).sequence_number;
  resp.message_id = "m1";
  r.t.deliver(ups[0], encode(resp));
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(decoded(out[0]).id, command_id::submit_sm_resp);
  EXPECT_EQ(decoded(out[0]).sequence_number, 20U);
  EXPECT_EQ(decoded(out[1]).id, command_id::unbind_resp);
  EXPECT_EQ(decoded(out[1]).sequence_number, 21U);
  EXPECT_TRUE(r.t.conns[c].closed);
}

TEST(EsmeSession, UnknownSystemIdCostsAPasswordVerificationToo) {
  auto snap = make_snapshot();
  static int verifications = 0;
  snap->verify_password = [](const std::string& hash, std::string_view pw) {
    ++verifications;
    return hash == "plain:" + std::string(pw);
  };
  snap->dummy_password_hash = "plain:\x01";
  Rig r(snap);
  verifications = 0;
  auto c = r.t.accept();
  r.t.deliver(c, bind_pdu(command_id::bind_transmitter, "nobody", "secret", 1));
  EXPECT_EQ(decoded(r.t.take(c).at(0)).status, S::ESME_RBINDFAIL);
  EXPECT_EQ(verifications, 1);
}

TEST(EsmeSession, NoBindInTimeCloses) {
  Rig r;
  auto c = r.t.accept();
  r.advance(999);
  EXPECT_FALSE(r.t.conns[c].closed);
  r.advance(2);
  EXPECT_TRUE(r.t.conns[c].closed);
}

TEST(EsmeSession, UnfinishedPduCloses) {
  Rig r;
  auto c = r.bound_esme();
  auto b = submit_pdu("4477", 3);
  r.t.deliver(c, codec::bytes_view(b.data(), 10));
  r.advance(499);
  EXPECT_FALSE(r.t.conns[c].closed);
  r.advance(2);
  EXPECT_TRUE(r.t.conns[c].closed);
}

TEST(EsmeSession, IdleBoundSessionIsProbedWithEnquireLink) {
  Rig r;
  auto c = r.bound_esme();
  r.advance(10001);
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).id, command_id::enquire_link);
}

TEST(Routing, SubmitIsForwardedWithNewSequenceAndAnswerRestoresIt) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("447700900123", 4242));
  auto fwd = r.t.take(ups[0]);
  ASSERT_EQ(fwd.size(), 1U);
  const pdu f = decoded(fwd[0]);
  EXPECT_EQ(f.destination_addr, "447700900123");
  EXPECT_NE(f.sequence_number, 4242U);
  // Bytes identical but for the sequence number.
  auto orig = submit_pdu("447700900123", f.sequence_number);
  EXPECT_EQ(orig, fwd[0]);
  pdu resp;
  resp.id = command_id::submit_sm_resp;
  resp.sequence_number = f.sequence_number;
  resp.message_id = "msg-1";
  r.t.deliver(ups[0], encode(resp));
  auto back = r.t.take(c);
  ASSERT_EQ(back.size(), 1U);
  const pdu b = decoded(back[0]);
  EXPECT_EQ(b.id, command_id::submit_sm_resp);
  EXPECT_EQ(b.sequence_number, 4242U);
  EXPECT_EQ(b.message_id, "msg-1");
  EXPECT_EQ(r.w.stats().resp_relayed, 1U);
  // Answered once: nothing more comes when its response timeout (response_ms) has passed.
  r.advance(r.snap->timers.response_ms + 100);
  EXPECT_TRUE(r.t.take(c).empty());
  EXPECT_EQ(r.w.stats().upstream_timeouts, 0U);
}

TEST(Routing, LongestPrefixChoosesTheUpstream) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("3361234", 1));
  EXPECT_EQ(r.t.take(ups[0]).size(), 0U);
  EXPECT_EQ(r.t.take(ups[1]).size(), 1U);
}

TEST(Routing, ANetworkRouteSendsAPortedNumberToItsNewNetworkBeforeAnyPrefixRoute) {
  auto snap = make_snapshot();
  // 447700900001 moved from red (home prefix 44) to blue; one bucket with one slot.
  const uint64_t key = mnp_index::key_of("447700900001");
  huge_array<uint64_t> entries(1);
  entries[0] = mnp_index::pack(key, 1);
  huge_array<mnp_index::bucket> buckets(1);
  buckets[0] = mnp_index::bucket{key, 0, 0, 1, 0};
  huge_array<uint32_t> slots(2);
  slots[0] = 0;
  slots[1] = 1;
  snap->networks = network_map({"red", "blue"}, {{"44"}, {"4479"}},
                               std::make_shared<const mnp_index>(
                                   std::move(entries), std::move(buckets), std::move(slots), 0));
  route_def red;
  red.network = 0;
  red.upstreams = {0};
  route_def blue;
  blue.network = 1;
  blue.upstreams = {1};
  route_def r33;
  r33.destination_prefix = "33";
  r33.upstreams = {0};
  snap->routes = route_table({red, blue, r33});
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("4912345", 5));  // no network, no prefix route
  const auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_RINVDSTADR);
  EXPECT_EQ(decoded(out[0]).sequence_number, 5U);
  r.t.deliver(c, submit_pdu("447700900001", 1));   // ported: blue
  r.t.deliver(c, submit_pdu("447700900002", 2));   // red by its prefix
  r.t.deliver(c, submit_pdu("+447900000003", 3));  // blue by its prefix
  r.t.deliver(c, submit_pdu("3361234", 4));        // no network: the prefix route
  const auto to_red = r.t.take(ups[0]);
  const auto to_blue = r.t.take(ups[1]);
  ASSERT_EQ(to_red.size(), 2U);
  ASSERT_EQ(to_blue.size(), 2U);
  EXPECT_EQ(decoded(to_red[0]).destination_addr, "447700900002");
  EXPECT_EQ(decoded(to_red[1]).destination_addr, "3361234");
  EXPECT_EQ(decoded(to_blue[0]).destination_addr, "447700900001");
  EXPECT_EQ(decoded(to_blue[1]).destination_addr, "+447900000003");
}

TEST(Routing, NoRouteIsInvalidDestination) {
  Rig r;
  r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("4912345", 1));
  EXPECT_EQ(decoded(r.t.take(c).at(0)).status, S::ESME_RINVDSTADR);
}

TEST(Routing, WindowExceededIsThrottled) {
  Rig r;  // tenant window 4
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  for (uint32_t i = 1; i <= 5; ++i) r.t.deliver(c, submit_pdu("4477", i));
  EXPECT_EQ(r.t.take(ups[0]).size(), 4U);
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_RTHROTTLED);
  EXPECT_EQ(decoded(out[0]).sequence_number, 5U);
}

TEST(Routing, FailoverToTheNextUpstreamWhenTheFirstIsDown) {
  Rig r;
  auto ups = r.t.pending_connects;
  r.t.pending_connects.clear();
  r.t.complete_connect(ups[0], 111);  // primary refused
  r.t.complete_connect(ups[1]);
  auto bind = decoded(r.t.take(ups[1]).at(0));
  r.t.deliver(ups[1], header(command_id::bind_transceiver_resp, S::ESME_ROK, bind.sequence_number));
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("4477", 1));
  EXPECT_EQ(r.t.take(ups[1]).size(), 1U);
}

TEST(Routing, NoUpstreamUpIsTemporaryFailure) {
  Rig r;
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("4477", 1));
  EXPECT_EQ(decoded(r.t.take(c).at(0)).status, upstream_failure_status);
}

TEST(Routing, UpstreamDropAnswersEveryInflightRequestOnce) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  for (uint32_t i = 1; i <= 3; ++i) r.t.deliver(c, submit_pdu("4477", i));
  auto fwd = r.t.take(ups[0]);
  ASSERT_EQ(fwd.size(), 3U);
  r.t.peer_close(ups[0]);
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 3U);
  for (const auto& b : out) EXPECT_EQ(decoded(b).status, upstream_failure_status);
  // Nothing more arrives, even after timeouts pass.
  r.advance(5000);
  EXPECT_EQ(r.t.take(c).size(), 0U);
  EXPECT_EQ(r.w.stats().upstream_failed_inflight, 3U);
}

TEST(Routing, UpstreamTimeoutAnswersOnceAndTheLateAnswerIsDropped) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.t.deliver(c, submit_pdu("4477", 9));
  const pdu f = decoded(r.t.take(ups[0]).at(0));
  r.advance(1990);
  EXPECT_EQ(r.t.take(c).size(), 0U);
  r.advance(20);
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).status, upstream_failure_status);
  pdu resp;
  resp.id = command_id::submit_sm_resp;
  resp.sequence_number = f.sequence_number;
  resp.message_id = "late";
  r.t.deliver(ups[0], encode(resp));
  EXPECT_EQ(r.t.take(c).size(), 0U);
  EXPECT_EQ(r.w.stats().resp_orphaned, 1U);
}

// Output runs: answers relayed in one read share one reservation per ESME; more sessions than
// runs held open at once, interleaved, still each get exactly their answers, in order.
TEST(Routing, AnswersInOneReadReachEverySessionInOrderAcrossMoreSessionsThanOpenRuns) {
  auto snap = make_snapshot(1, 4);
  snap->tenants[0].max_binds = 16;
  snap->upstreams[0].binds[0].window = 64;
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  std::vector<fake_transport::conn_id> esmes;
  for (int i = 0; i < 12; ++i) esmes.push_back(r.bound_esme());
  for (auto c : esmes) {
    r.t.deliver(c, submit_pdu("4477", 10));
    r.t.deliver(c, submit_pdu("4477", 11));
  }
  auto fwd = r.t.take(ups[0]);
  ASSERT_EQ(fwd.size(), 24U);
  // The SMSC answers the first request of every session, then the second ones, in one read;
  // message id "m<session>-<request>".
  std::vector<std::byte> read;
  for (uint32_t k = 0; k < 2; ++k) {
    for (size_t i = 0; i < esmes.size(); ++i) {
      pdu resp;
      resp.id = command_id::submit_sm_resp;
      resp.sequence_number = decoded(fwd[2 * i + k]).sequence_number;
      const std::string id = "m" + std::to_string(i) + "-" + std::to_string(k);
      resp.message_id = id;
      const auto b = encode(resp);
      read.insert(read.end(), b.begin(), b.end());
    }
  }
  r.t.deliver(ups[0], read);
  for (size_t i = 0; i < esmes.size(); ++i) {
    auto back = r.t.take(esmes[i]);
    ASSERT_EQ(back.size(), 2U) << "session " << i;
    for (uint32_t k = 0; k < 2; ++k) {
      const pdu b = decoded(back[k]);
      EXPECT_EQ(b.id, command_id::submit_sm_resp);
      EXPECT_EQ(b.status, S::ESME_ROK);
      EXPECT_EQ(b.sequence_number, 10U + k);
      EXPECT_EQ(b.message_id, "m" + std::to_string(i) + "-" + std::to_string(k));
    }
  }
  EXPECT_EQ(r.w.stats().resp_relayed, 24U);
  EXPECT_EQ(r.w.stats().sessions_closed_slow, 0U);
}

// An answer the router writes itself (here: the SMSC's generic_nack turned into the ESME's own
// response) between relayed answers keeps its place in the ESME's stream.
TEST(Routing, AnAnswerWrittenByTheRouterBetweenRelayedOnesKeepsItsPlace) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  for (uint32_t i = 1; i <= 3; ++i) r.t.deliver(c, submit_pdu("4477", 100 + i));
  auto fwd = r.t.take(ups[0]);
  ASSERT_EQ(fwd.size(), 3U);
  std::vector<std::byte> read;
  for (uint32_t i = 0; i < 3; ++i) {
    const uint32_t seq = decoded(fwd[i]).sequence_number;
    std::vector<std::byte> b;
    if (i == 1) {
      b = header(command_id::generic_nack, S::ESME_RINVCMDLEN, seq);
    } else {
      pdu resp;
      resp.id = command_id::submit_sm_resp;
      resp.sequence_number = seq;
      resp.message_id = "ok";
      b = encode(resp);
    }
    read.insert(read.end(), b.begin(), b.end());
  }
  r.t.deliver(ups[0], read);
  auto back = r.t.take(c);
  ASSERT_EQ(back.size(), 3U);
  for (uint32_t i = 0; i < 3; ++i) {
    const pdu b = decoded(back[i]);
    EXPECT_EQ(b.id, command_id::submit_sm_resp);
    EXPECT_EQ(b.sequence_number, 101U + i);
    EXPECT_EQ(b.status, i == 1 ? S::ESME_RINVCMDLEN : S::ESME_ROK);
  }
  EXPECT_FALSE(r.t.conns[c].closed);
}

TEST(Routing, UpstreamReconnectsAfterDrop) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  r.t.peer_close(ups[0]);
  EXPECT_TRUE(r.t.pending_connects.empty());
  r.advance(r.snap->timers.reconnect_min_ms + 10);
  EXPECT_EQ(r.t.pending_connects.size(), 1U);
}

TEST(Routing, SlowEsmeIsClosedOthersUnaffected) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto slow = r.bound_esme();
  auto fast = r.bound_esme();
  r.t.deliver(slow, submit_pdu("4477", 1));
  r.t.deliver(fast, submit_pdu("4477", 2));
  auto fwd = r.t.take(ups[0]);
  ASSERT_EQ(fwd.size(), 2U);
  r.t.send_limit = 20;  // the slow ESME's queue is full: nothing more fits
  r.t.conns[slow].out.resize(10);
  pdu resp;
  resp.id = command_id::submit_sm_resp;
  resp.message_id = "x";
  resp.sequence_number = decoded(fwd[0]).sequence_number;
  r.t.deliver(ups[0], encode(resp));
  EXPECT_TRUE(r.t.conns[slow].closed);
  r.t.send_limit = 1 << 20;
  resp.sequence_number = decoded(fwd[1]).sequence_number;
  r.t.deliver(ups[0], encode(resp));
  EXPECT_EQ(decoded(r.t.take(fast).at(0)).sequence_number, 2U);
  EXPECT_FALSE(r.t.conns[fast].closed);
}

TEST(Shutdown, UnbindsEsmesAndUpstreamsThenFinishes) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto c = r.bound_esme();
  r.w.begin_shutdown(r.now);
  auto out = r.t.take(c);
  ASSERT_EQ(out.size(), 1U);
  const pdu u = decoded(out[0]);
  EXPECT_EQ(u.id, command_id::unbind);
  r.t.deliver(c, header(command_id::unbind_resp, S::ESME_ROK, u.sequence_number));
  EXPECT_TRUE(r.t.conns[c].closed);
  for (auto up : ups) {
    auto up_out = r.t.take(up);
    ASSERT_EQ(up_out.size(), 1U);
    EXPECT_EQ(decoded(up_out[0]).id, command_id::unbind);
    EXPECT_FALSE(r.w.done());
    r.t.deliver(up,
                header(command_id::unbind_resp, S::ESME_ROK, decoded(up_out[0]).sequence_number));
  }
  r.t.poll(0);
  EXPECT_EQ(r.t.connections(), 0U);
  EXPECT_TRUE(r.w.done());
}

TEST(RouteTable, LongestPrefixTenantAndFilters) {
  route_def any;
  any.destination_prefix = "";
  any.upstreams = {0};
  route_def uk;
  uk.destination_prefix = "+44";
  uk.upstreams = {1};
  route_def uk_tenant = uk;
  uk_tenant.tenant = 7;
  uk_tenant.upstreams = {2};
  route_def uk_svc = uk;
  uk_svc.service_type = "WAP";
  uk_svc.upstreams = {3};
  route_table t({any, uk, uk_tenant, uk_svc});
  EXPECT_EQ(t.lookup(1, "4477", "", "")->upstreams[0], 1U);
  EXPECT_EQ(t.lookup(7, "+4477", "", "")->upstreams[0], 2U);
  EXPECT_EQ(t.lookup(1, "4477", "", "WAP")->upstreams[0], 3U);
  EXPECT_EQ(t.lookup(1, "3377", "", "")->upstreams[0], 0U);
  EXPECT_EQ(t.lookup(1, "", "", "")->upstreams[0], 0U);
  route_table empty({uk});
  EXPECT_EQ(empty.lookup(1, "3377", "", ""), nullptr);
}

TEST(Cidr, ParseAndContains) {
  cidr c;
  ASSERT_TRUE(cidr::parse("192.168.0.0/16", c));
  peer_address p;
  p.family = 2;
  p.addr[0] = std::byte{192};
  p.addr[1] = std::byte{168};
  p.addr[2] = std::byte{7};
  EXPECT_TRUE(c.contains(p));
  p.addr[1] = std::byte{169};
  EXPECT_FALSE(c.contains(p));
  EXPECT_FALSE(cidr::parse("10.0.0.0/33", c));
  EXPECT_FALSE(cidr::parse("banana", c));
  ASSERT_TRUE(cidr::parse("::1/128", c));
}

}  // namespace
}  // namespace smpp::dataplane

namespace smpp::dataplane {
namespace {

// Two workers sharing one snapshot: worker 0 owns every upstream bind (brought up and bound),
// worker 1 owns the ESME sessions, so each request crosses the rings.
struct TwoWorkers {
  explicit TwoWorkers(std::shared_ptr<router_snapshot> s, size_t ring_cells = 256)
      : snap(std::move(s)),
        shared(snap->tenants.size(), snap->upstreams.size(), 2),
        mesh(2, ring_cells),
        w0(0, 2, t0, snap, &shared, &mesh),
        w1(1, 2, t1, snap, &shared, &mesh) {
    EXPECT_EQ(w0.start(0), 0);
    EXPECT_EQ(w1.start(0), 0);
    ups = t0.pending_connects;
    for (auto c : ups) {
      t0.complete_connect(c);
      const pdu b = decoded(t0.take(c).at(0));
      t0.deliver(c, header(command_id::bind_transceiver_resp, S::ESME_ROK, b.sequence_number));
    }
  }
  fake_transport::conn_id esme_on_w1() {
    auto esme = t1.accept();
    t1.deliver(esme, bind_pdu(command_id::bind_transceiver, "acme", "secret", 1));
    t1.take(esme);
    return esme;
  }
  std::shared_ptr<router_snapshot> snap;
  shared_state shared;
  ring_mesh mesh;
  fake_transport t0, t1;
  router_worker w0, w1;
  std::vector<fake_transport::conn_id> ups;
};

TEST(Handoff, RequestsReachTheWorkerThatOwnsTheBindAndAnswersComeBack) {
  // One upstream bind, two workers: worker 1 owns no bind and hands its ESME's traffic over.
  auto snap = make_snapshot(1, 16);
  shared_state shared(snap->tenants.size(), snap->upstreams.size(), 2);
  ring_mesh mesh(2, 64);
  fake_transport t0, t1;
  router_worker w0(0, 2, t0, snap, &shared, &mesh);
  router_worker w1(1, 2, t1, snap, &shared, &mesh);
  ASSERT_EQ(w0.start(0), 0);
  ASSERT_EQ(w1.start(0), 0);
  EXPECT_TRUE(t1.pending_connects.empty());
  ASSERT_EQ(t0.pending_connects.size(), 2U);  // primary and backup, both owned by worker 0
  std::vector<fake_transport::conn_id> ups = t0.pending_connects;
  for (auto c : ups) {
    t0.complete_connect(c);
    const pdu b = decoded(t0.take(c).at(0));
    t0.deliver(c, header(command_id::bind_transceiver_resp, S::ESME_ROK, b.sequence_number));
  }
  auto esme = t1.accept();
  t1.deliver(esme, bind_pdu(command_id::bind_transceiver, "acme", "secret", 1));
  t1.take(esme);
  // A large PDU (message_payload) spans several cells.
  pdu big;
  big.id = command_id::submit_sm;
  big.sequence_number = 500;
  big.destination_addr = "4477";
  std::vector<std::byte> payload(3000, std::byte{0x41});
  std::vector<std::byte> tlvs(4000);
  codec::tlv_writer w(tlvs);
  ASSERT_TRUE(w.add(codec::tag::message_payload, payload));
  big.tlvs = w.area();
  const auto big_bytes = encode(big);
  for (uint32_t i = 1; i <= 10; ++i) t1.deliver(esme, i == 5 ? big_bytes : submit_pdu("4477", i));
  w1.run_once(1, 0);
  w0.run_once(1, 0);
  auto fwd = t0.take(ups[0]);
  ASSERT_EQ(fwd.size(), 10U);
  EXPECT_EQ(fwd[4].size(), big_bytes.size());
  for (const auto& f : fwd) {
    pdu resp;
    resp.id = command_id::submit_sm_resp;
    resp.sequence_number = decoded(f).sequence_number;
    resp.message_id = "m";
    t0.deliver(ups[0], encode(resp));
  }
  w0.run_once(2, 0);
  w1.run_once(2, 0);
  auto back = t1.take(esme);
  ASSERT_EQ(back.size(), 10U);
  std::vector<uint32_t> seqs;
  for (const auto& b : back) {
    EXPECT_EQ(decoded(b).status, S::ESME_ROK);
    seqs.push_back(decoded(b).sequence_number);
  }
  std::vector<uint32_t> want;
  for (uint32_t i = 1; i < 5; ++i) want.push_back(i);
  want.push_back(500);
  for (uint32_t i = 6; i <= 10; ++i) want.push_back(i);
  EXPECT_EQ(seqs, want);
  EXPECT_EQ(w1.stats().handed_off, 10U);
  EXPECT_EQ(w0.stats().handoff_received, 10U);
}

TEST(Handoff, AFullRingIsBackPressureNotALoss) {
  auto snap = make_snapshot(1, 64);
  snap->tenants[0].backpressure = false;  // queue_full = "throttle": answered at once
  shared_state shared(snap->tenants.size(), snap->upstreams.size(), 2);
  ring_mesh mesh(2, 4);  // room for 4 single-cell messages
  fake_transport t0, t1;
  router_worker w0(0, 2, t0, snap, &shared, &mesh);
  router_worker w1(1, 2, t1, snap, &shared, &mesh);
  ASSERT_EQ(w0.start(0), 0);
  ASSERT_EQ(w1.start(0), 0);
  for (auto c : std::vector<fake_transport::conn_id>(t0.pending_connects)) {
    t0.complete_connect(c);
    const pdu b = decoded(t0.take(c).at(0));
    t0.deliver(c, header(command_id::bind_transceiver_resp, S::ESME_ROK, b.sequence_number));
  }
  auto esme = t1.accept();
  t1.deliver(esme, bind_pdu(command_id::bind_transceiver, "acme", "secret", 1));
  t1.take(esme);
  for (uint32_t i = 1; i <= 6; ++i) t1.deliver(esme, submit_pdu("4477", i));
  auto now = t1.take(esme);
  ASSERT_EQ(now.size(), 2U);  // the two that found no room
  for (const auto& b : now) EXPECT_EQ(decoded(b).status, S::ESME_RTHROTTLED);
  w0.run_once(1, 0);
  EXPECT_EQ(w0.stats().handoff_received, 4U);
}

// ---------------------------------------------------------------------------------------------
// Return path: receipts, MO messages, the hold queue, message operations

// An ESME bound with `bind` as tenant acme.
fake_transport::conn_id bind_as(Rig& r, command_id bind, uint32_t seq = 1) {
  auto c = r.t.accept();
  r.t.deliver(c, bind_pdu(bind, "acme", "secret", seq));
  EXPECT_EQ(decoded(r.t.take(c).at(0)).status, S::ESME_ROK);
  return c;
}

// Sends one submit_sm from esme through upstream `up`, which answers with message_id; returns
// the message_id the ESME got.
std::string submit_and_accept(Rig& r, fake_transport::conn_id esme, fake_transport::conn_id up,
                              std::string_view message_id, uint32_t seq) {
  r.t.deliver(esme, submit_pdu("441234", seq));
  auto fwd = r.t.take(up);
  EXPECT_EQ(fwd.size(), 1U);
  pdu resp;
  resp.id = command_id::submit_sm_resp;
  resp.sequence_number = decoded(fwd.at(0)).sequence_number;
  resp.message_id = message_id;
  r.t.deliver(up, encode(resp));
  auto back = r.t.take(esme);
  EXPECT_EQ(back.size(), 1U);
  const pdu b = decoded(back.at(0));
  EXPECT_EQ(b.sequence_number, seq);
  return std::string(b.message_id);
}

// An MO deliver_sm to `dest` whose text names the SMSC's sequence number ("MO 62"), so a test
// can tell which message the router delivered.
std::string mo_text(uint32_t seq) {
  return "MO " + std::to_string(seq);
}
std::vector<std::byte> mo_pdu(std::string_view dest, uint32_t seq) {
  const std::string text = mo_text(seq);
  pdu p;
  p.id = command_id::deliver_sm;
  p.sequence_number = seq;
  p.source_addr = "447700900123";
  p.destination_addr = dest;
  p.short_message = codec::as_bytes(text);
  return encode(p);
}

// Receipts that come within the turn their answers came in: a short batch of noted ids is
// looked through, a long one inserted first; either way each receipt finds its message, once.
TEST(ReturnPath, ReceiptsWithinTheTurnOfTheirAnswersMatchWhateverTheBatchLength) {
  for (const uint32_t n : {3U, 40U, 300U}) {
    auto snap = make_snapshot();
    snap->tenants[0].window = 1024;
    snap->tenants[0].deliver_window = 1024;
    Rig r(snap);
    auto ups = r.bring_up_upstreams();
    auto esme = bind_as(r, command_id::bind_transceiver);
    for (uint32_t i = 0; i < n; ++i)
      submit_and_accept(r, esme, ups[0], std::to_string(7000 + i), 2 + i);
    for (uint32_t i = 0; i < n; ++i) {
      r.t.deliver(ups[0],
                  receipt_pdu("id:" + std::to_string(7000 + i) + " stat:DELIVRD", 5000 + i));
    }
    EXPECT_EQ(r.t.take(esme).size(), n) << n;
    EXPECT_EQ(r.w.stats().receipts_unmatched, 0U) << n;
    r.w.run_once(r.now, 0);
    EXPECT_EQ(r.w.stats().correlation_inserts, n) << n;
  }
}

TEST(ReturnPath, ReceiptQuotingTheIdInDecimalReachesTheSubmittingTenantAndItsAnswerGoesBack) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto esme = bind_as(r, command_id::bind_transceiver);
  // The SMSC answers in hex and quotes the receipt in zero-padded decimal (0x38601fa).
  EXPECT_EQ(submit_and_accept(r, esme, ups[0], "38601fa", 5), "38601fa");
  r.t.deliver(ups[0], receipt_pdu("id:0059113978 sub:001 dlvrd:001 submit date:2611260101 "
                                  "done date:2611260102 stat:DELIVRD err:000 text:hello",
                                  77));
  EXPECT_TRUE(r.t.take(ups[0]).empty());  // nothing answered before the ESME answers
  auto got = r.t.take(esme);
  ASSERT_EQ(got.size(), 1U);
  const pdu d = decoded(got[0]);
  EXPECT_EQ(d.id, command_id::deliver_sm);
  EXPECT_EQ(d.esm_class, codec::esm_class_delivery_receipt);
  EXPECT_NE(d.sequence_number, 77U);  // the router's own sequence number towards the ESME
  r.t.deliver(esme, header(command_id::deliver_sm_resp, S::ESME_ROK, d.sequence_number));
  auto ack = r.t.take(ups[0]);
  ASSERT_EQ(ack.size(), 1U);
  const pdu a = decoded(ack[0]);
  EXPECT_EQ(a.id, command_id::deliver_sm_resp);
  EXPECT_EQ(a.sequence_number, 77U);
  EXPECT_EQ(a.status, S::ESME_ROK);
  EXPECT_EQ(r.w.stats().receipts_received, 1U);
  EXPECT_EQ(r.w.stats().deliver_acked, 1U);
  r.w.run_once(r.now, 0);  // the turn ends: the ids noted in it are in the table
  EXPECT_EQ(r.w.stats().correlation_inserts, 1U);
}

// The receipt the ESME answers with `status`; the router's answer to the SMSC.
pdu receipt_round_trip(Rig& r, fake_transport::conn_id esme, fake_transport::conn_id up,
                       std::string_view text, uint32_t smsc_seq, S esme_status) {
  r.t.deliver(up, receipt_pdu(text, smsc_seq));
  auto got = r.t.take(esme);
  EXPECT_EQ(got.size(), 1U) << text;
  if (got.empty()) return {};
  r.t.deliver(esme,
              header(command_id::deliver_sm_resp, esme_status, decoded(got[0]).sequence_number));
  r.w.run_once(r.now, 0);  // the turn ends: ids of final receipts answered in it go then
  auto ack = r.t.take(up);
  EXPECT_EQ(ack.size(), 1U);
  return ack.empty() ? pdu{} : decoded(ack[0]);
}

TEST(ReturnPath, FinalReceiptFreesItsIdOnceAnsweredOkAndARefusedOneKeepsItForTheRetry) {
  for (const bool keep_final : {false, true}) {
    auto snap = make_snapshot();
    if (!keep_final) snap->correlation.keep_final_ms = 0;
    Rig r(snap);
    auto ups = r.bring_up_upstreams();
    auto esme = bind_as(r, command_id::bind_transceiver);
    submit_and_accept(r, esme, ups[0], "500", 2);
    // An intermediate state ends nothing.
    EXPECT_EQ(receipt_round_trip(r, esme, ups[0], "id:500 stat:ENROUTE", 10, S::ESME_ROK).status,
              S::ESME_ROK);
    EXPECT_EQ(r.w.stats().correlation_final, 0U);
    // The final one, refused by the ESME for now: the SMSC keeps it, the id stays.
    EXPECT_EQ(
        receipt_round_trip(r, esme, ups[0], "id:500 stat:DELIVRD", 11, S::ESME_RX_T_APPN).status,
        S::ESME_RX_T_APPN);
    EXPECT_EQ(r.w.stats().correlation_final, 0U);
    // The SMSC's retry still matches; answered ESME_ROK, the id goes.
    EXPECT_EQ(receipt_round_trip(r, esme, ups[0], "id:500 stat:DELIVRD", 12, S::ESME_ROK).status,
              S::ESME_ROK);
    EXPECT_EQ(r.w.stats().correlation_final, 1U);
    // A copy of it now matches nothing: acknowledged, counted.
    r.t.deliver(ups[0], receipt_pdu("id:500 stat:DELIVRD", 13));
    EXPECT_TRUE(r.t.take(esme).empty());
    ASSERT_EQ(r.t.take(ups[0]).size(), 1U);
    EXPECT_EQ(r.w.stats().receipts_unmatched, 1U);
    // Each receipt counted once, by what became of it, for the tenant and the upstream.
    const auto& t = r.w.tenant_stats()[0].receipts;
    EXPECT_EQ(t.received, 3U);
    EXPECT_EQ(t.delivered, 2U);
    EXPECT_EQ(t.refused, 1U);
    EXPECT_EQ(t.held, 0U);
    const auto& u = r.w.upstream_stats()[0];
    EXPECT_EQ(u.receipts.received, 4U);
    EXPECT_EQ(u.receipts.delivered, 2U);
    EXPECT_EQ(u.receipts.refused, 1U);
    EXPECT_EQ(u.receipts_unmatched, 1U);
    EXPECT_EQ(r.w.stats().deliver_refused, 1U);
    // A query after the final receipt reaches the SMSC only while the id is kept for it.
    pdu q;
    q.id = command_id::query_sm;
    q.sequence_number = 20;
    q.message_id = "500";
    r.t.deliver(esme, encode(q));
    if (keep_final) {
      EXPECT_EQ(r.t.take(ups[0]).size(), 1U);
    } else {
      auto a = r.t.take(esme);
      ASSERT_EQ(a.size(), 1U);
      EXPECT_EQ(decoded(a[0]).status, S::ESME_RINVMSGID);
    }
  }
}

TEST(ReturnPath, ReceiptsSpreadOverTheTenantsReceiversAndTheTlvIdWins) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto tx = bind_as(r, command_id::bind_transmitter);
  auto rx1 = bind_as(r, command_id::bind_receiver);
  submit_and_accept(r, tx, ups[0], "A1", 2);
  submit_and_accept(r, tx, ups[0], "A2", 3);
  // The text names another id; receipted_message_id (TLV) takes precedence.
  r.t.deliver(ups[0], receipt_pdu("id:ffff stat:DELIVRD", 10, "a1"));
  r.t.deliver(ups[0], receipt_pdu("id:ffff stat:DELIVRD", 11, "0A2"));
  EXPECT_TRUE(r.t.take(tx).empty());  // a transmitter receives nothing
  EXPECT_EQ(r.t.take(rx1).size(), 2U);
  EXPECT_EQ(r.w.stats().receipts_unmatched, 0U);
}

// A turn's receipts go to one receiver, in one write; the next turn's to the next receiver; a
// receiver whose deliver window is full passes the rest of the turn on.
TEST(ReturnPath, ReceiptsGoToOneReceiverPerTurnAndTurnsAlternateBetweenReceivers) {
  auto snap = make_snapshot();
  snap->tenants[0].max_binds = 3;
  snap->tenants[0].deliver_window = 3;
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto tx = bind_as(r, command_id::bind_transmitter);
  auto rx1 = bind_as(r, command_id::bind_receiver);
  auto rx2 = bind_as(r, command_id::bind_transceiver);
  uint32_t n = 0;
  auto turn = [&](uint64_t now_us, uint32_t receipts) {
    (void)r.w.run_once(r.now, 0, now_us);
    for (uint32_t i = 0; i < receipts; ++i, ++n) {
      const std::string id = "m" + std::to_string(n);
      submit_and_accept(r, tx, ups[0], id, 10 + n);
      r.t.deliver(ups[0], receipt_pdu("id:" + id + " stat:DELIVRD", 100 + n));
    }
    return std::pair{r.t.take(rx1).size(), r.t.take(rx2).size()};
  };
  const auto first = turn(5000, 2);
  EXPECT_TRUE(first == std::pair(size_t{2}, size_t{0}) || first == std::pair(size_t{0}, size_t{2}))
      << first.first << " " << first.second;
  const auto second = turn(5001, 1);  // the other receiver
  EXPECT_EQ(second.first, first.second == 0 ? 0U : 1U);
  EXPECT_EQ(second.second, first.first == 0 ? 0U : 1U);
  // Nothing answered yet (window 3): the first turn's receiver has room for one more, the
  // second's for two. The third turn is the first receiver's again: it takes one, and once its
  // window is full the other takes the rest.
  const auto third = turn(5002, 3);
  EXPECT_EQ(first.first == 2 ? third.first : third.second, 1U);
  EXPECT_EQ(first.first == 2 ? third.second : third.first, 2U);
  EXPECT_EQ(r.w.stats().receipts_unmatched, 0U);
}

TEST(ReturnPath, UnmatchedAndIdlessReceiptsAreAcknowledgedAndCounted) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto esme = bind_as(r, command_id::bind_transceiver);
  r.t.deliver(ups[0], receipt_pdu("id:12345 stat:DELIVRD", 9));
  r.t.deliver(ups[0], receipt_pdu("stat:DELIVRD no id here", 10));
  auto ack = r.t.take(ups[0]);
  ASSERT_EQ(ack.size(), 2U);
  EXPECT_EQ(decoded(ack[0]).status, S::ESME_ROK);
  EXPECT_EQ(decoded(ack[1]).sequence_number, 10U);
  EXPECT_TRUE(r.t.take(esme).empty());
  EXPECT_EQ(r.w.stats().receipts_unmatched, 1U);
  EXPECT_EQ(r.w.stats().receipts_invalid, 1U);
  // Counted and logged, at most once per 10 s.
  ::testing::internal::CaptureStderr();
  r.advance(10);
  r.t.deliver(ups[0], receipt_pdu("id:777 stat:DELIVRD", 11));
  r.advance(10);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("worker 0: 1 receipts matched no message id"), std::string::npos) << log;
  EXPECT_NE(log.find("1 receipts without a usable message id"), std::string::npos) << log;
  EXPECT_EQ(log.find("(2 in all)"), std::string::npos) << "rate-limited: " << log;
}

TEST(ReturnPath, ReceiptForAnotherUpstreamsIdDoesNotMatch) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto esme = bind_as(r, command_id::bind_transceiver);
  submit_and_accept(r, esme, ups[0], "777", 2);
  r.t.deliver(ups[1], receipt_pdu("id:777 stat:DELIVRD", 3));  // same id, other SMSC
  EXPECT_TRUE(r.t.take(esme).empty());
  EXPECT_EQ(r.w.stats().receipts_unmatched, 1U);
}

TEST(ReturnPath, NoReceiverBoundHoldsTheReceiptUntilOneBinds) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto tx = bind_as(r, command_id::bind_transmitter);
  submit_and_accept(r, tx, ups[0], "42", 2);
  r.t.deliver(ups[0], receipt_pdu("id:42 stat:DELIVRD", 8));
  // Taken into custody: acknowledged upstream at once.
  auto ack = r.t.take(ups[0]);
  ASSERT_EQ(ack.size(), 1U);
  EXPECT_EQ(decoded(ack[0]).status, S::ESME_ROK);
  EXPECT_EQ(r.w.stats().held, 1U);
  auto rx = bind_as(r, command_id::bind_receiver);
  r.advance(10);
  auto got = r.t.take(rx);
  ASSERT_EQ(got.size(), 1U);
  const pdu d = decoded(got[0]);
  EXPECT_EQ(d.id, command_id::deliver_sm);
  r.t.deliver(rx, header(command_id::deliver_sm_resp, S::ESME_ROK, d.sequence_number));
  EXPECT_TRUE(r.t.take(ups[0]).empty());  // answered long ago: nothing more upstream
  EXPECT_EQ(r.w.stats().deliver_acked, 1U);
}

TEST(ReturnPath, HoldQueueIsBoundedAndExpires) {
  auto snap = make_snapshot();
  snap->tenants[0].hold_max = 2;
  snap->tenants[0].hold_ttl_ms = 1000;
  snap->tenants[0].max_binds = 3;
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto tx = bind_as(r, command_id::bind_transmitter);
  for (uint32_t i = 0; i < 3; ++i) submit_and_accept(r, tx, ups[0], "h" + std::to_string(i), 2 + i);
  for (uint32_t i = 0; i < 3; ++i)
    r.t.deliver(ups[0], receipt_pdu("id:h" + std::to_string(i) + " stat:DELIVRD", 20 + i));
  auto ack = r.t.take(ups[0]);
  ASSERT_EQ(ack.size(), 3U);
  EXPECT_EQ(decoded(ack[0]).status, S::ESME_ROK);
  EXPECT_EQ(decoded(ack[1]).status, S::ESME_ROK);
  // Beyond the bound: a temporary error keeps the receipt at the SMSC, which retries.
  EXPECT_EQ(decoded(ack[2]).status, S::ESME_RX_T_APPN);
  EXPECT_EQ(r.w.stats().hold_full, 1U);
  r.advance(1001);
  EXPECT_EQ(r.w.stats().hold_expired, 2U);
  auto rx = bind_as(r, command_id::bind_receiver);
  r.advance(10);
  EXPECT_TRUE(r.t.take(rx).empty());
}

TEST(ReturnPath, MoMessagesFollowMoRoutesAndUnroutedOnesAreRefused) {
  auto snap = make_snapshot();
  route_def mo;
  mo.tenant = any_tenant;
  mo.destination_prefix = "555";
  mo.upstreams = {0};  // tenant acme
  snap->mo_routes = route_table({mo});
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto rx = bind_as(r, command_id::bind_transceiver);
  r.t.deliver(ups[1], mo_pdu("5551234", 31));
  auto got = r.t.take(rx);
  ASSERT_EQ(got.size(), 1U);
  const pdu d = decoded(got[0]);
  EXPECT_EQ(d.destination_addr, "5551234");
  r.t.deliver(rx, header(command_id::deliver_sm_resp, S::ESME_ROK, d.sequence_number));
  auto ack = r.t.take(ups[1]);
  ASSERT_EQ(ack.size(), 1U);
  EXPECT_EQ(decoded(ack[0]).sequence_number, 31U);
  EXPECT_EQ(decoded(ack[0]).status, S::ESME_ROK);
  r.t.deliver(ups[1], mo_pdu("999", 32));
  ack = r.t.take(ups[1]);
  ASSERT_EQ(ack.size(), 1U);
  EXPECT_EQ(decoded(ack[0]).status, S::ESME_RINVDSTADR);
  EXPECT_EQ(r.w.stats().mo_unrouted, 1U);
}

TEST(ReturnPath, EsmeErrorIsRelayedAndSilenceBecomesATemporaryError) {
  auto snap = make_snapshot();
  route_def mo;
  mo.destination_prefix = "";
  mo.upstreams = {0};
  snap->mo_routes = route_table({mo});
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto rx = bind_as(r, command_id::bind_receiver);
  r.t.deliver(ups[0], mo_pdu("1", 40));
  r.t.deliver(ups[0], mo_pdu("2", 41));
  auto got = r.t.take(rx);
  ASSERT_EQ(got.size(), 2U);
  r.t.deliver(
      rx, header(command_id::deliver_sm_resp, S::ESME_RSYSERR, decoded(got[0]).sequence_number));
  auto ack = r.t.take(ups[0]);
  ASSERT_EQ(ack.size(), 1U);
  EXPECT_EQ(decoded(ack[0]).status, S::ESME_RSYSERR);
  EXPECT_EQ(decoded(ack[0]).sequence_number, 40U);
  r.advance(snap->timers.response_ms + 10);  // the second is never answered
  ack = r.t.take(ups[0]);
  ASSERT_EQ(ack.size(), 1U);
  EXPECT_EQ(decoded(ack[0]).sequence_number, 41U);
  EXPECT_EQ(decoded(ack[0]).status, S::ESME_RX_T_APPN);
  EXPECT_EQ(r.w.stats().deliver_failed, 2U);
}

TEST(ReturnPath, ReceiverThatClosesAnswersItsPendingDeliveriesUpstream) {
  auto snap = make_snapshot();
  route_def mo;
  mo.upstreams = {0};
  snap->mo_routes = route_table({mo});
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto rx = bind_as(r, command_id::bind_receiver);
  r.t.deliver(ups[0], mo_pdu("1", 50));
  ASSERT_EQ(r.t.take(rx).size(), 1U);
  r.t.peer_close(rx);
  r.t.poll(0);
  auto ack = r.t.take(ups[0]);
  ASSERT_EQ(ack.size(), 1U);
  EXPECT_EQ(decoded(ack[0]).status, S::ESME_RX_T_APPN);
  EXPECT_EQ(r.shared.receivers[0].load(), 0U);
}

TEST(ReturnPath, FullDeliverWindowHoldsThenThrottlesAndAnswersDrainTheHold) {
  auto snap = make_snapshot();
  snap->tenants[0].deliver_window = 2;
  snap->tenants[0].hold_max = 1;
  route_def mo;
  mo.upstreams = {0};
  snap->mo_routes = route_table({mo});
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto rx = bind_as(r, command_id::bind_receiver);
  for (uint32_t i = 0; i < 4; ++i) r.t.deliver(ups[0], mo_pdu("1", 60 + i));
  auto got = r.t.take(rx);
  ASSERT_EQ(got.size(), 2U);  // the window: the first two, in order
  EXPECT_EQ(decoded(got[0]).short_message.as_chars(), mo_text(60));
  EXPECT_EQ(decoded(got[1]).short_message.as_chars(), mo_text(61));
  auto ack = r.t.take(ups[0]);
  ASSERT_EQ(ack.size(), 2U);
  EXPECT_EQ(decoded(ack[0]).sequence_number, 62U);  // held: taken into custody
  EXPECT_EQ(decoded(ack[0]).status, S::ESME_ROK);
  EXPECT_EQ(decoded(ack[1]).sequence_number, 63U);  // hold full too: the SMSC slows down
  EXPECT_EQ(decoded(ack[1]).status, S::ESME_RTHROTTLED);
  // An answer frees the window: the held message goes at once.
  r.t.deliver(rx,
              header(command_id::deliver_sm_resp, S::ESME_ROK, decoded(got[0]).sequence_number));
  auto next = r.t.take(rx);
  ASSERT_EQ(next.size(), 1U);
  EXPECT_EQ(decoded(next[0]).short_message.as_chars(), mo_text(62));
  EXPECT_EQ(r.w.stats().deliver_busy, 2U);
  EXPECT_EQ(r.w.stats().hold_full, 1U);
}

TEST(ReturnPath, AFullHoldQueueWhileReceiversAnswerHoldsTheBindBackInsteadOfRefusing) {
  auto snap = make_snapshot();
  snap->tenants[0].deliver_window = 1;
  snap->tenants[0].hold_max = 2;
  route_def mo;
  mo.upstreams = {0};
  snap->mo_routes = route_table({mo});
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto rx = bind_as(r, command_id::bind_receiver);
  auto answer_one = [&] {
    auto got = r.t.take(rx);
    ASSERT_EQ(got.size(), 1U);
    r.t.deliver(rx,
                header(command_id::deliver_sm_resp, S::ESME_ROK, decoded(got[0]).sequence_number));
  };
  // The receiver has answered once: it is draining.
  r.t.deliver(ups[0], mo_pdu("1", 10));
  answer_one();
  EXPECT_EQ(r.t.take(ups[0]).size(), 1U);
  // One in its window, two held (the bound), then two more: kept, and the bind is not read.
  for (uint32_t i = 0; i < 5; ++i) r.t.deliver(ups[0], mo_pdu("1", 20 + i));
  auto acks = r.t.take(ups[0]);
  ASSERT_EQ(acks.size(), 4U);  // the four held; the one in the window waits for the ESME
  for (const auto& a : acks) EXPECT_EQ(decoded(a).status, S::ESME_ROK);
  EXPECT_TRUE(r.t.conns.at(ups[0]).read_paused);
  EXPECT_EQ(r.w.stats().binds_held_back, 1U);
  EXPECT_EQ(r.w.stats().deliver_refused, 0U);
  // What was read before the pause took effect is kept up to twice the bound; beyond, refused.
  r.t.deliver(ups[0], mo_pdu("1", 30));
  acks = r.t.take(ups[0]);
  ASSERT_EQ(acks.size(), 1U);
  EXPECT_EQ(decoded(acks[0]).status, S::ESME_RTHROTTLED);
  // The receiver drains the queue to half its bound: the bind is read again.
  answer_one();
  answer_one();
  answer_one();
  EXPECT_FALSE(r.t.conns.at(ups[0]).read_paused);
  answer_one();
  answer_one();
  EXPECT_EQ(r.w.tenant_stats()[0].mo.delivered, 6U);
  EXPECT_EQ(r.w.tenant_stats()[0].mo.refused, 1U);
}

TEST(ReturnPath, QueryCancelReplaceGoToTheUpstreamThatAcceptedTheMessage) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto esme = bind_as(r, command_id::bind_transceiver);
  // Destination 33 is routed to upstream 1 only.
  r.t.deliver(esme, submit_pdu("331234", 4));
  auto fwd = r.t.take(ups[1]);
  ASSERT_EQ(fwd.size(), 1U);
  pdu resp;
  resp.id = command_id::submit_sm_resp;
  resp.sequence_number = decoded(fwd[0]).sequence_number;
  resp.message_id = "AB12CD";
  r.t.deliver(ups[1], encode(resp));
  ASSERT_EQ(r.t.take(esme).size(), 1U);
  for (command_id op : {command_id::query_sm, command_id::cancel_sm, command_id::replace_sm}) {
    pdu q;
    q.id = op;
    q.sequence_number = 90;
    q.message_id = "ab12cd";  // case differs: still the same id
    q.source_addr = "1234";
    r.t.deliver(esme, encode(q));
    EXPECT_TRUE(r.t.take(ups[0]).empty());
    auto sent = r.t.take(ups[1]);
    ASSERT_EQ(sent.size(), 1U) << codec::command_name(op);
    const pdu f = decoded(sent[0]);
    EXPECT_EQ(f.id, op);
    pdu a;
    a.id = codec::response_of(op);
    a.sequence_number = f.sequence_number;
    if (op == command_id::query_sm) {
      a.message_id = "AB12CD";
      a.message_state = 2;
    }
    r.t.deliver(ups[1], encode(a));
    auto back = r.t.take(esme);
    ASSERT_EQ(back.size(), 1U);
    EXPECT_EQ(decoded(back[0]).id, codec::response_of(op));
    EXPECT_EQ(decoded(back[0]).sequence_number, 90U);
  }
  pdu q;
  q.id = command_id::query_sm;
  q.sequence_number = 91;
  q.message_id = "nope";
  r.t.deliver(esme, encode(q));
  auto back = r.t.take(esme);
  ASSERT_EQ(back.size(), 1U);
  EXPECT_EQ(decoded(back[0]).status, S::ESME_RINVMSGID);
  EXPECT_EQ(r.w.stats().message_ops, 3U);
  EXPECT_EQ(r.w.stats().message_ops_unknown, 1U);
}

TEST(ReturnPath, AcrossWorkersReceiptsAndMessageOperationsFindTheirShardAndTheirEsme) {
  // Both upstream binds on worker 0, the ESME's sessions on worker 1: every message id's shard
  // is one of the two workers, so receipts cross the rings up to three times.
  TwoWorkers two(make_snapshot(1, 64));
  auto [t0, t1, w0, w1, ups] = std::tie(two.t0, two.t1, two.w0, two.w1, two.ups);
  auto esme = two.esme_on_w1();
  uint64_t now = 1;
  auto turn = [&] {
    for (int i = 0; i < 4; ++i) {
      w0.run_once(now, 0);
      w1.run_once(now, 0);
    }
  };
  constexpr uint32_t n = 40;
  for (uint32_t i = 1; i <= n; ++i) t1.deliver(esme, submit_pdu("4477", i));
  turn();
  auto fwd = t0.take(ups[0]);
  ASSERT_EQ(fwd.size(), n);
  for (uint32_t i = 0; i < n; ++i) {
    pdu resp;
    resp.id = command_id::submit_sm_resp;
    resp.sequence_number = decoded(fwd[i]).sequence_number;
    const std::string id = "id" + std::to_string(i);
    resp.message_id = id;
    t0.deliver(ups[0], encode(resp));
  }
  turn();
  ASSERT_EQ(t1.take(esme).size(), n);
  EXPECT_EQ(w0.stats().correlation_inserts + w1.stats().correlation_inserts, n);
  EXPECT_GT(w0.stats().correlation_inserts, 0U);  // both shards are used
  EXPECT_GT(w1.stats().correlation_inserts, 0U);
  for (uint32_t i = 0; i < n; ++i)
    t0.deliver(ups[0], receipt_pdu("id:ID" + std::to_string(i) + " stat:DELIVRD", 1000 + i));
  turn();
  auto receipts = t1.take(esme);
  ASSERT_EQ(receipts.size(), n);
  for (const auto& d : receipts)
    t1.deliver(esme, header(command_id::deliver_sm_resp, S::ESME_ROK, decoded(d).sequence_number));
  turn();
  auto acks = t0.take(ups[0]);
  ASSERT_EQ(acks.size(), n);
  std::vector<uint32_t> seqs;
  for (const auto& a : acks) {
    EXPECT_EQ(decoded(a).status, S::ESME_ROK);
    seqs.push_back(decoded(a).sequence_number);
  }
  std::sort(seqs.begin(), seqs.end());
  for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(seqs[i], 1000 + i);
  // A query_sm from worker 1's ESME for every id reaches the upstream on worker 0.
  for (uint32_t i = 0; i < n; ++i) {
    pdu q;
    q.id = command_id::query_sm;
    q.sequence_number = 2000 + i;
    const std::string id = "id" + std::to_string(i);
    q.message_id = id;
    t1.deliver(esme, encode(q));
  }
  turn();
  auto queries = t0.take(ups[0]);
  ASSERT_EQ(queries.size(), n);
  for (const auto& f : queries) {
    pdu a;
    a.id = command_id::query_sm_resp;
    a.sequence_number = decoded(f).sequence_number;
    a.message_id = decoded(f).message_id;
    a.message_state = 2;
    t0.deliver(ups[0], encode(a));
  }
  turn();
  auto answers = t1.take(esme);
  ASSERT_EQ(answers.size(), n);
  for (const auto& a : answers) EXPECT_EQ(decoded(a).status, S::ESME_ROK);
  EXPECT_EQ(w0.stats().receipts_unmatched + w1.stats().receipts_unmatched, 0U);
}

// Receipts or MO messages flood worker 0's bind for a tenant whose one receiver, on worker 1,
// takes a delivery per turn (deliver_window 1) and answers each: the hold queues fill on both
// workers (receipts are correlated on either, MO wait on worker 0 behind a busy worker 1), the
// bind is held back, and nothing is refused to the SMSC while the receiver answers. Each hold
// queue stays within twice its share of hold_max plus what can be in flight between workers. The
// bind is read, a chunk of 16 PDUs at a time, only while the router reads it.
void flood_across_workers(bool receipts) {
  constexpr uint32_t n = 1000;  // within the test snapshot's correlation capacity (1024)
  constexpr size_t ring_cells = 64;
  auto snap = make_snapshot(1, 64);
  snap->tenants[0].deliver_window = 1;
  // 32 per worker: a read (16 PDUs here, 64 KiB in the kernel transport) fits in the second
  // half of twice that, what is read before a pause takes effect.
  snap->tenants[0].hold_max = 64;
  route_def mo;
  mo.upstreams = {0};
  snap->mo_routes = route_table({mo});
  TwoWorkers two(snap, ring_cells);
  auto [t0, t1, w0, w1, ups] = std::tie(two.t0, two.t1, two.w0, two.w1, two.ups);
  auto esme = two.esme_on_w1();
  uint64_t now = 1;
  auto turn = [&] {
    w0.run_once(now, 0);
    w1.run_once(now, 0);
  };
  std::vector<std::vector<std::byte>> flood;
  if (receipts) {
    for (uint32_t i = 0; i < n; ++i) {
      t1.deliver(esme, submit_pdu("4477", i + 1));
      for (int k = 0; k < 4; ++k) turn();
      auto fwd = t0.take(ups[0]);
      ASSERT_EQ(fwd.size(), 1U);
      pdu resp;
      resp.id = command_id::submit_sm_resp;
      resp.sequence_number = decoded(fwd[0]).sequence_number;
      const std::string id = "id" + std::to_string(i);
      resp.message_id = id;
      t0.deliver(ups[0], encode(resp));
      for (int k = 0; k < 4; ++k) turn();
      ASSERT_EQ(t1.take(esme).size(), 1U);
      flood.push_back(receipt_pdu("id:ID" + std::to_string(i) + " stat:DELIVRD", 1000 + i));
    }
  } else {
    for (uint32_t i = 0; i < n; ++i) flood.push_back(mo_pdu("1", 1000 + i));
  }
  const return_counters& held0 = receipts ? w0.tenant_stats()[0].receipts : w0.tenant_stats()[0].mo;
  const return_counters& held1 = receipts ? w1.tenant_stats()[0].receipts : w1.tenant_stats()[0].mo;
  const uint64_t bound = 2 * 32 + 2 * ring_cells;
  uint64_t peak0 = 0;
  uint64_t peak1 = 0;
  std::vector<std::vector<std::byte>> unanswered;  // at the receiver, oldest first
  std::map<uint32_t, int> got;                     // the SMSC's sequence number -> deliveries
  // The receiver answers its oldest delivery, whose text names the SMSC's sequence number.
  auto answer_one = [&] {
    for (auto& d : t1.take(esme)) unanswered.push_back(std::move(d));
    if (unanswered.empty()) return;
    // The decoded PDU views its octets: they are taken out of the list before it is changed.
    const std::vector<std::byte> octets = std::move(unanswered.front());
    unanswered.erase(unanswered.begin());
    const pdu d = decoded(octets);
    if (d.id == command_id::enquire_link) {
      t1.deliver(esme, header(command_id::enquire_link_resp, S::ESME_ROK, d.sequence_number));
      return;
    }
    const std::string text(d.short_message.as_chars());
    // "id:IDk stat:DELIVRD" (receipt k, SMSC sequence 1000 + k) or "MO s" (sequence s).
    ++got[receipts ? 1000 + static_cast<uint32_t>(std::stoul(text.substr(5)))
                   : static_cast<uint32_t>(std::stoul(text.substr(3)))];
    t1.deliver(esme, header(command_id::deliver_sm_resp, S::ESME_ROK, d.sequence_number));
  };
  std::vector<codec::pdu_header> acks;  // the SMSC's answers (headers: nothing views the octets)
  size_t next = 0;
  for (int turns = 0; turns < 40000 && acks.size() < n; ++turns, ++now) {
    // Worker 0 reads four times as often as worker 1 turns: the rings between them fill. The
    // first PDU alone: the receiver has answered once before the flood, so it is known to be
    // draining (deliveries::answering).
    const int reads = next == 0 ? 1 : 4;
    for (int k = 0; k < reads; ++k) {
      if (next < n && !t0.conns.at(ups[0]).read_paused) {
        std::vector<std::byte> chunk;
        const int pdus = next == 0 ? 1 : 16;
        for (int p = 0; p < pdus && next < n; ++p, ++next)
          chunk.insert(chunk.end(), flood[next].begin(), flood[next].end());
        t0.deliver(ups[0], chunk);
      }
      w0.run_once(now, 0);
    }
    w1.run_once(now, 0);
    answer_one();
    for (const auto& a : t0.take(ups[0])) acks.push_back(codec::peek_header(a.data()));
    peak0 = std::max<uint64_t>(peak0, held0.held);
    peak1 = std::max<uint64_t>(peak1, held1.held);
  }
  ASSERT_EQ(acks.size(), n);
  std::vector<uint32_t> seqs;
  for (const auto& a : acks) {
    EXPECT_EQ(a.command_id, static_cast<uint32_t>(command_id::deliver_sm_resp));
    EXPECT_EQ(a.command_status, static_cast<uint32_t>(S::ESME_ROK));
    seqs.push_back(a.sequence_number);
  }
  std::sort(seqs.begin(), seqs.end());
  for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(seqs[i], 1000 + i);
  EXPECT_EQ(w0.stats().deliver_refused + w1.stats().deliver_refused, 0U);
  EXPECT_GT(w0.stats().binds_held_back, 0U);  // the flood did fill the queues
  EXPECT_LE(peak0, bound);
  EXPECT_LE(peak1, bound);
  // Every one reaches the receiver once, those still held when the SMSC had its last answer too.
  for (int turns = 0; turns < 40000 && (got.size() < n || !unanswered.empty()); ++turns, ++now) {
    turn();
    answer_one();
  }
  EXPECT_EQ(got.size(), n);
  for (const auto& [seq, times] : got) EXPECT_EQ(times, 1) << seq;
  EXPECT_EQ(held0.delivered + held1.delivered, n);
  EXPECT_EQ(w0.stats().receipts_unmatched + w1.stats().receipts_unmatched, 0U);
}

TEST(ReturnPath, ReceiptsFloodingAnotherWorkersReceiverAreHeldBackNeverRefused) {
  flood_across_workers(true);
}

TEST(ReturnPath, MoFloodingAnotherWorkersReceiverIsHeldBackNeverRefused) {
  flood_across_workers(false);
}

// ---------------------------------------------------------------------------------------------
// Idle behaviour

// Completes the connect and bind of upstream connection c.
void bind_upstream(Rig& r, fake_transport::conn_id c) {
  r.t.complete_connect(c);
  const pdu b = decoded(r.t.take(c).at(0));
  r.t.deliver(c, header(command_id::bind_transceiver_resp, S::ESME_ROK, b.sequence_number));
}

TEST(IdleBehaviour, OnDemandUpstreamBindsForTrafficAndUnbindsWhenIdle) {
  auto snap = make_snapshot();
  snap->upstreams[0].on_demand = true;
  snap->upstreams[0].idle_unbind_ms = 1000;
  Rig r(snap);
  ASSERT_EQ(r.t.pending_connects.size(), 1U);  // only the always-on backup connects at start
  bind_upstream(r, r.t.pending_connects[0]);
  r.t.pending_connects.clear();
  auto esme = r.bound_esme();
  for (int round = 0; round < 2; ++round) {
    r.t.deliver(esme, submit_pdu("441234", 7));
    EXPECT_TRUE(r.t.take(esme).empty()) << "the request waits for the bind";
    ASSERT_EQ(r.t.pending_connects.size(), 1U) << round;
    const auto up = r.t.pending_connects[0];
    r.t.pending_connects.clear();
    bind_upstream(r, up);
    auto fwd = r.t.take(up);
    ASSERT_EQ(fwd.size(), 1U);
    pdu resp;
    resp.id = command_id::submit_sm_resp;
    resp.sequence_number = decoded(fwd[0]).sequence_number;
    resp.message_id = "x";
    r.t.deliver(up, encode(resp));
    auto back = r.t.take(esme);
    ASSERT_EQ(back.size(), 1U);
    EXPECT_EQ(decoded(back[0]).status, S::ESME_ROK);
    EXPECT_EQ(decoded(back[0]).sequence_number, 7U);
    r.advance(999);
    EXPECT_TRUE(r.t.take(up).empty());
    r.advance(10);
    auto unbind = r.t.take(up);
    ASSERT_EQ(unbind.size(), 1U);
    EXPECT_EQ(decoded(unbind[0]).id, command_id::unbind);
    r.t.deliver(up,
                header(command_id::unbind_resp, S::ESME_ROK, decoded(unbind[0]).sequence_number));
    r.t.poll(0);
    r.advance(100);
    EXPECT_TRUE(r.t.pending_connects.empty()) << "asleep until the next request";
  }
  EXPECT_EQ(r.w.stats().idle_unbinds, 2U);
  EXPECT_EQ(r.w.stats().parked, 2U);
}

TEST(IdleBehaviour, FailingOnDemandUpstreamAnswersWaitersAndRoutesFailOver) {
  auto snap = make_snapshot();
  snap->upstreams[0].on_demand = true;
  Rig r(snap);
  bind_upstream(r, r.t.pending_connects[0]);
  r.t.pending_connects.clear();
  auto esme = r.bound_esme();
  r.t.deliver(esme, submit_pdu("441234", 8));
  ASSERT_EQ(r.t.pending_connects.size(), 1U);
  r.t.complete_connect(r.t.pending_connects[0], ECONNREFUSED);
  r.t.pending_connects.clear();
  r.advance(10);
  auto back = r.t.take(esme);
  ASSERT_EQ(back.size(), 1U);
  EXPECT_EQ(decoded(back[0]).status, upstream_failure_status);
  EXPECT_EQ(r.w.stats().parked_expired, 1U);
  // The next request goes to the backup, the second upstream of the route.
  r.t.deliver(esme, submit_pdu("441234", 9));
  EXPECT_EQ(r.w.stats().submit_forwarded, 1U);
}

TEST(IdleBehaviour, IdleEsmeIsUnboundButEnquireLinkDoesNotCountAsTraffic) {
  auto snap = make_snapshot();
  snap->timers.esme_idle_ms = 500;
  Rig r(snap);
  auto esme = r.bound_esme();
  r.advance(300);
  r.t.deliver(esme, header(command_id::enquire_link, S::ESME_ROK, 2));
  EXPECT_EQ(decoded(r.t.take(esme).at(0)).id, command_id::enquire_link_resp);
  r.advance(250);
  auto out = r.t.take(esme);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).id, command_id::unbind);
  EXPECT_EQ(r.w.stats().esme_idle_unbinds, 1U);
  // No unbind_resp: closed after the response time.
  r.advance(snap->timers.response_ms + 10);
  EXPECT_EQ(r.w.esme_sessions(), 0U);
}

// ---------------------------------------------------------------------------------------------
// Counters

TEST(Counters, TenantAndUpstreamCountersFollowEveryAnswer) {
  Rig r;
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme();
  submit_and_accept(r, esme, ups[0], "a", 2);
  r.t.deliver(esme, submit_pdu("999", 3));  // no route
  r.t.deliver(esme, submit_pdu("441234", 4));
  auto fwd = r.t.take(ups[0]);
  ASSERT_EQ(fwd.size(), 1U);
  r.t.deliver(ups[0], header(command_id::submit_sm_resp, S::ESME_RSUBMITFAIL,
                             decoded(fwd[0]).sequence_number));
  const tenant_counters& t = r.w.tenant_stats()[0];
  EXPECT_EQ(t.submitted.load(), 3U);
  EXPECT_EQ(t.accepted.load(), 1U);
  EXPECT_EQ(t.rejected.load(), 2U);
  EXPECT_EQ(t.rejected_by_status.status[0].load(), static_cast<uint32_t>(S::ESME_RINVDSTADR));
  EXPECT_EQ(t.rejected_by_status.count[0].load(), 1U);
  EXPECT_EQ(t.rejected_by_status.status[1].load(), static_cast<uint32_t>(S::ESME_RSUBMITFAIL));
  uint64_t latencies = 0;
  for (const auto& c : t.latency.counts) latencies += c.load();
  EXPECT_EQ(latencies, 2U);  // the two answers from upstream
  const upstream_counters& u = r.w.upstream_stats()[0];
  EXPECT_EQ(u.forwarded.load(), 2U);
  EXPECT_EQ(u.accepted.load(), 1U);
  EXPECT_EQ(u.rejected.load(), 1U);
  EXPECT_EQ(u.binds_up.load(), 1U);
  EXPECT_EQ(r.w.upstream_stats()[1].binds_up.load(), 1U);
}

TEST(Counters, LatencyBucketsArePowersOfTwoAndStatusSlotsAreBounded) {
  latency_histogram h;
  for (uint64_t v : {0ULL, 1ULL, 2ULL, 3ULL, 4ULL, 1000ULL, 1ULL << 40}) h.record(v);
  EXPECT_EQ(h.counts[0].load(), 1U);   // 0
  EXPECT_EQ(h.counts[1].load(), 1U);   // 1
  EXPECT_EQ(h.counts[2].load(), 2U);   // 2, 3
  EXPECT_EQ(h.counts[3].load(), 1U);   // 4
  EXPECT_EQ(h.counts[10].load(), 1U);  // 1000 < 1024
  EXPECT_EQ(h.counts[latency_histogram::buckets - 1].load(), 1U);
  EXPECT_EQ(latency_histogram::upper_us(10), 1023U);
  status_counts sc;
  for (uint32_t st = 1; st <= 20; ++st) sc.add(st);
  sc.add(3);
  EXPECT_EQ(sc.count[2].load(), 2U);
  EXPECT_EQ(sc.other.load(), 5U);  // statuses 16..20
}

// ---------------------------------------------------------------------------------------------
// Slot gate at a bind (TDMA)

TEST(SlotGateInRouter, GatedBindSendsOneRequestPerSlotAndThrottledOnesAreSentAgain) {
  auto snap = make_snapshot(1, 64);
  snap->tenants[0].backpressure = false;  // queue_full = "throttle": answered at once
  slot_plan& plan = snap->upstreams[0].binds[0].plan;
  plan.rate_per_s = 1000;
  plan.slot_ns = 1'000'000;
  plan.owner = {0};
  plan.cap = {0, 0};
  plan.queue_max = {8, 8};
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme();
  // Each text names its sequence number, so the test can tell which request went out.
  std::vector<std::string> texts;
  for (uint32_t i = 1; i <= 10; ++i) texts.push_back("m" + std::to_string(i));
  for (uint32_t i = 1; i <= 10; ++i) r.t.deliver(esme, submit_pdu("441234", i, texts[i - 1]));
  // Two beyond the tenant's queue of 8 are refused at once.
  auto early = r.t.take(esme);
  ASSERT_EQ(early.size(), 2U);
  EXPECT_EQ(decoded(early[0]).status, S::ESME_RTHROTTLED);
  EXPECT_TRUE(r.t.take(ups[0]).empty()) << "nothing goes out before its slot";
  uint64_t us = 5'000'000;
  r.w.run_once(r.now, 0, us);
  auto first = r.t.take(ups[0]);
  ASSERT_EQ(first.size(), 1U);
  EXPECT_EQ(decoded(first[0]).short_message.as_chars(), "m1");  // the queue's head
  r.w.run_once(r.now, 0, us + 999);
  EXPECT_TRUE(r.t.take(ups[0]).empty());
  // The SMSC throttles it anyway: it is queued again, first, and the ESME hears nothing.
  r.t.deliver(ups[0], header(command_id::submit_sm_resp, S::ESME_RTHROTTLED,
                             decoded(first[0]).sequence_number));
  EXPECT_TRUE(r.t.take(esme).empty());
  r.w.run_once(r.now, 0, us + 1000);
  EXPECT_TRUE(r.t.take(ups[0]).empty()) << "the gate slowed down: slots are 2 ms apart now";
  r.w.run_once(r.now, 0, us + 3000);
  auto again = r.t.take(ups[0]);
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(decoded(again[0]).short_message.as_chars(), "m1");  // the same request, first again
  pdu ok;
  ok.id = command_id::submit_sm_resp;
  ok.sequence_number = decoded(again[0]).sequence_number;
  ok.message_id = "g1";
  r.t.deliver(ups[0], encode(ok));
  auto answer = r.t.take(esme);
  ASSERT_EQ(answer.size(), 1U);
  EXPECT_EQ(decoded(answer[0]).sequence_number, 1U);
  EXPECT_EQ(r.w.stats().gate_requeued, 1U);
  EXPECT_EQ(r.w.tenant_stats()[0].queued.load(), 7U);
  // SIGTERM: what still waits for a slot is answered ESME_RTHROTTLED at once.
  r.w.begin_shutdown(r.now);
  uint32_t throttled = 0;
  for (const auto& b : r.t.take(esme)) throttled += decoded(b).status == S::ESME_RTHROTTLED;
  EXPECT_EQ(throttled, 7U);
  EXPECT_EQ(r.w.tenant_stats()[0].queued.load(), 0U);
}

// A gated bind and a tenant with queue_full = "backpressure": what finds its queue full is kept
// and the session is not read until there is room; nothing is refused, lost or answered twice.
std::shared_ptr<router_snapshot> backpressure_snapshot(uint32_t queue_max) {
  auto snap = make_snapshot(1, 64);
  snap->tenants[0].backpressure = true;
  slot_plan& plan = snap->upstreams[0].binds[0].plan;
  plan.rate_per_s = 1000;
  plan.slot_ns = 1'000'000;
  plan.owner = {0};
  plan.cap = {0, 0};
  plan.queue_max = {queue_max, queue_max};
  return snap;
}

std::vector<std::byte> submit_burst(uint32_t first, uint32_t count) {
  std::vector<std::byte> out;
  for (uint32_t i = first; i < first + count; ++i) {
    const auto one = submit_pdu("441234", i);
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

TEST(Backpressure, AFullTenantQueueStopsReadingTheSessionInsteadOfThrottling) {
  Rig r(backpressure_snapshot(4));
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme();
  // One read carries ten requests; the queue holds four.
  r.t.deliver(esme, submit_burst(1, 10));
  EXPECT_TRUE(r.t.take(esme).empty()) << "nothing is refused";
  EXPECT_TRUE(r.t.conns[esme].read_paused);
  EXPECT_EQ(r.w.stats().backpressure_stalls, 1U);
  EXPECT_EQ(r.w.stats().stalled_sessions, 1U);
  EXPECT_EQ(r.w.stats().submit_received, 5U) << "four queued, the fifth held at the front";
  // Slot by slot the gate sends, the SMSC answers, and the held requests find room.
  std::vector<uint32_t> answered;
  uint64_t us = 5'000'000;
  for (int turn = 0; turn < 200 && answered.size() < 10; ++turn) {
    us += 1000;
    ++r.now;
    r.w.run_once(r.now, 0, us);
    for (const auto& f : r.t.take(ups[0])) {
      pdu ok;
      ok.id = command_id::submit_sm_resp;
      ok.sequence_number = decoded(f).sequence_number;
      const std::string id = "m" + std::to_string(ok.sequence_number);  // outlives encode
      ok.message_id = id;
      r.t.deliver(ups[0], encode(ok));
    }
    for (const auto& b : r.t.take(esme)) {
      EXPECT_EQ(decoded(b).status, S::ESME_ROK);
      answered.push_back(decoded(b).sequence_number);
    }
  }
  std::vector<uint32_t> want(10);
  std::iota(want.begin(), want.end(), 1U);
  EXPECT_EQ(answered, want) << "every request answered once, in order";
  EXPECT_FALSE(r.t.conns[esme].read_paused) << "reading resumes once everything found room";
  EXPECT_EQ(r.w.stats().stalled_sessions, 0U);
  EXPECT_EQ(r.w.stats().throttled, 0U);
  EXPECT_EQ(r.w.stats().submit_received, 10U) << "held requests are counted once";
  EXPECT_EQ(r.w.tenant_stats()[0].submitted.load(), 10U);
}

// Retries every millisecond while the queue stays full make no progress: each offers the held
// octets again and keeps them whole (without a copy); nothing is counted twice, and once the
// SMSC answers every request is answered once, in order.
TEST(Backpressure, RetriesWhileTheQueueStaysFullKeepTheHeldReadWholeAndCountItOnce) {
  auto snap = backpressure_snapshot(4);
  snap->upstreams[0].binds[0].window = 2;  // two in flight, then the gate holds the queue
  route_def primary_only;                  // no failover to the backup upstream
  primary_only.destination_prefix = "44";
  primary_only.upstreams = {0};
  snap->routes = route_table({primary_only});
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme();
  r.t.deliver(esme, submit_burst(1, 12));
  uint64_t us = 5'000'000;
  std::vector<std::vector<std::byte>> unanswered;
  uint64_t received_at_5 = 0;
  for (int turn = 0; turn < 30; ++turn) {  // the SMSC is silent: the retries find no room
    us += 1000;
    ++r.now;
    r.w.run_once(r.now, 0, us);
    for (auto& f : r.t.take(ups[0])) unanswered.push_back(std::move(f));
    if (turn == 5) received_at_5 = r.w.stats().submit_received;
  }
  EXPECT_EQ(unanswered.size(), 2U) << "the bind's window";
  EXPECT_TRUE(r.t.take(esme).empty());
  EXPECT_TRUE(r.t.conns[esme].read_paused);
  EXPECT_EQ(r.w.stats().stalled_sessions, 1U);
  EXPECT_EQ(r.w.stats().backpressure_stalls, 1U);
  // In flight, queued, and the one held at the front: each counted once, however often offered.
  EXPECT_EQ(r.w.stats().submit_received, 2U + r.w.tenant_stats()[0].queued.load() + 1U);
  EXPECT_EQ(r.w.stats().submit_received, received_at_5) << "24 retries, nothing counted again";
  std::vector<uint32_t> answered;
  for (int turn = 0; turn < 400 && answered.size() < 12; ++turn) {
    for (const auto& f : unanswered) {
      pdu ok;
      ok.id = command_id::submit_sm_resp;
      ok.sequence_number = decoded(f).sequence_number;
      ok.message_id = "m";
      r.t.deliver(ups[0], encode(ok));
    }
    unanswered.clear();
    us += 1000;
    ++r.now;
    r.w.run_once(r.now, 0, us);
    for (auto& f : r.t.take(ups[0])) unanswered.push_back(std::move(f));
    for (const auto& b : r.t.take(esme)) {
      EXPECT_EQ(decoded(b).status, S::ESME_ROK);
      answered.push_back(decoded(b).sequence_number);
    }
  }
  std::vector<uint32_t> want(12);
  std::iota(want.begin(), want.end(), 1U);
  EXPECT_EQ(answered, want) << "every request answered once, in order";
  EXPECT_FALSE(r.t.conns[esme].read_paused);
  EXPECT_EQ(r.w.stats().stalled_sessions, 0U);
  EXPECT_EQ(r.w.stats().throttled, 0U);
  EXPECT_EQ(r.w.stats().submit_received, 12U);
}

TEST(Backpressure, ThrottleModeStillAnswersAtOnce) {
  auto snap = backpressure_snapshot(4);
  snap->tenants[0].backpressure = false;
  Rig r(snap);
  r.bring_up_upstreams();
  auto esme = r.bound_esme();
  r.t.deliver(esme, submit_burst(1, 10));
  const auto out = r.t.take(esme);
  ASSERT_EQ(out.size(), 6U);
  for (const auto& b : out) EXPECT_EQ(decoded(b).status, S::ESME_RTHROTTLED);
  EXPECT_FALSE(r.t.conns[esme].read_paused);
  EXPECT_EQ(r.w.stats().backpressure_stalls, 0U);
}

TEST(Backpressure, OctetsBeyondTheStallBoundCloseTheSession) {
  Rig r(backpressure_snapshot(1));
  r.bring_up_upstreams();
  auto esme = r.bound_esme();
  r.t.deliver(esme, submit_burst(1, 3));
  ASSERT_TRUE(r.t.conns[esme].read_paused);
  // A transport that delivers after the pause (a TLS read of several records) is taken up to
  // the bound; beyond it the session is closed, not grown without end.
  const auto more = submit_burst(10, 1000);
  size_t delivered = 0;
  while (!r.t.conns[esme].closed && delivered < (2u << 20)) {
    r.t.deliver(esme, more);
    delivered += more.size();
  }
  EXPECT_TRUE(r.t.conns[esme].closed);
  EXPECT_TRUE(r.t.conns[esme].aborted);
  EXPECT_GT(delivered, size_t{1} << 20);
  EXPECT_EQ(r.w.stats().backpressure_overflow, 1U);
  r.t.poll(0);
  r.w.run_once(++r.now, 0, 0);  // the stalled entry of the closed session is dropped
  EXPECT_EQ(r.w.stats().stalled_sessions, 0U);
}

TEST(Backpressure, ARequestTheBindsWorkerCannotQueueGoesBackToTheSessionsWorker) {
  TwoWorkers two(backpressure_snapshot(2));
  auto [t0, t1, w0, w1, ups] = std::tie(two.t0, two.t1, two.w0, two.w1, two.ups);
  auto esme = two.esme_on_w1();
  t1.deliver(esme, submit_burst(1, 6));  // all handed to worker 0, whose queue holds two
  uint64_t ms = 1;
  uint64_t us = 5'000'000;
  w1.run_once(ms, 0, us);
  w0.run_once(ms, 0, us);  // takes two, bounces four
  EXPECT_EQ(w0.stats().backpressure_bounced, 4U);
  w1.run_once(++ms, 0, us);
  EXPECT_TRUE(t1.take(esme).empty()) << "nothing is refused";
  EXPECT_TRUE(t1.conns[esme].read_paused);
  std::vector<uint32_t> answered;
  for (int turn = 0; turn < 400 && answered.size() < 6; ++turn) {
    us += 500;
    ++ms;
    w1.run_once(ms, 0, us);
    w0.run_once(ms, 0, us);
    for (const auto& f : t0.take(ups[0])) {
      pdu ok;
      ok.id = command_id::submit_sm_resp;
      ok.sequence_number = decoded(f).sequence_number;
      const std::string id = "b" + std::to_string(ok.sequence_number);  // outlives encode
      ok.message_id = id;
      t0.deliver(ups[0], encode(ok));
    }
    w0.run_once(ms, 0, us);
    w1.run_once(ms, 0, us);
    for (const auto& b : t1.take(esme)) {
      EXPECT_EQ(decoded(b).status, S::ESME_ROK);
      answered.push_back(decoded(b).sequence_number);
    }
  }
  std::sort(answered.begin(), answered.end());
  std::vector<uint32_t> want(6);
  std::iota(want.begin(), want.end(), 1U);
  EXPECT_EQ(answered, want) << "each answered exactly once";
  EXPECT_FALSE(t1.conns[esme].read_paused);
  EXPECT_EQ(w1.stats().submit_received, 6U) << "bounced requests are counted once";
  EXPECT_EQ(w0.stats().throttled + w1.stats().throttled, 0U);
}

// ---------------------------------------------------------------------------------------------
// Snapshots published while running (RCU)

TEST(Publish, WeightChangeTakesEffectAtTheNextTickAndNothingIsLostOrDuplicated) {
  auto snap = make_snapshot(1, 1000);
  snap->tenants[1].allowed_networks.clear();
  auto gated = [](router_snapshot& s, std::vector<uint32_t> owner) {
    slot_plan& plan = s.upstreams[0].binds[0].plan;
    plan.rate_per_s = 1000;
    plan.slot_ns = 1'000'000;
    plan.owner = std::move(owner);
    plan.cap = {0, 0};
    plan.queue_max = {1000, 1000};
  };
  gated(*snap, {0, 1});  // 1:1
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto a = r.bound_esme("acme");
  auto b = r.bound_esme("lan");
  for (uint32_t i = 1; i <= 300; ++i) {
    r.t.deliver(a, submit_pdu("441234", i));
    r.t.deliver(b, submit_pdu("441234", i));
  }
  uint64_t us = 1'000'000;
  std::vector<uint32_t> up_seqs;
  auto run_ms = [&](int n) {
    for (int i = 0; i < n; ++i) {
      r.w.run_once(r.now, 0, us);
      us += 1000;
      for (const auto& f : r.t.take(ups[0])) {
        up_seqs.push_back(decoded(f).sequence_number);
        pdu resp;
        resp.id = command_id::submit_sm_resp;
        resp.sequence_number = decoded(f).sequence_number;
        resp.message_id = "x";
        r.t.deliver(ups[0], encode(resp));
      }
    }
  };
  run_ms(100);
  EXPECT_EQ(up_seqs.size(), 100U);
  // 3:1 from now on: a new snapshot, published as the control plane does.
  auto next = std::make_shared<router_snapshot>(*snap);
  gated(*next, {0, 0, 0, 1});
  r.shared.publish(next);
  r.advance(6);  // one tick adopts it
  EXPECT_EQ(r.w.stats().snapshots_adopted, 1U);
  const uint64_t before_a = r.w.tenant_stats()[0].queued, before_b = r.w.tenant_stats()[1].queued;
  run_ms(200);
  const uint64_t sent_a = before_a - r.w.tenant_stats()[0].queued;
  const uint64_t sent_b = before_b - r.w.tenant_stats()[1].queued;
  EXPECT_EQ(sent_a, 150U);
  EXPECT_EQ(sent_b, 50U);
  // Every request is answered exactly once.
  r.w.begin_shutdown(r.now);  // what still waits is answered ESME_RTHROTTLED
  std::map<uint32_t, int> answers_a, answers_b;
  for (const auto& x : r.t.take(a)) {
    if (decoded(x).id == command_id::submit_sm_resp) ++answers_a[decoded(x).sequence_number];
  }
  for (const auto& x : r.t.take(b)) {
    if (decoded(x).id == command_id::submit_sm_resp) ++answers_b[decoded(x).sequence_number];
  }
  EXPECT_EQ(answers_a.size(), 300U);
  EXPECT_EQ(answers_b.size(), 300U);
  for (const auto& [seq, n] : answers_a) EXPECT_EQ(n, 1) << seq;
  for (const auto& [seq, n] : answers_b) EXPECT_EQ(n, 1) << seq;
}

TEST(Publish, AddedTenantBindsAndReorderedOnesAreRefused) {
  auto snap = make_snapshot();
  Rig r(snap);
  auto next = std::make_shared<router_snapshot>(*snap);
  tenant_def t;
  t.index = 2;
  t.name = "newco";
  t.system_id = "newco";
  t.password_hash = "plain:pw";
  next->tenants.push_back(t);
  next->tenant_by_system_id["newco"] = 2;
  r.shared.publish(next);
  r.advance(6);
  EXPECT_EQ(r.w.stats().snapshots_adopted, 1U);
  EXPECT_EQ(r.w.tenant_stats().size(), 3U);
  auto c = r.t.accept();
  r.t.deliver(c, bind_pdu(command_id::bind_transceiver, "newco", "pw", 1));
  EXPECT_EQ(decoded(r.t.take(c).at(0)).status, S::ESME_ROK);
  auto reordered = std::make_shared<router_snapshot>(*next);
  std::swap(reordered->tenants[0], reordered->tenants[1]);
  r.shared.publish(reordered);
  r.advance(6);
  EXPECT_EQ(r.w.stats().snapshots_refused, 1U);
  EXPECT_EQ(r.w.tenant_stats().size(), 3U);
}

TEST(Publish, ARemovedTenantsSessionGetsWhatItIsOwedThenIsUnbound) {
  auto snap = make_snapshot(1, 16);
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme("acme");
  r.t.deliver(esme, submit_pdu("441234", 7));
  const auto fwd = r.t.take(ups[0]);
  ASSERT_EQ(fwd.size(), 1U);
  // acme is removed (the builder keeps it at its index, retired).
  auto next = std::make_shared<router_snapshot>(*snap);
  next->tenants[0].retired = true;
  next->tenant_by_system_id.erase("acme");
  r.shared.publish(next);
  r.advance(6);
  ASSERT_EQ(r.w.stats().snapshots_adopted, 1U);
  // New requests are outside any valid bind; the one in flight is still owed its answer, so
  // the session is not unbound yet.
  r.t.deliver(esme, submit_pdu("441234", 8));
  auto out = r.t.take(esme);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_RINVBNDSTS);
  EXPECT_TRUE(r.t.take(ups[0]).empty());
  r.advance(6);
  EXPECT_TRUE(r.t.take(esme).empty());
  pdu ok;
  ok.id = command_id::submit_sm_resp;
  ok.sequence_number = decoded(fwd[0]).sequence_number;
  ok.message_id = "kept";
  r.t.deliver(ups[0], encode(ok));
  out = r.t.take(esme);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).status, S::ESME_ROK);
  EXPECT_EQ(decoded(out[0]).message_id, "kept");
  r.advance(6);
  out = r.t.take(esme);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).id, command_id::unbind);
  EXPECT_EQ(r.w.stats().retired_unbinds, 1U);
  r.t.deliver(esme, header(command_id::unbind_resp, S::ESME_ROK, decoded(out[0]).sequence_number));
  r.t.poll(0);
  EXPECT_TRUE(r.t.conns[esme].closed);
  // It cannot bind again; the other tenant is untouched.
  auto again = r.t.accept();
  r.t.deliver(again, bind_pdu(command_id::bind_transceiver, "acme", "secret", 1));
  r.advance(1000);
  EXPECT_EQ(decoded(r.t.take(again).at(0)).status, S::ESME_RBINDFAIL);
  auto lan = r.t.accept("10.1.2.3");
  r.t.deliver(lan, bind_pdu(command_id::bind_transceiver, "lan", "secret", 1));
  EXPECT_EQ(decoded(r.t.take(lan).at(0)).status, S::ESME_ROK);
}

TEST(Publish, ARemovedBindDrainsThenUnbindsForGoodAndAnAddedOneConnects) {
  auto snap = make_snapshot(1, 16);
  Rig r(snap);
  auto ups = r.bring_up_upstreams();  // primary's bind, backup's bind
  auto esme = r.bound_esme("acme");
  r.t.deliver(esme, submit_pdu("441234", 1));
  const auto fwd = r.t.take(ups[0]);
  ASSERT_EQ(fwd.size(), 1U);
  // primary: its bind 0 removed, a new bind 1 added.
  auto next = std::make_shared<router_snapshot>(*snap);
  next->upstreams[0].binds[0].retired = true;
  next->upstreams[0].binds.push_back(snap->upstreams[0].binds[0]);
  r.shared.publish(next);
  r.advance(6);
  ASSERT_EQ(r.w.stats().snapshots_adopted, 1U);
  ASSERT_EQ(r.t.pending_connects.size(), 1U) << "the added bind connects at once";
  auto added = r.bring_up_upstreams().at(0);
  // New requests avoid the retired bind; it keeps its request in flight.
  r.t.deliver(esme, submit_pdu("441234", 2));
  EXPECT_TRUE(r.t.take(ups[0]).empty());
  EXPECT_EQ(r.t.take(added).size(), 1U);
  r.advance(6);
  EXPECT_TRUE(r.t.take(ups[0]).empty()) << "no unbind while an answer is owed";
  pdu ok;
  ok.id = command_id::submit_sm_resp;
  ok.sequence_number = decoded(fwd[0]).sequence_number;
  ok.message_id = "old";
  r.t.deliver(ups[0], encode(ok));
  auto out = r.t.take(esme);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(decoded(out[0]).message_id, "old");
  r.advance(6);
  auto unbind = r.t.take(ups[0]);
  ASSERT_EQ(unbind.size(), 1U);
  EXPECT_EQ(decoded(unbind[0]).id, command_id::unbind);
  r.t.deliver(ups[0],
              header(command_id::unbind_resp, S::ESME_ROK, decoded(unbind[0]).sequence_number));
  r.t.poll(0);
  r.advance(60'000);
  EXPECT_TRUE(r.t.pending_connects.empty()) << "a retired bind never reconnects";
  EXPECT_EQ(r.w.stats().retired_unbinds, 1U);
}

TEST(ReturnPath, NoteReceiptsOnlySkipsMessagesThatAskedForNone) {
  auto snap = make_snapshot();
  snap->correlation.note_all = false;
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto esme = bind_as(r, command_id::bind_transceiver);
  submit_and_accept(r, esme, ups[0], "1001", 2);  // registered_delivery 0
  pdu p;
  p.id = command_id::submit_sm;
  p.sequence_number = 3;
  p.destination_addr = "441234";
  p.registered_delivery = 1;
  p.short_message = codec::as_bytes("dlr please");
  r.t.deliver(esme, encode(p));
  auto fwd = r.t.take(ups[0]);
  ASSERT_EQ(fwd.size(), 1U);
  pdu resp;
  resp.id = command_id::submit_sm_resp;
  resp.sequence_number = decoded(fwd[0]).sequence_number;
  resp.message_id = "1002";
  r.t.deliver(ups[0], encode(resp));
  (void)r.t.take(esme);
  r.t.deliver(ups[0], receipt_pdu("id:1002 stat:DELIVRD", 50));
  r.t.deliver(ups[0], receipt_pdu("id:1001 stat:DELIVRD", 51));
  EXPECT_EQ(r.t.take(esme).size(), 1U);
  EXPECT_EQ(r.w.stats().receipts_unmatched, 1U);
  r.w.run_once(r.now, 0);  // the turn ends: the ids noted in it are in the table
  EXPECT_EQ(r.w.stats().correlation_inserts, 1U);
}

}  // namespace
}  // namespace smpp::dataplane
