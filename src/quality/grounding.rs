//! Grounding: whether the names a run kept are found in their chunk's text, measured from a
//! finished run's outputs and its corpus (read again), for `eval` and for the run's
//! `--min-grounded` gate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::chunk::{ChunkSettings, Chunker};
use crate::error::RunError;
use crate::merge::resolve::{fold_case, punctuation, resolved_key};
use crate::outdir::finished::{into_run_error, read_report, Entity, FinishedRun, JsonlReader};
use crate::outdir::RunState;
use crate::read::walk::DocEntry;

/// How many (entity, chunk) mentions name something the chunk's text contains.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Grounding {
    pub checked: u64,
    pub grounded: u64,
    /// Mentions whose document could not be read again (changed or gone since the run).
    pub unverifiable: u64,
    pub share: Option<f64>,
    #[serde(skip)]
    pub per_doc: BTreeMap<String, (u64, u64)>,
}

/// Text normalized for name search: case-folded, quotes, dashes and whitespace unified.
fn search_form(s: &str) -> String {
    punctuation(&fold_case(s))
}

/// Whether `needle` occurs in `hay` as whole words (no letter or digit right before or
/// after it).
fn contains_words(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(pos) = hay[from..].find(needle) {
        let start = from + pos;
        let end = start + needle.len();
        let before = hay[..start].chars().next_back();
        let after = hay[end..].chars().next();
        let edge = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        if edge(before) && edge(after) {
            return true;
        }
        from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// A predicted name is grounded in a text when the text contains it (after case folding
/// and punctuation normalization), or its resolved form (possessive, article, legal suffix
/// dropped), as whole words.
pub fn grounded_in(name: &str, text_form: &str) -> bool {
    contains_words(text_form, &search_form(name)) || contains_words(text_form, &resolved_key(name))
}

/// The grounded share of a finished run's entities, re-reading the corpus with the run's
/// reader and chunk settings (from `run.json`). Each document is read once; only names and
/// chunk numbers are held per document.
pub fn measure_grounding(run: &FinishedRun) -> Result<Grounding, RunError> {
    // doc -> (chunk, name index)
    let mut by_doc: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut r = JsonlReader::open(&run.entities_path()).map_err(into_run_error)?;
    while let Some((e, _)) = r.read::<Entity>().map_err(into_run_error)? {
        let n = names.len() as u32;
        names.push(e.name);
        for s in e.sources {
            // A chunk number past u32 is no chunk the chunker gives: the whole document.
            let chunk = u32::try_from(s.chunk).unwrap_or(u32::MAX);
            by_doc.entry(s.doc).or_default().push((chunk, n));
        }
    }
    grounding_of(&by_doc, &names, &run.state)
}

fn grounding_of(
    by_doc: &BTreeMap<String, Vec<(u32, u32)>>,
    names: &[String],
    state: &RunState,
) -> Result<Grounding, RunError> {
    let corpus = PathBuf::from(&state.corpus);
    let base = if corpus.is_file() {
        corpus.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        corpus.clone()
    };
    let chunker = Chunker::new(ChunkSettings {
        tokens: state.chunk_tokens,
        overlap: state.chunk_overlap,
    })
    .map_err(|e| RunError::checkpoint(format!("run.json's chunk settings: {e}")))?;
    let max_size = state.max_file_size.unwrap_or(u64::MAX);
    let mut g = Grounding::default();
    for (doc, mentions) in by_doc {
        let path = base.join(doc);
        let entry = DocEntry {
            rel: doc.clone(),
            size: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
            path,
        };
        let Ok(read) = crate::read::read_document(&entry, max_size) else {
            g.unverifiable += mentions.len() as u64;
            continue;
        };
        let chunks: Vec<String> = chunker
            .chunk(&read)
            .into_iter()
            .map(|c| search_form(&c.text))
            .collect();
        let whole = search_form(&read.text);
        let d = g.per_doc.entry(doc.clone()).or_default();
        for &(chunk, n) in mentions {
            // A chunk number the chunker does not give again (settings changed since):
            // the whole document.
            let text = chunks.get(chunk as usize).unwrap_or(&whole);
            let ok = grounded_in(&names[n as usize], text);
            d.0 += 1;
            d.1 += u64::from(ok);
            g.checked += 1;
            g.grounded += u64::from(ok);
        }
    }
    g.share = (g.checked > 0).then(|| g.grounded as f64 / g.checked as f64);
    Ok(g)
}

/// The run's grounded share for its gate: the report's when the run recorded one, else
/// measured from the outputs and the corpus.
pub fn run_grounded_share(out: &Path) -> Result<Option<f64>, RunError> {
    // A damaged report is no count: measured instead (opening the run names the damage).
    if let Ok(Some(report)) = read_report(out) {
        // The run's own count, made at validation (this run's answers).
        if let Some(share) = report.validation.grounded_share {
            return Ok(Some(share));
        }
        if let Some(g) = &report.grounding {
            if let Some(share) = g.share {
                return Ok(Some(share));
            }
            if let (Some(ok), Some(all)) = (g.grounded, g.checked.or(g.total)) {
                return Ok((all > 0).then(|| ok as f64 / all as f64));
            }
        }
    }
    Ok(measure_grounding(&FinishedRun::open(out)?)?.share)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_word_search() {
        assert!(contains_words("the ada language", "ada"));
        assert!(!contains_words("canada", "ada"));
        assert!(contains_words("acme's plant", "acme"));
        assert!(grounded_in(
            "Acme Inc.",
            &search_form("ACME opened a plant")
        ));
        assert!(grounded_in("O’Neil", &search_form("O'Neil said")));
        assert!(!grounded_in("Zurich", &search_form("Geneva")));
    }

    #[test]
    fn run_gate_prefers_the_reports_grounding_counters() {
        let dir = tempfile::tempdir().unwrap();
        let write = |v: serde_json::Value| {
            std::fs::write(dir.path().join("report.json"), v.to_string()).unwrap()
        };
        write(serde_json::json!({"grounding": {"share": 0.42}}));
        assert_eq!(run_grounded_share(dir.path()).unwrap(), Some(0.42));
        write(serde_json::json!({"grounding": {"grounded": 1, "checked": 4}}));
        assert_eq!(run_grounded_share(dir.path()).unwrap(), Some(0.25));
        write(serde_json::json!({"validation": {"grounded_share": 0.5}}));
        assert_eq!(run_grounded_share(dir.path()).unwrap(), Some(0.5));
        // Without counters it is measured, which needs a finished run.
        write(serde_json::json!({"status": "done"}));
        let err = run_grounded_share(dir.path()).unwrap_err();
        assert!(matches!(err, RunError::OutDir(_)), "{err:?}");
        let err = err.to_string();
        assert!(
            err.contains("no finished run") && err.contains("run.json"),
            "{err}"
        );
    }
}
