//! The audit log over HTTP: an org's entries (`audit:read`), its export, inclusion proofs, the
//! latest signed checkpoint and the public verifier key.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use meetvault_core::audit::AuditFilter;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, perm};
use crate::middleware::security_headers::user_content;
use crate::state::AppState;
use crate::wire::audit::{AuditEntry, AuditPage, InclusionProof};
use crate::wire::errors::AuthErrors;
use crate::{ApiError, ApiJson};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// e.g. `auth.login`
    pub action: Option<String>,
    /// e.g. `usr_…`, `key_…`, `anonymous`
    pub actor: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// 1–500, default 100.
    pub limit: Option<i64>,
}

/// The organization's audit entries, oldest first, with cursor pagination.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Entries", body = AuditPage), (status = 422, description = "Invalid filter", body = crate::error::ErrorBody)))]
pub async fn list(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::AuditRead>,
    Query(q): Query<AuditQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::Invalid {
            field: "limit",
            message: "must be between 1 and 500".into(),
        });
    }
    let filter = AuditFilter {
        action: q.action,
        actor: q.actor,
        since: q.since,
        until: q.until,
        after_seq: q.cursor,
        limit,
    };
    let entries = app.core.audit_log().list(&scope, &filter).await?;
    let next_cursor = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(ApiJson(AuditPage {
        entries: entries.into_iter().map(AuditEntry::from).collect(),
        next_cursor,
    }))
}

/// The organization's log as JSON Lines (header, every position, checkpoints): feed it to
/// `meetvault audit verify --export FILE`.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "JSON Lines", content_type = "application/x-ndjson", body = String)))]
pub async fn export(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::AuditRead>,
) -> Result<Response, ApiError> {
    let mut body = app.core.audit_log().export(&scope).await?.join("\n");
    body.push('\n');
    user_content(
        Response::builder(),
        "application/x-ndjson",
        "audit-export.jsonl",
    )
    .body(Body::from(body))
    .map_err(ApiError::internal)
}

/// An inclusion proof (RFC 9162) of one of the organization's entries against the latest
/// signed checkpoint. An entry newer than that checkpoint answers 425 with `Retry-After`.
#[utoipa::path(get, path = "/api/v1/audit/proof/{seq}", tag = "audit", params(("seq" = i64, Path, description = "Entry number")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Proof", body = InclusionProof), (status = 400, description = "Not a positive entry number", body = crate::error::ErrorBody), (status = 404, description = "No such entry of yours", body = crate::error::ErrorBody),
        (status = 425, description = "Not covered by a signed checkpoint yet; see Retry-After", body = crate::error::ErrorBody)))]
pub async fn proof(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::AuditRead>,
    Path(seq): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let seq: i64 = seq
        .parse()
        .ok()
        .filter(|s| *s >= 1)
        .ok_or_else(|| ApiError::BadRequest("seq must be a positive entry number".into()))?;
    Ok(ApiJson(InclusionProof::from(
        app.core.audit_log().proof(&scope, seq).await?,
    )))
}

/// The latest signed checkpoint (C2SP signed note: origin, tree size, root hash, signature), as
/// stored: reading it never signs one (the server signs every `audit.checkpoint_every` entries
/// and every `audit.checkpoint_interval_secs` when the log grew).
#[utoipa::path(get, path = "/api/v1/audit/checkpoint", tag = "audit", responses((status = 200, description = "Signed note", content_type = "text/plain", body = String)))]
pub async fn checkpoint(State(app): State<AppState>) -> Result<Response, ApiError> {
    let cp = app.core.audit_log().latest_checkpoint().await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        cp.note,
    )
        .into_response())
}

/// The audit signing key as a note verifier key (`name+keyid+base64`).
#[utoipa::path(get, path = "/.well-known/meetvault-signing-key", tag = "audit", responses((status = 200, description = "Verifier key", content_type = "text/plain", body = String)))]
pub async fn signing_key(State(app): State<AppState>) -> Response {
    let mut key = app.core.audit_log().verifier().to_vkey();
    key.push('\n');
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], key).into_response()
}
