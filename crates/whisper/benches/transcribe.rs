//! Transcribe a WAV file and report speed: `cargo bench -p meetvault-whisper --bench transcribe
//! -- FILE.wav [--model DIR] [--beam N] [--int8] [--no-vad] [--previous-text | --no-previous-text]`. Prints the transcript, then audio
//! seconds, wall seconds (load and transcription apart) and the real-time factor.
//! `--encoder-only N` instead times the encoder on the file's first 30-s window N times (plus
//! the cross-attention keys and values and one decoder step: what `next_token_logprobs` does)
//! and prints the median, for comparing with CTranslate2's `encode` (bench/transcribe.sh).

// A bench is an edge: it may panic on a bad argument or an unreadable file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/engine/audio.rs"]
mod audio;

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use meetvault_whisper::{DecodeOptions, Model, Precision};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut wav = None;
    let mut model_dir = std::env::var_os("TEST_WHISPER_MODEL").map(PathBuf::from);
    let mut opts = DecodeOptions::default();
    let mut precision = Precision::F32;
    let mut encoder_only: Option<usize> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--model" => model_dir = args.next().map(PathBuf::from),
            "--beam" => opts.beam_size = args.next().unwrap_or_default().parse()?,
            "--int8" => precision = Precision::Int8,
            "--encoder-only" => encoder_only = Some(args.next().unwrap_or_default().parse()?),
            "--no-vad" => opts.vad = false,
            "--previous-text" => opts.condition_on_previous_text = true,
            "--no-previous-text" => opts.condition_on_previous_text = false,
            _ => wav = Some(PathBuf::from(a)),
        }
    }
    let Some(wav) = wav else {
        eprintln!(
            "usage: transcribe FILE.wav [--model DIR] [--beam N] [--int8] [--no-vad] \
             [--previous-text | --no-previous-text] [--encoder-only N]"
        );
        return Ok(());
    };
    let model_dir = model_dir.unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default())
            .join(".cache/meetvault-tools/models/whisper-tiny.en")
    });
    let pcm = audio::read_wav_16k(&wav);
    let t0 = Instant::now();
    let model = Model::load_with_precision(&model_dir, precision)?;
    let load = t0.elapsed().as_secs_f64();
    if let Some(n) = encoder_only {
        let window = &pcm[..pcm.len().min(30 * 16_000)];
        let eot = [model.end_of_text()];
        model.next_token_logprobs(window, 0, &[], &eot)?; // warm-up
        let mut times: Vec<f64> = (0..n.max(1))
            .map(|_| {
                let t = Instant::now();
                model.next_token_logprobs(window, 0, &[], &eot).unwrap();
                t.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!("encoder_secs={:.3}", times[times.len() / 2]);
        return Ok(());
    }
    let t1 = Instant::now();
    let transcript = model.transcribe(&pcm, &opts, &mut |_| ControlFlow::Continue(()))?;
    let wall = t1.elapsed().as_secs_f64();
    for s in &transcript.segments {
        println!("[{:7.2} → {:7.2}] {}", s.start, s.end, s.text);
    }
    let audio_secs = pcm.len() as f64 / 16_000.0;
    println!(
        "audio_secs={audio_secs:.2} load_secs={load:.2} wall_secs={wall:.2} rtf={:.4} speed={:.1}x precision={precision:?} beam={}",
        wall / audio_secs,
        audio_secs / wall,
        opts.beam_size
    );
    Ok(())
}
