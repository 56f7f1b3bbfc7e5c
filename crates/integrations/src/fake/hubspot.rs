//! HubSpot's CRM v3 (from developers.hubspot.com/docs/api): `GET /account-info/v3/details`,
//! `GET /crm/v3/owners` (`email`, `limit`, `after`), `POST /crm/v3/objects/{notes|tasks}` (with
//! `associations`) and `POST /crm/v3/objects/{contacts|notes|tasks}/search` (`filterGroups` with
//! `EQ`, `IN` and `CONTAINS_TOKEN`, `limit` up to 200, `after`, answered with `total`,
//! `results` and `paging.next.after`). Errors are `{"status": "error", "message", "category",
//! "correlationId"}`: 401 `INVALID_AUTHENTICATION`, 400 `VALIDATION_ERROR`.
//!
//! `CONTAINS_TOKEN` here splits text at every character that is not a letter or a digit (HTML
//! tags and hyphens included) and matches when every token of the value is present (a value
//! token ending in `*` matches as a prefix): a guess at HubSpot's tokenizer, which its
//! documentation does not describe.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::{FakeState, Shared, answer};

/// The portal id the fake reports.
pub const PORTAL_ID: u64 = 62_515;

pub(crate) fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route("/account-info/v3/details", get(details))
        .route("/crm/v3/owners", get(owners))
        .route("/crm/v3/objects/{object}", post(create))
        .route("/crm/v3/objects/{object}/search", post(search))
}

fn error(status: u16, category: &str, message: &str) -> Response {
    answer(
        status,
        json!({"status": "error", "message": message, "category": category,
               "correlationId": "5f0c9a3e-7a66-4d64-9f3b-2f7d1c0e8b11"}),
    )
}

fn unauthorized() -> Response {
    error(
        401,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and \
         you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    )
}

fn invalid(message: &str) -> Response {
    error(400, "VALIDATION_ERROR", message)
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn details(State(s): State<Shared>, headers: HeaderMap) -> Response {
    if !s.lock().bearer_ok(&headers) {
        return unauthorized();
    }
    answer(
        200,
        json!({"portalId": PORTAL_ID, "accountType": "STANDARD", "timeZone": "US/Eastern",
               "companyCurrency": "USD", "additionalCurrencies": [], "utcOffset": "-05:00",
               "utcOffsetMilliseconds": -18_000_000, "uiDomain": "app.hubspot.com",
               "dataHostingLocation": "na1"}),
    )
}

const BAD_AFTER: &str = "after must be a paging cursor from a previous answer";

/// An offset from `after` (HubSpot's cursors are opaque strings; ours are offsets).
fn offset(after: Option<&str>) -> Option<usize> {
    match after {
        None => Some(0),
        Some(a) => a.parse().ok(),
    }
}

fn paging(start: usize, shown: usize, total: usize) -> Option<Value> {
    let next = start + shown;
    (next < total)
        .then(|| json!({"next": {"after": next.to_string(), "link": format!("?after={next}")}}))
}

async fn owners(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let st = s.lock();
    if !st.bearer_ok(&headers) {
        return unauthorized();
    }
    let limit: usize = match q.get("limit").map(|l| l.parse()) {
        None => 100,
        Some(Ok(l)) if (1..=500).contains(&l) => l,
        Some(_) => return invalid("limit must be between 1 and 500"),
    };
    let Some(start) = offset(q.get("after").map(String::as_str)) else {
        return invalid(BAD_AFTER);
    };
    // With `email`, the one owner with that address (compared without case).
    let all: Vec<&(String, String)> = match q.get("email") {
        Some(want) => {
            let id = st.user(want);
            st.users
                .iter()
                .filter(|(_, i)| Some(i) == id.as_ref())
                .collect()
        }
        None => st.users.iter().collect(),
    };
    let size = limit.min(st.page_size);
    let results: Vec<Value> = all
        .iter()
        .skip(start)
        .take(size)
        .enumerate()
        .map(|(i, (email, id))| {
            let first = email.split('@').next().unwrap_or_default();
            json!({"id": id, "email": email, "type": "PERSON", "firstName": first,
                   "lastName": "", "userId": 9000 + start + i, "createdAt": "2024-01-02T03:04:05.000Z",
                   "updatedAt": "2024-01-02T03:04:05.000Z", "archived": false})
        })
        .collect();
    let mut body = json!({ "results": results });
    if let Some(p) = paging(start, size, all.len()) {
        body["paging"] = p;
    }
    answer(200, body)
}

fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `props` passes `filter`; an unknown operator is an error.
fn passes(props: &Value, filter: &Value) -> Result<bool, &'static str> {
    let Some(name) = filter["propertyName"].as_str() else {
        return Err("a filter needs a propertyName");
    };
    let have = props[name].as_str().unwrap_or_default();
    match filter["operator"].as_str() {
        Some("EQ") => {
            let Some(v) = filter["value"].as_str() else {
                return Err("EQ needs a value");
            };
            Ok(have.eq_ignore_ascii_case(v))
        }
        Some("IN") => {
            let Some(values) = filter["values"].as_array() else {
                return Err("IN needs values");
            };
            if values.len() > 100 {
                return Err("IN takes at most 100 values");
            }
            // String values of IN must be lower case (they are compared as given).
            Ok(values
                .iter()
                .any(|v| v.as_str() == Some(&have.to_lowercase())))
        }
        Some("CONTAINS_TOKEN") => {
            let Some(v) = filter["value"].as_str() else {
                return Err("CONTAINS_TOKEN needs a value");
            };
            let have = tokens(have);
            let wanted = tokens(v);
            let prefix = v.ends_with('*');
            Ok(!wanted.is_empty()
                && wanted.iter().enumerate().all(|(i, w)| {
                    if prefix && i + 1 == wanted.len() {
                        have.iter().any(|h| h.starts_with(w.as_str()))
                    } else {
                        have.contains(w)
                    }
                }))
        }
        _ => Err("unsupported filter operator"),
    }
}

/// The searchable objects of a type: id, properties.
fn objects(st: &FakeState, object: &str) -> Option<Vec<(String, Value)>> {
    match object {
        "contacts" => Some(
            st.contacts
                .iter()
                .map(|(e, id)| {
                    (
                        id.clone(),
                        json!({"email": e.to_lowercase(), "hs_object_id": id}),
                    )
                })
                .collect(),
        ),
        "notes" | "tasks" => Some(
            st.created
                .iter()
                .filter(|c| c["object"] == object)
                .map(|c| {
                    (
                        c["id"].as_str().unwrap_or_default().to_owned(),
                        c["properties"].clone(),
                    )
                })
                .collect(),
        ),
        _ => None,
    }
}

async fn search(
    State(s): State<Shared>,
    Path(object): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let st = s.lock();
    if !st.bearer_ok(&headers) {
        return unauthorized();
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return invalid("Invalid input JSON on line 1");
    };
    let limit = match &v["limit"] {
        Value::Null => 10,
        l => match l.as_u64() {
            Some(n) if (1..=200).contains(&n) => n as usize,
            _ => return invalid("limit must be between 1 and 200"),
        },
    };
    let Some(start) = offset(v["after"].as_str()) else {
        return invalid(BAD_AFTER);
    };
    let groups: Vec<Value> = match &v["filterGroups"] {
        Value::Null => Vec::new(),
        Value::Array(g) if g.len() <= 5 => g.clone(),
        _ => return invalid("filterGroups must be a list of at most 5 groups"),
    };
    let Some(all) = objects(&st, &object) else {
        return invalid(&format!("Unable to infer object type from: {object}"));
    };
    let mut matching = Vec::new();
    for (id, props) in all {
        let mut any = groups.is_empty();
        for g in &groups {
            let Some(filters) = g["filters"].as_array().filter(|f| f.len() <= 6) else {
                return invalid("a filter group needs at most 6 filters");
            };
            let mut all_pass = true;
            for f in filters {
                match passes(&props, f) {
                    Ok(p) => all_pass &= p,
                    Err(m) => return invalid(m),
                }
            }
            any |= all_pass;
        }
        if any {
            matching.push((id, props));
        }
    }
    let wanted: Vec<&str> = v["properties"]
        .as_array()
        .map(|p| p.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let size = limit.min(st.page_size);
    let results: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(size)
        .map(|(id, props)| {
            let mut shown = Map::new();
            shown.insert("hs_object_id".into(), json!(id));
            for w in &wanted {
                shown.insert(
                    (*w).to_owned(),
                    props.get(*w).cloned().unwrap_or(Value::Null),
                );
            }
            json!({"id": id, "properties": shown, "createdAt": "2024-01-02T03:04:05.000Z",
                   "updatedAt": "2024-01-02T03:04:05.000Z", "archived": false})
        })
        .collect();
    let mut out = json!({"total": matching.len(), "results": results});
    if let Some(p) = paging(start, size, matching.len()) {
        out["paging"] = p;
    }
    answer(200, out)
}

/// Properties each object takes, and the association type id to a contact.
fn schema(object: &str) -> Option<(&'static [&'static str], u64)> {
    match object {
        "notes" => Some((
            &[
                "hs_timestamp",
                "hs_note_body",
                "hubspot_owner_id",
                "hs_attachment_ids",
            ],
            202,
        )),
        "tasks" => Some((
            &[
                "hs_timestamp",
                "hs_task_subject",
                "hs_task_body",
                "hs_task_status",
                "hs_task_priority",
                "hs_task_type",
                "hubspot_owner_id",
            ],
            204,
        )),
        _ => None,
    }
}

fn valid_timestamp(v: &Value) -> bool {
    match v {
        Value::String(s) => {
            chrono::DateTime::parse_from_rfc3339(s).is_ok() || s.parse::<i64>().is_ok()
        }
        Value::Number(n) => n.is_i64(),
        _ => false,
    }
}

async fn create(
    State(s): State<Shared>,
    Path(object): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut st = s.lock();
    if !st.bearer_ok(&headers) {
        return unauthorized();
    }
    let Some((known, association_type)) = schema(&object) else {
        return invalid(&format!("Unable to infer object type from: {object}"));
    };
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return invalid("Invalid input JSON on line 1");
    };
    let Some(props) = v["properties"].as_object() else {
        return invalid("properties is required");
    };
    if let Some(bad) = props.keys().find(|k| !known.contains(&k.as_str())) {
        return invalid(&format!(
            "Property values were not valid: [{{\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"{bad}\"}}]"
        ));
    }
    if !props.get("hs_timestamp").is_some_and(valid_timestamp) {
        return invalid(
            "Property values were not valid: [{\"error\":\"INVALID_DATE\",\"name\":\"hs_timestamp\"}]",
        );
    }
    if let Some(status) = props.get("hs_task_status")
        && !matches!(
            status.as_str(),
            Some("NOT_STARTED" | "IN_PROGRESS" | "WAITING" | "COMPLETED" | "DEFERRED")
        )
    {
        return invalid(
            "Property values were not valid: [{\"error\":\"INVALID_OPTION\",\"name\":\"hs_task_status\"}]",
        );
    }
    if let Some(t) = props.get("hs_task_type")
        && !matches!(t.as_str(), Some("TODO" | "EMAIL" | "CALL"))
    {
        return invalid(
            "Property values were not valid: [{\"error\":\"INVALID_OPTION\",\"name\":\"hs_task_type\"}]",
        );
    }
    if let Some(owner) = props.get("hubspot_owner_id")
        && !st
            .users
            .iter()
            .any(|(_, id)| Some(id.as_str()) == owner.as_str())
    {
        return invalid(
            "Property values were not valid: [{\"error\":\"INVALID_OWNER_ID\",\"name\":\"hubspot_owner_id\"}]",
        );
    }
    let mut associated = Vec::new();
    for a in v["associations"].as_array().into_iter().flatten() {
        let to = a["to"]["id"].as_str().unwrap_or_default();
        if !st.contacts.iter().any(|(_, id)| id == to) {
            return invalid("One or more associations are invalid: no such contact");
        }
        let types_ok = a["types"].as_array().is_some_and(|ts| {
            !ts.is_empty()
                && ts.iter().all(|t| {
                    t["associationCategory"] == "HUBSPOT_DEFINED"
                        && t["associationTypeId"].as_u64() == Some(association_type)
                })
        });
        if !types_ok {
            return invalid("One or more associations are invalid: association type");
        }
        associated.push(json!(to));
    }
    let id = format!("{}", 10_000 + st.next_id + 1);
    st.next_id += 1;
    let at = now();
    let mut properties = Value::Object(props.clone());
    properties["hs_object_id"] = json!(id);
    properties["hs_createdate"] = json!(at);
    properties["hs_lastmodifieddate"] = json!(at);
    st.created
        .push(json!({"object": object, "id": id, "properties": properties,
                           "associations": associated}));
    answer(
        201,
        json!({"id": id, "properties": properties, "createdAt": at, "updatedAt": at,
               "archived": false}),
    )
}
