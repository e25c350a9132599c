//! Batch result files (vLLM's `run-batch` output, the OpenAI batch API's), read line by
//! line, each line checked for its shape (a last line cut short is left out), and each
//! answer validated like a live one.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::files::ExportInfo;
use crate::engine::openai::parse_response;
use crate::engine::{EngineError, FailureClass};
use crate::error::RunError;
use crate::parse::{Checks, Entity, Extraction, GroundText};
use crate::run::extract::accept_answer;

/// One line of a batch result file (vLLM's `run-batch` and the OpenAI batch API write the
/// same shape).
#[derive(Deserialize)]
pub(super) struct ResultLine<'a> {
    pub(super) custom_id: Option<String>,
    #[serde(default, borrow)]
    pub(super) response: Option<ResponsePart<'a>>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(super) struct ResponsePart<'a> {
    #[serde(default)]
    pub(super) status_code: Option<u16>,
    #[serde(default, borrow)]
    body: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct BodyModel {
    #[serde(default)]
    model: Option<String>,
}

impl ResultLine<'_> {
    pub(super) fn body(&self) -> Option<&RawValue> {
        self.response.as_ref().and_then(|r| r.body)
    }

    pub(super) fn model(&self) -> Option<String> {
        serde_json::from_str::<BodyModel>(self.body()?.get())
            .ok()?
            .model
    }

    /// The line's error, when it has one (`"error": null` is none).
    pub(super) fn error(&self) -> Option<&str> {
        self.error.map(RawValue::get).filter(|e| *e != "null")
    }
}

/// Reads a result file line by line: (line number, line, whether it ended with a newline),
/// empty lines left out.
pub(super) fn result_lines(
    path: &Path,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<(usize, String, bool)>>> {
    let f = File::open(path).map_err(|e| {
        RunError::io(
            path,
            &e,
            format!("cannot read the result file {}: {e}", path.display()),
        )
    })?;
    let path = path.to_path_buf();
    let mut r = BufReader::with_capacity(1 << 20, f);
    let mut n = 0usize;
    Ok(std::iter::from_fn(move || loop {
        let mut line = String::new();
        n += 1;
        match r.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) => {
                let complete = line.ends_with('\n');
                if line.trim().is_empty() {
                    continue;
                }
                return Some(Ok((n, line, complete)));
            }
            Err(e) => {
                let msg = format!("{}:{n}: {e}", path.display());
                return Some(Err(anyhow::Error::from(RunError::io(&path, &e, msg))));
            }
        }
    }))
}

/// A result line; None for a last line cut short (a job still writing, or killed): it is
/// left out, and its chunk stays pending.
pub(super) fn parse_result<'a>(
    path: &Path,
    n: usize,
    line: &'a str,
    complete: bool,
) -> anyhow::Result<Option<ResultLine<'a>>> {
    match parse_line(path, n, line) {
        Ok(r) => Ok(Some(r)),
        Err(_) if !complete => Ok(None),
        Err(e) => Err(e),
    }
}

fn parse_line<'a>(path: &Path, n: usize, line: &'a str) -> anyhow::Result<ResultLine<'a>> {
    let r: ResultLine = serde_json::from_str(line).map_err(|e| {
        RunError::usage(format!(
            "{}:{n} is not a batch result line ({e}); pass the output file of the batch job (`vllm run-batch -o`), not its input",
            path.display()
        ))
    })?;
    if r.custom_id.is_none() || (r.response.is_none() && r.error().is_none()) {
        return Err(RunError::usage(format!(
            "{}:{n} is not a batch result line (it needs a custom_id and a response or an error); pass the output file of the batch job (`vllm run-batch -o`), not its input",
            path.display()
        ))
        .into());
    }
    Ok(r)
}

/// Validates one result like a live answer to the chunk's request.
/// `known`: the relations pass's entities (its endpoints must be among them).
pub(super) fn evaluate(
    r: &ResultLine,
    text: &str,
    info: &ExportInfo,
    known: Option<&[Entity]>,
) -> Result<(Extraction, u64, u64), EngineError> {
    if let Some(e) = r.error() {
        return Err(EngineError::new(
            FailureClass::Server,
            format!(
                "the batch job failed this request: {}",
                crate::engine::snippet(e)
            ),
        ));
    }
    let body = r.body().ok_or_else(|| {
        EngineError::new(FailureClass::Malformed, "the result has no response body")
    })?;
    match r.response.as_ref().and_then(|x| x.status_code) {
        Some(200) | None => {}
        Some(code) => {
            let class = match code {
                400 if body.get().contains("context length") => FailureClass::ContextLength,
                429 | 503 => FailureClass::RateLimited,
                500..=599 => FailureClass::Server,
                _ => FailureClass::BadRequest,
            };
            return Err(EngineError::new(
                class,
                format!("{code} {}", crate::engine::snippet(body.get())),
            ));
        }
    }
    let ans = parse_response(body.get())?;
    let ground = GroundText::new(text);
    let checks = Checks {
        taxonomy: &info.taxonomy,
        text: Some(&ground),
        grounding: info.grounding,
        known,
    };
    let x = accept_answer(&ans, &checks)?;
    Ok((x, ans.prompt_tokens, ans.completion_tokens))
}
