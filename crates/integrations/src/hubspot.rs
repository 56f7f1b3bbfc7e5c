//! HubSpot (CRM v3): a summary becomes a note logged on the contacts the attendees match; an
//! action item becomes a task owned by the HubSpot user with the owner's address.
//!
//! Authentication: `Authorization: Bearer` with a private app's access token or an OAuth access
//! token (refreshed by the server, see [`crate::oauth`]). Scopes: `crm.objects.contacts.read`
//! (the contact search), `crm.objects.contacts.write` (notes and tasks are engagements stored
//! under the contacts' permission), `crm.objects.owners.read` (owner mapping).
//!
//! Endpoints:
//! - `GET /account-info/v3/details` validates the token (the portal id is the account's name);
//! - `POST /crm/v3/objects/contacts/search`: `filterGroups: [{filters: [{propertyName: "email",
//!   operator: "IN", values}]}]`, at most 100 addresses a request, paginated by
//!   `paging.next.after`;
//! - `POST /crm/v3/objects/notes` with `properties: {hs_timestamp, hs_note_body}` and
//!   `associations: [{to: {id}, types: [{associationCategory: "HUBSPOT_DEFINED",
//!   associationTypeId: 202}]}]` (202 is note → contact);
//! - `POST /crm/v3/objects/tasks` with `properties: {hs_timestamp, hs_task_subject,
//!   hs_task_body, hs_task_status: "NOT_STARTED", hs_task_type: "TODO", hubspot_owner_id?}`;
//!   the due date is sent as noon UTC that day (`hs_timestamp` is a datetime shown in each
//!   user's time zone; noon keeps the calendar day from UTC−11 to UTC+11), no due date as now;
//! - `GET /crm/v3/owners?email=…` maps the owner: the address must be [`plausible_email`] and
//!   the answer's owner must carry it; no match (or no owner address) leaves the task
//!   unassigned;
//! - `POST /crm/v3/objects/{notes|tasks}/search` with `{propertyName: "hs_note_body" |
//!   "hs_task_body", operator: "CONTAINS_TOKEN", value: key}` for an idempotent retry.
//!
//! Idempotency: the body (HTML, every piece of our text escaped) ends with a paragraph
//! `meetvault: <key>`. A retry first searches for the key as a token (paginated) and keeps only
//! a result whose body carries that exact marker, so a body that merely quotes the key, or a
//! looser tokenization, never counts; only then does it create. Nothing but the checked key and
//! [`plausible_email`] addresses goes into a search filter; titles and text travel only as JSON
//! property values.
//!
//! A summary none of whose attendees is a contact is refused ([`IntegrationError::Invalid`]):
//! a note associated with nothing is shown nowhere in HubSpot.
//!
//! Errors come as `{"status": "error", "message", "category", "correlationId"}`; only the
//! `category` (`INVALID_AUTHENTICATION`, `MISSING_SCOPES`, `VALIDATION_ERROR`…) is kept, as the
//! message may quote property values. 429, or the `RATE_LIMITS` category, is
//! [`IntegrationError::RateLimited`] with `Retry-After` when sent.
//!
//! Not verified against the live service (written from the API reference): how
//! `CONTAINS_TOKEN` tokenizes a hyphenated key (hence the exact-marker check on the results),
//! and how soon a new note or task becomes searchable (HubSpot's search index lags writes by
//! a few seconds, so a retry made immediately after a lost answer could miss the object; the
//! server's retries are spaced by a backoff). HubSpot gives no link to a note or task without
//! the portal's UI domain and a record page, so [`Sent::url`] is `None`.

use chrono::{NaiveDate, SecondsFormat, Utc};
use http::Method;
use serde_json::{Value, json};
use url::Url;

use crate::call::{self, endpoint};
use crate::error::IntegrationError;
use crate::item::{Item, Summary, Task, plausible_email};
use crate::target::{Credential, Target, safe_id};
use crate::{Account, Http, HttpRequest, HttpResponse, SecretString, Sent};

/// The association type of a note to a contact (HubSpot-defined).
pub const NOTE_TO_CONTACT: u32 = 202;
/// What precedes the key in a note's or task's body.
pub const MARKER: &str = "meetvault: ";
/// Results asked for per search page (HubSpot allows up to 200).
const SEARCH_LIMIT: usize = 100;
/// Values in one `IN` filter (HubSpot's limit is 100).
const IN_VALUES: usize = 100;
/// Attendee addresses looked up at most.
const MAX_ATTENDEES: usize = 500;
/// Pages read per search.
const LOOKUP_PAGES: usize = 10;
/// The longest body sent (`hs_note_body` and `hs_task_body` hold 65,536 characters).
const BODY_MAX: usize = 60_000;

/// `GET /account-info/v3/details`: the portal's id.
pub async fn validate(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
) -> Result<Account, IntegrationError> {
    let token = credential.bearer_token()?;
    let url = endpoint(&target.base_url, "account-info/v3/details")?;
    let v = send(http, call::bearer(Method::GET, url, token)).await?;
    let portal = match &v["portalId"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) if safe_id(s) => s.clone(),
        _ => {
            return Err(IntegrationError::Unavailable(
                "the provider's answer has no /portalId".into(),
            ));
        }
    };
    Ok(Account {
        name: format!("HubSpot portal {portal}"),
    })
}

/// Logs a summary as a note on the attendees' contacts, or creates a task (see the module
/// documentation).
pub async fn deliver(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    item: &Item,
    key: &str,
    retry: bool,
) -> Result<Sent, IntegrationError> {
    item.check()?;
    crate::item::check_key(key)?;
    let token = credential.bearer_token()?;
    let base = &target.base_url;
    let (object, property) = match item {
        Item::Summary(_) => ("notes", "hs_note_body"),
        Item::Task(_) => ("tasks", "hs_task_body"),
    };
    if retry && let Some(id) = find(http, base, token, object, property, key).await? {
        return Ok(Sent {
            external_id: id,
            url: None,
        });
    }
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let body = match item {
        Item::Summary(s) => {
            let contacts = contacts(http, base, token, &s.attendee_emails).await?;
            if contacts.is_empty() {
                return Err(IntegrationError::Invalid(
                    "none of the attendees is a HubSpot contact".into(),
                ));
            }
            note(s, &contacts, key, &now)
        }
        Item::Task(t) => {
            let owner = match t.owner_email.as_deref() {
                Some(email) => owner(http, base, token, email).await?,
                None => None,
            };
            task(t, owner.as_deref(), key, &now)
        }
    };
    let url = endpoint(base, &format!("crm/v3/objects/{object}"))?;
    let v = send(http, call::bearer(Method::POST, url, token).json(&body)).await?;
    Ok(Sent {
        external_id: id_of(&v)?,
        url: None,
    })
}

/// The note: `hs_timestamp` and the summary as HTML, associated with each contact.
pub fn note(s: &Summary, contacts: &[String], key: &str, timestamp: &str) -> Value {
    let associations: Vec<Value> = contacts
        .iter()
        .map(|id| {
            json!({"to": {"id": id}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                   "associationTypeId": NOTE_TO_CONTACT}]})
        })
        .collect();
    json!({
        "properties": {"hs_timestamp": timestamp, "hs_note_body": note_body(s, key)},
        "associations": associations,
    })
}

/// The task: subject, body, status, due time and owner when mapped.
pub fn task(t: &Task, owner: Option<&str>, key: &str, now: &str) -> Value {
    let when = t.due.map_or_else(|| now.to_owned(), due_timestamp);
    let mut properties = json!({
        "hs_timestamp": when,
        "hs_task_subject": one_line(&t.title),
        "hs_task_body": task_body(t, key),
        "hs_task_status": "NOT_STARTED",
        "hs_task_type": "TODO",
    });
    if let Some(owner) = owner {
        properties["hubspot_owner_id"] = json!(owner);
    }
    json!({ "properties": properties })
}

/// A title on one line (control characters as spaces), within [`crate::item::MAX_TITLE`].
fn one_line(title: &str) -> String {
    call::bounded(title, crate::item::MAX_TITLE)
}

/// A due date as HubSpot's datetime: noon UTC that day.
pub fn due_timestamp(due: NaiveDate) -> String {
    format!("{due}T12:00:00.000Z")
}

/// The note's HTML: a bold title, the summary, a link back and the key's paragraph.
pub fn note_body(s: &Summary, key: &str) -> String {
    let head = format!(
        "<p><strong>Meeting notes: {}</strong></p>",
        escape(&one_line(&s.title))
    );
    let tail = format!(
        "<p><a href=\"{}\">Open the meeting in meetvault</a></p><p>{MARKER}{key}</p>",
        escape(&s.link)
    );
    let room = BODY_MAX.saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", fitting(&s.markdown, room, html))
}

/// The task's HTML: the notes (line breaks kept), a link back and the key's paragraph.
pub fn task_body(t: &Task, key: &str) -> String {
    let tail = format!(
        "<p><a href=\"{}\">Open the moment in meetvault</a></p><p>{MARKER}{key}</p>",
        escape(&t.link)
    );
    let room = BODY_MAX.saturating_sub(tail.len());
    let notes = fitting(&t.notes, room, |n| {
        if n.trim().is_empty() {
            String::new()
        } else {
            format!("<p>{}</p>", escape(n.trim()).replace('\n', "<br>"))
        }
    });
    format!("{notes}{tail}")
}

/// `render(text)`, with `text` cut in half until the result fits `room` bytes (escaping can
/// grow a 20,000-character text past HubSpot's limit).
fn fitting(text: &str, room: usize, render: impl Fn(&str) -> String) -> String {
    let mut text = text;
    loop {
        let out = render(text);
        if out.len() <= room || text.is_empty() {
            return out;
        }
        let half = text.chars().count() / 2;
        let cut = text.char_indices().nth(half).map_or(0, |(i, _)| i);
        text = &text[..cut];
    }
}

/// Markdown as the simple HTML HubSpot's rich text keeps: headings as bold paragraphs, `- `
/// bullets as a list, `**bold**`; everything else escaped text.
pub fn html(markdown: &str) -> String {
    let mut out = String::new();
    let mut in_list = false;
    for line in markdown.lines() {
        let t = line.trim();
        if let Some(item) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
            if !in_list {
                out.push_str("<ul>");
                in_list = true;
            }
            out.push_str(&format!("<li>{}</li>", inline(item)));
            continue;
        }
        if in_list {
            out.push_str("</ul>");
            in_list = false;
        }
        if t.is_empty() {
            continue;
        }
        if t.starts_with('#') {
            let h = t.trim_start_matches('#').trim();
            out.push_str(&format!("<p><strong>{}</strong></p>", inline(h)));
        } else {
            out.push_str(&format!("<p>{}</p>", inline(t)));
        }
    }
    if in_list {
        out.push_str("</ul>");
    }
    out
}

/// Escaped text with `**bold**` pairs as `<strong>` (an unpaired `**` stays as written).
fn inline(text: &str) -> String {
    let parts: Vec<&str> = text.split("**").collect();
    if parts.len().is_multiple_of(2) {
        return escape(text);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<strong>{}</strong>", escape(p))
            } else {
                escape(p)
            }
        })
        .collect()
}

/// HTML's five special characters, escaped (text and attribute values alike).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether `body` carries `key`'s marker, not as the prefix of a longer key.
pub fn carries(body: &str, key: &str) -> bool {
    let marker = format!("{MARKER}{key}");
    body.match_indices(&marker).any(|(at, _)| {
        body[at + marker.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-'))
    })
}

/// The ids of the contacts whose address is one of `emails` (plausible ones, lower-cased as
/// HubSpot's `IN` operator needs), in the search's order.
async fn contacts(
    http: &dyn Http,
    base: &Url,
    token: &SecretString,
    emails: &[String],
) -> Result<Vec<String>, IntegrationError> {
    let mut wanted: Vec<String> = Vec::new();
    for e in emails.iter().filter(|e| plausible_email(e)) {
        let e = e.to_ascii_lowercase();
        if !wanted.contains(&e) {
            wanted.push(e);
        }
    }
    wanted.truncate(MAX_ATTENDEES);
    let url = endpoint(base, "crm/v3/objects/contacts/search")?;
    let mut ids: Vec<String> = Vec::new();
    for chunk in wanted.chunks(IN_VALUES) {
        let filter = json!({"propertyName": "email", "operator": "IN", "values": chunk});
        let found = search(http, &url, token, filter, "email", false, |_| true).await?;
        for id in found {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// The id of the owner with address `email`, if there is one.
async fn owner(
    http: &dyn Http,
    base: &Url,
    token: &SecretString,
    email: &str,
) -> Result<Option<String>, IntegrationError> {
    if !plausible_email(email) {
        return Ok(None);
    }
    let mut url = endpoint(base, "crm/v3/owners")?;
    url.query_pairs_mut()
        .append_pair("email", email)
        .append_pair("limit", "100");
    let v = send(http, call::bearer(Method::GET, url, token)).await?;
    let found = v["results"].as_array().and_then(|rs| {
        rs.iter().find(|o| {
            o["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
    });
    found.map(id_of).transpose()
}

/// The id of a note or task whose body carries `key`'s marker.
async fn find(
    http: &dyn Http,
    base: &Url,
    token: &SecretString,
    object: &str,
    property: &str,
    key: &str,
) -> Result<Option<String>, IntegrationError> {
    let url = endpoint(base, &format!("crm/v3/objects/{object}/search"))?;
    let filter = json!({"propertyName": property, "operator": "CONTAINS_TOKEN", "value": key});
    let found = search(http, &url, token, filter, property, true, |r| {
        r["properties"][property]
            .as_str()
            .is_some_and(|b| carries(b, key))
    })
    .await?;
    Ok(found.into_iter().next())
}

/// Runs one CRM search with `filter`, reading at most [`LOOKUP_PAGES`] pages, and returns the
/// ids of the results `keep` accepts (with `first_only`, stopping at the page of the first).
async fn search(
    http: &dyn Http,
    url: &Url,
    token: &SecretString,
    filter: Value,
    property: &str,
    first_only: bool,
    keep: impl Fn(&Value) -> bool,
) -> Result<Vec<String>, IntegrationError> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..LOOKUP_PAGES {
        let mut body = json!({
            "filterGroups": [{"filters": [filter.clone()]}],
            "properties": [property],
            "limit": SEARCH_LIMIT,
        });
        if let Some(a) = &after {
            body["after"] = json!(a);
        }
        let v = send(
            http,
            call::bearer(Method::POST, url.clone(), token).json(&body),
        )
        .await?;
        for r in v["results"].as_array().into_iter().flatten() {
            if keep(r) {
                ids.push(id_of(r)?);
            }
        }
        if first_only && !ids.is_empty() {
            break;
        }
        after = match &v["paging"]["next"]["after"] {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        if after.is_none() {
            break;
        }
    }
    Ok(ids)
}

/// An object's `id` (HubSpot sends ids as strings; a number is accepted too).
fn id_of(v: &Value) -> Result<String, IntegrationError> {
    match &v["id"] {
        Value::String(s) if safe_id(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(IntegrationError::Unavailable(
            "the provider's answer has no /id".into(),
        )),
    }
}

/// Sends `req`; a 2xx answer as JSON, anything else as [`error_of`] reads it.
async fn send(http: &dyn Http, req: HttpRequest) -> Result<Value, IntegrationError> {
    let resp = http.send(req).await?;
    if resp.status.is_success() {
        return call::json_of(resp);
    }
    Err(error_of(&resp))
}

/// The error a HubSpot answer stands for, named by its `category` (its `message` may quote
/// what was sent); the usual reading when the body has no category.
pub fn error_of(resp: &HttpResponse) -> IntegrationError {
    let status = resp.status.as_u16();
    let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let category = v["category"].as_str().map(|c| call::bounded(c, 80));
    if status == 429 || category.as_deref() == Some("RATE_LIMITS") {
        return IntegrationError::RateLimited {
            retry_after: call::retry_after(&resp.headers),
        };
    }
    let Some(category) = category else {
        return call::status_error(resp);
    };
    match status {
        401 => IntegrationError::Unauthorized(category),
        500..=599 => IntegrationError::Unavailable(format!("{status}: {category}")),
        _ => IntegrationError::Rejected {
            status,
            message: category,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_escaped_html() {
        assert_eq!(
            html("## Next <b>\n- **Ana**: send & \"go\"\n- b\n\nplain 'x' **open"),
            "<p><strong>Next &lt;b&gt;</strong></p><ul><li><strong>Ana</strong>: send &amp; \
             &quot;go&quot;</li><li>b</li></ul><p>plain &#39;x&#39; **open</p>"
        );
    }

    #[test]
    fn the_marker_must_be_the_whole_key() {
        let body = "<p>x</p><p>meetvault: mv-0123456789abcdef</p>";
        assert!(carries(body, "mv-0123456789abcdef"));
        assert!(!carries(body, "mv-0123456789abcde"));
        assert!(!carries(
            "<p>see mv-0123456789abcdef</p>",
            "mv-0123456789abcdef"
        ));
    }

    #[test]
    fn a_huge_escaped_summary_is_cut_to_fit() {
        let s = Summary {
            title: "T".into(),
            markdown: "<".repeat(20_000),
            link: "https://mv.example/m/1".into(),
            attendee_emails: vec![],
        };
        let body = note_body(&s, "mv-0123456789abcdef");
        assert!(body.len() <= BODY_MAX);
        assert!(carries(&body, "mv-0123456789abcdef"));
    }
}
