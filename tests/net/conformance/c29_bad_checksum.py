"""Bad checksums are dropped silently (RFC 9293 §3.1, RFC 791): a SYN with a wrong TCP checksum
opens nothing; in ESTABLISHED, data with a wrong TCP checksum or a wrong IPv4 header checksum is
neither acknowledged nor delivered; the same data with correct checksums is."""
from drill import *


def bad(pkt, layer):
    raw = pkt.__class__(bytes(pkt))  # checksums computed
    good = raw[layer].chksum
    raw[layer].chksum = good ^ 0x5a5a
    return raw


def body(peer, wire):
    c = Conn(wire, ECHO)
    wire.send(bad(c.pkt("S", opts=c.syn_options()), TCP))
    c.expect_none(0.3, "SYN with a bad checksum")
    sa = c.handshake()
    wire.send(bad(c.pkt("PA", b"corrupt"), TCP))
    c.expect_none(0.3, "data with a bad TCP checksum")
    wire.send(bad(c.pkt("PA", b"corrupt"), IP))
    c.expect_none(0.3, "data with a bad IPv4 header checksum")
    c.send("PA", b"correct")
    e = c.expect("PA", seq=sa.seq + 1, ack=c.snd_nxt, length=7, what="echo of the good copy")
    check(bytes(e.payload) == b"correct", f"echo {bytes(e.payload)!r}")


def counters(f):
    check(f["tcp"]["drop_checksum"] == 2, f"drop_checksum {f['tcp']['drop_checksum']}")
    check(f["ip"]["rx_bad_checksum"] == 1, f"ip rx_bad_checksum {f['ip']['rx_bad_checksum']}")
    check(f["tcp"]["bytes_in"] == 7 and f["tcp"]["passive_opens"] == 1, f"tcp {f['tcp']}")


run_case(body, check_counters=counters)
