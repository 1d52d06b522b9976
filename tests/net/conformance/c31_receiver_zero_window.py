"""Our receive window closes and reopens (RFC 9293 §3.8.6, §3.8.6.2.2, §3.10.7.4): the paused
port with a 4096-octet buffer takes exactly 4096 octets, the ACK of the last says window 0; a
probe octet is not taken and is answered with window 0 at the same RCV.NXT; octets beyond the
window are not acknowledged."""
from drill import *


def body(peer, wire):
    c = Conn(wire, PAUSED)
    sa = c.handshake()
    check(options_of(sa).get("WScale") == 0 and sa.window == 4096, f"SYN-ACK {describe(IP()/sa)}")
    for i in range(4):
        c.send("PA", bytes([65 + i]) * 1024)
    deadline = time.monotonic() + 1.0
    while True:
        check(time.monotonic() < deadline, "4096 octets were not acknowledged")
        a = c.expect("A", seq=sa.seq + 1, length=0, what="ACK of the data")
        if a.ack == c.snd_nxt:
            break
    check(a.window == 0, f"window {a.window} after the buffer filled, expected 0")
    c.send("PA", b"z", seq=c.snd_nxt)
    c.expect("A", seq=sa.seq + 1, ack=c.snd_nxt, win=0, length=0, what="answer to a probe")
    c.send("PA", b"z" * 100, seq=c.snd_nxt)
    c.expect("A", seq=sa.seq + 1, ack=c.snd_nxt, win=0, length=0, what="data into the zero window")


def counters(f):
    check(f["tcp"]["bytes_in"] == 4096, f"bytes_in {f['tcp']['bytes_in']}")


run_case(body, peer_args=["--rcvbuf", "4096"], check_counters=counters)
