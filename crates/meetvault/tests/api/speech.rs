//! Real speech for the transcription tests: known sentences spoken by espeak-ng, assembled into
//! a single-speaker recording or one track per speaker with interleaved turns, and a word error
//! rate to hold the engine to. Generated once per test binary run (under the target's temp dir).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use meetvault_test_support::media::{ffmpeg, speak};

/// Plain sentences of meeting talk, common words only (shared with `bench/transcribe.sh`).
pub fn sentences() -> Vec<&'static str> {
    include_str!("../../../../bench/sentences.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// The three speakers of the multi-track recording: label and espeak-ng voice.
pub const SPEAKERS: &[(&str, &str)] = &[
    ("Alice", "en-gb+f3"),
    ("Bob", "en-us+m1"),
    ("Carol", "en-gb+m3"),
];

const RATE: u32 = 22_050;

fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("speech-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Reads espeak-ng's 16-bit mono WAV samples.
fn read_wav(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).unwrap();
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        if id == b"data" {
            let end = (at + 8 + len).min(bytes.len());
            return bytes[at + 8..end]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
        }
        at += 8 + len + (len & 1);
    }
    panic!("no data chunk in {}", path.display());
}

fn write_wav(path: &Path, samples: &[i16]) {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let len = data.len() as u32;
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&(RATE * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&len.to_le_bytes());
    wav.extend_from_slice(&data);
    std::fs::write(path, wav).unwrap();
}

fn spoken(text: &str, voice: &str, name: &str) -> Vec<i16> {
    let path = dir().join(format!("{name}.wav"));
    speak(text, voice, &path);
    read_wav(&path)
}

/// One speaker reading every sentence, with pauses: over 60 seconds. (WAV path, text.)
pub fn single_speaker() -> &'static (PathBuf, String) {
    static ONE: OnceLock<(PathBuf, String)> = OnceLock::new();
    ONE.get_or_init(|| {
        let mut all = Vec::new();
        for (i, s) in sentences().iter().enumerate() {
            all.extend(spoken(s, "en-us", &format!("single-{i}")));
            all.extend(std::iter::repeat_n(0i16, RATE as usize * 3 / 5));
        }
        let path = dir().join("single.wav");
        write_wav(&path, &all);
        (path, sentences().join(" "))
    })
}

/// The single speaker's reading three times over (over three minutes): long enough that a
/// transcription job is seen part-way through even on a fast machine. (WAV path, text.)
pub fn long_single_speaker() -> &'static (PathBuf, String) {
    static LONG: OnceLock<(PathBuf, String)> = OnceLock::new();
    LONG.get_or_init(|| {
        let (one, text) = single_speaker();
        let samples = read_wav(one);
        let mut all = Vec::with_capacity(samples.len() * 3);
        for _ in 0..3 {
            all.extend_from_slice(&samples);
        }
        let path = dir().join("single-long.wav");
        write_wav(&path, &all);
        (path, [text.as_str(); 3].join(" "))
    })
}

/// A turn of the multi-track recording.
#[derive(Debug, Clone)]
pub struct Turn {
    pub speaker: &'static str,
    pub text: &'static str,
    pub start: f64,
    pub end: f64,
}

/// Each speaker's label and track file, and the turns across them.
pub type Tracks = (Vec<(&'static str, PathBuf)>, Vec<Turn>);

/// Three tracks (one per speaker, silence outside their turns) of six interleaved turns:
/// (label, track WAV path) and the turns.
pub fn three_tracks() -> &'static Tracks {
    static THREE: OnceLock<Tracks> = OnceLock::new();
    THREE.get_or_init(|| {
        let mut turns = Vec::new();
        let mut clips = Vec::new();
        let mut at = RATE as usize / 2;
        for (i, text) in sentences().into_iter().take(6).enumerate() {
            let (speaker, voice) = SPEAKERS[i % SPEAKERS.len()];
            let clip = spoken(text, voice, &format!("turn-{i}"));
            turns.push(Turn {
                speaker,
                text,
                start: at as f64 / f64::from(RATE),
                end: (at + clip.len()) as f64 / f64::from(RATE),
            });
            clips.push((i % SPEAKERS.len(), at, clip.clone()));
            at += clip.len() + RATE as usize * 4 / 5;
        }
        let total = at + RATE as usize / 2;
        let mut tracks = Vec::new();
        for (n, (label, _)) in SPEAKERS.iter().enumerate() {
            let mut samples = vec![0i16; total];
            for (who, start, clip) in &clips {
                if *who == n {
                    samples[*start..*start + clip.len()].copy_from_slice(clip);
                }
            }
            let path = dir().join(format!("track-{label}.wav"));
            write_wav(&path, &samples);
            tracks.push((*label, path));
        }
        (tracks, turns)
    })
}

/// `input` converted by ffmpeg to the format its new extension names.
pub fn convert(input: &Path, extension: &str, args: &[&str]) -> PathBuf {
    let out = input.with_extension(extension);
    if !out.exists() {
        ffmpeg(input, &out, args);
    }
    out
}

/// Words of `text`, lowercased, punctuation stripped.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The multilingual fixture's sentences in `lang` (`de`, `fr`, `es`, `it`) read by espeak-ng's
/// voice for it, as one WAV: (path, text). Shared with the engine's tests
/// (`crates/whisper/tests/fixtures/multilingual.tsv`).
pub fn in_language(lang: &str) -> (PathBuf, String) {
    let mut all = Vec::new();
    let mut said = Vec::new();
    let fixture = include_str!("../../../whisper/tests/fixtures/multilingual.tsv");
    for (i, line) in fixture
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .enumerate()
    {
        let fields: Vec<&str> = line.splitn(3, '\t').collect();
        if fields[0] != lang {
            continue;
        }
        all.extend(spoken(fields[2], fields[1], &format!("{lang}-{i}")));
        all.extend(std::iter::repeat_n(0i16, RATE as usize * 3 / 5));
        said.push(fields[2]);
    }
    assert!(!said.is_empty(), "no sentences in {lang}");
    let path = dir().join(format!("{lang}.wav"));
    write_wav(&path, &all);
    (path, said.join(" "))
}

/// An English sentence with a name Whisper spells otherwise unless prompted ("Siobhan").
pub fn siobhan() -> PathBuf {
    let path = dir().join("siobhan.wav");
    write_wav(
        &path,
        &spoken(
            "Please send the report to Siobhan before lunch.",
            "en-us",
            "siobhan",
        ),
    );
    path
}
