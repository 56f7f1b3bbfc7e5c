//! Participant deletion requests as the API shows them: what a participant submits, what they
//! see with their token, and what the org's owners and admins see and decide.

use chrono::{DateTime, Utc};
use meetvault_core::ids::MeetingId;
use meetvault_core::requests::{
    self as core, DeletionRequestView, MixedRecordings, RequestState, RequesterView,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::certificates::CertificateEnvelope;
use super::ids;

/// A participant's request: no account needed.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeletionRequestBody {
    /// `org_…`: the organization whose meeting it was (the link a bot's consent message gives
    /// carries it). Optional on a server with a single organization.
    #[serde(default)]
    pub org_id: Option<String>,
    /// The name the participant used in the meeting.
    pub name: String,
    /// Where the confirmation token and the outcome go.
    pub email: String,
    /// The meeting: its link, or its date and time.
    pub meeting: String,
    #[serde(default)]
    pub message: Option<String>,
}

/// The request was taken; its token was emailed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeletionRequestSubmitted {
    #[schema(value_type = ids::DeletionRequestId)]
    pub id: meetvault_core::ids::DeletionRequestId,
    /// Always `unconfirmed`: the emailed token confirms it.
    pub state: String,
    /// Confirm before this, or the request is dropped.
    pub expires_at: DateTime<Utc>,
}

/// The requester's token (from the email).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestTokenBody {
    pub token: String,
}

/// A request as its requester sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequesterStatus {
    #[schema(value_type = ids::DeletionRequestId)]
    pub id: meetvault_core::ids::DeletionRequestId,
    /// `unconfirmed`, `open`, `completing` (being carried out), `completed` or `rejected`.
    pub state: String,
    pub organization: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The organization's reason (rejected) or note (completed).
    pub decision: Option<String>,
    /// Once completed: the signed deletion certificate.
    pub certificate: Option<CertificateEnvelope>,
}

impl From<RequesterView> for RequesterStatus {
    fn from(v: RequesterView) -> Self {
        Self {
            id: v.id,
            state: v.state.as_str().into(),
            organization: v.org_name,
            created_at: v.created_at,
            expires_at: v.expires_at,
            confirmed_at: v.confirmed_at,
            decided_at: v.decided_at,
            decision: v.decision,
            certificate: v.certificate.map(CertificateEnvelope::from),
        }
    }
}

/// A request as the organization's owners and admins see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeletionRequest {
    #[schema(value_type = ids::DeletionRequestId)]
    pub id: meetvault_core::ids::DeletionRequestId,
    /// `open`, `completing` (being carried out), `completed` or `rejected`.
    pub state: String,
    pub name: String,
    pub email: String,
    pub meeting: String,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<ids::UserId>)]
    pub decided_by: Option<meetvault_core::ids::UserId>,
    pub decision: Option<String>,
    #[schema(value_type = Option<ids::CertificateId>)]
    pub certificate_id: Option<meetvault_core::ids::CertificateId>,
}

impl From<DeletionRequestView> for DeletionRequest {
    fn from(v: DeletionRequestView) -> Self {
        Self {
            id: v.id,
            state: v.state.as_str().into(),
            name: v.name,
            email: v.email,
            meeting: v.meeting,
            message: v.message,
            created_at: v.created_at,
            confirmed_at: v.confirmed_at,
            decided_at: v.decided_at,
            decided_by: v.decided_by,
            decision: v.decision,
            certificate_id: v.certificate_id,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeletionRequestList {
    pub requests: Vec<DeletionRequest>,
}

/// The participant in one meeting.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    #[schema(value_type = ids::MeetingId)]
    pub meeting_id: String,
    /// The speaker name the meeting's transcript shows for the participant.
    pub speaker: String,
}

/// Completes a request: erases the participant from each meeting named.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    pub targets: Vec<TargetBody>,
    /// `delete` (default): the meetings' mixed recordings, which hold every voice, go too;
    /// `keep`: they stay, and the certificate says so.
    #[serde(default)]
    pub mixed_recordings: Option<String>,
    /// Told to the requester.
    #[serde(default)]
    pub note: Option<String>,
}

/// Rejects a request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Told to the requester.
    pub reason: String,
}

pub fn mixed(v: Option<&str>) -> Result<MixedRecordings, &'static str> {
    match v {
        None | Some("delete") => Ok(MixedRecordings::Delete),
        Some("keep") => Ok(MixedRecordings::Keep),
        Some(_) => Err("must be `delete` or `keep`"),
    }
}

pub fn target(meeting_id: MeetingId, speaker: String) -> core::Target {
    core::Target {
        meeting_id,
        speaker,
    }
}

pub fn state(s: &str) -> Option<RequestState> {
    RequestState::parse(s).filter(|s| *s != RequestState::Unconfirmed)
}
