"""Answers to window probes are not duplicate ACKs that trigger a fast retransmit (RFC 9293
§3.8.6.1: into a zero window only the one-octet probe may go; RFC 5681 §3.2): every probe answered
with window 0, the next probe is still one octet, however many were answered."""
from drill import *


def body(peer, wire):
    c = Conn(wire, SENDER)
    sa = c.handshake(ack_win=0)
    una = sa.seq + 1
    for i in range(4):
        c.expect("A", seq=una, ack=c.snd_nxt, length=1, timeout=3.0, what=f"probe {i + 1}")
        c.send("A", ack=una, win=0)
    c.expect_none(0.3, "after the fourth probe was answered")


def counters(f):
    t = f["tcp"]
    check(t["fast_retransmits"] == 0, f"fast_retransmits {t['fast_retransmits']}")
    check(t["bytes_out"] == 4, f"bytes_out {t['bytes_out']}: more than the probes went out")


run_case(body, peer_args=["--sender-bytes", "3000", "--initial-rto-ms", "200"],
         check_counters=counters)
