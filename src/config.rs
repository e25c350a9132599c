//! Validated settings built from the raw flags, and the engines' start-up probe. Every
//! problem a user can fix is a `RunError::Config` with one sentence saying what to do.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::chunk::ChunkSettings;
use crate::cli::{EngineArgs, RunArgs};
use crate::engine::ollama::{parse_ollama_host, OllamaClient};
use crate::engine::openai::{normalize_base, OpenAiClient};
use crate::engine::router::EngineSetup;
use crate::engine::{http_client, EngineClient, ProbeReport};
use crate::error::RunError;
use crate::prompt::{default_prompts_root, PromptSet};
use crate::walk::PathFilter;

/// Ollama's context per request: constant, because changing `num_ctx` reloads the model.
pub const OLLAMA_NUM_CTX: u32 = 8192;
/// `--concurrency auto`: where it starts, and the most it may reach.
pub const AUTO_START_CONCURRENCY: usize = 32;
pub const AUTO_MAX_CONCURRENCY: usize = 1024;
/// Cap of the default output budget.
pub const MAX_DEFAULT_OUTPUT_TOKENS: u32 = 8192;

#[derive(Debug, Clone)]
pub struct VllmSettings {
    pub url: String,
    pub model: Option<String>,
    pub api_key: Option<String>,
    /// The cap: fixed, or the most `auto` may reach.
    pub concurrency: usize,
    /// `auto`: the starting limit, adapted to the server's queue from there.
    pub adaptive: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct OllamaSettings {
    pub url: String,
    pub model: String,
    pub concurrency: usize,
}

#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub vllm: Option<VllmSettings>,
    pub ollama: Option<OllamaSettings>,
    pub request_timeout: Duration,
}

pub struct RunSettings {
    pub corpus: PathBuf,
    pub out: PathBuf,
    pub quiet: bool,
    pub prompts: Arc<PromptSet>,
    pub chunk: ChunkSettings,
    pub engines: EngineSettings,
    pub engine_wait: Duration,
    /// Entity resolution in the merge (off with `--no-resolve`).
    pub resolve: bool,
    /// `--max-generic-share`, `--min-grounded`.
    pub gates: crate::gates::Limits,
    pub filter: PathFilter,
    /// The globs behind `filter`, recorded for `status`.
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub max_file_size: u64,
    pub fresh: bool,
    pub dry_run: bool,
    pub max_output_tokens: u32,
    /// `--max-output-tokens` as given (the plan keeps it).
    pub max_output_explicit: Option<u32>,
    pub grounding: crate::parse::Grounding,
    /// `--gleaning` rounds.
    pub gleaning: u32,
    /// `--shard I/N` (or from the environment): only these documents.
    pub shard: Option<crate::shard::Shard>,
    pub max_requests_per_chunk: u32,
    /// `--max-tokens-per-chunk` as given (default: 4 times the planned budget).
    pub max_tokens_per_chunk: Option<u64>,
    /// The first Ctrl-C's deadline for requests in flight.
    pub stop_grace: Duration,
}

fn check_url(flag: &str, url: &str) -> Result<(), RunError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        RunError::config(format!(
            "{flag} {url:?} is not a URL ({e}); use e.g. http://localhost:8001"
        ))
    })?;
    match parsed.scheme() {
        "http" => Ok(()),
        "https" => Err(RunError::config(format!(
            "{flag} {url}: https is not supported (engines are local); use http://"
        ))),
        s => Err(RunError::config(format!(
            "{flag} {url}: scheme {s} is not http; use http://HOST:PORT"
        ))),
    }
}

impl EngineSettings {
    pub fn from_args(
        a: &EngineArgs,
        concurrency: crate::cli::Concurrency,
        ollama_concurrency: usize,
    ) -> Result<Self, RunError> {
        let (concurrency, adaptive) = match concurrency {
            crate::cli::Concurrency::Fixed(n) => (n, None),
            crate::cli::Concurrency::Auto => (AUTO_MAX_CONCURRENCY, Some(AUTO_START_CONCURRENCY)),
        };
        if a.no_vllm && a.no_ollama {
            return Err(RunError::config(
                "--no-vllm and --no-ollama leave no engine: drop one of them",
            ));
        }
        if a.request_timeout == 0 {
            return Err(RunError::config(
                "--request-timeout must be at least 1 second",
            ));
        }
        let vllm = if a.no_vllm {
            None
        } else {
            let url = normalize_base(&a.vllm_url);
            check_url("--vllm-url", &url)?;
            if concurrency == 0 {
                return Err(RunError::config("--concurrency must be at least 1"));
            }
            Some(VllmSettings {
                url,
                model: a.vllm_model.clone().filter(|m| !m.trim().is_empty()),
                api_key: a.vllm_api_key.clone().filter(|k| !k.is_empty()),
                concurrency,
                adaptive,
            })
        };
        let ollama = if a.no_ollama {
            None
        } else {
            let url = parse_ollama_host(a.ollama_url.as_deref());
            check_url("--ollama-url", &url)?;
            if ollama_concurrency == 0 {
                return Err(RunError::config("--ollama-concurrency must be at least 1"));
            }
            Some(OllamaSettings {
                url,
                model: a.ollama_model.clone(),
                concurrency: ollama_concurrency,
            })
        };
        Ok(Self {
            vllm,
            ollama,
            request_timeout: Duration::from_secs(a.request_timeout),
        })
    }
}

impl RunSettings {
    pub fn from_args(a: RunArgs) -> Result<Self, RunError> {
        if !a.corpus.exists() {
            return Err(RunError::config(format!(
                "corpus {} does not exist: pass a folder of documents, e.g. `aegis-ingest run ./docs`",
                a.corpus.display()
            )));
        }
        let chunk = ChunkSettings {
            tokens: a.chunk_tokens,
            overlap: a.chunk_overlap,
        };
        chunk.validate().map_err(RunError::config)?;
        let prompts = match &a.prompts {
            Some(dir) => PromptSet::load_dir(dir),
            None => PromptSet::load_domain(&default_prompts_root(), &a.domain),
        }
        .map_err(|e| RunError::config(format!("{e}")))?;
        let filter = PathFilter::new(&a.include, &a.exclude).map_err(|e| {
            RunError::config(format!(
                "bad --include/--exclude glob: {e}; fix the pattern (e.g. '*.md', 'drafts/**')"
            ))
        })?;
        let engines = EngineSettings::from_args(&a.engines, a.concurrency, a.ollama_concurrency)?;
        let max_output_tokens = match a.max_output_tokens {
            Some(0) => return Err(RunError::config("--max-output-tokens must be at least 1")),
            Some(n) => n,
            None => prompts.max_answer_tokens().min(MAX_DEFAULT_OUTPUT_TOKENS),
        };
        let gates = crate::gates::Limits {
            max_generic_share: a.max_generic_share,
            min_grounded: a.min_grounded,
            ..crate::gates::Limits::default()
        };
        gates.validate().map_err(RunError::config)?;
        Ok(Self {
            corpus: a.corpus,
            out: a.output.out,
            quiet: a.output.quiet,
            prompts: Arc::new(prompts),
            chunk,
            engines,
            engine_wait: Duration::from_secs(a.engine_wait),
            resolve: !a.no_resolve,
            gates,
            filter,
            include: a.include,
            exclude: a.exclude,
            max_file_size: a.max_file_size,
            fresh: a.fresh,
            dry_run: a.dry_run,
            max_output_tokens,
            max_output_explicit: a.max_output_tokens,
            grounding: a.grounding,
            gleaning: a.gleaning,
            shard: crate::shard::Shard::resolve(a.shard.as_deref(), |k| std::env::var(k).ok())
                .map_err(RunError::config)?,
            max_requests_per_chunk: a.max_requests_per_chunk.max(1),
            max_tokens_per_chunk: a.max_tokens_per_chunk,
            stop_grace: Duration::from_secs(a.stop_grace),
        })
    }
}

/// What the start-up probe found, engine by engine.
pub struct ProbedEngines {
    pub setups: Vec<EngineSetup>,
    pub reports: Vec<(&'static str, ProbeReport)>,
}

/// Probes the enabled engines once. Configuration errors (wrong key, model not served or
/// not pulled while nothing else can serve) are fatal; an engine that does not answer yet
/// starts "down" and is probed again in the background by the router.
pub async fn setup_engines(s: &EngineSettings) -> Result<ProbedEngines, RunError> {
    let pool = s
        .vllm
        .as_ref()
        .map_or(0, |v| v.adaptive.map_or(v.concurrency, |_| 256))
        + s.ollama.as_ref().map_or(0, |o| o.concurrency);
    let http = http_client(pool);
    let mut out = ProbedEngines {
        setups: Vec::new(),
        reports: Vec::new(),
    };
    let vllm_probe = match &s.vllm {
        Some(v) => {
            Some(OpenAiClient::probe(&http, &v.url, v.model.as_deref(), v.api_key.as_deref()).await)
        }
        None => None,
    };
    let ollama_probe = match &s.ollama {
        Some(o) => Some(OllamaClient::probe(&http, &o.url, &o.model).await),
        None => None,
    };
    let vllm_usable = vllm_probe
        .as_ref()
        .is_some_and(|p| p.ready && p.model_available);
    if let (Some(v), Some(p)) = (&s.vllm, vllm_probe) {
        if p.reachable && p.error.as_deref() == Some("401 Unauthorized") {
            return Err(RunError::config(format!(
                "vLLM at {} refused the API key (401): set --vllm-api-key (or VLLM_API_KEY) to the key the server was started with",
                v.url
            )));
        }
        if p.ready && !p.model_available {
            return Err(RunError::config(format!(
                "vLLM at {}: {}",
                v.url,
                p.advice
                    .clone()
                    .unwrap_or_else(|| "the model is not served".into())
            )));
        }
        if !p.ready {
            tracing::warn!(
                "vLLM at {} is not ready ({}); {}",
                v.url,
                p.error.as_deref().unwrap_or("no answer"),
                if s.ollama.is_some() {
                    "using Ollama meanwhile and probing vLLM in the background"
                } else {
                    "waiting for it (see --engine-wait)"
                }
            );
        }
        let model = p.model.clone().unwrap_or_default();
        out.setups.push(EngineSetup {
            client: EngineClient::OpenAi(
                OpenAiClient::new(
                    http.clone(),
                    &v.url,
                    model,
                    v.api_key.clone(),
                    s.request_timeout * crate::engine::router::BUSY_TIMEOUT_FACTOR,
                    // Keep-alive connections for every request that may be in flight
                    // (with `auto`, the cap it may climb to).
                    v.concurrency,
                )
                .map_err(|e| RunError::config(format!("--vllm-url {e}")))?,
            ),
            concurrency: v.concurrency,
            adaptive: v.adaptive,
            up: p.ready && p.model_available,
            context_len: p.context_length,
            last_error: p.error.clone(),
            tokens_per_kchar: None,
        });
        out.reports.push(("vllm", p));
    }
    if let (Some(o), Some(p)) = (&s.ollama, ollama_probe) {
        let skip = if p.reachable && !p.model_available && p.error.is_none() {
            let advice = p.advice.clone().unwrap_or_default();
            if !vllm_usable && s.vllm.is_none() {
                return Err(RunError::config(format!("Ollama at {}: {advice}", o.url)));
            }
            tracing::warn!("Ollama at {} cannot serve as fallback: {advice}", o.url);
            true
        } else {
            false
        };
        if !skip {
            out.setups.push(EngineSetup {
                client: EngineClient::Ollama(
                    OllamaClient::new(
                        http.clone(),
                        &o.url,
                        o.model.clone(),
                        OLLAMA_NUM_CTX,
                        s.request_timeout * crate::engine::router::BUSY_TIMEOUT_FACTOR,
                        o.concurrency,
                    )
                    .map_err(|e| RunError::config(format!("--ollama-url {e}")))?,
                ),
                concurrency: o.concurrency,
                adaptive: None,
                up: p.ready,
                context_len: Some(OLLAMA_NUM_CTX),
                last_error: p.error.clone(),
                tokens_per_kchar: None,
            });
        }
        out.reports.push(("ollama", p));
    }
    if out.setups.is_empty() {
        return Err(RunError::config(
            "no usable engine is configured: see `aegis-ingest doctor`",
        ));
    }
    Ok(out)
}
