//! Configuration types: which API to serve, latency, cold start and fault rules.
//!
//! Everything here is `serde` (de)serializable so the binary can read it from a
//! JSON file (`--config`) and the control endpoint `POST /_fake/faults` can take
//! [`FaultRule`]s as JSON.

use serde::{Deserialize, Serialize};

/// Which wire protocol(s) the fake serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
pub enum Api {
    /// vLLM's OpenAI-compatible server (`/v1/chat/completions`, `/v1/models`,
    /// `/health`, `/version`, `/metrics`, `/tokenize`).
    #[serde(rename = "openai", alias = "open_ai", alias = "vllm")]
    #[value(name = "openai", alias = "vllm")]
    #[default]
    OpenAi,
    /// Ollama's native API (`/api/chat`, `/api/tags`, `/api/version`, `/api/ps`, `/`).
    #[serde(rename = "ollama")]
    #[value(name = "ollama")]
    Ollama,
    /// Both route sets on the same port.
    #[serde(rename = "both")]
    #[value(name = "both")]
    Both,
}

impl Api {
    /// Does this setting serve the OpenAI-compatible routes?
    pub fn serves_openai(self) -> bool {
        matches!(self, Api::OpenAi | Api::Both)
    }
    /// Does this setting serve the Ollama routes?
    pub fn serves_ollama(self) -> bool {
        matches!(self, Api::Ollama | Api::Both)
    }
}

/// Simulated generation time. A chat request sleeps
/// `fixed_ms + completion_tokens * per_output_token_ms` milliseconds while holding a slot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Latency {
    /// Fixed part of every chat request, in milliseconds.
    pub fixed_ms: u64,
    /// Per output (completion) token, in milliseconds (fractions allowed).
    pub per_output_token_ms: f64,
}

/// Cold start: first no listener at all (connection refused) for `refuse_secs`,
/// then every endpoint answers 503 "loading model" for `loading_secs`, then ready.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ColdStart {
    /// Seconds during which connections are refused (port reserved, not listening).
    pub refuse_secs: f64,
    /// Seconds during which every endpoint answers 503 "loading model".
    pub loading_secs: f64,
}

/// A fault injected into chat requests (`POST /v1/chat/completions`, `POST /api/chat`).
///
/// JSON form (snake_case, externally tagged): `"status500"`, `"reset"`,
/// `{"rate_limited":{"retry_after_secs":2}}`, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// HTTP 500. OpenAI routes: empty body (like vLLM 0.10-0.12).
    /// Ollama: `{"error":"llama runner process has terminated: exit status 2"}`.
    #[serde(alias = "status_500")]
    Status500,
    /// HTTP 503. OpenAI: `{"error":{"message":"Service Unavailable","type":"ServiceUnavailable",..}}`.
    /// Ollama: `{"error":"server busy, please try again.  maximum pending requests exceeded"}`.
    #[serde(alias = "status_503")]
    Status503,
    /// HTTP 429 with a `Retry-After: <retry_after_secs>` header.
    RateLimited {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// Read the request, then close the TCP connection with an RST, no response.
    Reset,
    /// Read the request, never answer; the connection stays open until the client gives up.
    Hang,
    /// HTTP 200 with `Content-Type: application/json` and a body that is not JSON.
    Garbage,
    /// HTTP 200, `Content-Length` of the full JSON body, but only the first half of
    /// the body is written before the connection is dropped.
    TornBody,
    /// HTTP 200, valid envelope, content is the answer JSON cut in the middle,
    /// `finish_reason: "length"` (Ollama: `done_reason: "length"`).
    Truncated,
    /// HTTP 400 with vLLM's "maximum context length" message (forced even if the
    /// prompt fits). On Ollama routes: 400 `{"error":"the input length exceeds the context length"}`.
    ContextLength,
    /// HTTP 200, `content: null` (Ollama: `""`), reasoning text in `message.reasoning` and
    /// `message.reasoning_content` (Ollama: `message.thinking`), `finish_reason: "length"`.
    ReasoningOnly,
    /// HTTP 200, content is repairable JSON-ish: alternately (1st, 3rd, .. hit of the rule)
    /// the compact answer with a trailing comma before the final `}`, and (2nd, 4th, ..)
    /// the answer inside a ```` ```json ```` fence preceded by a prose line.
    MalformedJson,
    /// HTTP 200, content is valid JSON but entities at odd indices (1, 3, ..) get type
    /// `"NOT_IN_SCHEMA"` and one extra relation `Phantom -> Nowhere` points at unknown entities.
    WrongSchema,
}

impl Fault {
    /// snake_case name, as used in JSON and in [`crate::Stats::faults_injected`].
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Status500 => "status500",
            Fault::Status503 => "status503",
            Fault::RateLimited { .. } => "rate_limited",
            Fault::Reset => "reset",
            Fault::Hang => "hang",
            Fault::Garbage => "garbage",
            Fault::TornBody => "torn_body",
            Fault::Truncated => "truncated",
            Fault::ContextLength => "context_length",
            Fault::ReasoningOnly => "reasoning_only",
            Fault::MalformedJson => "malformed_json",
            Fault::WrongSchema => "wrong_schema",
        }
    }
}

/// When a [`FaultRule`] fires. Counting is per rule, over the chat requests the rule
/// is evaluated against (see [`FaultRule`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Every request.
    Always,
    /// The first `n` requests the rule sees.
    FirstN(u64),
    /// The n-th, 2n-th, 3n-th ... request the rule sees (`n == 0`: never).
    EveryNth(u64),
    /// Deterministic pseudo-random: request number k (1-based, per rule) is hit when
    /// `splitmix64(seed ^ k)` mapped to `[0,1)` is `< p`.
    Rate {
        /// Probability in `[0, 1]`.
        p: f64,
        /// Seed of the deterministic sequence.
        seed: u64,
    },
    /// The chunk text (see [`crate::extract_chunk_text`]) contains this string.
    TextContains(String),
}

/// One fault rule. Rules are evaluated in order for every chat request; the first rule
/// that fires wins and the rules after it do not see (do not count) that request.
/// A rule whose `api` filter excludes the request, or whose `max_hits` is used up, does
/// not count it either.
///
/// JSON: `{"fault":"reset","when":{"first_n":2},"max_hits":null,"api":null}`
/// (`max_hits` and `api` optional; `when` defaults to `"always"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// What to do.
    pub fault: Fault,
    /// When to do it.
    #[serde(default = "when_always")]
    pub when: When,
    /// Stop firing after this many hits.
    #[serde(default)]
    pub max_hits: Option<u64>,
    /// Only apply to this API's chat endpoint (`None` or `Both`: both).
    #[serde(default)]
    pub api: Option<Api>,
}

fn when_always() -> When {
    When::Always
}

impl FaultRule {
    /// A rule without `max_hits` that applies to both chat endpoints.
    pub fn new(fault: Fault, when: When) -> Self {
        FaultRule {
            fault,
            when,
            max_hits: None,
            api: None,
        }
    }
    /// `fault` on every request.
    pub fn always(fault: Fault) -> Self {
        Self::new(fault, When::Always)
    }
    /// `fault` on the first `n` requests.
    pub fn first_n(fault: Fault, n: u64) -> Self {
        Self::new(fault, When::FirstN(n))
    }
    /// `fault` on every n-th request.
    pub fn every_nth(fault: Fault, n: u64) -> Self {
        Self::new(fault, When::EveryNth(n))
    }
    /// `fault` with deterministic probability `p`.
    pub fn rate(fault: Fault, p: f64, seed: u64) -> Self {
        Self::new(fault, When::Rate { p, seed })
    }
    /// `fault` when the chunk text contains `marker`.
    pub fn text_contains(fault: Fault, marker: impl Into<String>) -> Self {
        Self::new(fault, When::TextContains(marker.into()))
    }
    /// Limit the total number of hits.
    pub fn max_hits(mut self, n: u64) -> Self {
        self.max_hits = Some(n);
        self
    }
    /// Only apply on this API's chat endpoint.
    pub fn only_api(mut self, api: Api) -> Self {
        self.api = Some(api);
        self
    }
}

/// Mistakes a small model makes, at set rates (deterministic: a hash of `seed` and the
/// item decides). Within what the request's schema allows, as a grammar-constrained decoder
/// would: when the relation endpoints are enums, a dangling endpoint becomes another name
/// of the enum, and a self-loop happens only when the enum allows it. `ignore_schema`: an
/// engine that ignores the schema's endpoint enums and signature branches (it relates the
/// text's names, types from every branch, and invents names for dangling endpoints).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Mistakes {
    /// Share of relations whose target names no entity of the answer (`"{target}s"`).
    pub dangling: f64,
    /// Share of relations whose target is their source.
    pub self_loop: f64,
    /// Share of entities typed wrongly: half of them listed under another type and then
    /// twice under their own (a conflict within the answer), half only under another type
    /// (a conflict across chunks).
    pub type_conflict: f64,
    /// Ignore the endpoint enums and signature branches of a relations schema.
    pub ignore_schema: bool,
    /// Seed of the rates' hashes.
    pub seed: u64,
}

/// Full configuration of a fake engine. `Default` gives: OpenAI API, model `fake-model`,
/// max_model_len 8192, no API key, 64 slots, no latency, no cold start, no faults,
/// port 0 (ephemeral), Ollama default num_ctx 2048.
///
/// Deserializes from JSON with every field optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FakeConfig {
    /// Protocol(s) served.
    pub api: Api,
    /// Served model name (Ollama serves it as `name:latest` if it has no tag).
    pub model: String,
    /// vLLM's `max_model_len` (context window), used for the context-length check.
    pub max_model_len: u32,
    /// When set, `/v1/*` routes need `Authorization: Bearer <key>` (401 otherwise).
    pub api_key: Option<String>,
    /// Chat requests processed at once; the rest wait in an unbounded FIFO queue.
    pub slots: usize,
    /// Simulated generation time.
    pub latency: Latency,
    /// Cold start sequence at `start`.
    pub cold_start: Option<ColdStart>,
    /// Fault rules for chat requests.
    pub faults: Vec<FaultRule>,
    /// Port on 127.0.0.1 (0 = ephemeral).
    pub port: u16,
    /// Ollama's context size when the request sets no `options.num_ctx`.
    pub ollama_num_ctx: u32,
    /// Ollama only: answer 503 "server busy" when more than this many chat requests
    /// are queued (waiting for a slot). `None`: unbounded.
    pub ollama_max_queue: Option<usize>,
    /// Go down (as [`crate::FakeHandle::go_down`]) when the N-th chat request arrives
    /// (that request is never answered), and come back up after `down_for_secs`. Once.
    pub down_after_requests: Option<u64>,
    /// See `down_after_requests`.
    pub down_for_secs: f64,
    /// A model that fills the schema: every array to its `maxItems`, every string to its
    /// `maxLength` (names and descriptions made of the chunk's own words), whatever the
    /// text holds; as small random or over-eager models answer under a grammar.
    pub fills_schema: bool,
    /// Tokens per character of an answer (JSON) as this model's tokenizer counts them, for
    /// completion tokens, the output budget and `/tokenize` of JSON text. `None`: the
    /// fake's usual `ceil(chars / 4)`.
    pub answer_tokens_per_char: Option<f64>,
    /// A compute-bound server: this many generated tokens a second in total, shared by
    /// every request generating at the moment (each gets `rate / n`, and at most
    /// `1000 / latency.per_output_token_ms` when that is set: one request's own speed).
    /// `/metrics` still shows every request running and none waiting (room in the batch),
    /// as vLLM does in that state. `None`: each request sleeps its own latency.
    pub shared_rate: Option<f64>,
    /// Mistakes of a small model (none by default).
    pub mistakes: Mistakes,
    /// OpenAI API: report `usage.prompt_tokens_details.cached_tokens` as vLLM does with
    /// prefix caching stats on: the tokens of the longest prefix seen before, the system
    /// message or the system message plus the user message up to the chunk's end marker.
    pub report_cached_tokens: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            api: Api::OpenAi,
            model: "fake-model".to_string(),
            max_model_len: 8192,
            api_key: None,
            slots: 64,
            latency: Latency::default(),
            cold_start: None,
            faults: Vec::new(),
            port: 0,
            ollama_num_ctx: 2048,
            ollama_max_queue: None,
            down_after_requests: None,
            down_for_secs: 1.0,
            fills_schema: false,
            answer_tokens_per_char: None,
            shared_rate: None,
            mistakes: Mistakes::default(),
            report_cached_tokens: false,
        }
    }
}

impl FakeConfig {
    /// Same as `Default::default()`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers fill the schema; answers cost `tokens_per_char` tokens a character.
    pub fn fills_schema(mut self, tokens_per_char: f64) -> Self {
        self.fills_schema = true;
        self.answer_tokens_per_char = Some(tokens_per_char);
        self
    }
    /// A compute-bound server generating `tokens_per_sec` in total, shared by the
    /// requests in flight (see the field `shared_rate`).
    pub fn shared_rate(mut self, tokens_per_sec: f64) -> Self {
        self.shared_rate = Some(tokens_per_sec);
        self
    }
    /// Make these mistakes.
    pub fn mistakes(mut self, m: Mistakes) -> Self {
        self.mistakes = m;
        self
    }
    /// Report cached prompt tokens (see the field).
    pub fn report_cached_tokens(mut self) -> Self {
        self.report_cached_tokens = true;
        self
    }
    /// Set the API(s) served.
    pub fn api(mut self, api: Api) -> Self {
        self.api = api;
        self
    }
    /// Set the served model name.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }
    /// Set `max_model_len`.
    pub fn max_model_len(mut self, n: u32) -> Self {
        self.max_model_len = n;
        self
    }
    /// Require this Bearer token on `/v1/*`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
    /// Set the number of concurrent slots.
    pub fn slots(mut self, n: usize) -> Self {
        self.slots = n;
        self
    }
    /// Set latency: fixed milliseconds plus milliseconds per output token.
    pub fn latency(mut self, fixed_ms: u64, per_output_token_ms: f64) -> Self {
        self.latency = Latency {
            fixed_ms,
            per_output_token_ms,
        };
        self
    }
    /// Cold start: refuse connections for `refuse_secs`, then 503 for `loading_secs`.
    pub fn cold_start(mut self, refuse_secs: f64, loading_secs: f64) -> Self {
        self.cold_start = Some(ColdStart {
            refuse_secs,
            loading_secs,
        });
        self
    }
    /// Append a fault rule.
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }
    /// Replace all fault rules.
    pub fn faults(mut self, rules: Vec<FaultRule>) -> Self {
        self.faults = rules;
        self
    }
    /// Listen on this port of 127.0.0.1.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// Set Ollama's default num_ctx.
    pub fn ollama_num_ctx(mut self, n: u32) -> Self {
        self.ollama_num_ctx = n;
        self
    }
    /// Go down at the N-th chat request, for `secs` seconds.
    pub fn down_after_requests(mut self, n: u64, secs: f64) -> Self {
        self.down_after_requests = Some(n);
        self.down_for_secs = secs;
        self
    }
}
