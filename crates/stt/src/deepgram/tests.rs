//! Deepgram answers (as documented) into segments: utterances first, then words, then the
//! whole transcript.

use super::*;

fn listen(json: &str) -> Listen {
    serde_json::from_str(json).unwrap()
}

#[test]
fn utterances_become_segments_with_log_confidence() {
    let answer = listen(
        r#"{"metadata": {"request_id": "r", "duration": 6.0, "channels": 1},
            "results": {
              "channels": [{"detected_language": "en", "alternatives": [{"transcript": "ignored",
                 "confidence": 0.9, "words": []}]}],
              "utterances": [
                {"start": 0.41915998, "end": 5.43012, "confidence": 0.88172823, "channel": 0,
                 "transcript": "four score and seven years ago", "words": [], "speaker": 0,
                 "id": "u1"},
                {"start": 5.5, "end": 6.0, "confidence": 1.0, "channel": 0,
                 "transcript": "yes", "words": []}
              ]}}"#,
    );
    let (language, segments) = answer.into_segments(None);
    assert_eq!(language.as_deref(), Some("en"));
    assert_eq!(segments.len(), 2);
    assert_eq!(segments[0].start, 0.41915998);
    assert_eq!(segments[0].text, "four score and seven years ago");
    let expected = 0.88172823f64.ln() as f32;
    assert_eq!(segments[0].avg_logprob, Some(expected));
    assert_eq!(segments[1].avg_logprob, Some(0.0));
}

#[test]
fn without_utterances_words_are_grouped_at_sentence_ends_and_pauses() {
    let answer = listen(
        r#"{"results": {"channels": [{"alternatives": [{"transcript": "x", "confidence": 0.5,
             "words": [
               {"word": "hello", "start": 0.0, "end": 0.4, "confidence": 0.9, "punctuated_word": "Hello"},
               {"word": "there", "start": 0.5, "end": 0.9, "confidence": 0.7, "punctuated_word": "there."},
               {"word": "so", "start": 1.0, "end": 1.2, "confidence": 0.8, "punctuated_word": "So"},
               {"word": "then", "start": 2.5, "end": 2.8, "confidence": 0.8},
               {"word": "ok", "start": 2.9, "end": 3.0}
             ]}]}]}}"#,
    );
    let (language, segments) = answer.into_segments(None);
    assert_eq!(language, None);
    let summary: Vec<(f64, f64, &str)> = segments
        .iter()
        .map(|s| (s.start, s.end, s.text.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (0.0, 0.9, "Hello there."),
            (1.0, 1.2, "So"),
            (2.5, 3.0, "then ok")
        ]
    );
    assert_eq!(segments[0].avg_logprob, Some(0.8f64.ln() as f32));
    assert_eq!(segments[2].avg_logprob, Some(0.8f64.ln() as f32));
}

#[test]
fn without_words_the_transcript_is_one_segment() {
    let answer = listen(
        r#"{"metadata": {"duration": 4.25}, "results": {"utterances": [],
            "channels": [{"alternatives": [{"transcript": " All of it. ", "confidence": 0.0}]}]}}"#,
    );
    let (_, segments) = answer.into_segments(Some(9.0));
    assert_eq!(segments.len(), 1);
    assert_eq!((segments[0].start, segments[0].end), (0.0, 4.25));
    assert_eq!(segments[0].text, "All of it.");
    let logprob = segments[0].avg_logprob.unwrap();
    assert!(logprob.is_finite() && logprob < -13.0, "{logprob}");
}

#[test]
fn silence_gives_no_segments() {
    let answer = listen(
        r#"{"results": {"channels": [{"alternatives": [{"transcript": "", "words": []}]}]}}"#,
    );
    assert_eq!(answer.into_segments(Some(1.0)), (None, Vec::new()));
    let answer = listen(r#"{"results": {"channels": []}}"#);
    assert_eq!(answer.into_segments(None), (None, Vec::new()));
}
