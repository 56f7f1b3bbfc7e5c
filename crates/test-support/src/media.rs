//! Audio for tests: WAV files around chosen bytes, the local Whisper model, speech from
//! espeak-ng and every upload format from ffmpeg. A missing tool is a loud failure naming the
//! package to install, never a skipped test.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A valid 16 kHz mono 16-bit PCM WAV whose sample data is `payload` (padded to whole
/// samples): lets a test plant recognisable bytes inside a real recording.
pub fn wav_with_payload(payload: &[u8]) -> Vec<u8> {
    let mut data = payload.to_vec();
    if data.len() % 2 == 1 {
        data.push(0);
    }
    if data.is_empty() {
        data.extend_from_slice(&[0, 0]);
    }
    let len = u32::try_from(data.len()).expect("payload under 4 GiB");
    let mut wav = Vec::with_capacity(44 + data.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&16_000u32.to_le_bytes());
    wav.extend_from_slice(&32_000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&len.to_le_bytes());
    wav.extend_from_slice(&data);
    wav
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A model `scripts/models.sh` installs: the variable that overrides its folder, its name
/// for `--model`, its folder in the cache and the file that says it is there.
#[derive(Debug, Clone, Copy)]
pub struct CachedModel {
    var: &'static str,
    name: &'static str,
    folder: &'static str,
    weights: &'static str,
}

pub const TINY_EN: CachedModel = CachedModel {
    var: "TEST_WHISPER_MODEL",
    name: "tiny.en",
    folder: "whisper-tiny.en",
    weights: "model.bin",
};
pub const BASE: CachedModel = CachedModel {
    var: "TEST_WHISPER_BASE_MODEL",
    name: "base",
    folder: "whisper-base",
    weights: "model.bin",
};
/// SmolLM2-135M-Instruct, the embedded chat model (`model.gguf` in its folder).
pub const SMOLLM2: CachedModel = CachedModel {
    var: "TEST_CHAT_MODEL",
    name: "smollm2",
    folder: "smollm2-135m-instruct",
    weights: "model.gguf",
};
/// all-MiniLM-L6-v2, the embedding model.
pub const MINILM: CachedModel = CachedModel {
    var: "TEST_EMBED_MODEL",
    name: "minilm",
    folder: "all-minilm-l6-v2",
    weights: "model.safetensors",
};

/// The local Whisper model folder (tiny.en): `TEST_WHISPER_MODEL`, else the tools cache
/// (installing it there with `scripts/models.sh` when missing).
pub fn whisper_model_dir() -> PathBuf {
    installed_model(&TINY_EN)
}

/// The multilingual Whisper base folder: `TEST_WHISPER_BASE_MODEL`, else the tools cache
/// (installing it there with `scripts/models.sh --model base` when missing).
pub fn whisper_base_model_dir() -> PathBuf {
    installed_model(&BASE)
}

/// The embedded chat model's folder, installed when missing.
pub fn chat_model_dir() -> PathBuf {
    installed_model(&SMOLLM2)
}

/// The embedding model's folder, installed when missing.
pub fn embedding_model_dir() -> PathBuf {
    installed_model(&MINILM)
}

/// Where a model is (or will be once a test installs it): no install here.
pub fn cached_model_dir(model: CachedModel) -> PathBuf {
    if let Some(dir) = std::env::var_os(model.var) {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home)
        .join(".cache/meetvault-tools/models")
        .join(model.folder)
}

fn installed_model(model: &CachedModel) -> PathBuf {
    let name = model.name;
    if let Some(dir) = std::env::var_os(model.var) {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cache = PathBuf::from(home).join(".cache/meetvault-tools/models");
    let dir = cache.join(model.folder);
    if dir.join(model.weights).is_file() && dir.join(".installed-from").is_file() {
        return dir;
    }
    let out = Command::new(workspace_root().join("scripts/models.sh"))
        .args(["--model", name])
        .arg(&cache)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run scripts/models.sh to install the {name} model: {e}")
        });
    assert!(
        out.status.success(),
        "installing the {name} model failed (scripts/models.sh --model {name} {}): {}",
        cache.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Runs a tool, failing loudly (naming the Debian package) when it is missing or fails.
pub fn run(tool: &str, package: &str, args: &[&str]) {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("`{tool}` is needed by this test and cannot be run ({e}): apt-get install {package}")
    });
    assert!(
        out.status.success(),
        "`{tool} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Speaks `text` with espeak-ng `voice` into a WAV file at `path`.
pub fn speak(text: &str, voice: &str, path: &Path) {
    let path = path.to_str().expect("utf-8 path");
    run(
        "espeak-ng",
        "espeak-ng",
        &["-v", voice, "-s", "160", "-w", path, text],
    );
}

/// Converts `input` to `output` with ffmpeg (the output's extension and `args` pick the format).
pub fn ffmpeg(input: &Path, output: &Path, args: &[&str]) {
    let mut all = vec![
        "-v",
        "error",
        "-y",
        "-i",
        input.to_str().expect("utf-8 path"),
    ];
    all.extend_from_slice(args);
    all.push(output.to_str().expect("utf-8 path"));
    run("ffmpeg", "ffmpeg", &all);
}
