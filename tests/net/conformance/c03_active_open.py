"""Active open (RFC 9293 §3.5, §3.10.7.3): the stack resolves us by ARP, sends a SYN with MSS,
window scale and timestamps, completes on our SYN-ACK with an ACK that echoes our TSval and
applies our window scale; a second connect (SIGUSR2) refused with RST reports ECONNREFUSED."""
import signal

from drill import *

PORT = 5001


def body(peer, wire):
    r = wire.next(lambda ip: ip[TCP].dport == PORT, 3.0)
    check(r is not None, "no SYN from the active open")
    check(wire.arp_answered >= 1, "the SYN came without an ARP request for us")
    syn = r[1][TCP]
    check(flags_of(syn) == "S", f"flags [{syn.flags}], expected [S]")
    o = options_of(syn)
    check(o.get("MSS") == 1460 and o.get("WScale") == 1, f"SYN options {o}")
    check("Timestamp" in o and o["Timestamp"][1] == 0, f"SYN timestamps {o.get('Timestamp')}")
    check(syn.window == 65535, f"SYN window {syn.window}")
    c = Conn(wire, syn.sport, sport=PORT)
    c.peer_tsval = o["Timestamp"][0]
    c.rcv_nxt = syn.seq + 1
    c.send("SA", opts=[("MSS", 1400), ("NOP", None), ("WScale", 5), ("NOP", None), ("NOP", None),
                       ("Timestamp", (c.next_tsval(), c.peer_tsval))], win=2000)
    a = c.expect("A", seq=syn.seq + 1, ack=c.snd_nxt, win=32768, length=0, what="third ACK")
    check(options_of(a)["Timestamp"][1] == c.tsval, "the ACK does not echo our TSval")
    ev = peer.wait_event(lambda e: e.get("event") == "connect", 2.0)
    check(ev is not None and ev["err"] == 0, f"on_connect: {ev}")
    # The active connection echoes; 3000 octets fit our 2000 << 5 window in MSS-sized pieces.
    data = bytes(i % 199 for i in range(3000))
    for i in range(0, 3000, 1000):
        c.send("PA", data[i:i + 1000])
    got = c.read(3000)
    check(got == data, "echoed octets differ")
    # A second connect, refused.
    n = len(peer.events)
    peer.signal(signal.SIGUSR2)
    r = wire.next(lambda ip: ip[TCP].dport == PORT and "S" in str(ip[TCP].flags), 2.0)
    check(r is not None, "no SYN after SIGUSR2")
    syn2 = r[1][TCP]
    check(syn2.sport != syn.sport, "the second connection reused the first one's port")
    wire.send(IP(src=REMOTE_IP, dst=STACK_IP) /
              TCP(sport=PORT, dport=syn2.sport, seq=0, ack=syn2.seq + 1, flags="RA", window=0))
    ev = peer.wait_event(lambda e: e.get("event") == "connect", 2.0, n)
    check(ev is not None and ev["err"] == 111, f"refused connect: {ev}, expected err 111")


run_case(body, peer_args=["--connect", f"{REMOTE_IP}:{PORT}"])
