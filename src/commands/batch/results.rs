//! Batch result files (vLLM's `run-batch` output, the OpenAI batch API's), read line by
//! line, each line checked for its shape; a last line cut short is left out.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::RunError;

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
