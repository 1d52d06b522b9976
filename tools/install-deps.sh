#!/usr/bin/env bash
# Installs the Debian packages listed in tools/debian-packages.txt that are missing.
# Needs root for apt-get; without root it names what is missing and exits 1.
set -euo pipefail
if [ "${1:-}" = "--help" ]; then
  echo "usage: tools/install-deps.sh   install the missing packages of tools/debian-packages.txt (root)"
  echo "                              and the npm packages of tests/peers (npm ci)"
  exit 0
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mapfile -t wanted < <(grep -v '^\s*#' "$here/debian-packages.txt" | sed 's/\s.*//' | grep -v '^$')
missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# npm ships inside some nodejs builds (NodeSource) and is a Debian package of its own otherwise.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "smpp-router: missing Debian packages: ${missing[*]}" >&2
    echo "run this command as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "smpp-router: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections || true
  if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi
# tests/peers: the node-smpp peers, exactly as package-lock.json pins them (npm registry only).
if [ ! -d "$here/../tests/peers/node_modules" ]; then
  (cd "$here/../tests/peers" && npm ci --prefer-offline --no-audit --no-fund)
fi
