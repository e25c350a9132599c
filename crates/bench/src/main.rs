//! aegis-bench: drives the real release binary `aegis-ingest` against the fake engine
//! (`fake-engine`, a subprocess with a latency model and a slot limit) on generated corpora,
//! and reports wall time, CPU (user+sys of the child, from wait4) and peak RSS (ru_maxrss),
//! as medians over `--repeat` runs, in a Markdown table (and JSON with `--out-json`).
//!
//! Scenarios: vllm, vllm-auto, ollama, client-cost, rate, shared-rate (a compute-bound
//! server: `--concurrency auto` against the best fixed concurrency), frontend, resume, and two of
//! the binary alone: pdf-read (PDF text extraction) and export (a large run exported and
//! loaded), leiden (community detection on generated graphs of 100k and 1M relations), and
//! communities (the finishing step's reports against the fake, and its fixed costs)
//! (`--scenario all`: every one). `--scale F` multiplies every corpus size for a quick run. Nothing is sent anywhere
//! but 127.0.0.1.

mod communities;
mod corpus;
mod export_figures;
mod fake;
mod leiden;
mod measure;
mod pdf_gen;
mod pdf_read;
mod relations;
mod report;
mod shared_rate;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use clap::Parser;

use corpus::Kind;
use fake::{Fake, FakeSpec};
use measure::{median, Measured};
use report::{markdown, ScenarioResult, Target};

/// Client CPU per chunk, with the TLS-capable client (reqwest + rustls) that carries every
/// engine exchange: a chunk costs a GPU tens to thousands of milliseconds.
const CLIENT_CPU_TARGET_US: f64 = 150.0;

const SCENARIOS: &[&str] = &[
    "vllm",
    "vllm-auto",
    "ollama",
    "client-cost",
    "rate",
    "shared-rate",
    "frontend",
    "resume",
    "pdf-read",
    "export",
    "leiden",
    "relations",
    "communities",
];

#[derive(Parser, Debug)]
#[command(
    name = "aegis-bench",
    about = "Benchmarks of aegis-ingest against the fake engine"
)]
struct Args {
    /// vllm | vllm-auto | ollama | client-cost | rate | shared-rate | frontend | resume | pdf-read |
    /// export | leiden | relations | communities | all
    /// (comma-separated list allowed).
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Runs per measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Multiply every corpus size by this (e.g. 0.05 for a quick run).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Also write every sample as JSON here.
    #[arg(long)]
    out_json: Option<PathBuf>,
    /// Also write the Markdown table here.
    #[arg(long)]
    out_md: Option<PathBuf>,
    /// Corpora, outputs and logs [default: $TMPDIR/aegis-bench].
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Folder with the release binaries aegis-ingest and fake-engine
    /// [default: $CARGO_TARGET_DIR/release or <workspace>/target/release].
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Tokio worker threads of the fake engine [default: its own default, one per core].
    #[arg(long)]
    fake_threads: Option<usize>,
    /// Scale of the `frontend` corpus (1 GB × this) [default: --scale].
    #[arg(long)]
    frontend_scale: Option<f64>,
    /// Fixed latency of the `vllm` and `vllm-auto` scenarios, in ms.
    #[arg(long, default_value_t = 500)]
    vllm_latency_ms: u64,
    /// Fixed latency of the `ollama` scenario, in ms (500: a real Ollama extraction takes
    /// seconds; the figures up to 2026-11-27 used 50, where start-up and the fake's timer
    /// overshoot dominate a 5 s run).
    #[arg(long, default_value_t = 500)]
    ollama_latency_ms: u64,
    /// Fixed latency of the `client-cost` scenario, in ms.
    #[arg(long, default_value_t = 1)]
    client_cost_latency_ms: u64,
    /// Fixed latency of the `communities` scenario, in ms (500: the `vllm` scenario's, so the
    /// two efficiencies are measured on jobs of the same kind; a real report takes longer).
    #[arg(long, default_value_t = 500)]
    communities_latency_ms: u64,
    /// Client concurrency (= the fake's slots) of the `communities` scenario.
    #[arg(long, default_value_t = 16)]
    communities_concurrency: usize,
    /// In `frontend`, measure a fully resumed second run even if `--dry-run` exists.
    #[arg(long)]
    frontend_no_dry_run: bool,
    /// Folder of the built-in prompt domains, copied at start and given to every run as
    /// AEGIS_PROMPTS_DIR [default: <workspace>/prompts].
    #[arg(long)]
    prompts_root: Option<PathBuf>,
    /// In `pdf-read`, also measure the PDFs of this folder.
    #[arg(long)]
    pdf_dir: Option<PathBuf>,
    /// In `export`, also load the SQL export into this PostgreSQL database (its tables
    /// are replaced) with psql (AEGIS_PSQL or the one on PATH).
    #[arg(long)]
    export_pg_url: Option<String>,
    /// Write the graphs of the GraphRAG comparison (scripts/bench/graspologic_compare.sh)
    /// into this folder as edge lists (sizes × --scale), then exit.
    #[arg(long)]
    dump_edges: Option<PathBuf>,
    /// Internal: the `leiden` scenario's child (`synthetic:RELATIONS` or `file:PATH`).
    #[arg(long, hide = true)]
    leiden_child: Option<String>,
    /// With --leiden-child: write each node's level-0 and leaf community here.
    #[arg(long, hide = true)]
    leiden_labels: Option<PathBuf>,
    /// With --leiden-child: the most levels of the hierarchy [default: community::Params'].
    #[arg(long, hide = true)]
    leiden_max_levels: Option<usize>,
    /// Delete the generated corpora and outputs when done.
    #[arg(long)]
    clean: bool,
}

struct Bench {
    args: Args,
    /// A copy of the prompts folder taken at start (`AEGIS_PROMPTS_DIR` of every run), so
    /// that an edit of prompts/ during the bench does not change the chunk keys.
    prompts: Option<PathBuf>,
    aegis: PathBuf,
    fake_bin: PathBuf,
    work: PathBuf,
    has_dry_run: bool,
}

/// A client run's outcome.
struct ClientRun {
    m: Measured,
    report: serde_json::Value,
    stats: fake::Stats,
    fake_cpu_s: f64,
}

impl ClientRun {
    fn chunks_total(&self) -> u64 {
        self.report["chunks"]["total"].as_u64().unwrap_or(0)
    }
    fn chunk_count(&self, key: &str) -> u64 {
        self.report["chunks"][key].as_u64().unwrap_or(0)
    }
    /// Seconds from the first chat request to the exit.
    fn after_startup(&self) -> f64 {
        self.m.wall_s - self.m.first_request_s.unwrap_or(f64::NAN)
    }
}

/// The fake's queue over the busy phase of a run, from the 10 ms samples.
struct QueueSummary {
    max_waiting: f64,
    /// Mean `running` between the first request and the last answer.
    mean_running: f64,
    /// Seconds from the first request to the first sample with every slot running (NaN if
    /// never seen).
    ramp_s: f64,
}

fn queue_summary(r: &ClientRun, slots: usize) -> QueueSummary {
    let from = r.m.first_request_s.unwrap_or(f64::NAN);
    let to = r.m.last_answer_s.unwrap_or(f64::NAN);
    let pts = &r.m.queue;
    let max_waiting = pts
        .iter()
        .map(|p| p.waiting)
        .filter(|w| !w.is_nan())
        .fold(f64::NAN, f64::max);
    let busy: Vec<f64> = pts
        .iter()
        .filter(|p| p.t >= from && p.t <= to && !p.running.is_nan())
        .map(|p| p.running)
        .collect();
    let mean_running = if busy.is_empty() {
        f64::NAN
    } else {
        busy.iter().sum::<f64>() / busy.len() as f64
    };
    let ramp_s = pts
        .iter()
        .find(|p| p.running >= slots as f64)
        .map_or(f64::NAN, |p| p.t - from);
    QueueSummary {
        max_waiting,
        mean_running,
        ramp_s,
    }
}

/// Parses `dry run: D documents to extract, C chunks (...)` from a run's log.
fn dry_run_counts(log: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().find(|l| l.starts_with("dry run:"))?;
    let num_before = |word: &str| -> Option<u64> {
        let i = line.find(word)?;
        line[..i].split_whitespace().last()?.parse().ok()
    };
    Some(serde_json::json!({
        "documents": {"seen": num_before(" documents")?},
        "chunks": {"total": num_before(" chunks")?},
    }))
}

fn scaled(n: u64, scale: f64) -> u64 {
    ((n as f64 * scale).round() as u64).max(1)
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

impl Bench {
    fn fake_spec(&self, api: &'static str, slots: usize, fixed_ms: u64) -> FakeSpec {
        FakeSpec {
            api,
            slots,
            fixed_ms,
            threads: self.args.fake_threads,
            shared: None,
        }
    }

    fn fake_cmdline(&self, spec: &FakeSpec) -> String {
        let mut s = format!(
            "target/release/fake-engine --api {} --port 0 --slots {} --fixed-ms {}",
            spec.api, spec.slots, spec.fixed_ms
        );
        for a in spec.extra_args() {
            let _ = write!(s, " {a}");
        }
        s
    }

    fn start_fake(&self, spec: &FakeSpec, tag: &str) -> anyhow::Result<Fake> {
        Fake::start(
            &self.fake_bin,
            spec,
            &self.work.join("logs").join(format!("fake-{tag}.log")),
        )
    }

    /// Runs `aegis-ingest run CORPUS --out OUT <args>` and measures it.
    /// `fresh`: remove OUT first. Returns the measurement, report.json and fake stats.
    #[allow(clippy::too_many_arguments)]
    fn client(
        &self,
        res: &mut ScenarioResult,
        fake: Option<&Fake>,
        corpus: &Path,
        out: &Path,
        args: &[String],
        fresh: bool,
        tag: &str,
        track_answers: Option<&str>,
    ) -> anyhow::Result<ClientRun> {
        if fresh {
            let _ = std::fs::remove_dir_all(out);
        }
        let mut full: Vec<String> = vec![
            "run".into(),
            corpus.display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ];
        full.extend(args.iter().cloned());
        let mut shown = "target/release/aegis-ingest".to_string();
        for a in &full {
            let a = match fake {
                Some(f) => a.replace(&f.url, "http://127.0.0.1:$FAKE_PORT"),
                None => a.clone(),
            };
            let _ = write!(shown, " {}", shell_quote(&a));
        }
        res.command(shown);
        let mut cmd = Command::new(&self.aegis);
        cmd.args(&full);
        for (k, _) in std::env::vars() {
            if k.starts_with("AEGIS_")
                || k == "OLLAMA_HOST"
                || k == "VLLM_API_KEY"
                || k == "RUST_LOG"
            {
                cmd.env_remove(&k);
            }
        }
        if let Some(p) = &self.prompts {
            cmd.env("AEGIS_PROMPTS_DIR", p);
        }
        if let Some(f) = fake {
            f.reset_stats()?;
        }
        let cpu0 = fake.map(|f| f.cpu_seconds()).unwrap_or(0.0);
        let log = self.work.join("logs").join(format!("aegis-{tag}.log"));
        let probe = fake.map(|f| measure::Probe {
            host_port: f.host_port().to_string(),
            track_answers: track_answers.map(str::to_string),
        });
        let m = measure::run(&mut cmd, &log, probe)?;
        let fake_cpu_s = fake.map(|f| f.cpu_seconds()).unwrap_or(0.0) - cpu0;
        let stats = match fake {
            Some(f) => f.stats()?,
            None => fake::Stats::default(),
        };
        let report: serde_json::Value = std::fs::read(out.join("report.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(serde_json::Value::Null);
        // `--dry-run` writes nothing: take its count line from stdout instead.
        let report = if args.iter().any(|a| a == "--dry-run") {
            dry_run_counts(&log).unwrap_or(serde_json::Value::Null)
        } else {
            report
        };
        // The client's own peak (VmHWM, in report.json) where it says: wait4's ru_maxrss
        // also counts the memory of this harness at spawn time (the spawned child starts
        // in the harness's address space), which showed as a constant 131 MB floor when
        // the harness itself had grown that large.
        let mut m = m;
        if let Some(peak) = report["peak_rss_mb"].as_f64() {
            m.maxrss_mb = peak;
        }
        if m.exit_code != 0 {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: String = tail
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            bail!(
                "aegis-ingest exited with {} ({}); log {}:\n{tail}",
                m.exit_code,
                tag,
                log.display()
            );
        }
        eprintln!(
            "  [{tag}] wall {:.2}s cpu {:.2}s rss {:.0}MB chunks {} (now {}, resumed {}) requests {} served_ok {} first-request {}",
            m.wall_s,
            m.cpu_s(),
            m.maxrss_mb,
            report["chunks"]["total"],
            report["chunks"]["extracted_now"],
            report["chunks"]["resumed"],
            stats.chat_requests,
            stats.served_ok,
            m.first_request_s.map_or("-".into(), |s| format!("{s:.3}s")),
        );
        let other = stats.other_requests();
        if !other.is_empty() {
            eprintln!("  [{tag}] other requests to the fake: {other}");
        }
        Ok(ClientRun {
            m,
            report,
            stats,
            fake_cpu_s,
        })
    }

    fn check_all_extracted(&self, res: &mut ScenarioResult, r: &ClientRun, tag: &str) {
        let total = r.chunks_total();
        let now = r.chunk_count("extracted_now");
        if total == 0 || now != total || r.stats.served_ok != total || r.chunk_count("failed") != 0
        {
            res.note(format!(
                "{tag}: expected every chunk extracted once: total {total}, extracted_now {now}, failed {}, fake served_ok {}, chat requests {}",
                r.chunk_count("failed"),
                r.stats.served_ok,
                r.stats.chat_requests
            ));
        }
    }

    fn dir(&self, sub: &str) -> PathBuf {
        self.work.join(sub)
    }

    /// vllm / vllm-auto / ollama: throughput against slots × latency.
    /// `pin_concurrency`: pass the client concurrency (= slots) on the command line
    /// (`--concurrency` / `--ollama-concurrency`); without it the client uses its default
    /// (for vLLM, `--concurrency auto`, which reads the fake's /metrics).
    fn efficiency(&self, vllm: bool, pin_concurrency: bool) -> anyhow::Result<ScenarioResult> {
        let a = &self.args;
        let (name, base, slots, lat) = match (vllm, pin_concurrency) {
            (true, true) => ("vllm", 20_000, 256usize, a.vllm_latency_ms),
            (true, false) => ("vllm-auto", 20_000, 256usize, a.vllm_latency_ms),
            (false, true) => ("ollama", 400, 4usize, a.ollama_latency_ms),
            (false, false) => ("ollama-default", 400, 4usize, a.ollama_latency_ms),
        };
        let n = scaled(base, a.scale);
        let corpus = corpus::paragraphs(&self.dir("corpora"), Kind::Paragraphs, n, 100)?;
        let spec = self.fake_spec(if vllm { "openai" } else { "ollama" }, slots, lat);
        let mut res = ScenarioResult::new(
            name,
            format!(
                "fake {} API, {slots} slots, {lat} ms fixed latency per request (0 per token); {} paragraphs in {} Markdown files ({:.1} MB), one paragraph = one chunk with --chunk-tokens 60 --chunk-overlap 0; {}",
                spec.api,
                corpus.paragraphs,
                corpus.files,
                corpus.bytes as f64 / 1e6,
                if pin_concurrency {
                    "client concurrency = slots"
                } else if vllm {
                    "client concurrency NOT set: the default `--concurrency auto` (adaptive, reads the fake's /metrics every 0.1 s while climbing, then every 0.5 s)"
                } else {
                    "client concurrency NOT set (the client's default --ollama-concurrency)"
                }
            ),
        );
        res.command(self.fake_cmdline(&spec));
        let mut args: Vec<String> = Vec::new();
        let mut cols: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for rep in 0..a.repeat {
            let fake = self.start_fake(&spec, &format!("{name}-{rep}"))?;
            args.clear();
            if vllm {
                args.extend(["--vllm-url", &fake.url, "--no-ollama"].map(String::from));
            } else {
                args.extend(
                    [
                        "--no-vllm",
                        "--ollama-url",
                        &fake.url,
                        "--ollama-model",
                        "fake-model",
                    ]
                    .map(String::from),
                );
            }
            if pin_concurrency {
                let flag = if vllm {
                    "--concurrency"
                } else {
                    "--ollama-concurrency"
                };
                args.extend([flag.to_string(), slots.to_string()]);
            }
            args.extend(
                ["--chunk-tokens", "60", "--chunk-overlap", "0", "--quiet"].map(String::from),
            );
            let out = self.dir("out").join(name);
            let r = self.client(
                &mut res,
                Some(&fake),
                &corpus.dir,
                &out,
                &args,
                true,
                &format!("{name}-{rep}"),
                Some(spec.api),
            )?;
            fake.stop();
            self.check_all_extracted(&mut res, &r, &format!("{name} run {rep}"));
            let chunks = r.chunks_total() as f64;
            // The same load from a minimal client (threads, one connection per request),
            // right after, on a fresh fake: what the fake itself allows on this machine now.
            let fake = self.start_fake(&spec, &format!("{name}-reference-{rep}"))?;
            let ref_wall = fake.reference_load(spec.api, chunks as u64, slots)?;
            let ref_stats = fake.stats()?;
            fake.stop();
            eprintln!(
                "  [{name}-reference-{rep}] {chunks} requests, {slots} threads: wall {ref_wall:.2}s, served_ok {}, max_running {}",
                ref_stats.served_ok, ref_stats.max_running
            );
            let ideal = chunks / slots as f64 * lat as f64 / 1000.0;
            let rounds = (chunks / slots as f64).ceil() * lat as f64 / 1000.0;
            let q = queue_summary(&r, slots);
            // /metrics reads by the client = the fake's count − the harness's own polls.
            let client_metrics = r
                .stats
                .requests_by_endpoint
                .get("/metrics")
                .map_or(0.0, |&n| n.saturating_sub(r.m.progress_polls) as f64);
            for (k, v) in [
                ("chunks", chunks),
                ("wall", r.m.wall_s),
                ("startup", r.m.first_request_s.unwrap_or(f64::NAN)),
                ("ideal", ideal),
                ("ideal_rounds", rounds),
                ("eff", ideal / r.m.wall_s),
                ("eff_ex", ideal / r.after_startup()),
                ("eff_rounds_ex", rounds / r.after_startup()),
                (
                    "busy",
                    r.m.last_answer_s.unwrap_or(f64::NAN) - r.m.first_request_s.unwrap_or(f64::NAN),
                ),
                ("tail", r.m.wall_s - r.m.last_answer_s.unwrap_or(f64::NAN)),
                (
                    "eff_busy",
                    ideal
                        / (r.m.last_answer_s.unwrap_or(f64::NAN)
                            - r.m.first_request_s.unwrap_or(f64::NAN)),
                ),
                ("ref_wall", ref_wall),
                ("ref_eff", ideal / ref_wall),
                ("vs_ref", ref_wall / r.after_startup()),
                ("max_running", r.stats.max_running as f64),
                ("max_in_flight", r.stats.max_in_flight as f64),
                ("max_waiting", q.max_waiting),
                ("mean_running", q.mean_running),
                ("ramp", q.ramp_s),
                ("client_metrics", client_metrics),
                ("cpu", r.m.cpu_s()),
                ("cpu_per_chunk", r.m.cpu_s() / chunks * 1e6),
                ("rss", r.m.maxrss_mb),
                ("fake_cpu", r.fake_cpu_s),
            ] {
                cols.entry(k).or_default().push(v);
            }
        }
        let mut c = |k: &str| cols.remove(k).unwrap_or_default();
        res.metric("chunks", "", c("chunks"), None);
        res.metric(
            "ideal wall (chunks / slots × latency)",
            "s",
            c("ideal"),
            None,
        );
        res.metric("measured wall", "s", c("wall"), None);
        res.metric(
            "client start-up (spawn → first chat request)",
            "s",
            c("startup"),
            None,
        );
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
            "efficiency excl. start-up vs whole rounds (⌈chunks/slots⌉ × latency)",
            "",
            c("eff_rounds_ex"),
            None,
        );
        res.metric(
            "busy phase: first request → last answer (10 ms polling)",
            "s",
            c("busy"),
            None,
        );
        res.metric(
            "efficiency of the busy phase = ideal / busy phase",
            "",
            c("eff_busy"),
            None,
        );
        res.metric(
            "tail: last answer → exit (merge, outputs)",
            "s",
            c("tail"),
            None,
        );
        res.metric(
            "reference: minimal client, fresh fake, same requests (run after each client run): wall",
            "s",
            c("ref_wall"),
            None,
        );
        res.metric(
            "reference efficiency = ideal / reference wall (what the fake allows here)",
            "",
            c("ref_eff"),
            None,
        );
        res.metric(
            "client vs reference = reference wall / (wall − start-up), per pair",
            "",
            c("vs_ref"),
            None,
        );
        res.metric(
            "fake max_running (slots busy at once)",
            "",
            c("max_running"),
            None,
        );
        res.metric(
            "fake max_in_flight (running + queued)",
            "",
            c("max_in_flight"),
            None,
        );
        res.metric(
            "fake max waiting (queued for a slot; sampled every 10 ms)",
            "",
            c("max_waiting"),
            None,
        );
        res.metric(
            "mean slots busy, first request → last answer (sampled every 10 ms)",
            "",
            c("mean_running"),
            None,
        );
        res.metric(
            "ramp-up: first request → all slots busy (sampled every 10 ms)",
            "s",
            c("ramp"),
            None,
        );
        if vllm {
            res.metric(
                "client /metrics reads (fake's count − the harness's polls)",
                "",
                c("client_metrics"),
                None,
            );
        }
        res.metric("client CPU (user+sys)", "s", c("cpu"), None);
        res.metric("client CPU per chunk", "µs", c("cpu_per_chunk"), None);
        res.metric("client peak RSS", "MB", c("rss"), None);
        res.metric("fake engine CPU (same machine)", "s", c("fake_cpu"), None);
        Ok(res)
    }

    /// client-cost: CPU per chunk and peak RSS at two sizes.
    fn client_cost(&self) -> anyhow::Result<ScenarioResult> {
        let a = &self.args;
        let spec = self.fake_spec("openai", 256, a.client_cost_latency_ms);
        let sizes = [scaled(20_000, a.scale), scaled(200_000, a.scale)];
        let mut res = ScenarioResult::new(
            "client-cost",
            format!(
                "fake OpenAI API, 256 slots, {} ms fixed latency; --concurrency 256; paragraph corpora (100 paragraphs per file, one paragraph = one chunk with --chunk-tokens 60 --chunk-overlap 0) of {} and {} chunks",
                a.client_cost_latency_ms, sizes[0], sizes[1]
            ),
        );
        res.command(self.fake_cmdline(&spec));
        let mut meds: Vec<(f64, f64)> = Vec::new();
        for &n in &sizes {
            let corpus = corpus::paragraphs(&self.dir("corpora"), Kind::Paragraphs, n, 100)?;
            let mut cols: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            for rep in 0..a.repeat {
                let fake = self.start_fake(&spec, &format!("cost-{n}-{rep}"))?;
                let args: Vec<String> = [
                    "--vllm-url",
                    &fake.url,
                    "--no-ollama",
                    "--concurrency",
                    "256",
                    "--chunk-tokens",
                    "60",
                    "--chunk-overlap",
                    "0",
                    "--quiet",
                ]
                .map(String::from)
                .to_vec();
                let out = self.dir("out").join(format!("cost-{n}"));
                let r = self.client(
                    &mut res,
                    Some(&fake),
                    &corpus.dir,
                    &out,
                    &args,
                    true,
                    &format!("cost-{n}-{rep}"),
                    None,
                )?;
                fake.stop();
                self.check_all_extracted(&mut res, &r, &format!("client-cost {n} run {rep}"));
                let chunks = r.chunks_total() as f64;
                for (k, v) in [
                    ("chunks", chunks),
                    ("wall", r.m.wall_s),
                    ("rate", r.stats.served_ok as f64 / r.after_startup()),
                    ("cpu", r.m.cpu_s()),
                    ("user", r.m.user_s),
                    ("sys", r.m.sys_s),
                    ("cpu_per_chunk", r.m.cpu_s() / chunks * 1e6),
                    ("rss", r.m.maxrss_mb),
                    (
                        "fake_cpu_per_req",
                        r.fake_cpu_s / r.stats.chat_requests.max(1) as f64 * 1e6,
                    ),
                ] {
                    cols.entry(k).or_default().push(v);
                }
            }
            let mut c = |k: &str| cols.remove(k).unwrap_or_default();
            let chunks = c("chunks");
            let cpu = c("cpu");
            meds.push((median(&chunks), median(&cpu)));
            let label = |s: &str| format!("{s} @ {n} chunks");
            res.metric(&label("chunks"), "", chunks, None);
            res.metric(&label("wall"), "s", c("wall"), None);
            res.metric(
                &label("requests/s after start-up"),
                "req/s",
                c("rate"),
                None,
            );
            res.metric(&label("client CPU (user+sys)"), "s", cpu, None);
            res.metric(&label("client user CPU"), "s", c("user"), None);
            res.metric(&label("client sys CPU"), "s", c("sys"), None);
            res.metric(
                &label("client CPU per chunk"),
                "µs",
                c("cpu_per_chunk"),
                Some(Target::Below(CLIENT_CPU_TARGET_US)),
            );
            res.metric(
                &label("client peak RSS"),
                "MB",
                c("rss"),
                Some(Target::Below(150.0)),
            );
            res.metric(
                &label("fake engine CPU per request"),
                "µs",
                c("fake_cpu_per_req"),
                None,
            );
        }
        if meds.len() == 2 && meds[1].0 > meds[0].0 {
            let marginal = (meds[1].1 - meds[0].1) / (meds[1].0 - meds[0].0) * 1e6;
            res.metric(
                "marginal client CPU per chunk (between the two sizes, from medians)",
                "µs",
                vec![marginal],
                Some(Target::Below(CLIENT_CPU_TARGET_US)),
            );
        }
        Ok(res)
    }

    /// rate: requests/s and CPU per chunk at the default --concurrency, zero latency.
    fn rate(&self) -> anyhow::Result<ScenarioResult> {
        let a = &self.args;
        let n = scaled(20_000, a.scale);
        let spec = self.fake_spec("openai", 256, 0);
        let corpus = corpus::paragraphs(&self.dir("corpora"), Kind::Paragraphs, n, 100)?;
        let mut res = ScenarioResult::new(
            "rate",
            format!(
                "fake OpenAI API, 256 slots, zero latency; client at its DEFAULT --concurrency (no flag); {} one-paragraph chunks (--chunk-tokens 60 --chunk-overlap 0)",
                corpus.paragraphs
            ),
        );
        res.command(self.fake_cmdline(&spec));
        let mut cols: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for rep in 0..a.repeat {
            let fake = self.start_fake(&spec, &format!("rate-{rep}"))?;
            let args: Vec<String> = [
                "--vllm-url",
                &fake.url,
                "--no-ollama",
                "--chunk-tokens",
                "60",
                "--chunk-overlap",
                "0",
                "--quiet",
            ]
            .map(String::from)
            .to_vec();
            let out = self.dir("out").join("rate");
            let r = self.client(
                &mut res,
                Some(&fake),
                &corpus.dir,
                &out,
                &args,
                true,
                &format!("rate-{rep}"),
                None,
            )?;
            fake.stop();
            self.check_all_extracted(&mut res, &r, &format!("rate run {rep}"));
            let chunks = r.chunks_total() as f64;
            for (k, v) in [
                ("chunks", chunks),
                ("wall", r.m.wall_s),
                ("startup", r.m.first_request_s.unwrap_or(f64::NAN)),
                ("rate_ex", r.stats.served_ok as f64 / r.after_startup()),
                ("rate", r.stats.served_ok as f64 / r.m.wall_s),
                ("cpu_per_chunk", r.m.cpu_s() / chunks * 1e6),
                ("rss", r.m.maxrss_mb),
                ("max_running", r.stats.max_running as f64),
                (
                    "fake_cpu_per_req",
                    r.fake_cpu_s / r.stats.chat_requests.max(1) as f64 * 1e6,
                ),
                ("cores", (r.m.cpu_s() + r.fake_cpu_s) / r.m.wall_s),
            ] {
                cols.entry(k).or_default().push(v);
            }
        }
        let mut c = |k: &str| cols.remove(k).unwrap_or_default();
        res.metric("chunks", "", c("chunks"), None);
        res.metric("wall", "s", c("wall"), None);
        res.metric(
            "client start-up (spawn → first chat request)",
            "s",
            c("startup"),
            None,
        );
        res.metric("requests/s after start-up", "req/s", c("rate_ex"), None);
        res.metric("requests/s over the whole run", "req/s", c("rate"), None);
        res.metric(
            "client CPU per chunk",
            "µs",
            c("cpu_per_chunk"),
            Some(Target::Below(CLIENT_CPU_TARGET_US)),
        );
        res.metric(
            "client peak RSS",
            "MB",
            c("rss"),
            Some(Target::Below(150.0)),
        );
        res.metric(
            "fake max_running (= client concurrency in use)",
            "",
            c("max_running"),
            None,
        );
        res.metric(
            "fake engine CPU per request",
            "µs",
            c("fake_cpu_per_req"),
            None,
        );
        res.metric(
            "cores busy (client + fake CPU / wall)",
            "",
            c("cores"),
            None,
        );
        Ok(res)
    }

    /// frontend: walk + read + chunk throughput vs cat.
    fn frontend(&self) -> anyhow::Result<ScenarioResult> {
        let a = &self.args;
        let total = scaled(1_000_000_000, a.frontend_scale.unwrap_or(a.scale));
        let corpus = corpus::prose(&self.dir("corpora"), total, 1 << 20)?;
        let mb = corpus.bytes as f64 / 1e6;
        let dry = self.has_dry_run && !a.frontend_no_dry_run;
        let mut res = ScenarioResult::new(
            "frontend",
            format!(
                "{:.0} MB of Markdown prose in {} files of ~1 MiB, default chunk settings (--chunk-tokens 1200 --chunk-overlap 100); page cache warm for both aegis-ingest and cat; {}",
                mb,
                corpus.files,
                if dry {
                    "measured with `run --dry-run` (walk, read, chunk, keys; no engine)"
                } else {
                    "no --dry-run in this build: measured a second run where every chunk is already in the checkpoint (0 requests; includes loading the checkpoint and rewriting the outputs)"
                }
            ),
        );
        let spec = self.fake_spec("openai", 256, 0);
        res.command(self.fake_cmdline(&spec));
        let fake = self.start_fake(&spec, "frontend")?;
        let base: Vec<String> = [
            "--vllm-url",
            &fake.url,
            "--no-ollama",
            "--concurrency",
            "256",
            "--quiet",
        ]
        .map(String::from)
        .to_vec();
        let out = self.dir("out").join("frontend");
        // cat baseline (first run warms the page cache).
        let cat_cmd = format!(
            "find {} -type f -print0 | xargs -0 cat > /dev/null",
            shell_quote(&corpus.dir.display().to_string())
        );
        res.command(cat_cmd.clone());
        let cat = |tag: &str| -> anyhow::Result<Measured> {
            measure::run(
                Command::new("sh").arg("-c").arg(&cat_cmd),
                &self.work.join("logs").join(format!("cat-{tag}.log")),
                None,
            )
        };
        let w = cat("warm")?;
        eprintln!("  [cat warm-up] {:.2}s", w.wall_s);
        let mut args = base.clone();
        if dry {
            args.push("--dry-run".into());
        } else {
            let _ = std::fs::remove_dir_all(&out);
            let fill = self.client(
                &mut res,
                Some(&fake),
                &corpus.dir,
                &out,
                &base,
                true,
                "frontend-fill",
                None,
            )?;
            self.check_all_extracted(&mut res, &fill, "frontend fill run");
            res.metric(
                "fill run (first run, all chunks extracted, 1 sample): wall",
                "s",
                vec![fill.m.wall_s],
                None,
            );
            res.metric(
                "fill run: client CPU per chunk",
                "µs",
                vec![fill.m.cpu_s() / fill.chunks_total().max(1) as f64 * 1e6],
                None,
            );
        }
        let mut cols: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for rep in 0..a.repeat {
            let r = self.client(
                &mut res,
                Some(&fake),
                &corpus.dir,
                &out,
                &args,
                dry,
                &format!("frontend-{rep}"),
                None,
            )?;
            if r.stats.chat_requests != 0 {
                res.note(format!(
                    "frontend run {rep}: {} chat requests (expected 0)",
                    r.stats.chat_requests
                ));
            }
            let c = cat(&rep.to_string())?;
            for (k, v) in [
                ("chunks", r.chunks_total() as f64),
                ("wall", r.m.wall_s),
                ("mbps", mb / r.m.wall_s),
                ("mb_per_cpu", mb / r.m.cpu_s()),
                ("cpu", r.m.cpu_s()),
                ("rss", r.m.maxrss_mb),
                ("cat_wall", c.wall_s),
                ("cat_mbps", mb / c.wall_s),
                ("ratio", c.wall_s / r.m.wall_s),
                ("slowdown", r.m.wall_s / c.wall_s),
            ] {
                cols.entry(k).or_default().push(v);
            }
        }
        fake.stop();
        let mut c = |k: &str| cols.remove(k).unwrap_or_default();
        res.metric("corpus size", "MB", vec![mb], None);
        res.metric("chunks (report.json)", "", c("chunks"), None);
        res.metric("aegis-ingest wall", "s", c("wall"), None);
        res.metric("aegis-ingest throughput", "MB/s", c("mbps"), None);
        res.metric("aegis-ingest CPU (user+sys)", "s", c("cpu"), None);
        res.metric(
            "aegis-ingest MB per CPU-second (insensitive to other load)",
            "MB/s",
            c("mb_per_cpu"),
            None,
        );
        res.metric(
            "aegis-ingest peak RSS",
            "MB",
            c("rss"),
            Some(Target::Below(150.0)),
        );
        res.metric("cat wall", "s", c("cat_wall"), None);
        res.metric("cat throughput", "MB/s", c("cat_mbps"), None);
        res.metric(
            "ratio aegis MB/s ÷ cat MB/s (per run pair)",
            "",
            c("ratio"),
            None,
        );
        res.metric(
            "aegis time ÷ cat time (per run pair)",
            "×",
            c("slowdown"),
            None,
        );
        Ok(res)
    }

    /// resume: load a big checkpoint and skip everything.
    fn resume(&self) -> anyhow::Result<ScenarioResult> {
        let a = &self.args;
        let n = scaled(1_000_000, a.scale);
        let corpus = corpus::paragraphs(&self.dir("corpora"), Kind::Tiny, n, 1000)?;
        // A corpus is older than the run over it: files written in the 2 s before a run
        // are read again by the next one (the file cache's guard against same-tick edits),
        // which would make the first measured rerun read everything.
        let st = std::process::Command::new("find")
            .arg(&corpus.dir)
            .args([
                "-type",
                "f",
                "-exec",
                "touch",
                "-d",
                "1 hour ago",
                "{}",
                "+",
            ])
            .status()?;
        anyhow::ensure!(st.success(), "could not age the corpus files");
        let spec = self.fake_spec("openai", 256, 0);
        let mut res = ScenarioResult::new(
            "resume",
            format!(
                "{} tiny paragraphs (~10 tokens) in {} Markdown files ({:.1} MB), --chunk-tokens 16 --chunk-overlap 0 (one paragraph = one chunk); checkpoint filled by a first run against a zero-latency fake (256 slots, --concurrency 256); measured: the second run (everything resumed; 0 chat requests expected, checked with the fake's stats)",
                corpus.paragraphs,
                corpus.files,
                corpus.bytes as f64 / 1e6
            ),
        );
        res.command(self.fake_cmdline(&spec));
        let fake = self.start_fake(&spec, "resume")?;
        let args: Vec<String> = [
            "--vllm-url",
            &fake.url,
            "--no-ollama",
            "--concurrency",
            "256",
            "--chunk-tokens",
            "16",
            "--chunk-overlap",
            "0",
            "--quiet",
        ]
        .map(String::from)
        .to_vec();
        let out = self.dir("out").join(format!("resume-{n}"));
        let fill = self.client(
            &mut res,
            Some(&fake),
            &corpus.dir,
            &out,
            &args,
            true,
            "resume-fill",
            None,
        )?;
        self.check_all_extracted(&mut res, &fill, "resume fill run");
        let fill_chunks = fill.chunks_total() as f64;
        res.metric(
            "fill run (1 sample): chunks extracted",
            "",
            vec![fill_chunks],
            None,
        );
        res.metric("fill run: wall", "s", vec![fill.m.wall_s], None);
        res.metric(
            "fill run: requests/s after start-up",
            "req/s",
            vec![fill.stats.served_ok as f64 / fill.after_startup()],
            None,
        );
        res.metric(
            "fill run: client CPU per chunk",
            "µs",
            vec![fill.m.cpu_s() / fill_chunks.max(1.0) * 1e6],
            Some(Target::Below(100.0)),
        );
        res.metric(
            "fill run: client peak RSS",
            "MB",
            vec![fill.m.maxrss_mb],
            Some(Target::Below(150.0)),
        );
        let ck = std::fs::metadata(out.join("checkpoint.jsonl"))
            .map(|m| m.len())
            .unwrap_or(0);
        res.metric("checkpoint.jsonl size", "MB", vec![ck as f64 / 1e6], None);
        let mut cols: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for rep in 0..a.repeat {
            let r = self.client(
                &mut res,
                Some(&fake),
                &corpus.dir,
                &out,
                &args,
                false,
                &format!("resume-{rep}"),
                None,
            )?;
            let resumed = r.chunk_count("resumed");
            if r.stats.chat_requests != 0 || resumed != r.chunks_total() {
                res.note(format!(
                    "resume run {rep}: {} chat requests, {resumed} of {} chunks resumed (expected 0 requests, all resumed)",
                    r.stats.chat_requests,
                    r.chunks_total()
                ));
            }
            for (k, v) in [
                ("resumed", resumed as f64),
                ("requests", r.stats.chat_requests as f64),
                ("wall", r.m.wall_s),
                ("cpu", r.m.cpu_s()),
                ("per_chunk", r.m.wall_s / resumed.max(1) as f64 * 1e6),
                ("rss", r.m.maxrss_mb),
            ] {
                cols.entry(k).or_default().push(v);
            }
        }
        fake.stop();
        let mut c = |k: &str| cols.remove(k).unwrap_or_default();
        res.metric("second run: chunks resumed", "", c("resumed"), None);
        res.metric(
            "second run: chat requests seen by the fake",
            "",
            c("requests"),
            None,
        );
        res.metric("second run: wall", "s", c("wall"), Some(Target::Below(3.0)));
        res.metric(
            "second run: wall per resumed chunk",
            "µs",
            c("per_chunk"),
            None,
        );
        res.metric("second run: client CPU (user+sys)", "s", c("cpu"), None);
        res.metric(
            "second run: client peak RSS",
            "MB",
            c("rss"),
            Some(Target::Below(150.0)),
        );
        Ok(res)
    }
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
        }
    }
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total = mem
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map(|k| k / 1024.0 / 1024.0)
        .unwrap_or(f64::NAN);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{cores} cores ({model}), {total:.1} GiB RAM, load average at start: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.repeat == 0 || args.scale.is_nan() || args.scale <= 0.0 {
        bail!("--repeat must be ≥ 1 and --scale > 0");
    }
    if let Some(spec) = &args.leiden_child {
        return leiden::child(spec, args.leiden_labels.as_deref(), args.leiden_max_levels);
    }
    if let Some(dir) = &args.dump_edges {
        return leiden::dump(dir, args.scale);
    }
    let bin_dir = match &args.bin_dir {
        Some(d) => d.clone(),
        None => match std::env::var_os("CARGO_TARGET_DIR") {
            Some(t) => PathBuf::from(t).join("release"),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release"),
        },
    };
    let wanted: Vec<String> = if args.scenario == "all" {
        SCENARIOS.iter().map(|s| s.to_string()).collect()
    } else {
        args.scenario
            .split(',')
            .map(|s| s.trim().to_string())
            .collect()
    };
    // `leiden` runs in this process's children: it needs neither binary.
    let needs_bins = wanted.iter().any(|w| w != "leiden");
    let aegis = bin_dir.join("aegis-ingest");
    let fake_bin = bin_dir.join("fake-engine");
    for b in [&aegis, &fake_bin] {
        if needs_bins && !b.is_file() {
            bail!(
                "{} not found: build with `cargo build --release --workspace` (or pass --bin-dir)",
                b.display()
            );
        }
    }
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("aegis-bench"));
    for sub in ["corpora", "out", "logs"] {
        std::fs::create_dir_all(work.join(sub))
            .with_context(|| format!("creating {}", work.display()))?;
    }
    let has_dry_run = needs_bins && {
        let help = Command::new(&aegis).args(["run", "--help"]).output()?;
        String::from_utf8_lossy(&help.stdout).contains("--dry-run")
    };
    for w in &wanted {
        if !SCENARIOS.contains(&w.as_str()) {
            bail!(
                "unknown scenario {w:?}; one of {} or all",
                SCENARIOS.join(", ")
            );
        }
    }
    let machine = machine();
    eprintln!(
        "aegis-bench: {machine}; binaries in {}; work dir {}; --dry-run available: {has_dry_run}",
        bin_dir.display(),
        work.display()
    );
    // Snapshot the built-in prompts (see `Bench::prompts`).
    let prompts_src = args
        .prompts_root
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts"));
    let prompts = if prompts_src.is_dir() {
        let dst = work.join("prompts-snapshot");
        let _ = std::fs::remove_dir_all(&dst);
        copy_dir(&prompts_src, &dst)?;
        eprintln!(
            "aegis-bench: prompts copied from {} to {} (AEGIS_PROMPTS_DIR of every run)",
            prompts_src.display(),
            dst.display()
        );
        Some(dst)
    } else {
        None
    };
    let bench = Bench {
        prompts,
        args,
        aegis,
        fake_bin,
        work: work.clone(),
        has_dry_run,
    };
    let mut results = Vec::new();
    for w in &wanted {
        let load_before = loadavg();
        eprintln!(
            "== scenario {w} (repeat {}, scale {})",
            bench.args.repeat, bench.args.scale
        );
        let r = match w.as_str() {
            "vllm" => bench.efficiency(true, true),
            "vllm-auto" => bench.efficiency(true, false),
            "ollama" => bench.efficiency(false, true),
            "client-cost" => bench.client_cost(),
            "rate" => bench.rate(),
            "shared-rate" => bench.shared_rate(),
            "frontend" => bench.frontend(),
            "resume" => bench.resume(),
            "pdf-read" => pdf_read::run(&pdf_read::PdfRead {
                aegis: &bench.aegis,
                dir: bench.dir("corpora").join("pdf-read"),
                repeat: bench.args.repeat,
                scale: bench.args.scale,
                extra: bench.args.pdf_dir.as_deref(),
            }),
            "export" => export_figures::run(&export_figures::ExportFigures {
                aegis: &bench.aegis,
                out: bench.dir("out").join("export-figures"),
                logs: bench.dir("logs"),
                scale: bench.args.scale,
                pg_url: bench.args.export_pg_url.as_deref(),
            }),
            "leiden" => leiden::run(&leiden::LeidenBench {
                exe: &std::env::current_exe()?,
                logs: bench.dir("logs"),
                repeat: bench.args.repeat,
                scale: bench.args.scale,
            }),
            "relations" => relations::run(&relations::Relations {
                aegis: &bench.aegis,
                work: bench.dir("out").join("relations"),
                repeat: bench.args.repeat,
            }),
            "communities" => communities::run(&communities::CommunitiesBench {
                aegis: &bench.aegis,
                fake_bin: &bench.fake_bin,
                out: bench.dir("out").join("communities"),
                logs: bench.dir("logs"),
                repeat: bench.args.repeat,
                scale: bench.args.scale,
                latency_ms: bench.args.communities_latency_ms,
                concurrency: bench.args.communities_concurrency,
                fake_threads: bench.args.fake_threads,
                prompts: bench.prompts.as_deref(),
            }),
            _ => unreachable!(),
        };
        let load = format!("{load_before} (at its end: {})", loadavg());
        match r {
            Ok(mut r) => {
                r.notes.insert(
                    0,
                    format!("load average (1/5/15 min) when the scenario began: {load}"),
                );
                println!("{}", markdown(std::slice::from_ref(&r), bench.args.repeat));
                results.push(r);
            }
            Err(e) => {
                eprintln!("scenario {w} failed: {e:#}");
                let mut r = ScenarioResult::new(w, "failed".into());
                r.notes.push(format!("scenario failed: {e:#}"));
                results.push(r);
            }
        }
    }
    let md = format!(
        "Machine: {machine}\nScale: {}, repeat: {}\n\n{}",
        bench.args.scale,
        bench.args.repeat,
        markdown(&results, bench.args.repeat)
    );
    if let Some(p) = &bench.args.out_md {
        std::fs::write(p, &md)?;
    }
    if let Some(p) = &bench.args.out_json {
        let j = serde_json::json!({
            "machine": machine,
            "scale": bench.args.scale,
            "repeat": bench.args.repeat,
            "dry_run_available": has_dry_run,
            "scenarios": results,
        });
        std::fs::write(p, serde_json::to_string_pretty(&j)?)?;
    }
    if bench.args.clean {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(())
}
