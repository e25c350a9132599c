//! Fault rule bookkeeping.

use crate::config::{Api, Fault, FaultRule, When};

struct RuleState {
    rule: FaultRule,
    seen: u64,
    hits: u64,
}

/// The active rules with their counters.
pub(crate) struct FaultBook {
    rules: Vec<RuleState>,
}

/// SplitMix64 finalizer: a well-mixed 64-bit hash of `x`.
pub(crate) fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `When::Rate` decision for the k-th request (1-based) a rule sees.
pub(crate) fn rate_hit(p: f64, seed: u64, k: u64) -> bool {
    let u = (splitmix64(seed ^ k) >> 11) as f64 / (1u64 << 53) as f64;
    u < p
}

impl FaultBook {
    pub(crate) fn new(rules: Vec<FaultRule>) -> Self {
        FaultBook {
            rules: rules
                .into_iter()
                .map(|rule| RuleState {
                    rule,
                    seen: 0,
                    hits: 0,
                })
                .collect(),
        }
    }

    pub(crate) fn rules(&self) -> Vec<FaultRule> {
        self.rules.iter().map(|r| r.rule.clone()).collect()
    }

    /// The fault for a chat request on `api` (OpenAi or Ollama) with chunk `text`, with
    /// the rule's hit number (1-based), if any rule fires.
    pub(crate) fn pick(&mut self, api: Api, text: &str) -> Option<(Fault, u64)> {
        for r in &mut self.rules {
            match r.rule.api {
                None | Some(Api::Both) => {}
                Some(a) if a == api => {}
                Some(_) => continue,
            }
            if r.rule.max_hits.is_some_and(|m| r.hits >= m) {
                continue;
            }
            r.seen += 1;
            let k = r.seen;
            let fire = match &r.rule.when {
                When::Always => true,
                When::FirstN(n) => k <= *n,
                When::EveryNth(n) => *n > 0 && k % *n == 0,
                When::Rate { p, seed } => rate_hit(*p, *seed, k),
                When::TextContains(m) => text.contains(m.as_str()),
            };
            if fire {
                r.hits += 1;
                return Some((r.rule.fault.clone(), r.hits));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_count_and_order() {
        let mut b = FaultBook::new(vec![
            FaultRule::first_n(Fault::Reset, 2),
            FaultRule::every_nth(Fault::Hang, 2),
            FaultRule::text_contains(Fault::Garbage, "BAD").max_hits(1),
        ]);
        let seq: Vec<_> = (0..6)
            .map(|_| b.pick(Api::OpenAi, "x BAD").map(|f| f.0.name()))
            .collect();
        // 1,2: reset. 3: hang sees #1 -> no, garbage (max 1). 4: hang sees #2 -> hang.
        // 5: hang #3 no, garbage used up -> none. 6: hang #4 -> hang.
        assert_eq!(
            seq,
            vec![
                Some("reset"),
                Some("reset"),
                Some("garbage"),
                Some("hang"),
                None,
                Some("hang")
            ]
        );
    }

    #[test]
    fn api_filter_and_rate() {
        let mut b = FaultBook::new(vec![
            FaultRule::always(Fault::Status500).only_api(Api::Ollama)
        ]);
        assert!(b.pick(Api::OpenAi, "").is_none());
        assert!(b.pick(Api::Ollama, "").is_some());
        let hits = (1..=10_000).filter(|k| rate_hit(0.25, 7, *k)).count();
        assert!((2200..2800).contains(&hits), "{hits}");
        assert_eq!(
            (1..=100).map(|k| rate_hit(0.5, 1, k)).collect::<Vec<_>>(),
            (1..=100).map(|k| rate_hit(0.5, 1, k)).collect::<Vec<_>>()
        );
    }
}
