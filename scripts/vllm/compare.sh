#!/usr/bin/env bash
# Compare aegis-ingest's generation throughput with vLLM's own load client
# (`vllm bench serve`, via bench.sh) against the SAME running server
# (scripts/vllm/up.sh), at the same concurrency, prompt length and (as far as
# the model allows) output length. Only 127.0.0.1 is contacted.
#
# Usage: scripts/vllm/compare.sh            (writes a Markdown table to stdout)
# Env:   CONCURRENCIES ("1 8 32"), REPEATS (2), DOCS_PER_C (16), MAX_DOCS (256),
#        PLAIN (1 = also run bench.sh without --schema, output length forced
#        to aegis' mean completion length), COMPARE_DIR (/tmp/aegis-compare),
#        AEGIS_BIN (target/release/aegis-ingest)
#
# Per concurrency C and repeat r (alternating: aegis, vLLM --schema, vLLM plain):
#  1. aegis-ingest run on a generated corpus of N = min(DOCS_PER_C*C, MAX_DOCS)
#     small Markdown docs (one chunk each), --concurrency C --fresh --quiet.
#  2. bench.sh --schema with --max-concurrency C --num-prompts N,
#     --random-input-len / --random-prefix-len chosen so that the server sees
#     the same mean prompt length and the same shared (prefix-cached) prefix as
#     aegis' requests, max tokens = aegis' output budget; the model decides the
#     answer length (it stops when the JSON closes), as for aegis.
#  3. (PLAIN=1) bench.sh without schema, --random-output-len = aegis' mean
#     completion tokens (the random dataset forces ignore_eos, so exact).
# During every run a sampler polls the server's /metrics every 0.1 s; the
# "active window" is from the first sample with a request running/waiting to
# the last sample where vllm:generation_tokens_total grew. Server-side token
# counts (prompt, generation, prefix-cache hits) come from the same deltas, so
# both clients are measured by the same yardstick.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
repo="$(cd "$here/../.." && pwd)"

CONCURRENCIES="${CONCURRENCIES:-1 8 32}"
REPEATS="${REPEATS:-2}"
DOCS_PER_C="${DOCS_PER_C:-16}"
MAX_DOCS="${MAX_DOCS:-256}"
PLAIN="${PLAIN:-1}"
dir="${COMPARE_DIR:-/tmp/aegis-compare}"
bin="${AEGIS_BIN:-$repo/target/release/aegis-ingest}"
url="$VLLM_BASE_URL"
case "$url" in http://127.0.0.1:*) ;; *) echo "compare.sh: refusing non-loopback url $url" >&2; exit 2 ;; esac
[[ -x "$bin" ]] || { echo "compare.sh: build first: cargo build --release -p aegis-ingest" >&2; exit 1; }
[[ "$(vllm_health_code)" == "200" ]] || { echo "compare.sh: server not up; make vllm-up vllm-wait" >&2; exit 1; }
mkdir -p "$dir"
PY=python3
# The chat template adds this many tokens around one user message
# (`<|begin_of_text|><|im_start|>user\n` ... `<|im_end|>\n<|im_start|>assistant\n`).
CHAT_OVERHEAD="${CHAT_OVERHEAD:-12}"

make_corpus() { # $1 = dir, $2 = n docs
  "$PY" - "$1" "$2" <<'PY'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
rnd = random.Random(7)
orgs = ["Acme Corporation", "Globex Industries", "Initech", "Umbrella Labs",
        "Stark Holdings", "Wayne Enterprises", "Hooli", "Vandelay Imports"]
people = ["Alice Martin", "Bob Chen", "Carla Diaz", "David Okafor", "Eva Novak", "Frank Li"]
places = ["Berlin", "Lagos", "Osaka", "Denver", "Lyon", "Austin"]
for i in range(n):
    a, b = rnd.sample(orgs, 2); p = rnd.choice(people); c = rnd.choice(places)
    with open(os.path.join(d, f"doc{i:04d}.md"), "w") as f:
        f.write(f"# Note {i}\n\n{a} acquired {b} in {c}. {p} leads the merged team "
                f"at {a}. The deal was announced on day {i}.\n")
PY
}

# sampler: start -> writes samples to $1 until $1.stop exists
start_sampler() {
  rm -f "$1" "$1.stop"
  "$PY" - "$url/metrics" "$1" <<'PY' &
import os, sys, time, urllib.request, json
u, out = sys.argv[1], sys.argv[2]
keys = ["vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:generation_tokens_total",
        "vllm:prompt_tokens_total", "vllm:request_success_total",
        "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total"]
with open(out, "w") as f:
    while not os.path.exists(out + ".stop"):
        t = time.time()
        try:
            txt = urllib.request.urlopen(u, timeout=2).read().decode()
        except Exception:
            time.sleep(0.1); continue
        v = {k: 0.0 for k in keys}
        for line in txt.splitlines():
            if line.startswith("#"): continue
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in v:
                v[name] += float(line.rsplit(" ", 1)[1])
        v["t"] = (t + time.time()) / 2
        f.write(json.dumps(v) + "\n"); f.flush()
        time.sleep(max(0.0, 0.1 - (time.time() - t)))
PY
  sampler_pid=$!
  sleep 0.5
}
stop_sampler() { sleep 0.6; touch "$1.stop"; wait "$sampler_pid" || true; }

window() { # samples file -> json with active window and server-side deltas
  "$PY" - "$1" <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
b, e = s[0], s[-1]
busy = [x for x in s if x["vllm:num_requests_running"] + x["vllm:num_requests_waiting"] > 0]
t0 = busy[0]["t"] if busy else b["t"]
g = [x for i, x in enumerate(s) if i and x["vllm:generation_tokens_total"] > s[i-1]["vllm:generation_tokens_total"]]
t1 = g[-1]["t"] if g else e["t"]
d = lambda k: e[k] - b[k]
print(json.dumps({"window_s": round(t1 - t0, 3), "gen": d("vllm:generation_tokens_total"),
  "prompt": d("vllm:prompt_tokens_total"), "reqs": d("vllm:request_success_total"),
  "pc_queries": d("vllm:prefix_cache_queries_total"), "pc_hits": d("vllm:prefix_cache_hits_total")}))
PY
}

results="$dir/results.jsonl"
: >"$results"
for r in $(seq 1 "$REPEATS"); do
  for c in $CONCURRENCIES; do
    n=$(( DOCS_PER_C * c )); (( n > MAX_DOCS )) && n=$MAX_DOCS
    corpus="$dir/corpus-$n"; [[ -d "$corpus" ]] || make_corpus "$corpus" "$n"
    # --- aegis-ingest
    out="$dir/aegis-c$c-r$r"
    start_sampler "$dir/s.jsonl"
    "$bin" run "$corpus" --out "$out" --vllm-url "$url" --no-ollama --concurrency "$c" --fresh --quiet
    stop_sampler "$dir/s.jsonl"
    w="$(window "$dir/s.jsonl")"
    read -r mp mc budget pre < <("$PY" - "$out/report.json" "$w" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); w = json.loads(sys.argv[2]); v = r["engines"]["vllm"]
mp = v["prompt_tokens"] / v["requests"]; mc = v["completion_tokens"] / v["requests"]
# shared prefix served from the prefix cache, per request (server side)
pre = w["pc_hits"] / max(1, w["reqs"])
print(round(mp), round(mc), r["settings"]["max_output_tokens"], int(pre))
PY
)
    "$PY" - "$out/report.json" "$w" "$c" "$r" "$n" >>"$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); w = json.loads(sys.argv[2]); v = r["engines"]["vllm"]
print(json.dumps({"side": "aegis", "c": int(sys.argv[3]), "r": int(sys.argv[4]), "n": int(sys.argv[5]),
  "reqs": v["requests"], "prompt_tokens": v["prompt_tokens"], "completion_tokens": v["completion_tokens"],
  "wall_s": r["wall_seconds"], "tok_s_wall": v["completion_tokens"] / r["wall_seconds"],
  "tok_s": w["gen"] / w["window_s"], "server": w, "chunks": r["chunks"]["total"]}))
PY
    # --- vLLM's client, same shape. Random prompt tokens: prefix (shared, like
    # aegis' system prompt) + per-request part; the server adds CHAT_OVERHEAD.
    in_len=$(( mp - CHAT_OVERHEAD - pre )); (( in_len < 1 )) && in_len=1
    modes=(schema); [[ "$PLAIN" == 1 ]] && modes+=(plain)
    for m in "${modes[@]}"; do
      name="vllm-$m-c$c-r$r"
      start_sampler "$dir/s.jsonl"
      if [[ $m == schema ]]; then
        BENCH_RESULT_DIR="$dir" BENCH_OUTPUT_LEN="$budget" "$here/bench.sh" --schema \
          --random-input-len "$in_len" --random-prefix-len "$pre" \
          --num-prompts "$n" --max-concurrency "$c" --result-filename "$name.json" >"$dir/$name.log" 2>&1
      else
        BENCH_RESULT_DIR="$dir" BENCH_OUTPUT_LEN="$mc" "$here/bench.sh" \
          --random-input-len "$in_len" --random-prefix-len "$pre" \
          --num-prompts "$n" --max-concurrency "$c" --result-filename "$name.json" >"$dir/$name.log" 2>&1
      fi
      stop_sampler "$dir/s.jsonl"
      w="$(window "$dir/s.jsonl")"
      "$PY" - "$dir/$name.json" "$w" "$c" "$r" "$n" "$m" >>"$results" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); w = json.loads(sys.argv[2])
# the server-side deltas include bench's one initial test request; subtract its share
print(json.dumps({"side": "vllm-" + sys.argv[6], "c": int(sys.argv[3]), "r": int(sys.argv[4]), "n": int(sys.argv[5]),
  "reqs": b["completed"], "failed": b.get("failed", 0), "prompt_tokens": b["total_input_tokens"],
  "completion_tokens": b["total_output_tokens"], "wall_s": b["duration"],
  "tok_s": b["output_throughput"], "server": w}))
PY
    done
    echo "done: c=$c r=$r" >&2
  done
done

"$PY" - "$results" <<'PY'
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1])]
med = lambda xs: st.median(xs) if xs else float("nan")
def per_req(x):  # server-side per-request prompt/completion (includes bench's test request)
    s = x["server"]; q = max(1, s["reqs"]); return s["prompt"] / q, s["gen"] / q
print("| C | N req | aegis tok/s (active window) | aegis tok/s (wall) | vLLM client tok/s (--schema) | ratio | "
      "vLLM client tok/s (plain) | ratio | prompt / completion per req: aegis | vLLM --schema | vLLM plain |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for c in sorted({x["c"] for x in rows}):
    A = [x for x in rows if x["c"] == c and x["side"] == "aegis"]
    S = [x for x in rows if x["c"] == c and x["side"] == "vllm-schema"]
    P = [x for x in rows if x["c"] == c and x["side"] == "vllm-plain"]
    a, aw = med([x["tok_s"] for x in A]), med([x["tok_s_wall"] for x in A])
    s, p = med([x["tok_s"] for x in S]), med([x["tok_s"] for x in P])
    pc = lambda X: "%d / %d" % (med([per_req(x)[0] for x in X]), med([per_req(x)[1] for x in X])) if X else "-"
    f = lambda v: "%.0f" % v if v == v else "-"
    rr = lambda v: "%.2f" % (a / v) if v == v and v > 0 else "-"
    print(f"| {c} | {A[0]['n']} | {f(a)} | {f(aw)} | {f(s)} | {rr(s)} | {f(p)} | {rr(p)} | {pc(A)} | {pc(S)} | {pc(P)} |")
print()
print("runs (tok/s): " + "; ".join(f"{x['side']} c{x['c']} r{x['r']}: {x['tok_s']:.0f}" for x in rows))
PY
