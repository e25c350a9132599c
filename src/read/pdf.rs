//! PDF: the text layer, page by page in reading order, one `Section` per page labelled
//! `p. N` (so provenance points at the page).
//!
//! PDF parsers can overflow the stack on deeply nested objects or exhaust memory on
//! decompression bombs; both abort the process, which `catch_unwind` cannot stop. So the run
//! (`read_document`) parses PDFs in a child process: the same executable, re-invoked with
//! `AEGIS_INTERNAL_PDF_WORKER=1` and the file path as its last argument, the PDF's bytes on
//! stdin, under a wall-time limit (killed on expiry) and, on unix, an address-space limit
//! (`RLIMIT_AS`), no core dumps and a CPU-time limit. `main` must call
//! [`worker_main_if_requested`] first thing. The worker answers with one line,
//! `AEGIS-PDF-WORKER-V1 {json}`, on stdout.
//!
//! Decisions: an encrypted PDF that opens with the empty user password (owner-password
//! restrictions only, the common case) is read, with a note; one that needs a password is
//! *skipped* (`encrypted`): a rerun cannot change that, only the owner can. Pages without
//! text are noted; a PDF with no text on any page is *skipped* (`needs_ocr`). A PDF that
//! cannot be parsed, or crashes the worker, *fails* (`corrupt`), as does one that runs over
//! the time limit (`timeout`).

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::document::{Document, Format, Section};
use crate::read::issue::{DocIssue, IssueKind};

/// Set (to "1") in the environment of a PDF worker process.
pub const WORKER_ENV: &str = "AEGIS_INTERNAL_PDF_WORKER";
/// Starts the worker's answer line on stdout.
const MARKER: &str = "AEGIS-PDF-WORKER-V1 ";
/// More extracted text than this from one PDF is refused.
const MAX_OUTPUT: u64 = 1024 * 1024 * 1024;
/// Nesting of arrays/dictionaries deeper than this is refused before parsing.
const MAX_NESTING: usize = 500;

/// How to run the PDF worker, and its limits.
#[derive(Debug, Clone)]
pub struct Worker {
    pub program: PathBuf,
    /// Arguments before the file path (empty for the tool's binary; another program, such
    /// as a stand-in in a test, may need some).
    pub args: Vec<OsString>,
    pub timeout: Duration,
    /// Address-space limit of the worker (unix), bytes.
    pub memory_limit: u64,
}

impl Worker {
    /// The current executable, 30 s, 2 GiB.
    pub fn current_exe() -> std::io::Result<Self> {
        Ok(Self {
            program: std::env::current_exe()?,
            args: Vec::new(),
            timeout: Duration::from_secs(30),
            memory_limit: 2 << 30,
        })
    }
}

/// The worker used by `read_pdf_isolated`; `None` = the current executable, defaults.
static WORKER: Mutex<Option<Worker>> = Mutex::new(None);
/// Set when the executable turned out not to answer as a worker (main without the hook).
static WORKER_MISSING: AtomicBool = AtomicBool::new(false);

/// Replaces the worker used by `read_document` for PDFs (tests, embedding programs).
pub fn set_worker(worker: Option<Worker>) {
    *WORKER.lock().unwrap_or_else(|p| p.into_inner()) = worker;
    WORKER_MISSING.store(false, Ordering::SeqCst);
}

/// What the worker sends back.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Answer {
    Ok {
        pages: Vec<String>,
        notes: Vec<String>,
    },
    Issue {
        failed: bool,
        reason: String,
        detail: String,
    },
}

/// An in-process extraction result: the text of each page, and notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfText {
    pub pages: Vec<String>,
    pub notes: Vec<String>,
}

/// Why a PDF yields no text (before it is tied to a document name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: IssueKind,
    pub reason: &'static str,
    pub detail: String,
}

impl Problem {
    fn failed(reason: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: IssueKind::Failed,
            reason,
            detail: detail.into(),
        }
    }
    fn skipped(reason: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: IssueKind::Skipped,
            reason,
            detail: detail.into(),
        }
    }
    fn into_issue(self, rel: &str) -> DocIssue {
        DocIssue::new(rel, self.kind, self.reason, self.detail)
    }
}

/// Reason codes a worker may answer with (anything else becomes `corrupt`).
fn static_reason(reason: &str) -> &'static str {
    match reason {
        "encrypted" => "encrypted",
        "needs_ocr" => "needs_ocr",
        "empty" => "empty",
        "too_large" => "too_large",
        "timeout" => "timeout",
        "worker_failed" => "worker_failed",
        _ => "corrupt",
    }
}

/// If this process was started as a PDF worker, does the work and exits; else returns at
/// once. `main` calls it first thing.
pub fn worker_main_if_requested() {
    if std::env::var_os(WORKER_ENV).is_some_and(|v| v == "1") {
        std::process::exit(worker_main());
    }
}

/// The worker: PDF bytes on stdin, answer line on stdout. Returns the exit code.
fn worker_main() -> i32 {
    let mut bytes = Vec::new();
    let answer = match std::io::stdin().lock().read_to_end(&mut bytes) {
        Err(e) => Answer::Issue {
            failed: true,
            reason: "corrupt".into(),
            detail: format!("worker could not read its input: {e}"),
        },
        Ok(_) => match extract_guarded(&bytes) {
            Ok(t) => Answer::Ok {
                pages: t.pages,
                notes: t.notes,
            },
            Err(p) => Answer::Issue {
                failed: p.kind == IssueKind::Failed,
                reason: p.reason.to_string(),
                detail: p.detail,
            },
        },
    };
    let Ok(json) = serde_json::to_string(&answer) else {
        return 3;
    };
    let mut out = std::io::stdout().lock();
    let ok = out
        .write_all(format!("\n{MARKER}{json}\n").as_bytes())
        .and_then(|()| out.flush());
    if ok.is_ok() {
        0
    } else {
        3
    }
}

/// Reads a PDF in this process (thread with a large stack, panics caught).
pub fn read_pdf(rel: &str, bytes: &[u8]) -> Result<Document, DocIssue> {
    extract_guarded(bytes)
        .and_then(to_document)
        .map_err(|p| p.into_issue(rel))
}

/// Reads a PDF in a worker process (see the module docs). Falls back to this process, with
/// a warning, when the executable does not answer as a worker.
pub fn read_pdf_isolated(rel: &str, path: &Path, bytes: &[u8]) -> Result<Document, DocIssue> {
    if WORKER_MISSING.load(Ordering::SeqCst) {
        return read_pdf(rel, bytes);
    }
    let worker = WORKER.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let worker = match worker {
        Some(w) => w,
        None => match Worker::current_exe() {
            Ok(w) => w,
            Err(e) => {
                return Err(DocIssue::new(
                    rel,
                    IssueKind::Failed,
                    "worker_failed",
                    format!("cannot locate the executable to run the PDF worker: {e}"),
                ))
            }
        },
    };
    match run_worker(&worker, path, bytes) {
        Ok(Some(answer)) => answer.and_then(to_document).map_err(|p| p.into_issue(rel)),
        Ok(None) => {
            if !WORKER_MISSING.swap(true, Ordering::SeqCst) {
                tracing::warn!(
                    "{} does not act as a PDF worker (main does not call read::pdf::worker_main_if_requested); PDFs are parsed in-process, without crash isolation",
                    worker.program.display()
                );
            }
            read_pdf(rel, bytes)
        }
        Err(p) => Err(p.into_issue(rel)),
    }
}

/// Runs one worker on `bytes`. `Ok(None)`: the program exited normally without answering
/// (it is not a worker).
pub fn run_worker(
    worker: &Worker,
    path: &Path,
    bytes: &[u8],
) -> Result<Option<Result<PdfText, Problem>>, Problem> {
    let child = worker_command(worker, path).spawn().map_err(|e| {
        Problem::failed(
            "worker_failed",
            format!(
                "cannot start the PDF worker {}: {e}",
                worker.program.display()
            ),
        )
    })?;
    let done = exchange(child, bytes, worker.timeout);
    if done.timed_out {
        return Err(Problem::failed(
            "timeout",
            format!(
                "PDF text extraction took over {} s; the worker was killed",
                worker.timeout.as_secs()
            ),
        ));
    }
    let status = done.status.map_err(|e| {
        Problem::failed("worker_failed", format!("lost the PDF worker process: {e}"))
    })?;
    let out = String::from_utf8_lossy(&done.out);
    if let Some(line) = out.lines().rev().find_map(|l| l.strip_prefix(MARKER)) {
        return parse_answer(line).map(Some);
    }
    no_answer(worker, &status, &String::from_utf8_lossy(&done.err))
}

/// The worker's command line: the program, its arguments, the file path, the worker
/// variable, piped standard streams and (unix) the resource limits.
fn worker_command(worker: &Worker, path: &Path) -> Command {
    let mut cmd = Command::new(&worker.program);
    cmd.args(&worker.args)
        .arg(path)
        .env(WORKER_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    limit_resources(&mut cmd, worker);
    cmd
}

/// Address space, core dumps and CPU time of the worker, set in the child between fork and
/// exec.
#[cfg(unix)]
fn limit_resources(cmd: &mut Command, worker: &Worker) {
    use rlimit::Resource;
    use std::os::unix::process::CommandExt;
    let memory = worker.memory_limit;
    let cpu = worker.timeout.as_secs().saturating_mul(2).max(10);
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe code may run. `rlimit::setrlimit` is a plain wrapper of the
    // setrlimit syscall on a stack value; it allocates only to report an unsupported
    // resource, and AS, CORE and CPU are supported on Linux and macOS.
    unsafe {
        cmd.pre_exec(move || {
            rlimit::setrlimit(Resource::AS, memory, memory)?;
            rlimit::setrlimit(Resource::CORE, 0, 0)?;
            rlimit::setrlimit(Resource::CPU, cpu, cpu)?;
            Ok(())
        });
    }
}

/// What came back from a worker process.
struct Exchange {
    status: std::io::Result<std::process::ExitStatus>,
    out: Vec<u8>,
    err: Vec<u8>,
    /// Killed at the time limit.
    timed_out: bool,
}

/// Feeds `bytes` to the child's stdin and collects its stdout and stderr (each on its own
/// thread, so that no pipe fills up and blocks the child) until it exits or `timeout`
/// passes (then it is killed).
fn exchange(mut child: Child, bytes: &[u8], timeout: Duration) -> Exchange {
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    std::thread::scope(|s| {
        s.spawn(move || {
            if let Some(mut w) = stdin {
                // A worker that dies early closes the pipe: not an error here.
                let _ = w.write_all(bytes);
            }
        });
        let out = s.spawn(move || read_all(stdout, MAX_OUTPUT));
        let err = s.spawn(move || read_all(stderr, 1 << 20));
        let (status, timed_out) = wait_until(&mut child, timeout);
        Exchange {
            status,
            out: out.join().unwrap_or_default(),
            err: err.join().unwrap_or_default(),
            timed_out,
        }
    })
}

/// Up to `limit` bytes of a pipe (nothing if there is none or it fails).
fn read_all(pipe: Option<impl Read>, limit: u64) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(p) = pipe {
        let _ = p.take(limit).read_to_end(&mut buf);
    }
    buf
}

/// Waits for the child, polling with a growing pause; kills it once `timeout` has passed.
/// The flag says it was killed.
fn wait_until(
    child: &mut Child,
    timeout: Duration,
) -> (std::io::Result<std::process::ExitStatus>, bool) {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return (Ok(st), false),
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                return (child.wait(), true);
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return (Err(e), false),
        }
    }
}

/// The worker's answer line (after the marker) as its result.
fn parse_answer(line: &str) -> Result<Result<PdfText, Problem>, Problem> {
    let answer: Answer = serde_json::from_str(line).map_err(|e| {
        Problem::failed(
            "worker_failed",
            format!("the PDF worker's answer is not valid: {e}"),
        )
    })?;
    Ok(match answer {
        Answer::Ok { pages, notes } => Ok(PdfText { pages, notes }),
        Answer::Issue {
            failed,
            reason,
            detail,
        } => Err(Problem {
            kind: if failed {
                IssueKind::Failed
            } else {
                IssueKind::Skipped
            },
            reason: static_reason(&reason),
            detail,
        }),
    })
}

/// A worker that ended without an answer: a crash (what killed it, from its stderr and
/// exit status), or `Ok(None)` for a program that exited normally and is no worker.
fn no_answer(
    worker: &Worker,
    status: &std::process::ExitStatus,
    err: &str,
) -> Result<Option<Result<PdfText, Problem>>, Problem> {
    let why = if err.contains("overflowed its stack") {
        "stack overflow: objects nested too deep".to_string()
    } else if err.contains("memory allocation") || err.contains("out of memory") {
        format!("out of memory (limit {} MiB)", worker.memory_limit >> 20)
    } else {
        crash_description(status)
    };
    match exit_signal(status) {
        Some(_) => Err(Problem::failed(
            "corrupt",
            format!("the PDF parser crashed on this file ({why})"),
        )),
        None if status.success() || status.code() == Some(2) || status.code() == Some(101) => {
            // Exited normally without an answer: not a worker (e.g. the CLI's usage error).
            Ok(None)
        }
        None => Err(Problem::failed(
            "corrupt",
            format!("the PDF worker failed ({why})"),
        )),
    }
}

fn exit_signal(status: &std::process::ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.signal()
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}

fn crash_description(status: &std::process::ExitStatus) -> String {
    match exit_signal(status) {
        Some(libc::SIGSEGV) => "signal SIGSEGV".to_string(),
        Some(libc::SIGABRT) => "signal SIGABRT".to_string(),
        Some(libc::SIGKILL) => "signal SIGKILL (memory or CPU limit)".to_string(),
        Some(libc::SIGXCPU) => "CPU time limit".to_string(),
        Some(s) => format!("signal {s}"),
        None => format!("exit code {}", status.code().unwrap_or(-1)),
    }
}

/// Pages -> document: text joined with blank lines, one section per page with text.
fn to_document(t: PdfText) -> Result<Document, Problem> {
    let total = t.pages.len();
    if total == 0 {
        return Err(Problem::skipped("empty", "the PDF has no pages"));
    }
    let mut text = String::new();
    let mut sections = Vec::new();
    let mut blank = Vec::new();
    for (i, page) in t.pages.iter().enumerate() {
        let page = page.trim();
        if page.is_empty() {
            blank.push(i + 1);
            continue;
        }
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        sections.push(Section {
            start: text.len(),
            label: format!("p. {}", i + 1),
        });
        push_clean(&mut text, page);
    }
    if sections.is_empty() {
        return Err(Problem::skipped(
            "needs_ocr",
            format!(
                "no text layer on any of its {total} page(s) (scanned images?); OCR is not supported"
            ),
        ));
    }
    text.push('\n');
    let mut notes = t.notes;
    let (all, odd) = text.chars().fold((0usize, 0usize), |(a, o), c| {
        let garbled = c == '\u{FFFD}' || ('\u{E000}'..='\u{F8FF}').contains(&c);
        (a + 1, o + usize::from(garbled))
    });
    if odd * 5 > all {
        notes.push(format!(
            "text layer looks garbled ({}% unmapped glyphs: fonts without a Unicode map?)",
            odd * 100 / all.max(1)
        ));
    }
    if !blank.is_empty() {
        notes.push(format!(
            "no text layer on page(s) {} of {total} (scanned images?)",
            compact_ranges(&blank)
        ));
    }
    Ok(Document {
        text,
        format: Format::Pdf,
        sections,
        notes,
    })
}

/// Appends page text with typographic ligatures spelled out, soft hyphens and NULs dropped
/// (they hurt tokenization and matching, and carry no meaning).
fn push_clean(out: &mut String, page: &str) {
    for c in page.chars() {
        match c {
            '\u{FB00}' => out.push_str("ff"),
            '\u{FB01}' => out.push_str("fi"),
            '\u{FB02}' => out.push_str("fl"),
            '\u{FB03}' => out.push_str("ffi"),
            '\u{FB04}' => out.push_str("ffl"),
            '\u{FB05}' | '\u{FB06}' => out.push_str("st"),
            '\u{00AD}' | '\0' => {}
            c => out.push(c),
        }
    }
}

/// [1,2,3,5] -> "1-3, 5"
fn compact_ranges(pages: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < pages.len() {
        let start = pages[i];
        let mut end = start;
        while i + 1 < pages.len() && pages[i + 1] == end + 1 {
            i += 1;
            end = pages[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

/// Extracts in a thread with a large stack, turning a panic into `corrupt`.
pub fn extract_guarded(bytes: &[u8]) -> Result<PdfText, Problem> {
    let depth = max_nesting(bytes);
    if depth > MAX_NESTING {
        return Err(Problem::failed(
            "corrupt",
            format!("objects nested {depth} deep (over {MAX_NESTING}): malformed or hostile PDF"),
        ));
    }
    super::stack::with_large_stack(|| extract_text(bytes)).unwrap_or_else(|panic| {
        Err(Problem::failed(
            "corrupt",
            format!("the PDF parser panicked: {panic}"),
        ))
    })
}

/// The deepest nesting of `[`/`<<` outside strings, comments and streams: a cheap guard
/// against parsers recursing once per level.
pub fn max_nesting(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
                    i += 1;
                }
            }
            b'(' => {
                let mut level = 0usize;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 1,
                        b'(' => level += 1,
                        b')' => {
                            level -= 1;
                            if level == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                depth += 1;
                max = max.max(depth);
                i += 1;
            }
            b']' => depth = depth.saturating_sub(1),
            b'>' if bytes.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b's' if bytes[i..].starts_with(b"stream")
                && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) =>
            {
                // Skip the stream's data up to its "endstream".
                let from = i + 6;
                match bytes[from..].windows(9).position(|w| w == b"endstream") {
                    Some(p) => i = from + p + 8,
                    None => break,
                }
                depth = 0;
            }
            _ => {}
        }
        i += 1;
    }
    max
}

/// The text of each page, by the PDF library. May panic or recurse on hostile input: call
/// through `extract_guarded` (or in the worker).
fn extract_text(bytes: &[u8]) -> Result<PdfText, Problem> {
    let doc = pdf_oxide::PdfDocument::from_bytes(bytes.to_vec()).map_err(|e| open_problem(&e))?;
    let mut notes = Vec::new();
    if doc.is_encrypted() {
        match doc.authenticate(b"") {
            Ok(true) => notes.push(
                "encrypted PDF opened with the empty user password (owner restrictions ignored)"
                    .to_string(),
            ),
            _ => {
                return Err(Problem::skipped(
                    "encrypted",
                    "encrypted PDF that needs a password to open",
                ))
            }
        }
    }
    let count = doc
        .page_count()
        .map_err(|e| Problem::failed("corrupt", format!("cannot read the page tree: {e}")))?;
    let mut pages = Vec::with_capacity(count);
    let mut failed = Vec::new();
    for i in 0..count {
        match doc.extract_text(i) {
            Ok(t) => pages.push(t),
            Err(e) => {
                if failed.is_empty() {
                    notes.push(format!("page {}: {e}", i + 1));
                }
                failed.push(i + 1);
                pages.push(String::new());
            }
        }
    }
    if !failed.is_empty() && failed.len() == count {
        return Err(Problem::failed(
            "corrupt",
            format!("text of no page could be read ({})", notes.join("; ")),
        ));
    }
    if !failed.is_empty() {
        notes.push(format!(
            "page(s) {} could not be read",
            compact_ranges(&failed)
        ));
    }
    Ok(PdfText { pages, notes })
}

fn open_problem(e: &pdf_oxide::error::Error) -> Problem {
    let msg = e.to_string();
    let lower = msg.to_lowercase();
    if matches!(e, pdf_oxide::error::Error::EncryptedPdf)
        || lower.contains("encrypt")
        || lower.contains("password")
    {
        Problem::skipped("encrypted", format!("encrypted PDF: {msg}"))
    } else {
        Problem::failed("corrupt", format!("not a readable PDF: {msg}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_scan_skips_strings_and_streams() {
        assert_eq!(max_nesting(b"<< /A [1 [2]] >>"), 3);
        assert_eq!(max_nesting(b"(a[[[\\)) [1] (b(c)[[)"), 1);
        assert_eq!(max_nesting(b"stream\n[[[[[[\nendstream [1]"), 1);
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(max_nesting(deep.as_bytes()), 10_000);
        let e = extract_guarded(deep.as_bytes()).unwrap_err();
        assert_eq!(e.reason, "corrupt");
    }

    #[test]
    fn page_sections_and_needs_ocr() {
        let d = to_document(PdfText {
            pages: vec!["one".into(), "  ".into(), "three".into()],
            notes: vec![],
        })
        .unwrap();
        assert_eq!(d.text, "one\n\nthree\n");
        assert_eq!(d.section_at(0), Some("p. 1"));
        assert_eq!(d.section_at(6), Some("p. 3"));
        assert_eq!(
            d.notes,
            vec!["no text layer on page(s) 2 of 3 (scanned images?)"]
        );
        let e = to_document(PdfText {
            pages: vec![" ".into(), String::new()],
            notes: vec![],
        })
        .unwrap_err();
        assert_eq!((e.reason, e.kind), ("needs_ocr", IssueKind::Skipped));
        assert_eq!(compact_ranges(&[1, 2, 3, 5, 7, 8]), "1-3, 5, 7-8");
        let d = to_document(PdfText {
            pages: vec![
                "\u{FB01}nance of\u{00AD}fice".into(),
                "\u{E001}\u{E002}\u{E003}\u{E004}\u{E005}\u{E006}x".into(),
            ],
            notes: vec![],
        })
        .unwrap();
        assert!(
            d.text.starts_with("finance office\n\n\u{E001}"),
            "{}",
            d.text
        );
        assert!(d.notes[0].contains("garbled"), "{:?}", d.notes);
    }

    #[test]
    fn a_program_that_is_not_a_worker_is_detected() {
        let w = Worker {
            program: "true".into(),
            args: vec![],
            timeout: Duration::from_secs(5),
            memory_limit: 1 << 30,
        };
        assert!(run_worker(&w, Path::new("x.pdf"), b"%PDF-")
            .unwrap()
            .is_none());
        let w = Worker {
            program: "sleep".into(),
            args: vec!["10".into()],
            timeout: Duration::from_millis(300),
            ..w
        };
        // "sleep 10 5" would take 15 s: killed at the limit.
        let t = Instant::now();
        let e = run_worker(&w, Path::new("5"), b"").unwrap_err();
        assert_eq!((e.reason, e.kind), ("timeout", IssueKind::Failed));
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}
