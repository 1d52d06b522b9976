"""Window scaling honoured on a large send (RFC 7323 §2.2-2.3): we offer scale 7 and advertise the
field 1000, i.e. 128 000 octets. The sender port's 600 000 octets arrive in flights (we ACK each
segment only once a flight stops) that grow with slow start, never exceed 128 000 octets in
flight, and fill it (to within one MSS) once cwnd allows. Without scaling it would be 1000."""
from drill import *

WINDOW = 1000 << 7
TOTAL = 600000


def body(peer, wire):
    c = Conn(wire, SENDER)
    sa = c.handshake(wscale=7, ack_win=1000)
    una = sa.seq + 1
    got = 0
    flights = []
    deadline = time.monotonic() + 20
    while got < TOTAL:
        check(time.monotonic() < deadline, f"only {got} of {TOTAL} octets within 20 s")
        flight = []
        while True:
            t, s = c.recv(0.08)
            if s is None:
                break
            flight.append(s)
        check(flight, f"stalled after {got} octets")
        hi = max(seq_add(s.seq, len(s.payload)) - una & 0xffffffff for s in flight)
        check(hi <= WINDOW, f"{hi} octets in flight, beyond the window of {WINDOW}")
        flights.append(hi)
        for s in sorted(flight, key=lambda s: (s.seq - una) & 0xffffffff):
            check(s.seq == c.rcv_nxt, f"gap or repeat at {s.seq}, expected {c.rcv_nxt}")
            check(bytes(s.payload) == pattern(got, len(s.payload)), f"octets differ at {got}")
            got += len(s.payload)
            c.ack_data(s)
            c.send("A", win=1000)
        una = c.rcv_nxt
    full = [f for f in flights if f >= WINDOW - 1448]
    check(len(full) >= 2, f"flights {flights}: the scaled window was never filled")
    check(max(flights) > 65535, f"flights {flights}: never beyond 64 KiB")


run_case(body, peer_args=["--sender-bytes", str(TOTAL), "--sndbuf", "262144"])
