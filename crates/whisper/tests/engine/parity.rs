//! The differential test: meetvault's engine and faster-whisper (PyPI, CTranslate2, `float32`,
//! greedy — and beam search on the short recordings —, no VAD, the same previous-text
//! conditioning, timestamps on) decode the same recordings with the same tiny.en folder, and every 30-second window must come out as the same
//! tokens from the same prompt at the same offset. A difference is accepted only where the
//! decoder weighed the two engines' choices within floating-point rounding of each other
//! ([`TIE`]); every one is printed. The log-mel features are compared too.
//!
//! faster-whisper comes from `scripts/faster-whisper.sh` (pinned versions, a private virtualenv
//! in the tools cache); when it cannot be installed the test fails, it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use meetvault_whisper::{DecodeOptions, Model, Task, WindowTrace};
use serde::Deserialize;

use crate::audio::{silence, speak};
use crate::support::{model, model_dir};

/// The widest gap in log-probability between the token meetvault chose and the one
/// faster-whisper chose that counts as a tie broken by rounding. Both engines compute in
/// float32 with different summation orders (CTranslate2's oneDNN/MKL kernels, candle's gemm);
/// their log-probabilities of the same token differ by a few thousandths.
const TIE: f32 = 0.02;
/// How far the engines' window scores may drift apart when their tokens agree.
const SCORE_DRIFT: f32 = 0.01;
/// How far apart the log-mel features may be (normalised units; speech spans about 2).
const MEL_DRIFT: f32 = 5e-4;

#[derive(Debug, Deserialize)]
pub(crate) struct PeerWindow {
    seek: usize,
    prompt: Vec<u32>,
    tokens: Vec<u32>,
    avg_logprob: f32,
    no_speech_prob: f32,
    temperature: f32,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PeerRun {
    pub windows: Vec<PeerWindow>,
    /// The language faster-whisper detected (or was given) and every language's probability.
    pub language: String,
    pub language_probs: Vec<(String, f32)>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The peer's python, installed by `scripts/faster-whisper.sh` on first use.
fn peer_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("bash")
            .arg(workspace_root().join("scripts/faster-whisper.sh"))
            .output()
            .expect("running bash scripts/faster-whisper.sh");
        assert!(
            out.status.success(),
            "faster-whisper, the peer this test holds the engine to, could not be installed by \
             scripts/faster-whisper.sh (it needs python3 with venv and PyPI):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
    })
}

pub(crate) fn peer(args: &[&str]) -> Vec<u8> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/faster_whisper_peer.py");
    let out = Command::new(peer_python())
        .arg(&script)
        .args(args)
        .env("OMP_NUM_THREADS", "2")
        .output()
        .expect("running the faster-whisper peer");
    assert!(
        out.status.success(),
        "the faster-whisper peer failed ({args:?}):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A recording both engines read: the WAV for faster-whisper and the very same samples.
pub(crate) struct Recording {
    pub name: &'static str,
    pub wav: PathBuf,
    pub pcm: Vec<f32>,
}

/// Write `pcm` as a 16-bit 16 kHz WAV and keep the samples as the WAV holds them.
pub(crate) fn record(dir: &Path, name: &'static str, pcm: &[f32]) -> Recording {
    let wav = dir.join(format!("{name}.wav"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&wav, spec).unwrap();
    let quantised: Vec<i16> = pcm
        .iter()
        .map(|&x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect();
    for &s in &quantised {
        writer.write_sample(s).unwrap();
    }
    writer.finalize().unwrap();
    let pcm = quantised.iter().map(|&s| f32::from(s) / 32768.0).collect();
    Recording { name, wav, pcm }
}

/// Faint noise (about −70 dBFS): a quiet room, not digital zero.
fn faint_noise(secs: f32) -> Vec<f32> {
    let mut state = 0x9e37_79b9u32;
    (0..(secs * 16_000.0) as usize)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 6e-4
        })
        .collect()
}

/// The project's own fixtures: two sentences, the bench's passage read by one voice, and one
/// speaker's track of a three-speaker meeting (speech between long silences).
pub fn fixtures(dir: &Path) -> Vec<Recording> {
    let sentences: Vec<&str> = include_str!("../../../../bench/sentences.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut short = silence(0.5);
    short.extend(speak(dir, "en-gb+f3", &sentences[..2].join(" ")));
    short.extend(silence(0.5));
    let mut passage = Vec::new();
    for s in &sentences {
        passage.extend(speak(dir, "en-us", s));
        passage.extend(silence(0.6));
    }
    let mut track = silence(0.5);
    for (i, s) in sentences.iter().take(6).enumerate() {
        let turn = speak(dir, "en-gb+f3", s);
        if i % 3 == 0 {
            track.extend(turn);
        } else {
            track.extend(silence(turn.len() as f32 / 16_000.0));
        }
        track.extend(silence(0.8));
    }
    vec![
        record(dir, "two-sentences", &short),
        record(dir, "bench-passage", &passage),
        record(dir, "one-track-of-three", &track),
    ]
}

/// About 100 s: four voices taking turns, pauses from a breath to several seconds, and a quiet
/// ending of faint noise (where Whisper is tempted to invent a closing "Thank you").
pub fn long_meeting(dir: &Path) -> Recording {
    const TURNS: &[(&str, &str, f32)] = &[
        (
            "en-us",
            "Hello and welcome, my name is Victoria and I will chair today's review.",
            1.0,
        ),
        (
            "en-us",
            "We have three topics: hiring, the office move, and the support backlog.",
            2.0,
        ),
        (
            "en-gb+m3",
            "Thank you Victoria. Let me start with hiring, since it is the most urgent.",
            0.6,
        ),
        (
            "en-gb+m3",
            "We interviewed five people last week and made two offers.",
            1.5,
        ),
        (
            "en-us+f2",
            "Did both of them accept, or are we still waiting for an answer?",
            0.8,
        ),
        (
            "en-gb+m3",
            "One accepted yesterday. The other one wants more time to decide.",
            3.5,
        ),
        (
            "en-gb-scotland",
            "The office move is planned for the first weekend of March.",
            0.5,
        ),
        (
            "en-gb-scotland",
            "Movers will pack the desks on Friday, so please clear your drawers by Thursday.",
            2.5,
        ),
        (
            "en-us+f2",
            "What happens to the servers in the basement during the move?",
            1.0,
        ),
        (
            "en-gb-scotland",
            "They stay where they are. Only the laptops and monitors travel with us.",
            6.0,
        ),
        (
            "en-us",
            "Finally, the support backlog grew to two hundred open tickets.",
            0.7,
        ),
        (
            "en-us",
            "Most of them are about password resets and slow reports.",
            1.2,
        ),
        (
            "en-us+f2",
            "I can write a help article about resets today, and he can look at the reports.",
            0.9,
        ),
        (
            "en-gb+m3",
            "Agreed. I will profile the slowest report this afternoon.",
            1.5,
        ),
        (
            "en-us",
            "Good. That is everything for today, thank you all for coming.",
            0.0,
        ),
    ];
    let mut pcm = silence(0.4);
    for (voice, text, pause) in TURNS {
        pcm.extend(speak(dir, voice, text));
        pcm.extend(silence(*pause));
    }
    pcm.extend(faint_noise(9.0));
    record(dir, "long-meeting", &pcm)
}

fn our_windows(m: &Model, rec: &Recording, opts: &DecodeOptions) -> Vec<WindowTrace> {
    let mut windows = Vec::new();
    m.transcribe_traced(&rec.pcm, opts, &mut |w| windows.push(w))
        .unwrap();
    windows
}

/// faster-whisper's run of `rec` with the model in `model_dir`, as `opts` ask (VAD off);
/// with `mel`, its log-mel features are written there.
pub(crate) fn peer_run(
    model_dir: &Path,
    rec: &Recording,
    opts: &DecodeOptions,
    mel: Option<&Path>,
) -> PeerRun {
    let options = serde_json::json!({
        "beam_size": opts.beam_size,
        "condition_on_previous_text": opts.condition_on_previous_text,
        "language": opts.language,
        "task": match opts.task { Task::Transcribe => "transcribe", Task::Translate => "translate" },
        "initial_prompt": opts.initial_prompt,
        "multilingual": opts.multilingual,
    })
    .to_string();
    let mut args = vec![
        "decode",
        model_dir.to_str().unwrap(),
        rec.wav.to_str().unwrap(),
        "float32",
        &options,
    ];
    args.extend(mel.and_then(Path::to_str));
    let out = peer(&args);
    serde_json::from_slice::<PeerRun>(&out).expect("the peer's JSON")
}

/// What a comparison found, for the report and the assertions.
#[derive(Default)]
struct Outcome {
    agreed: usize,
    explained: Vec<String>,
    failures: Vec<String>,
    not_compared: usize,
}

fn compare(m: &Model, rec: &Recording, opts: &DecodeOptions, theirs: &[PeerWindow]) -> Outcome {
    let ours = our_windows(m, rec, opts);
    let mut out = Outcome::default();
    let mut diverged = false;
    for i in 0..ours.len().max(theirs.len()) {
        let (Some(a), Some(b)) = (ours.get(i), theirs.get(i)) else {
            if diverged {
                out.not_compared += 1;
            } else {
                out.failures.push(format!(
                    "window {i}: meetvault decoded {} windows, faster-whisper {}",
                    ours.len(),
                    theirs.len()
                ));
                break;
            }
            continue;
        };
        let at = format!(
            "window {i} (frame {}, {:.2} s)",
            a.seek,
            a.seek as f64 / 100.0
        );
        if a.seek != b.seek || a.prompt != b.prompt {
            if diverged {
                // After an accepted difference the engines read different windows or prompts.
                out.not_compared += 1;
                continue;
            }
            out.failures.push(format!(
                "{at}: seek {} vs {}, prompt\n  meetvault      {:?}\n  faster-whisper {:?}",
                a.seek,
                b.seek,
                m.token_strings(&a.prompt).concat(),
                m.token_strings(&b.prompt).concat()
            ));
            break;
        }
        if a.temperature != 0.0 || b.temperature != 0.0 {
            if a.temperature != b.temperature {
                out.failures.push(format!(
                    "{at}: fell back to temperature {} vs {}",
                    a.temperature, b.temperature
                ));
            } else {
                // Sampled: the engines draw different random numbers.
                out.not_compared += 1;
            }
            diverged = true;
            continue;
        }
        if a.tokens == b.tokens {
            out.agreed += 1;
            let drift = (a.avg_logprob - b.avg_logprob)
                .abs()
                .max((a.no_speech_prob - b.no_speech_prob).abs());
            if drift > SCORE_DRIFT {
                out.failures.push(format!(
                    "{at}: same tokens, but avg log-prob {} vs {} and no-speech {} vs {}",
                    a.avg_logprob, b.avg_logprob, a.no_speech_prob, b.no_speech_prob
                ));
            }
            continue;
        }
        // The first token where they part, and how the decoder weighed the two choices.
        let k = a
            .tokens
            .iter()
            .zip(&b.tokens)
            .take_while(|(x, y)| x == y)
            .count();
        let eot = m.end_of_text(); // where one engine stopped
        let ours_next = a.tokens.get(k).copied().unwrap_or(eot);
        let theirs_next = b.tokens.get(k).copied().unwrap_or(eot);
        let lp = m
            .next_token_logprobs(&rec.pcm, a.seek, &a.prompt, &a.tokens[..k])
            .unwrap();
        let gap = lp[ours_next as usize] - lp[theirs_next as usize];
        let context = m.token_strings(&a.tokens[k.saturating_sub(6)..k]).concat();
        let report = format!(
            "{at}, token {k} after {context:?}: meetvault {:?} ({:.4}), faster-whisper {:?} \
             ({:.4}), gap {gap:.4}",
            m.token_strings(&[ours_next]).concat(),
            lp[ours_next as usize],
            m.token_strings(&[theirs_next]).concat(),
            lp[theirs_next as usize],
        );
        if gap.abs() <= TIE {
            out.explained.push(report);
            diverged = true;
        } else {
            out.failures.push(report);
            break;
        }
    }
    out
}

/// The largest difference between meetvault's log-mel features of `rec` and faster-whisper's
/// (written to `path`).
fn mel_drift(m: &Model, rec: &Recording, path: &Path) -> f32 {
    let theirs: Vec<f32> = std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let (ours, _) = m.log_mel(&rec.pcm).unwrap();
    assert_eq!(ours.len(), theirs.len(), "{}: mel frames differ", rec.name);
    ours.iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max)
}

/// Decode every recording in every mode with both engines and tiny.en; fail on any difference
/// that rounding does not explain, and print the ones it does.
fn check(recordings: &[Recording], modes: &[DecodeOptions]) {
    check_with(model(), &model_dir(), recordings, modes);
}

/// [`check`] with the model `m` loaded from `model_dir`.
pub(crate) fn check_with(
    m: &Model,
    model_dir: &Path,
    recordings: &[Recording],
    modes: &[DecodeOptions],
) {
    let mut failures = Vec::new();
    for rec in recordings {
        for (n, opts) in modes.iter().enumerate() {
            // The features once per recording: the encoder sees exactly these.
            let mel = (n == 0).then(|| rec.wav.with_extension("mel"));
            let theirs = peer_run(model_dir, rec, opts, mel.as_deref()).windows;
            if let Some(path) = &mel {
                let drift = mel_drift(m, rec, path);
                eprintln!(
                    "{}: log-mel features differ by at most {drift:.2e}",
                    rec.name
                );
                if drift > MEL_DRIFT {
                    failures.push(format!(
                        "{}: log-mel features differ by up to {drift}",
                        rec.name
                    ));
                }
            }
            let out = compare(m, rec, opts, &theirs);
            eprintln!(
                "{} (beam {}, previous text {}, {:?}, prompt {:?}, per-window language {}): {} \
                 windows agree, {} differ within rounding, {} not comparable after that",
                rec.name,
                opts.beam_size,
                opts.condition_on_previous_text,
                opts.task,
                opts.initial_prompt,
                opts.multilingual,
                out.agreed,
                out.explained.len(),
                out.not_compared
            );
            for e in &out.explained {
                eprintln!("  rounding: {e}");
            }
            if out.agreed == 0 && out.failures.is_empty() {
                failures.push(format!("{}: no window could be compared", rec.name));
            }
            failures.extend(out.failures.iter().map(|f| format!("{}: {f}", rec.name)));
        }
    }
    assert!(
        failures.is_empty(),
        "meetvault and faster-whisper decode differently:\n{}",
        failures.join("\n")
    );
}

pub(crate) fn greedy() -> DecodeOptions {
    DecodeOptions {
        vad: false,
        beam_size: 1,
        ..DecodeOptions::default()
    }
}

#[test]
fn every_window_of_the_fixtures_decodes_to_faster_whispers_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = fixtures(dir.path());
    check(&recordings, &[greedy()]);
    // Beam search on the short ones (faster-whisper's float32 beam search is slow).
    let beam = DecodeOptions {
        beam_size: 5,
        ..greedy()
    };
    let short: Vec<Recording> = recordings
        .into_iter()
        .filter(|r| r.name != "bench-passage")
        .collect();
    check(&short, &[beam]);
}

#[test]
fn every_window_of_a_long_meeting_with_pauses_and_a_quiet_end_decodes_to_faster_whispers_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let rec = long_meeting(dir.path());
    let duration = rec.pcm.len() as f64 / 16_000.0;
    assert!(
        (95.0..=125.0).contains(&duration),
        "the meeting is {duration:.1} s"
    );
    // As configured, and with the other choice of previous-text conditioning.
    let opts = greedy();
    let other = DecodeOptions {
        condition_on_previous_text: !opts.condition_on_previous_text,
        ..opts.clone()
    };
    check(&[rec], &[opts, other]);
}
