//! What a chunk yields once its answer is validated (`Extraction`: entities, relations,
//! and what validation dropped, by reason), as the checkpoint stores it and the merge reads
//! it. Also how two halves of a split chunk join, and how an extraction is shown back to
//! the model (gleaning).

use serde::{Deserialize, Serialize};

use super::names::name_key;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    /// The name does not occur in the chunk's text (kept because `--grounding flag`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub ungrounded: bool,
}

fn is_false(v: &bool) -> bool {
    !*v
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
    /// Items the validator dropped (all reasons; `drops` says which).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u32,
    /// The same, per reason.
    #[serde(default, skip_serializing_if = "Drops::is_empty")]
    pub drops: Drops,
    /// The answer was cut off at its output budget: these are its complete records.
    #[serde(default, skip_serializing_if = "is_false")]
    pub partial: bool,
}

/// Why the validator dropped items of an answer: what a model does wrong, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Drops {
    /// An entity type outside the taxonomy.
    pub unknown_entity_type: u32,
    /// An entity without a usable name.
    pub empty_name: u32,
    /// An entity whose name does not occur in the chunk's text (prompt text, inventions).
    pub ungrounded: u32,
    /// The same name and type again in one answer.
    pub repeated_entity: u32,
    /// The same name under another type in one answer: the mention is folded into the
    /// name's most frequent type in the answer (ties: the first), the entity is kept.
    pub conflicting_type: u32,
    /// A relation type outside the taxonomy.
    pub unknown_relation_type: u32,
    /// A relation endpoint that names no entity of the answer.
    pub dangling_endpoint: u32,
    /// A relation endpoint whose entity was dropped (ungrounded, unknown type).
    pub dropped_endpoint: u32,
    /// A relation from an entity to itself.
    pub self_loop: u32,
    /// The same (source, type, target) again in one answer.
    pub repeated_relation: u32,
    /// A relation whose source or target type is outside its type's signature
    /// (`source`/`target` of the relation type in the taxonomy).
    pub signature: u32,
}

impl Drops {
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    pub fn total(&self) -> u32 {
        self.unknown_entity_type
            + self.empty_name
            + self.ungrounded
            + self.repeated_entity
            + self.conflicting_type
            + self.unknown_relation_type
            + self.dangling_endpoint
            + self.dropped_endpoint
            + self.self_loop
            + self.repeated_relation
            + self.signature
    }

    pub fn add(&mut self, o: &Drops) {
        self.unknown_entity_type += o.unknown_entity_type;
        self.empty_name += o.empty_name;
        self.ungrounded += o.ungrounded;
        self.repeated_entity += o.repeated_entity;
        self.conflicting_type += o.conflicting_type;
        self.unknown_relation_type += o.unknown_relation_type;
        self.dangling_endpoint += o.dangling_endpoint;
        self.dropped_endpoint += o.dropped_endpoint;
        self.self_loop += o.self_loop;
        self.repeated_relation += o.repeated_relation;
        self.signature += o.signature;
    }
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl Extraction {
    /// Joins the extraction of a chunk's second half into the first's.
    pub fn absorb(&mut self, other: Extraction) {
        if self.entities.is_empty() && self.relations.is_empty() {
            let (dropped, drops, partial) = (self.dropped, self.drops, self.partial);
            *self = other;
            self.dropped += dropped;
            self.drops.add(&drops);
            self.partial |= partial;
            return;
        }
        // One type per name in a chunk's result, as in one answer: the first one.
        let known: std::collections::HashSet<String> =
            self.entities.iter().map(|e| name_key(&e.name)).collect();
        self.entities.extend(
            other
                .entities
                .into_iter()
                .filter(|e| !known.contains(&name_key(&e.name))),
        );
        let rels: std::collections::HashSet<(String, String, String)> = self
            .relations
            .iter()
            .map(|r| (name_key(&r.source), r.kind.clone(), name_key(&r.target)))
            .collect();
        self.relations
            .extend(other.relations.into_iter().filter(|r| {
                !rels.contains(&(name_key(&r.source), r.kind.clone(), name_key(&r.target)))
            }));
        self.dropped += other.dropped;
        self.drops.add(&other.drops);
        self.partial |= other.partial;
    }

    /// The records as the answer's JSON (no validation counters): what a follow-up request
    /// shows the model as its earlier answer.
    pub fn answer_json(&self) -> String {
        #[derive(Serialize)]
        struct E<'a> {
            name: &'a str,
            #[serde(rename = "type")]
            kind: &'a str,
            description: &'a str,
        }
        #[derive(Serialize)]
        struct A<'a> {
            entities: Vec<E<'a>>,
            relations: &'a [Relation],
        }
        let a = A {
            entities: self
                .entities
                .iter()
                .map(|e| E {
                    name: &e.name,
                    kind: &e.kind,
                    description: &e.description,
                })
                .collect(),
            relations: &self.relations,
        };
        serde_json::to_string(&a).unwrap_or_default()
    }

    /// Records of the answer: entities plus relations.
    pub fn records(&self) -> usize {
        self.entities.len() + self.relations.len()
    }
}
