//! The crash harness: SIGKILL the real binary at random moments, rerun until done, and
//! compare with an uninterrupted run. `AEGIS_CRASH_ITERATIONS` sets the number of kills
//! (CI: 24; `make soak`: 200).

#[path = "it/support.rs"]
#[allow(dead_code)]
mod support;

use std::time::Duration;

use fake_engine::{FakeConfig, FakeEngine};
use support::*;

const CONCURRENCY: u64 = 8;
const KILLS_PER_ROUND: u64 = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_and_resends_little() {
    let kills_wanted: u64 = std::env::var("AEGIS_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    synthetic_corpus(&corpus, 40, 5);
    let fake = FakeEngine::start(FakeConfig::new().slots(64).latency(25, 0.0))
        .await
        .unwrap();
    let url = fake.url();
    let c = corpus.to_str().unwrap();
    let conc = CONCURRENCY.to_string();
    let base = |out: &str| -> Vec<String> {
        [
            "run",
            c,
            "--out",
            out,
            "--vllm-url",
            &url,
            "--no-ollama",
            "--chunk-tokens",
            "60",
            "--chunk-overlap",
            "0",
            "--concurrency",
            &conc,
            "--quiet",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // The reference: one uninterrupted run.
    let reference = tmp.path().join("reference");
    let ref_args = base(reference.to_str().unwrap());
    let ran = run(&ref_args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let chunks = report(&reference)["chunks"]["total"].as_u64().unwrap();
    let ref_entities = std::fs::read_to_string(reference.join("entities.jsonl")).unwrap();
    let ref_relations = std::fs::read_to_string(reference.join("relations.jsonl")).unwrap();

    let mut rng = fastrand::Rng::with_seed(0xae61);
    let (mut kills, mut rounds, mut resent_total) = (0u64, 0u64, 0u64);
    while kills < kills_wanted {
        rounds += 1;
        let out = tmp.path().join(format!("round{rounds}"));
        let args = base(out.to_str().unwrap());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let answered_before = fake.stats().served_ok;
        let mut round_kills = 0u64;
        loop {
            let mut child = command(&args).spawn().unwrap();
            // A round is KILLS_PER_ROUND kills, then a run left to finish.
            let delay = if round_kills < KILLS_PER_ROUND {
                Duration::from_millis(rng.u64(30..700))
            } else {
                Duration::from_secs(120)
            };
            match tokio::time::timeout(delay, child.wait()).await {
                Ok(status) => {
                    assert_eq!(
                        status.unwrap().code(),
                        Some(0),
                        "round {rounds} finished with an error"
                    );
                    break;
                }
                Err(_) => {
                    child.start_kill().unwrap(); // SIGKILL
                    child.wait().await.unwrap();
                    kills += 1;
                    round_kills += 1;
                }
            }
        }
        // Same outputs as the uninterrupted run: nothing lost, nothing duplicated.
        assert!(
            std::fs::read_to_string(out.join("entities.jsonl")).unwrap() == ref_entities,
            "round {rounds}: entities differ"
        );
        assert!(
            std::fs::read_to_string(out.join("relations.jsonl")).unwrap() == ref_relations,
            "round {rounds}: relations differ"
        );
        let answered = fake.stats().served_ok - answered_before;
        let resent = answered - chunks;
        assert!(
            resent <= round_kills * CONCURRENCY,
            "round {rounds}: {resent} answers re-sent over {round_kills} kills (at most {CONCURRENCY} in flight per kill)"
        );
        resent_total += resent;
    }
    eprintln!(
        "crash harness: {kills} kills over {rounds} rounds of {chunks} chunks; {resent_total} requests re-sent ({:.2} per kill, cap {CONCURRENCY})",
        resent_total as f64 / kills as f64
    );
}
