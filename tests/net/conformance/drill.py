"""Packetdrill-style scripting against net-peer on a TAP device (tests/net/conformance/).

The runner (run_conformance.py) creates the namespace and the TAP device and runs each case
inside the namespace. A case starts its own net-peer (our stack with the test apps), then plays
the remote host itself through a raw packet socket on the kernel side of the device: it sends
segments built with scapy, answers our stack's ARP, and asserts every segment the stack sends
(flags, seq, ack, window, options) within a time bound. The kernel side has no address in the
subnet, so the kernel never answers anything itself.
"""

import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback

import logging

logging.getLogger("scapy").setLevel(logging.ERROR)  # no warnings about interfaces without IPv4

from scapy.all import ARP, IP, TCP, Ether, Raw, conf  # noqa: E402

conf.verb = 0

TAP = os.environ.get("CONF_TAP", "conf0")
NET_PEER = os.environ.get("NET_PEER", "net-peer")
STACK_IP = "198.18.91.2"
STACK_MAC = "02:00:5e:10:91:02"
REMOTE_IP = "198.18.91.1"
REMOTE_MAC = "02:00:5e:10:91:01"

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35
PACKET_OUTGOING = 4

# The ports net-peer serves (its defaults).
ECHO, DISCARD, PAUSED, SENDER, CLOSER = 7, 9, 10, 11, 12

# Short timers so that each case takes seconds: RTO 200 ms at the least, TIME-WAIT 2 x 400 ms.
PEER_DEFAULTS = ["--min-rto-ms", "200", "--initial-rto-ms", "300", "--msl-ms", "400",
                 "--fin-wait-2-ms", "3000", "--delayed-ack-ms", "40", "--seed", "7"]


class CaseFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise CaseFailure(msg)


def flags_of(tcp):
    return "".join(sorted(str(tcp.flags)))


def norm_flags(f):
    return "".join(sorted(f))


def describe(ip):
    t = ip[TCP]
    opts = ",".join(f"{k}={v}" for k, v in t.options if k not in ("NOP", "EOL"))
    return (f"{ip.src}:{t.sport}>{ip.dst}:{t.dport} [{t.flags}] seq={t.seq} ack={t.ack} "
            f"win={t.window} len={len(t.payload)} opts={opts}")


def options_of(tcp):
    return {k: v for k, v in tcp.options if k not in ("NOP", "EOL")}


def _operstate():
    try:
        with open(f"/sys/class/net/{TAP}/operstate") as f:
            return f.read().strip()
    except OSError as e:
        return str(e)


class Peer:
    """net-peer as a child process: its JSON event lines, counters on demand, stopped at the end."""

    def __init__(self, args):
        cmd = [NET_PEER, "--tap", TAP, "--addr", STACK_IP + "/24", "--mac", STACK_MAC]
        cmd += PEER_DEFAULTS + list(args)
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.buf = b""
        self.events = []
        ready = self.wait_event(lambda e: e.get("event") == "ready", 5.0)
        if ready is None:
            err = self._stderr_now()
            self.kill()
            raise CaseFailure(f"net-peer did not start: {' '.join(cmd)}: {err}")
        # The kernel activates the device's transmit side (our frames toward the stack) only
        # once it has seen the carrier come up, asynchronously: wait for it.
        deadline = time.monotonic() + 3.0
        while _operstate() != "up":
            if time.monotonic() > deadline:
                self.kill()
                raise CaseFailure(f"{TAP} did not come up after net-peer attached ({_operstate()})")
            time.sleep(0.01)
        # The kernel sets operstate before it attaches the transmit queues' qdiscs
        # (linkwatch_do_dev: rfc2863_policy, then dev_activate), and nothing outside the kernel
        # shows the second step: a margin, not a wait for an event.
        time.sleep(0.02)

    def _stderr_now(self):
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read().decode(errors="replace")

    def _read(self, timeout):
        fd = self.proc.stdout.fileno()
        r, _, _ = select.select([fd], [], [], max(timeout, 0))
        if not r:
            return False
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.events.append({"event": "garbage", "text": line.decode(errors="replace")})
        return True

    def wait_event(self, pred, timeout, start=0):
        """The first event from index `start` on that satisfies pred, within timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events[start:]:
                if pred(e):
                    return e
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and not self._read(0):
                return None
            self._read(min(left, 0.05))

    def counters(self):
        n = len(self.events)
        self.proc.send_signal(signal.SIGUSR1)
        e = self.wait_event(lambda e: e.get("event") == "counters", 3.0, n)
        check(e is not None, "net-peer printed no counters on SIGUSR1")
        return e

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM; returns the final counters (None when net-peer did not print them)."""
        if self.proc.poll() is not None:
            return None
        n = len(self.events)
        self.proc.send_signal(signal.SIGTERM)
        e = self.wait_event(lambda e: e.get("event") == "counters" and e.get("final"), 3.0, n)
        try:
            self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.kill()
        return e

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Wire:
    """The remote host's side of the TAP device: a raw packet socket on the kernel interface."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((TAP, 0))
        # Room for a whole window of full-sized frames between two reads.
        self.sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
        # Receive times from the kernel, so timing checks do not include our own latency.
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.held = []  # TCP segments read but not yet asked for: (time, IP)
        self.log = []   # every segment both ways, for the failure report
        self.arp_answered = 0
        self.arp_requests = []

    def close(self):
        self.sock.close()

    def send(self, ip_pkt):
        frame = Ether(src=REMOTE_MAC, dst=STACK_MAC) / ip_pkt
        self.send_frame(bytes(frame))
        if TCP in ip_pkt:
            self.log.append(("out", time.monotonic(), describe(IP(bytes(ip_pkt)))))

    def send_frame(self, raw):
        self.sock.send(raw)

    def _pump(self, timeout):
        """Reads frames for up to timeout seconds (returns after the first TCP segment)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            r, _, _ = select.select([self.sock], [], [], max(left, 0))
            if not r:
                return
            data, anc, _, addr = self.sock.recvmsg(65535, 64)
            if addr[2] == PACKET_OUTGOING:
                continue  # our own frames, seen on the way out
            now = time.monotonic()
            for level, kind, value in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                    # The kernel's receive time (wall clock), moved onto the monotonic clock.
                    sec, nsec = struct.unpack("qq", value[:16])
                    now -= max(0.0, time.time() - (sec + nsec / 1e9))
            eth = Ether(data)
            if ARP in eth:
                a = eth[ARP]
                if a.op == 1 and a.pdst == REMOTE_IP and a.psrc == STACK_IP:
                    self.arp_requests.append(now)
                    reply = Ether(src=REMOTE_MAC, dst=eth.src) / ARP(
                        op=2, hwsrc=REMOTE_MAC, psrc=REMOTE_IP, hwdst=eth.src, pdst=STACK_IP)
                    self.send_frame(bytes(reply))
                    self.arp_answered += 1
                continue
            if IP in eth and TCP in eth and eth[IP].src == STACK_IP:
                # Without the link's padding to 60 octets, so the payload is only TCP data.
                ip = IP(bytes(eth[IP])[:eth[IP].len])
                self.held.append((now, ip))
                self.log.append(("in", now, describe(ip)))
                return
            if left <= 0:
                return

    def next(self, match, timeout):
        """(time, IP) of the next segment from the stack that satisfies match, or None."""
        deadline = time.monotonic() + timeout
        while True:
            for i, (t, ip) in enumerate(self.held):
                if match(ip):
                    del self.held[i]
                    return t, ip
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._pump(left)

    def ping(self, timeout=2.0):
        """An ICMP echo to the stack (it resolves us by ARP to answer); True when answered."""
        from scapy.all import ICMP
        self.send(IP(src=REMOTE_IP, dst=STACK_IP) / ICMP(id=77, seq=1) / Raw(b"conformance"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.sock], [], [], max(deadline - time.monotonic(), 0))
            if not r:
                break
            data, addr = self.sock.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            eth = Ether(data)
            if ARP in eth and eth[ARP].op == 1 and eth[ARP].pdst == REMOTE_IP:
                self.send_frame(bytes(Ether(src=REMOTE_MAC, dst=eth.src) / ARP(
                    op=2, hwsrc=REMOTE_MAC, psrc=REMOTE_IP, hwdst=eth.src, pdst=STACK_IP)))
                self.arp_answered += 1
            elif ICMP in eth and eth[ICMP].type == 0 and eth[ICMP].id == 77:
                return True
        return False

    def drain(self, seconds):
        """Reads for `seconds`; everything seen stays held."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._pump(deadline - time.monotonic())

    def report(self):
        t0 = self.log[0][1] if self.log else 0
        return "\n".join(f"  {d:>3} {t - t0:8.3f}s {s}" for d, t, s in self.log[-40:])


class Conn:
    """One TCP connection as the remote host sees it: our sequence space and the stack's."""

    def __init__(self, wire, dport, sport=None, ts=True, win=65535):
        self.wire = wire
        self.dport = dport
        self.sport = sport if sport is not None else random.randint(40000, 60000)
        self.iss = random.randint(1 << 20, (1 << 32) - (1 << 24))
        self.snd_nxt = self.iss
        self.rcv_nxt = 0       # the stack's next sequence number (what we acknowledge)
        self.stack_iss = None
        self.ts = ts
        self.tsval = random.randint(1 << 16, 1 << 30)
        self.peer_tsval = 0    # the stack's latest TSval (what we echo)
        self.win = win
        self.stack_wscale = 0  # shift of the stack's advertised window
        self.stack_mss = None

    # ---- building and sending ----
    def next_tsval(self):
        self.tsval += 1
        return self.tsval

    def pkt(self, flags="A", data=b"", seq=None, ack=None, win=None, opts=None, ts=None,
            tsval=None, tsecr=None, sport=None):
        use_ts = self.ts if ts is None else ts
        if opts is None:
            opts = []
            if use_ts:
                opts = [("NOP", None), ("NOP", None),
                        ("Timestamp", (tsval if tsval is not None else self.next_tsval(),
                                       tsecr if tsecr is not None else self.peer_tsval))]
        if ack is None:
            ack = self.rcv_nxt if "A" in flags else 0
        p = IP(src=REMOTE_IP, dst=STACK_IP, flags="DF") / TCP(
            sport=sport if sport is not None else self.sport, dport=self.dport,
            seq=(self.snd_nxt if seq is None else seq) & 0xffffffff, ack=ack & 0xffffffff,
            flags=flags, window=self.win if win is None else win, options=opts)
        if data:
            p = p / Raw(data)
        return p

    def send(self, flags="A", data=b"", **kw):
        """Sends a segment; with the default seq, SND.NXT moves past its data, SYN and FIN."""
        advance = "seq" not in kw
        self.wire.send(self.pkt(flags, data, **kw))
        if advance:
            self.snd_nxt = (self.snd_nxt + len(data) + ("S" in flags) + ("F" in flags)) & 0xffffffff

    # ---- receiving and asserting ----
    def mine(self, ip):
        t = ip[TCP]
        return t.sport == self.dport and t.dport == self.sport

    def recv(self, timeout=1.0):
        r = self.wire.next(self.mine, timeout)
        if r is None:
            return None, None
        t, ip = r
        o = options_of(ip[TCP])
        if "Timestamp" in o:
            self.peer_tsval = o["Timestamp"][0]
        return t, ip[TCP]

    def expect(self, flags, seq=None, ack=None, win=None, length=None, timeout=1.0, what=""):
        """The next segment of this connection, with exactly these flags and the fields given."""
        t, seg = self.recv(timeout)
        label = f"{what}: " if what else ""
        check(seg is not None, f"{label}expected [{flags}] within {timeout}s, got nothing")
        got = flags_of(seg)
        check(got == norm_flags(flags), f"{label}expected flags [{flags}], got [{seg.flags}]")
        if seq is not None:
            seq &= 0xffffffff
            check(seg.seq == seq, f"{label}expected seq {seq}, got {seg.seq}")
        if ack is not None:
            ack &= 0xffffffff
            check(seg.ack == ack, f"{label}expected ack {ack}, got {seg.ack}")
        if win is not None:
            check(seg.window == win, f"{label}expected window {win}, got {seg.window}")
        if length is not None:
            check(len(seg.payload) == length,
                  f"{label}expected {length} octets of data, got {len(seg.payload)}")
        if self.ts and "R" not in got:
            check("Timestamp" in options_of(seg), f"{label}timestamps negotiated, none sent")
        seg.at = t
        return seg

    def expect_none(self, timeout, what):
        t, seg = self.recv(timeout)
        if seg is not None:
            raise CaseFailure(f"{what}: expected silence for {timeout}s, got [{seg.flags}] "
                              f"seq={seg.seq} ack={seg.ack} len={len(seg.payload)}")

    # ---- common sequences ----
    def syn_options(self, mss=1460, wscale=7, sack=True):
        opts = []
        if mss is not None:
            opts.append(("MSS", mss))
        if sack:
            opts.append(("SAckOK", b""))
        if self.ts:
            opts.append(("Timestamp", (self.next_tsval(), 0)))
        if wscale is not None:
            opts += [("NOP", None), ("WScale", wscale)]
        return opts

    def handshake(self, mss=1460, wscale=7, sack=True, win=None, ack_win=None):
        """SYN, SYN-ACK (checked), ACK: ESTABLISHED on both sides. Returns the SYN-ACK."""
        self.send("S", opts=self.syn_options(mss, wscale, sack), win=win)
        sa = self.expect("SA", ack=self.snd_nxt, what="SYN-ACK")
        self.stack_iss = sa.seq
        self.rcv_nxt = (sa.seq + 1) & 0xffffffff
        o = options_of(sa)
        self.stack_mss = o.get("MSS")
        self.stack_wscale = o.get("WScale", 0) if wscale is not None else 0
        if self.ts:
            check("Timestamp" in o, "SYN-ACK: timestamps offered, none answered")
        self.send("A", win=ack_win)
        return sa

    def ack_data(self, seg):
        """Accounts the data (and FIN) of seg received in order."""
        self.rcv_nxt = (seg.seq + len(seg.payload) + ("F" in str(seg.flags))) & 0xffffffff

    def read(self, n, timeout=3.0, ack=True):
        """Receives n octets in order (ACKing each segment when ack); returns them."""
        out = b""
        deadline = time.monotonic() + timeout
        while len(out) < n:
            t, seg = self.recv(max(deadline - time.monotonic(), 0))
            check(seg is not None, f"read: got {len(out)} of {n} octets within {timeout}s")
            if seg.seq == self.rcv_nxt and len(seg.payload):
                out += bytes(seg.payload)
                self.ack_data(seg)
                if ack:
                    self.send("A")
        return out


def pattern(offset, n):
    """The octets net-peer's sender port sends from `offset` on (octet i = i % 251)."""
    return bytes((offset + i) % 251 for i in range(n))


def seq_add(a, b):
    return (a + b) & 0xffffffff


XFAIL, XPASS = 3, 4  # exit codes the runner reads


def run_case(body, peer_args=(), check_counters=None, known_bug=None):
    """Runs one case: starts net-peer, opens the wire, runs body(peer, wire), stops the peer,
    optionally checks its final counters; prints PASS or FAIL and exits 0 or 1.

    known_bug: the case asserts the correct behaviour but the stack is known to fail it (the
    text says how). Then a failure exits XFAIL (reported loudly, not counted as a failure) and a
    pass exits XPASS (counted as a failure: the mark must go once the stack is fixed)."""
    name = os.path.basename(sys.argv[0])
    random.seed(os.environ.get("CONF_SEED", name))
    peer = wire = None
    try:
        wire = Wire()  # first: an active open's ARP request must not go unheard
        peer = Peer(peer_args)
        body(peer, wire)
        final = peer.stop()
        check(final is not None, "net-peer printed no final counters on SIGTERM")
        check(final["tap"]["tx_errors"] == 0, f"TAP write errors: {final['tap']}")
        if check_counters:
            check_counters(final)
        if known_bug:
            print(f"XPASS {name}: passes, but is marked as a known stack bug: remove the mark "
                  f"({known_bug})")
            return_code = XPASS
        else:
            print(f"PASS {name}")
            return_code = 0
    except CaseFailure as e:
        if known_bug:
            print(f"XFAIL {name}: KNOWN STACK BUG: {known_bug}; the case saw: {e}")
        else:
            print(f"FAIL {name}: {e}")
        if wire is not None:
            print("segments (in: from the stack, out: to it):\n" + wire.report())
        return_code = XFAIL if known_bug else 1
    except Exception:  # noqa: BLE001 - a broken case is a failure, with its traceback
        print(f"FAIL {name}: exception\n{traceback.format_exc()}")
        return_code = 1
    finally:
        if peer is not None:
            if return_code and peer.proc.poll() is None:
                peer.stop()
            peer.kill()
            if return_code:
                print("net-peer events: " + " ".join(json.dumps(e) for e in peer.events[-12:]))
        if wire is not None:
            wire.close()
    sys.exit(return_code)
