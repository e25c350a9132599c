//! `--relations two-pass` against the fake engine over HTTP: an entities request, then a
//! relations request whose endpoints are enums of the entities kept (none for a chunk with
//! fewer than two); relation type signatures in the taxonomy, enforced and counted; cached
//! prompt tokens counted; resume, gleaning and batch files (two rounds: entities, then
//! relations) in two-pass mode; a bad signature refused before any request.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fake_engine::{FakeConfig, FakeEngine, Mistakes};
use serde_json::Value;

use crate::support::*;

/// A taxonomy with two entity types and signed relation types (PERSON -> PLACE, PERSON ->
/// PERSON), in `dir`.
fn signed_prompts(dir: &Path) -> PathBuf {
    let p = dir.join("prompts");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(
        p.join("taxonomy.toml"),
        "name = 'travel'\n\
         [[entity_types]]\nname = 'PERSON'\ndefinition = 'A named person.'\n\
         [[entity_types]]\nname = 'PLACE'\ndefinition = 'A named place.'\n\
         [[relation_types]]\nname = 'VISITED'\ndefinition = 'A person visited a place.'\n\
         source = ['PERSON']\ntarget = ['PLACE']\n\
         [[relation_types]]\nname = 'KNOWS'\ndefinition = 'A person knows a person.'\n\
         source = ['PERSON']\ntarget = ['PERSON']\n",
    )
    .unwrap();
    p
}

/// Three documents of one chunk each: many names, one name, none.
fn corpus(dir: &Path) -> PathBuf {
    let c = dir.join("corpus");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::write(
        c.join("a.md"),
        "Alice visited Berlin with Carol. Dave met Erin in Rome, then Frank and Grace toured Lisbon \
         while Heidi, Ivan and Judy stayed in Madrid with Mallory, Niaj, Olivia and Peggy near Oslo.\n",
    )
    .unwrap();
    std::fs::write(
        c.join("b.md"),
        "only one name here: Zed, and nothing else.\n",
    )
    .unwrap();
    std::fs::write(c.join("c.md"), "no names at all in this short note.\n").unwrap();
    c
}

struct Setup {
    _tmp: tempfile::TempDir,
    corpus: PathBuf,
    prompts: PathBuf,
    out: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    Setup {
        corpus: corpus(tmp.path()),
        prompts: signed_prompts(tmp.path()),
        out: tmp.path().join("out"),
        _tmp: tmp,
    }
}

impl Setup {
    async fn run(&self, url: &str, extra: &[&str]) -> Ran {
        self.run_at(&self.out, url, extra).await
    }

    async fn run_at(&self, out: &Path, url: &str, extra: &[&str]) -> Ran {
        let mut args = vec![
            "--prompts",
            self.prompts.to_str().unwrap(),
            "--chunk-tokens",
            "400",
            "--concurrency",
            "2",
        ];
        args.extend_from_slice(extra);
        run_vllm(
            &self.corpus,
            out,
            url,
            &args,
            std::time::Duration::from_secs(120),
        )
        .await
    }

    /// The relations as (source type, type, target type), and their count.
    fn relation_types(&self) -> Vec<(String, String, String)> {
        let ents: BTreeMap<String, String> = read_jsonl(&self.out.join("entities.jsonl"))
            .iter()
            .map(|e| {
                (
                    e["id"].as_str().unwrap().to_string(),
                    e["type"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        read_jsonl(&self.out.join("relations.jsonl"))
            .iter()
            .map(|r| {
                (
                    ents[r["source"].as_str().unwrap()].clone(),
                    r["type"].as_str().unwrap().to_string(),
                    ents[r["target"].as_str().unwrap()].clone(),
                )
            })
            .collect()
    }
}

fn drops(out: &Path) -> Value {
    report(out)["validation"]["dropped"].clone()
}

fn in_signature(r: &(String, String, String)) -> bool {
    match r.1.as_str() {
        "VISITED" => r.0 == "PERSON" && r.2 == "PLACE",
        "KNOWS" => r.0 == "PERSON" && r.2 == "PERSON",
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pass_asks_relations_only_for_chunks_with_two_entities_and_counts_cached_tokens() {
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new().report_cached_tokens())
        .await
        .unwrap();
    let ran = s.run(&fake.url(), &["--relations", "two-pass"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    // a.md: entities then relations; b.md (one entity) and c.md (none): entities only.
    assert_eq!(fake.stats().chat_requests, 4);
    let rels = s.relation_types();
    assert!(!rels.is_empty());
    assert!(rels.iter().all(in_signature), "{rels:?}");
    let names: Vec<String> = read_jsonl(&s.out.join("entities.jsonl"))
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"Zed".to_string()), "{names:?}");
    // The relations request shares the system prompt and the chunk's text with the
    // entities request: the server's prefix cache serves them.
    let rep = report(&s.out);
    let cached = rep["engines"]["vllm"]["cached_prompt_tokens"]
        .as_u64()
        .unwrap_or(0);
    let prompt = rep["engines"]["vllm"]["prompt_tokens"].as_u64().unwrap();
    assert!(cached > 0 && cached < prompt, "{}", rep["engines"]);
    assert!(ran.stderr.contains("cached"), "{}", ran.stderr);
    assert_eq!(drops(&s.out)["signature"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_outside_the_enums_are_impossible_unless_the_engine_ignores_the_schema() {
    let mistakes = Mistakes {
        dangling: 1.0,
        ..Mistakes::default()
    };
    // A decoder that keeps to the schema: a "dangling" endpoint is another name of the enum.
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new().mistakes(mistakes))
        .await
        .unwrap();
    let ran = s.run(&fake.url(), &["--relations", "two-pass"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let d = drops(&s.out);
    assert_eq!(d["dangling_endpoint"], 0, "{d}");
    assert_eq!(d["signature"], 0, "{d}");
    assert!(!s.relation_types().is_empty());
    // The same mistakes in joint mode, where endpoints are free strings: counted.
    let s = setup();
    let ran = s.run(&fake.url(), &["--relations", "joint"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(drops(&s.out)["dangling_endpoint"].as_u64().unwrap() > 0);
    // An engine that ignores the schema: names outside the enum and types outside the
    // signatures come back, and validation counts them.
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new().mistakes(Mistakes {
        ignore_schema: true,
        dangling: 0.5,
        ..mistakes
    }))
    .await
    .unwrap();
    let ran = s.run(&fake.url(), &["--relations", "two-pass"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let d = drops(&s.out);
    assert!(d["dangling_endpoint"].as_u64().unwrap() > 0, "{d}");
    assert!(d["signature"].as_u64().unwrap() > 0, "{d}");
    assert!(s.relation_types().iter().all(in_signature));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_drop_relations_outside_them_and_count_the_drops() {
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    // Joint: the fake types relations without regard to signatures.
    let ran = s.run(&fake.url(), &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let d = drops(&s.out);
    assert!(d["signature"].as_u64().unwrap() > 0, "{d}");
    let joint = s.relation_types();
    assert!(joint.iter().all(in_signature), "{joint:?}");
    assert!(ran.stderr.contains("signature"), "{}", ran.stderr);
    // Two-pass: the schema offers only the allowed endpoints, nothing is dropped, and at
    // least as many relations survive.
    let s2 = setup();
    let ran = s2.run(&fake.url(), &["--relations", "two-pass"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(drops(&s2.out)["signature"], 0);
    assert!(s2.relation_types().len() >= joint.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pass_resumes_and_gleans_and_switching_mode_extracts_again() {
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let ran = s
        .run(&fake.url(), &["--relations", "two-pass", "--gleaning", "1"])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&s.out);
    assert!(
        rep["gleaning"]["requests"].as_u64().unwrap() > 0,
        "{}",
        rep["gleaning"]
    );
    let first = s.relation_types();
    assert!(!first.is_empty());
    let sent = fake.stats().chat_requests;
    // The same command again: every chunk is in the checkpoint.
    let ran = s
        .run(&fake.url(), &["--relations", "two-pass", "--gleaning", "1"])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(fake.stats().chat_requests, sent);
    assert_eq!(s.relation_types(), first);
    // Another mode has other chunk keys: extracted again, one request per chunk.
    let ran = s.run(&fake.url(), &["--relations", "joint"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(fake.stats().chat_requests, sent + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_signature_exits_2_naming_the_file_and_line_before_any_request() {
    let s = setup();
    let tax = s.prompts.join("taxonomy.toml");
    let text = std::fs::read_to_string(&tax)
        .unwrap()
        .replace("target = ['PLACE']", "target = ['CITY']");
    std::fs::write(&tax, &text).unwrap();
    let line = text.lines().position(|l| l.contains("CITY")).unwrap() + 1;
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let ran = s.run(&fake.url(), &["--relations", "two-pass"]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("taxonomy.toml"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!("line {line}")),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("CITY"), "{}", ran.stderr);
    assert_eq!(fake.stats().chat_requests, 0);
    // An empty list is refused the same way.
    std::fs::write(&tax, text.replace("target = ['CITY']", "target = []")).unwrap();
    let ran = s.run(&fake.url(), &[]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("empty target list"), "{}", ran.stderr);
    assert_eq!(fake.stats().chat_requests, 0);
}

impl Setup {
    /// `batch export --relations MODE` of the corpus into `out`, requests into `file`.
    async fn export_batch(&self, url: &str, out: &Path, file: &Path, mode: &str) -> Ran {
        run(&[
            "batch",
            "export",
            self.corpus.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--batch",
            file.to_str().unwrap(),
            "--vllm-url",
            url,
            "--prompts",
            self.prompts.to_str().unwrap(),
            "--chunk-tokens",
            "400",
            "--relations",
            mode,
        ])
        .await
    }

    fn file(&self, name: &str) -> PathBuf {
        self._tmp.path().join(name)
    }

    /// A successful `batch export --relations MODE` into a new `--out` named `tag`, its
    /// requests in `{tag}.jsonl`: (out, requests).
    async fn exported(&self, url: &str, tag: &str, mode: &str) -> (PathBuf, PathBuf) {
        let (out, requests) = (self.file(tag), self.file(&format!("{tag}.jsonl")));
        let ex = self.export_batch(url, &out, &requests, mode).await;
        assert_eq!(ex.code, 0, "{}", ex.stderr);
        (out, requests)
    }

    /// `exported` in two-pass mode, its requests then run as a batch against `url`:
    /// (out, requests, results).
    async fn answered(&self, url: &str, tag: &str) -> (PathBuf, PathBuf, PathBuf) {
        let (out, requests) = self.exported(url, tag, "two-pass").await;
        let results = self.file(&format!("{tag}-results.jsonl"));
        crate::batch::run_batch(std::slice::from_ref(&requests), url, &results).await;
        (out, requests, results)
    }
}

async fn import(results: &Path, out: &Path) -> Ran {
    run(&[
        "batch",
        "import",
        results.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .await
}

fn ids(p: &Path) -> Vec<String> {
    read_jsonl(p)
        .iter()
        .map(|r| r["custom_id"].as_str().unwrap().to_string())
        .collect()
}

/// Two rounds of batch files: the entities requests, then the relations requests of the
/// chunks that keep two entities or more; then `run` sends nothing and writes what a live
/// two-pass run writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_two_pass_round_trip_matches_a_live_two_pass_run() {
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let live = s.run(&url, &["--relations", "two-pass"]).await;
    assert_eq!(live.code, 0, "{}", live.stderr);
    let live_stats = fake.stats();
    assert_eq!(live_stats.chat_requests, 4);

    // Round 1: the entities pass, one request per chunk.
    let out = s.file("batch-out");
    let first = s.file("entities.jsonl");
    fake.reset_stats();
    let ex = s.export_batch(&url, &out, &first, "two-pass").await;
    assert_eq!(ex.code, 0, "{}", ex.stderr);
    assert_eq!(
        fake.stats().chat_requests,
        0,
        "export sends no chat request"
    );
    let reqs = read_jsonl(&first);
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        assert_eq!(r["custom_id"].as_str().unwrap().len(), 32);
        let props = &r["body"]["response_format"]["json_schema"]["schema"]["properties"];
        assert!(props.get("entities").is_some(), "{props}");
        assert!(
            props.get("relations").is_none(),
            "the entities pass: {props}"
        );
    }
    let info: Value =
        serde_json::from_slice(&std::fs::read(out.join("batch/export.json")).unwrap()).unwrap();
    assert_eq!(info["relations"], "two-pass");
    assert!(ex.stdout.contains("relations.jsonl"), "{}", ex.stdout);
    let results1 = s.file("entities-results.jsonl");
    crate::batch::run_batch(std::slice::from_ref(&first), &url, &results1).await;
    let im = import(&results1, &out).await;
    assert_eq!(im.code, 0, "{}\n{}", im.stdout, im.stderr);
    // b.md (one entity) and c.md (none) are finished; a.md waits for its relations.
    assert!(im.stdout.contains("2 chunks journaled"), "{}", im.stdout);
    assert!(
        im.stdout.contains("1 chunks kept two entities"),
        "{}",
        im.stdout
    );
    let second = out.join("batch/relations.jsonl");
    assert!(
        im.stdout.contains(second.to_str().unwrap()),
        "says what to run next: {}",
        im.stdout
    );
    let rel_ids = ids(&second);
    assert_eq!(
        rel_ids.len(),
        1,
        "no relations request for a chunk of < 2 entities"
    );
    assert!(rel_ids[0].ends_with("#relations"), "{rel_ids:?}");
    let rel_req = &read_jsonl(&second)[0];
    let props = &rel_req["body"]["response_format"]["json_schema"]["schema"]["properties"];
    assert!(props.get("relations").is_some(), "{props}");

    // Importing the same entities results again changes nothing.
    let ck = std::fs::read(out.join("checkpoint.jsonl")).unwrap();
    let pending = std::fs::read(out.join("batch/pending.jsonl")).unwrap();
    let second_bytes = std::fs::read(&second).unwrap();
    let again = import(&results1, &out).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("3 already"), "{}", again.stdout);
    assert_eq!(std::fs::read(out.join("checkpoint.jsonl")).unwrap(), ck);
    assert_eq!(
        std::fs::read(out.join("batch/pending.jsonl")).unwrap(),
        pending
    );
    assert_eq!(std::fs::read(&second).unwrap(), second_bytes);

    // Round 2: the relations pass.
    let results2 = s.file("relations-results.jsonl");
    crate::batch::run_batch(std::slice::from_ref(&second), &url, &results2).await;
    // The two rounds sent the live run's requests: as many, as long, answered alike.
    let batch_stats = fake.stats();
    assert_eq!(batch_stats.chat_requests, 4);
    assert_eq!(
        batch_stats.prompt_tokens_total,
        live_stats.prompt_tokens_total
    );
    assert_eq!(
        batch_stats.completion_tokens_total,
        live_stats.completion_tokens_total
    );
    let im = import(&results2, &out).await;
    assert_eq!(im.code, 0, "{}\n{}", im.stdout, im.stderr);
    assert!(im.stdout.contains("1 chunks journaled"), "{}", im.stdout);
    assert!(!im.stdout.contains("pending"), "{}", im.stdout);
    assert!(im.stdout.contains("aegis-ingest run"), "{}", im.stdout);
    assert!(!second.exists(), "no chunk waits: no relations file");
    assert!(!out.join("batch/pending.jsonl").exists());
    // Importing the relations results again is harmless.
    let ck = std::fs::read(out.join("checkpoint.jsonl")).unwrap();
    let again = import(&results2, &out).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("1 already"), "{}", again.stdout);
    assert_eq!(std::fs::read(out.join("checkpoint.jsonl")).unwrap(), ck);

    // The run resumes every chunk and writes the live run's outputs.
    fake.reset_stats();
    let after = s.run_at(&out, &url, &["--relations", "two-pass"]).await;
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(fake.stats().chat_requests, 0, "{}", after.stderr);
    for f in ["entities.jsonl", "relations.jsonl"] {
        assert_eq!(
            std::fs::read_to_string(out.join(f)).unwrap(),
            std::fs::read_to_string(s.out.join(f)).unwrap(),
            "{f} of the batch path equals the live two-pass run's"
        );
    }
    assert!(!read_jsonl(&out.join("relations.jsonl")).is_empty());
}

/// Relations results imported before their entities, for a chunk the export does not hold,
/// or into a joint export: exit 2, nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_two_pass_refuses_relations_results_without_their_entities() {
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    // A first out folder goes through round 1, giving relations requests and results.
    let (out_a, _, res_a) = s.answered(&url, "a").await;
    assert_eq!(import(&res_a, &out_a).await.code, 0);
    let rel_a = s.file("a-relations-results.jsonl");
    crate::batch::run_batch(&[out_a.join("batch/relations.jsonl")], &url, &rel_a).await;

    // The same export in another folder, its entities not imported yet.
    let (out_b, _) = s.exported(&url, "b", "two-pass").await;
    let ck = out_b.join("checkpoint.jsonl");
    let before = std::fs::read(&ck).unwrap();
    let r = import(&rel_a, &out_b).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("import the entities results first"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&ck).unwrap(), before, "nothing written");
    assert!(!out_b.join("batch/pending.jsonl").exists());

    // A relations result for a chunk the export does not hold.
    let mut lines = read_jsonl(&rel_a);
    lines[0]["custom_id"] = Value::from(format!("{}#relations", "0".repeat(32)));
    let unknown = s.file("unknown.jsonl");
    std::fs::write(&unknown, format!("{}\n", lines[0])).unwrap();
    let r = import(&unknown, &out_a).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("does not hold"), "{}", r.stderr);

    // Relations results into a joint export: the wrong pass.
    let (out_j, _) = s.exported(&url, "j", "joint").await;
    // An export record written before two-pass batches (no "relations") reads as joint.
    let record = out_j.join("batch/export.json");
    let mut info: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(info["relations"], "joint");
    info.as_object_mut().unwrap().remove("relations");
    std::fs::write(&record, info.to_string()).unwrap();
    let before = std::fs::read(out_j.join("checkpoint.jsonl")).unwrap();
    let r = import(&rel_a, &out_j).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--relations joint"), "{}", r.stderr);
    // And the entities results of the two-pass export: another export's chunks.
    let r = import(&res_a, &out_j).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("another export"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(out_j.join("checkpoint.jsonl")).unwrap(),
        before
    );
}

/// An import stopped between its writes (the checkpoint synced, the pending and relations
/// files not yet rewritten) leaves files that the same import, run again, completes:
/// nothing lost, nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_two_pass_import_again_after_a_crash_between_its_writes() {
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let (out, _, res1) = s.answered(&url, "c").await;
    assert_eq!(import(&res1, &out).await.code, 0);
    let (pending, second) = (
        out.join("batch/pending.jsonl"),
        out.join("batch/relations.jsonl"),
    );
    let (pending_bytes, second_bytes) = (
        std::fs::read(&pending).unwrap(),
        std::fs::read(&second).unwrap(),
    );
    let ck = std::fs::read(out.join("checkpoint.jsonl")).unwrap();
    // Stopped before the pending file was written: the chunk waiting is not lost.
    std::fs::remove_file(&pending).unwrap();
    std::fs::remove_file(&second).unwrap();
    let again = import(&res1, &out).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(std::fs::read(&pending).unwrap(), pending_bytes);
    assert_eq!(std::fs::read(&second).unwrap(), second_bytes);
    assert_eq!(std::fs::read(out.join("checkpoint.jsonl")).unwrap(), ck);

    // Stopped after journaling the relations, before the pending file was rewritten: the
    // chunk is not journaled twice and leaves the pending file.
    let res2 = s.file("c-relations-results.jsonl");
    crate::batch::run_batch(std::slice::from_ref(&second), &url, &res2).await;
    assert_eq!(import(&res2, &out).await.code, 0);
    let ck = std::fs::read(out.join("checkpoint.jsonl")).unwrap();
    std::fs::write(&pending, &pending_bytes).unwrap();
    std::fs::write(&second, &second_bytes).unwrap();
    let again = import(&res2, &out).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("1 already"), "{}", again.stdout);
    assert_eq!(std::fs::read(out.join("checkpoint.jsonl")).unwrap(), ck);
    assert!(!pending.exists() && !second.exists());
    fake.reset_stats();
    let after = s.run_at(&out, &url, &["--relations", "two-pass"]).await;
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(fake.stats().chat_requests, 0);
}

/// Failed answers of either pass: exit 1, the request of the pass that failed in the retry
/// file, kept there until answered, which run as a batch and imported finishes the chunks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_two_pass_failed_answers_go_to_the_retry_file() {
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let (out, first, res1) = s.answered(&url, "e").await;
    // The entities answer for b.md's chunk is not JSON.
    let exported = read_jsonl(&first);
    let zed = exported
        .iter()
        .find(|r| {
            r["body"]["messages"][1]["content"]
                .as_str()
                .unwrap()
                .contains("Zed")
        })
        .unwrap();
    let mut lines = read_jsonl(&res1);
    let at = lines
        .iter()
        .position(|r| r["custom_id"] == zed["custom_id"])
        .unwrap();
    lines[at]["response"]["body"]["choices"][0]["message"]["content"] =
        Value::from("{\"entities\": [oops");
    let text: String = lines.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&res1, text).unwrap();
    let im = import(&res1, &out).await;
    assert_eq!(im.code, 1, "{}\n{}", im.stdout, im.stderr);
    assert!(im.stdout.contains("1 failed"), "{}", im.stdout);
    let retry = out.join("batch/retry.jsonl");
    assert_eq!(
        read_jsonl(&retry),
        vec![zed.clone()],
        "the retry file holds the exported entities request"
    );
    let second = out.join("batch/relations.jsonl");
    let waiting = std::fs::read(&second).unwrap();
    // The same results again: the same failure, once in the retry file; the waiting chunk
    // keeps its relations request.
    let im = import(&res1, &out).await;
    assert_eq!(im.code, 1, "{}\n{}", im.stdout, im.stderr);
    assert_eq!(read_jsonl(&retry), vec![zed.clone()]);
    assert_eq!(std::fs::read(&second).unwrap(), waiting);

    // The relations answer fails too: its request joins the entities request, still
    // unanswered, in the retry file (and leaves the relations file).
    let sent = read_jsonl(&second);
    let res2 = s.file("r-results.jsonl");
    crate::batch::run_batch(std::slice::from_ref(&second), &url, &res2).await;
    let mut lines = read_jsonl(&res2);
    lines[0]["response"]["body"]["choices"][0]["message"]["content"] =
        Value::from("{\"relations\": [oops");
    std::fs::write(&res2, format!("{}\n", lines[0])).unwrap();
    let im = import(&res2, &out).await;
    assert_eq!(im.code, 1, "{}\n{}", im.stdout, im.stderr);
    assert!(im.stdout.contains("1 failed"), "{}", im.stdout);
    assert!(
        im.stdout.contains("1 of them failed in an earlier import"),
        "{}",
        im.stdout
    );
    assert_eq!(
        read_jsonl(&retry),
        vec![sent[0].clone(), zed.clone()],
        "the retry file holds the relations request and the entities request"
    );
    assert!(
        !second.exists(),
        "the failed request is in the retry file only"
    );
    let res3 = s.file("retry-results.jsonl");
    crate::batch::run_batch(std::slice::from_ref(&retry), &url, &res3).await;
    let im = import(&res3, &out).await;
    assert_eq!(im.code, 0, "{}\n{}", im.stdout, im.stderr);
    assert!(im.stdout.contains("2 chunks journaled"), "{}", im.stdout);
    assert!(!retry.exists(), "nothing left to retry");
    fake.reset_stats();
    let after = s.run_at(&out, &url, &["--relations", "two-pass"]).await;
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(fake.stats().chat_requests, 0);
    assert!(!read_jsonl(&out.join("relations.jsonl")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pass_through_ollamas_format_schema() {
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new().api(fake_engine::Api::Ollama).mistakes(
        Mistakes {
            dangling: 1.0,
            ..Mistakes::default()
        },
    ))
    .await
    .unwrap();
    let ran = run(&[
        "run",
        s.corpus.to_str().unwrap(),
        "--out",
        s.out.to_str().unwrap(),
        "--no-vllm",
        "--ollama-url",
        &fake.url(),
        "--ollama-model",
        "fake-model",
        "--prompts",
        s.prompts.to_str().unwrap(),
        "--chunk-tokens",
        "400",
        "--relations",
        "two-pass",
    ])
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(fake.stats().requests("/api/chat"), 4);
    let rels = s.relation_types();
    assert!(
        !rels.is_empty() && rels.iter().all(in_signature),
        "{rels:?}"
    );
    // The endpoint enums reached the engine in `format`: no dangling endpoint.
    assert_eq!(drops(&s.out)["dangling_endpoint"], 0);
}

/// A model whose answers outgrow a small output budget: in two-pass mode too, a cut-off
/// answer keeps its complete records and the bounds shrink, nothing fails, and no chunk
/// costs more than `--max-requests-per-chunk` requests over both passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pass_shrinks_the_bounds_within_the_chunk_budget() {
    let c = case(3, 4);
    let fake = FakeEngine::start(FakeConfig::new().fills_schema(0.5))
        .await
        .unwrap();
    let url = fake.url();
    let ran = run(&c.args(
        &url,
        &[
            "--relations",
            "two-pass",
            "--max-output-tokens",
            "300",
            "--max-requests-per-chunk",
            "4",
        ],
    ))
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    let chunks = rep["chunks"]["total"].as_u64().unwrap();
    assert_eq!(rep["chunks"]["failed"], 0, "{rep}");
    assert!(
        rep["chunks"]["bounds_shrunk"].as_u64().unwrap() >= chunks,
        "{rep}"
    );
    assert!(rep["entities"].as_u64().unwrap() > 0, "{rep}");
    let requests = fake.stats().chat_requests;
    assert!(
        requests > chunks && requests <= 4 * chunks,
        "{requests} requests for {chunks} chunks"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relations_mode_comes_from_the_settings_file() {
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let file = s._tmp.path().join("aegis.toml");
    std::fs::write(&file, "relations = \"two-pass\"\n").unwrap();
    let ran = s
        .run(&fake.url(), &["--config", file.to_str().unwrap()])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        fake.stats().chat_requests,
        4,
        "entities for 3 chunks, relations for 1"
    );
    assert_eq!(report(&s.out)["settings"]["relations"], "two-pass");
}

/// `--relations repair`: joint first, then the relations request of two-pass only for a
/// chunk whose answer lost relations to an endpoint outside its entities; the endpoints
/// the schema then offers are the entities kept, so the relations come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_asks_relations_again_only_where_the_joint_answer_lost_endpoints() {
    // An engine that makes no mistake: nothing lost, one request a chunk, as joint.
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let ran = s.run(&fake.url(), &["--relations", "repair"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(fake.stats().chat_requests, 3);
    assert!(report(&s.out)["chunks"]["repaired"].is_null());
    assert!(!s.relation_types().is_empty());

    // Every endpoint of a joint answer's relations dangles: joint keeps none of them.
    let mistakes = Mistakes {
        dangling: 1.0,
        ..Mistakes::default()
    };
    let fake = FakeEngine::start(FakeConfig::new().mistakes(mistakes))
        .await
        .unwrap();
    let joint = setup();
    let ran = joint.run(&fake.url(), &["--relations", "joint"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(drops(&joint.out)["dangling_endpoint"].as_u64().unwrap() > 0);
    assert!(joint.relation_types().is_empty());
    let before = fake.stats().chat_requests;

    // Repair: a.md (many names) is asked for its relations again and gets them; b.md (one
    // name) and c.md (none) are not.
    let s = setup();
    let ran = s.run(&fake.url(), &["--relations", "repair"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(fake.stats().chat_requests - before, 4);
    let rep = report(&s.out);
    assert_eq!(rep["chunks"]["repaired"], 1, "{}", rep["chunks"]);
    assert_eq!(rep["chunks"]["partial"], 0);
    let rels = s.relation_types();
    assert!(!rels.is_empty());
    assert!(rels.iter().all(in_signature), "{rels:?}");
    // The joint answer's losses stay counted.
    assert!(drops(&s.out)["dangling_endpoint"].as_u64().unwrap() > 0);

    // The mode is part of the chunk keys: a rerun resumes, switching extracts again.
    let ran = s.run(&fake.url(), &["--relations", "repair"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(report(&s.out)["chunks"]["resumed"], 3);
    let ran = s.run(&fake.url(), &["--relations", "joint"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(report(&s.out)["chunks"]["resumed"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_export_refuses_repair_with_exit_2() {
    let s = setup();
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let batch = s.out.with_file_name("requests.jsonl");
    let ran = s.export_batch(&url, &s.out, &batch, "repair").await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("--relations repair"), "{}", ran.stderr);
    assert_eq!(fake.stats().chat_requests, 0);
    assert!(!batch.exists());
}
