//! Document readers against the nasty corpus (`fixtures/nasty/`, small committed files made
//! by `fixtures/nasty/make_fixtures.py`) and against hostile files generated here (zip
//! bombs, oversize, unreadable, symlinks, non-UTF-8 names, deeply nested and bomb PDFs).
//!
//! PDFs read through `read_document` go to a worker process. In production the worker is
//! the tool's own binary re-executed with `AEGIS_INTERNAL_PDF_WORKER=1` (its `main` calls
//! `worker_main_if_requested` first thing); these tests use that same binary, built by
//! cargo for the integration tests, as their worker.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aegis_ingest::read::issue::{DocIssue, IssueKind};
use aegis_ingest::read::pdf::{self, Worker};
use aegis_ingest::read::walk::{walk, DocEntry, PathFilter, WalkItem};
use aegis_ingest::read::{self, Document, Format, ZipLimits};

// The hand-made PDFs, shared with the PDF reading benchmark.
#[path = "../crates/bench/src/pdf_gen.rs"]
mod pdf_gen;
use pdf_gen::{make_pdf, text_content};

fn nasty_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/nasty")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(nasty_dir().join(name)).unwrap()
}

/// The worker production uses: the tool's binary, no arguments before the file path (see
/// `Worker::current_exe`), with the production limits.
fn binary_worker() -> Worker {
    Worker {
        program: PathBuf::from(env!("CARGO_BIN_EXE_aegis-ingest")),
        ..Worker::current_exe().unwrap()
    }
}

fn use_binary_worker() {
    pdf::set_worker(Some(binary_worker()));
}

fn entry_for(path: &Path, rel: &str) -> DocEntry {
    DocEntry {
        rel: rel.to_string(),
        path: path.to_path_buf(),
        size: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    }
}

/// What a file is expected to give: text (with notes that must be present) or a reason.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Text(Format),
    Issue(&'static str, IssueKind),
}
use Expect::*;

fn expectations() -> BTreeMap<&'static str, Expect> {
    use IssueKind::{Failed, Skipped};
    BTreeMap::from([
        ("bad_utf8_bom.txt", Issue("undecodable", Failed)),
        ("binary.txt", Issue("binary", Skipped)),
        ("control_garbage.txt", Issue("binary", Skipped)),
        ("empty.txt", Issue("empty", Skipped)),
        ("encrypted.pdf", Issue("encrypted", Skipped)),
        ("garbage.pdf", Issue("corrupt", Failed)),
        ("guide.rst", Text(Format::Rst)),
        ("latin1.txt", Text(Format::Text)),
        ("make_fixtures.py", Text(Format::Text)),
        ("owner_only.pdf", Text(Format::Pdf)),
        ("page.html", Text(Format::Html)),
        ("reading_order.pdf", Text(Format::Pdf)),
        ("report.docx", Text(Format::Docx)),
        ("scanned.pdf", Issue("needs_ocr", Skipped)),
        ("shift_jis.txt", Text(Format::Text)),
        ("truncated.pdf", Issue("corrupt", Failed)),
        ("two_pages.pdf", Text(Format::Pdf)),
        ("utf16le_bom.txt", Text(Format::Text)),
        ("whitespace.md", Issue("empty", Skipped)),
    ])
}

fn outcome(r: &Result<Document, DocIssue>) -> Expect {
    match r {
        Ok(d) => Text(d.format),
        Err(i) => Issue(i.reason, i.kind),
    }
}

#[test]
fn every_nasty_file_gives_its_exact_reason() {
    use_binary_worker();
    let expected = expectations();
    let mut seen = Vec::new();
    for item in walk(&nasty_dir(), PathFilter::new(&[], &[]).unwrap()) {
        let WalkItem::Doc(entry) = item else {
            panic!("unexpected walk issue in fixtures/nasty: {item:?}");
        };
        let want = *expected
            .get(entry.rel.as_str())
            .unwrap_or_else(|| panic!("no expectation for fixtures/nasty/{}", entry.rel));
        // In this process...
        let bytes = std::fs::read(&entry.path).unwrap();
        let pure = read::read_bytes(&entry.rel, &bytes);
        assert_eq!(outcome(&pure), want, "read_bytes({}): {pure:?}", entry.rel);
        // ...and as the run reads it (PDFs in the worker process): the same outcome.
        let run = read::read_document(&entry, 64 << 20);
        assert_eq!(outcome(&run), want, "read_document({}): {run:?}", entry.rel);
        if let (Err(a), Err(b)) = (&pure, &run) {
            assert!(!a.detail.is_empty() && a.doc == entry.rel && b.doc == entry.rel);
        }
        seen.push(entry.rel);
    }
    assert_eq!(seen.len(), expected.len(), "fixtures seen: {seen:?}");
}

fn read_ok(name: &str) -> Document {
    read::read_bytes(name, &fixture(name)).unwrap()
}

fn labels(d: &Document) -> Vec<&str> {
    d.sections.iter().map(|s| s.label.as_str()).collect()
}

#[test]
fn encodings_are_decoded_and_noted() {
    let d = read_ok("latin1.txt");
    assert!(d.text.contains("Café crème, naïve façade"), "{}", d.text);
    assert!(d.text.contains("“quoted” €5"));
    assert_eq!(d.notes, vec!["decoded from windows-1252"]);
    let d = read_ok("shift_jis.txt");
    assert!(d.text.contains("東京都の会社が新しい製品を発表しました"));
    assert_eq!(d.notes, vec!["decoded from Shift_JIS"]);
    let d = read_ok("utf16le_bom.txt");
    assert!(d.text.contains("Grüße aus Köln"));
    assert_eq!(d.notes, vec!["decoded from UTF-16LE"]);
}

#[test]
fn good_pdf_has_words_and_page_sections() {
    let d = read_ok("two_pages.pdf");
    assert_eq!(labels(&d), vec!["p. 1", "p. 2"]);
    for w in ["Quarterly report of Acme Corporation", "Berlin and Paris"] {
        let at = d
            .text
            .find(w)
            .unwrap_or_else(|| panic!("{w:?} not in {:?}", d.text));
        assert_eq!(d.section_at(at), Some("p. 1"));
    }
    for w in ["Beta results for Zeta Labs", "The end of the document"] {
        let at = d
            .text
            .find(w)
            .unwrap_or_else(|| panic!("{w:?} not in {:?}", d.text));
        assert_eq!(d.section_at(at), Some("p. 2"));
    }
    let d = read_ok("reading_order.pdf");
    let (one, two) = (
        d.text.find("Line one comes first").unwrap(),
        d.text.find("Line two comes second").unwrap(),
    );
    assert!(one < two, "reading order: {:?}", d.text);
    let d = read_ok("owner_only.pdf");
    assert!(d.text.contains("Alpha page one"));
    assert!(
        d.notes.iter().any(|n| n.contains("empty user password")),
        "{:?}",
        d.notes
    );
}

#[test]
fn good_html_has_visible_words_and_heading_sections() {
    let d = read_ok("page.html");
    eprintln!("page.html ->\n{}", d.text);
    for hidden in ["secretScript", "secret-style", "also hidden", "color: red"] {
        assert!(!d.text.contains(hidden), "{hidden:?} leaked: {}", d.text);
    }
    for w in [
        "Jane Doe & John Roe",
        "Rocket skates",
        "Giant magnet",
        "€",
        "<negotiable>",
    ] {
        assert!(d.text.contains(w), "{w:?} not in {}", d.text);
    }
    assert_eq!(
        labels(&d),
        vec![
            "Acme Corporation",
            "Acme Corporation > Products",
            "Acme Corporation > Products > Pricing",
            "Acme Corporation > Offices"
        ]
    );
    let at = d.text.find("Giant magnet").unwrap();
    assert_eq!(d.section_at(at), Some("Acme Corporation > Products"));
    let at = d.text.find("Tokyo").unwrap();
    assert_eq!(d.section_at(at), Some("Acme Corporation > Offices"));
    assert!(d.format.is_markdown());
}

#[test]
fn good_docx_has_words_and_heading_sections() {
    let d = read_ok("report.docx");
    eprintln!("report.docx ->\n{}", d.text);
    for w in [
        "Acme & Sons opened a plant in Lyon.",
        "Revenue grew by 12% in <2023>.",
        "Next year: Madrid.",
    ] {
        assert!(d.text.contains(w), "{w:?} not in {}", d.text);
    }
    assert!(!d.text.contains("deleted words"));
    assert_eq!(
        labels(&d),
        vec![
            "Annual Report",
            "Annual Report > Finance",
            "Annual Report > Finance > Details",
            "Outlook"
        ]
    );
    let at = d
        .text
        .find("Split run")
        .unwrap_or_else(|| panic!("{}", d.text));
    assert_eq!(d.section_at(at), Some("Annual Report > Finance > Details"));
    let at = d.text.find("Madrid").unwrap();
    assert_eq!(d.section_at(at), Some("Outlook"));
}

#[test]
fn rst_titles_are_sections() {
    let d = read_ok("guide.rst");
    assert_eq!(
        labels(&d),
        vec!["Guide", "Guide > Install", "Guide > Usage"]
    );
    let at = d.text.find("Giant magnet").unwrap();
    assert_eq!(d.section_at(at), Some("Guide > Usage"));
}

// ---------------------------------------------------------------------------------------
// Hostile files made at test time.

fn zip_of(entries: &[(&str, &[u8])], repeat_last: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (i, (name, data)) in entries.iter().enumerate() {
        w.start_file(*name, opts).unwrap();
        let times = if i + 1 == entries.len() {
            repeat_last
        } else {
            1
        };
        for _ in 0..times {
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn docx_zip_bombs_are_refused() {
    // 300 MiB of whitespace between elements: past the 256 MiB bound, ratio ~1000:1.
    let start = b"<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>boom</w:t></w:r></w:p>";
    let filler = vec![b' '; 1 << 20];
    let bomb = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        w.start_file("word/document.xml", opts).unwrap();
        w.write_all(start).unwrap();
        for _ in 0..300 {
            w.write_all(&filler).unwrap();
        }
        w.finish().unwrap().into_inner()
    };
    assert!(bomb.len() < 1 << 20, "bomb is {} bytes", bomb.len());
    let e = read::read_bytes("bomb.docx", &bomb).unwrap_err();
    assert_eq!(
        (e.reason, e.kind),
        ("zip_bomb", IssueKind::Skipped),
        "{}",
        e.detail
    );
    assert!(e.detail.contains("word/document.xml"), "{}", e.detail);

    // Tens of thousands of entries.
    let names: Vec<String> = (0..20_000).map(|i| format!("junk/{i}.xml")).collect();
    let mut entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    entries.push(("word/document.xml", b"<w:document/>"));
    let many = zip_of(&entries, 1);
    let e = read::read_bytes("many.docx", &many).unwrap_err();
    assert_eq!(e.reason, "zip_bomb", "{}", e.detail);

    // An ordinary ratio but over the bound: too_large (bounds made small to keep it quick).
    let doc = fixture("report.docx");
    let limits = ZipLimits {
        max_entries: 100,
        max_part_bytes: 200,
        max_ratio: 1_000,
    };
    let e = read::read_docx_with("report.docx", &doc, limits).unwrap_err();
    assert_eq!(
        (e.reason, e.kind),
        ("too_large", IssueKind::Skipped),
        "{}",
        e.detail
    );

    // A zip that is no Word document.
    let other = zip_of(&[("hello.txt", b"hello")], 1);
    let e = read::read_bytes("other.docx", &other).unwrap_err();
    assert_eq!((e.reason, e.kind), ("corrupt", IssueKind::Failed));
}

#[cfg(unix)]
#[test]
fn file_system_trouble_is_reported_not_fatal() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    std::fs::write(r.join("big.txt"), "word ".repeat(1000)).unwrap();
    std::fs::write(r.join("locked.txt"), "secret words").unwrap();
    std::fs::write(r.join("ok.md"), "# Title\nbody\n").unwrap();
    std::fs::set_permissions(
        r.join("locked.txt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o000),
    )
    .unwrap();
    std::os::unix::fs::symlink("/nonexistent/aegis-target", r.join("broken.txt")).unwrap();
    std::fs::create_dir(r.join("d")).unwrap();
    std::os::unix::fs::symlink(r.join("d"), r.join("d/loop")).unwrap();
    let bad_name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(r.join(bad_name), "latin-1 name").unwrap();

    let mut got: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for item in walk(r, PathFilter::new(&[], &[]).unwrap()) {
        match item {
            WalkItem::Issue(i) => {
                got.insert(
                    i.doc.clone(),
                    (i.reason.to_string(), i.kind == IssueKind::Failed),
                );
            }
            WalkItem::Doc(entry) => {
                let res = read::read_document(&entry, 1024);
                let v = match res {
                    Ok(_) => ("ok".to_string(), false),
                    Err(i) => (i.reason.to_string(), i.kind == IssueKind::Failed),
                };
                got.insert(entry.rel.clone(), v);
            }
        }
    }
    let get = |k: &str| {
        got.get(k)
            .cloned()
            .unwrap_or_else(|| panic!("{k} not reported: {got:?}"))
    };
    assert_eq!(get("big.txt"), ("too_large".into(), false));
    assert_eq!(get("ok.md"), ("ok".into(), false));
    assert_eq!(get("broken.txt"), ("broken_symlink".into(), false));
    assert_eq!(get("d/loop"), ("symlink_loop".into(), false));
    let non_utf8 = got.keys().find(|k| k.starts_with("caf")).cloned().unwrap();
    assert_eq!(get(&non_utf8), ("non_utf8_name".into(), false));
    // Root reads anything: permission denial only happens for other users.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert_eq!(get("locked.txt"), ("unreadable".into(), true));
    } else {
        assert_eq!(get("locked.txt"), ("ok".into(), false));
    }

    // A file that vanishes between the walk and the read.
    let gone = entry_for(&r.join("gone.txt"), "gone.txt");
    let e = read::read_document(&gone, 1024).unwrap_err();
    assert_eq!((e.reason, e.kind), ("vanished", IssueKind::Skipped));
}

// ---------------------------------------------------------------------------------------
// Hand-made PDFs: deep nesting, decompression bombs.

/// A zlib stream of `n` zero bytes, written by hand as fixed-Huffman deflate: a literal 0
/// then matches of length 258 at distance 1 (13 bits each), so gigabytes fit in megabytes.
fn zlib_zeros(n: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        len: u32,
    }
    impl Bits {
        fn put(&mut self, value: u64, bits: u32) {
            self.acc |= value << self.len;
            self.len += bits;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// Huffman codes go most significant bit first.
        fn code(&mut self, code: u64, bits: u32) {
            let mut rev = 0;
            for i in 0..bits {
                rev |= ((code >> i) & 1) << (bits - 1 - i);
            }
            self.put(rev, bits);
        }
    }
    let mut b = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        len: 0,
    };
    b.put(1, 1); // final block
    b.put(1, 2); // fixed Huffman
    b.code(0b0011_0000, 8); // literal 0
    let mut left = n.saturating_sub(1);
    while left >= 258 {
        b.code(0b1100_0101, 8); // length 258 (code 285)
        b.code(0, 5); // distance 1
        left -= 258;
    }
    while left > 0 {
        b.code(0b0011_0000, 8);
        left -= 1;
    }
    b.code(0, 7); // end of block (code 256)
    if b.len > 0 {
        b.put(0, 8 - b.len);
    }
    let a = 1u64;
    let s = n % 65521;
    let adler = ((s << 16) | a) as u32;
    b.out.extend(adler.to_be_bytes());
    b.out
}

#[test]
fn deeply_nested_pdf_fails_cleanly_in_process_and_in_worker() {
    use_binary_worker();
    let depth = 200_000;
    let nested = format!("{}1{}", "[".repeat(depth), "]".repeat(depth)).into_bytes();
    let pdf_bytes = make_pdf(
        &[(text_content(&["hello nested".into()]), None)],
        Some(nested),
    );
    let e = read::read_bytes("deep.pdf", &pdf_bytes).unwrap_err();
    assert_eq!(
        (e.reason, e.kind),
        ("corrupt", IssueKind::Failed),
        "{}",
        e.detail
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.pdf");
    std::fs::write(&path, &pdf_bytes).unwrap();
    let e = read::read_document(&entry_for(&path, "deep.pdf"), 64 << 20).unwrap_err();
    assert_eq!(
        (e.reason, e.kind),
        ("corrupt", IssueKind::Failed),
        "{}",
        e.detail
    );

    // Nesting hidden from the pre-scan inside a content stream, which the parser does read:
    // whatever the parser does, the worker reports and this process survives.
    let mut content = b"BT /F1 12 Tf 72 700 Td (still here) Tj ET\nBT ".to_vec();
    content.extend("[".repeat(depth).as_bytes());
    content.extend("]".repeat(depth).as_bytes());
    content.extend(b" TJ ET\n");
    let pdf_bytes = make_pdf(&[(content, None)], None);
    std::fs::write(&path, &pdf_bytes).unwrap();
    let r = read::read_document(&entry_for(&path, "hidden.pdf"), 64 << 20);
    eprintln!("content-stream nesting through the worker: {r:?}");
    match r {
        Ok(d) => assert!(d.text.contains("still here")),
        Err(e) => assert_eq!(e.kind, IssueKind::Failed, "{e:?}"),
    }
}

#[test]
fn decompression_bomb_pdf_is_contained_by_the_worker() {
    // Two content streams of 300 MiB of zeros each (about 2 MB on disk). The parser caps a
    // stream at 256 MiB; a worker limited to 512 MiB of address space (256 MiB of which is
    // the parser's stack) runs out of memory first, and aborts alone.
    let stream = zlib_zeros(300 << 20);
    let pages: Vec<(Vec<u8>, Option<&str>)> = (0..2)
        .map(|_| (stream.clone(), Some("FlateDecode")))
        .collect();
    let pdf_bytes = make_pdf(&pages, None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.pdf");
    std::fs::write(&path, &pdf_bytes).unwrap();
    let mut w = binary_worker();
    w.memory_limit = 512 << 20;
    let t = Instant::now();
    let r = pdf::run_worker(&w, &path, &pdf_bytes);
    eprintln!("bomb through a 512 MiB worker, {:?}: {r:?}", t.elapsed());
    let e = r.unwrap_err();
    assert_eq!((e.reason, e.kind), ("corrupt", IssueKind::Failed), "{e:?}");
    assert!(e.detail.contains("out of memory"), "{e:?}");
}

#[test]
fn worker_crashes_are_contained() {
    // Nested deeper than even the parser thread's large stack: the worker dies of a stack
    // overflow (or refuses); either way this process goes on.
    let depth = 3_000_000;
    let mut content = b"BT /F1 12 Tf 72 700 Td (deep) Tj ET\nBT ".to_vec();
    content.extend("[".repeat(depth).as_bytes());
    content.extend("]".repeat(depth).as_bytes());
    content.extend(b" TJ ET\n");
    let pdf_bytes = make_pdf(&[(content, None)], None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deeper.pdf");
    std::fs::write(&path, &pdf_bytes).unwrap();
    let t = Instant::now();
    let r = pdf::run_worker(&binary_worker(), &path, &pdf_bytes);
    eprintln!(
        "3M-deep content stream through the worker, {:?}: {r:?}",
        t.elapsed()
    );
    match r {
        Err(e) | Ok(Some(Err(e))) => assert_eq!(e.kind, IssueKind::Failed, "{e:?}"),
        other => panic!("expected a failure, got {other:?}"),
    }

    // A worker killed by a signal is a `corrupt` failure, not a crash of the run.
    let w = Worker {
        program: "sh".into(),
        args: vec!["-c".into(), "kill -SEGV $$".into(), "sh".into()],
        timeout: Duration::from_secs(10),
        memory_limit: 1 << 30,
    };
    let e = pdf::run_worker(&w, &path, b"").unwrap_err();
    assert_eq!((e.reason, e.kind), ("corrupt", IssueKind::Failed), "{e:?}");
    assert!(e.detail.contains("SIGSEGV"), "{e:?}");
}

#[test]
fn worker_and_in_process_agree_on_good_pdfs() {
    use_binary_worker();
    let path = nasty_dir().join("two_pages.pdf");
    let entry = entry_for(&path, "two_pages.pdf");
    let a = read::read_document(&entry, 1 << 20).unwrap();
    let b = read::read_bytes("two_pages.pdf", &fixture("two_pages.pdf")).unwrap();
    assert_eq!(a.text, b.text);
    assert_eq!(a.sections, b.sections);
    // The raw worker protocol, on the tool's binary.
    let t = pdf::run_worker(&binary_worker(), &path, &fixture("two_pages.pdf"))
        .unwrap()
        .expect("the tool's binary answers as a worker")
        .unwrap();
    assert_eq!(t.pages.len(), 2);
}

// ---------------------------------------------------------------------------------------
// Fuzz-style: random bytes and mutated fixtures through every reader never panic.

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const FORMATS: [Format; 6] = [
        Format::Text,
        Format::Markdown,
        Format::Rst,
        Format::Html,
        Format::Pdf,
        Format::Docx,
    ];

    /// Every reason code a reader may give, with its kind (the table in `read`'s docs).
    const REASONS: [(&str, IssueKind); 15] = [
        ("unsupported_type", IssueKind::Skipped),
        ("binary", IssueKind::Skipped),
        ("empty", IssueKind::Skipped),
        ("too_large", IssueKind::Skipped),
        ("zip_bomb", IssueKind::Skipped),
        ("encrypted", IssueKind::Skipped),
        ("needs_ocr", IssueKind::Skipped),
        ("vanished", IssueKind::Skipped),
        ("undecodable", IssueKind::Failed),
        ("corrupt", IssueKind::Failed),
        ("timeout", IssueKind::Failed),
        ("unreadable", IssueKind::Failed),
        ("changed", IssueKind::Failed),
        ("worker_failed", IssueKind::Failed),
        ("reader_crashed", IssueKind::Failed),
    ];

    /// One reader's outcome is a document with text in the format asked for (sections in
    /// order, inside the text), or an issue about `name` with a known reason code of its
    /// kind and a detail.
    fn classify(what: &str, name: &str, r: &Result<Document, DocIssue>, format: Option<Format>) {
        match r {
            Ok(d) => {
                assert!(!d.text.trim().is_empty(), "{what}: text without words");
                if let Some(f) = format {
                    assert_eq!(d.format, f, "{what}");
                }
                let starts: Vec<usize> = d.sections.iter().map(|s| s.start).collect();
                assert!(
                    starts.is_sorted() && starts.iter().all(|&s| s <= d.text.len()),
                    "{what}: sections {starts:?} outside a text of {} bytes",
                    d.text.len()
                );
            }
            Err(e) => {
                let known = REASONS.iter().find(|(r, _)| *r == e.reason);
                let Some((_, kind)) = known else {
                    panic!("{what}: unknown reason code {:?} ({})", e.reason, e.detail);
                };
                assert_eq!(e.kind, *kind, "{what}: {e:?}");
                assert!(!e.detail.is_empty() && e.doc == name, "{what}: {e:?}");
            }
        }
    }

    fn check(bytes: &[u8]) {
        for f in FORMATS {
            let r = read::read_as("fuzz", bytes, f);
            classify(&format!("read_as {f:?}"), "fuzz", &r, Some(f));
        }
        let r = read::read_bytes("fuzz.bin", bytes);
        classify("read_bytes", "fuzz.bin", &r, None);
    }

    fn mutate(base: &[u8], edits: &[(usize, u8, u8)], cut: Option<usize>) -> Vec<u8> {
        let mut v = base.to_vec();
        for &(pos, byte, op) in edits {
            if v.is_empty() {
                break;
            }
            let p = pos % v.len();
            match op % 4 {
                0 => v[p] = byte,
                1 => v[p] ^= 1 << (byte % 8),
                2 => v.insert(p, byte),
                _ => {
                    v.remove(p);
                }
            }
        }
        if let Some(c) = cut {
            if !v.is_empty() {
                v.truncate(c % v.len());
            }
        }
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            check(&bytes);
        }

        #[test]
        fn random_bytes_with_magic_never_panic(
            magic in prop_oneof![Just(&b"%PDF-1.7\n"[..]), Just(&b"PK\x03\x04"[..]), Just(&b"<!DOCTYPE html>"[..]), Just(&b"\xEF\xBB\xBF"[..]), Just(&b"\xFF\xFE"[..])],
            bytes in proptest::collection::vec(any::<u8>(), 0..1024),
        ) {
            let mut v = magic.to_vec();
            v.extend(bytes);
            check(&v);
        }

        #[test]
        fn mutated_fixtures_never_panic(
            which in 0usize..5,
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let name = ["two_pages.pdf", "reading_order.pdf", "report.docx", "page.html", "guide.rst"][which];
            let v = mutate(&fixture(name), &edits, cut);
            check(&v);
        }
    }
}
