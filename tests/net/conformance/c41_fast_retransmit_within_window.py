"""A fast retransmission stays within the offered window (RFC 9293 §3.8.6: the sender must not
send beyond SND.UNA + SND.WND; RFC 5681 §3.2 retransmits "the lost segment"). We offer 1000
octets without scaling: the stack sends exactly 1000; three duplicate ACKs must bring back those
1000 octets, not a full MSS reaching past the window."""
from drill import *


def body(peer, wire):
    c = Conn(wire, SENDER)
    sa = c.handshake(wscale=None, ack_win=1000)
    una = sa.seq + 1
    t, first = c.recv(1.0)
    check(first is not None and first.seq == una and len(first.payload) == 1000,
          f"first segment {first and (first.seq, len(first.payload))}, expected 1000 at {una}")
    c.expect_none(0.1, "more data than the window")
    for _ in range(3):
        c.send("A", ack=una, win=1000)
    t, r = c.recv(0.3)
    check(r is not None and r.seq == una, "no fast retransmission after three duplicate ACKs")
    check(len(r.payload) <= 1000, f"retransmitted {len(r.payload)} octets into a 1000-octet window")


run_case(body, peer_args=["--sender-bytes", "3000", "--min-rto-ms", "1000",
                          "--initial-rto-ms", "1000"])
