//! The Deepgram client against a loopback server playing Deepgram's pre-recorded API.

use meetvault_stt::{Deepgram, Engine, Request, SttError};
use secrecy::SecretString;
use url::Url;

use crate::fake::{Fake, KEY, Reply, assert_no_key, failure, key, wav};

/// A pre-recorded answer in Deepgram's documented shape, with utterances.
const WITH_UTTERANCES: &str = r#"{
  "metadata": {"transaction_key": "deprecated", "request_id": "5d7a1b2c-0e57-4a2c-b1b6-7f4e2f2f2a10",
    "sha256": "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
    "created": "2024-05-01T10:00:00.000Z", "duration": 6.2, "channels": 1,
    "models": ["30089e05-99d1-4376-b32e-c263170674af"]},
  "results": {
    "channels": [{
      "detected_language": "de", "language_confidence": 0.97,
      "alternatives": [{"transcript": "Guten Morgen. Wie geht's?", "confidence": 0.98,
        "words": [
          {"word": "guten", "start": 0.08, "end": 0.4, "confidence": 0.99, "punctuated_word": "Guten"},
          {"word": "morgen", "start": 0.4, "end": 0.9, "confidence": 0.97, "punctuated_word": "Morgen."},
          {"word": "wie", "start": 4.0, "end": 4.2, "confidence": 0.98, "punctuated_word": "Wie"},
          {"word": "geht's", "start": 4.2, "end": 4.6, "confidence": 0.96, "punctuated_word": "geht's?"}
        ]}]
    }],
    "utterances": [
      {"start": 0.08, "end": 0.9, "confidence": 0.98, "channel": 0, "transcript": "Guten Morgen.",
       "words": [
         {"word": "guten", "start": 0.08, "end": 0.4, "confidence": 0.99, "punctuated_word": "Guten"},
         {"word": "morgen", "start": 0.4, "end": 0.9, "confidence": 0.97, "punctuated_word": "Morgen."}
       ], "id": "a1b2"},
      {"start": 4.0, "end": 4.6, "confidence": 0.97, "channel": 0, "transcript": "Wie geht's?",
       "words": [
         {"word": "wie", "start": 4.0, "end": 4.2, "confidence": 0.98, "punctuated_word": "Wie"},
         {"word": "geht's", "start": 4.2, "end": 4.6, "confidence": 0.96, "punctuated_word": "geht's?"}
       ], "id": "c3d4"}
    ]
  }
}"#;

fn client(fake: &Fake) -> Deepgram {
    Deepgram::new(
        fake.base.clone(),
        key(),
        Deepgram::DEFAULT_MODEL,
        crate::loopback(),
    )
    .unwrap()
}

async fn error_for(reply: Reply) -> SttError {
    let fake = Fake::deepgram(reply).await;
    failure(&client(&fake)).await
}

#[tokio::test]
async fn posts_the_wav_with_the_documented_query_and_reads_utterances() {
    let fake = Fake::deepgram(Reply::json(200, WITH_UTTERANCES)).await;
    let audio = wav(1.0);
    let request = Request {
        language: Some("de".to_owned()),
        prompt: Some("ignored".to_owned()),
        beam_size: None,
        word_timestamps: false,
    };
    let (language, segments) = client(&fake)
        .transcribe(audio.clone(), &request)
        .await
        .unwrap();

    assert_eq!(language.as_deref(), Some("de"));
    let summary: Vec<(f64, f64, &str)> = segments
        .iter()
        .map(|s| (s.start, s.end, s.text.as_str()))
        .collect();
    assert_eq!(
        summary,
        [(0.08, 0.9, "Guten Morgen."), (4.0, 4.6, "Wie geht's?")]
    );
    assert_eq!(segments[0].avg_logprob, Some(0.98f64.ln() as f32));
    assert_eq!(segments[0].no_speech_prob, None);

    let received = fake.request();
    assert_eq!(received.path, "/v1/listen");
    assert_eq!(
        received.header("authorization"),
        Some(format!("Token {KEY}").as_str())
    );
    assert_eq!(received.header("content-type"), Some("audio/wav"));
    assert_eq!(received.body, audio.to_vec());
    let pairs = received.query_pairs();
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        pairs,
        [
            pair("model", "nova-2"),
            pair("punctuate", "true"),
            pair("utterances", "true"),
            pair("smart_format", "true"),
            pair("language", "de"),
        ]
    );
}

#[tokio::test]
async fn without_a_language_it_asks_for_detection_and_reports_the_detected_one() {
    let fake = Fake::deepgram(Reply::json(200, WITH_UTTERANCES)).await;
    let (language, _) = client(&fake)
        .transcribe(wav(0.2), &Request::default())
        .await
        .unwrap();
    assert_eq!(language.as_deref(), Some("de"));
    let pairs = fake.request().query_pairs();
    assert!(
        pairs.contains(&("detect_language".to_owned(), "true".to_owned())),
        "{pairs:?}"
    );
    assert!(!pairs.iter().any(|(k, _)| k == "language"), "{pairs:?}");
}

#[tokio::test]
async fn without_utterances_the_words_become_segments() {
    let body = WITH_UTTERANCES.replace("\"utterances\"", "\"unused\"");
    let fake = Fake::deepgram(Reply::json(200, body)).await;
    let (_, segments) = client(&fake)
        .transcribe(wav(0.2), &Request::default())
        .await
        .unwrap();
    let texts: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts, ["Guten Morgen.", "Wie geht's?"]);
    assert_eq!((segments[1].start, segments[1].end), (4.0, 4.6));
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized() {
    let fake = Fake::deepgram(Reply::json(200, WITH_UTTERANCES)).await;
    let wrong = SecretString::from("0000000000000000000000000000000000000000");
    let client = Deepgram::new(fake.base.clone(), wrong, "nova-2", crate::loopback()).unwrap();
    let err = client
        .transcribe(wav(0.2), &Request::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SttError::Unauthorized {
                provider: "deepgram"
            }
        ),
        "{err:?}"
    );
    assert!(!err.retryable());
}

#[tokio::test]
async fn rate_limits_outages_rejections_and_garbage_map_to_their_errors() {
    let err = error_for(Reply::json(
        429,
        r#"{"err_code": "TOO_MANY_REQUESTS", "err_msg": "Too many requests. Please try again later", "request_id": "r"}"#,
    ))
    .await;
    assert!(
        matches!(
            err,
            SttError::RateLimited {
                retry_after: None,
                ..
            }
        ),
        "{err:?}"
    );

    let err = error_for(Reply::json(
        503,
        r#"{"err_code": "SERVICE_UNAVAILABLE", "err_msg": "Deepgram is temporarily unavailable."}"#,
    ))
    .await;
    assert!(
        matches!(err, SttError::Unavailable { .. }) && err.retryable(),
        "{err:?}"
    );

    let err = error_for(Reply::json(
        400,
        r#"{"err_code": "Bad Request", "err_msg": "Bad Request: failed to process audio: corrupt or unsupported data", "request_id": "r"}"#,
    ))
    .await;
    match &err {
        SttError::Rejected {
            status: 400,
            message,
            ..
        } => {
            assert_eq!(
                message,
                "Bad Request: failed to process audio: corrupt or unsupported data"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }

    let err = error_for(Reply::json(200, r#"{"metadata": {}}"#)).await;
    assert!(matches!(err, SttError::BadResponse { .. }), "{err:?}");
    let err = error_for(Reply::json(200, "not json at all")).await;
    assert!(matches!(err, SttError::BadResponse { .. }), "{err:?}");
}

#[test]
fn the_hosted_defaults_and_the_plaintext_rule() {
    let hosted = Deepgram::hosted(key(), crate::loopback()).unwrap();
    assert_eq!(
        hosted.endpoint().as_str(),
        "https://api.deepgram.com/v1/listen"
    );
    assert_eq!(hosted.model(), "nova-2");
    assert_eq!(hosted.name(), "deepgram");
    assert_no_key(&hosted, "");
    let err = Deepgram::new(
        Url::parse("http://deepgram.internal:8080").unwrap(),
        key(),
        "nova-2",
        crate::loopback(),
    )
    .unwrap_err();
    assert!(matches!(err, SttError::InsecureUrl { .. }), "{err:?}");
    assert_no_key(&err, &err.to_string());
    assert!(
        Deepgram::new(
            Url::parse("http://[::1]:8080").unwrap(),
            key(),
            "nova-2",
            crate::loopback()
        )
        .is_ok()
    );
    // Without the operator's allow-list, loopback is out of reach, over http or https.
    let err = Deepgram::new(
        Url::parse("http://[::1]:8080").unwrap(),
        key(),
        "nova-2",
        crate::public_only(),
    )
    .unwrap_err();
    assert!(matches!(err, SttError::InsecureUrl { .. }), "{err:?}");
    let err = Deepgram::new(
        Url::parse("https://127.0.0.1:8443").unwrap(),
        key(),
        "nova-2",
        crate::public_only(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, SttError::InvalidConfig(m) if m.contains("allow_hosts")),
        "{err:?}"
    );
}

/// A segment's words as (text, start, end, probability).
type Timed = Vec<(String, f64, f64, Option<f32>)>;

#[tokio::test]
async fn words_are_timed_when_asked_and_left_out_otherwise() {
    let words_of = |segments: &[meetvault_stt::RawSegment]| -> Vec<Timed> {
        segments
            .iter()
            .map(|s| {
                s.words
                    .iter()
                    .map(|w| (w.text.clone(), w.start, w.end, w.probability))
                    .collect()
            })
            .collect()
    };
    let expected = vec![
        vec![
            (" Guten".to_owned(), 0.08, 0.4, Some(0.99)),
            (" Morgen.".to_owned(), 0.4, 0.9, Some(0.97)),
        ],
        vec![
            (" Wie".to_owned(), 4.0, 4.2, Some(0.98)),
            (" geht's?".to_owned(), 4.2, 4.6, Some(0.96)),
        ],
    ];
    let asked = Request {
        word_timestamps: true,
        ..Request::default()
    };
    // From the utterances, and from the words grouped into segments when there are none.
    for body in [
        WITH_UTTERANCES.to_owned(),
        WITH_UTTERANCES.replace("\"utterances\"", "\"unused\""),
    ] {
        let fake = Fake::deepgram(Reply::json(200, body.clone())).await;
        let (_, segments) = client(&fake).transcribe(wav(0.2), &asked).await.unwrap();
        assert_eq!(words_of(&segments), expected);
        let joined: String = segments[0].words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(joined.trim(), segments[0].text);

        let fake = Fake::deepgram(Reply::json(200, body)).await;
        let (_, segments) = client(&fake)
            .transcribe(wav(0.2), &Request::default())
            .await
            .unwrap();
        assert!(segments.iter().all(|s| s.words.is_empty()), "{segments:?}");
    }
}
