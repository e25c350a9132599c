//! The fake over real HTTP, with a plain reqwest client.

use std::time::{Duration, Instant};

use fake_engine::{
    fake_entity_names, fake_extraction, Api, FakeConfig, FakeEngine, FakeHandle, Fault, FaultRule,
    When,
};
use serde_json::{json, Value};

const TEXT: &str = "Alice Johnson met Bob at Acme Corp in Paris. Alice said hello to Zoë.";

fn client() -> reqwest::Client {
    // See the rustls dev-dependency in Cargo.toml.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "entities": {"type": "array", "maxItems": 10, "items": {"type": "object", "properties": {
                "name": {"type": "string"},
                "type": {"type": "string", "enum": ["PERSON", "ORGANIZATION", "LOCATION"]},
                "description": {"type": "string", "maxLength": 200}
            }, "required": ["name", "type", "description"]}},
            "relations": {"type": "array", "maxItems": 10, "items": {"type": "object", "properties": {
                "source": {"type": "string"}, "target": {"type": "string"},
                "type": {"type": "string", "enum": ["WORKS_FOR", "LOCATED_IN", "KNOWS"]},
                "description": {"type": "string"}, "strength": {"type": "number"}
            }}}
        },
        "required": ["entities", "relations"]
    })
}

fn user_msg(text: &str) -> String {
    format!(
        "Extract entities and relations.\n---BEGIN TEXT---\n{text}\n---END TEXT---\nReturn JSON."
    )
}

fn oai_body(text: &str, max_tokens: Option<u64>) -> Value {
    let mut b = json!({
        "model": "fake-model",
        "messages": [
            {"role": "system", "content": "You extract entities."},
            {"role": "user", "content": user_msg(text)}
        ],
        "temperature": 0.0,
        "seed": 7,
        "response_format": {"type": "json_schema", "json_schema": {"name": "extraction", "schema": schema()}},
        "chat_template_kwargs": {"enable_thinking": false},
        "some_unknown_field": 1
    });
    if let Some(m) = max_tokens {
        b["max_completion_tokens"] = json!(m);
    }
    b
}

async fn post_oai(fake: &FakeHandle, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1/chat/completions", fake.url()))
        .json(body)
        .send()
        .await
        .expect("send")
}

async fn start(cfg: FakeConfig) -> FakeHandle {
    FakeEngine::start(cfg).await.expect("start")
}

fn content_of(v: &Value) -> &str {
    v["choices"][0]["message"]["content"].as_str().unwrap_or("")
}

#[tokio::test]
async fn openai_answer_is_deterministic() {
    let fake = start(FakeConfig::new()).await;
    let resp = post_oai(&fake, &oai_body(TEXT, Some(2000))).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "fake-model");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["choices"][0]["message"]["reasoning"].is_null());
    let content = content_of(&v);
    assert!(!content.contains(' ') || content.contains("as mentioned"));
    let got: Value = serde_json::from_str(content).unwrap();
    let want = fake_extraction(TEXT, &schema());
    assert_eq!(got, want);
    assert_eq!(
        fake_entity_names(TEXT),
        vec!["Alice", "Johnson", "Bob", "Acme", "Corp", "Paris", "Zoë"]
    );
    assert_eq!(
        got["entities"][0]["description"],
        "Alice as mentioned in the text."
    );
    assert_eq!(got["relations"][0]["source"], "Alice");
    assert_eq!(got["relations"][0]["target"], "Johnson");
    assert_eq!(got["relations"].as_array().unwrap().len(), 6);
    let ctoks = (content.chars().count() as u64).div_ceil(4);
    assert_eq!(v["usage"]["completion_tokens"], ctoks);
    let s = fake.stats();
    assert_eq!(s.served_ok, 1);
    assert_eq!(s.answered_count(TEXT), 1);
    assert_eq!(s.duplicate_answers(), 0);
    assert_eq!(s.completion_tokens_total, ctoks);
    assert_eq!(s.requests("/v1/chat/completions"), 1);
    assert_eq!(s.status(200), 1);

    // Same chunk again: a duplicate is visible in the stats.
    let resp = post_oai(&fake, &oai_body(TEXT, None)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(fake.stats().duplicate_answers(), 1);
}

#[tokio::test]
async fn output_budget_cuts_answer() {
    let fake = start(FakeConfig::new()).await;
    let v: Value = post_oai(&fake, &oai_body(TEXT, Some(10)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(content_of(&v).chars().count(), 40);
    assert_eq!(v["usage"]["completion_tokens"], 10);
    assert_eq!(fake.stats().served_ok, 0);
}

#[tokio::test]
async fn slots_queue_and_max_in_flight() {
    let fake = start(FakeConfig::new().slots(2).latency(150, 0.0)).await;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let url = format!("{}/v1/chat/completions", fake.url());
        let body = oai_body(&format!("Chunk Number{i}"), Some(500));
        tasks.push(tokio::spawn(async move {
            client()
                .post(url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 200);
    }
    let el = t0.elapsed();
    assert!(el >= Duration::from_millis(440), "{el:?}");
    let s = fake.stats();
    assert_eq!(s.max_in_flight, 6);
    assert_eq!(s.max_running, 2);
    assert_eq!(s.in_flight, 0);
    assert_eq!(s.served_ok, 6);
    assert_eq!(s.distinct_answered(), 6);
}

/// A compute-bound fake: two requests in flight share the rate, so each takes about twice
/// as long as one alone, while /metrics shows both running and none waiting.
#[tokio::test]
async fn shared_rate_splits_the_generation_rate() {
    // The answer to TEXT is about 200 tokens: about 0.4 s alone at 500 tokens/s.
    let fake = start(FakeConfig::new().shared_rate(500.0)).await;
    let t0 = Instant::now();
    assert_eq!(post_oai(&fake, &oai_body(TEXT, None)).await.status(), 200);
    let alone = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let body = oai_body(TEXT, None);
    let both = tokio::join!(post_oai(&fake, &body), post_oai(&fake, &body), async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        client()
            .get(format!("{}/metrics", fake.url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let two = t0.elapsed().as_secs_f64();
    assert_eq!(
        (both.0.status().as_u16(), both.1.status().as_u16()),
        (200, 200)
    );
    assert!(
        both.2
            .contains("vllm:num_requests_running{model_name=\"fake-model\"} 2.0")
            && both
                .2
                .contains("vllm:num_requests_waiting{model_name=\"fake-model\"} 0.0"),
        "{}",
        both.2
    );
    assert!(alone > 0.2, "one alone took {alone} s");
    let ratio = two / alone;
    assert!(
        (1.7..2.4).contains(&ratio),
        "alone {alone} s, two at once {two} s"
    );
}

#[tokio::test]
async fn auth_model_and_context_errors() {
    let fake = start(FakeConfig::new().api_key("sekrit").max_model_len(100)).await;
    let c = client();
    let url = format!("{}/v1/chat/completions", fake.url());
    // No key / wrong key: 401 with vLLM's odd body.
    let r = c
        .post(&url)
        .json(&oai_body("x", Some(5)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "Unauthorized"})
    );
    let r = c
        .post(&url)
        .bearer_auth("nope")
        .json(&oai_body("x", Some(5)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // /health is not protected.
    let r = c
        .get(format!("{}/health", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), 0);
    // Wrong model.
    let mut b = oai_body("x", Some(5));
    b["model"] = json!("other");
    let r = c
        .post(&url)
        .bearer_auth("sekrit")
        .json(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["message"], "The model `other` does not exist.");
    assert_eq!(v["error"]["code"], 404);
    // Context length: system (21 chars) + user message.
    let long = "word ".repeat(60);
    let body = oai_body(&long, Some(50));
    let chars: usize = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().chars().count())
        .sum();
    let p = (chars as u64).div_ceil(4);
    let r = c
        .post(&url)
        .bearer_auth("sekrit")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["error"]["message"],
        format!(
            "This model's maximum context length is 100 tokens. However, you requested {} tokens ({p} in the messages, 50 in the completion). Please reduce the length of the messages or completion.",
            p + 50
        )
    );
    assert_eq!(v["error"]["type"], "BadRequestError");
    assert!(v["error"]["param"].is_null());
    // Missing content type.
    let r = c
        .post(&url)
        .bearer_auth("sekrit")
        .body(oai_body("x", Some(5)).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Fits: fine.
    let r = c
        .post(&url)
        .bearer_auth("sekrit")
        .json(&oai_body("Short", Some(20)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s = fake.stats();
    assert_eq!(s.status(401), 2);
    assert_eq!(s.status(400), 2);
}

#[tokio::test]
async fn content_faults() {
    let fake = start(FakeConfig::new()).await;
    let sch = schema();
    let want = fake_extraction(TEXT, &sch);

    fake.set_faults(vec![FaultRule::first_n(Fault::Truncated, 1)]);
    let v: Value = post_oai(&fake, &oai_body(TEXT, None))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert!(serde_json::from_str::<Value>(content_of(&v)).is_err());
    assert!(want.to_string().starts_with(content_of(&v)));

    fake.set_faults(vec![FaultRule::always(Fault::ReasoningOnly)]);
    let v: Value = post_oai(&fake, &oai_body(TEXT, Some(300)))
        .await
        .json()
        .await
        .unwrap();
    let msg = &v["choices"][0]["message"];
    assert!(msg["content"].is_null());
    assert!(msg["reasoning"].as_str().unwrap().contains("Alice"));
    assert_eq!(msg["reasoning"], msg["reasoning_content"]);
    assert_eq!(v["choices"][0]["finish_reason"], "length");

    fake.set_faults(vec![FaultRule::always(Fault::MalformedJson)]);
    let v: Value = post_oai(&fake, &oai_body(TEXT, None))
        .await
        .json()
        .await
        .unwrap();
    let c = content_of(&v);
    assert!(c.ends_with(",}"));
    assert_eq!(
        serde_json::from_str::<Value>(&format!("{}}}", &c[..c.len() - 2])).unwrap(),
        want
    );
    let v: Value = post_oai(&fake, &oai_body(TEXT, None))
        .await
        .json()
        .await
        .unwrap();
    let c = content_of(&v);
    assert!(c.contains("```json\n"));
    let inner = c
        .split("```json\n")
        .nth(1)
        .unwrap()
        .trim_end_matches("\n```");
    assert_eq!(serde_json::from_str::<Value>(inner).unwrap(), want);

    fake.set_faults(vec![FaultRule::always(Fault::WrongSchema)]);
    let v: Value = post_oai(&fake, &oai_body(TEXT, None))
        .await
        .json()
        .await
        .unwrap();
    let got: Value = serde_json::from_str(content_of(&v)).unwrap();
    assert_eq!(got["entities"][1]["type"], "NOT_IN_SCHEMA");
    assert_eq!(
        got["relations"].as_array().unwrap().last().unwrap()["source"],
        "Phantom"
    );

    assert_eq!(fake.stats().served_ok, 0);
    assert_eq!(fake.stats().fault_count("malformed_json"), 2);
}

#[tokio::test]
async fn status_and_transport_faults() {
    let fake = start(FakeConfig::new()).await;
    let body = oai_body(TEXT, None);

    fake.set_faults(vec![FaultRule::always(Fault::Status500)]);
    let r = post_oai(&fake, &body).await;
    assert_eq!(r.status(), 500);
    assert_eq!(r.bytes().await.unwrap().len(), 0);

    fake.set_faults(vec![FaultRule::always(Fault::Status503)]);
    assert_eq!(post_oai(&fake, &body).await.status(), 503);

    fake.set_faults(vec![FaultRule::always(Fault::RateLimited {
        retry_after_secs: 3,
    })]);
    let r = post_oai(&fake, &body).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "3");

    fake.set_faults(vec![FaultRule::always(Fault::ContextLength)]);
    let r = post_oai(&fake, &body).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("This model's maximum context length is 8192 tokens."));

    fake.set_faults(vec![FaultRule::always(Fault::Garbage)]);
    let r = post_oai(&fake, &body).await;
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.is_err());

    fake.set_faults(vec![FaultRule::always(Fault::TornBody)]);
    let r = post_oai(&fake, &body).await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.is_err());

    fake.set_faults(vec![FaultRule::always(Fault::Reset)]);
    let e = client()
        .post(format!("{}/v1/chat/completions", fake.url()))
        .json(&body)
        .send()
        .await
        .unwrap_err();
    assert!(!e.is_timeout(), "{e:?}");

    // Marker-targeted fault with a hit cap.
    fake.set_faults(vec![
        FaultRule::text_contains(Fault::Status503, "POISON").max_hits(1)
    ]);
    assert_eq!(
        post_oai(&fake, &oai_body("x POISON", None)).await.status(),
        503
    );
    assert_eq!(
        post_oai(&fake, &oai_body("x POISON", None)).await.status(),
        200
    );
    assert_eq!(
        post_oai(&fake, &oai_body("clean", None)).await.status(),
        200
    );

    fake.set_faults(vec![FaultRule::new(Fault::Status503, When::EveryNth(2))]);
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(post_oai(&fake, &body).await.status().as_u16());
    }
    assert_eq!(codes, vec![200, 503, 200, 503]);
    assert_eq!(fake.stats().fault_count("reset"), 1);
}

#[tokio::test]
async fn hang_holds_until_client_gives_up() {
    let fake = start(FakeConfig::new().fault(FaultRule::first_n(Fault::Hang, 1))).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let t0 = Instant::now();
    let e = c
        .post(format!("{}/v1/chat/completions", fake.url()))
        .json(&oai_body(TEXT, None))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(t0.elapsed() >= Duration::from_millis(290));
    assert_eq!(fake.stats().in_flight, 1);
    drop(c);
    // The server notices the closed connection and drops the request.
    let t0 = Instant::now();
    while fake.stats().in_flight != 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "hung request never released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(post_oai(&fake, &oai_body(TEXT, None)).await.status(), 200);
}

#[tokio::test]
async fn go_down_and_come_up_on_same_port() {
    let fake = start(FakeConfig::new().fault(FaultRule::first_n(Fault::Hang, 1))).await;
    let port = fake.port();
    // An in-flight (hanging) request gets aborted by go_down.
    let url = format!("{}/v1/chat/completions", fake.url());
    let hanging =
        tokio::spawn(async move { client().post(url).json(&oai_body(TEXT, None)).send().await });
    while fake.stats().in_flight == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    fake.go_down().await.unwrap();
    assert!(!fake.is_up());
    let res = tokio::time::timeout(Duration::from_secs(3), hanging)
        .await
        .expect("aborted promptly")
        .unwrap();
    assert!(res.is_err());
    let e = client()
        .get(format!("{}/health", fake.url()))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    assert_eq!(fake.stats().in_flight, 0);

    fake.come_up().await.unwrap();
    assert_eq!(fake.port(), port);
    let r = client()
        .get(format!("{}/health", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(post_oai(&fake, &oai_body(TEXT, None)).await.status(), 200);

    // go_down_for comes back by itself.
    fake.go_down_for(Duration::from_millis(200)).await.unwrap();
    assert!(client()
        .get(format!("{}/health", fake.url()))
        .send()
        .await
        .is_err());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(fake.is_up());
    assert_eq!(post_oai(&fake, &oai_body(TEXT, None)).await.status(), 200);
}

#[tokio::test]
async fn cold_start_refuse_then_loading_then_ready() {
    let fake = start(FakeConfig::new().cold_start(0.3, 0.3)).await;
    let health = format!("{}/health", fake.url());
    let e = client().get(&health).send().await.unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = client().get(&health).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": {"message": "loading model", "type": "ServiceUnavailable", "code": 503}})
    );
    assert_eq!(post_oai(&fake, &oai_body(TEXT, None)).await.status(), 503);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(client().get(&health).send().await.unwrap().status(), 200);
    assert_eq!(post_oai(&fake, &oai_body(TEXT, None)).await.status(), 200);

    fake.set_loading(true);
    assert_eq!(client().get(&health).send().await.unwrap().status(), 503);
    fake.set_loading(false);
    assert_eq!(client().get(&health).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn side_endpoints() {
    let fake = start(FakeConfig::new().model("m1").max_model_len(4096)).await;
    let c = client();
    let v: Value = c
        .get(format!("{}/v1/models", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"][0]["id"], "m1");
    assert_eq!(v["data"][0]["max_model_len"], 4096);
    let v: Value = c
        .get(format!("{}/version", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["version"], "0.11.0");
    let v: Value = c
        .post(format!("{}/tokenize", fake.url()))
        .json(&json!({"model": "m1", "prompt": "abcdefghi"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["count"], 3);
    assert_eq!(v["max_model_len"], 4096);
    assert_eq!(v["tokens"].as_array().unwrap().len(), 3);
    let v: Value = c
        .post(format!("{}/tokenize", fake.url()))
        .json(&json!({"model": "m1", "messages": [{"role": "user", "content": "abcde"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["count"], 2);
    let m = c
        .get(format!("{}/metrics", fake.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("vllm:num_requests_running{model_name=\"m1\"} 0"));
    assert!(m.contains("vllm:num_requests_waiting{model_name=\"m1\"}"));
    assert!(m.contains("vllm:kv_cache_usage_perc{model_name=\"m1\"}"));
    assert!(m.contains("vllm:generation_tokens_total{model_name=\"m1\"}"));
    assert!(m.contains("vllm:prompt_tokens_total{model_name=\"m1\"}"));
    // Ollama routes are absent on an OpenAI-only fake.
    let r = c
        .get(format!("{}/api/tags", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn control_endpoints() {
    let fake = start(FakeConfig::new()).await;
    let c = client();
    let r = c
        .post(format!("{}/_fake/faults", fake.url()))
        .body(r#"[{"fault":{"rate_limited":{"retry_after_secs":1}},"when":{"first_n":1}}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(post_oai(&fake, &oai_body(TEXT, None)).await.status(), 429);
    assert_eq!(post_oai(&fake, &oai_body(TEXT, None)).await.status(), 200);
    let s: fake_engine::Stats = c
        .get(format!("{}/_fake/stats", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s.status(429), 1);
    assert_eq!(s.served_ok, 1);
    assert_eq!(s, fake.stats());
    let bad = c
        .post(format!("{}/_fake/faults", fake.url()))
        .body("[{\"fault\":\"nope\"}]")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let r = c
        .post(format!("{}/_fake/down?secs=0.3", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(client()
        .get(format!("{}/health", fake.url()))
        .send()
        .await
        .unwrap_err()
        .is_connect());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        client()
            .get(format!("{}/health", fake.url()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn down_after_requests_resets_everything() {
    let fake = start(FakeConfig::new().down_after_requests(3, 0.3)).await;
    assert_eq!(post_oai(&fake, &oai_body(TEXT, None)).await.status(), 200);
    assert_eq!(post_oai(&fake, &oai_body(TEXT, None)).await.status(), 200);
    let e = client()
        .post(format!("{}/v1/chat/completions", fake.url()))
        .json(&oai_body(TEXT, None))
        .send()
        .await
        .unwrap_err();
    assert!(!e.is_timeout());
    assert!(client()
        .get(format!("{}/health", fake.url()))
        .send()
        .await
        .is_err());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(post_oai(&fake, &oai_body(TEXT, None)).await.status(), 200);
}

// ---------------------------------------------------------------- Ollama

fn ollama_body(text: &str, stream: Option<bool>, num_ctx: Option<u64>) -> Value {
    let mut b = json!({
        "model": "fake-model",
        "messages": [{"role": "user", "content": user_msg(text)}],
        "format": schema(),
        "think": false,
        "keep_alive": "5m",
        "options": {"temperature": 0.0, "seed": 1}
    });
    if let Some(s) = stream {
        b["stream"] = json!(s);
    }
    if let Some(n) = num_ctx {
        b["options"]["num_ctx"] = json!(n);
    }
    b
}

async fn post_ollama(fake: &FakeHandle, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/api/chat", fake.url()))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn ollama_non_stream_answer() {
    let fake = start(FakeConfig::new().api(Api::Ollama)).await;
    let r = post_ollama(&fake, &ollama_body(TEXT, Some(false), Some(8192))).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["done"], true);
    assert_eq!(v["done_reason"], "stop");
    assert_eq!(v["model"], "fake-model");
    let got: Value = serde_json::from_str(v["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(got, fake_extraction(TEXT, &schema()));
    let chars = user_msg(TEXT).chars().count() as u64;
    assert_eq!(v["prompt_eval_count"], chars.div_ceil(4));
    assert!(v["eval_count"].as_u64().unwrap() > 0);
    assert_eq!(fake.stats().served_ok, 1);

    // `name:latest` is the same model; unknown models are 404.
    let mut b = ollama_body(TEXT, Some(false), None);
    b["model"] = json!("fake-model:latest");
    assert_eq!(post_ollama(&fake, &b).await.status(), 200);
    b["model"] = json!("llama3");
    let r = post_ollama(&fake, &b).await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "model 'llama3' not found"})
    );

    // num_predict cuts.
    let mut b = ollama_body(TEXT, Some(false), None);
    b["options"]["num_predict"] = json!(5);
    let v: Value = post_ollama(&fake, &b).await.json().await.unwrap();
    assert_eq!(v["done_reason"], "length");
    assert_eq!(v["eval_count"], 5);
    assert_eq!(
        v["message"]["content"].as_str().unwrap().chars().count(),
        20
    );
}

#[tokio::test]
async fn ollama_truncates_long_prompts_silently() {
    let fake = start(FakeConfig::new().api(Api::Ollama)).await;
    let long = "Alpha beta gamma delta. ".repeat(1000); // ~24k chars, ~6k tokens
    let v: Value = post_ollama(&fake, &ollama_body(&long, Some(false), None))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["prompt_eval_count"], 2048);
    assert_eq!(v["done_reason"], "stop");
    let v: Value = post_ollama(&fake, &ollama_body(&long, Some(false), Some(4096)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["prompt_eval_count"], 4096);
    assert_eq!(fake.stats().ollama_truncated_prompts, 2);
}

#[tokio::test]
async fn ollama_streams_by_default() {
    let fake = start(FakeConfig::new().api(Api::Ollama)).await;
    let r = post_ollama(&fake, &ollama_body(TEXT, None, None)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let text = r.text().await.unwrap();
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "not one JSON document"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 2);
    let last = lines.last().unwrap();
    assert_eq!(last["done"], true);
    assert_eq!(last["done_reason"], "stop");
    let content: String = lines
        .iter()
        .map(|l| l["message"]["content"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&content).unwrap(),
        fake_extraction(TEXT, &schema())
    );
    // stream: true is the same.
    let r = post_ollama(&fake, &ollama_body(TEXT, Some(true), None)).await;
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
}

#[tokio::test]
async fn ollama_side_endpoints_and_faults() {
    let fake = start(FakeConfig::new().api(Api::Both)).await;
    let c = client();
    let t = c
        .get(fake.url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(t, "Ollama is running");
    let v: Value = c
        .get(format!("{}/api/tags", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["models"][0]["name"], "fake-model:latest");
    let v: Value = c
        .get(format!("{}/api/ps", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["models"][0]["context_length"], 2048);
    let v: Value = c
        .get(format!("{}/api/version", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["version"], "0.12.0");

    fake.set_faults(vec![
        FaultRule::first_n(Fault::Truncated, 1).only_api(Api::Ollama),
        FaultRule::first_n(Fault::Status503, 1).only_api(Api::Ollama),
    ]);
    // The OpenAI side is unaffected.
    assert_eq!(post_oai(&fake, &oai_body(TEXT, None)).await.status(), 200);
    let v: Value = post_ollama(&fake, &ollama_body(TEXT, Some(false), None))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["done_reason"], "length");
    let r = post_ollama(&fake, &ollama_body(TEXT, Some(false), None)).await;
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "server busy, please try again.  maximum pending requests exceeded"
    );
    assert_eq!(
        post_ollama(&fake, &ollama_body(TEXT, Some(false), None))
            .await
            .status(),
        200
    );
}
