//! Heading paths ("Guide > Install"): the section label every chunk carries for provenance.
//! Each structured reader (Markdown, HTML rendered to Markdown, reStructuredText, DOCX) finds
//! its headings its own way and records them here through [`push_heading`]; Markdown's are
//! found by a CommonMark parser (`pulldown-cmark`), because hand-written line matching
//! misses setext headings (`Title` over `=====`) and cannot tell a `#` line inside a code
//! fence or an HTML block from a heading.

use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag};

use super::document::Section;

/// Markdown headings (ATX `## Title` and setext `Title` over `===`/`---`) as heading paths.
/// Only headings at the top level of the document count: one inside a block quote or a
/// list item belongs to that block, not to the document's outline. A section starts at the
/// start of its heading's first line.
pub fn markdown_sections(text: &str) -> Vec<Section> {
    // Front matter (`---` ... `---`) is parsed as a metadata block, so that its closing
    // `---` does not turn the line above it into a setext heading.
    let parser = Parser::new_ext(text, Options::ENABLE_YAML_STYLE_METADATA_BLOCKS);
    let mut sections = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    for (event, range) in parser.into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) if depth == 0 => {
                depth += 1;
                let start = line_start(text, range.start);
                if let Some(title) = heading_title(text, range) {
                    push_heading(&mut sections, &mut stack, start, level as usize, title);
                }
            }
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    sections
}

/// The byte offset where the line holding `at` starts.
fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// A heading's title as written (inline markup kept, as in the source), or `None` for an
/// empty one. ATX: the line without its `#` marks (opening and closing); setext: the text
/// lines above the underline, trimmed and joined by a space.
fn heading_title(text: &str, range: Range<usize>) -> Option<String> {
    let source = &text[range];
    let trimmed = source.trim_start();
    let title = if trimmed.starts_with('#') {
        let line = trimmed.lines().next().unwrap_or("");
        let rest = line.trim_start_matches('#');
        rest.trim().trim_end_matches('#').trim().to_string()
    } else {
        let mut lines: Vec<&str> = source.trim_end().lines().collect();
        lines.pop(); // the underline
        lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (!title.is_empty()).then_some(title)
}

/// Records a heading at `level` (1 = top) starting at byte `start`: pops deeper or equal
/// headings off `stack` and pushes a section labelled with the whole path.
pub(crate) fn push_heading(
    sections: &mut Vec<Section>,
    stack: &mut Vec<(usize, String)>,
    start: usize,
    level: usize,
    title: String,
) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(md: &str) -> Vec<String> {
        markdown_sections(md).into_iter().map(|s| s.label).collect()
    }

    #[test]
    fn heading_paths_ignore_code_fences() {
        let md = "# Guide\nintro\n## Install\nrun\n```\n# not a heading\n```\n## Use\n### Flags\nx\n# Other\n";
        assert_eq!(
            labels(md),
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
    fn setext_and_atx_headings_outside_code() {
        let md = "Guide\n=====\n\nintro\n\nInstall\n-------\nrun\n\n\
                  ~~~\nNot a title\n===========\n# nor this\n~~~\n\n\
                  ### Flags ###\nx\n\n    # indented code\n\n\
                  > # quoted\n\n- # in a list\n\nTwo line\ntitle\n=====\nend\n";
        assert_eq!(
            labels(md),
            vec![
                "Guide",
                "Guide > Install",
                "Guide > Install > Flags",
                "Two line title"
            ]
        );
        let s = markdown_sections(md);
        assert_eq!(s[0].start, 0);
        assert_eq!(&md[s[1].start..s[1].start + 7], "Install");
        assert_eq!(&md[s[2].start..s[2].start + 9], "### Flags");
        assert_eq!(&md[s[3].start..s[3].start + 8], "Two line");
    }

    #[test]
    fn front_matter_and_empty_headings_are_not_sections() {
        let md = "---\ntitle: x\n---\n\n#\n\n  ## Indented *title*  ##\nbody\n";
        let s = markdown_sections(md);
        assert_eq!(labels(md), vec!["Indented *title*"]);
        assert_eq!(&md[s[0].start..s[0].start + 4], "  ##");
    }
}
