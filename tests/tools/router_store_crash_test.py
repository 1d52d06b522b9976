#!/usr/bin/env python3
"""Crash tests of the router's store ([store], docs/architecture.md "Durable message state").

Three scenarios against the built smpp-router and smsc-sim (--journal), over loopback, each
bounded in count and time:

  kill9      smpp-router is killed with SIGKILL ten times at random moments under a load in
             which every submit_sm asks for a receipt and smsc-sim sends each receipt two
             seconds after its response; after each restart the ESME binds again. Every
             message the ESME saw accepted gets its receipt; duplicates are allowed only for
             receipts in flight at a kill and are counted.
  graceful   the same with SIGTERM and a restart: no receipt lost (duplicates are printed: a
             graceful restart should deliver none twice, which is not yet reached under load).
  held       receipts arrive while no receiver is bound (held by the router), the router is
             killed with SIGKILL, restarted, and only then the ESME binds: it gets every one.

The ESME is this script's own (a transceiver speaking SMPP 3.4 over a socket): it keeps the
ids of its accepted messages and the receipts it got across reconnects, which esme-load does
not. Exit status 0 when every scenario holds; the figures go to stdout.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005
BIND_TRANSCEIVER = 0x00000009
BIND_TRANSCEIVER_RESP = 0x80000009
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
GENERIC_NACK = 0x80000000
TAG_RECEIPTED_MESSAGE_ID = 0x001E


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cstring(b, at):
    end = b.index(b"\0", at)
    return b[at:end], end + 1


def receipt_id(body):
    """The receipted_message_id of a deliver_sm body (SMPP 3.4 §5.3.2.12), else the text's id:."""
    at = 0
    _, at = cstring(body, at)  # service_type
    at += 2
    _, at = cstring(body, at)  # source_addr
    at += 2
    _, at = cstring(body, at)  # destination_addr
    esm_class = body[at]
    at += 3
    _, at = cstring(body, at)  # schedule_delivery_time
    _, at = cstring(body, at)  # validity_period
    at += 4
    sm_length = body[at]
    at += 1
    text = body[at:at + sm_length]
    at += sm_length
    while at + 4 <= len(body):
        tag, length = struct.unpack(">HH", body[at:at + 4])
        value = body[at + 4:at + 4 + length]
        at += 4 + length
        if tag == TAG_RECEIPTED_MESSAGE_ID:
            return esm_class, value.rstrip(b"\0").decode()
    if text.startswith(b"id:"):
        return esm_class, text[3:].split(b" ")[0].decode()
    return esm_class, None


class Esme:
    """A transceiver that sends submit_sm with registered_delivery 1 at `rate` per second
    (window `window`) while `sending`, answers every deliver_sm ESME_ROK, and binds again
    whenever its connection drops."""

    def __init__(self, port, rate, window):
        self.port = port
        self.rate = rate
        self.window = window
        self.sending = False
        self.stop = False
        self.accepted = set()
        self.receipts = {}  # id -> times received
        self.other_deliveries = 0
        self.refused = 0
        self.sent = 0
        self.binds = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()

    def join(self):
        self.stop = True
        self.thread.join(10)

    def run(self):
        while not self.stop:
            try:
                self.session()
            except (OSError, ConnectionError, struct.error, ValueError):
                pass
            time.sleep(0.05)

    def session(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        s.settimeout(0.02)
        seq = 1
        body = b"demo\0demo\0\0" + bytes([0x34, 0, 0]) + b"\0"
        s.sendall(struct.pack(">IIII", 16 + len(body), BIND_TRANSCEIVER, 0, seq) + body)
        buf = b""
        bound = False
        outstanding = set()
        next_send = time.monotonic()
        last_rx = time.monotonic()
        try:
            while not self.stop:
                try:
                    data = s.recv(65536)
                    if not data:
                        return
                    buf += data
                    last_rx = time.monotonic()
                except socket.timeout:
                    if time.monotonic() - last_rx > 5:
                        return  # the router is gone without a FIN
                out = b""
                while len(buf) >= 16:
                    length, cid, status, pseq = struct.unpack(">IIII", buf[:16])
                    if len(buf) < length:
                        break
                    pdu_body = buf[16:length]
                    buf = buf[length:]
                    if cid == BIND_TRANSCEIVER_RESP:
                        if status != 0:
                            return
                        bound = True
                        self.binds += 1
                    elif cid == SUBMIT_SM_RESP:
                        outstanding.discard(pseq)
                        if status == 0:
                            with self.lock:
                                self.accepted.add(pdu_body.rstrip(b"\0").decode())
                        else:
                            self.refused += 1
                    elif cid == DELIVER_SM:
                        esm_class, rid = receipt_id(pdu_body)
                        with self.lock:
                            if esm_class & 0x04 and rid is not None:
                                self.receipts[rid] = self.receipts.get(rid, 0) + 1
                            else:
                                self.other_deliveries += 1
                        out += struct.pack(">IIII", 17, DELIVER_SM_RESP, 0, pseq) + b"\0"
                    elif cid == ENQUIRE_LINK:
                        out += struct.pack(">IIII", 16, ENQUIRE_LINK_RESP, 0, pseq)
                    elif cid == UNBIND:
                        s.sendall(out + struct.pack(">IIII", 16, UNBIND_RESP, 0, pseq))
                        return
                    elif cid == GENERIC_NACK:
                        outstanding.discard(pseq)
                now = time.monotonic()
                while bound and self.sending and len(outstanding) < self.window and now >= next_send:
                    seq = seq % 0x7FFFFFFF + 1
                    dest = b"4477009%05d" % (self.sent % 100000)
                    text = b"crash test %d" % self.sent
                    sm = (b"\0" + bytes([1, 1]) + b"447700900000\0" + bytes([1, 1]) + dest + b"\0" +
                          bytes([0, 0, 0]) + b"\0\0" + bytes([1, 0, 0, 0, len(text)]) + text)
                    out += struct.pack(">IIII", 16 + len(sm), SUBMIT_SM, 0, seq) + sm
                    outstanding.add(seq)
                    self.sent += 1
                    next_send += 1.0 / self.rate
                if not self.sending:
                    next_send = time.monotonic()
                if out:
                    s.sendall(out)
        finally:
            s.close()

    def snapshot(self):
        with self.lock:
            return set(self.accepted), dict(self.receipts)


class Rig:
    def __init__(self, bin_dir, work):
        self.bin = bin_dir
        self.work = work
        self.sim_port = free_port()
        self.router_port = free_port()
        self.router = None
        self.sim = subprocess.Popen(
            [os.path.join(bin_dir, "smsc-sim"), "--listen", "127.0.0.1:%d" % self.sim_port,
             "--dlr-delay-ms", "2000", "--journal", os.path.join(work, "sim.journal"),
             "--journal-max", "1000000"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "sim.log"), "w"))
        self.config = os.path.join(work, "router.toml")
        with open(self.config, "w") as f:
            f.write("""[router]
listen = ["127.0.0.1:%d"]
workers = "auto"

[[tenants]]
name = "demo"
system_id = "demo"
password_hash = "$argon2id$v=19$m=256,t=1,p=1$ykE6JwoyWKZwJwExzc0HGw$/WtlKaAfl1OtPciEm1rqfhIOkj5l4/9FVdCUQwOlpRA"

[[upstreams]]
name = "sim"
address = "127.0.0.1:%d"
# smsc-sim writes its ids in hex, some with digits only: read as hex, no two ids are one.
message_id_radix = "hex"
receipt_id_radix = "hex"
[[upstreams.binds]]
system_id = "router"
password = "router"
type = "transceiver"
count = 2

[[routes]]
tenant = "*"
destination_prefix = ""
upstreams = ["sim"]

[admin]
enabled = false

[store]
path = "store"
sync = "batch"
""" % (self.router_port, self.sim_port))
        self.starts = 0

    def start_router(self):
        self.starts += 1
        log = open(os.path.join(self.work, "router-%d.log" % self.starts), "w")
        self.router = subprocess.Popen(
            [os.path.join(self.bin, "smpp-router"), "--config", self.config],
            stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.router.poll() is not None:
                raise RuntimeError("smpp-router exited at start: " +
                                   open(os.path.join(self.work, "router-%d.log" % self.starts)).read())
            try:
                socket.create_connection(("127.0.0.1", self.router_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("smpp-router did not listen within 20 s")

    def kill_router(self, sig):
        self.router.send_signal(sig)
        try:
            self.router.wait(30)
        except subprocess.TimeoutExpired:
            self.router.kill()
            self.router.wait()

    def close(self):
        if self.router and self.router.poll() is None:
            self.kill_router(signal.SIGTERM)
        self.sim.terminate()
        self.sim.wait(10)


def wait_receipts(esme, seconds):
    """Until every accepted message has a receipt, or `seconds` passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        accepted, receipts = esme.snapshot()
        if accepted and accepted.issubset(receipts.keys()):
            return
        time.sleep(0.2)


def report(name, esme, ok, extra=""):
    accepted, receipts = esme.snapshot()
    missing = accepted - receipts.keys()
    duplicates = sum(n - 1 for n in receipts.values() if n > 1)
    unknown = len(receipts.keys() - accepted)
    print("%s: %d sent, %d accepted, %d refused, %d binds, %d receipts for %d ids: %d missing, "
          "%d duplicates, %d for ids not seen accepted%s -> %s" %
          (name, esme.sent, len(accepted), esme.refused, esme.binds, sum(receipts.values()),
           len(receipts), len(missing), duplicates, unknown, extra, "ok" if ok(missing, duplicates) else "FAILED"))
    if duplicates:
        print("  duplicated: %s" % ", ".join("%s x%d" % (k, n) for k, n in receipts.items() if n > 1))
    if missing:
        ints = sorted(int(m, 16) for m in missing)
        runs = []
        for v in ints:
            if runs and v == runs[-1][1] + 1:
                runs[-1][1] = v
            else:
                runs.append([v, v])
        print("  missing (hex id ranges, first 10): %s" %
              ", ".join("%x-%x" % (a, b) for a, b in runs[:10]))
    return ok(missing, duplicates)


def scenario_restarts(bin_dir, sig, kills, rate):
    work = tempfile.mkdtemp(prefix="store-crash-")
    rig = Rig(bin_dir, work)
    esme = Esme(rig.router_port, rate, 64)
    try:
        rig.start_router()
        esme.start()
        esme.sending = True
        rnd = random.Random(7)
        for _ in range(kills):
            time.sleep(rnd.uniform(0.7, 1.6))
            rig.kill_router(sig)
            rig.start_router()
        time.sleep(1.0)
        esme.sending = False
        wait_receipts(esme, 40)
        rig.kill_router(signal.SIGTERM)
        esme.join()
        name = "kill9" if sig == signal.SIGKILL else "graceful"
        # Nothing may be lost; duplicates are counted and printed. A graceful restart should
        # deliver none twice, but under load it still does (issue 15 says so): not checked yet.
        return report(name, esme, lambda missing, dup: not missing)
    finally:
        esme.stop = True
        rig.close()
        if os.environ.get("KEEP_WORK"):
            print("  work directory kept: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def scenario_held(bin_dir, count):
    work = tempfile.mkdtemp(prefix="store-held-")
    rig = Rig(bin_dir, work)
    esme = Esme(rig.router_port, 2000, 64)
    try:
        rig.start_router()
        esme.start()
        esme.sending = True
        deadline = time.monotonic() + 30
        while esme.sent < count and time.monotonic() < deadline:
            time.sleep(0.05)
        esme.sending = False
        time.sleep(0.5)
        esme.join()  # unbound before the receipts come (2 s after each response)
        time.sleep(3.5)  # the receipts are held now
        rig.kill_router(signal.SIGKILL)
        rig.start_router()
        esme2 = Esme(rig.router_port, 1, 1)
        esme2.accepted = esme.accepted
        esme2.receipts = dict(esme.receipts)  # the first ones came before it unbound
        early = sum(esme.receipts.values())
        esme2.start()
        wait_receipts(esme2, 30)
        esme2.join()
        rig.kill_router(signal.SIGTERM)
        return report("held", esme2, lambda missing, dup: not missing,
                      ", %d of them before the first session unbound" % early)
    finally:
        esme.stop = True
        rig.close()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="directory of smpp-router and smsc-sim")
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--rate", type=int, default=1500, help="submit_sm per second")
    ap.add_argument("--only", choices=["kill9", "graceful", "held"])
    a = ap.parse_args()
    ok = True
    if a.only in (None, "kill9"):
        ok &= scenario_restarts(a.bin, signal.SIGKILL, a.kills, a.rate)
    if a.only in (None, "graceful"):
        ok &= scenario_restarts(a.bin, signal.SIGTERM, 3, a.rate)
    if a.only in (None, "held"):
        ok &= scenario_held(a.bin, 3000)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
