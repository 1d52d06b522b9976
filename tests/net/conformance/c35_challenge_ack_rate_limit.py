"""Challenge ACKs are rate-limited (RFC 5961 §7): with --challenge-acks-per-s 3, ten in-window
RSTs sent within a few milliseconds get three challenge ACKs (six at most if a second boundary
falls in between); the rest are counted as suppressed and the connection is untouched."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    sa = c.handshake()
    for i in range(10):
        c.send("R", seq=c.snd_nxt + 10 + i, ack=0, opts=[])
    acks = 0
    while True:
        t, s = c.recv(0.3)
        if s is None:
            break
        check(flags_of(s) == "A" and s.ack == c.snd_nxt, f"[{s.flags}] ack={s.ack}")
        acks += 1
    check(3 <= acks <= 6, f"{acks} challenge ACKs for 10 RSTs at 3 per second")
    f = peer.counters()["tcp"]
    check(f["challenge_acks"] == acks and f["challenge_acks_suppressed"] == 10 - acks,
          f"challenge_acks {f['challenge_acks']}, suppressed {f['challenge_acks_suppressed']}")
    c.send("PA", b"ok")
    c.expect("PA", seq=sa.seq + 1, ack=c.snd_nxt, length=2, what="echo after the RSTs")


run_case(body, peer_args=["--challenge-acks-per-s", "3"])
