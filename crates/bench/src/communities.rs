//! Scenario `communities`: the finishing step (`aegis-ingest communities`) on a synthetic
//! finished run whose graph gives a few hundred communities (groups of 8 entities, each a
//! clique, chained 8 groups to a cluster by one relation between neighbours), against the
//! fake engine with a fixed latency and a slot limit, at a fixed concurrency. Reports
//! throughput as a share of the ideal (reports × latency / concurrency, as extraction's
//! efficiency), the bound the level-by-level dispatch allows (every level ends before the
//! next begins: Σ ⌈reports of the level / concurrency⌉ × latency), requests, retries and
//! wall. Then the fixed costs alone (read, detection, fingerprints, writes; no report
//! asked) on a run with many relations: wall and peak RSS.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::fake::{Fake, FakeSpec};
use crate::measure::{self, Measured};
use crate::report::{ScenarioResult, Target};

/// Entities per group (a clique; under the default `--max-cluster-size` of 10, so a
/// group is not split again).
const GROUP: usize = 8;
/// Groups chained into one cluster.
const CLUSTER: usize = 8;

/// What the scenario needs from the harness.
pub struct CommunitiesBench<'a> {
    pub aegis: &'a Path,
    pub fake_bin: &'a Path,
    pub out: PathBuf,
    pub logs: PathBuf,
    pub repeat: usize,
    pub scale: f64,
    pub latency_ms: u64,
    pub concurrency: usize,
    pub fake_threads: Option<usize>,
    pub prompts: Option<&'a Path>,
}

/// One `communities` run: the measurement, report.json's `communities` section and the
/// fake's chat requests.
struct Step {
    m: Measured,
    section: Value,
    chat_requests: u64,
}

impl Step {
    fn sum(&self, key: &str) -> u64 {
        self.section["levels"]
            .as_array()
            .map_or(0, |ls| ls.iter().filter_map(|l| l[key].as_u64()).sum())
    }
    /// Reports asked for per level, deepest level first.
    fn generated_per_level(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.section["levels"]
            .as_array()
            .map(|ls| {
                ls.iter()
                    .map(|l| l["reports_generated"].as_u64().unwrap_or(0))
                    .collect()
            })
            .unwrap_or_default();
        v.reverse();
        v
    }
}

pub fn run(s: &CommunitiesBench) -> anyhow::Result<ScenarioResult> {
    let groups = ((320.0 * s.scale).round() as usize).max(CLUSTER);
    let (lat, conc) = (s.latency_ms, s.concurrency);
    let spec = FakeSpec {
        api: "openai",
        slots: conc,
        fixed_ms: lat,
        threads: s.fake_threads,
        shared: None,
    };
    let mut res = ScenarioResult::new(
        "communities",
        format!(
            "a synthetic finished run of {} entities and {} relations ({groups} groups of {GROUP} entities, each a clique, chained {CLUSTER} groups to a cluster); `aegis-ingest communities --concurrency {conc}` against the fake OpenAI API with {conc} slots and {lat} ms fixed latency (0 per token); every run starts from the outputs alone (no journal, no reports)",
            groups * GROUP,
            relations_of(groups)
        ),
    );
    res.command(format!(
        "target/release/fake-engine --api openai --port 0 --slots {conc} --fixed-ms {lat} --per-token-ms 0"
    ));
    res.command(format!(
        "target/release/aegis-ingest communities --out RUN --vllm-url URL --no-ollama --concurrency {conc} --quiet"
    ));
    let mut cols: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let mut per_level = String::new();
    for rep in 0..s.repeat {
        write_run(&s.out, groups)?;
        let fake = Fake::start(
            s.fake_bin,
            &spec,
            &s.logs.join(format!("fake-comm-{rep}.log")),
        )?;
        let step = communities(
            s,
            &s.out,
            &fake,
            &["--concurrency", &conc.to_string()],
            &format!("comm-{rep}"),
            true,
        )?;
        fake.stop();
        let generated = step.sum("reports_generated") as f64;
        let levels = step.generated_per_level();
        per_level = format!("{levels:?}");
        let lat_s = lat as f64 / 1000.0;
        let ideal = generated * lat_s / conc as f64;
        let barrier: f64 = levels
            .iter()
            .map(|&n| (n as f64 / conc as f64).ceil() * lat_s)
            .sum();
        let rounds = (generated / conc as f64).ceil() * lat_s;
        let first = step.m.first_request_s.unwrap_or(f64::NAN);
        let last = step.m.last_answer_s.unwrap_or(f64::NAN);
        let busy_pts: Vec<f64> = step
            .m
            .queue
            .iter()
            .filter(|p| p.t >= first && p.t <= last && !p.running.is_nan())
            .map(|p| p.running)
            .collect();
        let mean_running = busy_pts.iter().sum::<f64>() / busy_pts.len().max(1) as f64;
        if step.sum("reports_failed") != 0 || step.section["status"] != "done" {
            res.note(format!(
                "run {rep}: status {}, {} reports failed",
                step.section["status"],
                step.sum("reports_failed")
            ));
        }
        for (k, v) in [
            ("detected", step.sum("detected") as f64),
            ("levels", levels.len() as f64),
            ("generated", generated),
            (
                "requests",
                step.section["requests"].as_f64().unwrap_or(f64::NAN),
            ),
            ("chat", step.chat_requests as f64),
            (
                "retries",
                step.section["retries"].as_f64().unwrap_or(f64::NAN),
            ),
            ("wall", step.m.wall_s),
            ("startup", first),
            ("busy", last - first),
            ("tail", step.m.wall_s - last),
            ("ideal", ideal),
            ("barrier", barrier),
            ("rounds", rounds),
            ("rounds_share", rounds / barrier),
            ("eff", ideal / step.m.wall_s),
            ("eff_ex", ideal / (step.m.wall_s - first)),
            ("eff_busy", ideal / (last - first)),
            ("barrier_share", ideal / barrier),
            ("vs_barrier", barrier / (last - first)),
            ("mean_running", mean_running),
            ("cpu", step.m.cpu_s()),
            ("rss", step.m.maxrss_mb),
        ] {
            cols.entry(k).or_default().push(v);
        }
    }
    res.note(format!(
        "reports asked for per level, deepest first (last run): {per_level}"
    ));
    let mut c = |k: &str| cols.remove(k).unwrap_or_default();
    res.metric("communities detected", "", c("detected"), None);
    res.metric("levels", "", c("levels"), None);
    res.metric("reports asked for (report.json)", "", c("generated"), None);
    res.metric("requests (report.json)", "", c("requests"), None);
    res.metric("chat requests seen by the fake", "", c("chat"), None);
    res.metric("retries (report.json)", "", c("retries"), None);
    res.metric(
        "ideal wall (reports × latency / concurrency)",
        "s",
        c("ideal"),
        None,
    );
    res.metric("measured wall", "s", c("wall"), None);
    res.metric(
        "start-up: spawn → first chat request (probe, read, detection, fingerprints)",
        "s",
        c("startup"),
        None,
    );
    res.metric(
        "busy phase: first request → last answer (10 ms polling)",
        "s",
        c("busy"),
        None,
    );
    res.metric("tail: last answer → exit (writes)", "s", c("tail"), None);
    res.metric(
        "efficiency = ideal / wall",
        "",
        c("eff"),
        Some(Target::AtLeast(0.95)),
    );
    res.metric(
        "efficiency excluding start-up = ideal / (wall − start-up)",
        "",
        c("eff_ex"),
        Some(Target::AtLeast(0.95)),
    );
    res.metric(
        "efficiency of the busy phase = ideal / busy phase",
        "",
        c("eff_busy"),
        None,
    );
    res.metric(
        "level barrier bound: Σ ⌈reports of a level / concurrency⌉ × latency",
        "s",
        c("barrier"),
        None,
    );
    res.metric(
        "ideal / level barrier bound (the most levels allow)",
        "",
        c("barrier_share"),
        None,
    );
    res.metric(
        "whole rounds bound: ⌈reports / concurrency⌉ × latency (no barrier)",
        "s",
        c("rounds"),
        None,
    );
    res.metric(
        "whole rounds bound / level barrier bound (what the barrier costs)",
        "",
        c("rounds_share"),
        None,
    );
    res.metric(
        "level barrier bound / busy phase",
        "",
        c("vs_barrier"),
        None,
    );
    res.metric(
        "mean slots busy, first request → last answer (sampled every 10 ms)",
        "",
        c("mean_running"),
        None,
    );
    res.metric("client CPU (user+sys)", "s", c("cpu"), None);
    res.metric("client peak RSS", "MB", c("rss"), None);
    fixed_costs(s, &mut res)?;
    Ok(res)
}

/// The fixed costs on a run with many relations: no report asked
/// (`--min-community-size` above every community), so the wall is probe, read, detection,
/// fingerprints and writes.
fn fixed_costs(s: &CommunitiesBench, res: &mut ScenarioResult) -> anyhow::Result<()> {
    let groups = ((7_200.0 * s.scale).round() as usize).max(CLUSTER);
    let out = s.out.with_file_name("communities-large");
    let spec = FakeSpec {
        api: "openai",
        slots: 4,
        fixed_ms: 0,
        threads: s.fake_threads,
        shared: None,
    };
    let (mut wall, mut rss, mut cpu, mut detected) = (vec![], vec![], vec![], vec![]);
    for rep in 0..s.repeat {
        write_run(&out, groups)?;
        let fake = Fake::start(
            s.fake_bin,
            &spec,
            &s.logs.join(format!("fake-comm-large-{rep}.log")),
        )?;
        let step = communities(
            s,
            &out,
            &fake,
            &["--min-community-size", "1000000000"],
            &format!("comm-large-{rep}"),
            false,
        )?;
        fake.stop();
        if step.chat_requests != 0 {
            res.note(format!(
                "large run {rep}: {} chat requests (expected 0)",
                step.chat_requests
            ));
        }
        wall.push(step.m.wall_s);
        rss.push(step.m.maxrss_mb);
        cpu.push(step.m.cpu_s());
        detected.push(step.sum("detected") as f64);
    }
    let label = format!(
        "{} entities, {} relations",
        groups * GROUP,
        relations_of(groups)
    );
    res.command(
        "target/release/aegis-ingest communities --out LARGE_RUN --vllm-url URL --no-ollama --min-community-size 1000000000 --quiet"
            .into(),
    );
    res.metric(
        &format!("large run ({label}): communities detected"),
        "",
        detected,
        None,
    );
    res.metric(
        &format!(
            "large run ({label}), no report asked: wall (read, detection, fingerprints, writes)"
        ),
        "s",
        wall,
        None,
    );
    res.metric(
        &format!("large run ({label}): CPU (user+sys)"),
        "s",
        cpu,
        None,
    );
    res.metric(&format!("large run ({label}): peak RSS"), "MB", rss, None);
    Ok(())
}

/// `aegis-ingest communities --out OUT` against `fake`, measured.
fn communities(
    s: &CommunitiesBench,
    out: &Path,
    fake: &Fake,
    extra: &[&str],
    tag: &str,
    track: bool,
) -> anyhow::Result<Step> {
    let mut cmd = Command::new(s.aegis);
    cmd.arg("communities")
        .arg("--out")
        .arg(out)
        .args(["--vllm-url", &fake.url, "--no-ollama", "--quiet"])
        .args(extra);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("AEGIS_") || k == "OLLAMA_HOST" || k == "VLLM_API_KEY" || k == "RUST_LOG" {
            cmd.env_remove(&k);
        }
    }
    if let Some(p) = s.prompts {
        cmd.env("AEGIS_PROMPTS_DIR", p);
    }
    fake.reset_stats()?;
    let log = s.logs.join(format!("aegis-{tag}.log"));
    let probe = measure::Probe {
        host_port: fake.host_port().to_string(),
        track_answers: track.then(|| "openai".to_string()),
    };
    let m = measure::run(&mut cmd, &log, Some(probe))?;
    if m.exit_code != 0 {
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        bail!(
            "aegis-ingest communities exited with {} ({tag}); log {}:\n{}",
            m.exit_code,
            log.display(),
            tail.lines().rev().take(15).collect::<Vec<_>>().join("\n")
        );
    }
    let report: Value = serde_json::from_slice(
        &std::fs::read(out.join("report.json")).context("reading report.json")?,
    )?;
    let stats = fake.stats()?;
    let step = Step {
        m,
        section: report["communities"].clone(),
        chat_requests: stats.chat_requests,
    };
    eprintln!(
        "  [{tag}] wall {:.2}s cpu {:.2}s rss {:.0}MB detected {} generated {} chat requests {} first-request {}",
        step.m.wall_s,
        step.m.cpu_s(),
        step.m.maxrss_mb,
        step.sum("detected"),
        step.sum("reports_generated"),
        step.chat_requests,
        step.m.first_request_s.map_or("-".into(), |t| format!("{t:.3}s")),
    );
    Ok(step)
}

/// Relations of `groups` groups: each a clique, plus one link to the next group of its
/// cluster.
fn relations_of(groups: usize) -> usize {
    let links = groups - groups.div_ceil(CLUSTER);
    groups * GROUP * (GROUP - 1) / 2 + links
}

/// The synthetic finished run (entities, relations, run.json, report.json), replacing
/// `out`.
fn write_run(out: &Path, groups: usize) -> anyhow::Result<()> {
    let types = ["PERSON", "ORGANIZATION", "LOCATION", "PRODUCT"];
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let ent = |g: usize, k: usize| format!("ent_{:016x}", g * GROUP + k);
    let mut f = std::io::BufWriter::new(std::fs::File::create(out.join("entities.jsonl"))?);
    for g in 0..groups {
        for k in 0..GROUP {
            let i = g * GROUP + k;
            let e = json!({"id": ent(g, k), "name": format!("Member {k} of group {g}"),
                "type": types[k % types.len()],
                "description": format!("Member {k} of group {g}, one of the {groups} groups of the synthetic corpus."),
                "mentions": 1 + i % 5, "sources": [{"doc": format!("docs/group{g:05}.md"), "chunk": 0}]});
            writeln!(f, "{e}")?;
        }
    }
    f.flush()?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(out.join("relations.jsonl"))?);
    let mut n = 0usize;
    let mut rel = |f: &mut std::io::BufWriter<std::fs::File>, s: String, t: String, g: usize| {
        let r = json!({"id": format!("rel_{n:016x}"), "source": s, "target": t, "type": "RELATES_TO",
            "description": format!("A relation of group {g}."), "weight": 1.0,
            "mentions": 1, "sources": [{"doc": format!("docs/group{g:05}.md"), "chunk": 0}]});
        n += 1;
        writeln!(f, "{r}")
    };
    for g in 0..groups {
        for a in 0..GROUP {
            for b in a + 1..GROUP {
                rel(&mut f, ent(g, a), ent(g, b), g)?;
            }
        }
        if (g + 1) % CLUSTER != 0 && g + 1 < groups {
            rel(&mut f, ent(g, GROUP - 1), ent(g + 1, 0), g)?;
        }
    }
    f.flush()?;
    std::fs::write(
        out.join("run.json"),
        json!({"corpus": "/data/bench", "exit_code": 0}).to_string(),
    )?;
    std::fs::write(
        out.join("report.json"),
        json!({"status": "done", "exit_code": 0}).to_string(),
    )?;
    Ok(())
}
