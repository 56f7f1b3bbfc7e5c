//! Loading checkpoints: CTranslate2 and Hugging Face give the same transcription, `inspect` is
//! right, and broken folders are precise errors.

use std::ops::ControlFlow;

use meetvault_whisper::{
    DecodeOptions, Model, ModelFormat, Precision, WhisperError, inspect, write_hf_checkpoint,
};

use crate::audio::speak;
use crate::support::{model, model_dir};

#[test]
fn inspect_reads_the_ctranslate2_header_without_loading() {
    let info = inspect(&model_dir()).unwrap();
    assert_eq!(info.format, ModelFormat::Ctranslate2);
    assert!(!info.multilingual);
    assert_eq!(
        (
            info.n_mels,
            info.n_audio_layer,
            info.n_text_layer,
            info.n_state,
            info.n_vocab
        ),
        (80, 4, 4, 384, 51864)
    );
    assert_eq!(info.dtype, "float16");
    assert!(
        info.files
            .iter()
            .any(|f| f.name == "model.bin" && f.bytes > 70_000_000)
    );
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["format"], "ctranslate2");
    assert_eq!(model().info().n_vocab, 51864);
}

#[test]
fn a_hugging_face_checkpoint_transcribes_exactly_like_the_ctranslate2_one() {
    let tmp = tempfile::tempdir().unwrap();
    let hf_dir = tmp.path().join("hf");
    write_hf_checkpoint(&model_dir(), &hf_dir).unwrap();
    assert!(hf_dir.join("model.safetensors").is_file());

    let info = inspect(&hf_dir).unwrap();
    assert_eq!(info.format, ModelFormat::HuggingFace);
    assert_eq!(
        (info.n_state, info.n_vocab, info.n_text_layer),
        (384, 51864, 4)
    );
    assert_eq!(info.dtype, "float16");
    assert_eq!(
        serde_json::to_value(&info).unwrap()["format"],
        "hugging-face"
    );

    let hf = Model::load_with_precision(&hf_dir, Precision::F32).unwrap();
    assert_eq!(hf.info().format, ModelFormat::HuggingFace);
    let pcm = speak(
        tmp.path(),
        "en-us",
        "The new office opens on the first floor next month.",
    );
    let opts = DecodeOptions::default();
    let a = model()
        .transcribe(&pcm, &opts, &mut |_| ControlFlow::Continue(()))
        .unwrap();
    let b = hf
        .transcribe(&pcm, &opts, &mut |_| ControlFlow::Continue(()))
        .unwrap();
    assert!(!a.segments.is_empty());
    let key = |t: &meetvault_whisper::Transcript| {
        t.segments
            .iter()
            .map(|s| (s.text.clone(), s.start, s.end))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&a), key(&b));
}

#[test]
fn broken_model_folders_are_precise_errors() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        Model::load(tmp.path()),
        Err(WhisperError::ModelNotFound { .. })
    ));
    assert!(matches!(
        inspect(tmp.path()),
        Err(WhisperError::ModelNotFound { .. })
    ));

    std::fs::write(tmp.path().join("model.bin"), b"not a model").unwrap();
    let err = Model::load(tmp.path()).unwrap_err();
    assert!(matches!(err, WhisperError::ModelFormat(_)), "{err}");
    assert!(matches!(
        inspect(tmp.path()),
        Err(WhisperError::ModelFormat(_))
    ));

    // A real model.bin whose tokenizer files are missing.
    let real = std::fs::read(model_dir().join("model.bin")).unwrap();
    std::fs::write(tmp.path().join("model.bin"), &real).unwrap();
    let err = Model::load(tmp.path()).unwrap_err();
    assert!(matches!(err, WhisperError::Tokenizer(_)), "{err}");

    // A safetensors file that is not one.
    let hf = tmp.path().join("hf");
    std::fs::create_dir(&hf).unwrap();
    std::fs::write(hf.join("model.safetensors"), [0xffu8; 64]).unwrap();
    std::fs::write(hf.join("config.json"), b"{}").unwrap();
    assert!(matches!(
        Model::load(&hf),
        Err(WhisperError::ModelFormat(_))
    ));
    assert!(matches!(inspect(&hf), Err(WhisperError::ModelFormat(_))));
}
