//! One remote audio track on the Rust side: its runs of 48 kHz PCM become 16 kHz chunks on
//! the capture's timeline, and its frame timestamps say how much audio was lost.

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

/// What a track delivered, by its frame timestamps, at its source rate.
///
/// Each run's *offset* is its first timestamp minus the duration of the samples received
/// before it: constant while nothing is lost (up to jitter), and moved forward by whatever
/// went missing. The loss is the smallest offset of the last runs minus the smallest of the
/// first runs, so jitter (and Chromium's oddly stamped first frame) cancels out. A track that
/// receives no packets at first (a sender with no track yet) jumps ~40 ms when they start
/// (the jitter buffer fills): that counts as lost, though only silence was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TrackStats {
    /// Samples the timestamps span, from the first frame's start to the last frame's end.
    pub samples_expected: u64,
    /// Samples actually received.
    pub samples_received: u64,
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
    /// The smallest offset (µs) of the first runs, and the offsets of the latest runs.
    first_offsets: Vec<f64>,
    last_offsets: std::collections::VecDeque<f64>,
    /// Where the current run starts on the capture's timeline (ms), and what it has output.
    run_start_ms: f64,
    run_out: u64,
    stats: TrackStats,
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
            first_offsets: Vec::new(),
            last_offsets: std::collections::VecDeque::new(),
            run_start_ms: offset_ms,
            run_out: 0,
            stats: TrackStats::default(),
            scratch: Vec::new(),
        }
    }

    pub(crate) fn stats(&self) -> TrackStats {
        self.stats
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
        let offset = run.ts_us - self.received_us;
        if self.first_offsets.len() < OFFSET_WINDOW {
            self.first_offsets.push(offset);
        }
        if self.last_offsets.len() == OFFSET_WINDOW {
            self.last_offsets.pop_front();
        }
        self.last_offsets.push_back(offset);
        let lowest = |o: &mut dyn Iterator<Item = &f64>| o.copied().fold(f64::INFINITY, f64::min);
        let lost_us = (lowest(&mut self.last_offsets.iter())
            - lowest(&mut self.first_offsets.iter()))
        .max(0.0);

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
        self.stats.samples_expected =
            self.stats.samples_received + (lost_us * rate / 1e6).round() as u64;
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
    }
}
