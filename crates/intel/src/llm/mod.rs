//! The embedded chat model: a GGUF file of the `llama` architecture with a byte-level BPE
//! tokenizer (SmolLM2-135M-Instruct by default, installed by `scripts/models.sh --model
//! smollm2`; Llama 3 without rope scaling works the same way; SentencePiece vocabularies —
//! Llama 2, Mistral — and other architectures are refused with the reason), in process, on
//! the CPU. [`ChatModel`]
//! turns messages into a prompt with the model's chat format (ChatML, or Llama 3's headers),
//! runs the prompt in chunks, then samples greedily (the default: the same answer every time)
//! or with temperature and top-p from a seed, until a stop token, a stop string or the token
//! limit. Text is handed to a callback as it is produced, for streaming. `complete_json` holds
//! an answer to a JSON schema token by token (`json.rs`). One model serves many
//! conversations at once: the weights are shared, each call has its own cache.

mod json;
mod llama;
mod tokenizer;

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::Content;
use candle_core::{D, Tensor};
use serde::{Deserialize, Serialize};

pub use json::check_schema;
pub use llama::Shape;
pub use tokenizer::ChatTokenizer;

use crate::error::{IntelError, Result};

/// Prompt tokens per forward pass.
const PROMPT_CHUNK: usize = 256;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// How to pick tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    pub max_tokens: usize,
    /// 0 picks the most likely token every time (greedy, the default).
    pub temperature: f32,
    /// Nucleus sampling: the smallest set of tokens holding this much probability.
    pub top_p: f32,
    pub seed: u64,
    /// > 1 makes tokens already in the answer less likely (1 = off).
    pub repeat_penalty: f32,
    /// Text that ends the answer (not included).
    pub stop: Vec<String>,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
            repeat_penalty: 1.0,
            stop: Vec::new(),
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Finish {
    /// A stop token or stop string.
    Stop,
    /// `max_tokens`, or the context window filled.
    Length,
}

/// A finished answer and its token counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub ids: Vec<u32>,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub finish: Finish,
}

/// The chat format the model was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `<|im_start|>role\ncontent<|im_end|>\n` (SmolLM, Qwen, many others).
    ChatMl { start: u32, end: u32 },
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` (Llama 3).
    Llama3 {
        begin: Option<u32>,
        start: u32,
        end: u32,
        eot: u32,
    },
}

/// A loaded chat model.
#[derive(Debug)]
pub struct ChatModel {
    path: PathBuf,
    name: String,
    model: llama::Llama,
    tokenizer: ChatTokenizer,
    format: Format,
    stops: Vec<u32>,
    /// Each token's text, decoded alone (made on first use: answers held to a schema).
    vocab: std::sync::OnceLock<Vec<String>>,
}

impl ChatModel {
    /// Loads a GGUF file, its conversations capped at `max_context` tokens (and at the model's
    /// own context length).
    pub fn load(path: &Path, max_context: usize) -> Result<Self> {
        let io = |source| IntelError::Io {
            path: path.to_owned(),
            source,
        };
        let bad = |reason: String| IntelError::Model {
            path: path.to_owned(),
            reason,
        };
        let mut file = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
        let ct = Content::read(&mut file).map_err(|e| bad(format!("not a GGUF file: {e}")))?;
        let tokenizer = ChatTokenizer::from_gguf(&ct).map_err(|e| bad(e.to_string()))?;
        let model = llama::Llama::load(&ct, &mut file, path, max_context)?;
        let sp = |t: &str| tokenizer.special(t);
        let format = match (sp("<|im_start|>"), sp("<|im_end|>")) {
            (Some(start), Some(end)) => Format::ChatMl { start, end },
            _ => match (
                sp("<|start_header_id|>"),
                sp("<|end_header_id|>"),
                sp("<|eot_id|>"),
            ) {
                (Some(start), Some(end), Some(eot)) => Format::Llama3 {
                    begin: sp("<|begin_of_text|>"),
                    start,
                    end,
                    eot,
                },
                _ => {
                    return Err(bad(
                        "no chat format found (ChatML's <|im_start|> or Llama 3's headers)".into(),
                    ));
                }
            },
        };
        let mut stops: Vec<u32> = tokenizer.eos.into_iter().collect();
        stops.push(match format {
            Format::ChatMl { end, .. } => end,
            Format::Llama3 { eot, .. } => eot,
        });
        let name = ct
            .metadata
            .get("general.name")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_else(|| path.display().to_string());
        Ok(Self {
            path: path.to_owned(),
            name,
            model,
            tokenizer,
            format,
            stops,
            vocab: std::sync::OnceLock::new(),
        })
    }

    /// Each token's text, decoded alone ("\u{fffd}" where a token is part of a character).
    fn vocab(&self) -> &[String] {
        self.vocab.get_or_init(|| {
            let n = self.model.shape.vocab;
            (0..n)
                .map(|id| {
                    u32::try_from(id)
                        .ok()
                        .and_then(|id| self.tokenizer.decode(&[id]).ok())
                        .unwrap_or_default()
                })
                .collect()
        })
    }

    /// The model's own name (GGUF `general.name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn shape(&self) -> &Shape {
        &self.model.shape
    }

    /// The longest conversation, prompt and answer, in tokens.
    pub fn context(&self) -> usize {
        self.model.shape.context
    }

    pub fn tokenizer(&self) -> &ChatTokenizer {
        &self.tokenizer
    }

    /// Tokens `text` takes as content.
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self.tokenizer.encode(text)?.len())
    }

    /// The prompt's token ids: every message in the model's chat format, then the opening of
    /// the assistant's turn.
    pub fn prompt_ids(&self, messages: &[Message]) -> Result<Vec<u32>> {
        let t = &self.tokenizer;
        let mut ids = Vec::new();
        match self.format {
            Format::ChatMl { start, end } => {
                for m in messages {
                    ids.push(start);
                    ids.extend(t.encode(&format!("{}\n{}", m.role.as_str(), m.content))?);
                    ids.push(end);
                    ids.extend(t.encode("\n")?);
                }
                ids.push(start);
                ids.extend(t.encode("assistant\n")?);
            }
            Format::Llama3 {
                begin,
                start,
                end,
                eot,
            } => {
                ids.extend(begin);
                for m in messages {
                    ids.push(start);
                    ids.extend(t.encode(m.role.as_str())?);
                    ids.push(end);
                    ids.extend(t.encode(&format!("\n\n{}", m.content))?);
                    ids.push(eot);
                }
                ids.push(start);
                ids.extend(t.encode("assistant")?);
                ids.push(end);
                ids.extend(t.encode("\n\n")?);
            }
        }
        Ok(ids)
    }

    /// Answers `messages`. `on_text` receives each new piece of text as it is decided and
    /// returns `false` to stop early (a client went away).
    pub fn complete(
        &self,
        messages: &[Message],
        sampling: &Sampling,
        mut on_text: impl FnMut(&str) -> bool,
    ) -> Result<Completion> {
        let prompt = self.prompt_ids(messages)?;
        let context = self.context();
        if prompt.len() >= context {
            return Err(IntelError::Input(format!(
                "the prompt is {} tokens; this model's context is {context}",
                prompt.len()
            )));
        }
        let mut cache = self.model.cache();
        let mut logits = None;
        for chunk in prompt.chunks(PROMPT_CHUNK) {
            logits = Some(self.model.forward(chunk, &mut cache, false)?);
        }
        let mut logits = logits.ok_or_else(|| IntelError::Input("an empty prompt".into()))?;
        let mut rng = XorShift::new(sampling.seed);
        let mut ids: Vec<u32> = Vec::new();
        // `text` is what `on_text` has been given; `settled` holds back an incomplete UTF-8
        // character and anything that may be the start of a stop string.
        let mut text = String::new();
        let mut finish = Finish::Length;
        let mut done = false;
        let budget = sampling.max_tokens.min(context - prompt.len());
        while ids.len() < budget {
            let next = self.pick(&logits, &ids, sampling, &mut rng)?;
            if self.stops.contains(&next) {
                finish = Finish::Stop;
                break;
            }
            ids.push(next);
            let decoded = self.tokenizer.decode(&ids)?;
            let settled = decoded.trim_end_matches('\u{fffd}');
            let stop_at = sampling
                .stop
                .iter()
                .filter(|s| !s.is_empty())
                .filter_map(|s| settled.find(s.as_str()))
                .min();
            let upto = match stop_at {
                Some(at) => at,
                None => safe_prefix(settled, &sampling.stop),
            };
            if upto > text.len() && settled.starts_with(text.as_str()) {
                let keep_going = on_text(&settled[text.len()..upto]);
                text = settled[..upto].to_owned();
                if !keep_going {
                    (finish, done) = (Finish::Stop, true);
                    break;
                }
            }
            if stop_at.is_some() {
                (finish, done) = (Finish::Stop, true);
                break;
            }
            if ids.len() < budget {
                logits = self.model.forward(&[next], &mut cache, false)?;
            }
        }
        if !done {
            // What was held back for a stop string that never came.
            let all = self.tokenizer.decode(&ids)?;
            let all = all.trim_end_matches('\u{fffd}');
            if all.len() > text.len() && all.starts_with(text.as_str()) {
                on_text(&all[text.len()..]);
                text = all.to_owned();
            }
        }
        Ok(Completion {
            completion_tokens: ids.len(),
            prompt_tokens: prompt.len(),
            text,
            ids,
            finish,
        })
    }

    /// Logits of every position of `ids` (tokens, vocab) from an empty cache: for tests that
    /// hold the model to another implementation position by position.
    pub fn logits(&self, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
        let mut cache = self.model.cache();
        let mut rows = Vec::new();
        for chunk in ids.chunks(PROMPT_CHUNK) {
            let l = self.model.forward(chunk, &mut cache, true)?;
            rows.extend(l.to_vec2::<f32>()?);
        }
        Ok(rows)
    }

    fn pick(&self, logits: &Tensor, seen: &[u32], s: &Sampling, rng: &mut XorShift) -> Result<u32> {
        if s.repeat_penalty == 1.0 && s.temperature <= 0.0 {
            return llama::argmax(logits);
        }
        let mut v: Vec<f32> = logits.to_vec1()?;
        if s.repeat_penalty != 1.0 {
            // Once per distinct token, as llama.cpp and transformers apply it.
            let mut distinct = seen.to_vec();
            distinct.sort_unstable();
            distinct.dedup();
            for &id in &distinct {
                if let Some(x) = v.get_mut(id as usize) {
                    *x = if *x > 0.0 {
                        *x / s.repeat_penalty
                    } else {
                        *x * s.repeat_penalty
                    };
                }
            }
        }
        if s.temperature <= 0.0 {
            let t = Tensor::new(v.as_slice(), logits.device())?;
            return Ok(t.argmax(D::Minus1)?.to_scalar::<u32>()?);
        }
        let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut probs: Vec<(u32, f32)> = v
            .iter()
            .enumerate()
            .map(|(i, x)| (i as u32, ((x - max) / s.temperature).exp()))
            .collect();
        let total: f32 = probs.iter().map(|p| p.1).sum();
        probs.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut kept = Vec::new();
        let mut mass = 0.0;
        for (id, p) in probs {
            let p = p / total;
            kept.push((id, p));
            mass += p;
            if mass >= s.top_p {
                break;
            }
        }
        let mut r = rng.next_f32() * mass;
        for (id, p) in &kept {
            r -= p;
            if r <= 0.0 {
                return Ok(*id);
            }
        }
        Ok(kept.last().map_or(0, |k| k.0))
    }
}

/// How much of `text` can be shown without showing the start of a stop string.
fn safe_prefix(text: &str, stops: &[String]) -> usize {
    let mut safe = text.len();
    for stop in stops.iter().filter(|s| !s.is_empty()) {
        for k in (1..stop.len()).rev() {
            if stop.is_char_boundary(k) && text.ends_with(&stop[..k]) {
                safe = safe.min(text.len() - k);
                break;
            }
        }
    }
    while !text.is_char_boundary(safe) {
        safe -= 1;
    }
    safe
}

/// A small seeded generator for sampling (not for anything secret).
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }
    fn next_f32(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_stop_strings_are_held_back() {
        let stops = vec!["\n\nUser:".to_owned()];
        assert_eq!(safe_prefix("Hello\n\nUs", &stops), 5);
        assert_eq!(safe_prefix("Hello", &stops), 5);
        assert_eq!(safe_prefix("Héllo", &[]), "Héllo".len());
    }
}
