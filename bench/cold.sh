#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# One whole cold run, as a newcomer meets it: a fresh clone of a commit into a temporary directory, empty Go
# caches (GOCACHE, GOMODCACHE of its own) and pip's cache off, then ./scripts/test (or ./scripts/demo), timed.
# Prints the split: bootstrap (each build and install, from bootstrap's own lines), ansible-test sanity, pytest,
# the whole run, with the CPU it used and the load average at the start and the end.
#
#   bench/cold.sh [--demo] [--keep] [COMMIT] [-- PYTEST ARGS...]
#     COMMIT       what to clone (default HEAD; uncommitted changes are not in a clone)
#     --demo       run ./scripts/demo instead of ./scripts/test
#     --keep       keep the temporary directory (clone, caches, log) and say where it is
#     PYTEST ARGS  passed to ./scripts/test (e.g. -- tests/unit/extensions), to try the script on a few tests
#
# Debian packages (PostgreSQL, kubectl, chromium, ...) are installed once per machine and are not undone.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
what=test keep=0 commit=HEAD
while [ "$#" -gt 0 ]; do
  case "$1" in
    --demo) what=demo ;;
    --keep) keep=1 ;;
    --) shift; break ;;
    -*) echo "usage: bench/cold.sh [--demo] [--keep] [COMMIT] [-- PYTEST ARGS...] (got '$1')" >&2; exit 2 ;;
    *) commit="$1" ;;
  esac
  shift
done
[ "$what" = test ] || [ "$#" -eq 0 ] || { echo "bench/cold.sh: pytest arguments need ./scripts/test, not --demo" >&2; exit 2; }
sha="$(git -C "$ROOT" rev-parse --verify "$commit^{commit}")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/helmops-cold-XXXXXX")"
# Go's module cache is read-only: made writable to be removed
trap 'if [ "$keep" = 1 ]; then echo "cold: kept $WORK"; else chmod -R u+w "$WORK" 2>/dev/null || true; rm -rf "$WORK"; fi' EXIT
git clone --quiet --no-checkout "$ROOT" "$WORK/clone"
git -C "$WORK/clone" checkout --quiet "$sha"
export GOCACHE="$WORK/go-build" GOMODCACHE="$WORK/go-mod" PIP_NO_CACHE_DIR=1 PIP_CACHE_DIR="$WORK/pip-cache"
mkdir -p "$GOCACHE" "$GOMODCACHE"
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "cold: ./scripts/$what in a fresh clone of ${sha:0:12} ($WORK/clone), empty Go caches, pip cache off;" \
  "$(nproc) cores, load average $(load)"
log="$WORK/run.log" times="$WORK/time.txt"
start=$SECONDS rc=0
( cd "$WORK/clone" && /usr/bin/time -f "%U %S" -o "$times" "./scripts/$what" "$@" ) 2>&1 | tee "$log" || rc=$?
whole=$((SECONDS - start))
read -r user sys < <(tail -1 "$times")
echo
echo "cold: ---- split (seconds; load average at the end $(load)) ----"
sed -n 's/^bootstrap: \(built .* in [0-9]* s\).*/cold: bootstrap \1/p; s/^bootstrap: \(installed .* in [0-9]* s\)/cold: bootstrap \1/p;
        s/^bootstrap: \(compiled .* in [0-9]* s\).*/cold: bootstrap \1/p; s/^bootstrap: \(ready .* in [0-9]* s\)/cold: bootstrap \1/p;
        s/^test: \(ansible-test sanity \(passed\|failed\).*\)/cold: \1/p; s/^test: \(pytest took [0-9]* s.*\)/cold: \1/p;
        s/^demo: \(set-up took [0-9]* s\).*/cold: demo \1/p; s/^demo: \(done in [0-9]* s\).*/cold: demo \1/p' "$log"
grep -E "^=+ .*(passed|failed|error).* in " "$log" | tail -1 | sed 's/^/cold: pytest: /' || true
echo "cold: whole ./scripts/$what: ${whole} s wall ($((whole / 60)) min $((whole % 60)) s), CPU ${user} s user + ${sys} s sys, exit ${rc}"
exit "$rc"
