"""FIN in ESTABLISHED (RFC 9293 §3.10.7.4 eighth, §3.6): the echo port hears on_close(0) and
closes its side, so our FIN is answered by one FIN,ACK acknowledging it (LAST-ACK); our ACK of
that FIN frees the connection (later segments get RST)."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    sa = c.handshake()
    c.send("FA")
    fin = c.expect("FA", seq=sa.seq + 1, ack=c.snd_nxt, length=0, what="FIN,ACK")
    ev = peer.wait_event(lambda e: e.get("event") == "close", 1.0)
    check(ev is not None and ev["err"] == 0, f"on_close {ev}")
    c.ack_data(fin)
    c.send("A")
    c.expect_none(0.5, "after the last ACK")
    c.send("A")
    c.expect("R", seq=c.rcv_nxt, what="segment after the close")


def counters(f):
    check(f["connections"] == 0, "LAST-ACK did not end on the ACK")


run_case(body, check_counters=counters)
