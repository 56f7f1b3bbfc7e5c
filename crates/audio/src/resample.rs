//! A streaming windowed-sinc resampler for any rate to [`crate::SAMPLE_RATE`].
//!
//! Each output sample is the input convolved with a Kaiser-windowed sinc low-pass (cut off at
//! 92 % of the lower Nyquist frequency, 24 zero crossings each side, β = 8, about 80 dB of
//! stop-band rejection) centred on the output instant. The kernel is tabulated once per
//! zero crossing (so the table's size does not depend on the rates) and read with linear
//! interpolation, which serves any ratio, rational or not. Output instants are computed with
//! exact integer arithmetic, so there is no drift over hours.
//!
//! Memory is constant: the resampler keeps only the last kernel-width of input (a few hundred
//! samples) plus the chunk being processed.

/// Zero crossings of the sinc on each side of the centre.
const ZERO_CROSSINGS: usize = 24;
/// Table entries per zero crossing.
const OVERSAMPLE: usize = 512;
/// Pass band as a fraction of the lower Nyquist frequency.
const ROLLOFF: f64 = 0.92;
/// Kaiser window shape.
const BETA: f64 = 8.0;

/// A streaming resampler from one rate to another (the bot feeds it live 48 kHz audio).
#[derive(Debug)]
pub struct Resampler {
    in_rate: u64,
    out_rate: u64,
    /// `None` when the rates are equal: samples pass through.
    filter: Option<Filter>,
    /// Input samples received so far.
    total_in: u64,
    /// Index of the next output sample.
    next_out: u64,
}

#[derive(Debug)]
struct Filter {
    /// Kernel gain (twice the cut-off in cycles per input sample).
    gain: f64,
    /// Table position per input sample of distance from the centre.
    table_step: f64,
    /// The kernel from 0 to `ZERO_CROSSINGS` crossings, plus a trailing zero.
    table: Vec<f32>,
    /// Input samples either side of the centre that the kernel reaches.
    half: i64,
    /// Recent input; `history[0]` is absolute input index `base`.
    history: Vec<f32>,
    base: i64,
}

impl Resampler {
    /// `in_rate` and `out_rate` must be non-zero (the caller validates the source rate).
    pub fn new(in_rate: u32, out_rate: u32) -> Self {
        let (in_rate, out_rate) = (u64::from(in_rate.max(1)), u64::from(out_rate.max(1)));
        let filter = (in_rate != out_rate).then(|| Filter::new(in_rate, out_rate));
        Resampler {
            in_rate,
            out_rate,
            filter,
            total_in: 0,
            next_out: 0,
        }
    }

    /// Feeds input samples and appends every output sample that is now computable to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.total_in += input.len() as u64;
        match &mut self.filter {
            None => {
                out.extend_from_slice(input);
                self.next_out = self.total_in;
            }
            Some(filter) => {
                filter.history.extend_from_slice(input);
                let available = filter.base + filter.history.len() as i64;
                self.next_out = filter.run(
                    self.next_out,
                    self.in_rate,
                    self.out_rate,
                    available,
                    None,
                    out,
                );
            }
        }
    }

    /// Flushes the tail: the output then covers exactly the input's duration
    /// (`ceil(inputs × out_rate / in_rate)` samples in total).
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        let Some(filter) = &mut self.filter else {
            return;
        };
        // Past the end the signal is silence: pad so the last outputs can see their full window.
        let pad = usize::try_from(filter.half + 1).unwrap_or(0);
        filter.history.resize(filter.history.len() + pad, 0.0);
        let available = filter.base + filter.history.len() as i64;
        let total_out = (self.total_in * self.out_rate).div_ceil(self.in_rate);
        self.next_out = filter.run(
            self.next_out,
            self.in_rate,
            self.out_rate,
            available,
            Some(total_out),
            out,
        );
    }
}

impl Filter {
    fn new(in_rate: u64, out_rate: u64) -> Self {
        // Cut-off in cycles per input sample: below the Nyquist frequency of the lower rate.
        let cutoff = 0.5 * ROLLOFF * (out_rate as f64 / in_rate as f64).min(1.0);
        let gain = 2.0 * cutoff;
        let half = (ZERO_CROSSINGS as f64 / gain).ceil() as i64;
        let i0_beta = bessel_i0(BETA);
        let len = ZERO_CROSSINGS * OVERSAMPLE;
        let mut table: Vec<f32> = (0..=len)
            .map(|i| {
                let x = i as f64 / OVERSAMPLE as f64; // in zero crossings
                let sinc = if i == 0 {
                    1.0
                } else {
                    (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
                };
                let r = x / ZERO_CROSSINGS as f64;
                let window = bessel_i0(BETA * (1.0 - r * r).max(0.0).sqrt()) / i0_beta;
                (sinc * window) as f32
            })
            .collect();
        table.push(0.0);
        Filter {
            gain,
            table_step: gain * OVERSAMPLE as f64,
            table,
            half,
            // Before the first sample the signal is silence.
            history: vec![0.0; usize::try_from(half).unwrap_or(0)],
            base: -half,
        }
    }

    /// Computes outputs from `next_out` while their window lies within `available` input samples
    /// (and, when flushing, while below `limit`); returns the new `next_out`.
    fn run(
        &mut self,
        mut next_out: u64,
        in_rate: u64,
        out_rate: u64,
        available: i64,
        limit: Option<u64>,
        out: &mut Vec<f32>,
    ) -> u64 {
        loop {
            if limit.is_some_and(|limit| next_out >= limit) {
                break;
            }
            // The output instant in input samples: centre + frac / out_rate.
            let pos = u128::from(next_out) * u128::from(in_rate);
            let centre = i64::try_from(pos / u128::from(out_rate)).unwrap_or(i64::MAX);
            let frac = (pos % u128::from(out_rate)) as f64 / out_rate as f64;
            if centre.saturating_add(self.half) >= available {
                break;
            }
            out.push(self.sample_at(centre, frac));
            next_out += 1;
        }
        // Drop input no later output can reach.
        let pos = u128::from(next_out) * u128::from(in_rate);
        let centre = i64::try_from(pos / u128::from(out_rate)).unwrap_or(i64::MAX);
        let keep_from = centre.saturating_sub(self.half);
        let drop = usize::try_from(keep_from - self.base)
            .unwrap_or(0)
            .min(self.history.len());
        if drop > 0 {
            self.history.drain(..drop);
            self.base += drop as i64;
        }
        next_out
    }

    fn sample_at(&self, centre: i64, frac: f64) -> f32 {
        let first = centre - self.half + 1;
        let start = usize::try_from(first - self.base).unwrap_or(0);
        let end = (start + 2 * self.half as usize).min(self.history.len());
        let mut acc = 0.0f64;
        for (offset, &x) in self.history[start..end].iter().enumerate() {
            // Distance from the output instant to this input sample, in input samples.
            let distance = ((centre - first - offset as i64) as f64 + frac).abs();
            let pos = distance * self.table_step;
            let index = pos as usize;
            if index + 1 >= self.table.len() {
                continue;
            }
            let t = (pos - index as f64) as f32;
            let h = self.table[index] + t * (self.table[index + 1] - self.table[index]);
            acc += f64::from(x * h);
        }
        (acc * self.gain) as f32
    }
}

/// The zeroth-order modified Bessel function of the first kind, by its power series.
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half_x = x / 2.0;
    for k in 1..64 {
        term *= (half_x / k as f64) * (half_x / k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, secs: f64) -> Vec<f32> {
        let n = (secs * f64::from(rate)) as usize;
        (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    fn resample_in_chunks(input: &[f32], in_rate: u32, chunk: usize) -> Vec<f32> {
        let mut r = Resampler::new(in_rate, 16_000);
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            r.process(piece, &mut out);
        }
        r.finish(&mut out);
        out
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn output_length_matches_the_input_duration_for_common_rates() {
        for rate in [
            8_000, 11_025, 22_050, 24_000, 32_000, 44_100, 48_000, 96_000,
        ] {
            let input = vec![0.1f32; rate as usize * 3 + 7];
            let out = resample_in_chunks(&input, rate, 1000);
            let expected = (input.len() as u64 * 16_000).div_ceil(u64::from(rate));
            assert_eq!(out.len() as u64, expected, "rate {rate}");
        }
    }

    #[test]
    fn a_pass_band_tone_keeps_its_level_and_frequency() {
        for rate in [8_000, 44_100, 48_000] {
            let out = resample_in_chunks(&sine(1_000.0, rate, 1.0), rate, 4096);
            let body = &out[1_000..15_000];
            assert!(
                (rms(body) - std::f64::consts::FRAC_1_SQRT_2).abs() < 0.01,
                "rate {rate}"
            );
            let reference = sine(1_000.0, 16_000, 1.0);
            // Compare against the ideal 16 kHz sine, allowing for no phase shift: the filter is
            // linear-phase and centred, so the output is aligned.
            let err: f64 = body
                .iter()
                .zip(&reference[1_000..15_000])
                .map(|(&a, &b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                / body.len() as f64;
            assert!(err.sqrt() < 0.01, "rate {rate}: rms error {}", err.sqrt());
        }
    }

    #[test]
    fn tones_above_the_new_nyquist_frequency_are_removed() {
        let out = resample_in_chunks(&sine(9_000.0, 48_000, 1.0), 48_000, 4096);
        assert!(
            rms(&out[1_000..15_000]) < 1e-3,
            "alias rms {}",
            rms(&out[1_000..15_000])
        );
    }

    #[test]
    fn chunking_does_not_change_the_output() {
        let input = sine(440.0, 44_100, 0.5);
        let whole = resample_in_chunks(&input, 44_100, input.len());
        let tiny = resample_in_chunks(&input, 44_100, 7);
        assert_eq!(whole, tiny);
    }

    #[test]
    fn equal_rates_pass_through() {
        let input = sine(440.0, 16_000, 0.1);
        assert_eq!(resample_in_chunks(&input, 16_000, 100), input);
    }
}
