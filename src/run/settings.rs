//! Validated settings built from the raw flags, and the engines' start-up probe. Every
//! problem a user can fix is a `RunError` with one sentence saying what to do.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::chunk::ChunkSettings;
use crate::cli::{EngineArgs, RunArgs};
use crate::engine::ollama::parse_ollama_host;
use crate::engine::openai::normalize_base;
use crate::engine::router::RouterConfig;
use crate::engine::setup::{EngineSettings, OllamaSettings, VllmSettings};
use crate::engine::HttpSettings;
use crate::error::RunError;
use crate::prompt::{default_prompts_root, PromptSet};
use crate::read::walk::PathFilter;

/// `--concurrency auto` starts here and climbs as the answers show room: a first wave as
/// large as a fast server's batch would, on a slow compute-bound one, share its rate so
/// thinly that every answer outlives the request time-out (issue 20, item 5).
pub const AUTO_START_CONCURRENCY: usize = 4;
pub const AUTO_MAX_CONCURRENCY: usize = 1024;
/// Cap of the default output budget.
pub const MAX_DEFAULT_OUTPUT_TOKENS: u32 = 8192;

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
    pub gates: crate::quality::Limits,
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
    /// `--relations`: joint or two-pass.
    pub relations: crate::prompt::RelationsMode,
    /// `--shard I/N` (or from the environment): only these documents.
    pub shard: Option<crate::read::shard::Shard>,
    pub max_requests_per_chunk: u32,
    /// `--max-tokens-per-chunk` as given (default: 4 times the planned budget).
    pub max_tokens_per_chunk: Option<u64>,
    /// The first Ctrl-C's deadline for requests in flight.
    pub stop_grace: Duration,
}

/// An engine URL as given (`raw`, shown in the message) and as it will be used (`url`):
/// http or https, with a host. `example` is a URL that would work for this flag.
fn check_url(flag: &str, raw: &str, url: &str, example: &str) -> Result<(), RunError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        // `url::ParseError::EmptyHost` (reqwest re-exports `Url`, not its error type).
        let why = match e.to_string() {
            m if m == "empty host" => "it has no host name".to_string(),
            m => m,
        };
        RunError::usage(format!(
            "{flag} {raw:?} is not a URL ({why}): give http://HOST:PORT, e.g. {example}"
        ))
    })?;
    match parsed.scheme() {
        "http" | "https" => {}
        s => {
            return Err(RunError::usage(format!(
                "{flag} {raw}: scheme {s} is not http or https; use http://HOST:PORT (or https:// behind a gateway)"
            )))
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(RunError::usage(format!(
            "{flag} {raw:?} has no host name: give http://HOST:PORT, e.g. {example}"
        )));
    }
    Ok(())
}

/// A `--vllm-url` value as the clients use it. Without a scheme it must be HOST:PORT
/// (`localhost:8001`): a bare word (`not-a-url`) is far more often a slip than a server
/// on port 80, and would only be found out after `--engine-wait`.
fn vllm_base(raw: &str) -> Result<String, RunError> {
    const EXAMPLE: &str = "http://localhost:8001";
    let has_port = |s: &str| {
        let host_port = s.split('/').next().unwrap_or("");
        host_port
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    if !raw.contains("://") && !has_port(raw) {
        return Err(RunError::usage(format!(
            "--vllm-url {raw:?} is not a URL: give http://HOST:PORT, e.g. {EXAMPLE} (HOST:PORT alone also works)"
        )));
    }
    // Checked as given, before the trailing `/` and `/v1` are trimmed (`http://` trimmed
    // would read as the host `http:`).
    let given = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    check_url("--vllm-url", raw, &given, EXAMPLE)?;
    let url = normalize_base(raw);
    check_url("--vllm-url", raw, &url, EXAMPLE)?;
    Ok(url)
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
            return Err(RunError::usage(
                "--no-vllm and --no-ollama leave no engine: drop one of them",
            ));
        }
        if a.request_timeout == 0 {
            return Err(RunError::usage(
                "--request-timeout must be at least 1 second",
            ));
        }
        let vllm = if a.no_vllm {
            Vec::new()
        } else {
            vllm_endpoints(a, concurrency, adaptive)?
        };
        let ollama = if a.no_ollama {
            Vec::new()
        } else {
            ollama_endpoints(a, ollama_concurrency)?
        };
        let http = match &a.ca_cert {
            Some(path) => HttpSettings::with_ca_file(path).map_err(RunError::usage)?,
            None => HttpSettings::default(),
        };
        Ok(Self {
            vllm,
            ollama,
            request_timeout: Duration::from_secs(a.request_timeout),
            http,
        })
    }
}

impl RunSettings {
    /// The router's settings: time-outs, the engine wait, the retry backoff.
    pub fn router_config(&self) -> RouterConfig {
        router_config(&self.engines, self.engine_wait)
    }

    pub fn from_args(a: RunArgs) -> Result<Self, RunError> {
        if !a.corpus.exists() {
            return Err(RunError::corpus(format!(
                "corpus {} does not exist: pass a folder of documents, e.g. `aegis-ingest run ./docs`",
                a.corpus.display()
            )));
        }
        let chunk = ChunkSettings {
            tokens: a.chunk_tokens,
            overlap: a.chunk_overlap,
        };
        chunk.validate().map_err(RunError::usage)?;
        let prompts = match &a.prompt.prompts {
            Some(dir) => PromptSet::load_dir(dir),
            None => PromptSet::load_domain(&default_prompts_root(), &a.prompt.domain),
        }
        .map_err(|e| RunError::usage(format!("{e}")))?;
        let filter = PathFilter::new(&a.include, &a.exclude).map_err(|e| {
            RunError::usage(format!(
                "bad --include/--exclude glob: {e}; fix the pattern (e.g. '*.md', 'drafts/**')"
            ))
        })?;
        let engines =
            EngineSettings::from_args(&a.engines, a.pace.concurrency, a.pace.ollama_concurrency)?;
        let max_output_tokens = match a.max_output_tokens {
            Some(0) => return Err(RunError::usage("--max-output-tokens must be at least 1")),
            Some(n) => n,
            None => prompts.max_answer_tokens().min(MAX_DEFAULT_OUTPUT_TOKENS),
        };
        let gates = crate::quality::Limits {
            max_generic_share: a.max_generic_share,
            min_grounded: a.min_grounded,
            ..crate::quality::Limits::default()
        };
        gates.validate().map_err(RunError::usage)?;
        Ok(Self {
            corpus: a.corpus,
            out: a.output.out,
            quiet: a.output.quiet,
            prompts: Arc::new(prompts),
            chunk,
            engines,
            engine_wait: Duration::from_secs(a.pace.engine_wait),
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
            relations: a.relations,
            shard: crate::read::shard::Shard::resolve(a.shard.as_deref(), |k| {
                std::env::var(k).ok()
            })
            .map_err(RunError::usage)?,
            max_requests_per_chunk: a.max_requests_per_chunk.max(1),
            max_tokens_per_chunk: a.max_tokens_per_chunk,
            stop_grace: Duration::from_secs(a.pace.stop_grace),
        })
    }
}

/// The router's settings for `engines`: time-outs, the engine wait, the retry backoff.
pub fn router_config(engines: &EngineSettings, engine_wait: Duration) -> RouterConfig {
    RouterConfig {
        request_timeout: engines.request_timeout,
        engine_wait,
        // Tests shorten the backoff base; users have no reason to.
        base_backoff: std::env::var("AEGIS_RETRY_BASE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(RouterConfig::default().base_backoff, Duration::from_millis),
        ..RouterConfig::default()
    }
}

/// `--vllm-url` (one or more), each with its key and the concurrency settings.
fn vllm_endpoints(
    a: &EngineArgs,
    concurrency: usize,
    adaptive: Option<usize>,
) -> Result<Vec<VllmSettings>, RunError> {
    if concurrency == 0 {
        return Err(RunError::usage("--concurrency must be at least 1"));
    }
    let urls: Vec<String> = a
        .vllm_url
        .iter()
        .map(|u| u.trim())
        .filter(|u| !u.is_empty())
        .map(vllm_base)
        .collect::<Result<_, _>>()?;
    if urls.is_empty() {
        return Err(RunError::usage(
            "--vllm-url is empty: give a URL such as http://localhost:8001, or pass --no-vllm",
        ));
    }
    for (i, url) in urls.iter().enumerate() {
        if urls[..i].contains(url) {
            return Err(RunError::usage(format!(
                "--vllm-url {url} is given twice: list each endpoint once"
            )));
        }
    }
    let keys: Vec<Option<String>> = match a.vllm_api_key.len() {
        0 => vec![None; urls.len()],
        1 => vec![a.vllm_api_key.first().cloned(); urls.len()],
        n if n == urls.len() => a.vllm_api_key.iter().cloned().map(Some).collect(),
        n => {
            return Err(RunError::usage(format!(
                "{n} --vllm-api-key values for {} --vllm-url endpoints: give one key for all, or one per endpoint in the same order",
                urls.len()
            )))
        }
    };
    Ok(urls
        .into_iter()
        .zip(keys)
        .map(|(url, api_key)| VllmSettings {
            url,
            model: a.vllm_model.clone().filter(|m| !m.trim().is_empty()),
            api_key: api_key.filter(|k| !k.is_empty()),
            concurrency,
            adaptive,
        })
        .collect())
}

/// `--ollama-url` (one or more; `OLLAMA_HOST` or the default when none).
fn ollama_endpoints(
    a: &EngineArgs,
    ollama_concurrency: usize,
) -> Result<Vec<OllamaSettings>, RunError> {
    if ollama_concurrency == 0 {
        return Err(RunError::usage("--ollama-concurrency must be at least 1"));
    }
    let raw: Vec<Option<&str>> = if a.ollama_url.is_empty() {
        vec![None]
    } else {
        a.ollama_url.iter().map(|u| Some(u.as_str())).collect()
    };
    let mut list: Vec<OllamaSettings> = Vec::new();
    for r in raw {
        // OLLAMA_HOST is read by Ollama's rules (`:11434`, `0.0.0.0` and a bare host are
        // fine); a value with a scheme must be a URL with a host as given.
        let flag = match (r, std::env::var("OLLAMA_HOST")) {
            (Some(r), Ok(env)) if env == r => "OLLAMA_HOST",
            _ => "--ollama-url",
        };
        let (raw, example) = (r.unwrap_or("").trim(), "http://localhost:11434");
        if raw.contains("://") {
            check_url(flag, raw, raw, example)?;
        }
        let url = parse_ollama_host(r);
        check_url(flag, raw, &url, example)?;
        if list.iter().any(|o| o.url == url) {
            return Err(RunError::usage(format!(
                "--ollama-url {url} is given twice: list each endpoint once"
            )));
        }
        list.push(OllamaSettings {
            url,
            model: a.ollama_model.clone(),
            concurrency: ollama_concurrency,
        });
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::vllm_base;

    #[test]
    fn vllm_urls_with_a_host_pass_and_the_rest_are_usage_errors() {
        for (raw, want) in [
            ("localhost:8001", "http://localhost:8001"),
            ("[::1]:8000", "http://[::1]:8000"),
            ("gpu1:8001/openai/v1", "http://gpu1:8001/openai"),
            ("https://gw.example/openai/v1/", "https://gw.example/openai"),
            ("http://vllm", "http://vllm"),
        ] {
            assert_eq!(vllm_base(raw).unwrap(), want, "{raw}");
        }
        for raw in [
            "not-a-url",
            "vllm",
            "http://",
            "http://:8000",
            "://x",
            "localhost:",
        ] {
            let err = vllm_base(raw).unwrap_err().to_string();
            assert!(err.starts_with("--vllm-url"), "{raw}: {err}");
        }
    }
}
