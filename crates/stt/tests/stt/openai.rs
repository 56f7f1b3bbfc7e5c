//! The OpenAI-compatible client against a loopback server playing OpenAI.

use std::time::Duration;

use meetvault_stt::{Engine, OpenAiCompatible, Request, SttError};
use secrecy::SecretString;
use url::Url;

use crate::fake::{Fake, KEY, Reply, assert_no_key, failure, key, wav};

/// OpenAI's documented `verbose_json` answer, abridged to two segments.
const VERBOSE: &str = r#"{
  "task": "transcribe",
  "language": "english",
  "duration": 8.470000267028809,
  "text": "The beach was a popular spot on a hot summer day. People were swimming in the ocean.",
  "segments": [
    {"id": 0, "seek": 0, "start": 0.0, "end": 3.319999933242798,
     "text": " The beach was a popular spot on a hot summer day.",
     "tokens": [50364, 440, 7534, 390, 257, 3743, 4008, 322, 257, 2368, 4266, 786, 13, 50530],
     "temperature": 0.0, "avg_logprob": -0.2860786020755768,
     "compression_ratio": 1.2363636493682861, "no_speech_prob": 0.00985979475080967},
    {"id": 1, "seek": 0, "start": 3.319999933242798, "end": 8.470000267028809,
     "text": " People were swimming in the ocean.",
     "tokens": [50530, 3432, 645, 11989, 294, 264, 7810, 13, 50787],
     "temperature": 0.0, "avg_logprob": -0.31, "compression_ratio": 1.1,
     "no_speech_prob": 0.02}
  ]
}"#;

fn client(fake: &Fake) -> OpenAiCompatible {
    OpenAiCompatible::new(fake.base.clone(), key(), "whisper-1", crate::loopback()).unwrap()
}

fn request() -> Request {
    Request {
        language: Some("en".to_owned()),
        prompt: Some("Meetvault, Deepgram".to_owned()),
        beam_size: Some(5),
        word_timestamps: false,
    }
}

async fn error_for(reply: Reply) -> SttError {
    let fake = Fake::openai(reply).await;
    failure(&client(&fake)).await
}

#[tokio::test]
async fn sends_the_documented_multipart_request_and_reads_verbose_json() {
    let fake = Fake::openai(Reply::json(200, VERBOSE)).await;
    let audio = wav(1.0);
    let (language, segments) = client(&fake)
        .transcribe(audio.clone(), &request())
        .await
        .unwrap();

    assert_eq!(language.as_deref(), Some("en"));
    assert_eq!(segments.len(), 2);
    assert_eq!(segments[0].start, 0.0);
    assert_eq!(segments[0].end, 3.319999933242798);
    assert_eq!(
        segments[0].text,
        " The beach was a popular spot on a hot summer day."
    );
    assert_eq!(segments[0].avg_logprob, Some(-0.286_078_6));
    assert_eq!(segments[1].no_speech_prob, Some(0.02));

    let received = fake.request();
    assert_eq!(received.path, "/v1/audio/transcriptions");
    assert_eq!(
        received.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(
        received
            .header("content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary="),
        "{:?}",
        received.header("content-type")
    );
    let file: Vec<_> = received
        .fields
        .iter()
        .filter(|f| f.name == "file")
        .collect();
    assert_eq!(file.len(), 1);
    assert_eq!(file[0].file_name.as_deref(), Some("audio.wav"));
    assert_eq!(file[0].content_type.as_deref(), Some("audio/wav"));
    assert_eq!(file[0].data, audio.to_vec());
    assert_eq!(received.field("model"), ["whisper-1"]);
    assert_eq!(received.field("response_format"), ["verbose_json"]);
    assert_eq!(received.field("timestamp_granularities[]"), ["segment"]);
    assert_eq!(received.field("language"), ["en"]);
    assert_eq!(received.field("prompt"), ["Meetvault, Deepgram"]);
    let names: Vec<&str> = received.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names.len(), 6, "unexpected fields: {names:?}");
}

#[tokio::test]
async fn a_base_url_ending_in_v1_is_not_doubled_and_unset_options_are_not_sent() {
    let fake = Fake::openai(Reply::json(200, VERBOSE)).await;
    let base = Url::parse(&format!("{}v1/", fake.base)).unwrap();
    let client = OpenAiCompatible::new(base, key(), "whisper-1", crate::loopback()).unwrap();
    assert_eq!(client.endpoint().path(), "/v1/audio/transcriptions");
    client
        .transcribe(wav(0.2), &Request::default())
        .await
        .unwrap();
    let received = fake.request();
    assert!(received.field("language").is_empty());
    assert!(received.field("prompt").is_empty());
}

#[tokio::test]
async fn a_text_only_answer_becomes_one_segment_over_the_audio() {
    let fake = Fake::openai(Reply::json(200, r#"{"text": " Just text."}"#)).await;
    let (language, segments) = client(&fake)
        .transcribe(wav(1.5), &request())
        .await
        .unwrap();
    // Without a language in the answer, the one asked for stands.
    assert_eq!(language.as_deref(), Some("en"));
    assert_eq!(segments.len(), 1);
    assert_eq!((segments[0].start, segments[0].end), (0.0, 1.5));
    assert_eq!(segments[0].text, "Just text.");
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_the_echoed_key_is_not_passed_on() {
    let fake = Fake::openai(Reply::json(200, VERBOSE)).await;
    let wrong = SecretString::from("sk-wrong-key-0000000000000000abcd");
    let client =
        OpenAiCompatible::new(fake.base.clone(), wrong, "whisper-1", crate::loopback()).unwrap();
    let err = client
        .transcribe(wav(0.2), &Request::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SttError::Unauthorized {
                provider: "openai-compatible"
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "openai-compatible: the provider rejected the API key; check the key"
    );
    assert!(!err.retryable());
    assert_no_key(&err, &err.to_string());
    assert!(!format!("{err:?}").contains("sk-wrong"));
}

#[tokio::test]
async fn rate_limits_are_retryable_and_carry_retry_after() {
    let err = error_for(
        Reply::json(
            429,
            r#"{"error": {"message": "Rate limit reached", "type": "requests"}}"#,
        )
        .with_header("retry-after", "7"),
    )
    .await;
    assert!(
        matches!(err, SttError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7)),
        "{err:?}"
    );
    assert!(err.retryable());
}

#[tokio::test]
async fn server_errors_are_unavailable_and_retryable() {
    let err = error_for(Reply::json(
        500,
        r#"{"error": {"message": "The server had an error while processing your request.", "type": "server_error"}}"#,
    ))
    .await;
    assert!(matches!(err, SttError::Unavailable { .. }), "{err:?}");
    assert!(err.retryable());
    assert!(
        err.to_string()
            .contains("HTTP 500: The server had an error"),
        "{err}"
    );
}

#[tokio::test]
async fn a_rejection_names_the_status_and_a_sanitized_message() {
    let body = format!(
        r#"{{"error": {{"message": "Invalid file format.\nSupported formats: wav (key {KEY})", "type": "invalid_request_error", "param": null, "code": null}}}}"#
    );
    let err = error_for(Reply::json(400, body)).await;
    match &err {
        SttError::Rejected {
            status, message, ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(
                message,
                "Invalid file format. Supported formats: wav (key [redacted])"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(!err.retryable());
}

#[tokio::test]
async fn malformed_answers_are_bad_responses_that_do_not_echo_the_body() {
    let err = error_for(Reply::json(
        200,
        "{\"text\": \"secret meeting content\", \"segments\": 7}",
    ))
    .await;
    assert!(matches!(err, SttError::BadResponse { .. }), "{err:?}");
    assert!(!err.to_string().contains("secret meeting"), "{err}");
    let err = error_for(Reply::json(200, "<html>oops</html>")).await;
    assert!(err.to_string().contains("not JSON"), "{err}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let fake = Fake::openai(
        Reply::json(307, "").with_header("location", "http://127.0.0.1:9/v1/audio/transcriptions"),
    )
    .await;
    let err = client(&fake)
        .transcribe(wav(0.2), &Request::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SttError::BadResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("redirect"), "{err}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_slow_provider_times_out_as_unavailable() {
    let fake = Fake::openai(Reply::json(200, VERBOSE).after(Duration::from_secs(5))).await;
    let client = client(&fake).with_timeout(Duration::from_millis(300));
    let err = client
        .transcribe(wav(0.2), &Request::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SttError::Unavailable { .. }), "{err:?}");
    assert!(err.retryable());
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let base = Url::parse(&format!("http://{address}")).unwrap();
    let client = OpenAiCompatible::new(base, key(), "whisper-1", crate::loopback()).unwrap();
    let err = client
        .transcribe(wav(0.2), &Request::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SttError::Unavailable { .. }), "{err:?}");
    assert!(
        err.to_string().contains("cannot connect to 127.0.0.1"),
        "{err}"
    );
    assert_no_key(&err, &err.to_string());
}

#[test]
fn plain_http_to_the_network_is_refused_and_nothing_shows_the_key() {
    for base in [
        "http://transcribe.example.com",
        "http://192.168.1.20:8000/v1",
    ] {
        let err = OpenAiCompatible::new(
            Url::parse(base).unwrap(),
            key(),
            "whisper-1",
            crate::loopback(),
        )
        .unwrap_err();
        assert!(matches!(err, SttError::InsecureUrl { .. }), "{err:?}");
        assert_no_key(&err, &err.to_string());
    }
    let client = OpenAiCompatible::new(
        Url::parse("https://api.openai.com/v1").unwrap(),
        key(),
        "whisper-1",
        crate::loopback(),
    )
    .unwrap();
    assert_no_key(&client, "");
    let debug = format!("{client:?}");
    assert!(
        debug.contains("[redacted]") && debug.contains("api.openai.com"),
        "{debug}"
    );
    assert_eq!(
        client.endpoint().as_str(),
        "https://api.openai.com/v1/audio/transcriptions"
    );
    assert_eq!(client.name(), "openai-compatible");
}

#[test]
fn empty_keys_and_models_are_refused() {
    let base = Url::parse("https://api.openai.com").unwrap();
    let empty = OpenAiCompatible::new(
        base.clone(),
        SecretString::from("  \n"),
        "whisper-1",
        crate::loopback(),
    );
    assert!(matches!(empty, Err(SttError::InvalidConfig(_))));
    let spaced = OpenAiCompatible::new(
        base.clone(),
        SecretString::from("sk-a b"),
        "whisper-1",
        crate::loopback(),
    );
    let err = spaced.unwrap_err();
    assert!(!err.to_string().contains("sk-a"), "{err}");
    assert!(matches!(
        OpenAiCompatible::new(base, key(), " ", crate::loopback()),
        Err(SttError::InvalidConfig(_))
    ));
}

/// OpenAI's documented answer with `timestamp_granularities[]=word` as well as `segment`: the
/// words come in one list beside the segments.
const WITH_WORDS: &str = r#"{
  "task": "transcribe", "language": "english", "duration": 4.0,
  "text": "Hello there. General Kenobi.",
  "segments": [
    {"id": 0, "seek": 0, "start": 0.0, "end": 1.8, "text": " Hello there.",
     "avg_logprob": -0.2, "no_speech_prob": 0.01},
    {"id": 1, "seek": 0, "start": 2.0, "end": 4.0, "text": " General Kenobi.",
     "avg_logprob": -0.3, "no_speech_prob": 0.01}
  ],
  "words": [
    {"word": "Hello", "start": 0.0, "end": 0.6},
    {"word": "there", "start": 0.7, "end": 1.8},
    {"word": "General", "start": 1.9, "end": 2.6},
    {"word": "Kenobi", "start": 2.7, "end": 4.0}
  ]
}"#;

#[tokio::test]
async fn word_timestamps_ask_for_words_and_place_each_in_its_segment() {
    let fake = Fake::openai(Reply::json(200, WITH_WORDS)).await;
    let asked = Request {
        word_timestamps: true,
        ..Request::default()
    };
    let (_, segments) = client(&fake).transcribe(wav(1.0), &asked).await.unwrap();
    assert_eq!(
        fake.request().field("timestamp_granularities[]"),
        ["segment", "word"]
    );
    let words: Vec<Vec<(&str, f64, f64)>> = segments
        .iter()
        .map(|s| {
            s.words
                .iter()
                .map(|w| (w.text.as_str(), w.start, w.end))
                .collect()
        })
        .collect();
    // "General" starts before the second segment but its middle is inside it.
    assert_eq!(
        words,
        [
            vec![(" Hello", 0.0, 0.6), (" there", 0.7, 1.8)],
            vec![(" General", 1.9, 2.6), (" Kenobi", 2.7, 4.0)],
        ]
    );

    // Not asked: not requested, and words a server sends anyway are left out.
    let fake = Fake::openai(Reply::json(200, WITH_WORDS)).await;
    let (_, segments) = client(&fake)
        .transcribe(wav(1.0), &Request::default())
        .await
        .unwrap();
    assert_eq!(
        fake.request().field("timestamp_granularities[]"),
        ["segment"]
    );
    assert!(segments.iter().all(|s| s.words.is_empty()));
}
