//! What a user is told when the setup is wrong or an engine is missing (issue 20, items 3
//! and 7): a bad URL is a usage error at once, a host name that does not resolve is said
//! once, the wait for an engine says who was tried, why each failed and the time left;
//! doctor's last line is a `run` line that works, status's rate has a unit that shows it,
//! and eval on the wrong run says so without a flood of warnings.

use std::time::Duration;

use fake_engine::{Api, FakeConfig, FakeEngine};
use serde_json::Value;

use crate::support::*;

/// A URL on 127.0.0.1 where nothing listens (the port was bound, then released).
fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

/// The stderr lines that contain `needle`.
fn lines_with<'a>(stderr: &'a str, needle: &str) -> Vec<&'a str> {
    stderr.lines().filter(|l| l.contains(needle)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_engine_url_exits_2_at_once_naming_the_flag() {
    let c = case(1, 1);
    let dead = closed_port_url();
    /// Flags, environment, and the name the message must give.
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["--vllm-url", "not-a-url"], vec![], "--vllm-url"),
        (vec!["--vllm-url", "http://"], vec![], "--vllm-url"),
        (vec!["--vllm-url", "http://:8000"], vec![], "--vllm-url"),
        (
            vec!["--vllm-url", &dead, "--ollama-url", "://x"],
            vec![],
            "--ollama-url",
        ),
        (
            vec!["--vllm-url", &dead, "--ollama-url", "http://"],
            vec![],
            "--ollama-url",
        ),
        (
            vec!["--vllm-url", &dead],
            vec![("OLLAMA_HOST", "://x")],
            "OLLAMA_HOST",
        ),
    ];
    for (flags, env, names) in cases {
        let mut args = vec![
            "run",
            c.corpus.to_str().unwrap(),
            "--out",
            c.out.to_str().unwrap(),
        ];
        args.extend_from_slice(&flags);
        let ran = run_with_env(&args, &env).await;
        assert_eq!(ran.code, 2, "{flags:?} {env:?}: {}", ran.stderr);
        assert!(
            ran.elapsed < Duration::from_secs(1),
            "{flags:?}: {:?}",
            ran.elapsed
        );
        let first = ran.stderr.lines().next().unwrap_or("");
        assert!(
            first.contains(names) && first.contains("http://HOST:PORT"),
            "{flags:?} {env:?}: the flag and the fix: {}",
            ran.stderr
        );
    }
    // HOST:PORT without a scheme still works (http:// is added): it fails later, on the
    // closed port, not as a usage error.
    let port = dead.trim_start_matches("http://");
    let ran = run(&c.args(port, &["--engine-wait", "1"])).await;
    assert_eq!(ran.code, 3, "{}", ran.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_no_engine_is_up_each_line_names_the_engines_their_reasons_and_the_time_left() {
    let c = case(1, 1);
    let (v, o) = (closed_port_url(), closed_port_url());
    let mut args = c.args(&v, &["--ollama-url", &o, "--engine-wait", "3"]);
    args.retain(|a| *a != "--no-ollama");
    let ran = run_with_env(&args, &[("RUST_LOG", "info"), ("AEGIS_PROGRESS_SECS", "1")]).await;
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(
        !ran.stderr.contains("meanwhile"),
        "Ollama is down too: nothing serves meanwhile\n{}",
        ran.stderr
    );
    let waiting = lines_with(&ran.stderr, "waiting for an engine");
    assert!(
        waiting.len() >= 2,
        "a line at once, then each interval\n{}",
        ran.stderr
    );
    for line in &waiting {
        assert!(
            line.contains(&format!("vllm at {v} (connection refused)"))
                && line.contains(&format!("ollama at {o} (connection refused)"))
                && line.contains("giving up in ")
                && line.contains("--engine-wait 3 s"),
            "{line}"
        );
    }
    let distinct: std::collections::BTreeSet<&&str> = waiting.iter().collect();
    assert!(
        distinct.len() >= 2,
        "the time left counts down\n{}",
        ran.stderr
    );
    assert!(
        lines_with(&ran.stderr, "none available").is_empty(),
        "{}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_name_that_does_not_resolve_is_said_once_as_dns() {
    let c = case(1, 1);
    let o = closed_port_url();
    // `.invalid` never resolves (RFC 6761).
    let v = "http://vllm.invalid:8000";
    let mut args = c.args(v, &["--ollama-url", &o, "--engine-wait", "2"]);
    args.retain(|a| *a != "--no-ollama");
    let ran = run_with_env(&args, &[("RUST_LOG", "info"), ("AEGIS_PROGRESS_SECS", "1")]).await;
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let said = lines_with(&ran.stderr, "does not resolve");
    assert_eq!(said.len(), 1, "said once\n{}", ran.stderr);
    assert!(
        said[0].contains("DNS")
            && said[0].contains("vllm.invalid")
            && said[0].contains("--vllm-url"),
        "{}",
        said[0]
    );
    assert!(
        !said[0].contains("refused"),
        "DNS is not a refused connection: {}",
        said[0]
    );
    let waiting = lines_with(&ran.stderr, "waiting for an engine");
    assert!(!waiting.is_empty(), "{}", ran.stderr);
    assert!(
        waiting[0].contains(&format!("vllm at {v} (DNS lookup failed)")),
        "{}",
        waiting[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ollama_meanwhile_is_said_only_when_ollama_is_up() {
    let c = case(1, 1);
    let ol = FakeEngine::start(FakeConfig::new().api(Api::Ollama))
        .await
        .unwrap();
    let (v, o) = (closed_port_url(), ol.url());
    let mut args = c.args(&v, &["--ollama-url", &o, "--ollama-model", "fake-model"]);
    args.retain(|a| *a != "--no-ollama");
    let ran = run(&args).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        lines_with(&ran.stderr, "using Ollama meanwhile").len(),
        1,
        "{}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctors_last_line_is_a_run_command_with_the_flags_that_made_it_work() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let (url, dead) = (fake.url(), closed_port_url());
    let ran = run(&[
        "doctor",
        "--vllm-url",
        &url,
        "--ollama-url",
        &dead,
        "--request-timeout",
        "30",
        "--format",
        "text",
    ])
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let last = ran.stdout.lines().last().unwrap_or("");
    let line = last
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("a command in backticks: {last}"));
    assert!(
        line.starts_with("aegis-ingest run <CORPUS> ")
            && line.contains(&format!("--vllm-url {url}"))
            && line.contains(&format!("--ollama-url {dead}"))
            && line.contains("--request-timeout 30")
            && !line.contains("--format"),
        "{line}"
    );
    // The line runs as printed, with a corpus and an output folder filled in.
    let c = case(2, 1);
    let mut args: Vec<&str> = line.split_whitespace().skip(1).collect();
    let corpus = c.corpus.to_str().unwrap();
    for a in args.iter_mut().filter(|a| **a == "<CORPUS>") {
        *a = corpus;
    }
    args.extend_from_slice(&["--out", c.out.to_str().unwrap()]);
    let ran = run(&args).await;
    assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_text_shows_a_slow_rate_in_a_unit_that_shows_it() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let c = case(2, 2);
    let url = fake.url();
    let ran = run(&c.args(&url, &["--quiet"])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    // The report of a slow run: the chunks took 0.046 chunks/s (a CPU-served model).
    let path = c.out.join("report.json");
    let mut rep: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let n = rep["chunks"]["extracted_now"].as_f64().unwrap();
    rep["wall_seconds"] = (n / 0.046).into();
    std::fs::write(&path, serde_json::to_vec(&rep).unwrap()).unwrap();
    let out = c.out.to_str().unwrap();
    let ran = run(&["status", "--out", out, "--format", "json"]).await;
    let v: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(v["last_run"]["chunks_per_second"], 0.046, "{v:#}");
    let ran = run(&["status", "--out", out]).await;
    let line = lines_with(&ran.stdout, "last run rate:");
    assert_eq!(line.len(), 1, "{}", ran.stdout);
    assert!(line[0].ends_with("2.8 chunks/min"), "{}", line[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_on_the_wrong_run_says_so_without_a_flood_of_warnings() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let c = case(2, 1);
    let url = fake.url();
    assert_eq!(run(&c.args(&url, &["--quiet"])).await.code, 0);
    let gold = c.tmp.path().join("gold.jsonl");
    let line = |doc: &str| {
        format!(
            r#"{{"doc": "{doc}", "entities": [{{"name": "Nobody", "type": "PERSON"}}], "relations": []}}"#
        )
    };
    let elsewhere: Vec<String> = (0..32).map(|i| line(&format!("other/doc{i}.md"))).collect();
    std::fs::write(&gold, elsewhere.join("\n")).unwrap();
    let out = c.out.to_str().unwrap();
    let eval = |gold: &std::path::Path| {
        let args = ["eval", "--out", out, "--gold", gold.to_str().unwrap()];
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_with_env(&args, &[("RUST_LOG", "info")]).await
        }
    };
    let ran = eval(&gold).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("none of the gold file's documents"),
        "{}",
        ran.stderr
    );
    assert!(
        !ran.stderr.contains("WARN"),
        "the error alone: {}",
        ran.stderr
    );
    // One run document among many unknown ones: scored, the others in one warning.
    let mut mixed = elsewhere.clone();
    mixed.push(line("part0/doc000.md"));
    std::fs::write(&gold, mixed.join("\n")).unwrap();
    let ran = eval(&gold).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let warned = lines_with(&ran.stderr, "WARN");
    assert_eq!(warned.len(), 1, "{}", ran.stderr);
    assert!(
        warned[0].contains("32 gold documents are not in the run's corpus"),
        "{}",
        warned[0]
    );
}
