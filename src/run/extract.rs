//! One chunk through the router: the answer bounds' ladder (shrunk after a cut-off answer),
//! halving a chunk whose prompt does not fit, gleaning, and accepting an answer.

use std::sync::Arc;

use serde_json::value::RawValue;

use crate::chunk::Chunker;
use crate::engine::router::{ChunkSpend, RouteError, Router};
use crate::engine::{ChatAnswer, ChatRequest, EngineError, EngineKind, FailureClass, Finish};
use crate::parse::{parse_answer, AnswerError, Checks, Entity, Extraction, GroundText, Grounding};
use crate::prompt::{pass_message, relation_schema, Pass, PromptSet, RelationsMode, Taxonomy};
use crate::run::settings::RunSettings;

use super::producer::*;
use super::stop::*;

/// Times a chunk may be halved when it does not fit.
pub(crate) const MAX_SPLIT_DEPTH: u32 = 4;

/// One set of answer bounds, sent together: the system prompt that states them, the schema
/// that enforces them, and an output budget that covers the largest answer they allow.
pub(crate) struct AnswerShape {
    pub(crate) prompts: Arc<PromptSet>,
    pub(crate) system_json: Arc<RawValue>,
    pub(crate) schema: Arc<RawValue>,
    /// The schema of the entities pass (`--relations two-pass`).
    pub(crate) entity_schema: Arc<RawValue>,
    pub(crate) max_tokens: u32,
}

/// What the relations pass adds to a chunk's seed (its answers are not the entities
/// pass's draws).
pub(crate) const RELATIONS_SEED: u64 = 1 << 40;

/// The relations pass's message and schema over `entities` (their names and types as the
/// endpoints' enums). None: no relation the taxonomy's signatures allow between them
/// (fewer than two, or none of the types a signature needs).
pub(crate) fn relations_ask(
    taxonomy: &Taxonomy,
    text: &str,
    entities: &[Entity],
) -> Option<(String, Arc<RawValue>)> {
    let pairs: Vec<(&str, &str)> = entities
        .iter()
        .map(|e| (e.name.as_str(), e.kind.as_str()))
        .collect();
    let schema = relation_schema(taxonomy, &pairs)?;
    let schema = RawValue::from_string(schema.to_string()).ok()?.into();
    Some((pass_message(text, Pass::Relations(&pairs)), schema))
}

/// What one request of a chunk asks for.
#[derive(Clone, Copy)]
pub(crate) enum Ask<'a> {
    /// Entities and relations in one answer (`--relations joint`).
    Joint,
    /// The first pass of `--relations two-pass`.
    Entities,
    /// The second pass, over the entities the first kept.
    Relations(&'a [Entity]),
}

impl Ask<'_> {
    /// What gleaning asks after an answer to this.
    fn glean_ask(self) -> &'static str {
        match self {
            Ask::Joint => GLEAN_ASK,
            Ask::Entities => GLEAN_ENTITIES_ASK,
            Ask::Relations(_) => GLEAN_RELATIONS_ASK,
        }
    }
}

impl AnswerShape {
    /// The request for `piece` of `job` under these bounds. None: a relations pass with no
    /// relation the schema could allow (fewer than two entities, or none of the types a
    /// signature needs): nothing to ask.
    pub(crate) fn request(&self, job: &ChunkJob, piece: &Piece, ask: Ask) -> Option<ChatRequest> {
        let (user, schema, pass) = match ask {
            Ask::Joint => (
                piece.user.clone().unwrap_or_else(|| {
                    self.prompts
                        .user_message(&piece.text, &job.rel, job.section.as_deref())
                }),
                self.schema.clone(),
                0,
            ),
            Ask::Entities => (
                pass_message(&piece.text, Pass::Entities),
                self.entity_schema.clone(),
                0,
            ),
            Ask::Relations(entities) => {
                let (user, schema) = relations_ask(&self.prompts.taxonomy, &piece.text, entities)?;
                (user, schema, RELATIONS_SEED)
            }
        };
        Some(ChatRequest {
            system: self.prompts.system.clone(),
            system_json: self.system_json.clone(),
            user,
            schema,
            max_tokens: self.max_tokens,
            // An answer cut off before one record was complete may get more budget, up to
            // what the bounds' largest answer needs (a --max-output-tokens set too small).
            max_tokens_ceiling: self.max_tokens.max(self.prompts.max_answer_tokens()),
            seed: job
                .key
                .seed()
                .wrapping_add(u64::from(piece.depth))
                .wrapping_add(pass),
            request_id: job.key.hex(),
            followup: None,
        })
    }

    pub(crate) fn new(prompts: Arc<PromptSet>, max_tokens: u32) -> anyhow::Result<Self> {
        Ok(AnswerShape {
            system_json: serde_json::value::to_raw_value(&*prompts.system)
                .map_err(|e| anyhow::anyhow!("system prompt serialization: {e}"))?
                .into(),
            schema: RawValue::from_string(prompts.schema.to_string())
                .map_err(|e| anyhow::anyhow!("schema serialization: {e}"))?
                .into(),
            entity_schema: RawValue::from_string(prompts.entity_schema.to_string())
                .map_err(|e| anyhow::anyhow!("schema serialization: {e}"))?
                .into(),
            prompts,
            max_tokens,
        })
    }

    /// The plan's bounds, then halved and quartered: an answer cut off at its budget is
    /// asked again with smaller bounds (a smaller chunk would be cut off as well when the
    /// schema, not the text, decides the answer's length). The budget shrinks with the
    /// largest answer the bounds allow, unless the user set it.
    pub(crate) fn ladder(s: &RunSettings) -> anyhow::Result<Vec<AnswerShape>> {
        let base = s.prompts.clone();
        let chars = f64::from(base.max_answer_chars().max(1));
        let mut shapes = vec![AnswerShape::new(base.clone(), s.max_output_tokens)?];
        for f in [0.5, 0.25] {
            let limits = base.taxonomy.limits.scaled(f);
            let last = &shapes[shapes.len() - 1].prompts.taxonomy.limits;
            if limits.max_entities + limits.max_relations >= last.max_entities + last.max_relations
            {
                break;
            }
            let p = Arc::new(base.variant(limits, base.compact)?);
            let budget = match s.max_output_explicit {
                Some(b) => b,
                None => ((f64::from(s.max_output_tokens) * f64::from(p.max_answer_chars()) / chars)
                    .ceil() as u32)
                    .max(64),
            };
            shapes.push(AnswerShape::new(p, budget)?);
        }
        Ok(shapes)
    }
}

/// Shared by the chunk tasks.
pub(crate) struct TaskCtx {
    pub(crate) router: Arc<Router>,
    pub(crate) shapes: Vec<AnswerShape>,
    pub(crate) grounding: Grounding,
    pub(crate) max_answers_per_chunk: u32,
    pub(crate) max_tokens_per_chunk: u64,
    /// Follow-up rounds after a complete answer (`--gleaning`).
    pub(crate) gleaning: u32,
    /// `--relations`: joint or two-pass.
    pub(crate) relations: RelationsMode,
}

impl TaskCtx {
    /// What every chunk task of a run with settings `s` shares.
    pub(crate) fn new(s: &RunSettings, router: Arc<Router>) -> anyhow::Result<Self> {
        Ok(TaskCtx {
            router,
            grounding: s.grounding,
            max_answers_per_chunk: s.max_requests_per_chunk,
            max_tokens_per_chunk: s
                .max_tokens_per_chunk
                .unwrap_or(u64::from(s.max_output_tokens.max(s.prompts.max_answer_tokens())) * 4),
            shapes: AnswerShape::ladder(s)?,
            gleaning: s.gleaning,
            relations: s.relations,
        })
    }
}

/// What gleaning asks after an answer.
pub(crate) const GLEAN_ASK: &str = "Some entities and relations in the text may have been missed. Answer with the missed ones only, in the same JSON format (include the entities that new relations connect); answer with empty lists if nothing was missed.";

/// What gleaning asks after an entities pass (`--relations two-pass`).
pub(crate) const GLEAN_ENTITIES_ASK: &str = "Some entities in the text may have been missed. Answer with the missed ones only, in the same JSON format; answer with an empty list if nothing was missed.";

/// What gleaning asks after a relations pass.
pub(crate) const GLEAN_RELATIONS_ASK: &str = "Some relations between the listed entities may have been missed. Answer with the missed ones only, in the same JSON format; answer with an empty list if nothing was missed.";

/// A chunk's extraction, as the extractor finishes it and the writer journals it.
pub(crate) struct ChunkDone {
    pub(crate) extraction: Extraction,
    pub(crate) engine: EngineKind,
    pub(crate) model: String,
    /// Prompt and completion tokens over all the chunk's requests.
    pub(crate) pt: u64,
    pub(crate) ct: u64,
    /// Times the chunk was halved because its prompt did not fit.
    pub(crate) splits: u32,
    /// Times the answer bounds were shrunk after a cut-off answer.
    pub(crate) shrunk: u32,
    /// Gleaning: follow-up requests answered, records they added.
    pub(crate) gleaned: (u32, u32),
    /// `--relations repair`: relations passes answered.
    pub(crate) repaired: u32,
}

/// A chunk that failed, with its failure class and the answer's start when there was one.
pub(crate) struct ChunkFailed {
    pub(crate) class: String,
    pub(crate) reason: String,
    pub(crate) raw: Option<String>,
}

/// How one chunk's extraction ended.
pub(crate) enum Outcome {
    Done(ChunkDone),
    Failed(ChunkFailed),
    /// The run must stop (an engine misconfigured, or none left).
    Stop(Stop),
    /// Abandoned at the stop deadline.
    Cancelled,
}

pub(crate) fn answer_error(ans: &ChatAnswer, e: AnswerError) -> EngineError {
    let raw = Some(crate::engine::snippet(&ans.content));
    let mut err = match e {
        AnswerError::Empty if ans.reasoning => EngineError::new(
            FailureClass::EmptyContent,
            "empty content: the model spent its output budget reasoning (thinking could not be switched off)",
        ),
        AnswerError::Empty => EngineError::new(FailureClass::EmptyContent, "empty content"),
        AnswerError::Truncated => EngineError::new(FailureClass::Truncated, "answer cut off at the output budget before one record was complete"),
        AnswerError::Malformed(m) => EngineError::new(FailureClass::Malformed, m),
        AnswerError::Invalid(m) => EngineError::new(FailureClass::Invalid, m),
    };
    err.raw = raw;
    err
}

/// Parses and validates an engine's answer (live, or from a batch result file).
pub(crate) fn accept_answer(ans: &ChatAnswer, checks: &Checks) -> Result<Extraction, EngineError> {
    // Reasoning but no content: the model thought instead of answering (a thinking model
    // that ignored enable_thinking=false). Not a cut JSON: a content failure.
    let thought_only = ans.reasoning && ans.content.trim().is_empty();
    let cut_off = ans.finish == Finish::Length && !thought_only;
    parse_answer(&ans.content, cut_off, checks).map_err(|e| answer_error(ans, e))
}

/// A piece of a chunk still to extract: the whole chunk, or a half of one whose prompt did
/// not fit the context.
pub(crate) struct Piece {
    pub(crate) text: String,
    /// The rendered user message (the whole chunk's is made by the producer).
    pub(crate) user: Option<String>,
    pub(crate) depth: u32,
}

/// What the requests for one chunk produced so far.
#[derive(Default)]
pub(crate) struct ChunkResult {
    pub(crate) total: Extraction,
    pub(crate) pt: u64,
    pub(crate) ct: u64,
    pub(crate) splits: u32,
    pub(crate) shrunk: u32,
    pub(crate) gleaned: (u32, u32),
    /// `--relations repair`: relations passes answered.
    pub(crate) repaired: u32,
    pub(crate) served_by: Option<(EngineKind, String)>,
}

impl ChunkResult {
    pub(crate) fn failed(err: EngineError, note: &str) -> Outcome {
        Outcome::Failed(ChunkFailed {
            class: err.class.name().into(),
            reason: format!("{}{note}", err.message),
            raw: err.raw,
        })
    }
}

pub(crate) async fn extract_chunk(ctx: &TaskCtx, job: &ChunkJob) -> Outcome {
    let spend = ChunkSpend::new(ctx.max_answers_per_chunk, ctx.max_tokens_per_chunk);
    let mut pending = vec![Piece {
        text: job.text.clone(),
        user: Some(job.user.clone()),
        depth: 0,
    }];
    let mut acc = ChunkResult::default();
    while let Some(piece) = pending.pop() {
        match extract_piece(ctx, job, &piece, &spend, &mut acc).await {
            Ok(None) => {}
            Ok(Some(err)) => {
                // The prompt does not fit the context: halve the text. Pop order: first
                // half first.
                match (piece.depth < MAX_SPLIT_DEPTH)
                    .then(|| Chunker::split_in_two(&piece.text))
                    .flatten()
                {
                    Some((a, b)) => {
                        acc.splits += 1;
                        let depth = piece.depth + 1;
                        pending.push(Piece {
                            text: b,
                            user: None,
                            depth,
                        });
                        pending.push(Piece {
                            text: a,
                            user: None,
                            depth,
                        });
                    }
                    None => {
                        return ChunkResult::failed(err, " (and the chunk cannot be split further)")
                    }
                }
            }
            Err(outcome) => return outcome,
        }
    }
    let (engine, model) = acc.served_by.unwrap_or((EngineKind::Vllm, String::new()));
    Outcome::Done(ChunkDone {
        extraction: acc.total,
        engine,
        model,
        pt: acc.pt,
        ct: acc.ct,
        splits: acc.splits,
        shrunk: acc.shrunk,
        gleaned: acc.gleaned,
        repaired: acc.repaired,
    })
}

/// How one pass over a piece ended.
pub(crate) enum PassEnd {
    Done(Extraction),
    /// The prompt does not fit: split the piece.
    Split(EngineError),
}

/// Extracts one piece into `acc`: one joint pass, or the entities pass then (with two or
/// more entities kept) the relations pass at the answer bounds the first ended with.
/// `Ok(Some(err))`: the prompt does not fit, split the piece. `Err`: the chunk's outcome
/// (failed, stopped).
pub(crate) async fn extract_piece(
    ctx: &TaskCtx,
    job: &ChunkJob,
    piece: &Piece,
    spend: &ChunkSpend,
    acc: &mut ChunkResult,
) -> Result<Option<EngineError>, Outcome> {
    let first = match ctx.relations {
        RelationsMode::Joint | RelationsMode::Repair => Ask::Joint,
        RelationsMode::TwoPass => Ask::Entities,
    };
    let (mut x, level) = match run_pass(ctx, job, piece, spend, acc, first, 0).await? {
        (PassEnd::Done(x), level) => (x, level),
        (PassEnd::Split(err), _) => return Ok(Some(err)),
    };
    let lost = x.drops.dangling_endpoint + x.drops.dropped_endpoint;
    let second = match ctx.relations {
        RelationsMode::Joint => false,
        RelationsMode::TwoPass => true,
        RelationsMode::Repair => lost > 0 && !spend.exhausted(),
    };
    if second && x.entities.len() >= 2 {
        let repair = ctx.relations == RelationsMode::Repair;
        match run_pass(
            ctx,
            job,
            piece,
            spend,
            acc,
            Ask::Relations(&x.entities),
            level,
        )
        .await
        {
            Ok((PassEnd::Done(r), _)) => {
                if repair {
                    acc.repaired += 1;
                }
                x.absorb(r);
            }
            // The relations failed, or their prompt (the entity list added) does not fit:
            // the entities are kept, the chunk's result marked partial (a repair keeps the
            // joint answer as it was).
            Ok((PassEnd::Split(_), _)) | Err(Outcome::Failed(_)) => x.partial |= !repair,
            Err(other) => return Err(other),
        }
    }
    acc.total.absorb(x);
    Ok(None)
}

/// One pass (`ask`) over a piece, from answer bounds `level`, shrinking them while answers
/// come back cut off. Gives the pass's extraction and the level it ended at.
pub(crate) async fn run_pass(
    ctx: &TaskCtx,
    job: &ChunkJob,
    piece: &Piece,
    spend: &ChunkSpend,
    acc: &mut ChunkResult,
    ask: Ask<'_>,
    mut level: usize,
) -> Result<(PassEnd, usize), Outcome> {
    let ground = GroundText::new(&piece.text);
    // Complete records of cut-off answers, kept while smaller bounds are tried.
    let mut partial: Option<Extraction> = None;
    loop {
        let shape = &ctx.shapes[level];
        let checks = Checks {
            taxonomy: &shape.prompts.taxonomy,
            text: Some(&ground),
            grounding: ctx.grounding,
            known: match ask {
                Ask::Relations(entities) => Some(entities),
                _ => None,
            },
        };
        let accept = |ans: &ChatAnswer| accept_answer(ans, &checks);
        let Some(req) = shape.request(job, piece, ask) else {
            return Ok((PassEnd::Done(partial.unwrap_or_default()), level));
        };
        let smaller = level + 1 < ctx.shapes.len();
        match ctx.router.call(&req, spend, &accept).await {
            Ok(served) => {
                acc.pt += served.prompt_tokens;
                acc.ct += served.completion_tokens;
                acc.served_by = Some((served.engine, served.model));
                let cut = served.value.partial;
                let mut x = partial.take().unwrap_or_default();
                x.absorb(served.value);
                x.partial = cut;
                if cut && smaller && !spend.exhausted() {
                    partial = Some(x);
                    level += 1;
                    acc.shrunk += 1;
                    continue;
                }
                if !cut && ctx.gleaning > 0 {
                    glean(ctx, &req, ask.glean_ask(), spend, &accept, &mut x, acc).await?;
                }
                return Ok((PassEnd::Done(x), level));
            }
            Err(RouteError::Split(err)) if err.class == FailureClass::Truncated => {
                if smaller && !spend.exhausted() {
                    level += 1;
                    acc.shrunk += 1;
                    continue;
                }
                return match partial {
                    Some(x) => Ok((PassEnd::Done(x), level)),
                    None => Err(ChunkResult::failed(
                        err,
                        " (even with the smallest answer bounds)",
                    )),
                };
            }
            Err(RouteError::Split(err)) => return Ok((PassEnd::Split(err), level)),
            Err(RouteError::Failed(err)) => {
                // Records already answered are kept rather than thrown away with the chunk.
                return match partial {
                    Some(x) => Ok((PassEnd::Done(x), level)),
                    None => Err(ChunkResult::failed(err, "")),
                };
            }
            Err(RouteError::Fatal(m)) => return Err(Outcome::Stop(Stop::Fatal(m))),
            Err(RouteError::NoEngine(m)) => return Err(Outcome::Stop(Stop::NoEngine(m))),
            Err(RouteError::Cancelled) => return Err(Outcome::Cancelled),
        }
    }
}

/// Gleaning: asks again, with the answer so far in the conversation, for what it missed,
/// up to `--gleaning` times or until a round adds nothing. A round that fails ends the
/// gleaning and keeps what the chunk has.
pub(crate) async fn glean(
    ctx: &TaskCtx,
    first: &ChatRequest,
    ask: &str,
    spend: &ChunkSpend,
    accept: &impl Fn(&ChatAnswer) -> Result<Extraction, EngineError>,
    x: &mut Extraction,
    acc: &mut ChunkResult,
) -> Result<(), Outcome> {
    for round in 1..=u64::from(ctx.gleaning) {
        if spend.exhausted() {
            break;
        }
        let req = ChatRequest {
            followup: Some(Arc::new(crate::engine::FollowUp {
                answer: x.answer_json(),
                ask: ask.to_string(),
            })),
            seed: first.seed.wrapping_add(round << 20),
            ..first.clone()
        };
        match ctx.router.call(&req, spend, accept).await {
            Ok(served) => {
                acc.pt += served.prompt_tokens;
                acc.ct += served.completion_tokens;
                let before = x.records();
                let mut more = served.value;
                more.partial = false;
                x.absorb(more);
                let added = (x.records() - before) as u32;
                acc.gleaned.0 += 1;
                acc.gleaned.1 += added;
                if added == 0 {
                    break;
                }
            }
            Err(RouteError::Fatal(m)) => return Err(Outcome::Stop(Stop::Fatal(m))),
            Err(RouteError::NoEngine(m)) => return Err(Outcome::Stop(Stop::NoEngine(m))),
            Err(RouteError::Cancelled) => return Err(Outcome::Cancelled),
            Err(RouteError::Failed(_) | RouteError::Split(_)) => break,
        }
    }
    Ok(())
}
