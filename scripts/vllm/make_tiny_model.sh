#!/usr/bin/env bash
# Build the tiny random-weight model with the vLLM venv's python (needs install.sh first).
# Usage: scripts/vllm/make_tiny_model.sh [--force] [--out DIR]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [[ ! -x "$VLLM_PY" ]]; then
  echo "make_tiny_model.sh: no venv at $VLLM_VENV; run scripts/vllm/install.sh first" >&2
  exit 1
fi
export AEGIS_CACHE TINY_MODEL_DIR
exec "$VLLM_PY" "$VLLM_SCRIPTS_DIR/make_tiny_model.py" "$@"
