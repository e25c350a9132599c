//! The checkpoint: an append-only JSONL journal in `--out`, one record per finished or
//! failed chunk, owned by the single writer task. Crash-safe by construction: a record is
//! one `write` of one line; on open, a torn or garbage tail (what a crash or power cut can
//! leave) is cut off at the last good record, synced, and the run goes on; a bad record
//! followed by good ones is corruption and is reported, never silently dropped. Durability
//! is group commit: the writer syncs on a timer and at the end; a failed sync poisons the
//! journal (every later write fails) because retrying fsync can lie.
//!
//! The in-memory index maps each 16-byte chunk key to the last record's position, so
//! results are read back by offset when the outputs are rebuilt.
//!
//! Apart: `index` (keys, record places, the index at open), `scan` (reading the file at
//! open), `error` (what goes wrong, and which kind of problem it is for the user).

mod error;
mod index;
mod scan;

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::EngineKind;
use crate::parse::Extraction;

pub use error::JournalError;
pub use index::{BaseIndex, ChunkKey, IndexEntry, RecordRef};
pub use scan::OpenStats;

pub const FILE_NAME: &str = "checkpoint.jsonl";

/// One journal line, as written (borrowed: nothing is copied to write it).
#[derive(Debug, Serialize)]
#[serde(tag = "t")]
enum Record<'a> {
    #[serde(rename = "ok")]
    Done {
        k: &'a str,
        engine: EngineKind,
        model: &'a str,
        pt: u64,
        ct: u64,
        /// Unix seconds.
        at: u64,
        x: &'a Extraction,
    },
    #[serde(rename = "fail")]
    Failed {
        k: &'a str,
        class: &'a str,
        reason: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        raw: Option<&'a str>,
        at: u64,
    },
}

/// The extraction of an "ok" record, read in one pass (the other fields are skipped).
#[derive(Deserialize)]
struct DoneExtraction {
    x: Extraction,
}

pub struct Journal {
    path: PathBuf,
    file: File,
    len: u64,
    /// The records found at open, sorted by key (32 bytes a key, no hash-table slack).
    /// Records appended later are not indexed here: their writers keep the `RecordRef`s
    /// (the run's manifest), so no per-key table grows with a run.
    base: Arc<BaseIndex>,
    /// Records appended since open.
    appended: usize,
    /// Lines appended inside `begin_batch`..`end_batch`, written with one `write`.
    batch: Option<Vec<u8>>,
    spare: Vec<u8>,
    /// Set by a failed write or sync, to the kind of its error.
    poisoned: Option<std::io::ErrorKind>,
    unsynced: bool,
    pub opened: OpenStats,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Journal {
    /// Opens (or creates) the journal in `dir`, recovering a torn tail.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        let path = dir.join(FILE_NAME);
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        let mut file = crate::outdir::atomic::open_persistent(&path).map_err(io)?;
        let mut j = Journal {
            path: path.clone(),
            len: 0,
            base: Arc::default(),
            appended: 0,
            batch: None,
            spare: Vec::new(),
            poisoned: None,
            unsynced: false,
            opened: OpenStats::default(),
            file: file.try_clone().map_err(io)?,
        };
        let file_len = file.metadata().map_err(io)?.len();
        if file_len == 0 {
            j.len = scan::write_header(&mut file).map_err(io)?;
            file.sync_all().map_err(io)?;
            crate::outdir::atomic::sync_dir(dir).map_err(io)?;
            return Ok(j);
        }
        let scanned = scan::scan(&path, &mut file)?;
        j.base = Arc::new(scanned.base);
        j.opened = scanned.opened;
        let good_end = scanned.good_end;
        if good_end < file_len {
            file.set_len(good_end).map_err(io)?;
            file.sync_all().map_err(io)?;
            j.opened.torn_bytes_dropped = file_len - good_end;
        }
        j.len = good_end;
        file.seek(SeekFrom::Start(good_end)).map_err(io)?;
        j.file = file;
        Ok(j)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keys found at open plus records appended since (a key recorded again counts again).
    pub fn len(&self) -> usize {
        self.base.len() + self.appended
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frees the index of the records found at open (the run's own references stay valid;
    /// `at_open` is empty afterwards).
    pub fn release_index(&mut self) {
        self.base = Arc::default();
    }

    /// What was recorded before this run, for the producer's skip decisions (shared, not
    /// copied).
    pub fn at_open(&self) -> Arc<BaseIndex> {
        self.base.clone()
    }

    fn append_line(&mut self, line: &[u8]) -> Result<RecordRef, JournalError> {
        self.check_poisoned()?;
        match &mut self.batch {
            Some(buf) => {
                buf.extend_from_slice(line);
                buf.push(b'\n');
            }
            None => {
                let mut buf = Vec::with_capacity(line.len() + 1);
                buf.extend_from_slice(line);
                buf.push(b'\n');
                self.write_out(&buf)?;
            }
        }
        let at = RecordRef {
            offset: self.len,
            len: line.len() as u32,
        };
        self.appended += 1;
        self.len += line.len() as u64 + 1;
        self.unsynced = true;
        Ok(at)
    }

    fn write_out(&mut self, bytes: &[u8]) -> Result<(), JournalError> {
        self.file.write_all(bytes).map_err(|e| self.poison(e))
    }

    /// Err when an earlier write or sync failed.
    fn check_poisoned(&self) -> Result<(), JournalError> {
        match self.poisoned {
            Some(kind) => Err(JournalError::Poisoned {
                path: self.path.clone(),
                kind,
            }),
            None => Ok(()),
        }
    }

    /// A write or sync failed: nothing more is written (retrying fsync can lie).
    fn poison(&mut self, source: std::io::Error) -> JournalError {
        self.poisoned = Some(source.kind());
        JournalError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Records appended from here to `end_batch` go to the file in one write (the writer
    /// batches the results that are already waiting; each is written as soon as before,
    /// just not one syscall each). Nothing may read the journal inside a batch.
    pub fn begin_batch(&mut self) {
        if self.batch.is_none() {
            let mut buf = std::mem::take(&mut self.spare);
            buf.clear();
            self.batch = Some(buf);
        }
    }

    /// Writes the batch. A failure poisons the journal, as a failed single write does.
    pub fn end_batch(&mut self) -> Result<(), JournalError> {
        let Some(buf) = self.batch.take() else {
            return Ok(());
        };
        let res = if buf.is_empty() {
            Ok(())
        } else {
            self.write_out(&buf)
        };
        self.spare = buf;
        res
    }

    /// Records a finished chunk.
    pub fn record_done(
        &mut self,
        key: ChunkKey,
        engine: EngineKind,
        model: &str,
        pt: u64,
        ct: u64,
        x: &Extraction,
    ) -> Result<RecordRef, JournalError> {
        let rec = Record::Done {
            k: &key.hex(),
            engine,
            model,
            pt,
            ct,
            at: now_secs(),
            x,
        };
        let line = serde_json::to_vec(&rec).unwrap_or_default();
        self.append_line(&line)
    }

    /// Records a failed chunk (retried by the next run).
    pub fn record_failed(
        &mut self,
        key: ChunkKey,
        class: &str,
        reason: &str,
        raw: Option<&str>,
    ) -> Result<(), JournalError> {
        let raw = raw.map(|r| match r.char_indices().nth(4000) {
            Some((i, _)) => &r[..i],
            None => r,
        });
        let rec = Record::Failed {
            k: &key.hex(),
            class,
            reason,
            raw,
            at: now_secs(),
        };
        let line = serde_json::to_vec(&rec).unwrap_or_default();
        self.append_line(&line).map(|_| ())
    }

    /// Group commit: makes everything written so far durable. A failure poisons.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.end_batch()?;
        self.check_poisoned()?;
        if !self.unsynced {
            return Ok(());
        }
        self.file.sync_data().map_err(|e| self.poison(e))?;
        self.unsynced = false;
        Ok(())
    }

    /// The extraction in a result record.
    pub fn extraction(&self, at: RecordRef) -> Result<Option<Extraction>, JournalError> {
        let mut buf = Vec::new();
        self.read_record(at, &mut buf, |line| {
            serde_json::from_slice::<DoneExtraction>(line).map(|d| d.x)
        })
    }

    /// Reads a result record into `buf` (reused across calls) and hands its bytes to `f`,
    /// which may deserialize views borrowing from them. None for `RecordRef::NONE`.
    pub fn read_record<R>(
        &self,
        at: RecordRef,
        buf: &mut Vec<u8>,
        f: impl FnOnce(&[u8]) -> Result<R, serde_json::Error>,
    ) -> Result<Option<R>, JournalError> {
        if !at.is_some() {
            return Ok(None);
        }
        buf.clear();
        buf.resize(at.len as usize, 0);
        read_exact_at(&self.file, buf, at.offset).map_err(|source| JournalError::Io {
            path: self.path.clone(),
            source,
        })?;
        f(buf).map(Some).map_err(|err| JournalError::Corrupt {
            path: self.path.clone(),
            line: 0,
            offset: at.offset,
            detail: err.to_string(),
        })
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::Read;
    let mut f = file.try_clone()?;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RunError;
    use crate::parse::Entity;

    fn key(i: u8) -> ChunkKey {
        ChunkKey([i; 16])
    }

    /// A key's latest record as found at open.
    fn entry(j: &Journal, k: ChunkKey) -> Option<IndexEntry> {
        j.at_open().get(&k).copied()
    }

    /// A key's result as found at open.
    fn done_x(j: &Journal, k: ChunkKey) -> Option<Extraction> {
        let (at, _) = j.at_open().done(&k)?;
        j.extraction(at).unwrap()
    }

    fn ext(name: &str) -> Extraction {
        Extraction {
            entities: vec![Entity {
                name: name.into(),
                kind: "PERSON".into(),
                description: "d".into(),
                ungrounded: false,
            }],
            ..Default::default()
        }
    }

    /// A journal in `dir` holding one result per name (keys 1, 2, ...), closed; its path.
    fn written(dir: &Path, names: &[&str]) -> PathBuf {
        let mut j = Journal::open(dir).unwrap();
        for (i, name) in names.iter().enumerate() {
            j.record_done(key(i as u8 + 1), EngineKind::Vllm, "m", 1, 2, &ext(name))
                .unwrap();
        }
        dir.join(FILE_NAME)
    }

    #[test]
    fn records_survive_reopen_and_latest_wins() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut j = Journal::open(dir.path()).unwrap();
            j.record_failed(key(1), "timeout", "t/o", None).unwrap();
            j.record_done(key(1), EngineKind::Vllm, "m", 1, 2, &ext("Ada"))
                .unwrap();
            j.record_done(key(2), EngineKind::Ollama, "o", 1, 2, &ext("Bob"))
                .unwrap();
            j.sync().unwrap();
        }
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.len(), 2);
        let e = entry(&j, key(1)).unwrap();
        assert!(e.ok);
        assert_eq!(j.at_open().model_name(&e), "m");
        assert_eq!(done_x(&j, key(2)).unwrap().entities[0].name, "Bob");
        assert_eq!(j.opened.torn_bytes_dropped, 0);
        // What was there at open, as the producer sees it.
        let base = j.at_open();
        assert_eq!(base.done_model(&key(2)), Some("o"));
        assert_eq!(base.done_model(&key(3)), None);
        assert_eq!(base.done_by_model().get("m"), Some(&1));
    }

    #[test]
    fn a_batch_is_written_at_its_end_and_reads_back_like_single_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut j = Journal::open(dir.path()).unwrap();
        j.record_done(key(1), EngineKind::Vllm, "m", 1, 2, &ext("Ada"))
            .unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        j.begin_batch();
        let refs: Vec<RecordRef> = (2..=4u8)
            .map(|i| {
                j.record_done(key(i), EngineKind::Vllm, "m", 1, 2, &ext(&format!("N{i}")))
                    .unwrap()
            })
            .collect();
        j.record_failed(key(5), "timeout", "t/o", None).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), before);
        j.end_batch().unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > before);
        for (i, at) in (2..=4u8).zip(refs) {
            let x = j.extraction(at).unwrap().unwrap();
            assert_eq!(x.entities[0].name, format!("N{i}"));
        }
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.len(), 5);
        assert_eq!(done_x(&j, key(3)).unwrap().entities[0].name, "N3");
        assert!(!entry(&j, key(5)).unwrap().ok);
    }

    #[test]
    fn records_of_this_run_override_those_found_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut j = Journal::open(dir.path()).unwrap();
            for i in [5u8, 1, 9, 3] {
                j.record_done(key(i), EngineKind::Vllm, "m", 1, 2, &ext("Ada"))
                    .unwrap();
            }
            j.record_failed(key(7), "timeout", "t/o", None).unwrap();
        }
        {
            let mut j = Journal::open(dir.path()).unwrap();
            assert_eq!(j.len(), 5);
            // A failure at open, done now; a done key failing now; a new key.
            let cy = j
                .record_done(key(7), EngineKind::Ollama, "o", 1, 2, &ext("Cy"))
                .unwrap();
            j.record_failed(key(3), "server_error", "500", None)
                .unwrap();
            j.record_done(key(11), EngineKind::Vllm, "m", 1, 2, &ext("Di"))
                .unwrap();
            assert_eq!(j.extraction(cy).unwrap().unwrap().entities[0].name, "Cy");
            assert!(j.extraction(RecordRef::NONE).unwrap().is_none());
            // The snapshot taken at open does not change.
            assert_eq!(j.at_open().done_model(&key(3)), Some("m"));
            assert_eq!(j.at_open().done_model(&key(7)), None);
        }
        // Reopened: the latest record of each key wins.
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.len(), 6);
        assert_eq!(j.at_open().model_name(&entry(&j, key(7)).unwrap()), "o");
        assert_eq!(done_x(&j, key(7)).unwrap().entities[0].name, "Cy");
        assert!(!entry(&j, key(3)).unwrap().ok);
        assert!(done_x(&j, key(3)).is_none());
        assert_eq!(done_x(&j, key(5)).unwrap().entities[0].name, "Ada");
    }

    #[test]
    fn torn_or_garbage_tail_is_cut_and_writing_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path(), &["Ada"]);
        let good_len = std::fs::metadata(&path).unwrap().len();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"t\":\"ok\",\"k\":\"0101").unwrap();
        f.write_all(b"\n\x00\x00garbage\nmore garbage").unwrap();
        drop(f);
        let mut j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.len(), 1);
        assert!(j.opened.torn_bytes_dropped > 0);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good_len);
        j.record_done(key(3), EngineKind::Vllm, "m", 1, 2, &ext("Cy"))
            .unwrap();
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.len(), 2);
        assert_eq!(done_x(&j, key(3)).unwrap().entities[0].name, "Cy");
    }

    #[test]
    fn corruption_in_the_middle_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path(), &["Ada", "Bob"]);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines[1] = "{\"t\":\"ok\" BROKEN";
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let err = Journal::open(dir.path()).err().unwrap();
        assert!(
            matches!(err, JournalError::Corrupt { line: 2, .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains("corrupt at line 2"), "{text}");
        assert!(text.contains("--fresh"), "{text}");
        let run = RunError::from(err);
        assert!(matches!(run, RunError::Checkpoint(_)), "{run:?}");
        assert_eq!(run.to_string(), text, "the message is kept");
    }

    #[test]
    fn foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // Another kind of file, and a checkpoint of another version.
        for first in ["hello\n", "{\"aegis_checkpoint\":2}\n"] {
            std::fs::write(dir.path().join(FILE_NAME), first).unwrap();
            let err = Journal::open(dir.path()).err().unwrap();
            assert!(matches!(err, JournalError::Foreign { .. }), "{err}");
            assert!(err.to_string().contains("move the file away"), "{err}");
            assert!(matches!(RunError::from(err), RunError::Checkpoint(_)));
        }
    }

    #[test]
    fn io_errors_are_io_on_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no such folder");
        let err = Journal::open(&missing).err().unwrap();
        assert!(matches!(err, JournalError::Io { .. }), "{err}");
        let text = err.to_string();
        match RunError::from(err) {
            RunError::Io { path, kind, msg } => {
                assert_eq!(path, missing.join(FILE_NAME));
                assert_eq!(kind, std::io::ErrorKind::NotFound);
                assert_eq!(msg, text);
            }
            other => panic!("{other:?}"),
        }
        let poisoned = JournalError::Poisoned {
            path: missing.join(FILE_NAME),
            kind: std::io::ErrorKind::StorageFull,
        };
        let advice = format!("{poisoned}; and more advice");
        match poisoned.run_error(&advice) {
            RunError::Io { kind, msg, .. } => {
                assert_eq!(kind, std::io::ErrorKind::StorageFull);
                assert_eq!(msg, advice);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn key_hex_round_trip() {
        let k = ChunkKey([0xab; 16]);
        assert_eq!(ChunkKey::from_hex(&k.hex()), Some(k));
        assert_eq!(ChunkKey::from_hex("zz"), None);
    }
}
