//! Parse + validate: a model's answer -> a clean `Extraction`, or a typed reason why the
//! answer cannot be used. Safe repairs only (code fences, prose around the object, trailing
//! commas); after any repair the result is validated like everything else. Normalization:
//! names trimmed and whitespace-collapsed, types upper-snake-cased and checked against the
//! taxonomy, relations kept only between entities of the same answer.
//!
//! The steps, one module each: `raw` (the lenient reading), `repair` (the safe repairs),
//! `validate` (with `names` and `ground`, the checks), giving an `extraction`.

mod extraction;
mod ground;
mod names;
mod raw;
mod repair;
mod validate;

pub use extraction::{Drops, Entity, Extraction, Relation};
pub use ground::{GroundText, Grounding};
pub use names::{clean_name, name_key, type_key};
pub use validate::Checks;

use raw::{RawAnswer, RawRelations};
pub use repair::parse_json;
use repair::salvage_cut_off;
use validate::validate;

/// Why an answer is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// No content at all (a thinking model spent the budget reasoning, or an empty reply).
    Empty,
    /// The JSON is cut off (the answer hit its token budget).
    Truncated,
    /// Not JSON, even after safe repairs.
    Malformed(String),
    /// JSON, but not the shape of the contract.
    Invalid(String),
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerError::Empty => write!(f, "empty answer"),
            AnswerError::Truncated => write!(f, "answer cut off at the output budget"),
            AnswerError::Malformed(m) => write!(f, "answer is not JSON: {m}"),
            AnswerError::Invalid(m) => write!(f, "answer does not fit the schema: {m}"),
        }
    }
}

/// Parses and validates one answer. `cut_off` says whether the engine reported that the
/// answer hit its budget (`finish_reason`/`done_reason` "length"): then the complete records
/// before the cut are kept as a partial result (`partial`), or, with none, it is `Truncated`.
pub fn parse_answer(
    content: &str,
    cut_off: bool,
    checks: &Checks,
) -> Result<Extraction, AnswerError> {
    if content.trim().is_empty() {
        return Err(if cut_off {
            AnswerError::Truncated
        } else {
            AnswerError::Empty
        });
    }
    // Fast path: the answer as the schema shapes it, read in one pass without a tree.
    let relations_only = checks.known.is_some();
    let strict = if relations_only {
        serde_json::from_str::<RawRelations>(content).map(RawAnswer::from)
    } else {
        serde_json::from_str::<RawAnswer>(content)
    };
    let first_err = match strict {
        Ok(raw) => return Ok(validate(&raw, checks)),
        Err(e) => e,
    };
    // Valid JSON of another shape, or prose/fences/trailing commas around the object: the
    // lenient path (safe repairs, any field of any type read as absent).
    let value = match parse_json(content) {
        Ok(v) => v,
        Err(_) if cut_off => {
            let salvaged = salvage_cut_off(content)
                .and_then(|v| {
                    RawAnswer::from_value(&v, relations_only)
                        .ok()
                        .map(|raw| validate(&raw, checks))
                })
                .filter(|x| x.records() > 0);
            return match salvaged {
                Some(mut x) => {
                    x.partial = true;
                    Ok(x)
                }
                None => Err(AnswerError::Truncated),
            };
        }
        Err(e) => {
            return Err(AnswerError::Malformed(if first_err.is_data() {
                first_err.to_string()
            } else {
                e
            }))
        }
    };
    let raw = RawAnswer::from_value(&value, relations_only).map_err(AnswerError::Invalid)?;
    Ok(validate(&raw, checks))
}

#[cfg(test)]
mod tests {
    use super::repair::strip_trailing_commas;
    use super::*;
    use crate::prompt::{default_prompts_root, PromptSet, Taxonomy};

    fn tax() -> Taxonomy {
        PromptSet::load_domain(&default_prompts_root(), "general")
            .unwrap()
            .taxonomy
    }

    fn checks(t: &Taxonomy) -> Checks<'_> {
        Checks::taxonomy(t)
    }

    #[test]
    fn valid_answer_is_normalized() {
        let a = r#"{"entities":[{"name":"  Alice   Smith ","type":"person","description":"An engineer."},
            {"name":"Acme Corp.","type":"ORGANIZATION","description":"A company."}],
            "relations":[{"source":"alice smith","target":"ACME CORP","type":"works for","description":"Alice works at Acme.","strength":8}]}"#;
        let x = parse_answer(a, false, &checks(&tax())).unwrap();
        assert_eq!(x.entities[0].name, "Alice Smith");
        assert_eq!(x.entities[0].kind, "PERSON");
        assert_eq!(x.entities[1].name, "Acme Corp");
        assert_eq!(x.relations.len(), 1);
        let r = &x.relations[0];
        assert_eq!(
            (r.source.as_str(), r.target.as_str(), r.kind.as_str()),
            ("Alice Smith", "Acme Corp", "WORKS_FOR")
        );
        assert!((r.strength - 0.8).abs() < 1e-9);
        assert_eq!(x.dropped, 0);
    }

    #[test]
    fn fields_of_the_wrong_type_read_as_absent_on_both_paths() {
        // Strict JSON (the one-pass path) and the same answer in a fence (the repair path).
        let a = r#"{"entities":[{"name":"Oslo","type":"LOCATION","description":7},{"name":5,"type":"LOCATION"},"Bergen",
            {"name":"Norway","type":"LOCATION","description":{"a":[1]}}],
            "relations":[{"source":"Oslo","target":"Norway","type":"PART_OF","strength":"high"}]}"#;
        let fenced = format!("```json\n{a}\n```");
        for text in [a, fenced.as_str()] {
            let x = parse_answer(text, false, &checks(&tax())).unwrap();
            let names: Vec<&str> = x.entities.iter().map(|e| e.name.as_str()).collect();
            assert_eq!(names, ["Oslo", "Norway"], "{text}");
            assert_eq!(x.entities[0].description, "");
            assert_eq!(x.relations.len(), 1);
            assert!((x.relations[0].strength - 0.5).abs() < 1e-9);
            assert_eq!(x.dropped, 2, "{text}");
        }
    }

    #[test]
    fn one_entity_per_name_in_an_answer_repeats_and_other_types_counted() {
        let a = r#"{"entities":[{"name":"Paris","type":"LOCATION","description":"a"},{"name":"paris","type":"LOCATION","description":"b"},
            {"name":"Paris","type":"PERSON","description":"c"},{"name":"Paris","type":"LOCATION","description":"d"}],"relations":[]}"#;
        let x = parse_answer(a, false, &checks(&tax())).unwrap();
        let kinds: Vec<&str> = x.entities.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["LOCATION"]);
        assert_eq!(x.entities[0].description, "a");
        assert_eq!(x.drops.repeated_entity, 2);
        assert_eq!(x.drops.conflicting_type, 1);
        assert_eq!(x.dropped, 3);
    }

    #[test]
    fn out_of_taxonomy_types_and_dangling_relations_are_dropped() {
        let a = r#"{"entities":[{"name":"Bob","type":"ALIEN","description":""},{"name":"Paris","type":"LOCATION","description":""},{"name":"Rome","type":"LOCATION","description":""}],
            "relations":[{"source":"Bob","target":"Paris","type":"LOCATED_IN","description":"","strength":1},
                         {"source":"Paris","target":"Rome","type":"LIKES","description":"","strength":1},
                         {"source":"Paris","target":"Paris","type":"PART_OF","description":"","strength":1}]}"#;
        let x = parse_answer(a, false, &checks(&tax())).unwrap();
        assert_eq!(x.entities.len(), 2);
        assert!(x.relations.is_empty());
        assert_eq!(x.dropped, 4);
        let d = x.drops;
        assert_eq!(
            (
                d.unknown_entity_type,
                d.dropped_endpoint,
                d.unknown_relation_type,
                d.self_loop
            ),
            (1, 1, 1, 1)
        );
    }

    #[test]
    fn safe_repairs_then_validation() {
        let fenced = "Here is the JSON:\n```json\n{\"entities\":[{\"name\":\"Oslo\",\"type\":\"LOCATION\",\"description\":\"x\"},],\"relations\":[],}\n```";
        let x = parse_answer(fenced, false, &checks(&tax())).unwrap();
        assert_eq!(x.entities.len(), 1);
        // A comma inside a string is left alone.
        assert_eq!(strip_trailing_commas(r#"{"a":",}",}"#), r#"{"a":",}"}"#);
    }

    #[test]
    fn unusable_answers_say_why() {
        let tx = tax();
        let t = checks(&tx);
        assert_eq!(parse_answer("", false, &t), Err(AnswerError::Empty));
        assert_eq!(parse_answer("", true, &t), Err(AnswerError::Truncated));
        assert_eq!(
            parse_answer(r#"{"entities":[{"name":"Os"#, true, &t),
            Err(AnswerError::Truncated)
        );
        assert!(matches!(
            parse_answer("no json here", false, &t),
            Err(AnswerError::Malformed(_))
        ));
        assert!(matches!(
            parse_answer("[1,2]", false, &t),
            Err(AnswerError::Invalid(_))
        ));
        assert!(matches!(
            parse_answer(r#"{"relations":[]}"#, false, &t),
            Err(AnswerError::Invalid(_))
        ));
    }

    #[test]
    fn names_not_in_the_chunk_are_dropped_or_flagged_and_their_relations_counted() {
        let t = tax();
        let text = GroundText::new("Ada Lovelace wrote notes on the Analytical  Engine in London.");
        let a = r#"{"entities":[{"name":"Ada Lovelace","type":"PERSON","description":""},
            {"name":"BEGIN TEXT","type":"PERSON","description":""},
            {"name":"analytical engine","type":"PRODUCT","description":""},
            {"name":"Lon","type":"LOCATION","description":""}],
            "relations":[{"source":"Ada Lovelace","target":"BEGIN TEXT","type":"KNOWS","description":"","strength":1},
                         {"source":"Ada Lovelace","target":"Analytical Engine","type":"CREATED","description":"","strength":1}]}"#;
        let drop = Checks {
            taxonomy: &t,
            text: Some(&text),
            grounding: Grounding::Drop,
            known: None,
        };
        let x = parse_answer(a, false, &drop).unwrap();
        let names: Vec<&str> = x.entities.iter().map(|e| e.name.as_str()).collect();
        // Case and spacing aside; whole words only ("Lon" is not "London").
        assert_eq!(names, ["Ada Lovelace", "analytical engine"]);
        assert_eq!(x.drops.ungrounded, 2);
        assert_eq!(x.drops.dropped_endpoint, 1);
        assert_eq!(
            x.relations.len(),
            usize::from(t.relation_types.iter().any(|r| r.name == "CREATED"))
        );
        let flag = Checks {
            grounding: Grounding::Flag,
            ..drop
        };
        let x = parse_answer(a, false, &flag).unwrap();
        assert_eq!(x.entities.len(), 4);
        assert_eq!(x.entities.iter().filter(|e| e.ungrounded).count(), 2);
        assert_eq!(x.drops.ungrounded, 2);
        let off = Checks {
            grounding: Grounding::Off,
            ..drop
        };
        assert_eq!(parse_answer(a, false, &off).unwrap().drops.ungrounded, 0);
        assert!(!GroundText::new("x").contains("..."));
    }

    #[test]
    fn a_cut_off_answer_keeps_its_complete_records() {
        let tx = tax();
        let t = checks(&tx);
        let full = r#"{"entities":[{"name":"Oslo","type":"LOCATION","description":"a \"quoted\" }{ text"},{"name":"Norway","type":"LOCATION","description":"b"}],"relations":[{"source":"Oslo","target":"Norway","type":"PART_OF","description":"c","strength":0.9},{"source":"Norway","target":"Oslo","type":"PART_OF","description":"d","strength":0.5}]}"#;
        // Cut at every byte: never an error once one record is complete, never a record
        // that was not complete, and the records only grow as the cut moves right.
        let mut last = 0;
        for cut in 1..full.len() {
            if !full.is_char_boundary(cut) {
                continue;
            }
            match parse_answer(&full[..cut], true, &t) {
                Ok(x) => {
                    assert!(x.partial, "{cut}");
                    assert!(x.records() >= last, "{cut}: {} < {last}", x.records());
                    last = x.records();
                }
                Err(e) => {
                    assert_eq!(e, AnswerError::Truncated, "{cut}");
                    assert_eq!(last, 0, "{cut}: lost records");
                }
            }
        }
        assert_eq!(last, 4, "everything once only the closing brace is missing");
        let cut = full.find(r#"{"source":"Norway""#).unwrap() + 20;
        let x = parse_answer(&full[..cut], true, &t).unwrap();
        assert_eq!((x.entities.len(), x.relations.len()), (2, 1));
        assert_eq!(x.entities[0].description, "a \"quoted\" }{ text");
    }

    #[test]
    fn a_conflicting_type_keeps_the_answer_majority_and_signatures_drop() {
        let t = tax();
        let a = r#"{"entities":[{"name":"Ada","type":"LOCATION","description":"a"},{"name":"Ada","type":"PERSON","description":"b"},
            {"name":"Ada","type":"PERSON","description":"c"},{"name":"Acme","type":"ORGANIZATION","description":""}],
            "relations":[{"source":"Ada","target":"Acme","type":"WORKS_FOR","description":"","strength":1},
                         {"source":"Acme","target":"Ada","type":"WORKS_FOR","description":"","strength":1}]}"#;
        let x = parse_answer(a, false, &checks(&t)).unwrap();
        assert_eq!(x.entities[0].kind, "PERSON");
        assert_eq!(x.entities[0].description, "b");
        assert_eq!(x.drops.conflicting_type, 1);
        assert_eq!(x.drops.repeated_entity, 1);
        // ORGANIZATION -> PERSON is outside WORKS_FOR's signature.
        assert_eq!(x.relations.len(), 1);
        assert_eq!(x.drops.signature, 1);
    }

    #[test]
    fn a_relations_pass_answer_is_checked_against_the_known_entities() {
        let t = tax();
        let known = parse_answer(
            r#"{"entities":[{"name":"Ada","type":"PERSON","description":""},{"name":"Acme","type":"ORGANIZATION","description":""}]}"#,
            false,
            &checks(&t),
        )
        .unwrap()
        .entities;
        let c = Checks {
            known: Some(&known),
            ..checks(&t)
        };
        let a = r#"{"relations":[{"source":"ada","target":"Acme","type":"WORKS_FOR","description":"","strength":1},
            {"source":"Ada","target":"Bob","type":"WORKS_FOR","description":"","strength":1},
            {"source":"Ada","target":"Ada","type":"RELATES_TO","description":"","strength":1}]}"#;
        for text in [a.to_string(), format!("```json\n{a}\n```")] {
            let x = parse_answer(&text, false, &c).unwrap();
            assert!(x.entities.is_empty());
            assert_eq!(x.relations.len(), 1);
            assert_eq!(x.relations[0].source, "Ada");
            assert_eq!((x.drops.dangling_endpoint, x.drops.self_loop), (1, 1));
        }
        assert!(matches!(
            parse_answer(r#"{"entities":[]}"#, false, &c),
            Err(AnswerError::Invalid(_))
        ));
    }
}
