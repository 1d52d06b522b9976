#!/usr/bin/env python3
# Usage: tools/campaign_rate.py BIN_DIR N RUNS [normal]
# Starts smsc-sim and smpp-http from BIN_DIR on loopback (the database in a temporary
# directory) and measures, per run, a campaign of N numbers without a rate, from its POST to
# every recipient final, and in the same run the baseline: the same N numbers in one
# POST /v1/messages, from the POST to every receipt matched. "normal" as the 4th argument
# writes [store] synchronous = "normal" (default "full").
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

bin_dir, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
synchronous = "normal" if len(sys.argv) > 4 and sys.argv[4] == "normal" else "full"
work = tempfile.mkdtemp()


def port_of(proc):
    for line in proc.stderr:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            return m.group(1)
    sys.exit(proc.args[0] + " did not start")


sim = subprocess.Popen([bin_dir + "/smsc-sim", "--listen", "127.0.0.1:0"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
sim_port = port_of(sim)
with open(work + "/http.toml", "w") as f:
    f.write(f'[http]\nlisten = "127.0.0.1:0"\n[store]\npath = "{work}/state.db"\n'
            f'synchronous = "{synchronous}"\n[smsc]\nport = {sim_port}\n[[clients]]\n'
            'name = "demo"\nkey_hash = "blake2b256:e229ec1be2faa7a5dec6aad7aff1591e1e9b1683ed3f'
            '08cce11be9bd06dd2c67"\nfrom = "DEMO"\n')
http = subprocess.Popen([bin_dir + "/smpp-http", "--config", work + "/http.toml"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
base = "http://127.0.0.1:" + port_of(http)
headers = {"Authorization": "Bearer demo-key", "Content-Type": "application/json"}


def call(method, path, body=None):
    request = urllib.request.Request(base + path, data=body, headers=headers, method=method)
    with urllib.request.urlopen(request) as r:
        return json.loads(r.read())


numbers = [str(447300000000 + i) for i in range(n)]
try:
    for run in range(runs):
        start = time.monotonic()
        c = call("POST", "/v1/campaigns",
                 json.dumps({"template": "Hi", "recipients": numbers}).encode())
        while call("GET", "/v1/campaigns/" + c["id"])["final"] != n:
            time.sleep(0.01)
        campaign = n / (time.monotonic() - start)
        start = time.monotonic()
        call("POST", "/v1/messages", json.dumps({"to": numbers, "text": "Hi"}).encode())
        while call("GET", "/v1/status")["receipts_matched"] < (2 * run + 2) * n:
            time.sleep(0.01)
        batch = n / (time.monotonic() - start)
        print(f"run {run}: campaign {campaign:.0f} recipients/s; baseline, one POST "
              f"/v1/messages: {batch:.0f} messages/s (synchronous {synchronous})", flush=True)
finally:
    http.terminate()
    sim.terminate()
    http.wait()
    sim.wait()
    shutil.rmtree(work)
