//! The JSON schemas the engines enforce while decoding, built from the taxonomy: the joint
//! answer (entities and relations), and the two passes of `--relations two-pass` (entities
//! only; relations whose endpoints are enums of the entities the first pass kept).

use serde::Serialize;
use serde_json::{json, Value};

use super::taxonomy::{Taxonomy, TypeDef};

/// A JSON value whose objects keep their keys in the order written (a `serde_json::Map`
/// sorts them, and the order of a schema's `properties` is the order in which a
/// grammar-constrained model writes the fields).
#[derive(Debug, Clone)]
pub enum Ordered {
    Object(Vec<(&'static str, Ordered)>),
    Array(Vec<Ordered>),
    Value(Value),
}

impl Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Ordered::Value(v) => v.serialize(ser),
            Ordered::Array(items) => items.serialize(ser),
            Ordered::Object(fields) => {
                let mut m = ser.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

impl std::fmt::Display for Ordered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        f.write_str(&text)
    }
}

/// The answer's JSON schema: types as enums, arrays and strings bounded. Fields come in the
/// order a model should decide them: an entity's name before its type and description; a
/// relation's source, target and type before its description and strength.
pub fn answer_schema(t: &Taxonomy) -> Ordered {
    use Ordered::{Object as O, Value as V};
    let l = t.limits;
    let names = |v: &[TypeDef]| v.iter().map(|d| d.name.clone()).collect::<Vec<_>>();
    let name = || V(json!({"type": "string", "minLength": 1, "maxLength": l.max_name_chars}));
    let desc = || V(json!({"type": "string", "maxLength": l.max_description_chars}));
    let enumeration = |types: &[TypeDef]| V(json!({"type": "string", "enum": names(types)}));
    let array = |max: u32, props: Vec<(&'static str, Ordered)>| {
        let required: Vec<&str> = props.iter().map(|(k, _)| *k).collect();
        O(vec![
            ("type", V(json!("array"))),
            ("maxItems", V(json!(max))),
            (
                "items",
                O(vec![
                    ("type", V(json!("object"))),
                    ("properties", O(props)),
                    ("required", V(json!(required))),
                    ("additionalProperties", V(json!(false))),
                ]),
            ),
        ])
    };
    O(vec![
        ("type", V(json!("object"))),
        (
            "properties",
            O(vec![
                (
                    "entities",
                    array(
                        l.max_entities,
                        vec![
                            ("name", name()),
                            ("type", enumeration(&t.entity_types)),
                            ("description", desc()),
                        ],
                    ),
                ),
                (
                    "relations",
                    array(
                        l.max_relations,
                        vec![
                            ("source", name()),
                            ("target", name()),
                            ("type", enumeration(&t.relation_types)),
                            ("description", desc()),
                            (
                                "strength",
                                V(json!({"type": "number", "minimum": 0, "maximum": 1})),
                            ),
                        ],
                    ),
                ),
            ]),
        ),
        ("required", V(json!(["entities", "relations"]))),
        ("additionalProperties", V(json!(false))),
    ])
}

/// The schema of the entities pass: the joint schema without `relations`.
pub fn entity_schema(t: &Taxonomy) -> Ordered {
    let mut s = answer_schema(t);
    if let Ordered::Object(fields) = &mut s {
        for (k, v) in fields.iter_mut() {
            match (*k, v) {
                ("properties", Ordered::Object(props)) => props.retain(|(p, _)| *p != "relations"),
                ("required", v) => *v = Ordered::Value(json!(["entities"])),
                _ => {}
            }
        }
    }
    s
}

/// The schema of the relations pass over a chunk's `entities` (name, type): `source` and
/// `target` are enums of those names. With signatures, one `anyOf` branch per group of
/// relation types that allow the same endpoints, each endpoint enum restricted to the
/// entities of the allowed types; a branch with an empty enum is left out. None: no branch
/// is left (fewer than two names, or no type fits them): no relation request.
pub fn relation_schema(t: &Taxonomy, entities: &[(&str, &str)]) -> Option<Ordered> {
    use super::taxonomy::End;
    use Ordered::{Object as O, Value as V};
    if entities.len() < 2 {
        return None;
    }
    let l = t.limits;
    let names_for = |r: &TypeDef, end: End| -> Vec<&str> {
        entities
            .iter()
            .filter(|(_, k)| r.allows(end, k))
            .map(|(n, _)| *n)
            .collect()
    };
    // (source names, target names) -> relation types, in taxonomy order.
    let mut groups: Vec<(Vec<&str>, Vec<&str>, Vec<&str>)> = Vec::new();
    for r in &t.relation_types {
        let (src, dst) = (names_for(r, End::Source), names_for(r, End::Target));
        // Two ends that can only be the same single entity make only a self-loop.
        if src.is_empty() || dst.is_empty() || (src.len() == 1 && src == dst) {
            continue;
        }
        match groups.iter_mut().find(|g| g.0 == src && g.1 == dst) {
            Some(g) => g.2.push(&r.name),
            None => groups.push((src, dst, vec![&r.name])),
        }
    }
    if groups.is_empty() {
        return None;
    }
    let items = if groups.len() == 1 {
        relation_item(
            &groups[0].0,
            &groups[0].1,
            &groups[0].2,
            l.max_description_chars,
        )
    } else {
        let branches = groups
            .iter()
            .map(|(s, d, k)| relation_item(s, d, k, l.max_description_chars))
            .collect();
        O(vec![("anyOf", Ordered::Array(branches))])
    };
    Some(O(vec![
        ("type", V(json!("object"))),
        (
            "properties",
            O(vec![(
                "relations",
                O(vec![
                    ("type", V(json!("array"))),
                    ("maxItems", V(json!(l.max_relations))),
                    ("items", items),
                ]),
            )]),
        ),
        ("required", V(json!(["relations"]))),
        ("additionalProperties", V(json!(false))),
    ]))
}

/// One kind of relation item: endpoints from `src` and `dst`, a type from `types`.
fn relation_item(src: &[&str], dst: &[&str], types: &[&str], max_description: u32) -> Ordered {
    use Ordered::{Object as O, Value as V};
    O(vec![
        ("type", V(json!("object"))),
        (
            "properties",
            O(vec![
                ("source", V(json!({"type": "string", "enum": src}))),
                ("target", V(json!({"type": "string", "enum": dst}))),
                ("type", V(json!({"type": "string", "enum": types}))),
                (
                    "description",
                    V(json!({"type": "string", "maxLength": max_description})),
                ),
                (
                    "strength",
                    V(json!({"type": "number", "minimum": 0, "maximum": 1})),
                ),
            ]),
        ),
        (
            "required",
            V(json!([
                "source",
                "target",
                "type",
                "description",
                "strength"
            ])),
        ),
        ("additionalProperties", V(json!(false))),
    ])
}
