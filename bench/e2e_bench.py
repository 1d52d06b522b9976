#!/usr/bin/env python3
"""End-to-end benchmark: the router (one worker) against a byte relay baseline (one thread),
driven by the same esme-load and smsc-sim, in two load shapes:

  bulk           4 sessions x window 256, as fast as possible
  latency-bound  64 sessions x window 1

Prints routed submit_sm/s, latency percentiles and CPU seconds per million messages for each
scenario and the ratios router/relay; --json FILE writes them. Loopback only; every process is
started and stopped by this script, each run bounded by --duration.
"""
import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick  # utime + stime


def machine_cpu_seconds():
    """Busy CPU seconds of the whole machine (every process, kernel included), /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


ROUTER_CONFIG = """
[router]
listen = ["127.0.0.1:{port}"]
workers = {workers}
# esme-load asks for no receipts here: message ids are noted only for receipts (the table
# insert, a cache miss per message, is measured separately: correlation_bench, and
# --note-all runs the router with note = "all").
[correlation]
note = "{note}"
[[tenants]]
name = "bench"
system_id = "bench"
password = "bench"
window = 65535
max_binds = 128
[[upstreams]]
name = "sim"
address = "127.0.0.1:{sim_port}"
[[upstreams.binds]]
system_id = "router"
password = "router"
type = "transceiver"
window = {up_window}
count = {up_binds}
[[routes]]
tenant = "*"
destination_prefix = ""
upstreams = ["sim"]
"""


def run_scenario(bindir, kind, sessions, window, duration, cpus, note="receipts"):
    sim_port, front_port = free_port(), free_port()
    tmp = tempfile.mkdtemp(prefix="smpp-e2e-")
    sim_json = os.path.join(tmp, "sim.json")
    load_json = os.path.join(tmp, "load.json")
    sim = subprocess.Popen(
        ["taskset", "-c", cpus["sim"], os.path.join(bindir, "smsc-sim"), "--listen",
         f"127.0.0.1:{sim_port}", "--json", sim_json],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(sim_port)
    if kind == "router":
        cfg = os.path.join(tmp, "router.toml")
        with open(cfg, "w") as f:
            # Upstream binds: enough window for every session's window.
            f.write(ROUTER_CONFIG.format(port=front_port, workers=f'[{cpus["front"]}]',
                                         sim_port=sim_port,
                                         up_window=min(65535, max(1024, sessions * window)),
                                         up_binds=4, note=note))
        front = subprocess.Popen([os.path.join(bindir, "smpp-router"), "--config", cfg],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        front = subprocess.Popen(
            [os.path.join(bindir, "byte-relay"), "--listen", f"127.0.0.1:{front_port}",
             "--upstream", f"127.0.0.1:{sim_port}", "--cpu", cpus["front"]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(front_port)
        time.sleep(0.3)  # upstream binds come up
        cpu0 = cpu_seconds(front.pid)
        sim0 = cpu_seconds(sim.pid)
        machine0 = machine_cpu_seconds()
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall0 = time.monotonic()
        load = subprocess.run(
            ["taskset", "-c", cpus["load"], os.path.join(bindir, "esme-load"), "--connect",
             f"127.0.0.1:{front_port}", "--system-id", "bench", "--password", "bench",
             "--sessions", str(sessions), "--window", str(window), "--duration", str(duration),
             "--json", load_json, "--no-progress"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=duration + 60)
        cpu1 = cpu_seconds(front.pid)
        sim1 = cpu_seconds(sim.pid)
        machine1 = machine_cpu_seconds()
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.monotonic() - wall0
        load_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
        if not os.path.exists(load_json):
            raise RuntimeError(f"esme-load failed: {load.stderr.decode()[-500:]}")
        with open(load_json) as f:
            result = json.load(f)
    finally:
        stop(front)
        stop(sim)
    accepted = result.get("accepted", 0)
    return {
        "submit_per_s": result.get("submit_per_s", 0.0),
        "sent": result.get("sent", 0),
        "accepted": accepted,
        "errors": result.get("errors", {}),
        "latency_us": {k: result.get("latency_us", {}).get(k) for k in ("p50", "p99", "p999", "max")},
        "cpu_s_per_million": (cpu1 - cpu0) / accepted * 1e6 if accepted else None,
        "machine_cpu_s_per_million": (machine1 - machine0) / accepted * 1e6 if accepted else None,
        # Share of one core each process used over the run: the one near 1.0 limits the rate.
        "core_share": {"front": round((cpu1 - cpu0) / wall, 3), "smsc_sim": round((sim1 - sim0) / wall, 3),
                       "esme_load": round(load_cpu / wall, 3)},
        "sessions": sessions,
        "window": window,
        "duration_s": result.get("duration_s", duration),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"),
                    help="directory with smpp-router, byte-relay, smsc-sim, esme-load")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per scenario (default 5)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per scenario; the median is kept")
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--pin", action="store_true",
                    help="pin esme-load and smsc-sim to CPU 0 (default: the kernel places them; "
                         "the router or relay always runs pinned to the last CPU)")
    ap.add_argument("--note-all", action="store_true",
                    help="run the router with [correlation] note = \"all\" (every message id "
                         "noted, for query_sm/cancel_sm/replace_sm of messages without receipts); "
                         "default: note = \"receipts\", as esme-load asks for none here")
    args = ap.parse_args()
    n = os.cpu_count() or 1
    # The router or relay gets its own core; esme-load and smsc-sim share the other one.
    every = f"0-{n - 1}"
    tools = "0" if args.pin else every
    cpus = {"front": str(n - 1), "load": tools, "sim": tools}
    shapes = {"": (4, 256), "_w1": (64, 1)}
    scenarios = {}
    for suffix, (sessions, window) in shapes.items():
        for kind, name in (("router", "router_kernel"), ("relay", "relay")):
            runs = [run_scenario(args.bin, kind, sessions, window, args.duration, cpus,
                                 "all" if args.note_all else "receipts")
                    for _ in range(args.repeat)]
            runs.sort(key=lambda r: r["submit_per_s"])
            best = runs[len(runs) // 2]
            scenarios[name + suffix] = best
            lat = best["latency_us"]
            print(f"{name + suffix:18s} {best['submit_per_s']:12.0f} submit_sm/s  "
                  f"p50 {lat['p50']} us  p99 {lat['p99']} us  p99.9 {lat['p999']} us  "
                  f"cpu {best['cpu_s_per_million'] or 0:.3f} s/M  "
                  f"machine {best['machine_cpu_s_per_million'] or 0:.3f} s/M  "
                  f"core share front {best['core_share']['front']:.2f} "
                  f"smsc-sim {best['core_share']['smsc_sim']:.2f} "
                  f"esme-load {best['core_share']['esme_load']:.2f}", flush=True)
    def ratio(a, b):
        return scenarios[a]["submit_per_s"] / scenarios[b]["submit_per_s"] if scenarios[b]["submit_per_s"] else None
    out = {
        "scenarios": scenarios,
        "ratio_router_relay": ratio("router_kernel", "relay"),
        "ratio_router_relay_w1": ratio("router_kernel_w1", "relay_w1"),
    }
    print(f"router/relay bulk {out['ratio_router_relay']:.3f}   latency-bound {out['ratio_router_relay_w1']:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
