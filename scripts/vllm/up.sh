#!/usr/bin/env bash
# Start the vLLM OpenAI-compatible server (tiny model, CPU) in the background,
# in its own session/process group. Writes pid/pgid to $VLLM_PID_FILE and the
# server output to $VLLM_SERVER_LOG (both under $AEGIS_CACHE).
#
# Usage: scripts/vllm/up.sh [--wait] [-- EXTRA_VLLM_ARGS...]
#   --wait   block until GET /health answers 200 (deadline $VLLM_WAIT_TIMEOUT s)
# Env: VLLM_PORT (8001), VLLM_HOST (127.0.0.1), VLLM_MODEL_NAME (tiny-llama),
#      VLLM_MAX_MODEL_LEN (2048), VLLM_MAX_NUM_SEQS (32), VLLM_EXTRA_ARGS,
#      VLLM_MODEL_DIR (default TINY_MODEL_DIR), AEGIS_CACHE, VLLM_CPU_KVCACHE_SPACE (GiB, default 1).
# Idempotent: if our server is already running it says so (and still waits
# with --wait).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

wait_ready=0
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --wait) wait_ready=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "up.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

if pgid="$(vllm_recorded_pgid)" && vllm_group_alive "$pgid"; then
  echo "vllm: already running (pgid $pgid) on $VLLM_BASE_URL; log $VLLM_SERVER_LOG"
  if [[ $wait_ready -eq 1 ]]; then exec "$VLLM_SCRIPTS_DIR/wait.sh"; fi
  exit 0
fi
rm -f "$VLLM_PID_FILE"

if [[ ! -x "$VLLM_PY" ]]; then
  echo "up.sh: no venv at $VLLM_VENV; run scripts/vllm/install.sh (make vllm-cpu)" >&2
  exit 1
fi
if [[ ! -f "$VLLM_MODEL_DIR/config.json" ]]; then
  echo "up.sh: no model at $VLLM_MODEL_DIR; run scripts/vllm/make_tiny_model.sh (make tiny-model) or make_real_model.sh (make real-model)" >&2
  exit 1
fi
code="$(vllm_health_code)"
if [[ "$code" != "000" ]]; then
  echo "up.sh: something not started by up.sh already answers on $VLLM_BASE_URL (GET /health -> $code)" >&2
  exit 1
fi

mkdir -p "$VLLM_RUN_DIR" "$VLLM_LOG_DIR"
# The KV cache of the tiny model is ~4 KiB/token; 1 GiB is plenty and keeps RAM down.
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}"

args=(
  -m vllm.entrypoints.openai.api_server
  --model "$VLLM_MODEL_DIR"
  --served-model-name "$VLLM_MODEL_NAME"
  --host "$VLLM_HOST" --port "$VLLM_PORT"
  --max-model-len "$VLLM_MAX_MODEL_LEN"
  --max-num-seqs "$VLLM_MAX_NUM_SEQS"
  --dtype float32
  # A per-request `seed` with chunked prefill crashes the engine.
  --no-enable-chunked-prefill
  --structured-outputs-config '{"backend":"guidance","disable_any_whitespace":true}'
  # usage.prompt_tokens_details.cached_tokens: the prompt tokens prefix caching served,
  # counted per engine in report.json (two-pass's second request reuses the chunk's prefix).
  --enable-prompt-tokens-details
)
# shellcheck disable=SC2206
[[ -n "${VLLM_EXTRA_ARGS:-}" ]] && args+=($VLLM_EXTRA_ARGS)
args+=("${extra[@]}")

{
  echo "=== up.sh $(date -Is) port=$VLLM_PORT"
  printf '%q ' "$VLLM_PY" "${args[@]}"; echo
} >>"$VLLM_SERVER_LOG"

# setsid: own session and process group, so down.sh can signal the whole tree
# (API server + engine core + workers). The inner shell records its own pid,
# which becomes the server's pid via exec and is the group id.
# shellcheck disable=SC2016  # $$ etc. expand in the inner shell
PIDF="$VLLM_PID_FILE" PORT="$VLLM_PORT" setsid bash -c '
  printf "pid=%s\npgid=%s\nport=%s\n" "$$" "$$" "$PORT" >"$PIDF.tmp"
  mv "$PIDF.tmp" "$PIDF"
  unset PIDF PORT
  exec "$0" "$@"
' "$VLLM_PY" "${args[@]}" </dev/null >>"$VLLM_SERVER_LOG" 2>&1 &

for _ in $(seq 1 50); do [[ -f "$VLLM_PID_FILE" ]] && break; sleep 0.1; done
if ! pgid="$(vllm_recorded_pgid)"; then
  echo "up.sh: server did not record its pid; see $VLLM_SERVER_LOG" >&2
  exit 1
fi
echo "vllm: started (pgid $pgid) on $VLLM_BASE_URL, model $VLLM_MODEL_NAME; log $VLLM_SERVER_LOG"
if [[ $wait_ready -eq 1 ]]; then exec "$VLLM_SCRIPTS_DIR/wait.sh"; fi
