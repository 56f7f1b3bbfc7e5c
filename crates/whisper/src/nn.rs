//! The few layers Whisper is made of: linear (f32 or int8-quantised), layer norm, and multi-head
//! attention with the shapes the encoder and the cached decoder need.

use std::collections::HashMap;

use candle_core::{D, DType, Tensor};

use crate::error::{Result, WhisperError};
use crate::int8::{Kernel, Matrix, QMatrix};

/// How linear layers store their weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// f32 weights, f32 products.
    F32,
    /// Weights quantised at load to int8 with one scale per output channel; activations are
    /// quantised per row on the fly, so the products are int8 dot products (`int8`), as
    /// CTranslate2's `int8` compute type.
    Int8,
}

/// Takes named tensors out of a checkpoint, with a precise error for a missing or misshapen one.
#[derive(Debug)]
pub struct Weights {
    tensors: HashMap<String, Tensor>,
    precision: Precision,
}

impl Weights {
    /// Wrap a checkpoint's tensors.
    pub fn new(tensors: HashMap<String, Tensor>, precision: Precision) -> Self {
        Self { tensors, precision }
    }

    /// The tensor `name` with exactly `shape`, in f32 (converted here if stored narrower).
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        Ok(self.stored(name, shape)?.to_dtype(DType::F32)?)
    }

    /// The tensor `name` with exactly `shape`, in the dtype the checkpoint stores it in (f16
    /// tensors stay half the size of f32; converting one to f32 is exact).
    pub fn stored(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| WhisperError::ModelFormat(format!("tensor `{name}` is missing")))?;
        if t.dims() != shape {
            return Err(WhisperError::ModelFormat(format!(
                "tensor `{name}` has dims {:?}, expected {shape:?}",
                t.dims()
            )));
        }
        Ok(t.clone())
    }

    /// A linear layer `prefix/weight` (`[out, in]`) with an optional `prefix/bias`, applied to
    /// a few rows at a time (the decoder's tokens), in the model's precision.
    pub fn linear(&self, prefix: &str, out: usize, inp: usize) -> Result<Linear> {
        self.linear_for(prefix, out, inp, Inputs::Tokens)
    }

    /// [`Weights::linear`] stored for what it is applied to.
    pub fn linear_for(
        &self,
        prefix: &str,
        out: usize,
        inp: usize,
        inputs: Inputs,
    ) -> Result<Linear> {
        let w = self.get(&format!("{prefix}/weight"), &[out, inp])?;
        let bias = match self.tensors.contains_key(&format!("{prefix}/bias")) {
            true => Some(self.get(&format!("{prefix}/bias"), &[out])?),
            false => None,
        };
        match (inputs, self.precision) {
            (Inputs::Tokens, precision) => Linear::new(w, bias, precision),
            #[cfg(target_arch = "x86_64")]
            (Inputs::Frames, Precision::Int8) => match vnni() {
                Some(_) => Linear::new(w, bias, Precision::Int8),
                None => Linear::new(w, bias, Precision::F32),
            },
            (Inputs::Frames | Inputs::CrossKv, _) => Linear::new(w, bias, Precision::F32),
        }
    }

    /// A layer norm `prefix/gamma`, `prefix/beta`.
    pub fn layer_norm(&self, prefix: &str, n: usize) -> Result<LayerNorm> {
        Ok(LayerNorm {
            gamma: self.get(&format!("{prefix}/gamma"), &[n])?,
            beta: self.get(&format!("{prefix}/beta"), &[n])?,
        })
    }

    /// The precision linear layers are built with.
    pub fn precision(&self) -> Precision {
        self.precision
    }
}

/// What a linear layer is applied to, which decides how its weight is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inputs {
    /// A few rows at a time (the decoder's tokens and beams): the model's precision.
    Tokens,
    /// A window's 1500 frames (the encoder's layers, the cross-attention keys and values):
    /// int8 through AVX-512 VNNI when the model is int8 and the CPU has the instructions, f32
    /// otherwise — over many rows `gemm`'s f32 kernels beat the AVX2 int8 dot products
    /// (tiny.en, long bench file: 7.2 s of CPU with an AVX2 int8 encoder against 4.5 s).
    Frames,
    /// The decoder's cross-attention keys and values, also over the 1500 frames: f32 whatever
    /// the model's precision. Quantised, they turned three words of the minute fixture into
    /// others (tiny.en, greedy: "The finance department" → "The five-n step argument"); with
    /// them in f32 and every encoder layer int8, the transcripts were f32's word for word.
    /// Computed once per window, they cost little in f32.
    CrossKv,
}

/// Rows up to which [`Linear::forward`] computes `(W xᵀ)ᵀ` rather than `x Wᵀ`.
const FEW_ROWS: usize = 8;

/// `y = x Wᵀ + b`.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: LinearWeight,
    bias: Option<Tensor>,
    out: usize,
}

#[derive(Debug, Clone)]
enum LinearWeight {
    F32(Tensor),
    /// The quantised weight, the kernel chosen at load, and the bias as a plain vector.
    Int8(QMatrix, Kernel, Option<Vec<f32>>),
    /// The quantised weight (bias included) repacked for the AVX-512 VNNI kernel, which takes
    /// the place of the AVX2 one where the CPU has it, for any number of rows.
    #[cfg(target_arch = "x86_64")]
    Vnni(crate::int8::vnni::Packed, crate::int8::vnni::Vnni),
}

/// The VNNI kernel's token, where this CPU has the instructions.
#[cfg(target_arch = "x86_64")]
fn vnni() -> Option<crate::int8::vnni::Vnni> {
    crate::int8::vnni::Vnni::detect()
}

#[cfg(not(target_arch = "x86_64"))]
fn vnni() -> Option<()> {
    None
}

/// The values of a CPU tensor as a matrix to quantise, read in place: f16 as stored (rows
/// converted one at a time by the quantiser), anything else converted to f32 and made
/// contiguous if need be. A whole f32 copy of an f16 51864 × n_state projection would raise
/// the peak memory of the load by 106 MB (base).
fn with_matrix<T>(t: &Tensor, f: impl FnOnce(Matrix<'_>) -> T) -> Result<T> {
    let t = match t.dtype() {
        DType::F16 => t.contiguous()?,
        _ => t.to_dtype(DType::F32)?.contiguous()?,
    };
    let (storage, layout) = t.storage_and_layout();
    let candle_core::Storage::Cpu(cpu) = &*storage else {
        return Err(WhisperError::ModelFormat(
            "weights must be on the CPU".into(),
        ));
    };
    let unreadable = || WhisperError::ModelFormat("unreadable weight".into());
    let (a, b) = layout.contiguous_offsets().ok_or_else(unreadable)?;
    let matrix = match t.dtype() {
        DType::F16 => Matrix::F16(
            cpu.as_slice::<half::f16>()
                .ok()
                .and_then(|s| s.get(a..b))
                .ok_or_else(unreadable)?,
        ),
        _ => Matrix::F32(
            cpu.as_slice::<f32>()
                .ok()
                .and_then(|s| s.get(a..b))
                .ok_or_else(unreadable)?,
        ),
    };
    Ok(f(matrix))
}

impl Linear {
    /// Build from an f32 `[out, in]` weight.
    pub fn new(weight: Tensor, bias: Option<Tensor>, precision: Precision) -> Result<Self> {
        let (out, inp) = weight.dims2()?;
        if out == 0 || inp == 0 {
            // Whisper has no empty layer: a checkpoint that declares one is malformed (and the
            // int8 paths would divide rows into chunks of zero).
            return Err(WhisperError::ModelFormat(format!(
                "a linear layer of {out} × {inp}: an empty weight"
            )));
        }
        let weight = match precision {
            Precision::Int8 => {
                let b = match &bias {
                    Some(b) => Some(b.to_dtype(DType::F32)?.to_vec1::<f32>()?),
                    None => None,
                };
                match vnni() {
                    #[cfg(target_arch = "x86_64")]
                    Some(simd) => LinearWeight::Vnni(
                        with_matrix(&weight, |m| {
                            crate::int8::vnni::Packed::quantize_matrix(m, out, inp, b.as_deref())
                        })?,
                        simd,
                    ),
                    _ => LinearWeight::Int8(
                        with_matrix(&weight, |m| QMatrix::quantize_matrix(m, out, inp))?,
                        Kernel::detect(),
                        b,
                    ),
                }
            }
            Precision::F32 => LinearWeight::F32(weight),
        };
        Ok(Self { weight, bias, out })
    }

    /// Apply to `[.., in]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let inp = dims.last().copied().unwrap_or(0);
        let rows = x.elem_count() / inp.max(1);
        let x2 = x.reshape((rows, inp))?;
        let y = match &self.weight {
            // A few rows (the decoder's beams): `gemm` would repack the whole weight on every
            // call for `x wᵀ` (40% of a beam-search step, on the 51864 × 384 output
            // projection); `(w xᵀ)ᵀ` streams the weight as it is.
            LinearWeight::F32(w) if (2..=FEW_ROWS).contains(&rows) => {
                w.matmul(&x2.t()?)?.t()?.contiguous()?
            }
            LinearWeight::F32(w) => x2.matmul(&w.t()?)?,
            LinearWeight::Int8(q, kernel, bias) => {
                let xs = x2.flatten_all()?.to_vec1::<f32>()?;
                let y = q.matmul(&xs, rows, bias.as_deref(), *kernel);
                let mut out_dims = dims;
                if let Some(last) = out_dims.last_mut() {
                    *last = self.out;
                }
                return Ok(Tensor::from_vec(y, out_dims, x.device())?);
            }
            #[cfg(target_arch = "x86_64")]
            LinearWeight::Vnni(packed, simd) => {
                let xs = x2.flatten_all()?.to_vec1::<f32>()?;
                let y = packed.matmul(&xs, rows, *simd);
                let mut out_dims = dims;
                if let Some(last) = out_dims.last_mut() {
                    *last = self.out;
                }
                return Ok(Tensor::from_vec(y, out_dims, x.device())?);
            }
        };
        let y = match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        };
        let mut out_dims = dims;
        if let Some(last) = out_dims.last_mut() {
            *last = self.out;
        }
        Ok(y.reshape(out_dims)?)
    }
}

/// Layer normalisation over the last dimension (ε = 1e-5).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    gamma: Tensor,
    beta: Tensor,
}

impl LayerNorm {
    /// Apply to `[.., n]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::layer_norm(
            &x.contiguous()?,
            &self.gamma,
            &self.beta,
            1e-5,
        )?)
    }
}

/// Split `[b, t, h × d]` into heads: `[b, h, t, d]`, contiguous.
pub fn split_heads(x: &Tensor, heads: usize) -> Result<Tensor> {
    let (b, t, c) = x.dims3()?;
    Ok(x.reshape((b, t, heads, c / heads))?
        .transpose(1, 2)?
        .contiguous()?)
}

/// Merge heads back: `[b, h, t, d]` to `[b, t, h × d]`.
pub fn merge_heads(x: &Tensor) -> Result<Tensor> {
    let (b, h, t, d) = x.dims4()?;
    Ok(x.transpose(1, 2)?.contiguous()?.reshape((b, t, h * d))?)
}

/// `softmax(q kᵀ / √d + mask) v` for `[b, h, tq, d]` queries, keys already transposed to
/// `[b, h, d, tk]` (contiguous, which the matrix product is much faster with) and `[b, h, tk, d]`
/// values.
pub fn attention(q: &Tensor, k_t: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    let d = q.dim(D::Minus1)?;
    let q = (q * (1.0 / (d as f64).sqrt()))?;
    let scores = q.matmul(k_t)?;
    let scores = match mask {
        Some(m) => scores.broadcast_add(m)?,
        None => scores,
    };
    let p = crate::kernels::softmax_last_dim(&scores)?;
    Ok(p.matmul(v)?)
}

/// [`attention`] one head at a time, for the encoder's 1500 × 1500 scores: 9 MB of scores per
/// head instead of 54 MB for all six, which glibc serves from its heap instead of a fresh `mmap`
/// per layer (page faults were 15% of the time; over a transcription they fell from 550k to
/// 240k).
pub fn attention_per_head(q: &Tensor, k_t: &Tensor, v: &Tensor) -> Result<Tensor> {
    let heads = q.dim(1)?;
    let per_head = (0..heads)
        .map(|h| {
            attention(
                &q.narrow(1, h, 1)?,
                &k_t.narrow(1, h, 1)?,
                &v.narrow(1, h, 1)?,
                None,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::cat(&per_head, 1)?)
}

/// `[b, h, t, d]` keys to the contiguous `[b, h, d, t]` that [`attention`] takes.
pub fn transpose_keys(k: &Tensor) -> Result<Tensor> {
    Ok(k.t()?.contiguous()?)
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};

    use super::{Linear, Precision};
    use crate::error::WhisperError;

    #[test]
    fn an_empty_linear_layer_is_a_malformed_model_not_a_panic() {
        for (out, inp) in [(4, 0), (0, 4), (0, 0)] {
            for precision in [Precision::F32, Precision::Int8] {
                let w = Tensor::zeros((out, inp), DType::F32, &Device::Cpu).unwrap();
                let err = Linear::new(w, None, precision).unwrap_err();
                assert!(
                    matches!(&err, WhisperError::ModelFormat(m) if m.contains("empty weight")),
                    "{out} × {inp}, {precision:?}: {err}"
                );
            }
        }
    }
}
