//! Quality gates: limits a CI job sets on a run's or an eval's figures. A figure that
//! misses its limit makes one sentence with the figure and the limit; the command writes
//! its outputs anyway and exits 1.

pub mod gates;
pub mod grounding;

/// The limits set on the command line (`None`: no gate).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// `--min-entity-f1` (eval).
    pub min_entity_f1: Option<f64>,
    /// `--min-relation-f1` (eval).
    pub min_relation_f1: Option<f64>,
    /// `--max-generic-share` (run, eval).
    pub max_generic_share: Option<f64>,
    /// `--min-grounded` (run, eval).
    pub min_grounded: Option<f64>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }

    /// Each limit is a share or a score: between 0 and 1.
    pub fn validate(&self) -> Result<(), String> {
        for (flag, v) in [
            ("--min-entity-f1", self.min_entity_f1),
            ("--min-relation-f1", self.min_relation_f1),
            ("--max-generic-share", self.max_generic_share),
            ("--min-grounded", self.min_grounded),
        ] {
            if let Some(v) = v {
                if !(0.0..=1.0).contains(&v) {
                    return Err(format!("{flag} {v} is not between 0 and 1"));
                }
            }
        }
        Ok(())
    }
}

/// The measured figures (`None`: not measured, e.g. no relation to take a share of).
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    pub entity_f1: Option<f64>,
    pub relation_f1: Option<f64>,
    pub generic_share: Option<f64>,
    pub grounded: Option<f64>,
}

/// The gates that fail, one sentence each. A gate on a figure that could not be measured
/// fails too (a CI job should not pass on nothing), saying why.
pub fn check(figures: &Figures, limits: &Limits) -> Vec<String> {
    let mut failed = Vec::new();
    let mut min = |what: &str, flag: &str, value: Option<f64>, limit: Option<f64>| {
        let Some(limit) = limit else { return };
        match value {
            Some(v) if v >= limit => {}
            Some(v) => failed.push(format!(
                "quality gate failed: {what} {v:.3} is below {flag} {limit}"
            )),
            None => failed.push(format!(
                "quality gate failed: {what} could not be measured (nothing to measure it on), {flag} {limit} asks for it"
            )),
        }
    };
    min(
        "entity F1",
        "--min-entity-f1",
        figures.entity_f1,
        limits.min_entity_f1,
    );
    min(
        "relation F1",
        "--min-relation-f1",
        figures.relation_f1,
        limits.min_relation_f1,
    );
    min(
        "grounded share",
        "--min-grounded",
        figures.grounded,
        limits.min_grounded,
    );
    if let Some(limit) = limits.max_generic_share {
        // No relation at all: no generic relation either.
        let v = figures.generic_share.unwrap_or(0.0);
        if v > limit {
            failed.push(format!(
                "quality gate failed: generic-relation share (RELATES_TO) {v:.3} is above --max-generic-share {limit}"
            ));
        }
    }
    failed
}

/// The gates of `run`: the generic share from the report, the grounded share from the
/// report's `grounding` when it has one, else measured from the outputs and the corpus
/// (only when `--min-grounded` asks for it).
pub fn check_run(
    out: &std::path::Path,
    report: &crate::outdir::report::Report,
    limits: &Limits,
) -> Vec<String> {
    let mut figures = Figures {
        generic_share: (report.relations > 0).then_some(report.generic_relation_share),
        ..Figures::default()
    };
    let mut failed = Vec::new();
    if limits.min_grounded.is_some() {
        match grounding::run_grounded_share(out) {
            Ok(share) => figures.grounded = share,
            Err(e) => failed.push(format!(
                "quality gate failed: the grounded share could not be measured ({e})"
            )),
        }
    }
    let limits = Limits {
        min_grounded: limits.min_grounded.filter(|_| failed.is_empty()),
        ..*limits
    };
    failed.extend(check(&figures, &limits));
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passing_and_failing_gates() {
        let f = Figures {
            entity_f1: Some(0.5),
            relation_f1: Some(0.2),
            generic_share: Some(0.4),
            grounded: Some(0.9),
        };
        assert!(check(&f, &Limits::default()).is_empty());
        let pass = Limits {
            min_entity_f1: Some(0.5),
            min_relation_f1: Some(0.1),
            max_generic_share: Some(0.4),
            min_grounded: Some(0.9),
        };
        assert!(check(&f, &pass).is_empty(), "{:?}", check(&f, &pass));
        let fail = Limits {
            min_entity_f1: Some(0.6),
            min_relation_f1: Some(0.3),
            max_generic_share: Some(0.3),
            min_grounded: Some(0.95),
        };
        let msgs = check(&f, &fail);
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert_eq!(
            msgs[0],
            "quality gate failed: entity F1 0.500 is below --min-entity-f1 0.6"
        );
        assert!(msgs[3].contains("0.400 is above --max-generic-share 0.3"));
    }

    #[test]
    fn unmeasured_figures() {
        let f = Figures::default();
        let l = Limits {
            min_grounded: Some(0.5),
            max_generic_share: Some(0.0),
            ..Limits::default()
        };
        let msgs = check(&f, &l);
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert!(msgs[0].contains("grounded share could not be measured"));
        assert!(Limits {
            min_grounded: Some(1.5),
            ..Limits::default()
        }
        .validate()
        .is_err());
    }
}
