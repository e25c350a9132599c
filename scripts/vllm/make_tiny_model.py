#!/usr/bin/env python3
"""Build a tiny random-weight Llama model that vLLM can serve on a CPU.

No weights can be downloaded here, so the model is made locally:
  * a byte-level BPE tokenizer trained with `tokenizers` on the English text
    below (every byte is in the alphabet, so any string can be encoded, which
    structured output needs),
  * a Jinja chat template (system/user/assistant; `enable_thinking` and other
    kwargs are accepted and ignored),
  * a LlamaForCausalLM with a few million random float32 parameters
    (deterministic seed), max_position_embeddings 4096.

Usage: make_tiny_model.py [--out DIR] [--force]
Default DIR: ${AEGIS_CACHE:-~/.cache/aegis-ingest}/tiny-model
Idempotent: a stamp (hash of this file) makes a re-run a no-op.
Run it with the vLLM venv's python (it needs torch, transformers, tokenizers).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

SEED = 1234
MAX_POS = 4096
VOCAB_TARGET = 2048  # BPE stops earlier if the corpus runs out of merges
CONFIG = dict(
    hidden_size=256,
    intermediate_size=512,
    num_hidden_layers=2,
    num_attention_heads=4,   # head_dim 64: a size every vLLM CPU attention backend supports
    num_key_value_heads=2,
    max_position_embeddings=MAX_POS,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
    tie_word_embeddings=True,
    initializer_range=0.2,   # larger than usual so greedy picks vary more
    hidden_act="silu",
    attention_bias=False,
    mlp_bias=False,
)

BOS, EOS, PAD = "<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
SPECIALS = [BOS, EOS, PAD, IM_START, IM_END]

# ChatML-like. Accepts string content or OpenAI-style lists of text parts.
# Undefined kwargs such as enable_thinking are simply ignored by Jinja; the
# explicit reference below only documents that it is accepted.
CHAT_TEMPLATE = (
    "{%- set _thinking = enable_thinking if enable_thinking is defined else false -%}"
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] not in ['system', 'user', 'assistant'] -%}"
    "{{- raise_exception('Unsupported role: ' + message['role']) -}}"
    "{%- endif -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}"
    "{{- message['content'] -}}"
    "{%- elif message['content'] is not none -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

CORPUS = """
The quick brown fox jumps over the lazy dog. A journey of a thousand miles begins with a single step.
Acme Corporation announced on Monday that it has acquired Globex Industries for 4.2 billion dollars.
The deal, approved by the board of directors, makes Acme the largest supplier of industrial sensors in Europe.
Chief executive Maria Lopez said the merger would create new jobs in Berlin, Madrid and Warsaw.
Globex was founded in 1998 by John Smith and Wei Chen, two engineers who met at the University of Toronto.
The company employs 12,000 people and reported revenue of 900 million dollars last year.
Regulators in Brussels are expected to review the acquisition before the end of the quarter.
Dr. Amara Okafor, a researcher at the Lagos Institute of Technology, published a study on river pollution.
The study found that heavy metals in the Niger Delta exceeded safety limits at twenty of forty sites.
She worked with the World Health Organization and the Ministry of Environment to collect samples.
In 1969, Neil Armstrong and Buzz Aldrin landed on the Moon during the Apollo 11 mission, operated by NASA.
Michael Collins remained in orbit aboard the command module Columbia while his colleagues explored the surface.
The city council of Springfield voted to build a new library near the central park.
Mayor Susan Park said construction will start in April and cost about 30 million dollars.
The library will be designed by the architecture firm Baker and Associates, based in Chicago.
Shakespeare wrote Hamlet around 1600. The play is set in Denmark and follows Prince Hamlet.
Hamlet seeks revenge against his uncle Claudius, who murdered his father and married his mother Gertrude.
Marie Curie was a physicist and chemist who conducted pioneering research on radioactivity.
She was the first woman to win a Nobel Prize and the only person to win Nobel Prizes in two sciences.
Her husband Pierre Curie shared the 1903 Nobel Prize in Physics with her and Henri Becquerel.
The Amazon River flows through Peru, Colombia and Brazil before reaching the Atlantic Ocean.
It carries more water than any other river and supports the largest rainforest on Earth.
OpenRiver Labs released version 2.0 of its data platform, which integrates with cloud storage services.
The software was developed in partnership with Northwind Traders and tested by hospitals in Ohio.
An earthquake of magnitude 6.1 struck near the coast of Chile on Tuesday, damaging roads and bridges.
Rescue teams from the Red Cross arrived within hours to help residents in the affected villages.
The central bank raised interest rates by a quarter of a percentage point to fight inflation.
Economists at the International Monetary Fund warned that growth could slow in emerging markets.
Entities are people, organizations, locations, events, products, dates and concepts mentioned in a text.
Relations connect a source entity to a target entity, such as works for, located in, founded, part of,
acquired, married to, member of, born in, produced by, or related to. Each relation has a strength
between 0 and 1, where 1 means the text states it directly and 0.5 means it is only implied.
Extract all entities and relations from the document and answer with a single JSON object.
{"entities": [{"name": "Acme Corporation", "type": "organization", "description": "A supplier of industrial sensors."},
{"name": "Maria Lopez", "type": "person", "description": "Chief executive of Acme Corporation."},
{"name": "Berlin", "type": "location", "description": "A city where new jobs will be created."}],
"relations": [{"source": "Maria Lopez", "target": "Acme Corporation", "type": "works_for",
"description": "Maria Lopez is the chief executive of Acme.", "strength": 0.9},
{"source": "Acme Corporation", "target": "Globex Industries", "type": "acquired",
"description": "Acme acquired Globex for 4.2 billion dollars.", "strength": 1.0}]}
{"entities": [{"name": "Marie Curie", "type": "person", "description": "Physicist and chemist."},
{"name": "Nobel Prize", "type": "event", "description": "An award she won twice."}],
"relations": [{"source": "Marie Curie", "target": "Pierre Curie", "type": "married_to",
"description": "Pierre was her husband.", "strength": 0.95}]}
You are a careful assistant. Answer the user's question in plain English. Be brief and precise.
What is the capital of France? The capital of France is Paris. How many days are in a week? Seven.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 20 25 50 75 100 0.1 0.25 0.5 0.75 0.8 0.9 1.0 2024 2025.
Punctuation and symbols: , . ; : ! ? ' " ( ) [ ] { } < > / \\ | - _ + = * & % $ # @ ~ `
"""


def stamp_value() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def build(out: Path) -> dict:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.manual_seed(SEED)

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_TARGET,
        min_frequency=2,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    lines = [ln for ln in CORPUS.splitlines() if ln.strip()]
    tok.train_from_iterator(lines * 3, trainer=trainer)

    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=IM_END,  # end of an assistant turn
        pad_token=PAD,
        unk_token=None,
        model_max_length=MAX_POS,
        clean_up_tokenization_spaces=False,
    )
    hf_tok.chat_template = CHAT_TEMPLATE

    n_tok = len(hf_tok)
    vocab_size = (n_tok + 63) // 64 * 64  # pad the embedding to a multiple of 64
    ids = {t: hf_tok.convert_tokens_to_ids(t) for t in SPECIALS}
    config = LlamaConfig(
        vocab_size=vocab_size,
        bos_token_id=ids[BOS],
        eos_token_id=[ids[IM_END], ids[EOS]],
        pad_token_id=ids[PAD],
        torch_dtype="float32",
        **CONFIG,
    )
    model = LlamaForCausalLM(config).to(torch.float32).eval()
    n_params = sum(p.numel() for p in model.parameters())

    model.save_pretrained(out, safe_serialization=True)
    hf_tok.save_pretrained(out)
    # Make sure the template is in tokenizer_config.json too (older readers look there).
    tc_path = out / "tokenizer_config.json"
    tc = json.loads(tc_path.read_text())
    tc.setdefault("chat_template", CHAT_TEMPLATE)
    tc_path.write_text(json.dumps(tc, indent=2, ensure_ascii=False) + "\n")
    gen = {"bos_token_id": ids[BOS], "eos_token_id": [ids[IM_END], ids[EOS]],
           "pad_token_id": ids[PAD], "do_sample": False}
    (out / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")

    # Self-check: template renders with enable_thinking, tokenizer round-trips.
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi {\"a\": 1}"}]
    rendered = hf_tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True,
                                          enable_thinking=False)
    assert rendered.endswith("<|im_start|>assistant\n"), rendered
    sample = "Grüße, naïve café — 東京 {\"x\": [1, 2.5]}\n"
    assert hf_tok.decode(hf_tok.encode(sample, add_special_tokens=False)) == sample
    return {"params": n_params, "tokenizer_len": n_tok, "vocab_size": vocab_size,
            "special_ids": ids}


def main() -> int:
    cache = Path(os.environ.get("AEGIS_CACHE", Path.home() / ".cache" / "aegis-ingest"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path,
                    default=Path(os.environ.get("TINY_MODEL_DIR", cache / "tiny-model")))
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    out: Path = args.out
    stamp = out / ".aegis-tiny-model.stamp"
    if not args.force and stamp.is_file() and stamp.read_text().strip() == stamp_value():
        print(f"tiny-model: already built at {out} (stamp ok; --force to rebuild)")
        return 0

    t0 = time.time()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-model-", dir=out.parent))
    try:
        info = build(tmp)
        if out.exists():
            shutil.rmtree(out)
        os.chmod(tmp, 0o755)
        for f in tmp.iterdir():
            os.chmod(f, 0o644)
        tmp.rename(out)  # atomic: a half-built model is never left at `out`
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    stamp.write_text(stamp_value() + "\n")
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    print(f"tiny-model: built {out} in {time.time() - t0:.1f}s: {info['params']:,} params, "
          f"tokenizer {info['tokenizer_len']} tokens (vocab_size {info['vocab_size']}), "
          f"{size / 1e6:.1f} MB, special ids {info['special_ids']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
