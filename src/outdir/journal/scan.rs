//! Opening the checkpoint: every line read once, the index of the latest record of each key
//! built, and the end of the last good record found. Bad lines at the tail are a torn write
//! (the caller cuts them off); a bad line followed by a good one is corruption, reported;
//! a first line that is not the header is another kind of file, refused.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::JournalError;
use super::index::{BaseIndex, ChunkKey, IndexEntry};

/// The first line of every checkpoint.
const HEADER: &str = "{\"aegis_checkpoint\":1}";

/// Writes the header line where `file` stands; returns its length.
pub(super) fn write_header(file: &mut File) -> std::io::Result<u64> {
    file.write_all(format!("{HEADER}\n").as_bytes())?;
    Ok(HEADER.len() as u64 + 1)
}

/// What opening found.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenStats {
    pub records: u64,
    pub torn_bytes_dropped: u64,
    pub last_activity: u64,
}

/// What reading the whole file found.
pub(super) struct Scanned {
    /// The end of the last good record (of the header, rewritten if it was torn).
    pub good_end: u64,
    pub base: BaseIndex,
    pub opened: OpenStats,
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

/// One line of the file as read.
struct Line<'a> {
    /// Without its newline.
    body: &'a [u8],
    /// Ends with a newline.
    complete: bool,
    /// 1-based.
    no: u64,
    start: u64,
    end: u64,
}

/// Reads every line of `file` (the checkpoint at `path`). Bad lines at the tail are a torn
/// write; a bad line followed by a good one is corruption. A torn header is written again.
pub(super) fn scan(path: &Path, file: &mut File) -> Result<Scanned, JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    };
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut reader = BufReader::with_capacity(1 << 20, &*file);
    let mut s = Scanner::new(path);
    let mut buf = Vec::new();
    let (mut offset, mut no) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        no += 1;
        let complete = buf.last() == Some(&b'\n');
        let line = Line {
            body: if complete { &buf[..n - 1] } else { &buf[..] },
            complete,
            no,
            start: offset,
            end: offset + n as u64,
        };
        offset = line.end;
        if no == 1 {
            if s.header(&line)? {
                continue;
            }
            break; // torn header: rewritten below
        }
        s.record(&line)?;
    }
    if s.good_end == 0 {
        // Only a torn header: start the file over.
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        s.good_end = write_header(file).map_err(io)?;
    }
    Ok(s.finish())
}

/// What the lines read so far say.
struct Scanner {
    path: PathBuf,
    good_end: u64,
    /// The first bad line after the last good one: (line, offset, what is wrong).
    first_bad: Option<(u64, u64, String)>,
    found: Vec<(ChunkKey, IndexEntry)>,
    /// Model names, each stored once; entries refer to them by number.
    models: Vec<String>,
    opened: OpenStats,
}

impl Scanner {
    fn new(path: &Path) -> Self {
        Scanner {
            path: path.to_path_buf(),
            good_end: 0,
            first_bad: None,
            found: Vec::new(),
            models: Vec::new(),
            opened: OpenStats::default(),
        }
    }

    /// Whether the first line is the header (false: a torn one); Err: another kind of file.
    fn header(&mut self, line: &Line<'_>) -> Result<bool, JournalError> {
        if line.complete && line.body == HEADER.as_bytes() {
            self.good_end = line.end;
            return Ok(true);
        }
        if !line.complete && HEADER.as_bytes().starts_with(line.body) {
            return Ok(false);
        }
        let first = &line.body[..line.body.len().min(80)];
        Err(JournalError::Foreign {
            path: self.path.clone(),
            first: String::from_utf8_lossy(first).into_owned(),
        })
    }

    /// A record line: indexed when good (an earlier bad line is then corruption); the first
    /// bad one is remembered, as it may be the start of a torn tail.
    fn record(&mut self, line: &Line<'_>) -> Result<(), JournalError> {
        let parsed = if line.complete {
            serde_json::from_slice::<RecordHead>(line.body).map_err(|e| e.to_string())
        } else {
            Err("incomplete line".to_string())
        };
        let head = match parsed {
            Ok(head) => head,
            Err(detail) => {
                if self.first_bad.is_none() {
                    self.first_bad = Some((line.no, line.start, detail));
                }
                return Ok(());
            }
        };
        if let Some((bad_line, bad_off, detail)) = self.first_bad.take() {
            return Err(JournalError::Corrupt {
                path: self.path.clone(),
                line: bad_line,
                offset: bad_off,
                detail,
            });
        }
        let len = line.body.len() as u32;
        if let Some(rec) = index_record(&head, line.start, len, &mut self.models) {
            self.found.push(rec);
        }
        self.opened.records += 1;
        self.opened.last_activity = self.opened.last_activity.max(head.at);
        self.good_end = line.end;
        Ok(())
    }

    fn finish(mut self) -> Scanned {
        // Latest record per key: sort by key, newest first within a key, keep the first.
        let found = &mut self.found;
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.offset.cmp(&a.1.offset)));
        found.dedup_by_key(|r| r.0);
        found.shrink_to_fit();
        Scanned {
            good_end: self.good_end,
            base: BaseIndex::new(self.found, self.models),
            opened: self.opened,
        }
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
