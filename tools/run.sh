#!/usr/bin/env bash
# The main job on its embedded default. Until the router lands, it builds everything (release)
# and decodes the bundled sample capture with smpp-dump, one JSON object per PDU.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${1:-}" = "--help" ]; then
  echo "usage: tools/run.sh [PCAP]   build (release) and decode PCAP (default: the bundled sample)"
  exit 0
fi
"$root/tools/install-deps.sh"
cmake --preset release -S "$root" >/dev/null
cmake --build "$root/build/release" -j"$(nproc)"
"$root/build/release/bin/smpp-dump" --pcap "${1:-$root/tools/smpp-dump/samples/sample.pcap}"
