//! Google Drive: a summary as a Markdown file (`text/markdown`) in a folder, through OAuth only
//! (scope `https://www.googleapis.com/auth/drive.file`: the app sees only the files it created
//! or the user opened with it, so the folder is one the user picked or the app made).
//!
//! Endpoints (Drive API v3, `Authorization: Bearer <access token>`):
//! - `GET /drive/v3/about?fields=user(displayName,emailAddress)`: validation.
//! - `POST /upload/drive/v3/files?uploadType=multipart&fields=id,webViewLink&supportsAllDrives=true`
//!   with `Content-Type: multipart/related; boundary=…`: part one the JSON metadata
//!   `{"name": "<title>.md", "mimeType": "text/markdown", "parents": [folder],
//!   "appProperties": {"meetvault_key": key}}`, part two the `text/markdown` document (the
//!   title as a `# ` heading, the summary, a link back). `supportsAllDrives` lets the folder be
//!   in a shared drive.
//! - `GET /drive/v3/files?q=appProperties has { key='meetvault_key' and value='<key>' } and
//!   trashed = false&fields=nextPageToken,files(id,webViewLink)&pageSize=100&pageToken=…`:
//!   the retry's lookup, following `nextPageToken` (Drive may answer a short or even empty
//!   page before the end, so every page is read until there is no token).
//!
//! Idempotency: the key is a private app property of the file (`appProperties`, visible only
//! to our OAuth client), searchable with `appProperties has`. The key is checked by
//! [`crate::item::check_key`] (letters, digits, `-`), so it is safe inside the query's quotes;
//! nothing else goes into the query. Summaries only (no owners to match); a task is
//! [`IntegrationError::Invalid`], and so is a credential other than an OAuth grant.
//!
//! Errors are Google's `{"error": {"code", "message", "errors": [{"reason"}], "status"}}`: 401
//! → [`IntegrationError::Unauthorized`] (the server refreshes and retries once), 429 and 403
//! with reason `rateLimitExceeded`/`userRateLimitExceeded` → [`IntegrationError::RateLimited`]
//! (with `Retry-After` when sent), 5xx → [`IntegrationError::Unavailable`], other 4xx
//! (404 `notFound` for a folder the app cannot see, 403 `storageQuotaExceeded`…) →
//! [`IntegrationError::Rejected`], with Google's message bounded.
//!
//! Not verified against the live service (no network here): whether `corpora=user` (the
//! default) with `includeItemsFromAllDrives=true` finds a file in a shared drive the user is a
//! member of; exact error texts.

use http::Method;
use http::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::call::{self, endpoint};
use crate::error::IntegrationError;
use crate::item::{self, Item, MAX_TITLE, Summary};
use crate::target::{Credential, Target};
use crate::{Account, Http, HttpRequest, HttpResponse, SecretString, Sent};

/// The app property carrying the key.
pub const KEY_PROPERTY: &str = "meetvault_key";
/// How many pages of search results a retry reads.
pub const LOOKUP_PAGES: usize = 20;
/// The text of the link back to the meeting.
pub const LINK_TEXT: &str = "Open the meeting in meetvault";

/// `GET /drive/v3/about`: the user who granted access.
pub async fn validate(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
) -> Result<Account, IntegrationError> {
    let token = access_token(credential)?;
    let mut url = endpoint(&target.base_url, "drive/v3/about")?;
    url.query_pairs_mut()
        .append_pair("fields", "user(displayName,emailAddress)");
    let v = api(http, call::bearer(Method::GET, url, token)).await?;
    let name = v.pointer("/user/displayName").and_then(Value::as_str);
    let email = v.pointer("/user/emailAddress").and_then(Value::as_str);
    let name = match (name, email) {
        (Some(n), Some(e)) => format!("{n} ({e})"),
        (Some(n), None) => n.to_owned(),
        (None, Some(e)) => e.to_owned(),
        (None, None) => "Google Drive".to_owned(),
    };
    Ok(Account {
        name: call::bounded(&name, 120),
    })
}

/// Uploads the summary as a Markdown file into the target's folder (tasks are not taken).
pub async fn deliver(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    item: &Item,
    key: &str,
    retry: bool,
) -> Result<Sent, IntegrationError> {
    let Item::Summary(summary) = item else {
        return Err(IntegrationError::Invalid(
            "Google Drive takes summaries only".into(),
        ));
    };
    item.check()?;
    item::check_key(key)?;
    let token = access_token(credential)?;
    let folder = target.destination()?;
    if retry && let Some(sent) = find(http, target, token, key).await? {
        return Ok(sent);
    }
    let metadata = metadata(summary, folder, key);
    let content = Zeroizing::new(document(summary));
    let mut boundary = new_boundary();
    while content.contains(&boundary) {
        boundary = new_boundary();
    }
    let body = multipart(&boundary, &metadata, &content);
    let mut url = endpoint(&target.base_url, "upload/drive/v3/files")?;
    url.query_pairs_mut()
        .append_pair("uploadType", "multipart")
        .append_pair("fields", "id,webViewLink")
        .append_pair("supportsAllDrives", "true");
    let mut req = call::bearer(Method::POST, url, token);
    let content_type = HeaderValue::from_str(&format!("multipart/related; boundary={boundary}"))
        .map_err(|_| IntegrationError::Invalid("cannot build the upload's content type".into()))?;
    req.headers.insert(CONTENT_TYPE, content_type);
    req.body = Some(body);
    let v = api(http, req).await?;
    Ok(Sent {
        external_id: call::str_at(&v, "/id")?.to_owned(),
        url: v["webViewLink"].as_str().map(str::to_owned),
    })
}

/// The file's metadata: name, type, folder and our key as a private app property.
pub fn metadata(s: &Summary, folder: &str, key: &str) -> Value {
    json!({
        "name": format!("{}.md", call::bounded(s.title.trim(), MAX_TITLE)),
        "mimeType": "text/markdown",
        "parents": [folder],
        "appProperties": {KEY_PROPERTY: key},
    })
}

/// The document: the title as a heading, the summary, a link back.
pub fn document(s: &Summary) -> String {
    let link = s
        .link
        .replace('(', "%28")
        .replace(')', "%29")
        .replace(' ', "%20");
    format!(
        "# {}\n\n{}\n\n[{LINK_TEXT}]({link})\n",
        call::bounded(s.title.trim(), MAX_TITLE),
        s.markdown.trim_end()
    )
}

fn new_boundary() -> String {
    format!("meetvault-{}", uuid::Uuid::new_v4().simple())
}

/// A `multipart/related` body (RFC 2387): the JSON metadata, then the Markdown.
pub fn multipart(boundary: &str, metadata: &Value, content: &str) -> Zeroizing<Vec<u8>> {
    let text = Zeroizing::new(format!(
        "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n\
         --{boundary}\r\nContent-Type: text/markdown; charset=UTF-8\r\n\r\n{content}\r\n\
         --{boundary}--\r\n"
    ));
    Zeroizing::new(text.as_bytes().to_vec())
}

fn access_token(credential: &Credential) -> Result<&SecretString, IntegrationError> {
    match credential {
        Credential::OAuth(t) => Ok(&t.access_token),
        _ => Err(IntegrationError::Invalid(
            "Google Drive needs an OAuth grant".into(),
        )),
    }
}

/// Sends a request and reads Google's answer.
async fn api(http: &dyn Http, req: HttpRequest) -> Result<Value, IntegrationError> {
    let resp = http.send(req).await?;
    if resp.status.is_success() {
        return call::json_of(resp);
    }
    Err(google_error(&resp))
}

/// The error a Google API error answer stands for (403 rate limits included).
pub fn google_error(resp: &HttpResponse) -> IntegrationError {
    let status = resp.status.as_u16();
    let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let reason = v
        .pointer("/error/errors/0/reason")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if status == 429
        || (status == 403 && matches!(reason, "rateLimitExceeded" | "userRateLimitExceeded"))
    {
        return IntegrationError::RateLimited {
            retry_after: call::retry_after(&resp.headers),
        };
    }
    let Some(message) = v.pointer("/error/message").and_then(Value::as_str) else {
        return call::status_error(resp);
    };
    let message = call::bounded(message, call::MAX_MESSAGE);
    match status {
        401 => IntegrationError::Unauthorized(message),
        500..=599 => IntegrationError::Unavailable(format!("{status}: {message}")),
        _ => IntegrationError::Rejected { status, message },
    }
}

/// The file carrying `key`, if any, following `nextPageToken`.
async fn find(
    http: &dyn Http,
    target: &Target,
    token: &SecretString,
    key: &str,
) -> Result<Option<Sent>, IntegrationError> {
    item::check_key(key)?;
    let q = format!(
        "appProperties has {{ key='{KEY_PROPERTY}' and value='{key}' }} and trashed = false"
    );
    let mut page_token: Option<String> = None;
    for _ in 0..LOOKUP_PAGES {
        let mut url = endpoint(&target.base_url, "drive/v3/files")?;
        {
            let mut p = url.query_pairs_mut();
            p.append_pair("q", &q)
                .append_pair("fields", "nextPageToken,files(id,webViewLink)")
                .append_pair("pageSize", "100")
                .append_pair("supportsAllDrives", "true")
                .append_pair("includeItemsFromAllDrives", "true");
            if let Some(t) = &page_token {
                p.append_pair("pageToken", t);
            }
        }
        let v = api(http, call::bearer(Method::GET, url, token)).await?;
        if let Some(f) = v["files"].as_array().and_then(|fs| fs.first()) {
            return Ok(Some(Sent {
                external_id: call::str_at(f, "/id")?.to_owned(),
                url: f["webViewLink"].as_str().map(str::to_owned),
            }));
        }
        page_token = v["nextPageToken"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if page_token.is_none() {
            break;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multipart_body_has_both_parts_and_the_closing_boundary() {
        let body = multipart("b0", &json!({"name": "x.md"}), "# x\n");
        assert_eq!(
            String::from_utf8(body.to_vec()).unwrap(),
            "--b0\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{\"name\":\"x.md\"}\r\n\
             --b0\r\nContent-Type: text/markdown; charset=UTF-8\r\n\r\n# x\n\r\n--b0--\r\n"
        );
    }

    #[test]
    fn rate_limits_come_as_429_or_403_with_a_reason() {
        let resp = |status: u16, body: &str| HttpResponse {
            status: http::StatusCode::from_u16(status).unwrap(),
            headers: http::HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        };
        let limited = r#"{"error":{"code":403,"message":"User Rate Limit Exceeded","errors":[{"reason":"userRateLimitExceeded"}]}}"#;
        assert!(matches!(
            google_error(&resp(403, limited)),
            IntegrationError::RateLimited { .. }
        ));
        let quota = r#"{"error":{"code":403,"message":"The user's Drive storage quota has been exceeded.","errors":[{"reason":"storageQuotaExceeded"}]}}"#;
        assert!(matches!(
            google_error(&resp(403, quota)),
            IntegrationError::Rejected { status: 403, ref message } if message.contains("quota")
        ));
        assert!(matches!(
            google_error(&resp(401, r#"{"error":{"code":401,"message":"Invalid Credentials"}}"#)),
            IntegrationError::Unauthorized(ref m) if m == "Invalid Credentials"
        ));
    }
}
