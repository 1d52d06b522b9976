"""Zero window and window probes with back-off (RFC 9293 §3.8.6.1, RFC 6298 §5.5): our window is
0 from the handshake on, so the sender port's data waits; the stack probes with one octet at
SND.UNA after the RTO, then backs off (doubling), and keeps probing while we answer with a zero
window; it never sends more than the probe octet into the closed window. (Only the first two
probes are answered here: c32 shows what a third answer does.)"""
from drill import *


def body(peer, wire):
    c = Conn(wire, SENDER)
    sa = c.handshake(ack_win=0)
    una = sa.seq + 1
    times = []
    for i in range(4):
        p = c.expect("A", seq=una, ack=c.snd_nxt, length=1, timeout=3.0, what=f"probe {i + 1}")
        check(bytes(p.payload) == pattern(0, 1), "probe octet is not the next octet")
        times.append(p.at)
        if i < 2:
            c.send("A", ack=una, win=0)  # not taken: the window is still closed
    gaps = [b - a for a, b in zip(times, times[1:])]
    for a, b in zip(gaps, gaps[1:]):
        check(1.6 <= b / a <= 2.5, f"probe gaps {[round(g, 3) for g in gaps]}: not doubling")
    c.expect_none(0.3, "right after the fourth probe")


def counters(f):
    t = f["tcp"]
    check(t["window_probes"] == 4, f"window_probes {t['window_probes']}")
    check(t["bytes_out"] == 4, f"bytes_out {t['bytes_out']}: more than the probes went out")


run_case(body, peer_args=["--sender-bytes", "3000", "--initial-rto-ms", "200"],
         check_counters=counters)
