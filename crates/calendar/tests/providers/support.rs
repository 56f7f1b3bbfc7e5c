//! Helpers: connecting a user through a fake, and a tiny notification receiver that uses the
//! crate's pure verification functions exactly as the server will.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use meetvault_calendar::fake::FakeProviders;
use meetvault_calendar::google::push::verify_notification;
use meetvault_calendar::graph::push::{parse_notifications, validation_response};
use meetvault_calendar::oauth::{self, PkceVerifier};
use meetvault_calendar::{Provider, ProviderKind, PushSecret, ReqwestHttp, Tokens};
use url::Url;

pub fn http() -> ReqwestHttp {
    ReqwestHttp::new().unwrap()
}

pub fn redirect() -> Url {
    Url::parse("https://mv.example/calendar/callback").unwrap()
}

pub fn provider(fake: &FakeProviders, kind: ProviderKind) -> Provider {
    match kind {
        ProviderKind::Google => fake.google(redirect()),
        ProviderKind::Microsoft => fake.microsoft(redirect()),
    }
}

/// The connect flow: authorization URL, consent at the fake, code exchange.
pub async fn connect(fake: &FakeProviders, kind: ProviderKind) -> (Provider, Tokens) {
    let provider = provider(fake, kind);
    let verifier = PkceVerifier::generate();
    let url = oauth::authorization_url(&provider, "state-123", &verifier).unwrap();
    let (code, state) = fake.consent(&url).await.unwrap();
    assert_eq!(state, "state-123");
    let tokens = oauth::exchange_code(&http(), &provider, &code, &verifier, Utc::now())
        .await
        .unwrap();
    (provider, tokens)
}

/// What the receiver accepted, in order: `google:<state>:<n>` or `graph:<changeType>:<id>`.
#[derive(Clone, Default)]
pub struct Received(pub Arc<Mutex<Vec<String>>>);

impl Received {
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Polls (never sleeps blindly) until `n` notifications arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let all = self.all();
            if all.len() >= n {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("only {:?} arrived", self.all());
    }
}

#[derive(Clone)]
struct Receiver {
    secret: Arc<PushSecret>,
    binding: String,
    received: Received,
}

async fn google(State(r): State<Receiver>, headers: HeaderMap) -> Response {
    match verify_notification(&headers, &r.secret) {
        Ok(notice) => {
            r.received.0.lock().unwrap().push(format!(
                "google:{:?}:{}",
                notice.state, notice.message_number
            ));
            StatusCode::OK.into_response()
        }
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn graph(State(r): State<Receiver>, RawQuery(query): RawQuery, body: Bytes) -> Response {
    match validation_response(query.as_deref()) {
        Some(Ok(token)) => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain")],
                token,
            )
                .into_response();
        }
        Some(Err(_)) => return StatusCode::BAD_REQUEST.into_response(),
        None => {}
    }
    let Ok(notifications) = parse_notifications(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if !notifications
        .iter()
        .all(|n| n.verify(&r.secret, &r.binding))
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut received = r.received.0.lock().unwrap();
    for n in notifications {
        received.push(format!(
            "graph:{}:{}",
            n.change_type.unwrap_or_default(),
            n.resource_id.unwrap_or_default()
        ));
    }
    StatusCode::ACCEPTED.into_response()
}

/// A receiver that answers the validation with the wrong body.
async fn graph_wrong_echo(RawQuery(_query): RawQuery) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        "not the token",
    )
        .into_response()
}

/// Starts a receiver on loopback; returns its base URL and what it accepts.
pub async fn receiver(secret: PushSecret, binding: &str) -> (Url, Received) {
    let received = Received::default();
    let state = Receiver {
        secret: Arc::new(secret),
        binding: binding.to_owned(),
        received: received.clone(),
    };
    let router = Router::new()
        .route("/google", post(google))
        .route("/graph", post(graph))
        .route("/graph-wrong-echo", post(graph_wrong_echo))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (Url::parse(&format!("http://{addr}/")).unwrap(), received)
}

/// A toy store, as the server would keep it: applies a sync result.
#[derive(Default)]
pub struct Store(pub std::collections::BTreeMap<String, meetvault_calendar::Event>);

impl Store {
    pub fn apply(&mut self, result: &meetvault_calendar::SyncResult) {
        if result.reset {
            self.0.clear();
        }
        for change in &result.changes {
            match change {
                meetvault_calendar::Change::Upsert(e) => {
                    self.0.insert(e.id.clone(), (**e).clone());
                }
                meetvault_calendar::Change::Removed(id) => {
                    self.0.remove(id);
                }
            }
        }
    }
}
