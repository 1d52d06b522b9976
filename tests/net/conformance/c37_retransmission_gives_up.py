"""Retransmission gives up (RFC 9293 §3.8.3, RFC 1122 §4.2.3.5 R2): with --max-retransmits 2 and
an initial RTO of 100 ms, data never acknowledged is sent three times in all, then the stack
sends <SEQ=SND.NXT><CTL=RST,ACK> and the app hears on_close(ETIMEDOUT)."""
from drill import *


def body(peer, wire):
    c = Conn(wire, SENDER)
    sa = c.handshake()
    for i in range(3):
        c.expect("PA", seq=sa.seq + 1, ack=c.snd_nxt, length=500, timeout=1.0,
                 what=f"transmission {i + 1}")
    c.expect("RA", seq=sa.seq + 501, ack=c.snd_nxt, timeout=1.0, what="RST after the last try")
    ev = peer.wait_event(lambda e: e.get("event") == "close", 1.0)
    check(ev is not None and ev["err"] == 110, f"on_close {ev}, expected ETIMEDOUT (110)")
    c.expect_none(0.3, "after the RST")


def counters(f):
    t = f["tcp"]
    check(t["rto_expirations"] == 2 and t["timeouts"] == 1 and f["connections"] == 0, f"tcp {t}")


run_case(body, peer_args=["--sender-bytes", "500", "--max-retransmits", "2",
                          "--initial-rto-ms", "100", "--min-rto-ms", "100"],
         check_counters=counters)
