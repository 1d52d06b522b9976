"""A new SYN on a four-tuple in TIME-WAIT gets a challenge ACK (RFC 5961 §4.2 and RFC 9293
§3.10.7.4; the stack does not reuse a TIME-WAIT four-tuple for a new connection, as its README
says): the answer acknowledges the old connection's FIN, no SYN-ACK, and TIME-WAIT stays."""
from drill import *


def body(peer, wire):
    c = Conn(wire, CLOSER)
    sa = c.handshake()
    fin = c.expect("FA", seq=sa.seq + 1, ack=c.snd_nxt, what="FIN of the closer")
    c.ack_data(fin)
    c.send("FA")
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="ACK of our FIN")
    c.send("S", seq=c.snd_nxt + 100000, ack=0, opts=c.syn_options())
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="answer to a SYN in TIME-WAIT")
    c.send("FA", seq=c.snd_nxt - 1)
    c.expect("A", seq=fin.seq + 1, ack=c.snd_nxt, length=0, what="TIME-WAIT still answers")


def counters(f):
    t = f["tcp"]
    check(t["passive_opens"] == 1 and f["connections"] == 1, f"tcp {t}")


run_case(body, check_counters=counters)
