//! Stable ids of what the merge writes: a short hash of what identifies the thing, so the
//! same entity or relation has the same id in every run (and in every shard of a run).

use crate::parse::name_key;

fn short_hash(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0x1f]);
    }
    h.finalize().to_hex()[..16].to_string()
}

/// Stable entity id from normalized name and type.
pub fn entity_id(name: &str, kind: &str) -> String {
    format!("ent_{}", short_hash(&[&name_key(name), kind]))
}

/// Stable entity id of a resolved entity: from its resolved key alone (its type may be
/// one of several).
pub fn resolved_entity_id(resolved_key: &str) -> String {
    format!("ent_{}", short_hash(&[resolved_key]))
}

/// Stable relation id from its endpoints and type.
pub fn relation_id(source_id: &str, kind: &str, target_id: &str) -> String {
    format!("rel_{}", short_hash(&[source_id, kind, target_id]))
}
