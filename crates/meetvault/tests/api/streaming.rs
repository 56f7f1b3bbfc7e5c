//! Streamed uploads under pressure, as an attacker would apply it: a full waiting line is
//! refused before a byte of the body is read, a huge file passes through in bounded memory, and
//! a body that stops arriving is answered 408 and leaves nothing behind (on both streaming
//! routes). Raw HTTP/1.1 over TCP, because the point is what happens before a body is complete.

use std::time::{Duration, Instant};

use meetvault_test_support::media::{wav_with_payload, whisper_model_dir};
use meetvault_test_support::{Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Client, ServerProcess, database_env};
use crate::transcription::meeting;

const BOUNDARY: &str = "meetvault-test-boundary";

/// The multipart preamble of a `file` field (the file's bytes follow).
fn file_field_head() -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\
         Content-Type: audio/wav\r\n\r\n"
    )
    .into_bytes()
}

fn file_field_tail() -> Vec<u8> {
    format!("\r\n--{BOUNDARY}--\r\n").into_bytes()
}

/// Opens a request and sends its head: `length` bytes of body announced, none sent yet.
async fn open(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    length: u64,
) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {length}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Reads a response head (status line and headers) within `limit`.
async fn read_head(stream: &mut TcpStream, limit: Duration) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    tokio::time::timeout(limit, async {
        while !got.ends_with(b"\r\n\r\n") {
            assert_eq!(
                stream.read(&mut byte).await.unwrap(),
                1,
                "connection closed"
            );
            got.push(byte[0]);
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "no response within {limit:?}; got {:?}",
            String::from_utf8_lossy(&got)
        )
    });
    String::from_utf8(got).unwrap()
}

/// Reads what follows the head until the server closes or `limit` passes.
async fn read_rest(stream: &mut TcpStream, limit: Duration) -> String {
    let mut body = Vec::new();
    let _ = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    body.extend_from_slice(&buf[..n]);
                    if body.ends_with(b"}}") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    String::from_utf8_lossy(&body).into_owned()
}

/// Opens a call of the OpenAI-compatible endpoint announcing `length` bytes; with
/// `Expect: 100-continue` the server asks for the body only once its handler reads it.
async fn open_endpoint(app: &TestApp, key: &str, expect_continue: bool, length: u64) -> TcpStream {
    let auth = format!("Bearer {key}");
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Content-Type", content_type.as_str()),
    ];
    if expect_continue {
        headers.push(("Expect", "100-continue"));
    }
    open(app.addr, "/v1/audio/transcriptions", &headers, length).await
}

/// Sends part of a body, then nothing: the answer is 408 `body_timeout` within the idle bound.
async fn stall_and_expect_408(stream: &mut TcpStream, part: &[u8]) {
    stream.write_all(part).await.unwrap();
    let started = Instant::now();
    let head = read_head(stream, Duration::from_secs(20)).await;
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(started.elapsed() < Duration::from_secs(15));
    let body = read_rest(stream, Duration::from_secs(5)).await;
    assert!(body.contains("body_timeout"), "{body}");
}

#[tokio::test]
async fn a_full_waiting_line_refuses_the_next_request_before_reading_its_body() {
    whisper_model_dir();
    let app = TestApp::spawn_with(|c| c.transcription.endpoint_queue = 1).await;
    let owner = app.register("line@example.com", "Line").await;
    let (key, _) = app.api_key(&owner, &["meetings:write"]).await;

    // The first caller is asked for its body (so it holds the only place), then trickles it.
    let mut first = open_endpoint(&app, &key, true, 400_000_000).await;
    let head = read_head(&mut first, Duration::from_secs(30)).await;
    assert!(head.starts_with("HTTP/1.1 100"), "{head}");
    first.write_all(&file_field_head()).await.unwrap();
    first
        .write_all(&wav_with_payload(&[1u8; 4096]))
        .await
        .unwrap();

    // The second is refused at once, without ever being asked for its 400 MB.
    let started = Instant::now();
    let mut second = open_endpoint(&app, &key, true, 400_000_000).await;
    let head = read_head(&mut second, Duration::from_secs(5)).await;
    assert!(head.starts_with("HTTP/1.1 429"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: "),
        "{head}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(first);
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_on_both_streaming_routes_and_leaves_nothing() {
    whisper_model_dir();
    let app = TestApp::spawn_with(|c| c.server.body_idle_timeout_secs = 2).await;
    let s: Session = app.register("stall@example.com", "Stall").await;
    let (key, _) = app.api_key(&s, &["meetings:write"]).await;
    let mut part = file_field_head();
    part.extend_from_slice(&wav_with_payload(&[1u8; 200_000]));

    // The OpenAI-compatible endpoint: part of the file, then nothing.
    let mut stalled = open_endpoint(&app, &key, false, 50_000_000).await;
    stall_and_expect_408(&mut stalled, &part).await;
    let left = app.blobs().list("tmp").await.unwrap();
    assert!(left.is_empty(), "temporary uploads left behind: {left:?}");

    // A recording upload: the same, and no recording row or blob.
    let id = meeting(&app, &s, json!({"title": "Stalled"})).await;
    let path = format!("/api/v1/meetings/{id}/recordings");
    let headers = [
        ("Cookie", s.cookie.as_str()),
        ("X-CSRF-Token", s.csrf.as_str()),
        ("Content-Type", "audio/wav"),
    ];
    let mut stalled = open(app.addr, &path, &headers, 50_000_000).await;
    stall_and_expect_408(&mut stalled, &wav_with_payload(&[1u8; 200_000])).await;
    let r = app
        .send(
            &meetvault_test_support::Cred::Session(s.clone()),
            Method::GET,
            &path,
            None,
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["recordings"], json!([]));
    let everything = app.blobs().list("").await.unwrap();
    assert!(
        everything.iter().all(|b| !b.key.contains("/recordings/")),
        "a recording blob was left behind: {everything:?}"
    );
}

/// A `kB` field of the process's `/proc` status (`VmRSS`, `VmHWM`), in bytes.
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"));
    kib * 1024
}

/// Resets the process's peak resident memory to what it uses now, and returns that.
fn reset_peak(pid: u32) -> u64 {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    memory(pid, "VmRSS")
}

// Multi-threaded: the helper's log polling blocks a thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_file_streams_through_the_endpoint_in_bounded_memory() {
    const SIZE: usize = 256 * 1024 * 1024;
    const CHUNK: usize = 1024 * 1024;
    let model = whisper_model_dir();
    let dir = tempfile::tempdir().unwrap();
    let db = database_env(dir.path()).await;
    let server = ServerProcess::start(
        dir.path(),
        &[
            ("MEETVAULT_DATABASE__URL", &db),
            (
                "MEETVAULT_TRANSCRIPTION__MODEL_DIR",
                model.to_str().unwrap(),
            ),
            ("MEETVAULT_RECORDINGS__MAX_DURATION_SECS", "60"),
        ],
    );
    let base = server.url("");
    let owner = Client::register(&base, "memory@example.com").await;
    let r = owner
        .req(Method::POST, "/api/v1/api-keys")
        .json(&json!({"name": "sdk", "permissions": ["meetings:write"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let key = r.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    let send = |body: reqwest::Body| {
        http.post(server.url("/v1/audio/transcriptions"))
            .bearer_auth(&key)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
    };
    // A small call first loads the model; the peak is then measured from there.
    let mut small = file_field_head();
    small.extend_from_slice(b"not audio");
    small.extend_from_slice(&file_field_tail());
    let r = send(reqwest::Body::from(small)).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let before = reset_peak(server.pid());

    // 256 MiB of WAV (eight hours of audio declared; the limit is a minute) in 1 MiB chunks.
    let mut wav_head = wav_with_payload(&[])[..44].to_vec();
    let size = u32::try_from(SIZE).unwrap();
    wav_head[4..8].copy_from_slice(&(36 + size).to_le_bytes());
    wav_head[40..44].copy_from_slice(&size.to_le_bytes());
    let mut head = file_field_head();
    head.extend_from_slice(&wav_head);
    let chunks = std::iter::once(head)
        .chain((0..SIZE / CHUNK).map(|i| vec![(i % 251) as u8; CHUNK]))
        .chain(std::iter::once(file_field_tail()))
        .map(Ok::<_, std::io::Error>);
    let r = send(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .await
        .unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("audio_too_long"), "{body}");
    let grew = memory(server.pid(), "VmHWM").saturating_sub(before);
    assert!(
        grew < 100 * 1024 * 1024,
        "peak memory grew by {} MiB for a {} MiB upload",
        grew / (1024 * 1024),
        SIZE / (1024 * 1024)
    );
    // The temporary blob is gone.
    let tmp = dir.path().join("meetvault-data/blobs/tmp/transcriptions");
    let left = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "temporary uploads left in {}", tmp.display());
}
