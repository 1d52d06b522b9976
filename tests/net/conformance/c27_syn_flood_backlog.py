"""SYN flood against the backlog (bounded, counted, no reply beyond): with a backlog of 4, ten
SYNs get exactly four SYN-ACKs (the first four) and nothing else, not even a RST; completing one
handshake frees a place, so the next new SYN is answered."""
from drill import *


def body(peer, wire):
    check(wire.ping(), "no ICMP echo reply (ARP primed)")
    base = 41000
    conns = [Conn(wire, ECHO, sport=base + i) for i in range(10)]
    for c in conns:
        c.send("S", opts=c.syn_options())
    answered = {}
    deadline = time.monotonic() + 0.25  # under the 300 ms SYN-ACK retransmission
    while time.monotonic() < deadline:
        r = wire.next(lambda ip: ip[TCP].sport == ECHO, deadline - time.monotonic())
        if r is None:
            break
        s = r[1][TCP]
        check(flags_of(s) == "AS", f"[{s.flags}] to port {s.dport}, expected SYN-ACK only")
        check(s.dport not in answered, f"two SYN-ACKs to {s.dport} within 250 ms")
        answered[s.dport] = s
    check(sorted(answered) == [base + i for i in range(4)],
          f"SYN-ACKs to {sorted(answered)}, expected the first four")
    c0 = conns[0]
    c0.rcv_nxt = answered[base].seq + 1
    c0.send("A")
    c0.expect_none(0.05, "third ACK")
    extra = Conn(wire, ECHO, sport=base + 20)
    extra.send("S", opts=extra.syn_options())
    extra.expect("SA", ack=extra.snd_nxt, what="SYN-ACK once a place was freed")


def counters(f):
    t = f["tcp"]
    check(t["drop_syn_backlog"] == 6, f"drop_syn_backlog {t['drop_syn_backlog']}, expected 6")
    check(t["passive_opens"] == 5 and t["rst_out"] == 0, f"tcp {t}")


run_case(body, peer_args=["--backlog", "4"], check_counters=counters)
