//! The one place that decides exit codes. Stages return typed errors; `main` maps a
//! `RunError` to its code, everything else (`anyhow`) is an unexpected failure (exit 2
//! would lie about the cause, so those are reported as internal errors with code 2 only
//! when they are configuration problems, see `ExitCode`).

use std::fmt;

/// Exit codes of the command-line contract (DESIGN.md).
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

/// Errors that end a command with a specific exit code and a sentence for the user.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Something the user must fix in flags, paths, prompts or engine setup.
    #[error("{0}")]
    Config(String),
    /// No engine answered within `--engine-wait`.
    #[error("{0}")]
    NoEngine(String),
    /// The run was interrupted; what was kept has been written.
    #[error("{0}")]
    Interrupted(String),
}

impl RunError {
    pub fn config(msg: impl fmt::Display) -> Self {
        RunError::Config(msg.to_string())
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            RunError::Config(_) => ExitCode::Usage,
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
