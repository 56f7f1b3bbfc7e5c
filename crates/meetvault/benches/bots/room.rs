//! One testmeet room with two people speaking in it: a host and a guest, each a headless
//! Chromium in the bench's network namespace whose fake microphone loops an espeak-ng WAV, and
//! the host's page, which lets the bot in from the lobby.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use meetvault_test_support::browser::{Browser, BrowserOptions, Netns, Page};
use meetvault_test_support::media::{ffmpeg, speak};
use meetvault_test_support::testmeet;
use serde_json::Value;

/// How long a page may take to show what it should (two shared, busy cores).
const LIMIT: Duration = Duration::from_secs(120);

/// Voices for the speakers, two per room in turn (espeak-ng voice + variant).
const VOICES: &[&str] = &[
    "en-us+f3", "en-gb+m3", "en-us+m1", "en-gb+f2", "en-us+m3", "en-gb+f4", "en-us+f1", "en-gb+m1",
];

/// What the speakers read: two sentences each, looped by Chromium's fake microphone.
const SENTENCES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../bench/sentences.txt"
));

/// `count` speaker recordings (48 kHz mono WAVs, what the fake microphone plays best), each in
/// its own voice where there are enough voices, saying different sentences.
pub fn voices(dir: &Path, count: usize) -> Result<Vec<PathBuf>> {
    let sentences: Vec<&str> = SENTENCES.lines().filter(|l| !l.trim().is_empty()).collect();
    anyhow::ensure!(
        sentences.len() >= 2,
        "bench/sentences.txt has too few lines"
    );
    (0..count)
        .map(|i| {
            let text = format!(
                "{} {}",
                sentences[(2 * i) % sentences.len()],
                sentences[(2 * i + 1) % sentences.len()]
            );
            let raw = dir.join(format!("speaker-{i}-raw.wav"));
            let out = dir.join(format!("speaker-{i}.wav"));
            speak(&text, VOICES[i % VOICES.len()], &raw);
            ffmpeg(
                &raw,
                &out,
                &["-ar", "48000", "-ac", "1", "-c:a", "pcm_s16le"],
            );
            Ok(out)
        })
        .collect()
}

/// A room with its two speakers in it.
#[derive(Debug)]
pub struct Room {
    /// The link a bot is sent to.
    pub url: String,
    host: Page,
    /// Kept alive for the room's life: dropping a browser kills it.
    _browsers: [Browser; 2],
}

impl Room {
    /// Creates a room on testmeet at `testmeet` and brings two speakers into it: the host
    /// (playing `wavs.0`) and a guest (playing `wavs.1`) whom the host admits.
    pub async fn open(
        testmeet: SocketAddr,
        netns: &Netns,
        index: usize,
        wavs: (&Path, &Path),
    ) -> Result<Room> {
        let room: Value = reqwest::Client::new()
            .post(format!("http://{testmeet}/api/rooms"))
            .send()
            .await
            .context("creating a testmeet room")?
            .json()
            .await
            .context("testmeet's room answer")?;
        let url = room["url"].as_str().context("a room url")?.to_owned();
        let host_url = room["host_url"].as_str().context("a host url")?.to_owned();
        let host_browser = Browser::launch_in(netns, BrowserOptions::speaking(wavs.0)).await;
        let guest_browser = Browser::launch_in(netns, BrowserOptions::speaking(wavs.1)).await;
        let host_name = format!("Host {index}");
        let guest_name = format!("Guest {index}");
        let host = join(&host_browser, &host_url, &host_name, "joined").await;
        join(&guest_browser, &url, &guest_name, "lobby").await;
        admit(&host, &guest_name).await;
        Ok(Room {
            url,
            host,
            _browsers: [host_browser, guest_browser],
        })
    }

    /// The host admits `name` from the lobby (waiting until it is there).
    pub async fn admit(&self, name: &str) {
        admit(&self.host, name).await;
    }
}

/// Opens `url` in `browser` and asks to join as `name`, waiting for the page's `state`.
async fn join(browser: &Browser, url: &str, name: &str, state: &str) -> Page {
    let page = browser.new_page().await;
    page.navigate(url).await;
    testmeet::join(&page, name, "", state, LIMIT).await;
    page
}

async fn admit(host: &Page, name: &str) {
    testmeet::lobby_decide(host, name, "admit", LIMIT).await;
}
