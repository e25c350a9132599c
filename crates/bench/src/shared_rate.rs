//! shared-rate: a compute-bound server (issue 20, item 5). The fake generates a fixed
//! total of tokens a second, shared by whatever is in flight (one request alone at most a
//! quarter of it), and its /metrics shows room in the batch all along, as a CPU vLLM
//! does. The request time-out is one that 32 in flight exceed. `--concurrency auto` is
//! measured against a few fixed concurrencies of the same scenario: its time-outs (goal
//! 0) and its throughput as a ratio to the best fixed one (goal ≥ 0.95).

use std::collections::BTreeMap;

use crate::corpus::{self, Kind};
use crate::measure::median;
use crate::report::{ScenarioResult, Target};
use crate::{scaled, Bench, ClientRun};

/// Total generated tokens a second, and ms a token for one request alone (4 at once get
/// full speed). An answer here is about 430 tokens: 0.43 s alone, 3.5 s with 32 at once.
const RATE: f64 = 4000.0;
const MS_PER_TOKEN: f64 = 1.0;
/// Seconds: 32 in flight exceed it, 8 do not come near it.
const TIMEOUT_S: u64 = 2;
/// Fixed concurrencies measured for the best one.
const FIXED: &[usize] = &[2, 4, 8, 16, 32];

impl Bench {
    pub(crate) fn shared_rate(&self) -> anyhow::Result<ScenarioResult> {
        let a = &self.args;
        let n = scaled(300, a.scale);
        let corpus = corpus::paragraphs(&self.dir("corpora"), Kind::Paragraphs, n, 100)?;
        let mut spec = self.fake_spec("openai", 1024, 0);
        spec.shared = Some((RATE, MS_PER_TOKEN));
        let mut res = ScenarioResult::new(
            "shared-rate",
            format!(
                "compute-bound fake: {RATE} tokens/s in total shared by the requests in flight, at most {} for one; 1024 slots (/metrics: nothing waits); --request-timeout {TIMEOUT_S}; {} one-paragraph chunks; `auto` against --concurrency {FIXED:?}",
                1000.0 / MS_PER_TOKEN,
                corpus.paragraphs
            ),
        );
        res.command(self.fake_cmdline(&spec));
        let mut rates: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut timeouts: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let runs = std::iter::once("auto".to_string()).chain(FIXED.iter().map(|c| c.to_string()));
        for conc in runs {
            for rep in 0..a.repeat {
                let tag = format!("shared-rate-{conc}-{rep}");
                let fake = self.start_fake(&spec, &tag)?;
                let args: Vec<String> = [
                    "--vllm-url",
                    &fake.url,
                    "--no-ollama",
                    "--chunk-tokens",
                    "60",
                    "--chunk-overlap",
                    "0",
                    "--request-timeout",
                    &TIMEOUT_S.to_string(),
                    "--concurrency",
                    &conc,
                    "--quiet",
                ]
                .map(String::from)
                .to_vec();
                let out = self.dir("out").join("shared-rate");
                let r = self.client(
                    &mut res,
                    Some(&fake),
                    &corpus.dir,
                    &out,
                    &args,
                    true,
                    &tag,
                    None,
                )?;
                fake.stop();
                self.check_all_extracted(&mut res, &r, &tag);
                let (t, line) = outcome(&r);
                eprintln!("  [{tag}] {line}");
                rates
                    .entry(conc.clone())
                    .or_default()
                    .push(r.stats.served_ok as f64 / r.after_startup());
                timeouts.entry(conc.clone()).or_default().push(t);
            }
        }
        let best = FIXED
            .iter()
            .map(|c| (c, median(&rates[&c.to_string()])))
            .fold((0, 0.0), |b, (c, r)| if r > b.1 { (*c, r) } else { b });
        let auto = rates.remove("auto").unwrap_or_default();
        res.metric(
            "auto: time-outs",
            "",
            timeouts.remove("auto").unwrap_or_default(),
            Some(Target::Below(0.5)),
        );
        res.metric(
            &format!("auto: chunks/s ÷ best fixed (--concurrency {})", best.0),
            "",
            auto.iter().map(|r| r / best.1).collect(),
            Some(Target::AtLeast(0.95)),
        );
        res.metric("auto: chunks/s after start-up", "chunks/s", auto, None);
        for c in FIXED {
            let k = c.to_string();
            res.metric(
                &format!("--concurrency {c}: chunks/s"),
                "chunks/s",
                rates.remove(&k).unwrap_or_default(),
                None,
            );
            res.metric(
                &format!("--concurrency {c}: time-outs"),
                "",
                timeouts.remove(&k).unwrap_or_default(),
                None,
            );
        }
        Ok(res)
    }
}

/// The run's time-outs, and a line with its engine figures.
fn outcome(r: &ClientRun) -> (f64, String) {
    let v = &r.report["engines"]["vllm"];
    let t = v["failures"]["timeout"].as_u64().unwrap_or(0);
    let line = format!(
        "requests {} retries {} time-outs {t} limit (last, peak) {} max in flight {}",
        v["requests"], v["retries"], v["adaptive_limit"], v["max_in_flight"]
    );
    (t as f64, line)
}
