//! testmeet: meetvault's own WebRTC meeting platform, for tests and demos. A signalling and
//! page server: rooms with a host (the host key in the URL), a lobby the host admits from,
//! chat, a participant list, removal and ending by the host; browsers connect to each other
//! in a mesh, with offers, answers and ICE candidates relayed over the room's websocket.
//! State is in memory only. It listens on plain HTTP, meant for loopback; it must never hold
//! anything but the rooms of the moment (no recordings, no logs of content).
//!
//! The page (`static/`) follows the DOM contract the testmeet recipe relies on: see
//! `ARCHITECTURE.md` and the ids and classes in `static/room.html`.

mod protocol;
mod rooms;
mod signal;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub use protocol::EndReason;
pub use rooms::{MAX_CHAT_CHARS, MAX_NAME_CHARS, MAX_PARTICIPANTS, MAX_ROOMS, Refused};
use rooms::{RoomName, Rooms};

const ROOM_HTML: &str = include_str!("../static/room.html");
const ROOM_JS: &str = include_str!("../static/room.js");
const ROOM_CSS: &str = include_str!("../static/room.css");

/// The page may load only its own script and style and talk only to its own origin; media
/// flows peer to peer, outside CSP.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   media-src 'self' blob: mediastream:; img-src 'self' data:; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// A bound testmeet server, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    app: App,
}

#[derive(Debug, Clone)]
struct App {
    rooms: Rooms,
    /// `http://ADDR`, for the URLs `POST /api/rooms` hands out.
    origin: String,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        Ok(Server {
            listener,
            app: App {
                rooms: Rooms::default(),
                origin: format!("http://{local}"),
            },
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// `http://ADDR` of this server.
    pub fn url(&self) -> &str {
        &self.app.origin
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, router(self.app))
            .with_graceful_shutdown(shutdown)
            .await
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/rooms", post(create_room))
        .route("/r/{room}", get(room_page))
        .route("/ws/{room}", get(signal::connect))
        .route(
            "/static/room.js",
            get(|| async { asset("text/javascript; charset=utf-8", ROOM_JS) }),
        )
        .route(
            "/static/room.css",
            get(|| async { asset("text/css; charset=utf-8", ROOM_CSS) }),
        )
        .fallback(|| async { page(StatusCode::NOT_FOUND, "Not found") })
        .with_state(app)
}

async fn index() -> Response {
    page(
        StatusCode::OK,
        "testmeet: POST /api/rooms creates a room; open its url (host_url for the host).",
    )
}

async fn create_room(State(app): State<App>) -> Response {
    match app.rooms.create() {
        Ok((room, key)) => {
            let url = format!("{}/r/{}", app.origin, room.as_str());
            let body = serde_json::json!({
                "room": room,
                "host_key": key.expose(),
                "host_url": format!("{url}?host={}", key.expose()),
                "url": url,
            });
            (StatusCode::CREATED, axum::Json(body)).into_response()
        }
        Err(e) => refused(&e),
    }
}

#[derive(Debug, Deserialize)]
struct HostQuery {
    host: Option<String>,
}

async fn room_page(
    State(app): State<App>,
    Path(room): Path<String>,
    Query(query): Query<HostQuery>,
) -> Response {
    let visited =
        RoomName::parse(&room).and_then(|room| app.rooms.visit(&room, query.host.as_deref()));
    match visited {
        Ok(()) => {
            let mut response = (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                ROOM_HTML,
            )
                .into_response();
            secure(&mut response);
            response
        }
        Err(e) => refused(&e),
    }
}

/// The status for a refusal, with its message as a small page.
fn refused(e: &Refused) -> Response {
    let status = match e {
        Refused::BadRoomName | Refused::NoSuchRoom => StatusCode::NOT_FOUND,
        Refused::WrongHostKey | Refused::NotHost => StatusCode::FORBIDDEN,
        Refused::TooManyRooms | Refused::RoomFull => StatusCode::SERVICE_UNAVAILABLE,
        Refused::Ended => StatusCode::GONE,
        Refused::BadHostKey
        | Refused::BadName
        | Refused::BadStreamId
        | Refused::BadChat
        | Refused::NotJoined
        | Refused::NoSuchParticipant => StatusCode::BAD_REQUEST,
    };
    page(status, &e.to_string())
}

fn page(status: StatusCode, text: &str) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{text}\n"),
    )
        .into_response();
    secure(&mut response);
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    secure(&mut response);
    response
}

fn secure(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
