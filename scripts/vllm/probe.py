#!/usr/bin/env python3
"""Probe a running vLLM server (started by up.sh) and print what it answers.

Checks /health, /v1/models, /metrics, /tokenize and /v1/chat/completions with
a json_schema response_format (the extraction schema the Rust client uses),
the finish_reason=length case, the prompt-too-long error, and measures
completion tokens and tokens/s at concurrency 1 and 8.

Only talks to $VLLM_HOST:$VLLM_PORT (127.0.0.1:8001 by default). Stdlib only,
plus `jsonschema` if importable (it is in the vLLM venv).

Usage: probe.py [--quick] [--json-out FILE]
Exit status 0 when every check passed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

HOST = os.environ.get("VLLM_HOST", "127.0.0.1")
PORT = os.environ.get("VLLM_PORT", "8001")
MODEL = os.environ.get("VLLM_MODEL_NAME", "tiny-llama")
BASE = f"http://{HOST}:{PORT}"

ENTITY_TYPES = ["person", "organization", "location", "event", "product", "concept", "date", "other"]
RELATION_TYPES = ["works_for", "located_in", "founded", "part_of", "acquired", "related_to", "other"]


def schema(max_items: int = 8, max_len: int = 60, min_items: int = 0) -> dict:
    s = {"type": "string", "maxLength": max_len}
    arr = lambda item: {"type": "array", "minItems": min_items, "maxItems": max_items, "items": item}
    entity = {
        "type": "object",
        "properties": {"name": s, "type": {"type": "string", "enum": ENTITY_TYPES}, "description": s},
        "required": ["name", "type", "description"],
        "additionalProperties": False,
    }
    relation = {
        "type": "object",
        "properties": {
            "source": s, "target": s,
            "type": {"type": "string", "enum": RELATION_TYPES},
            "description": s,
            "strength": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["source", "target", "type", "description", "strength"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"entities": arr(entity), "relations": arr(relation)},
        "required": ["entities", "relations"],
        "additionalProperties": False,
    }


DOC = ("Acme Corporation announced on Monday that it has acquired Globex Industries for 4.2 billion "
       "dollars. Chief executive Maria Lopez said the merger would create new jobs in Berlin.")


def chat_body(doc: str = DOC, *, seed: int = 7, max_tokens: int = 1500, sch: dict | None = None) -> dict:
    return {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "Extract entities and relations as JSON."},
            {"role": "user", "content": doc},
        ],
        "temperature": 0,
        "seed": seed,
        "max_completion_tokens": max_tokens,
        "chat_template_kwargs": {"enable_thinking": False},
        "response_format": {"type": "json_schema",
                            "json_schema": {"name": "extraction", "schema": sch or schema()}},
    }


def http(method: str, path: str, body: dict | None = None, timeout: float = 600):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"content-type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


FAILS: list[str] = []


def check(cond: bool, what: str) -> None:
    print(("  ok   " if cond else "  FAIL ") + what)
    if not cond:
        FAILS.append(what)


def validate(obj, sch) -> str | None:
    try:
        import jsonschema
    except ImportError:
        return None
    try:
        jsonschema.validate(obj, sch)
        return None
    except jsonschema.ValidationError as e:
        return e.message


def run_chat(body):
    t0 = time.perf_counter()
    code, text = http("POST", "/v1/chat/completions", body)
    return code, text, time.perf_counter() - t0


def bench(n_conc: int, n_req: int, sch: dict) -> dict:
    bodies = [chat_body(f"{DOC} Document number {i}.", seed=100 + i, sch=sch) for i in range(n_req)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(n_conc) as ex:
        res = list(ex.map(run_chat, bodies))
    wall = time.perf_counter() - t0
    toks, lats, bad = [], [], 0
    for code, text, lat in res:
        if code != 200:
            bad += 1
            continue
        j = json.loads(text)
        toks.append(j["usage"]["completion_tokens"])
        lats.append(lat)
        try:
            if validate(json.loads(j["choices"][0]["message"]["content"]), sch):
                bad += 1
        except json.JSONDecodeError:
            bad += 1
    return {"concurrency": n_conc, "requests": n_req, "errors_or_invalid": bad,
            "wall_s": round(wall, 2), "completion_tokens_total": sum(toks),
            "completion_tokens_min_median_max": [min(toks), statistics.median(toks), max(toks)] if toks else None,
            "tokens_per_s": round(sum(toks) / wall, 1),
            "latency_s_median_max": [round(statistics.median(lats), 2), round(max(lats), 2)] if lats else None}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip the throughput runs")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    facts: dict = {}

    print(f"== {BASE}")
    code, _ = http("GET", "/health")
    check(code == 200, f"GET /health -> {code}")

    code, text = http("GET", "/v1/models")
    models = json.loads(text)
    m0 = models["data"][0]
    facts["models"] = {"id": m0["id"], "max_model_len": m0.get("max_model_len")}
    check(code == 200 and m0["id"] == MODEL, f"GET /v1/models -> {code}, {facts['models']}")

    code, text = http("GET", "/metrics")
    for name in ("vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"):
        line = next((l for l in text.splitlines() if l.startswith(name + "{")), None)
        check(line is not None, f"/metrics has {line}")

    code, text = http("POST", "/tokenize", {"model": MODEL, "prompt": "Hello world"})
    facts["tokenize_prompt"] = json.loads(text)
    check(code == 200 and "tokens" in facts["tokenize_prompt"], f"POST /tokenize prompt -> {code} {text}")
    code, text = http("POST", "/tokenize", {"model": MODEL, "add_generation_prompt": True,
                                            "messages": [{"role": "user", "content": "Hello"}]})
    facts["tokenize_messages"] = json.loads(text)
    check(code == 200, f"POST /tokenize messages -> {code} {text}")

    # Structured output
    sch = schema()
    code, text, lat = run_chat(chat_body())
    j = json.loads(text)
    content = j["choices"][0]["message"]["content"]
    facts["chat"] = {"status": code, "finish_reason": j["choices"][0]["finish_reason"],
                     "usage": j["usage"], "latency_s": round(lat, 2), "content_prefix": content[:200]}
    print("  chat:", json.dumps(facts["chat"]))
    try:
        obj = json.loads(content)
        err = validate(obj, sch)
        check(err is None, f"content is strict JSON valid against the schema ({err or 'valid'})")
    except json.JSONDecodeError as e:
        check(False, f"content is JSON ({e})")
    check(j["choices"][0]["finish_reason"] == "stop", "finish_reason stop")
    code2, text2, _ = run_chat(chat_body())
    check(json.loads(text2)["choices"][0]["message"]["content"] == content, "same seed+temperature 0 -> same content")

    # Truncation
    code, text, _ = run_chat(chat_body(max_tokens=10))
    j = json.loads(text)
    facts["truncated"] = {"status": code, "finish_reason": j["choices"][0]["finish_reason"],
                          "usage": j["usage"], "content": j["choices"][0]["message"]["content"]}
    print("  truncated:", json.dumps(facts["truncated"]))
    check(j["choices"][0]["finish_reason"] == "length", "max_completion_tokens=10 -> finish_reason length")

    # Prompt longer than max-model-len
    long_doc = "Acme Corporation acquired Globex Industries. " * 400
    code, text, _ = run_chat(chat_body(long_doc))
    facts["too_long"] = {"status": code, "body": json.loads(text)}
    print("  too long:", code, text)
    check(code == 400, "prompt > max_model_len -> 400")
    # Prompt fits but prompt + max_completion_tokens does not
    code, text, _ = run_chat(chat_body("Acme Corporation acquired Globex Industries. " * 120, max_tokens=1500))
    facts["prompt_plus_max_tokens_too_long"] = {"status": code, "body": text[:600]}
    print("  prompt+max_tokens too long:", code, text[:600])

    if not args.quick:
        full = schema(min_items=8)
        for name, s in (("schema maxItems 8", sch), ("schema forced full (minItems 8)", full)):
            for conc, n in ((1, 4), (8, 16)):
                r = bench(conc, n, s)
                facts.setdefault("bench", []).append({"schema": name, **r})
                print(f"  bench [{name}]:", json.dumps(r))

    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(facts, f, indent=2)
    print("== %s" % ("all checks passed" if not FAILS else f"{len(FAILS)} FAILED: {FAILS}"))
    return 0 if not FAILS else 1


if __name__ == "__main__":
    sys.exit(main())
