#!/usr/bin/env bash
# Hierarchical Leiden of aegis-ingest against GraphRAG's (graspologic-native from PyPI) on
# the same graphs: Zachary's karate club, a planted partition of 1,000 nodes, and generated
# graphs of 100k and 1M relations (those of `aegis-bench --scenario leiden`), at
# max_cluster_size 10. Prints modularity (level 0 and leaves), detection time, peak RSS and
# the ratios ours / theirs as a Markdown table.
#
# Usage: scripts/bench/graspologic_compare.sh [--repeat N] [--graphs karate,sbm1k,rel100k,rel1m]
#        [--max-levels N] (our hierarchy's depth: 4, the default; graspologic's has no limit)
# Env: AEGIS_GRASPOLOGIC_VENV (~/.cache/aegis-ingest/graspologic-venv), SCALE (1: sizes of
#      the generated graphs × this), WORK_DIR ($TMPDIR/aegis-leiden-compare).
# Needs python3 (venv) and pip access to PyPI once; nothing else leaves the machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${AEGIS_GRASPOLOGIC_VENV:-$HOME/.cache/aegis-ingest/graspologic-venv}"
work="${WORK_DIR:-${TMPDIR:-/tmp}/aegis-leiden-compare}"

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import graspologic_native' 2>/dev/null; then
  "$venv/bin/pip" install --quiet graspologic-native
fi
"$venv/bin/pip" list 2>/dev/null | grep -i graspologic || true

(cd "$root" && cargo build --release --quiet -p aegis-bench)
bench="$root/target/release/aegis-bench"
mkdir -p "$work"
"$bench" --dump-edges "$work" --scale "${SCALE:-1}"
exec "$venv/bin/python" "$root/scripts/bench/graspologic_compare.py" \
  --bench "$bench" --dir "$work" "$@"
