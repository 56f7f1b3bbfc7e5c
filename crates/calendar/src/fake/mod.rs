//! Loopback fakes of the providers, for tests (feature `fake`): one axum server on
//! `127.0.0.1:0` that serves Google's OAuth, Calendar v3 and push endpoints and the Microsoft
//! identity platform's and Graph's, written from the providers' published API references
//! (events.list, events.watch, channels.stop and the sync guide; event delta, subscriptions
//! and their validation; the OAuth 2.0 token endpoints). Field names, status codes and error
//! JSON follow those references; the real services could not be reached from the environment
//! this was written in, so details the documents leave open (exact error messages, default
//! page sizes) are our choice.
//!
//! Tests drive it like a user would: [`FakeProviders::consent`] follows an authorization URL,
//! the mutation methods change the calendar (add, move, cancel, delete, decline, recurring
//! series), [`FakeProviders::expire_sync_state`] invalidates sync tokens,
//! [`FakeProviders::revoke_grants`] plays a user revoking access, and `notify_*` sends push
//! notifications to registered channels and subscriptions.

mod google;
mod graph;
mod oauth;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, patch, post};
use chrono::{DateTime, TimeDelta, Utc};
use url::Url;

pub use state::{FakeAttendee, FakeEvent, FakeRequest};

use crate::provider::{Endpoints, OAuthApp, Provider, ProviderKind};
use crate::secret::SecretString;
use state::State;

/// The client id the fakes accept.
pub const CLIENT_ID: &str = "meetvault-test-client";
/// The client secret the fakes accept.
pub const CLIENT_SECRET: &str = "meetvault-test-secret";
/// The calendar owner's address.
pub const USER_EMAIL: &str = "me@acme.example";

#[derive(Clone)]
pub(crate) struct Shared(Arc<Mutex<State>>);

impl Shared {
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, State>, ()> {
        self.0.lock().map_err(|_| ())
    }
}

pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .build()
}

/// Both providers require https; the fakes also deliver to loopback http (and nowhere else).
pub(crate) fn loopback_or_https(address: &str) -> bool {
    Url::parse(address).is_ok_and(|u| {
        u.scheme() == "https"
            || (u.scheme() == "http"
                && matches!(u.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback()))
    })
}

/// One Google push message.
pub(crate) struct GoogleMessage {
    pub address: String,
    pub channel_id: String,
    pub token: String,
    pub resource_id: String,
    pub state: &'static str,
    pub number: u64,
    pub expiration_ms: i64,
}

impl GoogleMessage {
    pub(crate) async fn send(self) -> Result<u16, reqwest::Error> {
        // Only loopback in tests: the address was checked when the channel was opened.
        let expiration = DateTime::<Utc>::from_timestamp_millis(self.expiration_ms)
            .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
            .unwrap_or_default();
        let resp = client(Duration::from_secs(10))?
            .post(&self.address)
            .header("X-Goog-Channel-ID", &self.channel_id)
            .header("X-Goog-Channel-Token", &self.token)
            .header("X-Goog-Channel-Expiration", expiration)
            .header("X-Goog-Resource-ID", &self.resource_id)
            .header(
                "X-Goog-Resource-URI",
                "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json",
            )
            .header("X-Goog-Resource-State", self.state)
            .header("X-Goog-Message-Number", self.number.to_string())
            .send()
            .await?;
        Ok(resp.status().as_u16())
    }
}

/// The running fakes. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeProviders {
    base: Url,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

impl Drop for FakeProviders {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeProviders {
    /// Starts the fakes on `127.0.0.1` and a free port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let base = Url::parse(&format!("http://{addr}/"))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let shared = Shared(Arc::new(Mutex::new(State::new(base.as_str(), USER_EMAIL))));
        let router = Router::new()
            .route("/o/oauth2/v2/auth", get(oauth::google_authorize))
            .route("/token", post(oauth::google_token))
            .route("/revoke", post(oauth::google_revoke))
            .route(
                "/ms/{tenant}/oauth2/v2.0/authorize",
                get(oauth::microsoft_authorize),
            )
            .route(
                "/ms/{tenant}/oauth2/v2.0/token",
                post(oauth::microsoft_token),
            )
            .route(
                "/calendar/v3/calendars/primary/events",
                get(google::list_events),
            )
            .route(
                "/calendar/v3/calendars/primary/events/watch",
                post(google::watch),
            )
            .route("/calendar/v3/channels/stop", post(google::stop))
            .route("/v1.0/me/calendarView/delta", get(graph::delta))
            .route("/v1.0/subscriptions", post(graph::create_subscription))
            .route(
                "/v1.0/subscriptions/{id}",
                patch(graph::update_subscription).delete(graph::delete_subscription),
            )
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { base, shared, task })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a test failure already; recover the data.
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    fn app(redirect_uri: Url) -> OAuthApp {
        OAuthApp {
            client_id: CLIENT_ID.to_owned(),
            client_secret: SecretString::new(CLIENT_SECRET),
            redirect_uri,
        }
    }

    /// A Google provider pointed at the fake.
    pub fn google(&self, redirect_uri: Url) -> Provider {
        Provider {
            kind: ProviderKind::Google,
            endpoints: Endpoints {
                authorize: self.url("o/oauth2/v2/auth"),
                token: self.url("token"),
                revoke: Some(self.url("revoke")),
                api: self.url("calendar/v3"),
            },
            app: Self::app(redirect_uri),
        }
    }

    /// A Microsoft provider pointed at the fake (tenant `common`).
    pub fn microsoft(&self, redirect_uri: Url) -> Provider {
        let endpoints = Endpoints::microsoft_at(&self.url("ms"), &self.url("v1.0"), "common")
            .unwrap_or_else(|_| Endpoints {
                authorize: self.url("ms/common/oauth2/v2.0/authorize"),
                token: self.url("ms/common/oauth2/v2.0/token"),
                revoke: None,
                api: self.url("v1.0"),
            });
        Provider {
            kind: ProviderKind::Microsoft,
            endpoints,
            app: Self::app(redirect_uri),
        }
    }

    /// Follows an authorization URL as a consenting user: returns `(code, state)` from the
    /// redirect, or the fake's refusal.
    pub async fn consent(&self, authorization_url: &Url) -> Result<(String, String), String> {
        let client = client(Duration::from_secs(10)).map_err(|e| e.to_string())?;
        let resp = client
            .get(authorization_url.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("no redirect ({})", resp.status()))?;
        let url = Url::parse(location).map_err(|e| e.to_string())?;
        let get = |k: &str| {
            url.query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.into_owned())
        };
        Ok((
            get("code").unwrap_or_default(),
            get("state").unwrap_or_default(),
        ))
    }

    /// Access tokens issued from now on live this long.
    pub fn set_access_token_ttl(&self, seconds: i64) {
        self.state().access_ttl_secs = seconds;
    }

    /// The user revokes every grant for `kind` (account settings): refresh and access tokens
    /// stop working.
    pub fn revoke_grants(&self, kind: ProviderKind) {
        for g in self.state().grants.values_mut().filter(|g| g.kind == kind) {
            g.revoked = true;
        }
    }

    /// How many grants of `kind` are revoked (by the revocation endpoint or
    /// [`revoke_grants`](Self::revoke_grants)).
    pub fn revoked_grants(&self, kind: ProviderKind) -> usize {
        self.state()
            .grants
            .values()
            .filter(|g| g.kind == kind && g.revoked)
            .count()
    }

    /// Invalidates every sync token / delta token of `kind` issued so far.
    pub fn expire_sync_state(&self, kind: ProviderKind) {
        let mut state = self.state();
        state.seq += 1;
        let seq = state.seq;
        state.calendar(kind).min_valid_seq = seq;
    }

    fn mutate(&self, kind: ProviderKind, id: &str, f: impl FnOnce(&mut FakeEvent)) -> bool {
        let mut state = self.state();
        state.seq += 1;
        let seq = state.seq;
        match state.calendar(kind).events.iter_mut().find(|e| e.id == id) {
            Some(e) => {
                f(e);
                e.seq = seq;
                true
            }
            None => false,
        }
    }

    /// Adds an event; returns its id.
    pub fn add_event(&self, kind: ProviderKind, mut event: FakeEvent) -> String {
        let mut state = self.state();
        state.seq += 1;
        event.seq = state.seq;
        if event.id.is_empty() {
            event.id = match kind {
                ProviderKind::Google => format!("ev{}", state.seq),
                ProviderKind::Microsoft => format!("AAMkAGI{}=", state.seq),
            };
        }
        let id = event.id.clone();
        state.calendar(kind).events.push(event);
        id
    }

    /// Adds `count` instances of a series starting at `template.start`, every `every`; returns
    /// the instance ids (Google's `{series}_{start}` form; Graph's are opaque).
    pub fn add_series(
        &self,
        kind: ProviderKind,
        template: FakeEvent,
        count: u32,
        every: TimeDelta,
    ) -> Vec<String> {
        let series = {
            let mut state = self.state();
            state.seq += 1;
            format!("series{}", state.seq)
        };
        (0..count)
            .map(|i| {
                let offset = every * i as i32;
                let mut e = template.clone();
                e.start = template.start + offset;
                e.end = template.end + offset;
                e.series_id = Some(series.clone());
                e.original_start = Some(e.start);
                e.id = match kind {
                    ProviderKind::Google => {
                        format!("{series}_{}", e.start.format("%Y%m%dT%H%M%SZ"))
                    }
                    ProviderKind::Microsoft => format!("AAMk{series}occ{i}="),
                };
                self.add_event(kind, e)
            })
            .collect()
    }

    /// Moves an event.
    pub fn move_event(
        &self,
        kind: ProviderKind,
        id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> bool {
        self.mutate(kind, id, |e| {
            e.start = start;
            e.end = end;
        })
    }

    /// The organizer cancels it (Google: `status: cancelled`; Graph: `isCancelled`).
    pub fn cancel_event(&self, kind: ProviderKind, id: &str) -> bool {
        self.mutate(kind, id, |e| e.cancelled = true)
    }

    /// Deletes it (Graph: `@removed`).
    pub fn delete_event(&self, kind: ProviderKind, id: &str) -> bool {
        self.mutate(kind, id, |e| e.deleted = true)
    }

    /// The user answers (`accepted`, `declined`, `tentative`).
    pub fn respond(&self, kind: ProviderKind, id: &str, response: &str) -> bool {
        self.mutate(kind, id, |e| e.user_response = response.to_owned())
    }

    /// Changes the title.
    pub fn rename(&self, kind: ProviderKind, id: &str, title: &str) -> bool {
        self.mutate(kind, id, |e| e.title = title.to_owned())
    }

    /// Requests served so far.
    pub fn requests(&self) -> Vec<FakeRequest> {
        self.state().requests.clone()
    }

    /// Open Google channels.
    pub fn google_channels(&self) -> usize {
        self.state().channels.len()
    }

    /// Live Graph subscriptions, with their expiry.
    pub fn graph_subscriptions(&self) -> Vec<(String, DateTime<Utc>)> {
        self.state()
            .subscriptions
            .iter()
            .map(|(id, s)| (id.clone(), s.expiration))
            .collect()
    }

    /// Sends an `exists` message to every open Google channel; returns the receivers' statuses.
    pub async fn notify_google(&self) -> Vec<u16> {
        let messages: Vec<GoogleMessage> = {
            let mut state = self.state();
            state
                .channels
                .iter_mut()
                .map(|(id, c)| {
                    c.message_number += 1;
                    GoogleMessage {
                        address: c.address.clone(),
                        channel_id: id.clone(),
                        token: c.token.clone(),
                        resource_id: c.resource_id.clone(),
                        state: "exists",
                        number: c.message_number,
                        expiration_ms: c.expiration_ms,
                    }
                })
                .collect()
        };
        let mut statuses = Vec::new();
        for m in messages {
            statuses.push(m.send().await.unwrap_or(0));
        }
        statuses
    }

    /// Sends a change notification for `event_id` to every Graph subscription, with the
    /// subscription's `clientState` (or `client_state_override`); returns the statuses.
    pub async fn notify_graph(
        &self,
        change_type: &str,
        event_id: &str,
        client_state_override: Option<&str>,
    ) -> Vec<u16> {
        let targets: Vec<(String, String, Option<String>, DateTime<Utc>)> = self
            .state()
            .subscriptions
            .iter()
            .map(|(id, s)| {
                (
                    id.clone(),
                    s.notification_url.clone(),
                    s.client_state.clone(),
                    s.expiration,
                )
            })
            .collect();
        let mut statuses = Vec::new();
        for (id, url, client_state, expiration) in targets {
            let resource = format!("Users/8ee44408-0679-472c-bc2a-692812af3437/Events/{event_id}");
            let body = serde_json::json!({"value": [{
                "subscriptionId": id,
                "subscriptionExpirationDateTime": expiration.to_rfc3339(),
                "changeType": change_type,
                "resource": resource,
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Event",
                    "@odata.id": resource,
                    "@odata.etag": "W/\"DwAAABYAAAA=\"",
                    "id": event_id
                },
                "clientState": client_state_override.map(str::to_owned).or(client_state),
                "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"
            }]});
            let status = match client(Duration::from_secs(10)) {
                Ok(c) => c
                    .post(&url)
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0),
                Err(_) => 0,
            };
            statuses.push(status);
        }
        statuses
    }
}
