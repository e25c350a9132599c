//! The file cache: what each document of the last run was (size, modification time) and
//! what it yielded (its chunks' keys and sections, or the reason it was skipped), so that a
//! rerun does not read and chunk again a file that has not changed. Without it, resuming a
//! finished million-chunk run read and tokenized the whole corpus again to find its keys.
//!
//! `files.jsonl` in `--out`, written at the end of every run, in walk order: the producer
//! reads it in step with the walk (a merge join on the walk's order), so memory does not
//! grow with the corpus. A file is taken from the cache only when its size and modification
//! time (to the nanosecond) are those recorded, it was modified well before the cache was
//! written (a file changed in the same instant as the write is read again), and the run's
//! settings are the same (the header's fingerprint). Anything else is read as usual.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::outdir::journal::ChunkKey;

pub const FILE_NAME: &str = "files.jsonl";

/// A file modified this close to the cache's writing is not trusted (the "racy" case: an
/// edit in the same clock tick as the last read).
const RACY: Duration = Duration::from_secs(2);

#[derive(Serialize, Deserialize)]
struct Header {
    aegis_files: u32,
    fingerprint: String,
    written_ns: u128,
}

/// What a document yielded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub doc: String,
    pub size: u64,
    pub mtime_ns: u128,
    /// Chunks: `[index, key (hex), section]`.
    #[serde(default)]
    pub chunks: Vec<(u32, String, Option<String>)>,
    /// Reader notes (a legacy encoding decoded, ...).
    #[serde(default)]
    pub notes: Vec<String>,
    /// blake3 of the file's bytes: a file whose time changed but not its bytes (a fresh
    /// checkout, a `touch`, a copy) is recognized without being chunked again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// How a cached entry compares with the file as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fresh {
    /// Same size and modification time, modified well before the cache was written.
    Stat,
    /// Something differs (or the time is too close to the cache's writing to trust): the
    /// content hash decides.
    Unsure,
}

/// blake3 of a file's bytes, hex.
pub fn content_hash(path: &Path) -> Option<String> {
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(path).ok()?).ok()?;
    Some(h.finalize().to_hex().to_string())
}

pub fn mtime_ns(path: &Path) -> Option<(u64, u128)> {
    let m = std::fs::metadata(path).ok()?;
    let t = m.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((m.len(), t.as_nanos()))
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Reads the previous run's cache in walk order.
pub struct Reader {
    lines: Option<std::io::Lines<BufReader<std::fs::File>>>,
    next: Option<Entry>,
    trusted_before_ns: u128,
}

impl Reader {
    /// The cache in `out` if it was written with `fingerprint`; else an empty reader.
    pub fn open(out: &Path, fingerprint: &str) -> Reader {
        let empty = Reader {
            lines: None,
            next: None,
            trusted_before_ns: 0,
        };
        let Ok(file) = std::fs::File::open(out.join(FILE_NAME)) else {
            return empty;
        };
        let mut lines = BufReader::new(file).lines();
        let header: Option<Header> = lines
            .next()
            .and_then(Result::ok)
            .and_then(|l| serde_json::from_str(&l).ok());
        match header {
            Some(h) if h.aegis_files == 1 && h.fingerprint == fingerprint => {
                let mut r = Reader {
                    lines: Some(lines),
                    next: None,
                    trusted_before_ns: h.written_ns.saturating_sub(RACY.as_nanos()),
                };
                r.advance();
                r
            }
            _ => empty,
        }
    }

    fn advance(&mut self) {
        self.next = self.lines.as_mut().and_then(|l| {
            l.next()
                .and_then(Result::ok)
                .and_then(|line| serde_json::from_str(&line).ok())
        });
        if self.next.is_none() {
            self.lines = None;
        }
    }

    /// The cached entry of `rel`, and whether its size and time say the file is unchanged.
    /// `rel`s must come in walk order.
    pub fn lookup(&mut self, rel: &str, size: u64, mtime: u128) -> Option<(Entry, Fresh)> {
        while let Some(e) = &self.next {
            match crate::read::walk::walk_order(&e.doc, rel) {
                std::cmp::Ordering::Less => self.advance(),
                std::cmp::Ordering::Greater => return None,
                std::cmp::Ordering::Equal => {
                    let fresh = if e.size == size
                        && e.mtime_ns == mtime
                        && mtime < self.trusted_before_ns
                    {
                        Fresh::Stat
                    } else {
                        Fresh::Unsure
                    };
                    let e = self.next.take();
                    self.advance();
                    return e.map(|e| (e, fresh));
                }
            }
        }
        None
    }
}

/// Writes the cache as the run goes (documents arrive in walk order), into a temporary file
/// renamed over the old one at the end.
pub struct Writer {
    file: Option<std::io::BufWriter<tempfile::NamedTempFile>>,
    out: std::path::PathBuf,
}

impl Writer {
    pub fn create(out: &Path, fingerprint: &str) -> Writer {
        let file = crate::outdir::atomic::temp_in(out).ok().and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            let h = Header {
                aegis_files: 1,
                fingerprint: fingerprint.to_string(),
                written_ns: now_ns(),
            };
            serde_json::to_writer(&mut w, &h).ok()?;
            w.write_all(b"\n").ok()?;
            Some(w)
        });
        Writer {
            file,
            out: out.to_path_buf(),
        }
    }

    /// Records one document (a write error only disables the cache: it is an optimization).
    pub fn push(&mut self, e: &Entry) {
        let ok = self.file.as_mut().is_some_and(|w| {
            serde_json::to_writer(&mut *w, e).is_ok() && w.write_all(b"\n").is_ok()
        });
        if !ok {
            self.file = None;
        }
    }

    /// Makes the cache the current one. Every entry is a fact about a file as it was, so a
    /// run that stopped mid-walk leaves a valid cache (the documents it did not reach are
    /// read next time).
    pub fn finish(self) {
        let path = self.out.join(FILE_NAME);
        if let Some(Ok(f)) = self.file.map(|w| w.into_inner()) {
            let _ = f.as_file().sync_all();
            let _ = f.persist(&path);
        }
    }
}

/// The keys of a cached entry; None if one does not parse.
pub fn keys(e: &Entry) -> Option<Vec<(u32, ChunkKey, Option<&str>)>> {
    e.chunks
        .iter()
        .map(|(i, k, s)| ChunkKey::from_hex(k).map(|k| (*i, k, s.as_deref())))
        .collect()
}
