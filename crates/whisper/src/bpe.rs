//! Encoding free text into Whisper's byte-level BPE tokens, for the `initial_prompt` (names and
//! jargon a caller wants spelled their way). As Hugging Face's `ByteLevel` + `BPE` tokenizer
//! that faster-whisper runs from the same `tokenizer.json`: GPT-2's pre-tokenizing pattern
//! splits the text, each piece's bytes are mapped to GPT-2's printable alphabet, and the
//! lowest-ranked adjacent pair is merged until none of the `merges` applies. Decoding stays in
//! `tokenizer`.

use std::collections::HashMap;

use crate::error::{Result, WhisperError};

/// GPT-2's pre-tokenizer without its look-ahead (`\s+(?!\S)`), which [`pieces`] applies by hand.
const PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+";

/// The merge table and the vocabulary lookup of one tokenizer.
#[derive(Debug, Clone)]
pub struct Bpe {
    /// `(left, right)` → rank (lower merges first).
    ranks: HashMap<(String, String), usize>,
    /// Token string → id.
    ids: HashMap<String, u32>,
    /// Byte → its printable stand-in.
    byte_char: [char; 256],
    pattern: regex::Regex,
}

impl Bpe {
    /// The merges of a Hugging Face `tokenizer.json` (`"a b"` strings or `["a", "b"]` pairs),
    /// over the id-ordered `tokens`.
    pub fn from_json(bytes: &[u8], tokens: &[String]) -> Result<Self> {
        #[derive(serde::Deserialize)]
        struct File {
            model: ModelPart,
        }
        #[derive(serde::Deserialize)]
        struct ModelPart {
            #[serde(default)]
            merges: Vec<Merge>,
        }
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Merge {
            Joined(String),
            Pair(String, String),
        }
        let file: File = serde_json::from_slice(bytes)
            .map_err(|e| WhisperError::Tokenizer(format!("tokenizer.json merges: {e}")))?;
        let mut ranks = HashMap::with_capacity(file.model.merges.len());
        for (rank, merge) in file.model.merges.into_iter().enumerate() {
            let pair = match merge {
                Merge::Pair(a, b) => (a, b),
                Merge::Joined(s) => match s.split_once(' ') {
                    Some((a, b)) => (a.to_owned(), b.to_owned()),
                    None => {
                        return Err(WhisperError::Tokenizer(format!(
                            "tokenizer.json: merge {rank} ({s:?}) is not two tokens"
                        )));
                    }
                },
            };
            ranks.entry(pair).or_insert(rank);
        }
        let ids = tokens
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((t.clone(), u32::try_from(i).ok()?)))
            .collect();
        let pattern = regex::Regex::new(PATTERN)
            .map_err(|e| WhisperError::Tokenizer(format!("pre-tokenizer pattern: {e}")))?;
        Ok(Self {
            ranks,
            ids,
            byte_char: byte_chars(),
            pattern,
        })
    }

    /// The token ids of `text`.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        for piece in pieces(&self.pattern, text) {
            let mapped: Vec<String> = piece
                .bytes()
                .map(|b| self.byte_char[usize::from(b)].to_string())
                .collect();
            for symbol in self.merge(mapped) {
                let id = self.ids.get(&symbol).copied().ok_or_else(|| {
                    WhisperError::Tokenizer(format!("no token for the BPE symbol {symbol:?}"))
                })?;
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Merge the lowest-ranked adjacent pair (the leftmost of equal ranks) until none applies.
    fn merge(&self, mut symbols: Vec<String>) -> Vec<String> {
        loop {
            let best = symbols
                .windows(2)
                .enumerate()
                .filter_map(|(i, w)| {
                    self.ranks
                        .get(&(w[0].clone(), w[1].clone()))
                        .map(|&r| (r, i))
                })
                .min();
            let Some((rank, _)) = best else {
                return symbols;
            };
            // Every occurrence of that pair, left to right, as the reference implementation.
            let mut merged = Vec::with_capacity(symbols.len());
            let mut i = 0;
            while i < symbols.len() {
                if i + 1 < symbols.len()
                    && self
                        .ranks
                        .get(&(symbols[i].clone(), symbols[i + 1].clone()))
                        == Some(&rank)
                {
                    merged.push(format!("{}{}", symbols[i], symbols[i + 1]));
                    i += 2;
                } else {
                    merged.push(std::mem::take(&mut symbols[i]));
                    i += 1;
                }
            }
            symbols = merged;
        }
    }
}

/// GPT-2's pieces of `text`: the pattern's matches, where a run of whitespace followed by more
/// text gives up its last character to the next piece (the look-ahead `\s+(?!\S)`).
fn pieces<'t>(pattern: &regex::Regex, text: &'t str) -> Vec<&'t str> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let Some(m) = pattern.find_at(text, at) else {
            break;
        };
        let mut end = m.end();
        let piece = m.as_str();
        if piece.chars().all(char::is_whitespace)
            && end < text.len()
            && let Some((last, _)) = piece.char_indices().next_back()
            && last > 0
        {
            end = m.start() + last;
        }
        out.push(&text[m.start()..end]);
        at = end;
    }
    out
}

/// GPT-2's `bytes_to_unicode`: printable bytes stand for themselves, the others for the
/// characters from U+0100 on, in byte order.
pub fn byte_chars() -> [char; 256] {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut table = ['\0'; 256];
    let mut next = 0u32;
    for b in 0..=255u8 {
        table[usize::from(b)] = if printable(b) {
            char::from(b)
        } else {
            let c = char::from_u32(256 + next).unwrap_or(char::REPLACEMENT_CHARACTER);
            next += 1;
            c
        };
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern() -> regex::Regex {
        regex::Regex::new(PATTERN).unwrap()
    }

    #[test]
    fn splits_as_gpt2() {
        let p = pattern();
        assert_eq!(
            pieces(&p, " Hello world's 42  x\n"),
            vec![" Hello", " world", "'s", " 42", " ", " x", "\n"]
        );
        assert_eq!(pieces(&p, "a   b"), vec!["a", "  ", " b"]);
        assert_eq!(pieces(&p, " Müller, né!"), vec![" Müller", ",", " né", "!"]);
    }

    #[test]
    fn merges_lowest_rank_first() {
        let tokens: Vec<String> = ["a", "b", "c", "ab", "abc", "bc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let json = br#"{"model": {"merges": ["b c", "a b", "ab c"]}}"#;
        let bpe = Bpe::from_json(json, &tokens).unwrap();
        // "b c" ranks first, so "abc" becomes a + bc, and no merge joins those.
        assert_eq!(bpe.encode("abc").unwrap(), vec![0, 5]);
        let pairs = br#"{"model": {"merges": [["a", "b"], ["ab", "c"]]}}"#;
        let bpe = Bpe::from_json(pairs, &tokens).unwrap();
        assert_eq!(bpe.encode("abc").unwrap(), vec![4]);
        assert!(bpe.encode("d").is_err());
    }
}
