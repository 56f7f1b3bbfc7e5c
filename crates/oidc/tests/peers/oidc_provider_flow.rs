//! The whole login against npm `oidc-provider` on 127.0.0.1: discovery, JWKS, our
//! authorization URL (state, nonce, PKCE), its login and consent pages, the callback, the
//! code exchange with client_secret_basic, and the ID token.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use meetvault_oidc::{
    AuthorizationRequest, ClientAuth, Discovery, Expectations, IdClaims, IdTokenError, Jwks,
    LoginState, OAuthErrorCode, ReturnTo, SecretString, StateError, StateKey, TokenError,
    TokenRequest, TokenResponse, parse_callback, verify_id_token,
};
use url::Url;

use crate::browser::{Browser, interaction_form};
use crate::node::node_script;

/// Both with characters that RFC 6749 2.3.1's form-urlencoding must escape before Basic auth
/// (oidc-provider allows printable ASCII, space included).
const CLIENT_ID: &str = "meetvault:rp 1";
const CLIENT_SECRET: &str = "s3cret:with/special+chars&more %41 ~";
/// Never contacted: the test stops at the provider's redirect to it.
const REDIRECT_URI: &str = "https://meetvault.test/oidc/callback";

/// oidc-provider running as a child process; killed when dropped.
struct Provider {
    child: Child,
    issuer: String,
    log: PathBuf,
}

impl Provider {
    fn start() -> Self {
        let log = std::env::temp_dir().join(format!(
            "meetvault-oidc-provider-{}-{}.log",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let mut child = node_script("idp/oidc-provider.mjs")
            .env("PORT", "0")
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URI", REDIRECT_URI)
            .stdout(Stdio::piped())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("start node");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line.strip_prefix("READY ") {
                    let _ = tx.send(port.trim().to_owned());
                }
            }
        });
        let mut provider = Self {
            child,
            issuer: String::new(),
            log,
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => provider.issuer = format!("http://127.0.0.1:{port}"),
            Err(_) => panic!("oidc-provider did not become ready:\n{}", provider.stderr()),
        }
        provider
    }

    fn stderr(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn fetch(url: &Url) -> Vec<u8> {
    assert_eq!(url.host_str(), Some("127.0.0.1"), "only loopback: {url}");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = client.get(url.clone()).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response.bytes().await.unwrap().to_vec()
}

/// Drives the provider's login and consent pages as `account` until it redirects to us.
async fn log_in(browser: &mut Browser, start: Url, account: &str) -> Url {
    let mut page = browser.get(&start).await;
    for _ in 0..20 {
        if let Some(location) = page.location.take() {
            if location.as_str().starts_with(REDIRECT_URI) {
                return location;
            }
            page = browser.get(&location).await;
            continue;
        }
        assert_eq!(page.status, 200, "unexpected page:\n{}", page.body);
        let (action, prompt) = interaction_form(&page.body);
        let action = start.join(&action).unwrap();
        page = match prompt.as_str() {
            "login" => {
                let form = [
                    ("prompt", "login"),
                    ("login", account),
                    ("password", "any password"),
                ];
                browser.post_form(&action, &form).await
            }
            "consent" => browser.post_form(&action, &[("prompt", "consent")]).await,
            other => panic!("unknown interaction prompt {other:?}"),
        };
    }
    panic!("the login did not come back to the redirect URI");
}

struct Login {
    discovery: Discovery,
    jwks: Jwks,
    token_response: TokenResponse,
    exchange: TokenRequest,
    claims: IdClaims,
}

/// One whole login as `account`, checking each step with meetvault-oidc.
async fn full_login(provider: &Provider, account: &str) -> Login {
    let config_url = Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        provider.issuer
    ))
    .unwrap();
    let discovery = Discovery::parse(&fetch(&config_url).await, &provider.issuer, true).unwrap();
    assert!(discovery.authorization_response_iss_parameter_supported());
    let jwks = Jwks::parse(&fetch(discovery.jwks_uri()).await).unwrap();

    let key = StateKey::new(rand::random());
    let login = LoginState::new(
        "local-idp",
        Some("org_1".into()),
        ReturnTo::parse("/meetings?x=1").unwrap(),
        now(),
    );
    let begun = key.begin(login.clone(), &mut rand::rng());
    let authorize = AuthorizationRequest::new(
        discovery.authorization_endpoint(),
        CLIENT_ID,
        REDIRECT_URI,
        &begun,
    )
    .to_url();

    let mut browser = Browser::new();
    let callback = log_in(&mut browser, authorize, account).await;
    let params = parse_callback(
        callback.query_pairs(),
        discovery.issuer_rule(),
        discovery.authorization_response_iss_parameter_supported(),
    )
    .unwrap_or_else(|e| panic!("callback {callback}: {e}"));
    assert_eq!(params.state, begun.state);

    // The state finished in another browser (another login's cookie) is refused.
    let other = key.begin(login.clone(), &mut rand::rng());
    assert_eq!(
        key.finish(&params.state, other.browser_secret.expose(), now())
            .unwrap_err(),
        StateError::OtherBrowser
    );
    let finished = key
        .finish(&params.state, begun.browser_secret.expose(), now())
        .unwrap();
    assert_eq!(finished.login_state, login);

    let exchange = TokenRequest::authorization_code(
        params.code,
        REDIRECT_URI,
        finished.pkce_verifier,
        ClientAuth::SecretBasic {
            client_id: CLIENT_ID.into(),
            client_secret: SecretString::new(CLIENT_SECRET.into()),
        },
    );
    let token_response = exchange_code(&discovery, &exchange).await.unwrap();
    let expect = Expectations::new(discovery.issuer_rule().clone(), CLIENT_ID, finished.nonce);
    let claims = verify_id_token(token_response.id_token().expose(), &jwks, &expect, now())
        .unwrap_or_else(|e| panic!("the ID token from oidc-provider: {e}"));
    Login {
        discovery,
        jwks,
        token_response,
        exchange,
        claims,
    }
}

async fn exchange_code(
    discovery: &Discovery,
    request: &TokenRequest,
) -> Result<TokenResponse, TokenError> {
    let url = discovery.token_endpoint();
    assert_eq!(url.host_str(), Some("127.0.0.1"), "only loopback: {url}");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut http = client
        .post(url.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(request.form_body().expose().to_owned());
    if let Some(authorization) = request.authorization_header() {
        http = http.header("authorization", authorization.expose());
    }
    let response = http.send().await.unwrap();
    let status = response.status().as_u16();
    TokenResponse::parse(status, &response.bytes().await.unwrap())
}

#[tokio::test]
async fn a_verified_user_logs_in_and_the_code_cannot_be_replayed() {
    let provider = Provider::start();
    let login = full_login(&provider, "ada").await;
    assert_eq!(login.claims.issuer(), provider.issuer);
    assert_eq!(login.claims.subject(), "ada");
    assert_eq!(login.claims.email(), Some("ada@example.com"));
    assert!(login.claims.email_verified());
    assert_eq!(login.claims.name(), Some("Ada Lovelace"));
    assert_eq!(login.token_response.token_type(), "Bearer");

    // Replaying the code is refused by the provider, and we read why.
    match exchange_code(&login.discovery, &login.exchange).await {
        Err(TokenError::OAuth(error)) => {
            assert_eq!(error.code, OAuthErrorCode::InvalidGrant, "{error}")
        }
        other => panic!("a replayed code gave {other:?}"),
    }
}

#[tokio::test]
async fn an_unverified_email_stays_unverified() {
    let provider = Provider::start();
    let login = full_login(&provider, "bob").await;
    assert_eq!(login.claims.subject(), "bob");
    assert_eq!(login.claims.email(), Some("bob@example.com"));
    assert!(!login.claims.email_verified());
}

#[tokio::test]
async fn a_key_set_from_before_a_rotation_asks_for_a_refetch() {
    let provider = Provider::start();
    let login = full_login(&provider, "ada").await;
    // The provider publishes two keys; keep only the one that did not sign, as a stale cache.
    assert_eq!(login.jwks.keys().len(), 2, "{:?}", login.jwks);
    let token = login.token_response.id_token().expose();
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let kid = header["kid"].as_str().unwrap().to_owned();
    let published: serde_json::Value =
        serde_json::from_slice(&fetch(login.discovery.jwks_uri()).await).unwrap();
    let stale: Vec<_> = published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kid"] != kid.as_str())
        .cloned()
        .collect();
    assert_eq!(stale.len(), 1);
    let stale = Jwks::parse(serde_json::json!({ "keys": stale }).to_string().as_bytes()).unwrap();
    // The nonce no longer matters: the key lookup fails first.
    let expect = Expectations::new(login.discovery.issuer_rule().clone(), CLIENT_ID, "n");
    assert_eq!(
        verify_id_token(token, &stale, &expect, now()).unwrap_err(),
        IdTokenError::UnknownKey { kid: Some(kid) }
    );
}
