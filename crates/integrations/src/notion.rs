//! Notion: a summary as a new page under a parent page the integration can see.
//!
//! Endpoints (API version `Notion-Version: 2022-06-28`, `Authorization: Bearer <token>` for an
//! internal integration token and an OAuth access token alike, JSON):
//! - `GET /v1/users/me`: validation; the bot user and its `bot.workspace_name`.
//! - `POST /v1/pages`: the page, with `parent.page_id` (the target's destination), the title
//!   property and its first 100 `children` blocks (Notion's limit per request).
//! - `PATCH /v1/blocks/{page_id}/children`: the rest of the blocks, 100 at a time.
//! - `GET /v1/blocks/{id}/children?page_size=100&start_cursor=…` (`has_more`/`next_cursor`):
//!   the retry's lookup; `GET /v1/pages/{id}` for the found page's URL.
//!
//! Permissions: the integration's capabilities "Read content" and "Insert content", and the
//! parent page shared with it ("Add connections"; an OAuth grant picks pages at consent).
//! Without access Notion answers 404 `object_not_found`, a [`IntegrationError::Rejected`].
//!
//! The Markdown becomes blocks: `#`/`##`/`###` headings as `heading_1`/`heading_2`/`heading_3`,
//! `- `/`* `/`+ ` as `bulleted_list_item`, `1. ` as `numbered_list_item`, any other non-empty
//! line a `paragraph`; `**bold**` is annotated; a text object holds at most 2000 characters
//! (counted as UTF-16 units, as Notion's JavaScript does), so longer lines are split. Then a
//! paragraph linking back to the meeting, and last a gray paragraph `meetvault: <key>`.
//!
//! Idempotency: Notion has no idempotency header or searchable property on a plain page, so the
//! key is the page's last block. A retry lists the parent's children (up to
//! [`LOOKUP_PAGES`] pages of 100, oldest first), and for each `child_page` whose title is ours,
//! newest first, reads its blocks to find that paragraph. Because the key is written last, a
//! page carrying it is complete; a page whose later `PATCH` failed does not carry it, so a retry
//! creates a complete one and the partial page stays (its owner can delete it).
//!
//! Summaries only (no owners to match: Notion pages have no assignee); a task is
//! [`IntegrationError::Invalid`]. Errors are Notion's `{"object":"error","status",
//! "code","message"}`: 401 `unauthorized` → [`IntegrationError::Unauthorized`], 429
//! `rate_limited` (with `Retry-After`) → [`IntegrationError::RateLimited`], 409
//! `conflict_error` (Notion says to retry) → [`IntegrationError::Unavailable`], 400
//! `validation_error` and other 4xx → [`IntegrationError::Rejected`], with Notion's message
//! bounded.
//!
//! Not verified against the live service (no network here): the exact error texts, that a
//! partial `annotations` object (`{"color": "gray"}`) is accepted in a request (the reference's
//! examples suggest it is), and how Notion normalizes a title (control characters are sent as
//! spaces, so the lookup compares the same text it sent).

use http::Method;
use http::header::HeaderName;
use serde_json::{Value, json};

use crate::call::{self, endpoint};
use crate::error::IntegrationError;
use crate::item::{self, Item, MAX_TITLE, Summary};
use crate::target::{Credential, Target, safe_id};
use crate::{Account, Http, HttpRequest, Sent};

/// The API version this module speaks.
pub const VERSION: &str = "2022-06-28";
/// The most characters in one rich text object.
pub const TEXT_MAX: usize = 2000;
/// The most blocks in one request's `children`.
pub const CHILDREN_MAX: usize = 100;
/// The most rich text objects in one block.
pub const RICH_TEXT_MAX: usize = 100;
/// How the key paragraph begins.
pub const KEY_PREFIX: &str = "meetvault: ";
/// The text of the link back to the meeting.
pub const LINK_TEXT: &str = "Open the meeting in meetvault";
/// How many pages of the parent's children a retry reads (100 children each).
pub const LOOKUP_PAGES: usize = 100;
/// How many pages of one candidate page's blocks a retry reads.
const PAGE_READ_PAGES: usize = 100;

/// `GET /v1/users/me`: the bot and its workspace.
pub async fn validate(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
) -> Result<Account, IntegrationError> {
    let req = request(
        Method::GET,
        endpoint(&target.base_url, "v1/users/me")?,
        credential,
    )?;
    let v = api(http, req).await?;
    let bot = v["name"].as_str().unwrap_or("integration");
    let name = match v.pointer("/bot/workspace_name").and_then(Value::as_str) {
        Some(ws) => format!("{bot} in {ws}"),
        None => bot.to_owned(),
    };
    Ok(Account {
        name: call::bounded(&name, 120),
    })
}

/// Creates the summary's page under the target's parent page (tasks are not taken).
pub async fn deliver(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    item: &Item,
    key: &str,
    retry: bool,
) -> Result<Sent, IntegrationError> {
    let Item::Summary(summary) = item else {
        return Err(IntegrationError::Invalid(
            "Notion takes summaries only".into(),
        ));
    };
    item.check()?;
    item::check_key(key)?;
    credential.bearer_token()?;
    let parent = target.destination()?;
    let title = page_title(summary);
    if retry && let Some(sent) = find(http, target, credential, parent, &title, key).await? {
        return Ok(sent);
    }
    let mut first = blocks(summary);
    first.push(key_block(key));
    let rest = first.split_off(first.len().min(CHILDREN_MAX));
    let body = json!({
        "parent": {"page_id": parent},
        "properties": {"title": {"title": rich_text(&title, false)}},
        "children": first,
    });
    let req = request(
        Method::POST,
        endpoint(&target.base_url, "v1/pages")?,
        credential,
    )?
    .json(&body);
    let page = api(http, req).await?;
    let id = page_id(&page)?;
    for chunk in rest.chunks(CHILDREN_MAX) {
        let req = request(
            Method::PATCH,
            endpoint(&target.base_url, &format!("v1/blocks/{id}/children"))?,
            credential,
        )?
        .json(&json!({"children": chunk}));
        api(http, req).await?;
    }
    Ok(Sent {
        external_id: id,
        url: page["url"].as_str().map(str::to_owned),
    })
}

/// The title as sent: control characters as spaces, at most [`MAX_TITLE`] characters.
pub fn page_title(s: &Summary) -> String {
    call::bounded(s.title.trim(), MAX_TITLE)
}

/// The page's blocks from the Markdown, and the paragraph linking back (not the key block).
pub fn blocks(s: &Summary) -> Vec<Value> {
    let mut out = Vec::new();
    for line in s.markdown.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let (kind, text) = line_kind(t);
        out.push(block(kind, rich_text(text, true)));
    }
    out.push(block(
        "paragraph",
        vec![json!({"type": "text", "text": {"content": LINK_TEXT, "link": {"url": s.link}}})],
    ));
    out
}

/// The last block: our key, small and gray.
pub fn key_block(key: &str) -> Value {
    block(
        "paragraph",
        vec![json!({
            "type": "text",
            "text": {"content": format!("{KEY_PREFIX}{key}")},
            "annotations": {"color": "gray"},
        })],
    )
}

fn block(kind: &str, rich_text: Vec<Value>) -> Value {
    json!({"object": "block", "type": kind, kind: {"rich_text": rich_text}})
}

/// A trimmed line's block type and its text without the Markdown marker.
fn line_kind(t: &str) -> (&'static str, &str) {
    let hashes = t.bytes().take_while(|b| *b == b'#').count();
    if (1..=6).contains(&hashes) {
        let rest = &t[hashes..];
        if rest.is_empty() || rest.starts_with(' ') {
            let kind = match hashes {
                1 => "heading_1",
                2 => "heading_2",
                _ => "heading_3",
            };
            return (kind, rest.trim());
        }
    }
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(bullet) {
            return ("bulleted_list_item", rest.trim());
        }
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits)
        && let Some(rest) = t[digits..].strip_prefix(". ")
    {
        return ("numbered_list_item", rest.trim());
    }
    ("paragraph", t)
}

/// Rich text for `text`: `**bold**` annotated when `markdown` and the markers pair up, and no
/// text object longer than [`TEXT_MAX`].
pub fn rich_text(text: &str, markdown: bool) -> Vec<Value> {
    let parts: Vec<&str> = text.split("**").collect();
    let mut out = Vec::new();
    if markdown && parts.len() % 2 == 1 {
        for (i, part) in parts.iter().enumerate() {
            for piece in split_text(part) {
                out.push(text_object(&piece, i % 2 == 1));
            }
        }
    }
    if out.len() > RICH_TEXT_MAX || !(markdown && parts.len() % 2 == 1) {
        let plain = if markdown {
            text.replace("**", "")
        } else {
            text.to_owned()
        };
        out = split_text(&plain)
            .iter()
            .map(|p| text_object(p, false))
            .collect();
    }
    out
}

fn text_object(content: &str, bold: bool) -> Value {
    let mut v = json!({"type": "text", "text": {"content": content}});
    if bold {
        v["annotations"] = json!({"bold": true});
    }
    v
}

/// `text` in pieces of at most [`TEXT_MAX`] UTF-16 units, never splitting a character.
pub fn split_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut piece = String::new();
    let mut units = 0;
    for c in text.chars() {
        if units + c.len_utf16() > TEXT_MAX {
            out.push(std::mem::take(&mut piece));
            units = 0;
        }
        units += c.len_utf16();
        piece.push(c);
    }
    if !piece.is_empty() {
        out.push(piece);
    }
    out
}

/// A request with the bearer token and `Notion-Version`.
fn request(
    method: Method,
    url: url::Url,
    credential: &Credential,
) -> Result<HttpRequest, IntegrationError> {
    let token = credential.bearer_token()?;
    Ok(call::bearer(method, url, token).header(HeaderName::from_static("notion-version"), VERSION))
}

/// Sends a request; 409 `conflict_error` is worth a retry (Notion says so), the rest as usual.
async fn api(http: &dyn Http, req: HttpRequest) -> Result<Value, IntegrationError> {
    let resp = http.send(req).await?;
    if resp.status.as_u16() == 409 {
        return Err(IntegrationError::Unavailable(format!(
            "409: {}",
            call::message_of(&resp.body)
        )));
    }
    call::json_of(resp)
}

/// The page id of an answer, checked before it goes into a path.
fn page_id(page: &Value) -> Result<String, IntegrationError> {
    let id = call::str_at(page, "/id")?;
    if !safe_id(id) {
        return Err(IntegrationError::Unavailable(
            "the provider's answer has an unusable page id".into(),
        ));
    }
    Ok(id.to_owned())
}

/// One page of a block's children.
async fn children(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    block: &str,
    cursor: Option<&str>,
) -> Result<Value, IntegrationError> {
    let mut url = endpoint(&target.base_url, &format!("v1/blocks/{block}/children"))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("page_size", "100");
        if let Some(c) = cursor {
            q.append_pair("start_cursor", c);
        }
    }
    api(http, request(Method::GET, url, credential)?).await
}

fn next_cursor(list: &Value) -> Option<String> {
    if list["has_more"] != true {
        return None;
    }
    list["next_cursor"]
        .as_str()
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
}

/// The page under `parent` titled `title` whose blocks carry `key`, if any.
async fn find(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    parent: &str,
    title: &str,
    key: &str,
) -> Result<Option<Sent>, IntegrationError> {
    let mut candidates = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..LOOKUP_PAGES {
        let list = children(http, target, credential, parent, cursor.as_deref()).await?;
        for b in list["results"].as_array().into_iter().flatten() {
            if b["type"] == "child_page"
                && b["child_page"]["title"] == title
                && let Some(id) = b["id"].as_str()
                && safe_id(id)
            {
                candidates.push(id.to_owned());
            }
        }
        cursor = next_cursor(&list);
        if cursor.is_none() {
            break;
        }
    }
    // Newest first: a retry follows its first attempt closely.
    for id in candidates.iter().rev() {
        if carries_key(http, target, credential, id, key).await? {
            let req = request(
                Method::GET,
                endpoint(&target.base_url, &format!("v1/pages/{id}"))?,
                credential,
            )?;
            let page = api(http, req).await?;
            return Ok(Some(Sent {
                external_id: id.clone(),
                url: page["url"].as_str().map(str::to_owned),
            }));
        }
    }
    Ok(None)
}

/// Whether page `id` has our key paragraph (its last block, so every page of blocks is read).
async fn carries_key(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    id: &str,
    key: &str,
) -> Result<bool, IntegrationError> {
    let wanted = format!("{KEY_PREFIX}{key}");
    let mut cursor: Option<String> = None;
    for _ in 0..PAGE_READ_PAGES {
        let list = children(http, target, credential, id, cursor.as_deref()).await?;
        let found = list["results"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|b| b["type"] == "paragraph" && plain_text(&b["paragraph"]) == wanted);
        if found {
            return Ok(true);
        }
        cursor = next_cursor(&list);
        if cursor.is_none() {
            break;
        }
    }
    Ok(false)
}

/// A block's text: its rich text's `plain_text` (or `text.content`) joined.
fn plain_text(content: &Value) -> String {
    content["rich_text"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            t["plain_text"]
                .as_str()
                .or_else(|| t.pointer("/text/content").and_then(Value::as_str))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_lines_become_blocks() {
        assert_eq!(line_kind("## Next"), ("heading_2", "Next"));
        assert_eq!(line_kind("# Top"), ("heading_1", "Top"));
        assert_eq!(line_kind("#### Deep"), ("heading_3", "Deep"));
        assert_eq!(line_kind("#hashtag"), ("paragraph", "#hashtag"));
        assert_eq!(line_kind("- a"), ("bulleted_list_item", "a"));
        assert_eq!(line_kind("* a"), ("bulleted_list_item", "a"));
        assert_eq!(line_kind("12. a"), ("numbered_list_item", "a"));
        assert_eq!(line_kind("2026 was"), ("paragraph", "2026 was"));
    }

    #[test]
    fn bold_is_annotated_only_when_the_markers_pair_up() {
        let rt = rich_text("**Ana**: send", true);
        assert_eq!(rt.len(), 2);
        assert_eq!(rt[0]["annotations"]["bold"], true);
        assert_eq!(rt[1]["text"]["content"], ": send");
        let rt = rich_text("a ** b", true);
        assert_eq!(rt.len(), 1);
        assert_eq!(rt[0]["text"]["content"], "a  b");
        let rt = rich_text("**x**", false);
        assert_eq!(rt[0]["text"]["content"], "**x**");
    }

    #[test]
    fn long_text_is_split_at_2000_utf16_units_between_characters() {
        let text = format!("{}{}", "a".repeat(1999), "😀".repeat(3));
        let pieces = split_text(&text);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0], "a".repeat(1999));
        assert_eq!(pieces[1], "😀".repeat(3));
        let many = "**b** ".repeat(150);
        assert!(rich_text(&many, true).len() <= RICH_TEXT_MAX);
    }
}
