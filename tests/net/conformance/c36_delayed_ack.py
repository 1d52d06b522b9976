"""Delayed ACKs (RFC 9293 §3.8.6.3, RFC 5681 §4.2): a small segment is acknowledged after the
delayed-ACK time (40 ms here), not at once; of two full-sized segments, the second is
acknowledged at once, for both."""
from drill import *


def body(peer, wire):
    c = Conn(wire, DISCARD)
    sa = c.handshake()
    t0 = time.monotonic()
    c.send("PA", b"x" * 100)
    a = c.expect("A", seq=sa.seq + 1, ack=c.snd_nxt, length=0, what="delayed ACK")
    check(0.03 <= a.at - t0 <= 0.2, f"ACK after {a.at - t0:.3f}s, expected 40 ms")
    mss = 1460 - 12  # our MSS option less the timestamps option
    c.send("A", b"y" * mss)
    c.send("PA", b"z" * mss)
    t1 = time.monotonic()
    a = c.expect("A", seq=sa.seq + 1, ack=c.snd_nxt, length=0, what="ACK of two full segments")
    check(a.at - t1 < 0.025, f"ACK of the second full segment after {a.at - t1:.3f}s")


def counters(f):
    check(f["tcp"]["delayed_acks"] == 1, f"delayed_acks {f['tcp']['delayed_acks']}")


run_case(body, check_counters=counters)
