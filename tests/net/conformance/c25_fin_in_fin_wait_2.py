"""FIN in FIN-WAIT-2 (RFC 9293 §3.10.7.4 eighth): the stack's FIN acknowledged, it waits without
retransmitting; our FIN is acknowledged and TIME-WAIT lasts 2 MSL (800 ms here), after which the
four-tuple answers with RST."""
from drill import *


def body(peer, wire):
    c = Conn(wire, CLOSER)
    sa = c.handshake()
    fin = c.expect("FA", seq=sa.seq + 1, ack=c.snd_nxt, what="FIN of the closer")
    c.ack_data(fin)
    c.send("A")
    c.expect_none(0.7, "FIN-WAIT-2 (no retransmission of an acknowledged FIN)")
    c.send("FA")
    t0 = time.monotonic()
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="ACK of our FIN")
    time.sleep(0.5)
    c.send("FA", seq=c.snd_nxt - 1)
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, what="TIME-WAIT at +0.5 s")
    time.sleep(1.0)
    c.send("FA", seq=c.snd_nxt - 1)
    c.expect("R", seq=c.rcv_nxt, what="after TIME-WAIT")


run_case(body)
