#!/usr/bin/env bash
# Wait until the server answers GET /health with 200, printing progress.
# Fails early if the server started by up.sh has exited.
# Usage: scripts/vllm/wait.sh [TIMEOUT_SECONDS]   (default $VLLM_WAIT_TIMEOUT = 600)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

timeout="${1:-$VLLM_WAIT_TIMEOUT}"
start=$(date +%s)
deadline=$((start + timeout))
next_report=$((start + 10))
echo "vllm: waiting for $VLLM_BASE_URL/health (up to ${timeout}s)"
while :; do
  code="$(vllm_health_code)"
  now=$(date +%s)
  if [[ "$code" == 200 ]]; then
    echo "vllm: ready after $((now - start))s on $VLLM_BASE_URL"
    exit 0
  fi
  if pgid="$(vllm_recorded_pgid)"; then
    if ! vllm_group_alive "$pgid"; then
      echo "vllm: server (pgid $pgid) exited before becoming ready; last lines of $VLLM_SERVER_LOG:" >&2
      tail -n 40 "$VLLM_SERVER_LOG" >&2 || true
      exit 1
    fi
  elif [[ "$code" == 000 ]]; then
    echo "vllm: not running (no pid file $VLLM_PID_FILE) and nothing answers; run up.sh" >&2
    exit 1
  fi
  if (( now >= deadline )); then
    echo "vllm: not ready after ${timeout}s (last /health status $code); last lines of $VLLM_SERVER_LOG:" >&2
    tail -n 20 "$VLLM_SERVER_LOG" >&2 || true
    exit 1
  fi
  if (( now >= next_report )); then
    last="$(tail -n 1 "$VLLM_SERVER_LOG" 2>/dev/null | cut -c1-150 || true)"
    echo "vllm: ... $((now - start))s, /health=$code | $last"
    next_report=$((now + 10))
  fi
  sleep 1
done
