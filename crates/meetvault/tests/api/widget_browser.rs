//! The embeddable widget in a real browser: headless Chromium in a network namespace loads a
//! customer's page from another loopback origin, under a strict Content-Security-Policy, once
//! plain and once with a hostile stylesheet and script. The widget looks the same on both
//! (pixel for pixel), the page cannot reach into its closed shadow root, and the widget reads
//! none of the page's cookies or storage and adds one global. With the microphone allowed
//! through the browser's permission (DevTools' `Browser.setPermission`, no flag that skips the
//! prompt), Chromium's fake microphone speaks an espeak-ng sentence, the visitor records and
//! sends it, reading what was heard while talking (the widget's live transcript), and the owner
//! reads its transcript; with the permission denied, the widget says so and opens no session.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use meetvault_test_support::browser::{Browser, BrowserOptions, Netns, Page};
use meetvault_test_support::media::{ffmpeg, speak};
use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::deletion_requests::count;

const SENTENCE: &str = "Hello, my order arrived damaged and I would like a refund please.";

const HOSTILE_CSS: &str = "* { color: #f0f !important; font-family: serif !important; \
    font-size: 31px !important; letter-spacing: 4px !important; line-height: 3 !important; }
[data-meetvault-widget], div { display: none !important; opacity: 0 !important; \
    background: lime !important; border: 9px solid red !important; padding: 40px !important; }
section, button, h2, p { display: none !important; }";

/// Runs before the widget: plants secrets, watches every read of cookies and storage, notes
/// the globals there are.
const HOSTILE_JS: &str = r#"
document.cookie = 'host_session=cookie-secret';
localStorage.setItem('host_token', 'storage-secret');
sessionStorage.setItem('host_token', 'storage-secret');
window.__reads = [];
const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
Object.defineProperty(Document.prototype, 'cookie', { configurable: true,
  get() { window.__reads.push('cookie'); return cookie.get.call(this); },
  set(v) { window.__reads.push('cookie='); cookie.set.call(this, v); } });
for (const name of ['getItem', 'setItem', 'removeItem', 'key', 'clear']) {
  const f = Storage.prototype[name];
  Storage.prototype[name] = function (...a) { window.__reads.push('storage.' + name); return f.apply(this, a); };
}
window.__globals = Object.getOwnPropertyNames(window);
"#;

/// The customer's site: a loopback server of its own (another origin than meetvault's).
async fn site(app: &str, widget: &str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let page = |hostile: bool| {
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Shop</title>{}</head>\
             <body><h1>Our shop</h1><p>Questions? Leave us a voice message.</p>\
             <script src=\"{app}/widget/v1.js\" data-widget=\"{widget}\" async></script></body></html>",
            if hostile {
                "<link rel=\"stylesheet\" href=\"/hostile.css\"><script src=\"/hostile.js\"></script>"
            } else {
                ""
            }
        )
    };
    let (plain, hostile) = (page(false), page(true));
    let csp = format!(
        "default-src 'none'; script-src 'self' {app}; connect-src {app}; style-src 'self'; \
         base-uri 'none'; form-action 'none'"
    );
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (plain, hostile, csp) = (plain.clone(), hostile.clone(), csp.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (ctype, body) = match path.as_str() {
                    "/plain.html" => ("text/html; charset=utf-8", plain),
                    "/hostile.html" => ("text/html; charset=utf-8", hostile),
                    "/hostile.css" => ("text/css", HOSTILE_CSS.to_owned()),
                    "/hostile.js" => ("text/javascript", HOSTILE_JS.to_owned()),
                    _ => ("text/plain", "not found".to_owned()),
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-security-policy: {csp}\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    addr
}

/// The sentence as a 48 kHz mono WAV with a pause after it (the fake microphone loops it).
fn voice() -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("widget-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let raw = dir.join("raw.wav");
    speak(SENTENCE, "en-us", &raw);
    let out = dir.join("voice.wav");
    ffmpeg(
        &raw,
        &out,
        &[
            "-af",
            "apad=pad_dur=6",
            "-ar",
            "48000",
            "-ac",
            "1",
            "-c:a",
            "pcm_s16le",
        ],
    );
    out
}

/// The node id of `selector` inside the widget's (closed) shadow root, through DevTools'
/// piercing view of the document (0 when absent).
async fn inside(tab: &Page, selector: &str) -> i64 {
    fn find_host(node: &Value) -> Option<Value> {
        let attrs = node["attributes"].as_array();
        if attrs.is_some_and(|a| a.iter().any(|v| v == "data-meetvault-widget")) {
            return Some(node.clone());
        }
        node["children"].as_array()?.iter().find_map(find_host)
    }
    let doc = tab
        .call("DOM.getDocument", json!({"depth": -1, "pierce": true}))
        .await;
    let Some(host) = find_host(&doc["root"]) else {
        return 0;
    };
    let Some(shadow) = host["shadowRoots"][0]["nodeId"].as_i64() else {
        return 0;
    };
    let found = tab
        .call(
            "DOM.querySelector",
            json!({"nodeId": shadow, "selector": selector}),
        )
        .await;
    found["nodeId"].as_i64().unwrap_or(0)
}

async fn text_of(tab: &Page, selector: &str) -> String {
    let node = inside(tab, selector).await;
    if node == 0 {
        return String::new();
    }
    let object = tab.call("DOM.resolveNode", json!({"nodeId": node})).await;
    let v = tab
        .call(
            "Runtime.callFunctionOn",
            json!({"objectId": object["object"]["objectId"],
                "functionDeclaration": "function () { return this.textContent; }",
                "returnByValue": true}),
        )
        .await;
    v["result"]["value"].as_str().unwrap_or_default().to_owned()
}

async fn wait_text(tab: &Page, selector: &str, want: &str, limit: Duration) -> String {
    let start = Instant::now();
    loop {
        let t = text_of(tab, selector).await;
        if t.contains(want) {
            return t;
        }
        assert!(
            start.elapsed() < limit,
            "the widget's {selector} never said {want:?}; it says {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A person's click at the middle of `selector` in the widget.
async fn click(tab: &Page, selector: &str) {
    let node = inside(tab, selector).await;
    assert_ne!(node, 0, "no {selector} in the widget");
    tab.call("DOM.scrollIntoViewIfNeeded", json!({"nodeId": node}))
        .await;
    let b = tab.call("DOM.getBoxModel", json!({"nodeId": node})).await;
    let q = b["model"]["content"].as_array().unwrap();
    let (x, y) = (
        (q[0].as_f64().unwrap() + q[4].as_f64().unwrap()) / 2.0,
        (q[1].as_f64().unwrap() + q[5].as_f64().unwrap()) / 2.0,
    );
    for kind in ["mousePressed", "mouseReleased"] {
        tab.call(
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
        )
        .await;
    }
}

/// The widget's parts as drawn: each one's computed style and size (through DevTools, which
/// sees into the closed root), and a picture of the whole for a person to look at.
async fn drawn(tab: &Page, name: &str) -> Vec<(String, Value, Value)> {
    tab.call("DOM.enable", json!({})).await;
    tab.call("CSS.enable", json!({})).await;
    let mut out = Vec::new();
    let parts = [
        "section",
        "h2",
        ".consent",
        ".consent a",
        "button.record",
        ".status",
    ];
    for selector in parts {
        let node = inside(tab, selector).await;
        assert_ne!(node, 0, "no {selector} in the widget");
        let style = tab
            .call("CSS.getComputedStyleForNode", json!({"nodeId": node}))
            .await;
        let b = tab.call("DOM.getBoxModel", json!({"nodeId": node})).await;
        out.push((
            selector.to_owned(),
            style["computedStyle"].clone(),
            json!([b["model"]["width"], b["model"]["height"]]),
        ));
    }
    let r: Vec<f64> = serde_json::from_value(
        tab.evaluate(
            "(() => { const r = document.querySelector('[data-meetvault-widget]').getBoundingClientRect(); \
             return [r.x + scrollX, r.y + scrollY, r.width, r.height]; })()",
        )
        .await,
    )
    .unwrap();
    assert!(r[2] > 100.0 && r[3] > 50.0, "the widget is drawn: {r:?}");
    let shot = tab
        .call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                "clip": {"x": r[0], "y": r[1], "width": r[2], "height": r[3], "scale": 1}}),
        )
        .await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("widget-shots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    println!("the widget on the {name} page: {}", path.display());
    out
}

async fn owner_widget(app: &TestApp, origin: &str) -> (Session, String) {
    let owner = app.register("owner@example.com", "Acme").await;
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::POST,
            "/api/v1/widgets",
            Some(json!({"name": "Shop help", "allowed_origins": [origin],
                "greeting": "Talk to our shop", "privacy_url": "https://shop.example/privacy",
                "max_seconds": 60, "live_transcript": true})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    (owner, v["widget"]["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_visitor_records_a_voice_note_on_a_hostile_page_under_a_strict_policy() {
    let app = TestApp::spawn().await;
    let app_origin = app.base_url.trim_end_matches('/').to_owned();
    // The site's pages name the widget, and the widget the site's origin: made with a
    // placeholder, then allowed once the site listens.
    let (owner, id) = owner_widget(&app, "http://127.0.0.1:1").await;
    let addr = site(&app_origin, &id).await;
    let origin = format!("http://{addr}");
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::PATCH,
            &format!("/api/v1/widgets/{id}"),
            Some(json!({"allowed_origins": [origin]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let wav = voice();
    let netns = Netns::new(&[app.addr, addr]).await;
    let browser = Browser::launch_in(
        &netns,
        BrowserOptions::default()
            .flag("--use-fake-device-for-media-stream")
            .flag(&format!(
                "--use-file-for-fake-audio-capture={}",
                wav.to_str().unwrap()
            )),
    )
    .await;
    let tab = browser.new_page().await;
    let console = tab.watch_console().await;

    // The same widget on a plain page and on a hostile one: drawn alike.
    tab.navigate(&format!("{origin}/plain.html")).await;
    wait_text(&tab, "h2", "Talk to our shop", Duration::from_secs(20)).await;
    let plain = drawn(&tab, "plain").await;
    tab.navigate(&format!("{origin}/hostile.html")).await;
    wait_text(&tab, "h2", "Talk to our shop", Duration::from_secs(20)).await;
    let hostile = drawn(&tab, "hostile").await;
    for ((part, style, size), (_, style2, size2)) in plain.iter().zip(&hostile) {
        assert_eq!(
            size, size2,
            "the hostile page changed the size of the widget's {part}"
        );
        assert_eq!(
            style, style2,
            "the hostile page changed the style of the widget's {part}"
        );
    }
    let consent = text_of(&tab, ".consent").await;
    assert!(consent.contains("Privacy notice"), "{consent}");

    // The page cannot reach in.
    let seen = tab
        .evaluate(
            "(() => { const h = document.querySelector('[data-meetvault-widget]'); \
             return [h.shadowRoot === null, h.childNodes.length, document.querySelectorAll('button, h2, section').length]; })()",
        )
        .await;
    assert_eq!(
        seen,
        json!([true, 0, 0]),
        "the page reached into the widget"
    );

    // Allowed by the browser's permission: the visitor records the sentence and sends it.
    browser
        .call(
            "Browser.setPermission",
            json!({"permission": {"name": "microphone"}, "setting": "granted", "origin": origin}),
        )
        .await;
    click(&tab, "button.record").await;
    wait_text(&tab, ".status", "Recording", Duration::from_secs(10)).await;
    // While the visitor talks, the widget shows what was heard.
    let live = wait_text(&tab, ".transcript", "order", Duration::from_secs(40)).await;
    println!("the widget showed, live: {live:?}");
    click(&tab, "button.stop").await;
    wait_text(&tab, ".status", "received", Duration::from_secs(30)).await;

    // Nothing of the page was read; one global was added.
    let after = tab
        .evaluate(
            "(() => [window.__reads, Object.getOwnPropertyNames(window).filter(n => !n.startsWith('__') && !window.__globals.includes(n))])()",
        )
        .await;
    assert_eq!(after, json!([[], ["Meetvault"]]), "what the widget touched");
    let violations: Vec<String> = console
        .lines()
        .into_iter()
        .filter(|l| l.contains("Content Security Policy") || l.contains("Refused"))
        .collect();
    assert!(violations.is_empty(), "{violations:#?}");

    // The owner reads what was said.
    let start = Instant::now();
    let heard = loop {
        let page: Value = app
            .send(
                &Cred::Session(owner.clone()),
                Method::GET,
                "/api/v1/meetings",
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        if let Some(m) = page["meetings"].as_array().unwrap().first() {
            let t: Value = app
                .send(
                    &Cred::Session(owner.clone()),
                    Method::GET,
                    &format!("/api/v1/meetings/{}/transcript", m["id"].as_str().unwrap()),
                    None,
                )
                .await
                .json()
                .await
                .unwrap();
            let text: Vec<&str> = t["segments"]
                .as_array()
                .map(|s| s.iter().filter_map(|s| s["text"].as_str()).collect())
                .unwrap_or_default();
            if !text.is_empty() {
                break text.join(" ").to_lowercase();
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no transcript yet"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    for word in ["order", "damaged", "refund"] {
        assert!(heard.contains(word), "{word:?} not in {heard:?}");
    }

    // Denied: the widget says so, and no session is opened.
    browser
        .call(
            "Browser.setPermission",
            json!({"permission": {"name": "microphone"}, "setting": "denied", "origin": origin}),
        )
        .await;
    tab.navigate(&format!("{origin}/plain.html")).await;
    wait_text(&tab, "h2", "Talk to our shop", Duration::from_secs(20)).await;
    click(&tab, "button.record").await;
    wait_text(&tab, ".status", "refused", Duration::from_secs(10)).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM widget_sessions").await, 0);
}
