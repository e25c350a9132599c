//! Parse + validate: a model's answer -> a clean `Extraction`, or a typed reason why the
//! answer cannot be used. Safe repairs only (code fences, prose around the object, trailing
//! commas); after any repair the result is validated like everything else. Normalization:
//! names trimmed and whitespace-collapsed, types upper-snake-cased and checked against the
//! taxonomy, relations kept only between entities of the same answer.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::prompt::Taxonomy;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    pub source: String,
    pub target: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub strength: f64,
}

/// What one chunk yielded, after validation. Relation endpoints are entity names of the
/// same extraction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    pub entities: Vec<Entity>,
    pub relations: Vec<Relation>,
    /// Items the validator dropped (types outside the taxonomy, dangling endpoints).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl Extraction {
    /// Joins the extraction of a chunk's second half into the first's.
    pub fn absorb(&mut self, other: Extraction) {
        let known: std::collections::HashSet<(String, String)> = self
            .entities
            .iter()
            .map(|e| (name_key(&e.name), e.kind.clone()))
            .collect();
        self.entities.extend(
            other
                .entities
                .into_iter()
                .filter(|e| !known.contains(&(name_key(&e.name), e.kind.clone()))),
        );
        self.relations.extend(other.relations);
        self.dropped += other.dropped;
    }
}

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

/// Normalized key of a name: case-folded, whitespace collapsed, outer punctuation dropped.
pub fn name_key(name: &str) -> String {
    clean_name(name).to_lowercase()
}

/// Display form of a name: trimmed, whitespace collapsed, outer quotes/punctuation dropped.
pub fn clean_name(name: &str) -> String {
    let collapsed = name.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .trim_matches(|c: char| {
            matches!(
                c,
                '"' | '\'' | '`' | '.' | ',' | ';' | ':' | '(' | ')' | '[' | ']' | '*' | '_'
            ) || c.is_whitespace()
        })
        .to_string()
}

/// Upper snake case: "works for" -> "WORKS_FOR".
pub fn type_key(t: &str) -> String {
    t.trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect::<String>()
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Parses and validates one answer. `cut_off` says whether the engine reported that the
/// answer hit its budget (`finish_reason`/`done_reason` "length").
pub fn parse_answer(
    content: &str,
    cut_off: bool,
    taxonomy: &Taxonomy,
) -> Result<Extraction, AnswerError> {
    if content.trim().is_empty() {
        return Err(if cut_off {
            AnswerError::Truncated
        } else {
            AnswerError::Empty
        });
    }
    let value = match parse_json(content) {
        Ok(v) => v,
        Err(e) => {
            return Err(if cut_off {
                AnswerError::Truncated
            } else {
                AnswerError::Malformed(e)
            })
        }
    };
    validate(value, taxonomy)
}

/// Strict JSON first; then the safe repairs.
fn parse_json(content: &str) -> Result<serde_json::Value, String> {
    let first_err = match serde_json::from_str::<serde_json::Value>(content) {
        Ok(v) => return Ok(v),
        Err(e) => e.to_string(),
    };
    // Prose or fences around the object: take the outermost {...}.
    let start = content.find('{');
    let end = content.rfind('}');
    if let (Some(s), Some(e)) = (start, end) {
        if s < e {
            let inner = &content[s..=e];
            if let Ok(v) = serde_json::from_str(inner) {
                return Ok(v);
            }
            if let Ok(v) = serde_json::from_str(&strip_trailing_commas(inner)) {
                return Ok(v);
            }
        }
    }
    Err(first_err)
}

/// Removes commas directly before `]` or `}` outside strings.
fn strip_trailing_commas(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_str = false;
    let mut escaped = false;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some(']') | Some('}')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn str_field<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(|x| x.as_str())
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

fn validate(value: serde_json::Value, t: &Taxonomy) -> Result<Extraction, AnswerError> {
    let obj = value
        .as_object()
        .ok_or_else(|| AnswerError::Invalid("top level is not an object".into()))?;
    let entities = obj
        .get("entities")
        .and_then(|e| e.as_array())
        .ok_or_else(|| AnswerError::Invalid("no \"entities\" array".into()))?;
    let relations: &[serde_json::Value] = match obj.get("relations") {
        Some(r) => r
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| AnswerError::Invalid("\"relations\" is not an array".into()))?,
        None => &[],
    };
    let max_name = t.limits.max_name_chars as usize;
    let max_desc = t.limits.max_description_chars as usize;
    let mut out = Extraction::default();
    // name key -> index in out.entities (first type wins for endpoint resolution).
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut seen: std::collections::HashSet<(String, String)> = Default::default();
    for e in entities {
        let name = clean_name(str_field(e, "name").unwrap_or(""));
        let kind = type_key(str_field(e, "type").unwrap_or(""));
        if name.is_empty() || !t.entity_types.iter().any(|d| d.name == kind) {
            out.dropped += 1;
            continue;
        }
        let name = truncate_chars(&name, max_name);
        let key = name_key(&name);
        if !seen.insert((key.clone(), kind.clone())) {
            continue;
        }
        let description =
            truncate_chars(str_field(e, "description").unwrap_or("").trim(), max_desc);
        by_name.entry(key).or_insert(out.entities.len());
        out.entities.push(Entity {
            name,
            kind,
            description,
        });
    }
    let mut seen_rel = std::collections::HashSet::new();
    for r in relations {
        let src = by_name.get(&name_key(str_field(r, "source").unwrap_or("")));
        let dst = by_name.get(&name_key(str_field(r, "target").unwrap_or("")));
        let kind = type_key(str_field(r, "type").unwrap_or(""));
        let (Some(&s), Some(&d)) = (src, dst) else {
            out.dropped += 1;
            continue;
        };
        if s == d || !t.relation_types.iter().any(|x| x.name == kind) {
            out.dropped += 1;
            continue;
        }
        if !seen_rel.insert((s, d, kind.clone())) {
            continue;
        }
        let mut strength = r.get("strength").and_then(|x| x.as_f64()).unwrap_or(0.5);
        if !strength.is_finite() {
            strength = 0.5;
        } else if strength > 1.0 && strength <= 10.0 {
            // Some models answer on a 1-10 scale despite the schema.
            strength /= 10.0;
        }
        out.relations.push(Relation {
            source: out.entities[s].name.clone(),
            target: out.entities[d].name.clone(),
            kind,
            description: truncate_chars(str_field(r, "description").unwrap_or("").trim(), max_desc),
            strength: strength.clamp(0.0, 1.0),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::{default_prompts_root, PromptSet};

    fn tax() -> Taxonomy {
        PromptSet::load_domain(&default_prompts_root(), "general")
            .unwrap()
            .taxonomy
    }

    #[test]
    fn valid_answer_is_normalized() {
        let a = r#"{"entities":[{"name":"  Alice   Smith ","type":"person","description":"An engineer."},
            {"name":"Acme Corp.","type":"ORGANIZATION","description":"A company."}],
            "relations":[{"source":"alice smith","target":"ACME CORP","type":"works for","description":"Alice works at Acme.","strength":8}]}"#;
        let x = parse_answer(a, false, &tax()).unwrap();
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
    fn out_of_taxonomy_types_and_dangling_relations_are_dropped() {
        let a = r#"{"entities":[{"name":"Bob","type":"ALIEN","description":""},{"name":"Paris","type":"LOCATION","description":""},{"name":"Rome","type":"LOCATION","description":""}],
            "relations":[{"source":"Bob","target":"Paris","type":"LOCATED_IN","description":"","strength":1},
                         {"source":"Paris","target":"Rome","type":"LIKES","description":"","strength":1},
                         {"source":"Paris","target":"Paris","type":"PART_OF","description":"","strength":1}]}"#;
        let x = parse_answer(a, false, &tax()).unwrap();
        assert_eq!(x.entities.len(), 2);
        assert!(x.relations.is_empty());
        assert_eq!(x.dropped, 4);
    }

    #[test]
    fn safe_repairs_then_validation() {
        let fenced = "Here is the JSON:\n```json\n{\"entities\":[{\"name\":\"Oslo\",\"type\":\"LOCATION\",\"description\":\"x\"},],\"relations\":[],}\n```";
        let x = parse_answer(fenced, false, &tax()).unwrap();
        assert_eq!(x.entities.len(), 1);
        // A comma inside a string is left alone.
        assert_eq!(strip_trailing_commas(r#"{"a":",}",}"#), r#"{"a":",}"}"#);
    }

    #[test]
    fn unusable_answers_say_why() {
        let t = tax();
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
}
