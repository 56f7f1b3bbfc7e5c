//! Splitting a document's text into overlapping chunks of a bounded number of words, on
//! sentence and paragraph boundaries where possible. Words are runs of non-whitespace, except
//! that each Han, kana or Hangul character counts as a word of its own (those scripts do not
//! separate words by spaces). Linear in the text's length.

use std::ops::Range;

/// A chunk of a document's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// A slice of the text, from the chunk's first word to its last (line breaks kept).
    pub text: String,
    /// The character (not byte) offset of the chunk's start in the text.
    pub start: usize,
}

/// Splits text into chunks of at most `max_words` words (at least one), on sentence and
/// paragraph boundaries where possible (a single sentence longer than `max_words` is split at
/// word boundaries), consecutive chunks sharing about `overlap_words` words (at most half of
/// `max_words`): the whole trailing sentences of the previous chunk when they fit in
/// `overlap_words` and cover at least half of it, else its last `overlap_words` words. Every
/// chunk holds words no earlier chunk had. Empty text gives no chunks.
pub fn chunk(text: &str, max_words: usize, overlap_words: usize) -> Vec<Chunk> {
    let max_words = max_words.max(1);
    let overlap_words = overlap_words.min(max_words / 2);
    let (words, sentences) = segment(text);
    // Pieces of an overlong sentence leave room for the overlap before them.
    let units = units(&sentences, max_words - overlap_words);
    let Some(first) = units.first() else {
        return Vec::new();
    };

    let mut spans: Vec<Range<usize>> = Vec::new();
    let mut span = first.clone();
    for (i, unit) in units.iter().enumerate().skip(1) {
        if unit.end - span.start <= max_words {
            span.end = unit.end;
            continue;
        }
        let start = overlap_start(&units[..i], &span, overlap_words, unit.end - max_words);
        spans.push(std::mem::replace(&mut span, start..unit.end));
    }
    spans.push(span);

    spans
        .into_iter()
        .map(|span| {
            let (first, last) = (&words[span.start], &words[span.end - 1]);
            Chunk {
                text: text[first.bytes.start..last.bytes.end].to_owned(),
                start: first.char_start,
            }
        })
        .collect()
}

/// Where the chunk after `span` starts (a word index): whole trailing units of `span` (the
/// last of `before`) totalling at most `overlap` words, if they cover at least half of it;
/// else the last `overlap` words. Never before `floor`, so the next chunk, which ends at the
/// unit after `before`, stays within the word limit.
fn overlap_start(
    before: &[Range<usize>],
    span: &Range<usize>,
    overlap: usize,
    floor: usize,
) -> usize {
    let mut start = span.end;
    for unit in before.iter().rev() {
        if unit.start < span.start || span.end - unit.start > overlap || unit.start < floor {
            break;
        }
        start = unit.start;
    }
    if 2 * (span.end - start) < overlap {
        start = span.end.saturating_sub(overlap).max(span.start);
    }
    start.max(floor)
}

/// Sentences split into pieces of at most `piece` words: the units chunks are made of.
fn units(sentences: &[Range<usize>], piece: usize) -> Vec<Range<usize>> {
    let mut units = Vec::with_capacity(sentences.len());
    for sentence in sentences {
        let mut start = sentence.start;
        while start < sentence.end {
            let end = (start + piece).min(sentence.end);
            units.push(start..end);
            start = end;
        }
    }
    units
}

/// A word: its bytes in the text, and the character offset where it starts.
#[derive(Debug)]
struct Word {
    bytes: Range<usize>,
    char_start: usize,
}

/// The text's words, and its sentences as ranges of word indices. A sentence ends after a
/// word ending in terminal punctuation (closing quotes and brackets aside), and before a
/// word that follows a blank line.
fn segment(text: &str) -> (Vec<Word>, Vec<Range<usize>>) {
    let mut words: Vec<Word> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    // The word being read, and whether it is a single CJK character (which only punctuation
    // may extend).
    let mut open: Option<(Word, bool)> = None;
    let mut newlines = 0usize;

    for (char_index, (byte, c)) in text.char_indices().enumerate() {
        let bytes = byte..byte + c.len_utf8();
        if c.is_whitespace() {
            close(text, open.take(), &mut words, &mut ends);
            newlines += usize::from(c == '\n');
            continue;
        }
        let cjk = is_cjk(c);
        match &mut open {
            Some((word, false)) if !cjk => word.bytes.end = bytes.end,
            Some((word, true)) if !cjk && !c.is_alphanumeric() => word.bytes.end = bytes.end,
            _ => {
                close(text, open.take(), &mut words, &mut ends);
                if newlines >= 2 && !words.is_empty() {
                    ends_push(&mut ends, words.len());
                }
                newlines = 0;
                let word = Word {
                    bytes,
                    char_start: char_index,
                };
                open = Some((word, cjk));
            }
        }
    }
    close(text, open.take(), &mut words, &mut ends);
    ends_push(&mut ends, words.len());

    let mut sentences = Vec::with_capacity(ends.len());
    let mut start = 0;
    for end in ends {
        if end > start {
            sentences.push(start..end);
            start = end;
        }
    }
    (words, sentences)
}

/// Ends the word being read, if any, and the sentence with it if it ends in terminal
/// punctuation.
fn close(text: &str, open: Option<(Word, bool)>, words: &mut Vec<Word>, ends: &mut Vec<usize>) {
    let Some((word, _)) = open else { return };
    let ends_sentence = text[word.bytes.clone()]
        .chars()
        .rev()
        .find(|c| !CLOSERS.contains(c))
        .is_some_and(|c| TERMINALS.contains(&c));
    words.push(word);
    if ends_sentence {
        ends_push(ends, words.len());
    }
}

/// Records a sentence end unless it is already the last one recorded.
fn ends_push(ends: &mut Vec<usize>, end: usize) {
    if ends.last() != Some(&end) {
        ends.push(end);
    }
}

/// Punctuation that ends a sentence.
const TERMINALS: &[char] = &['.', '!', '?', '…', '。', '！', '？', '‼', '⁇', '⁈', '⁉'];
/// Closing quotes and brackets that may follow a sentence's terminal punctuation.
const CLOSERS: &[char] = &[
    '"', '\'', '”', '’', '»', '›', ')', ']', '}', '」', '』', '）', '*', '_',
];

/// Han ideographs, kana and Hangul syllables: scripts whose words are not separated by spaces
/// (Korean usually is, but a syllable is still a fair unit to count).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F) // Extensions B and later, compatibility supplement
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(chunks: &[Chunk]) -> Vec<&str> {
        chunks.iter().map(|c| c.text.as_str()).collect()
    }

    fn word_count(s: &str) -> usize {
        s.split_whitespace().count()
    }

    /// Every chunk is the text at its offset, within the word limit, and adds new words.
    fn check_invariants(text: &str, chunks: &[Chunk], max_words: usize) {
        let mut last_end = 0;
        for c in chunks {
            let at: String = text
                .chars()
                .skip(c.start)
                .take(c.text.chars().count())
                .collect();
            assert_eq!(at, c.text, "chunk text is the text at its offset");
            let words = segment(&c.text).0.len();
            assert!(
                words <= max_words,
                "{words} > {max_words} words: {:?}",
                c.text
            );
            let end = c.start + c.text.chars().count();
            assert!(end > last_end, "chunk adds nothing new: {:?}", c.text);
            last_end = end;
        }
    }

    #[test]
    fn empty_or_blank_text_has_no_chunks() {
        assert!(chunk("", 50, 10).is_empty());
        assert!(chunk(" \n\n\t ", 50, 10).is_empty());
    }

    #[test]
    fn short_text_is_one_chunk() {
        let text = "One sentence. Another one!";
        assert_eq!(
            chunk(text, 50, 10),
            vec![Chunk {
                text: text.into(),
                start: 0
            }]
        );
    }

    #[test]
    fn chunks_break_between_sentences_and_overlap_by_whole_sentences() {
        let text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota. Kappa lambda mu.";
        let chunks = chunk(text, 7, 3);
        assert_eq!(
            texts(&chunks),
            [
                "Alpha beta gamma. Delta epsilon zeta.",
                "Delta epsilon zeta. Eta theta iota.",
                "Eta theta iota. Kappa lambda mu.",
            ]
        );
        assert_eq!(chunks[1].start, text.find("Delta").unwrap());
        check_invariants(text, &chunks, 7);
    }

    #[test]
    fn without_overlap_chunks_do_not_share_words() {
        let text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota. Kappa lambda mu.";
        let chunks = chunk(text, 7, 0);
        assert_eq!(
            texts(&chunks),
            [
                "Alpha beta gamma. Delta epsilon zeta.",
                "Eta theta iota. Kappa lambda mu."
            ]
        );
    }

    #[test]
    fn overlap_falls_back_to_words_when_the_last_sentence_is_too_long_for_it() {
        let text = "One two three four five six. Seven eight.";
        let chunks = chunk(text, 6, 2);
        assert_eq!(
            texts(&chunks),
            ["One two three four five six.", "five six. Seven eight."]
        );
        check_invariants(text, &chunks, 6);
    }

    #[test]
    fn paragraphs_are_boundaries_even_without_punctuation() {
        let text = "Agenda\n\nBudget review for the quarter\n\nHiring plan";
        let chunks = chunk(text, 5, 0);
        assert_eq!(
            texts(&chunks),
            ["Agenda", "Budget review for the quarter", "Hiring plan"]
        );
        // A single line break is not a boundary: the words before it stay with the sentence.
        let chunks = chunk("Budget review\nfor the quarter. Next", 5, 0);
        assert_eq!(texts(&chunks), ["Budget review\nfor the quarter.", "Next"]);
    }

    #[test]
    fn a_sentence_longer_than_the_limit_is_split_at_word_boundaries() {
        let words: Vec<String> = (0..25).map(|i| format!("w{i}")).collect();
        let text = format!("{}. Short one.", words.join(" "));
        let chunks = chunk(&text, 10, 0);
        assert_eq!(
            chunks
                .iter()
                .map(|c| word_count(&c.text))
                .collect::<Vec<_>>(),
            [10, 10, 7]
        );
        assert!(chunks[2].text.starts_with("w20 "));
        assert!(chunks[2].text.ends_with("Short one."));
        check_invariants(&text, &chunks, 10);

        let chunks = chunk(&text, 10, 3);
        check_invariants(&text, &chunks, 10);
        // Pieces of seven words, each after the three words before it.
        assert!(
            chunks[1].text.starts_with("w4 w5 w6 w7 "),
            "{:?}",
            chunks[1].text
        );
        assert_eq!(word_count(&chunks[1].text), 10);
    }

    #[test]
    fn closing_quotes_after_terminal_punctuation_end_a_sentence() {
        let text = "He said “stop.” Then (quietly!) left. Done";
        let (words, sentences) = segment(text);
        let ends: Vec<&str> = sentences
            .iter()
            .map(|s| &text[words[s.end - 1].bytes.clone()])
            .collect();
        // A bracketed exclamation ends a sentence too: a break there costs nothing.
        assert_eq!(ends, ["“stop.”", "(quietly!)", "left.", "Done"]);
    }

    #[test]
    fn offsets_are_in_characters_for_unicode_text() {
        let text = "Café – naïve façade. Ünïcödé wörds hére. Ελληνικά κείμενο εδώ.";
        let chunks = chunk(text, 4, 0);
        assert_eq!(
            texts(&chunks),
            [
                "Café – naïve façade.",
                "Ünïcödé wörds hére.",
                "Ελληνικά κείμενο εδώ."
            ]
        );
        assert_eq!(chunks[1].start, 21);
        assert_eq!(chunks[2].start, 41);
        check_invariants(text, &chunks, 4);
    }

    #[test]
    fn cjk_characters_count_as_words() {
        let text = "会议从预算开始。我们同意推迟。English words here.";
        let (words, sentences) = segment(text);
        assert_eq!(words.len(), 7 + 6 + 3);
        assert_eq!(sentences.len(), 3);
        let chunks = chunk(text, 9, 0);
        assert_eq!(
            texts(&chunks),
            ["会议从预算开始。", "我们同意推迟。English words here."]
        );
        check_invariants(text, &chunks, 9);
    }

    #[test]
    fn every_chunk_is_bounded_and_progresses_for_many_shapes() {
        let mut text = String::new();
        for i in 0..200 {
            let len = (i * 7) % 23 + 1;
            let sentence: Vec<String> = (0..len).map(|j| format!("s{i}w{j}")).collect();
            text.push_str(&sentence.join(" "));
            text.push_str(if i % 5 == 0 { ".\n\n" } else { ". " });
        }
        let last_word = text.split_whitespace().last().unwrap();
        for (max, overlap) in [
            (1, 0),
            (1, 5),
            (5, 2),
            (16, 4),
            (16, 16),
            (16, 40),
            (50, 10),
        ] {
            let chunks = chunk(&text, max, overlap);
            check_invariants(&text, &chunks, max);
            let last = chunks.last().unwrap();
            assert!(
                last.text.ends_with(last_word),
                "({max}, {overlap}) covers the text"
            );
        }
        // A zero limit is treated as one word.
        assert_eq!(chunk("a b", 0, 0).len(), 2);
    }
}
