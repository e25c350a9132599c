//! `--concurrency auto` against a compute-bound server (issue 20, item 5): the fake's
//! total generation rate is shared by whatever is in flight, and its /metrics shows room
//! in the batch all along. Many requests at once would each crawl past the request
//! time-out; the limit must follow the answers' latency and throughput instead.

use fake_engine::{FakeConfig, FakeEngine};

use crate::support::{case, report, run};

/// 4000 tokens/s in total, at most 1000 for one request (1 ms a token): four at once run
/// at full speed, more only wait. An answer here is about 200 tokens: 0.2 s alone, about
/// 1.6 s with 32 in flight, past a 1 s time-out.
fn compute_bound() -> FakeConfig {
    FakeConfig::new()
        .slots(1024)
        .latency(0, 1.0)
        .shared_rate(4000.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_concurrency_does_not_over_queue_a_compute_bound_server() {
    let fake = FakeEngine::start(compute_bound()).await.unwrap();
    let c = case(12, 5);
    let url = fake.url();
    let ran = run(&c.args(&url, &["--request-timeout", "1"])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rep = report(&c.out);
    let vllm = &rep["engines"]["vllm"];
    assert_eq!(rep["chunks"]["failed"], 0, "{rep}");
    assert_eq!(vllm["retries"], 0, "no request was sent twice: {vllm}");
    assert!(
        vllm["failures"].get("timeout").is_none(),
        "no time-out: {vllm}"
    );
    let st = fake.stats();
    assert_eq!(st.chat_requests, st.served_ok, "{st:?}");
    assert!(
        st.max_in_flight <= 10,
        "the limit stayed near what the server serves at speed: {st:?} {vllm}"
    );
    // The limit climbed past the start. (The same run with `--concurrency 24` took 26 s:
    // 56 requests, 32 time-outs; too slow for a test, it is the benchmark's control.)
    let peak = vllm["adaptive_limit"][1].as_u64().unwrap();
    assert!(peak > 4, "the limit climbed: {vllm}");
}
