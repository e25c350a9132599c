//! The command line as typed: raw flags, parsed by clap, with their environment variables
//! and defaults. Validation and derived values live in `run::settings`, so that this file
//! reads as the command-line contract (ARCHITECTURE.md) and nothing else. The folder also
//! holds the settings file (`config_file`), the version, completions and man pages.

pub mod completions;
pub mod config_file;
pub mod version;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "aegis-ingest",
    version,
    about = "Turn a corpus into typed entities and relations through vLLM (Ollama as fallback); rerun to resume.",
    long_about = None,
    after_help = "Exit codes: 0 all extracted; 1 finished with failed documents or chunks (rerun retries them); \
2 usage or configuration error; 3 no engine available within --engine-wait (progress kept); \
130 interrupted (progress kept)."
)]
pub struct Cli {
    /// Settings file with `run` flags as keys [default: ./aegis.toml when present].
    #[arg(long, global = true, env = "AEGIS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// Shown by `aegis-ingest run --help`: the examples of README's Usage (a test keeps the
/// two the same).
pub const RUN_EXAMPLES: &str = include_str!("run_examples.txt");

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Extract entities and relations from every document under CORPUS (rerun = resume).
    #[command(after_long_help = RUN_EXAMPLES)]
    Run(Box<RunArgs>),
    /// Show what the checkpoint in --out holds against the corpus it was run on.
    Status(StatusArgs),
    /// Probe the engines and say what is usable.
    Doctor(DoctorArgs),
    /// Join the output folders of shard runs (--shard I/N) into the outputs one run over
    /// the whole corpus writes.
    Merge(MergeArgs),
    /// Offline extraction through batch files: write the pending chunks as OpenAI batch
    /// requests (`vllm run-batch`, a batch API, Ray Data), then import the results.
    #[command(subcommand)]
    Batch(BatchCommand),
    /// The finishing step on a finished run in --out: detect communities of the graph,
    /// summarize long descriptions and write one report per community with the engines
    /// (rerun = resume; only what changed is asked again).
    Communities(Box<CommunitiesArgs>),
    /// Score a finished run in --out against a gold file, and measure its communities and
    /// reports; quality gates for CI.
    Eval(EvalArgs),
    /// Write a finished run's entities and relations for a graph database (Neo4j, Cypher
    /// servers, PostgreSQL) or GraphML.
    Export(ExportArgs),
    /// Print the effective `run` settings and where each comes from (flag, env, file, default).
    Config(ConfigArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the man page (or write one page per subcommand with --dir).
    Man(ManArgs),
}

/// `--format` of the commands that can answer a script as well as a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    /// One JSON object with `"schema_version"` (README: "Machine-readable output").
    Json,
}

/// `--concurrency`: fixed, or adapted to the server's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    Fixed(usize),
    Auto,
}

fn parse_concurrency(s: &str) -> Result<Concurrency, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(Concurrency::Auto);
    }
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1 (or `auto`)".into()),
        Ok(n) => Ok(Concurrency::Fixed(n)),
        Err(_) => Err(format!("{s:?} is not a number or `auto`")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Flags shared by every subcommand that talks to the engines.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Base URL of a vLLM server or OpenAI-compatible gateway (http or https; a path prefix
    /// such as /openai/v1 is kept). Repeat it (or give a comma list) for several endpoints
    /// serving the same model: each request goes to the least loaded one.
    #[arg(
        long,
        env = "AEGIS_VLLM_URL",
        value_delimiter = ',',
        default_value = "http://localhost:8001"
    )]
    pub vllm_url: Vec<String>,

    /// Model name to request from vLLM [default: the model that /v1/models serves].
    #[arg(long, env = "AEGIS_VLLM_MODEL")]
    pub vllm_model: Option<String>,

    /// Bearer token for vLLM (when the server runs with --api-key): once for every
    /// endpoint, or once per --vllm-url in the same order.
    #[arg(long, env = "VLLM_API_KEY", hide_env_values = true)]
    pub vllm_api_key: Vec<String>,

    /// Ollama server (repeatable); OLLAMA_HOST is read by Ollama's own rules [default: http://127.0.0.1:11434].
    #[arg(long, env = "OLLAMA_HOST")]
    pub ollama_url: Vec<String>,

    /// A PEM file of CA certificates trusted for https engines, on top of the system's
    /// (SSL_CERT_FILE replaces the system's).
    #[arg(long, value_name = "FILE", env = "AEGIS_CA_CERT")]
    pub ca_cert: Option<PathBuf>,

    /// Model name to request from Ollama (`name` means `name:latest`).
    #[arg(long, env = "AEGIS_OLLAMA_MODEL", default_value = "nemotron-3-nano")]
    pub ollama_model: String,

    /// Do not use vLLM.
    #[arg(long)]
    pub no_vllm: bool,

    /// Do not fall back to Ollama.
    #[arg(long)]
    pub no_ollama: bool,

    /// Seconds for one request, covering server-side queueing plus generation.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub request_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Folder for the checkpoint and the outputs.
    #[arg(long, env = "AEGIS_OUT", default_value = "./aegis-out")]
    pub out: PathBuf,

    /// Log records as text or JSON lines (on stderr; filter with RUST_LOG).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// No progress display and no summary; warnings and errors only.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Folder (or single file) to ingest.
    #[arg(value_name = "CORPUS")]
    pub corpus: PathBuf,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub engines: EngineArgs,

    #[command(flatten)]
    pub pace: PaceArgs,

    /// Target chunk size in tokens (cl100k, the same count for every model).
    #[arg(long, default_value_t = 1200)]
    pub chunk_tokens: usize,

    /// Tokens shared by neighbouring chunks.
    #[arg(long, default_value_t = 100)]
    pub chunk_overlap: usize,

    #[command(flatten)]
    pub prompt: PromptArgs,

    /// Output budget per request in tokens [default: sized from the schema's bounds, capped by the context].
    #[arg(long, value_name = "TOKENS")]
    pub max_output_tokens: Option<u32>,

    /// An entity whose name does not occur in its chunk's text (a prompt delimiter, an
    /// invention): drop it with its relations, keep it flagged `"ungrounded": true`, or do
    /// not check.
    #[arg(long, value_enum, default_value_t = crate::parse::Grounding::Drop)]
    pub grounding: crate::parse::Grounding,

    /// Run only shard I of N (from 0): the documents whose path hashes to I. Also from
    /// AEGIS_SHARD, Kubernetes' JOB_COMPLETION_INDEX with AEGIS_SHARD_COUNT, or a Slurm
    /// array (SLURM_ARRAY_TASK_ID, plain ranges). Join the shards with `aegis-ingest merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,

    /// Follow-up rounds per chunk: after a complete answer, ask again (the answer in the
    /// conversation) for what it missed; stops early when a round adds nothing. Changes the
    /// chunk keys (a run with another value extracts again).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub gleaning: u32,

    /// How relations are asked for: `joint` (one request per chunk answers entities and
    /// relations), `two-pass` (a request for the entities, then one for the relations
    /// whose source and target must be names the first kept; none for a chunk with fewer
    /// than two entities) or `repair` (joint; then two-pass's relations request only for a
    /// chunk whose answer lost relations to an endpoint outside its entities). Changes the
    /// chunk keys of two-pass and repair runs.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = crate::prompt::RelationsMode::Joint)]
    pub relations: crate::prompt::RelationsMode,

    /// Most answers one chunk may receive (retries, smaller answer bounds and halves
    /// included) before it is recorded as failed, or partial when records were kept.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub max_requests_per_chunk: u32,

    /// Most tokens the engines may generate for one chunk, all its requests together
    /// [default: 4 times the output budget, or the schema's largest answer if larger].
    #[arg(long, value_name = "TOKENS")]
    pub max_tokens_per_chunk: Option<u64>,

    /// Only files whose path (relative to CORPUS) matches one of these globs.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,

    /// Skip files whose path (relative to CORPUS) matches one of these globs.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Skip files larger than this many bytes (recorded as skipped).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_file_size: u64,

    /// Discard the checkpoint in --out and start over.
    #[arg(long)]
    pub fresh: bool,

    /// Walk, read and chunk only: print what would be extracted; no engine is contacted
    /// and nothing is written.
    #[arg(long)]
    pub dry_run: bool,

    /// Keep every extracted (name, type) as its own entity: no entity resolution (case,
    /// punctuation, possessives, articles, legal suffixes, acronyms, one type per name).
    #[arg(long)]
    pub no_resolve: bool,

    /// Quality gate: exit 1 when more than this share of the relations are RELATES_TO.
    #[arg(long, value_name = "F")]
    pub max_generic_share: Option<f64>,

    /// Quality gate: exit 1 when less than this share of entity mentions are found in
    /// their chunk's text.
    #[arg(long, value_name = "F")]
    pub min_grounded: Option<f64>,

    /// After a finished extraction, run the finishing step (`aegis-ingest communities`)
    /// on --out with the same engines.
    #[arg(long)]
    pub communities: bool,

    #[command(flatten)]
    pub community: CommunityFlags,
}

/// The finishing step's settings, shared by `communities` and `run --communities` (and
/// so keys of the settings file).
#[derive(Debug, Clone, Args)]
pub struct CommunityFlags {
    /// Community detection: modularity resolution (higher: smaller communities).
    #[arg(long, value_name = "R", default_value_t = 1.0)]
    pub resolution: f64,

    /// Community detection: a community with more members is split again on its own
    /// subgraph, giving its children at the next level.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_cluster_size: usize,

    /// Community detection: the most levels of the hierarchy.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_levels: usize,

    /// Communities with fewer members get no report.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub min_community_size: usize,

    /// Community detection: seed of the randomized steps (same outputs and seed, same
    /// communities).
    #[arg(long, value_name = "N", default_value_t = 0xAE615)]
    pub seed: u64,

    /// Most input tokens of one report or summary request (capped by the served context).
    #[arg(long, value_name = "TOKENS", default_value_t = 8000)]
    pub max_input_tokens: u32,

    /// A description with more distinct fragments than this is summarized by the model.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub summarize_fragments: usize,

    /// A description longer than this many tokens is summarized by the model.
    #[arg(long, value_name = "TOKENS", default_value_t = 1000)]
    pub summarize_tokens: usize,
}

/// `aegis-ingest communities`.
#[derive(Debug, Clone, Args)]
pub struct CommunitiesArgs {
    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub engines: EngineArgs,

    #[command(flatten)]
    pub community: CommunityFlags,

    #[command(flatten)]
    pub pace: PaceArgs,

    #[command(flatten)]
    pub prompt: PromptArgs,
}

/// How requests reach the engines, and how long they may wait: flags of `run` and
/// `communities`.
#[derive(Debug, Clone, Args)]
pub struct PaceArgs {
    /// Requests in flight at once to vLLM: a number, or `auto` (reads vLLM's /metrics and
    /// keeps just enough requests queued at the server that no slot idles).
    #[arg(long, env = "AEGIS_CONCURRENCY", default_value = "auto", value_parser = parse_concurrency)]
    pub concurrency: Concurrency,

    /// Requests in flight at once to Ollama.
    #[arg(long, env = "AEGIS_OLLAMA_CONCURRENCY", default_value_t = 4)]
    pub ollama_concurrency: usize,

    /// Seconds to wait while NO engine is available before stopping with exit code 3.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub engine_wait: u64,

    /// Seconds in-flight requests get to finish after the first Ctrl-C or SIGTERM; then
    /// they are abandoned (the engine frees their slots), what was answered is kept, the
    /// outputs are written and the command exits 130.
    #[arg(
        long,
        value_name = "SECS",
        env = "AEGIS_STOP_GRACE",
        default_value_t = 10
    )]
    pub stop_grace: u64,
}

/// The prompts folder: the taxonomy and extraction templates of `run`, the report and
/// summary templates of `communities`.
#[derive(Debug, Clone, Args)]
pub struct PromptArgs {
    /// Domain of the prompts folder: its taxonomy and templates.
    #[arg(long, default_value = "general", conflicts_with = "prompts")]
    pub domain: String,

    /// A domain folder instead of --domain: taxonomy.toml, system.j2 and user.j2 for `run`;
    /// community_report.j2 and summarize.j2 for `communities` (missing ones: the general
    /// domain's).
    #[arg(long, value_name = "DIR")]
    pub prompts: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Gold file: JSONL, one line per document:
    /// {"doc", "entities": [{"name", "type", "aliases"?}], "relations": [{"source", "type", "target"}]}.
    /// Without it, eval measures only what needs no gold (grounding, generic share, and
    /// the communities and reports of `aegis-ingest communities`).
    #[arg(long, value_name = "GOLD")]
    pub gold: Option<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,

    /// A table on stdout, or the whole eval.json.
    #[arg(long, value_enum, default_value_t = EvalFormat::Text)]
    pub format: EvalFormat,

    /// Examples shown per kind of error (missed, false positive, wrong type).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub examples: usize,

    /// Quality gate: exit 1 when entity F1 (exact, typed) is below F.
    #[arg(long, value_name = "F")]
    pub min_entity_f1: Option<f64>,

    /// Quality gate: exit 1 when relation F1 (labeled) is below F.
    #[arg(long, value_name = "F")]
    pub min_relation_f1: Option<f64>,

    /// Quality gate: exit 1 when more than this share of the relations are RELATES_TO.
    #[arg(long, value_name = "F")]
    pub max_generic_share: Option<f64>,

    /// Quality gate: exit 1 when less than this share of entity mentions are found in
    /// their chunk's text.
    #[arg(long, value_name = "F")]
    pub min_grounded: Option<f64>,

    /// Quality gate: exit 1 when the modularity of the coarsest community level is below F
    /// (needs `aegis-ingest communities`).
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub min_modularity: Option<f64>,

    /// Quality gate: exit 1 when less than this share of the communities' top entities
    /// are named or cited by their community's report.
    #[arg(long, value_name = "F")]
    pub min_report_coverage: Option<f64>,

    /// Quality gate: exit 1 when less than this share of the reports' citations belong to
    /// their community (dropped citations count against it).
    #[arg(long, value_name = "F")]
    pub min_citation_precision: Option<f64>,

    /// Quality gate: exit 1 when less than this share of the communities' top entities are
    /// cited by their report's findings.
    #[arg(long, value_name = "F")]
    pub min_citation_recall: Option<f64>,

    /// Quality gate: exit 1 when less than this share of the reports are complete (every
    /// field filled in, a rating from 0 to 10).
    #[arg(long, value_name = "F")]
    pub min_schema_compliance: Option<f64>,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub output: OutputArgs,

    /// Text for people, or one JSON object for scripts.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub engines: EngineArgs,

    /// Log records as text or JSON lines.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Text for people, or one JSON object for scripts.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Also say where the finished run in DIR stands with the finishing step
    /// (`aegis-ingest communities`): not run, done, or stale.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `export --to`: the target format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// CSV files for `neo4j-admin database import full` (a new database).
    Neo4jAdmin,
    /// A script for `cypher-shell -f` (MERGE: idempotent, with cleanup).
    Cypher,
    /// A psql script (schema + upsert + cleanup), or a direct load with --dest postgres://...
    Postgres,
    /// GraphML for Gephi, yEd and NetworkX.
    Graphml,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub output: OutputArgs,

    /// Target format.
    #[arg(long = "to", value_enum, value_name = "FORMAT")]
    pub to: ExportFormat,

    /// A folder (neo4j-admin), a file, `-` for standard output, or a postgres:// URL (loads
    /// through psql) [default: neo4j-admin/, graph.cypher, graph.sql or graph.graphml in --out].
    #[arg(long, value_name = "PATH|URL")]
    pub dest: Option<String>,

    /// Name stored with every node, relationship and row; loads under other names are left
    /// alone [default: the corpus folder's name].
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,

    /// Export the outputs of a run that stopped before the end (interrupted, or no engine):
    /// they hold part of the corpus, and loading them removes the rest of this namespace.
    #[arg(long)]
    pub allow_partial: bool,
}

#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The shards' --out folders, in any order.
    #[arg(value_name = "SHARD_DIR", required = true)]
    pub shards: Vec<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Merge although shards are missing or did not finish (exit code 1).
    #[arg(long)]
    pub allow_partial: bool,
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Write the chunks the checkpoint in --out does not hold as OpenAI batch JSONL
    /// (`custom_id` = the chunk's checkpoint key, `body` = the exact chat request).
    Export(Box<BatchExportArgs>),
    /// Validate batch results like live answers and journal them in --out's checkpoint;
    /// failures go to a retry file in request format. The next `run` sends nothing for
    /// the imported chunks.
    Import(BatchImportArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BatchExportArgs {
    /// The request file to write (JSONL; split into FILE-0001, FILE-0002, ... past --max-lines).
    #[arg(long, value_name = "FILE")]
    pub batch: PathBuf,

    /// Most requests per file (OpenAI's batch API takes 50,000).
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    pub max_lines: usize,

    /// The model's context in tokens, when no vLLM is reachable to say it (with
    /// --vllm-model); the plan fits prompts and output budget to it, as `run` does.
    #[arg(long, value_name = "TOKENS")]
    pub context_length: Option<u32>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Args)]
pub struct BatchImportArgs {
    /// Result files of the batch (`vllm run-batch -o`, a batch API's output file), in any order.
    #[arg(value_name = "RESULTS", required = true)]
    pub results: Vec<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Where the requests of failed chunks go, ready to run again [default: --out/batch/retry.jsonl].
    #[arg(long, value_name = "FILE")]
    pub retry: Option<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for. Install e.g. with
    /// `aegis-ingest completions bash > ~/.local/share/bash-completion/completions/aegis-ingest`
    /// (or `make install-extras`).
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ManArgs {
    /// Write aegis-ingest.1 and one page per subcommand (aegis-ingest-run.1, ...) into DIR
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The clap command with the version filled in at run time.
pub fn command(with_long_version: bool) -> clap::Command {
    let cmd = <Cli as clap::CommandFactory>::command().version(version::short_version());
    if with_long_version {
        cmd.long_version(version::long_version())
    } else {
        cmd
    }
}

/// `aegis-ingest config`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// Text for people, or one JSON object for scripts.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Arguments of `run` whose effect to show (CORPUS may be left out), after this
    /// command's own flags: `aegis-ingest config --format json --concurrency 8`.
    #[arg(
        value_name = "RUN_ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        num_args = 0..
    )]
    pub run_args: Vec<OsString>,
}

/// The flags whose values are secrets: never written to a file nor printed back.
pub const SECRET_FLAGS: &[&str] = &["--vllm-api-key"];

/// A command line with the values of `SECRET_FLAGS` replaced by `<KEY>` (both
/// `--flag VALUE` and `--flag=VALUE`), for `run.json` and the commands printed from it.
pub fn without_secrets(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut hide_next = false;
    for a in args {
        if std::mem::take(&mut hide_next) {
            out.push("<KEY>".to_string());
            continue;
        }
        match a.split_once('=') {
            Some((f, _)) if SECRET_FLAGS.contains(&f) => out.push(format!("{f}=<KEY>")),
            _ => {
                hide_next = SECRET_FLAGS.contains(&a.as_str());
                out.push(a);
            }
        }
    }
    out
}
