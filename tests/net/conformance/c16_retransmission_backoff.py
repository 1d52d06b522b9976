"""Retransmission of unacknowledged data with exponential back-off (RFC 6298 §5.4-5.6, Karn):
the sender port's 1000 octets, never acknowledged, come again identical at RTO (200 ms initial
here, no RTT sample yet), then after 2x and 4x that; once acknowledged, nothing more."""
from drill import *


def body(peer, wire):
    c = Conn(wire, SENDER)
    sa = c.handshake()
    first = c.expect("PA", seq=sa.seq + 1, ack=c.snd_nxt, length=1000, what="data")
    check(bytes(first.payload) == pattern(0, 1000), "data octets differ from the pattern")
    times = [first.at]
    for i in range(3):
        r = c.expect("PA", seq=sa.seq + 1, ack=c.snd_nxt, length=1000, timeout=3.0,
                     what=f"retransmission {i + 1}")
        check(bytes(r.payload) == bytes(first.payload), "a retransmission changed the octets")
        times.append(r.at)
    gaps = [b - a for a, b in zip(times, times[1:])]
    check(0.17 <= gaps[0] <= 0.35, f"first RTO {gaps[0]:.3f}s, expected 0.2 s")
    for a, b in zip(gaps, gaps[1:]):
        check(1.6 <= b / a <= 2.5, f"back-off gaps {[round(g, 3) for g in gaps]}: not doubling")
    c.send("A", ack=sa.seq + 1001)
    c.expect_none(1.0, "after everything was acknowledged")


def counters(f):
    t = f["tcp"]
    check(t["rto_expirations"] == 3 and t["retransmits"] == 3, f"tcp {t}")


run_case(body, peer_args=["--sender-bytes", "1000", "--initial-rto-ms", "200"],
         check_counters=counters)
