//! The kind of error each bad input gives: the `RunError` variant, beside the sentence and
//! the exit code that the other tests check through the binary. The command runs
//! in-process, as `main` runs it, so the error can be looked at before it is printed.

use std::path::Path;

use aegis_ingest::cli::Cli;
use aegis_ingest::error::{ExitCode, RunError};
use clap::Parser;

use crate::support::sample_corpus;

/// Runs `aegis-ingest ARGS...` in this process; the error it ends with.
async fn error_of(args: &[&str]) -> RunError {
    let argv = std::iter::once("aegis-ingest").chain(args.iter().copied());
    let cli = Cli::try_parse_from(argv).expect("the command line parses");
    let err = aegis_ingest::execute(cli)
        .await
        .expect_err("the command fails");
    match err.downcast::<RunError>() {
        Ok(e) => e,
        Err(other) => panic!("not a RunError: {other:#}"),
    }
}

/// `run SAMPLE --out OUT` against a closed port, no Ollama, plus `extra`.
async fn run_error(out: &Path, extra: &[&str]) -> RunError {
    let corpus = sample_corpus();
    let mut args = vec![
        "run",
        corpus.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--vllm-url",
        "http://127.0.0.1:9",
        "--no-ollama",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    error_of(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_flag_value_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = run_error(&tmp.path().join("out"), &["--request-timeout", "0"]).await;
    assert!(matches!(err, RunError::Usage(_)), "{err:?}");
    assert_eq!(err.exit_code(), ExitCode::Usage);
    assert!(err.to_string().contains("--request-timeout"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_corpus_is_a_corpus_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-folder");
    let out = tmp.path().join("out");
    let err = error_of(&[
        "run",
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-ollama",
    ])
    .await;
    assert!(matches!(err, RunError::Corpus(_)), "{err:?}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!out.exists(), "nothing is created for a bad corpus");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_out_folder_in_use_is_an_out_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let _held = aegis_ingest::outdir::lock::OutLock::acquire(&out).unwrap();
    let err = run_error(&out, &[]).await;
    assert!(matches!(err, RunError::OutDir(_)), "{err:?}");
    assert!(
        err.to_string().contains("another aegis-ingest run"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_out_path_that_is_a_file_is_an_io_error_on_that_path() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("a-file");
    std::fs::write(&out, b"not a folder").unwrap();
    let err = run_error(&out, &[]).await;
    match &err {
        RunError::Io { path, .. } => assert_eq!(path, &out),
        other => panic!("expected an I/O error on {}: {other:?}", out.display()),
    }
    assert!(err.to_string().contains("cannot create --out"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_checkpoint_is_a_checkpoint_error_and_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let checkpoint = out.join(aegis_ingest::outdir::journal::FILE_NAME);
    std::fs::write(&checkpoint, b"{\"something\":\"else\"}\n").unwrap();
    let err = run_error(&out, &[]).await;
    assert!(matches!(err, RunError::Checkpoint(_)), "{err:?}");
    assert_eq!(err.exit_code(), ExitCode::Usage);
    assert_eq!(
        std::fs::read(&checkpoint).unwrap(),
        b"{\"something\":\"else\"}\n",
        "the file is left as it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_engine_within_the_wait_is_a_no_engine_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = run_error(&tmp.path().join("out"), &["--engine-wait", "1"]).await;
    assert!(matches!(err, RunError::NoEngine(_)), "{err:?}");
    assert_eq!(err.exit_code(), ExitCode::NoEngine);
}
