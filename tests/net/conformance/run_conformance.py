#!/usr/bin/env python3
"""Runs the packetdrill-style TCP conformance cases (tests/net/conformance/c*.py) against
net-peer on a TAP device in a network namespace made for the run (always removed).

Usage: run_conformance.py --peer PATH/net-peer [--timeout S] [CASE_NAME_PART...]
One line per case, then 'N passed, N failed'. Exit 0 when all pass, 1 on any failure, 77
(skipped, with a loud message) only when the kernel refuses the namespace or the TAP device.
"""

import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

SKIP = 77
XFAIL = 3  # drill.run_case: failed as its known_bug says
HERE = os.path.dirname(os.path.abspath(__file__))


def python_with_scapy():
    """This interpreter when it has scapy, else the system one (Debian's python3-scapy)."""
    try:
        import scapy  # noqa: F401
        return sys.executable
    except ImportError:
        pass
    system = "/usr/bin/python3"
    if os.path.exists(system) and os.path.realpath(sys.executable) != os.path.realpath(system):
        r = subprocess.run([system, "-c", "import scapy"], capture_output=True)
        if r.returncode == 0:
            return system
    return None


def run(cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stdout}{r.stderr}".strip())
    return r


def skip(msg):
    print(f"*** SKIPPED: {msg} ***", flush=True)
    sys.exit(SKIP)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--peer", required=True, help="path of the net-peer binary")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per case (default 30)")
    ap.add_argument("cases", nargs="*", help="run only cases whose file name contains one of these")
    args = ap.parse_args()

    if not os.access(args.peer, os.X_OK):
        print(f"FAIL: net-peer not found or not executable: {args.peer}")
        return 1
    py = python_with_scapy()
    if py is None:
        print("FAIL: python3-scapy is not installed (tools/debian-packages.txt lists it)")
        return 1
    if os.geteuid() != 0:
        skip("the TCP conformance cases need root for a network namespace and a TAP device")
    if not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        skip("/dev/net/tun is not available")
    if shutil.which("ip") is None:
        print("FAIL: `ip` (iproute2) is not installed")
        return 1

    cases = sorted(glob.glob(os.path.join(HERE, "c[0-9]*.py")))
    if args.cases:
        cases = [c for c in cases if any(k in os.path.basename(c) for k in args.cases)]
    if not cases:
        print("FAIL: no case selected")
        return 1

    ns = f"smpp-conf-{os.getpid()}"
    tap = "conf0"
    r = run(["ip", "netns", "add", ns], check=False)
    if r.returncode != 0:
        skip(f"`ip netns add` was refused: {(r.stdout + r.stderr).strip()}")
    passed = failed = 0
    known = []
    try:
        r = run(["ip", "netns", "exec", ns, "ip", "tuntap", "add", "dev", tap, "mode", "tap"],
                check=False)
        if r.returncode != 0:
            skip(f"TAP device refused in the namespace: {(r.stdout + r.stderr).strip()}")
        # The kernel side stays silent: no IPv6 (no router solicitations, no DAD), no IPv4
        # address in the cases' subnet, so only the case answers our stack.
        run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w",
             f"net.ipv6.conf.{tap}.disable_ipv6=1"], check=False)
        run(["ip", "netns", "exec", ns, "ip", "link", "set", "dev", tap, "up"])
        run(["ip", "netns", "exec", ns, "ip", "link", "set", "dev", "lo", "up"])
        env = dict(os.environ, CONF_TAP=tap, NET_PEER=os.path.abspath(args.peer),
                   PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=HERE)
        t_all = time.monotonic()
        for path in cases:
            name = os.path.basename(path)
            t0 = time.monotonic()
            p = subprocess.Popen(["ip", "netns", "exec", ns, py, path], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, env=env,
                                 start_new_session=True)
            try:
                out, _ = p.communicate(timeout=args.timeout)
                ok = p.returncode == 0
                lines = [l for l in out.splitlines()
                         if l.startswith(("FAIL", "XPASS", "XFAIL"))] or ["no output"]
                why = "" if ok else lines[0]
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                out, _ = p.communicate()
                ok = False
                why = f"timed out after {args.timeout:.0f}s"
            dt = time.monotonic() - t0
            if p.returncode == XFAIL:
                known.append(name)
                print(f"XFAIL {name} ({dt:.2f}s): {why}", flush=True)
            elif ok:
                passed += 1
                print(f"PASS {name} ({dt:.2f}s)", flush=True)
            else:
                failed += 1
                print(f"FAIL {name} ({dt:.2f}s): {why}", flush=True)
                print("\n".join("    " + l for l in out.rstrip().splitlines()), flush=True)
        print(f"all cases: {time.monotonic() - t_all:.1f}s")
    finally:
        run(["ip", "netns", "del", ns], check=False)
    if known:
        print(f"*** {len(known)} case(s) fail on a KNOWN STACK BUG (XFAIL, see each case's "
              f"KNOWN_BUG): {', '.join(known)} ***")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
