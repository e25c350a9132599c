#!/usr/bin/env python3
"""Aggregate `perf script --no-inline -F comm,tid,ip,sym` call stacks of aegis-ingest into
pipeline stages: each sample goes to the FIRST rule (in order) that matches any frame of its
stack, so the shares add up to 100%.

    perfcat.py STACKS.txt [FRAME_REGEX [BUCKET_NAME]]

FRAME_REGEX: also print the inclusive share of that frame and its direct callees.
BUCKET_NAME: also print the innermost aegis_ingest frame of that bucket's samples."""
import sys, re, collections
samples = []
cur = None
for line in open(sys.argv[1]):
    if not line.strip():
        if cur is not None: samples.append(cur); cur = None
        continue
    if not line.startswith(("\t", " ")):
        cur = []
        continue
    parts = line.strip().split(None, 1)
    cur.append(parts[1] if len(parts) > 1 else parts[0])
if cur: samples.append(cur)
N = len(samples)
rules = [
 ("start-up: cl100k tokenizer tables (tiktoken cl100k_base)", r"cl100k_base"),
 ("start-up: CLI, config, prompts, engine probes", r"clap_builder|aegis_ingest::config::|aegis_ingest::prompt::PromptSet::load|setup_engines|probe"),
 ("chunking: text-splitter (boundaries, sizing)", r"text_splitter"),
 ("chunking: other (Chunker::chunk: pieces, piece counts)", r"Chunker::chunk"),
 ("prompt render + chunk key (user_message, blake3)", r"user_message|chunk_key|minijinja|blake3"),
 ("reading files / walking", r"aegis_ingest::read::|aegis_ingest::walk::|walkdir"),
 ("parse + validate answer (parse_answer)", r"parse_answer"),
 ("parse engine response JSON (openai::parse_response)", r"parse_response"),
 ("request JSON serialization (ChatRequest -> body bytes)", r"engine::openai::_::<impl serde_core::ser::Serialize|serde_json::ser::to_vec"),
 ("HTTP client (engine::wire, reqwest/hyper; incl. socket syscalls)", r"engine::wire::|reqwest::|hyper::|hyper_util::"),
 ("journal: record_done (serialize + write)", r"record_done|append_line"),
 ("writer: other (Writer::handle/tick, fsync)", r"Writer::handle|Writer::tick|Journal::sync"),
 ("end: merge_and_write (read journal back, write outputs)", r"merge_and_write"),
 ("end: report/state", r"pipeline::finish"),
 ("journal open/index at start", r"Journal::open|done_keys"),
 ("dispatcher/task glue: semaphores, channels, spawn (pipeline::run closures)", r"pipeline::run::\{\{closure\}\}"),
 ("router / other aegis code", r"aegis_ingest::"),
 ("tokio runtime (scheduling, timers, I/O driver)", r"tokio::"),
 ("kernel (other)", r"^(?!.*::).*_syscall|entry_SYSCALL"),
]
comp = [(n, re.compile(p)) for n, p in rules]
cnt = collections.Counter()
for s in samples:
    for n, p in comp:
        if any(p.search(f) for f in s):
            cnt[n] += 1; break
    else:
        cnt["unattributed (broken unwind / libc)"] += 1
print(f"{N} samples")
for n, c in cnt.most_common():
    print(f"{100*c/N:6.1f}%  {n}")
if len(sys.argv) > 2:
    # children breakdown of a frame regex: next frame toward leaf
    pat = re.compile(sys.argv[2])
    ch = collections.Counter(); tot = 0
    for s in samples:
        for i, f in enumerate(s):
            if pat.search(f):
                tot += 1
                ch[s[i-1] if i > 0 else "(self)"] += 1
                break
    print(f"\n{sys.argv[2]}: {100*tot/N:.1f}% inclusive; direct callees:")
    for n, c in ch.most_common(15):
        print(f"{100*c/N:6.1f}%  {n[:150]}")
if len(sys.argv) > 3:
    # samples of bucket named argv[3]: innermost aegis frame and leaf
    want = sys.argv[3]
    inner = collections.Counter()
    for s in samples:
        for n, p in comp:
            if any(p.search(f) for f in s):
                if n == want:
                    a = next((f for f in s if "aegis_ingest::" in f), "?")
                    inner[a] += 1
                break
    print(f"\nbucket {want!r}: innermost aegis frame")
    for n, c in inner.most_common(15):
        print(f"{100*c/N:6.1f}%  {n[:150]}")
