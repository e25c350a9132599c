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

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::EngineKind;
use crate::parse::Extraction;

pub const FILE_NAME: &str = "checkpoint.jsonl";
const HEADER: &str = "{\"aegis_checkpoint\":1}";

/// Content address of a chunk's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkKey(pub [u8; 16]);

impl ChunkKey {
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(out))
    }

    /// First 8 bytes: a per-chunk seed, so reruns sample the same way.
    /// Kept within i64 range: servers validate `seed` as a signed 64-bit integer.
    pub fn seed(&self) -> u64 {
        u64::from_le_bytes(self.0[..8].try_into().unwrap_or([0; 8])) & crate::engine::SEED_MASK
    }
}

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

/// The light view of a record read while indexing (the extraction is skipped).
#[derive(Deserialize)]
struct RecordHead {
    t: String,
    k: String,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    at: u64,
}

/// Where the latest record of a key is, and what it says.
#[derive(Debug, Clone, Copy)]
pub struct IndexEntry {
    pub offset: u64,
    pub len: u32,
    pub ok: bool,
    /// Index into `BaseIndex::models` (ok records only).
    pub model: u16,
}

/// The latest record of every key found when the journal was opened, sorted by key.
#[derive(Debug, Default)]
pub struct BaseIndex {
    entries: Vec<(ChunkKey, IndexEntry)>,
    /// Where the keys of each 16-bit prefix start in `entries` (keys are uniform hashes,
    /// so a bucket holds a handful): a lookup touches 2 or 3 cache lines instead of the
    /// 20 of a binary search over a million keys.
    buckets: Vec<u32>,
    models: Vec<String>,
}

const BUCKET_BITS: u32 = 16;

fn bucket_of(key: &ChunkKey) -> usize {
    usize::from(u16::from_be_bytes([key.0[0], key.0[1]]))
}

impl BaseIndex {
    /// The index over `entries` sorted by key.
    fn new(entries: Vec<(ChunkKey, IndexEntry)>, models: Vec<String>) -> Self {
        let mut buckets = vec![0u32; (1 << BUCKET_BITS) + 1];
        for (k, _) in &entries {
            buckets[bucket_of(k) + 1] += 1;
        }
        for i in 1..buckets.len() {
            buckets[i] += buckets[i - 1];
        }
        BaseIndex {
            entries,
            buckets,
            models,
        }
    }

    pub fn get(&self, key: &ChunkKey) -> Option<&IndexEntry> {
        let b = bucket_of(key);
        let (lo, hi) = match (self.buckets.get(b), self.buckets.get(b + 1)) {
            (Some(&lo), Some(&hi)) => (lo as usize, hi as usize),
            _ => return None,
        };
        let slice = self.entries.get(lo..hi)?;
        slice
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .map(|i| &slice[i].1)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn model_name(&self, entry: &IndexEntry) -> &str {
        self.models
            .get(entry.model as usize)
            .map_or("", String::as_str)
    }

    /// Where a key's result is, and its model, when its latest record is a result.
    pub fn done(&self, key: &ChunkKey) -> Option<(RecordRef, &str)> {
        self.get(key).filter(|e| e.ok).map(|e| {
            (
                RecordRef {
                    offset: e.offset,
                    len: e.len,
                },
                self.model_name(e),
            )
        })
    }

    /// The model of a key's result, when its latest record is a result.
    pub fn done_model(&self, key: &ChunkKey) -> Option<&str> {
        self.get(key).filter(|e| e.ok).map(|e| self.model_name(e))
    }

    /// Finished chunks per model.
    pub fn done_by_model(&self) -> std::collections::BTreeMap<String, u64> {
        let mut out = std::collections::BTreeMap::new();
        for (_, e) in self.entries.iter().filter(|(_, e)| e.ok) {
            *out.entry(self.model_name(e).to_string()).or_default() += 1;
        }
        out
    }
}

/// Where one result record is: what the merge reads back. `len` 0: no result (a failed
/// chunk), nothing to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordRef {
    pub offset: u64,
    pub len: u32,
}

impl RecordRef {
    pub const NONE: RecordRef = RecordRef { offset: 0, len: 0 };

    pub fn is_some(&self) -> bool {
        self.len > 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("checkpoint {path}: {source}; make --out readable and writable (permissions, free space) or pass another --out")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("checkpoint {path} is corrupt at line {line} (byte {offset}): {detail}. Good records follow it, so it is not a torn tail; move the file away or rerun with --fresh to start over")]
    Corrupt {
        path: PathBuf,
        line: u64,
        offset: u64,
        detail: String,
    },
    #[error("checkpoint {path} is not an aegis-ingest checkpoint (first line {first:?}): pass another --out, or move the file away")]
    Foreign { path: PathBuf, first: String },
    #[error("checkpoint {path}: an earlier sync failed, so nothing more is written (disk full or failing?): make room or fix the disk, then rerun to resume")]
    Poisoned { path: PathBuf },
}

/// What opening found.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenStats {
    pub records: u64,
    pub torn_bytes_dropped: u64,
    pub last_activity: u64,
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
    poisoned: bool,
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
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut j = Journal {
            path: path.clone(),
            len: 0,
            base: Arc::default(),
            appended: 0,
            batch: None,
            spare: Vec::new(),
            poisoned: false,
            unsynced: false,
            opened: OpenStats::default(),
            file: file.try_clone().map_err(io)?,
        };
        let file_len = file.metadata().map_err(io)?.len();
        if file_len == 0 {
            file.write_all(format!("{HEADER}\n").as_bytes())
                .map_err(io)?;
            file.sync_all().map_err(io)?;
            crate::outdir::atomic::sync_dir(dir).map_err(io)?;
            j.len = HEADER.len() as u64 + 1;
            return Ok(j);
        }
        let good_end = j.scan(&mut file)?;
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

    /// Reads every line; returns the end of the last good record. Bad lines at the tail
    /// are a torn write; a bad line followed by a good one is corruption.
    fn scan(&mut self, file: &mut File) -> Result<u64, JournalError> {
        let path = self.path.clone();
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut reader = BufReader::with_capacity(1 << 20, &*file);
        let mut line = Vec::new();
        let mut offset = 0u64;
        let mut good_end = 0u64;
        let mut line_no = 0u64;
        let mut first_bad: Option<(u64, u64, String)> = None;
        let mut found: Vec<(ChunkKey, IndexEntry)> = Vec::new();
        // Model names, each stored once; entries refer to them by number.
        let mut models: Vec<String> = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(io)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let start = offset;
            offset += n as u64;
            let complete = line.last() == Some(&b'\n');
            let body = if complete { &line[..n - 1] } else { &line[..] };
            if line_no == 1 {
                if complete && body == HEADER.as_bytes() {
                    good_end = offset;
                    continue;
                }
                if !complete && HEADER.as_bytes().starts_with(body) {
                    break; // torn header: rewrite below
                }
                return Err(JournalError::Foreign {
                    path: self.path.clone(),
                    first: String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned(),
                });
            }
            let parsed = if complete {
                serde_json::from_slice::<RecordHead>(body).map_err(|e| e.to_string())
            } else {
                Err("incomplete line".to_string())
            };
            match parsed {
                Ok(head) => {
                    if let Some((bad_line, bad_off, detail)) = first_bad.take() {
                        return Err(JournalError::Corrupt {
                            path: self.path.clone(),
                            line: bad_line,
                            offset: bad_off,
                            detail,
                        });
                    }
                    if let Some(rec) = index_record(&head, start, (n - 1) as u32, &mut models) {
                        found.push(rec);
                    }
                    self.opened.records += 1;
                    self.opened.last_activity = self.opened.last_activity.max(head.at);
                    good_end = offset;
                }
                Err(detail) => {
                    if first_bad.is_none() {
                        first_bad = Some((line_no, start, detail));
                    }
                }
            }
        }
        if good_end == 0 {
            // Only a torn header: start the file over.
            file.set_len(0).map_err(io)?;
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            file.write_all(format!("{HEADER}\n").as_bytes())
                .map_err(io)?;
            good_end = HEADER.len() as u64 + 1;
        }
        // Latest record per key: sort by key, newest first within a key, keep the first.
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.offset.cmp(&a.1.offset)));
        found.dedup_by_key(|r| r.0);
        found.shrink_to_fit();
        self.base = Arc::new(BaseIndex::new(found, models));
        Ok(good_end)
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
        if self.poisoned {
            return Err(JournalError::Poisoned {
                path: self.path.clone(),
            });
        }
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
        if let Err(source) = self.file.write_all(bytes) {
            self.poisoned = true;
            return Err(JournalError::Io {
                path: self.path.clone(),
                source,
            });
        }
        Ok(())
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
        if self.poisoned {
            return Err(JournalError::Poisoned {
                path: self.path.clone(),
            });
        }
        if !self.unsynced {
            return Ok(());
        }
        if let Err(source) = self.file.sync_data() {
            self.poisoned = true;
            return Err(JournalError::Io {
                path: self.path.clone(),
                source,
            });
        }
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

/// The index entry of a record read at open (None when its key is not a key).
fn index_record(
    head: &RecordHead,
    offset: u64,
    len: u32,
    models: &mut Vec<String>,
) -> Option<(ChunkKey, IndexEntry)> {
    let key = ChunkKey::from_hex(&head.k)?;
    let ok = head.t == "ok";
    let model = match (&head.model, ok) {
        (Some(m), true) => match models.iter().position(|x| x == m) {
            Some(i) => i as u16,
            None => {
                models.push(m.clone());
                (models.len() - 1) as u16
            }
        },
        _ => 0,
    };
    Some((
        key,
        IndexEntry {
            offset,
            len,
            ok,
            model,
        },
    ))
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
    use crate::parse::Entity;

    fn key(i: u8) -> ChunkKey {
        ChunkKey([i; 16])
    }

    #[test]
    fn the_bucketed_index_finds_every_key_and_no_other() {
        // Keys at both ends of the prefix range, many in one bucket, none in most.
        let mut keys: Vec<ChunkKey> = Vec::new();
        for i in 0..3000u32 {
            let h = blake3::hash(&i.to_le_bytes());
            let mut k = [0u8; 16];
            k.copy_from_slice(&h.as_bytes()[..16]);
            if i % 7 == 0 {
                k[0] = 0xff;
                k[1] = 0xff;
            }
            if i % 11 == 0 {
                k[0] = 0;
                k[1] = 0;
            }
            keys.push(ChunkKey(k));
        }
        keys.sort();
        keys.dedup();
        let entries: Vec<(ChunkKey, IndexEntry)> = keys
            .iter()
            .enumerate()
            .map(|(n, k)| {
                (
                    *k,
                    IndexEntry {
                        offset: n as u64,
                        len: 1,
                        ok: true,
                        model: 0,
                    },
                )
            })
            .collect();
        let idx = BaseIndex::new(entries, vec!["m".into()]);
        for (n, k) in keys.iter().enumerate() {
            assert_eq!(idx.get(k).map(|e| e.offset), Some(n as u64));
            let mut other = *k;
            other.0[15] ^= 0x55;
            assert!(keys.binary_search(&other).is_ok() || idx.get(&other).is_none());
        }
        assert!(BaseIndex::default().get(&keys[0]).is_none());
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
        {
            let mut j = Journal::open(dir.path()).unwrap();
            j.record_done(key(1), EngineKind::Vllm, "m", 1, 2, &ext("Ada"))
                .unwrap();
        }
        let path = dir.path().join(FILE_NAME);
        let good_len = std::fs::metadata(&path).unwrap().len();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
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
        {
            let mut j = Journal::open(dir.path()).unwrap();
            j.record_done(key(1), EngineKind::Vllm, "m", 1, 2, &ext("Ada"))
                .unwrap();
            j.record_done(key(2), EngineKind::Vllm, "m", 1, 2, &ext("Bob"))
                .unwrap();
        }
        let path = dir.path().join(FILE_NAME);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines[1] = "{\"t\":\"ok\" BROKEN";
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let err = Journal::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("corrupt at line 2"), "{err}");
        assert!(err.contains("--fresh"), "{err}");
    }

    #[test]
    fn foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "hello\n").unwrap();
        assert!(matches!(
            Journal::open(dir.path()),
            Err(JournalError::Foreign { .. })
        ));
    }

    #[test]
    fn key_hex_round_trip() {
        let k = ChunkKey([0xab; 16]);
        assert_eq!(ChunkKey::from_hex(&k.hex()), Some(k));
        assert_eq!(ChunkKey::from_hex("zz"), None);
    }
}
