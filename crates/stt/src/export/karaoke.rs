//! Karaoke cues from timed words: WebVTT with an inline `<HH:MM:SS.mmm>` timestamp before each
//! word, SRT with one cue per word, the line shown with that word underlined. Segments without
//! words are written as the plain formats write them. Word text is sanitized as segment text
//! is, one word at a time, so a word cannot break a cue either.

use super::{clock, cues, escape_vtt, millis, one_line, push_vtt_cue};
use crate::Segment;

/// A segment's words as pieces of its line: start (ms, within the cue, never going back), whether
/// a space goes before it, and its one-line text. `None` without usable words.
fn pieces(segment: &Segment, cue_start: u64, cue_end: u64) -> Option<Vec<(u64, bool, String)>> {
    let mut last = cue_start;
    let pieces: Vec<(u64, bool, String)> = segment
        .words
        .iter()
        .filter_map(|w| {
            let text = one_line(&w.text);
            if text.is_empty() {
                return None;
            }
            let start = millis(w.start).clamp(last, cue_end);
            last = start;
            Some((start, w.text.starts_with(char::is_whitespace), text))
        })
        .collect();
    (!pieces.is_empty()).then_some(pieces)
}

/// The words joined into one line, `mark` applied to each word's text with its index.
fn line(pieces: &[(u64, bool, String)], mut mark: impl FnMut(usize, &str) -> String) -> String {
    let mut out = String::new();
    for (k, (_, space, text)) in pieces.iter().enumerate() {
        if k > 0 && *space {
            out.push(' ');
        }
        out.push_str(&mark(k, text));
    }
    out
}

pub(super) fn vtt(segments: &[Segment]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for (segment, (start, end, speaker, text)) in segments.iter().filter_map(with_cue) {
        let text = match pieces(segment, start, end) {
            // A cue's timestamps must lie strictly inside it and strictly increase.
            Some(pieces) => {
                let mut last = start;
                line(&pieces, |k, word| {
                    let at = pieces[k].0;
                    if k > 0 && at > last && at < end {
                        last = at;
                        format!("<{}>{}", clock(at, '.'), escape_vtt(word))
                    } else {
                        escape_vtt(word)
                    }
                })
            }
            None => escape_vtt(&text),
        };
        push_vtt_cue(&mut out, start, end, &speaker, text);
    }
    out
}

pub(super) fn srt(segments: &[Segment]) -> String {
    let mut out = String::new();
    let mut number = 0;
    for (segment, (start, end, speaker, text)) in segments.iter().filter_map(with_cue) {
        let prefix = if speaker.is_empty() {
            String::new()
        } else {
            format!("{speaker}: ")
        };
        let word_cues: Vec<(u64, u64, String)> = match pieces(segment, start, end) {
            Some(pieces) => (0..pieces.len())
                .map(|k| {
                    let from = pieces[k].0;
                    let to = pieces.get(k + 1).map_or(end, |p| p.0).max(from + 1);
                    let text = line(&pieces, |i, word| {
                        if i == k {
                            format!("<u>{word}</u>")
                        } else {
                            word.to_owned()
                        }
                    });
                    (from, to, text)
                })
                .collect(),
            None => vec![(start, end, text)],
        };
        for (from, to, text) in word_cues {
            number += 1;
            out.push_str(&format!(
                "{number}\n{} --> {}\n{prefix}{text}\n\n",
                clock(from, ','),
                clock(to, ',')
            ));
        }
    }
    if out.is_empty() {
        out.push('\n');
    }
    out
}

/// A cue as the plain formats make it: start and end (ms), one-line speaker and text.
type Cue = (u64, u64, String, String);

/// A segment with the cue the plain formats give it, if any.
fn with_cue(segment: &Segment) -> Option<(&Segment, Cue)> {
    let cue = cues(std::slice::from_ref(segment)).next()?;
    Some((segment, cue))
}
