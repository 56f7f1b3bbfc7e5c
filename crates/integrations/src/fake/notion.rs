//! Notion's API (version 2022-06-28), from developers.notion.com/reference: `GET /v1/users/me`,
//! `POST /v1/pages`, `GET /v1/pages/{id}`, `GET` and `PATCH /v1/blocks/{id}/children` with
//! `page_size`/`start_cursor` pagination (`has_more`, `next_cursor`: the next block's id).
//! Errors are `{"object":"error","status","code","message"}`: 401 `unauthorized`, 400
//! `missing_version`/`validation_error`/`invalid_json`, 404 `object_not_found`.
//!
//! Pages are kept in `created` as page objects with their blocks under `children` (the fake's
//! own field). Any id shaped like a UUID is a parent page the integration can see; its children
//! are the `child_page` blocks of the pages created under it, oldest first, like Notion.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{FakeState, Shared, answer};

/// The version the fake requires.
const VERSION: &str = "2022-06-28";
const TEXT_MAX: usize = 2000;
const CHILDREN_MAX: usize = 100;
const RICH_TEXT_MAX: usize = 100;
const TYPES: [&str; 6] = [
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "bulleted_list_item",
    "numbered_list_item",
];

pub(crate) fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route("/v1/users/me", get(me))
        .route("/v1/pages", post(create_page))
        .route("/v1/pages/{id}", get(page))
        .route(
            "/v1/blocks/{id}/children",
            get(list_children).patch(append_children),
        )
}

fn error(status: u16, code: &str, message: &str) -> Response {
    answer(
        status,
        json!({"object": "error", "status": status, "code": code, "message": message}),
    )
}

/// Auth first (401 `unauthorized`), then the version header (400 `missing_version`).
fn refused(st: &FakeState, headers: &HeaderMap) -> Option<Response> {
    if !st.bearer_ok(headers) {
        return Some(error(401, "unauthorized", "API token is invalid."));
    }
    match headers.get("notion-version").and_then(|v| v.to_str().ok()) {
        Some(VERSION) => None,
        Some(_) => Some(error(
            400,
            "validation_error",
            "Notion-Version header should be a supported version.",
        )),
        None => Some(error(
            400,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
        )),
    }
}

/// 32 hex digits, with or without the dashes: Notion's ids.
fn uuid_like(id: &str) -> bool {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

fn same_id(a: &str, b: &str) -> bool {
    a.replace('-', "").eq_ignore_ascii_case(&b.replace('-', ""))
}

fn new_id(st: &mut FakeState) -> String {
    let n: u64 = st.id().parse().unwrap_or(0);
    format!("5e1f0000-0000-4000-8000-{n:012x}")
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Checks a rich text array like Notion's validation and adds `plain_text` and `href`.
fn rich_text(v: &Value, at: &str) -> Result<Vec<Value>, String> {
    let Some(items) = v.as_array() else {
        return Err(format!("{at} should be an array, instead was `{v}`."));
    };
    if items.len() > RICH_TEXT_MAX {
        return Err(format!(
            "{at}.length should be ≤ `{RICH_TEXT_MAX}`, instead was `{}`.",
            items.len()
        ));
    }
    let mut out = Vec::new();
    for (i, t) in items.iter().enumerate() {
        let Some(content) = t.pointer("/text/content").and_then(Value::as_str) else {
            return Err(format!("{at}[{i}].text.content should be defined."));
        };
        if utf16_len(content) > TEXT_MAX {
            return Err(format!(
                "{at}[{i}].text.content.length should be ≤ `{TEXT_MAX}`, instead was `{}`.",
                utf16_len(content)
            ));
        }
        let href = match t.pointer("/text/link") {
            None | Some(Value::Null) => Value::Null,
            Some(link) => match link["url"].as_str() {
                Some(u) if u.starts_with("https://") || u.starts_with("http://") => json!(u),
                _ => return Err(format!("{at}[{i}].text.link.url should be a valid URL.")),
            },
        };
        let mut t = t.clone();
        t["plain_text"] = json!(content);
        t["href"] = href;
        out.push(t);
    }
    Ok(out)
}

/// Checks `children` like Notion's validation and gives each block an id.
fn blocks(st: &mut FakeState, v: &Value) -> Result<Vec<Value>, String> {
    let Some(items) = v.as_array() else {
        return Err(format!(
            "body.children should be an array, instead was `{v}`."
        ));
    };
    if items.len() > CHILDREN_MAX {
        return Err(format!(
            "body.children.length should be ≤ `{CHILDREN_MAX}`, instead was `{}`.",
            items.len()
        ));
    }
    let mut out = Vec::new();
    for (i, b) in items.iter().enumerate() {
        let kind = b["type"].as_str().unwrap_or_default();
        if !TYPES.contains(&kind) {
            return Err(format!(
                "body.children[{i}].type should be a supported block type."
            ));
        }
        let rt = rich_text(
            &b[kind]["rich_text"],
            &format!("body.children[{i}].{kind}.rich_text"),
        )?;
        let mut b = b.clone();
        b[kind]["rich_text"] = Value::Array(rt);
        b["object"] = json!("block");
        b["id"] = json!(new_id(st));
        b["has_children"] = json!(false);
        b["archived"] = json!(false);
        out.push(b);
    }
    Ok(out)
}

async fn me(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    answer(
        200,
        json!({"object": "user", "id": "b07b0000-0000-4000-8000-000000000001", "type": "bot",
               "name": "meetvault", "avatar_url": null,
               "bot": {"owner": {"type": "workspace", "workspace": true}, "workspace_name": "Acme"}}),
    )
}

async fn create_page(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let mut st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return error(400, "invalid_json", "Error parsing JSON body.");
    };
    let Some(parent) = v.pointer("/parent/page_id").and_then(Value::as_str) else {
        return error(
            400,
            "validation_error",
            "body failed validation: body.parent.page_id should be defined, instead was `undefined`.",
        );
    };
    if !uuid_like(parent) {
        return error(
            400,
            "validation_error",
            &format!(
                "body failed validation: body.parent.page_id should be a valid uuid, instead was `\"{parent}\"`."
            ),
        );
    }
    let title = match rich_text(
        &v["properties"]["title"]["title"],
        "body.properties.title.title",
    ) {
        Ok(t) => t,
        Err(m) => {
            return error(
                400,
                "validation_error",
                &format!("body failed validation: {m}"),
            );
        }
    };
    let children = match v.get("children") {
        None => Vec::new(),
        Some(c) => match blocks(&mut st, c) {
            Ok(b) => b,
            Err(m) => {
                return error(
                    400,
                    "validation_error",
                    &format!("body failed validation: {m}"),
                );
            }
        },
    };
    let plain: String = title
        .iter()
        .filter_map(|t| t["plain_text"].as_str())
        .collect();
    let id = new_id(&mut st);
    let slug: String = plain
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let url = format!("https://www.notion.so/{slug}-{}", id.replace('-', ""));
    let page = json!({
        "object": "page", "id": id, "url": url, "archived": false,
        "parent": {"type": "page_id", "page_id": parent},
        "properties": {"title": {"id": "title", "type": "title", "title": title}},
        "title_text": plain,
        "children": children,
    });
    st.created.push(page.clone());
    answer(200, public(&page))
}

/// A page as the API shows it (without the fake's own fields).
fn public(page: &Value) -> Value {
    let mut p = page.clone();
    if let Some(o) = p.as_object_mut() {
        o.remove("children");
        o.remove("title_text");
    }
    p
}

async fn page(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    match st
        .created
        .iter()
        .find(|p| same_id(p["id"].as_str().unwrap_or_default(), &id))
    {
        Some(p) => answer(200, public(p)),
        None => not_found(&id),
    }
}

fn not_found(id: &str) -> Response {
    error(
        404,
        "object_not_found",
        &format!(
            "Could not find block with ID: {id}. Make sure the relevant pages and databases are shared with your integration."
        ),
    )
}

async fn list_children(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    if !uuid_like(&id) {
        return error(
            400,
            "validation_error",
            &format!(
                "path failed validation: path.block_id should be a valid uuid, instead was `\"{id}\"`."
            ),
        );
    }
    let asked = match q.get("page_size").map(|p| p.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            return error(
                400,
                "validation_error",
                "query failed validation: query.page_size should be a number between 1 and 100.",
            );
        }
    };
    let all: Vec<Value> = match st
        .created
        .iter()
        .find(|p| same_id(p["id"].as_str().unwrap_or_default(), &id))
    {
        Some(p) => p["children"].as_array().cloned().unwrap_or_default(),
        None => st
            .created
            .iter()
            .filter(|p| same_id(p["parent"]["page_id"].as_str().unwrap_or_default(), &id))
            .map(|p| {
                json!({"object": "block", "id": p["id"], "type": "child_page",
                       "has_children": true, "archived": false,
                       "child_page": {"title": p["title_text"]}})
            })
            .collect(),
    };
    let start = match q.get("start_cursor") {
        None => 0,
        Some(c) => match all
            .iter()
            .position(|b| b["id"].as_str().is_some_and(|i| same_id(i, c)))
        {
            Some(i) => i,
            None => {
                return error(
                    400,
                    "validation_error",
                    "body failed validation: start_cursor should be a valid cursor.",
                );
            }
        },
    };
    let size = asked.min(st.page_size);
    let page: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
    let next = all.get(start + size).map(|b| b["id"].clone());
    answer(
        200,
        json!({"object": "list", "results": page, "has_more": next.is_some(),
               "next_cursor": next, "type": "block", "block": {}}),
    )
}

async fn append_children(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let mut st = s.lock();
    if let Some(r) = refused(&st, &headers) {
        return r;
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return error(400, "invalid_json", "Error parsing JSON body.");
    };
    let Some(at) = st
        .created
        .iter()
        .position(|p| same_id(p["id"].as_str().unwrap_or_default(), &id))
    else {
        return not_found(&id);
    };
    let Some(children) = v.get("children") else {
        return error(
            400,
            "validation_error",
            "body failed validation: body.children should be defined, instead was `undefined`.",
        );
    };
    let new = match blocks(&mut st, children) {
        Ok(b) => b,
        Err(m) => {
            return error(
                400,
                "validation_error",
                &format!("body failed validation: {m}"),
            );
        }
    };
    if let Some(list) = st.created[at]["children"].as_array_mut() {
        list.extend(new.iter().cloned());
    }
    answer(
        200,
        json!({"object": "list", "results": new, "has_more": false, "next_cursor": null,
               "type": "block", "block": {}}),
    )
}
