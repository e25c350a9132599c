//! Read: bytes of one file -> text plus structure (sections with page numbers or heading
//! paths, used for provenance). This module is the seam for formats: `detect` picks a
//! `Format` from content and extension, `read_bytes` dispatches to one reader per format
//! (one file each: `text`, `rst`, `html`, `pdf`, `docx`); `sections` turns headings into the
//! heading paths they share.
//!
//! A reader returns `Err(DocIssue)` for a document that is skipped (a stated reason that a
//! rerun would not change) or failed (counted as a failure, retried by a rerun); it never
//! aborts the run. Reason codes:
//!
//! | reason             | kind    | meaning |
//! |--------------------|---------|---------|
//! | `unsupported_type` | skipped | no reader for this extension / content |
//! | `binary`           | skipped | NUL bytes or mostly control characters in a text file |
//! | `empty`            | skipped | no text at all, or only whitespace |
//! | `too_large`        | skipped | over `--max-file-size`, or a DOCX part over its bound |
//! | `zip_bomb`         | skipped | DOCX with absurd compression ratio or entry count |
//! | `encrypted`        | skipped | PDF or DOCX that needs a password |
//! | `needs_ocr`        | skipped | PDF pages without a text layer (scans) |
//! | `vanished`         | skipped | the file disappeared between walk and read |
//! | `undecodable`      | failed  | text that is no valid UTF-8/UTF-16 nor legacy encoding |
//! | `corrupt`          | failed  | PDF/DOCX/HTML that cannot be parsed, or crashed the reader |
//! | `timeout`          | failed  | PDF extraction over its wall-time limit (process killed) |
//! | `unreadable`       | failed  | I/O error or permission denied |
//! | `changed`          | failed  | the file changed while it was being read |
//! | `worker_failed`    | failed  | the PDF worker process could not be started |
//! | `reader_crashed`   | failed  | a reader panicked (a bug; the run goes on) |
//!
//! PDFs read by `read_document` are parsed in a child process (see `pdf`), so that a stack
//! overflow or memory exhaustion in the PDF parser cannot take the run down.

mod document;
mod docx;
mod html;
pub mod issue;
pub mod pdf;
mod rst;
mod sections;
pub mod shard;
mod stack;
mod text;
pub mod walk;

pub use document::{Document, Format, Section};
pub use docx::{read_docx_with, ZipLimits};
pub use rst::rst_sections;
pub use sections::markdown_sections;

use std::path::Path;

use crate::read::issue::{DocIssue, IssueKind};
use crate::read::walk::DocEntry;

/// Reads the file of `entry`. `max_size` bounds what is read into memory. PDFs are parsed
/// in a child process (see `pdf::read_pdf_isolated`).
pub fn read_document(entry: &DocEntry, max_size: u64) -> Result<Document, DocIssue> {
    if entry.size > max_size {
        return Err(too_large(&entry.rel, entry.size, max_size));
    }
    let bytes = match read_bounded(&entry.path, max_size) {
        Ok(b) => b,
        Err(ReadError::Io(e)) => return Err(io_issue(&entry.rel, &e)),
        Err(ReadError::TooLarge(n)) => return Err(too_large(&entry.rel, n, max_size)),
        Err(ReadError::Changed(what)) => {
            return Err(DocIssue::new(
                &entry.rel,
                IssueKind::Failed,
                "changed",
                format!("the file changed while it was being read ({what}); a rerun retries it"),
            ))
        }
    };
    if is_blank(&bytes) {
        return Err(empty_issue(&entry.rel));
    }
    match detect(&entry.rel, &bytes)? {
        Format::Pdf => pdf::read_pdf_isolated(&entry.rel, &entry.path, &bytes),
        format => read_as(&entry.rel, &bytes, format),
    }
}

fn too_large(rel: &str, size: u64, max_size: u64) -> DocIssue {
    DocIssue::new(
        rel,
        IssueKind::Skipped,
        "too_large",
        format!("{size} bytes is over --max-file-size {max_size} bytes"),
    )
}

enum ReadError {
    Io(std::io::Error),
    TooLarge(u64),
    Changed(&'static str),
}

/// Reads at most `max_size` bytes. The size and modification time of the open file are
/// compared before and after: a file that grew, shrank or was rewritten meanwhile is
/// refused, so a document is never read half old, half new.
fn read_bounded(path: &Path, max_size: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let before = file.metadata().map_err(ReadError::Io)?;
    if before.len() > max_size {
        return Err(ReadError::TooLarge(before.len()));
    }
    let mut buf = Vec::with_capacity(before.len() as usize);
    (&mut file)
        .take(max_size.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(ReadError::Io)?;
    if buf.len() as u64 > max_size {
        return Err(ReadError::TooLarge(buf.len() as u64));
    }
    let after = file.metadata().map_err(ReadError::Io)?;
    if after.len() != buf.len() as u64 || before.len() != after.len() {
        return Err(ReadError::Changed("its size changed"));
    }
    if before.modified().ok() != after.modified().ok() {
        return Err(ReadError::Changed("it was modified"));
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

fn extension(rel: &str) -> String {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.rsplit_once('.')
        .filter(|(stem, _)| !stem.is_empty())
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

const PDF_MAGIC: &[u8] = b"%PDF-";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// `%PDF-` in the first 1024 bytes (readers accept junk before the header).
fn is_pdf(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(1024)]
        .windows(PDF_MAGIC.len())
        .any(|w| w == PDF_MAGIC)
}

/// HTML by content: a doctype or `<html` at the start (after a BOM and whitespace).
fn looks_like_html(bytes: &[u8]) -> bool {
    let head = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let head = &head[start..head.len().min(start + 64)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html")
}

/// Picks a format from the extension and the content. Content wins where it is certain
/// (a file starting with `%PDF-` is a PDF whatever its name); the extension decides
/// otherwise, and a file whose extension says nothing is sniffed (PDF header within the
/// first KiB, DOCX zip, HTML, text).
pub fn detect(rel: &str, bytes: &[u8]) -> Result<Format, DocIssue> {
    let ext = extension(rel);
    if bytes.starts_with(PDF_MAGIC) {
        return Ok(Format::Pdf);
    }
    match ext.as_str() {
        "pdf" => Ok(Format::Pdf),
        "docx" | "docm" | "dotx" | "dotm" => Ok(Format::Docx),
        "html" | "htm" | "xhtml" | "shtml" => Ok(Format::Html),
        "md" | "markdown" | "mdown" | "mkd" => Ok(Format::Markdown),
        "rst" | "rest" => Ok(Format::Rst),
        "txt" | "text" | "log" | "csv" | "tsv" | "org" | "adoc" => Ok(Format::Text),
        _ if is_pdf(bytes) => Ok(Format::Pdf),
        _ if bytes.starts_with(ZIP_MAGIC) && zip_has_word_document(bytes) => Ok(Format::Docx),
        _ if looks_like_html(bytes) => Ok(Format::Html),
        "" => Ok(Format::Text),
        _ if text::looks_textual(bytes) => Ok(Format::Text),
        _ => Err(DocIssue::new(
            rel,
            IssueKind::Skipped,
            "unsupported_type",
            format!("no reader for .{ext} files"),
        )),
    }
}

/// A zip whose central directory names `word/document.xml` (a .docx under another name).
fn zip_has_word_document(bytes: &[u8]) -> bool {
    zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map(|z| z.index_for_name("word/document.xml").is_some())
        .unwrap_or(false)
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// Turns the bytes of a document into text. Pure: used by tests and tools; PDFs are parsed
/// in this process (guarded by a thread with a large stack and `catch_unwind`, but not by
/// memory limits: `read_document` isolates them in a child process instead).
pub fn read_bytes(rel: &str, bytes: &[u8]) -> Result<Document, DocIssue> {
    if is_blank(bytes) {
        return Err(empty_issue(rel));
    }
    let format = detect(rel, bytes)?;
    read_as(rel, bytes, format)
}

/// Reads `bytes` as `format` (in this process, PDFs included).
pub fn read_as(rel: &str, bytes: &[u8], format: Format) -> Result<Document, DocIssue> {
    let doc = match format {
        Format::Text | Format::Markdown => text::read_text(rel, bytes, format)?,
        Format::Rst => rst::read_rst(rel, bytes)?,
        Format::Html => html::read_html(rel, bytes)?,
        Format::Docx => docx::read_docx(rel, bytes)?,
        Format::Pdf => pdf::read_pdf(rel, bytes)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_by_content_and_extension() {
        assert_eq!(detect("a.bin", b"%PDF-1.4\n...").unwrap(), Format::Pdf);
        assert_eq!(detect("a.pdf", b"junk").unwrap(), Format::Pdf);
        assert_eq!(detect("a.dat", b"junk\n%PDF-1.4").unwrap(), Format::Pdf);
        assert_eq!(
            detect("a.md", b"# The %PDF-1.4 header").unwrap(),
            Format::Markdown
        );
        assert_eq!(detect("a.HTM", b"x").unwrap(), Format::Html);
        assert_eq!(
            detect("notes", b"<!DOCTYPE html><p>x").unwrap(),
            Format::Html
        );
        assert_eq!(
            detect("a.txt", b"<!DOCTYPE html><p>x").unwrap(),
            Format::Text
        );
        assert_eq!(detect("a.rst", b"x").unwrap(), Format::Rst);
        assert_eq!(detect("README", b"x").unwrap(), Format::Text);
        assert_eq!(detect(".bashrc", b"x").unwrap(), Format::Text);
        assert_eq!(detect("a.json", b"{}").unwrap(), Format::Text);
        let e = detect("a.png", b"\x89PNG\r\n\x1a\n\0\0\0").unwrap_err();
        assert_eq!(e.reason, "unsupported_type");
        assert!(Format::Html.is_markdown() && !Format::Pdf.is_markdown());
    }

    #[test]
    fn read_bytes_reasons() {
        assert_eq!(read_bytes("a.txt", b"").unwrap_err().reason, "empty");
        assert_eq!(read_bytes("a.txt", b" \n\t").unwrap_err().reason, "empty");
        assert_eq!(read_bytes("a.txt", b"a\0b").unwrap_err().reason, "binary");
        assert_eq!(
            read_bytes("a.html", b"<script>x()</script>")
                .unwrap_err()
                .reason,
            "empty"
        );
        let d = read_bytes("a.rst", b"Title\n=====\n\nbody\n").unwrap();
        assert_eq!(d.section_at(12), Some("Title"));
    }

    #[cfg(unix)]
    #[test]
    fn read_document_io_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |name: &str, size: u64| DocEntry {
            rel: name.to_string(),
            path: dir.path().join(name),
            size,
        };
        let e = read_document(&entry("gone.txt", 3), 100).unwrap_err();
        assert_eq!((e.reason, e.kind), ("vanished", IssueKind::Skipped));
        std::fs::write(dir.path().join("big.txt"), "x".repeat(200)).unwrap();
        let e = read_document(&entry("big.txt", 200), 100).unwrap_err();
        assert_eq!(e.reason, "too_large");
        // Grew after the walk measured it.
        let e = read_document(&entry("big.txt", 50), 100).unwrap_err();
        assert_eq!(e.reason, "too_large");
        let d = read_document(&entry("big.txt", 200), 1000).unwrap();
        assert_eq!(d.text.len(), 200);
        std::fs::create_dir(dir.path().join("adir.txt")).unwrap();
        let e = read_document(&entry("adir.txt", 0), 1 << 20).unwrap_err();
        assert_eq!((e.reason, e.kind), ("unreadable", IssueKind::Failed));
    }
}
