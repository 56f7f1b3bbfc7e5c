//! Whisper's transformer: the audio encoder, and the text decoder with a self-attention KV cache
//! and cross-attention keys/values computed once per 30-second window.

use candle_core::{DType, Device, IndexOp, Tensor};

use crate::checkpoint::Dims;
use crate::error::{Result, WhisperError};
use crate::nn::{
    LayerNorm, Linear, Precision, Weights, attention, attention_per_head, merge_heads, split_heads,
    transpose_keys,
};

/// The precision of the products over a window's 1500 audio frames (the encoder's layers and
/// the decoder's cross-attention keys and values): f32 whatever the model's. They are
/// compute-bound, and `gemm`'s f32 kernels beat our int8 dot products there (tiny.en, long
/// bench file: 7.2 s of CPU with an int8 encoder against 4.5 s; bench/README.md).
fn encoder_precision(_model: Precision) -> Precision {
    Precision::F32
}

struct Mlp {
    ln: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

impl Mlp {
    fn load(w: &Weights, prefix: &str, d: usize, precision: Precision) -> Result<Self> {
        Ok(Self {
            ln: w.layer_norm(&format!("{prefix}/ffn/layer_norm"), d)?,
            fc1: w.linear_as(&format!("{prefix}/ffn/linear_0"), 4 * d, d, precision)?,
            fc2: w.linear_as(&format!("{prefix}/ffn/linear_1"), d, 4 * d, precision)?,
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
            let prec = encoder_precision(w.precision());
            layers.push(EncoderLayer {
                ln: w.layer_norm(&format!("{p}/self_attention/layer_norm"), d)?,
                qkv: w.linear_as(&format!("{p}/self_attention/linear_0"), 3 * d, d, prec)?,
                out: w.linear_as(&format!("{p}/self_attention/linear_1"), d, d, prec)?,
                mlp: Mlp::load(w, &p, d, prec)?,
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
    /// The token embeddings, f32 in both compute types: read from the int8 projection they cost
    /// an int8 model its agreement with f32 (a sentence of the long fixture garbled, greedy).
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

/// Self-attention keys and values of the tokens decoded so far, per layer:
/// `[batch, heads, len, d_head]`.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl KvCache {
    /// Keep the rows `indices` (with repetition): beam search's reordering.
    pub fn select(&mut self, indices: &[u32]) -> Result<()> {
        let Some(device) = self
            .layers
            .iter()
            .flatten()
            .next()
            .map(|(k, _)| k.device().clone())
        else {
            return Ok(());
        };
        let idx = Tensor::new(indices, &device)?;
        for (k, v) in self.layers.iter_mut().flatten() {
            *k = k.index_select(&idx, 0)?;
            *v = v.index_select(&idx, 0)?;
        }
        Ok(())
    }
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
                cross_kv: w.linear_as(
                    &format!("{p}/attention/linear_1"),
                    2 * d,
                    d,
                    encoder_precision(w.precision()),
                )?,
                cross_out: w.linear(&format!("{p}/attention/linear_2"), d, d)?,
                mlp: Mlp::load(w, &p, d, w.precision())?,
            });
        }
        let embeddings = w.get("decoder/embeddings/weight", &[dims.n_vocab, d])?;
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
            .reshape((batch, len, ()))?;
        let mut x = tok.broadcast_add(&self.positions.narrow(0, offset, len)?)?;
        let mask = if len > 1 {
            Some(causal_mask(len, offset, device)?)
        } else {
            None
        };
        if cache.layers.len() != self.layers.len() {
            cache.layers = vec![None; self.layers.len()];
        }
        for (i, (layer, slot)) in self.layers.iter().zip(cache.layers.iter_mut()).enumerate() {
            // Self-attention over the cache plus the new tokens.
            let qkv = layer.self_qkv.forward(&layer.self_ln.forward(&x)?)?;
            let d = qkv.dim(2)? / 3;
            let q = split_heads(&qkv.narrow(2, 0, d)?, self.heads)?;
            let mut k = split_heads(&qkv.narrow(2, d, d)?, self.heads)?;
            let mut v = split_heads(&qkv.narrow(2, 2 * d, d)?, self.heads)?;
            if let Some((pk, pv)) = slot.as_ref() {
                k = Tensor::cat(&[pk, &k], 2)?;
                v = Tensor::cat(&[pv, &v], 2)?;
            }
            let a = merge_heads(&attention(&q, &transpose_keys(&k)?, &v, mask.as_ref())?)?;
            *slot = Some((k, v));
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

/// `[len, offset + len]`: 0 where key `j` may be seen by query `i` (`j ≤ offset + i`), −∞ elsewhere.
fn causal_mask(len: usize, offset: usize, device: &Device) -> Result<Tensor> {
    let total = offset + len;
    let mask: Vec<f32> = (0..len)
        .flat_map(|i| {
            (0..total).map(move |j| {
                if j <= offset + i {
                    0.0
                } else {
                    f32::NEG_INFINITY
                }
            })
        })
        .collect();
    Ok(Tensor::from_vec(mask, (len, total), device)?)
}
