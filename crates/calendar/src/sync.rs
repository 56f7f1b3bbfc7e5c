//! Incremental sync: a [`SyncCursor`] the server stores per connection, [`fetch_page`] for one
//! page and [`sync`] for a bounded loop. The first sync (and any sync after the provider
//! invalidated the cursor, or once the window needs to slide forward) is a full sync of the
//! window `now - lookbehind .. now + lookahead`; later ones return only changes.
//!
//! Must never: store anything. The caller persists the returned cursor and applies the changes.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::CalendarError;
use crate::event::Change;
use crate::http::Http;
use crate::provider::{Provider, ProviderKind};
use crate::secret::SecretString;
use crate::{google, graph};

/// The time range a full sync covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Window {
    /// Start (inclusive).
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
}

/// Where a sync stands. Serializable so the server can store it (it holds the providers' sync
/// tokens and delta links: not credentials, but stored with the connection all the same).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SyncCursor {
    /// Google, in the middle of a list (`sync_token` set for an incremental one).
    GooglePage {
        /// `nextPageToken`.
        page_token: String,
        /// The sync token the list started from, if incremental.
        sync_token: Option<String>,
        /// The window of the current round.
        window: Window,
    },
    /// Google, between syncs.
    GoogleSync {
        /// `nextSyncToken`.
        sync_token: String,
        /// The window of the current round.
        window: Window,
    },
    /// Graph, in the middle of a round (`@odata.nextLink`).
    GraphNext {
        /// The link.
        link: String,
        /// The window of the current round.
        window: Window,
    },
    /// Graph, between syncs (`@odata.deltaLink`).
    GraphDelta {
        /// The link.
        link: String,
        /// The window of the current round.
        window: Window,
    },
}

impl SyncCursor {
    /// The window of the round this cursor belongs to.
    pub fn window(&self) -> Window {
        match self {
            Self::GooglePage { window, .. }
            | Self::GoogleSync { window, .. }
            | Self::GraphNext { window, .. }
            | Self::GraphDelta { window, .. } => *window,
        }
    }

    /// Whether the cursor sits between syncs (not in the middle of paging).
    pub fn is_idle(&self) -> bool {
        matches!(self, Self::GoogleSync { .. } | Self::GraphDelta { .. })
    }

    fn provider(&self) -> ProviderKind {
        match self {
            Self::GooglePage { .. } | Self::GoogleSync { .. } => ProviderKind::Google,
            Self::GraphNext { .. } | Self::GraphDelta { .. } => ProviderKind::Microsoft,
        }
    }
}

impl fmt::Debug for SyncCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::GooglePage { .. } => "GooglePage",
            Self::GoogleSync { .. } => "GoogleSync",
            Self::GraphNext { .. } => "GraphNext",
            Self::GraphDelta { .. } => "GraphDelta",
        };
        f.debug_struct(kind)
            .field("window", &self.window())
            .finish_non_exhaustive()
    }
}

/// Limits and the window of a sync.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// How far back a full sync reaches.
    pub lookbehind: TimeDelta,
    /// How far ahead a full sync reaches.
    pub lookahead: TimeDelta,
    /// When an idle cursor's window reaches less far ahead than this, the next sync starts a
    /// new round (a full sync of a fresh window): events that existed beyond the old window end
    /// would otherwise never arrive.
    pub min_lookahead: TimeDelta,
    /// Events per page asked of the provider.
    pub page_size: u32,
    /// Pages one [`sync`] call follows before it returns with `complete: false`.
    pub max_pages: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            lookbehind: TimeDelta::days(1),
            lookahead: TimeDelta::days(30),
            min_lookahead: TimeDelta::days(29),
            page_size: 100,
            max_pages: 50,
        }
    }
}

impl SyncOptions {
    fn window(&self, now: DateTime<Utc>) -> Window {
        Window {
            start: now - self.lookbehind,
            end: now + self.lookahead,
        }
    }
}

/// Which page to fetch.
#[derive(Debug, Clone)]
pub enum PageRequest {
    /// The first page of a full sync of this window.
    Start(Window),
    /// The page a cursor points at.
    Continue(SyncCursor),
}

/// One page of changes.
#[derive(Debug, Clone)]
pub struct SyncPage {
    /// The changes on this page, in the provider's order.
    pub changes: Vec<Change>,
    /// Where to go next.
    pub next: SyncCursor,
    /// Whether this was the last page of the round (`next` is then idle).
    pub done: bool,
    /// Items that could not be read and were left out.
    pub skipped: usize,
}

/// What fetching a page gave.
#[derive(Debug, Clone)]
pub enum PageOutcome {
    /// A page.
    Page(SyncPage),
    /// The provider invalidated the cursor (Google 410, Graph `syncStateNotFound`): start a
    /// full sync again.
    ResetRequired,
}

/// Fetches one page.
pub async fn fetch_page(
    http: &dyn Http,
    provider: &Provider,
    access_token: &SecretString,
    request: &PageRequest,
    options: &SyncOptions,
) -> Result<PageOutcome, CalendarError> {
    if let PageRequest::Continue(cursor) = request
        && cursor.provider() != provider.kind
    {
        return Err(CalendarError::Invalid(
            "the cursor belongs to the other provider",
        ));
    }
    match provider.kind {
        ProviderKind::Google => {
            google::sync::fetch_page(http, provider, access_token, request, options).await
        }
        ProviderKind::Microsoft => {
            graph::sync::fetch_page(http, provider, access_token, request, options).await
        }
    }
}

/// What [`sync`] gave.
#[derive(Debug, Clone)]
pub struct SyncResult {
    /// The changes, in order.
    pub changes: Vec<Change>,
    /// The cursor to store.
    pub cursor: SyncCursor,
    /// Forget every stored event of this connection before applying `changes`: this is the
    /// start of a full sync (the first one, one after the provider invalidated the cursor, or a
    /// new window).
    pub reset: bool,
    /// Whether the round finished; if not, call again with `cursor` to continue.
    pub complete: bool,
    /// Items that could not be read and were left out.
    pub skipped: usize,
}

/// Syncs from `cursor` (or from scratch), following at most `options.max_pages` pages. Tokens
/// are not refreshed here: call [`crate::oauth::refresh_if_needed`] first, and on
/// [`CalendarError::Unauthorized`] refresh and call again.
pub async fn sync(
    http: &dyn Http,
    provider: &Provider,
    access_token: &SecretString,
    cursor: Option<&SyncCursor>,
    now: DateTime<Utc>,
    options: &SyncOptions,
) -> Result<SyncResult, CalendarError> {
    let mut reset = false;
    let mut request = match cursor {
        Some(c) if c.is_idle() && c.window().end < now + options.min_lookahead => {
            reset = true;
            PageRequest::Start(options.window(now))
        }
        Some(c) => PageRequest::Continue(c.clone()),
        None => {
            reset = true;
            PageRequest::Start(options.window(now))
        }
    };
    let mut changes = Vec::new();
    let mut skipped = 0;
    let mut last = None;
    for _ in 0..options.max_pages.max(1) {
        match fetch_page(http, provider, access_token, &request, options).await? {
            PageOutcome::ResetRequired => {
                if matches!(request, PageRequest::Start(_)) {
                    return Err(CalendarError::InvalidResponse("a reset on a full sync"));
                }
                reset = true;
                changes.clear();
                skipped = 0;
                request = PageRequest::Start(options.window(now));
            }
            PageOutcome::Page(page) => {
                changes.extend(page.changes);
                skipped += page.skipped;
                if page.done {
                    return Ok(SyncResult {
                        changes,
                        cursor: page.next,
                        reset,
                        complete: true,
                        skipped,
                    });
                }
                last = Some(page.next.clone());
                request = PageRequest::Continue(page.next);
            }
        }
    }
    match last {
        Some(cursor) => Ok(SyncResult {
            changes,
            cursor,
            reset,
            complete: false,
            skipped,
        }),
        None => Err(CalendarError::TooManyPages(options.max_pages)),
    }
}
