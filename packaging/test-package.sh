#!/usr/bin/env bash
# Installs the built project into a clean temporary directory and checks what landed there.
#   test-package.sh install BUILD_DIR CMAKE   cmake --install BUILD_DIR --prefix TMP
#   test-package.sh deb BUILD_DIR CPACK       cpack -G DEB, then dpkg -x the .deb into TMP
# Both check the layout, run the installed smpp-router --help and --check on the installed
# configuration, and verify the systemd unit (systemd-analyze verify, skipped loudly when the
# machine has no systemd-analyze). Run by ctest (label packaging); exits non-zero on the first
# failure and says which check failed.
set -euo pipefail
if [ "${1:-}" = "--help" ] || [ $# -ne 3 ]; then
  echo "usage: packaging/test-package.sh install BUILD_DIR CMAKE | deb BUILD_DIR CPACK"
  [ "${1:-}" = "--help" ] && exit 0 || exit 2
fi
mode="$1" build="$(cd "$2" && pwd)" tool="$3"
work="$(mktemp -d "${TMPDIR:-/tmp}/smpp-package.XXXXXX")"
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
bins=(smpp-router smsc-sim esme-load smpp-dump pin-advisor smppctl)

# check_tree ROOT BINDIR ETCDIR UNITDIR DOCDIR: the layout under ROOT and the installed tools.
check_tree() {
  local root="$1" bindir="$2" etcdir="$3" unitdir="$4" docdir="$5"
  for b in "${bins[@]}"; do
    [ -x "$root$bindir/$b" ] || fail "$bindir/$b missing or not executable"
  done
  # Exactly the five tools: no test, benchmark or fuzz binary.
  local extra
  extra="$(ls "$root$bindir" | grep -vxF -e smpp-router -e smsc-sim -e esme-load -e smpp-dump \
           -e pin-advisor -e smppctl || true)"
  [ -z "$extra" ] || fail "unexpected files in $bindir: $extra"
  ok "binaries: ${bins[*]}"
  [ -f "$root$etcdir/router.toml" ] || fail "$etcdir/router.toml missing"
  [ -f "$root$docdir/README.md" ] || fail "$docdir/README.md missing"
  [ -f "$root$docdir/examples/router.toml" ] && [ -f "$root$docdir/examples/multi-tenant.toml" ] \
    || fail "$docdir/examples lacks the example configurations"
  ok "configuration $etcdir/router.toml, examples in $docdir/examples"
  local unit="$root$unitdir/smpp-router.service"
  [ -f "$unit" ] || fail "$unitdir/smpp-router.service missing"
  grep -qxF "ExecStart=$bindir/smpp-router --config $etcdir/router.toml" "$unit" \
    || fail "unit's ExecStart does not run $bindir/smpp-router on $etcdir/router.toml"
  for key in Restart=on-failure LimitNOFILE= NoNewPrivileges=yes ProtectSystem=strict \
             KillSignal=SIGTERM StateDirectory=smpp-router; do
    grep -q "^$key" "$unit" || fail "unit lacks $key"
  done
  ok "systemd unit $unitdir/smpp-router.service"
  for b in "${bins[@]}"; do
    "$root$bindir/$b" --help >/dev/null || fail "installed $b --help failed"
  done
  ok "every installed tool answers --help"
  local out
  out="$("$root$bindir/smpp-router" --config "$root$etcdir/router.toml" --check 2>&1)" \
    || fail "installed smpp-router --check rejects the installed router.toml: $out"
  grep -q "is valid" <<<"$out" || fail "smpp-router --check did not say valid: $out"
  ok "installed smpp-router --check accepts the installed router.toml"
  verify_unit "$root" "$unit"
}

verify_unit() {
  local root="$1" unit="$2"
  if ! command -v systemd-analyze >/dev/null; then
    echo "*** SKIPPED: systemd-analyze is not installed (package systemd): the unit file was" >&2
    echo "*** checked for its keys only, not verified by systemd ***" >&2
    return 0
  fi
  # verify checks that ExecStart's binary exists: for an unpacked image, a copy of the unit
  # whose absolute paths point into the image (--root would also want systemd's own units there).
  local checked="$unit" out
  if [ -n "$root" ]; then
    mkdir -p "$work/verify"
    checked="$work/verify/smpp-router.service"
    sed -E "s#(=|[[:space:]])/(usr|etc)/#\\1$root/\\2/#g" "$unit" >"$checked"
  fi
  if ! out="$(systemd-analyze verify "$checked" 2>&1)"; then
    fail "systemd-analyze verify: $out"
  fi
  # verify also reports problems as warnings with exit 0; none of them may name our unit.
  if grep -i "smpp-router.service" <<<"$out"; then
    fail "systemd-analyze verify complains about the unit: $out"
  fi
  ok "systemd-analyze verify"
}

case "$mode" in
  install)
    prefix="$work/prefix"
    "$tool" --install "$build" --prefix "$prefix" >"$work/install.log" \
      || { cat "$work/install.log"; fail "cmake --install"; }
    check_tree "" "$prefix/bin" "$prefix/etc/smpp-router" "$prefix/lib/systemd/system" \
      "$prefix/share/doc/smpp-router"
    ;;
  deb)
    command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps missing (package dpkg-dev)"
    (cd "$work" && "$tool" --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" \
      >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack -G DEB"; }
    deb="$(ls "$work"/out/smpp-router_*.deb 2>/dev/null | head -n 1)"
    [ -n "$deb" ] || { cat "$work/cpack.log"; fail "cpack made no smpp-router_*.deb"; }
    ok "built $(basename "$deb")"
    info="$(dpkg-deb --field "$deb" Package Version Depends Maintainer)"
    grep -qx "Package: smpp-router" <<<"$info" || fail "package name: $info"
    version="$(sed -n 's/^project(smpp_router VERSION \([0-9.]*\).*/\1/p' "$(dirname "$0")/../CMakeLists.txt")"
    grep -qx "Version: $version" <<<"$info" || fail "version is not $version from project(): $info"
    grep -q "^Depends: .*libc6" <<<"$info" || fail "Depends not computed by dpkg-shlibdeps: $info"
    grep -q "^Depends: .*libhwloc" <<<"$info" || fail "Depends lacks libhwloc: $info"
    ok "control: $(tr '\n' ' ' <<<"$info")"
    dpkg-deb -e "$deb" "$work/control"
    grep -qxF /etc/smpp-router/router.toml "$work/control/conffiles" \
      || fail "router.toml is not a conffile"
    ok "conffiles: /etc/smpp-router/router.toml"
    root="$work/root"
    mkdir "$root"
    dpkg -x "$deb" "$root"
    check_tree "$root" /usr/bin /etc/smpp-router /usr/lib/systemd/system /usr/share/doc/smpp-router
    ;;
  *) fail "unknown mode '$mode' (install or deb)" ;;
esac
echo "packaging $mode: all checks passed"
