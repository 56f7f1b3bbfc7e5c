//! Linear's GraphQL API (`POST /graphql`), from developers.linear.app: a personal API key in
//! `Authorization` with no scheme, or `Bearer` and an OAuth access token; errors as
//! `{"errors": [{"message", "extensions": {"type", "code", "userPresentableMessage"}}]}` — 401
//! for a bad key, 400 for an invalid request or a rate limit (`RATELIMITED`), 200 with `data:
//! null` when a resolver refuses (an unknown team or user).
//!
//! The fake reads just enough GraphQL to dispatch by operation (`issueCreate`, `issues(`,
//! `users(`, `viewer`, looked for in the query text, in that order) and takes every value
//! from the variables, as a client that sends user text only as variables must. It knows one
//! team, [`TEAM_ID`] (key `ENG`); users are the fake's users; issues are numbered `ENG-1`, …;
//! `issues` filters by team and `description.contains`, pages by `first`/`after` (at most the
//! fake's page size) with the last node's id as the cursor.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{Fake, FakeState, Shared, TOKEN, answer};

/// The one team the fake knows.
pub(crate) const TEAM_ID: &str = "9cfb482a-81e3-4154-b5b9-2c805e70a02d";
const TEAM_KEY: &str = "ENG";
/// `extra` key: answer the next request as rate limited.
const RATE_LIMIT_NEXT: &str = "linear.rate_limit_next";

pub(crate) fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route("/graphql", post(graphql))
}

impl Fake {
    /// Linear: the next GraphQL request is answered as Linear's rate limit (HTTP 400, a
    /// `RATELIMITED` error, `X-RateLimit-Requests-Reset` 7 seconds from now).
    pub fn linear_rate_limit_next(&self) {
        self.state()
            .extra
            .insert(RATE_LIMIT_NEXT.into(), Value::Bool(true));
    }
}

/// A personal API key as sent (no scheme), or `Bearer` and a live OAuth access token. Linear
/// does not take an API key as a bearer.
fn authorized(st: &FakeState, headers: &HeaderMap) -> bool {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if value == TOKEN {
        return true;
    }
    value
        .strip_prefix("Bearer ")
        .is_some_and(|t| st.access_tokens.iter().any(|a| a == t))
}

fn error(status: u16, message: &str, kind: &str, code: &str, user: &str) -> Response {
    answer(
        status,
        json!({"data": null, "errors": [{"message": message, "extensions": {
            "type": kind, "code": code, "statusCode": status, "userPresentableMessage": user}}]}),
    )
}

fn bad_input(message: &str) -> Response {
    error(
        400,
        message,
        "graphql error",
        "BAD_USER_INPUT",
        "The request was invalid.",
    )
}

fn not_found(what: &str) -> Response {
    error(
        200,
        &format!("Entity not found: {what}"),
        "invalid input",
        "INPUT_ERROR",
        &format!("Could not find referenced {what}."),
    )
}

async fn graphql(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let mut st = s.lock();
    if !authorized(&st, &headers) {
        return error(
            401,
            "Authentication required, not authenticated",
            "authentication error",
            "AUTHENTICATION_ERROR",
            "You need to authenticate to access this operation.",
        );
    }
    if st.extra.remove(RATE_LIMIT_NEXT).is_some() {
        let mut resp = error(
            400,
            "Rate limit exceeded",
            "ratelimited",
            "RATELIMITED",
            "Too many requests, slow down.",
        );
        let reset = chrono::Utc::now().timestamp_millis() + 7000;
        if let Ok(v) = reset.to_string().parse() {
            resp.headers_mut().insert("x-ratelimit-requests-reset", v);
        }
        return resp;
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return bad_input("POST body sent invalid JSON.");
    };
    let Some(query) = req["query"].as_str() else {
        return bad_input("Must provide query string.");
    };
    let vars = &req["variables"];
    if query.contains("issueCreate") {
        create(&mut st, query, vars)
    } else if query.contains("issues(") {
        issues(&st, query, vars)
    } else if query.contains("users(") {
        users(&st, query, vars)
    } else if query.contains("viewer") {
        answer(
            200,
            json!({"data": {"viewer": {"id": "user-bot", "name": "meetvault bot", "email": "bot@acme.example"}}}),
        )
    } else {
        error(
            400,
            "Cannot query field on type \"Query\".",
            "graphql error",
            "GRAPHQL_VALIDATION_FAILED",
            "The request was invalid.",
        )
    }
}

/// A required variable, declared in the query and given; else the GraphQL error's message.
fn var<'a>(query: &str, vars: &'a Value, name: &str, ty: &str) -> Result<&'a Value, String> {
    if !query.contains(&format!("${name}")) {
        return Err(format!("Variable \"${name}\" is not defined."));
    }
    match vars.get(name) {
        Some(v) if !v.is_null() => Ok(v),
        _ => Err(format!(
            "Variable \"${name}\" of required type \"{ty}\" was not provided."
        )),
    }
}

fn create(st: &mut FakeState, query: &str, vars: &Value) -> Response {
    let input = match var(query, vars, "input", "IssueCreateInput!") {
        Ok(v) if v.is_object() => v.clone(),
        Ok(_) => {
            return bad_input(
                "Variable \"$input\" got invalid value; Expected type \"IssueCreateInput\" to be an object.",
            );
        }
        Err(m) => return bad_input(&m),
    };
    let Some(team) = input["teamId"].as_str() else {
        return bad_input(
            "Variable \"$input\" got invalid value; Field \"teamId\" of required type \"String!\" was not provided.",
        );
    };
    if team != TEAM_ID {
        return not_found("Team");
    }
    if input["title"].as_str().is_none_or(|t| t.trim().is_empty()) {
        return error(
            200,
            "Argument Validation Error",
            "invalid input",
            "INPUT_ERROR",
            "title should not be empty",
        );
    }
    if let Some(a) = input.get("assigneeId").filter(|a| !a.is_null()) {
        let known = a
            .as_str()
            .is_some_and(|a| st.users.iter().any(|(_, id)| id == a));
        if !known {
            return not_found("User");
        }
    }
    if let Some(d) = input.get("dueDate").filter(|d| !d.is_null()) {
        let ok = d
            .as_str()
            .is_some_and(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok());
        if !ok {
            return bad_input(
                "Variable \"$input\" got invalid value; Expected type \"TimelessDate\".",
            );
        }
    }
    let n = st.created.len() + 1;
    let num: u64 = st.id().parse().unwrap_or(0);
    let id = format!("{num:08x}-0000-4000-8000-{num:012x}");
    let identifier = format!("{TEAM_KEY}-{n}");
    let issue = json!({
        "id": id,
        "identifier": identifier,
        "url": format!("https://linear.app/acme/issue/{identifier}"),
        "teamId": team,
        "title": input["title"],
        "description": input.get("description").cloned().unwrap_or(Value::Null),
        "assigneeId": input.get("assigneeId").cloned().unwrap_or(Value::Null),
        "dueDate": input.get("dueDate").cloned().unwrap_or(Value::Null),
    });
    st.created.push(issue.clone());
    answer(
        200,
        json!({"data": {"issueCreate": {"success": true, "issue": {
            "id": issue["id"], "identifier": issue["identifier"], "url": issue["url"]}}}}),
    )
}

fn issues(st: &FakeState, query: &str, vars: &Value) -> Response {
    let team = match var(query, vars, "team", "ID!") {
        Ok(v) => v.as_str().unwrap_or_default().to_owned(),
        Err(m) => return bad_input(&m),
    };
    let marker = match var(query, vars, "marker", "String!") {
        Ok(v) => v.as_str().unwrap_or_default().to_owned(),
        Err(m) => return bad_input(&m),
    };
    let first = vars["first"].as_u64().unwrap_or(50);
    if first == 0 || first > 250 {
        return bad_input("first must be between 1 and 250");
    }
    let matching: Vec<&Value> = st
        .created
        .iter()
        .filter(|i| {
            i["teamId"] == team.as_str()
                && i["description"]
                    .as_str()
                    .is_some_and(|d| d.contains(&marker))
        })
        .collect();
    let start = match vars["after"].as_str() {
        None => 0,
        Some(after) => match matching.iter().position(|i| i["id"] == after) {
            Some(p) => p + 1,
            None => return bad_input("Invalid cursor"),
        },
    };
    let limit = usize::try_from(first)
        .unwrap_or(usize::MAX)
        .min(st.page_size);
    let page: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(limit)
        .map(|i| {
            json!({"id": i["id"], "identifier": i["identifier"], "url": i["url"],
                   "description": i["description"]})
        })
        .collect();
    let has_next = start + limit < matching.len();
    let end = page.last().map_or(Value::Null, |i| i["id"].clone());
    answer(
        200,
        json!({"data": {"issues": {"nodes": page,
            "pageInfo": {"hasNextPage": has_next, "endCursor": end}}}}),
    )
}

fn users(st: &FakeState, query: &str, vars: &Value) -> Response {
    let email = match var(query, vars, "email", "String!") {
        Ok(v) => v.as_str().unwrap_or_default().to_owned(),
        Err(m) => return bad_input(&m),
    };
    // `eq` is exact.
    let nodes: Vec<Value> = st
        .users
        .iter()
        .filter(|(e, _)| *e == email)
        .map(|(e, id)| json!({"id": id, "email": e}))
        .collect();
    answer(200, json!({"data": {"users": {"nodes": nodes}}}))
}
