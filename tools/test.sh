#!/usr/bin/env bash
# Every test: formatting, a warnings-as-errors release build with all tests (unit, interop with
# tshark and libsmpp34, fuzz corpora replay), the same tests under ASan+UBSan, and a short
# libFuzzer smoke run of every fuzz target. Exits non-zero on the first failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${1:-}" = "--help" ]; then
  echo "usage: tools/test.sh [--quick]   --quick: skip the ASan build and the fuzz smoke run"
  exit 0
fi
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs="$(nproc)"
"$root/tools/install-deps.sh"
cd "$root"

step() { printf '\n=== %s ===\n' "$*"; }

step "clang-format check"
mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.c' 2>/dev/null || find codec net dataplane control tools tests bench -name '*.[ch]pp')
clang-format --dry-run --Werror "${sources[@]}"

step "release build (warnings are errors) and tests"
cmake --preset release -DSMPP_WERROR=ON >/dev/null
cmake --build build/release -j"$jobs"
ctest --test-dir build/release --output-on-failure -j"$jobs" --timeout 600

if [ "$quick" -eq 0 ]; then
  step "ASan+UBSan build and tests"
  cmake --preset asan -DSMPP_WERROR=ON >/dev/null
  cmake --build build/asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan --output-on-failure -j"$jobs" --timeout 900

  step "TSan build and the concurrent tests (rings, cross-worker hand-off)"
  cmake --preset tsan -DSMPP_WERROR=ON >/dev/null
  mapfile -t mt_targets < <(cd tests && ls */*_mt_test.cpp | sed -E 's#^([a-z]+)/(.*)\.cpp$#\1_\2#')
  cmake --build build/tsan -j"$jobs" --target "${mt_targets[@]}"
  TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build/tsan -L concurrent --output-on-failure --timeout 600

  step "libFuzzer smoke run (clang, ASan+UBSan), 20 s per target"
  cmake --preset fuzz >/dev/null
  cmake --build build/fuzz -j"$jobs" --target fuzz_decode fuzz_framer fuzz_receipt fuzz_tcp_segment
  for t in decode framer receipt tcp_segment; do
    work="$(mktemp -d)"
    build/fuzz/bin/fuzz_$t -max_total_time=20 -dict=tests/fuzz/smpp.dict \
      -artifact_prefix="$work/" "$work" "tests/fuzz/corpus/$t" 2>&1 | tail -n 2
    rm -rf "$work"
  done
fi
step "all tests passed"
