//! The meetings: `/meetings` (the list, newest first, filtered by dates, or the passages a
//! search finds; a new meeting with its recording — one mixed file or one file per speaker —
//! uploaded with progress) and `/meetings/{id}` (live job progress, an audio player per track
//! and for the mix, the transcript in step with playback, the summary and action items, the
//! exports, and deletion with its certificate).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use meetvault_core::ids::MeetingId;
use meetvault_core::meetings::ListMeetings;
use serde::Deserialize;

use super::{PageError, clock, gate, need, percent, shell, when};
use crate::ApiError;
use crate::auth::{Caller, perm};
use crate::routes::parse_id;
use crate::routes::privacy::esc;
use crate::state::AppState;
use crate::wire::intel::{SearchRequest, Summary};
use crate::wire::jobs::JobState;
use crate::wire::meetings::{Meeting, MeetingPage};
use crate::wire::recordings::RecordingList;
use crate::wire::transcripts::Transcript;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/meetings", get(list))
        .route("/meetings/{id}", get(meeting))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

/// `YYYY-MM-DD` from a date input, as the start of that day (UTC).
fn day(
    field: &'static str,
    v: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                .map_err(|_| ApiError::Invalid {
                    field,
                    message: "must be a date such as 2026-12-05".into(),
                })
        })
        .transpose()
}

async fn list(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::MeetingsRead>(&app, &principal, &uri).await?;
    let from = day("from", q.from.as_deref())?;
    let to = day("to", q.to.as_deref())?.map(|t| t + chrono::Duration::days(1));
    let query = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let mut body = new_meeting_form();
    body.push_str(&format!(
        "<form method=\"get\" action=\"/meetings\" class=\"filters\" role=\"search\" aria-label=\"Meetings\">\
         <div><label for=\"q\">Search what was said</label><input id=\"q\" name=\"q\" type=\"search\" value=\"{}\"></div>\
         <div><label for=\"from\">From</label><input id=\"from\" name=\"from\" type=\"date\" value=\"{}\"></div>\
         <div><label for=\"to\">To</label><input id=\"to\" name=\"to\" type=\"date\" value=\"{}\"></div>\
         <button type=\"submit\">Show</button></form>",
        esc(query.unwrap_or("")),
        esc(q.from.as_deref().unwrap_or("")),
        esc(q.to.as_deref().unwrap_or("")),
    ));
    if let Some(query) = query {
        body.push_str(&search_results(&app, &scope, query, from, to).await?);
    } else {
        let filter = ListMeetings {
            workspace_id: None,
            from,
            to,
            cursor: q.cursor.clone(),
            limit: Some(50),
        };
        let page = MeetingPage::from(app.core.meetings().list(&scope, &filter).await?);
        body.push_str(&meeting_table(&page, &q));
    }
    Ok(shell("/meetings", "Meetings", &body))
}

fn new_meeting_form() -> String {
    "<details class=\"panel\"><summary>New meeting from a recording</summary>\
     <form data-api=\"/api/v1/meetings\" data-upload=\"/api/v1/meetings/{id}/recordings\" data-next=\"/meetings/{id}\">\
     <p class=\"form-error\" role=\"alert\" hidden></p>\
     <label for=\"title\">Title</label><input id=\"title\" name=\"title\" required>\
     <label for=\"mixed\">One recording of everyone</label>\
     <input id=\"mixed\" type=\"file\" accept=\"audio/*,video/webm,.wav,.flac,.mp3,.m4a,.ogg,.opus,.webm\" data-file=\"mixed\">\
     <label for=\"tracks\">Or one file per speaker (each file's name is its speaker)</label>\
     <input id=\"tracks\" type=\"file\" multiple accept=\"audio/*,video/webm,.wav,.flac,.mp3,.m4a,.ogg,.opus,.webm\" data-file=\"speaker\">\
     <div class=\"uploads\" aria-live=\"polite\"></div>\
     <button type=\"submit\">Create and upload</button></form></details>"
        .to_owned()
}

fn meeting_table(page: &MeetingPage, q: &ListQuery) -> String {
    if page.meetings.is_empty() {
        return "<p>No meetings here yet. Create one from a recording above, or send a bot to a \
                meeting.</p>"
            .to_owned();
    }
    let mut rows = String::new();
    for m in &page.meetings {
        let title = match (&m.title, m.locked) {
            (Some(t), _) => esc(t),
            (None, true) => "(locked: its owner's zero-access key is not unlocked)".to_owned(),
            (None, false) => "(untitled)".to_owned(),
        };
        rows.push_str(&format!(
            "<tr><td><a href=\"/meetings/{id}\">{title}</a></td><td>{started}</td><td>{lang}</td><td>{created}</td></tr>",
            id = m.id,
            started = m.started_at.as_ref().map(when).unwrap_or_default(),
            lang = esc(m.language.as_deref().unwrap_or("")),
            created = when(&m.created_at),
        ));
    }
    let more = match &page.next_cursor {
        Some(c) => format!(
            "<p><a href=\"/meetings?cursor={}&amp;from={}&amp;to={}\">Older meetings</a></p>",
            percent(c),
            percent(q.from.as_deref().unwrap_or("")),
            percent(q.to.as_deref().unwrap_or(""))
        ),
        None => String::new(),
    };
    format!(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Table (scrolls sideways)\"><table><caption>Newest first</caption><thead><tr><th scope=\"col\">Title</th>\
         <th scope=\"col\">Started</th><th scope=\"col\">Language</th><th scope=\"col\">Created</th></tr></thead>\
         <tbody>{rows}</tbody></table></div>{more}"
    )
}

async fn search_results(
    app: &AppState,
    scope: &meetvault_core::access::Scope<perm::MeetingsRead>,
    query: &str,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<String, PageError> {
    let request = SearchRequest {
        query: query.to_owned(),
        meeting_id: None,
        workspace_id: None,
        speaker: None,
        from,
        to,
        limit: Some(30),
    };
    let hits = match app.core.intelligence().search(scope, &request.into()).await {
        Ok(hits) => hits,
        // Intelligence off, a bad query: said where the results would be.
        Err(e) => {
            let e = ApiError::from(e);
            if e.status_and_code().0.is_server_error() {
                return Err(PageError::Api(e));
            }
            return Ok(format!(
                "<p class=\"error\" role=\"alert\">{}</p>",
                esc(&e.to_string())
            ));
        }
    };
    if hits.is_empty() {
        return Ok(format!(
            "<p role=\"status\">Nothing found for “{}”.</p>",
            esc(query)
        ));
    }
    let mut out = format!("<h2>Found for “{}”</h2><ol class=\"hits\">", esc(query));
    for h in hits.into_iter().map(crate::wire::intel::SearchHit::from) {
        let at = h
            .start_ms
            .map(|ms| format!("#t={}", ms / 1000))
            .unwrap_or_default();
        out.push_str(&format!(
            "<li><a href=\"/meetings/{}{at}\">{}</a> {}<blockquote>{}</blockquote></li>",
            h.meeting_id,
            esc(&h.meeting_title),
            h.speaker
                .as_deref()
                .map(|s| format!("<span class=\"speaker\">{}</span>", esc(s)))
                .unwrap_or_default(),
            esc(&h.text)
        ));
    }
    out.push_str("</ol>");
    Ok(out)
}

async fn meeting(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::MeetingsRead>(&app, &principal, &uri).await?;
    let id = parse_id::<MeetingId>(&id)?;
    let m = Meeting::from(app.core.meetings().get(&scope, id).await?);
    let recordings = RecordingList::from(app.core.recordings().list(&scope, id).await?);
    let transcript = Transcript::from(app.core.transcripts().get(&scope, id).await?);
    let jobs = app.core.transcription().watch_meeting(&scope, id).await?;
    let summary = match app.core.intelligence().summary(&scope, id).await {
        Ok(s) => Some(Summary::from(s)),
        Err(meetvault_core::CoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };

    let mut body = String::new();
    let mut facts = Vec::new();
    if let Some(t) = &m.started_at {
        facts.push(format!("Started {}", when(t)));
    }
    if let Some(l) = &m.language {
        facts.push(format!("Language {}", esc(l)));
    }
    if !m.participants.is_empty() {
        let names: Vec<String> = m.participants.iter().map(|p| esc(&p.name)).collect();
        facts.push(format!("With {}", names.join(", ")));
    }
    if !facts.is_empty() {
        body.push_str(&format!("<p class=\"meta\">{}</p>", facts.join(" · ")));
    }

    // Live progress: filled from the event stream.
    let mut job_items = String::new();
    for j in &jobs {
        let state = JobState::from(j.state);
        job_items.push_str(&format!(
            "<li data-job=\"{id}\"><span class=\"state\">{state}</span> \
             <progress max=\"100\" value=\"{p}\" aria-label=\"Transcription progress\">{p}%</progress>{err}</li>",
            id = j.id,
            state = state_words(state),
            p = j.progress.clamp(0, 100),
            err = j
                .error
                .as_deref()
                .map(|e| format!(" <span class=\"error\">{}</span>", esc(e)))
                .unwrap_or_default(),
        ));
    }
    body.push_str(&format!(
        "<section aria-labelledby=\"progress-h\" data-events=\"/api/v1/meetings/{id}/events\">\
         <h2 id=\"progress-h\">Transcription</h2><ul class=\"jobs\">{job_items}</ul>\
         <p class=\"live note\" role=\"status\">{}</p></section>",
        if jobs.is_empty() {
            "Nothing is being transcribed."
        } else {
            ""
        },
    ));

    body.push_str(&players(id, &recordings));
    if let Some(s) = &summary {
        body.push_str(&summary_section(s));
    }
    let editable = principal.authorize::<perm::MeetingsWrite>().is_ok();
    body.push_str(&transcript_section(id, &transcript, editable));
    body.push_str(&super::meeting_tools::sections(&app, &principal, &m, summary.as_ref()).await?);
    body.push_str(&exports(id, summary.is_some()));
    body.push_str(&format!(
        "<section aria-labelledby=\"delete-h\" class=\"danger\"><h2 id=\"delete-h\">Delete</h2>\
         <p>Deleting destroys the meeting's keys, so every copy of its recordings and transcript \
         becomes unreadable, then removes them; you get a signed deletion certificate.</p>\
         <form data-api=\"/api/v1/meetings/{id}\" data-method=\"DELETE\" \
         data-confirm=\"Delete this meeting for good? This cannot be undone.\" data-next=\"/certificates/{{id}}\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <button type=\"submit\" class=\"danger\">Delete this meeting</button></form></section>"
    ));
    Ok(shell("/meetings", &m.title, &body))
}

fn state_words(s: JobState) -> &'static str {
    match s {
        JobState::Queued => "Waiting",
        JobState::Running => "Transcribing",
        JobState::Succeeded => "Done",
        JobState::Dead => "Failed",
        JobState::Cancelled => "Cancelled",
    }
}

fn players(id: MeetingId, recordings: &RecordingList) -> String {
    let mut out =
        String::from("<section aria-labelledby=\"rec-h\"><h2 id=\"rec-h\">Recordings</h2>");
    if recordings.recordings.is_empty() {
        out.push_str("<p>No recording yet.</p>");
    }
    for r in &recordings.recordings {
        let label = match &r.speaker {
            Some(s) => format!("{} (their track)", esc(s)),
            None => "Everyone (mixed)".to_owned(),
        };
        let length = r
            .duration_ms
            .map(|d| format!(", {}", clock(d)))
            .unwrap_or_default();
        out.push_str(&format!(
            "<figure><figcaption id=\"cap-{rid}\">{label}{length}</figcaption>\
             <audio controls preload=\"metadata\" data-recording=\"{rid}\" aria-labelledby=\"cap-{rid}\" \
             src=\"/api/v1/meetings/{id}/recordings/{rid}\"></audio></figure>",
            rid = r.id,
        ));
    }
    out.push_str(&format!(
        "<details><summary>Add recordings</summary>\
         <form data-upload=\"/api/v1/meetings/{id}/recordings\" data-next=\"reload\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"more-mixed\">A recording of everyone</label>\
         <input id=\"more-mixed\" type=\"file\" accept=\"audio/*,video/webm\" data-file=\"mixed\">\
         <label for=\"more-tracks\">Or one file per speaker (each file's name is its speaker)</label>\
         <input id=\"more-tracks\" type=\"file\" multiple accept=\"audio/*,video/webm\" data-file=\"speaker\">\
         <div class=\"uploads\" aria-live=\"polite\"></div>\
         <button type=\"submit\">Upload</button></form></details></section>"
    ));
    out
}

fn summary_section(s: &Summary) -> String {
    let mut out = String::from("<section aria-labelledby=\"sum-h\"><h2 id=\"sum-h\">Summary</h2>");
    out.push_str(&format!("<p>{}</p>", esc(&s.overview)));
    for (heading, points) in [("Key points", &s.key_points), ("Decisions", &s.decisions)] {
        if points.is_empty() {
            continue;
        }
        out.push_str(&format!("<h3>{heading}</h3><ul>"));
        for p in points {
            out.push_str(&format!("<li>{}</li>", esc(&p.text)));
        }
        out.push_str("</ul>");
    }
    if !s.action_items.is_empty() {
        out.push_str("<h3>Action items</h3><ul class=\"actions\">");
        for a in &s.action_items {
            let mut who = Vec::new();
            if let Some(o) = &a.owner {
                who.push(format!("owner: {}", esc(o)));
            }
            if let Some(d) = &a.due {
                who.push(format!("due: {}", esc(d)));
            }
            let who = if who.is_empty() {
                String::new()
            } else {
                format!(" <span class=\"note\">({})</span>", who.join(", "))
            };
            out.push_str(&format!("<li>{}{who}</li>", esc(&a.task)));
        }
        out.push_str("</ul>");
    }
    out.push_str(&format!(
        "<p class=\"note\">Made by {} on {}{}.</p></section>",
        esc(&s.generated_by),
        when(&s.generated_at),
        if s.redacted {
            "; personal data was redacted before the model"
        } else {
            ""
        }
    ));
    out
}

/// The transcript; for those who may change the meeting, a speaker's rename and each line's
/// correction (forms sent to the API's `speakers/rename` and `PATCH …/transcript/{segment}`).
fn transcript_section(id: MeetingId, t: &Transcript, editable: bool) -> String {
    let mut out = String::from("<section aria-labelledby=\"tr-h\"><h2 id=\"tr-h\">Transcript</h2>");
    if t.segments.is_empty() {
        out.push_str("<p class=\"empty\">No transcript yet. It appears here as it is made.</p>");
    }
    let mut speakers: Vec<&str> = t.segments.iter().map(|s| s.speaker.as_str()).collect();
    speakers.sort_unstable();
    speakers.dedup();
    if editable && !speakers.is_empty() {
        let options: String = speakers
            .iter()
            .map(|s| format!("<option value=\"{0}\">{0}</option>", esc(s)))
            .collect();
        out.push_str(&format!(
            "<details class=\"panel\"><summary>Rename a speaker</summary>\
             <form data-api=\"/api/v1/meetings/{id}/speakers/rename\" data-next=\"reload\">\
             <p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"rename-from\">Speaker</label><select id=\"rename-from\" name=\"from\">{options}</select>\
             <label for=\"rename-to\">New name</label><input id=\"rename-to\" name=\"to\" required maxlength=\"200\">\
             <button type=\"submit\">Rename everywhere</button></form></details>"
        ));
    }
    out.push_str("<ol class=\"transcript\" data-transcript>");
    for s in &t.segments {
        let edit = editable.then(|| {
            format!(
                "<details class=\"edit\"><summary>Correct<span class=\"visually-hidden\"> the line at {t}</span></summary>\
                 <form data-api=\"/api/v1/meetings/{id}/transcript/{seg}\" data-method=\"PATCH\" data-next=\"reload\">\
                 <p class=\"form-error\" role=\"alert\" hidden></p>\
                 <label for=\"sp-{seg}\">Speaker</label><input id=\"sp-{seg}\" name=\"speaker\" value=\"{speaker}\" required maxlength=\"200\">\
                 <label for=\"tx-{seg}\">Text</label><textarea id=\"tx-{seg}\" name=\"text\" rows=\"3\">{text}</textarea>\
                 <button type=\"submit\">Save</button></form></details>",
                t = clock(s.start_ms),
                seg = s.id,
                speaker = esc(&s.speaker),
                text = esc(&s.text),
            )
        });
        out.push_str(&line(
            s.start_ms,
            s.end_ms,
            s.recording_id.map(|r| r.to_string()),
            &s.speaker,
            &s.text,
            edit.as_deref().unwrap_or(""),
        ));
    }
    out.push_str("</ol></section>");
    out
}

/// One transcript line: its time is a button that plays the recording from there; `extra`
/// (its correction form) follows the text.
pub(crate) fn line(
    start_ms: i64,
    end_ms: i64,
    recording: Option<String>,
    speaker: &str,
    text: &str,
    extra: &str,
) -> String {
    format!(
        "<li data-start=\"{start_ms}\" data-end=\"{end_ms}\"{rec}><button type=\"button\" class=\"seek\" \
         aria-label=\"Play from {t}\">{t}</button> <span class=\"speaker\">{}</span> <span class=\"text\">{}</span>{extra}</li>",
        esc(speaker),
        esc(text),
        t = clock(start_ms),
        rec = recording
            .map(|r| format!(" data-recording=\"{r}\""))
            .unwrap_or_default(),
    )
}

fn exports(id: MeetingId, has_summary: bool) -> String {
    let mut links = String::new();
    for (format, label) in [
        ("json", "JSON"),
        ("srt", "SubRip (SRT)"),
        ("vtt", "WebVTT"),
        ("md", "Markdown"),
        ("txt", "Plain text"),
        ("pdf", "PDF (with the summary)"),
    ] {
        links.push_str(&format!(
            "<li><a href=\"/api/v1/meetings/{id}/transcript?format={format}\" download>{label}</a></li>"
        ));
    }
    if has_summary {
        links.push_str(&format!(
            "<li><a href=\"/api/v1/meetings/{id}/summary?format=md\" download>Summary and transcript (Markdown)</a></li>"
        ));
    }
    format!(
        "<section aria-labelledby=\"ex-h\"><h2 id=\"ex-h\">Export</h2><ul class=\"exports\">{links}</ul></section>"
    )
}
