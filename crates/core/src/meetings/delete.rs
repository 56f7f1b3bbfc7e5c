//! Deleting a meeting, certified. The order is what makes it safe: count what the meeting
//! holds and write the pending certificate (so a crash anywhere after is finished by a retry,
//! or by the sweeper, and certified once); destroy the meeting's keys (crypto-shredding: every
//! copy of its ciphertext anywhere, backups included, becomes unreadable); delete its rows,
//! then its blobs; audit the deletion; issue the certificate.

use std::collections::BTreeMap;

use chrono::Utc;
use meetvault_store::BlobKey;
use meetvault_store::certificates::{CertificateRow, MeetingInventory};
use meetvault_store::vault::MeetingRow;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Meetings;
use crate::access::proof::MeetingsDelete;
use crate::access::{Actor, Scope};
use crate::audit::{AuditAction, Event, format_time};
use crate::certificates::bucket::{self, BucketObject, BucketOutcome};
use crate::certificates::{
    self, Certificate, CertificateView, Deleted, DestroyedKey, Retained, Subject, document,
};
use crate::events::{DomainEvent, outbox_event};
use crate::ids::{CertificateId, MeetingId, OrgId, WorkspaceId};
use crate::{Core, CoreError};

/// The kind a meeting's certificate names.
pub(crate) const KIND: &str = "meeting";

/// Why a retention deletion leaves objects in a customer's bucket it may delete.
const RETENTION_KEEPS: &str = "delivered to the customer's own bucket; retention deletes the customer's copies only of recordings, and only under a recordings window of N days, so these stay the customer's (method: not permitted)";

/// What a meeting's deletion counted before it began, kept on its pending certificate: counts,
/// key versions and blob keys (ids only), never content.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Draft {
    inventory: MeetingInventory,
    workspace_id: Uuid,
    /// The recordings' blobs still held here (deleted again on a retry).
    recording_blobs: Vec<String>,
    /// A bot's captured audio chunks under the meeting's prefix: how many, how many bytes.
    chunk_blobs: u64,
    chunk_bytes: u64,
    actor: String,
    requested_at: String,
    salt: String,
    subject_digest: String,
    /// The policy that deleted it, when retention did.
    #[serde(default)]
    policy: Option<String>,
    /// What meetvault wrote into customers' buckets for it (from the ledger).
    #[serde(default)]
    bucket_objects: Vec<BucketObject>,
    /// What deleting them did, once done: a retry certifies the same.
    #[serde(default)]
    bucket_outcome: Option<BucketOutcome>,
    /// Objects in customers' buckets a retention deletion leaves, counted by why.
    #[serde(default)]
    bucket_kept: BTreeMap<String, u64>,
    /// The deletion's `meeting.delete` audit entry, once appended.
    #[serde(default)]
    audit_seq: Option<i64>,
    /// The certificate to sign, once built: a retry signs these very bytes.
    #[serde(default)]
    certificate: Option<Certificate>,
}

impl Meetings<'_> {
    /// Deletes a meeting and returns its deletion certificate. Idempotent: deleting a meeting
    /// that is gone returns its certificate (finishing first a deletion a crash cut off).
    pub async fn delete(
        self,
        scope: &Scope<MeetingsDelete>,
        meeting: MeetingId,
    ) -> Result<CertificateView, CoreError> {
        let org = scope.org_id().uuid();
        // Only whether it exists: the row itself comes from the reach check below.
        if self.core.db().meeting(org, meeting.uuid()).await?.is_none() {
            // Already gone; make sure no key survived an interrupted earlier delete.
            self.core
                .encryption()
                .shred_meeting_keys(org.into(), meeting)
                .await?;
            let Some(cert) = self.core.db().certificate_of(KIND, meeting.uuid()).await? else {
                return Err(CoreError::NotFound("meeting"));
            };
            let draft = cert.draft.as_deref().map(serde_json::from_str::<Draft>);
            let workspace = match &draft {
                Some(Ok(d)) => Some(WorkspaceId::from(d.workspace_id)),
                _ => None,
            };
            if cert.org_id != org || workspace.is_some_and(|w| !scope.reaches(w)) {
                return Err(CoreError::NotFound("meeting"));
            }
            return if cert.state == "issued" {
                self.core.certificate_view(&cert).await
            } else {
                self.core
                    .finish_meeting_deletion(&cert, Event::by(scope, AuditAction::MeetingDelete))
                    .await
            };
        }
        let row = self.core.meeting_row(scope, meeting).await?;
        self.core
            .queue()
            .cancel_for(org, row.id)
            .await
            .map_err(crate::jobs_error)?;
        // The title, where this instance can read it, goes into the subject digest only.
        let title = match self.core.meeting_keys_for(scope, &row).await {
            Ok(keys) => keys
                .text(row.org_id, "meetings", row.id, "title", &row.title)
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        let cert = self
            .core
            .begin_meeting_deletion(&row, &title, scope.actor(), None, None)
            .await?;
        self.core
            .finish_meeting_deletion(&cert, Event::by(scope, AuditAction::MeetingDelete))
            .await
    }
}

impl Core {
    /// The first step of a meeting's deletion: counts what it holds and writes the pending
    /// certificate (or finds the one a cut-off deletion wrote). `policy` names the retention
    /// policy that deletes it, when one does, and `bucket` which of its objects in customers'
    /// buckets that policy reaches (none: every one, where the destination allows).
    pub(crate) async fn begin_meeting_deletion(
        &self,
        row: &MeetingRow,
        title: &str,
        actor: Actor,
        policy: Option<String>,
        bucket: Option<Vec<BucketObject>>,
    ) -> Result<CertificateRow, CoreError> {
        let org = row.org_id;
        let inventory = self.db().meeting_inventory(org, row.id).await?;
        let recording_blobs = self
            .db()
            .recordings(org, row.id)
            .await?
            .into_iter()
            .filter(|r| r.local_deleted_at.is_none())
            .map(|r| r.blob_key)
            .collect();
        let chunks = self.blobs().list(&chunk_prefix(org, row.id)).await?;
        let mut bucket_objects = self.bucket_objects_of(org, row.id).await?;
        let mut bucket_kept = BTreeMap::new();
        if let Some(reached) = bucket {
            let (reach, stay): (Vec<_>, Vec<_>) = bucket_objects
                .into_iter()
                .partition(|o| reached.contains(o));
            bucket_objects = reach;
            for o in stay {
                let why = match self.db().destination(org, o.destination_id).await? {
                    None => bucket::DESTINATION_GONE,
                    Some(d) if !d.allow_delete => bucket::NOT_PERMITTED,
                    Some(_) => RETENTION_KEEPS,
                };
                *bucket_kept.entry(why.to_owned()).or_default() += 1;
            }
        }
        let salt = certificates::fresh_salt();
        let draft = Draft {
            inventory,
            workspace_id: row.workspace_id,
            recording_blobs,
            chunk_blobs: chunks.len() as u64,
            chunk_bytes: chunks.iter().map(|m| m.size).sum(),
            actor: actor.to_string(),
            requested_at: format_time(Utc::now()),
            salt: hex::encode(salt),
            policy,
            bucket_objects,
            bucket_outcome: None,
            bucket_kept,
            audit_seq: None,
            certificate: None,
            subject_digest: document::subject_digest(
                &salt,
                KIND,
                &MeetingId::from(row.id).to_string(),
                title,
            ),
        };
        let cert = self.begin_certificate(org, KIND, row.id, &draft).await?;
        Ok(cert)
    }

    /// The `test-access` door to a deletion cut off after its first step (what a crash there
    /// leaves: a pending certificate and the meeting still whole).
    #[cfg(feature = "test-access")]
    pub async fn begin_meeting_deletion_for_tests(
        &self,
        org: Uuid,
        meeting: Uuid,
    ) -> Result<(), CoreError> {
        let row = self
            .db()
            .meeting(org, meeting)
            .await?
            .ok_or(CoreError::NotFound("meeting"))?;
        self.begin_meeting_deletion(&row, "", Actor::System, None, None)
            .await?;
        Ok(())
    }

    /// Does (or redoes: every step is idempotent) a meeting deletion whose pending certificate
    /// is `cert`, then issues the certificate. `event` is the `meeting.delete` audit entry as
    /// its caller knows it (a request's, with its personal data; or the sweeper's).
    pub(crate) async fn finish_meeting_deletion(
        &self,
        cert: &CertificateRow,
        event: Event,
    ) -> Result<CertificateView, CoreError> {
        let actor = event.actor;
        let certificate = self.prepare_meeting_certificate(cert, event).await?;
        self.issue_certificate(cert, actor, &certificate).await
    }

    /// Every step of a meeting deletion but the signing: deletes (idempotently), audits the
    /// deletion once, and keeps the certificate it will sign on the pending row, so a retry after
    /// a crash signs the very same bytes (and appends no second `meeting.delete`).
    async fn prepare_meeting_certificate(
        &self,
        cert: &CertificateRow,
        mut event: Event,
    ) -> Result<Certificate, CoreError> {
        let mut draft: Draft = serde_json::from_str(cert.draft.as_deref().unwrap_or_default())
            .map_err(CoreError::internal)?;
        let (org, meeting) = (cert.org_id, cert.subject_id);
        self.encryption()
            .shred_meeting_keys(org.into(), meeting.into())
            .await?;
        let deleted = outbox_event(
            org,
            &DomainEvent::MeetingDeleted {
                meeting_id: meeting.into(),
                workspace_id: Some(draft.workspace_id.into()),
                certificate_id: Some(CertificateId::from(cert.id)),
            },
            None,
        )?;
        self.db().delete_meeting(org, meeting, &[deleted]).await?;
        self.events().wake(meeting);
        for key in &draft.recording_blobs {
            // The blob is unreadable already (its key is gone); a failed delete is retried.
            self.delete_blob(&BlobKey::parse(key)?).await;
        }
        for m in self.blobs().list(&chunk_prefix(org, meeting)).await? {
            self.delete_blob(&BlobKey::parse(&m.key)?).await;
        }
        if let Some(certificate) = draft.certificate {
            return Ok(certificate);
        }
        if draft.bucket_outcome.is_none() {
            let outcome = self
                .delete_bucket_objects(org, &draft.bucket_objects)
                .await?;
            draft.bucket_outcome = Some(outcome);
            let text = serde_json::to_string(&draft).map_err(CoreError::internal)?;
            self.db().save_certificate_draft(cert.id, &text).await?;
        }
        let seq = match draft.audit_seq {
            Some(seq) => seq,
            None => {
                event.org_id = Some(OrgId::from(org));
                event.resource = Some(MeetingId::from(meeting).to_string());
                event.reason = Some(if draft.inventory.key_versions.is_empty() {
                    "no_keys"
                } else {
                    "keys_destroyed"
                });
                self.audit(event).await?
            }
        };
        draft.audit_seq = Some(seq);
        let certificate = self.meeting_certificate(cert, &draft, seq);
        draft.certificate = Some(certificate.clone());
        let text = serde_json::to_string(&draft).map_err(CoreError::internal)?;
        self.db().save_certificate_draft(cert.id, &text).await?;
        Ok(certificate)
    }

    /// The `test-access` door to a deletion cut off just before its certificate was signed
    /// (everything deleted and audited, the certificate kept on the pending row).
    #[cfg(feature = "test-access")]
    pub async fn prepare_meeting_certificate_for_tests(
        &self,
        meeting: Uuid,
    ) -> Result<(), CoreError> {
        let cert = self
            .db()
            .certificate_of(KIND, meeting)
            .await?
            .ok_or(CoreError::NotFound("certificate"))?;
        let event = Event::new(
            AuditAction::MeetingDelete,
            Actor::System,
            crate::audit::Outcome::Success,
        );
        self.prepare_meeting_certificate(&cert, event).await?;
        Ok(())
    }

    fn meeting_certificate(
        &self,
        cert: &CertificateRow,
        draft: &Draft,
        audit_seq: i64,
    ) -> Certificate {
        let inv = &draft.inventory;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        let shred_rows = "crypto_shred+row_delete";
        let mut deleted = vec![
            Deleted {
                kind: "meeting".into(),
                count: 1,
                bytes: None,
                method: shred_rows.into(),
            },
            Deleted {
                kind: "participants".into(),
                count: n(inv.participants),
                bytes: None,
                method: shred_rows.into(),
            },
            Deleted {
                kind: "transcript_segments".into(),
                count: n(inv.segments),
                bytes: None,
                method: shred_rows.into(),
            },
            Deleted {
                kind: "summaries_and_search_index".into(),
                count: n(inv.summaries),
                bytes: None,
                method: shred_rows.into(),
            },
            Deleted {
                kind: "documents".into(),
                count: n(inv.documents),
                bytes: None,
                method: shred_rows.into(),
            },
            Deleted {
                kind: "recordings".into(),
                count: n(inv.recordings - inv.recordings_local_deleted),
                bytes: Some(n(inv.recording_bytes)),
                method: "crypto_shred+row_delete+object_delete".into(),
            },
            Deleted {
                kind: "bots".into(),
                count: n(inv.bots),
                bytes: None,
                method: "row_delete".into(),
            },
            Deleted {
                kind: "bot_events".into(),
                count: n(inv.bot_events),
                bytes: None,
                method: "row_delete".into(),
            },
            Deleted {
                kind: "chat_messages".into(),
                count: n(inv.chat_messages),
                bytes: None,
                method: shred_rows.into(),
            },
            Deleted {
                kind: "audio_chunks".into(),
                count: draft.chunk_blobs.max(n(inv.audio_chunks)),
                bytes: Some(draft.chunk_bytes),
                method: "crypto_shred+row_delete+object_delete".into(),
            },
            Deleted {
                kind: "outbox_events".into(),
                count: n(inv.outbox_events),
                bytes: None,
                method: "row_delete".into(),
            },
        ];
        if inv.recordings_local_deleted > 0 {
            deleted.push(Deleted {
                kind: "recordings_deleted_after_delivery".into(),
                count: n(inv.recordings_local_deleted),
                bytes: None,
                method: "row_delete".into(),
            });
        }
        let mut retained = vec![
            Retained {
                kind: "audit_entries".into(),
                count: None,
                reason: "the append-only audit log keeps what was done (ids and actions, no content); personal data in it is erased with its subject".into(),
            },
            certificates::this_certificate_kept(),
            Retained {
                kind: "outbox_event".into(),
                count: Some(1),
                reason: "the meeting.deleted event (ids only), delivered to webhooks and pruned with the event log".into(),
            },
        ];
        if inv.webhook_deliveries > 0 {
            retained.push(Retained {
                kind: "webhook_delivery_log".into(),
                count: Some(n(inv.webhook_deliveries)),
                reason: "deliveries already made (ids, states and links; content only where an endpoint opted in, sealed under the destroyed key) stay in the delivery log until its retention prunes them".into(),
            });
        }
        BucketOutcome::certify(draft.bucket_outcome.as_ref(), &mut deleted, &mut retained);
        retained.extend(draft.bucket_kept.iter().map(|(reason, count)| Retained {
            kind: "customer_bucket_objects".into(),
            count: Some(*count),
            reason: reason.clone(),
        }));
        if inv.deliveries_before_ledger > 0 {
            retained.push(bucket::before_ledger(inv.deliveries_before_ledger));
        }
        let meeting_id = MeetingId::from(cert.subject_id);
        Certificate {
            format: document::FORMAT.into(),
            id: CertificateId::from(cert.id).to_string(),
            issuer: self.certificate_issuer(),
            subject: Subject {
                kind: KIND.into(),
                id: meeting_id.to_string(),
                org: OrgId::from(cert.org_id).to_string(),
                salt: draft.salt.clone(),
                digest: draft.subject_digest.clone(),
            },
            part: None,
            policy: draft.policy.clone(),
            includes: Vec::new(),
            deleted,
            keys_destroyed: inv
                .key_versions
                .iter()
                .map(|v| DestroyedKey {
                    key: format!("meeting:{meeting_id}"),
                    version: u32::try_from(*v).unwrap_or(0),
                })
                .collect(),
            retained,
            actor: draft.actor.clone(),
            requested_at: draft.requested_at.clone(),
            completed_at: format_time(Utc::now()),
            audit_seq,
        }
    }
}

fn chunk_prefix(org: Uuid, meeting: Uuid) -> String {
    format!("orgs/{org}/meetings/{meeting}/bots")
}
