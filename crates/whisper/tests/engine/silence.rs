//! Silence, noise and music produce nothing: a minute of each, with and without the VAD, greedy
//! and with beam search, yields no segment; two sentences between long silences yield exactly
//! those sentences. (The rule is in the crate's `gate` module docs.)

use std::ops::ControlFlow;

use meetvault_whisper::{DecodeOptions, Transcript};

use crate::audio::speak;
use crate::support::{assert_well_formed, model, text, wer};

const SR: f32 = 16_000.0;

/// A deterministic uniform source in −1..1.
struct Lcg(u32);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (self.0 >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
    }
}

fn rms_db(pcm: &[f32]) -> f32 {
    let p = pcm.iter().map(|&x| f64::from(x * x)).sum::<f64>() / pcm.len().max(1) as f64;
    (10.0 * (p + 1e-12).log10()) as f32
}

fn scale_to(mut pcm: Vec<f32>, db: f32) -> Vec<f32> {
    let gain = 10f32.powf((db - rms_db(&pcm)) / 20.0);
    pcm.iter_mut().for_each(|x| *x *= gain);
    pcm
}

/// Room noise: pink noise (Kellet's filter) at about −50 dBFS with a 50 Hz mains hum and its
/// third harmonic, its level drifting slowly (someone moving, a door), as a quiet meeting room.
fn room_noise(secs: f32) -> Vec<f32> {
    let mut rng = Lcg(0x5eed);
    let (mut b0, mut b1, mut b2) = (0.0f32, 0.0f32, 0.0f32);
    let n = (secs * SR) as usize;
    let pink: Vec<f32> = (0..n)
        .map(|i| {
            let w = rng.next();
            b0 = 0.99765 * b0 + w * 0.099_046;
            b1 = 0.963 * b1 + w * 0.296_516_4;
            b2 = 0.57 * b2 + w * 1.052_691_3;
            let t = i as f32 / SR;
            let drift = 1.0 + 0.5 * (2.0 * std::f32::consts::PI * 0.2 * t).sin();
            (b0 + b1 + b2 + w * 0.1848) * drift
        })
        .collect();
    let mut pcm = scale_to(pink, -50.0);
    for (i, x) in pcm.iter_mut().enumerate() {
        let t = i as f32 / SR;
        let w = 2.0 * std::f32::consts::PI * 50.0 * t;
        *x += 0.0015 * w.sin() + 0.0006 * (3.0 * w).sin();
    }
    pcm
}

/// A fan: steady brown noise at about −36 dBFS, loud enough that the energy VAD keeps all of it.
fn fan_noise(secs: f32) -> Vec<f32> {
    let mut rng = Lcg(0xfa7);
    let mut y = 0.0f32;
    let brown = (0..(secs * SR) as usize)
        .map(|_| {
            y = 0.995 * y + 0.05 * rng.next();
            y
        })
        .collect();
    scale_to(brown, -36.0)
}

fn note(semitones_from_a3: f32) -> f32 {
    220.0 * 2f32.powf(semitones_from_a3 / 12.0)
}

/// Music-like tones: a chord progression (three notes with two harmonics each, an attack and a
/// decay on every chord), a melody with vibrato over it, and, with `drums`, a kick every half
/// second and a hi-hat between; about −18 dBFS.
fn music(secs: f32, drums: bool) -> Vec<f32> {
    const CHORDS: [[f32; 3]; 4] = [
        [0.0, 4.0, 7.0],
        [5.0, 9.0, 12.0],
        [7.0, 11.0, 14.0],
        [-3.0, 0.0, 4.0],
    ];
    const MELODY: [f32; 8] = [12.0, 14.0, 16.0, 19.0, 16.0, 14.0, 12.0, 7.0];
    let mut rng = Lcg(0x3051c);
    let tau = 2.0 * std::f32::consts::PI;
    let pcm = (0..(secs * SR) as usize)
        .map(|i| {
            let t = i as f32 / SR;
            let chord = CHORDS[(t / 2.0) as usize % 4];
            let in_chord = t % 2.0;
            let env = (in_chord * 50.0).min(1.0) * (-in_chord * 0.8).exp();
            let mut x = 0.0;
            for &s in &chord {
                let f = note(s);
                x += env * (0.1 * (tau * f * t).sin() + 0.04 * (tau * 2.0 * f * t).sin());
            }
            let m = note(MELODY[(t * 4.0) as usize % 8]);
            let vibrato = 1.0 + 0.006 * (tau * 5.5 * t).sin();
            let in_note = t % 0.25;
            x += 0.08 * (-in_note * 4.0).exp() * (tau * m * vibrato * t).sin();
            if drums {
                let k = t % 0.5;
                x += 0.3 * (-k * 25.0).exp() * (tau * (50.0 + 80.0 * (-k * 30.0).exp()) * k).sin();
                let h = (t + 0.25) % 0.5;
                x += 0.05 * (-h * 80.0).exp() * rng.next();
            }
            x
        })
        .collect();
    scale_to(pcm, -18.0)
}

fn options(vad: bool, beam_size: usize) -> DecodeOptions {
    DecodeOptions {
        vad,
        beam_size,
        ..DecodeOptions::default()
    }
}

fn run(pcm: &[f32], opts: &DecodeOptions) -> Transcript {
    model()
        .transcribe(pcm, opts, &mut |_| ControlFlow::Continue(()))
        .unwrap()
}

fn assert_nothing(name: &str, pcm: &[f32], beams: &[usize]) {
    for vad in [true, false] {
        for &beam in beams {
            let t = run(pcm, &options(vad, beam));
            assert!(
                t.segments.is_empty(),
                "{name} (vad {vad}, beam {beam}) produced text: {:#?}",
                t.segments
            );
        }
    }
}

#[test]
fn a_minute_of_digital_silence_produces_nothing() {
    // Without the VAD, Whisper alone writes "you" on each silent window.
    assert_nothing("digital silence", &vec![0.0; 60 * 16_000], &[1, 5]);
}

#[test]
fn a_minute_of_room_noise_produces_nothing() {
    let pcm = room_noise(60.0);
    assert!((rms_db(&pcm) + 50.0).abs() < 2.0, "{}", rms_db(&pcm));
    assert_nothing("room noise", &pcm, &[1, 5]);
}

#[test]
fn a_minute_of_fan_noise_produces_nothing() {
    // Loud enough that the VAD keeps it all: Whisper alone writes ". ." every two seconds.
    assert_nothing("fan noise", &fan_noise(60.0), &[1, 5]);
}

#[test]
fn a_minute_of_music_like_tones_produces_nothing() {
    assert_nothing("chords and melody", &music(60.0, false), &[1, 5]);
    assert_nothing("chords, melody and drums", &music(60.0, true), &[1]);
}

#[test]
fn two_sentences_between_long_silences_give_exactly_those_sentences() {
    const FIRST: &str = "Can everyone hear me clearly now?";
    const SECOND: &str = "Please open the quarterly report on your screen.";
    let dir = tempfile::tempdir().unwrap();
    let room = room_noise(70.0);
    let sr = 16_000usize;
    let mut pcm = room[..20 * sr].to_vec();
    let first_at = pcm.len() as f64 / 16_000.0;
    pcm.extend(speak(dir.path(), "en-us", FIRST));
    let first_end = pcm.len() as f64 / 16_000.0;
    pcm.extend_from_slice(&room[20 * sr..45 * sr]);
    let second_at = pcm.len() as f64 / 16_000.0;
    pcm.extend(speak(dir.path(), "en-gb+m3", SECOND));
    let second_end = pcm.len() as f64 / 16_000.0;
    pcm.extend_from_slice(&room[45 * sr..65 * sr]);
    let reference = format!("{FIRST} {SECOND}");
    for (vad, beam) in [(true, 1), (true, 5), (false, 1)] {
        let t = run(&pcm, &options(vad, beam));
        assert_well_formed(&t);
        let got = text(&t);
        let err = wer(&reference, &got);
        println!("vad {vad} beam {beam}: WER {:.1} % — {got}", err * 100.0);
        assert!(
            err == 0.0,
            "vad {vad} beam {beam}: {got:?} is not {reference:?}"
        );
        if !vad {
            // Without the VAD a window starts in the silence and Whisper's first timestamp is
            // within a second of a window's start, so only the text is held here.
            continue;
        }
        for s in &t.segments {
            let inside = |a: f64, b: f64| s.start >= a - 1.0 && s.end <= b + 1.0;
            assert!(
                inside(first_at, first_end) || inside(second_at, second_end),
                "vad {vad} beam {beam}: segment outside the speech: {s:?}"
            );
        }
    }
}
