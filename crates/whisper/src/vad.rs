//! Voice-activity detection: an energy detector with hysteresis that finds the stretches worth
//! transcribing, and the map from the concatenated speech back to the original audio's time.
//!
//! Frames of 30 ms are measured in dBFS. The noise floor is the 10th percentile of the frame
//! energies; speech starts on a frame above `floor + 10 dB` (kept between −60 and −35 dBFS) and
//! ends after one second below a threshold 6 dB lower (the hysteresis keeps quiet syllables and
//! short pauses inside a region). Regions shorter than 250 ms are dropped, the rest are padded by
//! 400 ms on each side and merged where they touch — faster-whisper's Silero defaults, with an
//! energy detector in place of the neural one. Loud non-speech (music, noise) is kept: the
//! decoder's no-speech probability handles it. A recording with no quiet stretch is one region.

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

/// Find the speech regions of 16 kHz `pcm`.
pub fn speech_regions(pcm: &[f32]) -> Vec<SpeechRegion> {
    let energies: Vec<f32> = pcm
        .chunks(FRAME)
        .map(|f| {
            let power =
                f.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / f.len().max(1) as f64;
            (10.0 * (power + 1e-12).log10()) as f32
        })
        .collect();
    if energies.is_empty() {
        return Vec::new();
    }
    let mut sorted = energies.clone();
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
        if e.saturating_sub(s) < MIN_SPEECH_FRAMES {
            continue;
        }
        let start = (s * FRAME).saturating_sub(PAD_SAMPLES);
        let end = (e * FRAME + PAD_SAMPLES).min(pcm.len());
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

    #[test]
    fn silence_between_speech_is_skipped_and_times_map_back() {
        let mut pcm = tone(2.0);
        pcm.extend(vec![0.0; 16000 * 5]);
        pcm.extend(tone(3.0));
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
