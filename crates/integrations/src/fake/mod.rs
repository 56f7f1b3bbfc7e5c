//! Loopback fakes of the providers, for tests (feature `fake`): one axum server per provider on
//! `127.0.0.1:0` that serves the endpoints this crate uses, written from each provider's
//! published API reference (Slack Web API and incoming webhooks, Notion API, Drive v3 upload,
//! Linear GraphQL, Jira REST v3/v2, HubSpot CRM v3, Salesforce REST and OAuth). Paths, field
//! names, status codes and error JSON follow those references; the real services could not be
//! reached from the environment this was written in, so what the documents leave open (exact
//! error texts, default page sizes) is our choice, and small page sizes are used on purpose so
//! pagination is exercised.
//!
//! Every fake records each request it receives ([`Recorded`]: method, path, query, headers,
//! body) so tests assert the exact requests, can be scripted to fail the next call to a path
//! ([`Fake::fail_next`]: a 429 with `Retry-After`, a 5xx) or to fail *after* doing the work
//! ([`Fake::fail_after_commit`], the lost-answer case an idempotent retry must survive), and
//! checks credentials like the provider does (a bad or expired token is a 401 in the
//! provider's error shape; [`Fake::expire_access_tokens`] forces an OAuth refresh).

mod drive;
mod hubspot;
mod jira;
mod linear;
mod notion;
mod salesforce;
mod slack;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};
use url::Url;

use crate::SecretString;
use crate::oauth::{OAuthApp, OAuthTokens};
use crate::target::{Credential, Kind, Target};

pub use slack::WEBHOOK_PATH as SLACK_WEBHOOK_PATH;

/// The OAuth client id the fakes accept.
pub const CLIENT_ID: &str = "meetvault-test-client";
/// The OAuth client secret the fakes accept.
pub const CLIENT_SECRET: &str = "meetvault-test-secret";
/// The static token (or API token) each fake accepts; ends in a canary tests look for.
pub const TOKEN: &str = "tok-CANARY-7f3a9c1e5b2d";
/// The email of the Jira Cloud account the fake accepts with [`TOKEN`].
pub const JIRA_EMAIL: &str = "bot@acme.example";

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query, if any.
    pub query: Option<String>,
    /// The headers.
    pub headers: HeaderMap,
    /// The body: JSON when it parses, a form as an object of strings, else the text.
    pub body: Value,
    /// The raw body.
    pub raw: Vec<u8>,
}

impl Recorded {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or("").as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// A scripted answer for the next request to a path.
#[derive(Debug, Clone)]
pub(crate) struct Scripted {
    pub path: String,
    pub status: u16,
    pub retry_after: Option<String>,
    /// Run the handler first (the work is done) and answer with `status` anyway.
    pub after_commit: bool,
}

/// What every fake keeps.
#[derive(Debug, Default)]
pub(crate) struct FakeState {
    pub kind: Option<Kind>,
    pub base: String,
    pub requests: Vec<Recorded>,
    pub script: VecDeque<Scripted>,
    /// Objects created, in order (messages, pages, files, issues, tasks, notes), as the
    /// provider would return them.
    pub created: Vec<Value>,
    /// Users by email (for owner mapping): email → provider id.
    pub users: Vec<(String, String)>,
    /// CRM contacts by email: email → id.
    pub contacts: Vec<(String, String)>,
    /// Valid OAuth access tokens.
    pub access_tokens: Vec<String>,
    /// Valid OAuth refresh tokens.
    pub refresh_tokens: Vec<String>,
    /// How many refreshes were granted.
    pub refreshes: u32,
    /// Page size of list and search answers.
    pub page_size: usize,
    /// A counter for ids.
    pub next_id: u64,
    /// Provider-specific extra state.
    pub extra: HashMap<String, Value>,
    /// Authorization codes handed out: (code, redirect URI, PKCE challenge).
    pub codes: Vec<(String, String, String)>,
}

impl FakeState {
    /// The next id, as a string.
    pub fn id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// Whether `Authorization` carries the static token as a bearer, or a valid OAuth access
    /// token.
    pub fn bearer_ok(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some(token) = value.strip_prefix("Bearer ") else {
            return false;
        };
        token == TOKEN || self.access_tokens.iter().any(|t| t == token)
    }

    /// The user id of `email`.
    pub fn user(&self, email: &str) -> Option<String> {
        self.users
            .iter()
            .find(|(e, _)| e.eq_ignore_ascii_case(email))
            .map(|(_, id)| id.clone())
    }
}

#[derive(Clone)]
pub(crate) struct Shared(pub Arc<Mutex<FakeState>>);

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, FakeState> {
        // A panic while holding the lock is a test failure already; keep the data.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A JSON answer.
pub(crate) fn answer(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

/// One running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct Fake {
    kind: Kind,
    base: Url,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    /// Starts the fake of `kind` on `127.0.0.1` and a free port.
    pub async fn start(kind: Kind) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let base = Url::parse(&format!("http://{addr}/"))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let shared = Shared(Arc::new(Mutex::new(FakeState {
            kind: Some(kind),
            base: base.to_string(),
            page_size: 2,
            ..FakeState::default()
        })));
        let mut routes = Router::new()
            .route("/oauth/token", post(token))
            .route("/oauth/authorize", get(authorize));
        if kind == Kind::Notion {
            routes = routes.route("/v1/oauth/token", post(notion_token));
        }
        let routes = match kind {
            Kind::Slack => slack::routes(routes),
            Kind::Notion => notion::routes(routes),
            Kind::GoogleDrive => drive::routes(routes),
            Kind::Linear => linear::routes(routes),
            Kind::Jira => jira::routes(routes),
            Kind::Hubspot => hubspot::routes(routes),
            Kind::Salesforce => salesforce::routes(routes),
        };
        let router = routes
            .layer(axum::middleware::from_fn_with_state(shared.clone(), record))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            kind,
            base,
            shared,
            task,
        })
    }

    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.shared.lock()
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// A URL on the fake.
    pub fn url(&self, path: &str) -> Url {
        self.base
            .join(path.trim_start_matches('/'))
            .unwrap_or_else(|_| self.base.clone())
    }

    /// A target pointed at the fake, with `destination`.
    pub fn target(&self, destination: Option<&str>) -> Target {
        let mut t = Target {
            kind: self.kind,
            base_url: self.base.clone(),
            destination: destination.map(str::to_owned),
            issue_type: None,
            jira: crate::target::JiraDeployment::Cloud,
            external_id_field: None,
        };
        if self.kind == Kind::Slack {
            // Slack's Web API lives under /api/.
            t.base_url = self.url("api/");
        }
        t
    }

    /// The static-token credential the fake accepts (Basic for Jira Cloud; for Slack a bot
    /// token; for Drive and Salesforce, which only take OAuth, an OAuth grant).
    pub fn credential(&self) -> Credential {
        match self.kind {
            Kind::Jira => Credential::Basic {
                email: JIRA_EMAIL.into(),
                token: SecretString::new(TOKEN),
            },
            Kind::GoogleDrive | Kind::Salesforce => Credential::OAuth(self.grant()),
            _ => Credential::Token(SecretString::new(TOKEN)),
        }
    }

    /// A fresh OAuth grant: a valid access token expiring in an hour and a refresh token.
    pub fn grant(&self) -> OAuthTokens {
        let mut s = self.state();
        let n = s.id();
        s.access_tokens.push(format!("at-{n}-CANARY"));
        s.refresh_tokens.push(format!("rt-{n}-CANARY"));
        OAuthTokens {
            access_token: SecretString::new(format!("at-{n}-CANARY")),
            refresh_token: SecretString::new(format!("rt-{n}-CANARY")),
            expires_at: Utc::now() + TimeDelta::hours(1),
            instance_url: (self.kind == Kind::Salesforce).then(|| self.base.to_string()),
        }
    }

    /// The OAuth app the fake's token endpoint accepts.
    pub fn oauth_app(&self) -> OAuthApp {
        OAuthApp {
            token_url: self.url("oauth/token"),
            client_id: CLIENT_ID.into(),
            client_secret: SecretString::new(CLIENT_SECRET),
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// The requests to `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    /// What was created, in order.
    pub fn created(&self) -> Vec<Value> {
        self.state().created.clone()
    }

    /// Answers the next request to `path` with `status` (and `Retry-After: retry_after`)
    /// without doing anything.
    pub fn fail_next(&self, path: &str, status: u16, retry_after: Option<&str>) {
        self.state().script.push_back(Scripted {
            path: path.into(),
            status,
            retry_after: retry_after.map(str::to_owned),
            after_commit: false,
        });
    }

    /// Does the work of the next request to `path` and then answers `status` anyway: the
    /// answer was lost, and a retry must not do it twice.
    pub fn fail_after_commit(&self, path: &str, status: u16) {
        self.state().script.push_back(Scripted {
            path: path.into(),
            status,
            retry_after: None,
            after_commit: true,
        });
    }

    /// Every OAuth access token issued so far stops working (401): the next call must refresh.
    pub fn expire_access_tokens(&self) {
        self.state().access_tokens.clear();
    }

    /// Every refresh token stops working (`invalid_grant`).
    pub fn revoke_grants(&self) {
        self.state().refresh_tokens.clear();
    }

    /// How many refreshes the token endpoint granted.
    pub fn refreshes(&self) -> u32 {
        self.state().refreshes
    }

    /// Adds a user the provider knows (for owner mapping by email); returns its id.
    pub fn add_user(&self, email: &str) -> String {
        let mut s = self.state();
        let id = format!("user-{}", s.id());
        s.users.push((email.into(), id.clone()));
        id
    }

    /// Adds a CRM contact; returns its id.
    pub fn add_contact(&self, email: &str) -> String {
        let mut s = self.state();
        let id = format!("c{}", s.id());
        s.contacts.push((email.into(), id.clone()));
        id
    }

    /// Follows an authorization URL like a user who agrees: the `code` and `state` the consent
    /// page sends back to the redirect URI (not followed).
    pub async fn consent(&self, authorization_url: &str) -> Result<(String, String), String> {
        use crate::Http as _;
        let url = Url::parse(authorization_url).map_err(|e| e.to_string())?;
        let http = crate::ReqwestHttp::new().map_err(|e| e.to_string())?;
        let resp = http
            .send(crate::HttpRequest::new(http::Method::GET, url))
            .await
            .map_err(|e| e.to_string())?;
        let location = resp
            .headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                format!(
                    "no redirect ({}): {}",
                    resp.status,
                    String::from_utf8_lossy(&resp.body)
                )
            })?;
        let back = Url::parse(location).map_err(|e| e.to_string())?;
        let get = |k: &str| {
            back.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Ok((get("code"), get("state")))
    }

    /// Sets the page size of list and search answers (2 by default).
    pub fn set_page_size(&self, n: usize) {
        self.state().page_size = n.max(1);
    }
}

/// Records the request, then applies a scripted answer for its path if one is queued.
async fn record(State(shared): State<Shared>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(raw) = axum::body::to_bytes(body, 16 << 20).await else {
        return answer(413, json!({"error": "too large"}));
    };
    let text = String::from_utf8_lossy(&raw).into_owned();
    let is_form = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = if is_form {
        Value::Object(
            url::form_urlencoded::parse(&raw)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        )
    } else {
        serde_json::from_slice(&raw).unwrap_or(Value::String(text))
    };
    let path = parts.uri.path().to_owned();
    let scripted = {
        let mut s = shared.lock();
        s.requests.push(Recorded {
            method: parts.method.to_string(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers.clone(),
            body,
            raw: raw.to_vec(),
        });
        let at = s.script.iter().position(|x| x.path == path);
        at.and_then(|i| s.script.remove(i))
    };
    let req = Request::from_parts(parts, Body::from(raw));
    let Some(scripted) = scripted else {
        return next.run(req).await;
    };
    if scripted.after_commit {
        let _ = next.run(req).await;
    }
    let mut resp = answer(
        scripted.status,
        json!({"message": "scripted failure", "error": "scripted_failure"}),
    );
    if let Some(ra) = scripted.retry_after
        && let Ok(v) = ra.parse()
    {
        resp.headers_mut().insert("retry-after", v);
    }
    resp
}

/// The consent page, as a user who always agrees: checks the client and the request, hands
/// out a single-use code bound to the redirect URI and the PKCE challenge, and redirects back
/// with it and the `state`.
async fn authorize(
    State(shared): State<Shared>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let mut s = shared.lock();
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("response_type") != "code" {
        return answer(400, json!({"error": "invalid_request"}));
    }
    let notion = s.kind == Some(Kind::Notion);
    if !notion && (get("code_challenge").is_empty() || get("code_challenge_method") != "S256") {
        return answer(
            400,
            json!({"error": "invalid_request", "error_description": "PKCE S256 is required"}),
        );
    }
    let redirect = get("redirect_uri");
    let Ok(mut back) = Url::parse(&redirect) else {
        return answer(400, json!({"error": "invalid_request"}));
    };
    let code = format!("code-{}", s.id());
    // Notion's OAuth has no PKCE: a challenge sent there is ignored.
    let challenge = if notion {
        String::new()
    } else {
        get("code_challenge")
    };
    s.codes.push((code.clone(), redirect, challenge));
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    let mut resp = answer(302, json!({}));
    if let Ok(v) = back.as_str().parse() {
        resp.headers_mut().insert("location", v);
    }
    resp
}

/// The tokens a code is worth: a long-lived token at Slack and Notion (no refresh), an access
/// and refresh token elsewhere (Salesforce with its `instance_url` and no `expires_in`).
fn granted(s: &mut FakeState) -> Value {
    let n = s.id();
    match s.kind {
        Some(Kind::Slack) => json!({"ok": true, "access_token": TOKEN, "token_type": "bot",
            "scope": "chat:write,channels:history,groups:history", "team": {"id": "T0001", "name": "Acme"}}),
        Some(Kind::Notion) => json!({"access_token": TOKEN, "token_type": "bearer",
            "bot_id": "b0t", "workspace_name": "Acme"}),
        kind => {
            let access = format!("at-{n}-CANARY");
            let refresh = format!("rt-{n}-CANARY");
            s.access_tokens.push(access.clone());
            s.refresh_tokens.push(refresh.clone());
            if kind == Some(Kind::Salesforce) {
                json!({"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                       "instance_url": s.base.trim_end_matches('/')})
            } else {
                json!({"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                       "expires_in": 3600})
            }
        }
    }
}

/// Redeems a code once, for the redirect URI it was given to and (when a challenge was sent)
/// the verifier that matches it; `Err` is `invalid_grant`.
fn redeem(s: &mut FakeState, code: &str, redirect: &str, verifier: Option<&str>) -> Result<(), ()> {
    let Some(at) = s.codes.iter().position(|(c, _, _)| c == code) else {
        return Err(());
    };
    let (_, uri, challenge) = s.codes.remove(at);
    let pkce_ok = challenge.is_empty()
        || verifier.is_some_and(|v| meetvault_calendar::oauth::challenge_of(v) == challenge);
    if uri != redirect || !pkce_ok {
        return Err(());
    }
    Ok(())
}

/// Notion's token endpoint: HTTP Basic client authentication and a JSON body.
async fn notion_token(State(shared): State<Shared>, headers: HeaderMap, body: String) -> Response {
    use base64::Engine as _;
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(format!("Basic {expected}").as_str())
    {
        return answer(401, json!({"error": "invalid_client"}));
    }
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    if v["grant_type"] != "authorization_code" {
        return answer(400, json!({"error": "unsupported_grant_type"}));
    }
    let mut s = shared.lock();
    let code = v["code"].as_str().unwrap_or_default();
    let redirect = v["redirect_uri"].as_str().unwrap_or_default();
    if redeem(&mut s, code, redirect, None).is_err() {
        return answer(400, json!({"error": "invalid_grant"}));
    }
    answer(200, granted(&mut s))
}

/// The OAuth 2.0 token endpoint, shared by every fake: the client must authenticate; a code
/// from the consent page (with its PKCE verifier) gets tokens; a known refresh token gets a new
/// access token (and, like HubSpot, Jira and Linear, a rotated refresh token except at Google
/// and Salesforce, which keep it).
async fn token(
    State(shared): State<Shared>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let mut s = shared.lock();
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return answer(401, json!({"error": "invalid_client"}));
    }
    if form.get("grant_type").map(String::as_str) == Some("authorization_code") {
        let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        let verifier = form.get("code_verifier").map(String::as_str);
        if redeem(&mut s, get("code"), get("redirect_uri"), verifier).is_err() {
            return answer(400, json!({"error": "invalid_grant"}));
        }
        return answer(200, granted(&mut s));
    }
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return answer(400, json!({"error": "unsupported_grant_type"}));
    }
    let presented = form.get("refresh_token").cloned().unwrap_or_default();
    let Some(at) = s.refresh_tokens.iter().position(|t| *t == presented) else {
        return answer(
            400,
            json!({"error": "invalid_grant", "error_description": "expired or revoked"}),
        );
    };
    let n = s.id();
    s.refreshes += 1;
    let access = format!("at-{n}-CANARY");
    s.access_tokens.push(access.clone());
    let kind = s.kind;
    let mut body = json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600});
    match kind {
        Some(Kind::GoogleDrive) => {}
        Some(Kind::Salesforce) => {
            body = json!({"access_token": access, "token_type": "Bearer",
                "instance_url": s.base.trim_end_matches('/'), "issued_at": Utc::now().timestamp_millis().to_string()});
        }
        _ => {
            let rotated = format!("rt-{n}-CANARY");
            s.refresh_tokens[at] = rotated.clone();
            body["refresh_token"] = Value::String(rotated);
        }
    }
    answer(200, body)
}
