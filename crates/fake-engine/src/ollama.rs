//! Ollama's native API routes.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::chat::{self, bytes_response, json_response, Message};
use crate::config::{Api, Fault};
use crate::extract::extract_chunk_text;
use crate::server::{ConnCtl, Inner};

/// `{"error":"..."}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

pub(crate) const BUSY: &str = "server busy, please try again.  maximum pending requests exceeded";

/// Ollama's name normalization: no tag means `:latest`.
pub(crate) fn normalize(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

#[derive(Deserialize, Default)]
struct Options {
    #[serde(default)]
    num_ctx: Option<i64>,
    #[serde(default)]
    num_predict: Option<i64>,
}

#[derive(Deserialize)]
struct ChatRequest {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    messages: Option<Vec<Message>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    format: Option<Value>,
    #[serde(default)]
    options: Option<Options>,
}

pub(crate) async fn chat(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let t0 = Instant::now();
    let (parts, body) = req.into_parts();
    let ctl = parts.extensions.get::<ConnCtl>().cloned();
    let body = axum::body::to_bytes(body, crate::openai::BODY_LIMIT).await;
    let _flight = chat::enter(&inner).await;
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("could not read body: {e}"),
            )
        }
    };
    let req: ChatRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let Some(model) = req.model.clone().filter(|m| !m.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "model is required");
    };
    if normalize(&model) != normalize(&inner.cfg.model) {
        return error(StatusCode::NOT_FOUND, &format!("model '{model}' not found"));
    }
    let messages = req.messages.as_deref().unwrap_or(&[]);
    let (chars, last_user) = chat::prompt_of(messages);
    let estimate = chars.div_ceil(4);
    let opts = req.options.unwrap_or_default();
    let num_ctx = opts
        .num_ctx
        .filter(|n| *n > 0)
        .map_or(u64::from(inner.cfg.ollama_num_ctx), |n| n as u64);
    let prompt_tokens = estimate.min(num_ctx);
    if estimate > num_ctx {
        inner.stats().ollama_truncated_prompts += 1;
    }
    let budget = opts.num_predict.filter(|n| *n >= 0).map(|n| n as u64);
    let schema = match &req.format {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => Value::Null,
    };
    let text = extract_chunk_text(&last_user);
    let fault = chat::pick_fault(&inner, Api::Ollama, text);

    match fault.as_ref().map(|f| &f.0) {
        Some(Fault::Status503) => return error(StatusCode::SERVICE_UNAVAILABLE, BUSY),
        Some(Fault::RateLimited { retry_after_secs }) => {
            return chat::with_retry_after(
                error(StatusCode::TOO_MANY_REQUESTS, "too many requests"),
                *retry_after_secs,
            )
        }
        Some(Fault::ContextLength) => {
            return error(
                StatusCode::BAD_REQUEST,
                "the input length exceeds the context length",
            )
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
    if let Some(max_queue) = inner.cfg.ollama_max_queue {
        if chat::waiting(&inner) > max_queue as u64 {
            return error(StatusCode::SERVICE_UNAVAILABLE, BUSY);
        }
    }
    let Some(_running) = chat::acquire(&inner).await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, BUSY);
    };
    match fault.as_ref().map(|f| &f.0) {
        Some(Fault::Status500) => {
            chat::simulate(&inner, chat::answer_tokens(text, &schema)).await;
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "llama runner process has terminated: exit status 2",
            );
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
        budget,
        fault.as_ref(),
    );
    chat::simulate(&inner, g.completion_tokens).await;
    let stream = req.stream != Some(false);
    let done = final_object(&model, prompt_tokens, &g, t0, !stream);
    if matches!(fault, Some((Fault::TornBody, _))) {
        return chat::torn(
            done.to_string().into_bytes(),
            "application/json; charset=utf-8",
        );
    }
    chat::record(&inner, prompt_tokens, &g, text);
    if !stream {
        return bytes_response(
            StatusCode::OK,
            "application/json; charset=utf-8",
            done.to_string().into_bytes(),
        );
    }
    // NDJSON, one object per "token" (4 chars), then the final `done` object.
    let mut out = String::new();
    let mut piece = |content: &str, thinking: Option<&str>| {
        let mut m = json!({"role": "assistant", "content": content});
        if let Some(t) = thinking {
            m["thinking"] = Value::String(t.to_string());
        }
        out.push_str(
            &json!({"model": model, "created_at": chat::rfc3339_now(), "message": m, "done": false})
                .to_string(),
        );
        out.push('\n');
    };
    if let Some(r) = &g.reasoning {
        piece("", Some(r));
    }
    let content = g.content.as_deref().unwrap_or("");
    let chars: Vec<char> = content.chars().collect();
    for c in chars.chunks(4) {
        piece(&c.iter().collect::<String>(), None);
    }
    out.push_str(&done.to_string());
    out.push('\n');
    bytes_response(StatusCode::OK, "application/x-ndjson", out.into_bytes())
}

/// The final (`done: true`) object; with `full` it carries the whole content (non-stream).
fn final_object(model: &str, prompt: u64, g: &chat::Generated, t0: Instant, full: bool) -> Value {
    let total = t0.elapsed().as_nanos() as u64;
    let mut message = json!({
        "role": "assistant",
        "content": if full { g.content.clone().unwrap_or_default() } else { String::new() },
    });
    if full {
        if let Some(r) = &g.reasoning {
            message["thinking"] = Value::String(r.clone());
        }
    }
    json!({
        "model": model,
        "created_at": chat::rfc3339_now(),
        "message": message,
        "done_reason": g.finish,
        "done": true,
        "total_duration": total.max(1),
        "load_duration": 1_000_000u64,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": total / 10,
        "eval_count": g.completion_tokens,
        "eval_duration": total - total / 10,
    })
}

fn model_entry(inner: &Inner) -> Value {
    let name = normalize(&inner.cfg.model);
    json!({
        "name": name,
        "model": name,
        "modified_at": "2025-01-01T00:00:00Z",
        "size": 1,
        "digest": blake3::hash(name.as_bytes()).to_hex().to_string(),
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "fake",
            "families": ["fake"],
            "parameter_size": "1B",
            "quantization_level": "Q4_K_M",
        },
    })
}

pub(crate) async fn tags(State(inner): State<Arc<Inner>>) -> Response {
    json_response(StatusCode::OK, &json!({ "models": [model_entry(&inner)] }))
}

pub(crate) async fn ps(State(inner): State<Arc<Inner>>) -> Response {
    let mut m = model_entry(&inner);
    m["expires_at"] = json!("2099-01-01T00:00:00Z");
    m["size_vram"] = json!(1);
    m["context_length"] = json!(inner.cfg.ollama_num_ctx);
    json_response(StatusCode::OK, &json!({ "models": [m] }))
}

pub(crate) async fn version() -> Response {
    json_response(StatusCode::OK, &json!({"version": "0.12.0"}))
}

pub(crate) async fn root() -> Response {
    bytes_response(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        b"Ollama is running".to_vec(),
    )
}
