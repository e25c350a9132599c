//! Synthetic corpora, generated deterministically and cached in the work directory.
//!
//! * [`Kind::Paragraphs`]: Markdown documents made of paragraphs of ~40 cl100k tokens
//!   (two capitalized names, a city, an organisation, a unique serial number). With
//!   `--chunk-tokens 60 --chunk-overlap 0` two paragraphs never fit together, so one
//!   paragraph is one chunk (the harness still takes the real count from report.json).
//! * [`Kind::Tiny`]: the same with ~10-token paragraphs, for `--chunk-tokens 16`.
//! * [`prose`]: Markdown files of ~1 MiB of varied prose with headings, for the
//!   front-end (walk + read + chunk) throughput with the default chunk settings.
//!
//! A corpus is reused when its spec file (next to it) matches; otherwise it is rebuilt.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Paragraphs,
    Tiny,
}

/// What a generated corpus holds.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub dir: PathBuf,
    pub files: u64,
    pub bytes: u64,
    /// Paragraphs written (the intended chunk count for Paragraphs / Tiny).
    pub paragraphs: u64,
}

const FIRST: &[&str] = &[
    "Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hiroshi", "Ingrid", "Jonas",
    "Kamala", "Lukas", "Mireille", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Stefan",
    "Tomasz", "Ursula", "Viktor", "Wanda", "Xavier", "Yusuf", "Zofia", "Amara", "Benedikt",
    "Camille", "Desmond",
];
const LAST: &[&str] = &[
    "Berg",
    "Castellano",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Gallagher",
    "Hoffmann",
    "Iwasaki",
    "Jansen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Quast",
    "Romano",
    "Schneider",
    "Takahashi",
    "Umarov",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zeller",
    "Achterberg",
    "Brandt",
    "Coelho",
    "Dahl",
    "Esposito",
];
const CITY: &[&str] = &[
    "Berlin",
    "Lisbon",
    "Osaka",
    "Toronto",
    "Nairobi",
    "Krakow",
    "Bergen",
    "Valencia",
    "Seoul",
    "Montevideo",
    "Tallinn",
    "Lyon",
    "Porto",
    "Hamburg",
    "Kyoto",
    "Ottawa",
    "Accra",
    "Gdansk",
    "Utrecht",
    "Bilbao",
];
const ORG: &[&str] = &[
    "Acme Robotics",
    "Nordwind Energy",
    "Helix Biotech",
    "Orion Shipping",
    "Quantex Labs",
    "Riverstone Bank",
    "Solace Media",
    "Tessera Foods",
    "Umbra Systems",
    "Vantage Rail",
    "Meridian Health",
    "Kestrel Aviation",
    "Lumen Textiles",
    "Granite Insurance",
    "Fjord Analytics",
];
const TOPIC: &[&str] = &[
    "supply chain",
    "battery recycling",
    "grid storage",
    "clinical trial",
    "port expansion",
    "data platform",
    "rail upgrade",
    "water treatment",
    "satellite launch",
    "merger review",
    "pricing model",
    "factory audit",
    "training program",
    "research grant",
    "software release",
];
const WORDS: &[&str] = &[
    "the",
    "report",
    "describes",
    "a",
    "long",
    "process",
    "of",
    "negotiation",
    "between",
    "several",
    "parties",
    "who",
    "agreed",
    "on",
    "new",
    "terms",
    "for",
    "delivery",
    "and",
    "payment",
    "while",
    "regulators",
    "examined",
    "whether",
    "market",
    "conditions",
    "had",
    "changed",
    "since",
    "previous",
    "year",
    "committee",
    "reviewed",
    "evidence",
    "from",
    "engineers",
    "analysts",
    "field",
    "teams",
    "in",
    "different",
    "regions",
    "with",
    "careful",
    "attention",
    "to",
    "safety",
    "costs",
    "schedule",
    "risks",
    "its",
    "findings",
    "were",
    "published",
    "after",
    "months",
    "work",
    "by",
    "independent",
    "experts",
    "many",
    "questions",
    "remain",
    "open",
    "about",
    "how",
    "results",
    "will",
    "be",
    "used",
    "future",
    "planning",
    "budget",
    "decisions",
    "local",
    "communities",
    "expressed",
    "support",
    "concern",
    "during",
    "public",
    "hearings",
    "that",
    "followed",
    "announcement",
    "project",
    "board",
    "approved",
    "funding",
    "second",
    "phase",
    "which",
    "includes",
    "construction",
    "testing",
    "training",
    "staff",
    "maintenance",
    "equipment",
    "over",
    "next",
    "three",
    "years",
    "according",
    "plan",
];

/// splitmix64: a small deterministic generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

/// ~40 cl100k tokens, unique through `serial`.
fn paragraph(r: &mut Rng, serial: u64) -> String {
    format!(
        "{} {} from {} met {} {} of {} on record {:07}. They discussed the {} work and agreed to meet again in {} next month.",
        r.pick(FIRST),
        r.pick(LAST),
        r.pick(CITY),
        r.pick(FIRST),
        r.pick(LAST),
        r.pick(ORG),
        serial,
        r.pick(TOPIC),
        r.pick(CITY),
    )
}

/// ~10-13 cl100k tokens (checked: one chunk each at --chunk-tokens 16), unique through `serial`.
fn tiny(r: &mut Rng, serial: u64) -> String {
    format!(
        "{} {} met {}, entry {}.",
        r.pick(FIRST),
        r.pick(LAST),
        r.pick(FIRST),
        serial
    )
}

fn spec_path(dir: &Path) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(".spec");
    PathBuf::from(s)
}

fn cached(dir: &Path, spec: &str) -> Option<Corpus> {
    let text = fs::read_to_string(spec_path(dir)).ok()?;
    let mut lines = text.lines();
    if lines.next()? != spec {
        return None;
    }
    let nums: Vec<u64> = lines
        .next()?
        .split(' ')
        .filter_map(|n| n.parse().ok())
        .collect();
    if nums.len() != 3 || !dir.is_dir() {
        return None;
    }
    Some(Corpus {
        dir: dir.to_path_buf(),
        files: nums[0],
        bytes: nums[1],
        paragraphs: nums[2],
    })
}

/// Paragraph corpora: `paragraphs` paragraphs, `per_doc` per document, in sub-folders of
/// at most 1000 files.
pub fn paragraphs(
    root: &Path,
    kind: Kind,
    paragraphs: u64,
    per_doc: u64,
) -> anyhow::Result<Corpus> {
    let tag = match kind {
        Kind::Paragraphs => "para",
        Kind::Tiny => "tiny",
    };
    let dir = root.join(format!("{tag}-{paragraphs}-{per_doc}"));
    let spec = format!("v3 {tag} {paragraphs} {per_doc}");
    if let Some(c) = cached(&dir, &spec) {
        return Ok(c);
    }
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut r = Rng(0xA5EED ^ paragraphs);
    let (mut files, mut bytes, mut serial) = (0u64, 0u64, 0u64);
    while serial < paragraphs {
        let sub = dir.join(format!("part-{:04}", files / 1000));
        if files % 1000 == 0 {
            fs::create_dir_all(&sub)?;
        }
        let path = sub.join(format!("doc-{files:07}.md"));
        let mut w = BufWriter::new(fs::File::create(&path)?);
        let mut n = 0u64;
        let mut text = String::new();
        while n < per_doc && serial < paragraphs {
            if n > 0 {
                text.push_str("\n\n");
            }
            text.push_str(&match kind {
                Kind::Paragraphs => paragraph(&mut r, serial),
                _ => tiny(&mut r, serial),
            });
            serial += 1;
            n += 1;
        }
        text.push('\n');
        w.write_all(text.as_bytes())?;
        w.flush()?;
        bytes += text.len() as u64;
        files += 1;
    }
    fs::write(
        spec_path(&dir),
        format!("{spec}\n{files} {bytes} {paragraphs}\n"),
    )?;
    Ok(Corpus {
        dir,
        files,
        bytes,
        paragraphs,
    })
}

/// Prose corpus of about `total_bytes`, in Markdown files of about `file_bytes`.
pub fn prose(root: &Path, total_bytes: u64, file_bytes: u64) -> anyhow::Result<Corpus> {
    let dir = root.join(format!("prose-{total_bytes}-{file_bytes}"));
    let spec = format!("v2 prose {total_bytes} {file_bytes}");
    if let Some(c) = cached(&dir, &spec) {
        return Ok(c);
    }
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    let mut r = Rng(0xF00D);
    let (mut files, mut bytes, mut paras) = (0u64, 0u64, 0u64);
    while bytes < total_bytes {
        let sub = dir.join(format!("part-{:04}", files / 1000));
        if files % 1000 == 0 {
            fs::create_dir_all(&sub)?;
        }
        let mut text = String::with_capacity(file_bytes as usize + 4096);
        let mut section = 0;
        while (text.len() as u64) < file_bytes && bytes + (text.len() as u64) < total_bytes {
            if paras % 12 == 0 {
                section += 1;
                text.push_str(&format!(
                    "## Section {section}: {} and {}\n\n",
                    r.pick(TOPIC),
                    r.pick(ORG)
                ));
            }
            // A paragraph of 4-8 sentences of 8-20 words, with names in them.
            let sentences = 4 + r.next() % 5;
            for _ in 0..sentences {
                let words = 8 + r.next() % 13;
                let mut first = true;
                for i in 0..words {
                    let w = if i == words / 2 {
                        format!("{} {}", r.pick(FIRST), r.pick(LAST))
                    } else if i == words / 3 && r.next().is_multiple_of(3) {
                        r.pick(CITY).to_string()
                    } else {
                        r.pick(WORDS).to_string()
                    };
                    if first {
                        let mut c = w.chars();
                        if let Some(f) = c.next() {
                            text.extend(f.to_uppercase());
                            text.push_str(c.as_str());
                        }
                        first = false;
                    } else {
                        text.push(' ');
                        text.push_str(&w);
                    }
                }
                text.push_str(". ");
            }
            text.pop();
            text.push_str("\n\n");
            paras += 1;
        }
        let path = sub.join(format!("doc-{files:06}.md"));
        fs::write(&path, format!("# Document {files}\n\n{text}"))?;
        bytes += text.len() as u64 + format!("# Document {files}\n\n").len() as u64;
        files += 1;
    }
    fs::write(
        spec_path(&dir),
        format!("{spec}\n{files} {bytes} {paras}\n"),
    )?;
    Ok(Corpus {
        dir,
        files,
        bytes,
        paragraphs: paras,
    })
}
