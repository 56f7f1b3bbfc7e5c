//! testmeet end to end: real headless Chromiums in one private network namespace, real WebRTC
//! over its loopback, each browser's microphone playing its own espeak-ng sentence. The host
//! admits two people from the lobby; everyone hears everyone (RTP statistics with energy, per
//! stream), the participant list names the streams receivers see, chat reaches everyone; a
//! listener with microphone and camera off (as a bot joins) hears all three; the host denies
//! one more, removes one and ends the meeting, each seen as its notice.

use std::path::{Path, PathBuf};
use std::time::Duration;

use meetvault_test_support::browser::{Browser, BrowserOptions, Netns, Page};
use meetvault_test_support::media::{ffmpeg, speak};
use serde_json::{Value, json};

use crate::{create_room, start_server};

/// How long a condition may take to hold (generous: two shared cores, three browsers).
const LIMIT: Duration = Duration::from_secs(30);

/// Records, in the page, every remote track with the stream it came in (as a bot would).
const RECORDER: &str = r"(() => {
  const Native = window.RTCPeerConnection;
  window.__tracks = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('track', (e) => window.__tracks.push({
        stream: e.streams[0] ? e.streams[0].id : null, kind: e.track.kind, receiver: e.receiver }));
    }
  };
})();";

/// Per remote audio stream: bytes received and total audio energy (RTP inbound statistics).
const AUDIO_STATS: &str = r"(async () => {
  const out = {};
  for (const t of window.__tracks || []) {
    if (t.kind !== 'audio' || !t.stream) continue;
    try {
      for (const s of (await t.receiver.getStats()).values()) {
        if (s.type === 'inbound-rtp') out[t.stream] = { bytes: s.bytesReceived || 0, energy: s.totalAudioEnergy || 0 };
      }
    } catch (_) {}
  }
  return out;
})()";

/// A 48 kHz mono 16-bit WAV of `text` in `voice`.
fn sentence(dir: &Path, name: &str, voice: &str, text: &str) -> PathBuf {
    let raw = dir.join(format!("{name}-raw.wav"));
    let wav = dir.join(format!("{name}.wav"));
    speak(text, voice, &raw);
    ffmpeg(
        &raw,
        &wav,
        &["-ar", "48000", "-ac", "1", "-c:a", "pcm_s16le"],
    );
    wav
}

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

struct Person {
    name: &'static str,
    page: Page,
    id: String,
}

/// Opens `url` in a new tab of `browser` and asks to join as `name`, waiting for `state`.
async fn join(browser: &Browser, url: &str, name: &'static str, state: &str) -> Person {
    join_after(browser, url, name, "", state).await
}

/// [`join`], running `setup` on the pre-join screen first.
async fn join_after(
    browser: &Browser,
    url: &str,
    name: &'static str,
    setup: &str,
    state: &str,
) -> Person {
    let page = browser.new_page().await;
    page.add_init_script(RECORDER).await;
    page.navigate(url).await;
    page.evaluate(&format!(
        "{setup} document.querySelector('#name').value = {}; document.querySelector('#join').click(); true",
        js(name)
    ))
    .await;
    page.wait_for(
        &format!("{name} to reach {state}"),
        &format!("document.body.dataset.state === {}", js(state)),
        LIMIT,
    )
    .await;
    Person {
        name,
        page,
        id: String::new(),
    }
}

/// The host presses `button` (admit or deny) beside `name` in the lobby list; returns the
/// participant id it acted on.
async fn decide(host: &Page, name: &str, button: &str) -> String {
    let li = format!(
        "[...document.querySelectorAll('#lobby-list li')].find(li => li.querySelector('.name').textContent === {})",
        js(name)
    );
    let id = host
        .wait_for(
            &format!("{name} in the lobby list"),
            &format!("{li}?.dataset.participantId"),
            LIMIT,
        )
        .await;
    host.evaluate(&format!(
        "{li}.querySelector('button.{button}').click(); true"
    ))
    .await;
    id.as_str().unwrap().to_owned()
}

/// `[{id, stream, name}]` of the participant list as `page` shows it, once it has `n` rows.
async fn participants(page: &Page, n: usize) -> Vec<Value> {
    let value = page
        .wait_for(
            &format!("{n} participants listed"),
            &format!(
                "(() => {{ const rows = [...document.querySelectorAll('#participants li')]; \
                 return rows.length === {n} && rows.map(li => ({{ id: li.dataset.participantId, \
                 stream: li.dataset.streamId, name: li.querySelector('.name').textContent }})); }})()"
            ),
            LIMIT,
        )
        .await;
    value.as_array().unwrap().clone()
}

/// Polls the page's inbound audio statistics until every stream in `streams` has brought
/// bytes and sound (energy: silence has none); returns them, per stream id.
async fn hears(page: &Page, streams: &[String]) -> Value {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let stats = page.evaluate(AUDIO_STATS).await;
        let heard = |id: &String| {
            stats[id]["bytes"].as_f64().unwrap_or(0.0) > 4000.0
                && stats[id]["energy"].as_f64().unwrap_or(0.0) > 0.01
        };
        if streams.iter().all(heard) {
            return stats;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {LIMIT:?} for sound on {streams:?}; inbound audio: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn notice(page: &Page, reason: &str, text: &str) {
    let shown = page
        .wait_for(
            &format!("the {reason} notice"),
            &format!(
                "(() => {{ const n = document.querySelector('#notice[data-reason={reason}]'); \
                 return n && !n.hidden && document.body.dataset.state === 'ended' && n.textContent; }})()"
            ),
            LIMIT,
        )
        .await;
    assert_eq!(shown, json!(text));
}

#[tokio::test]
async fn three_people_meet_hear_each_other_chat_and_the_host_ends_it() {
    let addr = start_server().await;
    let room = create_room(addr).await;
    let (url, host_url) = (
        room["url"].as_str().unwrap(),
        room["host_url"].as_str().unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let wavs = [
        sentence(
            dir.path(),
            "ada",
            "en-us+m3",
            "Good morning, this is the host speaking.",
        ),
        sentence(
            dir.path(),
            "bob",
            "en-us+f2",
            "Hello everyone, Bob here with the numbers.",
        ),
        sentence(
            dir.path(),
            "cyd",
            "en-gb+m1",
            "Thanks, Cyd speaking from the other office.",
        ),
    ];
    let netns = Netns::new(&[addr]).await;
    let (a, b, c) = tokio::join!(
        Browser::launch_in(&netns, BrowserOptions::speaking(&wavs[0])),
        Browser::launch_in(&netns, BrowserOptions::speaking(&wavs[1])),
        Browser::launch_in(&netns, BrowserOptions::speaking(&wavs[2])),
    );

    // The host joins at once; the others wait in the lobby until admitted.
    let mut host = join(&a, host_url, "Ada", "joined").await;
    let mut bob = join(&b, url, "Bob", "lobby").await;
    // Cyd also turns the camera on: one stream, audio and video.
    let mut cyd = join_after(
        &c,
        url,
        "Cyd",
        "document.querySelector('#cam-toggle').click();",
        "lobby",
    )
    .await;
    for guest in [&bob, &cyd] {
        let lobby = guest
            .page
            .evaluate("(() => { const l = document.querySelector('#lobby'); return !l.hidden && l.textContent.trim(); })()")
            .await;
        assert_eq!(lobby, json!("Waiting for the host to let you in"));
    }
    bob.id = decide(&host.page, "Bob", "admit").await;
    cyd.id = decide(&host.page, "Cyd", "admit").await;
    for guest in [&bob, &cyd] {
        guest
            .page
            .wait_for(
                "admission",
                "document.body.dataset.state === 'joined'",
                LIMIT,
            )
            .await;
    }

    // Everyone lists all three, each with the stream it sends.
    let listed = participants(&host.page, 3).await;
    host.id = listed.iter().find(|p| p["name"] == "Ada").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let people = [&host, &bob, &cyd];
    for person in people {
        let mut seen = participants(&person.page, 3).await;
        seen.sort_by_key(|p| p["id"].as_str().unwrap().to_owned());
        let mut expected = listed.clone();
        expected.sort_by_key(|p| p["id"].as_str().unwrap().to_owned());
        assert_eq!(
            seen, expected,
            "{} sees the same list as the host",
            person.name
        );
    }
    let stream_of = |id: &str| -> String {
        let row = listed.iter().find(|p| p["id"] == id).unwrap();
        let stream = row["stream"].as_str().unwrap().to_owned();
        assert!(!stream.is_empty(), "{row} announces its stream");
        stream
    };

    // Each receiver gets sound from each of the others, on the streams the list names.
    for receiver in people {
        let others: Vec<String> = people
            .iter()
            .filter(|p| p.id != receiver.id)
            .map(|p| stream_of(&p.id))
            .collect();
        let stats = hears(&receiver.page, &others).await;
        let mut received: Vec<&String> = stats.as_object().unwrap().keys().collect();
        received.sort();
        let mut want: Vec<&String> = others.iter().collect();
        want.sort();
        assert_eq!(
            received, want,
            "{} receives exactly the others' streams",
            receiver.name
        );
    }

    // Cyd's video plays at the others, in the same stream as Cyd's audio.
    for receiver in [&host, &bob] {
        let video = receiver
            .page
            .wait_for(
                "Cyd's video",
                &format!(
                    "(() => {{ const v = document.querySelector('#media video[data-participant-id={}]'); \
                     return v && v.videoWidth > 0 && v.dataset.streamId; }})()",
                    js(&cyd.id)
                ),
                LIMIT,
            )
            .await;
        assert_eq!(video, json!(stream_of(&cyd.id)));
    }

    // Chat reaches everyone, with who sent it.
    for (sender, text) in [
        (&host, "Welcome, both of you."),
        (&bob, "Thanks <b>Ada</b>!"),
    ] {
        sender
            .page
            .evaluate(&format!(
                "document.querySelector('#chat-input').value = {}; document.querySelector('#chat-send').click(); true",
                js(text)
            ))
            .await;
    }
    for person in people {
        let messages = person
            .page
            .wait_for(
                "two chat messages",
                "(() => { const m = [...document.querySelectorAll('#chat-messages .msg')]; \
                 return m.length === 2 && m.map(e => [e.dataset.senderId, e.querySelector('.sender').textContent, \
                 e.querySelector('.text').textContent, Number(e.dataset.ts) > 0]); })()",
                LIMIT,
            )
            .await;
        assert_eq!(
            messages,
            json!([
                [host.id, "Ada", "Welcome, both of you.", true],
                [bob.id, "Bob", "Thanks <b>Ada</b>!", true]
            ]),
            "{} sees the chat",
            person.name
        );
        let markup = person
            .page
            .evaluate("document.querySelectorAll('#chat-messages b').length")
            .await;
        assert_eq!(markup, json!(0), "chat text is text, never markup");
    }

    // A listener with microphone and camera off (as a bot joins) hears all three, sends nothing.
    let mut ear = join_after(
        &c,
        url,
        "Listener",
        "document.querySelector('#mic-toggle').click();",
        "lobby",
    )
    .await;
    let toggles = ear
        .page
        .evaluate("['#mic-toggle', '#cam-toggle'].map(b => document.querySelector(b).getAttribute('aria-pressed'))")
        .await;
    assert_eq!(toggles, json!(["false", "false"]));
    ear.id = decide(&host.page, "Listener", "admit").await;
    let everyone = participants(&ear.page, 4).await;
    let row = everyone
        .iter()
        .find(|p| p["id"] == ear.id.as_str())
        .unwrap();
    assert_eq!(row["stream"], "", "a listener announces no stream");
    let speakers: Vec<String> = people.iter().map(|p| stream_of(&p.id)).collect();
    hears(&ear.page, &speakers).await;

    // A fifth asks to join and is denied.
    let eve = join(&b, url, "Eve", "lobby").await;
    decide(&host.page, "Eve", "deny").await;
    notice(&eve.page, "denied", "The host denied your request").await;

    // The host removes Cyd: Cyd is told, the others see the rest.
    host.page
        .evaluate(&format!(
            "document.querySelector('#participants li[data-participant-id={}] button.remove').click(); true",
            js(&cyd.id)
        ))
        .await;
    notice(&cyd.page, "removed", "You were removed from the meeting").await;
    for person in [&host, &bob, &ear] {
        let left = participants(&person.page, 3).await;
        assert!(left.iter().all(|p| p["id"] != cyd.id.as_str()));
    }
    let controls = bob.page.evaluate("document.querySelectorAll('button.remove, button.admit').length + (document.querySelector('#host-controls').hidden ? 0 : 1)").await;
    assert_eq!(controls, json!(0), "only the host has host controls");

    // The host ends the meeting for everyone.
    host.page
        .evaluate("document.querySelector('#end-meeting').click(); true")
        .await;
    for person in [&host, &bob, &ear] {
        notice(&person.page, "ended", "The meeting has ended").await;
    }
    // Coming back to an ended meeting says so.
    let late = join(&c, url, "Cyd", "ended").await;
    notice(&late.page, "ended", "The meeting has ended").await;

    // Every Chromium process dies with its browser; the namespace outlives them.
    let chromium = |netns: &Netns| {
        netns
            .processes()
            .into_iter()
            .filter(|(_, name)| name.starts_with("chrom"))
            .count()
    };
    assert!(chromium(&netns) >= 3, "{:?}", netns.processes());
    drop((a, b, c));
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let left: Vec<_> = netns
            .processes()
            .into_iter()
            .filter(|(_, name)| name != "sleep" && name != "socat" && name != "unshare")
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still in the namespace: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_browser_of_its_own_reaches_only_the_addresses_it_forwards() {
    let (forwarded, other) = (start_server().await, start_server().await);
    let browser = Browser::launch(&[forwarded]).await;
    let page = browser.new_page().await;
    let room = create_room(forwarded).await;
    let loaded = page.navigate(room["url"].as_str().unwrap()).await;
    assert_eq!(loaded.error, None);
    assert_eq!(
        page.evaluate("document.body.dataset.state").await,
        json!("prejoin")
    );
    let elsewhere = page.navigate(&format!("http://{other}/healthz")).await;
    assert_eq!(
        elsewhere.error.as_deref(),
        Some("net::ERR_CONNECTION_REFUSED")
    );
}
