#!/usr/bin/env bash
# Stop the server started by up.sh: SIGTERM to its whole process group, wait
# up to $VLLM_STOP_TIMEOUT (15) seconds, then SIGKILL. Idempotent: fine when
# nothing is running.
# Usage: scripts/vllm/down.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

stop_timeout="${VLLM_STOP_TIMEOUT:-15}"
if ! pgid="$(vllm_recorded_pgid)"; then
  rm -f "$VLLM_PID_FILE"
  echo "vllm: not running (no pid file for port $VLLM_PORT)"
  exit 0
fi
if ! vllm_group_alive "$pgid"; then
  rm -f "$VLLM_PID_FILE"
  echo "vllm: not running (stale pid file, pgid $pgid gone)"
  exit 0
fi

echo "vllm: stopping pgid $pgid (SIGTERM)"
kill -TERM -- "-$pgid" 2>/dev/null || true
start=$(date +%s)
while vllm_group_alive "$pgid"; do
  if (( $(date +%s) - start >= stop_timeout )); then
    echo "vllm: still alive after ${stop_timeout}s, SIGKILL"
    kill -KILL -- "-$pgid" 2>/dev/null || true
    sleep 0.5
    break
  fi
  sleep 0.2
done
if vllm_group_alive "$pgid"; then
  echo "vllm: process group $pgid still has live members" >&2
  exit 1
fi
rm -f "$VLLM_PID_FILE"
echo "vllm: stopped after $(( $(date +%s) - start ))s"
