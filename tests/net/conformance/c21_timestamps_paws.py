"""Timestamps echoed and PAWS (RFC 7323 §3.2, §4.3, §5.3): the ACK echoes the TSval of the
segment that advanced RCV.NXT; a segment with an older TSval is dropped and answered with an ACK that
does not move (R1); once negotiated, a segment without timestamps is dropped silently."""
from drill import *


def body(peer, wire):
    c = Conn(wire, DISCARD)
    sa = c.handshake()
    nxt = sa.seq + 1
    base = c.tsval + 1000
    c.send("PA", b"a" * 10, tsval=base)
    a = c.expect("A", seq=nxt, ack=c.snd_nxt, length=0, what="ACK of new data")
    check(options_of(a)["Timestamp"][1] == base,
          f"TSecr {options_of(a)['Timestamp']}, expected {base}")
    c.send("PA", b"b" * 10, tsval=base - 500, seq=c.snd_nxt)
    a = c.expect("A", seq=nxt, ack=c.snd_nxt, length=0, what="PAWS: ACK of the old segment")
    check(options_of(a)["Timestamp"][1] == base, "PAWS drop changed TS.Recent")
    c.send("PA", b"c" * 10, ts=False, seq=c.snd_nxt)
    c.expect_none(0.2, "segment without timestamps")
    c.send("PA", b"d" * 10, tsval=base + 1)
    a = c.expect("A", seq=nxt, ack=c.snd_nxt, length=0, what="ACK after the drops")
    check(options_of(a)["Timestamp"][1] == base + 1, "TSecr does not follow the new segment")


def counters(f):
    t = f["tcp"]
    check(t["drop_paws"] == 2, f"drop_paws {t['drop_paws']}, expected 2")
    check(t["bytes_in"] == 20, f"bytes_in {t['bytes_in']}, expected 20")


run_case(body, check_counters=counters)
