"""Out-of-order data (RFC 9293 §3.10.7.4 seventh; RFC 5681 §4.2): a segment beyond RCV.NXT is
held and answered at once with a duplicate ACK; the segment that fills the hole is acknowledged
at once for both, and the echo returns both in order."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    sa = c.handshake()
    nxt = sa.seq + 1
    start = c.snd_nxt
    c.send("PA", b"B" * 100, seq=start + 100)
    c.expect("A", seq=nxt, ack=start, length=0, timeout=0.1, what="duplicate ACK for the hole")
    c.expect_none(0.2, "nothing delivered while the hole is open")
    c.send("A", b"A" * 100, seq=start)
    c.snd_nxt = start + 200
    t, s = c.recv(0.1)
    check(s is not None and s.ack == start + 200, f"no immediate ACK of both ({s and s.ack})")
    c.wire.held.insert(0, (t, IP(src=STACK_IP, dst=REMOTE_IP) / s))
    got = c.read(200)
    check(got == b"A" * 100 + b"B" * 100, "echo not in order")


def counters(f):
    check(f["tcp"]["out_of_order"] == 1, f"out_of_order {f['tcp']['out_of_order']}")


run_case(body, check_counters=counters)
