"""TIME-WAIT answers a retransmitted FIN and restarts its 2 MSL (RFC 9293 §3.10.7.4 TIME-WAIT):
2 MSL is 800 ms here; FINs at +0.5 s and +1.0 s are both acknowledged (the second only because
the first restarted the timer); after 2 MSL of silence the four-tuple is gone (RST)."""
from drill import *


def body(peer, wire):
    c = Conn(wire, CLOSER)
    sa = c.handshake()
    fin = c.expect("FA", seq=sa.seq + 1, ack=c.snd_nxt, what="FIN of the closer")
    c.ack_data(fin)
    c.send("FA")
    t0 = time.monotonic()
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="ACK of our FIN")
    for at in (0.5, 1.0):
        time.sleep(max(0, t0 + at - time.monotonic()))
        c.send("FA", seq=c.snd_nxt - 1)
        c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0,
                 what=f"ACK of the FIN retransmitted at +{at} s")
    c.expect_none(1.0, "TIME-WAIT after the last FIN")
    c.send("FA", seq=c.snd_nxt - 1)
    c.expect("R", seq=c.rcv_nxt, what="FIN after TIME-WAIT ended")


run_case(body)
