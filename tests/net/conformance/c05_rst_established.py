"""RST in ESTABLISHED (RFC 9293 §3.10.7.4; RFC 5961 §3.2): RST,ACK at exactly RCV.NXT resets the
connection (on_close ECONNRESET); later data gets <SEQ=SEG.ACK><CTL=RST> from CLOSED."""
from drill import *


def body(peer, wire):
    c = Conn(wire, DISCARD)
    c.handshake()
    c.send("RA", opts=[])
    ev = peer.wait_event(lambda e: e.get("event") == "close", 1.0)
    check(ev is not None and ev["err"] == 104, f"on_close {ev}, expected ECONNRESET (104)")
    c.expect_none(0.2, "after the RST")
    c.send("PA", b"after reset")
    c.expect("R", seq=c.rcv_nxt, ack=0, what="data to a reset connection")


def counters(f):
    check(f["tcp"]["rst_in"] == 1 and f["connections"] == 0, f"rst_in {f['tcp']['rst_in']}")


run_case(body, check_counters=counters)
