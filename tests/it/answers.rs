//! What real answers break: a stop that is a deadline while requests take minutes, answers
//! whose length the schema decides (a tokenizer unlike the project's), a busy server that
//! is not a dead one, validation counted per reason.

use std::time::{Duration, Instant};

use fake_engine::{FakeConfig, FakeEngine, Fault, FaultRule};

use crate::support::*;

/// Chunks of documents 1 and 2 never get an answer (a request that would take minutes);
/// the others are answered at once.
fn slow_for_two_documents() -> FakeConfig {
    FakeConfig::new()
        .latency(30, 0.0)
        .fault(FaultRule::text_contains(Fault::Hang, "Companydoc1para"))
        .fault(FaultRule::text_contains(Fault::Hang, "Companydoc2para"))
}

/// The first SIGINT or SIGTERM is a deadline: after `--stop-grace`, requests still in
/// flight are abandoned (their connections closed, so the server frees their slots), what
/// was answered is kept, the outputs are written, exit 130; the rerun sends only the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_stop_signal_is_a_deadline_for_requests_in_flight() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let c = case(12, 5);
        let fake = FakeEngine::start(slow_for_two_documents()).await.unwrap();
        let url = fake.url();
        let child = command(&c.args(&url, &["--concurrency", "16", "--stop-grace", "2"]))
            .spawn()
            .unwrap();
        // Wait until everything but the 10 hanging chunks is answered.
        for _ in 0..400 {
            if fake.stats().served_ok >= 50 && fake.stats().in_flight >= 10 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(fake.stats().in_flight, 10, "signal {signal}");
        let answered = fake.stats().served_ok;
        let sent = Instant::now();
        unsafe { libc::kill(child.id().unwrap() as i32, signal) };
        let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .expect("the run stops by itself")
            .unwrap();
        let took = sent.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{stderr}");
        // Grace (2 s) plus the 2 s the run may take to journal and write its outputs.
        assert!(
            took < Duration::from_millis(4000),
            "signal {signal}: stopped {took:?} after it"
        );
        assert!(
            took >= Duration::from_millis(1900),
            "the grace period was given: {took:?}"
        );
        let rep = report(&c.out);
        assert_eq!(rep["status"], "interrupted");
        assert_eq!(rep["chunks"]["extracted_now"].as_u64(), Some(answered));
        assert!(c.out.join("entities.jsonl").is_file());
        // The abandoned requests' connections are closed: the server frees their slots.
        for _ in 0..40 {
            if fake.stats().in_flight == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(fake.stats().in_flight, 0, "abandoned requests still held");

        // The rerun sends only what was not answered.
        let clean = FakeEngine::start(FakeConfig::new()).await.unwrap();
        let cu = clean.url();
        let ran = run(&c.args(&cu, &[])).await;
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        assert_eq!(clean.stats().chat_requests, 60 - answered);
        assert_eq!(
            entities_by_doc(&read_jsonl(&c.out.join("entities.jsonl"))),
            expected_entities(&c.corpus, 60, 0)
        );
    }
}

/// A model that fills the schema (every array full, every string at its longest) and whose
/// tokenizer needs 0.5 tokens a character of JSON (twice what the project's own counts), in
/// a 2048-token context: the plan sizes the budget with the served tokenizer, so nothing is
/// cut off and nothing fails, with one request a chunk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_filling_answers_with_a_fine_json_tokenizer_fail_nothing() {
    let c = case(6, 4);
    let fake = FakeEngine::start(FakeConfig::new().max_model_len(2048).fills_schema(0.5))
        .await
        .unwrap();
    let url = fake.url();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    let chunks = rep["chunks"]["total"].as_u64().unwrap();
    assert_eq!(rep["chunks"]["failed"], 0, "{rep}");
    assert_eq!(rep["chunks"]["partial"], 0, "{rep}");
    assert_eq!(fake.stats().chat_requests, chunks, "one request a chunk");
    assert!(
        ran.stderr.contains("output budget"),
        "the plan says it: {}",
        ran.stderr
    );
}

/// The same model with an output budget forced too small for its answers: each cut-off
/// answer keeps its complete records, the retry shrinks the answer bounds (not the chunk),
/// nothing fails, and no chunk costs more than `--max-requests-per-chunk` requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_off_answers_keep_their_records_and_retries_shrink_the_bounds() {
    let c = case(4, 4);
    let fake = FakeEngine::start(FakeConfig::new().fills_schema(0.5))
        .await
        .unwrap();
    let url = fake.url();
    let ran = run(&c.args(
        &url,
        &[
            "--max-output-tokens",
            "300",
            "--max-requests-per-chunk",
            "3",
        ],
    ))
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    let chunks = rep["chunks"]["total"].as_u64().unwrap();
    assert_eq!(rep["chunks"]["failed"], 0, "{rep}");
    assert_eq!(rep["chunks"]["partial"].as_u64(), Some(chunks), "{rep}");
    assert_eq!(
        rep["chunks"]["bounds_shrunk"].as_u64(),
        Some(chunks),
        "{rep}"
    );
    assert_eq!(
        rep["chunks"]["split"], 0,
        "a chunk is not split for its answer's length"
    );
    let requests = fake.stats().chat_requests;
    assert!(
        requests <= 3 * chunks,
        "{requests} requests for {chunks} chunks"
    );
    assert!(rep["entities"].as_u64().unwrap() > 0);
    // A cap of one request: the first cut-off answer is all a chunk gets, kept as partial.
    let c1 = case(2, 2);
    fake.reset_stats();
    let ran = run(&c1.args(
        &url,
        &[
            "--max-output-tokens",
            "300",
            "--max-requests-per-chunk",
            "1",
        ],
    ))
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c1.out);
    assert_eq!(
        fake.stats().chat_requests,
        rep["chunks"]["total"].as_u64().unwrap()
    );
    assert_eq!(rep["chunks"]["partial"], rep["chunks"]["total"]);
}

/// Time-outs from a server that answers and has work running (a queue longer than the
/// time-out) are not an outage: the requests in flight are cut to what it runs, it is not
/// routed around, and every chunk is extracted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_server_is_not_taken_for_a_dead_one() {
    let c = case(4, 5);
    let fake = FakeEngine::start(FakeConfig::new().slots(2).latency(300, 0.0))
        .await
        .unwrap();
    let url = fake.url();
    let ran = run_with_env(
        &c.args(&url, &["--concurrency", "12", "--request-timeout", "1"]),
        &[("AEGIS_RETRY_BASE_MS", "20"), ("RUST_LOG", "warn")],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    assert_eq!(rep["chunks"]["failed"], 0);
    assert_eq!(rep["engines"]["vllm"]["went_down"], 0, "{rep}");
    assert!(!ran.stderr.contains("engine unavailable"), "{}", ran.stderr);
    assert!(ran.stderr.contains("busy"), "{}", ran.stderr);
    // Later requests may wait longer: an abandoned answer is generation thrown away. The
    // ten requests that time out together get one look at the server and one doubling,
    // not a /metrics request and a doubling each (1 s -> 16 s... capped at 4 s at once).
    assert_eq!(
        ran.stderr
            .matches("request time-out for it raised from 1 s to 2 s")
            .count(),
        1,
        "{}",
        ran.stderr
    );
    assert!(
        !ran.stderr.contains("raised from 2 s to 4 s"),
        "{}",
        ran.stderr
    );
    let looks = fake.stats().requests("/metrics");
    assert!((1..=2).contains(&looks), "{looks} /metrics requests");
}

/// Validation drops are counted per reason in the report (a model that answers types
/// outside the taxonomy and relations to unknown entities).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_drops_are_counted_per_reason() {
    let c = case(3, 3);
    let fake = FakeEngine::start(FakeConfig::new().fault(FaultRule::always(Fault::WrongSchema)))
        .await
        .unwrap();
    let url = fake.url();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    let v = &rep["validation"];
    assert_eq!(v["answers"], rep["chunks"]["total"]);
    assert!(
        v["dropped"]["unknown_entity_type"].as_u64().unwrap() > 0,
        "{v}"
    );
    assert!(
        v["dropped"]["dangling_endpoint"].as_u64().unwrap() > 0,
        "{v}"
    );
    assert_eq!(v["grounded_share"], 1.0, "{v}");
    assert!(ran.stderr.contains("unknown_entity_type"), "{}", ran.stderr);
}

/// `--gleaning 1`: a chunk with more names than an answer may hold gets a follow-up request
/// (the answer in the conversation) that adds the missed ones, journaled with the chunk;
/// a rerun sends nothing, and a run without gleaning keeps keys of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gleaning_asks_for_what_an_answer_missed() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    // 30 distinct names in one short chunk; the general domain allows 20 entities an answer.
    let names: Vec<String> = (0..30).map(|i| format!("Gleanname{i:02}")).collect();
    std::fs::write(
        corpus.join("many.md"),
        format!("{}.\n", names.join(" met ")),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let args = |extra: &[&'static str]| {
        let mut a: Vec<String> = [
            "run",
            corpus.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--vllm-url",
            &url,
            "--no-ollama",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let a0 = args(&[]);
    let ran = run(&a0.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let without = report(&out)["entities"].as_u64().unwrap();
    assert!(
        without < 30,
        "an answer holds fewer than 30 names: {without}"
    );

    fake.reset_stats();
    let a1 = args(&["--gleaning", "2"]);
    let a1: Vec<&str> = a1.iter().map(String::as_str).collect();
    let ran = run(&a1).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&out);
    assert_eq!(
        rep["chunks"]["resumed"], 0,
        "gleaning changes the chunk keys"
    );
    assert_eq!(rep["entities"], 30, "{rep}");
    let g = &rep["gleaning"];
    assert!(g["requests"].as_u64().unwrap() >= 1, "{g}");
    assert!(g["records_added"].as_u64().unwrap() >= 30 - without, "{g}");
    // Everything is in the checkpoint: the rerun sends nothing.
    fake.reset_stats();
    let ran = run(&a1).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(fake.stats().chat_requests, 0);
    assert_eq!(report(&out)["entities"], 30);
}
