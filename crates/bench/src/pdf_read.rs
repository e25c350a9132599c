//! Scenario `pdf-read`: how fast PDFs become text, in this process (the parser alone) and
//! the way a run reads them (one worker process per PDF: the release binary re-executed as
//! its own PDF worker). The corpus is generated: 50 PDFs (× `--scale`) of 20 pages of 55
//! lines of 12 words, the same every time (a fixed seed); `--pdf-dir` measures a folder of
//! real PDFs too.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aegis_ingest::read;
use aegis_ingest::read::issue::DocIssue;
use aegis_ingest::read::pdf::{self, Worker};
use aegis_ingest::read::walk::DocEntry;
use anyhow::Context;

use crate::pdf_gen::{make_pdf, text_content};
use crate::report::ScenarioResult;

/// What the scenario needs from the harness.
pub struct PdfRead<'a> {
    /// The release binary, used as the PDF worker.
    pub aegis: &'a Path,
    /// Where the generated PDFs go.
    pub dir: PathBuf,
    pub repeat: usize,
    pub scale: f64,
    /// A folder of PDFs measured as well.
    pub extra: Option<&'a Path>,
}

const WORDS: [&str; 20] = [
    "acme",
    "corporation",
    "berlin",
    "paris",
    "revenue",
    "growth",
    "market",
    "product",
    "engineer",
    "contract",
    "supplier",
    "merger",
    "board",
    "director",
    "quarterly",
    "analysis",
    "system",
    "network",
    "security",
    "customer",
];

/// Runs the scenario.
pub fn run(s: &PdfRead) -> anyhow::Result<ScenarioResult> {
    pdf::set_worker(Some(Worker {
        program: s.aegis.to_path_buf(),
        ..Worker::current_exe()?
    }));
    let docs = ((50.0 * s.scale).round() as usize).max(1);
    let generated = generate(&s.dir, docs)?;
    let mut sets = vec![(format!("generated: {docs} PDFs x 20 pages"), generated)];
    if let Some(extra) = s.extra {
        let entries = folder(extra)?;
        sets.push((format!("{} PDFs of {extra:?}", entries.len()), entries));
    }
    let mut res = ScenarioResult::new(
        "pdf-read",
        format!(
            "PDF text extraction of {docs} generated PDFs of 20 pages{}: in this process, and through one worker process per PDF ({})",
            s.extra.map_or(String::new(), |d| format!(" and of the PDFs in {}", d.display())),
            s.aegis.display()
        ),
    );
    res.command(format!(
        "target/release/aegis-bench --scenario pdf-read --scale {}{}",
        s.scale,
        s.extra
            .map_or(String::new(), |d| format!(" --pdf-dir {}", d.display()))
    ));
    for (i, (what, entries)) in sets.iter().enumerate() {
        let tag = if i == 0 { "generated" } else { "folder" };
        let mut cols: [Vec<f64>; 4] = Default::default();
        for _ in 0..s.repeat {
            let m = measure(what, entries)?;
            for (col, v) in cols.iter_mut().zip(m) {
                col.push(v);
            }
        }
        let [mb_s, pages_s, text_s, worker_mb_s] = cols;
        res.metric(&format!("{tag}: in-process"), "MB/s", mb_s, None);
        res.metric(&format!("{tag}: in-process"), "pages/s", pages_s, None);
        res.metric(&format!("{tag}: in-process text"), "MB/s", text_s, None);
        res.metric(
            &format!("{tag}: one worker per PDF"),
            "MB/s",
            worker_mb_s,
            None,
        );
    }
    Ok(res)
}

/// Writes the generated PDFs into `dir`.
fn generate(dir: &Path, docs: usize) -> anyhow::Result<Vec<DocEntry>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut rng = fastrand::Rng::with_seed(7);
    let mut entries = Vec::new();
    for i in 0..docs {
        let pages: Vec<(Vec<u8>, Option<&str>)> = (0..20)
            .map(|_| {
                let lines: Vec<String> = (0..55)
                    .map(|_| {
                        (0..12)
                            .map(|_| WORDS[rng.usize(..WORDS.len())])
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect();
                (text_content(&lines), None)
            })
            .collect();
        let path = dir.join(format!("doc{i:02}.pdf"));
        std::fs::write(&path, make_pdf(&pages, None))?;
        entries.push(entry_for(&path, &format!("doc{i:02}.pdf"))?);
    }
    Ok(entries)
}

/// The PDFs of a folder, by name.
fn folder(dir: &Path) -> anyhow::Result<Vec<DocEntry>> {
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "pdf") {
            let rel = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            entries.push(entry_for(&path, &rel)?);
        }
    }
    entries.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(entries)
}

/// A PDF that the scenario cannot read spoils its figures: an error.
fn unreadable(i: DocIssue) -> anyhow::Error {
    anyhow::anyhow!("{}: {} ({})", i.doc, i.reason, i.detail)
}

fn entry_for(path: &Path, rel: &str) -> anyhow::Result<DocEntry> {
    Ok(DocEntry {
        rel: rel.to_string(),
        path: path.to_path_buf(),
        size: std::fs::metadata(path)?.len(),
    })
}

/// One pass over `entries`, in process then through the worker: in-process MB/s, pages/s
/// and MB of text/s, then worker MB/s.
fn measure(what: &str, entries: &[DocEntry]) -> anyhow::Result<[f64; 4]> {
    let total: u64 = entries.iter().map(|e| e.size).sum();
    let mb = total as f64 / 1e6;
    let t = Instant::now();
    let (mut chars, mut pages) = (0, 0);
    for e in entries {
        let bytes = std::fs::read(&e.path)?;
        let d = read::read_bytes(&e.rel, &bytes).map_err(unreadable)?;
        chars += d.text.len();
        pages += d.sections.len();
    }
    let s = t.elapsed().as_secs_f64();
    let (mb_s, pages_s, text_s) = (mb / s, pages as f64 / s, chars as f64 / 1e6 / s);
    eprintln!(
        "{what}: in-process {mb:.1} MB, {pages} pages in {s:.2} s = {:.2} MB/s, {:.0} pages/s, {:.1} MB text/s",
        mb_s, pages_s, text_s
    );
    let t = Instant::now();
    for e in entries {
        read::read_document(e, 64 << 20).map_err(unreadable)?;
    }
    let w = t.elapsed().as_secs_f64();
    eprintln!(
        "{what}: one worker process per PDF, {mb:.1} MB in {w:.2} s = {:.2} MB/s",
        mb / w
    );
    Ok([mb_s, pages_s, text_s, mb / w])
}
