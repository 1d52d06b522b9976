"""Keepalive probes when enabled (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): after 300 ms idle the
stack sends <SEQ=SND.UNA-1><ACK=RCV.NXT> with no data; an answer restarts the idle time; three
unanswered probes 200 ms apart end the connection with a RST and on_close(ETIMEDOUT)."""
from drill import *


def body(peer, wire):
    c = Conn(wire, DISCARD)
    sa = c.handshake()
    t0 = time.monotonic()
    p = c.expect("A", seq=sa.seq, ack=c.snd_nxt, length=0, timeout=1.0, what="first probe")
    check(0.25 <= p.at - t0 <= 0.45, f"first probe after {p.at - t0:.3f}s, expected 0.3 s")
    c.send("A")
    t1 = time.monotonic()
    times = []
    for i in range(3):
        p = c.expect("A", seq=sa.seq, ack=c.snd_nxt, length=0, timeout=1.0,
                     what=f"unanswered probe {i + 1}")
        times.append(p.at)
    check(0.25 <= times[0] - t1 <= 0.45, f"probe after the answer at {times[0] - t1:.3f}s")
    # Never early; a late wake-up of a busy machine may stretch one interval, not the timer.
    intervals = [b - a for a, b in zip(times, times[1:])]
    text = ", ".join(f"{x:.3f}" for x in intervals)
    check(all(0.15 <= x <= 0.6 for x in intervals), f"probe intervals {text}s, expected 0.2 s")
    check(min(intervals) <= 0.3, f"probe intervals {text}s, expected 0.2 s")
    c.expect("RA", seq=sa.seq + 1, ack=c.snd_nxt, timeout=1.0, what="RST after the last probe")
    ev = peer.wait_event(lambda e: e.get("event") == "close", 1.0)
    check(ev is not None and ev["err"] == 110, f"on_close {ev}, expected ETIMEDOUT (110)")


def counters(f):
    t = f["tcp"]
    check(t["keepalive_probes"] == 4 and t["timeouts"] == 1, f"tcp {t}")


run_case(body, peer_args=["--keepalive-idle-ms", "300", "--keepalive-interval-ms", "200",
                          "--keepalive-probes", "3"], check_counters=counters)
