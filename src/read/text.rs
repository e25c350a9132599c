//! Plain text and Markdown, and the decoding shared by every text-based format: UTF-8,
//! UTF-8/UTF-16 with a byte order mark, UTF-16 without one (guessed from the NUL pattern),
//! and legacy encodings (windows-1252, Shift_JIS, ...) guessed by `chardetng` and decoded by
//! `encoding_rs`, with a note in `Document::notes`.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE};

use super::document::{Document, Format};
use super::sections::markdown_sections;
use crate::read::issue::{DocIssue, IssueKind};

/// Share of control bytes above which a file without a known extension is not text.
const MAX_CONTROL_SHARE: f64 = 0.02;
/// Share of control characters above which decoded "text" is taken for binary content.
const MAX_DECODED_CONTROL_SHARE: f64 = 0.10;

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
    let (text, notes) = decode(rel, bytes, None)?;
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

/// Bytes -> text, with "\r\n" turned into "\n". `declared` is an encoding named by the
/// document itself (an HTML `<meta charset>`); a byte order mark still wins over it.
/// Returns the text and the notes to report (which encoding was decoded, if not UTF-8).
pub fn decode(
    rel: &str,
    bytes: &[u8],
    declared: Option<&'static Encoding>,
) -> Result<(String, Vec<String>), DocIssue> {
    let mut notes = Vec::new();
    let text = if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        utf8(rel, rest)?
    } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        notes.push("decoded from UTF-16LE".to_string());
        utf16(rel, rest, UTF_16LE)?
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        notes.push("decoded from UTF-16BE".to_string());
        utf16(rel, rest, UTF_16BE)?
    } else if let Some(enc) = utf16_without_bom(bytes) {
        notes.push(format!("decoded from {} (no byte order mark)", enc.name()));
        utf16(rel, bytes, enc)?
    } else if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(binary_issue(rel, "NUL bytes"));
    } else if let Ok(s) = std::str::from_utf8(bytes) {
        s.to_string()
    } else {
        let (enc, guessed) = match declared {
            Some(e) if e != encoding_rs::UTF_8 => (e, false),
            _ => (guess_legacy(bytes), true),
        };
        let (text, had_errors) = enc.decode_without_bom_handling(bytes);
        if had_errors {
            let first_bad = std::str::from_utf8(bytes)
                .err()
                .map_or(0, |e| e.valid_up_to());
            return Err(DocIssue::new(
                rel,
                IssueKind::Failed,
                "undecodable",
                format!(
                    "not valid UTF-8 (first bad byte at offset {first_bad}), nor valid {} ({})",
                    enc.name(),
                    if guessed {
                        "the most likely legacy encoding"
                    } else {
                        "the encoding the document declares"
                    }
                ),
            ));
        }
        notes.push(format!("decoded from {}", enc.name()));
        text.into_owned()
    };
    let share = control_share(&text);
    if share > MAX_DECODED_CONTROL_SHARE {
        return Err(binary_issue(
            rel,
            &format!("{:.0}% control characters", share * 100.0),
        ));
    }
    let text = if text.contains('\r') {
        text.replace("\r\n", "\n")
    } else {
        text
    };
    Ok((text, notes))
}

fn binary_issue(rel: &str, why: &str) -> DocIssue {
    DocIssue::new(
        rel,
        IssueKind::Skipped,
        "binary",
        format!("binary content ({why}), not text"),
    )
}

/// The most likely legacy encoding of bytes that are not UTF-8.
fn guess_legacy(bytes: &[u8]) -> &'static Encoding {
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(bytes, true);
    det.guess(None, chardetng::Utf8Detection::Deny)
}

/// UTF-16 without a byte order mark: NULs on (nearly) every other byte, on one side only.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(8192) & !1];
    if head.len() < 8 {
        return None;
    }
    let pairs = head.len() / 2;
    let even_nul = head.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd_nul = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    let mostly = |n: usize| n * 10 >= pairs * 9;
    let rarely = |n: usize| n * 20 <= pairs;
    if mostly(odd_nul) && rarely(even_nul) {
        Some(UTF_16LE)
    } else if mostly(even_nul) && rarely(odd_nul) {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Share of characters that no text has many of: C0/C1 controls (not whitespace) and U+FFFD.
fn control_share(text: &str) -> f64 {
    let (mut total, mut bad) = (0usize, 0usize);
    for c in text.chars().take(65536) {
        total += 1;
        let cp = c as u32;
        if (cp < 0x20 && !matches!(c, '\n' | '\r' | '\t' | '\x0c'))
            || (0x7f..=0x9f).contains(&cp)
            || c == '\u{FFFD}'
        {
            bad += 1;
        }
    }
    if total == 0 {
        0.0
    } else {
        bad as f64 / total as f64
    }
}

fn utf8(rel: &str, bytes: &[u8]) -> Result<String, DocIssue> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        DocIssue::new(
            rel,
            IssueKind::Failed,
            "undecodable",
            format!(
                "UTF-8 byte order mark but not valid UTF-8 (first bad byte at offset {})",
                e.utf8_error().valid_up_to() + 3
            ),
        )
    })
}

fn utf16(rel: &str, bytes: &[u8], enc: &'static Encoding) -> Result<String, DocIssue> {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(DocIssue::new(
            rel,
            IssueKind::Failed,
            "undecodable",
            format!(
                "{} content is invalid (unpaired surrogate or odd length)",
                enc.name()
            ),
        ));
    }
    Ok(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // A UTF-8 byte order mark on content that is not UTF-8.
        let e = read_text("a.txt", b"\xEF\xBB\xBFab\xFF\xFEcd", Format::Text).unwrap_err();
        assert_eq!(e.reason, "undecodable");
        assert_eq!(e.kind, IssueKind::Failed);
        // An unpaired surrogate after a UTF-16 byte order mark.
        let e = read_text("a.txt", b"\xFF\xFEa\0\x00\xD8b\0", Format::Text).unwrap_err();
        assert_eq!(e.reason, "undecodable");
    }

    #[test]
    fn legacy_encodings_are_guessed_and_noted() {
        let latin = "Café crème à Zürich, déjà vu; “quoted” €5."
            .chars()
            .map(|c| match c {
                '“' => 0x93,
                '”' => 0x94,
                '€' => 0x80,
                c => c as u32 as u8,
            })
            .collect::<Vec<u8>>();
        let d = read_text("a.txt", &latin, Format::Text).unwrap();
        assert_eq!(d.text, "Café crème à Zürich, déjà vu; “quoted” €5.");
        assert_eq!(d.notes, vec!["decoded from windows-1252"]);
        let (sjis, _, _) =
            encoding_rs::SHIFT_JIS.encode("東京都の会社が新しい製品を発表しました。");
        let d = read_text("a.txt", &sjis, Format::Text).unwrap();
        assert_eq!(d.text, "東京都の会社が新しい製品を発表しました。");
        assert_eq!(d.notes, vec!["decoded from Shift_JIS"]);
    }

    #[test]
    fn utf16_without_bom_and_control_garbage() {
        let le: Vec<u8> = "plain words here"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let d = read_text("a.txt", &le, Format::Text).unwrap();
        assert_eq!(d.text, "plain words here");
        let e = read_text(
            "a.txt",
            &[0x01, 0x02, b'a', 0x1b, 0x07].repeat(20),
            Format::Text,
        )
        .unwrap_err();
        assert_eq!(e.reason, "binary");
    }
}
