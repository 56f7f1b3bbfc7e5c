//! Integrations (`core.integrations()`): connections to Slack, Notion, Google Drive, Linear,
//! Jira, HubSpot and Salesforce (`integrations:manage`), the approval queue
//! (`approvals:decide`), and each connection's delivery log.
//!
//! A connection's URL (the provider's API base, a Jira site, a Salesforce instance, a Slack
//! webhook) is resolved against the outbound rules when it is set and every request goes
//! through the outbound client, which applies them again; the credential is checked with the
//! provider's cheapest authenticated call before anything is stored, then sealed under the
//! org's key and never returned (`…` + its last four characters). `propose.rs` turns a
//! meeting's `summary.ready` into items per connection (waiting for approval on CRMs and
//! trackers by default); `send.rs` sends them, durably and idempotently.

mod connect;
pub mod model;
mod propose;
mod send;

use chrono::{DateTime, Utc};
use meetvault_integrations::{Credential, Target};
use meetvault_store::integrations::{CredentialChange, IntegrationChange, IntegrationRow, ItemRow};
use uuid::Uuid;

use crate::access::Scope;
use crate::access::proof::{ApprovalsDecide, IntegrationsManage};
use crate::audit::{AuditAction, Event};
use crate::calendar::net::OutboundHttp;
use crate::ids::{IntegrationId, IntegrationItemId, UserId};
use crate::vault::bind;
use crate::{Core, CoreError};
pub use meetvault_integrations::target::JiraDeployment;
pub use meetvault_integrations::{Item, Kind, SecretString, Summary, Task};
pub use model::{
    AttemptView, Decision, DeliveryLog, IntegrationPatch, IntegrationView, ItemView, NewCredential,
    NewIntegration,
};
use model::{
    Stored, accepts, check_name, credential_expiry, credential_hint, credential_kind, target_of,
};
pub use propose::PROPOSE_KIND;
pub(crate) use propose::ProposeHandler;
pub use send::SEND_KIND;
pub(crate) use send::SendHandler;

/// How many items a list returns at most.
const LIST_LIMIT: i64 = 500;

/// Integrations (`core.integrations()`).
#[derive(Debug, Clone, Copy)]
pub struct Integrations<'a> {
    pub(crate) core: &'a Core,
}

fn ms(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t).unwrap_or_default()
}

/// What a provider's refusal means to the caller who set the connection up.
fn refused(e: meetvault_integrations::IntegrationError) -> CoreError {
    use meetvault_integrations::IntegrationError as E;
    match e {
        E::Invalid(m) => CoreError::invalid("target", m),
        E::Refused(m) => CoreError::invalid("base_url", m),
        E::Unauthorized(m) => CoreError::invalid(
            "credential",
            format!("the provider refused it ({m}); check the token and its scopes"),
        ),
        E::Revoked => CoreError::invalid("credential", "the grant was revoked; connect again"),
        E::Rejected { status, message } => CoreError::invalid(
            "target",
            format!("the provider refused the check ({status}): {message}"),
        ),
        E::RateLimited { .. } | E::Unavailable(_) => CoreError::invalid(
            "credential",
            "the provider could not be reached to check it; try again in a minute",
        ),
    }
}

impl Integrations<'_> {
    /// Checks the URL and the credential with the provider, then stores the connection.
    pub async fn create(
        self,
        scope: &Scope<IntegrationsManage>,
        n: NewIntegration,
    ) -> Result<IntegrationView, CoreError> {
        let credential = n
            .credential
            .clone()
            .ok_or_else(|| CoreError::invalid("credential", "is required"))?
            .into_credential()?;
        self.create_with(scope, n, credential).await
    }

    async fn create_with(
        self,
        scope: &Scope<IntegrationsManage>,
        n: NewIntegration,
        credential: Credential,
    ) -> Result<IntegrationView, CoreError> {
        let org = scope.org_id().uuid();
        let (kind, target) = self.settings_of(org, &n).await?;
        let name = check_name(n.name.as_deref().unwrap_or(kind.as_str()))?;
        if !accepts(kind, &credential) {
            return Err(CoreError::invalid(
                "credential",
                format!("{} does not take this kind of credential", kind.as_str()),
            ));
        }
        let account = self.check(&target, &credential).await?;
        let on_summary = n.on_summary.unwrap_or(kind.takes_summaries()) && kind.takes_summaries();
        let on_action_items = n.on_action_items.unwrap_or(kind.takes_tasks()) && kind.takes_tasks();
        let now = meetvault_jobs::now_ms();
        let id = Uuid::new_v4();
        let row = IntegrationRow {
            id,
            org_id: org,
            workspace_id: n.workspace_id.map(|w| w.0),
            user_id: n.user_id.map(UserId::uuid),
            kind: kind.as_str().to_owned(),
            name,
            target: serde_json::to_string(&target).map_err(CoreError::internal)?,
            credential: self.seal(org, id, &credential).await?,
            credential_kind: credential_kind(&credential).to_owned(),
            credential_hint: credential_hint(&credential),
            credential_set_at: now,
            credential_expires_at: credential_expiry(&credential),
            account,
            on_summary,
            on_action_items,
            approval: n.approval.unwrap_or(kind.approval_by_default()),
            redact_pii: n.redact_pii.unwrap_or(true),
            enabled: true,
            status: "active".into(),
            status_reason: None,
            created_by: Some(scope.user_id().uuid()),
            created_at: now,
            updated_at: now,
        };
        self.core.db().insert_integration(&row).await?;
        self.core
            .audit(
                Event::by(scope, AuditAction::IntegrationConnect)
                    .resource(IntegrationId::from(id))
                    .reason(kind.as_str()),
            )
            .await?;
        view(&row)
    }

    pub async fn list(
        self,
        scope: &Scope<IntegrationsManage>,
    ) -> Result<Vec<IntegrationView>, CoreError> {
        let rows = self.core.db().integrations(scope.org_id().uuid()).await?;
        rows.iter().map(view).collect()
    }

    pub async fn get(
        self,
        scope: &Scope<IntegrationsManage>,
        id: IntegrationId,
    ) -> Result<IntegrationView, CoreError> {
        view(&self.row(scope.org_id().uuid(), id).await?)
    }

    /// Changes settings; a new credential (or a changed destination) is checked with the
    /// provider first, and a broken connection works again once its new credential passes.
    pub async fn update(
        self,
        scope: &Scope<IntegrationsManage>,
        id: IntegrationId,
        p: IntegrationPatch,
    ) -> Result<IntegrationView, CoreError> {
        let org = scope.org_id().uuid();
        let row = self.row(org, id).await?;
        let kind = kind_of(&row)?;
        let mut target = target_row(&row)?;
        if let Some(d) = &p.destination {
            target.destination = Some(d.trim().to_owned());
        }
        if let Some(t) = &p.issue_type {
            target.issue_type = Some(t.trim().to_owned());
        }
        target
            .check()
            .map_err(|e| CoreError::invalid("target", e.to_string()))?;
        let now = meetvault_jobs::now_ms();
        let changed_target = serde_json::to_string(&target).map_err(CoreError::internal)?;
        if let Some(c) = p.credential.clone() {
            let credential = c.into_credential()?;
            if !accepts(kind, &credential) {
                return Err(CoreError::invalid(
                    "credential",
                    format!("{} does not take this kind of credential", kind.as_str()),
                ));
            }
            let account = self.check(&target, &credential).await?;
            let change = CredentialChange {
                credential: self.seal(org, row.id, &credential).await?,
                credential_kind: credential_kind(&credential).to_owned(),
                credential_hint: credential_hint(&credential),
                expires_at: credential_expiry(&credential),
                account,
                at: now,
            };
            self.core
                .db()
                .set_integration_credential(org, row.id, &change, true)
                .await?;
        } else if changed_target != row.target {
            let credential = self.credential(&row).await?;
            self.check(&target, &credential).await?;
        }
        let change = IntegrationChange {
            name: match &p.name {
                Some(n) => check_name(n)?,
                None => row.name.clone(),
            },
            target: changed_target,
            on_summary: p.on_summary.unwrap_or(row.on_summary) && kind.takes_summaries(),
            on_action_items: p.on_action_items.unwrap_or(row.on_action_items) && kind.takes_tasks(),
            approval: p.approval.unwrap_or(row.approval),
            redact_pii: p.redact_pii.unwrap_or(row.redact_pii),
            enabled: p.enabled.unwrap_or(row.enabled),
            updated_at: now,
        };
        self.core
            .db()
            .update_integration(org, row.id, &change)
            .await?;
        self.core
            .audit(
                Event::by(scope, AuditAction::IntegrationUpdate)
                    .resource(IntegrationId::from(row.id))
                    .reason(if p.credential.is_some() {
                        "credential"
                    } else {
                        "settings"
                    }),
            )
            .await?;
        let row = self.row(org, id).await?;
        if row.enabled && row.status == "active" {
            // What waited for a broken or disabled connection goes now.
            self.core.enqueue_queued_items(org, row.id, None).await?;
        }
        view(&row)
    }

    /// Disconnects: the credential, the proposals and the delivery log are deleted.
    pub async fn delete(
        self,
        scope: &Scope<IntegrationsManage>,
        id: IntegrationId,
    ) -> Result<(), CoreError> {
        let org = scope.org_id().uuid();
        let row = self.row(org, id).await?;
        if !self.core.db().delete_integration(org, row.id).await? {
            return Err(CoreError::NotFound("integration"));
        }
        self.core
            .audit(
                Event::by(scope, AuditAction::IntegrationDisconnect)
                    .resource(IntegrationId::from(row.id))
                    .reason(kind_of(&row)?.as_str()),
            )
            .await?;
        Ok(())
    }

    /// A connection's delivery log: its items (without content) and its attempts.
    pub async fn deliveries(
        self,
        scope: &Scope<IntegrationsManage>,
        id: IntegrationId,
    ) -> Result<DeliveryLog, CoreError> {
        let org = scope.org_id().uuid();
        let row = self.row(org, id).await?;
        let kind = kind_of(&row)?;
        let items = self
            .core
            .db()
            .integration_items(org, Some(row.id), None, LIST_LIMIT)
            .await?;
        let attempts = self
            .core
            .db()
            .integration_attempts(org, row.id, LIST_LIMIT)
            .await?;
        Ok(DeliveryLog {
            items: items.iter().map(|i| item_view(i, kind, None)).collect(),
            attempts: attempts
                .into_iter()
                .map(|a| AttemptView {
                    item_id: a.item_id.into(),
                    at: ms(a.at),
                    outcome: a.outcome,
                    error: a.error,
                    latency_ms: a.latency_ms,
                })
                .collect(),
        })
    }

    /// The approval queue (`awaiting_approval` unless another state is asked for), each item
    /// with exactly what would be sent.
    pub async fn approvals(
        self,
        scope: &Scope<ApprovalsDecide>,
        state: Option<&str>,
    ) -> Result<Vec<ItemView>, CoreError> {
        let org = scope.org_id().uuid();
        let state = state.unwrap_or("awaiting_approval");
        if !["awaiting_approval", "queued", "sent", "rejected", "failed"].contains(&state) {
            return Err(CoreError::invalid(
                "state",
                "must be awaiting_approval, queued, sent, rejected or failed",
            ));
        }
        let rows = self
            .core
            .db()
            .integration_items(org, None, Some(state), LIST_LIMIT)
            .await?;
        let kinds: std::collections::HashMap<Uuid, Kind> = self
            .core
            .db()
            .integrations(org)
            .await?
            .iter()
            .filter_map(|r| Some((r.id, kind_of(r).ok()?)))
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(kind) = kinds.get(&r.integration_id) else {
                continue;
            };
            let content = self.core.open_item(r).await.ok();
            out.push(item_view(r, *kind, content));
        }
        Ok(out)
    }

    pub async fn approval(
        self,
        scope: &Scope<ApprovalsDecide>,
        id: IntegrationItemId,
    ) -> Result<ItemView, CoreError> {
        let (row, kind) = self.item(scope.org_id().uuid(), id).await?;
        let content = self.core.open_item(&row).await.ok();
        Ok(item_view(&row, kind, content))
    }

    /// Replaces what a waiting item will send (the approver's edit); audited.
    pub async fn edit(
        self,
        scope: &Scope<ApprovalsDecide>,
        id: IntegrationItemId,
        item: Item,
    ) -> Result<ItemView, CoreError> {
        let org = scope.org_id().uuid();
        let (row, kind) = self.item(org, id).await?;
        let sealed = self.checked_seal(&row, &item).await?;
        if !self
            .core
            .db()
            .edit_integration_item(org, row.id, &sealed, meetvault_jobs::now_ms())
            .await?
        {
            return Err(CoreError::Conflict(format!(
                "the item is {} and no longer waits for approval",
                row.state
            )));
        }
        self.core
            .audit(
                Event::by(scope, AuditAction::IntegrationEdit)
                    .resource(IntegrationItemId::from(row.id)),
            )
            .await?;
        let (row, _) = self.item(org, id).await?;
        Ok(item_view(&row, kind, Some(item)))
    }

    /// Approves (it is queued and sent) or rejects (nothing is ever sent) a waiting item, with
    /// an edit when given; audited.
    pub async fn decide(
        self,
        scope: &Scope<ApprovalsDecide>,
        id: IntegrationItemId,
        decision: Decision,
        edit: Option<Item>,
    ) -> Result<ItemView, CoreError> {
        let org = scope.org_id().uuid();
        let (row, kind) = self.item(org, id).await?;
        let sealed = match (&edit, decision) {
            (Some(item), Decision::Approve) => Some(self.checked_seal(&row, item).await?),
            _ => None,
        };
        let state = match decision {
            Decision::Approve => "queued",
            Decision::Reject => "rejected",
        };
        let payload = sealed.as_deref();
        if !self
            .core
            .db()
            .decide_integration_item(
                org,
                row.id,
                state,
                payload,
                scope.user_id().uuid(),
                meetvault_jobs::now_ms(),
            )
            .await?
        {
            return Err(CoreError::Conflict(format!(
                "the item is {} and no longer waits for approval",
                row.state
            )));
        }
        let action = match decision {
            Decision::Approve => AuditAction::IntegrationApprove,
            Decision::Reject => AuditAction::IntegrationReject,
        };
        self.core
            .audit(
                Event::by(scope, action)
                    .resource(IntegrationItemId::from(row.id))
                    .reason(if sealed.is_some() {
                        "edited"
                    } else {
                        "as_proposed"
                    }),
            )
            .await?;
        if decision == Decision::Approve {
            self.core
                .enqueue_queued_items(org, row.integration_id, Some(row.id))
                .await?;
        }
        let (row, _) = self.item(org, id).await?;
        let content = self.core.open_item(&row).await.ok();
        Ok(item_view(&row, kind, content))
    }

    async fn checked_seal(self, row: &ItemRow, item: &Item) -> Result<Vec<u8>, CoreError> {
        item.check()
            .map_err(|e| CoreError::invalid("item", e.to_string()))?;
        let same_kind = matches!(
            (row.kind.as_str(), item),
            ("summary", Item::Summary(_)) | ("task", Item::Task(_))
        );
        if !same_kind {
            return Err(CoreError::invalid(
                "item.type",
                format!("must stay a {}", row.kind),
            ));
        }
        self.core
            .seal_item(row.org_id, row.meeting_id, row.id, item)
            .await
    }

    /// The provider and target a new connection names, with its scope checked.
    async fn settings_of(self, org: Uuid, n: &NewIntegration) -> Result<(Kind, Target), CoreError> {
        let kind = Kind::parse(n.kind.trim()).ok_or_else(|| {
            CoreError::invalid(
                "kind",
                "must be one of slack, notion, google_drive, linear, jira, hubspot, salesforce",
            )
        })?;
        let target = target_of(n, kind)?;
        check_name(n.name.as_deref().unwrap_or(kind.as_str()))?;
        if let Some(w) = n.workspace_id {
            self.core.check_workspace_field(org, w).await?;
        }
        if let Some(u) = n.user_id {
            if n.workspace_id.is_some() {
                return Err(CoreError::invalid(
                    "user_id",
                    "a connection is for a workspace or a person, not both",
                ));
            }
            if self.core.db().user(org, u.uuid()).await?.is_none() {
                return Err(CoreError::invalid("user_id", "no such member in this org"));
            }
        }
        Ok((kind, target))
    }

    async fn item(self, org: Uuid, id: IntegrationItemId) -> Result<(ItemRow, Kind), CoreError> {
        let row = self
            .core
            .db()
            .integration_item(org, id.uuid())
            .await?
            .ok_or(CoreError::NotFound("approval"))?;
        let integration = self
            .core
            .db()
            .integration(org, row.integration_id)
            .await?
            .ok_or(CoreError::NotFound("approval"))?;
        Ok((row, kind_of(&integration)?))
    }

    async fn row(self, org: Uuid, id: IntegrationId) -> Result<IntegrationRow, CoreError> {
        self.core
            .db()
            .integration(org, id.uuid())
            .await?
            .ok_or(CoreError::NotFound("integration"))
    }

    /// The URLs resolved against the outbound rules, then the provider's cheapest call.
    async fn check(self, target: &Target, credential: &Credential) -> Result<String, CoreError> {
        // A Slack incoming webhook is its own URL; everything else goes to the API base.
        if !matches!(credential, Credential::WebhookUrl(_)) {
            self.core
                .outbound()
                .resolve(&target.base_url)
                .await
                .map_err(|e| CoreError::invalid("base_url", e.to_string()))?;
        }
        if let Credential::WebhookUrl(u) = credential {
            let url = url::Url::parse(u.expose())
                .map_err(|_| CoreError::invalid("credential.webhook_url", "is not a URL"))?;
            self.core
                .outbound()
                .resolve(&url)
                .await
                .map_err(|e| CoreError::invalid("credential.webhook_url", e.to_string()))?;
        }
        let http = OutboundHttp(self.core.outbound_client());
        let account = meetvault_integrations::validate(&http, target, credential)
            .await
            .map_err(refused)?;
        Ok(meetvault_integrations::call::bounded(&account.name, 200))
    }

    async fn seal(self, org: Uuid, id: Uuid, c: &Credential) -> Result<Vec<u8>, CoreError> {
        self.core.seal_credential(org, id, c).await
    }

    async fn credential(self, row: &IntegrationRow) -> Result<Credential, CoreError> {
        self.core.open_credential(row).await
    }
}

impl Core {
    pub(crate) async fn seal_credential(
        &self,
        org: Uuid,
        id: Uuid,
        c: &Credential,
    ) -> Result<Vec<u8>, CoreError> {
        let json = Stored::of(c).to_json()?;
        self.seal_org_field(org, "integrations", id, "credential", &json)
            .await
    }

    pub(crate) async fn open_credential(
        &self,
        row: &IntegrationRow,
    ) -> Result<Credential, CoreError> {
        let plain = zeroize::Zeroizing::new(
            self.open_org_field(
                row.org_id,
                "integrations",
                row.id,
                "credential",
                &row.credential,
            )
            .await?,
        );
        let stored: Stored = serde_json::from_slice(&plain)
            .map_err(|_| CoreError::Integrity("integrations.credential".into()))?;
        Ok(stored.to_credential())
    }

    /// Whether `owner` keeps their content under zero-access encryption.
    pub(crate) async fn zero_access_owner(
        &self,
        org: Uuid,
        owner: Uuid,
    ) -> Result<bool, CoreError> {
        Ok(self
            .db()
            .user_key(org, owner)
            .await?
            .is_some_and(|k| k.mode == "zero_access"))
    }

    /// Seals what an item sends under its meeting's key.
    pub(crate) async fn seal_item(
        &self,
        org: Uuid,
        meeting: Uuid,
        id: Uuid,
        item: &Item,
    ) -> Result<Vec<u8>, CoreError> {
        let m = self
            .db()
            .meeting(org, meeting)
            .await?
            .ok_or(CoreError::NotFound("meeting"))?;
        let (kref, key) = self.meeting_write_key(org, meeting, m.owner_id).await?;
        let json = zeroize::Zeroizing::new(serde_json::to_vec(item).map_err(CoreError::internal)?);
        Ok(meetvault_crypto::envelope::encrypt(
            &key,
            kref,
            &bind(org, "integration_items", id, "payload"),
            &json,
        ))
    }

    /// Opens what an item sends (its meeting's key; gone with the meeting). A zero-access
    /// owner's content is theirs alone: it never leaves through an integration.
    pub(crate) async fn open_item(&self, row: &ItemRow) -> Result<Item, CoreError> {
        let m = self
            .db()
            .meeting(row.org_id, row.meeting_id)
            .await?
            .ok_or(CoreError::NotFound("meeting"))?;
        if self.zero_access_owner(row.org_id, m.owner_id).await? {
            return Err(CoreError::ZeroAccessOwnerOnly);
        }
        let keys = self.meeting_read_keys(row.org_id, m.id, m.owner_id).await?;
        let json = keys.bytes(
            row.org_id,
            "integration_items",
            row.id,
            "payload",
            &row.payload,
        )?;
        serde_json::from_slice(&json)
            .map_err(|_| CoreError::Integrity("integration_items.payload".into()))
    }
}

pub(crate) fn kind_of(row: &IntegrationRow) -> Result<Kind, CoreError> {
    Kind::parse(&row.kind).ok_or_else(|| CoreError::Integrity("integrations.kind".into()))
}

pub(crate) fn target_row(row: &IntegrationRow) -> Result<Target, CoreError> {
    serde_json::from_str(&row.target)
        .map_err(|_| CoreError::Integrity("integrations.target".into()))
}

fn view(row: &IntegrationRow) -> Result<IntegrationView, CoreError> {
    let target = target_row(row)?;
    Ok(IntegrationView {
        id: row.id.into(),
        kind: kind_of(row)?,
        name: row.name.clone(),
        workspace_id: row.workspace_id.map(Into::into),
        user_id: row.user_id.map(Into::into),
        base_url: target.base_url.to_string(),
        destination: target.destination,
        issue_type: target.issue_type,
        jira_deployment: target.jira,
        credential_kind: row.credential_kind.clone(),
        credential_hint: row.credential_hint.clone(),
        credential_set_at: ms(row.credential_set_at),
        credential_expires_at: row.credential_expires_at.map(ms),
        account: row.account.clone(),
        on_summary: row.on_summary,
        on_action_items: row.on_action_items,
        approval: row.approval,
        redact_pii: row.redact_pii,
        enabled: row.enabled,
        status: row.status.clone(),
        status_reason: row.status_reason.clone(),
        created_at: ms(row.created_at),
        updated_at: ms(row.updated_at),
    })
}

fn item_view(r: &ItemRow, kind: Kind, item: Option<Item>) -> ItemView {
    ItemView {
        id: r.id.into(),
        integration_id: r.integration_id.into(),
        kind,
        meeting_id: r.meeting_id.into(),
        state: r.state.clone(),
        title: item.as_ref().map(|i| i.title().to_owned()),
        item,
        attempts: r.attempts,
        last_error: r.last_error.clone(),
        external_id: r.external_id.clone(),
        external_url: r.external_url.clone(),
        decided_by: r.decided_by.map(Into::into),
        decided_at: r.decided_at.map(ms),
        edited: r.edited,
        created_at: ms(r.created_at),
        updated_at: ms(r.updated_at),
    }
}
