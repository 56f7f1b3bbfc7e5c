//! One remote audio track on the Rust side: its runs of 48 kHz PCM become 16 kHz chunks on
//! the capture's timeline. Its frame timestamps say where the playout clock skipped (filled
//! with silence to keep the timeline); WebRTC's own count of what it decoded says how much
//! audio the capture lost.

use meetvault_audio::Resampler;
use serde::Serialize;

use super::{AudioChunk, TrackKey};

/// Output rate of every chunk, in Hz.
pub const OUTPUT_RATE: u32 = meetvault_audio::SAMPLE_RATE;

/// A run whose first timestamp is further than this from where the previous run ended is a
/// discontinuity (µs): Chromium's frame timestamps jitter by up to ~5 ms, and one lost 10 ms
/// frame moves them by 10.
const JUMP_US: f64 = 7500.0;

/// Runs (~100 ms each) over which the clock offset's minimum is taken, at the start and at
/// the end: a late-stamped frame or two must not count as loss.
const OFFSET_WINDOW: usize = 10;

/// One frame (µs): lost audio is filled with silence a whole frame at a time.
const FRAME_US: f64 = 10_000.0;

/// Readings of the decoder (one a second) over which the capture's backlog's minimum is
/// taken, at the start and at the end.
const DECODER_WINDOW: usize = 3;

/// What a track delivered, at its source rate.
///
/// **Loss** is audio WebRTC decoded for the track that the capture never read. Once a second
/// the page reads the receiver's stats (`totalSamplesDuration`) next to what it has read from
/// the track so far; their difference is the capture's *backlog* (frames waiting in the
/// processor, and any it dropped). The loss is the smallest backlog of the last readings minus
/// the smallest of the first, so frames in flight cancel out.
///
/// **Gaps** are where the frame timestamps jump. Each run's *offset* is its first timestamp
/// minus the duration of the samples received before it: constant while the playout clock
/// ticks on time (up to jitter), moved forward where it skipped. A starved audio thread skips
/// ticks (Chromium's fake audio output does when it wakes a whole buffer late): no audio is
/// lost then — WebRTC keeps it and plays it later, time-compressed — but the track is late
/// by that much, so the gap is filled with silence to keep it on the capture's timeline. The
/// gap is the smallest offset of the last runs minus the smallest of the first, so jitter
/// (and Chromium's oddly stamped first frame) cancels out.
///
/// A track too short to compare decoder readings (under ~4 s) counts its gaps as loss (an
/// upper bound).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TrackStats {
    /// Samples the track should have delivered: received plus lost.
    pub samples_expected: u64,
    /// Samples actually received.
    pub samples_received: u64,
    /// Silence filled in where the playout clock skipped (not lost: see above).
    pub gap_samples: u64,
    /// Audio WebRTC concealed (made up, not silence) for packets that never came or came too
    /// late: lost in the network, before the bot.
    pub samples_concealed: u64,
    /// Whether the loss comes from WebRTC's decoder stats (else from the timestamps).
    pub decoder_measured: bool,
    /// Times the timestamps jumped (forward or back, past jitter) between runs, or the
    /// rate changed.
    pub discontinuities: u64,
    /// The source rate (Hz) the counts are in.
    pub source_rate: u32,
}

impl TrackStats {
    /// The share of audio lost, in percent (0 when nothing was expected).
    pub fn loss_percent(&self) -> f64 {
        if self.samples_expected == 0 {
            return 0.0;
        }
        let lost = self.samples_expected.saturating_sub(self.samples_received);
        100.0 * lost as f64 / self.samples_expected as f64
    }
}

/// How far a value that should stay constant rose from the start: the smallest of its last
/// `window` values minus the smallest of its first `window` (never below zero), so a single
/// late or early value cancels out.
#[derive(Debug)]
struct Rise {
    window: usize,
    first: Vec<f64>,
    last: std::collections::VecDeque<f64>,
    seen: usize,
}

impl Rise {
    fn new(window: usize) -> Self {
        Rise {
            window,
            first: Vec::with_capacity(window),
            last: std::collections::VecDeque::with_capacity(window),
            seen: 0,
        }
    }

    fn push(&mut self, value: f64) {
        if self.first.len() < self.window {
            self.first.push(value);
        }
        if self.last.len() == self.window {
            self.last.pop_front();
        }
        self.last.push_back(value);
        self.seen += 1;
    }

    /// The rise so far (0 before any value).
    fn rise(&self) -> f64 {
        let lowest =
            |values: &mut dyn Iterator<Item = &f64>| values.copied().fold(f64::INFINITY, f64::min);
        if self.seen == 0 {
            return 0.0;
        }
        (lowest(&mut self.last.iter()) - lowest(&mut self.first.iter())).max(0.0)
    }

    /// Whether the last values are past the first ones (the rise compares two windows).
    fn compares(&self) -> bool {
        self.seen > self.window
    }
}

/// One reading of the receiver's stats, next to what the page had read by then.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DecoderReading {
    /// Duration of the audio read from the track so far (µs).
    pub read_us: f64,
    /// Duration of the audio WebRTC decoded for it so far (µs).
    pub decoded_us: f64,
    /// Samples WebRTC decoded so far (gives its rate, with `decoded_us`).
    pub decoded_samples: f64,
    /// Samples it concealed so far (silence excluded).
    pub concealed_samples: f64,
}

/// One run of PCM as the page sent it.
#[derive(Debug)]
pub(crate) struct Run<'a> {
    /// The first frame's timestamp, in µs (the page's media clock).
    pub ts_us: f64,
    /// Its sample rate.
    pub rate: u32,
    /// Mono samples.
    pub pcm: &'a [i16],
}

#[derive(Debug)]
pub(crate) struct Track {
    key: TrackKey,
    resampler: Option<Resampler>,
    rate: u32,
    /// Duration of the samples received so far (µs).
    received_us: f64,
    /// Silence inserted for lost audio so far (µs).
    filled_us: f64,
    next_ts_us: f64,
    /// Each run's offset (µs): its rise is the timeline's gap.
    offsets: Rise,
    /// Where the current run starts on the capture's timeline (ms), and what it has output.
    run_start_ms: f64,
    run_out: u64,
    stats: TrackStats,
    /// What the timestamps say went missing (µs).
    gap_us: f64,
    /// The capture's backlog behind the decoder (µs) at each reading: its rise is the loss.
    backlogs: Rise,
    /// Concealed audio at the first reading and the latest (µs).
    concealed_us: Option<(f64, f64)>,
    scratch: Vec<f32>,
}

impl Track {
    pub(crate) fn new(key: TrackKey, offset_ms: f64) -> Track {
        Track {
            key,
            resampler: None,
            rate: 0,
            received_us: 0.0,
            filled_us: 0.0,
            next_ts_us: 0.0,
            offsets: Rise::new(OFFSET_WINDOW),
            run_start_ms: offset_ms,
            run_out: 0,
            stats: TrackStats::default(),
            gap_us: 0.0,
            backlogs: Rise::new(DECODER_WINDOW),
            concealed_us: None,
            scratch: Vec::new(),
        }
    }

    pub(crate) fn stats(&self) -> TrackStats {
        let mut stats = self.stats;
        let to_samples = |us: f64| (us.max(0.0) * f64::from(self.rate) / 1e6).round() as u64;
        stats.gap_samples = to_samples(self.gap_us);
        stats.decoder_measured = self.backlogs.compares();
        let lost_us = if stats.decoder_measured {
            self.backlogs.rise()
        } else {
            self.gap_us
        };
        stats.samples_expected = stats.samples_received + to_samples(lost_us);
        if let Some((first, last)) = self.concealed_us {
            stats.samples_concealed = to_samples(last - first);
        }
        stats
    }

    /// Takes one reading of the receiver's stats. Readings that make no sense (not finite,
    /// negative, decoding nothing) are ignored.
    pub(crate) fn observe(&mut self, reading: DecoderReading) {
        let DecoderReading {
            read_us,
            decoded_us,
            decoded_samples,
            concealed_samples,
        } = reading;
        let sane = |v: f64| v.is_finite() && v >= 0.0;
        if !(sane(read_us) && sane(decoded_us) && sane(decoded_samples) && sane(concealed_samples))
            || decoded_us <= 0.0
            || decoded_samples <= 0.0
        {
            return;
        }
        self.backlogs.push(decoded_us - read_us);
        let concealed = concealed_samples / (decoded_samples / decoded_us);
        let first = self.concealed_us.map_or(concealed, |(first, _)| first);
        self.concealed_us = Some((first, concealed));
    }

    /// Takes one run; returns the 16 kHz chunks now ready.
    ///
    /// Samples are laid end to end: timestamps jitter, so they only detect loss (through the
    /// offsets), and what was lost is filled with silence (whole 10 ms frames) to keep the
    /// track on the capture's timeline — late by up to the offset window when it happens.
    pub(crate) fn push(&mut self, run: Run<'_>) -> Vec<AudioChunk> {
        let mut chunks = Vec::new();
        if self.resampler.is_none() || run.rate != self.rate {
            if self.resampler.is_some() {
                // A new rate: the stretch so far ends, the next goes on where it ended.
                self.stats.discontinuities += 1;
                chunks.extend(self.finish_run());
                self.run_start_ms += self.run_out as f64 * 1000.0 / f64::from(OUTPUT_RATE);
            }
            self.rate = run.rate;
            self.stats.source_rate = run.rate;
            self.resampler = Some(Resampler::new(run.rate, OUTPUT_RATE));
            self.run_out = 0;
        } else if (run.ts_us - self.next_ts_us).abs() > JUMP_US {
            self.stats.discontinuities += 1;
        }
        let rate = f64::from(run.rate);
        self.offsets.push(run.ts_us - self.received_us);
        let lost_us = self.offsets.rise();

        self.scratch.clear();
        let missing_us = lost_us - self.filled_us;
        if missing_us >= FRAME_US {
            let silence = (missing_us * rate / 1e6).round() as usize;
            self.scratch.resize(silence, 0.0);
            self.filled_us += silence as f64 * 1e6 / rate;
        }
        self.scratch
            .extend(run.pcm.iter().map(|s| f32::from(*s) / 32768.0));
        let mut out = Vec::with_capacity(self.scratch.len() / 2 + 16);
        if let Some(resampler) = &mut self.resampler {
            resampler.process(&self.scratch, &mut out);
        }
        chunks.extend(self.chunk(&out));

        let n = run.pcm.len() as u64;
        self.stats.samples_received += n;
        self.received_us += n as f64 * 1e6 / rate;
        self.next_ts_us = run.ts_us + n as f64 * 1e6 / rate;
        self.gap_us = lost_us;
        chunks
    }

    /// Ends the track: the resampler's tail, if any.
    pub(crate) fn finish(&mut self) -> Option<AudioChunk> {
        self.finish_run()
    }

    fn finish_run(&mut self) -> Option<AudioChunk> {
        let mut resampler = self.resampler.take()?;
        let mut out = Vec::new();
        resampler.finish(&mut out);
        self.chunk(&out)
    }

    fn chunk(&mut self, samples: &[f32]) -> Option<AudioChunk> {
        if samples.is_empty() {
            return None;
        }
        let start_ms = self.run_start_ms + self.run_out as f64 * 1000.0 / f64::from(OUTPUT_RATE);
        self.run_out += samples.len() as u64;
        Some(AudioChunk {
            track: self.key.clone(),
            start_ms: start_ms.max(0.0).round() as u64,
            pcm16k: samples
                .iter()
                .map(|s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TrackKey {
        TrackKey {
            doc: 0,
            pc: 0,
            mid: "0".into(),
        }
    }

    fn tone(n: usize, start: usize) -> Vec<i16> {
        (start..start + n)
            .map(|i| ((i as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 8000.0) as i16)
            .collect()
    }

    #[test]
    fn continuous_runs_lose_nothing_and_keep_their_length() {
        let mut track = Track::new(key(), 250.0);
        let mut out = Vec::new();
        for i in 0..50 {
            let pcm = tone(4800, i * 4800);
            out.extend(track.push(Run {
                ts_us: 1e9 + i as f64 * 100_000.0,
                rate: 48_000,
                pcm: &pcm,
            }));
        }
        out.extend(track.finish());
        let stats = track.stats();
        assert_eq!(stats.samples_expected, 240_000);
        assert_eq!(stats.samples_received, 240_000);
        assert_eq!(stats.loss_percent(), 0.0);
        assert_eq!(out.iter().map(|c| c.pcm16k.len()).sum::<usize>(), 80_000);
        assert_eq!(out[0].start_ms, 250);
        // Chunks tile the timeline.
        for pair in out.windows(2) {
            let end = pair[0].start_ms as f64 + pair[0].pcm16k.len() as f64 / 16.0;
            assert!((pair[1].start_ms as f64 - end).abs() <= 1.0, "{pair:?}");
        }
        // The level survives the resampling (a 440 Hz tone at 8000).
        let peak = out[10]
            .pcm16k
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!((7800..=8200).contains(&peak), "{peak}");
    }

    #[test]
    fn a_gap_in_the_timestamps_counts_as_loss_and_moves_the_next_chunk() {
        let mut track = Track::new(key(), 0.0);
        let pcm = tone(4800, 0);
        let mut all = Vec::new();
        // 15 runs, one 10 ms frame missing, 15 more; the timestamps jitter by up to 4 ms.
        for i in 0..30 {
            let jitter = [0.0, 4000.0, -3000.0][i % 3];
            let gap = if i >= 15 { 10_000.0 } else { 0.0 };
            let chunks = track.push(Run {
                ts_us: i as f64 * 100_000.0 + gap + jitter,
                rate: 48_000,
                pcm: &pcm,
            });
            all.extend(chunks.iter().cloned());
        }
        all.extend(track.finish());
        let stats = track.stats();
        assert_eq!(stats.samples_received, 144_000);
        assert_eq!(stats.samples_expected, 144_480);
        assert_eq!(stats.discontinuities, 1);
        assert!((stats.loss_percent() - 0.332).abs() < 0.001, "{stats:?}");
        // The lost frame was filled: the track still ends where its timestamps say.
        let last = all.last().unwrap();
        let end = last.start_ms as f64 + last.pcm16k.len() as f64 / 16.0;
        assert!((end - 3010.0).abs() <= 1.0, "ends at {end} ms");
        assert_eq!(all.iter().map(|c| c.pcm16k.len()).sum::<usize>(), 48_160);
        assert_eq!(stats.gap_samples, 480);
        assert!(!stats.decoder_measured);
    }

    /// Feeds 60 runs of 100 ms with one 10 ms timestamp jump after the 30th, and a decoder
    /// reading every 10 runs; `dropped_after` (in runs) is where the capture starts to trail
    /// the decoder by one more 10 ms frame, if anywhere.
    fn with_readings(dropped_after: Option<usize>) -> TrackStats {
        let mut track = Track::new(key(), 0.0);
        let pcm = tone(4800, 0);
        for i in 0..60 {
            let gap = if i >= 30 { 10_000.0 } else { 0.0 };
            track.push(Run {
                ts_us: i as f64 * 100_000.0 + gap,
                rate: 48_000,
                pcm: &pcm,
            });
            if i % 10 == 9 {
                let read_us = (i + 1) as f64 * 100_000.0;
                let extra = match dropped_after {
                    Some(at) if i >= at => 10_000.0,
                    _ => 0.0,
                };
                // Frames in flight: the reading sees up to two more than were read.
                let in_flight = [0.0, 20_000.0, 10_000.0][i / 10 % 3];
                let decoded_us = read_us + 40_000.0 + extra + in_flight;
                track.observe(DecoderReading {
                    read_us,
                    decoded_us,
                    decoded_samples: decoded_us * 0.048,
                    concealed_samples: 960.0 + if i >= 40 { 480.0 } else { 0.0 },
                });
            }
        }
        track.finish();
        track.stats()
    }

    #[test]
    fn a_playout_clock_that_skipped_is_a_gap_and_audio_the_capture_missed_is_loss() {
        // The timestamps jumped, but the capture read everything WebRTC decoded.
        let stats = with_readings(None);
        assert!(stats.decoder_measured);
        assert_eq!(stats.gap_samples, 480);
        assert_eq!(stats.samples_received, 288_000);
        assert_eq!(stats.samples_expected, 288_000);
        assert_eq!(stats.loss_percent(), 0.0);
        // The concealment since the first reading, in samples at the track's rate.
        assert_eq!(stats.samples_concealed, 480);
        // The capture fell one frame further behind the decoder for good: that is loss.
        let stats = with_readings(Some(35));
        assert_eq!(stats.samples_expected, 288_480);
        assert!((stats.loss_percent() - 0.166).abs() < 0.001, "{stats:?}");
        // Nonsense readings are ignored.
        let mut track = Track::new(key(), 0.0);
        for bad in [f64::NAN, -1.0, f64::INFINITY] {
            track.observe(DecoderReading {
                read_us: bad,
                decoded_us: 1e6,
                decoded_samples: 48_000.0,
                concealed_samples: 0.0,
            });
        }
        assert_eq!(track.backlogs.seen, 0);
    }
}
