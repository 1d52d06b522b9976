"""Fast retransmit on the third duplicate ACK (RFC 5681 §3.2, RFC 6582): with the RTO at 1 s, the
first unacknowledged segment is resent right after the third duplicate ACK, not after the first
or second, and long before the RTO."""
from drill import *


def body(peer, wire):
    c = Conn(wire, SENDER)
    sa = c.handshake(mss=1012)  # 1000 octets of data per segment with timestamps
    segs = []
    while True:
        t, s = c.recv(0.3)
        if s is None:
            break
        segs.append(s)
    check(len(segs) >= 4, f"initial flight of {len(segs)} segments")
    check(segs[0].seq == sa.seq + 1 and len(segs[0].payload) == 1000, "first segment")
    # The first segment arrives, the second is 'lost': ACK the first, then three duplicates.
    hole = seq_add(segs[0].seq, 1000)
    c.send("A", ack=hole)
    new = []
    for dup in range(1, 4):
        t0 = time.monotonic()
        c.send("A", ack=hole)
        while True:
            t, s = c.recv(0.1)
            if s is None:
                break
            new.append((dup, s))
        if dup < 3:
            check(all(s.seq != hole for _, s in new), f"retransmitted after {dup} duplicate ACK(s)")
    rtx = [(d, s) for d, s in new if s.seq == hole]
    check(len(rtx) == 1, f"{len(rtx)} retransmissions of the hole after 3 duplicate ACKs")
    check(len(rtx[0][1].payload) == 1000, "retransmission length")
    check(bytes(rtx[0][1].payload) == pattern(1000, 1000), "retransmitted octets differ")


def counters(f):
    t = f["tcp"]
    check(t["fast_retransmits"] == 1 and t["rto_expirations"] == 0, f"tcp {t}")


run_case(body, peer_args=["--sender-bytes", "20000", "--min-rto-ms", "1000",
                          "--initial-rto-ms", "1000"], check_counters=counters)
