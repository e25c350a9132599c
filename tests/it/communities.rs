//! The finishing step (`aegis-ingest communities`) over real HTTP: one report per
//! community, nothing asked again when nothing changed, a kill -9 loses no finished
//! report, invalid answers retried and never kept, only the touched communities asked
//! again after a new document, Ollama taking over from a dying vLLM, bad input refused.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_engine::{Api, FakeConfig, FakeEngine, FakeHandle, Fault, FaultRule, When};
use serde_json::Value;

use crate::support::*;

/// A corpus of `n` documents, each naming four entities of its own (one chunk each, so
/// each document's entities are related among themselves and to nothing else).
fn groups_corpus(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        std::fs::write(
            dir.join(format!("doc{i:02}.md")),
            format!(
                "Alphaco{i} hired Bravoperson{i} in Charlietown{i}.\nDeltaprod{i} was made by Alphaco{i} and sold by Bravoperson{i}.\n"
            ),
        )
        .unwrap();
    }
}

struct Graph {
    _tmp: tempfile::TempDir,
    corpus: PathBuf,
    out: PathBuf,
    /// The general prompts without relation type signatures: the fake types by hash, so
    /// signatures would drop most of its relations and split the groups.
    prompts: PathBuf,
}

/// A finished extraction of `n` groups against `fake`.
async fn extracted(fake: &FakeHandle, n: usize) -> Graph {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    groups_corpus(&corpus, n);
    let out = tmp.path().join("out");
    let prompts = unsigned_general(tmp.path());
    let p = prompts.to_str().unwrap();
    let ran = run_vllm(
        &corpus,
        &out,
        &fake.url(),
        &["--prompts", p],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    Graph {
        _tmp: tmp,
        corpus,
        out,
        prompts,
    }
}

fn communities_args<'a>(out: &'a Path, url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "communities",
        "--out",
        out.to_str().unwrap(),
        "--vllm-url",
        url,
        "--no-ollama",
    ];
    a.extend_from_slice(extra);
    a
}

async fn communities(out: &Path, url: &str, extra: &[&str]) -> Ran {
    run_with_env(
        &communities_args(out, url, extra),
        &[("AEGIS_RETRY_BASE_MS", "5")],
    )
    .await
}

/// Communities with at least `min` members, by id.
fn reportable(out: &Path, min: usize) -> BTreeMap<String, Value> {
    read_jsonl(&out.join("communities.jsonl"))
        .into_iter()
        .filter(|c| c["size"].as_u64().unwrap() as usize >= min)
        .map(|c| (c["id"].as_str().unwrap().to_string(), c))
        .collect()
}

fn section(out: &Path) -> Value {
    report(out)["communities"].clone()
}

fn sum_levels(sec: &Value, key: &str) -> u64 {
    sec["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[key].as_u64().unwrap())
        .sum()
}

/// Every reportable community has exactly one report, citing only its own ids.
fn assert_one_report_each(out: &Path) -> usize {
    let comms = reportable(out, 2);
    let reports = read_jsonl(&out.join("community_reports.jsonl"));
    let mut seen = BTreeSet::new();
    for r in &reports {
        let id = r["community"].as_str().unwrap();
        assert!(seen.insert(id.to_string()), "two reports for {id}");
        let c = comms
            .get(id)
            .unwrap_or_else(|| panic!("report for unknown {id}"));
        let members: BTreeSet<&str> = c["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        for f in r["findings"].as_array().unwrap() {
            for e in f["entities"].as_array().unwrap() {
                assert!(members.contains(e.as_str().unwrap()), "{r}");
            }
        }
        assert!(!r["title"].as_str().unwrap().is_empty());
        assert!(r["rating"].as_f64().unwrap() <= 10.0);
        assert_eq!(r["fingerprint"], c["fingerprint"]);
    }
    assert_eq!(
        seen,
        comms.keys().cloned().collect::<BTreeSet<_>>(),
        "one report per community of 2 or more"
    );
    reports.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_community_gets_one_report_and_a_rerun_asks_nothing() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 6).await;
    let before = fake.stats().chat_requests;
    let ran = communities(&g.out, &fake.url(), &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let n = assert_one_report_each(&g.out);
    assert!(n >= 6, "6 separate groups give at least 6 communities: {n}");
    let sent = fake.stats().chat_requests - before;
    assert_eq!(sent, n as u64, "one request per report");
    let sec = section(&g.out);
    assert_eq!(sec["status"], "done");
    assert_eq!(sum_levels(&sec, "reports_generated"), n as u64);
    assert_eq!(sec["requests"], n as u64);
    let lines: Vec<Value> = read_jsonl(&g.out.join("communities.jsonl"));
    let keys: Vec<(u64, String)> = lines
        .iter()
        .map(|c| {
            (
                c["level"].as_u64().unwrap(),
                c["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "communities.jsonl is sorted by (level, id)");
    assert!(keys
        .iter()
        .all(|(_, id)| id.starts_with("com_") && id.len() == 20));

    // Nothing changed: no request, the same files byte for byte, even with the outputs'
    // lines in another order.
    let files = ["communities.jsonl", "community_reports.jsonl"];
    let read = |f: &str| std::fs::read(g.out.join(f)).unwrap();
    let was: Vec<Vec<u8>> = files.iter().map(|f| read(f)).collect();
    for f in ["entities.jsonl", "relations.jsonl"] {
        let text = std::fs::read_to_string(g.out.join(f)).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.reverse();
        std::fs::write(g.out.join(f), lines.join("\n") + "\n").unwrap();
    }
    let at = fake.stats().chat_requests;
    let ran = communities(&g.out, &fake.url(), &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        fake.stats().chat_requests,
        at,
        "nothing changed: no request"
    );
    let now: Vec<Vec<u8>> = files.iter().map(|f| read(f)).collect();
    assert!(now == was, "same outputs, same files");
    assert_eq!(sum_levels(&section(&g.out), "reports_reused"), n as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_way_a_rerun_asks_only_for_the_missing_reports() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 16).await;
    let slow = FakeEngine::start(FakeConfig::new().latency(250, 0.0))
        .await
        .unwrap();
    let url = slow.url();
    let mut child = command(&communities_args(&g.out, &url, &["--concurrency", "2"]))
        .spawn()
        .unwrap();
    for _ in 0..400 {
        if slow.stats().served_ok >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    child.start_kill().unwrap(); // SIGKILL
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), None, "killed by a signal");
    let journal = std::fs::read_to_string(g.out.join("community_journal.jsonl")).unwrap();
    let kept = journal
        .lines()
        .filter(|l| l.contains("\"kind\":\"report\""))
        .count();
    assert!(kept >= 2, "finished reports were journaled: {kept}");

    let before = slow.stats().chat_requests;
    let ran = communities(&g.out, &url, &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let n = assert_one_report_each(&g.out);
    assert!(kept < n, "the kill came before the end: {kept} of {n}");
    assert_eq!(
        slow.stats().chat_requests - before,
        (n - kept) as u64,
        "the rerun asks only for the reports the journal lacks"
    );
    assert_eq!(sum_levels(&section(&g.out), "reports_reused"), kept as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_answer_is_retried_never_kept_and_foreign_citations_are_dropped() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 4).await;
    fake.set_faults(vec![
        FaultRule::new(Fault::WrongSchema, When::FirstN(1)),
        FaultRule::new(Fault::MalformedJson, When::FirstN(1)),
    ]);
    let before = fake.stats().chat_requests;
    let ran = communities(&g.out, &fake.url(), &["--concurrency", "1"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let n = assert_one_report_each(&g.out);
    assert_eq!(
        fake.stats().chat_requests - before,
        n as u64 + 1,
        "the invalid answer was asked again once"
    );
    let sec = section(&g.out);
    assert_eq!(sec["retries"], 1);
    assert_eq!(sec["dropped_citations"], 1, "the foreign id was dropped");
    let journal = std::fs::read_to_string(g.out.join("community_journal.jsonl")).unwrap();
    assert!(
        !journal.contains("\"rating\":42"),
        "the invalid answer was not journaled"
    );
    assert!(!journal.contains(fake_engine::FOREIGN_ID));

    // The rerun finds every report valid and kept: nothing is asked again.
    fake.set_faults(vec![]);
    let at = fake.stats().chat_requests;
    let ran = communities(&g.out, &fake.url(), &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(fake.stats().chat_requests, at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_document_asks_again_only_for_the_communities_it_touches() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 8).await;
    let ran = communities(&g.out, &fake.url(), &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let old: Vec<Value> = read_jsonl(&g.out.join("communities.jsonl"));
    let old_fps: BTreeSet<String> = old
        .iter()
        .map(|c| c["fingerprint"].as_str().unwrap().to_string())
        .collect();
    let id_of = |all: &[Value], member: &str| -> String {
        all.iter()
            .find(|c| {
                c["level"] == 0 && c["members"].as_array().unwrap().iter().any(|m| m == member)
            })
            .map(|c| c["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let entities = read_jsonl(&g.out.join("entities.jsonl"));
    let alpha = entities
        .iter()
        .find(|e| e["name"] == "Alphaco3")
        .map(|e| e["id"].as_str().unwrap().to_string())
        .unwrap();
    let old_id = id_of(&old, &alpha);

    std::fs::write(
        g.corpus.join("doc99.md"),
        "Alphaco3 opened Echoplant99 near Charlietown3.\n",
    )
    .unwrap();
    let ran = run_vllm(
        &g.corpus,
        &g.out,
        &fake.url(),
        &["--prompts", g.prompts.to_str().unwrap()],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let before = fake.stats().chat_requests;
    let ran = communities(&g.out, &fake.url(), &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let sent = fake.stats().chat_requests - before;

    let new: Vec<Value> = read_jsonl(&g.out.join("communities.jsonl"));
    let touched: BTreeSet<String> = read_jsonl(&g.out.join("entities.jsonl"))
        .iter()
        .filter(|e| {
            e["sources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["doc"] == "doc99.md")
        })
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let changed: Vec<&Value> = new
        .iter()
        .filter(|c| c["size"].as_u64().unwrap() >= 2)
        .filter(|c| !old_fps.contains(c["fingerprint"].as_str().unwrap()))
        .collect();
    assert!(!changed.is_empty());
    assert!(changed.len() < new.len(), "untouched communities are kept");
    for c in &changed {
        assert!(
            c["members"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| touched.contains(m.as_str().unwrap())),
            "only communities holding the new document's entities (or their ancestors) change: {c}"
        );
    }
    assert_eq!(
        sent,
        changed.len() as u64,
        "one request per changed community"
    );
    assert_eq!(
        id_of(&new, &alpha),
        old_id,
        "the grown community keeps its id"
    );
    assert_one_report_each(&g.out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vllm_dying_mid_way_hands_the_reports_to_ollama() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 16).await;
    let vl = FakeEngine::start(FakeConfig::new().latency(150, 0.0))
        .await
        .unwrap();
    let ol = FakeEngine::start(FakeConfig::new().api(Api::Ollama).latency(20, 0.0))
        .await
        .unwrap();
    let (v, o) = (vl.url(), ol.url());
    let args = vec![
        "communities",
        "--out",
        g.out.to_str().unwrap(),
        "--vllm-url",
        &v,
        "--ollama-url",
        &o,
        "--ollama-model",
        "fake-model",
        "--concurrency",
        "2",
    ];
    let mut cmd = command(&args);
    cmd.env("AEGIS_RETRY_BASE_MS", "5");
    let child = cmd.spawn().unwrap();
    for _ in 0..400 {
        if vl.stats().served_ok >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    vl.go_down().await.unwrap();
    let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let n = assert_one_report_each(&g.out);
    let (vs, os) = (vl.stats().served_ok, ol.stats().served_ok);
    assert!(vs >= 3 && os > 0, "vllm {vs}, ollama {os}");
    assert!(vs + os >= n as u64, "vllm {vs} + ollama {os} >= {n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_2_with_one_sentence() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("nothing");
    let ran = communities(&empty, &url, &[]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("no finished run"), "{}", ran.stderr);

    let g = extracted(&fake, 2).await;
    let ran = communities(&g.out, &url, &["--max-cluster-size", "0"]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("--max-cluster-size must be at least 1"),
        "{}",
        ran.stderr
    );

    // A damaged outputs line is named; nothing is written.
    let rel = g.out.join("relations.jsonl");
    let good = std::fs::read_to_string(&rel).unwrap();
    std::fs::write(&rel, format!("{good}{{\"id\": 3\n")).unwrap();
    let ran = communities(&g.out, &url, &[]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("is not a valid relation record"),
        "{}",
        ran.stderr
    );
    assert!(!g.out.join("communities.jsonl").exists());

    // Entities but no relation between them: said as such.
    std::fs::write(&rel, "").unwrap();
    let ran = communities(&g.out, &url, &[]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("no relations between them"),
        "{}",
        ran.stderr
    );
    assert_eq!(ran.stderr.trim().lines().count(), 1, "{}", ran.stderr);
    assert_eq!(
        fake.stats().chat_requests,
        2,
        "only the extraction's requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_communities_finishes_in_one_command() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    groups_corpus(&corpus, 3);
    let out = tmp.path().join("out");
    let ran = run_vllm(
        &corpus,
        &out,
        &fake.url(),
        &["--communities"],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let n = assert_one_report_each(&out);
    assert_eq!(fake.stats().chat_requests, 3 + n as u64);
    assert_eq!(section(&out)["status"], "done");
}

/// Gives the record named `name` in `file` the description fragments `fragments`.
fn set_fragments(
    out: &Path,
    file: &str,
    pick: impl Fn(&Value) -> bool,
    fragments: &[String],
) -> String {
    let path = out.join(file);
    let mut id = String::new();
    let lines: Vec<String> = read_jsonl(&path)
        .into_iter()
        .map(|mut v| {
            if id.is_empty() && pick(&v) {
                v["fragments"] = serde_json::json!(fragments);
                id = v["id"].as_str().unwrap().to_string();
            }
            v.to_string()
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    assert!(!id.is_empty());
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_descriptions_are_summarized_in_parts_once_and_reused() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 3).await;
    let long: Vec<String> = (0..10)
        .map(|i| {
            format!(
                "Fragment {i} says that Alphaco0 {}",
                "runs a large business in many towns, ".repeat(10)
            )
        })
        .collect();
    let ent = set_fragments(&g.out, "entities.jsonl", |e| e["name"] == "Alphaco0", &long);
    let short: Vec<String> = (0..9).map(|i| format!("They met in year {i}.")).collect();
    let rel = set_fragments(
        &g.out,
        "relations.jsonl",
        |r| r["source"] == ent || r["target"] == ent,
        &short,
    );
    let before = fake.stats().chat_requests;
    let ran = communities(&g.out, &fake.url(), &["--max-input-tokens", "1000"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let n = assert_one_report_each(&g.out) as u64;
    let summary_requests = fake.stats().chat_requests - before - n;
    assert!(
        summary_requests >= 4,
        "the entity's fragments do not fit one request: parts, then their summary; then the relation's: {summary_requests}"
    );
    let descs = read_jsonl(&g.out.join("descriptions.jsonl"));
    let by_id: BTreeMap<&str, &Value> = descs
        .iter()
        .map(|d| (d["id"].as_str().unwrap(), d))
        .collect();
    assert_eq!(by_id.len(), 2, "{descs:?}");
    assert_eq!(by_id[ent.as_str()]["fragments"], 10);
    assert_eq!(by_id[rel.as_str()]["fragments"], 9);
    assert!(by_id[ent.as_str()]["description"]
        .as_str()
        .unwrap()
        .starts_with("A summary of "));
    assert_eq!(section(&g.out)["summaries_generated"], 2);

    // Cached: a rerun asks nothing; status shows the stage.
    let at = fake.stats().chat_requests;
    let ran = communities(&g.out, &fake.url(), &["--max-input-tokens", "1000"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(fake.stats().chat_requests, at);
    assert_eq!(section(&g.out)["summaries_reused"], 2);
    let st = run(&["status", "--out", g.out.to_str().unwrap()]).await;
    assert!(
        st.stdout.contains(&format!(
            "communities:    {n} on 1 level(s), {n} reports (0 written, {n} reused"
        )),
        "{}",
        st.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_130_keeps_finished_reports_and_a_rerun_completes() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 12).await;
    let slow = FakeEngine::start(FakeConfig::new().latency(300, 0.0))
        .await
        .unwrap();
    let url = slow.url();
    let child = command(&communities_args(&g.out, &url, &["--concurrency", "2"]))
        .spawn()
        .unwrap();
    for _ in 0..400 {
        if slow.stats().served_ok >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGTERM) };
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("rerun the same command"), "{stderr}");
    assert_eq!(section(&g.out)["status"], "interrupted");
    let kept = read_jsonl(&g.out.join("community_reports.jsonl")).len();
    assert!(kept >= 2, "finished reports are written: {kept}");

    let before = slow.stats().chat_requests;
    let ran = communities(&g.out, &url, &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let n = assert_one_report_each(&g.out);
    assert!(kept < n, "stopped before the end: {kept} of {n}");
    assert_eq!(slow.stats().chat_requests - before, (n - kept) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_changed_needs_no_engine_up_at_the_probe() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 3).await;
    let ran = communities(&g.out, &fake.url(), &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let was = std::fs::read(g.out.join("community_reports.jsonl")).unwrap();
    // vLLM still loading (no --vllm-model): the model the run used keys the reports.
    let cold = FakeEngine::start(FakeConfig::new().cold_start(0.0, 30.0))
        .await
        .unwrap();
    let ran = communities(&g.out, &cold.url(), &["--engine-wait", "5"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(cold.stats().chat_requests, 0);
    assert_eq!(
        std::fs::read(g.out.join("community_reports.jsonl")).unwrap(),
        was
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_report_template_is_used_and_asks_every_report_again() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 3).await;
    let ran = communities(&g.out, &fake.url(), &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let prompts = g.out.parent().unwrap().join("my-prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    // A template that leaves the data out: the fake then has no id to cite.
    std::fs::write(
        prompts.join("community_report.j2"),
        "Write a report on community level {{ level }} of {{ size }} members.\n",
    )
    .unwrap();
    let before = fake.stats().chat_requests;
    let ran = communities(
        &g.out,
        &fake.url(),
        &["--prompts", prompts.to_str().unwrap()],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let n = assert_one_report_each(&g.out);
    assert_eq!(fake.stats().chat_requests - before, n as u64);
    for r in read_jsonl(&g.out.join("community_reports.jsonl")) {
        assert_eq!(r["title"], "Community around nothing", "{r}");
    }
    // A template that does not render is refused at start, naming the file.
    std::fs::write(prompts.join("community_report.j2"), "{{ context ").unwrap();
    let ran = communities(
        &g.out,
        &fake.url(),
        &["--prompts", prompts.to_str().unwrap()],
    )
    .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("community_report.j2 does not render"),
        "{}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_the_server_finds_too_long_is_asked_again_smaller() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 3).await;
    fake.set_faults(vec![FaultRule::first_n(Fault::ContextLength, 1)]);
    let before = fake.stats().chat_requests;
    let ran = communities(&g.out, &fake.url(), &["--concurrency", "1"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let n = assert_one_report_each(&g.out);
    assert_eq!(fake.stats().chat_requests - before, n as u64 + 1);
}

/// A community over `--max-cluster-size` is split into children, whose reports are
/// finished first; a parent whose own entities and relations do not fit its context is
/// written from them (GraphRAG builds every context before any report exists, so its
/// substitution never happens).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_parent_is_written_from_its_childrens_reports() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 3).await;
    // Descriptions of about 130 tokens: a group's 4 entities (over 500 tokens with their
    // relations) do not fit the context left of the smallest input budget (512 tokens).
    let path = g.out.join("entities.jsonl");
    let long: Vec<String> = read_jsonl(&path)
        .into_iter()
        .map(|mut v| {
            let name = v["name"].as_str().unwrap().to_string();
            v["description"] = format!("{name} is described at length here. ")
                .repeat(16)
                .into();
            v.to_string()
        })
        .collect();
    std::fs::write(&path, long.join("\n") + "\n").unwrap();
    let ran = communities(
        &g.out,
        &fake.url(),
        &["--max-cluster-size", "3", "--max-input-tokens", "512"],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let comms = read_jsonl(&g.out.join("communities.jsonl"));
    let reports: BTreeMap<String, Value> = read_jsonl(&g.out.join("community_reports.jsonl"))
        .into_iter()
        .map(|r| (r["community"].as_str().unwrap().to_string(), r))
        .collect();
    let parents: Vec<&Value> = comms
        .iter()
        .filter(|c| !c["children"].as_array().unwrap().is_empty())
        .collect();
    assert!(
        !parents.is_empty(),
        "groups of 4 over a limit of 3 split: {comms:?}"
    );
    for p in &parents {
        assert!(p["size"].as_u64().unwrap() > 3, "{p}");
        let rep = &reports[p["id"].as_str().unwrap()];
        assert_eq!(rep["from_children"], true, "{rep}");
        for kid in p["children"].as_array().unwrap() {
            let k = &reports[kid.as_str().unwrap()];
            assert_eq!(k["from_children"], false, "{k}");
        }
    }
    assert_eq!(section(&g.out)["from_children"], parents.len() as u64);
}

/// `run --fresh` discards the finishing step's files with the outputs they were made from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_fresh_discards_the_finishing_steps_files() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 2).await;
    let ran = communities(&g.out, &fake.url(), &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let files = [
        "communities.jsonl",
        "community_reports.jsonl",
        "community_journal.jsonl",
    ];
    for f in files {
        assert!(g.out.join(f).is_file(), "{f}");
    }
    let ran = run_vllm(
        &g.corpus,
        &g.out,
        &fake.url(),
        &["--prompts", g.prompts.to_str().unwrap(), "--fresh"],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("community_reports.jsonl"),
        "{}",
        ran.stderr
    );
    for f in files {
        assert!(!g.out.join(f).exists(), "{f} kept after --fresh");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_out_says_whether_the_finishing_step_is_not_run_done_or_stale() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let g = extracted(&fake, 3).await;
    let url = fake.url();
    let out = g.out.to_str().unwrap();
    let doctor = |extra: &'static [&'static str]| {
        let mut a = vec!["doctor", "--vllm-url", &url, "--no-ollama"];
        a.extend_from_slice(extra);
        let a: Vec<String> = a.into_iter().map(String::from).collect();
        async move {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            run(&a).await
        }
    };
    let with_out = |fmt: &'static str| {
        let a: Vec<String> = [
            "doctor",
            "--vllm-url",
            &url,
            "--no-ollama",
            "--out",
            out,
            "--format",
            fmt,
        ]
        .into_iter()
        .map(String::from)
        .collect();
        async move {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            run(&a).await
        }
    };
    let line = |stdout: &str| -> String {
        stdout
            .lines()
            .find(|l| l.starts_with("communities in "))
            .unwrap_or_else(|| panic!("no communities line in {stdout}"))
            .to_string()
    };

    // Without --out: no such line, the engines alone.
    let plain = doctor(&[]).await;
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(!plain.stdout.contains("communities"), "{}", plain.stdout);

    let before = with_out("text").await;
    assert_eq!(before.code, 0, "{}", before.stderr);
    let l = line(&before.stdout);
    assert!(
        l.contains("not run") && l.contains("aegis-ingest communities --out"),
        "{l}"
    );

    let ran = communities(&g.out, &url, &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let n = read_jsonl(&g.out.join("communities.jsonl")).len();
    let reports = read_jsonl(&g.out.join("community_reports.jsonl")).len();
    let done = with_out("text").await;
    let l = line(&done.stdout);
    assert!(
        l.contains(&format!("done: {n} communities on"))
            && l.contains(&format!("{reports} reports, 0 failed")),
        "{l}"
    );
    let json: Value = serde_json::from_str(&with_out("json").await.stdout).unwrap();
    assert_eq!(json["communities"]["stage"], "done");
    assert_eq!(json["communities"]["communities"], n as u64);
    assert_eq!(json["communities"]["reports"], reports as u64);
    assert_eq!(json["communities"]["failed"], 0);

    // A rerun of `run` with nothing new leaves the outputs as they were: the stage stays
    // done, and the report it writes keeps the step's figures.
    let p = ["--prompts", g.prompts.to_str().unwrap()];
    let ran = run_vllm(&g.corpus, &g.out, &url, &p, Duration::from_secs(60)).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(report(&g.out)["communities"]["status"], "done");
    let json: Value = serde_json::from_str(&with_out("json").await.stdout).unwrap();
    assert_eq!(json["communities"]["stage"], "done", "{json}");

    // A new document changes the outputs: the step's reports no longer match them.
    std::fs::write(g.corpus.join("doc99.md"), "Alphaco1 opened Echoplant99.\n").unwrap();
    let ran = run_vllm(&g.corpus, &g.out, &url, &[], Duration::from_secs(60)).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let l = line(&with_out("text").await.stdout);
    assert!(
        l.contains("stale") && l.contains("aegis-ingest communities --out"),
        "{l}"
    );
    let json: Value = serde_json::from_str(&with_out("json").await.stdout).unwrap();
    assert_eq!(json["communities"]["stage"], "stale");
    assert!(
        report(&g.out)["communities"].is_null(),
        "figures of other outputs dropped"
    );

    // Rerun: done again.
    let ran = communities(&g.out, &url, &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let l = line(&with_out("text").await.stdout);
    assert!(l.contains("done: "), "{l}");
}
