#!/usr/bin/env python3
"""The cost of the operator's console: the router's bulk throughput while a console polls its
admin server, against the same router without one, in the same invocation.

One smsc-sim and one smpp-router (one worker, admin API on a free loopback port) stay up; each
run is esme-load bulk (4 sessions x window 256, as fast as possible, no receipts) for
--duration seconds. Runs alternate "without" and "with" (the order flips every pair); "with"
runs a console client beside the load:

  poller   (default) the requests the console page makes, in its order, once a second:
           /api/status, /api/tenants, /api/upstreams, /api/history?since=T, /api/slots/U for
           each upstream with a rate_per_s (one connection, as the page keeps one)
  browser  headless Chromium with the page open (it polls by itself); on a small machine its
           rendering competes with the router for CPU, so this measures the machine, not only
           the router

Prints the page's weight (octets of GET /, and per poll of the JSON it reads), the router's CPU
per poll (5 s without load, alone and with 20 polls a second), each run's
submit_sm/s, the router's CPU seconds per million accepted, and the median of the paired ratios
with/without. Exits 1 when that median is below --min-ratio (default 0.97).

Loopback only; every process is started and stopped here, each run bounded by --duration.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise SystemExit(f"console_cost: {what} did not happen within {timeout} s")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Poller(threading.Thread):
    """The console page's requests, once a second, one at a time (the router closes each
    connection after its answer; http.client opens the next)."""

    def __init__(self, port, polls_per_s=1.0):
        super().__init__(daemon=True)
        self.port = port
        self.period = 1.0 / polls_per_s
        self.stop = threading.Event()
        self.polls = 0
        self.octets = 0
        self.errors = 0
        self.since = 0

    def get(self, conn, path):
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        self.octets += len(body)
        if r.status != 200:
            self.errors += 1
        return body

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                self.get(conn, "/api/status")
                self.get(conn, "/api/tenants")
                upstreams = json.loads(self.get(conn, "/api/upstreams"))
                hist = json.loads(self.get(conn, f"/api/history?since={self.since}"))
                if hist["points"]:
                    self.since = hist["points"][-1]["t"]
                for u in upstreams:
                    if u.get("rate_per_s", 0) > 0:
                        self.get(conn, "/api/slots/" + u["name"])
                self.polls += 1
            except (OSError, http.client.HTTPException, ValueError):
                self.errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            self.stop.wait(max(0.0, self.period - (time.monotonic() - started)))
        conn.close()


def router_config(smpp_port, admin_port, sim_port, worker_cpu):
    return f"""[router]
listen = ["127.0.0.1:{smpp_port}"]
workers = [{worker_cpu}]

[admin]
listen = "127.0.0.1:{admin_port}"

[correlation]
note = "receipts"

[[tenants]]
name = "bulk"
system_id = "bulk"
password = "secret"
window = 65535

[[upstreams]]
name = "sim"
address = "127.0.0.1:{sim_port}"

[[upstreams.binds]]
system_id = "router"
password = "router"
window = 1024
count = 4

[[routes]]
tenant = "*"
upstreams = ["sim"]
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"),
                    help="directory of smpp-router, smsc-sim and esme-load")
    ap.add_argument("--duration", type=float, default=4.0, help="seconds per run (default 4)")
    ap.add_argument("--repeat", type=int, default=3, help="pairs of runs (default 3)")
    ap.add_argument("--client", choices=["poller", "browser"], default="poller")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--min-ratio", type=float, default=0.97)
    ap.add_argument("--polls-per-s", type=float, default=1.0,
                    help="the poller's rate (the page polls once a second; more shows the cost "
                         "per poll)")
    args = ap.parse_args()
    if (not 0.5 <= args.duration <= 60 or not 1 <= args.repeat <= 20
            or not 0.1 <= args.polls_per_s <= 100):
        raise SystemExit("console_cost: --duration 0.5..60, --repeat 1..20, --polls-per-s 0.1..100")

    tmp = tempfile.mkdtemp(prefix="console_cost_")
    procs = []

    def start(argv, **kw):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        procs.append(p)
        return p

    try:
        sim_port, smpp_port, admin_port = free_port(), free_port(), free_port()
        start([os.path.join(args.bin, "smsc-sim"), "--listen", f"127.0.0.1:{sim_port}"])
        wait_for(lambda: port_open(sim_port), 10, "smsc-sim listening")
        cfg = os.path.join(tmp, "router.toml")
        with open(cfg, "w") as f:
            f.write(router_config(smpp_port, admin_port, sim_port, os.cpu_count() - 1))
        router = start([os.path.join(args.bin, "smpp-router"), "--config", cfg])
        wait_for(lambda: port_open(smpp_port) and port_open(admin_port), 20, "smpp-router up")

        conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=5)
        conn.request("GET", "/")
        page = conn.getresponse().read()
        conn.close()
        probe = Poller(admin_port)
        probe.start()
        wait_for(lambda: probe.polls >= 1, 10, "one console poll")
        probe.stop.set()
        probe.join(10)
        probe.octets //= max(probe.polls, 1)  # one poll's weight
        print(f"page: {len(page)} octets (GET /, once); one poll: {probe.octets} octets of JSON")
        # What one poll costs the router, without load: its CPU over 5 s alone and with 20 polls
        # a second (the difference is the admin server's work; far less noisy than throughput).
        idle = {}
        for kind in ("without", "with"):
            client = Poller(admin_port, 20.0) if kind == "with" else None
            if client:
                client.start()
            cpu0 = cpu_seconds(router.pid)
            time.sleep(5.0)
            idle[kind] = cpu_seconds(router.pid) - cpu0
            if client:
                client.stop.set()
                client.join(10)
                idle["polls"] = client.polls
        per_poll_ms = (idle["with"] - idle["without"]) / max(idle["polls"], 1) * 1e3
        print(f"router CPU over 5 s without load: {idle['without']:.3f} s alone, "
              f"{idle['with']:.3f} s with {idle['polls']} polls: {per_poll_ms:.2f} ms per poll")

        runs = {"without": [], "with": []}
        for i in range(args.repeat):
            order = ["without", "with"] if i % 2 == 0 else ["with", "without"]
            for kind in order:
                client = None
                browser = None
                if kind == "with" and args.client == "poller":
                    client = Poller(admin_port, args.polls_per_s)
                    client.start()
                elif kind == "with":
                    browser = start([args.chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                     "--no-first-run", f"--user-data-dir={tmp}/profile{i}",
                                     "--remote-debugging-port=0",
                                     f"http://127.0.0.1:{admin_port}/"])
                    time.sleep(1.0)  # let the page load before the load starts
                cpu0 = cpu_seconds(router.pid)
                out = os.path.join(tmp, f"load{i}{kind}.json")
                subprocess.run([os.path.join(args.bin, "esme-load"), "--connect",
                                f"127.0.0.1:{smpp_port}", "--system-id", "bulk", "--password",
                                "secret", "--sessions", "4", "--window", "256", "--duration",
                                str(args.duration), "--json", out, "--no-progress"],
                               check=True, timeout=args.duration + 60,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                cpu = cpu_seconds(router.pid) - cpu0
                polls = ""
                if client:
                    client.stop.set()
                    client.join(10)
                    polls = f"  console polls {client.polls} ({client.errors} errors)"
                    if client.errors:
                        raise SystemExit("console_cost: the admin server failed a console request")
                if browser:
                    browser.send_signal(signal.SIGTERM)
                    browser.wait(10)
                with open(out) as f:
                    r = json.load(f)
                rate = r["submit_per_s"]
                per_million = cpu / max(r["accepted"], 1) * 1e6
                runs[kind].append((rate, per_million))
                print(f"run {i + 1} {kind:7s} {rate:10.0f} submit_sm/s  router "
                      f"{per_million:6.2f} CPU s per million{polls}")
        ratios = [w[0] / wo[0] for w, wo in zip(runs["with"], runs["without"])]
        median = statistics.median(ratios)
        med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
               for k, v in runs.items()}
        print(f"median submit_sm/s without {med['without'][0]:.0f}, with the console "
              f"({args.client}, {args.polls_per_s:g} polls/s) {med['with'][0]:.0f} (ratio of "
              f"medians {med['with'][0] / med['without'][0]:.3f}); router CPU s per million "
              f"without {med['without'][1]:.3f}, with {med['with'][1]:.3f}")
        print(f"paired ratios {', '.join(f'{x:.3f}' for x in ratios)}; median paired ratio "
              f"{median:.3f} (bound {args.min_ratio})")
        return 0 if median >= args.min_ratio else 1
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
