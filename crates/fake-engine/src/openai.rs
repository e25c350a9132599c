//! vLLM's OpenAI-compatible routes.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::chat::{self, bytes_response, json_response, Message};
use crate::config::{Api, Fault};
use crate::extract::{estimate_tokens, extract_chunk_text};
use crate::server::{ConnCtl, Inner};

pub(crate) const BODY_LIMIT: usize = 256 << 20;

/// `{"error":{"message","type","param":null,"code"}}`.
pub(crate) fn error(status: StatusCode, message: &str, kind: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"message": message, "type": kind, "param": null, "code": status.as_u16()}}),
    )
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message, "BadRequestError")
}

pub(crate) fn model_not_found(model: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("The model `{model}` does not exist."),
        "NotFoundError",
    )
}

pub(crate) fn context_length_error(max: u64, prompt: u64, completion: u64) -> Response {
    bad_request(&format!(
        "This model's maximum context length is {max} tokens. However, you requested {} tokens ({prompt} in the messages, {completion} in the completion). Please reduce the length of the messages or completion.",
        prompt + completion
    ))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

fn unsupported_media() -> Response {
    bad_request("[\"Unsupported Media Type: Only 'application/json' is allowed\"]")
}

#[derive(Deserialize)]
struct ChatRequest {
    #[serde(default)]
    model: Option<String>,
    messages: Vec<Message>,
    #[serde(default)]
    max_completion_tokens: Option<i64>,
    #[serde(default)]
    max_tokens: Option<i64>,
    #[serde(default)]
    response_format: Option<Value>,
    #[serde(default)]
    guided_json: Option<Value>,
    #[serde(default)]
    structured_outputs: Option<Value>,
    #[serde(default)]
    stream: Option<bool>,
}

/// A schema given as an object or as a JSON string.
fn schema_value(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Null => None,
        other => Some(other.clone()),
    }
}

impl ChatRequest {
    fn schema(&self) -> Value {
        let rf = self.response_format.as_ref();
        schema_value(
            rf.and_then(|r| r.get("json_schema"))
                .and_then(|j| j.get("schema")),
        )
        .or_else(|| schema_value(self.guided_json.as_ref()))
        .or_else(|| schema_value(self.structured_outputs.as_ref().and_then(|s| s.get("json"))))
        .unwrap_or(Value::Null)
    }
}

pub(crate) async fn chat_completions(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let ctl = parts.extensions.get::<ConnCtl>().cloned();
    let body = axum::body::to_bytes(body, BODY_LIMIT).await;
    let _flight = chat::enter(&inner).await;
    if !is_json(&parts.headers) {
        return unsupported_media();
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => return bad_request(&format!("could not read body: {e}")),
    };
    let req: ChatRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(&format!("Invalid request: {e}")),
    };
    let model = match &req.model {
        Some(m) if *m != inner.cfg.model => return model_not_found(m),
        Some(m) => m.clone(),
        None => inner.cfg.model.clone(),
    };
    let (chars, last_user) = chat::prompt_of(&req.messages);
    let prompt_tokens = chars.div_ceil(4);
    let max_len = u64::from(inner.cfg.max_model_len);
    let requested = req.max_completion_tokens.or(req.max_tokens);
    if let Some(c) = requested {
        if c < 1 {
            return bad_request(&format!("max_tokens must be at least 1, got {c}."));
        }
    }
    let requested = requested.map(|c| c as u64);
    let too_long = match requested {
        Some(c) => prompt_tokens + c > max_len,
        None => prompt_tokens >= max_len,
    };
    if too_long {
        return context_length_error(max_len, prompt_tokens, requested.unwrap_or(0));
    }
    let budget = requested.unwrap_or(max_len - prompt_tokens);
    let text = extract_chunk_text(&last_user);
    let schema = req.schema();
    let fault = chat::pick_fault(&inner, Api::OpenAi, text);

    match fault.as_ref().map(|f| &f.0) {
        Some(Fault::Status503) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                "ServiceUnavailable",
            )
        }
        Some(Fault::RateLimited { retry_after_secs }) => {
            return chat::with_retry_after(
                error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too Many Requests",
                    "RateLimitError",
                ),
                *retry_after_secs,
            )
        }
        Some(Fault::ContextLength) => {
            let c = requested.unwrap_or(0);
            let p = prompt_tokens.max((max_len + 1).saturating_sub(c));
            return context_length_error(max_len, p, c);
        }
        Some(Fault::Reset) => {
            if let Some(ctl) = ctl {
                ctl.reset();
            }
            return std::future::pending().await;
        }
        Some(Fault::Hang) => return std::future::pending().await,
        _ => {}
    }

    let Some(_running) = chat::acquire(&inner).await else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "ServiceUnavailable",
        );
    };
    let stream = req.stream == Some(true);
    match fault.as_ref().map(|f| &f.0) {
        Some(Fault::Status500) => {
            chat::simulate(&inner, chat::answer_tokens(text, &schema)).await;
            return bytes_response(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", Vec::new());
        }
        Some(Fault::Garbage) => {
            chat::simulate(&inner, chat::answer_tokens(text, &schema)).await;
            return chat::garbage();
        }
        _ => {}
    }
    let g = chat::generate_as(
        chat::Model::of(&inner.cfg),
        text,
        &schema,
        Some(budget),
        fault.as_ref(),
    );
    chat::simulate(&inner, g.completion_tokens).await;
    let id = format!("chatcmpl-fake{:016x}", inner.next_id());
    let mut body = completion_body(&id, &model, prompt_tokens, &g);
    if inner.cfg.report_cached_tokens {
        body["usage"]["prompt_tokens_details"] =
            json!({ "cached_tokens": cached_tokens(&inner, &req.messages) });
    }
    if matches!(fault, Some((Fault::TornBody, _))) {
        return chat::torn(body.to_string().into_bytes(), "application/json");
    }
    chat::record(&inner, prompt_tokens, &g, text);
    if stream {
        return sse(&id, &model, prompt_tokens, &g);
    }
    json_response(StatusCode::OK, &body)
}

fn completion_body(id: &str, model: &str, prompt_tokens: u64, g: &chat::Generated) -> Value {
    json!({
        "id": id,
        "object": "chat.completion",
        "created": chat::unix_secs(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": g.content,
                "refusal": null,
                "annotations": null,
                "audio": null,
                "function_call": null,
                "tool_calls": [],
                "reasoning": g.reasoning,
                "reasoning_content": g.reasoning,
            },
            "logprobs": null,
            "finish_reason": g.finish,
            "stop_reason": null,
        }],
        "service_tier": null,
        "system_fingerprint": null,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + g.completion_tokens,
            "completion_tokens": g.completion_tokens,
            "prompt_tokens_details": null,
        },
        "prompt_logprobs": null,
        "kv_transfer_params": null,
    })
}

/// `stream: true`: Server-Sent Events, like vLLM.
fn sse(id: &str, model: &str, prompt_tokens: u64, g: &chat::Generated) -> Response {
    let created = chat::unix_secs();
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        })
    };
    let mut out = String::new();
    let mut push = |v: Value| {
        out.push_str("data: ");
        out.push_str(&v.to_string());
        out.push_str("\n\n");
    };
    push(chunk(json!({"role": "assistant", "content": ""}), None));
    if let Some(r) = &g.reasoning {
        push(chunk(json!({"reasoning": r, "reasoning_content": r}), None));
    }
    if let Some(c) = &g.content {
        push(chunk(json!({"content": c}), None));
    }
    let mut last = chunk(json!({}), Some(g.finish));
    last["usage"] = json!({
        "prompt_tokens": prompt_tokens,
        "total_tokens": prompt_tokens + g.completion_tokens,
        "completion_tokens": g.completion_tokens,
    });
    push(last);
    out.push_str("data: [DONE]\n\n");
    bytes_response(
        StatusCode::OK,
        "text/event-stream; charset=utf-8",
        out.into_bytes(),
    )
}

pub(crate) async fn models(State(inner): State<Arc<Inner>>) -> Response {
    let m = &inner.cfg.model;
    json_response(
        StatusCode::OK,
        &json!({"object": "list", "data": [{
            "id": m, "object": "model", "created": chat::unix_secs(), "owned_by": "vllm",
            "root": m, "parent": null, "max_model_len": inner.cfg.max_model_len,
            "permission": [],
        }]}),
    )
}

pub(crate) async fn health() -> Response {
    Response::new(Body::empty())
}

pub(crate) async fn version() -> Response {
    json_response(StatusCode::OK, &json!({"version": "0.11.0"}))
}

pub(crate) async fn metrics(State(inner): State<Arc<Inner>>) -> Response {
    let (running, waiting, gen, prompt) = {
        let s = inner.stats();
        (
            s.running,
            s.in_flight.saturating_sub(s.running),
            s.completion_tokens_total,
            s.prompt_tokens_total,
        )
    };
    let kv = running as f64 / inner.cfg.slots.max(1) as f64;
    let l = format!("model_name=\"{}\"", inner.cfg.model.replace('"', "\\\""));
    let text = format!(
        "# HELP vllm:num_requests_running Number of requests in model execution batches.\n\
         # TYPE vllm:num_requests_running gauge\n\
         vllm:num_requests_running{{{l}}} {running}.0\n\
         # HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n\
         # TYPE vllm:num_requests_waiting gauge\n\
         vllm:num_requests_waiting{{{l}}} {waiting}.0\n\
         # HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n\
         # TYPE vllm:kv_cache_usage_perc gauge\n\
         vllm:kv_cache_usage_perc{{{l}}} {kv}\n\
         # HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n\
         # TYPE vllm:prompt_tokens_total counter\n\
         vllm:prompt_tokens_total{{{l}}} {prompt}.0\n\
         # HELP vllm:generation_tokens_total Number of generation tokens processed.\n\
         # TYPE vllm:generation_tokens_total counter\n\
         vllm:generation_tokens_total{{{l}}} {gen}.0\n"
    );
    bytes_response(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        text.into_bytes(),
    )
}

#[derive(Deserialize)]
struct TokenizeRequest {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    messages: Option<Vec<Message>>,
    #[serde(default)]
    prompt: Option<String>,
}

pub(crate) async fn tokenize(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !is_json(&headers) {
        return unsupported_media();
    }
    let req: TokenizeRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(&format!("Invalid request: {e}")),
    };
    if let Some(m) = &req.model {
        if *m != inner.cfg.model {
            return model_not_found(m);
        }
    }
    let count = match (&req.messages, &req.prompt) {
        (Some(msgs), _) => chat::prompt_of(msgs).0.div_ceil(4),
        // JSON (an answer) is counted as the model's answers are.
        (None, Some(p)) if p.trim_start().starts_with('{') => chat::Model::of(&inner.cfg).tokens(p),
        (None, Some(p)) => estimate_tokens(p),
        (None, None) => return bad_request("Either `messages` or `prompt` is required."),
    };
    let tokens: Vec<u64> = (0..count).map(|i| 1000 + i % 30_000).collect();
    json_response(
        StatusCode::OK,
        &json!({"count": count, "max_model_len": inner.cfg.max_model_len, "tokens": tokens, "token_strs": null}),
    )
}

/// Prompt tokens a prefix cache would serve: those of the longest prefix seen before among
/// the system message and the system message plus the user message up to the chunk's end
/// marker. Records the prefixes.
fn cached_tokens(inner: &Inner, messages: &[Message]) -> u64 {
    let mut full = String::new();
    let mut cuts = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let t = chat::content_text(&m.content);
        if m.role == "user" {
            if let Some(e) = t.find(crate::extract::END_MARKER) {
                cuts.push(full.len() + e + crate::extract::END_MARKER.len());
                full.push_str(&t);
                break;
            }
        }
        full.push_str(&t);
        if i == 0 && m.role == "system" {
            cuts.push(full.len());
        }
    }
    let mut seen = inner.prefixes_lock();
    let mut cached = 0;
    for c in cuts {
        if !seen.insert(blake3::hash(&full.as_bytes()[..c])) {
            cached = estimate_tokens(&full[..c]);
        }
    }
    cached
}
