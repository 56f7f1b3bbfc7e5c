//! Google Drive API v3, from developers.google.com/drive/api/reference/rest/v3: `GET
//! /drive/v3/about` (the `fields` parameter is required), `POST /upload/drive/v3/files?
//! uploadType=multipart` (a `multipart/related` body: JSON metadata, then the media) and `GET
//! /drive/v3/files` with a `q` search on `appProperties` and `pageToken` pagination. Only OAuth
//! access tokens are accepted. Errors are Google's `{"error": {"code", "message", "errors":
//! [{"message", "domain", "reason"}], "status"}}`.
//!
//! Files are kept in `created` with their metadata and `content`. A search page scans
//! `page_size` files and returns those that match, so, as Drive documents, a page may be short
//! or empty before the end (`nextPageToken` says whether there is more).
//! [`Fake::drive_rate_limit_next`] makes the next upload answer Drive's 403 rate limit.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::{Fake, FakeState, Shared, answer};

const RATE_LIMIT_NEXT: &str = "drive_rate_limit_next";

pub(crate) fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route("/drive/v3/about", get(about))
        .route("/upload/drive/v3/files", post(upload))
        .route("/drive/v3/files", get(list))
}

impl Fake {
    /// Google Drive's fake: the next upload answers 403 with `reason` (`rateLimitExceeded` or
    /// `userRateLimitExceeded`, Drive's rate limits) and `Retry-After: 7`.
    pub fn drive_rate_limit_next(&self, reason: &str) {
        self.state()
            .extra
            .insert(RATE_LIMIT_NEXT.into(), Value::String(reason.into()));
    }
}

fn error(status: u16, reason: &str, message: &str) -> Response {
    let code = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        _ => "INTERNAL",
    };
    answer(
        status,
        json!({"error": {"code": status, "message": message,
               "errors": [{"message": message, "domain": "global", "reason": reason}],
               "status": code}}),
    )
}

/// Only a valid OAuth access token (Drive takes no static tokens).
fn refused(st: &FakeState, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if token.is_some_and(|t| st.access_tokens.iter().any(|a| a == t)) {
        return None;
    }
    Some(error(
        401,
        "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    ))
}

fn bad(reason: &str, message: &str) -> Response {
    error(400, reason, message)
}

async fn about(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    if q.get("fields").is_none_or(String::is_empty) {
        return bad(
            "required",
            "The 'fields' parameter is required for this method.",
        );
    }
    answer(
        200,
        json!({"user": {"kind": "drive#user", "displayName": "Ana Admin",
                        "emailAddress": "ana@acme.example", "me": true}}),
    )
}

/// The boundary of a `multipart/related` content type.
fn boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    if !parts
        .next()?
        .trim()
        .eq_ignore_ascii_case("multipart/related")
    {
        return None;
    }
    parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary"))
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

/// One part: its content type and body.
type Part = (String, String);

/// The parts of a multipart body (RFC 2046): `--boundary CRLF` headers `CRLF CRLF` body, each
/// part ended by `CRLF --boundary`, the last boundary followed by `--`.
fn parts(body: &str, boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}");
    let rest = body.strip_prefix(&delimiter)?;
    let mut rest = rest.strip_prefix("\r\n")?;
    let mut out = Vec::new();
    loop {
        let (head, after) = rest.split_once("\r\n\r\n")?;
        let content_type = head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })?;
        let end = after.find(&format!("\r\n{delimiter}"))?;
        out.push((content_type, after[..end].to_owned()));
        let tail = &after[end + 2 + delimiter.len()..];
        if let Some(done) = tail.strip_prefix("--") {
            return done.trim().is_empty().then_some(out);
        }
        rest = tail.strip_prefix("\r\n")?;
    }
}

async fn upload(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let mut st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    if let Some(reason) = st.extra.remove(RATE_LIMIT_NEXT) {
        let reason = reason.as_str().unwrap_or("rateLimitExceeded").to_owned();
        let mut r = error(403, &reason, "User Rate Limit Exceeded");
        r.headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("7"));
        return r;
    }
    if q.get("uploadType").map(String::as_str) != Some("multipart") {
        return bad(
            "invalid",
            "Invalid value for uploadType: expected multipart.",
        );
    }
    let Some(boundary) = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(boundary)
    else {
        return bad(
            "badContent",
            "Content-Type must be multipart/related with a boundary.",
        );
    };
    let Some(parts) = parts(&body, &boundary) else {
        return bad("badContent", "Malformed multipart body.");
    };
    let [(meta_type, meta), (media_type, content)] = parts.as_slice() else {
        return bad(
            "badContent",
            "A multipart upload has exactly two parts: metadata and media.",
        );
    };
    if !meta_type.starts_with("application/json") {
        return bad("badContent", "The metadata part must be application/json.");
    }
    let Ok(meta) = serde_json::from_str::<Value>(meta) else {
        return bad("parseError", "Parse Error");
    };
    let Some(name) = meta["name"].as_str().filter(|n| !n.trim().is_empty()) else {
        return bad("required", "Required: name");
    };
    let parents: Vec<String> = match &meta["parents"] {
        Value::Null => Vec::new(),
        Value::Array(a) if a.len() <= 1 && a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect(),
        _ => {
            return bad(
                "invalid",
                "Invalid value for parents: a file has at most one parent.",
            );
        }
    };
    let app_properties = match &meta["appProperties"] {
        Value::Null => Map::new(),
        Value::Object(o)
            if o.iter()
                .all(|(k, v)| v.as_str().is_some_and(|v| k.len() + v.len() <= 124)) =>
        {
            o.clone()
        }
        _ => {
            return bad(
                "invalid",
                "Invalid value for appProperties: string values, key and value at most 124 bytes.",
            );
        }
    };
    let mime = meta["mimeType"]
        .as_str()
        .map_or_else(|| media_type.clone(), str::to_owned);
    let n = st.id();
    let id = format!("1mvDriveFile{n:0>6}");
    let file = json!({
        "kind": "drive#file", "id": id, "name": name, "mimeType": mime,
        "parents": parents, "appProperties": app_properties, "trashed": false,
        "webViewLink": format!("https://drive.google.com/file/d/{id}/view?usp=drivesdk"),
        "mediaType": media_type, "content": content,
    });
    st.created.push(file.clone());
    answer(200, select(&file, q.get("fields").map(String::as_str)))
}

/// The fields of `file` that `fields` asks for (Drive's default set when none).
fn select(file: &Value, fields: Option<&str>) -> Value {
    let names: Vec<&str> = match fields {
        Some(f) if !f.trim().is_empty() => f.split(',').map(str::trim).collect(),
        _ => vec!["kind", "id", "name", "mimeType"],
    };
    Value::Object(
        names
            .into_iter()
            .filter_map(|n| file.get(n).map(|v| (n.to_owned(), v.clone())))
            .collect(),
    )
}

/// What the fake understands of Drive's query language: `appProperties has { key='k' and
/// value='v' }`, optionally `and trashed = false`; `None` for anything else.
fn app_property_query(q: &str) -> Option<(String, String, bool)> {
    let rest = q.trim().strip_prefix("appProperties has {")?.trim_start();
    let rest = rest.strip_prefix("key='")?;
    let (key, rest) = rest.split_once('\'')?;
    let rest = rest.trim_start().strip_prefix("and")?.trim_start();
    let rest = rest.strip_prefix("value='")?;
    let (value, rest) = rest.split_once('\'')?;
    let rest = rest.trim_start().strip_prefix('}')?.trim();
    let untrashed = match rest {
        "" => false,
        r => {
            let r = r.strip_prefix("and")?.trim();
            let (field, value) = r.split_once('=')?;
            if field.trim() != "trashed" || value.trim() != "false" {
                return None;
            }
            true
        }
    };
    Some((key.to_owned(), value.to_owned(), untrashed))
}

async fn list(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    let filter = match q.get("q") {
        None => None,
        Some(text) => match app_property_query(text) {
            Some(f) => Some(f),
            None => return bad("invalid", "Invalid Value"),
        },
    };
    let start: usize = match q.get("pageToken") {
        None => 0,
        Some(t) => match t.strip_prefix("tok-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => return bad("invalid", "Invalid Value"),
        },
    };
    let size = q
        .get("pageSize")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 1000)
        .min(st.page_size);
    let scanned: Vec<&Value> = st.created.iter().skip(start).take(size).collect();
    let files: Vec<Value> = scanned
        .into_iter()
        .filter(|f| match &filter {
            None => true,
            Some((k, v, untrashed)) => {
                f["appProperties"][k.as_str()] == v.as_str()
                    && (!untrashed || f["trashed"] == false)
            }
        })
        .cloned()
        .collect();
    let file_fields = q.get("fields").and_then(|f| {
        f.split_once("files(")
            .map(|(_, r)| r.trim_end_matches(')').to_owned())
    });
    let files: Vec<Value> = files
        .iter()
        .map(|f| select(f, file_fields.as_deref()))
        .collect();
    let mut out = json!({"kind": "drive#fileList", "incompleteSearch": false, "files": files});
    if start + size < st.created.len() {
        out["nextPageToken"] = json!(format!("tok-{}", start + size));
    }
    if let Some(fields) = q.get("fields")
        && let Some(o) = out.as_object_mut()
    {
        o.retain(|k, _| fields.contains(k.as_str()));
    }
    answer(200, out)
}
