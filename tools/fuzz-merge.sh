#!/usr/bin/env bash
# Adds to a fuzz target's committed seed corpus (tests/fuzz/corpus/TARGET) the inputs a fuzz run
# kept (build/fuzz-corpus/TARGET, or the directories given) that reach code the corpus does not
# reach yet, with the fuzz preset's binary: libFuzzer -set_cover_merge=1 on edges alone
# (-use_counters=0), a small set of inputs, so the committed corpus stays small. Review and
# commit the result.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 1 ] || [ "$1" = "--help" ]; then
  echo "usage: tools/fuzz-merge.sh TARGET [FROM_DIR...]   (default FROM_DIR: build/fuzz-corpus/TARGET)"
  echo "targets: $(cd "$root/tests/fuzz/corpus" && echo *)"
  [ $# -ge 1 ] && exit 0 || exit 2
fi
t="$1"
shift
corpus="$root/tests/fuzz/corpus/$t"
bin="$root/build/fuzz/bin/fuzz_$t"
[ -d "$corpus" ] || { echo "no corpus $corpus"; exit 2; }
if [ ! -x "$bin" ]; then
  echo "build it first: cmake --preset fuzz && cmake --build build/fuzz --target fuzz_$t"
  exit 2
fi
from=("$@")
[ ${#from[@]} -gt 0 ] || from=("$root/build/fuzz-corpus/$t")
before=$(find "$corpus" -type f | wc -l)
ASAN_OPTIONS=detect_leaks=0 "$bin" -set_cover_merge=1 -use_counters=0 "$corpus" "${from[@]}" 2>&1 | grep -E '^MERGE-OUTER' || true
after=$(find "$corpus" -type f | wc -l)
echo "tests/fuzz/corpus/$t: $before -> $after inputs ($(du -sh "$corpus" | cut -f1)); review, then git add it"
