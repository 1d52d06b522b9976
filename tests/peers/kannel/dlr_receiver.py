"""The HTTP end of Kannel's dlr-url: GET /dlr?id=N&type=T&fid=F, answered 200 at once over
keep-alive connections, counted per message N (1..count) and DLR type T; F, the SMSC's message
id (empty when the SMSC refused the message), must be the same in every report of one message
and differ between messages."""

import asyncio
import urllib.parse

DELIVERED, FAILED, BUFFERED, SMSC_ACK, SMSC_NACK = 1, 2, 4, 8, 16
MAX_HEAD = 8192  # a request head longer than this is not Kannel's


class DlrReceiver:
    def __init__(self, count):
        self.count = count
        self.types = [dict() for _ in range(count + 1)]  # [n] -> {type: reports}
        self.fid = [None] * (count + 1)
        self.fid_owner = {}  # SMSC message id -> n
        self.dlrs = 0
        self.connections = 0
        self.unknown = 0
        self.fid_mismatch = 0
        self.fid_repeated = 0
        self.final = 0  # messages with a "delivered" report
        self.all_final = asyncio.Event()

    def _count(self, query):
        q = urllib.parse.parse_qs(query)
        try:
            n = int(q["id"][0])
            t = int(q["type"][0])
        except (KeyError, ValueError):
            n, t = 0, 0
        if not 1 <= n <= self.count:
            self.unknown += 1
            return
        self.dlrs += 1
        seen = self.types[n]
        seen[t] = seen.get(t, 0) + 1
        if t == DELIVERED and seen[t] == 1:
            self.final += 1
            if self.final == self.count:
                self.all_final.set()
        fid = q.get("fid", [""])[0]
        if not fid:
            return  # a refused submit_sm has no SMSC message id
        if self.fid[n] is None:
            self.fid[n] = fid
            owner = self.fid_owner.setdefault(fid, n)
            if owner != n:
                self.fid_repeated += 1
        elif self.fid[n] != fid:
            self.fid_mismatch += 1

    async def handle(self, reader, writer):
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > MAX_HEAD:
                    break
                lines = head.decode("latin1").split("\r\n")
                target = lines[0].split(" ")[1] if lines[0].count(" ") >= 2 else ""
                url = urllib.parse.urlsplit(target)
                if url.path == "/dlr":
                    self._count(url.query)
                else:
                    self.unknown += 1
                close = any(line.lower().replace(" ", "") == "connection:close" for line in lines)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" +
                             (b"Connection: close\r\n" if close else b"") + b"\r\n")
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                asyncio.CancelledError):
            pass  # the connection ended, or the run did (its keep-alive connections stay open)
        writer.close()

    def summary(self):
        """Counts per message: exactly one of each expected report, none of the others."""
        def messages(pred):
            return sum(1 for n in range(1, self.count + 1) if pred(self.types[n]))
        return {
            "dlrs": self.dlrs,
            "dlr_connections": self.connections,
            "delivered": messages(lambda s: s.get(DELIVERED, 0) == 1),
            "final_missing": messages(lambda s: DELIVERED not in s),
            "final_duplicate": messages(lambda s: s.get(DELIVERED, 0) > 1),
            "smsc_acked": messages(lambda s: s.get(SMSC_ACK, 0) == 1),
            "failed": messages(lambda s: FAILED in s),
            "smsc_rejected": messages(lambda s: SMSC_NACK in s),
            "buffered": messages(lambda s: BUFFERED in s),
            "other_types": messages(lambda s: any(t not in (DELIVERED, FAILED, BUFFERED, SMSC_ACK,
                                                           SMSC_NACK) for t in s)),
            "dlr_unknown": self.unknown,
            "foreign_id_mismatch": self.fid_mismatch,
            "foreign_ids_repeated": self.fid_repeated,
        }
