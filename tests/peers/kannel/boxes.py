"""Kannel's bearerbox and smsbox as one SMPP ESME: the configuration written into a directory,
both boxes started on free loopback ports, waited for until the SMPP link is online, and stopped
(SIGTERM, then SIGKILL) however the run ends. The boxes die with this process (PR_SET_PDEATHSIG)
so that a killed test leaves none behind."""

import ctypes
import os
import signal
import socket
import subprocess
import time
import urllib.request

PR_SET_PDEATHSIG = 1  # linux/prctl.h
ADMIN_PASSWORD = "peers-admin"
SENDSMS_USER = "peers"
SENDSMS_PASSWORD = "peers-pw"
STOP_WAIT_S = 5


def free_port():
    """A port the kernel has no use for now (another process may take it before Kannel does:
    start() tries again on new ports)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def config_text(d, ports, smsc):
    """kannel.conf: one SMPP transceiver to the router, internal DLR storage, one sendsms
    user. `smsc`: host, port, system_id, password, window (max-pending-submits)."""
    return f"""group = core
admin-port = {ports['admin']}
admin-password = {ADMIN_PASSWORD}
status-password = {ADMIN_PASSWORD}
admin-interface = 127.0.0.1
admin-allow-ip = 127.0.0.1
smsbox-port = {ports['smsbox']}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
dlr-storage = internal
# No access-log: one line per message, 80 MB for a run of 100,000.
log-file = "{d}/bearerbox.log"
log-level = 2

group = smsc
smsc = smpp
smsc-id = router
host = {smsc['host']}
port = {smsc['port']}
transceiver-mode = true
smsc-username = {smsc['system_id']}
smsc-password = {smsc['password']}
system-type = ""
max-pending-submits = {smsc['window']}
reconnect-delay = 1
enquire-link-interval = 30
log-file = "{d}/smsc.log"
log-level = 2

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports['smsbox']}
sendsms-port = {ports['sendsms']}
sendsms-interface = 127.0.0.1
log-file = "{d}/smsbox.log"
log-level = 2

group = sendsms-user
username = {SENDSMS_USER}
password = {SENDSMS_PASSWORD}
max-messages = 1
"""


class Boxes:
    """bearerbox and smsbox of one configuration; stop() is safe to call at any time."""

    def __init__(self, bearerbox, smsbox, directory):
        self.bearerbox = bearerbox
        self.smsbox = smsbox
        self.dir = directory
        self.procs = []
        self.ports = None

    def _spawn(self, program, conf, name):
        err = open(os.path.join(self.dir, name + ".stderr"), "wb")
        # -v 3: errors only on stderr; the log files keep warnings.
        p = subprocess.Popen([program, "-v", "3", conf], stdin=subprocess.DEVNULL,
                             stdout=err, stderr=err, preexec_fn=_die_with_parent)
        err.close()
        self.procs.append((name, p))
        return p

    def status(self):
        """bearerbox's /status.txt, or '' when it does not answer."""
        url = f"http://127.0.0.1:{self.ports['admin']}/status.txt?password={ADMIN_PASSWORD}"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode("latin1")
        except OSError:
            return ""

    def _online(self):
        s = self.status()
        smsc_online = "SMSC connections:" in s and "(online" in s.split("SMSC connections:")[1]
        box_online = "smsbox:" in s and "(on-line" in s
        return smsc_online and box_online

    def _sendsms_listening(self):
        try:
            with socket.create_connection(("127.0.0.1", self.ports["sendsms"]), timeout=1):
                return True
        except OSError:
            return False

    def start(self, smsc, limit_s, attempts=3):
        """Both boxes up, the SMPP link bound and smsbox's sendsms port listening within
        `limit_s`; when a box exits first, again on new ports (`attempts` in all). Returns ''
        or why it failed."""
        why = ""
        for _ in range(attempts):
            self.stop()
            ports = {}
            while len(set(ports.values())) != 3:
                ports = {k: free_port() for k in ("admin", "smsbox", "sendsms")}
            self.ports = ports
            conf = os.path.join(self.dir, "kannel.conf")
            with open(conf, "w") as f:
                f.write(config_text(self.dir, ports, smsc))
            bearer = self._spawn(self.bearerbox, conf, "bearerbox")
            box = None
            until = time.monotonic() + limit_s
            while time.monotonic() < until:
                if bearer.poll() is not None or (box is not None and box.poll() is not None):
                    break
                if box is None and self.status():
                    box = self._spawn(self.smsbox, conf, "smsbox")
                if box is not None and self._online() and self._sendsms_listening():
                    return ""
                time.sleep(0.1)
            why = (f"Kannel not up within {limit_s} s (bearerbox {bearer.poll()}, smsbox "
                   f"{None if box is None else box.poll()}); status: {self.status()!r}")
            # A box that exited may have found its port taken; one still running is waiting
            # for the SMPP link, which other ports do not help.
            if bearer.poll() is None and (box is None or box.poll() is None):
                break
        self.stop()
        return why

    def stop(self):
        """SIGTERM to smsbox then bearerbox, SIGKILL to what is left after STOP_WAIT_S each."""
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(STOP_WAIT_S)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []

    def log_tail(self, lines=20):
        out = []
        for name in ("bearerbox", "smsbox", "smsc"):
            path = os.path.join(self.dir, name + ".log")
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    out.append(f"--- {name}.log\n" + "".join(f.readlines()[-lines:]))
        return "\n".join(out)
