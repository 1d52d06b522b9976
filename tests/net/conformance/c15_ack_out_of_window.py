"""ACK outside [SND.UNA - MAX.SND.WND, SND.NXT] -> challenge ACK and the segment is dropped
(RFC 5961 §5.2): data carried with an ACK of octets never sent, or of octets far older than any
window, is not delivered; the stack answers <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    sa = c.handshake()
    nxt = sa.seq + 1
    c.send("PA", b"too new", seq=c.snd_nxt, ack=nxt + 100000)
    c.expect("A", seq=nxt, ack=c.snd_nxt, length=0, what="challenge ACK for an ACK of unsent data")
    # Our window 65535 << 7 is MAX.SND.WND: 9 000 000 below SND.UNA is outside.
    c.send("PA", b"too old", seq=c.snd_nxt, ack=nxt - 9000000)
    c.expect("A", seq=nxt, ack=c.snd_nxt, length=0, what="challenge ACK for an ancient ACK")
    c.send("PA", b"fine")
    e = c.expect("PA", seq=nxt, ack=c.snd_nxt, length=4, what="echo of the acceptable segment")
    check(bytes(e.payload) == b"fine", f"echo {bytes(e.payload)!r}")
    c.ack_data(e)
    c.send("A")


def counters(f):
    t = f["tcp"]
    check(t["drop_bad_ack"] == 2 and t["challenge_acks"] == 2, f"tcp {t}")
    check(t["bytes_in"] == 4, f"bytes_in {t['bytes_in']}: dropped data was delivered")


run_case(body, check_counters=counters)
