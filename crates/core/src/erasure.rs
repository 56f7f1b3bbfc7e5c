//! Erasing an account (GDPR art. 17), certified. Each meeting the account owns is deleted first
//! through its own certified deletion (keys destroyed, rows, blobs); then the account itself —
//! its sessions, keys, secrets, recovery codes, memberships and its own key (crypto-shredding
//! what was sealed under it) — and its audit personal data (the subject key is destroyed, every
//! entry and proof stays valid). The org's last member takes the org with them: every meeting
//! of the org, its workspaces, webhook endpoints, destinations and org keys. One certificate for
//! the account, naming the certificates of the meetings it includes.
//!
//! Like a meeting's deletion, the account's certificate is written pending first, with what it
//! counted, so a crash anywhere is finished — and certified once — by a retry or the sweeper.

use chrono::Utc;
use meetvault_store::certificates::CertificateRow;
use meetvault_store::erasure::AccountInventory;
use meetvault_store::identity::UserRow;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{AuditAction, Event, Outcome, format_time};
use crate::certificates::{
    self, Certificate, CertificateView, Deleted, DestroyedKey, Retained, Subject, document,
};
use crate::ids::{CertificateId, OrgId, UserId};
use crate::{Core, CoreError};

/// The kind an account's certificate names.
pub(crate) const KIND: &str = "account";

/// What an account's erasure counted before it began (ids and counts, never content).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccountDraft {
    org_id: Uuid,
    user_id: Uuid,
    /// The org's last member: the org goes too.
    with_org: bool,
    inventory: AccountInventory,
    /// The meetings erased with it, and (once each is deleted) its certificate.
    meetings: Vec<Uuid>,
    #[serde(default)]
    meeting_certificates: Vec<Uuid>,
    actor: String,
    requested_at: String,
    salt: String,
    subject_digest: String,
    #[serde(default)]
    audit_seq: Option<i64>,
    #[serde(default)]
    certificate: Option<Certificate>,
}

impl Core {
    /// Erases `user`'s account (and, when they are its last member, their org). Refused
    /// (409) for the last owner of an org that has other members: they transfer ownership
    /// first. Idempotent through its pending certificate.
    pub(crate) async fn erase_account(
        &self,
        user: &UserRow,
        event: Event,
    ) -> Result<CertificateView, CoreError> {
        if let Some(cert) = self.db().certificate_of(KIND, user.id).await? {
            return if cert.state == "issued" {
                self.certificate_view(&cert).await
            } else {
                self.finish_account_erasure(&cert, event).await
            };
        }
        let inventory = self.db().account_inventory(user.org_id, user.id).await?;
        let with_org = inventory.org_members <= 1;
        if !with_org && user.role == "owner" {
            let owners = self
                .db()
                .users(user.org_id)
                .await?
                .iter()
                .filter(|u| u.role == "owner" && u.id != user.id)
                .count();
            if owners == 0 {
                return Err(CoreError::Conflict(
                    "you are the last owner of an organization with other members: make \
                     another member an owner first, then erase your account"
                        .into(),
                ));
            }
        }
        let cert = self
            .begin_account_erasure(user, inventory, event.actor)
            .await?;
        self.finish_account_erasure(&cert, event).await
    }

    /// The first step of an account's erasure: ends the account's sessions, counts what it
    /// holds and writes the pending certificate.
    async fn begin_account_erasure(
        &self,
        user: &UserRow,
        inventory: AccountInventory,
        actor: crate::access::Actor,
    ) -> Result<CertificateRow, CoreError> {
        // No new sign-in or request of this account from here on.
        self.db()
            .delete_sessions_except(user.org_id, user.id, None)
            .await?;
        self.vault().lock_user(user.id, None);
        let with_org = inventory.org_members <= 1;
        let meetings = if with_org {
            self.db().org_meetings(user.org_id).await?
        } else {
            self.db().meetings_owned(user.org_id, user.id).await?
        };
        let salt = certificates::fresh_salt();
        let draft = AccountDraft {
            org_id: user.org_id,
            user_id: user.id,
            with_org,
            inventory,
            meetings,
            meeting_certificates: Vec::new(),
            actor: actor.to_string(),
            requested_at: format_time(Utc::now()),
            salt: hex::encode(salt),
            subject_digest: document::subject_digest(
                &salt,
                KIND,
                &UserId::from(user.id).to_string(),
                &user.email,
            ),
            audit_seq: None,
            certificate: None,
        };
        self.begin_certificate(user.org_id, KIND, user.id, &draft)
            .await
    }

    /// Does (or redoes: every step is idempotent) an account's erasure whose pending
    /// certificate is `cert`, then issues the certificate.
    pub(crate) async fn finish_account_erasure(
        &self,
        cert: &CertificateRow,
        mut event: Event,
    ) -> Result<CertificateView, CoreError> {
        let mut draft: AccountDraft =
            serde_json::from_str(cert.draft.as_deref().unwrap_or_default())
                .map_err(CoreError::internal)?;
        let (org, user) = (draft.org_id, draft.user_id);
        let actor = event.actor;
        // The meetings, each certified; and any the account made since it was counted.
        let since = if draft.with_org {
            self.db().org_meetings(org).await?
        } else {
            self.db().meetings_owned(org, user).await?
        };
        let (meetings, certs) = self
            .delete_meetings_certified(org, &draft.meetings, since, actor)
            .await?;
        draft.meetings = meetings;
        draft.meeting_certificates = certs;
        let certificate = match draft.certificate.clone() {
            Some(c) => c,
            None => {
                let seq = match draft.audit_seq {
                    Some(seq) => seq,
                    None => {
                        // Audited before the subject's key goes, so its personal data goes too.
                        event.org_id = Some(OrgId::from(org));
                        event.resource = Some(UserId::from(user).to_string());
                        event.reason = Some(if draft.with_org {
                            "with_org"
                        } else {
                            "account"
                        });
                        self.audit(event).await?
                    }
                };
                draft.audit_seq = Some(seq);
                let c = self.account_certificate(cert, &draft, seq);
                draft.certificate = Some(c.clone());
                let text = serde_json::to_string(&draft).map_err(CoreError::internal)?;
                self.db().save_certificate_draft(cert.id, &text).await?;
                c
            }
        };
        self.audit_log().erase_subject(UserId::from(user)).await?;
        self.vault().lock_user(user, None);
        if draft.with_org {
            self.db().delete_org(org).await?;
        } else {
            // The owner guard cannot refuse here: a last owner with other members was refused
            // before anything was deleted.
            self.db().delete_user(org, user).await?;
        }
        self.issue_certificate(cert, actor, &certificate).await
    }

    /// Deletes each meeting of `counted` and `since` (those made after the count), each through
    /// its own certified deletion; `(every meeting, their certificates)`. A meeting already gone
    /// contributes its existing certificate.
    async fn delete_meetings_certified(
        &self,
        org: Uuid,
        counted: &[Uuid],
        since: Vec<Uuid>,
        actor: crate::access::Actor,
    ) -> Result<(Vec<Uuid>, Vec<Uuid>), CoreError> {
        let mut meetings = counted.to_vec();
        meetings.extend(since.into_iter().filter(|m| !counted.contains(m)));
        let mut certs = Vec::with_capacity(meetings.len());
        for m in &meetings {
            let meeting_cert = match self.db().meeting(org, *m).await? {
                Some(row) => {
                    let c = self
                        .begin_meeting_deletion(&row, "", actor, None, None)
                        .await?;
                    let event = Event::new(AuditAction::MeetingDelete, actor, Outcome::Success);
                    self.finish_meeting_deletion(&c, event).await?;
                    Some(c.id)
                }
                None => self.db().certificate_of("meeting", *m).await?.map(|c| c.id),
            };
            certs.extend(meeting_cert);
        }
        Ok((meetings, certs))
    }

    /// The `test-access` door to an erasure cut off after its first step (its pending
    /// certificate written, its sessions ended, nothing else deleted yet).
    #[cfg(feature = "test-access")]
    pub async fn begin_account_erasure_for_tests(
        &self,
        org: Uuid,
        user: Uuid,
    ) -> Result<(), CoreError> {
        let row = self
            .db()
            .user(org, user)
            .await?
            .ok_or(CoreError::NotFound("user"))?;
        let inventory = self.db().account_inventory(org, user).await?;
        self.begin_account_erasure(
            &row,
            inventory,
            crate::access::Actor::User(UserId::from(user)),
        )
        .await?;
        Ok(())
    }

    fn account_certificate(
        &self,
        cert: &CertificateRow,
        draft: &AccountDraft,
        audit_seq: i64,
    ) -> Certificate {
        let inv = &draft.inventory;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        let rows = |kind: &str, count: i64| Deleted {
            kind: kind.into(),
            count: n(count),
            bytes: None,
            method: "row_delete".into(),
        };
        let mut deleted = vec![
            Deleted {
                kind: "account".into(),
                count: 1,
                bytes: None,
                method: "crypto_shred+row_delete".into(),
            },
            Deleted {
                kind: "meetings".into(),
                count: draft.meeting_certificates.len() as u64,
                bytes: None,
                method: "crypto_shred+row_delete+object_delete".into(),
            },
            rows("sessions", inv.sessions),
            rows("api_keys", inv.api_keys),
            rows("support_keys", inv.support_keys),
            Deleted {
                kind: "secrets".into(),
                count: n(inv.secrets),
                bytes: None,
                method: "crypto_shred+row_delete".into(),
            },
            rows("recovery_codes", inv.recovery_codes),
            rows("workspace_memberships", inv.workspace_memberships),
            Deleted {
                kind: "audit_personal_data".into(),
                count: 1,
                bytes: None,
                method: "crypto_shred".into(),
            },
        ];
        let user_id = UserId::from(draft.user_id);
        let org_id = OrgId::from(draft.org_id);
        let mut keys = Vec::new();
        if inv.user_key {
            keys.push(DestroyedKey {
                key: format!("user:{user_id}"),
                version: 1,
            });
        }
        keys.push(DestroyedKey {
            key: format!("audit_subject:{user_id}"),
            version: 1,
        });
        if draft.with_org {
            deleted.extend([
                rows("org", 1),
                rows("workspaces", inv.workspaces),
                rows("webhook_endpoints", inv.webhook_endpoints),
                rows("destinations", inv.destinations),
            ]);
            keys.extend(inv.org_key_versions.iter().map(|v| DestroyedKey {
                key: format!("org:{org_id}"),
                version: u32::try_from(*v).unwrap_or(0),
            }));
        }
        let mut retained = vec![
            Retained {
                kind: "meeting_certificates".into(),
                count: Some(draft.meeting_certificates.len() as u64),
                reason: "each meeting was deleted with a certificate of its own, listed in `includes`".into(),
            },
            Retained {
                kind: "audit_entries".into(),
                count: None,
                reason: "the append-only audit log keeps what was done (ids and actions); the account's personal data in it is unreadable, its key destroyed".into(),
            },
            certificates::this_certificate_kept(),
        ];
        if !draft.with_org {
            retained.push(Retained {
                kind: "invitations_sent".into(),
                count: Some(n(inv.invitations_sent)),
                reason: "invitations the account sent belong to the organization; they no longer name who sent them".into(),
            });
        }
        Certificate {
            format: document::FORMAT.into(),
            id: CertificateId::from(cert.id).to_string(),
            issuer: self.certificate_issuer(),
            subject: Subject {
                kind: KIND.into(),
                id: user_id.to_string(),
                org: org_id.to_string(),
                salt: draft.salt.clone(),
                digest: draft.subject_digest.clone(),
            },
            part: None,
            policy: None,
            includes: draft
                .meeting_certificates
                .iter()
                .map(|c| CertificateId::from(*c).to_string())
                .collect(),
            deleted,
            keys_destroyed: keys,
            retained,
            actor: draft.actor.clone(),
            requested_at: draft.requested_at.clone(),
            completed_at: format_time(Utc::now()),
            audit_seq,
        }
    }
}

/// The kind an org's certificate names.
pub(crate) const ORG_KIND: &str = "org";

/// An org's closure as its members see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgClosure {
    pub closed_at: chrono::DateTime<Utc>,
    /// When it is erased unless an owner reopens it first.
    pub erase_at: chrono::DateTime<Utc>,
}

/// What an org's erasure counted before it began.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrgDraft {
    org_id: Uuid,
    members: Vec<Uuid>,
    inventory: AccountInventory,
    meetings: Vec<Uuid>,
    #[serde(default)]
    meeting_certificates: Vec<Uuid>,
    closed_at: i64,
    requested_at: String,
    salt: String,
    subject_digest: String,
    #[serde(default)]
    audit_seq: Option<i64>,
    #[serde(default)]
    certificate: Option<Certificate>,
}

fn closure_of(c: Option<(i64, i64)>) -> Option<OrgClosure> {
    let (closed, erase) = c?;
    Some(OrgClosure {
        closed_at: chrono::DateTime::from_timestamp_millis(closed)?,
        erase_at: chrono::DateTime::from_timestamp_millis(erase)?,
    })
}

impl Core {
    /// The org's closure, if an owner closed it.
    pub(crate) async fn org_closure(&self, org: Uuid) -> Result<Option<OrgClosure>, CoreError> {
        Ok(closure_of(self.db().org_closure(org).await?))
    }

    /// Closes `user`'s org (they must be an owner): every permission check of every member
    /// and key answers `org_closed` from the next request; the org is erased
    /// `retention.org_grace_days` later unless an owner reopens it. Closing a closed org
    /// answers its closure.
    pub(crate) async fn close_org(
        &self,
        user: &UserRow,
        event: Event,
    ) -> Result<OrgClosure, CoreError> {
        if user.role != "owner" {
            return Err(CoreError::NotAllowed(
                "only an owner can close the organization".into(),
            ));
        }
        if let Some(c) = self.org_closure(user.org_id).await? {
            return Ok(c);
        }
        let now = Utc::now().timestamp_millis();
        let grace = i64::from(self.config().retention.org_grace_days) * 86_400_000;
        self.db()
            .set_org_closure(user.org_id, Some((now, now + grace)))
            .await?;
        self.audit(event).await?;
        self.org_closure(user.org_id)
            .await?
            .ok_or(CoreError::NotFound("organization"))
    }

    /// Reopens `user`'s closed org (they must be an owner).
    pub(crate) async fn reopen_org(&self, user: &UserRow, event: Event) -> Result<(), CoreError> {
        if user.role != "owner" {
            return Err(CoreError::NotAllowed(
                "only an owner can reopen the organization".into(),
            ));
        }
        if self.org_closure(user.org_id).await?.is_none() {
            return Err(CoreError::Conflict("the organization is not closed".into()));
        }
        self.db().set_org_closure(user.org_id, None).await?;
        self.audit(event).await?;
        Ok(())
    }

    /// Erases the closed orgs whose grace period ended by `now` (the retention sweep's first
    /// step); returns how many. Each is finished through its pending certificate, so a crash is
    /// resumed by the next sweep.
    pub(crate) async fn erase_closed_orgs(&self, now: i64) -> Result<u64, CoreError> {
        let mut done = 0;
        for org in self.db().orgs_to_erase(now).await? {
            let cert = match self.db().certificate_of(ORG_KIND, org).await? {
                Some(c) if c.state == "issued" => continue,
                Some(c) => c,
                None => self.begin_org_erasure(org).await?,
            };
            self.finish_org_erasure(&cert).await?;
            done += 1;
        }
        Ok(done)
    }

    async fn begin_org_erasure(&self, org: Uuid) -> Result<CertificateRow, CoreError> {
        let row = self
            .db()
            .org(org)
            .await?
            .ok_or(CoreError::NotFound("organization"))?;
        let salt = certificates::fresh_salt();
        let draft = OrgDraft {
            org_id: org,
            members: self.db().users(org).await?.iter().map(|u| u.id).collect(),
            inventory: self.db().account_inventory(org, Uuid::nil()).await?,
            meetings: self.db().org_meetings(org).await?,
            meeting_certificates: Vec::new(),
            closed_at: self.db().org_closure(org).await?.map_or(0, |c| c.0),
            requested_at: format_time(Utc::now()),
            salt: hex::encode(salt),
            subject_digest: document::subject_digest(
                &salt,
                ORG_KIND,
                &OrgId::from(org).to_string(),
                &row.name,
            ),
            audit_seq: None,
            certificate: None,
        };
        self.begin_certificate(org, ORG_KIND, org, &draft).await
    }

    /// Does (or redoes) an org's erasure: every meeting certified, the `org.erase` entry, every
    /// member's audit subject key, the org row (everything keyed to it cascades), then issues.
    pub(crate) async fn finish_org_erasure(
        &self,
        cert: &CertificateRow,
    ) -> Result<CertificateView, CoreError> {
        let mut draft: OrgDraft = serde_json::from_str(cert.draft.as_deref().unwrap_or_default())
            .map_err(CoreError::internal)?;
        let org = draft.org_id;
        let actor = crate::access::Actor::System;
        let since = self.db().org_meetings(org).await?;
        let (meetings, certs) = self
            .delete_meetings_certified(org, &draft.meetings, since, actor)
            .await?;
        draft.meetings = meetings;
        draft.meeting_certificates = certs;
        let certificate = match draft.certificate.clone() {
            Some(c) => c,
            None => {
                let seq = match draft.audit_seq {
                    Some(seq) => seq,
                    None => {
                        let mut event = Event::new(AuditAction::OrgErase, actor, Outcome::Success);
                        event.org_id = Some(OrgId::from(org));
                        event.resource = Some(OrgId::from(org).to_string());
                        self.audit(event).await?
                    }
                };
                draft.audit_seq = Some(seq);
                let c = self.org_certificate(cert, &draft, seq);
                draft.certificate = Some(c.clone());
                let text = serde_json::to_string(&draft).map_err(CoreError::internal)?;
                self.db().save_certificate_draft(cert.id, &text).await?;
                c
            }
        };
        for member in &draft.members {
            self.audit_log()
                .erase_subject(UserId::from(*member))
                .await?;
            self.vault().lock_user(*member, None);
        }
        self.db().delete_org(org).await?;
        self.issue_certificate(cert, actor, &certificate).await
    }

    fn org_certificate(
        &self,
        cert: &CertificateRow,
        draft: &OrgDraft,
        audit_seq: i64,
    ) -> Certificate {
        let inv = &draft.inventory;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        let rows = |kind: &str, count: u64| Deleted {
            kind: kind.into(),
            count,
            bytes: None,
            method: "row_delete".into(),
        };
        let org_id = OrgId::from(draft.org_id);
        let mut keys: Vec<DestroyedKey> = inv
            .org_key_versions
            .iter()
            .map(|v| DestroyedKey {
                key: format!("org:{org_id}"),
                version: u32::try_from(*v).unwrap_or(0),
            })
            .collect();
        keys.extend(draft.members.iter().map(|m| DestroyedKey {
            key: format!("audit_subject:{}", UserId::from(*m)),
            version: 1,
        }));
        Certificate {
            format: document::FORMAT.into(),
            id: CertificateId::from(cert.id).to_string(),
            issuer: self.certificate_issuer(),
            subject: Subject {
                kind: ORG_KIND.into(),
                id: org_id.to_string(),
                org: org_id.to_string(),
                salt: draft.salt.clone(),
                digest: draft.subject_digest.clone(),
            },
            part: None,
            policy: Some(format!(
                "org closure: closed at {}, erased after its grace period of {} days",
                chrono::DateTime::from_timestamp_millis(draft.closed_at)
                    .map(format_time)
                    .unwrap_or_default(),
                self.config().retention.org_grace_days
            )),
            includes: draft
                .meeting_certificates
                .iter()
                .map(|c| CertificateId::from(*c).to_string())
                .collect(),
            deleted: vec![
                Deleted {
                    kind: "org".into(),
                    count: 1,
                    bytes: None,
                    method: "crypto_shred+row_delete".into(),
                },
                Deleted {
                    kind: "meetings".into(),
                    count: draft.meeting_certificates.len() as u64,
                    bytes: None,
                    method: "crypto_shred+row_delete+object_delete".into(),
                },
                rows("members", draft.members.len() as u64),
                rows("workspaces", n(inv.workspaces)),
                rows("webhook_endpoints", n(inv.webhook_endpoints)),
                rows("destinations", n(inv.destinations)),
                Deleted {
                    kind: "audit_personal_data".into(),
                    count: draft.members.len() as u64,
                    bytes: None,
                    method: "crypto_shred".into(),
                },
            ],
            keys_destroyed: keys,
            retained: vec![
                Retained {
                    kind: "meeting_certificates".into(),
                    count: Some(draft.meeting_certificates.len() as u64),
                    reason: "each meeting was deleted with a certificate of its own, listed in `includes`".into(),
                },
                Retained {
                    kind: "audit_entries".into(),
                    count: None,
                    reason: "the append-only audit log keeps what was done (ids and actions); the members' personal data in it is unreadable, their keys destroyed".into(),
                },
                Retained {
                    kind: "certificate".into(),
                    count: Some(1),
                    reason: "this certificate, which holds ids, counts and hashes only, outlives the org".into(),
                },
            ],
            actor: actor_system(),
            requested_at: draft.requested_at.clone(),
            completed_at: format_time(Utc::now()),
            audit_seq,
        }
    }
}

fn actor_system() -> String {
    crate::access::Actor::System.to_string()
}
