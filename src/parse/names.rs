//! How names and types are normalized, the same on every path (validation, the merge,
//! `eval`): a display form (`clean_name`), a key for "the same name" (`name_key`), and the
//! canonical type (`type_key`).

use std::borrow::Cow;

/// Normalized key of a name: case-folded, whitespace collapsed, outer punctuation dropped.
pub fn name_key(name: &str) -> String {
    let mut key = String::new();
    name_key_into(&mut key, name);
    key
}

/// Display form of a name: trimmed, whitespace collapsed, outer quotes/punctuation dropped.
pub fn clean_name(name: &str) -> String {
    clean_name_cow(name).into_owned()
}

/// `clean_name`, borrowing when the name is clean already (most are).
pub(super) fn clean_name_cow(name: &str) -> Cow<'_, str> {
    let outer = |c: char| {
        matches!(
            c,
            '"' | '\'' | '`' | '.' | ',' | ';' | ':' | '(' | ')' | '[' | ']' | '*' | '_'
        ) || c.is_whitespace()
    };
    let trimmed = name.trim_matches(outer);
    // Single spaces between words: nothing else to do.
    let mut prev_space = false;
    let regular = trimmed.chars().all(|c| {
        let ok = if c == ' ' {
            !prev_space
        } else {
            !c.is_whitespace()
        };
        prev_space = c == ' ';
        ok
    });
    if regular {
        return Cow::Borrowed(trimmed);
    }
    Cow::Owned(
        name.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .trim_matches(outer)
            .to_string(),
    )
}

/// `name_key` into a reused buffer.
pub(super) fn name_key_into(buf: &mut String, name: &str) {
    buf.clear();
    let clean = clean_name_cow(name);
    if clean.is_ascii() {
        buf.extend(clean.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        buf.push_str(&clean.to_lowercase());
    }
}

/// Upper snake case: "works for" -> "WORKS_FOR".
pub fn type_key(t: &str) -> String {
    let t = t.trim();
    let canonical = !t.is_empty()
        && !t.starts_with('_')
        && !t.ends_with('_')
        && !t.contains("__")
        && t.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if canonical {
        return t.to_string();
    }
    t.chars()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types_normalize_the_same_on_every_path() {
        for (raw, clean) in [
            ("Alice Smith", "Alice Smith"),
            ("  Alice   Smith ", "Alice Smith"),
            ("\"Acme Corp.\"", "Acme Corp"),
            ("\" Alice\"", "Alice"),
            ("Tab\tSeparated", "Tab Separated"),
            ("(x)", "x"),
            ("...", ""),
        ] {
            assert_eq!(clean_name(raw), clean, "{raw:?}");
        }
        for (raw, key) in [
            ("WORKS_FOR", "WORKS_FOR"),
            ("works for", "WORKS_FOR"),
            ("_PART__OF_", "PART_OF"),
            (" Located-In ", "LOCATED_IN"),
            ("X2", "X2"),
        ] {
            assert_eq!(type_key(raw), key, "{raw:?}");
        }
    }
}
