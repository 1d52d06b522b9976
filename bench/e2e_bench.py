#!/usr/bin/env python3
"""End-to-end benchmark: the router (one worker) against a byte relay baseline (one thread),
driven by the same esme-load and smsc-sim, and the router on DPDK (router_dpdk: the router,
esme-load and smsc-sim each on its own DPDK EAL, over net_memif, no kernel on the path; root
needed, else reported as not available), in these load shapes (--shapes picks some):

  bulk            4 sessions x window 256, as fast as possible, no receipts asked
  latency-bound   64 sessions x window 1
  bulk-dlr        bulk, every submit_sm asks for a receipt (esme-load --dlr: transceivers,
                  every deliver_sm answered, each receipt matched to its submit_sm by id);
                  smsc-sim sends each receipt right after the response (--dlr-delay-ms 0)
  bulk-dlr-100ms  bulk-dlr with each receipt 100 ms after the response (--dlr-delay-ms 100)
  default-config  bulk against the router on config/router.toml as shipped (its upstream: 2
                  binds, the default window); the byte relay carries the same traffic

The byte relay always carries the same traffic as the router (the same esme-load and smsc-sim
flags). Scenarios per shape: router_kernel (the router on kernel sockets), relay, and
router_dpdk where the shape runs on DPDK (bulk, latency-bound, bulk-dlr); in bulk and the
receipt shapes also router_kernel_note_all, the router with [correlation] note = "all" (the
default), beside router_kernel with note = "receipts" (esme-load's messages in the receipt
shapes all ask for one, so both modes note every id there). Scenario names carry the shape's
suffix: router_kernel, router_kernel_w1, router_kernel_dlr, router_kernel_dlr100,
router_kernel_default, and so on.

Why the configurations differ from config/router.toml: in every shape but default-config the
upstream has 4 binds, each with a window of at least the ESME's whole window (4 x 256), so the
SMSC side never throttles and the figure is the router's own path; the tenant's window is
65535 and note = "receipts" unless said (both as explained above). default-config takes
config/router.toml and changes only what cannot stay: the listener and the upstream's port
(free loopback ports, the defaults may be taken), workers (one, pinned to the last CPU like
every router here, instead of "auto") and the admin listener (a free port). The tenant's return
path (deliver_window, hold_max) keeps its defaults in every shape. Every kernel router serves
/metrics on a free loopback port; its receipt counters are read after each run.

Prints per scenario submit_sm/s, latency percentiles, CPU seconds per million accepted
submit_sm (the router or relay process), and in the receipt shapes receipts/s (matched over the
span they arrived in), receipts matched of accepted, duplicates, unknown, receipts refused
(smsc-sim's count of receipts answered with an error status) and the receipt latency (submit_sm
sent to its receipt at esme-load); in default-config the requests answered ESME_RTHROTTLED. Then
the ratios router/relay. With --repeat N the scenarios run interleaved N times and each ratio is
the median of the N paired ratios; --json FILE writes everything.

--carrier-numbers N (with --carrier-prefixes M, default 1000000) adds router_kernel_carrier to
the bulk shape: the same router with carrier routing active, [[networks]] red (4479) and blue
(4478), a number portability table of N numbers (4479 followed by 8 digits, every other one
ported to blue: esme-load's destinations are 4479 and 8 digits, so up to 100 M of them are in
the table), two upstreams on the same smsc-sim, each with a price list of M prefixes (4479 and 6
digits): sim-a with the 4 binds of router_kernel and cheaper for every prefix, sim-b with one
bind that stays idle; every destination routed by network with mode "cheapest" (the number
looked up in the table, both lists looked up, then sim-a's binds as in router_kernel). The files are written once into
--carrier-dir (default /tmp/smpp-e2e-carrier) and kept; the router builds its tables before it
listens (up to --carrier-start-s, default 600). Its baseline is router_kernel_prefix: the same
two upstreams and binds (the same connections, opened in the same order, so each ESME session
lands on the same bind), without networks, table or price lists, every destination by prefix
in failover order (router_kernel's single upstream is not a fair baseline: which bind each
session starts on depends on the connection ids). It prints carrier/prefix-only: the rate of
router_kernel_carrier over router_kernel_prefix, the median of the runs' paired ratios.

--soak SECONDS runs the soak instead: the router (note = "all", the default) with a correlation
table of --soak-capacity ids, esme-load at a fixed --soak-rate with a receipt asked for every
message, for SECONDS (longer than capacity / rate, so the table turns over many times), the
router's RSS sampled every second; it passes when every accepted message got exactly one receipt,
none was refused, the rate was held and RSS stayed flat, and exits 1 otherwise.

Loopback only; every process is started and stopped by this script, each run bounded by
--duration (plus bounded waits for binds and receipts).
"""
import argparse
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_CONFIG = os.path.join(ROOT, "config", "router.toml")
# config/router.toml's tenant: system_id and password ("demo", the example password there).
DEFAULT_CONFIG_LOGIN = ("demo", "demo")


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


def rss_kib(pid):
    """The process's resident set (VmRSS, KiB); None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# ---- load shapes ------------------------------------------------------------------------------


class Shape:
    """One load shape: esme-load's sessions x window, receipts asked or not and smsc-sim's delay
    for them, which router variants run it (name, [correlation] note; None: the note of
    config/router.toml), whether it runs on DPDK too, and whether the router runs on
    config/router.toml instead of the bench's configuration."""

    def __init__(self, name, suffix, sessions, window, dlr_delay_ms=None, note_all_variant=False,
                 dpdk=False, default_config=False):
        self.name = name
        self.suffix = suffix
        self.sessions = sessions
        self.window = window
        self.dlr_delay_ms = dlr_delay_ms
        self.note_all_variant = note_all_variant
        self.dpdk = dpdk
        self.default_config = default_config
        self.carrier = None  # CarrierFiles when --carrier-numbers is given (bulk only)

    @property
    def dlr(self):
        return self.dlr_delay_ms is not None

    def load_args(self, duration):
        if not self.dlr:
            return []
        # Room to match every receipt of the fastest run here (the relay: 1-1.5 M/s with
        # receipts on this machine): 4 M ids per second of load (32 octets each, taken by
        # esme-load before its first submit_sm); ids beyond it would be reported untracked.
        # Silence for 1 s after the last receipt ends the wait for the rest.
        track = min(50_000_000, max(1_000_000, int(4e6 * duration)))
        return ["--dlr", "--dlr-wait", "1", "--dlr-track", str(track)]

    def sim_args(self):
        return ["--dlr-delay-ms", str(self.dlr_delay_ms)] if self.dlr else []

    def router_variants(self, note_all):
        """[(scenario name without suffix, note)]."""
        if self.default_config:
            return [("router_kernel", None)]
        main = [("router_kernel", "all" if note_all else "receipts")]
        if self.note_all_variant and not note_all:
            main.append(("router_kernel_note_all", "all"))
        if self.carrier:
            main.append(("router_kernel_prefix", "all" if note_all else "receipts"))
            main.append(("router_kernel_carrier", "all" if note_all else "receipts"))
        return main


SHAPES = [
    Shape("bulk", "", 4, 256, note_all_variant=True, dpdk=True),
    Shape("latency-bound", "_w1", 64, 1, dpdk=True),
    Shape("bulk-dlr", "_dlr", 4, 256, dlr_delay_ms=0, note_all_variant=True, dpdk=True),
    Shape("bulk-dlr-100ms", "_dlr100", 4, 256, dlr_delay_ms=100, note_all_variant=True),
    Shape("default-config", "_default", 4, 256, default_config=True),
]
SHAPE_BY_NAME = {s.name: s for s in SHAPES}


# ---- router configurations --------------------------------------------------------------------

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
{upstreams}{route}"""
# Every destination to `upstreams` (a TOML list of names), in failover order.
CATCH_ALL_ROUTE = """[[routes]]
tenant = "*"
destination_prefix = ""
upstreams = [{upstreams}]
"""
# One upstream on the smsc-sim, its binds enough for the load's window.
UPSTREAM_SECTION = """[[upstreams]]
name = "{name}"
address = "{sim_address}"
{extra}[[upstreams.binds]]
system_id = "router"
password = "router"
type = "transceiver"
window = {up_window}
count = {up_binds}
"""

# Kernel scenario, before [correlation].
KERNEL_NOTE_COMMENT = """\
# esme-load asks for no receipts here: message ids are noted only for receipts (the table
# insert, a cache miss per message, is measured separately: correlation_bench, and
# router_kernel_note_all runs the router with note = "all").
"""
KERNEL_DLR_COMMENT = """\
# esme-load asks for a receipt on every message: every id is noted in either note mode.
"""
ADMIN_SECTION = """\
[admin]
enabled = true
listen = "127.0.0.1:{port}"
"""
# --store-sync: a [store] section for the bench's router configurations (empty: the router's
# default, sync = "batch", its store in the run's temporary directory).
STORE_SECTION = ""


# router_kernel_carrier: the same tenant and load, routed by network (number portability) with
# mode "cheapest" over two upstreams on the same smsc-sim: sim-a with router_kernel's 4 binds,
# cheaper for every destination, and sim-b with one bind that stays idle.
# (ROUTER_CONFIG up to its first [[upstreams]], then these.)
CARRIER_SECTIONS = """{upstreams}[[networks]]
name = "red"
prefixes = ["4479"]
[[networks]]
name = "blue"
prefixes = ["4478"]
[[number_portability]]
file = "{dir}/ported-{numbers}.csv"
[[routes]]
tenant = "*"
network = "red"
mode = "cheapest"
upstreams = ["sim-a", "sim-b"]
[[routes]]
tenant = "*"
network = "blue"
mode = "cheapest"
upstreams = ["sim-b", "sim-a"]
"""


class CarrierFiles:
    """The portability table and the two price lists of router_kernel_carrier, written once."""

    def __init__(self, directory, numbers, prefixes, start_s):
        if not 0 < numbers <= 100_000_000 or not 0 < prefixes <= 1_000_000:
            raise ValueError("--carrier-numbers 1..100000000, --carrier-prefixes 1..1000000")
        self.dir, self.numbers, self.prefixes, self.start_s = directory, numbers, prefixes, start_s
        os.makedirs(directory, exist_ok=True)
        ported = os.path.join(directory, f"ported-{numbers}.csv")
        if not os.path.exists(ported):
            # 4479 and 8 digits, in blocks of 10,000: every other number ported to blue.
            block = "".join(f"4479PPPP{k:04d},{'blue' if k % 2 else 'red'}\n"
                            for k in range(10_000)).encode()
            with open(ported + ".tmp", "wb") as f:
                for hi in range((numbers + 9_999) // 10_000):
                    text = block.replace(b"PPPP", b"%04d" % hi)
                    left = numbers - hi * 10_000
                    if left < 10_000:
                        text = b"".join(text.splitlines(keepends=True)[:left])
                    f.write(text)
            os.replace(ported + ".tmp", ported)
        for name, price in (("prices-a.csv", "0.010"), ("prices-b.csv", "0.020")):
            # 4479 and 6 digits; sim-a is cheaper for every prefix, so all traffic takes its 4
            # binds as router_kernel's takes its upstream's, after both lists are looked up.
            step = max(1, 1_000_000 // prefixes)
            with open(os.path.join(directory, name), "w") as f:
                f.write("".join(f"4479{p:06d},{price}\n" for p in range(0, step * prefixes, step)))

    def config(self, listen, workers, sim_address, note, up_window, before_correlation,
               prefix_only=False):
        upstreams = "".join(
            UPSTREAM_SECTION.format(
                name=f"sim-{x}", sim_address=sim_address,
                extra="" if prefix_only else f'price_list = "{self.dir}/prices-{x}.csv"\n',
                up_window=up_window, up_binds=binds)
            for x, binds in (("a", 4), ("b", 1)))
        head = ROUTER_CONFIG[:ROUTER_CONFIG.index("{upstreams}")]
        # router_kernel_prefix: the same upstreams and binds (the same connections, in the same
        # order), without price lists, every destination by prefix in failover order.
        tail = (upstreams + CATCH_ALL_ROUTE.format(upstreams='"sim-a", "sim-b"') if prefix_only
                else CARRIER_SECTIONS.format(dir=self.dir, numbers=self.numbers,
                                             upstreams=upstreams) +
                CATCH_ALL_ROUTE.format(upstreams='"sim-a"'))
        return head.format(listen=listen, workers=workers, note=note,
                           before_correlation=before_correlation, after_correlation="") + tail


def router_config(listen, workers, sim_address, note, up_window, up_binds, before_correlation="",
                  after_correlation=""):
    upstream = UPSTREAM_SECTION.format(name="sim", sim_address=sim_address, extra="",
                                       up_window=up_window, up_binds=up_binds)
    return ROUTER_CONFIG.format(listen=listen, workers=workers, note=note, upstreams=upstream,
                                route=CATCH_ALL_ROUTE.format(upstreams='"sim"'),
                                before_correlation=before_correlation,
                                after_correlation=after_correlation)


def default_router_config(listen, worker_cpu, sim_address, admin_port):
    """config/router.toml with its listener, workers, upstream address and admin listener
    replaced (and nothing else): see the docstring for why each."""
    with open(DEFAULT_CONFIG) as f:
        text = f.read()
    for pattern, replacement in ((r'^listen = \[.*\]$', f'listen = ["{listen}"]'),
                                 (r'^workers = .*$', f"workers = [{worker_cpu}]"),
                                 (r'^address = "127\.0\.0\.1:2776"$', f'address = "{sim_address}"')):
        text, n = re.subn(pattern, lambda _m, r=replacement: r, text, flags=re.M)
        if n != 1:
            raise RuntimeError(f"{DEFAULT_CONFIG}: expected one line matching {pattern!r}, found "
                               f"{n}: the default-config shape needs updating")
    if re.search(r"^\[admin\]", text, flags=re.M):
        raise RuntimeError(f"{DEFAULT_CONFIG} has an [admin] section now: the default-config "
                           "shape needs updating")
    return text + "\n# The bench's admin listener (a free port):\n" + ADMIN_SECTION.format(
        port=admin_port)


# ---- the router's metrics ---------------------------------------------------------------------

# The /metrics samples kept: the return path's (receipts, correlation, held messages) and the
# accepted submit_sm they follow.
METRIC_KEPT = re.compile(r"receipt|correlation|hold|held|queue_depth|_mo_|unmatched|evict|"
                         r"accepted_total")
METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def wait_binds_up(port, timeout=15.0):
    """Until the router's /metrics show every configured upstream bind bound (a fixed pause was
    not always enough on a loaded machine: a run whose binds were still down measured nothing but
    ESME_RMSGQFUL). Raises RuntimeError after `timeout` seconds."""
    end = time.monotonic() + timeout
    up = configured = None
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2.0) as r:
                text = r.read().decode(errors="replace")
            up = sum(float(m.group(3)) for m in map(METRIC_LINE.match, text.splitlines())
                     if m and m.group(1) == "smpp_upstream_binds_up")
            configured = sum(float(m.group(3)) for m in map(METRIC_LINE.match, text.splitlines())
                             if m and m.group(1) == "smpp_upstream_binds_configured")
            if configured and up >= configured:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"upstream binds not up after {timeout:.0f} s ({up} of {configured})")


def scrape_metrics(port, timeout=2.0):
    """{sample name with labels: value} of the router's /metrics that METRIC_KEPT matches;
    {"error": ...} when it cannot be read."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
            text = r.read().decode(errors="replace")
    except OSError as e:
        return {"error": str(e)}
    out = {}
    for line in text.splitlines():
        m = METRIC_LINE.match(line)
        if m and METRIC_KEPT.search(m.group(1)):
            try:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
            except ValueError:
                pass
    return out


# ---- one run ----------------------------------------------------------------------------------


def load_figures(result, shape):
    """What a run reports from esme-load's JSON."""
    accepted = result.get("accepted", 0)
    errors = result.get("errors", {})
    out = {
        "submit_per_s": result.get("submit_per_s", 0.0),
        "sent": result.get("sent", 0),
        "accepted": accepted,
        "errors": errors,
        "unanswered": result.get("unanswered", 0),
        "latency_us": {k: result.get("latency_us", {}).get(k) for k in ("p50", "p99", "p999", "max")},
        "sessions": shape.sessions,
        "window": shape.window,
        "duration_s": result.get("duration_s"),
    }
    if shape.default_config:
        sent = result.get("sent", 0)
        throttled = errors.get("ESME_RTHROTTLED", 0)
        out["throttled"] = throttled
        out["throttled_share"] = throttled / sent if sent else None
    if shape.dlr:
        out["receipts"] = {
            "per_s": result.get("receipts_per_s", 0.0),
            "duration_s": result.get("receipt_duration_s", 0.0),
            "received": result.get("receipts", 0),
            "matched": result.get("receipts_matched", 0),
            "duplicate": result.get("receipts_duplicate", 0),
            "unknown": result.get("receipts_unknown", 0),
            "untracked": result.get("receipt_ids_untracked", 0),
            "latency_us": {k: result.get("receipt_latency_us", {}).get(k)
                           for k in ("p50", "p99", "p999", "max")},
        }
    return out


def sim_receipts(sim):
    """smsc-sim's receipt counters: refused = answered with an error status."""
    if sim is None:
        return {"error": "smsc-sim wrote no counters"}
    sent, acked, nacked = (sim.get(k, 0) for k in ("receipts_sent", "receipts_acked",
                                                   "receipts_nacked"))
    return {"sent": sent, "acked": acked, "refused": nacked,
            "unanswered": sent - acked - nacked, "dropped": sim.get("receipts_dropped", 0)}


def run_scenario(bindir, kind, shape, duration, cpus, note="receipts"):
    """One run of `shape` through the router on kernel sockets (kind "router") or the byte
    relay (kind "relay")."""
    sim_port, front_port = free_port(), free_port()
    admin_port = free_port()
    tmp = tempfile.mkdtemp(prefix="smpp-e2e-")
    sim_json = os.path.join(tmp, "sim.json")
    load_json = os.path.join(tmp, "load.json")
    system_id, password = ("bench", "bench")
    sim = subprocess.Popen(
        ["taskset", "-c", cpus["sim"], os.path.join(bindir, "smsc-sim"), "--listen",
         f"127.0.0.1:{sim_port}", "--json", sim_json] + shape.sim_args(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = None
    try:
        wait_port(sim_port)
        if kind != "relay":
            cfg = os.path.join(tmp, "router.toml")
            with open(cfg, "w") as f:
                if shape.default_config:
                    system_id, password = DEFAULT_CONFIG_LOGIN
                    f.write(default_router_config(f"127.0.0.1:{front_port}", cpus["front"],
                                                  f"127.0.0.1:{sim_port}", admin_port))
                elif kind in ("router_carrier", "router_prefix"):
                    f.write(shape.carrier.config(
                        listen=f"127.0.0.1:{front_port}", workers=f'[{cpus["front"]}]',
                        sim_address=f"127.0.0.1:{sim_port}", note=note,
                        up_window=min(65535, max(1024, shape.sessions * shape.window)),
                        before_correlation=ADMIN_SECTION.format(port=admin_port),
                        prefix_only=kind == "router_prefix"))
                else:
                    # Upstream binds: enough window for every session's window.
                    comment = KERNEL_DLR_COMMENT if shape.dlr else KERNEL_NOTE_COMMENT
                    f.write(router_config(
                        listen=f"127.0.0.1:{front_port}", workers=f'[{cpus["front"]}]',
                        sim_address=f"127.0.0.1:{sim_port}", note=note,
                        up_window=min(65535, max(1024, shape.sessions * shape.window)),
                        up_binds=4,
                        before_correlation=comment + ADMIN_SECTION.format(port=admin_port) +
                        STORE_SECTION))
            front = subprocess.Popen([os.path.join(bindir, "smpp-router"), "--config", cfg],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(tmp, "front.err"), "w"))
        else:
            front = subprocess.Popen(
                [os.path.join(bindir, "byte-relay"), "--listen", f"127.0.0.1:{front_port}",
                 "--upstream", f"127.0.0.1:{sim_port}", "--cpu", cpus["front"]],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # The carrier router builds its tables (100 M numbers: a minute or more) first.
            try:
                wait_port(front_port, shape.carrier.start_s if kind == "router_carrier" else 60.0)
            except RuntimeError as e:
                err = os.path.join(tmp, "front.err")
                raise RuntimeError(f"{kind}: {e}: {tail(err) if os.path.exists(err) else ''}") from e
            if kind == "relay":
                time.sleep(0.3)  # its upstream connection comes up
            else:
                wait_binds_up(admin_port)
            cpu0 = cpu_seconds(front.pid)
            sim0 = cpu_seconds(sim.pid)
            machine0 = machine_cpu_seconds()
            children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall0 = time.monotonic()
            load = subprocess.run(
                ["taskset", "-c", cpus["load"], os.path.join(bindir, "esme-load"), "--connect",
                 f"127.0.0.1:{front_port}", "--system-id", system_id, "--password", password,
                 "--sessions", str(shape.sessions), "--window", str(shape.window), "--duration",
                 str(duration), "--json", load_json, "--no-progress"] + shape.load_args(duration),
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=duration + 60)
            cpu1 = cpu_seconds(front.pid)
            sim1 = cpu_seconds(sim.pid)
            machine1 = machine_cpu_seconds()
            children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall = time.monotonic() - wall0
            load_cpu = ((children1.ru_utime + children1.ru_stime)
                        - (children0.ru_utime + children0.ru_stime))
            if kind != "relay":
                metrics = scrape_metrics(admin_port)
            result = read_json(load_json)
            if result is None:
                raise RuntimeError(f"esme-load failed: {load.stderr.decode()[-500:]}")
        finally:
            stop(front)
    finally:
        stop(sim)
    out = load_figures(result, shape)
    accepted = out["accepted"]
    out.update({
        "cpu_s_per_million": (cpu1 - cpu0) / accepted * 1e6 if accepted else None,
        "machine_cpu_s_per_million": (machine1 - machine0) / accepted * 1e6 if accepted else None,
        # Share of one core each process used over the run: the one near 1.0 limits the rate.
        "core_share": {"front": round((cpu1 - cpu0) / wall, 3),
                       "smsc_sim": round((sim1 - sim0) / wall, 3),
                       "esme_load": round(load_cpu / wall, 3)},
    })
    if shape.dlr:
        out["receipts"]["smsc_sim"] = sim_receipts(read_json(sim_json))
        out["receipts"]["refused"] = out["receipts"]["smsc_sim"].get("refused")
    if metrics is not None:
        out["router_metrics"] = metrics
    if note is not None and kind != "relay" and not shape.default_config:
        out["note"] = note
    return out


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


def run_dpdk_scenario(bindir, shape, duration, cpus, note="receipts"):
    """The router on DPDK (one worker) between esme-load and smsc-sim, each on DPDK too, over
    net_memif: no kernel on the path. {"available": False, "reason": ...} when DPDK cannot run."""
    if os.geteuid() != 0:
        return {"available": False, "reason": "not root: the EAL needs root here (memif sockets, "
                                              "/var/run/dpdk)"}
    tmp = tempfile.mkdtemp(prefix="smpp-e2e-dpdk-")
    prefix = f"e2e-{os.getpid()}-{shape.sessions}x{shape.window}{shape.suffix}"
    up_binds = 4
    cfg = os.path.join(tmp, "router.toml")
    with open(cfg, "w") as f:
        f.write(router_config(listen="0.0.0.0:2775", workers=f'[{cpus["front"]}]',
                              sim_address="10.11.0.2:2776", note=note,
                              up_window=min(65535, max(1024, shape.sessions * shape.window)),
                              up_binds=up_binds, before_correlation=DPDK_ROUTER_LINES,
                              after_correlation=DPDK_SECTIONS.format(prefix=prefix, tmp=tmp)))
    sim_json = os.path.join(tmp, "sim.json")
    load_json = os.path.join(tmp, "load.json")
    logs = {k: os.path.join(tmp, k + ".log") for k in ("router", "sim", "load")}
    tool = ["--dpdk-no-huge", "--dpdk-memory-mb", "256"]
    procs = []
    sim = None
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
                 "--dpdk-file-prefix", prefix + "-sim"] + tool + shape.sim_args(),
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
            binds = (read_json(sim_json) or {}).get("binds", 0)
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
                 "--system-id", "bench", "--password", "bench", "--sessions", str(shape.sessions),
                 "--window", str(shape.window), "--duration", str(duration), "--json", load_json,
                 "--no-progress",
                 "--dpdk-vdev", f"net_memif0,role=client,socket={tmp}/esme.sock,socket-abstract=no",
                 "--dpdk-ip", "10.10.0.2/24", "--dpdk-lcore", cpus["load_lcore"],
                 "--dpdk-file-prefix", prefix + "-load"] + tool + shape.load_args(duration),
                stdout=subprocess.DEVNULL, stderr=err, timeout=duration + 60)
        cpu1 = cpu_seconds(front.pid)
        sim1 = cpu_seconds(sim.pid)
        machine1 = machine_cpu_seconds()
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.monotonic() - wall0
        load_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
        result = read_json(load_json)
        if result is None:
            return {"available": False, "reason": "esme-load on DPDK failed: " + tail(logs["load"])}
    finally:
        for p in reversed(procs):
            stop(p)
    out = load_figures(result, shape)
    accepted = out["accepted"]
    machine = (machine1 - machine0) / accepted * 1e6 if accepted else None
    out.update({
        "available": True,
        # Poll-mode processes spin whatever the load: only the whole machine's CPU is a fair
        # comparison, so cpu_s_per_million is the machine's here.
        "cpu_s_per_million": machine,
        "machine_cpu_s_per_million": machine,
        "router_cpu_s_per_million": (cpu1 - cpu0) / accepted * 1e6 if accepted else None,
        "core_share": {"front": round((cpu1 - cpu0) / wall, 3), "smsc_sim": round((sim1 - sim0) / wall, 3),
                       "esme_load": round(load_cpu / wall, 3)},
        "transport": "dpdk net_memif (esme-load, smsc-sim and the router each their own EAL)",
        "note": note,
    })
    if shape.dlr:
        # smsc-sim wrote its counters on exit (SIGTERM above).
        out["receipts"]["smsc_sim"] = sim_receipts(read_json(sim_json))
        out["receipts"]["refused"] = out["receipts"]["smsc_sim"].get("refused")
    return out


# ---- ratios -----------------------------------------------------------------------------------


def median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def submit_rate(r):
    return r["submit_per_s"]


def p99(r):
    return r["latency_us"]["p99"]


def receipt_rate(r):
    return r["receipts"]["per_s"]


def receipt_p99(r):
    return r["receipts"]["latency_us"]["p99"]


def cpu_per_million(r):
    return r["cpu_s_per_million"]


class Results:
    """Every run of every scenario, in the order they ran; the median run per scenario; ratios
    as the median of paired runs (the runs of one repeat ran back to back)."""

    def __init__(self):
        self.runs_of = {}
        self.scenarios = {}

    def usable(self, name):
        return name in self.scenarios and self.scenarios[name].get("available", True)

    def ratio(self, a, b, key=submit_rate):
        """The median of the per-repeat ratios a/b; None when either is missing or a key is
        zero or unknown."""
        if not (self.usable(a) and self.usable(b)):
            return None
        pairs = []
        for x, y in zip(self.runs_of[a], self.runs_of[b]):
            kx, ky = key(x), key(y)
            if kx is not None and ky:
                pairs.append(kx / ky)
        return median(pairs) if pairs else None

    def ratio_of_medians(self, a, b, key=submit_rate):
        if not (self.usable(a) and self.usable(b)):
            return None
        ka, kb = key(self.scenarios[a]), key(self.scenarios[b])
        return ka / kb if ka is not None and kb else None


def fmt(v, digits=3):
    return "n/a" if v is None else f"{v:.{digits}f}"


def describe(name, best):
    lat = best["latency_us"]
    line = (f"{name:28s} {best['submit_per_s']:12.0f} submit_sm/s  "
            f"p50 {lat['p50']} us  p99 {lat['p99']} us  p99.9 {lat['p999']} us  "
            f"cpu {best['cpu_s_per_million'] or 0:.3f} s/M  "
            f"machine {best['machine_cpu_s_per_million'] or 0:.3f} s/M  "
            f"core share front {best['core_share']['front']:.2f} "
            f"smsc-sim {best['core_share']['smsc_sim']:.2f} "
            f"esme-load {best['core_share']['esme_load']:.2f}  "
            f"runs {best['runs_submit_per_s']}")
    rc = best.get("receipts")
    if rc:
        rl = rc["latency_us"]
        line += (f"\n{'':28s} receipts {rc['per_s']:12.0f}/s  matched {rc['matched']} of "
                 f"{best['accepted']} accepted  duplicate {rc['duplicate']}  unknown "
                 f"{rc['unknown']}  refused {rc.get('refused')}  "
                 f"(smsc-sim: sent {rc['smsc_sim'].get('sent')}, unanswered "
                 f"{rc['smsc_sim'].get('unanswered')})  receipt p50 {rl['p50']} us  "
                 f"p99 {rl['p99']} us  max {rl['max']} us")
        m = best.get("router_metrics") or {}
        if "error" not in m:
            counted = {k: sum(v for n, v in m.items() if n.startswith(k + "{"))
                       for k in ("smpp_tenant_receipts_total", "smpp_upstream_receipts_total")}
            if any(n.startswith("smpp_") for n in m):
                line += (f"\n{'':28s} router's own counts: smpp_tenant_receipts_total "
                         f"{counted['smpp_tenant_receipts_total']:.0f}, "
                         f"smpp_upstream_receipts_total "
                         f"{counted['smpp_upstream_receipts_total']:.0f}")
    if "throttled" in best:
        share = best["throttled_share"]
        line += (f"\n{'':28s} ESME_RTHROTTLED {best['throttled']} of {best['sent']} sent "
                 f"({'n/a' if share is None else f'{100 * share:.1f}%'})")
    return line


def run_shapes(args, shapes, cpus):
    results = Results()
    for shape in shapes:
        special = {"router_kernel_carrier": "router_carrier",
                   "router_kernel_prefix": "router_prefix"}
        kinds = [(name, special.get(name, "router"), note)
                 for name, note in shape.router_variants(args.note_all)]
        kinds.append(("relay", "relay", None))
        if shape.dpdk and not args.no_dpdk:
            kinds.append(("router_dpdk", "dpdk", "all" if args.note_all else "receipts"))
        # Runs are interleaved (router, relay, dpdk, router, relay, ...) so that every repeat
        # measures each scenario under the same conditions of a shared machine.
        for _ in range(args.repeat):
            for name, kind, note in kinds:
                if kind == "dpdk":
                    r = run_dpdk_scenario(args.bin, shape, args.duration, cpus, note)
                else:
                    r = run_scenario(args.bin, kind, shape, args.duration, cpus, note)
                r["shape"] = shape.name
                results.runs_of.setdefault(name + shape.suffix, []).append(r)
        for name, _, _ in kinds:
            runs = results.runs_of[name + shape.suffix]
            unavailable = [r for r in runs if not r.get("available", True)]
            if unavailable:
                results.scenarios[name + shape.suffix] = unavailable[0]
                print(f"{name + shape.suffix:28s} not available: {unavailable[0]['reason']}",
                      flush=True)
                continue
            ordered = sorted(runs, key=submit_rate)
            best = dict(ordered[len(ordered) // 2])
            best["runs_submit_per_s"] = [round(r["submit_per_s"]) for r in runs]
            if shape.dlr:
                best["runs_receipts_per_s"] = [round(r["receipts"]["per_s"]) for r in runs]
            results.scenarios[name + shape.suffix] = best
            print(describe(name + shape.suffix, best), flush=True)
    return results


def shape_ratios(results, shape, note_all):
    """Each router variant of the shape against the relay (and DPDK against the kernel router):
    the median of the paired ratios of each figure, and the ratio of the medians of the rate."""
    out = {}
    keys = [("submit_per_s", submit_rate), ("p99", p99), ("cpu_s_per_million", cpu_per_million)]
    if shape.dlr:
        keys += [("receipts_per_s", receipt_rate), ("receipt_p99", receipt_p99)]
    pairs = [(name, "relay") for name, _ in shape.router_variants(note_all)]
    pairs.append(("router_dpdk", "router_kernel"))
    for a, b in pairs:
        sa, sb = a + shape.suffix, b + shape.suffix
        if not (results.usable(sa) and results.usable(sb)):
            continue
        r = {k: results.ratio(sa, sb, f) for k, f in keys}
        r["submit_per_s_ratio_of_medians"] = results.ratio_of_medians(sa, sb)
        out[f"{sa}/{sb}"] = r
    return out


def e2e_main(args, shapes, cpus):
    results = run_shapes(args, shapes, cpus)
    ratio, rom = results.ratio, results.ratio_of_medians
    out = {
        "scenarios": results.scenarios,
        "shapes": {s.name: {"suffix": s.suffix, "sessions": s.sessions, "window": s.window,
                            "receipts": s.dlr, "dlr_delay_ms": s.dlr_delay_ms,
                            "config": "config/router.toml" if s.default_config else "bench",
                            "ratios": shape_ratios(results, s, args.note_all)} for s in shapes},
        "ratio_router_relay": ratio("router_kernel", "relay"),
        # Carrier routing (MNP + price lists, cheapest) against prefix-only routing over the same
        # upstreams and binds, bulk.
        "ratio_carrier_prefix_only": ratio("router_kernel_carrier", "router_kernel_prefix"),
        "ratio_router_relay_w1": ratio("router_kernel_w1", "relay_w1"),
        # DPDK against the kernel router, same shapes: rate (higher is better) and p99 (lower).
        "ratio_dpdk_kernel": ratio("router_dpdk", "router_kernel"),
        "ratio_dpdk_kernel_w1": ratio("router_dpdk_w1", "router_kernel_w1"),
        "ratio_dpdk_kernel_p99": ratio("router_dpdk", "router_kernel", p99),
        "ratio_dpdk_kernel_w1_p99": ratio("router_dpdk_w1", "router_kernel_w1", p99),
        "ratio_of_medians": {
            "router_relay": rom("router_kernel", "relay"),
            "router_relay_w1": rom("router_kernel_w1", "relay_w1"),
            "dpdk_kernel": rom("router_dpdk", "router_kernel"),
            "dpdk_kernel_w1": rom("router_dpdk_w1", "router_kernel_w1"),
        },
    }
    names = {s.name for s in shapes}
    if out["ratio_carrier_prefix_only"] is not None:
        print(f"carrier/prefix-only bulk {fmt(out['ratio_carrier_prefix_only'])}   (rate, median "
              f"of paired runs; ratio of medians "
              f"{fmt(rom('router_kernel_carrier', 'router_kernel_prefix'))})")
    if {"bulk", "latency-bound"} <= names:
        r = out["ratio_of_medians"]
        print(f"router/relay bulk {fmt(out['ratio_router_relay'])}   "
              f"latency-bound {fmt(out['ratio_router_relay_w1'])}   (median of paired runs; "
              f"ratio of medians {fmt(r['router_relay'])} / {fmt(r['router_relay_w1'])})")
    for s in shapes:
        for pair, r in out["shapes"][s.name]["ratios"].items():
            if s.name in ("bulk", "latency-bound") and pair in (
                    f"router_kernel{s.suffix}/relay{s.suffix}",
                    f"router_dpdk{s.suffix}/router_kernel{s.suffix}"):
                continue  # printed above / below in the established form
            text = (f"{s.name:15s} {pair:44s} rate {fmt(r['submit_per_s'])}  "
                    f"p99 {fmt(r['p99'])}  cpu/M {fmt(r['cpu_s_per_million'])}")
            if s.dlr:
                text += (f"  receipts/s {fmt(r['receipts_per_s'])}  "
                         f"receipt p99 {fmt(r['receipt_p99'])}")
            print(text)
    if not args.no_dpdk and {"bulk", "latency-bound"} <= names:
        print(f"dpdk/kernel router: bulk rate {fmt(out['ratio_dpdk_kernel'])}  "
              f"p99 {fmt(out['ratio_dpdk_kernel_p99'])};  latency-bound rate "
              f"{fmt(out['ratio_dpdk_kernel_w1'])}  p99 {fmt(out['ratio_dpdk_kernel_w1_p99'])}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


# ---- soak -------------------------------------------------------------------------------------

SOAK_SESSIONS = 4
SOAK_WINDOW = 64
# RSS is flat when the second half's highest sample exceeds the first half's by at most this
# share plus this many KiB (the allocator's and the kernel's own slack).
SOAK_RSS_GROWTH = 0.10
SOAK_RSS_SLACK_KIB = 8 * 1024
# The rate is held when at least this share of rate x duration was accepted (esme-load's pacing
# loses the credit of a descheduled moment: esme-load alone against smsc-sim reaches 88-94% of
# --rate 100000 on this shared 2-vCPU machine).
SOAK_RATE_HELD = 0.80
# Loss lines the router prints (dataplane/src/router/worker_counters.cpp), kept for the report.
ROUTER_LOSS_LINE = re.compile(r"smpp-router: worker \d+: .*\(\d+ in all\)")


def soak_checks(load, sim_rc, rss, capacity, rate, seconds):
    """[(what, passed, detail)] for a soak run."""
    accepted = load.get("accepted", 0)
    matched = load.get("receipts_matched", 0)
    checks = [
        ("the table turned over", accepted >= 2 * capacity,
         f"{accepted} accepted against a capacity of {capacity} (at least twice needed)"),
        ("the rate was held", accepted >= SOAK_RATE_HELD * rate * seconds,
         f"{accepted} accepted of {rate} x {seconds} s offered "
         f"({load.get('submit_per_s', 0):.0f} submit_sm/s)"),
        ("every submit_sm accepted", load.get("sent", 0) == accepted,
         f"sent {load.get('sent', 0)}, accepted {accepted}, errors {load.get('errors', {})}, "
         f"unanswered {load.get('unanswered', 0)}"),
        ("every accepted message got its receipt", matched == accepted,
         f"receipts matched {matched} of {accepted} accepted "
         f"({100 * matched / accepted if accepted else 0:.1f}%)"),
        ("no receipt twice or unknown",
         load.get("receipts_duplicate", 0) == 0 and load.get("receipts_unknown", 0) == 0,
         f"duplicate {load.get('receipts_duplicate', 0)}, unknown {load.get('receipts_unknown', 0)}"),
        ("no receipt refused to the SMSC", sim_rc.get("refused") == 0 and sim_rc.get("unanswered") == 0,
         f"smsc-sim sent {sim_rc.get('sent')}, acknowledged {sim_rc.get('acked')}, refused "
         f"{sim_rc.get('refused')}, unanswered {sim_rc.get('unanswered')}"),
    ]
    values = [kib for _, kib in rss]
    if len(values) >= 4:
        half = len(values) // 2
        first, second = max(values[:half]), max(values[half:])
        limit = first * (1 + SOAK_RSS_GROWTH) + SOAK_RSS_SLACK_KIB
        checks.append(("RSS flat", second <= limit,
                       f"highest RSS {first / 1024:.1f} MiB in the first half, "
                       f"{second / 1024:.1f} MiB in the second (limit {limit / 1024:.1f} MiB)"))
    else:
        checks.append(("RSS flat", False, f"only {len(values)} RSS samples"))
    return checks


def soak_main(args, cpus):
    seconds, rate, capacity = args.soak, args.soak_rate, args.soak_capacity
    bindir = args.bin
    sim_port, front_port, admin_port = free_port(), free_port(), free_port()
    tmp = tempfile.mkdtemp(prefix="smpp-soak-")
    sim_json, load_json = os.path.join(tmp, "sim.json"), os.path.join(tmp, "load.json")
    router_log = os.path.join(tmp, "router.log")
    cfg = os.path.join(tmp, "router.toml")
    with open(cfg, "w") as f:
        f.write(router_config(
            listen=f"127.0.0.1:{front_port}", workers=f'[{cpus["front"]}]',
            sim_address=f"127.0.0.1:{sim_port}", note="all",
            up_window=max(1024, SOAK_SESSIONS * SOAK_WINDOW), up_binds=4,
            before_correlation="# The soak: a table that lasts capacity / rate seconds.\n"
                               + ADMIN_SECTION.format(port=admin_port),
            after_correlation=f"capacity = {capacity}\n"))
    print(f"soak: {seconds:g} s at {rate} submit_sm/s, each asking for a receipt (smsc-sim sends "
          f"it right after the response); {SOAK_SESSIONS} sessions x window {SOAK_WINDOW}; "
          f"[correlation] capacity {capacity} (lasts {capacity / rate:g} s at this rate), "
          f'note = "all"', flush=True)
    sim = subprocess.Popen(
        ["taskset", "-c", cpus["sim"], os.path.join(bindir, "smsc-sim"), "--listen",
         f"127.0.0.1:{sim_port}", "--json", sim_json, "--dlr-delay-ms", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    router = load = None
    rss, timeline = [], []
    try:
        wait_port(sim_port)
        with open(router_log, "w") as err:
            router = subprocess.Popen([os.path.join(bindir, "smpp-router"), "--config", cfg],
                                      stdout=subprocess.DEVNULL, stderr=err)
        wait_port(front_port)
        time.sleep(0.3)  # upstream binds come up
        track = min(50_000_000, int(rate * seconds * 1.2) + 100_000)
        load = subprocess.Popen(
            ["taskset", "-c", cpus["load"], os.path.join(bindir, "esme-load"), "--connect",
             f"127.0.0.1:{front_port}", "--system-id", "bench", "--password", "bench",
             "--sessions", str(SOAK_SESSIONS), "--window", str(SOAK_WINDOW), "--rate", str(rate),
             "--duration", str(seconds), "--dlr", "--dlr-wait", "2", "--dlr-track", str(track),
             "--json", load_json, "--no-progress"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        start = time.monotonic()
        deadline = start + seconds + 60
        next_at = start
        previous = {}
        while load.poll() is None and time.monotonic() < deadline:
            kib = rss_kib(router.pid)
            if kib is not None:
                t = round(time.monotonic() - start, 1)
                rss.append((t, kib))
                m = scrape_metrics(admin_port, timeout=0.5)
                timeline.append({"t_s": t, "rss_kib": kib, "metrics": m})
                # The router's own counts over the last second (tenant totals).
                delta = {k: sum(v for n, v in m.items() if n.startswith(k + "{"))
                         - sum(v for n, v in previous.items() if n.startswith(k + "{"))
                         for k in ("smpp_tenant_accepted_total", "smpp_tenant_receipts_total")}
                previous = m if "error" not in m else previous
                print(f"soak: {t:6.1f} s  router RSS {kib / 1024:8.1f} MiB  accepted "
                      f"{delta['smpp_tenant_accepted_total']:8.0f}  receipts "
                      f"{delta['smpp_tenant_receipts_total']:8.0f} (router's counts since the "
                      f"last line)", flush=True)
            next_at += 1.0
            try:
                load.wait(timeout=max(0.0, next_at - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        if load.poll() is None:
            load.kill()
            load.wait()
            raise RuntimeError(f"esme-load still running {seconds + 60:g} s after it started")
        load_err = load.stderr.read().decode(errors="replace")
        final_metrics = scrape_metrics(admin_port)
    finally:
        if load is not None and load.poll() is None:
            load.kill()
            load.wait()
        if router is not None:
            stop(router)
        stop(sim)
    result = read_json(load_json)
    if result is None:
        raise RuntimeError(f"esme-load wrote no report: {load_err[-500:]}")
    sim_rc = sim_receipts(read_json(sim_json))
    with open(router_log, errors="replace") as f:
        losses = [ln.strip() for ln in f if ROUTER_LOSS_LINE.search(ln)]
    checks = soak_checks(result, sim_rc, [(t, k) for t, k in rss if t >= 1.0] or rss, capacity,
                         rate, seconds)
    passed = all(ok for _, ok, _ in checks)
    values = [k for _, k in rss]
    rl = result.get("receipt_latency_us", {})
    print(f"soak: esme-load sent {result.get('sent')} accepted {result.get('accepted')} "
          f"({result.get('submit_per_s', 0):.0f} submit_sm/s); receipts {result.get('receipts')}, "
          f"matched {result.get('receipts_matched')}, duplicate {result.get('receipts_duplicate')}, "
          f"unknown {result.get('receipts_unknown')}; receipt latency p50 {rl.get('p50')} us "
          f"p99 {rl.get('p99')} us max {rl.get('max')} us")
    print(f"soak: smsc-sim receipts sent {sim_rc.get('sent')}, acknowledged {sim_rc.get('acked')}, "
          f"refused {sim_rc.get('refused')}, unanswered {sim_rc.get('unanswered')}")
    if values:
        print(f"soak: router RSS first {values[0] / 1024:.1f} MiB, last {values[-1] / 1024:.1f} "
              f"MiB, max {max(values) / 1024:.1f} MiB ({len(values)} samples, one a second)")
    print("soak: the router's return-path metrics at the end:")
    for name, value in sorted(final_metrics.items()):
        text = f"{value:.0f}" if isinstance(value, float) and value.is_integer() else str(value)
        print(f"soak:   {name} {text}")
    for line in losses:
        print(f"soak: router log: {line}")
    for what, ok, detail in checks:
        print(f"soak: {'PASS' if ok else 'FAIL'}  {what}: {detail}")
    print(f"soak: {'PASSED' if passed else 'FAILED'}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"soak": {"seconds": seconds, "rate_per_s": rate, "capacity": capacity,
                                "sessions": SOAK_SESSIONS, "window": SOAK_WINDOW,
                                "passed": passed,
                                "checks": [{"what": w, "passed": ok, "detail": d}
                                           for w, ok, d in checks],
                                "esme_load": result, "smsc_sim_receipts": sim_rc,
                                "rss_kib": {"first": values[0] if values else None,
                                            "last": values[-1] if values else None,
                                            "max": max(values) if values else None},
                                "router_metrics": final_metrics, "router_loss_log": losses,
                                "timeline": timeline}}, f, indent=2)
    return 0 if passed else 1


# ---- main -------------------------------------------------------------------------------------


def e2e_cpus(pin=False):
    """The router or relay gets its own core (the last); esme-load and smsc-sim share the
    others on kernel sockets (all CPUs unless pinned to CPU 0), or are one EAL lcore each on the
    other CPUs on DPDK."""
    n = os.cpu_count() or 1
    every = f"0-{n - 1}"
    tools = "0" if pin else every
    others = [c for c in range(n) if c != n - 1] or [0]
    return {"front": str(n - 1), "load": tools, "sim": tools,
            "load_lcore": str(others[0]), "sim_lcore": str(others[1 % len(others)])}


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"),
                    help="directory with smpp-router, byte-relay, smsc-sim, esme-load")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per scenario (default 5)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per scenario; the median is kept")
    ap.add_argument("--shapes", default=",".join(s.name for s in SHAPES),
                    help="comma-separated load shapes to run (default all): "
                         + ", ".join(s.name for s in SHAPES))
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--pin", action="store_true",
                    help="pin esme-load and smsc-sim to CPU 0 (default: the kernel places them; "
                         "the router or relay always runs pinned to the last CPU)")
    ap.add_argument("--note-all", action="store_true",
                    help="run router_kernel and router_dpdk with [correlation] note = \"all\" "
                         "(every message id noted, for query_sm/cancel_sm/replace_sm of messages "
                         "without receipts) instead of note = \"receipts\"; router_kernel_note_all "
                         "is then left out, being the same")
    ap.add_argument("--no-dpdk", action="store_true",
                    help="skip the router_dpdk scenarios (the router, esme-load and smsc-sim on "
                         "DPDK over net_memif; they need root)")
    ap.add_argument("--store-sync", choices=["off", "batch", "fsync"],
                    help='[store] sync of the router in the bench\'s own configuration (default: '
                         'none written, the router\'s default "off")')
    ap.add_argument("--soak", type=float, metavar="SECONDS",
                    help="run the soak for SECONDS instead of the shapes (see above); exit 1 when "
                         "it fails")
    ap.add_argument("--soak-rate", type=int, default=100_000,
                    help="the soak's submit_sm per second (default 100000)")
    ap.add_argument("--soak-capacity", type=int, default=200_000,
                    help="the router's [correlation] capacity in the soak (default 200000: 2 s "
                         "at 100000/s)")
    ap.add_argument("--carrier-numbers", type=int, default=0,
                    help="add router_kernel_carrier to the bulk shape with a portability table of "
                         "this many numbers (1..100000000; see above)")
    ap.add_argument("--carrier-prefixes", type=int, default=1_000_000,
                    help="prefixes in each price list of router_kernel_carrier (default 1000000)")
    ap.add_argument("--carrier-dir", default="/tmp/smpp-e2e-carrier",
                    help="where the carrier files are written once and kept")
    ap.add_argument("--carrier-start-s", type=float, default=600.0,
                    help="how long the carrier router may take to build its tables and listen")
    args = ap.parse_args(argv)
    if args.duration <= 0 or args.repeat < 1:
        ap.error("--duration must be > 0 and --repeat >= 1")
    names = [n.strip() for n in args.shapes.split(",") if n.strip()]
    unknown = [n for n in names if n not in SHAPE_BY_NAME]
    if unknown or not names:
        ap.error(f"--shapes: unknown {', '.join(unknown) or '(empty)'}; pick from "
                 f"{', '.join(SHAPE_BY_NAME)}")
    args.shape_list = [s for s in SHAPES if s.name in names]
    if args.carrier_numbers:
        try:
            SHAPE_BY_NAME["bulk"].carrier = CarrierFiles(args.carrier_dir, args.carrier_numbers,
                                                         args.carrier_prefixes,
                                                         args.carrier_start_s)
        except ValueError as e:
            ap.error(str(e))
    if args.soak is not None:
        if args.soak <= 0 or args.soak_rate <= 0 or args.soak_capacity <= 0:
            ap.error("--soak, --soak-rate and --soak-capacity must be > 0")
        if args.soak_capacity > 1_000_000_000:
            ap.error("--soak-capacity: at most 1000000000 (the router's bound)")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    global STORE_SECTION
    STORE_SECTION = f'[store]\nsync = "{args.store_sync}"\n' if args.store_sync else ""
    cpus = e2e_cpus(args.pin)
    if args.soak is not None:
        return soak_main(args, cpus)
    return e2e_main(args, args.shape_list, cpus)


if __name__ == "__main__":
    sys.exit(main())
