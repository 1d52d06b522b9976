"""FIN in ESTABLISHED then RST in LAST-ACK (RFC 9293 §3.10.7.4): the echo port answers our FIN
with its own (FIN,ACK acknowledging ours); a RST at RCV.NXT in LAST-ACK ends the connection and
the FIN is not retransmitted."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    sa = c.handshake()
    c.send("FA")
    c.expect("FA", seq=sa.seq + 1, ack=c.snd_nxt, length=0, what="FIN,ACK in LAST-ACK")
    c.send("R", ack=0, opts=[])
    c.expect_none(1.0, "after RST in LAST-ACK (the FIN would be resent at 300 ms)")
    c.send("A", ack=sa.seq + 2)
    c.expect("R", seq=sa.seq + 2, what="ACK after the reset")


def counters(f):
    check(f["tcp"]["retransmits"] == 0 and f["connections"] == 0, f"tcp {f['tcp']}")


run_case(body, check_counters=counters)
