//! The safe repairs of an answer that is not strict JSON: prose or code fences around the
//! object, trailing commas, and an answer cut off at its output budget (its complete
//! records kept). Nothing is guessed: what a repair cannot make into JSON stays an error.

/// The complete records of an answer cut off mid-way: the text up to the last item that
/// closed inside a top-level array (or the last array opened or closed there), with the
/// brackets still open closed. None when not even that much is there.
pub(super) fn salvage_cut_off(content: &str) -> Option<serde_json::Value> {
    let start = content.find('{')?;
    let body = &content[start..];
    let mut stack: Vec<u8> = Vec::new();
    let (mut in_str, mut escaped) = (false, false);
    // (byte end of the kept prefix, the stack then).
    let mut cut: Option<(usize, Vec<u8>)> = None;
    for (i, b) in body.bytes().enumerate() {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                stack.push(b);
                if b == b'[' && stack.len() == 2 {
                    cut = Some((i + 1, stack.clone()));
                }
            }
            b'}' | b']' => {
                stack.pop()?;
                if stack.len() == 2 && stack[1] == b'[' || stack.len() == 1 && b == b']' {
                    cut = Some((i + 1, stack.clone()));
                }
                if stack.is_empty() {
                    break;
                }
            }
            _ => {}
        }
    }
    let (end, open) = cut?;
    let mut text = body[..end].to_string();
    for b in open.iter().rev() {
        text.push(if *b == b'{' { '}' } else { ']' });
    }
    serde_json::from_str(&text).ok()
}

/// Strict JSON first; then the safe repairs (prose or fences around the object, trailing
/// commas). Every answer the tool reads goes through it.
pub fn parse_json(content: &str) -> Result<serde_json::Value, String> {
    let first_err = match serde_json::from_str::<serde_json::Value>(content) {
        Ok(v) => return Ok(v),
        Err(e) => e.to_string(),
    };
    // Prose or fences around the object: take the outermost {...}.
    let start = content.find('{');
    let end = content.rfind('}');
    if let (Some(s), Some(e)) = (start, end) {
        if s < e {
            let inner = &content[s..=e];
            if let Ok(v) = serde_json::from_str(inner) {
                return Ok(v);
            }
            if let Ok(v) = serde_json::from_str(&strip_trailing_commas(inner)) {
                return Ok(v);
            }
        }
    }
    Err(first_err)
}

/// Removes commas directly before `]` or `}` outside strings.
pub(super) fn strip_trailing_commas(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_str = false;
    let mut escaped = false;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some(']') | Some('}')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}
