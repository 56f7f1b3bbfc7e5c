//! One page of `GET /calendars/primary/events`: a full sync of the window (`timeMin`,
//! `timeMax`), or an incremental one from a sync token (which Google refuses together with a
//! time range), following `nextPageToken` until `nextSyncToken`. 410 Gone means the sync token
//! was invalidated.

use chrono::SecondsFormat;
use http::{Method, StatusCode};

use super::events::{FIELDS, Page, change};
use crate::api;
use crate::error::CalendarError;
use crate::http::{Http, HttpRequest};
use crate::provider::Provider;
use crate::secret::SecretString;
use crate::sync::{PageOutcome, PageRequest, SyncCursor, SyncOptions, SyncPage};

const MAX_TOKEN_LEN: usize = 4096;

pub(crate) async fn fetch_page(
    http: &dyn Http,
    provider: &Provider,
    access_token: &SecretString,
    request: &PageRequest,
    options: &SyncOptions,
) -> Result<PageOutcome, CalendarError> {
    let (page_token, sync_token, window) = match request {
        PageRequest::Start(window) => (None, None, *window),
        PageRequest::Continue(SyncCursor::GooglePage {
            page_token,
            sync_token,
            window,
        }) => (Some(page_token.as_str()), sync_token.clone(), *window),
        PageRequest::Continue(SyncCursor::GoogleSync { sync_token, window }) => {
            (None, Some(sync_token.clone()), *window)
        }
        PageRequest::Continue(_) => {
            return Err(CalendarError::Invalid(
                "the cursor belongs to the other provider",
            ));
        }
    };
    let mut url = provider.endpoints.api_url("/calendars/primary/events")?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("singleEvents", "true")
            .append_pair("maxResults", &options.page_size.clamp(1, 2500).to_string())
            .append_pair("fields", FIELDS);
        match &sync_token {
            Some(token) => {
                q.append_pair("syncToken", token);
            }
            None => {
                q.append_pair(
                    "timeMin",
                    &window.start.to_rfc3339_opts(SecondsFormat::Secs, true),
                )
                .append_pair(
                    "timeMax",
                    &window.end.to_rfc3339_opts(SecondsFormat::Secs, true),
                );
            }
        }
        if let Some(token) = page_token {
            q.append_pair("pageToken", token);
        }
    }
    let resp = http
        .send(HttpRequest::new(Method::GET, url).bearer(access_token))
        .await?;
    if resp.status == StatusCode::GONE {
        return Ok(PageOutcome::ResetRequired);
    }
    if !resp.status.is_success() {
        return Err(api::status_error(&resp));
    }
    let page: Page = api::json(&resp, "an events list")?;
    let total = page.items.len();
    let changes: Vec<_> = page.items.into_iter().filter_map(change).collect();
    let skipped = total - changes.len();
    let too_long = |t: &Option<String>| {
        t.as_ref()
            .is_some_and(|t| t.is_empty() || t.len() > MAX_TOKEN_LEN)
    };
    if too_long(&page.next_page_token) || too_long(&page.next_sync_token) {
        return Err(CalendarError::InvalidResponse("a page or sync token"));
    }
    let (next, done) = match (page.next_page_token, page.next_sync_token) {
        (Some(page_token), _) => (
            SyncCursor::GooglePage {
                page_token,
                sync_token,
                window,
            },
            false,
        ),
        (None, Some(sync_token)) => (SyncCursor::GoogleSync { sync_token, window }, true),
        (None, None) => {
            return Err(CalendarError::InvalidResponse(
                "an events list without nextPageToken or nextSyncToken",
            ));
        }
    };
    Ok(PageOutcome::Page(SyncPage {
        changes,
        next,
        done,
        skipped,
    }))
}
