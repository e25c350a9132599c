//! End-to-end against a REAL instruct model: SmolLM2-135M-Instruct served by a CPU vLLM
//! (`make vllm-real-up`; CI starts it). Ignored by `cargo test`; run with
//! `AEGIS_E2E_REAL_URL=http://127.0.0.1:8002 cargo test --test e2e_real -- --ignored --nocapture`.
//! A real model writes real names, copies prompt text, repeats itself and takes seconds to
//! minutes an answer: these tests hold the promises that fakes cannot test, and print the
//! figures they measure.

#[path = "it/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::*;

fn real_url() -> String {
    std::env::var("AEGIS_E2E_REAL_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect(
            "AEGIS_E2E_REAL_URL must name a vLLM serving a real instruct model (make vllm-real-up)",
        )
}

/// Words of a text, lower-cased, one space apart, for "is this name in the text".
fn words(text: &str) -> String {
    let mut out = String::from(" ");
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        out.push_str(&w.to_lowercase());
        out.push(' ');
    }
    out
}

/// The sample corpus: nothing fails, about one request a chunk, every entity name found
/// in the document it came from (checked here from the files, not from the report).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a vLLM serving a real instruct model: AEGIS_E2E_REAL_URL (make vllm-real-up)"]
async fn real_model_sample_corpus_real_names_grounded_nothing_failed() {
    let url = real_url();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let corpus = sample_corpus();
    let ran = run_vllm(&corpus, &out, &url, &[], Duration::from_secs(900)).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&out);
    let chunks = rep["chunks"]["total"].as_u64().unwrap();
    let requests = rep["engines"]["vllm"]["requests"].as_u64().unwrap();
    assert_eq!(rep["chunks"]["failed"], 0, "{rep}");
    assert!(chunks > 0);
    assert!(
        requests <= 3 * chunks,
        "{requests} requests for {chunks} chunks"
    );
    let (entities, _relations) = check_outputs(&out);
    assert!(
        !entities.is_empty(),
        "a real model finds names in the sample corpus"
    );
    for e in &entities {
        let name = e["name"].as_str().unwrap();
        for s in e["sources"].as_array().unwrap() {
            let doc = s["doc"].as_str().unwrap();
            let text = std::fs::read_to_string(corpus.join(doc)).unwrap_or_default();
            assert!(
                words(&text).contains(&words(name)),
                "{name:?} is not in {doc}"
            );
        }
        assert!(!name.to_uppercase().contains("BEGIN TEXT"), "{name}");
    }
    println!(
        "real model, sample corpus: {chunks} chunks, {} failed, {:.2} requests a chunk, grounded share {} (of names checked), {} entities, {} relations, RELATES_TO share {:.3}, partial {}, dropped {}",
        rep["chunks"]["failed"],
        requests as f64 / chunks as f64,
        rep["validation"]["grounded_share"],
        rep["entities"],
        rep["relations"],
        rep["generic_relation_share"].as_f64().unwrap_or(0.0),
        rep["chunks"]["partial"],
        rep["validation"]["dropped"],
    );
    communities_on_real_outputs(&out, &url).await;
}

/// The finishing step over a real model's outputs: every community above the minimum size
/// gets one schema-valid report whose citations are its own members, and eval's report
/// figures say the same.
async fn communities_on_real_outputs(out: &Path, url: &str) {
    let relations = support::read_jsonl(&out.join("relations.jsonl"));
    let o = out.to_str().unwrap();
    let args = [
        "communities",
        "--out",
        o,
        "--vllm-url",
        url,
        "--no-ollama",
        "--request-timeout",
        "900",
    ];
    // The sample corpus keeps relations with this model (seeded, so every run alike): the
    // step has a community to report, and this test is not passed by having none.
    assert!(
        !relations.is_empty(),
        "no relation kept: no community to report"
    );
    let ran = run_with_limit(&args, Duration::from_secs(1800)).await;
    // Every community above the minimum size gets its report: the schemas close every
    // object and bound every string, so even a 135M model that rambles stops at the limits.
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let comms = support::read_jsonl(&out.join("communities.jsonl"));
    let reports = support::read_jsonl(&out.join("community_reports.jsonl"));
    let reportable: Vec<&serde_json::Value> = comms
        .iter()
        .filter(|c| c["size"].as_u64().unwrap() >= 2)
        .collect();
    let sec = report(out)["communities"].clone();
    assert!(
        !reportable.is_empty(),
        "a relation makes a community: {sec}"
    );
    assert_eq!(reports.len(), reportable.len(), "one report each: {sec}");
    for r in &reports {
        let c = reportable
            .iter()
            .find(|c| c["id"] == r["community"])
            .expect("a report names a community");
        let members: Vec<&str> = c["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert!(!r["title"].as_str().unwrap().trim().is_empty(), "{r}");
        let rating = r["rating"].as_f64().unwrap();
        assert!((0.0..=10.0).contains(&rating), "{r}");
        let mut cited = 0;
        for f in r["findings"].as_array().unwrap() {
            for e in f["entities"].as_array().unwrap() {
                assert!(members.contains(&e.as_str().unwrap()), "{e} cited in {r}");
                cited += 1;
            }
        }
        assert!(cited > 0, "a report cites its members: {r}");
    }
    let ran = run_with_limit(&["eval", "--out", o], Duration::from_secs(120)).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let ev: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("eval.json")).unwrap()).unwrap();
    println!(
        "real model, sample corpus: {} communities, {} reports; eval: {}",
        comms.len(),
        reports.len(),
        ev["communities"]["reports"]
    );
    // A rerun with nothing changed asks nothing.
    let ran = run_with_limit(&args, Duration::from_secs(300)).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let sec = &report(out)["communities"];
    assert_eq!(sec["requests"], 0, "{sec}");
}

/// The first Ctrl-C while long requests run: exit 130 within the grace period plus 3 s,
/// nothing answered lost, and the rerun sends only the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a vLLM serving a real instruct model: AEGIS_E2E_REAL_URL (make vllm-real-up)"]
async fn real_model_first_ctrl_c_stops_within_the_deadline_and_resume_sends_the_rest() {
    let url = real_url();
    let c = case(5, 2);
    let grace = 5u64;
    let grace_arg = grace.to_string();
    let args = c.args(&url, &["--concurrency", "10", "--stop-grace", &grace_arg]);
    let child = command(&args).spawn().unwrap();
    // Wait for the first answers to reach the checkpoint (the journal is made durable
    // every half second).
    let journal = c.out.join("checkpoint.jsonl");
    let answered = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|t| t.lines().filter(|l| l.starts_with("{\"t\":\"ok\"")).count())
            .unwrap_or(0)
    };
    let t0 = Instant::now();
    while answered(&journal) < 1 && t0.elapsed() < Duration::from_secs(600) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(answered(&journal) >= 1, "no answer within 10 minutes");
    let sent = Instant::now();
    unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGINT) };
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("stopped by itself")
        .unwrap();
    let took = sent.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    // The grace, then merging and writing the outputs, on 2 cores the server still
    // generates on until it notices the requests are gone.
    assert!(
        took <= Duration::from_secs(grace + 3),
        "stopped {took:?} after the first Ctrl-C (grace {grace} s)"
    );
    let first = report(&c.out);
    let done = first["chunks"]["extracted_now"].as_u64().unwrap();
    let total = first["chunks"]["total"].as_u64().unwrap();
    println!("real model, first Ctrl-C: exit 130 after {took:?} (grace {grace} s); {done} of {total} chunks answered and kept");

    let ran = run_with_limit(&args, Duration::from_secs(900)).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    assert_eq!(rep["chunks"]["resumed"].as_u64(), Some(done), "{rep}");
    assert_eq!(
        rep["engines"]["vllm"]["successes"].as_u64().unwrap(),
        rep["chunks"]["extracted_now"].as_u64().unwrap(),
        "the rerun sent only the rest: {rep}"
    );
    assert_eq!(rep["chunks"]["failed"], 0, "{rep}");
}

/// Two-pass on the real server: both requests of a chunk start with the same system prompt
/// and chunk text, so the relations request's prefill comes from vLLM's prefix cache, and
/// `report.json` counts those tokens (the server runs with `--enable-prompt-tokens-details`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a vLLM serving a real instruct model: AEGIS_E2E_REAL_URL (make vllm-real-up)"]
async fn real_model_two_pass_relations_prefill_is_served_from_the_prefix_cache() {
    let url = real_url();
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let doc = "notes/meeting-2026-05-14.md";
    std::fs::copy(
        sample_corpus().join(doc),
        corpus.join("meeting-2026-05-14.md"),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let extra = ["--relations", "two-pass", "--request-timeout", "900"];
    let ran = run_vllm(&corpus, &out, &url, &extra, Duration::from_secs(900)).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let v = &report(&out)["engines"]["vllm"];
    let (requests, prompt, cached) = (
        v["requests"].as_u64().unwrap(),
        v["prompt_tokens"].as_u64().unwrap(),
        v["cached_prompt_tokens"].as_u64().unwrap(),
    );
    assert_eq!(requests, 2, "entities, then relations among them: {v}");
    // The second request's shared prefix (system prompt and chunk, in whole cache blocks).
    assert!(cached > 0 && cached < prompt, "{v}");
    println!(
        "real model, two-pass on one chunk: {requests} requests, {prompt} prompt tokens, {cached} from the prefix cache ({:.2})",
        cached as f64 / prompt as f64
    );
}
