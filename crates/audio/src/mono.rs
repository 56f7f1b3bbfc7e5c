//! The output stage: downmix interleaved frames to mono (the mean of the channels), resample to
//! 16 kHz, and push each resulting chunk to the caller's sink. It holds one packet's worth of
//! buffers and the resampler's short history, nothing more.

use crate::SAMPLE_RATE;
use crate::resample::Resampler;

pub(crate) struct MonoSink<'a> {
    resampler: Resampler,
    mono: Vec<f32>,
    out: Vec<f32>,
    sink: &'a mut dyn FnMut(&[f32]),
}

impl std::fmt::Debug for MonoSink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonoSink")
            .field("resampler", &self.resampler)
            .finish_non_exhaustive()
    }
}

impl<'a> MonoSink<'a> {
    pub(crate) fn new(source_rate: u32, sink: &'a mut dyn FnMut(&[f32])) -> Self {
        MonoSink {
            resampler: Resampler::new(source_rate, SAMPLE_RATE),
            mono: Vec::new(),
            out: Vec::new(),
            sink,
        }
    }

    /// Takes interleaved frames of `channels` channels.
    pub(crate) fn push(&mut self, interleaved: &[f32], channels: usize) {
        let channels = channels.max(1);
        self.mono.clear();
        if channels == 1 {
            self.mono.extend(interleaved.iter().map(|&s| finite(s)));
        } else {
            let scale = 1.0 / channels as f32;
            self.mono.extend(
                interleaved
                    .chunks_exact(channels)
                    .map(|frame| frame.iter().map(|&s| finite(s)).sum::<f32>() * scale),
            );
        }
        self.out.clear();
        self.resampler.process(&self.mono, &mut self.out);
        self.emit();
    }

    pub(crate) fn finish(mut self) {
        self.out.clear();
        self.resampler.finish(&mut self.out);
        self.emit();
    }

    fn emit(&mut self) {
        if !self.out.is_empty() {
            (self.sink)(&self.out);
        }
    }
}

/// A decoder's NaN or infinity becomes silence rather than poisoning the resampler.
fn finite(sample: f32) -> f32 {
    if sample.is_finite() { sample } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_is_averaged_to_mono() {
        let mut got = Vec::new();
        let mut sink = |chunk: &[f32]| got.extend_from_slice(chunk);
        let mut mono = MonoSink::new(16_000, &mut sink);
        mono.push(&[1.0, 0.0, 0.5, 0.5, -1.0, f32::NAN], 2);
        mono.finish();
        assert_eq!(got, [0.5, 0.5, -0.5]);
    }
}
