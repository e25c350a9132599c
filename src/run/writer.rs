//! The writer task, the only one that writes during a run: results to the journal (group
//! commit), the manifest of what each document's chunks are, counters and progress.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::engine::router::Router;
use crate::engine::EngineKind;
use crate::outdir::journal::{Journal, RecordRef};
use crate::outdir::manifest::{ChunkRef, DocManifest, Sections};
use crate::outdir::report::{FailedChunk, Report, MAX_LISTED_FAILURES};
use crate::progress::{Progress, Snapshot};
use crate::read::issue::IssueKind;
use crate::run::settings::RunSettings;

use super::extract::{ChunkDone, ChunkFailed};
use super::producer::*;
use super::stop::*;

/// How often the writer makes the journal durable (group commit).
pub(crate) const SYNC_INTERVAL: Duration = Duration::from_millis(500);

/// What the writer receives: the producer's bookkeeping, and each chunk's end.
pub(crate) enum Event {
    Item(Item),
    Done(ChunkJob, ChunkDone),
    Failed(ChunkJob, ChunkFailed),
}

/// Results the writer journals with one write, at most.
pub(crate) const WRITER_BATCH: usize = 256;

/// Per-document bookkeeping in the writer.
pub(crate) struct DocState {
    pub(crate) manifest: DocManifest,
    pub(crate) expected: u32,
    pub(crate) settled: u32,
    pub(crate) failed: bool,
}

/// Everything the writer accumulates.
pub(crate) struct Writer {
    pub(crate) journal: Journal,
    pub(crate) docs: Vec<DocState>,
    pub(crate) sections: Sections,
    pub(crate) report: Report,
    pub(crate) snapshot: Snapshot,
    pub(crate) progress: Progress,
    pub(crate) router: Arc<Router>,
}

impl Writer {
    /// A writer for a run with settings `s`, over its opened checkpoint.
    pub(crate) fn new(journal: Journal, s: &RunSettings, router: Arc<Router>) -> Self {
        let mut report = Report::default();
        report.validation.grounding = s.grounding;
        report.gleaning.rounds = s.gleaning;
        Writer {
            journal,
            docs: Vec::new(),
            sections: Sections::default(),
            report,
            snapshot: Snapshot::default(),
            progress: Progress::new(s.quiet),
            router,
        }
    }

    pub(crate) fn settle(&mut self, doc: u32, failed: bool) {
        let Some(d) = self.docs.get_mut(doc as usize) else {
            return;
        };
        d.settled += 1;
        d.failed |= failed;
        if d.settled == d.expected {
            self.snapshot.docs_done += 1;
        }
    }

    pub(crate) fn push_chunk_ref(
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

    pub(crate) fn handle(&mut self, ev: Event) -> Result<(), Stop> {
        match ev {
            Event::Item(item) => self.note_item(item),
            Event::Done(job, done) => self.record_done(job, done)?,
            Event::Failed(job, failed) => self.record_failed(job, failed)?,
        }
        Ok(())
    }

    /// What the producer found besides chunks to extract: documents, skips, resumed chunks.
    fn note_item(&mut self, item: Item) {
        match item {
            Item::Doc { rel, chunks, notes } => {
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
            Item::Issue(issue) => {
                self.snapshot.docs_seen += 1;
                self.snapshot.docs_done += 1;
                match issue.kind {
                    IssueKind::Skipped => self.report.documents.skipped_list.push(issue),
                    IssueKind::Failed => self.report.documents.failed_list.push(issue),
                }
            }
            Item::Resumed {
                doc,
                index,
                record,
                section,
            } => {
                self.push_chunk_ref(doc, index, record, section);
                self.snapshot.chunks_done += 1;
                self.snapshot.chunks_resumed += 1;
                self.settle(doc, false);
            }
            Item::Chunk(_) => {}
            Item::WalkDone => self.snapshot.walk_finished = true,
        }
    }

    fn record_done(&mut self, job: ChunkJob, done: ChunkDone) -> Result<(), Stop> {
        let ChunkDone {
            extraction,
            engine,
            model,
            pt,
            ct,
            splits,
            shrunk,
            gleaned,
            repaired,
        } = done;
        let record = self
            .journal
            .record_done(job.key, engine, &model, pt, ct, &extraction)
            .map_err(|e| Stop::Journal(e.to_string()))?;
        self.report.chunks.split += u64::from(splits.min(1));
        self.report.chunks.bounds_shrunk += u64::from(shrunk.min(1));
        self.report.chunks.repaired += u64::from(repaired.min(1));
        self.report.gleaning.requests += u64::from(gleaned.0);
        self.report.gleaning.records_added += u64::from(gleaned.1);
        self.snapshot.chunks_done += 1;
        self.snapshot.completion_tokens += ct;
        self.push_chunk_ref(job.doc, job.index, record, job.section);
        self.settle(job.doc, false);
        Ok(())
    }

    fn record_failed(&mut self, job: ChunkJob, failed: ChunkFailed) -> Result<(), Stop> {
        let ChunkFailed { class, reason, raw } = failed;
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
        Ok(())
    }

    pub(crate) fn tick(&mut self) -> Result<(), Stop> {
        self.journal
            .sync()
            .map_err(|e| Stop::Journal(e.to_string()))?;
        self.snapshot.engine = self.router.serving().map(EngineKind::name);
        self.snapshot.waiting = self.router.waiting_line();
        self.progress.update(&self.snapshot);
        Ok(())
    }
}

/// The writer task: journals results (one write for all that are waiting), keeps the
/// manifest and counters, makes the journal durable every `SYNC_INTERVAL`, draws progress.
/// A journal error stops the run (and abandons requests in flight: nothing more could be
/// recorded).
pub(crate) fn spawn_writer(
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
