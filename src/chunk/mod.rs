//! Chunk: token-sized pieces with overlap, cut at the largest semantic boundary that fits
//! (Markdown sections, paragraphs, sentences, words), by `text-splitter`. Tokens are counted
//! with tiktoken's cl100k BPE, compiled into the binary: no download at run time. The count
//! is a model-independent yardstick; the request planner fits it to the served model's
//! context separately.

pub mod tokens;

use std::ops::Range;

use text_splitter::{ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};

use crate::read::Document;
use tokens::{tokenizer, Counter};

/// A piece of a document, sent as one extraction request.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Position in the document, from 0.
    pub index: u32,
    pub text: String,
    /// Byte range in the document's text.
    pub range: Range<usize>,
    /// Heading path or page of the chunk's start, when the format has one.
    pub section: Option<String>,
}

/// Chunking settings; part of every chunk's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSettings {
    pub tokens: usize,
    pub overlap: usize,
}

impl ChunkSettings {
    pub fn validate(&self) -> Result<(), String> {
        if self.tokens < 16 {
            return Err(format!(
                "--chunk-tokens {} is too small: pass 16 or more",
                self.tokens
            ));
        }
        if self.overlap >= self.tokens {
            return Err(format!(
                "--chunk-overlap {} must be smaller than --chunk-tokens {}: lower the overlap or raise the chunk size",
                self.overlap, self.tokens
            ));
        }
        Ok(())
    }
}

/// Splits documents; build once, use for many documents (on one thread).
pub struct Chunker {
    settings: ChunkSettings,
    counter: Counter,
}

/// Token sizes of one document's slices, from one pass over the whole document.
///
/// The splitter measures many candidate chunks per document, each a slice of the
/// document's text; tokenizing every candidate again cost 95% of the front end's CPU. Here
/// the document is cut into tiktoken's pieces once (`tokens::pieces`), each counted once,
/// and a slice's size is the token count of the pieces that overlap it (a piece cut by the
/// slice's edge counts whole: the count errs on the large side, by the rare piece that a
/// chunk boundary splits).
struct DocSizer {
    base: usize,
    len: usize,
    /// End offset (bytes, exclusive) of each piece, ascending.
    ends: Vec<u32>,
    /// Tokens in pieces 0..=k.
    cumulative: Vec<u32>,
}

impl DocSizer {
    /// None when the text is too large for 32-bit offsets.
    fn new(text: &str, counter: &Counter) -> Option<Self> {
        if text.len() >= u32::MAX as usize {
            return None;
        }
        let mut ends = Vec::with_capacity(text.len() / 4);
        let mut cumulative = Vec::with_capacity(text.len() / 4);
        let mut total = 0u32;
        tokens::pieces(text, |a, b| {
            total += counter.count_piece(&text[a..b]);
            ends.push(b as u32);
            cumulative.push(total);
        });
        Some(DocSizer {
            base: text.as_ptr() as usize,
            len: text.len(),
            ends,
            cumulative,
        })
    }
}

impl ChunkSizer for DocSizer {
    fn size(&self, chunk: &str) -> usize {
        let p = chunk.as_ptr() as usize;
        if p < self.base || p + chunk.len() > self.base + self.len {
            // Not a slice of this document (the splitter only passes slices; stay correct).
            return tokenizer().encode_ordinary(chunk).len();
        }
        if chunk.is_empty() {
            return 0;
        }
        let (a, b) = (p - self.base, p - self.base + chunk.len());
        // Piece k covers [ends[k-1], ends[k]); it overlaps [a, b) iff ends[k] > a and its
        // start < b.
        let first = self.ends.partition_point(|&e| (e as usize) <= a);
        let past = (self.ends.partition_point(|&e| (e as usize) < b) + 1).min(self.ends.len());
        if past <= first {
            return 0;
        }
        let before = first.checked_sub(1).map_or(0, |k| self.cumulative[k]);
        (self.cumulative[past - 1] - before) as usize
    }
}

impl Chunker {
    pub fn new(settings: ChunkSettings) -> Result<Self, String> {
        settings.validate()?;
        ChunkConfig::new(settings.tokens)
            .with_overlap(settings.overlap)
            .map_err(|e| e.to_string())?;
        Ok(Self {
            settings,
            counter: Counter::default(),
        })
    }

    pub fn settings(&self) -> ChunkSettings {
        self.settings
    }

    fn config<S: ChunkSizer>(&self, sizer: S) -> ChunkConfig<S> {
        ChunkConfig::new(self.settings.tokens)
            .with_overlap(self.settings.overlap)
            .expect("overlap checked in Chunker::new")
            .with_sizer(sizer)
    }

    fn pieces<'t, S: ChunkSizer>(&self, doc: &'t Document, sizer: S) -> Vec<(usize, &'t str)> {
        if doc.format.is_markdown() {
            MarkdownSplitter::new(self.config(sizer))
                .chunk_indices(&doc.text)
                .collect()
        } else {
            TextSplitter::new(self.config(sizer))
                .chunk_indices(&doc.text)
                .collect()
        }
    }

    /// Cuts a document into chunks, in order.
    pub fn chunk(&self, doc: &Document) -> Vec<Chunk> {
        let pieces = match DocSizer::new(&doc.text, &self.counter) {
            Some(sizer) => self.pieces(doc, sizer),
            None => self.pieces(doc, tokenizer()),
        };
        pieces
            .into_iter()
            .enumerate()
            .map(|(i, (start, text))| Chunk {
                index: i as u32,
                text: text.to_string(),
                range: start..start + text.len(),
                section: doc.section_at(start).map(str::to_string),
            })
            .collect()
    }

    /// Splits one piece of text in two halves at a good boundary (used when a prompt turns
    /// out too long for the model's context). Returns None when it cannot be split.
    pub fn split_in_two(text: &str) -> Option<(String, String)> {
        let bpe = tokenizer();
        let tokens = bpe.encode_ordinary(text).len();
        if tokens < 8 {
            return None;
        }
        let half = TextSplitter::new(ChunkConfig::new(tokens.div_ceil(2)).with_sizer(bpe));
        let mut parts = half.chunks(text).map(str::to_string);
        let first = parts.next()?;
        let rest: Vec<String> = parts.collect();
        if rest.is_empty() {
            return None;
        }
        Some((first, rest.join(" ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{Format, Section};

    fn doc(text: &str, format: Format) -> Document {
        Document {
            text: text.to_string(),
            format,
            sections: if format.is_markdown() {
                crate::read::markdown_sections(text)
            } else {
                Vec::<Section>::new()
            },
            notes: vec![],
        }
    }

    fn chunker(tokens: usize, overlap: usize) -> Chunker {
        Chunker::new(ChunkSettings { tokens, overlap }).unwrap()
    }

    #[test]
    fn no_text_is_lost_and_chunks_respect_the_budget() {
        let para =
            "Alice Smith works for Acme Corporation in Berlin. She leads the research group. ";
        let text: String = (0..60)
            .map(|i| format!("{para}Paragraph {i}.\n\n"))
            .collect();
        let c = chunker(100, 20);
        let chunks = c.chunk(&doc(&text, Format::Text));
        assert!(chunks.len() > 5, "{} chunks", chunks.len());
        let bpe = tokenizer();
        let mut covered = 0;
        for ch in &chunks {
            assert!(bpe.encode_ordinary(&ch.text).len() <= 100);
            assert_eq!(&text[ch.range.clone()], ch.text);
            // Chunks start at or before the end of what is covered so far: no gaps.
            assert!(ch.range.start <= covered, "gap before chunk {}", ch.index);
            covered = covered.max(ch.range.end);
        }
        assert_eq!(text[covered..].trim(), "");
        // Overlap: consecutive chunks share some text.
        assert!(chunks.windows(2).any(|w| w[1].range.start < w[0].range.end));
    }

    #[test]
    fn one_tokenization_per_document_cuts_like_tokenizing_every_candidate() {
        // Varied prose, code, URLs, CJK and odd spacing: the per-document token index must
        // measure slices like tokenizing each slice on its own.
        let mut text = String::new();
        for i in 0..300 {
            text.push_str(&format!(
                "Dr. Alice Smith-{i} met   Bob at https://example.org/p?q={i}. 東京の会議 {i}.\n"
            ));
            if i % 7 == 0 {
                text.push_str("    fn main() { println!(\"x\"); }\n\n## Section\n\n");
            }
        }
        let d = doc(&text, Format::Markdown);
        let c = chunker(120, 15);
        let exact = c.pieces(&d, tokenizer());
        let fast = c.chunk(&d);
        let bpe = tokenizer();
        for ch in &fast {
            assert!(bpe.encode_ordinary(&ch.text).len() <= 120, "{:?}", ch.text);
        }
        let same = fast
            .iter()
            .filter(|f| {
                exact
                    .iter()
                    .any(|(s, t)| *s == f.range.start && t.len() == f.text.len())
            })
            .count();
        assert!(
            same * 10 >= exact.len() * 9,
            "{same} of {} chunks cut alike ({} fast)",
            exact.len(),
            fast.len()
        );
        let sizer = DocSizer::new(&text, &Counter::default()).unwrap();
        assert_eq!(sizer.size(&text), bpe.encode_ordinary(&text).len());
        assert_eq!(sizer.size(&text[5..5]), 0);
        assert_eq!(
            sizer.size("not a slice"),
            bpe.encode_ordinary("not a slice").len()
        );
    }

    #[test]
    fn cuts_at_sentence_boundaries() {
        let text = "The first sentence is here. The second sentence follows it. A third one ends the paragraph.";
        let chunks = chunker(16, 0).chunk(&doc(text, Format::Text));
        assert!(chunks.len() >= 2);
        for ch in &chunks {
            assert!(ch.text.ends_with('.'), "cut mid-sentence: {:?}", ch.text);
        }
    }

    #[test]
    fn tiny_multibyte_and_markdown() {
        let c = chunker(50, 5);
        let one = c.chunk(&doc("Zoë naïve café 東京 🚀", Format::Text));
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].text, "Zoë naïve café 東京 🚀");
        let jp: String = "東京は日本の首都です。".repeat(200);
        for ch in c.chunk(&doc(&jp, Format::Text)) {
            assert!(jp.is_char_boundary(ch.range.start) && jp.is_char_boundary(ch.range.end));
        }
        let md = format!(
            "# Guide\n\n{}\n\n## Install\n\n{}\n",
            "word ".repeat(60),
            "step ".repeat(60)
        );
        let chunks = c.chunk(&doc(&md, Format::Markdown));
        assert!(chunks
            .iter()
            .any(|c| c.section.as_deref() == Some("Guide > Install")));
    }

    #[test]
    fn huge_document_streams_into_many_chunks() {
        let text = "Berlin is a city. ".repeat(50_000);
        let chunks = chunker(1200, 100).chunk(&doc(&text, Format::Text));
        assert!(chunks.len() > 150);
        assert!(chunks.iter().all(|c| !c.text.is_empty()));
    }

    #[test]
    fn split_in_two_keeps_all_words() {
        let text = "One two three four five six seven eight nine ten eleven twelve.";
        let (a, b) = Chunker::split_in_two(text).unwrap();
        assert_eq!(
            format!("{a} {b}").split_whitespace().count(),
            text.split_whitespace().count()
        );
        assert!(Chunker::split_in_two("tiny").is_none());
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Chunker::new(ChunkSettings {
            tokens: 100,
            overlap: 100
        })
        .is_err());
        assert!(Chunker::new(ChunkSettings {
            tokens: 4,
            overlap: 0
        })
        .is_err());
    }
}
