//! Ollama through its native API: `POST /api/chat` with `stream: false` (it streams by
//! default), the answer schema in `format`, `think: false`, and fixed `num_ctx` (changing
//! it between requests reloads the model) and `num_predict` (unlimited by default).
//! Ollama silently cuts prompts longer than `num_ctx`; a `prompt_eval_count` at the
//! context's edge is treated as a too-long prompt.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::openai::error_message;
use super::{
    classify_transport, post_json, snippet, ChatAnswer, ChatRequest, EngineError, FailureClass,
    Finish, ProbeReport, Reply, WireMessages,
};

/// Endpoint paths a user may paste with Ollama's URL; requests append their own `/api/...`.
const ENDPOINT_SUFFIXES: [&str; 5] = [
    "/api/chat",
    "/api/generate",
    "/api/tags",
    "/api/version",
    "/api",
];

/// `OLLAMA_HOST` by Ollama's own rules (envconfig.Host): empty -> 127.0.0.1:11434; a bare
/// host gets port 11434; `:port` gets host 127.0.0.1; a scheme without a port means 80/443;
/// `0.0.0.0` (listen-anywhere) is dialled as loopback.
pub fn parse_ollama_host(raw: Option<&str>) -> String {
    let raw = raw
        .unwrap_or("")
        .trim()
        .trim_matches(|c| c == '"' || c == '\'');
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, r)) => (s.to_string(), r),
        None => ("http".to_string(), raw),
    };
    let default_port = match (raw.contains("://"), scheme.as_str()) {
        (true, "http") => "80",
        (true, "https") => "443",
        _ => "11434",
    };
    let (hostport, mut path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    // An endpoint pasted with the server's URL: the base is what comes before it.
    if let Some(s) = ENDPOINT_SUFFIXES.iter().find(|s| path.ends_with(*s)) {
        path = &path[..path.len() - s.len()];
    }
    let (mut host, port) = if let Some(stripped) = hostport.strip_prefix('[') {
        match stripped.split_once(']') {
            Some((h, p)) => (
                format!("[{h}]"),
                p.strip_prefix(':').unwrap_or("").to_string(),
            ),
            None => (hostport.to_string(), String::new()),
        }
    } else if hostport.matches(':').count() > 1 {
        (format!("[{hostport}]"), String::new())
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h.to_string(), p.to_string()),
            None => (hostport.to_string(), String::new()),
        }
    };
    if host.is_empty() || host == "0.0.0.0" {
        host = "127.0.0.1".into();
    } else if host == "[::]" {
        host = "[::1]".into();
    }
    let port = if port.is_empty() {
        default_port.to_string()
    } else {
        port
    };
    format!("{scheme}://{host}:{port}{path}")
}

#[derive(Debug, Clone)]
pub struct OllamaClient {
    http: reqwest::Client,
    base: String,
    /// `{base}/api/chat`, built once.
    chat_url: String,
    model: String,
    num_ctx: u32,
    timeout: Duration,
}

#[derive(Serialize)]
struct Options {
    num_ctx: u32,
    num_predict: u32,
    temperature: f32,
    seed: u64,
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: WireMessages<'a>,
    stream: bool,
    format: &'a RawValue,
    think: bool,
    keep_alive: &'static str,
    options: Options,
}

#[derive(Deserialize)]
struct Response {
    message: Option<AnswerMessage>,
    done_reason: Option<String>,
    prompt_eval_count: Option<u64>,
    eval_count: Option<u64>,
}

#[derive(Deserialize)]
struct AnswerMessage {
    #[serde(default)]
    content: String,
    #[serde(default)]
    thinking: Option<String>,
}

#[derive(Deserialize)]
struct Tags {
    #[serde(default)]
    models: Vec<Tag>,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
}

/// `x` means `x:latest`.
pub fn same_model(configured: &str, served: &str) -> bool {
    let full = |m: &str| {
        if m.contains(':') {
            m.to_string()
        } else {
            format!("{m}:latest")
        }
    };
    full(configured) == full(served)
}

impl OllamaClient {
    pub fn new(
        http: reqwest::Client,
        base: &str,
        model: String,
        num_ctx: u32,
        timeout: Duration,
    ) -> Result<Self, String> {
        let base = base.trim_end_matches('/').to_string();
        reqwest::Url::parse(&base).map_err(|e| format!("{base}: {e}"))?;
        Ok(Self {
            chat_url: format!("{base}/api/chat"),
            http,
            base,
            model,
            num_ctx,
            timeout,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn num_ctx(&self) -> u32 {
        self.num_ctx
    }

    pub async fn chat(&self, req: &ChatRequest) -> Result<ChatAnswer, EngineError> {
        let body = Body {
            model: &self.model,
            messages: req.wire_messages(),
            stream: false,
            format: &req.schema,
            think: false,
            keep_alive: "30m",
            options: Options {
                num_ctx: self.num_ctx,
                num_predict: req.max_tokens,
                temperature: 0.0,
                seed: req.seed & crate::engine::SEED_MASK,
            },
        };
        let bytes = req.encode(&body)?;
        let reply = post_json(
            &self.http,
            &self.chat_url,
            bytes,
            None,
            &req.request_id,
            self.timeout,
        )
        .await?;
        let Reply {
            status,
            retry_after,
            ref text,
        } = reply;
        if !reply.is_success() {
            return Err(self.http_error(status, retry_after, text));
        }
        let resp: Response = serde_json::from_str(text).map_err(|e| {
            let mut err = EngineError::new(
                FailureClass::Malformed,
                format!("response is not Ollama's chat shape (streamed?): {e}"),
            );
            err.raw = Some(snippet(text));
            err
        })?;
        let prompt_tokens = resp.prompt_eval_count.unwrap_or(0);
        let (content, reasoning) = match resp.message {
            Some(m) => (m.content, m.thinking.is_some_and(|t| !t.is_empty())),
            None => (String::new(), false),
        };
        Ok(ChatAnswer {
            content,
            finish: match resp.done_reason.as_deref() {
                Some("length") => Finish::Length,
                Some("stop") | None => Finish::Stop,
                Some(_) => Finish::Other,
            },
            prompt_tokens,
            completion_tokens: resp.eval_count.unwrap_or(0),
            cached_tokens: 0,
            reasoning,
            // Ollama keeps a few tokens of headroom when it cuts; 98% of the context is
            // "at the edge" for any real prompt.
            input_truncated: prompt_tokens > 0
                && prompt_tokens * 50 >= u64::from(self.num_ctx) * 49,
        })
    }

    /// An error reply, classified as the router reads it.
    fn http_error(&self, status: u16, retry_after: Option<Duration>, text: &str) -> EngineError {
        let message = error_message(text);
        let (class, msg) = match status {
            404 if message.contains("not found") => (
                FailureClass::ModelNotFound,
                format!(
                    "Ollama at {} has no model '{}' ({message}): run `ollama pull {}` or pass --ollama-model",
                    self.base, self.model, self.model
                ),
            ),
            401 | 403 => (FailureClass::Unauthorized, format!("Ollama at {} refused the request ({status} {message})", self.base)),
            400 if message.contains("context") => (FailureClass::ContextLength, message),
            408 => (FailureClass::Timeout, message),
            429 | 503 => (FailureClass::RateLimited, format!("{status} {message}")),
            500..=599 => (FailureClass::Server, format!("{status} {message}")),
            _ => (FailureClass::BadRequest, format!("{status} {message}")),
        };
        let mut e = EngineError::new(class, msg);
        e.retry_after = retry_after;
        e
    }

    /// `GET /api/version`: the server is up.
    pub async fn ready(&self) -> Result<(), EngineError> {
        let resp = self
            .http
            .get(format!("{}/api/version", self.base))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| classify_transport(&e))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(EngineError::new(
                FailureClass::Server,
                format!("/api/version answered {}", resp.status().as_u16()),
            ))
        }
    }

    pub async fn probe(http: &reqwest::Client, base: &str, model: &str) -> ProbeReport {
        let base = base.trim_end_matches('/').to_string();
        let mut report = ProbeReport {
            url: base.clone(),
            model: Some(model.to_string()),
            ..Default::default()
        };
        let get = |path: &str| {
            http.get(format!("{base}{path}"))
                .timeout(Duration::from_secs(5))
        };
        match get("/api/version").send().await {
            Ok(r) => {
                report.reachable = true;
                if let Ok(v) = r.json::<serde_json::Value>().await {
                    report.version = v
                        .get("version")
                        .and_then(|v| v.as_str())
                        .map(str::to_string);
                }
            }
            Err(e) => {
                let err = classify_transport(&e);
                report.untrusted_certificate = err.class == FailureClass::Tls;
                report.advice = Some(if report.untrusted_certificate {
                    super::TLS_ADVICE.to_string()
                } else {
                    format!("nothing answers at {base}: start Ollama (`ollama serve`), or set --ollama-url / OLLAMA_HOST")
                });
                report.error = Some(err.message);
                return report;
            }
        }
        match get("/api/tags").send().await {
            Ok(r) if r.status().as_u16() == 404 => {
                report.wrong_path = true;
                report.error = Some(format!("GET {base}/api/tags: 404 Not Found"));
                report.advice = Some(format!("{base} answers 404 Not Found at /api/tags: --ollama-url (or OLLAMA_HOST) takes Ollama's base URL (http://HOST:11434), not an endpoint's"));
            }
            Ok(r) => match r.json::<Tags>().await {
                Ok(tags) => {
                    report.models = tags.models.into_iter().map(|t| t.name).collect();
                    report.model_available = report.models.iter().any(|m| same_model(model, m));
                    report.ready = report.model_available;
                    if !report.model_available {
                        report.advice = Some(format!("Ollama has not pulled '{model}': run `ollama pull {model}`, or pass --ollama-model with one of {:?}", report.models));
                    }
                }
                Err(e) => report.error = Some(format!("/api/tags is not Ollama's shape: {e}")),
            },
            Err(e) => report.error = Some(classify_transport(&e).message),
        }
        if let Ok(r) = get("/api/ps").send().await {
            if let Ok(v) = r.json::<serde_json::Value>().await {
                report.context_length = v["models"]
                    .as_array()
                    .and_then(|ms| {
                        ms.iter()
                            .find(|m| m["name"].as_str().is_some_and(|n| same_model(model, n)))
                    })
                    .and_then(|m| m["context_length"].as_u64())
                    .map(|c| c as u32);
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_host_rules() {
        let cases = [
            (None, "http://127.0.0.1:11434"),
            (Some(""), "http://127.0.0.1:11434"),
            (Some("1.2.3.4"), "http://1.2.3.4:11434"),
            (Some(":1234"), "http://127.0.0.1:1234"),
            (Some("example.com:5678"), "http://example.com:5678"),
            (Some("[::1]"), "http://[::1]:11434"),
            (Some("[::1]:99"), "http://[::1]:99"),
            (Some("http://box"), "http://box:80"),
            (Some("https://box"), "https://box:443"),
            (Some("0.0.0.0"), "http://127.0.0.1:11434"),
            (Some("0.0.0.0:4444"), "http://127.0.0.1:4444"),
            (Some("http://box:8080/"), "http://box:8080"),
            // Pasted endpoints; a gateway's path prefix stays.
            (Some("http://box:8080/api/chat"), "http://box:8080"),
            (Some("localhost:11434/api/"), "http://localhost:11434"),
            (
                Some("https://gw/ollama/api/generate"),
                "https://gw:443/ollama",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_ollama_host(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn bare_names_mean_latest() {
        assert!(same_model("nemotron-3-nano", "nemotron-3-nano:latest"));
        assert!(same_model("m:7b", "m:7b"));
        assert!(!same_model("m:7b", "m:latest"));
    }
}
