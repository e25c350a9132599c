//! A domain's taxonomy as `taxonomy.toml` writes it: entity and relation types with their
//! definitions, relation type signatures (which entity types a relation may connect), and
//! the answer's bounds; checked when loaded.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TypeDef {
    pub name: String,
    pub definition: String,
    /// A relation type's signature: the entity types its source may have (absent: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Vec<String>>,
    /// The entity types its target may have (absent: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Vec<String>>,
}

impl TypeDef {
    /// A relation type's signature allows an entity of type `kind` at this end.
    pub fn allows(&self, end: End, kind: &str) -> bool {
        let list = match end {
            End::Source => &self.source,
            End::Target => &self.target,
        };
        list.as_ref().is_none_or(|l| l.iter().any(|t| t == kind))
    }

    /// The type has a signature at either end.
    pub fn has_signature(&self) -> bool {
        self.source.is_some() || self.target.is_some()
    }
}

/// One end of a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Source,
    Target,
}

/// Bounds of one answer. They keep answers short, make the decoder stop, and size the
/// output budget.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub max_entities: u32,
    pub max_relations: u32,
    pub max_name_chars: u32,
    pub max_description_chars: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entities: 24,
            max_relations: 24,
            max_name_chars: 80,
            max_description_chars: 160,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Bump when the meaning of the taxonomy changes without its text changing.
    #[serde(default)]
    pub version: u32,
    pub entity_types: Vec<TypeDef>,
    pub relation_types: Vec<TypeDef>,
    #[serde(default)]
    pub limits: Limits,
}

impl Limits {
    /// These bounds scaled down (for small contexts), never below a useful minimum.
    pub fn scaled(self, f: f64) -> Limits {
        let s = |v: u32, min: u32| ((f64::from(v) * f).round() as u32).max(min).min(v);
        Limits {
            max_entities: s(self.max_entities, 2),
            max_relations: s(self.max_relations, 2),
            max_name_chars: s(self.max_name_chars, 24),
            max_description_chars: s(self.max_description_chars, 24),
        }
    }
}

pub(super) fn validate_taxonomy(t: &Taxonomy) -> Result<(), String> {
    if t.entity_types.is_empty() {
        return Err("entity_types is empty".into());
    }
    if t.relation_types.is_empty() {
        return Err("relation_types is empty".into());
    }
    for (kind, list) in [("entity", &t.entity_types), ("relation", &t.relation_types)] {
        let mut seen = std::collections::HashSet::new();
        for td in list {
            let ok = !td.name.is_empty()
                && td
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(format!(
                    "{kind} type '{}' must be UPPER_SNAKE_CASE",
                    td.name
                ));
            }
            if !seen.insert(td.name.as_str()) {
                return Err(format!("{kind} type '{}' is listed twice", td.name));
            }
        }
    }
    let l = t.limits;
    if l.max_entities == 0 || l.max_name_chars < 8 || l.max_description_chars < 8 {
        return Err("limits are too small to hold an answer".into());
    }
    Ok(())
}

/// A relation type's signature as written, with where each part is in the file.
#[derive(Deserialize)]
struct SpannedType {
    name: String,
    #[serde(default)]
    source: Option<toml::Spanned<Vec<toml::Spanned<String>>>>,
    #[serde(default)]
    target: Option<toml::Spanned<Vec<toml::Spanned<String>>>>,
}

#[derive(Deserialize)]
struct SpannedTaxonomy {
    #[serde(default)]
    entity_types: Vec<SpannedType>,
    #[serde(default)]
    relation_types: Vec<SpannedType>,
}

/// The line (from 1) of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Checks the signatures of `text` (the file `t` was read from): only relation types have
/// them, a list is not empty, and it names entity types of the taxonomy. The error names
/// the line.
pub(super) fn check_signatures(text: &str, t: &Taxonomy) -> Result<(), String> {
    let spanned: SpannedTaxonomy = toml::from_str(text).map_err(|e| e.to_string())?;
    for e in &spanned.entity_types {
        if let Some(end) = e.source.as_ref().or(e.target.as_ref()) {
            return Err(format!(
                "line {}: entity type '{}' has a signature (source/target); only relation types take one",
                line_at(text, end.span().start),
                e.name
            ));
        }
    }
    let known: Vec<&str> = t.entity_types.iter().map(|e| e.name.as_str()).collect();
    for r in &spanned.relation_types {
        for (end, list) in [("source", &r.source), ("target", &r.target)] {
            let Some(list) = list else { continue };
            if list.get_ref().is_empty() {
                return Err(format!(
                    "line {}: relation type '{}' has an empty {end} list; name at least one entity type, or leave {end} out to allow any",
                    line_at(text, list.span().start),
                    r.name
                ));
            }
            for ty in list.get_ref() {
                if !known.contains(&ty.get_ref().as_str()) {
                    return Err(format!(
                        "line {}: relation type '{}' {end} names '{}', which is not an entity type (known: {})",
                        line_at(text, ty.span().start),
                        r.name,
                        ty.get_ref(),
                        known.join(", ")
                    ));
                }
            }
        }
    }
    Ok(())
}
