//! The part of chat handling shared by both APIs: counting, slots, answer generation,
//! latency and raw fault bodies.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;

use crate::config::Fault;
use crate::extract::{self, estimate_tokens, SchemaInfo};
use crate::server::Inner;

/// Counts a chat request as in flight until dropped.
pub(crate) struct InFlight {
    inner: Arc<Inner>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.inner.stats().in_flight -= 1;
    }
}

/// Register a chat request. If it is the `down_after_requests`-th one, start the outage
/// and never return (the outage aborts this request's connection).
pub(crate) async fn enter(inner: &Arc<Inner>) -> InFlight {
    let n = {
        let mut s = inner.stats();
        s.chat_requests += 1;
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        s.chat_requests
    };
    let guard = InFlight {
        inner: inner.clone(),
    };
    if inner.cfg.down_after_requests == Some(n) {
        inner.schedule_outage(Duration::ZERO, inner.cfg.down_for_secs);
    }
    if inner.going_down.load(std::sync::atomic::Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    guard
}

/// Holds a slot until dropped.
pub(crate) struct Running {
    inner: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.inner.stats().running -= 1;
    }
}

/// Wait (FIFO) for a free slot.
pub(crate) async fn acquire(inner: &Arc<Inner>) -> Option<Running> {
    let permit = inner.slots.clone().acquire_owned().await.ok()?;
    let mut s = inner.stats();
    s.running += 1;
    s.max_running = s.max_running.max(s.running);
    drop(s);
    Some(Running {
        inner: inner.clone(),
        _permit: permit,
    })
}

/// Number of chat requests waiting for a slot.
pub(crate) fn waiting(inner: &Inner) -> u64 {
    let s = inner.stats();
    s.in_flight.saturating_sub(s.running)
}

/// Pick the fault for this request (and count it).
pub(crate) fn pick_fault(inner: &Inner, api: crate::Api, text: &str) -> Option<(Fault, u64)> {
    let f = inner.faults_lock().pick(api, text);
    if let Some((fault, _)) = &f {
        *inner
            .stats()
            .faults_injected
            .entry(fault.name())
            .or_insert(0) += 1;
    }
    f
}

/// Sleep `fixed_ms + tokens * per_output_token_ms`; with a shared rate, `fixed_ms` and
/// then the tokens at this request's share of it.
pub(crate) async fn simulate(inner: &Inner, tokens: u64) {
    let l = inner.cfg.latency;
    if let Some(share) = &inner.share {
        tokio::time::sleep(Duration::from_millis(l.fixed_ms)).await;
        share.generate(tokens).await;
        return;
    }
    let ms = l.fixed_ms as f64 + tokens as f64 * l.per_output_token_ms;
    if ms > 0.0 {
        tokio::time::sleep(crate::server::secs(ms / 1000.0)).await;
    }
}

/// What the "model" produced.
pub(crate) struct Generated {
    /// `None`: `content: null` (ReasoningOnly on OpenAI).
    pub(crate) content: Option<String>,
    pub(crate) reasoning: Option<String>,
    pub(crate) finish: &'static str,
    pub(crate) completion_tokens: u64,
    /// The complete, correct answer.
    pub(crate) ok: bool,
}

fn cut_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// How the simulated model writes: the usual answer, or one that fills the schema; and
/// what its answers cost in tokens.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Model {
    pub(crate) fills_schema: bool,
    pub(crate) tokens_per_char: Option<f64>,
    pub(crate) mistakes: crate::config::Mistakes,
}

impl Model {
    pub(crate) fn of(cfg: &crate::FakeConfig) -> Self {
        Model {
            fills_schema: cfg.fills_schema,
            tokens_per_char: cfg.answer_tokens_per_char,
            mistakes: cfg.mistakes,
        }
    }

    pub(crate) fn tokens(&self, text: &str) -> u64 {
        match self.tokens_per_char {
            Some(r) => (text.chars().count() as f64 * r).ceil() as u64,
            None => estimate_tokens(text),
        }
    }

    /// The prefix of `s` that `budget` tokens hold.
    fn cut(&self, s: &str, budget: u64) -> String {
        let chars = match self.tokens_per_char {
            Some(r) if r > 0.0 => (budget as f64 / r).floor() as usize,
            _ => (budget as usize).saturating_mul(4),
        };
        cut_chars(s, chars)
    }
}

/// Produce the answer for `text`, applying a content fault and the output budget.
#[cfg(test)]
pub(crate) fn generate(
    text: &str,
    schema: &Value,
    budget: Option<u64>,
    fault: Option<&(Fault, u64)>,
) -> Generated {
    generate_as(Model::default(), text, schema, budget, fault)
}

/// `generate` for a given model.
pub(crate) fn generate_as(
    model: Model,
    text: &str,
    schema: &Value,
    budget: Option<u64>,
    fault: Option<&(Fault, u64)>,
) -> Generated {
    // The finishing step's reports and summaries (`report.rs`).
    if let Some(g) = crate::report::generate(text, schema, fault) {
        return g;
    }
    let info = SchemaInfo::from_schema(schema);
    let answer = if model.fills_schema {
        extract::filled_extraction(text, &info)
    } else {
        extract::extraction_with(text, &info, &model.mistakes)
    };
    let full = answer.to_string();
    match fault {
        Some((Fault::Truncated, _)) => {
            let n = full.chars().count() / 2;
            let cut = cut_chars(&full, n);
            Generated {
                completion_tokens: estimate_tokens(&cut),
                content: Some(cut),
                reasoning: None,
                finish: "length",
                ok: false,
            }
        }
        Some((Fault::ReasoningOnly, _)) => {
            let r = extract::reasoning_text(text);
            Generated {
                completion_tokens: budget.unwrap_or_else(|| estimate_tokens(&r)),
                content: None,
                reasoning: Some(r),
                finish: "length",
                ok: false,
            }
        }
        Some((Fault::MalformedJson, hit)) => {
            let content = if hit % 2 == 1 {
                let body = full.strip_suffix('}').unwrap_or(&full);
                format!("{body},}}")
            } else {
                format!("Here is the extracted JSON:\n```json\n{full}\n```")
            };
            Generated {
                completion_tokens: estimate_tokens(&content),
                content: Some(content),
                reasoning: None,
                finish: "stop",
                ok: false,
            }
        }
        Some((Fault::WrongSchema, _)) => {
            let content = extract::wrong_schema(&answer, &info).to_string();
            Generated {
                completion_tokens: estimate_tokens(&content),
                content: Some(content),
                reasoning: None,
                finish: "stop",
                ok: false,
            }
        }
        _ => {
            let tokens = model.tokens(&full);
            match budget {
                Some(b) if b < tokens => {
                    let cut = model.cut(&full, b);
                    Generated {
                        completion_tokens: b,
                        content: Some(cut),
                        reasoning: None,
                        finish: "length",
                        ok: false,
                    }
                }
                _ => Generated {
                    content: Some(full),
                    reasoning: None,
                    finish: "stop",
                    completion_tokens: tokens,
                    ok: true,
                },
            }
        }
    }
}

/// Token estimate of the full answer (for the latency of raw faults).
pub(crate) fn answer_tokens(text: &str, schema: &Value) -> u64 {
    estimate_tokens(&extract::fake_extraction(text, schema).to_string())
}

/// Count a 200 chat answer.
pub(crate) fn record(inner: &Inner, prompt_tokens: u64, g: &Generated, text: &str) {
    let key = g.ok.then(|| crate::chunk_key(text));
    let mut s = inner.stats();
    s.prompt_tokens_total += prompt_tokens;
    s.completion_tokens_total += g.completion_tokens;
    if let Some(k) = key {
        s.served_ok += 1;
        s.answered_chunks.push(k);
    }
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    bytes_response(status, "application/json", body.to_string().into_bytes())
}

pub(crate) fn bytes_response(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// 200 with a non-JSON body labelled as JSON.
pub(crate) fn garbage() -> Response {
    bytes_response(
        StatusCode::OK,
        "application/json",
        b"<html><body>upstream sent garbage \xef\xbf\xbd {\"choices\": [ oops".to_vec(),
    )
}

/// 200 announcing `body.len()` bytes, writing half of them, then dropping the connection.
pub(crate) fn torn(body: Vec<u8>, content_type: &'static str) -> Response {
    let total = body.len();
    let first = Bytes::from(body[..total / 2].to_vec());
    let stream = futures::stream::unfold(0u8, move |st| {
        let first = first.clone();
        async move {
            match st {
                0 => Some((Ok::<Bytes, std::io::Error>(first), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionAborted,
                            "torn body",
                        )),
                        2,
                    ))
                }
                _ => None,
            }
        }
    });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    r
}

/// 429 with `Retry-After`.
pub(crate) fn with_retry_after(mut r: Response, secs: u64) -> Response {
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

pub(crate) fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339 UTC timestamp with nanoseconds, like Ollama's `created_at`.
pub(crate) fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// Text of an OpenAI/Ollama message `content` (string, or array of `{type:"text",text}`).
pub(crate) fn content_text(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        Value::Array(parts) => std::borrow::Cow::Owned(
            parts
                .iter()
                .filter_map(|p| match p {
                    Value::String(s) => Some(s.as_str()),
                    _ => p.get("text").and_then(Value::as_str),
                })
                .collect::<Vec<_>>()
                .join(""),
        ),
        _ => std::borrow::Cow::Borrowed(""),
    }
}

/// A chat message as both APIs send it (other fields ignored).
#[derive(serde::Deserialize)]
pub(crate) struct Message {
    #[serde(default)]
    pub(crate) role: String,
    #[serde(default)]
    pub(crate) content: Value,
}

/// (prompt chars over all messages, the last user message's text). A follow-up (an
/// assistant turn, then a user turn asking for what was missed) is answered from the chunk
/// of the first user message, with the names the assistant already gave written in lower
/// case, so that the fake finds only the names it has not given yet.
pub(crate) fn prompt_of(messages: &[Message]) -> (u64, String) {
    let mut chars = 0u64;
    for m in messages {
        chars += content_text(&m.content).chars().count() as u64;
    }
    let chunk_msg = messages
        .iter()
        .find(|m| m.role == "user" && content_text(&m.content).contains(extract::BEGIN_MARKER));
    let answered = messages.iter().rev().find(|m| m.role == "assistant");
    if let (Some(chunk), Some(answer)) = (chunk_msg, answered) {
        let mut text = content_text(&chunk.content).into_owned();
        let given: Value =
            serde_json::from_str(&content_text(&answer.content)).unwrap_or(Value::Null);
        for e in given["entities"].as_array().into_iter().flatten() {
            if let Some(n) = e["name"].as_str().filter(|n| !n.is_empty()) {
                text = text.replace(n, &n.to_lowercase());
            }
        }
        return (chars, text);
    }
    let last = messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .or(messages.last())
        .map(|m| content_text(&m.content).into_owned())
        .unwrap_or_default();
    (chars, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_shape() {
        let t = rfc3339_now();
        assert_eq!(t.len(), 30, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }

    #[test]
    fn budget_cuts() {
        let g = generate("Alice met Bob", &Value::Null, Some(3), None);
        assert_eq!(g.finish, "length");
        assert_eq!(g.content.as_deref().map(|c| c.chars().count()), Some(12));
        let g = generate("Alice met Bob", &Value::Null, Some(10_000), None);
        assert!(g.ok);
        let m = generate(
            "Alice met Bob",
            &Value::Null,
            None,
            Some(&(Fault::MalformedJson, 1)),
        );
        assert!(m.content.as_deref().is_some_and(|c| c.ends_with(",}")));
        let m = generate(
            "Alice met Bob",
            &Value::Null,
            None,
            Some(&(Fault::MalformedJson, 2)),
        );
        assert!(m
            .content
            .as_deref()
            .is_some_and(|c| c.starts_with("Here is")));
    }
}
