//! Sending a meeting's summary and action items where a team works: Slack, Notion, Google Drive,
//! Linear, Jira (Cloud and Data Center), HubSpot and Salesforce.
//!
//! This crate builds each provider's requests from its published API reference, reads the
//! answers, refreshes OAuth tokens and makes a retry idempotent: every item carries a stable
//! `key`, written into what is created (a Slack message's metadata, a Jira label, a Linear
//! description marker, a HubSpot task's body, a Salesforce external id…), and a retry first
//! looks for an object carrying it ([`deliver`] with `retry = true`). It owns no storage and
//! does no I/O of its own: every request goes through [`Http`] (the server passes its
//! SSRF-checked outbound client).
//!
//! Feature `fake`: loopback servers of the documented endpoints, for tests. The real services
//! could not be reached from the environment this was written in.

pub mod call;
pub mod drive;
pub mod error;
#[cfg(feature = "fake")]
pub mod fake;
pub mod hubspot;
pub mod item;
pub mod jira;
pub mod linear;
pub mod notion;
pub mod oauth;
pub mod salesforce;
pub mod slack;
pub mod target;

pub use error::IntegrationError;
pub use item::{Item, Summary, Task};
pub use meetvault_calendar::{
    Http, HttpError, HttpRequest, HttpResponse, ReqwestHttp, SecretString,
};
pub use oauth::{OAuthApp, OAuthTokens};
pub use target::{Credential, Kind, Target};

/// Who a credential belongs to, as the provider's cheapest authenticated call reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// A name to show (a workspace, a user, a portal id).
    pub name: String,
}

/// What was created: the provider's id for it and, when it has one, a link to open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The provider's id (a message `ts`, a page id, an issue key…).
    pub external_id: String,
    /// A link to it, when the provider gives one.
    pub url: Option<String>,
}

/// Checks `credential` against `target` with the provider's cheapest authenticated call.
pub async fn validate(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
) -> Result<Account, IntegrationError> {
    target.check()?;
    match target.kind {
        Kind::Slack => slack::validate(http, target, credential).await,
        Kind::Notion => notion::validate(http, target, credential).await,
        Kind::GoogleDrive => drive::validate(http, target, credential).await,
        Kind::Linear => linear::validate(http, target, credential).await,
        Kind::Jira => jira::validate(http, target, credential).await,
        Kind::Hubspot => hubspot::validate(http, target, credential).await,
        Kind::Salesforce => salesforce::validate(http, target, credential).await,
    }
}

/// Sends `item`. `key` is the item's stable idempotency key (letters, digits and `-`, at most
/// 64 bytes); with `retry`, an earlier attempt may have created the object already, so the
/// provider is searched for one carrying `key` first and it is returned instead of a second.
pub async fn deliver(
    http: &dyn Http,
    target: &Target,
    credential: &Credential,
    item: &Item,
    key: &str,
    retry: bool,
) -> Result<Sent, IntegrationError> {
    target.check()?;
    item::check_key(key)?;
    match target.kind {
        Kind::Slack => slack::deliver(http, target, credential, item, key, retry).await,
        Kind::Notion => notion::deliver(http, target, credential, item, key, retry).await,
        Kind::GoogleDrive => drive::deliver(http, target, credential, item, key, retry).await,
        Kind::Linear => linear::deliver(http, target, credential, item, key, retry).await,
        Kind::Jira => jira::deliver(http, target, credential, item, key, retry).await,
        Kind::Hubspot => hubspot::deliver(http, target, credential, item, key, retry).await,
        Kind::Salesforce => salesforce::deliver(http, target, credential, item, key, retry).await,
    }
}
