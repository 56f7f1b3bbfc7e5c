//! Words from a window's timed tokens, as faster-whisper's `add_word_timestamps`: tokens are
//! grouped into words (a new word at each leading space or punctuation; for languages written
//! without spaces, at every complete character), punctuation is merged into its neighbour, and
//! two duration heuristics tame the alignment's worst habits: a word longer than twice the
//! median at a sentence boundary is cut, and so is the first word after a pause, which otherwise
//! tends to swallow the silence before it. A segment's start and end then follow its words,
//! unless a word strays more than half a second beyond them.
//!
//! Must never: reorder words or drop text tokens (every one belongs to exactly one word).

use crate::align::{AlignInput, TokenTimes, align};
use crate::error::Result;
use crate::model::CrossKv;
use crate::tokenizer::{SpecialTokens, Tokenizer};
use crate::{Model, Word};

/// Joined to the word that follows (faster-whisper's `prepend_punctuations`).
const PREPENDED: &str = "\"'“¿([{-";
/// Joined to the word before (`append_punctuations`).
const APPENDED: &str = "\"'.。,，!！?？:：”)]}、";
const SENTENCE_ENDS: &str = ".。!！?？";
/// Python's `string.punctuation`: a subword that is (a run of) these starts a new word.
const ASCII_PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
/// Languages written without spaces between words.
const UNSPACED: [&str; 6] = ["zh", "ja", "th", "lo", "my", "yue"];

/// One piece of a window as seeking cut it: start and end (seconds of the audio the decoder
/// saw) and its tokens, timestamps included.
pub(crate) type Piece<'a> = (f64, f64, &'a [u32]);

/// The start sequence at the head of `prompt_from_sot` (`<|startoftranscript|>` and the
/// language and task tokens after it), as CTranslate2 reads it from a prompt.
pub(crate) fn start_sequence(prompt_from_sot: &[u32], special: &SpecialTokens) -> Vec<u32> {
    prompt_from_sot
        .iter()
        .copied()
        .take_while(|&t| t >= special.sot && t < special.timestamp_begin)
        .collect()
}

/// Where a window lies, for timing its words.
pub(crate) struct WindowPlace<'a> {
    /// The start sequence it was decoded with ([`start_sequence`]).
    pub start_sequence: &'a [u32],
    /// Its language (decides how tokens are split into words).
    pub language: &'a str,
    /// Mel frames of it that hold audio.
    pub num_frames: usize,
    /// Its start, seconds of the audio the decoder saw.
    pub time_offset: f64,
    /// The end of the speech before it.
    pub last_speech: f64,
}

impl Model {
    /// The words of each piece of a decoded window (its encoder output in `cross`); adjusts
    /// the pieces' start and end.
    pub(crate) fn word_timestamps(
        &self,
        cross: &CrossKv,
        place: &WindowPlace<'_>,
        pieces: &mut [Piece<'_>],
    ) -> Result<Vec<Vec<Word>>> {
        let special = &self.tokenizer.special;
        let text: Vec<u32> = pieces
            .iter()
            .flat_map(|p| p.2.iter().copied().filter(|&t| t < special.eot))
            .collect();
        let input = AlignInput {
            start: place.start_sequence,
            no_timestamps: special.timestamp_begin - 1,
            eot: special.eot,
            text: &text,
            num_frames: place.num_frames,
        };
        let times = align(&self.decoder, cross, &self.alignment_heads, &input)?;
        Ok(window_words(
            &self.tokenizer,
            place.language,
            &text,
            times.as_ref(),
            pieces,
            place.time_offset,
            place.last_speech,
        ))
    }
}

/// A word with its tokens, before it is placed in a segment.
#[derive(Debug, Clone)]
struct Timing {
    text: String,
    tokens: Vec<u32>,
    start: f64,
    end: f64,
    probability: f32,
}

/// The words of each piece of a window whose text tokens (`text`, all pieces' in order) were
/// aligned as `times`; adjusts the pieces' start and end. `time_offset` is the window's start
/// and `last_speech` the end of the speech before the window, both in seconds of the audio the
/// decoder saw.
fn window_words(
    tokenizer: &Tokenizer,
    language: &str,
    text: &[u32],
    times: Option<&TokenTimes>,
    pieces: &mut [Piece<'_>],
    time_offset: f64,
    mut last_speech: f64,
) -> Vec<Vec<Word>> {
    let mut timings = times.map_or_else(Vec::new, |t| word_timings(tokenizer, language, text, t));
    let mut durations: Vec<f64> = timings
        .iter()
        .map(|w| w.end - w.start)
        .filter(|&d| d != 0.0)
        .collect();
    let median = median(&mut durations).min(0.7);
    let max_duration = median * 2.0;
    if !durations.is_empty() {
        for i in 1..timings.len() {
            if timings[i].end - timings[i].start > max_duration {
                if SENTENCE_ENDS.contains(timings[i].text.as_str()) {
                    timings[i].end = timings[i].start + max_duration;
                } else if SENTENCE_ENDS.contains(timings[i - 1].text.as_str()) {
                    timings[i].start = timings[i].end - max_duration;
                }
            }
        }
    }
    merge_punctuations(&mut timings);

    let eot = tokenizer.special.eot;
    let mut next = timings.into_iter();
    let mut out = Vec::with_capacity(pieces.len());
    for piece in pieces.iter_mut() {
        let n_text = piece.2.iter().filter(|&&t| t < eot).count();
        let mut saved = 0;
        let mut words: Vec<Word> = Vec::new();
        while saved < n_text {
            let Some(t) = next.next() else { break };
            saved += t.tokens.len();
            if !t.text.is_empty() {
                words.push(Word {
                    text: t.text,
                    start: round2(time_offset + t.start),
                    end: round2(time_offset + t.end),
                    probability: t.probability,
                });
            }
        }
        if !words.is_empty() {
            fit_piece(piece, &mut words, last_speech, median, max_duration);
            last_speech = piece.1;
        }
        out.push(words);
    }
    out
}

/// The end of a window's speech: its last word's end, else its last piece's end.
pub(crate) fn last_end(pieces: &[Piece<'_>], words: &[Vec<Word>]) -> Option<f64> {
    words
        .iter()
        .rev()
        .find_map(|w| w.last().map(|w| w.end))
        .or_else(|| pieces.last().map(|p| p.1))
}

/// The first word after a pause, or a first or last word that strays more than half a second
/// outside its piece, is shortened; otherwise the piece's start and end follow its words.
fn fit_piece(
    piece: &mut Piece<'_>,
    words: &mut [Word],
    last_speech: f64,
    median: f64,
    max_duration: f64,
) {
    let n = words.len();
    if words[0].end - last_speech > median * 4.0
        && (words[0].end - words[0].start > max_duration
            || (n > 1 && words[1].end - words[0].start > max_duration * 2.0))
    {
        if n > 1 && words[1].end - words[1].start > max_duration {
            let boundary = (words[1].end / 2.0).max(words[1].end - max_duration);
            words[0].end = boundary;
            words[1].start = boundary;
        }
        words[0].start = (words[0].end - max_duration).max(0.0);
    }
    if piece.0 < words[0].end && piece.0 - 0.5 > words[0].start {
        words[0].start = (words[0].end - median).min(piece.0).max(0.0);
    } else {
        piece.0 = words[0].start;
    }
    let last = &mut words[n - 1];
    if piece.1 > last.start && piece.1 + 0.5 < last.end {
        last.end = (last.start + median).max(piece.1);
    } else {
        piece.1 = last.end;
    }
}

/// Each word's tokens, start and end (seconds into the window) and mean token probability.
fn word_timings(
    tokenizer: &Tokenizer,
    language: &str,
    text: &[u32],
    times: &TokenTimes,
) -> Vec<Timing> {
    let mut tokens = text.to_vec();
    tokens.push(tokenizer.special.eot);
    let (words, word_tokens) = if UNSPACED.contains(&language) {
        split_on_unicode(tokenizer, &tokens)
    } else {
        split_on_spaces(tokenizer, &tokens)
    };
    if word_tokens.len() <= 1 {
        return Vec::new();
    }
    // Word `i` spans text tokens `bounds[i]..bounds[i + 1]`; the last word is end-of-text's.
    let mut bounds = vec![0usize];
    for w in &word_tokens[..word_tokens.len() - 1] {
        bounds.push(bounds[bounds.len() - 1] + w.len());
    }
    words
        .into_iter()
        .zip(word_tokens)
        .zip(bounds.windows(2))
        .map(|((text, tokens), b)| {
            let at = |i: usize| times.starts.get(i).copied().unwrap_or(0.0);
            let probs = times.probs.get(b[0]..b[1]).unwrap_or_default();
            let probability =
                probs.iter().map(|&p| f64::from(p)).sum::<f64>() / probs.len().max(1) as f64;
            Timing {
                text,
                tokens,
                start: at(b[0]),
                end: at(b[1]),
                probability: probability as f32,
            }
        })
        .collect()
}

/// Split where the text decoded so far ends in a complete character: a token that ends inside
/// a multi-byte character joins the next.
fn split_on_unicode(tokenizer: &Tokenizer, tokens: &[u32]) -> (Vec<String>, Vec<Vec<u32>>) {
    const REPLACEMENT: char = '\u{FFFD}';
    let full: Vec<char> = tokenizer.decode(tokens).chars().collect();
    let mut words = Vec::new();
    let mut word_tokens = Vec::new();
    let mut current = Vec::new();
    let mut offset = 0usize;
    for &t in tokens {
        current.push(t);
        let decoded = tokenizer.decode(&current);
        let complete = match decoded.chars().position(|c| c == REPLACEMENT) {
            None => true,
            // A replacement character that is in the full text too was really decoded.
            Some(i) => full.get(i + offset) == Some(&REPLACEMENT),
        };
        if complete {
            offset += decoded.chars().count();
            words.push(decoded);
            word_tokens.push(std::mem::take(&mut current));
        }
    }
    (words, word_tokens)
}

/// Split at subwords that start with a space, are punctuation or are special tokens.
fn split_on_spaces(tokenizer: &Tokenizer, tokens: &[u32]) -> (Vec<String>, Vec<Vec<u32>>) {
    let (subwords, subword_tokens) = split_on_unicode(tokenizer, tokens);
    let mut words: Vec<String> = Vec::new();
    let mut word_tokens: Vec<Vec<u32>> = Vec::new();
    for (subword, toks) in subwords.into_iter().zip(subword_tokens) {
        let special = toks.first().is_some_and(|&t| t >= tokenizer.special.eot);
        let with_space = subword.starts_with(' ');
        let punctuation = ASCII_PUNCTUATION.contains(subword.trim());
        match (words.last_mut(), word_tokens.last_mut()) {
            (Some(w), Some(wt)) if !(special || with_space || punctuation) => {
                w.push_str(&subword);
                wt.extend(toks);
            }
            _ => {
                words.push(subword);
                word_tokens.push(toks);
            }
        }
    }
    (words, word_tokens)
}

/// Opening punctuation joins the word after it, closing punctuation the word before it.
fn merge_punctuations(words: &mut [Timing]) {
    let n = words.len();
    if n < 2 {
        return;
    }
    let mut j = n - 1;
    for i in (0..n - 1).rev() {
        if words[i].text.starts_with(' ') && PREPENDED.contains(words[i].text.trim()) {
            let prev = std::mem::take(&mut words[i].text);
            let toks = std::mem::take(&mut words[i].tokens);
            words[j].text.insert_str(0, &prev);
            words[j].tokens.splice(0..0, toks);
        } else {
            j = i;
        }
    }
    let mut i = 0;
    for j in 1..n {
        if !words[i].text.ends_with(' ') && APPENDED.contains(words[j].text.as_str()) {
            let next = std::mem::take(&mut words[j].text);
            let toks = std::mem::take(&mut words[j].tokens);
            words[i].text.push_str(&next);
            words[i].tokens.extend(toks);
        } else {
            i = j;
        }
    }
}

/// numpy's median (the mean of the middle two of an even count); 0 for none.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Python's `round(x, 2)` for the times faster-whisper reports.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(text: &str, start: f64, end: f64) -> Timing {
        Timing {
            text: text.into(),
            tokens: vec![0; text.len().max(1)],
            start,
            end,
            probability: 0.9,
        }
    }

    #[test]
    fn punctuation_joins_its_neighbour() {
        let mut w = vec![
            timing(" \"", 0.0, 0.1),
            timing("Hello", 0.1, 0.5),
            timing(",", 0.5, 0.5),
            timing(" world", 0.5, 1.0),
            timing(".", 1.0, 1.1),
            timing("\"", 1.1, 1.2),
        ];
        merge_punctuations(&mut w);
        let texts: Vec<&str> = w.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, vec!["", " \"Hello,", "", " world.\"", "", ""]);
        assert_eq!(
            w.iter().map(|t| t.tokens.len()).sum::<usize>(),
            2 + 5 + 1 + 6 + 1 + 1
        );
    }

    #[test]
    fn the_first_word_after_a_pause_cannot_swallow_the_silence() {
        // Median word 0.3 s; the first word "starts" 3 s before it ends, right after silence.
        let mut piece: Piece<'_> = (10.0, 12.0, &[]);
        let mut words: Vec<Word> = [(7.0, 10.2), (10.2, 10.5), (10.5, 10.8)]
            .iter()
            .map(|&(start, end)| Word {
                text: " w".into(),
                start,
                end,
                probability: 1.0,
            })
            .collect();
        fit_piece(&mut piece, &mut words, 0.0, 0.3, 0.6);
        assert!((words[0].start - 9.6).abs() < 1e-9, "{words:?}");
        assert_eq!(
            piece.0, words[0].start,
            "the piece starts with its first word"
        );
        assert_eq!(piece.1, 10.8, "the piece ends with its last word");
    }

    #[test]
    fn median_is_numpys() {
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(round2(1.234_999), 1.23);
    }
}
