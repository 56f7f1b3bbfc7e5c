//! The chat model's tokenizer, rebuilt from the GGUF file's own vocabulary, merges and
//! pre-tokenizer name (`tokenizer.ggml.pre`) as Hugging Face `tokenizers` objects: byte-level
//! BPE; `smollm` splits every digit apart first (as SmolLM2's tokenizer.json does), `llama3`
//! and its kin use Llama 3's split pattern, anything else GPT-2's. Control tokens
//! (`<|im_start|>`, `<|im_end|>` …) are never parsed from text: the prompt template inserts them
//! by id, and content is encoded as plain text (as llama.cpp does with `parse_special` off), so
//! a transcript saying `<|im_end|>` cannot forge a turn.

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{PreTokenizerWrapper, SplitDelimiterBehavior, Tokenizer};

use crate::error::{IntelError, Result};

const LLAMA3_SPLIT: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A tokenizer and the ids of the tokens generation stops at.
#[derive(Debug)]
pub struct ChatTokenizer {
    pub(crate) inner: Tokenizer,
    /// Control tokens by text, for the prompt template.
    pub(crate) specials: std::collections::HashMap<String, u32>,
    pub(crate) eos: Option<u32>,
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>> {
    let bad = |m: String| IntelError::Tokenizer(format!("{what}: {m}"));
    v.to_vec()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(|x| x.to_string().cloned().map_err(|e| bad(e.to_string())))
        .collect()
}

fn number(v: &Value) -> Option<u32> {
    v.to_u32()
        .ok()
        .or_else(|| v.to_i32().ok().and_then(|x| u32::try_from(x).ok()))
}

impl ChatTokenizer {
    pub(crate) fn from_gguf(ct: &Content) -> Result<Self> {
        let meta = |k: &str| ct.metadata.get(k);
        let bad = |m: String| IntelError::Tokenizer(m);
        let kind = meta("tokenizer.ggml.model")
            .and_then(|v| v.to_string().ok())
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_default();
        if kind != "gpt2" {
            return Err(bad(format!(
                "tokenizer model {kind:?} is not supported (only byte-level BPE, `gpt2`: SmolLM, Llama 3)"
            )));
        }
        let tokens = strings(
            meta("tokenizer.ggml.tokens").ok_or_else(|| bad("no tokenizer.ggml.tokens".into()))?,
            "tokenizer.ggml.tokens",
        )?;
        let merges = strings(
            meta("tokenizer.ggml.merges").ok_or_else(|| bad("no tokenizer.ggml.merges".into()))?,
            "tokenizer.ggml.merges",
        )?
        .into_iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| bad(format!("merge {m:?} is not two tokens")))
        })
        .collect::<Result<Vec<_>>>()?;
        let types: Vec<u32> = match meta("tokenizer.ggml.token_type") {
            Some(v) => v
                .to_vec()
                .map_err(|e| bad(e.to_string()))?
                .iter()
                .map(|x| number(x).unwrap_or(1))
                .collect(),
            None => Vec::new(),
        };
        let vocab: tokenizers::models::bpe::Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let pre = meta("tokenizer.ggml.pre")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_else(|| "gpt2".into());
        let llama3 = matches!(pre.as_str(), "llama3" | "llama-bpe" | "smaug-bpe");
        // Llama 3 takes a whole word from the vocabulary before merging (llama.cpp's
        // `ignore_merges`).
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .ignore_merges(llama3)
            .build()
            .map_err(|e| bad(format!("BPE: {e}")))?;
        let mut inner = Tokenizer::new(bpe);
        let pretok: PreTokenizerWrapper = match pre.as_str() {
            "smollm" => Sequence::new(vec![
                Digits::new(true).into(),
                ByteLevel::new(false, true, true).into(),
            ])
            .into(),
            "llama3" | "llama-bpe" | "smaug-bpe" => Sequence::new(vec![
                Split::new(
                    SplitPattern::Regex(LLAMA3_SPLIT.into()),
                    SplitDelimiterBehavior::Isolated,
                    false,
                )
                .map_err(|e| bad(format!("split pattern: {e}")))?
                .into(),
                ByteLevel::new(false, true, false).into(),
            ])
            .into(),
            _ => ByteLevel::new(false, true, true).into(),
        };
        inner.with_pre_tokenizer(Some(pretok));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        // Control tokens (type 3), by text, for the template; never matched in content.
        let specials = tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| types.get(*i) == Some(&3))
            .map(|(i, t)| (t.clone(), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let id = |k: &str| meta(k).and_then(number);
        Ok(Self {
            inner,
            specials,
            eos: id("tokenizer.ggml.eos_token_id"),
        })
    }

    /// Token ids of plain text (control-token text in it stays text).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| IntelError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The id of a control token (`<|im_start|>`).
    pub fn special(&self, text: &str) -> Option<u32> {
        self.specials.get(text).copied()
    }

    /// Text of `ids`, control tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        let plain: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|id| !self.specials.values().any(|s| s == id))
            .collect();
        self.inner
            .decode(&plain, false)
            .map_err(|e| IntelError::Tokenizer(e.to_string()))
    }
}
