//! The embedded MiniLM against sentence-transformers: the same token ids and vectors within
//! float tolerance on the fixture's sentences (meeting lines, empty and blank text, accents,
//! Japanese, emoji and a URL, injection strings, placeholders, control whitespace, shouting,
//! and a text past the 256-token limit), generated once by
//! `scripts/fixtures/minilm_reference.py`.

use serde::Deserialize;

use crate::support::{embedder, fixture};

#[derive(Deserialize)]
struct Reference {
    max_seq_length: usize,
    sentences: Vec<String>,
    token_ids: Vec<Vec<u32>>,
    embeddings: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let bytes = std::fs::read(fixture("minilm-reference.json")).expect("fixture");
    serde_json::from_slice(&bytes).expect("fixture parses")
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn tokens_match_sentence_transformers() {
    let r = reference();
    let e = embedder();
    assert_eq!(e.max_tokens(), r.max_seq_length);
    for (s, want) in r.sentences.iter().zip(&r.token_ids) {
        assert_eq!(&e.token_ids(s).unwrap(), want, "token ids of {s:?}");
    }
}

#[test]
fn vectors_match_sentence_transformers() {
    let r = reference();
    let e = embedder();
    let texts: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
    // Batched (sorted by length, padded) and one at a time agree with the reference.
    let batched = e.embed(&texts).unwrap();
    let mut worst = f32::MAX;
    for (i, (got, want)) in batched.iter().zip(&r.embeddings).enumerate() {
        assert_eq!(got.len(), 384);
        let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "unit length, got {norm}");
        let max_diff = got
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        let cos = cosine(got, want);
        worst = worst.min(cos);
        assert!(
            cos > 0.9999 && max_diff < 2e-3,
            "sentence {i} ({:?}): cosine {cos}, max abs diff {max_diff}",
            r.sentences[i].chars().take(40).collect::<String>()
        );
        let single = e.embed(&[texts[i]]).unwrap();
        assert!(
            cosine(&single[0], got) > 0.99999,
            "padding changed sentence {i}"
        );
    }
    eprintln!("MiniLM vs sentence-transformers: worst cosine {worst}");
}

#[test]
fn similar_sentences_are_closer_than_unrelated_ones() {
    let e = embedder();
    let v = e
        .embed(&[
            "We agreed to delay the product launch.",
            "The release date has been pushed back.",
            "My cat likes to sleep in the sun.",
        ])
        .unwrap();
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.2);
}

#[test]
fn a_missing_or_damaged_model_is_a_clear_error() {
    let dir = tempfile_dir();
    let err = meetvault_intel::embed::Embedder::load(&dir)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("config.json") && err.contains("scripts/models.sh"),
        "{err}"
    );
    for f in ["config.json", "tokenizer.json", "sentence_bert_config.json"] {
        std::fs::copy(crate::support::minilm_dir().join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("model.safetensors"), b"not a safetensors file").unwrap();
    let err = meetvault_intel::embed::Embedder::load(&dir)
        .unwrap_err()
        .to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mv-intel-embed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
