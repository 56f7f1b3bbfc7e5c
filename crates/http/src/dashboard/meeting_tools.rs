//! The meeting page's working sections beyond listening and reading: its details (title,
//! language), a question answered from it, who spoke how much, the summary made again or
//! corrected, and the documents attached to it. Each reads through the API's own handler and
//! changes through the API's route.

use axum::extract::{Path, State};
use meetvault_core::access::Principal;
use meetvault_core::ids::MeetingId;
use serde_json::{Value, json};

use super::organization::{answer, json_editor};
use super::{PageError, table};
use crate::auth::{Auth, perm};
use crate::routes;
use crate::routes::privacy::esc;
use crate::state::AppState;
use crate::wire::intel::Summary;
use crate::wire::meetings::Meeting;

/// Every section, in page order; those needing `meetings:write` only for its holders.
pub(crate) async fn sections(
    app: &AppState,
    principal: &Principal,
    m: &Meeting,
    summary: Option<&Summary>,
) -> Result<String, PageError> {
    let id = m.id;
    let mut out = String::new();
    let writer = principal.authorize::<perm::MeetingsWrite>().ok();
    if writer.is_some() {
        out.push_str(&format!(
            "<details class=\"panel\"><summary>Details</summary>\
             <form data-api=\"/api/v1/meetings/{id}\" data-method=\"PATCH\" data-next=\"reload\">\
             <p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"m-title\">Title</label><input id=\"m-title\" name=\"title\" value=\"{}\" required>\
             <label for=\"m-lang\">Language (a code such as en, de, fr; empty: detected)</label>\
             <input id=\"m-lang\" name=\"language\" value=\"{}\" maxlength=\"8\">\
             <button type=\"submit\">Save</button></form></details>",
            esc(&m.title),
            esc(m.language.as_deref().unwrap_or("")),
        ));
    }
    out.push_str(&format!(
        "<section aria-labelledby=\"ask-h\"><h2 id=\"ask-h\">Ask this meeting</h2>\
         <form data-api=\"/api/v1/ask\"><p class=\"form-error\" role=\"alert\" hidden></p>\
         <input type=\"hidden\" name=\"meeting_id\" value=\"{id}\">\
         <label for=\"question\">Question</label><input id=\"question\" name=\"question\" required maxlength=\"1000\">\
         <div class=\"shown\" hidden role=\"status\"><p data-shown=\"answer\"></p><p class=\"note\" data-shown=\"message\"></p></div>\
         <button type=\"submit\">Ask</button></form></section>"
    ));
    if let Ok(scope) = principal.authorize::<perm::MeetingsRead>() {
        let stats = answer(
            routes::intel::analytics(
                State(app.clone()),
                Auth(scope.clone()),
                Path(id.to_string()),
            )
            .await,
        )
        .await;
        if let Ok(stats) = stats {
            out.push_str(&analytics(&stats));
        }
        let docs = answer(
            routes::documents::list_documents(
                State(app.clone()),
                Auth(scope),
                Path(id.to_string()),
            )
            .await,
        )
        .await?;
        out.push_str(&documents(id, &docs, writer.is_some()));
    }
    out.push_str(&keeping(app, principal, id, writer.is_some()).await?);
    if writer.is_some() {
        out.push_str(&format!(
            "<section aria-labelledby=\"sumtools-h\"><h2 id=\"sumtools-h\">The summary</h2>\
             <form data-api=\"/api/v1/meetings/{id}/summary\" data-done=\"Queued: the page tells you when it is ready.\">\
             <p class=\"form-error\" role=\"alert\" hidden></p><p class=\"form-done\" role=\"status\"></p>\
             <button type=\"submit\">Make the summary again from the transcript</button></form></section>"
        ));
        if let Some(s) = summary {
            let current = json!({
                "overview": s.overview,
                "key_points": s.key_points,
                "decisions": s.decisions,
                "action_items": s.action_items,
            });
            out.push_str(&json_editor(
                "sum-edit",
                "Correct the summary",
                "Your edit replaces the summary (a later regeneration replaces your edit).",
                &format!("/api/v1/meetings/{id}/summary"),
                "PUT",
                &current,
            ));
        }
    }
    Ok(out)
}

fn analytics(a: &Value) -> String {
    let mut rows = String::new();
    for s in a["speakers"].as_array().into_iter().flatten() {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{:.0} %</td><td>{:.0}</td><td>{}</td><td>{}</td></tr>",
            esc(s["speaker"].as_str().unwrap_or("")),
            s["talk_share"].as_f64().unwrap_or(0.0) * 100.0,
            s["words_per_minute"].as_f64().unwrap_or(0.0),
            s["questions"].as_u64().unwrap_or(0),
            s["interruptions"].as_u64().unwrap_or(0),
        ));
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<section aria-labelledby=\"an-h\"><h2 id=\"an-h\">Who spoke</h2>{}</section>",
        table(
            "Speakers",
            &[
                "Speaker",
                "Talk time",
                "Words a minute",
                "Questions",
                "Interruptions"
            ],
            &rows
        )
    )
}

fn documents(id: MeetingId, docs: &Value, writable: bool) -> String {
    let mut list = String::new();
    for d in docs["documents"].as_array().into_iter().flatten() {
        let doc = esc(d["id"].as_str().unwrap_or(""));
        let delete = if writable {
            format!(
                " <form class=\"inline\" data-api=\"/api/v1/meetings/{id}/documents/{doc}\" data-method=\"DELETE\" data-next=\"reload\">\
                 <button type=\"submit\">Remove</button></form>"
            )
        } else {
            String::new()
        };
        list.push_str(&format!(
            "<li>{} <span class=\"note\">({} characters{})</span>{delete}</li>",
            esc(d["name"].as_str().unwrap_or("")),
            d["chars"].as_u64().unwrap_or(0),
            if d["ephemeral"] == Value::Bool(true) {
                ", deleted when the meeting ends"
            } else {
                ""
            },
        ));
    }
    let mut out =
        String::from("<section aria-labelledby=\"docs-h\"><h2 id=\"docs-h\">Documents</h2>");
    out.push_str(if list.is_empty() {
        "<p>None attached. An agenda or notes attached here are searched and cited with the transcript.</p>"
    } else {
        ""
    });
    if !list.is_empty() {
        out.push_str(&format!("<ul>{list}</ul>"));
    }
    if writable {
        out.push_str(&format!(
            "<form data-upload=\"/api/v1/meetings/{id}/documents\" data-next=\"reload\">\
             <p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"doc-file\">Attach a PDF, Markdown, HTML or text file</label>\
             <input id=\"doc-file\" type=\"file\" accept=\".pdf,.md,.markdown,.html,.htm,.txt,application/pdf,text/*\" data-file=\"document\">\
             <div class=\"uploads\" aria-live=\"polite\"></div><button type=\"submit\">Attach</button></form>"
        ));
    }
    out.push_str("</section>");
    out
}

/// How long each part of the meeting is kept (and when it goes), and — for those who may
/// change the meeting — transcribing it again and sending it to the organization's bucket.
async fn keeping(
    app: &AppState,
    principal: &Principal,
    id: MeetingId,
    writable: bool,
) -> Result<String, PageError> {
    let mut out =
        String::from("<section aria-labelledby=\"keep-h\"><h2 id=\"keep-h\">Kept, and sent</h2>");
    if let Ok(scope) = principal.authorize::<perm::MeetingsRead>() {
        let r = answer(
            routes::retention::meeting_retention(
                State(app.clone()),
                Auth(scope),
                Path(id.to_string()),
            )
            .await,
        )
        .await?;
        let mut rows = String::new();
        for p in r["parts"].as_array().into_iter().flatten() {
            let part = p["part"].as_str().unwrap_or("");
            let fate = if p["held"] != Value::Bool(true) {
                "nothing held".to_owned()
            } else if let Some(at) = p["delete_at"].as_str() {
                format!("deleted after {}", esc(at))
            } else if let Some(w) = p["waiting"].as_str() {
                format!("the clock starts after {}", esc(w))
            } else {
                "kept until deleted by hand".to_owned()
            };
            let last = p["certificate_id"]
                .as_str()
                .map(|c| {
                    format!(
                        " (<a href=\"/certificates/{c}\">last deletion</a>)",
                        c = esc(c)
                    )
                })
                .unwrap_or_default();
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{fate}{last}</td><td>{}</td></tr>",
                esc(&part.replace('_', " ")),
                esc(p["source"].as_str().unwrap_or("")),
            ));
        }
        out.push_str(&table(
            "Retention",
            &["Part", "What happens", "Set by"],
            &rows,
        ));
    }
    if writable {
        let destinations = match principal.authorize::<perm::OrgManage>() {
            Ok(scope) => answer(
                routes::destinations::list_destinations(State(app.clone()), Auth(scope)).await,
            )
            .await
            .ok(),
            Err(_) => None,
        };
        let mut options = String::from("<option value=\"\">the default destination</option>");
        for d in destinations
            .as_ref()
            .and_then(|d| d["destinations"].as_array())
            .into_iter()
            .flatten()
        {
            options.push_str(&format!(
                "<option value=\"{}\">{}</option>",
                esc(d["id"].as_str().unwrap_or("")),
                esc(d["name"].as_str().unwrap_or(""))
            ));
        }
        out.push_str(&format!(
            "<form data-api=\"/api/v1/meetings/{id}/deliver\" data-done=\"Queued: the recordings are being sent.\">\
             <p class=\"form-error\" role=\"alert\" hidden></p><p class=\"form-done\" role=\"status\"></p>\
             <label for=\"deliver-to\">Send the recordings to</label>\
             <select id=\"deliver-to\" name=\"destination_id\" data-null>{options}</select>\
             <button type=\"submit\">Send</button></form>\
             <form data-api=\"/api/v1/meetings/{id}/transcribe\" data-next=\"reload\" \
             data-confirm=\"Transcribe the recordings again? The new transcript replaces this one, with its corrections.\">\
             <p class=\"form-error\" role=\"alert\" hidden></p><button type=\"submit\">Transcribe again</button></form>"
        ));
    }
    out.push_str("</section>");
    Ok(out)
}
