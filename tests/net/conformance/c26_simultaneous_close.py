"""Simultaneous close and FIN in CLOSING (RFC 9293 §3.6 figure 13, §3.10.7.4): our FIN crosses
the stack's (it does not acknowledge it): the stack ACKs ours and is in CLOSING; a repeated FIN
there is ACKed again; its own FIN is retransmitted at the RTO; our ACK of it leads to TIME-WAIT."""
from drill import *


def body(peer, wire):
    c = Conn(wire, CLOSER)
    sa = c.handshake()
    fin = c.expect("FA", seq=sa.seq + 1, ack=c.snd_nxt, what="FIN of the closer")
    c.send("FA", ack=fin.seq)  # crosses: does not acknowledge the stack's FIN
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="ACK of our FIN (CLOSING)")
    c.send("FA", seq=c.snd_nxt - 1, ack=fin.seq)
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="ACK of the FIN in CLOSING")
    c.expect("FA", seq=fin.seq, ack=c.snd_nxt, length=0, timeout=1.5,
             what="the stack's FIN retransmitted in CLOSING")
    c.rcv_nxt = fin.seq + 1
    c.send("A")
    ev = peer.wait_event(lambda e: e.get("event") == "close", 1.0)
    check(ev is not None and ev["err"] == 0, f"on_close {ev}")
    c.send("FA", seq=c.snd_nxt - 1)
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="TIME-WAIT ACK")


run_case(body)
