//! Deletion certificates: the public verification route (`/api/certificates/{id}`, no
//! account: a certificate holds ids, counts and hashes, never content) and the org's
//! (`audit:read`).

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use meetvault_core::ids::CertificateId;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, perm};
use crate::state::AppState;
use crate::wire::certificates::{CertificateEnvelope, CertificateList};
use crate::wire::errors::AuthErrors;
use crate::{ApiError, ApiJson};

use super::parse_id;

/// A deletion certificate, public: anyone holding its id can fetch it and see whether its
/// signatures and its audit-log inclusion proof verify.
#[utoipa::path(get, path = "/api/certificates/{id}", tag = "certificates", params(("id" = crate::wire::ids::CertificateId, Path, description = "The certificate")),
    responses((status = 200, description = "The certificate, its proof and checks", body = CertificateEnvelope), (status = 400, description = "Not a certificate id", body = crate::error::ErrorBody), (status = 404, description = "No such certificate", body = crate::error::ErrorBody)))]
pub async fn public_certificate(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<CertificateId>(&id)?;
    Ok(ApiJson(CertificateEnvelope::from(
        app.core.certificates().public(id).await?,
    )))
}

/// One of the organization's deletion certificates.
#[utoipa::path(get, path = "/api/v1/certificates/{id}", tag = "certificates", params(("id" = crate::wire::ids::CertificateId, Path, description = "The certificate")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The certificate, its proof and checks", body = CertificateEnvelope), (status = 404, description = "No such certificate", body = crate::error::ErrorBody)))]
pub async fn get_certificate(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::AuditRead>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<CertificateId>(&id)?;
    Ok(ApiJson(CertificateEnvelope::from(
        app.core.certificates().get(&scope, id).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CertificateQuery {
    /// The `next_before` of the previous page.
    pub before: Option<DateTime<Utc>>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

/// The organization's deletion certificates, newest first.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates", params(CertificateQuery), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The certificates", body = CertificateList), (status = 422, description = "Invalid query", body = crate::error::ErrorBody)))]
pub async fn list_certificates(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::AuditRead>,
    Query(q): Query<CertificateQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::Invalid {
            field: "limit",
            message: "must be between 1 and 200".into(),
        });
    }
    let views = app
        .core
        .certificates()
        .list(&scope, q.before, limit)
        .await?;
    let next_before = (views.len() == limit as usize)
        .then(|| views.last().map(|v| v.issued_at))
        .flatten();
    Ok(ApiJson(CertificateList {
        certificates: views.into_iter().map(CertificateEnvelope::from).collect(),
        next_before,
    }))
}
