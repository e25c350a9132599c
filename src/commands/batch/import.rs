//! `batch import`: each result validated like a live answer to its chunk's request and
//! journaled under the chunk's key; a failure goes to a retry file as a request. In
//! `--relations two-pass` mode, a chunk that keeps two entities or more waits for its
//! relations (`two_pass`).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::files::{
    remove_if_there, ChunkLine, ExportInfo, Shape, CHUNKS_FILE, DIR_NAME, EXPORT_FILE,
    RELATIONS_FILE, RETRY_FILE, SCHEMA_VERSION,
};
use super::results::{evaluate, parse_result, result_lines, ResultLine};
use super::two_pass::{
    check_relations_result, finished, parse_id, relations_line, relations_request, Pending, Waiting,
};
use crate::cli::BatchImportArgs;
use crate::engine::{EngineError, EngineKind};
use crate::error::{ExitCode, RunError};
use crate::outdir::journal::{BaseIndex, ChunkKey, Journal};
use crate::outdir::open_out;
use crate::prompt::RelationsMode;

/// Where each exported chunk's line is in `chunks.jsonl` (16 + 12 bytes a chunk).
struct ChunkIndex {
    file: File,
    at: HashMap<ChunkKey, (u64, u32)>,
}

impl ChunkIndex {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let file = File::open(path).map_err(|e| {
            RunError::io(path, &e, format!(
                "cannot read {}: {e}; the export is incomplete: run `aegis-ingest batch export` again",
                path.display()
            ))
        })?;
        let mut at = HashMap::new();
        let mut r = BufReader::new(file.try_clone()?);
        let (mut offset, mut line) = (0u64, String::new());
        #[derive(Deserialize)]
        struct KeyOnly {
            k: String,
        }
        loop {
            line.clear();
            let n = r.read_line(&mut line)?;
            if n == 0 {
                break;
            }
            let key = serde_json::from_str::<KeyOnly>(&line)
                .ok()
                .and_then(|k| ChunkKey::from_hex(&k.k))
                .ok_or_else(|| {
                    RunError::checkpoint(format!(
                        "{} is damaged at byte {offset}: run `aegis-ingest batch export` again",
                        path.display()
                    ))
                })?;
            at.insert(key, (offset, n as u32));
            offset += n as u64;
        }
        Ok(ChunkIndex { file, at })
    }

    fn contains(&self, key: &ChunkKey) -> bool {
        self.at.contains_key(key)
    }

    fn keys(&self) -> impl Iterator<Item = &ChunkKey> {
        self.at.keys()
    }

    fn read(&mut self, key: &ChunkKey) -> anyhow::Result<ChunkLine> {
        let (offset, len) = self.at[key];
        let mut buf = vec![0u8; len as usize];
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(&mut buf)?;
        Ok(serde_json::from_slice(&buf)?)
    }
}

/// Checks a result file before anything is written: every line a result, answered by the
/// exported model, and some of its custom_ids from this export; a relations result only
/// for a chunk whose entities are imported (`imported`). Returns the unknown ids.
fn check_file(
    path: &Path,
    info: &ExportInfo,
    index: &ChunkIndex,
    out: &Path,
    imported: &dyn Fn(&ChunkKey) -> bool,
) -> anyhow::Result<u64> {
    let (mut known, mut unknown) = (0u64, 0u64);
    for l in result_lines(path)? {
        let (n, line, complete) = l?;
        let Some(r) = parse_result(path, n, &line, complete)? else {
            tracing::warn!(
                "{} ends with a partial line ({n}): left out, its chunk stays pending; import the file again when the batch job has finished writing it",
                path.display()
            );
            continue;
        };
        match parse_id(r.custom_id.as_deref().unwrap_or_default()) {
            Some((k, true)) => {
                check_relations_result(path, n, info, out, k, index.contains(&k), imported(&k))?;
                known += 1;
            }
            Some((k, false)) if index.contains(&k) => known += 1,
            _ => unknown += 1,
        }
        if let Some(m) = r.model() {
            if m != info.model {
                return Err(RunError::usage(format!(
                    "{}:{n} was answered by model '{m}', but the batch in {} was exported for '{}': its results belong to another export (other settings); import them into the --out they were exported from, or export again for '{m}'",
                    path.display(),
                    out.display(),
                    info.model
                ))
                .into());
            }
        }
    }
    if known == 0 && unknown > 0 {
        return Err(RunError::usage(format!(
            "none of the {unknown} results in {} belongs to the batch exported into {} (prompts {}, chunks of {}/{} tokens): they come from another export or other settings; import them into the --out they were exported from, or export again and rerun the batch",
            path.display(),
            out.display(),
            &info.prompt_fingerprint[..info.prompt_fingerprint.len().min(12)],
            info.chunk_tokens,
            info.chunk_overlap
        ))
        .into());
    }
    Ok(unknown)
}

/// What an import did.
#[derive(Default)]
struct Imported {
    done: u64,
    partial: u64,
    /// Two-pass: chunks whose entities were kept, waiting for their relations.
    waiting: u64,
    failed: u64,
    already: u64,
    unknown: u64,
    /// Exported chunks with no result in these files (and none in the checkpoint).
    pending: u64,
    /// Requests of the previous retry file kept in the new one (still needed).
    retry_kept: u64,
    /// The first failures' reasons, for the summary.
    reasons: Vec<String>,
}

/// The retry file, written only when some result failed.
struct Retry {
    path: PathBuf,
    w: Option<BufWriter<tempfile::NamedTempFile>>,
}

impl Retry {
    fn push(&mut self, line: &[u8]) -> anyhow::Result<()> {
        if self.w.is_none() {
            let dir = self
                .path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let tmp = crate::outdir::atomic::temp_in(dir).map_err(|e| {
                    RunError::io(&self.path, &e, format!(
                        "cannot write the retry file {}: {e}; pass --retry FILE in a folder you can write to",
                        self.path.display()
                    ))
                })?;
            self.w = Some(BufWriter::new(tmp));
        }
        if let Some(w) = self.w.as_mut() {
            w.write_all(line)?;
        }
        Ok(())
    }

    /// Puts the retry file in place; with no failure, an old one of ours goes away.
    fn finish(self, ours: bool) -> anyhow::Result<Option<PathBuf>> {
        match self.w {
            Some(w) => {
                let tmp = w.into_inner().map_err(|e| e.into_error())?;
                tmp.as_file().sync_all()?;
                tmp.persist(&self.path).map_err(|e| e.error)?;
                Ok(Some(self.path))
            }
            None => {
                if ours && self.path.exists() {
                    std::fs::remove_file(&self.path)?;
                }
                Ok(None)
            }
        }
    }
}

fn load_export(out: &Path) -> anyhow::Result<ExportInfo> {
    let path = out.join(DIR_NAME).join(EXPORT_FILE);
    let bytes = std::fs::read(&path).map_err(|e| {
        RunError::out_dir(format!(
            "no batch export in {} ({e}): write one first with `aegis-ingest batch export CORPUS --out {} --batch FILE`",
            out.display(),
            out.display()
        ))
    })?;
    let info: ExportInfo = serde_json::from_slice(&bytes).map_err(|e| {
        RunError::checkpoint(format!(
            "{} is not an export record ({e}): run `aegis-ingest batch export` again",
            path.display()
        ))
    })?;
    if info.schema_version != SCHEMA_VERSION {
        return Err(RunError::checkpoint(format!(
            "{} is of format {} (this aegis-ingest reads {SCHEMA_VERSION}): export again with this version",
            path.display(),
            info.schema_version
        ))
        .into());
    }
    Ok(info)
}

/// `aegis-ingest batch import`.
pub fn import(a: &BatchImportArgs) -> anyhow::Result<ExitCode> {
    let out = &a.output.out;
    let info = load_export(out)?;
    let dir = out.join(DIR_NAME);
    let index = ChunkIndex::open(&dir.join(CHUNKS_FILE))?;
    let (_lock, journal) = open_out(out, false)?;
    let before = journal.at_open();
    let pending = Pending::load(&dir, &before)?;
    // Every file is checked before anything is written.
    let mut res = Imported::default();
    let imported = |k: &ChunkKey| pending.chunks.contains_key(k) || before.done(k).is_some();
    for f in &a.results {
        res.unknown += check_file(f, &info, &index, out, &imported)?;
    }
    let mut imp = Importer {
        before,
        journal,
        shape: Shape::new(&info.system, info.schema.get(), info.max_output_tokens)?,
        info: &info,
        index,
        retry: Retry {
            path: a.retry.clone().unwrap_or_else(|| dir.join(RETRY_FILE)),
            w: None,
        },
        seen: HashSet::new(),
        seen_relations: HashSet::new(),
        relations_in_retry: HashSet::new(),
        pending,
        res,
    };
    for f in &a.results {
        imp.import_file(f)?;
    }
    // The checkpoint first: a chunk both journaled and pending is dropped from the
    // pending file when it is next read.
    imp.journal.sync()?;
    imp.pending.save()?;
    if a.retry.is_none() {
        imp.keep_old_retries()?;
    }
    let relations = match info.relations {
        RelationsMode::TwoPass => imp.write_relations(&dir.join(RELATIONS_FILE))?,
        RelationsMode::Joint | RelationsMode::Repair => None,
    };
    let Importer {
        before,
        index,
        seen,
        seen_relations,
        retry,
        pending,
        mut res,
        ..
    } = imp;
    res.pending = index
        .keys()
        .filter(|k| no_result(k, &before, &seen, &seen_relations, &pending))
        .count() as u64;
    let retry_file = retry.finish(a.retry.is_none())?;
    if !a.output.quiet {
        let next = relations
            .as_ref()
            .map(|(f, n)| (f.as_path(), *n, info.model.as_str()));
        print_import_summary(&res, retry_file.as_deref(), next, out);
    }
    if res.unknown > 0 {
        tracing::warn!(
            "{} results had a custom_id this export did not write (another export's, or edited): left out",
            res.unknown
        );
    }
    Ok(if res.failed > 0 {
        ExitCode::SomeFailed
    } else {
        ExitCode::Done
    })
}

/// An exported chunk with no result yet: not in the checkpoint, not answered by these
/// files (either pass), not waiting for its relations.
fn no_result(
    k: &ChunkKey,
    before: &BaseIndex,
    seen: &HashSet<ChunkKey>,
    seen_relations: &HashSet<ChunkKey>,
    pending: &Pending,
) -> bool {
    before.done(k).is_none()
        && !seen.contains(k)
        && !seen_relations.contains(k)
        && !pending.chunks.contains_key(k)
}

/// An import under way: the export it belongs to, the checkpoint it writes, what it did.
struct Importer<'a> {
    info: &'a ExportInfo,
    index: ChunkIndex,
    journal: Journal,
    /// The checkpoint as it was before the import: chunks done already are not imported.
    before: Arc<BaseIndex>,
    shape: Shape,
    retry: Retry,
    /// Chunks imported from these files (a key twice counts once).
    seen: HashSet<ChunkKey>,
    /// Two-pass: chunks whose relations results these files hold, and those whose
    /// relations request is in the retry file.
    seen_relations: HashSet<ChunkKey>,
    relations_in_retry: HashSet<ChunkKey>,
    /// Two-pass: the chunks waiting for their relations.
    pending: Pending,
    res: Imported,
}

impl Importer<'_> {
    /// Imports every result of one (checked) file that belongs to this export.
    fn import_file(&mut self, f: &Path) -> anyhow::Result<()> {
        for l in result_lines(f)? {
            let (n, line, complete) = l?;
            let Some(r) = parse_result(f, n, &line, complete)? else {
                continue;
            };
            let Some((key, relations)) = r
                .custom_id
                .as_deref()
                .and_then(parse_id)
                .filter(|(k, _)| self.index.contains(k))
            else {
                continue;
            };
            if relations {
                self.import_relations(key, &r)?;
                continue;
            }
            if self.before.done(&key).is_some()
                || !self.seen.insert(key)
                || self.pending.chunks.contains_key(&key)
            {
                self.res.already += 1;
                continue;
            }
            self.import_one(key, &r)?;
        }
        Ok(())
    }

    /// Journals one result: done, or failed with its request in the retry file.
    fn import_one(&mut self, key: ChunkKey, r: &ResultLine) -> anyhow::Result<()> {
        let chunk = self.index.read(&key)?;
        let res = &mut self.res;
        self.journal.begin_batch();
        match evaluate(r, chunk.text(), self.info, None) {
            Ok((x, pt, ct)) => {
                let two_pass = self.info.relations == RelationsMode::TwoPass;
                if two_pass
                    && relations_request(
                        &self.shape,
                        &self.info.taxonomy,
                        key,
                        chunk.text(),
                        &x.entities,
                    )
                    .is_some()
                {
                    // Its relations are asked next (the relations file).
                    self.pending.insert(key, Waiting::new(key, x, pt, ct));
                    res.waiting += 1;
                } else {
                    // The check refused any other model: every answer is the export's.
                    let model = &self.info.model;
                    self.journal
                        .record_done(key, EngineKind::Vllm, model, pt, ct, &x)?;
                    res.done += 1;
                    res.partial += u64::from(x.partial);
                }
            }
            Err(e) => {
                let line = self.shape.line(&self.info.model, key, chunk.user.clone())?;
                self.failed(key, &chunk, &e, &line)?;
            }
        }
        self.journal.end_batch()?;
        Ok(())
    }

    /// Journals a failed answer and puts its request in the retry file.
    fn failed(
        &mut self,
        key: ChunkKey,
        chunk: &ChunkLine,
        e: &EngineError,
        request: &[u8],
    ) -> anyhow::Result<()> {
        self.journal
            .record_failed(key, e.class.name(), &e.message, e.raw.as_deref())?;
        self.retry.push(request)?;
        let res = &mut self.res;
        res.failed += 1;
        if res.reasons.len() < 5 {
            res.reasons.push(format!(
                "{} chunk {}: {} ({})",
                chunk.doc,
                chunk.i,
                e.message,
                e.class.name()
            ));
        }
        Ok(())
    }

    /// Two-pass: journals a waiting chunk with its relations answered, as a live run
    /// journals it; a failure puts its relations request in the retry file.
    fn import_relations(&mut self, key: ChunkKey, r: &ResultLine) -> anyhow::Result<()> {
        if self.before.done(&key).is_some() || !self.seen_relations.insert(key) {
            self.res.already += 1;
            return Ok(());
        }
        let Some(w) = self.pending.chunks.get(&key) else {
            self.res.already += 1;
            return Ok(());
        };
        let chunk = self.index.read(&key)?;
        self.journal.begin_batch();
        match evaluate(r, chunk.text(), self.info, Some(&w.x.entities)) {
            Ok((rx, pt, ct)) => {
                if let Some(w) = self.pending.remove(&key) {
                    let x = finished(w.x, rx);
                    let (pt, ct) = (w.pt + pt, w.ct + ct);
                    let model = &self.info.model;
                    self.journal
                        .record_done(key, EngineKind::Vllm, model, pt, ct, &x)?;
                    self.res.done += 1;
                    self.res.partial += u64::from(x.partial);
                }
            }
            Err(e) => {
                let line =
                    relations_line(&self.shape, self.info, key, chunk.text(), &w.x.entities)?
                        .unwrap_or_default();
                self.relations_in_retry.insert(key);
                self.failed(key, &chunk, &e, &line)?;
            }
        }
        self.journal.end_batch()?;
        Ok(())
    }

    /// Keeps the requests of the previous retry file whose chunks still need them (no result
    /// for that pass in these files, the chunk not finished): an import of other results
    /// does not lose them.
    fn keep_old_retries(&mut self) -> anyhow::Result<()> {
        let text = match std::fs::read_to_string(&self.retry.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        #[derive(Deserialize)]
        struct IdOnly {
            custom_id: String,
        }
        for line in text.lines() {
            let Some((key, relations)) = serde_json::from_str::<IdOnly>(line)
                .ok()
                .and_then(|r| parse_id(&r.custom_id))
                .filter(|(k, _)| self.index.contains(k))
            else {
                continue;
            };
            let needed = if relations {
                self.pending.chunks.contains_key(&key) && !self.seen_relations.contains(&key)
            } else {
                no_result(
                    &key,
                    &self.before,
                    &self.seen,
                    &self.seen_relations,
                    &self.pending,
                )
            };
            if needed {
                self.retry.push(format!("{line}\n").as_bytes())?;
                self.res.retry_kept += 1;
                if relations {
                    self.relations_in_retry.insert(key);
                }
            }
        }
        Ok(())
    }

    /// Two-pass: the relations requests of the chunks waiting for theirs (those whose
    /// request is in the retry file are left out), in `path`; the file is removed
    /// when none waits. Returns the file and its request count.
    fn write_relations(&mut self, path: &Path) -> anyhow::Result<Option<(PathBuf, u64)>> {
        let mut lines = Vec::new();
        let keys: Vec<ChunkKey> = self.pending.chunks.keys().copied().collect();
        for key in keys {
            if self.relations_in_retry.contains(&key) || !self.index.contains(&key) {
                continue;
            }
            let chunk = self.index.read(&key)?;
            let entities = &self.pending.chunks[&key].x.entities;
            if let Some(line) = relations_line(&self.shape, self.info, key, chunk.text(), entities)?
            {
                lines.push(line);
            }
        }
        if lines.is_empty() {
            remove_if_there(path)?;
            return Ok(None);
        }
        crate::outdir::atomic::write_atomic(path, |w| {
            lines.iter().try_for_each(|l| w.write_all(l))
        })
        .map_err(|e| {
            let msg = format!("cannot write the relations file {}: {e}", path.display());
            RunError::io(path, &e, msg)
        })?;
        Ok(Some((path.to_path_buf(), lines.len() as u64)))
    }
}

fn print_import_summary(
    res: &Imported,
    retry: Option<&Path>,
    relations: Option<(&Path, u64, &str)>,
    out: &Path,
) {
    crate::outln!(
        "batch import: {} chunks journaled ({} partial: cut off at the output budget, complete records kept), {} failed, {} already imported, {} unknown custom_ids",
        res.done, res.partial, res.failed, res.already, res.unknown
    );
    if res.waiting > 0 {
        crate::outln!(
            "two-pass: {} chunks kept two entities or more and wait for their relations",
            res.waiting
        );
    }
    for r in &res.reasons {
        crate::outln!("  failed: {r}");
    }
    if res.pending > 0 {
        crate::outln!(
            "pending: {} exported chunks have no result in these files yet (import more results, or `aegis-ingest run` extracts them live)",
            res.pending
        );
    }
    if let Some(p) = retry {
        let kept = match res.retry_kept {
            0 => String::new(),
            n => format!(" ({n} of them failed in an earlier import and are still unanswered)"),
        };
        crate::outln!(
            "retry: {} holds the {} failed requests{kept}; run it as a batch and import its results, or let `aegis-ingest run` extract them live",
            p.display(),
            res.failed + res.retry_kept
        );
    }
    if let Some((file, n, model)) = relations {
        crate::outln!(
            "next: run {} ({n} relations requests) through the batch job as you ran the first file (e.g. vllm run-batch -i {} -o relations-results.jsonl --model MODEL_PATH --served-model-name {model}), then import its results: aegis-ingest batch import relations-results.jsonl --out {}",
            file.display(),
            file.display(),
            out.display()
        );
        return;
    }
    crate::outln!(
        "next: aegis-ingest run CORPUS --out {} (sends no request for the imported chunks, writes the outputs)",
        out.display()
    );
}
