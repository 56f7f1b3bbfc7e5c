//! Calendar sync for Google Calendar v3 and Microsoft Graph, without storage.
//!
//! This crate owns the conversation with the two calendar providers and the decisions that
//! follow from it:
//!
//! - [`oauth`]: the authorization URL (minimal read-only scopes, PKCE S256, offline access),
//!   the code exchange, refresh (`invalid_grant` → [`CalendarError::Revoked`]) and revocation,
//!   and [`Tokens`].
//! - [`sync`]: incremental sync — Google `events.list` with sync tokens, Graph
//!   `calendarView/delta` with delta links — into [`Change`]s of [`Event`], with a
//!   [`SyncCursor`] the caller stores; an invalidated cursor restarts as a full sync.
//! - [`google::push`] and [`graph::push`]: watch channels and subscriptions, and the pure
//!   verification of what the providers POST back (channel tokens and `clientState` are
//!   HMACs under a [`PushSecret`], compared in constant time), including Graph's validation
//!   handshake.
//! - [`rules`]: whether a bot should join an event, and the key that makes colleagues invited
//!   to the same meeting share one bot.
//! - [`links`]: recognising Google Meet, Zoom and Teams links, and nothing that only looks
//!   like one.
//! - `fake` (feature `fake`): loopback servers that behave like the providers' documented
//!   endpoints, for this crate's tests and the server's.
//!
//! All network I/O goes through the [`Http`] trait, so the server passes its SSRF-checked
//! client. The caller passes `now` in; nothing here reads the clock but the fakes.
//!
//! What it must never do:
//!
//! - Store anything. Tokens, cursors, channels and events are handed back to the caller, which
//!   encrypts and stores them (tokens under the user's key).
//! - Read event fields beyond those [`Event`] holds (id, title, description, times, location,
//!   attendees, organizer, status, recurrence ids, the meeting link, the user's response). We
//!   send field masks where the provider accepts them (Google `fields=`); Graph's delta refuses
//!   `$select`, so the parser drops the rest.
//! - Log or print tokens or event content. Secrets are [`SecretString`]s (`[redacted]` in
//!   `Debug`, wiped on drop); `Debug` of an event shows ids, times and flags only; errors carry
//!   provider error codes, never provider messages, URLs with tokens, or bodies.
//! - Follow a link a provider hands back to another origin (it would carry our bearer token).

mod api;
pub mod error;
pub mod event;
#[cfg(feature = "fake")]
pub mod fake;
pub mod google;
pub mod graph;
pub mod http;
pub mod links;
pub mod oauth;
pub mod provider;
pub mod push;
pub mod rules;
pub mod secret;
pub mod sync;

pub use error::CalendarError;
pub use event::{Attendee, Change, Event, EventStatus, EventTime, ResponseStatus};
pub use http::{Http, HttpError, HttpRequest, HttpResponse, ReqwestHttp};
pub use links::{ConferenceLink, Platform};
pub use oauth::{PkceVerifier, Tokens};
pub use provider::{Endpoints, OAuthApp, Provider, ProviderKind};
pub use push::{PushError, PushSecret};
pub use rules::{Decision, Mode, Override, Reason, Rules, decide, dedupe_key};
pub use secret::SecretString;
pub use sync::{SyncCursor, SyncOptions, SyncResult, sync};
