#!/usr/bin/env python3
"""bench/run in --smoke mode against a build's binaries: the JSON has the documented shape
(machine, load, every figure with its unit and its baseline's figure), the DPDK phase runs
wherever bench/e2e_bench.py can run it (as root; otherwise it is "not available" for that
reason), the report and its SVG charts exist and the SVGs parse as XML; --quick and --phases
select the phases they should. No performance assertion: the figures of a smoke run on a loaded
machine mean nothing.

usage: bench/run_test.py --bin DIR      (ctest runs it with the build's bin directory)
"""
import argparse
import importlib.machinery
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, "run")
PHASES = ["codec", "ring", "gate", "correlation", "mnp", "e2e_kernel", "e2e_carrier", "e2e_dpdk",
          "tdma", "front_door"]
STATUSES = {"ok", "not_available", "not_built", "skipped", "failed"}
SVG_NS = "{http://www.w3.org/2000/svg}"

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
    return condition


def positive_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def check_figure(where, f):
    check(positive_number(f.get("value")), f"{where}: value {f.get('value')!r} is not a number > 0")
    check(isinstance(f.get("unit"), str) and f["unit"], f"{where}: no unit")
    check(f.get("better") in ("higher", "lower"), f"{where}: better is {f.get('better')!r}")
    base = f.get("baseline")
    if base is None:
        check(f.get("ratio") is None and f.get("note"),
              f"{where}: a figure without a baseline has no ratio and says why in a note")
        return
    check(isinstance(base.get("name"), str) and base["name"], f"{where}: baseline has no name")
    check(positive_number(base.get("value")), f"{where}: baseline value {base.get('value')!r}")
    check(base.get("unit") == f.get("unit"), f"{where}: baseline unit {base.get('unit')!r}")
    if positive_number(base.get("value")) and positive_number(f.get("value")):
        ratio = f["value"] / base["value"]
        check(abs(f.get("ratio", 0) - ratio) <= 1e-9 * ratio, f"{where}: ratio {f.get('ratio')}")
        speedup = ratio if f["better"] == "higher" else 1 / ratio
        check(abs(f.get("speedup", 0) - speedup) <= 1e-9 * speedup,
              f"{where}: speedup {f.get('speedup')}")


def check_svg(path):
    if not check(os.path.getsize(path) > 0, f"{path} is empty"):
        return
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        check(False, f"{path} is not XML: {e}")
        return
    check(root.tag == SVG_NS + "svg", f"{path}: root element is {root.tag}, not svg")
    # Something drawn: gnuplot's plot elements are paths and text.
    drawn = sum(1 for el in root.iter() if el.tag in (SVG_NS + "path", SVG_NS + "text"))
    check(drawn > 5, f"{path}: only {drawn} path/text elements")


def check_smoke(bindir, work):
    json_path = os.path.join(work, "bench.json")
    report = os.path.join(work, "report")
    t0 = time.monotonic()
    p = subprocess.run([RUN, "--smoke", "--bin", bindir, "--json", json_path, "--report", report,
                        "--no-progress"], capture_output=True, text=True, timeout=170)
    print(f"bench/run --smoke: exit {p.returncode} in {time.monotonic() - t0:.1f} s")
    print(p.stdout)
    check(p.returncode == 0, f"bench/run --smoke exited {p.returncode}:\n{p.stderr[-3000:]}")
    if not check(os.path.exists(json_path), "no JSON written"):
        return
    with open(json_path) as f:
        r = json.load(f)
    check(r.get("schema") == "smpp-router-bench/1", f"schema {r.get('schema')!r}")
    check(r.get("mode") == "smoke", f"mode {r.get('mode')!r}")
    m = r.get("machine", {})
    for key in ("cpu_model", "logical_cpus", "kernel", "numa_nodes"):
        check(m.get(key) not in (None, ""), f"machine.{key} missing")
    check(m.get("build", {}).get("compiler"), "machine.build.compiler missing (CMakeCache.txt)")
    check(len(m.get("git", {}).get("revision", "")) == 40, "machine.git.revision missing")
    for when in ("before", "after"):
        check(isinstance(r.get("load", {}).get(when, {}).get("1m"), (int, float)),
              f"load.{when} missing")
    check(r.get("phases_run") == PHASES, f"phases_run {r.get('phases_run')}")
    phases = r.get("phases", {})
    for name in PHASES:
        ph = phases.get(name)
        if not check(ph is not None, f"phase {name} missing"):
            continue
        check(ph.get("status") in STATUSES, f"{name}: status {ph.get('status')!r}")
        check(isinstance(ph.get("duration_s"), (int, float)), f"{name}: no duration_s")
        if ph.get("status") == "ok":
            figures = ph.get("figures", {})
            check(figures, f"{name}: ok without figures")
            for key, f in figures.items():
                check_figure(f"{name}.{key}", f)
        else:
            check(ph.get("reason") or ph.get("error"), f"{name}: {ph.get('status')} without why")
    # This build has the micro-benchmarks and the end-to-end tools: those phases must run.
    for name in ("codec", "ring", "gate", "e2e_kernel", "e2e_carrier"):
        check(phases.get(name, {}).get("status") == "ok",
              f"{name}: {phases.get(name, {}).get('status')}: "
              f"{phases.get(name, {}).get('error') or phases.get(name, {}).get('reason')}")
    check_dpdk(phases.get("e2e_dpdk", {}))
    check(phases.get("correlation", {}).get("status") == "skipped", "correlation not skipped")
    codec = phases.get("codec", {}).get("figures", {})
    check(codec.get("decode", {}).get("baseline", {}).get("name") == "libsmpp34",
          "codec.decode baseline is not libsmpp34")
    ring = phases.get("ring", {}).get("figures", {})
    check({"burst32_vs_rte_ring", "burst32_vs_tbb_bounded_queue"} <= set(ring),
          f"ring figures {sorted(ring)}")
    e2e = phases.get("e2e_kernel", {})
    check(e2e.get("figures", {}).get("bulk_submit_per_s", {}).get("baseline", {}).get("name")
          == "byte-relay", "e2e_kernel bulk baseline is not byte-relay")
    for scenario in ("router_kernel", "relay", "router_kernel_w1", "relay_w1", "router_kernel_dlr",
                     "relay_dlr", "router_kernel_dlr_receipt", "relay_dlr_receipt",
                     "router_kernel_dlr100_receipt", "router_kernel_default"):
        lat = e2e.get("latency_us", {}).get(scenario, {})
        check(all(positive_number(lat.get(k)) for k in ("p50", "p99", "p999", "max")),
              f"e2e_kernel latency of {scenario}: {lat}")
    check_e2e_shapes(e2e)
    carrier = phases.get("e2e_carrier", {}).get("figures", {}).get("bulk_submit_per_s", {})
    check(carrier.get("baseline", {}).get("name", "").startswith("prefix-only"),
          f"e2e_carrier bulk baseline: {carrier.get('baseline')}")
    tdma = phases.get("tdma", {})
    check(tdma.get("status") in ("ok", "not_available"), f"tdma: {tdma}")
    if tdma.get("status") == "ok":
        series = tdma.get("series", {})
        check(set(series) == {"gold", "silver", "bronze"}, f"tdma series {sorted(series)}")
        for name, points in series.items():
            check(points and all(len(p) == 2 for p in points), f"tdma series {name}: {points}")
    check_front_door(phases.get("front_door", {}))
    # The report and its charts.
    for name in ("report.md", "report.html"):
        check(os.path.exists(os.path.join(report, name)), f"{name} missing")
    expected = {"ratios.svg", "latency.svg"}
    if tdma.get("status") == "ok":
        expected.add("tdma_throughput.svg")
    check(set(r.get("charts", [])) == expected, f"charts {r.get('charts')} != {sorted(expected)}")
    md = open(os.path.join(report, "report.md")).read() if os.path.exists(
        os.path.join(report, "report.md")) else ""
    page = open(os.path.join(report, "report.html")).read() if os.path.exists(
        os.path.join(report, "report.html")) else ""
    for svg in expected:
        path = os.path.join(report, svg)
        if check(os.path.exists(path), f"{svg} missing"):
            check_svg(path)
        check(f"]({svg})" in md, f"report.md does not show {svg}")
    check(page.count("<svg") == len(expected), "report.html does not inline every chart")
    for name, ph in phases.items():
        if ph.get("status") != "ok":
            check(f"| {name} |  | {ph.get('status')} |" in md,
                  f"report.md does not say that {name} is {ph.get('status')}")


def check_e2e_shapes(e2e):
    """The receipt shapes and the default configuration: their figures against the relay, the
    receipts the relay carried all matched once (esme-load and smsc-sim count right), the
    router's receipts counted (any number: the router refuses some today), the throttled
    requests of the default configuration counted."""
    figures = e2e.get("figures", {})
    for key in ("bulk_note_all_submit_per_s", "bulk_dlr_submit_per_s", "bulk_dlr_receipts_per_s",
                "bulk_dlr_receipt_p99_latency", "bulk_dlr_note_all_receipts_per_s",
                "bulk_dlr_100ms_receipts_per_s", "bulk_dlr_100ms_receipt_p99_latency",
                "default_config_submit_per_s"):
        check(figures.get(key, {}).get("baseline", {}).get("name") == "byte-relay",
              f"e2e_kernel.{key}: {figures.get(key)}")
    scenarios = e2e.get("scenarios", {})
    for name in ("relay_dlr", "relay_dlr100"):
        r = scenarios.get(name, {})
        rc = r.get("receipts", {})
        check(r.get("accepted", 0) > 0 and rc.get("matched") == r.get("accepted")
              and rc.get("duplicate") == 0 and rc.get("unknown") == 0 and rc.get("refused") == 0,
              f"{name}: the relay's receipts are not all matched once: accepted "
              f"{r.get('accepted')}, receipts {rc}")
    for name in ("router_kernel_dlr", "router_kernel_note_all_dlr", "router_kernel_dlr100"):
        rc = scenarios.get(name, {}).get("receipts", {})
        check(all(isinstance(rc.get(k), int) for k in ("matched", "duplicate", "unknown",
                                                       "refused")),
              f"{name}: receipt counts {rc}")
    # 100 ms after the response: no receipt can come sooner after its submit_sm.
    p50 = scenarios.get("relay_dlr100", {}).get("receipts", {}).get("latency_us", {}).get("p50")
    check(isinstance(p50, (int, float)) and p50 >= 100_000, f"relay_dlr100 receipt p50 {p50} us")
    default = scenarios.get("router_kernel_default", {})
    check(isinstance(default.get("throttled"), int) and default.get("sent", 0) > 0,
          f"router_kernel_default: throttled {default.get('throttled')!r}, sent {default.get('sent')}")


def check_front_door(ph):
    """wrk and Kannel are in tools/debian-packages.txt: the phase runs. Exact counts at both ends:
    every message of the batches accepted, submitted to smsc-sim through the router, its receipt
    matched and its callback received once."""
    if not check(ph.get("status") == "ok", f"front_door: {ph.get('status')}: "
                 f"{ph.get('error') or ph.get('reason')}"):
        return
    single = ph.get("single", {})
    for name in ("smpp_http", "kannel"):
        s = single.get(name, {})
        check(s.get("accepted", 0) > 0 and s.get("errors") == 0, f"front_door {name}: {s}")
    b = ph.get("batches", {})
    n = b.get("messages")
    check(isinstance(n, int) and n > 0 and b.get("accepted") == n, f"front_door batches: {b}")
    check(b.get("smsc_sim", {}).get("submit_sm") == n, f"front_door smsc-sim: {b.get('smsc_sim')}")
    st = b.get("status", {})
    check(st.get("responses_ok") == n and st.get("receipts_matched") == n
          and st.get("store_commit_failures") == 0, f"front_door status: {st}")
    c = ph.get("callbacks", {})
    m = c.get("messages")
    check(isinstance(m, int) and m > 0 and c.get("accepted") == m
          and c.get("smsc_sim", {}).get("submit_sm") == m, f"front_door callbacks run: {c}")
    check(c.get("callbacks") == m and c.get("callback_status", {}).get("callbacks_delivered") == m
          and c.get("status", {}).get("receipts_matched") == m,
          f"front_door callbacks: {c.get('callbacks')} of {m}, {c.get('callback_status')}")
    for key in ("single_post_accepted", "batch_accepted", "batch_receipts", "callbacks"):
        check(key in ph.get("figures", {}), f"front_door figure {key} missing")


def check_dpdk(ph):
    """As root e2e_bench runs the router on DPDK (net_memif, no hugepages), so the phase must run
    and give its figures against the kernel router; without root it is not available, saying so."""
    if os.geteuid() != 0:
        check(ph.get("status") == "not_available" and "root" in ph.get("reason", ""),
              f"e2e_dpdk without root: {ph}")
        return
    if not check(ph.get("status") == "ok",
                 f"e2e_dpdk as root: {ph.get('status')}: {ph.get('error') or ph.get('reason')}"):
        return
    figures = ph.get("figures", {})
    for key in ("bulk_submit_per_s", "latency_bound_submit_per_s", "bulk_p99_latency",
                "bulk_dlr_submit_per_s", "bulk_dlr_receipts_per_s"):
        check(figures.get(key, {}).get("baseline", {}).get("name")
              == "smpp-router, kernel transport", f"e2e_dpdk.{key}: {figures.get(key)}")
    check(set(ph.get("latency_us", {})) == {"router_dpdk", "router_dpdk_w1", "router_dpdk_dlr",
                                            "router_dpdk_dlr_receipt"},
          f"e2e_dpdk latency curves {sorted(ph.get('latency_us', {}))}")


def load_run():
    """bench/run as a module (it has no .py suffix), for its argument parser."""
    loader = importlib.machinery.SourceFileLoader("bench_run", RUN)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("bench_run", loader))
    loader.exec_module(module)
    return module


def check_selection():
    run = load_run()
    check(run.PHASES == PHASES, f"bench/run phases {run.PHASES}")
    for argv in (["--quick"], [], ["--smoke"]):
        check(run.parse_args(argv).phase_list == PHASES,
              f"{argv or 'no options'} does not select every phase, DPDK included: "
              f"{run.parse_args(argv).phase_list}")
    picked = run.parse_args(["--quick", "--phases", "tdma,e2e_dpdk"]).phase_list
    check(picked == ["e2e_dpdk", "tdma"], f"--phases tdma,e2e_dpdk selects {picked}")
    for mode in ("full", "quick", "smoke"):
        check(set(run.MODES[mode]["estimate_s"]) == set(PHASES), f"{mode}: estimates per phase")
        # Every end-to-end shape runs in every mode, the smoke test's included.
        check(run.MODES[mode]["e2e_shapes"] == [s.name for s in run.e2e_bench.SHAPES],
              f"{mode}: e2e shapes {run.MODES[mode]['e2e_shapes']}")


def check_usage(bindir, work):
    p = subprocess.run([RUN, "--help"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and "--quick" in p.stdout, "--help")
    p = subprocess.run([RUN, "--phases", "codec,nope"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and "nope" in p.stderr, f"unknown phase: exit {p.returncode}")
    # A bin directory without the binaries: every phase is not_built, which is no failure.
    empty = os.path.join(work, "empty-bin")
    os.makedirs(empty)
    out = os.path.join(work, "empty.json")
    p = subprocess.run([RUN, "--smoke", "--bin", empty, "--json", out, "--no-progress"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"empty bin dir: exit {p.returncode}: {p.stderr[-1000:]}")
    if check(os.path.exists(out), "empty bin dir: no JSON"):
        with open(out) as f:
            statuses = {k: v.get("status") for k, v in json.load(f)["phases"].items()}
        check(set(statuses.values()) <= {"not_built", "skipped"} and
              statuses.get("codec") == "not_built", f"empty bin dir: {statuses}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the build's bin directory")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-run-test-") as work:
        check_selection()
        check_usage(args.bin, work)
        check_smoke(args.bin, work)
    for f in failures:
        print("FAILED:", f)
    print("bench/run smoke test:", f"{len(failures)} check(s) failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
