//! The finishing step's journal (`community_journal.jsonl` in `--out`): every community
//! report and every description summary the engines wrote, appended and synced as soon as
//! it is accepted, keyed by what it was made from (a community's fingerprint, a summary's
//! fragment hash). A kill at any moment loses no finished answer: a rerun finds them here
//! and asks the engines only for what is missing. A torn last line (a crash mid-write) is
//! cut at open; answers that failed validation are never written.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::RunError;
use crate::outdir::communities::CommunityReport;

/// The journal's file name in `--out`.
pub const FILE_NAME: &str = "community_journal.jsonl";

/// One journaled answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JournalRecord {
    /// A community's report, under the community's fingerprint.
    Report {
        key: String,
        report: CommunityReport,
    },
    /// A summarized description, under the hash of its fragments, template and model.
    Summary { key: String, description: String },
}

/// What the journal held at open, by key.
#[derive(Debug, Default)]
pub struct Journaled {
    pub reports: HashMap<String, CommunityReport>,
    pub summaries: HashMap<String, String>,
}

/// The journal, open for appending. Appends go to one writer thread, which writes every
/// record waiting and syncs them with one `fdatasync` (group commit); each append returns
/// once its record is on disk.
pub struct CommunityJournal {
    path: PathBuf,
    tx: std::sync::mpsc::Sender<Pending>,
}

/// A record waiting for the writer, and where to say it is on disk.
struct Pending {
    line: Vec<u8>,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// The writer thread: takes what is waiting, writes it, syncs once, answers each.
fn writer(mut file: File, rx: std::sync::mpsc::Receiver<Pending>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let mut buf = Vec::with_capacity(batch.iter().map(|p| p.line.len()).sum());
        for p in &batch {
            buf.extend_from_slice(&p.line);
        }
        let result = file
            .write_all(&buf)
            .and_then(|()| file.sync_data())
            .map_err(|e| e.to_string());
        for p in batch {
            let _ = p.done.send(result.clone());
        }
    }
}

impl CommunityJournal {
    /// Opens (or creates) the journal in `out` and reads what it holds; a torn or damaged
    /// tail is cut off.
    pub fn open(out: &Path) -> Result<(Self, Journaled), RunError> {
        let path = out.join(FILE_NAME);
        let io_err = |e: std::io::Error| {
            RunError::io(
                &path,
                &e,
                format!(
                    "cannot use {}: {e}; make --out writable (permissions, free space)",
                    path.display()
                ),
            )
        };
        let mut file = crate::outdir::atomic::open_persistent(&path).map_err(io_err)?;
        let mut held = Journaled::default();
        let mut good_end = 0u64;
        {
            let mut reader = BufReader::new(&file);
            let mut line = String::new();
            let mut at = 0u64;
            loop {
                line.clear();
                let n = reader.read_line(&mut line).map_err(io_err)?;
                if n == 0 {
                    break;
                }
                at += n as u64;
                if !line.ends_with('\n') {
                    break;
                }
                match serde_json::from_str::<JournalRecord>(line.trim()) {
                    Ok(JournalRecord::Report { key, report }) => {
                        held.reports.insert(key, report);
                    }
                    Ok(JournalRecord::Summary { key, description }) => {
                        held.summaries.insert(key, description);
                    }
                    // A line written by hand or damaged: what follows it is not trusted.
                    Err(_) if line.trim().is_empty() => {}
                    Err(_) => break,
                }
                good_end = at;
            }
        }
        if file.metadata().map_err(io_err)?.len() > good_end {
            file.set_len(good_end).map_err(io_err)?;
            file.sync_all().map_err(io_err)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io_err)?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("community-journal".into())
            .spawn(move || writer(file, rx))
            .map_err(io_err)?;
        Ok((Self { path, tx }, held))
    }

    /// Appends `rec`; returns once it is synced to disk.
    pub async fn append(&self, rec: &JournalRecord) -> Result<(), RunError> {
        let mut line = serde_json::to_vec(rec)
            .map_err(|e| RunError::checkpoint(format!("cannot encode a journal record: {e}")))?;
        line.push(b'\n');
        let (done, wait) = tokio::sync::oneshot::channel();
        let failed = |why: String| RunError::Io {
            path: self.path.clone(),
            kind: std::io::ErrorKind::Other,
            msg: format!(
                "cannot write {}: {why}; free disk space, then rerun: finished reports are kept",
                self.path.display()
            ),
        };
        self.tx
            .send(Pending { line, done })
            .map_err(|_| failed("its writer has stopped".into()))?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(failed(why)),
            Err(_) => Err(failed("its writer has stopped".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(title: &str) -> CommunityReport {
        CommunityReport {
            community: "com_1".into(),
            level: 0,
            title: title.into(),
            summary: "s".into(),
            findings: vec![],
            rating: 1.0,
            rating_explanation: "r".into(),
            fingerprint: "f".into(),
            dropped_citations: 0,
            from_children: false,
        }
    }

    #[tokio::test]
    async fn appended_records_read_back_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (j, held) = CommunityJournal::open(dir.path()).unwrap();
            assert!(held.reports.is_empty());
            j.append(&JournalRecord::Report {
                key: "k1".into(),
                report: report("one"),
            })
            .await
            .unwrap();
            j.append(&JournalRecord::Summary {
                key: "s1".into(),
                description: "short".into(),
            })
            .await
            .unwrap();
        }
        let path = dir.path().join(FILE_NAME);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"kind\":\"report\",\"key\":\"k2\",\"rep")
            .unwrap();
        drop(f);
        let (j, held) = CommunityJournal::open(dir.path()).unwrap();
        assert_eq!(held.reports["k1"].title, "one");
        assert_eq!(held.summaries["s1"], "short");
        assert_eq!(held.reports.len(), 1);
        j.append(&JournalRecord::Report {
            key: "k3".into(),
            report: report("three"),
        })
        .await
        .unwrap();
        drop(j);
        let (_, held) = CommunityJournal::open(dir.path()).unwrap();
        assert_eq!(held.reports.len(), 2);
        assert_eq!(held.reports["k3"].title, "three");
    }
}
