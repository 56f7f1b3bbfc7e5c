//! Participant deletion requests (`core.deletion_requests()`): someone a bot recorded, with no
//! account here, asks an org to erase what its meetings hold of them.
//!
//! 1. They submit their name, email, the meeting (a link or a date) and a message — through the
//!    public form or `POST /api/v1/deletion-requests` — rate limited per client IP and per
//!    email address. The details are sealed under the org's key; a token goes to the email
//!    address (SMTP from `[email]`, or the log in development) and only its SHA-256 is stored.
//! 2. The token confirms the request within a day (an unconfirmed one is then deleted); from
//!    then on the org's owners and admins see it.
//! 3. An owner or admin rejects it with a reason, or completes it by naming the speaker it is
//!    in each meeting (`erase.rs`): that participant's transcript segments, chat messages,
//!    per-speaker audio, participant records and content events are deleted, with a signed
//!    certificate (subject `participant`).
//! 4. The requester fetches the outcome (and the certificate) with the same token, and is
//!    emailed it.
//!
//! The audit log names the request by id only; the details never leave the sealed row but to
//! the org's owners and admins.

mod erase;

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use meetvault_store::requests::DeletionRequestRow;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::access::proof::OrgManage;
use crate::access::{Actor, Scope};
use crate::audit::{AuditAction, Event, Outcome};
use crate::auth::Limited;
use crate::certificates::CertificateView;
use crate::email::Email;
use crate::ids::{CertificateId, DeletionRequestId, OrgId, UserId};
use crate::vault::check_text;
use crate::{Core, CoreError};

pub(crate) use erase::KIND;
pub use erase::{MixedRecordings, Target};

/// How long a request waits for its token before it is deleted.
const CONFIRM_WITHIN_MS: i64 = 24 * 60 * 60 * 1000;
/// The prefix of a requester's token.
const TOKEN_PREFIX: &str = "mvdr_";

/// What a participant submits.
#[derive(Debug, Clone)]
pub struct NewDeletionRequest {
    /// None: the instance's only org.
    pub org_id: Option<OrgId>,
    pub name: String,
    pub email: String,
    /// The meeting: its link, or its date and time.
    pub meeting: String,
    pub message: Option<String>,
    /// The client's address, for the rate limit.
    pub ip: Option<IpAddr>,
}

/// The personal part of a request, sealed under the org's key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Details {
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) meeting: String,
    #[serde(default)]
    pub(crate) message: Option<String>,
}

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Unconfirmed,
    Open,
    /// An owner or admin began its completion; nobody else can complete or reject it.
    Completing,
    Completed,
    Rejected,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unconfirmed => "unconfirmed",
            Self::Open => "open",
            Self::Completing => "completing",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Unconfirmed,
            Self::Open,
            Self::Completing,
            Self::Completed,
            Self::Rejected,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// What the submitter is told: the request exists and waits for its token.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub id: DeletionRequestId,
    pub expires_at: DateTime<Utc>,
}

/// A request as its requester sees it (with their token): state, the owner's reason or note,
/// and the certificate once completed.
#[derive(Debug, Clone)]
pub struct RequesterView {
    pub id: DeletionRequestId,
    pub state: RequestState,
    pub org_name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision: Option<String>,
    pub certificate: Option<CertificateView>,
}

/// A request as the org's owners and admins see it.
#[derive(Debug, Clone)]
pub struct DeletionRequestView {
    pub id: DeletionRequestId,
    pub state: RequestState,
    pub name: String,
    pub email: String,
    pub meeting: String,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<UserId>,
    pub decision: Option<String>,
    pub certificate_id: Option<CertificateId>,
}

/// How an owner completes a request.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The participant in each meeting, by the speaker name the transcript shows.
    pub targets: Vec<Target>,
    pub mixed_recordings: MixedRecordings,
    /// Told to the requester.
    pub note: Option<String>,
}

/// The deletion requests service.
#[derive(Debug, Clone, Copy)]
pub struct DeletionRequests<'a> {
    pub(crate) core: &'a Core,
}

fn ms(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t).unwrap_or_default()
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

/// A plausible mailbox: one `@`, something on each side, a dot in the domain, no spaces or
/// angle brackets, at most 254 characters. The emailed token proves the rest.
fn check_email(email: &str) -> Result<String, CoreError> {
    let email = email.trim();
    let bad = || CoreError::invalid("email", "must be an email address like name@example.com");
    if email.is_empty() || email.len() > 254 {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
    {
        return Err(bad());
    }
    Ok(email.to_owned())
}

/// A required text field: trimmed, at most `max` characters, one line (no control
/// characters at all: a name or a meeting is repeated into emails, where a line break would let
/// anyone write their own text into a message sent in the org's name).
fn required(field: &'static str, value: &str, max: usize) -> Result<String, CoreError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(CoreError::invalid(field, "is required"));
    }
    check_text(field, v, max)?;
    if v.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            field,
            "must be one line, without control characters",
        ));
    }
    Ok(v.to_owned())
}

/// Free text (a message, a reason, a note): like [`required`], but line breaks and tabs are
/// allowed.
fn required_text(field: &'static str, value: &str, max: usize) -> Result<String, CoreError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(CoreError::invalid(field, "is required"));
    }
    check_text(field, v, max)?;
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(CoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.to_owned())
}

impl DeletionRequests<'_> {
    /// Takes a request: checks it, counts it against the client IP's and the email address's
    /// hourly quota, stores it sealed and emails the token. Nothing is kept when the email
    /// cannot be sent.
    pub async fn submit(self, new: NewDeletionRequest) -> Result<Submitted, CoreError> {
        let core = self.core;
        let name = required("name", &new.name, 200)?;
        let email = check_email(&new.email)?;
        let meeting = required("meeting", &new.meeting, 500)?;
        let message = match new.message.as_deref().map(str::trim) {
            Some(m) if !m.is_empty() => Some(required_text("message", m, 4000)?),
            _ => None,
        };
        let org = match new.org_id {
            Some(org) => core
                .db()
                .org(org.uuid())
                .await?
                .ok_or(CoreError::NotFound("organization"))?,
            None => {
                let only = core.db().sole_org().await?.ok_or_else(|| {
                    CoreError::invalid(
                        "org_id",
                        "this server has several organizations: name the one whose meeting it was (the link you were given carries it)",
                    )
                })?;
                core.db()
                    .org(only)
                    .await?
                    .ok_or(CoreError::NotFound("organization"))?
            }
        };
        core.count_attempt(
            Limited::DeletionRequest,
            new.ip,
            Some(&email.to_lowercase()),
        )
        .await?;

        let id = Uuid::new_v4();
        let token = Zeroizing::new(format!("{TOKEN_PREFIX}{}", {
            use rand::RngCore as _;
            let mut raw = Zeroizing::new([0u8; 32]);
            rand::rng().fill_bytes(raw.as_mut());
            URL_SAFE_NO_PAD.encode(raw.as_ref())
        }));
        let details = Details {
            name,
            email: email.clone(),
            meeting,
            message,
        };
        let plain = Zeroizing::new(serde_json::to_vec(&details).map_err(CoreError::internal)?);
        let sealed = core
            .seal_org_field(org.id, "deletion_requests", id, "details", &plain)
            .await?;
        let now = Utc::now().timestamp_millis();
        let row = DeletionRequestRow {
            id,
            org_id: org.id,
            token_hash: token_hash(&token),
            details: sealed,
            state: RequestState::Unconfirmed.as_str().into(),
            decision: None,
            decided_by: None,
            certificate_id: None,
            created_at: now,
            expires_at: now + CONFIRM_WITHIN_MS,
            confirmed_at: None,
            decided_at: None,
        };
        core.db().insert_deletion_request(&row).await?;
        let mail = Email {
            to: email,
            subject: format!("Confirm your deletion request to {}", org.name),
            body: confirm_body(core, &org.name, &details.name, &token),
        };
        if let Err(e) = core.mailer().send(&mail).await {
            core.db().delete_deletion_request(org.id, id).await?;
            return Err(e);
        }
        let mut event = Event::new(
            AuditAction::DeletionRequestSubmit,
            Actor::Anonymous,
            Outcome::Success,
        );
        event.org_id = Some(OrgId::from(org.id));
        event.resource = Some(DeletionRequestId::from(id).to_string());
        core.audit(event).await?;
        Ok(Submitted {
            id: id.into(),
            expires_at: ms(row.expires_at),
        })
    }

    /// Confirms a request with its token (again: a no-op); an expired token is gone.
    pub async fn confirm(self, token: &str) -> Result<RequesterView, CoreError> {
        let row = self.by_token(token).await?;
        if row.state == RequestState::Unconfirmed.as_str() {
            let now = Utc::now().timestamp_millis();
            let received = changed(row.org_id, row.id, RequestState::Open, None, now)?;
            if !self
                .core
                .db()
                .confirm_deletion_request(row.id, now, &[received])
                .await?
            {
                // Confirmed meanwhile (a second click), or expired just now.
                let again = self.by_token(token).await?;
                if again.state == RequestState::Unconfirmed.as_str() {
                    return Err(CoreError::Gone(
                        "this request was not confirmed in time; submit it again".into(),
                    ));
                }
                return self.status(token).await;
            }
            let mut event = Event::new(
                AuditAction::DeletionRequestConfirm,
                Actor::Anonymous,
                Outcome::Success,
            );
            event.org_id = Some(OrgId::from(row.org_id));
            event.resource = Some(DeletionRequestId::from(row.id).to_string());
            self.core.audit(event).await?;
        }
        self.status(token).await
    }

    /// Where a request is, for its requester.
    pub async fn status(self, token: &str) -> Result<RequesterView, CoreError> {
        let row = self.by_token(token).await?;
        let org = self
            .core
            .db()
            .org(row.org_id)
            .await?
            .ok_or(CoreError::NotFound("deletion request"))?;
        // A certificate still being issued (its deletion resumes) shows once it is.
        let certificate = match row.certificate_id {
            Some(c) => match self
                .core
                .certificates()
                .public(CertificateId::from(c))
                .await
            {
                Ok(v) => Some(v),
                Err(CoreError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let state = state_of(&row)?;
        Ok(RequesterView {
            id: row.id.into(),
            state,
            org_name: org.name,
            created_at: ms(row.created_at),
            expires_at: (state == RequestState::Unconfirmed).then(|| ms(row.expires_at)),
            confirmed_at: row.confirmed_at.map(ms),
            decided_at: row.decided_at.map(ms),
            decision: self.decision(&row).await?,
            certificate,
        })
    }

    async fn by_token(self, token: &str) -> Result<DeletionRequestRow, CoreError> {
        let token = token.trim();
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 100 {
            return Err(CoreError::NotFound("deletion request"));
        }
        let row = self
            .core
            .db()
            .deletion_request_by_token(&token_hash(token))
            .await?
            .ok_or(CoreError::NotFound("deletion request"))?;
        if row.state == RequestState::Unconfirmed.as_str()
            && row.expires_at <= Utc::now().timestamp_millis()
        {
            return Err(CoreError::Gone(
                "this request was not confirmed in time; submit it again".into(),
            ));
        }
        Ok(row)
    }

    /// The org's confirmed requests, newest first (only those in `state` when given).
    pub async fn list(
        self,
        scope: &Scope<OrgManage>,
        state: Option<RequestState>,
        limit: u32,
    ) -> Result<Vec<DeletionRequestView>, CoreError> {
        let rows = self
            .core
            .db()
            .deletion_requests(
                scope.org_id().uuid(),
                state.map(RequestState::as_str),
                i64::from(limit.clamp(1, 200)),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.view(row).await?);
        }
        Ok(out)
    }

    pub async fn get(
        self,
        scope: &Scope<OrgManage>,
        id: DeletionRequestId,
    ) -> Result<DeletionRequestView, CoreError> {
        let row = self.row(scope, id).await?;
        self.view(&row).await
    }

    /// Rejects an open request with a reason the requester is told.
    pub async fn reject(
        self,
        scope: &Scope<OrgManage>,
        id: DeletionRequestId,
        reason: &str,
    ) -> Result<DeletionRequestView, CoreError> {
        let reason = required_text("reason", reason, 2000)?;
        let row = self.open_row(scope, id).await?;
        let sealed = self
            .core
            .seal_org_field(
                row.org_id,
                "deletion_requests",
                row.id,
                "decision",
                reason.as_bytes(),
            )
            .await?;
        let now = Utc::now().timestamp_millis();
        if !self
            .core
            .db()
            .decide_deletion_request(
                row.org_id,
                row.id,
                RequestState::Rejected.as_str(),
                Some(&sealed),
                Some(scope.user_id().uuid()),
                None,
                now,
                &[changed(
                    row.org_id,
                    row.id,
                    RequestState::Rejected,
                    None,
                    now,
                )?],
            )
            .await?
        {
            return Err(CoreError::Conflict("the request is no longer open".into()));
        }
        self.core
            .audit(Event::by(scope, AuditAction::DeletionRequestReject).resource(id))
            .await?;
        let details = self.details(&row).await?;
        let org = self.core.db().org(row.org_id).await?;
        let org_name = org.map(|o| o.name).unwrap_or_default();
        self.core
            .notify(Email {
                to: details.email.clone(),
                subject: format!("Your deletion request to {org_name} was declined"),
                body: format!(
                    "Hello {},\n\n{org_name} declined your request to delete what its meetings hold of you.\n\nTheir reason: {reason}\n\nYou can reply to them directly, or submit a new request.\n",
                    details.name
                ),
            })
            .await;
        self.get(scope, id).await
    }

    /// Completes an open request: erases the participant from each target meeting and returns
    /// the certificate.
    pub async fn complete(
        self,
        scope: &Scope<OrgManage>,
        id: DeletionRequestId,
        completion: Completion,
    ) -> Result<CertificateView, CoreError> {
        let row = self.row(scope, id).await?;
        if row.state == RequestState::Completing.as_str() {
            // A completion a crash cut off: finish that one (this call's targets are not used).
            if let Some(cert) = self
                .core
                .db()
                .certificate_of(KIND, row.id)
                .await?
                .filter(|c| c.state == "pending")
            {
                return self
                    .core
                    .finish_participant_erasure(&cert, scope.actor())
                    .await;
            }
        } else if row.state != RequestState::Open.as_str() {
            return Err(CoreError::Conflict(format!(
                "the request is {} already",
                row.state
            )));
        }
        let details = self.details(&row).await?;
        let note = match completion.note.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => Some(required_text("note", n, 2000)?),
            _ => None,
        };
        let cert = self
            .core
            .begin_participant_erasure(
                scope.user_id().uuid(),
                &row,
                &details.email,
                completion,
                note,
            )
            .await?;
        self.core
            .finish_participant_erasure(&cert, scope.actor())
            .await
    }

    async fn row(
        self,
        scope: &Scope<OrgManage>,
        id: DeletionRequestId,
    ) -> Result<DeletionRequestRow, CoreError> {
        self.core
            .db()
            .deletion_request(scope.org_id().uuid(), id.uuid())
            .await?
            .filter(|r| r.state != RequestState::Unconfirmed.as_str())
            .ok_or(CoreError::NotFound("deletion request"))
    }

    async fn open_row(
        self,
        scope: &Scope<OrgManage>,
        id: DeletionRequestId,
    ) -> Result<DeletionRequestRow, CoreError> {
        let row = self.row(scope, id).await?;
        if row.state != RequestState::Open.as_str() {
            return Err(CoreError::Conflict(format!(
                "the request is {} already",
                row.state
            )));
        }
        Ok(row)
    }

    async fn details(self, row: &DeletionRequestRow) -> Result<Details, CoreError> {
        self.core.request_details(row).await
    }

    async fn decision(self, row: &DeletionRequestRow) -> Result<Option<String>, CoreError> {
        match &row.decision {
            Some(sealed) => {
                let plain = self
                    .core
                    .open_org_field(row.org_id, "deletion_requests", row.id, "decision", sealed)
                    .await?;
                Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
            }
            None => Ok(None),
        }
    }

    async fn view(self, row: &DeletionRequestRow) -> Result<DeletionRequestView, CoreError> {
        let d = self.details(row).await?;
        Ok(DeletionRequestView {
            id: row.id.into(),
            state: state_of(row)?,
            name: d.name,
            email: d.email,
            meeting: d.meeting,
            message: d.message,
            created_at: ms(row.created_at),
            confirmed_at: row.confirmed_at.map(ms),
            decided_at: row.decided_at.map(ms),
            decided_by: row.decided_by.map(UserId::from),
            decision: self.decision(row).await?,
            certificate_id: row.certificate_id.map(CertificateId::from),
        })
    }
}

/// The outbox event of a request's new state (ids only), for webhooks.
pub(crate) fn changed(
    org: Uuid,
    id: Uuid,
    state: RequestState,
    certificate: Option<Uuid>,
    at: i64,
) -> Result<meetvault_store::outbox::NewEvent, CoreError> {
    crate::events::outbox_event(
        org,
        &crate::events::DomainEvent::DeletionRequestChanged(
            crate::events::DeletionRequestChanged {
                request_id: id.into(),
                state: state.as_str().into(),
                certificate_id: certificate.map(CertificateId::from),
                at,
            },
        ),
        None,
    )
}

fn state_of(row: &DeletionRequestRow) -> Result<RequestState, CoreError> {
    RequestState::parse(&row.state).ok_or_else(|| {
        CoreError::Integrity(format!(
            "deletion request {} has an unknown state {:?}",
            row.id, row.state
        ))
    })
}

/// The start of the links in a requester's emails: `server.public_url`, or nothing (the
/// links are then bare paths).
pub(crate) fn public_base(core: &Core) -> String {
    core.config()
        .server
        .public_url
        .as_ref()
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// The link where a requester follows their request.
fn status_link(core: &Core, token: &str) -> String {
    format!(
        "{}/privacy/deletion-request/status?token={token}",
        public_base(core)
    )
}

fn confirm_body(core: &Core, org: &str, name: &str, token: &str) -> String {
    format!(
        "Hello {name},\n\n\
         Someone — we hope you — asked {org} to delete what its meetings recorded of you. \
         To confirm the request, open this page within 24 hours and press Confirm:\n\n  {}\n\n\
         Keep this email: the same page shows what {org} decided and, once your data is deleted, \
         its signed deletion certificate.\n\n\
         Your request code: {token}\n\n\
         If you did not ask for this, ignore this email; the request is dropped in 24 hours.\n",
        status_link(core, token)
    )
}

impl Core {
    pub(crate) async fn request_details(
        &self,
        row: &DeletionRequestRow,
    ) -> Result<Details, CoreError> {
        let plain = self
            .open_org_field(
                row.org_id,
                "deletion_requests",
                row.id,
                "details",
                &row.details,
            )
            .await?;
        serde_json::from_slice(&plain)
            .map_err(|e| CoreError::Integrity(format!("deletion request details: {e}")))
    }

    /// Sends a notice that is not worth failing the action over (the outcome is on the status
    /// page too): a failure is logged.
    pub(crate) async fn notify(&self, email: Email) {
        if let Err(e) = self.mailer().send(&email).await {
            tracing::warn!(error = %e, "a deletion request's notice could not be emailed; the requester can still see the outcome on its status page");
        }
    }

    /// Deletes the requests whose token expired unconfirmed; returns how many.
    pub(crate) async fn sweep_deletion_requests(&self, now: i64) -> Result<u64, CoreError> {
        let mut total = 0;
        loop {
            let n = self.db().delete_expired_deletion_requests(now, 500).await?;
            total += n;
            if n < 500 {
                return Ok(total);
            }
        }
    }
}
