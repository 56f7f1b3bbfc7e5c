//! Jira: an action item as an issue in a project, on Jira Cloud (REST v3 under
//! `<site>/rest/api/3/`) or Jira Data Center (REST v2 under `<base>/rest/api/2/`), as
//! [`Target::jira`] says. A summary is [`IntegrationError::Invalid`]: Jira takes tasks only.
//!
//! **Authentication.** Cloud: HTTP Basic with the account's email and an API token, or an
//! OAuth 2.0 (3LO) access token as `Bearer` — then the base is
//! `https://api.atlassian.com/ex/jira/<cloudId>/`, and since the site's own URL is not known
//! there, [`Sent::url`] is `None`. A bare token on Cloud is refused before any request (Cloud
//! takes API tokens only with the email). Data Center: a personal access token as `Bearer`
//! (Basic also works). Permissions: *Browse projects* and *Create issues* in the project,
//! *Assign issues* for the assignee, *Browse users and groups* for the owner lookup; OAuth
//! scopes `read:jira-work write:jira-work read:jira-user offline_access`.
//!
//! **Requests.**
//! - validate: `GET rest/api/{3|2}/myself` → `displayName`;
//! - create: `POST rest/api/{3|2}/issue` with `fields: {project: {key}, issuetype: {name:
//!   issue_type or "Task"}, summary, description, labels: [key], assignee?, duedate?}`. The
//!   summary is one line (control characters become spaces) of at most 255 characters.
//!   Cloud's description is Atlassian Document Format (the notes' paragraphs, then a paragraph
//!   whose text links to the meeting); Data Center's is a plain string. [`Sent`] is the issue
//!   key (`OPS-12`) and `<base>/browse/OPS-12`. When Jira answers 400 naming only `duedate`
//!   or `assignee` (a field not on the project's create screen, a user who may not be
//!   assigned), the issue is created once more without them: nothing was created by a 400.
//!
//! **Owners.** Cloud `GET rest/api/3/user/search?query=<email>` → `[{accountId,
//! emailAddress}]`, assignee `{accountId}`; Data Center `GET rest/api/2/user/search?
//! username=<email>` → `[{name, emailAddress}]`, assignee `{name}`. Only an address that
//! passes [`plausible_email`] is searched. The search matches prefixes, so pages
//! (`startAt`/`maxResults`) are read until one is empty (Cloud may return short pages because
//! of privacy filtering), up to [`LOOKUP_PAGES`], and the active user whose `emailAddress` is
//! the owner's is taken. Cloud hides the address of users who chose so; when the whole
//! search found exactly one user and its address is hidden, it is taken (the query is a full
//! address). No match, or a search the account may not make (a 4xx), leaves the issue
//! unassigned.
//!
//! **Idempotency.** The key is the issue's label. A retry first searches with JQL `project =
//! "KEY" AND labels = "<key>" ORDER BY created ASC` — both values are checked ([`safe_id`],
//! [`check_key`]) so they cannot leave the quotes, and nothing else enters the JQL. Cloud:
//! `POST rest/api/3/search/jql` (`nextPageToken`/`isLast`); Data Center: `GET
//! rest/api/2/search` (`startAt`/`total`); asking for the `labels` field, up to [`LOOKUP_PAGES`]
//! pages. Each answer's labels are checked for the exact key (JQL may compare labels without
//! regard to case), and the earliest issue carrying it is returned.
//!
//! **Errors.** `{"errorMessages": [...], "errors": {field: message}}`, read and bounded by
//! [`call::status_error`]; 401 is [`IntegrationError::Unauthorized`]; 429 with `Retry-After`
//! is [`IntegrationError::RateLimited`].
//!
//! **Not verified** (no access to the real services here): whether JQL's label equality
//! ignores case, the exact error texts, whether Cloud's user search matches a hidden address
//! given in full (as assumed above), and the OAuth base's browse URL.

use http::Method;
use http::header::ACCEPT;
use serde_json::{Value, json};
use url::Url;

use crate::call::{self, endpoint};
use crate::error::IntegrationError;
use crate::item::{Item, Task, check_key, plausible_email};
use crate::target::{Credential, JiraDeployment, Target, safe_id};
use crate::{Account, Http, HttpRequest, Sent};

/// How many pages a lookup (the owner, a retry's search) reads at most.
pub const LOOKUP_PAGES: usize = 10;
/// The page size asked for.
const PAGE: usize = 50;
/// Jira's summary limit.
const SUMMARY_MAX: usize = 255;
/// Fields left out of a second attempt when Jira refuses only them.
const OPTIONAL: [&str; 2] = ["duedate", "assignee"];
/// The text of the link back to the meeting.
const LINK_TEXT: &str = "Open the moment in meetvault";

/// `GET myself`: the account's display name.
pub async fn validate(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
) -> Result<Account, IntegrationError> {
    let v = send(http, target, credential, Method::GET, "myself", None, &[]).await?;
    let name = v["displayName"]
        .as_str()
        .or_else(|| v["name"].as_str())
        .unwrap_or("Jira user");
    Ok(Account {
        name: call::bounded(name, 80),
    })
}

/// Creates an issue for a task in the target's project (see the module documentation).
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
            "Jira takes action items only".into(),
        ));
    };
    item.check()?;
    let project = target.destination()?;
    if retry && let Some(sent) = find(http, target, credential, project, key).await? {
        return Ok(sent);
    }
    let mut fields = json!({
        "project": {"key": project},
        "issuetype": {"name": target.issue_type.as_deref().unwrap_or("Task")},
        "summary": call::bounded(task.title.trim(), SUMMARY_MAX),
        "description": description(target.jira, task),
        "labels": [key],
    });
    if let Some(assignee) = owner(http, target, credential, task.owner_email.as_deref()).await? {
        fields["assignee"] = assignee;
    }
    if let Some(due) = task.due {
        fields["duedate"] = json!(due.format("%Y-%m-%d").to_string());
    }
    let created = create(http, target, credential, fields).await?;
    sent(target, call::str_at(&created, "/key")?)
}

/// The issue's description: Atlassian Document Format on Cloud, a plain string on Data Center.
pub fn description(deployment: JiraDeployment, task: &Task) -> Value {
    match deployment {
        JiraDeployment::Cloud => adf(task),
        JiraDeployment::DataCenter => {
            let notes = task.notes.trim();
            let link = format!("{LINK_TEXT}: {}", task.link);
            Value::String(if notes.is_empty() {
                link
            } else {
                format!("{notes}\n\n{link}")
            })
        }
    }
}

/// The notes as ADF paragraphs (a blank line ends one, a line break is a `hardBreak`; ADF
/// allows no empty text node), then a paragraph linking to the meeting.
fn adf(task: &Task) -> Value {
    fn close(paragraph: &mut Vec<Value>, content: &mut Vec<Value>) {
        if !paragraph.is_empty() {
            content.push(json!({"type": "paragraph", "content": std::mem::take(paragraph)}));
        }
    }
    let mut content = Vec::new();
    let mut paragraph: Vec<Value> = Vec::new();
    for line in task.notes.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            close(&mut paragraph, &mut content);
            continue;
        }
        if !paragraph.is_empty() {
            paragraph.push(json!({"type": "hardBreak"}));
        }
        paragraph.push(json!({"type": "text", "text": line}));
    }
    close(&mut paragraph, &mut content);
    content.push(json!({"type": "paragraph", "content": [{
        "type": "text",
        "text": LINK_TEXT,
        "marks": [{"type": "link", "attrs": {"href": task.link}}],
    }]}));
    json!({"type": "doc", "version": 1, "content": content})
}

/// The JQL a retry searches with; `None` if either value could leave its quotes.
pub fn jql(project: &str, key: &str) -> Option<String> {
    (safe_id(project) && check_key(key).is_ok())
        .then(|| format!("project = \"{project}\" AND labels = \"{key}\" ORDER BY created ASC"))
}

fn api(target: &Target) -> &'static str {
    match target.jira {
        JiraDeployment::Cloud => "rest/api/3/",
        JiraDeployment::DataCenter => "rest/api/2/",
    }
}

/// An authorized request to `rest/api/{3|2}/<path>`.
fn request(
    target: &Target,
    credential: &Credential,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
) -> Result<HttpRequest, IntegrationError> {
    let mut url: Url = endpoint(&target.base_url, &format!("{}{path}", api(target)))?;
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let req = match (credential, target.jira) {
        (Credential::Basic { email, token }, _) => call::basic(method, url, email, token),
        (Credential::OAuth(tokens), _) => call::bearer(method, url, &tokens.access_token),
        (Credential::Token(token), JiraDeployment::DataCenter) => call::bearer(method, url, token),
        (Credential::Token(_), JiraDeployment::Cloud) => {
            return Err(IntegrationError::Invalid(
                "Jira Cloud takes the account's email with an API token, or an OAuth grant".into(),
            ));
        }
        (Credential::WebhookUrl(_), _) => {
            return Err(IntegrationError::Invalid(
                "Jira takes an API token, a personal access token or an OAuth grant".into(),
            ));
        }
    };
    Ok(req.header(ACCEPT, "application/json"))
}

async fn send(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    method: Method,
    path: &str,
    body: Option<&Value>,
    query: &[(&str, &str)],
) -> Result<Value, IntegrationError> {
    let mut req = request(target, credential, method, path, query)?;
    if let Some(body) = body {
        req = req.json(body);
    }
    call::send_json(http, req).await
}

/// `POST issue`; a 400 naming only optional fields is retried once without them.
async fn create(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    mut fields: Value,
) -> Result<Value, IntegrationError> {
    for attempt in 0..2 {
        let req = request(target, credential, Method::POST, "issue", &[])?
            .json(&json!({ "fields": fields }));
        let resp = http.send(req).await?;
        if resp.status.is_success() {
            return call::json_of(resp);
        }
        if attempt == 0 && resp.status.as_u16() == 400 {
            let v: Value = serde_json::from_slice(&resp.body).unwrap_or_default();
            let errors = v["errors"].as_object();
            let only_optional = v["errorMessages"].as_array().is_none_or(Vec::is_empty)
                && errors.is_some_and(|e| {
                    !e.is_empty()
                        && e.keys()
                            .all(|k| OPTIONAL.contains(&k.as_str()) && fields.get(k).is_some())
                });
            if only_optional && let (Some(errors), Some(f)) = (errors, fields.as_object_mut()) {
                for k in errors.keys() {
                    f.remove(k);
                }
                continue;
            }
        }
        return Err(call::status_error(&resp));
    }
    Err(IntegrationError::Unavailable(
        "Jira refused the issue twice".into(),
    ))
}

fn sent(target: &Target, key: &str) -> Result<Sent, IntegrationError> {
    let on_site = target.base_url.host_str() != Some("api.atlassian.com");
    let url = (on_site && safe_id(key))
        .then(|| endpoint(&target.base_url, &format!("browse/{key}")).ok())
        .flatten()
        .map(String::from);
    Ok(Sent {
        external_id: key.to_owned(),
        url,
    })
}

/// Whether an issue of a search answer carries exactly `key` as a label.
fn labelled(issue: &Value, key: &str) -> bool {
    issue["fields"]["labels"]
        .as_array()
        .is_some_and(|ls| ls.iter().any(|l| l == key))
}

/// The earliest issue in `project` labelled `key`, following the search's pages.
async fn find(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    project: &str,
    key: &str,
) -> Result<Option<Sent>, IntegrationError> {
    let Some(jql) = jql(project, key) else {
        return Err(IntegrationError::Invalid(
            "the project key or the idempotency key cannot be searched".into(),
        ));
    };
    let page = PAGE.to_string();
    let mut token: Option<String> = None;
    let mut start = 0usize;
    for _ in 0..LOOKUP_PAGES {
        let v = match target.jira {
            JiraDeployment::Cloud => {
                let mut body = json!({"jql": jql, "fields": ["key", "labels"], "maxResults": PAGE});
                if let Some(t) = &token {
                    body["nextPageToken"] = json!(t);
                }
                send(
                    http,
                    target,
                    credential,
                    Method::POST,
                    "search/jql",
                    Some(&body),
                    &[],
                )
                .await?
            }
            JiraDeployment::DataCenter => {
                let at = start.to_string();
                let query = [
                    ("jql", jql.as_str()),
                    ("startAt", at.as_str()),
                    ("maxResults", page.as_str()),
                    ("fields", "labels"),
                ];
                send(
                    http,
                    target,
                    credential,
                    Method::GET,
                    "search",
                    None,
                    &query,
                )
                .await?
            }
        };
        let issues = v["issues"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        if let Some(issue) = issues.iter().find(|i| labelled(i, key)) {
            return sent(target, call::str_at(issue, "/key")?).map(Some);
        }
        match target.jira {
            JiraDeployment::Cloud => {
                token = v["nextPageToken"].as_str().map(str::to_owned);
                if v["isLast"] == true || token.is_none() {
                    break;
                }
            }
            JiraDeployment::DataCenter => {
                start += issues.len();
                let total = v["total"].as_u64().unwrap_or(0);
                if issues.is_empty() || u64::try_from(start).unwrap_or(u64::MAX) >= total {
                    break;
                }
            }
        }
    }
    Ok(None)
}

/// The assignee field for the owner's address (see the module documentation).
async fn owner(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    email: Option<&str>,
) -> Result<Option<Value>, IntegrationError> {
    let Some(email) = email.filter(|e| plausible_email(e)) else {
        return Ok(None);
    };
    let param = match target.jira {
        JiraDeployment::Cloud => "query",
        JiraDeployment::DataCenter => "username",
    };
    let page = PAGE.to_string();
    let mut start = 0usize;
    let mut seen = 0usize;
    let mut hidden: Option<Value> = None;
    for _ in 0..LOOKUP_PAGES {
        let at = start.to_string();
        let query = [
            (param, email),
            ("startAt", at.as_str()),
            ("maxResults", page.as_str()),
        ];
        let v = match send(
            http,
            target,
            credential,
            Method::GET,
            "user/search",
            None,
            &query,
        )
        .await
        {
            Ok(v) => v,
            Err(IntegrationError::Rejected { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let users = v.as_array().map(Vec::as_slice).unwrap_or(&[]);
        if users.is_empty() {
            break;
        }
        start += users.len();
        for user in users {
            let human = user["accountType"]
                .as_str()
                .is_none_or(|t| t == "atlassian");
            if user["active"] == false || !human {
                continue;
            }
            seen += 1;
            match user["emailAddress"].as_str() {
                Some(e) if e.eq_ignore_ascii_case(email) => return Ok(assignee(target, user)),
                Some(_) => {}
                None => {
                    hidden.get_or_insert_with(|| user.clone());
                }
            }
        }
    }
    Ok(if seen == 1 {
        hidden.and_then(|u| assignee(target, &u))
    } else {
        None
    })
}

fn assignee(target: &Target, user: &Value) -> Option<Value> {
    match target.jira {
        JiraDeployment::Cloud => user["accountId"]
            .as_str()
            .map(|id| json!({"accountId": id})),
        JiraDeployment::DataCenter => user["name"].as_str().map(|n| json!({"name": n})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jql_takes_only_checked_values() {
        assert_eq!(
            jql("OPS", "mv-0123456789abcdef").as_deref(),
            Some("project = \"OPS\" AND labels = \"mv-0123456789abcdef\" ORDER BY created ASC")
        );
        assert_eq!(jql("OPS\" OR project = \"X", "mv-0123456789abcdef"), None);
        assert_eq!(jql("OPS", "mv-01234567\" OR 1=1"), None);
    }

    #[test]
    fn the_browse_link_is_the_sites_and_none_through_the_oauth_gateway() {
        let mut t = Target::public(crate::Kind::Slack, None).unwrap();
        t.kind = crate::Kind::Jira;
        t.base_url = Url::parse("https://acme.atlassian.net/").unwrap();
        let s = sent(&t, "OPS-12").unwrap();
        assert_eq!(
            s.url.as_deref(),
            Some("https://acme.atlassian.net/browse/OPS-12")
        );
        t.base_url = Url::parse("https://api.atlassian.com/ex/jira/1234-abcd/").unwrap();
        let s = sent(&t, "OPS-12").unwrap();
        assert_eq!((s.external_id.as_str(), s.url), ("OPS-12", None));
    }

    #[test]
    fn adf_has_no_empty_text_nodes_and_links_back() {
        let task = Task {
            title: "t".into(),
            notes: "first\nsecond\n\n\nthird".into(),
            owner_email: None,
            due: None,
            link: "https://mv.example/m/1".into(),
        };
        let doc = adf(&task);
        let content = doc["content"].as_array().unwrap();
        assert_eq!(content.len(), 3);
        assert_eq!(
            content[0]["content"],
            json!([{"type": "text", "text": "first"}, {"type": "hardBreak"},
                   {"type": "text", "text": "second"}])
        );
        assert_eq!(
            content[2]["content"][0]["marks"][0]["attrs"]["href"],
            "https://mv.example/m/1"
        );
    }
}
