"""RST in FIN-WAIT-2 (RFC 9293 §3.10.7.4): after our ACK of its FIN the stack still takes data
(half-close) and acknowledges it; a RST at RCV.NXT ends the connection."""
from drill import *


def body(peer, wire):
    c = Conn(wire, CLOSER)
    sa = c.handshake()
    fin = c.expect("FA", seq=sa.seq + 1, ack=c.snd_nxt, what="FIN of the closer")
    c.ack_data(fin)
    c.send("A")
    c.send("PA", b"half-closed data")
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="ACK of data in FIN-WAIT-2")
    c.send("R", ack=0, opts=[])
    c.expect_none(0.3, "after RST in FIN-WAIT-2")
    c.send("PA", b"x")
    c.expect("R", seq=c.rcv_nxt, what="data after the reset")


def counters(f):
    check(f["tcp"]["bytes_in"] == 16 and f["connections"] == 0, f"tcp {f['tcp']}")


run_case(body, check_counters=counters)
