#!/usr/bin/env python3
"""End-to-end benchmark: the router (one worker) against a byte relay baseline (one thread),
driven by the same esme-load and smsc-sim, and the router on DPDK (router_dpdk: the router,
esme-load and smsc-sim each on its own DPDK EAL, over net_memif, no kernel on the path; root
needed, else reported as not available), in two load shapes:

  bulk           4 sessions x window 256, as fast as possible
  latency-bound  64 sessions x window 1

Prints routed submit_sm/s, latency percentiles and CPU seconds per million messages for each
scenario and the ratios router/relay; --json FILE writes them. With --repeat N the scenarios
run interleaved N times and each ratio is the median of the N paired ratios. Loopback only; every process is
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


# The router's config in both scenarios (kernel sockets and DPDK); what differs is passed in:
# the listener, the upstream's address, lines before [correlation] and sections after it.
ROUTER_CONFIG = """
[router]
listen = ["{listen}"]
workers = {workers}
{before_correlation}[correlation]
note = "{note}"
{after_correlation}[[tenants]]
name = "bench"
system_id = "bench"
password = "bench"
window = 65535
max_binds = 128
[[upstreams]]
name = "sim"
address = "{sim_address}"
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

# Kernel scenario, before [correlation].
KERNEL_NOTE_COMMENT = """\
# esme-load asks for no receipts here: message ids are noted only for receipts (the table
# insert, a cache miss per message, is measured separately: correlation_bench, and
# --note-all runs the router with note = "all").
"""


def router_config(listen, workers, sim_address, note, up_window, up_binds, before_correlation="",
                  after_correlation=""):
    return ROUTER_CONFIG.format(listen=listen, workers=workers, sim_address=sim_address, note=note,
                                up_window=up_window, up_binds=up_binds,
                                before_correlation=before_correlation,
                                after_correlation=after_correlation)


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
            f.write(router_config(listen=f"127.0.0.1:{front_port}", workers=f'[{cpus["front"]}]',
                                  sim_address=f"127.0.0.1:{sim_port}", note=note,
                                  up_window=min(65535, max(1024, sessions * window)), up_binds=4,
                                  before_correlation=KERNEL_NOTE_COMMENT))
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


# DPDK scenario: the [router] lines after workers, and the sections after [correlation].
DPDK_ROUTER_LINES = """\
transport = "dpdk"
[admin]
enabled = false
"""
DPDK_SECTIONS = """\
# Two memif ports, one per peer (memif is point to point): ESMEs on 10.10.0.0/24, the SMSC on
# 10.11.0.0/24. The router is the memif server of both.
[dpdk]
no_huge = true
memory_mb = 512
file_prefix = "{prefix}-router"
vdevs = ["net_memif0,role=server,socket={tmp}/esme.sock,socket-abstract=no",
         "net_memif1,role=server,socket={tmp}/sim.sock,socket-abstract=no"]
port = "net_memif0"
ipv4 = "10.10.0.1/24"
tcp_connections = 256
[[dpdk.extra_ports]]
port = "net_memif1"
ipv4 = "10.11.0.1/24"
"""


def wait_text(path, text, proc, timeout):
    """Waits until `text` appears in the file `path` (a child's stderr); False when the child
    exited or `timeout` passed first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(path, errors="replace") as f:
            if text in f.read():
                return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def tail(path, lines=5):
    with open(path, errors="replace") as f:
        return " | ".join(f.read().strip().splitlines()[-lines:])


def run_dpdk_scenario(bindir, sessions, window, duration, cpus, note="receipts"):
    """The router on DPDK (one worker) between esme-load and smsc-sim, each on DPDK too, over
    net_memif: no kernel on the path. {"available": False, "reason": ...} when DPDK cannot run."""
    if os.geteuid() != 0:
        return {"available": False, "reason": "not root: the EAL needs root here (memif sockets, "
                                              "/var/run/dpdk)"}
    tmp = tempfile.mkdtemp(prefix="smpp-e2e-dpdk-")
    prefix = f"e2e-{os.getpid()}-{sessions}x{window}"
    up_binds = 4
    cfg = os.path.join(tmp, "router.toml")
    with open(cfg, "w") as f:
        f.write(router_config(listen="0.0.0.0:2775", workers=f'[{cpus["front"]}]',
                              sim_address="10.11.0.2:2776", note=note,
                              up_window=min(65535, max(1024, sessions * window)), up_binds=up_binds,
                              before_correlation=DPDK_ROUTER_LINES,
                              after_correlation=DPDK_SECTIONS.format(prefix=prefix, tmp=tmp)))
    sim_json = os.path.join(tmp, "sim.json")
    load_json = os.path.join(tmp, "load.json")
    logs = {k: os.path.join(tmp, k + ".log") for k in ("router", "sim", "load")}
    tool = ["--dpdk-no-huge", "--dpdk-memory-mb", "256"]
    procs = []
    try:
        with open(logs["router"], "w") as err:
            front = subprocess.Popen([os.path.join(bindir, "smpp-router"), "--config", cfg],
                                     stdout=subprocess.DEVNULL, stderr=err)
        procs.append(front)
        if not wait_text(logs["router"], "listening on", front, 30):
            return {"available": False, "reason": "smpp-router on DPDK did not start: " + tail(logs["router"])}
        with open(logs["sim"], "w") as err:
            sim = subprocess.Popen(
                [os.path.join(bindir, "smsc-sim"), "--listen", "10.11.0.2:2776", "--json", sim_json,
                 "--dpdk-vdev", f"net_memif0,role=client,socket={tmp}/sim.sock,socket-abstract=no",
                 "--dpdk-ip", "10.11.0.2/24", "--dpdk-lcore", cpus["sim_lcore"],
                 "--dpdk-file-prefix", prefix + "-sim"] + tool,
                stdout=subprocess.DEVNULL, stderr=err)
        procs.append(sim)
        if not wait_text(logs["sim"], "listening on", sim, 30):
            return {"available": False, "reason": "smsc-sim on DPDK did not start: " + tail(logs["sim"])}
        # The router's upstream binds: smsc-sim writes its counters to sim.json on SIGUSR1.
        end = time.monotonic() + 30
        binds = 0
        while binds < up_binds and time.monotonic() < end:
            sim.send_signal(signal.SIGUSR1)
            time.sleep(0.2)
            try:
                with open(sim_json) as f:
                    binds = json.load(f).get("binds", 0)
            except (OSError, ValueError):
                pass
        if binds < up_binds:
            return {"available": False, "reason": f"the router's {up_binds} upstream binds did not "
                                                  f"come up over memif: {tail(logs['router'])}"}
        cpu0 = cpu_seconds(front.pid)
        sim0 = cpu_seconds(sim.pid)
        machine0 = machine_cpu_seconds()
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall0 = time.monotonic()
        with open(logs["load"], "w") as err:
            subprocess.run(
                [os.path.join(bindir, "esme-load"), "--connect", "10.10.0.1:2775",
                 "--system-id", "bench", "--password", "bench", "--sessions", str(sessions),
                 "--window", str(window), "--duration", str(duration), "--json", load_json,
                 "--no-progress",
                 "--dpdk-vdev", f"net_memif0,role=client,socket={tmp}/esme.sock,socket-abstract=no",
                 "--dpdk-ip", "10.10.0.2/24", "--dpdk-lcore", cpus["load_lcore"],
                 "--dpdk-file-prefix", prefix + "-load"] + tool,
                stdout=subprocess.DEVNULL, stderr=err, timeout=duration + 60)
        cpu1 = cpu_seconds(front.pid)
        sim1 = cpu_seconds(sim.pid)
        machine1 = machine_cpu_seconds()
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.monotonic() - wall0
        load_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
        if not os.path.exists(load_json):
            return {"available": False, "reason": "esme-load on DPDK failed: " + tail(logs["load"])}
        with open(load_json) as f:
            result = json.load(f)
    finally:
        for p in reversed(procs):
            stop(p)
    accepted = result.get("accepted", 0)
    machine = (machine1 - machine0) / accepted * 1e6 if accepted else None
    return {
        "available": True,
        "submit_per_s": result.get("submit_per_s", 0.0),
        "sent": result.get("sent", 0),
        "accepted": accepted,
        "errors": result.get("errors", {}),
        "latency_us": {k: result.get("latency_us", {}).get(k) for k in ("p50", "p99", "p999", "max")},
        # Poll-mode processes spin whatever the load: only the whole machine's CPU is a fair
        # comparison, so cpu_s_per_million is the machine's here.
        "cpu_s_per_million": machine,
        "machine_cpu_s_per_million": machine,
        "router_cpu_s_per_million": (cpu1 - cpu0) / accepted * 1e6 if accepted else None,
        "core_share": {"front": round((cpu1 - cpu0) / wall, 3), "smsc_sim": round((sim1 - sim0) / wall, 3),
                       "esme_load": round(load_cpu / wall, 3)},
        "sessions": sessions,
        "window": window,
        "duration_s": result.get("duration_s", duration),
        "transport": "dpdk net_memif (esme-load, smsc-sim and the router each their own EAL)",
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
    ap.add_argument("--no-dpdk", action="store_true",
                    help="skip the router_dpdk scenarios (the router, esme-load and smsc-sim on "
                         "DPDK over net_memif; they need root)")
    args = ap.parse_args()
    n = os.cpu_count() or 1
    # The router or relay gets its own core; esme-load and smsc-sim share the other one.
    every = f"0-{n - 1}"
    tools = "0" if args.pin else every
    # DPDK tools are pinned to one CPU each (an EAL lcore): the ones the router does not use.
    others = [c for c in range(n) if c != n - 1] or [0]
    cpus = {"front": str(n - 1), "load": tools, "sim": tools,
            "load_lcore": str(others[0]), "sim_lcore": str(others[1 % len(others)])}
    shapes = {"": (4, 256), "_w1": (64, 1)}
    kinds = [("router", "router_kernel"), ("relay", "relay")]
    if not args.no_dpdk:
        kinds.append(("dpdk", "router_dpdk"))
    scenarios = {}
    # Runs are interleaved (router, relay, dpdk, router, relay, ...) so that every repeat
    # measures each scenario under the same conditions of a shared machine; each ratio is
    # the median of the per-repeat ratios (paired), and is also given as the ratio of the
    # medians.
    runs_of = {}
    for suffix, (sessions, window) in shapes.items():
        for _ in range(args.repeat):
            for kind, name in kinds:
                note = "all" if args.note_all else "receipts"
                if kind == "dpdk":
                    r = run_dpdk_scenario(args.bin, sessions, window, args.duration, cpus, note)
                else:
                    r = run_scenario(args.bin, kind, sessions, window, args.duration, cpus, note)
                runs_of.setdefault(name + suffix, []).append(r)
        for kind, name in kinds:
            runs = runs_of[name + suffix]
            unavailable = [r for r in runs if not r.get("available", True)]
            if unavailable:
                scenarios[name + suffix] = unavailable[0]
                print(f"{name + suffix:18s} not available: {unavailable[0]['reason']}", flush=True)
                continue
            ordered = sorted(runs, key=lambda r: r["submit_per_s"])
            best = dict(ordered[len(ordered) // 2])
            best["runs_submit_per_s"] = [round(r["submit_per_s"]) for r in runs]
            scenarios[name + suffix] = best
            lat = best["latency_us"]
            print(f"{name + suffix:18s} {best['submit_per_s']:12.0f} submit_sm/s  "
                  f"p50 {lat['p50']} us  p99 {lat['p99']} us  p99.9 {lat['p999']} us  "
                  f"cpu {best['cpu_s_per_million'] or 0:.3f} s/M  "
                  f"machine {best['machine_cpu_s_per_million'] or 0:.3f} s/M  "
                  f"core share front {best['core_share']['front']:.2f} "
                  f"smsc-sim {best['core_share']['smsc_sim']:.2f} "
                  f"esme-load {best['core_share']['esme_load']:.2f}  "
                  f"runs {best['runs_submit_per_s']}", flush=True)

    def usable(name):
        return name in scenarios and scenarios[name].get("available", True)

    def median(values):
        values = sorted(values)
        n = len(values)
        return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2

    def ratio(a, b, key=lambda r: r["submit_per_s"]):
        """The median of the per-repeat ratios a/b (runs of one repeat ran back to back)."""
        if not (usable(a) and usable(b)):
            return None
        pairs = [key(x) / key(y) for x, y in zip(runs_of[a], runs_of[b]) if key(y)]
        return median(pairs) if pairs else None

    def ratio_of_medians(a, b, key=lambda r: r["submit_per_s"]):
        if not (usable(a) and usable(b)) or not key(scenarios[b]):
            return None
        return key(scenarios[a]) / key(scenarios[b])
    p99 = lambda r: r["latency_us"]["p99"]  # noqa: E731
    out = {
        "scenarios": scenarios,
        "ratio_router_relay": ratio("router_kernel", "relay"),
        "ratio_router_relay_w1": ratio("router_kernel_w1", "relay_w1"),
        # DPDK against the kernel router, same shapes: rate (higher is better) and p99 (lower).
        "ratio_dpdk_kernel": ratio("router_dpdk", "router_kernel"),
        "ratio_dpdk_kernel_w1": ratio("router_dpdk_w1", "router_kernel_w1"),
        "ratio_dpdk_kernel_p99": ratio("router_dpdk", "router_kernel", p99),
        "ratio_dpdk_kernel_w1_p99": ratio("router_dpdk_w1", "router_kernel_w1", p99),
        "ratio_of_medians": {
            "router_relay": ratio_of_medians("router_kernel", "relay"),
            "router_relay_w1": ratio_of_medians("router_kernel_w1", "relay_w1"),
            "dpdk_kernel": ratio_of_medians("router_dpdk", "router_kernel"),
            "dpdk_kernel_w1": ratio_of_medians("router_dpdk_w1", "router_kernel_w1"),
        },
    }
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    rom = out["ratio_of_medians"]
    print(f"router/relay bulk {fmt(out['ratio_router_relay'])}   "
          f"latency-bound {fmt(out['ratio_router_relay_w1'])}   (median of paired runs; "
          f"ratio of medians {fmt(rom['router_relay'])} / {fmt(rom['router_relay_w1'])})")
    if not args.no_dpdk:
        print(f"dpdk/kernel router: bulk rate {fmt(out['ratio_dpdk_kernel'])}  "
              f"p99 {fmt(out['ratio_dpdk_kernel_p99'])};  latency-bound rate "
              f"{fmt(out['ratio_dpdk_kernel_w1'])}  p99 {fmt(out['ratio_dpdk_kernel_w1_p99'])}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
