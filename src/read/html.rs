//! HTML: the visible text, rendered by `html2text` as Markdown-like text (headings as `#`
//! lines, lists as `* ` / `1. ` items, tables as rows); `<script>`, `<style>` and `<head>`
//! content is dropped. Sections are the heading paths of the rendered `#` lines.
//!
//! Decoding: byte order mark, else `<meta charset>` (or `http-equiv` content type) in the
//! first 1024 bytes, else UTF-8 when valid, else the legacy encoding `chardetng` guesses.

use encoding_rs::Encoding;

use super::{text, Document, Format};
use crate::report::{DocIssue, IssueKind};

/// Lines are wrapped at this width; wide enough that paragraphs stay (nearly) whole.
const WRAP_WIDTH: usize = 400;

pub fn read_html(rel: &str, bytes: &[u8]) -> Result<Document, DocIssue> {
    let declared = meta_charset(bytes);
    let (source, notes) = text::decode(rel, bytes, declared)?;
    // The HTML tree is walked recursively in places: a large stack keeps deeply nested
    // markup from overflowing the caller's (the run reads on small-stack threads).
    let rendered = super::with_large_stack(|| {
        html2text::config::plain_no_decorate()
            .allow_width_overflow()
            .string_from_read(source.as_bytes(), WRAP_WIDTH)
    })
    .map_err(|panic| {
        DocIssue::new(
            rel,
            IssueKind::Failed,
            "reader_crashed",
            format!("the HTML renderer panicked: {panic}"),
        )
    })?
    .map_err(|e| {
        DocIssue::new(
            rel,
            IssueKind::Failed,
            "corrupt",
            format!("HTML could not be rendered to text: {e}"),
        )
    })?;
    let text = tidy(&rendered);
    let sections = text::markdown_sections(&text);
    Ok(Document {
        text,
        format: Format::Html,
        sections,
        notes,
    })
}

/// Trailing spaces off, runs of blank lines down to one.
fn tidy(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len());
    let mut blank = 0;
    for line in rendered.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// The encoding a document declares in its first 1024 bytes (`charset=...`).
fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(1024)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"charset") {
        let mut i = from + pos + b"charset".len();
        from = i;
        while i < lower.len() && lower[i].is_ascii_whitespace() {
            i += 1;
        }
        if lower.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while i < lower.len()
            && (lower[i].is_ascii_whitespace() || matches!(lower[i], b'"' | b'\''))
        {
            i += 1;
        }
        let end = lower[i..]
            .iter()
            .position(|b| matches!(b, b'"' | b'\'' | b';' | b'>' | b'/') || b.is_ascii_whitespace())
            .map_or(lower.len(), |p| i + p);
        if let Some(enc) = Encoding::for_label(&lower[i..end]) {
            // A page that says UTF-16 in ASCII is not UTF-16 (HTML spec): use UTF-8.
            if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
                return Some(encoding_rs::UTF_8);
            }
            return Some(enc);
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_with_heading_paths() {
        let html = b"<html><head><title>T</title><style>p{color:red}</style><script>var hidden=1;</script></head>\
<body><h1>Top</h1><p>Intro &amp; more</p><h2>Sub</h2><ul><li>one</li><li>two</li></ul>\
<script>document.write('x')</script><h1>Next</h1><p>end</p></body></html>";
        let d = read_html("a.html", html).unwrap();
        assert!(
            !d.text.contains("hidden") && !d.text.contains("color"),
            "{}",
            d.text
        );
        assert!(d.text.contains("Intro & more"), "{}", d.text);
        assert!(
            d.text.contains("* one") || d.text.contains("- one"),
            "{}",
            d.text
        );
        let labels: Vec<&str> = d.sections.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, vec!["Top", "Top > Sub", "Next"]);
        assert_eq!(d.section_at(d.text.find("two").unwrap()), Some("Top > Sub"));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        for (open, close, n) in [
            ("<div>", "</div>", 100_000),
            ("<ul><li>x", "</li></ul>", 3_000),
            ("<table><tr><td>x", "</td></tr></table>", 500),
            ("<blockquote>", "</blockquote>", 3_000),
        ] {
            let html = format!("<p>start</p>{}deep{}", open.repeat(n), close.repeat(n));
            let t = std::time::Instant::now();
            let r = read_html("deep.html", html.as_bytes());
            assert!(
                t.elapsed() < std::time::Duration::from_secs(20),
                "{open} x{n}: {:?}",
                t.elapsed()
            );
            if let Ok(d) = r {
                assert!(d.text.contains("start"));
            }
        }
    }

    #[test]
    fn declared_charset_is_used() {
        let mut html = b"<html><head><meta charset=\"windows-1251\"></head><body><p>".to_vec();
        html.extend(encoding_rs::WINDOWS_1251.encode("Привет, мир").0.iter());
        html.extend(b"</p></body></html>");
        let d = read_html("a.html", &html).unwrap();
        assert!(d.text.contains("Привет, мир"), "{}", d.text);
        assert_eq!(d.notes, vec!["decoded from windows-1251"]);
    }
}
