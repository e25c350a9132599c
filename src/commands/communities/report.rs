//! A community report's answer: its JSON schema (sent as structured output, keys in the
//! order the model should decide them), and its validation. An answer that is not JSON
//! (after taking it out of code fences or prose) or does not fit the schema is an
//! `EngineError` the router retries; cited ids that are not the community's are dropped
//! and counted.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use crate::engine::{ChatAnswer, EngineError, FailureClass, Finish};
use crate::outdir::communities::{Community, CommunityReport, Finding};

use super::context::Context;

/// Most findings a report may have.
pub const MAX_FINDINGS: usize = 5;
/// Most ids one finding may cite of each kind.
const MAX_CITED: usize = 8;

/// The answer schema of a report asked with `context`. The ids a finding may cite are
/// enums of the community's ids that the context shows, so a
/// decoder that follows the schema cannot cite an id the model was not given (an empty
/// list allows no citation of that kind); a finding cites at least one entity when any is
/// shown. Its bounds keep the largest answer a decoder
/// can write (every string and array full) within `REPORT_OUTPUT_TOKENS`: a small model
/// that rambles to every limit still closes its JSON instead of being cut off.
pub fn report_schema(context: &Context) -> String {
    let ids = |allowed: &[String], min: usize| {
        if allowed.is_empty() {
            serde_json::json!({"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 0})
        } else {
            serde_json::json!({
                "type": "array",
                "items": {"type": "string", "enum": allowed},
                "minItems": min,
                "maxItems": MAX_CITED,
            })
        }
    };
    serde_json::json!({
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 100},
            "summary": {"type": "string", "maxLength": 800},
            "findings": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_FINDINGS,
                "items": {
                    "type": "object",
                    "properties": {
                        "summary": {"type": "string", "maxLength": 200},
                        "explanation": {"type": "string", "maxLength": 500},
                        // A finding rests on at least one of the entities shown.
                        "entities": ids(&context.entities, 1),
                        "relations": ids(&context.relations, 0),
                    },
                    "required": ["summary", "explanation", "entities", "relations"],
                    "additionalProperties": false,
                },
            },
            "rating": {"type": "number", "minimum": 0, "maximum": 10},
            "rating_explanation": {"type": "string", "maxLength": 300},
        },
        "required": ["title", "summary", "findings", "rating", "rating_explanation"],
        // Without it a structured-output backend lets the model add keys of any length.
        "additionalProperties": false,
    })
    .to_string()
}

/// The answer schema of a summary: `{"summary": "..."}`.
pub fn summary_schema() -> String {
    serde_json::json!({
        "type": "object",
        "properties": {"summary": {"type": "string", "maxLength": 2000}},
        "required": ["summary"],
        "additionalProperties": false,
    })
    .to_string()
}

/// The JSON object in an answer: as it is, or taken out of a code fence or the prose
/// around it.
pub fn answer_json(ans: &ChatAnswer) -> Result<Value, EngineError> {
    let text = ans.content.trim();
    if text.is_empty() {
        return Err(EngineError::new(
            if ans.finish == Finish::Length {
                FailureClass::Truncated
            } else {
                FailureClass::EmptyContent
            },
            "empty answer",
        ));
    }
    crate::parse::parse_json(text).map_err(|e| {
        let class = if ans.finish == Finish::Length {
            FailureClass::Truncated
        } else {
            FailureClass::Malformed
        };
        let mut err = EngineError::new(class, format!("answer is not JSON: {e}"));
        err.raw = Some(crate::engine::snippet(&ans.content));
        err
    })
}

#[derive(Deserialize)]
struct RawReport {
    title: String,
    summary: String,
    findings: Vec<RawFinding>,
    rating: f64,
    rating_explanation: String,
}

#[derive(Deserialize)]
struct RawFinding {
    summary: String,
    #[serde(default)]
    explanation: String,
    #[serde(default)]
    entities: Vec<Value>,
    #[serde(default)]
    relations: Vec<Value>,
}

fn invalid(ans: &ChatAnswer, why: impl Into<String>) -> EngineError {
    let mut err = EngineError::new(FailureClass::Invalid, why);
    err.raw = Some(crate::engine::snippet(&ans.content));
    err
}

/// Validates a report answer for community `c`. The returned report has the community's
/// id, level and `fingerprint`; cited ids not in `c` are dropped and counted.
pub fn accept_report(
    ans: &ChatAnswer,
    c: &Community,
    fingerprint: &str,
    from_children: bool,
) -> Result<CommunityReport, EngineError> {
    let v = answer_json(ans)?;
    let raw: RawReport = serde_json::from_value(v)
        .map_err(|e| invalid(ans, format!("answer does not fit the report schema: {e}")))?;
    let (title, summary) = (raw.title.trim(), raw.summary.trim());
    if title.is_empty() || summary.is_empty() {
        return Err(invalid(ans, "the report has an empty title or summary"));
    }
    if !(raw.rating.is_finite() && (0.0..=10.0).contains(&raw.rating)) {
        return Err(invalid(
            ans,
            format!("rating {} is not between 0 and 10", raw.rating),
        ));
    }
    if raw.findings.is_empty() || raw.findings.len() > MAX_FINDINGS {
        return Err(invalid(
            ans,
            format!(
                "{} findings (a report has 1 to {MAX_FINDINGS})",
                raw.findings.len()
            ),
        ));
    }
    let members: HashSet<&str> = c.members.iter().map(String::as_str).collect();
    let relations: HashSet<&str> = c.relations.iter().map(String::as_str).collect();
    let mut dropped = 0u64;
    let mut findings = Vec::with_capacity(raw.findings.len());
    for f in raw.findings {
        if f.summary.trim().is_empty() {
            return Err(invalid(ans, "a finding has an empty summary"));
        }
        findings.push(Finding {
            summary: f.summary.trim().to_string(),
            explanation: f.explanation.trim().to_string(),
            entities: keep_cited(&f.entities, &members, &mut dropped),
            relations: keep_cited(&f.relations, &relations, &mut dropped),
        });
    }
    Ok(CommunityReport {
        community: c.id.clone(),
        level: c.level,
        title: title.to_string(),
        summary: summary.to_string(),
        findings,
        rating: raw.rating,
        rating_explanation: raw.rating_explanation.trim().to_string(),
        fingerprint: fingerprint.to_string(),
        dropped_citations: dropped,
        from_children,
    })
}

/// The cited ids that are in `allowed`, once each, in the order given; the rest counted.
fn keep_cited(cited: &[Value], allowed: &HashSet<&str>, dropped: &mut u64) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in cited {
        match v.as_str().map(str::trim) {
            Some(id) if allowed.contains(id) => {
                if !out.iter().any(|o| o == id) {
                    out.push(id.to_string());
                }
            }
            _ => *dropped += 1,
        }
    }
    out
}

/// A summary answer's text.
pub fn accept_summary(ans: &ChatAnswer) -> Result<String, EngineError> {
    let v = answer_json(ans)?;
    match v.get("summary").and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(invalid(ans, "the answer has no summary text")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(content: &str) -> ChatAnswer {
        ChatAnswer {
            content: content.to_string(),
            finish: Finish::Stop,
            prompt_tokens: 0,
            completion_tokens: 0,
            reasoning: false,
            input_truncated: false,
            cached_tokens: 0,
        }
    }

    fn community() -> Community {
        Community {
            id: "com_1".into(),
            level: 1,
            parent: None,
            children: vec![],
            members: vec!["ent_a".into(), "ent_b".into()],
            relations: vec!["rel_1".into()],
            size: 2,
            fingerprint: "fp".into(),
        }
    }

    #[test]
    fn fenced_answers_are_read_and_foreign_citations_dropped() {
        let body = r#"{"title":"T","summary":"S","findings":[{"summary":"f","explanation":"e","entities":["ent_a","ent_z","ent_a"],"relations":["rel_1",3]}],"rating":7.5,"rating_explanation":"r"}"#;
        let ans = answer(&format!("Here it is:\n```json\n{body}\n```"));
        let r = accept_report(&ans, &community(), "fp", false).unwrap();
        assert_eq!(r.findings[0].entities, ["ent_a"]);
        assert_eq!(r.findings[0].relations, ["rel_1"]);
        assert_eq!((r.dropped_citations, r.level, r.rating), (2, 1, 7.5));
    }

    /// A context that shows these ids.
    fn shown(entities: &[&str], relations: &[&str]) -> Context {
        Context {
            entities: entities.iter().map(|s| s.to_string()).collect(),
            relations: relations.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn cited_ids_are_enums_of_the_ids_the_context_shows() {
        let v: Value =
            serde_json::from_str(&report_schema(&shown(&["ent_00000000000000bb"], &[]))).unwrap();
        let f = &v["properties"]["findings"]["items"]["properties"];
        assert_eq!(
            f["entities"]["items"]["enum"],
            serde_json::json!(["ent_00000000000000bb"])
        );
        assert_eq!(f["entities"]["minItems"], 1, "a finding cites an entity");
        assert_eq!(
            f["relations"]["maxItems"], 0,
            "no relation shown: none citable"
        );
    }

    /// Every object of `v` (and below) closes its keys and bounds its strings: an open
    /// object lets a structured-output backend add keys of any length.
    fn assert_closed(v: &Value, at: &str) {
        match v {
            Value::Object(m) => {
                if m.get("type") == Some(&Value::from("object")) {
                    assert_eq!(
                        m.get("additionalProperties"),
                        Some(&Value::Bool(false)),
                        "{at} is open"
                    );
                }
                if m.get("type") == Some(&Value::from("string")) && !m.contains_key("enum") {
                    assert!(
                        m.get("maxLength").is_some_and(Value::is_u64),
                        "{at} has no maxLength"
                    );
                }
                for (k, x) in m {
                    assert_closed(x, &format!("{at}/{k}"));
                }
            }
            Value::Array(xs) => xs.iter().for_each(|x| assert_closed(x, at)),
            _ => {}
        }
    }

    #[test]
    fn report_and_summary_schemas_allow_no_other_key_and_no_unbounded_string() {
        let ctx = shown(&["ent_00000000000000aa"], &[]);
        assert_closed(
            &serde_json::from_str(&report_schema(&ctx)).unwrap(),
            "report",
        );
        assert_closed(&serde_json::from_str(&summary_schema()).unwrap(), "summary");
    }

    #[test]
    fn the_largest_answer_the_schema_allows_fits_the_output_budget() {
        let mut c = community();
        c.members = (0..40).map(|i| format!("ent_{i:016x}")).collect();
        c.relations = (0..40).map(|i| format!("rel_{i:016x}")).collect();
        let ctx = Context {
            entities: c.members.clone(),
            relations: c.relations.clone(),
            ..Default::default()
        };
        let v: Value = serde_json::from_str(&report_schema(&ctx)).unwrap();
        let p = &v["properties"];
        let f = &p["findings"]["items"]["properties"];
        let text = |node: &Value| "word ".repeat(node["maxLength"].as_u64().unwrap() as usize / 5);
        let ids = |node: &Value, all: &[String]| {
            all[..node["maxItems"].as_u64().unwrap() as usize].to_vec()
        };
        let finding = serde_json::json!({
            "summary": text(&f["summary"]), "explanation": text(&f["explanation"]),
            "entities": ids(&f["entities"], &c.members),
            "relations": ids(&f["relations"], &c.relations),
        });
        let n = p["findings"]["maxItems"].as_u64().unwrap() as usize;
        let largest = serde_json::json!({
            "title": text(&p["title"]), "summary": text(&p["summary"]),
            "findings": vec![finding; n], "rating": 10,
            "rating_explanation": text(&p["rating_explanation"]),
        })
        .to_string();
        let tokens = crate::commands::communities::context::model_tokens(&largest);
        assert!(
            tokens <= crate::commands::communities::ask::REPORT_OUTPUT_TOKENS,
            "{tokens} tokens"
        );
    }

    #[test]
    fn invalid_reports_are_refused_as_invalid() {
        for bad in [
            r#"{"title":"","summary":"S","findings":[{"summary":"f","explanation":"e"}],"rating":1,"rating_explanation":"r"}"#,
            r#"{"title":"T","summary":"S","findings":[{"summary":"f","explanation":"e"}],"rating":42,"rating_explanation":"r"}"#,
            r#"{"title":"T","summary":"S","findings":[],"rating":1,"rating_explanation":"r"}"#,
            r#"{"title":"T","summary":"S"}"#,
        ] {
            let err = accept_report(&answer(bad), &community(), "fp", false).unwrap_err();
            assert_eq!(err.class, FailureClass::Invalid, "{bad}");
        }
        let err = accept_report(&answer("no json here"), &community(), "fp", false).unwrap_err();
        assert_eq!(err.class, FailureClass::Malformed);
    }
}
