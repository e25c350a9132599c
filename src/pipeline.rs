//! The run: a streaming pipeline with one writer.
//!
//! ```text
//! producer thread: walk -> read -> chunk -> key -> [resumed? skip]   (bounded channel)
//!      -> dispatcher: at most (sum of engine caps) chunk tasks at once
//!           task: prompt -> router (vLLM | Ollama, retries, split) -> parse + validate
//!      -> writer task: journal (group commit), manifest, counters, progress
//! end: merge (corpus order) -> entities.jsonl / relations.jsonl / report.json, atomically
//! ```
//!
//! The corpus is never held whole: the producer blocks when the channel is full, and only
//! the manifest (keys and indexes, no text) grows with the corpus.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::chunk::{ChunkSettings, Chunker};
use crate::config::{setup_engines, RunSettings};
use crate::engine::router::{ChunkSpend, RouteError, Router, RouterConfig};
use crate::engine::{ChatAnswer, ChatRequest, EngineError, EngineKind, FailureClass, Finish};
use crate::error::{ExitCode, RunError};
use crate::journal::{BaseIndex, ChunkKey, Journal, RecordRef};
use crate::merge::{ChunkRef, DocManifest, Manifest, Sections};
use crate::parse::{parse_answer, AnswerError, Checks, Extraction, GroundText, Grounding};
use crate::progress::{Progress, Snapshot};
use crate::prompt::{PromptSet, GENERIC_RELATION};
use crate::report::{DocIssue, FailedChunk, IssueKind, Report, MAX_LISTED_FAILURES};
use crate::walk::{walk, PathFilter, WalkItem};

/// How often the writer makes the journal durable (group commit).
const SYNC_INTERVAL: Duration = Duration::from_millis(500);
/// Times a chunk may be halved when it does not fit.
const MAX_SPLIT_DEPTH: u32 = 4;

/// A chunk to extract.
pub(crate) struct ChunkJob {
    doc: u32,
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

/// What the writer receives.
enum Event {
    Item(Item),
    Done {
        job: ChunkJob,
        extraction: Extraction,
        engine: EngineKind,
        model: String,
        pt: u64,
        ct: u64,
        splits: u32,
        shrunk: u32,
        gleaned: (u32, u32),
    },
    Failed {
        job: ChunkJob,
        class: String,
        reason: String,
        raw: Option<String>,
    },
}

/// Why the run stopped early.
#[derive(Debug, Clone)]
enum Stop {
    Interrupted,
    Fatal(String),
    NoEngine(String),
    Journal(String),
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

/// The fingerprint chunk keys are made from: the prompt set's, and the gleaning rounds when
/// there are any (their results differ; a run without gleaning keeps its keys).
pub fn key_fingerprint(prompt_fp: &str, gleaning: u32) -> std::borrow::Cow<'_, str> {
    if gleaning == 0 {
        std::borrow::Cow::Borrowed(prompt_fp)
    } else {
        std::borrow::Cow::Owned(format!("{prompt_fp}+glean{gleaning}"))
    }
}

/// The previous run's results that this run may reuse.
struct ResumeIndex {
    done: Arc<BaseIndex>,
    /// Models whose results are accepted; empty string entry = any vLLM model (unknown yet).
    accepted: Vec<String>,
    any_model: bool,
}

impl ResumeIndex {
    /// Where a key's earlier result is, and whether this run accepts it (its model).
    fn reusable(&self, key: &ChunkKey) -> Option<(RecordRef, bool)> {
        self.done
            .done(key)
            .map(|(at, m)| (at, self.any_model || self.accepted.iter().any(|a| a == m)))
    }
}

struct Producer {
    /// `key_fingerprint` of the run.
    key_fp: String,
    /// Where the file cache is (`--out`); None: no cache (dry run).
    cache_dir: Option<PathBuf>,
    /// Documents taken from the file cache (unchanged, all chunks done): by size and time
    /// (not read), by content hash (read, not chunked).
    not_read: Arc<[std::sync::atomic::AtomicU64; 2]>,
    /// Chunks whose earlier result is another model's: extracted again.
    stale: Arc<Mutex<u64>>,
    shard: Option<crate::shard::Shard>,
    corpus: PathBuf,
    filter: PathFilter,
    max_file_size: u64,
    chunker: Chunker,
    prompts: Arc<PromptSet>,
    resume: ResumeIndex,
    stop: CancellationToken,
}

impl Producer {
    fn new(
        s: &RunSettings,
        resume: ResumeIndex,
        stop: CancellationToken,
    ) -> Result<Self, RunError> {
        Ok(Producer {
            key_fp: key_fingerprint(&s.prompts.fingerprint, s.gleaning).into_owned(),
            cache_dir: (!s.dry_run).then(|| s.out.clone()),
            not_read: Arc::default(),
            stale: Arc::default(),
            shard: s.shard,
            corpus: s.corpus.clone(),
            filter: s.filter.clone(),
            max_file_size: s.max_file_size,
            chunker: Chunker::new(s.chunk).map_err(RunError::config)?,
            prompts: s.prompts.clone(),
            resume,
            stop,
        })
    }

    /// Runs on a blocking thread; ends when the walk ends, the run stops, or the receiver
    /// goes away.
    /// Starts the walk on a blocking thread; its items arrive in corpus order, at most
    /// `buffer` waiting.
    fn spawn(self, buffer: usize) -> (mpsc::Receiver<Item>, tokio::task::JoinHandle<()>) {
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
                Some(crate::filecache::Reader::open(d, &cache_fp)),
                Some(crate::filecache::Writer::create(d, &cache_fp)),
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
        cache: &mut crate::filecache::Reader,
        path: &Path,
        rel: &str,
        stat: Option<(u64, u128)>,
        doc: u32,
    ) -> Option<(crate::filecache::Entry, Vec<Item>, crate::filecache::Fresh)> {
        let (size, mtime) = stat?;
        let (mut e, fresh) = cache.lookup(rel, size, mtime)?;
        let keys = crate::filecache::keys(&e)?;
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
        if fresh == crate::filecache::Fresh::Unsure {
            if e.size != size || e.hash.is_none() {
                return None;
            }
            let now = crate::filecache::content_hash(path)?;
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
        cache_in: &mut Option<crate::filecache::Reader>,
        mut cache_out: Option<&mut crate::filecache::Writer>,
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
                    let rel: Arc<str> = Arc::from(entry.rel.as_str());
                    // Before reading: a change during the read shows next time. No cache (a
                    // dry run): no stat.
                    let stat = cache_in
                        .is_some()
                        .then(|| crate::filecache::mtime_ns(&entry.path))
                        .flatten();
                    let cached = cache_in
                        .as_mut()
                        .and_then(|c| self.cached_items(c, &entry.path, &entry.rel, stat, doc_no));
                    if let Some((e, items, fresh)) = cached {
                        doc_no += 1;
                        let by = usize::from(fresh == crate::filecache::Fresh::Unsure);
                        self.not_read[by].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if let Some(c) = cache_out.as_deref_mut() {
                            c.push(&e);
                        }
                        if !items.into_iter().all(|i| tx.blocking_send(i).is_ok()) {
                            return;
                        }
                        continue;
                    }
                    let read = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        crate::read::read_document(&entry, self.max_file_size)
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
                        Ok(Ok((chunks, notes))) => {
                            let doc = doc_no;
                            doc_no += 1;
                            let expected = chunks.len() as u32;
                            let mut entry_out = stat.map(|(size, mtime_ns)| crate::filecache::Entry {
                                doc: entry.rel.clone(),
                                size,
                                mtime_ns,
                                chunks: Vec::with_capacity(chunks.len()),
                                notes: notes.clone(),
                                hash: None,
                            });
                            let mut ok = tx
                                .blocking_send(Item::Doc { rel: rel.clone(), chunks: chunks.len() as u32, notes })
                                .is_ok();
                            for ch in chunks {
                                if !ok || self.stop.is_cancelled() {
                                    break;
                                }
                                let section: Option<Arc<str>> = ch.section.as_deref().map(Arc::from);
                                let user = self.prompts.user_message(&ch.text, &rel, ch.section.as_deref());
                                let key = chunk_key(&self.key_fp, self.chunker.settings(), &user);
                                if let Some(e) = entry_out.as_mut() {
                                    e.chunks.push((ch.index, key.hex(), ch.section.clone()));
                                }
                                let item = match self.resume.reusable(&key) {
                                    Some((record, true)) => Item::Resumed { doc, index: ch.index, record, section },
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
                                };
                                ok = tx.blocking_send(item).is_ok();
                            }
                            // Only a document walked to its end is a fact worth keeping.
                            if let (true, Some(mut e), Some(c)) = (ok, entry_out, cache_out.as_deref_mut()) {
                                if e.chunks.len() as u32 == expected {
                                    // From the page cache: the reader has just read it. Kept
                                    // only if the file still has the size and time taken
                                    // before the read (else the bytes hashed may not be the
                                    // ones chunked).
                                    e.hash = crate::filecache::content_hash(&entry.path)
                                        .filter(|_| crate::filecache::mtime_ns(&entry.path) == stat);
                                    c.push(&e);
                                }
                            }
                            ok
                        }
                    }
                }
            };
            if !sent {
                return;
            }
        }
        let _ = tx.blocking_send(Item::WalkDone);
    }
}

/// Results the writer journals with one write, at most.
const WRITER_BATCH: usize = 256;

/// One set of answer bounds, sent together: the system prompt that states them, the schema
/// that enforces them, and an output budget that covers the largest answer they allow.
struct AnswerShape {
    prompts: Arc<PromptSet>,
    system_json: Arc<RawValue>,
    schema: Arc<RawValue>,
    max_tokens: u32,
}

impl AnswerShape {
    fn new(prompts: Arc<PromptSet>, max_tokens: u32) -> anyhow::Result<Self> {
        Ok(AnswerShape {
            system_json: serde_json::value::to_raw_value(&*prompts.system)
                .map_err(|e| anyhow::anyhow!("system prompt serialization: {e}"))?
                .into(),
            schema: RawValue::from_string(prompts.schema.to_string())
                .map_err(|e| anyhow::anyhow!("schema serialization: {e}"))?
                .into(),
            prompts,
            max_tokens,
        })
    }

    /// The plan's bounds, then halved and quartered: an answer cut off at its budget is
    /// asked again with smaller bounds (a smaller chunk would be cut off as well when the
    /// schema, not the text, decides the answer's length). The budget shrinks with the
    /// largest answer the bounds allow, unless the user set it.
    fn ladder(s: &RunSettings) -> anyhow::Result<Vec<AnswerShape>> {
        let base = s.prompts.clone();
        let chars = f64::from(base.max_answer_chars().max(1));
        let mut shapes = vec![AnswerShape::new(base.clone(), s.max_output_tokens)?];
        for f in [0.5, 0.25] {
            let limits = base.taxonomy.limits.scaled(f);
            let last = &shapes[shapes.len() - 1].prompts.taxonomy.limits;
            if limits.max_entities + limits.max_relations >= last.max_entities + last.max_relations
            {
                break;
            }
            let p = Arc::new(base.variant(limits, base.compact)?);
            let budget = match s.max_output_explicit {
                Some(b) => b,
                None => ((f64::from(s.max_output_tokens) * f64::from(p.max_answer_chars()) / chars)
                    .ceil() as u32)
                    .max(64),
            };
            shapes.push(AnswerShape::new(p, budget)?);
        }
        Ok(shapes)
    }
}

/// Shared by the chunk tasks.
struct TaskCtx {
    router: Arc<Router>,
    shapes: Vec<AnswerShape>,
    grounding: Grounding,
    max_answers_per_chunk: u32,
    max_tokens_per_chunk: u64,
    /// Follow-up rounds after a complete answer (`--gleaning`).
    gleaning: u32,
}

/// What gleaning asks after an answer.
const GLEAN_ASK: &str = "Some entities and relations in the text may have been missed. Answer with the missed ones only, in the same JSON format (include the entities that new relations connect); answer with empty lists if nothing was missed.";

enum Outcome {
    Done {
        extraction: Extraction,
        engine: EngineKind,
        model: String,
        pt: u64,
        ct: u64,
        splits: u32,
        /// Times the answer bounds were shrunk after a cut-off answer.
        shrunk: u32,
        /// Gleaning: follow-up requests answered, records they added.
        gleaned: (u32, u32),
    },
    Failed {
        class: String,
        reason: String,
        raw: Option<String>,
    },
    Stop(Stop),
    Cancelled,
}

fn answer_error(ans: &ChatAnswer, e: AnswerError) -> EngineError {
    let raw = Some(crate::engine::snippet(&ans.content));
    let mut err = match e {
        AnswerError::Empty if ans.reasoning => EngineError::new(
            FailureClass::EmptyContent,
            "empty content: the model spent its output budget reasoning (thinking could not be switched off)",
        ),
        AnswerError::Empty => EngineError::new(FailureClass::EmptyContent, "empty content"),
        AnswerError::Truncated => EngineError::new(FailureClass::Truncated, "answer cut off at the output budget before one record was complete"),
        AnswerError::Malformed(m) => EngineError::new(FailureClass::Malformed, m),
        AnswerError::Invalid(m) => EngineError::new(FailureClass::Invalid, m),
    };
    err.raw = raw;
    err
}

/// Parses and validates an engine's answer (live, or from a batch result file).
pub(crate) fn accept_answer(ans: &ChatAnswer, checks: &Checks) -> Result<Extraction, EngineError> {
    // Reasoning but no content: the model thought instead of answering (a thinking model
    // that ignored enable_thinking=false). Not a cut JSON: a content failure.
    let thought_only = ans.reasoning && ans.content.trim().is_empty();
    let cut_off = ans.finish == Finish::Length && !thought_only;
    parse_answer(&ans.content, cut_off, checks).map_err(|e| answer_error(ans, e))
}

/// A piece of a chunk still to extract: the whole chunk, or a half of one whose prompt did
/// not fit the context.
struct Piece {
    text: String,
    /// The rendered user message (the whole chunk's is made by the producer).
    user: Option<String>,
    depth: u32,
}

/// What the requests for one chunk produced so far.
#[derive(Default)]
struct ChunkResult {
    total: Extraction,
    pt: u64,
    ct: u64,
    splits: u32,
    shrunk: u32,
    gleaned: (u32, u32),
    served_by: Option<(EngineKind, String)>,
}

impl ChunkResult {
    fn failed(err: EngineError, note: &str) -> Outcome {
        Outcome::Failed {
            class: err.class.name().into(),
            reason: format!("{}{note}", err.message),
            raw: err.raw,
        }
    }
}

async fn extract_chunk(ctx: &TaskCtx, job: &ChunkJob) -> Outcome {
    let spend = ChunkSpend::new(ctx.max_answers_per_chunk, ctx.max_tokens_per_chunk);
    let mut pending = vec![Piece {
        text: job.text.clone(),
        user: Some(job.user.clone()),
        depth: 0,
    }];
    let mut acc = ChunkResult::default();
    while let Some(piece) = pending.pop() {
        match extract_piece(ctx, job, &piece, &spend, &mut acc).await {
            Ok(None) => {}
            Ok(Some(err)) => {
                // The prompt does not fit the context: halve the text. Pop order: first
                // half first.
                match (piece.depth < MAX_SPLIT_DEPTH)
                    .then(|| Chunker::split_in_two(&piece.text))
                    .flatten()
                {
                    Some((a, b)) => {
                        acc.splits += 1;
                        let depth = piece.depth + 1;
                        pending.push(Piece {
                            text: b,
                            user: None,
                            depth,
                        });
                        pending.push(Piece {
                            text: a,
                            user: None,
                            depth,
                        });
                    }
                    None => {
                        return ChunkResult::failed(err, " (and the chunk cannot be split further)")
                    }
                }
            }
            Err(outcome) => return outcome,
        }
    }
    let (engine, model) = acc.served_by.unwrap_or((EngineKind::Vllm, String::new()));
    Outcome::Done {
        extraction: acc.total,
        engine,
        model,
        pt: acc.pt,
        ct: acc.ct,
        splits: acc.splits,
        shrunk: acc.shrunk,
        gleaned: acc.gleaned,
    }
}

/// Extracts one piece into `acc`, shrinking the answer bounds while answers come back cut
/// off. `Ok(Some(err))`: the prompt does not fit, split the piece. `Err`: the chunk's
/// outcome (failed, stopped).
async fn extract_piece(
    ctx: &TaskCtx,
    job: &ChunkJob,
    piece: &Piece,
    spend: &ChunkSpend,
    acc: &mut ChunkResult,
) -> Result<Option<EngineError>, Outcome> {
    let ground = GroundText::new(&piece.text);
    // Complete records of cut-off answers, kept while smaller bounds are tried.
    let mut partial: Option<Extraction> = None;
    let mut level = 0usize;
    loop {
        let shape = &ctx.shapes[level];
        let checks = Checks {
            taxonomy: &shape.prompts.taxonomy,
            text: Some(&ground),
            grounding: ctx.grounding,
        };
        let accept = |ans: &ChatAnswer| accept_answer(ans, &checks);
        let req = ChatRequest {
            system: shape.prompts.system.clone(),
            system_json: shape.system_json.clone(),
            user: piece.user.clone().unwrap_or_else(|| {
                shape
                    .prompts
                    .user_message(&piece.text, &job.rel, job.section.as_deref())
            }),
            schema: shape.schema.clone(),
            max_tokens: shape.max_tokens,
            // An answer cut off before one record was complete may get more budget, up to
            // what the bounds' largest answer needs (a --max-output-tokens set too small).
            max_tokens_ceiling: shape.max_tokens.max(shape.prompts.max_answer_tokens()),
            seed: job.key.seed().wrapping_add(u64::from(piece.depth)),
            request_id: job.key.hex(),
            followup: None,
        };
        let smaller = level + 1 < ctx.shapes.len();
        match ctx.router.call(&req, spend, &accept).await {
            Ok(served) => {
                acc.pt += served.prompt_tokens;
                acc.ct += served.completion_tokens;
                acc.served_by = Some((served.engine, served.model));
                let cut = served.value.partial;
                let mut x = partial.take().unwrap_or_default();
                x.absorb(served.value);
                x.partial = cut;
                if cut && smaller && !spend.exhausted() {
                    partial = Some(x);
                    level += 1;
                    acc.shrunk += 1;
                    continue;
                }
                if !cut && ctx.gleaning > 0 {
                    glean(ctx, &req, spend, &accept, &mut x, acc).await?;
                }
                acc.total.absorb(x);
                return Ok(None);
            }
            Err(RouteError::Split(err)) if err.class == FailureClass::Truncated => {
                if smaller && !spend.exhausted() {
                    level += 1;
                    acc.shrunk += 1;
                    continue;
                }
                return match partial {
                    Some(x) => {
                        acc.total.absorb(x);
                        Ok(None)
                    }
                    None => Err(ChunkResult::failed(
                        err,
                        " (even with the smallest answer bounds)",
                    )),
                };
            }
            Err(RouteError::Split(err)) => return Ok(Some(err)),
            Err(RouteError::Failed(err)) => {
                // Records already answered are kept rather than thrown away with the chunk.
                return match partial {
                    Some(x) => {
                        acc.total.absorb(x);
                        Ok(None)
                    }
                    None => Err(ChunkResult::failed(err, "")),
                };
            }
            Err(RouteError::Fatal(m)) => return Err(Outcome::Stop(Stop::Fatal(m))),
            Err(RouteError::NoEngine(m)) => return Err(Outcome::Stop(Stop::NoEngine(m))),
            Err(RouteError::Cancelled) => return Err(Outcome::Cancelled),
        }
    }
}

/// Gleaning: asks again, with the answer so far in the conversation, for what it missed,
/// up to `--gleaning` times or until a round adds nothing. A round that fails ends the
/// gleaning and keeps what the chunk has.
async fn glean(
    ctx: &TaskCtx,
    first: &ChatRequest,
    spend: &ChunkSpend,
    accept: &impl Fn(&ChatAnswer) -> Result<Extraction, EngineError>,
    x: &mut Extraction,
    acc: &mut ChunkResult,
) -> Result<(), Outcome> {
    for round in 1..=u64::from(ctx.gleaning) {
        if spend.exhausted() {
            break;
        }
        let req = ChatRequest {
            followup: Some(Arc::new(crate::engine::FollowUp {
                answer: x.answer_json(),
                ask: GLEAN_ASK.to_string(),
            })),
            seed: first.seed.wrapping_add(round << 20),
            ..first.clone()
        };
        match ctx.router.call(&req, spend, accept).await {
            Ok(served) => {
                acc.pt += served.prompt_tokens;
                acc.ct += served.completion_tokens;
                let before = x.records();
                let mut more = served.value;
                more.partial = false;
                x.absorb(more);
                let added = (x.records() - before) as u32;
                acc.gleaned.0 += 1;
                acc.gleaned.1 += added;
                if added == 0 {
                    break;
                }
            }
            Err(RouteError::Fatal(m)) => return Err(Outcome::Stop(Stop::Fatal(m))),
            Err(RouteError::NoEngine(m)) => return Err(Outcome::Stop(Stop::NoEngine(m))),
            Err(RouteError::Cancelled) => return Err(Outcome::Cancelled),
            Err(RouteError::Failed(_) | RouteError::Split(_)) => break,
        }
    }
    Ok(())
}

/// Per-document bookkeeping in the writer.
struct DocState {
    manifest: DocManifest,
    expected: u32,
    settled: u32,
    failed: bool,
}

/// Everything the writer accumulates.
struct Writer {
    journal: Journal,
    docs: Vec<DocState>,
    sections: Sections,
    report: Report,
    snapshot: Snapshot,
    progress: Progress,
    router: Arc<Router>,
}

impl Writer {
    fn settle(&mut self, doc: u32, failed: bool) {
        let Some(d) = self.docs.get_mut(doc as usize) else {
            return;
        };
        d.settled += 1;
        d.failed |= failed;
        if d.settled == d.expected {
            self.snapshot.docs_done += 1;
        }
    }

    fn push_chunk_ref(
        &mut self,
        doc: u32,
        index: u32,
        record: RecordRef,
        section: Option<Arc<str>>,
    ) {
        if let Some(d) = self.docs.get_mut(doc as usize) {
            d.manifest.chunks.push(ChunkRef {
                index,
                section: self.sections.intern(section.as_deref()),
                record,
            });
        }
    }

    fn handle(&mut self, ev: Event) -> Result<(), Stop> {
        match ev {
            Event::Item(Item::Doc { rel, chunks, notes }) => {
                self.snapshot.docs_seen += 1;
                self.snapshot.chunks_total += u64::from(chunks);
                if !notes.is_empty() {
                    self.report.documents.notes.insert(rel.to_string(), notes);
                }
                if chunks == 0 {
                    self.snapshot.docs_done += 1;
                }
                self.docs.push(DocState {
                    manifest: DocManifest {
                        rel,
                        chunks: Vec::new(),
                    },
                    expected: chunks,
                    settled: 0,
                    failed: false,
                });
            }
            Event::Item(Item::Issue(issue)) => {
                self.snapshot.docs_seen += 1;
                self.snapshot.docs_done += 1;
                match issue.kind {
                    IssueKind::Skipped => self.report.documents.skipped_list.push(issue),
                    IssueKind::Failed => self.report.documents.failed_list.push(issue),
                }
            }
            Event::Item(Item::Resumed {
                doc,
                index,
                record,
                section,
            }) => {
                self.push_chunk_ref(doc, index, record, section);
                self.snapshot.chunks_done += 1;
                self.snapshot.chunks_resumed += 1;
                self.settle(doc, false);
            }
            Event::Item(Item::Chunk(_)) => {}
            Event::Item(Item::WalkDone) => self.snapshot.walk_finished = true,
            Event::Done {
                job,
                extraction,
                engine,
                model,
                pt,
                ct,
                splits,
                shrunk,
                gleaned,
            } => {
                let record = self
                    .journal
                    .record_done(job.key, engine, &model, pt, ct, &extraction)
                    .map_err(|e| Stop::Journal(e.to_string()))?;
                self.report.chunks.split += u64::from(splits.min(1));
                self.report.chunks.bounds_shrunk += u64::from(shrunk.min(1));
                self.report.gleaning.requests += u64::from(gleaned.0);
                self.report.gleaning.records_added += u64::from(gleaned.1);
                self.snapshot.chunks_done += 1;
                self.snapshot.completion_tokens += ct;
                self.push_chunk_ref(job.doc, job.index, record, job.section);
                self.settle(job.doc, false);
            }
            Event::Failed {
                job,
                class,
                reason,
                raw,
            } => {
                self.journal
                    .record_failed(job.key, &class, &reason, raw.as_deref())
                    .map_err(|e| Stop::Journal(e.to_string()))?;
                self.snapshot.chunks_failed += 1;
                tracing::warn!(doc = %job.rel, chunk = job.index, class = %class, "chunk failed: {reason}");
                if self.report.failed_chunks.len() < MAX_LISTED_FAILURES {
                    self.report.failed_chunks.push(FailedChunk {
                        doc: job.rel.to_string(),
                        chunk: job.index,
                        class,
                        reason,
                    });
                }
                // No result to merge: the manifest lists results only.
                self.settle(job.doc, true);
            }
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<(), Stop> {
        self.journal
            .sync()
            .map_err(|e| Stop::Journal(e.to_string()))?;
        self.snapshot.engine = self.router.serving().map(EngineKind::name);
        self.progress.update(&self.snapshot);
        Ok(())
    }
}

/// How the run is stopped early: `stop` ends dispatching (no new requests); `abort`
/// abandons the requests in flight (their connections close, so the engine frees their
/// slots); `why` keeps the first reason.
#[derive(Clone, Default)]
struct Stopping {
    stop: CancellationToken,
    abort: CancellationToken,
    why: Arc<Mutex<Option<Stop>>>,
}

impl Stopping {
    /// Records `why` (the first reason wins) and stops dispatching; `abandon` also ends the
    /// requests in flight.
    fn halt(&self, why: Stop, abandon: bool) {
        self.why
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(why);
        self.stop.cancel();
        if abandon {
            self.abort.cancel();
        }
    }

    fn reason(&self) -> Option<Stop> {
        self.why.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Listens for SIGINT/SIGTERM. The first stops dispatching and gives the requests in
/// flight `grace` to finish: a deadline, after which they are abandoned and the run writes
/// its outputs and exits 130. The second exits at once (the journal is consistent at every
/// instant, so nothing answered is lost).
fn install_signals(stopping: Stopping, grace: Duration) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            for n in 0..2 {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                if n == 0 {
                    eprintln!("aegis-ingest: stopping: no new requests; the ones in flight get {} s to finish, then they are abandoned and the outputs are written. Press Ctrl-C again to exit at once; the checkpoint keeps all finished work.", grace.as_secs_f64());
                    stopping.halt(Stop::Interrupted, false);
                    let abort = stopping.abort.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(grace).await;
                        if !abort.is_cancelled() {
                            tracing::info!(
                                "grace period over: abandoning the requests still in flight"
                            );
                            abort.cancel();
                        }
                    });
                } else {
                    eprintln!("aegis-ingest: exiting now; finished work is in the checkpoint. Rerun the same command to resume.");
                    std::process::exit(ExitCode::Interrupted as i32);
                }
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_ok() {
                stopping.halt(Stop::Interrupted, false);
                tokio::time::sleep(grace).await;
                stopping.abort.cancel();
            }
        }
    });
}

/// Previous run's identity, to say at start what will be redone.
#[derive(serde::Serialize, serde::Deserialize, Default)]
pub struct RunState {
    pub corpus: String,
    pub prompt_fingerprint: String,
    pub prompts_dir: String,
    pub chunk_tokens: usize,
    pub chunk_overlap: usize,
    /// The answer bounds and template the plan chose (small contexts change them).
    #[serde(default)]
    pub limits: Option<crate::prompt::Limits>,
    #[serde(default)]
    pub compact: bool,
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub max_file_size: Option<u64>,
    /// `--gleaning` rounds (part of the chunk keys when not 0).
    #[serde(default)]
    pub gleaning: u32,
    pub models: BTreeMap<String, String>,
    pub command: Vec<String>,
    pub finished_at: u64,
    pub exit_code: i32,
}

pub const STATE_FILE: &str = "run.json";

fn discard_previous(out: &Path) -> std::io::Result<Vec<String>> {
    let mut gone = Vec::new();
    for name in [
        crate::journal::FILE_NAME,
        crate::filecache::FILE_NAME,
        crate::outputs::FILE_NAME,
        "entities.jsonl",
        "relations.jsonl",
        "report.json",
        "skipped.csv",
        STATE_FILE,
        crate::shard::SHARD_FILE,
        crate::shard::MANIFEST_FILE,
    ] {
        let p = out.join(name);
        if p.exists() {
            std::fs::remove_file(&p)?;
            gone.push(name.to_string());
        }
    }
    Ok(gone)
}

/// Fits prompts, chunk size and output budget to the preferred engine's context (see
/// `plan`), measuring the tokenizer with vLLM's `/tokenize` when it answers.
pub(crate) async fn apply_plan(s: &mut RunSettings, probed: &mut crate::config::ProbedEngines) {
    use crate::engine::EngineClient;
    let Some(setup) = probed
        .setups
        .iter()
        .find(|e| e.up && e.context_len.is_some())
    else {
        return;
    };
    let counter = match &setup.client {
        EngineClient::OpenAi(c) => Some(c),
        EngineClient::Ollama(_) => None,
    };
    let per_k = fit_plan(s, setup.context_len.unwrap_or(0), counter).await;
    if let Some(per_k) = per_k {
        for e in probed.setups.iter_mut() {
            if matches!(e.client, EngineClient::OpenAi(_)) {
                e.tokens_per_kchar = Some(per_k);
            }
        }
    }
}

/// Fits prompts, chunk size and output budget to a `context`-token model, counting tokens
/// with `counter`'s tokenizer when it answers (else estimated). Returns the measured prompt
/// tokens per 1000 characters.
pub(crate) async fn fit_plan(
    s: &mut RunSettings,
    context: u32,
    counter: Option<&crate::engine::openai::OpenAiClient>,
) -> Option<u32> {
    use crate::plan::{plan, Ratios, TokenCounter};
    struct Estimate;
    impl TokenCounter for Estimate {
        fn count(&self, _: &str) -> Option<u32> {
            None
        }
    }
    let sample = s.prompts.system.to_string();
    let measured = match counter {
        Some(c) => c.count_tokens(&sample).await,
        None => None,
    };
    // The schema's largest answer, counted by the served tokenizer: the output budget must
    // cover it (a tokenizer may need twice the tokens per character on JSON as on prose).
    let answer = s.prompts.largest_answer();
    let answer_measured = match (counter, measured) {
        (Some(c), Some(_)) => c.count_tokens(&answer).await,
        _ => None,
    };
    let ratios = Ratios::from_count(&sample, measured).with_answer_count(&answer, answer_measured);
    let p = plan(
        &s.prompts,
        s.chunk,
        context,
        ratios,
        &Estimate,
        s.max_output_explicit,
    );
    if let Some(note) = &p.note {
        eprintln!("aegis-ingest: {note}");
    }
    s.prompts = std::sync::Arc::new(p.prompts);
    s.chunk = p.chunk;
    s.max_output_tokens = p.max_output_tokens;
    measured.map(|_| (ratios.tokens_per_char * 1000.0).round() as u32)
}

/// `aegis-ingest run --dry-run`: the front end alone (walk, read, chunk, keys), with the
/// counts a run would start from. Nothing is contacted or written.
pub async fn dry_run(s: RunSettings) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let nothing_done = ResumeIndex {
        done: Arc::default(),
        accepted: Vec::new(),
        any_model: false,
    };
    let (mut rx, handle) = Producer::new(&s, nothing_done, CancellationToken::new())?.spawn(1024);
    let (mut docs, mut chunks, mut bytes) = (0u64, 0u64, 0u64);
    let mut issues: BTreeMap<(&'static str, &'static str), u64> = BTreeMap::new();
    while let Some(item) = rx.recv().await {
        match item {
            Item::Doc { .. } => docs += 1,
            Item::Chunk(job) => {
                chunks += 1;
                bytes += job.text.len() as u64;
            }
            Item::Issue(i) => {
                let kind = match i.kind {
                    IssueKind::Skipped => "skipped",
                    IssueKind::Failed => "failed",
                };
                *issues.entry((kind, i.reason)).or_default() += 1;
            }
            Item::Resumed { .. } | Item::WalkDone => {}
        }
    }
    handle.await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "dry run: {docs} documents to extract, {chunks} chunks ({:.1} MB of chunk text), in {secs:.2} s",
        bytes as f64 / 1e6
    );
    for ((kind, reason), n) in &issues {
        println!("  {kind} ({reason}): {n}");
    }
    Ok(ExitCode::Done)
}

/// Creates and locks `--out` (for as long as the lock lives), clears it with `--fresh`,
/// and opens its checkpoint.
pub(crate) fn open_out(
    out: &Path,
    fresh: bool,
) -> Result<(crate::lock::OutLock, Journal), RunError> {
    std::fs::create_dir_all(out).map_err(|e| {
        RunError::config(format!(
            "cannot create --out {}: {e}; pass a folder you can write to (permissions, free space)",
            out.display()
        ))
    })?;
    let lock = crate::lock::OutLock::acquire(out)?;
    if fresh {
        let gone = discard_previous(out).map_err(|e| {
            RunError::config(format!(
                "--fresh: cannot clear {}: {e}; remove the files yourself or pass another --out",
                out.display()
            ))
        })?;
        if !gone.is_empty() {
            eprintln!(
                "aegis-ingest: --fresh: discarded {} in {}",
                gone.join(", "),
                out.display()
            );
        }
    }
    let journal = Journal::open(out).map_err(|e| RunError::config(e.to_string()))?;
    if journal.opened.torn_bytes_dropped > 0 {
        tracing::warn!("checkpoint: dropped a torn tail of {} bytes left by an interrupted run; everything before it is kept", journal.opened.torn_bytes_dropped);
    }
    Ok((lock, journal))
}

/// The chunks of the corpus the checkpoint does not hold for the probed engines' model,
/// in corpus order (`Item::Chunk`; the rest is bookkeeping), from a producer thread.
pub(crate) fn spawn_producer(
    s: &RunSettings,
    journal: &Journal,
    probed: &crate::config::ProbedEngines,
    stop: CancellationToken,
) -> Result<(mpsc::Receiver<Item>, tokio::task::JoinHandle<()>), RunError> {
    Ok(Producer::new(s, resume_index(journal, probed), stop)?.spawn(1024))
}

/// `aegis-ingest run`.
pub async fn run(settings: RunSettings) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut s = settings;
    let (_lock, journal) = open_out(&s.out, s.fresh)?;
    let mut probed = setup_engines(&s.engines).await?;
    for m in &probed.not_ready {
        tracing::warn!("{m}");
    }
    apply_plan(&mut s, &mut probed).await;
    let previous: Option<RunState> = std::fs::read(s.out.join(STATE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(prev) = &previous {
        if prev.prompt_fingerprint != s.prompts.fingerprint {
            eprintln!("aegis-ingest: the prompts or taxonomy changed since the last run in {} ({}): chunks are extracted again with the new ones; old results are not mixed in", s.out.display(), prev.prompts_dir);
        } else if (prev.chunk_tokens, prev.chunk_overlap) != (s.chunk.tokens, s.chunk.overlap) {
            eprintln!("aegis-ingest: chunk settings changed since the last run ({}/{} -> {}/{}): documents are chunked and extracted again", prev.chunk_tokens, prev.chunk_overlap, s.chunk.tokens, s.chunk.overlap);
        }
    }

    let stopping = Stopping::default();
    install_signals(stopping.clone(), s.stop_grace);

    let resume = resume_index(&journal, &probed);
    let router = Router::new(
        probed.setups,
        RouterConfig {
            request_timeout: s.engines.request_timeout,
            engine_wait: s.engine_wait,
            // Tests shorten the backoff base; users have no reason to.
            base_backoff: std::env::var("AEGIS_RETRY_BASE_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .map_or(RouterConfig::default().base_backoff, Duration::from_millis),
            ..RouterConfig::default()
        },
        stopping.abort.clone(),
    );

    let capacity = router.total_capacity();
    let producer = Producer::new(&s, resume, stopping.stop.clone())?;
    let (not_read, stale) = (producer.not_read.clone(), producer.stale.clone());
    let (item_rx, producer_handle) = producer.spawn(capacity.clamp(16, 1024) * 2);

    let (ev_tx, ev_rx) = mpsc::channel::<Event>(capacity.clamp(16, 4096) * 2);
    let mut writer = Writer {
        journal,
        docs: Vec::new(),
        sections: Sections::default(),
        report: Report::default(),
        snapshot: Snapshot::default(),
        progress: Progress::new(s.quiet),
        router: router.clone(),
    };
    writer.report.validation.grounding = s.grounding;
    writer.report.gleaning.rounds = s.gleaning;
    let writer_handle = spawn_writer(writer, ev_rx, stopping.clone());

    let shapes = AnswerShape::ladder(&s)?;
    let ctx = Arc::new(TaskCtx {
        router: router.clone(),
        grounding: s.grounding,
        max_answers_per_chunk: s.max_requests_per_chunk,
        max_tokens_per_chunk: s
            .max_tokens_per_chunk
            .unwrap_or(u64::from(s.max_output_tokens.max(s.prompts.max_answer_tokens())) * 4),
        shapes,
        gleaning: s.gleaning,
    });
    let mut tasks = dispatch(item_rx, ev_tx, ctx, capacity, &stopping).await?;
    // Normally every task finishes; after a stop, the grace deadline (or the error that
    // stopped the run) abandons the ones still in flight, and they end at once.
    while tasks.join_next().await.is_some() {}
    stopping.abort.cancel();
    let _ = producer_handle.await;
    let mut writer = writer_handle.await?;
    writer.report.documents.unchanged_not_read =
        not_read[0].load(std::sync::atomic::Ordering::Relaxed);
    writer.report.documents.unchanged_same_bytes =
        not_read[1].load(std::sync::atomic::Ordering::Relaxed);
    let stale_count = *stale.lock().unwrap_or_else(|p| p.into_inner());
    finish(&s, writer, router, stopping.reason(), stale_count, started)
}

/// The previous run's results this run may reuse: those of the models it can be served by.
fn resume_index(journal: &Journal, probed: &crate::config::ProbedEngines) -> ResumeIndex {
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

/// The writer task: journals results (one write for all that are waiting), keeps the
/// manifest and counters, makes the journal durable every `SYNC_INTERVAL`, draws progress.
/// A journal error stops the run (and abandons requests in flight: nothing more could be
/// recorded).
fn spawn_writer(
    mut writer: Writer,
    mut ev_rx: mpsc::Receiver<Event>,
    stopping: Stopping,
) -> tokio::task::JoinHandle<Writer> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SYNC_INTERVAL);
        loop {
            let res = tokio::select! {
                ev = ev_rx.recv() => match ev {
                    Some(ev) => {
                        writer.journal.begin_batch();
                        let mut res = writer.handle(ev);
                        for _ in 0..WRITER_BATCH {
                            let Ok(ev) = ev_rx.try_recv() else { break };
                            res = res.and_then(|()| writer.handle(ev));
                        }
                        let flushed = writer.journal.end_batch().map_err(|e| Stop::Journal(e.to_string()));
                        res.and(flushed)
                    }
                    None => break,
                },
                _ = tick.tick() => writer.tick(),
            };
            if let Err(stop) = res {
                stopping.halt(stop, true);
                // Keep draining so senders never block; nothing more is recorded.
                while ev_rx.recv().await.is_some() {}
                break;
            }
        }
        let _ = writer.tick();
        writer.progress.finish();
        writer
    })
}

/// The dispatcher: one task per chunk, at most `capacity` at once; everything else the
/// producer emits goes straight to the writer. Returns the tasks still running when the
/// walk ends or the run stops.
async fn dispatch(
    mut item_rx: mpsc::Receiver<Item>,
    ev_tx: mpsc::Sender<Event>,
    ctx: Arc<TaskCtx>,
    capacity: usize,
    stopping: &Stopping,
) -> anyhow::Result<JoinSet<()>> {
    let slots = Arc::new(Semaphore::new(capacity));
    let mut tasks: JoinSet<()> = JoinSet::new();
    let stop = &stopping.stop;
    loop {
        let item = tokio::select! {
            biased;
            _ = stop.cancelled() => None,
            item = item_rx.recv() => item,
        };
        let Some(item) = item else { break };
        match item {
            Item::Chunk(job) => {
                let permit = tokio::select! {
                    biased;
                    _ = stop.cancelled() => break,
                    p = slots.clone().acquire_owned() => p?,
                };
                let ctx = ctx.clone();
                let ev_tx = ev_tx.clone();
                let stopping = stopping.clone();
                tasks.spawn(async move {
                    let ev = match extract_chunk(&ctx, &job).await {
                        Outcome::Done {
                            extraction,
                            engine,
                            model,
                            pt,
                            ct,
                            splits,
                            shrunk,
                            gleaned,
                        } => Event::Done {
                            job,
                            extraction,
                            engine,
                            model,
                            pt,
                            ct,
                            splits,
                            shrunk,
                            gleaned,
                        },
                        Outcome::Failed { class, reason, raw } => Event::Failed {
                            job,
                            class,
                            reason,
                            raw,
                        },
                        Outcome::Stop(reason) => return stopping.halt(reason, true),
                        Outcome::Cancelled => return,
                    };
                    // The slot is freed only once the writer has the result, so at any
                    // instant at most `capacity` answers exist that are not journaled:
                    // a crash re-sends no more than that.
                    let _ = ev_tx.send(ev).await;
                    drop(permit);
                });
                while tasks.try_join_next().is_some() {}
            }
            other => {
                let sent = tokio::select! {
                    biased;
                    _ = stop.cancelled() => false,
                    r = ev_tx.send(Event::Item(other)) => r.is_ok(),
                };
                if !sent {
                    break;
                }
            }
        }
    }
    Ok(tasks)
}

fn finish(
    s: &RunSettings,
    writer: Writer,
    router: Arc<Router>,
    stop: Option<Stop>,
    stale: u64,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let Writer {
        mut journal,
        mut docs,
        sections,
        mut report,
        snapshot,
        ..
    } = writer;
    if let Some(Stop::Journal(m)) = &stop {
        return Err(RunError::config(format!(
            "{m}; finished work up to the failure is in the checkpoint: make room on the disk (or fix it) and rerun the same command to resume"
        ))
        .into());
    }
    let merged = write_outputs(s, &mut journal, &mut docs, sections)?;
    fill_report(
        &mut report,
        s,
        &docs,
        &snapshot,
        &merged,
        &router,
        stale,
        started,
    );
    let unfinished = docs.iter().any(|d| d.settled < d.expected) || !snapshot.walk_finished;
    let (code, err) = exit_status(&mut report, &snapshot, stop.as_ref(), unfinished);
    let io = |e: std::io::Error| {
        RunError::config(format!(
            "cannot write the report in {}: {e}; every finished chunk is in the checkpoint: make room on the disk (or fix the folder's permissions) and rerun the same command",
            s.out.display()
        ))
    };
    crate::atomic::write_atomic(&s.out.join("report.json"), |w| {
        serde_json::to_writer_pretty(&mut *w, &report).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .map_err(io)?;
    crate::atomic::write_atomic(&s.out.join("skipped.csv"), |w| report.write_skipped_csv(w))
        .map_err(io)?;
    write_state(s, &report, code).map_err(io)?;
    if let Some(shard) = s.shard {
        let info = crate::shard::ShardInfo {
            version: 1,
            shard,
            fingerprint: crate::shard::settings_fingerprint(
                &key_fingerprint(&s.prompts.fingerprint, s.gleaning),
                s.chunk.tokens,
                s.chunk.overlap,
                s.resolve,
                &report
                    .engines
                    .values()
                    .filter(|e| e.successes > 0)
                    .map(|e| e.model.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            resolve: s.resolve,
            documents: report.documents.seen,
            chunks: report.chunks.total,
            exit_code: code as i32,
        };
        crate::shard::write_info(&s.out, &info).map_err(io)?;
    }
    if !s.quiet {
        eprint!("{}", report.summary());
        eprintln!("outputs: {}", s.out.join("entities.jsonl").display());
    }
    // Quality gates (--max-generic-share, --min-grounded; src/gates.rs): the outputs are
    // written; a failed gate makes the exit code 1.
    if err.is_none() && !s.gates.is_empty() {
        let failed = crate::gates::check_run(&s.out, &report, &s.gates);
        for m in &failed {
            eprintln!("aegis-ingest: {m}");
        }
        if !failed.is_empty() {
            return Ok(ExitCode::SomeFailed);
        }
    }
    match err {
        Some(e) => Err(e.into()),
        None => Ok(code),
    }
}

/// The merge: results arrive in completion order; it reads them in corpus order so that
/// the outputs do not depend on timing (resumed == uninterrupted, byte for byte).
fn write_outputs(
    s: &RunSettings,
    journal: &mut Journal,
    docs: &mut [DocState],
    sections: Sections,
) -> anyhow::Result<crate::merge::MergeStats> {
    // The chunk lists move into the manifest (not copied: they are the run's largest
    // structure).
    let manifest = Manifest {
        docs: docs
            .iter_mut()
            .map(|d| {
                let mut chunks = std::mem::take(&mut d.manifest.chunks);
                chunks.sort_unstable_by_key(|c| c.index);
                DocManifest {
                    rel: d.manifest.rel.clone(),
                    chunks,
                }
            })
            .collect(),
        sections,
    };
    // The merge finds results through the manifest; the index of what the checkpoint held
    // at start is not needed any more (32 bytes a key: 32 MB at a million chunks).
    journal.release_index();
    // Nothing new since the last merge (a rerun that resumed everything): the outputs are
    // already its bytes.
    let fp = crate::outputs::fingerprint(&manifest, s.resolve);
    let checkpoint = journal.path().to_path_buf();
    let merged = match crate::outputs::unchanged(&s.out, &checkpoint, &fp) {
        Some(stats) => stats,
        None => {
            let m = crate::merge::merge_and_write_with(&manifest, journal, &s.out, s.resolve)
                .map_err(|e| RunError::config(e.to_string()))?;
            crate::outputs::record(&s.out, &checkpoint, &fp, &m);
            m
        }
    };
    if s.shard.is_some() {
        crate::shard::write_manifest(&s.out, &manifest).map_err(|e| {
            RunError::config(format!(
                "cannot write the shard manifest in {}: {e}",
                s.out.display()
            ))
        })?;
    }
    Ok(merged)
}

/// Counts, shares, engine statistics and settings into the report.
#[allow(clippy::too_many_arguments)]
fn fill_report(
    report: &mut Report,
    s: &RunSettings,
    docs: &[DocState],
    snapshot: &Snapshot,
    merged: &crate::merge::MergeStats,
    router: &Router,
    stale: u64,
    started: Instant,
) {
    let d = &mut report.documents;
    d.skipped = d.skipped_list.len() as u64;
    d.failed = d.failed_list.len() as u64;
    for doc in docs {
        if doc.failed || doc.settled < doc.expected {
            if doc.failed {
                d.failed += 1;
                d.failed_list.push(DocIssue::new(
                    doc.manifest.rel.to_string(),
                    IssueKind::Failed,
                    "chunks_failed",
                    "some chunks failed; see failed_chunks; a rerun retries them",
                ));
            }
        } else {
            d.extracted += 1;
        }
    }
    d.seen = snapshot.docs_seen;
    let c = &mut report.chunks;
    c.total = snapshot.chunks_total;
    c.resumed = snapshot.chunks_resumed;
    c.extracted_now = snapshot.chunks_done - snapshot.chunks_resumed;
    c.failed = snapshot.chunks_failed;
    c.empty = merged.empty_chunks;
    c.partial = merged.validation.partial;
    report.entities = merged.entities;
    report.relations = merged.relations;
    let generic = merged
        .relation_types
        .get(GENERIC_RELATION)
        .copied()
        .unwrap_or(0);
    report.generic_relation_share = if merged.relations > 0 {
        generic as f64 / merged.relations as f64
    } else {
        0.0
    };
    report.relation_types = merged.relation_types.clone();
    report.entity_types = merged.entity_types.clone();
    report.dropped_items = merged.dropped;
    report.validation.fill(&merged.validation);
    report.resolution = merged.resolution.clone();
    for (name, st) in router.stats() {
        report.retries += st.retries;
        report.fallbacks += st.fallbacks;
        report.prompt_tokens += st.prompt_tokens;
        report.completion_tokens += st.completion_tokens;
        report.engines.insert(name, st);
    }
    report.corpus = s.corpus.display().to_string();
    report.out = s.out.display().to_string();
    report.wall_seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    report.peak_rss_mb = crate::report::peak_rss_mb();
    report.settings = serde_json::json!({
        "chunk_tokens": s.chunk.tokens,
        "chunk_overlap": s.chunk.overlap,
        "domain": s.prompts.taxonomy.name,
        "prompts_dir": s.prompts.dir.display().to_string(),
        "prompt_fingerprint": s.prompts.fingerprint,
        "max_output_tokens": s.max_output_tokens,
        "answer_limits": s.prompts.taxonomy.limits,
        "grounding": s.grounding,
        "max_requests_per_chunk": s.max_requests_per_chunk,
        "engine_wait_secs": s.engine_wait.as_secs(),
        "stale_results_redone": stale,
    });
}

/// The exit code and the error to print, from why the run stopped and what failed.
fn exit_status(
    report: &mut Report,
    snapshot: &Snapshot,
    stop: Option<&Stop>,
    unfinished: bool,
) -> (ExitCode, Option<RunError>) {
    let (code, status, err): (ExitCode, &str, Option<RunError>) = match stop {
        Some(Stop::Interrupted) => (ExitCode::Interrupted, "interrupted", Some(RunError::Interrupted(format!(
            "interrupted: {} of the {} chunks seen so far are done and in the checkpoint ({} finished this run); rerun the same command to resume",
            snapshot.chunks_done, snapshot.chunks_total, snapshot.chunks_done - snapshot.chunks_resumed
        )))),
        Some(Stop::NoEngine(m)) => (ExitCode::NoEngine, "stopped: no engine", Some(RunError::NoEngine(m.clone()))),
        Some(Stop::Fatal(m)) => (ExitCode::Usage, "stopped: configuration error", Some(RunError::Config(m.clone()))),
        Some(Stop::Journal(_)) => unreachable!("handled above"),
        None if report.documents.failed > 0 || report.chunks.failed > 0 || unfinished => (ExitCode::SomeFailed, "finished with failures", None),
        None => (ExitCode::Done, "done", None),
    };
    report.status = status.to_string();
    report.exit_code = code as i32;
    (code, err)
}

/// `run.json`: this run's identity, read by the next run and by `status`.
fn write_state(s: &RunSettings, report: &Report, code: ExitCode) -> std::io::Result<()> {
    let state = RunState {
        corpus: std::fs::canonicalize(&s.corpus)
            .unwrap_or_else(|_| s.corpus.clone())
            .display()
            .to_string(),
        prompt_fingerprint: s.prompts.fingerprint.clone(),
        prompts_dir: s.prompts.dir.display().to_string(),
        chunk_tokens: s.chunk.tokens,
        chunk_overlap: s.chunk.overlap,
        limits: Some(s.prompts.taxonomy.limits),
        compact: s.prompts.compact,
        include: s.include.clone(),
        exclude: s.exclude.clone(),
        max_file_size: Some(s.max_file_size),
        gleaning: s.gleaning,
        models: report
            .engines
            .iter()
            .map(|(k, v)| (k.clone(), v.model.clone()))
            .collect(),
        command: std::env::args().collect(),
        finished_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        exit_code: code as i32,
    };
    crate::atomic::write_atomic(&s.out.join(STATE_FILE), |w| {
        serde_json::to_writer_pretty(&mut *w, &state).map_err(std::io::Error::other)
    })
}
