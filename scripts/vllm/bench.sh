#!/usr/bin/env bash
# Run vLLM's own load generator (`vllm bench serve`) against the server from
# up.sh, with the random dataset (prompts made from the local tokenizer, so no
# download) over /v1/chat/completions. Only 127.0.0.1 is contacted.
#
# Usage: scripts/vllm/bench.sh [--schema] [EXTRA `vllm bench serve` ARGS...]
#   --schema   send the extraction json_schema response_format (+ enable_thinking
#              false, ignore_eos false) in every request via --extra-body; requests
#              then end when the JSON is complete (max_completion_tokens 1500)
# Env: BENCH_NUM_PROMPTS (32), BENCH_CONCURRENCY (8), BENCH_INPUT_LEN (256),
#      BENCH_OUTPUT_LEN (128; 1500 with --schema), BENCH_RESULT_DIR ($AEGIS_CACHE/bench)
# Later arguments override earlier ones (argparse), so e.g.
#   scripts/vllm/bench.sh --max-concurrency 1 --num-prompts 8
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

schema=0
if [[ "${1:-}" == "--schema" ]]; then schema=1; shift; fi
result_dir="${BENCH_RESULT_DIR:-$AEGIS_CACHE/bench}"
if [[ $schema -eq 1 ]]; then out_len="${BENCH_OUTPUT_LEN:-1500}"; else out_len="${BENCH_OUTPUT_LEN:-128}"; fi
mkdir -p "$result_dir"

args=(
  bench serve
  --backend openai-chat --endpoint /v1/chat/completions
  --base-url "$VLLM_BASE_URL" --model "$VLLM_MODEL_NAME"
  --tokenizer "$VLLM_MODEL_DIR"
  --dataset-name random
  --random-input-len "${BENCH_INPUT_LEN:-256}" --random-output-len "$out_len"
  --num-prompts "${BENCH_NUM_PROMPTS:-32}" --max-concurrency "${BENCH_CONCURRENCY:-8}"
  --seed 0 --temperature 0 --disable-tqdm
  --save-result --result-dir "$result_dir"
)
if [[ $schema -eq 1 ]]; then
  extra_body="$(VLLM_SCRIPTS_DIR="$VLLM_SCRIPTS_DIR" "$VLLM_PY" -B - <<'PY'
import json, sys
sys.path.insert(0, __import__("os").environ["VLLM_SCRIPTS_DIR"])
from probe import schema
print(json.dumps({
    # the random dataset forces ignore_eos=true; the grammar's end must stop generation
    "ignore_eos": False,
    "chat_template_kwargs": {"enable_thinking": False},
    "response_format": {"type": "json_schema",
                        "json_schema": {"name": "extraction", "schema": schema()}},
}))
PY
)"
  args+=(--extra-body "$extra_body")
fi
exec "$VLLM_PY" "$VLLM_SCRIPTS_DIR/vllm_cli.py" "${args[@]}" "$@"
