//! The one place that decides exit codes. Stages return a typed `RunError` (what kind of
//! problem, in one sentence that says what to do next); `main` maps it to its code. Any
//! other error reaching `main` is an unexpected failure, reported with exit code 2.
//! ARCHITECTURE.md lists the codes.

use std::path::{Path, PathBuf};

/// Exit codes of the command-line contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything extracted (skipped-for-a-reason documents count as done).
    Done = 0,
    /// Finished, but some documents or chunks failed; a rerun retries them.
    SomeFailed = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// Stopped because no engine was available within `--engine-wait`.
    NoEngine = 3,
    /// Interrupted by a signal; progress kept.
    Interrupted = 130,
}

/// Errors that end a command, each with a sentence for the user. The variant says what
/// kind of problem it is (tests assert it); the exit code follows from the variant.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A flag, a setting (command line, environment, `aegis.toml`), a prompt file or a
    /// taxonomy the user must fix.
    #[error("{0}")]
    Usage(String),
    /// CORPUS is missing, not a folder, or cannot be listed.
    #[error("{0}")]
    Corpus(String),
    /// `--out` cannot be used: not creatable, locked by a running run, holding no finished
    /// run (or another kind of files), or an export that would overwrite the run's files.
    #[error("{0}")]
    OutDir(String),
    /// Reading or writing a named file failed (disk full, permissions, a removed folder).
    #[error("{msg}")]
    Io {
        path: PathBuf,
        kind: std::io::ErrorKind,
        msg: String,
    },
    /// An engine is set up wrong (key, certificate, model not served, endpoints that
    /// disagree): retrying cannot help.
    #[error("{0}")]
    Engine(String),
    /// No engine answered within `--engine-wait`.
    #[error("{0}")]
    NoEngine(String),
    /// The checkpoint (or a file of a finished run) is damaged beyond what is recovered
    /// automatically, or belongs to another version.
    #[error("{0}")]
    Checkpoint(String),
    /// The run was interrupted; what was kept has been written.
    #[error("{0}")]
    Interrupted(String),
}

impl RunError {
    pub fn usage(msg: impl std::fmt::Display) -> Self {
        RunError::Usage(msg.to_string())
    }

    pub fn corpus(msg: impl std::fmt::Display) -> Self {
        RunError::Corpus(msg.to_string())
    }

    pub fn out_dir(msg: impl std::fmt::Display) -> Self {
        RunError::OutDir(msg.to_string())
    }

    pub fn engine(msg: impl std::fmt::Display) -> Self {
        RunError::Engine(msg.to_string())
    }

    pub fn checkpoint(msg: impl std::fmt::Display) -> Self {
        RunError::Checkpoint(msg.to_string())
    }

    /// I/O on `path` failed with `err`; `msg` is the whole sentence (naming the path and
    /// what to do).
    pub fn io(path: &Path, err: &std::io::Error, msg: impl std::fmt::Display) -> Self {
        RunError::Io {
            path: path.to_path_buf(),
            kind: err.kind(),
            msg: msg.to_string(),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            RunError::Usage(_)
            | RunError::Corpus(_)
            | RunError::OutDir(_)
            | RunError::Io { .. }
            | RunError::Engine(_)
            | RunError::Checkpoint(_) => ExitCode::Usage,
            RunError::NoEngine(_) => ExitCode::NoEngine,
            RunError::Interrupted(_) => ExitCode::Interrupted,
        }
    }
}

/// Exit code for any error reaching `main`: typed ones carry theirs; anything else is an
/// I/O or internal failure, reported as a configuration-class error (code 2) because the
/// user has to act (disk full, permissions on --out, ...).
pub fn exit_code_of(err: &anyhow::Error) -> ExitCode {
    match err.downcast_ref::<RunError>() {
        Some(e) => e.exit_code(),
        None => ExitCode::Usage,
    }
}
