//! The version the binary reports: the build's git commit (`build.rs`) and, for
//! `--version`, the fingerprint of the default domain's prompt set as found at run time.

use crate::prompt::{default_prompts_root, PromptSet, DEFAULT_DOMAIN};

/// The commit the binary was built from (`build.rs`; absent outside a git checkout).
pub const GIT_COMMIT: Option<&str> = option_env!("AEGIS_GIT_COMMIT");

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
