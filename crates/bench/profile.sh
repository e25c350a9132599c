#!/bin/sh
# Where aegis-ingest spends its CPU in the `client-cost` set-up: perf (software cpu-clock
# event; hardware counters are often missing in VMs) on one run of the release binary
# against the fake engine (256 slots, 1 ms), one paragraph = one chunk.
#
#   crates/bench/profile.sh [CHUNKS] [BIN_DIR] [WORK_DIR]
#
# Needs: perf (apt-get install -y linux-perf), the corpus made by aegis-bench
# (`aegis-bench --scenario client-cost` creates para-20000-100), and the binaries of the
# `profiling` profile (the release build with line tables: `make profiling`; the release
# profile itself ships without debug info).
# Writes WORK_DIR/perf-flat.data (self time) and WORK_DIR/perf-graph.data (DWARF call
# graphs), and prints the top symbols by self time, a breakdown of inclusive time by
# pipeline stage (perfcat.py) and the top symbols by inclusive time.
set -eu
CHUNKS=${1:-20000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${2:-${CARGO_TARGET_DIR:-$ROOT/target}/profiling}
WORK=${3:-${TMPDIR:-/tmp}/aegis-bench}
CORPUS=$WORK/corpora/para-$CHUNKS-100
[ -d "$CORPUS" ] || { echo "no corpus $CORPUS: run aegis-bench --scenario client-cost first" >&2; exit 2; }
PROMPTS=$WORK/prompts-snapshot
[ -d "$PROMPTS" ] || PROMPTS=$ROOT/prompts

"$BIN/fake-engine" --api openai --port 0 --slots 256 --fixed-ms 1 --per-token-ms 0 >"$WORK/fake-profile.out" 2>&1 &
FAKE=$!
trap 'kill $FAKE 2>/dev/null || true' EXIT INT TERM
for _ in 1 2 3 4 5 6 7 8 9 10; do
  grep -q listening "$WORK/fake-profile.out" 2>/dev/null && break
  sleep 0.2
done
URL=$(sed -n 's/^listening on //p' "$WORK/fake-profile.out")
case "$URL" in http://127.0.0.1:*) ;; *) echo "fake did not start: $URL" >&2; exit 1 ;; esac

run() {
  rm -rf "$WORK/out/profile"
  AEGIS_PROMPTS_DIR=$PROMPTS perf record "$@" -- \
    "$BIN/aegis-ingest" run "$CORPUS" --out "$WORK/out/profile" --vllm-url "$URL" --no-ollama \
    --concurrency 256 --chunk-tokens 60 --chunk-overlap 0 --quiet
}

# 1. Flat profile, every thread of aegis-ingest, 1999 Hz.
run -e cpu-clock -F 1999 -o "$WORK/perf-flat.data"
# 2. Call graphs by DWARF unwinding (the profiling profile has debug = 1), lower rate.
run -e cpu-clock -F 499 --call-graph dwarf,32768 -o "$WORK/perf-graph.data"

echo "== self time by symbol (top 40)"
perf report -i "$WORK/perf-flat.data" --no-children --sort symbol --percent-limit 0.5 --stdio 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | sed 's/  *- *- *$//; s/ *$//' | head -40
echo "== self time by shared object"
perf report -i "$WORK/perf-flat.data" --no-children --sort dso --stdio 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | head -10
echo "== self time by thread name"
perf report -i "$WORK/perf-flat.data" --no-children --sort comm --stdio 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | head -10
echo "== inclusive time by category (first matching rule per call stack, see perfcat.py)"
perf script -i "$WORK/perf-graph.data" --no-inline -F comm,tid,ip,sym 2>/dev/null > "$WORK/perf-graph.txt"
python3 "$ROOT/crates/bench/perfcat.py" "$WORK/perf-graph.txt" parse_answer
echo "== inclusive time (children) by symbol (top 60)"
perf report -i "$WORK/perf-graph.data" --children --no-inline --sort symbol --percent-limit 2 --stdio -g none 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | sed 's/  *- *- *$//; s/ *$//' | grep -v 'tokio::\|std::\|core::' | head -60
