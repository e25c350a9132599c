//! What surrounds a run and is generated from the same clap definitions as the command
//! line: `--version` (the build's git commit and the default prompt set's fingerprint),
//! shell completions (clap_complete) and the man pages (clap_mangen).

use std::io::Write;
use std::path::PathBuf;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{ExitCode, RunError};
use crate::prompt::{default_prompts_root, PromptSet};

/// The commit the binary was built from (`build.rs`; absent outside a git checkout).
pub const GIT_COMMIT: Option<&str> = option_env!("AEGIS_GIT_COMMIT");

/// The domain `run` uses without `--domain`/`--prompts`.
pub const DEFAULT_DOMAIN: &str = "general";

/// `aegis-ingest -V`: `0.1.0 (commit 1a2b3c4d5e6f)`.
pub fn short_version() -> String {
    format!(
        "{} (commit {})",
        env!("CARGO_PKG_VERSION"),
        GIT_COMMIT.unwrap_or("unknown")
    )
}

/// `aegis-ingest --version`: also the fingerprint of the default domain's prompt set as this
/// binary finds it now (the prompts are files read at run time, so the fingerprint is
/// computed when asked, not at build time). It is the prompt part of every chunk key: two
/// runs with the same fingerprint and model reuse each other's checkpoint.
pub fn long_version() -> String {
    let prompts = match PromptSet::load_domain(&default_prompts_root(), DEFAULT_DOMAIN) {
        Ok(p) => format!(
            "{} ({})",
            p.fingerprint,
            p.dir.canonicalize().unwrap_or(p.dir.clone()).display()
        ),
        Err(e) => format!("unavailable ({e}); set AEGIS_PROMPTS_DIR to the prompts folder"),
    };
    format!(
        "{}\ncommit: {}\nprompt fingerprint ({DEFAULT_DOMAIN}): {prompts}",
        env!("CARGO_PKG_VERSION"),
        GIT_COMMIT.unwrap_or("unknown (not built from a git checkout)"),
    )
}

/// The clap command with the version filled in at run time.
pub fn command(with_long_version: bool) -> clap::Command {
    let cmd = Cli::command().version(short_version());
    if with_long_version {
        cmd.long_version(long_version())
    } else {
        cmd
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn print_stdout(bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes.as_ref()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for. Install e.g. with
    /// `aegis-ingest completions bash > ~/.local/share/bash-completion/completions/aegis-ingest`
    /// (or `make install-extras`).
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The completion script for `shell`.
pub fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = command(false);
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "aegis-ingest", &mut buf);
    buf
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    print_stdout(completion_script(args.shell))?;
    Ok(ExitCode::Done)
}

#[derive(Debug, Clone, clap::Args)]
pub struct ManArgs {
    /// Write aegis-ingest.1 and one page per subcommand (aegis-ingest-run.1, ...) into DIR
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(command(false), dir))
                .map_err(|e| {
                    RunError::config(format!(
                        "cannot write the man pages to {}: {e}; pass a writable --dir",
                        dir.display()
                    ))
                })?;
        }
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(command(false)).render(&mut buf)?;
            print_stdout(buf)?;
        }
    }
    Ok(ExitCode::Done)
}
