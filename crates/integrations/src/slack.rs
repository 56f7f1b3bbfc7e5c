//! Slack: a summary as a message with blocks, through a bot token (`chat.postMessage` to a
//! channel; scopes `chat:write`, and `channels:history`/`groups:history` for the idempotent
//! retry's lookup) or an incoming webhook (the URL is the secret; scope
//! `incoming-webhook`).
//!
//! Slack's Web API answers most errors with HTTP 200 and `{"ok": false, "error": "…"}`;
//! rate limits are HTTP 429 with `Retry-After`. A message carries our key in its
//! `metadata` (`event_type` `meetvault_item`), so a retry reads `conversations.history`
//! with `include_all_metadata` (cursor-paginated) and finds the one already posted.
//! Incoming webhooks cannot be searched: a retry after a lost answer could post twice, so the
//! server retries a webhook only after answers that mean nothing was posted (429, 5xx).

use http::Method;
use serde_json::{Value, json};

use crate::call::{self, endpoint};
use crate::error::IntegrationError;
use crate::item::{Item, Summary, plain};
use crate::target::{Credential, Target};
use crate::{Account, Http, HttpRequest, Sent};

/// The metadata event type our messages carry.
pub const EVENT_TYPE: &str = "meetvault_item";
/// A section block's text limit.
const SECTION_MAX: usize = 3000;
/// How many pages of history a retry reads looking for the message.
const LOOKUP_PAGES: usize = 5;

/// `auth.test` for a bot token; for an incoming webhook, an empty post (Slack answers
/// `400 no_text`/`invalid_payload` to a live webhook, 404 `no_service` or 403 to a dead one).
pub async fn validate(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
) -> Result<Account, IntegrationError> {
    if let Credential::WebhookUrl(url) = credential {
        let url = webhook_url(url.expose())?;
        let resp = http
            .send(HttpRequest::new(Method::POST, url).json(&json!({})))
            .await?;
        let text = String::from_utf8_lossy(&resp.body).trim().to_owned();
        return match (resp.status.as_u16(), text.as_str()) {
            (400, "no_text" | "invalid_payload" | "missing_text_or_fallback_or_attachments") => {
                Ok(Account {
                    name: "incoming webhook".into(),
                })
            }
            (429, _) | (500..=599, _) => Err(call::status_error(&resp)),
            (status, _) => Err(IntegrationError::Rejected {
                status,
                message: format!("the webhook is not live: {}", call::bounded(&text, 80)),
            }),
        };
    }
    let token = credential.bearer_token()?;
    let req = call::bearer(
        Method::POST,
        endpoint(&target.base_url, "auth.test")?,
        token,
    );
    let v = web_api(http, req).await?;
    let team = v["team"].as_str().unwrap_or("Slack");
    let user = v["user"].as_str().unwrap_or("bot");
    Ok(Account {
        name: format!("{user} in {team}"),
    })
}

/// Posts a summary (tasks go to trackers, not Slack).
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
            "Slack takes summaries only".into(),
        ));
    };
    let mut body = message(summary);
    if let Credential::WebhookUrl(url) = credential {
        let url = webhook_url(url.expose())?;
        let resp = http
            .send(HttpRequest::new(Method::POST, url).json(&body))
            .await?;
        if !resp.status.is_success() {
            return Err(call::status_error(&resp));
        }
        return Ok(Sent {
            external_id: format!("webhook:{key}"),
            url: None,
        });
    }
    let token = credential.bearer_token()?;
    let channel = target.destination()?;
    if retry && let Some(ts) = find(http, target, credential, channel, key).await? {
        return Ok(Sent {
            external_id: ts,
            url: None,
        });
    }
    body["channel"] = json!(channel);
    body["unfurl_links"] = json!(false);
    body["metadata"] = json!({"event_type": EVENT_TYPE, "event_payload": {"key": key}});
    let req = call::bearer(
        Method::POST,
        endpoint(&target.base_url, "chat.postMessage")?,
        token,
    )
    .json(&body);
    let v = web_api(http, req).await?;
    Ok(Sent {
        external_id: call::str_at(&v, "/ts")?.to_owned(),
        url: None,
    })
}

/// The message: a header, the summary in sections of at most 3000 characters (Slack's limit),
/// a link back, and `text` as the notification fallback.
pub fn message(s: &Summary) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": call::bounded(&s.title, 140), "emoji": false}
    })];
    let mut chunk = String::new();
    for line in mrkdwn(&s.markdown).lines() {
        if chunk.len() + line.len() + 1 > SECTION_MAX && !chunk.is_empty() {
            blocks.push(section(&chunk));
            chunk.clear();
        }
        chunk.push_str(&call::bounded(line, SECTION_MAX - 1));
        chunk.push('\n');
    }
    if !chunk.trim().is_empty() {
        blocks.push(section(&chunk));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": format!("<{}|Open the meeting in meetvault>", escape(&s.link))}]
    }));
    blocks.truncate(50);
    json!({"text": format!("Meeting notes: {}", plain(&s.title)), "blocks": blocks})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text.trim_end()}})
}

/// Slack's mrkdwn: `&`, `<` and `>` escaped (so no text can mention `@channel` or forge a
/// link), headings bold, `**bold**` as `*bold*`, bullets as `•`.
pub fn mrkdwn(markdown: &str) -> String {
    markdown
        .lines()
        .map(|l| {
            let l = escape(l);
            let trimmed = l.trim_start();
            if let Some(h) = trimmed.strip_prefix('#') {
                format!("*{}*", h.trim_start_matches('#').trim())
            } else if let Some(b) = trimmed.strip_prefix("- ") {
                format!("• {}", b.replace("**", "*"))
            } else {
                l.replace("**", "*")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Slack's three control characters, escaped as its documentation asks.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn webhook_url(raw: &str) -> Result<url::Url, IntegrationError> {
    url::Url::parse(raw)
        .map_err(|_| IntegrationError::Invalid("the Slack webhook URL is not a URL".into()))
}

/// A Web API call: HTTP errors as usual, then `ok: false` read by its `error` code.
async fn web_api(http: &dyn Http, req: HttpRequest) -> Result<Value, IntegrationError> {
    let v = call::send_json(http, req).await?;
    if v["ok"] == true {
        return Ok(v);
    }
    let code = call::bounded(v["error"].as_str().unwrap_or("unknown_error"), 80);
    Err(match code.as_str() {
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive" => {
            IntegrationError::Unauthorized(code)
        }
        "ratelimited" => IntegrationError::RateLimited { retry_after: None },
        "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
            IntegrationError::Unavailable(code)
        }
        _ => IntegrationError::Rejected {
            status: 200,
            message: code,
        },
    })
}

/// The `ts` of a message in `channel` carrying `key` in its metadata, reading the newest
/// [`LOOKUP_PAGES`] pages of history.
async fn find(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    channel: &str,
    key: &str,
) -> Result<Option<String>, IntegrationError> {
    let token = credential.bearer_token()?;
    let mut cursor: Option<String> = None;
    for _ in 0..LOOKUP_PAGES {
        let mut url = endpoint(&target.base_url, "conversations.history")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("channel", channel)
                .append_pair("include_all_metadata", "true")
                .append_pair("limit", "100");
            if let Some(c) = &cursor {
                q.append_pair("cursor", c);
            }
        }
        let v = web_api(http, call::bearer(Method::GET, url, token)).await?;
        let found = v["messages"].as_array().and_then(|ms| {
            ms.iter().find(|m| {
                m["metadata"]["event_type"] == EVENT_TYPE
                    && m["metadata"]["event_payload"]["key"] == key
            })
        });
        if let Some(m) = found {
            return Ok(Some(call::str_at(m, "/ts")?.to_owned()));
        }
        cursor = v["response_metadata"]["next_cursor"]
            .as_str()
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrkdwn_escapes_mentions_and_links() {
        assert_eq!(
            mrkdwn("## Next\n- ping <!channel> & <https://evil|here>\n**Done**"),
            "*Next*\n• ping &lt;!channel&gt; &amp; &lt;https://evil|here&gt;\n*Done*"
        );
    }

    #[test]
    fn long_summaries_are_split_into_sections_within_slacks_limit() {
        let s = Summary {
            title: "Weekly".into(),
            markdown: (0..200)
                .map(|i| format!("- point {i} {}", "x".repeat(60)))
                .collect::<Vec<_>>()
                .join("\n"),
            link: "https://mv.example/m/1".into(),
            attendee_emails: vec![],
        };
        let m = message(&s);
        let blocks = m["blocks"].as_array().unwrap();
        assert!(blocks.len() > 3 && blocks.len() <= 50);
        for b in blocks.iter().filter(|b| b["type"] == "section") {
            assert!(b["text"]["text"].as_str().unwrap().len() <= SECTION_MAX);
        }
    }
}
