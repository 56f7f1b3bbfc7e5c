//! Checkpoints on disk: format detection, `inspect`, and turning a CTranslate2 `model.bin` into
//! the engine's tensors.
//!
//! The engine names its tensors as CTranslate2 does (`encoder/layer_0/self_attention/linear_0/…`)
//! and keeps CTranslate2's fused projections (QKV for self-attention, KV for cross-attention):
//! one matrix product instead of three. The Hugging Face loader (`hf`) fuses into this layout.
//! Weights stored in f16 or bf16 stay so until a layer takes them (`nn::Weights::get` converts
//! each to f32); the rest become f32. Quantisation for speed happens later, in `nn`.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::ct2::{Ct2Dtype, Ct2Header, Ct2Variable, FileSource};
use crate::error::{Result, WhisperError};

/// On-disk format of a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelFormat {
    /// CTranslate2 / faster-whisper: `model.bin`, `config.json`, `tokenizer.json` or
    /// `vocabulary.txt`.
    Ctranslate2,
    /// Hugging Face transformers: `model.safetensors`, `config.json`, `tokenizer.json`.
    HuggingFace,
}

/// One file of a checkpoint and its size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelFile {
    /// File name inside the model directory.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// What a checkpoint is, learnt cheaply (config and headers only).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    /// On-disk format.
    pub format: ModelFormat,
    /// Whether the model knows many languages (vocabulary of 51865 or more) or English only.
    pub multilingual: bool,
    /// Mel bins of the input (80, or 128 for large-v3).
    pub n_mels: usize,
    /// Encoder layers.
    pub n_audio_layer: usize,
    /// Decoder layers.
    pub n_text_layer: usize,
    /// Model width.
    pub n_state: usize,
    /// Output vocabulary size.
    pub n_vocab: usize,
    /// Storage type of the weights on disk (`float16`, `float32`, `int8`, …).
    pub dtype: String,
    /// The checkpoint's files.
    pub files: Vec<ModelFile>,
}

/// Shapes the engine needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Mel bins.
    pub n_mels: usize,
    /// Encoder positions (1500).
    pub n_audio_ctx: usize,
    /// Width.
    pub n_state: usize,
    /// Encoder heads.
    pub n_audio_head: usize,
    /// Encoder layers.
    pub n_audio_layer: usize,
    /// Decoder positions (448).
    pub n_text_ctx: usize,
    /// Decoder heads.
    pub n_text_head: usize,
    /// Decoder layers.
    pub n_text_layer: usize,
    /// Vocabulary.
    pub n_vocab: usize,
}

impl Dims {
    /// OpenAI's rule: multilingual checkpoints have 51865 or more tokens.
    pub fn multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }

    fn check(&self) -> Result<()> {
        let bad = |m: String| Err(WhisperError::ModelFormat(m));
        if self.n_state == 0 || self.n_audio_head == 0 || self.n_text_head == 0 {
            return bad(format!("zero width or heads in {self:?}"));
        }
        if !self.n_state.is_multiple_of(self.n_audio_head)
            || !self.n_state.is_multiple_of(self.n_text_head)
        {
            return bad(format!(
                "width {} is not divisible by the head count",
                self.n_state
            ));
        }
        if self.n_audio_ctx != 1500 {
            return bad(format!(
                "encoder has {} positions, Whisper needs 1500",
                self.n_audio_ctx
            ));
        }
        if self.n_text_ctx < 32 || self.n_vocab < 51864 || self.n_mels == 0 {
            return bad(format!("implausible dimensions {self:?}"));
        }
        Ok(())
    }
}

/// Token lists from the checkpoint's configuration.
#[derive(Debug, Clone, Default)]
pub struct Suppression {
    /// Never generated (`suppress_ids` / `suppress_tokens`).
    pub always: Vec<u32>,
    /// Not generated as the first text token (`suppress_ids_begin` / `begin_suppress_tokens`).
    pub at_begin: Vec<u32>,
}

/// A loaded checkpoint: tensors (f32, f16 or bf16) under engine names, its shapes and its configuration.
#[derive(Debug)]
pub struct Checkpoint {
    /// Engine-named tensors: f32, or f16/bf16 as stored.
    pub tensors: HashMap<String, Tensor>,
    /// Shapes.
    pub dims: Dims,
    /// Suppressed tokens.
    pub suppress: Suppression,
    /// The inspect-level description.
    pub info: ModelInfo,
}

/// Which format `dir` holds, if any.
pub fn detect(dir: &Path) -> Result<ModelFormat> {
    if dir.join("model.bin").is_file() {
        Ok(ModelFormat::Ctranslate2)
    } else if dir.join("model.safetensors").is_file() && dir.join("config.json").is_file() {
        Ok(ModelFormat::HuggingFace)
    } else {
        Err(WhisperError::ModelNotFound {
            dir: dir.to_path_buf(),
        })
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| WhisperError::Io {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn list_files(dir: &Path, names: &[&str]) -> Vec<ModelFile> {
    names
        .iter()
        .filter_map(|name| {
            let meta = std::fs::metadata(dir.join(name)).ok()?;
            meta.is_file().then(|| ModelFile {
                name: (*name).to_owned(),
                bytes: meta.len(),
            })
        })
        .collect()
}

const CT2_FILES: &[&str] = &[
    "model.bin",
    "config.json",
    "tokenizer.json",
    "vocabulary.txt",
    "preprocessor_config.json",
];

/// Cheap description of a CTranslate2 directory: walks `model.bin`'s headers with seeks.
pub fn inspect_ct2(dir: &Path) -> Result<ModelInfo> {
    let path = dir.join("model.bin");
    let file = std::fs::File::open(&path).map_err(|source| WhisperError::Io {
        path: path.clone(),
        source,
    })?;
    let mut src = FileSource::new(file).map_err(|source| WhisperError::Io {
        path: path.clone(),
        source,
    })?;
    let header = crate::ct2::parse_header(&mut src)?;
    let dims = ct2_dims(&header, |v| scalar_from_file(&mut src, v))?;
    Ok(ct2_info(dir, &header, &dims))
}

fn scalar_from_file(src: &mut FileSource, v: &Ct2Variable) -> Option<i64> {
    use crate::ct2::Source;
    let mut buf = vec![0u8; v.len.min(8)];
    src.read_at(v.offset, &mut buf).ok()?;
    scalar_from_bytes(v.dtype, &buf)
}

fn scalar_from_bytes(dtype: Ct2Dtype, b: &[u8]) -> Option<i64> {
    Some(match dtype {
        Ct2Dtype::I8 => i64::from(*b.first()? as i8),
        Ct2Dtype::I16 => i64::from(i16::from_le_bytes(b.get(..2)?.try_into().ok()?)),
        Ct2Dtype::I32 => i64::from(i32::from_le_bytes(b.get(..4)?.try_into().ok()?)),
        _ => return None,
    })
}

fn ct2_info(dir: &Path, header: &Ct2Header, dims: &Dims) -> ModelInfo {
    let dtype = header
        .get("encoder/layer_0/ffn/linear_0/weight")
        .map_or("unknown", |v| v.dtype.name())
        .to_owned();
    ModelInfo {
        format: ModelFormat::Ctranslate2,
        multilingual: dims.multilingual(),
        n_mels: dims.n_mels,
        n_audio_layer: dims.n_audio_layer,
        n_text_layer: dims.n_text_layer,
        n_state: dims.n_state,
        n_vocab: dims.n_vocab,
        dtype,
        files: list_files(dir, CT2_FILES),
    }
}

fn shape_of<'h>(header: &'h Ct2Header, name: &str, rank: usize) -> Result<&'h [usize]> {
    let v = header.get(name).ok_or_else(|| {
        WhisperError::ModelFormat(format!("model.bin: tensor `{name}` is missing"))
    })?;
    if v.shape.len() != rank {
        return Err(WhisperError::ModelFormat(format!(
            "model.bin: tensor `{name}` has rank {} (dims {:?}), expected {rank}",
            v.shape.len(),
            v.shape
        )));
    }
    Ok(&v.shape)
}

fn ct2_dims(
    header: &Ct2Header,
    mut scalar: impl FnMut(&Ct2Variable) -> Option<i64>,
) -> Result<Dims> {
    if !header.spec.is_empty() && header.spec != "WhisperSpec" {
        return Err(WhisperError::ModelFormat(format!(
            "model.bin: spec is {:?}, not a Whisper model",
            header.spec
        )));
    }
    let emb = shape_of(header, "decoder/embeddings/weight", 2)?;
    let (n_vocab, n_state) = (emb[0], emb[1]);
    let conv1 = shape_of(header, "encoder/conv1/weight", 3)?;
    let n_mels = conv1[1];
    let n_audio_ctx = shape_of(header, "encoder/position_encodings/encodings", 2)?[0];
    let n_text_ctx = shape_of(header, "decoder/position_encodings/encodings", 2)?[0];
    let count = |prefix: &str| {
        (0..)
            .take_while(|i| {
                header
                    .get(&format!("{prefix}/layer_{i}/ffn/linear_0/weight"))
                    .is_some()
            })
            .count()
    };
    let mut heads = |name: &str| -> usize {
        header
            .get(name)
            .filter(|v| v.shape.is_empty())
            .and_then(&mut scalar)
            .and_then(|h| usize::try_from(h).ok())
            .filter(|&h| h > 0)
            .unwrap_or(n_state / 64)
    };
    let dims = Dims {
        n_mels,
        n_audio_ctx,
        n_state,
        n_audio_head: heads("encoder/num_heads"),
        n_audio_layer: count("encoder"),
        n_text_ctx,
        n_text_head: heads("decoder/num_heads"),
        n_text_layer: count("decoder"),
        n_vocab,
    };
    dims.check()?;
    Ok(dims)
}

/// Read `config.json`'s suppression lists (CTranslate2 or Hugging Face spelling).
pub fn suppression(dir: &Path) -> Result<Suppression> {
    let path = dir.join("config.json");
    if !path.is_file() {
        return Ok(Suppression::default());
    }
    let value: serde_json::Value = serde_json::from_slice(&read(&path)?)
        .map_err(|e| WhisperError::ModelFormat(format!("config.json: {e}")))?;
    let ids = |keys: &[&str]| -> Vec<u32> {
        keys.iter()
            .find_map(|k| value.get(*k).and_then(|v| v.as_array()))
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64().and_then(|x| u32::try_from(x).ok()))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Suppression {
        always: ids(&["suppress_ids", "suppress_tokens"]),
        at_begin: ids(&["suppress_ids_begin", "begin_suppress_tokens"]),
    })
}

/// Load a CTranslate2 directory's weights as engine tensors. The file is read one tensor at a
/// time (the header walked with seeks, as `inspect` does), never whole: holding the file and
/// its tensors at once was the peak of a load (base: 145 MB twice).
pub fn load_ct2(dir: &Path, device: &Device) -> Result<Checkpoint> {
    use crate::ct2::Source;
    let path = dir.join("model.bin");
    let io = |source| WhisperError::Io {
        path: path.clone(),
        source,
    };
    let file = std::fs::File::open(&path).map_err(io)?;
    let mut src = FileSource::new(file).map_err(io)?;
    let header = crate::ct2::parse_header(&mut src)?;
    let dims = ct2_dims(&header, |v| scalar_from_file(&mut src, v))?;
    let mut read = |v: &Ct2Variable| -> Result<Vec<u8>> {
        let mut data = vec![0u8; v.len];
        src.read_at(v.offset, &mut data).map_err(io)?;
        Ok(data)
    };
    let mut tensors = HashMap::new();
    for v in &header.variables {
        if v.shape.is_empty() || v.name.ends_with("_scale") {
            continue;
        }
        let data = read(v)?;
        let scale = match header.get(&format!("{}_scale", v.name)) {
            Some(s) => Some((s, read(s)?)),
            None => None,
        };
        let scale = scale.as_ref().map(|(s, b)| (*s, b.as_slice()));
        let t = to_tensor(v, &data, scale, device)?;
        tensors.insert(v.name.clone(), t);
    }
    for (alias, target) in &header.aliases {
        if let Some(t) = tensors.get(target).cloned() {
            tensors.insert(alias.clone(), t);
        }
    }
    let info = ct2_info(dir, &header, &dims);
    Ok(Checkpoint {
        tensors,
        dims,
        suppress: suppression(dir)?,
        info,
    })
}

/// A stored tensor as an engine tensor: f16 and bf16 kept as they are (the layers convert what
/// they take, so that a load never holds the whole model in f32 at once: base's peak memory
/// fell by about 100 MB), integers dequantised to f32.
fn to_tensor(
    v: &Ct2Variable,
    data: &[u8],
    scale: Option<(&Ct2Variable, &[u8])>,
    device: &Device,
) -> Result<Tensor> {
    let shape = v.shape.as_slice();
    let t = match v.dtype {
        Ct2Dtype::F32 => Tensor::from_raw_buffer(data, DType::F32, shape, device)?,
        Ct2Dtype::F16 => Tensor::from_raw_buffer(data, DType::F16, shape, device)?,
        Ct2Dtype::Bf16 => Tensor::from_raw_buffer(data, DType::BF16, shape, device)?,
        Ct2Dtype::I8 | Ct2Dtype::I16 | Ct2Dtype::I32 => {
            let values: Vec<f32> = match v.dtype {
                Ct2Dtype::I8 => data.iter().map(|&b| f32::from(b as i8)).collect(),
                Ct2Dtype::I16 => data
                    .chunks_exact(2)
                    .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])))
                    .collect(),
                _ => data
                    .chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                    .collect(),
            };
            let t = Tensor::from_vec(values, shape, device)?;
            match scale {
                // CTranslate2 stores q = round(x × scale), one scale per output row.
                Some((s, bytes)) => {
                    let scale = to_tensor(s, bytes, None, device)?.to_dtype(DType::F32)?;
                    let rows = shape.first().copied().unwrap_or(1);
                    let scale = if scale.elem_count() == rows && shape.len() == 2 {
                        scale.reshape((rows, 1))?
                    } else if scale.elem_count() == 1 {
                        scale.reshape(())?
                    } else {
                        return Err(WhisperError::ModelFormat(format!(
                            "model.bin: `{}` has {} values for {rows} rows",
                            s.name,
                            scale.elem_count()
                        )));
                    };
                    t.broadcast_div(&scale)?
                }
                // Old int16 models were saved without a scale: CTranslate2's global one is 1000.
                None if v.dtype == Ct2Dtype::I16 && v.name.ends_with("weight") => (t / 1000.0)?,
                None if v.dtype == Ct2Dtype::I8 => {
                    return Err(WhisperError::ModelFormat(format!(
                        "model.bin: int8 tensor `{}` has no `{}_scale`",
                        v.name, v.name
                    )));
                }
                None => t,
            }
        }
    };
    Ok(t)
}
