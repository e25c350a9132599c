//! Chunk: token-sized pieces with overlap, cut at the largest semantic boundary that fits
//! (Markdown sections, paragraphs, sentences, words), by `text-splitter`. Tokens are counted
//! with tiktoken's cl100k BPE, compiled into the binary: no download at run time. The count
//! is a model-independent yardstick; the request planner fits it to the served model's
//! context separately.

use std::ops::Range;

use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};
use tiktoken_rs::CoreBPE;

use crate::read::Document;

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
                "--chunk-tokens {} is too small (16 or more)",
                self.tokens
            ));
        }
        if self.overlap >= self.tokens {
            return Err(format!(
                "--chunk-overlap {} must be smaller than --chunk-tokens {}",
                self.overlap, self.tokens
            ));
        }
        Ok(())
    }
}

/// Splits documents; build once, share across documents.
pub struct Chunker {
    settings: ChunkSettings,
    text: TextSplitter<CoreBPE>,
    markdown: MarkdownSplitter<CoreBPE>,
}

/// The tokenizer used for chunk sizes: built once per process (decoding the compiled-in
/// tables costs ~65 ms), cloned for each splitter.
pub fn tokenizer() -> CoreBPE {
    static BPE: std::sync::OnceLock<CoreBPE> = std::sync::OnceLock::new();
    // cl100k's tables are compiled in; constructing cannot fail for lack of network.
    BPE.get_or_init(|| {
        tiktoken_rs::cl100k_base().expect("cl100k tables are compiled into tiktoken-rs")
    })
    .clone()
}

impl Chunker {
    pub fn new(settings: ChunkSettings) -> Result<Self, String> {
        settings.validate()?;
        let config = || {
            ChunkConfig::new(settings.tokens)
                .with_overlap(settings.overlap)
                .map(|c| c.with_sizer(tokenizer()))
                .map_err(|e| e.to_string())
        };
        Ok(Self {
            settings,
            text: TextSplitter::new(config()?),
            markdown: MarkdownSplitter::new(config()?),
        })
    }

    pub fn settings(&self) -> ChunkSettings {
        self.settings
    }

    /// Cuts a document into chunks, in order.
    pub fn chunk(&self, doc: &Document) -> Vec<Chunk> {
        let pieces: Vec<(usize, &str)> = if doc.format.is_markdown() {
            self.markdown.chunk_indices(&doc.text).collect()
        } else {
            self.text.chunk_indices(&doc.text).collect()
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
