//! Records the git commit the binary is built from (`aegis-ingest --version`). Outside a git
//! checkout (a crates.io package, a tarball) or without git, nothing is recorded and the
//! version says "unknown".

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    // Only this project's own checkout: not a repository the sources happen to sit in.
    let top = git(&["rev-parse", "--show-toplevel"]).map(PathBuf::from);
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !top.is_some_and(|t| same(&t, &manifest)) {
        return;
    }
    let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return;
    };
    println!("cargo:rustc-env=AEGIS_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves: HEAD itself (a checkout) and the branch it points at (a commit).
    // A path that does not exist would rerun this script (and rebuild the crate) every time.
    let watch = |p: String| {
        if Path::new(&p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    };
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        watch(format!("{git_dir}/HEAD"));
    }
    if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
        if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(format!("{common}/{head_ref}"));
        }
        watch(format!("{common}/packed-refs"));
    }
}
