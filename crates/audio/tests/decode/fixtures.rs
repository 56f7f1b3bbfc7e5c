//! Test fixtures: a spoken clip from espeak-ng, encoded by ffmpeg into every supported format,
//! once per test run, in a directory under the target's temporary folder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use meetvault_audio::{AudioInfo, Limits};

pub const SPEECH: &str =
    "Welcome to the quarterly planning meeting. Let us review the action items from last week.";

/// Generous limits for tests that are not about limits.
pub fn limits() -> Limits {
    Limits {
        max_duration_secs: 24.0 * 3600.0,
    }
}

/// The fixture directory, made on first use; panics with the install command if a tool is
/// missing (these tests never skip).
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(base).unwrap();
        let dir = tempfile::Builder::new()
            .prefix("audio-fixtures-")
            .tempdir_in(base)
            .unwrap()
            .keep();
        let speech = dir.join("speech.wav");
        run(
            "espeak-ng",
            &["-w".as_ref(), speech.as_os_str(), SPEECH.as_ref()],
        );
        for (name, args) in ENCODINGS {
            ffmpeg(&speech, &dir.join(name), args);
        }
        dir
    })
}

/// File name and ffmpeg output arguments for each fixture.
const ENCODINGS: &[(&str, &[&str])] = &[
    ("speech.flac", &["-c:a", "flac"]),
    ("speech.mp3", &["-c:a", "libmp3lame", "-b:a", "64k"]),
    ("speech.m4a", &["-c:a", "aac", "-b:a", "96k"]),
    (
        "speech-faststart.m4a",
        &["-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart"],
    ),
    ("speech.ogg", &["-c:a", "libvorbis", "-q:a", "4"]),
    ("speech.opus", &["-c:a", "libopus", "-b:a", "48k"]),
    ("speech.webm", &["-c:a", "libopus", "-b:a", "48k"]),
    // As a browser's MediaRecorder writes it: no duration, no cues, unknown sizes.
    (
        "speech-live.webm",
        &["-c:a", "libopus", "-b:a", "48k", "-live", "1"],
    ),
    // Left channel speech, right channel silent: the downmix halves the level.
    (
        "speech-stereo-48k.wav",
        &[
            "-af",
            "pan=stereo|c0=c0|c1=0*c0",
            "-ar",
            "48000",
            "-c:a",
            "pcm_s16le",
        ],
    ),
    ("speech-44k.flac", &["-ar", "44100", "-c:a", "flac"]),
];

pub fn fixture(name: &str) -> PathBuf {
    dir().join(name)
}

pub fn ffmpeg(input: &Path, output: &Path, args: &[&str]) {
    let mut all: Vec<&std::ffi::OsStr> = vec![
        "-hide_banner".as_ref(),
        "-loglevel".as_ref(),
        "error".as_ref(),
        "-y".as_ref(),
    ];
    if input.as_os_str() != "-" {
        all.extend(["-i".as_ref(), input.as_os_str()]);
    }
    all.extend(args.iter().map(std::ffi::OsStr::new));
    all.push(output.as_os_str());
    run("ffmpeg", &all);
}

/// Makes a file with ffmpeg from lavfi sources (no input file).
pub fn ffmpeg_lavfi(output: &Path, args: &[&str]) {
    let mut all: Vec<&str> = vec!["-hide_banner", "-loglevel", "error", "-y"];
    all.extend(args);
    let mut cmd: Vec<&std::ffi::OsStr> = all.iter().map(|a| a.as_ref()).collect();
    cmd.push(output.as_os_str());
    run("ffmpeg", &cmd);
}

fn run(tool: &str, args: &[&std::ffi::OsStr]) {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("{tool} is needed by these tests and could not be run ({e}): apt-get install ffmpeg espeak-ng")
    });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The 16 kHz reference: the lossless WAV source through our own decoder.
pub fn reference() -> &'static (Vec<f32>, AudioInfo) {
    static REF: OnceLock<(Vec<f32>, AudioInfo)> = OnceLock::new();
    REF.get_or_init(|| meetvault_audio::decode_file(&fixture("speech.wav"), &limits()).unwrap())
}

/// The best normalized cross-correlation between `a` and `b` over lags of ±`max_lag` samples,
/// on a window in the middle of the reference.
pub fn best_correlation(reference: &[f32], other: &[f32], max_lag: usize) -> f64 {
    let start = reference.len() / 4;
    let window = &reference[start..start + reference.len() / 2];
    let energy = |x: &[f32]| x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>();
    let ref_energy = energy(window);
    let mut best = -1.0f64;
    for lag in -(max_lag as i64)..=max_lag as i64 {
        let from = start as i64 + lag;
        if from < 0 || from as usize + window.len() > other.len() {
            continue;
        }
        let shifted = &other[from as usize..from as usize + window.len()];
        let dot: f64 = window
            .iter()
            .zip(shifted)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        best = best.max(dot / (ref_energy * energy(shifted)).sqrt().max(1e-12));
    }
    best
}

pub fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}
