"""Passive open without options (RFC 9293 §3.7.1, RFC 7323 §2.2, §3.2): the SYN-ACK carries only
MSS (no window scale, no timestamps, since none were offered), the window is unscaled, and data
toward us is cut to the default MSS of 536 octets."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO, ts=False)
    c.send("S", opts=[])
    sa = c.expect("SA", ack=c.snd_nxt, win=65535, what="SYN-ACK")
    check(options_of(sa) == {"MSS": 1460}, f"SYN-ACK options {options_of(sa)}, expected MSS only")
    check(sa.dataofs * 4 == 24, f"SYN-ACK header {sa.dataofs * 4} octets, expected 24")
    c.rcv_nxt = sa.seq + 1
    c.send("A")
    data = bytes(range(256)) * 4
    c.send("PA", data[:1000])
    first = c.expect("A", seq=sa.seq + 1, ack=c.snd_nxt, win=65535, length=536,
                     what="echo, first segment")
    check(options_of(first) == {}, f"options {options_of(first)} without timestamps negotiated")
    c.ack_data(first)
    second = c.expect("PA", seq=sa.seq + 1 + 536, ack=c.snd_nxt, length=464, what="echo, rest")
    c.ack_data(second)
    check(bytes(first.payload) + bytes(second.payload) == data[:1000], "echoed octets differ")
    c.send("A")
    c.expect_none(0.3, "after the echo was acknowledged")


run_case(body)
