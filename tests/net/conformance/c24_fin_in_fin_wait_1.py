"""FIN in FIN-WAIT-1 that also acknowledges the stack's FIN (RFC 9293 §3.10.7.4 eighth): straight
to TIME-WAIT, our FIN acknowledged; TIME-WAIT then answers our FIN again with an ACK."""
from drill import *


def body(peer, wire):
    c = Conn(wire, CLOSER)
    sa = c.handshake()
    fin = c.expect("FA", seq=sa.seq + 1, ack=c.snd_nxt, what="FIN of the closer")
    c.ack_data(fin)
    c.send("FA")
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="ACK of our FIN")
    ev = peer.wait_event(lambda e: e.get("event") == "close", 1.0)
    check(ev is not None and ev["err"] == 0, f"on_close {ev}")
    c.send("FA", seq=c.snd_nxt - 1)
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="TIME-WAIT ACK")


def counters(f):
    check(f["connections"] == 1, "TIME-WAIT should still hold the connection (2 MSL = 800 ms)")


run_case(body, check_counters=counters)
