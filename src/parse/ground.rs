//! The grounding check: whether an extracted name occurs in its chunk's text, so that names
//! a model invents (or copies from the prompt) are dropped or flagged, never merged as facts.

use serde::{Deserialize, Serialize};

/// What to do with an entity whose name is not in its chunk's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Grounding {
    /// Drop it (and its relations), counted as `ungrounded`.
    #[default]
    Drop,
    /// Keep it, marked `"ungrounded": true` in the checkpoint and counted.
    Flag,
    /// No check.
    Off,
}

/// A chunk's text prepared for the grounding check: lower-cased words separated by single
/// spaces, with a space at each end, so that a name matches on word boundaries only.
#[derive(Debug, Clone)]
pub struct GroundText(String);

impl GroundText {
    pub fn new(text: &str) -> Self {
        let mut s = String::with_capacity(text.len() + 2);
        s.push(' ');
        ground_words_into(&mut s, text);
        s.push(' ');
        GroundText(s)
    }

    /// Whether `name`'s words occur in the text, in order and adjacent (case, punctuation
    /// and whitespace aside). A name with no letter or digit never does.
    pub fn contains(&self, name: &str) -> bool {
        let mut needle = String::with_capacity(name.len() + 2);
        needle.push(' ');
        ground_words_into(&mut needle, name);
        if needle.len() == 1 {
            return false;
        }
        needle.push(' ');
        self.0.contains(&needle)
    }
}

/// Appends the words of `text` (runs of letters and digits, lower-cased), one space apart.
fn ground_words_into(out: &mut String, text: &str) {
    let mut gap = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if gap && !out.ends_with(' ') {
                out.push(' ');
            }
            gap = false;
            for l in c.to_lowercase() {
                out.push(l);
            }
        } else {
            gap = true;
        }
    }
}
