//! The audit log service: records security-relevant events as Merkle leaves, signs checkpoints
//! with the instance's Ed25519 key (C2SP signed-note format), and serves an org's entries,
//! exports and inclusion proofs. Appends are never skipped: a failure to audit fails the action.
//! Refused attempts are aggregated (`refusals`); checkpoints are signed by the writer only
//! (`writer`), never because of a read.

mod action;
mod entry;
mod refusals;
mod signing;
pub mod verify;
mod writer;

use chrono::{DateTime, Utc};
use meetvault_crypto::keys::{self, SymmetricKey};
use meetvault_crypto::merkle::{self, Hash};
use meetvault_store::{AuditRow, StoreError};
use serde::Serialize;
use uuid::Uuid;

use crate::access::proof::{AuditRead, Proof};
use crate::access::{Actor, RequestMeta, Scope};
use crate::ids::{OrgId, UserId};
use crate::{Core, CoreError};

pub use action::AuditAction;
pub(crate) use entry::format_time;
pub use entry::{Entry, Personal};
pub use meetvault_crypto::note::NoteVerifier;
/// What an audit search filters on (http builds it from the query string).
pub use meetvault_store::AuditFilter;
pub(crate) use refusals::RefusalLog;
pub use signing::AuditSigner;
pub use verify::{Columns, LogItem, Problem, Report};
pub use writer::AuditWriter;

/// Whether the recorded action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event {
    pub action: AuditAction,
    pub org_id: Option<OrgId>,
    pub actor: Actor,
    pub resource: Option<String>,
    pub outcome: Outcome,
    /// Why it failed (kept in the log even though the HTTP answer stays generic).
    pub reason: Option<&'static str>,
    /// The data subject whose personal data this event carries (a user); anonymous events get
    /// a subject of their own so their personal data can be erased alone.
    pub subject: Option<UserId>,
    pub personal: Personal,
    /// How many refused attempts the entry stands for; set by the refusal log only.
    pub count: Option<u64>,
    /// The SHA-256 of a document this entry commits to (a certificate's canonical bytes).
    pub digest: Option<[u8; 32]>,
}

impl Event {
    pub fn new(action: AuditAction, actor: Actor, outcome: Outcome) -> Self {
        Self {
            action,
            org_id: None,
            actor,
            resource: None,
            outcome,
            reason: None,
            subject: None,
            personal: Personal::default(),
            count: None,
            digest: None,
        }
    }

    /// The event as done by a scoped caller, with its org, subject and request metadata.
    pub fn by<P: Proof>(scope: &Scope<P>, action: AuditAction) -> Self {
        let mut e = Self::new(action, scope.actor(), Outcome::Success);
        e.org_id = Some(scope.org_id());
        e.subject = Some(scope.user_id());
        e.personal = Personal::from_meta(scope.meta(), None);
        e
    }

    /// A successful event about `user` of `org` before any `Scope` exists (registration, login,
    /// invitation accept, support-key use), with the request's personal data.
    pub fn about(
        action: AuditAction,
        actor: Actor,
        org: OrgId,
        user: UserId,
        meta: &RequestMeta,
        email: Option<&str>,
    ) -> Self {
        let mut e = Self::new(action, actor, Outcome::Success);
        e.org_id = Some(org);
        e.subject = Some(user);
        e.personal = Personal::from_meta(meta, email);
        e
    }

    /// A refused attempt by an anonymous caller, with the request's personal data; for
    /// [`Core::audit_refusal`].
    pub fn refusal(action: AuditAction, reason: &'static str, meta: &RequestMeta) -> Self {
        let mut e = Self::new(action, Actor::Anonymous, Outcome::Failure);
        e.reason = Some(reason);
        e.personal = Personal::from_meta(meta, None);
        e
    }

    /// Why, or which kind (a short fixed word).
    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    pub fn resource(mut self, resource: impl ToString) -> Self {
        self.resource = Some(resource.to_string());
        self
    }
}

impl Personal {
    pub fn from_meta(meta: &RequestMeta, email: Option<&str>) -> Self {
        Self {
            ip: meta.ip.map(|ip| ip.to_string()),
            user_agent: meta.user_agent.clone(),
            email: email.map(str::to_owned),
        }
    }
}

/// An entry as an org's auditors see it.
#[derive(Debug, Clone)]
pub struct AuditView {
    pub seq: i64,
    pub time: DateTime<Utc>,
    pub action: String,
    pub actor: String,
    pub resource: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    /// How many attempts the entry stands for: more than one for an aggregated refusal.
    pub count: u64,
    /// The personal data, unless its subject has been erased.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub leaf_hash: String,
}

/// An inclusion proof of one entry against a signed checkpoint.
#[derive(Debug, Clone)]
pub struct InclusionProof {
    pub seq: i64,
    pub leaf_index: u64,
    pub entry: String,
    pub leaf_hash: String,
    pub tree_size: u64,
    pub root_hash: String,
    pub proof: Vec<String>,
    pub checkpoint: String,
}

impl Core {
    /// Appends `event` to the log. Called on every security-relevant path; its error fails the
    /// request, because an unaudited action must not be reported as done.
    pub(crate) async fn audit(&self, event: Event) -> Result<i64, CoreError> {
        let now = Utc::now();
        let subject = event.subject.map(|u| u.uuid()).unwrap_or_else(Uuid::new_v4);
        let (personal_mac, sealed) = if event.personal.is_empty() {
            (None, None)
        } else {
            let key = self.subject_key(subject, now).await?;
            let json = serde_json::to_vec(&event.personal).map_err(CoreError::internal)?;
            let mac = hex::encode(keys::hmac_sha256(&key, &json));
            let sealed = keys::seal(&key, &json, subject.as_bytes());
            (Some(mac), Some(sealed))
        };
        let has_subject = personal_mac.is_some();
        let org = event.org_id.map(|o| o.to_string());
        let row = self
            .db()
            .append_audit(|seq| {
                let entry = Entry {
                    v: 1,
                    seq,
                    time: entry::format_time(now),
                    org: org.clone(),
                    action: event.action.as_str().to_owned(),
                    actor: event.actor.to_string(),
                    resource: event.resource.clone(),
                    outcome: event.outcome.as_str().to_owned(),
                    reason: event.reason.map(str::to_owned),
                    subject: has_subject.then(|| subject.to_string()),
                    personal: personal_mac.clone(),
                    count: event.count,
                    digest: event.digest.map(hex::encode),
                };
                let text = entry
                    .to_canonical()
                    .map_err(|e| StoreError::Corrupt(format!("audit entry: {e}")))?;
                Ok(AuditRow {
                    seq,
                    created_at: now,
                    org_id: event.org_id.map(|o| o.uuid()),
                    action: entry.action,
                    actor: entry.actor,
                    resource: entry.resource,
                    outcome: entry.outcome,
                    reason: entry.reason,
                    subject_id: has_subject.then_some(subject),
                    personal: sealed.clone(),
                    leaf_hash: merkle::leaf_hash(text.as_bytes()).to_vec(),
                    entry: text,
                })
            })
            .await?;
        // Every N-th entry closes a checkpoint: no entry is ever more than N behind a signed
        // one, without reading the latest checkpoint on every append.
        let every = self.config().audit.checkpoint_every;
        if u64::try_from(row.seq).is_ok_and(|seq| seq % every == 0) {
            self.sign_checkpoint_if_grown().await?;
        }
        Ok(row.seq)
    }

    /// The subject's key (created on first use), unwrapped.
    async fn subject_key(
        &self,
        subject: Uuid,
        now: DateTime<Utc>,
    ) -> Result<SymmetricKey, CoreError> {
        let wrap = &self.keys().audit_subject_wrap;
        if self.db().audit_subject_key(subject).await?.is_none() {
            let fresh = SymmetricKey::generate();
            let wrapped = keys::seal(wrap, fresh.expose(), subject.as_bytes());
            self.db()
                .insert_audit_subject(subject, &wrapped, now)
                .await?;
        }
        let wrapped = self.db().audit_subject_key(subject).await?.ok_or_else(|| {
            CoreError::internal(StoreError::Corrupt("audit subject vanished".into()))
        })?;
        unwrap_key(wrap, &wrapped, subject)
    }

    pub(crate) async fn leaves(&self, size: i64) -> Result<Vec<Hash>, CoreError> {
        self.db()
            .audit_leaf_hashes(size)
            .await?
            .into_iter()
            .map(|h| {
                <Hash>::try_from(h.as_slice()).map_err(|_| {
                    CoreError::internal(StoreError::Corrupt("leaf hash is not 32 bytes".into()))
                })
            })
            .collect()
    }

    async fn view(&self, row: AuditRow) -> Result<AuditView, CoreError> {
        let personal = match (row.subject_id, &row.personal) {
            (Some(subject), Some(sealed)) => self.open_personal(subject, sealed).await?,
            _ => None,
        };
        let personal = personal.unwrap_or_default();
        Ok(AuditView {
            seq: row.seq,
            time: row.created_at,
            action: row.action,
            actor: row.actor,
            resource: row.resource,
            outcome: row.outcome,
            reason: row.reason,
            count: Entry::parse(&row.entry)
                .ok()
                .and_then(|e| e.count)
                .unwrap_or(1),
            ip: personal.ip,
            user_agent: personal.user_agent,
            leaf_hash: hex::encode(&row.leaf_hash),
        })
    }

    async fn open_personal(
        &self,
        subject: Uuid,
        sealed: &[u8],
    ) -> Result<Option<Personal>, CoreError> {
        let Some(wrapped) = self.db().audit_subject_key(subject).await? else {
            return Ok(None); // erased
        };
        let key = unwrap_key(&self.keys().audit_subject_wrap, &wrapped, subject)?;
        let plain = keys::open(&key, sealed, subject.as_bytes()).map_err(CoreError::internal)?;
        Ok(serde_json::from_slice(&plain).ok())
    }
}

/// The audit log as its readers see it (`core.audit_log()`): entries, inclusion proofs,
/// exports, checkpoints and verification, and erasing a subject's personal data. Appends are
/// `Core::audit`, which every audited action calls itself.
#[derive(Debug, Clone, Copy)]
pub struct AuditLog<'a> {
    pub(crate) core: &'a Core,
}

impl AuditLog<'_> {
    /// Crypto-shreds a user's audit personal data: the entries and every proof stay valid.
    pub async fn erase_subject(self, user: UserId) -> Result<bool, CoreError> {
        Ok(self
            .core
            .db()
            .erase_audit_subject(user.uuid(), Utc::now())
            .await?)
    }

    /// The verifier key of the audit signer, as `/.well-known/meetvault-signing-key` serves it.
    pub fn verifier(self) -> NoteVerifier {
        self.core.signer().verifier()
    }

    /// An org's entries after `filter.after_seq`.
    pub async fn list(
        self,
        scope: &Scope<AuditRead>,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditView>, CoreError> {
        let rows = self
            .core
            .db()
            .audit_entries(scope.org_id().uuid(), filter)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.core.view(row).await?);
        }
        Ok(out)
    }

    /// Inclusion proof of one of the org's entries against the latest signed checkpoint. An
    /// entry newer than it is "not checkpointed yet" (the writer signs on its own schedule; a
    /// read never does). Another org's entry is "not found".
    pub async fn proof(
        self,
        scope: &Scope<AuditRead>,
        seq: i64,
    ) -> Result<InclusionProof, CoreError> {
        let row = self
            .core
            .db()
            .audit_entry(scope.org_id().uuid(), seq)
            .await?
            .ok_or(CoreError::NotFound("audit entry"))?;
        let cp = self.latest_checkpoint().await?;
        if cp.tree_size < seq {
            return Err(self.core.not_checkpointed_yet());
        }
        let leaves = self.core.leaves(cp.tree_size).await?;
        let index = u64::try_from(seq - 1).unwrap_or(0);
        let proof = merkle::inclusion_proof(&leaves, index).ok_or_else(|| {
            CoreError::internal(StoreError::Corrupt("entry outside its checkpoint".into()))
        })?;
        Ok(InclusionProof {
            seq,
            leaf_index: index,
            entry: row.entry,
            leaf_hash: hex::encode(&row.leaf_hash),
            tree_size: u64::try_from(cp.tree_size).unwrap_or(0),
            root_hash: hex::encode(&cp.root_hash),
            proof: proof.iter().map(hex::encode).collect(),
            checkpoint: cp.note,
        })
    }

    /// The org's export as JSON Lines: a header with the verifier key, every log position (the
    /// org's own entries in full, other positions as their leaf hash only, so nothing of another
    /// tenant leaks and the tree can still be recomputed), then every checkpoint. It ends at the
    /// latest signed checkpoint; newer entries follow in a later export.
    pub async fn export(self, scope: &Scope<AuditRead>) -> Result<Vec<String>, CoreError> {
        let latest = self.latest_checkpoint().await?;
        let org = scope.org_id().uuid();
        let mut lines = vec![export_line(&ExportLine::Header {
            format: "meetvault-audit-export/v1",
            origin: self.core.signer().origin().to_owned(),
            verifier_key: self.verifier().to_vkey(),
        })?];
        for row in self.core.db().audit_all().await? {
            if row.seq > latest.tree_size {
                break;
            }
            let line = if row.org_id == Some(org) {
                ExportLine::Entry {
                    seq: row.seq,
                    entry: row.entry,
                    leaf_hash: hex::encode(&row.leaf_hash),
                }
            } else {
                ExportLine::Leaf {
                    seq: row.seq,
                    leaf_hash: hex::encode(&row.leaf_hash),
                }
            };
            lines.push(export_line(&line)?);
        }
        for cp in self.core.db().checkpoints().await? {
            lines.push(export_line(&ExportLine::Checkpoint {
                tree_size: cp.tree_size,
                note: cp.note,
            })?);
        }
        Ok(lines)
    }

    /// Verifies the whole log in the database (the CLI's `audit verify`).
    pub async fn verify_database(self) -> Result<Report, CoreError> {
        let items = self
            .core
            .db()
            .audit_all()
            .await?
            .into_iter()
            .map(|row| LogItem {
                seq: row.seq,
                columns: Some(Columns {
                    time: entry::format_time(row.created_at),
                    org: row.org_id.map(|o| OrgId::from(o).to_string()),
                    action: row.action,
                    actor: row.actor,
                    resource: row.resource,
                    outcome: row.outcome,
                    reason: row.reason,
                }),
                entry: Some(row.entry),
                leaf_hash: row.leaf_hash,
            })
            .collect::<Vec<_>>();
        let notes: Vec<String> = self
            .core
            .db()
            .checkpoints()
            .await?
            .into_iter()
            .map(|c| c.note)
            .collect();
        Ok(verify::verify(&items, &notes, &self.verifier()))
    }
}

/// One line of an export.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExportLine {
    Header {
        format: &'static str,
        origin: String,
        verifier_key: String,
    },
    Entry {
        seq: i64,
        entry: String,
        leaf_hash: String,
    },
    Leaf {
        seq: i64,
        leaf_hash: String,
    },
    Checkpoint {
        tree_size: i64,
        note: String,
    },
}

fn export_line(line: &ExportLine) -> Result<String, CoreError> {
    serde_json::to_string(line).map_err(CoreError::internal)
}

/// Verifies an export file's lines. The verifier key is the one given (trusted, e.g. fetched
/// from the server's well-known URL), or the export's own header when none is given.
pub fn verify_export(text: &str, trusted: Option<&NoteVerifier>) -> Result<Report, String> {
    let mut items = Vec::new();
    let mut notes = Vec::new();
    let mut header_key = None;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let parsed: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON ({e})", i + 1))?;
        match parsed.get("type").and_then(|t| t.as_str()) {
            Some("header") => {
                let key = parsed
                    .get("verifier_key")
                    .and_then(|k| k.as_str())
                    .unwrap_or_default();
                header_key = Some(
                    NoteVerifier::parse(key)
                        .map_err(|e| format!("line {}: verifier key: {e}", i + 1))?,
                );
            }
            Some("entry") | Some("leaf") => {
                let seq = parsed
                    .get("seq")
                    .and_then(|s| s.as_i64())
                    .ok_or(format!("line {}: no seq", i + 1))?;
                let leaf = parsed
                    .get("leaf_hash")
                    .and_then(|s| s.as_str())
                    .unwrap_or_default();
                items.push(LogItem {
                    seq,
                    entry: parsed
                        .get("entry")
                        .and_then(|e| e.as_str())
                        .map(str::to_owned),
                    leaf_hash: hex::decode(leaf)
                        .map_err(|_| format!("line {}: leaf_hash is not hex", i + 1))?,
                    columns: None,
                });
            }
            Some("checkpoint") => {
                notes.push(
                    parsed
                        .get("note")
                        .and_then(|n| n.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            _ => return Err(format!("line {}: unknown line type", i + 1)),
        }
    }
    let verifier = match (trusted, header_key.as_ref()) {
        (Some(k), _) => k,
        (None, Some(k)) => k,
        (None, None) => {
            return Err("the export has no header with a verifier key; pass --public-key".into());
        }
    };
    Ok(verify::verify(&items, &notes, verifier))
}

fn unwrap_key(
    wrap: &SymmetricKey,
    wrapped: &[u8],
    subject: Uuid,
) -> Result<SymmetricKey, CoreError> {
    let plain = keys::open(wrap, wrapped, subject.as_bytes()).map_err(CoreError::internal)?;
    let bytes = <[u8; 32]>::try_from(plain.as_slice()).map_err(|_| {
        CoreError::internal(StoreError::Corrupt(
            "audit subject key is not 32 bytes".into(),
        ))
    })?;
    Ok(SymmetricKey::from_bytes(bytes))
}
