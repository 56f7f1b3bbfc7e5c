//! The log-mel front end: 16 kHz PCM to Whisper's normalised log-mel spectrogram.
//!
//! As in OpenAI's `audio.py` and faster-whisper's `feature_extractor.py`: a periodic Hann window
//! of 400 samples (25 ms) every 160 samples (10 ms), centred frames with reflect padding, the power
//! spectrum's last frame dropped, Slaney-style mel filters (librosa's `mel(sr=16000, n_fft=400,
//! n_mels)`), `log10(max(x, 1e-10))`, a floor of the global maximum minus 8, and `(x + 4) / 4`.
//! The DFT is a matrix product against a cos/sin basis, which the tensor backend does fast; frames
//! are processed in blocks so an hour of audio never needs a huge frame matrix.

use candle_core::{DType, Device, Tensor};

use crate::error::Result;

/// Samples per second of the input.
pub const SAMPLE_RATE: usize = 16_000;
/// FFT size (25 ms).
pub const N_FFT: usize = 400;
/// Hop between frames (10 ms).
pub const HOP: usize = 160;
/// Frames in one 30-second window.
pub const N_FRAMES: usize = 3000;

const N_BINS: usize = N_FFT / 2 + 1;
const BLOCK_FRAMES: usize = 3000;

/// A log-mel spectrogram, frame-major (`frames × n_mels`), already normalised.
#[derive(Debug, Clone)]
pub struct LogMel {
    /// `frames × n_mels` values (one frame more than `content_frames`, as faster-whisper's).
    pub data: Vec<f32>,
    /// Number of mel bins.
    pub n_mels: usize,
    /// Frames that carry audio: one per whole hop of samples.
    pub content_frames: usize,
}

impl LogMel {
    /// The `[1, n_mels, 3000]` encoder input for the `len` frames starting at frame `start`,
    /// padded with zeros to a whole window. Zero, not the silence floor: OpenAI's and
    /// faster-whisper's `pad_or_trim` pad the normalised features with zeros, and the model's
    /// output on the last, partly empty window depends on it.
    pub fn window(&self, start: usize, len: usize, device: &Device) -> Result<Tensor> {
        let mut block = vec![0f32; N_FRAMES * self.n_mels];
        let len = len.min(N_FRAMES);
        for (f, row) in block.chunks_exact_mut(self.n_mels).take(len).enumerate() {
            let src = start + f;
            if let Some(values) = self.data.get(src * self.n_mels..(src + 1) * self.n_mels) {
                row.copy_from_slice(values);
            }
        }
        let t = Tensor::from_vec(block, (1, N_FRAMES, self.n_mels), device)?;
        Ok(t.transpose(1, 2)?.contiguous()?)
    }
}

/// The mel filterbank and DFT basis, built once per model.
#[derive(Debug, Clone)]
pub struct MelFrontEnd {
    n_mels: usize,
    /// `[N_FFT, 2 × N_BINS]`: Hann-windowed cos basis, then the sin basis.
    basis: Tensor,
    /// `[N_BINS, n_mels]`.
    filters_t: Tensor,
}

impl MelFrontEnd {
    /// Build the front end for `n_mels` bins (80, or 128 for large-v3).
    pub fn new(n_mels: usize, device: &Device) -> Result<Self> {
        let mut basis = vec![0f32; N_FFT * 2 * N_BINS];
        for n in 0..N_FFT {
            let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos();
            for k in 0..N_BINS {
                let phase = 2.0 * std::f64::consts::PI * ((k * n) % N_FFT) as f64 / N_FFT as f64;
                basis[n * 2 * N_BINS + k] = (w * phase.cos()) as f32;
                basis[n * 2 * N_BINS + N_BINS + k] = (-w * phase.sin()) as f32;
            }
        }
        let basis = Tensor::from_vec(basis, (N_FFT, 2 * N_BINS), device)?;
        let filters = mel_filters(n_mels);
        let filters_t = Tensor::from_vec(filters, (n_mels, N_BINS), device)?
            .t()?
            .contiguous()?;
        Ok(Self {
            n_mels,
            basis,
            filters_t,
        })
    }

    /// The normalised log-mel spectrogram of `pcm`, as faster-whisper's feature extractor: the
    /// audio followed by one hop of zeros, centred frames with reflect padding, the last frame
    /// dropped, the floor at the maximum of these frames less 8.
    pub fn compute(&self, pcm: &[f32]) -> Result<LogMel> {
        let content_frames = pcm.len() / HOP;
        let padded_len = pcm.len() + HOP;
        let frames = padded_len / HOP;
        let sample = |i: isize| -> f32 {
            // Reflect padding of N_FFT / 2 on both sides of the zero-padded signal.
            let len = padded_len as isize;
            let j = if i < 0 {
                -i
            } else if i >= len {
                2 * (len - 1) - i
            } else {
                i
            };
            usize::try_from(j)
                .ok()
                .and_then(|j| pcm.get(j))
                .copied()
                .unwrap_or(0.0)
        };
        let mut out = Vec::with_capacity(frames * self.n_mels);
        let device = self.basis.device();
        let mut start = 0;
        while start < frames {
            let count = BLOCK_FRAMES.min(frames - start);
            let mut block = vec![0f32; count * N_FFT];
            for (f, row) in block.chunks_exact_mut(N_FFT).enumerate() {
                let centre = ((start + f) * HOP) as isize;
                for (n, v) in row.iter_mut().enumerate() {
                    *v = sample(centre - (N_FFT / 2) as isize + n as isize);
                }
            }
            let x = Tensor::from_vec(block, (count, N_FFT), device)?;
            let spec = x.matmul(&self.basis)?;
            let re = spec.narrow(1, 0, N_BINS)?;
            let im = spec.narrow(1, N_BINS, N_BINS)?;
            let power = (re.sqr()? + im.sqr()?)?;
            let mel = power.matmul(&self.filters_t)?;
            let log = (mel.clamp(1e-10f32, f32::MAX)?.log()? / std::f64::consts::LN_10)?;
            out.extend(log.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?);
            start += count;
        }
        let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for v in &mut out {
            *v = (v.max(max - 8.0) + 4.0) / 4.0;
        }
        Ok(LogMel {
            data: out,
            n_mels: self.n_mels,
            content_frames,
        })
    }
}

fn hz_to_mel(f: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= MIN_LOG_HZ {
        min_log_mel + (f / MIN_LOG_HZ).ln() / logstep
    } else {
        f / F_SP
    }
}

fn mel_to_hz(m: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        MIN_LOG_HZ * (logstep * (m - min_log_mel)).exp()
    } else {
        F_SP * m
    }
}

/// librosa's `filters.mel(sr=16000, n_fft=400, n_mels, fmin=0, fmax=8000, htk=False,
/// norm="slaney")`, row-major `n_mels × 201`.
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    let sr = SAMPLE_RATE as f64;
    let fft_freqs: Vec<f64> = (0..N_BINS)
        .map(|i| i as f64 * (sr / 2.0) / (N_BINS - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut weights = vec![0f32; n_mels * N_BINS];
    for m in 0..n_mels {
        let (left, centre, right) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (right - left);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - left) / (centre - left);
            let upper = (right - f) / (right - centre);
            weights[m * N_BINS + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_slaney_normalised_triangles() {
        let f = mel_filters(80);
        // Every filter has some weight, and none reaches past Nyquist.
        for m in 0..80 {
            let row = &f[m * N_BINS..(m + 1) * N_BINS];
            assert!(row.iter().any(|&w| w > 0.0), "filter {m} is empty");
            assert!(row.iter().all(|&w| w >= 0.0));
        }
        // Slaney normalisation keeps the area, so high (wide) filters have low peaks.
        let peak = |m: usize| {
            f[m * N_BINS..(m + 1) * N_BINS]
                .iter()
                .copied()
                .fold(0f32, f32::max)
        };
        assert!(peak(5) > peak(75));
    }

    #[test]
    fn a_tone_lights_the_right_mel_bin() {
        let fe = MelFrontEnd::new(80, &Device::Cpu).unwrap();
        let pcm: Vec<f32> = (0..SAMPLE_RATE)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16000.0).sin())
            .collect();
        let mel = fe.compute(&pcm).unwrap();
        assert_eq!(mel.content_frames, 100);
        let frame = &mel.data[50 * 80..51 * 80];
        let best = frame
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        // 1 kHz is mel 15 of 0..~45.2 across 81 intervals: bin ≈ 26.
        assert!((25..=28).contains(&best), "peak at bin {best}");
    }

    #[test]
    fn the_last_window_is_the_audio_then_zeros() {
        let fe = MelFrontEnd::new(80, &Device::Cpu).unwrap();
        let pcm: Vec<f32> = (0..SAMPLE_RATE + 90)
            .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 16000.0).sin())
            .collect();
        let mel = fe.compute(&pcm).unwrap();
        // One frame per whole hop, and one more as faster-whisper's extractor returns.
        assert_eq!(mel.content_frames, 100);
        assert_eq!(mel.data.len(), 101 * 80);
        let w = mel.window(40, 60, &Device::Cpu).unwrap();
        let rows = w.squeeze(0).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(rows.len(), 80);
        for (bin, row) in rows.iter().enumerate() {
            assert_eq!(row.len(), N_FRAMES);
            assert_eq!(row[0], mel.data[40 * 80 + bin]);
            assert_eq!(row[59], mel.data[99 * 80 + bin]);
            assert!(
                row[60..].iter().all(|&x| x == 0.0),
                "bin {bin} not zero-padded"
            );
        }
    }
}
