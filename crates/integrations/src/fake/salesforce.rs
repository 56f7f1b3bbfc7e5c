//! Salesforce's REST API v60.0 (from developer.salesforce.com/docs/atlas.en-us.api_rest):
//! `GET /services/data/v60.0/limits`, `GET …/query?q=` with `nextRecordsUrl` pagination (`GET
//! …/query/<locator>`), and the upsert `PATCH …/sobjects/Task/<external id field>/<value>`
//! (201 `{id, success, errors, created: true}` when it creates, 200 `created: false` when it
//! updates) with `GET` of the same path. Errors are `[{"message", "errorCode", "fields"?}]`:
//! 401 `INVALID_SESSION_ID`, 400 `MALFORMED_QUERY`, `INVALID_FIELD`, `STRING_TOO_LONG`,
//! `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`, `INVALID_CROSS_REFERENCE_KEY`,
//! `JSON_PARSER_ERROR`, 404 `NOT_FOUND`, 403 `REQUEST_LIMIT_EXCEEDED`.
//!
//! The SOQL understood is the small part this crate sends: `SELECT f, … FROM User|Contact
//! [WHERE f = 'x' | f IN ('x', …) | f = true [AND …]] [LIMIT n]`, with `\'` and `\\` escapes in
//! literals; `Email` compares without case, as in Salesforce. Users are all active; the
//! connecting user (the default owner) is [`API_USER`].
//!
//! Kept in `FakeState::extra`: the Task external id fields (`salesforce.external_id_fields`),
//! the pages of open queries (`salesforce.query.<locator>`), whether the daily API limit is
//! spent and whether updates answer 204.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::{Fake, FakeState, Shared, answer};

/// The connecting user's id: a Task's owner when none is given.
pub const API_USER: &str = "005000000000APIAAA";

const FIELDS_KEY: &str = "salesforce.external_id_fields";
const LIMIT_KEY: &str = "salesforce.limit_exceeded";
const NO_CONTENT_KEY: &str = "salesforce.update_204";
const TASK_FIELDS: [&str; 9] = [
    "Subject",
    "Description",
    "ActivityDate",
    "Status",
    "Priority",
    "OwnerId",
    "WhoId",
    "WhatId",
    "TaskSubtype",
];
const STATUSES: [&str; 5] = [
    "Not Started",
    "In Progress",
    "Completed",
    "Waiting on someone else",
    "Deferred",
];

pub(crate) fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route("/services/data/v60.0/limits", get(limits))
        .route("/services/data/v60.0/query", get(query))
        .route("/services/data/v60.0/query/{locator}", get(more))
        .route(
            "/services/data/v60.0/sobjects/Task/{field}/{value}",
            get(read).patch(upsert),
        )
}

impl Fake {
    /// Adds an external id field on Task the org has (`Meetvault_Id__c` is there already).
    pub fn salesforce_external_id_field(&self, name: &str) {
        let mut st = self.state();
        let mut fields = external_id_fields(&st);
        fields.push(name.to_owned());
        st.extra.insert(FIELDS_KEY.into(), json!(fields));
    }

    /// From now on every data call answers 403 `REQUEST_LIMIT_EXCEEDED` (the org's daily API
    /// requests are spent).
    pub fn salesforce_exhaust_api_limit(&self) {
        self.state().extra.insert(LIMIT_KEY.into(), json!(true));
    }

    /// From now on an upsert that updates answers 204 without a body, as API versions before
    /// 46.0 do.
    pub fn salesforce_answer_updates_with_204(&self) {
        self.state()
            .extra
            .insert(NO_CONTENT_KEY.into(), json!(true));
    }
}

fn external_id_fields(st: &FakeState) -> Vec<String> {
    st.extra
        .get(FIELDS_KEY)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_else(|| vec!["Meetvault_Id__c".to_owned()])
}

fn error(status: u16, code: &str, message: &str, fields: &[&str]) -> Response {
    let mut e = json!({"message": message, "errorCode": code});
    if !fields.is_empty() {
        e["fields"] = json!(fields);
    }
    answer(status, json!([e]))
}

/// The session and the org's API limit, checked as Salesforce does before any data call.
fn refused(st: &FakeState, headers: &HeaderMap) -> Option<Response> {
    if !st.bearer_ok(headers) {
        return Some(error(
            401,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
            &[],
        ));
    }
    if st.extra.get(LIMIT_KEY) == Some(&json!(true)) {
        return Some(error(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
            &[],
        ));
    }
    None
}

async fn limits(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    answer(
        200,
        json!({"DailyApiRequests": {"Max": 15000, "Remaining": 14998},
               "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
               "DataStorageMB": {"Max": 5, "Remaining": 5}}),
    )
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Lit(String),
    Sym(char),
}

fn tokenize(q: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if matches!(c, '(' | ')' | ',' | '=') {
            out.push(Tok::Sym(c));
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut lit = String::new();
            loop {
                match chars.next()? {
                    '\\' => lit.push(chars.next()?),
                    '\'' => break,
                    c => lit.push(c),
                }
            }
            out.push(Tok::Lit(lit));
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            let mut w = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_alphanumeric() || c == '_' || c == '.' {
                    w.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Tok::Word(w));
        } else {
            return None;
        }
    }
    Some(out)
}

/// One `WHERE` condition: a field and the values it may equal (case-insensitively).
type Cond = (String, Vec<String>);

struct Soql {
    fields: Vec<String>,
    object: String,
    conds: Vec<Cond>,
    limit: Option<usize>,
}

fn is_kw(t: Option<&Tok>, kw: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
}

fn parse(q: &str) -> Option<Soql> {
    let toks = tokenize(q)?;
    let mut it = toks.iter().peekable();
    if !is_kw(it.next(), "SELECT") {
        return None;
    }
    let mut fields = Vec::new();
    loop {
        let Some(Tok::Word(f)) = it.next() else {
            return None;
        };
        fields.push(f.clone());
        if it.peek() == Some(&&Tok::Sym(',')) {
            it.next();
        } else {
            break;
        }
    }
    if !is_kw(it.next(), "FROM") {
        return None;
    }
    let Some(Tok::Word(object)) = it.next() else {
        return None;
    };
    let mut conds = Vec::new();
    let mut limit = None;
    if is_kw(it.peek().copied(), "WHERE") {
        it.next();
        loop {
            let Some(Tok::Word(field)) = it.next() else {
                return None;
            };
            match it.next()? {
                Tok::Sym('=') => match it.next()? {
                    Tok::Lit(v) => conds.push((field.clone(), vec![v.clone()])),
                    Tok::Word(b) if b == "true" || b == "false" => {
                        conds.push((field.clone(), vec![b.clone()]));
                    }
                    _ => return None,
                },
                Tok::Word(w) if w.eq_ignore_ascii_case("IN") => {
                    if it.next() != Some(&Tok::Sym('(')) {
                        return None;
                    }
                    let mut values = Vec::new();
                    loop {
                        let Some(Tok::Lit(v)) = it.next() else {
                            return None;
                        };
                        values.push(v.clone());
                        match it.next()? {
                            Tok::Sym(',') => {}
                            Tok::Sym(')') => break,
                            _ => return None,
                        }
                    }
                    conds.push((field.clone(), values));
                }
                _ => return None,
            }
            if is_kw(it.peek().copied(), "AND") {
                it.next();
            } else {
                break;
            }
        }
    }
    if is_kw(it.peek().copied(), "LIMIT") {
        it.next();
        let Some(Tok::Word(n)) = it.next() else {
            return None;
        };
        limit = Some(n.parse().ok()?);
    }
    if it.next().is_some() {
        return None;
    }
    Some(Soql {
        fields,
        object: object.clone(),
        conds,
        limit,
    })
}

/// The rows of an object: field → value.
fn rows(st: &FakeState, object: &str) -> Option<Vec<Map<String, Value>>> {
    let list = match object {
        "User" => &st.users,
        "Contact" => &st.contacts,
        _ => return None,
    };
    Some(
        list.iter()
            .map(|(email, id)| {
                let mut m = Map::new();
                m.insert("Id".into(), json!(id));
                m.insert("Email".into(), json!(email));
                if object == "User" {
                    m.insert("IsActive".into(), json!(true));
                }
                m
            })
            .collect(),
    )
}

fn page(st: &mut FakeState, object: &str, all: &[Value], start: usize, id: &str) -> Value {
    let size = st.page_size;
    let records: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
    let done = start + size >= all.len();
    let mut out = json!({"totalSize": all.len(), "done": done, "records": records});
    if !done {
        out["nextRecordsUrl"] = json!(format!("/services/data/v60.0/query/{id}-{}", start + size));
        st.extra.insert(
            format!("salesforce.query.{id}"),
            json!({"object": object, "records": all}),
        );
    }
    out
}

async fn query(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    let Some(text) = q.get("q") else {
        return error(
            400,
            "MALFORMED_QUERY",
            "A query string has to be specified",
            &[],
        );
    };
    let Some(soql) = parse(text) else {
        return error(400, "MALFORMED_QUERY", "unexpected token", &[]);
    };
    let Some(all) = rows(&st, &soql.object) else {
        return error(400, "INVALID_TYPE", "sObject type is not supported.", &[]);
    };
    let known = ["Id", "Email", "IsActive"];
    for f in soql.fields.iter().chain(soql.conds.iter().map(|(f, _)| f)) {
        if !known.contains(&f.as_str()) || (f == "IsActive" && soql.object != "User") {
            return error(400, "INVALID_FIELD", "No such column", &[]);
        }
    }
    let mut matching: Vec<Value> = all
        .into_iter()
        .filter(|row| {
            soql.conds.iter().all(|(f, values)| {
                let have = match &row[f] {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                values.iter().any(|v| v.eq_ignore_ascii_case(&have))
            })
        })
        .map(|row| {
            let mut r = Map::new();
            let id = row["Id"].as_str().unwrap_or_default();
            r.insert(
                "attributes".into(),
                json!({"type": soql.object,
                       "url": format!("/services/data/v60.0/sobjects/{}/{id}", soql.object)}),
            );
            for f in &soql.fields {
                r.insert(f.clone(), row[f].clone());
            }
            Value::Object(r)
        })
        .collect();
    if let Some(n) = soql.limit {
        matching.truncate(n);
    }
    let id = format!("01gFAKE{}", st.id());
    answer(200, page(&mut st, &soql.object, &matching, 0, &id))
}

async fn more(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(locator): Path<String>,
) -> Response {
    let mut st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    let open = locator.rsplit_once('-').and_then(|(id, start)| {
        let start: usize = start.parse().ok()?;
        let q = st.extra.get(&format!("salesforce.query.{id}"))?.clone();
        Some((id.to_owned(), start, q))
    });
    let Some((id, start, q)) = open else {
        return error(400, "INVALID_QUERY_LOCATOR", "invalid query locator", &[]);
    };
    let records = q["records"].as_array().cloned().unwrap_or_default();
    let object = q["object"].as_str().unwrap_or_default().to_owned();
    answer(200, page(&mut st, &object, &records, start, &id))
}

async fn read(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((field, value)): Path<(String, String)>,
) -> Response {
    let st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    if !external_id_fields(&st).contains(&field) {
        return not_a_field(&field);
    }
    match st.created.iter().find(|t| t[&field] == value.as_str()) {
        Some(t) => answer(200, t.clone()),
        None => error(
            404,
            "NOT_FOUND",
            "The requested resource does not exist",
            &[],
        ),
    }
}

fn not_a_field(field: &str) -> Response {
    error(
        404,
        "NOT_FOUND",
        &format!("Provided external ID field does not exist or is not accessible: {field}"),
        &[],
    )
}

/// Checks an upsert body's fields as Salesforce would, naming the first bad one.
fn check_fields(st: &FakeState, body: &Map<String, Value>) -> Option<Response> {
    for (k, v) in body {
        if !TASK_FIELDS.contains(&k.as_str()) {
            return Some(error(
                400,
                "INVALID_FIELD",
                &format!("No such column '{k}' on sobject of type Task"),
                &[k],
            ));
        }
        if !(v.is_string() || v.is_null()) {
            return Some(error(
                400,
                "JSON_PARSER_ERROR",
                &format!("Cannot deserialize instance of {k}"),
                &[],
            ));
        }
    }
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    for (k, max) in [("Subject", 255), ("Description", 32_000)] {
        if text(k).is_some_and(|t| t.chars().count() > max) {
            return Some(error(
                400,
                "STRING_TOO_LONG",
                &format!("{k}: data value too large (max length={max})"),
                &[k],
            ));
        }
    }
    if let Some(d) = text("ActivityDate")
        && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
    {
        return Some(error(
            400,
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of date from VALUE_STRING",
            &[],
        ));
    }
    if let Some(status) = text("Status")
        && !STATUSES.contains(&status)
    {
        return Some(error(
            400,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Status: bad value for restricted picklist field",
            &["Status"],
        ));
    }
    if let Some(owner) = text("OwnerId")
        && owner != API_USER
        && !st.users.iter().any(|(_, id)| id == owner)
    {
        return Some(error(
            400,
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
            &["OwnerId"],
        ));
    }
    if let Some(who) = text("WhoId")
        && !st.contacts.iter().any(|(_, id)| id == who)
    {
        return Some(error(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "Name ID: id value of incorrect type",
            &["WhoId"],
        ));
    }
    None
}

async fn upsert(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((field, value)): Path<(String, String)>,
    body: String,
) -> Response {
    let mut st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    if !external_id_fields(&st).contains(&field) {
        return not_a_field(&field);
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&body) else {
        return error(
            400,
            "JSON_PARSER_ERROR",
            "The request body is not a JSON object",
            &[],
        );
    };
    if fields.contains_key(&field) {
        return error(
            400,
            "INVALID_FIELD",
            "The external ID field cannot be set in the body of an upsert",
            &[&field],
        );
    }
    if let Some(r) = check_fields(&st, &fields) {
        return r;
    }
    let no_content = st.extra.get(NO_CONTENT_KEY) == Some(&json!(true));
    if let Some(t) = st.created.iter_mut().find(|t| t[&field] == value.as_str()) {
        for (k, v) in fields {
            t[k] = v;
        }
        let id = t["Id"].clone();
        if no_content {
            return axum::http::StatusCode::NO_CONTENT.into_response();
        }
        return answer(
            200,
            json!({"id": id, "success": true, "errors": [], "created": false}),
        );
    }
    let n: u64 = st.id().parse().unwrap_or_default();
    let id = format!("00T{n:012}AAA");
    let mut task = json!({
        "attributes": {"type": "Task", "url": format!("/services/data/v60.0/sobjects/Task/{id}")},
        "Id": id, "OwnerId": API_USER, "Status": "Not Started", "Priority": "Normal",
    });
    for (k, v) in fields {
        task[k] = v;
    }
    task[&field] = json!(value);
    st.created.push(task);
    answer(
        201,
        json!({"id": id, "success": true, "errors": [], "created": true}),
    )
}
