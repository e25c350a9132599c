//! The engines' start-up probe: each endpoint is asked once what it serves (model,
//! context, health); configuration errors are fatal, an engine not up yet starts down.

use crate::engine::client::EngineClient;
use crate::engine::ollama::OllamaClient;
use crate::engine::openai::OpenAiClient;
use crate::engine::router::{EngineSetup, BUSY_TIMEOUT_FACTOR};
use crate::engine::{http_client, HttpSettings, ProbeReport};
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
#[derive(Default)]
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
    let client = |pool: usize| http_client(pool, &s.http).map_err(RunError::usage);
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
    let (vllm_probes, ollama_probes) =
        futures::future::join(probe_vllm(s, &vllm_http), probe_ollama(s, &ollama_http)).await;
    check_vllm(s, &vllm_probes)?;
    let agreed = agreed_model(s, &vllm_probes)?;
    let mut out = ProbedEngines::default();
    let ollama_up = ollama_probes.iter().any(|p| p.ready && p.model_available);
    let meanwhile = if agreed.is_some() {
        "using the other endpoints meanwhile and probing it in the background"
    } else if ollama_up {
        "using Ollama meanwhile and probing vLLM in the background"
    } else if !s.ollama.is_empty() {
        "Ollama is not up either: waiting for either (see --engine-wait)"
    } else {
        "waiting for it (see --engine-wait)"
    };
    add_vllm(
        s,
        vllm_probes,
        &vllm_http,
        agreed.as_deref(),
        meanwhile,
        &mut out,
    )?;
    add_ollama(s, ollama_probes, &ollama_http, agreed.is_some(), &mut out)?;
    if out.setups.is_empty() {
        return Err(RunError::engine(
            "no usable engine is configured: see `aegis-ingest doctor`",
        ));
    }
    Ok(out)
}

/// Asks every vLLM endpoint at once what it serves.
async fn probe_vllm(s: &EngineSettings, http: &[reqwest::Client]) -> Vec<ProbeReport> {
    futures::future::join_all(s.vllm.iter().zip(http).map(|(v, http)| {
        OpenAiClient::probe(http, &v.url, v.model.as_deref(), v.api_key.as_deref())
    }))
    .await
}

/// Asks every Ollama endpoint at once whether it has the model.
async fn probe_ollama(s: &EngineSettings, http: &[reqwest::Client]) -> Vec<ProbeReport> {
    futures::future::join_all(
        s.ollama
            .iter()
            .zip(http)
            .map(|(o, http)| OllamaClient::probe(http, &o.url, &o.model)),
    )
    .await
}

/// The vLLM endpoints' configuration errors: an untrusted certificate, a refused key, a
/// URL whose server answers 404 at the API's paths, a model the server does not serve. Waiting would not fix them.
fn check_vllm(s: &EngineSettings, probes: &[ProbeReport]) -> Result<(), RunError> {
    for (v, p) in s.vllm.iter().zip(probes) {
        if p.untrusted_certificate {
            return Err(RunError::engine(format!(
                "vLLM at {}: {}",
                v.url,
                p.error.as_deref().unwrap_or(crate::engine::TLS_ADVICE)
            )));
        }
        if p.reachable && p.error.as_deref() == Some("401 Unauthorized") {
            return Err(RunError::engine(format!(
                "vLLM at {} refused the API key (401): set --vllm-api-key (or VLLM_API_KEY) to the key the server was started with",
                v.url
            )));
        }
        if p.reachable && p.wrong_path {
            return Err(RunError::engine(format!(
                "vLLM at {}: {}",
                v.url,
                p.advice
                    .as_deref()
                    .unwrap_or("the URL serves no OpenAI API")
            )));
        }
        if p.ready && !p.model_available {
            return Err(RunError::engine(format!(
                "vLLM at {}: {}",
                v.url,
                p.advice
                    .clone()
                    .unwrap_or_else(|| "the model is not served".into())
            )));
        }
    }
    Ok(())
}

/// The model the serving vLLM endpoints agree on (None when none serves yet). Every
/// endpoint must serve the same model: results are checkpointed per model, and a chunk
/// must not depend on which endpoint answered it.
fn agreed_model(s: &EngineSettings, probes: &[ProbeReport]) -> Result<Option<String>, RunError> {
    let serving: Vec<(&str, &str)> = s
        .vllm
        .iter()
        .zip(probes)
        .filter(|(_, p)| p.ready && p.model_available)
        .filter_map(|(v, p)| Some((v.url.as_str(), p.model.as_deref()?)))
        .collect();
    let Some(&(first_url, first_model)) = serving.first() else {
        return Ok(None);
    };
    if let Some(&(url, model)) = serving.iter().find(|(_, m)| *m != first_model) {
        return Err(RunError::engine(format!(
            "the --vllm-url endpoints serve different models: {first_url} serves '{first_model}', {url} serves '{model}'. Every endpoint must serve the same model (results are checkpointed per model): drop the odd endpoint, or pass --vllm-model to name the one they all serve"
        )));
    }
    Ok(Some(first_model.to_string()))
}

/// One setup per vLLM endpoint, up when it serves the model; an endpoint still loading is
/// held to the model the others serve (`agreed`) and noted as not ready.
fn add_vllm(
    s: &EngineSettings,
    probes: Vec<ProbeReport>,
    http: &[reqwest::Client],
    agreed: Option<&str>,
    meanwhile: &str,
    out: &mut ProbedEngines,
) -> Result<(), RunError> {
    for (n, ((v, p), http)) in s.vllm.iter().zip(probes).zip(http).enumerate() {
        if !p.ready {
            out.not_ready
                .push(not_ready_line("vLLM", &v.url, "--vllm-url", &p, meanwhile));
        }
        let model = p
            .model
            .clone()
            .or_else(|| agreed.map(str::to_string))
            .unwrap_or_default();
        let client = OpenAiClient::new(
            http.clone(),
            &v.url,
            model,
            v.api_key.clone(),
            s.request_timeout * BUSY_TIMEOUT_FACTOR,
        )
        .map_err(|e| RunError::usage(format!("--vllm-url {e}")))?;
        out.setups.push(EngineSetup {
            client: EngineClient::OpenAi(client),
            concurrency: v.concurrency,
            adaptive: v.adaptive,
            up: p.ready && p.model_available,
            context_len: p.context_length,
            last_error: p.error.clone(),
            tokens_per_kchar: None,
        });
        out.reports.push((endpoint_name("vllm", n), p));
    }
    Ok(())
}

/// What a run says once of an endpoint not ready at the start, and what it does meanwhile.
/// A host name that does not resolve is said plainly: most likely a typo in the flag, but
/// a container's name may be registered only once it starts, so the run still waits.
fn not_ready_line(kind: &str, url: &str, flag: &str, p: &ProbeReport, meanwhile: &str) -> String {
    let error = p.error.as_deref().unwrap_or("no answer");
    if error.starts_with(crate::engine::DNS_FAILED) {
        format!("{kind} at {url}: {error}; check {flag} for a typo; {meanwhile}, in case the name is registered later (a container starting)")
    } else {
        format!("{kind} at {url} is not ready ({error}); {meanwhile}")
    }
}

/// One setup per Ollama endpoint that has the model. One without it is left out with a
/// warning while vLLM can serve, and is fatal when it is the only engine; so is one whose
/// URL answers 404 at Ollama's paths.
fn add_ollama(
    s: &EngineSettings,
    probes: Vec<ProbeReport>,
    http: &[reqwest::Client],
    vllm_usable: bool,
    out: &mut ProbedEngines,
) -> Result<(), RunError> {
    for (n, ((o, p), http)) in s.ollama.iter().zip(probes).zip(http).enumerate() {
        if p.untrusted_certificate {
            return Err(RunError::engine(format!(
                "Ollama at {}: {}",
                o.url,
                p.error.as_deref().unwrap_or(crate::engine::TLS_ADVICE)
            )));
        }
        let dns = p
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with(crate::engine::DNS_FAILED));
        if dns {
            let meanwhile = if vllm_usable {
                "vLLM serves meanwhile"
            } else {
                "waiting for an engine (see --engine-wait)"
            };
            let line = not_ready_line("Ollama", &o.url, "--ollama-url", &p, meanwhile);
            out.not_ready.push(line);
        }
        // The model not pulled, or a URL that 404s Ollama's paths: waiting fixes neither.
        let cannot_serve =
            p.reachable && (p.wrong_path || (!p.model_available && p.error.is_none()));
        if cannot_serve {
            let advice = p.advice.clone().unwrap_or_default();
            if !vllm_usable && s.vllm.is_empty() {
                return Err(RunError::engine(format!("Ollama at {}: {advice}", o.url)));
            }
            tracing::warn!("Ollama at {} cannot serve as fallback: {advice}", o.url);
        } else {
            let client = OllamaClient::new(
                http.clone(),
                &o.url,
                o.model.clone(),
                OLLAMA_NUM_CTX,
                s.request_timeout * BUSY_TIMEOUT_FACTOR,
            )
            .map_err(|e| RunError::usage(format!("--ollama-url {e}")))?;
            out.setups.push(EngineSetup {
                client: EngineClient::Ollama(client),
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(urls: &[&str], ollama: &[&str]) -> EngineSettings {
        EngineSettings {
            vllm: urls
                .iter()
                .map(|u| VllmSettings {
                    url: u.to_string(),
                    model: None,
                    api_key: None,
                    concurrency: 4,
                    adaptive: None,
                })
                .collect(),
            ollama: ollama
                .iter()
                .map(|u| OllamaSettings {
                    url: u.to_string(),
                    model: "m".into(),
                    concurrency: 2,
                })
                .collect(),
            request_timeout: Duration::from_secs(60),
            http: HttpSettings::default(),
        }
    }

    fn serving(model: &str) -> ProbeReport {
        ProbeReport {
            reachable: true,
            ready: true,
            model: Some(model.into()),
            model_available: true,
            ..Default::default()
        }
    }

    #[test]
    fn endpoints_serving_different_models_are_an_engine_error() {
        let s = settings(&["http://a", "http://b"], &[]);
        let same = agreed_model(&s, &[serving("x"), serving("x")]).unwrap();
        assert_eq!(same.as_deref(), Some("x"));
        let loading = ProbeReport::default();
        assert_eq!(agreed_model(&s, &[loading.clone(), loading]).unwrap(), None);
        let err = agreed_model(&s, &[serving("x"), serving("y")]).unwrap_err();
        assert!(matches!(err, RunError::Engine(_)));
        assert!(err
            .to_string()
            .contains("http://a serves 'x', http://b serves 'y'"));
    }

    #[test]
    fn a_refused_key_or_a_model_not_served_is_an_engine_error() {
        let s = settings(&["http://a"], &[]);
        let refused = ProbeReport {
            reachable: true,
            error: Some("401 Unauthorized".into()),
            ..Default::default()
        };
        let err = check_vllm(&s, &[refused]).unwrap_err();
        assert!(matches!(err, RunError::Engine(_)));
        assert!(err.to_string().contains("refused the API key (401)"));
        let missing = ProbeReport {
            model_available: false,
            ..serving("x")
        };
        let err = check_vllm(&s, &[missing]).unwrap_err();
        assert!(matches!(err, RunError::Engine(_)));
        assert_eq!(err.to_string(), "vLLM at http://a: the model is not served");
        assert!(check_vllm(&s, &[serving("x")]).is_ok());
    }

    #[test]
    fn an_ollama_without_the_model_is_fatal_only_when_it_is_the_only_engine() {
        let http = [http_client(1, &HttpSettings::default()).unwrap()];
        let unpulled = ProbeReport {
            reachable: true,
            advice: Some("run `ollama pull m`".into()),
            ..Default::default()
        };
        let mut out = ProbedEngines::default();
        let alone = settings(&[], &["http://o"]);
        let err = add_ollama(&alone, vec![unpulled.clone()], &http, false, &mut out).unwrap_err();
        assert!(matches!(err, RunError::Engine(_)));
        assert_eq!(err.to_string(), "Ollama at http://o: run `ollama pull m`");
        let fallback = settings(&["http://a"], &["http://o"]);
        add_ollama(&fallback, vec![unpulled], &http, true, &mut out).unwrap();
        assert!(out.setups.is_empty(), "left out, with a warning");
        assert_eq!(out.reports.len(), 1);
    }

    #[test]
    fn a_bad_engine_url_is_a_usage_error() {
        let http = [http_client(1, &HttpSettings::default()).unwrap()];
        let mut out = ProbedEngines::default();
        let s = settings(&[], &["http://[bad"]);
        let err = add_ollama(&s, vec![ProbeReport::default()], &http, false, &mut out).unwrap_err();
        assert!(matches!(err, RunError::Usage(_)));
        assert!(err.to_string().starts_with("--ollama-url http://[bad"));
    }
}
