"""RST in SYN-RECEIVED (RFC 9293 §3.10.7.4 second check; RFC 5961 §3.2): a RST at exactly
RCV.NXT drops the embryonic connection quietly (back to LISTEN): no SYN-ACK is retransmitted, and
the ACK of the old SYN-ACK is then answered by the listener with <SEQ=SEG.ACK><CTL=RST>."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    c.send("S", opts=c.syn_options())
    sa = c.expect("SA", ack=c.snd_nxt, what="SYN-ACK")
    c.rcv_nxt = sa.seq + 1
    c.send("R", ack=0, opts=[])
    c.expect_none(0.8, "after RST in SYN-RECEIVED (the SYN-ACK would be resent at 300 ms)")
    c.send("A")
    c.expect("R", seq=sa.seq + 1, ack=0, win=0, what="ACK to a listener")


def counters(f):
    t = f["tcp"]
    check(t["passive_opens"] == 1 and t["established"] == 0, "opens")
    check(f["connections"] == 0, f"{f['connections']} connections left")
    check(t["syn_retransmits"] == 0, "SYN-ACK retransmitted after the RST")


run_case(body, check_counters=counters)
