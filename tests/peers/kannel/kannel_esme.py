#!/usr/bin/env python3
"""Kannel (bearerbox + smsbox) as an ESME of an SMSC or router: Kannel binds as a transceiver,
--count messages go in through smsbox's HTTP sendsms interface, each with a dlr-mask and a
dlr-url pointing at a receiver of this script, and every message must get its delivery reports
exactly once: "delivered" (1) from the receipt and, when the mask asks for it, "delivered to
SMSC" (8) from the submit_sm_resp; never a failure (2, 16) or "buffered" (4).

Prints one JSON line on stdout; exit 0 when every check held, 1 when one did not (or Kannel did
not come up), 2 on a usage error. Everything is bounded by --timeout-ms; bearerbox and smsbox
are stopped before the exit, and die with this process if it is killed.
"""

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boxes  # noqa: E402
import dlr_receiver  # noqa: E402

# Every DLR type Kannel knows (its user guide, "dlr-mask"), so that any unexpected one shows.
ALL_DLR_TYPES = (dlr_receiver.DELIVERED | dlr_receiver.FAILED | dlr_receiver.BUFFERED |
                 dlr_receiver.SMSC_ACK | dlr_receiver.SMSC_NACK)
START_LIMIT_S = 20


def parse_args():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Prints one JSON line: peer, dlr_mask, sent, accepted, sendsms_errors, sendsms_s, "
        "sendsms_per_s, dlrs, dlr_connections, delivered, smsc_acked, final_missing, "
        "final_duplicate, failed, smsc_rejected, buffered, other_types, dlr_unknown, "
        "foreign_id_mismatch, foreign_ids_repeated, elapsed_s, timed_out, ok, failures. "
        "Exit status: 0 every check held, 1 some did not (or Kannel did not come up), 2 usage "
        "error.")
    p.add_argument("--port", type=int, required=True, help="the SMSC's or router's SMPP port")
    p.add_argument("--host", default="127.0.0.1", help="its address (default 127.0.0.1)")
    p.add_argument("--system-id", default="peers", help="bind system_id (default peers)")
    p.add_argument("--password", default="secret", help="bind password (default secret)")
    p.add_argument("--count", type=int, default=1000, help="messages to send (default 1000)")
    p.add_argument("--window", type=int, default=256,
                   help="Kannel's max-pending-submits: unanswered submit_sm (default 256)")
    p.add_argument("--http-connections", type=int, default=32,
                   help="sendsms requests in flight, one per connection (default 32)")
    p.add_argument("--destination", default="447900000001", help="destination address")
    p.add_argument("--timeout-ms", type=int, default=120000,
                   help="hard bound on the whole run (default 120000)")
    p.add_argument("--dlr-mask", type=int, default=ALL_DLR_TYPES,
                   help="the delivery reports asked for: 1 delivered, 2 not delivered, 4 "
                   "buffered, 8 delivered to the SMSC, 16 refused by the SMSC (default 31); "
                   "1 is always asked for")
    p.add_argument("--dlr-idle-ms", type=int, default=10000,
                   help="once every sendsms is answered, give up when no delivery report "
                   "arrived for this long (default 10000)")
    p.add_argument("--bearerbox", default="/usr/sbin/bearerbox", help="bearerbox program")
    p.add_argument("--smsbox", default="/usr/sbin/smsbox", help="smsbox program")
    p.add_argument("--dir", help="directory for Kannel's configuration and logs (default: a "
                   "new temporary one)")
    a = p.parse_args()
    a.dlr_mask |= dlr_receiver.DELIVERED
    if not 0 <= a.dlr_mask <= ALL_DLR_TYPES:
        p.error(f"--dlr-mask: 0..{ALL_DLR_TYPES}")
    if a.count < 1 or a.window < 1 or a.http_connections < 1 or a.timeout_ms < 1:
        p.error("--count, --window, --http-connections and --timeout-ms must be positive")
    return a


async def read_response(reader):
    """One HTTP/1.1 response: (status, body, whether the server closes the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, body, headers.get("connection", "").lower() == "close"


class Sender:
    """sendsms GET requests over keep-alive connections, `connections` in flight."""

    def __init__(self, port, query_of, count):
        self.port = port
        self.query_of = query_of
        self.count = count
        self.next = 1
        self.sent = 0
        self.accepted = 0
        self.errors = {}

    async def _one_connection(self):
        reader = writer = None
        while self.next <= self.count:
            n = self.next
            self.next += 1
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            writer.write(f"GET /cgi-bin/sendsms?{self.query_of(n)} HTTP/1.1\r\n"
                         f"Host: 127.0.0.1:{self.port}\r\n\r\n".encode())
            self.sent += 1
            status, body, close = await read_response(reader)
            # smsbox answers 202 "0: Accepted for delivery" once bearerbox has the message.
            if status == 202 and body.startswith(b"0: Accepted"):
                self.accepted += 1
            else:
                key = f"{status} {body[:60].decode('latin1').strip()}"
                self.errors[key] = self.errors.get(key, 0) + 1
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    async def run(self, connections):
        await asyncio.gather(*(self._one_connection() for _ in range(connections)))


async def run(a, kannel, summary, fail):
    receiver = dlr_receiver.DlrReceiver(a.count)
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    dlr_port = server.sockets[0].getsockname()[1]
    # Kannel replaces %d with the DLR type and %F with the SMSC's message id (user guide,
    # "sms-service" escape codes).
    def query_of(n):
        dlr_url = f"http://127.0.0.1:{dlr_port}/dlr?id={n}&type=%d&fid=%F"
        return urllib.parse.urlencode({
            "username": boxes.SENDSMS_USER, "password": boxes.SENDSMS_PASSWORD,
            "from": "kannel", "to": a.destination, "text": f"kannel message {n}",
            "dlr-mask": a.dlr_mask, "dlr-url": dlr_url})

    sender = Sender(kannel.ports["sendsms"], query_of, a.count)
    started = time.monotonic()
    deadline = started + a.timeout_ms / 1000
    try:
        send = asyncio.ensure_future(sender.run(a.http_connections))
        await asyncio.wait_for(asyncio.shield(send), max(0.1, deadline - time.monotonic()))
        summary["sendsms_s"] = round(time.monotonic() - started, 3)
        summary["sendsms_per_s"] = round(a.count / max(summary["sendsms_s"], 1e-3))
        idle_s = a.dlr_idle_ms / 1000
        while not receiver.all_final.is_set():
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                raise asyncio.TimeoutError
            seen = receiver.dlrs
            try:
                await asyncio.wait_for(receiver.all_final.wait(), min(idle_s, left_s))
            except asyncio.TimeoutError:
                if receiver.dlrs == seen and idle_s <= left_s:
                    fail(f"no delivery report for {a.dlr_idle_ms} ms")
                    break
        # Duplicates would come right after: wait a little for them.
        await asyncio.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    except asyncio.TimeoutError:
        summary["timed_out"] = True
        fail(f"timed out after {a.timeout_ms} ms")
    except OSError as e:
        fail(f"sendsms: {e}")
    summary["elapsed_s"] = round(time.monotonic() - started, 3)
    server.close()
    summary.update(sent=sender.sent, accepted=sender.accepted, sendsms_errors=sender.errors)
    summary.update(receiver.summary())


def main():
    a = parse_args()
    summary = {"peer": "Kannel", "dlr_mask": a.dlr_mask, "sent": 0, "accepted": 0,
               "sendsms_errors": {},
               "timed_out": False, "ok": False, "failures": []}

    def fail(why):
        if len(summary["failures"]) < 20:
            summary["failures"].append(why)

    directory = a.dir or tempfile.mkdtemp(prefix="kannel_")
    kannel = boxes.Boxes(a.bearerbox, a.smsbox, directory)
    try:
        why = kannel.start({"host": a.host, "port": a.port, "system_id": a.system_id,
                            "password": a.password, "window": a.window},
                           min(START_LIMIT_S, a.timeout_ms / 1000))
        if why:
            fail(why)
        else:
            m = re.search(r"Kannel bearerbox version `([^']*)'", kannel.status())
            summary["peer"] = "Kannel " + (m.group(1) if m else "?")
            asyncio.run(run(a, kannel, summary, fail))
    finally:
        kannel.stop()

    if "delivered" in summary:  # the run happened: check its counts
        n = a.count
        s = summary
        if s["sent"] != n or s["accepted"] != n:
            fail(f"{s['accepted']} of {n} sendsms accepted ({s['sent']} sent)")
        if s["delivered"] != n:
            fail(f"{s['delivered']} of {n} messages got their final DLR 'delivered' once")
        if a.dlr_mask & dlr_receiver.SMSC_ACK and s["smsc_acked"] != n:
            fail(f"{s['smsc_acked']} of {n} messages got 'delivered to SMSC' once")
        for k in ("final_duplicate", "failed", "smsc_rejected", "buffered", "other_types",
                  "dlr_unknown", "foreign_id_mismatch", "foreign_ids_repeated"):
            if s[k] != 0:
                fail(f"{k}: {s[k]}")
    if summary["failures"]:
        sys.stderr.write(kannel.log_tail() + "\n")
    summary["ok"] = not summary["failures"]
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
