//! `fake-engine` binary: serve a fake vLLM / Ollama on 127.0.0.1 until SIGTERM/SIGINT.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use fake_engine::{Api, ColdStart, FakeConfig, FakeEngine};

/// Fault-injecting fake of vLLM's OpenAI-compatible server and Ollama's native API.
///
/// Prints exactly one line `listening on http://127.0.0.1:PORT` to stdout once the port is
/// bound, then serves until SIGTERM/SIGINT. Flags override values from `--config`.
#[derive(Parser, Debug)]
#[command(name = "fake-engine", version)]
struct Args {
    /// Protocol(s) to serve.
    #[arg(long, value_enum)]
    api: Option<Api>,
    /// Port on 127.0.0.1 (0 = ephemeral).
    #[arg(long)]
    port: Option<u16>,
    /// Concurrent chat requests processed; the rest queue (FIFO, unbounded).
    #[arg(long)]
    slots: Option<usize>,
    /// Fixed latency of every chat request, in ms.
    #[arg(long)]
    fixed_ms: Option<u64>,
    /// Extra latency per output token, in ms (fractions allowed).
    #[arg(long)]
    per_token_ms: Option<f64>,
    /// A compute-bound server: generated tokens a second in total, shared by the requests
    /// in flight (with --per-token-ms: one request's own speed is at most 1000/that).
    #[arg(long)]
    shared_rate: Option<f64>,
    /// Served model name.
    #[arg(long)]
    model: Option<String>,
    /// vLLM max_model_len (context window).
    #[arg(long)]
    max_model_len: Option<u32>,
    /// Require `Authorization: Bearer KEY` on /v1/*.
    #[arg(long)]
    api_key: Option<String>,
    /// JSON file: a FakeConfig object, or a list of fault rules (or {"faults":[...]}).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Fault rules as inline JSON (same forms as a rules file); replaces the config's.
    #[arg(long)]
    faults: Option<String>,
    /// Go down when the N-th chat request arrives (once).
    #[arg(long)]
    down_after_requests: Option<u64>,
    /// How long to stay down (with --down-after-requests), in seconds.
    #[arg(long)]
    down_for_secs: Option<f64>,
    /// Cold start: refuse connections for this many seconds.
    #[arg(long)]
    cold_start_refuse_secs: Option<f64>,
    /// Cold start: then answer 503 "loading model" for this many seconds.
    #[arg(long)]
    cold_start_loading_secs: Option<f64>,
    /// Ollama's num_ctx when a request sets none.
    #[arg(long)]
    ollama_num_ctx: Option<u32>,
    /// Ollama: 503 "server busy" when more than this many requests wait for a slot.
    #[arg(long)]
    ollama_max_queue: Option<usize>,
    /// Share of relations whose target names no entity of the answer (within an endpoint
    /// enum: another name of it).
    #[arg(long, value_name = "RATE")]
    mistake_dangling: Option<f64>,
    /// Share of relations whose target is their source.
    #[arg(long, value_name = "RATE")]
    mistake_self_loop: Option<f64>,
    /// Share of entities typed wrongly (half within the answer, half across chunks).
    #[arg(long, value_name = "RATE")]
    mistake_type_conflict: Option<f64>,
    /// Ignore a relations schema's endpoint enums and signature branches.
    #[arg(long)]
    ignore_schema: bool,
    /// Report cached prompt tokens (usage.prompt_tokens_details.cached_tokens).
    #[arg(long)]
    report_cached_tokens: bool,
    /// Tokio worker threads (default: number of cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the final stats as JSON to stderr on exit.
    #[arg(long)]
    print_stats: bool,
}

fn load_config(args: &Args) -> anyhow::Result<FakeConfig> {
    let mut cfg = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            if v.is_array() {
                FakeConfig {
                    faults: fake_engine::parse_fault_rules(&text)?,
                    ..FakeConfig::default()
                }
            } else {
                serde_json::from_value(v).with_context(|| format!("parsing {}", path.display()))?
            }
        }
        None => FakeConfig::default(),
    };
    if let Some(v) = args.api {
        cfg.api = v;
    }
    if let Some(v) = args.port {
        cfg.port = v;
    }
    if let Some(v) = args.slots {
        cfg.slots = v;
    }
    if let Some(v) = args.fixed_ms {
        cfg.latency.fixed_ms = v;
    }
    if let Some(v) = args.per_token_ms {
        cfg.latency.per_output_token_ms = v;
    }
    if let Some(v) = args.shared_rate {
        cfg.shared_rate = Some(v);
    }
    if let Some(v) = &args.model {
        cfg.model = v.clone();
    }
    if let Some(v) = args.max_model_len {
        cfg.max_model_len = v;
    }
    if let Some(v) = &args.api_key {
        cfg.api_key = Some(v.clone());
    }
    if let Some(v) = &args.faults {
        cfg.faults = fake_engine::parse_fault_rules(v).context("parsing --faults")?;
    }
    if let Some(v) = args.down_after_requests {
        cfg.down_after_requests = Some(v);
    }
    if let Some(v) = args.down_for_secs {
        cfg.down_for_secs = v;
    }
    if args.cold_start_refuse_secs.is_some() || args.cold_start_loading_secs.is_some() {
        let cs = cfg.cold_start.get_or_insert(ColdStart::default());
        if let Some(v) = args.cold_start_refuse_secs {
            cs.refuse_secs = v;
        }
        if let Some(v) = args.cold_start_loading_secs {
            cs.loading_secs = v;
        }
    }
    if let Some(v) = args.ollama_num_ctx {
        cfg.ollama_num_ctx = v;
    }
    if let Some(v) = args.ollama_max_queue {
        cfg.ollama_max_queue = Some(v);
    }
    if let Some(v) = args.mistake_dangling {
        cfg.mistakes.dangling = v;
    }
    if let Some(v) = args.mistake_self_loop {
        cfg.mistakes.self_loop = v;
    }
    if let Some(v) = args.mistake_type_conflict {
        cfg.mistakes.type_conflict = v;
    }
    cfg.mistakes.ignore_schema |= args.ignore_schema;
    cfg.report_cached_tokens |= args.report_cached_tokens;
    Ok(cfg)
}

async fn run(cfg: FakeConfig, print_stats: bool) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let fake = FakeEngine::start(cfg).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", fake.url())?;
        out.flush()?;
    }
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    if print_stats {
        eprintln!("{}", serde_json::to_string(&fake.stats())?);
    }
    fake.shutdown().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cfg = load_config(&args)?;
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    rt.build()?.block_on(run(cfg, args.print_stats))
}
