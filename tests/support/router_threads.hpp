// Steps shared by the tests that run two router workers on two threads over fake transports:
// the upstream's worker brings its bind up, the ESME's worker binds "acme" (router_fixture.hpp's
// one_upstream_snapshot) and sends submit_sm.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "fake_transport.hpp"
#include "router_fixture.hpp"
#include "router_test_pdus.hpp"
#include "smpp/codec/codec.hpp"

namespace smpp::testing {

// The worker's first upstream connect completed and its bind_transceiver answered with success;
// returns that connection.
inline dataplane::conn_id answer_upstream_bind(fake_transport& tr) {
  const auto up = tr.pending_connects.at(0);
  tr.complete_connect(up);
  const auto bind = tr.take(up).at(0);
  tr.deliver(up, header(codec::command_id::bind_transceiver_resp, codec::command_status::ESME_ROK,
                        codec::load_be32(bind.data() + 12)));
  return up;
}

// An ESME accepted and bound as "acme"/"pw"; it got exactly one answer. Call it under
// ASSERT_NO_FATAL_FAILURE.
inline void bind_esme(fake_transport& tr, dataplane::conn_id& esme) {
  codec::pdu b;
  b.id = codec::command_id::bind_transceiver;
  b.sequence_number = 1;
  b.system_id = "acme";
  b.password = "pw";
  esme = tr.accept();
  tr.deliver(esme, encode_pdu(b));
  ASSERT_EQ(tr.take(esme).size(), 1U);
}

// A submit_sm of "x" to 4477 (sequence number left to the caller).
inline codec::pdu small_submit() {
  codec::pdu s;
  s.id = codec::command_id::submit_sm;
  s.destination_addr = "4477";
  s.short_message = codec::as_bytes("x");
  return s;
}

}  // namespace smpp::testing
