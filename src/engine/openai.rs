//! vLLM through its OpenAI-compatible API: `POST /v1/chat/completions` with the answer
//! schema in `response_format` (json_schema, enforced by the decoder), thinking switched
//! off through `chat_template_kwargs`, temperature 0 and a per-chunk seed.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{
    classify_transport, post_json, snippet, ChatAnswer, ChatRequest, EngineError, FailureClass,
    Finish, ProbeReport, WireMessages,
};

#[derive(Debug, Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    base: String,
    /// `{base}/v1/chat/completions`, built once.
    chat_url: String,
    /// Late-bound: empty until `/v1/models` names it (vLLM may still be loading at start).
    model: Arc<RwLock<String>>,
    api_key: Option<String>,
    timeout: Duration,
}

#[derive(Serialize)]
struct JsonSchema<'a> {
    name: &'static str,
    schema: &'a RawValue,
    strict: bool,
}

#[derive(Serialize)]
struct ResponseFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    json_schema: JsonSchema<'a>,
}

#[derive(Serialize)]
struct TemplateKwargs {
    enable_thinking: bool,
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: WireMessages<'a>,
    temperature: f32,
    seed: u64,
    max_completion_tokens: u32,
    response_format: ResponseFormat<'a>,
    chat_template_kwargs: TemplateKwargs,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Option<AnswerMessage>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct AnswerMessage {
    content: Option<String>,
    reasoning: Option<String>,
    reasoning_content: Option<String>,
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Deserialize, Default)]
struct PromptTokensDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct Models {
    #[serde(default)]
    data: Vec<ModelCard>,
}

#[derive(Deserialize)]
struct ModelCard {
    id: String,
    max_model_len: Option<u32>,
}

/// The exact body of a chat request: what is POSTed to `/v1/chat/completions`, and what a
/// batch file line carries (`aegis-ingest batch export`).
pub fn chat_body(model: &str, req: &ChatRequest) -> Result<Vec<u8>, EngineError> {
    let body = Body {
        model,
        messages: req.wire_messages(),
        temperature: 0.0,
        seed: req.seed & crate::engine::SEED_MASK,
        max_completion_tokens: req.max_tokens,
        response_format: ResponseFormat {
            kind: "json_schema",
            json_schema: JsonSchema {
                name: "extraction",
                schema: &req.schema,
                strict: true,
            },
        },
        chat_template_kwargs: TemplateKwargs {
            enable_thinking: false,
        },
    };
    req.encode(&body)
}

/// Endpoint paths a user may paste with the server's URL (from a `curl` line or a client's
/// docs): the base is what comes before them.
const ENDPOINT_SUFFIXES: [&str; 3] = ["/v1/chat/completions", "/v1/completions", "/v1/models"];

/// Normalizes a user-given base URL: no trailing slash, no trailing `/v1` (nor an endpoint
/// path after it: `/v1/chat/completions`, `/v1/completions`, `/v1/models`). A path prefix
/// before it stays (a gateway's `https://host/openai/v1` becomes `https://host/openai`,
/// and requests go to `https://host/openai/v1/chat/completions`).
pub fn normalize_base(url: &str) -> String {
    let mut u = url.trim().trim_end_matches('/').to_string();
    if let Some(s) = ENDPOINT_SUFFIXES.iter().find(|s| u.ends_with(*s)) {
        u.truncate(u.len() - s.len());
    }
    if u.ends_with("/v1") {
        u.truncate(u.len() - 3);
    }
    if !u.contains("://") {
        u = format!("http://{u}");
    }
    u
}

impl OpenAiClient {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        model: String,
        api_key: Option<String>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let base = normalize_base(base_url);
        reqwest::Url::parse(&base).map_err(|e| format!("{base}: {e}"))?;
        Ok(Self {
            chat_url: format!("{base}/v1/chat/completions"),
            http,
            base,
            model: Arc::new(RwLock::new(model)),
            api_key,
            timeout,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn model(&self) -> String {
        self.model.read().map(|m| m.clone()).unwrap_or_default()
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(k) => rb.bearer_auth(k),
            None => rb,
        }
    }

    pub async fn chat(&self, req: &ChatRequest) -> Result<ChatAnswer, EngineError> {
        let model = self.model();
        if model.is_empty() {
            return Err(EngineError::new(
                FailureClass::Connect,
                "vLLM has not named its model yet (GET /v1/models)",
            ));
        }
        let bytes = chat_body(&model, req)?;
        let reply = post_json(
            &self.http,
            &self.chat_url,
            bytes,
            self.api_key.as_deref(),
            &req.request_id,
            self.timeout,
        )
        .await?;
        if !reply.is_success() {
            return Err(self.http_error(reply.status, reply.retry_after, &reply.text));
        }
        parse_response(&reply.text)
    }

    fn http_error(&self, status: u16, retry_after: Option<Duration>, body: &str) -> EngineError {
        let message = error_message(body);
        let (class, msg) = match status {
            401 | 403 => (
                FailureClass::Unauthorized,
                format!(
                    "vLLM at {} refused the API key ({status}): set --vllm-api-key (or VLLM_API_KEY) to the key the server was started with",
                    self.base
                ),
            ),
            404 if message.contains("does not exist") || message.contains("model") => (
                FailureClass::ModelNotFound,
                format!(
                    "vLLM at {} does not serve model '{}' ({}): pass --vllm-model with a name from GET {}/v1/models, or leave it out to use the served one",
                    self.base, self.model(), message, self.base
                ),
            ),
            404 => (
                FailureClass::BadRequest,
                format!(
                    "{} answered 404 for /v1/chat/completions: is --vllm-url the vLLM server's base URL? ({message})",
                    self.base
                ),
            ),
            400 if message.contains("maximum context length")
                || message.contains("context length")
                || message.contains("than max_model_len") =>
            {
                (FailureClass::ContextLength, message)
            }
            408 => (FailureClass::Timeout, format!("408 {message}")),
            // A gateway's (or vLLM's queue limit's) way of saying "busy": back pressure.
            429 | 503 => (FailureClass::RateLimited, format!("{status} {message}")),
            500..=599 => (FailureClass::Server, format!("{status} {message}")),
            _ => (FailureClass::BadRequest, format!("{status} {message}")),
        };
        let mut e = EngineError::new(class, msg);
        e.retry_after = retry_after;
        e
    }

    /// vLLM's queue from `GET /metrics`: (requests running, requests waiting), summed over
    /// label sets. None when the endpoint is missing or unreadable.
    pub async fn queue_metrics(&self) -> Option<(f64, f64)> {
        let rb = self
            .http
            .get(format!("{}/metrics", self.base))
            .timeout(Duration::from_secs(3));
        let resp = self.auth(rb).send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        parse_queue_metrics(&resp.text().await.ok()?)
    }

    /// Exact token count of `text` by the served model's tokenizer (`POST /tokenize`), when
    /// the server offers it.
    pub async fn count_tokens(&self, text: &str) -> Option<u32> {
        let body =
            serde_json::json!({"model": self.model(), "prompt": text, "add_special_tokens": false});
        let rb = self
            .http
            .post(format!("{}/tokenize", self.base))
            .timeout(Duration::from_secs(10))
            .json(&body);
        let resp = self.auth(rb).send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let v: serde_json::Value = resp.json().await.ok()?;
        v.get("count").and_then(|c| c.as_u64()).map(|c| c as u32)
    }

    /// `GET /health`: 200 when the engine is ready; then `/v1/models` names the model
    /// (when none was configured) and its context length.
    pub async fn ready(&self) -> Result<Option<u32>, EngineError> {
        let resp = self
            .http
            .get(format!("{}/health", self.base))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| classify_transport(&e))?;
        // 404: a gateway that does not pass /health on; /v1/models below decides.
        if !resp.status().is_success() && resp.status().as_u16() != 404 {
            return Err(EngineError::new(
                FailureClass::Server,
                format!("/health answered {}", resp.status().as_u16()),
            ));
        }
        let configured = self.model();
        let wanted = (!configured.is_empty()).then_some(configured.as_str());
        let p = Self::probe(&self.http, &self.base, wanted, self.api_key.as_deref()).await;
        match p.model.clone().filter(|_| p.model_available) {
            Some(m) => {
                if configured.is_empty() {
                    tracing::info!(model = %m, "vLLM serves model {m}");
                    if let Ok(mut slot) = self.model.write() {
                        *slot = m;
                    }
                }
                Ok(p.context_length)
            }
            None => Err(EngineError::new(
                FailureClass::Server,
                p.error
                    .unwrap_or_else(|| "/v1/models does not name the model yet".into()),
            )),
        }
    }

    /// Health, version and models; picks the model to use when none was configured.
    pub async fn probe(
        http: &reqwest::Client,
        base_url: &str,
        model: Option<&str>,
        api_key: Option<&str>,
    ) -> ProbeReport {
        let probe = Probe {
            http,
            base: normalize_base(base_url),
            api_key,
        };
        let mut report = ProbeReport {
            url: probe.base.clone(),
            ..Default::default()
        };
        if !probe.health(&mut report).await {
            return report;
        }
        report.version = probe.version().await;
        probe.models(model, &mut report).await;
        report
    }
}

/// The start-up probe's `GET`s to one vLLM endpoint (with its key, 5 s each).
struct Probe<'a> {
    http: &'a reqwest::Client,
    base: String,
    api_key: Option<&'a str>,
}

impl Probe<'_> {
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let rb = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(5));
        match self.api_key {
            Some(k) => rb.bearer_auth(k),
            None => rb,
        }
    }

    /// `GET /health`: whether anything answers (false: the report says why, and the
    /// probe stops there) and whether the engine is ready.
    async fn health(&self, report: &mut ProbeReport) -> bool {
        let base = &self.base;
        match self.get("/health").send().await {
            Ok(r) => {
                report.reachable = true;
                // A gateway may not pass /health on (KServe's /openai prefix serves only
                // /v1/...): then /v1/models alone says whether the model is served.
                report.ready = r.status().is_success() || r.status().as_u16() == 404;
                if !report.ready {
                    report.error = Some(format!(
                        "/health answered {} (engine loading or dead)",
                        r.status().as_u16()
                    ));
                }
                true
            }
            Err(e) => {
                let err = classify_transport(&e);
                report.error = Some(err.message.clone());
                report.untrusted_certificate = err.class == FailureClass::Tls;
                report.advice = Some(if report.untrusted_certificate {
                    super::TLS_ADVICE.to_string()
                } else if err.class == FailureClass::Connect {
                    format!("nothing answers at {base}: start vLLM there (it refuses connections for about a minute while it loads), or pass --vllm-url")
                } else {
                    format!("{base} did not answer /health in time: check that it is a vLLM server")
                });
                false
            }
        }
    }

    /// `GET /version`: the server's version, when it tells.
    async fn version(&self) -> Option<String> {
        let v = self
            .get("/version")
            .send()
            .await
            .ok()?
            .json::<serde_json::Value>()
            .await
            .ok()?;
        v.get("version")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }

    /// `GET /v1/models`: the models served, and whether `model` (or, when none is given,
    /// the first served) is among them, with its context length.
    async fn models(&self, model: Option<&str>, report: &mut ProbeReport) {
        match self.get("/v1/models").send().await {
            Ok(r) if r.status().as_u16() == 401 => {
                report.ready = false;
                report.error = Some("401 Unauthorized".into());
                report.advice = Some(
                    "set --vllm-api-key (or VLLM_API_KEY) to the key the server was started with"
                        .into(),
                );
            }
            Ok(r) if r.status().as_u16() == 404 => {
                report.ready = false;
                report.wrong_path = true;
                report.error = Some(format!("GET {}/v1/models: 404 Not Found", self.base));
                report.advice = Some(format!(
                    "{} answers 404 Not Found at /v1/models: --vllm-url takes the server's base URL (http://HOST:PORT, or a gateway's path prefix such as https://HOST/openai), not an endpoint's",
                    self.base
                ));
            }
            Ok(r) => match r.json::<Models>().await {
                Ok(models) => choose_model(&models, model, report),
                Err(e) => {
                    if report.ready {
                        report.error = Some(format!("/v1/models is not the OpenAI shape: {e}"));
                        report.advice = Some(format!(
                            "is {} a vLLM (OpenAI-compatible) server?",
                            self.base
                        ));
                    }
                }
            },
            Err(e) => report.error = Some(classify_transport(&e).message),
        }
    }
}

/// Records the served models and the one to use: `model` when given (available or not),
/// else the first served.
fn choose_model(models: &Models, model: Option<&str>, report: &mut ProbeReport) {
    report.models = models.data.iter().map(|m| m.id.clone()).collect();
    let chosen = match model {
        Some(m) => models.data.iter().find(|c| c.id == m),
        None => models.data.first(),
    };
    report.model = model
        .map(str::to_string)
        .or_else(|| chosen.map(|c| c.id.clone()));
    report.model_available = chosen.is_some();
    report.context_length = chosen.and_then(|c| c.max_model_len);
    if !report.model_available {
        report.advice = Some(match model {
            Some(m) => format!(
                "vLLM serves {:?}, not '{m}': pass --vllm-model with one of those, or leave it out",
                report.models
            ),
            None => "vLLM serves no model".into(),
        });
    }
}

/// The message of an error body in either shape (`{"error":{"message"}}`, `{"error":"..."}`,
/// `{"message"}`), or the body itself.
pub fn error_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        if let Some(m) = v.pointer("/error/message").and_then(|m| m.as_str()) {
            return m.to_string();
        }
        if let Some(m) = v.get("error").and_then(|m| m.as_str()) {
            return m.to_string();
        }
        if let Some(m) = v.get("message").and_then(|m| m.as_str()) {
            return m.to_string();
        }
    }
    if body.trim().is_empty() {
        "(empty body)".into()
    } else {
        snippet(body)
    }
}

/// Sums `vllm:num_requests_running` and `vllm:num_requests_waiting` in Prometheus text.
pub fn parse_queue_metrics(text: &str) -> Option<(f64, f64)> {
    let (mut running, mut waiting, mut seen) = (0.0, 0.0, false);
    for line in text.lines() {
        let value = || line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        if line.starts_with("vllm:num_requests_running") {
            running += value()?;
            seen = true;
        } else if line.starts_with("vllm:num_requests_waiting") {
            waiting += value()?;
            seen = true;
        }
    }
    seen.then_some((running, waiting))
}

pub fn parse_response(text: &str) -> Result<ChatAnswer, EngineError> {
    let resp: Response = serde_json::from_str(text).map_err(|e| {
        let mut err = EngineError::new(
            FailureClass::Malformed,
            format!("response is not the OpenAI chat shape: {e}"),
        );
        err.raw = Some(snippet(text));
        err
    })?;
    let choice = resp
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| EngineError::new(FailureClass::Malformed, "response has no choices"))?;
    let finish = match choice.finish_reason.as_deref() {
        Some("stop") | None => Finish::Stop,
        Some("length") => Finish::Length,
        Some(_) => Finish::Other,
    };
    let (content, reasoning) = match choice.message {
        Some(m) => (
            m.content.unwrap_or_default(),
            m.reasoning.is_some_and(|r| !r.is_empty())
                || m.reasoning_content.is_some_and(|r| !r.is_empty()),
        ),
        None => (String::new(), false),
    };
    let usage = resp.usage.unwrap_or_default();
    Ok(ChatAnswer {
        content,
        finish,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        cached_tokens: usage
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0),
        reasoning,
        input_truncated: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized() {
        assert_eq!(normalize_base("http://h:8001/v1/"), "http://h:8001");
        assert_eq!(normalize_base("localhost:8001"), "http://localhost:8001");
        // An endpoint pasted with the server's URL.
        for pasted in [
            "http://h:8001/v1/chat/completions",
            "http://h:8001/v1/completions/",
            "http://h:8001/v1/models",
        ] {
            assert_eq!(normalize_base(pasted), "http://h:8001", "{pasted}");
        }
        assert_eq!(
            normalize_base("https://gw.example/openai/v1/chat/completions"),
            "https://gw.example/openai"
        );
        // A gateway's path prefix stays; requests go to {base}/v1/...
        assert_eq!(
            normalize_base("https://gw.example/openai/v1"),
            "https://gw.example/openai"
        );
    }

    #[test]
    fn error_bodies_of_both_shapes() {
        assert_eq!(
            error_message(r#"{"error":{"message":"The model `x` does not exist.","code":404}}"#),
            "The model `x` does not exist."
        );
        assert_eq!(error_message(r#"{"error":"Unauthorized"}"#), "Unauthorized");
        assert_eq!(error_message(""), "(empty body)");
    }

    #[test]
    fn queue_metrics_are_summed_over_labels() {
        let text = "# HELP x\nvllm:num_requests_running{engine=\"0\",model_name=\"m\"} 32.0\nvllm:num_requests_waiting{engine=\"0\"} 8.0\nvllm:num_requests_waiting{engine=\"1\"} 2.0\n";
        assert_eq!(parse_queue_metrics(text), Some((32.0, 10.0)));
        assert_eq!(parse_queue_metrics("other 1\n"), None);
    }

    #[test]
    fn reasoning_only_answer_is_seen() {
        let a = parse_response(r#"{"choices":[{"message":{"content":null,"reasoning":"hmm"},"finish_reason":"length"}]}"#).unwrap();
        assert!(a.reasoning && a.content.is_empty() && a.finish == Finish::Length);
    }

    #[test]
    fn the_model_is_the_configured_one_or_the_first_served() {
        let models: Models = serde_json::from_str(
            r#"{"data":[{"id":"a","max_model_len":4096},{"id":"b","max_model_len":8192}]}"#,
        )
        .unwrap();
        let mut first = ProbeReport::default();
        choose_model(&models, None, &mut first);
        assert_eq!(first.model.as_deref(), Some("a"));
        assert_eq!(first.context_length, Some(4096));
        assert!(first.model_available && first.advice.is_none());
        let mut named = ProbeReport::default();
        choose_model(&models, Some("b"), &mut named);
        assert_eq!(named.context_length, Some(8192));
        let mut missing = ProbeReport::default();
        choose_model(&models, Some("c"), &mut missing);
        assert_eq!(missing.model.as_deref(), Some("c"));
        assert!(!missing.model_available);
        assert!(missing.advice.unwrap().contains("not 'c'"));
        let mut none = ProbeReport::default();
        choose_model(&Models { data: Vec::new() }, None, &mut none);
        assert_eq!(none.advice.as_deref(), Some("vLLM serves no model"));
    }
}
