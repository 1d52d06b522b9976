"""Passive open with every option (RFC 9293 §3.5, §3.7.1; RFC 7323 §2.2, §3.2): the SYN-ACK
acknowledges ISS+1 and answers MSS, window scale and timestamps (echoing our TSval); SACK-permitted
is ignored (the stack does no SACK); the first data is echoed with the scaled window."""
from drill import *


def body(peer, wire):
    c = Conn(wire, ECHO)
    c.send("S", opts=c.syn_options(mss=1400, wscale=7, sack=True))
    syn_tsval = c.tsval
    sa = c.expect("SA", ack=c.snd_nxt, win=65535, what="SYN-ACK")
    o = options_of(sa)
    check(o.get("MSS") == 1460, f"MSS option {o.get('MSS')}, expected 1460")
    # 64 KiB buffer: the smallest shift that fits it in 16 bits is 1 (RFC 7323 §2.3).
    check(o.get("WScale") == 1, f"window scale {o.get('WScale')}, expected 1")
    check("Timestamp" in o and o["Timestamp"][1] == syn_tsval,
          f"timestamps {o.get('Timestamp')}, expected TSecr {syn_tsval}")
    check("SAckOK" not in o, "SACK-permitted answered, but the stack does no SACK")
    check(sa.dataofs * 4 == 20 + 4 + 4 + 12, f"SYN-ACK header {sa.dataofs * 4} octets")
    c.stack_iss = sa.seq
    c.rcv_nxt = sa.seq + 1
    c.send("A")
    c.send("PA", b"hello, conformance")
    sent_tsval = c.tsval
    e = c.expect("PA", seq=sa.seq + 1, ack=c.snd_nxt, win=32768, length=18, what="echo")
    check(bytes(e.payload) == b"hello, conformance", f"echo {bytes(e.payload)!r}")
    check(options_of(e)["Timestamp"][1] == sent_tsval, "TSecr does not echo the data's TSval")
    check(options_of(e)["Timestamp"][0] >= o["Timestamp"][0], "TSval went backwards")
    c.ack_data(e)
    c.send("A")
    c.expect_none(0.3, "after the echo was acknowledged")


def counters(f):
    t = f["tcp"]
    check(t["passive_opens"] == 1 and t["established"] == 1, f"opens {t}")
    check(t["bytes_in"] == 18 and t["bytes_out"] == 18, f"bytes {t['bytes_in']}/{t['bytes_out']}")


run_case(body, check_counters=counters)
