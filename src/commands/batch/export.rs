//! `batch export`: the requests a live run would send first, written as batch files, with
//! what the import needs beside them (`chunks.jsonl`, then `export.json`, written last).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use super::files::{
    now_secs, remove_if_there, ChunkLine, ExportInfo, Shape, TextAt, CHUNKS_FILE, DIR_NAME,
    EXPORT_FILE, PENDING_FILE, RELATIONS_FILE, SCHEMA_VERSION,
};
use crate::cli::BatchExportArgs;
use crate::engine::setup::setup_engines;
use crate::error::{ExitCode, RunError};
use crate::outdir::journal::ChunkKey;
use crate::outdir::open_out;
use crate::prompt::{pass_message, Pass, RelationsMode};
use crate::run::plan::{apply_plan, fit_plan};
use crate::run::producer::{spawn_producer, ChunkJob, Item};
use crate::run::settings::RunSettings;

/// Request files of at most `max` lines: FILE while one is enough, then FILE-0001,
/// FILE-0002, ... (the first is renamed when the second begins).
struct Parts {
    base: PathBuf,
    max: usize,
    in_part: usize,
    w: Option<BufWriter<File>>,
    files: Vec<PathBuf>,
}

impl Parts {
    fn new(base: PathBuf, max: usize) -> Self {
        Parts {
            base,
            max,
            in_part: 0,
            w: None,
            files: Vec::new(),
        }
    }

    fn numbered(&self, n: usize) -> PathBuf {
        let stem = self
            .base
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = match self.base.extension() {
            Some(ext) => format!("{stem}-{n:04}.{}", ext.to_string_lossy()),
            None => format!("{stem}-{n:04}"),
        };
        self.base.with_file_name(name)
    }

    fn open(path: &Path) -> anyhow::Result<BufWriter<File>> {
        let f = File::create(path).map_err(|e| {
            RunError::io(path, &e, format!(
                "cannot write the batch file {}: {e}; pass a --batch path in a folder you can write to",
                path.display()
            ))
        })?;
        Ok(BufWriter::with_capacity(1 << 20, f))
    }

    fn close(&mut self) -> std::io::Result<()> {
        if let Some(mut w) = self.w.take() {
            w.flush()?;
            w.get_ref().sync_all()?;
        }
        Ok(())
    }

    fn push(&mut self, line: &[u8]) -> anyhow::Result<()> {
        if self.w.is_none() {
            self.w = Some(Self::open(&self.base)?);
            self.files.push(self.base.clone());
        } else if self.in_part == self.max {
            self.close()?;
            if self.files.len() == 1 {
                let first = self.numbered(1);
                std::fs::rename(&self.base, &first)?;
                self.files[0] = first;
            }
            let next = self.numbered(self.files.len() + 1);
            self.w = Some(Self::open(&next)?);
            self.files.push(next);
            self.in_part = 0;
        }
        self.in_part += 1;
        if let Some(w) = self.w.as_mut() {
            w.write_all(line)?;
        }
        Ok(())
    }

    /// Closes the last file; with no request at all, FILE is written empty.
    fn finish(mut self) -> anyhow::Result<Vec<PathBuf>> {
        if self.files.is_empty() {
            self.w = Some(Self::open(&self.base)?);
            self.files.push(self.base.clone());
        }
        self.close()?;
        Ok(self.files)
    }
}

/// The model and context the export writes for: the served model's, or the flags'.
async fn fit_to_model(
    s: &mut RunSettings,
    context_flag: Option<u32>,
) -> anyhow::Result<(String, Option<u32>, crate::engine::setup::ProbedEngines)> {
    let mut probed = setup_engines(&s.engines).await?;
    let served = probed
        .setups
        .iter()
        .find(|e| e.up)
        .map(|e| (e.client.model(), e.context_len));
    let (model, context) = match served {
        Some((model, context)) => {
            if let (Some(flag), Some(c)) = (context_flag, context) {
                if flag != c {
                    crate::errln!("aegis-ingest: --context-length {flag} ignored: {model} is served with a {c}-token context");
                }
            }
            (model, context)
        }
        None => {
            let url = s.engines.vllm.first().map_or("", |v| v.url.as_str());
            let Some(model) = s.engines.vllm.first().and_then(|v| v.model.clone()) else {
                return Err(RunError::usage(format!(
                    "no vLLM answered at {url} to name its model and context: start it, or pass --vllm-model NAME and --context-length TOKENS (the model the batch will run)"
                ))
                .into());
            };
            let why = probed
                .reports
                .first()
                .and_then(|(_, p)| p.error.clone())
                .unwrap_or_else(|| "no answer".into());
            match context_flag {
                Some(c) => crate::errln!("aegis-ingest: no vLLM answered at {url} ({why}): exporting for --vllm-model {model} with a {c}-token context"),
                None => crate::errln!("aegis-ingest: no vLLM answered at {url} ({why}) and no --context-length: exporting for --vllm-model {model} with prompts and output budget not fitted to its context (a later `run` against the served model may plan differently and extract again)"),
            }
            if let Some(c) = context_flag {
                // No tokenizer to ask: the plan estimates.
                fit_plan(s, c, None).await;
            }
            return Ok((model, context_flag, probed));
        }
    };
    apply_plan(s, &mut probed).await;
    Ok((model, context, probed))
}

/// Writes `chunks.jsonl` lines to a temp file in `DIR/batch`, kept only when the export
/// completes.
struct Sidecar {
    w: BufWriter<tempfile::NamedTempFile>,
}

impl Sidecar {
    fn push(&mut self, key: ChunkKey, job: &ChunkJob, user: &str) -> anyhow::Result<()> {
        let text = match user.find(job.text.as_str()) {
            Some(at) if !job.text.is_empty() => TextAt::Range([at, at + job.text.len()]),
            _ => TextAt::Own(job.text.clone()),
        };
        let line = ChunkLine {
            k: key.hex(),
            doc: job.rel.to_string(),
            i: job.index,
            section: job.section.as_deref().map(str::to_string),
            user: user.to_string(),
            text,
        };
        serde_json::to_writer(&mut self.w, &line)?;
        self.w.write_all(b"\n")?;
        Ok(())
    }
}

/// Refuses what needs each chunk's answer before its next request, which a batch file
/// cannot carry.
fn live_only(s: &RunSettings) -> Result<(), RunError> {
    if s.gleaning > 0 {
        return Err(RunError::usage(
            "--gleaning asks again with each chunk's answer in the conversation, which a batch file cannot: export without --gleaning (or extract live with `run`)",
        ));
    }
    if s.relations == RelationsMode::Repair {
        return Err(RunError::usage(
            "--relations repair decides after each chunk's answer whether to ask for its relations again, which a batch file cannot: export with --relations joint or two-pass (or extract live with `run`)",
        ));
    }
    Ok(())
}

/// `aegis-ingest batch export`.
pub async fn export(a: BatchExportArgs) -> anyhow::Result<ExitCode> {
    let BatchExportArgs {
        batch,
        max_lines,
        context_length,
        mut run,
    } = a;
    check_flags(&run, max_lines)?;
    // Ollama has no batch format; the export is for the OpenAI-compatible model.
    run.engines.no_ollama = true;
    let quiet = run.output.quiet;
    let mut s = RunSettings::from_args(run)?;
    live_only(&s)?;
    let two_pass = s.relations == RelationsMode::TwoPass;
    let (_lock, journal) = open_out(&s.out, s.fresh)?;
    let (model, context, probed) = fit_to_model(&mut s, context_length).await?;
    // Two-pass: the exported requests are the entities pass; `batch import` writes the
    // relations pass of the chunks that keep two entities or more.
    let schema = if two_pass {
        &s.prompts.entity_schema
    } else {
        &s.prompts.schema
    };
    let shape = Shape::new(&s.prompts.system, schema, s.max_output_tokens)?;

    let dir = s.out.join(DIR_NAME);
    std::fs::create_dir_all(&dir)
        .map_err(|e| RunError::io(&dir, &e, format!("cannot create {}: {e}", dir.display())))?;
    // A new export starts the batch over: what an earlier one's import kept waiting for
    // its relations is exported again (those chunks are not in the checkpoint).
    for name in [PENDING_FILE, RELATIONS_FILE] {
        remove_if_there(&dir.join(name))?;
    }
    let mut sidecar = Sidecar {
        w: BufWriter::with_capacity(1 << 20, crate::outdir::atomic::temp_in(&dir)?),
    };
    let mut parts = Parts::new(batch, max_lines);
    let (rx, producer) = spawn_producer(&s, &journal, &probed, CancellationToken::new())?;
    let counts = write_requests(rx, &shape, &model, two_pass, &mut parts, &mut sidecar).await?;
    producer.await?;
    let files = parts.finish()?;
    let tmp = sidecar.w.into_inner().map_err(|e| e.into_error())?;
    tmp.as_file().sync_all()?;
    tmp.persist(dir.join(CHUNKS_FILE)).map_err(|e| e.error)?;
    let info = ExportInfo {
        schema_version: SCHEMA_VERSION,
        model: model.clone(),
        context_length: context,
        prompt_fingerprint: s.prompts.fingerprint.clone(),
        chunk_tokens: s.chunk.tokens,
        chunk_overlap: s.chunk.overlap,
        max_output_tokens: s.max_output_tokens,
        grounding: s.grounding,
        relations: s.relations,
        system: s.prompts.system.to_string(),
        schema: RawValue::from_string(schema.to_string())?,
        taxonomy: s.prompts.taxonomy.clone(),
        files,
        requests: counts.requests,
        already_done: counts.done,
        created_at: now_secs(),
    };
    crate::outdir::atomic::write_atomic(&dir.join(EXPORT_FILE), |w| {
        serde_json::to_writer_pretty(&mut *w, &info).map_err(std::io::Error::other)
    })?;
    if !quiet {
        print_export_summary(&info, counts.docs, counts.skipped, &s.out);
    }
    Ok(ExitCode::Done)
}

/// The flags a batch export cannot honour.
fn check_flags(run: &crate::cli::RunArgs, max_lines: usize) -> Result<(), RunError> {
    if max_lines == 0 {
        return Err(RunError::usage("--max-lines must be at least 1"));
    }
    if run.engines.no_vllm {
        return Err(RunError::usage(
            "batch files hold requests for vLLM's OpenAI-compatible API: drop --no-vllm",
        ));
    }
    if run.dry_run {
        return Err(RunError::usage(
            "--dry-run does not apply to batch export: `aegis-ingest run --dry-run CORPUS` counts the chunks",
        ));
    }
    Ok(())
}

/// What the producer sent: requests written, chunks already done, documents, skipped.
#[derive(Default)]
struct Counts {
    requests: u64,
    done: u64,
    docs: u64,
    skipped: u64,
}

/// Writes a request line and a `chunks.jsonl` line for every chunk not in the checkpoint.
async fn write_requests(
    mut rx: tokio::sync::mpsc::Receiver<Item>,
    shape: &Shape,
    model: &str,
    two_pass: bool,
    parts: &mut Parts,
    sidecar: &mut Sidecar,
) -> anyhow::Result<Counts> {
    let mut c = Counts::default();
    while let Some(item) = rx.recv().await {
        match item {
            Item::Chunk(job) => {
                // The message a live run sends first: its entities pass in two-pass mode.
                let user = if two_pass {
                    pass_message(&job.text, Pass::Entities)
                } else {
                    job.user.clone()
                };
                sidecar.push(job.key, &job, &user)?;
                parts.push(&shape.line(model, job.key, user)?)?;
                c.requests += 1;
            }
            Item::Resumed { .. } => c.done += 1,
            Item::Doc { .. } => c.docs += 1,
            Item::Issue(_) => c.skipped += 1,
            Item::WalkDone => {}
        }
    }
    Ok(c)
}

fn print_export_summary(info: &ExportInfo, docs: u64, skipped: u64, out: &Path) {
    let names: Vec<String> = info.files.iter().map(|f| f.display().to_string()).collect();
    crate::outln!(
        "batch export: {} requests in {} (model {}, {} output tokens each); {} chunks already in the checkpoint; {docs} documents, {skipped} skipped",
        info.requests,
        names.join(", "),
        info.model,
        info.max_output_tokens,
        info.already_done,
    );
    if info.requests == 0 {
        crate::outln!(
            "nothing to extract: `aegis-ingest run` writes the outputs from the checkpoint"
        );
        return;
    }
    crate::outln!(
        "next: vllm run-batch -i {} -o results.jsonl --model MODEL_PATH --served-model-name {}",
        names[0],
        info.model
    );
    crate::outln!(
        "then: aegis-ingest batch import results.jsonl --out {}",
        out.display()
    );
    if info.relations == RelationsMode::TwoPass {
        crate::outln!(
            "two-pass: these are the entities requests; the import writes the relations requests of the chunks that keep two entities or more to {}, a second batch to run and import the same way",
            out.join(DIR_NAME).join(RELATIONS_FILE).display()
        );
    }
}
