//! Whisper's byte-level BPE vocabulary: decoding token ids to text, and finding special tokens.
//!
//! Prompts are mostly previous output tokens; the one free text encoded is a caller's
//! `initial_prompt`, through `bpe` (which needs the merges of `tokenizer.json`). Special tokens
//! are looked up by their literal string. The vocabulary comes from `tokenizer.json` (Hugging
//! Face: `model.vocab` plus `added_tokens`) or CTranslate2's `vocabulary.txt` (one token per
//! line, the line number is the id).

use std::collections::HashMap;
use std::path::Path;

use crate::bpe::Bpe;
use crate::error::{Result, WhisperError};

/// The special tokens that steer decoding.
#[derive(Debug, Clone)]
pub struct SpecialTokens {
    /// `<|endoftext|>`: end of a window's text; also the first non-text id.
    pub eot: u32,
    /// `<|startoftranscript|>`.
    pub sot: u32,
    /// `<|startofprev|>`: introduces previous text as a prompt.
    pub sot_prev: u32,
    /// `<|transcribe|>`.
    pub transcribe: u32,
    /// `<|nocaptions|>` / `<|nospeech|>`: its probability at the first step is `no_speech_prob`.
    pub no_speech: u32,
    /// `<|0.00|>`; every id from here on is a timestamp in 20 ms steps.
    pub timestamp_begin: u32,
    /// Language tokens and their codes (`<|en|>` → `en`), in id order.
    pub languages: Vec<(u32, String)>,
    /// `<|translate|>` (multilingual vocabularies).
    pub translate: Option<u32>,
}

/// Id → text for every token, plus the special tokens.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    /// Token strings in GPT-2's byte-to-unicode alphabet (specials as written).
    tokens: Vec<String>,
    /// Inverse of GPT-2's `bytes_to_unicode`.
    unicode_to_byte: HashMap<char, u8>,
    /// The special tokens.
    pub special: SpecialTokens,
    /// The encoder of free text (`tokenizer.json` only: `vocabulary.txt` has no merges).
    bpe: Option<Bpe>,
}

impl Tokenizer {
    /// Load from `tokenizer.json`, else `vocabulary.txt`, in `dir`; `n_vocab` is the model's
    /// output size, so that timestamp ids beyond the listed tokens are known to exist.
    pub fn load(dir: &Path, n_vocab: usize) -> Result<Self> {
        let json = dir.join("tokenizer.json");
        let txt = dir.join("vocabulary.txt");
        if json.is_file() {
            let bytes = std::fs::read(&json).map_err(|source| WhisperError::Io {
                path: json.clone(),
                source,
            })?;
            let tokens = tokens_from_json(&bytes)?;
            let bpe = Bpe::from_json(&bytes, &tokens)?;
            let mut tokenizer = Self::from_tokens(tokens, n_vocab)?;
            tokenizer.bpe = Some(bpe);
            return Ok(tokenizer);
        }
        let tokens = if txt.is_file() {
            let text = std::fs::read_to_string(&txt).map_err(|source| WhisperError::Io {
                path: txt.clone(),
                source,
            })?;
            text.lines().map(str::to_owned).collect()
        } else {
            return Err(WhisperError::Tokenizer(format!(
                "neither tokenizer.json nor vocabulary.txt in {}",
                dir.display()
            )));
        };
        Self::from_tokens(tokens, n_vocab)
    }

    /// Build from the id-ordered token strings.
    pub fn from_tokens(tokens: Vec<String>, n_vocab: usize) -> Result<Self> {
        let find = |s: &str| -> Option<u32> {
            tokens
                .iter()
                .position(|t| t == s)
                .and_then(|i| u32::try_from(i).ok())
        };
        let need = |s: &str| {
            find(s).ok_or_else(|| WhisperError::Tokenizer(format!("special token {s} is missing")))
        };
        let eot = need("<|endoftext|>")?;
        let sot = need("<|startoftranscript|>")?;
        let no_timestamps = need("<|notimestamps|>")?;
        let no_speech = find("<|nospeech|>").map_or_else(|| need("<|nocaptions|>"), Ok)?;
        let special = SpecialTokens {
            eot,
            sot,
            sot_prev: need("<|startofprev|>")?,
            transcribe: need("<|transcribe|>")?,
            no_speech,
            timestamp_begin: no_timestamps + 1,
            languages: language_tokens(&tokens, sot, no_timestamps),
            translate: find("<|translate|>"),
        };
        if special.timestamp_begin as usize + 1501 > n_vocab.max(tokens.len()) {
            return Err(WhisperError::Tokenizer(format!(
                "vocabulary of {n_vocab} has no room for 1501 timestamp tokens after id {}",
                special.timestamp_begin
            )));
        }
        let unicode_to_byte = byte_decoder();
        Ok(Self {
            tokens,
            unicode_to_byte,
            special,
            bpe: None,
        })
    }

    /// The tokens of free text, as faster-whisper's `tokenizer.encode`.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.bpe
            .as_ref()
            .ok_or_else(|| {
                WhisperError::Tokenizer(
                    "encoding a prompt needs the model's tokenizer.json (vocabulary.txt has no \
                     merges)"
                        .into(),
                )
            })?
            .encode(text)
    }

    /// The text of `ids`, skipping every special and timestamp token.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            if id >= self.special.eot {
                continue;
            }
            let Some(token) = self.tokens.get(id as usize) else {
                continue;
            };
            for ch in token.chars() {
                if let Some(&b) = self.unicode_to_byte.get(&ch) {
                    bytes.push(b);
                } else {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The id of a single-token string such as `" "` (used for `suppress_blank`).
    pub fn id_of(&self, token: &str) -> Option<u32> {
        self.tokens
            .iter()
            .position(|t| t == token)
            .and_then(|i| u32::try_from(i).ok())
    }
}

/// Language tokens are the `<|xx|>` tokens between `<|startoftranscript|>` and `<|translate|>`.
fn language_tokens(tokens: &[String], sot: u32, no_timestamps: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for id in sot + 1..no_timestamps {
        let Some(t) = tokens.get(id as usize) else {
            break;
        };
        let Some(code) = t.strip_prefix("<|").and_then(|t| t.strip_suffix("|>")) else {
            break;
        };
        if code == "translate" {
            break;
        }
        out.push((id, code.to_owned()));
    }
    out
}

/// Token strings in id order from a Hugging Face `tokenizer.json`.
pub fn tokens_from_json(bytes: &[u8]) -> Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct File {
        model: ModelPart,
        #[serde(default)]
        added_tokens: Vec<Added>,
    }
    #[derive(serde::Deserialize)]
    struct ModelPart {
        vocab: HashMap<String, u32>,
    }
    #[derive(serde::Deserialize)]
    struct Added {
        id: u32,
        content: String,
    }
    let file: File = serde_json::from_slice(bytes)
        .map_err(|e| WhisperError::Tokenizer(format!("tokenizer.json: {e}")))?;
    let max = file
        .model
        .vocab
        .values()
        .chain(file.added_tokens.iter().map(|a| &a.id))
        .copied()
        .max()
        .unwrap_or(0) as usize;
    if max > 1_000_000 {
        return Err(WhisperError::Tokenizer(format!(
            "tokenizer.json: token id {max} is absurd"
        )));
    }
    let mut tokens = vec![String::new(); max + 1];
    for (text, id) in file.model.vocab {
        tokens[id as usize] = text;
    }
    for a in file.added_tokens {
        tokens[a.id as usize] = a.content;
    }
    Ok(tokens)
}

/// GPT-2's reversible map from bytes to printable characters, inverted.
fn byte_decoder() -> HashMap<char, u8> {
    let mut map = HashMap::with_capacity(256);
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut next = 0u32;
    for b in 0..=255u8 {
        let ch = if printable(b) {
            char::from(b)
        } else {
            let c = char::from_u32(256 + next).unwrap_or(char::REPLACEMENT_CHARACTER);
            next += 1;
            c
        };
        map.insert(ch, b);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Tokenizer {
        let mut tokens: Vec<String> = ["Hello", "Ġworld", "!", "Ċ", "Ã©"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for s in [
            "<|endoftext|>",
            "<|startoftranscript|>",
            "<|en|>",
            "<|de|>",
            "<|translate|>",
            "<|transcribe|>",
            "<|startoflm|>",
            "<|startofprev|>",
            "<|nocaptions|>",
            "<|notimestamps|>",
        ] {
            tokens.push(s.to_owned());
        }
        Tokenizer::from_tokens(tokens, 5 + 10 + 1501).unwrap()
    }

    #[test]
    fn decodes_byte_level_tokens_and_drops_specials() {
        let t = toy();
        assert_eq!(t.decode(&[0, 1, 2, 5, 14, 15, 4]), "Hello world!é");
        assert_eq!(t.decode(&[3]), "\n");
        assert_eq!(t.special.timestamp_begin, 15);
        assert_eq!(
            t.special.languages,
            vec![(7, "en".to_owned()), (8, "de".to_owned())]
        );
        assert_eq!(t.special.no_speech, 13);
    }

    #[test]
    fn missing_specials_are_an_error() {
        let err = Tokenizer::from_tokens(vec!["a".into()], 10).unwrap_err();
        assert!(err.to_string().contains("<|endoftext|>"), "{err}");
    }
}
