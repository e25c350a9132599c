//! Engines: one interface (`EngineClient::chat`, `probe`) over vLLM's OpenAI-compatible API
//! and Ollama's native API, plus the failure classifier that the router's retry policy
//! reads. Clients do exactly one HTTP exchange per call; retries, fallback and concurrency
//! caps live in `router`. Every exchange goes through reqwest (rustls for https, the
//! environment's proxies, `--ca-cert` on top of the system's roots).

pub mod client;
pub mod ollama;
pub mod openai;
pub mod router;
pub mod setup;

/// Seeds must fit a signed 64-bit integer (vLLM rejects larger ones with a 400).
pub const SEED_MASK: u64 = i64::MAX as u64;

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
    /// Sent as `X-Request-Id` (the chunk's checkpoint key), so gateway and server logs can
    /// be joined with the checkpoint.
    pub request_id: String,
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
    /// Prompt tokens the server took from its prefix cache, where it says (vLLM's
    /// `usage.prompt_tokens_details.cached_tokens`); 0 otherwise.
    pub cached_tokens: u64,
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
    /// The server's certificate is not trusted (`--ca-cert`).
    Tls,
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
            FailureClass::Tls => "tls",
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
    /// The server's TLS certificate is not trusted: a configuration error, not an outage.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub untrusted_certificate: bool,
    /// The server answers, but not at the API's paths (404): the URL is wrong, not down.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub wrong_path: bool,
}

/// What to do about a server certificate that is not trusted.
pub const TLS_ADVICE: &str = "pass --ca-cert FILE (PEM) with the CA that signed the server's certificate, or set SSL_CERT_FILE to a bundle that holds it";

/// What every engine client shares: CA certificates trusted on top of the system's roots
/// (`--ca-cert`).
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    pub ca_certs: Vec<reqwest::Certificate>,
    /// Where they came from, for messages.
    pub ca_cert_file: Option<String>,
}

impl HttpSettings {
    /// Reads a PEM bundle of CA certificates.
    pub fn with_ca_file(path: &std::path::Path) -> Result<Self, String> {
        let shown = path.display().to_string();
        let pem = std::fs::read(path).map_err(|e| format!("--ca-cert {shown}: {e}"))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("--ca-cert {shown} is not a PEM certificate file: {e}"))?;
        if certs.is_empty() {
            return Err(format!(
                "--ca-cert {shown} holds no certificate: give the PEM file (-----BEGIN CERTIFICATE-----) of the CA that signed the server's certificate"
            ));
        }
        Ok(Self {
            ca_certs: certs,
            ca_cert_file: Some(shown),
        })
    }
}

/// Never sent through a proxy, whatever NO_PROXY says: local engines and tests.
const ALWAYS_DIRECT: &str = "localhost,127.0.0.0/8,::1";

/// The proxies of the environment by their usual (curl's) rules: `HTTPS_PROXY` for https,
/// `HTTP_PROXY` for http (ignored under CGI, as curl does), `ALL_PROXY` for both, upper or
/// lower case; `NO_PROXY` lists hosts, domains (with their subdomains), IPs and networks
/// reached directly, or `*` for all. Loopback is always reached directly.
fn env_proxies() -> Result<Vec<reqwest::Proxy>, String> {
    let get = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
    };
    let mut direct = ALWAYS_DIRECT.to_string();
    if let Some(no) = get(["NO_PROXY", "no_proxy"]) {
        direct.push(',');
        direct.push_str(&no);
    }
    let mut proxies = Vec::new();
    let cgi = std::env::var_os("REQUEST_METHOD").is_some();
    let wanted = [
        ("HTTPS_PROXY", get(["HTTPS_PROXY", "https_proxy"])),
        (
            "HTTP_PROXY",
            get(["HTTP_PROXY", "http_proxy"]).filter(|_| !cgi),
        ),
        ("ALL_PROXY", get(["ALL_PROXY", "all_proxy"])),
    ];
    for (name, url) in wanted {
        let Some(url) = url else { continue };
        let proxy = match name {
            "HTTPS_PROXY" => reqwest::Proxy::https(url.trim()),
            "HTTP_PROXY" => reqwest::Proxy::http(url.trim()),
            _ => reqwest::Proxy::all(url.trim()),
        }
        .map_err(|e| format!("{name}={url:?} is not a proxy URL ({e}): fix or unset it"))?;
        proxies.push(proxy.no_proxy(reqwest::NoProxy::from_string(&direct)));
    }
    Ok(proxies)
}

/// An HTTP client for one engine (rustls, HTTP/1.1). The idle timeout stays under vLLM's
/// 5 s keep-alive so a pooled connection is not reused just as the server closes it; the
/// pool keeps a connection for every request the engine may have in flight.
pub fn http_client(pool: usize, settings: &HttpSettings) -> Result<reqwest::Client, String> {
    // ring: the provider compiled in (an error only says one is installed already).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(4))
        .pool_max_idle_per_host(pool.max(1))
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .no_proxy();
    for proxy in env_proxies()? {
        builder = builder.proxy(proxy);
    }
    if !settings.ca_certs.is_empty() {
        builder = builder.tls_certs_merge(settings.ca_certs.iter().cloned());
    }
    builder
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {}", innermost(&e)))
}

/// The next cause in an error's chain. An io::Error's `source()` skips the error it wraps
/// (TLS errors come wrapped, sometimes twice): that one comes first.
fn cause<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    if let Some(inner) = err
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        return Some(inner);
    }
    err.source()
}

/// The innermost cause of an error: it says what happened ("Connection refused (os error
/// 111)"); reqwest's outer layers only repeat the URL.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = err.to_string();
    let mut src = cause(err);
    while let Some(s) = src {
        msg = s.to_string();
        src = cause(s);
    }
    msg
}

/// A certificate the client does not trust, somewhere in the error's causes.
fn untrusted_certificate(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(s) = src {
        if let Some(
            e @ (rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented),
        ) = s.downcast_ref::<rustls::Error>()
        {
            return Some(e.to_string());
        }
        src = cause(s);
    }
    None
}

/// One `POST` with a JSON body: the whole reply, or the transport failure classified as the
/// router reads it. `request_id` goes out as `X-Request-Id`, so gateway and server logs can
/// be joined with the checkpoint.
pub async fn post_json(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    bearer: Option<&str>,
    request_id: &str,
    timeout: Duration,
) -> Result<Reply, EngineError> {
    use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
    let mut rb = http
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json")
        .timeout(timeout)
        .body(body);
    if let Some(key) = bearer {
        rb = rb.bearer_auth(key);
    }
    if !request_id.is_empty() {
        rb = rb.header("x-request-id", request_id);
    }
    let resp = rb.send().await.map_err(|e| classify_transport(&e))?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    // A body cut short (or never finished within the time-out) is classified too.
    let text = resp.text().await.map_err(|e| classify_transport(&e))?;
    Ok(Reply {
        status,
        retry_after,
        text,
    })
}

/// Said of a host name the resolver does not know; `brief_reason` reads it back.
pub const DNS_FAILED: &str = "DNS lookup failed";

/// The resolver's failure, when that is what the error is: the connector wraps it as
/// "dns error" (hyper-util), so the host name does not resolve (a typo, or a container's
/// name not registered yet), which is not a refused connection.
fn dns_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(s) = src {
        if s.to_string() == "dns error" {
            return Some(innermost(s));
        }
        src = cause(s);
    }
    None
}

/// Classifies a transport-level reqwest error.
pub fn classify_transport(err: &reqwest::Error) -> EngineError {
    if let Some(why) = dns_failure(err) {
        let host = err.url().and_then(|u| u.host_str()).unwrap_or("the host");
        return EngineError::new(
            FailureClass::Connect,
            format!("{DNS_FAILED}: the host name {host} does not resolve ({why})"),
        );
    }
    if let Some(why) = untrusted_certificate(err) {
        return EngineError::new(
            FailureClass::Tls,
            format!(
                "the server's TLS certificate is not trusted ({why}): pass --ca-cert FILE with the CA that signed it (or set SSL_CERT_FILE)"
            ),
        );
    }
    let class = if err.is_timeout() {
        FailureClass::Timeout
    } else if err.is_connect() {
        FailureClass::Connect
    } else {
        // Body cut, connection reset or closed mid-exchange, decode errors.
        FailureClass::Reset
    };
    let msg = match class {
        FailureClass::Timeout => "no answer within --request-timeout".to_string(),
        _ => innermost(err),
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
