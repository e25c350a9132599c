#!/usr/bin/env python3
"""Hierarchical Leiden of aegis-ingest (community::detect, through `aegis-bench
--leiden-child`) against GraphRAG's (graspologic-native's `hierarchical_leiden`), on the
same graphs at max_cluster_size 10, resolution 1: modularity of level 0 and of the leaves
(both computed here, by one function), wall time of the detection alone, peak RSS of each
child process (its VmHWM: the graph as each tool holds it included; graspologic's child
holds it as Python tuples of strings), and the ratios ours / theirs.

Run by graspologic_compare.sh, which makes the venv and the edge lists. Each graph is made
canonical first (an undirected edge per pair, parallel edges summed, self-loops dropped) and
both tools get that same edge list. Nothing leaves this machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

KARATE = [
    (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (1, 9), (1, 11), (1, 12),
    (1, 13), (1, 14), (1, 18), (1, 20), (1, 22), (1, 32), (2, 3), (2, 4), (2, 8), (2, 14),
    (2, 18), (2, 20), (2, 22), (2, 31), (3, 4), (3, 8), (3, 9), (3, 10), (3, 14), (3, 28),
    (3, 29), (3, 33), (4, 8), (4, 13), (4, 14), (5, 7), (5, 11), (6, 7), (6, 11), (6, 17),
    (7, 17), (9, 31), (9, 33), (9, 34), (10, 34), (14, 34), (15, 33), (15, 34), (16, 33),
    (16, 34), (19, 33), (19, 34), (20, 34), (21, 33), (21, 34), (23, 33), (23, 34),
    (24, 26), (24, 28), (24, 30), (24, 33), (24, 34), (25, 26), (25, 28), (25, 32),
    (26, 32), (27, 30), (27, 34), (28, 34), (29, 32), (29, 34), (30, 33), (30, 34),
    (31, 33), (31, 34), (32, 33), (32, 34), (33, 34),
]


def read_edges(path):
    """(nodes, [(a, b, w)]) of an edge list: `# nodes N` then `a b w` lines."""
    nodes, edges = 0, []
    with open(path) as f:
        for line in f:
            if line.startswith("# nodes "):
                nodes = max(nodes, int(line.split()[2]))
                continue
            parts = line.split()
            if len(parts) < 2 or line.startswith("#"):
                continue
            a, b = int(parts[0]), int(parts[1])
            w = float(parts[2]) if len(parts) > 2 else 1.0
            nodes = max(nodes, a + 1, b + 1)
            edges.append((a, b, w))
    return nodes, edges


def canonical(edges):
    """One edge per unordered pair, weights summed (in sorted order), no self-loops."""
    merged = {}
    for a, b, w in sorted((min(a, b), max(a, b), w) for a, b, w in edges if a != b and w > 0):
        merged[(a, b)] = merged.get((a, b), 0.0) + w
    return [(a, b, w) for (a, b), w in sorted(merged.items())]


def write_edges(path, nodes, edges):
    with open(path, "w") as f:
        f.write(f"# nodes {nodes}\n")
        for a, b, w in edges:
            f.write(f"{a}\t{b}\t{w!r}\n")


def modularity(edges, labels, resolution=1.0):
    """Σ_c [in_c / 2m − γ (K_c / 2m)²] over canonical edges; `labels` a dict node -> label
    (a node absent from it has no edges)."""
    inside, deg, m2 = {}, {}, 0.0
    for a, b, w in edges:
        la, lb = labels[a], labels[b]
        deg[la] = deg.get(la, 0.0) + w
        deg[lb] = deg.get(lb, 0.0) + w
        m2 += 2 * w
        if la == lb:
            inside[la] = inside.get(la, 0.0) + 2 * w
    if m2 == 0:
        return 0.0
    return sum(inside.get(c, 0.0) / m2 - resolution * (k / m2) ** 2 for c, k in deg.items())


def read_labels(path):
    """node -> (level-0 label, leaf label), from `node level0 leaf` lines."""
    l0, leaf = {}, {}
    with open(path) as f:
        for line in f:
            v, a, b = line.split()
            l0[int(v)] = int(a)
            leaf[int(v)] = int(b)
    return l0, leaf


def peak_rss_mb():
    """This process's peak RSS (VmHWM), in MB: the child's own, whatever its parent holds
    (wait4's ru_maxrss of a child forked from this large process would count this one's)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def run_child(cmd):
    """Runs cmd; its last stdout line, parsed (JSON with detect_s, levels, communities,
    oversized_leaves, peak_mb)."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed with {p.returncode}: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def graspologic_child(edge_file, labels_file, seed):
    """In a child process: graspologic-native's hierarchical_leiden on the edge list, as
    GraphRAG calls it (max_cluster_size 10, a seed); prints its seconds, writes labels."""
    from graspologic_native import hierarchical_leiden

    nodes, edges = read_edges(edge_file)
    as_str = [(str(a), str(b), w) for a, b, w in edges]
    t, cpu = time.perf_counter(), time.process_time()
    # GraphRAG goes through graspologic's wrapper, whose `random_seed` is this `seed`.
    result = hierarchical_leiden(as_str, max_cluster_size=10, seed=seed)
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    l0, leaf, levels, clusters = {}, {}, 0, set()
    for h in result:
        levels = max(levels, h.level + 1)
        clusters.add((h.level, h.cluster))
        if h.level == 0:
            l0[int(h.node)] = h.cluster
        if h.is_final_cluster:
            leaf[int(h.node)] = h.cluster
    with open(labels_file, "w") as f:
        for v in range(nodes):
            # A node without edges is absent from the result: a community of its own.
            f.write(f"{v} {l0.get(v, 10**9 + v)} {leaf.get(v, 10**9 + v)}\n")
    sizes = {}
    for h in result:
        if h.is_final_cluster:
            sizes[(h.level, h.cluster)] = sizes.get((h.level, h.cluster), 0) + 1
    print(json.dumps({"detect_s": seconds, "detect_cpu_s": cpu, "levels": levels,
                      "communities": len(clusters),
                      "oversized_leaves": sum(1 for n in sizes.values() if n > 10),
                      "peak_mb": peak_rss_mb()}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", help="the release aegis-bench binary")
    ap.add_argument("--dir", help="folder with the edge lists of aegis-bench --dump-edges")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--graphs", default="karate,sbm1k,rel100k,rel1m")
    ap.add_argument("--seed", type=int, default=0xAE615)
    ap.add_argument("--max-levels", type=int, default=4,
                    help="our hierarchy's depth (graspologic's has no limit): 4 is the "
                         "default of community::Params, 32 in effect none")
    ap.add_argument("--graspologic-child", nargs=3, metavar=("EDGES", "LABELS", "SEED"))
    a = ap.parse_args()
    if a.graspologic_child:
        e, l, s = a.graspologic_child
        graspologic_child(e, l, int(s))
        return
    write_edges(os.path.join(a.dir, "karate.tsv"), 34, [(x - 1, y - 1, 1.0) for x, y in KARATE])
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}", flush=True)
    rows = []
    for name in a.graphs.split(","):
        src = os.path.join(a.dir, f"{name}.tsv")
        if not os.path.exists(src):
            print(f"{name}: no {src}, skipped", flush=True)
            continue
        nodes, edges = canonical_read(src)
        canon = os.path.join(a.dir, f"{name}.canon.tsv")
        write_edges(canon, nodes, edges)
        ours, theirs = [], []
        for i in range(a.repeat):
            labels = os.path.join(a.dir, f"{name}.ours.labels")
            f = run_child([a.bench, "--leiden-child", f"file:{canon}", "--leiden-labels", labels,
                           "--leiden-max-levels", str(a.max_levels)])
            l0, leaf = read_labels(labels)
            ours.append((f["detect_s"], f["peak_mb"], modularity(edges, l0),
                         modularity(edges, leaf), f["levels"], f["communities"],
                         f["oversized_leaves"], f["detect_cpu_s"]))
            labels = os.path.join(a.dir, f"{name}.theirs.labels")
            f = run_child([sys.executable, os.path.abspath(__file__), "--graspologic-child",
                           canon, labels, str(a.seed)])
            l0, leaf = read_labels(labels)
            theirs.append((f["detect_s"], f["peak_mb"], modularity(edges, l0),
                           modularity(edges, leaf), f["levels"], f["communities"],
                           f["oversized_leaves"], f["detect_cpu_s"]))
            print(f"{name} run {i + 1}: ours {ours[-1]}, graspologic {theirs[-1]}", flush=True)
        med = lambda xs, k: statistics.median(x[k] for x in xs)
        rows.append((name, nodes, len(edges), [med(ours, k) for k in range(8)],
                     [med(theirs, k) for k in range(8)]))
    print()
    print(f"load average at the end: {os.getloadavg()}; medians of {a.repeat} runs; "
          f"our max levels {a.max_levels}")
    print("| graph | nodes | edges | Q level 0 ours / theirs (ratio) "
          "| Q leaves ours / theirs (ratio) | detect ms ours / theirs (ratio) "
          "| detect CPU ms ours / theirs (ratio) | peak RSS MB ours / theirs | levels "
          "| communities | leaves > 10 |")
    print("|---|---:|---:|---|---|---|---|---|---|---|---|")
    for name, n, m, o, t in rows:
        print(f"| {name} | {n} | {m} | {o[2]:.4f} / {t[2]:.4f} ({o[2] / t[2]:.3f}) "
              f"| {o[3]:.4f} / {t[3]:.4f} ({o[3] / t[3]:.3f}) "
              f"| {o[0] * 1e3:.1f} / {t[0] * 1e3:.1f} ({o[0] / t[0]:.2f}) "
              f"| {o[7] * 1e3:.1f} / {t[7] * 1e3:.1f} ({o[7] / t[7]:.2f}) "
              f"| {o[1]:.0f} / {t[1]:.0f} | {o[4]:.0f} / {t[4]:.0f} | {o[5]:.0f} / {t[5]:.0f} "
              f"| {o[6]:.0f} / {t[6]:.0f} |")


def canonical_read(path):
    nodes, edges = read_edges(path)
    return nodes, canonical(edges)


if __name__ == "__main__":
    main()
