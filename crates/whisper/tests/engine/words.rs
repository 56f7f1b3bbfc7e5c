//! Word timestamps, held to two references: faster-whisper's (`word_timestamps=True`, float32,
//! greedy, no VAD) word for word on the differential test's recordings, and the truth on
//! speech whose word boundaries are known: every word spoken separately by espeak-ng, its
//! silence trimmed, and the words joined with short gaps of varied length, so each word's true
//! start is the sample where it was put.

use meetvault_whisper::{DecodeOptions, Transcript, Word};
use serde::Deserialize;

use crate::audio::{silence, speak};
use crate::parity::{Recording, fixtures, greedy, peer};
use crate::support::{model, model_dir};

/// How far a word's start or end may be from faster-whisper's, in seconds: one 20-ms alignment
/// step, for a path that parts at a near-tie of the float32 attention. Measured on the three
/// fixtures: 0.000 s (every word's start and end identical).
const PEER_TIME_TOLERANCE: f64 = 0.02;
/// How far a word's probability may be from faster-whisper's (measured: at most 0.0004).
const PEER_PROBABILITY_TOLERANCE: f64 = 0.01;
/// The median absolute error of word starts against the truth must stay under this. Measured:
/// 124 ms over 292 matched words of four voices (per voice 102–150 ms, the same with and
/// without the VAD); most of it is the gap before a word, which the alignment path may spend
/// on either side of it. The bound is the 150 ms, a margin of about 25 ms.
const TRUTH_MEDIAN_BOUND: f64 = 0.15;

#[derive(Debug, Deserialize)]
struct PeerWord {
    text: String,
    start: f64,
    end: f64,
    probability: f64,
}

#[derive(Debug, Deserialize)]
struct PeerSegment {
    start: f64,
    end: f64,
    words: Vec<PeerWord>,
}

#[derive(Debug, Deserialize)]
struct PeerRun {
    segments: Vec<PeerSegment>,
}

fn with_words(opts: DecodeOptions) -> DecodeOptions {
    DecodeOptions {
        word_timestamps: true,
        ..opts
    }
}

fn all_words(t: &Transcript) -> Vec<&Word> {
    t.segments.iter().flat_map(|s| &s.words).collect()
}

/// Compare one recording's words with faster-whisper's; returns the failures and the largest
/// time and probability differences.
fn compare_words(rec: &Recording) -> (Vec<String>, f64, f64) {
    let out = peer(&[
        "words",
        model_dir().to_str().unwrap(),
        rec.wav.to_str().unwrap(),
        "float32",
    ]);
    let theirs: PeerRun = serde_json::from_slice(&out).expect("the peer's JSON");
    let ours = model()
        .transcribe(&rec.pcm, &with_words(greedy()), &mut |_| {
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    let mut failures = Vec::new();
    let (mut max_dt, mut max_dp) = (0f64, 0f64);
    let our_words = all_words(&ours);
    let their_words: Vec<&PeerWord> = theirs.segments.iter().flat_map(|s| &s.words).collect();
    if our_words.len() != their_words.len() {
        failures.push(format!(
            "{}: {} words against faster-whisper's {}",
            rec.name,
            our_words.len(),
            their_words.len()
        ));
    }
    for (i, (a, b)) in our_words.iter().zip(&their_words).enumerate() {
        let dt = (a.start - b.start).abs().max((a.end - b.end).abs());
        let dp = (f64::from(a.probability) - b.probability).abs();
        max_dt = max_dt.max(dt);
        max_dp = max_dp.max(dp);
        if dt > 1e-9 || a.text != b.text {
            eprintln!(
                "  {} word {i}: meetvault {:?} {:.2}–{:.2}, faster-whisper {:?} {:.2}–{:.2}",
                rec.name, a.text, a.start, a.end, b.text, b.start, b.end
            );
        }
        if a.text != b.text || dt > PEER_TIME_TOLERANCE || dp > PEER_PROBABILITY_TOLERANCE {
            failures.push(format!(
                "{} word {i}: meetvault {:?} {:.3}–{:.3} p {:.4}, faster-whisper {:?} \
                 {:.3}–{:.3} p {:.4}",
                rec.name,
                a.text,
                a.start,
                a.end,
                a.probability,
                b.text,
                b.start,
                b.end,
                b.probability
            ));
        }
    }
    // Segment boundaries follow the words.
    if ours.segments.len() == theirs.segments.len() {
        for (a, b) in ours.segments.iter().zip(&theirs.segments) {
            let dt = (a.start - b.start).abs().max((a.end - b.end).abs());
            max_dt = max_dt.max(dt);
            if dt > PEER_TIME_TOLERANCE {
                failures.push(format!(
                    "{}: segment {:.3}–{:.3} against faster-whisper's {:.3}–{:.3}",
                    rec.name, a.start, a.end, b.start, b.end
                ));
            }
        }
    } else {
        failures.push(format!(
            "{}: {} segments against faster-whisper's {}",
            rec.name,
            ours.segments.len(),
            theirs.segments.len()
        ));
    }
    (failures, max_dt, max_dp)
}

#[test]
fn words_of_the_fixtures_are_faster_whispers_words_at_faster_whispers_times() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut words = 0;
    for rec in fixtures(dir.path()) {
        let (f, dt, dp) = compare_words(&rec);
        eprintln!(
            "{}: words differ from faster-whisper's by at most {dt:.3} s, probability {dp:.5}",
            rec.name
        );
        failures.extend(f);
        words += 1;
    }
    assert_eq!(words, 3);
    assert!(
        failures.is_empty(),
        "meetvault's words differ from faster-whisper's:\n{}",
        failures.join("\n")
    );
}

/// Lowercase letters and digits only.
fn normalise(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Index pairs of the longest common subsequence of two word lists.
fn match_words(reference: &[String], hypothesis: &[String]) -> Vec<(usize, usize)> {
    let (n, m) = (reference.len(), hypothesis.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if reference[i] == hypothesis[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < n && j < m {
        if reference[i] == hypothesis[j] {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

/// The first and one past the last sample louder than `threshold`.
fn trim(pcm: &[f32], threshold: f32) -> &[f32] {
    let first = pcm.iter().position(|x| x.abs() > threshold).unwrap_or(0);
    let last = pcm
        .iter()
        .rposition(|x| x.abs() > threshold)
        .map_or(pcm.len(), |i| i + 1);
    &pcm[first..last.max(first)]
}

#[test]
fn word_starts_are_within_150_ms_of_the_truth_on_speech_with_known_word_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let sentences: Vec<&str> = include_str!("../../../../bench/sentences.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .collect();
    let gaps = [0.12f32, 0.05, 0.2, 0.08, 0.3, 0.15, 0.1, 0.25];
    let mut all_errors = Vec::new();
    let mut report = Vec::new();
    for (v, voice) in ["en-us", "en-gb+f3", "en-gb-scotland", "en-us+m3"]
        .iter()
        .enumerate()
    {
        let mut pcm = silence(0.4);
        let mut reference: Vec<(String, f64)> = Vec::new();
        for (k, word) in sentences.join(" ").split_whitespace().enumerate() {
            let spoken = speak(dir.path(), voice, word);
            reference.push((normalise(word), pcm.len() as f64 / 16_000.0));
            pcm.extend_from_slice(trim(&spoken, 0.01));
            pcm.extend(silence(gaps[(k + v) % gaps.len()]));
        }
        pcm.extend(silence(0.5));
        for vad in [true, false] {
            let opts = with_words(DecodeOptions {
                vad,
                ..DecodeOptions::default()
            });
            let t = model()
                .transcribe(&pcm, &opts, &mut |_| std::ops::ControlFlow::Continue(()))
                .unwrap();
            let hyp: Vec<&Word> = all_words(&t);
            for w in hyp.windows(2) {
                assert!(
                    w[0].start <= w[0].end && w[0].end <= w[1].start + 1e-9,
                    "{voice}: words out of order: {w:?}"
                );
            }
            let ref_text: Vec<String> = reference.iter().map(|r| r.0.clone()).collect();
            let hyp_text: Vec<String> = hyp.iter().map(|w| normalise(&w.text)).collect();
            let pairs = match_words(&ref_text, &hyp_text);
            assert!(
                pairs.len() * 10 >= reference.len() * 7,
                "{voice}: only {} of {} words recognised: {hyp_text:?}",
                pairs.len(),
                reference.len()
            );
            let mut errors: Vec<f64> = pairs
                .iter()
                .map(|&(i, j)| (hyp[j].start - reference[i].1).abs())
                .collect();
            errors.sort_by(f64::total_cmp);
            let median = errors[errors.len() / 2];
            report.push(format!(
                "{voice} (VAD {vad}): {} of {} words matched, start error median {:.0} ms, \
                 90th percentile {:.0} ms, max {:.0} ms",
                pairs.len(),
                reference.len(),
                median * 1e3,
                errors[errors.len() * 9 / 10] * 1e3,
                errors[errors.len() - 1] * 1e3
            ));
            all_errors.extend(errors);
        }
    }
    all_errors.sort_by(f64::total_cmp);
    let median = all_errors[all_errors.len() / 2];
    for r in &report {
        eprintln!("{r}");
    }
    eprintln!(
        "all voices: median absolute start error {:.0} ms over {} words",
        median * 1e3,
        all_errors.len()
    );
    assert!(
        median < TRUTH_MEDIAN_BOUND,
        "median absolute start error {:.0} ms:\n{}",
        median * 1e3,
        report.join("\n")
    );
}
