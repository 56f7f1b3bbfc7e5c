//! The meeting bot end to end, nothing stood in: `POST /api/v1/bots` with a testmeet room's
//! link; the server's orchestrator starts the real `meetvault bot run` process, which fetches
//! its spec and recipe and drives its own Chromium (in a private network namespace, through
//! `bot.browser_command_prefix`) into the room, where three people speak from three other
//! Chromiums, each with a different espeak-ng voice. The host admits the bot from the lobby;
//! the bot posts consent, records (each speaker heard live on the meeting's event stream, under
//! their name), leaves when asked; its per-speaker recordings are transcribed and each sentence
//! is attributed to the one who said it. A second bot is killed
//! with SIGKILL mid-meeting: what it captured is still processed and no Chromium remains.
//!
//! A test binary of its own: real-time WebRTC audio needs the two cores to itself, not shared
//! with the API suite running beside it (a starved jitter buffer time-stretches speech).

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use meetvault_test_support::browser::{Browser, BrowserOptions, Netns, Page};
use meetvault_test_support::media::{ffmpeg, run, whisper_base_model_dir};
use meetvault_test_support::testmeet::{self, js};
use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn get_bot(app: &TestApp, cred: &Cred, id: &str) -> Value {
    let r = app
        .send(cred, Method::GET, &format!("/api/v1/bots/{id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// Generous: two shared cores, four Chromiums and a Whisper model.
const LIMIT: Duration = Duration::from_secs(90);
const BOT: &str = "Meetvault Notetaker";
const CONSENT: &str = "Meetvault Notetaker records this meeting. Type /optout to opt out.";

/// Who speaks, in which voice, saying what (looped by Chromium's fake microphone).
const SPEAKERS: [(&str, &str, &str); 3] = [
    (
        "Ada",
        "en-us",
        "The budget for the lighthouse project is approved.",
    ),
    (
        "Bob",
        "en-us+m1",
        "We should call the customer on Monday morning.",
    ),
    (
        "Cyd",
        "en-us+m7",
        "The new office opens next week in Berlin.",
    ),
];

/// A testmeet room, a namespace its browsers run in, and a meetvault server whose bots join
/// it.
struct Setup {
    netns: Netns,
    url: String,
    host_url: String,
    app: TestApp,
}

async fn setup() -> Setup {
    let server = meetvault_testmeet::Server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run(std::future::pending()));
    let room: Value = reqwest::Client::new()
        .post(format!("http://{addr}/api/rooms"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let netns = Netns::new(&[addr]).await;
    let prefix = netns.enter_prefix();
    // The multilingual base model: tiny.en garbles Opus-coded espeak speech played in a loop
    // (faster-whisper does the same with it).
    let model = whisper_base_model_dir();
    let app = TestApp::spawn_with(|c| {
        c.bot.launcher = meetvault_config::BotLauncher::Local;
        c.bot.executable = Some(PathBuf::from(env!("CARGO_BIN_EXE_meetvault")));
        c.bot.browser_command_prefix = prefix;
        c.bot.test_platform_origins = vec![format!("http://{addr}").parse().unwrap()];
        c.bot.poll_interval_ms = 200;
        c.transcription.auto = true;
        c.transcription.model_dir = Some(model);
    })
    .await;
    Setup {
        netns,
        url: room["url"].as_str().unwrap().to_owned(),
        host_url: room["host_url"].as_str().unwrap().to_owned(),
        app,
    }
}

/// `text` spoken in `voice` as a 48 kHz mono WAV (what Chromium's fake microphone plays best).
fn voice(dir: &Path, name: &str, voice: &str, text: &str) -> PathBuf {
    let raw = dir.join(format!("{name}-raw.wav"));
    let out = dir.join(format!("{name}.wav"));
    let raw_path = raw.to_str().unwrap();
    run(
        "espeak-ng",
        "espeak-ng",
        &["-v", voice, "-s", "150", "-w", raw_path, text],
    );
    // A long pause after the sentence: the fake microphone plays the file in a loop, and a
    // window of Whisper that hears one sentence four times reads as a repetition loop
    // (compression ratio over 2.4): every temperature is then tried and the transcript is
    // sampled (a CI run heard "Let me jump to you!"). With 8 s of pause it hears it twice.
    let args = [
        "-af",
        "apad=pad_dur=8",
        "-ar",
        "48000",
        "-ac",
        "1",
        "-c:a",
        "pcm_s16le",
    ];
    ffmpeg(&raw, &out, &args);
    out
}

/// Opens `url` in `browser` and asks to join as `name`, waiting for `state`.
async fn join(browser: &Browser, url: &str, name: &str, state: &str) -> Page {
    let page = browser.new_page().await;
    page.navigate(url).await;
    testmeet::join(&page, name, "", state, LIMIT).await;
    page
}

/// The host admits `name` from the lobby.
async fn admit(host: &Page, name: &str) {
    testmeet::lobby_decide(host, name, "admit", LIMIT).await;
}

/// Polls the bot until `pred` holds (up to [`LIMIT`]).
async fn wait_for_bot(
    app: &TestApp,
    cred: &Cred,
    id: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let v = get_bot(app, cred, id).await;
        if pred(&v) {
            return v;
        }
        assert!(start.elapsed() < LIMIT, "the bot never {what}: {v:#}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn states(bot: &Value) -> Vec<String> {
    bot["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap().to_owned())
        .collect()
}

/// The meeting's transcript segments once every speaker's track has been transcribed (each
/// track's transcript is stored whole when its job finishes).
async fn transcript(app: &TestApp, cred: &Cred, meeting: &str) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let r = app
            .send(
                cred,
                Method::GET,
                &format!("/api/v1/meetings/{meeting}/transcript"),
                None,
            )
            .await;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or_default();
        let segments = body["segments"].as_array().cloned().unwrap_or_default();
        let all = SPEAKERS
            .iter()
            .all(|(name, ..)| segments.iter().any(|s| s["speaker"] == *name));
        if status == StatusCode::OK && all {
            return segments;
        }
        assert!(
            start.elapsed() < 6 * LIMIT,
            "the speakers' tracks were not all transcribed ({status}): {body:#}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The `text` of the segments (or live segments) that `keep` keeps, joined by spaces.
fn text_where(segments: &[Value], keep: impl Fn(&Value) -> bool) -> String {
    segments
        .iter()
        .filter(|s| keep(s))
        .map(|s| s["text"].as_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The share of `sentence`'s words (4+ letters) that `heard` holds: a word counts when some
/// stretch of the heard letters (spaces and punctuation dropped) is fewer than a quarter of its
/// letters away in edits (one in 5 to 8 letters, two in 9 to 12; a 4-letter word exactly), so
/// Whisper's "a proved" for "approved" counts. (On a CI run's recordings no word of one
/// sentence came that close to another's transcript.)
fn words_found(sentence: &str, heard: &str) -> f64 {
    let heard: Vec<char> = heard
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    let words: Vec<Vec<char>> = sentence
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 4)
        .map(|w| w.to_lowercase().chars().collect())
        .collect();
    let near = |w: &Vec<char>| closest_stretch(w, &heard) <= (w.len() - 1) / 4;
    words.iter().filter(|w| near(w)).count() as f64 / words.len() as f64
}

/// The fewest edits that turn `word` into some stretch of `text` (Sellers' algorithm).
fn closest_stretch(word: &[char], text: &[char]) -> usize {
    let mut prev = vec![0; text.len() + 1];
    for (i, c) in word.iter().enumerate() {
        let mut cur = vec![i + 1; text.len() + 1];
        for (j, t) in text.iter().enumerate() {
            cur[j + 1] = (prev[j + 1] + 1)
                .min(cur[j] + 1)
                .min(prev[j] + usize::from(c != t));
        }
        prev = cur;
    }
    prev.into_iter().min().unwrap_or(word.len())
}

#[test]
fn a_word_is_found_through_a_mishearing_but_not_in_another_sentence() {
    let heard = "In a Proved. The Merget Thermalite House Project in a Proved.";
    assert!((words_found(SPEAKERS[0].2, heard) - 0.5).abs() < 1e-9);
    assert_eq!(words_found(SPEAKERS[1].2, heard), 0.0);
    assert_eq!(words_found(SPEAKERS[2].2, heard), 0.0);
    assert_eq!(words_found("call week", "a cell and a weak"), 0.0);
    assert_eq!(words_found("Monday", "monday"), 1.0);
}

/// Processes in `netns` whose command line shows the bot's own Chromium (its profile is
/// `meetvault-bot-…`).
fn bot_chromiums(netns: &Netns) -> Vec<(u32, String)> {
    netns
        .processes()
        .into_iter()
        .filter_map(|(pid, _)| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains("meetvault-bot-").then_some((pid, cmdline))
        })
        .collect()
}

/// The pid of the `meetvault bot run` process of bot `id`.
fn bot_process(id: &str) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        (cmdline.contains(" bot run ") && cmdline.contains(id)).then_some(pid)
    })
}

async fn no_bot_chromium(netns: &Netns) {
    let start = Instant::now();
    loop {
        let left = bot_chromiums(netns);
        if left.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the bot's Chromium outlived it: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_joins_testmeet_records_three_speakers_and_attributes_each_sentence_and_a_killed_bot_loses_nothing()
 {
    let s = setup().await;
    let app = &s.app;
    let work = tempfile::tempdir().unwrap();
    let wavs: Vec<PathBuf> = SPEAKERS
        .iter()
        .map(|(name, v, text)| voice(work.path(), name, v, text))
        .collect();
    let (ada_browser, bob_browser, cyd_browser) = tokio::join!(
        Browser::launch_in(&s.netns, BrowserOptions::speaking(&wavs[0])),
        Browser::launch_in(&s.netns, BrowserOptions::speaking(&wavs[1])),
        Browser::launch_in(&s.netns, BrowserOptions::speaking(&wavs[2])),
    );
    let ada = join(&ada_browser, &s.host_url, "Ada", "joined").await;
    let _bob = join(&bob_browser, &s.url, "Bob", "lobby").await;
    let _cyd = join(&cyd_browser, &s.url, "Cyd", "lobby").await;
    admit(&ada, "Bob").await;
    admit(&ada, "Cyd").await;

    let owner = app.register("bots-e2e@example.com", "Bots").await;
    let cred = Cred::Session(owner.clone());
    let r = app
        .send(
            &cred,
            Method::POST,
            "/api/v1/bots",
            Some(
                json!({"meeting_url": s.url, "bot_name": BOT, "consent_message": CONSENT,
                        "transcription": {"language": "en"}}),
            ),
        )
        .await;
    let status = r.status();
    let bot: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{bot}");
    assert_eq!(bot["platform"], "testmeet");
    let id = bot["id"].as_str().unwrap().to_owned();
    let meeting = bot["meeting_id"].as_str().unwrap().to_owned();
    let live = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let heard = live.clone();
    app.on_events(&owner.cookie, &meeting, "live_segment", move |e| {
        heard.lock().unwrap().push(e);
    })
    .await;

    // The bot waits in the lobby until the host admits it, then says who it is.
    wait_for_bot(app, &cred, &id, "reached the waiting room", |b| {
        b["state"] == "waiting_room"
    })
    .await;
    admit(&ada, BOT).await;
    wait_for_bot(app, &cred, &id, "started recording", |b| {
        b["state"] == "recording"
    })
    .await;
    ada.wait_for(
        "the consent message in the chat",
        &format!(
            "[...document.querySelectorAll('#chat-messages .msg .text')].some(t => t.textContent === {})",
            js(CONSENT)
        ),
        LIMIT,
    )
    .await;
    assert!(
        !bot_chromiums(&s.netns).is_empty(),
        "the bot's Chromium runs in the namespace"
    );
    let process = bot_process(&id).expect("the bot runs as a process of its own");
    let environ = std::fs::read(format!("/proc/{process}/environ")).unwrap_or_default();
    assert!(String::from_utf8_lossy(&environ).contains("MEETVAULT_BOT_TOKEN="));
    for (pid, _) in bot_chromiums(&s.netns) {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&environ).contains("MEETVAULT_BOT_TOKEN"),
            "the bot's token reached its browser"
        );
    }

    // Every speaker is seen with a track of their own; then 20 s of the meeting.
    let seen = wait_for_bot(app, &cred, &id, "mapped a track to each speaker", |b| {
        let participants = b["participants"].as_array().cloned().unwrap_or_default();
        SPEAKERS.iter().all(|(name, ..)| {
            participants
                .iter()
                .any(|p| p["name"] == *name && !p["track"].is_null())
        })
    })
    .await;
    eprintln!("participants: {:#}", seen["participants"]);
    tokio::time::sleep(Duration::from_secs(20)).await;

    // Asked to leave, it runs the recipe's leave steps and ends; its Chromium is gone.
    let r = app
        .send(
            &cred,
            Method::POST,
            &format!("/api/v1/bots/{id}/leave"),
            None,
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let ended = wait_for_bot(app, &cred, &id, "ended", |b| b["state"] == "ended").await;
    assert_eq!(ended["sub_code"], "left_by_api", "{ended:#}");
    let timeline = states(&ended);
    for state in [
        "scheduled",
        "joining",
        "waiting_room",
        "joined",
        "recording",
        "leaving",
        "ended",
    ] {
        assert!(
            timeline.iter().any(|s| s == state),
            "{state} missing from {timeline:?}"
        );
    }
    eprintln!("timeline: {:#}", ended["transitions"]);
    // What the chat showed reached the server (its consent message among it).
    let chat = ended["chat"].as_array().cloned().unwrap_or_default();
    assert!(
        chat.iter().any(|m| m["text"] == CONSENT),
        "the chat the bot saw: {chat:#?}"
    );
    no_bot_chromium(&s.netns).await;

    // Each speaker's recording, transcribed: every sentence under the one who said it.
    let segments = transcript(app, &cred, &meeting).await;
    if let Ok(dump) = std::env::var("E2E_DUMP") {
        let list: Value = app
            .send(
                &cred,
                Method::GET,
                &format!("/api/v1/meetings/{meeting}/recordings"),
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        for r in list["recordings"].as_array().unwrap() {
            let rid = r["id"].as_str().unwrap();
            let bytes = app
                .send(
                    &cred,
                    Method::GET,
                    &format!("/api/v1/meetings/{meeting}/recordings/{rid}"),
                    None,
                )
                .await
                .bytes()
                .await
                .unwrap();
            std::fs::write(
                format!("{dump}/{}.wav", r["speaker"].as_str().unwrap()),
                bytes,
            )
            .unwrap();
        }
        for (i, (name, ..)) in SPEAKERS.iter().enumerate() {
            std::fs::copy(&wavs[i], format!("{dump}/{name}-source.wav")).unwrap();
        }
    }
    let mut found = Vec::new();
    for (name, _, sentence) in SPEAKERS {
        let said = text_where(&segments, |s| s["speaker"] == name);
        let others = text_where(&segments, |s| s["speaker"] != name);
        let own = words_found(sentence, &said);
        let elsewhere = words_found(sentence, &others);
        eprintln!(
            "{name}: {own:.2} of their words under their name, {elsewhere:.2} under others': {said:?}"
        );
        found.push((name, own, elsewhere));
    }
    // Every sentence under the one who said it, and none under another speaker. (Each
    // recording holds at least one whole sentence; Whisper mishears a word or two through
    // Opus, as faster-whisper does on the same recordings.)
    for (name, own, elsewhere) in &found {
        assert!(
            *own >= 0.5 && *elsewhere <= 0.25,
            "{name}'s sentence is not under their name alone: {found:?}"
        );
    }
    // And each was heard live during the meeting, under their name, on the meeting's stream.
    let live: Vec<Value> = live.lock().unwrap().clone();
    for (name, _, sentence) in SPEAKERS {
        let said = text_where(&live, |e| e["speaker"] == name);
        eprintln!("{name}, live: {said:?}");
        assert!(
            words_found(sentence, &said) > 0.0,
            "no live segment of {name}'s with their words: {live:#?}"
        );
    }

    // A second bot, killed mid-meeting: it is marked crashed, what it sent is processed, and
    // its Chromium dies with it.
    let second = app
        .send(
            &cred,
            Method::POST,
            "/api/v1/bots",
            Some(json!({"meeting_url": s.url, "bot_name": "Second Notetaker"})),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let second_id = second["id"].as_str().unwrap().to_owned();
    let second_meeting = second["meeting_id"].as_str().unwrap().to_owned();
    wait_for_bot(app, &cred, &second_id, "reached the waiting room", |b| {
        b["state"] == "waiting_room"
    })
    .await;
    admit(&ada, "Second Notetaker").await;
    wait_for_bot(app, &cred, &second_id, "started recording", |b| {
        b["state"] == "recording"
    })
    .await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let pid = bot_process(&second_id).expect("the second bot's process");
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let crashed = wait_for_bot(app, &cred, &second_id, "was marked crashed", |b| {
        b["state"] == "fatal_error"
    })
    .await;
    assert_eq!(crashed["sub_code"], "browser_crashed", "{crashed:#}");
    no_bot_chromium(&s.netns).await;
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{second_meeting}/recordings"),
            None,
        )
        .await;
    let start = Instant::now();
    let mut recordings: Value = r.json().await.unwrap();
    while recordings["recordings"]
        .as_array()
        .is_none_or(|l| l.len() < SPEAKERS.len())
    {
        assert!(
            start.elapsed() < LIMIT,
            "the killed bot's audio was not processed: {recordings:#}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        recordings = app
            .send(
                &cred,
                Method::GET,
                &format!("/api/v1/meetings/{second_meeting}/recordings"),
                None,
            )
            .await
            .json()
            .await
            .unwrap();
    }
    for r in recordings["recordings"].as_array().unwrap() {
        let ms = r["duration_ms"].as_i64().unwrap_or_default();
        assert!(
            ms >= 4_000,
            "a killed bot's recording lost what it had sent: {r}"
        );
    }
    drop((ada_browser, bob_browser, cyd_browser));
}
