"""Data on a SYN is not taken (RFC 9293 §3.10.7.2 allows dropping it): the SYN-ACK acknowledges
only the SYN; sent again after the handshake, the data is delivered (echoed) once."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    start = c.snd_nxt
    c.wire.send(c.pkt("S", b"early", opts=c.syn_options()))
    sa = c.expect("SA", ack=start + 1, what="SYN-ACK to a SYN with data")
    c.snd_nxt = start + 1
    c.rcv_nxt = sa.seq + 1
    c.send("A")
    c.send("PA", b"early")
    e = c.expect("PA", seq=sa.seq + 1, ack=c.snd_nxt, length=5, what="echo of the resent data")
    check(bytes(e.payload) == b"early", f"echo {bytes(e.payload)!r}")


def counters(f):
    check(f["tcp"]["bytes_in"] == 5, f"bytes_in {f['tcp']['bytes_in']}: SYN data delivered")


run_case(body, check_counters=counters)
