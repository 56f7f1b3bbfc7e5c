//! A real OpenID Provider for the sign-in tests: npm's `oidc-provider` (certified), started on
//! 127.0.0.1 from `crates/oidc/tests/idp/oidc-provider.mjs` with the packages
//! `scripts/oidc-tools.sh` installs (or `OIDC_NODE_DIR`), and a small cookie-keeping browser
//! that signs in on its development login and consent pages. Missing Node or packages fail
//! the test with what to run.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use url::Url;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where `oidc-provider` and `jose` are installed.
fn node_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("OIDC_NODE_DIR") {
            return PathBuf::from(dir);
        }
        let script = repo().join("scripts/oidc-tools.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed (it installs oidc-provider with npm; Node.js must be installed):\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// `oidc-provider` running; killed when dropped.
#[derive(Debug)]
pub struct OidcProvider {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub issuer: String,
}

impl OidcProvider {
    /// One client (`client_secret_basic`, PKCE required) redirecting to `redirect_uri`;
    /// `accounts` is `{login: {email, email_verified, name}}`.
    pub fn start(
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        accounts: &serde_json::Value,
    ) -> Self {
        let script = repo().join("crates/oidc/tests/idp/oidc-provider.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .env("OIDC_NODE_DIR", node_dir())
            .env("PORT", "0")
            .env("CLIENT_ID", client_id)
            .env("CLIENT_SECRET", client_secret)
            .env("REDIRECT_URI", redirect_uri)
            .env("ACCOUNTS", accounts.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("node did not start ({e}): install Node.js (scripts/deps.sh)")
            });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line.strip_prefix("READY ") {
                    let _ = tx.send(port.trim().to_owned());
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("oidc-provider did not become ready (its errors are above)");
        Self {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser that follows nothing by itself and keeps cookies by name; it visits loopback
/// only.
#[derive(Debug)]
pub struct Browser {
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

/// One answer: its status, where it redirects (resolved), its `Set-Cookie`s and body.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<Url>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    /// The cookie `name`'s value, if the browser holds it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Replaces cookie `name` (an attacker's browser swapping a cookie in).
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(n, _)| n != name);
        self.cookies.push((name.to_owned(), value.to_owned()));
    }

    pub async fn get(&mut self, url: &Url) -> Page {
        self.send(url, self.client.get(url.clone())).await
    }

    pub async fn post_form(&mut self, url: &Url, form: &[(&str, &str)]) -> Page {
        self.send(url, self.client.post(url.clone()).form(form))
            .await
    }

    async fn send(&mut self, url: &Url, request: reqwest::RequestBuilder) -> Page {
        assert_eq!(url.host_str(), Some("127.0.0.1"), "loopback only: {url}");
        let header: Vec<String> = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let request = if header.is_empty() {
            request
        } else {
            request.header(COOKIE, header.join("; "))
        };
        let response = request.send().await.unwrap();
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let Some((name, rest)) = c.split_once('=') else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or_default();
            let gone = c.contains("Max-Age=0") || value.is_empty();
            self.cookies.retain(|(n, _)| n != name);
            if !gone {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| url.join(l.to_str().unwrap()).unwrap());
        Page {
            status,
            location,
            set_cookies,
            body: response.text().await.unwrap(),
        }
    }

    /// Signs in at the provider as `account` from its authorization URL, through its login
    /// and consent pages, until it redirects to a URL starting with `back_to`; that URL.
    pub async fn sign_in_at_provider(&mut self, start: &Url, account: &str, back_to: &str) -> Url {
        let mut page = self.get(start).await;
        for _ in 0..20 {
            if let Some(location) = page.location.take() {
                if location.as_str().starts_with(back_to) {
                    return location;
                }
                page = self.get(&location).await;
                continue;
            }
            assert_eq!(page.status, 200, "unexpected page:\n{}", page.body);
            let (action, prompt) = interaction_form(&page.body);
            let action = start.join(&action).unwrap();
            page = match prompt.as_str() {
                "login" => {
                    let form = [("prompt", "login"), ("login", account), ("password", "x")];
                    self.post_form(&action, &form).await
                }
                "consent" => self.post_form(&action, &[("prompt", "consent")]).await,
                other => panic!("unknown interaction prompt {other:?}"),
            };
        }
        panic!("the provider never redirected back to {back_to}");
    }
}

/// The `action` of the page's form and its hidden `prompt` value (oidc-provider's
/// development login and consent pages).
fn interaction_form(html: &str) -> (String, String) {
    let after = |marker: &str, from: &str| -> String {
        let start = from
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker} in page:\n{html}"))
            + marker.len();
        let end = from[start..].find('"').unwrap() + start;
        from[start..end].replace("&amp;", "&")
    };
    let form = &html[html
        .find("<form")
        .unwrap_or_else(|| panic!("no form:\n{html}"))..];
    (
        after("action=\"", form),
        after("name=\"prompt\" value=\"", form),
    )
}
