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

pub mod plan;
pub mod settings;

pub mod extract;
mod finish;
pub mod producer;
pub(crate) mod stop;
mod writer;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::engine::router::Router;
use crate::engine::setup::setup_engines;
use crate::error::ExitCode;
use crate::outdir::{open_out, RunState, STATE_FILE};
use crate::read::issue::IssueKind;
use crate::run::settings::RunSettings;
use extract::{extract_chunk, Outcome, TaskCtx};
use finish::finish;
use plan::apply_plan;
use producer::{resume_index, Item, Producer, ResumeIndex};
use stop::{install_signals, Stopping};
use writer::{spawn_writer, Event, Writer};

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
    crate::outln!(
        "dry run: {docs} documents to extract, {chunks} chunks ({:.1} MB of chunk text), in {secs:.2} s",
        bytes as f64 / 1e6
    );
    for ((kind, reason), n) in &issues {
        crate::outln!("  {kind} ({reason}): {n}");
    }
    if docs == 0 && issues.is_empty() {
        finish::warn_nothing_found(&s);
    }
    Ok(ExitCode::Done)
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
    say_what_is_redone(&s);

    let stopping = Stopping::default();
    install_signals(stopping.clone(), s.stop_grace);

    let resume = resume_index(&journal, &probed);
    let router = Router::new(
        probed.setups,
        s.router_config(),
        stopping.stop.clone(),
        stopping.abort.clone(),
    );

    let capacity = router.total_capacity();
    let producer = Producer::new(&s, resume, stopping.stop.clone())?;
    let (not_read, stale) = (producer.not_read.clone(), producer.stale.clone());
    let (item_rx, producer_handle) = producer.spawn(capacity.clamp(16, 1024) * 2);

    let (ev_tx, ev_rx) = mpsc::channel::<Event>(capacity.clamp(16, 4096) * 2);
    let writer = Writer::new(journal, &s, router.clone());
    let writer_handle = spawn_writer(writer, ev_rx, stopping.clone());

    let ctx = Arc::new(TaskCtx::new(&s, router.clone())?);
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

/// Says at start what the settings' change since the last run in `--out` redoes.
fn say_what_is_redone(s: &RunSettings) {
    let previous: Option<RunState> = std::fs::read(s.out.join(STATE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(prev) = &previous {
        if prev.prompt_fingerprint != s.prompts.fingerprint {
            crate::errln!("aegis-ingest: the prompts or taxonomy changed since the last run in {} ({}): chunks are extracted again with the new ones; old results are not mixed in", s.out.display(), prev.prompts_dir);
        } else if (prev.chunk_tokens, prev.chunk_overlap) != (s.chunk.tokens, s.chunk.overlap) {
            crate::errln!("aegis-ingest: chunk settings changed since the last run ({}/{} -> {}/{}): documents are chunked and extracted again", prev.chunk_tokens, prev.chunk_overlap, s.chunk.tokens, s.chunk.overlap);
        }
    }
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
                        Outcome::Done(done) => Event::Done(job, done),
                        Outcome::Failed(failed) => Event::Failed(job, failed),
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
