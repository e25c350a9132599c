//! Walk, read, chunk and key, on a blocking thread: the producer sends the run's work in
//! corpus order, and skips what the checkpoint already holds (the resume index).

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::chunk::{Chunk, ChunkSettings, Chunker};
use crate::error::RunError;
use crate::outdir::filecache;
use crate::outdir::journal::{BaseIndex, ChunkKey, Journal, RecordRef};
use crate::prompt::PromptSet;
use crate::read::issue::{DocIssue, IssueKind};
use crate::read::walk::{walk, DocEntry, PathFilter, WalkItem};
use crate::run::settings::RunSettings;

/// A chunk to extract.
pub(crate) struct ChunkJob {
    pub(crate) doc: u32,
    pub(crate) rel: Arc<str>,
    pub(crate) index: u32,
    pub(crate) key: ChunkKey,
    pub(crate) text: String,
    pub(crate) user: String,
    pub(crate) section: Option<Arc<str>>,
}

/// What the producer emits, in corpus order.
pub(crate) enum Item {
    Doc {
        rel: Arc<str>,
        chunks: u32,
        notes: Vec<String>,
    },
    Issue(DocIssue),
    Resumed {
        doc: u32,
        index: u32,
        record: RecordRef,
        section: Option<Arc<str>>,
    },
    Chunk(ChunkJob),
    WalkDone,
}

/// Content address of a chunk's work: prompt set (taxonomy, templates, schema), chunking
/// settings and the exact user message (which holds the chunk's text).
pub fn chunk_key(prompt_fp: &str, cs: ChunkSettings, user: &str) -> ChunkKey {
    let mut h = blake3::Hasher::new();
    h.update(b"aegis-chunk-v1\0");
    h.update(prompt_fp.as_bytes());
    h.update(format!("\0{}\0{}\0", cs.tokens, cs.overlap).as_bytes());
    h.update(user.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&h.finalize().as_bytes()[..16]);
    ChunkKey(k)
}

/// The fingerprint chunk keys are made from: the prompt set's, the gleaning rounds when
/// there are any, and `two-pass` for `--relations two-pass` (their results differ; a joint
/// run without gleaning keeps its keys, so older checkpoints stay valid).
pub fn key_fingerprint(
    prompt_fp: &str,
    gleaning: u32,
    relations: crate::prompt::RelationsMode,
) -> std::borrow::Cow<'_, str> {
    let mut fp = std::borrow::Cow::Borrowed(prompt_fp);
    if gleaning != 0 {
        fp = std::borrow::Cow::Owned(format!("{fp}+glean{gleaning}"));
    }
    match relations {
        crate::prompt::RelationsMode::Joint => {}
        crate::prompt::RelationsMode::TwoPass => {
            fp = std::borrow::Cow::Owned(format!("{fp}+two-pass1"));
        }
        crate::prompt::RelationsMode::Repair => {
            fp = std::borrow::Cow::Owned(format!("{fp}+repair1"));
        }
    }
    fp
}

/// The previous run's results that this run may reuse.
pub(crate) struct ResumeIndex {
    pub(crate) done: Arc<BaseIndex>,
    /// Models whose results are accepted; empty string entry = any vLLM model (unknown yet).
    pub(crate) accepted: Vec<String>,
    pub(crate) any_model: bool,
}

impl ResumeIndex {
    /// Where a key's earlier result is, and whether this run accepts it (its model).
    pub(crate) fn reusable(&self, key: &ChunkKey) -> Option<(RecordRef, bool)> {
        self.done
            .done(key)
            .map(|(at, m)| (at, self.any_model || self.accepted.iter().any(|a| a == m)))
    }
}

pub(crate) struct Producer {
    /// `key_fingerprint` of the run.
    pub(crate) key_fp: String,
    /// Where the file cache is (`--out`); None: no cache (dry run).
    pub(crate) cache_dir: Option<PathBuf>,
    /// Documents taken from the file cache (unchanged, all chunks done): by size and time
    /// (not read), by content hash (read, not chunked).
    pub(crate) not_read: Arc<[std::sync::atomic::AtomicU64; 2]>,
    /// Chunks whose earlier result is another model's: extracted again.
    pub(crate) stale: Arc<Mutex<u64>>,
    pub(crate) shard: Option<crate::read::shard::Shard>,
    pub(crate) corpus: PathBuf,
    pub(crate) filter: PathFilter,
    pub(crate) max_file_size: u64,
    pub(crate) chunker: Chunker,
    pub(crate) prompts: Arc<PromptSet>,
    pub(crate) resume: ResumeIndex,
    pub(crate) stop: CancellationToken,
}

impl Producer {
    pub(crate) fn new(
        s: &RunSettings,
        resume: ResumeIndex,
        stop: CancellationToken,
    ) -> Result<Self, RunError> {
        Ok(Producer {
            key_fp: key_fingerprint(&s.prompts.fingerprint, s.gleaning, s.relations).into_owned(),
            cache_dir: (!s.dry_run).then(|| s.out.clone()),
            not_read: Arc::default(),
            stale: Arc::default(),
            shard: s.shard,
            corpus: s.corpus.clone(),
            filter: s.filter.clone(),
            max_file_size: s.max_file_size,
            chunker: Chunker::new(s.chunk).map_err(RunError::usage)?,
            prompts: s.prompts.clone(),
            resume,
            stop,
        })
    }

    /// Runs on a blocking thread; ends when the walk ends, the run stops, or the receiver
    /// goes away.
    /// Starts the walk on a blocking thread; its items arrive in corpus order, at most
    /// `buffer` waiting.
    pub(crate) fn spawn(
        self,
        buffer: usize,
    ) -> (mpsc::Receiver<Item>, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<Item>(buffer);
        (rx, tokio::task::spawn_blocking(move || self.run(tx)))
    }

    fn run(self, tx: mpsc::Sender<Item>) {
        let cache_fp = format!(
            "{}/{}/{}/{}",
            self.key_fp,
            self.chunker.settings().tokens,
            self.chunker.settings().overlap,
            self.max_file_size
        );
        let (mut cache_in, mut cache_out) = match &self.cache_dir {
            Some(d) => (
                Some(filecache::Reader::open(d, &cache_fp)),
                Some(filecache::Writer::create(d, &cache_fp)),
            ),
            None => (None, None),
        };
        self.walk_corpus(&tx, &mut cache_in, cache_out.as_mut());
        if let Some(c) = cache_out {
            c.finish();
        }
    }

    /// An unchanged document whose chunks are all in the checkpoint: its items from the
    /// file cache, without chunking it. Unchanged means: the same size and time as
    /// recorded, or else the same bytes (read and hashed: a fresh checkout gives every file
    /// a new time). None: read and chunk it.
    fn cached_items(
        &self,
        cache: &mut filecache::Reader,
        path: &Path,
        rel: &str,
        stat: Option<(u64, u128)>,
        doc: u32,
    ) -> Option<(filecache::Entry, Vec<Item>, filecache::Fresh)> {
        let (size, mtime) = stat?;
        let (mut e, fresh) = cache.lookup(rel, size, mtime)?;
        let keys = filecache::keys(&e)?;
        let mut items = Vec::with_capacity(keys.len() + 1);
        items.push(Item::Doc {
            rel: Arc::from(rel),
            chunks: keys.len() as u32,
            notes: e.notes.clone(),
        });
        for (index, key, section) in keys {
            let Some((record, true)) = self.resume.reusable(&key) else {
                return None;
            };
            items.push(Item::Resumed {
                doc,
                index,
                record,
                section: section.map(Arc::from),
            });
        }
        if fresh == filecache::Fresh::Unsure {
            if e.size != size || e.hash.is_none() {
                return None;
            }
            let now = filecache::content_hash(path)?;
            if e.hash.as_deref() != Some(now.as_str()) {
                return None;
            }
            e.mtime_ns = mtime;
        }
        Some((e, items, fresh))
    }

    fn walk_corpus(
        &self,
        tx: &mpsc::Sender<Item>,
        cache_in: &mut Option<filecache::Reader>,
        mut cache_out: Option<&mut filecache::Writer>,
    ) {
        let mut doc_no: u32 = 0;
        for item in walk(&self.corpus, self.filter.clone()) {
            if self.stop.is_cancelled() {
                return;
            }
            if let Some(shard) = self.shard {
                let rel = match &item {
                    WalkItem::Doc(d) => d.rel.as_str(),
                    WalkItem::Issue(i) => i.doc.as_str(),
                };
                if !shard.holds(rel) {
                    continue;
                }
            }
            let sent = match item {
                WalkItem::Issue(i) => tx.blocking_send(Item::Issue(i)).is_ok(),
                WalkItem::Doc(entry) => {
                    self.send_document(tx, &entry, &mut doc_no, cache_in, cache_out.as_deref_mut())
                }
            };
            if !sent {
                return;
            }
        }
        let _ = tx.blocking_send(Item::WalkDone);
    }

    /// One document's items: from the file cache when it is unchanged, else read and
    /// chunked. False: the receiver is gone.
    fn send_document(
        &self,
        tx: &mpsc::Sender<Item>,
        entry: &DocEntry,
        doc_no: &mut u32,
        cache_in: &mut Option<filecache::Reader>,
        cache_out: Option<&mut filecache::Writer>,
    ) -> bool {
        // Before reading: a change during the read shows next time. No cache (a dry run):
        // no stat.
        let stat = cache_in
            .is_some()
            .then(|| filecache::mtime_ns(&entry.path))
            .flatten();
        let cached = cache_in
            .as_mut()
            .and_then(|c| self.cached_items(c, &entry.path, &entry.rel, stat, *doc_no));
        if let Some((e, items, fresh)) = cached {
            *doc_no += 1;
            let by = usize::from(fresh == filecache::Fresh::Unsure);
            self.not_read[by].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(c) = cache_out {
                c.push(&e);
            }
            return items.into_iter().all(|i| tx.blocking_send(i).is_ok());
        }
        let read = std::panic::catch_unwind(AssertUnwindSafe(|| {
            crate::read::read_document(entry, self.max_file_size)
                .map(|doc| (self.chunker.chunk(&doc), doc.notes))
        }));
        match read {
            Err(_) => tx
                .blocking_send(Item::Issue(DocIssue::new(
                    entry.rel.clone(),
                    IssueKind::Failed,
                    "reader_crashed",
                    "the reader panicked on this file (a bug: please report it with the file)",
                )))
                .is_ok(),
            Ok(Err(issue)) => tx.blocking_send(Item::Issue(issue)).is_ok(),
            Ok(Ok(read)) => {
                let doc = *doc_no;
                *doc_no += 1;
                self.send_chunks(tx, entry, doc, read, stat, cache_out)
            }
        }
    }

    /// A document read and chunked: its chunks keyed (resumed, or to extract), then its
    /// file-cache entry once every chunk is sent. False: the receiver is gone.
    fn send_chunks(
        &self,
        tx: &mpsc::Sender<Item>,
        entry: &DocEntry,
        doc: u32,
        (chunks, notes): (Vec<Chunk>, Vec<String>),
        stat: Option<(u64, u128)>,
        cache_out: Option<&mut filecache::Writer>,
    ) -> bool {
        let rel: Arc<str> = Arc::from(entry.rel.as_str());
        let expected = chunks.len() as u32;
        let mut entry_out = stat.map(|(size, mtime_ns)| filecache::Entry {
            doc: entry.rel.clone(),
            size,
            mtime_ns,
            chunks: Vec::with_capacity(chunks.len()),
            notes: notes.clone(),
            hash: None,
        });
        let mut ok = tx
            .blocking_send(Item::Doc {
                rel: rel.clone(),
                chunks: expected,
                notes,
            })
            .is_ok();
        for ch in chunks {
            if !ok || self.stop.is_cancelled() {
                break;
            }
            let user = self
                .prompts
                .user_message(&ch.text, &rel, ch.section.as_deref());
            let key = chunk_key(&self.key_fp, self.chunker.settings(), &user);
            if let Some(e) = entry_out.as_mut() {
                e.chunks.push((ch.index, key.hex(), ch.section.clone()));
            }
            ok = tx
                .blocking_send(self.chunk_item(doc, &rel, ch, key, user))
                .is_ok();
        }
        // Only a document walked to its end is a fact worth keeping.
        if let (true, Some(mut e), Some(c)) = (ok, entry_out, cache_out) {
            if e.chunks.len() as u32 == expected {
                // From the page cache: the reader has just read it. Kept only if the file
                // still has the size and time taken before the read (else the bytes hashed
                // may not be the ones chunked).
                e.hash = filecache::content_hash(&entry.path)
                    .filter(|_| filecache::mtime_ns(&entry.path) == stat);
                c.push(&e);
            }
        }
        ok
    }

    /// A keyed chunk: resumed when the checkpoint holds its result for an accepted model,
    /// else a job (counted as stale when the result is another model's).
    fn chunk_item(&self, doc: u32, rel: &Arc<str>, ch: Chunk, key: ChunkKey, user: String) -> Item {
        let section: Option<Arc<str>> = ch.section.as_deref().map(Arc::from);
        match self.resume.reusable(&key) {
            Some((record, true)) => Item::Resumed {
                doc,
                index: ch.index,
                record,
                section,
            },
            other => {
                if other.is_some() {
                    *self.stale.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                }
                Item::Chunk(ChunkJob {
                    doc,
                    rel: rel.clone(),
                    index: ch.index,
                    key,
                    text: ch.text,
                    user,
                    section,
                })
            }
        }
    }
}

/// The chunks of the corpus the checkpoint does not hold for the probed engines' model,
/// in corpus order (`Item::Chunk`; the rest is bookkeeping), from a producer thread.
pub(crate) fn spawn_producer(
    s: &RunSettings,
    journal: &Journal,
    probed: &crate::engine::setup::ProbedEngines,
    stop: CancellationToken,
) -> Result<(mpsc::Receiver<Item>, tokio::task::JoinHandle<()>), RunError> {
    Ok(Producer::new(s, resume_index(journal, probed), stop)?.spawn(1024))
}

/// The previous run's results this run may reuse: those of the models it can be served by.
pub(crate) fn resume_index(
    journal: &Journal,
    probed: &crate::engine::setup::ProbedEngines,
) -> ResumeIndex {
    let mut accepted = Vec::new();
    let mut any_model = false;
    for setup in &probed.setups {
        let m = setup.client.model();
        if m.is_empty() {
            any_model = true;
        }
        accepted.push(m);
    }
    ResumeIndex {
        done: journal.at_open(),
        accepted,
        any_model,
    }
}
