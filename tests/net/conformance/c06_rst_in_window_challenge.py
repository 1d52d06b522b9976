"""RST inside the window but not at RCV.NXT -> challenge ACK (RFC 5961 §3.2 case 3): the stack
answers <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and stays up; the RST at exactly RCV.NXT then resets
(§3.2 case 2)."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    sa = c.handshake()
    c.send("R", seq=c.snd_nxt + 100, ack=0, opts=[])
    c.expect("A", seq=sa.seq + 1, ack=c.snd_nxt, length=0, what="challenge ACK")
    c.send("R", seq=c.snd_nxt + 30000, ack=0, opts=[])
    c.expect("A", seq=sa.seq + 1, ack=c.snd_nxt, length=0, what="second challenge ACK")
    c.send("PA", b"still up")
    e = c.expect("PA", ack=c.snd_nxt, length=8, what="echo after the challenge")
    c.ack_data(e)
    c.send("R", ack=0, opts=[])
    ev = peer.wait_event(lambda e: e.get("event") == "close", 1.0)
    check(ev is not None and ev["err"] == 104, f"on_close {ev}")
    c.expect_none(0.2, "after the exact RST")


def counters(f):
    t = f["tcp"]
    check(t["challenge_acks"] == 2, f"challenge_acks {t['challenge_acks']}, expected 2")
    check(f["connections"] == 0, "connection left after the exact RST")


run_case(body, check_counters=counters)
