"""FIN carrying data in ESTABLISHED (RFC 9293 §3.10.7.4 seventh and eighth): the text is delivered
before the FIN is processed, so the echo port's reply goes out ahead of its own FIN, and the
stack acknowledges both our data and our FIN."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    sa = c.handshake()
    c.send("FPA", b"last words")
    got = b""
    fin = None
    deadline = time.monotonic() + 1.0
    while fin is None:
        check(time.monotonic() < deadline, f"no FIN after {got!r}")
        t, s = c.recv(max(deadline - time.monotonic(), 0))
        check(s is not None, f"reply incomplete: {got!r}")
        check(s.seq == sa.seq + 1 + len(got), f"seq {s.seq}, expected {sa.seq + 1 + len(got)}")
        check(s.ack == c.snd_nxt, f"ack {s.ack}, expected {c.snd_nxt} (data and FIN)")
        got += bytes(s.payload)
        if "F" in str(s.flags):
            fin = s
    check(got == b"last words", f"echo {got!r}")
    c.ack_data(fin)
    c.send("A")
    ev = peer.wait_event(lambda e: e.get("event") == "close", 1.0)
    check(ev is not None and ev["err"] == 0, f"on_close {ev}")
    # on_close came with the FIN (LAST-ACK); the slot goes when our last ACK is taken, which a
    # busy machine may not have done yet: asked until it has, within the deadline.
    deadline = time.monotonic() + 5.0
    while peer.counters()["connections"] != 0:
        check(time.monotonic() < deadline, "the connection did not end on the last ACK")


def counters(f):
    check(f["connections"] == 0, "the connection did not end on the last ACK")


run_case(body, check_counters=counters)
