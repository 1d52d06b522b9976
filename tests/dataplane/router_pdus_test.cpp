// The PDUs beyond submit_sm and deliver_sm, routed through the router worker as the
// specification means them, against a fake transport: alert_notification from an SMSC relayed
// to the receivers of the tenant whose MO route owns its esme_addr (SMPP 3.4 §4.12);
// submit_multi with each destination routed on its own and one aggregated answer (§4.5);
// broadcast_sm and its operations to the upstreams that take broadcasts (SMPP 5.0 §4.4); an
// SMSC's outbind leading to a bind on its connection (SMPP 3.4 §4.1.7).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "fake_transport.hpp"
#include "router_test_pdus.hpp"
#include "smpp/dataplane/router_worker.hpp"

namespace smpp::dataplane {
namespace {

using codec::command_id;
using codec::pdu;
using S = codec::command_status;
using testing::bind_pdu;
using testing::decoded;
using testing::encode;
using testing::fake_transport;
using testing::header;
using testing::make_snapshot;

struct Rig {
  explicit Rig(std::shared_ptr<router_snapshot> s)
      : snap(std::move(s)), shared(snap->tenants.size()), w(0, 1, t, snap, &shared) {
    EXPECT_EQ(w.start(now), 0);
  }
  std::vector<fake_transport::conn_id> bring_up_upstreams() {
    std::vector<fake_transport::conn_id> ups = t.pending_connects;
    t.pending_connects.clear();
    for (auto c : ups) {
      t.complete_connect(c);
      auto out = t.take(c);
      EXPECT_EQ(out.size(), 1U);
      t.deliver(c, header(command_id::bind_transceiver_resp, S::ESME_ROK,
                          decoded(out.at(0)).sequence_number));
    }
    return ups;
  }
  fake_transport::conn_id bound_esme(command_id bind, std::string_view sys = "acme") {
    auto c = t.accept();
    t.deliver(c, bind_pdu(bind, sys, "secret", 1));
    auto out = t.take(c);
    EXPECT_EQ(out.size(), 1U);
    EXPECT_EQ(decoded(out.at(0)).status, S::ESME_ROK);
    return c;
  }
  uint64_t now = 1000;
  fake_transport t;
  std::shared_ptr<router_snapshot> snap;
  shared_state shared;
  router_worker w;
};

// MO routes: 555 -> tenant acme, 666 -> tenant lan.
std::shared_ptr<router_snapshot> snapshot_with_mo_routes() {
  auto snap = make_snapshot();
  snap->tenants[0].max_binds = 3;
  route_def acme;
  acme.tenant = any_tenant;
  acme.destination_prefix = "555";
  acme.upstreams = {0};
  route_def lan = acme;
  lan.destination_prefix = "666";
  lan.upstreams = {1};
  snap->mo_routes = route_table({acme, lan});
  return snap;
}

// SMPP 3.4 §4.12.1: source_addr is the mobile that became available, esme_addr the ESME that
// asked to be alerted.
std::vector<std::byte> alert_pdu(std::string_view source, std::string_view esme_addr,
                                 uint32_t seq) {
  pdu p;
  p.id = command_id::alert_notification;
  p.sequence_number = seq;
  p.source_addr_ton = 1;
  p.source_addr_npi = 1;
  p.source_addr = source;
  p.esme_addr_ton = 1;
  p.esme_addr_npi = 1;
  p.esme_addr = esme_addr;
  return encode(p);
}

TEST(AlertNotification, GoesToTheReceiversOfTheTenantWhoseMoRouteOwnsTheEsmeAddressInTurn) {
  Rig r(snapshot_with_mo_routes());
  auto ups = r.bring_up_upstreams();
  auto tx = r.bound_esme(command_id::bind_transmitter);
  auto rx1 = r.bound_esme(command_id::bind_receiver);
  auto rx2 = r.bound_esme(command_id::bind_transceiver);
  constexpr uint32_t n = 6;
  for (uint32_t i = 0; i < n; ++i)
    r.t.deliver(ups[i % 2], alert_pdu("4477009" + std::to_string(i), "5550001", 70 + i));
  auto a1 = r.t.take(rx1);
  auto a2 = r.t.take(rx2);
  ASSERT_EQ(a1.size(), n / 2);
  ASSERT_EQ(a2.size(), n / 2);
  std::vector<std::string> sources;
  for (const auto* got : {&a1, &a2}) {
    for (const auto& b : *got) {
      const pdu a = decoded(b);
      EXPECT_EQ(a.id, command_id::alert_notification);
      EXPECT_EQ(a.esme_addr, "5550001");
      EXPECT_NE(a.sequence_number, 0U);
      sources.emplace_back(a.source_addr);
    }
  }
  std::sort(sources.begin(), sources.end());
  for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(sources[i], "4477009" + std::to_string(i));
  EXPECT_TRUE(r.t.take(tx).empty());  // a transmitter receives nothing
  // No response exists for alert_notification: the SMSC gets nothing back.
  EXPECT_TRUE(r.t.take(ups[0]).empty());
  EXPECT_TRUE(r.t.take(ups[1]).empty());
  EXPECT_EQ(r.w.stats().alerts_received, n);
  EXPECT_EQ(r.w.stats().alerts_relayed, n);
  EXPECT_EQ(r.w.stats().alerts_dropped, 0U);
  EXPECT_EQ(r.w.stats().alerts_unrouted, 0U);
}

TEST(AlertNotification, UnroutedOrWithoutAReceiverItIsDroppedAndCountedNeverAnswered) {
  Rig r(snapshot_with_mo_routes());
  auto ups = r.bring_up_upstreams();
  auto acme_rx = r.bound_esme(command_id::bind_receiver);
  r.t.deliver(ups[0], alert_pdu("447700900", "9990001", 80));  // no MO route owns 999
  r.t.deliver(ups[0], alert_pdu("447700901", "6660001", 81));  // lan: no receiver bound
  r.t.deliver(ups[0], alert_pdu("447700902", "5550001", 82));  // acme
  auto got = r.t.take(acme_rx);
  EXPECT_EQ(r.w.stats().alerts_received, 3U);
  EXPECT_EQ(r.w.stats().alerts_unrouted, 1U);
  EXPECT_EQ(r.w.stats().decode_errors, 0U);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(decoded(got[0]).source_addr, "447700902");
  EXPECT_TRUE(r.t.take(ups[0]).empty());
  EXPECT_EQ(r.w.stats().alerts_received, 3U);
  EXPECT_EQ(r.w.stats().alerts_unrouted, 1U);
  EXPECT_EQ(r.w.stats().alerts_dropped, 1U);
  EXPECT_EQ(r.w.stats().alerts_relayed, 1U);
  // Nothing is held for a receiver that binds later: an alert has no custody (no response).
  auto lan_rx = r.t.accept("10.0.0.1");
  r.t.deliver(lan_rx, bind_pdu(command_id::bind_receiver, "lan", "secret", 1));
  ASSERT_EQ(r.t.take(lan_rx).size(), 1U);
  r.now += 100;
  r.w.tick(r.now);
  EXPECT_TRUE(r.t.take(lan_rx).empty());
}

TEST(AlertNotification, ReachesAReceiverBoundOnAnotherWorker) {
  auto snap = snapshot_with_mo_routes();
  shared_state shared(snap->tenants.size(), snap->upstreams.size(), 2);
  ring_mesh mesh(2, 64);
  fake_transport t0, t1;
  router_worker w0(0, 2, t0, snap, &shared, &mesh);
  router_worker w1(1, 2, t1, snap, &shared, &mesh);
  ASSERT_EQ(w0.start(0), 0);
  ASSERT_EQ(w1.start(0), 0);
  std::vector<fake_transport::conn_id> ups = t0.pending_connects;
  for (auto c : ups) {
    t0.complete_connect(c);
    const pdu b = decoded(t0.take(c).at(0));
    t0.deliver(c, header(command_id::bind_transceiver_resp, S::ESME_ROK, b.sequence_number));
  }
  auto rx = t1.accept();
  t1.deliver(rx, bind_pdu(command_id::bind_receiver, "acme", "secret", 1));
  ASSERT_EQ(t1.take(rx).size(), 1U);
  for (uint32_t i = 0; i < 3; ++i) t0.deliver(ups[0], alert_pdu("44770", "5551", 90 + i));
  w0.run_once(1, 0);
  w1.run_once(1, 0);
  auto got = t1.take(rx);
  ASSERT_EQ(got.size(), 3U);
  for (const auto& b : got) EXPECT_EQ(decoded(b).id, command_id::alert_notification);
  EXPECT_EQ(w0.stats().alerts_received, 3U);
  EXPECT_EQ(w1.stats().alerts_relayed, 3U);
  EXPECT_EQ(w0.stats().alerts_dropped + w1.stats().alerts_dropped, 0U);
  EXPECT_TRUE(t0.take(ups[0]).empty());
}

// The first PDU written to c, decoded over octets it keeps (the PDU's fields view them).
struct written {
  std::vector<std::byte> bytes;
  pdu p;
};
written first_to(fake_transport& t, fake_transport::conn_id c) {
  auto all = t.take(c);
  written w;
  if (all.empty()) {
    ADD_FAILURE() << "nothing written";
    return w;
  }
  w.bytes = std::move(all[0]);
  w.p = decoded(w.bytes);
  return w;
}

// ---- submit_multi (SMPP 3.4 §4.5) ------------------------------------------------------------

// A submit_multi to SME addresses (dest_flag 1), or with a raw count for the bound tests.
std::vector<std::byte> multi_pdu(const std::vector<std::string>& dests, uint32_t seq) {
  std::vector<std::byte> list(dests.size() * 24);
  size_t at = 0;
  for (const std::string& d : dests) {
    at += codec::write_dest_address({codec::dest_flag_sme_address, 1, 1, d},
                                    std::span(list).subspan(at));
  }
  pdu p;
  p.id = command_id::submit_multi;
  p.sequence_number = seq;
  p.source_addr = "1234";
  p.dest_addresses = codec::dest_address_list(static_cast<uint8_t>(dests.size()),
                                              codec::bytes_view(list.data(), at));
  p.short_message = codec::as_bytes("to many");
  return encode(p);
}

std::vector<std::string> destinations_of(const pdu& p) {
  std::vector<std::string> out;
  for (const codec::dest_address d : p.dest_addresses) out.emplace_back(d.destination_addr);
  return out;
}

using failures = std::vector<std::pair<std::string, uint32_t>>;
failures unsuccess_of(const pdu& p) {
  failures out;
  for (const codec::unsuccess_sme u : p.unsuccess_smes)
    out.emplace_back(std::string(u.destination_addr), u.error_status_code);
  return out;
}

// The SMSC's submit_multi_resp to a forwarded part.
std::vector<std::byte> multi_resp(uint32_t seq, std::string_view id, const failures& refused = {}) {
  std::vector<std::byte> list(refused.size() * 28);
  size_t at = 0;
  for (const auto& [addr, st] : refused)
    at += codec::write_unsuccess_sme({1, 1, addr, st}, std::span(list).subspan(at));
  pdu r;
  r.id = command_id::submit_multi_resp;
  r.sequence_number = seq;
  r.message_id = id;
  r.unsuccess_smes = codec::unsuccess_sme_list(static_cast<uint8_t>(refused.size()),
                                               codec::bytes_view(list.data(), at));
  return encode(r);
}

constexpr auto invdstadr = static_cast<uint32_t>(S::ESME_RINVDSTADR);

TEST(SubmitMulti, EachDestinationTakesItsOwnRouteAndTheEsmeGetsOneAnswerListingTheRefused) {
  Rig r(make_snapshot());  // 44 -> primary, 33 -> backup
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme(command_id::bind_transceiver);
  r.t.deliver(esme, multi_pdu({"441", "331", "442", "999", "332"}, 7));
  EXPECT_TRUE(r.t.take(esme).empty());  // nothing until every part is answered
  auto to_primary = r.t.take(ups[0]);
  auto to_backup = r.t.take(ups[1]);
  ASSERT_EQ(to_primary.size(), 1U);
  ASSERT_EQ(to_backup.size(), 1U);
  const pdu a = decoded(to_primary[0]);
  const pdu b = decoded(to_backup[0]);
  EXPECT_EQ(a.id, command_id::submit_multi);
  EXPECT_EQ(destinations_of(a), (std::vector<std::string>{"441", "442"}));
  EXPECT_EQ(destinations_of(b), (std::vector<std::string>{"331", "332"}));
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(a.short_message.data()), a.short_message.size()),
      "to many");
  // The backup SMSC refuses one of its destinations itself.
  r.t.deliver(ups[1], multi_resp(b.sequence_number, "B-1", {{"332", 0x0B}}));
  EXPECT_TRUE(r.t.take(esme).empty());
  r.t.deliver(ups[0], multi_resp(a.sequence_number, "P-1"));
  auto got = r.t.take(esme);
  ASSERT_EQ(got.size(), 1U);
  const pdu resp = decoded(got[0]);
  EXPECT_EQ(resp.id, command_id::submit_multi_resp);
  EXPECT_EQ(resp.sequence_number, 7U);
  EXPECT_EQ(resp.status, S::ESME_ROK);
  EXPECT_EQ(resp.message_id, "P-1");  // the part of the first destination
  EXPECT_EQ(unsuccess_of(resp), (failures{{"999", invdstadr}, {"332", 0x0B}}));
  EXPECT_EQ(r.w.stats().multi_split, 1U);
  EXPECT_EQ(r.w.stats().multi_unsuccess, 2U);
  EXPECT_EQ(r.w.stats().submit_forwarded, 2U);
  EXPECT_EQ(r.w.stats().resp_relayed, 2U);
}

TEST(SubmitMulti, ARefusedPartListsAllItsDestinationsAndNoAcceptedPartAnswersTheFirstRefusal) {
  Rig r(make_snapshot());
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme(command_id::bind_transceiver);
  r.t.deliver(esme, multi_pdu({"331", "441", "332"}, 8));
  const pdu b = decoded(r.t.take(ups[1]).at(0));
  const pdu a = decoded(r.t.take(ups[0]).at(0));
  r.t.deliver(ups[1], header(command_id::submit_multi_resp, S::ESME_RMSGQFUL, b.sequence_number));
  r.t.deliver(ups[0], multi_resp(a.sequence_number, "P-2"));
  const written w1 = first_to(r.t, esme);
  pdu resp = w1.p;
  EXPECT_EQ(resp.status, S::ESME_ROK);
  EXPECT_EQ(resp.message_id, "P-2");  // the first part was refused: the first accepted one's
  const auto qful = static_cast<uint32_t>(S::ESME_RMSGQFUL);
  EXPECT_EQ(unsuccess_of(resp), (failures{{"331", qful}, {"332", qful}}));
  // Every part refused: the first refusal is the status, every destination listed.
  r.t.deliver(esme, multi_pdu({"441", "331"}, 9));
  const pdu a2 = decoded(r.t.take(ups[0]).at(0));
  const pdu b2 = decoded(r.t.take(ups[1]).at(0));
  r.t.deliver(ups[1], header(command_id::generic_nack, S::ESME_RSYSERR, b2.sequence_number));
  r.t.deliver(ups[0],
              header(command_id::submit_multi_resp, S::ESME_RINVSRCADR, a2.sequence_number));
  auto got = r.t.take(esme);
  ASSERT_EQ(got.size(), 1U);
  resp = decoded(got[0]);
  EXPECT_EQ(resp.sequence_number, 9U);
  EXPECT_EQ(resp.status, S::ESME_RINVSRCADR);
  EXPECT_EQ(resp.message_id, "");
  EXPECT_EQ(unsuccess_of(resp), (failures{{"441", static_cast<uint32_t>(S::ESME_RINVSRCADR)},
                                          {"331", static_cast<uint32_t>(S::ESME_RSYSERR)}}));
  EXPECT_EQ(r.w.stats().multi_split, 2U);
  EXPECT_EQ(r.w.stats().multi_unsuccess, 4U);
}

TEST(SubmitMulti, OneRouteForEveryDestinationForwardsThePduAsItIs) {
  Rig r(make_snapshot());
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme(command_id::bind_transceiver);
  const auto sent = multi_pdu({"441", "442", "443"}, 10);
  r.t.deliver(esme, sent);
  auto fwd = r.t.take(ups[0]);
  ASSERT_EQ(fwd.size(), 1U);
  EXPECT_TRUE(std::equal(fwd[0].begin() + 16, fwd[0].end(), sent.begin() + 16, sent.end()));
  EXPECT_TRUE(r.t.take(ups[1]).empty());
  r.t.deliver(ups[0], multi_resp(decoded(fwd[0]).sequence_number, "P-3", {{"443", 0x0B}}));
  const written w1 = first_to(r.t, esme);
  const pdu& resp = w1.p;
  EXPECT_EQ(resp.message_id, "P-3");
  EXPECT_EQ(unsuccess_of(resp), (failures{{"443", 0x0B}}));
  EXPECT_EQ(r.w.stats().multi_split, 0U);
  // No destination routed: refused as a submit_sm without a route.
  r.t.deliver(esme, multi_pdu({"991", "992"}, 11));
  const written w2 = first_to(r.t, esme);
  const pdu& none = w2.p;
  EXPECT_EQ(none.status, S::ESME_RINVDSTADR);
  EXPECT_EQ(r.w.stats().no_route, 1U);
}

TEST(SubmitMulti, At254DestinationsEveryOneIsRoutedAndThe255thIsRefused) {
  Rig r(make_snapshot());
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme(command_id::bind_transceiver);
  std::vector<std::string> dests;
  for (int i = 0; i < 254; ++i) dests.push_back((i % 2 == 0 ? "44" : "33") + std::to_string(i));
  r.t.deliver(esme, multi_pdu(dests, 12));
  const pdu a = decoded(r.t.take(ups[0]).at(0));
  const pdu b = decoded(r.t.take(ups[1]).at(0));
  EXPECT_EQ(a.dest_addresses.size(), 127U);
  EXPECT_EQ(b.dest_addresses.size(), 127U);
  r.t.deliver(ups[0], multi_resp(a.sequence_number, "P-4"));
  r.t.deliver(ups[1], multi_resp(b.sequence_number, "B-4"));
  const written w1 = first_to(r.t, esme);
  pdu resp = w1.p;
  EXPECT_EQ(resp.status, S::ESME_ROK);
  EXPECT_EQ(resp.unsuccess_smes.size(), 0U);
  // SMPP 3.4 §5.1.1: a sequence number beyond 0x7FFFFFFF is refused, never forwarded.
  dests.pop_back();
  r.t.deliver(esme, multi_pdu(dests, 0x8000'0005U));
  const written odd = first_to(r.t, esme);
  EXPECT_EQ(odd.p.sequence_number, 0x8000'0005U);
  EXPECT_EQ(odd.p.status, S::ESME_RUNKNOWNERR);
  dests.push_back("44998");
  dests.push_back("44999");
  r.t.deliver(esme, multi_pdu(dests, 13));
  const written w2 = first_to(r.t, esme);
  resp = w2.p;
  EXPECT_EQ(resp.sequence_number, 13U);
  EXPECT_EQ(resp.status, S::ESME_RINVNUMDESTS);
  EXPECT_TRUE(r.t.take(ups[0]).empty());
  EXPECT_TRUE(r.t.take(ups[1]).empty());
}

TEST(SubmitMulti, BeyondTheSplitsInProgressOfAWorkerTheNextIsThrottledAndAnswersFreeThem) {
  constexpr uint32_t splits = 4096;  // multi_table::capacity
  auto snap = make_snapshot(1, splits + 8);
  for (auto& u : snap->upstreams) u.binds[0].window = splits + 8;
  Rig r(snap);
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme(command_id::bind_transceiver);
  for (uint32_t i = 0; i < splits + 1; ++i) r.t.deliver(esme, multi_pdu({"441", "331"}, 100 + i));
  auto early = r.t.take(esme);
  ASSERT_EQ(early.size(), 1U);
  EXPECT_EQ(decoded(early[0]).sequence_number, 100 + splits);
  EXPECT_EQ(decoded(early[0]).status, S::ESME_RTHROTTLED);
  EXPECT_EQ(r.w.stats().multi_full, 1U);
  auto to_primary = r.t.take(ups[0]);
  auto to_backup = r.t.take(ups[1]);
  ASSERT_EQ(to_primary.size(), splits);
  ASSERT_EQ(to_backup.size(), splits);
  for (const auto& f : to_primary) r.t.deliver(ups[0], multi_resp(decoded(f).sequence_number, "P"));
  for (const auto& f : to_backup) r.t.deliver(ups[1], multi_resp(decoded(f).sequence_number, "B"));
  auto answers = r.t.take(esme);
  ASSERT_EQ(answers.size(), splits);
  for (const auto& a : answers) EXPECT_EQ(decoded(a).status, S::ESME_ROK);
  EXPECT_EQ(r.w.stats().multi_split, splits);
  // Room again.
  r.t.deliver(esme, multi_pdu({"441", "331"}, 9000));
  EXPECT_EQ(r.t.take(ups[0]).size(), 1U);
  EXPECT_EQ(r.t.take(ups[1]).size(), 1U);
  EXPECT_EQ(r.w.stats().multi_split, splits + 1);
}

// ---- broadcast_sm, query_broadcast_sm, cancel_broadcast_sm (SMPP 5.0 §4.4) -------------------

// A route for every destination (no destination_prefix): primary, then backup.
std::shared_ptr<router_snapshot> snapshot_with_broadcast(bool backup_takes_broadcasts) {
  auto snap = make_snapshot();
  route_def all;
  all.upstreams = {0, 1};
  route_def r44;
  r44.destination_prefix = "44";
  r44.upstreams = {0, 1};
  snap->routes = route_table({all, r44});
  snap->upstreams[1].broadcast = backup_takes_broadcasts;
  return snap;
}

std::vector<std::byte> broadcast_pdu(uint32_t seq) {
  pdu p;
  p.id = command_id::broadcast_sm;
  p.sequence_number = seq;
  p.source_addr = "1234";
  std::array<std::byte, 64> tlvs;
  codec::tlv_writer w(tlvs);
  const std::array<std::byte, 3> area{std::byte{0}, std::byte{0x12}, std::byte{0x34}};
  const std::array<std::byte, 3> content{std::byte{0}, std::byte{0}, std::byte{1}};
  const std::array<std::byte, 3> every{std::byte{0}, std::byte{0}, std::byte{5}};  // minutes
  EXPECT_TRUE(w.add(codec::tag::broadcast_area_identifier, area));
  EXPECT_TRUE(w.add(codec::tag::broadcast_content_type, content));
  EXPECT_TRUE(w.add_uint(codec::tag::broadcast_rep_num, 2, 2));
  EXPECT_TRUE(w.add(codec::tag::broadcast_frequency_interval, every));
  p.tlvs = w.area();
  return encode(p);
}

std::vector<std::byte> broadcast_op(command_id id, std::string_view message_id, uint32_t seq) {
  pdu p;
  p.id = id;
  p.sequence_number = seq;
  p.message_id = message_id;
  p.source_addr = "1234";
  return encode(p);
}

TEST(Broadcast, GoesOnlyToTheRoutesUpstreamsThatTakeBroadcastsAndItsOperationsFollowItsId) {
  Rig r(snapshot_with_broadcast(true));
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme(command_id::bind_transceiver);
  r.t.deliver(esme, broadcast_pdu(21));
  EXPECT_TRUE(r.t.take(ups[0]).empty());  // primary comes first in the route but takes none
  auto fwd = r.t.take(ups[1]);
  ASSERT_EQ(fwd.size(), 1U);
  EXPECT_EQ(decoded(fwd[0]).id, command_id::broadcast_sm);
  pdu resp;
  resp.id = command_id::broadcast_sm_resp;
  resp.sequence_number = decoded(fwd[0]).sequence_number;
  resp.message_id = "BC-1";
  r.t.deliver(ups[1], encode(resp));
  auto got = r.t.take(esme);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(decoded(got[0]).id, command_id::broadcast_sm_resp);
  EXPECT_EQ(decoded(got[0]).sequence_number, 21U);
  EXPECT_EQ(decoded(got[0]).message_id, "BC-1");
  // query_broadcast_sm and cancel_broadcast_sm for that id reach the upstream that issued it.
  r.t.deliver(esme, broadcast_op(command_id::query_broadcast_sm, "BC-1", 22));
  r.t.deliver(esme, broadcast_op(command_id::cancel_broadcast_sm, "BC-1", 23));
  EXPECT_TRUE(r.t.take(ups[0]).empty());
  auto ops = r.t.take(ups[1]);
  ASSERT_EQ(ops.size(), 2U);
  EXPECT_EQ(decoded(ops[0]).id, command_id::query_broadcast_sm);
  EXPECT_EQ(decoded(ops[1]).id, command_id::cancel_broadcast_sm);
  r.t.deliver(ups[1], header(command_id::cancel_broadcast_sm_resp, S::ESME_ROK,
                             decoded(ops[1]).sequence_number));
  got = r.t.take(esme);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(decoded(got[0]).id, command_id::cancel_broadcast_sm_resp);
  EXPECT_EQ(decoded(got[0]).sequence_number, 23U);
  // An id no upstream issued: the operation's own failure (SMPP 5.0 §4.4.2, §4.4.3).
  r.t.deliver(esme, broadcast_op(command_id::query_broadcast_sm, "BC-9", 24));
  r.t.deliver(esme, broadcast_op(command_id::cancel_broadcast_sm, "BC-9", 25));
  got = r.t.take(esme);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(decoded(got[0]).status, S::ESME_RBCASTQUERYFAIL);
  EXPECT_EQ(decoded(got[1]).status, S::ESME_RBCASTCANCELFAIL);
  EXPECT_EQ(r.w.stats().submit_forwarded, 3U);
  EXPECT_EQ(r.w.stats().message_ops, 2U);
  EXPECT_EQ(r.w.stats().message_ops_unknown, 2U);
}

// The refusal must come from the route's upstreams not taking broadcasts, not from broadcast_sm
// being refused as such: the same route and PDU are forwarded once one upstream takes them, and
// the two causes are counted apart (broadcast_no_taker, no_route).
TEST(Broadcast, WithNoUpstreamOfItsRouteTakingBroadcastsItFailsAsABroadcast) {
  Rig r(snapshot_with_broadcast(false));
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme(command_id::bind_transceiver);
  r.t.deliver(esme, broadcast_pdu(31));
  auto got = r.t.take(esme);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(decoded(got[0]).id, command_id::broadcast_sm_resp);
  EXPECT_EQ(decoded(got[0]).status, S::ESME_RBCASTFAIL);
  EXPECT_EQ(decoded(got[0]).sequence_number, 31U);
  EXPECT_TRUE(r.t.take(ups[0]).empty());
  EXPECT_TRUE(r.t.take(ups[1]).empty());
  EXPECT_EQ(r.w.stats().broadcast_no_taker, 1U);
  EXPECT_EQ(r.w.stats().no_route, 0U);
  // The same PDU on the same route, with the backup taking broadcasts: forwarded and answered.
  Rig taken(snapshot_with_broadcast(true));
  auto ups_t = taken.bring_up_upstreams();
  auto esme_t = taken.bound_esme(command_id::bind_transceiver);
  taken.t.deliver(esme_t, broadcast_pdu(31));
  EXPECT_TRUE(taken.t.take(esme_t).empty()) << "no answer before the upstream's";
  ASSERT_EQ(taken.t.take(ups_t[1]).size(), 1U);
  EXPECT_EQ(taken.w.stats().broadcast_no_taker, 0U);
  // Without a route for an empty destination, likewise, even where upstreams take broadcasts.
  auto snap = make_snapshot();  // routes 44 and 33 only
  snap->upstreams[0].broadcast = snap->upstreams[1].broadcast = true;
  Rig r2(snap);
  auto ups2 = r2.bring_up_upstreams();
  auto esme2 = r2.bound_esme(command_id::bind_transceiver);
  r2.t.deliver(esme2, broadcast_pdu(32));
  EXPECT_EQ(decoded(r2.t.take(esme2).at(0)).status, S::ESME_RBCASTFAIL);
  EXPECT_TRUE(r2.t.take(ups2[0]).empty());
  EXPECT_TRUE(r2.t.take(ups2[1]).empty());
  EXPECT_EQ(r2.w.stats().no_route, 1U);
  EXPECT_EQ(r2.w.stats().broadcast_no_taker, 0U);
}

// ---- outbind (SMPP 3.4 §4.1.7) -----------------------------------------------------------------

// Upstream "backup" calls the router back on 127.0.0.1:2790 with outbind smsc-b / obpw.
std::shared_ptr<router_snapshot> snapshot_with_outbind() {
  auto snap = make_snapshot();
  snap->upstreams[1].outbind_listen = {"127.0.0.1", 2790};
  snap->upstreams[1].outbind_system_id = "smsc-b";
  snap->upstreams[1].outbind_password = "obpw";
  return snap;
}

std::vector<std::byte> outbind_pdu(std::string_view system_id, std::string_view password) {
  pdu p;
  p.id = command_id::outbind;
  p.sequence_number = 1;
  p.system_id = system_id;
  p.password = password;
  return encode(p);
}

TEST(Outbind, TheSmscsOutbindLeadsTheRouterToBindOnThatConnectionAndCarryTraffic) {
  Rig r(snapshot_with_outbind());
  ASSERT_EQ(r.t.listeners.size(), 2U);  // the ESMEs' and the outbind listener
  EXPECT_EQ(r.t.listeners[1].port, 2790);
  ASSERT_EQ(r.t.pending_connects.size(), 1U);  // primary only: the router never calls backup
  auto ups = r.bring_up_upstreams();
  auto esme = r.bound_esme(command_id::bind_transceiver);
  // Before the SMSC called back, its route fails over / has nothing up.
  r.t.deliver(esme, testing::submit_pdu("3301", 2));
  EXPECT_EQ(decoded(r.t.take(esme).at(0)).status, upstream_failure_status);
  const auto smsc = r.t.accept("127.0.0.1", 1);
  EXPECT_TRUE(r.t.take(smsc).empty());  // nothing before the outbind
  r.t.deliver(smsc, outbind_pdu("smsc-b", "obpw"));
  const written bind = first_to(r.t, smsc);
  EXPECT_EQ(bind.p.id, command_id::bind_transceiver);
  EXPECT_EQ(bind.p.system_id, "router");
  EXPECT_EQ(bind.p.password, "pw");
  r.t.deliver(smsc, header(command_id::bind_transceiver_resp, S::ESME_ROK, bind.p.sequence_number));
  // Bound: requests routed to backup go on that connection, receipts come back on it.
  r.t.deliver(esme, testing::submit_pdu("3301", 3));
  const written fwd = first_to(r.t, smsc);
  EXPECT_EQ(fwd.p.destination_addr, "3301");
  pdu resp;
  resp.id = command_id::submit_sm_resp;
  resp.sequence_number = fwd.p.sequence_number;
  resp.message_id = "OB-1";
  r.t.deliver(smsc, encode(resp));
  const written answer = first_to(r.t, esme);
  EXPECT_EQ(answer.p.sequence_number, 3U);
  EXPECT_EQ(answer.p.message_id, "OB-1");
  r.t.deliver(smsc, testing::receipt_pdu("id:OB-1 stat:DELIVRD", 40));
  const written receipt = first_to(r.t, esme);
  EXPECT_EQ(receipt.p.id, command_id::deliver_sm);
  r.t.deliver(esme, header(command_id::deliver_sm_resp, S::ESME_ROK, receipt.p.sequence_number));
  EXPECT_EQ(first_to(r.t, smsc).p.sequence_number, 40U);
  EXPECT_EQ(r.w.stats().outbinds, 1U);
  EXPECT_EQ(r.w.stats().outbinds_refused, 0U);
  // Dropped, it is not called by the router: it waits for the next outbind.
  r.t.peer_close(smsc);
  r.now += 60'000;
  r.w.tick(r.now);
  EXPECT_TRUE(r.t.pending_connects.empty());
}

TEST(Outbind, WrongCredentialsNoOutbindInTimeOrNoFreeBindCloseTheConnection) {
  Rig r(snapshot_with_outbind());
  r.bring_up_upstreams();
  const auto wrong = r.t.accept("127.0.0.1", 1);
  r.t.deliver(wrong, outbind_pdu("smsc-b", "nope"));
  EXPECT_TRUE(r.t.take(wrong).empty());
  EXPECT_TRUE(r.t.conns[wrong].closed);
  r.t.poll(0);
  const auto silent = r.t.accept("127.0.0.1", 1);
  r.now += r.snap->timers.bind_ms;
  r.w.tick(r.now);
  EXPECT_TRUE(r.t.conns[silent].closed);
  EXPECT_TRUE(r.t.take(silent).empty());
  r.t.poll(0);
  const auto good = r.t.accept("127.0.0.1", 1);
  r.t.deliver(good, outbind_pdu("smsc-b", "obpw"));
  EXPECT_EQ(first_to(r.t, good).p.id, command_id::bind_transceiver);
  const auto second = r.t.accept("127.0.0.1", 1);  // its one bind is taken
  EXPECT_TRUE(r.t.conns[second].closed);
  EXPECT_FALSE(r.t.conns[good].closed);
  EXPECT_EQ(r.w.stats().outbinds, 1U);
  EXPECT_EQ(r.w.stats().outbinds_refused, 3U);
}

}  // namespace
}  // namespace smpp::dataplane
