//! Test audio: speech from espeak-ng, a small WAV reader (hound) and a windowed-sinc resampler
//! to 16 kHz. Shared with the bench through `#[path]`.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Read a WAV file as 16 kHz mono f32.
pub fn read_wav_16k(path: &Path) -> Vec<f32> {
    let mut reader =
        hound::WavReader::open(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map(|s| s.unwrap()).collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.unwrap() as f32 * scale)
                .collect()
        }
    };
    let mono: Vec<f32> = samples
        .chunks(channels)
        .map(|c| c.iter().sum::<f32>() / c.len() as f32)
        .collect();
    resample(&mono, spec.sample_rate as usize, 16_000)
}

/// Windowed-sinc (Hann, 32 taps each side) resampling with a low-pass at the lower Nyquist.
pub fn resample(input: &[f32], from: usize, to: usize) -> Vec<f32> {
    if from == to {
        return input.to_vec();
    }
    let ratio = to as f64 / from as f64;
    let cutoff = ratio.min(1.0);
    let taps = 32isize;
    let out_len = (input.len() as f64 * ratio) as usize;
    (0..out_len)
        .map(|n| {
            let x = n as f64 / ratio;
            let centre = x.floor() as isize;
            let mut acc = 0.0f64;
            for k in centre - taps + 1..=centre + taps {
                let Some(&s) = usize::try_from(k).ok().and_then(|k| input.get(k)) else {
                    continue;
                };
                let d = x - k as f64;
                let sinc = if d.abs() < 1e-12 {
                    1.0
                } else {
                    (std::f64::consts::PI * cutoff * d).sin() / (std::f64::consts::PI * d)
                };
                let w = 0.5 + 0.5 * (std::f64::consts::PI * d / taps as f64).cos();
                acc += f64::from(s) * sinc * w;
            }
            acc as f32
        })
        .collect()
}

/// Speak `text` with espeak-ng `voice` into `dir` and return it as 16 kHz mono.
pub fn speak(dir: &Path, voice: &str, text: &str) -> Vec<f32> {
    let path = dir.join(format!(
        "speech-{}.wav",
        std::process::id() as u64 ^ hash(text) ^ hash(voice)
    ));
    let status = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng must be installed (apt-get install espeak-ng)");
    assert!(status.success(), "espeak-ng failed for voice {voice}");
    read_wav_16k(&path)
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// `secs` of silence.
pub fn silence(secs: f32) -> Vec<f32> {
    vec![0.0; (secs * 16_000.0) as usize]
}
