//! A Llama-family decoder over GGUF weights on candle's quantized CPU kernels: RMSNorm,
//! grouped-query attention with interleaved rotary embeddings (GGUF stores Q and K permuted for
//! them), a SwiGLU feed-forward, a key/value cache, and the output projection tied to the token
//! embeddings when the file has none of its own. Weights stay quantized; the types candle has
//! no SIMD kernel for (Q4_1, Q5_0, Q5_1: its generic scalar loop ran SmolLM2's Q4_1 prompt at
//! 26 tokens/s on 2 cores) are re-quantized once, at load, to Q8_0 (AVX2 / AVX-512 VNNI
//! kernels; 8 bits hold a 4- or 5-bit block's values within half a step of its new scale, and
//! the model is still held to llama.cpp's outputs on the original file). Only the embedding
//! table is expanded, for lookups.

use std::io::{Read, Seek};
use std::path::Path;

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{D, DType, Device, Module, Tensor};

use crate::error::{IntelError, Result};

/// The shape of a model, from its GGUF metadata.
#[derive(Debug, Clone)]
pub struct Shape {
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub context: usize,
    pub rope_base: f32,
    pub eps: f64,
    pub vocab: usize,
}

#[derive(Debug)]
struct Block {
    attn_norm: Tensor,
    wq: QMatMul,
    wk: QMatMul,
    wv: QMatMul,
    wo: QMatMul,
    ffn_norm: Tensor,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
}

/// The weights (shared, read-only) of one loaded model.
#[derive(Debug)]
pub struct Llama {
    pub shape: Shape,
    embeddings: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    output: QMatMul,
    cos: Tensor,
    sin: Tensor,
}

/// One conversation's key/value cache: (1, kv_heads, tokens, head_dim) per layer.
#[derive(Debug, Default)]
pub struct Cache {
    kv: Vec<Option<(Tensor, Tensor)>>,
    pub(crate) len: usize,
}

impl Llama {
    /// Reads the weights named in `ct` from `reader` (the GGUF file at `path`); `max_context`
    /// caps the rotary table (and so the longest conversation).
    pub fn load<R: Read + Seek>(
        ct: &Content,
        reader: &mut R,
        path: &Path,
        max_context: usize,
    ) -> Result<Self> {
        let bad = |reason: String| IntelError::Model {
            path: path.to_owned(),
            reason,
        };
        let arch = ct
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        if arch != "llama" {
            return Err(bad(format!(
                "architecture {arch:?} is not supported (Llama-family GGUF files are)"
            )));
        }
        let num = |k: &str| -> Result<usize> {
            let v = ct
                .metadata
                .get(&format!("llama.{k}"))
                .ok_or_else(|| bad(format!("no llama.{k} in the metadata")))?;
            v.to_u32()
                .map(|x| x as usize)
                .or_else(|_| v.to_u64().map(|x| x as usize))
                .map_err(|e| bad(format!("llama.{k}: {e}")))
        };
        if ct.tensor_infos.contains_key("rope_freqs.weight")
            || ct.metadata.contains_key("llama.rope.scaling.type")
        {
            return Err(bad(
                "rope scaling (Llama 3.1 and later) is not supported by the embedded engine".into(),
            ));
        }
        let heads = num("attention.head_count")?;
        let hidden = num("embedding_length")?;
        if heads == 0 || !hidden.is_multiple_of(heads) {
            return Err(bad(
                "embedding_length is not a multiple of head_count".into()
            ));
        }
        let kv_heads = num("attention.head_count_kv").unwrap_or(heads);
        if kv_heads == 0 || !heads.is_multiple_of(kv_heads) {
            return Err(bad("head_count is not a multiple of head_count_kv".into()));
        }
        let f = |k: &str, default: f64| {
            ct.metadata
                .get(&format!("llama.{k}"))
                .and_then(|v| v.to_f32().ok())
                .map_or(default, f64::from)
        };
        let context = num("context_length")
            .unwrap_or(2048)
            .min(max_context)
            .max(16);
        let head_dim = hidden / heads;
        let dev = Device::Cpu;
        let mut t = |name: &str| {
            ct.tensor(reader, name, &dev)
                .map_err(|e| bad(format!("tensor {name}: {e}")))
        };
        // A matrix, re-quantized to Q8_0 when candle has no fast kernel for its type.
        let fast = |q: QTensor| -> Result<QMatMul> {
            let slow = matches!(
                q.dtype(),
                GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1
            );
            let cols = q.shape().dims().last().copied().unwrap_or(0);
            let q = if slow && cols.is_multiple_of(32) {
                QTensor::quantize(&q.dequantize(&Device::Cpu)?, GgmlDType::Q8_0)?
            } else {
                q
            };
            Ok(QMatMul::from_qtensor(q)?)
        };
        let embed_q = t("token_embd.weight")?;
        let embeddings = embed_q.dequantize(&dev)?;
        let vocab = embeddings.dim(0)?;
        let mut blocks = Vec::new();
        for i in 0..num("block_count")? {
            let p = |n: &str| format!("blk.{i}.{n}.weight");
            blocks.push(Block {
                attn_norm: t(&p("attn_norm"))?.dequantize(&dev)?,
                wq: fast(t(&p("attn_q"))?)?,
                wk: fast(t(&p("attn_k"))?)?,
                wv: fast(t(&p("attn_v"))?)?,
                wo: fast(t(&p("attn_output"))?)?,
                ffn_norm: t(&p("ffn_norm"))?.dequantize(&dev)?,
                gate: fast(t(&p("ffn_gate"))?)?,
                up: fast(t(&p("ffn_up"))?)?,
                down: fast(t(&p("ffn_down"))?)?,
            });
        }
        let norm = t("output_norm.weight")?.dequantize(&dev)?;
        let output = if ct.tensor_infos.contains_key("output.weight") {
            fast(t("output.weight")?)?
        } else {
            fast(embed_q)?
        };
        let rope_base = f("rope.freq_base", 10_000.0) as f32;
        let half = head_dim / 2;
        let inv: Vec<f32> = (0..half)
            .map(|i| 1.0 / rope_base.powf(2.0 * i as f32 / head_dim as f32))
            .collect();
        let inv = Tensor::from_vec(inv, (1, half), &dev)?;
        let pos = Tensor::arange(0u32, context as u32, &dev)?
            .to_dtype(DType::F32)?
            .reshape((context, 1))?;
        let angles = pos.broadcast_mul(&inv)?;
        Ok(Self {
            shape: Shape {
                layers: blocks.len(),
                hidden,
                heads,
                kv_heads,
                head_dim,
                context,
                rope_base,
                eps: f("attention.layer_norm_rms_epsilon", 1e-5),
                vocab,
            },
            embeddings,
            blocks,
            norm,
            output,
            cos: angles.cos()?,
            sin: angles.sin()?,
        })
    }

    /// A new, empty cache for one conversation.
    pub fn cache(&self) -> Cache {
        Cache {
            kv: (0..self.blocks.len()).map(|_| None).collect(),
            len: 0,
        }
    }

    /// Runs `ids` after what `cache` holds, appends their keys and values, and returns the
    /// logits of the last position (vocab) — or of every position when `all` (tokens, vocab).
    pub fn forward(&self, ids: &[u32], cache: &mut Cache, all: bool) -> Result<Tensor> {
        let s = &self.shape;
        let (seq, pos) = (ids.len(), cache.len);
        if seq == 0 {
            return Err(IntelError::Input("nothing to run the model on".into()));
        }
        if pos + seq > s.context {
            return Err(IntelError::Input(format!(
                "the conversation needs {} tokens, more than the model's context of {}",
                pos + seq,
                s.context
            )));
        }
        let dev = &Device::Cpu;
        let idx = Tensor::new(ids, dev)?;
        let mut x = self.embeddings.index_select(&idx, 0)?.unsqueeze(0)?;
        let cos = self.cos.narrow(0, pos, seq)?;
        let sin = self.sin.narrow(0, pos, seq)?;
        let total = pos + seq;
        let mask = if seq > 1 {
            let m: Vec<f32> = (0..seq)
                .flat_map(|i| {
                    (0..total).map(move |j| if j > pos + i { f32::NEG_INFINITY } else { 0.0 })
                })
                .collect();
            Some(Tensor::from_vec(m, (seq, total), dev)?)
        } else {
            None
        };
        let scale = 1.0 / (s.head_dim as f64).sqrt();
        let rep = s.heads / s.kv_heads;
        for (b, slot) in self.blocks.iter().zip(cache.kv.iter_mut()) {
            let h = candle_nn::ops::rms_norm(&x, &b.attn_norm, s.eps as f32)?;
            let q =
                b.wq.forward(&h)?
                    .reshape((1, seq, s.heads, s.head_dim))?
                    .transpose(1, 2)?
                    .contiguous()?;
            let k =
                b.wk.forward(&h)?
                    .reshape((1, seq, s.kv_heads, s.head_dim))?
                    .transpose(1, 2)?
                    .contiguous()?;
            let v =
                b.wv.forward(&h)?
                    .reshape((1, seq, s.kv_heads, s.head_dim))?
                    .transpose(1, 2)?;
            let q = candle_nn::rotary_emb::rope_i(&q, &cos, &sin)?;
            let k = candle_nn::rotary_emb::rope_i(&k, &cos, &sin)?;
            let (k, v) = match slot.take() {
                Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
                None => (k, v.contiguous()?),
            };
            *slot = Some((k.clone(), v.clone()));
            let (k, v) = (repeat_kv(&k, rep)?, repeat_kv(&v, rep)?);
            let mut att = (q.matmul(&k.t()?)? * scale)?;
            if let Some(m) = &mask {
                att = att.broadcast_add(m)?;
            }
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let y = att
                .matmul(&v.contiguous()?)?
                .transpose(1, 2)?
                .reshape((1, seq, s.hidden))?;
            x = (x + b.wo.forward(&y)?)?;
            let h = candle_nn::ops::rms_norm(&x, &b.ffn_norm, s.eps as f32)?;
            let ff = (candle_nn::ops::silu(&b.gate.forward(&h)?)? * b.up.forward(&h)?)?;
            x = (x + b.down.forward(&ff)?)?;
        }
        cache.len = total;
        let x = if all { x } else { x.narrow(1, seq - 1, 1)? };
        let x = candle_nn::ops::rms_norm(&x, &self.norm, s.eps as f32)?;
        let logits = self.output.forward(&x)?.squeeze(0)?;
        Ok(if all { logits } else { logits.squeeze(0)? })
    }
}

/// (1, kv_heads, t, d) → (1, kv_heads·rep, t, d), each kv head serving `rep` query heads.
fn repeat_kv(x: &Tensor, rep: usize) -> candle_core::Result<Tensor> {
    if rep == 1 {
        return Ok(x.clone());
    }
    let (b, kv, t, d) = x.dims4()?;
    x.unsqueeze(2)?
        .expand((b, kv, rep, t, d))?
        .reshape((b, kv * rep, t, d))
}

/// The index of the largest logit.
pub(crate) fn argmax(logits: &Tensor) -> Result<u32> {
    Ok(logits.argmax(D::Minus1)?.to_scalar::<u32>()?)
}

/// The index of the largest value (the first of equals).
pub(crate) fn argmax_slice(logits: &[f32]) -> u32 {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, &v) in logits.iter().enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    u32::try_from(best.0).unwrap_or(0)
}
