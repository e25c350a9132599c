//! What a new user meets on a first run (issue 20, item 7): the files in `--out` get the
//! mode the umask gives, as any other new file does, and a corpus in which the walk found
//! nothing says so, with the filters that applied, instead of a bare "done: 0 documents".

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_engine::{FakeConfig, FakeEngine};

use crate::support::*;

/// Runs the binary with `umask` set in the child, as a shell's `umask 027; aegis-ingest ...`.
async fn run_with_umask(args: &[&str], umask: libc::mode_t) -> Ran {
    let mut cmd = command(args);
    // SAFETY: umask is async-signal-safe, touches no memory and cannot fail.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(umask);
            Ok(())
        });
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("the run finishes within 60 s")
        .expect("spawn aegis-ingest");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: Duration::ZERO,
    }
}

/// Every regular file under `dir`, with its permission bits.
fn modes(dir: &Path) -> Vec<(PathBuf, u32)> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let meta = e.metadata().unwrap();
        if meta.is_dir() {
            found.extend(modes(&e.path()));
        } else {
            found.push((e.path(), meta.permissions().mode() & 0o777));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_files_follow_the_umask() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    for umask in [0o022, 0o027] {
        let c = case(3, 2);
        let ran = run_with_umask(&c.args(&url, &[]), umask).await;
        assert_eq!(ran.code, 0, "stderr: {}", ran.stderr);
        assert!(!ran.stderr.contains("nothing found"), "{}", ran.stderr);
        let files = modes(&c.out);
        for name in [
            "entities.jsonl",
            "relations.jsonl",
            "report.json",
            "run.json",
        ] {
            assert!(
                files.iter().any(|(p, _)| p.ends_with(name)),
                "{name} missing: {files:?}"
            );
        }
        let want = 0o666 & !umask;
        let wrong: Vec<_> = files.iter().filter(|(_, m)| *m != want).collect();
        assert!(
            wrong.is_empty(),
            "umask {umask:03o}: every file should be {want:03o}: {wrong:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corpus_with_nothing_to_read_is_said_with_its_filters() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = tmp.path().join("out");

    // An empty folder: exit 0 (an empty corpus is valid), and a warning naming the path.
    let ran = run_vllm(&empty, &out, &url, &[], Duration::from_secs(60)).await;
    assert_eq!(ran.code, 0, "stderr: {}", ran.stderr);
    let warning = format!("nothing found under {}", empty.display());
    assert!(ran.stderr.contains(&warning), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("no --include or --exclude filter"),
        "{}",
        ran.stderr
    );

    // Files there, but the filters leave none: the warning names them. --dry-run too.
    let c = case(2, 1);
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = c.args(&url, &["--include", "*.txt", "--exclude", "drafts/**"]);
        args.extend_from_slice(extra);
        let ran = run(&args).await;
        assert_eq!(ran.code, 0, "{extra:?} stderr: {}", ran.stderr);
        let warning = format!("nothing found under {}", c.corpus.display());
        assert!(ran.stderr.contains(&warning), "{extra:?}: {}", ran.stderr);
        assert!(
            ran.stderr
                .contains("filters: --include '*.txt' --exclude 'drafts/**'"),
            "{extra:?}: {}",
            ran.stderr
        );
    }
    assert_eq!(fake.stats().distinct_answered(), 0);
}
