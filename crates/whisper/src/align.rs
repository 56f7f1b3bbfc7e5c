//! Token timing from cross-attention, as OpenAI's `find_alignment` and CTranslate2's `align`
//! (faster-whisper's engine): after a window is decoded, the decoder runs once more over the
//! start sequence, `<|notimestamps|>`, the window's text tokens and `<|endoftext|>`. A few
//! cross-attention heads follow the audio closely (the checkpoint's `alignment_heads`); their
//! attention over the window's frames is softmaxed, standardised over the tokens, median
//! filtered along time (width 7) and averaged, and dynamic time warping on the negated matrix
//! finds the monotonic path of tokens through time. Where the path reaches a token is its start.
//!
//! Must never: change what was decoded; it only reads the window's encoder output again.

use std::path::Path;

use candle_core::IndexOp;

use crate::checkpoint::{Dims, read};
use crate::error::{Result, WhisperError};
use crate::model::{CrossKv, Decoder};

/// Encoder positions per second (1500 per 30-second window).
pub(crate) const TOKENS_PER_SECOND: f64 = 50.0;
/// Width of the median filter along time, in encoder positions.
const MEDIAN_FILTER_WIDTH: usize = 7;

/// The (decoder layer, head) pairs whose cross-attention is aligned with the audio: the
/// `alignment_heads` of `config.json` (CTranslate2) or `generation_config.json` (Hugging Face),
/// else every head of the second half of the decoder layers (CTranslate2's converter's default).
pub(crate) fn alignment_heads(dir: &Path, dims: &Dims) -> Result<Vec<(usize, usize)>> {
    for file in ["config.json", "generation_config.json"] {
        let path = dir.join(file);
        if !path.is_file() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_slice(&read(&path)?)
            .map_err(|e| WhisperError::ModelFormat(format!("{file}: {e}")))?;
        let Some(list) = value.get("alignment_heads").filter(|v| !v.is_null()) else {
            continue;
        };
        let heads = parse_heads(list, dims)
            .map_err(|m| WhisperError::ModelFormat(format!("{file}: alignment_heads {m}")))?;
        if !heads.is_empty() {
            return Ok(heads);
        }
    }
    Ok(default_heads(dims))
}

fn default_heads(dims: &Dims) -> Vec<(usize, usize)> {
    (dims.n_text_layer / 2..dims.n_text_layer)
        .flat_map(|l| (0..dims.n_text_head).map(move |h| (l, h)))
        .collect()
}

/// `[[layer, head], …]`, every pair inside the decoder.
fn parse_heads(list: &serde_json::Value, dims: &Dims) -> Result<Vec<(usize, usize)>, String> {
    let pairs = list.as_array().ok_or("is not a list")?;
    pairs
        .iter()
        .map(|p| {
            let pair = p
                .as_array()
                .filter(|a| a.len() == 2)
                .and_then(|a| Some((a[0].as_u64()?, a[1].as_u64()?)))
                .ok_or_else(|| format!("has {p}, not a [layer, head] pair"))?;
            let (layer, head) = (pair.0 as usize, pair.1 as usize);
            if layer >= dims.n_text_layer || head >= dims.n_text_head {
                return Err(format!(
                    "names layer {layer}, head {head}: the decoder has {} layers of {} heads",
                    dims.n_text_layer, dims.n_text_head
                ));
            }
            Ok((layer, head))
        })
        .collect()
}

/// The tokens a window's alignment runs over.
pub(crate) struct AlignInput<'a> {
    /// The start sequence: `<|startoftranscript|>` and its language and task tokens.
    pub start: &'a [u32],
    /// `<|notimestamps|>`.
    pub no_timestamps: u32,
    /// `<|endoftext|>`, also the size of the text vocabulary.
    pub eot: u32,
    /// The window's text tokens (no timestamps).
    pub text: &'a [u32],
    /// Mel frames of the window that hold audio (the rest is padding).
    pub num_frames: usize,
}

/// Where each text token lies in its window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TokenTimes {
    /// Seconds into the window at which the path reaches each text token, then end-of-text
    /// (one more entry than tokens).
    pub starts: Vec<f64>,
    /// Each text token's probability (a softmax over the text vocabulary).
    pub probs: Vec<f32>,
}

/// Align a window's text tokens with its audio; `None` when there is no text or no frame.
pub(crate) fn align(
    decoder: &Decoder,
    cross: &CrossKv,
    heads: &[(usize, usize)],
    input: &AlignInput<'_>,
) -> Result<Option<TokenTimes>> {
    let frames = input.num_frames / 2;
    if input.text.is_empty() || frames == 0 || heads.is_empty() {
        return Ok(None);
    }
    let mut tokens = input.start.to_vec();
    tokens.push(input.no_timestamps);
    tokens.extend_from_slice(input.text);
    tokens.push(input.eot);
    let (hidden, scores) = decoder.forward_with_cross_scores(&tokens, cross, heads)?;

    // Position `offset + t` predicts text token `t`.
    let offset = input.start.len();
    let len = input.text.len();
    let rows = hidden.i((0, offset..offset + len, ..))?.contiguous()?;
    let logits = decoder.logits(&rows)?.to_vec2::<f32>()?;
    let text_vocab = input.eot as usize;
    let probs = logits
        .iter()
        .zip(input.text)
        .map(|(row, &tok)| text_prob(&row[..text_vocab.min(row.len())], tok as usize))
        .collect();

    let mut mean = vec![0.0f32; tokens.len() * frames];
    for head in &scores {
        let all = head.to_vec2::<f32>()?;
        let mut w: Vec<Vec<f32>> = all
            .into_iter()
            .map(|row| softmax(&row[..frames.min(row.len())]))
            .collect();
        standardize_columns(&mut w, frames);
        for (acc, row) in mean.chunks_mut(frames).zip(&w) {
            for (a, v) in acc.iter_mut().zip(median_filter(row, MEDIAN_FILTER_WIDTH)) {
                *a += v;
            }
        }
    }
    let n_heads = scores.len().max(1) as f32;
    // The rows of `<|notimestamps|>` and the text tokens: what predicts each text token and
    // end-of-text.
    let matrix: Vec<f32> = mean
        .get(offset * frames..(offset + len + 1) * frames)
        .unwrap_or_default()
        .iter()
        .map(|v| v / n_heads)
        .collect();
    let path = negative_dtw(&matrix, len + 1, frames);
    let mut starts = Vec::with_capacity(len + 1);
    let mut last_row = None;
    for (i, j) in path {
        if last_row != Some(i) {
            starts.push(j as f64 / TOKENS_PER_SECOND);
            last_row = Some(i);
        }
    }
    Ok(Some(TokenTimes { starts, probs }))
}

/// `softmax(row)[id]`.
fn text_prob(row: &[f32], id: usize) -> f32 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = row.iter().map(|&x| (x - max).exp()).sum();
    row.get(id).map_or(0.0, |&x| (x - max).exp() / sum)
}

fn softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = row.iter().map(|&x| (x - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Each column (frame) to zero mean and unit (population) variance over the rows (tokens).
fn standardize_columns(rows: &mut [Vec<f32>], frames: usize) {
    let n = rows.len() as f64;
    for j in 0..frames {
        let mean = rows.iter().map(|r| f64::from(r[j])).sum::<f64>() / n;
        let var = rows
            .iter()
            .map(|r| (f64::from(r[j]) - mean).powi(2))
            .sum::<f64>()
            / n;
        let std = var.sqrt();
        for r in rows.iter_mut() {
            r[j] = if std > 0.0 {
                ((f64::from(r[j]) - mean) / std) as f32
            } else {
                0.0
            };
        }
    }
}

/// Median of each `width` window along `row`, reflecting at the edges (no repeated edge
/// sample); a row no longer than half the width is returned as it is.
fn median_filter(row: &[f32], width: usize) -> Vec<f32> {
    let rank = width / 2;
    let n = row.len();
    if n <= rank {
        return row.to_vec();
    }
    let mut window = vec![0.0f32; width];
    (0..n)
        .map(|j| {
            for (k, slot) in window.iter_mut().enumerate() {
                let mut read = (j + k).abs_diff(rank);
                if read >= n {
                    read = (2 * n).saturating_sub(read + 2);
                }
                *slot = row[read.min(n - 1)];
            }
            let (_, median, _) = window.select_nth_unstable_by(rank, f32::total_cmp);
            *median
        })
        .collect()
}

/// The monotonic path through `matrix` (`n × m`, row-major) with the highest total: dynamic
/// time warping on its negation. Steps are diagonal, down (next token) or right (next frame);
/// ties go right, then down, as CTranslate2. The path always enters `(0, 0)` diagonally (every
/// other cell of the first row and column costs infinity). Returns `(row, column)` pairs from `(0, 0)` to
/// `(n − 1, m − 1)`.
fn negative_dtw(matrix: &[f32], n: usize, m: usize) -> Vec<(usize, usize)> {
    if n == 0 || m == 0 || matrix.len() < n * m {
        return Vec::new();
    }
    let w = m + 1;
    let mut cost = vec![f32::INFINITY; (n + 1) * w];
    let mut trace = vec![0u8; (n + 1) * w];
    cost[0] = 0.0;
    for j in 1..=m {
        for i in 1..=n {
            let c0 = cost[(i - 1) * w + j - 1];
            let c1 = cost[(i - 1) * w + j];
            let c2 = cost[i * w + j - 1];
            let (c, t) = if c0 < c1 && c0 < c2 {
                (c0, 0)
            } else if c1 < c0 && c1 < c2 {
                (c1, 1)
            } else {
                (c2, 2)
            };
            cost[i * w + j] = c - matrix[(i - 1) * m + j - 1];
            trace[i * w + j] = t;
        }
    }
    let (mut i, mut j) = (n, m);
    let mut path = Vec::with_capacity(n + m);
    while i > 0 && j > 0 {
        path.push((i - 1, j - 1));
        match trace[i * w + j] {
            0 => {
                i -= 1;
                j -= 1;
            }
            1 => i -= 1,
            _ => j -= 1,
        }
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtw_follows_the_bright_diagonal() {
        // Token 0 at frames 0–1, token 1 at frames 2–4, token 2 at frame 5.
        let (n, m) = (3, 6);
        let mut x = vec![-1.0f32; n * m];
        for (i, js) in [(0, 0..2), (1, 2..5), (2, 5..6)] {
            for j in js {
                x[i * m + j] = 1.0;
            }
        }
        let path = negative_dtw(&x, n, m);
        assert_eq!(path.first(), Some(&(0, 0)));
        assert_eq!(path.last(), Some(&(2, 5)));
        let first_frame = |row: usize| path.iter().find(|p| p.0 == row).map(|p| p.1);
        assert_eq!(
            (first_frame(0), first_frame(1), first_frame(2)),
            (Some(0), Some(2), Some(5))
        );
        assert!(
            path.windows(2)
                .all(|p| p[1].0 >= p[0].0 && p[1].1 >= p[0].1)
        );
    }

    #[test]
    fn median_filter_reflects_at_the_edges() {
        let row = [5.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0];
        // Window at 0 reads 2, 9, 1, 5, 1, 9, 2 → median 2.
        assert_eq!(median_filter(&row, 7)[0], 2.0);
        assert_eq!(median_filter(&row, 7)[3], 5.0);
        assert_eq!(median_filter(&[1.0, 2.0], 7), vec![1.0, 2.0]);
        assert_eq!(
            median_filter(&[4.0, 1.0, 3.0, 2.0], 3),
            vec![1.0, 3.0, 2.0, 3.0]
        );
    }

    #[test]
    fn columns_are_standardised_over_tokens() {
        let mut rows = vec![vec![1.0, 2.0], vec![3.0, 2.0]];
        standardize_columns(&mut rows, 2);
        assert_eq!(rows, vec![vec![-1.0, 0.0], vec![1.0, 0.0]]);
    }

    fn dims(layers: usize, heads: usize) -> Dims {
        Dims {
            n_mels: 80,
            n_audio_ctx: 1500,
            n_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_head: heads,
            n_text_layer: layers,
            n_vocab: 51864,
        }
    }

    #[test]
    fn alignment_heads_come_from_the_config_or_the_second_half_of_the_decoder() {
        let d = dims(4, 6);
        let dir = std::env::temp_dir().join(format!("mv-align-heads-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(alignment_heads(&dir, &d).unwrap().len(), 12);
        assert_eq!(alignment_heads(&dir, &d).unwrap()[0], (2, 0));
        std::fs::write(
            dir.join("generation_config.json"),
            r#"{"alignment_heads": [[1, 0], [3, 5]]}"#,
        )
        .unwrap();
        assert_eq!(alignment_heads(&dir, &d).unwrap(), vec![(1, 0), (3, 5)]);
        std::fs::write(dir.join("config.json"), r#"{"alignment_heads": [[4, 0]]}"#).unwrap();
        let err = alignment_heads(&dir, &d).unwrap_err().to_string();
        assert!(
            err.contains("config.json: alignment_heads names layer 4"),
            "{err}"
        );
        std::fs::write(dir.join("config.json"), r#"{"alignment_heads": [[1]]}"#).unwrap();
        let err = alignment_heads(&dir, &d).unwrap_err().to_string();
        assert!(err.contains("not a [layer, head] pair"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
