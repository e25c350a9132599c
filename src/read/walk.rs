//! Walk: every regular file under CORPUS, in a stable order (sorted by name at every level),
//! hidden files and folders skipped, `--include`/`--exclude` globs applied to the path
//! relative to CORPUS. What cannot be walked (broken symlinks, loops, unreadable folders,
//! names that are not UTF-8) is yielded as a `DocIssue` so it lands in the report; the walk
//! itself never stops on one bad entry.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::read::issue::{DocIssue, IssueKind};

/// A file to read, addressed by its path relative to the corpus root ('/' separators).
#[derive(Debug, Clone)]
pub struct DocEntry {
    pub rel: String,
    pub path: PathBuf,
    pub size: u64,
}

#[derive(Debug)]
pub enum WalkItem {
    Doc(DocEntry),
    Issue(DocIssue),
}

/// Include/exclude filter on relative paths.
#[derive(Debug, Clone)]
pub struct PathFilter {
    include: Option<GlobSet>,
    exclude: GlobSet,
}

impl PathFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, globset::Error> {
        let build = |pats: &[String]| -> Result<GlobSet, globset::Error> {
            let mut b = GlobSetBuilder::new();
            for p in pats {
                b.add(Glob::new(p)?);
                // `*.md` should also match in sub-folders, as users expect from shells.
                if !p.contains('/') {
                    b.add(Glob::new(&format!("**/{p}"))?);
                }
            }
            b.build()
        };
        let include = if include.is_empty() {
            None
        } else {
            Some(build(include)?)
        };
        Ok(Self {
            include,
            exclude: build(exclude)?,
        })
    }

    pub fn accepts(&self, rel: &str) -> bool {
        if self.exclude.is_match(rel) {
            return false;
        }
        self.include.as_ref().is_none_or(|inc| inc.is_match(rel))
    }
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// Relative path with '/' separators, or None when some component is not UTF-8.
fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let mut out = String::new();
    for comp in rel.components() {
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(comp.as_os_str().to_str()?);
    }
    Some(out)
}

/// Walks `root` lazily; the corpus is never listed in memory as a whole.
pub fn walk(root: &Path, filter: PathFilter) -> impl Iterator<Item = WalkItem> {
    let root_buf = root.to_path_buf();
    let single_file = root.is_file();
    let base = if single_file {
        root.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        root_buf.clone()
    };
    walkdir::WalkDir::new(&root_buf)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()))
        .filter_map(move |res| match res {
            Ok(entry) => {
                if entry.file_type().is_dir() {
                    return None;
                }
                let rel = match relative(&base, entry.path()) {
                    Some(r) if !r.is_empty() => r,
                    _ => {
                        return Some(WalkItem::Issue(DocIssue::new(
                            lossy_rel(&base, entry.path()),
                            IssueKind::Skipped,
                            "non_utf8_name",
                            "file name is not valid UTF-8; rename it to include it",
                        )))
                    }
                };
                if !filter.accepts(&rel) {
                    return None;
                }
                if !entry.file_type().is_file() {
                    return Some(WalkItem::Issue(DocIssue::new(
                        rel,
                        IssueKind::Skipped,
                        "not_regular_file",
                        "not a regular file (device, socket or fifo)",
                    )));
                }
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                Some(WalkItem::Doc(DocEntry {
                    rel,
                    path: entry.into_path(),
                    size,
                }))
            }
            Err(err) => {
                let path = err.path().map(Path::to_path_buf).unwrap_or_default();
                let rel = lossy_rel(&base, &path);
                if !filter.accepts(&rel) {
                    return None;
                }
                Some(WalkItem::Issue(walk_error_issue(rel, &err)))
            }
        })
}

fn lossy_rel(base: &Path, path: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn walk_error_issue(rel: String, err: &walkdir::Error) -> DocIssue {
    if let Some(ancestor) = err.loop_ancestor() {
        return DocIssue::new(
            rel,
            IssueKind::Skipped,
            "symlink_loop",
            format!("symlink loop back to {}", ancestor.display()),
        );
    }
    let io = err.io_error();
    match io.map(|e| e.kind()) {
        Some(std::io::ErrorKind::NotFound) => DocIssue::new(
            rel,
            IssueKind::Skipped,
            "broken_symlink",
            "symlink points to nothing (or the file vanished during the walk)",
        ),
        Some(std::io::ErrorKind::PermissionDenied) => {
            DocIssue::new(rel, IssueKind::Failed, "unreadable", "permission denied")
        }
        _ => DocIssue::new(rel, IssueKind::Failed, "unreadable", err.to_string()),
    }
}

/// The order the walk lists documents in: sorted by name at every level.
pub fn walk_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(root: &Path, filter: PathFilter) -> Vec<String> {
        walk(root, filter)
            .filter_map(|i| match i {
                WalkItem::Doc(d) => Some(d.rel),
                WalkItem::Issue(_) => None,
            })
            .collect()
    }

    #[test]
    fn stable_order_hidden_skipped_and_globs() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir_all(r.join("b/sub")).unwrap();
        std::fs::create_dir_all(r.join(".git")).unwrap();
        for f in [
            "z.md",
            "a.txt",
            "b/sub/c.md",
            "b/a.md",
            ".hidden.md",
            ".git/x.md",
        ] {
            std::fs::write(r.join(f), "x").unwrap();
        }
        let all = docs(r, PathFilter::new(&[], &[]).unwrap());
        assert_eq!(all, vec!["a.txt", "b/a.md", "b/sub/c.md", "z.md"]);
        let md = docs(
            r,
            PathFilter::new(&["*.md".into()], &["b/sub/**".into()]).unwrap(),
        );
        assert_eq!(md, vec!["b/a.md", "z.md"]);
    }

    #[cfg(unix)]
    #[test]
    fn broken_symlink_and_loop_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir(r.join("d")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/aegis", r.join("broken.txt")).unwrap();
        std::os::unix::fs::symlink(r.join("d"), r.join("d/loop")).unwrap();
        let issues: Vec<(String, String)> = walk(r, PathFilter::new(&[], &[]).unwrap())
            .filter_map(|i| match i {
                WalkItem::Issue(d) => Some((d.doc, d.reason.to_string())),
                WalkItem::Doc(_) => None,
            })
            .collect();
        assert!(issues.contains(&("broken.txt".into(), "broken_symlink".into())));
        assert!(issues.contains(&("d/loop".into(), "symlink_loop".into())));
    }
}
