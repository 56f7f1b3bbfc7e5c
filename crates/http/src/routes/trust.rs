//! The trust page: `GET /api/v1/trust` (JSON) and `GET /trust` (HTML, no script), public,
//! generated on each request from the running configuration and state, so it never claims a
//! control the deployment does not have — and says plainly which ones it does not.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::privacy::{esc, page};
use crate::state::AppState;
use crate::wire::trust::Trust;
use crate::{ApiError, ApiJson};

pub fn routes() -> Router<AppState> {
    Router::new().route("/trust", get(html))
}

/// This deployment's controls, from its running configuration.
#[utoipa::path(get, path = "/api/v1/trust", tag = "instance",
    responses((status = 200, description = "The trust report", body = Trust)))]
pub async fn json(State(app): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(Trust::from(app.core.instance().trust().await?)))
}

fn row(out: &mut String, term: &str, value: &str) {
    out.push_str(&format!("<dt>{}</dt><dd>{}</dd>", esc(term), esc(value)));
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn duration(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3_600 == 0 => format!("{} hours", s / 3_600),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The same report as a page a person reads.
pub async fn html(State(app): State<AppState>) -> Response {
    let t = match app.core.instance().trust().await {
        Ok(r) => Trust::from(r),
        Err(e) => {
            tracing::error!(error = %e, "the trust page failed");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Trust",
                "<p class=\"error\">This page could not be generated just now.</p>",
            );
        }
    };
    let mut b = String::new();
    b.push_str(&format!(
        "<p class=\"note\">Generated from this server's running configuration at {} (meetvault {}). The same facts as JSON: <a href=\"/api/v1/trust\">/api/v1/trust</a>.</p>",
        esc(&t.generated_at.to_rfc3339()),
        esc(&t.version)
    ));
    b.push_str("<h2>Not enabled here</h2>");
    if t.not_enabled.is_empty() {
        b.push_str("<p>Every control this page lists is on.</p>");
    } else {
        b.push_str("<ul>");
        for s in &t.not_enabled {
            b.push_str(&format!("<li>{}</li>", esc(s)));
        }
        b.push_str("</ul>");
    }
    let tr = &t.transport;
    b.push_str("<h2>Transport</h2><dl>");
    row(&mut b, "TLS terminated by this server", yes(tr.tls));
    row(&mut b, "TLS versions", &list(&tr.tls_versions));
    row(&mut b, "HTTP redirected to HTTPS", yes(tr.http_redirect));
    row(&mut b, "Strict-Transport-Security", &tr.hsts);
    row(
        &mut b,
        "Content-Security-Policy",
        &tr.content_security_policy,
    );
    row(
        &mut b,
        "Public URL",
        tr.public_url.as_deref().unwrap_or("not set"),
    );
    b.push_str("</dl>");
    let e = &t.encryption;
    b.push_str("<h2>Encryption at rest</h2><dl>");
    row(&mut b, "Master key provider", &e.master_key_provider);
    row(&mut b, "Key hierarchy", &e.key_hierarchy);
    row(&mut b, "Fields", &e.field_cipher);
    row(&mut b, "Recordings and files", &e.blob_cipher);
    row(
        &mut b,
        "Zero-access mode available",
        yes(e.zero_access_available),
    );
    row(
        &mut b,
        "Zero-access key derivation",
        &format!(
            "Argon2id, {} KiB, {} iterations, parallelism {}",
            e.zero_access_kdf.memory_kib,
            e.zero_access_kdf.iterations,
            e.zero_access_kdf.parallelism
        ),
    );
    row(
        &mut b,
        "Deletion destroys the keys first",
        yes(e.crypto_shredding),
    );
    b.push_str("</dl>");
    let a = &t.accounts;
    b.push_str("<h2>Accounts and sign-in</h2><dl>");
    row(
        &mut b,
        "Password hashing",
        &format!(
            "{}, {} KiB, {} iterations, parallelism {}",
            a.password_hash,
            a.password_hash_params.memory_kib,
            a.password_hash_params.iterations,
            a.password_hash_params.parallelism
        ),
    );
    row(
        &mut b,
        "Shortest password",
        &format!("{} characters", a.password_min_chars),
    );
    row(
        &mut b,
        "Session lifetime",
        &duration(a.session_lifetime_secs),
    );
    row(
        &mut b,
        "Session idle timeout",
        &duration(a.session_idle_timeout_secs),
    );
    row(&mut b, "Second factors", &list(&a.second_factors));
    row(&mut b, "Open registration", yes(a.open_registration));
    row(&mut b, "Single sign-on", &list(&a.sso));
    row(&mut b, "Calendars", &list(&a.calendars));
    b.push_str("</dl>");
    let l = &t.rate_limits;
    b.push_str("<h2>Rate limits</h2><dl>");
    row(
        &mut b,
        "Sign-in attempts",
        &format!("{} per {}", l.login_attempts, duration(l.login_period_secs)),
    );
    row(
        &mut b,
        "Invitations",
        &format!("{} per hour", l.invitations_per_hour),
    );
    row(
        &mut b,
        "Deletion requests",
        &format!("{} per hour", l.deletion_requests_per_hour),
    );
    row(&mut b, "Counted", &l.store);
    b.push_str("</dl>");
    let k = &t.retention;
    b.push_str("<h2>Retention defaults</h2><dl>");
    row(&mut b, "Recordings", &k.recordings);
    row(&mut b, "Transcripts", &k.transcripts);
    row(&mut b, "Bot data", &k.bot_data);
    row(
        &mut b,
        "A closed organization is erased after",
        &format!("{} days", k.closed_org_grace_days),
    );
    row(&mut b, "Sweep interval", &duration(k.sweep_interval_secs));
    b.push_str("</dl>");
    let w = &t.webhooks;
    b.push_str("<h2>Webhooks</h2><dl>");
    row(&mut b, "Scheme", &w.scheme);
    row(&mut b, "Signatures", &list(&w.signatures));
    row(&mut b, "Retries", &w.retries.to_string());
    row(
        &mut b,
        "Endpoint disabled after failing for",
        &duration(w.disabled_after_failing_secs),
    );
    row(
        &mut b,
        "Private addresses user-given URLs may reach",
        &list(&w.outbound_allowed_private),
    );
    b.push_str("</dl>");
    let u = &t.audit;
    b.push_str("<h2>Audit log</h2><dl>");
    row(&mut b, "Structure", &u.structure);
    row(
        &mut b,
        "Latest signed checkpoint",
        &match (u.checkpoint_size, &u.checkpoint_at) {
            (Some(n), Some(at)) => format!("{n} entries, signed {}", at.to_rfc3339()),
            _ => "none signed yet".into(),
        },
    );
    row(
        &mut b,
        "Root hash",
        u.checkpoint_root_hash.as_deref().unwrap_or("none"),
    );
    row(&mut b, "Verifier key", &u.public_key);
    b.push_str("</dl>");
    if let Some(note) = &u.checkpoint_note {
        b.push_str(&format!("<pre>{}</pre>", esc(note)));
    }
    b.push_str("<h2>Who processes meeting content</h2><ul>");
    for p in &t.processors {
        b.push_str(&format!(
            "<li><strong>{}</strong>: {} — {}{}</li>",
            esc(&p.name),
            esc(&p.purpose),
            esc(&p.location),
            if p.default { " (default)" } else { "" }
        ));
    }
    b.push_str("</ul><h2>Security contact</h2>");
    b.push_str(&format!("<p>{}</p>", esc(&list(&t.security_contact))));
    page(StatusCode::OK, "Trust", &b)
}
