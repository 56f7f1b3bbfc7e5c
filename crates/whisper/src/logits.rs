//! Rules on the next-token logits (Whisper's suppression and timestamp rules) and the small
//! numeric helpers decoding needs: log-softmax, top-k, language detection.

use crate::checkpoint::Suppression;
use crate::tokenizer::SpecialTokens;

/// OpenAI's `max_initial_timestamp`: the first timestamp is at most 1.0 s (50 steps of 20 ms).
pub const MAX_INITIAL_TIMESTAMP_INDEX: u32 = 50;

/// The logit rules of one model, applied before every choice of a token.
#[derive(Debug, Clone)]
pub struct LogitRules {
    eot: u32,
    timestamp_begin: u32,
    /// Never allowed: the configuration's list plus every special token between `eot` and the
    /// timestamps (start-of-transcript, languages, tasks, `<|notimestamps|>`…).
    always: Vec<u32>,
    at_begin: Vec<u32>,
}

impl LogitRules {
    /// Rules for a model's special tokens and suppression lists.
    pub fn new(special: &SpecialTokens, suppress: &Suppression) -> Self {
        let mut always = suppress.always.clone();
        always.extend(special.eot + 1..special.timestamp_begin);
        always.sort_unstable();
        always.dedup();
        Self {
            eot: special.eot,
            timestamp_begin: special.timestamp_begin,
            always,
            at_begin: suppress.at_begin.clone(),
        }
    }

    /// Mask `logits` (one row) given the tokens sampled so far in this window (prompt excluded):
    /// suppress-blank, suppress-tokens, then the timestamp rules of OpenAI's
    /// `ApplyTimestampRules`.
    pub fn apply(&self, logits: &mut [f32], sampled: &[u32]) {
        let n = logits.len();
        let tb = (self.timestamp_begin as usize).min(n);
        let eot = (self.eot as usize).min(n);
        let mask = |logits: &mut [f32], range: std::ops::Range<usize>| {
            if let Some(s) = logits.get_mut(range.start.min(n)..range.end.min(n)) {
                s.fill(f32::NEG_INFINITY);
            }
        };
        if sampled.is_empty() {
            for &id in &self.at_begin {
                if let Some(l) = logits.get_mut(id as usize) {
                    *l = f32::NEG_INFINITY;
                }
            }
        }
        for &id in &self.always {
            if let Some(l) = logits.get_mut(id as usize) {
                *l = f32::NEG_INFINITY;
            }
        }

        let is_ts = |t: u32| t >= self.timestamp_begin;
        let last_was_ts = sampled.last().is_some_and(|&t| is_ts(t));
        let penultimate_was_ts = sampled.len() < 2 || is_ts(sampled[sampled.len() - 2]);
        if last_was_ts {
            if penultimate_was_ts {
                // A pair of timestamps just closed a segment: text (or the end) must follow.
                mask(logits, tb..n);
            } else {
                // An opening timestamp needs text before another timestamp; the end may come.
                mask(logits, 0..eot);
            }
        }
        if let Some(&last_ts) = sampled.iter().rev().find(|&&t| is_ts(t)) {
            // Timestamps never go backwards; after an opening one, not even equal.
            let floor = if last_was_ts && !penultimate_was_ts {
                last_ts
            } else {
                last_ts + 1
            };
            mask(logits, tb..floor as usize);
        }
        if sampled.is_empty() {
            // The first token is a timestamp, at most 1.0 s into the window.
            mask(logits, 0..tb);
            mask(logits, tb + MAX_INITIAL_TIMESTAMP_INDEX as usize + 1..n);
        }
        // If the timestamps together are likelier than any single text token, take a timestamp.
        // Both sides are log-probabilities less the same log-partition, so raw logits compare
        // alike: no softmax over the vocabulary (once per token and beam) is needed.
        let ts_mass = log_sum_exp(logits.get(tb..).unwrap_or(&[]));
        let best_text = logits
            .get(..tb)
            .unwrap_or(&[])
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        if ts_mass > best_text {
            mask(logits, 0..tb);
        }
    }
}

/// `log(Σ exp(x))`, −∞ for an empty or all −∞ slice. With the kernels' polynomial `exp` (2e-7
/// relative) over eight lanes: it runs over the 51,864 logits of every beam at every step, where
/// libm's scalar `expf` was a tenth of beam search's time.
pub fn log_sum_exp(x: &[f32]) -> f32 {
    let max = crate::kernels::lane_max(x);
    if !max.is_finite() {
        return max;
    }
    let mut acc = [0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += crate::kernels::fast_exp(v - max);
        }
    }
    let rest: f32 = chunks
        .remainder()
        .iter()
        .map(|&v| crate::kernels::fast_exp(v - max))
        .sum();
    max + (crate::kernels::lane_sum(&acc) + rest).ln()
}

/// Log-softmax of one row.
pub fn log_softmax(x: &[f32]) -> Vec<f32> {
    let lse = log_sum_exp(x);
    x.iter().map(|&v| v - lse).collect()
}

/// Index of the largest value (the first on ties); 0 for an empty slice.
pub fn argmax(x: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v > x[best] {
            best = i;
        }
    }
    best
}

/// The `k` largest `(value, index)` pairs, largest first, skipping −∞.
pub fn top_k(x: &[f32], k: usize) -> Vec<(f32, usize)> {
    let mut top: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
    for (i, &v) in x.iter().enumerate() {
        if v == f32::NEG_INFINITY || v.is_nan() {
            continue;
        }
        if top.len() < k || top.last().is_some_and(|&(m, _)| v > m) {
            let at = top.iter().position(|&(m, _)| v > m).unwrap_or(top.len());
            top.insert(at, (v, i));
            top.truncate(k);
        }
    }
    top
}

/// The log-softmax over the language tokens' logits only (a token the logits do not reach
/// counts as −∞).
fn language_log_probs(logits: &[f32], languages: &[(u32, String)]) -> Vec<f32> {
    let scores: Vec<f32> = languages
        .iter()
        .map(|(id, _)| {
            logits
                .get(*id as usize)
                .copied()
                .unwrap_or(f32::NEG_INFINITY)
        })
        .collect();
    log_softmax(&scores)
}

/// Pick the language from the logits at the start-of-transcript position: a softmax over the
/// language tokens only, as OpenAI's `detect_language`. Returns the code and its probability.
pub fn detect_language(logits: &[f32], languages: &[(u32, String)]) -> Option<(String, f32)> {
    let lp = language_log_probs(logits, languages);
    let best = argmax(&lp);
    let (_, code) = languages.get(best)?;
    lp.get(best)
        .filter(|p| p.is_finite())
        .map(|p| (code.clone(), p.exp()))
}

/// The softmax over the language tokens' logits, as [`detect_language`], for every language.
pub fn language_probabilities(logits: &[f32], languages: &[(u32, String)]) -> Vec<(String, f32)> {
    let lp = language_log_probs(logits, languages);
    languages
        .iter()
        .zip(lp)
        .map(|((_, code), p)| (code.clone(), if p.is_finite() { p.exp() } else { 0.0 }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn special() -> SpecialTokens {
        // A toy vocabulary: 0..10 text, 10 eot, 11 sot, 12..14 languages, 14 translate,
        // 15 transcribe, 16 sot_lm, 17 sot_prev, 18 no_speech, 19 no_timestamps, 20.. timestamps.
        SpecialTokens {
            eot: 10,
            sot: 11,
            sot_prev: 17,
            transcribe: 15,
            no_speech: 18,
            timestamp_begin: 20,
            languages: vec![(12, "en".into()), (13, "de".into())],
            translate: Some(14),
        }
    }

    fn rules() -> LogitRules {
        LogitRules::new(
            &special(),
            &Suppression {
                always: vec![3],
                at_begin: vec![0, 10],
            },
        )
    }

    fn allowed(l: &[f32]) -> Vec<usize> {
        l.iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn the_first_token_is_an_early_timestamp() {
        let mut l = vec![0.0; 20 + 1501];
        rules().apply(&mut l, &[]);
        assert_eq!(allowed(&l), (20..=70).collect::<Vec<_>>());
    }

    #[test]
    fn timestamps_pair_and_never_go_back() {
        let r = rules();
        // After <|1.00|> text: text, end, or a timestamp after 1.00.
        let mut l = vec![0.0; 100];
        l[5] = 10.0;
        r.apply(&mut l, &[70, 5]);
        let a = allowed(&l);
        assert!(a.contains(&5) && a.contains(&10) && a.contains(&71) && !a.contains(&70));
        assert!(
            !a.contains(&3) && !a.contains(&12) && !a.contains(&19),
            "specials suppressed"
        );
        // After an opening timestamp: no text.
        let mut l = vec![0.0; 100];
        r.apply(&mut l, &[70, 5, 80]);
        assert!(allowed(&l).iter().all(|&i| i == 10 || i >= 80));
        // After a closing pair: no timestamp.
        let mut l = vec![0.0; 100];
        r.apply(&mut l, &[70, 5, 80, 80]);
        assert!(allowed(&l).iter().all(|&i| i < 20));
    }

    #[test]
    fn timestamp_mass_beats_a_lone_text_token() {
        let mut l = vec![-10.0; 100];
        l[5] = 1.0;
        for t in l.iter_mut().skip(30) {
            *t = 0.5;
        }
        rules().apply(&mut l, &[25, 5]);
        assert!(allowed(&l).iter().all(|&i| i >= 25));
    }

    #[test]
    fn language_detection_takes_the_likeliest_language_token() {
        let mut l = vec![0.0; 30];
        l[13] = 5.0;
        l[12] = 1.0;
        l[2] = 50.0; // text tokens do not count
        let (code, p) = detect_language(&l, &special().languages).unwrap();
        assert_eq!(code, "de");
        assert!(p > 0.95 && p <= 1.0);
        assert!(detect_language(&l, &[]).is_none());
    }

    #[test]
    fn top_k_orders_and_skips_masked() {
        let x = [1.0, f32::NEG_INFINITY, 3.0, 2.0, 5.0];
        assert_eq!(top_k(&x, 3), vec![(5.0, 4), (3.0, 2), (2.0, 3)]);
        assert!((log_sum_exp(&[0.0, 0.0]) - 2f32.ln()).abs() < 1e-6);
    }
}
