//! The bots: `/bots` (send one to a meeting now or at a time; the org's bots, scheduled and
//! past, with their state) and `/bots/{id}` (its state, live from its meeting's event stream,
//! its timeline, who it saw, the chat; make it leave, cancel it while scheduled, or post in the
//! meeting's chat).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use meetvault_core::bots::ListBots;
use meetvault_core::ids::BotId;
use serde::Deserialize;

use super::{PageError, gate, need, percent, shell, when};
use crate::ApiError;
use crate::auth::{Caller, perm};
use crate::routes::parse_id;
use crate::routes::privacy::esc;
use crate::state::AppState;
use crate::wire::bots::{Bot, BotPage};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/bots", get(list))
        .route("/bots/{id}", get(bot))
        .route("/bots/{id}/diagnosis.png", get(diagnosis_png))
}

/// The states in which a bot is past leaving (nothing more to ask of it).
const ENDED: &[&str] = &["leaving", "post_processing", "ended", "fatal_error"];

#[derive(Debug, Deserialize)]
struct ListQuery {
    state: Option<String>,
    cursor: Option<String>,
}

async fn list(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::MeetingsRead>(&app, &principal, &uri).await?;
    let mut body = String::new();
    if principal.authorize::<perm::BotsWrite>().is_ok() {
        body.push_str(
            "<section aria-labelledby=\"send-h\"><h2 id=\"send-h\">Send a bot</h2>\
             <form data-api=\"/api/v1/bots\" data-next=\"/bots/{id}\">\
             <p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"meeting_url\">Meeting link (Google Meet, Microsoft Teams or Zoom)</label>\
             <input id=\"meeting_url\" name=\"meeting_url\" type=\"url\" required placeholder=\"https://meet.google.com/abc-defg-hij\">\
             <label for=\"bot_name\">The bot's name, as participants see it</label>\
             <input id=\"bot_name\" name=\"bot_name\" value=\"meetvault notetaker\" required>\
             <label for=\"join_at\">Join at (leave empty to join now)</label>\
             <input id=\"join_at\" name=\"join_at\" type=\"datetime-local\">\
             <p class=\"note\">It announces itself in the chat as your workspace's consent policy says, \
             and anyone can ask it to stop recording them.</p>\
             <button type=\"submit\">Send</button></form></section>",
        );
    }
    let filter = ListBots {
        state: q.state.clone().filter(|s| !s.is_empty()),
        workspace_id: None,
        cursor: q.cursor.clone(),
        limit: Some(50),
    };
    let page = BotPage::from(app.core.bots().list(&scope, &filter).await?);
    body.push_str("<section aria-labelledby=\"bots-h\"><h2 id=\"bots-h\">Bots</h2>");
    if page.bots.is_empty() {
        body.push_str("<p>No bots yet.</p>");
    } else {
        let mut rows = String::new();
        for b in &page.bots {
            rows.push_str(&format!(
                "<tr><td><a href=\"/bots/{id}\">{id}</a></td><td>{state}{sub}</td><td>{join}</td><td><a href=\"/meetings/{m}\">Its meeting</a></td><td>{created}</td></tr>",
                id = b.id,
                state = esc(b.state),
                sub = b
                    .sub_code
                    .as_deref()
                    .map(|s| format!(" ({})", esc(s)))
                    .unwrap_or_default(),
                join = b.join_at.as_ref().map(when).unwrap_or_else(|| "now".to_owned()),
                m = b.meeting_id,
                created = when(&b.created_at),
            ));
        }
        body.push_str(&super::table(
            "Bots",
            &["Bot", "State", "Joins", "Meeting", "Sent"],
            &rows,
        ));
        if let Some(c) = &page.next_cursor {
            body.push_str(&format!(
                "<p><a href=\"/bots?cursor={}\">Older bots</a></p>",
                percent(c)
            ));
        }
    }
    body.push_str("</section>");
    Ok(shell("/bots", "Bots", &body))
}

async fn bot(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::MeetingsRead>(&app, &principal, &uri).await?;
    let id = parse_id::<BotId>(&id)?;
    let b = Bot::from(app.core.bots().get(&scope, id).await?);
    let s = &b.summary;
    let ended = ENDED.contains(&s.state);
    let mut body = format!(
        "<section aria-labelledby=\"state-h\" data-events=\"/api/v1/meetings/{m}/events\" data-reload-on=\"bot_state\">\
         <h2 id=\"state-h\">State</h2><p class=\"live-state\" role=\"status\"><strong>{state}</strong>{sub}</p>\
         <ul class=\"jobs\" hidden></ul><p class=\"live note\"></p>\
         <dl><dt>Meeting link</dt><dd>{url}</dd><dt>Platform</dt><dd>{platform}</dd><dt>Name</dt><dd>{name}</dd>\
         <dt>Joins</dt><dd>{join}</dd><dt>Meeting</dt><dd><a href=\"/meetings/{m}\">Recording and transcript</a></dd></dl>",
        m = s.meeting_id,
        state = esc(s.state),
        sub = s
            .sub_code
            .as_deref()
            .map(|c| format!(" ({})", esc(c)))
            .unwrap_or_default(),
        url = esc(&b.meeting_url),
        platform = esc(&b.platform),
        name = esc(&b.bot_name),
        join = s
            .join_at
            .as_ref()
            .map(when)
            .unwrap_or_else(|| "at once".to_owned()),
    );
    if !ended && principal.authorize::<perm::BotsWrite>().is_ok() {
        let (label, method, path, confirm) = if s.state == "scheduled" {
            (
                "Cancel",
                "DELETE",
                format!("/api/v1/bots/{id}"),
                "Cancel this bot?",
            )
        } else {
            (
                "Make it leave",
                "POST",
                format!("/api/v1/bots/{id}/leave"),
                "Make the bot leave the meeting now?",
            )
        };
        body.push_str(&format!(
            "<form data-api=\"{path}\" data-method=\"{method}\" data-next=\"reload\" data-confirm=\"{confirm}\">\
             <p class=\"form-error\" role=\"alert\" hidden></p><button type=\"submit\" class=\"danger\">{label}</button></form>\
             <form data-api=\"/api/v1/bots/{id}/chat\" data-done=\"Sent.\">\
             <p class=\"form-error\" role=\"alert\" hidden></p><p class=\"form-done\" role=\"status\"></p>\
             <label for=\"chat\">Post in the meeting's chat</label><input id=\"chat\" name=\"message\" required>\
             <button type=\"submit\">Post</button></form>"
        ));
    }
    body.push_str("</section>");

    let mut timeline = String::new();
    for t in &b.transitions {
        timeline.push_str(&format!(
            "<li><time>{}</time> {} → <strong>{}</strong>{}</li>",
            when(&t.at),
            esc(t.from.unwrap_or("created")),
            esc(t.to),
            t.sub_code
                .as_deref()
                .map(|c| format!(" ({})", esc(c)))
                .unwrap_or_default()
        ));
    }
    body.push_str(&format!(
        "<section aria-labelledby=\"tl-h\"><h2 id=\"tl-h\">Timeline</h2><ol class=\"timeline\">{timeline}</ol></section>"
    ));
    if !b.participants.is_empty() {
        let mut people = String::new();
        for p in &b.participants {
            people.push_str(&format!(
                "<li>{} — joined {}{}{}</li>",
                esc(p.name.as_deref().unwrap_or(&p.participant_id)),
                when(&p.joined_at),
                p.left_at
                    .as_ref()
                    .map(|t| format!(", left {}", when(t)))
                    .unwrap_or_default(),
                if p.opted_out_at.is_some() {
                    ", asked not to be recorded"
                } else {
                    ""
                }
            ));
        }
        body.push_str(&format!(
            "<section aria-labelledby=\"ppl-h\"><h2 id=\"ppl-h\">Participants</h2><ul>{people}</ul></section>"
        ));
    }
    if !b.chat.is_empty() {
        let mut chat = String::new();
        for c in &b.chat {
            chat.push_str(&format!(
                "<li><time>{}</time> <span class=\"speaker\">{}</span> {}</li>",
                when(&c.at),
                esc(&c.sender),
                esc(&c.text)
            ));
        }
        body.push_str(&format!(
            "<section aria-labelledby=\"chat-h\"><h2 id=\"chat-h\">Chat</h2><ul class=\"timeline\">{chat}</ul></section>"
        ));
    }
    match app.core.bots().diagnosis(&scope, id).await {
        Ok(d) => body.push_str(&format!(
            "<section aria-labelledby=\"diag-h\"><h2 id=\"diag-h\">What the bot saw when it gave up</h2>\
             <p>{} (<time>{}</time>): the meeting page did not show what the bot expected. \
             <a href=\"/api/v1/bots/{id}/diagnosis\">The page's DOM and screenshot</a> (JSON) help fix it.</p>{}</section>",
            esc(&d.reason),
            when(&d.at),
            if d.screenshot_png.is_empty() {
                String::new()
            } else {
                format!(
                    "<img class=\"shot\" src=\"/bots/{id}/diagnosis.png\" alt=\"The meeting page as the bot saw it\">"
                )
            },
        )),
        // None stored (the usual case), or sealed under zero-access encryption.
        Err(meetvault_core::CoreError::NotFound(_) | meetvault_core::CoreError::Locked) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(shell("/bots", &format!("Bot {}", b.bot_name), &body))
}

/// The screenshot a bot took when it gave up on a page, as an image for the bot's page.
async fn diagnosis_png(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    use axum::response::IntoResponse;
    use base64::Engine;
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::MeetingsRead>(&app, &principal, &uri).await?;
    let d = app
        .core
        .bots()
        .diagnosis(&scope, parse_id::<BotId>(&id)?)
        .await?;
    let png = base64::engine::general_purpose::STANDARD
        .decode(d.screenshot_png.as_bytes())
        .map_err(ApiError::internal)?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/png"),
            (axum::http::header::CACHE_CONTROL, "private, no-store"),
        ],
        png,
    )
        .into_response())
}
