//! Two-factor authentication for the caller's own account: TOTP enrolment, confirmation (which
//! returns the recovery codes once) and removal.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::auth::{Auth, OwnAccount};
use crate::state::AppState;
use crate::wire::auth::{CodeBody, PasswordConfirm, TotpEnabled, TotpEnrolment};
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::{ApiError, ApiJson};

/// Starts TOTP enrolment: returns the secret and an `otpauth://` URI for the authenticator app.
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp", tag = "auth", security(("session" = [])),
    responses(AuthErrors, (status = 200, description = "Secret to enrol", body = TotpEnrolment), (status = 409, description = "Already on", body = crate::error::ErrorBody)))]
pub async fn totp_begin(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(TotpEnrolment::from(
        app.core.identity().totp_begin(&scope).await?,
    )))
}

/// Confirms enrolment with a current code; returns ten single-use recovery codes, once.
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp/confirm", tag = "auth", request_body = CodeBody, security(("session" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "On; recovery codes", body = TotpEnabled), (status = 422, description = "Wrong code", body = crate::error::ErrorBody)))]
pub async fn totp_confirm(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(TotpEnabled::from(
        app.core.identity().totp_confirm(&scope, &body.code).await?,
    )))
}

/// Turns TOTP off (password required) and ends every other session.
#[utoipa::path(delete, path = "/api/v1/auth/mfa/totp", tag = "auth", request_body = PasswordConfirm, security(("session" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 204, description = "Off"), (status = 422, description = "Wrong password", body = crate::error::ErrorBody)))]
pub async fn totp_disable(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    ApiJson(body): ApiJson<PasswordConfirm>,
) -> Result<StatusCode, ApiError> {
    app.core
        .identity()
        .totp_disable(&scope, &body.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
