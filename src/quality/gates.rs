//! The gates on the finishing step's communities and reports (`eval`): a figure that
//! misses its limit makes one sentence with the figure and the limit; a gate on a figure
//! that could not be measured fails too, saying why (no communities, no reports, nothing
//! to take a share of).

/// The limits set on the command line (`None`: no gate).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CommunityLimits {
    /// `--min-modularity`: the coarsest level's modularity.
    pub min_modularity: Option<f64>,
    /// `--min-report-coverage`: the reports' entity coverage.
    pub min_report_coverage: Option<f64>,
    /// `--min-citation-precision`.
    pub min_citation_precision: Option<f64>,
    /// `--min-citation-recall`.
    pub min_citation_recall: Option<f64>,
    /// `--min-schema-compliance`: share of the reports that are complete and well formed.
    pub min_schema_compliance: Option<f64>,
}

impl CommunityLimits {
    pub fn is_empty(&self) -> bool {
        *self == CommunityLimits::default()
    }

    /// Shares are between 0 and 1; a modularity between -1 and 1.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(v) = self.min_modularity {
            if !(-1.0..=1.0).contains(&v) {
                return Err(format!("--min-modularity {v} is not between -1 and 1"));
            }
        }
        for (flag, v) in [
            ("--min-report-coverage", self.min_report_coverage),
            ("--min-citation-precision", self.min_citation_precision),
            ("--min-citation-recall", self.min_citation_recall),
            ("--min-schema-compliance", self.min_schema_compliance),
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

/// Why the figures are missing, when they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Missing {
    /// Measured (a figure may still be none: nothing to take it of).
    #[default]
    Nothing,
    /// No `communities.jsonl`.
    Communities,
    /// Communities, but no `community_reports.jsonl`.
    Reports,
}

/// The measured figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommunityMeasures {
    pub missing: Missing,
    pub modularity: Option<f64>,
    pub report_coverage: Option<f64>,
    pub citation_precision: Option<f64>,
    pub citation_recall: Option<f64>,
    pub schema_compliance: Option<f64>,
}

/// The gates that fail, one sentence each.
pub fn check_communities(m: &CommunityMeasures, l: &CommunityLimits) -> Vec<String> {
    let mut failed = Vec::new();
    let mut min = |what: &str, flag: &str, value: Option<f64>, limit: Option<f64>, report: bool| {
        let Some(limit) = limit else { return };
        let why = match (m.missing, report) {
            (Missing::Communities, _) => {
                "no communities.jsonl in --out: run `aegis-ingest communities` first"
            }
            (Missing::Reports, true) => {
                "no community_reports.jsonl in --out: run `aegis-ingest communities` with reports"
            }
            _ => "nothing to measure it on",
        };
        match value {
            Some(v) if v >= limit => {}
            Some(v) => failed.push(format!(
                "quality gate failed: {what} {v:.3} is below {flag} {limit}"
            )),
            None => failed.push(format!(
                "quality gate failed: {what} could not be measured ({why}), {flag} {limit} asks for it"
            )),
        }
    };
    min(
        "modularity (level 0)",
        "--min-modularity",
        m.modularity,
        l.min_modularity,
        false,
    );
    min(
        "report entity coverage",
        "--min-report-coverage",
        m.report_coverage,
        l.min_report_coverage,
        true,
    );
    min(
        "citation precision",
        "--min-citation-precision",
        m.citation_precision,
        l.min_citation_precision,
        true,
    );
    min(
        "citation recall",
        "--min-citation-recall",
        m.citation_recall,
        l.min_citation_recall,
        true,
    );
    min(
        "report schema compliance",
        "--min-schema-compliance",
        m.schema_compliance,
        l.min_schema_compliance,
        true,
    );
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_gates_pass_fail_and_say_why_a_figure_is_missing() {
        let m = CommunityMeasures {
            modularity: Some(0.4),
            report_coverage: Some(0.8),
            citation_precision: Some(0.9),
            citation_recall: Some(0.5),
            schema_compliance: Some(1.0),
            ..CommunityMeasures::default()
        };
        let pass = CommunityLimits {
            min_modularity: Some(0.4),
            min_report_coverage: Some(0.8),
            min_citation_precision: Some(0.9),
            min_citation_recall: Some(0.5),
            min_schema_compliance: Some(1.0),
        };
        assert!(check_communities(&m, &pass).is_empty());
        let fail = CommunityLimits {
            min_modularity: Some(0.5),
            min_citation_recall: Some(0.6),
            ..CommunityLimits::default()
        };
        assert_eq!(
            check_communities(&m, &fail),
            [
                "quality gate failed: modularity (level 0) 0.400 is below --min-modularity 0.5",
                "quality gate failed: citation recall 0.500 is below --min-citation-recall 0.6"
            ]
        );
        let none = CommunityMeasures {
            missing: Missing::Communities,
            ..CommunityMeasures::default()
        };
        let msgs = check_communities(&none, &pass);
        assert_eq!(msgs.len(), 5, "{msgs:?}");
        assert!(msgs[0].contains("run `aegis-ingest communities` first"));
        assert!(CommunityLimits {
            min_modularity: Some(-0.2),
            ..CommunityLimits::default()
        }
        .validate()
        .is_ok());
        assert!(CommunityLimits {
            min_citation_precision: Some(1.2),
            ..CommunityLimits::default()
        }
        .validate()
        .is_err());
    }
}
