//! What a reader makes of a file: its text, its format and its labelled sections.

/// Formats known to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Text,
    Markdown,
    /// reStructuredText: plain text with section titles as sections.
    Rst,
    /// HTML, rendered to Markdown-like text.
    Html,
    /// PDF: one section per page ("p. N").
    Pdf,
    /// Word (OOXML), rendered to Markdown-like text.
    Docx,
}

impl Format {
    /// Markdown-aware chunking applies to this format (its text has `#` headings, lists).
    pub fn is_markdown(self) -> bool {
        matches!(self, Format::Markdown | Format::Html | Format::Docx)
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
