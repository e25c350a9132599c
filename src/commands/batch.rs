//! Batch files: offline extraction through `vllm run-batch`, an OpenAI-compatible batch API
//! or a Ray Data job, with the guarantees of a live run.
//!
//! ```text
//! batch export CORPUS --out DIR --batch FILE
//!     walk -> read -> chunk -> key -> [in the checkpoint? skip]      (the run's producer)
//!     -> FILE: {"custom_id": key, "method", "url", "body": the exact chat request}
//!     -> DIR/batch/chunks.jsonl (key, document, chunk, user message, where its text is)
//!     -> DIR/batch/export.json  (model, prompts, answer schema, bounds: what import checks)
//! batch import RESULTS... --out DIR
//!     check every result file first (nothing is written when one is wrong)
//!     -> validate each answer like a live one (schema, types, grounding in its chunk)
//!     -> journal it under its key; a failure goes to DIR/batch/retry.jsonl as a request
//! run CORPUS --out DIR      resumes: no request for an imported chunk
//! ```
//!
//! Import needs neither the corpus nor the prompts folder: the export keeps what validation
//! needs (taxonomy, schema, grounding mode, each chunk's text).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use crate::cli::{BatchExportArgs, BatchImportArgs};
use crate::engine::openai::{chat_body, parse_response};
use crate::engine::setup::setup_engines;
use crate::engine::{ChatRequest, EngineError, EngineKind, FailureClass};
use crate::error::{ExitCode, RunError};
use crate::outdir::journal::ChunkKey;
use crate::outdir::open_out;
use crate::parse::{Checks, Extraction, GroundText, Grounding};
use crate::prompt::Taxonomy;
use crate::run::extract::accept_answer;
use crate::run::plan::{apply_plan, fit_plan};
use crate::run::producer::{spawn_producer, ChunkJob, Item};
use crate::run::settings::RunSettings;

/// The folder in `--out` that holds what an export leaves for its import.
pub const DIR_NAME: &str = "batch";
const EXPORT_FILE: &str = "export.json";
const CHUNKS_FILE: &str = "chunks.jsonl";
const RETRY_FILE: &str = "retry.jsonl";
const SCHEMA_VERSION: u32 = 1;
/// The endpoint every request line names.
const CHAT_URL: &str = "/v1/chat/completions";

/// What an export used, written last (`DIR/batch/export.json`): import validates against it.
#[derive(Serialize, Deserialize)]
struct ExportInfo {
    schema_version: u32,
    /// The model every request names (`body.model`); results from another are refused.
    model: String,
    context_length: Option<u32>,
    prompt_fingerprint: String,
    chunk_tokens: usize,
    chunk_overlap: usize,
    max_output_tokens: u32,
    grounding: Grounding,
    /// System prompt, answer schema and taxonomy as sent (after the plan fitted them to
    /// the context): retries are built from them, answers are checked against them.
    system: String,
    schema: Box<RawValue>,
    taxonomy: Taxonomy,
    files: Vec<PathBuf>,
    requests: u64,
    /// Chunks the checkpoint already held (not exported).
    already_done: u64,
    created_at: u64,
}

/// One exported chunk (`DIR/batch/chunks.jsonl`).
#[derive(Serialize, Deserialize)]
struct ChunkLine {
    k: String,
    doc: String,
    i: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    section: Option<String>,
    user: String,
    text: TextAt,
}

/// The chunk's text, for the grounding check: where it is in the user message (the
/// template puts it there verbatim), or a copy when the template changed it.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum TextAt {
    Range([usize; 2]),
    Own(String),
}

impl ChunkLine {
    fn text(&self) -> &str {
        match &self.text {
            TextAt::Range([a, b]) => self.user.get(*a..*b).unwrap_or(&self.user),
            TextAt::Own(t) => t,
        }
    }
}

/// The request parts every chunk shares.
struct Shape {
    system: Arc<str>,
    system_json: Arc<RawValue>,
    schema: Arc<RawValue>,
    max_tokens: u32,
}

impl Shape {
    fn new(system: &str, schema: &str, max_tokens: u32) -> anyhow::Result<Self> {
        Ok(Shape {
            system: Arc::from(system),
            system_json: serde_json::value::to_raw_value(system)?.into(),
            schema: RawValue::from_string(schema.to_string())?.into(),
            max_tokens,
        })
    }

    /// The chunk's request as a live run sends it first (same seed, same bounds).
    fn request(&self, key: ChunkKey, user: String) -> ChatRequest {
        ChatRequest {
            system: self.system.clone(),
            system_json: self.system_json.clone(),
            user,
            schema: self.schema.clone(),
            max_tokens: self.max_tokens,
            max_tokens_ceiling: self.max_tokens,
            seed: key.seed(),
            request_id: key.hex(),
            followup: None,
        }
    }

    /// One line of an OpenAI batch file.
    fn line(&self, model: &str, key: ChunkKey, user: String) -> anyhow::Result<Vec<u8>> {
        let req = self.request(key, user);
        let body = chat_body(model, &req).map_err(|e| anyhow::anyhow!("{}", e.message))?;
        let mut line = Vec::with_capacity(body.len() + 128);
        line.extend_from_slice(b"{\"custom_id\":\"");
        line.extend_from_slice(req.request_id.as_bytes());
        line.extend_from_slice(b"\",\"method\":\"POST\",\"url\":\"");
        line.extend_from_slice(CHAT_URL.as_bytes());
        line.extend_from_slice(b"\",\"body\":");
        line.extend_from_slice(&body);
        line.extend_from_slice(b"}\n");
        Ok(line)
    }
}

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
            RunError::config(format!(
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

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
                    eprintln!("aegis-ingest: --context-length {flag} ignored: {model} is served with a {c}-token context");
                }
            }
            (model, context)
        }
        None => {
            let url = s.engines.vllm.first().map_or("", |v| v.url.as_str());
            let Some(model) = s.engines.vllm.first().and_then(|v| v.model.clone()) else {
                return Err(RunError::config(format!(
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
                Some(c) => eprintln!("aegis-ingest: no vLLM answered at {url} ({why}): exporting for --vllm-model {model} with a {c}-token context"),
                None => eprintln!("aegis-ingest: no vLLM answered at {url} ({why}) and no --context-length: exporting for --vllm-model {model} with prompts and output budget not fitted to its context (a later `run` against the served model may plan differently and extract again)"),
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
    fn push(&mut self, key: ChunkKey, job: &ChunkJob) -> anyhow::Result<()> {
        let text = match job.user.find(job.text.as_str()) {
            Some(at) if !job.text.is_empty() => TextAt::Range([at, at + job.text.len()]),
            _ => TextAt::Own(job.text.clone()),
        };
        let line = ChunkLine {
            k: key.hex(),
            doc: job.rel.to_string(),
            i: job.index,
            section: job.section.as_deref().map(str::to_string),
            user: job.user.clone(),
            text,
        };
        serde_json::to_writer(&mut self.w, &line)?;
        self.w.write_all(b"\n")?;
        Ok(())
    }
}

/// `aegis-ingest batch export`.
pub async fn export(a: BatchExportArgs) -> anyhow::Result<ExitCode> {
    let BatchExportArgs {
        batch,
        max_lines,
        context_length,
        mut run,
    } = a;
    if max_lines == 0 {
        return Err(RunError::config("--max-lines must be at least 1").into());
    }
    if run.engines.no_vllm {
        return Err(RunError::config(
            "batch files hold requests for vLLM's OpenAI-compatible API: drop --no-vllm",
        )
        .into());
    }
    if run.dry_run {
        return Err(RunError::config(
            "--dry-run does not apply to batch export: `aegis-ingest run --dry-run CORPUS` counts the chunks",
        )
        .into());
    }
    // Ollama has no batch format; the export is for the OpenAI-compatible model.
    run.engines.no_ollama = true;
    let quiet = run.output.quiet;
    let mut s = RunSettings::from_args(run)?;
    if s.gleaning > 0 {
        return Err(RunError::config(
            "--gleaning asks again with each chunk's answer in the conversation, which a batch file cannot: export without --gleaning (or extract live with `run`)",
        )
        .into());
    }
    let (_lock, journal) = open_out(&s.out, s.fresh)?;
    let (model, context, probed) = fit_to_model(&mut s, context_length).await?;
    let shape = Shape::new(&s.prompts.system, &s.prompts.schema, s.max_output_tokens)?;

    let dir = s.out.join(DIR_NAME);
    std::fs::create_dir_all(&dir)
        .map_err(|e| RunError::config(format!("cannot create {}: {e}", dir.display())))?;
    let mut sidecar = Sidecar {
        w: BufWriter::with_capacity(
            1 << 20,
            tempfile::Builder::new()
                .prefix(".aegis-tmp-")
                .tempfile_in(&dir)?,
        ),
    };
    let mut parts = Parts::new(batch, max_lines);
    let (mut rx, producer) = spawn_producer(&s, &journal, &probed, CancellationToken::new())?;
    let (mut requests, mut done, mut docs, mut skipped) = (0u64, 0u64, 0u64, 0u64);
    while let Some(item) = rx.recv().await {
        match item {
            Item::Chunk(job) => {
                parts.push(&shape.line(&model, job.key, job.user.clone())?)?;
                sidecar.push(job.key, &job)?;
                requests += 1;
            }
            Item::Resumed { .. } => done += 1,
            Item::Doc { .. } => docs += 1,
            Item::Issue(_) => skipped += 1,
            Item::WalkDone => {}
        }
    }
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
        system: s.prompts.system.to_string(),
        schema: RawValue::from_string(s.prompts.schema.to_string())?,
        taxonomy: s.prompts.taxonomy.clone(),
        files: files.clone(),
        requests,
        already_done: done,
        created_at: now_secs(),
    };
    crate::outdir::atomic::write_atomic(&dir.join(EXPORT_FILE), |w| {
        serde_json::to_writer_pretty(&mut *w, &info).map_err(std::io::Error::other)
    })?;
    if !quiet {
        print_export_summary(&info, docs, skipped, &s.out);
    }
    Ok(ExitCode::Done)
}

fn print_export_summary(info: &ExportInfo, docs: u64, skipped: u64, out: &Path) {
    let names: Vec<String> = info.files.iter().map(|f| f.display().to_string()).collect();
    println!(
        "batch export: {} requests in {} (model {}, {} output tokens each); {} chunks already in the checkpoint; {docs} documents, {skipped} skipped",
        info.requests,
        names.join(", "),
        info.model,
        info.max_output_tokens,
        info.already_done,
    );
    if info.requests == 0 {
        println!("nothing to extract: `aegis-ingest run` writes the outputs from the checkpoint");
        return;
    }
    println!(
        "next: vllm run-batch -i {} -o results.jsonl --model MODEL_PATH --served-model-name {}",
        names[0], info.model
    );
    println!(
        "then: aegis-ingest batch import results.jsonl --out {}",
        out.display()
    );
}

/// One line of a batch result file (vLLM's `run-batch` and the OpenAI batch API write the
/// same shape).
#[derive(Deserialize)]
struct ResultLine<'a> {
    custom_id: Option<String>,
    #[serde(default, borrow)]
    response: Option<ResponsePart<'a>>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ResponsePart<'a> {
    #[serde(default)]
    status_code: Option<u16>,
    #[serde(default, borrow)]
    body: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct BodyModel {
    #[serde(default)]
    model: Option<String>,
}

impl ResultLine<'_> {
    fn body(&self) -> Option<&RawValue> {
        self.response.as_ref().and_then(|r| r.body)
    }

    fn model(&self) -> Option<String> {
        serde_json::from_str::<BodyModel>(self.body()?.get())
            .ok()?
            .model
    }

    /// The line's error, when it has one (`"error": null` is none).
    fn error(&self) -> Option<&str> {
        self.error.map(RawValue::get).filter(|e| *e != "null")
    }
}

/// Where each exported chunk's line is in `chunks.jsonl` (16 + 12 bytes a chunk).
struct ChunkIndex {
    file: File,
    at: HashMap<ChunkKey, (u64, u32)>,
}

impl ChunkIndex {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let file = File::open(path).map_err(|e| {
            RunError::config(format!(
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
                    RunError::config(format!(
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

/// Reads a result file line by line: (line number, line, whether it ended with a newline),
/// empty lines left out.
fn result_lines(
    path: &Path,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<(usize, String, bool)>>> {
    let f = File::open(path).map_err(|e| {
        RunError::config(format!(
            "cannot read the result file {}: {e}",
            path.display()
        ))
    })?;
    let name = path.display().to_string();
    let mut r = BufReader::with_capacity(1 << 20, f);
    let mut n = 0usize;
    Ok(std::iter::from_fn(move || loop {
        let mut line = String::new();
        n += 1;
        match r.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) => {
                let complete = line.ends_with('\n');
                if line.trim().is_empty() {
                    continue;
                }
                return Some(Ok((n, line, complete)));
            }
            Err(e) => {
                return Some(Err(anyhow::Error::from(RunError::config(format!(
                    "{name}:{n}: {e}"
                )))))
            }
        }
    }))
}

/// A result line; None for a last line cut short (a job still writing, or killed): it is
/// left out, and its chunk stays pending.
fn parse_result<'a>(
    path: &Path,
    n: usize,
    line: &'a str,
    complete: bool,
) -> anyhow::Result<Option<ResultLine<'a>>> {
    match parse_line(path, n, line) {
        Ok(r) => Ok(Some(r)),
        Err(_) if !complete => Ok(None),
        Err(e) => Err(e),
    }
}

fn parse_line<'a>(path: &Path, n: usize, line: &'a str) -> anyhow::Result<ResultLine<'a>> {
    let r: ResultLine = serde_json::from_str(line).map_err(|e| {
        RunError::config(format!(
            "{}:{n} is not a batch result line ({e}); pass the output file of the batch job (`vllm run-batch -o`), not its input",
            path.display()
        ))
    })?;
    if r.custom_id.is_none() || (r.response.is_none() && r.error().is_none()) {
        return Err(RunError::config(format!(
            "{}:{n} is not a batch result line (it needs a custom_id and a response or an error); pass the output file of the batch job (`vllm run-batch -o`), not its input",
            path.display()
        ))
        .into());
    }
    Ok(r)
}

/// Checks a result file before anything is written: every line a result, answered by the
/// exported model, and some of its custom_ids from this export. Returns the unknown ids.
fn check_file(
    path: &Path,
    info: &ExportInfo,
    index: &ChunkIndex,
    out: &Path,
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
        let id = r.custom_id.as_deref().unwrap_or_default();
        if ChunkKey::from_hex(id).is_some_and(|k| index.contains(&k)) {
            known += 1;
        } else {
            unknown += 1;
        }
        if let Some(m) = r.model() {
            if m != info.model {
                return Err(RunError::config(format!(
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
        return Err(RunError::config(format!(
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

/// Validates one result like a live answer to the chunk's request.
fn evaluate(
    r: &ResultLine,
    chunk: &ChunkLine,
    info: &ExportInfo,
) -> Result<(Extraction, u64, u64), EngineError> {
    if let Some(e) = r.error() {
        return Err(EngineError::new(
            FailureClass::Server,
            format!(
                "the batch job failed this request: {}",
                crate::engine::snippet(e)
            ),
        ));
    }
    let body = r.body().ok_or_else(|| {
        EngineError::new(FailureClass::Malformed, "the result has no response body")
    })?;
    match r.response.as_ref().and_then(|x| x.status_code) {
        Some(200) | None => {}
        Some(code) => {
            let class = match code {
                400 if body.get().contains("context length") => FailureClass::ContextLength,
                429 | 503 => FailureClass::RateLimited,
                500..=599 => FailureClass::Server,
                _ => FailureClass::BadRequest,
            };
            return Err(EngineError::new(
                class,
                format!("{code} {}", crate::engine::snippet(body.get())),
            ));
        }
    }
    let ans = parse_response(body.get())?;
    let ground = GroundText::new(chunk.text());
    let checks = Checks {
        taxonomy: &info.taxonomy,
        text: Some(&ground),
        grounding: info.grounding,
    };
    let x = accept_answer(&ans, &checks)?;
    Ok((x, ans.prompt_tokens, ans.completion_tokens))
}

/// What an import did.
#[derive(Default)]
struct Imported {
    done: u64,
    partial: u64,
    failed: u64,
    already: u64,
    unknown: u64,
    /// Exported chunks with no result in these files (and none in the checkpoint).
    pending: u64,
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
            let tmp = tempfile::Builder::new()
                .prefix(".aegis-tmp-")
                .tempfile_in(dir)
                .map_err(|e| {
                    RunError::config(format!(
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
        RunError::config(format!(
            "no batch export in {} ({e}): write one first with `aegis-ingest batch export CORPUS --out {} --batch FILE`",
            out.display(),
            out.display()
        ))
    })?;
    let info: ExportInfo = serde_json::from_slice(&bytes).map_err(|e| {
        RunError::config(format!(
            "{} is not an export record ({e}): run `aegis-ingest batch export` again",
            path.display()
        ))
    })?;
    if info.schema_version != SCHEMA_VERSION {
        return Err(RunError::config(format!(
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
    let mut index = ChunkIndex::open(&dir.join(CHUNKS_FILE))?;
    // Every file is checked before the checkpoint is touched.
    let mut res = Imported::default();
    for f in &a.results {
        res.unknown += check_file(f, &info, &index, out)?;
    }
    let (_lock, mut journal) = open_out(out, false)?;
    let before = journal.at_open();
    let shape = Shape::new(&info.system, info.schema.get(), info.max_output_tokens)?;
    let mut retry = Retry {
        path: a.retry.clone().unwrap_or_else(|| dir.join(RETRY_FILE)),
        w: None,
    };
    let mut seen: HashSet<ChunkKey> = HashSet::new();
    for f in &a.results {
        for l in result_lines(f)? {
            let (n, line, complete) = l?;
            let Some(r) = parse_result(f, n, &line, complete)? else {
                continue;
            };
            let Some(key) = r
                .custom_id
                .as_deref()
                .and_then(ChunkKey::from_hex)
                .filter(|k| index.contains(k))
            else {
                continue;
            };
            if before.done(&key).is_some() || !seen.insert(key) {
                res.already += 1;
                continue;
            }
            let chunk = index.read(&key)?;
            journal.begin_batch();
            match evaluate(&r, &chunk, &info) {
                Ok((x, pt, ct)) => {
                    // The check refused any other model: every answer is the export's.
                    journal.record_done(key, EngineKind::Vllm, &info.model, pt, ct, &x)?;
                    res.done += 1;
                    res.partial += u64::from(x.partial);
                }
                Err(e) => {
                    journal.record_failed(key, e.class.name(), &e.message, e.raw.as_deref())?;
                    retry.push(&shape.line(&info.model, key, chunk.user)?)?;
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
                }
            }
            journal.end_batch()?;
        }
    }
    journal.sync()?;
    res.pending = index
        .keys()
        .filter(|k| before.done(k).is_none() && !seen.contains(k))
        .count() as u64;
    let retry_file = retry.finish(a.retry.is_none())?;
    if !a.output.quiet {
        print_import_summary(&res, retry_file.as_deref(), out);
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

fn print_import_summary(res: &Imported, retry: Option<&Path>, out: &Path) {
    println!(
        "batch import: {} chunks journaled ({} partial: cut off at the output budget, complete records kept), {} failed, {} already in the checkpoint, {} unknown custom_ids",
        res.done, res.partial, res.failed, res.already, res.unknown
    );
    for r in &res.reasons {
        println!("  failed: {r}");
    }
    if res.pending > 0 {
        println!(
            "pending: {} exported chunks have no result in these files yet (import more results, or `aegis-ingest run` extracts them live)",
            res.pending
        );
    }
    if let Some(p) = retry {
        println!(
            "retry: {} holds the {} failed requests; run it as a batch and import its results, or let `aegis-ingest run` extract them live",
            p.display(),
            res.failed
        );
    }
    println!(
        "next: aegis-ingest run CORPUS --out {} (sends no request for the imported chunks, writes the outputs)",
        out.display()
    );
}
