//! reStructuredText: read as text (decoded like plain text), with section titles — a line
//! underlined (and optionally overlined) with one repeated punctuation character — kept as
//! heading-path sections. As in docutils, the level of an adornment style is the order in
//! which the style first appears.

use super::document::{Document, Format, Section};
use super::{sections, text};
use crate::read::issue::DocIssue;

pub fn read_rst(rel: &str, bytes: &[u8]) -> Result<Document, DocIssue> {
    let (text, notes) = text::decode(rel, bytes, None)?;
    let sections = rst_sections(&text);
    Ok(Document {
        text,
        format: Format::Rst,
        sections,
        notes,
    })
}

/// A line made of one repeated adornment character (at least 2 of them), if it is one.
fn adornment(line: &str) -> Option<char> {
    let line = line.trim_end();
    let mut chars = line.chars();
    let c = chars.next()?;
    const ADORN: &str = "=-`:'\"~^_*+#<>.!$%&,/;?@[\\]{|}()";
    if !ADORN.contains(c) || line.len() < 2 || !chars.all(|x| x == c) {
        return None;
    }
    Some(c)
}

/// Section titles as heading paths ("Guide > Install").
pub fn rst_sections(text: &str) -> Vec<Section> {
    // (start offset, line without its newline)
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        lines.push((offset, line.trim_end_matches(['\n', '\r'])));
        offset += line.len();
    }
    let mut styles: Vec<(char, bool)> = Vec::new();
    let mut sections = Vec::new();
    let mut stack = Vec::new();
    let mut in_literal = false;
    let mut literal_indent = 0usize;
    let mut i = 0;
    while i < lines.len() {
        let (start, line) = lines[i];
        let indent = line.len() - line.trim_start().len();
        // Skip indented literal blocks that follow a "::" paragraph.
        if in_literal {
            if line.trim().is_empty() || indent > literal_indent {
                i += 1;
                continue;
            }
            in_literal = false;
        }
        if line.trim_end().ends_with("::") {
            in_literal = true;
            literal_indent = indent;
            i += 1;
            continue;
        }
        // Overline + title + underline.
        if let Some(c) = adornment(line) {
            if i + 2 < lines.len() {
                let title = lines[i + 1].1.trim();
                if !title.is_empty()
                    && adornment(title).is_none()
                    && adornment(lines[i + 2].1) == Some(c)
                    && lines[i + 2].1.trim_end().len() == line.trim_end().len()
                {
                    let level = level_of(&mut styles, (c, true));
                    sections::push_heading(
                        &mut sections,
                        &mut stack,
                        start,
                        level,
                        title.to_string(),
                    );
                    i += 3;
                    continue;
                }
            }
        }
        // Title + underline, the title not indented and the underline at least as long.
        if i + 1 < lines.len()
            && indent == 0
            && !line.trim().is_empty()
            && adornment(line).is_none()
        {
            let under = lines[i + 1].1;
            let prev_blank = i == 0 || lines[i - 1].1.trim().is_empty();
            if let Some(c) = adornment(under) {
                if prev_blank && under.trim_end().chars().count() >= line.trim_end().chars().count()
                {
                    let level = level_of(&mut styles, (c, false));
                    sections::push_heading(
                        &mut sections,
                        &mut stack,
                        start,
                        level,
                        line.trim().to_string(),
                    );
                    i += 2;
                    continue;
                }
            }
        }
        i += 1;
    }
    sections
}

fn level_of(styles: &mut Vec<(char, bool)>, style: (char, bool)) -> usize {
    match styles.iter().position(|s| *s == style) {
        Some(p) => p + 1,
        None => {
            styles.push(style);
            styles.len()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_become_heading_paths() {
        let rst = "=====\nGuide\n=====\n\nIntro text.\n\nInstall\n-------\n\nRun it::\n\n    Not a title\n    -----------\n\nUsage\n-----\n\nFlags\n~~~~~\n\nx\n\n=====\nOther\n=====\n\nA line\nwith text ---- not underline\n";
        let s = rst_sections(rst);
        let labels: Vec<&str> = s.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            vec![
                "Guide",
                "Guide > Install",
                "Guide > Usage",
                "Guide > Usage > Flags",
                "Other"
            ]
        );
        assert_eq!(s[0].start, 0);
        assert_eq!(&rst[s[1].start..s[1].start + 7], "Install");
    }
}
