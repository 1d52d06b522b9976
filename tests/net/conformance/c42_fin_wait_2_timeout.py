"""FIN-WAIT-2 does not last forever (RFC 9293 §3.10.7.4 allows a timeout; the stack's
fin_wait_2_timeout, 500 ms here): after the stack's FIN is acknowledged and ours never comes, the
connection is gone after the timeout, so later data gets a RST; before it, data is taken."""
from drill import *


def body(peer, wire):
    c = Conn(wire, CLOSER)
    sa = c.handshake()
    fin = c.expect("FA", seq=sa.seq + 1, ack=c.snd_nxt, what="FIN of the closer")
    c.ack_data(fin)
    c.send("A")
    t0 = time.monotonic()
    c.send("PA", b"early")
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="ACK in FIN-WAIT-2")
    time.sleep(max(0, t0 + 0.8 - time.monotonic()))
    c.send("PA", b"late")
    c.expect("R", seq=fin.seq + 1, what="data after the FIN-WAIT-2 timeout")


def counters(f):
    check(f["tcp"]["timeouts"] == 1 and f["connections"] == 0, f"tcp {f['tcp']}")


run_case(body, peer_args=["--fin-wait-2-ms", "500"], check_counters=counters)
