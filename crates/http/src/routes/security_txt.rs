//! `GET /.well-known/security.txt` (RFC 9116) from `[security_txt]`. Expires is computed at request
//! time from `expires_days`, so the file is never served stale.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, SecondsFormat, Utc};
use meetvault_config::Config;

use crate::ApiError;
use crate::state::AppState;

/// Where to report a vulnerability in this deployment.
#[utoipa::path(get, path = "/.well-known/security.txt", tag = "operations",
    responses(
        (status = 200, description = "RFC 9116 security.txt", content_type = "text/plain", body = String),
        (status = 404, description = "No security contact is configured", body = crate::error::ErrorBody),
    ))]
pub async fn security_txt(State(app): State<AppState>) -> Result<Response, ApiError> {
    let text = render(app.core.config()).ok_or_else(|| {
        ApiError::NotFound(
            "security.txt is not configured on this server (operators: set security_txt.contact)"
                .to_owned(),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// The file's text, or `None` when no contact is configured (RFC 9116 requires one).
pub fn render(config: &Config) -> Option<String> {
    let s = &config.security_txt;
    if s.contact.is_empty() {
        return None;
    }
    let mut out = String::new();
    for contact in &s.contact {
        let _ = writeln!(out, "Contact: {contact}");
    }
    let expires = Utc::now() + Duration::days(i64::from(s.expires_days));
    let _ = writeln!(
        out,
        "Expires: {}",
        expires.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    if let Some(url) = &s.encryption {
        let _ = writeln!(out, "Encryption: {url}");
    }
    if let Some(url) = &s.acknowledgments {
        let _ = writeln!(out, "Acknowledgments: {url}");
    }
    if !s.preferred_languages.is_empty() {
        let _ = writeln!(
            out,
            "Preferred-Languages: {}",
            s.preferred_languages.join(", ")
        );
    }
    let canonical = s.canonical.clone().or_else(|| {
        config
            .server
            .public_url
            .as_ref()
            .and_then(|u| u.join("/.well-known/security.txt").ok())
    });
    if let Some(url) = canonical {
        let _ = writeln!(out, "Canonical: {url}");
    }
    if let Some(url) = &s.policy {
        let _ = writeln!(out, "Policy: {url}");
    }
    Some(out)
}
