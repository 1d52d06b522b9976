"""RST in TIME-WAIT (RFC 9293 §3.10.7.4 TIME-WAIT: "If the RST bit is set, then enter the
CLOSED state"): after the closer's FIN and ours, a RST at RCV.NXT ends TIME-WAIT at once, so our
retransmitted FIN is answered by a RST instead of an ACK."""
from drill import *


def body(peer, wire):
    c = Conn(wire, CLOSER)
    sa = c.handshake()
    fin = c.expect("FA", seq=sa.seq + 1, ack=c.snd_nxt, what="FIN of the closer")
    c.ack_data(fin)
    c.send("FA")
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="ACK of our FIN")
    c.send("R", ack=0, opts=[])
    c.expect_none(0.2, "after RST in TIME-WAIT")
    c.send("FA", seq=c.snd_nxt - 1)
    c.expect("R", seq=c.rcv_nxt, what="retransmitted FIN after TIME-WAIT was reset")


def counters(f):
    check(f["connections"] == 0, "TIME-WAIT survived the RST")


run_case(body, check_counters=counters)
