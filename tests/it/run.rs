//! `aegis-ingest run` against a fake vLLM: the contract of the outputs, the report, the
//! concurrency cap, and the clear errors.

use std::time::Duration;

use fake_engine::{FakeConfig, FakeEngine};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_corpus_end_to_end() {
    let fake = FakeEngine::start(FakeConfig::new().latency(5, 0.0))
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let corpus = sample_corpus();
    let args = [
        "run",
        corpus.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--vllm-url",
        &fake.url(),
        "--no-ollama",
    ];
    let ran = run(&args).await;
    assert_eq!(ran.code, 0, "stderr: {}", ran.stderr);

    let (entities, relations) = check_outputs(&out);
    // Every entity the fake produced for each document appears, with that document
    // in its sources, and nothing else does.
    assert_eq!(
        entities_by_doc(&entities),
        expected_entities(&corpus, 1200, 100)
    );
    assert!(!relations.is_empty());
    // Entities appear once per normalized (name, type).
    let mut keys = std::collections::BTreeSet::new();
    for e in &entities {
        let k = (
            e["name"].as_str().unwrap().to_lowercase(),
            e["type"].as_str().unwrap().to_string(),
        );
        assert!(keys.insert(k.clone()), "{k:?} twice");
    }
    // Provenance: document paths are relative to the corpus; Markdown gives heading paths.
    let adr = entities
        .iter()
        .find(|e| e["name"] == "Costa")
        .expect("Costa extracted");
    let src = adr["sources"].as_array().unwrap();
    assert!(
        src.iter().any(|s| s["doc"] == "reports/adr-059-vllm.md"
            && s["section"]
                .as_str()
                .is_some_and(|h| h.starts_with("ADR-059"))),
        "{adr}"
    );
    assert!(
        adr["mentions"].as_u64().unwrap() >= 2,
        "Costa is in two documents: {adr}"
    );

    let rep = report(&out);
    assert_eq!(rep["status"], "done");
    assert_eq!(rep["documents"]["seen"], 7, "{rep}");
    assert_eq!(rep["documents"]["extracted"], 5);
    assert_eq!(rep["documents"]["skipped"], 2);
    let reasons: Vec<(&str, &str)> = rep["documents"]["skipped_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["doc"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert!(
        reasons.contains(&("notes/empty.txt", "empty")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&("notes/diagram.png", "unsupported_type")),
        "{reasons:?}"
    );
    // The hidden folder is not walked.
    assert!(
        !ran.stderr.contains("secret") && !serde_json::to_string(&rep).unwrap().contains(".drafts")
    );
    assert_eq!(rep["chunks"]["total"], 5);
    assert_eq!(rep["chunks"]["extracted_now"], 5);
    assert_eq!(rep["entities"], entities.len());
    assert_eq!(rep["relations"], relations.len());
    let hist: u64 = rep["relation_types"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(hist, relations.len() as u64);
    let generic = rep["relation_types"]
        .get("RELATES_TO")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let share = rep["generic_relation_share"].as_f64().unwrap();
    assert!((share - generic as f64 / relations.len() as f64).abs() < 1e-9);
    assert_eq!(rep["engines"]["vllm"]["requests"], 5);
    assert_eq!(fake.stats().served_ok, 5);
    // The summary on stderr.
    assert!(
        ran.stderr.contains("5 extracted") && ran.stderr.contains("RELATES_TO"),
        "{}",
        ran.stderr
    );
    assert!(std::fs::read_to_string(out.join("skipped.csv"))
        .unwrap()
        .contains("notes/empty.txt,skipped,empty"));

    // Ids are stable across runs: a fresh run into another folder gives the same bytes.
    let out2 = tmp.path().join("out2");
    let args2 = [
        "run",
        corpus.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--vllm-url",
        &fake.url(),
        "--no-ollama",
        "--fresh",
    ];
    assert_eq!(run(&args2).await.code, 0);
    for f in ["entities.jsonl", "relations.jsonl"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(out2.join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_cap_is_held_and_filled() {
    let fake = FakeEngine::start(FakeConfig::new().slots(64).latency(40, 0.0))
        .await
        .unwrap();
    let c = case(12, 6);
    let (corpus, out) = (&c.corpus, &c.out);
    let url = fake.url();
    let ran = run(&c.args(&url, &["--concurrency", "5"])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let st = fake.stats();
    assert!(st.served_ok >= 24, "{st:?}");
    assert_eq!(
        st.max_in_flight, 5,
        "the cap is never exceeded and is reached"
    );
    // Keep-alive: the chat requests reuse their connections (the start-up probes open a
    // few of their own).
    assert!(
        st.connections_accepted <= 5 + 3,
        "{} connections for {} requests",
        st.connections_accepted,
        st.served_ok
    );
    check_outputs(out);
    assert_eq!(
        entities_by_doc(&read_jsonl(&out.join("entities.jsonl"))),
        expected_entities(corpus, 60, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_and_exclude_globs() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let corpus = sample_corpus();
    let args = [
        "run",
        corpus.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--vllm-url",
        &fake.url(),
        "--no-ollama",
        "--include",
        "*.md",
        "--exclude",
        "notes/**",
    ];
    assert_eq!(run(&args).await.code, 0);
    let docs: Vec<String> = entities_by_doc(&read_jsonl(&out.join("entities.jsonl")))
        .into_keys()
        .collect();
    assert_eq!(
        docs,
        vec![
            "README.md",
            "reports/adr-059-vllm.md",
            "reports/quarterly-review.md"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_errors_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    // Missing corpus: exit 2, one sentence.
    let ran = run(&["run", "/nonexistent/corpus", "--out", o]).await;
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("does not exist"), "{}", ran.stderr);

    let fake = FakeEngine::start(FakeConfig::new().model("served-model"))
        .await
        .unwrap();
    let corpus = sample_corpus();
    let c = corpus.to_str().unwrap();
    // Wrong model name: exit 2 at once, no extraction request sent.
    let ran = run(&[
        "run",
        c,
        "--out",
        o,
        "--vllm-url",
        &fake.url(),
        "--vllm-model",
        "other",
        "--no-ollama",
    ])
    .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("served-model") && ran.stderr.contains("--vllm-model"),
        "{}",
        ran.stderr
    );
    assert_eq!(fake.stats().chat_requests, 0);

    // Nothing listening and no fallback: waits --engine-wait, then exit 3 naming the URL.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let ran = run(&[
        "run",
        c,
        "--out",
        o,
        "--vllm-url",
        &dead_url,
        "--no-ollama",
        "--engine-wait",
        "1",
    ])
    .await;
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&dead_url) && ran.stderr.contains("--engine-wait"),
        "{}",
        ran.stderr
    );
    assert!(ran.elapsed < Duration::from_secs(10));

    // Bad flags: exit 2.
    assert_eq!(
        run(&[
            "run",
            c,
            "--out",
            o,
            "--chunk-tokens",
            "100",
            "--chunk-overlap",
            "100"
        ])
        .await
        .code,
        2
    );
    assert_eq!(
        run(&["run", c, "--out", o, "--no-vllm", "--no-ollama"])
            .await
            .code,
        2
    );
    assert_eq!(
        run(&["run", c, "--out", o, "--domain", "nope"]).await.code,
        2
    );
    assert_eq!(
        run(&["run", c, "--out", o, "--vllm-url", "not a url"])
            .await
            .code,
        2
    );
    assert_eq!(run(&["frobnicate"]).await.code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_documents_every_flag_with_default_and_env() {
    let ran = run(&["run", "--help"]).await;
    assert_eq!(ran.code, 0);
    for needle in [
        "--out",
        "AEGIS_OUT",
        "./aegis-out",
        "--vllm-url",
        "AEGIS_VLLM_URL",
        "http://localhost:8001",
        "--vllm-model",
        "--vllm-api-key",
        "VLLM_API_KEY",
        "--concurrency",
        "AEGIS_CONCURRENCY",
        "--ollama-url",
        "OLLAMA_HOST",
        "--ollama-model",
        "nemotron-3-nano",
        "--ollama-concurrency",
        "--no-vllm",
        "--no-ollama",
        "--chunk-tokens",
        "1200",
        "--chunk-overlap",
        "--domain",
        "--prompts",
        "--request-timeout",
        "--engine-wait",
        "--quiet",
        "--log-format",
        "--include",
        "--exclude",
        "--fresh",
    ] {
        assert!(ran.stdout.contains(needle), "--help lacks {needle}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_concurrency_fills_the_slots_without_a_long_queue() {
    let fake = FakeEngine::start(FakeConfig::new().slots(64).latency(250, 0.0))
        .await
        .unwrap();
    let c = case(60, 10);
    let url = fake.url();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let st = fake.stats();
    let rep = report(&c.out);
    let (last, peak) = (
        rep["engines"]["vllm"]["adaptive_limit"][0]
            .as_u64()
            .unwrap(),
        rep["engines"]["vllm"]["adaptive_limit"][1]
            .as_u64()
            .unwrap(),
    );
    assert_eq!(st.max_running, 64, "every slot was used: {st:?}");
    assert!(peak >= 64, "the limit grew past the server's slots: {rep}");
    assert!(
        st.max_in_flight < 160,
        "the queue at the server stayed short: {}",
        st.max_in_flight
    );
    assert!(
        (64..=128).contains(&last),
        "settled near the slots plus a short queue: {last}"
    );
}
