//! Read: bytes of one file -> text plus structure (sections with page numbers or heading
//! paths, used for provenance). This module is the seam for formats: `detect` picks a
//! `Format` from content and extension, `read_document` dispatches to one reader per format.
//! A reader returns `Err(DocIssue)` for a document that is skipped (unsupported, empty,
//! binary) or failed (corrupt, undecodable); it never aborts the run.

mod text;

pub use text::markdown_sections;

use std::path::Path;

use crate::report::{DocIssue, IssueKind};
use crate::walk::DocEntry;

/// Formats known to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Text,
    Markdown,
}

impl Format {
    /// Markdown-aware chunking applies to this format.
    pub fn is_markdown(self) -> bool {
        matches!(self, Format::Markdown)
    }
}

/// A labelled region of the text, from `start` (byte offset) to the next section's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub start: usize,
    /// "p. 3" for a PDF page, "Intro > Setup" for a heading path.
    pub label: String,
}

/// A document turned into text.
#[derive(Debug, Clone)]
pub struct Document {
    pub text: String,
    pub format: Format,
    pub sections: Vec<Section>,
    /// Things worth reporting that are not failures, e.g. "decoded from windows-1252".
    pub notes: Vec<String>,
}

impl Document {
    /// The label of the section containing byte offset `at`, if any.
    pub fn section_at(&self, at: usize) -> Option<&str> {
        let idx = self.sections.partition_point(|s| s.start <= at);
        idx.checked_sub(1).map(|i| self.sections[i].label.as_str())
    }
}

/// Reads the file of `entry`. `max_size` bounds what is read into memory.
pub fn read_document(entry: &DocEntry, max_size: u64) -> Result<Document, DocIssue> {
    if entry.size > max_size {
        return Err(DocIssue::new(
            &entry.rel,
            IssueKind::Skipped,
            "too_large",
            format!(
                "{} bytes is over --max-file-size {} bytes",
                entry.size, max_size
            ),
        ));
    }
    let bytes = read_bounded(&entry.path, max_size).map_err(|e| io_issue(&entry.rel, &e))?;
    read_bytes(&entry.rel, &bytes)
}

/// Reads at most `max_size` bytes; a file that grew past it while being read is refused.
fn read_bounded(path: &Path, max_size: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    file.take(max_size.saturating_add(1))
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > max_size {
        return Err(std::io::Error::other(format!(
            "grew past --max-file-size ({max_size} bytes) while being read"
        )));
    }
    Ok(buf)
}

fn io_issue(rel: &str, e: &std::io::Error) -> DocIssue {
    match e.kind() {
        std::io::ErrorKind::NotFound => DocIssue::new(
            rel,
            IssueKind::Skipped,
            "vanished",
            "file disappeared before it could be read",
        ),
        std::io::ErrorKind::PermissionDenied => {
            DocIssue::new(rel, IssueKind::Failed, "unreadable", "permission denied")
        }
        _ => DocIssue::new(rel, IssueKind::Failed, "unreadable", e.to_string()),
    }
}

/// Picks a format from the extension and the first bytes.
pub fn detect(rel: &str, bytes: &[u8]) -> Result<Format, DocIssue> {
    let ext = rel
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "md" | "markdown" | "mdown" | "mkd" => Ok(Format::Markdown),
        "txt" | "text" | "" | "log" | "csv" | "tsv" | "rst" | "org" | "adoc" => Ok(Format::Text),
        _ if text::looks_textual(bytes) => Ok(Format::Text),
        _ => Err(DocIssue::new(
            rel,
            IssueKind::Skipped,
            "unsupported_type",
            format!("no reader for .{ext} files"),
        )),
    }
}

/// Turns the bytes of a document into text. Pure: used by the run and by tests.
pub fn read_bytes(rel: &str, bytes: &[u8]) -> Result<Document, DocIssue> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(empty_issue(rel));
    }
    let format = detect(rel, bytes)?;
    let doc = match format {
        Format::Text | Format::Markdown => text::read_text(rel, bytes, format)?,
    };
    if doc.text.trim().is_empty() {
        return Err(empty_issue(rel));
    }
    Ok(doc)
}

fn empty_issue(rel: &str) -> DocIssue {
    DocIssue::new(
        rel,
        IssueKind::Skipped,
        "empty",
        "no text (empty or whitespace only)",
    )
}
