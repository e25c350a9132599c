//! Byte-identical outputs: the sample and gold corpora, run against the fake engine, must
//! give exactly the bytes kept in `tests/golden/outputs/`. A change to the code that moves
//! an output byte (a merge order, a number's format, a report field) fails here; a change
//! meant to move them is blessed with `AEGIS_BLESS=1 cargo test --test it golden`, and the
//! diff of the golden files is then part of the commit for review.
//!
//! What is compared: `entities.jsonl`, `relations.jsonl`, `skipped.csv`, `report.json`
//! with the fields that depend on the machine (times, memory, paths, latencies) removed,
//! and every export format (with the checkout's path written as `<repo>`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_engine::{FakeConfig, FakeEngine, Fault, FaultRule, When};
use serde_json::Value;

use crate::support::*;

fn golden_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/outputs")
        .join(case)
}

/// Report fields that differ between two runs of the same inputs on different machines
/// (times, memory, paths) or with the scheduling (how many requests overlapped).
fn volatile(key: &str) -> bool {
    matches!(
        key,
        "wall_seconds"
            | "peak_rss_mb"
            | "corpus"
            | "out"
            | "prompts_dir"
            | "latency_ms"
            | "max_in_flight"
            | "adaptive_limit"
    ) || key.ends_with("_ms")
        || key.ends_with("_secs")
        || key.ends_with("_seconds")
        || key.contains("per_sec")
        || key == "url"
}

fn redact(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !volatile(k));
            m.values_mut().for_each(redact);
        }
        Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Compares `got` with the golden file `name` of `case` (writes it under AEGIS_BLESS=1).
fn compare(case: &str, name: &str, got: &[u8]) {
    // The checkout's own path (in the exports' headers) differs between clones.
    let got = String::from_utf8_lossy(got).replace(env!("CARGO_MANIFEST_DIR"), "<repo>");
    let got = got.as_bytes();
    let path = golden_dir(case).join(name);
    if std::env::var_os("AEGIS_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with AEGIS_BLESS=1 cargo test --test it golden",
            path.display()
        )
    });
    if want != got {
        let (w, g) = (String::from_utf8_lossy(&want), String::from_utf8_lossy(got));
        let line = w
            .lines()
            .zip(g.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| w.lines().count().min(g.lines().count()));
        panic!(
            "{case}/{name} differs from {} at line {}:\n  golden: {:?}\n  now:    {:?}\n(lines: golden {}, now {})",
            path.display(),
            line + 1,
            w.lines().nth(line),
            g.lines().nth(line),
            w.lines().count(),
            g.lines().count()
        );
    }
}

async fn run_case(case: &str, corpus: &Path, fake: FakeConfig, extra: &[&str]) {
    let fake = FakeEngine::start(fake).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut args = vec!["--quiet"];
    args.extend_from_slice(extra);
    let ran = run_vllm(corpus, &out, &fake.url(), &args, Duration::from_secs(120)).await;
    assert!(
        ran.code == 0 || ran.code == 1,
        "{case}: exit {}; stderr: {}",
        ran.code,
        ran.stderr
    );
    for name in ["entities.jsonl", "relations.jsonl", "skipped.csv"] {
        compare(case, name, &std::fs::read(out.join(name)).unwrap());
    }
    let mut rep = report(&out);
    redact(&mut rep);
    compare(
        case,
        "report.json",
        format!("{}\n", serde_json::to_string_pretty(&rep).unwrap()).as_bytes(),
    );
    for (to, file) in [
        ("cypher", "graph.cypher"),
        ("postgres", "graph.sql"),
        ("graphml", "graph.graphml"),
    ] {
        let dest = tmp.path().join(file);
        let ran = run(&[
            "export",
            "--out",
            out.to_str().unwrap(),
            "--to",
            to,
            "--dest",
            dest.to_str().unwrap(),
            "--namespace",
            "golden",
            "--quiet",
            "--allow-partial",
        ])
        .await;
        assert_eq!(ran.code, 0, "{case} export {to}: {}", ran.stderr);
        compare(case, file, &std::fs::read(&dest).unwrap());
    }
    let admin = tmp.path().join("neo4j-admin");
    let ran = run(&[
        "export",
        "--out",
        out.to_str().unwrap(),
        "--to",
        "neo4j-admin",
        "--dest",
        admin.to_str().unwrap(),
        "--namespace",
        "golden",
        "--quiet",
        "--allow-partial",
    ])
    .await;
    assert_eq!(ran.code, 0, "{case} export neo4j-admin: {}", ran.stderr);
    let mut files: Vec<_> = std::fs::read_dir(&admin)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let name = format!("neo4j-admin-{}", f.file_name().unwrap().to_string_lossy());
        compare(case, &name, &std::fs::read(&f).unwrap());
    }
}

fn gold_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gold/corpus")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_sample_outputs_are_byte_identical() {
    run_case("sample", &sample_corpus(), FakeConfig::new(), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_gold_outputs_are_byte_identical() {
    run_case("gold", &gold_corpus(), FakeConfig::new(), &["--no-resolve"]).await;
}

/// Answers with wrong types, phantom relations and repairable JSON on every third request
/// (one request at a time, so the same chunks get them each run): the drop counts and the
/// repaired records are part of the golden bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_faulty_answers_are_byte_identical() {
    let fake = FakeConfig::new().faults(vec![
        FaultRule::new(Fault::WrongSchema, When::EveryNth(3)),
        FaultRule::new(Fault::MalformedJson, When::EveryNth(5)),
    ]);
    run_case("gold-faults", &gold_corpus(), fake, &["--concurrency", "1"]).await;
}
