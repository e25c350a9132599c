//! Routing, fallback and fault handling: vLLM first, Ollama while vLLM is down, back to
//! vLLM when it returns; every fault class either recovered or recorded; never stuck.

use std::time::Duration;

use fake_engine::{Api, FakeConfig, FakeEngine, FakeHandle, Fault, FaultRule};

use crate::support::*;

fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

async fn ollama(latency_ms: u64) -> FakeHandle {
    FakeEngine::start(
        FakeConfig::new()
            .api(Api::Ollama)
            .slots(16)
            .latency(latency_ms, 0.0),
    )
    .await
    .unwrap()
}

struct Setup {
    _tmp: tempfile::TempDir,
    corpus: std::path::PathBuf,
    out: std::path::PathBuf,
}

fn setup(docs: usize, paras: usize) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    synthetic_corpus(&corpus, docs, paras);
    let out = tmp.path().join("out");
    Setup {
        _tmp: tmp,
        corpus,
        out,
    }
}

impl Setup {
    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut a = vec![
            "run",
            self.corpus.to_str().unwrap(),
            "--out",
            self.out.to_str().unwrap(),
            "--chunk-tokens",
            "60",
            "--chunk-overlap",
            "0",
        ];
        a.extend_from_slice(extra);
        a
    }

    /// Outputs are complete and exact: every chunk's entities, once.
    fn assert_complete(&self) {
        check_outputs(&self.out);
        assert_eq!(
            entities_by_doc(&read_jsonl(&self.out.join("entities.jsonl"))),
            expected_entities(&self.corpus, 60, 0)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vllm_down_from_the_start_everything_goes_through_ollama_four_at_a_time() {
    let s = setup(10, 4);
    let ol = ollama(30).await;
    let (v, o) = (dead_url(), ol.url());
    let ran = run(&s.args(&[
        "--vllm-url",
        &v,
        "--ollama-url",
        &o,
        "--ollama-model",
        "fake-model",
    ]))
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    s.assert_complete();
    let st = ol.stats();
    assert_eq!(
        st.max_in_flight, 4,
        "Ollama's cap of 4 is reached and never exceeded"
    );
    let rep = report(&s.out);
    assert_eq!(
        rep["engines"]["ollama"]["successes"],
        rep["chunks"]["total"]
    );
    assert_eq!(rep["engines"]["vllm"]["successes"], 0);
    assert_eq!(st.duplicate_answers(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ollama_url_pasted_with_its_chat_endpoint_still_serves_the_fallback() {
    let s = setup(4, 2);
    let ol = ollama(30).await;
    let o = format!("{}/api/chat", ol.url());
    let ran = run(&s.args(&[
        "--vllm-url",
        &dead_url(),
        "--ollama-url",
        &o,
        "--ollama-model",
        "fake-model",
    ]))
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    s.assert_complete();
    assert!(ol.stats().served_ok > 0);
}

/// An Ollama URL whose server 404s Ollama's paths is a wrong URL, not an engine loading:
/// alone, exit 2 at once naming it; next to a vLLM, a warning and vLLM serves alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ollama_url_that_404s_its_paths_exits_2_alone_and_is_left_out_next_to_vllm() {
    let s = setup(4, 2);
    let ol = ollama(30).await;
    let wrong = format!("{}/v1", ol.url());
    let ran = run(&s.args(&["--no-vllm", "--ollama-url", &wrong])).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("404") && ran.stderr.contains("--ollama-url"),
        "{}",
        ran.stderr
    );
    assert_eq!(ol.stats().served_ok, 0);

    let vl = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let ran = run(&s.args(&["--vllm-url", &vl.url(), "--ollama-url", &wrong])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("cannot serve as fallback"),
        "{}",
        ran.stderr
    );
    s.assert_complete();
    assert_eq!(ol.stats().served_ok, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vllm_cold_start_ollama_serves_first_then_vllm_takes_over() {
    let s = setup(30, 5);
    let vl = FakeEngine::start(FakeConfig::new().cold_start(1.5, 1.0).latency(10, 0.0))
        .await
        .unwrap();
    let ol = ollama(250).await;
    let (v, o) = (vl.url(), ol.url());
    let ran = run(&s.args(&[
        "--vllm-url",
        &v,
        "--ollama-url",
        &o,
        "--ollama-model",
        "fake-model",
        "--concurrency",
        "16",
    ]))
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    s.assert_complete();
    let (vs, os) = (vl.stats(), ol.stats());
    assert!(
        os.served_ok > 0,
        "Ollama served during the cold start: {os:?}"
    );
    assert!(
        vs.served_ok > os.served_ok,
        "vLLM took over: vllm {} ollama {}",
        vs.served_ok,
        os.served_ok
    );
    assert!(os.max_in_flight <= 4);
    assert!(vs.max_in_flight <= 16);
    let rep = report(&s.out);
    assert_eq!(
        vs.served_ok + os.served_ok,
        rep["chunks"]["total"].as_u64().unwrap(),
        "no chunk extracted twice"
    );
    assert_eq!(rep["engines"]["vllm"]["came_back"], 1);
    assert_eq!(rep["fallbacks"], os.served_ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vllm_dies_mid_run_nothing_lost_or_duplicated_and_traffic_returns() {
    let s = setup(30, 5);
    let vl = FakeEngine::start(
        FakeConfig::new()
            .latency(20, 0.0)
            .down_after_requests(40, 1.5),
    )
    .await
    .unwrap();
    let ol = ollama(200).await;
    let (v, o) = (vl.url(), ol.url());
    let ran = run(&s.args(&[
        "--vllm-url",
        &v,
        "--ollama-url",
        &o,
        "--ollama-model",
        "fake-model",
        "--concurrency",
        "8",
    ]))
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    s.assert_complete();
    let (vs, os) = (vl.stats(), ol.stats());
    assert!(os.served_ok > 0, "Ollama served while vLLM was down");
    assert!(
        vs.served_ok > 40,
        "traffic returned to vLLM: {}",
        vs.served_ok
    );
    let rep = report(&s.out);
    assert_eq!(
        vs.served_ok + os.served_ok,
        rep["chunks"]["total"].as_u64().unwrap(),
        "no chunk extracted twice"
    );
    assert!(os.max_in_flight <= 4 && vs.max_in_flight <= 8);
    assert!(rep["engines"]["vllm"]["went_down"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_engines_down_exit_3_within_engine_wait() {
    let s = setup(2, 2);
    let (v, o) = (dead_url(), dead_url());
    let ran = run(&s.args(&["--vllm-url", &v, "--ollama-url", &o, "--engine-wait", "2"])).await;
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(
        ran.elapsed < Duration::from_secs(8),
        "took {:?}",
        ran.elapsed
    );
    assert!(
        ran.stderr.contains(&v) && ran.stderr.contains(&o),
        "both URLs named: {}",
        ran.stderr
    );
    assert!(
        ran.stderr.to_lowercase().contains("connection refused"),
        "{}",
        ran.stderr
    );
    assert_eq!(report(&s.out)["status"], "stopped: no engine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_or_missing_model_exit_2_without_a_retry_storm() {
    let s = setup(2, 2);
    let vl = FakeEngine::start(FakeConfig::new().api_key("sekrit"))
        .await
        .unwrap();
    let u = vl.url();
    let ran = run(&s.args(&["--vllm-url", &u, "--no-ollama", "--vllm-api-key", "wrong"])).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("--vllm-api-key"), "{}", ran.stderr);
    assert_eq!(vl.stats().chat_requests, 0);
    assert!(ran.elapsed < Duration::from_secs(5));
    // The right key works.
    let ran = run(&s.args(&["--vllm-url", &u, "--no-ollama", "--vllm-api-key", "sekrit"])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    // The key is kept out of run.json and out of the resume command `status` prints.
    let state = std::fs::read_to_string(s.out.join("run.json")).unwrap();
    assert!(
        !state.contains("sekrit") && state.contains("<KEY>"),
        "{state}"
    );
    let st = run(&["status", "--out", s.out.to_str().unwrap()]).await;
    assert!(!st.stdout.contains("sekrit"), "{}", st.stdout);

    // Ollama alone without the model pulled: exit 2 with the pull command.
    let ol = ollama(0).await;
    let o = ol.url();
    let ran = run(&s.args(&[
        "--no-vllm",
        "--ollama-url",
        &o,
        "--ollama-model",
        "missing-model",
        "--fresh",
    ]))
    .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("ollama pull missing-model"),
        "{}",
        ran.stderr
    );
    assert_eq!(ol.stats().chat_requests, 0);
}

/// Runs the small corpus against a vLLM fake with `rules`; returns (exit code, report).
async fn with_faults(
    rules: Vec<FaultRule>,
    extra: &[&str],
) -> (Ran, serde_json::Value, Setup, FakeHandle) {
    let s = setup(3, 3);
    let vl = FakeEngine::start(FakeConfig::new().faults(rules))
        .await
        .unwrap();
    let u = vl.url();
    let mut args = s.args(&["--vllm-url", &u, "--no-ollama"]);
    if !extra.contains(&"--request-timeout") {
        args.extend_from_slice(&["--request-timeout", "2"]);
    }
    args.extend_from_slice(extra);
    let ran = run_with_env(&args, &[("AEGIS_RETRY_BASE_MS", "20")]).await;
    let rep = report(&s.out);
    (ran, rep, s, vl)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_are_retried_and_the_output_is_complete() {
    for fault in [
        Fault::Status500,
        Fault::Status503,
        Fault::Reset,
        Fault::TornBody,
        Fault::Garbage,
        Fault::ReasoningOnly,
        Fault::Truncated,
    ] {
        let name = fault.name();
        // Two hits: fewer than the attempts any class gets, so every chunk must recover.
        let (ran, rep, s, vl) =
            with_faults(vec![FaultRule::every_nth(fault, 3).max_hits(2)], &[]).await;
        assert_eq!(ran.code, 0, "{name}: {}", ran.stderr);
        s.assert_complete();
        assert_eq!(vl.stats().fault_count(name), 2, "{name}");
        // A cut-off answer keeps its records and is asked again with smaller answer
        // bounds: counted as `bounds_shrunk`, not as a retry of the same request.
        let again =
            rep["retries"].as_u64().unwrap() + rep["chunks"]["bounds_shrunk"].as_u64().unwrap();
        assert!(again >= 2, "{name}: {rep}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_honour_retry_after() {
    let (ran, rep, s, _vl) = with_faults(
        vec![FaultRule::first_n(
            Fault::RateLimited {
                retry_after_secs: 1,
            },
            1,
        )],
        &["--concurrency", "1"],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    s.assert_complete();
    assert!(
        ran.elapsed >= Duration::from_secs(1),
        "waited for Retry-After: {:?}",
        ran.elapsed
    );
    assert_eq!(rep["engines"]["vllm"]["failures"]["rate_limited"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repairable_and_off_schema_answers_are_cleaned() {
    let (ran, _rep, s, _vl) = with_faults(vec![FaultRule::always(Fault::MalformedJson)], &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    s.assert_complete();

    let (ran, rep, s, _vl) = with_faults(vec![FaultRule::always(Fault::WrongSchema)], &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let (entities, _) = check_outputs(&s.out);
    assert!(entities.iter().all(|e| e["type"] != "NOT_IN_SCHEMA"));
    assert!(!entities.iter().any(|e| e["name"] == "Phantom"));
    assert!(rep["dropped_items"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hangs_are_cut_by_the_request_timeout() {
    let (ran, rep, s, _vl) = with_faults(vec![FaultRule::first_n(Fault::Hang, 2)], &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    s.assert_complete();
    assert_eq!(rep["engines"]["vllm"]["failures"]["timeout"], 2);
    assert!(ran.elapsed < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_faults_fail_the_chunk_with_the_reason_and_exit_1() {
    let marker = "Companydoc1para1";
    for (fault, class) in [
        (Fault::Status500, "server_error"),
        (Fault::ReasoningOnly, "empty_content"),
        (Fault::Garbage, "malformed"),
        (Fault::Hang, "timeout"),
    ] {
        let (ran, rep, s, _vl) = with_faults(
            vec![FaultRule::text_contains(fault, marker)],
            &["--request-timeout", "1"],
        )
        .await;
        assert_eq!(ran.code, 1, "{class}: {}", ran.stderr);
        let failed = rep["failed_chunks"].as_array().unwrap();
        assert_eq!(failed.len(), 1, "{class}: {rep}");
        assert_eq!(failed[0]["class"], class);
        assert_eq!(failed[0]["doc"], "part1/doc001.md");
        assert_eq!(rep["documents"]["failed"], 1);
        // Every other document is complete.
        let got = entities_by_doc(&read_jsonl(&s.out.join("entities.jsonl")));
        let want = expected_entities(&s.corpus, 60, 0);
        for (doc, names) in &want {
            if doc != "part1/doc001.md" {
                assert_eq!(got.get(doc), Some(names), "{class}: {doc}");
            }
        }
        assert!(
            ran.elapsed < Duration::from_secs(40),
            "{class} took {:?}",
            ran.elapsed
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_long_prompt_is_split_not_retried_blindly() {
    let marker = "Companydoc2para0";
    let (ran, rep, s, vl) = with_faults(
        vec![FaultRule::text_contains(Fault::ContextLength, marker).max_hits(1)],
        &[],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(rep["chunks"]["split"], 1, "{rep}");
    assert_eq!(vl.stats().fault_count("context_length"), 1);
    // The halves' entities cover the chunk's.
    let got = entities_by_doc(&read_jsonl(&s.out.join("entities.jsonl")));
    for (doc, names) in expected_entities(&s.corpus, 60, 0) {
        assert!(names.is_subset(&got[&doc]), "{doc}");
    }

    // A prompt far over Ollama's context is split before it is sent, not cut silently.
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("c");
    std::fs::create_dir(&corpus).unwrap();
    let big: String = (0..900)
        .map(|i| format!("Entity{i}x went to Placey{i} with the team. "))
        .collect();
    std::fs::write(corpus.join("big.txt"), big).unwrap();
    let ol = ollama(0).await;
    let (o, c, out) = (
        ol.url(),
        corpus.to_str().unwrap().to_string(),
        tmp.path().join("o"),
    );
    let ran = run(&[
        "run",
        &c,
        "--out",
        out.to_str().unwrap(),
        "--no-vllm",
        "--ollama-url",
        &o,
        "--ollama-model",
        "fake-model",
        "--chunk-tokens",
        "12000",
        "--chunk-overlap",
        "0",
    ])
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&out);
    // The plan cut the chunks to fit Ollama's context (and said so), or the router split
    // them: either way nothing was sent that the engine would cut.
    let planned = ran.stderr.contains("context is 8192 tokens")
        && rep["chunks"]["total"].as_u64().unwrap() > 1;
    assert!(
        planned || rep["chunks"]["split"].as_u64().unwrap() >= 1,
        "{rep} {}",
        ran.stderr
    );
    assert_eq!(
        ol.stats().ollama_truncated_prompts,
        0,
        "no prompt was silently truncated"
    );
}
