"""A zero window whose receiver has gone does not hold the connection forever (RFC 1122 §4.2.2.17:
the connection must stay open while the receiver keeps acknowledging the probes; the stack's
README: probed "for as long as the peer answers"). The sender port's data waits on our zero
window; our FIN puts the connection in LAST-ACK (the app has heard on_close and holds no handle),
then we go silent. With --max-retransmits 3, the unanswered probes must end in a RST within a few
seconds, freeing the slot."""
from drill import *


def body(peer, wire):
    c = Conn(wire, SENDER)
    sa = c.handshake(ack_win=0)
    una = sa.seq + 1
    c.expect("A", seq=una, ack=c.snd_nxt, length=1, timeout=1.0, what="first probe")
    c.send("FA", win=0)
    c.expect("A", seq=una, ack=c.snd_nxt, length=0, what="ACK of our FIN")
    ev = peer.wait_event(lambda e: e.get("event") == "close", 1.0)
    check(ev is not None and ev["err"] == 0, f"on_close {ev}")
    probes = 0
    deadline = time.monotonic() + 4.0
    while True:
        t, s = c.recv(max(deadline - time.monotonic(), 0))
        check(s is not None, f"neither a RST nor a probe within 4 s ({probes} probes unanswered)")
        if "R" in str(s.flags):
            break
        check(len(s.payload) <= 1, f"{len(s.payload)} octets into a zero window")
        probes += 1
        check(probes <= 4, f"{probes} probes unanswered and the connection is still there")


def counters(f):
    check(f["connections"] == 0, "the connection slot is still in use")


run_case(body, peer_args=["--sender-bytes", "3000", "--initial-rto-ms", "100", "--min-rto-ms",
                          "100", "--max-rto-ms", "400", "--max-retransmits", "3"],
         check_counters=counters)
