//! Decoding one 30-second window: greedy, sampling at a temperature, or beam search, over the
//! cached decoder, under the logit rules.

use std::io::Write;

use crate::error::Result;
use crate::logits::{LogitRules, argmax, log_softmax, log_sum_exp, top_k};
use crate::model::{CrossKv, Decoder, KvCache};

/// What to decode in a window.
#[derive(Debug, Clone)]
pub struct WindowRequest {
    /// The whole prompt: optional `<|startofprev|>` + previous tokens, then the start sequence.
    pub prompt: Vec<u32>,
    /// Position of `<|startoftranscript|>` in `prompt` (its logits give `no_speech_prob`).
    pub sot_index: usize,
    /// Most tokens to generate.
    pub max_new: usize,
    /// 0 for greedy / beam search; above 0 samples.
    pub temperature: f32,
    /// Beams (1 = greedy); only used at temperature 0.
    pub beam_size: usize,
    /// Candidates sampled above temperature 0; the likeliest (by mean log-probability) wins.
    pub best_of: usize,
    /// Finished candidates to collect, as a multiple of the beam size (faster-whisper's 1.0).
    pub patience: f32,
    /// Seed for sampling.
    pub seed: u64,
}

/// The decoded tokens of a window and their scores.
#[derive(Debug, Clone)]
pub struct WindowResult {
    /// Generated tokens, end-of-text excluded.
    pub tokens: Vec<u32>,
    /// `sum_logprob / (tokens + 1)`, as OpenAI and faster-whisper.
    pub avg_logprob: f32,
    /// Probability of `<|nospeech|>` at the start-of-transcript position.
    pub no_speech_prob: f32,
    /// The temperature used.
    pub temperature: f32,
}

/// Token ids the search needs.
#[derive(Debug, Clone, Copy)]
pub struct SearchTokens {
    /// End of text.
    pub eot: u32,
    /// No speech.
    pub no_speech: u32,
}

/// Decode one window.
pub fn decode_window(
    decoder: &Decoder,
    cross: &CrossKv,
    rules: &LogitRules,
    ids: SearchTokens,
    req: &WindowRequest,
) -> Result<WindowResult> {
    let mut cache = KvCache::default();
    let hidden = decoder.forward(std::slice::from_ref(&req.prompt), cross, &mut cache)?;
    let last = req.prompt.len().saturating_sub(1);
    let first = decoder.logits_at(&hidden, last)?.pop().unwrap_or_default();
    let no_speech_prob = if req.sot_index == last {
        softmax_at(&first, ids.no_speech as usize)
    } else {
        let at_sot = decoder
            .logits_at(&hidden, req.sot_index)?
            .pop()
            .unwrap_or_default();
        softmax_at(&at_sot, ids.no_speech as usize)
    };
    // The last generated token is never fed back, so it may take the position after the
    // context (CTranslate2's `min(max_length / 2, max_length - start_step)`).
    let max_new = req
        .max_new
        .min((decoder.n_ctx() + 1).saturating_sub(req.prompt.len()))
        .max(1);
    let (tokens, sum_logprob) = if req.temperature > 0.0 {
        sample(decoder, cross, rules, ids, req, cache, first, max_new)?
    } else if req.beam_size > 1 {
        beam(decoder, cross, rules, ids, req, cache, first, max_new)?
    } else {
        greedy(decoder, cross, rules, ids, cache, first, max_new)?
    };
    let avg_logprob = sum_logprob / (tokens.len() + 1) as f32;
    Ok(WindowResult {
        tokens,
        avg_logprob,
        no_speech_prob,
        temperature: req.temperature,
    })
}

fn softmax_at(logits: &[f32], id: usize) -> f32 {
    log_softmax(logits).get(id).map_or(0.0, |lp| lp.exp())
}

/// The likeliest token at every step.
fn greedy(
    decoder: &Decoder,
    cross: &CrossKv,
    rules: &LogitRules,
    ids: SearchTokens,
    mut cache: KvCache,
    mut logits: Vec<f32>,
    max_new: usize,
) -> Result<(Vec<u32>, f32)> {
    let mut tokens = Vec::new();
    let mut sum = 0.0f32;
    loop {
        rules.apply(&mut logits, &tokens);
        // The log-probability of the likeliest token, without a log-softmax of the vocabulary.
        let next = argmax(&logits);
        sum += logits.get(next).copied().unwrap_or(f32::NEG_INFINITY) - log_sum_exp(&logits);
        let next = next as u32;
        if next == ids.eot {
            break;
        }
        tokens.push(next);
        if tokens.len() >= max_new {
            break;
        }
        let hidden = decoder.forward(&[vec![next]], cross, &mut cache)?;
        logits = decoder.logits_at(&hidden, 0)?.pop().unwrap_or_default();
    }
    Ok((tokens, sum))
}

/// `best_of` candidates sampled at the request's temperature, decoded side by side as rows of one
/// batch; the one with the highest mean log-probability (length penalty 1) wins, as
/// faster-whisper's `num_hypotheses` sampling. Scores are the untempered log-probabilities.
#[allow(clippy::too_many_arguments)]
fn sample(
    decoder: &Decoder,
    cross: &CrossKv,
    rules: &LogitRules,
    ids: SearchTokens,
    req: &WindowRequest,
    mut cache: KvCache,
    first: Vec<f32>,
    max_new: usize,
) -> Result<(Vec<u32>, f32)> {
    let n = req.best_of.max(1);
    let mut rng = Rng::new(req.seed);
    let mut alive: Vec<Beam> = vec![
        Beam {
            tokens: Vec::new(),
            sum: 0.0,
        };
        n
    ];
    let mut rows = vec![first; n];
    let mut done: Vec<Beam> = Vec::with_capacity(n);
    cache.select(&vec![0; n])?;
    loop {
        let mut next_alive = Vec::with_capacity(alive.len());
        let mut keep = Vec::with_capacity(alive.len());
        for (j, (mut cand, logits)) in alive.into_iter().zip(rows.iter_mut()).enumerate() {
            rules.apply(logits, &cand.tokens);
            let lp = log_softmax(logits);
            let scaled: Vec<f32> = logits.iter().map(|l| l / req.temperature).collect();
            let next = rng.sample(&log_softmax(&scaled));
            cand.sum += lp.get(next).copied().unwrap_or(f32::NEG_INFINITY);
            let next = next as u32;
            if next == ids.eot {
                done.push(cand);
                continue;
            }
            cand.tokens.push(next);
            if cand.tokens.len() >= max_new {
                done.push(cand);
                continue;
            }
            next_alive.push(cand);
            keep.push(j as u32);
        }
        if next_alive.is_empty() {
            break;
        }
        cache.select(&keep)?;
        let step: Vec<Vec<u32>> = next_alive
            .iter()
            .map(|b| vec![b.tokens.last().copied().unwrap_or(ids.eot)])
            .collect();
        let hidden = decoder.forward(&step, cross, &mut cache)?;
        rows = decoder.logits_at(&hidden, 0)?;
        alive = next_alive;
    }
    let best = done
        .into_iter()
        .map(|b| (b.sum / b.tokens.len().max(1) as f32, b))
        .fold(None::<(f32, Beam)>, |best, (score, b)| match best {
            Some((s, kept)) if s >= score => Some((s, kept)),
            _ => Some((score, b)),
        })
        .map(|(_, b)| b)
        .unwrap_or(Beam {
            tokens: Vec::new(),
            sum: f32::NEG_INFINITY,
        });
    Ok((best.tokens, best.sum))
}

#[derive(Clone)]
struct Beam {
    tokens: Vec<u32>,
    sum: f32,
}

/// Beam search as CTranslate2's (faster-whisper's engine; patience 1, length penalty 1): each
/// step ranks the `2 × size` best continuations of all beams; an end-of-text among the first
/// `size` finishes that hypothesis and the next unfinished continuation takes its place; the
/// search stops once `size × patience` hypotheses have finished, or at the length limit, where
/// the first `size` continuations all finish. The winner has the best summed log-probability
/// divided by its length.
#[allow(clippy::too_many_arguments)]
fn beam(
    decoder: &Decoder,
    cross: &CrossKv,
    rules: &LogitRules,
    ids: SearchTokens,
    req: &WindowRequest,
    mut cache: KvCache,
    first: Vec<f32>,
    max_new: usize,
) -> Result<(Vec<u32>, f32)> {
    let size = req.beam_size;
    let max_finished = ((size as f32 * req.patience).round() as usize).max(1);
    let mut beams = vec![Beam {
        tokens: Vec::new(),
        sum: 0.0,
    }];
    let mut rows = vec![first];
    let mut finished: Vec<Beam> = Vec::new();
    for step in 0..max_new {
        let last_step = step + 1 == max_new;
        // Any of the global 2 × size best is among its own beam's 2 × size best.
        let mut candidates: Vec<(f32, usize, u32)> = Vec::new();
        for (j, (b, logits)) in beams.iter().zip(rows.iter_mut()).enumerate() {
            rules.apply(logits, &b.tokens);
            // Ranked on the logits; only the 2 × size kept become log-probabilities.
            let lse = log_sum_exp(logits);
            for (v, tok) in top_k(logits, 2 * size) {
                candidates.push((b.sum + (v - lse), j, tok as u32));
            }
        }
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
        candidates.truncate(2 * size);
        // The beam continuing parent `j` with `tok`, and its parent's row.
        let extend = |score: f32, j: usize, tok: u32| {
            beams.get(j).map(|parent| {
                let mut tokens = parent.tokens.clone();
                tokens.push(tok);
                (Beam { tokens, sum: score }, j as u32)
            })
        };
        let mut next = Vec::with_capacity(size);
        let mut sources = Vec::with_capacity(size);
        let mut spare = candidates
            .iter()
            .skip(size)
            .filter(|&&(_, _, tok)| tok != ids.eot);
        for &(score, j, tok) in candidates.iter().take(size) {
            let continuation = if tok == ids.eot || last_step {
                if tok == ids.eot {
                    if let Some(parent) = beams.get(j) {
                        finished.push(Beam {
                            tokens: parent.tokens.clone(),
                            sum: score,
                        });
                    }
                } else {
                    finished.extend(extend(score, j, tok).map(|(b, _)| b));
                }
                spare.next().copied()
            } else {
                Some((score, j, tok))
            };
            if let Some(b) = continuation.and_then(|(score, j, tok)| extend(score, j, tok)) {
                sources.push(b.1);
                next.push(b.0);
            }
        }
        if last_step || finished.len() >= max_finished || next.is_empty() {
            break;
        }
        cache.select(&sources)?;
        let step_tokens: Vec<Vec<u32>> = next
            .iter()
            .map(|b| vec![b.tokens.last().copied().unwrap_or(ids.eot)])
            .collect();
        beams = next;
        let hidden = decoder.forward(&step_tokens, cross, &mut cache)?;
        rows = decoder.logits_at(&hidden, 0)?;
    }
    // The first of equal scores wins, as CTranslate2's sort.
    let best = finished
        .into_iter()
        .map(|b| (b.sum / b.tokens.len().max(1) as f32, b))
        .fold(None::<(f32, Beam)>, |best, (score, b)| match best {
            Some((s, kept)) if s >= score => Some((s, kept)),
            _ => Some((score, b)),
        })
        .map(|(_, b)| b)
        .unwrap_or(Beam {
            tokens: Vec::new(),
            sum: f32::NEG_INFINITY,
        });
    Ok((best.tokens, best.sum))
}

/// `len(text) / len(zlib(text))`, OpenAI's measure of repetitiveness: looping output compresses
/// far better than speech.
pub fn compression_ratio(text: &str) -> f32 {
    if text.is_empty() {
        return 0.0;
    }
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let compressed = enc.write_all(text.as_bytes()).and_then(|()| enc.finish());
    match compressed {
        Ok(c) if !c.is_empty() => text.len() as f32 / c.len() as f32,
        _ => 0.0,
    }
}

/// xorshift64*: a small deterministic generator for temperature sampling.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Draw an index from log-probabilities.
    fn sample(&mut self, logprobs: &[f32]) -> usize {
        let mut u = self.next_f32();
        for (i, lp) in logprobs.iter().enumerate() {
            let p = lp.exp();
            if u < p {
                return i;
            }
            u -= p;
        }
        argmax(logprobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitive_text_compresses_well() {
        let looped = "the same words again ".repeat(20);
        assert!(compression_ratio(&looped) > 2.4);
        assert!(compression_ratio("A short, ordinary sentence about the weather.") < 2.0);
        assert_eq!(compression_ratio(""), 0.0);
    }

    #[test]
    fn sampling_follows_the_distribution() {
        let mut rng = Rng::new(7);
        let lp = [0.5f32.ln(), 0.25f32.ln(), 0.25f32.ln()];
        let mut counts = [0usize; 3];
        for _ in 0..4000 {
            counts[rng.sample(&lp)] += 1;
        }
        assert!((1800..2200).contains(&counts[0]), "{counts:?}");
    }
}
