#!/usr/bin/env bash
# The main job on its embedded default (kernel sockets): build (release), start smsc-sim as the
# upstream SMSC and smpp-router with config/router.toml, run a short esme-load demo with live
# progress, then leave the router running for your own ESMEs until Ctrl-C.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${1:-}" = "--help" ]; then
  cat <<USAGE
usage: tools/run.sh [--demo-seconds N] [--no-wait]
  Builds everything (release preset), starts smsc-sim on 127.0.0.1:2776 and smpp-router on
  127.0.0.1:2775 (config/router.toml: system_id demo, password demo), runs esme-load for
  N seconds (default 5) with a delivery receipt asked for every message, prints how many were
  matched, then starts smpp-http (config/http.toml: the HTTP API on 127.0.0.1:8780, bound to the
  router as demo), sends one message through it with curl and prints the curl line to send your
  own, then keeps both running until Ctrl-C (or stops at once with --no-wait).
USAGE
  exit 0
fi
demo_seconds=5
wait_for_user=1
while [ $# -gt 0 ]; do
  case "$1" in
    --demo-seconds) demo_seconds="$2"; shift 2 ;;
    --no-wait) wait_for_user=0; shift ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
"$root/tools/install-deps.sh"
cmake --preset release -S "$root" >/dev/null
cmake --build "$root/build/release" -j"$(nproc)"
bin="$root/build/release/bin"
logs="$(mktemp -d /tmp/smpp-router-run.XXXXXX)"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in 2775 2776 8780; do
  if port_open "$port"; then
    echo "run.sh: port $port is already in use on 127.0.0.1; stop what uses it first" >&2
    exit 1
  fi
done

"$bin/smsc-sim" --listen 127.0.0.1:2776 --dlr-delay-ms 100 >"$logs/smsc-sim.json" 2>"$logs/smsc-sim.log" &
sim_pid=$!
"$bin/smpp-router" --config "$root/config/router.toml" 2>"$logs/smpp-router.log" &
router_pid=$!
http_pid=
cleanup() {
  [ -n "$http_pid" ] && { kill -TERM "$http_pid" 2>/dev/null && wait "$http_pid" 2>/dev/null || true; }
  kill -TERM "$router_pid" 2>/dev/null && wait "$router_pid" 2>/dev/null || true
  kill -TERM "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM
# Up to 30 s: the correlation table (10 M entries by default) is written in full at start.
for _ in $(seq 1 600); do port_open 2775 && break; sleep 0.05; done
port_open 2775 || { cat "$logs/smpp-router.log" >&2; echo "run.sh: smpp-router did not start" >&2; exit 1; }
sleep 0.3  # the upstream binds come up

echo "== esme-load demo: 4 sessions, window 64, ${demo_seconds} s through smpp-router to smsc-sim,"
echo "   a delivery receipt asked for every message (smsc-sim sends it 100 ms after the response)"
"$bin/esme-load" --connect 127.0.0.1:2775 --system-id demo --password demo --sessions 4 \
  --window 64 --duration "$demo_seconds" --dlr --dlr-wait 5 --progress \
  --json "$logs/esme-load.json" || true
echo "   results: $logs/esme-load.json"
python3 - "$logs/esme-load.json" <<'PY' || true
import json, sys
r = json.load(open(sys.argv[1]))
untracked = r.get("receipt_ids_untracked", 0)
print(f"   {r['accepted']} accepted ({sum(r['errors'].values())} refused), {r['receipts']} receipts; "
      f"of the first {r['accepted'] - untracked} accepted (the ids esme-load tracks), "
      f"{r['receipts_matched']} matched their receipt, {r['receipts_duplicate']} twice")
PY
# The router logs what it could not deliver or note (at most one line per worker every 10 s).
grep -E "unmatched|evicted|refused|expired" "$logs/smpp-router.log" | sed 's/^/   /' || true

# The sending side: smpp-http, an ESME of the router, for businesses that speak HTTP.
"$bin/smpp-http" --config "$root/config/http.toml" --store "$logs/smpp-http.db" >"$logs/smpp-http.json" 2>"$logs/smpp-http.log" &
http_pid=$!
for _ in $(seq 1 100); do port_open 8780 && break; sleep 0.05; done
send_line="curl -s -H 'Authorization: Bearer demo-key' -H 'Content-Type: application/json' \\
  -d '{\"to\": \"447700900123\", \"text\": \"Hello from smpp-http\"}' http://127.0.0.1:8780/v1/messages"
if port_open 8780; then
  echo "== smpp-http on 127.0.0.1:8780: one message through it (the demo key is an example to replace):"
  echo "   $send_line"
  answer="$(curl -s -H 'Authorization: Bearer demo-key' -H 'Content-Type: application/json' \
    -d '{"to": "447700900123", "text": "Hello from smpp-http"}' http://127.0.0.1:8780/v1/messages || true)"
  echo "   -> $answer"
  id="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["messages"][0]["id"])' "$answer" 2>/dev/null || true)"
  if [ -n "$id" ]; then
    # Its receipt comes 100 ms after the SMSC's answer: asked for up to 3 s.
    for _ in $(seq 1 30); do
      state="$(curl -s -H 'Authorization: Bearer demo-key' "http://127.0.0.1:8780/v1/messages/$id" || true)"
      case "$state" in *'"delivered"'*) break ;; esac
      sleep 0.1
    done
    echo "   GET /v1/messages/$id -> $state"
  fi
  echo "   the page (send, upload a campaign CSV, follow it): http://127.0.0.1:8780/ with the key demo-key"
else
  echo "run.sh: smpp-http did not start (see $logs/smpp-http.log)" >&2
fi
echo
echo "smpp-router is running: connect your ESMEs to 127.0.0.1:2775 (system_id demo, password demo);"
echo "traffic goes to smsc-sim on 127.0.0.1:2776. smpp-http takes messages on 127.0.0.1:8780"
echo "(GET /v1/messages/ID for the state; http/README.md). Logs: $logs. Stop all with Ctrl-C."
if [ "$wait_for_user" -eq 1 ]; then
  wait "$router_pid"
fi
