"""bench/run's front_door phase: smpp-http's HTTP side against Kannel's sendsms, and batch POSTs
through smpp-router with their receipts and dlr_url callbacks. Loopback only, every process in a
temporary directory, every wait bounded.

(a) single-message POSTs on keep-alive connections (wrk, the same connection count and duration)
    to smpp-http and to Kannel's sendsms (bearerbox + smsbox), both bound straight to the same
    smsc-sim, interleaved run by run: accepted requests/s (202) and the rate at which their
    submit_sm reached smsc-sim; medians and the ratio smpp-http / Kannel.
(b) batch POSTs of 1,000 recipients from 4 keep-alive connections to smpp-http bound to
    smpp-router bound to smsc-sim: messages/s accepted, submitted and answered, receipts matched
    (smpp-http's /v1/status), with exact counts at smsc-sim.
(c) each message of (b) asks for a dlr_url callback to a receiver in this process: callbacks/s
    against the receipts/s of (b).
"""
import asyncio
import http.client
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "peers", "kannel"))
import boxes  # noqa: E402  (Kannel's configuration and start/stop, shared with the peers tests)
import e2e_bench  # noqa: E402

DEMO_KEY = "demo-key"
DEMO_KEY_HASH = "blake2b256:e229ec1be2faa7a5dec6aad7aff1591e1e9b1683ed3f08cce11be9bd06dd2c67"
BATCH = 1000
# [[clients]] callback_batch of (c): dlr_url callbacks POSTed as arrays of up to this many (1: one
# per POST, the key left out of the configuration).
CALLBACK_BATCH = int(os.environ.get("FRONT_DOOR_CALLBACK_BATCH", "100"))
CONNECTIONS = int(os.environ.get("FRONT_DOOR_CONNECTIONS", "32"))  # wrk's keep-alive connections, for both servers; smpp-http has as many threads


class Unavailable(Exception):
    """A tool the phase needs is missing: reported not_available by bench/run."""


def sim_counters(sim, timeout=5.0):
    """smsc-sim prints its counters as one JSON line on SIGUSR1."""
    sim.send_signal(signal.SIGUSR1)
    end = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < end:
        ready, _, _ = select.select([sim.stdout], [], [], 0.1)
        if not ready:
            continue
        chunk = os.read(sim.stdout.fileno(), 65536)
        if not chunk:
            return None
        buf += chunk
        if buf.endswith(b"\n"):
            try:
                return json.loads(buf.splitlines()[-1])
            except ValueError:
                return None
    return None


def wait_for(check, limit_s, what):
    end = time.monotonic() + limit_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise RuntimeError(f"{what}: not within {limit_s} s")
        time.sleep(0.05)


def start_sim(sim_bin, work, name):
    port = e2e_bench.free_port()
    err = open(os.path.join(work, name + ".err"), "w")
    sim = subprocess.Popen([sim_bin, "--listen", f"127.0.0.1:{port}", "--dlr-delay-ms", "0"],
                           stdout=subprocess.PIPE, stderr=err)
    err.close()
    e2e_bench.wait_port(port)
    return sim, port


def start_router(router_bin, work, sim_port):
    port = e2e_bench.free_port()
    cfg = os.path.join(work, "router.toml")
    with open(cfg, "w") as f:
        # The bench's router configuration (tenant "bench"), two upstream binds of window 256.
        f.write(e2e_bench.router_config(f"127.0.0.1:{port}", "[0]", f"127.0.0.1:{sim_port}",
                                        "receipts", 256, 2,
                                        after_correlation="[admin]\nenabled = false\n"))
    err = open(os.path.join(work, "router.err"), "w")
    router = subprocess.Popen([router_bin, "--config", cfg], stdout=subprocess.DEVNULL, stderr=err)
    err.close()
    e2e_bench.wait_port(port, timeout=20)
    return router, port


def start_http(http_bin, work, name, smsc_port, sessions, window, synchronous="full",
               login="demo", callback_batch=1):
    port = e2e_bench.free_port()
    cfg = os.path.join(work, name + ".toml")
    with open(cfg, "w") as f:
        f.write(f"""[http]
listen = "127.0.0.1:{port}"
threads = {CONNECTIONS + 4}
[smsc]
port = {smsc_port}
system_id = "{login}"
password = "{login}"
sessions = {sessions}
window = {window}
reconnect_ms = 100
[limits]
max_messages = 2000000
max_queued_parts = 1000000
[store]
path = "{os.path.join(work, name + '.db')}"
synchronous = "{synchronous}"
[callbacks]
threads = 4
max_pending = 1000000
[[clients]]
name = "demo"
key_hash = "{DEMO_KEY_HASH}"
from = "DEMO"
""")
        if callback_batch > 1:
            f.write(f"callback_batch = {callback_batch}\n")
    err = open(os.path.join(work, name + ".err"), "w")
    proc = subprocess.Popen([http_bin, "--config", cfg], stdout=subprocess.DEVNULL, stderr=err)
    err.close()
    e2e_bench.wait_port(port, timeout=20)
    return proc, port


def http_status(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/v1/status", headers={"Authorization": "Bearer " + DEMO_KEY})
        r = c.getresponse()
        return json.loads(r.read())
    finally:
        c.close()


# ---- (a) single POSTs: smpp-http vs Kannel's sendsms ---------------------------------------


def wrk_run(wrk, url, duration_s, script):
    cmd = [wrk, "-t", "2", "-c", str(CONNECTIONS), "-d", f"{max(1, int(duration_s))}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=duration_s + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {(out.stdout + out.stderr)[-500:]}")
    total = errors = 0
    for line in out.stdout.splitlines():
        line = line.strip()
        if " requests in " in line:
            total = int(line.split()[0])
        elif line.startswith("Non-2xx or 3xx responses:"):
            errors = int(line.split(":")[1])
        elif line.startswith("Socket errors:"):
            errors += sum(int(p.split()[1]) for p in line.split(":", 1)[1].split(","))
    return total - errors, errors, out.stdout


def single_round(wrk, sim, url, script, duration_s, limit_s):
    """wrk for duration_s; then the wait until smsc-sim received every accepted message."""
    before = sim_counters(sim)["submit_sm"]
    start = time.monotonic()
    ok, errors, text = wrk_run(wrk, url, duration_s, script)
    accept_s = time.monotonic() - start
    wait_for(lambda: sim_counters(sim)["submit_sm"] - before >= ok, limit_s,
             f"{ok} submit_sm at smsc-sim from {url}")
    sent_s = time.monotonic() - start
    return {"accepted": ok, "errors": errors, "accepted_per_s": ok / accept_s,
            "sent_per_s": ok / sent_s, "wrk": text}


def phase_single(bins, work, duration_s, repeat):
    wrk = shutil.which("wrk")
    if wrk is None or not os.access(bins["bearerbox"], os.X_OK):
        raise Unavailable("needs wrk and Kannel's bearerbox/smsbox (tools/debian-packages.txt)")
    sim, sim_port = start_sim(bins["smsc-sim"], work, "single-sim")
    procs = []
    kannel_dir = os.path.join(work, "kannel")
    os.makedirs(kannel_dir)
    kannel = boxes.Boxes(bins["bearerbox"], bins["smsbox"], kannel_dir)
    try:
        proc, port = start_http(bins["smpp-http"], work, "single", sim_port, 2, 64,
                                os.environ.get("FRONT_DOOR_SYNCHRONOUS", "full"))
        procs.append(proc)
        why = kannel.start({"host": "127.0.0.1", "port": sim_port, "system_id": "kannel",
                            "password": "kannel", "window": 64}, 30)
        if why:
            raise RuntimeError(why)
        wait_for(lambda: http_status(port).get("sessions_bound", 0) >= 2, 20, "smpp-http's binds")
        script = os.path.join(work, "post.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\n'
                    'wrk.body = \'{"to":"447700900001","text":"Your code is 1234","dlr":false}\'\n'
                    f'wrk.headers["Authorization"] = "Bearer {DEMO_KEY}"\n'
                    'wrk.headers["Content-Type"] = "application/json"\n')
        ours_url = f"http://127.0.0.1:{port}/v1/messages"
        kannel_url = (f"http://127.0.0.1:{kannel.ports['sendsms']}/cgi-bin/sendsms?username="
                      f"{boxes.SENDSMS_USER}&password={boxes.SENDSMS_PASSWORD}"
                      "&from=DEMO&to=447700900001&text=Your+code+is+1234")
        runs = {"smpp_http": [], "kannel": []}
        for _ in range(repeat):
            runs["smpp_http"].append(single_round(wrk, sim, ours_url, script, duration_s, 60))
            runs["kannel"].append(single_round(wrk, sim, kannel_url, None, duration_s, 60))
    finally:
        kannel.stop()
        for p in procs:
            e2e_bench.stop(p)
        e2e_bench.stop(sim)
    out = {}
    for name, rs in runs.items():
        out[name] = {k: statistics.median(r[k] for r in rs)
                     for k in ("accepted_per_s", "sent_per_s")}
        out[name]["runs_accepted_per_s"] = [round(r["accepted_per_s"]) for r in rs]
        out[name]["runs_sent_per_s"] = [round(r["sent_per_s"]) for r in rs]
        out[name]["errors"] = sum(r["errors"] for r in rs)
        out[name]["accepted"] = sum(r["accepted"] for r in rs)
    for key in ("accepted_per_s", "sent_per_s"):
        if any(r[key] <= 0 for r in runs["kannel"]):
            raise RuntimeError("Kannel accepted nothing in a run; wrk said:\n"
                               + runs["kannel"][-1]["wrk"])
        out["ratio_" + key] = statistics.median(
            a[key] / b[key] for a, b in zip(runs["smpp_http"], runs["kannel"]))
    out["setup"] = {"connections": CONNECTIONS, "duration_s": duration_s, "repeat": repeat,
                    "smpp_http": "2 sessions x window 64, synchronous full",
                    "kannel": "1 transceiver, max-pending-submits 64"}
    return out


# ---- (b)+(c) batches through smpp-router, with dlr_url callbacks ------------------------------


class Receiver:
    """A minimal HTTP/1.1 server on its own thread and event loop: answers every request 204,
    keep-alive, and counts them (the dlr_url callbacks)."""

    def __init__(self):
        self.count = 0  # callbacks (reports)
        self.requests = 0  # POSTs
        self.first = None
        self.last = None
        self.port = e2e_bench.free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the callback receiver did not start")

    def _run(self):
        asyncio.set_event_loop(self.loop)
        receiver = self

        class Proto(asyncio.Protocol):
            def connection_made(self, transport):
                self.t = transport
                self.buf = b""

            def data_received(self, data):
                self.buf += data
                answers = 0
                while True:
                    head_end = self.buf.find(b"\r\n\r\n")
                    if head_end < 0:
                        break
                    head = self.buf[:head_end].lower()
                    length = 0
                    at = head.find(b"content-length:")
                    if at >= 0:
                        length = int(head[at + 15:head.find(b"\r\n", at) if head.find(
                            b"\r\n", at) >= 0 else len(head)])
                    if len(self.buf) < head_end + 4 + length:
                        break
                    body = self.buf[head_end + 4:head_end + 4 + length]
                    self.buf = self.buf[head_end + 4 + length:]
                    answers += 1
                    # A batched callback is a JSON array of reports: each counts.
                    receiver.count += len(json.loads(body)) if body[:1] == b"[" else 1
                if answers:
                    now = time.monotonic()
                    if receiver.first is None:
                        receiver.first = now
                    receiver.last = now
                    receiver.requests += answers
                    self.t.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n" * answers)

        server = self.loop.run_until_complete(
            self.loop.create_server(Proto, "127.0.0.1", self.port, backlog=256))
        self.ready.set()
        self.loop.run_forever()
        server.close()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def post_batches(port, bodies, connections=4):
    accepted = [0]
    refused = [0]
    lock = threading.Lock()
    queue = list(range(len(bodies)))

    def sender():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": "Bearer " + DEMO_KEY, "Content-Type": "application/json"}
        while True:
            with lock:
                if not queue:
                    break
                i = queue.pop()
            c.request("POST", "/v1/messages", body=bodies[i], headers=headers)
            r = c.getresponse()
            r.read()
            with lock:
                if r.status == 202:
                    accepted[0] += BATCH
                else:
                    refused[0] += 1
        c.close()

    threads = [threading.Thread(target=sender) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return accepted[0], refused[0]


def phase_batches(bins, work, batches, callbacks=True):
    sim, sim_port = start_sim(bins["smsc-sim"], work, "batch-sim")
    router = proc = receiver = None
    try:
        router, router_port = start_router(bins["smpp-router"], work, sim_port)
        proc, port = start_http(bins["smpp-http"], work, "batch", router_port, 2, 256,
                                login="bench", callback_batch=CALLBACK_BATCH if callbacks else 1)
        wait_for(lambda: http_status(port).get("sessions_bound", 0) >= 2, 20, "smpp-http's binds")
        receiver = Receiver() if callbacks else None
        dlr = f',"dlr_url":"http://127.0.0.1:{receiver.port}/dlr"' if receiver else ""
        bodies = []
        for b in range(batches):
            to = ",".join(f'"4477{b * BATCH + i:08d}"' for i in range(BATCH))
            bodies.append(f'{{"to":[{to}],"text":"Sale today only"{dlr}}}'.encode())
        total = batches * BATCH
        start = time.monotonic()
        accepted, refused = post_batches(port, bodies)
        accept_s = time.monotonic() - start
        limit_s = 30 + total / 5000
        st = wait_for(lambda: (lambda s: s if s["responses_ok"] >= accepted else None)(
            http_status(port)), limit_s, f"{accepted} answers at smpp-http")
        submit_s = time.monotonic() - start
        st = wait_for(lambda: (lambda s: s if s["receipts_matched"] >= accepted else None)(
            http_status(port)), limit_s, f"{accepted} receipts at smpp-http")
        receipt_s = time.monotonic() - start
        sim_c = sim_counters(sim)
        out = {"messages": total, "accepted": accepted, "requests_refused": refused,
               "accepted_per_s": accepted / accept_s, "submitted_per_s": accepted / submit_s,
               "receipts_per_s": accepted / receipt_s,
               "smsc_sim": {k: sim_c.get(k) for k in ("submit_sm", "receipts_sent")},
               "status": {k: st.get(k) for k in ("responses_ok", "receipts_matched",
                                                  "store_commits", "store_rows_written",
                                                  "store_commit_failures", "takes_paused")}}
        if receiver:
            try:
                wait_for(lambda: receiver.count >= accepted, limit_s, f"{accepted} callbacks")
            except RuntimeError as e:
                out["callbacks_note"] = str(e)
            cb_s = time.monotonic() - start
            out["callbacks"] = receiver.count
            out["callback_posts"] = receiver.requests
            out["callback_batch"] = CALLBACK_BATCH
            out["callbacks_per_s"] = receiver.count / cb_s
            out["callback_status"] = {k: v for k, v in http_status(port).items()
                                      if k.startswith("callbacks_")}
        return out
    finally:
        if receiver:
            receiver.stop()
        for p in (proc, router):
            if p is not None:
                e2e_bench.stop(p)
        e2e_bench.stop(sim)


def run(bins, work, duration_s, repeat, batches):
    """Both parts; bins maps smpp-http, smpp-router, smsc-sim, bearerbox, smsbox to paths."""
    return {"single": phase_single(bins, work, duration_s, repeat),
            "batches": phase_batches(bins, work, batches)}


if __name__ == "__main__":
    import argparse
    import tempfile
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"))
    ap.add_argument("--duration", type=float, default=3.0, help="seconds of each wrk run")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs of (a)")
    ap.add_argument("--batches", type=int, default=200, help="POSTs of 1,000 in (b)")
    ap.add_argument("--parts", default="single,batches", help="single, batches or both")
    ap.add_argument("--no-callbacks", action="store_true", help="(b) without dlr_url")
    a = ap.parse_args()
    bins = {b: os.path.join(a.bin, b) for b in ("smpp-http", "smpp-router", "smsc-sim")}
    bins["bearerbox"] = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
    bins["smsbox"] = shutil.which("smsbox") or "/usr/sbin/smsbox"
    with tempfile.TemporaryDirectory(prefix="front-door-") as work:
        result = {}
        if "single" in a.parts:
            result["single"] = phase_single(bins, work, a.duration, a.repeat)
            for k in ("smpp_http", "kannel"):
                for r in ("wrk",):
                    result["single"][k].pop(r, None)
        if "batches" in a.parts:
            result["batches"] = phase_batches(bins, work, a.batches, not a.no_callbacks)
        print(json.dumps(result, indent=1))
