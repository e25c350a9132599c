//! HTML: the visible text, rendered by `html2text` as Markdown-like text (headings as `#`
//! lines, lists as `* ` / `1. ` items, tables as rows); `<script>`, `<style>` and `<head>`
//! content is dropped. Sections are the heading paths of the rendered `#` lines.
//!
//! Decoding: byte order mark, else `<meta charset>` (or `http-equiv` content type) in the
//! first 1024 bytes, else UTF-8 when valid, else the legacy encoding `chardetng` guesses.

use encoding_rs::Encoding;

use super::document::{Document, Format};
use super::{sections, text};
use crate::read::issue::{DocIssue, IssueKind};

/// Lines are wrapped at this width; wide enough that paragraphs stay (nearly) whole.
const WRAP_WIDTH: usize = 400;

pub fn read_html(rel: &str, bytes: &[u8]) -> Result<Document, DocIssue> {
    let declared = meta_charset(bytes);
    let (source, mut notes) = text::decode(rel, bytes, declared)?;
    let (depth, tables) = nesting_depth(&source);
    if depth > MAX_DEPTH || tables > MAX_TABLE_DEPTH {
        // The HTML parser and renderer slow down quadratically with depth (100k nested
        // <div>s take minutes): read such markup as plain text, without structure.
        notes.push(format!(
            "HTML nested {depth} elements / {tables} tables deep (over {MAX_DEPTH} / {MAX_TABLE_DEPTH}): read as plain text, without headings"
        ));
        return Ok(Document {
            text: tidy(&strip_tags(&source)),
            format: Format::Html,
            sections: Vec::new(),
            notes,
        });
    }
    // The HTML tree is walked recursively in places: a large stack keeps deeply nested
    // markup from overflowing the caller's (the run reads on small-stack threads).
    let rendered = super::stack::with_large_stack(|| {
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
    let sections = sections::markdown_sections(&text);
    Ok(Document {
        text,
        format: Format::Html,
        sections,
        notes,
    })
}

/// Element nesting deeper than this is not given to the HTML parser.
const MAX_DEPTH: usize = 512;
/// Tables nested deeper than this are not given to the renderer (its cost grows steeply:
/// 200 nested tables take seconds, 500 take minutes).
const MAX_TABLE_DEPTH: usize = 32;

/// Elements that never have content, or whose end tag is optional (they would inflate an
/// open-minus-close count without nesting).
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "tbody", "thead", "tfoot", "option",
    "optgroup", "colgroup", "caption", "rb", "rt", "rtc", "rp",
];

/// Tag name at the start of `s` (after `<` or `</`), lower-cased.
fn tag_name(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ':')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A cheap estimate of the deepest element nesting, and of table nesting: open tags minus
/// close tags, ignoring comments, raw-text elements, void and optional-end elements.
fn nesting_depth(html: &str) -> (usize, usize) {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut tables, mut max_tables) = (0usize, 0usize);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        if let Some(r) = rest.strip_prefix("!--") {
            rest = r.find("-->").map_or("", |e| &r[e + 3..]);
            continue;
        }
        let closing = rest.starts_with('/');
        let name = tag_name(if closing { &rest[1..] } else { rest });
        let gt = rest.find('>').unwrap_or(rest.len());
        let self_closing = rest[..gt].ends_with('/');
        rest = &rest[gt.min(rest.len())..];
        if name.is_empty() || NOT_NESTING.contains(&name.as_str()) {
            continue;
        }
        if name == "table" {
            if closing {
                tables = tables.saturating_sub(1);
            } else {
                tables += 1;
                max_tables = max_tables.max(tables);
            }
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else if matches!(name.as_str(), "script" | "style" | "textarea" | "title") {
            let end = format!("</{name}");
            rest = find_ci(rest, &end).map_or("", |e| &rest[e..]);
        } else if !self_closing {
            depth += 1;
            max = max.max(depth);
        }
    }
    (max, max_tables)
}

/// Case-insensitive `find` for an ASCII needle.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.len();
    hay.as_bytes()
        .windows(n)
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Markup to text without a parser: tags dropped (block tags become line breaks), script
/// and style content dropped, common entities decoded.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_entities(&mut out, &rest[..lt]);
        rest = &rest[lt + 1..];
        if let Some(r) = rest.strip_prefix("!--") {
            rest = r.find("-->").map_or("", |e| &r[e + 3..]);
            continue;
        }
        let closing = rest.starts_with('/');
        let name = tag_name(if closing { &rest[1..] } else { rest });
        let gt = rest.find('>').map_or(rest.len(), |g| g + 1);
        rest = &rest[gt.min(rest.len())..];
        if !closing && matches!(name.as_str(), "script" | "style" | "head" | "template") {
            let end = format!("</{name}");
            rest = find_ci(rest, &end).map_or("", |e| &rest[e..]);
            continue;
        }
        let block = matches!(
            name.as_str(),
            "p" | "div"
                | "br"
                | "li"
                | "tr"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "ul"
                | "ol"
                | "table"
                | "section"
                | "article"
                | "blockquote"
                | "pre"
        );
        out.push(if block { '\n' } else { ' ' });
    }
    push_entities(&mut out, rest);
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn push_entities(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[..rest.len().min(12)].find(';');
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            };
            c.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
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
            ("<div><table><tr><td>x", "</td></tr></table></div>", 30),
            ("<div>", "</div>", 500),
            ("<table><tr>", "<td>cell</td>", 5_000),
            ("<table>", "<tr><td>a</td><td>b</td></tr>", 50_000),
            ("<blockquote>", "</blockquote>", 3_000),
        ] {
            let html = format!(
                "<p>start &amp; go</p>{}deep{}",
                open.repeat(n),
                close.repeat(n)
            );
            let t = std::time::Instant::now();
            let r = read_html("deep.html", html.as_bytes());
            assert!(
                t.elapsed() < std::time::Duration::from_secs(20),
                "{open} x{n}: {:?}",
                t.elapsed()
            );
            eprintln!("{open} x{n}: {:?}", t.elapsed());
            let d = r.unwrap();
            assert!(
                d.text.contains("start & go") && d.text.contains("deep"),
                "{}",
                d.text
            );
        }
    }

    #[test]
    fn nesting_estimate_and_plain_fallback() {
        assert_eq!(
            nesting_depth("<div><p>a<p>b<br><img src=x/><div>c</div></div>"),
            (2, 0)
        );
        assert_eq!(
            nesting_depth("<table><tr><td><table><tr><td>x</table></table><table></table>"),
            (2, 2)
        );
        assert_eq!(
            nesting_depth("<script>if (a<b) { x = '<div><div>'; }</script><!-- <div> --><b>x</b>"),
            (1, 0)
        );
        let t = strip_tags("<head><title>T</title></head><h1>A &amp; B</h1><script>x<y</script><p>c&#233;&#x41;&bogus;</p>");
        assert_eq!(tidy(&t), "A & B\n\ncéA&bogus;\n");
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
