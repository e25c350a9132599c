//! Engines: one interface (`EngineClient::chat`, `probe`) over vLLM's OpenAI-compatible API
//! and Ollama's native API, plus the failure classifier that the router's retry policy
//! reads. Clients do exactly one HTTP exchange per call; retries, fallback and concurrency
//! caps live in `router`.

pub mod ollama;
pub mod openai;
pub mod router;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;

/// Which engine; the order is the preference order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Vllm,
    Ollama,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Vllm => "vllm",
            EngineKind::Ollama => "ollama",
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One extraction request, engine-neutral. The system prompt and the schema are shared by
/// every request (pre-serialized once: no per-request copy of the big fixed part).
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub system: Arc<str>,
    /// `system` as a JSON string literal, escaped once for all requests.
    pub system_json: Arc<RawValue>,
    pub user: String,
    pub schema: Arc<RawValue>,
    pub max_tokens: u32,
    /// The most `max_tokens` may grow to when answers come back cut off.
    pub max_tokens_ceiling: u32,
    pub seed: u64,
    /// Gleaning: the answer so far and the question that asks for what it missed, sent as
    /// two more turns after the user message.
    pub followup: Option<Arc<FollowUp>>,
}

/// A second round on the same chunk: the model's answer (as the assistant's turn) and the
/// user's request for what it missed.
#[derive(Debug)]
pub struct FollowUp {
    pub answer: String,
    pub ask: String,
}

/// One chat message on the wire; `C` is `str`, or `RawValue` for pre-escaped text.
#[derive(Serialize)]
pub struct WireMessage<'a, C: ?Sized> {
    role: &'static str,
    content: &'a C,
}

/// The messages of a request: the shared system prompt (pre-escaped) and the chunk's, then
/// (gleaning) the answer so far and the request for what it missed.
pub struct WireMessages<'a> {
    system: WireMessage<'a, RawValue>,
    user: WireMessage<'a, str>,
    followup: Option<&'a FollowUp>,
}

impl Serialize for WireMessages<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = ser.serialize_seq(Some(if self.followup.is_some() { 4 } else { 2 }))?;
        seq.serialize_element(&self.system)?;
        seq.serialize_element(&self.user)?;
        if let Some(f) = self.followup {
            seq.serialize_element(&WireMessage {
                role: "assistant",
                content: f.answer.as_str(),
            })?;
            seq.serialize_element(&WireMessage {
                role: "user",
                content: f.ask.as_str(),
            })?;
        }
        seq.end()
    }
}

impl ChatRequest {
    /// Serializes a request body into one allocation sized for it (the fixed parts are
    /// most of it; growing a small buffer step by step copied them several times).
    pub fn encode(&self, body: &impl Serialize) -> Result<Vec<u8>, EngineError> {
        let size = self.system_json.get().len()
            + self.schema.get().len()
            + self.prompt_chars().saturating_sub(self.system.len()) * 11 / 10
            + 512;
        let mut out = Vec::with_capacity(size);
        serde_json::to_writer(&mut out, body)
            .map_err(|e| EngineError::new(FailureClass::BadRequest, e.to_string()))?;
        Ok(out)
    }

    /// Characters of prompt text sent (system, user and the follow-up turns).
    pub fn prompt_chars(&self) -> usize {
        self.system.len()
            + self.user.len()
            + self
                .followup
                .as_ref()
                .map_or(0, |f| f.answer.len() + f.ask.len())
    }

    pub fn wire_messages(&self) -> WireMessages<'_> {
        WireMessages {
            system: WireMessage {
                role: "system",
                content: &self.system_json,
            },
            user: WireMessage {
                role: "user",
                content: &self.user,
            },
            followup: self.followup.as_deref(),
        }
    }
}

/// Why the engine stopped generating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Stop,
    /// Hit the output budget: the JSON is cut off.
    Length,
    Other,
}

/// A successful HTTP exchange (the content may still be unusable).
#[derive(Debug, Clone)]
pub struct ChatAnswer {
    pub content: String,
    pub finish: Finish,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The model produced reasoning text (thinking models).
    pub reasoning: bool,
    /// Ollama: the prompt filled the context, so its input was silently cut.
    pub input_truncated: bool,
}

/// Failure classes, as counted in the report and read by the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    Connect,
    Timeout,
    Reset,
    Server,
    RateLimited,
    ContextLength,
    Unauthorized,
    ModelNotFound,
    BadRequest,
    Malformed,
    Truncated,
    EmptyContent,
    Invalid,
    /// The chunk spent its cap of answers or generated tokens (`--max-requests-per-chunk`,
    /// `--max-tokens-per-chunk`).
    ChunkCap,
}

impl FailureClass {
    pub fn name(self) -> &'static str {
        match self {
            FailureClass::Connect => "connect",
            FailureClass::Timeout => "timeout",
            FailureClass::Reset => "reset",
            FailureClass::Server => "server_error",
            FailureClass::RateLimited => "rate_limited",
            FailureClass::ContextLength => "context_length",
            FailureClass::Unauthorized => "unauthorized",
            FailureClass::ModelNotFound => "model_not_found",
            FailureClass::BadRequest => "bad_request",
            FailureClass::Malformed => "malformed",
            FailureClass::Truncated => "truncated",
            FailureClass::EmptyContent => "empty_content",
            FailureClass::Invalid => "invalid",
            FailureClass::ChunkCap => "chunk_cap",
        }
    }
}

/// A failed exchange with an engine.
#[derive(Debug, Clone)]
pub struct EngineError {
    pub class: FailureClass,
    pub message: String,
    /// Server's Retry-After, when it sent one.
    pub retry_after: Option<Duration>,
    /// The raw answer, when there was one (kept for failed chunks).
    pub raw: Option<String>,
}

impl EngineError {
    pub fn new(class: FailureClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
            retry_after: None,
            raw: None,
        }
    }
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class.name(), self.message)
    }
}

/// What a probe learned about an engine.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeReport {
    pub url: String,
    pub reachable: bool,
    pub ready: bool,
    pub version: Option<String>,
    pub models: Vec<String>,
    /// Context length of the configured model, when the server tells.
    pub context_length: Option<u32>,
    /// The model that will be requested (configured, or detected).
    pub model: Option<String>,
    pub model_available: bool,
    pub error: Option<String>,
    /// What to do when the engine is not usable.
    pub advice: Option<String>,
}

/// The two engines behind one interface.
#[derive(Debug, Clone)]
pub enum EngineClient {
    OpenAi(openai::OpenAiClient),
    Ollama(ollama::OllamaClient),
}

impl EngineClient {
    pub fn kind(&self) -> EngineKind {
        match self {
            EngineClient::OpenAi(_) => EngineKind::Vllm,
            EngineClient::Ollama(_) => EngineKind::Ollama,
        }
    }

    pub fn url(&self) -> &str {
        match self {
            EngineClient::OpenAi(c) => c.base_url(),
            EngineClient::Ollama(c) => c.base_url(),
        }
    }

    pub fn model(&self) -> String {
        match self {
            EngineClient::OpenAi(c) => c.model(),
            EngineClient::Ollama(c) => c.model().to_string(),
        }
    }

    pub async fn chat(&self, req: &ChatRequest) -> Result<ChatAnswer, EngineError> {
        match self {
            EngineClient::OpenAi(c) => c.chat(req).await,
            EngineClient::Ollama(c) => c.chat(req).await,
        }
    }

    /// Cheap readiness check used while an engine is down; returns the context length
    /// when the engine tells it.
    pub async fn ready(&self) -> Result<Option<u32>, EngineError> {
        match self {
            EngineClient::OpenAi(c) => c.ready().await,
            EngineClient::Ollama(c) => c.ready().await.map(|()| None),
        }
    }
}

/// Shared HTTP client settings. The idle timeout stays under vLLM's 5 s keep-alive so a
/// pooled connection is not reused just as the server closes it.
pub fn http_client(pool: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(4))
        .pool_max_idle_per_host(pool.max(1))
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .no_proxy()
        .build()
        .expect("a plain HTTP client builds without TLS or system configuration")
}

/// Classifies a transport-level reqwest error.
pub fn classify_transport(err: &reqwest::Error) -> EngineError {
    let class = if err.is_timeout() {
        FailureClass::Timeout
    } else if err.is_connect() {
        FailureClass::Connect
    } else {
        // Body cut, connection reset or closed mid-exchange, decode errors.
        FailureClass::Reset
    };
    // The innermost cause says what happened ("Connection refused (os error 111)");
    // reqwest's outer layers only repeat the URL.
    let mut innermost = err.to_string();
    let mut src = std::error::Error::source(err);
    while let Some(s) = src {
        innermost = s.to_string();
        src = s.source();
    }
    let msg = match class {
        FailureClass::Timeout => "no answer within --request-timeout".to_string(),
        _ => innermost,
    };
    EngineError::new(class, msg)
}

/// An HTTP reply read whole: status, body text, and the Retry-After delay of an error.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub text: String,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Parses a Retry-After value given in seconds (the form servers here send), at most 600.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(600.0)))
}

/// Trims a server's body for a message.
pub fn snippet(body: &str) -> String {
    let t = body.trim();
    match t.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &t[..i]),
        None => t.to_string(),
    }
}
