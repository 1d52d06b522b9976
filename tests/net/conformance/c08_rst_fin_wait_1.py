"""RST in FIN-WAIT-1 (RFC 9293 §3.10.7.4): the closer port sends its FIN; a RST at RCV.NXT before
the FIN is acknowledged ends the connection: the FIN is not retransmitted, data gets a RST."""
from drill import *


def body(peer, wire):
    c = Conn(wire, CLOSER)
    sa = c.handshake()
    fin = c.expect("FA", seq=sa.seq + 1, ack=c.snd_nxt, length=0, what="FIN of the closer")
    c.send("R", ack=0, opts=[])
    c.expect_none(1.0, "after RST in FIN-WAIT-1 (the FIN would be resent at 300 ms)")
    c.send("PA", b"x", ack=fin.seq + 1)
    c.expect("R", seq=fin.seq + 1, what="data after the reset")


def counters(f):
    check(f["tcp"]["retransmits"] == 0 and f["connections"] == 0, f"tcp {f['tcp']}")


run_case(body, check_counters=counters)
