"""RST in CLOSE-WAIT (RFC 9293 §3.10.7.4): the paused port holds our data, so our FIN leaves it in
CLOSE-WAIT (FIN acknowledged, no FIN of its own); a RST at RCV.NXT then ends it."""
from drill import *


def body(peer, wire):
    c = Conn(wire, PAUSED)
    sa = c.handshake()
    c.send("PA", b"p" * 100)
    c.send("FA")
    deadline = time.monotonic() + 1.0
    while True:
        check(time.monotonic() < deadline, "our FIN was not acknowledged")
        a = c.expect("A", seq=sa.seq + 1, length=0, what="ACK of data and FIN")
        if a.ack == c.snd_nxt:
            break
    c.expect_none(0.5, "in CLOSE-WAIT (no FIN while the data is held)")
    c.send("R", ack=0, opts=[])
    ev = peer.wait_event(lambda e: e.get("event") == "close", 1.0)
    check(ev is not None and ev["err"] == 104, f"on_close {ev}")
    c.send("A")
    c.expect("R", seq=c.rcv_nxt, what="ACK after the reset")


run_case(body)
