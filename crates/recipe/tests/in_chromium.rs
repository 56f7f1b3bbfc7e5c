//! Each shipped recipe against its saved DOM fixtures, in real headless Chromium: every
//! detector fires on exactly the fixtures it should, the scrapers read the right chat messages,
//! participants and speakers, the join steps fill, toggle and click the prejoin page, and the
//! chat steps send a message the page then shows. The fixtures are served from a loopback
//! server; the browser runs in its own network namespace.
// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use meetvault_recipe::js::CompiledStep;
use meetvault_recipe::{DetectorKind, Recipe};
use meetvault_test_support::browser::{Browser, Page};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use DetectorKind::{Admitted, ChatPanel, Denied, MeetingEnded, Removed, WaitingRoom};

/// A name a hostile caller might give the bot: quotes, markup, a line separator.
const HOSTILE_NAME: &str = "Rec\"order' </script><img src=x onerror=alert(1)>\u{2028}${x}";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn recipe(platform: &str) -> Recipe {
    Recipe::from_path(&root().join("recipes").join(format!("{platform}.toml")))
        .unwrap_or_else(|e| panic!("{platform}: {e}"))
}

/// Serves `tests/fixtures/` on a loopback port: `GET /PLATFORM/NAME.html`.
async fn serve_fixtures() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let dir = dir.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request);
                let path = line.split_whitespace().nth(1).unwrap_or("/");
                let safe = path
                    .trim_start_matches('/')
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '.'))
                    && !path.contains("..");
                let body = if safe {
                    std::fs::read(dir.join(path.trim_start_matches('/'))).ok()
                } else {
                    None
                };
                let (status, body) = match body {
                    Some(b) => ("200 OK", b),
                    None => ("404 Not Found", b"not found".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    addr
}

struct Fixtures {
    browser: Browser,
    page: Page,
    base: String,
    platform: &'static str,
    recipe: Recipe,
}

impl Fixtures {
    async fn open(platform: &'static str) -> Self {
        let addr = serve_fixtures().await;
        let browser = Browser::launch(&[addr]).await;
        let page = browser.new_page().await;
        Self {
            browser,
            page,
            base: format!("http://{addr}/{platform}"),
            platform,
            recipe: recipe(platform),
        }
    }

    async fn visit(&self, fixture: &str) {
        let url = format!("{}/{fixture}.html", self.base);
        let nav = self.page.navigate(&url).await;
        assert!(nav.error.is_none(), "{url}: {nav:?}");
        let bad = self.page.evaluate(&self.recipe.self_check_js()).await;
        assert_eq!(
            bad,
            json!([]),
            "{}: the browser refuses parts of the recipe",
            self.platform
        );
    }

    /// The detectors that fire on the page now.
    async fn firing(&self) -> BTreeSet<DetectorKind> {
        let mut out = BTreeSet::new();
        for kind in DetectorKind::ALL {
            let v = self.page.evaluate(&self.recipe.detector_js(kind)).await;
            match v {
                Value::Bool(true) => {
                    out.insert(kind);
                }
                Value::Bool(false) => {}
                other => panic!("{} {kind:?} returned {other}", self.platform),
            }
        }
        out
    }

    async fn expect_detectors(&self, fixture: &str, want: &[DetectorKind]) {
        self.visit(fixture).await;
        let got = self.firing().await;
        let want: BTreeSet<_> = want.iter().copied().collect();
        assert_eq!(
            got, want,
            "{} {fixture}: detectors that fire",
            self.platform
        );
    }

    /// Runs compiled steps as the bot does: poll each expression until it returns true, then
    /// send its key through the browser's input pipeline.
    async fn run(&self, steps: &[CompiledStep]) {
        for (i, step) in steps.iter().enumerate() {
            let Some(expression) = &step.expression else {
                continue;
            };
            // Fixture pages answer at once: do not wait out a dialog's full timeout.
            let deadline = Instant::now() + step.timeout.min(Duration::from_secs(5));
            let done = loop {
                if self.page.evaluate(expression).await == json!(true) {
                    break true;
                }
                if Instant::now() > deadline {
                    break false;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            assert!(
                done || step.optional,
                "{} step {i} never completed:\n{expression}\n{}",
                self.platform,
                self.browser.log()
            );
            if let (true, Some(key)) = (done, step.key) {
                for event in key.dispatch_events() {
                    self.page.call("Input.dispatchKeyEvent", event).await;
                }
            }
        }
    }

    async fn eval(&self, expression: &str) -> Value {
        self.page.evaluate(expression).await
    }
}

/// Every platform's common checks: detectors per fixture, the join steps on the prejoin
/// page (with a hostile bot name), chat scraping before and after sending, participants.
async fn check_platform(
    platform: &'static str,
    toggles: [(&str, &str, &str); 2],
    chat: Value,
    participants: Value,
    speakers: Option<Value>,
    joined_has_chat_panel: bool,
) {
    let f = Fixtures::open(platform).await;
    f.expect_detectors("prejoin", &[]).await;
    f.expect_detectors("lobby", &[WaitingRoom]).await;
    let joined: &[DetectorKind] = if joined_has_chat_panel {
        &[Admitted, ChatPanel]
    } else {
        &[Admitted]
    };
    f.expect_detectors("joined", joined).await;
    f.expect_detectors("chat", &[Admitted, ChatPanel]).await;
    f.expect_detectors("denied", &[Denied]).await;
    f.expect_detectors("removed", &[Removed]).await;
    f.expect_detectors("ended", &[MeetingEnded]).await;

    f.visit("prejoin").await;
    f.run(&f.recipe.join_steps(HOSTILE_NAME)).await;
    for (selector, attribute, off) in toggles {
        let state = f
            .eval(&format!(
                "document.querySelector({}).getAttribute({})",
                json!(selector),
                json!(attribute)
            ))
            .await;
        assert_eq!(state, json!(off), "{platform}: {selector} is not off");
    }
    // The page saw the exact name (no injection), and the join click happened after it.
    assert_eq!(
        f.eval("document.body.dataset.joinedAs").await,
        json!(HOSTILE_NAME),
        "{platform}: the name the join click saw"
    );
    assert_eq!(f.eval("typeof window.x").await, json!("undefined"));

    f.visit("joined").await;
    assert_eq!(
        f.eval(&f.recipe.participants_js()).await,
        participants,
        "{platform}"
    );
    if let Some(speakers) = speakers {
        let js = f.recipe.active_speakers_js().unwrap();
        assert_eq!(f.eval(&js).await, speakers, "{platform}: active speakers");
    }

    f.visit("chat").await;
    let scraped = f.eval(&f.recipe.chat_messages_js()).await;
    assert_eq!(scraped, chat, "{platform}: chat messages");
    let message = "Recording has started. Type /optout to be left out — \"quoted\" <b>ok</b>";
    f.run(&f.recipe.chat_send_steps(message)).await;
    let after = f.eval(&f.recipe.chat_messages_js()).await;
    let after = after.as_array().unwrap();
    assert_eq!(
        after.len(),
        chat.as_array().unwrap().len() + 1,
        "{platform}: {after:?}"
    );
    assert_eq!(after.last().unwrap()["text"], json!(message), "{platform}");
}

fn msg(id: &str, sender: &str, sender_id: Option<&str>, text: &str) -> Value {
    json!({"id": id, "sender": sender, "sender_id": sender_id, "text": text})
}

fn person(id: &str, name: &str, stream_id: Option<&str>) -> Value {
    json!({"id": id, "name": name, "stream_id": stream_id})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testmeet_recipe_drives_the_testmeet_page_contract() {
    check_platform(
        "testmeet",
        [
            ("button#mic-toggle", "aria-pressed", "false"),
            ("button#cam-toggle", "aria-pressed", "false"),
        ],
        json!([
            msg(
                "p-host|1700000000001",
                "Hana Host",
                Some("p-host"),
                "Welcome, everyone"
            ),
            msg("p-amy|1700000000002", "Amy", Some("p-amy"), "/optout"),
            msg(
                "p-host|1700000000003",
                "Hana Host",
                Some("p-host"),
                "spaced out text"
            ),
        ]),
        json!([
            person("p-host", "Hana Host", Some("9d1c6a2e-host")),
            person("p-amy", "Amy", Some("4f2b7c1d-amy")),
            person("p-bot", "Recorder", Some("77aa0000-bot")),
        ]),
        None,
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_meet_recipe_reads_its_fixtures() {
    check_platform(
        "google-meet",
        [
            ("[aria-label*='microphone']", "data-is-muted", "true"),
            ("[aria-label*='camera']", "data-is-muted", "true"),
        ],
        json!([
            msg(
                "spaces/xyz/messages/m1",
                "Alice Ng",
                Some("users/101"),
                "Hi all"
            ),
            msg(
                "spaces/xyz/messages/m2",
                "Alice Ng",
                Some("users/101"),
                "second from Alice"
            ),
            msg(
                "spaces/xyz/messages/m3",
                "Bob Okafor",
                Some("users/102"),
                "/optout"
            ),
        ]),
        json!([
            person("spaces/xyz/devices/11", "Alice Ng", None),
            person("spaces/xyz/devices/12", "Bob Okafor", None),
            person("spaces/xyz/devices/13", "Recorder", None),
        ]),
        Some(json!(["spaces/xyz/devices/11"])),
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsoft_teams_recipe_reads_its_fixtures() {
    check_platform(
        "microsoft-teams",
        [
            ("[data-tid='toggle-mute']", "aria-checked", "false"),
            ("[data-tid='toggle-video']", "aria-checked", "false"),
        ],
        json!([
            msg(
                "1700000000101",
                "Priya Raman",
                None,
                "Agenda is in the invite"
            ),
            msg("1700000000102", "Priya Raman", None, "and the notes doc"),
            msg("1700000000103", "Tom Weber", None, "Thanks!"),
        ]),
        json!([
            person("8:orgid:aa11", "Priya Raman", None),
            person("8:orgid:bb22", "Tom Weber", None),
        ]),
        Some(json!(["8:orgid:aa11"])),
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_recipe_reads_its_fixtures() {
    check_platform(
        "zoom",
        [
            ("#preview-audio-control-button", "aria-label", "Unmute"),
            ("#preview-video-control-button", "aria-label", "Start Video"),
        ],
        json!([
            msg("chat-msg-0001", "Kenji Sato", None, "Can everyone hear me?"),
            msg("chat-msg-0002", "Kenji Sato", None, "Sharing the deck now"),
            msg("chat-msg-0003", "Maria Lopez", None, "yes"),
        ]),
        json!([
            person("participants-list-16778240", "Kenji Sato", None),
            person("participants-list-16779264", "Maria Lopez", None),
        ]),
        Some(json!(["participants-list-16778240"])),
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_recipe_string_stays_data() {
    // A matcher text and a selector that would break out of a naive string template.
    let f = Fixtures::open("testmeet").await;
    f.visit("lobby").await;
    let evil = meetvault_recipe::Matcher {
        selector: Some("#lobby".into()),
        text: Some("\"); window.pwned = 1; (\"".into()),
        pattern: None,
    };
    let v = f.eval(&meetvault_recipe::js::detector(&[evil])).await;
    assert_eq!(v, json!(false));
    assert_eq!(f.eval("typeof window.pwned").await, json!("undefined"));
}
