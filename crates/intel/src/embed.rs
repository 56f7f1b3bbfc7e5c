//! Sentence embeddings with all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions), in process on
//! candle: WordPiece tokens from the model's own `tokenizer.json` (Hugging Face `tokenizers`,
//! truncated at 256 tokens like sentence-transformers), the encoder, then the mean of the token
//! vectors under the attention mask and L2 normalisation — sentence-transformers' `Pooling`
//! (mean) and `Normalize` modules. Batches are sorted by length so padding stays small.
//! `tests/embed.rs` compares the vectors with sentence-transformers' own.

use std::path::{Path, PathBuf};

use candle_core::{D, DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use tokenizers::{Tokenizer, TruncationParams};

use crate::error::{IntelError, Result, read};

/// Texts per forward pass.
const BATCH: usize = 16;

#[derive(Debug, serde::Deserialize)]
struct Config {
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    layer_norm_eps: f64,
    vocab_size: usize,
    max_position_embeddings: usize,
    type_vocab_size: usize,
    #[serde(default)]
    hidden_act: Option<String>,
}

/// A loaded sentence-embedding model.
#[derive(Debug)]
pub struct Embedder {
    dir: PathBuf,
    tokenizer: Tokenizer,
    model: Bert,
    max_tokens: usize,
    dim: usize,
}

impl Embedder {
    /// Loads `model.safetensors`, `config.json` and `tokenizer.json` from `dir` (the folder
    /// `scripts/models.sh --model minilm` installs; any BERT sentence-transformers folder with
    /// mean pooling works the same way).
    pub fn load(dir: &Path) -> Result<Self> {
        let bad = |reason: String| IntelError::Model {
            path: dir.to_owned(),
            reason,
        };
        let config: Config = serde_json::from_slice(&read(&dir.join("config.json"))?)
            .map_err(|e| bad(format!("config.json: {e}")))?;
        if config.hidden_act.as_deref().is_some_and(|a| a != "gelu") {
            return Err(bad(format!(
                "hidden_act {:?} is not supported (only gelu)",
                config.hidden_act
            )));
        }
        if config.num_attention_heads == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            return Err(bad(
                "hidden_size is not a multiple of num_attention_heads".into()
            ));
        }
        let mut tokenizer = Tokenizer::from_bytes(read(&dir.join("tokenizer.json"))?)
            .map_err(|e| bad(format!("tokenizer.json: {e}")))?;
        let max_tokens = max_seq_length(dir).min(config.max_position_embeddings);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| bad(format!("tokenizer truncation: {e}")))?;
        tokenizer.with_padding(None);
        let weights = read(&dir.join("model.safetensors"))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| bad(format!("model.safetensors: {e}")))?;
        let model = Bert::load(&config, vb).map_err(|e| bad(format!("weights: {e}")))?;
        Ok(Self {
            dir: dir.to_owned(),
            tokenizer,
            model,
            max_tokens,
            dim: config.hidden_size,
        })
    }

    /// The vectors' length (384 for MiniLM).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The longest input in tokens; longer texts are truncated (chunk them first).
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// The folder the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Token ids as the model sees them (with `[CLS]` and `[SEP]`, truncated).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| IntelError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// How many tokens `text` is, before truncation (without `[CLS]`/`[SEP]`).
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| IntelError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().len() + enc.get_overflowing().iter().map(|o| o.len()).sum::<usize>())
    }

    /// One unit-length vector per text, in the order given.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut ids = Vec::with_capacity(texts.len());
        for t in texts {
            ids.push(self.token_ids(t)?);
        }
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
            let vectors = self.forward(&batch)?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn forward(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let len = batch.iter().map(|b| b.len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(batch.len() * len);
        let mut mask = Vec::with_capacity(batch.len() * len);
        for b in batch {
            ids.extend_from_slice(b);
            ids.extend(std::iter::repeat_n(0u32, len - b.len()));
            mask.extend(std::iter::repeat_n(1f32, b.len()));
            mask.extend(std::iter::repeat_n(0f32, len - b.len()));
        }
        let dev = &Device::Cpu;
        let ids = Tensor::from_vec(ids, (batch.len(), len), dev)?;
        let mask = Tensor::from_vec(mask, (batch.len(), len), dev)?;
        let hidden = self.model.forward(&ids, &mask)?;
        // Mean over the real tokens, then unit length.
        let m = mask.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        let unit = mean.broadcast_div(&norm)?;
        Ok(unit.to_vec2::<f32>()?)
    }
}

/// sentence-transformers' `max_seq_length` (sentence_bert_config.json), 256 when absent.
fn max_seq_length(dir: &Path) -> usize {
    #[derive(serde::Deserialize)]
    struct St {
        max_seq_length: usize,
    }
    std::fs::read(dir.join("sentence_bert_config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<St>(&b).ok())
        .map_or(256, |s| s.max_seq_length)
}

#[derive(Debug)]
struct Bert {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
}

#[derive(Debug)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    up: Linear,
    down: Linear,
    out_norm: LayerNorm,
}

impl Bert {
    fn load(c: &Config, vb: VarBuilder) -> candle_core::Result<Self> {
        let h = c.hidden_size;
        let ln = |vb: VarBuilder| candle_nn::layer_norm(h, c.layer_norm_eps, vb);
        let emb = vb.pp("embeddings");
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            layers.push(Layer {
                query: candle_nn::linear(h, h, l.pp("attention.self.query"))?,
                key: candle_nn::linear(h, h, l.pp("attention.self.key"))?,
                value: candle_nn::linear(h, h, l.pp("attention.self.value"))?,
                attn_out: candle_nn::linear(h, h, l.pp("attention.output.dense"))?,
                attn_norm: ln(l.pp("attention.output.LayerNorm"))?,
                up: candle_nn::linear(h, c.intermediate_size, l.pp("intermediate.dense"))?,
                down: candle_nn::linear(c.intermediate_size, h, l.pp("output.dense"))?,
                out_norm: ln(l.pp("output.LayerNorm"))?,
            });
        }
        Ok(Self {
            word: candle_nn::embedding(c.vocab_size, h, emb.pp("word_embeddings"))?,
            position: candle_nn::embedding(
                c.max_position_embeddings,
                h,
                emb.pp("position_embeddings"),
            )?,
            token_type: candle_nn::embedding(
                c.type_vocab_size,
                h,
                emb.pp("token_type_embeddings"),
            )?,
            norm: ln(emb.pp("LayerNorm"))?,
            layers,
            heads: c.num_attention_heads,
        })
    }

    /// `ids`, `mask`: (batch, len) → hidden states (batch, len, hidden).
    fn forward(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (b, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let types = Tensor::zeros((b, len), DType::U32, ids.device())?;
        let x = self
            .word
            .forward(ids)?
            .broadcast_add(&self.position.forward(&positions)?)?
            .add(&self.token_type.forward(&types)?)?;
        let mut x = self.norm.forward(&x)?;
        // 0 where attended, a large negative where padded: (batch, 1, 1, len).
        let bias = ((mask - 1.0)? * 1e9)?.unsqueeze(1)?.unsqueeze(1)?;
        let hidden = x.dim(D::Minus1)?;
        let head_dim = hidden / self.heads;
        let scale = 1.0 / (head_dim as f64).sqrt();
        for l in &self.layers {
            let split = |t: Tensor| -> candle_core::Result<Tensor> {
                t.reshape((b, len, self.heads, head_dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let q = split(l.query.forward(&x)?)?;
            let k = split(l.key.forward(&x)?)?;
            let v = split(l.value.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let ctx = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((b, len, hidden))?;
            let attn = l.attn_norm.forward(&(l.attn_out.forward(&ctx)? + &x)?)?;
            let ff = l.down.forward(&l.up.forward(&attn)?.gelu_erf()?)?;
            x = l.out_norm.forward(&(ff + attn)?)?;
        }
        Ok(x)
    }
}
