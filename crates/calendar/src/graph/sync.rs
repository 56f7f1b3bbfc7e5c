//! One page of a `calendarView/delta` round: the first request names the window, later ones
//! follow `@odata.nextLink` until `@odata.deltaLink`, and the next round starts from the delta
//! link. A link is followed only if it stays on the configured Graph origin and path (it gets
//! our bearer token). 410 Gone, or an error code saying the sync state is gone, means reset.

use chrono::SecondsFormat;
use http::{Method, StatusCode};
use url::Url;

use super::events::{Page, change};
use crate::api;
use crate::error::CalendarError;
use crate::http::{Http, HttpRequest};
use crate::provider::Provider;
use crate::secret::SecretString;
use crate::sync::{PageOutcome, PageRequest, SyncCursor, SyncOptions, SyncPage};

const MAX_LINK_LEN: usize = 8192;
const PREFER: http::HeaderName = http::HeaderName::from_static("prefer");

fn link(provider: &Provider, link: &str) -> Result<Url, CalendarError> {
    let url = Url::parse(link).map_err(|_| CalendarError::InvalidResponse("a delta link"))?;
    if link.len() > MAX_LINK_LEN || !provider.endpoints.owns_link(&url) {
        return Err(CalendarError::InvalidResponse(
            "a delta link off the Graph origin",
        ));
    }
    Ok(url)
}

pub(crate) async fn fetch_page(
    http: &dyn Http,
    provider: &Provider,
    access_token: &SecretString,
    request: &PageRequest,
    options: &SyncOptions,
) -> Result<PageOutcome, CalendarError> {
    let (url, window) = match request {
        PageRequest::Start(window) => {
            let mut url = provider.endpoints.api_url("/me/calendarView/delta")?;
            url.query_pairs_mut()
                .append_pair(
                    "startDateTime",
                    &window.start.to_rfc3339_opts(SecondsFormat::Secs, true),
                )
                .append_pair(
                    "endDateTime",
                    &window.end.to_rfc3339_opts(SecondsFormat::Secs, true),
                );
            (url, *window)
        }
        PageRequest::Continue(
            SyncCursor::GraphNext { link: l, window } | SyncCursor::GraphDelta { link: l, window },
        ) => (link(provider, l)?, *window),
        PageRequest::Continue(_) => {
            return Err(CalendarError::Invalid(
                "the cursor belongs to the other provider",
            ));
        }
    };
    let req = HttpRequest::new(Method::GET, url)
        .bearer(access_token)
        .header(
            PREFER,
            &format!("odata.maxpagesize={}", options.page_size.clamp(1, 1000)),
        )
        .header(PREFER, "outlook.timezone=\"UTC\"")
        .header(PREFER, "outlook.body-content-type=\"text\"");
    let resp = http.send(req).await?;
    if resp.status == StatusCode::GONE {
        return Ok(PageOutcome::ResetRequired);
    }
    if !resp.status.is_success() {
        let code = api::error_code(&resp.body);
        if matches!(
            code.as_str(),
            "syncStateNotFound" | "syncStateInvalid" | "resyncRequired"
        ) {
            return Ok(PageOutcome::ResetRequired);
        }
        return Err(api::status_error(&resp));
    }
    let page: Page = api::json(&resp, "a delta page")?;
    let total = page.value.len();
    let changes: Vec<_> = page.value.into_iter().filter_map(change).collect();
    let skipped = total - changes.len();
    let (next, done) = match (page.next_link, page.delta_link) {
        (Some(next), _) => {
            link(provider, &next)?;
            (SyncCursor::GraphNext { link: next, window }, false)
        }
        (None, Some(delta)) => {
            link(provider, &delta)?;
            (
                SyncCursor::GraphDelta {
                    link: delta,
                    window,
                },
                true,
            )
        }
        (None, None) => {
            return Err(CalendarError::InvalidResponse(
                "a delta page without nextLink or deltaLink",
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
