//! A document that was not (fully) extracted, and why: what the walk and the readers emit
//! instead of text, counted and listed by the report.

use serde::Serialize;

/// Whether a document not extracted counts as done (skipped for a stated reason) or as a
/// failure (exit code 1; a rerun retries it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueKind {
    Skipped,
    Failed,
}

/// A document that was not (fully) extracted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocIssue {
    pub doc: String,
    #[serde(skip)]
    pub kind: IssueKind,
    /// Stable reason code (`binary`, `empty`, `unsupported_type`, `too_large`, ...).
    pub reason: &'static str,
    pub detail: String,
}

impl DocIssue {
    pub fn new(
        doc: impl Into<String>,
        kind: IssueKind,
        reason: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            doc: doc.into(),
            kind,
            reason,
            detail: detail.into(),
        }
    }
}
