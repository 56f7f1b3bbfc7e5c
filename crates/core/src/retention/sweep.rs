//! The retention sweeper: pages through the meetings that still hold something (by id, a page
//! of `retention.batch` at a time, each meeting deleted in its own short transactions, so no
//! backlog locks the database), plans each against its policy, and deletes what is due.
//!
//! A meeting whose every held part is due is deleted whole (crypto-shred first, the meeting's
//! certificate). Otherwise each due part is purged on its own, certified on its own: the
//! pending certificate is written first with what it will delete, so a crash anywhere is
//! finished — and certified once — by the next sweep. Time is a parameter (`now`), so tests
//! move it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use meetvault_config::Window;
use meetvault_store::BlobKey;
use meetvault_store::bots::BotRow;
use meetvault_store::certificates::{CertificateRow, MeetingInventory};
use meetvault_store::retention::RetentionCandidate;
use meetvault_store::vault::RecordingRow;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{OrgPolicy, PARTS, PartSchedule, Resolved, Windows, resolve};
use crate::access::Actor;
use crate::audit::{AuditAction, Event, Outcome, format_time};
use crate::certificates::bucket::{BucketObject, BucketOutcome};
use crate::certificates::{self, Certificate, Deleted, Retained, Subject, document};
use crate::ids::{CertificateId, MeetingId, OrgId};
use crate::lifecycle::Part;
use crate::{Core, CoreError};

/// The certificate row kind of a part's purge (`meeting.recordings`, …); the document's
/// subject is the meeting.
fn row_kind(part: Part) -> String {
    format!("meeting.{}", super::field(part))
}

/// Segments deleted per statement.
const SEGMENT_BATCH: i64 = 5_000;

/// The policies read during one sweep, each once.
#[derive(Debug, Default)]
pub(crate) struct Policies {
    orgs: HashMap<Uuid, OrgPolicy>,
    workspaces: HashMap<(Uuid, Uuid), Windows>,
}

/// What retention deleted of a meeting so far: part → when and which certificate.
type Purged = BTreeMap<String, PurgeMark>;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PurgeMark {
    at: i64,
    certificate: Uuid,
}

/// One meeting's plan: its schedule, and what is due now.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) own: Windows,
    pub(crate) resolved: Resolved,
    pub(crate) schedule: Vec<PartSchedule>,
    due_recordings: Vec<RecordingRow>,
    /// Recordings in customers' buckets whose window ended (where meetvault may delete).
    due_bucket: Vec<BucketObject>,
    /// Those of them the bucket has not refused to delete: what a recordings purge deletes
    /// (a refused one is asked again only when the meeting goes whole).
    purge_bucket: Vec<BucketObject>,
    transcripts_due: bool,
    bot_due: Option<BotRow>,
    /// Every part the meeting holds is due: delete the meeting whole.
    whole: bool,
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Closed orgs whose grace period ended, erased.
    pub orgs_erased: u64,
    pub meetings_seen: u64,
    pub meetings_deleted: u64,
    pub parts_purged: u64,
    pub resumed: u64,
    /// Participant deletion requests whose token expired unconfirmed, deleted.
    pub requests_expired: u64,
}

/// What a part's purge counted before it began, kept on its pending certificate (ids and
/// counts only).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartDraft {
    meeting_id: Uuid,
    workspace_id: Uuid,
    part: String,
    policy: String,
    /// Recordings: `(id, blob key, stored bytes)`.
    #[serde(default)]
    recordings: Vec<(Uuid, String, i64)>,
    /// Recordings: their copies in customers' buckets whose window ended.
    #[serde(default)]
    bucket_objects: Vec<BucketObject>,
    /// What deleting those did, once done.
    #[serde(default)]
    bucket_outcome: Option<BucketOutcome>,
    #[serde(default)]
    bot_id: Option<Uuid>,
    inventory: MeetingInventory,
    chunk_blobs: u64,
    chunk_bytes: u64,
    requested_at: String,
    salt: String,
    subject_digest: String,
    #[serde(default)]
    audit_seq: Option<i64>,
    #[serde(default)]
    certificate: Option<Certificate>,
}

fn at(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

fn part_of(name: &str) -> Option<Part> {
    PARTS.into_iter().find(|p| super::field(*p) == name)
}

impl Core {
    /// One full pass of the sweeper at time `now` (Unix ms): finishes purges a crash cut off,
    /// erases the closed orgs whose grace period ended, then deletes every due part of every
    /// meeting.
    pub(crate) async fn sweep_retention(&self, now: i64) -> Result<SweepReport, CoreError> {
        let mut report = SweepReport {
            resumed: self.finish_pending_purges(60_000).await? as u64,
            orgs_erased: self.erase_closed_orgs(now).await?,
            requests_expired: self.sweep_deletion_requests(now).await?,
            ..SweepReport::default()
        };
        let batch = i64::from(self.config().retention.batch.max(1));
        let mut policies = Policies::default();
        let mut after = Uuid::nil();
        loop {
            // The page's end first: what this page deletes must not shift the next one.
            let end = self.db().meetings_page_end(after, batch).await?;
            let page = self.db().retention_candidates(after, batch).await?;
            for facts in &page {
                report.meetings_seen += 1;
                match self.enforce(&mut policies, facts, now).await {
                    Ok((whole, parts)) => {
                        report.meetings_deleted += u64::from(whole);
                        report.parts_purged += parts;
                    }
                    // One meeting's failure does not stop the others; the next sweep retries.
                    Err(e) => {
                        tracing::warn!(error = %e, meeting = %MeetingId::from(facts.id), "retention of a meeting failed; the next sweep retries")
                    }
                }
            }
            match end {
                Some(end) => after = end,
                None => return Ok(report),
            }
        }
    }

    /// The `test-access` door to one sweep at a chosen time, finishing cut-off purges at once.
    #[cfg(feature = "test-access")]
    pub async fn sweep_retention_at_for_tests(
        &self,
        now: DateTime<Utc>,
    ) -> Result<SweepReport, CoreError> {
        let resumed = self.finish_pending_purges(-1).await? as u64;
        let mut r = self.sweep_retention(now.timestamp_millis()).await?;
        r.resumed += resumed;
        Ok(r)
    }

    /// The `test-access` door to a purge cut off after its first step: its pending certificate
    /// is written and nothing is deleted yet. Returns the certificate row's id.
    #[cfg(feature = "test-access")]
    pub async fn begin_retention_purge_for_tests(
        &self,
        org: Uuid,
        meeting: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, CoreError> {
        let facts = self
            .db()
            .retention_facts(org, meeting)
            .await?
            .ok_or(CoreError::NotFound("meeting"))?;
        let plan = self
            .plan_retention(&mut Policies::default(), &facts, now.timestamp_millis())
            .await?;
        for part in PARTS {
            if plan.is_due(part) {
                let cert = self.begin_purge(&facts, &plan, part).await?;
                return Ok(Some(cert.id));
            }
        }
        Ok(None)
    }

    /// Plans and does one meeting's retention; `(deleted whole, parts purged)`.
    async fn enforce(
        &self,
        policies: &mut Policies,
        facts: &RetentionCandidate,
        now: i64,
    ) -> Result<(bool, u64), CoreError> {
        let plan = self.plan_retention(policies, facts, now).await?;
        if plan.whole {
            let Some(row) = self.db().meeting(facts.org_id, facts.id).await? else {
                return Ok((false, 0));
            };
            self.queue()
                .cancel_for(facts.org_id, facts.id)
                .await
                .map_err(crate::jobs_error)?;
            let policy = PARTS
                .iter()
                .map(|p| plan.resolved.describe(*p))
                .collect::<Vec<_>>()
                .join("; ");
            let cert = self
                .begin_meeting_deletion(
                    &row,
                    "",
                    Actor::System,
                    Some(format!("retention: {policy}")),
                    Some(plan.due_bucket.clone()),
                )
                .await?;
            self.finish_meeting_deletion(
                &cert,
                Event::new(AuditAction::MeetingDelete, Actor::System, Outcome::Success),
            )
            .await?;
            return Ok((true, 0));
        }
        let mut purged = 0;
        for part in PARTS {
            if plan.is_due(part) {
                let cert = self.begin_purge(facts, &plan, part).await?;
                self.finish_purge(&cert).await?;
                purged += 1;
            }
        }
        Ok((false, purged))
    }

    /// When each part of a meeting is due, and what is due at `now`.
    pub(crate) async fn plan_retention(
        &self,
        policies: &mut Policies,
        facts: &RetentionCandidate,
        now: i64,
    ) -> Result<Plan, CoreError> {
        let (org, meeting) = (facts.org_id, facts.id);
        let own: Windows = match &facts.retention {
            Some(text) => serde_json::from_str(text).map_err(CoreError::internal)?,
            None => Windows::default(),
        };
        let purged: Purged = match &facts.purged {
            Some(text) => serde_json::from_str(text).map_err(CoreError::internal)?,
            None => Purged::default(),
        };
        let org_policy = match policies.orgs.get(&org) {
            Some(p) => *p,
            None => {
                let p = self.org_retention(org).await?;
                *policies.orgs.entry(org).or_insert(p)
            }
        };
        let key = (org, facts.workspace_id);
        let workspace = match policies.workspaces.get(&key) {
            Some(w) => *w,
            None => {
                let w = self.workspace_retention(org, facts.workspace_id).await?;
                *policies.workspaces.entry(key).or_insert(w)
            }
        };
        let resolved = resolve(&self.config().retention, &org_policy, &workspace, &own);
        let bot = if facts.bots > 0 {
            self.db().bot_of_meeting(org, meeting).await?
        } else {
            None
        };
        let recordings: Vec<RecordingRow> = if facts.recordings_held > 0 {
            self.db()
                .recordings(org, meeting)
                .await?
                .into_iter()
                .filter(|r| r.local_deleted_at.is_none())
                .collect()
        } else {
            Vec::new()
        };
        let bot_done = match &bot {
            Some(b) => crate::bots::state_of(b)?.is_terminal(),
            None => true,
        };
        // A destination that waits for a recording keeps the meeting's parts until it has it.
        let delivering = match &bot {
            Some(b) if recordings.iter().any(|r| r.delivered_at.is_none()) => {
                self.bot_destination(b).await?.is_some()
            }
            _ => false,
        };
        let due_at = |from: Option<i64>, w: Window| match (from, w.millis()) {
            (Some(from), Some(ms)) => Some(from.saturating_add(ms)),
            _ => None,
        };
        let mut schedule = Vec::new();
        let mut mark =
            |part: Part, held: bool, delete_at: Option<i64>, waiting: Option<&'static str>| {
                let e = resolved.get(part);
                let done = purged.get(super::field(part));
                schedule.push(PartSchedule {
                    part,
                    window: e.window,
                    source: e.source,
                    held,
                    delete_at: if held && waiting.is_none() {
                        delete_at.and_then(at)
                    } else {
                        None
                    },
                    waiting: if held { waiting } else { None },
                    deleted_at: done.and_then(|m| at(m.at)),
                    certificate_id: done.map(|m| CertificateId::from(m.certificate)),
                });
                held && waiting.is_none() && delete_at.is_some_and(|t| t <= now)
            };

        // Recordings: each from its transcription (or, with a window of days, its upload).
        let w = resolved.recordings.window;
        let mut due_recordings = Vec::new();
        let mut last_due = None;
        let mut waiting = None;
        for r in &recordings {
            let why = if !bot_done {
                Some("the bot's end")
            } else if delivering && r.delivered_at.is_none() {
                Some("delivery")
            } else if r.transcribed_at.is_none() && w == Window::Days(0) {
                Some("transcription")
            } else {
                None
            };
            let from = r
                .transcribed_at
                .or_else(|| (w != Window::Days(0)).then(|| r.created_at.timestamp_millis()));
            let when = due_at(from, w);
            if why.is_some() {
                waiting = waiting.or(why);
            } else if let Some(t) = when {
                last_due = Some(last_due.map_or(t, |l: i64| l.max(t)));
                if t <= now {
                    due_recordings.push(r.clone());
                }
            }
        }
        // Their copies in customers' buckets, where the destination lets meetvault delete: a
        // window of N days reaches each N days after it was delivered; 0 days (delivering is
        // the point of it) and forever keep them.
        let mut due_bucket = Vec::new();
        let mut purge_bucket = Vec::new();
        let mut bucket_held = 0;
        if facts.bucket_recordings > 0
            && let Some(ms) = w.millis().filter(|ms| *ms > 0)
        {
            let mut allowed: HashMap<Uuid, bool> = HashMap::new();
            for o in self.db().bucket_objects_of_meeting(org, meeting).await? {
                if o.kind != "recording" {
                    continue;
                }
                let ok = match allowed.get(&o.destination_id) {
                    Some(ok) => *ok,
                    None => {
                        let ok = self
                            .db()
                            .destination(org, o.destination_id)
                            .await?
                            .is_some_and(|d| d.allow_delete);
                        *allowed.entry(o.destination_id).or_insert(ok)
                    }
                };
                if !ok {
                    continue;
                }
                bucket_held += 1;
                if !bot_done {
                    waiting = waiting.or(Some("the bot's end"));
                    continue;
                }
                let t = o.written_at.saturating_add(ms);
                last_due = Some(last_due.map_or(t, |l: i64| l.max(t)));
                if t <= now {
                    let refused = o.refused_at.is_some();
                    let o = BucketObject::from(o);
                    if !refused {
                        purge_bucket.push(o.clone());
                    }
                    due_bucket.push(o);
                }
            }
        }
        let recordings_held = !recordings.is_empty() || bucket_held > 0;
        let all_recordings_due = recordings_held
            && due_recordings.len() == recordings.len()
            && due_bucket.len() == bucket_held;
        // Shown: when the last of them goes.
        mark(Part::Recordings, recordings_held, last_due, waiting);

        // Transcripts: from the last transcription; an imported transcript (no recording was
        // transcribed) from the meeting's last change.
        let transcribed_at = match facts.transcribed_at {
            Some(t) => Some(t),
            None if facts.segments > 0 => self
                .db()
                .meeting(org, meeting)
                .await?
                .map(|m| m.updated_at.unwrap_or(m.created_at).timestamp_millis()),
            None => None,
        };
        let why = if !bot_done {
            Some("the bot's end")
        } else if delivering {
            Some("delivery")
        } else {
            None
        };
        let transcripts_due = mark(
            Part::Transcripts,
            facts.segments > 0,
            due_at(transcribed_at, resolved.transcripts.window),
            why,
        );

        // Bot data: from the bot's end.
        let why = if !bot_done {
            Some("the bot's end")
        } else if delivering {
            Some("delivery")
        } else {
            None
        };
        let bot_due_now = mark(
            Part::BotData,
            bot.is_some(),
            due_at(bot.as_ref().map(|b| b.updated_at), resolved.bot_data.window),
            why,
        );
        let held = [recordings_held, facts.segments > 0, bot.is_some()];
        let due = [all_recordings_due, transcripts_due, bot_due_now];
        let whole = held.iter().any(|h| *h) && held.iter().zip(due).all(|(h, d)| !*h || d);
        Ok(Plan {
            own,
            resolved,
            schedule,
            due_recordings,
            due_bucket,
            purge_bucket,
            transcripts_due,
            bot_due: if bot_due_now { bot } else { None },
            whole,
        })
    }

    /// Writes a part purge's pending certificate: what it will delete, counted first.
    async fn begin_purge(
        &self,
        facts: &RetentionCandidate,
        plan: &Plan,
        part: Part,
    ) -> Result<CertificateRow, CoreError> {
        let (org, meeting) = (facts.org_id, facts.id);
        let inventory = self.db().meeting_inventory(org, meeting).await?;
        let (chunk_blobs, chunk_bytes) = match (&plan.bot_due, part) {
            (Some(b), Part::BotData) => {
                let list = self.blobs().list(&bot_prefix(org, meeting, b.id)).await?;
                (list.len() as u64, list.iter().map(|m| m.size).sum())
            }
            _ => (0, 0),
        };
        let salt = certificates::fresh_salt();
        let draft = PartDraft {
            meeting_id: meeting,
            workspace_id: facts.workspace_id,
            part: super::field(part).into(),
            policy: format!("retention: {}", plan.resolved.describe(part)),
            recordings: if part == Part::Recordings {
                plan.due_recordings
                    .iter()
                    .map(|r| (r.id, r.blob_key.clone(), r.stored_size))
                    .collect()
            } else {
                Vec::new()
            },
            bucket_objects: if part == Part::Recordings {
                plan.purge_bucket.clone()
            } else {
                Vec::new()
            },
            bucket_outcome: None,
            bot_id: plan
                .bot_due
                .as_ref()
                .filter(|_| part == Part::BotData)
                .map(|b| b.id),
            inventory,
            chunk_blobs,
            chunk_bytes,
            requested_at: format_time(Utc::now()),
            salt: hex::encode(salt),
            subject_digest: document::subject_digest(
                &salt,
                "meeting",
                &MeetingId::from(meeting).to_string(),
                "",
            ),
            audit_seq: None,
            certificate: None,
        };
        let cert = self
            .begin_certificate(org, &row_kind(part), Uuid::new_v4(), &draft)
            .await?;
        Ok(cert)
    }

    /// Does (or redoes: every step is idempotent) a part's purge, audits it once, notes it on
    /// the meeting and issues its certificate.
    async fn finish_purge(&self, cert: &CertificateRow) -> Result<(), CoreError> {
        let mut draft: PartDraft = serde_json::from_str(cert.draft.as_deref().unwrap_or_default())
            .map_err(CoreError::internal)?;
        let (org, meeting) = (cert.org_id, draft.meeting_id);
        let part = part_of(&draft.part).ok_or_else(|| {
            CoreError::internal(std::io::Error::other(format!(
                "a purge of an unknown part `{}`",
                draft.part
            )))
        })?;
        let now = Utc::now().timestamp_millis();
        match part {
            Part::Recordings => {
                for (id, key, _) in &draft.recordings {
                    self.delete_blob(&BlobKey::parse(key)?).await;
                    self.db().recording_local_deleted(org, *id, now).await?;
                }
                if draft.certificate.is_none() && draft.bucket_outcome.is_none() {
                    let outcome = self
                        .delete_bucket_objects(org, &draft.bucket_objects)
                        .await?;
                    draft.bucket_outcome = Some(outcome);
                    let text = serde_json::to_string(&draft).map_err(CoreError::internal)?;
                    self.db().save_certificate_draft(cert.id, &text).await?;
                }
            }
            Part::Transcripts => {
                while self
                    .db()
                    .delete_segments_batch(org, meeting, SEGMENT_BATCH)
                    .await?
                    > 0
                {}
                // What was made from the transcript goes with it.
                self.db().delete_meeting_intel(org, meeting).await?;
                self.db()
                    .delete_integration_items_of_meeting(org, meeting)
                    .await?;
                self.db()
                    .delete_meeting_documents(org, meeting, false)
                    .await?;
            }
            _ => {
                if let Some(bot) = draft.bot_id {
                    for m in self.blobs().list(&bot_prefix(org, meeting, bot)).await? {
                        self.delete_blob(&BlobKey::parse(&m.key)?).await;
                    }
                    self.db().delete_bot(org, bot).await?;
                }
            }
        }
        let certificate = match draft.certificate.clone() {
            Some(c) => c,
            None => {
                let seq = match draft.audit_seq {
                    Some(seq) => seq,
                    None => {
                        let mut event = Event::new(
                            AuditAction::RetentionPurge,
                            Actor::System,
                            Outcome::Success,
                        );
                        event.org_id = Some(OrgId::from(org));
                        event.resource = Some(MeetingId::from(meeting).to_string());
                        event.reason = Some(match part {
                            Part::Recordings => "recordings",
                            Part::Transcripts => "transcripts",
                            _ => "bot_data",
                        });
                        self.audit(event).await?
                    }
                };
                draft.audit_seq = Some(seq);
                let c = self.part_certificate(cert, &draft, part, seq);
                draft.certificate = Some(c.clone());
                let text = serde_json::to_string(&draft).map_err(CoreError::internal)?;
                self.db().save_certificate_draft(cert.id, &text).await?;
                c
            }
        };
        if let Some((retention, purged)) = self.db().meeting_retention(org, meeting).await? {
            let _ = retention;
            let mut marks: Purged = match purged {
                Some(text) => serde_json::from_str(&text).map_err(CoreError::internal)?,
                None => Purged::default(),
            };
            marks.insert(
                draft.part.clone(),
                PurgeMark {
                    at: now,
                    certificate: cert.id,
                },
            );
            let text = serde_json::to_string(&marks).map_err(CoreError::internal)?;
            self.db().set_meeting_purged(org, meeting, &text).await?;
        }
        self.issue_certificate(cert, Actor::System, &certificate)
            .await?;
        Ok(())
    }

    /// Finishes the part purges a crash cut off (pending for longer than `min_age_ms`).
    pub(crate) async fn finish_pending_purges(&self, min_age_ms: i64) -> Result<usize, CoreError> {
        let older_than = Utc::now().timestamp_millis() - min_age_ms;
        let mut done = 0;
        for cert in self.db().pending_certificates(older_than).await? {
            if !cert.subject_kind.starts_with("meeting.") {
                continue;
            }
            match self.finish_purge(&cert).await {
                Ok(()) => done += 1,
                Err(e) => {
                    tracing::warn!(error = %e, certificate = %cert.id, "finishing a retention purge failed; it will be retried")
                }
            }
        }
        Ok(done)
    }

    fn part_certificate(
        &self,
        cert: &CertificateRow,
        draft: &PartDraft,
        part: Part,
        audit_seq: i64,
    ) -> Certificate {
        let inv = &draft.inventory;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        let mut retained = Vec::new();
        let deleted = match part {
            Part::Recordings => {
                let mut deleted = vec![Deleted {
                    kind: "recordings".into(),
                    count: draft.recordings.len() as u64,
                    bytes: Some(draft.recordings.iter().map(|r| n(r.2)).sum()),
                    method: "object_delete".into(),
                }];
                BucketOutcome::certify(draft.bucket_outcome.as_ref(), &mut deleted, &mut retained);
                deleted
            }
            Part::Transcripts => {
                let mut d = vec![Deleted {
                    kind: "transcript_segments".into(),
                    count: n(inv.segments),
                    bytes: None,
                    method: "row_delete".into(),
                }];
                if inv.summaries > 0 {
                    d.push(Deleted {
                        kind: "summaries_and_search_index".into(),
                        count: n(inv.summaries),
                        bytes: None,
                        method: "row_delete".into(),
                    });
                }
                if inv.documents > 0 {
                    d.push(Deleted {
                        kind: "documents".into(),
                        count: n(inv.documents),
                        bytes: None,
                        method: "row_delete".into(),
                    });
                }
                d
            }
            _ => vec![
                Deleted {
                    kind: "bots".into(),
                    count: u64::from(draft.bot_id.is_some()),
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
                    method: "row_delete".into(),
                },
                Deleted {
                    kind: "audio_chunks".into(),
                    count: draft.chunk_blobs.max(n(inv.audio_chunks)),
                    bytes: Some(draft.chunk_bytes),
                    method: "row_delete+object_delete".into(),
                },
            ],
        };
        retained.extend([
            Retained {
                kind: "meeting".into(),
                count: Some(1),
                reason: "the meeting and its other parts are kept under their own retention windows; when the last is due the meeting is deleted whole, its keys destroyed, with a certificate of its own".into(),
            },
            Retained {
                kind: "meeting_keys".into(),
                count: None,
                reason: "the meeting's keys live on while the meeting does: copies of what was deleted in earlier database or storage backups stay sealed under them until the meeting's deletion destroys them".into(),
            },
            certificates::audit_entries_kept(),
            certificates::this_certificate_kept(),
        ]);
        Certificate {
            format: document::FORMAT.into(),
            id: CertificateId::from(cert.id).to_string(),
            issuer: self.certificate_issuer(),
            subject: Subject {
                kind: "meeting".into(),
                id: MeetingId::from(draft.meeting_id).to_string(),
                org: OrgId::from(cert.org_id).to_string(),
                salt: draft.salt.clone(),
                digest: draft.subject_digest.clone(),
            },
            part: Some(draft.part.clone()),
            policy: Some(draft.policy.clone()),
            includes: Vec::new(),
            deleted,
            keys_destroyed: Vec::new(),
            retained,
            actor: Actor::System.to_string(),
            requested_at: draft.requested_at.clone(),
            completed_at: format_time(Utc::now()),
            audit_seq,
        }
    }
}

impl Plan {
    fn is_due(&self, part: Part) -> bool {
        match part {
            Part::Recordings => !self.due_recordings.is_empty() || !self.purge_bucket.is_empty(),
            Part::Transcripts => self.transcripts_due,
            _ => self.bot_due.is_some(),
        }
    }
}

fn bot_prefix(org: Uuid, meeting: Uuid, bot: Uuid) -> String {
    format!("orgs/{org}/meetings/{meeting}/bots/{bot}")
}
