//! The request plan: fits system prompt + chunk + output budget into the served model's
//! context (`max_model_len`). Big contexts keep the configured prompts and chunk size
//! untouched. Small ones (a 2048-token model, say) get, in this order of preference, the
//! compact system template, smaller answer bounds (fewer items, shorter strings, hence a
//! smaller output budget) and smaller chunks, measured with the model's own tokenizer
//! (vLLM's `/tokenize`) when it is there. The plan changes the prompt fingerprint and the
//! chunk settings, so chunk keys follow it: results of one plan are never mixed with
//! another's.

use crate::chunk::ChunkSettings;
use crate::prompt::PromptSet;
use crate::run::settings::RunSettings;

/// What a run will send.
#[derive(Debug, Clone)]
pub struct Plan {
    pub prompts: PromptSet,
    pub chunk: ChunkSettings,
    /// Output budget per request.
    pub max_output_tokens: u32,
    /// Said to the user when the plan departs from the configuration.
    pub note: Option<String>,
}

/// Token counts in the served model's terms.
pub trait TokenCounter {
    /// Tokens of `text`; None when unknown.
    fn count(&self, text: &str) -> Option<u32>;
}

/// Room kept for the chat template, the user template's words and rounding.
const MARGIN_TOKENS: u32 = 64;
/// Chunks smaller than this many model tokens are not worth a request.
const MIN_CHUNK_MODEL_TOKENS: u32 = 192;
/// Safety factor on estimated token counts.
const SAFETY: f64 = 1.15;

/// Model tokens per character of English prose, and model tokens per cl100k token.
#[derive(Debug, Clone, Copy)]
pub struct Ratios {
    pub tokens_per_char: f64,
    pub model_per_cl100k: f64,
    /// Model tokens per character of an answer (JSON: keys, punctuation, names), measured
    /// on the schema's largest answer. A tokenizer may be twice as fine on JSON as on prose.
    pub answer_tokens_per_char: f64,
}

impl Ratios {
    /// Without a tokenizer: guesses for today's large-vocabulary tokenizers (English
    /// prose ~4 characters per token, JSON ~3.3; a tokenizer a bit finer than cl100k).
    pub const GUESS: Ratios = Ratios {
        tokens_per_char: 0.3,
        model_per_cl100k: 1.3,
        answer_tokens_per_char: 0.3,
    };

    /// From the model's token count `n` of `sample` (None: not measured, the guesses).
    pub fn from_count(sample: &str, n: Option<u32>) -> Ratios {
        let cl100k = crate::chunk::tokens::tokenizer()
            .encode_ordinary(sample)
            .len()
            .max(1) as f64;
        match n {
            Some(n) if n > 0 && !sample.is_empty() => Ratios {
                tokens_per_char: f64::from(n) / sample.len() as f64,
                model_per_cl100k: f64::from(n) / cl100k,
                // Until the answer is measured: JSON costs at least what prose does.
                answer_tokens_per_char: (f64::from(n) / sample.len() as f64)
                    .max(Ratios::GUESS.answer_tokens_per_char),
            },
            _ => Ratios::GUESS,
        }
    }

    /// With the model's token count `n` of `answer` (the schema's largest answer).
    pub fn with_answer_count(mut self, answer: &str, n: Option<u32>) -> Ratios {
        if let Some(n) = n.filter(|&n| n > 0 && !answer.is_empty()) {
            self.answer_tokens_per_char = f64::from(n) / answer.len() as f64;
        }
        self
    }
}

/// Fits the prompts and chunk size to `context` tokens. `explicit_output` is the user's
/// `--max-output-tokens`, which the plan keeps.
pub fn plan(
    prompts: &PromptSet,
    chunk: ChunkSettings,
    context: u32,
    ratios: Ratios,
    counter: &dyn TokenCounter,
    explicit_output: Option<u32>,
) -> Plan {
    // The budget covers the schema's largest answer as the served tokenizer counts it
    // (the context is known here, so no other ceiling: a budget is a cap, not a
    // reservation); where the context cannot hold it next to a chunk, the bounds shrink.
    let budget_of = |p: &PromptSet| -> u32 {
        explicit_output.unwrap_or_else(|| {
            (f64::from(p.max_answer_chars()) * ratios.answer_tokens_per_char * SAFETY).ceil() as u32
        })
    };
    let system_tokens = |p: &PromptSet| -> u32 {
        counter.count(&p.system).unwrap_or_else(|| {
            (p.system.len() as f64 * ratios.tokens_per_char * SAFETY).ceil() as u32
        })
    };
    let wanted_chunk = (chunk.tokens as f64 * ratios.model_per_cl100k * SAFETY).ceil() as u32;
    let base = prompts.taxonomy.limits;
    let mut last = None;
    for compact in [false, true] {
        for scale in [1.0, 0.75, 0.5, 0.35, 0.25] {
            let Ok(p) = (if !compact && scale == 1.0 {
                Ok(prompts.clone())
            } else {
                prompts.variant(base.scaled(scale), compact)
            }) else {
                continue;
            };
            let budget = budget_of(&p);
            let room = context
                .saturating_sub(system_tokens(&p))
                .saturating_sub(budget)
                .saturating_sub(MARGIN_TOKENS);
            if room >= wanted_chunk && !compact && scale == 1.0 {
                // Everything fits as configured.
                return Plan {
                    prompts: p,
                    chunk,
                    max_output_tokens: budget,
                    note: None,
                };
            }
            let fits = room >= MIN_CHUNK_MODEL_TOKENS.min(wanted_chunk);
            let chunk_tokens = ((f64::from(room) / ratios.model_per_cl100k / SAFETY) as usize)
                .clamp(16, chunk.tokens);
            let candidate = (p, chunk_tokens, budget);
            if fits {
                return finish(candidate, chunk, context, compact, scale);
            }
            last = Some((candidate, compact, scale));
        }
    }
    match last {
        Some((candidate, compact, scale)) => {
            let mut p = finish(candidate, chunk, context, compact, scale);
            p.note = Some(format!(
                "{} Even so the context is very small: expect chunks to be split further.",
                p.note.unwrap_or_default()
            ));
            p
        }
        None => Plan {
            prompts: prompts.clone(),
            chunk,
            max_output_tokens: budget_of(prompts),
            note: None,
        },
    }
}

fn finish(
    (prompts, chunk_tokens, budget): (PromptSet, usize, u32),
    chunk: ChunkSettings,
    context: u32,
    compact: bool,
    scale: f64,
) -> Plan {
    let overlap = chunk.overlap.min(chunk_tokens / 8);
    let l = prompts.taxonomy.limits;
    let note = format!(
        "the model's context is {context} tokens: {}chunks of {chunk_tokens} tokens (from {}), at most {} entities and {} relations per chunk{}, output budget {budget} tokens.",
        if compact { "compact prompt, " } else { "" },
        chunk.tokens,
        l.max_entities,
        l.max_relations,
        if scale < 1.0 { format!(" (strings up to {}/{} characters)", l.max_name_chars, l.max_description_chars) } else { String::new() },
    );
    Plan {
        prompts,
        chunk: ChunkSettings {
            tokens: chunk_tokens,
            overlap,
        },
        max_output_tokens: budget,
        note: Some(note),
    }
}

/// Fits prompts, chunk size and output budget to the preferred engine's context (see
/// `plan`), measuring the tokenizer with vLLM's `/tokenize` when it answers.
pub(crate) async fn apply_plan(
    s: &mut RunSettings,
    probed: &mut crate::engine::setup::ProbedEngines,
) {
    use crate::engine::client::EngineClient;
    let Some(setup) = probed
        .setups
        .iter()
        .find(|e| e.up && e.context_len.is_some())
    else {
        return;
    };
    let counter = match &setup.client {
        EngineClient::OpenAi(c) => Some(c),
        EngineClient::Ollama(_) => None,
    };
    let per_k = fit_plan(s, setup.context_len.unwrap_or(0), counter).await;
    if let Some(per_k) = per_k {
        for e in probed.setups.iter_mut() {
            if matches!(e.client, EngineClient::OpenAi(_)) {
                e.tokens_per_kchar = Some(per_k);
            }
        }
    }
}

/// Fits prompts, chunk size and output budget to a `context`-token model, counting tokens
/// with `counter`'s tokenizer when it answers (else estimated). Returns the measured prompt
/// tokens per 1000 characters.
pub(crate) async fn fit_plan(
    s: &mut RunSettings,
    context: u32,
    counter: Option<&crate::engine::openai::OpenAiClient>,
) -> Option<u32> {
    use crate::run::plan::{plan, Ratios, TokenCounter};
    struct Estimate;
    impl TokenCounter for Estimate {
        fn count(&self, _: &str) -> Option<u32> {
            None
        }
    }
    let sample = s.prompts.system.to_string();
    let measured = match counter {
        Some(c) => c.count_tokens(&sample).await,
        None => None,
    };
    // The schema's largest answer, counted by the served tokenizer: the output budget must
    // cover it (a tokenizer may need twice the tokens per character on JSON as on prose).
    let answer = s.prompts.largest_answer();
    let answer_measured = match (counter, measured) {
        (Some(c), Some(_)) => c.count_tokens(&answer).await,
        _ => None,
    };
    let ratios = Ratios::from_count(&sample, measured).with_answer_count(&answer, answer_measured);
    let p = plan(
        &s.prompts,
        s.chunk,
        context,
        ratios,
        &Estimate,
        s.max_output_explicit,
    );
    if let Some(note) = &p.note {
        crate::errln!("aegis-ingest: {note}");
    }
    s.prompts = std::sync::Arc::new(p.prompts);
    s.chunk = p.chunk;
    s.max_output_tokens = p.max_output_tokens;
    measured.map(|_| (ratios.tokens_per_char * 1000.0).round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::{default_prompts_root, PromptSet};

    struct Chars(f64);
    impl TokenCounter for Chars {
        fn count(&self, text: &str) -> Option<u32> {
            Some((text.len() as f64 * self.0).ceil() as u32)
        }
    }

    fn general() -> PromptSet {
        PromptSet::load_domain(&default_prompts_root(), "general").unwrap()
    }

    fn check_fits(p: &Plan, ctx: u32, counter: &Chars, r: Ratios) {
        let sys = counter.count(&p.prompts.system).unwrap();
        let chunk = (p.chunk.tokens as f64 * r.model_per_cl100k) as u32;
        assert!(
            sys + chunk + p.max_output_tokens + MARGIN_TOKENS <= ctx,
            "{sys} + {chunk} + {} > {ctx}",
            p.max_output_tokens
        );
        // The budget covers the schema's largest answer.
        assert!(
            f64::from(p.max_output_tokens)
                >= f64::from(p.prompts.max_answer_chars()) * r.answer_tokens_per_char
        );
    }

    #[test]
    fn big_context_keeps_the_configuration() {
        let c = Chars(0.25);
        let r = Ratios {
            tokens_per_char: 0.25,
            model_per_cl100k: 1.0,
            answer_tokens_per_char: 0.25,
        };
        let p = plan(
            &general(),
            ChunkSettings {
                tokens: 1200,
                overlap: 100,
            },
            32768,
            r,
            &c,
            None,
        );
        assert!(p.note.is_none());
        assert_eq!(p.chunk.tokens, 1200);
        assert!(!p.prompts.compact);
        assert_eq!(p.prompts.fingerprint, general().fingerprint);
        check_fits(&p, 32768, &c, r);
    }

    #[test]
    fn a_2048_token_model_gets_a_plan_that_fits() {
        // A small tokenizer: 2.4 characters per token, twice as fine as cl100k.
        let c = Chars(1.0 / 2.4);
        let r = Ratios {
            tokens_per_char: 1.0 / 2.4,
            model_per_cl100k: 2.0,
            answer_tokens_per_char: 1.0 / 2.4,
        };
        let p = plan(
            &general(),
            ChunkSettings {
                tokens: 1200,
                overlap: 100,
            },
            2048,
            r,
            &c,
            None,
        );
        let note = p.note.clone().unwrap();
        assert!(note.contains("2048"), "{note}");
        assert!(
            p.chunk.tokens >= 96 && p.chunk.tokens < 1200,
            "{:?}",
            p.chunk
        );
        assert!(p.chunk.overlap < p.chunk.tokens);
        check_fits(&p, 2048, &c, r);
        // The compact prompt still names every type and the last-resort rule.
        for t in p
            .prompts
            .taxonomy
            .relation_types
            .iter()
            .chain(&p.prompts.taxonomy.entity_types)
        {
            assert!(p.prompts.system.contains(&t.name), "{}", t.name);
        }
        assert!(p.prompts.system.contains("last resort"));
        assert_ne!(p.prompts.fingerprint, general().fingerprint);
    }

    /// A tokenizer that is fine on JSON (0.5 tokens a character, as a small random model's
    /// was) in a 2048-token context: the answer bounds shrink until the budget covers the
    /// largest answer, and the plan says so.
    #[test]
    fn a_tokenizer_that_is_fine_on_json_shrinks_the_bounds_until_the_budget_covers_them() {
        let c = Chars(1.0 / 3.5);
        let r = Ratios {
            tokens_per_char: 1.0 / 3.5,
            model_per_cl100k: 1.2,
            answer_tokens_per_char: 0.5,
        };
        let cs = ChunkSettings {
            tokens: 1200,
            overlap: 100,
        };
        let p = plan(&general(), cs, 2048, r, &c, None);
        check_fits(&p, 2048, &c, r);
        // Smaller bounds than configured, and said.
        let (a, b) = (p.prompts.taxonomy.limits, general().taxonomy.limits);
        assert!(a.max_entities < b.max_entities, "{a:?} vs {b:?}");
        assert!(p.note.unwrap().contains("output budget"));
        // And at a large context the full bounds stay, with a budget that covers them.
        let big = plan(&general(), cs, 32768, r, &c, None);
        assert!(big.note.is_none());
        check_fits(&big, 32768, &c, r);
    }
}
