//! Scenario `leiden`: community detection (`aegis_ingest::community::detect`, hierarchical
//! Leiden, the defaults: resolution 1, max cluster size 10, 4 levels) on generated graphs of
//! 100k and 1M relations (× `--scale`). Each graph is generated and detected in a child
//! process (this binary again, `--leiden-child`), so that its peak RSS (wait4) is that
//! graph's alone. Reported: detection time, peak RSS, modularity of level 0 and of the
//! leaves, levels and communities.
//!
//! The graphs: nodes in blocks of power-law sizes (10 to 2,000 members); a relation joins a
//! node to one of its block (3 in 4) or to any node, endpoints skewed so that degrees are
//! uneven; weights 1 to 3 (a relation seen once or more). The same every time (fixed seed).
//!
//! `--dump-edges DIR` writes the graphs the GraphRAG comparison uses
//! (`scripts/bench/graspologic_compare.sh`) as edge lists; `--leiden-child file:PATH`
//! detects on such a list.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use aegis_ingest::community::{detect, modularity, Cluster, Graph, Params};
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::measure;
use crate::report::{ScenarioResult, Target};

/// What one detection measured (the child's answer, one JSON line on stdout).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figures {
    pub nodes: usize,
    pub relations: usize,
    pub detect_s: f64,
    /// CPU time of the detection (one thread: its time without other load).
    pub detect_cpu_s: f64,
    /// Peak RSS once the graph was built, before detection, in MB.
    pub graph_mb: f64,
    pub q_level0: f64,
    pub q_leaves: f64,
    /// Peak RSS of the whole child (VmHWM at its end), in MB.
    pub peak_mb: f64,
    pub levels: u32,
    pub communities: usize,
    /// Leaves larger than the maximum cluster size (at the last level, or unsplittable).
    pub oversized_leaves: usize,
    pub level0_communities: usize,
    pub leaves: usize,
}

/// The scenario's inputs.
pub struct LeidenBench<'a> {
    pub exe: &'a Path,
    pub logs: PathBuf,
    pub repeat: usize,
    pub scale: f64,
}

/// The relation counts measured: 100k and 1M, scaled.
fn sizes(scale: f64) -> Vec<usize> {
    [100_000.0, 1_000_000.0]
        .iter()
        .map(|r| ((r * scale).round() as usize).max(100))
        .collect()
}

/// Runs the scenario: each size `repeat` times, each run a child process.
pub fn run(b: &LeidenBench) -> anyhow::Result<ScenarioResult> {
    let mut res = ScenarioResult::new(
        "leiden",
        "Hierarchical Leiden (community::detect, defaults: resolution 1, max cluster size 10, \
         4 levels) on generated graphs: power-law blocks of 10 to 2,000 nodes, 5 relations \
         per node on average, 3 in 4 inside a block, weights 1 to 3; one child process per run \
         (peak RSS from wait4)"
            .into(),
    );
    res.command(format!(
        "cargo run --release -p aegis-bench -- --scenario leiden --repeat {} --scale {}",
        b.repeat, b.scale
    ));
    for rel in sizes(b.scale) {
        let tag = if rel >= 1_000_000 {
            format!("{}M relations", rel as f64 / 1e6)
        } else {
            format!("{}k relations", rel as f64 / 1e3)
        };
        let mut runs: Vec<(Figures, measure::Measured)> = Vec::new();
        for i in 0..b.repeat {
            let log = b.logs.join(format!("leiden-{rel}-{i}.log"));
            let mut cmd = Command::new(b.exe);
            cmd.args(["--leiden-child", &format!("synthetic:{rel}")]);
            let m = measure::run(&mut cmd, &log, None)?;
            if m.exit_code != 0 {
                bail!(
                    "leiden child failed (exit {}), see {}",
                    m.exit_code,
                    log.display()
                );
            }
            let text = std::fs::read_to_string(&log)?;
            let line = text
                .lines()
                .rev()
                .find(|l| l.starts_with('{'))
                .unwrap_or("");
            let f: Figures = serde_json::from_str(line)
                .with_context(|| format!("reading the child's figures in {}", log.display()))?;
            eprintln!("{tag}: {f:?}, peak RSS {:.0} MB", m.maxrss_mb);
            runs.push((f, m));
        }
        let col = |f: &dyn Fn(&(Figures, measure::Measured)) -> f64| -> Vec<f64> {
            runs.iter().map(f).collect()
        };
        let target = (rel >= 1_000_000).then_some(Target::Below(10.0));
        res.metric(
            &format!("{tag}: detect"),
            "s",
            col(&|r| r.0.detect_s),
            target,
        );
        res.metric(
            &format!("{tag}: detect, CPU"),
            "s",
            col(&|r| r.0.detect_cpu_s),
            None,
        );
        res.metric(
            &format!("{tag}: peak RSS"),
            "MB",
            col(&|r| r.1.maxrss_mb),
            None,
        );
        res.metric(
            &format!("{tag}: RSS of the graph alone"),
            "MB",
            col(&|r| r.0.graph_mb),
            None,
        );
        res.metric(
            &format!("{tag}: modularity level 0"),
            "",
            col(&|r| r.0.q_level0),
            None,
        );
        res.metric(
            &format!("{tag}: modularity of the leaves"),
            "",
            col(&|r| r.0.q_leaves),
            None,
        );
        res.metric(
            &format!("{tag}: levels"),
            "",
            col(&|r| r.0.levels as f64),
            None,
        );
        res.metric(
            &format!("{tag}: communities"),
            "",
            col(&|r| r.0.communities as f64),
            None,
        );
        res.metric(
            &format!("{tag}: leaves over 10 members"),
            "",
            col(&|r| r.0.oversized_leaves as f64),
            None,
        );
        res.metric(
            &format!("{tag}: level-0 communities"),
            "",
            col(&|r| r.0.level0_communities as f64),
            None,
        );
        if let Some((f, _)) = runs.first() {
            res.note(format!(
                "{tag}: {} nodes, {} distinct edges after merging parallel ones",
                f.nodes, f.relations
            ));
        }
    }
    Ok(res)
}

/// The child: builds the graph `spec` names (`synthetic:RELATIONS` or `file:PATH`), detects,
/// prints its figures as one JSON line (`max_levels` replaces the default); with `labels`, writes each node's level-0 and leaf
/// community there (`node level0 leaf` a line).
pub fn child(spec: &str, labels: Option<&Path>, max_levels: Option<usize>) -> anyhow::Result<()> {
    let mut params = Params::default();
    if let Some(l) = max_levels {
        params.max_levels = l;
    }
    let g = if let Some(r) = spec.strip_prefix("synthetic:") {
        synthetic(r.parse().context("--leiden-child synthetic:RELATIONS")?, 1)
    } else if let Some(p) = spec.strip_prefix("file:") {
        read_edges(Path::new(p))?
    } else {
        bail!("--leiden-child takes synthetic:RELATIONS or file:PATH");
    };
    let graph_mb = peak_rss_mb();
    let (t, cpu) = (Instant::now(), cpu_s());
    let cs = detect(&g, &params, None);
    let (detect_s, detect_cpu_s) = (t.elapsed().as_secs_f64(), cpu_s() - cpu);
    let (l0, leaf) = partitions(g.nodes, &cs);
    let distinct = {
        let mut es: Vec<(u32, u32)> = g
            .edges
            .iter()
            .map(|e| (e.0.min(e.1), e.0.max(e.1)))
            .collect();
        es.sort_unstable();
        es.dedup();
        es.len()
    };
    let f = Figures {
        nodes: g.nodes,
        relations: distinct,
        detect_s,
        detect_cpu_s,
        graph_mb,
        q_level0: modularity(&g, &l0, 1.0),
        q_leaves: modularity(&g, &leaf, 1.0),
        levels: cs.iter().map(|c| c.level + 1).max().unwrap_or(0),
        communities: cs.len(),
        level0_communities: cs.iter().filter(|c| c.level == 0).count(),
        leaves: cs.iter().filter(|c| c.children.is_empty()).count(),
        oversized_leaves: cs
            .iter()
            .filter(|c| c.children.is_empty() && c.members.len() > params.max_cluster_size)
            .count(),
        peak_mb: peak_rss_mb(),
    };
    if let Some(p) = labels {
        let mut w = BufWriter::new(std::fs::File::create(p)?);
        for v in 0..g.nodes {
            writeln!(w, "{v} {} {}", l0[v], leaf[v])?;
        }
        w.flush()?;
    }
    println!("{}", serde_json::to_string(&f)?);
    Ok(())
}

/// Each node's level-0 community and its leaf (the deepest community it is in).
fn partitions(n: usize, cs: &[Cluster]) -> (Vec<u32>, Vec<u32>) {
    let (mut l0, mut leaf) = (vec![u32::MAX; n], vec![u32::MAX; n]);
    for (i, c) in cs.iter().enumerate() {
        for &v in &c.members {
            if c.level == 0 {
                l0[v as usize] = i as u32;
            }
            if c.children.is_empty() {
                leaf[v as usize] = i as u32;
            }
        }
    }
    (l0, leaf)
}

/// CPU time of this process so far, in seconds.
fn cpu_s() -> f64 {
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Peak RSS of this process so far (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The generated graph with `relations` relations over `relations / 5` nodes.
pub fn synthetic(relations: usize, seed: u64) -> Graph {
    let n = (relations / 5).max(10);
    let mut rng = fastrand::Rng::with_seed(seed);
    // Blocks of power-law sizes: 10 / u^(1/1.5), at most 2,000.
    let mut starts = vec![0usize];
    while *starts.last().unwrap() < n {
        let u = rng.f64().max(1e-9);
        let s = ((10.0 / u.powf(1.0 / 1.5)) as usize).min(2000);
        let next = (starts.last().unwrap() + s).min(n);
        starts.push(next);
    }
    let mut block_of = vec![0u32; n];
    for b in 0..starts.len() - 1 {
        block_of[starts[b]..starts[b + 1]].fill(b as u32);
    }
    // An endpoint within a block, skewed towards its first nodes (uneven degrees).
    let pick = |rng: &mut fastrand::Rng, b: usize| {
        let (s, e) = (starts[b], starts[b + 1]);
        let r = rng.f64();
        s + ((r * r * (e - s) as f64) as usize).min(e - s - 1)
    };
    let mut edges = Vec::with_capacity(relations);
    while edges.len() < relations {
        let a = rng.usize(..n);
        let b = if rng.u8(..4) < 3 {
            pick(&mut rng, block_of[a] as usize)
        } else {
            let other = block_of[rng.usize(..n)] as usize;
            pick(&mut rng, other)
        };
        if a == b {
            continue;
        }
        let w = match rng.u8(..10) {
            0 => 3.0,
            1..=2 => 2.0,
            _ => 1.0,
        };
        edges.push((a as u32, b as u32, w));
    }
    Graph { nodes: n, edges }
}

/// The planted partition the unit tests use too: 10 blocks of 100 nodes, pairs linked with
/// 0.12 inside a block and 0.004 across.
fn planted_1k() -> Graph {
    let mut rng = fastrand::Rng::with_seed(1);
    let mut edges = Vec::new();
    for a in 0..1000u32 {
        for b in a + 1..1000 {
            let p = if a / 100 == b / 100 { 0.12 } else { 0.004 };
            if rng.f64() < p {
                edges.push((a, b, 1.0));
            }
        }
    }
    Graph { nodes: 1000, edges }
}

/// Writes the comparison graphs into `dir`: `sbm1k.tsv`, `rel100k.tsv`, `rel1m.tsv` (sizes
/// × `scale`), each `source target weight` a line after a `# nodes N` line.
pub fn dump(dir: &Path, scale: f64) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut graphs = vec![("sbm1k".to_string(), planted_1k())];
    for (name, rel) in ["rel100k", "rel1m"].iter().zip(sizes(scale)) {
        graphs.push((name.to_string(), synthetic(rel, 1)));
    }
    for (name, g) in graphs {
        let p = dir.join(format!("{name}.tsv"));
        let mut w = BufWriter::new(std::fs::File::create(&p)?);
        writeln!(w, "# nodes {}", g.nodes)?;
        for (a, b, x) in &g.edges {
            writeln!(w, "{a}\t{b}\t{x}")?;
        }
        w.flush()?;
        eprintln!(
            "wrote {} ({} nodes, {} edges)",
            p.display(),
            g.nodes,
            g.edges.len()
        );
    }
    Ok(())
}

/// An edge list as `dump` writes it (`# nodes N` optional: else the largest id + 1).
fn read_edges(p: &Path) -> anyhow::Result<Graph> {
    let f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
    let mut g = Graph::default();
    for line in std::io::BufReader::new(f).lines() {
        let line = line?;
        if let Some(n) = line.strip_prefix("# nodes ") {
            g.nodes = g.nodes.max(n.trim().parse()?);
            continue;
        }
        let mut it = line.split_whitespace();
        let (Some(a), Some(b)) = (it.next(), it.next()) else {
            continue;
        };
        let (a, b): (u32, u32) = (a.parse()?, b.parse()?);
        let w: f64 = it.next().map_or(Ok(1.0), str::parse)?;
        g.nodes = g.nodes.max(a.max(b) as usize + 1);
        g.edges.push((a, b, w));
    }
    Ok(g)
}
