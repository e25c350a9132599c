//! The finishing step's requests: community reports and description summaries, told apart
//! from extraction requests by their schema (`findings` in a report's, `summary` alone in
//! a summary's). A report cites the member ids (`ent_…`, `rel_…`) listed in its prompt, so
//! tests can check citations; its answer is a pure function of the prompt.
//!
//! Content faults mean, for these requests: `wrong_schema` an answer that fails
//! validation (an empty title and a rating of 42); `malformed_json` the answer in a code
//! fence after a prose line, citing one id that is not in the community
//! (`ent_ffffffffffffffff`), which the client drops and counts; `truncated` the answer cut
//! in half.

use serde_json::{json, Value};

use crate::chat::Generated;
use crate::config::Fault;
use crate::extract::estimate_tokens;

/// The id a sloppy report cites that no community has.
pub const FOREIGN_ID: &str = "ent_ffffffffffffffff";

/// What kind of finishing-step request `schema` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Report,
    Summary,
}

fn kind_of(schema: &Value) -> Option<Kind> {
    let props = schema.get("properties")?.as_object()?;
    if props.contains_key("findings") {
        return Some(Kind::Report);
    }
    (props.len() == 1 && props.contains_key("summary")).then_some(Kind::Summary)
}

/// The distinct ids with `prefix` (`ent_`, `rel_`) in `text`, in order of appearance.
fn ids(text: &str, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let tail = &rest[i + prefix.len()..];
        let n = tail
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let before_ok = i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric();
        if n > 0 && before_ok {
            let id = format!("{prefix}{}", &tail[..n]);
            if !out.contains(&id) {
                out.push(id);
            }
        }
        rest = &tail[n..];
    }
    out
}

fn report_answer(prompt: &str, foreign: bool) -> Value {
    let ents = ids(prompt, "ent_");
    let rels = ids(prompt, "rel_");
    let first = ents.first().cloned().unwrap_or_else(|| "nothing".into());
    let mut cited: Vec<String> = ents.iter().take(3).cloned().collect();
    if foreign {
        cited.push(FOREIGN_ID.to_string());
    }
    json!({
        "title": format!("Community around {first}"),
        "summary": format!("A community of {} listed entities and {} listed relations.", ents.len(), rels.len()),
        "findings": [{
            "summary": format!("{first} is central"),
            "explanation": format!("{first} is listed first, with the highest degree."),
            "entities": cited,
            "relations": rels.iter().take(3).collect::<Vec<_>>(),
        }],
        "rating": (ents.len() % 11) as f64,
        "rating_explanation": "Rated by the number of entities listed.",
    })
}

fn summary_answer(prompt: &str) -> Value {
    let fragments: Vec<&str> = prompt
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .collect();
    let first = fragments.first().copied().unwrap_or("");
    json!({"summary": format!("A summary of {} descriptions: {first}", fragments.len())})
}

/// The answer to a report or summary request; None for any other request.
pub(crate) fn generate(
    prompt: &str,
    schema: &Value,
    fault: Option<&(Fault, u64)>,
) -> Option<Generated> {
    let kind = kind_of(schema)?;
    let fault = fault.map(|f| &f.0);
    let answer = match kind {
        Kind::Report => report_answer(prompt, fault == Some(&Fault::MalformedJson)),
        Kind::Summary => summary_answer(prompt),
    };
    let full = answer.to_string();
    let (content, finish, ok) = match fault {
        Some(Fault::WrongSchema) => {
            let mut bad = answer;
            bad["title"] = json!("");
            bad["rating"] = json!(42);
            bad["summary"] = json!("");
            (bad.to_string(), "stop", false)
        }
        Some(Fault::MalformedJson) => (
            format!("Here is the report:\n```json\n{full}\n```"),
            "stop",
            false,
        ),
        Some(Fault::Truncated) => {
            let cut: String = full.chars().take(full.chars().count() / 2).collect();
            (cut, "length", false)
        }
        _ => (full, "stop", true),
    };
    Some(Generated {
        completion_tokens: estimate_tokens(&content),
        content: Some(content),
        reasoning: None,
        finish,
        ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_cite_the_listed_ids() {
        let schema = json!({"properties": {"title": {}, "findings": {}}});
        let prompt = "id|name\nent_a1|A\nent_b2|B\n-----Relations-----\nrel_c3|A|B|R|x\nment_zz";
        let g = generate(prompt, &schema, None).unwrap();
        let v: Value = serde_json::from_str(g.content.as_deref().unwrap()).unwrap();
        assert_eq!(v["findings"][0]["entities"], json!(["ent_a1", "ent_b2"]));
        assert_eq!(v["findings"][0]["relations"], json!(["rel_c3"]));
        assert!(g.ok);
        let extraction = json!({"properties": {"entities": {}, "relations": {}}});
        assert!(generate(prompt, &extraction, None).is_none());
    }

    #[test]
    fn summaries_count_the_fragments() {
        let schema = json!({"properties": {"summary": {}}});
        let g = generate("Descriptions:\n- one\n- two\n", &schema, None).unwrap();
        assert!(g
            .content
            .unwrap()
            .contains("A summary of 2 descriptions: one"));
    }
}
