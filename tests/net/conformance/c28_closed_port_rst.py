"""Segments to a closed port (RFC 9293 §3.10.7.1): a SYN gets <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>,
data with ACK gets <SEQ=SEG.ACK><CTL=RST>, data without ACK <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
<CTL=RST,ACK>, a FIN counts in SEG.LEN, and a RST is never answered."""
from drill import *


def body(peer, wire):
    c = Conn(wire, 5555, ts=False)
    s0 = c.snd_nxt
    c.send("S", opts=[])
    c.expect("RA", seq=0, ack=s0 + 1, win=0, length=0, what="RST for a SYN")
    c.send("PA", b"data", seq=s0, ack=123456789)
    c.expect("R", seq=123456789, ack=0, what="RST for data with ACK")
    c.send("P", b"0123456789", seq=s0, ack=0)
    c.expect("RA", seq=0, ack=s0 + 10, what="RST for data without ACK")
    c.send("F", b"xy", seq=s0, ack=0)
    c.expect("RA", seq=0, ack=s0 + 3, what="RST for data and FIN without ACK")
    c.send("R", seq=s0, ack=0)
    c.send("RA", seq=s0, ack=5)
    c.expect_none(0.3, "RSTs to a closed port")


def counters(f):
    t = f["tcp"]
    check(t["drop_no_socket"] == 6 and t["rst_out"] == 4, f"tcp {t}")


run_case(body, check_counters=counters)
