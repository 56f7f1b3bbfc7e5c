//! The audit log and the deletion certificates: `/audit` (filter by action, the entries, the
//! export, and "Verify", which checks the organization's whole exported log — chain, inclusion
//! and consistency, every signed checkpoint — against the instance's signing key, as `meetvault
//! audit verify` does, and shows the latest checkpoint), `/certificates` (the organization's)
//! and `/certificates/{id}` (one, with its checks; public, as `/api/certificates/{id}` is).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use meetvault_core::audit::AuditFilter;
use meetvault_core::ids::CertificateId;
use serde::Deserialize;

use super::{PageError, bare, gate, need, percent, shell, when};
use crate::ApiError;
use crate::auth::{Caller, perm};
use crate::routes::parse_id;
use crate::routes::privacy::esc;
use crate::state::AppState;
use crate::wire::audit::AuditEntry;
use crate::wire::certificates::CertificateEnvelope;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(audit))
        .route("/certificates", get(certificates))
        .route("/certificates/{id}", get(certificate))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    action: Option<String>,
    cursor: Option<i64>,
    verify: Option<String>,
}

async fn audit(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::AuditRead>(&app, &principal, &uri).await?;
    let action = q.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let mut body = String::new();

    // Verification first: it is what this page is for.
    body.push_str("<section aria-labelledby=\"verify-h\"><h2 id=\"verify-h\">Integrity</h2>");
    if q.verify.is_some() {
        let lines = app.core.audit_log().export(&scope).await?;
        let text = lines.join("\n");
        let verifier = app.core.audit_log().verifier();
        let report = meetvault_core::audit::verify_export(&text, Some(&verifier))
            .map_err(|e| ApiError::internal(format!("the export could not be read: {e}")))?;
        if report.ok() {
            body.push_str(&format!(
                "<p class=\"ok\" role=\"status\">Verified: {} entries and {} signed checkpoints; \
                 the chain is whole and every checkpoint is signed by this instance's key.</p>",
                report.entries, report.checkpoints
            ));
        } else {
            let first = report
                .first_problem()
                .map(ToString::to_string)
                .unwrap_or_default();
            body.push_str(&format!(
                "<p class=\"error\" role=\"alert\">The log does NOT verify: {} problem(s). First: {}</p>",
                report.problems.len(),
                esc(&first)
            ));
        }
    } else {
        body.push_str(
            "<form method=\"get\" action=\"/audit\"><input type=\"hidden\" name=\"verify\" value=\"1\">\
             <button type=\"submit\">Verify the log</button></form>",
        );
    }
    match app.core.audit_log().latest_checkpoint().await {
        Ok(cp) => body.push_str(&format!(
            "<h3>Latest signed checkpoint</h3><pre class=\"note-text\">{}</pre>\
             <p class=\"note\">Verify it yourself with the key at \
             <a href=\"/.well-known/meetvault-signing-key\">/.well-known/meetvault-signing-key</a>.</p>",
            esc(&cp.note)
        )),
        Err(meetvault_core::CoreError::NotFound(_)) => {
            body.push_str("<p>No checkpoint has been signed yet.</p>");
        }
        Err(e) => return Err(e.into()),
    }
    body.push_str(
        "<p><a href=\"/api/v1/audit/export\" download>Export the log (JSON Lines)</a> — \
         <code>meetvault audit verify --export FILE</code> checks it offline.</p></section>",
    );

    let filter = AuditFilter {
        action: action.map(str::to_owned),
        actor: None,
        since: None,
        until: None,
        after_seq: q.cursor,
        limit: 100,
    };
    let entries: Vec<AuditEntry> = app
        .core
        .audit_log()
        .list(&scope, &filter)
        .await?
        .into_iter()
        .map(AuditEntry::from)
        .collect();
    body.push_str(&format!(
        "<section aria-labelledby=\"entries-h\"><h2 id=\"entries-h\">Entries</h2>\
         <form method=\"get\" action=\"/audit\" class=\"filters\" role=\"search\" aria-label=\"Audit log\">\
         <div><label for=\"action\">Action (e.g. meeting.delete, auth.login)</label>\
         <input id=\"action\" name=\"action\" value=\"{}\"></div><button type=\"submit\">Filter</button></form>",
        esc(action.unwrap_or(""))
    ));
    if entries.is_empty() {
        body.push_str("<p>No entries.</p>");
    } else {
        let mut rows = String::new();
        for e in &entries {
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                e.seq,
                when(&e.time),
                esc(&e.action),
                esc(&e.actor),
                esc(e.resource.as_deref().unwrap_or("")),
                esc(&e.outcome),
                e.reason
                    .as_deref()
                    .map(|r| format!(" ({})", esc(r)))
                    .unwrap_or_default(),
            ));
        }
        body.push_str(&super::table(
            "Audit entries",
            &["#", "Time", "Action", "Who", "What", "Outcome"],
            &rows,
        ));
        if entries.len() == 100
            && let Some(last) = entries.last()
        {
            body.push_str(&format!(
                "<p><a href=\"/audit?cursor={}&amp;action={}\">More</a></p>",
                last.seq,
                percent(action.unwrap_or(""))
            ));
        }
    }
    body.push_str("</section>");
    Ok(shell("/audit", "Audit log", &body))
}

async fn certificates(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::AuditRead>(&app, &principal, &uri).await?;
    let views = app.core.certificates().list(&scope, None, 200).await?;
    let mut body = String::from(
        "<p>Each deletion is proved by a certificate signed by this instance and recorded in the \
         audit log. Anyone holding a certificate's link can check it.</p>",
    );
    if views.is_empty() {
        body.push_str("<p>No deletions yet.</p>");
    } else {
        body.push_str("<ul class=\"certs\">");
        for c in views.into_iter().map(CertificateEnvelope::from) {
            body.push_str(&format!(
                "<li><a href=\"/certificates/{id}\">{id}</a> — {} — {}</li>",
                when(&c.issued_at),
                if c.verified.ok {
                    "verifies"
                } else {
                    "DOES NOT VERIFY"
                },
                id = c.id,
            ));
        }
        body.push_str("</ul>");
    }
    Ok(shell("/audit", "Deletion certificates", &body))
}

async fn certificate(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_id::<CertificateId>(&id)?;
    let c = CertificateEnvelope::from(app.core.certificates().public(id).await?);
    let subject = c.certificate.get("subject").cloned().unwrap_or_default();
    let checks = &c.verified;
    let yes = |b: bool| if b { "passes" } else { "FAILS" };
    let mut list = format!(
        "<li>Digest: {}</li><li>Ed25519 signature: {}</li>",
        yes(checks.digest),
        yes(checks.ed25519)
    );
    if let Some(h) = checks.hmac_sha256 {
        list.push_str(&format!("<li>Instance HMAC: {}</li>", yes(h)));
    }
    if let Some(i) = checks.inclusion {
        list.push_str(&format!(
            "<li>Recorded in the audit log (inclusion proof): {}</li>",
            yes(i)
        ));
    }
    for p in &checks.problems {
        list.push_str(&format!("<li class=\"error\">{}</li>", esc(p)));
    }
    let pretty = serde_json::to_string_pretty(&c.certificate).unwrap_or_default();
    let body = format!(
        "<p class=\"{cls}\" role=\"status\">{verdict}</p>\
         <dl><dt>Certificate</dt><dd><code>{id}</code></dd><dt>Issued</dt><dd>{issued}</dd>\
         <dt>What was deleted</dt><dd><code>{subject}</code></dd><dt>Digest</dt><dd><code>{digest}</code></dd></dl>\
         <h2>Checks</h2><ul>{list}</ul>\
         <p><a href=\"/api/certificates/{id}\" download=\"certificate-{id}.json\">Download the certificate (JSON)</a>; \
         <code>meetvault certificate verify FILE --key KEYFILE</code> checks it offline.</p>\
         <details><summary>The signed document</summary><pre>{doc}</pre></details>",
        cls = if checks.ok { "ok" } else { "error" },
        verdict = if checks.ok {
            "This certificate verifies: it was signed by this instance and recorded in its audit log."
        } else {
            "This certificate does NOT verify."
        },
        id = c.id,
        issued = when(&c.issued_at),
        subject = esc(&subject.to_string()),
        digest = esc(&c.digest),
        doc = esc(&pretty),
    );
    Ok(bare(StatusCode::OK, "Deletion certificate", &body))
}
