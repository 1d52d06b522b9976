#!/usr/bin/env bash
# Every test: formatting, a warnings-as-errors release build with all tests (unit, interop with
# tshark and libsmpp34, fuzz corpora replay), the same tests under ASan+UBSan, and a short
# libFuzzer smoke run of every fuzz target. Exits non-zero on the first failure.
#
# A skipped test is never a pass: each ctest run ends with the names of the tests that skipped
# and why; in CI (CI=true) a skip fails the run, and a program the tests need that is missing
# fails the configure step (SMPP_REQUIRE_TEST_TOOLS). Rate and latency bounds are Release
# figures: the sanitizer passes leave out the "perf" entries and set SMPP_NO_RATE_BOUNDS=1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${1:-}" = "--help" ]; then
  echo "usage: tools/test.sh [--quick]   --quick: skip the ASan build and the fuzz smoke run"
  exit 0
fi
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs="$(nproc)"
ci=0
[ "${CI:-}" = "true" ] && ci=1
require_tools=OFF
[ "$ci" -eq 1 ] && require_tools=ON
"$root/tools/install-deps.sh"
cd "$root"

step() { printf '\n=== %s ===\n' "$*"; }

# ctest --test-dir DIR ARGS..., then the skipped entries by name, each with the "*** SKIPPED"
# lines of its output (tests/support/gtest_main.cpp and run_conformance.py print them; ctest's
# LastTest.log keeps every entry's output). In CI a skip fails the step.
run_ctest() {
  local dir="$1"
  shift
  local log="$dir/Testing/test-sh-ctest.log"
  mkdir -p "$dir/Testing"
  local rc=0
  ctest --test-dir "$dir" --output-on-failure "$@" 2>&1 | tee "$log" || rc=$?
  local skipped=()
  mapfile -t skipped < <(sed -n 's/^[[:space:]]*[0-9][0-9]* - \(.*\) (Skipped)$/\1/p' "$log")
  if [ ${#skipped[@]} -gt 0 ]; then
    printf '\n*** %d ctest entries SKIPPED (not passed):\n' "${#skipped[@]}"
    local t
    for t in "${skipped[@]}"; do
      printf '  %s\n' "$t"
      awk -v name="$t" '/^[0-9]+\/[0-9]+ Test: / { current = $3 }
                        current == name && /\*\*\* SKIPPED/ { print "      " $0 }' \
        "$dir/Testing/Temporary/LastTest.log"
    done
    if [ "$ci" -eq 1 ]; then
      echo "*** CI=true: a skipped test fails the run"
      rc=1
    fi
  fi
  return "$rc"
}

step "clang-format check"
mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.c' 2>/dev/null || find codec net dataplane control tools tests bench -name '*.[ch]pp')
clang-format --dry-run --Werror "${sources[@]}"

step "release build (warnings are errors) and tests"
cmake --preset release -DSMPP_WERROR=ON -DSMPP_REQUIRE_TEST_TOOLS="$require_tools"
cmake --build build/release -j"$jobs"
# The "perf" entries (rate and latency bounds) run alone: RUN_SERIAL.
run_ctest build/release -j"$jobs" --timeout 600

if [ "$quick" -eq 0 ]; then
  step "ASan+UBSan build and tests (no rate or latency bounds)"
  cmake --preset asan -DSMPP_WERROR=ON -DSMPP_REQUIRE_TEST_TOOLS="$require_tools"
  cmake --build build/asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    SMPP_NO_RATE_BOUNDS=1 run_ctest build/asan -LE perf -j"$jobs" --timeout 900

  step "TSan build and the concurrent tests (rings, hand-off, the real router with its admin API, DPDK steering)"
  cmake --preset tsan -DSMPP_WERROR=ON -DSMPP_REQUIRE_TEST_TOOLS="$require_tools"
  mapfile -t mt_targets < <(cd tests && ls */*_mt_test.cpp | sed -E 's#^([a-z]+)/(.*)\.cpp$#\1_\2#')
  cmake --build build/tsan -j"$jobs" --target "${mt_targets[@]}"
  TSAN_OPTIONS=halt_on_error=1 SMPP_NO_RATE_BOUNDS=1 \
    run_ctest build/tsan -L concurrent -LE perf --timeout 600

  step "libFuzzer smoke run (clang, ASan+UBSan, stops at the first report), 20 s per target"
  cmake --preset fuzz >/dev/null
  fuzz_targets=(decode framer receipt text tcp_segment router_session config admin_body)
  cmake --build build/fuzz -j"$jobs" --target "${fuzz_targets[@]/#/fuzz_}"
  # The first report ends the run with its stack, and libFuzzer keeps the input that caused it.
  export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_stacktrace=1
  export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
  for t in "${fuzz_targets[@]}"; do
    # New inputs that reach new code go to build/fuzz-corpus/$t (kept between runs; merge them
    # into tests/fuzz/corpus with tools/fuzz-merge.sh $t); this run's log and crashes to
    # build/fuzz-artifacts/$t/<time>.
    corpus="build/fuzz-corpus/$t" artifacts="build/fuzz-artifacts/$t/$(date +%Y%m%d-%H%M%S)"
    mkdir -p "$corpus" "$artifacts"
    dict="tests/fuzz/$t.dict"
    [ -f "$dict" ] || dict=tests/fuzz/smpp.dict
    if ! build/fuzz/bin/fuzz_$t -max_total_time=20 -timeout=25 -dict="$dict" \
        -artifact_prefix="$artifacts/" "$corpus" "tests/fuzz/corpus/$t" \
        "tests/fuzz/regressions/$t" >"$artifacts/smoke.log" 2>&1; then
      tail -n 80 "$artifacts/smoke.log"
      echo "fuzz_$t failed; the whole log: $artifacts/smoke.log"
      for a in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
        [ -f "$a" ] || continue
        echo "reproducer: $a"
        echo "  rerun:     build/fuzz/bin/fuzz_$t $a"
        echo "  keep it:   cp $a tests/fuzz/regressions/$t/NAME (replayed by ctest fuzz_${t}_corpus)"
      done
      exit 1
    fi
    grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)' "$artifacts/smoke.log" | sed "s/^/fuzz_$t: /" || true
  done
  echo "new inputs are in build/fuzz-corpus/<target>; tools/fuzz-merge.sh TARGET adds them to tests/fuzz/corpus"
fi
step "all tests passed"
