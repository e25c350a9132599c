//! Stopping and printing when nobody reads (issue 20): a SIGTERM still stops a run whose
//! stderr pipe was closed; a reader that goes away (`| head -1`) ends a command quietly
//! with its own exit code, never a panic (101); a SIGTERM with nothing in flight exits at
//! once; log lines written to a file carry no colour codes.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fake_engine::{FakeConfig, FakeEngine, Fault, FaultRule};

use crate::support::*;

/// Reads stderr lines until one contains `what` (panics if the stream ends first), then
/// keeps reading the rest, so the stream stays open.
async fn wait_for_line(stderr: tokio::process::ChildStderr, what: &'static str) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains(what) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "no line with {what:?} on stderr");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
}

/// Sends `signal` to the child and waits (at most 30 s) for it to exit: its exit code and
/// how long it took.
async fn signal_and_wait(mut child: tokio::process::Child, signal: i32) -> (i32, Duration) {
    let sent = Instant::now();
    unsafe { libc::kill(child.id().unwrap() as i32, signal) };
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the run stops by itself")
        .unwrap();
    (status.code().unwrap_or(-1), sent.elapsed())
}

/// Stderr to a pipe whose read end is closed, requests in flight that never end: SIGTERM
/// still stops the run after the grace (2 s), exit 130, with what was answered written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_run_whose_stderr_reader_is_gone() {
    let c = case(6, 5);
    let fake = FakeEngine::start(
        FakeConfig::new().fault(FaultRule::text_contains(Fault::Hang, "Companydoc1para")),
    )
    .await
    .unwrap();
    let url = fake.url();
    let mut child = command(&c.args(&url, &["--concurrency", "16", "--stop-grace", "2"]))
        .env("RUST_LOG", "info")
        .env("AEGIS_PROGRESS_SECS", "0")
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let mut waited = 0;
    while !(fake.stats().served_ok >= 25 && fake.stats().in_flight >= 5) {
        assert!(
            waited < 600,
            "the run never reached 25 answers and 5 hanging"
        );
        waited += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, took) = signal_and_wait(child, libc::SIGTERM).await;
    assert_eq!(code, 130);
    assert!(took < Duration::from_secs(4), "stopped {took:?} after it");
    let rep = report(&c.out);
    assert_eq!(rep["status"], "interrupted");
    assert_eq!(rep["chunks"]["extracted_now"].as_u64(), Some(25));
    check_outputs(&c.out);
}

/// With no request in flight (the only engine is not up, `--engine-wait` long), the first
/// SIGTERM has nothing to wait for: exit 130 at once, with the report written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_nothing_in_flight_exits_at_once() {
    let c = case(3, 2);
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let mut child = command(&c.args(&dead, &["--engine-wait", "120", "--stop-grace", "10"]))
        .env("RUST_LOG", "info")
        .env("AEGIS_PROGRESS_SECS", "0")
        .spawn()
        .unwrap();
    // The line that says it waits for an engine comes once the run dispatches (signals
    // are handled by then).
    wait_for_line(child.stderr.take().unwrap(), "waiting for an engine").await;
    let (code, took) = signal_and_wait(child, libc::SIGTERM).await;
    assert_eq!(code, 130);
    assert!(took < Duration::from_secs(1), "stopped {took:?} after it");
    assert_eq!(report(&c.out)["status"], "interrupted");
}

/// Runs `args` with stdout (and with `and_stderr`, stderr too: `2>&1`) to a pipe of which
/// `lines` lines are read before its read end is closed, as `| head -1` does; gives the
/// exit code.
async fn reader_gone(args: &[&str], lines: usize, and_stderr: bool) -> i32 {
    let (reader, writer) = std::io::pipe().unwrap();
    let mut cmd = command(args);
    cmd.env("RUST_LOG", "info");
    if and_stderr {
        cmd.stderr(Stdio::from(writer.try_clone().unwrap()));
    } else {
        cmd.stderr(Stdio::null());
    }
    cmd.stdout(Stdio::from(writer));
    let mut child = cmd.spawn().unwrap();
    // The parent's copies of the write end go with the command.
    drop(cmd);
    tokio::task::spawn_blocking(move || {
        let mut r = BufReader::new(reader);
        for _ in 0..lines {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
        }
    })
    .await
    .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .unwrap_or_else(|_| panic!("{args:?} did not end after its reader left"))
        .unwrap();
    status.code().unwrap_or(-1)
}

/// `| head -1`, or a reader gone before the first line: every command that prints ends
/// quietly with its own exit code, and its files are intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_goes_away_ends_commands_with_their_own_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gold");
    let (corpus, gold) = (root.join("corpus"), root.join("gold.jsonl"));
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let (corpus, gold, out) = (
        corpus.to_str().unwrap(),
        gold.to_str().unwrap(),
        out_dir.to_str().unwrap(),
    );
    let fake = FakeEngine::start(FakeConfig::new().latency(40, 0.0))
        .await
        .unwrap();
    let url = fake.url();
    let run_args = [
        "run",
        corpus,
        "--out",
        out,
        "--vllm-url",
        &url,
        "--no-ollama",
        "--concurrency",
        "4",
    ];
    for lines in [0, 1] {
        std::fs::remove_dir_all(&out_dir).ok();
        let code = reader_gone(&run_args, lines, true).await;
        assert_eq!(code, 0, "run 2>&1, {lines} line(s) read");
        assert_eq!(report(&out_dir)["status"], "done");
        check_outputs(&out_dir);
    }
    let commands: [&[&str]; 5] = [
        &["status", "--out", out],
        &["eval", "--gold", gold, "--out", out],
        &["config", "--concurrency", "8"],
        &["completions", "bash"],
        &["export", "--out", out, "--to", "cypher", "--dest", "-"],
    ];
    for args in commands {
        // The command's own code, with a reader that stays.
        let normal = run(args).await;
        assert!(
            normal.stdout.lines().count() > 1,
            "{args:?} prints lines: {}",
            normal.stderr
        );
        for lines in [0, 1] {
            let code = reader_gone(args, lines, false).await;
            assert_eq!(code, normal.code, "{args:?}, {lines} line(s) read");
        }
    }
    assert_eq!(
        report(&out_dir)["status"],
        "done",
        "the run's files are intact"
    );
    assert!(out_dir.join("eval.json").is_file());
}

/// Log lines to a file (not a terminal) carry no ANSI colour codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_to_a_file_carry_no_colour_codes() {
    let c = case(2, 2);
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let log = c.tmp.path().join("run.log");
    let mut cmd = command(&c.args(&url, &[]));
    cmd.env("RUST_LOG", "info")
        .env("AEGIS_PROGRESS_SECS", "0")
        .stderr(std::fs::File::create(&log).unwrap());
    let status = cmd.status().await.unwrap();
    assert_eq!(status.code(), Some(0));
    let text = std::fs::read(&log).unwrap();
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("INFO"), "log lines were written: {text}");
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in the log: {text:?}"
    );
}
