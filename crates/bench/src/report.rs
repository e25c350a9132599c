//! The results of the scenarios: each metric's samples, median and target, notes and the
//! commands to reproduce them, and the Markdown table they are printed as.

use std::fmt::Write as _;

use serde::Serialize;

use crate::measure::median;

#[derive(Debug, Clone, Copy, Serialize)]
pub enum Target {
    AtLeast(f64),
    Below(f64),
}

impl Target {
    pub fn met(self, v: f64) -> bool {
        match self {
            Target::AtLeast(t) => v >= t,
            Target::Below(t) => v < t,
        }
    }
    pub fn show(self) -> String {
        match self {
            Target::AtLeast(t) => format!("≥ {}", fmt_num(t)),
            Target::Below(t) => format!("< {}", fmt_num(t)),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub name: String,
    pub unit: String,
    pub values: Vec<f64>,
    pub median: f64,
    pub target: Option<Target>,
    pub met: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ScenarioResult {
    pub name: String,
    pub setup: String,
    pub commands: Vec<String>,
    pub notes: Vec<String>,
    pub metrics: Vec<Metric>,
}

impl ScenarioResult {
    pub fn new(name: &str, setup: String) -> Self {
        ScenarioResult {
            name: name.to_string(),
            setup,
            ..Default::default()
        }
    }
    pub fn metric(&mut self, name: &str, unit: &str, values: Vec<f64>, target: Option<Target>) {
        let m = median(&values);
        self.metrics.push(Metric {
            name: name.to_string(),
            unit: unit.to_string(),
            values,
            median: m,
            target,
            met: target.map(|t| t.met(m)),
        });
    }
    pub fn note(&mut self, n: impl Into<String>) {
        let n = n.into();
        eprintln!("  note: {n}");
        self.notes.push(n);
    }
    pub fn command(&mut self, c: String) {
        if !self.commands.contains(&c) {
            self.commands.push(c);
        }
    }
}

pub fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        return "n/a".into();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 10.0 {
        format!("{v:.2}")
    } else if a >= 0.1 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

pub fn markdown(results: &[ScenarioResult], repeat: usize) -> String {
    let mut s = String::new();
    for r in results {
        let _ = writeln!(s, "### `{}`\n", r.name);
        let _ = writeln!(s, "{}\n", r.setup);
        let _ = writeln!(s, "| metric | median | min – max (n) | target | met |");
        let _ = writeln!(s, "|---|---:|---|---|---|");
        for m in &r.metrics {
            let unit = if m.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", m.unit)
            };
            let range = if m.values.len() > 1 {
                let lo = m.values.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = m.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!("{} – {} ({})", fmt_num(lo), fmt_num(hi), m.values.len())
            } else {
                format!("({})", m.values.len())
            };
            let _ = writeln!(
                s,
                "| {} | {}{} | {} | {} | {} |",
                m.name,
                fmt_num(m.median),
                unit,
                range,
                m.target.map(|t| t.show()).unwrap_or_default(),
                match m.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "",
                }
            );
        }
        if !r.notes.is_empty() {
            let _ = writeln!(s);
            for n in &r.notes {
                let _ = writeln!(s, "- note: {n}");
            }
        }
        let _ = writeln!(s, "\nCommands:\n\n```sh");
        for c in &r.commands {
            let _ = writeln!(s, "{c}");
        }
        let _ = writeln!(s, "```\n");
    }
    let _ = writeln!(s, "(medians of {repeat} runs unless n says otherwise)");
    s
}
