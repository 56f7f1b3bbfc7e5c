//! Voice-activity detection: an energy detector with hysteresis that finds the stretches worth
//! transcribing, and the map from the concatenated speech back to the original audio's time.
//!
//! Frames of 30 ms are measured in dBFS. The noise floor is the 10th percentile of the frame
//! energies; speech starts on a frame above `floor + 10 dB` (kept between −60 and −35 dBFS) and
//! ends after one second below a threshold 6 dB lower (the hysteresis keeps quiet syllables and
//! short pauses inside a region). Regions shorter than 250 ms are dropped, the rest are padded by
//! 400 ms on each side and merged where they touch — faster-whisper's Silero defaults, with an
//! energy detector in place of the neural one. A region whose energy is steady (less than
//! [`MIN_REGION_SPREAD_DB`] between its 10th and 90th percentile frames: noise swelling past the
//! threshold, a fan, a held chord) is not speech and is dropped; loud sound that varies (music
//! with drums, typing) is kept, and the decoder's no-speech probability and the hallucination
//! gate (`gate`) handle it. A loud recording with no quiet stretch is one region.

/// One stretch of speech, in samples of the original audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeechRegion {
    /// First sample.
    pub start: usize,
    /// One past the last sample.
    pub end: usize,
}

const FRAME: usize = 480;
const MIN_SPEECH_FRAMES: usize = 8; // 240 ms
const MIN_SILENCE_FRAMES: usize = 34; // ~1 s
const PAD_SAMPLES: usize = 6400; // 400 ms

/// Samples per energy frame (30 ms at 16 kHz).
pub const FRAME_SAMPLES: usize = FRAME;

/// The smallest spread (90th − 10th percentile of its frame energies) of a speech region, dB.
/// Speech dips between syllables and words; noise that swells past the threshold, a fan or a
/// held chord does not. Measured: espeak-ng sentences 33–35 dB (with the room noise around
/// them), swells of pink room noise 5.5–7.7 dB, steady brown noise about 5 dB, chords 0.5–2 dB.
pub const MIN_REGION_SPREAD_DB: f32 = 12.0;

/// The energy of every 30-ms frame of 16 kHz `pcm`, in dBFS.
pub fn frame_energies(pcm: &[f32]) -> Vec<f32> {
    pcm.chunks(FRAME)
        .map(|f| {
            let power =
                f.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / f.len().max(1) as f64;
            (10.0 * (power + 1e-12).log10()) as f32
        })
        .collect()
}

/// The spread between the 10th and 90th percentile of `frames` (energies in dB).
pub fn spread_db(frames: &[f32]) -> f32 {
    if frames.is_empty() {
        return 0.0;
    }
    let mut sorted = frames.to_vec();
    sorted.sort_by(f32::total_cmp);
    let at = |q: usize| sorted[(sorted.len() - 1) * q / 10];
    at(9) - at(1)
}

/// Find the speech regions of 16 kHz `pcm`.
pub fn speech_regions(pcm: &[f32]) -> Vec<SpeechRegion> {
    regions_of(&frame_energies(pcm), pcm.len())
}

/// The speech regions of audio of `len` samples whose frame energies are `energies`.
pub fn regions_of(energies: &[f32], len: usize) -> Vec<SpeechRegion> {
    if energies.is_empty() {
        return Vec::new();
    }
    let mut sorted = energies.to_vec();
    sorted.sort_by(f32::total_cmp);
    let floor = sorted[sorted.len() / 10];
    let high = (floor + 10.0).clamp(-60.0, -35.0);
    let low = high - 6.0;

    // Hysteresis over frames.
    let mut frames: Vec<(usize, usize)> = Vec::new();
    let mut start: Option<usize> = None;
    let mut quiet = 0usize;
    for (i, &e) in energies.iter().enumerate() {
        match start {
            None if e > high => {
                start = Some(i);
                quiet = 0;
            }
            None => {}
            Some(s) => {
                if e < low {
                    quiet += 1;
                    if quiet >= MIN_SILENCE_FRAMES {
                        frames.push((s, i + 1 - quiet));
                        start = None;
                    }
                } else {
                    quiet = 0;
                }
            }
        }
    }
    if let Some(s) = start {
        frames.push((s, energies.len() - quiet));
    }

    let mut regions: Vec<SpeechRegion> = Vec::new();
    for (s, e) in frames {
        if e.saturating_sub(s) < MIN_SPEECH_FRAMES
            || spread_db(&energies[s..e]) < MIN_REGION_SPREAD_DB
        {
            continue;
        }
        let start = (s * FRAME).saturating_sub(PAD_SAMPLES);
        let end = (e * FRAME + PAD_SAMPLES).min(len);
        match regions.last_mut() {
            Some(prev) if start <= prev.end => prev.end = prev.end.max(end),
            _ => regions.push(SpeechRegion { start, end }),
        }
    }
    regions
}

/// How far before a seam a segment's start may land and still be taken to begin after it.
pub const SEAM_SNAP_SECS: f64 = 0.6;

/// Maps times in the concatenation of speech regions back to the original audio.
#[derive(Debug, Clone, Default)]
pub struct TimeMap {
    /// `(start in the concatenation, start in the original, length)`, in samples.
    pieces: Vec<(usize, usize, usize)>,
}

impl TimeMap {
    /// The identity map of audio of `len` samples.
    pub fn identity(len: usize) -> Self {
        Self {
            pieces: vec![(0, 0, len)],
        }
    }

    /// The concatenated speech of `pcm` and the map back.
    pub fn concatenate(pcm: &[f32], regions: &[SpeechRegion]) -> (Vec<f32>, Self) {
        let mut out = Vec::new();
        let mut pieces = Vec::with_capacity(regions.len());
        for r in regions {
            let Some(slice) = pcm.get(r.start..r.end) else {
                continue;
            };
            pieces.push((out.len(), r.start, slice.len()));
            out.extend_from_slice(slice);
        }
        (out, Self { pieces })
    }

    /// The original start of a segment spanning `start..end` seconds of the concatenation.
    /// Whisper's timestamps are 20 ms steps and a start often lands just before the seam of
    /// two regions, in the padded tail of the earlier one, when the words are all after it: a
    /// start within [`SEAM_SNAP_SECS`] before a seam the segment crosses moves to the seam, so the
    /// segment does not appear to begin during the silence the VAD removed.
    pub fn start_to_original(&self, start: f64, end: f64) -> f64 {
        let sr = crate::mel::SAMPLE_RATE as f64;
        let (s, e) = (start * sr, end * sr);
        for &(cat, _, len) in &self.pieces {
            let seam = (cat + len) as f64;
            if s < seam && seam - s <= SEAM_SNAP_SECS * sr && e > seam + SEAM_SNAP_SECS * sr {
                return self.to_original(seam / sr, false);
            }
        }
        self.to_original(start, false)
    }

    /// The original time of `t` seconds into the concatenation. An end time exactly on the seam
    /// of two regions belongs to the earlier one, a start time to the later one.
    pub fn to_original(&self, t: f64, is_end: bool) -> f64 {
        let sr = crate::mel::SAMPLE_RATE as f64;
        let s = (t * sr).max(0.0);
        let inside = |&&(cat, _, len): &&(usize, usize, usize)| {
            let (c, l) = (cat as f64, len as f64);
            if is_end {
                s > c && s <= c + l
            } else {
                s >= c && s < c + l
            }
        };
        let piece = self.pieces.iter().find(inside).or_else(|| {
            if s <= 0.0 {
                self.pieces.first()
            } else {
                self.pieces.last()
            }
        });
        match piece {
            Some(&(cat, orig, len)) => (orig as f64 + (s - cat as f64).clamp(0.0, len as f64)) / sr,
            None => t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(secs: f32) -> Vec<f32> {
        (0..(secs * 16000.0) as usize)
            .map(|i| 0.3 * (i as f32 * 0.05).sin())
            .collect()
    }

    /// Syllables: a loud tone 150 ms on, 150 ms off.
    fn syllables(secs: f32) -> Vec<f32> {
        tone(secs)
            .into_iter()
            .enumerate()
            .map(|(i, t)| if (i / 2400) % 2 == 0 { t } else { 0.0 })
            .collect()
    }

    #[test]
    fn silence_between_speech_is_skipped_and_times_map_back() {
        let mut pcm = syllables(2.0);
        pcm.extend(vec![0.0; 16000 * 5]);
        pcm.extend(syllables(3.0));
        let regions = speech_regions(&pcm);
        assert_eq!(regions.len(), 2, "{regions:?}");
        assert_eq!(regions[0].start, 0);
        assert!(
            (regions[1].start as f32 / 16000.0 - 6.6).abs() < 0.05,
            "{regions:?}"
        );
        let (cat, map) = TimeMap::concatenate(&pcm, &regions);
        assert!(cat.len() < pcm.len());
        // One second into the second piece is 8 s in the original.
        let second = regions[0].end - regions[0].start;
        let t = second as f64 / 16000.0 + 1.0;
        assert!(
            (map.to_original(t, false) - (regions[1].start as f64 / 16000.0 + 1.0)).abs() < 1e-6
        );
        // The seam: an end maps to the first region's end, a start to the second's start.
        let seam = second as f64 / 16000.0;
        assert!((map.to_original(seam, true) - regions[0].end as f64 / 16000.0).abs() < 1e-6);
        assert!((map.to_original(seam, false) - regions[1].start as f64 / 16000.0).abs() < 1e-6);
        // A segment starting 0.3 s before the seam whose words run past it starts at the
        // second region; one that ends before the seam keeps its start.
        let second_start = regions[1].start as f64 / 16000.0;
        assert!((map.start_to_original(seam - 0.3, seam + 2.0) - second_start).abs() < 1e-6);
        let early = map.start_to_original(seam - 0.3, seam - 0.1);
        assert!(early < regions[0].end as f64 / 16000.0, "{early}");
    }

    fn noise(secs: f32, state: &mut u32) -> Vec<f32> {
        (0..(secs * 16000.0) as usize)
            .map(|i| {
                *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let w = (*state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
                // About −51 dBFS, swelling by 14 dB with a 5-s period.
                let swell = 1.0 + 0.7 * (i as f32 / 16000.0 * 0.4 * std::f32::consts::PI).sin();
                0.005 * swell * w
            })
            .collect()
    }

    #[test]
    fn swelling_noise_is_not_speech_but_a_voice_over_it_is() {
        let mut state = 11u32;
        let mut pcm = noise(30.0, &mut state);
        assert!(
            speech_regions(&pcm).is_empty(),
            "{:?}",
            speech_regions(&pcm)
        );
        // Syllables: 150 ms of a loud tone every 300 ms, for 2 s.
        let at = pcm.len();
        let voice: Vec<f32> = noise(2.0, &mut state)
            .iter()
            .zip(tone(2.0))
            .enumerate()
            .map(|(i, (n, t))| if (i / 2400) % 2 == 0 { n + t } else { *n })
            .collect();
        pcm.extend(voice);
        pcm.extend(noise(10.0, &mut state));
        let regions = speech_regions(&pcm);
        assert_eq!(regions.len(), 1, "{regions:?}");
        assert!(
            regions[0].start <= at && regions[0].end >= at + 30000,
            "{regions:?}"
        );
        // A steady loud sound (a held chord) is not speech either.
        assert!(speech_regions(&tone(10.0)).is_empty());
    }

    #[test]
    fn silence_alone_has_no_speech_and_short_gaps_stay_inside() {
        assert!(speech_regions(&vec![0.0; 16000 * 3]).is_empty());
        assert!(speech_regions(&[]).is_empty());
        let mut pcm = tone(1.0);
        pcm.extend(vec![0.0; 8000]);
        pcm.extend(tone(1.0));
        assert_eq!(speech_regions(&pcm).len(), 1);
    }
}
