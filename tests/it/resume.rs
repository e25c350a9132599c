//! Checkpoint and resume: rerun = resume, corpus edits, prompt and model changes, Ctrl-C,
//! the lock on --out, and `status`.

use std::time::Duration;

use fake_engine::{FakeConfig, FakeEngine, FakeHandle, Fault, FaultRule};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_sends_nothing_and_edits_redo_only_what_changed() {
    let c = case(6, 4);
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    assert_eq!(run(&c.args(&url, &[])).await.code, 0);
    let first = fake.stats().chat_requests;
    let total = report(&c.out)["chunks"]["total"].as_u64().unwrap();
    assert_eq!(first, total);

    // Unchanged corpus: zero requests, same outputs.
    let before = std::fs::read_to_string(c.out.join("entities.jsonl")).unwrap();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        fake.stats().chat_requests,
        first,
        "a rerun with nothing changed sends nothing"
    );
    assert!(
        std::fs::read_to_string(c.out.join("entities.jsonl")).unwrap() == before,
        "outputs changed on a rerun"
    );
    assert_eq!(report(&c.out)["chunks"]["resumed"], total);

    // Change one paragraph of one document, add one, delete one.
    let changed = c.corpus.join("part1/doc001.md");
    let text = std::fs::read_to_string(&changed)
        .unwrap()
        .replace("Companydoc1para2", "Renamedcorp");
    std::fs::write(&changed, text).unwrap();
    std::fs::write(
        c.corpus.join("part0/new.md"),
        "Freshco opened an office in Newtown.\n",
    )
    .unwrap();
    std::fs::remove_file(c.corpus.join("part2/doc002.md")).unwrap();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let sent = fake.stats().chat_requests - first;
    assert_eq!(
        sent, 2,
        "only the changed chunk and the new document are extracted"
    );
    let got = entities_by_doc(&read_jsonl(&c.out.join("entities.jsonl")));
    assert_eq!(got, expected_entities(&c.corpus, 60, 0));
    assert!(
        !got.contains_key("part2/doc002.md"),
        "deleted document dropped out"
    );
    let all: Vec<String> = got.values().flatten().cloned().collect();
    assert!(
        all.contains(&"Renamedcorp".to_string()) && !all.contains(&"Companydoc1para2".to_string())
    );
    check_outputs(&c.out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_or_model_change_redoes_the_work_and_says_so() {
    let c = case(3, 3);
    let fake = FakeEngine::start(FakeConfig::new().model("model-a"))
        .await
        .unwrap();
    let url = fake.url();
    assert_eq!(run(&c.args(&url, &[])).await.code, 0);
    let n = fake.stats().chat_requests;

    // A copy of the prompts with one line changed.
    let prompts = c.tmp.path().join("prompts");
    std::fs::create_dir(&prompts).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/general");
    for f in ["taxonomy.toml", "system.j2", "user.j2"] {
        std::fs::copy(src.join(f), prompts.join(f)).unwrap();
    }
    let sys = std::fs::read_to_string(prompts.join("system.j2")).unwrap() + "\nBe precise.\n";
    std::fs::write(prompts.join("system.j2"), sys).unwrap();
    let p = prompts.to_str().unwrap();
    let ran = run(&c.args(&url, &["--prompts", p])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        fake.stats().chat_requests,
        2 * n,
        "every chunk redone with the new prompt"
    );
    assert!(
        ran.stderr.contains("prompts or taxonomy changed"),
        "{}",
        ran.stderr
    );

    // Another model behind the same URL: redone, never mixed.
    let other = FakeEngine::start(FakeConfig::new().model("model-b"))
        .await
        .unwrap();
    let ou = other.url();
    let ran = run(&c.args(&ou, &["--prompts", p])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(other.stats().chat_requests, n);
    assert_eq!(report(&c.out)["settings"]["stale_results_redone"], n);
}

/// Starts a run (`--concurrency 4`) and sends it SIGINT once the fake has answered 4
/// requests (start-up time varies on a loaded machine). Returns the child and its pid.
async fn start_then_interrupt(c: &Case, fake: &FakeHandle) -> (tokio::process::Child, i32) {
    let url = fake.url();
    let child = command(&c.args(&url, &["--concurrency", "4"]))
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if fake.stats().served_ok >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().unwrap() as i32;
    unsafe { libc::kill(pid, libc::SIGINT) };
    (child, pid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_exits_130_keeps_work_and_resume_completes() {
    let c = case(20, 5);
    let fake = FakeEngine::start(FakeConfig::new().latency(150, 0.0))
        .await
        .unwrap();
    let url = fake.url();
    let (child, _) = start_then_interrupt(&c, &fake).await;
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("rerun the same command"), "{stderr}");
    let rep = report(&c.out);
    assert_eq!(rep["status"], "interrupted");
    let served = fake.stats().served_ok;
    assert!(served > 0);

    let ran = run(&c.args(&url, &["--concurrency", "4"])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    let total = rep["chunks"]["total"].as_u64().unwrap();
    // In-flight requests finished within the grace period and were kept: nothing re-sent.
    assert_eq!(
        fake.stats().served_ok,
        total,
        "served {} before, {} in all, {} chunks",
        served,
        fake.stats().served_ok,
        total
    );
    assert_eq!(
        entities_by_doc(&read_jsonl(&c.out.join("entities.jsonl"))),
        expected_entities(&c.corpus, 60, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_exits_at_once_and_loses_nothing_done() {
    let c = case(20, 5);
    // Every third request hangs: after the first Ctrl-C the run would wait out its grace
    // period (10 s) for them.
    let fake = FakeEngine::start(
        FakeConfig::new()
            .latency(50, 0.0)
            .fault(FaultRule::every_nth(Fault::Hang, 3)),
    )
    .await
    .unwrap();
    let (child, pid) = start_then_interrupt(&c, &fake).await;
    let wait = tokio::spawn(child.wait_with_output());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        !wait.is_finished(),
        "hanging requests hold the first Ctrl-C's grace period"
    );
    let second = std::time::Instant::now();
    unsafe { libc::kill(pid, libc::SIGINT) };
    let out = tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("the second Ctrl-C exits at once")
        .unwrap()
        .unwrap();
    assert!(second.elapsed() < Duration::from_secs(3));
    assert_eq!(out.status.code(), Some(130));
    let served = fake.stats().served_ok;
    assert!(served >= 4);

    // Everything answered before the exit was kept: the rerun sends only the rest.
    let clean = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let ran = run(&c.args(&clean.url(), &["--concurrency", "4"])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let total = report(&c.out)["chunks"]["total"].as_u64().unwrap();
    assert_eq!(
        clean.stats().served_ok + served,
        total,
        "{served} answered before the exit"
    );
    assert_eq!(
        entities_by_doc(&read_jsonl(&c.out.join("entities.jsonl"))),
        expected_entities(&c.corpus, 60, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_write_that_fails_stops_the_run_and_keeps_what_was_written() {
    let c = case(20, 5);
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    // The disk "fills up" part-way: no file of this run may grow past 24 KiB, so the
    // checkpoint's writes start failing (EFBIG) after a dozen records.
    const LIMIT: u64 = 24 * 1024;
    let mut cmd = command(&c.args(&url, &["--concurrency", "2"]));
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Writes past the limit then fail with EFBIG instead of killing the process.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("checkpoint") && stderr.contains("finished work up to the failure"),
        "{stderr}"
    );
    let size = std::fs::metadata(c.out.join("checkpoint.jsonl"))
        .unwrap()
        .len();
    assert!(size <= LIMIT && size > 1024, "checkpoint of {size} bytes");

    // Rerun with room: the records written before the failure are kept (a torn last line
    // is cut), only the rest is sent.
    let clean = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let ran = run(&c.args(&clean.url(), &["--concurrency", "2"])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    let total = rep["chunks"]["total"].as_u64().unwrap();
    let resumed = rep["chunks"]["resumed"].as_u64().unwrap();
    assert!(resumed >= 5, "{resumed} resumed");
    assert_eq!(clean.stats().served_ok, total - resumed);
    assert!(fake.stats().served_ok >= resumed);
    assert_eq!(
        entities_by_doc(&read_jsonl(&c.out.join("entities.jsonl"))),
        expected_entities(&c.corpus, 60, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_the_same_out_is_refused() {
    let c = case(10, 4);
    let fake = FakeEngine::start(FakeConfig::new().latency(300, 0.0))
        .await
        .unwrap();
    let url = fake.url();
    let first = command(&c.args(&url, &["--concurrency", "2"]))
        .spawn()
        .unwrap();
    // Wait until the first run holds the folder (it sends requests only once it has the lock).
    for _ in 0..400 {
        if fake.stats().chat_requests > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("another aegis-ingest run") && ran.stderr.contains("--out"),
        "{}",
        ran.stderr
    );
    assert!(ran.elapsed < Duration::from_secs(5));
    drop(first); // kill_on_drop: SIGKILL; the kernel releases its lock
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(
        ran.code, 0,
        "a killed run's lock does not block: {}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_pending_work_and_the_resume_command() {
    let c = case(4, 4);
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let o = c.out.to_str().unwrap();
    let ran = run(&["status", "--out", o]).await;
    assert_eq!(ran.code, 2, "no checkpoint yet: {}", ran.stderr);
    assert_eq!(run(&c.args(&url, &[])).await.code, 0);
    let ran = run(&["status", "--out", o]).await;
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("0 pending") && ran.stdout.contains("complete"),
        "{}",
        ran.stdout
    );
    // A new document: one pending chunk and the command to resume.
    std::fs::write(c.corpus.join("late.md"), "Latecorp arrived.\n").unwrap();
    let ran = run(&["status", "--out", o]).await;
    assert_eq!(ran.code, 1);
    assert!(
        ran.stdout.contains("1 pending")
            && ran.stdout.contains("resume with:")
            && ran.stdout.contains("run"),
        "{}",
        ran.stdout
    );
}

/// A finished run over `docs` aged documents of `paras` paragraphs: the case, its fake
/// engine and the engine's URL.
async fn finished_aged_run(docs: usize, paras: usize) -> (Case, fake_engine::FakeHandle, String) {
    let c = case(docs, paras);
    age_files(&c.corpus);
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    (c, fake, url)
}

/// Sets every file under `dir` to a modification time in the past (as files are that were
/// not just written).
fn age_files(dir: &std::path::Path) {
    touch_all(dir, "2020-01-01 00:00:00");
}

/// Gives every file under `dir` the modification time `when` (`touch -d`).
fn touch_all(dir: &std::path::Path, when: &str) {
    let st = std::process::Command::new("find")
        .arg(dir)
        .args(["-type", "f", "-exec", "touch", "-d", when, "{}", "+"])
        .status()
        .unwrap();
    assert!(st.success());
}

/// A rerun does not read unchanged files again: their chunk keys come from the file cache
/// (size and modification time unchanged, every chunk in the checkpoint); an edited file is
/// read and only its changed chunks are sent; the outputs are the same either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_files_are_not_read_again_on_resume() {
    let (c, fake, url) = finished_aged_run(6, 3).await;
    assert_eq!(report(&c.out)["documents"]["unchanged_not_read"], 0);
    let entities = std::fs::read(c.out.join("entities.jsonl")).unwrap();

    fake.reset_stats();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    assert_eq!(rep["documents"]["unchanged_not_read"], 6, "{rep}");
    assert_eq!(rep["chunks"]["resumed"], rep["chunks"]["total"]);
    assert_eq!(fake.stats().chat_requests, 0);
    assert!(std::fs::read(c.out.join("entities.jsonl")).unwrap() == entities);

    // Edit one document (new content, new time): it is read, its new chunk extracted.
    let doc = c.corpus.join("part1/doc001.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    std::fs::write(&doc, text.replace("Personx1y0", "Personedited")).unwrap();
    fake.reset_stats();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    assert_eq!(rep["documents"]["unchanged_not_read"], 5, "{rep}");
    assert_eq!(fake.stats().chat_requests, 1);
    let names = entities_by_doc(&read_jsonl(&c.out.join("entities.jsonl")));
    assert!(names["part1/doc001.md"].contains("Personedited"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_with_nothing_new_keeps_the_outputs_and_a_change_rewrites_them() {
    let (c, _fake, url) = finished_aged_run(5, 3).await;
    let ents = c.out.join("entities.jsonl");
    let rels = c.out.join("relations.jsonl");
    let (e0, r0) = (std::fs::read(&ents).unwrap(), std::fs::read(&rels).unwrap());
    let first = report(&c.out);
    let stamp = |p: &std::path::Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let t0 = stamp(&ents);

    // Nothing new: the outputs are not rewritten, the report says the same.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(stamp(&ents), t0, "outputs kept, not written again");
    let again = report(&c.out);
    for k in [
        "entities",
        "relations",
        "relation_types",
        "entity_types",
        "validation",
        "resolution",
    ] {
        assert_eq!(again[k], first[k], "{k}");
    }

    // An output deleted (or edited) by hand: written again, the same bytes.
    std::fs::remove_file(&rels).unwrap();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(std::fs::read(&rels).unwrap(), r0);
    std::fs::write(&ents, b"{}\n").unwrap();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(std::fs::read(&ents).unwrap(), e0);

    // Another setting of the merge (--no-resolve): merged again.
    let ran = run(&c.args(&url, &["--no-resolve"])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(report(&c.out)["resolution"].is_null());

    // A changed document: merged again, with its new entity.
    let doc = c.corpus.join("part1/doc001.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    std::fs::write(&doc, text.replace("Personx1y0", "Personedited")).unwrap();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let names = entities_by_doc(&read_jsonl(&ents));
    assert!(names["part1/doc001.md"].contains("Personedited"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_checkout_with_new_times_and_the_same_bytes_is_not_chunked_again() {
    let (c, fake, url) = finished_aged_run(4, 3).await;
    let entities = std::fs::read(c.out.join("entities.jsonl")).unwrap();

    // Every file gets another time (what `git clone` or a CI cache restore does), and one
    // file other bytes of the same size.
    let doc = c.corpus.join("part1/doc001.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    let edited = text.replace("Personx1y0", "Personz1y0");
    assert_eq!(edited.len(), text.len());
    std::fs::write(&doc, edited).unwrap();
    touch_all(&c.corpus, "2021-06-01 00:00:00");
    fake.reset_stats();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    assert_eq!(rep["documents"]["unchanged_same_bytes"], 3, "{rep}");
    assert_eq!(rep["documents"]["unchanged_not_read"], 0, "{rep}");
    assert_eq!(fake.stats().chat_requests, 1, "only the edited paragraph");
    let names = entities_by_doc(&read_jsonl(&c.out.join("entities.jsonl")));
    assert!(names["part1/doc001.md"].contains("Personz1y0"));

    // The cache now holds the new times: the next run reads nothing.
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    assert_eq!(rep["documents"]["unchanged_not_read"], 4, "{rep}");
    // And back to the first bytes: the outputs of the first run.
    std::fs::write(&doc, text).unwrap();
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        std::fs::read(c.out.join("entities.jsonl")).unwrap(),
        entities
    );
}
