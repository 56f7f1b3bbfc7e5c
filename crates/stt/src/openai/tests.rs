//! The verbose_json types against OpenAI's documented answer and the shapes other servers send.

use super::*;

/// OpenAI's documented `verbose_json` answer (abridged to two segments).
const DOCUMENTED: &str = r#"{
  "task": "transcribe",
  "language": "english",
  "duration": 8.470000267028809,
  "text": "The beach was a popular spot on a hot summer day. People were swimming in the ocean.",
  "segments": [
    {
      "id": 0, "seek": 0, "start": 0.0, "end": 3.319999933242798,
      "text": " The beach was a popular spot on a hot summer day.",
      "tokens": [50364, 440, 7534, 390, 257, 3743, 4008, 322, 257, 2368, 4266, 786, 13, 50530],
      "temperature": 0.0, "avg_logprob": -0.2860786020755768,
      "compression_ratio": 1.2363636493682861, "no_speech_prob": 0.00985979475080967
    },
    {
      "id": 1, "seek": 0, "start": 3.319999933242798, "end": 8.470000267028809,
      "text": " People were swimming in the ocean.",
      "tokens": [50530, 3432, 645, 11989, 294, 264, 7810, 13, 50787],
      "temperature": 0.0, "avg_logprob": -0.2860786020755768,
      "compression_ratio": 1.2363636493682861, "no_speech_prob": 0.00985979475080967
    }
  ]
}"#;

#[test]
fn the_documented_answer_becomes_segments_with_a_language_code() {
    let answer: VerboseJson = serde_json::from_str(DOCUMENTED).unwrap();
    assert_eq!(answer.segments.as_ref().map(Vec::len), Some(2));
    let (language, segments) = answer.into_segments(None);
    assert_eq!(language.as_deref(), Some("en"));
    assert_eq!(segments.len(), 2);
    assert_eq!(segments[1].start, 3.319999933242798);
    assert_eq!(segments[1].end, 8.470000267028809);
    assert_eq!(segments[1].text, " People were swimming in the ocean.");
    assert_eq!(segments[1].avg_logprob, Some(-0.286_078_6));
    assert_eq!(segments[1].no_speech_prob, Some(0.009_859_795));
}

#[test]
fn a_text_only_answer_is_one_segment_over_the_duration() {
    let answer: VerboseJson =
        serde_json::from_str(r#"{"text": " Hello there. ", "duration": "2.5"}"#).unwrap();
    let (language, segments) = answer.into_segments(Some(9.0));
    assert_eq!(language, None);
    assert_eq!(
        segments,
        vec![RawSegment {
            start: 0.0,
            end: 2.5,
            text: "Hello there.".to_owned(),
            avg_logprob: None,
            no_speech_prob: None,
            words: Vec::new(),
        }]
    );
    let answer: VerboseJson = serde_json::from_str(r#"{"text": "Hi", "segments": []}"#).unwrap();
    assert_eq!(answer.into_segments(Some(9.0)).1[0].end, 9.0);
}

#[test]
fn missing_and_null_fields_are_tolerated_but_empty_text_gives_nothing() {
    let answer: VerboseJson = serde_json::from_str(
        r#"{"text": null, "language": "de", "segments": [{"start": 1, "end": 2, "text": "x",
            "tokens": null, "id": null}]}"#,
    )
    .unwrap();
    let (language, segments) = answer.into_segments(None);
    assert_eq!(language.as_deref(), Some("de"));
    assert_eq!(segments.len(), 1);
    let empty: VerboseJson = serde_json::from_str("{}").unwrap();
    assert_eq!(empty.into_segments(Some(1.0)), (None, Vec::new()));
}

#[test]
fn from_segments_writes_what_openai_clients_expect() {
    let segments = [RawSegment {
        start: 0.0,
        end: 1.5,
        text: " Hello.".to_owned(),
        avg_logprob: Some(-0.5),
        no_speech_prob: Some(0.25),
        words: Vec::new(),
    }];
    let answer = VerboseJson::from_segments(Some("en"), 1.5, &segments);
    let json = serde_json::to_value(&answer).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "task": "transcribe", "language": "english", "duration": 1.5, "text": "Hello.",
            "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 1.5, "text": " Hello.",
                "tokens": [], "temperature": 0.0, "avg_logprob": -0.5, "no_speech_prob": 0.25}]
        })
    );
    let back: VerboseJson = serde_json::from_value(json).unwrap();
    assert_eq!(
        back.into_segments(None),
        (Some("en".to_owned()), segments.to_vec())
    );
}

#[test]
fn words_are_written_trimmed_in_order_as_openai_writes_them() {
    let word = |text: &str, start, end| crate::Word {
        text: text.to_owned(),
        start,
        end,
        probability: Some(0.9),
    };
    let segment = |words| RawSegment {
        start: 0.0,
        end: 2.0,
        text: String::new(),
        avg_logprob: None,
        no_speech_prob: None,
        words,
    };
    let segments = [
        segment(vec![word(" Hello,", 0.0, 0.5), word(" world.", 0.5, 1.0)]),
        segment(vec![word(" ", 1.0, 1.0), word("Again", 1.2, 1.6)]),
    ];
    let words = serde_json::to_value(VerboseJson::words_of(&segments)).unwrap();
    assert_eq!(
        words,
        serde_json::json!([
            {"word": "Hello,", "start": 0.0, "end": 0.5},
            {"word": "world.", "start": 0.5, "end": 1.0},
            {"word": "Again", "start": 1.2, "end": 1.6}
        ])
    );
}

#[test]
fn error_bodies_have_openai_shape() {
    let body = ErrorBody::new("Invalid file format.", "invalid_request_error");
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        serde_json::json!({"error": {"message": "Invalid file format.",
            "type": "invalid_request_error", "param": null, "code": null}})
    );
    let parsed: ErrorBody = serde_json::from_str(
        r#"{"error": {"message": "m", "type": "t", "code": "invalid_api_key"}}"#,
    )
    .unwrap();
    assert_eq!(parsed.error.code.as_deref(), Some("invalid_api_key"));
}

#[test]
fn words_go_to_the_segment_holding_their_middle_and_bad_ones_are_dropped() {
    let segment = |start: f64, end: f64| RawSegment {
        start,
        end,
        text: String::new(),
        avg_logprob: None,
        no_speech_prob: None,
        words: Vec::new(),
    };
    let word = |w: &str, start: f64, end: f64| VerboseWord {
        word: w.to_owned(),
        start,
        end,
    };
    let mut segments = vec![segment(1.0, 2.0), segment(2.0, 3.0)];
    assign_words(
        &mut segments,
        vec![
            word("early", 0.2, 0.5),
            word("  ", 1.0, 1.1),
            word("nan", f64::NAN, 1.5),
            word("edge", 1.8, 2.4),
            word("late", 5.0, 4.0),
        ],
    );
    let texts: Vec<Vec<(&str, f64, f64)>> = segments
        .iter()
        .map(|s| {
            s.words
                .iter()
                .map(|w| (w.text.as_str(), w.start, w.end))
                .collect()
        })
        .collect();
    assert_eq!(
        texts,
        [
            vec![(" early", 0.2, 0.5)],
            // An end before the start is clamped to the start.
            vec![(" edge", 1.8, 2.4), (" late", 5.0, 5.0)],
        ]
    );
    // No segment to hold them: nothing.
    let mut none: Vec<RawSegment> = Vec::new();
    assign_words(&mut none, vec![word("lost", 0.0, 1.0)]);
    assert!(none.is_empty());
}
