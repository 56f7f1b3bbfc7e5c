//! The differential test on the multilingual base model: meetvault's engine and faster-whisper
//! (float32, greedy, no VAD) decode an English and a German recording with the same folder,
//! detecting the language themselves, and every window must come out as the same tokens from the
//! same prompt — which holds the language token, so the detection too. Then the options this
//! model brings: the language probabilities, `task="translate"`, an `initial_prompt` (its
//! tokens, encoded by our BPE, are in the prompt compared) and `multilingual=True` (a language
//! detected per window) on a track that switches from German to Italian.

use meetvault_whisper::{DecodeOptions, Task};

use crate::audio::{silence, speak};
use crate::multilingual::{spoken, switching_track};
use crate::parity::{check_with, greedy, peer_run, record};
use crate::support::{base_model, base_model_dir};

/// How far apart the engines' language probabilities may be. faster-whisper detects on the
/// features with the extractor's extra last frame (ours on the window the decoder reads, which
/// ends at the audio, as its own decoding windows do): on audio under 30 s that one frame moves
/// the probabilities by up to about 0.01 (0.0086 measured on the German clip).
const PROB_DRIFT: f32 = 0.02;

#[test]
fn base_decodes_english_and_german_as_faster_whisper_and_detects_the_same_languages() {
    let dir = tempfile::tempdir().unwrap();
    let mut english = silence(0.5);
    english.extend(speak(
        dir.path(),
        "en-gb+f3",
        "Good morning everyone, thank you for joining the weekly planning meeting. The design \
         team finished the new user interface last week.",
    ));
    english.extend(silence(0.5));
    let (_, german) = spoken("de");
    let recordings = vec![
        record(dir.path(), "english-base", &english),
        record(dir.path(), "german-base", &german),
    ];
    for (rec, lang) in recordings.iter().zip(["en", "de"]) {
        let theirs = peer_run(&base_model_dir(), rec, &greedy(), None);
        let ours = base_model().detect_language(&rec.pcm).unwrap();
        eprintln!(
            "{}: meetvault {:?}, faster-whisper {} {:?}",
            rec.name,
            &ours[..3],
            theirs.language,
            &theirs.language_probs[..3]
        );
        assert_eq!(theirs.language, lang, "faster-whisper's detection");
        assert_eq!(ours[0].0, lang, "meetvault's detection");
        for (code, p) in theirs.language_probs.iter().take(5) {
            let mine = ours
                .iter()
                .find(|(c, _)| c == code)
                .map_or(0.0, |(_, p)| *p);
            assert!(
                (mine - p).abs() <= PROB_DRIFT,
                "{}: p({code}) = {mine} here, {p} in faster-whisper",
                rec.name
            );
        }
    }
    check_with(base_model(), &base_model_dir(), &recordings, &[greedy()]);
}

#[test]
fn base_translates_prompts_and_detects_per_window_as_faster_whisper() {
    let dir = tempfile::tempdir().unwrap();
    let (_, italian) = spoken("it");
    let mut name = speak(
        dir.path(),
        "en-us",
        "Please send the report to Siobhan before lunch.",
    );
    name.extend(silence(0.5));
    let translate = DecodeOptions {
        task: Task::Translate,
        ..greedy()
    };
    let prompted = DecodeOptions {
        initial_prompt: Some("Siobhan, Mikkel Sørensen".into()),
        ..greedy()
    };
    let per_window = DecodeOptions {
        multilingual: true,
        ..greedy()
    };
    let base = base_model();
    let dir_path = base_model_dir();
    check_with(
        base,
        &dir_path,
        &[record(dir.path(), "italian-translated", &italian)],
        &[translate],
    );
    check_with(
        base,
        &dir_path,
        &[record(dir.path(), "siobhan-prompted", &name)],
        &[prompted],
    );
    check_with(
        base,
        &dir_path,
        &[record(
            dir.path(),
            "german-then-italian",
            &switching_track(),
        )],
        &[per_window],
    );
}

#[test]
fn prompts_encode_to_the_tokens_of_faster_whispers_tokenizer() {
    let texts = [
        "Siobhan, Mikkel Sørensen",
        "hello   world\n\nit's 2024 — naïve café, l'équipe d'Aoife",
        "Grüße aus München: Kubernetes-Cluster, 3,5 % Q3-Zahlen!",
        "¿Qué tal? Ça va. 東京で会議 — ok?!",
        "we'll SHOUT'S don't   \t tabs 12345678",
    ];
    // faster-whisper encodes `" " + initial_prompt.strip()`.
    let spaced: Vec<String> = texts.iter().map(|t| format!(" {}", t.trim())).collect();
    let list = serde_json::to_string(&spaced).unwrap();
    for (m, dir) in [
        (crate::support::model(), crate::support::model_dir()),
        (base_model(), base_model_dir()),
    ] {
        let out = crate::parity::peer(&["encode", dir.to_str().unwrap(), &list]);
        let theirs: Vec<Vec<u32>> = serde_json::from_slice(&out).unwrap();
        for (text, expected) in texts.iter().zip(theirs) {
            let ours = m.prompt_tokens(text).unwrap();
            assert_eq!(ours, expected, "{}: {text:?}", dir.display());
        }
    }
}
