//! Several endpoints and https: requests spread over vLLM endpoints by load, one endpoint
//! dying moves its work to the others (nothing lost), endpoints serving different models
//! are refused, 429/503 shrink an endpoint's limit, and TLS for real: nginx terminating
//! https with a CA the test makes, in front of the fake engine, under a path prefix.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fake_engine::{FakeConfig, FakeEngine, FakeHandle, Fault, FaultRule};

use crate::support::*;

async fn vllm(cfg: FakeConfig) -> FakeHandle {
    FakeEngine::start(cfg).await.unwrap()
}

/// Outputs are complete and exact: every chunk's entities, once.
fn assert_complete(c: &Case) {
    check_outputs(&c.out);
    assert_eq!(
        entities_by_doc(&read_jsonl(&c.out.join("entities.jsonl"))),
        expected_entities(&c.corpus, 60, 0)
    );
}

/// `run` over the case's corpus, one paragraph a chunk, no Ollama, then `extra`.
fn run_args<'a>(c: &'a Case, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "run",
        c.corpus.to_str().unwrap(),
        "--out",
        c.out.to_str().unwrap(),
        "--no-ollama",
        "--chunk-tokens",
        "60",
        "--chunk-overlap",
        "0",
    ];
    a.extend_from_slice(extra);
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_endpoints_one_killed_mid_run_nothing_lost_the_others_absorb_its_work() {
    let c = case(30, 4);
    // The first endpoint dies at its 12th request and stays down.
    let dying = vllm(
        FakeConfig::new()
            .slots(8)
            .latency(20, 0.0)
            .down_after_requests(12, 600.0),
    )
    .await;
    let b = vllm(FakeConfig::new().slots(8).latency(20, 0.0)).await;
    let d = vllm(FakeConfig::new().slots(8).latency(20, 0.0)).await;
    // The endpoints as a comma list in AEGIS_VLLM_URL.
    let urls = format!("{},{},{}", dying.url(), b.url(), d.url());
    let ran = run_with_env(
        &run_args(&c, &["--concurrency", "8"]),
        &[("AEGIS_VLLM_URL", &urls), ("AEGIS_RETRY_BASE_MS", "20")],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_complete(&c);
    let rep = report(&c.out);
    let total = rep["chunks"]["total"].as_u64().unwrap();
    assert_eq!(total, 120);
    assert_eq!(rep["chunks"]["failed"], 0);
    let eng = &rep["engines"];
    let names = ["vllm", "vllm#2", "vllm#3"];
    for (name, fake) in names.iter().zip([&dying, &b, &d]) {
        assert_eq!(eng[name]["url"], fake.url().as_str(), "{name}: {eng}");
    }
    for (name, fake) in names[1..].iter().zip([&b, &d]) {
        assert_eq!(
            eng[name]["requests"].as_u64().unwrap(),
            fake.stats().chat_requests,
            "{name}: the report counts what the endpoint received"
        );
    }
    let ok = |n: &str| eng[n]["successes"].as_u64().unwrap();
    assert_eq!(ok("vllm") + ok("vllm#2") + ok("vllm#3"), total, "{eng}");
    assert!(
        ok("vllm") < 12,
        "the dead endpoint answered at most 11: {eng}"
    );
    assert!(eng["vllm"]["went_down"].as_u64().unwrap() >= 1, "{eng}");
    assert!(
        ok("vllm#2") >= 40 && ok("vllm#3") >= 40,
        "the two live endpoints absorb the dead one's share: {eng}"
    );
    assert_eq!(
        b.stats().duplicate_answers() + d.stats().duplicate_answers(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_spread_over_endpoints_by_load_each_within_its_cap() {
    let c = case(15, 4);
    let fakes = [
        vllm(FakeConfig::new().slots(4).latency(40, 0.0)).await,
        vllm(FakeConfig::new().slots(4).latency(40, 0.0)).await,
        vllm(FakeConfig::new().slots(4).latency(40, 0.0)).await,
    ];
    let urls: Vec<String> = fakes.iter().map(|f| f.url()).collect();
    let ran = run(&run_args(
        &c,
        &[
            "--vllm-url",
            &urls[0],
            "--vllm-url",
            &urls[1],
            "--vllm-url",
            &urls[2],
            "--concurrency",
            "4",
        ],
    ))
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_complete(&c);
    let rep = report(&c.out);
    for (name, fake) in ["vllm", "vllm#2", "vllm#3"].iter().zip(&fakes) {
        let st = fake.stats();
        assert!(
            st.max_in_flight <= 4,
            "{name}: --concurrency 4 is each endpoint's cap ({})",
            st.max_in_flight
        );
        assert!(
            st.chat_requests >= 10,
            "{name} got {} of 60 requests: work is spread by load",
            st.chat_requests
        );
        assert_eq!(rep["engines"][name]["concurrency"], 4);
        assert_eq!(rep["engines"][name]["successes"], st.served_ok);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_serving_different_models_exit_2_before_any_request() {
    let c = case(2, 2);
    let a = vllm(FakeConfig::new().model("model-a")).await;
    let b = vllm(FakeConfig::new().model("model-b")).await;
    let (ua, ub) = (a.url(), b.url());
    let ran = run(&run_args(&c, &["--vllm-url", &ua, "--vllm-url", &ub])).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("different models")
            && ran.stderr.contains("model-a")
            && ran.stderr.contains("model-b"),
        "{}",
        ran.stderr
    );
    assert_eq!(a.stats().chat_requests + b.stats().chat_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_flags_that_cannot_work_exit_2_with_what_to_fix() {
    let c = case(1, 1);
    let missing = c.tmp.path().join("no-such-ca.pem");
    let not_pem = c.tmp.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--ca-cert", missing.to_str().unwrap()], "--ca-cert"),
        (vec!["--ca-cert", not_pem.to_str().unwrap()], "--ca-cert"),
        (vec!["--vllm-url", "ftp://127.0.0.1:1"], "--vllm-url"),
        (
            vec![
                "--vllm-url",
                "http://127.0.0.1:1",
                "--vllm-url",
                "http://127.0.0.1:2",
                "--vllm-url",
                "http://127.0.0.1:3",
                "--vllm-api-key",
                "k1",
                "--vllm-api-key",
                "k2",
            ],
            "--vllm-api-key",
        ),
    ];
    for (extra, names) in cases {
        let ran = run(&run_args(&c, &extra)).await;
        assert_eq!(ran.code, 2, "{extra:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(names), "{extra:?}: {}", ran.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_endpoint_url_works_and_a_wrong_path_names_the_base_url_to_give() {
    // The chat endpoint pasted from a curl line: its base is used.
    let c = case(2, 2);
    let e = vllm(FakeConfig::new()).await;
    let pasted = format!("{}/v1/chat/completions", e.url());
    let ran = run(&run_args(&c, &["--vllm-url", &pasted])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_complete(&c);
    assert!(e.stats().chat_requests > 0);

    // A path the server does not serve: exit 2, saying what the flag takes.
    let c = case(1, 1);
    let e = vllm(FakeConfig::new()).await;
    let wrong = format!("{}/api", e.url());
    let ran = run(&run_args(&c, &["--vllm-url", &wrong])).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("404") && ran.stderr.contains("base URL"),
        "{}",
        ran.stderr
    );
    assert_eq!(e.stats().chat_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_429_and_503_cut_the_limit_and_every_chunk_is_still_extracted() {
    let c = case(10, 4);
    let v = vllm(
        FakeConfig::new()
            .slots(8)
            .latency(20, 0.0)
            .fault(
                FaultRule::every_nth(
                    Fault::RateLimited {
                        retry_after_secs: 0,
                    },
                    7,
                )
                .max_hits(2),
            )
            .fault(FaultRule::every_nth(Fault::Status503, 11).max_hits(2)),
    )
    .await;
    let u = v.url();
    let ran = run_with_env(
        &run_args(&c, &["--vllm-url", &u, "--concurrency", "8"]),
        &[("AEGIS_RETRY_BASE_MS", "20")],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_complete(&c);
    let rep = report(&c.out);
    let e = &rep["engines"]["vllm"];
    assert_eq!(e["failures"]["rate_limited"], 4, "429 and 503 alike: {e}");
    assert!(e["back_pressure_cuts"].as_u64().unwrap() >= 1, "{e}");
    assert_eq!(e["went_down"], 0, "back pressure is not an outage: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_storm_is_waited_out_on_vllm_not_sent_to_ollama() {
    // A gateway answers 429 to the first 16 requests: more than the breaker's 5 in a row
    // and more than one chunk's 6 transient attempts. vLLM is alive: nothing goes to
    // Ollama, nothing fails, the endpoint never counts as down.
    let c = case(4, 3);
    let v = vllm(FakeConfig::new().latency(5, 0.0).fault(FaultRule::first_n(
        Fault::RateLimited {
            retry_after_secs: 0,
        },
        16,
    )))
    .await;
    let o = vllm(FakeConfig::new().api(fake_engine::Api::Ollama)).await;
    let (vu, ou) = (v.url(), o.url());
    let mut args = run_args(
        &c,
        &[
            "--vllm-url",
            &vu,
            "--ollama-url",
            &ou,
            "--ollama-model",
            "fake-model",
            "--concurrency",
            "2",
        ],
    );
    args.retain(|a| *a != "--no-ollama");
    let ran = run_with_env(&args, &[("AEGIS_RETRY_BASE_MS", "5")]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_complete(&c);
    let rep = report(&c.out);
    let e = &rep["engines"]["vllm"];
    assert_eq!(e["failures"]["rate_limited"], 16, "{e}");
    assert_eq!(e["went_down"], 0, "a rate limit is not an outage: {e}");
    assert_eq!(
        o.stats().chat_requests,
        0,
        "no work to Ollama while vLLM is alive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_from_the_environment_carries_requests_to_other_hosts() {
    // The fake engine doubles as the proxy: it answers the absolute-form requests a client
    // sends to a proxy. `.invalid` never resolves (RFC 2606), so only the proxy can reach it.
    let c = case(3, 2);
    let proxy = vllm(FakeConfig::new()).await;
    let p = proxy.url();
    let ran = run_with_env(
        &run_args(&c, &["--vllm-url", "http://engine.invalid:8001"]),
        &[("HTTP_PROXY", &p), ("NO_PROXY", "example.org")],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_complete(&c);
    let rep = report(&c.out);
    assert_eq!(
        proxy.stats().served_ok,
        rep["chunks"]["total"].as_u64().unwrap()
    );
}

// ---- https through nginx ----

/// A CA and a server certificate for 127.0.0.1 and localhost, made with the openssl CLI.
fn make_certs(dir: &Path) {
    let sh = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl command (Debian: apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let mut ca = vec!["req", "-x509", "-nodes", "-days", "2"];
    ca.extend_from_slice(&ec);
    ca.extend_from_slice(&[
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=aegis test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    sh(&ca);
    let mut csr = vec!["req", "-nodes"];
    csr.extend_from_slice(&ec);
    csr.extend_from_slice(&[
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    sh(&csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    sh(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
}

/// nginx run by the test: TLS on a free 127.0.0.1 port, `/openai/v1/` passed to the
/// fake engine's `/v1/` (as KServe serves the OpenAI API), anything else 404. Killed on
/// drop.
struct Nginx {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    /// None when nginx is not installed and `make test` allows the skip.
    fn start(dir: &Path, upstream_port: u16) -> Option<Nginx> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let nginx = std::env::split_paths(&path)
            .chain(["/usr/sbin", "/usr/local/sbin"].map(Into::into))
            .map(|d| d.join("nginx"))
            .find(|p| p.is_file());
        let Some(nginx) = nginx else {
            program_missing(
                "nginx",
                "not on PATH, /usr/sbin or /usr/local/sbin; the https test puts it in front of the fake engine",
                "apt-get install -y nginx",
            );
            return None;
        };
        make_certs(dir);
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let d = dir.display();
        let conf = format!(
            r#"master_process off;
worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    log_format rid '$request_method $uri $http_x_request_id $status';
    access_log {d}/access.log rid;
    client_body_temp_path {d}/tmp-body;
    proxy_temp_path {d}/tmp-proxy;
    fastcgi_temp_path {d}/tmp-fastcgi;
    uwsgi_temp_path {d}/tmp-uwsgi;
    scgi_temp_path {d}/tmp-scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        location /openai/v1/ {{
            proxy_pass http://127.0.0.1:{upstream_port}/v1/;
            proxy_read_timeout 60s;
        }}
        location / {{ return 404; }}
    }}
}}
"#
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = std::process::Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let mut n = Nginx {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = n.child.try_wait() {
                panic!("nginx exited ({status}): {}", n.log("error.log"));
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen: {}",
                n.log("error.log")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(n)
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

/// Runs the binary with `env` set and `SSL_CERT_FILE` unset (unless `env` sets it).
async fn run_tls(args: &[&str], env: &[(&str, &str)]) -> Ran {
    let started = Instant::now();
    let mut cmd = command(args);
    cmd.env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env_remove("AEGIS_CA_CERT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        cmd.spawn().expect("spawn aegis-ingest").wait_with_output(),
    )
    .await
    .expect("aegis-ingest finished within 120 s")
    .expect("wait for aegis-ingest");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nginx (apt-get install -y nginx); make test runs it, or skips it and says so"]
async fn https_through_nginx_with_the_test_ca_and_a_clear_error_without_it() {
    let c = case(6, 3);
    let tls = tempfile::tempdir().unwrap();
    let fake = vllm(FakeConfig::new().slots(8)).await;
    let Some(nginx) = Nginx::start(tls.path(), fake.port()) else {
        return;
    };
    // A gateway URL with KServe's path prefix.
    let url = format!("https://127.0.0.1:{}/openai/v1", nginx.port);
    let ca = tls.path().join("ca.pem");
    let ca = ca.to_str().unwrap();

    // Without the CA: exit 2 before any request, naming the flag that fixes it.
    let ran = run_tls(&run_args(&c, &["--vllm-url", &url]), &[]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("--ca-cert") && ran.stderr.contains("certificate"),
        "{}",
        ran.stderr
    );
    assert!(
        !ran.stderr.contains("ERROR"),
        "one message, ours, not the verifier's log line too: {}",
        ran.stderr
    );
    assert_eq!(fake.stats().chat_requests, 0);

    // With --ca-cert, and a proxy in the environment that does not exist: loopback is
    // never sent through a proxy.
    let ran = run_tls(
        &run_args(&c, &["--vllm-url", &url, "--ca-cert", ca]),
        &[
            ("HTTPS_PROXY", "http://127.0.0.1:9"),
            ("HTTP_PROXY", "http://127.0.0.1:9"),
        ],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_complete(&c);
    let rep = report(&c.out);
    let total = rep["chunks"]["total"].as_u64().unwrap();
    assert_eq!(
        rep["engines"]["vllm"]["url"],
        format!("https://127.0.0.1:{}/openai", nginx.port)
    );
    assert_eq!(rep["engines"]["vllm"]["successes"].as_u64().unwrap(), total);

    // Every chat request carried its chunk's checkpoint key as X-Request-Id.
    let access = nginx.log("access.log");
    let ids: BTreeSet<String> = access
        .lines()
        .filter(|l| l.starts_with("POST /openai/v1/chat/completions "))
        .map(|l| l.split(' ').nth(2).unwrap_or_default().to_string())
        .collect();
    let keys: BTreeSet<String> = read_jsonl(&c.out.join("checkpoint.jsonl"))
        .iter()
        .filter(|r| r["t"] == "ok")
        .map(|r| r["k"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len() as u64, total);
    assert_eq!(ids, keys, "X-Request-Id = chunk key:\n{access}");

    // SSL_CERT_FILE as the trusted roots instead of --ca-cert.
    std::fs::remove_dir_all(&c.out).unwrap();
    let ran = run_tls(
        &run_args(&c, &["--vllm-url", &url]),
        &[("SSL_CERT_FILE", ca)],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_complete(&c);
}
