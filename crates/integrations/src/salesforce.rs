//! Salesforce (REST API v60.0, at the org's instance URL, which is [`Target::base_url`]): an
//! action item becomes a Task owned by the user with the owner's address; a summary becomes a
//! completed Task ("Meeting notes: …") on the first attendee who is a Contact.
//!
//! Authentication: OAuth only (`Authorization: Bearer <access token>`; connected app scopes
//! `api refresh_token`). The connecting user needs "API Enabled", create and edit on Task, read
//! on User and Contact, edit access to the external id field, and "View Setup and
//! Configuration" for the validation call. A refresh may answer another `instance_url`; the
//! server stores it as the target's base URL.
//!
//! Endpoints:
//! - `GET /services/data/v60.0/limits` validates the token (a small read; the account's name is
//!   the instance's host);
//! - `GET /services/data/v60.0/query?q=SELECT Id FROM User WHERE Email = '<email>' AND IsActive
//!   = true LIMIT 1` maps the owner (an inactive user cannot own a task);
//! - `GET /services/data/v60.0/query?q=SELECT Id, Email FROM Contact WHERE Email IN ('a', …)`
//!   matches attendees (50 addresses a query, every page read through `nextRecordsUrl` while
//!   `done` is false; the contact of the earliest attendee in the meeting's order wins);
//! - `PATCH /services/data/v60.0/sobjects/Task/<external id field>/<key>` with `{Subject,
//!   Description, ActivityDate, Status, OwnerId?, WhoId?}`: an upsert on the external id field
//!   (`Meetvault_Id__c` unless the target names another; an admin creates it on Activity as a
//!   Text(64) field marked External ID and Unique).
//!
//! Idempotency: the upsert is idempotent by design. The first call creates the Task (201
//! `{id, success, created: true}`); any later call with the same key finds it by the external
//! id and updates it with the same values (200 `{…, created: false}`, or 204 before API 46.0,
//! after which the id is read by `GET …/Task/<field>/<key>`). So `retry` changes nothing: a
//! lost answer's Task is found by the same request that would have created it. A Task edited
//! in Salesforce in the meantime gets our fields back.
//!
//! Owners: an owner address that is not [`plausible_email`], or that matches no active user,
//! leaves `OwnerId` out, and Salesforce makes the connecting user the owner (a Task always has
//! one). Contacts: only [`plausible_email`] addresses go into SOQL (they contain no quote or
//! backslash, so they cannot leave the string literal); a summary whose attendees match no
//! Contact is refused ([`IntegrationError::Invalid`]). Titles and text travel only as JSON
//! field values; the key and the field name in the path are checked ([`check_key`],
//! [`safe_id`]).
//!
//! Errors come as `[{"message", "errorCode", "fields"?}]`; only the `errorCode` and the field
//! names are kept (the message may quote a value sent). 401 (`INVALID_SESSION_ID`) is
//! [`IntegrationError::Unauthorized`]; 403 `REQUEST_LIMIT_EXCEEDED` and 429 are
//! [`IntegrationError::RateLimited`].
//!
//! Not verified against a live org (written from the REST API reference): whether every org
//! lets an External ID field be created on Activity, and the picklist values: "Not Started" and
//! "Completed" are the defaults of `Task.Status`, which an admin can rename. The summary's
//! `ActivityDate` is the day it is sent (UTC).

use chrono::{NaiveDate, Utc};
use http::Method;
use serde_json::{Value, json};
use url::Url;

use crate::call::{self, endpoint};
use crate::error::IntegrationError;
use crate::item::{Item, Summary, Task, check_key, plain, plausible_email};
use crate::target::{Credential, Target, safe_id};
use crate::{Account, Http, HttpRequest, HttpResponse, SecretString, Sent};

/// The REST API's path and version.
pub const API: &str = "services/data/v60.0";
/// The external id field on Task when the target names none.
pub const DEFAULT_EXTERNAL_ID_FIELD: &str = "Meetvault_Id__c";
/// `Task.Subject`'s length.
const SUBJECT_MAX: usize = 255;
/// Attendee addresses in one SOQL `IN`.
const IN_VALUES: usize = 50;
/// Attendee addresses looked up at most.
const MAX_ATTENDEES: usize = 500;
/// Pages read per query.
const QUERY_PAGES: usize = 20;

/// `GET /services/data/v60.0/limits`.
pub async fn validate(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
) -> Result<Account, IntegrationError> {
    let token = access_token(credential)?;
    let url = endpoint(&target.base_url, &format!("{API}/limits"))?;
    let v = send(http, call::bearer(Method::GET, url, token)).await?;
    if !v.is_object() {
        return Err(IntegrationError::Unavailable(
            "the provider's answer has no limits".into(),
        ));
    }
    Ok(Account {
        name: format!(
            "Salesforce at {}",
            target.base_url.host_str().unwrap_or("the instance")
        ),
    })
}

/// Upserts the item's Task by `key` (see the module documentation; `retry` needs nothing
/// more).
pub async fn deliver(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    item: &Item,
    key: &str,
    retry: bool,
) -> Result<Sent, IntegrationError> {
    // An upsert by the key is its own idempotent retry.
    let _ = retry;
    item.check()?;
    check_key(key)?;
    let token = access_token(credential)?;
    let base = &target.base_url;
    let field = target
        .external_id_field
        .as_deref()
        .unwrap_or(DEFAULT_EXTERNAL_ID_FIELD);
    if !safe_id(field) {
        return Err(IntegrationError::Invalid(
            "external_id_field must be letters, digits, '-', '_' or '.'".into(),
        ));
    }
    let fields = match item {
        Item::Task(t) => {
            let owner = match t.owner_email.as_deref() {
                Some(email) => owner(http, base, token, email).await?,
                None => None,
            };
            task_fields(t, owner.as_deref())
        }
        Item::Summary(s) => {
            let Some(who) = first_contact(http, base, token, &s.attendee_emails).await? else {
                return Err(IntegrationError::Invalid(
                    "none of the attendees is a Salesforce contact".into(),
                ));
            };
            summary_fields(s, &who, Utc::now().date_naive())
        }
    };
    let url = endpoint(base, &format!("{API}/sobjects/Task/{field}/{key}"))?;
    let v = send(
        http,
        call::bearer(Method::PATCH, url.clone(), token).json(&fields),
    )
    .await?;
    let id = if v.is_null() {
        // 204: an update answered without a body (API versions before 46.0).
        let mut url = url;
        url.query_pairs_mut().append_pair("fields", "Id");
        let v = send(http, call::bearer(Method::GET, url, token)).await?;
        record_id(&v, "/Id")?
    } else {
        record_id(&v, "/id")?
    };
    Ok(Sent {
        url: Some(endpoint(base, &id)?.to_string()),
        external_id: id,
    })
}

/// A Task for an action item: open, due on its date, owned by `owner` when mapped.
pub fn task_fields(t: &Task, owner: Option<&str>) -> Value {
    let mut v = json!({
        "Subject": call::bounded(&t.title, SUBJECT_MAX - 1),
        "Description": format!("{}\n\nOpen the moment in meetvault: {}", t.notes.trim(), t.link),
        "Status": "Not Started",
    });
    if let Some(due) = t.due {
        v["ActivityDate"] = json!(due.to_string());
    }
    if let Some(owner) = owner {
        v["OwnerId"] = json!(owner);
    }
    v
}

/// A completed Task for a summary, on contact `who`, dated `today`.
pub fn summary_fields(s: &Summary, who: &str, today: NaiveDate) -> Value {
    json!({
        "Subject": call::bounded(&format!("Meeting notes: {}", s.title), SUBJECT_MAX - 1),
        "Description": format!(
            "{}\n\nOpen the meeting in meetvault: {}",
            plain(&s.markdown).trim(),
            s.link
        ),
        "ActivityDate": today.to_string(),
        "Status": "Completed",
        "WhoId": who,
    })
}

fn access_token(credential: &Credential) -> Result<&SecretString, IntegrationError> {
    match credential {
        Credential::OAuth(t) => Ok(&t.access_token),
        _ => Err(IntegrationError::Invalid(
            "Salesforce connects through OAuth only".into(),
        )),
    }
}

/// `email` as a SOQL string literal: only a [`plausible_email`] is accepted, which has no
/// quote, backslash or space.
fn literal(email: &str) -> Option<String> {
    plausible_email(email).then(|| format!("'{email}'"))
}

/// The id of the active user with address `email`.
async fn owner(
    http: &dyn Http,
    base: &Url,
    token: &SecretString,
    email: &str,
) -> Result<Option<String>, IntegrationError> {
    let Some(email) = literal(email) else {
        return Ok(None);
    };
    let soql = format!("SELECT Id FROM User WHERE Email = {email} AND IsActive = true LIMIT 1");
    let records = query(http, base, token, &soql).await?;
    records.first().map(|r| record_id(r, "/Id")).transpose()
}

/// The id of the contact of the earliest attendee (in `emails`' order) who is one.
async fn first_contact(
    http: &dyn Http,
    base: &Url,
    token: &SecretString,
    emails: &[String],
) -> Result<Option<String>, IntegrationError> {
    let mut wanted: Vec<String> = Vec::new();
    for e in emails.iter().filter(|e| plausible_email(e)) {
        let e = e.to_ascii_lowercase();
        if !wanted.contains(&e) {
            wanted.push(e);
        }
    }
    wanted.truncate(MAX_ATTENDEES);
    for chunk in wanted.chunks(IN_VALUES) {
        let list: Vec<String> = chunk.iter().filter_map(|e| literal(e)).collect();
        let soql = format!(
            "SELECT Id, Email FROM Contact WHERE Email IN ({})",
            list.join(", ")
        );
        let records = query(http, base, token, &soql).await?;
        for email in chunk {
            let found = records.iter().find(|r| {
                r["Email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            });
            if let Some(r) = found {
                return Ok(Some(record_id(r, "/Id")?));
            }
        }
    }
    Ok(None)
}

/// Runs `soql` and returns every record, following `nextRecordsUrl` (at most [`QUERY_PAGES`]
/// pages).
async fn query(
    http: &dyn Http,
    base: &Url,
    token: &SecretString,
    soql: &str,
) -> Result<Vec<Value>, IntegrationError> {
    let mut url = endpoint(base, &format!("{API}/query"))?;
    url.query_pairs_mut().append_pair("q", soql);
    let mut records = Vec::new();
    for _ in 0..QUERY_PAGES {
        let v = send(http, call::bearer(Method::GET, url, token)).await?;
        records.extend(v["records"].as_array().into_iter().flatten().cloned());
        if v["done"] != false {
            break;
        }
        let next = call::str_at(&v, "/nextRecordsUrl")?;
        url = next_page(base, next)?;
    }
    Ok(records)
}

/// A `nextRecordsUrl` (a path on the instance) as a URL, refusing anything but a query
/// locator under this API version.
fn next_page(base: &Url, next: &str) -> Result<Url, IntegrationError> {
    let locator = next
        .strip_prefix(&format!("/{API}/query/"))
        .filter(|l| {
            !l.is_empty()
                && l.len() <= 128
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .ok_or_else(|| {
            IntegrationError::Unavailable("the provider's nextRecordsUrl is not a query".into())
        })?;
    endpoint(base, &format!("{API}/query/{locator}"))
}

/// A record id (Salesforce's are 15 or 18 letters and digits; anything [`safe_id`] is kept, as
/// it only goes into a path).
fn record_id(v: &Value, pointer: &str) -> Result<String, IntegrationError> {
    let id = call::str_at(v, pointer)?;
    if safe_id(id) {
        Ok(id.to_owned())
    } else {
        Err(IntegrationError::Unavailable(format!(
            "the provider's answer has no record id at {pointer}"
        )))
    }
}

/// Sends `req`; a 2xx answer as JSON (`Null` for 204), anything else as [`error_of`] reads it.
async fn send(http: &dyn Http, req: HttpRequest) -> Result<Value, IntegrationError> {
    let resp = http.send(req).await?;
    if resp.status.is_success() {
        return call::json_of(resp);
    }
    Err(error_of(&resp))
}

/// The error a Salesforce answer stands for, named by its `errorCode` and `fields` (the
/// `message` may quote a value sent); the usual reading when the body has no code.
pub fn error_of(resp: &HttpResponse) -> IntegrationError {
    let status = resp.status.as_u16();
    let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let first = v.as_array().and_then(|a| a.first()).unwrap_or(&v);
    let code = first["errorCode"].as_str().map(|c| call::bounded(c, 80));
    if status == 429 || code.as_deref() == Some("REQUEST_LIMIT_EXCEEDED") {
        return IntegrationError::RateLimited {
            retry_after: call::retry_after(&resp.headers),
        };
    }
    let Some(code) = code else {
        return call::status_error(resp);
    };
    let fields: Vec<&str> = first["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|f| safe_id(f))
        .take(5)
        .collect();
    let message = if fields.is_empty() {
        code
    } else {
        format!("{code} ({})", fields.join(", "))
    };
    match status {
        401 => IntegrationError::Unauthorized(message),
        500..=599 => IntegrationError::Unavailable(format!("{status}: {message}")),
        _ => IntegrationError::Rejected { status, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plausible_addresses_become_soql_literals() {
        assert_eq!(
            literal("ana+x@acme.example").as_deref(),
            Some("'ana+x@acme.example'")
        );
        for bad in ["x' OR Email != '", "a\\'@b.c", "a b@c.d", "\"a\"@b.c"] {
            assert_eq!(literal(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_next_page_stays_on_the_instance_and_under_the_api() {
        let base = Url::parse("https://acme.my.salesforce.com/").unwrap();
        assert_eq!(
            next_page(&base, "/services/data/v60.0/query/01gD0000002HU6KIAW-2000")
                .unwrap()
                .as_str(),
            "https://acme.my.salesforce.com/services/data/v60.0/query/01gD0000002HU6KIAW-2000"
        );
        for bad in [
            "//evil.example/services/data/v60.0/query/x",
            "https://evil.example/services/data/v60.0/query/x",
            "/services/data/v60.0/query/../sobjects",
            "/services/data/v60.0/query/a?q=1",
            "/services/data/v60.0/query/..",
        ] {
            assert!(next_page(&base, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_long_title_fits_the_subject() {
        let s = Summary {
            title: "t".repeat(250),
            markdown: "x".into(),
            link: "https://mv.example/m/1".into(),
            attendee_emails: vec![],
        };
        let v = summary_fields(&s, "003000000000001AAA", NaiveDate::MIN);
        assert_eq!(v["Subject"].as_str().unwrap().chars().count(), SUBJECT_MAX);
    }
}
