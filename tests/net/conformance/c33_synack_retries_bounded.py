"""SYN-ACK retransmission is bounded (RFC 9293 §3.8.1, RFC 6298 §5.5): with --synack-retries 2 and
an initial RTO of 100 ms, an unanswered SYN gets its SYN-ACK at 0, +100 ms and +300 ms, then the
embryonic connection is dropped (no RST, the listener place freed): a late ACK gets a RST."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    c.send("S", opts=c.syn_options())
    first = c.expect("SA", ack=c.snd_nxt, what="SYN-ACK")
    times = [first.at]
    for i in range(2):
        r = c.expect("SA", seq=first.seq, ack=c.snd_nxt, timeout=1.0, what=f"SYN-ACK again {i + 1}")
        times.append(r.at)
    gaps = [b - a for a, b in zip(times, times[1:])]
    check(0.07 <= gaps[0] <= 0.2 and 1.6 <= gaps[1] / gaps[0] <= 2.5,
          f"SYN-ACK gaps {[round(g, 3) for g in gaps]}, expected 0.1 s then 0.2 s")
    c.expect_none(0.8, "after the last SYN-ACK retry")
    c.rcv_nxt = first.seq + 1
    c.send("A")
    c.expect("R", seq=first.seq + 1, what="ACK after the embryonic connection was dropped")


def counters(f):
    t = f["tcp"]
    check(t["syn_retransmits"] == 2 and t["timeouts"] == 1, f"tcp {t}")
    check(t["established"] == 0 and f["connections"] == 0, "connections")


run_case(body, peer_args=["--synack-retries", "2", "--initial-rto-ms", "100",
                          "--min-rto-ms", "100"], check_counters=counters)
