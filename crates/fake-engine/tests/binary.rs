//! The `fake-engine` binary: port line on stdout, flags, config file, SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[tokio::test]
async fn binary_serves_and_exits_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("fake-engine-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("faults.json");
    std::fs::write(
        &cfg,
        r#"{"faults":[{"fault":"status500","when":{"first_n":1}}],"max_model_len":1000}"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-engine"))
        .args([
            "--api",
            "both",
            "--port",
            "0",
            "--slots",
            "8",
            "--fixed-ms",
            "1",
        ])
        .args([
            "--model",
            "bin-model",
            "--max-model-len",
            "2000",
            "--threads",
            "2",
        ])
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .expect("port line")
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");

    // See the rustls dev-dependency in Cargo.toml.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let body = json!({
        "model": "bin-model",
        "messages": [{"role": "user", "content": "---BEGIN TEXT---\nHello Binary World\n---END TEXT---"}],
        "max_tokens": 500
    });
    let url_chat = format!("{url}/v1/chat/completions");
    assert_eq!(
        c.post(&url_chat).json(&body).send().await.unwrap().status(),
        500
    );
    let v: Value = c
        .post(&url_chat)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    // Flag beats config: max_model_len 2000.
    let v: Value = c
        .get(format!("{url}/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"][0]["max_model_len"], 2000);
    assert_eq!(
        c.get(format!("{url}/api/tags"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "did not exit on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
