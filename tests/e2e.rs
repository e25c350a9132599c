//! End-to-end against a REAL vLLM server (`make e2e` starts a CPU vLLM serving a tiny
//! locally built model). Every test here is `#[ignore]`d; run with `--ignored`, each needs
//! `AEGIS_E2E_VLLM_URL`, and those that stop and start the server (cold start, mid-run
//! death, `vllm run-batch`) also `AEGIS_E2E_VLLM_SCRIPTS` (the scripts/vllm folder), and
//! fail, saying so, without them.
//!
//! A random-weight model writes gibberish inside the schema: these tests assert structure
//! and accounting, never content.

#[path = "it/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_engine::{Api, FakeConfig, FakeEngine};
use support::*;

/// The server's URL. These tests are `#[ignore]`d (a plain `cargo test` lists them as
/// ignored, never as passed); run with `--ignored`, they need the URL.
fn vllm_url() -> String {
    std::env::var("AEGIS_E2E_VLLM_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect("set AEGIS_E2E_VLLM_URL to a running vLLM (`make e2e` starts a CPU one)")
}

/// A script of scripts/vllm (AEGIS_E2E_VLLM_SCRIPTS), needed to stop and start the server.
fn script(name: &str) -> PathBuf {
    let dir = std::env::var_os("AEGIS_E2E_VLLM_SCRIPTS")
        .expect("set AEGIS_E2E_VLLM_SCRIPTS to the scripts/vllm folder (make e2e)");
    Path::new(&dir).join(name)
}

fn sh(path: &Path, args: &[&str]) {
    let st = std::process::Command::new("bash")
        .arg(path)
        .args(args)
        .status()
        .expect("run script");
    assert!(st.success(), "{} failed", path.display());
}

/// The served model's name and context length (`GET /v1/models`).
async fn served_model_and_context(url: &str) -> (String, u64) {
    // reqwest is built without a default TLS provider (the tool installs ring's).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let v: serde_json::Value = reqwest::get(format!("{url}/v1/models"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let m = &v["data"][0];
    (
        m["id"].as_str().unwrap().to_string(),
        m["max_model_len"].as_u64().unwrap_or(0),
    )
}

async fn served_model(url: &str) -> String {
    served_model_and_context(url).await.0
}

/// Every chunk is accounted for and the outputs keep the contract.
fn assert_accounted(out: &Path) -> serde_json::Value {
    let rep = report(out);
    let c = &rep["chunks"];
    assert_eq!(c["failed"], 0, "{rep}");
    assert_eq!(
        c["extracted_now"].as_u64().unwrap() + c["resumed"].as_u64().unwrap(),
        c["total"].as_u64().unwrap(),
        "{rep}"
    );
    let (entities, relations) = check_outputs(out);
    assert_eq!(rep["entities"], entities.len());
    assert_eq!(rep["relations"], relations.len());
    rep
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real vLLM: AEGIS_E2E_VLLM_URL (make e2e)"]
async fn real_vllm_end_to_end() {
    let url = vllm_url();
    let tmp = tempfile::tempdir().unwrap();
    let model = served_model(&url).await;

    // 1. The sample corpus with no flag but the URL: model from /v1/models, the plan
    //    fits the 2048-token context, every chunk answered with schema-valid JSON.
    let out = tmp.path().join("sample");
    let corpus = sample_corpus();
    let ran = run_vllm(&corpus, &out, &url, &[], Duration::from_secs(900)).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = assert_accounted(&out);
    assert_eq!(rep["engines"]["vllm"]["model"], model.as_str());
    assert!(rep["chunks"]["extracted_now"].as_u64().unwrap() >= 5);
    // The schema-filling worst case (a random model fills every bound) with a tokenizer
    // unlike the project's: the budget covers the largest answer, so requests stay bounded.
    let chunks = rep["chunks"]["total"].as_u64().unwrap();
    let requests = rep["engines"]["vllm"]["requests"].as_u64().unwrap();
    assert!(
        requests <= 2 * chunks,
        "{requests} requests for {chunks} chunks: {rep}"
    );
    eprintln!(
        "e2e 1: {} chunks, {} requests, {} partial, {} entities, {} relations",
        rep["chunks"]["total"],
        requests,
        rep["chunks"]["partial"],
        rep["entities"],
        rep["relations"]
    );

    // 2. Text whose tokens the model counts far more densely than English (its BPE was
    //    trained on English): prompts over max-model-len are split, not retried blindly.
    let dense = tmp.path().join("dense");
    std::fs::create_dir(&dense).unwrap();
    let cjk: String = (0..900)
        .map(|i| ["東京", "大阪", "京都", "札幌"][i % 4].to_string() + "の会社は成長した。")
        .collect();
    std::fs::write(dense.join("cjk.txt"), cjk).unwrap();
    let out2 = tmp.path().join("dense-out");
    let ran = run_vllm(&dense, &out2, &url, &[], Duration::from_secs(900)).await;
    let rep = report(&out2);
    assert!(ran.code == 0 || ran.code == 1, "{}", ran.stderr);
    let fails = &rep["engines"]["vllm"]["failures"];
    eprintln!(
        "e2e 2: exit {}, split {}, failures {fails}",
        ran.code, rep["chunks"]["split"]
    );
    assert_eq!(ran.code, 0, "dense text must be split until it fits: {rep}");

    // 3. A tiny output budget: answers come back cut off (finish_reason length); the
    //    budget grows to the schema's bound instead of failing.
    let out3 = tmp.path().join("budget");
    let ran = run_vllm(
        &corpus,
        &out3,
        &url,
        &["--max-output-tokens", "24", "--include", "reports/*"],
        Duration::from_secs(900),
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = assert_accounted(&out3);
    assert!(
        rep["engines"]["vllm"]["failures"]["truncated"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{rep}"
    );
}

/// Prompts set up for small contexts by hand (compact template, small bounds), as a user
/// of such a model would: vLLM's small context is unknown while it is down.
fn small_prompts(dir: &Path) -> PathBuf {
    let small = dir.join("small-prompts");
    std::fs::create_dir(&small).unwrap();
    let general = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/general");
    let tax = std::fs::read_to_string(general.join("taxonomy.toml")).unwrap();
    let tax = tax
        .replace("max_entities = 20", "max_entities = 6")
        .replace("max_relations = 20", "max_relations = 6")
        .replace("max_name_chars = 64", "max_name_chars = 40")
        .replace("max_description_chars = 120", "max_description_chars = 60");
    std::fs::write(small.join("taxonomy.toml"), tax).unwrap();
    std::fs::copy(general.join("system-compact.j2"), small.join("system.j2")).unwrap();
    small
}

/// A run of `corpus` into `out` with vLLM at `url` and the (fake) Ollama at `ollama`, in
/// chunks of one paragraph, with `extra` arguments.
fn spawn_run(
    corpus: &Path,
    out: &Path,
    url: &str,
    ollama: &str,
    extra: &[&str],
) -> tokio::process::Child {
    let mut args = vec![
        "run",
        corpus.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--vllm-url",
        url,
        "--ollama-url",
        ollama,
        "--ollama-model",
        "fake-model",
        "--chunk-tokens",
        "60",
        "--chunk-overlap",
        "0",
    ];
    args.extend_from_slice(extra);
    command(&args).spawn().unwrap()
}

/// Waits for a run to exit with 0; its outputs accounted for.
async fn finished(child: tokio::process::Child, out: &Path) -> serde_json::Value {
    let done = tokio::time::timeout(Duration::from_secs(1200), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    assert_accounted(out)
}

async fn fake_ollama(latency_ms: u64) -> fake_engine::FakeHandle {
    FakeEngine::start(
        FakeConfig::new()
            .api(Api::Ollama)
            .slots(4)
            .latency(latency_ms, 0.0),
    )
    .await
    .unwrap()
}

/// Cold start: the tool starts while vLLM is down; Ollama serves; vLLM takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real vLLM: AEGIS_E2E_VLLM_URL and AEGIS_E2E_VLLM_SCRIPTS (make e2e)"]
async fn real_vllm_cold_start_ollama_serves_until_vllm_is_up() {
    let url = vllm_url();
    let (down, up) = (script("down.sh"), script("up.sh"));
    sh(&script("wait.sh"), &["300"]);
    let tmp = tempfile::tempdir().unwrap();
    let ollama = fake_ollama(1500).await;
    let big = tmp.path().join("big");
    synthetic_corpus(&big, 40, 6);
    let small = small_prompts(tmp.path());
    sh(&down, &[]);
    let out = tmp.path().join("cold");
    let extra = ["--engine-wait", "300", "--prompts", small.to_str().unwrap()];
    let child = spawn_run(&big, &out, &url, &ollama.url(), &extra);
    sh(&up, &[]);
    let rep = finished(child, &out).await;
    let (v, o) = (
        rep["engines"]["vllm"]["successes"].as_u64().unwrap(),
        rep["engines"]["ollama"]["successes"].as_u64().unwrap(),
    );
    eprintln!("e2e 4: cold start: vllm {v}, ollama {o}");
    assert!(o > 0 && v > 0, "both served: {rep}");
    assert!(ollama.stats().max_in_flight <= 4);
}

/// vLLM killed mid-run: Ollama finishes; nothing lost. Killed once some chunks are in the
/// checkpoint (the run's speed varies with the machine's load). Leaves the server up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real vLLM: AEGIS_E2E_VLLM_URL and AEGIS_E2E_VLLM_SCRIPTS (make e2e)"]
async fn real_vllm_killed_mid_run_ollama_finishes() {
    let url = vllm_url();
    let (down, up) = (script("down.sh"), script("up.sh"));
    sh(&script("wait.sh"), &["300"]);
    let tmp = tempfile::tempdir().unwrap();
    let ollama = fake_ollama(200).await;
    let big = tmp.path().join("big");
    synthetic_corpus(&big, 40, 6);
    let out = tmp.path().join("death");
    let before = ollama.stats().served_ok;
    let child = spawn_run(&big, &out, &url, &ollama.url(), &[]);
    let journal = out.join("checkpoint.jsonl");
    for _ in 0..1200 {
        let lines = std::fs::read_to_string(&journal)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines > 30 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sh(&down, &[]);
    let rep = finished(child, &out).await;
    let o = ollama.stats().served_ok - before;
    eprintln!(
        "e2e 5: vllm killed mid-run: vllm {}, ollama {o}",
        rep["engines"]["vllm"]["successes"]
    );
    assert!(o > 0, "{rep}");
    sh(&up, &[]);
    sh(&script("wait.sh"), &["300"]);
}

/// Offline extraction through the real `vllm run-batch`: the export's requests run on a
/// second vLLM engine (the same model loaded by the batch runner), the import journals the
/// answers, and the run against the server then sends no request for the imported chunks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real vLLM: AEGIS_E2E_VLLM_URL and AEGIS_E2E_VLLM_SCRIPTS (make e2e)"]
async fn batch_export_vllm_run_batch_import_then_run_sends_nothing() {
    let url = vllm_url();
    let run_batch = script("run_batch.sh");
    sh(&script("wait.sh"), &[]);
    let (model, context) = served_model_and_context(&url).await;
    let context = context.to_string();
    let tmp = tempfile::tempdir().unwrap();
    let corpus = sample_corpus();
    let out = tmp.path().join("out");
    let requests = tmp.path().join("requests.jsonl");
    let results = tmp.path().join("results.jsonl");
    let o = out.to_str().unwrap();

    let ex = run(&[
        "batch",
        "export",
        corpus.to_str().unwrap(),
        "--out",
        o,
        "--batch",
        requests.to_str().unwrap(),
        "--vllm-url",
        &url,
    ])
    .await;
    assert_eq!(ex.code, 0, "{}", ex.stderr);
    let exported = read_jsonl(&requests).len();
    assert!(exported >= 5, "{}", ex.stdout);

    let st = std::process::Command::new("bash")
        .arg(&run_batch)
        .arg(&requests)
        .arg(&results)
        .env("VLLM_MODEL_NAME", &model)
        .env("VLLM_MAX_MODEL_LEN", &context)
        .status()
        .expect("run vllm run-batch");
    assert!(
        st.success(),
        "vllm run-batch failed: see the cache's logs/vllm-run-batch.log"
    );
    assert_eq!(
        read_jsonl(&results).len(),
        exported,
        "one result per request"
    );

    let im = run(&["batch", "import", results.to_str().unwrap(), "--out", o]).await;
    assert!(im.code == 0 || im.code == 1, "{}\n{}", im.stdout, im.stderr);
    let retry = out.join("batch/retry.jsonl");
    let failed = if retry.exists() {
        read_jsonl(&retry).len()
    } else {
        0
    };
    assert_eq!(im.code == 1, failed > 0, "{}", im.stdout);
    assert!(failed < exported, "{}", im.stdout);
    eprintln!(
        "e2e batch: {exported} requests through vllm run-batch, {failed} failed; {}",
        im.stdout.lines().next().unwrap_or("")
    );

    let ran = run_vllm(&corpus, &out, &url, &[], Duration::from_secs(900)).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = assert_accounted(&out);
    assert_eq!(
        rep["chunks"]["resumed"].as_u64(),
        Some((exported - failed) as u64),
        "every imported chunk resumed: {rep}"
    );
    assert_eq!(
        rep["chunks"]["extracted_now"].as_u64(),
        Some(failed as u64),
        "only the failed ones extracted live: {rep}"
    );
    if failed == 0 {
        assert_eq!(rep["engines"]["vllm"]["requests"], 0, "{rep}");
    }
}
