//! Shared helpers: corpora, running the binary, reading its outputs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_aegis-ingest");

/// The repository's sample corpus.
pub fn sample_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample")
}

/// What a run of the binary left behind.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// A `Command` for the binary with a clean environment (no AEGIS_*, OLLAMA_HOST,
/// VLLM_API_KEY, AEGIS_CONFIG from the developer's shell) and quiet logs.
pub fn command(args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args)
        .env_remove("OLLAMA_HOST")
        .env_remove("VLLM_API_KEY")
        .env_remove("AEGIS_VLLM_URL")
        .env_remove("AEGIS_VLLM_MODEL")
        .env_remove("AEGIS_OUT")
        .env_remove("AEGIS_CONCURRENCY")
        .env_remove("AEGIS_OLLAMA_MODEL")
        .env_remove("AEGIS_OLLAMA_CONCURRENCY")
        .env_remove("AEGIS_SHARD")
        .env_remove("AEGIS_SHARD_COUNT")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("AEGIS_CONFIG")
        .env(
            "AEGIS_PROMPTS_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"),
        )
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Runs the binary to completion (killed after `limit`).
pub async fn run_with_limit(args: &[&str], limit: Duration) -> Ran {
    run_env_limit(args, &[], limit).await
}

/// Runs the binary with extra environment variables, killed after `limit`.
async fn run_env_limit(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Ran {
    let start = Instant::now();
    let mut cmd = command(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn aegis-ingest");
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("aegis-ingest {args:?} did not finish within {limit:?}"))
        .expect("wait for aegis-ingest");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

pub async fn run(args: &[&str]) -> Ran {
    run_with_limit(args, Duration::from_secs(120)).await
}

pub fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSONL line {l:?}: {e}")))
        .collect()
}

pub fn report(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("report.json")).expect("report.json"))
        .expect("report JSON")
}

/// Writes a synthetic corpus: `docs` documents of `paras` paragraphs each, every paragraph
/// naming distinct capitalized entities (so the fake engine extracts them).
pub fn synthetic_corpus(dir: &Path, docs: usize, paras: usize) {
    for d in 0..docs {
        let mut text = format!("# Report {d}\n\n");
        for p in 0..paras {
            text.push_str(&format!(
                "Companydoc{d}para{p} hired Personx{d}y{p} in Cityq{p}z{d}. The team shipped Productk{d}m{p} on time, \
                 and the board approved the plan after a long review of the budget and the risks involved.\n\n"
            ));
        }
        let sub = dir.join(format!("part{}", d % 3));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("doc{d:03}.md")), text).unwrap();
    }
}

/// Entity names grouped by document, from entities.jsonl.
pub fn entities_by_doc(entities: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in entities {
        for s in e["sources"].as_array().unwrap() {
            m.entry(s["doc"].as_str().unwrap().to_string())
                .or_default()
                .insert(e["name"].as_str().unwrap().to_string());
        }
    }
    m
}

/// What the fake engine must have produced for each document: the library's own reader
/// and chunker cut the documents, the fake's pure function answers each chunk.
pub fn expected_entities(
    corpus: &Path,
    chunk_tokens: usize,
    overlap: usize,
) -> BTreeMap<String, BTreeSet<String>> {
    use aegis_ingest::chunk::{ChunkSettings, Chunker};
    use aegis_ingest::prompt::{default_prompts_root, PromptSet};
    let prompts = PromptSet::load_domain(&default_prompts_root(), "general").unwrap();
    let chunker = Chunker::new(ChunkSettings {
        tokens: chunk_tokens,
        overlap,
    })
    .unwrap();
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let filter = aegis_ingest::read::walk::PathFilter::new(&[], &[]).unwrap();
    let schema: Value = serde_json::from_str(&prompts.schema).unwrap();
    for item in aegis_ingest::read::walk::walk(corpus, filter) {
        let aegis_ingest::read::walk::WalkItem::Doc(entry) = item else {
            continue;
        };
        let Ok(doc) = aegis_ingest::read::read_document(&entry, u64::MAX) else {
            continue;
        };
        for ch in chunker.chunk(&doc) {
            let x = fake_engine::fake_extraction(&ch.text, &schema);
            for e in x["entities"].as_array().unwrap() {
                m.entry(entry.rel.clone())
                    .or_default()
                    .insert(e["name"].as_str().unwrap().to_string());
            }
        }
    }
    m
}

/// Checks the contract of the output records; returns (entities, relations).
pub fn check_outputs(out: &Path) -> (Vec<Value>, Vec<Value>) {
    let entities = read_jsonl(&out.join("entities.jsonl"));
    let relations = read_jsonl(&out.join("relations.jsonl"));
    let mut ids = BTreeSet::new();
    for e in &entities {
        let id = e["id"].as_str().expect("entity id");
        assert!(id.starts_with("ent_"), "{e}");
        assert!(ids.insert(id.to_string()), "entity id {id} twice");
        assert!(e["name"].as_str().is_some_and(|n| !n.is_empty()), "{e}");
        assert!(e["type"].as_str().is_some(), "{e}");
        assert!(e["description"].is_string(), "{e}");
        assert!(e["mentions"].as_u64().unwrap() >= 1, "{e}");
        assert!(!e["sources"].as_array().unwrap().is_empty(), "{e}");
    }
    let mut rel_ids = BTreeSet::new();
    for r in &relations {
        assert!(r["id"].as_str().unwrap().starts_with("rel_"), "{r}");
        assert!(
            rel_ids.insert(r["id"].as_str().unwrap().to_string()),
            "relation twice: {r}"
        );
        for end in ["source", "target"] {
            let id = r[end].as_str().unwrap();
            assert!(
                ids.contains(id),
                "relation {end} {id} is not an entity: {r}"
            );
        }
        assert!(
            r["weight"].as_f64().is_some() && r["mentions"].as_u64().unwrap() >= 1,
            "{r}"
        );
        assert!(
            r["type"].as_str().is_some() && r["description"].is_string(),
            "{r}"
        );
    }
    (entities, relations)
}

/// `run CORPUS --out OUT --vllm-url URL --no-ollama EXTRA...`, killed after `limit`.
pub async fn run_vllm(
    corpus: &Path,
    out: &Path,
    url: &str,
    extra: &[&str],
    limit: Duration,
) -> Ran {
    let mut args = vec![
        "run",
        corpus.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--vllm-url",
        url,
        "--no-ollama",
    ];
    args.extend_from_slice(extra);
    run_with_limit(&args, limit).await
}

/// Like `run`, with extra environment variables.
pub async fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Ran {
    run_env_limit(args, env, Duration::from_secs(120)).await
}

/// A synthetic corpus and an output folder in a temporary directory.
pub struct Case {
    /// Holds the folder; removed when the case is dropped.
    pub tmp: tempfile::TempDir,
    pub corpus: PathBuf,
    pub out: PathBuf,
}

/// `docs` documents of `paras` paragraphs each.
pub fn case(docs: usize, paras: usize) -> Case {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    synthetic_corpus(&corpus, docs, paras);
    let out = tmp.path().join("out");
    Case { tmp, corpus, out }
}

impl Case {
    /// `run` on the corpus against a vLLM at `url` (no Ollama), one paragraph a chunk,
    /// then `extra`.
    pub fn args<'a>(&'a self, url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut a = vec![
            "run",
            self.corpus.to_str().unwrap(),
            "--out",
            self.out.to_str().unwrap(),
            "--vllm-url",
            url,
            "--no-ollama",
            "--chunk-tokens",
            "60",
            "--chunk-overlap",
            "0",
        ];
        a.extend_from_slice(extra);
        a
    }
}

/// A test needs a program from outside Rust (nginx, PostgreSQL, FalkorDB) that is not here.
/// Such tests are `#[ignore]`d with the program's name in their own, so a plain `cargo test`
/// lists them as ignored; `make test` runs them (scripts/tool-tests.sh) with
/// AEGIS_ALLOW_SKIP=1, and a missing program is written to AEGIS_SKIP_LOG for the summary
/// that ends `make test`. Anywhere else (the test run by name, CI) it fails the test, with
/// how to install the program.
pub fn program_missing(program: &str, why: &str, install: &str) {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let allowed = std::env::var("AEGIS_ALLOW_SKIP").is_ok_and(|v| v == "1");
    if in_ci || !allowed {
        panic!(
            "{program} is missing ({why}): install it with {install}, or set AEGIS_ALLOW_SKIP=1 to skip the tests that need it (CI never skips)"
        );
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    if let Some(log) = std::env::var_os("AEGIS_SKIP_LOG") {
        use std::io::Write;
        // One short O_APPEND write per line: lines from parallel tests do not interleave.
        let line = format!("{program}\t{test}\t{install}\n");
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .unwrap_or_else(|e| panic!("cannot record the skip in AEGIS_SKIP_LOG: {e}"));
    }
    eprintln!("SKIPPED: {test}: {program} is missing ({why}); install it with {install}");
}

/// The `general` domain without its relation type signatures, in `dir`: the fake types
/// relations by a hash of their names, so these expectations keep every relation it
/// gives (the signatures are tested in `relations_two_pass`).
pub fn unsigned_general(dir: &Path) -> PathBuf {
    let p = dir.join("unsigned-general");
    std::fs::create_dir_all(&p).unwrap();
    let tax = std::fs::read_to_string(
        aegis_ingest::prompt::default_prompts_root().join("general/taxonomy.toml"),
    )
    .unwrap()
    .lines()
    .filter(|l| !l.starts_with("source =") && !l.starts_with("target ="))
    .collect::<Vec<_>>()
    .join("\n");
    std::fs::write(p.join("taxonomy.toml"), tax).unwrap();
    p
}
