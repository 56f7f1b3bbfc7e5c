//! The caller's encryption: status, zero-access mode (on, off, unlock), account recovery with
//! the recovery key, the caller's stored secrets, and an org's own KMS key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use meetvault_core::vault::RECOVERY_WARNING;

use crate::auth::{Auth, OwnAccount, perm};
use crate::state::AppState;
use crate::wire::auth::PasswordConfirm;
use crate::wire::encryption::{
    EncryptionMode, EncryptionStatus, OrgEncryption, OrgKmsBody, RecoverBody, RecoveryKeyIssued,
    Secret, SecretBody, SecretList, ZeroAccessEnabled,
};
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::{ApiError, ApiJson};

use super::Meta;

/// The caller's encryption mode and whether this session holds the key unlocked.
#[utoipa::path(get, path = "/api/v1/me/encryption", tag = "encryption", security(("session" = [])),
    responses(AuthErrors, (status = 200, description = "Status", body = EncryptionStatus)))]
pub async fn status(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(EncryptionStatus::from(
        app.core.encryption().status(&scope).await?,
    )))
}

/// Turns zero-access mode on. The response holds the recovery key, shown only this once.
#[utoipa::path(post, path = "/api/v1/me/encryption/zero-access", tag = "encryption", request_body = PasswordConfirm, security(("session" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "On; `recovery_key` is shown once", body = ZeroAccessEnabled), (status = 422, description = "Wrong password", body = crate::error::ErrorBody)))]
pub async fn enable_zero_access(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    ApiJson(body): ApiJson<PasswordConfirm>,
) -> Result<impl IntoResponse, ApiError> {
    let recovery = app
        .core
        .encryption()
        .enable_zero_access(&scope, &body.password)
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(ZeroAccessEnabled {
            mode: EncryptionMode::ZeroAccess,
            recovery_key: recovery.0.as_str().to_owned(),
            warning: RECOVERY_WARNING,
        }),
    ))
}

/// Turns zero-access mode off (the org key wraps the user key again).
#[utoipa::path(post, path = "/api/v1/me/encryption/zero-access/disable", tag = "encryption", request_body = PasswordConfirm, security(("session" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 204, description = "Off"), (status = 422, description = "Wrong password", body = crate::error::ErrorBody)))]
pub async fn disable_zero_access(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    ApiJson(body): ApiJson<PasswordConfirm>,
) -> Result<StatusCode, ApiError> {
    app.core
        .encryption()
        .disable_zero_access(&scope, &body.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unlocks the caller's zero-access key on this instance for this session.
#[utoipa::path(post, path = "/api/v1/me/encryption/unlock", tag = "encryption", request_body = PasswordConfirm, security(("session" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 204, description = "Unlocked"), (status = 422, description = "Wrong password", body = crate::error::ErrorBody)))]
pub async fn unlock(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    ApiJson(body): ApiJson<PasswordConfirm>,
) -> Result<StatusCode, ApiError> {
    app.core
        .encryption()
        .unlock_zero_access(&scope, &body.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a new password with the recovery key (zero-access accounts). Without the old password
/// or the recovery key, a zero-access account's content cannot be recovered by anyone. Returns a
/// new recovery key (the old one stops working); every session ends.
#[utoipa::path(post, path = "/api/v1/auth/recover", tag = "encryption", request_body = RecoverBody,
    responses(JsonBodyErrors, (status = 200, description = "Password set; a new `recovery_key` is shown once", body = RecoveryKeyIssued),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody), (status = 401, description = "Wrong email or recovery key", body = crate::error::ErrorBody)))]
pub async fn recover(
    State(app): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<RecoverBody>,
) -> Result<impl IntoResponse, ApiError> {
    let recovery = app
        .core
        .encryption()
        .recover_account(&body.email, &body.recovery_key, body.new_password, &meta)
        .await?;
    Ok(ApiJson(RecoveryKeyIssued {
        recovery_key: recovery.0.as_str().to_owned(),
        warning: RECOVERY_WARNING,
    }))
}

/// Names of the caller's stored secrets (integration tokens, webhook secrets); never values.
#[utoipa::path(get, path = "/api/v1/me/secrets", tag = "encryption", security(("session" = [])),
    responses(AuthErrors, (status = 200, description = "Names", body = SecretList)))]
pub async fn list_secrets(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(SecretList::from(
        app.core.secrets().list(&scope).await?,
    )))
}

/// Stores (or replaces) a secret, encrypted under the caller's user key; never returned.
#[utoipa::path(put, path = "/api/v1/me/secrets/{name}", tag = "encryption", params(("name" = String, Path, description = "1–64 of A-Z a-z 0-9 - _")), request_body = SecretBody, security(("session" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Stored", body = Secret), (status = 422, description = "Invalid", body = crate::error::ErrorBody)))]
pub async fn put_secret(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<SecretBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(Secret::from(
        app.core.secrets().put(&scope, &name, &body.value).await?,
    )))
}

#[utoipa::path(delete, path = "/api/v1/me/secrets/{name}", tag = "encryption", params(("name" = String, Path, description = "The secret's name")), security(("session" = [])),
    responses(AuthErrors, (status = 204, description = "Deleted"), (status = 404, description = "No such secret", body = crate::error::ErrorBody)))]
pub async fn delete_secret(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.core.secrets().delete(&scope, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The org's key arrangement: whether it may bring its own KMS key here, and which it brought.
#[utoipa::path(get, path = "/api/v1/org/encryption", tag = "encryption", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The arrangement", body = OrgEncryption)))]
pub async fn get_org_encryption(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
) -> Result<impl IntoResponse, ApiError> {
    let (kms_available, kms_key_id) = app.core.encryption().org_kms_key(&scope).await?;
    Ok(ApiJson(OrgEncryption {
        kms_available,
        kms_key_id,
    }))
}

/// Brings the org's own KMS key (per-tenant KMS): the org key is re-wrapped under it.
#[utoipa::path(put, path = "/api/v1/org/encryption", tag = "encryption", request_body = OrgKmsBody, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 204, description = "Re-wrapped"), (status = 422, description = "The key cannot be used", body = crate::error::ErrorBody)))]
pub async fn set_org_kms(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    ApiJson(body): ApiJson<OrgKmsBody>,
) -> Result<StatusCode, ApiError> {
    app.core
        .encryption()
        .set_org_kms_key(&scope, body.kms_key_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
