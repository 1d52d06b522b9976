"""RST outside the window is dropped silently (RFC 5961 §3.2 case 1, RFC 9293 §3.10.7.4): no
reply at all, not even a challenge ACK, for one beyond the right edge or one before RCV.NXT; the
connection carries on."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    c.handshake()
    c.send("R", seq=c.snd_nxt + 200000, ack=0, opts=[])
    c.expect_none(0.3, "RST beyond the window")
    c.send("R", seq=c.snd_nxt - 10, ack=0, opts=[])
    c.expect_none(0.3, "RST before RCV.NXT")
    c.send("PA", b"alive")
    e = c.expect("PA", ack=c.snd_nxt, length=5, what="echo after out-of-window RSTs")
    c.ack_data(e)
    c.send("A")


def counters(f):
    t = f["tcp"]
    check(t["challenge_acks"] == 0, "a challenge ACK for an out-of-window RST")
    check(t["drop_out_of_window"] == 2, f"drop_out_of_window {t['drop_out_of_window']}")
    check(f["connections"] == 1, "the connection did not survive")


run_case(body, check_counters=counters)
