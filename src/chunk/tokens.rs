//! cl100k token counts for chunk sizing, without running tiktoken's pre-tokenizer regex.
//!
//! tiktoken splits text into pieces with a backtracking regex, then byte-pair-encodes each
//! piece. The regex was ~70% of the chunker's CPU. Here the same pattern is written out as
//! a scanner (below, alternative by alternative), with the Unicode classes it uses (`\p{L}`,
//! `\p{N}`, `\s`) taken from `regex-syntax`, the regex engine's own tables. Each piece is
//! then counted by tiktoken's BPE, through a cache: prose repeats its words, so most pieces
//! are counted once per process. Tests check that the pieces are tiktoken's, piece for
//! piece, on mixed-script and random text.
//!
//! tiktoken-rs 0.12's cl100k pattern:
//! `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s`

use std::cell::RefCell;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use tiktoken_rs::CoreBPE;

/// The tokenizer used for chunk sizes: built once per process (decoding the compiled-in
/// tables costs ~65 ms).
pub fn tokenizer() -> &'static CoreBPE {
    static BPE: std::sync::OnceLock<CoreBPE> = std::sync::OnceLock::new();
    // cl100k's tables are compiled in; constructing cannot fail for lack of network.
    BPE.get_or_init(|| {
        tiktoken_rs::cl100k_base().expect("cl100k tables are compiled into tiktoken-rs")
    })
}

/// Character classes of the pattern.
struct Classes {
    letter: Vec<(char, char)>,
    number: Vec<(char, char)>,
    space: Vec<(char, char)>,
}

fn ranges(pattern: &str) -> Vec<(char, char)> {
    use regex_syntax::hir::{Class, HirKind};
    let hir = regex_syntax::parse(pattern).expect("a Unicode class parses");
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => {
            c.ranges().iter().map(|r| (r.start(), r.end())).collect()
        }
        _ => unreachable!("{pattern} is a Unicode class"),
    }
}

fn classes() -> &'static Classes {
    static C: OnceLock<Classes> = OnceLock::new();
    C.get_or_init(|| Classes {
        letter: ranges(r"\p{L}"),
        number: ranges(r"\p{N}"),
        space: ranges(r"\s"),
    })
}

fn in_ranges(r: &[(char, char)], c: char) -> bool {
    r.binary_search_by(|&(lo, hi)| {
        if hi < c {
            std::cmp::Ordering::Less
        } else if lo > c {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    })
    .is_ok()
}

fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        in_ranges(&classes().letter, c)
    }
}

fn is_number(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_ranges(&classes().number, c)
    }
}

fn is_space(c: char) -> bool {
    if c.is_ascii() {
        matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
    } else {
        in_ranges(&classes().space, c)
    }
}

fn is_newline(c: char) -> bool {
    c == '\r' || c == '\n'
}

/// Calls `f(start, end)` for each piece of `text`, in order; the pieces tile the text.
pub fn pieces(text: &str, mut f: impl FnMut(usize, usize)) {
    let mut at = 0;
    while at < text.len() {
        let end = piece_end(text, at);
        debug_assert!(end > at);
        f(at, end);
        at = end;
    }
}

/// The char at byte `i` and the byte after it.
fn char_at(text: &str, i: usize) -> Option<(char, usize)> {
    text[i..].chars().next().map(|c| (c, i + c.len_utf8()))
}

/// End of the run of chars satisfying `p` starting at `i` (at most `max` chars).
fn run(text: &str, mut i: usize, max: usize, p: impl Fn(char) -> bool) -> usize {
    let mut n = 0;
    while n < max {
        match char_at(text, i) {
            Some((c, next)) if p(c) => {
                i = next;
                n += 1;
            }
            _ => break,
        }
    }
    i
}

fn piece_end(text: &str, i: usize) -> usize {
    let (c, after_c) = char_at(text, i).expect("i < len");
    // 1. '(?i:[sdmt]|ll|ve|re)
    if c == '\'' {
        let rest = &text[after_c..];
        let mut chars = rest.chars();
        let a = chars.next().map(|c| c.to_lowercase().collect::<String>());
        let b = chars.next().map(|c| c.to_lowercase().collect::<String>());
        if let Some(a) = a.as_deref() {
            // (?i) folds: 's' also matches U+017F (long s); 'k'-like folds do not occur here.
            if matches!(a, "s" | "d" | "m" | "t") || rest.starts_with('\u{17f}') {
                return after_c + rest.chars().next().map_or(0, char::len_utf8);
            }
            let two = (a, b.as_deref().unwrap_or(""));
            if matches!(two, ("l", "l") | ("v", "e") | ("r", "e")) {
                let mut end = after_c;
                for ch in rest.chars().take(2) {
                    end += ch.len_utf8();
                }
                return end;
            }
        }
    }
    // 2. [^\r\n\p{L}\p{N}]?+\p{L}++
    if is_letter(c) {
        return run(text, after_c, usize::MAX, is_letter);
    }
    if !is_newline(c) && !is_number(c) {
        if let Some((d, after_d)) = char_at(text, after_c) {
            if is_letter(d) {
                return run(text, after_d, usize::MAX, is_letter);
            }
        }
    }
    // 3. \p{N}{1,3}+
    if is_number(c) {
        return run(text, after_c, 2, is_number);
    }
    // 4.  ?[^\s\p{L}\p{N}]++[\r\n]*+
    let punct = |ch: char| !is_space(ch) && !is_letter(ch) && !is_number(ch);
    let start = if c == ' ' {
        match char_at(text, after_c) {
            Some((d, _)) if punct(d) => Some(after_c),
            _ => None,
        }
    } else if punct(c) {
        Some(i)
    } else {
        None
    };
    if let Some(s) = start {
        let end = run(text, s, usize::MAX, punct);
        return run(text, end, usize::MAX, is_newline);
    }
    // c is whitespace from here on.
    let ws_end = run(text, i, usize::MAX, is_space);
    // 5. \s++$
    if ws_end == text.len() {
        return ws_end;
    }
    // 6. \s*[\r\n]: up to the last newline of the run.
    if let Some(last_nl) = text[i..ws_end].rfind(['\r', '\n']) {
        return i + last_nl + 1;
    }
    // 7. \s+(?!\S): the run but its last char, when that leaves at least one.
    let last = text[i..ws_end]
        .chars()
        .next_back()
        .map_or(0, char::len_utf8);
    if ws_end - last > i {
        return ws_end - last;
    }
    // 8. \s
    after_c
}

/// Counts cl100k tokens of pieces, with a per-counter cache of piece counts.
#[derive(Default)]
pub struct Counter {
    cache: RefCell<FxHashMap<Box<str>, u32>>,
}

/// Entries kept before the cache starts over (bounded memory on endless vocabularies).
const CACHE_MAX: usize = 1 << 18;
/// Longer pieces are counted without caching (rare: long words, runs of symbols).
const CACHE_PIECE_MAX: usize = 48;

impl Counter {
    pub fn count_piece(&self, piece: &str) -> u32 {
        if piece.len() > CACHE_PIECE_MAX {
            return tokenizer().encode_ordinary(piece).len() as u32;
        }
        if let Some(&n) = self.cache.borrow().get(piece) {
            return n;
        }
        let n = tokenizer().encode_ordinary(piece).len() as u32;
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(piece.into(), n);
        n
    }

    /// Token count of a whole text.
    pub fn count(&self, text: &str) -> usize {
        let mut n = 0usize;
        pieces(text, |a, b| n += self.count_piece(&text[a..b]) as usize);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// tiktoken's own pieces, from the same pattern.
    fn reference(text: &str) -> Vec<&str> {
        static RE: OnceLock<fancy_regex::Regex> = OnceLock::new();
        let re = RE.get_or_init(|| {
            fancy_regex::Regex::new(
                "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s",
            )
            .unwrap()
        });
        re.find_iter(text).map(|m| m.unwrap().as_str()).collect()
    }

    fn ours(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        pieces(text, |a, b| out.push(&text[a..b]));
        out
    }

    #[test]
    fn pieces_are_tiktokens_on_mixed_text() {
        for text in [
            "Hello world",
            "I'm here, we'll see; they've gone. It's 2024-11-27!",
            "ALL'S WELL 'LL 'Re 'x",
            "  leading and trailing  \n\n  ",
            "a  b   c\t\td\n\ne\r\n\r\nf \n g",
            "numbers 1234567 and 3.14159, ١٢٣٤٥ and Ⅻ",
            "東京は日本の首都です。 Zoë naïve café",
            "नमस्ते दुनिया, हिन्दी में",
            "emoji 🚀🚀 and ∑∫ symbols ... !!!\n",
            "code: fn main() { println!(\"x\"); }\n    let y = x?;\n",
            "https://example.org/p?q=1&r=2#frag",
            "\u{a0}non\u{2003}breaking\u{3000}spaces",
            "'",
            " ",
            "\n",
            "x",
        ] {
            assert_eq!(ours(text), reference(text), "{text:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn pieces_are_tiktokens_on_random_text(text in "[a-zA-Z0-9 \\t\\n\\r'.,;:!?()\"\\-éü東京ी्ं١Ⅻ🚀\u{a0}\u{2003}ſ]{0,80}") {
            prop_assert_eq!(ours(&text), reference(&text));
        }
    }

    #[test]
    fn counts_match_tiktoken() {
        let text =
            "Alice Smith's team (est. 1999) works in Berlin & Paris.\n\n東京は日本の首都です。"
                .repeat(20);
        let c = Counter::default();
        assert_eq!(c.count(&text), tokenizer().encode_ordinary(&text).len());
        // Second time from the cache.
        assert_eq!(c.count(&text), tokenizer().encode_ordinary(&text).len());
    }
}
