//! DOCX (Office Open XML word processing): the main document part, paragraph by paragraph,
//! as Markdown-like text: headings (paragraph style "Heading N" / "Title", or an outline
//! level) become `#` lines and heading-path sections, list paragraphs become `- ` items,
//! table rows become `| a | b |` lines. Deleted text (tracked changes), field codes and
//! the duplicate fallback copy of text boxes are left out; headers, footers, footnotes and
//! comments are not read.
//!
//! Zip bombs are bounded: at most `MAX_ENTRIES` entries, and each part read is cut at
//! `MAX_PART_BYTES` decompressed (declared size checked first, actual bytes counted too).

use std::collections::HashMap;
use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::document::{Document, Format, Section};
use super::sections;
use crate::read::issue::{DocIssue, IssueKind};

/// Limits applied to the zip container.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// More entries than this: `zip_bomb`.
    pub max_entries: usize,
    /// A part decompressing to more than this: `zip_bomb` when its compression ratio is over
    /// `max_ratio`, else `too_large`.
    pub max_part_bytes: u64,
    pub max_ratio: u64,
}

pub const DEFAULT_LIMITS: ZipLimits = ZipLimits {
    max_entries: 10_000,
    max_part_bytes: 256 * 1024 * 1024,
    max_ratio: 100,
};

/// Magic of OLE compound files: password-protected .docx files are stored in one.
const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

pub fn read_docx(rel: &str, bytes: &[u8]) -> Result<Document, DocIssue> {
    read_docx_with(rel, bytes, DEFAULT_LIMITS)
}

pub fn read_docx_with(rel: &str, bytes: &[u8], limits: ZipLimits) -> Result<Document, DocIssue> {
    let corrupt = |detail: String| DocIssue::new(rel, IssueKind::Failed, "corrupt", detail);
    if bytes.starts_with(&CFB_MAGIC) {
        return Err(DocIssue::new(
            rel,
            IssueKind::Skipped,
            "encrypted",
            "password-protected Word document (an encrypted OLE container, not a zip)",
        ));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| corrupt(format!("not a valid DOCX (zip) file: {e}")))?;
    if zip.len() > limits.max_entries {
        return Err(DocIssue::new(
            rel,
            IssueKind::Skipped,
            "zip_bomb",
            format!(
                "{} zip entries (over {}): a zip bomb or not a Word document",
                zip.len(),
                limits.max_entries
            ),
        ));
    }
    let main = main_part_name(rel, &mut zip, limits)?;
    let Some(doc_xml) = read_part(rel, &mut zip, &main, limits)? else {
        return Err(corrupt(format!(
            "no {main} in the archive: not a Word document"
        )));
    };
    let styles = match read_part(rel, &mut zip, "word/styles.xml", limits)? {
        Some(xml) => heading_styles(&xml),
        None => HashMap::new(),
    };
    let mut out = Extract {
        styles,
        ..Extract::default()
    };
    out.run(&doc_xml)
        .map_err(|e| corrupt(format!("{main} is not well-formed XML: {e}")))?;
    Ok(Document {
        text: out.text,
        format: Format::Docx,
        sections: out.sections,
        notes: Vec::new(),
    })
}

/// The main document part: `word/document.xml`, or what `_rels/.rels` names.
fn main_part_name(
    rel: &str,
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    limits: ZipLimits,
) -> Result<String, DocIssue> {
    const DEFAULT: &str = "word/document.xml";
    if zip.index_for_name(DEFAULT).is_some() {
        return Ok(DEFAULT.to_string());
    }
    let Some(rels) = read_part(rel, zip, "_rels/.rels", limits)? else {
        return Ok(DEFAULT.to_string());
    };
    let mut reader = Reader::from_str(&rels);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "Relationship" => {
                let ty = attr(&e, "Type").unwrap_or_default();
                if ty.ends_with("/officeDocument") {
                    if let Some(target) = attr(&e, "Target") {
                        return Ok(target.trim_start_matches('/').to_string());
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => return Ok(DEFAULT.to_string()),
            _ => {}
        }
    }
}

/// Reads one part as text, bounded; None when the archive has no such part.
fn read_part(
    rel: &str,
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limits: ZipLimits,
) -> Result<Option<String>, DocIssue> {
    let Some(index) = zip.index_for_name(name) else {
        return Ok(None);
    };
    let mut file = zip.by_index(index).map_err(|e| {
        let (reason, kind) = if e.to_string().to_lowercase().contains("password") {
            ("encrypted", IssueKind::Skipped)
        } else {
            ("corrupt", IssueKind::Failed)
        };
        DocIssue::new(
            rel,
            kind,
            reason,
            format!("cannot open {name} in the zip: {e}"),
        )
    })?;
    let compressed = file.compressed_size().max(1);
    let too_big =
        |size: u64, declared: bool| {
            let ratio = size / compressed;
            let (reason, kind) = if ratio > limits.max_ratio {
                ("zip_bomb", IssueKind::Skipped)
            } else {
                ("too_large", IssueKind::Skipped)
            };
            DocIssue::new(
                rel,
                kind,
                reason,
                format!(
                "{name} {} {} bytes (over {}) from {compressed} compressed bytes (ratio {ratio}:1)",
                if declared { "declares" } else { "decompresses to more than" },
                size,
                limits.max_part_bytes
            ),
            )
        };
    if file.size() > limits.max_part_bytes {
        return Err(too_big(file.size(), true));
    }
    let mut buf = Vec::new();
    (&mut file)
        .take(limits.max_part_bytes + 1)
        .read_to_end(&mut buf)
        .map_err(|e| {
            DocIssue::new(
                rel,
                IssueKind::Failed,
                "corrupt",
                format!("cannot decompress {name}: {e}"),
            )
        })?;
    if buf.len() as u64 > limits.max_part_bytes {
        return Err(too_big(buf.len() as u64, false));
    }
    let xml = if buf.starts_with(&[0xFF, 0xFE]) || buf.starts_with(&[0xFE, 0xFF]) {
        let (enc, bom) = encoding_rs::Encoding::for_bom(&buf).unwrap_or((encoding_rs::UTF_8, 0));
        enc.decode_without_bom_handling(&buf[bom..]).0.into_owned()
    } else {
        let body = buf.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(&buf);
        String::from_utf8_lossy(body).into_owned()
    };
    Ok(Some(xml))
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name).ok().flatten().and_then(|a| {
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()
            .map(|v| v.into_owned())
    })
}

/// The heading level of a style name or id: "heading 2" / "Heading2" -> 2, "Title" -> 1.
fn level_from_name(name: &str) -> Option<usize> {
    let n = name.trim().to_ascii_lowercase();
    if n == "title" {
        return Some(1);
    }
    let rest = n.strip_prefix("heading")?.trim();
    match rest.parse::<usize>() {
        Ok(l) if (1..=9).contains(&l) => Some(l),
        _ => None,
    }
}

/// styleId -> heading level, from `word/styles.xml` (names like "heading 1", or an outline
/// level in the style's paragraph properties). Localized ids ("berschrift1") resolve
/// through their English built-in names.
fn heading_styles(xml: &str) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    let mut reader = Reader::from_str(xml);
    let mut current: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                "style" => {
                    current = attr(&e, "w:styleId");
                    if let Some(id) = &current {
                        if let Some(l) = level_from_name(id) {
                            map.insert(id.clone(), l);
                        }
                    }
                }
                "name" => {
                    if let (Some(id), Some(l)) = (
                        &current,
                        attr(&e, "w:val").as_deref().and_then(level_from_name),
                    ) {
                        map.insert(id.clone(), l);
                    }
                }
                "outlineLvl" => {
                    if let (Some(id), Some(l)) = (
                        &current,
                        attr(&e, "w:val").and_then(|v| v.parse::<usize>().ok()),
                    ) {
                        if l < 9 {
                            map.entry(id.clone()).or_insert(l + 1);
                        }
                    }
                }
                _ => {}
            },
            Ok(Event::End(e)) if e.local_name().as_ref() == "style" => current = None,
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    map
}

/// One paragraph being collected.
#[derive(Default)]
struct Para {
    text: String,
    level: Option<usize>,
    list: Option<usize>,
}

/// One table being collected: the current row's cells and the current cell's text.
#[derive(Default)]
struct Table {
    row: Vec<String>,
    cell: String,
}

#[derive(Default)]
struct Extract {
    styles: HashMap<String, usize>,
    text: String,
    sections: Vec<Section>,
    stack: Vec<(usize, String)>,
    paras: Vec<Para>,
    tables: Vec<Table>,
    in_t: bool,
    /// Depth inside elements whose content is skipped (mc:Fallback, w:delText, ...).
    skip: usize,
    /// The previous block was a list item or table row (joined by one newline, not two).
    tight: bool,
}

impl Extract {
    fn run(&mut self, xml: &str) -> Result<(), quick_xml::Error> {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().check_end_names = false;
        loop {
            let ev = reader.read_event()?;
            match ev {
                Event::Start(e) => {
                    let name = e.local_name().as_ref().to_string();
                    if self.skip > 0
                        || matches!(
                            name.as_str(),
                            "Fallback" | "delText" | "instrText" | "tabs" | "rPr"
                        )
                    {
                        self.skip += 1;
                        continue;
                    }
                    self.start(&name, &e);
                }
                Event::Empty(e) if self.skip == 0 => {
                    let name = e.local_name().as_ref().to_string();
                    self.start(&name, &e);
                    self.end(&name);
                }
                Event::End(e) => {
                    if self.skip > 0 {
                        self.skip -= 1;
                        continue;
                    }
                    let name = e.local_name().as_ref().to_string();
                    self.end(&name);
                }
                Event::Text(t) if self.in_t && self.skip == 0 => {
                    let s = t.xml10_content();
                    self.push_str(&s);
                }
                Event::CData(t) if self.in_t && self.skip == 0 => {
                    let s = t.xml10_content().into_owned();
                    self.push_str(&s);
                }
                Event::GeneralRef(r) if self.in_t && self.skip == 0 => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        Ok(None) => {
                            quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                                .map(str::to_string)
                        }
                        Err(_) => None,
                    };
                    if let Some(s) = resolved {
                        self.push_str(&s);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        while !self.paras.is_empty() {
            self.end_para();
        }
        while !self.tables.is_empty() {
            self.end("tbl");
        }
        let trimmed = self.text.trim_end().len();
        self.text.truncate(trimmed);
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        Ok(())
    }

    fn push_str(&mut self, s: &str) {
        if let Some(p) = self.paras.last_mut() {
            p.text.push_str(s);
        }
    }

    fn start(&mut self, name: &str, e: &BytesStart<'_>) {
        match name {
            "p" => self.paras.push(Para::default()),
            "t" => self.in_t = true,
            "tab" => self.push_str("\t"),
            "br" | "cr" => self.push_str("\n"),
            "noBreakHyphen" => self.push_str("-"),
            "pStyle" => {
                let level = attr(e, "w:val").and_then(|id| {
                    self.styles
                        .get(&id)
                        .copied()
                        .or_else(|| level_from_name(&id))
                });
                if let (Some(p), Some(l)) = (self.paras.last_mut(), level) {
                    p.level.get_or_insert(l);
                }
            }
            "outlineLvl" => {
                let l = attr(e, "w:val").and_then(|v| v.parse::<usize>().ok());
                if let (Some(p), Some(l)) = (self.paras.last_mut(), l) {
                    if l < 9 {
                        p.level = Some(l + 1);
                    }
                }
            }
            "ilvl" => {
                let l = attr(e, "w:val").and_then(|v| v.parse::<usize>().ok());
                if let Some(p) = self.paras.last_mut() {
                    p.list = Some(l.unwrap_or(0).min(8));
                }
            }
            "numPr" => {
                if let Some(p) = self.paras.last_mut() {
                    p.list.get_or_insert(0);
                }
            }
            "tbl" => self.tables.push(Table::default()),
            _ => {}
        }
    }

    fn end(&mut self, name: &str) {
        match name {
            "t" => self.in_t = false,
            "p" => self.end_para(),
            "tc" => {
                if let Some(t) = self.tables.last_mut() {
                    let cell = std::mem::take(&mut t.cell);
                    t.row.push(cell.trim().replace('\n', " "));
                }
            }
            "tr" => {
                if let Some(t) = self.tables.last_mut() {
                    let row = std::mem::take(&mut t.row);
                    if row.iter().any(|c| !c.is_empty()) {
                        let line = format!("| {} |", row.join(" | "));
                        self.emit_block(&line, true, None);
                    }
                }
            }
            "tbl" => {
                self.tables.pop();
            }
            _ => {}
        }
    }

    fn end_para(&mut self) {
        let Some(p) = self.paras.pop() else {
            return;
        };
        let body = p.text.trim();
        if body.is_empty() {
            return;
        }
        // A paragraph inside a text box belongs to the enclosing paragraph.
        if let Some(outer) = self.paras.last_mut() {
            if !outer.text.is_empty() && !outer.text.ends_with(char::is_whitespace) {
                outer.text.push(' ');
            }
            outer.text.push_str(body);
            outer.text.push(' ');
            return;
        }
        if let Some(t) = self.tables.last_mut() {
            if !t.cell.is_empty() {
                t.cell.push(' ');
            }
            t.cell.push_str(body);
            return;
        }
        match (p.level, p.list) {
            (Some(level), _) => {
                let title = body.replace(['\n', '\t'], " ");
                let line = format!("{} {}", "#".repeat(level.min(6)), title);
                self.emit_block(&line, false, Some((level, title)));
            }
            (None, Some(indent)) => {
                let line = format!("{}- {}", "  ".repeat(indent), body);
                self.emit_block(&line, true, None);
            }
            (None, None) => {
                let body = body.to_string();
                self.emit_block(&body, false, None);
            }
        }
    }

    /// Appends a block: a blank line before it, unless it continues a list or table.
    fn emit_block(&mut self, block: &str, tight: bool, heading: Option<(usize, String)>) {
        if !self.text.is_empty() {
            self.text
                .push_str(if tight && self.tight { "\n" } else { "\n\n" });
        }
        if let Some((level, title)) = heading {
            sections::push_heading(
                &mut self.sections,
                &mut self.stack,
                self.text.len(),
                level,
                title,
            );
        }
        self.text.push_str(block);
        self.tight = tight;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn docx(document: &str, styles: Option<&str>) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file("word/document.xml", opts).unwrap();
        w.write_all(document.as_bytes()).unwrap();
        if let Some(s) = styles {
            w.start_file("word/styles.xml", opts).unwrap();
            w.write_all(s.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    const NS: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006""#;

    #[test]
    fn paragraphs_headings_lists_tables_entities() {
        let body = r#"<w:p><w:pPr><w:pStyle w:val="Kop1"/></w:pPr><w:r><w:t>Intro</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">Smith &amp; Co </w:t></w:r><w:r><w:t>&lt;ok&gt; &#233;t&#xE9;</w:t></w:r><w:r><w:delText>gone</w:delText></w:r></w:p>
<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>first</w:t></w:r></w:p>
<w:p><w:pPr><w:numPr><w:ilvl w:val="1"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>nested</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>Data</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>b</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>c</w:t></w:r></w:p></w:tc><w:tc><w:p/></w:tc></w:tr></w:tbl>
<w:p><w:r><mc:AlternateContent><mc:Choice><w:txbxContent><w:p><w:r><w:t>boxed</w:t></w:r></w:p></w:txbxContent></mc:Choice><mc:Fallback><w:t>boxed again</w:t></mc:Fallback></mc:AlternateContent></w:r><w:r><w:t>after</w:t><w:tab/><w:t>tab</w:t></w:r></w:p>
<w:p><w:pPr><w:outlineLvl w:val="0"/></w:pPr><w:r><w:t>Top</w:t></w:r></w:p>"#;
        let doc = format!("<w:document {NS}><w:body>{body}</w:body></w:document>");
        let styles = format!(
            r#"<w:styles {NS}><w:style w:type="paragraph" w:styleId="Kop1"><w:name w:val="heading 1"/></w:style></w:styles>"#
        );
        let d = read_docx("a.docx", &docx(&doc, Some(&styles))).unwrap();
        assert_eq!(
            d.text,
            "# Intro\n\nSmith & Co <ok> été\n\n- first\n  - nested\n\n## Data\n\n| a | b |\n| c |  |\n\nboxed after\ttab\n\n# Top\n"
        );
        let labels: Vec<&str> = d.sections.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, vec!["Intro", "Intro > Data", "Top"]);
        assert_eq!(d.section_at(d.text.find("first").unwrap()), Some("Intro"));
        assert_eq!(
            d.section_at(d.text.find("| c").unwrap()),
            Some("Intro > Data")
        );
    }

    #[test]
    fn bombs_and_garbage() {
        let big = "<w:p><w:r><w:t>aaaaaaaaaaaaaaaaaaaaaaaaaaaa</w:t></w:r></w:p>".repeat(20_000);
        let doc = format!("<w:document {NS}><w:body>{big}</w:body></w:document>");
        let bytes = docx(&doc, None);
        let small = ZipLimits {
            max_entries: 10,
            max_part_bytes: 100_000,
            max_ratio: 100,
        };
        let e = read_docx_with("a.docx", &bytes, small).unwrap_err();
        assert_eq!(e.reason, "zip_bomb", "{}", e.detail);
        let e = read_docx_with(
            "a.docx",
            &bytes,
            ZipLimits {
                max_ratio: 1_000_000,
                ..small
            },
        )
        .unwrap_err();
        assert_eq!(e.reason, "too_large");
        let e = read_docx_with(
            "a.docx",
            &bytes,
            ZipLimits {
                max_entries: 0,
                ..DEFAULT_LIMITS
            },
        )
        .unwrap_err();
        assert_eq!(e.reason, "zip_bomb");
        assert!(read_docx("a.docx", &bytes).is_ok());
        let e = read_docx("a.docx", b"PK\x03\x04 not really").unwrap_err();
        assert_eq!((e.reason, e.kind), ("corrupt", IssueKind::Failed));
        let mut enc = CFB_MAGIC.to_vec();
        enc.extend([0u8; 512]);
        assert_eq!(read_docx("a.docx", &enc).unwrap_err().reason, "encrypted");
        // A document part cut short between elements keeps what was read before the cut
        // (open paragraphs are closed at the end of input); cut inside a tag, it is corrupt.
        let d = read_docx("a.docx", &docx("<w:document><w:body><w:p>", None)).unwrap();
        assert_eq!(d.text, "");
        let kept = "<w:document><w:body><w:p><w:r><w:t>kept</w:t></w:r></w:p><w:p><w:r><w:t";
        let d = read_docx("a.docx", &docx(&format!("{kept}>cut"), None)).unwrap();
        assert_eq!(d.text, "kept\n\ncut\n");
        let e = read_docx("a.docx", &docx(kept, None)).unwrap_err();
        assert_eq!((e.reason, e.kind), ("corrupt", IssueKind::Failed), "{e:?}");
        assert!(e.detail.contains("not well-formed XML"), "{}", e.detail);
    }
}
