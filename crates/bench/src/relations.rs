//! Scenario `relations`: `--relations joint` against `two-pass`, with and without the
//! taxonomy's relation type signatures, on the gold corpus (`fixtures/gold`), against the
//! fake engine making a small model's mistakes (dangling endpoints, self-loops, type
//! conflicts) within what each request's schema allows. Each configuration is run, then
//! scored with `aegis-ingest eval --gold`; the table gives quality (entity and relation
//! F1), relations kept per chunk, drops by reason, requests and tokens per chunk, and wall
//! time. The fake answers from the chunk's capitalised words, so the F1 figures compare
//! the modes with each other, not with a real model.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};
use fake_engine::{FakeConfig, FakeEngine, Mistakes};
use serde_json::Value;

use crate::measure::median;
use crate::report::ScenarioResult;

/// What the scenario needs from the harness.
pub struct Relations<'a> {
    pub aegis: &'a Path,
    /// Outputs and the unsigned taxonomy (replaced).
    pub work: PathBuf,
    pub repeat: usize,
}

/// The mistake rates the fake makes.
pub const MISTAKES: Mistakes = Mistakes {
    dangling: 0.2,
    self_loop: 0.1,
    type_conflict: 0.2,
    ignore_schema: false,
    seed: 7,
};

/// One configuration: the mode, signatures on or off, the fake ignoring the schema.
struct Config {
    mode: &'static str,
    signed: bool,
    ignore_schema: bool,
}

const CONFIGS: [Config; 7] = [
    Config {
        mode: "joint",
        signed: false,
        ignore_schema: false,
    },
    Config {
        mode: "joint",
        signed: true,
        ignore_schema: false,
    },
    Config {
        mode: "two-pass",
        signed: false,
        ignore_schema: false,
    },
    Config {
        mode: "two-pass",
        signed: true,
        ignore_schema: false,
    },
    Config {
        mode: "two-pass",
        signed: true,
        ignore_schema: true,
    },
    Config {
        mode: "repair",
        signed: false,
        ignore_schema: false,
    },
    Config {
        mode: "repair",
        signed: true,
        ignore_schema: false,
    },
];

fn gold_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/gold")
}

fn prompts_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts")
}

/// The `general` domain without its signatures.
fn unsigned_general(dir: &Path) -> anyhow::Result<PathBuf> {
    let p = dir.join("unsigned-general");
    std::fs::create_dir_all(&p)?;
    let tax = std::fs::read_to_string(prompts_root().join("general/taxonomy.toml"))?
        .lines()
        .filter(|l| !l.starts_with("source =") && !l.starts_with("target ="))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(p.join("taxonomy.toml"), tax)?;
    Ok(p)
}

/// The figures of one run.
#[derive(Default, Clone)]
struct Figures {
    ent_typed: f64,
    ent_untyped: f64,
    rel_labeled: f64,
    rel_unlabeled: f64,
    relations_per_chunk: f64,
    requests_per_chunk: f64,
    prompt_per_chunk: f64,
    cached_per_chunk: f64,
    completion_per_chunk: f64,
    wall_s: f64,
    drops: BTreeMap<String, u64>,
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn aegis(bin: &Path, args: &[&str], log: &Path) -> anyhow::Result<()> {
    let out = Command::new(bin)
        .args(args)
        .env("AEGIS_PROMPTS_DIR", prompts_root())
        .env("RUST_LOG", "warn")
        .env_remove("AEGIS_CONFIG")
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    std::fs::write(log, &out.stderr)?;
    if !out.status.success() {
        bail!(
            "aegis-ingest {args:?} exited {}: see {}",
            out.status,
            log.display()
        );
    }
    Ok(())
}

fn run_one(s: &Relations, c: &Config, url: &str, unsigned: &Path) -> anyhow::Result<Figures> {
    let name = format!(
        "{}-{}{}",
        c.mode,
        if c.signed { "signed" } else { "unsigned" },
        if c.ignore_schema { "-ignoring" } else { "" }
    );
    let out = s.work.join(&name);
    let corpus = gold_dir().join("corpus");
    let mut args = vec![
        "run",
        corpus.to_str().unwrap_or_default(),
        "--out",
        out.to_str().unwrap_or_default(),
        "--vllm-url",
        url,
        "--no-ollama",
        "--fresh",
        "--relations",
        c.mode,
        "--concurrency",
        "8",
    ];
    if !c.signed {
        args.extend(["--prompts", unsigned.to_str().unwrap_or_default()]);
    }
    let start = Instant::now();
    aegis(s.aegis, &args, &s.work.join(format!("{name}.run.log")))?;
    let wall_s = start.elapsed().as_secs_f64();
    let gold = gold_dir().join("gold.jsonl");
    aegis(
        s.aegis,
        &[
            "eval",
            "--gold",
            gold.to_str().unwrap_or_default(),
            "--out",
            out.to_str().unwrap_or_default(),
        ],
        &s.work.join(format!("{name}.eval.log")),
    )?;
    let ev: Value = serde_json::from_slice(&std::fs::read(out.join("eval.json"))?)?;
    let rep: Value = serde_json::from_slice(&std::fs::read(out.join("report.json"))?)?;
    let chunks = f(&rep["chunks"]["total"]).max(1.0);
    let engine = &rep["engines"]["vllm"];
    let drops = rep["validation"]["dropped"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_u64().filter(|n| *n > 0).map(|n| (k.clone(), n)))
                .collect()
        })
        .unwrap_or_default();
    Ok(Figures {
        ent_typed: f(&ev["entities"]["exact_typed"]["f1"]),
        ent_untyped: f(&ev["entities"]["exact_untyped"]["f1"]),
        rel_labeled: f(&ev["relations"]["labeled"]["f1"]),
        rel_unlabeled: f(&ev["relations"]["unlabeled"]["f1"]),
        relations_per_chunk: f(&rep["validation"]["relations_kept"]) / chunks,
        requests_per_chunk: f(&engine["requests"]) / chunks,
        prompt_per_chunk: f(&engine["prompt_tokens"]) / chunks,
        cached_per_chunk: f(&engine["cached_prompt_tokens"]) / chunks,
        completion_per_chunk: f(&engine["completion_tokens"]) / chunks,
        wall_s,
        drops,
    })
}

/// Runs every configuration `repeat` times (the wall time is the median; the rest is
/// deterministic) and prints the table.
pub fn run(s: &Relations) -> anyhow::Result<ScenarioResult> {
    std::fs::create_dir_all(&s.work)?;
    let unsigned = unsigned_general(&s.work)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let mut res = ScenarioResult::new(
        "relations",
        format!(
            "the gold corpus (32 chunks), the fake engine with mistakes {MISTAKES:?} and 20 ms + 0.2 ms per output token, then `eval --gold`"
        ),
    );
    res.command(
        "target/release/aegis-ingest run fixtures/gold/corpus --relations joint|two-pass|repair [--prompts UNSIGNED] && aegis-ingest eval --gold fixtures/gold/gold.jsonl".into(),
    );
    let mut table = String::from(
        "| mode | signatures | engine | entity F1 typed | entity F1 untyped | relation F1 labeled | relation F1 unlabeled | relations/chunk | requests/chunk | prompt tok/chunk | cached tok/chunk | completion tok/chunk | wall s | drops |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in &CONFIGS {
        let mut runs = Vec::new();
        for _ in 0..s.repeat.max(1) {
            let fake = rt.block_on(FakeEngine::start(
                FakeConfig::new()
                    .latency(20, 0.2)
                    .report_cached_tokens()
                    .mistakes(Mistakes {
                        ignore_schema: c.ignore_schema,
                        ..MISTAKES
                    }),
            ))?;
            let r = run_one(s, c, &fake.url(), &unsigned);
            rt.block_on(fake.shutdown());
            runs.push(r?);
        }
        let wall = median(&runs.iter().map(|r| r.wall_s).collect::<Vec<_>>());
        let x = runs[0].clone();
        let label = format!(
            "{} {}{}",
            c.mode,
            if c.signed { "signed" } else { "unsigned" },
            if c.ignore_schema {
                " ignoring-schema"
            } else {
                ""
            }
        );
        let drops = x
            .drops
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            table,
            "| {} | {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} | {:.2} | {} |",
            c.mode,
            if c.signed { "yes" } else { "no" },
            if c.ignore_schema { "ignores schema" } else { "keeps to schema" },
            x.ent_typed,
            x.ent_untyped,
            x.rel_labeled,
            x.rel_unlabeled,
            x.relations_per_chunk,
            x.requests_per_chunk,
            x.prompt_per_chunk,
            x.cached_per_chunk,
            x.completion_per_chunk,
            wall,
            if drops.is_empty() { "none".into() } else { drops },
        );
        res.metric(
            &format!("{label}: relation F1 unlabeled"),
            "",
            vec![x.rel_unlabeled],
            None,
        );
        res.metric(
            &format!("{label}: relations per chunk"),
            "",
            vec![x.relations_per_chunk],
            None,
        );
        res.metric(
            &format!("{label}: requests per chunk"),
            "",
            vec![x.requests_per_chunk],
            None,
        );
        res.metric(
            &format!("{label}: wall"),
            "s",
            runs.iter().map(|r| r.wall_s).collect(),
            None,
        );
    }
    eprintln!("FIGURE relations table:\n{table}");
    res.notes.push(table);
    Ok(res)
}
