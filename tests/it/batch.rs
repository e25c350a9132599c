//! Batch files: `batch export` writes the pending chunks as OpenAI batch requests, a batch
//! runner answers them (here: each body POSTed to the fake engine over HTTP, results
//! written as `vllm run-batch` writes them), `batch import` journals the answers, and the
//! following `run` sends nothing for them and writes the outputs a live run writes.
//! Results of another export, unknown ids, broken lines and failed requests each get what
//! the user needs: exit 2 with nothing written, a counted warning, or a retry file.

use std::path::{Path, PathBuf};

use fake_engine::{FakeConfig, FakeEngine};
use serde_json::{json, Value};

use crate::support::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `batch export` for a case's corpus into `out`, requests into `file`.
async fn export(c: &Case, url: &str, out: &Path, file: &Path, extra: &[&str]) -> Ran {
    export_chunked(c, url, out, file, "60", extra).await
}

async fn export_chunked(
    c: &Case,
    url: &str,
    out: &Path,
    file: &Path,
    chunk_tokens: &str,
    extra: &[&str],
) -> Ran {
    let mut args = vec![
        "batch",
        "export",
        s(&c.corpus),
        "--out",
        s(out),
        "--batch",
        s(file),
        "--vllm-url",
        url,
        "--chunk-tokens",
        chunk_tokens,
        "--chunk-overlap",
        "0",
    ];
    args.extend_from_slice(extra);
    run(&args).await
}

/// A batch runner: every request line's body POSTed to `url`'s /v1/chat/completions, the
/// answers written in `vllm run-batch`'s output shape.
pub(crate) async fn run_batch(requests: &[PathBuf], url: &str, results: &Path) -> usize {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let mut out = String::new();
    let mut n = 0;
    for f in requests {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let req: Value = serde_json::from_str(line).unwrap();
            assert_eq!(req["method"], "POST");
            assert_eq!(req["url"], "/v1/chat/completions");
            let resp = http
                .post(format!("{url}{}", req["url"].as_str().unwrap()))
                .json(&req["body"])
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap();
            let res = json!({
                "id": format!("vllm-{n}"),
                "custom_id": req["custom_id"],
                "response": {"status_code": status, "request_id": format!("vllm-batch-{n}"), "body": body},
                "error": null,
            });
            out.push_str(&res.to_string());
            out.push('\n');
            n += 1;
        }
    }
    std::fs::write(results, out).unwrap();
    n
}

fn lines(p: &Path) -> Vec<Value> {
    read_jsonl(p)
}

fn import_args<'a>(results: &'a [&'a str], out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["batch", "import"];
    a.extend_from_slice(results);
    a.extend_from_slice(&["--out", out]);
    a.extend_from_slice(extra);
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_run_import_then_run_sends_nothing_and_matches_a_live_run() {
    let c = case(6, 3);
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    // The live run, for comparison.
    let live = run(&c.args(&url, &[])).await;
    assert_eq!(live.code, 0, "{}", live.stderr);
    let live_requests = fake.stats().chat_requests;
    assert!(live_requests > 0);

    let out = c.tmp.path().join("batch-out");
    let file = c.tmp.path().join("requests.jsonl");
    fake.reset_stats();
    let ex = export(&c, &url, &out, &file, &[]).await;
    assert_eq!(ex.code, 0, "{}", ex.stderr);
    assert_eq!(
        fake.stats().chat_requests,
        0,
        "export sends no chat request"
    );
    let reqs = lines(&file);
    assert_eq!(reqs.len() as u64, live_requests, "one request per chunk");
    for r in &reqs {
        let id = r["custom_id"].as_str().unwrap();
        assert_eq!(id.len(), 32, "custom_id is the checkpoint key: {id}");
        assert_eq!(r["body"]["model"], fake.config().model);
        assert!(r["body"]["response_format"]["json_schema"]["schema"].is_object());
        assert_eq!(r["body"]["messages"][0]["role"], "system");
    }
    assert!(
        ex.stdout.contains("vllm run-batch"),
        "says what to do next: {}",
        ex.stdout
    );

    let results = c.tmp.path().join("results.jsonl");
    run_batch(std::slice::from_ref(&file), &url, &results).await;
    fake.reset_stats();
    let im = run(&import_args(&[s(&results)], s(&out), &[])).await;
    assert_eq!(im.code, 0, "{}\n{}", im.stdout, im.stderr);
    assert!(
        im.stdout
            .contains(&format!("{} chunks journaled", reqs.len())),
        "{}",
        im.stdout
    );
    assert!(
        !out.join("batch/retry.jsonl").exists(),
        "no failure, no retry file"
    );

    // Importing again changes nothing: every result is already in the checkpoint.
    let ck = std::fs::read(out.join("checkpoint.jsonl")).unwrap();
    let again = run(&import_args(&[s(&results)], s(&out), &[])).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains(&format!("{} already", reqs.len())),
        "{}",
        again.stdout
    );
    assert_eq!(std::fs::read(out.join("checkpoint.jsonl")).unwrap(), ck);

    // The run resumes everything: no request, and the live run's outputs byte for byte.
    let mut args = c.args(&url, &[]);
    let at = args.iter().position(|a| *a == "--out").unwrap();
    args[at + 1] = s(&out);
    let after = run(&args).await;
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(
        fake.stats().chat_requests,
        0,
        "the run sends no request for imported chunks"
    );
    assert_eq!(
        report(&out)["chunks"]["resumed"].as_u64(),
        Some(reqs.len() as u64)
    );
    for f in ["entities.jsonl", "relations.jsonl"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(c.out.join(f)).unwrap(),
            "{f} of the batch path equals the live run's"
        );
    }

    // A second export has nothing left to do.
    let file2 = c.tmp.path().join("requests2.jsonl");
    let ex2 = export(&c, &url, &out, &file2, &[]).await;
    assert_eq!(ex2.code, 0, "{}", ex2.stderr);
    assert_eq!(std::fs::read_to_string(&file2).unwrap(), "");
    assert!(ex2.stdout.contains("nothing to extract"), "{}", ex2.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_results_go_to_a_retry_file_that_completes_the_batch() {
    let c = case(4, 3);
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let file = c.tmp.path().join("requests.jsonl");
    let ex = export(&c, &url, &c.out, &file, &[]).await;
    assert_eq!(ex.code, 0, "{}", ex.stderr);
    let results = c.tmp.path().join("results.jsonl");
    let n = run_batch(std::slice::from_ref(&file), &url, &results).await;
    assert!(n >= 6, "{n}");
    // Spoil three answers the ways batch jobs fail: a request error, a server error, and
    // content that is not the answer's JSON.
    let mut res = lines(&results);
    let spoiled: Vec<String> = res[..3]
        .iter()
        .map(|r| r["custom_id"].as_str().unwrap().to_string())
        .collect();
    res[0]["error"] = json!({"message": "engine died", "code": "internal_error"});
    res[0]["response"] = Value::Null;
    res[1]["response"]["status_code"] = json!(500);
    res[1]["response"]["body"] = json!({"object": "error", "message": "boom"});
    res[2]["response"]["body"]["choices"][0]["message"]["content"] = json!("{\"entities\": [oops");
    let text: String = res.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&results, text).unwrap();

    let im = run(&import_args(&[s(&results)], s(&c.out), &[])).await;
    assert_eq!(
        im.code, 1,
        "some failed: exit 1\n{}\n{}",
        im.stdout, im.stderr
    );
    assert!(im.stdout.contains("3 failed"), "{}", im.stdout);
    assert!(
        im.stdout.contains("engine died"),
        "names why: {}",
        im.stdout
    );
    let retry = c.out.join("batch/retry.jsonl");
    let retry_lines = lines(&retry);
    let mut ids: Vec<String> = retry_lines
        .iter()
        .map(|r| r["custom_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let mut want = spoiled.clone();
    want.sort();
    assert_eq!(
        ids, want,
        "the retry file holds exactly the failed requests"
    );
    // In request format: the same lines the export wrote for them.
    let exported: Vec<Value> = lines(&file);
    for r in &retry_lines {
        let orig = exported
            .iter()
            .find(|e| e["custom_id"] == r["custom_id"])
            .unwrap();
        assert_eq!(r, orig, "a retry line is the exported request");
    }

    // An import of other results, with no failure, keeps the requests still unanswered.
    let rest = c.tmp.path().join("rest.jsonl");
    let text: String = res[3..].iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&rest, text).unwrap();
    let im = run(&import_args(&[s(&rest)], s(&c.out), &[])).await;
    assert_eq!(im.code, 0, "{}\n{}", im.stdout, im.stderr);
    assert_eq!(lines(&retry), retry_lines, "the retry file is kept");
    assert!(
        im.stdout.contains("failed in an earlier import"),
        "{}",
        im.stdout
    );

    // The retry file, run as a batch and imported, completes the checkpoint.
    let results2 = c.tmp.path().join("results2.jsonl");
    run_batch(std::slice::from_ref(&retry), &url, &results2).await;
    let im2 = run(&import_args(&[s(&results2)], s(&c.out), &[])).await;
    assert_eq!(im2.code, 0, "{}\n{}", im2.stdout, im2.stderr);
    assert!(
        !retry.exists(),
        "a complete import removes the old retry file"
    );
    fake.reset_stats();
    let after = run(&c.args(&url, &[])).await;
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(fake.stats().chat_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_of_another_export_or_broken_lines_exit_2_and_write_nothing() {
    let c = case(3, 2);
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let file = c.tmp.path().join("requests.jsonl");
    assert_eq!(export(&c, &url, &c.out, &file, &[]).await.code, 0);
    let results = c.tmp.path().join("results.jsonl");
    run_batch(std::slice::from_ref(&file), &url, &results).await;

    // Another export: other chunk settings, another out folder.
    let other_out = c.tmp.path().join("other");
    let other_file = c.tmp.path().join("other.jsonl");
    let ex = export_chunked(&c, &url, &other_out, &other_file, "200", &[]).await;
    assert_eq!(ex.code, 0, "{}", ex.stderr);
    let other_results = c.tmp.path().join("other-results.jsonl");
    run_batch(std::slice::from_ref(&other_file), &url, &other_results).await;

    let ck = c.out.join("checkpoint.jsonl");
    let before = std::fs::read(&ck).unwrap();

    // 1. Results of the other export.
    let r = run(&import_args(
        &[s(&results), s(&other_results)],
        s(&c.out),
        &[],
    ))
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("another export or other settings"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("other-results.jsonl"),
        "names the file: {}",
        r.stderr
    );
    assert_eq!(std::fs::read(&ck).unwrap(), before, "nothing written");

    // 2. Answered by another model.
    let mut res = lines(&results);
    res[1]["response"]["body"]["model"] = json!("some-other-model");
    let wrong_model = c.tmp.path().join("wrong-model.jsonl");
    std::fs::write(
        &wrong_model,
        res.iter().map(|r| format!("{r}\n")).collect::<String>(),
    )
    .unwrap();
    let r = run(&import_args(&[s(&wrong_model)], s(&c.out), &[])).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("wrong-model.jsonl:2"),
        "names the line: {}",
        r.stderr
    );
    assert!(r.stderr.contains("some-other-model"), "{}", r.stderr);
    assert_eq!(std::fs::read(&ck).unwrap(), before, "nothing written");

    // 3. A line that is not a result (the request file given by mistake; garbage).
    let r = run(&import_args(&[s(&file)], s(&c.out), &[])).await;
    assert_eq!(
        r.code, 2,
        "the request file is not a result file: {}",
        r.stderr
    );
    let garbage = c.tmp.path().join("garbage.jsonl");
    let mut text = std::fs::read_to_string(&results).unwrap();
    text.push_str("{not json\n");
    std::fs::write(&garbage, text).unwrap();
    let r = run(&import_args(&[s(&garbage)], s(&c.out), &[])).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("is not a batch result line"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&ck).unwrap(), before, "nothing written");

    // 4. No export in the folder.
    let empty = c.tmp.path().join("empty");
    let r = run(&import_args(&[s(&results)], s(&empty), &[])).await;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("batch export"),
        "says what to run: {}",
        r.stderr
    );

    // 5. Unknown custom_ids among known ones: a counted warning, the rest imported.
    let mut res = lines(&results);
    let known = res.len();
    res.push(json!({"id": "x", "custom_id": "not-one-of-ours", "response": {"status_code": 200, "body": res[0]["response"]["body"].clone()}, "error": null}));
    let mixed = c.tmp.path().join("mixed.jsonl");
    std::fs::write(
        &mixed,
        res.iter().map(|r| format!("{r}\n")).collect::<String>(),
    )
    .unwrap();
    let r = run(&import_args(&[s(&mixed)], s(&c.out), &[])).await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!("{known} chunks journaled")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("1 unknown custom_ids"), "{}", r.stdout);
    assert!(r.stderr.contains("custom_id"), "warned: {}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_splits_files_and_works_offline_from_flags() {
    let c = case(4, 3);
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let file = c.tmp.path().join("req.jsonl");
    let ex = export(&c, &url, &c.out, &file, &["--max-lines", "5"]).await;
    assert_eq!(ex.code, 0, "{}", ex.stderr);
    let parts: Vec<PathBuf> = (1..=3)
        .map(|i| c.tmp.path().join(format!("req-{i:04}.jsonl")))
        .collect();
    assert!(!file.exists(), "split: the numbered files only");
    let counts: Vec<usize> = parts
        .iter()
        .filter(|p| p.exists())
        .map(|p| lines(p).len())
        .collect();
    assert_eq!(counts[0], 5);
    assert!(counts.iter().all(|n| *n <= 5), "{counts:?}");
    assert_eq!(counts.iter().sum::<usize>(), 12, "{counts:?}");

    // No engine reachable: the model must come from flags.
    let dead = "http://127.0.0.1:9";
    let out2 = c.tmp.path().join("offline");
    let file2 = c.tmp.path().join("offline.jsonl");
    let r = export(&c, dead, &out2, &file2, &[]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--vllm-model"),
        "says which flags: {}",
        r.stderr
    );
    let r = export(
        &c,
        dead,
        &out2,
        &file2,
        &["--vllm-model", "fake-model", "--context-length", "8192"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("exporting for --vllm-model fake-model"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("waiting"),
        "an export does not wait: {}",
        r.stderr
    );
    let reqs = lines(&file2);
    assert_eq!(reqs.len(), 12);
    assert!(reqs.iter().all(|r| r["body"]["model"] == "fake-model"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_results_file_still_being_written_imports_its_complete_lines() {
    let c = case(3, 3);
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let file = c.tmp.path().join("requests.jsonl");
    assert_eq!(export(&c, &url, &c.out, &file, &[]).await.code, 0);
    let results = c.tmp.path().join("results.jsonl");
    let n = run_batch(std::slice::from_ref(&file), &url, &results).await;
    let full = std::fs::read_to_string(&results).unwrap();
    // The job has written 3 lines and half of the 4th.
    let cut: usize = full.lines().take(3).map(|l| l.len() + 1).sum::<usize>()
        + full.lines().nth(3).unwrap().len() / 2;
    let partial = c.tmp.path().join("partial.jsonl");
    std::fs::write(&partial, &full[..cut]).unwrap();
    let r = run(&import_args(&[s(&partial)], s(&c.out), &[])).await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("3 chunks journaled"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("pending: {} exported chunks", n - 3)),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("partial line (4)"), "{}", r.stderr);
    // Later, the whole file: the rest.
    let r = run(&import_args(&[s(&results)], s(&c.out), &[])).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("{} chunks journaled", n - 3)),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("pending"), "{}", r.stdout);
    fake.reset_stats();
    assert_eq!(run(&c.args(&url, &[])).await.code, 0);
    assert_eq!(fake.stats().chat_requests, 0);
}
