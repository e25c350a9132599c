//! Router: API routes, loading / auth / counting middleware, control endpoints.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::chat::{bytes_response, json_response};
use crate::config::FaultRule;
use crate::server::Inner;
use crate::{ollama, openai};

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    let api = inner.cfg.api;
    let mut r = Router::new();
    if api.serves_openai() {
        r = r
            .route("/v1/chat/completions", post(openai::chat_completions))
            .route("/v1/models", get(openai::models))
            .route("/health", get(openai::health))
            .route("/version", get(openai::version))
            .route("/metrics", get(openai::metrics))
            .route("/tokenize", post(openai::tokenize));
    }
    if api.serves_ollama() {
        r = r
            .route("/api/chat", post(ollama::chat))
            .route("/api/tags", get(ollama::tags))
            .route("/api/ps", get(ollama::ps))
            .route("/api/version", get(ollama::version))
            .route("/", get(ollama::root));
    }
    r.route("/_fake/stats", get(ctl_stats))
        .route("/_fake/stats/reset", post(ctl_reset_stats))
        .route("/_fake/faults", get(ctl_get_faults).post(ctl_set_faults))
        .route("/_fake/down", post(ctl_down))
        .route("/_fake/loading", post(ctl_loading))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(inner.clone(), gate))
        .layer(DefaultBodyLimit::max(openai::BODY_LIMIT))
        .with_state(inner)
}

fn is_ollama_path(inner: &Inner, path: &str) -> bool {
    inner.cfg.api.serves_ollama() && (path == "/" || path.starts_with("/api/"))
}

/// Counting, cold-start loading and vLLM's `/v1` API-key check.
async fn gate(State(inner): State<Arc<Inner>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_fake/") {
        return next.run(req).await;
    }
    {
        let mut s = inner.stats();
        match s.requests_by_endpoint.get_mut(&path) {
            Some(n) => *n += 1,
            None => {
                s.requests_by_endpoint.insert(path.clone(), 1);
            }
        }
    }
    let resp = if inner.loading.load(Ordering::SeqCst) {
        if is_ollama_path(&inner, &path) {
            ollama::error(StatusCode::SERVICE_UNAVAILABLE, "loading model")
        } else {
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"error": {"message": "loading model", "type": "ServiceUnavailable", "code": 503}}),
            )
        }
    } else if inner.cfg.api_key.is_some()
        && path.starts_with("/v1")
        && req.method() != Method::OPTIONS
        && !authorized(&inner, &req)
    {
        json_response(StatusCode::UNAUTHORIZED, &json!({"error": "Unauthorized"}))
    } else {
        next.run(req).await
    };
    *inner
        .stats()
        .responses_by_status
        .entry(resp.status().as_u16())
        .or_insert(0) += 1;
    resp
}

fn authorized(inner: &Inner, req: &Request) -> bool {
    let Some(key) = inner.cfg.api_key.as_deref() else {
        return true;
    };
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == key)
}

async fn not_found(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    if inner.cfg.api.serves_openai() {
        json_response(StatusCode::NOT_FOUND, &json!({"detail": "Not Found"}))
    } else {
        let _ = req;
        bytes_response(
            StatusCode::NOT_FOUND,
            "text/plain",
            b"404 page not found".to_vec(),
        )
    }
}

async fn ctl_stats(State(inner): State<Arc<Inner>>) -> Response {
    let s = inner.stats().snapshot();
    match serde_json::to_value(&s) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": e.to_string()}),
        ),
    }
}

async fn ctl_reset_stats(State(inner): State<Arc<Inner>>) -> Response {
    inner.stats().reset();
    json_response(StatusCode::OK, &json!({"ok": true}))
}

async fn ctl_get_faults(State(inner): State<Arc<Inner>>) -> Response {
    let rules = inner.faults_lock().rules();
    json_response(StatusCode::OK, &json!({ "faults": rules }))
}

/// Body: `[rule, ...]` or `{"faults":[rule, ...]}`.
pub(crate) fn parse_rules(body: &[u8]) -> Result<Vec<FaultRule>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let list = match v {
        Value::Object(mut m) => m.remove("faults").unwrap_or(Value::Array(Vec::new())),
        other => other,
    };
    serde_json::from_value(list).map_err(|e| e.to_string())
}

async fn ctl_set_faults(State(inner): State<Arc<Inner>>, body: axum::body::Bytes) -> Response {
    match parse_rules(&body) {
        Ok(rules) => {
            let n = rules.len();
            inner.set_faults(rules);
            json_response(StatusCode::OK, &json!({"ok": true, "rules": n}))
        }
        Err(e) => json_response(StatusCode::BAD_REQUEST, &json!({"error": e})),
    }
}

/// `POST /_fake/down?secs=N` (default 1): answers 200, then goes down ~20 ms later,
/// and comes back up after N seconds.
async fn ctl_down(
    State(inner): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let secs = match q.get("secs").map(|s| s.parse::<f64>()) {
        None => 1.0,
        Some(Ok(s)) if s.is_finite() && s >= 0.0 => s,
        Some(_) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": "secs must be a non-negative number"}),
            )
        }
    };
    inner.schedule_outage(Duration::from_millis(20), secs);
    json_response(StatusCode::OK, &json!({"ok": true, "down_for_secs": secs}))
}

/// `POST /_fake/loading?on=true|false`.
async fn ctl_loading(
    State(inner): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let on = !matches!(q.get("on").map(String::as_str), Some("false" | "0" | "no"));
    inner.loading.store(on, Ordering::SeqCst);
    json_response(StatusCode::OK, &json!({"ok": true, "loading": on}))
}
