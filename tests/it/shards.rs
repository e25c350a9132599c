//! Shards: `--shard I/N` runs as parallel processes, `merge` joins them into the outputs a
//! single run writes, byte for byte, whatever the order of the folders; a missing shard or
//! other settings are refused.

use fake_engine::{FakeConfig, FakeEngine};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_run_in_parallel_merge_into_the_single_runs_outputs() {
    let c = case(24, 3);
    let fake = FakeEngine::start(FakeConfig::new().latency(20, 0.0))
        .await
        .unwrap();
    let url = fake.url();
    // The single run.
    let ran = run(&c.args(&url, &[])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let total_requests = fake.stats().chat_requests;

    // Four shards at once, as four processes (an Indexed Job's pods).
    fake.reset_stats();
    let outs: Vec<std::path::PathBuf> = (0..4)
        .map(|i| c.tmp.path().join(format!("shard-{i}")))
        .collect();
    let mut children = Vec::new();
    for (i, out) in outs.iter().enumerate() {
        let spec = format!("{i}/4");
        let mut args = c.args(&url, &["--shard", &spec]);
        let o = out.to_str().unwrap();
        let at = args.iter().position(|a| *a == "--out").unwrap();
        args[at + 1] = o;
        children.push(command(&args).spawn().unwrap());
    }
    let mut docs = 0;
    for (child, out) in children.into_iter().zip(&outs) {
        let o = child.wait_with_output().await.unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let rep = report(out);
        docs += rep["documents"]["seen"].as_u64().unwrap();
        assert!(
            rep["documents"]["seen"].as_u64().unwrap() > 0,
            "every shard gets documents"
        );
    }
    assert_eq!(docs, 24, "each document in exactly one shard");
    assert_eq!(
        fake.stats().chat_requests,
        total_requests,
        "no chunk extracted twice"
    );

    // Merged, in two orders: the single run's bytes both times.
    let single_e = std::fs::read(c.out.join("entities.jsonl")).unwrap();
    let single_r = std::fs::read(c.out.join("relations.jsonl")).unwrap();
    let single = report(&c.out);
    for (n, order) in [[0, 1, 2, 3], [3, 1, 0, 2]].iter().enumerate() {
        let merged = c.tmp.path().join(format!("merged-{n}"));
        let mut args: Vec<&str> = vec!["merge"];
        for i in order {
            args.push(outs[*i].to_str().unwrap());
        }
        args.extend(["--out", merged.to_str().unwrap()]);
        let ran = run(&args).await;
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        assert!(
            std::fs::read(merged.join("entities.jsonl")).unwrap() == single_e,
            "entities differ"
        );
        assert!(
            std::fs::read(merged.join("relations.jsonl")).unwrap() == single_r,
            "relations differ"
        );
        let rep = report(&merged);
        for (section, key) in [
            ("documents", "seen"),
            ("documents", "extracted"),
            ("chunks", "total"),
            ("chunks", "failed"),
        ] {
            assert_eq!(rep[section][key], single[section][key], "{section}.{key}");
        }
        assert_eq!(rep["entities"], single["entities"]);
        assert_eq!(rep["relations"], single["relations"]);
        assert_eq!(rep["relation_types"], single["relation_types"]);
    }

    // A missing shard is named; --allow-partial merges the rest (exit 1).
    let partial = c.tmp.path().join("partial");
    let p = partial.to_str().unwrap();
    let mut args = vec!["merge"];
    args.extend([0, 2, 3].map(|i| outs[i].to_str().unwrap()));
    args.extend(["--out", p]);
    let ran = run(&args).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("shard 1/4 missing"), "{}", ran.stderr);
    args.push("--allow-partial");
    let ran = run(&args).await;
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    // A folder that is not a shard's.
    let ran = run(&["merge", c.out.to_str().unwrap(), "--out", p]).await;
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("not a shard's output folder"),
        "{}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_specs_that_cannot_be_are_refused_before_anything_runs() {
    let c = case(2, 1);
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    for bad in ["3/2", "0/0"] {
        let ran = run(&c.args(&url, &["--shard", bad])).await;
        assert_eq!(ran.code, 2, "{bad}: {}", ran.stderr);
        assert!(ran.stderr.contains("--shard"), "{}", ran.stderr);
    }
    let ran = run_with_env(&c.args(&url, &[]), &[("JOB_COMPLETION_INDEX", "1")]).await;
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("AEGIS_SHARD_COUNT"), "{}", ran.stderr);
    let ran = run_with_env(
        &c.args(&url, &[]),
        &[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ],
    )
    .await;
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("not a plain range"), "{}", ran.stderr);
    assert_eq!(fake.stats().chat_requests, 0);
    assert!(!c.out.join("checkpoint.jsonl").exists());
}
