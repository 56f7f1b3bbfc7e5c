//! Whisper's transformer: the audio encoder, and the text decoder with a self-attention KV cache
//! and cross-attention keys/values computed once per 30-second window.

use candle_core::{DType, IndexOp, Tensor};

use crate::checkpoint::Dims;
use crate::error::{Result, WhisperError};
use crate::nn::{
    Inputs, LayerNorm, Linear, Precision, Weights, attention, attention_per_head, merge_heads,
    split_heads, transpose_keys,
};

struct Mlp {
    ln: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

impl Mlp {
    fn load(w: &Weights, prefix: &str, d: usize, inputs: Inputs) -> Result<Self> {
        Ok(Self {
            ln: w.layer_norm(&format!("{prefix}/ffn/layer_norm"), d)?,
            fc1: w.linear_for(&format!("{prefix}/ffn/linear_0"), 4 * d, d, inputs)?,
            fc2: w.linear_for(&format!("{prefix}/ffn/linear_1"), d, 4 * d, inputs)?,
        })
    }

    fn residual(&self, x: &Tensor) -> Result<Tensor> {
        let h = crate::kernels::gelu_erf(&self.fc1.forward(&self.ln.forward(x)?)?)?;
        Ok((x + self.fc2.forward(&h)?)?)
    }
}

struct EncoderLayer {
    ln: LayerNorm,
    qkv: Linear,
    out: Linear,
    mlp: Mlp,
}

/// The audio encoder: two convolutions, sinusoidal positions, pre-norm transformer layers.
pub struct Encoder {
    conv1: (Tensor, Tensor),
    conv2: (Tensor, Tensor),
    positions: Tensor,
    layers: Vec<EncoderLayer>,
    ln_post: LayerNorm,
    heads: usize,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("layers", &self.layers.len())
            .finish()
    }
}

impl Encoder {
    /// Build from checkpoint tensors.
    pub fn load(w: &Weights, dims: &Dims) -> Result<Self> {
        let d = dims.n_state;
        let conv1 = (
            w.get("encoder/conv1/weight", &[d, dims.n_mels, 3])?,
            w.get("encoder/conv1/bias", &[d])?.reshape((1, d, 1))?,
        );
        let conv2 = (
            w.get("encoder/conv2/weight", &[d, d, 3])?,
            w.get("encoder/conv2/bias", &[d])?.reshape((1, d, 1))?,
        );
        let mut layers = Vec::with_capacity(dims.n_audio_layer);
        for i in 0..dims.n_audio_layer {
            let p = format!("encoder/layer_{i}");
            let frames = Inputs::Frames;
            layers.push(EncoderLayer {
                ln: w.layer_norm(&format!("{p}/self_attention/layer_norm"), d)?,
                qkv: w.linear_for(&format!("{p}/self_attention/linear_0"), 3 * d, d, frames)?,
                out: w.linear_for(&format!("{p}/self_attention/linear_1"), d, d, frames)?,
                mlp: Mlp::load(w, &p, d, frames)?,
            });
        }
        Ok(Self {
            conv1,
            conv2,
            positions: w.get(
                "encoder/position_encodings/encodings",
                &[dims.n_audio_ctx, d],
            )?,
            layers,
            ln_post: w.layer_norm("encoder/layer_norm", d)?,
            heads: dims.n_audio_head,
        })
    }

    /// Encode a `[1, n_mels, 3000]` log-mel window into `[1, 1500, n_state]`.
    pub fn forward(&self, mel: &Tensor) -> Result<Tensor> {
        let x = mel
            .conv1d(&self.conv1.0, 1, 1, 1, 1)?
            .broadcast_add(&self.conv1.1)?;
        // Our GELU, not candle's: 13 ms against about 2 on the first convolution's output.
        let x = crate::kernels::gelu_erf(&x)?;
        let x = x
            .conv1d(&self.conv2.0, 1, 2, 1, 1)?
            .broadcast_add(&self.conv2.1)?;
        let x = crate::kernels::gelu_erf(&x)?;
        let mut x = x.transpose(1, 2)?.broadcast_add(&self.positions)?;
        for layer in &self.layers {
            let h = layer.ln.forward(&x)?;
            let qkv = layer.qkv.forward(&h)?;
            let d = qkv.dim(2)? / 3;
            let q = split_heads(&qkv.narrow(2, 0, d)?, self.heads)?;
            let k = split_heads(&qkv.narrow(2, d, d)?, self.heads)?;
            let v = split_heads(&qkv.narrow(2, 2 * d, d)?, self.heads)?;
            let a = merge_heads(&attention_per_head(&q, &transpose_keys(&k)?, &v)?)?;
            x = (x + layer.out.forward(&a)?)?;
            x = layer.mlp.residual(&x)?;
        }
        self.ln_post.forward(&x)
    }
}

struct DecoderLayer {
    self_ln: LayerNorm,
    self_qkv: Linear,
    self_out: Linear,
    cross_ln: LayerNorm,
    cross_q: Linear,
    cross_kv: Linear,
    cross_out: Linear,
    mlp: Mlp,
}

/// The text decoder.
pub struct Decoder {
    /// The token embeddings with f32's values in both compute types (read from the int8
    /// projection they cost an int8 model its agreement with f32: a sentence of the long
    /// fixture garbled, greedy). With f32 products, the f32 table the projection uses; with
    /// int8, the table as the checkpoint stores it (f16: half the memory, 53 MB less for base),
    /// the few rows a step looks up converted to f32, exactly.
    embeddings: Tensor,
    /// The output projection, tied to the embeddings.
    projection: Linear,
    positions: Tensor,
    layers: Vec<DecoderLayer>,
    ln: LayerNorm,
    heads: usize,
    n_ctx: usize,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("layers", &self.layers.len())
            .finish()
    }
}

/// Cross-attention keys (transposed, `[1, heads, d_head, 1500]`) and values
/// (`[1, heads, 1500, d_head]`) of one window, per layer.
#[derive(Debug, Clone)]
pub struct CrossKv(Vec<(Tensor, Tensor)>);

/// Self-attention keys and values of the tokens decoded so far, per layer and row (beam): each
/// row's keys and values are `[len, n_state]`, heads side by side, appended to in place. Kept as
/// plain vectors rather than tensors: a step then copies nothing (candle's concatenation,
/// transposition of the keys and beam reordering each copied the whole cache of every layer on
/// every step), and the beams' reorder moves rows instead of copying them.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<Vec<RowKv>>,
    len: usize,
}

#[derive(Debug, Clone, Default)]
struct RowKv {
    k: Vec<f32>,
    v: Vec<f32>,
}

impl KvCache {
    /// Keep the rows `indices` (with repetition): beam search's reordering. A row taken once is
    /// moved, one taken more than once is copied for all but its last use.
    pub fn select(&mut self, indices: &[u32]) -> Result<()> {
        for rows in &mut self.layers {
            let mut uses = vec![0usize; rows.len()];
            for &i in indices {
                *uses.get_mut(i as usize).ok_or_else(|| {
                    WhisperError::Options(format!("cache row {i} of {} selected", rows.len()))
                })? += 1;
            }
            let mut old: Vec<Option<RowKv>> = rows.drain(..).map(Some).collect();
            for &i in indices {
                let i = i as usize;
                uses[i] -= 1;
                let row = match uses[i] {
                    0 => old[i].take(),
                    _ => old[i].clone(),
                };
                rows.push(row.unwrap_or_default());
            }
        }
        Ok(())
    }
}

/// `Σ a·b` over eight lanes (vectorises; a single running sum cannot be reordered).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for ((s, p), q) in acc.iter_mut().zip(x).zip(y) {
            *s += p * q;
        }
    }
    crate::kernels::lane_sum(&acc) + rest
}

/// Causal multi-head self-attention of `len` new positions in each of `rows.len()` rows after
/// the `offset` cached ones, appending their keys and values to the rows: `qkv` is
/// `[rows, len, 3 × d]` (queries, keys, values); returns `[rows, len, d]`. Position `t` sees the
/// cached positions and the new ones up to itself.
fn self_attention(
    rows: &mut [RowKv],
    qkv: &[f32],
    len: usize,
    d: usize,
    heads: usize,
    offset: usize,
) -> Vec<f32> {
    let dh = d / heads.max(1);
    let scale = 1.0 / (dh as f32).sqrt();
    let mut out = vec![0f32; rows.len() * len * d];
    let mut scores = vec![0f32; offset + len];
    let mut q = vec![0f32; d];
    for (b, row) in rows.iter_mut().enumerate() {
        let new = qkv
            .get(b * len * 3 * d..(b + 1) * len * 3 * d)
            .unwrap_or(&[]);
        for t in new.chunks_exact(3 * d) {
            row.k.extend_from_slice(&t[d..2 * d]);
            row.v.extend_from_slice(&t[2 * d..]);
        }
        for (t, (x, o)) in new
            .chunks_exact(3 * d)
            .zip(out[b * len * d..(b + 1) * len * d].chunks_exact_mut(d))
            .enumerate()
        {
            // The query scaled first, as the tensor attention did.
            q.iter_mut().zip(&x[..d]).for_each(|(q, x)| *q = x * scale);
            let keys = offset + t + 1;
            for h in 0..heads {
                let (lo, hi) = (h * dh, (h + 1) * dh);
                let s = &mut scores[..keys];
                for (j, s) in s.iter_mut().enumerate() {
                    *s = dot(&q[lo..hi], &row.k[j * d + lo..j * d + hi]);
                }
                let max = crate::kernels::lane_max(s);
                s.iter_mut()
                    .for_each(|v| *v = crate::kernels::fast_exp(*v - max));
                let inv = 1.0 / crate::kernels::lane_sum(s);
                let oh = &mut o[lo..hi];
                for (j, &p) in s.iter().enumerate() {
                    let p = p * inv;
                    oh.iter_mut()
                        .zip(&row.v[j * d + lo..j * d + hi])
                        .for_each(|(o, v)| *o += p * v);
                }
            }
        }
    }
    out
}

impl Decoder {
    /// Build from checkpoint tensors.
    pub fn load(w: &Weights, dims: &Dims) -> Result<Self> {
        let d = dims.n_state;
        let mut layers = Vec::with_capacity(dims.n_text_layer);
        for i in 0..dims.n_text_layer {
            let p = format!("decoder/layer_{i}");
            layers.push(DecoderLayer {
                self_ln: w.layer_norm(&format!("{p}/self_attention/layer_norm"), d)?,
                self_qkv: w.linear(&format!("{p}/self_attention/linear_0"), 3 * d, d)?,
                self_out: w.linear(&format!("{p}/self_attention/linear_1"), d, d)?,
                cross_ln: w.layer_norm(&format!("{p}/attention/layer_norm"), d)?,
                cross_q: w.linear(&format!("{p}/attention/linear_0"), d, d)?,
                cross_kv: w.linear_for(
                    &format!("{p}/attention/linear_1"),
                    2 * d,
                    d,
                    Inputs::CrossKv,
                )?,
                cross_out: w.linear(&format!("{p}/attention/linear_2"), d, d)?,
                mlp: Mlp::load(w, &p, d, Inputs::Tokens)?,
            });
        }
        let shape = [dims.n_vocab, d];
        let embeddings = match w.precision() {
            Precision::F32 => w.get("decoder/embeddings/weight", &shape)?,
            Precision::Int8 => w.stored("decoder/embeddings/weight", &shape)?,
        };
        // The output projection is tied to the embeddings.
        let projection = Linear::new(embeddings.clone(), None, w.precision())?;
        Ok(Self {
            embeddings,
            projection,
            positions: w.get(
                "decoder/position_encodings/encodings",
                &[dims.n_text_ctx, d],
            )?,
            layers,
            ln: w.layer_norm("decoder/layer_norm", d)?,
            heads: dims.n_text_head,
            n_ctx: dims.n_text_ctx,
        })
    }

    /// Most tokens a window's decoder can hold.
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Cross-attention keys and values for an encoded window.
    pub fn cross_kv(&self, audio: &Tensor) -> Result<CrossKv> {
        let mut out = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let kv = layer.cross_kv.forward(audio)?;
            let d = kv.dim(2)? / 2;
            let k = split_heads(&kv.narrow(2, 0, d)?, self.heads)?;
            let v = split_heads(&kv.narrow(2, d, d)?, self.heads)?;
            out.push((transpose_keys(&k)?, v));
        }
        Ok(CrossKv(out))
    }

    /// Run `tokens` (`[batch, len]`) after what `cache` holds; returns the normalised hidden states
    /// `[batch, len, n_state]` and extends the cache.
    pub fn forward(
        &self,
        tokens: &[Vec<u32>],
        cross: &CrossKv,
        cache: &mut KvCache,
    ) -> Result<Tensor> {
        self.forward_capturing(tokens, cross, cache, &mut CrossScores::default())
    }

    /// Run one row of `tokens` from an empty cache, also returning the cross-attention scores
    /// (`[len, 1500]`, scaled, before the softmax) of the `heads` (layer, head) asked for, in
    /// layer order: what word alignment reads.
    pub fn forward_with_cross_scores(
        &self,
        tokens: &[u32],
        cross: &CrossKv,
        heads: &[(usize, usize)],
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let mut scores = CrossScores {
            heads: heads.to_vec(),
            out: Vec::new(),
        };
        let hidden = self.forward_capturing(
            &[tokens.to_vec()],
            cross,
            &mut KvCache::default(),
            &mut scores,
        )?;
        Ok((hidden, scores.out))
    }

    fn forward_capturing(
        &self,
        tokens: &[Vec<u32>],
        cross: &CrossKv,
        cache: &mut KvCache,
        capture: &mut CrossScores,
    ) -> Result<Tensor> {
        let batch = tokens.len();
        let len = tokens.first().map_or(0, Vec::len);
        if len == 0 || tokens.iter().any(|t| t.len() != len) {
            return Err(WhisperError::Options(
                "decoder input rows must be non-empty and equal".into(),
            ));
        }
        let offset = cache.len;
        if offset + len > self.n_ctx {
            return Err(WhisperError::Options(format!(
                "decoder context of {} tokens exceeded ({offset} + {len})",
                self.n_ctx
            )));
        }
        let device = self.positions.device();
        let flat: Vec<u32> = tokens.iter().flatten().copied().collect();
        let ids = Tensor::from_vec(flat, batch * len, device)?;
        let tok = self
            .embeddings
            .index_select(&ids, 0)?
            .to_dtype(DType::F32)?
            .reshape((batch, len, ()))?;
        let mut x = tok.broadcast_add(&self.positions.narrow(0, offset, len)?)?;
        if cache.layers.len() != self.layers.len() {
            cache.layers = vec![Vec::new(); self.layers.len()];
        }
        for (i, (layer, rows)) in self.layers.iter().zip(cache.layers.iter_mut()).enumerate() {
            // Self-attention over the cache plus the new tokens.
            let qkv = layer.self_qkv.forward(&layer.self_ln.forward(&x)?)?;
            let d = qkv.dim(2)? / 3;
            if offset == 0 && rows.iter().all(|r| r.k.is_empty()) {
                *rows = vec![RowKv::default(); batch];
            }
            // Each row must hold exactly the cached positions, heads evenly split.
            let consistent = rows.len() == batch
                && rows
                    .iter()
                    .all(|r| r.k.len() == offset * d && r.v.len() == offset * d);
            if !consistent || self.heads == 0 || d % self.heads != 0 {
                return Err(WhisperError::Options(format!(
                    "decoder input of {batch} rows after {offset} positions does not fit its \
                     cache ({} rows) or {} heads",
                    rows.len(),
                    self.heads
                )));
            }
            let qkv = qkv.flatten_all()?.to_vec1::<f32>()?;
            let a = self_attention(rows, &qkv, len, d, self.heads, offset);
            let a = Tensor::from_vec(a, (batch, len, d), device)?;
            x = (x + layer.self_out.forward(&a)?)?;
            // Cross-attention: every row of every beam attends to the same audio, so the beams'
            // queries are stacked into one batch of `batch × len` rows.
            let (ck, cv) = cross.0.get(i).ok_or_else(|| {
                WhisperError::Options("cross-attention cache has too few layers".into())
            })?;
            let q = layer.cross_q.forward(&layer.cross_ln.forward(&x)?)?;
            let q = split_heads(&q.reshape((1, batch * len, ()))?, self.heads)?;
            capture.record(i, &q, ck)?;
            let a = merge_heads(&attention(&q, ck, cv, None)?)?.reshape((batch, len, ()))?;
            x = (x + layer.cross_out.forward(&a)?)?;
            x = layer.mlp.residual(&x)?;
        }
        cache.len += len;
        self.ln.forward(&x)
    }

    /// Logits `[rows, n_vocab]` for hidden states `[rows, n_state]`.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        self.projection
            .forward(hidden)?
            .to_dtype(DType::F32)
            .map_err(Into::into)
    }

    /// Logits of position `pos` of every row of `hidden` (`[batch, len, n_state]`), as
    /// `[batch, n_vocab]` f32 vectors.
    pub fn logits_at(&self, hidden: &Tensor, pos: usize) -> Result<Vec<Vec<f32>>> {
        let h = hidden.i((.., pos, ..))?.contiguous()?;
        Ok(self.logits(&h)?.to_vec2::<f32>()?)
    }
}

/// The (layer, head) pairs whose cross-attention scores a forward pass keeps, and the scores.
#[derive(Default)]
struct CrossScores {
    heads: Vec<(usize, usize)>,
    out: Vec<Tensor>,
}

impl CrossScores {
    /// Keep layer `layer`'s scores `q kᵀ / √d` (`[rows, frames]`) for the heads asked for, from
    /// its queries `[1, heads, rows, d]` and transposed keys `[1, heads, d, frames]`.
    fn record(&mut self, layer: usize, q: &Tensor, k_t: &Tensor) -> Result<()> {
        for &(l, h) in &self.heads {
            if l != layer {
                continue;
            }
            let (_, _, rows, d) = q.dims4()?;
            let qh = (q.narrow(1, h, 1)? * (1.0 / (d as f64).sqrt()))?;
            let s = qh.matmul(&k_t.narrow(1, h, 1)?.contiguous()?)?;
            let frames = s.dim(3)?;
            self.out.push(s.reshape((rows, frames))?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pseudo_random;

    /// The tensor attention with a causal mask over one row's whole sequence (`[total, 3 d]`):
    /// the output at every position.
    fn reference(qkv: &[f32], total: usize, d: usize, heads: usize) -> Vec<f32> {
        let t =
            Tensor::from_vec(qkv.to_vec(), (1, total, 3 * d), &candle_core::Device::Cpu).unwrap();
        let part = |i: usize| split_heads(&t.narrow(2, i * d, d).unwrap(), heads).unwrap();
        let mask: Vec<f32> = (0..total)
            .flat_map(|i| (0..total).map(move |j| if j <= i { 0.0 } else { f32::NEG_INFINITY }))
            .collect();
        let mask = Tensor::from_vec(mask, (total, total), &candle_core::Device::Cpu).unwrap();
        let k_t = transpose_keys(&part(1)).unwrap();
        let a = attention(&part(0), &k_t, &part(2), Some(&mask)).unwrap();
        merge_heads(&a)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    }

    /// Two rows with different prompts, reordered unevenly into three (one parent twice, one
    /// moved), then fed different multi-position steps: every row's output is what the tensor
    /// attention gives on that row's own history.
    #[test]
    fn cached_self_attention_matches_the_tensor_attention() {
        let (heads, d, prompt, step) = (4, 32, 3, 2);
        let width = 3 * d;
        let prompts = pseudo_random(2 * prompt * width, 5);
        let mut rows = vec![RowKv::default(); 2];
        let out = self_attention(&mut rows, &prompts, prompt, d, heads, 0);
        for r in 0..2 {
            let history = &prompts[r * prompt * width..(r + 1) * prompt * width];
            let want = reference(history, prompt, d, heads);
            assert_close(&out[r * prompt * d..(r + 1) * prompt * d], &want);
        }
        let mut cache = KvCache {
            layers: vec![rows],
            len: prompt,
        };
        let parents = [1u32, 0, 1];
        cache.select(&parents).unwrap();
        let steps = pseudo_random(parents.len() * step * width, 9);
        let out = self_attention(&mut cache.layers[0], &steps, step, d, heads, prompt);
        for (r, &p) in parents.iter().enumerate() {
            let p = p as usize;
            let mut history = prompts[p * prompt * width..(p + 1) * prompt * width].to_vec();
            history.extend_from_slice(&steps[r * step * width..(r + 1) * step * width]);
            let want = reference(&history, prompt + step, d, heads);
            assert_close(&out[r * step * d..(r + 1) * step * d], &want[prompt * d..]);
        }
        assert!(cache.select(&[3]).is_err(), "a row that is not there");
    }

    fn assert_close(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len());
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!((a - b).abs() < 1e-5, "element {i}: {a} vs {b}");
        }
    }
}
