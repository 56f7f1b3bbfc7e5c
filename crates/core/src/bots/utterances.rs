//! Finished utterances in a track's audio as it arrives, for live transcription. An energy
//! detector (30-ms frames in dBFS against the track's recent noise floor, with hysteresis, as
//! the engine's own VAD) ends an utterance at a pause; a long unbroken stretch is cut at its
//! quietest point once it reaches [`MAX_SECS`], so no utterance waits longer than that. An
//! utterance, once emitted, is final: this is what makes the live text a stable prefix.
//! Pure and synchronous, bounded memory: `live.rs` feeds it chunks and transcribes what it
//! emits.

use std::collections::VecDeque;

use meetvault_whisper::{FRAME_SAMPLES as FRAME, MIN_REGION_SPREAD_DB, frame_energies, spread_db};

/// Samples per second (16 kHz mono).
pub(crate) const RATE: usize = 16_000;
/// Quiet this long after speech ends an utterance (600 ms).
const PAUSE_FRAMES: usize = 20;
/// Kept before the first loud frame (300 ms) and after the last one (240 ms).
const PRE_ROLL_FRAMES: usize = 10;
const POST_PAD_FRAMES: usize = 8;
/// Fewer loud frames than this (240 ms) is a click, not speech.
const MIN_SPEECH_FRAMES: usize = 8;
/// The longest utterance, in seconds; a longer stretch is cut at its quietest point, at least
/// half of it in. It bounds the wait of a sentence said without a pause after it (someone who
/// talks on): 12 s put live segments 7–11 s behind the speech (median, `bench/bots.sh`), 6 s
/// keeps them within the 10 s promised, and the cut lands between sentences, where the
/// quietest point of 3–6 s of speech usually is.
pub(crate) const MAX_SECS: usize = 6;
const MAX_FRAMES: usize = MAX_SECS * RATE / FRAME;
const MIN_CUT_FRAMES: usize = MAX_FRAMES / 2;
/// Missing audio up to this long (2 s) is silence; a longer gap ends what was being said.
const MAX_GAP_SAMPLES: i64 = 2 * RATE as i64;
/// Frames the noise floor is measured over (30 s).
const FLOOR_FRAMES: usize = 1000;

/// A finished utterance: its first sample's time (ms on the track's clock) and its audio.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Utterance {
    pub start_ms: i64,
    pub pcm: Vec<f32>,
}

#[derive(Debug, Clone, Copy)]
struct Speech {
    /// First frame of the utterance (pre-roll included), in `buf`'s frames.
    first: usize,
    last_loud: usize,
    loud: usize,
}

/// A track's utterance finder.
#[derive(Debug, Default)]
pub(crate) struct Segmenter {
    /// Audio not yet emitted or dropped; `buf[0]` is sample `start` of the track's clock.
    buf: Vec<f32>,
    start: i64,
    /// One energy per complete frame of `buf`.
    energies: Vec<f32>,
    /// Recent frame energies, for the noise floor.
    history: VecDeque<f32>,
    speech: Option<Speech>,
    started: bool,
}

impl Segmenter {
    /// Adds a chunk of s16le PCM that starts `start_ms` into the track; returns the utterances
    /// it finished. Audio that overlaps what was already heard is skipped.
    pub(crate) fn push(&mut self, start_ms: i64, pcm: &[u8]) -> Vec<Utterance> {
        let mut out = Vec::new();
        let at = start_ms.saturating_mul(RATE as i64) / 1000;
        let end = self.start + self.buf.len() as i64;
        if !self.started {
            self.started = true;
            self.start = at;
        } else if at > end {
            if at - end > MAX_GAP_SAMPLES {
                out.extend(self.flush());
                self.start = at;
            } else {
                self.buf.resize(self.buf.len() + (at - end) as usize, 0.0);
            }
        }
        let end = self.start + self.buf.len() as i64;
        let skip = usize::try_from(end - at).unwrap_or(0);
        self.buf.extend(
            pcm.chunks_exact(2)
                .skip(skip)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0),
        );
        self.scan(&mut out);
        out
    }

    /// Ends whatever is being said (the track went quiet, or ends) and returns it.
    pub(crate) fn flush(&mut self) -> Vec<Utterance> {
        let mut out = Vec::new();
        if let Some(sp) = self.speech.take() {
            let end = (sp.last_loud + 1 + POST_PAD_FRAMES).min(self.energies.len());
            self.emit(sp, end, &mut out);
        }
        self.start += self.buf.len() as i64;
        self.buf.clear();
        self.energies.clear();
        out
    }

    /// Audio held, in samples (bounded: an utterance of at most `MAX_SECS`, plus a chunk).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.buf.len()
    }

    fn scan(&mut self, out: &mut Vec<Utterance>) {
        let done = self.energies.len();
        let frames = self.buf.len() / FRAME;
        if frames > done {
            for e in frame_energies(&self.buf[done * FRAME..frames * FRAME]) {
                self.energies.push(e);
                if self.history.len() == FLOOR_FRAMES {
                    self.history.pop_front();
                }
                self.history.push_back(e);
            }
        }
        let mut sorted: Vec<f32> = self.history.iter().copied().collect();
        sorted.sort_by(f32::total_cmp);
        let floor = sorted.get(sorted.len() / 10).copied().unwrap_or(-120.0);
        let high = (floor + 10.0).clamp(-60.0, -35.0);
        let low = high - 6.0;
        // Nothing emitted may be heard twice: a pre-roll starts after the last emission.
        let mut emitted_to = 0;
        for i in done..frames {
            let e = self.energies[i];
            match self.speech {
                None => {
                    if e > high {
                        self.speech = Some(Speech {
                            first: i.saturating_sub(PRE_ROLL_FRAMES).max(emitted_to),
                            last_loud: i,
                            loud: 1,
                        });
                    }
                }
                Some(mut sp) => {
                    if e > low {
                        sp.last_loud = i;
                        sp.loud += 1;
                    }
                    if i - sp.last_loud >= PAUSE_FRAMES {
                        let end = sp.last_loud + 1 + POST_PAD_FRAMES;
                        self.emit(sp, end, out);
                        emitted_to = end;
                        self.speech = None;
                    } else if i + 1 - sp.first >= MAX_FRAMES {
                        let cut = self.quietest(sp.first + MIN_CUT_FRAMES, i + 1);
                        self.emit(sp, cut, out);
                        emitted_to = cut;
                        let loud = self.energies[cut..=i].iter().filter(|&&e| e > low).count();
                        self.speech = Some(Speech {
                            first: cut,
                            last_loud: i,
                            loud,
                        });
                    } else {
                        self.speech = Some(sp);
                    }
                }
            }
        }
        // Keep what is being said, or a pre-roll's worth of the quiet.
        let keep_from = match self.speech {
            Some(sp) => sp.first,
            None => frames.saturating_sub(PRE_ROLL_FRAMES).max(emitted_to),
        };
        self.buf.drain(..keep_from * FRAME);
        self.energies.drain(..keep_from);
        self.start += (keep_from * FRAME) as i64;
        if let Some(sp) = &mut self.speech {
            sp.first -= keep_from;
            sp.last_loud -= keep_from;
        }
    }

    /// The middle of the quietest 300 ms between frames `from` and `to` (or `to` when the
    /// range is too short to choose).
    fn quietest(&self, from: usize, to: usize) -> usize {
        const WIDTH: usize = 10;
        if to < from + WIDTH {
            return to;
        }
        (from..=to - WIDTH)
            .min_by(|&a, &b| {
                let sum = |s: usize| self.energies[s..s + WIDTH].iter().sum::<f32>();
                sum(a).total_cmp(&sum(b))
            })
            .map_or(to, |s| s + WIDTH / 2)
    }

    /// Emits frames `sp.first..end` if they sound like speech.
    fn emit(&self, sp: Speech, end: usize, out: &mut Vec<Utterance>) {
        let end = end.min(self.energies.len());
        if end <= sp.first
            || sp.loud < MIN_SPEECH_FRAMES
            // Speech dips between syllables; a fan or a held tone does not.
            || spread_db(&self.energies[sp.first..end]) < MIN_REGION_SPREAD_DB
        {
            return;
        }
        out.push(Utterance {
            start_ms: (self.start + (sp.first * FRAME) as i64) * 1000 / RATE as i64,
            pcm: self.buf[sp.first * FRAME..end * FRAME].to_vec(),
        });
    }
}

/// Several utterances of one track joined for one inference (a track that spoke again while
/// its last utterance waited for the engine), with the map from the joined audio's time back
/// to the track's.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub pcm: Vec<f32>,
    /// (start in `pcm`, start on the track in ms, length), in samples.
    pieces: Vec<(usize, i64, usize)>,
}

/// Silence between two joined utterances (0.5 s): Whisper ends a segment there.
const JOIN_GAP: usize = RATE / 2;
/// The most audio one batch takes (under Whisper's 30-second window).
pub(crate) const BATCH_MAX_SAMPLES: usize = 25 * RATE;

impl Batch {
    /// Takes utterances from the front of `queue` while they fit one window (at least one).
    pub(crate) fn take(queue: &mut VecDeque<Utterance>) -> Self {
        let mut batch = Self::default();
        while let Some(u) = queue.front() {
            let gap = if batch.pcm.is_empty() { 0 } else { JOIN_GAP };
            if !batch.pcm.is_empty() && batch.pcm.len() + gap + u.pcm.len() > BATCH_MAX_SAMPLES {
                break;
            }
            let Some(u) = queue.pop_front() else { break };
            batch.pcm.resize(batch.pcm.len() + gap, 0.0);
            batch
                .pieces
                .push((batch.pcm.len(), u.start_ms, u.pcm.len()));
            batch.pcm.extend_from_slice(&u.pcm);
        }
        batch
    }

    /// A time in the joined audio (seconds) on the track's clock (ms); a time in a gap goes to
    /// the next utterance's start, or the previous one's end for an `end`.
    pub(crate) fn to_track_ms(&self, secs: f64, is_end: bool) -> i64 {
        let at = (secs.max(0.0) * RATE as f64) as usize;
        let ms = |samples: usize| (samples * 1000 / RATE) as i64;
        let mut prev_end = None;
        for &(from, start_ms, len) in &self.pieces {
            if at < from {
                return match (is_end, prev_end) {
                    (true, Some(end)) => end,
                    _ => start_ms,
                };
            }
            if at <= from + len {
                return start_ms + ms(at - from);
            }
            prev_end = Some(start_ms + ms(len));
        }
        prev_end.unwrap_or(0)
    }
}

/// A stretch of text heard in one request's audio: seconds from its start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Piece {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// Words of a transcript of several requests' audio joined in turn (request `i` spanning
/// `spans[i]` seconds of the joined audio), given back to the request each was said in (its
/// middle's, or the nearest one's): consecutive words of one segment stay one piece unless a
/// pause of [`WORD_GAP_SECS`] parts them (the utterances one request joined).
pub(crate) fn assign_words(
    spans: &[(f64, f64)],
    segments: &[meetvault_whisper::Segment],
) -> Vec<Vec<Piece>> {
    let mut out: Vec<Vec<(usize, Piece)>> = vec![Vec::new(); spans.len()];
    for (si, seg) in segments.iter().enumerate() {
        for w in &seg.words {
            let mid = (w.start + w.end) / 2.0;
            let distance = |&(from, to): &(f64, f64)| (from - mid).max(mid - to).max(0.0);
            let Some(i) = (0..spans.len())
                .min_by(|&a, &b| distance(&spans[a]).total_cmp(&distance(&spans[b])))
            else {
                continue;
            };
            let (from, to) = spans[i];
            let (start, end) = (
                (w.start.clamp(from, to) - from),
                (w.end.clamp(from, to) - from),
            );
            match out[i].last_mut() {
                Some((s, p)) if *s == si && start - p.end < WORD_GAP_SECS => {
                    p.end = end.max(p.end);
                    p.text.push_str(&w.text);
                }
                _ => out[i].push((
                    si,
                    Piece {
                        start,
                        end,
                        text: w.text.clone(),
                    },
                )),
            }
        }
    }
    out.into_iter()
        .map(|pieces| {
            pieces
                .into_iter()
                .map(|(_, mut p)| {
                    p.text = p.text.trim().to_owned();
                    p
                })
                .filter(|p| !p.text.is_empty())
                .collect()
        })
        .collect()
}

/// A pause between two words that parts them into two pieces (under [`JOIN_GAP`]).
pub(crate) const WORD_GAP_SECS: f64 = 0.4;

#[cfg(test)]
mod tests {
    use super::*;

    /// Speech-like sound: a tone whose loudness moves like syllables (150 ms loud, 60 ms soft).
    fn talk(secs: f32) -> Vec<f32> {
        let n = (secs * RATE as f32) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / RATE as f32;
                let syllable = i % (RATE * 21 / 100) < RATE * 15 / 100;
                let amp = if syllable { 0.3 } else { 0.01 };
                amp * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
            })
            .collect()
    }

    fn quiet(secs: f32) -> Vec<f32> {
        vec![0.0; (secs * RATE as f32) as usize]
    }

    fn s16(pcm: &[f32]) -> Vec<u8> {
        pcm.iter()
            .flat_map(|&x| ((x * 32767.0) as i16).to_le_bytes())
            .collect()
    }

    /// Feeds `audio` in 2-second chunks; returns every utterance, flushed at the end.
    fn run(audio: &[f32]) -> (Vec<Utterance>, usize) {
        let mut seg = Segmenter::default();
        let mut out = Vec::new();
        let mut held = 0;
        for (i, chunk) in audio.chunks(2 * RATE).enumerate() {
            out.extend(seg.push(i as i64 * 2000, &s16(chunk)));
            held = held.max(seg.held());
        }
        out.extend(seg.flush());
        (out, held)
    }

    #[test]
    fn silence_makes_no_utterance_and_is_not_kept() {
        let (out, held) = run(&quiet(60.0));
        assert!(out.is_empty());
        assert!(held <= 2 * RATE + PRE_ROLL_FRAMES * FRAME, "{held}");
    }

    #[test]
    fn utterances_end_at_pauses_with_their_start_times() {
        let mut audio = quiet(1.0);
        audio.extend(talk(3.0));
        audio.extend(quiet(1.5));
        audio.extend(talk(2.0));
        audio.extend(quiet(3.0));
        let (out, _) = run(&audio);
        assert_eq!(
            out.len(),
            2,
            "{:?}",
            out.iter().map(|u| u.start_ms).collect::<Vec<_>>()
        );
        assert!((out[0].start_ms - 700).abs() <= 60, "{}", out[0].start_ms);
        assert!((out[1].start_ms - 5200).abs() <= 60, "{}", out[1].start_ms);
        let secs = |u: &Utterance| u.pcm.len() as f32 / RATE as f32;
        assert!((secs(&out[0]) - 3.55).abs() < 0.1, "{}", secs(&out[0]));
        assert!((secs(&out[1]) - 2.55).abs() < 0.1, "{}", secs(&out[1]));
    }

    #[test]
    fn a_long_stretch_is_cut_so_no_utterance_exceeds_the_maximum() {
        let (out, held) = run(&talk(40.0));
        assert!(out.len() >= 4, "{}", out.len());
        let mut covered = 0;
        for u in &out {
            assert!(u.pcm.len() <= MAX_SECS * RATE, "{}", u.pcm.len());
            assert_eq!(u.start_ms, covered as i64 * 1000 / RATE as i64);
            covered += u.pcm.len();
        }
        assert!(covered >= 39 * RATE, "{covered}");
        assert!(held <= (MAX_SECS + 2) * RATE, "{held}");
    }

    #[test]
    fn a_long_gap_ends_the_utterance_and_a_repeated_chunk_is_skipped() {
        let mut seg = Segmenter::default();
        let chunk = s16(&talk(2.0));
        assert!(seg.push(0, &chunk).is_empty());
        assert!(seg.push(0, &chunk).is_empty(), "heard twice");
        let out = seg.push(10_000, &s16(&quiet(2.0)));
        assert_eq!(out.len(), 1);
        assert!(out[0].pcm.len() <= 2 * RATE + POST_PAD_FRAMES * FRAME);
    }

    #[test]
    fn words_of_a_joined_transcript_go_back_to_their_requests() {
        let word = |text: &str, start: f64, end: f64| meetvault_whisper::Word {
            text: text.into(),
            start,
            end,
            probability: 0.9,
        };
        let segment = |words: Vec<meetvault_whisper::Word>| meetvault_whisper::Segment {
            start: words[0].start,
            end: words[words.len() - 1].end,
            text: words.iter().map(|w| w.text.as_str()).collect(),
            avg_logprob: -0.2,
            no_speech_prob: 0.01,
            language: "en".into(),
            words,
        };
        // Request 0: 0–3 s (two utterances, 0.5 s apart inside it); request 1: 4–6 s.
        let segments = [
            segment(vec![word(" Hello", 0.1, 0.5), word(" there.", 0.5, 1.0)]),
            segment(vec![
                word(" Again", 1.6, 2.0),
                word(" now.", 2.0, 2.9),
                // The engine runs one segment across the gap between requests.
                word(" Bob", 3.95, 4.4),
                word(" speaks.", 4.4, 5.0),
            ]),
        ];
        let out = assign_words(&[(0.0, 3.0), (4.0, 6.0)], &segments);
        let texts: Vec<Vec<&str>> = out
            .iter()
            .map(|p| p.iter().map(|p| p.text.as_str()).collect())
            .collect();
        assert_eq!(
            texts,
            [vec!["Hello there.", "Again now."], vec!["Bob speaks."]]
        );
        assert_eq!(out[1][0].start, 0.0, "clamped to its request");
        assert!((out[1][0].end - 1.0).abs() < 1e-9);
        assert!((out[0][1].start - 1.6).abs() < 1e-9);
    }

    #[test]
    fn a_batch_maps_its_times_back_to_the_track() {
        let mut queue: VecDeque<Utterance> = [
            Utterance {
                start_ms: 1000,
                pcm: vec![0.1; 2 * RATE],
            },
            Utterance {
                start_ms: 9000,
                pcm: vec![0.1; RATE],
            },
            Utterance {
                start_ms: 20_000,
                pcm: vec![0.1; 24 * RATE],
            },
        ]
        .into();
        let b = Batch::take(&mut queue);
        assert_eq!(queue.len(), 1, "the third does not fit");
        assert_eq!(b.pcm.len(), 3 * RATE + JOIN_GAP);
        assert_eq!(b.to_track_ms(0.5, false), 1500);
        assert_eq!(
            b.to_track_ms(2.2, false),
            9000,
            "in the gap: the next start"
        );
        assert_eq!(b.to_track_ms(2.2, true), 3000, "in the gap: the last end");
        assert_eq!(b.to_track_ms(3.0, false), 9500);
        assert_eq!(b.to_track_ms(99.0, true), 10_000);
        let b = Batch::take(&mut queue);
        assert_eq!(
            b.pcm.len(),
            24 * RATE,
            "one too long for a batch still goes alone"
        );
    }
}
