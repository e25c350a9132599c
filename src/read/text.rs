//! Plain text and Markdown: decoding (UTF-8, UTF-16 with BOM) and Markdown heading paths.

use super::{Document, Format, Section};
use crate::report::{DocIssue, IssueKind};

/// Share of control bytes above which a file without a known extension is not text.
const MAX_CONTROL_SHARE: f64 = 0.02;

/// A quick content check for files whose extension says nothing.
pub fn looks_textual(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.starts_with(&[0xEF, 0xBB, 0xBF])
        || head.starts_with(&[0xFF, 0xFE])
        || head.starts_with(&[0xFE, 0xFF])
    {
        return true;
    }
    if head.contains(&0) || std::str::from_utf8(trim_partial_utf8(head)).is_err() {
        return false;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    (control as f64) <= MAX_CONTROL_SHARE * head.len() as f64
}

/// Drops an incomplete UTF-8 sequence at the end of a prefix.
fn trim_partial_utf8(head: &[u8]) -> &[u8] {
    match std::str::from_utf8(head) {
        Ok(_) => head,
        Err(e) if e.error_len().is_none() => &head[..e.valid_up_to()],
        Err(_) => head,
    }
}

pub fn read_text(rel: &str, bytes: &[u8], format: Format) -> Result<Document, DocIssue> {
    let mut notes = Vec::new();
    let text = if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        utf8(rel, rest)?
    } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        notes.push("decoded from UTF-16LE".to_string());
        utf16(rel, rest, u16::from_le_bytes)?
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        notes.push("decoded from UTF-16BE".to_string());
        utf16(rel, rest, u16::from_be_bytes)?
    } else {
        if bytes[..bytes.len().min(8192)].contains(&0) {
            return Err(DocIssue::new(
                rel,
                IssueKind::Skipped,
                "binary",
                "binary content (NUL bytes), not text",
            ));
        }
        utf8(rel, bytes)?
    };
    let text = text.replace("\r\n", "\n");
    let sections = if format.is_markdown() {
        markdown_sections(&text)
    } else {
        Vec::new()
    };
    Ok(Document {
        text,
        format,
        sections,
        notes,
    })
}

fn utf8(rel: &str, bytes: &[u8]) -> Result<String, DocIssue> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        DocIssue::new(
            rel,
            IssueKind::Failed,
            "undecodable",
            format!(
                "not valid UTF-8 (first bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn utf16(rel: &str, bytes: &[u8], conv: fn([u8; 2]) -> u16) -> Result<String, DocIssue> {
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| conv([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|_| {
        DocIssue::new(
            rel,
            IssueKind::Failed,
            "undecodable",
            "UTF-16 byte order mark but invalid UTF-16 content",
        )
    })
}

/// ATX headings ("## Title") outside fenced code, as heading paths ("Guide > Install").
pub fn markdown_sections(text: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut in_fence = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || line.starts_with("    ") {
            continue;
        }
        let level = trimmed.bytes().take_while(|&b| b == b'#').count();
        if level == 0 || level > 6 {
            continue;
        }
        let rest = &trimmed[level..];
        if !(rest.starts_with(' ') || rest.starts_with('\t') || rest.trim().is_empty()) {
            continue;
        }
        let title = rest.trim().trim_end_matches('#').trim().to_string();
        if title.is_empty() {
            continue;
        }
        while stack.last().is_some_and(|(l, _)| *l >= level) {
            stack.pop();
        }
        stack.push((level, title));
        let label = stack
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join(" > ");
        sections.push(Section { start, label });
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heading_paths_ignore_code_fences() {
        let md = "# Guide\nintro\n## Install\nrun\n```\n# not a heading\n```\n## Use\n### Flags\nx\n# Other\n";
        let labels: Vec<String> = markdown_sections(md).into_iter().map(|s| s.label).collect();
        assert_eq!(
            labels,
            vec![
                "Guide",
                "Guide > Install",
                "Guide > Use",
                "Guide > Use > Flags",
                "Other"
            ]
        );
    }

    #[test]
    fn decodes_boms_and_refuses_binary() {
        let d = read_text("a.txt", b"\xEF\xBB\xBFhello", Format::Text).unwrap();
        assert_eq!(d.text, "hello");
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("héllo".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        let d = read_text("a.txt", &utf16, Format::Text).unwrap();
        assert_eq!(d.text, "héllo");
        assert_eq!(d.notes, vec!["decoded from UTF-16LE"]);
        let e = read_text("a.txt", b"ab\0cd", Format::Text).unwrap_err();
        assert_eq!(e.reason, "binary");
        let e = read_text("a.txt", b"ab\xFF\xFEcd", Format::Text).unwrap_err();
        assert_eq!(e.reason, "undecodable");
    }
}
