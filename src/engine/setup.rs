//! The engines' start-up probe: each endpoint is asked once what it serves (model,
//! context, health); configuration errors are fatal, an engine not up yet starts down.

use crate::engine::ollama::OllamaClient;
use crate::engine::openai::OpenAiClient;
use crate::engine::router::EngineSetup;
use crate::engine::{http_client, EngineClient, HttpSettings, ProbeReport};
use crate::error::RunError;
use std::time::Duration;

/// Ollama's context per request: constant, because changing `num_ctx` reloads the model.
pub const OLLAMA_NUM_CTX: u32 = 8192;
/// `--concurrency auto`: where it starts, and the most it may reach.
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
    /// vLLM endpoints in the order given (one preference tier; empty with --no-vllm).
    pub vllm: Vec<VllmSettings>,
    /// Ollama endpoints (the fallback tier; empty with --no-ollama).
    pub ollama: Vec<OllamaSettings>,
    pub request_timeout: Duration,
    /// Extra CA certificates (`--ca-cert`).
    pub http: HttpSettings,
}

/// What the start-up probe found, engine by engine.
pub struct ProbedEngines {
    pub setups: Vec<EngineSetup>,
    /// Keyed as in the report: `vllm`, `vllm#2`, ..., `ollama`, ...
    pub reports: Vec<(String, ProbeReport)>,
    /// Endpoints not ready at the probe, and what a run does meanwhile (a run logs them).
    pub not_ready: Vec<String>,
}

/// The report key of the `n`-th (0-based) endpoint of a kind.
fn endpoint_name(kind: &str, n: usize) -> String {
    match n {
        0 => kind.to_string(),
        n => format!("{kind}#{}", n + 1),
    }
}

/// Probes the enabled engines once (the endpoints of a kind at the same time).
/// Configuration errors (wrong key, untrusted certificate, model not served or not pulled
/// while nothing else can serve, endpoints serving different models) are fatal; an engine
/// that does not answer yet starts "down" and is probed again in the background by the
/// router.
pub async fn setup_engines(s: &EngineSettings) -> Result<ProbedEngines, RunError> {
    let client = |pool: usize| http_client(pool, &s.http).map_err(RunError::config);
    let vllm_http = s
        .vllm
        .iter()
        .map(|v| client(v.concurrency))
        .collect::<Result<Vec<_>, _>>()?;
    let ollama_http = s
        .ollama
        .iter()
        .map(|o| client(o.concurrency))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = ProbedEngines {
        setups: Vec::new(),
        reports: Vec::new(),
        not_ready: Vec::new(),
    };
    let (vllm_probes, ollama_probes) = futures::future::join(
        futures::future::join_all(s.vllm.iter().zip(&vllm_http).map(|(v, http)| {
            OpenAiClient::probe(http, &v.url, v.model.as_deref(), v.api_key.as_deref())
        })),
        futures::future::join_all(
            s.ollama
                .iter()
                .zip(&ollama_http)
                .map(|(o, http)| OllamaClient::probe(http, &o.url, &o.model)),
        ),
    )
    .await;
    for (v, p) in s.vllm.iter().zip(&vllm_probes) {
        if p.untrusted_certificate {
            return Err(RunError::config(format!(
                "vLLM at {}: {}",
                v.url,
                p.error.as_deref().unwrap_or(crate::engine::TLS_ADVICE)
            )));
        }
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
    }
    // Every endpoint must serve the same model: results are checkpointed per model, and a
    // chunk must not depend on which endpoint answered it.
    let serving: Vec<(&str, &str)> = s
        .vllm
        .iter()
        .zip(&vllm_probes)
        .filter(|(_, p)| p.ready && p.model_available)
        .filter_map(|(v, p)| Some((v.url.as_str(), p.model.as_deref()?)))
        .collect();
    if let Some(&(first_url, first_model)) = serving.first() {
        if let Some(&(url, model)) = serving.iter().find(|(_, m)| *m != first_model) {
            return Err(RunError::config(format!(
                "the --vllm-url endpoints serve different models: {first_url} serves '{first_model}', {url} serves '{model}'. Every endpoint must serve the same model (results are checkpointed per model): drop the odd endpoint, or pass --vllm-model to name the one they all serve"
            )));
        }
    }
    // An endpoint still loading is held to the model the others serve.
    let agreed = serving.first().map(|(_, m)| m.to_string());
    let vllm_usable = !serving.is_empty();
    for (n, ((v, p), http)) in s.vllm.iter().zip(vllm_probes).zip(&vllm_http).enumerate() {
        if !p.ready {
            out.not_ready.push(format!(
                "vLLM at {} is not ready ({}); {}",
                v.url,
                p.error.as_deref().unwrap_or("no answer"),
                if vllm_usable {
                    "using the other endpoints meanwhile and probing it in the background"
                } else if !s.ollama.is_empty() {
                    "using Ollama meanwhile and probing vLLM in the background"
                } else {
                    "waiting for it (see --engine-wait)"
                }
            ));
        }
        let model = p
            .model
            .clone()
            .or_else(|| agreed.clone())
            .unwrap_or_default();
        out.setups.push(EngineSetup {
            client: EngineClient::OpenAi(
                OpenAiClient::new(
                    http.clone(),
                    &v.url,
                    model,
                    v.api_key.clone(),
                    s.request_timeout * crate::engine::router::BUSY_TIMEOUT_FACTOR,
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
        out.reports.push((endpoint_name("vllm", n), p));
    }
    for (n, ((o, p), http)) in s
        .ollama
        .iter()
        .zip(ollama_probes)
        .zip(&ollama_http)
        .enumerate()
    {
        if p.untrusted_certificate {
            return Err(RunError::config(format!(
                "Ollama at {}: {}",
                o.url,
                p.error.as_deref().unwrap_or(crate::engine::TLS_ADVICE)
            )));
        }
        let skip = if p.reachable && !p.model_available && p.error.is_none() {
            let advice = p.advice.clone().unwrap_or_default();
            if !vllm_usable && s.vllm.is_empty() {
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
        out.reports.push((endpoint_name("ollama", n), p));
    }
    if out.setups.is_empty() {
        return Err(RunError::config(
            "no usable engine is configured: see `aegis-ingest doctor`",
        ));
    }
    Ok(out)
}
