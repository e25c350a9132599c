//! The records of a finished run, read back from `entities.jsonl` and `relations.jsonl` one
//! line at a time (memory stays flat however many there are). Fields this reader does not
//! know are ignored, so outputs with extra fields still export.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Where a mention was found: `{"doc", "chunk", "section"?}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Source {
    pub doc: String,
    pub chunk: u64,
    #[serde(default)]
    pub section: Option<String>,
}

/// One line of `entities.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct Entity {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub mentions: u64,
    #[serde(default)]
    pub sources: Vec<Source>,
}

/// One line of `relations.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct Relation {
    pub id: String,
    pub source: String,
    pub target: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub weight: f64,
    #[serde(default)]
    pub mentions: u64,
    #[serde(default)]
    pub sources: Vec<Source>,
}

fn clean(s: &mut String) {
    if s.contains('\0') {
        s.retain(|c| c != '\0');
    }
}

fn clean_sources(list: &mut [Source]) {
    for s in list {
        clean(&mut s.doc);
        if let Some(sec) = &mut s.section {
            clean(sec);
        }
    }
}

impl CleanRecord for Entity {
    const WHAT: &'static str = "entity";
    fn clean_record(&mut self) {
        for s in [
            &mut self.id,
            &mut self.name,
            &mut self.kind,
            &mut self.description,
        ] {
            clean(s);
        }
        clean_sources(&mut self.sources);
    }
}

impl CleanRecord for Relation {
    const WHAT: &'static str = "relation";
    fn clean_record(&mut self) {
        for s in [
            &mut self.id,
            &mut self.source,
            &mut self.target,
            &mut self.kind,
            &mut self.description,
        ] {
            clean(s);
        }
        clean_sources(&mut self.sources);
    }
}

/// Distinct document paths of a source list, in order of first appearance.
pub fn docs(sources: &[Source]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for s in sources {
        // Source lists are short (capped by the merge) and grouped by document.
        if !out.contains(&s.doc.as_str()) {
            out.push(&s.doc);
        }
    }
    out
}

/// Reads one JSONL output file record by record. Errors are `InvalidData` with a sentence
/// naming the file and line.
pub struct JsonlReader {
    path: PathBuf,
    reader: BufReader<File>,
    line: String,
    lineno: u64,
}

impl JsonlReader {
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 16, file),
            line: String::new(),
            lineno: 0,
        })
    }

    /// The next record and the bytes its line took, or `None` at the end.
    pub fn read<T: DeserializeOwned + CleanRecord>(&mut self) -> io::Result<Option<(T, u64)>> {
        loop {
            self.line.clear();
            let n = self.reader.read_line(&mut self.line).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("cannot read {}: {e}", self.path.display()),
                )
            })?;
            if n == 0 {
                return Ok(None);
            }
            self.lineno += 1;
            let text = self.line.trim();
            if text.is_empty() {
                continue;
            }
            let mut rec: T = serde_json::from_str(text).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} line {} is not a valid {} record ({e}): the outputs are damaged or were \
                         edited by hand; rerun `aegis-ingest run` on the corpus to rewrite them",
                        self.path.display(),
                        self.lineno,
                        T::WHAT
                    ),
                )
            })?;
            rec.clean_record();
            return Ok(Some((rec, n as u64)));
        }
    }
}

/// The record types the reader yields. NUL characters are dropped on reading: JSON can
/// carry them, but PostgreSQL text, XML and the graph databases cannot.
pub trait CleanRecord {
    const WHAT: &'static str;
    fn clean_record(&mut self);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_missing_optional_ones_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("entities.jsonl");
        std::fs::write(
            &p,
            concat!(
                r#"{"id":"ent_1","name":"A\u0000b","type":"PERSON","description":"d","mentions":2,"sources":[{"doc":"a.md","chunk":0,"section":"H"}],"other_types":["ROLE"]}"#,
                "\n\n",
                r#"{"id":"ent_2","name":"B","type":"ROLE"}"#,
                "\n"
            ),
        )
        .unwrap();
        let mut r = JsonlReader::open(&p).unwrap();
        let (a, _): (Entity, u64) = r.read().unwrap().unwrap();
        assert_eq!(a.name, "Ab");
        assert_eq!(a.sources[0].section.as_deref(), Some("H"));
        let (b, _): (Entity, u64) = r.read().unwrap().unwrap();
        assert_eq!((b.mentions, b.sources.len()), (0, 0));
        assert!(r.read::<Entity>().unwrap().is_none());
    }

    #[test]
    fn a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("relations.jsonl");
        std::fs::write(&p, "{\"id\":\"rel_1\"}\n").unwrap();
        let err = JsonlReader::open(&p)
            .unwrap()
            .read::<Relation>()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
