//! Transcription of real synthetic speech: accuracy (WER), timestamps, long audio, silence and
//! cancellation.

use std::ops::ControlFlow;
use std::sync::OnceLock;

use meetvault_whisper::{DecodeOptions, Progress, Transcript, WhisperError};

use crate::audio::{silence, speak};
use crate::support::{assert_well_formed, model, text, wer};

pub(crate) const PASSAGE: &[&str] = &[
    "Good morning everyone, thank you for joining the weekly planning meeting.",
    "Today we will review the project schedule and the budget for the next quarter.",
    "The design team finished the new user interface last week.",
    "We still need to test the mobile application before the release.",
    "Please send your comments to the product manager by Friday afternoon.",
    "The marketing team will prepare a short video for the launch.",
    "Our customers asked for better search and faster loading pages.",
    "We should fix the most important bugs first and leave the small ones for later.",
    "The finance department approved the travel budget for the conference.",
    "Let us meet again next week to discuss the results of the user study.",
    "If anyone has questions, please write them in the shared document.",
    "Thank you all for your hard work, and have a great day.",
];

/// Over a minute of one speaker: the sentences with pauses between them.
pub(crate) fn passage() -> &'static [f32] {
    static PCM: OnceLock<Vec<f32>> = OnceLock::new();
    PCM.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut pcm = Vec::new();
        for sentence in PASSAGE {
            pcm.extend(speak(dir.path(), "en-us", sentence));
            pcm.extend(silence(0.8));
        }
        pcm
    })
}

fn run(pcm: &[f32], opts: &DecodeOptions) -> Transcript {
    model()
        .transcribe(pcm, opts, &mut |_| ControlFlow::Continue(()))
        .unwrap()
}

fn check_passage(opts: &DecodeOptions) {
    let pcm = passage();
    let duration = pcm.len() as f64 / 16_000.0;
    assert!(duration >= 60.0, "the passage is only {duration:.1} s");
    let t = run(pcm, opts);
    assert_well_formed(&t);
    assert_eq!(t.language, "en");
    assert!((t.duration - duration).abs() < 1e-9);
    let reference = PASSAGE.join(" ");
    let hyp = text(&t);
    let rate = wer(&reference, &hyp);
    eprintln!(
        "beam {}: WER {:.1}% over {duration:.1} s\n{hyp}",
        opts.beam_size,
        rate * 100.0
    );
    assert!(rate <= 0.15, "WER {:.1}% > 15%:\n{hyp}", rate * 100.0);
    // Segments cover the whole minute: the last one ends in the last ten seconds.
    let last = t.segments.last().unwrap();
    assert!(
        last.end > duration - 10.0,
        "transcription stopped early at {:.1} s",
        last.end
    );
}

#[test]
fn a_minute_of_speech_is_transcribed_greedily_within_15_percent_wer() {
    check_passage(&DecodeOptions::default());
}

#[test]
fn a_minute_of_speech_is_transcribed_with_beam_search_within_15_percent_wer() {
    check_passage(&DecodeOptions {
        beam_size: 5,
        ..DecodeOptions::default()
    });
}

#[test]
fn a_minute_of_speech_without_vad_and_prompted_with_previous_text_seeks_through_every_window() {
    check_passage(&DecodeOptions {
        vad: false,
        condition_on_previous_text: true,
        ..DecodeOptions::default()
    });
}

/// Faint noise (about −80 dBFS), not digital zero, so the detectors see a real floor.
fn faint_noise(secs: f32) -> Vec<f32> {
    let mut state = 0x2545_f491u32;
    (0..(secs * 16_000.0) as usize)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32 * 2e-4 - 1e-4
        })
        .collect()
}

#[test]
fn a_long_silence_between_speech_produces_no_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut pcm = speak(
        dir.path(),
        "en+m3",
        "The meeting will now take a short break.",
    );
    let gap_start = pcm.len() as f64 / 16_000.0;
    pcm.extend(faint_noise(45.0));
    let gap_end = pcm.len() as f64 / 16_000.0;
    pcm.extend(speak(
        dir.path(),
        "en+m3",
        "Welcome back, let us continue with the budget.",
    ));
    let t = run(&pcm, &DecodeOptions::default());
    assert_well_formed(&t);
    for s in &t.segments {
        assert!(
            s.end <= gap_start + 1.5 || s.start >= gap_end - 1.5,
            "text inside the silence {gap_start:.1}–{gap_end:.1}: {s:?}"
        );
    }
    let all = text(&t).to_lowercase();
    assert!(all.contains("break") && all.contains("budget"), "{all}");
    // After the gap the times are the original audio's, not the VAD-shortened ones.
    let after = t
        .segments
        .iter()
        .find(|s| s.text.to_lowercase().contains("budget"))
        .unwrap();
    assert!(after.start >= gap_end - 1.5, "{after:?}");
}

#[test]
fn silence_alone_yields_no_segments_with_or_without_the_vad() {
    let pcm = faint_noise(35.0);
    let t = run(&pcm, &DecodeOptions::default());
    assert!(t.segments.is_empty(), "hallucinated {:#?}", t.segments);
    // Without the VAD, Whisper's own rule keeps a confidently decoded "you" in a window it
    // thinks has no speech (as OpenAI's and faster-whisper's do); the gate drops it, as there is
    // no speech-like sound under it.
    let t = run(
        &pcm,
        &DecodeOptions {
            vad: false,
            ..DecodeOptions::default()
        },
    );
    assert!(t.segments.is_empty(), "hallucinated {:#?}", t.segments);
    let t = run(&[], &DecodeOptions::default());
    assert!(t.segments.is_empty() && t.duration == 0.0);
}

#[test]
fn returning_break_from_progress_cancels() {
    let dir = tempfile::tempdir().unwrap();
    let pcm = speak(
        dir.path(),
        "en+f3",
        "Please stop the transcription as soon as you can.",
    );
    let mut calls = 0;
    let err = model()
        .transcribe(&pcm, &DecodeOptions::default(), &mut |p| {
            calls += 1;
            match p {
                Progress::Segment(_) => ControlFlow::Break(()),
                Progress::Advanced { .. } => ControlFlow::Continue(()),
            }
        })
        .unwrap_err();
    assert!(matches!(err, WhisperError::Cancelled), "{err}");
    assert!(calls >= 2);
    let err = model()
        .transcribe(&pcm, &DecodeOptions::default(), &mut |_| {
            ControlFlow::Break(())
        })
        .unwrap_err();
    assert!(matches!(err, WhisperError::Cancelled));
}

#[test]
fn progress_reports_segments_and_reaches_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let pcm = speak(
        dir.path(),
        "en+f3",
        "The quarterly report is ready for review.",
    );
    let mut segments = 0;
    let mut done = 0.0f64;
    let t = model()
        .transcribe(&pcm, &DecodeOptions::default(), &mut |p| {
            match p {
                Progress::Segment(_) => segments += 1,
                Progress::Advanced {
                    done_secs,
                    total_secs,
                } => {
                    assert!(done_secs >= done && done_secs <= total_secs);
                    done = done_secs;
                }
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(segments, t.segments.len());
    assert!(segments > 0);
    assert!(
        (done - t.duration).abs() < 0.5,
        "progress ended at {done} of {}",
        t.duration
    );
    assert!(
        wer("The quarterly report is ready for review.", &text(&t)) <= 0.3,
        "{}",
        text(&t)
    );
}

#[test]
fn hostile_audio_and_options_are_errors_or_empty_not_panics() {
    let mut pcm = vec![f32::NAN; 16_000];
    pcm.extend(vec![f32::INFINITY; 16_000]);
    pcm.extend(vec![1e30; 16_000]);
    let t = run(
        &pcm,
        &DecodeOptions {
            vad: false,
            ..DecodeOptions::default()
        },
    );
    assert_well_formed(&t);
    let bad = DecodeOptions {
        beam_size: 0,
        ..DecodeOptions::default()
    };
    assert!(matches!(
        model().transcribe(&[0.0; 100], &bad, &mut |_| ControlFlow::Continue(())),
        Err(WhisperError::Options(_))
    ));
    let no_candidates = DecodeOptions {
        best_of: 0,
        ..DecodeOptions::default()
    };
    assert!(matches!(
        model().transcribe(&[0.0; 100], &no_candidates, &mut |_| ControlFlow::Continue(
            ()
        )),
        Err(WhisperError::Options(_))
    ));
    let german = DecodeOptions {
        language: Some("de".into()),
        ..DecodeOptions::default()
    };
    assert!(matches!(
        model().transcribe(&[0.0; 100], &german, &mut |_| ControlFlow::Continue(())),
        Err(WhisperError::UnknownLanguage(_))
    ));
}
