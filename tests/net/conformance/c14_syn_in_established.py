"""SYN in ESTABLISHED -> challenge ACK (RFC 5961 §4.2, RFC 9293 §3.10.7.4 fourth check): a SYN at
RCV.NXT (in the window) neither resets nor opens anything; the stack answers
<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and the connection carries on."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    sa = c.handshake()
    c.send("S", seq=c.snd_nxt, opts=c.syn_options())
    c.expect("A", seq=sa.seq + 1, ack=c.snd_nxt, length=0, what="challenge ACK for the SYN")
    c.send("S", seq=c.snd_nxt + 1000, opts=c.syn_options())
    c.expect("A", seq=sa.seq + 1, ack=c.snd_nxt, length=0, what="challenge ACK, SYN further in")
    c.send("PA", b"still here")
    e = c.expect("PA", ack=c.snd_nxt, length=10, what="echo after the SYNs")
    c.ack_data(e)
    c.send("A")


def counters(f):
    t = f["tcp"]
    check(t["challenge_acks"] == 2 and t["rst_out"] == 0, f"tcp {t}")
    check(t["passive_opens"] == 1 and f["connections"] == 1, "connections")


run_case(body, check_counters=counters)
