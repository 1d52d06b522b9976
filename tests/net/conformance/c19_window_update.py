"""A window update re-opens a zero window (RFC 9293 §3.8.6.1, §3.10.7.4 window update rule): after
a probe was answered with window 0, an ACK with a window sends the waiting data at once (probe
octet included, in order), without waiting for the next probe."""
from drill import *


def body(peer, wire):
    c = Conn(wire, SENDER)
    sa = c.handshake(ack_win=0)
    una = sa.seq + 1
    c.expect("A", seq=una, ack=c.snd_nxt, length=1, timeout=2.0, what="first probe")
    c.send("A", ack=una, win=0)
    c.expect_none(0.1, "after the zero-window answer")
    t0 = time.monotonic()
    c.send("A", ack=una, win=65535)
    t, first = c.recv(0.15)
    check(first is not None, "no data within 150 ms of the window update")
    check(first.seq == una, f"data resumes at {first.seq}, expected SND.UNA {una}")
    c.rcv_nxt = una
    c.wire.held.insert(0, (t, IP(src=STACK_IP, dst=REMOTE_IP) / first))
    got = c.read(3000)
    check(got == pattern(0, 3000), "octets after the window update differ")


run_case(body, peer_args=["--sender-bytes", "3000", "--initial-rto-ms", "200"])
