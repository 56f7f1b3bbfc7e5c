//! The hallucination gate: what keeps invented text out of silence, noise and music.
//!
//! Whisper was trained on subtitles, and on audio with no speech it writes what subtitles say
//! there: "you", "Thank you.", "♪", ". .", "[Music]". Three layers keep that out of a
//! transcript, and a piece of text (one timestamp pair's worth) must pass all three:
//!
//! 1. **The voice-activity detector** (`vad`, on by default) cuts silence and quiet noise out
//!    before anything is decoded: digital silence, room noise below the speech threshold, and
//!    steady sound above it (a region whose frame energies spread less than 12 dB: a fan, noise
//!    swelling, a held chord) never reach the model.
//! 2. **Whisper's own rule** (`no_speech_threshold`, `logprob_threshold`): a window whose
//!    `<|nospeech|>` probability is above 0.6 *and* whose decoding is improbable (average
//!    log-probability below −1) is silence and skipped whole, as OpenAI's and faster-whisper's
//!    decoders do. The log-probability half keeps quiet or noisy speech that the model hesitated
//!    on; the temperature fallback before it retries a repetitive decoding (compression ratio
//!    above 2.4), which is how loops on noise are caught.
//! 3. **This gate**, on what is left:
//!    - a piece with no word in it — only punctuation, music notes or a bracketed sound
//!      annotation (`. .`, `♪`, `[Music]`, `(upbeat music)`) — is not speech and is dropped;
//!    - in a window the model judged to have no speech (`<|nospeech|>` above the threshold) but
//!      decoded confidently — the case rule 2 lets through, and where "you" is written on
//!      silence — a piece is kept only if the audio under it looks like speech to the energy
//!      detector: some 30-ms frame under it rises above the speech threshold, and the frames
//!      are not steady (the spread between their 10th and 90th percentile energies is at least
//!      [`MIN_SPREAD_DB`]; speech dips between syllables, a fan, a hum or a held chord do not).
//!
//! The energy check only ever runs where the model itself said "no speech", so speech in steady
//! noise — which the model hears as speech — is not affected by it. The gate runs after
//! decoding: the windows, prompts and tokens are faster-whisper's (the differential test holds
//! them), only the segments that come out differ. Dropped pieces are kept out of the
//! previous-text prompt too.

use crate::vad::{FRAME_SAMPLES, SpeechRegion, frame_energies, regions_of, spread_db};

/// The smallest spread (90th − 10th percentile of 30-ms frame energies, dB) under a piece of
/// speech. Measured on test audio: espeak-ng speech 20–40 dB alone and about 25 dB over a fan
/// 8 dB below it; steady brown noise (a fan) 5 dB, pink room noise 4–9 dB, held chords and a
/// melody 0.5–2 dB.
pub const MIN_SPREAD_DB: f32 = 6.0;

/// The energy picture of the original audio, for judging pieces the model called silent.
#[derive(Debug)]
pub(crate) struct Gate {
    energies: Vec<f32>,
    regions: Vec<SpeechRegion>,
    no_speech_threshold: Option<f32>,
}

/// Why a piece was dropped (for the trace and the tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dropped {
    /// No letter or digit outside brackets.
    NoWords,
    /// The model said no speech, and there is no speech-like sound under the piece.
    NoSpeechUnder,
}

impl Gate {
    /// Measure 16 kHz `pcm` (the original audio, before any VAD cut).
    pub(crate) fn new(pcm: &[f32], no_speech_threshold: Option<f32>) -> Self {
        let energies = frame_energies(pcm);
        let regions = regions_of(&energies, pcm.len());
        Self {
            energies,
            regions,
            no_speech_threshold,
        }
    }

    /// Whether the piece `text` at `start..end` seconds of the original audio, from a window
    /// whose `<|nospeech|>` probability was `no_speech_prob`, is kept.
    pub(crate) fn check(
        &self,
        text: &str,
        start: f64,
        end: f64,
        no_speech_prob: f32,
    ) -> Result<(), Dropped> {
        if !has_words(text) {
            return Err(Dropped::NoWords);
        }
        let judged_silent = self.no_speech_threshold.is_some_and(|t| no_speech_prob > t);
        if judged_silent && !self.speech_like(start, end) {
            return Err(Dropped::NoSpeechUnder);
        }
        Ok(())
    }

    /// Whether `start..end` seconds hold speech-like sound: inside a speech region, and not
    /// steady.
    fn speech_like(&self, start: f64, end: f64) -> bool {
        let sr = crate::mel::SAMPLE_RATE as f64;
        let (s, e) = ((start * sr).max(0.0) as usize, (end * sr).max(0.0) as usize);
        let e = e.max(s + 1);
        if !self.regions.iter().any(|r| r.start < e && s < r.end) {
            return false;
        }
        let first = s / FRAME_SAMPLES;
        let last = e.div_ceil(FRAME_SAMPLES).min(self.energies.len());
        let Some(frames) = self.energies.get(first..last).filter(|f| !f.is_empty()) else {
            return false;
        };
        spread_db(frames) >= MIN_SPREAD_DB
    }
}

/// Whether `text` has a word: a letter or digit outside `[…]`, `(…)` and `*…*` (Whisper writes
/// sounds as `[Music]`, `(upbeat music)`, `*sighs*`).
pub(crate) fn has_words(text: &str) -> bool {
    let mut depth = 0usize;
    let mut starred = false;
    for c in text.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            '*' => starred = !starred,
            c if c.is_alphanumeric() && depth == 0 && !starred => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::lcg;

    #[test]
    fn words_are_letters_or_digits_outside_sound_annotations() {
        for text in [
            "you",
            "Thank you.",
            "42",
            "Grüße",
            "東京",
            "a (b)",
            "[x] yes",
        ] {
            assert!(has_words(text), "{text}");
        }
        for text in [
            "",
            ". .",
            "...",
            "♪",
            "♪ ♪",
            "[Music]",
            "(upbeat music)",
            "*sighs*",
            "- -",
            "[BLANK_AUDIO]",
        ] {
            assert!(!has_words(text), "{text}");
        }
    }

    #[test]
    fn steady_sound_is_not_speech_like_and_bursty_sound_is() {
        let sr = 16_000usize;
        let mut state = 7;
        // A loud steady hiss: above the speech threshold, but steady.
        let hiss: Vec<f32> = (0..sr * 5).map(|_| 0.1 * lcg(&mut state)).collect();
        let gate = Gate::new(&hiss, Some(0.6));
        assert_eq!(
            gate.check("you", 1.0, 4.0, 0.9),
            Err(Dropped::NoSpeechUnder)
        );
        // Where the model hears speech, the energy is not consulted.
        assert_eq!(gate.check("you", 1.0, 4.0, 0.1), Ok(()));
        assert_eq!(gate.check(". .", 1.0, 4.0, 0.1), Err(Dropped::NoWords));
        // Bursts of 150 ms every 300 ms: the spread of a syllable rhythm.
        let bursts: Vec<f32> = (0..sr * 5)
            .map(|i| {
                let on = (i / 2400) % 2 == 0;
                (if on { 0.2 } else { 0.002 }) * lcg(&mut state)
            })
            .collect();
        let gate = Gate::new(&bursts, Some(0.6));
        assert_eq!(gate.check("you", 1.0, 4.0, 0.9), Ok(()));
        // Digital silence has no region at all.
        let gate = Gate::new(&vec![0.0; sr * 5], Some(0.6));
        assert_eq!(
            gate.check("you", 0.0, 5.0, 0.9),
            Err(Dropped::NoSpeechUnder)
        );
        // Without a no-speech threshold only the word rule applies.
        let gate = Gate::new(&vec![0.0; sr * 5], None);
        assert_eq!(gate.check("you", 0.0, 5.0, 0.9), Ok(()));
    }
}
