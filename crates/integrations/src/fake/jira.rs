//! Jira's REST API from developer.atlassian.com: Cloud v3 (`/rest/api/3/`: `myself`, `issue`,
//! `user/search?query=`, `search/jql` with `nextPageToken`/`isLast`) and Data Center v2
//! (`/rest/api/2/`: `myself`, `issue`, `user/search?username=`, `search` with
//! `startAt`/`total`). Errors are `{"errorMessages": [...], "errors": {field: message}}`.
//!
//! Authentication: Cloud takes Basic `JIRA_EMAIL:TOKEN` or `Bearer` and a live OAuth access
//! token (not the API token as a bearer); Data Center takes `Bearer TOKEN` (a personal
//! access token), Basic, or an OAuth token. Anything else is a 401.
//!
//! Projects: `OPS`, and `ENG`, whose create screen has no due date (setting `duedate` there is
//! a 400, as Jira answers for a field not on the screen). Issue types: Task, Bug, Story, Epic.
//! Cloud's `description` must be an Atlassian Document (a `doc` of paragraphs of non-empty
//! text nodes, hard breaks, link marks); Data Center's a string. Users are the fake's users:
//! on Cloud `{accountId, emailAddress, accountType, active}` (an address may be hidden, see
//! [`Fake::jira_hide_email`]), on Data Center `{name, key, emailAddress, active}`; the user
//! search matches address prefixes, as Jira does. The JQL the fake understands is
//! `project = "X" AND labels = "y"` with an optional `ORDER BY created ASC|DESC`; labels are
//! compared without regard to case. Every list answer is at most the fake's page size.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::{Fake, FakeState, JIRA_EMAIL, Shared, TOKEN, answer};

/// Projects: key, and whether `duedate` is on the create screen.
const PROJECTS: [(&str, bool); 2] = [("OPS", true), ("ENG", false)];
const ISSUE_TYPES: [&str; 4] = ["Task", "Bug", "Story", "Epic"];
/// `extra` key: the addresses Cloud users hide.
const HIDDEN: &str = "jira.hidden_emails";

pub(crate) fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route("/rest/api/{v}/myself", get(myself))
        .route("/rest/api/{v}/issue", post(create_issue))
        .route("/rest/api/{v}/user/search", get(user_search))
        .route("/rest/api/3/search/jql", post(search_jql))
        .route("/rest/api/2/search", get(search_v2))
}

impl Fake {
    /// Jira Cloud: the user with `email` hides their address (a profile visibility setting):
    /// the user search answers them without `emailAddress`, and only to the full address.
    pub fn jira_hide_email(&self, email: &str) {
        let mut st = self.state();
        let hidden = st
            .extra
            .entry(HIDDEN.into())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = hidden {
            list.push(Value::String(email.to_ascii_lowercase()));
        }
    }
}

/// Which API a path's version is: `Some(true)` for Cloud's v3, `Some(false)` for v2.
fn cloud(v: &str) -> Option<bool> {
    match v {
        "3" => Some(true),
        "2" => Some(false),
        _ => None,
    }
}

fn authorized(st: &FakeState, headers: &HeaderMap, cloud: bool) -> bool {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{JIRA_EMAIL}:{TOKEN}"));
    if value.strip_prefix("Basic ") == Some(basic.as_str()) {
        return true;
    }
    let Some(token) = value.strip_prefix("Bearer ") else {
        return false;
    };
    st.access_tokens.iter().any(|t| t == token) || (!cloud && token == TOKEN)
}

fn unauthorized() -> Response {
    answer(
        401,
        json!({"errorMessages": ["You are not authenticated. Authentication required to perform this operation."], "errors": {}}),
    )
}

fn not_found() -> Response {
    answer(404, json!({"errorMessages": ["Not found"], "errors": {}}))
}

fn bad_message(message: &str) -> Response {
    answer(400, json!({"errorMessages": [message], "errors": {}}))
}

/// Checks the API version and the credential; the answer to give when they fail.
fn gate(st: &FakeState, v: &str, headers: &HeaderMap) -> Result<bool, Box<Response>> {
    let Some(cloud) = cloud(v) else {
        return Err(Box::new(not_found()));
    };
    if !authorized(st, headers, cloud) {
        return Err(Box::new(unauthorized()));
    }
    Ok(cloud)
}

async fn myself(State(s): State<Shared>, Path(v): Path<String>, headers: HeaderMap) -> Response {
    let st = s.lock();
    let cloud = match gate(&st, &v, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    if cloud {
        answer(
            200,
            json!({"self": format!("{}rest/api/3/user?accountId=5b10ac8d82e05b22cc7d4ef5", st.base),
                   "accountId": "5b10ac8d82e05b22cc7d4ef5", "accountType": "atlassian",
                   "emailAddress": JIRA_EMAIL, "displayName": "meetvault bot", "active": true,
                   "timeZone": "Europe/Paris"}),
        )
    } else {
        answer(
            200,
            json!({"self": format!("{}rest/api/2/user?username=meetvault", st.base),
                   "name": "meetvault", "key": "JIRAUSER10000", "emailAddress": JIRA_EMAIL,
                   "displayName": "meetvault bot", "active": true}),
        )
    }
}

fn hidden(st: &FakeState, email: &str) -> bool {
    st.extra
        .get(HIDDEN)
        .and_then(Value::as_array)
        .is_some_and(|l| {
            l.iter()
                .any(|e| e.as_str() == Some(&email.to_ascii_lowercase()))
        })
}

fn user_json(st: &FakeState, email: &str, id: &str, cloud: bool) -> Value {
    let display = email.split('@').next().unwrap_or(email);
    if cloud {
        let mut u = json!({"accountId": id, "accountType": "atlassian", "displayName": display,
                           "active": true});
        if !hidden(st, email) {
            u["emailAddress"] = json!(email);
        }
        u
    } else {
        let digits: String = id.chars().filter(char::is_ascii_digit).collect();
        json!({"name": id, "key": format!("JIRAUSER{digits}"), "displayName": display,
               "emailAddress": email, "active": true})
    }
}

fn number(q: &HashMap<String, String>, name: &str, default: usize) -> Result<usize, String> {
    match q.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("The '{name}' parameter is not a number.")),
    }
}

async fn user_search(
    State(s): State<Shared>,
    Path(v): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let st = s.lock();
    let cloud = match gate(&st, &v, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let param = if cloud { "query" } else { "username" };
    let Some(needle) = q.get(param).filter(|n| !n.is_empty()) else {
        return bad_message(&format!("The '{param}' query parameter is required."));
    };
    let (start, max) = match (number(&q, "startAt", 0), number(&q, "maxResults", 50)) {
        (Ok(s), Ok(m)) => (s, m),
        (Err(m), _) | (_, Err(m)) => return bad_message(&m),
    };
    let needle = needle.to_ascii_lowercase();
    // A full address finds its user even when the address is hidden.
    let exact = st.user(&needle);
    let found: Vec<Value> = st
        .users
        .iter()
        .filter(|(email, id)| {
            if cloud && hidden(&st, email) {
                exact.as_deref() == Some(id.as_str())
            } else {
                email.to_ascii_lowercase().starts_with(&needle)
            }
        })
        .skip(start)
        .take(max.min(st.page_size))
        .map(|(email, id)| user_json(&st, email, id, cloud))
        .collect();
    answer(200, Value::Array(found))
}

/// Cloud's description: an Atlassian Document of paragraphs.
fn adf_ok(d: &Value) -> bool {
    let inline_ok = |n: &Value| match n["type"].as_str() {
        Some("text") => {
            n["text"].as_str().is_some_and(|t| !t.is_empty())
                && n.get("marks").is_none_or(|m| {
                    m.as_array().is_some_and(|ms| {
                        ms.iter().all(|m| match m["type"].as_str() {
                            Some("link") => m["attrs"]["href"].is_string(),
                            Some("strong" | "em" | "code") => true,
                            _ => false,
                        })
                    })
                })
        }
        Some("hardBreak") => true,
        _ => false,
    };
    d["type"] == "doc"
        && d["version"] == 1
        && d["content"].as_array().is_some_and(|blocks| {
            blocks.iter().all(|b| {
                b["type"] == "paragraph"
                    && b["content"]
                        .as_array()
                        .is_some_and(|c| c.iter().all(inline_ok))
            })
        })
}

async fn create_issue(
    State(s): State<Shared>,
    Path(v): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut st = s.lock();
    let cloud = match gate(&st, &v, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return bad_message("Unexpected character: the request body is not JSON.");
    };
    let Some(fields) = req["fields"].as_object() else {
        return bad_message("Can not create an issue without 'fields'.");
    };
    let mut errors = Map::new();
    let mut err = |field: &str, message: String| {
        errors.insert(field.into(), Value::String(message));
    };
    let project = PROJECTS
        .iter()
        .find(|(k, _)| fields["project"]["key"].as_str() == Some(*k));
    if project.is_none() {
        err("project", "valid project is required".into());
    }
    if !fields["issuetype"]["name"]
        .as_str()
        .is_some_and(|n| ISSUE_TYPES.contains(&n))
    {
        err("issuetype", "Specify a valid issue type".into());
    }
    match fields.get("summary").and_then(Value::as_str) {
        None | Some("") => err("summary", "You must specify a summary of the issue.".into()),
        Some(s) if s.contains(['\n', '\r']) => err(
            "summary",
            "The summary is invalid because it contains newline characters.".into(),
        ),
        Some(s) if s.chars().count() > 255 => {
            err(
                "summary",
                "Summary must be less than 255 characters.".into(),
            );
        }
        Some(_) => {}
    }
    if let Some(d) = fields.get("description").filter(|d| !d.is_null()) {
        if cloud && !adf_ok(d) {
            err(
                "description",
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                    .into(),
            );
        } else if !cloud && !d.is_string() {
            err("description", "Operation value must be a string".into());
        }
    }
    if let Some(labels) = fields.get("labels") {
        let bad = labels.as_array().map_or(Some(String::new()), |ls| {
            ls.iter()
                .find(|l| {
                    l.as_str().is_none_or(|l| {
                        l.is_empty() || l.len() > 255 || l.contains(char::is_whitespace)
                    })
                })
                .map(|l| l.as_str().unwrap_or("").to_owned())
        });
        if let Some(l) = bad {
            err(
                "labels",
                format!("The label '{l}' contains spaces which is invalid."),
            );
        }
    }
    if let Some(a) = fields.get("assignee").filter(|a| !a.is_null()) {
        let id = if cloud { &a["accountId"] } else { &a["name"] };
        let known = id
            .as_str()
            .is_some_and(|id| st.users.iter().any(|(_, u)| u == id));
        if !known {
            err(
                "assignee",
                if cloud {
                    "Specified user does not exist or you do not have required permissions".into()
                } else {
                    format!("User '{}' does not exist.", id.as_str().unwrap_or(""))
                },
            );
        }
    }
    if let Some(d) = fields.get("duedate").filter(|d| !d.is_null()) {
        if project.is_some_and(|(_, due)| !due) {
            err(
                "duedate",
                "Field 'duedate' cannot be set. It is not on the appropriate screen, or unknown."
                    .into(),
            );
        } else if d
            .as_str()
            .is_none_or(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err())
        {
            err("duedate", format!("Error parsing date string: {d}"));
        }
    }
    const KNOWN: [&str; 8] = [
        "project",
        "issuetype",
        "summary",
        "description",
        "labels",
        "assignee",
        "duedate",
        "priority",
    ];
    for k in fields.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
        err(
            k,
            format!("Field '{k}' cannot be set. It is not on the appropriate screen, or unknown."),
        );
    }
    if !errors.is_empty() {
        return answer(400, json!({"errorMessages": [], "errors": errors}));
    }
    let Some((project, _)) = project else {
        return bad_message("valid project is required");
    };
    let n = st
        .created
        .iter()
        .filter(|i| i["project"] == *project)
        .count()
        + 1;
    let id = (10_000 + st.id().parse::<u64>().unwrap_or(0)).to_string();
    let key = format!("{project}-{n}");
    let self_url = format!("{}rest/api/{v}/issue/{id}", st.base);
    st.created.push(
        json!({"id": id, "key": key, "self": self_url, "project": project,
                           "api": v, "fields": fields}),
    );
    answer(201, json!({"id": id, "key": key, "self": self_url}))
}

/// `project = "X" AND labels = "y"` with an optional `ORDER BY created ASC|DESC`: the project,
/// the label, and whether the order is descending.
fn parse_jql(jql: &str) -> Result<(String, String, bool), String> {
    let (filter, order) = match jql.split_once(" ORDER BY ") {
        Some((f, o)) => (f, Some(o.trim())),
        None => (jql, None),
    };
    let descending = match order {
        None | Some("created ASC" | "created") => false,
        Some("created DESC") => true,
        Some(o) => return Err(format!("the fake cannot order by '{o}'")),
    };
    let (mut project, mut label) = (None, None);
    for clause in filter.split(" AND ") {
        let Some((field, value)) = clause.split_once('=') else {
            return Err(format!("Expecting an operator in '{clause}'."));
        };
        let value = value.trim();
        let Some(inner) = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.contains('"'))
        else {
            return Err(format!("The value '{value}' is not a quoted string."));
        };
        match field.trim() {
            "project" => project = Some(inner.to_owned()),
            "labels" => label = Some(inner.to_owned()),
            other => {
                return Err(format!(
                    "Field '{other}' does not exist or you do not have permission to view it."
                ));
            }
        }
    }
    match (project, label) {
        (Some(p), Some(l)) => Ok((p, l, descending)),
        (None, _) => Err("Unbounded JQL queries are not allowed here.".into()),
        (_, None) => Err("the fake answers only project and labels".into()),
    }
}

/// The issues a JQL matches, in its order.
fn matching(st: &FakeState, jql: &str) -> Result<Vec<Value>, String> {
    let (project, label, descending) =
        parse_jql(jql).map_err(|e| format!("Error in the JQL Query: {e}"))?;
    let mut found: Vec<Value> = st
        .created
        .iter()
        .filter(|i| {
            i["project"]
                .as_str()
                .is_some_and(|p| p.eq_ignore_ascii_case(&project))
                && i["fields"]["labels"].as_array().is_some_and(|ls| {
                    ls.iter()
                        .any(|l| l.as_str().is_some_and(|l| l.eq_ignore_ascii_case(&label)))
                })
        })
        .cloned()
        .collect();
    if descending {
        found.reverse();
    }
    Ok(found)
}

/// An issue as a search returns it: id, key, self and the requested fields.
fn listed(issue: &Value, fields: &[String]) -> Value {
    let mut out = Map::new();
    for f in fields {
        if let Some(v) = issue["fields"].get(f) {
            out.insert(f.clone(), v.clone());
        }
    }
    json!({"id": issue["id"], "key": issue["key"], "self": issue["self"], "fields": out})
}

async fn search_jql(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let st = s.lock();
    if let Err(r) = gate(&st, "3", &headers) {
        return *r;
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return bad_message("The request body is not JSON.");
    };
    let Some(jql) = req["jql"].as_str() else {
        return bad_message("jql: must not be blank");
    };
    let found = match matching(&st, jql) {
        Ok(f) => f,
        Err(m) => return bad_message(&m),
    };
    let start = match req["nextPageToken"].as_str() {
        None => 0,
        Some(t) => match t.strip_prefix("page-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => return bad_message("The nextPageToken is invalid."),
        },
    };
    let max = req["maxResults"]
        .as_u64()
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(50);
    let limit = max.min(st.page_size).max(1);
    let fields: Vec<String> = req["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let page: Vec<Value> = found
        .iter()
        .skip(start)
        .take(limit)
        .map(|i| listed(i, &fields))
        .collect();
    let last = start + limit >= found.len();
    let mut out = json!({"issues": page, "isLast": last});
    if !last {
        out["nextPageToken"] = json!(format!("page-{}", start + limit));
    }
    answer(200, out)
}

async fn search_v2(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let st = s.lock();
    if let Err(r) = gate(&st, "2", &headers) {
        return *r;
    }
    let Some(jql) = q.get("jql") else {
        return bad_message("The 'jql' parameter is required.");
    };
    let found = match matching(&st, jql) {
        Ok(f) => f,
        Err(m) => return bad_message(&m),
    };
    let (start, max) = match (number(&q, "startAt", 0), number(&q, "maxResults", 50)) {
        (Ok(s), Ok(m)) => (s, m),
        (Err(m), _) | (_, Err(m)) => return bad_message(&m),
    };
    let limit = max.min(st.page_size);
    let fields: Vec<String> = q
        .get("fields")
        .map(|f| f.split(',').map(|f| f.trim().to_owned()).collect())
        .unwrap_or_default();
    let page: Vec<Value> = found
        .iter()
        .skip(start)
        .take(limit)
        .map(|i| listed(i, &fields))
        .collect();
    answer(
        200,
        json!({"startAt": start, "maxResults": limit, "total": found.len(), "issues": page}),
    )
}
