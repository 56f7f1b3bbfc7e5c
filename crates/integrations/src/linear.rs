//! Linear: an action item as an issue in a team, through Linear's GraphQL API
//! (`POST <base>/graphql`, base `https://api.linear.app/`). A summary is
//! [`IntegrationError::Invalid`]: Linear takes tasks only.
//!
//! **Authentication.** A personal API key is sent as `Authorization: <key>`, with no scheme
//! ([`call::raw_authorization`]); an OAuth access token as `Authorization: Bearer <token>`.
//! OAuth scopes: `read,write`, or `read,issues:create` (the `read` scope is what lets the
//! owner lookup and the retry's search see users and issues).
//!
//! **Requests.** Every user value travels as a GraphQL *variable*; the query texts are the
//! constants below and never carry a title, a note, an email or the key:
//! - validate: [`VIEWER`] (`viewer { id name email }`);
//! - owner: [`USER_BY_EMAIL`] (`users(filter: {email: {eq: $email}})`, the address lowercased
//!   and checked with [`plausible_email`]); no match, or a lookup the grant may not make
//!   (a GraphQL refusal), leaves the issue unassigned;
//! - create: [`CREATE_ISSUE`] (`issueCreate(input: $input)` with `teamId` = the target's
//!   destination, `title`, `description` in Markdown, `assigneeId?`, `dueDate?` as
//!   `YYYY-MM-DD`), returning `success issue { id identifier url }`. [`Sent::external_id`] is
//!   the issue's identifier (`ENG-12`).
//!
//! **Idempotency.** The description ends with the line `meetvault: <key>` ([`description`]).
//! A retry first runs [`FIND_ISSUE`] (`issues(filter: {team: {id: {eq: $team}}, description:
//! {contains: $marker}}, first, after)`), following `pageInfo { hasNextPage endCursor }` for
//! up to [`LOOKUP_PAGES`] pages. `contains` also matches a longer key that starts with ours,
//! so each answer's description is checked: its last non-empty line must be the marker.
//!
//! **Errors.** Linear answers GraphQL errors as `{"errors": [{"message", "extensions":
//! {"type", "code", "userPresentableMessage"}}]}`, with HTTP 200 (a resolver refused: an
//! unknown team), 400 (an invalid request; a rate limit) or 401 (a bad key). `RATELIMITED`
//! (or HTTP 429) is [`IntegrationError::RateLimited`], waiting for `Retry-After` or, failing
//! that, `X-RateLimit-Requests-Reset` (epoch milliseconds); an authentication error is
//! [`IntegrationError::Unauthorized`]; other errors are [`IntegrationError::Rejected`] with
//! the message bounded, and a message quoting a refused variable's value is replaced so no
//! content reaches an error.
//!
//! **Not verified** (no access to the real service here): the exact HTTP status Linear uses for
//! a bad key and for rate limits (both 400 and 401/429 are handled), the reset header's unit,
//! whether `contains` on `description` compares the stored Markdown verbatim (the marker line
//! is plain text so it should survive), and whether Linear stores emails lowercased.

use std::time::Duration;

use http::{HeaderMap, Method};
use serde_json::{Value, json};

use crate::call::{self, endpoint};
use crate::error::IntegrationError;
use crate::item::{Item, MAX_TITLE, Task, plausible_email};
use crate::target::{Credential, Target};
use crate::{Account, Http, HttpRequest, Sent};

/// What precedes the key on the description's last line.
pub const MARKER_PREFIX: &str = "meetvault: ";
/// How many pages of search results a retry reads looking for the issue.
pub const LOOKUP_PAGES: usize = 10;
/// The page size asked for (Linear's default is 50, its maximum 250).
const PAGE: u32 = 50;

/// Validation: who the key or token belongs to.
pub const VIEWER: &str = "query Viewer { viewer { id name email } }";
/// The owner's user id by address.
pub const USER_BY_EMAIL: &str = "query UserByEmail($email: String!) { users(filter: {email: {eq: $email}}, first: 1) { nodes { id } } }";
/// A retry's search for the issue carrying the marker.
pub const FIND_ISSUE: &str = "query FindIssue($team: ID!, $marker: String!, $first: Int!, $after: String) { issues(filter: {team: {id: {eq: $team}}, description: {contains: $marker}}, first: $first, after: $after) { nodes { id identifier url description } pageInfo { hasNextPage endCursor } } }";
/// The issue's creation.
pub const CREATE_ISSUE: &str = "mutation IssueCreate($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { id identifier url } } }";

/// `viewer`: the name of the key's or token's user.
pub async fn validate(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
) -> Result<Account, IntegrationError> {
    let data = graphql(http, target, credential, VIEWER, json!({})).await?;
    let viewer = &data["viewer"];
    let name = viewer["name"]
        .as_str()
        .or_else(|| viewer["email"].as_str())
        .unwrap_or("Linear user");
    Ok(Account {
        name: call::bounded(name, 80),
    })
}

/// Creates an issue for a task in the target's team (see the module documentation).
pub async fn deliver(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    item: &Item,
    key: &str,
    retry: bool,
) -> Result<Sent, IntegrationError> {
    let Item::Task(task) = item else {
        return Err(IntegrationError::Invalid(
            "Linear takes action items only".into(),
        ));
    };
    item.check()?;
    let team = target.destination()?;
    let marker = format!("{MARKER_PREFIX}{key}");
    if retry && let Some(sent) = find(http, target, credential, team, &marker).await? {
        return Ok(sent);
    }
    let mut input = json!({
        "teamId": team,
        "title": call::bounded(&task.title, MAX_TITLE),
        "description": description(task, key),
    });
    if let Some(id) = owner(http, target, credential, task.owner_email.as_deref()).await? {
        input["assigneeId"] = json!(id);
    }
    if let Some(due) = task.due {
        input["dueDate"] = json!(due.format("%Y-%m-%d").to_string());
    }
    let data = graphql(
        http,
        target,
        credential,
        CREATE_ISSUE,
        json!({ "input": input }),
    )
    .await?;
    let created = &data["issueCreate"];
    if created["success"] != true {
        return Err(IntegrationError::Rejected {
            status: 200,
            message: "Linear did not create the issue".into(),
        });
    }
    sent(&created["issue"])
}

/// The issue's Markdown description: the notes, a link back to the moment in the meeting, and
/// last the line `meetvault: <key>` a retry searches for.
pub fn description(task: &Task, key: &str) -> String {
    let mut text = String::new();
    let notes = task.notes.trim();
    if !notes.is_empty() {
        text.push_str(notes);
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "[Open the moment in meetvault]({})\n\n{MARKER_PREFIX}{key}",
        markdown_url(&task.link)
    ));
    text
}

/// A link target that cannot end the Markdown link early.
fn markdown_url(link: &str) -> String {
    let mut out = String::with_capacity(link.len());
    for c in link.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Whether a description's last non-empty line is exactly `marker`.
pub fn carries(description: &str, marker: &str) -> bool {
    description
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .is_some_and(|l| l == marker)
}

fn sent(issue: &Value) -> Result<Sent, IntegrationError> {
    Ok(Sent {
        external_id: call::str_at(issue, "/identifier")?.to_owned(),
        url: issue["url"].as_str().map(str::to_owned),
    })
}

/// The issue in `team` whose description ends with `marker`, following the search's pages.
async fn find(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    team: &str,
    marker: &str,
) -> Result<Option<Sent>, IntegrationError> {
    let mut after: Option<String> = None;
    for _ in 0..LOOKUP_PAGES {
        let variables = json!({"team": team, "marker": marker, "first": PAGE, "after": after});
        let data = graphql(http, target, credential, FIND_ISSUE, variables).await?;
        let issues = &data["issues"];
        for node in issues["nodes"].as_array().into_iter().flatten() {
            if carries(node["description"].as_str().unwrap_or(""), marker) {
                return sent(node).map(Some);
            }
        }
        if issues["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = issues["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        if after.is_none() {
            break;
        }
    }
    Ok(None)
}

/// The Linear user with the owner's address; `None` when there is none, or when the grant may
/// not list users (the issue is then created unassigned).
async fn owner(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    email: Option<&str>,
) -> Result<Option<String>, IntegrationError> {
    let Some(email) = email.filter(|e| plausible_email(e)) else {
        return Ok(None);
    };
    let variables = json!({"email": email.to_ascii_lowercase()});
    match graphql(http, target, credential, USER_BY_EMAIL, variables).await {
        Ok(data) => Ok(data["users"]["nodes"]
            .as_array()
            .and_then(|n| n.first())
            .and_then(|u| u["id"].as_str())
            .map(str::to_owned)),
        Err(IntegrationError::Rejected { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One GraphQL request: the `data` of the answer, or its first error as an
/// [`IntegrationError`].
pub async fn graphql(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    query: &str,
    variables: Value,
) -> Result<Value, IntegrationError> {
    let url = endpoint(&target.base_url, "graphql")?;
    let req = match credential {
        Credential::Token(key) => call::raw_authorization(Method::POST, url, key),
        Credential::OAuth(tokens) => call::bearer(Method::POST, url, &tokens.access_token),
        Credential::Basic { .. } | Credential::WebhookUrl(_) => {
            return Err(IntegrationError::Invalid(
                "Linear takes a personal API key or an OAuth grant".into(),
            ));
        }
    };
    let req: HttpRequest = req.json(&json!({"query": query, "variables": variables}));
    let resp = http.send(req).await?;
    let status = resp.status.as_u16();
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    if let Some(first) = body["errors"].as_array().and_then(|a| a.first()) {
        return Err(graphql_error(status, &resp.headers, first));
    }
    if !resp.status.is_success() {
        return Err(call::status_error(&resp));
    }
    match body.get("data") {
        Some(data) if data.is_object() => Ok(data.clone()),
        _ => Err(IntegrationError::Unavailable(
            "Linear answered without data".into(),
        )),
    }
}

/// A GraphQL error in Linear's shape, read by its `extensions.code`/`type` and the status.
pub fn graphql_error(status: u16, headers: &HeaderMap, error: &Value) -> IntegrationError {
    let ext = &error["extensions"];
    let code = ext["code"].as_str().unwrap_or("");
    let kind = ext["type"].as_str().unwrap_or("");
    if status == 429 || code.eq_ignore_ascii_case("RATELIMITED") || kind == "ratelimited" {
        return IntegrationError::RateLimited {
            retry_after: call::retry_after(headers).or_else(|| reset_after(headers)),
        };
    }
    let raw = error["message"].as_str().unwrap_or("no error message");
    // GraphQL's variable coercion errors quote the refused value (a title, a note).
    let message = if raw.contains("invalid value") {
        format!("a variable was refused ({})", call::bounded(code, 40))
    } else {
        call::bounded(raw, call::MAX_MESSAGE)
    };
    if status == 401
        || code.eq_ignore_ascii_case("AUTHENTICATION_ERROR")
        || kind == "authentication error"
    {
        return IntegrationError::Unauthorized(message);
    }
    if status >= 500 || code == "INTERNAL_SERVER_ERROR" {
        return IntegrationError::Unavailable(message);
    }
    IntegrationError::Rejected { status, message }
}

/// `X-RateLimit-Requests-Reset` (UTC epoch milliseconds) as a wait from now, capped at an hour.
fn reset_after(headers: &HeaderMap) -> Option<Duration> {
    let at_ms: i64 = headers
        .get("x-ratelimit-requests-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let left_ms = at_ms - chrono::Utc::now().timestamp_millis();
    let left = u64::try_from(left_ms.max(0)).ok()?;
    Some(Duration::from_millis(left).min(Duration::from_secs(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_line_carries_the_key() {
        let marker = "meetvault: mv-0123456789abcdef";
        assert!(carries("notes\n\nmeetvault: mv-0123456789abcdef\n", marker));
        assert!(!carries("notes\n\nmeetvault: mv-0123456789abcdef0", marker));
        assert!(!carries(
            "meetvault: mv-0123456789abcdef\nlater text",
            marker
        ));
    }

    #[test]
    fn coercion_errors_do_not_quote_the_value_and_rate_limits_are_read() {
        let e = json!({"message": "Variable \"$input\" got invalid value \"secret title\"",
                       "extensions": {"code": "BAD_USER_INPUT"}});
        let err = graphql_error(400, &HeaderMap::new(), &e);
        assert!(!err.to_string().contains("secret"), "{err}");
        let e = json!({"message": "slow down", "extensions": {"code": "RATELIMITED"}});
        assert!(matches!(
            graphql_error(400, &HeaderMap::new(), &e),
            IntegrationError::RateLimited { retry_after: None }
        ));
        assert_eq!(
            markdown_url("https://x.example/a (b)<c>"),
            "https://x.example/a%20%28b%29%3Cc%3E"
        );
    }
}
