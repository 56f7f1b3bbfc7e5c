//! Hugging Face checkpoints (`model.safetensors` + `config.json` + `tokenizer.json`): loading
//! into the engine's fused layout, a cheap `inspect`, and writing one from any loaded checkpoint
//! (which is how the loader is tested here, where only a CTranslate2 checkpoint exists).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::checkpoint::{
    Checkpoint, Dims, ModelFile, ModelFormat, ModelInfo, list_files, read, suppression,
};
use crate::error::{Result, WhisperError};

const HF_FILES: &[&str] = &[
    "model.safetensors",
    "config.json",
    "tokenizer.json",
    "generation_config.json",
    "preprocessor_config.json",
];

#[derive(Debug, serde::Deserialize, serde::Serialize)]
struct HfConfig {
    d_model: usize,
    encoder_layers: usize,
    encoder_attention_heads: usize,
    decoder_layers: usize,
    decoder_attention_heads: usize,
    num_mel_bins: usize,
    vocab_size: usize,
    max_source_positions: usize,
    max_target_positions: usize,
}

impl HfConfig {
    fn dims(&self) -> Dims {
        Dims {
            n_mels: self.num_mel_bins,
            n_audio_ctx: self.max_source_positions,
            n_state: self.d_model,
            n_audio_head: self.encoder_attention_heads,
            n_audio_layer: self.encoder_layers,
            n_text_ctx: self.max_target_positions,
            n_text_head: self.decoder_attention_heads,
            n_text_layer: self.decoder_layers,
            n_vocab: self.vocab_size,
        }
    }
}

fn config(dir: &Path) -> Result<HfConfig> {
    serde_json::from_slice(&read(&dir.join("config.json"))?)
        .map_err(|e| WhisperError::ModelFormat(format!("config.json: {e}")))
}

fn info(dir: &Path, dims: &Dims, dtype: String, files: Vec<ModelFile>) -> ModelInfo {
    ModelInfo {
        format: ModelFormat::HuggingFace,
        multilingual: dims.multilingual(),
        n_mels: dims.n_mels,
        n_audio_layer: dims.n_audio_layer,
        n_text_layer: dims.n_text_layer,
        n_state: dims.n_state,
        n_vocab: dims.n_vocab,
        dtype,
        files: if files.is_empty() {
            list_files(dir, HF_FILES)
        } else {
            files
        },
    }
}

/// Config plus the safetensors header (its first 8 + n bytes), never the tensor data.
pub fn inspect_hf(dir: &Path) -> Result<ModelInfo> {
    use std::io::Read;
    let dims = config(dir)?.dims();
    let path = dir.join("model.safetensors");
    let io = |source| WhisperError::Io {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::File::open(&path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(io)?;
    let n = u64::from_le_bytes(len);
    if n > file_len.saturating_sub(8) || n > 100_000_000 {
        return Err(WhisperError::ModelFormat(format!(
            "model.safetensors: header of {n} bytes does not fit in a file of {file_len}"
        )));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header).map_err(io)?;
    let value: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| WhisperError::ModelFormat(format!("model.safetensors header: {e}")))?;
    let dtype = value
        .as_object()
        .and_then(|m| m.iter().find(|(k, _)| k.ends_with("fc1.weight")))
        .and_then(|(_, v)| v.get("dtype"))
        .and_then(|d| d.as_str())
        .map_or_else(
            || "unknown".to_owned(),
            |d| safetensors_dtype_name(d).to_owned(),
        );
    Ok(info(dir, &dims, dtype, Vec::new()))
}

fn safetensors_dtype_name(d: &str) -> &str {
    match d {
        "F32" => "float32",
        "F16" => "float16",
        "BF16" => "bfloat16",
        "I8" => "int8",
        other => other,
    }
}

/// Load a Hugging Face directory's weights into the engine's (CTranslate2-style) names.
pub fn load_hf(dir: &Path, device: &Device) -> Result<Checkpoint> {
    let cfg = config(dir)?;
    let dims = cfg.dims();
    let bytes = read(&dir.join("model.safetensors"))?;
    let raw = candle_core::safetensors::load_buffer(&bytes, device)
        .map_err(|e| WhisperError::ModelFormat(format!("model.safetensors: {e}")))?;
    let dtype = raw
        .iter()
        .find(|(k, _)| k.ends_with("fc1.weight"))
        .map_or("unknown", |(_, t)| dtype_name(t.dtype()))
        .to_owned();
    let hf: HashMap<String, Tensor> = raw
        .into_iter()
        .map(|(k, t)| {
            // f16 and bf16 stay as stored: the layers convert what they take (see
            // `checkpoint::to_tensor`); anything else becomes f32.
            let t = match t.dtype() {
                DType::F16 | DType::BF16 | DType::F32 => t,
                _ => t.to_dtype(DType::F32)?,
            };
            Ok((k.strip_prefix("model.").unwrap_or(&k).to_owned(), t))
        })
        .collect::<Result<_>>()?;
    let tensors = fuse(&hf, &dims)?;
    Ok(Checkpoint {
        tensors,
        dims,
        suppress: suppression(dir)?,
        info: info(dir, &dims, dtype, list_files(dir, HF_FILES)),
    })
}

fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "float32",
        DType::F16 => "float16",
        DType::BF16 => "bfloat16",
        _ => "other",
    }
}

fn get<'a>(hf: &'a HashMap<String, Tensor>, name: &str) -> Result<&'a Tensor> {
    hf.get(name).ok_or_else(|| {
        WhisperError::ModelFormat(format!("model.safetensors: tensor `{name}` is missing"))
    })
}

/// HF's separate q/k/v projections → one fused weight and bias (the key has no bias).
fn fuse_proj(
    hf: &HashMap<String, Tensor>,
    prefix: &str,
    parts: &[&str],
) -> Result<(Tensor, Tensor)> {
    let mut ws = Vec::new();
    let mut bs = Vec::new();
    for p in parts {
        let w = get(hf, &format!("{prefix}.{p}_proj.weight"))?;
        let b = match hf.get(&format!("{prefix}.{p}_proj.bias")) {
            Some(b) => b.clone(),
            None => Tensor::zeros(w.dim(0)?, w.dtype(), w.device())?,
        };
        // One dtype per fused tensor (the first weight's): a checkpoint may mix f16 weights
        // with f32 biases.
        let dtype = ws.first().map_or(w.dtype(), |f: &Tensor| f.dtype());
        ws.push(w.to_dtype(dtype)?);
        bs.push(b.to_dtype(dtype)?);
    }
    Ok((Tensor::cat(&ws, 0)?, Tensor::cat(&bs, 0)?))
}

fn fuse(hf: &HashMap<String, Tensor>, dims: &Dims) -> Result<HashMap<String, Tensor>> {
    let mut out = HashMap::new();
    let copy = |out: &mut HashMap<String, Tensor>, from: &str, to: &str| -> Result<()> {
        out.insert(to.to_owned(), get(hf, from)?.clone());
        Ok(())
    };
    for conv in ["conv1", "conv2"] {
        for p in ["weight", "bias"] {
            copy(
                &mut out,
                &format!("encoder.{conv}.{p}"),
                &format!("encoder/{conv}/{p}"),
            )?;
        }
    }
    copy(
        &mut out,
        "encoder.embed_positions.weight",
        "encoder/position_encodings/encodings",
    )?;
    copy(
        &mut out,
        "decoder.embed_tokens.weight",
        "decoder/embeddings/weight",
    )?;
    copy(
        &mut out,
        "decoder.embed_positions.weight",
        "decoder/position_encodings/encodings",
    )?;
    for side in ["encoder", "decoder"] {
        copy(
            &mut out,
            &format!("{side}.layer_norm.weight"),
            &format!("{side}/layer_norm/gamma"),
        )?;
        copy(
            &mut out,
            &format!("{side}.layer_norm.bias"),
            &format!("{side}/layer_norm/beta"),
        )?;
        let layers = if side == "encoder" {
            dims.n_audio_layer
        } else {
            dims.n_text_layer
        };
        for i in 0..layers {
            let (h, c) = (format!("{side}.layers.{i}"), format!("{side}/layer_{i}"));
            let norms: &[(&str, &str)] = if side == "encoder" {
                &[
                    ("self_attn_layer_norm", "self_attention/layer_norm"),
                    ("final_layer_norm", "ffn/layer_norm"),
                ]
            } else {
                &[
                    ("self_attn_layer_norm", "self_attention/layer_norm"),
                    ("encoder_attn_layer_norm", "attention/layer_norm"),
                    ("final_layer_norm", "ffn/layer_norm"),
                ]
            };
            for (from, to) in norms {
                copy(
                    &mut out,
                    &format!("{h}.{from}.weight"),
                    &format!("{c}/{to}/gamma"),
                )?;
                copy(
                    &mut out,
                    &format!("{h}.{from}.bias"),
                    &format!("{c}/{to}/beta"),
                )?;
            }
            let linears: &[(&str, &str)] = &[
                ("fc1", "ffn/linear_0"),
                ("fc2", "ffn/linear_1"),
                ("self_attn.out_proj", "self_attention/linear_1"),
            ];
            for (from, to) in linears {
                copy(
                    &mut out,
                    &format!("{h}.{from}.weight"),
                    &format!("{c}/{to}/weight"),
                )?;
                copy(
                    &mut out,
                    &format!("{h}.{from}.bias"),
                    &format!("{c}/{to}/bias"),
                )?;
            }
            let (w, b) = fuse_proj(hf, &format!("{h}.self_attn"), &["q", "k", "v"])?;
            out.insert(format!("{c}/self_attention/linear_0/weight"), w);
            out.insert(format!("{c}/self_attention/linear_0/bias"), b);
            if side == "decoder" {
                let (w, b) = fuse_proj(hf, &format!("{h}.encoder_attn"), &["q"])?;
                out.insert(format!("{c}/attention/linear_0/weight"), w);
                out.insert(format!("{c}/attention/linear_0/bias"), b);
                let (w, b) = fuse_proj(hf, &format!("{h}.encoder_attn"), &["k", "v"])?;
                out.insert(format!("{c}/attention/linear_1/weight"), w);
                out.insert(format!("{c}/attention/linear_1/bias"), b);
                copy(
                    &mut out,
                    &format!("{h}.encoder_attn.out_proj.weight"),
                    &format!("{c}/attention/linear_2/weight"),
                )?;
                copy(
                    &mut out,
                    &format!("{h}.encoder_attn.out_proj.bias"),
                    &format!("{c}/attention/linear_2/bias"),
                )?;
            }
        }
    }
    Ok(out)
}

/// Write the checkpoint in `src` (any supported format) as a Hugging Face directory in `dst`:
/// `model.safetensors` (float16, HF names, un-fused projections), `config.json` and
/// `tokenizer.json`. Used to test the HF loader; also a converter.
pub fn write_hf_checkpoint(src: &Path, dst: &Path) -> Result<()> {
    let device = Device::Cpu;
    let ckpt = match crate::checkpoint::detect(src)? {
        ModelFormat::Ctranslate2 => crate::checkpoint::load_ct2(src, &device)?,
        ModelFormat::HuggingFace => load_hf(src, &device)?,
    };
    let d = ckpt.dims.n_state;
    let t = |name: &str| -> Result<Tensor> {
        Ok(ckpt
            .tensors
            .get(name)
            .ok_or_else(|| WhisperError::ModelFormat(format!("tensor `{name}` is missing")))?
            .to_dtype(DType::F16)?)
    };
    let mut out: HashMap<String, Tensor> = HashMap::new();
    let mut put = |k: String, v: Tensor| {
        out.insert(format!("model.{k}"), v);
    };
    for conv in ["conv1", "conv2"] {
        for p in ["weight", "bias"] {
            put(
                format!("encoder.{conv}.{p}"),
                t(&format!("encoder/{conv}/{p}"))?,
            );
        }
    }
    put(
        "encoder.embed_positions.weight".into(),
        t("encoder/position_encodings/encodings")?,
    );
    put(
        "decoder.embed_tokens.weight".into(),
        t("decoder/embeddings/weight")?,
    );
    put(
        "decoder.embed_positions.weight".into(),
        t("decoder/position_encodings/encodings")?,
    );
    for side in ["encoder", "decoder"] {
        put(
            format!("{side}.layer_norm.weight"),
            t(&format!("{side}/layer_norm/gamma"))?,
        );
        put(
            format!("{side}.layer_norm.bias"),
            t(&format!("{side}/layer_norm/beta"))?,
        );
        let layers = if side == "encoder" {
            ckpt.dims.n_audio_layer
        } else {
            ckpt.dims.n_text_layer
        };
        for i in 0..layers {
            let (h, c) = (format!("{side}.layers.{i}"), format!("{side}/layer_{i}"));
            let mut pairs = vec![
                ("self_attn_layer_norm", "self_attention/layer_norm"),
                ("final_layer_norm", "ffn/layer_norm"),
            ];
            if side == "decoder" {
                pairs.push(("encoder_attn_layer_norm", "attention/layer_norm"));
            }
            for (hf, ct) in pairs {
                put(format!("{h}.{hf}.weight"), t(&format!("{c}/{ct}/gamma"))?);
                put(format!("{h}.{hf}.bias"), t(&format!("{c}/{ct}/beta"))?);
            }
            let mut linears = vec![
                ("fc1", "ffn/linear_0"),
                ("fc2", "ffn/linear_1"),
                ("self_attn.out_proj", "self_attention/linear_1"),
            ];
            if side == "decoder" {
                linears.push(("encoder_attn.out_proj", "attention/linear_2"));
                linears.push(("encoder_attn.q_proj", "attention/linear_0"));
            }
            for (hf, ct) in linears {
                put(format!("{h}.{hf}.weight"), t(&format!("{c}/{ct}/weight"))?);
                put(format!("{h}.{hf}.bias"), t(&format!("{c}/{ct}/bias"))?);
            }
            let mut unfuse = |fused: &str, hf_prefix: &str, parts: &[&str]| -> Result<()> {
                let w = t(&format!("{c}/{fused}/weight"))?;
                let b = t(&format!("{c}/{fused}/bias"))?;
                for (j, p) in parts.iter().enumerate() {
                    put(
                        format!("{h}.{hf_prefix}.{p}_proj.weight"),
                        w.narrow(0, j * d, d)?.contiguous()?,
                    );
                    if *p != "k" {
                        put(
                            format!("{h}.{hf_prefix}.{p}_proj.bias"),
                            b.narrow(0, j * d, d)?.contiguous()?,
                        );
                    }
                }
                Ok(())
            };
            unfuse("self_attention/linear_0", "self_attn", &["q", "k", "v"])?;
            if side == "decoder" {
                unfuse("attention/linear_1", "encoder_attn", &["k", "v"])?;
            }
        }
    }
    std::fs::create_dir_all(dst).map_err(|source| WhisperError::Io {
        path: dst.to_path_buf(),
        source,
    })?;
    candle_core::safetensors::save(&out, dst.join("model.safetensors"))?;
    let dims = ckpt.dims;
    let config = serde_json::json!({
        "model_type": "whisper",
        "d_model": dims.n_state,
        "encoder_layers": dims.n_audio_layer,
        "encoder_attention_heads": dims.n_audio_head,
        "decoder_layers": dims.n_text_layer,
        "decoder_attention_heads": dims.n_text_head,
        "num_mel_bins": dims.n_mels,
        "vocab_size": dims.n_vocab,
        "max_source_positions": dims.n_audio_ctx,
        "max_target_positions": dims.n_text_ctx,
        "suppress_tokens": ckpt.suppress.always,
        "begin_suppress_tokens": ckpt.suppress.at_begin,
    });
    let write = |name: &str, bytes: &[u8]| {
        let path = dst.join(name);
        std::fs::write(&path, bytes).map_err(|source| WhisperError::Io { path, source })
    };
    write("config.json", config.to_string().as_bytes())?;
    write("tokenizer.json", &read(&src.join("tokenizer.json"))?)?;
    Ok(())
}
