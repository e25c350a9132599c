//! The one reader of a finished run's `--out` folder: its state (`run.json`), its report
//! and its output records, with one sentence for each way a folder can fail to hold one
//! (not there, unfinished, damaged). `eval`, `export`, `status`, `merge` and the quality
//! gates read a run through it, so they refuse the same folders with the same words.
//!
//! Records are read one line at a time (memory stays flat however many there are); fields
//! this reader does not know are ignored, so outputs with extra fields still read.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::RunError;
use crate::outdir::communities::{Community, CommunityReport, Description};
use crate::outdir::report::Report;
use crate::outdir::{
    RunState, COMMUNITIES_FILE, COMMUNITY_REPORTS_FILE, DESCRIPTIONS_FILE, ENTITIES_FILE,
    RELATIONS_FILE, REPORT_FILE, STATE_FILE,
};

/// A finished run: its state and report, and where its outputs are.
pub struct FinishedRun {
    pub out: PathBuf,
    pub state: RunState,
    pub report: Report,
}

impl FinishedRun {
    /// Opens the run in `out`: `OutDir` when the folder holds none (or is not a folder),
    /// `Checkpoint` when its state or report is damaged.
    pub fn open(out: &Path) -> Result<Self, RunError> {
        if out.exists() && !out.is_dir() {
            return Err(RunError::out_dir(format!(
                "{} is not a folder: pass the --out folder of a finished `aegis-ingest run`",
                out.display()
            )));
        }
        let missing: Vec<&str> = [STATE_FILE, REPORT_FILE, ENTITIES_FILE, RELATIONS_FILE]
            .into_iter()
            .filter(|f| !out.join(f).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(no_finished_run(out, &missing));
        }
        // Both were there a moment ago; gone since, they are missing all the same.
        let (Some(state), Some(report)) = (read_state(out)?, read_report(out)?) else {
            return Err(no_finished_run(out, &[STATE_FILE, REPORT_FILE]));
        };
        Ok(FinishedRun {
            out: out.to_path_buf(),
            state,
            report,
        })
    }

    pub fn entities_path(&self) -> PathBuf {
        self.out.join(ENTITIES_FILE)
    }

    pub fn relations_path(&self) -> PathBuf {
        self.out.join(RELATIONS_FILE)
    }

    /// Every entity, in file order.
    pub fn entities(&self) -> Result<Vec<Entity>, RunError> {
        read_records(&self.entities_path())
    }

    /// Every relation, in file order.
    pub fn relations(&self) -> Result<Vec<Relation>, RunError> {
        read_records(&self.relations_path())
    }

    /// The communities of the finishing step, when it has run (`None` when the file is
    /// not there).
    pub fn communities(&self) -> Result<Option<Vec<Community>>, RunError> {
        self.optional(COMMUNITIES_FILE)
    }

    /// The community reports, when the finishing step has written them.
    pub fn community_reports(&self) -> Result<Option<Vec<CommunityReport>>, RunError> {
        self.optional(COMMUNITY_REPORTS_FILE)
    }

    /// The summarized descriptions, when the finishing step has written them.
    pub fn descriptions(&self) -> Result<Option<Vec<Description>>, RunError> {
        self.optional(DESCRIPTIONS_FILE)
    }

    fn optional<T: DeserializeOwned + RecordKind>(
        &self,
        name: &str,
    ) -> Result<Option<Vec<T>>, RunError> {
        let path = self.out.join(name);
        if !path.is_file() {
            return Ok(None);
        }
        read_records(&path).map(Some)
    }
}

fn no_finished_run(out: &Path, missing: &[&str]) -> RunError {
    let started = out.join(crate::outdir::journal::FILE_NAME).exists();
    RunError::out_dir(format!(
        "no finished run in {}: {} missing{}; run `aegis-ingest run <CORPUS> --out {}` to the end first",
        out.display(),
        missing.join(", "),
        if started {
            " (a checkpoint is there: a run was started but has not finished)"
        } else {
            ""
        },
        out.display()
    ))
}

/// `run.json`, when there is one (a run in progress, or none yet, has none). Fields it
/// lacks take their defaults, so a state written by hand with only some fields reads.
pub fn read_state(out: &Path) -> Result<Option<RunState>, RunError> {
    let Some(bytes) = read_if_there(&out.join(STATE_FILE))? else {
        return Ok(None);
    };
    let parsed =
        serde_json::to_value(RunState::default()).and_then(
            |mut full| match serde_json::from_slice::<serde_json::Value>(&bytes)? {
                serde_json::Value::Object(given) => {
                    for (k, v) in given {
                        full[k] = v;
                    }
                    serde_json::from_value(full)
                }
                other => serde_json::from_value(other),
            },
        );
    parsed
        .map(Some)
        .map_err(|e| damaged(&out.join(STATE_FILE), &e))
}

/// `report.json`, when there is one.
pub fn read_report(out: &Path) -> Result<Option<Report>, RunError> {
    let path = out.join(REPORT_FILE);
    let Some(bytes) = read_if_there(&path)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| damaged(&path, &e))
}

/// The `communities` section of `out`'s `report.json`, while it still describes the
/// outputs there (`report::communities_current`): a run that leaves the outputs as they
/// were keeps it in the report it writes.
pub fn current_communities(out: &Path) -> Option<super::report::CommunitiesSection> {
    if !super::report::communities_current(out) {
        return None;
    }
    read_report(out).ok()??.communities
}

fn read_if_there(path: &Path) -> Result<Option<Vec<u8>>, RunError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RunError::io(
            path,
            &e,
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

fn damaged(path: &Path, e: &serde_json::Error) -> RunError {
    RunError::checkpoint(format!(
        "{} is unreadable: {e}; rerun `aegis-ingest run` on the same --out to rewrite it",
        path.display()
    ))
}

/// Every record of one output file, in file order.
pub fn read_records<T: DeserializeOwned + RecordKind>(path: &Path) -> Result<Vec<T>, RunError> {
    let mut r = JsonlReader::open(path).map_err(into_run_error)?;
    let mut out = Vec::new();
    while let Some((rec, _)) = r.read::<T>().map_err(into_run_error)? {
        out.push(rec);
    }
    Ok(out)
}

/// The `RunError` a reader's `io::Error` carries (the reader's errors always carry one;
/// any other error is an I/O error without a path).
pub fn into_run_error(e: io::Error) -> RunError {
    reader_error(e).unwrap_or_else(|e| RunError::Io {
        path: PathBuf::new(),
        kind: e.kind(),
        msg: e.to_string(),
    })
}

/// Takes the reader's `RunError` out of an `io::Error` (the record readers run inside
/// writers' `io::Result` closures); gives back any other error as it was.
pub fn reader_error(e: io::Error) -> Result<RunError, io::Error> {
    if e.get_ref().is_some_and(|i| i.is::<RunError>()) {
        if let Some(inner) = e.into_inner() {
            return inner
                .downcast::<RunError>()
                .map(|b| *b)
                .map_err(io::Error::other);
        }
        unreachable!("an error with a source has an inner error");
    }
    Err(e)
}

fn as_io(e: RunError) -> io::Error {
    let kind = match &e {
        RunError::Io { kind, .. } => *kind,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, e)
}

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
    /// Every distinct description fragment extracted (outputs of earlier versions have
    /// none: `description` is then the only one).
    #[serde(default)]
    pub fragments: Vec<String>,
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
    /// Every distinct description fragment extracted (outputs of earlier versions have
    /// none: `description` is then the only one).
    #[serde(default)]
    pub fragments: Vec<String>,
}

/// Names a record kind in the reader's messages.
pub trait RecordKind {
    const WHAT: &'static str;
}

impl RecordKind for Entity {
    const WHAT: &'static str = "entity";
}

impl RecordKind for Relation {
    const WHAT: &'static str = "relation";
}

impl RecordKind for Community {
    const WHAT: &'static str = "community";
}

impl RecordKind for CommunityReport {
    const WHAT: &'static str = "community report";
}

impl RecordKind for Description {
    const WHAT: &'static str = "description";
}

/// Reads one JSONL output file record by record. Its errors are `io::Error`s carrying a
/// `RunError` (see [`reader_error`]): `Io` for the file, `Checkpoint` for a damaged line,
/// naming the file and the line (FILE line N).
pub struct JsonlReader {
    path: PathBuf,
    reader: BufReader<File>,
    line: String,
    lineno: u64,
}

impl JsonlReader {
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path).map_err(|e| cannot_read(path, &e))?;
        Ok(Self {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 16, file),
            line: String::new(),
            lineno: 0,
        })
    }

    /// The next record and the bytes its line took, or `None` at the end.
    pub fn read<T: DeserializeOwned + RecordKind>(&mut self) -> io::Result<Option<(T, u64)>> {
        loop {
            self.line.clear();
            let n = self
                .reader
                .read_line(&mut self.line)
                .map_err(|e| cannot_read(&self.path, &e))?;
            if n == 0 {
                return Ok(None);
            }
            self.lineno += 1;
            let text = self.line.trim();
            if text.is_empty() {
                continue;
            }
            let rec: T = serde_json::from_str(text).map_err(|e| {
                as_io(RunError::checkpoint(format!(
                    "{} line {} is not a valid {} record ({e}): the outputs are damaged or were \
                     edited by hand; rerun `aegis-ingest run` on the corpus to rewrite them",
                    self.path.display(),
                    self.lineno,
                    T::WHAT
                )))
            })?;
            return Ok(Some((rec, n as u64)));
        }
    }
}

fn cannot_read(path: &Path, e: &io::Error) -> io::Error {
    as_io(RunError::io(
        path,
        e,
        format!("cannot read {}: {e}", path.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_missing_optional_ones_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(ENTITIES_FILE);
        std::fs::write(
            &p,
            concat!(
                r#"{"id":"ent_1","name":"A","type":"PERSON","description":"d","mentions":2,"sources":[{"doc":"a.md","chunk":0,"section":"H"}],"other_types":["ROLE"]}"#,
                "\n\n",
                r#"{"id":"ent_2","name":"B","type":"ROLE"}"#,
                "\n"
            ),
        )
        .unwrap();
        let all: Vec<Entity> = read_records(&p).unwrap();
        assert_eq!(all[0].sources[0].section.as_deref(), Some("H"));
        assert_eq!((all[1].mentions, all[1].sources.len()), (0, 0));
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn a_bad_line_is_named_and_typed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(RELATIONS_FILE);
        std::fs::write(&p, "{\"id\":\"rel_1\"}\n").unwrap();
        let err = JsonlReader::open(&p)
            .unwrap()
            .read::<Relation>()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let err = reader_error(err).unwrap();
        assert!(matches!(err, RunError::Checkpoint(_)), "{err:?}");
        assert!(
            err.to_string()
                .contains("line 1 is not a valid relation record"),
            "{err}"
        );
        let missing = read_records::<Entity>(&dir.path().join("nope.jsonl")).unwrap_err();
        assert!(matches!(missing, RunError::Io { .. }), "{missing:?}");
    }

    #[test]
    fn folders_without_a_finished_run_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = FinishedRun::open(&dir.path().join("none")).err().unwrap();
        assert!(matches!(err, RunError::OutDir(_)), "{err:?}");
        assert!(
            err.to_string().contains("no finished run in") && err.to_string().contains(STATE_FILE),
            "{err}"
        );
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let err = FinishedRun::open(&file).err().unwrap();
        assert!(matches!(err, RunError::OutDir(_)), "{err:?}");
        assert!(err.to_string().contains("is not a folder"), "{err}");
        for f in [ENTITIES_FILE, RELATIONS_FILE, REPORT_FILE] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        std::fs::write(dir.path().join(STATE_FILE), "[1").unwrap();
        let err = FinishedRun::open(dir.path()).err().unwrap();
        assert!(matches!(err, RunError::Checkpoint(_)), "{err:?}");
        assert!(err.to_string().contains("is unreadable"), "{err}");
    }

    #[test]
    fn a_state_written_by_hand_reads_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_state(dir.path()).unwrap().is_none());
        std::fs::write(
            dir.path().join(STATE_FILE),
            r#"{"corpus": "/data", "exit_code": 1}"#,
        )
        .unwrap();
        let s = read_state(dir.path()).unwrap().unwrap();
        assert_eq!(
            (s.corpus.as_str(), s.exit_code, s.chunk_tokens),
            ("/data", 1, 0)
        );
    }
}
