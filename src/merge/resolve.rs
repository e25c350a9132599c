//! Entity resolution: when two extracted names are the same thing. The merge folds the
//! entities whose resolved keys are equal into one; `eval` compares names with the same
//! key, so a score and a graph agree on what "the same name" means.
//!
//! A name's key is built in stages; each stage is one rule, applied on top of the previous
//! ones (the merge credits a fold to the first stage at which two names become equal):
//!
//! | stage | rule | example |
//! |---|---|---|
//! | 0 | the validator's key: outer punctuation trimmed, whitespace collapsed, lowercase | `"Acme "` = `acme` |
//! | 1 | `case_folded`: Unicode NFKC, then case folding (lowercase; ß, ẞ -> ss; final ς -> σ) | `Ｇｍｂｈ` = `gmbh`, `STRASSE` = `straße` |
//! | 2 | `punctuation`: curly and other quotes -> `'`/`"`, every dash -> `-`, any whitespace -> one space | `O’Neil` = `O'Neil`, `Hewlett–Packard` = `Hewlett-Packard` |
//! | 3 | `possessive`: a final `'s` (or a lone `'` after s) dropped | `Acme's` = `Acme` |
//! | 4 | `leading_article`: a leading `the`, `a`, `an` dropped | `The Guardian` = `Guardian` |
//! | 5 | `legal_suffix`: a final Inc., Incorporated, Ltd, Limited, GmbH, Corp., Corporation, AG, S.A., SA, LLC, L.L.C., plc dropped (with a comma before it) | `Acme, Inc.` = `Acme` |
//! | 6 | `acronym`: an acronym defined in a chunk maps to its expansion (see [`acronym_of`], [`defined_acronym`]) | `NASA` = `National Aeronautics and Space Administration` |
//!
//! A rule that would leave nothing (the name `The`, the name `Inc.`) does not apply.
//! Articles are English only; a name that is only an article plus one letter stays.

use unicode_normalization::UnicodeNormalization;

use crate::parse::name_key;

/// The rules in the order they apply; the names are the keys of `report.json`'s
/// `resolution` counts.
pub const RULES: [&str; 6] = [
    "case_folded",
    "punctuation",
    "possessive",
    "leading_article",
    "legal_suffix",
    "acronym",
];

/// Entities of one name under several types, folded into one.
pub const TYPE_RULE: &str = "type_merged";

/// Legal-form suffixes, compared after the earlier stages (lowercase, single spaces) and
/// without a final period.
const LEGAL_SUFFIXES: [&str; 13] = [
    "inc",
    "incorporated",
    "ltd",
    "limited",
    "gmbh",
    "corp",
    "corporation",
    "ag",
    "s.a",
    "sa",
    "llc",
    "l.l.c",
    "plc",
];

/// Words skipped when an expansion's initials are taken ("Department of Energy" -> DOE is
/// tried with and without them).
const MINOR_WORDS: [&str; 9] = ["and", "of", "the", "for", "in", "on", "to", "de", "&"];

/// Keys of a name after each stage 0..=5 (`keys[5]` is the resolved key without acronyms).
pub fn stage_keys(name: &str) -> [String; 6] {
    let k0 = name_key(name);
    let k1 = fold_case(&k0);
    let k2 = punctuation(&k1);
    let k3 = drop_possessive(&k2);
    let k4 = drop_article(&k3);
    let k5 = drop_legal_suffix(&k4);
    [k0, k1, k2, k3, k4, k5]
}

/// The resolved key of a name (stages 0 to 5; acronyms need the chunk, see the merge).
pub fn resolved_key(name: &str) -> String {
    let k = name_key(name);
    let k = punctuation(&fold_case(&k));
    drop_legal_suffix(&drop_article(&drop_possessive(&k)))
}

/// Stage 1: NFKC, then case folding (Unicode lowercase plus the full folds that lowercase
/// does not do).
pub fn fold_case(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.nfkc().flat_map(char::to_lowercase) {
        match c {
            'ß' => out.push_str("ss"),
            'ς' => out.push('σ'),
            'ſ' => out.push('s'),
            c => out.push(c),
        }
    }
    out
}

/// Stage 2: quotes, dashes, whitespace.
pub fn punctuation(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        let c = match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{00B4}' | '`'
            | '\u{02BC}' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{00AB}' | '\u{00BB}'
            | '\u{2033}' => '"',
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => '-',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' {
            if !space && !out.is_empty() {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    let t = out.trim_matches(|c: char| c == ' ' || c == '"' || c == '\'');
    if t.len() == out.len() {
        out
    } else {
        t.to_string()
    }
}

/// Stage 3: a final possessive.
pub fn drop_possessive(s: &str) -> String {
    if let Some(base) = s.strip_suffix("'s") {
        if !base.trim().is_empty() {
            return base.trim_end().to_string();
        }
    }
    if let Some(base) = s.strip_suffix('\'') {
        if base.ends_with('s') && base.len() > 1 {
            return base.to_string();
        }
    }
    s.to_string()
}

/// Stage 4: a leading English article.
pub fn drop_article(s: &str) -> String {
    for article in ["the ", "a ", "an "] {
        if let Some(rest) = s.strip_prefix(article) {
            // "A B" (a one-letter rest) is more likely a name than an article.
            if rest.chars().count() > 1 {
                return rest.to_string();
            }
        }
    }
    s.to_string()
}

/// Stage 5: a final legal-form suffix.
pub fn drop_legal_suffix(s: &str) -> String {
    let Some((head, last)) = s.rsplit_once(' ') else {
        return s.to_string();
    };
    if !LEGAL_SUFFIXES.contains(&last.trim_end_matches('.')) {
        return s.to_string();
    }
    let head = head.trim_end_matches([',', ' ']);
    if head.is_empty() {
        return s.to_string();
    }
    head.to_string()
}

/// Whether a (display) name looks like an acronym: one word of 2 to 10 characters, at
/// least two uppercase letters, no lowercase letter except a plural `s` at the end.
pub fn is_acronym(name: &str) -> bool {
    let n = name.trim();
    let len = n.chars().count();
    if !(2..=10).contains(&len) || n.contains(char::is_whitespace) {
        return false;
    }
    let body = n.strip_suffix('s').unwrap_or(n);
    body.chars().filter(|c| c.is_uppercase()).count() >= 2
        && body
            .chars()
            .all(|c| c.is_uppercase() || c.is_ascii_digit() || c == '&' || c == '.')
}

/// The letters of an acronym, lowercase ("N.A.S.A." -> "nasa").
fn acronym_letters(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Initials of a multi-word name, with and without minor words ("and", "of", ...).
fn initials(name: &str) -> Option<(String, String)> {
    let words: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() < 2 {
        return None;
    }
    let first = |w: &&str| w.chars().find(|c| c.is_alphanumeric());
    let all: String = words
        .iter()
        .filter_map(first)
        .flat_map(char::to_lowercase)
        .collect();
    let major: String = words
        .iter()
        .filter(|w| !MINOR_WORDS.contains(&w.to_lowercase().as_str()))
        .filter_map(first)
        .flat_map(char::to_lowercase)
        .collect();
    Some((all, major))
}

/// Whether `acronym` (display form) abbreviates `expansion` by its words' initials.
pub fn acronym_of(acronym: &str, expansion: &str) -> bool {
    if !is_acronym(acronym) {
        return false;
    }
    let letters = acronym_letters(acronym.trim().strip_suffix('s').unwrap_or(acronym));
    let letters_full = acronym_letters(acronym);
    // Initials of the resolved form: "Acme Inc." is one word, not A + I.
    match initials(&resolved_key(expansion)) {
        Some((all, major)) => {
            letters.len() >= 2
                && [&all, &major]
                    .iter()
                    .any(|i| **i == letters || **i == letters_full)
        }
        None => false,
    }
}

/// A name of the form "Long Name (ABBR)" where ABBR abbreviates Long Name: returns
/// (Long Name, ABBR).
pub fn defined_acronym(name: &str) -> Option<(&str, &str)> {
    let n = name.trim().strip_suffix(')')?;
    let open = n.rfind(" (")?;
    let (long, abbr) = (n[..open].trim(), n[open + 2..].trim());
    acronym_of(abbr, long).then_some((long, abbr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_folded_nfkc_and_full_folds() {
        assert_eq!(resolved_key("ＡＣＭＥ"), "acme");
        assert_eq!(resolved_key("STRASSE"), resolved_key("Straße"));
        assert_eq!(resolved_key("ΟΔΟΣ"), resolved_key("οδος"));
        assert_eq!(stage_keys("Straße")[0], "straße");
        assert_eq!(stage_keys("Straße")[1], "strasse");
    }

    #[test]
    fn punctuation_quotes_dashes_whitespace() {
        assert_eq!(resolved_key("O’Neil Labs"), resolved_key("O'Neil Labs"));
        assert_eq!(
            resolved_key("Hewlett–Packard"),
            resolved_key("Hewlett-Packard")
        );
        assert_eq!(resolved_key("Hewlett\u{2014}Packard"), "hewlett-packard");
        assert_eq!(resolved_key("New\u{2003}York"), "new york");
        assert_eq!(resolved_key("“Project X”"), "project x");
    }

    #[test]
    fn possessive_dropped() {
        assert_eq!(resolved_key("Acme's"), "acme");
        assert_eq!(resolved_key("Acme’s"), "acme");
        assert_eq!(resolved_key("Siemens'"), "siemens");
        // Not a possessive: nothing before it, or no s.
        assert_eq!(resolved_key("'s"), "s");
        assert_eq!(resolved_key("Rock'n'roll"), "rock'n'roll");
    }

    #[test]
    fn leading_article_dropped() {
        assert_eq!(resolved_key("The Guardian"), "guardian");
        assert_eq!(resolved_key("the  Guardian"), "guardian");
        assert_eq!(resolved_key("An Apple"), "apple");
        // The name is only an article, or article + one letter: kept.
        assert_eq!(resolved_key("The"), "the");
        assert_eq!(resolved_key("A B"), "a b");
        // Not an article: a word that starts like one.
        assert_eq!(resolved_key("Theranos"), "theranos");
    }

    #[test]
    fn legal_suffix_dropped() {
        for n in [
            "Acme Inc.",
            "Acme, Inc.",
            "Acme Ltd",
            "Acme GmbH",
            "Acme Corp.",
            "Acme AG",
            "Acme S.A.",
            "Acme LLC",
            "Acme plc",
            "ACME Corporation",
        ] {
            assert_eq!(resolved_key(n), "acme", "{n}");
        }
        assert_eq!(resolved_key("Inc."), "inc");
        assert_eq!(resolved_key("The Acme Company's"), "acme company");
        // Only at the end, only as a word.
        assert_eq!(resolved_key("AG Barr"), "ag barr");
        assert_eq!(resolved_key("Agrippa"), "agrippa");
    }

    #[test]
    fn acronyms_by_initials() {
        assert!(acronym_of(
            "NASA",
            "National Aeronautics and Space Administration"
        ));
        assert!(acronym_of("DOE", "Department of Energy"));
        assert!(acronym_of("GPUs", "Graphics Processing Units"));
        assert!(!acronym_of("NASA", "Nice And Simple"));
        assert!(!acronym_of(
            "Nasa",
            "National Aeronautics Space Administration"
        ));
        assert!(!acronym_of("N", "National"));
        assert!(!acronym_of("AI", "Acme Inc."));
        assert!(acronym_of("USA", "the United States of America"));
        assert_eq!(
            defined_acronym("National Aeronautics and Space Administration (NASA)"),
            Some(("National Aeronautics and Space Administration", "NASA"))
        );
        assert_eq!(defined_acronym("Paris (France)"), None);
        assert_eq!(defined_acronym("Acme (ACME)"), None);
    }
}
