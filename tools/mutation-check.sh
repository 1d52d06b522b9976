#!/usr/bin/env bash
# Mutation check: does breaking a behaviour make a test fail? A developer's check, not run by CI
# (tools/test.sh does not call it): run it after changing a test or the code it guards.
#
# Each tests/mutation/*.patch is a unified diff against the current tree that breaks one
# behaviour, with a header saying which and how to catch it:
#   # behaviour: what must hold
#   # mutation:  how the patch breaks it
#   # build:     the ninja targets to build (the test binary, and the tools an end-to-end test runs)
#   # run:       a test binary under tests/ of the build, with its arguments (one line per run)
# For each patch the script applies it to a copy of the source tree, builds the targets with the
# release preset in their own build directory, runs the tests and reports "killed" (a run failed;
# the failing tests are named) or "SURVIVED". The working tree is never written: the copy lives
# in build/mutation/src (refreshed from the working tree, tracked and untracked files, on each
# start) and builds in build/mutation/build, so the second run rebuilds only what a mutation
# touches. Before the mutants, every run of every patch must pass on the unmutated copy.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: tools/mutation-check.sh [-j N] [--list] [--check] [PATCH...]

Applies each mutation in tests/mutation/ (or each PATCH named: a path, or a file name there,
.patch optional) to a copy of the tree in build/mutation/src, builds only the test binaries it
names (release preset, build directory build/mutation/build), runs them and reports per mutation
"killed" with the tests that failed, or "SURVIVED". The working tree is never modified; the copy
is restored after each mutation, also on Ctrl-C. Not part of CI: a developer's check (about ten
minutes for the first run on 2 cores, which builds the libraries; a minute or two after that).

  -j N       build jobs (default 2)
  --list     print each mutation's behaviour and test, build nothing
  --check    check that each patch still applies to the working tree, build nothing (a ctest
             entry runs this, so that a change to the code a patch touches updates the patch)
  -h, --help this help

Exit status: 0 every mutation was killed, 1 one survived, 2 usage error or the check could not
run (a patch no longer applies, a build failed, or a test fails without any mutation).
EOF
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work="$root/build/mutation"
src="$work/src"
build="$work/build"
jobs=2
list_only=0
check_only=0
patches=()
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    -j) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }; jobs=$2; shift ;;
    --list) list_only=1 ;;
    --check) check_only=1 ;;
    -*) echo "mutation-check: unknown option $1" >&2; usage >&2; exit 2 ;;
    *)
      p=$1
      [[ -f $p ]] || p="$root/tests/mutation/$1"
      [[ -f $p ]] || p="$root/tests/mutation/$1.patch"
      [[ -f $p ]] || { echo "mutation-check: no patch $1" >&2; exit 2; }
      patches+=("$(cd "$(dirname "$p")" && pwd)/$(basename "$p")")
      ;;
  esac
  shift
done
if ((${#patches[@]} == 0)); then
  shopt -s nullglob
  patches=("$root"/tests/mutation/*.patch)
  shopt -u nullglob
fi
((${#patches[@]} > 0)) || { echo "mutation-check: no patches in tests/mutation/" >&2; exit 2; }

# The value of a header field of a patch: a "# field: value" line before the diff, continued
# on the "#   ..." lines after it. A field given on several lines (run) prints one per line.
field() {
  awk -v f="$2" '
    /^# [a-z]+:/ { on = index($0, "# " f ":") == 1; if (on) { sub(/^# [a-z]+: */, ""); line = line sep $0; sep = "\n" } next }
    /^#   / { if (on) { sub(/^# +/, ""); line = line " " $0 } next }
    { on = 0 }
    END { if (line != "") print line }' "$1"
}
# The files a patch changes (its +++ lines, without the b/ prefix).
patched_files() { sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$1"; }

if ((list_only)); then
  for p in "${patches[@]}"; do
    echo "$(basename "$p"): $(field "$p" behaviour)"
    echo "    mutation: $(field "$p" mutation)"
    field "$p" run | sed 's/^/    run: /'
  done
  exit 0
fi

if ((check_only)); then
  stale=0
  for p in "${patches[@]}"; do
    if (cd "$root" && patch -p1 --dry-run -s -f <"$p" >/dev/null 2>&1); then
      echo "$(basename "$p"): applies"
    else
      echo "$(basename "$p"): does NOT apply to the working tree; regenerate it (see tests/mutation/README.md)"
      stale=1
    fi
  done
  exit $((stale ? 2 : 0))
fi

# ---- the copy of the tree -------------------------------------------------------------------

applied=""  # the patch applied to the copy now, if any
restore() {
  [[ -n $applied ]] || return 0
  # The working tree's version, written anew: its new mtime makes the next build recompile it.
  local f
  while read -r f; do
    if [[ -n $f ]]; then cp "$root/$f" "$src/$f"; fi
  done < <(patched_files "$applied")
  applied=""
}
# shellcheck disable=SC2317  # called by the trap
on_exit() {
  local rc=$?
  restore
  exit "$rc"
}
trap on_exit EXIT
trap 'echo "mutation-check: interrupted; the copy is restored" >&2; exit 130' INT TERM

# Brings build/mutation/src to the working tree's content: files that differ are copied (so
# their mtime changes and they are rebuilt), files gone from the tree are removed.
sync_copy() {
  mkdir -p "$src"
  local listed="$work/files.txt" present="$work/present.txt"
  (cd "$root" && git ls-files --cached --others --exclude-standard) | sort -u |
    while read -r f; do if [[ -f $root/$f ]]; then echo "$f"; fi; done > "$listed"
  (cd "$src" && find . -type f -printf '%P\n') | sort > "$present"
  comm -13 "$listed" "$present" | while read -r f; do rm -f "$src/$f"; done
  while read -r f; do
    if ! cmp -s "$root/$f" "$src/$f"; then
      mkdir -p "$(dirname "$src/$f")"
      cp "$root/$f" "$src/$f"
    fi
  done < "$listed"
}

# ---- building and running -------------------------------------------------------------------

log="$work/last.log"
build_targets() {  # the targets of patch $1; false when the build failed (its output in $log)
  local targets
  read -r -a targets <<<"$(field "$1" build | tr '\n' ' ')"
  nice cmake --build "$build" -j "$jobs" --target "${targets[@]}" > "$log" 2>&1 && return 0
  # Ninja ends on Ctrl-C by itself (so bash does not act on the signal): an interrupt, not a
  # failed build.
  if grep -q 'interrupted by user' "$log"; then
    echo "mutation-check: interrupted; the copy is restored" >&2
    exit 130
  fi
  return 1
}
failed_tests=""
run_tests() {  # every run of patch $1; false when one failed, its failing tests in failed_tests
  local line ok=0 cmd
  failed_tests=""
  while read -r line; do
    [[ -n $line ]] || continue
    read -r -a cmd <<<"$line"
    if ! (cd "$build" && "tests/${cmd[0]}" "${cmd[@]:1}") > "$log" 2>&1; then
      ok=1
      local names
      names=$(sed -n 's/^\[  FAILED  \] \([A-Za-z0-9_/.]*\)\( (.*\|, .*\)\?$/\1/p' "$log" |
        grep -v '^[0-9]' | sort -u | tr '\n' ' ')
      names=${names% }
      failed_tests+="${cmd[0]}: ${names:-(no test named: exit status or crash, see $log)}; "
    fi
  done < <(field "$1" run)
  return "$ok"
}

echo "mutation-check: copying the tree to $src"
sync_copy
for p in "${patches[@]}"; do
  (cd "$src" && patch -p1 --dry-run -s -f < "$p" > /dev/null) || {
    echo "mutation-check: $(basename "$p") does not apply to the current tree: update it" >&2
    exit 2
  }
  [[ -n $(field "$p" build) && -n $(field "$p" run) ]] || {
    echo "mutation-check: $(basename "$p") has no '# build:' or '# run:' line" >&2
    exit 2
  }
done
if [[ ! -f $build/build.ninja ]]; then
  echo "mutation-check: configuring $build (release preset)"
  cmake -S "$src" --preset release -B "$build" > "$work/configure.log" 2>&1 || {
    echo "mutation-check: cmake failed, see $work/configure.log" >&2
    exit 2
  }
fi

echo "mutation-check: the tests pass without a mutation"
for p in "${patches[@]}"; do
  build_targets "$p" || { echo "mutation-check: build failed, see $log" >&2; exit 2; }
  run_tests "$p" || {
    echo "mutation-check: fails without a mutation: ${failed_tests%; } (see $log)" >&2
    exit 2
  }
done

survived=0
results=()
n=0
for p in "${patches[@]}"; do
  n=$((n + 1))
  name=$(basename "$p" .patch)
  echo "mutation-check: [$n/${#patches[@]}] $name: $(field "$p" behaviour)"
  applied=$p
  (cd "$src" && patch -p1 -s -f < "$p" > /dev/null)
  if ! build_targets "$p"; then
    echo "mutation-check: $name does not build, see $log" >&2
    exit 2
  fi
  if run_tests "$p"; then
    results+=("SURVIVED  $name")
    survived=1
  else
    results+=("killed    $name by ${failed_tests%; }")
  fi
  restore
done

echo
echo "mutation-check: results"
printf '  %s\n' "${results[@]}"
exit "$survived"
