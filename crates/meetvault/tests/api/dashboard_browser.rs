//! The dashboard in a real browser: headless Chromium (Debian's), in a network namespace that
//! reaches only the app, driven over the DevTools protocol as a person would use it — sign up,
//! a meeting from one recording per speaker with progress, playing and seeking, the transcript,
//! an SRT export, an API key, an invited member who then signs in, deleting the meeting and
//! opening its certificate, verifying the audit log. On every page: axe-core (npm, Deque) finds
//! no serious or critical violation, nothing overflows at 360 px wide or at 200 % zoom, and the
//! console shows no Content-Security-Policy violation. Screenshots of each page are saved under
//! `target/screenshots/dashboard/` (printed) for a person to look at.

use std::path::{Path, PathBuf};
use std::time::Duration;

use meetvault_test_support::browser::{Browser, BrowserOptions, Console, Netns, Page};
use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::speech;

pub(crate) const PASSWORD: &str = "a long passphrase of ours";

pub(crate) struct Ui {
    pub(crate) tab: Page,
    console: Console,
    pub(crate) app: TestApp,
    shots: PathBuf,
    axe: String,
}

/// A JavaScript string literal.
pub(crate) fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

impl Ui {
    pub(crate) async fn open(&self, path: &str) {
        self.tab.navigate(&self.app.url(path)).await;
    }

    pub(crate) async fn fill(&self, selector: &str, value: &str) {
        let done = self
            .tab
            .evaluate(&format!(
                "(() => {{ const e = document.querySelector({}); if (!e) return false; e.value = {}; \
                 e.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()",
                js(selector),
                js(value)
            ))
            .await;
        assert_eq!(done, Value::Bool(true), "no field {selector}");
    }

    pub(crate) async fn click(&self, selector: &str) {
        let done = self
            .tab
            .evaluate(&format!(
                "(() => {{ const e = document.querySelector({}); if (!e) return false; e.click(); return true; }})()",
                js(selector)
            ))
            .await;
        assert_eq!(done, Value::Bool(true), "nothing to click at {selector}");
    }

    /// Waits for a page under `prefix`; a form's error shown meanwhile fails at once, naming it.
    pub(crate) async fn wait_path(&self, prefix: &str) -> String {
        let found = self
            .tab
            .wait_for(
                &format!("a page under {prefix}"),
                &format!(
                    "(() => {{ const e = [...document.querySelectorAll('.form-error')].find(e => !e.hidden && e.textContent); \
                     if (e) return 'error: ' + e.textContent; \
                     return document.readyState === 'complete' && location.pathname.startsWith({}) && location.pathname; }})()",
                    js(prefix)
                ),
                Duration::from_secs(20),
            )
            .await;
        let found = found.as_str().unwrap().to_owned();
        assert!(
            !found.starts_with("error: "),
            "waiting for {prefix}, the form said {found}"
        );
        found
    }

    /// The page's text, once a page is there (a navigation or reload may be under way).
    pub(crate) async fn text(&self) -> String {
        self.tab
            .wait_for(
                "the page's text",
                "document.body && document.readyState === 'complete' && document.body.innerText",
                Duration::from_secs(10),
            )
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The page as it stands: a screenshot, axe-core, 360 px and 200 % zoom, the console.
    pub(crate) async fn check(&self, name: &str) {
        self.tab
            .screenshot(&self.shots.join(format!("{name}.png")))
            .await;
        let loaded = self
            .tab
            .evaluate(&format!("{};\ntypeof axe", self.axe))
            .await;
        assert_eq!(loaded, "object", "axe-core did not load on {name}");
        let violations = self
            .tab
            .evaluate(
                "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations\
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')\
                 .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', ')))",
            )
            .await;
        assert_eq!(violations, Value::Array(vec![]), "axe-core on {name}");
        for (width, height, scale, what) in [
            (360, 740, 1.0, "360 px wide"),
            (640, 450, 2.0, "200 % zoom"),
        ] {
            self.tab.viewport(width, height, scale).await;
            if width == 360 {
                self.tab
                    .screenshot(&self.shots.join(format!("{name}-360px.png")))
                    .await;
            }
            // The widest elements that stick out, to name in a failure.
            let overflow = self
                .tab
                .evaluate(
                    "(() => { const w = document.documentElement.clientWidth;                      if (document.documentElement.scrollWidth <= w) return null;                      return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1)                      .slice(0, 4)\
                     .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)); })()",
                )
                .await;
            assert!(
                overflow.is_null(),
                "{name} overflows sideways at {what}: {overflow}"
            );
        }
        self.tab.viewport(1280, 900, 1.0).await;
        let csp: Vec<String> = self
            .console
            .lines()
            .into_iter()
            .filter(|l| l.contains("Content Security Policy") || l.starts_with("error security"))
            .collect();
        assert!(csp.is_empty(), "CSP violations on {name}: {csp:#?}");
        let errors: Vec<String> = self
            .console
            .lines()
            .into_iter()
            .filter(|l| l.contains("exception"))
            .collect();
        assert!(errors.is_empty(), "script errors on {name}: {errors:#?}");
    }

    pub(crate) async fn sign_in(&self, email: &str) {
        self.sign_in_with(email, PASSWORD).await;
    }

    pub(crate) async fn sign_in_with(&self, email: &str, password: &str) {
        self.open("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("form[data-api='/api/v1/auth/login'] button[type=submit]")
            .await;
        self.wait_path("/meetings").await;
    }

    pub(crate) async fn sign_out(&self) {
        self.click("form[data-api='/api/v1/auth/logout'] button")
            .await;
        self.wait_path("/login").await;
    }
}

/// Three speakers' tracks, each named for its speaker (the dashboard names a track by its file).
fn tracks() -> Vec<PathBuf> {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dashboard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (tracks, _) = speech::three_tracks();
    tracks
        .iter()
        .map(|(label, wav)| {
            let named = dir.join(format!("{label}.wav"));
            std::fs::copy(wav, &named).unwrap();
            named
        })
        .collect()
}

impl Ui {
    /// A browser in a namespace that reaches only `app`, its console watched.
    pub(crate) async fn start(app: TestApp) -> (Ui, Browser) {
        Self::start_with(app, &[]).await
    }

    /// A browser in a namespace that reaches `app` and `also` (a provider's fake), its console
    /// watched.
    pub(crate) async fn start_with(app: TestApp, also: &[std::net::SocketAddr]) -> (Ui, Browser) {
        let axe_path = std::env::var("AXE_CORE_JS").unwrap_or_else(|_| {
            format!(
                "{}/.cache/meetvault-tools/axe-core/node_modules/axe-core/axe.min.js",
                std::env::var("HOME").unwrap()
            )
        });
        let axe = std::fs::read_to_string(&axe_path).unwrap_or_else(|e| {
            panic!("axe-core is not at {axe_path} ({e}): run scripts/axe-core.sh")
        });
        let shots =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots/dashboard");
        println!("dashboard screenshots: {}", shots.display());
        let mut reach = vec![app.addr];
        reach.extend_from_slice(also);
        let netns = Netns::new(&reach).await;
        let browser = Browser::launch_in(
            &netns,
            BrowserOptions::default().flag("--autoplay-policy=no-user-gesture-required"),
        )
        .await;
        let tab = browser.new_page().await;
        let console = tab.watch_console().await;
        tab.viewport(1280, 900, 1.0).await;
        (
            Ui {
                tab,
                console,
                app,
                shots,
                axe,
            },
            browser,
        )
    }

    pub(crate) async fn sign_up(&self, name: &str, email: &str, org: &str) {
        self.open("/signup").await;
        self.fill("#name", name).await;
        self.fill("#email", email).await;
        self.fill("#org_name", org).await;
        self.fill("#password", PASSWORD).await;
        self.click("form button[type=submit]").await;
        self.wait_path("/meetings").await;
    }

    /// Waits for what `form`'s answer shows once (`[data-shown=field]`); the form's error
    /// shown instead fails at once, naming it.
    pub(crate) async fn shown(&self, form: &str, field: &str) -> String {
        let said = self
            .tab
            .wait_for(
                &format!("{field} shown by {form}"),
                &format!(
                    "(() => {{ const f = document.querySelector({}); if (!f) return null; \
                     const e = f.querySelector('.form-error'); if (e && !e.hidden && e.textContent) return 'error: ' + e.textContent; \
                     const v = f.querySelector('[data-shown=\"{field}\"]'); return v && v.textContent; }})()",
                    js(form)
                ),
                Duration::from_secs(10),
            )
            .await;
        let said = said.as_str().unwrap().to_owned();
        assert!(!said.starts_with("error: "), "{form}: {said}");
        said
    }

    /// Waits for the form's own "done" or error line and returns it.
    pub(crate) async fn outcome(&self, form: &str) -> String {
        let said = self
            .tab
            .wait_for(
                &format!("the outcome of {form}"),
                &format!(
                    "(() => {{ const f = document.querySelector({}); if (!f) return null; \
                     const e = f.querySelector('.form-error'); if (e && !e.hidden && e.textContent) return 'error: ' + e.textContent; \
                     const d = f.querySelector('.form-done'); return d && d.textContent; }})()",
                    js(form)
                ),
                Duration::from_secs(10),
            )
            .await;
        said.as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn bots_settings_and_recovery_pages_work_in_the_browser() {
    // Webhooks may point at loopback here (nothing listens there: deliveries just fail).
    let app = TestApp::spawn_with(|c| c.outbound.allow_hosts = vec!["127.0.0.1/32".into()]).await;
    let (ui, _browser) = Ui::start(app).await;
    ui.open("/recover").await;
    ui.check("recover").await;
    ui.sign_up("Grace Hopper", "grace@example.com", "Compilers")
        .await;

    // A bot scheduled for later, then cancelled from its page.
    ui.open("/bots").await;
    ui.check("bots").await;
    ui.fill("#meeting_url", "https://meet.google.com/abc-defg-hij")
        .await;
    let day = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    ui.fill("#join_at", &format!("{day}T10:30")).await;
    ui.click("form[data-api='/api/v1/bots'] button[type=submit]")
        .await;
    let bot = ui.wait_path("/bots/bot_").await;
    let page = ui.text().await;
    assert!(page.contains("scheduled") && page.contains(&day), "{page}");
    ui.check("bot").await;
    ui.tab.evaluate("window.confirm = () => true").await;
    ui.click("form[data-method=DELETE] button[type=submit]")
        .await;
    ui.tab
        .wait_for(
            "the cancelled bot",
            "document.readyState === 'complete' && !document.querySelector('form[data-method=DELETE]')",
            Duration::from_secs(10),
        )
        .await;
    let page = ui.text().await;
    assert!(!page.contains("Cancel"), "{bot}: {page}");

    // Personal settings say what zero-access costs before it is turned on.
    ui.open("/settings").await;
    assert!(ui.text().await.contains("nobody can recover them"));

    // Two-factor authentication: turned on from the page, then asked for at sign-in, where a
    // recovery code stands in for the app.
    ui.click("form[data-api='/api/v1/auth/mfa/totp'] button[type=submit]")
        .await;
    let secret = ui
        .shown("form[data-api='/api/v1/auth/mfa/totp']", "secret")
        .await;
    let secret = meetvault_auth::totp::TotpSecret::from_base32(&secret).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    ui.fill("#totp-code", &meetvault_auth::totp::code_at(&secret, now))
        .await;
    ui.click("form[data-api='/api/v1/auth/mfa/totp/confirm'] button[type=submit]")
        .await;
    let codes = ui
        .shown(
            "form[data-api='/api/v1/auth/mfa/totp/confirm']",
            "recovery_codes",
        )
        .await;
    let recovery = codes.lines().next().unwrap().to_owned();
    ui.sign_out().await;
    ui.open("/login").await;
    ui.fill("#email", "grace@example.com").await;
    ui.fill("#password", PASSWORD).await;
    ui.click("form[data-api='/api/v1/auth/login'] button[type=submit]")
        .await;
    let asked = ui
        .tab
        .wait_for(
            "the second factor",
            "(() => { const e = document.querySelector('.form-error'); return !document.querySelector('.mfa').hidden && !e.hidden && e.textContent; })()",
            Duration::from_secs(10),
        )
        .await;
    assert!(
        asked.as_str().unwrap().contains("authenticator app"),
        "{asked}"
    );
    ui.check("login-second-factor").await;
    ui.fill("#recovery_code", &recovery).await;
    ui.click("form[data-api='/api/v1/auth/login'] button[type=submit]")
        .await;
    ui.wait_path("/meetings").await;

    // Organization settings: a policy saved as the API takes it, a webhook whose secret is
    // shown once, a bad JSON refused in words.
    ui.open("/settings/organization").await;
    ui.check("organization").await;
    // Each policy as shown saves as it is (the page shows what the API takes).
    for path in [
        "/api/v1/retention",
        "/api/v1/bot-consent",
        "/api/v1/org/intelligence",
        "/api/v1/org/sso",
    ] {
        let form = format!("form[data-api='{path}']");
        ui.click(&format!("{form} button[type=submit]")).await;
        assert_eq!(ui.outcome(&form).await, "Saved.", "{path}");
    }
    ui.fill("#consent-json", "{ not json").await;
    ui.click("form[data-api='/api/v1/bot-consent'] button[type=submit]")
        .await;
    let said = ui.outcome("form[data-api='/api/v1/bot-consent']").await;
    assert!(said.starts_with("error: That is not valid JSON"), "{said}");
    ui.fill("#ws-new", "Sales").await;
    ui.click("form[data-api='/api/v1/workspaces'] button[type=submit]")
        .await;
    ui.tab
        .wait_for(
            "the new workspace",
            "document.readyState === 'complete' && [...document.querySelectorAll('ul.plain input[name=name]')].some(i => i.value === 'Sales')",
            Duration::from_secs(10),
        )
        .await;
    ui.fill("#wh-url", "http://127.0.0.1:9/meetvault").await;
    ui.click("form[data-api='/api/v1/webhooks'] button[type=submit]")
        .await;
    let secret = ui
        .shown("form[data-api='/api/v1/webhooks']", "secret")
        .await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    ui.open("/settings/organization").await;
    ui.click("a[href^='/settings/webhooks/']").await;
    ui.wait_path("/settings/webhooks/").await;
    ui.check("webhook").await;
    ui.click("form[data-api$='/test'] button[type=submit]")
        .await;
    assert_eq!(
        ui.outcome("form[data-api$='/test']").await,
        "A test message was queued."
    );

    // Keyboard only: the first Tab reaches "Skip to content", and a person signs in with Tab,
    // typing and Enter.
    ui.sign_out().await;
    ui.tab.press("Tab").await;
    let first = ui.tab.evaluate("document.activeElement.textContent").await;
    assert_eq!(first, "Skip to content");
    for _ in 0..10 {
        if ui.tab.evaluate("document.activeElement.id").await == "email" {
            break;
        }
        ui.tab.press("Tab").await;
    }
    assert_eq!(ui.tab.evaluate("document.activeElement.id").await, "email");
    ui.tab.type_text("grace@example.com").await;
    ui.tab.press("Tab").await;
    assert_eq!(
        ui.tab.evaluate("document.activeElement.id").await,
        "password"
    );
    ui.tab.type_text(PASSWORD).await;
    ui.tab.press("Enter").await;
    let asked = ui
        .tab
        .wait_for(
            "the second factor, asked of a keyboard user",
            "!document.querySelector('.mfa').hidden && document.activeElement.id",
            Duration::from_secs(10),
        )
        .await;
    // The code field has the focus at once: the person types on.
    assert_eq!(asked, "totp_code");
    ui.fill("#recovery_code", codes.lines().nth(1).unwrap())
        .await;
    ui.tab.press("Enter").await;
    ui.wait_path("/meetings").await;

    // A support key shown once, a provider secret stored (its value never shown again).
    ui.open("/settings").await;
    ui.fill("#sup-note", "Import problem").await;
    ui.click("form[data-api='/api/v1/support-keys'] button[type=submit]")
        .await;
    let support = ui
        .shown("form[data-api='/api/v1/support-keys']", "key")
        .await;
    assert!(support.starts_with("mvs_"), "{support}");
    ui.fill("#sec-name", "openai").await;
    ui.fill("#sec-value", "sk-not-a-real-key-0123456789").await;
    ui.click("form[data-api='/api/v1/me/secrets/{name}'] button[type=submit]")
        .await;
    ui.tab
        .wait_for(
            "the stored secret",
            "document.readyState === 'complete' && document.body.innerText.includes('Provider secrets') \
             && [...document.querySelectorAll('code')].some(c => c.textContent === 'openai')",
            Duration::from_secs(10),
        )
        .await;
    assert!(!ui.text().await.contains("sk-not-a-real-key"));

    // Erasing the account ends on its certificate, which verifies.
    ui.fill("#erase-pw", PASSWORD).await;
    ui.tab.evaluate("window.confirm = () => true").await;
    ui.click("form[data-api='/api/v1/me'] button[type=submit]")
        .await;
    ui.wait_path("/certificates/").await;
    ui.tab
        .wait_for(
            "the account's certificate",
            "document.body.innerText.includes('This certificate verifies')",
            Duration::from_secs(10),
        )
        .await;
    ui.open("/settings").await;
    ui.wait_path("/login").await;
}

#[tokio::test]
async fn a_new_user_does_everything_in_the_browser() {
    let app = crate::transcription::app().await;
    let (ui, browser) = Ui::start(app).await;

    // Signed out, a page sends the browser to sign in, then back.
    ui.open("/meetings").await;
    assert_eq!(ui.wait_path("/login").await, "/login");
    ui.check("login").await;
    ui.click("a[href='/signup']").await;
    ui.wait_path("/signup").await;
    ui.check("signup").await;
    // A bad password is refused in words, and nothing is created.
    ui.fill("#name", "Ada Lovelace").await;
    ui.fill("#email", "ada@example.com").await;
    ui.fill("#org_name", "Analytical Engines").await;
    ui.fill("#password", "short").await;
    ui.tab
        .evaluate("document.querySelector('#password').removeAttribute('minlength')")
        .await;
    ui.click("form button[type=submit]").await;
    let error = ui
        .tab
        .wait_for(
            "the refusal",
            "(() => { const e = document.querySelector('.form-error'); return !e.hidden && e.textContent; })()",
            Duration::from_secs(10),
        )
        .await;
    assert!(error.as_str().unwrap().contains("password"), "{error}");
    ui.fill("#password", PASSWORD).await;
    ui.click("form button[type=submit]").await;
    ui.wait_path("/meetings").await;
    ui.check("meetings-empty").await;

    // A meeting from one file per speaker, uploaded with progress.
    let files = tracks();
    ui.click("details.panel summary").await;
    ui.fill("#title", "Standup").await;
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    ui.tab.set_files("#tracks", &refs).await;
    ui.click("form[data-upload] button[type=submit]").await;
    let path = ui.wait_path("/meetings/mtg_").await;
    // Live progress from the event stream, then the page reloads itself with the transcript.
    ui.tab
        .wait_for(
            "the transcription jobs",
            "document.querySelectorAll('.jobs [data-job]').length === 3",
            Duration::from_secs(30),
        )
        .await;
    ui.tab
        .wait_for(
            "the finished transcript",
            "[...document.querySelectorAll('.jobs .state')].every(s => s.textContent === 'Done') \
             && document.querySelectorAll('[data-transcript] li[data-start]').length >= 5",
            Duration::from_secs(240),
        )
        .await;
    let page = ui.text().await;
    for speaker in ["Alice", "Bob", "Carol"] {
        assert!(page.contains(&format!("{speaker} (their track)")), "{page}");
    }
    ui.check("meeting").await;

    // Play from a line: its recording seeks there and the line is marked as the current one.
    let (start, current) = {
        ui.click("[data-transcript] li:nth-child(3) button.seek")
            .await;
        let start = ui
            .tab
            .evaluate(
                "+document.querySelector('[data-transcript] li:nth-child(3)').dataset.start / 1000",
            )
            .await
            .as_f64()
            .unwrap();
        let current = ui
            .tab
            .wait_for(
                "the seek",
                "(() => { const a = [...document.querySelectorAll('audio')].find(a => a.currentTime > 0); \
                 const li = document.querySelector('[data-transcript] li[aria-current]'); \
                 return a && li ? [a.currentTime, +li.dataset.start / 1000] : null; })()",
                Duration::from_secs(10),
            )
            .await;
        (start, current)
    };
    let at = current[0].as_f64().unwrap();
    assert!(
        (start..start + 3.0).contains(&at),
        "seeked to {at} s for a line at {start} s"
    );
    assert_eq!(current[1].as_f64().unwrap(), start);

    // With the keyboard: a line's time, focused and Enter, plays from there.
    ui.tab
        .evaluate("document.querySelector('[data-transcript] li:nth-child(2) button.seek').focus()")
        .await;
    ui.tab.press("Enter").await;
    ui.tab
        .wait_for(
            "the line chosen by keyboard",
            "document.querySelector('[data-transcript] li:nth-child(2)').hasAttribute('aria-current')",
            Duration::from_secs(10),
        )
        .await;

    // A speaker renamed everywhere, then one line corrected.
    ui.click("details.panel summary").await;
    ui.tab
        .evaluate("document.querySelector('#rename-from').value = 'Alice'")
        .await;
    ui.fill("#rename-to", "Alice Smith").await;
    ui.click("form[data-api$='/speakers/rename'] button[type=submit]")
        .await;
    ui.tab
        .wait_for(
            "the renamed speaker",
            "document.readyState === 'complete' && [...document.querySelectorAll('[data-transcript] .speaker')].some(s => s.textContent === 'Alice Smith') \
             && document.body.innerText.includes('Alice Smith (their track)')",
            Duration::from_secs(10),
        )
        .await;
    ui.click("[data-transcript] li:first-child details.edit summary")
        .await;
    ui.fill(
        "[data-transcript] li:first-child textarea",
        "The meeting started late: the projector failed.",
    )
    .await;
    ui.click("[data-transcript] li:first-child form button[type=submit]")
        .await;
    ui.tab
        .wait_for(
            "the corrected line",
            "document.readyState === 'complete' && document.querySelector('[data-transcript] li:first-child .text').textContent === 'The meeting started late: the projector failed.'",
            Duration::from_secs(10),
        )
        .await;
    ui.check("meeting-corrected").await;
    // Who spoke how much (no model needed), and the title changed from the page.
    let who = ui.text().await;
    assert!(
        who.contains("Who spoke") && who.contains("Alice Smith"),
        "{who}"
    );
    ui.click("details.panel:not(:has(form[data-api$='/rename'])) summary")
        .await;
    ui.fill("#m-title", "Standup, Thursday").await;
    ui.click("form[data-method=PATCH][data-api^='/api/v1/meetings/mtg_']:not([data-api*='/transcript/']) button[type=submit]")
        .await;
    ui.tab
        .wait_for(
            "the new title",
            "document.readyState === 'complete' && document.querySelector('h1').textContent === 'Standup, Thursday'",
            Duration::from_secs(10),
        )
        .await;

    // The SRT export, through the page's own link (with the session).
    let srt = ui
        .tab
        .evaluate(
            "fetch(document.querySelector('a[href*=\"format=srt\"]').href).then(r => r.text())",
        )
        .await;
    let srt = srt.as_str().unwrap();
    assert!(srt.contains(" --> ") && srt.contains("Alice"), "{srt}");
    let pdf = ui
        .tab
        .evaluate(
            "fetch(document.querySelector('a[href*=\"format=pdf\"]').href).then(r => r.arrayBuffer())\
             .then(b => String.fromCharCode(...new Uint8Array(b.slice(0, 5))))",
        )
        .await;
    assert_eq!(pdf, "%PDF-");

    // An API key, shown once, that works.
    ui.open("/settings").await;
    ui.check("settings").await;
    ui.fill("#key-name", "CI").await;
    ui.click("form[data-api='/api/v1/api-keys'] button[type=submit]")
        .await;
    let key = ui.shown("form[data-api='/api/v1/api-keys']", "key").await;
    assert!(key.starts_with("mvk_"), "{key}");
    let r = ui
        .app
        .send(
            &Cred::Bearer(key.clone()),
            Method::GET,
            "/api/v1/meetings",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // An invitation; the invited person joins from its link, then signs in again.
    ui.open("/settings/members").await;
    ui.check("members").await;
    ui.fill("#inv-email", "mia@example.com").await;
    ui.click("form[data-api='/api/v1/invitations'] button[type=submit]")
        .await;
    let link = ui
        .shown("form[data-api='/api/v1/invitations']", "token")
        .await;
    assert!(link.contains("/invitations/accept#token=mvi_"), "{link}");
    ui.sign_out().await;
    ui.tab.navigate(&link).await;
    ui.wait_path("/invitations/accept").await;
    ui.check("accept-invitation").await;
    ui.fill("#name", "Mia").await;
    ui.fill("#password", PASSWORD).await;
    ui.click("form button[type=submit]").await;
    ui.wait_path("/meetings").await;
    ui.sign_out().await;
    ui.sign_in("mia@example.com").await;
    assert!(
        ui.text().await.contains("Standup"),
        "Mia sees the org's meeting"
    );
    ui.sign_out().await;

    // Deleting the meeting shows its certificate, which verifies.
    ui.sign_in("ada@example.com").await;
    ui.open(&path).await;
    ui.tab.evaluate("window.confirm = () => true").await;
    ui.click("section.danger button[type=submit]").await;
    ui.wait_path("/certificates/").await;
    ui.tab
        .wait_for(
            "the verdict",
            "document.body.innerText.includes('This certificate verifies')",
            Duration::from_secs(10),
        )
        .await;
    ui.check("certificate").await;
    ui.open(&path).await;
    assert!(ui.text().await.contains("This page cannot be shown"));

    // The audit log verifies, and says what happened.
    ui.open("/audit").await;
    // The filter sent (a new page): read only once that page has loaded whole — the old one
    // marked, so it is never taken for the new one, nor a half-parsed new one for the whole.
    ui.tab.evaluate("window.beforeFilter = true").await;
    ui.click("form[action='/audit'] button[type=submit]").await;
    ui.tab
        .wait_for(
            "the verification",
            "!window.beforeFilter && document.readyState === 'complete' \
             && document.body.innerText.includes('Verified:')",
            Duration::from_secs(20),
        )
        .await;
    let audit = ui.text().await;
    for action in ["meeting.delete", "api_key.create", "invitation.accept"] {
        assert!(
            audit.contains(action),
            "{action} missing from the audit page:\n{audit}"
        );
    }
    ui.check("audit").await;
    ui.open("/certificates").await;
    ui.check("certificates").await;
    drop(browser);
}
